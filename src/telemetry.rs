//! Metrics through the [`metrics`](https://docs.rs/metrics) facade (feature `metrics`): install
//! any recorder (Prometheus, OpenTelemetry, StatsD) and the client reports to it. Without the
//! feature every function here is empty and compiles away.
//!
//! Names follow OpenTelemetry's HTTP client conventions where they apply; the rest are the
//! client's own. Labels never carry a token, an IBAN, a card, a customer or a track id.
//!
//! | name | kind | labels | what |
//! | --- | --- | --- | --- |
//! | `http.client.request.duration` | histogram (s) | `http.request.method`, `server.address` (host: `api`, `ipg`, ...), `http.response.status_code` (when an answer came), `error.type` (only on a failure) | every HTTP request sent, until its answer's head |
//! | `vandar.rate_limit.wait` | histogram (s) | `lane`, `budget` (`post`, `other`) | the wait for a rate-limit permit |
//! | `vandar.rate_limit.refused` | counter | `lane`, `budget` | permits refused by a call's deadline (nothing sent) |
//! | `vandar.http.rate_limited` | counter | `server.address` | 429 answers received |
//! | `vandar.http.retries` | counter | `server.address`, `reason` | requests sent again (`connect`, `timeout`, `transport`, or the status) |
//! | `vandar.token.refreshes` | counter | `token` (`business`, `miando`), `outcome` (`renewed`, `adopted`, `refused`, `failed`) | token renewals; `refused` is a refresh token Vandar no longer takes |
//! | `vandar.money_moves` | counter | `operation`, `outcome` (`answered`, `reconciled`, `indeterminate`, `failed`) | the Client's money moves |
//! | `vandar.webhooks` | counter | `verdict` (`accepted`, `unsigned`, `bad_signature`, `malformed`) | Miando webhooks checked |
//! | `vandar.journal.open_entries` | gauge | | journal entries left open by the last recovery |
// Each host feature reports what its calls do: with some features off, some reports go unused.
#![cfg_attr(not(all(feature = "api", feature = "ipg")), allow(dead_code))]
use std::time::Duration;

use crate::rate_limit::Priority;

#[cfg(feature = "metrics")]
fn budget(post: bool) -> &'static str {
    if post {
        "post"
    } else {
        "other"
    }
}

/// One HTTP request answered (`status`) or not (`error`), after `took`. `error.type` is set only
/// when the request failed (no answer, or a 4xx/5xx), and `http.response.status_code` only when an
/// answer came, as OpenTelemetry's HTTP conventions have it: no label is ever empty.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn http_request(method: &str, host: &'static str, status: Option<u16>, error: Option<&'static str>, took: Duration) {
    #[cfg(feature = "metrics")]
    {
        let status = status.map(|s| s.to_string());
        let failed = status.clone().filter(|s| s.starts_with(['4', '5']));
        let error = error.map(str::to_string).or(failed);
        let mut labels = vec![metrics::Label::new("http.request.method", method.to_string()), metrics::Label::from_static_parts("server.address", host)];
        labels.extend(status.map(|status| metrics::Label::new("http.response.status_code", status)));
        labels.extend(error.map(|error| metrics::Label::new("error.type", error)));
        metrics::histogram!("http.client.request.duration", labels).record(took.as_secs_f64());
    }
}

/// A permit granted after `waited`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn permit_wait(lane: Priority, post: bool, waited: Duration) {
    #[cfg(feature = "metrics")]
    metrics::histogram!("vandar.rate_limit.wait", "lane" => lane.name(), "budget" => budget(post)).record(waited.as_secs_f64());
}

/// A permit refused by the call's deadline.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn permit_refused(lane: Priority, post: bool) {
    #[cfg(feature = "metrics")]
    metrics::counter!("vandar.rate_limit.refused", "lane" => lane.name(), "budget" => budget(post)).increment(1);
}

/// A 429 from Vandar.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rate_limited(host: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("vandar.http.rate_limited", "server.address" => host).increment(1);
}

/// A request about to be sent again, for `reason`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn retry(host: &'static str, reason: String) {
    #[cfg(feature = "metrics")]
    metrics::counter!("vandar.http.retries", "server.address" => host, "reason" => reason).increment(1);
}

/// A token renewal of `token` (`business`, `miando`) ended in `outcome`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn token_refresh(token: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("vandar.token.refreshes", "token" => token, "outcome" => outcome).increment(1);
}

/// A Client money move ended in `outcome`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn money_move(operation: &'static str, outcome: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("vandar.money_moves", "operation" => operation, "outcome" => outcome).increment(1);
}

/// A webhook checked, with its `verdict`.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn webhook(verdict: &'static str) {
    #[cfg(feature = "metrics")]
    metrics::counter!("vandar.webhooks", "verdict" => verdict).increment(1);
}

/// The journal entries left open.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn journal_open(count: usize) {
    #[cfg(feature = "metrics")]
    metrics::gauge!("vandar.journal.open_entries").set(count as f64);
}
