//! The one answer to "may this failed request have reached Vandar, and is it worth sending again?".
//!
//! In the spirit of smithy-rs's retry classifiers: every part of the client that must decide
//! after a failure asks [`classify`], never a rule of its own. The transport's retry rule
//! ([`Verdict::may_resend`]), [`crate::Error::reach`] and [`crate::Error::is_retryable`], the
//! reconciliation of money moves and `verify_payment` all read the same [`Verdict`].

/// How far a failed request got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reach {
    /// It never left this machine: refused by the client before sending (bad input, missing
    /// configuration, a shared component down) or the connection could not be made. Nothing
    /// happened at Vandar.
    NeverSent,
    /// Vandar (or its edge) answered and refused it unprocessed: a 4xx, 429 included. Nothing
    /// happened at Vandar.
    Refused,
    /// It may have been processed: the answer was lost after sending (a timeout, a dropped
    /// connection) or Vandar failed on its side (5xx, a proxy's error page). A money move in this
    /// state is looked up, never sent again blindly.
    InDoubt,
    /// Vandar processed it and answered success, but the answer could not be read.
    Processed,
}

/// What the client saw of a failed request: the input of [`classify`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Observed {
    /// The client refused it before sending; `transient` when the cause may pass by itself (a
    /// shared component that is down), not when it is the input or the configuration.
    Local { transient: bool },
    /// The connection could not be made: nothing was sent.
    ConnectFailed,
    /// Sent, and no complete answer came back (timeout, reset, truncated body).
    AnswerLost,
    /// Vandar answered with this status.
    Status(u16),
    /// A refusal the caller derived after the fact that must never be repeated as it is (a money
    /// move whose fate no lookup could prove).
    Unproven,
}

/// The classifier's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Verdict {
    /// How far the request got.
    pub(crate) reach: Reach,
    /// Whether the same request may succeed if sent again later.
    pub(crate) transient: bool,
}

/// Statuses that may pass by themselves: rate limited, or a failure on Vandar's side.
const TRANSIENT_STATUSES: [u16; 5] = [429, 500, 502, 503, 504];

/// The one classifier.
pub(crate) fn classify(observed: Observed) -> Verdict {
    let (reach, transient) = match observed {
        Observed::Local { transient } => (Reach::NeverSent, transient),
        Observed::ConnectFailed => (Reach::NeverSent, true),
        Observed::AnswerLost => (Reach::InDoubt, true),
        Observed::Status(status) => match status {
            200..=299 => (Reach::Processed, false),
            500..=599 => (Reach::InDoubt, TRANSIENT_STATUSES.contains(&status)),
            _ => (Reach::Refused, TRANSIENT_STATUSES.contains(&status)),
        },
        Observed::Unproven => (Reach::InDoubt, false),
    };
    Verdict { reach, transient }
}

/// What a transport error says of the request (reqwest does not say whether a timeout struck
/// before or after the request left, so only a failed connect counts as never sent).
pub(crate) fn observe_transport(error: &reqwest::Error) -> Observed {
    if error.is_connect() {
        Observed::ConnectFailed
    } else {
        Observed::AnswerLost
    }
}

impl Verdict {
    /// Whether the transport may send the same request again at once (after a backoff): only when
    /// it is transient and either never processed (any method) or idempotent (GET, PUT, DELETE,
    /// HEAD, OPTIONS). A POST that may have been processed is never repeated.
    pub(crate) fn may_resend(self, idempotent: bool) -> bool {
        self.transient && (idempotent || matches!(self.reach, Reach::NeverSent | Reach::Refused))
    }

    /// Whether Vandar may hold state the caller does not know (the request may have been
    /// processed): a money move in this state is reconciled through its lookup.
    #[cfg_attr(not(feature = "api"), allow(dead_code))] // asked by the money moves (api host)
    pub(crate) fn needs_lookup(self) -> bool {
        matches!(self.reach, Reach::InDoubt | Reach::Processed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_observation_has_one_verdict() {
        let table = [
            (Observed::Local { transient: false }, Reach::NeverSent, false),
            (Observed::Local { transient: true }, Reach::NeverSent, true),
            (Observed::ConnectFailed, Reach::NeverSent, true),
            (Observed::AnswerLost, Reach::InDoubt, true),
            (Observed::Status(200), Reach::Processed, false),
            (Observed::Status(401), Reach::Refused, false),
            (Observed::Status(422), Reach::Refused, false),
            (Observed::Status(429), Reach::Refused, true),
            (Observed::Status(500), Reach::InDoubt, true),
            (Observed::Status(501), Reach::InDoubt, false),
            (Observed::Status(503), Reach::InDoubt, true),
            (Observed::Unproven, Reach::InDoubt, false),
        ];
        for (observed, reach, transient) in table {
            assert_eq!(classify(observed), Verdict { reach, transient }, "{observed:?}");
        }
    }

    #[test]
    fn a_post_is_repeated_only_when_it_was_never_processed() {
        let resend = |observed, idempotent| classify(observed).may_resend(idempotent);
        assert!(resend(Observed::ConnectFailed, false));
        assert!(resend(Observed::Status(429), false));
        assert!(!resend(Observed::AnswerLost, false));
        assert!(!resend(Observed::Status(503), false));
        assert!(resend(Observed::AnswerLost, true));
        assert!(resend(Observed::Status(503), true));
        assert!(!resend(Observed::Status(422), true));
        assert!(!resend(Observed::Local { transient: false }, true));
    }
}
