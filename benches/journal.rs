//! The cost a journal adds to one money move: `settlement_store` against the embedded mock, with no
//! journal and with each journal, in paired rounds of one run (each round sends one move per side,
//! in a rotating order). Prints each side's median and p99 per move, and the journal's added cost
//! (the median of the per-round differences, and its p99).
//!
//!     cargo bench --features mock,redis,postgres --bench journal          # ROUNDS=200 by default
//!
//! With those features the bench starts its own redis-server and PostgreSQL (Debian's packages, on
//! 127.0.0.1, stopped by pid; Redis as configured for a durable journal: appendonly, fsync always;
//! PostgreSQL with its default fsync and synchronous_commit). The file journal fsyncs on the disk
//! that holds the system's temporary folder.
#[cfg(feature = "postgres")]
#[path = "../tests/support/postgres_server.rs"]
mod postgres_server;
#[cfg(feature = "redis")]
#[path = "../tests/support/redis_server.rs"]
mod redis_server;
use std::time::{Duration, Instant};

use vandar::api::types::builder::SettlementStoreRequest;
use vandar::journal::FileJournal;
use vandar::mock::MockVandar;
use vandar::money::Tomans;
use vandar::rate_limit::RateLimits;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn show(name: &str, mut times: Vec<Duration>) {
    times.sort();
    println!("{name:<28} median {:>9.3} ms   p99 {:>9.3} ms", percentile(&times, 0.5).as_secs_f64() * 1e3, percentile(&times, 0.99).as_secs_f64() * 1e3);
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(200); // the mock's wallet pays about 220 rounds of four sides
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let mock = MockVandar::start().await.unwrap();
        mock.set_rate_limits(u32::MAX, u32::MAX);
        let folder = std::env::temp_dir().join(format!("vandar-journal-bench-{}", std::process::id()));
        std::fs::create_dir_all(&folder).unwrap();
        let builder = || mock.client_builder().rate_limits(RateLimits::unlimited());
        let mut sides: Vec<(String, vandar::Client)> = vec![
            ("no journal".into(), builder().build().unwrap()),
            ("file journal (fsync)".into(), builder().journal(FileJournal::open(folder.join("bench.journal")).unwrap()).build().unwrap()),
        ];
        #[cfg(feature = "redis")]
        let redis = redis_server::RedisServer::start();
        #[cfg(feature = "redis")]
        {
            let client = redis::Client::open(redis.url()).unwrap();
            let mut connection = client.get_connection().unwrap();
            let _: () = redis::cmd("CONFIG").arg("SET").arg("appendonly").arg("yes").query(&mut connection).unwrap();
            let _: () = redis::cmd("CONFIG").arg("SET").arg("appendfsync").arg("always").query(&mut connection).unwrap();
            let journal = vandar::journal::RedisJournal::new(&redis.url(), "bench").unwrap();
            sides.push(("redis journal (aof always)".into(), builder().journal(journal).build().unwrap()));
        }
        #[cfg(feature = "postgres")]
        let postgres = postgres_server::PostgresServer::start_with(true);
        #[cfg(feature = "postgres")]
        {
            let journal = vandar::journal::PostgresJournal::connect(&postgres.url()).await.unwrap();
            journal.migrate().await.unwrap();
            sides.push(("postgres journal".into(), builder().journal(journal).build().unwrap()));
        }
        let mut times: Vec<Vec<Duration>> = vec![Vec::with_capacity(rounds); sides.len()];
        for round in 0..rounds + 20 {
            for k in 0..sides.len() {
                let side = (round + k) % sides.len();
                let body = SettlementStoreRequest::default().amount(Tomans(5_000)).iban("IR330120020000002353697200");
                let started = Instant::now();
                let stored = sides[side].1.settlement_store(body).await;
                let took = started.elapsed();
                assert!(stored.is_ok(), "{stored:?}");
                if round >= 20 {
                    times[side].push(took); // the first 20 rounds warm up connections and caches
                }
            }
        }
        println!("{rounds} paired rounds of one settlement_store each:");
        for ((name, _), side) in sides.iter().zip(&times) {
            show(name, side.clone());
        }
        for ((name, _), side) in sides.iter().zip(&times).skip(1) {
            let added: Vec<Duration> = side.iter().zip(&times[0]).map(|(with, without)| with.saturating_sub(*without)).collect();
            show(&format!("added by {name}"), added);
        }
        std::fs::remove_dir_all(folder).unwrap();
    });
}
