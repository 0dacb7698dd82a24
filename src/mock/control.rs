#![doc = include_str!("control.md")]
//!
//! Every knob is implemented once, on the mock's state: [`MockVandar`](super::MockVandar)'s methods and
//! the HTTP endpoints here both call it, so a Rust test and a Python test turn the same knob.
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Data, Fault, MockStats, Shared};

/// The request log keeps the last this many requests.
pub(crate) const LOGGED_REQUESTS: usize = 10_000;

/// One request the mock received (see [`MockVandar::requests`](super::MockVandar::requests)).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path with its host's prefix (`/ipg/api/v4/send`).
    pub path: String,
    /// The raw query string, empty when none.
    pub query: String,
    /// The JSON body, its text when it is not JSON, `null` when empty.
    pub body: Value,
}

/// One exchange the mock answered (see [`MockVandar::answers`](super::MockVandar::answers)): the request
/// and what the mock sent back, for a conformance check of the answers against the spec.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct AnsweredExchange {
    /// The request, as in the request log.
    #[serde(flatten)]
    pub request: ReceivedRequest,
    /// The answer's HTTP status.
    pub status: u16,
    /// The answer's `content-type`, empty when none.
    pub content_type: String,
    /// The answer's body: its JSON, its text when it is not JSON, `null` when empty or never completed.
    pub answer: Value,
    /// The injected fault that shaped this answer (`"truncated_body"`, `"html_error_page"`, ...), if any.
    pub fault: Option<&'static str>,
}

/// The injected fault an answer carries out (a response extension set by the fault layer).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FaultApplied(pub(crate) &'static str);

/// An exchange as logged: bodies are decoded only when the log is read.
#[derive(Debug, Clone)]
pub(crate) struct Answered {
    request: Logged,
    status: u16,
    content_type: String,
    answer: Bytes,
    fault: Option<&'static str>,
}

impl Answered {
    fn decoded(&self) -> AnsweredExchange {
        AnsweredExchange {
            request: self.request.decoded(),
            status: self.status,
            content_type: self.content_type.clone(),
            answer: decode(&self.answer),
            fault: self.fault,
        }
    }
}

/// JSON, else text, else null when empty.
fn decode(bytes: &Bytes) -> Value {
    if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    }
}

/// A request as logged: the body is decoded only when the log is read.
#[derive(Debug, Clone)]
pub(crate) struct Logged {
    method: Method,
    path: String,
    query: String,
    body: Bytes,
}

impl Logged {
    fn decoded(&self) -> ReceivedRequest {
        ReceivedRequest { method: self.method.to_string(), path: self.path.clone(), query: self.query.clone(), body: decode(&self.body) }
    }
}

/// A fault aimed at one operation: it answers that operation's call once `skip` more calls have passed.
#[derive(Debug, Clone)]
pub(crate) struct AimedFault {
    operation: &'static str,
    skip: u32,
    fault: Fault,
}

/// The spec's operation id `name`, as the mock's operation table spells it.

/// The knobs, one implementation each.
impl Data {
    /// Aims `faults` at the `nth` call of `operation` from now and the calls after it, one each.
    pub(crate) fn inject_aimed(&mut self, operation: &str, nth: u32, faults: impl IntoIterator<Item = Fault>) -> Result<usize, String> {
        let operation = crate::validate::operation_id(operation).map_err(|problem| format!("operation: {problem}"))?;
        if operation.ends_with("_redirect") {
            return Err(format!(
                "operation: {operation} is the payer's page (a browser, not the business): faults are not aimed at it, it would never misbehave"
            ));
        }
        if nth == 0 {
            return Err("nth: the first call is 1".into());
        }
        // Calls already promised to earlier aimed faults of this operation come first.
        for (index, fault) in faults.into_iter().enumerate() {
            self.aimed.push(AimedFault { operation, skip: nth - 1 + index as u32, fault });
        }
        Ok(self.aimed.iter().filter(|a| a.operation == operation).count())
    }

    /// The fault aimed at this call of `operation`, if any; every other one aimed at it comes a call closer.
    pub(crate) fn aimed_fault(&mut self, operation: &str) -> Option<Fault> {
        let due = self.aimed.iter().position(|a| a.operation == operation && a.skip == 0);
        let fault = due.map(|index| self.aimed.remove(index).fault);
        for aimed in self.aimed.iter_mut().filter(|a| a.operation == operation) {
            aimed.skip = aimed.skip.saturating_sub(1);
        }
        fault
    }

    /// Advances the clock and lets what was waiting for the time happen; the notify_url posts to make.
    pub(crate) fn advance(&mut self, by: Duration) -> Vec<super::Notice> {
        self.clock.advance(by);
        self.expire_payments();
        let mut notices = self.settle_due();
        notices.extend(self.withdraw_due());
        for url in notices.iter_mut().map(super::Notice::url_mut) {
            *url = self.routed(url);
        }
        notices
    }

    fn clock_view(&self) -> Value {
        let unix = self.clock.unix();
        json!({"now_unix": unix, "now_tehran": super::clock::tehran_date_time(unix), "now_jalali": super::clock::jalali_date_time(unix),
               "advanced_seconds": self.clock.advanced().as_secs()})
    }

    pub(crate) fn clear_faults(&mut self) -> usize {
        std::mem::take(&mut self.faults).len() + std::mem::take(&mut self.aimed).len()
    }

    pub(crate) fn inject(&mut self, faults: impl IntoIterator<Item = Fault>) -> usize {
        self.faults.extend(faults);
        self.faults.len()
    }

    /// Everything as at start but the credentials, the address and the answer log (a conformance check
    /// reads a whole flow, resets included).
    pub(crate) fn reset(&mut self) {
        let (answers, forward_to) = (std::mem::take(&mut self.answers), self.forward_to.take());
        *self = Data::fresh(self.credentials.clone(), self.base_url.clone());
        // How the mock was started (`vandar-mock listen`) outlives a reset, as its address does.
        (self.answers, self.forward_to) = (answers, forward_to);
    }

    fn log_answer(&mut self, request: Logged, status: u16, content_type: String, answer: Bytes, fault: Option<&'static str>) {
        if self.answers.len() == LOGGED_REQUESTS {
            self.answers.pop_front();
        }
        self.answers.push_back(Answered { request, status, content_type, answer, fault });
    }

    pub(crate) fn answers(&self) -> Vec<AnsweredExchange> {
        self.answers.iter().map(Answered::decoded).collect()
    }

    pub(crate) fn clear_answers(&mut self) -> usize {
        std::mem::take(&mut self.answers).len()
    }

    pub(crate) fn log_request(&mut self, method: Method, path: String, query: String, body: Bytes) {
        if self.requests.len() == LOGGED_REQUESTS {
            self.requests.pop_front();
        }
        self.requests.push_back(Logged { method, path, query, body });
    }

    pub(crate) fn requests(&self) -> Vec<ReceivedRequest> {
        self.requests.iter().map(Logged::decoded).collect()
    }

    pub(crate) fn clear_requests(&mut self) -> usize {
        std::mem::take(&mut self.requests).len()
    }

    pub(crate) fn expire_access_token(&mut self) {
        self.access_expired = true;
    }

    pub(crate) fn set_token_lifetime(&mut self, lifetime: Duration) {
        self.token_lifetime = lifetime;
        self.access_issued = self.clock.instant();
    }

    pub(crate) fn set_rate_limits(&mut self, post: u32, other: u32) {
        self.budget = (post, other);
    }

    pub(crate) fn set_payer_declines(&mut self, declines: bool) {
        self.payer_declines = declines;
    }

    pub(crate) fn route_webhooks_to(&mut self, base: String) {
        self.webhook_route = Some(base);
    }

    /// Where a delivery for `url` goes: every one to the forwarding URL when one is set
    /// (`vandar-mock listen`), else `base/path` when a route is set, else `url` itself.
    pub(crate) fn routed(&self, url: &str) -> String {
        match (&self.forward_to, &self.webhook_route, url::Url::parse(url)) {
            (Some(forward), _, _) => forward.clone(),
            (None, Some(base), Ok(parsed)) => format!("{}{}", base.trim_end_matches('/'), parsed.path()),
            _ => url.to_string(),
        }
    }

    pub(crate) fn stats(&self) -> MockStats {
        MockStats { refreshes: self.refreshes, ..self.stats.clone() }
    }
}

/// The control endpoints, nested under `/__mock` outside the layer that logs, limits and faults.
pub(super) fn routes() -> Router<Shared> {
    Router::new()
        .route("/faults", post(faults).delete(clear_faults))
        .route("/reset", post(reset))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/answers", get(answers).delete(clear_answers))
        .route("/expire-access-token", post(expire_access_token))
        .route("/rate-limits", post(rate_limits))
        .route("/token-lifetime", post(token_lifetime))
        .route("/payer-declines", post(payer_declines))
        .route("/webhook-route", post(webhook_route))
        .route("/webhook-redelivery", post(webhook_redelivery))
        .route("/deliveries", get(deliveries))
        .route("/deliveries/{id}/resend", post(resend_delivery))
        .route("/stats", get(stats))
        .route("/payer", post(payer))
        .route("/clock", get(clock).post(advance_clock))
        .method_not_allowed_fallback(|method: Method, OriginalUri(uri): OriginalUri| async move {
            refused(StatusCode::METHOD_NOT_ALLOWED, &format!("{method} is not allowed on {}; see `vandar-mock --help`", uri.path()))
        })
        .fallback(|OriginalUri(uri): OriginalUri| async move {
            refused(StatusCode::NOT_FOUND, &format!("no control endpoint {}; see `vandar-mock --help`", uri.path()))
        })
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// Parses a control body, or answers 400 naming the field and the problem.
fn input<T: DeserializeOwned>(body: &[u8], example: &str) -> Result<T, Response> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(refused(StatusCode::BAD_REQUEST, &format!("the body is empty: expected a JSON object such as {example}")));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        let message = if path == "." { e.inner().to_string() } else { format!("{path}: {}", e.inner()) };
        refused(StatusCode::BAD_REQUEST, &format!("{message} (expected a JSON object such as {example})"))
    })
}

fn state(data: &Shared) -> parking_lot::MutexGuard<'_, Data> {
    data.lock()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Faults {
    faults: Vec<FaultInput>,
    /// Aimed at this operation id only.
    #[serde(default)]
    operation: Option<String>,
    /// From its nth call (1 = the next); needs `operation`.
    #[serde(default)]
    nth: Option<u32>,
}

/// A [`Fault`] as JSON: a string for those without a value, `{"kind": value}` for the others.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum FaultInput {
    LatencyMs(u64),
    Status(u16),
    HtmlErrorPage,
    TruncatedBody,
    DropConnection,
    AnswerLost,
    RateLimited,
    UnknownEnumValue,
}

impl FaultInput {
    fn fault(self, index: usize) -> Result<Fault, Response> {
        Ok(match self {
            FaultInput::LatencyMs(ms) => Fault::Latency(Duration::from_millis(ms)),
            FaultInput::Status(status) if StatusCode::from_u16(status).is_ok() => Fault::Status(status),
            FaultInput::Status(status) => {
                return Err(refused(StatusCode::BAD_REQUEST, &format!("faults[{index}].status: {status} is not an HTTP status (100-999)")));
            }
            FaultInput::HtmlErrorPage => Fault::HtmlErrorPage,
            FaultInput::TruncatedBody => Fault::TruncatedBody,
            FaultInput::DropConnection => Fault::DropConnection,
            FaultInput::AnswerLost => Fault::AnswerLost,
            FaultInput::RateLimited => Fault::RateLimited,
            FaultInput::UnknownEnumValue => Fault::UnknownEnumValue,
        })
    }
}

async fn faults(State(data): State<Shared>, body: Bytes) -> Response {
    let request: Faults = check!(input(&body, r#"{"faults": [{"status": 503}, "drop_connection"]}"#));
    // All or none: a bad fault anywhere in the list queues nothing.
    let mut faults = Vec::with_capacity(request.faults.len());
    for (index, fault) in request.faults.into_iter().enumerate() {
        faults.push(check!(fault.fault(index)));
    }
    match (request.operation, request.nth) {
        (None, None) => Json(json!({"queued": state(&data).inject(faults)})).into_response(),
        (None, Some(_)) => refused(StatusCode::BAD_REQUEST, "nth: needs \"operation\" (the operation id whose nth call misbehaves)"),
        (Some(operation), nth) => match state(&data).inject_aimed(&operation, nth.unwrap_or(1), faults) {
            Ok(queued) => Json(json!({"queued": queued, "operation": operation})).into_response(),
            Err(problem) => refused(StatusCode::BAD_REQUEST, &problem),
        },
    }
}

async fn clear_faults(State(data): State<Shared>) -> Response {
    Json(json!({"cleared": state(&data).clear_faults()})).into_response()
}

async fn reset(State(data): State<Shared>) -> Response {
    state(&data).reset();
    Json(json!({"reset": true})).into_response()
}

async fn requests(State(data): State<Shared>) -> Response {
    Json(json!({"requests": state(&data).requests()})).into_response()
}

async fn answers(State(data): State<Shared>) -> Response {
    Json(json!({"answers": state(&data).answers()})).into_response()
}

async fn clear_answers(State(data): State<Shared>) -> Response {
    Json(json!({"cleared": state(&data).clear_answers()})).into_response()
}

async fn clear_requests(State(data): State<Shared>) -> Response {
    Json(json!({"cleared": state(&data).clear_requests()})).into_response()
}

async fn expire_access_token(State(data): State<Shared>) -> Response {
    state(&data).expire_access_token();
    Json(json!({"expired": true})).into_response()
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct RateLimits {
    post: u32,
    other: u32,
}

async fn rate_limits(State(data): State<Shared>, body: Bytes) -> Response {
    let limits: RateLimits = check!(input(&body, r#"{"post": 30, "other": 100}"#));
    state(&data).set_rate_limits(limits.post, limits.other);
    Json(limits).into_response()
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct TokenLifetime {
    seconds: u64,
}

async fn token_lifetime(State(data): State<Shared>, body: Bytes) -> Response {
    let lifetime: TokenLifetime = check!(input(&body, r#"{"seconds": 432000}"#));
    state(&data).set_token_lifetime(Duration::from_secs(lifetime.seconds));
    Json(lifetime).into_response()
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct PayerDeclines {
    declines: bool,
}

async fn payer_declines(State(data): State<Shared>, body: Bytes) -> Response {
    let payer: PayerDeclines = check!(input(&body, r#"{"declines": true}"#));
    state(&data).set_payer_declines(payer.declines);
    Json(payer).into_response()
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct WebhookRoute {
    base_url: String,
}

async fn webhook_route(State(data): State<Shared>, body: Bytes) -> Response {
    let route: WebhookRoute = check!(input(&body, r#"{"base_url": "http://127.0.0.1:9000"}"#));
    let usable = url::Url::parse(&route.base_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    if !usable {
        return refused(StatusCode::BAD_REQUEST, &format!("base_url: {:?} is not an http(s) URL with a host", route.base_url));
    }
    state(&data).route_webhooks_to(route.base_url.clone());
    Json(route).into_response()
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct WebhookRedelivery {
    attempts: u32,
    first_delay_ms: u64,
}

async fn webhook_redelivery(State(data): State<Shared>, body: Bytes) -> Response {
    let asked: WebhookRedelivery = check!(input(&body, r#"{"attempts": 6, "first_delay_ms": 1000}"#));
    if asked.attempts == 0 {
        return refused(StatusCode::BAD_REQUEST, "attempts: 0 would never post; 1 posts once");
    }
    state(&data).redelivery = super::Redelivery::new(asked.attempts, Duration::from_millis(asked.first_delay_ms));
    Json(asked).into_response()
}

async fn deliveries(State(data): State<Shared>) -> Response {
    let deliveries = state(&data).deliveries.clone();
    Json(json!({"deliveries": deliveries.list()})).into_response()
}

async fn resend_delivery(State(data): State<Shared>, axum::extract::Path(id): axum::extract::Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return refused(StatusCode::BAD_REQUEST, "a delivery id is a number (GET /__mock/deliveries lists them)");
    };
    let deliveries = state(&data).deliveries.clone();
    match deliveries.resend(id).await {
        Some(delivery) => Json(json!({"delivery": delivery})).into_response(),
        None => refused(StatusCode::NOT_FOUND, &format!("no delivery {id} (GET /__mock/deliveries lists them)")),
    }
}

async fn stats(State(data): State<Shared>) -> Response {
    Json(state(&data).stats()).into_response()
}

/// Logs each request to Vandar's paths (control requests never pass here), body included, and the
/// answer sent back (the answer log).
pub(super) async fn log_request(State(data): State<Shared>, request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return super::vandar_error(StatusCode::BAD_REQUEST, "the request body could not be read");
    };
    let uri = parts.extensions.get::<OriginalUri>().map(|o| &o.0).unwrap_or(&parts.uri);
    let (path, query) = (uri.path().to_string(), uri.query().unwrap_or_default().to_string());
    let logged = Logged { method: parts.method.clone(), path, query, body: bytes.clone() };
    state(&data).log_request(logged.method.clone(), logged.path.clone(), logged.query.clone(), bytes.clone());
    let answer = next.run(axum::extract::Request::from_parts(parts, axum::body::Body::from(bytes))).await;
    let fault = answer.extensions().get::<FaultApplied>().map(|f| f.0);
    let status = answer.status().as_u16();
    let content_type = answer.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    if matches!(fault, Some("drop_connection" | "answer_lost")) {
        // The answer never completes: logged without a body, passed on to break as it should.
        state(&data).log_answer(logged, status, content_type, Bytes::new(), fault);
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let Ok(sent) = axum::body::to_bytes(body, usize::MAX).await else {
        return super::vandar_error(StatusCode::INTERNAL_SERVER_ERROR, "the mock's answer could not be read");
    };
    state(&data).log_answer(logged, status, content_type, sent.clone(), fault);
    Response::from_parts(parts, axum::body::Body::from(sent))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payer {
    token: String,
    action: super::ipg::PayerAction,
    #[serde(default)]
    card_number: Option<String>,
}

/// The payer on the payment page, without a browser: the callback URL the browser would reach.
async fn payer(State(data): State<Shared>, body: Bytes) -> Response {
    let payer: Payer = check!(input(&body, r#"{"token": "…", "action": "pay"}"#));
    let token = super::ipg::token_of(&payer.token);
    match state(&data).payer(&token, payer.action, payer.card_number.as_deref()) {
        Ok(callback_url) => Json(json!({"token": token, "callback_url": callback_url})).into_response(),
        Err(unknown) => refused(StatusCode::NOT_FOUND, &format!("token: {unknown}")),
    }
}

async fn clock(State(data): State<Shared>) -> Response {
    Json(state(&data).clock_view()).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_seconds: u64,
}

async fn advance_clock(State(data): State<Shared>, body: Bytes) -> Response {
    let advance: Advance = check!(input(&body, r#"{"advance_seconds": 86400}"#));
    let (notices, view) = {
        let mut data = state(&data);
        let notices = data.advance(Duration::from_secs(advance.advance_seconds));
        (notices, data.clock_view())
    };
    let (redelivery, deliveries) = {
        let data = state(&data);
        (data.redelivery, data.deliveries.clone())
    };
    super::deliver_notices(notices, redelivery, &deliveries);
    Json(view).into_response()
}
