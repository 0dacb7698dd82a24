//! The Redis-backed budget: one sorted set per budget, reserved through `sliding_window.lua`.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::LimiterUnavailable;
use crate::redis_connection::RedisConnection;

pub(super) struct RedisLimiter {
    conn: RedisConnection,
    script: redis::Script,
    rebase: redis::Script,
    post_key: String,
    other_key: String,
    post: u32,
    other: u32,
    /// Vandar's window.
    window: Duration,
    /// Window plus margin, in ms.
    span_ms: u64,
    /// Unique members: this limiter's id and a counter.
    id: String,
    counter: AtomicU64,
}

impl RedisLimiter {
    pub(super) fn new(url: &str, prefix: String, post: u32, other: u32, window: Duration, margin: Duration) -> Result<Self, crate::error::Error> {
        Ok(Self {
            conn: RedisConnection::open(url)?,
            script: redis::Script::new(include_str!("sliding_window.lua")),
            rebase: redis::Script::new(include_str!("rebase.lua")),
            post_key: format!("{prefix}:rate:post"),
            other_key: format!("{prefix}:rate:other"),
            post: post.max(1),
            other: other.max(1),
            window,
            span_ms: (window + margin).as_millis() as u64,
            id: uuid::Uuid::new_v4().simple().to_string(),
            counter: AtomicU64::new(0),
        })
    }

    pub(super) fn set_margin(&mut self, margin: Duration) {
        self.span_ms = (self.window + margin).as_millis() as u64;
    }

    pub(super) async fn acquire(&self, post: bool) -> Result<(), LimiterUnavailable> {
        let (key, limit) = if post { (&self.post_key, self.post) } else { (&self.other_key, self.other) };
        let unavailable = |message: String| {
            LimiterUnavailable(format!("the shared rate limiter could not grant a permit ({message}); nothing was sent"))
        };
        let mut connection = self.conn.get().await.map_err(unavailable)?;
        loop {
            let member = format!("{}:{}", self.id, self.counter.fetch_add(1, Ordering::Relaxed));
            // Redis chose the slot `wait` after its own "now", which lies somewhere between sending
            // and receiving: wake at the latest reading (never early, which would squeeze the
            // window before), and count the round trip as lateness (a late send is moved to its
            // real time by `rebase.lua`, or its slot given up; see `super::LATE_WAKE`).
            let sent = tokio::time::Instant::now();
            let wait_ms: u64 = self
                .script
                .key(key)
                .arg(limit)
                .arg(self.span_ms)
                .arg(&member)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| unavailable(self.conn.failed(e)))?;
            let wait = Duration::from_millis(wait_ms);
            if wait_ms == 0 {
                return Ok(()); // a free slot now: no timer (tokio's resolution is 1 ms)
            }
            tokio::time::sleep(wait).await;
            let slot = sent + wait;
            if tokio::time::Instant::now() <= slot + super::LATE_WAKE {
                return Ok(());
            }
            let moved: i64 = self
                .rebase
                .key(key)
                .arg(&member)
                .arg(limit)
                .arg(self.span_ms)
                .invoke_async(&mut connection)
                .await
                .map_err(|e| unavailable(self.conn.failed(e)))?;
            if moved == 1 {
                return Ok(());
            }
        }
    }
}
