//! How patiently a failed request is sent again: the policy and the one backoff (with jitter) that
//! every wait between attempts uses, the transport's and `verify_payment`'s alike. *Whether* a
//! request may be sent again is not decided here but by the classifier (`crate::reach`).
use std::time::Duration;

use reqwest::header::RETRY_AFTER;
use reqwest::Response;

/// How often and how patiently failed requests are repeated. Which failures are repeated is the
/// classifier's answer: a request that never reached Vandar or was refused unprocessed (a failed
/// connect, a 429), on any method; one whose answer was lost or that failed on Vandar's side
/// (timeout, 500/502/503/504), only on GET, PUT, DELETE, HEAD and OPTIONS. A POST that may have
/// been processed is never repeated: money moves reconcile through their lookup instead.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Longest single wait (also caps Retry-After).
    pub max_delay: Duration,
}

/// Each setting on the defaults: `RetryPolicy::default().max_attempts(1)`. (The struct is
/// `#[non_exhaustive]`: a later setting does not break a caller.)
impl RetryPolicy {
    /// Attempts in all, the first included (1: never repeated).
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// Backoff before the second attempt; doubled for each further one.
    pub fn base_delay(mut self, base_delay: Duration) -> Self {
        self.base_delay = base_delay;
        self
    }

    /// Longest single wait (also caps Retry-After).
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (1 for the second attempt): see [`backoff`].
    pub(crate) fn backoff(&self, retry: u32) -> Duration {
        backoff(self.base_delay, self.max_delay, retry)
    }

    /// The wait after a 429: Vandar's Retry-After (capped), or the backoff.
    pub(crate) fn after_rate_limit(&self, response: &Response, retry: u32) -> Duration {
        retry_after(response).map(|d| d.min(self.max_delay)).unwrap_or_else(|| self.backoff(retry))
    }
}

/// Exponential backoff with jitter: a random wait in [d/2, d], d = base * 2^(retry-1), capped at `max`.
pub(crate) fn backoff(base: Duration, max: Duration, retry: u32) -> Duration {
    let full = base.saturating_mul(1 << retry.saturating_sub(1).min(16)).min(max);
    full / 2 + full.mul_f64(fastrand::f64() / 2.0)
}

/// Vandar's Retry-After, in whole seconds.
pub(crate) fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_within_its_jitter_and_stops_at_the_cap() {
        let (base, max) = (Duration::from_millis(100), Duration::from_millis(700));
        for _ in 0..100 {
            let first = backoff(base, max, 1);
            assert!((Duration::from_millis(50)..=base).contains(&first), "{first:?}");
            let third = backoff(base, max, 3);
            assert!((Duration::from_millis(200)..=Duration::from_millis(400)).contains(&third), "{third:?}");
            assert!(backoff(base, max, 40) <= max);
        }
    }
}
