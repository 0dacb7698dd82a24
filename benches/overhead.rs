//! What the Client itself costs per call: its generated calls beside raw reqwest + serde decoding
//! the same typed answer, against a tiny server on 127.0.0.1 that answers canned bytes (no parsing
//! beyond framing, no state), so the server's own work is the same small constant on both sides.
//!
//!     cargo bench --bench overhead
//!
//! Raw reqwest gets the Client's reqwest settings (30 s timeout, 10 s connect timeout, no
//! redirects). Both sides run on one multi-thread tokio runtime; the server runs on its own current-thread
//! runtime in another thread. Vandar's rate limits are lifted on the Client (the limiter's own
//! figures are benches/limiter_soak.rs). GET: `balance` (bearer token, typed answer); POST:
//! `ipg_send` (api_key added to the body, the spec's bounds checked, typed answer).
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vandar::money::Rials;
use vandar::rate_limit::RateLimits;
use vandar::{Host, TokenPair};

const BALANCE: &[u8] = br#"{"status":1,"data":{"wallet":100000,"currency":"Toman"}}"#;
const IPG_SEND: &[u8] = br#"{"status":1,"token":"6ZTL4EPCO3PKYDO7YUL6JXDTCDC3JDJQ"}"#;

fn canned(body: &[u8]) -> Vec<u8> {
    let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n", body.len());
    [head.as_bytes(), body].concat()
}

/// Serves canned answers on 127.0.0.1 (keep-alive): a GET gets the balance, anything else the
/// ipg_send answer. Reads only what framing needs: the head and `content-length` bytes of body.
fn start_server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
            let (get, post) = (canned(BALANCE), canned(IPG_SEND));
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (get, post) = (get.clone(), post.clone());
                tokio::spawn(async move {
                    let mut buffer = Vec::with_capacity(4096);
                    let mut chunk = [0u8; 4096];
                    loop {
                        let end = loop {
                            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                                break end + 4;
                            }
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        };
                        let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        while buffer.len() < end + length {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        }
                        let answer = if head.starts_with("get ") { &get } else { &post };
                        if socket.write_all(answer).await.is_err() {
                            return;
                        }
                        buffer.drain(..end + length);
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

fn overhead(c: &mut Criterion) {
    let server = start_server();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let client = runtime.block_on(async {
        vandar::Client::builder()
            .business("shop")
            .business_tokens(TokenPair::new("access-token-for-the-bench", "refresh-token-for-the-bench", None))
            .ipg_api_key("ipg-key-for-the-bench")
            .base_url(Host::Api, &server)
            .base_url(Host::Ipg, &server)
            .rate_limits(RateLimits::unlimited())
            .build()
            .unwrap()
    });
    // Raw reqwest as a production caller configures it: the Client's own reqwest settings
    // (whole-request and connect timeouts, no redirects), so the comparison is the typed layer.
    let raw = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .connect_timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let balance_url = format!("{server}/v2/business/shop/balance");
    let send_url = format!("{server}/api/v4/send");

    let mut group = c.benchmark_group("overhead");
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("get_balance/vandar_client", |b| {
        b.to_async(&runtime).iter(|| async {
            let balance = client.api().balance().send().await.unwrap();
            assert_eq!(balance.data.wallet.0, 100_000);
        })
    });
    group.bench_function("get_balance/raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let answer = raw.get(&balance_url).bearer_auth("access-token-for-the-bench").send().await.unwrap();
            let balance: vandar::api::types::BalanceResponse = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
            assert_eq!(balance.data.wallet.0, 100_000);
        })
    });
    group.bench_function("post_ipg_send/vandar_client", |b| {
        b.to_async(&runtime).iter(|| async {
            let sent = client.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/cb")).send().await.unwrap();
            assert_eq!(sent.token.len(), 32);
        })
    });
    group.bench_function("post_ipg_send/raw_reqwest", |b| {
        b.to_async(&runtime).iter(|| async {
            let body = serde_json::json!({"api_key": "ipg-key-for-the-bench", "amount": 10_000, "callback_url": "https://shop.example/cb"});
            let answer = raw.post(&send_url).json(&body).send().await.unwrap();
            let sent: vandar::ipg::types::IpgSendResponse = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
            assert_eq!(sent.token.len(), 32);
        })
    });
    group.finish();
}

criterion_group!(benches, overhead);
criterion_main!(benches);
