//! Lanes and deadlines in the rate budget: in one process, against the mock (which enforces the
//! budget over any window), and across real OS processes sharing one redis-server. What is asserted
//! is behaviour the limiter decides, not shares of a budget that a loaded machine could flip: an
//! interactive call behind a saturating background flood gets its permit at once (the reserve),
//! while without lanes it queues behind the flood; background work uses the whole budget while
//! interactive is idle; a call past its deadline is refused before anything is sent.
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use tokio::time::Instant;
use vandar::rate_limit::{Lane, PermitRefused, RateLimits};

const WINDOW: Duration = Duration::from_millis(1_000);

/// Background tasks asking for POST permits until `until`; returns how many each got.
fn flood(limits: &Arc<RateLimits>, tasks: usize, until: Instant) -> Vec<tokio::task::JoinHandle<usize>> {
    (0..tasks)
        .map(|_| {
            let limits = limits.clone();
            tokio::spawn(async move {
                let mut granted = 0;
                while Instant::now() < until {
                    if limits.permit(&Method::POST, Lane::Background, Some(until)).await.is_ok() {
                        granted += 1;
                    }
                }
                granted
            })
        })
        .collect()
}

/// The wait of one interactive POST permit asked while `limits` is flooded by background work.
async fn interactive_wait_under_flood(limits: RateLimits) -> Duration {
    let limits = Arc::new(limits);
    // One interactive call marks the lane as active, as a shop taking payments does.
    limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap();
    let until = Instant::now() + WINDOW * 3;
    let flood = flood(&limits, 8, until);
    tokio::time::sleep(WINDOW + WINDOW / 2).await; // the flood has filled the budget
    let waited = limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap();
    for task in flood {
        task.await.unwrap();
    }
    waited
}

#[tokio::test]
async fn a_checkout_does_not_queue_behind_a_background_flood() {
    let with_lanes = interactive_wait_under_flood(RateLimits::new(10, 100, WINDOW).with_reserve(3, 10)).await;
    assert!(with_lanes < Duration::from_millis(150), "with lanes the reserve is free at once: waited {with_lanes:?}");
    let without = interactive_wait_under_flood(RateLimits::new(10, 100, WINDOW).with_reserve(0, 0)).await;
    assert!(without > Duration::from_millis(300), "without lanes it queues behind the flood: waited {without:?}");
}

#[tokio::test]
async fn background_uses_the_whole_budget_while_interactive_is_idle_and_leaves_the_reserve_otherwise() {
    let limits = RateLimits::new(10, 100, Duration::from_secs(30)).with_reserve(3, 10);
    /// Background POST permits granted without waiting past 50 ms.
    async fn at_once(limits: &RateLimits) -> usize {
        let mut granted = 0;
        while limits.permit(&Method::POST, Lane::Background, Some(Instant::now() + Duration::from_millis(50))).await.is_ok() {
            granted += 1;
        }
        granted
    }
    assert_eq!(at_once(&limits).await, 10, "interactive idle: background takes the whole budget");
    let limits = RateLimits::new(10, 100, Duration::from_secs(30)).with_reserve(3, 10);
    limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap();
    assert_eq!(at_once(&limits).await, 6, "interactive active: background stops at the reserve (1 + 6 of 10)");
    // Interactive may still use the whole budget.
    for _ in 0..3 {
        let waited = limits.permit(&Method::POST, Lane::Interactive, Some(Instant::now() + Duration::from_millis(50))).await.unwrap();
        assert!(waited < Duration::from_millis(50));
    }
    let refused = limits.permit(&Method::POST, Lane::Interactive, Some(Instant::now() + Duration::from_millis(50))).await.unwrap_err();
    assert!(matches!(refused, PermitRefused::Deadline { .. }));
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
        assert!(matches!(&error, Error::DeadlineExceeded { waited } if *waited < Duration::from_secs(1)), "{error:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "it did not wait for the next window");
        assert_eq!(error.reach(), vandar::Reach::NeverSent);
        assert!(error.to_string().contains("nothing was sent"), "{error}");
        let after = mock.stats();
        assert_eq!((after.accepted_post, after.accepted_other), (before.accepted_post, before.accepted_other), "nothing reached the mock");
        // A per-call deadline overrides the Client's: a generous one waits for the permit.
        let tight = CallOptions::new().max_wait(Duration::from_millis(10)).run(vandar.api().balance().send()).await;
        assert!(matches!(tight, Err(Error::DeadlineExceeded { .. })));
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
/// background flood of POST permits on the shared budget, printing how many it got.
mod across_processes {
    use super::*;
    use std::process::{Command, Stdio};

    const CHILD: &str = "VANDAR_LANES_CHILD";

    fn shared(url: &str, prefix: &str) -> RateLimits {
        RateLimits::redis_with(url, prefix, 10, 100, WINDOW).unwrap().with_reserve(3, 10)
    }

    #[test]
    fn a_fleet_shares_one_budget_with_one_reservation() {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        if let Ok(spec) = std::env::var(CHILD) {
            let (url, prefix, millis) = {
                let mut parts = spec.splitn(3, ' ');
                (parts.next().unwrap().to_string(), parts.next().unwrap().to_string(), parts.next().unwrap().parse::<u64>().unwrap())
            };
            let granted = runtime.block_on(async {
                let limits = Arc::new(shared(&url, &prefix));
                let until = Instant::now() + Duration::from_millis(millis);
                let mut total = 0;
                for task in flood(&limits, 4, until) {
                    total += task.await.unwrap();
                }
                total
            });
            println!("granted {granted}");
            return;
        }
        let redis = redis_server::RedisServer::start();
        let prefix = format!("vandar:lanes:{}", uuid::Uuid::new_v4().simple());
        let spawn = |prefix: &str, millis: u64| {
            Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "across_processes::a_fleet_shares_one_budget_with_one_reservation", "--nocapture"])
                .env(CHILD, format!("{} {prefix} {millis}", redis.url()))
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        };
        let granted = |child: std::process::Child| -> usize {
            let out = String::from_utf8_lossy(&child.wait_with_output().unwrap().stdout).to_string();
            out.lines().find_map(|l| l.find("granted ").map(|at| l[at + 8..].trim().parse().unwrap())).unwrap()
        };
        // Interactive idle: two background processes together take the whole budget of a window.
        let (a, b) = (spawn(&prefix, WINDOW.as_millis() as u64 / 2), spawn(&prefix, WINDOW.as_millis() as u64 / 2));
        assert_eq!(granted(a) + granted(b), 10, "background used the whole budget (10) while interactive was idle");
        std::thread::sleep(WINDOW * 2);
        // Interactive active in this process: the floods leave the reserve, and a checkout waits not.
        // (A fresh budget: the idle one above lent its reserve.)
        let prefix = format!("{prefix}:active");
        let waits = runtime.block_on(async {
            let limits = shared(&redis.url(), &prefix);
            limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap();
            let children = [spawn(&prefix, 2_500), spawn(&prefix, 2_500)];
            let mut waits = Vec::new();
            for _ in 0..4 {
                tokio::time::sleep(Duration::from_millis(450)).await;
                waits.push(limits.permit(&Method::POST, Lane::Interactive, None).await.unwrap());
            }
            let granted: usize = children.into_iter().map(granted).sum();
            (waits, granted)
        });
        let (waits, background) = waits;
        assert!(waits.iter().all(|w| *w < Duration::from_millis(150)), "interactive waits under a two-process flood: {waits:?}");
        // 2.5 s of flood: at most (10 - 3) per window of background, never more than the budget.
        assert!(background <= 7 * 4, "the floods left the reserve: {background} background permits in 2.5 s");
        assert!(background >= 7, "the floods were not starved: {background}");
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
