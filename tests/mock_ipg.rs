//! The payment gateway end to end: vandar::Client against the embedded mock Vandar on 127.0.0.1.
#![cfg(feature = "mock")]

use std::time::Duration;

use vandar::mock::{Fault, MockVandar};
use vandar::money::Rials;
use vandar::money::VerifyOutcome;
use vandar::{Error, Host, RetryPolicy};

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().max_attempts(3).base_delay(Duration::from_millis(10)).max_delay(Duration::from_millis(100))
}

async fn send(vandar: &vandar::Client, amount: Rials) -> Result<String, Error> {
    let sent = vandar.ipg().ipg_send().body_map(|b| b.amount(amount).callback_url("https://shop.example/cb?order=7")).send().await?;
    Ok(sent.token)
}

/// The payer's browser on the payment page: returns the callback URL Vandar sends it back to.
async fn pay(vandar: &vandar::Client, token: &str) -> url::Url {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let answer = browser.get(vandar::extras::redirects::ipg_payment_page(vandar, token)).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    url::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap()
}

#[tokio::test]
async fn a_paid_checkout_verifies_once_and_credits_the_wallet() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let before = mock.wallet_rials();
    let token = send(&vandar, Rials(25_000)).await.unwrap();
    let callback = pay(&vandar, &token).await;
    let query: Vec<(String, String)> = callback.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    assert_eq!(query, [("order".into(), "7".into()), ("token".into(), token.clone()), ("payment_status".into(), "OK".into())]);

    let transaction = vandar.ipg().ipg_transaction().body_map(|b| b.token(token.clone())).send().await.unwrap();
    assert_eq!((transaction.status, transaction.amount), (1, Some(Rials(25_000))));

    let VerifyOutcome::Verified(verified) = vandar.verify_payment(&token, Rials(25_000)).await.unwrap() else { panic!("not verified") };
    assert_eq!(verified.amount, Rials(25_000), "Vandar's \"25000.00\" read as Rials");
    assert_eq!(verified.real_amount, Some(Rials(24_500)));
    assert_eq!(mock.wallet_rials(), before + 24_500);

    // Vandar's verify answers once: a raw second call is refused...
    let again = vandar.ipg().ipg_verify().body_map(|b| b.token(token.clone())).send().await.unwrap_err();
    assert!(matches!(&again, Error::Api(api) if api.status == 422 && api.message.contains("قبلا")), "{again:?}");
    // ...and verify_payment reads the true state instead, without crediting twice.
    assert!(matches!(vandar.verify_payment(&token, Rials(25_000)).await.unwrap(), VerifyOutcome::AlreadyVerified(p) if p.amount == Rials(25_000)));
    assert_eq!(mock.wallet_rials(), before + 24_500);
}

#[tokio::test]
async fn a_declined_payment_is_not_paid() {
    let mock = MockVandar::start().await.unwrap();
    mock.payer_declines(true);
    let vandar = mock.client_builder().build().unwrap();
    let token = send(&vandar, Rials(5_000)).await.unwrap();
    let callback = pay(&vandar, &token).await;
    assert!(callback.as_str().ends_with("payment_status=FAILED"));
    assert!(matches!(vandar.verify_payment(&token, Rials(5_000)).await.unwrap(), VerifyOutcome::NotPaid { .. }));
}

#[tokio::test]
async fn an_amount_below_the_minimum_is_refused_before_sending() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let error = send(&vandar, Rials(999)).await.unwrap_err();
    assert!(matches!(&error, Error::InvalidInput { field: Some(f), .. } if f == "amount"), "{error:?}");
}

#[tokio::test]
async fn a_wrong_api_key_is_an_authentication_error() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().ipg_api_key("stolen").build().unwrap();
    let error = send(&vandar, Rials(1_000)).await.unwrap_err();
    assert!(matches!(error, Error::Authentication { status: Some(401), .. }), "{error:?}");
}

#[tokio::test]
async fn a_lost_verify_answer_is_recovered_through_the_lookup() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().timeout(Duration::from_millis(300)).build().unwrap();
    let token = send(&vandar, Rials(10_000)).await.unwrap();
    pay(&vandar, &token).await;
    let before = mock.wallet_rials();
    mock.inject(Fault::Latency(Duration::from_millis(600))); // verify is carried out, its answer arrives too late
    let outcome = vandar.verify_payment(&token, Rials(10_000)).await.unwrap();
    assert!(matches!(&outcome, VerifyOutcome::AlreadyVerified(p) if p.amount == Rials(10_000)), "{outcome:?}");
    assert_eq!(mock.wallet_rials(), before + 9_500, "settled once");
}

#[tokio::test]
async fn a_verify_refused_before_processing_is_sent_again_and_settles_once() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let token = send(&vandar, Rials(10_000)).await.unwrap();
    pay(&vandar, &token).await;
    let before = mock.wallet_rials();
    // A proxy answers 503 without passing verify on: the lookup says "paid, awaiting verify".
    mock.inject(Fault::Status(503));
    let outcome = vandar.verify_payment(&token, Rials(10_000)).await.unwrap();
    assert!(matches!(&outcome, VerifyOutcome::Verified(p) if p.real_amount == Some(Rials(9_500))), "{outcome:?}");
    assert_eq!(mock.wallet_rials(), before + 9_500, "settled once");
    // The lookup tells a verified payment from an unverified one (code 2, the mock's assumption).
    let transaction = vandar.ipg().ipg_transaction().body_map(|b| b.token(token.clone())).send().await.unwrap();
    assert_eq!((transaction.status, transaction.code), (1, Some(2)));
}

#[tokio::test]
async fn faults_on_a_post_become_typed_errors_without_a_second_send() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().retry_policy(fast_retries()).build().unwrap();

    mock.inject(Fault::HtmlErrorPage);
    let error = send(&vandar, Rials(1_000)).await.unwrap_err();
    assert!(matches!(&error, Error::Undecodable { status: Some(502), snippet, .. } if snippet.contains("502 Bad Gateway")), "{error:?}");

    mock.inject(Fault::TruncatedBody);
    let error = send(&vandar, Rials(1_000)).await.unwrap_err();
    assert!(matches!(&error, Error::Undecodable { status: None, .. }), "{error:?}");

    mock.inject(Fault::DropConnection);
    let error = send(&vandar, Rials(1_000)).await.unwrap_err();
    assert!(matches!(&error, Error::Transport { .. }), "{error:?}");

    mock.inject(Fault::Status(500));
    let error = send(&vandar, Rials(1_000)).await.unwrap_err();
    assert_eq!(error.status(), Some(500));

    // A 429 was refused unprocessed: retried, and the payment is registered once.
    mock.inject(Fault::RateLimited);
    let token = send(&vandar, Rials(1_000)).await.unwrap();
    assert_eq!(token.len(), 32);
}

#[tokio::test]
async fn the_mock_serves_each_host_under_its_prefix() {
    let mock = MockVandar::start().await.unwrap();
    assert!(mock.base_url(Host::Ipg).ends_with("/ipg"));
    assert!(mock.base_url(Host::Batch).ends_with("/batch"));
    assert!(!mock.base_url(Host::Api).ends_with('/'));
}
