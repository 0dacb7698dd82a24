//! The tracing spans of the client, their names and fields in one place:
//!
//! ```text
//! vandar.flow  operation track_id outcome latency_ms    a Client method making several calls
//! └ vandar.call  operation host method track_id         one generated call (or ravand upload)
//!     attempts status|error latency_ms
//!   ├ vandar.http  operation host method attempt         each HTTP request the call sends:
//!   │   renewed status|error latency_ms                   retries, the repeat after a 401
//!   └ vandar.http  operation="token_refresh"|"miando_token" ...   a renewal the call waited for
//! ```
//!
//! Every field is recorded once: what is known when a span opens goes in its constructor, the
//! rest (`status` or `error`, `latency_ms`, `attempts`, `outcome`) once when it ends. Fields name
//! no URL (paths carry customer ids and IBANs) and no credential; `error` is a fixed word
//! (`timeout`, `connect`, `body`, `transport`, or why the client answered itself:
//! `invalid`, `configuration`, `authentication`, `unavailable`). When no subscriber listens,
//! `info_span!` evaluates none of its fields and the spans cost a branch each: nothing is entered
//! or recorded on a disabled span (so with tracing's `log` feature and no tracing subscriber, the
//! spans' fields do not reach `log` either).
use std::future::Future;
use std::time::Instant;

use reqwest::{Method, Request, Response};
use tracing::field::Empty;
use tracing::{Instrument, Span};

use crate::error::Failure;

/// One HTTP request of a call: what its `vandar.http` span names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempt {
    /// The operation id (`balance`), or `token_refresh` / `miando_token` for a renewal.
    pub(crate) operation: &'static str,
    /// The host's short name (`api`, `ipg`, ...).
    pub(crate) host: &'static str,
    /// 1 for the call's first request, then one more for each request it sends.
    pub(crate) number: u32,
    /// Sent with a token renewed after this call's 401.
    pub(crate) renewed: bool,
    /// The call's lane in the rate budget.
    pub(crate) lane: crate::rate_limit::Lane,
    /// When the call stops waiting for permits and retries.
    pub(crate) deadline: Option<tokio::time::Instant>,
}

/// Sends `request` once, inside its own `vandar.http` span. `latency_ms` runs until the answer's
/// head arrives (the body is read by the caller, after it).
///
/// Not an `async fn`: the request goes to reqwest at once, so the future every call carries (and
/// moves) holds reqwest's small handle, not the request.
pub(crate) fn send(http: &reqwest::Client, request: Request, attempt: Attempt) -> impl Future<Output = reqwest::Result<Response>> {
    let span = tracing::info_span!(
        "vandar.http",
        operation = attempt.operation,
        host = attempt.host,
        method = request.method().as_str(),
        attempt = attempt.number,
        renewed = attempt.renewed.then_some(true),
        status = Empty,
        error = Empty,
        latency_ms = Empty,
    );
    let (method, host) = (method_name(request.method()), attempt.host);
    let pending = http.execute(request);
    async move {
        let started = Instant::now();
        let outcome = if span.is_disabled() { pending.await } else { pending.instrument(span.clone()).await };
        let (status, error) = match &outcome {
            Ok(response) => (Some(response.status().as_u16()), None),
            Err(error) => (None, Some(transport_error(error))),
        };
        crate::telemetry::http_request(method, host, status, error, started.elapsed());
        if !span.is_disabled() {
            span.record("latency_ms", elapsed_ms(started));
            match (status, error) {
                (Some(status), _) => span.record("status", status),
                (_, error) => span.record("error", error),
            };
        }
        outcome
    }
}

/// The `vandar.call` span of one generated call, ended once by [`Call::finish`].
pub(crate) struct Call {
    /// The span; the call's sends run inside it.
    pub(crate) span: Span,
    started: Instant,
}

impl Call {
    /// Opens the span; `track_id` is recorded later, once, when the transport fills it in.
    pub(crate) fn open(operation: &'static str, host: &'static str, method: &Method) -> Self {
        let span = tracing::info_span!(
            "vandar.call",
            operation,
            host,
            method = method.as_str(),
            track_id = Empty,
            attempts = Empty,
            status = Empty,
            error = Empty,
            latency_ms = Empty,
        );
        Self { span, started: Instant::now() }
    }

    /// Records how the call ended: `attempts` (the HTTP requests it sent: retries and the repeat
    /// after a 401 included, token renewals not), and the status of Vandar's last answer, or why
    /// there is none.
    pub(crate) fn finish(&self, attempts: u32, result: &reqwest::Result<Response>) {
        let span = &self.span;
        if span.is_disabled() {
            return;
        }
        span.record("attempts", attempts);
        span.record("latency_ms", elapsed_ms(self.started));
        match result {
            Ok(response) => match response.extensions().get::<Failure>() {
                // Only the client's own answers carry a Failure before decoding.
                Some(failure) => span.record("error", failure.kind()),
                None => span.record("status", response.status().as_u16()),
            },
            Err(error) => span.record("error", transport_error(error)),
        };
    }
}

/// The `vandar.flow` span of a [`crate::Client`] method that makes several calls (a tracked money
/// move and its lookup, `verify_payment`); run the method's calls in it with [`in_flow`].
#[cfg_attr(not(any(feature = "api", feature = "ipg")), allow(dead_code))]
pub(crate) fn flow(operation: &'static str, track_id: Option<&str>) -> Span {
    tracing::info_span!("vandar.flow", operation, track_id, outcome = Empty, latency_ms = Empty)
}

/// Runs `calls` inside `flow` (their `vandar.call` spans become its children) and records, once,
/// the `outcome` it names for the result and the `latency_ms`.
#[cfg_attr(not(any(feature = "api", feature = "ipg")), allow(dead_code))]
pub(crate) async fn in_flow<R>(flow: Span, calls: impl Future<Output = R>, outcome: impl FnOnce(&R) -> &'static str) -> R {
    if flow.is_disabled() {
        return calls.await;
    }
    let started = Instant::now();
    let result = calls.instrument(flow.clone()).await;
    flow.record("outcome", outcome(&result));
    flow.record("latency_ms", elapsed_ms(started));
    result
}

/// Runs `future` inside `span`, or as it is when nothing listens: entering and leaving a disabled
/// span still costs a few hundred instructions a poll (more with tracing's `log` feature, which
/// axum turns on), measured per call by benches/overhead.rs.
///
/// (A combinator, not an `async fn`: the future is held once, not once more beside its
/// instrumented form.)
pub(crate) fn within<F: Future>(span: &Span, future: F) -> futures::future::Either<F, tracing::instrument::Instrumented<F>> {
    if span.is_disabled() {
        futures::future::Either::Left(future)
    } else {
        futures::future::Either::Right(future.instrument(span.clone()))
    }
}

/// One word for a request that got no answer (the error's text may hold the URL).
pub(crate) fn transport_error(error: &reqwest::Error) -> &'static str {
    if error.is_timeout() {
        "timeout"
    } else if error.is_connect() {
        "connect"
    } else if error.is_body() || error.is_decode() {
        "body"
    } else {
        "transport"
    }
}

/// The method's name, held as a `&'static str` (the future every call carries stays small).
fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "_OTHER",
    }
}

/// Milliseconds since `started`.
fn elapsed_ms(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}
