//! What the Client itself costs per call: its generated calls beside raw reqwest + serde decoding
//! the same typed answer, against a tiny server on 127.0.0.1 that answers canned bytes (no parsing
//! beyond framing, no state), so the server's own work is the same small constant on both sides.
//!
//!     cargo bench --bench overhead
//!
//! Raw reqwest gets the Client's reqwest settings (30 s timeout, 10 s connect timeout, no
//! redirects). Both sides run on one current-thread tokio runtime; the server runs on its own
//! current-thread runtime in another thread. The run ends with the medians and their ratios.
//! Vandar's rate limits are lifted on the Client (the limiter's own figures are
//! benches/limiter_soak.rs). GET: `balance` (bearer token, typed answer); POST:
//! `ipg_send` (api_key added to the body, the spec's bounds checked, typed answer).
use std::time::Duration;

use criterion::{criterion_group, Criterion};
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

/// Both sides of the comparison, set up as a production caller would.
struct Sides {
    client: vandar::Client,
    /// Raw reqwest with the Client's own reqwest settings (whole-request and connect timeouts, no
    /// redirects, the same headers), so the comparison is the typed layer.
    raw: reqwest::Client,
    balance_url: String,
    send_url: String,
}

impl Sides {
    fn new(server: &str) -> Self {
        let client = vandar::Client::builder()
            .business("shop")
            .business_tokens(TokenPair::new("access-token-for-the-bench", "refresh-token-for-the-bench", None))
            .ipg_api_key("ipg-key-for-the-bench")
            .base_url(Host::Api, server)
            .base_url(Host::Ipg, server)
            .rate_limits(RateLimits::unlimited())
            .build()
            .unwrap();
        // The same headers go out on both sides (the Client's User-Agent, progenitor's Accept), so
        // the server reads the same bytes and its work stays the same constant.
        let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::ACCEPT, "application/json".parse().unwrap())]);
        let raw = reqwest::Client::builder()
            .user_agent(concat!("vandar-rust/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self { client, raw, balance_url: format!("{server}/v2/business/shop/balance"), send_url: format!("{server}/api/v4/send") }
    }

    async fn call(&self, call: Call) {
        match call {
            Call::GetClient => {
                let balance = self.client.api().balance().send().await.unwrap();
                assert_eq!(balance.data.wallet.0, 100_000);
            }
            Call::GetRaw => {
                let answer = self.raw.get(&self.balance_url).bearer_auth("access-token-for-the-bench").send().await.unwrap();
                let balance: vandar::api::types::BalanceResponse = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
                assert_eq!(balance.data.wallet.0, 100_000);
            }
            Call::PostClient => {
                let sent = self
                    .client
                    .ipg()
                    .ipg_send()
                    .body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/cb"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(sent.token.len(), 32);
            }
            Call::PostRaw => {
                let body = serde_json::json!({"api_key": "ipg-key-for-the-bench", "amount": 10_000, "callback_url": "https://shop.example/cb"});
                let answer = self.raw.post(&self.send_url).json(&body).send().await.unwrap();
                let sent: vandar::ipg::types::IpgSendResponse = serde_json::from_slice(&answer.bytes().await.unwrap()).unwrap();
                assert_eq!(sent.token.len(), 32);
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Call {
    GetClient,
    GetRaw,
    PostClient,
    PostRaw,
}

const CALLS: [(&str, Call); 4] = [
    ("get_balance/vandar_client", Call::GetClient),
    ("get_balance/raw_reqwest", Call::GetRaw),
    ("post_ipg_send/vandar_client", Call::PostClient),
    ("post_ipg_send/raw_reqwest", Call::PostRaw),
];

/// The callers' runtime, the same for both sides: one current-thread tokio runtime, so a call's
/// cost is not mixed with cross-thread wake-ups (the server has its own thread).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn overhead(c: &mut Criterion) {
    let server = start_server();
    let runtime = runtime();
    let sides = runtime.block_on(async { Sides::new(&server) });
    let mut group = c.benchmark_group("overhead");
    group.measurement_time(Duration::from_secs(8)).sample_size(200);
    for (name, call) in CALLS {
        group.bench_function(name, |b| b.to_async(&runtime).iter(|| sides.call(call)));
    }
    group.finish();
    summary();
    paired(&runtime, &sides);
}

/// The ratio measured in alternating rounds: each round times a batch of Client calls and a batch
/// of raw calls back to back (in turns, which goes first), so drift in the machine's speed between
/// criterion's separate benchmarks cannot show up as overhead. Prints the median of the rounds.
fn paired(runtime: &tokio::runtime::Runtime, sides: &Sides) {
    const ROUNDS: usize = 201;
    const BATCH: u32 = 100;
    let batch = |call: Call| {
        let started = std::time::Instant::now();
        runtime.block_on(async {
            for _ in 0..BATCH {
                sides.call(call).await;
            }
        });
        started.elapsed().as_secs_f64() * 1e6 / f64::from(BATCH)
    };
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    println!("\npaired rounds ({ROUNDS} rounds of {BATCH} calls a side, alternating), medians:");
    for (name, client, raw) in [("get_balance", Call::GetClient, Call::GetRaw), ("post_ipg_send", Call::PostClient, Call::PostRaw)] {
        batch(client);
        batch(raw);
        let (mut clients, mut raws, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..ROUNDS {
            let (c, r) = if round % 2 == 0 {
                let c = batch(client);
                (c, batch(raw))
            } else {
                let r = batch(raw);
                (batch(client), r)
            };
            clients.push(c);
            raws.push(r);
            ratios.push(c / r);
        }
        println!(
            "  {name:<14} Client {:7.1} µs   raw {:7.1} µs   ratio {:.3}",
            median(clients),
            median(raws),
            median(ratios)
        );
    }
}

/// The medians criterion estimated in this run, and the ratios the goal is stated in.
fn summary() {
    let dir = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/target").into());
    let median = |name: &str| -> Option<f64> {
        let path = format!("{dir}/criterion/overhead/{}/new/estimates.json", name.replace('/', "_"));
        let estimates: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        estimates["median"]["point_estimate"].as_f64().map(|ns| ns / 1000.0)
    };
    println!("\nmedians of this run (goal: Client <= 1.05x raw):");
    for call in ["get_balance", "post_ipg_send"] {
        if let (Some(client), Some(raw)) = (median(&format!("{call}/vandar_client")), median(&format!("{call}/raw_reqwest"))) {
            println!("  {call:<14} Client {client:7.1} µs   raw {raw:7.1} µs   ratio {:.3}", client / raw);
        }
    }
}

/// `OVERHEAD_CALLS=N cargo bench --bench overhead -- <name>` makes N calls of one side and exits,
/// without criterion: the form to count instructions per call with `valgrind --tool=callgrind`
/// (run two counts; the difference over the extra calls is one call's instructions).
fn counted(calls: u64, name: &str) {
    let (_, call) = CALLS.iter().find(|(n, _)| name.contains(n)).unwrap_or_else(|| panic!("no call named {name}"));
    let server = start_server();
    let runtime = runtime();
    runtime.block_on(async {
        let sides = Sides::new(&server);
        for _ in 0..calls {
            sides.call(*call).await;
        }
    });
}

criterion_group!(benches, overhead);

fn main() {
    if let Some(calls) = std::env::var("OVERHEAD_CALLS").ok().and_then(|n| n.parse().ok()) {
        let name = std::env::args().skip(1).find(|a| !a.starts_with('-')).expect("a call name");
        return counted(calls, &name);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
