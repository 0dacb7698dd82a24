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
/// A caller that wakes more than this after its slot (a busy runtime, a descheduled process)
/// moves its slot to the real send time if every window around it still fits the budget, and
/// otherwise gives the slot up and reserves another: an unrecorded late send would squeeze the
/// window after it.
pub const LATE_WAKE: Duration = Duration::from_millis(5);

/// The shared limiter could not be asked for a permit (e.g. Redis is unreachable). Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterUnavailable(pub String);

impl std::fmt::Display for LimiterUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LimiterUnavailable {}

/// Which queue a call waits in for its share of the budget (see [`RateLimits::with_reserve`]).
///
/// `Interactive` calls (the payment gateway by default: a payer waits on them) reserve the earliest
/// slot of the whole budget, first come first served. `Background` calls (lists, exports, payouts,
/// bulk work: everything else by default) take a slot only when one is free at once and the window
/// would still hold the reserved slots for interactive calls; otherwise they wait for the next
/// slot to free up. While no interactive call has asked for [`RESERVE_HELD_FOR_WINDOWS`] windows,
/// the reserve is lent to background work, so it is never starved. So a checkout never queues behind a batch job, and background work uses the
/// whole budget but the reserve. Set per call with [`crate::calls::CallOptions`] and per Client with
/// `ClientBuilder::lane_for`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Lane {
    /// A person waits on it: reserves the earliest slot, may use the whole budget.
    Interactive,
    /// Work nobody waits on at this second: never takes the reserved slots of a window.
    Background,
}

impl Lane {
    /// `interactive` or `background` (spans, metrics).
    pub fn name(self) -> &'static str {
        match self {
            Lane::Interactive => "interactive",
            Lane::Background => "background",
        }
    }
}

/// Why a permit was not granted. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermitRefused {
    /// The shared limiter could not be asked (e.g. Redis unreachable).
    Unavailable(LimiterUnavailable),
    /// No slot within the call's deadline: it waited `waited` and gave up before sending.
    Deadline {
        /// How long the call waited for a permit.
        waited: Duration,
    },
}

/// One budget for POST, one for every other method.
pub struct RateLimits {
    backend: Backend,
    /// Slots of each window background calls never take: (POST, other).
    reserve: (u32, u32),
}

/// How long after an interactive call the reserve holds, in windows: past it, with no interactive
/// call, background work may use the whole budget (it is never starved while interactive is idle),
/// and the first interactive call after such a pause may wait for one slot.
pub const RESERVE_HELD_FOR_WINDOWS: u32 = 10;

/// The reserve for interactive calls by default: a tenth of each budget (3 of Vandar's 30 POST,
/// 10 of its 100 other requests per window).
pub const DEFAULT_RESERVE_SHARE: f64 = 0.1;

fn share(limit: u32, share: f64) -> u32 {
    ((f64::from(limit) * share).round() as u32).min(limit.saturating_sub(1))
}

// Built once per Client and never moved in a hot path: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
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
        Self {
            backend: Backend::Local { post: SlidingWindow::new(post, window), other: SlidingWindow::new(other, window) },
            reserve: (share(post, DEFAULT_RESERVE_SHARE), share(other, DEFAULT_RESERVE_SHARE)),
        }
    }

    /// No client-side limit at all (benchmarks, or a server you run yourself).
    pub fn unlimited() -> Self {
        Self { backend: Backend::Unlimited, reserve: (0, 0) }
    }

    /// Reserves the last `post` POST and `other` other slots of every window for
    /// [`Lane::Interactive`] calls: background calls never take them (default: a tenth of each
    /// budget, [`DEFAULT_RESERVE_SHARE`]). `(0, 0)` switches lanes off: every call then waits in
    /// one first-come-first-served queue. Holds fleet-wide with [`RateLimits::redis`].
    pub fn with_reserve(mut self, post: u32, other: u32) -> Self {
        let (post_limit, other_limit) = self.limits();
        self.reserve = (post.min(post_limit.saturating_sub(1)), other.min(other_limit.saturating_sub(1)));
        self
    }

    fn limits(&self) -> (u32, u32) {
        match &self.backend {
            Backend::Local { post, other } => (post.limit as u32, other.limit as u32),
            #[cfg(feature = "redis")]
            Backend::Redis(limiter) => limiter.limits(),
            Backend::Unlimited => (u32::MAX, u32::MAX),
        }
    }

    /// Vandar's documented limits shared by every process that uses the same Redis and
    /// `key_prefix` (use one prefix per business): in aggregate, never more than 30 POST and 100
    /// other requests in any 3 s. Slots are measured with Redis's clock, so the processes' clocks
    /// need not agree. Connects lazily; when Redis cannot be reached a call fails with
    /// [`crate::Error::Unavailable`] and nothing is sent (there is no silent local fallback, which
    /// would overrun the shared budget).
    #[cfg(feature = "redis")]
    pub fn redis(url: &str, key_prefix: impl Into<String>) -> Result<Self, crate::error::Error> {
        Self::redis_with(url, key_prefix, POST_PER_WINDOW, OTHER_PER_WINDOW, WINDOW)
    }

    /// [`RateLimits::redis`] with other budgets (tests, a server of your own).
    #[cfg(feature = "redis")]
    pub fn redis_with(url: &str, key_prefix: impl Into<String>, post: u32, other: u32, window: Duration) -> Result<Self, crate::error::Error> {
        let limiter = redis::RedisLimiter::new(url, key_prefix.into(), post, other, window, DEFAULT_MARGIN)?;
        Ok(Self { backend: Backend::Redis(limiter), reserve: (share(post, DEFAULT_RESERVE_SHARE), share(other, DEFAULT_RESERVE_SHARE)) })
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

    /// Waits until the budget of `method` allows one more request (an interactive call without
    /// a deadline).
    pub async fn acquire(&self, method: &reqwest::Method) -> Result<(), LimiterUnavailable> {
        match self.permit(method, Lane::Interactive, None).await {
            Ok(_) => Ok(()),
            Err(PermitRefused::Unavailable(unavailable)) => Err(unavailable),
            Err(PermitRefused::Deadline { .. }) => unreachable!("no deadline was given"),
        }
    }

    /// Takes a permit for `method` in `lane` if one is free at this instant, without waiting (and
    /// without a future: the common case of an idle or unsaturated budget costs no allocation).
    /// `false` means: ask [`RateLimits::permit`]. Always `false` for the Redis budget.
    pub(crate) fn grant_now(&self, method: &reqwest::Method, lane: Lane) -> bool {
        let post = method == reqwest::Method::POST;
        let reserve = if post { self.reserve.0 } else { self.reserve.1 } as usize;
        match &self.backend {
            Backend::Local { post: p, other: o } => {
                let window = if post { p } else { o };
                let now = Instant::now();
                if lane == Lane::Background && reserve > 0 {
                    window.take_now(now, reserve).is_ok()
                } else {
                    window.saw_interactive(now);
                    window.reserve_until(now, Some(now)).is_some()
                }
            }
            #[cfg(feature = "redis")]
            Backend::Redis(_) => false,
            Backend::Unlimited => true,
        }
    }

    /// Waits until the budget of `method` allows one more request of `lane`, but not past
    /// `deadline`: a slot that would come later is not taken, and the call is refused before
    /// anything is sent. Returns how long it waited.
    pub async fn permit(&self, method: &reqwest::Method, lane: Lane, deadline: Option<Instant>) -> Result<Duration, PermitRefused> {
        let post = method == reqwest::Method::POST;
        let started = Instant::now();
        let reserve = if post { self.reserve.0 } else { self.reserve.1 } as usize;
        let late = |now: Instant| deadline.is_some_and(|d| now > d);
        let refused = || PermitRefused::Deadline { waited: started.elapsed() };
        match &self.backend {
            Backend::Local { post: p, other: o } => {
                let window = if post { p } else { o };
                if lane == Lane::Background && reserve > 0 {
                    // One background waiter at a time per budget in this process (first come, first
                    // served among them); it takes a slot only when one is free now.
                    let _turn = window.background.lock().await;
                    loop {
                        let now = Instant::now();
                        match window.take_now(now, reserve) {
                            Ok(()) => return Ok(started.elapsed()),
                            Err(retry_at) if deadline.is_some_and(|d| retry_at > d) => return Err(refused()),
                            Err(retry_at) => tokio::time::sleep_until(retry_at).await,
                        }
                    }
                }
                window.saw_interactive(Instant::now());
                loop {
                    let now = Instant::now();
                    let Some(slot) = window.reserve_until(now, deadline) else { return Err(refused()) };
                    if slot == now {
                        return Ok(started.elapsed()); // a free slot now: no timer (tokio's resolution is 1 ms)
                    }
                    tokio::time::sleep_until(slot).await;
                    let woke = Instant::now();
                    if woke <= slot + LATE_WAKE || window.rebase(slot, woke) {
                        return Ok(started.elapsed());
                    }
                    if late(woke) {
                        return Err(refused());
                    }
                    // The slot stays counted as used; the send takes another.
                }
            }
            #[cfg(feature = "redis")]
            Backend::Redis(limiter) => {
                let lane = if reserve > 0 { lane } else { Lane::Interactive };
                // A large future: kept off the hot path's.
                Box::pin(limiter.acquire(post, lane, reserve as u32, deadline)).await.map(|()| started.elapsed()).map_err(|e| match e {
                    redis::Refusal::Unavailable(u) => PermitRefused::Unavailable(u),
                    redis::Refusal::Deadline => refused(),
                })
            }
            Backend::Unlimited => Ok(Duration::ZERO),
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

/// A sliding-window log of send slots: every slot that can still share a window with a new one.
struct SlidingWindow {
    limit: usize,
    window: Duration,
    /// `window` plus the margin: no interval of `span` holds more than `limit` slots.
    span: Duration,
    /// Reserved slots, sorted (future ones included: callers are waiting for them).
    slots: Mutex<Vec<Instant>>,
    /// Held by the one background caller of this process waiting for a free slot.
    background: tokio::sync::Mutex<()>,
    /// When an interactive caller last asked: the reserve holds only within a span of it.
    last_interactive: Mutex<Option<Instant>>,
}

impl SlidingWindow {
    fn new(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1) as usize;
        Self {
            limit,
            window,
            span: window,
            slots: Mutex::new(Vec::with_capacity(2 * limit)),
            background: tokio::sync::Mutex::new(()),
            last_interactive: Mutex::new(None),
        }
    }

    /// Notes an interactive caller at `now`: background callers keep the reserve free for a span.
    fn saw_interactive(&self, now: Instant) {
        *self.last_interactive.lock().expect("limiter lock") = Some(now);
    }

    /// [`SlidingWindow::reserve`], unless the slot would come after `deadline` (then nothing is reserved).
    fn reserve_until(&self, now: Instant, deadline: Option<Instant>) -> Option<Instant> {
        let mut slots = self.slots.lock().expect("limiter lock");
        let stale = slots.partition_point(|s| *s + self.span <= now);
        slots.drain(..stale);
        let slot = match slots.len().checked_sub(self.limit).map(|i| slots[i]) {
            Some(back) => now.max(back + self.span),
            None => now,
        };
        if deadline.is_some_and(|d| slot > d) {
            return None;
        }
        let at = slots.partition_point(|s| *s <= slot);
        slots.insert(at, slot);
        Some(slot)
    }

    /// A background slot: taken at `now` if the span ending there (future interactive
    /// reservations counted) would still leave `reserve` slots free; otherwise when to ask again
    /// (when the oldest slot that counts leaves the span).
    fn take_now(&self, now: Instant, reserve: usize) -> Result<(), Instant> {
        // No interactive caller within a span: the reserve is lent to background work.
        let held = self.span * RESERVE_HELD_FOR_WINDOWS;
        let interactive_active = self.last_interactive.lock().expect("limiter lock").is_some_and(|at| at + held > now);
        let reserve = if interactive_active { reserve } else { 0 };
        let mut slots = self.slots.lock().expect("limiter lock");
        let stale = slots.partition_point(|s| *s + self.span <= now);
        slots.drain(..stale);
        // Every slot left is within a span of now (or reserved after it): they all count.
        let allowed = self.limit.saturating_sub(reserve);
        if slots.len() < allowed {
            let at = slots.partition_point(|s| *s <= now);
            slots.insert(at, now);
            return Ok(());
        }
        // The (len - allowed + 1)-th oldest slot must leave before one more fits.
        let leaving = slots[slots.len() - allowed];
        Err((leaving + self.span).max(now + Duration::from_millis(1)))
    }

    /// Reserves the earliest slot at or after `now` that keeps every `span` within `limit`: a
    /// full span after the `limit`-th latest slot (at most `limit - 1` slots are later than that).
    #[cfg(test)]
    fn reserve(&self, now: Instant) -> Instant {
        self.reserve_until(now, None).expect("no deadline: a slot is always reserved")
    }

    /// Moves a slot its caller woke too late for to `actual`, the real send time, if no window
    /// around `actual` then holds more than `limit`; otherwise the slot stays (counted as used)
    /// and the caller reserves another. Whether it moved.
    fn rebase(&self, slot: Instant, actual: Instant) -> bool {
        let mut slots = self.slots.lock().expect("limiter lock");
        let Ok(at) = slots.binary_search(&slot) else { return false };
        slots.remove(at);
        if fits(&slots, actual, self.span, self.limit) {
            let to = slots.partition_point(|s| *s <= actual);
            slots.insert(to, actual);
            true
        } else {
            slots.insert(at, slot);
            false
        }
    }
}

/// Whether a send at `at` keeps every window of `span` that contains it within `limit`, given
/// the other (sorted) `slots`. The fullest such window starts at `at` or at a slot before it.
fn fits(slots: &[Instant], at: Instant, span: Duration, limit: usize) -> bool {
    let count_from = |start: Instant| slots.iter().filter(|s| **s >= start && **s < start + span).count();
    let earlier = slots.iter().copied().filter(|s| *s < at && *s + span > at);
    std::iter::once(at).chain(earlier).all(|start| count_from(start) < limit)
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
    fn a_late_send_is_recorded_at_its_real_time_when_every_window_still_fits() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        let first = limiter.reserve(t0);
        // The caller wakes 1 s late: nothing else is near, so the slot moves to the real send.
        assert!(limiter.rebase(first, t0 + Duration::from_secs(1)));
        assert_eq!(limiter.reserve(t0 + Duration::from_secs(1)), t0 + Duration::from_secs(1));
        // Both slots sit at t0+1 s: the third waits a full window after them, not after t0.
        assert_eq!(limiter.reserve(t0 + Duration::from_secs(1)), t0 + Duration::from_secs(1) + WINDOW);
    }

    #[test]
    fn a_late_send_that_would_overfill_a_window_is_refused() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        let a = limiter.reserve(t0);
        let _b = limiter.reserve(t0);
        let c = limiter.reserve(t0); // t0 + 3 s
        let _d = limiter.reserve(t0); // t0 + 3 s
        // `a` woke 1 s late: at t0+1 s it would share a window with c and d.
        assert!(!limiter.rebase(a, t0 + Duration::from_secs(1)));
        // Its slot stays counted, so the next one still waits for a free window.
        assert_eq!(limiter.reserve(t0 + Duration::from_secs(1)), c + WINDOW);
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
