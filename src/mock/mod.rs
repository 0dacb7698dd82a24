//! An embedded, stateful mock Vandar (feature `mock`): a real HTTP server on 127.0.0.1 with
//! Vandar's documented behaviour, for the crate's tests and examples and for users' own tests; the
//! `vandar-mock` binary serves it to clients in any language.
//!
//! One listener serves every host: the api host at `/`, the others under `/ipg`, `/batch` and
//! `/subscription`. [`MockVandar::client_builder`] points a [`crate::Client`] at it with the
//! credentials it accepts.
//!
//! Implemented: token issue and rotation (a used refresh token is refused), 401 on a wrong or
//! expired token, Vandar's rate limits answered with 429, the IPG flow (send with Vandar's
//! validation, payment page 302 to the callback, transaction, verify that answers once), the
//! business balance, settlements (store in Tomans, list, show, cancel, lookup by track_id) moving the
//! balance, the other sections (one module each), and paging in Vandar's three styles on every list
//! (`page`, `per_page` and `start_after` as the spec gives them to each list; docs/testing.md
//! lists which list pages how).
//!
//! Tests play the payer ([`MockVandar::pay`], [`MockVandar::decline`], [`MockVandar::abandon`]), move
//! the mock's clock ([`MockVandar::advance`]: tokens expire, settlements and scheduled withdrawals
//! complete with their notify_url posted, unverified payments expire), use the magic values control.md
//! lists, and turn knobs from Rust ([`MockVandar::inject`] with a [`Fault`], or aimed at one operation
//! with [`MockVandar::inject_for`] / [`MockVandar::inject_nth`], [`MockVandar::clear_faults`],
//! [`MockVandar::reset`], [`MockVandar::requests`], ...) or, in any language, over HTTP through the [`control`] API under
//! `/__mock/`; both reach the same implementation.
// Handlers answer errors as ready axum Responses; their size does not matter in a test server.
#![allow(clippy::result_large_err)]

/// The value of an `Ok`, or answer the refusal in the `Err` from the handler.
macro_rules! check {
    ($checked:expr) => {
        match $checked {
            Ok(value) => value,
            Err(refused) => return refused,
        }
    };
}

mod business;
mod clock;
mod delivery;
pub mod control;
mod customers;
mod ipg;
mod magic;
mod messages;
mod miando;
mod paging;
mod settlement;
mod subscription;
pub mod trigger;

pub use control::{AnsweredExchange, ReceivedRequest};
pub use delivery::{Delivery, DeliveryAttempt};
pub use ipg::UnknownPayment;
pub(crate) use delivery::{deliver, deliver_notices, Deliveries, Redelivery};

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;

use parking_lot::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde_json::json;

use crate::{auth::TokenPair, client::ClientBuilder, host::Host};

/// The credentials the mock accepts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    /// Business slug used in business API paths.
    pub business: String,
    /// The first access token.
    pub access_token: String,
    /// The first refresh token.
    pub refresh_token: String,
    /// The IPG api_key.
    pub ipg_api_key: String,
    /// Miando client id.
    pub miando_client_id: i64,
    /// Miando client secret.
    pub miando_client_secret: String,
}

/// A new mock start's credentials: its tokens carry an id unique to the start
/// (`mock-access-{start}-1`), so a token pair a store kept from an earlier run never passes for this
/// one's (every refresh issues `mock-access-{start}-{n}`).
impl Default for Credentials {
    fn default() -> Self {
        let start: String = (0..8).map(|_| fastrand::alphanumeric().to_ascii_lowercase()).collect();
        Self {
            business: "mock-shop".into(),
            access_token: format!("mock-access-{start}-1"),
            refresh_token: format!("mock-refresh-{start}-1"),
            ipg_api_key: "mock-ipg-key".into(),
            miando_client_id: 1,
            miando_client_secret: "mock-miando-secret".into(),
        }
    }
}

impl Credentials {
    /// The id of the mock start these credentials belong to (`abc123xy` in `mock-access-abc123xy-1`).
    pub fn start_id(&self) -> &str {
        let rest = self.access_token.strip_prefix("mock-access-").unwrap_or(&self.access_token);
        rest.rsplit_once('-').map_or(rest, |(start, _)| start)
    }
}

/// Where a running mock is and what it accepts: the line `vandar-mock` prints when it starts, and
/// what a test hands to the processes it starts (serialized into an environment variable) so that
/// each builds a client for the same mock with [`MockAddress::client_builder`]:
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// // The test:
/// let mock = vandar::mock::MockVandar::start().await?;
/// let child = std::process::Command::new("target/debug/my-worker")
///     .env("VANDAR_MOCK", serde_json::to_string(&mock.address())?)
///     .spawn()?;
/// // The worker:
/// let address: vandar::mock::MockAddress = serde_json::from_str(&std::env::var("VANDAR_MOCK")?)?;
/// let vandar = address.client_builder().build()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MockAddress {
    /// The api host's base URL (`http://127.0.0.1:PORT`).
    pub api: String,
    /// The payment gateway's (`…/ipg`).
    pub ipg: String,
    /// Batch settlements' (`…/batch`).
    pub batch: String,
    /// Direct debit's (`…/subscription`).
    pub subscription: String,
    /// The control API (`…/__mock`), for tests in other languages.
    pub control: String,
    /// What the mock accepts.
    #[serde(flatten)]
    pub credentials: Credentials,
}

impl MockAddress {
    /// The base URL of `host`.
    pub fn base_url(&self, host: Host) -> &str {
        match host {
            Host::Api => &self.api,
            Host::Ipg => &self.ipg,
            Host::Batch => &self.batch,
            Host::Subscription => &self.subscription,
        }
    }

    /// A client builder pointed at this mock with its credentials.
    pub fn client_builder(&self) -> ClientBuilder {
        let c = self.credentials.clone();
        let mut builder = crate::client::Client::builder()
            .business(&c.business)
            .business_tokens(TokenPair::new(c.access_token, c.refresh_token, None))
            .ipg_api_key(c.ipg_api_key)
            .miando_credentials(c.miando_client_id, c.miando_client_secret);
        for host in Host::ALL {
            builder = builder.base_url(host, self.base_url(host));
        }
        builder
    }
}

/// A fault the mock injects into its next answers (see [`MockVandar::inject`]; over HTTP,
/// `POST /__mock/faults` in the [`control`] API).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Fault {
    /// Carry the request out, then wait this long before answering (an answer slow or lost in transit).
    Latency(Duration),
    /// Answer with this status and a JSON error body instead.
    Status(u16),
    /// Answer 502 with an HTML error page, as a proxy in front of Vandar would.
    HtmlErrorPage,
    /// Answer 200 with the body cut in the middle.
    TruncatedBody,
    /// Start the answer and drop the connection, without carrying the request out (a connection
    /// that broke before Vandar acted).
    DropConnection,
    /// Carry the request out, then drop the connection before its answer arrives: Vandar acted and
    /// the answer is lost (a verify or a payout done, its caller none the wiser; what the lookups
    /// must settle).
    AnswerLost,
    /// Answer 429 with Retry-After: 1.
    RateLimited,
    /// Answer normally, but with every string `status` and `state` replaced by a value the spec does
    /// not document (`UNDOCUMENTED_VALUE`), as when Vandar adds one.
    UnknownEnumValue,
}

pub(crate) struct Data {
    pub(crate) credentials: Credentials,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
    pub(crate) access_expired: bool,
    /// The mock's clock: real time plus what tests advanced it by.
    pub(crate) clock: clock::Clock,
    /// When the current access token was issued, and how long tokens live (Vandar: 432000 s).
    access_issued: Instant,
    token_lifetime: Duration,
    pub(crate) refreshes: u64,
    /// Business wallet in Rials.
    pub(crate) wallet_rials: i64,
    pub(crate) payments: HashMap<String, ipg::Payment>,
    pub(crate) settlements: Vec<settlement::Settlement>,
    pub(crate) next_id: i64,
    pub(crate) payer_declines: bool,
    /// Scheduled direct-debit withdrawals: (id, the Gregorian day they come due on, YYYY-MM-DD).
    pub(crate) withdrawals_due: Vec<(String, String)>,
    /// Collections of the other sections, as the JSON objects the mock answers with.
    pub(crate) records: HashMap<&'static str, Vec<serde_json::Value>>,
    /// Where webhooks registered for `https://…` URLs are delivered instead (tests on loopback).
    pub(crate) webhook_route: Option<String>,
    /// Where every delivery goes instead (`vandar-mock listen --forward-to`), whatever URL it was for.
    pub(crate) forward_to: Option<String>,
    pub(crate) redelivery: Redelivery,
    /// Every webhook and notify_url post made, with each attempt's answer (`GET /__mock/deliveries`).
    pub(crate) deliveries: Deliveries,
    /// This mock's api base URL (links it hands out point back at it).
    pub(crate) base_url: String,
    faults: VecDeque<Fault>,
    /// Faults aimed at one operation, in the order injected.
    aimed: Vec<control::AimedFault>,
    /// The requests received, oldest first (the last [`control::LOGGED_REQUESTS`]).
    requests: VecDeque<control::Logged>,
    /// The exchanges answered, oldest first (the last [`control::LOGGED_REQUESTS`]); kept across reset.
    answers: VecDeque<control::Answered>,
    /// Arrival times of the requests accepted in the last window: (POST, other).
    arrivals: (VecDeque<Instant>, VecDeque<Instant>),
    /// Requests per window the mock accepts: (POST, other).
    budget: (u32, u32),
    pub(crate) stats: MockStats,
}

/// What the mock counted since it started (or was reset).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MockStats {
    /// POST requests let through the rate limit.
    pub accepted_post: u64,
    /// Other requests let through the rate limit.
    pub accepted_other: u64,
    /// Requests answered 429 because they exceeded the budget of a 3-second window.
    pub rate_limited: u64,
    /// Refresh tokens exchanged for a new pair.
    pub refreshes: u64,
    /// Refresh calls refused (a reused, rotated-away or unknown refresh token).
    pub refused_refreshes: u64,
}

impl Data {
    /// The state of a mock that has just started at `base_url`.
    pub(crate) fn fresh(credentials: Credentials, base_url: String) -> Self {
        Data {
            access_token: credentials.access_token.clone(),
            refresh_token: credentials.refresh_token.clone(),
            credentials,
            access_expired: false,
            clock: clock::Clock::default(),
            access_issued: Instant::now(),
            token_lifetime: Duration::from_secs(432_000),
            refreshes: 0,
            wallet_rials: 50_000_000,
            payments: HashMap::new(),
            settlements: Vec::new(),
            next_id: 163_553_957_000,
            payer_declines: false,
            withdrawals_due: Vec::new(),
            records: HashMap::new(),
            webhook_route: None,
            forward_to: None,
            redelivery: Redelivery::default(),
            deliveries: Deliveries::default(),
            base_url,
            faults: VecDeque::new(),
            aimed: Vec::new(),
            requests: VecDeque::new(),
            answers: VecDeque::new(),
            arrivals: (VecDeque::new(), VecDeque::new()),
            stats: MockStats::default(),
            budget: (crate::rate_limit::POST_PER_WINDOW, crate::rate_limit::OTHER_PER_WINDOW),
        }
    }

    pub(crate) fn next_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    /// The collection `name`.
    pub(crate) fn records(&mut self, name: &'static str) -> &mut Vec<serde_json::Value> {
        self.records.entry(name).or_default()
    }

    /// The record of `name` whose `key` equals `value`.
    /// Whether `token` is the current, unexpired access token.
    pub(crate) fn token_is_current(&self, token: &str) -> bool {
        let expired = self.access_expired || self.clock.instant().saturating_duration_since(self.access_issued) >= self.token_lifetime;
        !expired && token == self.access_token
    }

    pub(crate) fn find(&mut self, name: &'static str, key: &str, value: &str) -> Option<&mut serde_json::Value> {
        self.records(name).iter_mut().find(|r| r[key].as_str().map(String::from).or_else(|| r[key].as_i64().map(|n| n.to_string())).as_deref() == Some(value))
    }
}

pub(crate) type Shared = Arc<Mutex<Data>>;

/// A running mock Vandar. Dropping it stops the server.
pub struct MockVandar {
    addr: SocketAddr,
    data: Shared,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for MockVandar {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl MockVandar {
    /// Starts on 127.0.0.1 with an OS-chosen port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(0).await
    }

    /// Starts on 127.0.0.1:`port` (0 = OS-chosen).
    pub async fn start_on(port: u16) -> std::io::Result<Self> {
        Self::start_at("127.0.0.1", port).await
    }

    /// Starts on `host`:`port` (an address or a name; port 0 = OS-chosen). Bound to every interface
    /// (`0.0.0.0`, `::`), the URLs it hands out name the loopback address of that family.
    pub async fn start_at(host: &str, port: u16) -> std::io::Result<Self> {
        Self::start_with(host, port, Credentials::default()).await
    }

    /// Starts on `host`:`port` for the business and keys of `credentials` (e.g. a second business
    /// with its own gateway key, for a platform's tests: `Credentials { business: "shop-two".into(),
    /// ..Credentials::default() }`).
    pub async fn start_with(host: &str, port: u16, credentials: Credentials) -> std::io::Result<Self> {
        // The mock posts Miando webhooks with its own reqwest client, which the default TLS feature
        // leaves without a crypto provider until one is installed.
        crate::tls::install_default_provider();
        let listener = tokio::net::TcpListener::bind((host, port)).await?;
        let mut addr = listener.local_addr()?;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let data = Arc::new(Mutex::new(Data::fresh(credentials, format!("http://{addr}"))));
        let app = router(data.clone());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { addr, data, server })
    }

    /// Base URL of `host` on this mock.
    pub fn base_url(&self, host: Host) -> String {
        let prefix = match host {
            Host::Api => "",
            Host::Ipg => "/ipg",
            Host::Batch => "/batch",
            Host::Subscription => "/subscription",
        };
        format!("http://{}{prefix}", self.addr)
    }

    /// The credentials this mock accepts.
    pub fn credentials(&self) -> Credentials {
        self.data.lock().credentials.clone()
    }

    /// Where this mock is and what it accepts, for another process (see [`MockAddress`]).
    pub fn address(&self) -> MockAddress {
        let api = self.base_url(Host::Api);
        MockAddress {
            control: format!("{api}/__mock"),
            api,
            ipg: self.base_url(Host::Ipg),
            batch: self.base_url(Host::Batch),
            subscription: self.base_url(Host::Subscription),
            credentials: self.credentials(),
        }
    }

    /// A client builder pointed at this mock with its credentials.
    pub fn client_builder(&self) -> ClientBuilder {
        self.address().client_builder()
    }

    /// The mock's state, for one knob.
    fn with<T>(&self, knob: impl FnOnce(&mut Data) -> T) -> T {
        knob(&mut self.data.lock())
    }

    /// Makes the next answers misbehave, in order, one fault per answer (`POST /__mock/faults`).
    pub fn inject(&self, fault: Fault) {
        self.with(|data| data.inject([fault]));
    }

    /// Makes the next call of `operation` (the spec's operation id, e.g. `ipg_verify`, `settlement_store`)
    /// misbehave; calls of other operations are untouched. Faults aimed at one operation answer in the
    /// order injected, before the global queue of [`MockVandar::inject`] (`POST /__mock/faults` with
    /// `"operation"`). Panics on an operation id the spec does not have, naming the closest one.
    pub fn inject_for(&self, operation: &str, fault: Fault) {
        self.inject_nth(operation, 1, fault);
    }

    /// Makes the `nth` call of `operation` from now (1 = the next one) misbehave, the calls before it
    /// answered normally (`POST /__mock/faults` with `"operation"` and `"nth"`). Panics on an operation id
    /// the spec does not have, or `nth` 0.
    pub fn inject_nth(&self, operation: &str, nth: u32, fault: Fault) {
        if let Err(problem) = self.with(|data| data.inject_aimed(operation, nth, [fault])) {
            panic!("{problem}");
        }
    }

    /// Drops every fault still waiting, global and aimed (`DELETE /__mock/faults`); the rest of the state
    /// (payments, wallet, tokens) stays. Returns how many were dropped.
    pub fn clear_faults(&self) -> usize {
        self.with(Data::clear_faults)
    }

    /// Moves the mock's clock forward by `by` (`POST /__mock/clock`): access tokens expire by it,
    /// settlements whose cycle has come are answered by the bank (DONE, or FAILED / returned for the magic
    /// IBANs) and their notify_url is posted, IPG payments left unpaid or unverified expire. Must be called
    /// inside a Tokio runtime when a notify_url is to be posted.
    pub fn advance(&self, by: Duration) {
        let (notices, redelivery, deliveries) = self.with(|data| (data.advance(by), data.redelivery, data.deliveries.clone()));
        deliver_notices(notices, redelivery, &deliveries);
    }

    /// The mock's current time (`GET /__mock/clock`): real time plus every [`MockVandar::advance`].
    pub fn now(&self) -> std::time::SystemTime {
        self.with(|data| std::time::UNIX_EPOCH + Duration::from_secs(data.clock.unix().max(0) as u64))
    }

    /// Fresh state as at start (`POST /__mock/reset`): the first token pair, wallet and records, no
    /// faults, default limits, token lifetime, payer and webhook route, counters and request log
    /// emptied. The credentials and the address stay.
    pub fn reset(&self) {
        self.with(Data::reset);
    }

    /// The requests received, oldest first, the last 10,000 (`GET /__mock/requests`). Control
    /// requests are not in it; secrets the clients sent are.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        self.with(|data| data.requests())
    }

    /// Every exchange answered since start (the last 10,000), oldest first: the request and the answer's
    /// status, content type and body (`GET /__mock/answers`). Kept across [`MockVandar::reset`], so a
    /// conformance check reads a whole flow.
    pub fn answers(&self) -> Vec<AnsweredExchange> {
        self.with(|data| data.answers())
    }

    /// Empties the request log (`DELETE /__mock/requests`).
    pub fn clear_requests(&self) {
        self.with(Data::clear_requests);
    }

    /// Makes the current access token expire: the next business call gets 401
    /// (`POST /__mock/expire-access-token`).
    pub fn expire_access_token(&self) {
        self.with(Data::expire_access_token);
    }

    /// Access tokens live `lifetime` (whole seconds; Vandar's are 432000 s), counted for the current
    /// token from now; refresh answers give it as `expires_in` (`POST /__mock/token-lifetime`).
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.with(|data| data.set_token_lifetime(lifetime));
    }

    /// How many times the refresh token was exchanged.
    pub fn refreshes(&self) -> u64 {
        self.with(|data| data.refreshes)
    }

    /// Counters of accepted, rate-limited and refresh calls (`GET /__mock/stats`).
    pub fn stats(&self) -> MockStats {
        self.with(|data| data.stats())
    }

    /// The payer declines (payment_status=FAILED) on the payment page from now on, or stops declining
    /// (`POST /__mock/payer-declines`).
    pub fn payer_declines(&self, declines: bool) {
        self.with(|data| data.set_payer_declines(declines));
    }

    /// The payer pays on `payment_page` (the URL `start_payment` gave, or its token) and is sent back:
    /// the callback URL their browser reaches (`…?token=…&payment_status=OK`), for your callback handler.
    /// No HTTP: the mock's state changes as if the browser had opened the page (`POST /__mock/payer`
    /// with `"action": "pay"`). The payer declines instead when [`MockVandar::payer_declines`] is set.
    pub fn pay(&self, payment_page: &str) -> Result<String, UnknownPayment> {
        self.payer(payment_page, ipg::PayerAction::Pay, None)
    }

    /// The payer pays with `card` (16 digits): a card in control.md's declined list is refused by the
    /// bank (`payment_status=FAILED`), any other pays (`"card_number"` in `POST /__mock/payer`).
    pub fn pay_with_card(&self, payment_page: &str, card: &str) -> Result<String, UnknownPayment> {
        self.payer(payment_page, ipg::PayerAction::Pay, Some(card))
    }

    /// The payer declines on `payment_page`: the callback URL with `payment_status=FAILED`
    /// (`"action": "decline"`).
    pub fn decline(&self, payment_page: &str) -> Result<String, UnknownPayment> {
        self.payer(payment_page, ipg::PayerAction::Decline, None)
    }

    /// The payer closes the tab: the payment stays unpaid, no callback is reached (`"action": "abandon"`).
    /// Returns the payment's token.
    pub fn abandon(&self, payment_page: &str) -> Result<String, UnknownPayment> {
        let token = ipg::token_of(payment_page);
        self.with(|data| data.payer(&token, ipg::PayerAction::Abandon, None))?;
        Ok(token)
    }

    fn payer(&self, payment_page: &str, action: ipg::PayerAction, card: Option<&str>) -> Result<String, UnknownPayment> {
        let token = ipg::token_of(payment_page);
        let callback = self.with(|data| data.payer(&token, action, card))?;
        Ok(callback.unwrap_or_default())
    }

    /// Accepts `post` POST and `other` other requests in any 3 s (default: Vandar's 30 and 100;
    /// `POST /__mock/rate-limits`).
    pub fn set_rate_limits(&self, post: u32, other: u32) {
        self.with(|data| data.set_rate_limits(post, other));
    }

    /// Re-delivers a webhook or a notify_url post that got no 2xx (an error status or no answer):
    /// `attempts` posts in all, `first_delay` apart, then twice as long each time (default 6 posts, 1 s
    /// first: about 31 s; `POST /__mock/webhook-redelivery`). `attempts` 1 posts once.
    pub fn redeliver_webhooks(&self, attempts: u32, first_delay: Duration) {
        self.with(|data| data.redelivery = Redelivery::new(attempts, first_delay));
    }

    /// Every webhook and notify_url post the mock made since start (the last 10,000), oldest first, with
    /// each attempt's answer (`GET /__mock/deliveries`): what a receiver was sent and what it said.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.with(|data| data.deliveries.clone()).list()
    }

    /// Posts delivery `id` once more, the same body and signature (the same event id), as a dashboard's
    /// "resend" does (`POST /__mock/deliveries/{id}/resend`); the delivery with this attempt added, or
    /// `None` when no delivery has that id.
    pub async fn resend_delivery(&self, id: u64) -> Option<Delivery> {
        let deliveries = self.with(|data| data.deliveries.clone());
        deliveries.resend(id).await
    }

    /// Delivers webhooks registered for `https://host/path` to `base/path` instead, a receiver on
    /// loopback (`POST /__mock/webhook-route`).
    pub fn route_webhooks_to(&self, base: impl Into<String>) {
        let base = base.into();
        self.with(|data| data.route_webhooks_to(base));
    }

    /// Delivers every webhook and notify_url post to `url` itself, whatever URL it was registered
    /// for (`vandar-mock listen --forward-to URL`): one receiver of yours sees all of them.
    pub fn forward_deliveries_to(&self, url: impl Into<String>) {
        let url = url.into();
        self.with(|data| data.forward_to = Some(url));
    }

    /// The business wallet, in Rials.
    pub fn wallet_rials(&self) -> i64 {
        self.with(|data| data.wallet_rials)
    }

    /// Runs until the process is stopped (for the `vandar-mock` binary).
    pub async fn wait(mut self) {
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = server.await;
    }
}

fn router(data: Shared) -> Router {
    Router::new()
        .merge(settlement::routes())
        .merge(business::routes())
        .merge(customers::routes())
        .merge(subscription::routes())
        .merge(miando::routes())
        .route("/v3/refreshtoken", axum::routing::post(refresh))
        .nest("/ipg", ipg::routes())
        .nest("/batch", business::batch_routes())
        .nest("/subscription", subscription::redirect_routes())
        .fallback(|| async { vandar_error(StatusCode::NOT_FOUND, "route not found") })
        .layer(middleware::map_response(method_not_allowed))
        .layer(middleware::from_fn_with_state(data.clone(), request_rules))
        .layer(middleware::from_fn(documented_answers))
        .layer(middleware::from_fn_with_state(data.clone(), faults_and_limits))
        .layer(middleware::from_fn_with_state(data.clone(), control::log_request))
        // Added after the layers, so control requests are not logged, limited or faulted.
        .nest("/__mock", control::routes())
        .layer(panics_answer_500())
        .with_state(data)
}

/// A handler that panics answers 500 to its own request, in Vandar's error shape, and the mock goes
/// on serving (its locks do not poison: `parking_lot`).
fn panics_answer_500() -> tower_http::catch_panic::CatchPanicLayer<fn(Box<dyn std::any::Any + Send + 'static>) -> Response> {
    fn answer(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
        let what = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
        tracing::error!(panic = what.as_deref().unwrap_or("(not text)"), "a mock handler panicked; answered 500");
        vandar_error(StatusCode::INTERNAL_SERVER_ERROR, "mock: the handler failed")
    }
    tower_http::catch_panic::CatchPanicLayer::custom(answer as fn(_) -> _)
}

/// The router's bare 405 (a method the spec does not declare on the path) in Vandar's JSON error
/// shape, its `Allow` header kept.
async fn method_not_allowed(answer: Response) -> Response {
    if answer.status() != StatusCode::METHOD_NOT_ALLOWED {
        return answer;
    }
    let allow = answer.headers().get(axum::http::header::ALLOW).cloned();
    let mut refused = vandar_error(StatusCode::METHOD_NOT_ALLOWED, "the method is not allowed on this path");
    refused.headers_mut().extend(allow.map(|allow| (axum::http::header::ALLOW, allow)));
    refused
}

/// Answers `value` after checking it against the generated type of the spec's schema. The value
/// itself is answered, not the type serialized again: that would drop what Vandar sends, such as
/// `"data": []` on an empty page or `"next": null` on the last.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> Response {
    match <T as serde::Deserialize>::deserialize(&value) {
        Ok(_) => Json(value).into_response(),
        Err(e) => vandar_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("mock answer does not match the spec: {e}")),
    }
}

/// Parses a request body into the spec's generated type and checks the spec's bounds on it (the
/// client's own check, `crate::validate`, keyed by the type's schema name), or answers 422 naming
/// the field (Laravel shape).
pub(crate) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Response> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| validation_error("body", &e.to_string()))?;
    let schema = std::any::type_name::<T>().rsplit("::").next().unwrap_or_default();
    if let Err((field, reason)) = crate::validate::check(&format!("#{schema}"), &value) {
        return Err(validation_error(&field, &format!("The {field} {reason}.")));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let message = e.inner().to_string();
        let path = e.path().to_string();
        let field = if path == "." {
            message.split('`').nth(1).unwrap_or("body").to_string()
        } else {
            path
        };
        validation_error(&field, &message)
    })
}

/// A listed-only operation: the documents give no shape, so the mock answers a minimal success.
pub(crate) fn listed_only(operation: crate::generated::operations::Operation) -> Response {
    Json(json!({"status": 1, "message": format!("mock: the documents give no answer shape for {operation}")})).into_response()
}

/// A post Vandar makes to a notify_url when a money move reaches its final status.
pub(crate) enum Notice {
    /// A settlement's, as form-data (the spec's settlement_notify).
    Form(String, Vec<(&'static str, String)>),
    /// A direct-debit withdrawal's, as JSON (the spec's withdrawal_notify).
    Json(String, serde_json::Value),
}

impl Notice {
    fn url_mut(&mut self) -> &mut String {
        match self {
            Notice::Form(url, _) | Notice::Json(url, _) => url,
        }
    }
}

/// Seconds since the epoch, for the answers that use unix time.
pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or_default()
}

/// Vandar's general error shape.
pub(crate) fn vandar_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": 0, "message": message}))).into_response()
}

/// Miando's validation shape, `{message, code: validation_error, errors: {field: [..]}}`, naming the field.
pub(crate) fn miando_validation_error(field: &str, message: &str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"message": "مقادیر ورودی صحیح نیستند.", "code": "validation_error", "errors": {field: [message]}})))
        .into_response()
}

/// Laravel's validation shape, naming the field.
pub(crate) fn validation_error(field: &str, message: &str) -> Response {
    (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"message": "The given data was invalid.", "errors": {field: [message]}}))).into_response()
}

/// 401 unless the request carries the current, unexpired access token (and the business slug is ours).
pub(crate) fn authorize(data: &Data, headers: &HeaderMap, business: &str) -> Result<(), Response> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    if !bearer.is_some_and(|token| data.token_is_current(token)) {
        return Err((StatusCode::UNAUTHORIZED, Json(json!({"status": 0, "error": "Unauthenticated"}))).into_response());
    }
    if business != data.credentials.business {
        return Err((StatusCode::NOT_FOUND, Json(json!({"status": 0, "error": "business not found"}))).into_response());
    }
    Ok(())
}

/// POST /v3/refreshtoken: rotates the pair; a used refresh token is refused.
async fn refresh(State(data): State<Shared>, Json(body): Json<serde_json::Value>) -> Response {
    let mut data = data.lock();
    if body["refreshtoken"].as_str() != Some(data.refresh_token.as_str()) {
        data.stats.refused_refreshes += 1;
        return (StatusCode::UNAUTHORIZED, Json(json!({"status": 0, "error": "Unauthenticated"}))).into_response();
    }
    data.refreshes += 1;
    let n = data.refreshes + 1;
    let start = data.credentials.start_id().to_string();
    data.access_token = format!("mock-access-{start}-{n}");
    data.refresh_token = format!("mock-refresh-{start}-{n}");
    data.access_expired = false;
    data.access_issued = data.clock.instant();
    let issued = json!({"token_type": "Bearer", "expires_in": data.token_lifetime.as_secs(), "access_token": data.access_token, "refresh_token": data.refresh_token});
    Json(issued).into_response()
}

/// The request's host prefix (`""` for the api host), its path without it, and the spec's operation id
/// (from the table the client's checks use).
fn operation_of(request: &Request) -> (&'static str, String, Option<&'static str>) {
    let path = request.extensions().get::<axum::extract::OriginalUri>().map(|o| o.0.path().to_string()).unwrap_or_else(|| request.uri().path().to_string());
    let (host, local) = ["/ipg", "/batch", "/subscription"]
        .iter()
        .find_map(|prefix| path.strip_prefix(prefix).filter(|rest| rest.starts_with('/')).map(|rest| (*prefix, rest.to_string())))
        .unwrap_or(("", path.clone()));
    let operation = crate::validate::operation_at(request.method().as_str(), &local);
    (host, local, operation)
}

/// Every request rule the spec states, checked from the table the Rust client checks before sending
/// (`crate::validate`, generated from the spec), so no rule lives in one and not the other: the credential its
/// `security` names, a body it requires, the JSON type of every field and parameter (null only where `nullable`), a
/// query parameter given once, required fields, bounds, patterns, formats, identifiers, `x-dependentRequired` and
/// closed enums. A broken rule is answered 422 naming the field, in the host's documented shape: IPG
/// `{status: 0, errors: [..]}`, Miando `{message, code: validation_error, errors: {field: [..]}}`, elsewhere
/// Laravel's `{message, errors: {field: [..]}}`. Paging values are then read by the handlers as Laravel does.
async fn request_rules(State(data): State<Shared>, request: Request, next: Next) -> Response {
    let (host, local, operation) = operation_of(&request);
    let Some(operation) = operation else {
        return next.run(request).await;
    };
    // Authentication before validation, as Vandar's framework does: a call without the credential its
    // operation's `security` names, or with one that is not current, is 401 whatever its body says.
    use crate::generated::operations::{Credential, Operation};
    let credential = Operation::from_id(operation).map_or(Credential::None, Operation::credential);
    let miando = credential == Credential::Miando;
    if matches!(credential, Credential::Business | Credential::Miando) {
        let bearer = request.headers().get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
        let mut data = data.lock();
        let current = match bearer {
            None => false,
            Some(token) if miando => data.find("miando_tokens", "token", token).is_some(),
            Some(token) => data.token_is_current(token),
        };
        if !current {
            let body = if miando { json!({"error": "Unauthenticated"}) } else { json!({"status": 0, "error": "Unauthenticated"}) };
            return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
        }
    }
    let refuse = |field: &str, reason: &str| {
        let message = format!("The {field} {reason}.");
        if host == "/ipg" {
            (StatusCode::UNPROCESSABLE_ENTITY, Json(json!({"status": 0, "errors": [message]}))).into_response()
        } else if local.starts_with("/miando/") || local.starts_with("/sso/") {
            miando_validation_error(field, &message)
        } else {
            validation_error(field, &message)
        }
    };
    if let Some(query) = request.uri().query() {
        let url = url::Url::parse(&format!("http://mock/?{query}"));
        if let Some((field, reason)) = url.ok().and_then(|url| crate::validate::check_received_query(operation, &url).err()) {
            return refuse(&field, &reason);
        }
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
        return vandar_error(StatusCode::BAD_REQUEST, "the request body could not be read");
    };
    let media = parts.headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    let json = media.as_deref().is_none_or(|t| t.starts_with("application/json"));
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    match crate::validate::required_body(operation) {
        Some("multipart/form-data") => {
            if let Err(reason) = multipart_fields(media.as_deref(), &bytes).await {
                return refuse("body", &reason);
            }
        }
        Some(_) if json && empty => return refuse("body", "is required"),
        _ => {}
    }
    if json && crate::validate::checks_body(operation) {
        let body = if empty { Ok(json!({})) } else { serde_json::from_slice(&bytes) };
        let broken = match body {
            Ok(body) => crate::validate::check_received(operation, &body).err(),
            Err(_) => Some(("body".to_string(), "must be JSON".to_string())),
        };
        if let Some((field, reason)) = broken {
            return refuse(&field, &reason);
        }
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

/// The parts of a `multipart/form-data` body, or why it is not one: each part after a boundary line opens with its
/// headers, a `Content-Disposition: form-data` among them, and a blank line (RFC 7578). Read as PHP reads a form, which
/// takes any byte in a field's name: a strict parser (multer, through httparse) refuses a control character there,
/// which the spec's open form allows.
async fn multipart_fields(media: Option<&str>, bytes: &axum::body::Bytes) -> Result<usize, String> {
    let boundary = media
        .filter(|media| media.to_ascii_lowercase().starts_with("multipart/form-data"))
        .and_then(|media| media.split(';').find_map(|p| p.trim().strip_prefix("boundary=")))
        .map(|b| format!("--{}", b.trim_matches('"')))
        .ok_or("must be multipart/form-data with a boundary")?;
    let text = String::from_utf8_lossy(bytes);
    let mut chunks = text.split(boundary.as_str());
    chunks.next(); // the preamble, which a reader ignores
    let mut parts = 0;
    for chunk in chunks {
        if chunk.starts_with("--") {
            return Ok(parts);
        }
        let headers = chunk.strip_prefix("\r\n").and_then(|rest| rest.split_once("\r\n\r\n")).map(|(headers, _)| headers);
        if !headers.is_some_and(|h| h.lines().any(|l| l.to_ascii_lowercase().starts_with("content-disposition: form-data"))) {
            return Err("is not a readable form: a part has no Content-Disposition: form-data".to_string());
        }
        parts += 1;
    }
    Err("is not a readable form: it has no closing boundary".to_string())
}

/// Every answer in a shape the spec documents: a method the request's path does not declare is 405 with
/// `Allow` (the most specific path wins, as OpenAPI matches: `PUT /customers/fields` is not
/// `PUT /customers/{customer}`), and the web framework's own plain-text rejections (a body that is not JSON, a
/// path or query value that does not parse, such as an id past i64) become the host's JSON error: 404 for a
/// path value (no record can have it), the framework's status otherwise.
async fn documented_answers(request: Request, next: Next) -> Response {
    let (host, local, operation) = operation_of(&request);
    if operation.is_none() {
        if let Some(allowed) = crate::validate::methods_at(&local) {
            let mut answer = vandar_error(StatusCode::METHOD_NOT_ALLOWED, "The method is not supported for this route.");
            if let Ok(allow) = axum::http::HeaderValue::from_str(&allowed.join(", ")) {
                answer.headers_mut().insert(axum::http::header::ALLOW, allow);
            }
            return answer;
        }
    }
    let answer = next.run(request).await;
    let plain = answer.headers().get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/plain"));
    if !(plain && answer.status().is_client_error()) {
        return answer;
    }
    let (parts, body) = answer.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024).await.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
    let status = if text.starts_with("Invalid URL") { StatusCode::NOT_FOUND } else { parts.status };
    // The framework's text names the value it could not parse, never a secret; kept as the message.
    let message = if status == StatusCode::NOT_FOUND { "No record has this id." } else { text.as_str() };
    if host == "/ipg" {
        (status, Json(json!({"status": 0, "errors": [message]}))).into_response()
    } else {
        vandar_error(status, message)
    }
}

/// Vandar's rate limits (POST 30 / other 100 in any 3-second window, a sliding window as Vandar
/// counts, not fixed windows that reset) and the injected faults.
async fn faults_and_limits(State(data): State<Shared>, request: Request, next: Next) -> Response {
    // Only the business's API calls count against its budget: a browser sent to a payment or
    // authorization page (the spec's `*_redirect` pages, answered 302) is the payer, not the business.
    // Assumed: Vandar's documents state the budget for API calls and say nothing of these pages.
    let operation = operation_of(&request).2;
    if operation.is_none_or(|operation| operation.ends_with("_redirect")) {
        return next.run(request).await;
    }
    let (fault, limited) = {
        let mut data = data.lock();
        let post = request.method() == axum::http::Method::POST;
        let now = Instant::now();
        let budget = if post { data.budget.0 } else { data.budget.1 };
        let arrivals = if post { &mut data.arrivals.0 } else { &mut data.arrivals.1 };
        while arrivals.front().is_some_and(|t| now.duration_since(*t) >= crate::rate_limit::WINDOW) {
            arrivals.pop_front();
        }
        let limited = arrivals.len() >= budget as usize;
        if !limited {
            arrivals.push_back(now);
        }
        match (limited, post) {
            (true, _) => data.stats.rate_limited += 1,
            (false, true) => data.stats.accepted_post += 1,
            (false, false) => data.stats.accepted_other += 1,
        }
        // A call refused by the rate limit never reached the operation: it does not count as one of its calls.
        let aimed = if limited { None } else { operation.and_then(|operation| data.aimed_fault(operation)) };
        (aimed.or_else(|| data.faults.pop_front()), limited)
    };
    if limited {
        return rate_limited();
    }
    let name = fault.as_ref().map(Fault::name);
    let mut answer = match fault {
        None => next.run(request).await,
        Some(Fault::Latency(delay)) => {
            let answer = next.run(request).await;
            tokio::time::sleep(delay).await;
            answer
        }
        Some(Fault::Status(status)) => {
            vandar_error(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "injected fault")
        }
        Some(Fault::HtmlErrorPage) => (
            StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>",
        )
            .into_response(),
        Some(Fault::TruncatedBody) => {
            let answer = next.run(request).await;
            let (parts, body) = answer.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let cut = bytes.slice(..bytes.len() / 2);
            let mut parts = parts;
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(cut))
        }
        Some(fault @ (Fault::DropConnection | Fault::AnswerLost)) => {
            if matches!(fault, Fault::AnswerLost) {
                drop(next.run(request).await); // carried out; the answer goes nowhere
            }
            let broken = futures::stream::once(async { Err::<axum::body::Bytes, _>(std::io::Error::other("connection dropped")) });
            Response::builder()
                .status(StatusCode::OK)
                .header("content-type", "application/json")
                .header("content-length", "64")
                .body(Body::from_stream(broken))
                .expect("valid response")
        }
        Some(Fault::RateLimited) => rate_limited(),
        Some(Fault::UnknownEnumValue) => {
            let (mut parts, body) = next.run(request).await.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
            let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
                return Response::from_parts(parts, Body::from(bytes));
            };
            undocumented_values(&mut value);
            parts.headers.remove("content-length");
            Response::from_parts(parts, Body::from(serde_json::to_vec(&value).expect("serializes")))
        }
    };
    if let Some(name) = name {
        answer.extensions_mut().insert(control::FaultApplied(name));
    }
    answer
}

impl Fault {
    /// The fault's name in the control API (`"latency_ms"`, `"truncated_body"`, ...), as
    /// [`AnsweredExchange::fault`] names the fault that shaped an answer.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::Latency(_) => "latency_ms",
            Fault::Status(_) => "status",
            Fault::HtmlErrorPage => "html_error_page",
            Fault::TruncatedBody => "truncated_body",
            Fault::DropConnection => "drop_connection",
            Fault::AnswerLost => "answer_lost",
            Fault::RateLimited => "rate_limited",
            Fault::UnknownEnumValue => "unknown_enum_value",
        }
    }
}

fn undocumented_values(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map.iter_mut() {
                if (key == "status" || key == "state") && inner.is_string() {
                    *inner = json!("UNDOCUMENTED_VALUE");
                } else {
                    undocumented_values(inner);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(undocumented_values),
        _ => {}
    }
}

fn rate_limited() -> Response {
    (StatusCode::TOO_MANY_REQUESTS, [("retry-after", "1")], Json(json!({"status": 0, "message": "Too Many Attempts."}))).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_handler_answers_500_to_its_request_and_the_next_is_served() {
        let lock: Shared = Arc::new(Mutex::new(Data::fresh(Default::default(), "http://127.0.0.1".into())));
        let held = lock.clone();
        let app: Router = Router::new()
            .route("/panic", axum::routing::get(move || async move {
                let _guard = held.lock();
                panic!("handler bug");
                #[allow(unreachable_code)]
                ""
            }))
            .route("/ok", axum::routing::get(|| async { "ok" }))
            .layer(panics_answer_500());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let http = reqwest::Client::new();
        let panicked = http.get(format!("http://{addr}/panic")).send().await.unwrap();
        assert_eq!(panicked.status(), 500);
        assert!(panicked.text().await.unwrap().contains("the handler failed"));
        assert_eq!(http.get(format!("http://{addr}/ok")).send().await.unwrap().text().await.unwrap(), "ok");
        // The lock the handler held while it panicked is not poisoned.
        drop(lock.lock());
        server.abort();
    }
}
