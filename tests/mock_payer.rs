//! The mock plays the payer (`MockVandar::pay`, `decline`, `abandon`; `POST /__mock/payer`): no HTTP client
//! of the test's own, the callback URL the browser would reach.
#![cfg(feature = "mock")]

use serde_json::{json, Value};
use vandar::inbound::Callback;
use vandar::mock::MockVandar;
use vandar::money::{Rials, VerifyOutcome};
use vandar::Host;

#[tokio::test]
async fn pay_returns_the_callback_and_the_payment_verifies() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment(Rials(25_000), "https://shop.example/cb?order=7").await.unwrap();
    let back = mock.pay(&payment.payment_page).unwrap();
    assert_eq!(back, format!("https://shop.example/cb?order=7&token={}&payment_status=OK", payment.token));
    let callback = Callback::parse(&back).unwrap();
    assert!(callback.says_paid());
    assert!(matches!(vandar.verify_payment(&callback.token, Rials(25_000)).await.unwrap(), VerifyOutcome::Verified(_)));
}

#[tokio::test]
async fn decline_and_a_declined_card_come_back_failed_and_are_not_paid() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let declined = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    assert!(mock.decline(&declined.payment_page).unwrap().ends_with("payment_status=FAILED"));
    assert!(matches!(vandar.verify_payment(&declined.token, Rials(5_000)).await.unwrap(), VerifyOutcome::NotPaid { .. }));
    // A reloaded page keeps the outcome: paying after a decline does not pay.
    assert!(mock.pay(&declined.token).unwrap().ends_with("payment_status=FAILED"));

    let carded = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    assert!(mock.pay_with_card(&carded.payment_page, "6037990000000002").unwrap().ends_with("payment_status=FAILED"));
    let good = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    assert!(mock.pay_with_card(&good.payment_page, "6037991234567890").unwrap().ends_with("payment_status=OK"));
}

#[tokio::test]
async fn abandon_leaves_the_payment_unpaid_and_an_unknown_token_is_refused() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    assert_eq!(mock.abandon(&payment.payment_page).unwrap(), payment.token);
    assert!(matches!(vandar.verify_payment(&payment.token, Rials(5_000)).await.unwrap(), VerifyOutcome::NotPaid { .. }));
    // Still payable later.
    assert!(mock.pay(&payment.payment_page).unwrap().ends_with("payment_status=OK"));
    assert_eq!(mock.pay("NO-SUCH-TOKEN").unwrap_err().token, "NO-SUCH-TOKEN");
}

#[tokio::test]
async fn the_control_api_plays_the_payer() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
    let http = reqwest::Client::new();
    let control = format!("{}/__mock/payer", mock.base_url(Host::Api));
    let answer: Value = http.post(&control).json(&json!({"token": payment.token, "action": "pay"})).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer, json!({"token": payment.token, "callback_url": format!("https://shop.example/cb?token={}&payment_status=OK", payment.token)}));
    let unknown = http.post(&control).json(&json!({"token": "nope", "action": "pay"})).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
    let bad = http.post(&control).json(&json!({"token": "nope", "action": "dance"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
}

/// The payer's browser on the payment page is not a call of the business: Vandar's budget counts
/// API calls (a browser counted there once made the crate's own limiter, which cannot see the
/// browser, overrun the mock's budget and draw a 429 that paused every caller).
#[tokio::test]
async fn the_payers_page_does_not_spend_the_business_budget() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let payment = vandar.start_payment(Rials(25_000), "https://shop.example/cb").await.unwrap();
    mock.set_rate_limits(30, 1);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    for _ in 0..3 {
        assert_eq!(browser.get(&payment.payment_page).send().await.unwrap().status(), 302);
    }
    let before = mock.stats();
    vandar.api().balance().send().await.unwrap();
    let after = mock.stats();
    assert_eq!((after.accepted_other - before.accepted_other, after.rate_limited), (1, 0), "{after:?}");
    // The one GET of the window is spent by the API call, not by the browser.
    let refused = vandar.api().balance().send().await;
    assert!(matches!(refused, Err(vandar::Error::RateLimited { .. })), "{refused:?}");
    assert!(mock.stats().rate_limited >= 1);
}
