//! Vandar's documented budgets, enforced client-side: a call waits for its permit instead of being
//! refused. One [`RateLimits`] is shared by every clone of a [`crate::Client`]; with the `redis`
//! feature, [`RateLimits::redis`] shares one budget among every process of the business.
//!
//! The budget is a *sliding window*: Vandar counts requests over any 3-second window, not over
//! fixed windows that reset, so a token bucket that bursts a full budget at a window's end and
//! another at the next start would send twice the budget within 3 s. Each request reserves the
//! earliest instant at which the last `limit` requests (its own included) fit in `window + margin`;
//! reservations are handed out in order, so waiting callers are served first come, first served.
//!
//! The `margin` absorbs what lies between the client's clock and Vandar's: request latency that
//! varies from one request to the next and, across machines, clock skew. With the default
//! [`DEFAULT_MARGIN`] of 50 ms a sustained load uses 3 / 3.05 = 98.4 % of the budget.
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

#[cfg(feature = "redis")]
mod redis;

/// "POST: 30 requests per 3 seconds; other methods: 100 requests per 3 seconds" (Vandar's introduction).
pub const POST_PER_WINDOW: u32 = 30;
/// See [`POST_PER_WINDOW`].
pub const OTHER_PER_WINDOW: u32 = 100;
/// See [`POST_PER_WINDOW`].
pub const WINDOW: Duration = Duration::from_secs(3);
/// Added to the window by [`RateLimits::vandar`]: latency jitter and clock skew between this
/// client and Vandar's counter. Costs 1.6 % of the budget.
pub const DEFAULT_MARGIN: Duration = Duration::from_millis(50);
/// A caller that wakes this much later than its slot (a busy runtime, a descheduled process)
/// gives the slot up and reserves another: sending late would squeeze the window behind it.
pub const LATE_WAKE: Duration = Duration::from_millis(25);

/// The shared limiter could not be asked for a permit (e.g. Redis is unreachable). Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterUnavailable(pub String);

impl std::fmt::Display for LimiterUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimiterUnavailable {}

/// One budget for POST, one for every other method.
pub struct RateLimits {
    backend: Backend,
}

enum Backend {
    Local { post: SlidingWindow, other: SlidingWindow },
    #[cfg(feature = "redis")]
    Redis(redis::RedisLimiter),
    Unlimited,
}

impl RateLimits {
    /// Vandar's documented limits (30 POST and 100 other requests in any 3 s) with
    /// [`DEFAULT_MARGIN`], for this process alone.
    pub fn vandar() -> Self {
        Self::new(POST_PER_WINDOW, OTHER_PER_WINDOW, WINDOW).with_margin(DEFAULT_MARGIN)
    }

    /// At most `post` POST requests and `other` other requests in any `window`, in this process.
    pub fn new(post: u32, other: u32, window: Duration) -> Self {
        Self { backend: Backend::Local { post: SlidingWindow::new(post, window), other: SlidingWindow::new(other, window) } }
    }

    /// No client-side limit at all (benchmarks, or a server you run yourself).
    pub fn unlimited() -> Self {
        Self { backend: Backend::Unlimited }
    }

    /// Vandar's documented limits shared by every process that uses the same Redis and
    /// `key_prefix` (use one prefix per business): in aggregate, never more than 30 POST and 100
    /// other requests in any 3 s. Slots are measured with Redis's clock, so the processes' clocks
    /// need not agree. Connects lazily; when Redis cannot be reached a call fails with
    /// [`crate::Error::Unavailable`] and nothing is sent (there is no silent local fallback, which
    /// would overrun the shared budget).
    #[cfg(feature = "redis")]
    pub fn redis(url: &str, key_prefix: impl Into<String>) -> Result<Self, crate::Error> {
        Self::redis_with(url, key_prefix, POST_PER_WINDOW, OTHER_PER_WINDOW, WINDOW)
    }

    /// [`RateLimits::redis`] with other budgets (tests, a server of your own).
    #[cfg(feature = "redis")]
    pub fn redis_with(url: &str, key_prefix: impl Into<String>, post: u32, other: u32, window: Duration) -> Result<Self, crate::Error> {
        let limiter = redis::RedisLimiter::new(url, key_prefix.into(), post, other, window, DEFAULT_MARGIN)?;
        Ok(Self { backend: Backend::Redis(limiter) })
    }

    /// Widens every window by `margin` (see the module docs). Has no effect on [`RateLimits::unlimited`].
    pub fn with_margin(mut self, margin: Duration) -> Self {
        match &mut self.backend {
            Backend::Local { post, other } => {
                post.span = post.window + margin;
                other.span = other.window + margin;
            }
            #[cfg(feature = "redis")]
            Backend::Redis(limiter) => limiter.set_margin(margin),
            Backend::Unlimited => {}
        }
        self
    }

    /// Waits until the budget of `method` allows one more request.
    pub async fn acquire(&self, method: &reqwest::Method) -> Result<(), LimiterUnavailable> {
        let post = method == reqwest::Method::POST;
        match &self.backend {
            Backend::Local { post: p, other: o } => {
                let window = if post { p } else { o };
                loop {
                    let slot = window.reserve(Instant::now());
                    tokio::time::sleep_until(slot).await;
                    if Instant::now() <= slot + LATE_WAKE {
                        return Ok(());
                    }
                    // The slot stays counted as used; the send takes the next one.
                }
            }
            #[cfg(feature = "redis")]
            Backend::Redis(limiter) => limiter.acquire(post).await,
            Backend::Unlimited => Ok(()),
        }
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match &self.backend {
            Backend::Local { .. } => "in-process",
            #[cfg(feature = "redis")]
            Backend::Redis(_) => "redis",
            Backend::Unlimited => "unlimited",
        };
        f.debug_struct("RateLimits").field("backend", &backend).finish_non_exhaustive()
    }
}

/// A sliding-window log of the last `limit` send slots.
struct SlidingWindow {
    limit: usize,
    window: Duration,
    /// `window` plus the margin: no `span` holds more than `limit` slots.
    span: Duration,
    /// The last `limit` reserved slots, oldest first (slots only grow).
    slots: Mutex<VecDeque<Instant>>,
}

impl SlidingWindow {
    fn new(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1) as usize;
        Self { limit, window, span: window, slots: Mutex::new(VecDeque::with_capacity(limit + 1)) }
    }

    /// Reserves the earliest slot at or after `now` that keeps every `span` within `limit`.
    fn reserve(&self, now: Instant) -> Instant {
        let mut slots = self.slots.lock().expect("limiter lock");
        // The slot `limit` places back must be a full span ago; slots only grow, so the new one
        // is also the latest and the log stays sorted.
        let slot = match slots.len().checked_sub(self.limit).map(|i| slots[i]) {
            Some(oldest) => now.max(oldest + self.span),
            None => now,
        };
        slots.push_back(slot);
        if slots.len() > self.limit {
            slots.pop_front();
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest number of `slots` inside any half-open interval of length `window`.
    fn busiest_window(slots: &[Instant], window: Duration) -> usize {
        slots.iter().map(|start| slots.iter().filter(|s| **s >= *start && **s < *start + window).count()).max().unwrap_or(0)
    }

    #[test]
    fn no_window_ever_holds_more_than_the_budget() {
        let limiter = SlidingWindow::new(30, WINDOW);
        let start = Instant::now();
        // Demand arrives in bursts at irregular instants, far above the budget.
        let slots: Vec<Instant> =
            (0..600u64).map(|i| limiter.reserve(start + Duration::from_millis((i * 37) % 9_000 / 10 * 10 + i))).collect();
        assert_eq!(busiest_window(&slots, WINDOW), 30);
    }

    #[test]
    fn sustained_demand_uses_the_whole_budget_less_the_margin() {
        let mut limiter = SlidingWindow::new(30, WINDOW);
        limiter.span = WINDOW + DEFAULT_MARGIN;
        let start = Instant::now();
        let slots: Vec<Instant> = (0..300).map(|_| limiter.reserve(start)).collect();
        // 300 requests = 10 budgets: the first 30 go at once, every later 30 one span after.
        let last = *slots.last().unwrap() - start;
        assert_eq!(last, (WINDOW + DEFAULT_MARGIN) * 9);
        let used = 300.0 / 30.0 * WINDOW.as_secs_f64() / (last + WINDOW + DEFAULT_MARGIN).as_secs_f64();
        assert!(used >= 0.98, "budget used: {used}");
        assert_eq!(busiest_window(&slots, WINDOW + DEFAULT_MARGIN), 30);
    }

    #[test]
    fn an_idle_limiter_grants_at_once() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        assert_eq!(limiter.reserve(t0), t0);
        assert_eq!(limiter.reserve(t0), t0);
        assert_eq!(limiter.reserve(t0), t0 + WINDOW);
        // Long after, the log is stale and grants are immediate again.
        let later = t0 + WINDOW * 10;
        assert_eq!(limiter.reserve(later), later);
    }
}
