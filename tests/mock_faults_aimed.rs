//! Faults aimed at one operation (and its nth call), cleared without a reset, from Rust and over the
//! control API; the global queue keeps working beside them.
#![cfg(feature = "mock")]

use std::time::Duration;

use serde_json::{json, Value};
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, VerifyOutcome};
use vandar::{Error, Host, RetryPolicy};

fn no_retries(mock: &MockVandar) -> vandar::Client {
    mock.client_builder().retry_policy(RetryPolicy::default().max_attempts(1).base_delay(Duration::from_millis(1)).max_delay(Duration::from_millis(1))).build().unwrap()
}

#[tokio::test]
async fn a_fault_aimed_at_verify_leaves_other_operations_alone() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = no_retries(&mock);
    mock.inject_for("ipg_verify", Fault::Status(503));
    // Other operations pass untouched.
    vandar.api().balance().send().await.unwrap();
    let payment = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    mock.pay(&payment.payment_page).unwrap();
    let refused = vandar.ipg().ipg_verify().body_map(|b| b.token(payment.token.clone())).send().await.unwrap_err();
    assert!(matches!(&refused, Error::Api(api) if api.status == 503), "{refused:?}");
    assert!(matches!(vandar.verify_payment(&payment.token, Rials(5_000)).await.unwrap(), VerifyOutcome::Verified(_)));
}

#[tokio::test]
async fn the_nth_call_of_an_operation_misbehaves_and_only_that_one() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = no_retries(&mock);
    mock.inject_nth("balance", 2, Fault::Status(502));
    vandar.api().balance().send().await.unwrap();
    assert!(matches!(vandar.api().balance().send().await.unwrap_err(), Error::Api(api) if api.status == 502));
    vandar.api().balance().send().await.unwrap();
}

#[tokio::test]
async fn clear_faults_drops_what_a_test_did_not_use_and_keeps_the_payment() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = no_retries(&mock);
    let payment = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    mock.pay(&payment.payment_page).unwrap();
    for _ in 0..10 {
        mock.inject_for("ipg_verify", Fault::Status(503));
    }
    mock.inject(Fault::Status(500));
    assert_eq!(mock.clear_faults(), 11);
    // "Vandar is back": the payment survived, the faults did not.
    assert!(matches!(vandar.verify_payment(&payment.token, Rials(5_000)).await.unwrap(), VerifyOutcome::Verified(_)));
}

#[tokio::test]
#[should_panic(expected = "not an operation id")]
async fn an_unknown_operation_id_is_refused() {
    let mock = MockVandar::start().await.unwrap();
    mock.inject_for("verify_the_thing", Fault::Status(503));
}

#[tokio::test]
async fn the_control_api_aims_and_clears_faults() {
    let mock = MockVandar::start().await.unwrap();
    let api = mock.base_url(Host::Api);
    let http = reqwest::Client::new();
    let faults = format!("{api}/__mock/faults");
    let balance = format!("{api}/v2/business/mock-shop/balance");
    let token = mock.credentials().access_token;
    let aimed: Value = http.post(&faults).json(&json!({"operation": "balance", "nth": 2, "faults": [{"status": 503}]})).send().await.unwrap().json().await.unwrap();
    assert_eq!(aimed, json!({"queued": 1, "operation": "balance"}));
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 200);
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 503);
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 200);

    http.post(&faults).json(&json!({"operation": "balance", "faults": [{"status": 503}]})).send().await.unwrap();
    http.post(&faults).json(&json!({"faults": [{"status": 500}]})).send().await.unwrap();
    let cleared: Value = http.delete(&faults).send().await.unwrap().json().await.unwrap();
    assert_eq!(cleared, json!({"cleared": 2}));
    assert_eq!(http.get(&balance).bearer_auth(&token).send().await.unwrap().status(), 200);

    let unknown = http.post(&faults).json(&json!({"operation": "nope", "faults": [{"status": 503}]})).send().await.unwrap();
    assert_eq!(unknown.status(), 400);
    assert!(unknown.text().await.unwrap().contains("operation"));
    let typo = http.post(&faults).json(&json!({"operation": "ipg_verfy", "faults": [{"status": 503}]})).send().await.unwrap();
    assert_eq!(typo.status(), 400);
    assert_eq!(typo.json::<Value>().await.unwrap()["error"], r#"operation: "ipg_verfy" is not an operation id of the spec; did you mean "ipg_verify"?"#);
    let lonely_nth = http.post(&faults).json(&json!({"nth": 2, "faults": [{"status": 503}]})).send().await.unwrap();
    assert_eq!(lonely_nth.status(), 400);
}

/// `AnswerLost` carries the verify out and loses its answer (the money is taken, the shop does not
/// know); `DropConnection` breaks before it is carried out. The next `verify_payment` tells them
/// apart: already verified (by the call whose answer was lost), or verified now.
#[tokio::test]
async fn a_verify_whose_answer_is_lost_was_carried_out_and_one_dropped_before_was_not() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = no_retries(&mock);
    let verifies = |mock: &MockVandar| mock.requests().iter().filter(|r| r.path == "/ipg/api/v4/verify").count();
    for fault in [Fault::AnswerLost, Fault::DropConnection] {
        let before = verifies(&mock);
        let payment = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
        mock.pay(&payment.payment_page).unwrap();
        mock.inject_for("ipg_verify", fault.clone());
        let lost = vandar.ipg().ipg_verify().body_map(|b| b.token(payment.token.clone())).send().await.unwrap_err();
        assert!(matches!(&lost, Error::Transport { .. }), "{fault:?}: {lost:?}");
        let outcome = vandar.verify_payment(&payment.token, Rials(5_000)).await.unwrap();
        match fault {
            Fault::AnswerLost => assert!(matches!(outcome, VerifyOutcome::AlreadyVerified(_)), "carried out before the answer was lost: {outcome:?}"),
            _ => assert!(matches!(outcome, VerifyOutcome::Verified(_)), "dropped before it was carried out: {outcome:?}"),
        }
        assert_eq!(verifies(&mock) - before, 2, "{fault:?}: the lost verify and verify_payment's");
    }
}
