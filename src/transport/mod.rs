//! The send path of every call. progenitor's `ClientHooks::exec` hands each generated call to
//! [`Transport::execute`], so credentials, the bounds check, rate limits, retries and error
//! decoding live here once for all generated operations; token renewals (`crate::auth`) and the
//! multipart upload go out through the same [`Transport::send_one`].
//!
//! * [`credentials`]: which credential a call carries; credentials never leave the configured origin.
//! * [`retry`]: the policy and the one backoff; whether a failure is repeated is the classifier's
//!   answer (`crate::reach`): any method after a failed connect or a 429, GET/PUT/DELETE/HEAD/OPTIONS
//!   also after a lost answer or a 500/502/503/504, a POST never once it may have been processed.
//! * [`spans`]: the tracing spans, their names and fields in one place.
//! * A 401 on a token-authenticated call renews the token once and repeats the request once.
use std::sync::Arc;

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH};
use reqwest::{Method, Request, Response, StatusCode};

use crate::auth::{TokenEndpoint, TokenManager, TokenRequest};
use crate::error::{Failure, Held};
use crate::generated::operations::Operation;
use crate::host::Host;
use crate::journal::{Begin, Intent, Journal, Outcome, Target};
use crate::rate_limit::{Lane, PermitRefused, Priority, RateLimits};
use crate::reach::{classify, observe_transport, Observed};
use crate::secret::Secret;

mod credentials;
pub(crate) mod options;
pub(crate) mod retry;
pub(crate) mod spans;

use credentials::{with_api_key, Credential};
pub use options::CallOptions;
pub use retry::RetryPolicy;

/// What every generated client of every host shares with every clone of [`crate::Client`]:
/// the HTTP client, the configuration, the token state and the rate budget. progenitor's inner
/// type is `Arc<Transport>`. Opaque (its fields are private; `Debug` hides every secret): it is
/// public so that what `ClientInfo::inner` returns has a path you can write, `vandar::Transport`.
pub struct Transport {
    pub(crate) http: reqwest::Client,
    /// The configured business slug, filled into every generated call that takes `business`.
    pub(crate) business_slug: Option<String>,
    /// Base URL of each host, indexed by [`Host::index`].
    pub(crate) base_urls: [String; 4],
    /// The same, parsed once (every call checks its URL against its host's).
    pub(crate) parsed_base_urls: [url::Url; 4],
    pub(crate) ipg_api_key: Option<Secret>,
    /// The business's bearer token and its renewal.
    pub(crate) business_tokens: Option<TokenManager>,
    /// Miando's bearer token and its renewal.
    pub(crate) miando_tokens: Option<TokenManager>,
    pub(crate) limits: Arc<RateLimits>,
    pub(crate) retry: RetryPolicy,
    /// Where money moves are recorded before they leave (see `crate::journal`).
    pub(crate) journal: Option<Arc<dyn Journal>>,
    /// The longest a call waits for permits and retries, unless its [`CallOptions`] say otherwise.
    pub(crate) max_wait: Option<std::time::Duration>,
    /// Lanes set per operation by the Client's configuration (the rest: the spec's default).
    pub(crate) lanes: std::collections::HashMap<Operation, Lane>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport").finish_non_exhaustive()
    }
}

impl Transport {
    /// The business slug a generated call starts with (build.rs makes each builder's `business`
    /// begin as this; `.business(..)` still overrides it per call).
    #[cfg_attr(not(any(feature = "api", feature = "batch")), allow(dead_code))] // no ipg call takes the slug
    ///
    /// Without a configured slug it starts empty, and [`Transport::empty_path_value`] refuses the
    /// call unsent as a typed [`Failure::Configuration`] (progenitor's builders carry a failure only
    /// as a string, so the missing slug is not reported through them).
    pub(crate) fn business(&self) -> Result<String, String> {
        Ok(self.business_slug.clone().unwrap_or_default())
    }

    /// A path parameter of `operation` that `url` leaves empty (its template segment `{name}`
    /// is an empty segment): the missing business slug as a configuration failure, any other as
    /// invalid input. Read against the operation's path template in the spec's table.
    fn empty_path_value(&self, operation: Operation, url: &url::Url) -> Option<Failure> {
        let base = self.parsed_base_urls[operation.host().index()].path().trim_end_matches('/');
        let path = url.path().strip_prefix(base)?;
        let template = operation.path().split('/');
        for (part, segment) in template.zip(path.split('/')) {
            let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) else { continue };
            if !segment.is_empty() {
                continue;
            }
            return Some(match name {
                "business" if self.business_slug.is_none() => Failure::Configuration(format!(
                    "{operation} needs a business slug: configure ClientBuilder::business(..) or set .business(..) on the call"
                )),
                _ => Failure::Invalid { field: name.to_string(), reason: "is empty".into() },
            });
        }
        None
    }

    /// Sends one call (see the module docs) inside its `vandar.call` span; each HTTP request it
    /// sends gets a `vandar.http` span of its own (see [`spans`]).
    ///
    /// `operation_id` is what the generated code names the call by; an id the spec's table does not
    /// hold on `host` (one spec makes both, so never in practice) is refused unsent.
    pub(crate) async fn execute(&self, host: Host, request: Request, operation_id: &'static str) -> reqwest::Result<Response> {
        match Operation::from_id(operation_id).filter(|operation| operation.host() == host) {
            Some(operation) => self.execute_operation(operation, request).await,
            None => Ok(refused_locally(StatusCode::UNAUTHORIZED, Failure::Configuration(format!(
                "{operation_id} is not an operation of the spec on the {} host; not sent",
                host.name()
            )))),
        }
    }

    /// [`Transport::execute`] for an operation of the spec's table.
    pub(crate) async fn execute_operation(&self, operation: Operation, request: Request) -> reqwest::Result<Response> {
        let host = operation.host();
        let scope = options::current();
        let lane = scope.lane.or_else(|| self.lanes.get(&operation).copied()).unwrap_or_else(|| operation.default_lane());
        let deadline = scope.deadline.or_else(|| self.max_wait.map(|w| tokio::time::Instant::now() + w));
        let call = spans::Call::open(operation.id(), host.name(), request.method());
        let mut sent = 0;
        let labels = spans::Attempt { operation: operation.id(), host: host.name(), number: 0, renewed: false, lane, deadline };
        let result = spans::within(&call.span, self.send_call(operation, request, labels, &call.span, &mut sent)).await;
        call.finish(sent, &result);
        match result {
            // A failure's body is read (boxed: a large future, needed only then).
            Ok(response) if needs_decoding(&response) => Ok(spans::within(&call.span, Box::pin(decode_failure(response))).await),
            Ok(response) => Ok(response),
            Err(error) => {
                // URLs carry customer ids and IBANs: errors leave without them.
                let error = error.without_url();
                call.span.in_scope(|| tracing::warn!(%error, "request failed"));
                Err(error)
            }
        }
    }

    /// Checks, credentials and the body's api_key, then the sends; `sent` counts the HTTP
    /// requests that left.
    ///
    /// (An `async` block, not an `async fn`: the request is held once, not once more as a local.)
    fn send_call<'a>(
        &'a self,
        operation: Operation,
        mut request: Request,
        labels: spans::Attempt,
        span: &'a tracing::Span,
        sent: &'a mut u32,
    ) -> impl std::future::Future<Output = reqwest::Result<Response>> + 'a {
        async move {
            let host = operation.host();
            // Credentials go only to the configured base URL of this host (and redirects are never followed).
            if !self.is_configured_host(host, request.url()) {
                return Ok(refused_locally(StatusCode::UNAUTHORIZED, Failure::Configuration(
                    "refusing to send credentials outside the configured Vandar host".into(),
                )));
            }
            if let Some(failure) = self.empty_path_value(operation, request.url()) {
                let status = if matches!(failure, Failure::Configuration(_)) { StatusCode::UNAUTHORIZED } else { StatusCode::BAD_REQUEST };
                return Ok(refused_locally(status, failure));
            }
            let credential = match self.credential(operation) {
                Ok(credential) => credential,
                Err(message) => return Ok(refused_locally(StatusCode::UNAUTHORIZED, Failure::Configuration(message))),
            };
            // The spec's bounds on the query and the body, before anything is sent. The body is parsed
            // once, only for an operation with rules; a money move's track_id is read from it for the span.
            if let Err((field, reason)) = crate::validate::check_query(operation.id(), request.url()) {
                return Ok(refused_locally(StatusCode::BAD_REQUEST, Failure::Invalid { field, reason }));
            }
            let money_move = operation.money_move();
            let mut intent = None;
            if money_move.is_some() || crate::validate::checks_body(operation.id()) {
                let body = request.body().and_then(|b| b.as_bytes()).and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok());
                if let Some(body) = body {
                    if let Err((field, reason)) = crate::validate::check(operation.id(), &body) {
                        return Ok(refused_locally(StatusCode::BAD_REQUEST, Failure::Invalid { field, reason }));
                    }
                    if let Some(mark) = money_move {
                        let track_id = mark.track_id.and_then(|field| body.get(field)).and_then(|t| t.as_str());
                        span.record("track_id", track_id);
                        if self.journal.is_some() {
                            // A move without an identifying field is journaled under a key of its own.
                            let key = track_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
                            // Boxed: held across the sends, and every call's future would carry it.
                            let mut journaled = Intent::money_move(operation.id(), key, mark.unit, &body, path_customer(request.url()));
                            journaled.target = Some(self.target(host, request.method(), request.url()));
                            intent = Some(Box::new(journaled));
                        }
                    }
                }
            }
            // What must survive a crash is on disk before the request leaves, and a track id the
            // journal holds (sending, in doubt, done) is never sent again: the caller reconciles it.
            if let (Some(journal), Some(intent)) = (&self.journal, &intent) {
                match journal.begin(intent).await {
                    Ok(Begin::Sending) => {}
                    Ok(Begin::Held(entry)) => {
                        let same_move = entry.intent.is_same_move(intent)
                            && entry.intent.target.as_ref().is_none_or(|sent| intent.target.as_ref().is_some_and(|now| sent.same_place(now)));
                        let held = Held {
                            operation: operation.id().to_string(),
                            track_id: entry.intent.key.clone(),
                            state: entry.state(),
                            age: entry.age(),
                            outcome: entry.outcome.clone(),
                            same_move,
                        };
                        return Ok(refused_locally(StatusCode::CONFLICT, Failure::Held(Box::new(held))));
                    }
                    Err(error) => {
                        let message = format!("{}: {error}; the money move was not sent", journal.describe());
                        return Ok(refused_locally(StatusCode::SERVICE_UNAVAILABLE, Failure::Unavailable { component: "journal", message }));
                    }
                }
            }
            if let Credential::ApiKey(key) = credential {
                let bytes = with_api_key(request.body().and_then(|b| b.as_bytes()), key);
                request.headers_mut().remove(CONTENT_LENGTH);
                *request.body_mut() = Some(bytes.into());
            }
            // `number` and `renewed` are set for each send.
            let result = self.send_with_retries(&credential, operation.is_idempotent(), request, labels, sent).await;
            if let Some(intent) = &intent {
                Box::pin(self.journal_update(&intent.key, &journaled_outcome(&result))).await;
            }
            result
        }
    }

    /// Where a request to `host` at `url` goes, for the journal: the path under the host's base URL.
    pub(crate) fn target(&self, host: Host, method: &Method, url: &url::Url) -> Target {
        let base = self.parsed_base_urls[host.index()].path().trim_end_matches('/');
        let path = url.path().strip_prefix(base).filter(|p| p.starts_with('/')).unwrap_or(url.path());
        Target::new(host.name(), method.as_str(), path)
    }

    /// Records `outcome` for the journal entry `key`, if this client has a journal. A journal that
    /// fails now only leaves the entry open: recovery settles it through the lookup.
    pub(crate) async fn journal_update(&self, key: &str, outcome: &Outcome) {
        let Some(journal) = &self.journal else { return };
        if let Err(error) = journal.update(key, outcome).await {
            tracing::warn!(journal = %journal.describe(), %error, outcome = outcome.kind(), "could not record a money move's outcome; recovery will settle it");
        }
    }

    /// The sends of one call, each in its own `vandar.http` span labelled as `labels`, numbered
    /// from 1 through `sent`.
    ///
    /// (An `async` block, not an `async fn`: the request is held once, not once more as a local.)
    fn send_with_retries<'a>(
        &'a self,
        credential: &'a Credential<'a>,
        idempotent: bool,
        request: Request,
        labels: spans::Attempt,
        sent: &'a mut u32,
    ) -> impl std::future::Future<Output = reqwest::Result<Response>> + 'a {
        async move {
            let mut request = Some(request);
            let mut renewed = false;
            // After its one renewal, a call that meets a 401 again (the lineage rotated meanwhile,
            // e.g. by another replica while this call waited for a permit) repeats once more with a
            // newer valid pair from the store, if there is one, rather than failing.
            let mut adopted = false;
            loop {
                // The token first: a renewal may make this wait, and waiting after the permit would
                // send late, squeezing the window behind the permit.
                let mut token = match credential {
                    Credential::Bearer(manager) => match manager.token(self).await {
                        Ok(token) => Some(token),
                        Err(failure) => return Ok(refused_locally(status_of(&failure), failure)),
                    },
                    _ => None,
                };
                *sent += 1;
                let attempt = spans::Attempt { number: *sent, renewed, ..labels };
                let method = request.as_ref().expect("kept while the request can be repeated").method().clone();
                let outcome = self
                    .send_one(&method, attempt, Priority::Lane(labels.lane), labels.deadline, || {
                        // Generated bodies are buffered JSON and clone for a repeat; a streamed body
                        // (multipart upload) is sent once.
                        let original = request.as_ref().expect("kept while the request can be repeated");
                        let mut this = match original.try_clone() {
                            Some(copy) => copy,
                            None => request.take().expect("checked above"),
                        };
                        let (Credential::Bearer(manager), Some(read)) = (credential, token.as_mut()) else { return Ok(this) };
                        // A pair renewed while this call waited for its permit (here, or in another
                        // process and adopted here) replaces the token read before; this never waits.
                        if let Some(newer) = manager.current() {
                            *read = newer;
                        }
                        let value = manager.bearer(read).ok_or_else(|| {
                            Failure::Authentication { status: None, message: "the access token holds characters a header cannot".into() }
                        })?;
                        this.headers_mut().insert(AUTHORIZATION, value);
                        Ok(this)
                    })
                    .await;
                let outcome = match outcome {
                    Ok(outcome) => outcome,
                    Err(failure) => {
                        *sent -= 1; // refused before it left
                        return Ok(refused_locally(status_of(&failure), failure));
                    }
                };
                if request.is_none() {
                    return outcome; // a streamed body: sent once
                }
                // The repeat after a renewal is not a retry: it does not use up the retry budget.
                let tries = *sent - u32::from(renewed) - u32::from(adopted);
                let observed = match &outcome {
                    Ok(response) if response.status().is_success() => return outcome,
                    Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !adopted => {
                        let (Credential::Bearer(manager), Some(stale)) = (credential, &token) else { return outcome };
                        // The first 401 renews; a second one (after the renewal) adopts a newer stored pair if any.
                        let first = !renewed;
                        let again = Box::pin(async move {
                            if first {
                                manager.renew_after_401(self, stale).await.map(|_| true)
                            } else {
                                manager.newer_than(stale).await.map(|newer| newer.is_some())
                            }
                        })
                        .await;
                        if first { renewed = true } else { adopted = true }
                        match again {
                            Ok(true) => continue,
                            Ok(false) => return outcome,
                            Err(failure) => return Ok(refused_locally(status_of(&failure), failure)),
                        }
                    }
                    Ok(response) => {
                        if response.status() == StatusCode::TOO_MANY_REQUESTS {
                            crate::telemetry::rate_limited(labels.host);
                        }
                        Observed::Status(response.status().as_u16())
                    }
                    Err(error) => observe_transport(error),
                };
                if tries >= self.retry.max_attempts || !classify(observed).may_resend(idempotent) {
                    return outcome;
                }
                let wait = match &outcome {
                    Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS => self.retry.after_rate_limit(response, tries),
                    _ => self.retry.backoff(tries),
                };
                // Retries stay within the call's deadline: one that could not start in time is not made.
                if labels.deadline.is_some_and(|d| tokio::time::Instant::now() + wait > d) {
                    return outcome;
                }
                tracing::info!(attempt = *sent, wait_ms = wait.as_millis() as u64, "retrying");
                let reason = match &outcome {
                    Ok(response) => response.status().as_u16().to_string(),
                    Err(error) => spans::transport_error(error).to_string(),
                };
                crate::telemetry::retry(labels.host, reason);
                Box::pin(tokio::time::sleep(wait)).await; // boxed: the rare path stays out of every call's future
            }
        }
    }

    /// The one place a request leaves the client: a rate permit for `method`, then `request`
    /// builds what is sent (after the wait, so it carries the freshest token), then the send in
    /// its own `vandar.http` span. Calls and token renewals alike go out through here.
    ///
    /// (An `async` block, not an `async fn`: its arguments are held once, not once more as locals,
    /// and every call's future carries this one.)
    pub(crate) fn send_one<'a>(
        &'a self,
        method: &'a Method,
        attempt: spans::Attempt,
        priority: Priority,
        deadline: Option<tokio::time::Instant>,
        request: impl FnOnce() -> Result<Request, Failure> + 'a,
    ) -> impl std::future::Future<Output = Result<reqwest::Result<Response>, Failure>> + 'a {
        async move {
            let post = *method == Method::POST;
            let asked = tokio::time::Instant::now();
            let request = loop {
                // A free slot now needs no future; a wait is boxed, off every call's own future.
                let granted = match self.limits.grant_now(method, priority) {
                    Some(permit) => Ok(permit),
                    None => Box::pin(self.limits.grant(method, priority, deadline)).await,
                };
                let permit = match granted {
                    Ok(permit) => permit,
                    Err(PermitRefused::Unavailable(unavailable)) => {
                        return Err(Failure::Unavailable { component: "rate limiter", message: unavailable.0 });
                    }
                    Err(PermitRefused::Deadline(mut missed)) => {
                        missed.waited = asked.elapsed();
                        crate::telemetry::permit_refused(priority, post);
                        return Err(Failure::Deadline(missed));
                    }
                };
                // Counted at send time: a stall between the permit and here moves the slot to now
                // (or takes another), so a late send never lands in Vandar's next window.
                match self.limits.confirm(&permit).await {
                    Ok(true) => break request()?,
                    Ok(false) => continue,
                    Err(unavailable) => return Err(Failure::Unavailable { component: "rate limiter", message: unavailable.0 }),
                }
            };
            crate::telemetry::permit_wait(priority, post, asked.elapsed());
            let sent = spans::send(&self.http, request, attempt).await;
            if let Ok(response) = &sent {
                if response.status() == StatusCode::TOO_MANY_REQUESTS {
                    // Vandar counted more than this client did: the whole fleet pauses this budget.
                    self.limits.rate_limited(method, retry::retry_after(response)).await;
                }
            }
            Ok(sent)
        }
    }
}

/// A token renewal goes out like every call: a permit, a `vandar.http` span, the send.
impl TokenEndpoint for Transport {
    async fn send_token_request(&self, token_request: TokenRequest, attempt: u32) -> Result<reqwest::Result<Response>, Failure> {
        let operation = token_request.operation;
        let url = operation.url(&self.base_urls[operation.host().index()], &[]);
        let request = self.http.post(url).json(&token_request.body).build().map_err(|e| {
            Failure::Configuration(format!("could not build the token renewal request: {}", e.without_url()))
        })?;
        // The most urgent request of all: every call of this process (and, through the shared
        // store, of the fleet) waits for it. Ahead of every lane, and never abandoned for a
        // caller's deadline.
        let attempt = spans::Attempt {
            operation: operation.id(),
            host: operation.host().name(),
            number: attempt,
            renewed: false,
            lane: Lane::Interactive,
            deadline: None,
        };
        self.send_one(&Method::POST, attempt, Priority::Renewal, None, || Ok(request)).await
    }
}

/// What a money move's sends came to, for the journal: answered, refused (before sending or by
/// Vandar), or in doubt (left open for the lookup or for recovery).
fn journaled_outcome(result: &reqwest::Result<Response>) -> Outcome {
    let observed = match result {
        Ok(response) if response.status().is_success() => return Outcome::Answered,
        Ok(response) => match response.extensions().get::<Failure>() {
            Some(failure) => return Outcome::RefusedBeforeSending { reason: failure.kind().to_string() },
            None => Observed::Status(response.status().as_u16()),
        },
        Err(error) => observe_transport(error),
    };
    let reason = match result {
        Ok(response) => format!("HTTP {}", response.status().as_u16()),
        Err(error) => format!("no answer: {}", spans::transport_error(error)),
    };
    match classify(observed).reach {
        crate::reach::Reach::NeverSent => Outcome::RefusedBeforeSending { reason },
        crate::reach::Reach::Refused => Outcome::RefusedByVandar { reason },
        crate::reach::Reach::Processed => Outcome::Answered,
        crate::reach::Reach::InDoubt => Outcome::Indeterminate { reason },
    }
}

/// The customer a wallet movement's URL names (`.../customers/{customer}/wallet/...`).
fn path_customer(url: &url::Url) -> Option<String> {
    let mut segments = url.path_segments()?;
    segments.by_ref().find(|s| *s == "customers")?;
    segments.next().map(str::to_string)
}

/// The status a local refusal is handed to the generated code with.
fn status_of(failure: &Failure) -> StatusCode {
    match failure {
        Failure::Unavailable { .. } | Failure::Deadline { .. } => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNAUTHORIZED,
    }
}

/// A non-success answer from Vandar (the client's own refusals carry their [`Failure`] already).
fn needs_decoding(response: &Response) -> bool {
    !response.status().is_success() && response.extensions().get::<Failure>().is_none()
}

/// Reads the body of an answer that [`needs_decoding`] and attaches how it reads ([`Failure`]), so
/// converting it into [`crate::Error`] needs no I/O.
async fn decode_failure(response: Response) -> Response {
    let status = response.status();
    let headers = response.headers().clone();
    let retry = retry::retry_after(&response);
    let body = response.bytes().await.unwrap_or_default();
    let failure = Failure::from_body(status.as_u16(), &body, retry);
    let mut rebuilt = http::Response::builder().status(status).body(body).expect("status and body are valid");
    *rebuilt.headers_mut() = headers;
    rebuilt.extensions_mut().insert(failure);
    Response::from(rebuilt)
}

/// The client's own answer to a call it refused before sending: the generated code reads it as a
/// failed answer, and [`crate::error::from_response`] turns its [`Failure`] into the [`crate::Error`].
fn refused_locally(status: StatusCode, failure: Failure) -> Response {
    let mut response = http::Response::builder().status(status).body(Vec::new()).expect("valid");
    response.extensions_mut().insert(failure);
    Response::from(response)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A transport without credentials, its hosts at `base_urls`.
    pub(crate) fn transport(base_urls: [&str; 4]) -> Transport {
        crate::tls::install_default_provider();
        Transport {
            http: reqwest::Client::new(),
            business_slug: None,
            base_urls: base_urls.map(String::from),
            parsed_base_urls: base_urls.map(|u| url::Url::parse(u).unwrap()),
            ipg_api_key: None,
            business_tokens: None,
            miando_tokens: None,
            limits: Arc::new(RateLimits::vandar()),
            retry: RetryPolicy::default(),
            journal: None,
            max_wait: None,
            lanes: Default::default(),
        }
    }

    /// Every call's future is held, and moved, by the caller: the rare paths (a renewal, a failure's
    /// body, the Redis limiter) are boxed so it stays small (it was 6.3 KB before they were).
    #[test]
    fn a_calls_future_stays_small() {
        let transport = transport(["http://a", "http://b", "http://c", "http://d"]);
        let request = Request::new(Method::GET, url::Url::parse("http://a/x").unwrap());
        let call = transport.execute(Host::Api, request, "balance");
        assert!(std::mem::size_of_val(&call) < 3 * 1024, "{} bytes", std::mem::size_of_val(&call));
    }
}
