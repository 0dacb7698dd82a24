//! Miando escrow: client-credentials token, customers, the agreement life cycle with
//! invalid-state errors, tickets, webhook registration and signed delivery of each event.
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::paging::{self, PageRequest, Size};
use super::{typed, Data, Shared};
use crate::generated::api::types;

pub(super) fn routes() -> Router<Shared> {
    let m = "/miando/api/v1";
    Router::new()
        .route("/sso/oauth/token", post(token))
        .route(&format!("{m}/customers"), post(customer_create).get(customer_list))
        .route(&format!("{m}/customers/{{uid}}"), get(customer_show))
        .route(&format!("{m}/agreements"), post(agreement_create).get(agreement_list))
        .route(&format!("{m}/agreements/{{code}}"), post(agreement_action).get(agreement_show))
        .route(&format!("{m}/agreements/{{code}}/finalize"), post(agreement_finalize))
        .route(&format!("{m}/agreements/{{code}}/cancel"), post(agreement_cancel))
        .route(&format!("{m}/tickets"), post(ticket_create))
        .route(&format!("{m}/webhooks"), post(webhook_create).get(webhook_list))
        .route(&format!("{m}/webhooks/{{id}}"), get(webhook_show).put(webhook_update).delete(webhook_delete))
        .route("/miando/payment/{code}", get(buyer_pays))
}

fn miando_error(status: StatusCode, code: &str, message: &str) -> Response {
    (status, Json(json!({"message": message, "code": code}))).into_response()
}

fn invalid_state() -> Response {
    miando_error(StatusCode::BAD_REQUEST, super::messages::INVALID_AGREEMENT_STATE_CODE, super::messages::INVALID_AGREEMENT_STATE)
}

/// Miando's 422: `{message, code: validation_error, errors: {field: [..]}}`, naming the field.
fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let field = if path == "." { message.split('`').nth(1).unwrap_or("body").to_string() } else { path };
        super::miando_validation_error(&field, &message)
    })
}

fn authorize(data: &mut Data, headers: &HeaderMap) -> Result<(), Response> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    if data.find("miando_tokens", "token", bearer).is_some() {
        Ok(())
    } else {
        Err((StatusCode::UNAUTHORIZED, Json(json!({"error": "Unauthenticated"}))).into_response())
    }
}

async fn token(State(data): State<Shared>, body: Bytes) -> Response {
    let mut data = data.lock();
    let request: types::ClientCredentialsRequest = check!(parse(&body));
    let c = &data.credentials;
    if request.client_id != c.miando_client_id || request.client_secret != c.miando_client_secret || request.grant_type.as_str() != "client_credentials" {
        return (StatusCode::UNAUTHORIZED, Json(json!({"error": "Unauthenticated"}))).into_response();
    }
    let token = format!("mock-miando-jwt-{}", data.records("miando_tokens").len() + 1);
    data.records("miando_tokens").push(json!({"token": token}));
    (StatusCode::CREATED, typed::<types::ClientCredentialsToken>(json!({"token_type": "Bearer", "expires_in": 31536000, "access_token": token})))
        .into_response()
}

async fn customer_create(State(data): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::MiandoCustomerCreateRequest = check!(parse(&body));
    let uid = data.next_id();
    data.records("miando_customers").push(json!({"uid": uid, "first_name": request.first_name, "last_name": request.last_name,
        "national_code": request.national_code.to_string(), "mobile": request.mobile.to_string()}));
    (StatusCode::CREATED, Json(json!({"message": "اطلاعات شما با موفقیت ثبت شد و در دست بررسی است."}))).into_response()
}

/// `page` only (pages of 15), as the agreement list.
async fn customer_list(State(data): State<Shared>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let mut answer = check!(paging::resource(data.records("miando_customers").clone(), &page, Size::Fixed));
    answer["message"] = json!("نمایش موفق اطلاعات مشتریان");
    typed::<types::MiandoCustomerListResponse>(answer)
}

async fn customer_show(State(data): State<Shared>, headers: HeaderMap, Path(uid): Path<String>) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    match data.find("miando_customers", "uid", &uid).cloned() {
        Some(customer) => typed::<types::MiandoCustomerResponse>(json!({"message": "نمایش موفق اطلاعات مشتری", "data": customer})),
        None => miando_error(StatusCode::BAD_REQUEST, "user_not_found", "اطلاعات کاربر در سیستم موجود نیست."),
    }
}

/// The agreement's public view (the stored record keeps its bookkeeping fields apart).
fn view(agreement: &Value) -> Value {
    let mut view = agreement.clone();
    let map = view.as_object_mut().expect("an object");
    map.remove("paid");
    map.remove("redirect_url");
    view
}

async fn agreement_create(State(data): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::AgreementCreateRequest = check!(parse(&body));
    let mut parties = Vec::new();
    for party in &request.parties {
        let Some(customer) = data.find("miando_customers", "mobile", &party.mobile.to_string()).cloned() else {
            return miando_error(StatusCode::BAD_REQUEST, "user_not_found", "اطلاعات کاربر در سیستم موجود نیست.");
        };
        let state = if party.role == request.creator { "accepted" } else { "pending" };
        parties.push(json!({"role": party.role, "state": state, "national_code": customer["national_code"], "mobile": customer["mobile"]}));
    }
    let amount: i64 = request.items.iter().map(|i| i.price.0 * i.quantity).sum();
    // The mock's clock, as every date it invents (assumed: the agreement in UTC as Laravel serializes a
    // model, the webhook's in Tehran's wall clock, as the Miando document's examples read).
    let now = data.clock.unix();
    let code = (data.next_id() % 10_000_000_000).to_string();
    let items: Vec<Value> = request
        .items
        .iter()
        .map(|i| json!({"title": i.title, "description": i.description, "quantity": i.quantity, "link": i.link, "category": i.category}))
        .collect();
    let agreement = json!({"tracking_code": code, "trace_id": request.trace_id, "description": request.description, "parties": parties,
        "items": items, "amount": amount, "state": "draft", "creator": request.creator, "created_at": super::clock::utc_timestamp(now),
        "paid": false, "redirect_url": request.redirect_url});
    data.records("agreements").push(agreement.clone());
    let creator = request.creator.to_string();
    let creator_mobile = request.parties.iter().find(|p| p.role == request.creator).map(|p| p.mobile.to_string());
    emit(&mut data, "agreement_created", json!({"tracking_code": code, "creator_role": creator, "created_at": super::clock::tehran_date_time(now), "creator_mobile": creator_mobile}));
    (StatusCode::CREATED, typed::<types::AgreementResponse>(json!({"message": "معامله با موفقیت ایجاد شد", "data": view(&agreement)}))).into_response()
}

fn agreement<'a>(data: &'a mut Data, code: &str) -> Result<&'a mut Value, Response> {
    data.find("agreements", "tracking_code", code).ok_or_else(|| miando_error(StatusCode::NOT_FOUND, "not_found_error", "موردی یافت نشد"))
}

fn role_of(agreement: &Value, mobile: &str) -> Option<String> {
    agreement["parties"].as_array()?.iter().find(|p| p["mobile"] == mobile).and_then(|p| p["role"].as_str()).map(String::from)
}

async fn agreement_action(State(data): State<Shared>, headers: HeaderMap, Path(code): Path<String>, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::AgreementActionRequest = check!(parse(&body));
    let mobile = request.applicant_mobile.to_string();
    let link = format!("{}/miando/payment/{code}", data.base_url);
    let (event, answer) = {
        let found = check!(agreement(&mut data, &code));
        let Some(role) = role_of(found, &mobile) else { return invalid_state() };
        let parties = found["parties"].as_array_mut().expect("parties");
        let party = parties.iter_mut().find(|p| p["mobile"] == mobile).expect("a party");
        if found_state(party) != "pending" {
            return invalid_state();
        }
        let agree = request.action.as_str() == "agree";
        party["state"] = json!(if agree { "accepted" } else { "rejected" });
        let all_accepted = parties.iter().all(|p| p["state"] == "accepted");
        if agree && all_accepted {
            found["state"] = json!("contract");
        } else if !agree {
            // The documents name no state for a rejected agreement; the mock ends it as a cancelled one
            // (the spec's x-vandar-mock-values on AgreementState says so), and the party reads `rejected`.
            found["state"] = json!("cancelled");
        }
        let verb = if agree { "agreed" } else { "rejected" };
        let answer = if agree {
            json!({"message": "درخواست ایجاد معامله تایید شد.", "data": {"web_view_link": link}})
        } else {
            json!({"message": "درخواست ایجاد معامله رد شد."})
        };
        (format!("{role}_{verb}_agreement"), answer)
    };
    let applicant = (request.action.as_str() == "agree").then_some(mobile);
    emit(&mut data, &event, json!({"tracking_code": code, "applicant_mobile": applicant}));
    typed::<types::AgreementActionResponse>(answer)
}

fn found_state(party: &Value) -> &str {
    party["state"].as_str().unwrap_or_default()
}

/// The buyer pays on the web view link (the payment page of the mock).
async fn buyer_pays(State(data): State<Shared>, Path(code): Path<String>) -> Response {
    let mut data = data.lock();
    let (trace_id, amount, payer, redirect) = match agreement(&mut data, &code) {
        Ok(found) if found["state"] == "contract" && found["paid"] == false => {
            found["paid"] = json!(true);
            let buyer = found["parties"].as_array().and_then(|p| p.iter().find(|p| p["role"] == "buyer")).map(|p| p["mobile"].clone());
            (found["trace_id"].clone(), found["amount"].to_string(), buyer, found["redirect_url"].as_str().unwrap_or_default().to_string())
        }
        Ok(_) => return invalid_state(),
        Err(refused) => return refused,
    };
    let reference = data.next_id().to_string();
    emit(&mut data, "buyer_paid_agreement", json!({"tracking_code": code, "trace_id": trace_id, "transaction_ref_id": reference, "payer_mobile": payer, "amount": amount}));
    (StatusCode::FOUND, [("location", redirect)]).into_response()
}

async fn agreement_finalize(State(data): State<Shared>, headers: HeaderMap, Path(code): Path<String>, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::AgreementFinalizeRequest = check!(parse(&body));
    let amount = match agreement(&mut data, &code) {
        Ok(found) if role_of(found, &request.buyer_mobile.to_string()).as_deref() == Some("buyer") && found["paid"] == true && found["state"] == "contract" => {
            found["state"] = json!("finalize");
            found["amount"].to_string()
        }
        Ok(_) => return invalid_state(),
        Err(refused) => return refused,
    };
    emit(&mut data, "agreement_finalized", json!({"tracking_code": code}));
    emit(&mut data, "seller_checked_out", json!({"tracking_code": code, "amount": amount}));
    typed::<types::AgreementFinalizeResponse>(json!({"message": "معامله با موفقیت تکمیل شد.", "data": {"is_finalized": true}}))
}

async fn agreement_cancel(State(data): State<Shared>, headers: HeaderMap, Path(code): Path<String>, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::AgreementCancelRequest = check!(parse(&body));
    let (refund, amount) = match agreement(&mut data, &code) {
        Ok(found) => {
            let paid = found["paid"] == true;
            let state = found["state"].as_str().unwrap_or_default().to_string();
            let allowed = match role_of(found, &request.applicant_mobile.to_string()).as_deref() {
                // The buyer cancels a draft or an agreed, unpaid agreement; the seller also after payment or with a ticket open.
                Some("buyer") => (state == "draft" || state == "contract") && !paid,
                Some("seller") => state == "draft" || state == "contract" || state == "investigation",
                _ => false,
            };
            if !allowed {
                return invalid_state();
            }
            found["state"] = json!("cancelled");
            (paid, found["amount"].to_string())
        }
        Err(refused) => return refused,
    };
    emit(&mut data, "agreement_cancelled", json!({"tracking_code": code}));
    if refund {
        emit(&mut data, "payment_refunded_to_buyer", json!({"tracking_code": code, "amount": amount}));
    }
    typed::<types::AgreementCancelResponse>(json!({"message": "معامله با موفقیت لغو شد.", "data": {"is_canceled": true}}))
}

async fn agreement_show(State(data): State<Shared>, headers: HeaderMap, Path(code): Path<String>) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    match agreement(&mut data, &code) {
        Ok(found) => typed::<types::AgreementResponse>(json!({"message": "نمایش موفق اطلاعات معامله", "data": view(found)})),
        Err(refused) => refused,
    }
}

async fn agreement_list(State(data): State<Shared>, headers: HeaderMap, page: PageRequest) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let items: Vec<Value> = data.records("agreements").iter().map(view).collect();
    let mut answer = check!(paging::resource(items, &page, Size::Fixed));
    answer["message"] = json!("نمایش موفق اطلاعات معاملات");
    typed::<types::AgreementListResponse>(answer)
}

async fn ticket_create(State(data): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::TicketCreateRequest = check!(parse(&body));
    let reporter = request.reporter_mobile.to_string();
    let (role, trace_id) = match agreement(&mut data, &request.agreement_tracking_code) {
        Ok(found) => {
            let Some(role) = role_of(found, &reporter) else { return invalid_state() };
            if found["state"] != "contract" {
                return invalid_state();
            }
            found["state"] = json!("investigation");
            (role, found["trace_id"].clone())
        }
        Err(refused) => return refused,
    };
    let uid = data.next_id();
    emit(&mut data, &format!("{role}_submitted_ticket"), json!({"tracking_code": request.agreement_tracking_code, "trace_id": trace_id, "reporter_mobile": reporter}));
    let answer = json!({"message": "تیکت با موفقیت ایجاد شد", "data": {"ticket_uid": uid, "button": {"type": "redirect_url", "link": request.redirect_url, "text": "بازگشت"}}});
    (StatusCode::CREATED, typed::<types::TicketCreateResponse>(answer)).into_response()
}

fn title(slug: &str) -> &'static str {
    match slug {
        "agreement_created" => "معامله جدید ساخته شد",
        "agreement_finalized" => "معامله با موفقیت به پایان رسید",
        "seller_agreed_agreement" => "فروشنده معامله را پذیرفت",
        _ => "رویداد میاندو",
    }
}

fn webhook_view(record: &Value) -> Value {
    let events: Vec<Value> = record["events"].as_array().into_iter().flatten().map(|e| json!({"slug": e, "title": title(e.as_str().unwrap_or(""))})).collect();
    json!({"id": record["id"], "url": record["url"], "is_active": record["is_active"], "events": events})
}

async fn webhook_create(State(data): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::WebhookCreateRequest = check!(parse(&body));
    let id = data.records("webhooks").iter().filter_map(|w| w["id"].as_i64()).max().unwrap_or(0) + 1;
    let record = json!({"id": id, "url": request.url.to_string(), "is_active": true, "events": request.events});
    data.records("webhooks").push(record.clone());
    let answer = json!({"message": "اطلاعات وبهوک با موفقیت ثبت شد.", "data": webhook_view(&record)});
    (StatusCode::CREATED, typed::<types::WebhookResponse>(answer)).into_response()
}

fn webhook<'a>(data: &'a mut Data, id: &str) -> Result<&'a mut Value, Response> {
    data.find("webhooks", "id", id).ok_or_else(|| miando_error(StatusCode::NOT_FOUND, "not_found_error", "موردی یافت نشد"))
}

async fn webhook_update(State(data): State<Shared>, headers: HeaderMap, Path(id): Path<String>, body: Bytes) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let request: types::WebhookUpdateRequest = check!(parse(&body));
    match webhook(&mut data, &id) {
        Ok(record) => {
            record["url"] = json!(request.url.to_string());
            record["is_active"] = json!(request.is_active);
            record["events"] = json!(request.events);
            typed::<types::WebhookUpdateResponse>(json!({"url": record["url"], "events": record["events"], "is_active": record["is_active"]}))
        }
        Err(refused) => refused,
    }
}

async fn webhook_show(State(data): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    match webhook(&mut data, &id) {
        Ok(record) => typed::<types::WebhookResponse>(json!({"message": "نمایش اطلاعات وبهوک با موفقیت انجام شد.", "data": webhook_view(record)})),
        Err(refused) => refused,
    }
}

async fn webhook_list(State(data): State<Shared>, headers: HeaderMap) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    let hooks: Vec<Value> = data.records("webhooks").iter().map(webhook_view).collect();
    typed::<types::WebhookListResponse>(json!({"message": "نمایش اطلاعات وبهوک با موفقیت انجام شد.", "data": hooks}))
}

async fn webhook_delete(State(data): State<Shared>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let mut data = data.lock();
    check!(authorize(&mut data, &headers));
    check!(webhook(&mut data, &id));
    data.records("webhooks").retain(|w| w["id"].as_i64().map(|n| n.to_string()).as_deref() != Some(id.as_str()));
    typed::<types::MiandoMessage>(json!({"message": "وبهوک با موفقیت حذف شد."}))
}

/// The group an event belongs to (a webhook subscribed to the group gets every event of it).
fn group(event: &str) -> &'static str {
    match event {
        "buyer_paid_agreement" | "payment_refunded_to_buyer" | "seller_checked_out" => "payment",
        "buyer_submitted_ticket" | "seller_submitted_ticket" => "ticket",
        _ => "agreement",
    }
}

/// Delivers `event` to every active webhook subscribed to it, signed with the business slug.
fn emit(data: &mut Data, event: &str, mut payload: Value) {
    if let Some(map) = payload.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    let body = serde_json::to_vec(&json!({"created": data.clock.unix(), "type": event, "data": payload})).expect("serializes");
    let signature = crate::inbound::webhook::sign(&body, &data.credentials.business);
    let targets: Vec<String> = data
        .records("webhooks")
        .iter()
        .filter(|w| w["is_active"] == true)
        .filter(|w| w["events"].as_array().is_some_and(|e| e.iter().any(|s| s == event || s == group(event))))
        .filter_map(|w| w["url"].as_str().map(String::from))
        .collect();
    for url in targets {
        let target = data.routed(&url);
        let (body, signature) = (body.clone(), signature.clone());
        super::deliver(&data.deliveries, data.redelivery, "webhook", target, move |client, target| {
            client
                .post(target)
                .header("content-type", "application/json")
                .header(crate::inbound::webhook::SIGNATURE_HEADER, &signature)
                .body(body.clone())
        });
    }
}
