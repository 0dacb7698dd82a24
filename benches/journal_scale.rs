//! How the file journal scales with what it holds: recovery's read of a journal of 1,000, 10,000
//! and 100,000 entries (a fresh process: `open()` reads and folds the whole file), and the cost of
//! one more money move (`begin` + `update`) in each, which reads only what was appended since. The
//! entries are written as the journal writes them (one line each, its checksum first); a tenth are
//! open. Also 2,000 open intents, the case issue 29 measured at 112 s in a debug build.
//!
//!     cargo bench --bench journal_scale        # MOVES=200 per size
use std::time::{Duration, Instant};

use sha2::Digest;
use vandar::journal::{FileJournal, Intent, Journal, Outcome};

/// A journal line as `FileJournal` writes it: the first 16 hex digits of the JSON's SHA-256, a space, the JSON.
fn line(json: &serde_json::Value) -> String {
    let json = json.to_string();
    let sum: String = sha2::Sha256::digest(json.as_bytes()).iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{sum} {json}\n")
}

fn settlement(key: &str) -> Intent {
    Intent::for_money_move("settlement_store", &serde_json::json!({"amount": 5000, "iban": "IR330120020000002353697200", "track_id": key})).unwrap()
}

/// A journal of `entries` sent entries, one in `open_every` left open (the rest answered).
fn written(path: &std::path::Path, entries: usize, open_every: usize) {
    let mut text = String::new();
    for i in 0..entries {
        let key = format!("t-{i}");
        text.push_str(&line(&serde_json::json!({"record": "intent", "intent": settlement(&key)})));
        if i % open_every != 0 {
            text.push_str(&line(&serde_json::json!({"record": "update", "key": key, "outcome": {"outcome": "answered"}})));
        }
    }
    std::fs::write(path, text).unwrap();
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let moves: usize = std::env::var("MOVES").ok().and_then(|m| m.parse().ok()).unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        println!("{:<24} {:>9} {:>14} {:>22}", "journal", "bytes", "recovery read", "one more move, median");
        for (name, entries, open_every) in [("1,000 entries", 1_000, 10), ("10,000 entries", 10_000, 10), ("100,000 entries", 100_000, 10), ("2,000 open intents", 2_000, 1)] {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("vandar.journal");
            written(&path, entries, open_every);
            let bytes = std::fs::metadata(&path).unwrap().len();
            let journal = FileJournal::open(&path).unwrap();
            let started = Instant::now();
            let open = journal.open().await.unwrap();
            let read = started.elapsed();
            assert_eq!(open.len(), entries.div_ceil(open_every));
            let mut times = Vec::with_capacity(moves);
            for i in 0..moves {
                let intent = settlement(&format!("new-{i}"));
                let started = Instant::now();
                journal.begin(&intent).await.unwrap();
                journal.update(&intent.key, &Outcome::Answered).await.unwrap();
                times.push(started.elapsed());
            }
            println!("{name:<24} {bytes:>9} {:>11.1} ms {:>19.3} ms", read.as_secs_f64() * 1e3, median(times).as_secs_f64() * 1e3);
        }
    });
}
