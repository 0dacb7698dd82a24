//! Recovery at start-up, with the crate's default options, after real processes were killed with
//! SIGKILL: each journal tells a dead sender from a living one, so the entries a crashed process
//! left are looked up on the first `recover()` instead of waiting out `min_age`.
//!
//! Per backend (file, Redis, Postgres), two child processes send a settlement each through the
//! mock, which lives in this test's process:
//! * `landed`: the mock carries the request out and holds its answer (`Fault::Latency`); the child
//!   is killed once the mock has it. Recovery must find it at once: `Reconciled`.
//! * `unsent`: the child stalls after its intent is written and before the request leaves. While
//!   it lives, recovery leaves the entry to it (`BeingSent`, naming it); once it is killed, the
//!   lookup finds nothing, and that is no proof yet (a request in flight at the kill could still
//!   land): `NotFoundYet` with when it is ready. `recover_until_settled` then waits and proves it
//!   not sent, and the mock never saw it.
#[cfg(feature = "postgres")]
#[path = "support/postgres_server.rs"]
mod postgres_server;
#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;
#[path = "support/process.rs"]
#[allow(dead_code)]
mod process;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use vandar::journal::{Begin, Entry, FileJournal, Intent, Journal, Outcome, Sender};
use vandar::mock::{Fault, MockAddress, MockVandar};
use vandar::money::{RecoveryOptions, SkipReason, Tomans};
use vandar::rate_limit::RateLimits;

const CHILD: &str = "VANDAR_STARTUP_CHILD";
const IBAN: &str = "IR330120020000002353697200";

async fn open_journal(kind: &str, location: &str) -> Arc<dyn Journal> {
    match kind {
        "file" => Arc::new(FileJournal::open(location).unwrap()),
        #[cfg(feature = "redis")]
        "redis" => Arc::new(vandar::journal::RedisJournal::new(location, "startup").unwrap()),
        #[cfg(feature = "postgres")]
        "postgres" => {
            let journal = vandar::journal::PostgresJournal::connect(location).await.unwrap();
            journal.migrate().await.unwrap();
            Arc::new(journal)
        }
        other => panic!("unknown journal backend {other}"),
    }
}

/// The child's journal: the real one, stalling after `begin` when told to (the intent written, the
/// request not sent), and saying so on stdout.
struct Stalling {
    inner: Arc<dyn Journal>,
    stall: bool,
}

impl Journal for Stalling {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, std::io::Result<()>> {
        self.inner.record(intent)
    }
    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, std::io::Result<Begin>> {
        Box::pin(async move {
            let begun = self.inner.begin(intent).await?;
            println!("begun {}", intent.key);
            if self.stall {
                tokio::time::sleep(Duration::from_secs(120)).await;
            }
            Ok(begun)
        })
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<Option<Entry>>> {
        self.inner.get(key)
    }
    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, std::io::Result<()>> {
        self.inner.update(key, outcome)
    }
    fn open(&self) -> BoxFuture<'_, std::io::Result<Vec<Entry>>> {
        self.inner.open()
    }
    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, std::io::Result<bool>> {
        self.inner.lease(key, holder, ttl)
    }
    fn sender<'a>(&'a self, sender: &'a str) -> BoxFuture<'a, std::io::Result<Sender>> {
        self.inner.sender(sender)
    }
}

fn payout(track_id: &str) -> vandar::api::types::builder::SettlementStoreRequest {
    vandar::api::types::builder::SettlementStoreRequest::default().amount(Tomans(5_000)).iban(IBAN).track_id(track_id)
}

/// The child: prints its sender id, then sends one settlement (and is killed before it returns).
fn child_main(mode: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let journal = open_journal(&std::env::var("STARTUP_KIND").unwrap(), &std::env::var("STARTUP_JOURNAL").unwrap()).await;
        let mock: MockAddress = serde_json::from_str(&std::env::var("VANDAR_MOCK").unwrap()).unwrap();
        let vandar = mock.client_builder().rate_limits(RateLimits::unlimited()).journal(Stalling { inner: journal, stall: mode == "unsent" }).build().unwrap();
        println!("sender {}", vandar::journal::this_process());
        let sent = vandar.settlement_store(payout(mode)).await;
        println!("returned {}", sent.is_ok());
    });
}

/// A child process in `mode` and the lines it printed so far (read on a thread).
struct Kid {
    child: Child,
    lines: Arc<std::sync::Mutex<Vec<String>>>,
}

impl Kid {
    fn start(test: &str, mode: &str, kind: &str, location: &str, mock: &MockVandar) -> Kid {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", test, "--nocapture", "--test-threads", "1"])
            .env(CHILD, mode)
            .env("STARTUP_KIND", kind)
            .env("STARTUP_JOURNAL", location)
            .env("VANDAR_MOCK", serde_json::to_string(&mock.address()).unwrap())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let lines = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (stdout, seen) = (child.stdout.take().unwrap(), lines.clone());
        std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).for_each(|line| seen.lock().unwrap().push(line)));
        Kid { child, lines }
    }

    /// What it printed after `prefix`, waiting up to 20 s for it.
    fn said(&self, prefix: &str) -> String {
        let found = || self.lines.lock().unwrap().iter().find_map(|l| l.find(prefix).map(|at| l[at + prefix.len()..].to_string()));
        assert!(process::poll_until(Duration::from_secs(20), Duration::from_millis(10), || found().is_some()), "the child never said {prefix:?}");
        found().unwrap()
    }

    fn kill(&mut self) {
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
    }
}

fn settlements_for(mock: &MockVandar, track_id: &str) -> usize {
    mock.requests().iter().filter(|r| r.path.ends_with("/settlement/store") && r.body["track_id"] == track_id).count()
}

async fn wait_until_gone(journal: &Arc<dyn Journal>, sender: &str) -> Duration {
    let started = Instant::now();
    while journal.sender(sender).await.unwrap() != Sender::Gone {
        assert!(started.elapsed() < Duration::from_secs(20), "{sender} still reads alive 20 s after its SIGKILL");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    started.elapsed()
}

async fn startup_recovery(test: &str, kind: &str, location: &str) {
    let mock = MockVandar::start().await.unwrap();
    let journal = open_journal(kind, location).await;
    let vandar = mock.client_builder().journal(journal.clone()).build().unwrap(); // the defaults: min_age 2 minutes

    // This process's own mark, once it has begun a move through the journal; a forged id is unknown.
    vandar.settlement_store(payout("mine")).await.unwrap();
    assert_eq!(journal.sender(vandar::journal::this_process()).await.unwrap(), Sender::Alive);
    assert_eq!(journal.sender("../../etc/passwd").await.unwrap(), Sender::Unknown);

    mock.inject_for("settlement_store", Fault::Latency(Duration::from_secs(120)));
    let mut landed = Kid::start(test, "landed", kind, location, &mock);
    let landed_sender = landed.said("sender ");
    assert!(process::poll_until(Duration::from_secs(20), Duration::from_millis(10), || settlements_for(&mock, "landed") == 1));
    let mut unsent = Kid::start(test, "unsent", kind, location, &mock);
    let unsent_sender = unsent.said("sender ");
    unsent.said("begun unsent");
    assert_eq!(journal.sender(&unsent_sender).await.unwrap(), Sender::Alive, "a living child reads alive");

    landed.kill();
    let gone_after = wait_until_gone(&journal, &landed_sender).await;
    eprintln!("{kind}: the killed sender read gone after {gone_after:?}");
    let first = vandar.recover().await.unwrap();
    let settled: Vec<(&str, &Outcome)> = first.settled.iter().map(|s| (s.entry.intent.key.as_str(), &s.outcome)).collect();
    assert!(matches!(settled.as_slice(), [("landed", Outcome::Reconciled { .. })]), "the dead sender's landed move, at once: {first:#?}");
    let skipped = |report: &vandar::money::RecoveryReport| report.skipped.iter().find(|s| s.key == "unsent").map(|s| s.why.clone());
    match skipped(&first) {
        Some(SkipReason::BeingSent { sender, ready_in }) => assert!(sender == unsent_sender && ready_in > Duration::from_secs(60), "{sender} {ready_in:?}"),
        other => panic!("the living sender's entry is left to it: {other:?}"),
    }

    unsent.kill();
    wait_until_gone(&journal, &unsent_sender).await;
    let second = vandar.recover().await.unwrap();
    match skipped(&second) {
        Some(SkipReason::NotFoundYet { ready_in, looked_up }) => {
            assert!(ready_in > Duration::from_secs(60) && looked_up.contains("transaction_list"), "{ready_in:?} {looked_up}");
            assert!(second.next_ready_in().is_some_and(|next| next <= ready_in));
        }
        other => panic!("the dead sender's unsent move is looked up and not yet proven: {other:?}\n{second:#?}"),
    }
    assert!(second.settled.is_empty() && second.still_open.is_empty(), "{second:#?}");
    assert!(journal.get("unsent").await.unwrap().unwrap().is_open(), "finding nothing early closes nothing");

    // With a short min_age, recover_until_settled waits for it and proves it not sent.
    let patient = mock
        .client_builder()
        .journal(journal.clone())
        .recovery(RecoveryOptions::default().min_age(Duration::from_secs(3)))
        .build()
        .unwrap();
    let started = Instant::now();
    let last = patient.recover_until_settled(Duration::from_secs(30)).await.unwrap();
    let proven: Vec<&str> = last.proven_not_sent().map(|e| e.intent.key.as_str()).collect();
    assert_eq!(proven, ["unsent"], "{last:#?}");
    assert!(last.skipped.is_empty() && started.elapsed() < Duration::from_secs(10), "{:?} {last:#?}", started.elapsed());
    assert_eq!((settlements_for(&mock, "unsent"), settlements_for(&mock, "landed")), (0, 1), "nothing was sent by recovery");
}

fn run_or_child(test: &str, kind: &str, location: impl FnOnce() -> String) {
    if let Ok(mode) = std::env::var(CHILD) {
        child_main(&mode);
        return;
    }
    let location = location();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(startup_recovery(test, kind, &location));
}

#[test]
fn file_journal_recovers_a_killed_senders_entries_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vandar.journal").to_string_lossy().to_string();
    run_or_child("file_journal_recovers_a_killed_senders_entries_at_start_up", "file", || path);
    // The dead children's marks were removed once found unheld; this process's stays.
    if std::env::var(CHILD).is_err() {
        let marks: Vec<String> = std::fs::read_dir(dir.path().join("vandar.journal.senders")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(marks, [vandar::journal::this_process()]);
    }
}

#[cfg(feature = "redis")]
#[test]
fn redis_journal_recovers_a_killed_senders_entries_at_start_up() {
    let server = std::env::var(CHILD).is_err().then(redis_server::RedisServer::start);
    run_or_child("redis_journal_recovers_a_killed_senders_entries_at_start_up", "redis", || server.as_ref().unwrap().url());
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_journal_recovers_a_killed_senders_entries_at_start_up() {
    let server = std::env::var(CHILD).is_err().then(postgres_server::PostgresServer::start);
    run_or_child("postgres_journal_recovers_a_killed_senders_entries_at_start_up", "postgres", || server.as_ref().unwrap().url());
}
