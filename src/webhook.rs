//! Miando webhooks: verify `X-Signature` (base64 of HMAC-SHA256 over the raw body, keyed with the
//! business slug) in constant time, then decode a typed [`Event`].
//!
//! It takes the headers and the raw body bytes, so it fits any web framework:
//!
//! ```
//! let slug = "my-shop";
//! let body = br#"{"created": 1666468058, "type": "agreement_finalized", "data": {"tracking_code": "87441125"}}"#;
//! let signature = vandar::webhook::sign(body, slug); // what Miando sends; use it in your own tests
//! let mut headers = http::HeaderMap::new();
//! headers.insert(vandar::webhook::SIGNATURE_HEADER, signature.parse().unwrap());
//!
//! let event = vandar::webhook::verify(&headers, body, slug)?;
//! assert_eq!(event.tracking_code(), Some("87441125"));
//! assert!(matches!(event.kind, vandar::webhook::EventKind::AgreementFinalized));
//! # Ok::<(), vandar::webhook::WebhookError>(())
//! ```
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

/// The header Miando signs its webhooks with.
pub const SIGNATURE_HEADER: &str = "X-Signature";

/// Why a webhook was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// No `X-Signature` header.
    #[error("the webhook carries no X-Signature header")]
    Unsigned,
    /// The signature does not match the body (tampered, or signed with another slug).
    #[error("the webhook's X-Signature does not match its body")]
    BadSignature,
    /// Signed correctly but not a Miando event.
    #[error("the webhook body is not a Miando event: {0}")]
    Malformed(String),
}

/// `X-Signature` for `body`: base64(HMAC-SHA256(body, key = business slug)).
pub fn sign(body: &[u8], business_slug: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(business_slug.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks `signature` against `body` in constant time.
pub fn verify_signature(body: &[u8], signature: &str, business_slug: &str) -> Result<(), WebhookError> {
    // PHP's json_encode escapes "/" as "\/"; accept the header either way.
    let signature = signature.trim().replace("\\/", "/");
    let expected = base64::engine::general_purpose::STANDARD.decode(signature).map_err(|_| WebhookError::BadSignature)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(business_slug.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    mac.verify_slice(&expected).map_err(|_| WebhookError::BadSignature)
}

/// Verifies the signature, then decodes the event.
pub fn verify(headers: &http::HeaderMap, body: &[u8], business_slug: &str) -> Result<Event, WebhookError> {
    let signature = headers.get(SIGNATURE_HEADER).ok_or(WebhookError::Unsigned)?;
    let signature = signature.to_str().map_err(|_| WebhookError::BadSignature)?;
    verify_signature(body, signature, business_slug)?;
    Event::from_json(body)
}

/// A Miando event.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When it happened (unix seconds).
    pub created: i64,
    /// What happened.
    pub kind: EventKind,
    /// The event's data (every field Miando sent, typed where documented).
    pub data: EventData,
}

impl Event {
    /// Decodes an event body (without checking its signature: use [`verify`]).
    pub fn from_json(body: &[u8]) -> Result<Self, WebhookError> {
        #[derive(Deserialize)]
        struct Raw {
            created: i64,
            #[serde(rename = "type")]
            kind: String,
            data: EventData,
        }
        let raw: Raw = serde_json::from_slice(body).map_err(|e| WebhookError::Malformed(crate::mask::mask_personal_data(&e.to_string())))?;
        Ok(Event { created: raw.created, kind: EventKind::from(raw.kind.as_str()), data: raw.data })
    }

    /// The agreement's tracking code (every agreement event has one).
    pub fn tracking_code(&self) -> Option<&str> {
        self.data.tracking_code.as_deref()
    }
}

/// The documented event types, and the ones Miando may add later.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EventKind {
    /// `agreement_created`
    AgreementCreated,
    /// `seller_agreed_agreement`
    SellerAgreedAgreement,
    /// `seller_rejected_agreement`
    SellerRejectedAgreement,
    /// `buyer_agreed_agreement`
    BuyerAgreedAgreement,
    /// `buyer_rejected_agreement`
    BuyerRejectedAgreement,
    /// `agreement_change_state_from_investigation`
    AgreementChangeStateFromInvestigation,
    /// `agreement_finalized`
    AgreementFinalized,
    /// `agreement_cancelled`
    AgreementCancelled,
    /// `buyer_paid_agreement`
    BuyerPaidAgreement,
    /// `payment_refunded_to_buyer`
    PaymentRefundedToBuyer,
    /// `seller_checked_out`
    SellerCheckedOut,
    /// `buyer_submitted_ticket`
    BuyerSubmittedTicket,
    /// `seller_submitted_ticket`
    SellerSubmittedTicket,
    /// A type the documents do not list; the raw slug is kept.
    Unknown(String),
}

const SLUGS: [(&str, EventKind); 13] = [
    ("agreement_created", EventKind::AgreementCreated),
    ("seller_agreed_agreement", EventKind::SellerAgreedAgreement),
    ("seller_rejected_agreement", EventKind::SellerRejectedAgreement),
    ("buyer_agreed_agreement", EventKind::BuyerAgreedAgreement),
    ("buyer_rejected_agreement", EventKind::BuyerRejectedAgreement),
    ("agreement_change_state_from_investigation", EventKind::AgreementChangeStateFromInvestigation),
    ("agreement_finalized", EventKind::AgreementFinalized),
    ("agreement_cancelled", EventKind::AgreementCancelled),
    ("buyer_paid_agreement", EventKind::BuyerPaidAgreement),
    ("payment_refunded_to_buyer", EventKind::PaymentRefundedToBuyer),
    ("seller_checked_out", EventKind::SellerCheckedOut),
    ("buyer_submitted_ticket", EventKind::BuyerSubmittedTicket),
    ("seller_submitted_ticket", EventKind::SellerSubmittedTicket),
];

impl EventKind {
    /// The slug as Miando writes it.
    pub fn as_str(&self) -> &str {
        match self {
            EventKind::Unknown(raw) => raw,
            known => SLUGS.iter().find(|(_, k)| k == known).map(|(slug, _)| *slug).expect("every known kind has a slug"),
        }
    }
}

impl From<&str> for EventKind {
    fn from(slug: &str) -> Self {
        SLUGS.iter().find(|(s, _)| *s == slug).map(|(_, k)| k.clone()).unwrap_or_else(|| EventKind::Unknown(slug.to_string()))
    }
}

/// An event's data: `tracking_code` always, the rest as documented per event type.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[non_exhaustive]
pub struct EventData {
    /// The agreement's tracking code (Miando sends it as a string or a number).
    #[serde(default, deserialize_with = "string_or_number")]
    pub tracking_code: Option<String>,
    /// Your trace_id of the agreement.
    pub trace_id: Option<String>,
    /// `agreement_created`: buyer or seller.
    pub creator_role: Option<String>,
    /// `agreement_created`: "YYYY-MM-DD HH:MM:SS".
    pub created_at: Option<String>,
    /// `agreement_created`.
    pub creator_mobile: Option<String>,
    /// `*_agreed_agreement`.
    pub applicant_mobile: Option<String>,
    /// `agreement_change_state_from_investigation`: the new state.
    pub state: Option<String>,
    /// `buyer_paid_agreement`.
    pub transaction_ref_id: Option<String>,
    /// `buyer_paid_agreement`.
    pub payer_mobile: Option<String>,
    /// `*_submitted_ticket`.
    pub reporter_mobile: Option<String>,
    /// Payment events: the amount in Rials, as Miando sends it (a string).
    #[serde(default, deserialize_with = "string_or_number")]
    pub amount: Option<String>,
    /// Fields the documents do not list.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(deserializer)? {
        Some(serde_json::Value::String(s)) => Some(s),
        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
        None | Some(serde_json::Value::Null) => None,
        Some(other) => return Err(serde::de::Error::custom(format!("expected a string or number, found {other}"))),
    })
}
