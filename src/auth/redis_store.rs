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
/// another's lock. Waiters do not poll: each registers (`<prefix>:tokens:waiters`) and blocks on
/// `BLPOP <prefix>:tokens:wake` on a connection of its own; a release hands the lock on with one
/// wake token while waiters are registered (the next holder adopts the renewed pair and releases
/// at once). So a renewal costs Redis a few commands per process, however long it takes (a
/// blocked wait gives up after a second and tries the lock again, should a wake be lost). Saving is fenced (`save_pair.lua`): a pair no newer than the stored one is
/// refused, so a holder that stalled past its lease cannot overwrite a newer pair.
///
/// When Redis cannot be reached, calls that need a token fail with [`crate::Error::Unavailable`];
/// the client never falls back to a pair Redis may have superseded.
#[derive(Clone)]
pub struct RedisTokenStore {
    inner: Arc<Inner>,
    /// The renewal lock's lease (a copy's own: setting it never touches a clone).
    lease: Duration,
}

struct Inner {
    conn: RedisConnection,
    pair_key: String,
    lock_key: String,
    waiters_key: String,
    wake_key: String,
    release: redis::Script,
    save: redis::Script,
    take: redis::Script,
    add_waiter: redis::Script,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTokenStore").field("pair_key", &self.inner.pair_key).field("lease", &self.lease).finish()
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
                waiters_key: format!("{prefix}:tokens:waiters"),
                wake_key: format!("{prefix}:tokens:wake"),
                release: redis::Script::new(include_str!("redis/release_lock.lua")),
                save: redis::Script::new(include_str!("redis/save_pair.lua")),
                take: redis::Script::new(include_str!("redis/take_lock.lua")),
                add_waiter: redis::Script::new(include_str!("redis/add_waiter.lua")),
            }),
            lease: DEFAULT_LEASE,
        })
    }

    /// How long the renewal lock lasts if its holder never releases it (crashed, partitioned).
    /// Waiting for the lock gives up after twice the lease.
    /// Set on this value only: a clone made before keeps its own.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
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
                    async move { inner.save.key(&inner.pair_key).arg(encoded).arg(pair.generation.to_string()).invoke_async(&mut connection).await }
                })
                .await
                .map_err(io_error)?;
            if stored == 2 {
                tracing::warn!(key = %inner.pair_key, "replaced a stored token pair that did not read (damaged or planted)");
            }
            Ok(if stored == 0 { Saved::Superseded } else { Saved::Stored })
        })
    }

    fn lock(&self) -> BoxFuture<'_, io::Result<RenewalLock>> {
        Box::pin(async move {
            let inner = self.inner.clone();
            let (lease, wait) = (self.lease, self.lease.saturating_mul(2));
            let owner = uuid::Uuid::new_v4().simple().to_string();
            let deadline = tokio::time::Instant::now() + wait;
            let lease_ms = lease.as_millis() as u64;
            let options = redis::SetOptions::default()
                .conditional_set(redis::ExistenceCheck::NX)
                .with_expiration(redis::SetExpiry::PX(lease_ms));
            // `take_over`: also take a lock that never expires (checked once a waiter has waited
            // its whole wait, so the common path costs what a plain SET NX and a GET cost).
            let try_lock = |take_over: bool| {
                let (inner, owner, options) = (&inner, &owner, options.clone());
                async move {
                    let taken: i64 = inner
                        .conn
                        .run(|mut connection| {
                            let options = options.clone();
                            async move {
                                let taken: Option<String> = connection.set_options(&inner.lock_key, owner, options).await?;
                                if taken.is_some() {
                                    return Ok(1);
                                }
                                // A SET that ran before the connection broke: the lock is ours already.
                                let holder: redis::RedisResult<Option<String>> = connection.get(&inner.lock_key).await;
                                match holder {
                                    Ok(holder) if holder.as_deref() == Some(owner.as_str()) => Ok(1),
                                    Ok(_) if !take_over => Ok(0),
                                    Err(e) if !crate::redis_connection::answered(&e) => Err(e),
                                    // Another type at the key (GET failed), or the whole wait is over.
                                    _ => inner.take.key(&inner.lock_key).arg(owner).arg(lease_ms).invoke_async(&mut connection).await,
                                }
                            }
                        })
                        .await
                        .map_err(io_error)?;
                    if taken == 2 {
                        tracing::warn!(key = %inner.lock_key, "took over a token renewal lock that was not a live lock (another type, or no expiry: damaged or planted)");
                    }
                    Ok::<bool, io::Error>(taken != 0)
                }
            };
            if try_lock(false).await? {
                return Ok(inner.release_lock(owner, lease));
            }
            // Register as a waiter before trying again, so a release between the two wakes us. A
            // count that is not an integer (INCR fails) is started again by `add_waiter.lua`.
            let (waiters, add_waiter) = (&inner.waiters_key, &inner.add_waiter);
            inner
                .conn
                .run(|mut connection| async move {
                    let registered =
                        redis::pipe().incr(waiters, 1).ignore().pexpire(waiters, lease_ms as i64 * 2).ignore().query_async::<()>(&mut connection).await;
                    match registered {
                        Err(e) if crate::redis_connection::answered(&e) => {
                            add_waiter.key(waiters).arg(lease_ms * 2).invoke_async::<i64>(&mut connection).await.map(drop)
                        }
                        other => other,
                    }
                })
                .await
                .map_err(io_error)?;
            let waited = async {
                let mut blocking = inner.conn.dedicated().await.map_err(io_error)?;
                loop {
                    if try_lock(false).await? {
                        return Ok(());
                    }
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if left.is_zero() {
                        // The whole wait is over: a lock that never expires is taken over now.
                        if try_lock(true).await? {
                            return Ok(());
                        }
                        return Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            format!("another process has held the token renewal lock for over {wait:?}"),
                        ));
                    }
                    let block = left.min(Duration::from_secs(1)).as_secs_f64();
                    let woken: redis::RedisResult<Option<(String, String)>> = blocking.blpop(&inner.wake_key, block).await;
                    match woken {
                        Ok(_) => {}
                        Err(e) if !crate::redis_connection::answered(&e) => return Err(io_error(inner.conn.failed(e))),
                        // Redis answered with an error (the wake list holds another type): wait the
                        // second without it; the next release replaces the list.
                        Err(error) => {
                            tracing::warn!(key = %inner.wake_key, %error, "the token renewal wake list does not read; waiting without it");
                            tokio::time::sleep(Duration::from_secs_f64(block)).await;
                        }
                    }
                }
            }
            .await;
            let unregistered: Result<(), String> =
                inner.conn.run(|mut connection| async move { connection.decr::<_, _, ()>(waiters, 1).await }).await;
            if let Err(error) = unregistered {
                tracing::warn!(%error, "could not unregister as a waiter for the token renewal lock");
            }
            waited?;
            Ok(inner.release_lock(owner, lease))
        })
    }
}

impl Inner {
    /// The lock held by `owner`, released (and its waiters woken) by `release_lock.lua`.
    fn release_lock(self: &Arc<Self>, owner: String, lease: Duration) -> RenewalLock {
        let inner = self.clone();
        RenewalLock::new(move || {
            Box::pin(async move {
                let (inner, owner) = (&inner, &owner);
                inner
                    .conn
                    .run(|mut connection| async move {
                        inner
                            .release
                            .key(&inner.lock_key)
                            .key(&inner.waiters_key)
                            .key(&inner.wake_key)
                            .arg(owner)
                            .arg(lease.as_millis() as u64)
                            .invoke_async::<i64>(&mut connection)
                            .await
                    })
                    .await
                    .map_err(io_error)?;
                Ok(())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_is_set_on_a_clone_without_panicking_or_touching_the_other() {
        // No server: the connection opens on first use.
        let store = RedisTokenStore::new("redis://127.0.0.1:1", "p").unwrap();
        let kept = store.clone();
        let changed = store.lease(Duration::from_secs(3));
        assert_eq!((changed.lease, kept.lease), (Duration::from_secs(3), DEFAULT_LEASE));
    }
}
