use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;

use crate::secret::Secret;

/// An access and refresh token pair of the business API.
#[derive(Clone, Debug, PartialEq)]
pub struct TokenPair {
    /// Bearer token for the business API and batch hosts.
    pub access_token: Secret,
    /// One-use token that renews the pair (lives about 10 days).
    pub refresh_token: Secret,
    /// When the access token expires; `None` = unknown (renewed only on a 401).
    pub expires_at: Option<SystemTime>,
    /// Place in the lineage of renewals: a pair from the dashboard (your configuration) is 0, and
    /// every renewal saves the pair it renewed from plus one. Of two pairs, the higher generation
    /// is the newer; a store never replaces a pair with one of the same or a lower generation.
    pub generation: u64,
}

impl TokenPair {
    /// A pair as issued in the dashboard (generation 0).
    pub fn new(access_token: impl Into<Secret>, refresh_token: impl Into<Secret>, expires_at: Option<SystemTime>) -> Self {
        Self { access_token: access_token.into(), refresh_token: refresh_token.into(), expires_at, generation: 0 }
    }

    /// The same pair at `generation` (stores use it when they read a pair back).
    pub fn with_generation(mut self, generation: u64) -> Self {
        self.generation = generation;
        self
    }
}

/// What [`TokenStore::save`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Saved {
    /// The pair is stored.
    Stored,
    /// Not stored: the store already holds a pair of the same or a later generation.
    Superseded,
}

/// Held while one process renews the business tokens; other processes wait in
/// [`TokenStore::lock`] until it is released. Built by a store from whatever releases its lock.
#[must_use = "the lock is held until released"]
pub struct RenewalLock {
    release: Option<Box<dyn FnOnce() -> BoxFuture<'static, io::Result<()>> + Send>>,
}

impl RenewalLock {
    /// A lock released by running `release` (which may fail, e.g. a database gone away).
    pub fn new(release: impl FnOnce() -> BoxFuture<'static, io::Result<()>> + Send + 'static) -> Self {
        Self { release: Some(Box::new(release)) }
    }

    /// No lock beyond the client's own: a store used by one process.
    pub fn none() -> Self {
        Self { release: None }
    }

    /// Releases the lock.
    pub async fn release(mut self) -> io::Result<()> {
        match self.release.take() {
            Some(release) => release().await,
            None => Ok(()),
        }
    }
}

impl std::fmt::Debug for RenewalLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenewalLock").field("held", &self.release.is_some()).finish()
    }
}

/// Where the business token pair lives, shared by every process that uses the same business.
///
/// Vandar rotates the refresh token on every renewal: the old one is refused afterwards. So the
/// client treats the store as the truth and the configured pair only as a seed:
///
/// 1. Before the first call it [`load`](TokenStore::load)s the store; a stored pair of a higher
///    [`generation`](TokenPair::generation) than the configured one wins (a restart keeps the
///    renewed lineage instead of going back to the rotated-away dashboard pair).
/// 2. To renew, it takes the [`lock`](TokenStore::lock), loads the store again, and if another
///    process already renewed (a higher generation is stored) adopts that pair without calling
///    Vandar. Otherwise it renews, [`save`](TokenStore::save)s the new pair (generation + 1) and
///    only then uses it, then releases the lock.
/// 3. A refused refresh token loads the store once more before it is reported as a lockout.
///
/// # Implementing it for your database
///
/// * `load`: the stored pair with its generation, or `None`.
/// * `save`: store the pair unless the stored generation is the same or higher (then answer
///   [`Saved::Superseded`]); do the compare and the write atomically (`UPDATE … WHERE generation <
///   $new`, or a transaction). This fence is what keeps a process that stalled past its lock
///   from overwriting a newer pair.
/// * `lock`: a lock every process of the business shares (a row lock held by a transaction, a
///   PostgreSQL advisory lock, …), returned as a [`RenewalLock`] that releases it. Give it a lease
///   (a timeout) if a crashed holder would otherwise keep it. The default is
///   [`RenewalLock::none`], right for a store only one process uses.
///
/// [`MemoryTokenStore`] (one process), [`FileTokenStore`] (processes on one machine) and, with
/// the `redis` feature, [`crate::auth::RedisTokenStore`] (processes on many machines) ship here.
pub trait TokenStore: Send + Sync + 'static {
    /// The stored pair, if any.
    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>>;

    /// Persists `pair` durably unless a pair of the same or a later generation is stored (see
    /// the trait docs). The client uses a new pair only after this returns [`Saved::Stored`].
    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<Saved>>;

    /// Waits for the renewal lock that every process sharing this store respects.
    fn lock(&self) -> BoxFuture<'_, io::Result<RenewalLock>> {
        Box::pin(async { Ok(RenewalLock::none()) })
    }
}

impl<S: TokenStore> TokenStore for Arc<S> {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>> {
        (**self).load()
    }

    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<Saved>> {
        (**self).save(pair)
    }

    fn lock(&self) -> BoxFuture<'_, io::Result<RenewalLock>> {
        (**self).lock()
    }
}

/// Keeps the pair in memory (tests, short-lived processes). Clients in one process that share it
/// (through an `Arc`) share one lineage and renew one at a time.
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    pair: Mutex<Option<TokenPair>>,
    renewal: Arc<tokio::sync::Mutex<()>>,
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>> {
        let pair = self.pair.lock().expect("store lock").clone();
        Box::pin(async move { Ok(pair) })
    }

    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<Saved>> {
        let mut stored = self.pair.lock().expect("store lock");
        let saved = if stored.as_ref().is_some_and(|s| s.generation >= pair.generation) {
            Saved::Superseded
        } else {
            *stored = Some(pair.clone());
            Saved::Stored
        };
        Box::pin(async move { Ok(saved) })
    }

    fn lock(&self) -> BoxFuture<'_, io::Result<RenewalLock>> {
        let renewal = self.renewal.clone();
        Box::pin(async move {
            let guard = renewal.lock_owned().await;
            Ok(RenewalLock::new(move || {
                drop(guard);
                Box::pin(async { Ok(()) })
            }))
        })
    }
}

/// Keeps the pair in a JSON file, replaced atomically (write a temporary file, fsync, rename,
/// fsync the directory) and readable by its owner only (on Unix). Processes on one machine that
/// use the same path share one lineage: renewal is serialized by an OS lock (`flock`) on
/// `<path>.lock`, which the OS releases if the holder dies.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    fn lock_path(&self) -> PathBuf {
        let mut name = self.path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "vandar-tokens".into());
        name.push(".lock");
        self.path.with_file_name(name)
    }
}

/// The stored form of a pair (the file's content, the Redis value).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredPair {
    access_token: String,
    refresh_token: String,
    expires_at_unix: Option<u64>,
    /// Files written before generations existed were written by a renewal: generation 1.
    #[serde(default = "renewed_once")]
    generation: u64,
}

fn renewed_once() -> u64 {
    1
}

impl StoredPair {
    pub(crate) fn encode(pair: &TokenPair) -> Vec<u8> {
        let stored = StoredPair {
            access_token: pair.access_token.expose().to_string(),
            refresh_token: pair.refresh_token.expose().to_string(),
            expires_at_unix: pair.expires_at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()),
            generation: pair.generation,
        };
        serde_json::to_vec(&stored).expect("a stored pair serializes")
    }

    pub(crate) fn decode(bytes: &[u8]) -> io::Result<TokenPair> {
        // serde's message may quote the value it could not read (a token): only where and what kind.
        let stored: StoredPair = serde_json::from_slice(bytes).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("stored token pair {}; refused", crate::secret::unquoted(&e, "not a token pair")))
        })?;
        let expires_at = match stored.expires_at_unix {
            None => None,
            Some(seconds) => Some(UNIX_EPOCH.checked_add(Duration::from_secs(seconds)).ok_or_else(|| {
                io::Error::new(io::ErrorKind::InvalidData, "stored token pair: expires_at_unix is out of range; refused")
            })?),
        };
        if stored.generation > MAX_GENERATION {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "stored token pair: generation is beyond its 15-digit maximum; refused"));
        }
        Ok(TokenPair::new(stored.access_token, stored.refresh_token, expires_at).with_generation(stored.generation))
    }
}

/// The highest token generation a store holds (15 digits: below 2^53, so the Redis store's Lua
/// compares it exactly). At a renewal an hour that is beyond any lifetime; a stored pair past it was
/// written by something else and is refused.
pub const MAX_GENERATION: u64 = 999_999_999_999_999;

impl TokenStore for FileTokenStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>> {
        let path = self.path.clone();
        Box::pin(async move { blocking(move || read_pair(&path)).await })
    }

    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<Saved>> {
        let path = self.path.clone();
        let (bytes, generation) = (StoredPair::encode(pair), pair.generation);
        // The compare and the write are atomic among processes that hold the renewal lock, which
        // is how the client calls it.
        Box::pin(async move {
            blocking(move || {
                if read_pair(&path)?.is_some_and(|stored| stored.generation >= generation) {
                    return Ok(Saved::Superseded);
                }
                write_atomically(&path, &bytes).map(|()| Saved::Stored)
            })
            .await
        })
    }

    fn lock(&self) -> BoxFuture<'_, io::Result<RenewalLock>> {
        let path = self.lock_path();
        Box::pin(async move {
            let file = blocking(move || {
                let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
                file.lock()?;
                Ok(file)
            })
            .await?;
            Ok(RenewalLock::new(move || Box::pin(async move { file.unlock() })))
        })
    }
}

async fn blocking<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    tokio::task::spawn_blocking(work).await.map_err(io::Error::other)?
}

fn read_pair(path: &std::path::Path) -> io::Result<Option<TokenPair>> {
    let what = "token file";
    let bytes = crate::local_file::read_bounded(path, crate::local_file::TOKEN_FILE_LIMIT, what)?;
    bytes
        .map(|bytes| {
            StoredPair::decode(&bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{} ({}): {e}", what, path.display())))
        })
        .transpose()
}

fn write_atomically(path: &std::path::Path, bytes: &[u8]) -> io::Result<()> {
    // 0600 from the first byte: the file holds the refresh token.
    crate::local_file::replace(path, bytes, crate::local_file::mode_of(path, 0o600))
}
