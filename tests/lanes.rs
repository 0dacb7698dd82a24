//! Lanes and deadlines in the rate budget: in one process (a paused tokio clock: what is asserted
//! is the order the limiter decides, not a machine's timing), against the mock, and across real OS
//! processes sharing one redis-server. With the defaults and no reserve held idle: an interactive
//! call behind a saturating background flood is granted before any background call that asks
//! after it, within one pace (`span / limit`); background work uses the whole budget the
//! interactive calls leave; the first checkout after an idle hour is protected like the hundredth;
//! without lanes a checkout queues behind the flood; a call past its deadline is refused before
//! anything is sent, saying why.
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;
use vandar::rate_limit::{Lane, RateLimits};

const WINDOW: Duration = Duration::from_millis(1_000);
/// 10 POST per window: one slot frees every 100 ms under saturation.
const PACE: Duration = Duration::from_millis(100);

/// Every permit granted, by lane, at the (tokio) instant it was granted.
#[derive(Default)]
struct Grants(Mutex<Vec<(Lane, Instant)>>);

impl Grants {
    fn background_between(&self, from: Instant, to: Instant) -> usize {
        self.0.lock().unwrap().iter().filter(|(lane, at)| *lane == Lane::Background && *at > from && *at < to).count()
    }
    fn count(&self, lane: Lane, from: Instant, to: Instant) -> usize {
        self.0.lock().unwrap().iter().filter(|(l, at)| *l == lane && *at >= from && *at < to).count()
    }
}

/// Background tasks asking for POST permits as fast as they are granted, until `until`.
fn flood(limits: &Arc<RateLimits>, grants: &Arc<Grants>, tasks: usize, until: Instant) -> Vec<tokio::task::JoinHandle<()>> {
    (0..tasks)
        .map(|_| {
            let (limits, grants) = (limits.clone(), grants.clone());
            tokio::spawn(async move {
                while Instant::now() < until {
                    if limits.permit(&Method::POST, Lane::Background, Some(until)).await.is_ok() {
                        grants.0.lock().unwrap().push((Lane::Background, Instant::now()));
                    }
                }
            })
        })
        .collect()
}

/// Checkouts of three interactive POSTs each (start, lookup, verify), one every `every` from
/// `from`, beside a flood of 8 background tasks; returns each interactive call's (arrival, grant).
async fn checkouts_beside_a_flood(limits: RateLimits, from: Duration, every: Duration, checkouts: u32) -> (Vec<(Instant, Instant)>, Arc<Grants>, Instant) {
    let limits = Arc::new(limits);
    let grants = Arc::new(Grants::default());
    let t0 = Instant::now();
    let until = t0 + from + every * (checkouts + 1);
    let flood = flood(&limits, &grants, 8, until);
    let mut calls = Vec::new();
    tokio::time::sleep(from).await;
    for k in 0..checkouts {
        tokio::time::sleep_until(t0 + from + every * k + Duration::from_millis(u64::from(k * 37 % 97))).await;
        for _ in 0..3 {
            let arrival = Instant::now();
            limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap();
            let granted = Instant::now();
            grants.0.lock().unwrap().push((Lane::Interactive, granted));
            calls.push((arrival, granted));
            tokio::time::sleep(Duration::from_millis(2)).await; // the answer comes back
        }
    }
    for task in flood {
        task.await.unwrap();
    }
    (calls, grants, t0)
}

#[tokio::test(start_paused = true)]
async fn an_interactive_call_is_granted_before_any_background_call_asking_with_it_and_within_a_pace() {
    let (calls, grants, _) = checkouts_beside_a_flood(RateLimits::new(10, 100, WINDOW), WINDOW * 3, WINDOW, 20).await;
    for (arrival, granted) in &calls {
        assert_eq!(grants.background_between(*arrival, *granted), 0, "a background permit went ahead of a waiting checkout");
        assert!(*granted - *arrival <= PACE, "a checkout waited {:?}, more than one pace", *granted - *arrival);
    }
    assert!(calls.iter().any(|(a, g)| g > a), "the flood saturated the budget: some checkout had to wait");
}

#[tokio::test(start_paused = true)]
async fn the_budget_is_used_whole_by_the_flood_and_the_checkouts_together() {
    let (_, grants, t0) = checkouts_beside_a_flood(RateLimits::new(10, 100, WINDOW), WINDOW, WINDOW, 20).await;
    // Whole windows from the first grant to the last checkout: 10 permits each at most.
    let (from, to) = (t0, t0 + WINDOW * 20);
    let (interactive, background) = (grants.count(Lane::Interactive, from, to), grants.count(Lane::Background, from, to));
    assert!(interactive >= 3 * 19, "interactive: {interactive}");
    let used = (interactive + background) as f64 / 200.0;
    assert!(used >= 0.98 && used <= 1.0, "budget used: {used} ({interactive} interactive, {background} background of 200)");
}

#[tokio::test(start_paused = true)]
async fn the_first_checkout_after_an_idle_hour_is_protected_like_the_hundredth() {
    let (calls, grants, _) = checkouts_beside_a_flood(RateLimits::new(10, 100, WINDOW), Duration::from_secs(3_600), WINDOW, 3).await;
    let (arrival, granted) = calls[0];
    assert_eq!(grants.background_between(arrival, granted), 0);
    assert!(granted - arrival <= PACE, "the first checkout after an hour of batch waited {:?}", granted - arrival);
}

#[tokio::test(start_paused = true)]
async fn without_lanes_a_checkout_queues_behind_the_flood() {
    let (calls, _, _) = checkouts_beside_a_flood(RateLimits::new(10, 100, WINDOW).with_lanes(false), WINDOW * 3, WINDOW, 3).await;
    let worst = calls.iter().map(|(a, g)| *g - *a).max().unwrap();
    assert!(worst > WINDOW / 2, "without lanes the checkout waits behind the queued flood: worst {worst:?}");
}

#[tokio::test(start_paused = true)]
async fn a_reserve_held_idle_grants_at_once() {
    let (calls, _, _) = checkouts_beside_a_flood(RateLimits::new(10, 100, WINDOW).with_reserve(4, 0), WINDOW * 3, WINDOW, 10).await;
    assert!(calls.iter().all(|(a, g)| g == a), "with 4 slots held for 3 POSTs a window, no checkout waits");
}

#[cfg(feature = "mock")]
mod against_the_mock {
    use super::*;
    use vandar::api::types::builder::SettlementStoreRequest;
    use vandar::mock::{Fault, MockVandar};
    use vandar::money::Tomans;
    use vandar::{CallOptions, Error};

    #[tokio::test]
    async fn a_call_past_its_deadline_is_refused_before_anything_is_sent() {
        let mock = MockVandar::start().await.unwrap();
        let vandar = mock.client_builder().rate_limits(RateLimits::new(1, 1, Duration::from_secs(30))).max_wait(Duration::from_millis(200)).build().unwrap();
        vandar.api().balance().send().await.unwrap();
        let before = mock.stats();
        let started = std::time::Instant::now();
        let error = vandar.api().balance().send().await.unwrap_err();
        assert!(matches!(&error, Error::DeadlineExceeded { waited, missed } if *waited < Duration::from_secs(1) && missed.ahead == 0), "{error:?}");
        // Visible without metrics: the lane, the budget and how far the slot was.
        let message = error.to_string();
        assert!(message.contains("background lane") && message.contains("other budget") && message.contains("earliest slot was"), "{message}");
        assert!(started.elapsed() < Duration::from_secs(5), "it did not wait for the next window");
        assert_eq!(error.reach(), vandar::Reach::NeverSent);
        assert!(error.to_string().contains("nothing was sent"), "{error}");
        let after = mock.stats();
        assert_eq!((after.accepted_post, after.accepted_other), (before.accepted_post, before.accepted_other), "nothing reached the mock");
        // A per-call deadline overrides the Client's: a generous one waits for the permit.
        let tight = CallOptions::new().max_wait(Duration::from_millis(10)).run(vandar.api().balance().send()).await;
        assert!(matches!(tight, Err(Error::DeadlineExceeded { .. })));
    }

    /// A 429 that still happens pauses the budget for every caller sharing it: the next call waits
    /// out Vandar's Retry-After (1 s from the mock) although the client's own count has room.
    async fn a_429_pauses_the_budget(first: RateLimits, second: RateLimits) {
        let mock = MockVandar::start().await.unwrap();
        let once = vandar::RetryPolicy::default().max_attempts(1);
        let a = mock.client_builder().rate_limits(first).retry_policy(once).build().unwrap();
        let b = mock.client_builder().rate_limits(second).build().unwrap();
        a.api().balance().send().await.unwrap();
        b.api().balance().send().await.unwrap();
        mock.inject(Fault::RateLimited);
        let refused = a.api().balance().send().await.unwrap_err();
        assert!(matches!(refused, Error::RateLimited { .. }), "{refused:?}");
        let started = std::time::Instant::now();
        b.api().balance().send().await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(900), "the other caller waited out the pause: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_429_pauses_the_budget_of_the_process() {
        // One budget, two callers: the second client is the first's clone.
        let mock = MockVandar::start().await.unwrap();
        let once = vandar::RetryPolicy::default().max_attempts(1);
        let a = mock.client_builder().rate_limits(RateLimits::new(30, 100, WINDOW)).retry_policy(once).build().unwrap();
        a.api().balance().send().await.unwrap();
        mock.inject(Fault::RateLimited);
        assert!(matches!(a.api().balance().send().await, Err(Error::RateLimited { .. })));
        let started = std::time::Instant::now();
        a.clone().api().balance().send().await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(900), "the next call waited out the pause: {:?}", started.elapsed());
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn a_429_pauses_the_budget_of_the_fleet() {
        let redis = crate::redis_server::RedisServer::start();
        let prefix = format!("vandar:pause:{}", uuid::Uuid::new_v4().simple());
        let shared = || RateLimits::redis_with(&redis.url(), prefix.clone(), 30, 100, WINDOW).unwrap();
        a_429_pauses_the_budget(shared(), shared()).await;
    }

    #[tokio::test]
    async fn a_lookup_past_the_deadline_leaves_the_payout_indeterminate() {
        let mock = MockVandar::start().await.unwrap();
        // One GET per 30 s, spent first: the payout's lookup cannot get a permit in time.
        let vandar = mock.client_builder().rate_limits(RateLimits::new(10, 1, Duration::from_secs(30))).max_wait(Duration::from_millis(300)).build().unwrap();
        vandar.api().balance().send().await.unwrap();
        mock.inject(Fault::TruncatedBody); // carried out, its answer cut: the lookup must decide
        let payout = SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200");
        let error = vandar.settlement_store(payout).await.unwrap_err();
        assert!(matches!(&error, Error::Indeterminate { reason, .. } if reason.contains("deadline")), "{error:?}");
    }
}

/// Real OS processes sharing one redis-server: `VANDAR_LANES_CHILD` set makes this binary a
/// background flood of POST permits on the shared budget, printing the wall-clock instant (µs) of
/// every permit it got.
mod across_processes {
    use super::*;
    use std::process::{Command, Stdio};
    use std::time::{SystemTime, UNIX_EPOCH};

    const CHILD: &str = "VANDAR_LANES_CHILD";

    fn micros() -> u64 {
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_micros() as u64
    }

    fn shared(url: &str, prefix: &str) -> RateLimits {
        RateLimits::redis_with(url, prefix, 10, 100, WINDOW).unwrap().with_margin(Duration::ZERO)
    }

    #[test]
    fn a_fleet_yields_to_a_checkout_in_another_process_and_uses_the_whole_budget() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        if let Ok(spec) = std::env::var(CHILD) {
            let mut parts = spec.splitn(4, ' ');
            let (url, prefix) = (parts.next().unwrap().to_string(), parts.next().unwrap().to_string());
            let (start, until) = (parts.next().unwrap().parse::<u64>().unwrap(), parts.next().unwrap().parse::<u64>().unwrap());
            runtime.block_on(async {
                tokio::time::sleep(Duration::from_micros(start.saturating_sub(micros()))).await;
                let limits = Arc::new(shared(&url, &prefix));
                let mut tasks = Vec::new();
                for _ in 0..4 {
                    let limits = limits.clone();
                    tasks.push(tokio::spawn(async move {
                        let mut granted = Vec::new();
                        while micros() < until {
                            let deadline = Instant::now() + Duration::from_micros(until.saturating_sub(micros()));
                            if limits.permit(&Method::POST, Lane::Background, Some(deadline)).await.is_ok() {
                                granted.push(micros());
                            }
                        }
                        granted
                    }));
                }
                for task in tasks {
                    for at in task.await.unwrap() {
                        println!("granted {at}");
                    }
                }
            });
            return;
        }
        let redis = redis_server::RedisServer::start();
        let prefix = format!("vandar:lanes:{}", uuid::Uuid::new_v4().simple());
        let start = micros() + 500_000;
        let until = start + 8 * WINDOW.as_micros() as u64;
        let spawn = || {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "across_processes::a_fleet_yields_to_a_checkout_in_another_process_and_uses_the_whole_budget", "--nocapture"])
                .env(CHILD, format!("{} {prefix} {start} {until}", redis.url()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let children = [spawn(), spawn()];
        let calls = runtime.block_on(async {
            let limits = shared(&redis.url(), &prefix);
            // The floods run alone for three windows (no interactive call yet: nothing to learn from).
            tokio::time::sleep(Duration::from_micros(start - micros()) + WINDOW * 3).await;
            let mut calls = Vec::new();
            for k in 0..4u64 {
                for _ in 0..3 {
                    let arrival = micros();
                    limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap();
                    calls.push((arrival, micros()));
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                tokio::time::sleep(Duration::from_millis(700 + k * 31)).await;
            }
            calls
        });
        let background: Vec<u64> = children
            .into_iter()
            .flat_map(|child| {
                let out = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).to_string();
                out.lines().filter_map(|l| l.find("granted ").map(|at| l[at + 8..].trim().parse::<u64>().unwrap())).collect::<Vec<_>>()
            })
            .collect();
        // Ordering, not speed: no background permit was granted (Redis decides, the child stamps
        // it a little after) between a checkout's arrival and its grant. 5 ms covers the stamping.
        for (arrival, granted) in &calls {
            let ahead = background.iter().filter(|at| **at > arrival + 5_000 && **at + 1_000 < *granted).count();
            assert_eq!(ahead, 0, "{ahead} background permits went ahead of a checkout that waited {} µs", granted - arrival);
        }
        // The whole budget of 8 windows of 10 (less what the last moments of the run cost a loaded
        // machine), and never more.
        let used = background.len() + calls.len();
        assert!((72..=80).contains(&used), "{} background + {} interactive permits in 8 windows of 10", background.len(), calls.len());
    }
}

/// An operation id with a typo in `lane_for` would leave the operation in its default lane without a
/// word: `build` refuses it, naming the closest id; a real one builds.
#[test]
fn lane_for_an_operation_the_spec_does_not_have_is_refused_with_the_closest_id() {
    let error = vandar::Client::builder().lane_for("setlement_list", Lane::Interactive).build().unwrap_err();
    assert!(
        matches!(&error, vandar::Error::InvalidInput { field, reason }
            if field.as_deref() == Some("lane_for") && reason == r#""setlement_list" is not an operation id of the spec; did you mean "settlement_list"?"#),
        "{error:?}"
    );
    let far = vandar::Client::builder().lane_for("refund_everything", Lane::Background).build().unwrap_err();
    assert!(far.to_string().contains(r#""refund_everything" is not an operation id of the spec (e.g."#), "{far}");
    vandar::Client::builder().lane_for("settlement_list", Lane::Interactive).build().unwrap();
}
