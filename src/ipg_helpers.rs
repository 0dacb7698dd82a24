//! Payment gateway helpers around the generated [`crate::ipg`] client.
use crate::ipg::types::{IpgTransaction, IpgVerifyResponse};
use crate::{Client, Error};

/// What [`Client::verify_payment`] established about a payment.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum VerifyOutcome {
    /// `verify` answered: the payment is settled to your wallet. Ship the order.
    Verified(IpgVerifyResponse),
    /// `verify`'s answer was lost, or Vandar said the payment was already verified, and the
    /// transaction lookup shows it paid. Ship the order (once: check your own order state).
    PaidPerLookup(IpgTransaction),
    /// The transaction lookup shows the payment did not succeed. Do not ship.
    NotPaid(IpgTransaction),
}

impl VerifyOutcome {
    /// Whether the money is yours.
    pub fn is_paid(&self) -> bool {
        !matches!(self, VerifyOutcome::NotPaid(_))
    }
}

impl Client {
    /// Verifies a payment after the payer returns to your callback, safely.
    ///
    /// Vandar's `verify` answers only once per transaction. If it fails in transit, or answers with
    /// an error (such as "already verified"), this asks `POST /api/v4/transaction` for the true state
    /// instead of calling `verify` again, so a checkout never ships twice and never loses a paid order.
    pub async fn verify_payment(&self, token: &str) -> Result<VerifyOutcome, Error> {
        let verified = self.ipg().ipg_verify().body_map(|b| b.token(token)).send().await.map_err(Error::from);
        match verified {
            Ok(answer) if answer.status == 1 => return Ok(VerifyOutcome::Verified(answer.into_inner())),
            Ok(_) => {}
            // Vandar's refusal ("already verified" and the like) or a lost answer: look it up.
            Err(Error::Api(_) | Error::Transport { .. } | Error::Undecodable { .. }) => {}
            Err(other) => return Err(other),
        }
        tracing::info!(operation = "ipg_verify", "verify did not answer cleanly; reading the transaction instead");
        let transaction = self.ipg().ipg_transaction().body_map(|b| b.token(token)).send().await?.into_inner();
        Ok(if transaction.status == 1 {
            VerifyOutcome::PaidPerLookup(transaction)
        } else {
            VerifyOutcome::NotPaid(transaction)
        })
    }
}
