//! Miando webhooks: verify `X-Signature`, decode a typed [`Event`], and recognise redeliveries.
//!
//! Miando POSTs `{"created": <unix seconds>, "type": "<event>", "data": {..}}` to the URL registered
//! with `webhook_create`, signed in `X-Signature`: base64(HMAC-SHA256(raw body, key = business slug)).
//! [`verify`] checks the signature over the raw body bytes in constant time, then decodes the event,
//! so it fits any web framework; with the `axum` feature, the `MiandoWebhook` extractor does both.
//!
//! **What a valid signature proves.** Miando keys the HMAC with your business slug, which is no
//! secret: it is in every API URL and anyone who deals with your business may know it. A valid
//! signature shows the sender knows the slug, and that the body was not altered on the way; it does
//! not prove the event happened. Treat a webhook as a prompt to look: confirm what it says with the
//! documented lookup (`agreement_show`) before anything is shipped or paid out.
//!
//! ```
//! use vandar::money::Rials;
//! use vandar::inbound::webhook::{self, EventData};
//!
//! let slug = "my-shop";
//! let body = br#"{"created": 1666468058, "type": "buyer_paid_agreement", "data": {"tracking_code": "87441125",
//!     "trace_id": "order-2001", "transaction_ref_id": "548784521254", "payer_mobile": "09123456789", "amount": "4000000"}}"#;
//! let signature = webhook::sign(body, slug); // what Miando sends; use it in your own tests
//! let mut headers = http::HeaderMap::new();
//! headers.insert(webhook::SIGNATURE_HEADER, signature.parse().unwrap());
//!
//! let event = webhook::verify(&headers, body, slug)?;
//! match &event.data {
//!     EventData::BuyerPaidAgreement(paid) => assert_eq!((paid.tracking_code.as_str(), paid.amount), ("87441125", Rials(4_000_000))),
//!     other => println!("{} for agreement {:?}", other.event_type(), other.tracking_code()),
//! }
//! assert_eq!(event.dedup_key(), "buyer_paid_agreement:87441125:1666468058");
//! # Ok::<(), webhook::WebhookError>(())
//! ```
//!
//! # Typed events
//!
//! Each documented event type is one [`EventData`] variant whose struct has exactly the fields the
//! Miando document lists for it. Amounts are [`Rials`] (Miando sends `"4000000"`), tracking codes
//! `String` (sent as strings and as numbers), `agreement_created`'s `created_at` a Tehran time.
//! Required are the fields a decision rests on: `tracking_code` (the spec requires it in every event)
//! and the amount of the three money events. The others are `Option`, so a signed event is not refused
//! because Miando left out a mobile. A field that is present but wrong (an amount of `"12.5"`) makes the
//! event [`WebhookError::Malformed`]. Fields the document does not list are ignored (decode the body
//! yourself after [`verify_signature`] if you need one). A type the document does not list decodes to
//! [`EventData::Unknown`] with its data kept, so a new event type never fails.
//!
//! # Duplicates
//!
//! Miando may deliver one event more than once (for example when your 200 was lost on the way back).
//! Nobody documents whether a redelivery is byte-identical, so [`Event::dedup_key`] is built from what
//! names the event: its type, its agreement's tracking code and its `created` second. This assumes
//! `created` is when the event happened and a redelivery repeats it (it is what the document calls
//! the event's creation time); if Miando restamped it per attempt, the key would not catch a retry,
//! which is why step 3 below matters. Handle a webhook in three steps:
//!
//! 1. **Acknowledge fast.** Verify, answer 200; do the work afterwards (a queue, a spawned task), so
//!    Miando does not time out and deliver again.
//! 2. **Confirm, then record the key with the effect**: read the agreement with `agreement_show`, and
//!    record the key under a unique constraint (`INSERT .. ON CONFLICT DO NOTHING`) in the same
//!    transaction as what you do about it; if the key is already there, do nothing. Recording keys
//!    of unconfirmed events would let someone who knows the slug and a tracking code send a made-up
//!    event first and have the real one dropped as its duplicate.
//! 3. **Act idempotently anyway**: make the effect safe to repeat (an order is marked paid once).
//!
//! `examples/webhook_dedup.rs` runs this with the axum extractor.
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::enums::{AgreementState, PartyRole};
use crate::money::Rials;

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
    /// Signed correctly but not a Miando event (or, for a notify_url callback, not the documented fields).
    /// The detail has personal data masked.
    #[error("the webhook body cannot be decoded: {0}")]
    Malformed(String),
}

impl WebhookError {
    /// The status to answer with: 401 when the signature is missing or does not match the body, 400
    /// when it is signed but cannot be decoded.
    pub fn status(&self) -> http::StatusCode {
        match self {
            WebhookError::Unsigned | WebhookError::BadSignature => http::StatusCode::UNAUTHORIZED,
            WebhookError::Malformed(_) => http::StatusCode::BAD_REQUEST,
        }
    }

    /// A decoding error, with personal data masked (serde quotes the values it refuses).
    pub(crate) fn malformed(error: impl std::fmt::Display) -> Self {
        WebhookError::Malformed(crate::mask::mask_personal_data(&error.to_string()))
    }
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
    let verdict = (|| {
        let signature = headers.get(SIGNATURE_HEADER).ok_or(WebhookError::Unsigned)?;
        let signature = signature.to_str().map_err(|_| WebhookError::BadSignature)?;
        verify_signature(body, signature, business_slug)?;
        Event::from_json(body)
    })();
    crate::telemetry::webhook(match &verdict {
        Ok(_) => "accepted",
        Err(WebhookError::Unsigned) => "unsigned",
        Err(WebhookError::BadSignature) => "bad_signature",
        Err(WebhookError::Malformed(_)) => "malformed",
    });
    verdict
}

/// A Miando event: when it happened and what happened.
///
/// `Serialize` writes Miando's envelope (`{"created": <unix seconds>, "type": .., "data": {..}}`) with
/// the data as this crate types it (amounts as numbers of Rials, absent fields as `null`), not byte for
/// byte what Miando sent; `Deserialize` (and [`Event::from_json`]) reads it back to an equal `Event`, so "acknowledge fast, queue the work" is `serde_json::to_vec(&event)`
/// into your queue and `serde_json::from_slice::<Event>` in the worker.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Event {
    /// When it happened (Miando sends unix seconds).
    pub created: DateTime<Utc>,
    /// What happened, with its data.
    pub data: EventData,
}

impl serde::Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let data = self.data.to_json().map_err(serde::ser::Error::custom)?;
        let mut event = serializer.serialize_struct("Event", 3)?;
        event.serialize_field("created", &self.created.timestamp())?;
        event.serialize_field("type", self.event_type())?;
        event.serialize_field("data", &data)?;
        event.end()
    }
}

impl<'de> Deserialize<'de> for Event {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        let body = serde_json::to_vec(&value).map_err(serde::de::Error::custom)?;
        Event::from_json(&body).map_err(serde::de::Error::custom)
    }
}

impl Event {
    /// Decodes an event body (without checking its signature: use [`verify`]).
    pub fn from_json(body: &[u8]) -> Result<Self, WebhookError> {
        #[derive(Deserialize)]
        struct Envelope {
            created: i64,
            #[serde(rename = "type")]
            kind: String,
            data: Value,
        }
        let envelope: Envelope = serde_json::from_slice(body).map_err(WebhookError::malformed)?;
        let created = DateTime::from_timestamp(envelope.created, 0)
            .ok_or_else(|| WebhookError::Malformed(format!("created {} is not a time", envelope.created)))?;
        let data = EventData::decode(envelope.kind, envelope.data).map_err(WebhookError::malformed)?;
        Ok(Event { created, data })
    }

    /// The event type as Miando writes it (`"buyer_paid_agreement"`).
    pub fn event_type(&self) -> &str {
        self.data.event_type()
    }

    /// The agreement's tracking code (every documented event has one).
    pub fn tracking_code(&self) -> Option<&str> {
        self.data.tracking_code()
    }

    /// A key that is the same for every delivery of this event and differs between events:
    /// `"{type}:{tracking_code}:{created unix seconds}"`, e.g. `"buyer_paid_agreement:87441125:1666468058"`.
    /// See the module docs for why these parts and how to use it. (An undocumented event type without a
    /// tracking code has a SHA-256 of its data in that place instead.)
    pub fn dedup_key(&self) -> String {
        let agreement = match &self.data {
            EventData::Unknown { tracking_code: None, data, .. } => {
                format!("sha256-{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(data.to_string())))
            }
            known => known.tracking_code().unwrap_or_default().to_string(),
        };
        format!("{}:{}:{}", self.event_type(), agreement, self.created.timestamp())
    }
}

/// Declares [`EventData`] from (variant, data struct, event type) triples, so that each type's slug is
/// written once for decoding and for [`EventData::event_type`].
macro_rules! miando_events {
    ($($(#[doc = $doc:literal])* $variant:ident($data:ident) => $slug:literal,)*) => {
        /// What happened, with the data Miando documents for that event type.
        #[derive(Debug, Clone, PartialEq)]
        #[non_exhaustive]
        pub enum EventData {
            $($(#[doc = $doc])* #[doc = concat!("\n\n`", $slug, "`")] $variant($data),)*
            /// An event type the document does not list (yet).
            Unknown {
                /// The event type as Miando wrote it.
                kind: String,
                /// `data.tracking_code` when it is there (as a string or a number).
                tracking_code: Option<String>,
                /// The whole `data`, as sent.
                data: Value,
            },
        }

        /// Every event type the Miando document lists, as Miando writes it.
        pub const EVENT_TYPES: &[&str] = &[$($slug),*];

        impl EventData {
            /// The event type as Miando writes it (`"buyer_paid_agreement"`).
            pub fn event_type(&self) -> &str {
                match self {
                    $(EventData::$variant(_) => $slug,)*
                    EventData::Unknown { kind, .. } => kind,
                }
            }

            /// The agreement's tracking code (every documented event has one).
            pub fn tracking_code(&self) -> Option<&str> {
                match self {
                    $(EventData::$variant(data) => Some(&data.tracking_code),)*
                    EventData::Unknown { tracking_code, .. } => tracking_code.as_deref(),
                }
            }

            /// The event's `data` as Miando writes it.
            fn to_json(&self) -> Result<Value, serde_json::Error> {
                match self {
                    $(EventData::$variant(data) => serde_json::to_value(data),)*
                    EventData::Unknown { data, .. } => Ok(data.clone()),
                }
            }

            fn decode(kind: String, data: Value) -> Result<Self, serde_json::Error> {
                Ok(match kind.as_str() {
                    $($slug => EventData::$variant(serde_json::from_value(data)?),)*
                    _ => EventData::Unknown { tracking_code: data.get("tracking_code").cloned().and_then(code_text), kind, data },
                })
            }
        }
    };
}

miando_events! {
    /// An agreement was created.
    AgreementCreated(AgreementCreated) => "agreement_created",
    /// The seller accepted the agreement.
    SellerAgreedAgreement(PartyAgreed) => "seller_agreed_agreement",
    /// The seller rejected the agreement.
    SellerRejectedAgreement(AgreementRef) => "seller_rejected_agreement",
    /// The buyer accepted the agreement.
    BuyerAgreedAgreement(PartyAgreed) => "buyer_agreed_agreement",
    /// The buyer rejected the agreement.
    BuyerRejectedAgreement(AgreementRef) => "buyer_rejected_agreement",
    /// An agreement under investigation (a ticket was open) changed state.
    AgreementChangeStateFromInvestigation(InvestigationResolved) => "agreement_change_state_from_investigation",
    /// The agreement was finalized.
    AgreementFinalized(AgreementRef) => "agreement_finalized",
    /// The agreement was cancelled.
    AgreementCancelled(AgreementRef) => "agreement_cancelled",
    /// The buyer paid the amount into Miando's escrow account.
    BuyerPaidAgreement(BuyerPaid) => "buyer_paid_agreement",
    /// Miando returned the buyer's payment to the buyer.
    PaymentRefundedToBuyer(Payout) => "payment_refunded_to_buyer",
    /// The agreement's amount was paid out to the seller.
    SellerCheckedOut(Payout) => "seller_checked_out",
    /// The buyer reported a problem.
    BuyerSubmittedTicket(TicketSubmitted) => "buyer_submitted_ticket",
    /// The seller reported a problem.
    SellerSubmittedTicket(TicketSubmitted) => "seller_submitted_ticket",
}

/// `agreement_created`'s data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct AgreementCreated {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
    /// Who created it (buyer or seller).
    pub creator_role: Option<PartyRole>,
    /// When it was created. Miando sends `"2022-11-05 18:08:43"` without a zone: Tehran time
    /// (see [`crate::dates::TehranDateTime`]).
    pub created_at: Option<crate::dates::TehranDateTime>,
    /// The creator's mobile.
    pub creator_mobile: Option<String>,
}

/// The data of `seller_agreed_agreement` and `buyer_agreed_agreement`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct PartyAgreed {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
    /// The mobile of the party that accepted.
    pub applicant_mobile: Option<String>,
}

/// The data of the events that carry only the agreement's tracking code: `seller_rejected_agreement`,
/// `buyer_rejected_agreement`, `agreement_finalized`, `agreement_cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct AgreementRef {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
}

/// `agreement_change_state_from_investigation`'s data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct InvestigationResolved {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
    /// Your id of the agreement (the `trace_id` given to agreement_create).
    pub trace_id: Option<String>,
    /// The state the agreement moved to (the document's example: `finalize`).
    pub state: Option<AgreementState>,
}

/// `buyer_paid_agreement`'s data.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct BuyerPaid {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
    /// Your id of the agreement (the `trace_id` given to agreement_create).
    pub trace_id: Option<String>,
    /// The payment's reference.
    #[serde(default, deserialize_with = "optional_code")]
    pub transaction_ref_id: Option<String>,
    /// The payer's mobile.
    pub payer_mobile: Option<String>,
    /// The amount paid into escrow.
    pub amount: Rials,
}

/// The data of `payment_refunded_to_buyer` (escrow back to the buyer) and `seller_checked_out`
/// (escrow out to the seller).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct Payout {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
    /// The amount paid out.
    pub amount: Rials,
}

/// The data of `buyer_submitted_ticket` and `seller_submitted_ticket`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[non_exhaustive]
pub struct TicketSubmitted {
    /// The agreement's tracking code.
    #[serde(deserialize_with = "code")]
    pub tracking_code: String,
    /// Your id of the agreement (the `trace_id` given to agreement_create).
    pub trace_id: Option<String>,
    /// The reporter's mobile.
    pub reporter_mobile: Option<String>,
}

/// A code Miando sends as a string or as a number (`"87441125"`, `796638828`), as text.
pub(crate) fn code_text(value: Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

pub(crate) fn code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    code_text(Value::deserialize(deserializer)?).ok_or_else(|| serde::de::Error::custom("expected a code (a string or a number)"))
}

pub(crate) fn optional_code<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(value) => code_text(value).map(Some).ok_or_else(|| serde::de::Error::custom("expected a code (a string or a number)")),
    }
}

#[cfg(feature = "axum")]
pub use extractor::{BusinessSlug, MiandoWebhook, WebhookRejection};

/// The axum extractor (feature `axum`).
#[cfg(feature = "axum")]
mod extractor {
    use axum::body::Bytes;
    use axum::extract::rejection::BytesRejection;
    use axum::extract::{FromRef, FromRequest, Request};
    use axum::response::{IntoResponse, Response};

    use super::{verify, Event, WebhookError};

    /// The business slug Miando signs webhooks with (your business's English name in Vandar), for
    /// [`MiandoWebhook`] to take from the router state. `Debug` prints `***`.
    #[derive(Clone, Debug)]
    pub struct BusinessSlug(crate::secret::Secret);

    impl BusinessSlug {
        /// Wraps the slug.
        pub fn new(slug: impl Into<String>) -> Self {
            Self(crate::secret::Secret::new(slug))
        }
    }

    /// An axum extractor: verifies `X-Signature` over the raw body with the [`BusinessSlug`] of the
    /// router state, then decodes the [`Event`]. The body is read with axum's `Bytes` extractor, so
    /// axum's default body limit (2 MB) applies.
    ///
    /// It refuses with 401 (no `X-Signature`, or one that does not match) or 400 (signed but not an
    /// event), with a short plain-text body that names neither the slug nor the event's data; the
    /// reason is logged with `tracing` at warn level. Take `Result<MiandoWebhook, WebhookRejection>`
    /// to handle refusals yourself.
    ///
    /// ```no_run
    /// use axum::{http::StatusCode, routing::post, Router};
    /// use vandar::inbound::webhook::{BusinessSlug, EventData, MiandoWebhook};
    ///
    /// async fn miando(MiandoWebhook(event): MiandoWebhook) -> StatusCode {
    ///     if let EventData::BuyerPaidAgreement(paid) = &event.data {
    ///         println!("{} paid into escrow for agreement {}", paid.amount, paid.tracking_code);
    ///     }
    ///     StatusCode::OK
    /// }
    ///
    /// # async fn run() -> std::io::Result<()> {
    /// let app = Router::new().route("/miando/webhook", post(miando)).with_state(BusinessSlug::new("my-shop"));
    /// axum::serve(tokio::net::TcpListener::bind("0.0.0.0:8080").await?, app).await
    /// # }
    /// ```
    ///
    /// A larger state hands the slug over through `FromRef`:
    ///
    /// ```
    /// # use vandar::inbound::webhook::BusinessSlug;
    /// #[derive(Clone)]
    /// struct App { slug: BusinessSlug, db: std::sync::Arc<()> }
    ///
    /// impl axum::extract::FromRef<App> for BusinessSlug {
    ///     fn from_ref(app: &App) -> Self {
    ///         app.slug.clone()
    ///     }
    /// }
    /// ```
    #[derive(Debug, Clone)]
    pub struct MiandoWebhook(pub Event);

    impl<S> FromRequest<S> for MiandoWebhook
    where
        S: Send + Sync,
        BusinessSlug: FromRef<S>,
    {
        type Rejection = WebhookRejection;

        async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
            let headers = request.headers().clone();
            let body = Bytes::from_request(request, state).await.map_err(WebhookRejection::Body)?;
            let slug = BusinessSlug::from_ref(state);
            verify(&headers, &body, slug.0.expose()).map(MiandoWebhook).map_err(|refused| {
                tracing::warn!(error = %refused, "Miando webhook refused");
                WebhookRejection::Refused(refused)
            })
        }
    }

    /// Why [`MiandoWebhook`] refused a request; as a response, 401, 400 or axum's answer for a body it
    /// could not read (413 over the body limit).
    #[derive(Debug, thiserror::Error)]
    #[non_exhaustive]
    pub enum WebhookRejection {
        /// Unsigned, badly signed or malformed.
        #[error(transparent)]
        Refused(WebhookError),
        /// The body could not be read.
        #[error(transparent)]
        Body(BytesRejection),
    }

    impl IntoResponse for WebhookRejection {
        fn into_response(self) -> Response {
            let refused = match self {
                WebhookRejection::Refused(refused) => refused,
                WebhookRejection::Body(rejection) => return rejection.into_response(),
            };
            let text = match &refused {
                WebhookError::Unsigned => "missing X-Signature",
                WebhookError::BadSignature => "X-Signature does not match the body",
                WebhookError::Malformed(_) => "not a Miando event",
            };
            (refused.status(), text).into_response()
        }
    }
}
