//! Customers, custom fields, wallets, IBANs, cards, identity checks, logs and inquiries, end to end
//! against the embedded mock Vandar on 127.0.0.1.
#![cfg(feature = "mock")]

use vandar::money::Rials;
use vandar::api::types::{CustomerRequest, OpenObject};
use vandar::mock::MockVandar;
use vandar::Error;

const IBAN: &str = "IR640120020000002343697300";
const CARD: &str = "6037991234567893";

async fn started() -> (MockVandar, vandar::Client) {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    (mock, vandar)
}

fn individual(mobile: &str) -> vandar::api::types::builder::CustomerRequest {
    CustomerRequest::builder()
        .type_("INDIVIDUAL")
        .mobile(mobile)
        .individual_national_code("0013542419")
        .first_name("رضا")
        .last_name("رضایی")
}

async fn new_customer(vandar: &vandar::Client) -> uuid::Uuid {
    let stored = vandar.api().customer_store().business("mock-shop").body(individual("09123456789")).send().await.unwrap();
    stored.result.unwrap().customer.unwrap().id.unwrap()
}

#[tokio::test]
async fn customers_are_created_read_updated_listed_and_deleted() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    let id = new_customer(&vandar).await;

    let shown = api.customer_show().business("mock-shop").customer(id).send().await.unwrap().customer.unwrap();
    assert_eq!(shown.name.as_deref(), Some("رضا رضایی"));
    assert_eq!(shown.individual_national_code.as_deref(), Some("0013542419"));

    let updated = api.customer_update().business("mock-shop").customer(id).body(individual("09351234567").first_name("علی")).send().await.unwrap();
    assert_eq!(updated.customer.as_ref().unwrap().mobile.as_deref(), Some("09351234567"));

    let listed = api.customer_list().business("mock-shop").send().await.unwrap();
    assert_eq!(listed.data.len(), 1);
    assert_eq!(listed.meta.unwrap().total, Some(1));

    let logs = api.customer_logs().business("mock-shop").customer(id).send().await.unwrap();
    let kinds: Vec<String> = logs.data.iter().map(|l| l.type_.as_ref().unwrap().to_string()).collect();
    assert_eq!(kinds, ["CUSTOMER_CREATED", "CUSTOMER_UPDATED"]);

    api.customer_delete().business("mock-shop").customer(id).send().await.unwrap();
    let gone = api.customer_show().business("mock-shop").customer(id).send().await.unwrap_err();
    assert_eq!(gone.status(), Some(404));
}

#[tokio::test]
async fn a_customer_without_its_type_specific_fields_is_refused_naming_the_field() {
    let (_mock, vandar) = started().await;
    let legal = CustomerRequest::builder().type_("LEGAL").legal_name("شرکت نمونه");
    let error = vandar.api().customer_store().business("mock-shop").body(legal).send().await.unwrap_err();
    let Error::Api(api) = &error else { panic!("{error:?}") };
    assert_eq!(api.status, 422);
    assert!(api.fields.contains_key("agent_mobile"), "{api:?}");
}

#[tokio::test]
async fn custom_fields_have_a_full_life_cycle() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    let id = api.customer_field_store().business("mock-shop").body_map(|b| b.name("membership")).send().await.unwrap();
    let id = id.result.unwrap().field.unwrap().id.unwrap();
    api.customer_field_update().business("mock-shop").field_id(id).body_map(|b| b.name("tier")).send().await.unwrap();
    let shown = api.customer_field_show().business("mock-shop").field_id(id).send().await.unwrap();
    assert_eq!(shown.data.unwrap().name.as_deref(), Some("tier"));
    assert_eq!(api.customer_field_list().business("mock-shop").send().await.unwrap().data.len(), 1);
    api.customer_field_delete().business("mock-shop").field_id(id).send().await.unwrap();
    assert!(api.customer_field_list().business("mock-shop").send().await.unwrap().data.is_empty());
}

#[tokio::test]
async fn a_wallet_moves_rials_and_refuses_an_overdraft() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    let id = new_customer(&vandar).await;
    let moved = api.customer_wallet_deposit().business("mock-shop").customer(id).body_map(|b| b.amount(Rials(10_000)).track_id("d-1")).send().await.unwrap();
    assert_eq!(moved.balance, Some(Rials(10_000)));
    api.customer_wallet_withdraw().business("mock-shop").customer(id).body_map(|b| b.amount(Rials(2_500)).track_id("w-1")).send().await.unwrap();
    let wallet = api.customer_wallet_show().business("mock-shop").customer(id).send().await.unwrap();
    assert_eq!((wallet.balance, wallet.currency.as_deref()), (Rials(7_500), Some("RIAL")));

    let overdraft = api.customer_wallet_withdraw().business("mock-shop").customer(id).body_map(|b| b.amount(Rials(999_999)).track_id("w-2")).send().await.unwrap_err();
    assert!(matches!(&overdraft, Error::Api(api) if api.fields.contains_key("amount")), "{overdraft:?}");
    let repeated = api.customer_wallet_deposit().business("mock-shop").customer(id).body_map(|b| b.amount(Rials(1)).track_id("d-1")).send().await.unwrap_err();
    assert!(matches!(&repeated, Error::Api(api) if api.fields.contains_key("track_id")), "a track_id is never reused: {repeated:?}");

    let history = api.customer_transactions().business("mock-shop").customer(id).send().await.unwrap();
    let amounts: Vec<i64> = history.data.iter().map(|t| t.amount.unwrap().0).collect();
    assert_eq!(amounts, [10_000, -2_500]);
}

#[tokio::test]
async fn ibans_and_cards_are_managed_and_checked() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    let id = new_customer(&vandar).await;

    let iban = api.customer_iban_store().business("mock-shop").customer(id).body_map(|b| b.iban(IBAN).is_default(true).has_inquiry(true)).send().await.unwrap();
    assert_eq!(iban.iban_compatibility.as_ref().map(|c| c.as_str()), Some("MATCHED"));
    let inquiry = api.customer_iban_inquiry().business("mock-shop").customer(id).iban(IBAN).body_map(|b| b).send().await.unwrap();
    assert_eq!(inquiry.account_owners[0].first_name.as_deref(), Some("رضا"));
    let converted = api.customer_card_to_iban().business("mock-shop").customer(id).body_map(|b| b.card(CARD).is_default(false).has_inquiry(false)).send().await.unwrap();
    let second_iban = converted.iban.unwrap();
    api.customer_iban_set_default().business("mock-shop").customer(id).iban(second_iban.as_str()).send().await.unwrap();
    let ibans = api.customer_iban_list().business("mock-shop").customer(id).send().await.unwrap();
    let defaults: Vec<(String, bool)> = ibans.data.iter().map(|i| (i.iban.clone().unwrap(), i.is_default.unwrap())).collect();
    assert_eq!(defaults, [(IBAN.to_string(), false), (second_iban.clone(), true)]);
    api.customer_iban_delete().business("mock-shop").customer(id).iban(IBAN).send().await.unwrap();
    assert_eq!(api.customer_iban_list().business("mock-shop").customer(id).send().await.unwrap().data.len(), 1);

    api.customer_card_store().business("mock-shop").customer(id).body_map(|b| b.card(CARD).is_default(false).has_inquiry(true)).send().await.unwrap();
    let inquiry = api.customer_card_inquiry().business("mock-shop").customer(id).card(CARD).body_map(|b| b).send().await.unwrap();
    assert_eq!(inquiry.card_compatibility.as_ref().map(|c| c.as_str()), Some("MATCHED"));
    api.customer_card_set_default().business("mock-shop").customer(id).card(CARD).send().await.unwrap();
    let cards = api.customer_card_list().business("mock-shop").customer(id).send().await.unwrap();
    assert_eq!(cards.data[0].is_default, Some(true));
    api.customer_card_delete().business("mock-shop").customer(id).card(CARD).send().await.unwrap();
    assert!(api.customer_card_list().business("mock-shop").customer(id).send().await.unwrap().data.is_empty());

    let malformed = api.customer_iban_store().business("mock-shop").customer(id).body_map(|b| b.iban("IR12").is_default(true).has_inquiry(false)).send().await.unwrap_err();
    assert!(matches!(malformed, Error::InvalidInput { .. }), "refused before sending");
}

#[tokio::test]
async fn identity_checks_deposit_ids_and_inquiries_answer() {
    let (_mock, vandar) = started().await;
    let api = vandar.api();
    let id = new_customer(&vandar).await;

    let shahkar = api.shahkar_unregistered().business("mock-shop").body_map(|b| b.individual_national_code("0013542419").mobile("09123456789")).send().await.unwrap();
    assert_eq!(shahkar.authentication_status.as_ref().map(|s| s.as_str()), Some("SUCCESSFUL"));
    let kyc = api
        .kyc_unregistered()
        .business("mock-shop")
        .body_map(|b| b.first_name("رضا").last_name("رضایی").individual_national_code("0013542419").birthday("1369/07/17"))
        .send()
        .await
        .unwrap();
    assert_eq!(kyc.0["status"], 1, "listed-only answers stay open objects");
    api.customer_kyc().business("mock-shop").customer(id).send().await.unwrap();
    api.customer_shahkar().business("mock-shop").customer(id).send().await.unwrap();
    let logs = api.customer_logs().business("mock-shop").customer(id).send().await.unwrap();
    assert_eq!(logs.data.len(), 3, "created, kyc, shahkar");

    let code = api.customer_cash_in_code().business("mock-shop").customer(id).send().await.unwrap();
    assert_eq!(code.code.as_ref().map(String::len), Some(15));

    let open = || OpenObject(serde_json::Map::from_iter([("national_code".to_string(), serde_json::json!("0013542419"))]));
    api.inquiry_nid().business("mock-shop").body(open()).send().await.unwrap();
    api.inquiry_nid_image().business("mock-shop").body(open()).send().await.unwrap();
    api.inquiry_fida().business("mock-shop").body(open()).send().await.unwrap();
    api.inquiry_postal_code().business("mock-shop").body(open()).send().await.unwrap();
    api.inquiry_national_code_iban().business("mock-shop").body(open()).send().await.unwrap();
    let answer = api.inquiry_match_mobile_card().business("mock-shop").body(open()).send().await.unwrap();
    assert!(answer.0["message"].as_str().unwrap().contains("inquiry_match_mobile_card"));
}
