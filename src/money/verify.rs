//! How many times [`crate::Client::verify_payment`] verifies one payment, and how long it waits between.

use std::time::Duration;

/// How [`crate::Client::verify_payment`] repeats verify while the lookup says the payment is paid but not
/// yet verified (set with [`crate::ClientBuilder::verify_policy`]).
///
/// One call sends at most `verifies` verify requests and as many transaction lookups; each of those
/// goes through the transport like every call, so the [`crate::RetryPolicy`]'s `max_attempts` bounds
/// each one's repeats. Worst case for one `verify_payment`:
/// `verifies × 2 × retry.max_attempts` requests (with the defaults, 3 × 2 × 3 = 18), all within
/// the Client's `max_wait` if one is set. Repeating verify is safe (Vandar settles a transaction
/// once and refuses the rest); the bound is there for the rate budget, not for money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Verify requests in one call, the first included (at least 1).
    pub verifies: u32,
    /// The wait before the second verify; doubled for each further one, with jitter.
    pub base_delay: Duration,
    /// The longest single wait.
    pub max_delay: Duration,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        Self { verifies: 3, base_delay: Duration::from_millis(400), max_delay: Duration::from_secs(2) }
    }
}

impl VerifyPolicy {
    /// The most requests one `verify_payment` can send with this policy and a
    /// [`crate::RetryPolicy`] of `max_attempts`.
    pub fn worst_case_requests(&self, max_attempts: u32) -> u32 {
        self.verifies.max(1).saturating_mul(2).saturating_mul(max_attempts.max(1))
    }
}
