//! The client's tracing spans against the embedded mock: one `vandar.http` span per HTTP request
//! (each attempt, the repeat after a 401, every token renewal and lookup) under the `vandar.call`
//! that sent it, every field recorded once, no secret in any of them.
//!
//! Each test installs its own capturing subscriber for its thread (`#[tokio::test]` runs the
//! client and the mock on that one thread), so the tests of this file do not see each other.
#![cfg(feature = "mock")]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use vandar::api::types::SettlementStoreRequest;
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, Tomans};
use vandar::money::Tracked;
use vandar::RetryPolicy;

/// Every value recorded for each field of a span or event, in order.
type Fields = BTreeMap<&'static str, Vec<String>>;

/// One span as the subscriber saw it.
#[derive(Debug, Clone)]
struct Seen {
    name: &'static str,
    /// Index of the parent span in the capture.
    parent: Option<usize>,
    fields: Fields,
}

impl Seen {
    /// The fields with their single value (panics on a field recorded twice), `latency_ms` left
    /// out once checked to be a number.
    fn once(&self) -> BTreeMap<&'static str, String> {
        let mut once = BTreeMap::new();
        for (field, values) in &self.fields {
            assert_eq!(values.len(), 1, "{} recorded {field} {} times: {values:?}", self.name, values.len());
            if *field == "latency_ms" {
                assert!(values[0].parse::<u64>().is_ok(), "latency_ms = {values:?}");
            } else {
                once.insert(*field, values[0].clone());
            }
        }
        assert!(self.fields.contains_key("latency_ms"), "{} has no latency_ms: {self:?}", self.name);
        once
    }
}

/// Everything captured: spans in order of creation, and the fields of the client's events.
#[derive(Default, Clone)]
struct Capture {
    spans: Arc<Mutex<Vec<Seen>>>,
    events: Arc<Mutex<Vec<Fields>>>,
}

/// A span's index in [`Capture::spans`], kept in the registry's extensions (span ids are reused).
struct Index(usize);

struct Values<'a>(&'a mut Fields);

impl Visit for Values<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.entry(field.name()).or_default().push(value.to_string());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.entry(field.name()).or_default().push(format!("{value:?}"));
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("the registry knows a new span");
        let parent = span.parent().and_then(|p| p.extensions().get::<Index>().map(|i| i.0));
        let mut fields = BTreeMap::new();
        attrs.record(&mut Values(&mut fields));
        let mut spans = self.spans.lock().unwrap();
        span.extensions_mut().insert(Index(spans.len()));
        spans.push(Seen { name: attrs.metadata().name(), parent, fields });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let span = ctx.span(id).expect("a recorded span is open");
        let Some(&Index(index)) = span.extensions().get::<Index>() else { return };
        values.record(&mut Values(&mut self.spans.lock().unwrap()[index].fields));
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        // The client's events only: the mock serves on this thread too.
        let target = event.metadata().target();
        if !target.starts_with("vandar") || target.starts_with("vandar::mock") {
            return;
        }
        let mut fields = BTreeMap::new();
        event.record(&mut Values(&mut fields));
        self.events.lock().unwrap().push(fields);
    }
}

impl Capture {
    /// Captures what this thread traces until the guard drops.
    fn install() -> (Self, tracing::subscriber::DefaultGuard) {
        let capture = Capture::default();
        let guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(capture.clone()));
        (capture, guard)
    }

    /// The client's spans (`vandar.*`), in order of creation, with their parent's index in this list.
    fn vandar(&self) -> Vec<Seen> {
        let all = self.spans.lock().unwrap().clone();
        let kept: Vec<usize> = (0..all.len()).filter(|&i| all[i].name.starts_with("vandar.")).collect();
        kept.iter()
            .map(|&i| Seen { parent: all[i].parent.and_then(|p| kept.iter().position(|&k| k == p)), ..all[i].clone() })
            .collect()
    }

    /// Forgets what was captured so far (a warm-up call's spans).
    fn clear(&self) {
        self.spans.lock().unwrap().clear();
        self.events.lock().unwrap().clear();
    }
}

/// `name` with its fields, for comparing a whole span at once.
fn span(name: &str, fields: &[(&'static str, &str)]) -> (String, BTreeMap<&'static str, String>) {
    (name.to_string(), fields.iter().map(|(k, v)| (*k, v.to_string())).collect())
}

fn shape(spans: &[Seen]) -> Vec<(String, BTreeMap<&'static str, String>)> {
    spans.iter().map(|s| (s.name.to_string(), s.once())).collect()
}

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().max_attempts(3).base_delay(Duration::from_millis(10)).max_delay(Duration::from_millis(100))
}

const IBAN: &str = "IR330120020000002353697200";

#[tokio::test]
async fn a_401_renewal_shows_the_first_attempt_the_refresh_and_the_repeat_each_once() {
    let (capture, _guard) = Capture::install();
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    mock.expire_access_token();
    vandar.api().balance().send().await.unwrap();

    let spans = capture.vandar();
    assert_eq!(
        shape(&spans),
        [
            span("vandar.call", &[("operation", "balance"), ("host", "api"), ("method", "GET"), ("attempts", "2"), ("status", "200")]),
            span("vandar.http", &[("operation", "balance"), ("host", "api"), ("method", "GET"), ("attempt", "1"), ("status", "401")]),
            span("vandar.http", &[("operation", "token_refresh"), ("host", "api"), ("method", "POST"), ("attempt", "1"), ("status", "200")]),
            span(
                "vandar.http",
                &[("operation", "balance"), ("host", "api"), ("method", "GET"), ("attempt", "2"), ("renewed", "true"), ("status", "200")]
            ),
        ]
    );
    let parents: Vec<Option<usize>> = spans.iter().map(|s| s.parent).collect();
    assert_eq!(parents, [None, Some(0), Some(0), Some(0)], "the refresh and both attempts sit under the call");
}

#[tokio::test]
async fn a_get_retried_after_a_503_has_one_span_per_attempt() {
    let (capture, _guard) = Capture::install();
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().retry_policy(fast_retries()).build().unwrap();
    mock.inject(Fault::Status(503));
    vandar.api().balance().send().await.unwrap();

    let spans = capture.vandar();
    assert_eq!(
        shape(&spans),
        [
            span("vandar.call", &[("operation", "balance"), ("host", "api"), ("method", "GET"), ("attempts", "2"), ("status", "200")]),
            span("vandar.http", &[("operation", "balance"), ("host", "api"), ("method", "GET"), ("attempt", "1"), ("status", "503")]),
            span("vandar.http", &[("operation", "balance"), ("host", "api"), ("method", "GET"), ("attempt", "2"), ("status", "200")]),
        ]
    );
    assert!(spans[1..].iter().all(|s| s.parent == Some(0)));
}

#[tokio::test]
async fn a_lost_settlement_answer_shows_its_lookup_under_the_same_tracked_flow() {
    let (capture, _guard) = Capture::install();
    let mock = MockVandar::start().await.unwrap();
    // The answer arrives after the client gave up; the mock has carried the settlement out.
    let vandar = mock.client_builder().timeout(Duration::from_millis(500)).build().unwrap();
    vandar.api().balance().send().await.unwrap(); // connection and token warmed up, then forgotten
    capture.clear();
    mock.inject(Fault::Latency(Duration::from_secs(2)));
    let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id("order-77")).await.unwrap();
    assert!(matches!(stored, Tracked::Reconciled { .. }), "{stored:?}");

    let spans = capture.vandar();
    assert_eq!(
        shape(&spans),
        [
            span("vandar.flow", &[("operation", "settlement_store"), ("track_id", "order-77"), ("outcome", "reconciled")]),
            span(
                "vandar.call",
                &[("operation", "settlement_store"), ("host", "api"), ("method", "POST"), ("track_id", "order-77"), ("attempts", "1"), ("error", "timeout")]
            ),
            span("vandar.http", &[("operation", "settlement_store"), ("host", "api"), ("method", "POST"), ("attempt", "1"), ("error", "timeout")]),
            span("vandar.call", &[("operation", "transaction_list"), ("host", "api"), ("method", "GET"), ("attempts", "1"), ("status", "200")]),
            span("vandar.http", &[("operation", "transaction_list"), ("host", "api"), ("method", "GET"), ("attempt", "1"), ("status", "200")]),
        ]
    );
    let parents: Vec<Option<usize>> = spans.iter().map(|s| s.parent).collect();
    assert_eq!(parents, [None, Some(0), Some(1), Some(0), Some(3)], "the lookup is the flow's second call, with its own request");
}

#[tokio::test]
async fn no_span_or_event_field_holds_a_credential() {
    let (capture, _guard) = Capture::install();
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().retry_policy(fast_retries()).build().unwrap();
    // Every credential in use: the business pair and its renewal, the IPG api_key, the Miando secret and token.
    mock.expire_access_token();
    vandar.api().balance().send().await.unwrap();
    let payment = vandar.start_payment(Rials(10_000), "https://shop.example/cb").await.unwrap();
    let outcome = vandar.verify_payment(&payment.token, Rials(10_000)).await.unwrap();
    assert!(!outcome.is_paid(), "never paid: {outcome:?}");
    vandar.api().miando_customer_list().send().await.unwrap();

    let spans = capture.vandar();
    let miando = spans.iter().position(|s| s.once().get("operation").map(String::as_str) == Some("miando_customer_list")).unwrap();
    let token_call = spans.iter().find(|s| s.once().get("operation").map(String::as_str) == Some("miando_token")).unwrap();
    assert_eq!((token_call.name, token_call.parent), ("vandar.http", Some(miando)), "the Miando token call sits under the call that needed it");
    let verify = spans.iter().position(|s| s.name == "vandar.flow").unwrap();
    let lookup = spans.iter().position(|s| s.once().get("operation").map(String::as_str) == Some("ipg_transaction")).unwrap();
    assert_eq!(spans[lookup].parent, Some(verify), "verify_payment's lookup sits under its flow");

    let c = mock.credentials();
    let second = (second_of(&c.access_token), second_of(&c.refresh_token));
    let mut secrets = vec![c.access_token, c.refresh_token, c.ipg_api_key, c.miando_client_secret, payment.token];
    secrets.extend([second.0, second.1, "mock-miando-jwt".into()]);
    let all_spans = capture.spans.lock().unwrap().clone();
    let events = capture.events.lock().unwrap().clone();
    let values: Vec<&String> =
        all_spans.iter().flat_map(|s| s.fields.values()).chain(events.iter().flat_map(|e| e.values())).flatten().collect();
    assert!(values.len() > 50, "the flows were traced: {values:?}");
    for secret in &secrets {
        let leaked: Vec<&&String> = values.iter().filter(|v| v.contains(secret.as_str())).collect();
        assert!(leaked.is_empty(), "{secret} recorded in {leaked:?}");
    }
    for value in &values {
        assert!(!value.contains("http://") && !value.contains("/v2/business/"), "a URL recorded: {value}");
    }
}

/// The mock's second token after `first` (`mock-access-<start>-1` -> `mock-access-<start>-2`).
fn second_of(first: &str) -> String {
    format!("{}-2", first.strip_suffix("-1").expect("a first token ends in -1"))
}
