//! [`FileJournal`]: an append-only file on one machine.
//!
//! Each record is one line, `<checksum> <json>\n`, the checksum the first 16 hex digits of the
//! SHA-256 of the JSON. A record is appended and fsynced before the call returns, so an intent is
//! on disk before its request leaves. Processes on one machine share the file through an OS lock
//! (`flock`) on `<path>.lock`, which the OS releases when a holder dies.
//!
//! # What it reads back, and what it refuses
//!
//! * **A torn last line** (no newline: a writer killed mid-record, whose call never returned, so
//!   its request never left) is crash residue: reads skip it, and the next writer, holding the
//!   lock, cuts it off before appending. Only what can be the start of one record counts as torn
//!   (16 hex digits, a space, JSON cut short); any other last line without its newline (a flipped
//!   newline) is damage, below, and the next writer ends it with a newline instead.
//! * **A line that does not read** (a flipped byte, a line that is not a record, a record this
//!   version does not know, a line over [`LINE_LIMIT`], an outcome older than its entry's last
//!   begin: a replayed copy) is never dropped: it is reported by [`Journal::damaged`] and in
//!   [`RecoveryReport::damaged`](crate::money::RecoveryReport::damaged) (its line, why, and the
//!   track id when it can be read), logged once per process, and kept as it is across
//!   compactions. It holds every track id it names (the one read from it, any that appears in it
//!   as a string): the client sends nothing under those until an operator has repaired or
//!   removed the line (`vandar journal damaged` lists them). A line whose checksum fails may say
//!   anything, even under another track id, and may be the only record of a move that left:
//!   while one is in the file, nothing is sent that the journal would otherwise let go (a new
//!   track id, a staged one, one proven not sent): each `begin` is refused with an error naming
//!   the line, and staged entries read as sending, so recovery looks them up. One flipped bit
//!   stops new money moves on that journal until an operator has looked: a payout delayed, never
//!   a payout doubled.
//! * Lines ending in CRLF read the same as LF. Anything at the path that is not a regular file (a
//!   FIFO, a device, a folder) is refused without blocking, and the file is read up to 64 MiB.
//!
//! # Cost
//!
//! The file is read once per process; after that each call reads only what other processes
//! appended since (the file's identity and the bytes before where it stopped are checked, so a
//! file compacted or replaced by another process is read again whole; a file edited in place
//! while processes have it open is not noticed unless its end changed: stop them, or replace the
//! file with a copy renamed over it, to repair it by hand). When superseded records
//! (old outcomes, leases, closed entries past their retention) outweigh the rest, the file is
//! compacted: each entry kept is written (its intent, its state, its last outcome) to a temporary
//! file, fsynced and renamed over the file, its mode kept. Closed entries are kept for
//! [`DEFAULT_RETENTION`](super::DEFAULT_RETENTION) after they were written (see
//! [`FileJournal::retention`]), so a used track id stays used across compactions.
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{now_ms, Begin, Damaged, Entry, Intent, Journal, Outcome, Target, DEFAULT_RETENTION};

/// Compact once the file holds more than this many records and superseded ones are the majority.
const COMPACT_AFTER_RECORDS: usize = 512;

/// The longest line the journal writes or reads (4 MiB: a batch of thousands of items fits). A
/// longer complete line is reported damaged; a record that would be longer is refused before
/// anything is sent.
pub const LINE_LIMIT: usize = 4 << 20;

/// How many bytes before where a read stopped are kept to recognize the same file next time.
const MARK: usize = 32;

/// A journal in one file, shared by the processes of one machine (see the module docs).
#[derive(Clone)]
pub struct FileJournal {
    path: PathBuf,
    retention: Duration,
    /// What this process has read of the file (shared by clones).
    loaded: Arc<Mutex<Option<Loaded>>>,
}

impl std::fmt::Debug for FileJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileJournal").field("path", &self.path).field("retention", &self.retention).finish_non_exhaustive()
    }
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
    /// An outcome, recorded at `at_ms` (never before the entry's last begin; `None` in records
    /// written before outcomes were timed). An outcome older than the entry's last begin is a
    /// replayed line (copied, restored from a backup): reported damaged, never applied, or it could
    /// close a move sent since and let its track id be sent again.
    Update {
        key: String,
        outcome: Outcome,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        at_ms: Option<u64>,
    },
    Lease { key: String, holder: String, until_ms: u64 },
}

type Lease = Option<(String, u64)>;

/// A complete line that did not read: the report, whether its bytes are intact (its checksum
/// matched, so the track id read from it is the one written), and the line itself, kept as it is
/// across compactions.
struct DamagedLine {
    report: Damaged,
    intact: bool,
    line: Vec<u8>,
}

impl DamagedLine {
    /// Whether the line names `key`: the track id read from it is `key`, or `key` appears in it as
    /// a JSON string (an intent's request carries its track id again).
    fn names(&self, key: &str) -> bool {
        self.report.key.as_deref() == Some(key) || serde_json::to_string(key).is_ok_and(|quoted| contains(&self.line, quoted.as_bytes()))
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// What the file says, folded.
#[derive(Default)]
struct State {
    order: Vec<String>,
    entries: HashMap<String, (Entry, Lease)>,
    records: usize,
    damaged: Vec<DamagedLine>,
    /// The bytes after the last newline when they cannot be a torn record (a flipped newline, a
    /// line that is not a record's start): damage, reported and held like a damaged line. The
    /// next writer ends it with a newline, which makes it one.
    tail: Option<DamagedLine>,
    /// When each entry's last outcome was recorded, where the record says.
    outcome_at: HashMap<String, u64>,
}

impl State {
    /// Applies a record that decoded; an outcome older than its entry's last begin is refused.
    fn apply(&mut self, record: Record) -> Result<(), Why> {
        if let Record::Update { key, at_ms: Some(at), .. } = &record {
            if self.entries.get(key).and_then(|(e, _)| e.sending_since_ms).is_some_and(|since| *at < since) {
                return Err(Why::Stale);
            }
        }
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
            Record::Update { key, outcome, at_ms } => {
                if let Some((entry, _)) = self.entries.get_mut(&key) {
                    entry.outcome = Some(outcome);
                    match at_ms {
                        Some(at) => self.outcome_at.insert(key, at),
                        None => self.outcome_at.remove(&key),
                    };
                }
            }
            Record::Lease { key, holder, until_ms } => {
                if let Some((_, lease)) = self.entries.get_mut(&key) {
                    *lease = Some((holder, until_ms));
                }
            }
        }
        Ok(())
    }

    /// When an outcome for `key` recorded now is recorded: never before the entry's last begin
    /// (a clock that went back, another process's clock ahead).
    fn outcome_time(&self, key: &str) -> u64 {
        let since = self.entries.get(key).and_then(|(e, _)| e.sending_since_ms).unwrap_or(0);
        now_ms().max(since)
    }

    /// When a begin of `key` recorded now is recorded: after the entry's last outcome, so a
    /// replayed copy of that outcome reads as older than the begin.
    fn begin_time(&self, key: &str) -> u64 {
        let after = self.outcome_at.get(key).map_or(0, |at| at.saturating_add(1));
        let since = self.entries.get(key).and_then(|(e, _)| e.sending_since_ms).map_or(0, |at| at.saturating_add(1));
        now_ms().max(after).max(since)
    }

    /// The damaged line that holds `key`, if one does: one that names it (see
    /// [`DamagedLine::names`]), or one whose bytes are damaged while the client would send `key`
    /// now (new, staged, or closed by an outcome that allows a resend). A line whose checksum
    /// fails may say anything, even under another track id: it may be the only record that this
    /// move left, so nothing is sent while it is there.
    fn held_by(&self, key: &str) -> Option<&Damaged> {
        let entry = self.entries.get(key).map(|(e, _)| e);
        let sendable = match entry.map(|e| (e, e.state())) {
            None => true,
            Some((_, super::EntryState::Staged)) => true,
            Some((e, super::EntryState::Closed)) => e.outcome.as_ref().is_some_and(Outcome::allows_resend),
            Some(_) => false,
        };
        let named = || self.all_damaged().find(|d| d.names(key));
        let damaged = || self.all_damaged().find(|d| !d.intact).filter(|_| sendable);
        named().or_else(damaged).map(|d| &d.report)
    }

    /// Every damaged line, the last one without its newline included.
    fn all_damaged(&self) -> impl Iterator<Item = &DamagedLine> {
        self.damaged.iter().chain(&self.tail)
    }

    /// The entry `key` as it must be read: one held by a damaged line is never merely staged (it
    /// reads as sending since it was written, the safe reading, so recovery looks it up).
    fn entry(&self, key: &str) -> Option<Entry> {
        let (entry, _) = self.entries.get(key)?;
        let mut entry = entry.clone();
        if entry.sending_since_ms.is_none() && self.held_by(key).is_some() {
            entry.sending_since_ms = Some(entry.intent.created_at_ms);
        }
        Some(entry)
    }

    fn open(&self) -> Vec<Entry> {
        self.order.iter().filter(|k| self.entries.get(*k).is_some_and(|(e, _)| e.is_open())).filter_map(|k| self.entry(k)).collect()
    }

    /// The entries a compaction keeps: every open one, and closed ones written within `retention`.
    fn kept(&self, retention: Duration) -> impl Iterator<Item = &(Entry, Lease)> {
        let horizon = now_ms().saturating_sub(u64::try_from(retention.as_millis()).unwrap_or(u64::MAX));
        self.order.iter().filter_map(|k| self.entries.get(k)).filter(move |(e, _)| e.is_open() || e.intent.created_at_ms >= horizon)
    }

    /// How many records a compaction would write.
    fn kept_records(&self, retention: Duration) -> usize {
        self.kept(retention)
            .map(|(entry, lease)| {
                let begun = entry.sending_since_ms.is_some_and(|at| at != entry.intent.created_at_ms);
                1 + usize::from(begun) + usize::from(entry.outcome.is_some()) + usize::from(lease.is_some())
            })
            .sum()
    }
}

/// What this process has read of the file: the state, and where the read stopped (the end of the
/// last complete line) in which file.
struct Loaded {
    state: State,
    /// The file's device and inode (unix), so a file replaced by another process's compaction is read whole.
    identity: Option<(u64, u64)>,
    read_to: u64,
    /// The last bytes before `read_to`.
    mark: Vec<u8>,
    lines: usize,
    /// When the file holds more records than this, see whether a compaction pays.
    compaction_check: usize,
}

impl Loaded {
    fn new(identity: Option<(u64, u64)>) -> Self {
        Loaded { state: State::default(), identity, read_to: 0, mark: Vec::new(), lines: 0, compaction_check: COMPACT_AFTER_RECORDS }
    }

    /// Whether `file` (of `identity`, `len` bytes) is the file read so far, grown or not.
    fn continues(&self, file: &mut File, identity: Option<(u64, u64)>, len: u64) -> io::Result<bool> {
        if identity.is_none() || self.identity != identity || len < self.read_to {
            return Ok(false);
        }
        let mut mark = vec![0u8; self.mark.len()];
        file.seek(SeekFrom::Start(self.read_to - self.mark.len() as u64))?;
        file.read_exact(&mut mark)?;
        Ok(mark == self.mark)
    }

    /// Folds the complete lines of `bytes`, read from `read_to` on.
    fn fold(&mut self, bytes: &[u8], path: &Path) {
        let complete = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(last) => &bytes[..=last],
            None => &bytes[..0], // a torn last record, or nothing new
        };
        let mut offset = self.read_to;
        for raw in complete.split_inclusive(|b| *b == b'\n') {
            self.lines += 1;
            let line = raw.strip_suffix(b"\n").unwrap_or(raw);
            // A line ending in CRLF (the file went through an editor or a copy on Windows) reads the same.
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if !line.is_empty() {
                match decode(line).and_then(|record| self.state.apply(record)) {
                    Ok(()) => {}
                    Err(why) => {
                        // Only a line whose checksum matched is intact: one without a readable checksum may be a
                        // record whose checksum a flipped bit spoiled, naming its track id wrongly.
                        let (key, intact) = (key_in(line), matches!(why, Why::Unknown | Why::Stale));
                        let report = Damaged {
                            position: format!("line {} (byte {offset}) of {}", self.lines, path.display()),
                            why: why.to_string(),
                            key,
                        };
                        tracing::error!(position = %report.position, why = %report.why, key = ?report.key, "journal: a damaged record is held for an operator");
                        self.state.damaged.push(DamagedLine { report, intact, line: line.to_vec() });
                    }
                }
            }
            offset += raw.len() as u64;
        }
        let tail = &bytes[complete.len()..];
        self.state.tail = (!tail.is_empty() && !torn(tail)).then(|| {
            let report = Damaged {
                position: format!("line {} (byte {offset}, the last, without its newline) of {}", self.lines + 1, path.display()),
                why: "the last line is cut short but is not the start of a record (a writer killed mid-write leaves one): damaged".into(),
                key: key_in(tail),
            };
            tracing::error!(position = %report.position, why = %report.why, key = ?report.key, "journal: a damaged record is held for an operator");
            DamagedLine { report, intact: false, line: tail.to_vec() }
        });
        self.read_to += complete.len() as u64;
        self.mark.extend_from_slice(complete);
        let excess = self.mark.len().saturating_sub(MARK);
        self.mark.drain(..excess);
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
        Ok(Self { path, retention: DEFAULT_RETENTION, loaded: Arc::default() })
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

    /// Runs `work` on the file as it is now, holding the machine-wide lock (exclusive to write,
    /// shared to read).
    fn locked<T>(&self, exclusive: bool, work: impl FnOnce(&mut Loaded) -> io::Result<T>) -> io::Result<T> {
        let lock = OpenOptions::new().create(true).truncate(false).write(true).open(self.sibling(".lock"))?;
        if exclusive {
            lock.lock()?;
        } else {
            lock.lock_shared()?;
        }
        let result = self.current().and_then(|mut loaded| match loaded.as_mut() {
            Some(loaded) => work(loaded),
            None => Err(io::Error::other("the journal was not read")),
        });
        let _ = lock.unlock();
        result
    }

    /// What this process has read of the file, brought up to date: only what was appended since
    /// the last read, or the whole file when it is not the one read before.
    fn current(&self) -> io::Result<MutexGuard<'_, Option<Loaded>>> {
        // A panic while it was held leaves a state half folded: read the file again.
        let mut loaded = self.loaded.lock().unwrap_or_else(|poisoned| {
            let mut guard = poisoned.into_inner();
            *guard = None;
            guard
        });
        let Some(mut file) = crate::local_file::open_regular(&self.path, "journal")? else {
            *loaded = Some(Loaded::new(None));
            return Ok(loaded);
        };
        let metadata = file.metadata()?;
        let len = metadata.len();
        if len > crate::local_file::JOURNAL_LIMIT {
            return Err(crate::local_file::too_big(&self.path, "journal", crate::local_file::JOURNAL_LIMIT));
        }
        #[cfg(unix)]
        let identity = Some(std::os::unix::fs::MetadataExt::dev(&metadata)).zip(Some(std::os::unix::fs::MetadataExt::ino(&metadata)));
        #[cfg(not(unix))]
        let identity = None;
        let continues = match loaded.as_ref() {
            Some(previous) => previous.continues(&mut file, identity, len)?,
            None => false,
        };
        if !continues {
            *loaded = Some(Loaded::new(identity));
        }
        if let Some(state) = loaded.as_mut() {
            let mut bytes = Vec::new();
            file.seek(SeekFrom::Start(state.read_to))?;
            file.take(len - state.read_to).read_to_end(&mut bytes)?;
            state.fold(&bytes, &self.path);
        }
        Ok(loaded)
    }

    /// Appends `records` and fsyncs, then reads them back into `loaded`. A torn tail (a writer
    /// killed mid-record, which holds the lock no longer: its call never returned) is cut off first;
    /// a last line that is damage instead is kept and ended by a newline.
    fn append(&self, loaded: &mut Loaded, records: &[Record]) -> io::Result<()> {
        // A last line that is damage, not a torn record, is kept: ended by a newline, it is the
        // damaged line it is.
        let damaged_tail = loaded.state.tail.as_ref().map(|d| d.line.clone());
        let mut bytes = Vec::new();
        if damaged_tail.is_some() {
            bytes.push(b'\n');
        }
        for record in records {
            bytes.extend(encode(record)?);
        }
        let mut file = crate::local_file::open_append(&self.path, PRIVATE, "journal")?;
        let length = file.seek(SeekFrom::End(0))?;
        if length > loaded.read_to && damaged_tail.is_none() {
            tracing::warn!(path = %self.path.display(), bytes = length - loaded.read_to, "journal: cut off a torn last record (a writer stopped mid-write; its call never returned)");
            file.set_len(loaded.read_to)?;
        }
        if loaded.read_to.saturating_add(bytes.len() as u64) > crate::local_file::JOURNAL_LIMIT {
            return Err(crate::local_file::too_big(&self.path, "journal", crate::local_file::JOURNAL_LIMIT));
        }
        file.write_all(&bytes)?;
        file.sync_data()?;
        match damaged_tail {
            Some(mut folded) => {
                folded.extend(bytes);
                loaded.fold(&folded, &self.path);
            }
            None => loaded.fold(&bytes, &self.path),
        }
        Ok(())
    }

    /// Rewrites the file with the entries kept (their intent, state, outcome and lease) and its
    /// damaged lines as they are; the next call reads it afresh.
    fn compact(&self, loaded: &mut Loaded) -> io::Result<()> {
        let state = &loaded.state;
        let mut bytes = Vec::new();
        for (entry, lease) in state.kept(self.retention) {
            let key = &entry.intent.key;
            let staged = entry.sending_since_ms.is_none();
            bytes.extend(encode(&Record::Intent { intent: entry.intent.clone(), staged })?);
            if let Some(at_ms) = entry.sending_since_ms.filter(|at| *at != entry.intent.created_at_ms) {
                bytes.extend(encode(&Record::Begin { key: key.clone(), at_ms, target: None })?);
            }
            if let Some(outcome) = &entry.outcome {
                let at_ms = state.outcome_at.get(key).copied();
                bytes.extend(encode(&Record::Update { key: key.clone(), outcome: outcome.clone(), at_ms })?);
            }
            if let Some((holder, until_ms)) = lease {
                bytes.extend(encode(&Record::Lease { key: key.clone(), holder: holder.clone(), until_ms: *until_ms })?);
            }
        }
        // After the entries, so a line damaged only by where it stands (a replayed outcome) reads
        // as damaged again.
        for damaged in state.all_damaged() {
            bytes.extend_from_slice(&damaged.line);
            bytes.push(b'\n');
        }
        // Private from the first byte, and the mode the operator gave the journal kept.
        crate::local_file::replace(&self.path, &bytes, crate::local_file::mode_of(&self.path, PRIVATE))?;
        *loaded = Loaded::new(None);
        Ok(())
    }

    fn record_blocking(&self, intent: Intent) -> io::Result<()> {
        self.locked(true, |loaded| {
            let state = &loaded.state;
            if let Some(damaged) = state.held_by(&intent.key) {
                return Err(held_by_damage(&intent.key, damaged));
            }
            match state.entries.get(&intent.key) {
                // Staged already, the same move: already durable.
                Some((entry, _)) if entry.state() == super::EntryState::Staged && entry.intent.is_same_move(&intent) => Ok(()),
                Some(_) => Err(already_exists(&intent.key)),
                None => self.append(loaded, &[Record::Intent { intent, staged: true }]),
            }
        })
    }

    fn begin_blocking(&self, intent: Intent) -> io::Result<Begin> {
        // This process's mark of life, before anything it sends is recorded under its sender id. A
        // mark that cannot be held only makes recovery look this process's entries up early.
        if let Err(error) = super::sender::file_marks::hold(&self.sibling(".senders")) {
            tracing::warn!(journal = %self.path.display(), %error, "cannot hold this process's mark of life beside the journal");
        }
        self.locked(true, |loaded| {
            let state = &loaded.state;
            let held = state.held_by(&intent.key).cloned();
            match (state.entry(&intent.key), held) {
                (Some(entry), None) if entry.accepts_send_of(&intent) => {
                    let at_ms = state.begin_time(&intent.key);
                    self.append(loaded, &[Record::Begin { key: intent.key.clone(), at_ms, target: intent.target.clone() }])?;
                    Ok(Begin::Sending)
                }
                // It would be sent, but a damaged line may say it was sent since.
                (Some(entry), Some(damaged)) if entry.accepts_send_of(&intent) => Err(held_by_damage(&intent.key, &damaged)),
                (Some(entry), _) => Ok(Begin::Held(Box::new(entry))),
                (None, Some(damaged)) => Err(held_by_damage(&intent.key, &damaged)),
                (None, None) => {
                    let intent = Intent { created_at_ms: now_ms(), ..intent };
                    self.append(loaded, &[Record::Intent { intent, staged: false }])?;
                    Ok(Begin::Sending)
                }
            }
        })
    }

    fn update_blocking(&self, key: String, outcome: Outcome) -> io::Result<()> {
        self.locked(true, |loaded| {
            if !loaded.state.entries.contains_key(&key) {
                return Ok(());
            }
            let at_ms = Some(loaded.state.outcome_time(&key));
            self.append(loaded, &[Record::Update { key, outcome, at_ms }])?;
            // Compacted, each entry kept takes its intent, and a begin, an outcome and a lease when
            // it has them: compact when the file holds twice that. Counting is linear, so it is
            // done again only once the file has grown by a quarter.
            let records = loaded.state.records;
            if records > loaded.compaction_check {
                let kept = loaded.state.kept_records(self.retention) + loaded.state.all_damaged().count();
                if records > 2 * kept {
                    return self.compact(loaded);
                }
                loaded.compaction_check = (2 * kept).max(records + records / 4);
            }
            Ok(())
        })
    }

    fn lease_blocking(&self, key: String, holder: String, ttl: Duration) -> io::Result<bool> {
        self.locked(true, |loaded| {
            let Some((entry, lease)) = loaded.state.entries.get(&key) else { return Ok(false) };
            let now = now_ms();
            if !entry.is_open() || lease.as_ref().is_some_and(|(other, until)| *other != holder && *until > now) {
                return Ok(false);
            }
            let until_ms = now.saturating_add(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
            self.append(loaded, &[Record::Lease { key, holder, until_ms }])?;
            Ok(true)
        })
    }
}

/// A key the journal holds under another intent, or with an outcome already.
pub(super) fn already_exists(key: &str) -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, format!("the journal already holds {key}"))
}

/// The refusal to stage or send `key` while `damaged` may be its record.
pub(super) fn held_by_damage(key: &str, damaged: &Damaged) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!(
            "{key} is held: the journal's record at {} is damaged ({}) and may be this track id's; an operator must repair or remove it (`vandar journal damaged`)",
            damaged.position, damaged.why
        ),
    )
}

/// Whether `tail`, the bytes after the last newline, may be the start of one record a writer was
/// killed while writing: up to 16 lowercase hex digits, a space, then JSON cut short (or whole
/// but for its newline, its checksum matching).
fn torn(tail: &[u8]) -> bool {
    if tail.len() > LINE_LIMIT || !tail.iter().take(16).all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
        return false;
    }
    match tail.get(16) {
        None => return true,
        Some(b' ') => {}
        Some(_) => return false,
    }
    let json = &tail[17..];
    match serde_json::from_slice::<serde::de::IgnoredAny>(json) {
        Ok(_) => checksum(json).as_bytes() == &tail[..16],
        Err(e) => e.is_eof(),
    }
}

fn checksum(json: &[u8]) -> String {
    Sha256::digest(json).iter().take(8).map(|b| format!("{b:02x}")).collect()
}

fn encode(record: &Record) -> io::Result<Vec<u8>> {
    let json = serde_json::to_vec(record).map_err(io::Error::other)?;
    let mut line = checksum(&json).into_bytes();
    line.push(b' ');
    line.extend(json);
    if line.len() > LINE_LIMIT {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("a journal record of {} bytes is over the {LINE_LIMIT}-byte line limit; not written (and not sent)", line.len())));
    }
    line.push(b'\n');
    Ok(line)
}

/// Why a complete line did not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    TooLong,
    NoChecksum,
    Checksum,
    Unknown,
    Stale,
}

impl std::fmt::Display for Why {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Why::TooLong => "the line is over the journal's line limit",
            Why::NoChecksum => "the line is not a journal record (no checksum)",
            Why::Checksum => "its checksum does not match: the line was damaged after it was written",
            Why::Unknown => "its checksum matches, but it is not a record this version reads",
            Why::Stale => "an outcome older than the entry's last begin: a replayed copy of an earlier line",
        })
    }
}

fn decode(line: &[u8]) -> Result<Record, Why> {
    if line.len() > LINE_LIMIT {
        return Err(Why::TooLong);
    }
    let (Some(sum), Some(json)) = (line.get(..16), line.get(17..)) else { return Err(Why::NoChecksum) };
    if line.get(16) != Some(&b' ') || !sum.iter().all(u8::is_ascii_hexdigit) {
        return Err(Why::NoChecksum);
    }
    if sum != checksum(json).as_bytes() {
        return Err(Why::Checksum);
    }
    serde_json::from_slice(json).map_err(|_| Why::Unknown)
}

/// The track id a damaged line names, when it can be read: its `key` (or its intent's).
fn key_in(line: &[u8]) -> Option<String> {
    let json = line.get(17..).unwrap_or(line);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(json) {
        let key = value.get("key").or_else(|| value.get("intent").and_then(|i| i.get("key")));
        return key.and_then(|k| k.as_str()).filter(|k| plausible_key(k)).map(str::to_string);
    }
    // Not JSON any more: the first `"key":"..."` in it, else the request's track id.
    [&b"\"key\":\""[..], b"\"track_id\":\"", b"\"batch_id\":\""].into_iter().find_map(|needle| {
        let at = json.windows(needle.len()).position(|w| w == needle)? + needle.len();
        let rest = json.get(at..)?;
        let end = rest.iter().take(257).position(|b| *b == b'"')?;
        std::str::from_utf8(&rest[..end]).ok().filter(|k| plausible_key(k)).map(str::to_string)
    })
}

fn plausible_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 256 && !key.chars().any(char::is_control)
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
        Box::pin(blocking(move || journal.locked(false, |loaded| Ok(loaded.state.entry(&key)))))
    }

    fn open(&self) -> BoxFuture<'_, io::Result<Vec<Entry>>> {
        let journal = self.clone();
        Box::pin(blocking(move || journal.locked(false, |loaded| Ok(loaded.state.open()))))
    }

    fn damaged(&self) -> BoxFuture<'_, io::Result<Vec<Damaged>>> {
        let journal = self.clone();
        Box::pin(blocking(move || journal.locked(false, |loaded| Ok(loaded.state.all_damaged().map(|d| d.report.clone()).collect()))))
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, io::Result<bool>> {
        let (journal, key, holder) = (self.clone(), key.to_string(), holder.to_string());
        Box::pin(blocking(move || journal.lease_blocking(key, holder, ttl)))
    }

    /// A process of this machine is alive while it holds its mark of life, `<path>.senders/<sender>`
    /// (see [`Sender`](super::Sender)); another machine's is unknown.
    fn sender<'a>(&'a self, sender: &'a str) -> BoxFuture<'a, io::Result<super::Sender>> {
        let (folder, sender) = (self.sibling(".senders"), sender.to_string());
        Box::pin(blocking(move || Ok(super::sender::file_marks::check(&folder, &sender))))
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
        let torn = encode(&Record::Intent { intent: intent("b"), staged: false }).unwrap();
        OpenOptions::new().append(true).open(journal.path()).unwrap().write_all(&torn[..torn.len() / 2]).unwrap();
        assert_eq!(journal.open().await.unwrap().len(), 1);
        journal.record(&intent("c")).await.unwrap();
        let keys: Vec<String> = journal.open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
        assert_eq!(keys, ["a", "c"], "the torn record is skipped and the next one reads whole");
        assert!(!std::fs::read_to_string(journal.path()).unwrap().contains("\"b\""), "the torn tail was cut off, not closed off");
        assert!(journal.damaged().await.unwrap().is_empty(), "crash residue is not damage");
        // A damaged record in the middle (a flipped byte) is reported, never the rest lost.
        let mut text = std::fs::read(journal.path()).unwrap();
        let at = text.iter().position(|b| *b == b'{').unwrap() + 5;
        text[at] ^= 1;
        // Replaced as a restore from a backup replaces it (another file renamed over it).
        let copy = journal.path().with_extension("copy");
        std::fs::write(&copy, text).unwrap();
        std::fs::rename(&copy, journal.path()).unwrap();
        let keys: Vec<String> = journal.open().await.unwrap().into_iter().map(|e| e.intent.key).collect();
        assert_eq!(keys, ["c"]);
        let damaged = journal.damaged().await.unwrap();
        assert_eq!(damaged.len(), 1);
        assert_eq!(damaged[0].key.as_deref(), Some("a"), "{}", damaged[0]);
        assert!(damaged[0].position.starts_with("line 1 (byte 0)"), "{}", damaged[0]);
        // Its track id is held: neither staged nor sent again.
        assert_eq!(journal.record(&intent("a")).await.unwrap_err().kind(), io::ErrorKind::InvalidData);
        assert!(journal.begin(&intent("a")).await.is_err());
        // And c, staged, is no longer sendable while a line whose bytes are damaged is in the file.
        assert_eq!(journal.get("c").await.unwrap().unwrap().state(), crate::journal::EntryState::Sending);
        assert!(matches!(journal.begin(&intent("c")).await.unwrap(), Begin::Held(_)));
    }

    /// Replaces the journal's file with `bytes` as a restore from a backup would.
    fn restore(journal: &FileJournal, bytes: &[u8]) {
        let copy = journal.path().with_extension("copy");
        std::fs::write(&copy, bytes).unwrap();
        std::fs::rename(&copy, journal.path()).unwrap();
    }

    #[tokio::test]
    async fn a_damaged_line_holds_what_it_names_and_a_checksum_failure_holds_every_send() {
        let (_dir, journal) = journal();
        // "r" was proven not sent, then sent again: its Begin line is what forbids a third send.
        journal.begin(&intent("r")).await.unwrap();
        journal.update("r", &Outcome::ProvenNotSent { looked_up: "transaction_list".into() }).await.unwrap();
        assert!(matches!(journal.begin(&intent("r")).await.unwrap(), Begin::Sending));
        let clean = std::fs::read(journal.path()).unwrap();
        let begin_at = clean.windows(8).rposition(|w| w == b"\"begin\",").unwrap();
        let key_at = begin_at + clean[begin_at..].windows(7).position(|w| w == b"\"key\":\"").unwrap() + 7;

        // A flipped byte in that line's track id: it now reads "s", and its checksum fails, so it
        // may be anything's record: "r" is held, and nothing new is sent while it is there.
        let mut flipped = clean.clone();
        flipped[key_at] = b's';
        restore(&journal, &flipped);
        assert_eq!(journal.damaged().await.unwrap()[0].key.as_deref(), Some("s"));
        let error = journal.begin(&intent("r")).await.unwrap_err();
        assert!(error.to_string().contains("r is held"), "{error}");
        let error = journal.begin(&intent("another")).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::InvalidData);
        assert!(error.to_string().contains("line 3"), "names the line: {error}");

        // A record with a valid checksum that this version does not read holds only what it names.
        let json = br#"{"record":"refund","key":"u","amount":5000}"#;
        let unknown = [&clean[..], checksum(json).as_bytes(), b" ", json, b"\n"].concat();
        restore(&journal, &unknown);
        assert_eq!(journal.damaged().await.unwrap()[0].key.as_deref(), Some("u"));
        assert!(journal.begin(&intent("u")).await.is_err());
        assert!(matches!(journal.begin(&intent("another")).await.unwrap(), Begin::Sending));
        // Repaired (the line removed by an operator), the journal sends again.
        restore(&journal, &clean);
        assert!(journal.damaged().await.unwrap().is_empty());
        assert!(matches!(journal.begin(&intent("another")).await.unwrap(), Begin::Sending));
    }

    #[tokio::test]
    async fn a_replayed_outcome_or_a_flipped_last_newline_is_damage_kept_across_compaction() {
        let (_dir, journal) = journal();
        journal.begin(&intent("r")).await.unwrap();
        journal.update("r", &Outcome::ProvenNotSent { looked_up: "transaction_list".into() }).await.unwrap();
        assert!(matches!(journal.begin(&intent("r")).await.unwrap(), Begin::Sending));
        let clean = std::fs::read(journal.path()).unwrap();
        let lines: Vec<&[u8]> = clean.split_inclusive(|b| *b == b'\n').collect();
        // The "proven not sent" line copied after the second begin (a backup restored over a
        // copy, a replication replay) would close a move that may have left since.
        let replayed = [&clean[..], lines[1]].concat();
        restore(&journal, &replayed);
        let damaged = journal.damaged().await.unwrap();
        assert_eq!(damaged.len(), 1, "{damaged:?}");
        assert!(damaged[0].why.contains("replayed") && damaged[0].key.as_deref() == Some("r"), "{damaged:?}");
        assert_eq!(journal.open().await.unwrap().len(), 1, "still sending, so recovery looks it up");
        assert!(matches!(journal.begin(&intent("r")).await.unwrap(), Begin::Held(_)), "never sent a third time");
        // Compacted, the replayed line stays after the entry, so it still reads as replayed.
        journal.locked(true, |loaded| journal.compact(loaded)).unwrap();
        assert_eq!(journal.damaged().await.unwrap().len(), 1);
        assert!(matches!(journal.begin(&intent("r")).await.unwrap(), Begin::Held(_)));

        // A last newline flipped is damage, not a torn write: reported, held, kept by the next writer.
        let mut flipped = clean.clone();
        *flipped.last_mut().unwrap() = b'x';
        restore(&journal, &flipped);
        let damaged = journal.damaged().await.unwrap();
        assert!(damaged.len() == 1 && damaged[0].position.contains("without its newline"), "{damaged:?}");
        assert!(journal.begin(&intent("r")).await.is_err());
        assert!(journal.begin(&intent("new")).await.is_err(), "its checksum fails: every send is held");
        journal.update("r", &Outcome::Indeterminate { reason: "lost".into() }).await.unwrap();
        let written = std::fs::read(journal.path()).unwrap();
        assert!(written.starts_with(&flipped) && written[flipped.len()] == b'\n', "the damaged line is kept whole");
        assert_eq!(FileJournal::open(journal.path()).unwrap().damaged().await.unwrap().len(), 1, "read afresh, the same damage");
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
