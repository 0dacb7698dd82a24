//! The journal: what must survive a crash. Before a money move's request leaves the process, its
//! intent (operation, track id, amount with its unit, destination, your reference, time) is written
//! durably; after it, the outcome. A payment is recorded when `start_payment` registers it, and
//! closed by `verify_payment`. After a restart, [`crate::Client::recover`] reconciles every entry
//! still open through its documented lookup (never by sending it again) and sweeps payments whose
//! verify never completed.
//!
//! Three journals ship: [`FileJournal`] (one machine; fsync, flock, torn-tail tolerant, compacting),
//! [`RedisJournal`] (feature `redis`; a fleet) and [`PostgresJournal`] (feature `postgres`; the
//! intent can commit inside your own transaction). A Client without a journal behaves as before:
//! money moves are still reconciled within the process, but nothing outlives it.
//!
//! ```no_run
//! # async fn run() -> Result<(), vandar::Error> {
//! let vandar = vandar::Client::builder()
//!     .business("my-shop")
//!     .business_tokens(vandar::TokenPair::new("access", "refresh", None))
//!     .journal(vandar::journal::FileJournal::open("/var/lib/shop/vandar.journal")?)
//!     .build()?;
//! let report = vandar.recover().await?;          // at start-up: settle what the last run left open
//! for open in &report.still_open {
//!     eprintln!("{} {} could not be proven: {}", open.entry.intent.operation, open.entry.intent.key, open.looked_up);
//! }
//! # Ok(()) }
//! ```
use std::io;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};

mod file;
pub(crate) mod outcome;
#[cfg(feature = "postgres")]
mod postgres;
#[cfg(feature = "redis")]
mod redis;
mod sender;

pub use file::{FileJournal, LINE_LIMIT};
#[cfg(any(feature = "redis", feature = "postgres", test))]
pub(crate) use outcome::RESENDABLE;
pub use outcome::{EntryState, Outcome, Proof, ProvenRecord};
#[cfg(feature = "postgres")]
pub use postgres::{PostgresJournal, MIGRATION as POSTGRES_MIGRATION};
#[cfg(feature = "redis")]
pub use redis::RedisJournal;
pub use sender::{this_process, Sender};

/// What an entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EntryKind {
    /// A money move (settlement, withdrawal, batch, deposit, wallet movement, ...), keyed by its
    /// track id (a batch by its `batch_id`).
    MoneyMove,
    /// A payment registered with the gateway, keyed by its token; open until verified.
    Payment,
}

/// Written before a money move's request leaves the process (a payment's, once the gateway gave
/// its token). Its `Debug` masks the destination (an IBAN, a card) and shows only the names of the
/// request's fields: a log line never carries them whole.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// The track id (a batch's `batch_id`; a payment's token): what the lookup finds it by.
    pub key: String,
    /// A money move or a payment.
    pub kind: EntryKind,
    /// The operation id (`settlement_store`, ...; `ipg_send` for a payment).
    pub operation: String,
    /// The amount, in `unit`.
    pub amount: Option<i64>,
    /// `Rials` or `Tomans`, as the spec's `x-vandar-unit` names it.
    pub unit: Option<String>,
    /// Where the money goes: the IBAN, the customer, the authorization, or the items of a batch.
    pub destination: Option<String>,
    /// Your own reference, when the body carries one (`factorNumber`, `payment_number`, `description`).
    pub reference: Option<String>,
    /// The request as sent (credentials never included): what proves identity in the lookup.
    pub request: serde_json::Value,
    /// When the intent was written, in milliseconds since the Unix epoch.
    pub created_at_ms: u64,
    /// Where the request goes: recovery looks the move up exactly there, and leaves an entry whose
    /// target this Client cannot reach (another business, another gateway key) to a Client that can.
    /// `None` in entries written before targets were recorded: recovery then never concludes that
    /// such a move was not sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

impl std::fmt::Debug for Intent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<&str> = match &self.request {
            serde_json::Value::Object(map) => map.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        };
        f.debug_struct("Intent")
            .field("key", &self.key)
            .field("kind", &self.kind)
            .field("operation", &self.operation)
            .field("amount", &self.amount)
            .field("unit", &self.unit)
            .field("destination", &self.destination.as_deref().map(crate::mask::mask_personal_data))
            .field("reference", &self.reference.as_deref().map(crate::mask::mask_personal_data))
            .field("request", &format_args!("{{{}}} (values masked)", fields.join(", ")))
            .field("created_at_ms", &self.created_at_ms)
            .field("target", &self.target)
            .finish()
    }
}

/// Where a journaled request was sent (recorded by the client with the intent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    /// The Vandar host: `api`, `ipg`, `batch` or `subscription`.
    pub host: String,
    /// `POST`, ...
    pub method: String,
    /// The request's path with its parameters filled in (no query), e.g.
    /// `/v3/business/my-shop/settlement/store`.
    pub path: String,
    /// The business slug the path names, if it names one.
    pub business: Option<String>,
    /// For a payment: a fingerprint of the gateway's api_key (the first 16 hex digits of its
    /// SHA-256; never the key), so a Client with another key leaves it alone.
    pub gateway: Option<String>,
    /// The process that sent it ([`this_process`]), whose life the journal can tell
    /// ([`Journal::sender`]): recovery looks up at once an entry whose sender is gone. `None` in
    /// entries written before senders were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
}

impl Target {
    /// The target of a request to `host` at `path` (the business slug read from the path).
    pub(crate) fn new(host: &str, method: &str, path: &str) -> Self {
        let mut segments = path.split('/');
        let business = segments.by_ref().find(|s| *s == "business").and_then(|_| segments.next()).filter(|s| !s.is_empty()).map(str::to_string);
        Target {
            host: host.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            business,
            gateway: None,
            sender: Some(this_process().to_string()),
        }
    }
}

impl Target {
    /// Whether `other` goes where this went: the same host, method, path, business and gateway
    /// (whichever process sends it: a re-delivered job runs in another).
    pub fn same_place(&self, other: &Target) -> bool {
        (&self.host, &self.method, &self.path, &self.business, &self.gateway) == (&other.host, &other.method, &other.path, &other.business, &other.gateway)
    }
}

/// The fingerprint of a gateway api_key recorded in a payment's [`Target::gateway`].
pub(crate) fn gateway_fingerprint(api_key: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(api_key.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

impl Intent {
    /// When the intent was written.
    pub fn created_at(&self) -> SystemTime {
        at_ms(self.created_at_ms)
    }

    /// How long ago the intent was written (zero if the clock went back).
    pub fn age(&self) -> Duration {
        SystemTime::now().duration_since(self.created_at()).unwrap_or_default()
    }

    /// Whether `other` is this intent written again: the same key, kind, operation, amount and
    /// request (when each was written aside): the same [`Intent::fingerprint`].
    pub fn is_same_move(&self, other: &Intent) -> bool {
        self.fingerprint() == other.fingerprint()
    }

    /// What identifies the move, whenever it is written: the SHA-256 (hex) of its key, kind,
    /// operation, amount and request. Journals compare it atomically in [`Journal::begin`].
    pub fn fingerprint(&self) -> String {
        use sha2::Digest;
        let identity = serde_json::json!([self.key, self.kind, self.operation, self.amount, self.request]);
        sha2::Sha256::digest(identity.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The intent the client records before sending the money move `operation` with `body` (the
    /// request type, e.g. `vandar::api::types::SettlementStoreRequest`, with its `track_id` set):
    /// for writing it ahead in your own transaction, so your order and its payout intent commit
    /// together ([`PostgresJournal::record_in`]). Fails if `operation` is not a money move or the
    /// body carries no track id.
    pub fn for_money_move(operation: &str, body: &impl Serialize) -> Result<Intent, crate::error::Error> {
        let mark = crate::generated::operations::Operation::from_id(operation)
            .and_then(|operation| operation.money_move())
            .ok_or_else(|| crate::error::Error::invalid("operation", format!("{operation} is not a money move")))?;
        let body = serde_json::to_value(body).map_err(|e| crate::error::Error::invalid("body", e.to_string()))?;
        let key = mark
            .track_id
            .and_then(|field| body.get(field))
            .and_then(|t| t.as_str())
            .ok_or_else(|| crate::error::Error::invalid("track_id", format!("the {operation} body carries no track id")))?;
        Ok(Intent::money_move(operation, key.to_string(), mark.unit, &body, None))
    }
}

/// An entry as read back: its intent, whether it was sent, and the last outcome recorded, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// What was about to be done.
    pub intent: Intent,
    /// The last outcome recorded (`None`: staged, or the process stopped before any).
    pub outcome: Option<Outcome>,
    /// When the client last began sending it ([`Journal::begin`]), in ms since the Unix epoch;
    /// `None` while it is only staged (written ahead by the application, never sent).
    pub sending_since_ms: Option<u64>,
}

impl Entry {
    /// Whether recovery still has to settle it.
    pub fn is_open(&self) -> bool {
        !self.outcome.as_ref().is_some_and(Outcome::closes)
    }

    /// Where the entry is in its life.
    pub fn state(&self) -> EntryState {
        match (&self.outcome, self.sending_since_ms) {
            (Some(outcome), _) if outcome.closes() => EntryState::Closed,
            (Some(_), _) => EntryState::InDoubt,
            (None, None) => EntryState::Staged,
            (None, Some(_)) => EntryState::Sending,
        }
    }

    /// How long ago it was last sent (or, never sent, written).
    pub fn age(&self) -> Duration {
        let since = self.sending_since_ms.unwrap_or(self.intent.created_at_ms);
        SystemTime::now().duration_since(at_ms(since)).unwrap_or_default()
    }

    /// Whether the client may send `intent` now: it is this entry's move, and the entry is staged
    /// or closed by an outcome that [`allows_resend`](Outcome::allows_resend).
    pub fn accepts_send_of(&self, intent: &Intent) -> bool {
        self.intent.is_same_move(intent)
            && match self.state() {
                EntryState::Staged => true,
                EntryState::Closed => self.outcome.as_ref().is_some_and(Outcome::allows_resend),
                _ => false,
            }
    }
}

/// A stored record the journal could not read back (damaged on disk, forged, or written by
/// another version): reported by [`Journal::damaged`] and in
/// [`RecoveryReport::damaged`](crate::money::RecoveryReport::damaged), never dropped. Its content
/// is never quoted (it may hold an IBAN or a card number).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Damaged {
    /// Where it is: `line 12 (byte 4096) of /var/lib/shop/vandar.journal`, `redis key
    /// vandar:my-shop:journal:entry:t-1 (field intent)`.
    pub position: String,
    /// What is wrong with it, in words (never its content).
    pub why: String,
    /// The track id (or payment token) it names, when that could be read. The client sends nothing
    /// under it until the record is repaired or removed.
    pub key: Option<String>,
}

impl std::fmt::Display for Damaged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.position, self.why)?;
        match &self.key {
            Some(key) => write!(f, " (names {key})"),
            None => f.write_str(" (no track id can be read from it)"),
        }
    }
}

/// What [`Journal::begin`] did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Begin {
    /// The entry is recorded as sending: send it.
    Sending,
    /// The journal holds this track id in a state that forbids sending it: the entry as it is.
    Held(Box<Entry>),
}

/// A durable record of money moves and payments, shared by every process that uses the same one.
///
/// # One rule for a track id
///
/// An entry lives through: **staged** (written ahead by the application with `record`, never
/// sent), **sending** (recorded by the client with `begin` just before the request leaves,
/// atomically with the check), then an **outcome**. The client sends a track id only from "new"
/// or "staged", or again after an outcome that proved it never carried out
/// ([`Outcome::allows_resend`]). A track id that is sending, in doubt or done is never sent
/// again: `begin` answers [`Begin::Held`] and the client reconciles it through its lookup instead
/// ([`crate::Error::TrackIdInUse`] when that proves nothing). Closed entries are kept (and
/// readable with `get`) for as long as the journal documents, so a track id is used once.
///
/// # Implementing it
///
/// * `record`: stage the intent durably (fsync, a committed row, an acknowledged Redis write).
///   Staging a key that exists already is an [`io::ErrorKind::AlreadyExists`] error, except the
///   same move ([`Intent::is_same_move`]) while it is still staged: that is `Ok` and changes nothing.
/// * `begin`: in one atomic step, record the intent as sending when the key is new, or when the
///   entry [`accepts_send_of`](Entry::accepts_send_of) it (its outcome is then cleared); otherwise
///   change nothing and answer `Held` with the entry. The client sends nothing until it returns
///   `Ok(Begin::Sending)`.
/// * `update`: record the outcome for `key` (unknown keys are ignored); an outcome that
///   [`closes`](Outcome::closes) the entry makes it leave [`open`](Journal::open).
/// * `open`: every entry that is still open (staged ones included).
/// * `get`: the entry `key`, open or closed, while the journal keeps it.
/// * `lease`: take `key` for `ttl` on behalf of `holder` unless another holder's lease runs; atomic
///   among every process sharing the journal, so replicas recovering at once never work on the
///   same entry twice.
/// * `damaged`: every stored record that does not read back ([`Damaged`]). A record that does not
///   read is never dropped by `open`: it is reported here, and `begin` refuses (or holds) the
///   track id it names. The default reports none (a journal whose storage cannot be damaged).
/// * `sender`: whether the process with that sender id ([`Target::sender`]) still lives, by a mark
///   of life the journal keeps for each process that begins sending through it and that its
///   storage lets go when the process dies. The default answers [`Sender::Unknown`]: recovery then
///   leaves young entries to `min_age`, as before.
pub trait Journal: Send + Sync + 'static {
    /// Names the journal in errors (`file journal /var/lib/shop/vandar.journal`).
    fn describe(&self) -> String;

    /// Stages `intent` durably (written ahead by the application; nothing is sent).
    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<()>>;

    /// Records `intent` as sending, atomically with the check of its track id (see the type's docs).
    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<Begin>>;

    /// The entry `key`, open or closed, while the journal keeps it.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Entry>>>;

    /// Records `outcome` for the entry `key`.
    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, io::Result<()>>;

    /// The entries still open, oldest first.
    fn open(&self) -> BoxFuture<'_, io::Result<Vec<Entry>>>;

    /// Takes the entry `key` for `ttl` for `holder`; whether it was taken.
    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, io::Result<bool>>;

    /// The stored records that do not read back, each with where, why and the track id it names
    /// if that can be read (see [`Damaged`]).
    fn damaged(&self) -> BoxFuture<'_, io::Result<Vec<Damaged>>> {
        Box::pin(async { Ok(Vec::new()) })
    }

    /// Whether the process `sender` (a [`Target::sender`] read back from storage: it may be
    /// damaged or forged) still lives.
    fn sender<'a>(&'a self, sender: &'a str) -> BoxFuture<'a, io::Result<Sender>> {
        let _ = sender;
        Box::pin(async { Ok(Sender::Unknown) })
    }
}

/// A journal shared behind an `Arc` (one journal for the Client and your own code, or chosen at
/// run time as `Arc<dyn Journal>`) is a journal.
impl<J: Journal + ?Sized> Journal for std::sync::Arc<J> {
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<()>> {
        (**self).record(intent)
    }
    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<Begin>> {
        (**self).begin(intent)
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Entry>>> {
        (**self).get(key)
    }
    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, io::Result<()>> {
        (**self).update(key, outcome)
    }
    fn open(&self) -> BoxFuture<'_, io::Result<Vec<Entry>>> {
        (**self).open()
    }
    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, io::Result<bool>> {
        (**self).lease(key, holder, ttl)
    }
    fn damaged(&self) -> BoxFuture<'_, io::Result<Vec<Damaged>>> {
        (**self).damaged()
    }
    fn sender<'a>(&'a self, sender: &'a str) -> BoxFuture<'a, io::Result<Sender>> {
        (**self).sender(sender)
    }
}

/// How long a closed entry is kept by default by the file and Redis journals: its track id stays
/// taken (and [`Journal::get`] answers it) that long.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

/// The time `ms` milliseconds after the Unix epoch (a stored value out of range reads as the
/// latest time the platform holds, never a panic).
fn at_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH.checked_add(Duration::from_millis(ms)).unwrap_or_else(|| UNIX_EPOCH + Duration::from_secs(i32::MAX as u64))
}

/// Milliseconds since the Unix epoch, now.
pub(crate) fn now_ms() -> u64 {
    u64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis()).unwrap_or(u64::MAX)
}

/// The fields of a body that name where money goes, in the order they are looked for.
const DESTINATION_FIELDS: [&str; 4] = ["iban", "authorization_id", "customer", "batches_settlement"];
/// The fields of a body that carry the caller's own reference.
const REFERENCE_FIELDS: [&str; 4] = ["factorNumber", "factor_number", "payment_number", "description"];

impl Intent {
    /// The intent of a money move whose request body is `body` (`path_destination`: a customer id
    /// the URL names, for wallet movements).
    pub(crate) fn money_move(
        operation: &str,
        key: String,
        unit: Option<&str>,
        body: &serde_json::Value,
        path_destination: Option<String>,
    ) -> Self {
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let destination = DESTINATION_FIELDS
            .iter()
            .find_map(|f| body.get(*f).map(text))
            .or(path_destination);
        let reference = REFERENCE_FIELDS.iter().find_map(|f| body.get(*f).filter(|v| !v.is_null()).map(text));
        let amount = body.get("amount").and_then(|a| a.as_i64().or_else(|| a.as_str().and_then(|s| s.parse().ok())));
        Intent {
            key,
            kind: EntryKind::MoneyMove,
            operation: operation.to_string(),
            amount,
            unit: unit.map(str::to_string),
            destination,
            reference,
            request: body.clone(),
            created_at_ms: now_ms(),
            target: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_settlement_intent_names_amount_unit_iban_and_reference() {
        let body = serde_json::json!({"amount": 5000, "iban": "IR330120020000002353697200", "track_id": "t-1", "payment_number": 77});
        let intent = Intent::money_move("settlement_store", "t-1".into(), Some("Tomans"), &body, None);
        assert_eq!(
            (intent.amount, intent.unit.as_deref(), intent.destination.as_deref(), intent.reference.as_deref()),
            (Some(5000), Some("Tomans"), Some("IR330120020000002353697200"), Some("77"))
        );
        assert!(intent.age() < Duration::from_secs(5));
    }

    #[test]
    fn only_an_indeterminate_outcome_keeps_an_entry_open() {
        let intent = Intent::money_move("x", "k".into(), None, &serde_json::json!({}), None);
        let entry = |outcome| Entry { intent: intent.clone(), outcome, sending_since_ms: Some(1) };
        assert!(entry(None).is_open());
        assert!(entry(Some(Outcome::Indeterminate { reason: "lost".into() })).is_open());
        assert!(!entry(Some(Outcome::Answered)).is_open());
        assert!(!entry(Some(Outcome::ProvenNotSent { looked_up: "transaction_list".into() })).is_open());
    }

    #[test]
    fn a_track_id_is_sent_from_staged_or_after_a_proven_refusal_only() {
        let intent = Intent::money_move("settlement_store", "k".into(), None, &serde_json::json!({"amount": 1}), None);
        let other = Intent::money_move("settlement_store", "k".into(), None, &serde_json::json!({"amount": 2}), None);
        let entry = |outcome, sending_since_ms| Entry { intent: intent.clone(), outcome, sending_since_ms };
        let table = [
            (entry(None, None), EntryState::Staged, true),
            (entry(None, Some(1)), EntryState::Sending, false),
            (entry(Some(Outcome::Indeterminate { reason: "lost".into() }), Some(1)), EntryState::InDoubt, false),
            (entry(Some(Outcome::Answered), Some(1)), EntryState::Closed, false),
            (entry(Some(Outcome::Reconciled { found: Proof::default() }), Some(1)), EntryState::Closed, false),
            (entry(Some(Outcome::ClosedByHand { reason: "checked".into() }), Some(1)), EntryState::Closed, false),
            (entry(Some(Outcome::RefusedBeforeSending { reason: "deadline".into() }), Some(1)), EntryState::Closed, true),
            (entry(Some(Outcome::RefusedByVandar { reason: "HTTP 422".into() }), Some(1)), EntryState::Closed, true),
            (entry(Some(Outcome::ProvenNotSent { looked_up: "transaction_list".into() }), Some(1)), EntryState::Closed, true),
        ];
        for (entry, state, accepts) in table {
            assert_eq!((entry.state(), entry.accepts_send_of(&intent)), (state, accepts), "{:?}", entry.outcome);
            assert!(!entry.accepts_send_of(&other), "another move under the same track id is never sent");
        }
        for outcome in RESENDABLE {
            assert!(serde_json::from_value::<Outcome>(serde_json::json!({"outcome": outcome, "reason": "", "looked_up": ""})).unwrap().allows_resend());
        }
    }
}
