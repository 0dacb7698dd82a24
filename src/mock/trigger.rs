//! `vandar-mock trigger <kind> --forward-to <url>`: one delivery of any documented kind, with a
//! realistic body, posted to a receiver of yours, as Vandar would post it: a Miando webhook (signed in
//! `X-Signature` with the business slug), a settlement's or a direct debit's `notify_url` post, or the
//! payer's return to an IPG `callback_url`. Fields are overridden with `--set field=value`.
use std::time::Duration;

use serde_json::{json, Map, Value};

/// The Vandar deliveries besides Miando's webhooks.
const CALLBACKS: [&str; 3] = ["settlement_notify", "withdrawal_notify", "ipg_callback"];

/// Every kind [`Trigger`] can send: each Miando event type, then `settlement_notify`,
/// `withdrawal_notify` and `ipg_callback`.
pub fn kinds() -> Vec<&'static str> {
    crate::inbound::webhook::EVENT_TYPES.iter().copied().chain(CALLBACKS).collect()
}

/// One delivery to send (see the module docs).
#[derive(Debug, Clone)]
pub struct Trigger {
    kind: &'static str,
    business: String,
    fields: Map<String, Value>,
    created: i64,
}

/// A delivery as it goes on the wire.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `POST`, or `GET` for the payer's return to a callback.
    pub method: &'static str,
    /// The receiver's URL, with the callback's query for `ipg_callback`.
    pub url: String,
    /// Headers besides the defaults (`Content-Type`, `X-Signature`).
    pub headers: Vec<(&'static str, String)>,
    /// The body (empty for a GET).
    pub body: Vec<u8>,
}

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq)]
pub struct Answered {
    /// The delivery sent.
    pub delivery: Delivery,
    /// The receiver's status.
    pub status: u16,
    /// The first 2 KiB of its body.
    pub body: String,
}

impl Trigger {
    /// A delivery of `kind` ([`kinds`]), with a realistic body for the mock's business (`mock-shop`).
    /// An unknown kind is refused, naming the closest one.
    pub fn new(kind: &str) -> Result<Self, String> {
        let known = kinds();
        let Some(kind) = known.iter().copied().find(|k| *k == kind) else {
            let closest = known.iter().max_by(|a, b| strsim::jaro_winkler(kind, a).total_cmp(&strsim::jaro_winkler(kind, b))).copied().unwrap_or_default();
            return Err(format!("{kind:?} is no delivery vandar-mock knows; did you mean {closest:?}? (kinds: {})", known.join(", ")));
        };
        let created = super::unix_now();
        Ok(Self { kind, business: super::Credentials::default().business, fields: sample(kind, created), created })
    }

    /// Signs a Miando webhook with this business slug (default: the mock's, `mock-shop`).
    pub fn business(mut self, slug: impl Into<String>) -> Self {
        self.business = slug.into();
        self
    }

    /// Sets one field of the body (of `data` for a Miando webhook; of the form, the JSON or the query
    /// otherwise): `value` is read as JSON when it is JSON (`5000`, `true`, `"5000"`), as text otherwise.
    pub fn set(mut self, field: &str, value: &str) -> Self {
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        self.fields.insert(field.to_string(), value);
        self
    }

    /// `field=value`, as `--set` takes it.
    pub fn set_pair(self, pair: &str) -> Result<Self, String> {
        let (field, value) = pair.split_once('=').filter(|(field, _)| !field.is_empty()).ok_or_else(|| format!("--set {pair:?} is not field=value"))?;
        Ok(self.set(field, value))
    }

    /// The delivery to `url`, as it goes on the wire.
    pub fn delivery(&self, url: &str) -> Result<Delivery, String> {
        let mut target = url::Url::parse(url).map_err(|e| format!("--forward-to {url:?} is not a URL: {e}"))?;
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        Ok(match self.kind {
            "settlement_notify" => {
                let form = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(self.fields.iter().map(|(k, v)| (k, text(v)))).finish();
                Delivery { method: "POST", url: target.into(), headers: vec![("content-type", "application/x-www-form-urlencoded".into())], body: form.into_bytes() }
            }
            "withdrawal_notify" => Delivery {
                method: "POST",
                url: target.into(),
                headers: vec![("content-type", "application/json".into())],
                body: serde_json::to_vec(&self.fields).map_err(|e| e.to_string())?,
            },
            "ipg_callback" => {
                target.query_pairs_mut().extend_pairs(self.fields.iter().map(|(k, v)| (k, text(v))));
                Delivery { method: "GET", url: target.into(), headers: Vec::new(), body: Vec::new() }
            }
            event => {
                let body = serde_json::to_vec(&json!({"created": self.created, "type": event, "data": self.fields})).map_err(|e| e.to_string())?;
                let signature = crate::inbound::webhook::sign(&body, &self.business);
                let headers = vec![("content-type", "application/json".into()), (crate::inbound::webhook::SIGNATURE_HEADER, signature)];
                Delivery { method: "POST", url: target.into(), headers, body }
            }
        })
    }

    /// Sends the delivery to `url` once (10 s at most) and says what the receiver answered.
    pub async fn send(&self, url: &str) -> Result<Answered, String> {
        let delivery = self.delivery(url)?;
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).redirect(reqwest::redirect::Policy::none()).build().map_err(|e| e.to_string())?;
        let method = reqwest::Method::from_bytes(delivery.method.as_bytes()).map_err(|e| e.to_string())?;
        let mut request = client.request(method, &delivery.url);
        for (name, value) in &delivery.headers {
            request = request.header(*name, value);
        }
        let answer = request.body(delivery.body.clone()).send().await.map_err(|e| format!("{} {}: {}", delivery.method, delivery.url, e.without_url()))?;
        let status = answer.status().as_u16();
        let bytes = answer.bytes().await.unwrap_or_default();
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(2048)]).into_owned();
        Ok(Answered { delivery, status, body })
    }
}

/// A realistic body for `kind`: the fields Vandar's documents give it, with values the crate's own
/// decoders accept (`vandar::inbound`).
fn sample(kind: &str, created: i64) -> Map<String, Value> {
    let code = format!("{}", 10_000_000 + fastrand::u32(..89_999_999));
    let now = super::clock::tehran_date_time(created);
    let (day, _, jalali_day) = super::clock::tehran_day_parts(created);
    let value = match kind {
        "agreement_created" => json!({"tracking_code": code, "creator_role": "seller", "created_at": now, "creator_mobile": "09123456789"}),
        "seller_agreed_agreement" | "buyer_agreed_agreement" => json!({"tracking_code": code, "applicant_mobile": "09123456789"}),
        "agreement_change_state_from_investigation" => json!({"tracking_code": code, "trace_id": "order-2001", "state": "finalize"}),
        "buyer_paid_agreement" => json!({"tracking_code": code, "trace_id": "order-2001", "transaction_ref_id": "548784521254", "payer_mobile": "09123456789", "amount": "4000000"}),
        "payment_refunded_to_buyer" | "seller_checked_out" => json!({"tracking_code": code, "amount": "4000000"}),
        "buyer_submitted_ticket" | "seller_submitted_ticket" => json!({"tracking_code": code, "trace_id": "order-2001", "reporter_mobile": "09123456789"}),
        "settlement_notify" => json!({
            "id": uuid::Uuid::new_v4().to_string(), "status": "DONE", "iban_id": "1", "transaction_id": format!("16{code}"),
            "amount": "1000000", "payment_number": "77", "settlement_date": day, "settlement_date_jalali": jalali_day, "ref_code": format!("RRN{code}"),
        }),
        "withdrawal_notify" => json!({
            "withdrawal_id": uuid::Uuid::new_v4().to_string(), "authorization_id": uuid::Uuid::new_v4().to_string(),
            "gateway_transaction_id": format!("16{code}"), "status": "DONE", "amount": 1_000_000, "payment_number": "77",
        }),
        "ipg_callback" => json!({"token": format!("MOCK{code}"), "payment_status": "OK"}),
        // Every other documented event carries its agreement's tracking code only.
        _ => json!({"tracking_code": code}),
    };
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
