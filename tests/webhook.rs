//! Miando webhooks: signature, typed events (the document's examples, trailing commas fixed),
//! dedup keys, the axum extractor on 127.0.0.1.
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Asia::Tehran;
use proptest::prelude::*;
use vandar::enums::{AgreementState, PartyRole};
use vandar::money::Rials;
use vandar::inbound::webhook::{self, Event, EventData, WebhookError};

const SLUG: &str = "my-shop";
const CREATED: i64 = 1666468058;
const TRACE_ID: &str = "ee6b9100-a0a4-478d-8535-9eecff8af4b6";

/// The document's envelope around one event's data example.
fn envelope(kind: &str, data: &str) -> Vec<u8> {
    format!(r#"{{"created": {CREATED}, "type": "{kind}", "data": {data}}}"#).into_bytes()
}

fn event(kind: &str, data: &str) -> Event {
    Event::from_json(&envelope(kind, data)).unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn malformed(body: &[u8]) -> String {
    match Event::from_json(body) {
        Err(WebhookError::Malformed(detail)) => detail,
        other => panic!("expected Malformed for {}, got {other:?}", String::from_utf8_lossy(body)),
    }
}

fn signed(body: &[u8], slug: &str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert(webhook::SIGNATURE_HEADER, webhook::sign(body, slug).parse().unwrap());
    headers
}

#[test]
fn agreement_created_carries_the_creator_and_a_tehran_time() {
    let data = r#"{ "tracking_code": "87441125", "creator_role": "buyer", "created_at": "2022-11-05 18:08:43", "creator_mobile": "09123456789" }"#;
    let EventData::AgreementCreated(created) = event("agreement_created", data).data else { panic!("not AgreementCreated") };
    assert_eq!(created.tracking_code, "87441125");
    assert_eq!(created.creator_role, Some(PartyRole::Buyer));
    assert_eq!(created.creator_mobile.as_deref(), Some("09123456789"));
    let at = created.created_at.expect("created_at");
    assert_eq!(at.in_tehran(), Tehran.with_ymd_and_hms(2022, 11, 5, 18, 8, 43).unwrap());
    assert_eq!(at.to_utc(), Utc.with_ymd_and_hms(2022, 11, 5, 14, 38, 43).unwrap(), "Tehran is +03:30");
}

#[test]
fn the_agreed_events_carry_the_applicant() {
    let data = r#"{ "tracking_code": "87441125", "applicant_mobile": "09123456789" }"#;
    for kind in ["seller_agreed_agreement", "buyer_agreed_agreement"] {
        let (EventData::SellerAgreedAgreement(agreed) | EventData::BuyerAgreedAgreement(agreed)) = event(kind, data).data else {
            panic!("{kind} is not an agreed event")
        };
        assert_eq!((agreed.tracking_code.as_str(), agreed.applicant_mobile.as_deref()), ("87441125", Some("09123456789")));
        assert_eq!(event(kind, data).event_type(), kind);
    }
}

#[test]
fn the_events_with_only_a_tracking_code_decode_to_their_own_variant() {
    let data = r#"{ "tracking_code": "87441125" }"#;
    let decoded = |kind| event(kind, data).data;
    assert!(matches!(decoded("seller_rejected_agreement"), EventData::SellerRejectedAgreement(r) if r.tracking_code == "87441125"));
    assert!(matches!(decoded("buyer_rejected_agreement"), EventData::BuyerRejectedAgreement(r) if r.tracking_code == "87441125"));
    assert!(matches!(decoded("agreement_finalized"), EventData::AgreementFinalized(r) if r.tracking_code == "87441125"));
    assert!(matches!(decoded("agreement_cancelled"), EventData::AgreementCancelled(r) if r.tracking_code == "87441125"));
}

#[test]
fn leaving_an_investigation_carries_the_new_state() {
    let data = format!(r#"{{ "tracking_code": "87441125", "trace_id": "{TRACE_ID}", "state": "finalize" }}"#);
    let EventData::AgreementChangeStateFromInvestigation(changed) = event("agreement_change_state_from_investigation", &data).data else {
        panic!("not AgreementChangeStateFromInvestigation")
    };
    assert_eq!(changed.state, Some(AgreementState::Finalize));
    assert_eq!(changed.trace_id.as_deref(), Some(TRACE_ID));
    let novel = event("agreement_change_state_from_investigation", r#"{"tracking_code": "1", "state": "arbitrated"}"#);
    let EventData::AgreementChangeStateFromInvestigation(changed) = novel.data else { panic!() };
    assert_eq!(changed.state, Some(AgreementState::Unknown("arbitrated".into())), "a new state is kept, not refused");
}

#[test]
fn buyer_paid_agreement_carries_the_amount_in_rials() {
    let data = format!(
        r#"{{ "tracking_code": "87441125", "trace_id": "{TRACE_ID}", "transaction_ref_id": "548784521254", "payer_mobile": "09123456789", "amount": "4000000" }}"#
    );
    let EventData::BuyerPaidAgreement(paid) = event("buyer_paid_agreement", &data).data else { panic!("not BuyerPaidAgreement") };
    assert_eq!(paid.amount, Rials(4_000_000));
    assert_eq!(paid.tracking_code, "87441125");
    assert_eq!(paid.trace_id.as_deref(), Some(TRACE_ID));
    assert_eq!(paid.transaction_ref_id.as_deref(), Some("548784521254"));
    assert_eq!(paid.payer_mobile.as_deref(), Some("09123456789"));
    // A number is read as well as a string.
    let EventData::BuyerPaidAgreement(paid) = event("buyer_paid_agreement", r#"{"tracking_code": 1, "transaction_ref_id": 548784521254, "amount": 4000000}"#).data
    else {
        panic!()
    };
    assert_eq!((paid.amount, paid.transaction_ref_id.as_deref()), (Rials(4_000_000), Some("548784521254")));
}

#[test]
fn payouts_carry_the_amount_in_rials() {
    let data = r#"{ "tracking_code": "87441125", "amount": "4000000" }"#;
    let EventData::PaymentRefundedToBuyer(refund) = event("payment_refunded_to_buyer", data).data else { panic!("not PaymentRefundedToBuyer") };
    assert_eq!((refund.tracking_code.as_str(), refund.amount), ("87441125", Rials(4_000_000)));
    let EventData::SellerCheckedOut(checkout) = event("seller_checked_out", data).data else { panic!("not SellerCheckedOut") };
    assert_eq!((checkout.tracking_code.as_str(), checkout.amount), ("87441125", Rials(4_000_000)));
}

#[test]
fn tickets_carry_the_reporter() {
    let data = format!(r#"{{ "tracking_code": "87441125", "trace_id": "{TRACE_ID}", "reporter_mobile": "09123456789" }}"#);
    for kind in ["buyer_submitted_ticket", "seller_submitted_ticket"] {
        let decoded = event(kind, &data);
        assert_eq!(decoded.event_type(), kind);
        let (EventData::BuyerSubmittedTicket(ticket) | EventData::SellerSubmittedTicket(ticket)) = decoded.data else { panic!("{kind}") };
        assert_eq!(ticket.trace_id.as_deref(), Some(TRACE_ID));
        assert_eq!(ticket.reporter_mobile.as_deref(), Some("09123456789"));
    }
}

#[test]
fn the_envelope_is_read_with_a_tracking_code_as_number_or_string() {
    // The document's envelope example sends the tracking code as a number; its event list as a string.
    let from_number = Event::from_json(br#"{ "created": 1666468058, "type": "agreement_finalized", "data": { "tracking_code": 796638828 } }"#).unwrap();
    assert_eq!(from_number.tracking_code(), Some("796638828"));
    assert_eq!(from_number.created, DateTime::from_timestamp(1666468058, 0).unwrap());
    assert_eq!(from_number.created, Utc.with_ymd_and_hms(2022, 10, 22, 19, 47, 38).unwrap());
    let from_string = event("agreement_finalized", r#"{"tracking_code": "87441125"}"#);
    assert_eq!(from_string.tracking_code(), Some("87441125"));
    let from_int = event("agreement_finalized", r#"{"tracking_code": 87441125}"#);
    assert_eq!(from_int.data, from_string.data);
}

#[test]
fn undocumented_fields_are_ignored() {
    let paid = event("seller_checked_out", r#"{"tracking_code": "1", "amount": "10", "settled_to": "IR330120020000002353697200"}"#);
    assert!(matches!(paid.data, EventData::SellerCheckedOut(p) if p.amount == Rials(10)));
}

#[test]
fn an_undocumented_event_type_decodes_to_unknown_with_its_data() {
    let novel = event("agreement_extended", r#"{"tracking_code": 796638828, "until": "2023-01-01"}"#);
    assert_eq!(novel.event_type(), "agreement_extended");
    assert_eq!(novel.tracking_code(), Some("796638828"));
    let EventData::Unknown { kind, tracking_code, data } = novel.data else { panic!("not Unknown") };
    assert_eq!((kind.as_str(), tracking_code.as_deref()), ("agreement_extended", Some("796638828")));
    assert_eq!(data["until"], "2023-01-01");
    // Not even an object: still decoded, never refused.
    let odd = event("wallet_touched", "[1, 2]");
    assert!(matches!(&odd.data, EventData::Unknown { tracking_code: None, data, .. } if data[1] == 2));
}

#[test]
fn a_missing_tracking_code_or_a_bad_value_is_malformed() {
    malformed(&envelope("agreement_finalized", "{}"));
    malformed(&envelope("agreement_finalized", r#"{"tracking_code": true}"#));
    malformed(&envelope("seller_checked_out", r#"{"tracking_code": "1", "amount": "12.5"}"#));
    malformed(&envelope("seller_checked_out", r#"{"tracking_code": "1", "amount": "four"}"#));
    malformed(&envelope("buyer_paid_agreement", r#"{"tracking_code": "1"}"#)); // no amount
    malformed(&envelope("agreement_created", r#"{"tracking_code": "1", "created_at": "1401/08/14"}"#));
    malformed(&envelope("agreement_finalized", "null"));
    malformed(br#"{"created": "yesterday", "type": "agreement_finalized", "data": {"tracking_code": "1"}}"#);
    malformed(br#"{"created": 99999999999999999, "type": "agreement_finalized", "data": {"tracking_code": "1"}}"#);
    malformed(br#"{"type": "agreement_finalized", "data": {"tracking_code": "1"}}"#);
    malformed(b"<html>hi</html>");
    malformed(b"");
    let detail = malformed(&envelope("buyer_paid_agreement", r#"{"tracking_code": "1", "payer_mobile": 9123456789, "amount": "1"}"#));
    assert!(!detail.contains("9123456789"), "the mobile is masked in {detail:?}");
}

#[test]
fn tehran_times_in_a_repeated_hour_take_the_earlier_instant_and_skipped_ones_the_offset_before() {
    // Iran's last daylight saving time: clocks went 00:00 -> 01:00 on 2022-03-22 and 24:00 -> 23:00 on 2022-09-21.
    let at = |text: &str| {
        let data = format!(r#"{{"tracking_code": "1", "created_at": "{text}"}}"#);
        match Event::from_json(&envelope("agreement_created", &data)).map(|e| e.data) {
            Ok(EventData::AgreementCreated(created)) => Ok(created.created_at.unwrap().to_utc()),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        }
    };
    assert_eq!(at("2022-09-21 23:30:00"), Ok(Utc.with_ymd_and_hms(2022, 9, 21, 19, 0, 0).unwrap()), "+04:30, the first 23:30");
    // A time the clocks skipped is read with the offset before the change (+03:30): a signed event is never refused for it.
    assert_eq!(at("2022-03-22 00:30:00"), Ok(Utc.with_ymd_and_hms(2022, 3, 21, 21, 0, 0).unwrap()));
    assert_eq!(at("2022-03-22 01:30:00"), Ok(Utc.with_ymd_and_hms(2022, 3, 21, 21, 0, 0).unwrap()));
}

#[test]
fn verify_checks_the_signature_before_decoding() {
    let body = envelope("agreement_finalized", r#"{"tracking_code": "87441125"}"#);
    assert_eq!(webhook::verify(&signed(&body, SLUG), &body, SLUG).unwrap().tracking_code(), Some("87441125"));
    assert_eq!(webhook::verify(&http::HeaderMap::new(), &body, SLUG).unwrap_err(), WebhookError::Unsigned);
    assert_eq!(webhook::verify(&signed(&body, "other-shop"), &body, SLUG).unwrap_err(), WebhookError::BadSignature);
    let mut garbage = http::HeaderMap::new();
    garbage.insert(webhook::SIGNATURE_HEADER, "not base64!".parse().unwrap());
    assert_eq!(webhook::verify(&garbage, &body, SLUG).unwrap_err(), WebhookError::BadSignature);
    let not_json = b"<html>hi</html>";
    assert!(matches!(webhook::verify(&signed(not_json, SLUG), not_json, SLUG), Err(WebhookError::Malformed(_))));
    // PHP's json-escaped form of the header ("\/") is accepted.
    let escaped = webhook::sign(&body, SLUG).replace('/', "\\/");
    assert!(webhook::verify_signature(&body, &escaped, SLUG).is_ok());
    assert_eq!(WebhookError::Unsigned.status(), 401);
    assert_eq!(WebhookError::Malformed(String::new()).status(), 400);
}

proptest! {
    #[test]
    fn any_tampering_with_a_signed_webhook_is_refused(flip in 0usize..60, bit in 0u8..8) {
        let body = br#"{"created":1666468058,"type":"agreement_finalized","data":{"tracking_code":796638828}}"#.to_vec();
        let signature = webhook::sign(&body, SLUG);
        let mut tampered = body.clone();
        let at = flip % tampered.len();
        tampered[at] ^= 1 << bit;
        prop_assert_eq!(webhook::verify_signature(&tampered, &signature, SLUG), Err(WebhookError::BadSignature));
        prop_assert!(webhook::verify_signature(&body, &signature, SLUG).is_ok());
    }
}

#[test]
fn the_dedup_key_is_the_same_for_redeliveries_and_differs_between_events() {
    let first = event("buyer_paid_agreement", r#"{"tracking_code": "87441125", "amount": "4000000"}"#);
    let again = event("buyer_paid_agreement", r#"{"tracking_code": "87441125", "amount": "4000000"}"#);
    assert_eq!(first.dedup_key(), again.dedup_key());
    assert_eq!(first.dedup_key(), "buyer_paid_agreement:87441125:1666468058");
    // Re-serialized by the sender (other field order, spacing, the code as a number): the same event.
    let reserialized = Event::from_json(br#"{"data":{"amount":"4000000","tracking_code":87441125},"type":"buyer_paid_agreement","created":1666468058}"#).unwrap();
    assert_eq!(reserialized.dedup_key(), first.dedup_key());

    let other_type = event("seller_checked_out", r#"{"tracking_code": "87441125", "amount": "4000000"}"#);
    let other_agreement = event("buyer_paid_agreement", r#"{"tracking_code": "87441126", "amount": "4000000"}"#);
    let later = Event::from_json(br#"{"created": 1666468059, "type": "buyer_paid_agreement", "data": {"tracking_code": "87441125", "amount": "4000000"}}"#).unwrap();
    for different in [&other_type, &other_agreement, &later] {
        assert_ne!(different.dedup_key(), first.dedup_key());
    }
    // Undocumented types without a tracking code are told apart by their data.
    let (a, b) = (event("wallet_touched", r#"{"id": 1}"#), event("wallet_touched", r#"{"id": 2}"#));
    assert_ne!(a.dedup_key(), b.dedup_key());
    assert_eq!(a.dedup_key(), event("wallet_touched", r#"{"id": 1}"#).dedup_key());
}

#[cfg(feature = "axum")]
mod extractor {
    use std::sync::{Arc, Mutex};

    use axum::extract::{FromRef, State};
    use axum::http::StatusCode;
    use vandar::money::Rials;
    use vandar::inbound::webhook::{self, BusinessSlug, Event, EventData, MiandoWebhook};

    use super::{envelope, SLUG};

    #[derive(Clone)]
    struct App {
        slug: BusinessSlug,
        handled: Arc<Mutex<Vec<Event>>>,
    }

    impl FromRef<App> for BusinessSlug {
        fn from_ref(app: &App) -> Self {
            app.slug.clone()
        }
    }

    async fn handler(State(app): State<App>, MiandoWebhook(event): MiandoWebhook) -> StatusCode {
        app.handled.lock().unwrap().push(event);
        StatusCode::OK
    }

    /// A server on 127.0.0.1 with the extractor; returns its URL and the events its handler saw.
    async fn serve() -> (String, Arc<Mutex<Vec<Event>>>) {
        let app = App { slug: BusinessSlug::new(SLUG), handled: Arc::default() };
        let handled = app.handled.clone();
        let router = axum::Router::new().route("/miando", axum::routing::post(handler)).with_state(app);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/miando", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, router).await });
        (url, handled)
    }

    async fn post(url: &str, body: &[u8], signature: Option<String>) -> (u16, String) {
        let mut request = reqwest::Client::new().post(url).body(body.to_vec());
        if let Some(signature) = signature {
            request = request.header(webhook::SIGNATURE_HEADER, signature);
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.text().await.unwrap())
    }

    #[tokio::test]
    async fn a_signed_event_reaches_the_handler_typed() {
        let (url, handled) = serve().await;
        let body = envelope("buyer_paid_agreement", r#"{"tracking_code": "87441125", "amount": "4000000"}"#);
        let (status, _) = post(&url, &body, Some(webhook::sign(&body, SLUG))).await;
        assert_eq!(status, 200);
        let handled = handled.lock().unwrap();
        assert_eq!(handled.len(), 1);
        assert!(matches!(&handled[0].data, EventData::BuyerPaidAgreement(paid) if paid.amount == Rials(4_000_000) && paid.tracking_code == "87441125"));
    }

    #[tokio::test]
    async fn refusals_are_401_or_400_and_never_reach_the_handler_or_echo_the_slug() {
        let (url, handled) = serve().await;
        let body = envelope("agreement_finalized", r#"{"tracking_code": "87441125"}"#);
        let not_event = br#"{"created": 1, "type": "agreement_finalized", "data": {}}"#;
        let cases = [
            ("unsigned", post(&url, &body, None).await, 401),
            ("wrong slug", post(&url, &body, Some(webhook::sign(&body, "other-shop"))).await, 401),
            ("not base64", post(&url, &body, Some("%%%".into())).await, 401),
            ("signed, malformed", post(&url, not_event, Some(webhook::sign(not_event, SLUG))).await, 400),
        ];
        for (case, (status, text), expected) in cases {
            assert_eq!(status, expected, "{case}: {text}");
            assert!(!text.is_empty() && text.len() < 100, "{case}: a short body, got {text:?}");
            assert!(!text.contains(SLUG), "{case}: the slug is never echoed");
        }
        assert!(handled.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_body_over_axums_default_limit_is_refused_before_verification() {
        let (url, handled) = serve().await;
        let huge = vec![b' '; 3 * 1024 * 1024];
        let (status, _) = post(&url, &huge, Some(webhook::sign(&huge, SLUG))).await;
        assert_eq!(status, 413);
        assert!(handled.lock().unwrap().is_empty());
    }
}

// notify_url callbacks (unsigned): settlement (form fields) and withdrawal (JSON).
mod notify {
    use vandar::enums::{SettlementStatus, WithdrawalStatus};
    use vandar::money::Rials;
    use vandar::inbound::notify::{SettlementNotification, WithdrawalNotification};
    use vandar::inbound::webhook::WebhookError;

    const SETTLEMENT_ID: &str = "8edaa0a0-a33f-11ea-838d-676dce32760e";

    #[test]
    fn a_settlement_notification_is_read_from_form_fields() {
        let body = format!(
            "id={SETTLEMENT_ID}&iban_id=22822&transaction_id=159024236678&amount=1000000&payment_number=123&status=DONE\
             &settlement_date=2020-05-31&settlement_date_jalali=1399%2F03%2F11&revised_transaction_id=&ref_code=98765"
        );
        let notified = SettlementNotification::from_form(body.as_bytes()).unwrap();
        assert_eq!(notified.id.to_string(), SETTLEMENT_ID);
        assert_eq!(notified.status, SettlementStatus::Done);
        assert_eq!(notified.amount, Some(Rials(1_000_000)));
        assert_eq!(notified.transaction_id.as_deref(), Some("159024236678"));
        assert_eq!(notified.settlement_date_jalali, Some(vandar::dates::JalaliDate::new(1399, 3, 11).unwrap()));
        assert_eq!(notified.settlement_date, chrono::NaiveDate::from_ymd_opt(2020, 5, 31));
        assert_eq!(notified.ref_code.as_deref(), Some("98765"));
        assert_eq!(notified.revised_transaction_id, None, "an empty field is absent");

        // The same fields parsed from a multipart body by a web framework.
        let fields = body.split('&').map(|pair| pair.split_once('=').unwrap()).map(|(k, v)| (k, v.replace("%2F", "/")));
        assert_eq!(SettlementNotification::from_fields(fields).unwrap(), notified);
    }

    #[test]
    fn a_settlement_notification_needs_its_id_and_status_and_keeps_new_statuses() {
        let minimal = SettlementNotification::from_form(format!("id={SETTLEMENT_ID}&status=RETURNED").as_bytes()).unwrap();
        assert_eq!(minimal.status, SettlementStatus::Unknown("RETURNED".into()));
        assert_eq!(minimal.amount, None);
        for bad in ["status=DONE".to_string(), format!("id={SETTLEMENT_ID}"), "id=42&status=DONE".into(), format!("id={SETTLEMENT_ID}&status=DONE&amount=10.5")] {
            assert!(matches!(SettlementNotification::from_form(bad.as_bytes()), Err(WebhookError::Malformed(_))), "{bad}");
        }
    }

    #[test]
    fn a_withdrawal_notification_is_read_from_json_with_numbers_or_strings() {
        let body = br#"{"withdrawal_id": "b1a4c1a0-0d3e-11ec-9a03-0242ac130003", "authorization_id": "c2b5d2b0-0d3e-11ec-9a03-0242ac130003",
            "gateway_transaction_id": 159024236678, "status": "DONE", "amount": "50000.00", "payment_number": null}"#;
        let notified = WithdrawalNotification::from_json(body).unwrap();
        assert_eq!(notified.status, WithdrawalStatus::Done);
        assert_eq!(notified.amount, Some(Rials(50_000)));
        assert_eq!(notified.gateway_transaction_id.as_deref(), Some("159024236678"));
        assert_eq!(notified.payment_number, None);
        assert_eq!(notified.authorization_id.map(|id| id.to_string()).as_deref(), Some("c2b5d2b0-0d3e-11ec-9a03-0242ac130003"));
        let as_number = WithdrawalNotification::from_json(br#"{"withdrawal_id": "b1a4c1a0-0d3e-11ec-9a03-0242ac130003", "status": "REFUND", "amount": 50000}"#).unwrap();
        assert_eq!((as_number.status, as_number.amount), (WithdrawalStatus::Refund, Some(Rials(50_000))));
        for bad in [&br#"{"status": "DONE"}"#[..], br#"{"withdrawal_id": "b1a4c1a0-0d3e-11ec-9a03-0242ac130003", "status": "DONE", "amount": "1.5"}"#, b"id=1"] {
            assert!(matches!(WithdrawalNotification::from_json(bad), Err(WebhookError::Malformed(_))));
        }
    }
}

/// "Acknowledge fast, queue the work": an event goes into a queue as JSON and comes back equal,
/// in Miando's own shape, for every documented type and for one Miando adds later.
#[test]
fn an_event_round_trips_through_json_for_a_queue() {
    let events = [
        event("agreement_created", r#"{"tracking_code": "87441125", "creator_role": "buyer", "created_at": "2022-11-05 18:08:43", "creator_mobile": "09123456789"}"#),
        event("buyer_paid_agreement", &format!(r#"{{"tracking_code": 87441125, "trace_id": "{TRACE_ID}", "transaction_ref_id": "5487", "amount": "4000000"}}"#)),
        event("agreement_change_state_from_investigation", r#"{"tracking_code": "1", "state": "finalize"}"#),
        event("seller_checked_out", r#"{"tracking_code": "1", "amount": 5000}"#),
        event("something_new", r#"{"tracking_code": 5, "extra": [1, 2]}"#),
    ];
    for event in events {
        let queued = serde_json::to_vec(&event).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&queued).unwrap();
        assert_eq!((json["created"].as_i64(), json["type"].as_str()), (Some(CREATED), Some(event.event_type())), "{json}");
        assert_eq!(serde_json::from_slice::<Event>(&queued).unwrap(), event, "{json}");
        assert_eq!(Event::from_json(&queued).unwrap().dedup_key(), event.dedup_key());
    }
}
