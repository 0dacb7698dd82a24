//! One lazily opened, self-reconnecting Redis connection (feature `redis`), shared by the
//! [`crate::auth::RedisTokenStore`], the Redis-backed [`crate::rate_limit::RateLimits`] and the
//! [`crate::journal::RedisJournal`].
//!
//! Lazy, so a process may start before Redis does; every command is bounded by a timeout, so a
//! Redis that hangs fails the call with a clear error instead of stalling it.
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

/// How long a Redis command or connection attempt may take before the call fails.
const TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) struct RedisConnection {
    client: redis::Client,
    connection: OnceCell<ConnectionManager>,
    /// `host:port/db`, for messages (never the password).
    shown: String,
}

impl RedisConnection {
    pub(crate) fn open(url: &str) -> Result<Self, crate::error::Error> {
        let client = redis::Client::open(url).map_err(|e| crate::error::Error::invalid("redis url", e.to_string()))?;
        let info = client.get_connection_info();
        let shown = format!("{}/{}", info.addr(), info.redis_settings().db());
        Ok(Self { client, connection: OnceCell::new(), shown })
    }

    /// The connection, opened on first use.
    pub(crate) async fn get(&self) -> Result<ConnectionManager, String> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1);
        self.connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await
            .cloned()
            .map_err(|e| self.failed(e))
    }

    /// Runs `command` on the connection. When the connection is found broken (Redis restarted,
    /// the socket dropped while idle), the command is run once more on the reconnected one, so the
    /// first call after Redis is back succeeds instead of failing once per process.
    ///
    /// A command that may have run before the connection broke runs twice: every caller's command
    /// is safe to repeat (a permit reserved twice wastes a slot and never exceeds the budget; a
    /// compare-and-set or a read answers the same).
    pub(crate) async fn run<T, Fut>(&self, command: impl Fn(ConnectionManager) -> Fut) -> Result<T, String>
    where
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let connection = self.get().await?;
        match command(connection.clone()).await {
            Ok(value) => Ok(value),
            Err(error) if is_broken(&error) => {
                tracing::info!(redis = %self.shown, %error, "the Redis connection was broken; running the command again on a new one");
                command(connection).await.map_err(|e| self.failed(e))
            }
            Err(error) => Err(self.failed(error)),
        }
    }

    /// A connection of its own, for a blocking command (`BLPOP`) that must not hold up the shared
    /// one.
    pub(crate) async fn dedicated(&self) -> Result<redis::aio::MultiplexedConnection, String> {
        let config = redis::AsyncConnectionConfig::new().set_connection_timeout(Some(TIMEOUT)).set_response_timeout(None);
        self.client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| self.failed(e))
    }

    /// `host:port/db` (never the password).
    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// Describes a Redis failure: which server, what happened.
    pub(crate) fn failed(&self, error: redis::RedisError) -> String {
        format!("Redis at {} failed: {error}", self.shown)
    }
}

/// Whether Redis itself answered `error` (a wrong type, a script's refusal), as opposed to the
/// connection breaking or timing out: the answer of a server that was reached.
pub(crate) fn answered(error: &redis::RedisError) -> bool {
    !is_broken(error) && !error.is_timeout()
}

/// Whether `error` says the connection broke (the command may not have reached Redis), as
/// opposed to Redis answering with an error.
fn is_broken(error: &redis::RedisError) -> bool {
    error.is_connection_dropped() || error.is_io_error() || error.is_unrecoverable_error()
}
