//! [`RedisJournal`]: one journal for a fleet, in Redis.
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::file::already_exists;
use super::{Begin, Damaged, Entry, Intent, Journal, Outcome, DEFAULT_RETENTION, RESENDABLE};
use crate::redis_connection::RedisConnection;

/// A journal in Redis, shared by every replica that uses the same server and prefix: entries
/// outlive the process that wrote them, and replicas recovering at once take each entry under a
/// lease (Redis's clock, one for all of them).
///
/// Keys: `<prefix>:journal:entry:<key>`, a hash holding the intent (JSON), its move fingerprint,
/// its state (`staged`, `sending` since), the last outcome (JSON, and its kind) and the lease; `<prefix>:journal:open`, a sorted set of the open keys scored by
/// `created_at_ms`. Each operation is one Lua script (`record.lua`, `update.lua`, `lease.lua`,
/// `begin.lua`, `get.lua`, `open.lua` beside this file), so it is atomic among replicas. A closed entry leaves the open set
/// and is kept for [`DEFAULT_RETENTION`](super::DEFAULT_RETENTION) (see [`RedisJournal::retention`]); its track id stays
/// taken until then. The scripts use keys of several hash slots: a standalone Redis (or one
/// behind Sentinel), not a Redis Cluster.
///
/// # Durability
///
/// Redis acknowledges a write once it is in its memory. A Redis that crashes (or a primary that
/// fails over) right after acknowledging an intent loses it, and with it the proof that the money
/// move was sent. A fleet that needs an intent to survive a Redis crash must run Redis with
/// `appendonly yes` and `appendfsync always` (every write fsynced before the answer; the default
/// `everysec` can lose the last second), and, with replicas, have the primary `WAIT` for them
/// (this journal does not issue `WAIT` itself). Without that, prefer the
/// [`PostgresJournal`](super::PostgresJournal) or the [`FileJournal`](super::FileJournal).
///
/// When Redis cannot be reached, [`Journal::record`] fails within the connection's timeouts
/// (2 s) and the client refuses the money move before sending it.
#[derive(Clone)]
pub struct RedisJournal {
    inner: Arc<Inner>,
    /// How long a closed entry is kept (a copy's own: setting it never touches a clone).
    retention: Duration,
}

struct Inner {
    conn: RedisConnection,
    prefix: String,
    open_key: String,
    record: redis::Script,
    begin: redis::Script,
    get: redis::Script,
    update: redis::Script,
    lease: redis::Script,
    open: redis::Script,
    /// When this process last renewed its mark of life (ms since the epoch; 0: never).
    marked_ms: std::sync::atomic::AtomicU64,
    /// Whether the task renewing the mark runs.
    renewing: std::sync::atomic::AtomicBool,
}

/// How long this process's mark of life lasts unless renewed, and how often it is renewed.
const MARK_TTL: Duration = Duration::from_secs(6);
const MARK_RENEW: Duration = Duration::from_secs(2);

impl std::fmt::Debug for RedisJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisJournal").field("redis", &self.inner.conn.shown()).field("prefix", &self.inner.prefix).finish()
    }
}

impl RedisJournal {
    /// A journal at `url` (`redis://[:password@]host:port/db`) under `prefix` (one per business,
    /// e.g. `"vandar:my-shop"`; the same for every replica). Connects on first use.
    pub fn new(url: &str, prefix: &str) -> Result<Self, crate::error::Error> {
        Ok(Self {
            inner: Arc::new(Inner {
                conn: RedisConnection::open(url)?,
                prefix: prefix.to_string(),
                open_key: format!("{prefix}:journal:open"),
                record: redis::Script::new(include_str!("redis/record.lua")),
                begin: redis::Script::new(concat!(include_str!("redis/fields.lua"), include_str!("redis/begin.lua"))),
                get: redis::Script::new(concat!(include_str!("redis/fields.lua"), include_str!("redis/get.lua"))),
                update: redis::Script::new(include_str!("redis/update.lua")),
                lease: redis::Script::new(include_str!("redis/lease.lua")),
                open: redis::Script::new(include_str!("redis/open.lua")),
                marked_ms: Default::default(),
                renewing: Default::default(),
            }),
            retention: DEFAULT_RETENTION,
        })
    }

    /// How long a closed entry is kept (default [`DEFAULT_RETENTION`](super::DEFAULT_RETENTION)): until then its track id
    /// cannot be recorded again. Set on this value only: a clone made before keeps its own.
    pub fn retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    fn entry_prefix(&self) -> String {
        format!("{}:journal:entry:", self.inner.prefix)
    }

    fn entry_key(&self, key: &str) -> String {
        format!("{}{key}", self.entry_prefix())
    }

    fn mark_key(&self, sender: &str) -> String {
        format!("{}:journal:sender:{sender}", self.inner.prefix)
    }

    /// Renews this process's mark of life, `<prefix>:journal:sender:<sender id>` (expiring after
    /// [`MARK_TTL`]), when it is due, and starts the task that renews it while the journal lives.
    /// A plain `SET ... PX`: running it twice changes nothing. A mark that cannot be written only
    /// makes recovery look this process's entries up early (see [`Sender`](super::Sender)).
    async fn renew_mark(&self) {
        use std::sync::atomic::Ordering;
        let now = super::now_ms();
        if now.saturating_sub(self.inner.marked_ms.load(Ordering::Relaxed)) < MARK_RENEW.as_millis() as u64 {
            return;
        }
        if let Err(error) = Self::set_mark(&self.inner, &self.mark_key(super::this_process())).await {
            tracing::warn!(journal = %self.describe(), %error, "cannot renew this process's mark of life");
            return;
        }
        self.inner.marked_ms.store(now, Ordering::Relaxed);
        if !self.inner.renewing.swap(true, Ordering::Relaxed) {
            let (inner, key) = (Arc::downgrade(&self.inner), self.mark_key(super::this_process()));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(MARK_RENEW).await;
                    let Some(inner) = inner.upgrade() else { return };
                    if Self::set_mark(&inner, &key).await.is_ok() {
                        inner.marked_ms.store(super::now_ms(), Ordering::Relaxed);
                    }
                }
            });
        }
    }

    async fn set_mark(inner: &Inner, key: &str) -> io::Result<()> {
        let mut connection = inner.conn.get().await.map_err(io::Error::other)?;
        let mut set = redis::cmd("SET");
        set.arg(key).arg("1").arg("PX").arg(millis(MARK_TTL));
        set.query_async::<()>(&mut connection).await.map_err(|e| io::Error::other(inner.conn.failed(e)))
    }

    /// Runs `script` with `keys` and `args` on the shared connection.
    /// The entry `key` and the digest of its fields as stored ('' for none); an entry that does not
    /// read is an error naming the key and the field, never quoting it.
    async fn read(&self, key: &str) -> io::Result<(Option<Entry>, String)> {
        let entry_key = self.entry_key(key);
        let mut fields: Vec<String> = self.invoke(&self.inner.get, &[&entry_key], &[]).await?;
        match fields.as_slice() {
            [] => Ok((None, String::new())),
            [none, kind] if none.is_empty() => Err(io::Error::new(io::ErrorKind::InvalidData, format!("redis key {entry_key} holds a {kind}, not an entry hash; refused"))),
            _ => {
                let digest = fields.pop().unwrap_or_default();
                let entry = entry(&fields).map_err(|(field, why)| {
                    io::Error::new(io::ErrorKind::InvalidData, format!("redis key {entry_key} (field {field}) does not read: {why}; refused"))
                })?;
                Ok((Some(entry), digest))
            }
        }
    }

    async fn invoke<T: redis::FromRedisValue>(&self, script: &redis::Script, keys: &[&str], args: &[String]) -> io::Result<T> {
        let mut connection = self.inner.conn.get().await.map_err(io::Error::other)?;
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(*key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        invocation.invoke_async(&mut connection).await.map_err(|e| io::Error::other(self.inner.conn.failed(e)))
    }
}

fn millis(duration: Duration) -> String {
    duration.as_millis().min(i64::MAX as u128).to_string()
}

fn to_json<T: serde::Serialize>(value: &T) -> io::Result<String> {
    serde_json::to_string(value).map_err(io::Error::other)
}

/// `text` read as a `T`, or why not: where and what kind of problem, never the value (an IBAN, a body).
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| crate::secret::unquoted(&e, "JSON of the wrong shape"))
}

/// How often `begin` reads an entry again that another process changed meanwhile.
const BEGIN_ATTEMPTS: usize = 8;

/// The number of values `open.lua` returns per entry: its member, its type, and its hash fields.
const OPEN_FIELDS: usize = 8;

/// An entry from its hash fields `[intent, outcome, staged, sending, created, target]` ('' for none),
/// or which field does not read and why.
fn entry(fields: &[String]) -> Result<Entry, (&'static str, String)> {
    let [intent, outcome, staged, sending, created, target] = fields else {
        return Err(("", "the entry has the wrong number of fields".into()));
    };
    if intent.is_empty() {
        return Err(("intent", "the entry holds no intent".into()));
    }
    let mut intent: Intent = from_json(intent).map_err(|why| ("intent", why))?;
    // A staged intent learns where it goes when it is sent (begin.lua writes `target` then).
    if !target.is_empty() {
        intent.target = Some(from_json(target).map_err(|why| ("target", why))?);
    }
    let outcome = if outcome.is_empty() { None } else { Some(from_json(outcome).map_err(|why| ("outcome", why))?) };
    // Written before staging existed (no `staged`, no `sending`): sent since it was written, the safe
    // reading; so is a damaged `sending`.
    let sending_since_ms = match (staged.as_str(), sending.parse::<u64>()) {
        ("1", _) => None,
        (_, Ok(at)) => Some(at),
        _ => Some(created.parse().unwrap_or(intent.created_at_ms)),
    };
    Ok(Entry { intent, outcome, sending_since_ms })
}

impl RedisJournal {
    /// The open index read in one snapshot: the entries that read, and a report for each one that
    /// does not (a field that does not parse, a key of another type, an index member whose hash is gone).
    async fn scan(&self) -> io::Result<(Vec<Entry>, Vec<Damaged>)> {
        let values: Vec<String> = self.invoke(&self.inner.open, &[&self.inner.open_key], &[self.entry_prefix()]).await?;
        let (mut entries, mut damaged) = (Vec::new(), Vec::new());
        for chunk in values.chunks(OPEN_FIELDS) {
            let [member, kind, fields @ ..] = chunk else { continue };
            let position = |field: &str| {
                let key = self.entry_key(member);
                if field.is_empty() { format!("redis key {key}") } else { format!("redis key {key} (field {field})") }
            };
            let key = Some(member.clone());
            match kind.as_str() {
                "hash" => match entry(fields) {
                    Ok(read) => entries.push(read),
                    Err((field, why)) => damaged.push(Damaged { position: position(field), why, key }),
                },
                "none" => damaged.push(Damaged {
                    position: format!("{} (member {member})", self.inner.open_key),
                    why: "the open index names an entry whose hash is gone (deleted or evicted): a money move in doubt without its intent".into(),
                    key,
                }),
                other => damaged.push(Damaged { position: position(""), why: format!("holds a {other}, not an entry hash"), key }),
            }
        }
        Ok((entries, damaged))
    }
}

impl Journal for RedisJournal {
    fn describe(&self) -> String {
        format!("redis journal {} {}", self.inner.conn.shown(), self.inner.prefix)
    }

    fn record<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let entry = self.entry_key(&intent.key);
            let args = [to_json(intent)?, intent.created_at_ms.to_string(), intent.key.clone(), intent.fingerprint()];
            let staged: i64 = self.invoke(&self.inner.record, &[&entry, &self.inner.open_key], &args).await?;
            if staged == 1 { Ok(()) } else { Err(already_exists(&intent.key)) }
        })
    }

    fn begin<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, io::Result<Begin>> {
        Box::pin(async move {
            self.renew_mark().await;
            let entry = self.entry_key(&intent.key);
            let target = intent.target.as_ref().map(to_json).transpose()?.unwrap_or_default();
            // Read and decode the entry here (one that does not read is refused), then begin it
            // only if it is still what was read: the script compares the digest.
            for _ in 0..BEGIN_ATTEMPTS {
                let (read, digest) = self.read(&intent.key).await?;
                if let Some(held) = read.filter(|entry| !entry.accepts_send_of(intent)) {
                    return Ok(Begin::Held(Box::new(held)));
                }
                let mut args = vec![to_json(intent)?, intent.created_at_ms.to_string(), intent.key.clone(), intent.fingerprint(), target.clone(), digest];
                args.extend(RESENDABLE.iter().map(|kind| kind.to_string()));
                match self.invoke::<i64>(&self.inner.begin, &[&entry, &self.inner.open_key], &args).await? {
                    1 => return Ok(Begin::Sending),
                    0 => {
                        return match self.get(&intent.key).await? {
                            Some(held) => Ok(Begin::Held(Box::new(held))),
                            None => Err(io::Error::other(format!("the journal held {} and then did not", intent.key))),
                        }
                    }
                    _ => continue, // changed since it was read: read it again
                }
            }
            Err(io::Error::other(format!("{entry} changed {BEGIN_ATTEMPTS} times while it was being begun; nothing sent")))
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, io::Result<Option<Entry>>> {
        Box::pin(async move { Ok(self.read(key).await?.0) })
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> BoxFuture<'a, io::Result<()>> {
        Box::pin(async move {
            let entry = self.entry_key(key);
            let closes = if outcome.closes() { "1" } else { "0" };
            let args = [to_json(outcome)?, closes.to_string(), key.to_string(), millis(self.retention), outcome.kind().to_string()];
            let _recorded: i64 = self.invoke(&self.inner.update, &[&entry, &self.inner.open_key], &args).await?;
            Ok(())
        })
    }

    fn open(&self) -> BoxFuture<'_, io::Result<Vec<Entry>>> {
        Box::pin(async move {
            Ok(self.scan().await?.0)
        })
    }

    fn damaged(&self) -> BoxFuture<'_, io::Result<Vec<Damaged>>> {
        Box::pin(async move { Ok(self.scan().await?.1) })
    }

    fn lease<'a>(&'a self, key: &'a str, holder: &'a str, ttl: Duration) -> BoxFuture<'a, io::Result<bool>> {
        Box::pin(async move {
            let entry = self.entry_key(key);
            let args = [holder.to_string(), millis(ttl), key.to_string()];
            let taken: i64 = self.invoke(&self.inner.lease, &[&entry, &self.inner.open_key], &args).await?;
            Ok(taken == 1)
        })
    }

    /// A process is alive while its mark of life, renewed every 2 s, has not expired (6 s).
    fn sender<'a>(&'a self, sender: &'a str) -> BoxFuture<'a, io::Result<super::Sender>> {
        Box::pin(async move {
            if super::sender::parse(sender).is_none() {
                return Ok(super::Sender::Unknown);
            }
            let mut connection = self.inner.conn.get().await.map_err(io::Error::other)?;
            let mut exists = redis::cmd("EXISTS");
            exists.arg(self.mark_key(sender));
            let exists: i64 = exists.query_async(&mut connection).await.map_err(|e| io::Error::other(self.inner.conn.failed(e)))?;
            Ok(if exists == 1 { super::Sender::Alive } else { super::Sender::Gone })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_set_on_a_clone_without_panicking_or_touching_the_other() {
        // No server: the connection opens on first use.
        let journal = RedisJournal::new("redis://127.0.0.1:1", "p").unwrap();
        let kept = journal.clone();
        let changed = journal.retention(Duration::from_secs(60));
        assert_eq!((changed.retention, kept.retention), (Duration::from_secs(60), DEFAULT_RETENTION));
    }
}
