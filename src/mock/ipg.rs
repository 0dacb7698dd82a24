//! The payment gateway: send -> payment page (302 to the callback) -> transaction -> verify (once).
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{magic, messages, typed, Shared};
use crate::generated::ipg::types;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum PaymentState {
    Created,
    Paid,
    Failed,
    /// Left unpaid or unverified past [`VERIFY_WINDOW`]: the gateway gives up on it (a paid one goes back to the payer).
    Expired,
}

/// How long a payment waits to be paid and verified, by the mock's clock. ASSUMPTION: the documents
/// do not state it; Shaparak returns a payment left unverified to the payer within about half an hour.
pub(crate) const VERIFY_WINDOW_SECONDS: i64 = 20 * 60;

#[derive(Debug, Clone)]
pub(crate) struct Payment {
    request: types::IpgSendRequest,
    state: PaymentState,
    verified: bool,
    trans_id: i64,
    /// When it was sent and paid, by the mock's clock (unix seconds).
    created: i64,
    paid: Option<i64>,
}

/// Fee the mock charges on each payment, in Rials.
const WAGE: i64 = 500;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v4/send", post(send))
        .route("/v4/{token}", get(payment_page))
        .route("/api/v4/transaction", post(transaction))
        .route("/api/v4/verify", post(verify))
}

/// IPG's error shape: `{status: 0, errors: [..]}`.
fn ipg_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": 0, "errors": [message]}))).into_response()
}

fn check_key(data: &super::Data, body: &Value) -> Result<(), Response> {
    if body["api_key"].as_str() == Some(data.credentials.ipg_api_key.as_str()) {
        Ok(())
    } else {
        Err(ipg_error(StatusCode::UNAUTHORIZED, "api_key is invalid"))
    }
}

async fn send(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut data = data.lock();
    check!(check_key(&data, &body));
    // The request must match the spec's schema (IpgSendRequest); serde names the field at fault.
    let request: types::IpgSendRequest = match serde_json::from_value(body) {
        Ok(request) => request,
        Err(e) => return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, &e.to_string()),
    };
    if request.amount.0 < 1000 {
        return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, "amount must not be below 1000");
    }
    if magic::REFUSED_AMOUNTS.contains(&request.amount.0) {
        return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, messages::AMOUNT_REFUSED);
    }
    if request.valid_card_number.len() > 10 {
        return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, "valid_card_number may hold at most 10 cards");
    }
    let token: String = (0..32).map(|_| fastrand::alphanumeric().to_ascii_uppercase()).collect();
    let trans_id = data.next_id();
    let created = data.clock.unix();
    data.payments.insert(token.clone(), Payment { request, state: PaymentState::Created, verified: false, trans_id, created, paid: None });
    typed::<types::IpgSendResponse>(json!({"status": 1, "token": token}))
}

/// What the payer does on the payment page (see [`MockVandar::pay`](super::MockVandar::pay); over HTTP,
/// `POST /__mock/payer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum PayerAction {
    /// Pays; the browser is sent back to callback_url with payment_status=OK.
    Pay,
    /// Declines (or the bank refuses); back to callback_url with payment_status=FAILED.
    Decline,
    /// Closes the tab: the payment stays unpaid and nobody reaches callback_url.
    Abandon,
}

/// The payer refused an action: the token names no payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPayment {
    /// The token (or payment page) that named no payment of this mock.
    pub token: String,
}

impl std::fmt::Display for UnknownPayment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "no payment of this mock has the token {:?}", self.token)
    }
}

impl std::error::Error for UnknownPayment {}

/// The token in a payment page URL (`…/ipg/v4/{token}`) or the token itself.
pub(crate) fn token_of(payment_page: &str) -> String {
    let path = payment_page.split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_string()
}

impl super::Data {
    /// The payer on the payment page of `token`: the callback URL the browser is sent back to (None when
    /// the payer abandons). A payment already paid or failed keeps its outcome (a reloaded page).
    pub(crate) fn payer(&mut self, token: &str, action: PayerAction, card: Option<&str>) -> Result<Option<String>, UnknownPayment> {
        let declines = self.payer_declines;
        let now = self.clock.unix();
        let Some(payment) = self.payments.get_mut(token) else {
            return Err(UnknownPayment { token: token.to_string() });
        };
        if action == PayerAction::Abandon {
            return Ok(None);
        }
        if payment.state == PaymentState::Created {
            let card_declined = card.is_some_and(|card| super::magic::DECLINED_CARDS.contains(&card));
            payment.state = if declines || card_declined || action == PayerAction::Decline { PaymentState::Failed } else { PaymentState::Paid };
            payment.paid = (payment.state == PaymentState::Paid).then_some(now);
        }
        // An expired payment's page sends the payer back as failed.
        let outcome = if payment.state == PaymentState::Paid { "OK" } else { "FAILED" };
        let separator = if payment.request.callback_url.contains('?') { '&' } else { '?' };
        Ok(Some(format!("{}{separator}token={token}&payment_status={outcome}", payment.request.callback_url)))
    }
}

/// The payer's browser on the payment page: pays (or declines, as the mock is set) and is sent back to callback_url.
async fn payment_page(State(data): State<Shared>, Path(token): Path<String>) -> Response {
    let mut data = data.lock();
    match data.payer(&token, PayerAction::Pay, None) {
        Ok(Some(location)) => (StatusCode::FOUND, [("location", location)]).into_response(),
        Ok(None) | Err(_) => (StatusCode::NOT_FOUND, [("content-type", "text/html; charset=utf-8")], "<html><body>تراکنش یافت نشد</body></html>").into_response(),
    }
}

fn details(token: &str, payment: &Payment) -> Value {
    let paid = payment.state == PaymentState::Paid;
    json!({
        "status": if paid { 1 } else { 0 },
        "amount": payment.request.amount.0.to_string(),
        "wage": WAGE.to_string(),
        "shaparakWage": "0",
        "transId": payment.trans_id,
        "refnumber": format!("REF{token}"),
        "trackingCode": format!("{}", payment.trans_id % 1_000_000),
        "factorNumber": payment.request.factor_number,
        "mobile": payment.request.mobile_number.as_ref().map(|m| m.to_string()),
        "description": payment.request.description.as_ref().map(|d| d.to_string()),
        "cardNumber": if paid { "603799******6299" } else { "" },
        "CID": if paid { Some("ECC1F6931DDC1B8A0892293774836F3FFAC4A3C9D34997405F340FCC1BDDED82") } else { None },
        "createdAt": super::clock::tehran_date_time(payment.created),
        "paymentDate": payment.paid.filter(|_| paid).map(super::clock::tehran_date_time),
        "code": if payment.verified { 2 } else if paid { 1 } else { 0 },
        "message": match (&payment.state, payment.verified) {
            (PaymentState::Paid, true) => "verified",
            (PaymentState::Paid, false) => "Confirm requierd",
            (PaymentState::Failed, _) => "failed",
            (PaymentState::Created, _) => "waiting for payment",
            (PaymentState::Expired, _) => "expired",
        },
    })
}

fn lookup<'a>(data: &'a mut super::Data, body: &Value) -> Result<(String, &'a mut Payment), Response> {
    check_key(data, body)?;
    let token = body["token"].as_str().unwrap_or_default().to_string();
    match data.payments.get_mut(&token) {
        Some(payment) => Ok((token, payment)),
        None => Err(ipg_error(StatusCode::UNPROCESSABLE_ENTITY, messages::TOKEN_INVALID)),
    }
}

async fn transaction(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut data = data.lock();
    match lookup(&mut data, &body) {
        Ok((token, payment)) => typed::<types::IpgTransaction>(details(&token, payment)),
        Err(refused) => refused,
    }
}

/// Answers once per transaction: a second call is refused, as Vandar documents.
async fn verify(State(data): State<Shared>, Json(body): Json<Value>) -> Response {
    let mut data = data.lock();
    let (token, payment) = match lookup(&mut data, &body) {
        Ok(found) => found,
        Err(refused) => return refused,
    };
    if payment.state == PaymentState::Expired {
        return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, messages::TOKEN_EXPIRED);
    }
    if payment.state != PaymentState::Paid {
        return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, messages::PAYMENT_NOT_PAID);
    }
    if payment.verified {
        return ipg_error(StatusCode::UNPROCESSABLE_ENTITY, messages::PAYMENT_ALREADY_VERIFIED);
    }
    payment.verified = true;
    let amount = payment.request.amount.0;
    let mut answer = details(&token, payment);
    answer["amount"] = json!(format!("{amount}.00"));
    answer["realAmount"] = json!(amount - WAGE);
    answer["cid"] = answer["CID"].take();
    answer["message"] = json!("ok");
    data.wallet_rials = data.wallet_rials.saturating_add(amount - WAGE);
    typed::<types::IpgVerifyResponse>(answer)
}

/// The amount (Rials) of a verified payment, for refunds.
pub(crate) fn verified_amount(data: &super::Data, trans_id: i64) -> Option<i64> {
    data.payments.values().find(|p| p.trans_id == trans_id && p.verified).map(|p| p.request.amount.0)
}

impl super::Data {
    /// Payments left unpaid or unverified past [`VERIFY_WINDOW_SECONDS`] expire.
    pub(crate) fn expire_payments(&mut self) {
        let now = self.clock.unix();
        for payment in self.payments.values_mut() {
            let waiting = payment.state == PaymentState::Created || (payment.state == PaymentState::Paid && !payment.verified);
            if waiting && now - payment.created >= VERIFY_WINDOW_SECONDS {
                payment.state = PaymentState::Expired;
            }
        }
    }

    /// The IPG payments as transaction_list's records (the spec's Transaction; amounts in Tomans), with
    /// the channel filter's value.
    pub(crate) fn payment_transactions(&self) -> Vec<Value> {
        self.payments
            .iter()
            .map(|(token, p)| {
                let paid = p.state == PaymentState::Paid;
                let status = match (&p.state, p.verified) {
                    (PaymentState::Paid, true) => 1,
                    (PaymentState::Failed | PaymentState::Expired, _) => -1,
                    _ => 3,
                };
                json!({
                    "id": p.trans_id, "amount": p.request.amount.0 / 10, "wage": WAGE / 10, "status": status,
                    "ref_id": paid.then(|| format!("REF{token}")), "tracking_code": paid.then(|| format!("{}", p.trans_id % 1_000_000)),
                    "card_number": paid.then_some("603799******6299"), "cid": Value::Null,
                    "verified": i32::from(p.verified), "channel": "درگاه پرداخت",
                    "payment_date": p.paid.map(super::clock::tehran_date_time), "payment_number": Value::Null,
                    "created_at": super::clock::jalali_date_time(p.created), "effective_time_stamp": p.paid,
                    "description": p.request.description.as_ref().map(|d| d.to_string()),
                    "factorNumber": p.request.factor_number, "mobile": p.request.mobile_number.as_ref().map(|m| m.to_string()),
                    "callback_url": p.request.callback_url, "settlement": Value::Null,
                    "_channel": "ipg", "_created": p.created,
                })
            })
            .collect()
    }
}
