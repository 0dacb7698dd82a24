//! Crash safety with real processes: a child process moves money and takes payments against the
//! mock (which lives in this test's process and outlives the child), and is killed with SIGKILL at a
//! random point; a fresh child process then runs `recover()` on the same journal. Checked from the
//! mock's own log and lookups after every run:
//!
//! * every settlement request that reached the mock had its intent recorded first;
//! * no settlement was sent twice (one request per track id);
//! * nothing recovery calls "proven not sent" exists at the mock;
//! * every intent is closed or reported open with its track id (the journal's open entries after
//!   recovery are exactly the report's `still_open` and leased `skipped` ones);
//! * no payment the payer paid is left unverified;
//! * the journal always reads (recovery never fails on it).
//!
//! Runs cycle through five scenarios: a kill at a random moment, and a kill that lands for certain
//! in each window that matters (the child stalls there): after the intent is written and before
//! the request leaves (recovery must prove it not sent), after the request left and before the
//! answer (the mock carried it out and answers late: reconciled), after the answer and before the
//! outcome is recorded (reconciled), and after the payer paid with the callback lost (verified by
//! recovery).
#[cfg(feature = "postgres")]
#[path = "support/postgres_server.rs"]
mod postgres_server;
#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use vandar::journal::{Begin, Entry, FileJournal, Intent, Journal, Outcome};
use vandar::money::RecoveryOptions;
use vandar::mock::{Fault, MockAddress, MockVandar};
use vandar::money::{RecoveryReport, Rials, Tomans};
use vandar::rate_limit::RateLimits;

const IBAN: &str = "IR330120020000002353697200";
const CHILD: &str = "VANDAR_CRASH_CHILD";

/// Which journal a child opens (`kind`, and where).
#[derive(Clone)]
struct Backend {
    kind: &'static str,
    location: String,
}

/// A journal that sleeps around its writes, so random kills land in every window; in a stalling
/// scenario it stops there, so the kill lands in that window for certain.
struct Slow<J> {
    inner: J,
    scenario: Scenario,
}

/// Where a run's kill lands: at random, or for certain in one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Random,
    /// The intent is written; the request has not left.
    BeforeSending,
    /// The request left; Vandar carried it out and has not answered.
    BeforeAnswer,
    /// The answer came; its outcome is not recorded.
    BeforeOutcome,
    /// The payer paid; the callback never came, so verify never ran.
    LostCallback,
}

impl Scenario {
    const ALL: [Scenario; 5] = [Scenario::Random, Scenario::BeforeSending, Scenario::BeforeAnswer, Scenario::BeforeOutcome, Scenario::LostCallback];

    fn from_env() -> Self {
        let name = std::env::var("CRASH_SCENARIO").unwrap_or_default();
        Self::ALL.into_iter().find(|s| format!("{s:?}") == name).unwrap_or(Scenario::Random)
    }
}

const STALL: Duration = Duration::from_secs(30);

impl<J: Journal> Journal for Slow<J> {
    fn describe(&self) -> String {
        self.inner.describe()
    }

    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, std::io::Result<()>> {
        self.inner.record(intent)
    }

    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, std::io::Result<Begin>> {
        Box::pin(async move {
            let begun = self.inner.begin(intent).await?;
            println!("recorded {}", intent.key); // the parent learns every intent written
            if self.scenario == Scenario::BeforeSending {
                tokio::time::sleep(STALL).await;
            }
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..30))).await; // written, not yet sent
            Ok(begun)
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<Option<Entry>>> {
        self.inner.get(key)
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, std::io::Result<()>> {
        Box::pin(async move {
            if self.scenario == Scenario::BeforeOutcome {
                tokio::time::sleep(STALL).await;
            }
            tokio::time::sleep(Duration::from_millis(fastrand::u64(0..30))).await; // answered, not yet recorded
            self.inner.update(key, outcome).await
        })
    }

    fn open(&self) -> BoxFuture<'_, std::io::Result<Vec<Entry>>> {
        self.inner.open()
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, std::io::Result<bool>> {
        self.inner.lease(key, holder, ttl)
    }
}

async fn open_journal(backend: &Backend) -> Box<dyn Journal> {
    match backend.kind {
        "file" => Box::new(FileJournal::open(&backend.location).unwrap()),
        #[cfg(feature = "redis")]
        "redis" => Box::new(vandar::journal::RedisJournal::new(&backend.location, "crash").unwrap()),
        #[cfg(feature = "postgres")]
        "postgres" => {
            let journal = vandar::journal::PostgresJournal::connect(&backend.location).await.unwrap();
            journal.migrate().await.unwrap();
            Box::new(journal)
        }
        other => panic!("unknown journal backend {other}"),
    }
}

/// A Journal behind a Box (the builder takes `impl Journal`).
struct Boxed(Box<dyn Journal>);

impl Journal for Boxed {
    fn describe(&self) -> String {
        self.0.describe()
    }
    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, std::io::Result<()>> {
        self.0.record(intent)
    }
    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, std::io::Result<Begin>> {
        self.0.begin(intent)
    }
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, std::io::Result<Option<Entry>>> {
        self.0.get(key)
    }
    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, std::io::Result<()>> {
        self.0.update(key, outcome)
    }
    fn open(&self) -> BoxFuture<'_, std::io::Result<Vec<Entry>>> {
        self.0.open()
    }
    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, std::io::Result<bool>> {
        self.0.lease(key, holder, ttl)
    }
}

fn child_client(journal: impl Journal) -> vandar::Client {
    let mock: MockAddress = serde_json::from_str(&std::env::var("VANDAR_MOCK").expect("VANDAR_MOCK set")).unwrap();
    mock.client_builder()
        .rate_limits(RateLimits::unlimited())
        .journal(journal)
        .recovery(RecoveryOptions::default().min_age(Duration::ZERO).lease(Duration::from_millis(500)).payments_after(Duration::ZERO).payments_before(None))
        .build()
        .unwrap()
}

/// The child: `work` moves money and takes payments until it is killed; `recover` prints the report.
fn child_main(mode: &str) {
    let backend = Backend { kind: Box::leak(std::env::var("CRASH_KIND").unwrap().into_boxed_str()), location: std::env::var("CRASH_JOURNAL").unwrap() };
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        match mode {
            "work" => {
                let scenario = Scenario::from_env();
                let run: u64 = std::env::var("CRASH_RUN").unwrap().parse().unwrap();
                let stager = open_journal(&backend).await;
                let vandar = child_client(Slow { inner: Boxed(open_journal(&backend).await), scenario });
                let payer = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
                for round in 0u64.. {
                    let payout = payout(&format!("{run}-{round}"));
                    // Half the runs follow the order flow: the intent is staged (written ahead, as in the
                    // application's own transaction) before the move is sent.
                    if run % 2 == 0 {
                        let typed: vandar::api::types::SettlementStoreRequest = payout.clone().try_into().unwrap();
                        stager.record(&Intent::for_money_move("settlement_store", &typed).unwrap()).await.unwrap();
                    }
                    let _ = vandar.settlement_store(payout).await;
                    if let Ok(payment) = vandar.start_payment(Rials(10_000), "https://shop.example/cb").await {
                        println!("payment {}", payment.token);
                        let _ = payer.get(&payment.payment_page).send().await; // the payer pays
                        if scenario == Scenario::LostCallback {
                            tokio::time::sleep(STALL).await;
                        }
                        if round % 2 == 0 {
                            let _ = vandar.verify_payment(&payment.token, Rials(10_000)).await; // else: the callback is lost
                        }
                    }
                }
            }
            "redeliver" => {
                // The job queue delivers the killed worker's job again: the same body, the same track id.
                let vandar = child_client(Boxed(open_journal(&backend).await));
                let track_id = std::env::var("CRASH_REDELIVER").unwrap();
                let result = vandar.settlement_store(payout(&track_id)).await;
                let said = match &result {
                    Ok(tracked) if tracked.was_reconciled() => "reconciled".to_string(),
                    Ok(_) => "answered".to_string(),
                    Err(vandar::Error::TrackIdInUse { outcome: Some(Outcome::ProvenNotSent { .. }), .. }) => "proven_not_sent".to_string(),
                    Err(vandar::Error::TrackIdInUse { state, .. }) => format!("held_{state:?}"),
                    Err(error) => format!("error {error}"),
                };
                println!("redelivered {said}");
            }
            _ => {
                let vandar = child_client(Boxed(open_journal(&backend).await));
                let report = vandar.recover().await.expect("the journal reads after a crash");
                let open = open_journal(&backend).await.open().await.expect("the journal reads");
                println!("report {}", serde_json::to_string(&report).unwrap());
                println!("open {}", serde_json::to_string(&open.iter().map(|e| e.intent.key.clone()).collect::<Vec<_>>()).unwrap());
            }
        }
    });
}

/// The worker's payout under `track_id` (a re-delivered job builds the same body).
fn payout(track_id: &str) -> vandar::api::types::builder::SettlementStoreRequest {
    vandar::api::types::builder::SettlementStoreRequest::default().amount(Tomans(5_000)).iban(IBAN).track_id(track_id)
}

/// Runs this test binary as a child in `mode`, for `backend`.
fn child(mock: &MockVandar, backend: &Backend, mode: &str, test: &str, scenario: Scenario) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(CHILD, mode)
        .env("CRASH_SCENARIO", format!("{scenario:?}"))
        .env("CRASH_KIND", backend.kind)
        .env("CRASH_JOURNAL", &backend.location)
        .env("VANDAR_MOCK", serde_json::to_string(&mock.address()).unwrap())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    command
}

/// What the child printed after `prefix` on each line holding it (libtest may print its own
/// words before the first line of a test's output).
fn lines(output: &[String], prefix: &str) -> Vec<String> {
    output.iter().filter_map(|l| l.find(prefix).map(|at| l[at + prefix.len()..].to_string())).collect()
}

#[derive(Default, Debug)]
struct Counts {
    runs: usize,
    reconciled: usize,
    proven_not_sent: usize,
    paid_by_recovery: usize,
    still_open: usize,
    settlements_sent: usize,
    /// What the re-delivered jobs answered, before and after recovery.
    redelivered: BTreeMap<String, usize>,
}

/// Asserts that every settlement that reached the mock had its intent recorded first and went once.
fn sent_once(mock: &MockVandar, recorded: &BTreeSet<String>, run: usize, when: &str) -> usize {
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for request in mock.requests().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/settlement/store")) {
        let track_id = request.body["track_id"].as_str().expect("a settlement carries its track id").to_string();
        *sent.entry(track_id).or_default() += 1;
    }
    for (track_id, times) in &sent {
        assert!(recorded.contains(track_id), "run {run} ({when}): settlement {track_id} reached the mock with no intent recorded");
        if *times != 1 {
            let log: Vec<String> = mock.requests().iter().map(|r| format!("{} {} {}", r.method, r.path, r.body)).collect();
            let at = log.iter().position(|l| l.contains(track_id.as_str())).unwrap_or(0);
            panic!("run {run} ({when}): settlement {track_id} was sent {times} times; the log around it:\n{}", log[at.saturating_sub(5)..(at + 8).min(log.len())].join("\n"));
        }
    }
    sent.len()
}

/// Runs the re-delivered job of `track_id` in a child process; what it answered.
fn redeliver(mock: &MockVandar, backend: &Backend, test: &str, track_id: &str) -> String {
    let output = child(mock, backend, "redeliver", test, Scenario::Random).env("CRASH_REDELIVER", track_id).output().unwrap();
    assert!(output.status.success(), "the re-delivered job's process failed");
    let output: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
    lines(&output, "redelivered ").first().cloned().unwrap_or_default()
}

/// `runs` crash-and-recover rounds against one journal; returns what happened, asserting as it goes.
async fn crash_runs(backend: Backend, runs: usize, test: &str) -> Counts {
    let mock = MockVandar::start().await.unwrap();
    // The children send as fast as they can: Vandar's own 429s (a legitimate repeat of a request
    // refused unprocessed) would blur the count of sends per track id.
    mock.set_rate_limits(u32::MAX, u32::MAX);
    let checker = mock.client_builder().rate_limits(RateLimits::unlimited()).build().unwrap();
    let business = mock.credentials().business;
    let mut recorded = BTreeSet::new();
    let mut payments = BTreeSet::new();
    let mut counts = Counts::default();
    let deadline = Instant::now() + Duration::from_secs(240);
    for run in 0..runs {
        assert!(Instant::now() < deadline, "the crash runs are bounded in time; {run} of {runs} ran");
        fastrand::seed(run as u64);
        let scenario = Scenario::ALL[run % Scenario::ALL.len()];
        if scenario == Scenario::BeforeAnswer {
            // The child's first request is its settlement: Vandar carries it out and answers late.
            mock.inject(Fault::Latency(STALL));
        }
        let mut work = child(&mock, &backend, "work", test, scenario).env("CRASH_RUN", run.to_string()).spawn().unwrap();
        let stdout = work.stdout.take().unwrap();
        let reader = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>());
        let alive = match scenario {
            Scenario::Random => fastrand::u64(20..400),
            _ => 700, // well past the stall point
        };
        tokio::time::sleep(Duration::from_millis(alive)).await;
        // SIGKILL: no destructor, no flush, no goodbye.
        let _ = Command::new("kill").args(["-KILL", &work.id().to_string()]).status();
        let _ = work.wait();
        let output = reader.join().unwrap();
        let recorded_now = lines(&output, "recorded ");
        let paid_now = lines(&output, "payment ");
        recorded.extend(recorded_now.iter().cloned());
        payments.extend(paid_now.iter().cloned());
        tokio::time::sleep(Duration::from_millis(100)).await; // a request the kill cut off lands, or never does
        // The job queue re-delivers the killed worker's first job before recovery runs.
        let job = format!("{run}-0");
        recorded.insert(job.clone()); // the re-delivered job's own journal records it before it sends
        let before_recovery = redeliver(&mock, &backend, test, &job);
        assert!(!before_recovery.starts_with("error"), "run {run}: the re-delivered job failed: {before_recovery}");
        *counts.redelivered.entry(format!("before recovery: {before_recovery}")).or_default() += 1;
        sent_once(&mock, &recorded, run, "re-delivered before recovery");
        let recovery = child(&mock, &backend, "recover", test, scenario).output().unwrap();
        assert!(recovery.status.success(), "run {run}: recovery failed: the journal must always read");
        let output: Vec<String> = String::from_utf8_lossy(&recovery.stdout).lines().map(str::to_string).collect();
        let report: RecoveryReport = serde_json::from_str(&lines(&output, "report ")[0]).unwrap();
        let open: Vec<String> = serde_json::from_str(&lines(&output, "open ")[0]).unwrap();

        // Every settlement request that reached Vandar had its intent written first, and went once.
        counts.settlements_sent = sent_once(&mock, &recorded, run, "after recovery");
        // What recovery proved not sent is not at Vandar.
        for entry in report.proven_not_sent() {
            let found = checker.api().transaction_list().business(&business).track_id(&entry.intent.key).send().await.unwrap();
            assert!(found.data.is_empty(), "run {run}: {} was reported proven not sent but Vandar holds it", entry.intent.key);
        }
        // Every entry is closed or reported: the open ones are the report's, or leased by a replica.
        let reported: BTreeSet<String> = report.still_open.iter().map(|s| s.entry.intent.key.clone()).collect();
        for key in &open {
            assert!(
                reported.contains(key) || report.skipped.iter().any(|s| &s.key == key),
                "run {run}: {key} is open but was not reported"
            );
        }
        for still in &report.still_open {
            assert!(!still.looked_up.is_empty(), "run {run}: an open entry says what was looked up");
            assert_ne!(still.entry.intent.operation, "settlement_store", "run {run}: a settlement with a healthy lookup stays open: {}", still.looked_up);
        }
        // No paid payment is left unverified.
        for token in &payments {
            let transaction = checker.ipg().ipg_transaction().body_map(|b| b.token(token)).send().await.unwrap();
            assert!(
                !(transaction.status == 1 && transaction.code == Some(1)),
                "run {run}: payment {token} is paid but not verified after recovery"
            );
        }
        // The window this run stopped in, settled as it must be.
        let settled_as = |key: &str| report.settled.iter().find(|s| s.entry.intent.key == key).map(|s| s.outcome.kind());
        let first = recorded_now.first().map(String::as_str);
        // The window's verdict came from the re-delivered job or from recovery, whichever looked first.
        let verdict = first.and_then(settled_as).map(str::to_string).unwrap_or_else(|| before_recovery.clone());
        match scenario {
            Scenario::Random => {}
            Scenario::BeforeSending => {
                assert_eq!(verdict, "proven_not_sent", "run {run}: killed before sending: {report:?}")
            }
            Scenario::BeforeAnswer | Scenario::BeforeOutcome => {
                assert_eq!(verdict, "reconciled", "run {run}: killed after Vandar acted ({scenario:?}): {report:?}")
            }
            Scenario::LostCallback => {
                let token = paid_now.last().expect("the child took a payment");
                assert_eq!(settled_as(token), Some("paid"), "run {run}: a paid payment whose callback was lost: {report:?}");
            }
        }
        // Re-delivered once more after recovery: the move is carried out exactly once in all.
        let after_recovery = redeliver(&mock, &backend, test, &job);
        *counts.redelivered.entry(format!("after recovery: {after_recovery}")).or_default() += 1;
        counts.settlements_sent = sent_once(&mock, &recorded, run, "re-delivered after recovery");
        if scenario == Scenario::BeforeSending {
            assert_eq!(after_recovery, "answered", "run {run}: proven not sent, the job sends it once now");
        } else if scenario != Scenario::Random {
            assert_eq!(after_recovery, "reconciled", "run {run}: carried out before the kill, the job gets the lookup's proof");
        }
        counts.runs += 1;
        counts.reconciled += report.settled.iter().filter(|s| matches!(s.outcome, Outcome::Reconciled { .. })).count();
        counts.proven_not_sent += report.proven_not_sent().count();
        counts.paid_by_recovery += report.paid().count();
        counts.still_open += report.still_open.len();
    }
    counts
}

fn run_or_child(test: &str, backend: impl FnOnce() -> Backend) {
    if let Ok(mode) = std::env::var(CHILD) {
        child_main(&mode);
        return;
    }
    let backend = backend();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let counts = runtime.block_on(crash_runs(backend.clone(), 50, test));
    eprintln!("crash runs ({}): {counts:?}", backend.kind);
    assert_eq!(counts.runs, 50);
    // Each window was hit for certain in its own runs (asserted per run above).
    let by_job = |said: &str| counts.redelivered.get(&format!("before recovery: {said}")).copied().unwrap_or(0);
    assert!(
        counts.reconciled + by_job("reconciled") >= 20 && counts.proven_not_sent + by_job("proven_not_sent") >= 10 && counts.paid_by_recovery >= 10,
        "{counts:?}"
    );
}

#[test]
fn file_journal_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vandar.journal").to_string_lossy().to_string();
    let keep = std::env::var(CHILD).is_err().then_some(dir);
    run_or_child("file_journal_survives_sigkill", || Backend { kind: "file", location: path });
    drop(keep);
}

#[cfg(feature = "redis")]
#[test]
fn redis_journal_survives_sigkill() {
    let server = std::env::var(CHILD).is_err().then(redis_server::RedisServer::start);
    run_or_child("redis_journal_survives_sigkill", || Backend { kind: "redis", location: server.as_ref().unwrap().url() });
    drop(server);
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_journal_survives_sigkill() {
    let server = std::env::var(CHILD).is_err().then(postgres_server::PostgresServer::start);
    run_or_child("postgres_journal_survives_sigkill", || Backend { kind: "postgres", location: server.as_ref().unwrap().url() });
    drop(server);
}

/// A journal that cannot be written refuses the money move before anything is sent, naming the journal.
#[test]
fn an_unwritable_journal_refuses_the_move_before_sending() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let mock = MockVandar::start().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vandar.journal");
        std::fs::create_dir(&path).unwrap(); // a folder where the journal's file should be: every write fails
        let vandar = mock.client_builder().journal(FileJournal::open(&path).unwrap()).build().unwrap();
        let before = mock.stats();
        let payout = vandar::api::types::builder::SettlementStoreRequest::default().amount(Tomans(5_000)).iban(IBAN);
        let error = vandar.settlement_store(payout).await.unwrap_err();
        assert!(
            matches!(&error, vandar::Error::Unavailable { component: "journal", message } if message.contains("vandar.journal") && message.contains("not sent")),
            "{error:?}"
        );
        assert_eq!(error.reach(), vandar::Reach::NeverSent);
        let after = mock.stats();
        assert_eq!(after.accepted_post, before.accepted_post, "nothing reached Vandar");
        assert!(!mock.requests().iter().any(|r| r.path.ends_with("/settlement/store")));
    });
}

/// Two businesses (two gateway keys) on one journal: the second's worker is SIGKILLed after Vandar
/// carried out its payout and before the answer came. The first business's recovery, on the same
/// journal, concludes nothing of it and looks nothing up at the second business; the second's own
/// recovery proves it carried out.
async fn two_businesses_one_killed(backend: Backend, test: &str) {
    let one = MockVandar::start().await.unwrap();
    let credentials = vandar::mock::Credentials { business: "shop-two".into(), ipg_api_key: "shop-two-gateway".into(), ..Default::default() };
    let two = MockVandar::start_with("127.0.0.1", 0, credentials).await.unwrap();
    for mock in [&one, &two] {
        mock.set_rate_limits(u32::MAX, u32::MAX);
    }
    two.inject(Fault::Latency(STALL)); // the second business's payout is carried out, its answer never comes
    let mut work = child(&two, &backend, "work", test, Scenario::BeforeAnswer).env("CRASH_RUN", "901").spawn().unwrap();
    let stdout = work.stdout.take().unwrap();
    let reader = std::thread::spawn(move || BufReader::new(stdout).lines().map_while(Result::ok).collect::<Vec<String>>());
    tokio::time::sleep(Duration::from_millis(700)).await;
    let _ = Command::new("kill").args(["-KILL", &work.id().to_string()]).status();
    let _ = work.wait();
    let recorded = lines(&reader.join().unwrap(), "recorded ");
    assert_eq!(recorded, ["901-0"], "killed while Vandar held its first payout");
    tokio::time::sleep(Duration::from_millis(100)).await;

    let report = |mock: &MockVandar| {
        let output = child(mock, &backend, "recover", test, Scenario::Random).output().unwrap();
        assert!(output.status.success(), "recovery failed");
        let output: Vec<String> = String::from_utf8_lossy(&output.stdout).lines().map(str::to_string).collect();
        serde_json::from_str::<RecoveryReport>(&lines(&output, "report ")[0]).unwrap()
    };
    let seen_at_two = two.requests().len();
    let first = report(&one);
    assert!(first.settled.iter().all(|s| s.entry.intent.key != "901-0"), "concluded by the other business: {first:?}");
    assert!(
        first.skipped.iter().any(|s| s.key == "901-0" && s.why == vandar::money::SkipReason::OtherBusiness { business: "shop-two".into() }),
        "{first:?}"
    );
    assert_eq!(two.requests().len(), seen_at_two, "nothing was looked up at the second business");
    assert!(one.requests().iter().all(|r| !r.query.contains("901-0")), "nor under the first business's name");

    let second = report(&two);
    let settled: Vec<(&str, &str)> = second.settled.iter().map(|s| (s.entry.intent.key.as_str(), s.outcome.kind())).collect();
    assert!(settled.contains(&("901-0", "reconciled")), "{second:?}");
    let stores = two.requests().iter().filter(|r| r.path.ends_with("/settlement/store") && r.body["track_id"] == "901-0").count();
    assert_eq!(stores, 1, "carried out once, and only looked up after");
}

fn two_businesses_or_child(test: &str, backend: impl FnOnce() -> Backend) {
    if let Ok(mode) = std::env::var(CHILD) {
        child_main(&mode);
        return;
    }
    let backend = backend();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(two_businesses_one_killed(backend, test));
}

#[test]
fn two_businesses_on_one_file_journal_one_killed_mid_move() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vandar.journal").to_string_lossy().to_string();
    let keep = std::env::var(CHILD).is_err().then_some(dir);
    two_businesses_or_child("two_businesses_on_one_file_journal_one_killed_mid_move", || Backend { kind: "file", location: path });
    drop(keep);
}

#[cfg(feature = "redis")]
#[test]
fn two_businesses_on_one_redis_journal_one_killed_mid_move() {
    let server = std::env::var(CHILD).is_err().then(redis_server::RedisServer::start);
    two_businesses_or_child("two_businesses_on_one_redis_journal_one_killed_mid_move", || Backend {
        kind: "redis",
        location: server.as_ref().unwrap().url(),
    });
    drop(server);
}

#[cfg(feature = "postgres")]
#[test]
fn two_businesses_on_one_postgres_journal_one_killed_mid_move() {
    let server = std::env::var(CHILD).is_err().then(postgres_server::PostgresServer::start);
    two_businesses_or_child("two_businesses_on_one_postgres_journal_one_killed_mid_move", || Backend {
        kind: "postgres",
        location: server.as_ref().unwrap().url(),
    });
    drop(server);
}
