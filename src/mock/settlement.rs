//! Balance and settlements: store (Tomans), list, show, cancel, and the transaction list (cursor
//! paging; a settlement's track_id finds it).
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::paging::{self, PageRequest, Size};
use super::{authorize, magic, messages, typed, validation_error, vandar_error, Data, Shared};
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
    /// When it was stored, by the mock's clock (unix seconds).
    created: i64,
    notify_url: Option<String>,
    /// The correcting transaction of a settlement the bank returned.
    revised_transaction_id: Option<i64>,
}

/// A settlement waits this long (by the mock's clock) for its cycle, then the bank answers. ASSUMPTION:
/// the documents give the cycles as times of day (prediction "16:00"); the mock takes a day for any.
pub(crate) const SETTLEMENT_CYCLE_SECONDS: i64 = 24 * 3600;

pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2/business/{business}/balance", get(balance))
        .route("/v3/business/{business}/settlement/store", post(store))
        .route("/v2.1/business/{business}/settlement", get(list))
        .route("/v2.1/business/{business}/settlement/{settlement_id}", get(show).delete(cancel))
        .route("/v3/business/{business}/transaction", get(transactions))
}

async fn balance(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    typed::<types::BalanceResponse>(json!({"status": 1, "data": {"wallet": data.wallet_rials / 10, "currency": "Toman"}}))
}

async fn store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let mut data = data.lock();
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
    if request.iban.to_string() == magic::UNKNOWN_IBAN {
        return validation_error("iban", messages::IBAN_NOT_FOUND);
    }
    // An amount past what any wallet holds (its Rials past i64) is more than this one holds.
    if request.amount.0.checked_mul(10).is_none_or(|rials| rials > data.wallet_rials) {
        return validation_error("amount", messages::INSUFFICIENT_BALANCE);
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
        created: data.clock.unix(),
        notify_url: request.notify_url.as_ref().map(|u| u.to_string()),
        revised_transaction_id: None,
    };
    // Assumed (no source gives the rule): a payout is dated the day it is asked for, by the mock's
    // clock in Tehran time, and predicted for that day's 16:00 cycle, the documents' example time.
    let (day, time, jalali) = super::clock::tehran_day_parts(settlement.created);
    let record = json!({
        "id": settlement.id, "iban_id": "1", "transaction_id": transaction_id,
        "amount": request.amount.0 * 10, "amount_toman": request.amount.0, "wage_toman": 0,
        "payment_number": request.payment_number, "status": "PENDING", "wallet": (data.wallet_rials / 10).to_string(),
        "description": settlement.description, "settlement_date": day, "settlement_time": time,
        "settlement_date_jalali": jalali, "settlement_done_time_prediction": format!("{jalali} 16:00:00"),
        "is_instant": settlement.is_instant, "prediction": {"date": jalali, "time": "16:00", "extra": ""},
        "receipt_url": format!("https://vand.ar/{transaction_id}"), "type": request.type_.as_ref().map(|t| t.to_string()).unwrap_or("ACH".into()),
    });
    data.settlements.push(settlement);
    typed::<types::SettlementStoreResponse>(json!({"status": 1, "data": {"settlement": [record]}}))
}

impl Settlement {
    /// The settlement as settlement_list and settlement_show answer it (amount in Rials, wallet in Tomans).
    fn view(&self) -> Value {
        json!({"id": self.id, "iban_id": 1, "gateway_transaction_id": self.transaction_id, "amount": self.amount_toman * 10,
            "payment_number": self.payment_number, "status": self.status, "wallet": self.wallet_after_toman, "settlement_date": super::clock::tehran_day_parts(self.created).0,
            "description": self.description})
    }
}

/// Newest first, in the flat paginator.
async fn list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let data = data.lock();
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
    let data = data.lock();
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
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let Some(index) = data.settlements.iter().position(|s| s.transaction_id == transaction_id) else {
        return vandar_error(StatusCode::NOT_FOUND, "تسویه یافت نشد");
    };
    let settlement = &data.settlements[index];
    // The spec: a pending or failed settlement can be canceled, an instant one cannot.
    if settlement.is_instant || !matches!(settlement.status, "PENDING" | "FAILED") {
        return validation_error("settlement_id", "این تسویه قابل لغو نیست");
    }
    let refund = settlement.amount_toman * 10;
    data.settlements[index].status = "CANCELED";
    data.wallet_rials = data.wallet_rials.saturating_add(refund);
    typed::<types::StatusMessage>(json!({"status": 1, "message": "تسویه از صف پرداخت حذف شد و مبلغ به کیف پول بازگشت"}))
}

impl Settlement {
    /// Transaction list's status code: 2 succeeded, -2 in progress, -3 failed, -4 canceled.
    fn transaction_status(&self) -> i64 {
        match self.status {
            "DONE" => 2,
            "FAILED" => -3,
            "CANCELED" => -4,
            _ => -2,
        }
    }

    /// The fields posted to notify_url (the spec's SettlementNotification), as form fields.
    fn notification(&self) -> Vec<(&'static str, String)> {
        let mut fields = vec![
            ("id", self.id.clone()),
            ("iban_id", "1".into()),
            ("transaction_id", self.transaction_id.to_string()),
            ("amount", (self.amount_toman * 10).to_string()),
            ("status", self.status.to_string()),
        ];
        if let Some(number) = self.payment_number {
            fields.push(("payment_number", number.to_string()));
        }
        match (self.status, self.revised_transaction_id) {
            ("DONE", _) => fields.push(("ref_code", format!("RRN{}", self.transaction_id % 1_000_000_000))),
            (_, Some(revised)) => fields.push(("revised_transaction_id", revised.to_string())),
            _ => {}
        }
        fields
    }
}

impl Data {
    /// Settlements whose cycle has come (by the mock's clock) get the bank's answer: DONE, or FAILED for
    /// [`magic::FAILING_IBAN`], or paid and returned (CANCELED, money back) for [`magic::RETURNED_IBAN`].
    /// Returns the notify_url posts to make: (url, form fields).
    pub(crate) fn settle_due(&mut self) -> Vec<super::Notice> {
        let now = self.clock.unix();
        let mut notices = Vec::new();
        for index in 0..self.settlements.len() {
            let due = self.settlements[index].status == "PENDING" && now - self.settlements[index].created >= SETTLEMENT_CYCLE_SECONDS;
            if !due {
                continue;
            }
            let iban = self.settlements[index].iban.clone();
            if iban == magic::FAILING_IBAN {
                self.settlements[index].status = "FAILED";
            } else if iban == magic::RETURNED_IBAN {
                let revised = self.next_id();
                let settlement = &mut self.settlements[index];
                settlement.status = "CANCELED";
                settlement.revised_transaction_id = Some(revised);
                self.wallet_rials = self.wallet_rials.saturating_add(settlement.amount_toman * 10);
            } else {
                self.settlements[index].status = "DONE";
            }
            let settlement = &self.settlements[index];
            if let Some(url) = &settlement.notify_url {
                notices.push(super::Notice::Form(url.clone(), settlement.notification()));
            }
        }
        notices
    }

    /// The settlements as transaction_list's records.
    fn settlement_transactions(&self) -> Vec<Value> {
        // ASSUMPTION (the documents give the `settlement` object no fields): it names the
        // settlement's id, track_id and IBAN, which is what lets a client prove identity.
        self.settlements
            .iter()
            .map(|s| {
                json!({"id": s.transaction_id, "amount": -s.amount_toman, "status": s.transaction_status(), "description": s.description,
                       "created_at": super::clock::jalali_date_time(s.created),
                       "payment_number": s.payment_number.map(|n| n.to_string()),
                       "settlement": {"id": s.id, "track_id": s.track_id, "iban": s.iban},
                       "_channel": "settlements", "_created": s.created})
            })
            .collect()
    }
}

/// Channels whose transactions the mock holds (IPG payments and settlements): a filter on another channel the spec
/// names, or on a payment form (`formId`; the mock holds none), matches no record, as Vandar answers a business with
/// no such transactions. It is never ignored (that would answer the whole list as if filtered).
const LISTED_CHANNELS: &[&str] = &["ipg", "settlements"];

/// The text fields `search_field` names, as keys of a transaction record.
fn search_keys(field: &str) -> Option<&'static [&'static str]> {
    Some(match field {
        "description" => &["description"],
        "ref_id" => &["ref_id"],
        "tracking_code" => &["tracking_code"],
        "transaction_id" => &["id"],
        "factor_number" => &["factorNumber"],
        "iban" => &["settlement.iban"],
        "mobile_number" => &["mobile"],
        "card_number" => &["card_number"],
        "payment_number" => &["payment_number"],
        _ => return None,
    })
}

/// A record's field as text (`settlement.iban` reaches into the object).
fn text(record: &Value, key: &str) -> Option<String> {
    let value = key.split('.').try_fold(record, |v, k| v.get(k))?;
    value.as_str().map(String::from).or_else(|| value.as_i64().map(|n| n.to_string()))
}

/// Whether `record` passes every filter of the query, or the 422 refusing one.
fn passes(record: &Value, filters: &[(String, String)]) -> Result<bool, Response> {
    let status = record["status"].as_i64().unwrap_or_default();
    let settlement = record["_channel"] == "settlements";
    let search_field = filters.iter().find(|(k, _)| k == "search_field").map(|(_, v)| v.as_str());
    // Laravel's ConvertEmptyStringsToNull: an empty filter (`ref_id=`) is no filter.
    for (name, value) in filters.iter().filter(|(_, value)| !value.is_empty()) {
        let keep = match name.as_str() {
            "fromDate" | "toDate" => {
                let Some(day) = value.parse::<i64>().ok().filter(|_| value.len() == 8) else {
                    return Err(validation_error(name, &format!("The {name} must be a Jalali date as YYYYMMDD.")));
                };
                let created = super::clock::jalali_day(record["_created"].as_i64().unwrap_or_default());
                if name == "fromDate" { created >= day } else { created <= day }
            }
            "statusKind" => match value.as_str() {
                "transactions" => !settlement,
                "settlements" => settlement,
                _ => return Err(validation_error(name, "The selected status kind is invalid.")),
            },
            "status" => match value.as_str() {
                "succeed" => status == 1 || status == 2,
                "failed" => status == -1 || status == -3,
                "pending" => status == 3 || status == -2,
                "canceled" => status == -4,
                _ => return Err(validation_error(name, "The selected status is invalid.")),
            },
            // Any other value is refused before the handler (the spec's enum).
            "channel" => LISTED_CHANNELS.contains(&value.as_str()) && record["_channel"] == value.as_str(),
            "formId" => false,
            "ref_id" | "tracking_code" => text(record, name).as_deref() == Some(value.as_str()),
            "id" => text(record, "id").as_deref() == Some(value.as_str()),
            "track_id" => text(record, "settlement.track_id").as_deref() == Some(value.as_str()),
            "factor_number" => text(record, "factorNumber").as_deref() == Some(value.as_str()),
            "q" => {
                let keys: &[&str] = match search_field {
                    Some(field) => match search_keys(field) {
                        Some(keys) => keys,
                        None => return Err(validation_error("search_field", &format!("mock: search_field {field} is not searchable in the mock"))),
                    },
                    None => &["description", "ref_id", "tracking_code", "id", "factorNumber", "settlement.iban", "mobile", "card_number", "payment_number"],
                };
                keys.iter().any(|key| text(record, key).is_some_and(|t| t.contains(value.as_str())))
            }
            // Paging, search_field (read with q) and parameters the spec does not list, which Laravel ignores.
            _ => true,
        };
        if !keep {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Newest first, cursor paging by id; per_page at most 100, as the spec says. IPG payments and settlements,
/// every filter the spec lists honoured or refused.
async fn transactions(
    State(data): State<Shared>,
    Path(business): Path<String>,
    headers: HeaderMap,
    Query(query): Query<Vec<(String, String)>>,
    page: PageRequest,
) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    let mut records = data.settlement_transactions();
    records.extend(data.payment_transactions());
    records.sort_by_key(|r| std::cmp::Reverse(r["id"].as_i64().unwrap_or_default()));
    let mut items = Vec::with_capacity(records.len());
    for mut record in records {
        if check!(passes(&record, &query)) {
            if let Some(map) = record.as_object_mut() {
                map.remove("_channel");
                map.remove("_created");
            }
            items.push(record);
        }
    }
    let mut answer = check!(paging::cursor(items, &page, Size::PerPage { max: Some(100) }, "id"));
    answer["status"] = json!(1);
    typed::<types::TransactionListResponse>(answer)
}
