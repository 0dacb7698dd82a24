//! `notify_url` callbacks: the final status of a settlement (the `notify_url` given to
//! settlement_store) and of a direct-debit withdrawal (the one given to withdrawal_store).
//!
//! **These callbacks are not signed.** Anyone who learns the URL can post one, with any status and
//! amount. Read one as a hint to look the status up: never mark money as moved from a notification
//! alone; confirm with `settlement_show` (by `id`) or `withdrawal_show` (by `withdrawal_id`) and act on
//! what Vandar answers there.
//!
//! ```
//! use vandar::enums::SettlementStatus;
//! use vandar::money::Rials;
//! use vandar::inbound::notify::SettlementNotification;
//!
//! // What Vandar posts to a settlement's notify_url (form fields).
//! let body = b"id=8edaa0a0-a33f-11ea-838d-676dce32760e&transaction_id=159024236678&amount=1000000&status=DONE&ref_code=123456789012";
//! let notified = SettlementNotification::from_form(body)?;
//! assert_eq!((notified.status, notified.amount), (SettlementStatus::Done, Some(Rials(1_000_000))));
//! # Ok::<(), vandar::inbound::webhook::WebhookError>(())
//! ```
//!
//! ```no_run
//! # async fn confirm(vandar: vandar::Client, notified: vandar::inbound::notify::SettlementNotification) -> Result<(), vandar::Error> {
//! // Then confirm before you record the payout as done:
//! let shown = vandar.api().settlement_show().settlement_id(notified.id).send().await?;
//! if shown.data.settlement.status == Some(vandar::enums::SettlementStatus::Done) {
//!     // the settlement is done, as Vandar itself says
//! }
//! # Ok(()) }
//! ```
//!
//! Decoding errors are [`WebhookError::Malformed`] (answer 400; the other variants are for signed
//! Miando webhooks and never occur here).
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::enums::{SettlementStatus, WithdrawalStatus};
use crate::money::Rials;
use crate::inbound::webhook::WebhookError;

/// What Vandar posts to a settlement's `notify_url` (form fields; official settlement page). Only
/// `id` and `status` are required; fields Vandar adds later are ignored. UNSIGNED: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SettlementNotification {
    /// The settlement's id (what settlement_show takes).
    pub id: uuid::Uuid,
    /// The final status (e.g. `DONE`).
    pub status: SettlementStatus,
    /// Vandar's id of the destination IBAN.
    pub iban_id: Option<String>,
    /// The settlement's transaction id (what settlement_cancel takes).
    pub transaction_id: Option<String>,
    /// The amount.
    pub amount: Option<Rials>,
    /// The deposit id given to settlement_store.
    pub payment_number: Option<String>,
    /// The settlement date (Gregorian); `None` also when the text is no date (see
    /// [`crate::dates::lenient`]).
    #[serde(default, deserialize_with = "crate::dates::lenient::deserialize")]
    pub settlement_date: Option<chrono::NaiveDate>,
    /// The settlement date (Jalali); `None` also when the text is no date.
    #[serde(default, deserialize_with = "crate::dates::lenient::deserialize")]
    pub settlement_date_jalali: Option<crate::dates::JalaliDate>,
    /// The correcting transaction of a canceled settlement.
    pub revised_transaction_id: Option<String>,
    /// The bank reference (RRN) of a successful settlement.
    pub ref_code: Option<String>,
}

impl SettlementNotification {
    /// Decodes an `application/x-www-form-urlencoded` body. An empty field is read as absent (forms
    /// send nulls as empty strings).
    pub fn from_form(body: &[u8]) -> Result<Self, WebhookError> {
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(WebhookError::malformed)?;
        Self::from_fields(fields)
    }

    /// Decodes form fields your web framework has already parsed: use it when the body is
    /// `multipart/form-data` (the spec's media type, from the page's "form-data"; axum's `Multipart`,
    /// actix's `MultipartForm` and the like give the name/value pairs). An empty field is read as absent.
    pub fn from_fields<K: AsRef<str>, V: AsRef<str>>(fields: impl IntoIterator<Item = (K, V)>) -> Result<Self, WebhookError> {
        from_fields(fields)
    }
}

/// What Vandar posts (JSON) to a direct-debit withdrawal's `notify_url`. Only `withdrawal_id` and
/// `status` are required; fields Vandar adds later are ignored. UNSIGNED: see the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WithdrawalNotification {
    /// The withdrawal's id (what withdrawal_show takes).
    pub withdrawal_id: uuid::Uuid,
    /// The final status (e.g. `DONE`).
    pub status: WithdrawalStatus,
    /// The authorization (mandate) it was drawn under.
    pub authorization_id: Option<uuid::Uuid>,
    /// The gateway's transaction id (Vandar sends a number or a string).
    #[serde(default, deserialize_with = "crate::inbound::webhook::optional_code")]
    pub gateway_transaction_id: Option<String>,
    /// The amount (Vandar sends a number or a string).
    pub amount: Option<Rials>,
    /// The deposit id given to withdrawal_store.
    pub payment_number: Option<String>,
}

impl WithdrawalNotification {
    /// Decodes the JSON body.
    pub fn from_json(body: &[u8]) -> Result<Self, WebhookError> {
        serde_json::from_slice(body).map_err(WebhookError::malformed)
    }
}

/// Typed form fields, empty ones dropped. serde_urlencoded reads `Option` fields and text amounts;
/// re-encoding the pairs lets the already-parsed fields of a multipart body go the same way.
fn from_fields<T: DeserializeOwned, K: AsRef<str>, V: AsRef<str>>(fields: impl IntoIterator<Item = (K, V)>) -> Result<T, WebhookError> {
    let present: Vec<(K, V)> = fields.into_iter().filter(|(_, value)| !value.as_ref().trim().is_empty()).collect();
    let pairs: Vec<(&str, &str)> = present.iter().map(|(name, value)| (name.as_ref(), value.as_ref())).collect();
    let encoded = serde_urlencoded::to_string(pairs).map_err(WebhookError::malformed)?;
    serde_urlencoded::from_str(&encoded).map_err(WebhookError::malformed)
}
