//! Balance and settlements: store (Tomans), list, show, cancel, and the transaction list (cursor
//! paging; a settlement's track_id finds it).
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::paging::{self, PageRequest, Size};
use super::{authorize, typed, validation_error, vandar_error, Shared};
use crate::generated::api::types;

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
    payment_number: Option<i64>,
    /// The wallet right after the store, in Tomans.
    wallet_after_toman: i64,
}

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2/business/{business}/balance", get(balance))
        .route("/v3/business/{business}/settlement/store", post(store))
        .route("/v2.1/business/{business}/settlement", get(list))
        .route("/v2.1/business/{business}/settlement/{settlement_id}", get(show).delete(cancel))
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
    if request.amount.0 < 5000 {
        return validation_error("amount", "حداقل مبلغ تسویه ۵۰۰۰ تومان است");
    }
    if request.amount.0 * 10 > data.wallet_rials {
        return validation_error("amount", "موجودی کیف پول کافی نیست");
    }
    if data.settlements.iter().any(|s| s.track_id == request.track_id) {
        return validation_error("track_id", "track_id تکراری است");
    }
    let transaction_id = data.next_id();
    data.wallet_rials -= request.amount.0 * 10;
    let settlement = Settlement {
        id: uuid::Uuid::new_v4().to_string(),
        transaction_id,
        amount_toman: request.amount.0,
        track_id: request.track_id.clone(),
        iban: request.iban.to_string(),
        is_instant: request.is_instant.unwrap_or(false),
        status: "PENDING",
        description: request.description.as_ref().map(|d| d.to_string()),
        payment_number: request.payment_number,
        wallet_after_toman: data.wallet_rials / 10,
    };
    let record = json!({
        "id": settlement.id, "iban_id": "1", "transaction_id": transaction_id,
        "amount": request.amount.0 * 10, "amount_toman": request.amount.0, "wage_toman": 0,
        "payment_number": request.payment_number, "status": "PENDING", "wallet": (data.wallet_rials / 10).to_string(),
        "description": settlement.description, "settlement_date": "2026-11-23", "settlement_time": "15:39:36",
        "settlement_date_jalali": "1405/09/02", "settlement_done_time_prediction": "1405/09/02 16:00:00",
        "is_instant": settlement.is_instant, "prediction": {"date": "1405/09/02", "time": "16:00", "extra": ""},
        "receipt_url": format!("https://vand.ar/{transaction_id}"), "type": request.type_.as_ref().map(|t| t.to_string()).unwrap_or("ACH".into()),
    });
    data.settlements.push(settlement);
    typed::<types::SettlementStoreResponse>(json!({"status": 1, "data": {"settlement": [record]}}))
}

impl Settlement {
    /// The settlement as settlement_list and settlement_show answer it (amount in Rials, wallet in Tomans).
    fn view(&self) -> Value {
        json!({"id": self.id, "iban_id": 1, "gateway_transaction_id": self.transaction_id, "amount": self.amount_toman * 10,
            "payment_number": self.payment_number, "status": self.status, "wallet": self.wallet_after_toman, "settlement_date": "2026-11-23",
            "description": self.description})
    }
}

/// Newest first, in the flat paginator.
async fn list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> = data.settlements.iter().rev().map(Settlement::view).collect();
    let settlements = check!(paging::flat(items, &page, Size::PerPage { max: None }));
    typed::<types::SettlementListResponse>(json!({"status": 1, "data": {
        "wallet": data.wallet_rials / 10, "blocked_amount": 0, "deductible_amount": data.wallet_rials / 10, "currency": "Toman",
        "settlements": settlements
    }}))
}

/// One settlement by its UUID id (not its transaction_id, which settlement_cancel takes).
async fn show(State(data): State<Shared>, Path((business, settlement_id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    match data.settlements.iter().find(|s| s.id == settlement_id) {
        Some(settlement) => {
            let mut view = settlement.view();
            // settlement_show types payment_number as a string (the store answer as an integer).
            view["payment_number"] = json!(settlement.payment_number.map(|n| n.to_string()));
            typed::<types::SettlementShowResponse>(json!({"status": 1, "data": {"settlement": view}}))
        }
        None => vandar_error(StatusCode::NOT_FOUND, "تسویه یافت نشد"),
    }
}

async fn cancel(State(data): State<Shared>, Path((business, transaction_id)): Path<(String, i64)>, headers: HeaderMap) -> Response {
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

/// Newest first, cursor paging by id; per_page at most 100, as the spec says.
async fn transactions(
    State(data): State<Shared>,
    Path(business): Path<String>,
    headers: HeaderMap,
    Query(query): Query<TransactionQuery>,
    page: PageRequest,
) -> Response {
    let data = data.lock().expect("mock state");
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> = data
        .settlements
        .iter()
        .rev()
        .filter(|s| query.track_id.as_ref().is_none_or(|t| *t == s.track_id))
        // ASSUMPTION (the documents give the `settlement` object no fields): it names the
        // settlement's id, track_id and IBAN, which is what lets a client prove identity.
        .map(|s| {
            json!({"id": s.transaction_id, "amount": -s.amount_toman, "status": -2, "description": s.description, "created_at": "15:39:36 - 1405/9/2",
                   "settlement": {"id": s.id, "track_id": s.track_id, "iban": s.iban}})
        })
        .collect();
    let mut answer = check!(paging::cursor(items, &page, Size::PerPage { max: Some(100) }, "id"));
    answer["status"] = json!(1);
    typed::<types::TransactionListResponse>(answer)
}
