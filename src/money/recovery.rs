//! [`Client::recover`]: settles what the journal holds open after a restart (a crash, an OOM kill,
//! a deploy): every money move through its documented lookup, never by sending it again, and every
//! payment whose verify never completed through the transaction lookup and one verify.
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::moves::{Found, Lookup};
use super::{Rials, RecoveryOptions, VerifyOutcome};
use crate::generated::operations::Operation;
use crate::journal::{Entry, EntryKind, EntryState, Outcome, Sender};
use crate::{client::Client, error::Error};

/// An entry recovery closed, with what closed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settled {
    /// The entry as the journal held it.
    pub entry: Entry,
    /// What recovery established (and recorded).
    pub outcome: Outcome,
}

/// An entry recovery could not settle: it stays open, with what was looked up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StillOpen {
    /// The entry as the journal holds it.
    pub entry: Entry,
    /// The lookup asked and what it answered, or why none could be asked.
    pub looked_up: String,
}

/// An entry recovery left alone this time, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Skipped {
    /// The entry's key (track id, batch id or payment token).
    pub key: String,
    /// Its operation.
    pub operation: String,
    /// Why it was left alone.
    pub why: SkipReason,
}

/// Why recovery left an entry alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[non_exhaustive]
pub enum SkipReason {
    /// Younger than [`RecoveryOptions::min_age`] and its sender cannot be told alive or gone (an
    /// entry written before senders were recorded, another host's file journal, a journal of your
    /// own that does not implement [`Journal::sender`](crate::journal::Journal::sender)); a payment
    /// younger than [`RecoveryOptions::payments_after`] (the payer may still be on the payment page).
    /// Ready in `ready_in`.
    TooYoung {
        /// How long until it is old enough.
        ready_in: Duration,
    },
    /// Its sender still lives and may still be sending (or retrying) it: that process settles it
    /// itself. Ready in `ready_in`, should it not.
    BeingSent {
        /// How long until it is old enough.
        ready_in: Duration,
        /// The process sending it ([`crate::journal::this_process`] there).
        sender: String,
    },
    /// Its sender is gone (killed, crashed) and the lookup holds nothing of it yet: a request in
    /// flight when its sender died may still land, so finding nothing proves it unsent only once it
    /// is [`RecoveryOptions::min_age`] old, in `ready_in`.
    NotFoundYet {
        /// How long until finding nothing is proof.
        ready_in: Duration,
        /// The lookup asked.
        looked_up: String,
    },
    /// Another replica holds its lease.
    Leased,
    /// Staged by the application and never sent: nothing to look up. Send it, or close it.
    Staged,
    /// Sent to another business than this Client's: a Client configured for it recovers it.
    OtherBusiness {
        /// The business slug the request named.
        business: String,
    },
    /// A payment registered with another gateway api_key than this Client's.
    OtherGateway,
    /// A payment older than [`RecoveryOptions::payments_before`].
    PaymentTooOld,
}

impl SkipReason {
    /// When recovery can settle it, if waiting is all it takes.
    pub fn ready_in(&self) -> Option<Duration> {
        match self {
            SkipReason::TooYoung { ready_in } | SkipReason::BeingSent { ready_in, .. } | SkipReason::NotFoundYet { ready_in, .. } => Some(*ready_in),
            _ => None,
        }
    }
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkipReason::TooYoung { ready_in } => write!(f, "too young to look up (a living process may still send it; its sender cannot be told): ready in {ready_in:.1?}"),
            SkipReason::BeingSent { ready_in, sender } => write!(f, "being sent by {sender}, which is alive: ready in {ready_in:.1?} should it not settle it"),
            SkipReason::NotFoundYet { ready_in, looked_up } => {
                write!(f, "its sender is gone and {looked_up} holds nothing of it yet; that is proof it was not sent in {ready_in:.1?}")
            }
            SkipReason::Leased => f.write_str("another replica is recovering it now"),
            SkipReason::Staged => f.write_str("staged and never sent: send it, or close it"),
            SkipReason::OtherBusiness { business } => write!(f, "sent to the business {business}: a Client configured for it recovers it"),
            SkipReason::OtherGateway => f.write_str("registered with another gateway api_key: a Client with that key recovers it"),
            SkipReason::PaymentTooOld => f.write_str("a payment older than RecoveryOptions::payments_before: no longer swept"),
        }
    }
}

/// What [`Client::recover`] did with the journal's open entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecoveryReport {
    /// Entries proven and closed: reconciled, proven not sent, paid, not paid, expired, underpaid.
    pub settled: Vec<Settled>,
    /// Entries that could not be proven either way: still open, to be looked at (or recovered again).
    pub still_open: Vec<StillOpen>,
    /// Entries left alone this time, each with why (and, when it is only too young, when it is ready).
    pub skipped: Vec<Skipped>,
    /// Records the journal holds that do not read back (damaged on disk, forged, or written by
    /// another version): each may be a money move in doubt. Nothing is sent under a track id one
    /// of them names; an operator must look (`vandar journal damaged`).
    #[serde(default)]
    pub damaged: Vec<crate::journal::Damaged>,
}

impl RecoveryReport {
    /// Money moves proven never carried out: safe to send again, with the same track id (the
    /// journal accepts the same move again after this outcome), which the client never does by
    /// itself. A person or the application decides.
    pub fn proven_not_sent(&self) -> impl Iterator<Item = &Entry> {
        self.settled.iter().filter(|s| matches!(s.outcome, Outcome::ProvenNotSent { .. })).map(|s| &s.entry)
    }

    /// Payments recovery found paid (and verified, if they were not): ship these orders.
    pub fn paid(&self) -> impl Iterator<Item = &Settled> {
        self.settled.iter().filter(|s| matches!(s.outcome, Outcome::Paid { .. }))
    }

    /// When the next skipped entry is ready (the soonest [`SkipReason::ready_in`]): call
    /// [`Client::recover`] again then, or use [`Client::recover_until_settled`]. `None`: waiting
    /// settles nothing more.
    pub fn next_ready_in(&self) -> Option<Duration> {
        self.skipped.iter().filter_map(|s| s.why.ready_in()).min()
    }
}

/// What to do with an open entry now.
enum Now {
    /// Leave it, with why.
    Skip(SkipReason),
    /// Look it up. `absence_proves`: finding nothing proves it was not sent (it is old enough).
    LookUp { absence_proves: bool },
}

/// Why a lookup settled nothing.
enum Unsettled {
    /// What was asked, and why it proves nothing: the entry stays open.
    Open(String),
    /// The lookup holds nothing of it, and it is too young for that to be proof.
    NotFoundYet { looked_up: String },
}

impl From<String> for Unsettled {
    fn from(reason: String) -> Self {
        Unsettled::Open(reason)
    }
}

impl Client {
    /// Settles every open journal entry old enough (see [`RecoveryOptions`]): a money move through
    /// its documented lookup (reconciled, or proven not sent when the lookup holds nothing of it),
    /// a payment through the transaction lookup, verified exactly once when it is paid but not
    /// verified. What cannot be proven stays open and is reported with what was looked up. Run it
    /// at start-up, or in the background with [`Client::recovery_task`].
    ///
    /// A client without a journal has nothing to recover: the report is empty.
    pub async fn recover(&self) -> Result<RecoveryReport, Error> {
        let Some(journal) = self.transport().journal.clone() else { return Ok(RecoveryReport::default()) };
        let options = self.recovery_options().clone();
        let unavailable = |error: std::io::Error| Error::Unavailable { component: "journal", message: format!("{}: {error}", journal.describe()) };
        let open = journal.open().await.map_err(unavailable)?;
        let holder = self.recovery_holder();
        let mut report = RecoveryReport { damaged: journal.damaged().await.map_err(unavailable)?, ..RecoveryReport::default() };
        for damaged in &report.damaged {
            tracing::error!(%damaged, "the journal holds a record that does not read: an operator must look");
        }
        let mut senders = std::collections::HashMap::new();
        for entry in open {
            let absence_proves = match self.now(&entry, &options, &journal, &mut senders).await {
                Now::Skip(why) => {
                    report.skipped.push(Skipped { key: entry.intent.key.clone(), operation: entry.intent.operation.clone(), why });
                    continue;
                }
                Now::LookUp { absence_proves } => absence_proves,
            };
            match journal.lease(&entry.intent.key, holder, options.lease).await {
                Ok(true) => {}
                Ok(false) => {
                    report.skipped.push(Skipped { key: entry.intent.key.clone(), operation: entry.intent.operation.clone(), why: SkipReason::Leased });
                    continue;
                }
                // One entry the journal cannot lease (a damaged record) stops nothing else.
                Err(error) => {
                    report.still_open.push(StillOpen { entry, looked_up: format!("not looked up: {} could not lease it: {error}", journal.describe()) });
                    continue;
                }
            }
            let found = match entry.intent.kind {
                EntryKind::MoneyMove => self.recover_move(&entry, absence_proves).await,
                EntryKind::Payment => self.recover_payment(&entry).await.map_err(Unsettled::Open),
            };
            match found {
                Ok(outcome) => {
                    self.transport().journal_update(&entry.intent.key, &outcome).await;
                    tracing::info!(operation = %entry.intent.operation, outcome = outcome.kind(), "recovered a journal entry");
                    report.settled.push(Settled { entry, outcome });
                }
                Err(Unsettled::NotFoundYet { looked_up }) => {
                    // Nothing to do until it is ready: the lease is let go (run out now), so whichever
                    // replica recovers then may take it.
                    if let Err(error) = journal.lease(&entry.intent.key, holder, Duration::ZERO).await {
                        tracing::warn!(key = %entry.intent.key, %error, "cannot let go of a journal lease; it runs out by itself");
                    }
                    let ready_in = options.min_age.saturating_sub(entry.age());
                    tracing::info!(operation = %entry.intent.operation, %looked_up, ?ready_in, "a dead sender's journal entry is not found yet");
                    let why = SkipReason::NotFoundYet { ready_in, looked_up };
                    report.skipped.push(Skipped { key: entry.intent.key.clone(), operation: entry.intent.operation.clone(), why });
                }
                Err(Unsettled::Open(looked_up)) => {
                    tracing::warn!(operation = %entry.intent.operation, %looked_up, "a journal entry stays open");
                    report.still_open.push(StillOpen { entry, looked_up });
                }
            }
        }
        crate::telemetry::journal_open(report.still_open.len() + report.skipped.len());
        Ok(report)
    }

    /// What to do with `entry` now: leave it (too young and its sender alive or unknown, staged,
    /// another business's or another gateway's), or look it up. `senders` caches what the journal
    /// said of each sender during this run.
    async fn now(
        &self,
        entry: &Entry,
        options: &RecoveryOptions,
        journal: &std::sync::Arc<dyn crate::journal::Journal>,
        senders: &mut std::collections::HashMap<String, Sender>,
    ) -> Now {
        let target = entry.intent.target.as_ref();
        if let Some(business) = target.and_then(|t| t.business.as_deref()) {
            if self.business().ok() != Some(business) {
                return Now::Skip(SkipReason::OtherBusiness { business: business.to_string() });
            }
        }
        if let Some(gateway) = target.and_then(|t| t.gateway.as_deref()) {
            let mine = self.transport().ipg_api_key.as_ref().map(|key| crate::journal::gateway_fingerprint(key.expose()));
            if mine.as_deref() != Some(gateway) {
                return Now::Skip(SkipReason::OtherGateway);
            }
        }
        let age = entry.age();
        match entry.intent.kind {
            EntryKind::MoneyMove if entry.state() == EntryState::Staged => Now::Skip(SkipReason::Staged),
            EntryKind::MoneyMove if age < options.min_age => {
                let ready_in = options.min_age - age;
                let Some(sender) = target.and_then(|t| t.sender.clone()) else { return Now::Skip(SkipReason::TooYoung { ready_in }) };
                let life = match senders.get(&sender) {
                    Some(life) => *life,
                    None => {
                        let life = journal.sender(&sender).await.unwrap_or_else(|error| {
                            tracing::warn!(%sender, %error, "the journal cannot tell whether a sender lives");
                            Sender::Unknown
                        });
                        senders.insert(sender.clone(), life);
                        life
                    }
                };
                match life {
                    Sender::Gone => Now::LookUp { absence_proves: false },
                    Sender::Alive => Now::Skip(SkipReason::BeingSent { ready_in, sender }),
                    _ => Now::Skip(SkipReason::TooYoung { ready_in }),
                }
            }
            EntryKind::Payment if age < options.payments_after => Now::Skip(SkipReason::TooYoung { ready_in: options.payments_after - age }),
            EntryKind::Payment if options.payments_before.is_some_and(|limit| age > limit) => Now::Skip(SkipReason::PaymentTooOld),
            _ => Now::LookUp { absence_proves: true },
        }
    }

    /// Runs [`Client::recover`] until nothing is left that waiting would settle (every skipped
    /// entry's [`SkipReason::ready_in`] is `None`) or `give_up_after` has passed, sleeping until
    /// the next entry is ready in between: at start-up, for the entries a crashed process left
    /// whose lookups cannot prove anything yet. The report is the last run's, with every entry
    /// settled by the earlier runs in [`RecoveryReport::settled`].
    pub async fn recover_until_settled(&self, give_up_after: Duration) -> Result<RecoveryReport, Error> {
        let started = tokio::time::Instant::now();
        let mut settled = Vec::new();
        loop {
            let mut report = self.recover().await?;
            settled.append(&mut report.settled);
            let left = give_up_after.saturating_sub(started.elapsed());
            match report.next_ready_in() {
                Some(ready_in) if !left.is_zero() => {
                    // A little past ready: the entry's age is measured from the journal's clock.
                    tokio::time::sleep(ready_in.saturating_add(Duration::from_millis(50)).min(left)).await;
                }
                _ => {
                    report.settled = settled;
                    return Ok(report);
                }
            }
        }
    }

    /// Runs [`Client::recover`] every `interval` until the task is aborted, handing each report to
    /// `on_report` (a failed run is logged and tried again at the next tick).
    pub fn recovery_task(
        &self,
        interval: Duration,
        mut on_report: impl FnMut(RecoveryReport) + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let client = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(interval);
            loop {
                ticks.tick().await;
                match client.recover().await {
                    Ok(report) => on_report(report),
                    Err(error) => tracing::warn!(%error, "journal recovery failed; trying again at the next tick"),
                }
            }
        })
    }

    /// A money move's fate through its documented lookup, the same one the move itself asks after
    /// a lost answer, fed the journaled request read back as the typed body that was sent: `Err`
    /// says what was asked when it proves nothing.
    async fn recover_move(&self, entry: &Entry, absence_proves: bool) -> Result<Outcome, Unsettled> {
        let intent = &entry.intent;
        // Where it was sent (checked by `not_now` to be this Client's business); an entry written
        // before targets were journaled is looked up under this Client's business, and finding
        // nothing there proves nothing.
        let journaled = intent.target.as_ref().and_then(|t| t.business.clone());
        let knows_target = journaled.is_some();
        let business = match journaled {
            Some(business) => business,
            None => self.business().map_err(|e| e.to_string())?.to_string(),
        };
        let verdict = Verdict { knows_target, absence_proves };
        // Dispatched on the lookup the spec's table names for the move (its `x-vandar-money-move`);
        // each lookup reads back the body type of the move it serves (`READ_LOOKUPS`).
        let operation = Operation::from_id(&intent.operation);
        let found = match operation.and_then(Operation::money_move).and_then(|m| m.lookup) {
            Some(Operation::TransactionList) => self.look_up_settlement(&business, &sent(intent)?).await,
            Some(Operation::WithdrawalShowByTrackId) => {
                let sent: crate::generated::api::types::WithdrawalStoreRequest = sent(intent)?;
                // Sent without a track id (a raw generated call: the journal keyed it by a UUID of its
                // own), it cannot be looked up, and a 404 for the journal's key would prove nothing.
                let Some(track_id) = sent.track_id.clone() else {
                    return Err(Unsettled::Open(format!(
                        "sent without a track_id, so {} cannot find it: check {} or the dashboard",
                        Operation::WithdrawalShowByTrackId,
                        Operation::WithdrawalList
                    )));
                };
                return self.look_up_withdrawal(&business, &track_id, &sent).await.describe(verdict);
            }
            #[cfg(feature = "batch")]
            Some(Operation::BatchShow) => return self.look_up_batch(&business, &sent(intent)?).await.describe(verdict),
            Some(lookup) => {
                return Err(Unsettled::Open(format!("{}: the client cannot read its lookup {lookup} yet: check it for {}", intent.operation, intent.key)));
            }
            None => {
                let where_to_look = operation.map_or("the dashboard", Operation::where_to_look);
                return Err(Unsettled::Open(format!(
                    "Vandar documents no lookup by track id for {}: check {where_to_look} for {}",
                    intent.operation, intent.key
                )));
            }
        };
        found.describe(verdict)
    }

    /// A payment's fate: paid and verified (verifying it now, once, if it was only paid), not paid,
    /// or no longer known to the gateway.
    async fn recover_payment(&self, entry: &Entry) -> Result<Outcome, String> {
        let intent = &entry.intent;
        let transaction = match self.ipg().ipg_transaction().body_map(|b| b.token(&intent.key)).send().await {
            Ok(transaction) => transaction,
            // The gateway refuses the token itself, in its documented words ("token is invalid"):
            // it expired, or was never known. Any other refusal (a proxy's 404, an unknown route, a
            // redirect) proves nothing, and never for a payment journaled without its gateway.
            Err(error) if error.code() == Some(&crate::error::ErrorCode::InvalidToken) && intent.target.as_ref().is_some_and(|t| t.gateway.is_some()) => {
                return Ok(Outcome::Expired { reason: error.to_string() });
            }
            Err(error) => return Err(format!("ipg_transaction: {error}")),
        };
        match (transaction.status, transaction.code) {
            // Paid, never verified: verify it now, exactly once (verify_payment's own table).
            (1, Some(super::payment::CODE_AWAITING_VERIFY)) => {
                // Never compared against zero: without the expected amount, any payment would read as paid in full.
                let Some(expected) = intent.amount.map(Rials) else {
                    return Err("paid but not verified, and the journal holds no expected amount: verify it with the order's amount".into());
                };
                match self.verify_payment(&intent.key, expected).await {
                    Ok(VerifyOutcome::Verified(p) | VerifyOutcome::AlreadyVerified(p)) => {
                        Ok(Outcome::Paid { amount: p.amount.0, card: p.card_number, trans_id: p.trans_id })
                    }
                    Ok(VerifyOutcome::Underpaid { expected, payment }) => {
                        Ok(Outcome::Underpaid { expected: expected.0, paid: payment.amount.0 })
                    }
                    Ok(VerifyOutcome::NotPaid { message }) => Ok(Outcome::NotPaid { message }),
                    // A short summary, never the outcome's Debug (it may carry the payer's card).
                    Ok(VerifyOutcome::Pending { reason }) => Err(format!("paid but not verified; verify_payment is pending: {reason}")),
                    Ok(VerifyOutcome::Unrecognized { status, code, .. }) => {
                        Err(format!("paid but not verified; verify_payment found status {status}, code {code:?}, which the documents do not describe"))
                    }
                    Err(error) => Err(format!("paid but not verified; verify_payment: {error}")),
                }
            }
            (1, Some(super::payment::CODE_VERIFIED)) => Ok(Outcome::Paid {
                amount: transaction.amount.map_or(0, |a| a.0),
                card: transaction.card_number,
                trans_id: transaction.trans_id,
            }),
            (0, _) => Ok(Outcome::NotPaid { message: transaction.message }),
            (status, code) => Err(format!("ipg_transaction answered status {status}, code {code:?}, which the documents do not describe")),
        }
    }
}

/// The journaled request of `intent`, read back as the typed body that was sent. The error names the
/// field and the kind of problem, never the value (an IBAN, a card).
fn sent<T: serde::de::DeserializeOwned>(intent: &crate::journal::Intent) -> Result<T, String> {
    serde_path_to_error::deserialize(intent.request.clone()).map_err(|error| {
        format!(
            "the journaled {} request does not read as the body sent (at {}: {:?} error)",
            intent.operation,
            error.path(),
            error.inner().classify()
        )
    })
}

/// What finding nothing proves of an entry.
#[derive(Clone, Copy)]
struct Verdict {
    /// It was looked up where it was sent.
    knows_target: bool,
    /// It is old enough for finding nothing to be proof.
    absence_proves: bool,
}

impl<T: Found> Lookup<T> {
    /// Recovery's verdict: proven, or proven not sent when the lookup holds nothing of it (the
    /// entry is old enough for that to be proof, and it was looked up where it was sent); `Err`
    /// with what was asked otherwise.
    fn describe(self, verdict: Verdict) -> Result<Outcome, Unsettled> {
        match self {
            Lookup::Proven(found) => Ok(Outcome::Reconciled { found: found.proof() }),
            Lookup::Absent { looked_up } if verdict.knows_target && !verdict.absence_proves => Err(Unsettled::NotFoundYet { looked_up }),
            Lookup::Absent { looked_up } if verdict.knows_target => Ok(Outcome::ProvenNotSent { looked_up }),
            Lookup::Absent { looked_up } => Err(Unsettled::Open(format!(
                "{looked_up} holds nothing of it, but the entry was journaled without where it was sent, so that proves nothing: check the dashboard"
            ))),
            Lookup::Unproven { reason } => Err(Unsettled::Open(reason)),
            Lookup::Failed(error) => Err(Unsettled::Open(format!("the lookup failed: {error}"))),
            Lookup::Undocumented => Err(Unsettled::Open("Vandar documents no lookup by track id for it".into())),
        }
    }
}

/// The lookups `recover_move` reads, each with the money move it serves: a spec mark naming another
/// lookup leaves its entries open (and the test below fails until it is read here).
#[cfg(test)]
const READ_LOOKUPS: [(Operation, Operation); 3] = [
    (Operation::TransactionList, Operation::SettlementStore),
    (Operation::WithdrawalShowByTrackId, Operation::WithdrawalStore),
    (Operation::BatchShow, Operation::BatchSettlementStore),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lookup_the_spec_names_is_read_by_recovery_for_its_move() {
        for operation in Operation::ALL {
            let Some(lookup) = operation.money_move().and_then(|m| m.lookup) else { continue };
            assert!(
                READ_LOOKUPS.contains(&(lookup, operation)),
                "the spec marks {operation} with lookup {lookup}, which recover_move does not read for it"
            );
        }
    }
}
