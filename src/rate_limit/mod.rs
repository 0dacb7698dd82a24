//! Vandar's documented budgets, enforced client-side: a call waits for its permit instead of being
//! refused. One [`RateLimits`] is shared by every clone of a [`crate::Client`]; with the `redis`
//! feature, [`RateLimits::redis`] shares one budget among every process of the business.
//!
//! The budget is a *sliding window*: Vandar counts requests over any 3-second window, not over
//! fixed windows that reset, so a token bucket that bursts a full budget at a window's end and
//! another at the next start would send twice the budget within 3 s. Each request takes a slot
//! at which the last `limit` slots (its own included) fit in `window + margin` (the *span*).
//!
//! **Lanes.** Three priorities share every budget, and none holds budget idle:
//!
//! * a token renewal goes first: it takes the earliest slot any waiting call holds, and every
//!   waiting call moves one place back (a renewal is one request a token lifetime);
//! * [`Lane::Interactive`] calls (a payer waits) reserve the earliest free slot, first come, first
//!   served; a reservation is written into the shared log at once, so every process sees it;
//! * [`Lane::Background`] calls take a slot only at the instant it is free and only while no
//!   reservation is waiting anywhere (a reservation counts as taken), *paced*: at most one
//!   background slot every `span / limit`, so slots free one at a time
//!   rather than in a burst a span after one. A checkout that arrives behind a saturating batch
//!   waits for the next slot to free, at most `span / limit` (102 ms for POST with the defaults,
//!   31 ms for other methods), whether it is the first of the day or the hundredth.
//!
//! The `margin` absorbs what lies between the client's clock and Vandar's: request latency that
//! varies from one request to the next and, across machines, clock skew. With the default
//! [`DEFAULT_MARGIN`] of 50 ms a sustained load uses 3 / 3.05 = 98.4 % of the budget. A caller that
//! sends more than [`LATE_WAKE`] after its slot (a stalled process, a busy runtime) moves its slot
//! to the real send time before sending, or gives it up and takes another, so a stall never pushes
//! a request into the next window.
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
/// A caller that sends more than this after its slot (a busy runtime, a descheduled process)
/// moves its slot to the real send time if every window around it still fits the budget, and
/// otherwise gives the slot up and takes another: an unrecorded late send would squeeze the
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

pub use crate::generated::operations::Lane;

/// Who asks for a slot: a token renewal before everything, then the lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Priority {
    /// A token renewal (and its rotation): every call waits for it.
    Renewal,
    /// A call in its lane.
    Lane(Lane),
}

impl Priority {
    /// `renewal`, `interactive` or `background` (spans, metrics, errors).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Priority::Renewal => "renewal",
            Priority::Lane(lane) => lane.name(),
        }
    }
}

/// Why a permit was not granted. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PermitRefused {
    /// The shared limiter could not be asked (e.g. Redis unreachable).
    Unavailable(LimiterUnavailable),
    /// No slot within the call's deadline: it waited `waited` and gave up before sending.
    Deadline(DeadlineMissed),
}

pub use crate::error::DeadlineMissed;

/// One budget for POST, one for every other method.
pub struct RateLimits {
    backend: Backend,
    /// Slots of each span background calls leave free even while no interactive call waits:
    /// (POST, other). 0 by default: the lanes need no idle budget.
    reserve: (u32, u32),
    /// Whether lanes apply; without them every call is served first come, first served.
    lanes: bool,
}

// Built once per Client and never moved in a hot path: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
enum Backend {
    Local { post: SlidingWindow, other: SlidingWindow },
    #[cfg(feature = "redis")]
    Redis(redis::RedisLimiter),
    Unlimited,
}

/// A slot granted, until its request is sent: [`RateLimits::confirm`] checks it still holds then.
#[derive(Debug)]
pub(crate) struct Permit {
    post: bool,
    /// When (this process's clock) the slot was for.
    at: Instant,
    id: SlotId,
}

#[derive(Debug)]
enum SlotId {
    Local(u64),
    #[cfg(feature = "redis")]
    Redis(String),
    None,
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
            reserve: (0, 0),
            lanes: true,
        }
    }

    /// No client-side limit at all (benchmarks, or a server you run yourself).
    pub fn unlimited() -> Self {
        Self { backend: Backend::Unlimited, reserve: (0, 0), lanes: true }
    }

    /// Leaves `post` POST and `other` other slots of every span free of background work even
    /// while no interactive call waits (default `(0, 0)`). Not needed for checkouts to go first
    /// (they do; see the module docs): only for a shop whose interactive calls must never wait
    /// the one `span / limit` for a slot to free, at the price of that share of the budget.
    pub fn with_reserve(mut self, post: u32, other: u32) -> Self {
        let (post_limit, other_limit) = self.limits();
        self.reserve = (post.min(post_limit.saturating_sub(1)), other.min(other_limit.saturating_sub(1)));
        self
    }

    /// `false` switches lanes off: every call, background or not, waits in one first-come,
    /// first-served queue (a checkout then queues behind a batch). Holds fleet-wide with
    /// [`RateLimits::redis`] only if every process sets it alike.
    pub fn with_lanes(mut self, lanes: bool) -> Self {
        self.lanes = lanes;
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
        Ok(Self { backend: Backend::Redis(limiter), reserve: (0, 0), lanes: true })
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
            Err(PermitRefused::Deadline(_)) => unreachable!("no deadline was given"),
        }
    }

    /// Waits until the budget of `method` allows one more request of `lane`, but not past
    /// `deadline`: a slot that would come later is not taken, and the call is refused before
    /// anything is sent. Returns how long it waited.
    pub async fn permit(&self, method: &reqwest::Method, lane: Lane, deadline: Option<Instant>) -> Result<Duration, PermitRefused> {
        let started = Instant::now();
        self.grant(method, Priority::Lane(lane), deadline).await.map(|_| started.elapsed())
    }

    fn priority(&self, priority: Priority) -> Priority {
        match priority {
            Priority::Lane(Lane::Background) if !self.lanes => Priority::Lane(Lane::Interactive),
            other => other,
        }
    }

    /// A permit for `method` in `priority` if one is free at this instant, without waiting (and
    /// without a future: the common case of an idle or unsaturated budget costs no allocation).
    /// `None` means: ask [`RateLimits::grant`]. Always `None` for the Redis budget.
    pub(crate) fn grant_now(&self, method: &reqwest::Method, priority: Priority) -> Option<Permit> {
        let post = method == reqwest::Method::POST;
        let priority = self.priority(priority);
        match &self.backend {
            Backend::Local { post: p, other: o } => {
                let window = if post { p } else { o };
                let now = Instant::now();
                let slot = match priority {
                    Priority::Lane(Lane::Background) => window.take_background(now, self.reserve_of(post)).ok()?,
                    // A renewal may take a waiter's later slot (deadlines do not bind it): it waits in `grant`.
                    Priority::Renewal => return None,
                    _ => window.reserve(now, priority, Some(now)).ok()?,
                };
                Some(Permit { post, at: slot.at, id: SlotId::Local(slot.id) })
            }
            #[cfg(feature = "redis")]
            Backend::Redis(_) => None,
            Backend::Unlimited => Some(Permit { post, at: Instant::now(), id: SlotId::None }),
        }
    }

    fn reserve_of(&self, post: bool) -> usize {
        (if post { self.reserve.0 } else { self.reserve.1 }) as usize
    }

    /// Waits for a slot of `method`'s budget in `priority`, but not past `deadline`.
    pub(crate) async fn grant(&self, method: &reqwest::Method, priority: Priority, deadline: Option<Instant>) -> Result<Permit, PermitRefused> {
        let post = method == reqwest::Method::POST;
        let priority = self.priority(priority);
        let started = Instant::now();
        let budget = if post { "POST" } else { "other" };
        let missed = |earliest: Option<Duration>, ahead: u32| {
            PermitRefused::Deadline(DeadlineMissed { waited: started.elapsed(), budget, lane: priority.name(), earliest, ahead })
        };
        match &self.backend {
            Backend::Local { post: p, other: o } => {
                let window = if post { p } else { o };
                if priority == Priority::Lane(Lane::Background) {
                    // One background waiter at a time per budget in this process (first come, first
                    // served among them); it takes a slot only when one is free now.
                    let _turn = window.background.lock().await;
                    loop {
                        let now = Instant::now();
                        match window.take_background(now, self.reserve_of(post)) {
                            Ok(slot) => return Ok(Permit { post, at: slot.at, id: SlotId::Local(slot.id) }),
                            Err((retry_at, ahead)) if deadline.is_some_and(|d| retry_at > d) => {
                                return Err(missed(Some(retry_at - now), ahead));
                            }
                            Err((retry_at, _)) => tokio::time::sleep_until(retry_at).await,
                        }
                    }
                }
                loop {
                    let now = Instant::now();
                    let slot = window.reserve(now, priority, deadline).map_err(|(earliest, ahead)| missed(Some(earliest), ahead))?;
                    let mut at = slot.at;
                    loop {
                        if at > Instant::now() {
                            tokio::time::sleep_until(at).await; // a free slot now needs no timer
                        }
                        match window.confirm(slot.id, Instant::now()) {
                            Confirmed::Go(now) => return Ok(Permit { post, at: now, id: SlotId::Local(slot.id) }),
                            Confirmed::Later(later) => at = later, // a renewal took this slot
                            Confirmed::Retake => break,            // woke too late: the slot stays used
                        }
                    }
                    if deadline.is_some_and(|d| Instant::now() > d) {
                        return Err(missed(None, 0));
                    }
                }
            }
            #[cfg(feature = "redis")]
            Backend::Redis(limiter) => {
                // A large future: kept off the hot path's.
                Box::pin(limiter.acquire(post, priority, self.reserve_of(post) as u32, deadline)).await.map(|(member, at)| Permit {
                    post,
                    at,
                    id: SlotId::Redis(member),
                }).map_err(|e| match e {
                    redis::Refusal::Unavailable(u) => PermitRefused::Unavailable(u),
                    redis::Refusal::Deadline { earliest, ahead } => missed(earliest, ahead),
                })
            }
            Backend::Unlimited => Ok(Permit { post, at: Instant::now(), id: SlotId::None }),
        }
    }

    /// Just before `permit`'s request is sent: whether its slot still holds. A caller that got
    /// here more than [`LATE_WAKE`] after its slot (a stall between the permit and the send)
    /// moves the slot to now if every window around now still fits, and otherwise must take
    /// another permit (`Ok(false)`): a late send left counted at its old slot would squeeze the
    /// window after it into Vandar's next.
    pub(crate) async fn confirm(&self, permit: &Permit) -> Result<bool, LimiterUnavailable> {
        if Instant::now() <= permit.at + LATE_WAKE {
            return Ok(true);
        }
        match (&self.backend, &permit.id) {
            (Backend::Local { post, other }, SlotId::Local(id)) => {
                let window = if permit.post { post } else { other };
                Ok(matches!(window.confirm(*id, Instant::now()), Confirmed::Go(_)))
            }
            #[cfg(feature = "redis")]
            (Backend::Redis(limiter), SlotId::Redis(member)) => {
                Box::pin(limiter.confirm(permit.post, member)).await.map(|c| matches!(c, redis::Confirmed::Go))
            }
            _ => Ok(true),
        }
    }

    /// Vandar answered 429 to a request of `method`'s budget: nothing more of that budget is
    /// granted, anywhere in the fleet, for `pause` (Vandar's Retry-After, or one slot's pace).
    pub(crate) async fn rate_limited(&self, method: &reqwest::Method, retry_after: Option<Duration>) {
        let post = method == reqwest::Method::POST;
        match &self.backend {
            Backend::Local { post: p, other: o } => {
                let window = if post { p } else { o };
                window.pause(Instant::now() + retry_after.unwrap_or_else(|| window.pace()).min(window.window));
            }
            #[cfg(feature = "redis")]
            Backend::Redis(limiter) => {
                if let Err(error) = Box::pin(limiter.pause(post, retry_after)).await {
                    tracing::warn!(%error, "could not pause the shared budget after a 429");
                }
            }
            Backend::Unlimited => {}
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
        f.debug_struct("RateLimits").field("backend", &backend).field("lanes", &self.lanes).finish_non_exhaustive()
    }
}

/// A sliding-window log of send slots: every slot that can still share a span with a new one,
/// future reservations included.
struct SlidingWindow {
    limit: usize,
    window: Duration,
    /// `window` plus the margin: no interval of `span` holds more than `limit` slots.
    span: Duration,
    log: Mutex<Log>,
    /// Held by the one background caller of this process waiting for a free slot.
    background: tokio::sync::Mutex<()>,
}

#[derive(Default)]
struct Log {
    /// Sorted by time.
    slots: Vec<Slot>,
    next_id: u64,
    /// Background pacing: the theoretical time of the next background slot.
    paced: Option<Instant>,
    /// After a 429: nothing is granted before this.
    paused: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    at: Instant,
    id: u64,
}

enum Confirmed {
    /// The slot holds (at this instant).
    Go(Instant),
    /// A renewal took the slot: this one is later.
    Later(Instant),
    /// The caller came too late and the slot could not move: it stays counted; take another.
    Retake,
}

impl Log {
    fn forget_before(&mut self, now: Instant, span: Duration) {
        let stale = self.slots.partition_point(|s| s.at + span <= now);
        self.slots.drain(..stale);
    }

    fn insert(&mut self, at: Instant) -> Slot {
        let slot = Slot { at, id: self.next_id };
        self.next_id += 1;
        let index = self.slots.partition_point(|s| s.at <= at);
        self.slots.insert(index, slot);
        slot
    }

    /// Slots later than `now`: calls waiting for theirs.
    fn ahead(&self, now: Instant) -> u32 {
        (self.slots.len() - self.slots.partition_point(|s| s.at <= now)) as u32
    }
}

impl SlidingWindow {
    fn new(limit: u32, window: Duration) -> Self {
        let limit = limit.max(1) as usize;
        Self { limit, window, span: window, log: Mutex::new(Log::default()), background: tokio::sync::Mutex::new(()) }
    }

    /// One background slot every `pace` at most: a slot frees at least that often.
    fn pace(&self) -> Duration {
        self.span / self.limit as u32
    }

    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        // Every update leaves the log whole before anything that could panic: a poisoned lock
        // holds a usable log.
        self.log.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Reserves the earliest slot at or after `now` that keeps every `span` within `limit` (a
    /// full span after the `limit`-th latest slot), unless it would come after `deadline` (then
    /// nothing is reserved: how far it was and how many wait ahead). A renewal instead takes the
    /// earliest slot a waiting call holds, and every waiting call moves one place back.
    fn reserve(&self, now: Instant, priority: Priority, deadline: Option<Instant>) -> Result<Slot, (Duration, u32)> {
        let mut log = self.log();
        log.forget_before(now, self.span);
        let base = log.paused.map_or(now, |p| p.max(now));
        let len = log.slots.len();
        let slot = match len.checked_sub(self.limit) {
            Some(back) => base.max(log.slots[back].at + self.span),
            None => base,
        };
        let ahead = log.ahead(now);
        if priority == Priority::Renewal && ahead > 0 {
            let first = len - ahead as usize;
            let taken = log.slots[first].at;
            for i in first..len {
                log.slots[i].at = if i + 1 < len { log.slots[i + 1].at } else { slot };
            }
            let renewal = Slot { at: taken, id: log.next_id };
            log.next_id += 1;
            log.slots.insert(first, renewal);
            log.slots.sort_by_key(|s| s.at); // already sorted unless a late slot moved (stable)
            return Ok(renewal);
        }
        if deadline.is_some_and(|d| slot > d) {
            return Err((slot - now, ahead));
        }
        Ok(log.insert(slot))
    }

    /// A background slot at `now`: only while the span ending there (reservations of waiting
    /// calls counted) has a slot free beyond `reserve`, and the pace allows; otherwise when to ask
    /// again, and how many wait ahead.
    fn take_background(&self, now: Instant, reserve: usize) -> Result<Slot, (Instant, u32)> {
        let pace = self.pace();
        let mut log = self.log();
        log.forget_before(now, self.span);
        let mut at = log.paused.map_or(now, |p| p.max(now));
        if let Some(paced) = log.paced {
            at = at.max(paced);
        }
        let allowed = self.limit.saturating_sub(reserve).max(1);
        if let Some(leaving) = log.slots.len().checked_sub(allowed).map(|i| log.slots[i].at) {
            // Every slot left is within a span of now (or reserved after it): they all count.
            at = at.max(leaving + self.span);
        }
        if at > now {
            return Err((at.max(now + Duration::from_millis(1)), log.ahead(now)));
        }
        // The grid of background slots holds through a late caller (no drift: the budget stays
        // whole): behind it, background catches up, but never faster than four per pace (no
        // burst). Idle for a span, it starts again from now.
        log.paced = Some(match log.paced {
            Some(paced) if paced + self.span >= now => (paced + pace).max(now + pace / 4),
            _ => now + pace,
        });
        Ok(log.insert(now))
    }

    /// Whether slot `id` may be sent at `now`: it holds, a renewal moved it later, or its caller
    /// came more than [`LATE_WAKE`] late and it could not move to `now` (see [`RateLimits::confirm`]).
    fn confirm(&self, id: u64, now: Instant) -> Confirmed {
        let mut log = self.log();
        let Some(index) = log.slots.iter().position(|s| s.id == id) else { return Confirmed::Retake };
        let slot = log.slots[index];
        if slot.at > now {
            return Confirmed::Later(slot.at);
        }
        if now <= slot.at + LATE_WAKE {
            return Confirmed::Go(now);
        }
        log.slots.remove(index);
        let times: Vec<Instant> = log.slots.iter().map(|s| s.at).collect();
        if fits(&times, now, self.span, self.limit) {
            let to = log.slots.partition_point(|s| s.at <= now);
            log.slots.insert(to, Slot { at: now, id });
            Confirmed::Go(now)
        } else {
            log.slots.insert(index, slot);
            Confirmed::Retake
        }
    }

    fn pause(&self, until: Instant) {
        let mut log = self.log();
        log.paused = Some(log.paused.map_or(until, |p| p.max(until)));
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

    const I: Priority = Priority::Lane(Lane::Interactive);

    impl SlidingWindow {
        fn at(&self, now: Instant) -> Instant {
            self.reserve(now, I, None).expect("no deadline: a slot is always reserved").at
        }
    }

    #[test]
    fn no_window_ever_holds_more_than_the_budget() {
        let limiter = SlidingWindow::new(30, WINDOW);
        let start = Instant::now();
        // Demand arrives in bursts at irregular instants, far above the budget.
        let slots: Vec<Instant> = (0..600u64).map(|i| limiter.at(start + Duration::from_millis((i * 37) % 9_000 / 10 * 10 + i))).collect();
        assert_eq!(busiest_window(&slots, WINDOW), 30);
    }

    #[test]
    fn sustained_demand_uses_the_whole_budget_less_the_margin() {
        let mut limiter = SlidingWindow::new(30, WINDOW);
        limiter.span = WINDOW + DEFAULT_MARGIN;
        let start = Instant::now();
        let slots: Vec<Instant> = (0..300).map(|_| limiter.at(start)).collect();
        // 300 requests = 10 budgets: the first 30 go at once, every later 30 one span after.
        let last = *slots.last().unwrap() - start;
        assert_eq!(last, (WINDOW + DEFAULT_MARGIN) * 9);
        assert_eq!(busiest_window(&slots, WINDOW + DEFAULT_MARGIN), 30);
    }

    #[test]
    fn a_late_send_is_recorded_at_its_real_time_when_every_window_still_fits() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        let first = limiter.reserve(t0, I, None).unwrap();
        // The caller sends 1 s late: nothing else is near, so the slot moves to the real send.
        assert!(matches!(limiter.confirm(first.id, t0 + Duration::from_secs(1)), Confirmed::Go(_)));
        assert_eq!(limiter.at(t0 + Duration::from_secs(1)), t0 + Duration::from_secs(1));
        // Both slots sit at t0+1 s: the third waits a full window after them, not after t0.
        assert_eq!(limiter.at(t0 + Duration::from_secs(1)), t0 + Duration::from_secs(1) + WINDOW);
    }

    #[test]
    fn a_late_send_that_would_overfill_a_window_is_refused() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        let a = limiter.reserve(t0, I, None).unwrap();
        let _b = limiter.at(t0);
        let c = limiter.at(t0); // t0 + 3 s
        let _d = limiter.at(t0); // t0 + 3 s
        // `a` is sent 1 s late: at t0+1 s it would share a window with c and d.
        assert!(matches!(limiter.confirm(a.id, t0 + Duration::from_secs(1)), Confirmed::Retake));
        // Its slot stays counted, so the next one still waits for a free window.
        assert_eq!(limiter.at(t0 + Duration::from_secs(1)), c + WINDOW);
    }

    #[test]
    fn an_idle_limiter_grants_at_once() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        assert_eq!(limiter.at(t0), t0);
        assert_eq!(limiter.at(t0), t0);
        assert_eq!(limiter.at(t0), t0 + WINDOW);
        let later = t0 + WINDOW * 10;
        assert_eq!(limiter.at(later), later);
    }

    /// Background alone, asking as fast as it may: one slot per pace, never a burst, and the
    /// whole budget used.
    #[test]
    fn background_is_paced_across_the_span_and_uses_the_whole_budget() {
        let limiter = SlidingWindow::new(10, WINDOW);
        let t0 = Instant::now();
        let mut now = t0;
        let mut granted = Vec::new();
        while now < t0 + WINDOW * 10 {
            match limiter.take_background(now, 0) {
                Ok(slot) => granted.push(slot.at),
                Err((retry, _)) => now = retry,
            }
        }
        let pace = limiter.pace();
        // One per pace exactly (no drift), from the first.
        assert_eq!(granted[0], t0);
        for pair in granted.windows(2) {
            assert_eq!(pair[1] - pair[0], pace, "{granted:?}");
        }
        assert_eq!(busiest_window(&granted, WINDOW), 10);
        assert!(granted.len() >= 99, "the whole budget: {} of 100", granted.len());
    }

    /// A waiting interactive call holds its slot against background work: background asking at
    /// every instant never gets the slot that frees first, and gets the next.
    #[test]
    fn an_interactive_waiter_gets_the_next_slot_to_free_before_any_background_caller() {
        let limiter = SlidingWindow::new(10, WINDOW);
        let t0 = Instant::now();
        let mut now = t0;
        // Background saturates the budget for two windows.
        while now < t0 + WINDOW * 2 {
            if let Err((retry, _)) = limiter.take_background(now, 0) {
                now = retry;
            }
        }
        let arrival = now + Duration::from_millis(1);
        let interactive = limiter.reserve(arrival, I, None).unwrap();
        assert!(interactive.at - arrival <= limiter.pace(), "waited {:?}, pace {:?}", interactive.at - arrival, limiter.pace());
        // Background keeps asking at every millisecond: it is refused until after the interactive slot.
        let mut probe = arrival;
        let background = loop {
            match limiter.take_background(probe, 0) {
                Ok(slot) => break slot.at,
                Err((_, ahead)) => {
                    if probe < interactive.at {
                        assert_eq!(ahead, 1, "the waiter is seen ahead");
                    }
                    probe += Duration::from_millis(1);
                }
            }
        };
        assert!(background > interactive.at, "background {background:?} came before the interactive slot {:?}", interactive.at);
    }

    /// A renewal goes before every waiting call: it takes the earliest reserved slot, the waiters
    /// each move one place back, and a waiter waking at its old slot is told to wait on.
    #[test]
    fn a_renewal_goes_before_interactive_and_background_waiters() {
        let limiter = SlidingWindow::new(2, WINDOW);
        let t0 = Instant::now();
        limiter.at(t0);
        limiter.at(t0);
        let first = limiter.reserve(t0, I, None).unwrap();
        let second = limiter.reserve(t0, I, None).unwrap();
        assert_eq!((first.at, second.at), (t0 + WINDOW, t0 + WINDOW));
        let renewal = limiter.reserve(t0 + Duration::from_millis(10), Priority::Renewal, None).unwrap();
        assert_eq!(renewal.at, t0 + WINDOW, "the renewal took the earliest waiting slot");
        match limiter.confirm(first.id, t0 + WINDOW) {
            Confirmed::Go(_) => {} // the first waiter took the second's place at the same instant
            Confirmed::Later(_) | Confirmed::Retake => panic!("first waiter"),
        }
        match limiter.confirm(second.id, t0 + WINDOW) {
            Confirmed::Later(at) => assert_eq!(at, t0 + WINDOW * 2),
            _ => panic!("the second waiter moved back"),
        }
        // Background is behind all of them.
        assert!(limiter.take_background(t0 + WINDOW, 0).is_err());
    }

    /// No warm-up: a background batch that has run alone for an hour gives way to the first
    /// interactive call exactly as to the hundredth.
    #[test]
    fn the_first_checkout_after_a_quiet_hour_waits_no_more_than_the_pace() {
        let limiter = SlidingWindow::new(30, WINDOW + DEFAULT_MARGIN);
        let t0 = Instant::now();
        let mut now = t0;
        let hour = t0 + Duration::from_secs(3_600);
        while now < hour {
            if let Err((retry, _)) = limiter.take_background(now, 0) {
                now = retry;
            }
        }
        for k in 0..100u64 {
            let arrival = now + Duration::from_millis(k * 7 % 101);
            let slot = limiter.reserve(arrival, I, None).unwrap();
            assert!(slot.at - arrival <= limiter.pace(), "checkout {k}: waited {:?}", slot.at - arrival);
            now = slot.at;
            // Background takes every slot it can until the next checkout.
            let until = now + Duration::from_millis(500);
            while now < until {
                match limiter.take_background(now, 0) {
                    Ok(_) => {}
                    Err((retry, _)) => now = retry,
                }
            }
        }
    }

    /// The same through [`RateLimits::grant`] on a paused clock: the order in which waiters are
    /// let go is renewal, interactive, background, whatever the order they asked in.
    #[tokio::test(start_paused = true)]
    async fn waiters_are_let_go_renewal_first_then_interactive_then_background() {
        let limits = std::sync::Arc::new(RateLimits::new(2, 100, WINDOW));
        // Two slots 100 ms apart: they free one at a time.
        for _ in 0..2 {
            limits.grant(&reqwest::Method::POST, I, None).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let order = std::sync::Arc::new(Mutex::new(Vec::new()));
        let ask = |priority: Priority, name: &'static str| {
            let (limits, order) = (limits.clone(), order.clone());
            tokio::spawn(async move {
                limits.grant(&reqwest::Method::POST, priority, None).await.unwrap();
                order.lock().unwrap().push(name);
            })
        };
        let background = ask(Priority::Lane(Lane::Background), "background");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiting = ask(I, "interactive");
        tokio::time::sleep(Duration::from_millis(20)).await;
        let renewal = ask(Priority::Renewal, "renewal");
        for task in [background, waiting, renewal] {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["renewal", "interactive", "background"]);
    }

    #[test]
    fn a_429_pauses_every_lane() {
        let limiter = SlidingWindow::new(10, WINDOW);
        let t0 = Instant::now();
        limiter.pause(t0 + Duration::from_millis(300));
        assert_eq!(limiter.at(t0), t0 + Duration::from_millis(300));
        assert!(matches!(limiter.take_background(t0, 0), Err((at, _)) if at >= t0 + Duration::from_millis(300)));
    }
}
