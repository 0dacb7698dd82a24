//! Twenty real OS processes need a renewal of the business token at once; one renews (Vandar
//! answers it slowly, 1.5 s), the other nineteen wait for the fleet-wide lock in Redis. Waiters
//! block until the release wakes them instead of polling the lock, so the renewal costs Redis a
//! few commands per process, not one every few milliseconds for as long as it takes. Counted from
//! the server's own `INFO commandstats`.
#![cfg(all(feature = "redis", feature = "mock"))]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vandar::auth::RedisTokenStore;
use vandar::mock::{Fault, MockVandar};
use vandar::{Host, TokenPair};

const CHILD: &str = "VANDAR_RENEWAL_CHILD";
const PROCESSES: usize = 20;

fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

/// Every command the server has run so far (the sum of `cmdstat_*:calls=`).
fn commands(url: &str) -> u64 {
    let client = redis::Client::open(url).unwrap();
    let mut connection = client.get_connection().unwrap();
    let info: String = redis::cmd("INFO").arg("commandstats").query(&mut connection).unwrap();
    info.lines().filter_map(|l| l.split("calls=").nth(1)?.split(',').next()?.parse::<u64>().ok()).sum()
}

async fn child() {
    let var = |name: &str| std::env::var(name).unwrap();
    let expired = Some(UNIX_EPOCH + Duration::from_millis(unix_ms() - 1_000));
    let vandar = vandar::Client::builder()
        .business(var("R_BUSINESS"))
        .business_tokens(TokenPair::new(var("R_ACCESS"), var("R_REFRESH"), expired))
        .base_url(Host::Api, var("R_API"))
        .token_store(RedisTokenStore::new(&var("R_REDIS"), var("R_PREFIX")).unwrap())
        .build()
        .unwrap();
    let start = UNIX_EPOCH + Duration::from_millis(var("R_START_MS").parse().unwrap());
    tokio::time::sleep(start.duration_since(SystemTime::now()).unwrap_or_default()).await;
    match vandar.api().balance().send().await {
        Ok(_) => println!("renewal-child ok"),
        Err(error) => println!("renewal-child failed: {error}"),
    }
}

#[test]
fn twenty_processes_wait_for_one_renewal_without_polling() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    if std::env::var(CHILD).is_ok() {
        return runtime.block_on(child());
    }
    let redis = redis_server::RedisServer::start();
    runtime.block_on(async {
        let mock = MockVandar::start().await.unwrap();
        let c = mock.credentials();
        // The first request Vandar gets is the one renewal: it answers 1.5 s late.
        mock.inject(Fault::Latency(Duration::from_millis(1_500)));
        let before = commands(&redis.url());
        let start = unix_ms() + 1_500;
        let children: Vec<_> = (0..PROCESSES)
            .map(|_| {
                Command::new(std::env::current_exe().unwrap())
                    .args(["--exact", "twenty_processes_wait_for_one_renewal_without_polling", "--nocapture"])
                    .env(CHILD, "1")
                    .env("R_BUSINESS", &c.business)
                    .env("R_ACCESS", &c.access_token)
                    .env("R_REFRESH", &c.refresh_token)
                    .env("R_API", mock.base_url(Host::Api))
                    .env("R_REDIS", redis.url())
                    .env("R_PREFIX", "vandar:renewal-fleet")
                    .env("R_START_MS", start.to_string())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || children.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>()).await.unwrap();
        let after = commands(&redis.url());
        let ok = outputs.iter().filter(|o| String::from_utf8_lossy(&o.stdout).contains("renewal-child ok")).count();
        let spent = after - before - 1; // the INFO itself
        println!("renewal fleet: {PROCESSES} processes, {} refresh(es), {} refused, {spent} Redis commands", mock.refreshes(), mock.stats().refused_refreshes);
        assert_eq!(ok, PROCESSES, "every process made its call");
        assert_eq!(mock.refreshes(), 1, "one renewal for the fleet");
        assert_eq!(mock.stats().refused_refreshes, 0);
        // Polling every 2-6 ms would cost 19 waiters some 300 commands each over 1.5 s (~6,000).
        assert!(spent <= PROCESSES as u64 * 25, "{spent} Redis commands for one renewal of {PROCESSES} processes");
    });
}
