//! Four OS processes (this test binary spawned 4 times) share one mock Vandar, one Redis (the
//! rate budget) and one token store (Redis, then a file), while the access token rotates every
//! 4 s. Expected: one refresh per rotation, no refused refresh token, no lockout, no 429, no
//! window over the budget, and a floor on the budget used that no honest limiter misses on a
//! loaded 2-core machine (80 %; the shares themselves are benchmark figures: benches/fleet_lanes.rs).
//!
//! `harness = false`: the same binary is the orchestrator and, with `VANDAR_FLEET_WORKER` set,
//! a worker.
#[path = "support/fleet.rs"]
mod fleet;
#[path = "support/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use fleet::{budget_used, busiest_window, run_fleet, SharedStore};
use vandar::rate_limit::{OTHER_PER_WINDOW, POST_PER_WINDOW, WINDOW};

fn main() {
    if fleet::is_worker() {
        return fleet::worker_main();
    }
    let redis = redis_server::RedisServer::start();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    for store in [SharedStore::Redis, SharedStore::File] {
        let outcome = runtime.block_on(run_fleet(4, store, &redis.url(), Duration::from_millis(9_200)));
        let (posts, others) = (outcome.posts(), outcome.others());
        let post_used = budget_used(&posts, POST_PER_WINDOW as usize, WINDOW);
        let other_used = budget_used(&others, OTHER_PER_WINDOW as usize, WINDOW);
        println!(
            "fleet ({store:?} token store, 4 processes, {:.1} s): refreshes {} (stored generation {}), refused refresh tokens {}, \
             429s {}, POST {} ({:.1} % of budget), other {} ({:.1} %), errors {}",
            outcome.run.as_secs_f64(),
            outcome.mock.refreshes,
            outcome.stored_generation,
            outcome.mock.refused_refreshes,
            outcome.mock.rate_limited,
            posts.len(),
            post_used * 100.0,
            others.len(),
            other_used * 100.0,
            outcome.errors().len(),
        );
        assert!(outcome.exit_ok, "a worker failed");
        assert!(outcome.errors().is_empty(), "no call failed (no lockout): {:?}", outcome.errors());
        assert_eq!(outcome.mock.refused_refreshes, 0, "no refresh token was used twice");
        assert!(outcome.mock.refreshes >= 2, "the token rotated mid-run");
        assert_eq!(outcome.mock.refreshes, outcome.stored_generation, "exactly one refresh per rotation");
        assert_eq!(outcome.mock.rate_limited, 0, "the server never answered 429");
        assert!(outcome.run >= Duration::from_secs(9));
        assert!(busiest_window(&posts, WINDOW) <= POST_PER_WINDOW as usize);
        assert!(post_used >= 0.80 && other_used >= 0.80, "budget used: POST {post_used:.3}, other {other_used:.3}");
    }
    println!("fleet: ok");
}
