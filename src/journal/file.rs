//! [`FileJournal`]: an append-only file on one machine.
//!
//! Each record is one line, `<checksum> <json>\n`, the checksum the first 16 hex digits of the
//! SHA-256 of the JSON. A record is appended and fsynced before the call returns, so an intent is
//! on disk before its request leaves. A process killed mid-write leaves a torn last line: it fails
//! its checksum (or has no newline) and is ignored, and the next append starts on a fresh line, so
//! it never corrupts the records around it. Processes on one machine share the file through an OS
//! lock (`flock`) on `<path>.lock`, which the OS releases when a holder dies. When superseded
//! records (old outcomes, leases, closed entries past their retention) outweigh the rest, the file
//! is compacted: each entry kept is written (its intent, its state, its last outcome) to
//! `<path>.tmp`, fsynced and renamed over the file. Closed entries are kept for
//! [`DEFAULT_RETENTION`](super::DEFAULT_RETENTION) after they were written (see
//! [`FileJournal::retention`]), so a used track id stays used across compactions.
use std::collections::HashMap;
use std::fs::OpenOptions;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{now_ms, Begin, Entry, Intent, Journal, Outcome, Target, DEFAULT_RETENTION};

/// Compact once the file holds more than this many records and superseded ones are the majority.
const COMPACT_AFTER_RECORDS: usize = 512;

/// A journal in one file, shared by the processes of one machine (see the module docs).
#[derive(Debug, Clone)]
pub struct FileJournal {
    path: PathBuf,
    retention: Duration,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    /// A new entry: staged by the application, or (`staged` false; so are records written before
    /// staging existed, the safe reading) sent by the client since the intent's `created_at_ms`.
    Intent {
        intent: Intent,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        staged: bool,
    },
    /// The client began sending the entry (again) at `at_ms`: its outcome is cleared, and the
    /// target it is sent to is recorded (a staged intent does not know it yet).
    Begin {
        key: String,
        at_ms: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<Target>,
    },
    Update { key: String, outcome: Outcome },
    Lease { key: String, holder: String, until_ms: u64 },
}

/// What the file says, folded.
#[derive(Default)]
struct State {
    order: Vec<String>,
    entries: HashMap<String, (Entry, Option<(String, u64)>)>,
    records: usize,
}

impl State {
    fn apply(&mut self, record: Record) {
        self.records += 1;
        match record {
            Record::Intent { intent, staged } => {
                if !self.entries.contains_key(&intent.key) {
                    self.order.push(intent.key.clone());
                    let sending_since_ms = (!staged).then_some(intent.created_at_ms);
                    self.entries.insert(intent.key.clone(), (Entry { intent, outcome: None, sending_since_ms }, None));
                }
            }
            Record::Begin { key, at_ms, target } => {
                if let Some((entry, _)) = self.entries.get_mut(&key) {
                    entry.outcome = None;
                    entry.sending_since_ms = Some(at_ms);
                    if target.is_some() {
                        entry.intent.target = target;
                    }
                }
            }
            Record::Update { key, outcome } => {
                if let Some((entry, _)) = self.entries.get_mut(&key) {
                    entry.outcome = Some(outcome);
                }
            }
            Record::Lease { key, holder, until_ms } => {
                if let Some((_, lease)) = self.entries.get_mut(&key) {
                    *lease = Some((holder, until_ms));
                }
            }
        }
    }

    fn open(&self) -> impl Iterator<Item = &(Entry, Option<(String, u64)>)> {
        self.order.iter().filter_map(|k| self.entries.get(k)).filter(|(e, _)| e.is_open())
    }

    /// The entries a compaction keeps: every open one, and closed ones written within `retention`.
    fn kept(&self, retention: Duration) -> impl Iterator<Item = &(Entry, Option<(String, u64)>)> {
        let horizon = now_ms().saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX));
        self.order.iter().filter_map(|k| self.entries.get(k)).filter(move |(e, _)| e.is_open() || e.intent.created_at_ms >= horizon)
    }
}

/// The journal holds IBANs and amounts: created readable by its owner only.
const PRIVATE: u32 = 0o600;

impl FileJournal {
    /// The journal at `path` (created on first write; its folder must exist and be writable).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, crate::error::Error> {
        let path = path.into();
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(crate::error::Error::invalid("journal path", format!("{} is not a folder", folder.display())));
        }
        Ok(Self { path, retention: DEFAULT_RETENTION })
    }

    /// How long a closed entry is kept after it was written (default
    /// [`DEFAULT_RETENTION`](super::DEFAULT_RETENTION), 30 days): until then its track id cannot be
    /// sent again and [`Journal::get`] answers it. Open entries are always kept.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// Runs `work` holding the machine-wide lock (exclusive to write, shared to read).
    fn locked<T>(&self, exclusive: bool, work: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(self.sibling(".lock"))?;
        if exclusive {
            lock.lock()?;
        } else {
            lock.lock_shared()?;
        }
        let result = work();
        let _ = lock.unlock();
        result
    }

    fn read(&self) -> io::Result<State> {
        let text = crate::local_file::read_bounded(&self.path, crate::local_file::JOURNAL_LIMIT, "journal")?.unwrap_or_default();
        let mut state = State::default();
        let complete = match text.iter().rposition(|b| *b == b'\n') {
            Some(last) => &text[..=last],
            None => &text[..0], // a torn first record, or an empty file
        };
        for (number, line) in complete.split(|b| *b == b'\n').enumerate().filter(|(_, l)| !l.is_empty()) {
            // A line ending in CRLF (the file went through an editor or a copy on Windows) reads the same.
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            match decode(line) {
                Some(record) => state.apply(record),
                None => tracing::warn!(path = %self.path.display(), line = number + 1, "journal: skipped a torn or damaged record"),
            }
        }
        Ok(state)
    }

    /// Appends `records` and fsyncs; a torn tail left by a killed writer is closed off first.
    fn append(&self, records: &[Record]) -> io::Result<()> {
        let mut file = crate::local_file::open_append(&self.path, PRIVATE, "journal")?;
        let mut bytes = Vec::new();
        let length = file.seek(SeekFrom::End(0))?;
        if length > 0 {
            let mut last = [0u8; 1];
            file.seek(SeekFrom::Start(length - 1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                bytes.push(b'\n');
            }
        }
        for record in records {
            bytes.extend(encode(record));
        }
        file.write_all(&bytes)?;
        file.sync_data()
    }

    /// Rewrites the file with the entries kept (their intent, state, outcome and lease).
    fn compact(&self, state: &State) -> io::Result<()> {
        let mut bytes = Vec::new();
        for (entry, lease) in state.kept(self.retention) {
            let key = &entry.intent.key;
            let staged = entry.sending_since_ms.is_none();
            bytes.extend(encode(&Record::Intent { intent: entry.intent.clone(), staged }));
            if let Some(at_ms) = entry.sending_since_ms.filter(|at| *at != entry.intent.created_at_ms) {
                bytes.extend(encode(&Record::Begin { key: key.clone(), at_ms, target: None }));
            }
            if let Some(outcome) = &entry.outcome {
                bytes.extend(encode(&Record::Update { key: entry.intent.key.clone(), outcome: outcome.clone() }));
            }
            if let Some((holder, until_ms)) = lease {
                bytes.extend(encode(&Record::Lease { key: entry.intent.key.clone(), holder: holder.clone(), until_ms: *until_ms }));
            }
        }
        // Private from the first byte, and the mode the operator gave the journal kept.
        crate::local_file::replace(&self.path, &bytes, crate::local_file::mode_of(&self.path, PRIVATE))
    }

    fn record_blocking(&self, intent: Intent) -> io::Result<()> {
        self.locked(true, || {
            let state = self.read()?;
            match state.entries.get(&intent.key) {
                // Staged already, the same move: already durable.
                Some((entry, _)) if entry.state() == super::EntryState::Staged && entry.intent.is_same_move(&intent) => Ok(()),
                Some(_) => Err(already_exists(&intent.key)),
                None => self.append(&[Record::Intent { intent, staged: true }]),
            }
        })
    }

    fn begin_blocking(&self, intent: Intent) -> io::Result<Begin> {
        self.locked(true, || {
            let state = self.read()?;
            match state.entries.get(&intent.key) {
                Some((entry, _)) if entry.accepts_send_of(&intent) => {
                    self.append(&[Record::Begin { key: intent.key.clone(), at_ms: now_ms(), target: intent.target.clone() }])?;
                    Ok(Begin::Sending)
                }
                Some((entry, _)) => Ok(Begin::Held(Box::new(entry.clone()))),
                None => {
                    let intent = Intent { created_at_ms: now_ms(), ..intent };
                    self.append(&[Record::Intent { intent, staged: false }])?;
                    Ok(Begin::Sending)
                }
            }
        })
    }

    fn update_blocking(&self, key: String, outcome: Outcome) -> io::Result<()> {
        self.locked(true, || {
            let mut state = self.read()?;
            if !state.entries.contains_key(&key) {
                return Ok(());
            }
            let record = Record::Update { key, outcome };
            self.append(std::slice::from_ref(&record))?;
            state.apply(record);
            // Compacted, each entry kept takes its intent, and a begin, an outcome and a lease when
            // it has them: compact when the file holds twice that.
            let kept: usize = state
                .kept(self.retention)
                .map(|(entry, lease)| {
                    let begun = entry.sending_since_ms.is_some_and(|at| at != entry.intent.created_at_ms);
                    1 + usize::from(begun) + usize::from(entry.outcome.is_some()) + usize::from(lease.is_some())
                })
                .sum();
            if state.records > COMPACT_AFTER_RECORDS && state.records > 2 * kept {
                self.compact(&state)?;
            }
            Ok(())
        })
    }

    fn lease_blocking(&self, key: String, holder: String, ttl: Duration) -> io::Result<bool> {
        self.locked(true, || {
            let state = self.read()?;
            let Some((entry, lease)) = state.entries.get(&key) else { return Ok(false) };
            let now = now_ms();
            if !entry.is_open() || lease.as_ref().is_some_and(|(other, until)| *other != holder && *until > now) {
                return Ok(false);
            }
            let until_ms = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
            self.append(&[Record::Lease { key, holder, until_ms }])?;
            Ok(true)
        })
    }
}

/// A key the journal holds under another intent, or with an outcome already.
pub(super) fn already_exists(key: &str) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("the journal already holds {key}"))
}

fn checksum(json: &[u8]) -> String {
    Sha256::digest(json).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn encode(record: &Record) -> Vec<u8> {
    let json = serde_json::to_vec(record).expect("a journal record serializes");
    let mut line = checksum(&json).into_bytes();
    line.push(b' ');
    line.extend(json);
    line.push(b'\n');
    line
}

fn decode(line: &[u8]) -> Option<Record> {
    let (sum, json) = (line.get(..16)?, line.get(17..)?);
    if line.get(16) != Some(&b' ') || sum != checksum(json).as_bytes() {
        return None;
    }
    serde_json::from_slice(json).ok()
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

impl Journal for FileJournal {
    fn describe(&self) -> String {
        format!("file journal {}", self.path.display())
    }

    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<()>> {
        let (journal, intent) = (self.clone(), intent.clone());
        Box::pin(blocking(move || journal.record_blocking(intent)))
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, io::Result<()>> {
        let (journal, key, outcome) = (self.clone(), key.to_string(), outcome.clone());
        Box::pin(blocking(move || journal.update_blocking(key, outcome)))
    }

    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<Begin>> {
        let (journal, intent) = (self.clone(), intent.clone());
        Box::pin(blocking(move || journal.begin_blocking(intent)))
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Entry>>> {
        let (journal, key) = (self.clone(), key.to_string());
        Box::pin(blocking(move || journal.locked(false, || Ok(journal.read()?.entries.get(&key).map(|(entry, _)| entry.clone())))))
    }

    fn open(&self) -> BoxFuture<'_, io::Result<Vec<Entry>>> {
        let journal = self.clone();
        Box::pin(blocking(move || {
            journal.locked(false, || Ok(journal.read()?.open().map(|(entry, _)| entry.clone()).collect()))
        }))
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, io::Result<bool>> {
        let (journal, key, holder) = (self.clone(), key.to_string(), holder.to_string());
        Box::pin(blocking(move || journal.lease_blocking(key, holder, ttl)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::EntryKind;

    fn intent(key: &str) -> Intent {
        Intent::money_move("settlement_store", key.into(), Some("Tomans"), &serde_json::json!({"amount": 5000, "iban": "IR1"}), None)
    }

    fn journal() -> (tempfile::TempDir, FileJournal) {
        let dir = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(dir.path().join("vandar.journal")).unwrap();
        (dir, journal)
    }

    #[tokio::test]
    async fn intents_stay_open_until_an_outcome_closes_them() {
        let (_dir, journal) = journal();
        assert_eq!(journal.begin(&intent("a")).await.unwrap(), Begin::Sending);
        assert_eq!(journal.begin(&intent("b")).await.unwrap(), Begin::Sending);
        journal.update("a", &Outcome::Indeterminate { reason: "lost".into() }).await.unwrap();
        journal.update("b", &Outcome::Answered).await.unwrap();
        let open = journal.open().await.unwrap();
        assert_eq!(open.iter().map(|e| e.intent.key.as_str()).collect::<Vec<_>>(), ["a"]);
        assert_eq!(open[0].outcome, Some(Outcome::Indeterminate { reason: "lost".into() }));
        assert_eq!(open[0].intent.kind, EntryKind::MoneyMove);
        let again = journal.record(&intent("a")).await.unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists, "a track id with an outcome is used");
        assert!(matches!(journal.begin(&intent("a")).await.unwrap(), Begin::Held(_)), "in doubt: never sent again");
        assert!(matches!(journal.begin(&intent("b")).await.unwrap(), Begin::Held(_)), "answered: never sent again");
    }

    #[tokio::test]
    async fn the_same_intent_written_ahead_records_again_until_it_has_an_outcome() {
        let (_dir, journal) = journal();
        journal.record(&intent("a")).await.unwrap();
        let later = Intent { created_at_ms: intent("a").created_at_ms + 1000, ..intent("a") };
        journal.record(&later).await.unwrap();
        let other = Intent { amount: Some(6000), ..intent("a") };
        assert_eq!(journal.record(&other).await.unwrap_err().kind(), io::ErrorKind::AlreadyExists, "another move under the same key");
        assert_eq!(journal.open().await.unwrap().len(), 1);
        assert!(matches!(journal.begin(&other).await.unwrap(), Begin::Held(_)), "another move is never sent under it");
        assert_eq!(journal.begin(&intent("a")).await.unwrap(), Begin::Sending, "staged: sent");
        assert!(matches!(journal.begin(&intent("a")).await.unwrap(), Begin::Held(_)), "sending: never twice");
        assert_eq!(journal.record(&intent("a")).await.unwrap_err().kind(), io::ErrorKind::AlreadyExists, "it was sent");
        // Proven never carried out: the same move may go again under its track id.
        journal.update("a", &Outcome::ProvenNotSent { looked_up: "transaction_list".into() }).await.unwrap();
        assert_eq!(journal.begin(&intent("a")).await.unwrap(), Begin::Sending);
        assert_eq!(journal.get("a").await.unwrap().unwrap().state(), crate::journal::EntryState::Sending);
    }

    #[tokio::test]
    async fn a_torn_last_record_is_ignored_and_closed_off() {
        let (_dir, journal) = journal();
        journal.record(&intent("a")).await.unwrap();
        // A writer killed mid-record: half a line, no newline.
        let torn = encode(&Record::Intent { intent: intent("b"), staged: false });
        OpenOptions::new().append(true).open(journal.path()).unwrap().write_all(&torn[..torn.len() / 2]).unwrap();
        assert_eq!(journal.open().await.unwrap().len(), 1);
        journal.record(&intent("c")).await.unwrap();
        let keys: Vec<String> = journal.open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
        assert_eq!(keys, ["a", "c"], "the torn record is skipped and the next one reads whole");
        // A damaged record in the middle (a flipped byte) is skipped too, never the rest.
        let mut text = std::fs::read(journal.path()).unwrap();
        let at = text.iter().position(|b| *b == b'{').unwrap() + 5;
        text[at] ^= 1;
        std::fs::write(journal.path(), text).unwrap();
        let keys: Vec<String> = journal.open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
        assert_eq!(keys, ["c"]);
    }

    #[tokio::test]
    async fn a_lease_excludes_other_holders_until_it_runs_out() {
        let (_dir, journal) = journal();
        journal.record(&intent("a")).await.unwrap();
        assert!(journal.lease("a", "one", Duration::from_secs(60)).await.unwrap());
        assert!(!journal.lease("a", "two", Duration::from_secs(60)).await.unwrap());
        assert!(journal.lease("a", "one", Duration::from_secs(60)).await.unwrap(), "the holder renews");
        assert!(!journal.lease("missing", "one", Duration::from_secs(60)).await.unwrap());
        journal.record(&intent("b")).await.unwrap();
        assert!(journal.lease("b", "one", Duration::ZERO).await.unwrap());
        assert!(journal.lease("b", "two", Duration::from_secs(60)).await.unwrap(), "an expired lease is free");
    }

    #[tokio::test]
    async fn compaction_keeps_every_used_track_id_within_retention() {
        let (_dir, journal) = journal();
        journal.record(&intent("keep")).await.unwrap();
        for i in 0..300 {
            let key = format!("k{i}");
            journal.begin(&intent(&key)).await.unwrap();
            for _ in 0..3 {
                journal.update(&key, &Outcome::Indeterminate { reason: "lost".into() }).await.unwrap();
            }
            journal.update(&key, &Outcome::Answered).await.unwrap();
        }
        // Uncompacted: 1 + 300 x 5 = 1,501 lines. Compacted: an intent and an outcome per entry
        // (601), and the file is compacted again whenever it holds twice that.
        let lines = std::fs::read_to_string(journal.path()).unwrap().lines().count();
        assert!(lines <= 2 * 601 + 1, "compacted to {lines} lines");
        let open = journal.open().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].intent, intent_like(&open[0].intent, "keep"));
        assert_eq!(open[0].state(), crate::journal::EntryState::Staged, "a staged entry stays staged across compaction");
        // Every answered track id is still used, and readable, after the compaction.
        for i in [0, 150, 299] {
            let key = format!("k{i}");
            assert_eq!(journal.get(&key).await.unwrap().unwrap().outcome, Some(Outcome::Answered));
            assert!(matches!(journal.begin(&intent(&key)).await.unwrap(), Begin::Held(_)), "{key} was answered");
        }
        // Past the retention, closed entries go at the next compaction; open ones never.
        let journal = journal.retention(Duration::ZERO);
        for i in 300..900 {
            let key = format!("k{i}");
            journal.begin(&intent(&key)).await.unwrap();
            journal.update(&key, &Outcome::Answered).await.unwrap();
        }
        assert!(std::fs::read_to_string(journal.path()).unwrap().lines().count() < 600);
        assert_eq!(journal.open().await.unwrap().len(), 1);
    }

    fn intent_like(read: &Intent, key: &str) -> Intent {
        Intent { created_at_ms: read.created_at_ms, ..intent(key) }
    }

    #[tokio::test]
    async fn an_unwritable_journal_fails_clearly() {
        let (dir, journal) = journal();
        std::fs::create_dir(journal.path()).unwrap(); // a folder where the file should be
        assert!(journal.record(&intent("a")).await.is_err());
        assert!(journal.begin(&intent("a")).await.is_err());
        assert!(FileJournal::open(dir.path().join("missing/vandar.journal")).is_err());
    }
}
