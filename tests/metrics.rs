//! The client's metrics, asserted by name, labels and value after a scripted sequence against the
//! mock: a checkout, a 429 retried, a token renewed after a 401, a payout reconciled after its
//! answer arrived cut, a webhook refused, a call refused by its deadline. Then the same series read
//! from a Prometheus exporter's own scrape.
#![cfg(all(feature = "metrics", feature = "mock"))]
use std::time::Duration;

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::CompositeKey;

/// One snapshot of every series (a snapshot drains histograms, so it is taken once).
type Series = Vec<(CompositeKey, Option<metrics::Unit>, Option<metrics::SharedString>, DebugValue)>;
use vandar::api::types::builder::SettlementStoreRequest;
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, Tomans, Tracked};
use vandar::rate_limit::{Lane, RateLimits};
use vandar::CallOptions;

/// The counter `name` with exactly `labels`, or 0.
fn counter(series: &Series, name: &str, labels: &[(&str, &str)]) -> u64 {
    let mut want: Vec<(String, String)> = labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    want.sort();
    series
        .iter()
        .filter(|(key, ..)| key.key().name() == name)
        .filter(|(key, ..)| {
            let mut have: Vec<(String, String)> = key.key().labels().map(|l| (l.key().to_string(), l.value().to_string())).collect();
            have.sort();
            have == want
        })
        .map(|(.., value)| match value {
            DebugValue::Counter(n) => *n,
            DebugValue::Histogram(samples) => samples.len() as u64,
            DebugValue::Gauge(g) => g.into_inner() as u64,
        })
        .sum()
}

#[tokio::test]
async fn a_scripted_sequence_shows_in_the_metrics() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    // A checkout: two interactive POSTs on the ipg host.
    let payment = vandar.start_payment(Rials(25_000), "https://shop.example/cb").await.unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    browser.get(&payment.payment_page).send().await.unwrap();
    assert!(vandar.verify_payment(&payment.token, Rials(25_000)).await.unwrap().is_paid());
    // A 429, retried once.
    mock.inject(Fault::RateLimited);
    vandar.api().balance().send().await.unwrap();
    // A 401: the token is renewed once.
    mock.expire_access_token();
    vandar.api().balance().send().await.unwrap();
    // A payout carried out whose answer arrives cut: reconciled through the lookup.
    mock.inject(Fault::TruncatedBody);
    let payout = vandar.settlement_store(SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200")).await.unwrap();
    assert!(matches!(payout, Tracked::Reconciled { .. }));
    // A webhook with a bad signature.
    let mut headers = http::HeaderMap::new();
    headers.insert(vandar::inbound::webhook::SIGNATURE_HEADER, "bm9wZQ==".parse().unwrap());
    assert!(vandar::inbound::webhook::verify(&headers, b"{}", "mock-shop").is_err());
    // A background call that cannot get a permit within its deadline: the budget is 1 request per 10 s.
    // (The IPG's api_key: the business tokens of this second client were rotated by the first.)
    let tight = mock.client_builder().rate_limits(RateLimits::new(1, 1, Duration::from_secs(10)).with_reserve(0, 0)).build().unwrap();
    let lookup = || tight.ipg().ipg_transaction().body_map(|b| b.token(payment.token.clone())).send();
    lookup().await.unwrap();
    let refused = CallOptions::new().lane(Lane::Background).max_wait(Duration::from_millis(50)).run(lookup()).await.unwrap_err();
    assert!(matches!(refused, vandar::Error::DeadlineExceeded { .. }), "{refused:?}");

    let series: Series = snapshotter.snapshot().into_vec();
    let s = &series;
    assert_eq!(counter(s, "vandar.http.rate_limited", &[("server.address", "api")]), 1);
    assert_eq!(counter(s, "vandar.http.retries", &[("server.address", "api"), ("reason", "429")]), 1);
    assert_eq!(counter(s, "vandar.token.refreshes", &[("token", "business"), ("outcome", "renewed")]), 1);
    assert_eq!(counter(s, "vandar.money_moves", &[("operation", "settlement_store"), ("outcome", "reconciled")]), 1);
    assert_eq!(counter(s, "vandar.webhooks", &[("verdict", "bad_signature")]), 1);
    assert_eq!(counter(s, "vandar.rate_limit.refused", &[("lane", "background"), ("budget", "post")]), 1);
    let ipg_posts = [("http.request.method", "POST"), ("server.address", "ipg"), ("http.response.status_code", "200")]; // no empty error.type on a success
    assert_eq!(counter(s, "http.client.request.duration", &ipg_posts), 3, "ipg_send, ipg_verify, the first lookup");
    let unauthorized = [("http.request.method", "GET"), ("server.address", "api"), ("http.response.status_code", "401"), ("error.type", "401")];
    assert_eq!(counter(s, "http.client.request.duration", &unauthorized), 1);
    assert_eq!(counter(s, "vandar.rate_limit.wait", &[("lane", "interactive"), ("budget", "post")]), 3, "ipg_send, ipg_verify, the first lookup");
    assert_eq!(counter(s, "vandar.rate_limit.wait", &[("lane", "renewal"), ("budget", "post")]), 1, "the token renewal, ahead of every lane");
    // No label carries a token, an IBAN, a card or a track id.
    for (key, ..) in &series {
        for label in key.key().labels() {
            let value = label.value();
            assert!(!value.is_empty(), "an empty label (OpenTelemetry leaves an absent one out): {key:?}");
            assert!(!value.contains("IR33") && !value.contains("mock-access") && !value.contains(payout.track_id()) && !value.contains("6037"), "{key:?}");
        }
    }
}
