//! One IPG send + verify round trip against the embedded mock: through vandar::Client (auth,
//! limiter, retries, error decoding, typed bodies) beside the same calls made with raw reqwest
//! against the same mock, in the same run. The ratio is the Client's overhead.
//!
//!     cargo bench --features mock --bench ipg_round_trip
//!
//! The payer's browser step (the payment page) is part of both, so each iteration verifies a
//! payment that was really paid.
use vandar::money::Rials;
use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use vandar::mock::MockVandar;
use vandar::rate_limit::RateLimits;
use vandar::Host;

fn round_trips(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let mock = runtime.block_on(MockVandar::start()).unwrap();
    mock.set_rate_limits(u32::MAX, u32::MAX);
    // Vandar's own limits would make this a benchmark of the limiter; lift them for both sides alike.
    let client = mock.client_builder().rate_limits(RateLimits::new(1_000_000, 1_000_000, std::time::Duration::from_secs(1))).build().unwrap();
    let raw = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let (ipg, key) = (mock.base_url(Host::Ipg), mock.credentials().ipg_api_key);

    let mut group = c.benchmark_group("ipg_send_pay_verify");
    group.bench_function("vandar_client", |b| {
        b.to_async(&runtime).iter(|| async {
            let sent = client.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/cb")).send().await.unwrap();
            raw.get(vandar::extras::redirects::ipg_payment_page(&client, &sent.token)).send().await.unwrap();
            let verified = client.verify_payment(&sent.token, vandar::money::Rials(10_000)).await.unwrap();
            assert!(verified.is_paid());
        })
    });
    group.bench_function("raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let sent: Value = raw
                .post(format!("{ipg}/api/v4/send"))
                .json(&json!({"api_key": key, "amount": 10_000, "callback_url": "https://shop.example/cb"}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let token = sent["token"].as_str().unwrap();
            raw.get(format!("{ipg}/v4/{token}")).send().await.unwrap();
            let verified: Value =
                raw.post(format!("{ipg}/api/v4/verify")).json(&json!({"api_key": key, "token": token})).send().await.unwrap().json().await.unwrap();
            assert_eq!(verified["status"], 1);
        })
    });
    group.finish();
}

criterion_group!(benches, round_trips);
criterion_main!(benches);
