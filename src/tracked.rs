//! Money-moving calls that take a caller-chosen tracking id. Vandar documents no idempotency key,
//! so the client fills in a fresh `track_id` when the caller gives none, returns it, and after an
//! answer lost in transit reconciles through the documented lookup instead of sending again.
use crate::api::types::{self, builder};
use crate::{Client, Error};

/// The result of a tracked call.
#[derive(Debug, Clone)]
pub enum Tracked<A, L> {
    /// Vandar answered the call.
    Answered {
        /// The tracking id sent.
        track_id: String,
        /// Vandar's answer.
        answer: A,
    },
    /// The answer was lost; the documented lookup found the request carried out.
    Reconciled {
        /// The tracking id sent.
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
}

/// Whether a failure leaves the request's fate unknown (it may have reached Vandar).
fn in_doubt(error: &Error) -> bool {
    match error {
        // Connect failures were retried by the transport and never left this machine.
        Error::Transport { source, .. } => !source.as_ref().is_some_and(|e| e.is_connect()),
        // A success status with an unreadable body: Vandar did process it.
        Error::Undecodable { status, .. } => status.is_none_or(|s| (200..300).contains(&s) || s >= 500),
        Error::Api(api) => api.status >= 500,
        _ => false,
    }
}

fn fresh_track_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Client {
    /// `settlement_store` (amount in Tomans) with a `track_id` filled in when the body has none.
    /// A lost answer is reconciled through `transaction_list?track_id=..`.
    pub async fn settlement_store(
        &self,
        body: builder::SettlementStoreRequest,
    ) -> Result<Tracked<types::SettlementStoreResponse, Vec<types::Transaction>>, Error> {
        let business = self.business()?.to_string();
        let body = match types::SettlementStoreRequest::try_from(body.clone()) {
            Ok(body) => body,
            Err(e) if e.to_string().contains("track_id") => types::SettlementStoreRequest::try_from(body.track_id(fresh_track_id()))
                .map_err(|e| Error::InvalidInput { field: None, reason: e.to_string() })?,
            Err(e) => return Err(Error::InvalidInput { field: None, reason: e.to_string() }),
        };
        let track_id = body.track_id.clone();
        match self.api().settlement_store().business(&business).body(body).send().await {
            Ok(answer) => Ok(Tracked::Answered { track_id, answer: answer.into_inner() }),
            Err(e) => {
                let error = Error::from(e);
                if !in_doubt(&error) {
                    return Err(error);
                }
                let found = self.api().transaction_list().business(&business).track_id(&track_id).send().await?.into_inner();
                if found.data.is_empty() {
                    return Err(Error::Indeterminate {
                        operation: "settlement_store",
                        track_id,
                        reason: format!("{error}; transaction_list finds no settlement with this track_id yet"),
                    });
                }
                Ok(Tracked::Reconciled { track_id, found: found.data })
            }
        }
    }

    /// `withdrawal_store` (direct debit, amount in Rials) with a `track_id` filled in when the body
    /// has none. A lost answer is reconciled through `withdrawal_show_by_track_id`.
    pub async fn withdrawal_store(
        &self,
        body: builder::WithdrawalStoreRequest,
    ) -> Result<Tracked<types::WithdrawalResponse, types::WithdrawalResponse>, Error> {
        let business = self.business()?.to_string();
        let mut body = types::WithdrawalStoreRequest::try_from(body).map_err(|e| Error::InvalidInput { field: None, reason: e.to_string() })?;
        let track_id = body.track_id.get_or_insert_with(fresh_track_id).clone();
        match self.api().withdrawal_store().business(&business).body(body).send().await {
            Ok(answer) => Ok(Tracked::Answered { track_id, answer: answer.into_inner() }),
            Err(e) => {
                let error = Error::from(e);
                if !in_doubt(&error) {
                    return Err(error);
                }
                match self.api().withdrawal_show_by_track_id().business(&business).track_id(&track_id).send().await {
                    Ok(found) => Ok(Tracked::Reconciled { track_id, found: found.into_inner() }),
                    Err(lookup) => Err(Error::Indeterminate {
                        operation: "withdrawal_store",
                        track_id,
                        reason: format!("{error}; withdrawal_show_by_track_id: {}", Error::from(lookup)),
                    }),
                }
            }
        }
    }
}
