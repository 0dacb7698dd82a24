//! Customers, custom fields, customer wallets (with insufficient balance), IBANs, cards, identity
//! checks, logs, deposit ids and the listed-only inquiries.
use crate::generated::operations::Operation;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::paging::{self, PageRequest, Size};
use super::{authorize, listed_only, parse, typed, validation_error, vandar_error, Data, Shared};
use crate::generated::api::types;

type Customer = (String, String); // (business, customer)

pub(super) fn routes() -> Router<Shared> {
    let c = "/v2/business/{business}/customers";
    let c3 = "/v3/business/{business}/customers";
    Router::new()
        .route(c, get(list).post(store))
        .route(&format!("{c}/fields"), get(field_list).post(field_store))
        .route(&format!("{c}/fields/{{field_id}}"), get(field_show).put(field_update).delete(field_delete))
        .route(&format!("{c}/{{customer}}"), get(show).put(update).delete(remove))
        .route(&format!("{c}/{{customer}}/wallet"), get(wallet))
        .route(&format!("{c}/{{customer}}/wallet/deposit"), post(deposit))
        .route(&format!("{c}/{{customer}}/wallet/withdraw"), post(withdraw))
        .route(&format!("{c}/{{customer}}/transactions"), post(transactions))
        .route(&format!("{c}/{{customer}}/logs"), post(logs))
        .route(&format!("{c3}/{{customer}}/ibans"), get(iban_list).post(iban_store))
        .route(&format!("{c3}/{{customer}}/ibans/{{iban}}"), delete(iban_delete))
        .route(&format!("{c3}/{{customer}}/ibans/{{iban}}/inquiry"), post(iban_inquiry))
        .route(&format!("{c3}/{{customer}}/ibans/{{iban}}/set-default"), post(iban_default))
        .route(&format!("{c3}/{{customer}}/cards"), get(card_list).post(card_store))
        .route(&format!("{c3}/{{customer}}/cards/to-iban"), post(card_to_iban))
        .route(&format!("{c3}/{{customer}}/cards/{{card}}"), delete(card_delete))
        .route(&format!("{c3}/{{customer}}/cards/{{card}}/inquiry"), post(card_inquiry))
        .route(&format!("{c3}/{{customer}}/cards/{{card}}/set-default"), post(card_default))
        .route(&format!("{c3}/{{customer}}/authentication/kyc"), post(|s, p: Path<Customer>, h| registered(s, p, h, Operation::CustomerKyc)))
        .route(&format!("{c3}/{{customer}}/authentication/shahkar"), post(|s, p: Path<Customer>, h| registered(s, p, h, Operation::CustomerShahkar)))
        .route(&format!("{c3}/authentication/kyc"), post(kyc_unregistered))
        .route(&format!("{c3}/authentication/shahkar"), post(shahkar_unregistered))
        .route(&format!("{c3}/{{customer}}/cash-in-code"), get(cash_in_code))
        .route(&format!("{c3}/inquiry/nid"), post(|s, p, h, b| inquiry(s, p, h, b, Operation::InquiryNid)))
        .route(&format!("{c3}/inquiry/nid-image"), post(|s, p, h, b| inquiry(s, p, h, b, Operation::InquiryNidImage)))
        .route(&format!("{c3}/inquiry/fida"), post(|s, p, h, b| inquiry(s, p, h, b, Operation::InquiryFida)))
        .route(&format!("{c3}/inquiry/postal-code"), post(|s, p, h, b| inquiry(s, p, h, b, Operation::InquiryPostalCode)))
        .route(&format!("{c3}/national-code-iban-inquiry"), post(|s, p, h, b| inquiry(s, p, h, b, Operation::InquiryNationalCodeIban)))
        .route(&format!("{c3}/match-mobile-card"), post(|s, p, h, b| inquiry(s, p, h, b, Operation::InquiryMatchMobileCard)))
}

/// Authorizes and finds the customer, or answers the error.
fn customer<'a>(data: &'a mut Data, headers: &HeaderMap, business: &str, id: &str) -> Result<&'a mut Value, Response> {
    authorize(data, headers, business)?;
    data.find("customers", "id", id).ok_or_else(|| vandar_error(StatusCode::NOT_FOUND, "مشتری یافت نشد"))
}

fn log(data: &mut Data, customer: &str, kind: &str) {
    let now = data.clock.unix();
    data.records("customer_log_entries").push(json!({"customer": customer, "type": kind, "description": kind, "created_at": now, "updated_at": now}));
}

fn owned_by(data: &mut Data, collection: &'static str, customer: &str) -> Vec<Value> {
    data.records(collection).iter().filter(|r| r["customer"] == customer).map(strip_owner).collect()
}

fn strip_owner(record: &Value) -> Value {
    let mut record = record.clone();
    record.as_object_mut().map(|r| r.remove("customer"));
    record
}

/// The Customer schema's view of a stored request.
fn customer_view(record: &Value) -> Value {
    let individual = record["type"] == "INDIVIDUAL";
    let name = if individual {
        format!("{} {}", record["first_name"].as_str().unwrap_or(""), record["last_name"].as_str().unwrap_or("")).trim().to_string()
    } else {
        record["legal_name"].as_str().unwrap_or("").to_string()
    };
    let mut view = record.clone();
    let map = view.as_object_mut().expect("an object");
    map.remove("id");
    map.remove("custom_fields");
    map.insert("name".into(), json!(name));
    map.insert("custom_fields".into(), json!([]));
    view
}

fn check_customer(request: &types::CustomerRequest) -> Result<(), Response> {
    let individual = request.type_.as_str() == "INDIVIDUAL";
    let (mobile, code) = if individual {
        (("mobile", request.mobile.is_some()), ("individual_national_code", request.individual_national_code.is_some()))
    } else {
        (("agent_mobile", request.agent_mobile.is_some()), ("legal_national_code", request.legal_national_code.is_some()))
    };
    for (field, present) in [mobile, code] {
        if !present {
            return Err(validation_error(field, &format!("The {field} field is required.")));
        }
    }
    Ok(())
}

// The customer lists take `page` only (pages of 15).

async fn list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let items: Vec<Value> = data
        .records("customers")
        .iter()
        .map(|c| {
            let view = customer_view(c);
            json!({"id": c["id"], "name": view["name"], "balance": c["balance"], "created_at": "13:53 - 1405/09/02", "mobile": c["mobile"], "custom_fields": []})
        })
        .collect();
    typed::<types::CustomerListResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

async fn store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: types::CustomerRequest = check!(parse(&body));
    check!(check_customer(&request));
    let id = uuid::Uuid::new_v4().to_string();
    let mut record = serde_json::to_value(&request).expect("serializes");
    record["id"] = json!(id);
    record["balance"] = json!(0);
    data.records("customers").push(record);
    log(&mut data, &id, "CUSTOMER_CREATED");
    typed::<types::CustomerStoreResponse>(json!({"status": "1", "message": "مشتری با موفقیت ثبت شد", "result": {"customer": {"id": id}}}))
}

async fn show(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match customer(&mut data, &headers, &business, &id) {
        Ok(record) => typed::<types::CustomerShowResponse>(json!({"customer": customer_view(record)})),
        Err(refused) => refused,
    }
}

async fn update(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    let request: types::CustomerRequest = check!(parse(&body));
    check!(check_customer(&request));
    let view = match customer(&mut data, &headers, &business, &id) {
        Ok(record) => {
            let balance = record["balance"].clone();
            *record = serde_json::to_value(&request).expect("serializes");
            record["id"] = json!(id);
            record["balance"] = balance;
            customer_view(record)
        }
        Err(refused) => return refused,
    };
    log(&mut data, &id, "CUSTOMER_UPDATED");
    typed::<types::CustomerUpdateResponse>(json!({"message": "اطلاعات مشتری ویرایش شد", "customer": view}))
}

async fn remove(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    data.records("customers").retain(|c| c["id"] != id);
    typed::<types::StatusMessage>(json!({"status": 1, "message": "مشتری حذف شد"}))
}

async fn field_list(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let items = data.records("fields").clone();
    typed::<types::CustomerFieldListResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

async fn field_store(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&data, &headers, &business));
    let request: types::CustomerFieldRequest = check!(parse(&body));
    let id = data.records("fields").len() as i64 + 1;
    let now = data.clock.unix();
    data.records("fields").push(json!({"id": id, "name": request.name, "created_at": now, "updated_at": now}));
    typed::<types::CustomerFieldStoreResponse>(json!({"status": "1", "message": "فیلد ثبت شد", "result": {"field": {"id": id}}}))
}

fn field<'a>(data: &'a mut Data, headers: &HeaderMap, business: &str, id: &str) -> Result<&'a mut Value, Response> {
    authorize(data, headers, business)?;
    data.find("fields", "id", id).ok_or_else(|| vandar_error(StatusCode::NOT_FOUND, "فیلد برای این کسب و کار ثبت نشده است"))
}

async fn field_show(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match field(&mut data, &headers, &business, &id) {
        Ok(record) => typed::<types::CustomerFieldShowResponse>(json!({"data": record})),
        Err(refused) => refused,
    }
}

async fn field_update(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    let request: types::CustomerFieldRequest = check!(parse(&body));
    match field(&mut data, &headers, &business, &id) {
        Ok(record) => {
            record["name"] = json!(request.name);
            typed::<types::CustomerFieldUpdateResponse>(json!({"message": "فیلد ویرایش شد", "field": record}))
        }
        Err(refused) => refused,
    }
}

async fn field_delete(State(data): State<Shared>, Path((business, id)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(field(&mut data, &headers, &business, &id));
    data.records("fields").retain(|f| f["id"].as_i64().map(|n| n.to_string()).as_deref() != Some(id.as_str()));
    typed::<types::StatusMessage>(json!({"status": 1, "message": "فیلد حذف شد"}))
}

async fn wallet(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match customer(&mut data, &headers, &business, &id) {
        Ok(record) => typed::<types::CustomerWalletResponse>(json!({"status": 1, "balance": record["balance"], "currency": "RIAL"})),
        Err(refused) => refused,
    }
}

async fn deposit(state: State<Shared>, path: Path<Customer>, headers: HeaderMap, body: Bytes) -> Response {
    movement(state, path, headers, body, 1).await
}

async fn withdraw(state: State<Shared>, path: Path<Customer>, headers: HeaderMap, body: Bytes) -> Response {
    movement(state, path, headers, body, -1).await
}

async fn movement(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, body: Bytes, sign: i64) -> Response {
    let mut data = data.lock();
    let request: types::WalletMovementRequest = check!(parse(&body));
    let amount: i64 = request.amount.0;
    if data.records("wallet_movements").iter().any(|m| m["track_id"] == request.track_id) {
        return validation_error("track_id", "track_id تکراری است");
    }
    let balance = match customer(&mut data, &headers, &business, &id) {
        Ok(record) => {
            // A wallet is an i64 of Rials: a deposit past it fills it.
            let balance = record["balance"].as_i64().unwrap_or_default().saturating_add(sign.saturating_mul(amount));
            if balance < 0 {
                return validation_error("amount", super::messages::CUSTOMER_INSUFFICIENT_BALANCE);
            }
            record["balance"] = json!(balance);
            balance
        }
        Err(refused) => return refused,
    };
    let now = data.clock.unix();
    let uuid = uuid::Uuid::new_v4().to_string();
    let kind = if sign > 0 { "deposit" } else { "withdraw" };
    data.records("wallet_movements").push(json!({"customer": id, "uuid": uuid, "type": kind, "amount": sign * amount,
        "comment": request.comment, "balance": balance.to_string(), "created_at": now, "updated_at": now, "track_id": request.track_id}));
    typed::<types::WalletMovementResponse>(json!({"id": uuid, "track_id": request.track_id, "status": 1, "message": "انجام شد",
        "balance": balance, "currency": "RIAL", "comment": request.comment}))
}

async fn transactions(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    let items: Vec<Value> = owned_by(&mut data, "wallet_movements", &id)
        .into_iter()
        .map(|mut m| {
            m.as_object_mut().map(|m| m.remove("track_id"));
            m
        })
        .collect();
    let mut answer = check!(paging::resource(items, &page, Size::Fixed));
    answer["status"] = json!(1);
    typed::<types::CustomerTransactionsResponse>(answer)
}

async fn logs(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    let items = owned_by(&mut data, "customer_log_entries", &id);
    typed::<types::CustomerLogsResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

fn owners(data: &mut Data, id: &str) -> Value {
    let record = data.find("customers", "id", id).cloned().unwrap_or_default();
    json!([{"firstName": record["first_name"].as_str().unwrap_or("مالک"), "lastName": record["last_name"].as_str().unwrap_or("حساب")}])
}

fn add_account(data: &mut Data, collection: &'static str, id: &str, record: Value) {
    if record["is_default"] == true {
        for other in data.records(collection).iter_mut().filter(|r| r["customer"] == id) {
            other["is_default"] = json!(false);
        }
    }
    data.records(collection).push(record);
}

async fn iban_store(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    let request: types::CustomerIbanStoreRequest = check!(parse(&body));
    check!(customer(&mut data, &headers, &business, &id));
    let now = data.clock.unix();
    let record = json!({"customer": id, "iban": request.iban.to_string(), "is_default": request.is_default, "iban_compatibility": "MATCHED",
        "account_owners": owners(&mut data, &id), "bank_name": "بانک آینده", "account_description": null, "account_number": null, "created_at": now, "updated_at": now});
    add_account(&mut data, "ibans", &id, record.clone());
    typed::<types::CustomerIban>(strip_owner(&record))
}

async fn iban_list(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    let items = owned_by(&mut data, "ibans", &id);
    typed::<types::CustomerIbanListResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

fn customer_account<'a>(
    data: &'a mut Data,
    headers: &HeaderMap,
    business: &str,
    id: &str,
    collection: &'static str,
    key: &str,
    value: &str,
) -> Result<&'a mut Value, Response> {
    customer(data, headers, business, id)?;
    account(data, collection, key, id, value)
}

fn account<'a>(data: &'a mut Data, collection: &'static str, key: &str, id: &str, value: &str) -> Result<&'a mut Value, Response> {
    data.records(collection)
        .iter_mut()
        .find(|r| r["customer"] == id && r[key] == value)
        .ok_or_else(|| vandar_error(StatusCode::NOT_FOUND, "یافت نشد"))
}

async fn iban_delete(State(data): State<Shared>, Path((business, id, iban)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(customer_account(&mut data, &headers, &business, &id, "ibans", "iban", &iban).map(|_| ()));
    data.records("ibans").retain(|r| !(r["customer"] == id && r["iban"] == iban));
    typed::<types::MessageOnly>(json!({"message": "شبا حذف شد"}))
}

async fn iban_inquiry(State(data): State<Shared>, Path((business, id, iban)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(customer_account(&mut data, &headers, &business, &id, "ibans", "iban", &iban).map(|_| ()));
    typed::<types::IbanInquiryResponse>(json!({"iban_compatibility": "MATCHED", "account_owners": owners(&mut data, &id)}))
}

async fn iban_default(State(data): State<Shared>, Path((business, id, iban)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    set_default(data, business, id, iban, headers, "ibans", "iban").await
}

async fn set_default(data: Shared, business: String, id: String, value: String, headers: HeaderMap, collection: &'static str, key: &str) -> Response {
    let mut data = data.lock();
    check!(customer_account(&mut data, &headers, &business, &id, collection, key, &value).map(|_| ()));
    for record in data.records(collection).iter_mut().filter(|r| r["customer"] == id) {
        record["is_default"] = json!(record[key] == value);
    }
    typed::<types::MessageOnly>(json!({"message": "پیش فرض شد"}))
}

async fn card_store(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    let request: types::CustomerCardStoreRequest = check!(parse(&body));
    check!(customer(&mut data, &headers, &business, &id));
    let now = data.clock.unix();
    let record = json!({"customer": id, "card": request.card.to_string(), "is_default": request.is_default, "card_compatibility": "MATCHED",
        "name": "مالک کارت", "created_at": now, "updated_at": now});
    add_account(&mut data, "cards", &id, record.clone());
    typed::<types::CustomerCard>(strip_owner(&record))
}

async fn card_list(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    let items = owned_by(&mut data, "cards", &id);
    typed::<types::CustomerCardListResponse>(check!(paging::resource(items, &page, Size::Fixed)))
}

async fn card_delete(State(data): State<Shared>, Path((business, id, card)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(customer_account(&mut data, &headers, &business, &id, "cards", "card", &card).map(|_| ()));
    data.records("cards").retain(|r| !(r["customer"] == id && r["card"] == card));
    typed::<types::MessageOnly>(json!({"message": "کارت حذف شد"}))
}

async fn card_inquiry(State(data): State<Shared>, Path((business, id, card)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    match customer_account(&mut data, &headers, &business, &id, "cards", "card", &card) {
        Ok(record) => typed::<types::CardInquiryResponse>(json!({"card_compatibility": "MATCHED", "name": record["name"]})),
        Err(refused) => refused,
    }
}

async fn card_default(State(data): State<Shared>, Path((business, id, card)): Path<(String, String, String)>, headers: HeaderMap) -> Response {
    set_default(data, business, id, card, headers, "cards", "card").await
}

async fn card_to_iban(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    let request: types::CustomerCardStoreRequest = check!(parse(&body));
    check!(customer(&mut data, &headers, &business, &id));
    // A deterministic IBAN for the card: IR + 24 digits.
    let digits: String = format!("{:0>24}", &request.card.to_string()[..16]);
    let now = data.clock.unix();
    let record = json!({"customer": id, "iban": format!("IR{digits}"), "is_default": request.is_default, "iban_compatibility": "MATCHED",
        "account_owners": owners(&mut data, &id), "bank_name": "بانک ملت", "account_description": null, "account_number": null, "created_at": now, "updated_at": now});
    add_account(&mut data, "ibans", &id, record.clone());
    typed::<types::CustomerIban>(strip_owner(&record))
}

async fn registered(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap, operation: Operation) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    let kind = if operation == Operation::CustomerKyc { "CUSTOMER_KYC_AUTHENTICATION_REQUEST" } else { "CUSTOMER_SHAHKAR_AUTHENTICATION_REQUEST" };
    log(&mut data, &id, kind);
    listed_only(operation)
}

async fn kyc_unregistered(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    match parse::<types::KycRequest>(&body) {
        Ok(_) => listed_only(Operation::KycUnregistered),
        Err(refused) => refused,
    }
}

async fn shahkar_unregistered(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    match parse::<types::ShahkarRequest>(&body) {
        Ok(_) => typed::<types::ShahkarResponse>(json!({"status": "1", "authentication_status": "SUCCESSFUL", "message": "احراز هویت با موفقیت انجام شد"})),
        Err(refused) => refused,
    }
}

async fn cash_in_code(State(data): State<Shared>, Path((business, id)): Path<Customer>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(customer(&mut data, &headers, &business, &id));
    let code: String = id.chars().filter(char::is_ascii_digit).take(15).collect();
    typed::<types::CashInCodeResponse>(json!({"status": 1, "code": format!("{code:0>15}"), "message": "شناسه واریز"}))
}

async fn inquiry(State(data): State<Shared>, Path(business): Path<String>, headers: HeaderMap, body: Bytes, operation: Operation) -> Response {
    let data = data.lock();
    check!(authorize(&data, &headers, &business));
    match serde_json::from_slice::<serde_json::Map<String, Value>>(&body) {
        Ok(_) => listed_only(operation),
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"status": 0, "errors": {"body": [e.to_string()]}}))).into_response(),
    }
}
