//! The spec's one table of operations (written by build.rs, `xtask/codegen/operations.rs`): for
//! each operation its id, host, method, path template, the credential its `security` names,
//! whether a repeat is safe, its default lane and, for a money move, the body field that identifies
//! it and the documented lookup that finds it again. Every per-operation decision reads it: the
//! transport's credential, lane and retries, the journal's record of a money move, recovery's
//! lookup, the mock's authentication, the redirect and upload helpers. No list of operation names
//! is kept by hand anywhere else (`tests/operations.rs` fails the build on one).
use crate::host::Host;

include!(concat!(env!("OUT_DIR"), "/operations.rs"));

/// Which queue a call waits in for its share of the budget (see [`crate::rate_limit`]).
///
/// `Interactive` calls (the payment gateway by default: a payer waits on them) reserve the
/// earliest free slot, first come first served, and every background call in the fleet yields to
/// a waiting one. `Background` calls (lists, exports, payouts, bulk work: everything else by
/// default) take what the interactive calls leave, paced so that a slot frees every
/// `span / limit`: a checkout beside a saturating batch waits at most that long, and the batch
/// still uses the whole budget the checkouts leave. An operation's default is in the spec
/// ([`Operation::default_lane`]); set it per call with [`crate::CallOptions::lane`] and per
/// Client with `ClientBuilder::lane_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Lane {
    /// A person waits on it: reserves the earliest free slot; background work yields to it.
    Interactive,
    /// Work nobody waits on at this second: takes a slot only when one is free and no
    /// interactive call waits for it.
    Background,
}

impl Lane {
    /// `interactive` or `background` (spans, metrics).
    pub fn name(self) -> &'static str {
        match self {
            Lane::Interactive => "interactive",
            Lane::Background => "background",
        }
    }
}

/// The credential an operation's `security` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Credential {
    /// None (the token renewals themselves, browser redirects).
    None,
    /// The IPG's api_key, which travels in the JSON body (the transport writes it in).
    IpgApiKey,
    /// The business access token (`bearerAuth`).
    Business,
    /// Miando's client-credentials token (`miandoOAuth`).
    Miando,
}

/// One operation's facts.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Facts {
    /// The row's own operation (the table is indexed by it; a test holds it so).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) operation: Operation,
    pub(crate) id: &'static str,
    pub(crate) host: Host,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) credential: Credential,
    pub(crate) idempotent: bool,
    pub(crate) lane: Lane,
    pub(crate) money_move: Option<MoneyMove>,
}

/// The spec's `x-vandar-money-move` mark on an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MoneyMove {
    /// The body field that identifies the move (for a batch, `batch_id`); `None`: the body has none.
    pub(crate) track_id: Option<&'static str>,
    /// The documented lookup that finds the move afterwards.
    pub(crate) lookup: Option<Operation>,
    /// Where to look when no lookup is documented.
    pub(crate) where_to_look: Option<&'static str>,
    /// `Rials` or `Tomans`: the unit of the body's amount; `None`: not stated.
    pub(crate) unit: Option<&'static str>,
}

impl Operation {
    pub(crate) fn facts(self) -> &'static Facts {
        &OPERATIONS[self as usize]
    }

    /// The spec's `operationId` (`settlement_store`).
    pub fn id(self) -> &'static str {
        self.facts().id
    }

    /// The host it is sent to.
    pub fn host(self) -> Host {
        self.facts().host
    }

    /// The HTTP method (`GET`, `POST`, ...).
    pub fn method(self) -> &'static str {
        self.facts().method
    }

    /// The path template under the host's base URL (`/v3/business/{business}/settlement/store`).
    pub fn path(self) -> &'static str {
        self.facts().path
    }

    /// Whether sending it twice has the effect of sending it once (HTTP's rule, unless the spec
    /// says `x-vandar-idempotent: false`): only such a call is repeated after an answer that may
    /// have been processed.
    pub fn is_idempotent(self) -> bool {
        self.facts().idempotent
    }

    /// The lane it waits in unless a Client or call says otherwise.
    pub fn default_lane(self) -> Lane {
        self.facts().lane
    }

    /// Whether it moves money (the spec marks it `x-vandar-money-move`).
    pub fn moves_money(self) -> bool {
        self.facts().money_move.is_some()
    }

    pub(crate) fn credential(self) -> Credential {
        self.facts().credential
    }

    pub(crate) fn money_move(self) -> Option<&'static MoneyMove> {
        self.facts().money_move.as_ref()
    }

    /// Where to look for the move when the spec documents no lookup (or names none).
    pub(crate) fn where_to_look(self) -> &'static str {
        self.money_move().and_then(|m| m.where_to_look).unwrap_or("the dashboard")
    }
}

impl Operation {
    /// The operation's URL under `base`: its path template with each `{name}` replaced by the
    /// percent-encoded value `values` gives it (one path segment each; `/` in a value is encoded).
    /// A template parameter without a value is left as it is (the server refuses it).
    pub(crate) fn url(self, base: &str, values: &[(&str, &str)]) -> String {
        let mut url = base.trim_end_matches('/').to_string();
        for segment in self.path().split('/').skip(1) {
            url.push('/');
            let name = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'));
            match name.and_then(|name| values.iter().find(|(n, _)| *n == name)) {
                Some((_, value)) => url.extend(url::form_urlencoded::byte_serialize(value.as_bytes()).map(|p| p.replace('+', "%20"))),
                None => url.push_str(segment),
            }
        }
        url
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_the_enum_and_round_trips_ids() {
        assert_eq!(Operation::ALL.len(), OPERATIONS.len());
        for (i, operation) in Operation::ALL.into_iter().enumerate() {
            assert_eq!(OPERATIONS[i].operation, operation);
            assert_eq!(Operation::from_id(operation.id()), Some(operation));
            assert!(operation.path().starts_with('/'), "{operation}");
        }
        assert_eq!(Operation::from_id("no_such_operation"), None);
    }

    #[test]
    fn a_url_fills_the_template_one_encoded_segment_each() {
        let url = Operation::RavandCardholderUpload.url("http://127.0.0.1:9/base/", &[("business", "a b"), ("provider", "p/1"), ("cardholder_id", "7")]);
        assert_eq!(url, "http://127.0.0.1:9/base/v1/business/a%20b/ravand/provider/p%2F1/cardholder/7/upload");
        assert_eq!(Operation::IpgRedirect.url("https://ipg.vandar.io", &[("token", "t+?")]), "https://ipg.vandar.io/v4/t%2B%3F");
    }

    #[test]
    fn every_money_move_names_a_lookup_or_where_to_look_and_moves_with_post() {
        let moves: Vec<_> = Operation::ALL.into_iter().filter(|o| o.moves_money()).collect();
        assert!(moves.len() >= 6, "{moves:?}");
        for operation in moves {
            let mark = operation.money_move().unwrap();
            assert!(mark.lookup.is_some() || mark.where_to_look.is_some(), "{operation}");
            assert!(!operation.is_idempotent(), "{operation} is never repeated blindly");
            if let Some(lookup) = mark.lookup {
                assert_eq!(lookup.method(), "GET", "{operation}'s lookup {lookup} only reads");
                assert_eq!(lookup.host(), operation.host(), "{operation}'s lookup is on its host");
            }
        }
    }

    #[test]
    fn credentials_and_lanes_follow_the_spec() {
        assert_eq!(Operation::SettlementStore.credential(), Credential::Business);
        assert_eq!(Operation::IpgSend.credential(), Credential::IpgApiKey);
        assert_eq!(Operation::TokenRefresh.credential(), Credential::None);
        assert_eq!(Operation::MiandoToken.credential(), Credential::None);
        assert_eq!(Operation::IpgRedirect.credential(), Credential::None);
        for operation in Operation::ALL {
            let expected = if operation.host() == Host::Ipg { Lane::Interactive } else { Lane::Background };
            assert_eq!(operation.default_lane(), expected, "{operation}");
            if operation.id().starts_with("miando_") && operation != Operation::MiandoToken {
                assert_eq!(operation.credential(), Credential::Miando, "{operation}");
            }
        }
        assert_eq!(Operation::SettlementStore.money_move().unwrap().lookup, Some(Operation::TransactionList));
    }
}
