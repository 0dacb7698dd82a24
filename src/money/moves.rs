//! Money-moving calls that take a caller-chosen tracking id. Vandar documents no idempotency key,
//! so every money move's builder starts with a fresh `track_id` (the caller's own replaces it); the
//! result carries it, and after an answer lost in transit the move is reconciled through the
//! documented lookup instead of being sent again.
//! Each call runs in a `vandar.flow` span carrying the track_id, its lookup included.
use std::convert::Infallible;

use crate::enums::SettlementStatus;
use crate::generated::api::types::{self, builder};
use crate::generated::operations::Operation;
use crate::journal::{EntryState, Outcome, Proof, ProvenRecord};
use crate::money::{Rials, Tomans};
use crate::{client::Client, error::Error};

/// The result of a money move (`Client::settlement_store`, `withdrawal_store`, ...): an enum of
/// two arms, because after an answer lost in transit the client looks the move up instead of
/// sending it again. Either way the move was carried out exactly once.
///
/// * `Answered { track_id, answer }`: Vandar's answer (`A`, the operation's answer type).
/// * `Reconciled { track_id, found }`: the answer was lost; the documented lookup proved the move
///   was carried out (`L`, what the lookup returned).
///
/// Read it with the accessors, which work from either arm: [`Tracked::track_id`], and for a
/// settlement [`Tracked::transaction_id`] (what [`Client::cancel_settlement`] takes),
/// [`Tracked::settlement_id`], [`Tracked::status`] and [`Tracked::amount`]; or match the arms.
/// It is `Serialize`/`Deserialize` (tagged `{"outcome": "answered", ...}`) to be stored with your order.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Tracked<A, L> {
    /// Vandar answered the call.
    Answered {
        /// The tracking id sent (for a batch, its `batch_id`).
        track_id: String,
        /// Vandar's answer.
        answer: A,
    },
    /// The answer was lost; the documented lookup found the request carried out.
    Reconciled {
        /// The tracking id sent (for a batch, its `batch_id`).
        track_id: String,
        /// What the lookup returned.
        found: L,
    },
}

impl<A, L> Tracked<A, L> {
    /// The tracking id sent with the request.
    pub fn track_id(&self) -> &str {
        match self {
            Tracked::Answered { track_id, .. } | Tracked::Reconciled { track_id, .. } => track_id,
        }
    }

    /// Whether the answer was lost and the lookup proved the move (`Reconciled`).
    pub fn was_reconciled(&self) -> bool {
        matches!(self, Tracked::Reconciled { .. })
    }
}

/// The result of `Client::settlement_store`.
pub type StoredSettlement = Tracked<types::SettlementStoreResponse, Vec<types::Transaction>>;

impl Tracked<types::SettlementStoreResponse, Vec<types::Transaction>> {
    /// The settlement's transaction id (what `settlement_cancel` takes), read from either arm: the
    /// answer's `transaction_id`, or the `id` of the statement record the lookup proved. ASSUMPTION:
    /// a settlement's statement record carries the settlement's transaction id as its `id` (the
    /// documents show no example of one).
    pub fn transaction_id(&self) -> Option<i64> {
        match self {
            Tracked::Answered { answer, .. } => answer.data.settlement.first().map(|s| s.transaction_id),
            Tracked::Reconciled { found, .. } => found.first().and_then(|t| t.id),
        }
    }

    /// The settlement's id (a UUID: what `settlement_show` takes), from the answer, or from the
    /// `settlement` object of the record the lookup proved when it carries one.
    pub fn settlement_id(&self) -> Option<uuid::Uuid> {
        match self {
            Tracked::Answered { answer, .. } => answer.data.settlement.first().map(|s| s.id),
            Tracked::Reconciled { found, .. } => {
                found.first().and_then(|t| settlement_field(t, "id")).and_then(|id| id.as_str()).and_then(|id| id.parse().ok())
            }
        }
    }

    /// The settlement's status (`Pending`, `Done`, `Canceled`, `Failed`, ..., the type
    /// `settlement_list` and `settlement_show` answer with): the answer's `status`, or the proven
    /// record's (its `settlement.status`, else its statement status: `2` DONE, `-2` PENDING, `-3`
    /// FAILED, `-4` CANCELED). For the final status, ask `settlement_show` or listen on `notify_url`.
    pub fn status(&self) -> Option<SettlementStatus> {
        match self {
            Tracked::Answered { answer, .. } => answer.data.settlement.first().map(|s| s.status.clone()),
            Tracked::Reconciled { found, .. } => {
                let record = found.first()?;
                let stated = settlement_field(record, "status").and_then(|s| s.as_str()).map(SettlementStatus::from);
                stated.or_else(|| match record.status? {
                    2 => Some(SettlementStatus::Done),
                    -2 => Some(SettlementStatus::Pending),
                    -3 => Some(SettlementStatus::Failed),
                    -4 => Some(SettlementStatus::Canceled),
                    _ => None,
                })
            }
        }
    }

    /// The amount settled, in Tomans (what `settlement_store` took), from either arm.
    pub fn amount(&self) -> Option<Tomans> {
        match self {
            Tracked::Answered { answer, .. } => {
                answer.data.settlement.first().map(|s| s.amount_toman.unwrap_or_else(|| s.amount.whole_tomans()))
            }
            Tracked::Reconciled { found, .. } => found.first().and_then(|t| t.amount).map(|a| Tomans(a.0.abs())),
        }
    }
}

/// Whether a failure leaves the request's fate unknown: the classifier says it may have been
/// processed (its answer lost, a failure on Vandar's side) or was processed with an unreadable
/// answer. Only then is the lookup asked; anything else never moved money.
fn in_doubt(error: &Error) -> bool {
    error.verdict().needs_lookup()
}

/// The `outcome` of a tracked call's `vandar.flow` span.
fn outcome<A, L>(result: &Result<Tracked<A, L>, Error>) -> &'static str {
    match result {
        Ok(Tracked::Answered { .. }) => "answered",
        Ok(Tracked::Reconciled { .. }) => "reconciled",
        Err(Error::Indeterminate { .. }) => "indeterminate",
        Err(_) => "failed",
    }
}

/// The typed body of a money move's builder. The builder started with a fresh track_id (a build.rs
/// pass, from the spec's `x-vandar-money-move`), or holds the caller's: what is read here is sent.
fn typed_body<B, T>(builder: B) -> Result<T, Error>
where
    T: TryFrom<B>,
    T::Error: std::fmt::Display,
{
    T::try_from(builder).map_err(|e| Error::conversion(&e.to_string()))
}

/// Where a person can look for a move Vandar documents no lookup for (the spec's mark).
fn where_to_look(operation: &str) -> &'static str {
    Operation::from_id(operation).map_or("the dashboard", Operation::where_to_look)
}

/// What a documented lookup says of a money move.
pub(super) enum Lookup<T> {
    /// A record proven to be this move (its track id, or its amount and destination).
    Proven(T),
    /// The lookup answered, and holds nothing for this track id.
    Absent {
        /// The lookup asked.
        looked_up: String,
    },
    /// The lookup answered records, none (or not all, for a batch) proven to be this move.
    Unproven {
        /// What it answered.
        reason: String,
    },
    /// The lookup itself failed.
    Failed(Error),
    /// Vandar documents no lookup by track id for this move.
    Undocumented,
}

impl<T> Lookup<T> {
    /// The in-process verdict after `error` lost the answer: proven, or `Indeterminate` (a lookup
    /// right after sending proves nothing by finding nothing; recovery, later, may).
    fn settle<A>(self, operation: Operation, track_id: String, error: &Error) -> Result<Tracked<A, T>, Error> {
        let reason = match self {
            Lookup::Proven(found) => return Ok(Tracked::Reconciled { track_id, found }),
            Lookup::Absent { looked_up } => format!("{error}; {looked_up} found no record of it (yet)"),
            Lookup::Unproven { reason } => format!("{error}; {reason}"),
            Lookup::Failed(lookup) => format!("{error}; the lookup failed too: {lookup}"),
            Lookup::Undocumented => format!(
                "{error}; Vandar documents no lookup by track_id for {operation}, so the client cannot tell whether it was carried \
                 out: check {} for this track_id before sending it again (with the same track_id)",
                operation.where_to_look()
            ),
        };
        Err(Error::Indeterminate { operation: operation.id(), track_id, reason })
    }
}

/// What a lookup proved, for the journal's `Outcome::Reconciled`: the records found to be the
/// move, with their ids, status and amount, so whoever reads the journal can find them in the dashboard.
pub(super) trait Found {
    /// The lookup and its records.
    fn proof(&self) -> Proof;
}

/// A value Vandar wrote as a string or a number, as text.
fn text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Found for Vec<types::Transaction> {
    fn proof(&self) -> Proof {
        let records = self.iter().map(|t| ProvenRecord {
            transaction_id: t.id,
            settlement_id: settlement_field(t, "id").and_then(text),
            track_id: settlement_field(t, "track_id").and_then(text),
            // The settlement's own status (`DONE`, ...) when the record carries it, else the statement's.
            status: settlement_field(t, "status").and_then(text).or_else(|| t.status.map(|s| s.to_string())),
            amount: t.amount.map(|a| a.0),
            unit: Some("Tomans".into()),
            ..ProvenRecord::new("transaction", t.id.map(|id| id.to_string()))
        });
        Proof::new(Operation::TransactionList.id(), records.collect())
    }
}

impl Found for types::WithdrawalResponse {
    fn proof(&self) -> Proof {
        let withdrawal = self.result.as_ref().and_then(|r| r.withdrawal.as_ref());
        let records = withdrawal.map(|w| ProvenRecord {
            track_id: w.track_id.clone(),
            status: w.status.as_ref().and_then(|s| serde_json::to_value(s).ok()).as_ref().and_then(text),
            amount: w.amount.map(|a| a.0),
            unit: Some("Rials".into()),
            ..ProvenRecord::new("withdrawal", w.id.map(|id| id.to_string()))
        });
        Proof::new(Operation::WithdrawalShowByTrackId.id(), records.into_iter().collect())
    }
}

#[cfg(feature = "batch")]
impl Found for Vec<crate::generated::batch::types::BatchSettlement> {
    fn proof(&self) -> Proof {
        let unit = Operation::BatchSettlementStore.money_move().and_then(|m| m.unit).map(str::to_string);
        let records = self.iter().map(|b| ProvenRecord {
            transaction_id: b.transaction_id,
            track_id: b.track_id.clone(),
            status: b.status.clone(),
            amount: b.amount.as_deref().and_then(|a| a.parse().ok()),
            unit: unit.clone(),
            ..ProvenRecord::new("batch_item", b.id.map(|id| id.to_string()))
        });
        Proof::new(Operation::BatchShow.id(), records.collect())
    }
}

/// A field of the `settlement` object a statement record carries (the documents give it no fields;
/// see [`settlement_matches`]).
fn settlement_field<'a>(record: &'a types::Transaction, key: &str) -> Option<&'a serde_json::Value> {
    record.settlement.as_ref()?.get(key)
}

impl Found for Infallible {
    fn proof(&self) -> Proof {
        match *self {}
    }
}


impl Client {
    /// Runs a money move, journals what the lookup proves, and names its flow span.
    async fn tracked<A, L: Found>(
        &self,
        operation: Operation,
        track_id: String,
        send: impl std::future::Future<Output = Result<A, Error>>,
        look_up: impl AsyncFnOnce() -> Lookup<L>,
    ) -> Result<Tracked<A, L>, Error> {
        let flow = crate::transport::spans::flow(operation.id(), Some(&track_id));
        // The Client's max_wait bounds the move and its lookup together.
        let max_wait = self.transport().max_wait;
        crate::transport::spans::in_flow(flow, crate::transport::options::with_deadline(max_wait, async move {
            let result = match send.await {
                Ok(answer) => Ok(Tracked::Answered { track_id: track_id.clone(), answer }),
                Err(error) if in_doubt(&error) => {
                    let result = look_up().await.settle(operation, track_id.clone(), &error);
                    // The transport journaled the send; a lookup's proof (or doubt) is recorded here.
                    let outcome = match &result {
                        Ok(Tracked::Reconciled { found, .. }) => Some(Outcome::Reconciled { found: found.proof() }),
                        Err(Error::Indeterminate { reason, .. }) => Some(Outcome::Indeterminate { reason: reason.clone() }),
                        _ => None,
                    };
                    if let Some(outcome) = outcome {
                        self.transport().journal_update(&track_id, &outcome).await;
                    }
                    result
                }
                // The journal holds the track id (a re-delivered job, a second worker): reconcile
                // through the lookup, never send.
                Err(held @ Error::TrackIdInUse { same_move: true, .. }) => self.reconcile_held(held, look_up).await,
                Err(error) => Err(error),
            };
            crate::telemetry::money_move(operation.id(), match &result {
                Ok(Tracked::Answered { .. }) => "answered",
                Ok(Tracked::Reconciled { .. }) => "reconciled",
                Err(Error::Indeterminate { .. }) => "indeterminate",
                Err(_) => "failed",
            });
            result
        }), outcome)
        .await
    }

    /// A move the journal holds (sending, in doubt, or answered), sent again by the caller with the
    /// same body: what its lookup proves. Proven: the move's result, `Reconciled` (and, if the entry
    /// was open, the journal closes it). Proven absent long enough after it was sent
    /// ([`RecoveryOptions::min_age`](crate::money::RecoveryOptions::min_age)): the entry is closed
    /// `ProvenNotSent` and the error says so (the caller may send it again, with the same track id).
    /// Anything else: [`Error::TrackIdInUse`] with what was looked up. Nothing is ever sent here.
    async fn reconcile_held<A, L: Found>(&self, held: Error, look_up: impl AsyncFnOnce() -> Lookup<L>) -> Result<Tracked<A, L>, Error> {
        let Error::TrackIdInUse { operation, track_id, state, age, outcome, .. } = held else { return Err(held) };
        let known = |looked_up: String, state: EntryState, outcome: Option<Outcome>| Error::TrackIdInUse {
            operation: operation.clone(),
            track_id: track_id.clone(),
            state,
            age,
            outcome,
            looked_up: Some(looked_up),
            same_move: true,
        };
        let open = matches!(state, EntryState::Sending | EntryState::InDoubt);
        let done = matches!(outcome, Some(Outcome::Answered | Outcome::Reconciled { .. }));
        if !open && !done {
            return Err(Error::TrackIdInUse { operation, track_id, state, age, outcome, looked_up: None, same_move: true });
        }
        if open {
            let Some(journal) = self.transport().journal.clone() else { return Err(known("no journal".into(), state, outcome)) };
            match journal.lease(&track_id, self.recovery_holder(), self.recovery_options().lease).await {
                Ok(true) => {}
                Ok(false) => return Err(known("another process is reconciling it now".into(), state, outcome)),
                Err(error) => return Err(known(format!("the journal could not lease it: {error}"), state, outcome)),
            }
        }
        match look_up().await {
            Lookup::Proven(found) => {
                if open {
                    self.transport().journal_update(&track_id, &Outcome::Reconciled { found: found.proof() }).await;
                }
                tracing::info!(%operation, %track_id, "a move the journal held was proven carried out by its lookup; not sent again");
                Ok(Tracked::Reconciled { track_id, found })
            }
            Lookup::Absent { looked_up } if open && age >= self.recovery_options().min_age => {
                let proven = Outcome::ProvenNotSent { looked_up: looked_up.clone() };
                self.transport().journal_update(&track_id, &proven).await;
                Err(known(
                    format!("{looked_up} holds nothing of it {age:?} after it was sent: proven not sent; send it again (same track id) if it is still wanted"),
                    EntryState::Closed,
                    Some(proven),
                ))
            }
            Lookup::Absent { looked_up } => Err(known(format!("{looked_up} holds nothing of it yet, which proves nothing so soon"), state, outcome)),
            Lookup::Unproven { reason } => Err(known(reason, state, outcome)),
            Lookup::Failed(error) => Err(known(format!("the lookup failed: {error}"), state, outcome)),
            Lookup::Undocumented => Err(known(
                format!("Vandar documents no lookup by track_id for {operation}: check {}", where_to_look(&operation)),
                state,
                outcome,
            )),
        }
    }

    /// `settlement_store` (amount in Tomans). Its builder starts with a fresh `track_id`; a lost
    /// answer is reconciled through `transaction_list?track_id=..`.
    pub async fn settlement_store(
        &self,
        body: builder::SettlementStoreRequest,
    ) -> Result<Tracked<types::SettlementStoreResponse, Vec<types::Transaction>>, Error> {
        let business = self.business()?.to_string();
        let body: types::SettlementStoreRequest = typed_body(body)?;
        let (track_id, sent) = (body.track_id.clone(), body.clone());
        let send = self.api().settlement_store().business(&business).body(body).send();
        self.tracked(Operation::SettlementStore, track_id, send, async || self.look_up_settlement(&business, &sent).await).await
    }

    /// Cancels the settlement that `stored` (the result of [`Client::settlement_store`]) registered,
    /// by its transaction id (`settlement_cancel`); the amount returns to the wallet. Vandar cancels
    /// only a settlement that is not instant and not yet with the bank: otherwise the answer is an
    /// [`Error::Api`] whose code is [`crate::error::ErrorCode::NotCancelable`].
    ///
    /// The same through the generated call: `vandar.api().settlement_cancel().transaction_id(id)`
    /// (the spec names the path parameter `settlement_id`, but it takes the *transaction* id).
    pub async fn cancel_settlement(&self, stored: &StoredSettlement) -> Result<types::StatusMessage, Error> {
        let transaction_id = stored.transaction_id().ok_or_else(|| {
            Error::invalid(
                "transaction_id",
                "the lookup's record of this settlement carries no transaction id: find it with settlement_list, then \
                 call api().settlement_cancel().transaction_id(..)",
            )
        })?;
        let business = self.business()?.to_string();
        self.api().settlement_cancel().business(&business).transaction_id(transaction_id).send().await
    }

    /// The statement records proven to be the settlement `sent` (by its track_id).
    pub(super) async fn look_up_settlement(&self, business: &str, sent: &types::SettlementStoreRequest) -> Lookup<Vec<types::Transaction>> {
        let (track_id, amount, iban) = (sent.track_id.as_str(), sent.amount, sent.iban.as_str());
        let found = match self.api().transaction_list().business(business).track_id(track_id).send().await {
            Ok(found) => found,
            Err(error) => return Lookup::Failed(error),
        };
        if found.data.is_empty() {
            return Lookup::Absent { looked_up: format!("transaction_list?track_id={track_id}") };
        }
        let proven: Vec<types::Transaction> = found.data.iter().filter(|t| settlement_matches(t, track_id, amount, iban)).cloned().collect();
        if proven.is_empty() {
            return Lookup::Unproven {
                reason: format!(
                    "transaction_list?track_id= found {} record(s), none proven to be this settlement (its track_id, or \
                     this amount and IBAN): {}",
                    found.data.len(),
                    describe(found.data.iter().map(|t| (t.id, t.amount.map(|a| a.to_string()))))
                ),
            };
        }
        Lookup::Proven(proven)
    }

    /// `withdrawal_store` (direct debit, amount in Rials). Its builder starts with a fresh
    /// `track_id`; a lost answer is reconciled through `withdrawal_show_by_track_id`.
    pub async fn withdrawal_store(
        &self,
        body: builder::WithdrawalStoreRequest,
    ) -> Result<Tracked<types::WithdrawalResponse, types::WithdrawalResponse>, Error> {
        let business = self.business()?.to_string();
        let body: types::WithdrawalStoreRequest = typed_body(body)?;
        let track_id = body.track_id.clone().ok_or_else(|| {
            Error::invalid("track_id", "a money move needs a track_id: it is how a lost answer is looked up")
        })?;
        let sent = body.clone();
        let send = self.api().withdrawal_store().business(&business).body(body).send();
        self.tracked(Operation::WithdrawalStore, track_id.clone(), send, async || self.look_up_withdrawal(&business, &track_id, &sent).await).await
    }

    /// The withdrawal `withdrawal_show_by_track_id` proves to be the one `sent` with `track_id`.
    pub(super) async fn look_up_withdrawal(&self, business: &str, track_id: &str, sent: &types::WithdrawalStoreRequest) -> Lookup<types::WithdrawalResponse> {
        let (authorization_id, amount) = (&sent.authorization_id, sent.amount);
        let found = match self.api().withdrawal_show_by_track_id().business(business).track_id(track_id).send().await {
            Ok(found) => found,
            // A 404 proves nothing by itself: a proxy, a wrong base URL or an unknown route answers
            // one too, and the documents give no not-found answer for this lookup.
            Err(error) if error.status() == Some(404) => {
                return Lookup::Unproven { reason: format!("withdrawal_show_by_track_id answered {error}, which does not prove it absent: check withdrawal_list or the dashboard") };
            }
            Err(error) => return Lookup::Failed(error),
        };
        let withdrawal = found.result.as_ref().and_then(|r| r.withdrawal.as_ref());
        if withdrawal.is_some_and(|w| withdrawal_matches(w, track_id, authorization_id, amount)) {
            return Lookup::Proven(found);
        }
        Lookup::Unproven {
            reason: format!(
                "withdrawal_show_by_track_id answered a withdrawal that is not proven to be this one (track_id {:?}, \
                 authorization {:?}, amount {:?})",
                withdrawal.and_then(|w| w.track_id.clone()),
                withdrawal.and_then(|w| w.authorization_id),
                withdrawal.and_then(|w| w.amount.as_ref().map(|a| a.to_string())),
            ),
        }
    }
}

impl Client {
    /// `cash_in_deposit` (amount in Rials). Its builder starts with a fresh `track_id`. Vandar
    /// documents no lookup by track_id for it: a lost answer is [`Error::Indeterminate`] carrying
    /// the track_id (the spec's mark names where to look).
    pub async fn cash_in_deposit(&self, body: builder::CashInDepositRequest) -> Result<Tracked<types::CashInDepositResponse, Infallible>, Error> {
        let business = self.business()?.to_string();
        let body: types::CashInDepositRequest = typed_body(body)?;
        let track_id = body.track_id.clone();
        let send = self.api().cash_in_deposit().business(&business).body(body).send();
        self.tracked(Operation::CashInDeposit, track_id, send, async || Lookup::<Infallible>::Undocumented).await
    }

    /// `customer_wallet_deposit` (amount in Rials). Its builder starts with a fresh `track_id`. The
    /// customer's transaction list carries no track_id, so nothing documented proves a lost
    /// deposit: it is [`Error::Indeterminate`] carrying the track_id.
    pub async fn customer_wallet_deposit(
        &self,
        customer: uuid::Uuid,
        body: builder::WalletMovementRequest,
    ) -> Result<Tracked<types::WalletMovementResponse, Infallible>, Error> {
        self.wallet_movement(customer, body, true).await
    }

    /// `customer_wallet_withdraw`, as [`Client::customer_wallet_deposit`].
    pub async fn customer_wallet_withdraw(
        &self,
        customer: uuid::Uuid,
        body: builder::WalletMovementRequest,
    ) -> Result<Tracked<types::WalletMovementResponse, Infallible>, Error> {
        self.wallet_movement(customer, body, false).await
    }

    async fn wallet_movement(
        &self,
        customer: uuid::Uuid,
        body: builder::WalletMovementRequest,
        deposit: bool,
    ) -> Result<Tracked<types::WalletMovementResponse, Infallible>, Error> {
        let business = self.business()?.to_string();
        let body: types::WalletMovementRequest = typed_body(body)?;
        let track_id = body.track_id.clone();
        let operation = if deposit { Operation::CustomerWalletDeposit } else { Operation::CustomerWalletWithdraw };
        let send = async {
            if deposit {
                self.api().customer_wallet_deposit().business(&business).customer(customer).body(body).send().await
            } else {
                self.api().customer_wallet_withdraw().business(&business).customer(customer).body(body).send().await
            }
        };
        self.tracked(operation, track_id, send, async || Lookup::<Infallible>::Undocumented).await
    }

    /// `batch_settlement_store` (every item's builder starts with a fresh `track_id`; `batch_id` is
    /// the SHA-512 of the items). A lost answer is reconciled through `batch_show(batch_id)`:
    /// `Reconciled` only when every item sent is found there with its track_id, amount and IBAN.
    #[cfg(feature = "batch")]
    pub async fn batch_settlement_store(
        &self,
        body: crate::generated::batch::types::builder::BatchSettlementStoreRequest,
    ) -> Result<Tracked<crate::generated::batch::types::SettlementStoreResponse, Vec<crate::generated::batch::types::BatchSettlement>>, Error> {
        let business = self.business()?.to_string();
        let body: crate::generated::batch::types::BatchSettlementStoreRequest = typed_body(body)?;
        let (batch_id, sent) = (body.batch_id.to_string(), body.clone());
        let send = self.batch().batch_settlement_store().business(&business).body(body).send();
        self.tracked(Operation::BatchSettlementStore, batch_id, send, async || self.look_up_batch(&business, &sent).await).await
    }

    /// The batch `batch_show` proves holds every item `sent` (by track_id, amount and IBAN).
    #[cfg(feature = "batch")]
    pub(super) async fn look_up_batch(
        &self,
        business: &str,
        sent: &crate::generated::batch::types::BatchSettlementStoreRequest,
    ) -> Lookup<Vec<crate::generated::batch::types::BatchSettlement>> {
        let batch_id = sent.batch_id.to_string();
        let (batch_id, items) = (batch_id.as_str(), &sent.batches_settlement);
        let found = match self.batch().batch_show().business(business).batch_id(batch_id).send().await {
            Ok(found) => found.data,
            // A 404 proves nothing by itself (a proxy, a wrong base URL, an unknown route): the
            // batch stays in doubt until batch_show lists it, or a person checks batch_list.
            Err(error) if error.status() == Some(404) => {
                return Lookup::Unproven { reason: format!("batch_show answered {error}, which does not prove it absent: check batch_list or the dashboard") };
            }
            Err(error) => return Lookup::Failed(error),
        };
        let proven = items.iter().all(|item| {
            found.iter().any(|f| {
                f.track_id.as_deref() == Some(item.track_id.as_str())
                    && f.iban.as_deref() == Some(item.iban.as_str())
                    && f.amount.as_deref().and_then(|a| a.parse::<i64>().ok()) == Some(item.amount)
            })
        });
        if proven {
            return Lookup::Proven(found);
        }
        let listed = items.iter().filter(|i| found.iter().any(|f| f.track_id.as_deref() == Some(i.track_id.as_str()))).count();
        if listed == 0 && found.is_empty() {
            return Lookup::Absent { looked_up: format!("batch_show({batch_id})") };
        }
        Lookup::Unproven { reason: format!("batch_show lists {listed} of the {} items sent (by track_id, amount and IBAN)", items.len()) }
    }
}

/// Whether a `transaction_list?track_id=` record is proven to be the settlement sent: the
/// record's `settlement` object carries the track_id, or the same amount (Tomans; settlements
/// are debits, so the sign is ignored) and IBAN. ASSUMPTION: the documents name the filter but
/// no field of the record that carries the track_id or IBAN; where Vandar sends neither, no
/// record is proof and the call ends `Indeterminate`, never `Reconciled` by default.
fn settlement_matches(record: &types::Transaction, track_id: &str, amount: Tomans, iban: &str) -> bool {
    let text = |key: &str| settlement_field(record, key).and_then(|v| v.as_str());
    text("track_id") == Some(track_id) || (record.amount.map(|a| Tomans(a.0.abs())) == Some(amount) && text("iban") == Some(iban))
}

/// Whether the withdrawal found is the one sent: its track_id, or (when Vandar leaves it out)
/// the same authorization and amount.
fn withdrawal_matches(found: &types::Withdrawal, track_id: &str, authorization_id: &uuid::Uuid, amount: Rials) -> bool {
    match found.track_id.as_deref() {
        Some(found_track_id) => found_track_id == track_id,
        None => {
            found.authorization_id.as_ref() == Some(authorization_id)
                && found.amount == Some(amount)
        }
    }
}

/// `id: amount` of each record found, for the person who reconciles by hand.
fn describe(records: impl Iterator<Item = (Option<i64>, Option<String>)>) -> String {
    let list: Vec<String> = records.map(|(id, amount)| format!("id {} amount {}", id.unwrap_or_default(), amount.unwrap_or_default())).collect();
    if list.is_empty() { "nothing".into() } else { list.join(", ") }
}
