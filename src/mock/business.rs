//! The rest of the business API: business info and users, cash-in, IPG refunds, settlement banks,
//! batch settlements (under /batch), and the listed-only operations (queued settlements, cash-in by
//! code, Ravand), which answer a minimal success since no shape is documented.
use crate::generated::operations::Operation;
use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use serde_json::{json, Value};

use super::paging::{self, PageRequest, Size};
use super::{authorize, listed_only, parse, typed, validation_error, vandar_error, Shared};
use crate::generated::api::types;

type Params = Path<HashMap<String, String>>;

/// A listed-only operation behind business authentication.
fn listed(operation: Operation) -> impl Fn(State<Shared>, Params, HeaderMap) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |State(data): State<Shared>, Path(params): Params, headers: HeaderMap| {
        let data = data.lock();
        let business = params.get("business").cloned().unwrap_or_default();
        std::future::ready(match authorize(&data, &headers, &business) {
            Ok(()) => listed_only(operation),
            Err(refused) => refused,
        })
    }
}

fn get_listed(operation: Operation) -> MethodRouter<Shared> {
    get(listed(operation))
}

fn post_listed(operation: Operation) -> MethodRouter<Shared> {
    post(listed(operation))
}

pub(super) fn routes() -> Router<Shared> {
    let b3 = "/v3/business/{business}";
    let r = "/v1/business/{business}/ravand";
    let ch = "/v1/business/{business}/ravand/provider/{provider}/cardholder/{cardholder_id}";
    Router::new()
        .route("/v2/business/{business}", get(business_show))
        .route("/v2/business/{business}/iam", get(business_users))
        .route(&format!("{b3}/settlement/banks"), get(settlement_banks))
        .route(&format!("{b3}/settlement/queued"), post_listed(Operation::SettlementQueuedStore).get(listed(Operation::SettlementQueuedList)))
        .route(&format!("{b3}/settlement/queued/{{id}}"), get_listed(Operation::SettlementQueuedShow))
        .route(&format!("{b3}/settlement/queued/cancel"), post_listed(Operation::SettlementQueuedCancel))
        .route(&format!("{b3}/cash-in/account"), get(cash_in_accounts))
        .route(&format!("{b3}/cash-in/account/deposit"), post(cash_in_deposit))
        .route(&format!("{b3}/cash-in/account/balance"), post(cash_in_balance))
        .route(&format!("{b3}/cash-in/code"), get_listed(Operation::CashInCodeShow))
        .route(&format!("{b3}/cash-in/pic/transactions"), get_listed(Operation::CashInCodeTransactions))
        .route(&format!("{b3}/cash-in/suspicious-payment"), get_listed(Operation::CashInSuspiciousPayments))
        .route(&format!("{b3}/cash-in/suspicious-payment/{{id}}"), post_listed(Operation::CashInSuspiciousPaymentSubmit))
        .route(&format!("{b3}/transaction/{{transaction_id}}/refund"), post(transaction_refund))
        .route(&format!("{r}/set-config"), post_listed(Operation::RavandSetConfig))
        .route(&format!("{r}/provinces"), get_listed(Operation::RavandProvinces))
        .route(&format!("{r}/cities"), get_listed(Operation::RavandCities))
        .route(&format!("{r}/guilds"), get_listed(Operation::RavandGuilds))
        .route(&format!("{r}/educations"), get_listed(Operation::RavandEducations))
        .route(&format!("{r}/occupations"), get_listed(Operation::RavandOccupations))
        .route(&format!("{r}/reasons"), get_listed(Operation::RavandReasons))
        .route(&format!("{r}/provider/{{provider}}/cardholder"), post_listed(Operation::RavandCardholderCreate))
        .route(ch, axum::routing::put(listed(Operation::RavandCardholderUpdate)))
        .route(&format!("{ch}/video-caption"), get_listed(Operation::RavandCardholderVideoCaption))
        .route(&format!("{ch}/upload"), post(ravand_upload))
        .route(&format!("{ch}/finalize"), post_listed(Operation::RavandCardholderFinalize))
        .route(&format!("{ch}/inquiry"), get_listed(Operation::RavandCardholderInquiry))
        .route(&format!("{ch}/token"), post_listed(Operation::RavandCardActivationToken))
        .route(&format!("{ch}/accounts-info"), get_listed(Operation::RavandAccountsInfo))
        .route(&format!("{ch}/balance"), post_listed(Operation::RavandBalance))
        .route(&format!("{ch}/bank-statement"), get_listed(Operation::RavandBankStatement))
        .route(&format!("{ch}/transfer"), post_listed(Operation::RavandTransfer))
        .route(&format!("{ch}/transfer/retry-otp"), post_listed(Operation::RavandTransferRetryOtp))
        .route(&format!("{ch}/transfer/confirm-otp"), post_listed(Operation::RavandTransferConfirmOtp))
        .route("/v1/redirect/{token}", get(ravand_redirect))
}

/// `batch.vandar.io`, under /batch.
pub(super) fn batch_routes() -> Router<Shared> {
    Router::new()
        .route("/api/v2/business/{business}/batches-settlement", post(batch_store))
        .route("/api/v2/business/{business}/batches", get(batch_list))
        .route("/api/v2/business/{business}/batch-settlements/{batch_id}", get(batch_show))
}

async fn business_show(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    typed::<types::BusinessResponse>(json!({"status": 1, "data": {
        "id": 662, "active": 1, "business_name": business, "business_name_fa": "فروشگاه آزمایشی", "legal_business_name": null,
        "national_id": null, "business_type": "personal", "phone_number": "02112345678", "postal_code": "1234567890", "city_id": "8-6",
        "mcc_code": "15200002", "address": "تهران", "wallet": data.wallet_rials / 10, "deductible_amount": (data.wallet_rials / 10).to_string(),
        "blocked_amount": 0, "avatar": null, "statusBox": {"payment_required": false, "national_card_photo": "accepted", "official_Newspaper": null, "introduction_letter": null},
        "status": 1, "today_transactions": data.payments.len(), "today_settlements": data.settlements.len(), "role_name": "مالک", "role": "owner",
        "permissions": ["view_dashboard", "add_settlements", "view_transactions_report"],
        "tools": {"ipg": {"is_enabled": true, "is_created": true}, "subscription": {"is_enabled": true, "is_created": true}}
    }}))
}

/// Takes page and per_page, but its answer has no paging fields: the page's users only.
async fn business_users(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    let owner = json!({"name": "مالک کسب و کار", "avatar": null, "role": "business owner", "status": 1, "role_id": 0, "id": null});
    let users = check!(paging::slice(vec![owner], &page, Size::PerPage { max: None }));
    typed::<types::BusinessUsersResponse>(json!({"status": 1, "data": {"users": users}}))
}

async fn settlement_banks(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    typed::<types::SettlementBanksResponse>(json!({"message": "ok", "data": [
        {"name": "بانک آینده", "code": "062", "a2a": {"limit": {"time_limit": [], "amount_limit": {"total": 1000000000, "used": 0, "remained": 1000000000}},
            "is_active": true, "has_ability": true, "is_healthy": true}}
    ]}))
}

const CASH_IN_IBAN: &str = "IR330120020000002353697200";

async fn cash_in_accounts(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    typed::<types::CashInAccountsResponse>(json!({"data": [{"account_number": "0201234567", "account_description": "حساب جاری",
        "id": null, "IBAN": CASH_IN_IBAN, "account_owner": [{"firstName": "فروشگاه", "lastName": "آزمایشی"}], "bank_name": "بانک آینده"}]}))
}

async fn cash_in_deposit(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: types::CashInDepositRequest = check!(parse(&body));
    if request.iban.to_string() != CASH_IN_IBAN {
        return validation_error("iban", super::messages::IBAN_NOT_FOUND);
    }
    if data.find("cash_in", "track_id", &request.track_id).is_some() {
        return validation_error("track_id", "track_id تکراری است");
    }
    let amount = request.amount.0;
    // The mock's wallet is an i64 of Rials (9.2e18; no wallet comes near): a deposit past it fills it.
    data.wallet_rials = data.wallet_rials.saturating_add(amount);
    let id = data.next_id();
    data.records("cash_in").push(json!({"track_id": request.track_id}));
    typed::<types::CashInDepositResponse>(json!({"status": 1, "message": "ثبت شد", "data": {"cash_in": [{
        "gateway_transaction_id": id, "amount": amount, "amount_toman": amount / 10, "wage": 0, "wage_toman": 0, "status": "INIT",
        "iban": CASH_IN_IBAN, "receipt_url": format!("https://vand.ar/{id}")}]}}))
}

async fn cash_in_balance(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    match parse::<types::IbanRequest>(&body) {
        Ok(request) if request.iban.to_string() == CASH_IN_IBAN => typed::<types::CashInBalanceResponse>(json!({"balance": 4_525_586, "available_balance": 3_200_000})),
        Ok(_) => validation_error("iban", super::messages::IBAN_NOT_FOUND),
        Err(refused) => refused,
    }
}

async fn transaction_refund(State(data): State<Shared>, Path((business, transaction_id)): Path<(String, i64)>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: types::RefundRequest = if body.is_empty() {
        types::RefundRequest::default()
    } else {
        match parse(&body) {
            Ok(request) => request,
            Err(refused) => return refused,
        }
    };
    let Some(paid) = super::ipg::verified_amount(&data, transaction_id) else {
        return validation_error("transaction_id", "تراکنش موفق یافت نشد");
    };
    let amount = request.amount.map_or(paid, |a| a.0);
    if amount > paid {
        return validation_error("amount", "مبلغ بازگشت بیشتر از مبلغ تراکنش است");
    }
    if amount > data.wallet_rials {
        return validation_error("amount", super::messages::INSUFFICIENT_BALANCE);
    }
    data.wallet_rials -= amount;
    typed::<types::RefundResponse>(json!({"status": 1, "data": {"message": "ثبت شد", "results": [{
        "id": uuid::Uuid::new_v4().to_string(), "retry_count": "01", "gateway_transaction_id": transaction_id, "amount": amount, "wage": 0,
        "payment_number": request.payment_number, "status": "PENDING", "description": request.description, "wallet": (data.wallet_rials / 10).to_string(),
        "refund_date": "1405/09/03 11:05:00", "created_at": "1405/09/02 07:29:44", "receipt_url": null}]}}))
}

async fn ravand_upload(State(data): State<Shared>, Path(params): Params, headers: HeaderMap) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, params.get("business").map(String::as_str).unwrap_or_default()));
    let multipart = headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with("multipart/form-data"));
    if !multipart {
        return vandar_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "the upload is multipart/form-data");
    }
    listed_only(Operation::RavandCardholderUpload)
}

/// The activation page. The token is any text the path held: percent-encoded into the query, so
/// `Location` is always a URI (a raw `Ã` or `&` would break the header or the query).
async fn ravand_redirect(Path(token): Path<String>) -> Response {
    let mut location = url::Url::parse("https://mock.vandar/ravand/activate").expect("a fixed URL");
    location.query_pairs_mut().append_pair("token", &token);
    (StatusCode::FOUND, [("location", location.to_string())]).into_response()
}

async fn batch_store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: crate::generated::batch::types::BatchSettlementStoreRequest = check!(parse(&body));
    let batch_id = request.batch_id.to_string();
    if data.find("batches", "batch_id", &batch_id).is_some() {
        return validation_error("batch_id", "batch_id تکراری است");
    }
    // A total past what any wallet holds (its Rials past i64) is more than this one holds.
    let total = request.batches_settlement.iter().try_fold(0i64, |total, s| total.checked_add(s.amount)).and_then(|t| t.checked_mul(10).map(|_| t));
    let Some(total) = total.filter(|total| total * 10 <= data.wallet_rials) else {
        return validation_error("batches_settlement", super::messages::INSUFFICIENT_BALANCE);
    };
    data.wallet_rials -= total * 10;
    let mut records = Vec::new();
    for item in &request.batches_settlement {
        let transaction_id = data.next_id();
        data.records("batch_settlements").push(json!({"batch_id": batch_id, "id": uuid::Uuid::new_v4().to_string(), "track_id": item.track_id,
            "payment_number": item.payment_number.map(|n| n.to_string()), "amount": item.amount.to_string(), "iban": item.iban.to_string(),
            "status": "INIT", "transaction_id": transaction_id, "error_message": null, "description": item.description.as_ref().map(|d| d.to_string())}));
        records.push(json!({"id": uuid::Uuid::new_v4().to_string(), "transaction_id": transaction_id, "amount": item.amount * 10,
            "amount_toman": item.amount, "status": "PENDING", "is_instant": item.is_instant.unwrap_or(false)}));
    }
    let (count, created_at) = (request.batches_settlement.len(), data.clock.unix());
    data.records("batches").push(json!({"batch_id": batch_id, "status": {"total_count": count, "init_count": count, "submitted_count": 0, "failed_count": 0},
        "total_amount": total, "created_at": created_at}));
    typed::<crate::generated::batch::types::SettlementStoreResponse>(json!({"status": 1, "data": {"settlement": records}}))
}

async fn batch_list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let items = data.records("batches").clone();
    typed::<crate::generated::batch::types::BatchListResponse>(check!(paging::resource(items, &page, Size::PerPage { max: None })))
}

#[derive(serde::Deserialize)]
struct BatchQuery {
    status: Option<String>,
}

async fn batch_show(
    State(data): State<Shared>,
    Path((business, batch_id)): Path<(String, String)>,
    headers: HeaderMap,
    Query(query): Query<BatchQuery>,
    page: PageRequest,
) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    if data.find("batches", "batch_id", &batch_id).is_none() {
        return vandar_error(StatusCode::NOT_FOUND, "batch not found");
    }
    let items: Vec<Value> = data
        .records("batch_settlements")
        .iter()
        .filter(|s| s["batch_id"] == batch_id && query.status.as_ref().is_none_or(|st| s["status"] == *st))
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().map(|m| m.remove("batch_id"));
            s
        })
        .collect();
    typed::<crate::generated::batch::types::BatchSettlementsResponse>(check!(paging::resource(items, &page, Size::PerPage { max: None })))
}
