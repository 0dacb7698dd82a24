//! Vandar's documented budgets, enforced client-side: a call waits for its permit instead of being
//! rejected. One set of limiters is shared by every clone of a [`crate::Client`].
use std::num::NonZeroU32;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota};

/// "POST: 30 requests per 3 seconds; other methods: 100 requests per 3 seconds" (Vandar's introduction).
pub const POST_PER_WINDOW: u32 = 30;
/// See [`POST_PER_WINDOW`].
pub const OTHER_PER_WINDOW: u32 = 100;
/// See [`POST_PER_WINDOW`].
pub const WINDOW: Duration = Duration::from_secs(3);

/// One limiter for POST, one for every other method.
pub struct RateLimits {
    post: DefaultDirectRateLimiter,
    other: DefaultDirectRateLimiter,
}

impl RateLimits {
    /// Vandar's documented limits.
    pub fn vandar() -> Self {
        Self::new(POST_PER_WINDOW, OTHER_PER_WINDOW, WINDOW)
    }

    /// `post` POST requests and `other` other requests per `window` (bursts up to the budget).
    pub fn new(post: u32, other: u32, window: Duration) -> Self {
        let quota = |n: u32| {
            let n = NonZeroU32::new(n.max(1)).expect("at least one");
            Quota::with_period(window / n.get()).expect("a non-zero period").allow_burst(n)
        };
        Self { post: governor::RateLimiter::direct(quota(post)), other: governor::RateLimiter::direct(quota(other)) }
    }

    /// Waits until the budget of `method` allows one more request.
    pub async fn acquire(&self, method: &reqwest::Method) {
        if method == reqwest::Method::POST { &self.post } else { &self.other }.until_ready().await;
    }
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimits").finish_non_exhaustive()
    }
}
