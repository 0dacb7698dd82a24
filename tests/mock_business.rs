//! Business information, cash-in, IPG refunds, batch settlements, queued settlements and Ravand,
//! end to end against the embedded mock Vandar on 127.0.0.1.
#![cfg(feature = "mock")]

use vandar::money::{Rials, Tomans};

use vandar::api::types::OpenObject;
use vandar::batch::types::BatchSettlementItem;
use vandar::mock::MockVandar;
use vandar::Error;

const IBAN: &str = "IR330120020000002353697200";

async fn started() -> (MockVandar, vandar::Client) {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    (mock, vandar)
}

fn open() -> OpenObject {
    OpenObject(serde_json::Map::new())
}

#[tokio::test]
async fn the_business_and_its_users_are_shown() {
    let (_mock, vandar) = started().await;
    let business = vandar.api().business_show().business("mock-shop").send().await.unwrap().data.unwrap();
    assert_eq!(business.business_name.as_deref(), Some("mock-shop"));
    assert_eq!(business.wallet, Some(Tomans(5_000_000)), "wallet in Tomans");
    assert!(business.tools.contains_key("ipg"));
    let users = vandar.api().business_users().business("mock-shop").send().await.unwrap();
    assert_eq!(users.data.unwrap().users[0].role.as_deref(), Some("business owner"));
    let banks = vandar.api().settlement_banks().business("mock-shop").has_a2a_bank_ability(true).send().await.unwrap();
    assert_eq!(banks.data[0].code.as_deref(), Some("062"));
    let other = vandar.api().business_show().business("someone-else").send().await.unwrap_err();
    assert_eq!(other.status(), Some(404));
}

#[tokio::test]
async fn the_token_call_rotates_the_pair_and_refuses_the_used_refresh_token() {
    let (mock, vandar) = started().await;
    let first = mock.credentials().refresh_token;
    let pair = vandar.api().token_refresh().body_map(|b| b.refreshtoken(first.clone())).send().await.unwrap();
    assert_eq!(pair.expires_in, 432_000);
    assert_ne!(pair.refresh_token, first);
    let reused = vandar.api().token_refresh().body_map(|b| b.refreshtoken(first)).send().await.unwrap_err();
    assert!(matches!(reused, Error::Authentication { .. }), "{reused:?}");
}

#[tokio::test]
async fn cash_in_credits_the_wallet_once_per_track_id() {
    let (mock, vandar) = started().await;
    let api = vandar.api();
    let accounts = api.cash_in_accounts().business("mock-shop").send().await.unwrap();
    assert_eq!(accounts.data[0].iban.as_deref(), Some(IBAN));
    let before = mock.wallet_rials();
    let deposit = api.cash_in_deposit().business("mock-shop").body_map(|b| b.iban(IBAN).amount(Rials(1_000_000)).track_id("ci-1")).send().await.unwrap();
    let item = &deposit.data.as_ref().unwrap().cash_in[0];
    assert_eq!((item.amount, item.amount_toman), (Some(Rials(1_000_000)), Some(Tomans(100_000))));
    assert_eq!(mock.wallet_rials(), before + 1_000_000);
    let repeated = api.cash_in_deposit().business("mock-shop").body_map(|b| b.iban(IBAN).amount(Rials(1)).track_id("ci-1")).send().await.unwrap_err();
    assert!(matches!(&repeated, Error::Api(api) if api.fields.contains_key("track_id")));
    let balance = api.cash_in_balance().business("mock-shop").body_map(|b| b.iban(IBAN)).send().await.unwrap();
    assert_eq!(balance.available_balance, Rials(3_200_000));

    api.cash_in_code_show().business("mock-shop").send().await.unwrap();
    api.cash_in_code_transactions().business("mock-shop").send().await.unwrap();
    api.cash_in_suspicious_payments().business("mock-shop").send().await.unwrap();
    let submitted = api.cash_in_suspicious_payment_submit().business("mock-shop").id("7").body(open()).send().await.unwrap();
    assert!(submitted.0["message"].as_str().unwrap().contains("cash_in_suspicious_payment_submit"));
}

#[tokio::test]
async fn a_verified_payment_is_refunded_from_the_wallet() {
    let (mock, vandar) = started().await;
    let sent = vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(40_000)).callback_url("https://shop.example/cb")).send().await.unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    browser.get(vandar::extras::redirects::ipg_payment_page(&vandar, &sent.token)).send().await.unwrap();
    let vandar::money::VerifyOutcome::Verified(paid) = vandar.verify_payment(&sent.token, vandar::money::Rials(40_000)).await.unwrap() else { panic!() };
    let before = mock.wallet_rials();
    let refund = vandar
        .api()
        .transaction_refund()
        .business("mock-shop")
        .transaction_id(paid.trans_id.unwrap())
        .body_map(|b| b.amount(Rials(15_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(refund.data.as_ref().unwrap().results[0].amount, Some(Rials(15_000)));
    assert_eq!(mock.wallet_rials(), before - 15_000);
    let unknown = vandar.api().transaction_refund().business("mock-shop").transaction_id(1).body_map(|b| b).send().await.unwrap_err();
    assert!(matches!(&unknown, Error::Api(api) if api.fields.contains_key("transaction_id")), "{unknown:?}");
}

#[tokio::test]
async fn a_batch_is_stored_once_listed_and_shown() {
    let (mock, vandar) = started().await;
    let item = |track: &str| -> BatchSettlementItem { BatchSettlementItem::builder().track_id(track).iban(IBAN).amount(10_000).try_into().unwrap() };
    let batch_id = "ab".repeat(64);
    let before = mock.wallet_rials();
    let stored = vandar
        .batch()
        .batch_settlement_store()
        .business("mock-shop")
        .body_map(|b| b.batch_id(batch_id.as_str()).batches_settlement(vec![item("b-1"), item("b-2")]))
        .send()
        .await
        .unwrap();
    assert_eq!(stored.data.settlement.len(), 2);
    assert_eq!(mock.wallet_rials(), before - 200_000);
    let twice = vandar.batch().batch_settlement_store().business("mock-shop").body_map(|b| b.batch_id(batch_id.as_str()).batches_settlement(vec![item("b-3")])).send().await.unwrap_err();
    assert!(matches!(&twice, Error::Api(api) if api.fields.contains_key("batch_id")), "a batch is never stored twice: {twice:?}");
    let empty = vandar.batch().batch_settlement_store().business("mock-shop").body_map(|b| b.batch_id("cd".repeat(64)).batches_settlement(vec![])).send().await.unwrap_err();
    assert!(matches!(&empty, Error::InvalidInput { field: Some(f), .. } if f == "batches_settlement"), "minItems from the spec: {empty:?}");

    let batches = vandar.batch().batch_list().business("mock-shop").send().await.unwrap();
    assert_eq!(batches.data[0].status.as_ref().unwrap().total_count, Some(2));
    let shown = vandar.batch().batch_show().business("mock-shop").batch_id(&batch_id).status("INIT").send().await.unwrap();
    let tracks: Vec<_> = shown.data.iter().map(|s| s.track_id.clone().unwrap()).collect();
    assert_eq!(tracks, ["b-1", "b-2"]);
}

#[tokio::test]
async fn listed_only_queued_settlement_calls_answer() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    api.settlement_queued_store().business("mock-shop").body(open()).send().await.unwrap();
    api.settlement_queued_list().business("mock-shop").send().await.unwrap();
    api.settlement_queued_show().business("mock-shop").id("1").send().await.unwrap();
    let canceled = api.settlement_queued_cancel().business("mock-shop").body(open()).send().await.unwrap();
    assert_eq!(canceled.0["status"], 1);
    let unauthorized = mock_without_tokens(&vandar).await;
    assert!(matches!(unauthorized, Error::Authentication { .. }));
}

async fn mock_without_tokens(vandar: &vandar::Client) -> Error {
    let stranger = vandar::Client::builder()
        .business_tokens(vandar::TokenPair::new("wrong", "also-wrong", None))
        .base_url(vandar::Host::Api, vandar.base_url(vandar::Host::Api))
        .build()
        .unwrap();
    stranger.api().settlement_queued_list().business("mock-shop").send().await.unwrap_err()
}

#[tokio::test]
async fn every_ravand_call_answers_and_the_upload_is_multipart() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    let (b, p, c) = ("mock-shop", "tejarat", "42");
    api.ravand_set_config().business(b).body(open()).send().await.unwrap();
    api.ravand_provinces().business(b).send().await.unwrap();
    api.ravand_cities().business(b).send().await.unwrap();
    api.ravand_guilds().business(b).send().await.unwrap();
    api.ravand_educations().business(b).send().await.unwrap();
    api.ravand_occupations().business(b).send().await.unwrap();
    api.ravand_reasons().business(b).send().await.unwrap();
    api.ravand_cardholder_create().business(b).provider(p).body(open()).send().await.unwrap();
    api.ravand_cardholder_update().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    api.ravand_cardholder_video_caption().business(b).provider(p).cardholder_id(c).send().await.unwrap();
    let form = reqwest::multipart::Form::new().part("selfie", reqwest::multipart::Part::bytes(vec![1, 2, 3]).file_name("selfie.jpg"));
    let uploaded = vandar.ravand_cardholder_upload(p, c, form).await.unwrap();
    assert!(uploaded["message"].as_str().unwrap().contains("ravand_cardholder_upload"));
    api.ravand_cardholder_finalize().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    api.ravand_cardholder_inquiry().business(b).provider(p).cardholder_id(c).send().await.unwrap();
    api.ravand_card_activation_token().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = browser.get(vandar::extras::redirects::ravand_activation_page(&vandar, "act-1")).send().await.unwrap();
    assert_eq!(page.status(), 302);
    assert!(page.headers()["location"].to_str().unwrap().ends_with("token=act-1"));
    // Whatever the path held reaches Location percent-encoded: still a URI, and the same token read back.
    for token in ["Ã", "a&b=c d", "x#y?z"] {
        let page = browser.get(vandar::extras::redirects::ravand_activation_page(&vandar, token)).send().await.unwrap();
        assert_eq!(page.status(), 302, "{token}");
        let location = page.headers()["location"].to_str().expect("an ASCII header");
        let parsed = url::Url::parse(location).unwrap();
        assert_eq!(parsed.to_string(), location, "already a normalized URI: {location}");
        assert_eq!(parsed.query_pairs().collect::<Vec<_>>(), [("token".into(), token.into())], "{location}");
    }
    api.ravand_accounts_info().business(b).provider(p).cardholder_id(c).send().await.unwrap();
    api.ravand_balance().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    api.ravand_bank_statement().business(b).provider(p).cardholder_id(c).send().await.unwrap();
    api.ravand_transfer().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    api.ravand_transfer_retry_otp().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    let confirmed = api.ravand_transfer_confirm_otp().business(b).provider(p).cardholder_id(c).body(open()).send().await.unwrap();
    assert_eq!(confirmed.0["status"], 1);
}
