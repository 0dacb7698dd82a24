//! Miando webhooks through the axum extractor, with redeliveries recognised by `Event::dedup_key`.
//!
//! The server listens on 127.0.0.1; to run without Vandar, the example then posts one signed event
//! to itself twice (as Miando does when a 200 is lost) and shows it handled once.
//!
//!     cargo run --example webhook_dedup --features axum
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{FromRef, State};
use axum::http::StatusCode;
use vandar::inbound::webhook::{self, BusinessSlug, EventData, MiandoWebhook};

const SLUG: &str = "my-shop";

#[derive(Clone)]
struct App {
    slug: BusinessSlug,
    /// Keys of the events already taken. In production: a table with a unique index on the key.
    seen: Arc<Mutex<HashSet<String>>>,
    handled: Arc<AtomicUsize>,
}

impl FromRef<App> for BusinessSlug {
    fn from_ref(app: &App) -> Self {
        app.slug.clone()
    }
}

/// Your webhook endpoint: the extractor has verified X-Signature and decoded the event.
async fn miando_webhook(State(app): State<App>, MiandoWebhook(event): MiandoWebhook) -> StatusCode {
    // (A real handler confirms the event with agreement_show first: the signature's key, the business
    // slug, is no secret.) Record the key with the effect: a redelivery, even one arriving while this
    // one is still running, finds it and is acknowledged without acting again.
    if !app.seen.lock().unwrap().insert(event.dedup_key()) {
        println!("   duplicate {} -> 200, nothing done", event.dedup_key());
        return StatusCode::OK;
    }
    match &event.data {
        EventData::BuyerPaidAgreement(paid) => {
            // Act idempotently (mark the order paid once); confirm with agreement_show before shipping.
            println!("   handled   {}: {} paid into escrow for order {:?}", event.dedup_key(), paid.amount, paid.trace_id);
        }
        other => println!("   handled   {} for agreement {:?}", other.event_type(), other.tracking_code()),
    }
    app.handled.fetch_add(1, Ordering::SeqCst);
    StatusCode::OK // acknowledge fast; slow work belongs in a queue
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let app = App { slug: BusinessSlug::new(SLUG), seen: Arc::default(), handled: Arc::default() };
    let router = axum::Router::new().route("/miando/webhook", axum::routing::post(miando_webhook)).with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/miando/webhook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, router).await });
    println!("1. listening on {url}");

    // What Miando would send (the document's buyer_paid_agreement example).
    let body = br#"{"created": 1666468058, "type": "buyer_paid_agreement", "data": {"tracking_code": "87441125", "trace_id": "ee6b9100-a0a4-478d-8535-9eecff8af4b6", "transaction_ref_id": "548784521254", "payer_mobile": "09123456789", "amount": "4000000"}}"#;
    let signature = webhook::sign(body, SLUG);
    // Miando's side, played by a reqwest client built before any vandar::Client: it needs the TLS
    // provider vandar's default build uses (vandar::Client::builder().build() installs it too).
    vandar::tls::install_default_provider();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    for delivery in 1..=2 {
        println!("2.{delivery} delivery of the same event");
        let answer = client.post(&url).header(webhook::SIGNATURE_HEADER, &signature).body(body.to_vec()).send().await?;
        assert_eq!(answer.status(), reqwest::StatusCode::OK);
    }
    let forged = client.post(&url).header(webhook::SIGNATURE_HEADER, webhook::sign(body, "not-my-shop")).body(body.to_vec()).send().await?;
    println!("3. a forged signature -> {}", forged.status());

    let handled = app.handled.load(Ordering::SeqCst);
    println!("4. two deliveries, handled {handled} time(s)");
    assert_eq!(handled, 1);
    Ok(())
}
