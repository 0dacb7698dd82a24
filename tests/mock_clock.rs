//! The mock as a test platform: its clock (tokens expire, settlements complete with their notify_url
//! posted, unverified payments expire), its magic values, and transaction_list over every record it holds.
#![cfg(feature = "mock")]
#[path = "support/notify.rs"]
mod notify;

use std::time::Duration;

use serde_json::{json, Value};
use vandar::api::types::SettlementStoreRequest;
use notify::NotifyReceiver;
use vandar::mock::MockVandar;
use vandar::money::{Rials, Tomans, Tracked, VerifyOutcome};
use vandar::{Error, Host, RetryPolicy};

const IBAN: &str = "IR330120020000002353697200";
const FAILING_IBAN: &str = "IR760170000000000000000001";
const RETURNED_IBAN: &str = "IR490170000000000000000002";
const UNKNOWN_IBAN: &str = "IR220170000000000000000003";
const DAY: Duration = Duration::from_secs(86_400);

async fn store(vandar: &vandar::Client, iban: &str, notify: Option<&str>) -> (String, i64) {
    let mut request = SettlementStoreRequest::builder().amount(Tomans(10_000)).iban(iban);
    if let Some(url) = notify {
        request = request.notify_url(url);
    }
    let Tracked::Answered { track_id, answer } = vandar.settlement_store(request).await.unwrap() else { panic!("answered") };
    (track_id, answer.data.settlement[0].transaction_id)
}

async fn status_of(vandar: &vandar::Client, transaction_id: i64) -> (String, i64) {
    let list = vandar.api().settlement_list().send().await.unwrap();
    let listed = list.data.settlements.data.iter().find(|s| s.gateway_transaction_id == Some(transaction_id)).expect("listed").status.as_ref().map(|s| s.to_string()).unwrap_or_default();
    let found = vandar.api().transaction_list().id(transaction_id.to_string()).send().await.unwrap();
    (listed, found.data[0].status.unwrap())
}

#[tokio::test]
async fn the_clock_reads_and_advances_over_the_control_api() {
    let mock = MockVandar::start().await.unwrap();
    let http = reqwest::Client::new();
    let clock = format!("{}/__mock/clock", mock.base_url(Host::Api));
    let before: Value = http.get(&clock).send().await.unwrap().json().await.unwrap();
    let after: Value = http.post(&clock).json(&json!({"advance_seconds": 3600})).send().await.unwrap().json().await.unwrap();
    assert_eq!(after["advanced_seconds"], 3600);
    assert!((after["now_unix"].as_i64().unwrap() - before["now_unix"].as_i64().unwrap() - 3600).abs() <= 2, "{before} {after}");
    assert!(after["now_jalali"].as_str().unwrap().contains(" - 14"), "{after}");
    let bad = http.post(&clock).json(&json!({"advance_seconds": -1})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

#[tokio::test]
async fn tokens_expire_by_the_mock_clock_and_the_client_renews() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    vandar.api().balance().send().await.unwrap();
    mock.advance(Duration::from_secs(432_000));
    let http = reqwest::Client::new();
    let balance = format!("{}/v2/business/mock-shop/balance", mock.base_url(Host::Api));
    assert_eq!(http.get(&balance).bearer_auth(mock.credentials().access_token).send().await.unwrap().status(), 401, "five days later");
    vandar.api().balance().send().await.unwrap();
    assert_eq!(mock.refreshes(), 1);
}

#[tokio::test]
async fn a_settlement_is_done_after_a_day_and_its_notify_url_gets_the_final_status() {
    let mut notified = NotifyReceiver::start("/settlement-notify").await;
    let mock = MockVandar::start().await.unwrap();
    mock.route_webhooks_to(&notified.base_url);
    let vandar = mock.client_builder().build().unwrap();
    let (_, id) = store(&vandar, IBAN, Some("https://shop.example/settlement-notify")).await;
    assert_eq!(status_of(&vandar, id).await, ("PENDING".into(), -2));
    mock.advance(Duration::from_secs(3600));
    assert_eq!(status_of(&vandar, id).await.0, "PENDING", "an hour is not a cycle");
    mock.advance(DAY);
    assert_eq!(status_of(&vandar, id).await, ("DONE".into(), 2));
    let (_, form) = notified.next().await;
    assert!(form.contains("name=\"status\"\r\n\r\nDONE") && form.contains(&id.to_string()) && form.contains("ref_code"), "{form}");
    // A settlement done is no longer cancelable.
    assert!(vandar.api().settlement_cancel().transaction_id(id).send().await.is_err());
}

#[tokio::test]
async fn magic_ibans_fail_get_returned_or_are_unknown() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().retry_policy(RetryPolicy::default().max_attempts(1)).build().unwrap();
    let start = mock.wallet_rials();
    let (_, failing) = store(&vandar, FAILING_IBAN, None).await;
    let (_, returned) = store(&vandar, RETURNED_IBAN, None).await;
    assert_eq!(mock.wallet_rials(), start - 200_000);
    mock.advance(DAY);
    assert_eq!(status_of(&vandar, failing).await, ("FAILED".into(), -3));
    assert_eq!(status_of(&vandar, returned).await, ("CANCELED".into(), -4));
    assert_eq!(mock.wallet_rials(), start - 100_000, "the returned one is back, the failed one held");
    vandar.api().settlement_cancel().transaction_id(failing).send().await.unwrap();
    assert_eq!(mock.wallet_rials(), start, "a failed settlement canceled returns its money");

    let unknown = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(10_000)).iban(UNKNOWN_IBAN)).await.unwrap_err();
    let text = format!("{unknown:?}");
    assert!(text.contains("IBAN not found"), "{text}");
    let broke = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(100_000_000)).iban(IBAN)).await.unwrap_err();
    assert!(format!("{broke:?}").contains("موجودی کیف پول کافی نیست"), "{broke:?}");
}

#[tokio::test]
async fn an_unverified_payment_expires_and_a_magic_amount_is_refused() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment(Rials(10_000), "https://shop.example/cb").await.unwrap();
    mock.pay(&payment.payment_page).unwrap();
    mock.advance(Duration::from_secs(21 * 60));
    let refused = vandar.ipg().ipg_verify().body_map(|b| b.token(payment.token.clone())).send().await.unwrap_err();
    assert!(matches!(&refused, Error::Api(api) if api.status == 422 && format!("{api:?}").contains("token is expired")), "{refused:?}");
    assert!(!vandar.verify_payment(&payment.token, Rials(10_000)).await.unwrap().is_paid());
    let listed = vandar.api().transaction_list().factor_number("nothing").send().await.unwrap();
    assert!(listed.data.is_empty());

    let refused = vandar.start_payment(Rials(1_111_110), "https://shop.example/cb").await.unwrap_err();
    assert!(format!("{refused:?}").contains("amount is not acceptable"), "{refused:?}");
}

#[tokio::test]
async fn a_payment_is_found_by_its_order_number_beside_the_settlements() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment_with(Rials(25_000), "https://shop.example/cb", |b| b.factor_number("ORDER-1001")).await.unwrap();
    mock.pay(&payment.payment_page).unwrap();
    assert!(matches!(vandar.verify_payment(&payment.token, Rials(25_000)).await.unwrap(), VerifyOutcome::Verified(_)));
    let (track_id, settlement) = store(&vandar, IBAN, None).await;

    let found = vandar.api().transaction_list().factor_number("ORDER-1001").send().await.unwrap();
    assert_eq!(found.data.len(), 1);
    let record = &found.data[0];
    assert_eq!((record.factor_number.as_deref(), record.status, record.verified, record.amount), (Some("ORDER-1001"), Some(1), Some(1), Some(Tomans(2_500))));
    // Every record kind in one list, filters by kind, channel, status, search and date.
    let all: Vec<i64> = vandar.api().transaction_list().send().await.unwrap().data.iter().filter_map(|t| t.id).collect();
    assert_eq!(all.len(), 2);
    assert_eq!(vandar.api().transaction_list().track_id(&track_id).send().await.unwrap().data[0].id, Some(settlement));
    let ipg = vandar.api().transaction_list().channel(vandar::enums::TransactionChannel::Ipg).send().await.unwrap();
    assert_eq!(ipg.data.len(), 1);
    let settlements = vandar.api().transaction_list().status_kind(vandar::enums::TransactionStatusKind::Settlements).send().await.unwrap();
    assert_eq!(settlements.data[0].id, Some(settlement));
    let pending = vandar.api().transaction_list().status(vandar::enums::TransactionStatusFilter::Pending).send().await.unwrap();
    assert_eq!(pending.data[0].id, Some(settlement));
    let searched = vandar.api().transaction_list().q("ORDER-10").search_field(vandar::enums::TransactionSearchField::FactorNumber).send().await.unwrap();
    assert_eq!(searched.data.len(), 1);
    let http = reqwest::Client::new();
    let list = format!("{}/v3/business/mock-shop/transaction", mock.base_url(Host::Api));
    let token = mock.credentials().access_token;
    let future: Value = http.get(format!("{list}?fromDate=15000101")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(future["data"], json!([]), "nothing after 1500/01/01");
    let past: Value = http.get(format!("{list}?fromDate=14000101&toDate=15000101")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(past["data"].as_array().unwrap().len(), 2);
    // A filter on what the mock holds none of (payment forms, p2p transactions) matches nothing; it is never
    // ignored (the two transactions would come back); an empty filter is none (Laravel's empty string is null);
    // a value outside the spec's enum is refused.
    for filter in ["formId=7", "channel=p2p", "formId=7&channel=ipg"] {
        let none: Value = http.get(format!("{list}?{filter}")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
        assert_eq!(none["data"], json!([]), "{filter}: {none}");
    }
    let empty: Value = http.get(format!("{list}?formId=&ref_id=")).bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    assert_eq!(empty["data"].as_array().unwrap().len(), 2, "{empty}");
    let unknown = http.get(format!("{list}?channel=carrier-pigeon")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(unknown.status(), 422);
}
