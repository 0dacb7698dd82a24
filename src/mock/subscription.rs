//! Direct debit: banks, authorizations (store -> bank page 302 -> verify once -> revoke),
//! withdrawals (store within the authorization's limit, show, by track_id, list, cancel), refunds.
use crate::generated::operations::Operation;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::Router;
use serde_json::{json, Value};

use super::paging::{self, PageRequest, Size};
use super::{authorize, listed_only, parse, typed, validation_error, vandar_error, Data, Shared};
use crate::generated::api::types;

pub(super) fn routes() -> Router<Shared> {
    let s = "/v3/business/{business}/subscription";
    Router::new()
        .route(&format!("{s}/banks/actives"), get(banks))
        .route(&format!("{s}/authorization/store"), post(authorization_store))
        .route(&format!("{s}/authorization"), get(authorization_list))
        .route(&format!("{s}/authorization/{{authorization_id}}"), axum::routing::delete(authorization_revoke))
        .route(&format!("{s}/authorization/{{authorization_id}}/verify"), patch(authorization_verify))
        .route(&format!("{s}/authorization/{{authorization_id}}/search"), get(|s, p, h| authorization_listed(s, p, h, Operation::AuthorizationSearch)))
        .route(&format!("{s}/authorization/{{authorization_id}}/calculation"), get(|s, p, h| authorization_listed(s, p, h, Operation::AuthorizationCalculation)))
        .route(&format!("{s}/withdrawal/store"), post(withdrawal_store))
        .route(&format!("{s}/withdrawal"), get(withdrawal_list))
        .route(&format!("{s}/withdrawal/{{withdrawal_id}}"), get(withdrawal_show).put(withdrawal_cancel))
        .route(&format!("{s}/withdrawal/track-id/{{track_id}}"), get(withdrawal_by_track_id))
        .route(&format!("{s}/refunds"), post(|s, p, h| listed(s, p, h, Operation::SubscriptionRefundStore)).get(|s, p, h| listed(s, p, h, Operation::SubscriptionRefundList)))
        .route(&format!("{s}/refunds/{{refund_id}}"), get(|s, Path((b, _)): Path<(String, String)>, h| listed(s, Path(b), h, Operation::SubscriptionRefundShow)))
}

/// `subscription.vandar.io`: the bank approval page, under /subscription.
pub(super) fn redirect_routes() -> Router<Shared> {
    Router::new().route("/authorizations/{token}", get(approval_page))
}

async fn banks(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    typed::<types::DirectDebitBanksResponse>(json!({"status": 1, "message": "ok", "result": {"banks": [
        {"code": "062", "name": "بانک آینده", "has_direct_debit_ability": true, "is_healthy_on_direct_debit": true, "logo": "https://vandar.io/banks/062.png"},
        {"code": "012", "name": "بانک ملت", "has_direct_debit_ability": true, "is_healthy_on_direct_debit": false, "logo": "https://vandar.io/banks/012.png"}
    ]}}))
}

async fn authorization_store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: types::AuthorizationStoreRequest = check!(parse(&body));
    if request.expiration_date <= chrono::Utc::now().date_naive() {
        return validation_error("expiration_date", "The expiration date must be a date after today.");
    }
    let token = uuid::Uuid::new_v4().to_string();
    data.records("authorizations").push(json!({
        "id": null, "customer_uuid": uuid::Uuid::new_v4().to_string(), "token": token, "bank_code": request.bank_code,
        "callback_url": request.callback_url, "count": request.count, "limit": request.limit.0.to_string(),
        "mobile": request.mobile.to_string(), "name": request.name, "email": request.email, "national_code": null,
        "expiration_date": "1408/09/02 00:00:00", "status": "PENDING_VERIFY", "created_at": "1405/09/02 10:00:00"
    }));
    typed::<types::AuthorizationStoreResponse>(json!({"status": 1, "message": "ok", "result": {"authorization": {"token": token}}}))
}

/// The user approves at the bank and returns to callback_url with the authorization id.
async fn approval_page(State(data): State<Shared>, Path(token): Path<String>) -> Response {
    let mut data = data.lock();
    let Some(record) = data.find("authorizations", "token", &token) else {
        return (StatusCode::NOT_FOUND, [("content-type", "text/html; charset=utf-8")], "<html><body>token not found</body></html>").into_response();
    };
    if record["id"].is_null() {
        record["id"] = json!(uuid::Uuid::new_v4().to_string());
    }
    let callback = record["callback_url"].as_str().unwrap_or_default();
    let separator = if callback.contains('?') { '&' } else { '?' };
    let location = format!("{callback}{separator}token={token}&authorization_id={}&status=SUCCEED", record["id"].as_str().unwrap_or_default());
    (StatusCode::FOUND, [("location", location)]).into_response()
}

fn authorization<'a>(data: &'a mut Data, headers: &HeaderMap, business: &str, id: &str) -> Result<&'a mut Value, Response> {
    authorize(data, headers, business)?;
    data.find("authorizations", "id", id).ok_or_else(|| vandar_error(StatusCode::NOT_FOUND, "no such authorization"))
}

async fn authorization_verify(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match authorization(&mut data, &headers, &business, &id) {
        Ok(record) if record["status"] == "PENDING_VERIFY" => {
            record["status"] = json!("ACTIVE");
            typed::<types::StatusMessage>(json!({"status": 1, "message": "authorization verified"}))
        }
        Ok(_) => vandar_error(StatusCode::UNPROCESSABLE_ENTITY, super::messages::AUTHORIZATION_ALREADY_VERIFIED),
        Err(refused) => refused,
    }
}

async fn authorization_listed(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap, operation: Operation) -> Response {
    let mut data = data.lock();
    match authorization(&mut data, &headers, &business, &id) {
        Ok(_) => listed_only(operation),
        Err(refused) => refused,
    }
}

/// `page` only (pages of 15).
async fn authorization_list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> = data.records("authorizations").iter().filter(|a| !a["id"].is_null()).cloned().collect();
    typed::<types::AuthorizationListResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

async fn authorization_revoke(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(authorization(&mut data, &headers, &business, &id));
    data.records("authorizations").retain(|a| a["id"] != id);
    typed::<types::AuthorizationRevokeResponse>(json!({"status": 1, "message": "revoked", "result": {"authorization": {"id": id}}}))
}

async fn withdrawal_store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: types::WithdrawalStoreRequest = check!(parse(&body));
    let authorization_id = request.authorization_id.to_string();
    let Some(mandate) = data.find("authorizations", "id", &authorization_id).cloned() else {
        return validation_error("authorization_id", "no such authorization");
    };
    if mandate["status"] != "ACTIVE" {
        return validation_error("authorization_id", "authorization is not verified");
    }
    let limit: i64 = mandate["limit"].as_str().and_then(|l| l.parse().ok()).unwrap_or_default();
    if request.amount.0 > limit {
        return validation_error("amount", "amount is above the authorization's limit");
    }
    let track_id = request.track_id.clone().unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    if data.find("withdrawals", "track_id", &track_id).is_some() {
        return validation_error("track_id", "track_id تکراری است");
    }
    let instant = request.is_instant.as_ref().is_none_or(|i| **i == 1);
    let gateway_transaction_id = data.next_id();
    let withdrawal = json!({
        "id": uuid::Uuid::new_v4().to_string(), "authorization_id": authorization_id, "retry_count": 0,
        "max_retry_count": request.max_retry_count.unwrap_or(1), "gateway_transaction_id": gateway_transaction_id.to_string(),
        "amount": request.amount.0.to_string(), "wage_amount": "200.00", "payment_number": null, "track_id": track_id,
        "status": if instant { "DONE" } else { "PENDING" }, "description": request.description,
        "withdrawal_date": "1405/09/02", "notify_url": request.notify_url.as_ref().map(|u| u.to_string()), "is_instant": instant,
        "error_code": null, "error_message": null
    });
    if !instant {
        // Due on its withdrawal_date (Tehran's day, by the mock's clock); the spec requires one when not instant.
        let day = request.withdrawal_date.map(|d| d.to_string()).unwrap_or_default();
        data.withdrawals_due.push((withdrawal["id"].as_str().unwrap_or_default().to_string(), day));
    }
    data.records("withdrawals").push(withdrawal.clone());
    typed::<types::WithdrawalResponse>(json!({"status": 1, "message": "ok", "result": {"withdrawal": withdrawal}}))
}

fn withdrawal(data: &mut Data, headers: &HeaderMap, business: &str, key: &str, value: &str) -> Result<Value, Response> {
    authorize(data, headers, business)?;
    data.find("withdrawals", key, value).cloned().ok_or_else(|| vandar_error(StatusCode::NOT_FOUND, "withdrawal not found"))
}

async fn withdrawal_show(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match withdrawal(&mut data, &headers, &business, "id", &id) {
        Ok(found) => typed::<types::WithdrawalResponse>(json!({"status": 1, "message": "ok", "result": {"withdrawal": found}})),
        Err(refused) => refused,
    }
}

async fn withdrawal_by_track_id(State(data): State<Shared>, Path((business, track_id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match withdrawal(&mut data, &headers, &business, "track_id", &track_id) {
        Ok(found) => typed::<types::WithdrawalResponse>(json!({"status": 1, "message": "ok", "result": {"withdrawal": found}})),
        Err(refused) => refused,
    }
}

#[derive(serde::Deserialize)]
struct ListQuery {
    q: Option<String>,
}

/// `page` only (pages of 15); `q` filters by authorization and stays on the links.
async fn withdrawal_list(
    State(data): State<Shared>,
    Path(business): Path<String>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
    page: PageRequest,
) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> =
        data.records("withdrawals").iter().filter(|w| query.q.as_ref().is_none_or(|q| w["authorization_id"] == *q)).cloned().collect();
    typed::<types::WithdrawalListResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

async fn withdrawal_cancel(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(withdrawal(&mut data, &headers, &business, "id", &id));
    let record = data.find("withdrawals", "id", &id).expect("found above");
    if record["status"] != "PENDING" {
        return validation_error("withdrawal_id", "only a scheduled withdrawal can be canceled");
    }
    record["status"] = json!("CANCELED");
    typed::<types::WithdrawalCancelResponse>(json!({"status": 1, "message": "canceled", "result": {"withdrawal": {"id": id}}}))
}

async fn listed(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, operation: Operation) -> Response {
    let data = data.lock();
    match authorize(&data, &headers, &business) {
        Ok(()) => listed_only(operation),
        Err(refused) => refused,
    }
}

impl Data {
    /// Scheduled withdrawals whose day has come (by the mock's clock) are drawn: DONE, and their notify_url
    /// is posted the final status (the spec's withdrawal_notify). Canceled ones are dropped.
    pub(crate) fn withdraw_due(&mut self) -> Vec<super::Notice> {
        let today = super::clock::tehran_date_time(self.clock.unix())[..10].to_string();
        let (due, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.withdrawals_due).into_iter().partition(|(_, day)| *day <= today);
        self.withdrawals_due = waiting;
        let mut notices = Vec::new();
        for (id, _) in due {
            let Some(record) = self.find("withdrawals", "id", &id) else { continue };
            if record["status"] != "PENDING" {
                continue;
            }
            record["status"] = json!("DONE");
            if let Some(url) = record["notify_url"].as_str().map(String::from) {
                let body = json!({"withdrawal_id": id, "authorization_id": record["authorization_id"], "gateway_transaction_id": record["gateway_transaction_id"],
                                  "status": "DONE", "amount": record["amount"], "payment_number": record["payment_number"]});
                notices.push(super::Notice::Json(url, body));
            }
        }
        notices
    }
}
