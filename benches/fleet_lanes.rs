//! A checkout never waits behind a batch job: four processes share one Redis budget (a real
//! redis-server on 127.0.0.1, started here); in each, background tasks saturate both budgets
//! (settlement payouts and transaction-list paging), and one process also runs a checkout once a
//! second (`start_payment`, then the transaction lookup: two interactive POSTs). Run with lanes
//! (a reserve of 7 POST slots, above the checkout's 6 per window) and without (`with_reserve(0, 0)`),
//! one after the other in one run. The shares are sent requests over the run's length in windows
//! (the first and last windows let a run exceed 100 %: compare the two runs, not the figures with 100).
//! Reported: the interactive calls' permit wait (p50, p99, max), the 429s the mock (which enforces
//! Vandar's budget over any 3 s window) answered, and the share of each budget used.
//!
//!     cargo bench --features mock,redis,metrics --bench fleet_lanes          # SECONDS=12 by default
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use vandar::api::types::builder::SettlementStoreRequest;
use vandar::mock::{MockAddress, MockVandar};
use vandar::money::{Rials, Tomans};
use vandar::rate_limit::{RateLimits, OTHER_PER_WINDOW, POST_PER_WINDOW, WINDOW};

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// A worker process: saturating background loops, and (worker 0) the checkout; prints the
/// interactive permit waits it saw, in ms, one JSON line.
fn worker() {
    let var = |name: &str| std::env::var(name).unwrap();
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mut limits = RateLimits::redis(&var("B_REDIS"), var("B_PREFIX")).unwrap();
        if var("B_LANES") == "off" {
            limits = limits.with_reserve(0, 0);
        } else {
            // The checkout sends 2 POSTs a second, 6 a window: the reserve must hold them (7 of 30).
            limits = limits.with_reserve(7, 10);
        }
        let mock: MockAddress = serde_json::from_str(&var("VANDAR_MOCK")).unwrap();
        let vandar = mock
            .client_builder()
            .rate_limits(limits)
            .build()
            .unwrap();
        let start = UNIX_EPOCH + Duration::from_millis(var("B_START_MS").parse().unwrap());
        tokio::time::sleep(start.duration_since(SystemTime::now()).unwrap_or_default()).await;
        let until = unix_ms() + var("B_MILLIS").parse::<u64>().unwrap();
        let vandar = Arc::new(vandar);
        let mut tasks = Vec::new();
        for i in 0..6 {
            let vandar = vandar.clone();
            tasks.push(tokio::spawn(async move {
                while unix_ms() < until {
                    if i < 3 {
                        let payout = SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200");
                        let _ = vandar.settlement_store(payout).await;
                    } else {
                        let _ = vandar.api().transaction_list().send().await;
                    }
                }
            }));
        }
        if var("B_CHECKOUT") == "1" {
            let vandar = vandar.clone();
            tasks.push(tokio::spawn(async move {
                while unix_ms() + 1_000 < until {
                    let next = unix_ms() + 1_000;
                    if let Ok(payment) = vandar.start_payment(Rials(10_000), "https://shop.example/cb").await {
                        let _ = vandar.ipg().ipg_transaction().body_map(|b| b.token(payment.token.clone())).send().await;
                    }
                    tokio::time::sleep(Duration::from_millis(next.saturating_sub(unix_ms()))).await;
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
    });
    let mut waits: Vec<f64> = Vec::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let interactive = key.key().labels().any(|l| l.key() == "lane" && l.value() == "interactive");
        if key.key().name() == "vandar.rate_limit.wait" && interactive {
            if let DebugValue::Histogram(samples) = value {
                waits.extend(samples.iter().map(|s| s.into_inner() * 1e3));
            }
        }
    }
    println!("{}", serde_json::to_string(&waits).unwrap());
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn run(lanes: &str, redis: &str, seconds: u64) {
    let mock = MockVandar::start().await.unwrap();
    let prefix = format!("vandar:bench:{lanes}:{}", unix_ms());
    let start = unix_ms() + 1_500;
    let millis = seconds * 1_000;
    let children: Vec<_> = (0..4)
        .map(|i| {
            Command::new(std::env::current_exe().unwrap())
                .env("VANDAR_BENCH_WORKER", "1")
                .env("B_REDIS", redis)
                .env("B_PREFIX", &prefix)
                .env("B_LANES", lanes)
                .env("VANDAR_MOCK", serde_json::to_string(&mock.address()).unwrap())
                .env("B_START_MS", start.to_string())
                .env("B_MILLIS", millis.to_string())
                .env("B_CHECKOUT", if i == 0 { "1" } else { "0" })
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let before = mock.stats();
    let outputs = tokio::task::spawn_blocking(move || children.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>()).await.unwrap();
    let after = mock.stats();
    // From the first send to the last worker's exit: calls started before the end finish after it.
    let elapsed_ms = unix_ms().saturating_sub(start) as f64;
    let mut waits: Vec<f64> = outputs
        .iter()
        .flat_map(|o| serde_json::from_str::<Vec<f64>>(String::from_utf8_lossy(&o.stdout).lines().last().unwrap_or("[]")).unwrap_or_default())
        .collect();
    let waits_in_order = waits.clone();
    waits.sort_by(f64::total_cmp);
    let windows = elapsed_ms / WINDOW.as_millis() as f64;
    let post = (after.accepted_post - before.accepted_post) as f64 / (windows * f64::from(POST_PER_WINDOW));
    let other = (after.accepted_other - before.accepted_other) as f64 / (windows * f64::from(OTHER_PER_WINDOW));
    // The first checkout arrives after background work has borrowed the idle reserve; the steady
    // state is every later one.
    let mut steady: Vec<f64> = waits_in_order[1.min(waits_in_order.len())..].to_vec();
    steady.sort_by(f64::total_cmp);
    println!(
        "lanes {lanes:>3}: interactive permit wait p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms ({} permits; the first {:.1} ms, the rest p99 {:.1} ms); 429s {}; budget used POST {:.1} %, other {:.1} % over {:.1} s",
        percentile(&waits, 0.5),
        percentile(&waits, 0.99),
        waits.last().copied().unwrap_or(f64::NAN),
        waits.len(),
        waits_in_order.first().copied().unwrap_or(f64::NAN),
        percentile(&steady, 0.99),
        after.rate_limited - before.rate_limited,
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
    println!("4 processes, one Redis budget, {seconds} s each; background saturates both budgets, one checkout a second:");
    runtime.block_on(run("on", &redis.url(), seconds));
    runtime.block_on(run("off", &redis.url(), seconds));
}
