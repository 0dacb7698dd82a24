//! The send path of every generated call. progenitor's `ClientHooks::exec` owns the send, so
//! credentials, rate limits, retries and error decoding all live here, once for all 119 operations.
//!
//! Retry rules (money is never moved twice by accident):
//! * every method: a connect failure (the request never left) and a 429 (Vandar rejected it
//!   unprocessed) are retried, after Retry-After or a backoff;
//! * GET, PUT, DELETE: also timeouts and 502/503/504, with exponential backoff and jitter;
//! * POST (and PATCH): never after the request may have reached Vandar. Money-moving calls with a
//!   tracking id reconcile through their documented lookup instead (see `crate::tracked`).
//! * a 401 on a token-authenticated call renews the token once and repeats the request once.
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, CONTENT_LENGTH, RETRY_AFTER};
use reqwest::{Method, Request, Response, StatusCode};

use crate::auth::TokenManager;
use crate::error::Failure;
use crate::rate_limit::RateLimits;
use crate::spans;
use crate::Secret;

/// Vandar's hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Host {
    /// `https://api.vandar.io`
    Api,
    /// `https://ipg.vandar.io`
    Ipg,
    /// `https://batch.vandar.io`
    Batch,
    /// `https://subscription.vandar.io`
    Subscription,
}

impl Host {
    /// Every host.
    pub const ALL: [Host; 4] = [Host::Api, Host::Ipg, Host::Batch, Host::Subscription];

    /// The production base URL.
    pub fn default_base_url(self) -> &'static str {
        match self {
            Host::Api => "https://api.vandar.io",
            Host::Ipg => "https://ipg.vandar.io",
            Host::Batch => "https://batch.vandar.io",
            Host::Subscription => "https://subscription.vandar.io",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The short name spans record (`api`, `ipg`, `batch`, `subscription`).
    pub(crate) fn name(self) -> &'static str {
        match self {
            Host::Api => "api",
            Host::Ipg => "ipg",
            Host::Batch => "batch",
            Host::Subscription => "subscription",
        }
    }
}

/// How often and how patiently failed requests are repeated (see the module docs for which).
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// Backoff before the second attempt; doubled for each further one.
    pub base_delay: Duration,
    /// Longest single wait (also caps Retry-After).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { max_attempts: 3, base_delay: Duration::from_millis(200), max_delay: Duration::from_secs(10) }
    }
}

impl RetryPolicy {
    /// Exponential backoff with jitter: a random wait in [d/2, d], d = base * 2^(retry-1), capped.
    fn backoff(&self, retry: u32) -> Duration {
        let full = self.base_delay.saturating_mul(1 << retry.saturating_sub(1).min(16)).min(self.max_delay);
        full / 2 + full.mul_f64(fastrand::f64() / 2.0)
    }
}

/// State shared by the generated clients of every host and every clone of [`crate::Client`].
#[derive(Clone)]
pub struct Inner {
    pub(crate) shared: Arc<Shared>,
}

impl Inner {
    /// The business slug a generated call starts with (build.rs makes each builder's `business`
    /// begin as this; `.business(..)` still overrides it per call).
    #[cfg_attr(not(any(feature = "api", feature = "batch")), allow(dead_code))] // no ipg call takes the slug
    pub(crate) fn business(&self) -> Result<String, String> {
        self.shared.business_slug.clone().ok_or_else(|| {
            format!("{NOT_CONFIGURED}no business slug: configure ClientBuilder::business(..) or set .business(..) on the call")
        })
    }
}

/// Marks a generated builder's failure as missing configuration (`Error::Configuration`), through
/// progenitor's string errors.
pub(crate) const NOT_CONFIGURED: &str = "not configured: ";

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").finish_non_exhaustive()
    }
}

pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    /// The configured business slug, filled into every generated call that takes `business`.
    pub(crate) business_slug: Option<String>,
    /// Base URL of each host, indexed by [`Host::index`].
    pub(crate) base_urls: [String; 4],
    /// The same, parsed once (every call checks its URL against its host's).
    pub(crate) parsed_base_urls: [url::Url; 4],
    pub(crate) ipg_api_key: Option<Secret>,
    pub(crate) business: Option<TokenManager>,
    pub(crate) miando: Option<TokenManager>,
    pub(crate) limits: Arc<RateLimits>,
    pub(crate) retry: RetryPolicy,
}

enum Credential<'a> {
    None,
    ApiKey(&'a Secret),
    Bearer(&'a TokenManager),
}

impl Shared {
    fn credential(&self, host: Host, request: &Request, operation: &str) -> Result<Credential<'_>, String> {
        let missing = |what: &str| format!("{operation} needs {what}, which this Client was not configured with");
        match host {
            Host::Ipg => self.ipg_api_key.as_ref().map(Credential::ApiKey).ok_or_else(|| missing("an IPG api_key")),
            Host::Api if matches!(operation, "token_refresh" | "miando_token") => Ok(Credential::None),
            Host::Api if request.url().path().contains("/miando/api/") => {
                self.miando.as_ref().map(Credential::Bearer).ok_or_else(|| missing("Miando client credentials"))
            }
            Host::Api | Host::Batch => {
                self.business.as_ref().map(Credential::Bearer).ok_or_else(|| missing("business tokens"))
            }
            Host::Subscription => Ok(Credential::None),
        }
    }

    /// Whether `url` is on the configured base URL of `host` (same scheme, host and port, under its path).
    fn is_configured_host(&self, host: Host, url: &url::Url) -> bool {
        let base = &self.parsed_base_urls[host.index()];
        url.scheme() == base.scheme()
            && url.host() == base.host()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.path().starts_with(base.path().trim_end_matches('/'))
    }

    /// Sends one generated call (see the module docs) inside its `vandar.call` span; each HTTP
    /// request it sends gets a `vandar.http` span of its own (see `crate::spans`).
    pub(crate) async fn execute(&self, host: Host, request: Request, operation: &'static str) -> reqwest::Result<Response> {
        let call = spans::Call::open(operation, host.name(), request.method());
        let mut sent = 0;
        let result = spans::within(&call.span, self.send_call(host, request, operation, &call.span, &mut sent)).await;
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

    /// Checks, credentials and the body's api_key and track_id, then the sends; `sent` counts the
    /// HTTP requests that left.
    async fn send_call(
        &self,
        host: Host,
        mut request: Request,
        operation: &'static str,
        span: &tracing::Span,
        sent: &mut u32,
    ) -> reqwest::Result<Response> {
        // Credentials go only to the configured base URL of this host (and redirects are never followed).
        if !self.is_configured_host(host, request.url()) {
            return Ok(synthesized(StatusCode::UNAUTHORIZED, Failure::Configuration(
                "refusing to send credentials outside the configured Vandar host".into(),
            )));
        }
        let credential = match self.credential(host, &request, operation) {
            Ok(credential) => credential,
            Err(message) => return Ok(synthesized(StatusCode::UNAUTHORIZED, Failure::Configuration(message))),
        };
        // The spec's bounds on the query and the body, before anything is sent; then the body's
        // api_key (IPG) and track_id (money moves). The body is parsed once, only when needed.
        if let Err((field, reason)) = crate::validate::check_query(operation, request.url()) {
            return Ok(synthesized(StatusCode::BAD_REQUEST, Failure::Invalid { field, reason }));
        }
        let api_key = match credential {
            Credential::ApiKey(key) => Some(key),
            _ => None,
        };
        let money_move = MONEY_MOVES_WITH_TRACK_ID.contains(&operation);
        let body = (money_move || crate::validate::checks_body(operation))
            .then(|| request.body().and_then(|b| b.as_bytes()).and_then(|b| serde_json::from_slice::<serde_json::Value>(b).ok()))
            .flatten();
        if let Some(mut body) = body {
            if let Err((field, reason)) = crate::validate::check(operation, &body) {
                return Ok(synthesized(StatusCode::BAD_REQUEST, Failure::Invalid { field, reason }));
            }
            if money_move {
                span.record("track_id", fill_in_track_id(&mut body).as_deref());
                let bytes = serde_json::to_vec(&body).expect("a JSON value serializes");
                request.headers_mut().remove(CONTENT_LENGTH);
                *request.body_mut() = Some(bytes.into());
            }
        }
        if let Some(key) = api_key {
            let bytes = with_api_key(request.body().and_then(|b| b.as_bytes()), key);
            request.headers_mut().remove(CONTENT_LENGTH);
            *request.body_mut() = Some(bytes.into());
        }
        // `attempt` and `renewed` are set for each send.
        let labels = spans::Exchange { operation, host: host.name(), attempt: 0, renewed: false };
        self.send_with_retries(&credential, request, labels, sent).await
    }

    /// The sends of one call, each in its own `vandar.http` span labelled as `labels`, numbered
    /// from 1 through `sent`.
    async fn send_with_retries(
        &self,
        credential: &Credential<'_>,
        mut request: Request,
        labels: spans::Exchange,
        sent: &mut u32,
    ) -> reqwest::Result<Response> {
        let idempotent = matches!(*request.method(), Method::GET | Method::PUT | Method::DELETE | Method::HEAD | Method::OPTIONS);
        let mut renewed = false;
        loop {
            // The token first: a renewal may make this wait, and waiting after the permit would
            // send late, squeezing the window behind the permit.
            let mut token = match credential {
                Credential::Bearer(manager) => match manager.token().await {
                    Ok(token) => Some(token),
                    Err(failure) => return Ok(synthesized(StatusCode::UNAUTHORIZED, failure)),
                },
                _ => None,
            };
            if let Err(unavailable) = self.limits.acquire(request.method()).await {
                let failure = Failure::Unavailable { component: "rate limiter", message: unavailable.0 };
                return Ok(synthesized(StatusCode::SERVICE_UNAVAILABLE, failure));
            }
            if let (Credential::Bearer(manager), Some(read)) = (credential, token.as_mut()) {
                // A pair renewed while this call waited for its permit (here, or in another process
                // and adopted here) replaces the token read before; this never waits.
                if let Some(newer) = manager.current() {
                    *read = newer;
                }
                let Some(value) = manager.bearer(read) else {
                    let failure = Failure::Authentication("the access token holds characters a header cannot".into());
                    return Ok(synthesized(StatusCode::UNAUTHORIZED, failure));
                };
                request.headers_mut().insert(AUTHORIZATION, value);
            }
            *sent += 1;
            let exchange = spans::Exchange { attempt: *sent, renewed, ..labels };
            // Generated bodies are buffered JSON and clone for a repeat; a streamed body (multipart
            // upload) is sent once.
            let Some(this) = request.try_clone() else { return spans::send(&self.http, request, exchange).await };
            let outcome = spans::send(&self.http, this, exchange).await;
            // The repeat after a renewal is not a retry: it does not use up the retry budget.
            let tries = *sent - u32::from(renewed);
            let last = tries >= self.retry.max_attempts;
            let wait = match &outcome {
                Ok(response) if response.status() == StatusCode::UNAUTHORIZED && !renewed => {
                    if let (Credential::Bearer(manager), Some(stale)) = (credential, &token) {
                        renewed = true;
                        match Box::pin(manager.renew_after_401(stale)).await {
                            Ok(_) => continue,
                            Err(failure) => return Ok(synthesized(StatusCode::UNAUTHORIZED, failure)),
                        }
                    }
                    return outcome;
                }
                Ok(response) if response.status() == StatusCode::TOO_MANY_REQUESTS && !last => {
                    retry_after(response).map(|d| d.min(self.retry.max_delay)).unwrap_or_else(|| self.retry.backoff(tries))
                }
                Ok(response)
                    if idempotent
                        && !last
                        && matches!(response.status().as_u16(), 502..=504) =>
                {
                    self.retry.backoff(tries)
                }
                Err(error) if !last && (error.is_connect() || (idempotent && (error.is_timeout() || error.is_request()))) => {
                    self.retry.backoff(tries)
                }
                _ => return outcome,
            };
            tracing::info!(attempt = *sent, wait_ms = wait.as_millis() as u64, "retrying");
            tokio::time::sleep(wait).await;
        }
    }
}

/// Money moves whose body takes a caller-chosen `track_id`: the only handle for finding out,
/// after an answer lost in transit, whether Vandar carried the request out. Sent through the
/// generated client without one (the builders leave it optional for `withdrawal_store`), the
/// transport fills one in and records it on the call's `vandar.call` span; the `Client` methods of the
/// same names also reconcile with it (see `crate::tracked`).
const MONEY_MOVES_WITH_TRACK_ID: [&str; 5] =
    ["settlement_store", "withdrawal_store", "cash_in_deposit", "customer_wallet_deposit", "customer_wallet_withdraw"];

/// The IPG body with `api_key` first: spliced into the object's bytes as they are (the generated
/// bodies never carry one: build.rs removes it from their schemas), or `{"api_key": ..}` alone for
/// a call without a body. A body that is not an object is sent as it is.
fn with_api_key(body: Option<&[u8]>, key: &Secret) -> Vec<u8> {
    let key = serde_json::to_vec(key.expose()).expect("a string serializes");
    let Some(body) = body else {
        return [&b"{\"api_key\":"[..], &key, b"}"].concat();
    };
    match body.trim_ascii_start().split_first() {
        Some((b'{', rest)) => {
            let separator: &[u8] = if rest.trim_ascii_start().starts_with(b"}") { b"" } else { b"," };
            [&b"{\"api_key\":"[..], &key, separator, rest].concat()
        }
        _ => body.to_vec(),
    }
}

/// The body's `track_id`, filled in with a fresh UUID when the body has none.
fn fill_in_track_id(body: &mut serde_json::Value) -> Option<String> {
    let serde_json::Value::Object(fields) = body else { return None };
    if let Some(existing) = fields.get("track_id").and_then(|t| t.as_str()) {
        return Some(existing.to_string());
    }
    let track_id = uuid::Uuid::new_v4().to_string();
    fields.insert("track_id".into(), serde_json::Value::String(track_id.clone()));
    tracing::info!(%track_id, "no track_id given for a money move; filled one in");
    Some(track_id)
}

fn retry_after(response: &Response) -> Option<Duration> {
    let value = response.headers().get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// A non-success answer from Vandar (the client's own answers carry their [`Failure`] already).
fn needs_decoding(response: &Response) -> bool {
    !response.status().is_success() && response.extensions().get::<Failure>().is_none()
}

/// Reads the body of an answer that [`needs_decoding`] and attaches how it reads ([`Failure`]), so
/// converting it into [`crate::Error`] needs no I/O.
async fn decode_failure(response: Response) -> Response {
    let status = response.status();
    let headers = response.headers().clone();
    let retry = retry_after(&response);
    let body = response.bytes().await.unwrap_or_default();
    let failure = Failure::from_body(status.as_u16(), &body, retry);
    let mut rebuilt = http::Response::builder().status(status).body(body).expect("status and body are valid");
    *rebuilt.headers_mut() = headers;
    rebuilt.extensions_mut().insert(failure);
    Response::from(rebuilt)
}

fn synthesized(status: StatusCode, failure: Failure) -> Response {
    let mut response = http::Response::builder().status(status).body(Vec::new()).expect("valid");
    response.extensions_mut().insert(failure);
    Response::from(response)
}

macro_rules! hooks {
    ($($feature:literal => $module:ident => $host:expr),*) => {$(
        #[cfg(feature = $feature)]
        impl progenitor_client::ClientHooks<Inner> for crate::generated::$module::Client {
            async fn exec(
                &self,
                request: reqwest::Request,
                info: &progenitor_client::OperationInfo,
            ) -> reqwest::Result<reqwest::Response> {
                self.inner.shared.execute($host, request, info.operation_id).await
            }
        }
    )*};
}
hooks!("api" => api => Host::Api, "ipg" => ipg => Host::Ipg, "batch" => batch => Host::Batch, "subscription" => subscription => Host::Subscription);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_is_spliced_into_the_body_as_valid_json() {
        let key = Secret::from("k\"ey");
        let read = |bytes: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
        assert_eq!(read(with_api_key(Some(br#"{"amount":1000}"#), &key)), serde_json::json!({"api_key": "k\"ey", "amount": 1000}));
        assert_eq!(read(with_api_key(Some(b" { } "), &key)), serde_json::json!({"api_key": "k\"ey"}));
        assert_eq!(read(with_api_key(None, &key)), serde_json::json!({"api_key": "k\"ey"}));
        assert_eq!(with_api_key(Some(b"[1]"), &key), b"[1]");
    }

    /// A transport without credentials, its hosts at `base_urls`.
    fn shared(base_urls: [&str; 4]) -> Shared {
        crate::tls::install_default_provider();
        Shared {
            http: reqwest::Client::new(),
            business_slug: None,
            base_urls: base_urls.map(String::from),
            parsed_base_urls: base_urls.map(|u| url::Url::parse(u).unwrap()),
            ipg_api_key: None,
            business: None,
            miando: None,
            limits: Arc::new(RateLimits::vandar()),
            retry: RetryPolicy::default(),
        }
    }

    /// Every call's future is held, and moved, by the caller: the rare paths (a renewal, a failure's
    /// body, the Redis limiter) are boxed so it stays small (it was 6.3 KB before they were).
    #[test]
    fn a_calls_future_stays_small() {
        let shared = shared(["http://a", "http://b", "http://c", "http://d"]);
        let request = Request::new(Method::GET, url::Url::parse("http://a/x").unwrap());
        let call = shared.execute(Host::Api, request, "balance");
        assert!(std::mem::size_of_val(&call) < 3 * 1024, "{} bytes", std::mem::size_of_val(&call));
    }

    #[test]
    fn credentials_stay_on_the_configured_origin() {
        let shared = shared(["https://api.vandar.io", "http://127.0.0.1:8080/ipg", "https://batch.vandar.io", "https://subscription.vandar.io"]);
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(shared.is_configured_host(Host::Api, &url("https://api.vandar.io/v2/business/x/balance")));
        assert!(!shared.is_configured_host(Host::Api, &url("https://api.vandar.io.evil.example/v2/business/x/balance")));
        assert!(!shared.is_configured_host(Host::Api, &url("http://api.vandar.io/v2/business/x/balance")));
        assert!(shared.is_configured_host(Host::Ipg, &url("http://127.0.0.1:8080/ipg/api/v4/send")));
        assert!(!shared.is_configured_host(Host::Ipg, &url("http://127.0.0.1:8081/ipg/api/v4/send")));
        assert!(!shared.is_configured_host(Host::Ipg, &url("http://127.0.0.1:8080/batch/api/v4/send")));
    }
}
