//! The Redis-backed budget: one sorted set per budget, taken through `sliding_window.lua` and
//! confirmed through `confirm.lua`.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{Lane, LimiterUnavailable, Priority, LATE_WAKE};
use crate::redis_connection::RedisConnection;

/// After a 429 with no Retry-After: the budget pauses fleet-wide until it is later than this.
const PAUSE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local until_ms = now + tonumber(ARGV[1])
if until_ms > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(until_ms), 'PX', math.ceil(tonumber(ARGV[1])))
end
return 1
";

pub(super) struct RedisLimiter {
    conn: RedisConnection,
    take: redis::Script,
    confirm: redis::Script,
    pause: redis::Script,
    post_key: String,
    other_key: String,
    post: u32,
    other: u32,
    /// Vandar's window.
    window: Duration,
    /// Window plus margin, in ms.
    span_ms: f64,
    /// Unique members: this limiter's id and a counter.
    id: String,
    counter: AtomicU64,
    /// One background waiter per budget in this process at a time (first come, first served
    /// among them; the others wait here instead of polling Redis).
    background: [tokio::sync::Mutex<()>; 2],
}

/// What `confirm.lua` answered.
pub(super) enum Confirmed {
    Go,
    Later(Duration),
    Retake,
}

impl RedisLimiter {
    pub(super) fn new(url: &str, prefix: String, post: u32, other: u32, window: Duration, margin: Duration) -> Result<Self, crate::error::Error> {
        Ok(Self {
            conn: RedisConnection::open(url)?,
            take: redis::Script::new(include_str!("sliding_window.lua")),
            confirm: redis::Script::new(include_str!("confirm.lua")),
            pause: redis::Script::new(PAUSE),
            post_key: format!("{prefix}:rate:post"),
            other_key: format!("{prefix}:rate:other"),
            post: post.max(1),
            other: other.max(1),
            window,
            span_ms: (window + margin).as_secs_f64() * 1e3,
            id: uuid::Uuid::new_v4().simple().to_string(),
            counter: AtomicU64::new(0),
            background: Default::default(),
        })
    }

    pub(super) fn limits(&self) -> (u32, u32) {
        (self.post, self.other)
    }

    pub(super) fn set_margin(&mut self, margin: Duration) {
        self.span_ms = (self.window + margin).as_secs_f64() * 1e3;
    }

    fn budget(&self, post: bool) -> (&str, u32) {
        if post { (&self.post_key, self.post) } else { (&self.other_key, self.other) }
    }

    /// A slot of the `post` or other budget for `priority`: the member holding it and when (this
    /// process's clock) it is for.
    pub(super) async fn acquire(&self, post: bool, priority: Priority, reserve: u32, deadline: Option<Instant>) -> Result<(String, Instant), Refusal> {
        let (key, limit) = self.budget(post);
        let class = match priority {
            Priority::Renewal => "r",
            Priority::Lane(Lane::Interactive) => "i",
            Priority::Lane(_) => "b",
        };
        let _turn = match class {
            "b" => Some(self.background[usize::from(post)].lock().await),
            _ => None,
        };
        let pace_ms = self.span_ms / f64::from(limit);
        loop {
            let member = format!("{}:{}", self.id, self.counter.fetch_add(1, Ordering::Relaxed));
            let max_wait: i64 = match (deadline, priority) {
                (Some(deadline), Priority::Lane(_)) => {
                    i64::try_from(deadline.saturating_duration_since(Instant::now()).as_millis()).unwrap_or(i64::MAX)
                }
                _ => -1,
            };
            let member_arg = member.as_str();
            let answer: Vec<i64> = self
                .conn
                .run(|mut connection| async move {
                    self.take
                        .key(key)
                        .key(format!("{key}:pace"))
                        .key(format!("{key}:pause"))
                        .arg(limit)
                        .arg(self.span_ms)
                        .arg(member_arg)
                        .arg(class)
                        .arg(reserve)
                        .arg(max_wait)
                        .arg(pace_ms)
                        .arg(pace_ms / 4.0)
                        .invoke_async(&mut connection)
                        .await
                })
                .await
                .map_err(unavailable)?;
            // Redis chose the slot `wait` after its own "now", which lies between sending and
            // receiving: waking `wait` after the answer is never early.
            let received = Instant::now();
            let (granted, wait_ms, ahead) = (answer.first().copied().unwrap_or(0), answer.get(1).copied().unwrap_or(0), answer.get(2).copied().unwrap_or(0));
            let ahead = u32::try_from(ahead).unwrap_or(u32::MAX);
            if granted == 0 {
                let retry = received + Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
                if wait_ms < 0 {
                    let earliest = answer.get(3).and_then(|ms| u64::try_from(*ms).ok()).map(Duration::from_millis);
                    return Err(Refusal::Deadline { earliest, ahead });
                }
                if deadline.is_some_and(|d| retry > d) {
                    return Err(Refusal::Deadline { earliest: Some(retry - received), ahead });
                }
                tokio::time::sleep_until(retry).await;
                continue;
            }
            let mut at = received + Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0));
            if at == received {
                return Ok((member, at)); // a free slot now: no timer, no confirmation
            }
            loop {
                tokio::time::sleep_until(at).await;
                match self.confirm(post, &member).await.map_err(Refusal::Unavailable)? {
                    Confirmed::Go => return Ok((member, Instant::now())),
                    Confirmed::Later(wait) => at = Instant::now() + wait, // a renewal took the slot
                    Confirmed::Retake => break,
                }
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                return Err(Refusal::Deadline { earliest: None, ahead: 0 });
            }
        }
    }

    /// Whether `member`'s slot may be sent now (see `RateLimits::confirm`).
    pub(super) async fn confirm(&self, post: bool, member: &str) -> Result<Confirmed, LimiterUnavailable> {
        let (key, limit) = self.budget(post);
        let answer: Vec<i64> = self
            .conn
            .run(|mut connection| async move {
                self.confirm
                    .key(key)
                    .arg(member)
                    .arg(limit)
                    .arg(self.span_ms)
                    .arg(LATE_WAKE.as_secs_f64() * 1e3)
                    .invoke_async(&mut connection)
                    .await
            })
            .await
            .map_err(down)?;
        Ok(match answer.as_slice() {
            [1, ..] => Confirmed::Go,
            [2, wait, ..] => Confirmed::Later(Duration::from_millis(u64::try_from(*wait).unwrap_or(0))),
            _ => Confirmed::Retake,
        })
    }

    /// After a 429: no permit of this budget anywhere in the fleet for `retry_after` (or a pace).
    pub(super) async fn pause(&self, post: bool, retry_after: Option<Duration>) -> Result<(), LimiterUnavailable> {
        let (key, limit) = self.budget(post);
        let ms = retry_after.map_or(self.span_ms / f64::from(limit), |d| d.min(self.window).as_secs_f64() * 1e3);
        self.conn
            .run(|mut connection| async move { self.pause.key(format!("{key}:pause")).arg(ms).invoke_async::<i64>(&mut connection).await })
            .await
            .map(|_| ())
            .map_err(|message| LimiterUnavailable(format!("the shared rate limiter could not be paused ({message})")))
    }
}

fn down(message: String) -> LimiterUnavailable {
    LimiterUnavailable(format!("the shared rate limiter could not grant a permit ({message}); nothing was sent"))
}

fn unavailable(message: String) -> Refusal {
    Refusal::Unavailable(down(message))
}

/// Why the shared limiter gave no permit.
pub(super) enum Refusal {
    Unavailable(LimiterUnavailable),
    Deadline { earliest: Option<Duration>, ahead: u32 },
}

#[cfg(test)]
#[path = "../../tests/support/redis_server.rs"]
mod redis_server;

#[cfg(test)]
mod tests {
    use super::*;

    /// On the shared budget too: a renewal asked last is granted before an interactive call that
    /// waits for its slot, and that one before a background call that asked before both.
    #[tokio::test]
    async fn a_renewal_goes_before_a_waiting_interactive_call_and_that_before_background() {
        let redis = redis_server::RedisServer::start();
        let prefix = format!("vandar:order:{}", uuid::Uuid::new_v4().simple());
        let limiter = std::sync::Arc::new(RedisLimiter::new(&redis.url(), prefix, 2, 100, Duration::from_millis(600), Duration::ZERO).unwrap());
        let interactive = Priority::Lane(Lane::Interactive);
        // Two slots 100 ms apart: they free one at a time.
        for _ in 0..2 {
            limiter.acquire(true, interactive, 0, None).await.unwrap_or_else(|_| panic!("a free slot"));
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let order = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let ask = |priority: Priority, name: &'static str| {
            let (limiter, order) = (limiter.clone(), order.clone());
            tokio::spawn(async move {
                limiter.acquire(true, priority, 0, None).await.unwrap_or_else(|_| panic!("{name}"));
                order.lock().unwrap().push(name);
            })
        };
        let background = ask(Priority::Lane(Lane::Background), "background");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiting = ask(interactive, "interactive");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let renewal = ask(Priority::Renewal, "renewal");
        for task in [background, waiting, renewal] {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["renewal", "interactive", "background"]);
    }
}
