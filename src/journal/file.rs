//! [`FileJournal`]: an append-only file on one machine.
//!
//! Each record is one line, `<checksum> <json>\n`, the checksum the first 16 hex digits of the
//! SHA-256 of the JSON. A record is appended and fsynced before the call returns, so an intent is
//! on disk before its request leaves. A process killed mid-write leaves a torn last line: it fails
//! its checksum (or has no newline) and is ignored, and the next append starts on a fresh line, so
//! it never corrupts the records around it. Processes on one machine share the file through an OS
//! lock (`flock`) on `<path>.lock`, which the OS releases when a holder dies. When closed entries
//! outweigh open ones the file is compacted: the open entries are written to `<path>.tmp`, fsynced
//! and renamed over the file.
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{now_ms, Entry, Intent, Journal, Outcome};

/// Compact once the file holds more than this many records and closed entries are the majority.
const COMPACT_AFTER_RECORDS: usize = 512;

/// A journal in one file, shared by the processes of one machine (see the module docs).
#[derive(Debug, Clone)]
pub struct FileJournal {
    path: PathBuf,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "record", rename_all = "snake_case")]
enum Record {
    Intent { intent: Intent },
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
            Record::Intent { intent } => {
                if !self.entries.contains_key(&intent.key) {
                    self.order.push(intent.key.clone());
                    self.entries.insert(intent.key.clone(), (Entry { intent, outcome: None }, None));
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
}

impl FileJournal {
    /// The journal at `path` (created on first write; its folder must exist and be writable).
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, crate::error::Error> {
        let path = path.into();
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        if !folder.is_dir() {
            return Err(crate::error::Error::invalid("journal path", format!("{} is not a folder", folder.display())));
        }
        Ok(Self { path })
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
        let mut text = Vec::new();
        match File::open(&self.path) {
            Ok(mut file) => {
                file.read_to_end(&mut text)?;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut state = State::default();
        let complete = match text.iter().rposition(|b| *b == b'\n') {
            Some(last) => &text[..=last],
            None => &text[..0], // a torn first record, or an empty file
        };
        for (number, line) in complete.split(|b| *b == b'\n').enumerate().filter(|(_, l)| !l.is_empty()) {
            match decode(line) {
                Some(record) => state.apply(record),
                None => tracing::warn!(path = %self.path.display(), line = number + 1, "journal: skipped a torn or damaged record"),
            }
        }
        Ok(state)
    }

    /// Appends `records` and fsyncs; a torn tail left by a killed writer is closed off first.
    fn append(&self, records: &[Record]) -> io::Result<()> {
        let mut file = OpenOptions::new().create(true).read(true).append(true).open(&self.path)?;
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

    /// Rewrites the file with the open entries alone (their intent, outcome and lease).
    fn compact(&self, state: &State) -> io::Result<()> {
        let temporary = self.sibling(".tmp");
        let mut file = OpenOptions::new().create(true).write(true).truncate(true).open(&temporary)?;
        let mut bytes = Vec::new();
        for (entry, lease) in state.open() {
            bytes.extend(encode(&Record::Intent { intent: entry.intent.clone() }));
            if let Some(outcome) = &entry.outcome {
                bytes.extend(encode(&Record::Update { key: entry.intent.key.clone(), outcome: outcome.clone() }));
            }
            if let Some((holder, until_ms)) = lease {
                bytes.extend(encode(&Record::Lease { key: entry.intent.key.clone(), holder: holder.clone(), until_ms: *until_ms }));
            }
        }
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        if let Some(folder) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            File::open(folder)?.sync_all()?; // the rename itself, durable
        }
        Ok(())
    }

    fn record_blocking(&self, intent: Intent) -> io::Result<()> {
        self.locked(true, || {
            let state = self.read()?;
            match state.entries.get(&intent.key) {
                // Written ahead by the application, nothing sent under it yet: already durable.
                Some((entry, _)) if entry.outcome.is_none() && entry.intent.is_same_move(&intent) => Ok(()),
                Some(_) => Err(already_exists(&intent.key)),
                None => self.append(&[Record::Intent { intent }]),
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
            let open = state.open().count();
            if state.records > COMPACT_AFTER_RECORDS && state.entries.len() > 2 * open {
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
        journal.record(&intent("a")).await.unwrap();
        journal.record(&intent("b")).await.unwrap();
        journal.update("a", &Outcome::Indeterminate { reason: "lost".into() }).await.unwrap();
        journal.update("b", &Outcome::Answered).await.unwrap();
        let open = journal.open().await.unwrap();
        assert_eq!(open.iter().map(|e| e.intent.key.as_str()).collect::<Vec<_>>(), ["a"]);
        assert_eq!(open[0].outcome, Some(Outcome::Indeterminate { reason: "lost".into() }));
        assert_eq!(open[0].intent.kind, EntryKind::MoneyMove);
        let again = journal.record(&intent("a")).await.unwrap_err();
        assert_eq!(again.kind(), io::ErrorKind::AlreadyExists, "a track id with an outcome is used");
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
        journal.update("a", &Outcome::Indeterminate { reason: "lost".into() }).await.unwrap();
        assert_eq!(journal.record(&intent("a")).await.unwrap_err().kind(), io::ErrorKind::AlreadyExists, "it was sent");
    }

    #[tokio::test]
    async fn a_torn_last_record_is_ignored_and_closed_off() {
        let (_dir, journal) = journal();
        journal.record(&intent("a")).await.unwrap();
        // A writer killed mid-record: half a line, no newline.
        let torn = encode(&Record::Intent { intent: intent("b") });
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
    async fn closed_entries_are_compacted_away() {
        let (_dir, journal) = journal();
        journal.record(&intent("keep")).await.unwrap();
        for i in 0..300 {
            let key = format!("k{i}");
            journal.record(&intent(&key)).await.unwrap();
            journal.update(&key, &Outcome::Answered).await.unwrap();
        }
        let lines = std::fs::read_to_string(journal.path()).unwrap().lines().count();
        assert!(lines < 300, "compacted to {lines} lines");
        let open = journal.open().await.unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].intent, intent_like(&open[0].intent, "keep"));
    }

    fn intent_like(read: &Intent, key: &str) -> Intent {
        Intent { created_at_ms: read.created_at_ms, ..intent(key) }
    }

    #[tokio::test]
    async fn an_unwritable_journal_fails_clearly() {
        let (dir, journal) = journal();
        std::fs::create_dir(journal.path()).unwrap(); // a folder where the file should be
        assert!(journal.record(&intent("a")).await.is_err());
        assert!(FileJournal::open(dir.path().join("missing/vandar.journal")).is_err());
    }
}
