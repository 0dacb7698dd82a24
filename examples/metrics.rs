//! The client's metrics in Prometheus: an exporter on 127.0.0.1, a few calls against the embedded
//! mock (a checkout, a payout whose answer is lost and reconciled, a 429 retried, a token renewed),
//! then one scrape of the exporter's own endpoint, printed.
//!
//!     cargo run --example metrics --features mock,metrics
//!
//! Every series is listed in `vandar::telemetry`; an alert on money moves nobody could prove, e.g.
//! `increase(vandar_money_moves{outcome="indeterminate"}[15m]) > 0`.
use std::net::TcpListener;

use metrics_exporter_prometheus::PrometheusBuilder;
use vandar::api::types::builder::SettlementStoreRequest;
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, Tomans};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    PrometheusBuilder::new().with_http_listener(([127, 0, 0, 1], port)).install()?;

    let mock = MockVandar::start().await?;
    let vandar = mock.client_builder().build()?;
    let payment = vandar.start_payment(Rials(25_000), "https://shop.example/cb").await?;
    mock.pay(&payment.payment_page)?;
    vandar.verify_payment(&payment.token, Rials(25_000)).await?;
    mock.inject(Fault::TruncatedBody); // the payout is carried out, its answer arrives cut: reconciled
    let payout = vandar.settlement_store(SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200")).await?;
    println!("payout {}: {}", payout.track_id(), if matches!(payout, vandar::money::Tracked::Reconciled { .. }) { "reconciled" } else { "answered" });
    mock.inject(Fault::RateLimited); // a 429, retried
    vandar.api().balance().send().await?;
    mock.expire_access_token(); // a 401: the token is renewed once
    vandar.api().balance().send().await?;

    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await?.text().await?;
    for line in scrape.lines().filter(|l| !l.starts_with('#') && !l.contains("_bucket{")) {
        println!("{line}");
    }
    Ok(())
}
