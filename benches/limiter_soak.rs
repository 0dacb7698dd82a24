//! Soak figures for the rate limiter (not a timed test: it prints what it measured).
//!
//!     cargo bench --bench limiter_soak --features mock,redis
//!
//! 1. One process, the in-process limiter, 8 tasks (4 POST, 4 GET) for 9 s against the mock,
//!    which enforces Vandar's budget over any 3-second window.
//! 2. Four processes sharing the Redis limiter (and a Redis token store, tokens rotating every 4 s).
//! 3. Latency of one Redis permit on loopback (an idle budget, so nothing waits for a slot).
#[path = "../tests/support/fleet.rs"]
mod fleet;
#[path = "../tests/support/redis_server.rs"]
mod redis_server;

use vandar::money::Rials;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use fleet::{budget_used, run_fleet, SharedStore};
use vandar::mock::MockVandar;
use vandar::rate_limit::{RateLimits, OTHER_PER_WINDOW, POST_PER_WINDOW, WINDOW};

const SOAK: Duration = Duration::from_secs(9);

fn main() {
    if fleet::is_worker() {
        return fleet::worker_main();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(in_process());
    let redis = redis_server::RedisServer::start();
    let outcome = runtime.block_on(run_fleet(4, SharedStore::Redis, &redis.url(), SOAK));
    report("Redis limiter, 4 processes", &outcome.posts(), &outcome.others(), outcome.mock.rate_limited, outcome.run);
    println!("  refreshes {} for {} rotations, refused refresh tokens {}; accepted at the mock: POST {}, other {}", outcome.mock.refreshes, outcome.stored_generation, outcome.mock.refused_refreshes, outcome.mock.accepted_post, outcome.mock.accepted_other);
    runtime.block_on(redis_latency(&redis.url()));
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn report(what: &str, posts: &[u64], others: &[u64], rate_limited: u64, run: Duration) {
    println!(
        "{what}: {:.1} s, POST {} = {:.1} % of budget, other {} = {:.1} % of budget, 429s {rate_limited}",
        run.as_secs_f64(),
        posts.len(),
        budget_used(posts, POST_PER_WINDOW as usize, WINDOW) * 100.0,
        others.len(),
        budget_used(others, OTHER_PER_WINDOW as usize, WINDOW) * 100.0,
    );
}

async fn in_process() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let started = Instant::now();
    let deadline = started + SOAK;
    let tasks = (0..8).map(|task| {
        let vandar = vandar.clone();
        tokio::spawn(async move {
            let mut times = Vec::new();
            while Instant::now() < deadline {
                let result = if task < 4 {
                    vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/cb")).send().await.map(drop)
                } else {
                    vandar.api().balance().business("mock-shop").send().await.map(drop)
                };
                if result.is_ok() {
                    times.push(unix_ms());
                }
            }
            (task < 4, times)
        })
    });
    let (mut posts, mut others) = (Vec::new(), Vec::new());
    for (post, times) in futures::future::join_all(tasks).await.into_iter().map(Result::unwrap) {
        if post { &mut posts } else { &mut others }.extend(times);
    }
    posts.sort_unstable();
    others.sort_unstable();
    report("in-process limiter, 1 process, 8 tasks", &posts, &others, mock.stats().rate_limited, started.elapsed());
}

async fn redis_latency(url: &str) {
    let limits = RateLimits::redis_with(url, "vandar:latency", u32::MAX, u32::MAX, WINDOW).unwrap();
    limits.acquire(&reqwest::Method::GET).await.unwrap(); // connect
    let mut samples: Vec<Duration> = Vec::with_capacity(2_000);
    for _ in 0..2_000 {
        let started = Instant::now();
        limits.acquire(&reqwest::Method::GET).await.unwrap();
        samples.push(started.elapsed());
    }
    samples.sort();
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q) as usize];
    println!("Redis permit latency on loopback (2000 permits): p50 {:?}, p99 {:?}", at(0.50), at(0.99));
}
