//! Balance and settlements: store (Tomans), list, cancel, and the transaction lookup by track_id.
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::{authorize, typed, validation_error, vandar_error, Shared};
use crate::api::types;

#[derive(Debug, Clone)]
pub(crate) struct Settlement {
    id: String,
    transaction_id: i64,
    amount_toman: i64,
    track_id: String,
    iban: String,
    is_instant: bool,
    status: &'static str,
    description: Option<String>,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2/business/{business}/balance", get(balance))
        .route("/v3/business/{business}/settlement/store", post(store))
        .route("/v2.1/business/{business}/settlement", get(list))
        .route("/v3/business/{business}/transaction", get(transactions))
}

async fn balance(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    typed::<types::BalanceResponse>(json!({"status": 1, "data": {"wallet": data.wallet_rials / 10, "currency": "Toman"}}))
}

async fn store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    let request: types::SettlementStoreRequest = match serde_json::from_value(body.clone()) {
        Ok(request) => request,
        Err(e) => {
            let field = ["iban", "amount", "track_id", "description"].into_iter().find(|f| e.to_string().contains(f) || body.get(*f).is_none());
            return validation_error(field.unwrap_or("body"), &e.to_string());
        }
    };
    if request.amount < 5000 {
        return validation_error("amount", "حداقل مبلغ تسویه ۵۰۰۰ تومان است");
    }
    if request.amount * 10 > data.wallet_rials {
        return validation_error("amount", "موجودی کیف پول کافی نیست");
    }
    if data.settlements.iter().any(|s| s.track_id == request.track_id) {
        return validation_error("track_id", "track_id تکراری است");
    }
    let transaction_id = data.next_id();
    let settlement = Settlement {
        id: uuid::Uuid::new_v4().to_string(),
        transaction_id,
        amount_toman: request.amount,
        track_id: request.track_id.clone(),
        iban: request.iban.to_string(),
        is_instant: request.is_instant.unwrap_or(false),
        status: "PENDING",
        description: request.description.as_ref().map(|d| d.to_string()),
    };
    data.wallet_rials -= request.amount * 10;
    let record = json!({
        "id": settlement.id, "iban_id": "1", "transaction_id": transaction_id,
        "amount": request.amount * 10, "amount_toman": request.amount, "wage_toman": 0,
        "payment_number": request.payment_number, "status": "PENDING", "wallet": (data.wallet_rials / 10).to_string(),
        "description": settlement.description, "settlement_date": "2026-11-23", "settlement_time": "15:39:36",
        "settlement_date_jalali": "1405/09/02", "settlement_done_time_prediction": "1405/09/02 16:00:00",
        "is_instant": settlement.is_instant, "prediction": {"date": "1405/09/02", "time": "16:00", "extra": ""},
        "receipt_url": format!("https://vand.ar/{transaction_id}"), "type": request.type_.as_ref().map(|t| t.to_string()).unwrap_or("ACH".into()),
    });
    data.settlements.push(settlement);
    typed::<types::SettlementStoreResponse>(json!({"status": 1, "data": {"settlement": [record]}}))
}

async fn list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> = data
        .settlements
        .iter()
        .rev()
        .map(|s| json!({"id": s.id, "iban_id": 1, "gateway_transaction_id": s.transaction_id, "amount": s.amount_toman * 10,
            "payment_number": null, "status": s.status, "wallet": data.wallet_rials / 10, "settlement_date": "2026-11-23", "description": s.description}))
        .collect();
    let total = items.len();
    typed::<types::SettlementListResponse>(json!({"status": 1, "data": {
        "wallet": data.wallet_rials / 10, "blocked_amount": 0, "deductible_amount": data.wallet_rials / 10, "currency": "Toman",
        "settlements": {"current_page": 1, "data": items, "from": 1, "last_page": 1, "path": "/v2.1/settlement", "per_page": 15, "to": total, "total": total,
            "first": null, "last": null, "prev": null, "next": null}
    }}))
}

pub(super) async fn cancel(State(data): State<Shared>, Path((business, transaction_id)): Path<(String, i64)>, headers: HeaderMap) -> Response {
    let mut data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    let Some(index) = data.settlements.iter().position(|s| s.transaction_id == transaction_id) else {
        return vandar_error(StatusCode::NOT_FOUND, "تسویه یافت نشد");
    };
    let settlement = &data.settlements[index];
    if settlement.is_instant || settlement.status != "PENDING" {
        return validation_error("settlement_id", "این تسویه قابل لغو نیست");
    }
    let refund = settlement.amount_toman * 10;
    data.settlements[index].status = "CANCELED";
    data.wallet_rials += refund;
    typed::<types::StatusMessage>(json!({"status": 1, "message": "تسویه از صف پرداخت حذف شد و مبلغ به کیف پول بازگشت"}))
}

#[derive(serde::Deserialize)]
struct TransactionQuery {
    track_id: Option<String>,
}

async fn transactions(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, Query(query): Query<TransactionQuery>) -> Response {
    let data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> = data
        .settlements
        .iter()
        .filter(|s| query.track_id.as_ref().is_none_or(|t| *t == s.track_id))
        // ASSUMPTION (the documents give the `settlement` object no fields): it names the
        // settlement's id, track_id and IBAN, which is what lets a client prove identity.
        .map(|s| {
            json!({"id": s.transaction_id, "amount": -s.amount_toman, "status": -2, "description": s.description, "created_at": "15:39:36 - 1405/9/2",
                   "settlement": {"id": s.id, "track_id": s.track_id, "iban": s.iban}})
        })
        .collect();
    typed::<types::TransactionListResponse>(json!({"status": 1, "has_more": false, "data": items}))
}
