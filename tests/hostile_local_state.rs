//! The client's own files handed back damaged, huge or replaced (issue 29, first part): stored
//! values out of range, a FIFO or a device at the path, CRLF line ends, a journal's mode. Each is
//! refused with an error naming the file and never its content, or read as it was meant; nothing
//! panics or blocks.
#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;

use std::os::unix::fs::PermissionsExt;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use vandar::auth::{FileTokenStore, TokenStore};
use vandar::journal::{FileJournal, Intent, Journal};

fn stored(json: &str) -> (tempfile::TempDir, FileTokenStore) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, json).unwrap();
    (dir, FileTokenStore::new(path))
}

#[tokio::test]
async fn stored_token_values_out_of_range_are_refused_without_panic_or_quoting_them() {
    let cases = [
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refresh","expires_at_unix":18446744073709551615,"generation":3}"#,
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refresh","expires_at_unix":null,"generation":18446744073709551615}"#,
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refresh","expires_at_unix":"s3cret-in-the-wrong-field"}"#,
        r#"{"access_token":"s3cret-access","refresh_token":"s3cret-refre"#,
        "\u{0}\u{1}s3cret",
    ];
    for json in cases {
        let (_dir, store) = stored(json);
        let error = store.load().await.expect_err(json);
        let text = error.to_string();
        assert!(text.contains("tokens.json") && text.contains("refused"), "names the file: {text}");
        assert!(!text.contains("s3cret"), "quotes what was stored: {text}");
    }
}

#[tokio::test]
async fn a_fifo_or_a_device_at_a_local_path_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("vandar.journal");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let started = Instant::now();
    let journal = FileJournal::open(&fifo).unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), journal.open()).await.expect("never blocks").unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");
    let intent = Intent::for_money_move("settlement_store", &serde_json::json!({"track_id": "t-1", "amount": 5000})).unwrap();
    assert!(tokio::time::timeout(Duration::from_secs(5), journal.begin(&intent)).await.expect("never blocks").is_err());

    let zero = FileJournal::open("/dev/zero").unwrap();
    let error = tokio::time::timeout(Duration::from_secs(5), zero.open()).await.expect("never reads forever").unwrap_err();
    assert!(error.to_string().contains("not a regular file"), "{error}");

    let tokens = FileTokenStore::new(dir.path().join("vandar.journal"));
    assert!(tokio::time::timeout(Duration::from_secs(5), tokens.load()).await.expect("never blocks").is_err());
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn a_journal_with_crlf_line_ends_keeps_every_entry_and_files_are_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vandar.journal");
    let journal = FileJournal::open(&path).unwrap();
    for track_id in ["t-1", "t-2", "t-3"] {
        let intent = Intent::for_money_move("settlement_store", &serde_json::json!({"track_id": track_id, "amount": 5000})).unwrap();
        journal.begin(&intent).await.unwrap();
    }
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "holds IBANs: owner only");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace('\n', "\r\n")).unwrap();
    let mut keys: Vec<String> = journal.open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
    keys.sort();
    assert_eq!(keys, ["t-1", "t-2", "t-3"], "an edited copy loses nothing");
}

// ---------------------------------------------------------------------------------------------
// Seeded property tests over damaged local state (issue 29). Each run draws a seed (or takes
// `PROPTEST_RNG_SEED`), prints it on failure with the command that replays it, and is bounded in
// cases and in time (every case under a 10 s timeout).
// ---------------------------------------------------------------------------------------------

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use vandar::journal::{Begin, Entry, Outcome};

const IBAN: &str = "IR330120020000002353697200";
/// The IBAN's digits: no error or report may quote them.
const IBAN_DIGITS: &str = "0120020000002353697200";
const CASE_LIMIT: Duration = Duration::from_secs(10);

/// Runs `test` over `cases` values of `strategy` from one seed; a failure names the seed and how
/// to replay it.
fn explore<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let seed = std::env::var("PROPTEST_RNG_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    });
    logs();
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(cases);
    let config = Config { cases, rng_seed: RngSeed::Fixed(seed), failure_persistence: None, max_shrink_iters: 256, ..Config::default() };
    if let Err(failure) = TestRunner::new(config).run(&strategy, test) {
        panic!("{name} failed: {failure}\nreplay: PROPTEST_RNG_SEED={seed} cargo test --all-features --test hostile_local_state {name}");
    }
    logged_none_of(&[IBAN_DIGITS, "s3cret", "0123456789"]);
}

/// Everything logged in this test binary (a global subscriber: the file journal logs from
/// blocking threads). Each property checks at its end that no stored secret or IBAN was logged.
fn logs() -> &'static std::sync::Mutex<Vec<u8>> {
    static LOGS: std::sync::OnceLock<&'static std::sync::Mutex<Vec<u8>>> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer: &'static std::sync::Mutex<Vec<u8>> = Box::leak(Box::default());
        struct Writer(&'static std::sync::Mutex<Vec<u8>>);
        impl std::io::Write for Writer {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(bytes);
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_max_level(tracing::Level::TRACE).with_writer(move || Writer(buffer)).finish();
        tracing::subscriber::set_global_default(subscriber).expect("one subscriber per test binary");
        buffer
    })
}

/// Fails if anything logged so far quotes `secrets`.
fn logged_none_of(secrets: &[&str]) {
    let logged = String::from_utf8_lossy(&logs().lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    for secret in secrets {
        assert!(!logged.contains(secret), "a log line quotes {secret}: {}", logged.lines().find(|l| l.contains(secret)).unwrap_or_default());
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// Where an entry's life stopped before its journal was damaged.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Life {
    Staged,
    Sending,
    InDoubt,
    Done,
    ProvenNotSent,
    /// Proven not sent, then sent again: sending.
    Resent,
}

impl Life {
    fn open(self) -> bool {
        !matches!(self, Life::Done | Life::ProvenNotSent)
    }
    /// Whether the client may send it now (staged, or closed by an outcome that allows a resend).
    fn sendable(self) -> bool {
        matches!(self, Life::Staged | Life::ProvenNotSent)
    }
}

fn life() -> impl Strategy<Value = Life> {
    prop_oneof![Just(Life::Staged), Just(Life::Sending), Just(Life::InDoubt), Just(Life::Done), Just(Life::ProvenNotSent), Just(Life::Resent)]
}

fn track_id(i: usize) -> String {
    format!("t-{i:02}")
}

fn settlement(i: usize) -> Intent {
    let body = serde_json::json!({"amount": 5000 + i, "iban": IBAN, "track_id": track_id(i)});
    Intent::for_money_move("settlement_store", &body).unwrap()
}

/// Writes each entry's life through the journal's own API.
async fn live(journal: &dyn Journal, lives: &[Life]) {
    let proven = Outcome::ProvenNotSent { looked_up: "settlement lookup by track id: none".into() };
    for (i, life) in lives.iter().enumerate() {
        let intent = settlement(i);
        if *life == Life::Staged {
            journal.record(&intent).await.unwrap();
            continue;
        }
        assert_eq!(journal.begin(&intent).await.unwrap(), Begin::Sending);
        let outcome = match life {
            Life::InDoubt => Outcome::Indeterminate { reason: "the answer was lost".into() },
            Life::Done => Outcome::Answered,
            Life::ProvenNotSent | Life::Resent => proven.clone(),
            _ => continue,
        };
        journal.update(&intent.key, &outcome).await.unwrap();
        if *life == Life::Resent {
            assert_eq!(journal.begin(&intent).await.unwrap(), Begin::Sending);
        }
    }
}

/// What is done to the journal's bytes; positions are taken modulo the file's length or lines.
#[derive(Debug, Clone)]
enum Damage {
    Flip(Vec<(u32, u8)>),
    /// A flip within the last `.0` bytes (the last line's newline among them).
    FlipEnd(u8, u8),
    Garbage(u32, Vec<u8>),
    Duplicate(u32, u32),
    Crlf(u32),
    Hostile(u32, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        3 => prop::collection::vec((any::<u32>(), 1..=255u8), 1..=3).prop_map(Damage::Flip),
        1 => (0..3u8, 1..=255u8).prop_map(|(back, xor)| Damage::FlipEnd(back, xor)),
        1 => (any::<u32>(), prop::collection::vec(any::<u8>().prop_filter("one line", |b| *b != b'\n'), 0..80)).prop_map(|(at, g)| Damage::Garbage(at, g)),
        1 => (any::<u32>(), any::<u32>()).prop_map(|(i, j)| Damage::Duplicate(i, j)),
        1 => any::<u32>().prop_map(Damage::Crlf),
        2 => (any::<u32>(), 0..6u8).prop_map(|(at, kind)| Damage::Hostile(at, kind)),
    ]
}

/// A line with a valid checksum around JSON this version must refuse.
fn hostile_line(kind: u8) -> Vec<u8> {
    use sha2::Digest;
    let json = match kind {
        0 => r#"{"record":"refund","key":"t-00","amount":5000}"#.to_string(),
        1 => format!("{}{}", "[".repeat(20_000), "]".repeat(20_000)),
        2 => r#"{"record":"update","key":"t-00","outcome":{"outcome":"answered"},"amount":1e400}"#.to_string(),
        3 => r#"{"record":"begin","key":"t-00","at_ms":"soon"}"#.to_string(),
        4 => format!(r#"{{"record":"intent","intent":{{"key":7,"iban":"{IBAN}"}}}}"#),
        _ => format!(r#"{{"record":"lease","key":"t-00","holder":{{"deep":{}}},"until_ms":-1}}"#, "[".repeat(200) + &"]".repeat(200)),
    };
    let sum: String = sha2::Sha256::digest(json.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{sum} {json}\n").into_bytes()
}

fn lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect()
}

fn damaged_bytes(bytes: &[u8], damage: &Damage) -> Vec<u8> {
    let mut lines = lines(bytes);
    let n = lines.len() as u32;
    match damage {
        Damage::Flip(flips) => {
            let mut bytes = bytes.to_vec();
            for (at, xor) in flips {
                let at = *at as usize % bytes.len();
                bytes[at] ^= xor;
            }
            return bytes;
        }
        Damage::FlipEnd(back, xor) => {
            let mut bytes = bytes.to_vec();
            let at = bytes.len() - 1 - *back as usize;
            bytes[at] ^= xor;
            return bytes;
        }
        Damage::Garbage(at, garbage) => {
            let mut line = garbage.clone();
            line.push(b'\n');
            lines.insert((at % (n + 1)) as usize, line);
        }
        Damage::Duplicate(i, j) => {
            let i = i % n;
            let copy = lines[i as usize].clone();
            lines.insert((i + 1 + j % (n - i)) as usize, copy);
        }
        Damage::Crlf(mask) => {
            for (i, line) in lines.iter_mut().enumerate() {
                if mask >> (i % 32) & 1 == 1 {
                    line.pop();
                    line.extend_from_slice(b"\r\n");
                }
            }
        }
        Damage::Hostile(at, kind) => lines.insert((at % (n + 1)) as usize, hostile_line(*kind)),
    }
    lines.concat()
}

fn quotes_the_iban(text: &str) -> bool {
    text.contains(IBAN_DIGITS)
}

async fn within<T>(what: &str, work: impl std::future::Future<Output = T>) -> Result<T, TestCaseError> {
    tokio::time::timeout(CASE_LIMIT, work).await.map_err(|_| TestCaseError::fail(format!("{what} did not finish within {CASE_LIMIT:?}")))
}

/// The rules that hold however the journal was damaged: it reads, the damage is reported and
/// never quotes the IBAN, an open move is never forgotten without a report, and a move that may
/// have left is never sent again.
async fn holds(journal: &dyn Journal, lives: &[Life], before: &[Entry], new_key: &str, forgotten: Option<usize>) -> Result<(), TestCaseError> {
    let open = within("open()", journal.open()).await?.map_err(|e| TestCaseError::fail(format!("open() failed: {e}")))?;
    let damaged = within("damaged()", journal.damaged()).await?.map_err(|e| TestCaseError::fail(format!("damaged() failed: {e}")))?;
    for report in &damaged {
        prop_assert!(!quotes_the_iban(&report.to_string()), "a report quotes the IBAN: {report}");
    }
    let open_keys: HashSet<String> = open.iter().map(|e| e.intent.key.clone()).collect();
    for entry in before {
        prop_assert!(open_keys.contains(&entry.intent.key) || !damaged.is_empty(), "{} left open() without a report", entry.intent.key);
    }
    // A move that may have left is never sent again; neither is a staged one that left open().
    let mut order: Vec<usize> = (0..lives.len()).filter(|i| !lives[*i].sendable() && Some(*i) != forgotten).collect();
    order.extend((0..lives.len()).filter(|i| lives[*i] == Life::Staged && !open_keys.contains(&track_id(*i))));
    for i in order {
        match within("begin()", journal.begin(&settlement(i))).await? {
            Ok(Begin::Sending) => return Err(TestCaseError::fail(format!("{} ({:?}) was sent again; damaged: {damaged:?}", track_id(i), lives[i]))),
            Ok(_) => {}
            Err(e) => prop_assert!(!quotes_the_iban(&e.to_string()), "an error quotes the IBAN: {e}"),
        }
    }
    // A new track id is sent, or refused while a line that may be its record is there.
    let fresh = Intent::for_money_move("settlement_store", &serde_json::json!({"amount": 7000, "iban": IBAN, "track_id": new_key})).unwrap();
    match within("begin(new)", journal.begin(&fresh)).await? {
        Ok(Begin::Sending) => {}
        Ok(held) => return Err(TestCaseError::fail(format!("a new track id is held: {held:?}"))),
        Err(e) => {
            prop_assert!(!damaged.is_empty(), "a new track id refused without damage: {e}");
            prop_assert!(e.kind() == std::io::ErrorKind::InvalidData && !quotes_the_iban(&e.to_string()), "{e}");
        }
    }
    within("open() after writes", journal.open()).await?.map_err(|e| TestCaseError::fail(format!("open() failed after writes: {e}")))?;
    Ok(())
}

#[test]
fn a_damaged_file_journal_never_forgets_or_resends_a_move() {
    let runtime = runtime();
    explore("a_damaged_file_journal_never_forgets_or_resends_a_move", 192, (prop::collection::vec(life(), 1..12), damage()), |(lives, damage)| {
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("vandar.journal");
            let writer = FileJournal::open(&path).unwrap();
            live(&writer, &lives).await;
            let before = writer.open().await.unwrap();
            let expected: Vec<String> = (0..lives.len()).filter(|i| lives[*i].open()).map(track_id).collect();
            prop_assert_eq!(before.iter().map(|e| e.intent.key.clone()).collect::<Vec<_>>(), expected);
            let bytes = std::fs::read(&path).unwrap();
            prop_assert!(String::from_utf8_lossy(&bytes).contains(IBAN), "the journal holds the IBAN to be kept out of reports");
            std::fs::write(&path, damaged_bytes(&bytes, &damage)).unwrap();

            // Another process (a fresh journal, nothing cached) reads the damaged file.
            let reader = FileJournal::open(&path).unwrap();
            if let Damage::Crlf(_) = damage {
                prop_assert_eq!(within("open()", reader.open()).await?.unwrap(), before.clone(), "CRLF lines read the same");
                prop_assert!(reader.damaged().await.unwrap().is_empty());
            }
            holds(&reader, &lives, &before, "fresh-1", None).await?;
            // The process that wrote it, re-reading what changed, holds the same rules.
            let again = FileJournal::open(&path).unwrap();
            holds(&again, &lives, &before, "fresh-2", None).await
        })
    });
    let logged = String::from_utf8_lossy(&logs().lock().unwrap_or_else(|p| p.into_inner())).into_owned();
    assert!(logged.contains("a damaged record is held"), "the damage was logged, and the log was read");
}

#[test]
fn a_journal_cut_at_any_byte_reads_as_its_last_whole_line() {
    let runtime = runtime();
    explore("a_journal_cut_at_any_byte_reads_as_its_last_whole_line", 128, (prop::collection::vec(life(), 1..10), any::<u32>()), |(lives, cut)| {
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let (path, prefix) = (dir.path().join("vandar.journal"), dir.path().join("prefix.journal"));
            live(&FileJournal::open(&path).unwrap(), &lives).await;
            let bytes = std::fs::read(&path).unwrap();
            let cut = cut as usize % (bytes.len() + 1);
            let whole = bytes[..cut].iter().rposition(|b| *b == b'\n').map_or(0, |at| at + 1);
            std::fs::write(&path, &bytes[..cut]).unwrap();
            std::fs::write(&prefix, &bytes[..whole]).unwrap();
            let (cut_journal, oracle) = (FileJournal::open(&path).unwrap(), FileJournal::open(&prefix).unwrap());
            let expected = oracle.open().await.unwrap();
            prop_assert_eq!(within("open()", cut_journal.open()).await?.unwrap(), expected.clone(), "a torn tail is crash residue, nothing more");
            prop_assert!(cut_journal.damaged().await.unwrap().is_empty(), "a torn tail is not damage");
            // The next writer cuts the torn tail off: the file ends on a whole line and keeps every entry.
            let fresh = Intent::for_money_move("settlement_store", &serde_json::json!({"amount": 7000, "iban": IBAN, "track_id": "fresh"})).unwrap();
            prop_assert_eq!(within("begin()", cut_journal.begin(&fresh)).await?.unwrap(), Begin::Sending);
            let written = std::fs::read(&path).unwrap();
            prop_assert!(written.ends_with(b"\n") && written.starts_with(&bytes[..whole]), "the torn tail is cut, nothing before it");
            let mut keys: Vec<String> = FileJournal::open(&path).unwrap().open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
            let mut expected: Vec<String> = expected.into_iter().map(|e| e.intent.key).chain(["fresh".to_string()]).collect();
            keys.sort();
            expected.sort();
            prop_assert_eq!(keys, expected);
            Ok(())
        })
    });
}

#[test]
fn a_damaged_token_file_is_refused_without_panic_hang_or_quoting_a_token() {
    use vandar::auth::TokenPair;
    let runtime = runtime();
    let strategy = (prop::collection::vec((any::<u32>(), 1..=255u8), 0..=3), prop::option::of(any::<u32>()), prop::option::of(0..4u8));
    explore("a_damaged_token_file_is_refused_without_panic_hang_or_quoting_a_token", 256, strategy, |(flips, cut, tail)| {
        runtime.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tokens.json");
            let pair = TokenPair::new("s3cret-access-0123456789", "s3cret-refresh-0123456789", Some(std::time::SystemTime::now() + Duration::from_secs(3600))).with_generation(41);
            FileTokenStore::new(&path).save(&pair).await.unwrap();
            let mut bytes = std::fs::read(&path).unwrap();
            for (at, xor) in &flips {
                let at = *at as usize % bytes.len();
                bytes[at] ^= xor;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut as usize % (bytes.len() + 1));
            }
            match tail {
                Some(0) => bytes.extend_from_slice(br#"{"access_token":"s3cret-x"}"#),
                Some(1) => bytes.extend_from_slice(&b"["[..].repeat(100_000)),
                Some(2) => bytes.extend_from_slice(br#","generation":18446744073709551616}"#),
                Some(_) => bytes.extend_from_slice(b"\r\n\x00"),
                None => {}
            }
            std::fs::write(&path, &bytes).unwrap();
            match within("load()", FileTokenStore::new(&path).load()).await? {
                Ok(Some(loaded)) => prop_assert!(!format!("{loaded:?}").contains("s3cret"), "Debug shows a token"),
                Ok(None) => {}
                Err(e) => prop_assert!(!e.to_string().contains("s3cret") && !e.to_string().contains("0123456789"), "an error quotes a token: {e}"),
            }
            Ok(())
        })
    });
}

/// What is done to one entry (or the open index) of a Redis journal behind its back.
#[cfg(feature = "redis")]
#[derive(Debug, Clone)]
enum RedisDamage {
    Set(u32, &'static str, u8),
    Delete(u32, &'static str),
    Gone(u32),
    Retyped(u32, bool),
    Orphan(u8),
    Score(u32, &'static str),
}

#[cfg(feature = "redis")]
const FIELDS: [&str; 10] = ["intent", "outcome", "outcome_kind", "created", "sending", "lease_until", "lease_holder", "move", "target", "staged"];

/// Hostile values; none is a valid forgery (a resend-allowing outcome kind, `staged` = 1).
#[cfg(feature = "redis")]
fn hostile_value(kind: u8) -> String {
    match kind % 9 {
        0 => String::new(),
        1 => "garbage".into(),
        2 => "{".into(),
        3 => "1e400".into(),
        4 => "-1".into(),
        5 => "99999999999999999999999999".into(),
        6 => format!(r#"{{"key":"t-00","iban":"{IBAN}","amount":"{IBAN}"}}"#),
        7 => "\u{0}\u{1}".into(),
        _ => "x".repeat(100_000),
    }
}

#[cfg(feature = "redis")]
fn redis_damage() -> impl Strategy<Value = RedisDamage> {
    let field = prop::sample::select(&FIELDS[..]);
    prop_oneof![
        4 => (any::<u32>(), field.clone(), any::<u8>()).prop_map(|(i, f, v)| RedisDamage::Set(i, f, v)),
        2 => (any::<u32>(), field).prop_map(|(i, f)| RedisDamage::Delete(i, f)),
        1 => any::<u32>().prop_map(RedisDamage::Gone),
        1 => (any::<u32>(), any::<bool>()).prop_map(|(i, list)| RedisDamage::Retyped(i, list)),
        1 => any::<u8>().prop_map(RedisDamage::Orphan),
        1 => (any::<u32>(), prop::sample::select(&["inf", "-inf", "0", "1e300"][..])).prop_map(|(i, s)| RedisDamage::Score(i, s)),
    ]
}

#[cfg(feature = "redis")]
#[test]
fn a_damaged_redis_journal_never_forgets_or_resends_a_move() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use vandar::journal::RedisJournal;
    let runtime = runtime();
    let redis = redis_server::RedisServer::start();
    let url = redis.url();
    let mut connection = redis::Client::open(url.as_str()).unwrap().get_connection().unwrap();
    let connection = std::sync::Mutex::new(&mut connection);
    let run = |args: Vec<String>| {
        let mut command = redis::cmd(&args[0]);
        for arg in &args[1..] {
            command.arg(arg);
        }
        command.exec(*connection.lock().unwrap()).unwrap();
    };
    let cases = AtomicUsize::new(0);
    explore("a_damaged_redis_journal_never_forgets_or_resends_a_move", 64, (prop::collection::vec(life(), 1..8), redis_damage()), |(lives, damage)| {
        let prefix = format!("vandar:case{}", cases.fetch_add(1, Ordering::Relaxed));
        runtime.block_on(async {
            let journal = RedisJournal::new(&url, &prefix).unwrap();
            live(&journal, &lives).await;
            let before = journal.open().await.unwrap();
            let n = lives.len() as u32;
            let entry = |i: u32| format!("{prefix}:journal:entry:{}", track_id((i % n) as usize));
            let index = format!("{prefix}:journal:open");
            let text = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<_>>();
            let mut forgotten = None;
            match &damage {
                RedisDamage::Set(i, field, value) => run(text(&["HSET", &entry(*i), field, &hostile_value(*value)])),
                RedisDamage::Delete(i, field) => run(text(&["HDEL", &entry(*i), field])),
                RedisDamage::Gone(i) => {
                    // A closed entry deleted reads as one whose retention ran out: nothing in Redis
                    // can tell it was there (Vandar's refusal of a repeated track id is the guard).
                    forgotten = Some((i % n) as usize);
                    run(text(&["DEL", &entry(*i)]));
                }
                RedisDamage::Retyped(i, list) => {
                    run(text(&["DEL", &entry(*i)]));
                    run(text(&[if *list { "RPUSH" } else { "SET" }, &entry(*i), IBAN]));
                }
                RedisDamage::Orphan(k) => run(text(&["ZADD", &index, "1", &format!("orphan-{k}")])),
                RedisDamage::Score(i, score) => run(text(&["ZADD", &index, score, &track_id((i % n) as usize)])),
            }
            let reader = RedisJournal::new(&url, &prefix).unwrap();
            holds(&reader, &lives, &before, "fresh-1", forgotten).await
        })
    });
}
