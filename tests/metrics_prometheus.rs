//! The metrics as an operator scrapes them: a Prometheus exporter on 127.0.0.1, a checkout and a
//! reconciled payout against the mock, one scrape of the exporter's own endpoint.
#![cfg(all(feature = "metrics", feature = "mock"))]
use std::net::TcpListener;

use metrics_exporter_prometheus::PrometheusBuilder;
use vandar::api::types::builder::SettlementStoreRequest;
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, Tomans};

#[tokio::test]
async fn the_scrape_names_each_series() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    PrometheusBuilder::new().with_http_listener(([127, 0, 0, 1], port)).install().unwrap();
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment(Rials(25_000), "https://shop.example/cb").await.unwrap();
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().get(&payment.payment_page).send().await.unwrap();
    vandar.verify_payment(&payment.token, Rials(25_000)).await.unwrap();
    mock.inject(Fault::TruncatedBody);
    vandar.settlement_store(SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200")).await.unwrap();

    let scrape = reqwest::get(format!("http://127.0.0.1:{port}/metrics")).await.unwrap().text().await.unwrap();
    let line = |start: &str| scrape.lines().find(|l| l.starts_with(start)).unwrap_or_else(|| panic!("no {start} in:\n{scrape}")).to_string();
    assert!(line(r#"http_client_request_duration_count{http_request_method="POST",server_address="ipg",http_response_status_code="200""#).ends_with(" 2"));
    assert!(line(r#"vandar_money_moves{operation="settlement_store",outcome="reconciled"}"#).ends_with(" 1"));
    assert!(line(r#"vandar_rate_limit_wait_count{lane="interactive",budget="post"}"#).ends_with(" 2"));
}
