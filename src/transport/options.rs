//! Per-call settings that reach every request a call (or a flow of calls) sends: its lane in the
//! rate budget and its deadline for getting a permit.
use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::rate_limit::Lane;

tokio::task_local! {
    static SCOPE: Scope;
}

/// What the calls inside [`CallOptions::run`] carry.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Scope {
    pub(crate) lane: Option<Lane>,
    pub(crate) deadline: Option<Instant>,
}

/// The scope the current task runs in (none outside [`CallOptions::run`]).
pub(crate) fn current() -> Scope {
    SCOPE.try_with(|scope| *scope).unwrap_or_default()
}

/// Runs `future` with the deadline `max_wait` from now, unless a deadline is set already (a flow
/// of calls shares the one fixed when it started).
#[cfg_attr(not(any(feature = "api", feature = "ipg")), allow(dead_code))] // the money moves and verify_payment
pub(crate) async fn with_deadline<F: Future>(max_wait: Option<Duration>, future: F) -> F::Output {
    let outer = current();
    match (outer.deadline, max_wait) {
        (None, Some(max_wait)) => SCOPE.scope(Scope { deadline: Some(Instant::now() + max_wait), ..outer }, future).await,
        _ => future.await,
    }
}

/// Settings for the calls run inside [`CallOptions::run`]: generated calls, the `Client`'s money
/// moves and `verify_payment` (with their lookups) alike.
///
/// ```no_run
/// # async fn run(vandar: vandar::Client) -> Result<(), vandar::Error> {
/// use std::time::Duration;
/// use vandar::{rate_limit::Lane, CallOptions};
/// // A report: background work, which never takes the slots kept for checkouts.
/// let report = CallOptions::new().lane(Lane::Background).run(vandar.api().transaction_list().send()).await?;
/// // A payer waits: interactive, and never more than 2 s for a permit (plus retries).
/// let balance = CallOptions::new().lane(Lane::Interactive).max_wait(Duration::from_secs(2)).run(vandar.api().balance().send()).await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CallOptions {
    lane: Option<Lane>,
    max_wait: Option<Duration>,
}

impl CallOptions {
    /// No settings: the Client's defaults apply.
    pub fn new() -> Self {
        Self::default()
    }

    /// The lane the calls wait in (default: by operation, see `ClientBuilder::lane_for`).
    pub fn lane(mut self, lane: Lane) -> Self {
        self.lane = Some(lane);
        self
    }

    /// The longest the calls may wait for rate-limit permits and retries, counted from
    /// [`CallOptions::run`]; past it a call is refused before sending with
    /// [`crate::Error::DeadlineExceeded`] (a money move or `verify_payment` whose lookup runs out
    /// of time is `Indeterminate` / `Pending`, never a plain error).
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = Some(max_wait);
        self
    }

    /// Runs `future` with these settings. Nested runs: the inner lane wins, the earlier deadline wins.
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        let outer = current();
        let deadline = match (outer.deadline, self.max_wait.map(|w| Instant::now() + w)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        SCOPE.scope(Scope { lane: self.lane.or(outer.lane), deadline }, future).await
    }
}
