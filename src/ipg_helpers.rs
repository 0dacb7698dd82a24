//! Payment gateway helpers around the generated [`crate::ipg`] client: starting a payment with a
//! typed amount, reading the callback, checking the payer's card hash, and verifying safely.
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::enums::IpgPaymentStatus;
use crate::ipg::types::{builder, IpgTransaction, IpgVerifyResponse};
use crate::money::Rials;
use crate::{Client, Error};

/// A registered payment: its token and the page to send the payer's browser to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedPayment {
    /// Keep it with the order: the callback and verify refer to it.
    pub token: String,
    /// `https://ipg.vandar.io/v4/{token}`
    pub payment_page: String,
}

/// The payer's return to your `callback_url`: `?token=..&payment_status=OK|FAILED`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    /// The payment token.
    pub token: String,
    /// `Ok`, `Failed`, or a value Vandar may add later.
    pub payment_status: IpgPaymentStatus,
}

impl Callback {
    /// Reads the callback from a query string (`token=..&payment_status=..`, with or without `?`)
    /// or from the whole callback URL.
    ///
    /// ```
    /// let back = vandar::Callback::parse("https://shop.example/cb?token=6ZTL4EPC&payment_status=OK")?;
    /// assert!(back.says_paid());
    /// assert_eq!(back.token, "6ZTL4EPC");
    /// # Ok::<(), vandar::Error>(())
    /// ```
    pub fn parse(query_or_url: &str) -> Result<Self, Error> {
        let query = match url::Url::parse(query_or_url) {
            Ok(url) => url.query().unwrap_or_default().to_string(),
            Err(_) => query_or_url.trim_start_matches('?').to_string(),
        };
        let mut token = None;
        let mut status = None;
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "token" if !value.is_empty() => token = Some(value.into_owned()),
                "payment_status" if !value.is_empty() => status = Some(IpgPaymentStatus::from(value.as_ref())),
                _ => {}
            }
        }
        Ok(Callback {
            token: token.ok_or_else(|| Error::invalid("token", "the callback carries no payment token"))?,
            payment_status: status.ok_or_else(|| Error::invalid("payment_status", "the callback carries no payment_status"))?,
        })
    }

    /// Whether the payer says they paid (`OK`). Verify before shipping anyway.
    pub fn says_paid(&self) -> bool {
        self.payment_status == IpgPaymentStatus::Ok
    }
}

/// Whether `cid` (the SHA-256 of the payer's card that `ipg_transaction` returns) is the hash of
/// `card_number` (16 digits; spaces, dashes and Persian digits are fine). Compared in constant time.
///
/// ```
/// // ipg_transaction's CID for a payment made with card 6037 9912 3456 7893:
/// let cid = "1ACA1776678D9C50CC3F119318AACD16A7B4D757C73BB280ACDE5FEB8DAF3E7B";
/// assert!(vandar::cid_matches("6037 9912 3456 7893", cid));   // the card the customer registered
/// assert!(!vandar::cid_matches("6037991234567885", cid));     // another card
/// ```
pub fn cid_matches(card_number: &str, cid: &str) -> bool {
    let Ok(card) = crate::validate::card_number(card_number).or_else(|_| {
        // A card registered before Luhn checks still hashes the same: use its digits.
        let digits: String = crate::validate::normalize_digits(card_number).chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 16 { Ok(digits) } else { Err(()) }
    }) else {
        return false;
    };
    let expected: String = Sha256::digest(card.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let given = cid.trim().to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

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
    /// Registers a payment of `amount` Rials (at least 1000) returning to `callback_url`.
    ///
    /// ```no_run
    /// # async fn checkout(vandar: vandar::Client) -> Result<(), vandar::Error> {
    /// use vandar::money::{Rials, Tomans};
    /// let payment = vandar.start_payment(Rials::from(Tomans(2_500)), "https://shop.example/callback").await?;
    /// // store payment.token with the order, then redirect the payer's browser:
    /// println!("Location: {}", payment.payment_page);
    /// # Ok(()) }
    /// ```
    pub async fn start_payment(
        &self,
        amount: Rials,
        callback_url: &str,
    ) -> Result<StartedPayment, Error> {
        self.start_payment_with(amount, callback_url, |b| b).await
    }

    /// [`Client::start_payment`] with the optional fields set by `extra`.
    pub async fn start_payment_with(
        &self,
        amount: Rials,
        callback_url: &str,
        extra: impl FnOnce(builder::IpgSendRequest) -> builder::IpgSendRequest,
    ) -> Result<StartedPayment, Error> {
        let sent = self.ipg().ipg_send().body_map(|b| extra(b.amount(amount.0).callback_url(callback_url))).send().await?.into_inner();
        let payment_page = crate::redirects::ipg_payment_page(self, &sent.token);
        Ok(StartedPayment { token: sent.token, payment_page })
    }

    /// Verifies a payment after the payer returns to your callback, safely.
    ///
    /// Vandar's `verify` answers only once per transaction. If it fails in transit, or answers with
    /// an error (such as "already verified"), this asks `POST /api/v4/transaction` for the true state
    /// instead of calling `verify` again, so a checkout never ships twice and never loses a paid order.
    ///
    /// ```no_run
    /// # async fn callback(vandar: vandar::Client, url: &str) -> Result<(), vandar::Error> {
    /// let back = vandar::Callback::parse(url)?;
    /// if back.says_paid() && vandar.verify_payment(&back.token).await?.is_paid() {
    ///     // ship the order (once: check your own order state first)
    /// }
    /// # Ok(()) }
    /// ```
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
