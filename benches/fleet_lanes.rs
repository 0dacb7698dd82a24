//! A checkout behind a saturating batch, with the crate's defaults: background work saturates both
//! budgets (settlement payouts; `balance` and transaction-list paging), and a checkout runs once a
//! second (`start_payment`, the transaction lookup, the payer's browser, `verify_payment`: three
//! interactive POSTs). Four cases in one run, one after the other:
//!
//! * `redis`: four processes share one Redis budget (a real redis-server on 127.0.0.1, started here),
//!   each with its own background loops; process 0 also runs the checkout;
//! * `local`: one process, one in-process budget, the same background loops four times over and the checkout;
//!
//! each with lanes on (`RateLimits::vandar()` / `RateLimits::redis(..)`, nothing tuned) and off
//! (`with_lanes(false)`). The mock enforces Vandar's budget over any 3 s window and answers 429 past it.
//!
//! Reported per case: each checkout call's permit wait and its whole call → answer time (p50, p99,
//! max), the 429s the mock answered, and the share of each budget used: the requests the mock accepted
//! between the run's start and its end, over the run's length in windows (a run's first window lets
//! a budget start full, so a share can pass 100 % by up to one window over the run: compare the cases).
//!
//!     cargo bench --features mock,redis,metrics --bench fleet_lanes          # SECONDS=12 by default
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use vandar::api::types::builder::SettlementStoreRequest;
use vandar::mock::{MockAddress, MockVandar};
use vandar::money::{Rials, Tomans};
use vandar::rate_limit::{RateLimits, OTHER_PER_WINDOW, POST_PER_WINDOW, WINDOW};

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// What one process saw, in ms: the checkout calls' permit waits and call → answer times.
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Seen {
    waits: Vec<f64>,
    answers: Vec<f64>,
    /// 429s the crate saw (`vandar.http.rate_limited`).
    rate_limited: u64,
}

/// A worker process: `B_GROUPS` groups of saturating background loops, and (if `B_CHECKOUT`) the
/// checkout; prints what it saw as one JSON line.
fn worker() {
    let var = |name: &str| std::env::var(name).unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let answers = Arc::new(Mutex::new(Vec::new()));
    runtime.block_on(async {
        let limits = match var("B_REDIS").as_str() {
            "" => RateLimits::vandar(),
            url => RateLimits::redis(url, var("B_PREFIX")).unwrap(),
        };
        let limits = limits.with_lanes(var("B_LANES") == "on");
        let mock: MockAddress = serde_json::from_str(&var("VANDAR_MOCK")).unwrap();
        let vandar = Arc::new(mock.client_builder().rate_limits(limits).build().unwrap());
        let start = UNIX_EPOCH + Duration::from_millis(var("B_START_MS").parse().unwrap());
        tokio::time::sleep(start.duration_since(SystemTime::now()).unwrap_or_default()).await;
        let until = unix_ms() + var("B_MILLIS").parse::<u64>().unwrap();
        let mut tasks = Vec::new();
        for i in 0..6 * var("B_GROUPS").parse::<usize>().unwrap() {
            let vandar = vandar.clone();
            tasks.push(tokio::spawn(async move {
                while unix_ms() < until {
                    match i % 6 {
                        0..=2 => {
                            let payout = SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200");
                            let _ = vandar.settlement_store(payout).await;
                        }
                        3 => {
                            let _ = vandar.api().balance().send().await;
                        }
                        _ => {
                            let _ = vandar.api().transaction_list().send().await;
                        }
                    }
                }
            }));
        }
        if var("B_CHECKOUT") == "1" {
            let (vandar, answers) = (vandar.clone(), answers.clone());
            tasks.push(tokio::spawn(async move {
                let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                let timed = |at: Instant| answers.lock().unwrap().push(at.elapsed().as_secs_f64() * 1e3);
                while unix_ms() + 1_000 < until {
                    let next = unix_ms() + 1_000;
                    let at = Instant::now();
                    let payment = vandar.start_payment(Rials(10_000), "https://shop.example/cb").await;
                    timed(at);
                    if let Ok(payment) = payment {
                        let at = Instant::now();
                        let _ = vandar.ipg().ipg_transaction().body_map(|b| b.token(payment.token.clone())).send().await;
                        timed(at);
                        let _ = browser.get(&payment.payment_page).send().await; // the payer pays
                        let at = Instant::now();
                        let _ = vandar.verify_payment(&payment.token, Rials(10_000)).await;
                        timed(at);
                    }
                    tokio::time::sleep(Duration::from_millis(next.saturating_sub(unix_ms()))).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let mut seen = Seen { answers: answers.lock().unwrap().clone(), ..Seen::default() };
    let snapshot = snapshotter.snapshot().into_vec();
    for (key, _, _, value) in &snapshot {
        let interactive = key.key().labels().any(|l| l.key() == "lane" && l.value() == "interactive");
        if let ("vandar.http.rate_limited", DebugValue::Counter(count)) = (key.key().name(), value) {
            seen.rate_limited += count;
        }
        if key.key().name() == "vandar.rate_limit.wait" && interactive {
            if let DebugValue::Histogram(samples) = value {
                seen.waits.extend(samples.iter().map(|s| s.into_inner() * 1e3));
            }
        }
    }
    println!("{}", serde_json::to_string(&seen).unwrap());
}

fn percentiles(mut values: Vec<f64>) -> String {
    if values.is_empty() {
        return "none".into();
    }
    values.sort_by(f64::total_cmp);
    let at = |p: f64| values[((values.len() as f64 - 1.0) * p).round() as usize];
    format!("p50 {:>6.1} p99 {:>6.1} max {:>6.1} ms", at(0.5), at(0.99), values[values.len() - 1])
}

async fn run(where_: &str, lanes: &str, redis: &str, seconds: u64) {
    let mock = MockVandar::start().await.unwrap();
    let prefix = format!("vandar:bench:{where_}:{lanes}:{}", unix_ms());
    let start = unix_ms() + 1_500;
    let millis = seconds * 1_000;
    let processes = if where_ == "redis" { 4 } else { 1 };
    let children: Vec<_> = (0..processes)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .env("VANDAR_BENCH_WORKER", "1")
                .env("B_REDIS", if where_ == "redis" { redis } else { "" })
                .env("B_PREFIX", &prefix)
                .env("B_LANES", lanes)
                .env("B_GROUPS", if where_ == "redis" { "1" } else { "4" })
                .env("VANDAR_MOCK", serde_json::to_string(&mock.address()).unwrap())
                .env("B_START_MS", start.to_string())
                .env("B_MILLIS", millis.to_string())
                .env("B_CHECKOUT", if i == 0 { "1" } else { "0" })
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || children.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>());
    // The budgets' use over exactly the run's length: what the mock accepted from its start to its end.
    let at = |ms: u64| tokio::time::sleep(Duration::from_millis(ms.saturating_sub(unix_ms())));
    at(start).await;
    let before = mock.stats();
    at(start + millis).await;
    let after = mock.stats();
    let outputs = outputs.await.unwrap();
    let elapsed_ms = millis as f64;
    let mut seen = Seen::default();
    for output in &outputs {
        let line = String::from_utf8_lossy(&output.stdout).lines().last().unwrap_or("{}").to_string();
        let one: Seen = serde_json::from_str(&line).unwrap_or_default();
        seen.waits.extend(one.waits);
        seen.answers.extend(one.answers);
        seen.rate_limited += one.rate_limited;
    }
    let windows = elapsed_ms / WINDOW.as_millis() as f64;
    let post = (after.accepted_post - before.accepted_post) as f64 / (windows * f64::from(POST_PER_WINDOW));
    let other = (after.accepted_other - before.accepted_other) as f64 / (windows * f64::from(OTHER_PER_WINDOW));
    let first = seen.answers.first().copied().unwrap_or(f64::NAN);
    println!(
        "{where_:>5}, lanes {lanes:>3}: the first checkout call {first:.1} ms; checkout permit wait {} | call → answer {} ({} calls) | 429s {} ({} seen by the crate) | budget used POST {:.1} %, other {:.1} % over {:.0} s",
        percentiles(seen.waits),
        percentiles(seen.answers.clone()),
        seen.answers.len(),
        after.rate_limited - before.rate_limited,
        seen.rate_limited,
        post * 100.0,
        other * 100.0,
        elapsed_ms / 1e3
    );
}

fn main() {
    if std::env::var_os("VANDAR_BENCH_WORKER").is_some() {
        return worker();
    }
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list`
    }
    let seconds: u64 = std::env::var("SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(12);
    let redis = redis_server::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    println!("background saturates both budgets, one checkout (3 interactive POSTs) a second, {seconds} s per case, the crate's defaults:");
    for where_ in ["redis", "local"] {
        for lanes in ["on", "off"] {
            runtime.block_on(run(where_, lanes, &redis.url(), seconds));
        }
    }
}
