//! The Redis-backed budget: one sorted set per budget, reserved through `sliding_window.lua`.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::{Lane, LimiterUnavailable};
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

    pub(super) fn limits(&self) -> (u32, u32) {
        (self.post, self.other)
    }

    pub(super) fn set_margin(&mut self, margin: Duration) {
        self.span_ms = (self.window + margin).as_millis() as u64;
    }

    pub(super) async fn acquire(&self, post: bool, lane: Lane, reserve: u32, deadline: Option<tokio::time::Instant>) -> Result<(), Refusal> {
        let (key, limit) = if post { (&self.post_key, self.post) } else { (&self.other_key, self.other) };
        let unavailable = |message: String| {
            Refusal::Unavailable(LimiterUnavailable(format!(
                "the shared rate limiter could not grant a permit ({message}); nothing was sent"
            )))
        };
        let lane_arg = if lane == Lane::Background { "b" } else { "i" };
        loop {
            let member = format!("{}:{}", self.id, self.counter.fetch_add(1, Ordering::Relaxed));
            let member = member.as_str();
            let max_wait: i64 = match deadline {
                Some(deadline) => {
                    i64::try_from(deadline.saturating_duration_since(tokio::time::Instant::now()).as_millis()).unwrap_or(i64::MAX)
                }
                None => -1,
            };
            // Redis chose the slot `wait` after its own "now", which lies somewhere between sending
            // and receiving: wake at the latest reading (never early, which would squeeze the
            // window before), and count the round trip as lateness (a late send is moved to its
            // real time by `rebase.lua`, or its slot given up; see `super::LATE_WAKE`).
            let sent = tokio::time::Instant::now();
            let (granted, wait_ms): (i64, i64) = self
                .conn
                .run(|mut connection| async move {
                    self.script
                        .key(key)
                        .key(format!("{key}:interactive"))
                        .arg(limit)
                        .arg(self.span_ms)
                        .arg(member)
                        .arg(lane_arg)
                        .arg(reserve)
                        .arg(max_wait)
                        .arg(self.span_ms * u64::from(super::RESERVE_HELD_FOR_WINDOWS))
                        .invoke_async(&mut connection)
                        .await
                })
                .await
                .map_err(unavailable)?;
            if granted == 0 {
                // Background: no free slot now; ask again when one leaves the span (or give up at
                // the deadline). Interactive: the slot would come past the deadline.
                let retry = sent + Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
                if wait_ms < 0 || deadline.is_some_and(|d| retry > d) {
                    return Err(Refusal::Deadline);
                }
                tokio::time::sleep_until(retry).await;
                continue;
            }
            let wait = Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
            if wait.is_zero() {
                return Ok(()); // a free slot now: no timer (tokio's resolution is 1 ms)
            }
            tokio::time::sleep(wait).await;
            let slot = sent + wait;
            if tokio::time::Instant::now() <= slot + super::LATE_WAKE {
                return Ok(());
            }
            let moved: i64 = self
                .conn
                .run(|mut connection| async move {
                    self.rebase.key(key).arg(member).arg(limit).arg(self.span_ms).invoke_async(&mut connection).await
                })
                .await
                .map_err(unavailable)?;
            if moved == 1 {
                return Ok(());
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() > d) {
                return Err(Refusal::Deadline);
            }
        }
    }
}

/// Why the shared limiter gave no permit.
pub(super) enum Refusal {
    Unavailable(LimiterUnavailable),
    Deadline,
}
