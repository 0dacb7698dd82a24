//! A fleet of real OS processes sharing one mock Vandar, one Redis and one token store: the
//! parent runs the mock and spawns its own executable as workers (`VANDAR_FLEET_WORKER=1`).
//! Used by tests/fleet.rs (assertions) and benches/limiter_soak.rs (figures).
#![allow(dead_code)]
use vandar::money::Rials;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use vandar::auth::{FileTokenStore, RedisTokenStore, TokenStore};
use vandar::mock::{MockAddress, MockStats, MockVandar};
use vandar::rate_limit::RateLimits;
use vandar::TokenPair;

/// Which token store the workers share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharedStore {
    Redis,
    File,
}

/// Tokens live this long at the mock: the client renews 10 minutes before expiry, so a rotation
/// is due 4 s after each issue.
const TOKEN_LIFETIME: Duration = Duration::from_secs(604);

/// What one worker reports on stdout.
#[derive(Serialize, Deserialize, Default)]
pub struct WorkerReport {
    /// Completion times (unix ms) of successful POSTs and of other calls.
    pub posts: Vec<u64>,
    pub others: Vec<u64>,
    pub errors: Vec<String>,
}

/// The fleet's combined outcome.
pub struct FleetOutcome {
    pub mock: MockStats,
    pub stored_generation: u64,
    pub reports: Vec<WorkerReport>,
    pub exit_ok: bool,
    pub run: Duration,
}

impl FleetOutcome {
    pub fn posts(&self) -> Vec<u64> {
        merged(self.reports.iter().map(|r| &r.posts))
    }

    pub fn others(&self) -> Vec<u64> {
        merged(self.reports.iter().map(|r| &r.others))
    }

    pub fn errors(&self) -> Vec<&String> {
        self.reports.iter().flat_map(|r| &r.errors).collect()
    }
}

fn merged<'a>(lists: impl Iterator<Item = &'a Vec<u64>>) -> Vec<u64> {
    let mut all: Vec<u64> = lists.flatten().copied().collect();
    all.sort_unstable();
    all
}

/// Share of the budget used by `times` (sorted completion times, ms): over the whole windows
/// since the first, the calls completed against the most a client may send there (`limit` per
/// window, since no window may hold more). 100 % is the ceiling; the limiter's margin and calls
/// spent on 401s before a token renewal show as less.
pub fn budget_used(times: &[u64], limit: usize, window: Duration) -> f64 {
    let w = window.as_millis() as u64;
    let Some((first, last)) = times.first().zip(times.last()) else { return 0.0 };
    let windows = (last - first) / w;
    if windows == 0 {
        return 0.0;
    }
    let inside = times.iter().filter(|t| **t < first + windows * w).count();
    inside as f64 / (windows as usize * limit) as f64
}

/// The most `times` (ms) inside any window of `window`.
pub fn busiest_window(times: &[u64], window: Duration) -> usize {
    let w = window.as_millis() as u64;
    let mut start = 0;
    let mut best = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= w {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Runs `processes` workers for `duration` against a fresh mock, all sharing `redis_url` for the
/// budget and `store` for the tokens; rotations are due every 4 s.
pub async fn run_fleet(processes: usize, store: SharedStore, redis_url: &str, duration: Duration) -> FleetOutcome {
    let mock = MockVandar::start().await.unwrap();
    mock.set_token_lifetime(TOKEN_LIFETIME);
    let seed_expires_at = unix_ms() + TOKEN_LIFETIME.as_millis() as u64;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("vandar-tokens.json");
    let prefix = format!("vandar:fleet:{}", uuid::Uuid::new_v4().simple());
    let start_at = unix_ms() + 1_500;
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..processes)
        .map(|_| {
            Command::new(&exe)
                .env("VANDAR_FLEET_WORKER", "1")
                .env("VANDAR_MOCK", serde_json::to_string(&mock.address()).unwrap())
                .env("FLEET_SEED_EXPIRES_MS", seed_expires_at.to_string())
                .env("FLEET_STORE", if store == SharedStore::Redis { "redis" } else { "file" })
                .env("FLEET_TOKEN_FILE", &token_file)
                .env("FLEET_REDIS", redis_url)
                .env("FLEET_PREFIX", &prefix)
                .env("FLEET_START_MS", start_at.to_string())
                .env("FLEET_DURATION_MS", duration.as_millis().to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::task::spawn_blocking(move || children.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>())
        .await
        .unwrap();
    let run = Duration::from_millis(unix_ms() - start_at);
    let exit_ok = outputs.iter().all(|o| o.status.success());
    let reports = outputs
        .iter()
        .map(|o| {
            let text = String::from_utf8_lossy(&o.stdout);
            let line = text.lines().rev().find(|l| l.starts_with('{')).unwrap_or("{}");
            serde_json::from_str(line).unwrap_or_else(|e| WorkerReport { errors: vec![format!("unreadable report: {e}")], ..Default::default() })
        })
        .collect();
    let stored = match store {
        SharedStore::Redis => RedisTokenStore::new(redis_url, &prefix).unwrap().load().await.unwrap(),
        SharedStore::File => FileTokenStore::new(&token_file).load().await.unwrap(),
    };
    FleetOutcome { mock: mock.stats(), stored_generation: stored.map_or(0, |p| p.generation), reports, exit_ok, run }
}

/// Whether this process was spawned as a worker.
pub fn is_worker() -> bool {
    std::env::var_os("VANDAR_FLEET_WORKER").is_some()
}

/// The worker: 2 POST loops (ipg_send) and 3 GET loops (balance, bearer token) until the
/// deadline; prints its report as one JSON line.
pub fn worker_main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let report = runtime.block_on(worker());
    println!("{}", serde_json::to_string(&report).unwrap());
}

async fn worker() -> WorkerReport {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} not set"));
    let ms = |name: &str| var(name).parse::<u64>().unwrap();
    let mock: MockAddress = serde_json::from_str(&var("VANDAR_MOCK")).unwrap();
    let c = &mock.credentials;
    let seed = TokenPair::new(c.access_token.clone(), c.refresh_token.clone(), Some(UNIX_EPOCH + Duration::from_millis(ms("FLEET_SEED_EXPIRES_MS"))));
    let redis = var("FLEET_REDIS");
    let prefix = var("FLEET_PREFIX");
    let store: Box<dyn Fn(vandar::ClientBuilder) -> vandar::ClientBuilder> = match var("FLEET_STORE").as_str() {
        "redis" => {
            let store = RedisTokenStore::new(&redis, &prefix).unwrap();
            Box::new(move |b| b.token_store(store.clone()))
        }
        _ => {
            let path = var("FLEET_TOKEN_FILE");
            Box::new(move |b| b.token_store(FileTokenStore::new(&path)))
        }
    };
    let vandar = store(
        mock.client_builder()
            .business_tokens(seed)
            .rate_limits(RateLimits::redis(&redis, &prefix).unwrap()),
    )
    .build()
    .unwrap();
    let start = UNIX_EPOCH + Duration::from_millis(ms("FLEET_START_MS"));
    tokio::time::sleep(start.duration_since(SystemTime::now()).unwrap_or_default()).await;
    let deadline = unix_ms() + ms("FLEET_DURATION_MS");
    let loops = (0..5).map(|i| {
        let vandar = vandar.clone();
        tokio::spawn(async move {
            let post = i < 2;
            let (mut times, mut errors) = (Vec::new(), Vec::new());
            while unix_ms() < deadline {
                let result = if post {
                    vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/cb")).send().await.map(drop)
                } else {
                    vandar.api().balance().business(vandar.business().unwrap()).send().await.map(drop)
                };
                match result{
                    Ok(()) => times.push(unix_ms()),
                    Err(e) => errors.push(e.to_string()),
                }
            }
            (post, times, errors)
        })
    });
    let mut report = WorkerReport::default();
    for (post, times, errors) in futures::future::join_all(loops).await.into_iter().map(Result::unwrap) {
        if post { &mut report.posts } else { &mut report.others }.extend(times);
        report.errors.extend(errors);
    }
    report
}
