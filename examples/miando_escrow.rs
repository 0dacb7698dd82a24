//! Miando escrow against the embedded mock Vandar: an agreement from draft to finalized, with its
//! webhooks received by an axum handler and verified with `vandar::inbound::webhook`.
//!
//!     cargo run --example miando_escrow --features mock
use vandar::money::Rials;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use vandar::api::types::{AgreementCreateRequest, AgreementItemInput, AgreementPartyInput};
use vandar::mock::MockVandar;

const BUYER: &str = "09123456789";
const SELLER: &str = "09023456789";

/// Your webhook endpoint: verify X-Signature over the raw body, then act on the typed event.
async fn miando_webhook(State(seen): State<Arc<Mutex<Vec<String>>>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    match vandar::inbound::webhook::verify(&headers, &body, "mock-shop") {
        Ok(event) => {
            println!("   webhook  <- {} for agreement {}", event.event_type(), event.tracking_code().unwrap_or("?"));
            seen.lock().unwrap().push(event.event_type().to_string());
            StatusCode::OK
        }
        Err(refused) => {
            println!("   webhook  <- refused: {refused}");
            refused.status() // 401 unsigned or badly signed, 400 signed but malformed
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;
    let api = vandar.api();

    // Your webhook receiver (on loopback here; the mock delivers https registrations to it).
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = axum::Router::new().route("/miando/webhook", axum::routing::post(miando_webhook)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    mock.route_webhooks_to(format!("http://{}", listener.local_addr()?));
    tokio::spawn(async move { axum::serve(listener, app).await });
    api.webhook_create().body_map(|b| b.url("https://shop.example/miando/webhook").events(vec!["agreement".into(), "payment".into()])).send().await?;
    println!("1. webhook_create   -> agreement and payment events");

    for (mobile, code) in [(BUYER, "1271234564"), (SELLER, "1167723058")] {
        api.miando_customer_create().body_map(|b| b.first_name("رضا").last_name("رضایی").national_code(code).mobile(mobile).birth_date("13700502")).send().await?;
    }
    println!("2. customers        -> buyer {BUYER}, seller {SELLER}");

    let party = |role: &str, mobile: &str, iban: &str| AgreementPartyInput::builder().role(role).mobile(mobile).iban(iban).try_into();
    let item = AgreementItemInput::builder()
        .title("موبایل y8s")
        .category("digital")
        .item_price(Rials(200_000))
        .price(Rials(200_000))
        .payer("buyer")
        .payment_method("full-pay")
        .quantity(1)
        .try_into()?;
    let draft = AgreementCreateRequest::builder()
        .trace_id("order-2001")
        .currency_code("IRR")
        .redirect_url("https://shop.example/escrow/return")
        .description("موبایل y8s")
        .creator("buyer")
        .parties(vec![party("buyer", BUYER, "IR330120020000002353697200")?, party("seller", SELLER, "IR640120020000002343697300")?])
        .items(vec![item]);
    let created = api.agreement_create().body(draft).send().await?.data;
    let code = created.tracking_code;
    println!("3. agreement_create -> {code}, {:?}", created.state);

    let agreed = api.agreement_action().tracking_code(&code).body_map(|b| b.action("agree").applicant_mobile(SELLER)).send().await?;
    let link = agreed.data.and_then(|d| d.web_view_link).expect("a payment link");
    println!("4. seller agrees    -> buyer pays at {link}");
    // The buyer's browser on the payment page (the mock pays at once).
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?.get(link.as_str()).send().await?;

    api.agreement_finalize().tracking_code(&code).body_map(|b| b.buyer_mobile(BUYER)).send().await?;
    let shown = api.agreement_show().tracking_code(&code).send().await?.data;
    println!("5. buyer finalizes  -> {:?}, {} released to the seller", shown.state, shown.amount.unwrap_or_default());

    for _ in 0..100 {
        if seen.lock().unwrap().len() >= 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    println!("6. webhooks         -> {} signed events verified", seen.lock().unwrap().len());
    Ok(())
}
