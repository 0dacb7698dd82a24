//! [`RedisTokenStore`]: one token lineage for every process of a business, on any machine.
use std::io;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use redis::AsyncCommands;

use super::store::StoredPair;
use super::{RenewalLock, Saved, TokenPair, TokenStore};
use crate::redis_connection::RedisConnection;

/// Keeps the business token pair in Redis, for processes on several machines (replicas, pods).
///
/// Keys: `<prefix>:tokens` (the pair as JSON, with its generation) and `<prefix>:tokens:lock`.
/// The renewal lock is `SET NX PX <lease>` with a random owner token, released by
/// compare-and-delete (`release_lock.lua`), so a holder whose lease ran out never releases
/// another's lock. Saving is fenced (`save_pair.lua`): a pair no newer than the stored one is
/// refused, so a holder that stalled past its lease cannot overwrite a newer pair.
///
/// When Redis cannot be reached, calls that need a token fail with [`crate::Error::Unavailable`];
/// the client never falls back to a pair Redis may have superseded.
#[derive(Clone)]
pub struct RedisTokenStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: RedisConnection,
    pair_key: String,
    lock_key: String,
    lease: Duration,
    wait: Duration,
    release: redis::Script,
    save: redis::Script,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenStore").field("pair_key", &self.inner.pair_key).field("lease", &self.inner.lease).finish()
    }
}

/// How long a renewal may hold the lock by default: a refresh call and a save, with room to spare.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(15);

impl RedisTokenStore {
    /// A store at `url` (`redis://[:password@]host:port/db`) under `key_prefix` (one per
    /// business, e.g. `"vandar:my-shop"`), with a [`DEFAULT_LEASE`] lock. Connects on first use.
    pub fn new(url: &str, key_prefix: impl Into<String>) -> Result<Self, crate::error::Error> {
        let prefix = key_prefix.into();
        Ok(Self {
            inner: Arc::new(Inner {
                conn: RedisConnection::open(url)?,
                pair_key: format!("{prefix}:tokens"),
                lock_key: format!("{prefix}:tokens:lock"),
                lease: DEFAULT_LEASE,
                wait: DEFAULT_LEASE * 2,
                release: redis::Script::new(include_str!("redis/release_lock.lua")),
                save: redis::Script::new(include_str!("redis/save_pair.lua")),
            }),
        })
    }

    /// How long the renewal lock lasts if its holder never releases it (crashed, partitioned).
    /// Waiting for the lock gives up after twice the lease.
    pub fn lease(mut self, lease: Duration) -> Self {
        let inner = Arc::get_mut(&mut self.inner).expect("configured before it is shared");
        inner.lease = lease;
        inner.wait = lease * 2;
        self
    }
}

fn io_error(message: String) -> io::Error {
    io::Error::other(message)
}

impl TokenStore for RedisTokenStore {
    fn load(&self) -> BoxFuture<'_, io::Result<Option<TokenPair>>> {
        Box::pin(async move {
            let key = &self.inner.pair_key;
            let bytes: Option<Vec<u8>> =
                self.inner.conn.run(|mut connection| async move { connection.get(key).await }).await.map_err(io_error)?;
            bytes.map(|b| StoredPair::decode(&b)).transpose()
        })
    }

    fn save<'a>(&'a self, pair: &'a TokenPair) -> BoxFuture<'a, io::Result<Saved>> {
        Box::pin(async move {
            let (inner, encoded) = (&self.inner, StoredPair::encode(pair));
            let stored: i64 = inner
                .conn
                .run(|mut connection| {
                    let encoded = encoded.clone();
                    async move { inner.save.key(&inner.pair_key).arg(encoded).arg(pair.generation).invoke_async(&mut connection).await }
                })
                .await
                .map_err(io_error)?;
            Ok(if stored == 1 { Saved::Stored } else { Saved::Superseded })
        })
    }

    fn lock(&self) -> BoxFuture<'_, io::Result<RenewalLock>> {
        Box::pin(async move {
            let inner = self.inner.clone();
            let owner = uuid::Uuid::new_v4().simple().to_string();
            let mut connection = inner.conn.get().await.map_err(io_error)?;
            let deadline = tokio::time::Instant::now() + inner.wait;
            let options = redis::SetOptions::default()
                .conditional_set(redis::ExistenceCheck::NX)
                .with_expiration(redis::SetExpiry::PX(inner.lease.as_millis() as u64));
            loop {
                let taken: Option<String> = connection
                    .set_options(&inner.lock_key, &owner, options.clone())
                    .await
                    .map_err(|e| io_error(inner.conn.failed(e)))?;
                if taken.is_some() {
                    break;
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!("another process has held the token renewal lock for over {:?}", inner.wait),
                    ));
                }
                // Short polls: while one process renews, the others hand out a token Vandar is about
                // to replace, so they should adopt the new pair soon after it is saved.
                tokio::time::sleep(Duration::from_millis(2 + fastrand::u64(0..4))).await;
            }
            Ok(RenewalLock::new(move || {
                Box::pin(async move {
                    let mut connection = inner.conn.get().await.map_err(io_error)?;
                    let _released: i64 = inner
                        .release
                        .key(&inner.lock_key)
                        .arg(&owner)
                        .invoke_async(&mut connection)
                        .await
                        .map_err(|e| io_error(inner.conn.failed(e)))?;
                    Ok(())
                })
            }))
        })
    }
}
