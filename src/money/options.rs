//! [`RecoveryOptions`]: plain values, compiled with every feature set (the Client holds them).
use std::time::Duration;

/// How recovery treats the journal's open entries.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RecoveryOptions {
    /// How long after it was sent a money move's lookup proves it was not sent by finding nothing
    /// (default 2 minutes, beyond the request timeout and its retries: a request in flight may still
    /// land until then). A younger entry whose sender still lives (or may: the journal cannot tell)
    /// is left alone, [`SkipReason::BeingSent`](crate::money::SkipReason::BeingSent) or [`SkipReason::TooYoung`](crate::money::SkipReason::TooYoung); one whose sender is
    /// gone (a process killed, [`Sender::Gone`](crate::journal::Sender::Gone)) is looked up at
    /// once: found, it is settled; not found, it waits as [`SkipReason::NotFoundYet`](crate::money::SkipReason::NotFoundYet).
    pub min_age: Duration,
    /// How long one replica holds an entry it works on (default 2 minutes). Replicas recovering at
    /// once never work on the same entry twice.
    pub lease: Duration,
    /// Payments younger than this are left alone: the payer may still be on the payment page or
    /// on the way back to your callback (default 15 minutes).
    pub payments_after: Duration,
    /// Payments older than this are no longer swept, only reported open (default: none). Vandar's
    /// documents state no deadline for verify: gateways of this kind return unverified money to
    /// the payer after a while, so sweep well within a day.
    pub payments_before: Option<Duration>,
}

impl Default for RecoveryOptions {
    fn default() -> Self {
        Self {
            min_age: Duration::from_secs(120),
            lease: Duration::from_secs(120),
            payments_after: Duration::from_secs(15 * 60),
            payments_before: None,
        }
    }
}

/// Each option set on the defaults: `RecoveryOptions::default().min_age(Duration::ZERO)`. (The
/// struct is `#[non_exhaustive]`: a later option does not break a caller.)
impl RecoveryOptions {
    /// See [`RecoveryOptions::min_age`](#structfield.min_age).
    pub fn min_age(mut self, min_age: Duration) -> Self {
        self.min_age = min_age;
        self
    }

    /// See [`RecoveryOptions::lease`](#structfield.lease).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// See [`RecoveryOptions::payments_after`](#structfield.payments_after).
    pub fn payments_after(mut self, payments_after: Duration) -> Self {
        self.payments_after = payments_after;
        self
    }

    /// See [`RecoveryOptions::payments_before`](#structfield.payments_before).
    pub fn payments_before(mut self, payments_before: Option<Duration>) -> Self {
        self.payments_before = payments_before;
        self
    }
}
