//! RedisTokenStore and the Redis-backed rate limiter against a real `redis-server` on 127.0.0.1,
//! started by each test on a free port and stopped by pid.
#![cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use redis_server::RedisServer;
use tokio::time::Instant;
use vandar::auth::{RedisTokenStore, Saved, TokenStore};
use vandar::rate_limit::RateLimits;
use vandar::TokenPair;

fn pair(name: &str, generation: u64) -> TokenPair {
    TokenPair::new(format!("access-{name}"), format!("refresh-{name}"), None).with_generation(generation)
}

#[tokio::test]
async fn the_stored_pair_round_trips_and_saving_is_fenced_by_generation() {
    let redis = RedisServer::start();
    let store = RedisTokenStore::new(&redis.url(), "vandar:test").unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    let expiring = TokenPair::new("a", "r", Some(std::time::UNIX_EPOCH + Duration::from_secs(1_800_000_000))).with_generation(2);
    assert_eq!(store.save(&expiring).await.unwrap(), Saved::Stored);
    assert_eq!(store.load().await.unwrap(), Some(expiring));
    assert_eq!(store.save(&pair("same", 2)).await.unwrap(), Saved::Superseded);
    assert_eq!(store.save(&pair("older", 1)).await.unwrap(), Saved::Superseded);
    assert_eq!(store.load().await.unwrap().unwrap().access_token.expose(), "a");
    assert_eq!(store.save(&pair("newer", 3)).await.unwrap(), Saved::Stored);
    // Another prefix is another business.
    let other = RedisTokenStore::new(&redis.url(), "vandar:other").unwrap();
    assert_eq!(other.load().await.unwrap(), None);
}

#[tokio::test]
async fn the_renewal_lock_excludes_other_holders_until_released() {
    let redis = RedisServer::start();
    let a = RedisTokenStore::new(&redis.url(), "vandar:test").unwrap();
    let b = RedisTokenStore::new(&redis.url(), "vandar:test").unwrap();
    let held = a.lock().await.unwrap();
    let waiting = tokio::spawn(async move { b.lock().await.map(|lock| (Instant::now(), lock)) });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "B waits while A holds the lock");
    let released_at = Instant::now();
    held.release().await.unwrap();
    let (acquired_at, lock) = waiting.await.unwrap().unwrap();
    assert!(acquired_at >= released_at);
    lock.release().await.unwrap();
}

#[tokio::test]
async fn a_holder_that_stalls_past_its_lease_neither_releases_nor_overwrites_the_next_holders_work() {
    let redis = RedisServer::start();
    let lease = Duration::from_millis(300);
    let store = |_| RedisTokenStore::new(&redis.url(), "vandar:test").unwrap().lease(lease);
    let (stalled, next, third) = (store(1), store(2), store(3));
    stalled.save(&pair("g4", 4)).await.unwrap();

    let stalled_lock = stalled.lock().await.unwrap();
    // The stalled holder read generation 4 and will renew to 5 ... but stops past its lease.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    let next_lock = next.lock().await.unwrap();
    assert_eq!(next.save(&pair("g5-next", 5)).await.unwrap(), Saved::Stored);
    // The stalled holder comes back: its save is fenced, its release leaves the other's lock alone.
    assert_eq!(stalled.save(&pair("g5-stalled", 5)).await.unwrap(), Saved::Superseded);
    stalled_lock.release().await.unwrap();
    let third_try = tokio::time::timeout(Duration::from_millis(200), third.lock()).await;
    assert!(third_try.is_err(), "the lock is still the next holder's");
    assert_eq!(third.load().await.unwrap().unwrap().access_token.expose(), "access-g5-next");
    next_lock.release().await.unwrap();
    third.lock().await.unwrap().release().await.unwrap();
}

/// The largest number of `times` inside any half-open interval of length `window`.
fn busiest_window(times: &[Instant], window: Duration) -> usize {
    times.iter().map(|start| times.iter().filter(|t| **t >= *start && **t < *start + window).count()).max().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limiters_sharing_redis_share_one_budget_and_use_it() {
    let redis = RedisServer::start();
    let (limit, window, margin) = (10u32, Duration::from_millis(400), Duration::from_millis(8));
    // Three limiters, as three processes would hold, with six eager callers each.
    let limiters: Vec<Arc<RateLimits>> = (0..3)
        .map(|_| Arc::new(RateLimits::redis_with(&redis.url(), "vandar:test", limit, 1_000, window).unwrap().with_margin(margin)))
        .collect();
    let started = Instant::now();
    let callers = limiters.iter().flat_map(|limiter| {
        (0..6).map(move |_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                let mut granted = Vec::new();
                for _ in 0..5 {
                    limiter.acquire(&reqwest::Method::POST).await.unwrap();
                    granted.push(Instant::now());
                }
                granted
            })
        })
    });
    let mut granted: Vec<Instant> = futures::future::join_all(callers.collect::<Vec<_>>()).await.into_iter().flat_map(Result::unwrap).collect();
    granted.sort();
    assert_eq!(granted.len(), 90);
    assert!(busiest_window(&granted, window) <= limit as usize, "{} in one window", busiest_window(&granted, window));
    // 90 permits = 9 budgets: the last batch starts 8 spans after the first. A caller that wakes
    // late (a busy machine) gives its slot up, so allow up to half as long again, not a stall.
    let elapsed = *granted.last().unwrap() - started;
    let ideal = (window + margin) * 8;
    assert!(elapsed >= ideal && elapsed < ideal * 3 / 2, "took {elapsed:?}, ideal {ideal:?}");
}

#[tokio::test]
async fn an_unreachable_redis_fails_the_permit_instead_of_granting_it() {
    let redis = RedisServer::start();
    let limits = RateLimits::redis(&redis.url(), "vandar:test").unwrap();
    limits.acquire(&reqwest::Method::GET).await.unwrap();
    drop(redis); // stopped by pid
    let refused = limits.acquire(&reqwest::Method::GET).await.unwrap_err();
    assert!(refused.to_string().contains("nothing was sent"), "{refused}");
}

/// After Redis restarts, the shared connection is found broken by the first command of each
/// process: that command is run again on a new connection, so the first call after Redis is back
/// succeeds instead of failing once per process per outage.
#[tokio::test]
async fn the_first_call_after_redis_comes_back_succeeds() {
    let redis = RedisServer::start();
    let port = redis.port;
    let limits = RateLimits::redis(&redis.url(), "vandar:restart").unwrap();
    let store = RedisTokenStore::new(&redis.url(), "vandar:restart").unwrap();
    limits.acquire(&reqwest::Method::GET).await.unwrap();
    assert_eq!(store.load().await.unwrap(), None);
    drop(redis); // stopped by pid: every connection is gone
    let redis = RedisServer::start_on(port); // back, on the same address
    limits.acquire(&reqwest::Method::GET).await.expect("the first permit after Redis is back");
    assert_eq!(store.load().await.expect("the first read after Redis is back"), None);
    drop(redis);
}

/// Raw commands on the test's Redis: what a damaged or hostile store looks like.
fn raw(url: &str, args: &[&str]) {
    let mut connection = redis::Client::open(url).unwrap().get_connection().unwrap();
    let mut command = redis::cmd(args[0]);
    for arg in &args[1..] {
        command.arg(*arg);
    }
    command.exec(&mut connection).unwrap();
}

#[tokio::test]
async fn hostile_token_state_in_redis_never_locks_the_fleet_out() {
    let redis = RedisServer::start();
    let store = RedisTokenStore::new(&redis.url(), "vandar:hostile").unwrap().lease(Duration::from_millis(200));
    // Generations near the 15-digit bound compare exactly (as doubles past 2^53 they would not).
    let top = vandar::auth::MAX_GENERATION;
    assert_eq!(store.save(&pair("high", top - 1)).await.unwrap(), Saved::Stored);
    assert_eq!(store.save(&pair("same", top - 1)).await.unwrap(), Saved::Superseded);
    assert_eq!(store.save(&pair("top", top)).await.unwrap(), Saved::Stored);
    // A stored pair whose generation is beyond the bound is refused on load, and replaced by a save.
    raw(&redis.url(), &["SET", "vandar:hostile:tokens", r#"{"access_token":"s3cret","refresh_token":"s3cret","generation":99999999999999999999}"#]);
    let error = store.load().await.unwrap_err().to_string();
    assert!(error.contains("refused") && !error.contains("s3cret"), "{error}");
    assert_eq!(store.save(&pair("fresh", 1)).await.unwrap(), Saved::Stored);
    assert_eq!(store.load().await.unwrap().unwrap().access_token.expose(), "access-fresh");

    // A hash planted at the lock key: taken over at once.
    raw(&redis.url(), &["HSET", "vandar:hostile:tokens:lock", "x", "y"]);
    let started = Instant::now();
    store.lock().await.unwrap().release().await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(300), "{:?}", started.elapsed());
    // A lock that never expires and a waiter count that is not a number: taken over once the
    // whole wait (twice the lease) is over, never a lockout.
    raw(&redis.url(), &["SET", "vandar:hostile:tokens:lock", "someone-forever"]);
    raw(&redis.url(), &["SET", "vandar:hostile:tokens:waiters", "not-a-number"]);
    let started = Instant::now();
    let lock = tokio::time::timeout(Duration::from_secs(5), store.lock()).await.expect("never a lockout").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400), "a live-looking lock is waited for first");
    lock.release().await.unwrap();
    // And a released lock is free again for the next holder.
    store.lock().await.unwrap().release().await.unwrap();
}
