//! Vandar's business failures arrive typed (`Error::code()`), read from the texts its documents and
//! the mock answer, with the original text kept; and the settlement a payout registered is read and
//! cancelled from its `Tracked` result.
#![cfg(feature = "mock")]
mod support;

use vandar::api::types::SettlementStoreRequest;
use vandar::mock::MockVandar;
use vandar::money::{Tomans, Tracked};
use vandar::{Error, ErrorCode};

const IBAN: &str = "IR330120020000002353697200";

fn code(error: &Error) -> Option<&ErrorCode> {
    error.code()
}

#[tokio::test]
async fn an_insufficient_balance_is_typed_and_keeps_vandars_text() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let error = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(900_000_000)).iban(IBAN)).await.unwrap_err();
    assert_eq!(code(&error), Some(&ErrorCode::InsufficientBalance), "{error:?}");
    let Error::Api(api) = &error else { panic!("{error:?}") };
    assert_eq!(api.status, 422);
    assert_eq!(api.fields["amount"], vec!["موجودی کیف پول کافی نیست".to_string()], "the original text is kept");
    assert!(error.to_string().contains("(insufficient_balance)"), "{error}");
}

#[tokio::test]
async fn a_used_track_id_an_unknown_iban_and_an_unknown_token_are_typed() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let first = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(6_000)).iban(IBAN).track_id("order-7")).await.unwrap();
    assert_eq!(first.track_id(), "order-7");
    let again = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(6_000)).iban(IBAN).track_id("order-7")).await.unwrap_err();
    assert_eq!(code(&again), Some(&ErrorCode::DuplicateTrackId), "{again:?}");

    // A well-formed IBAN that is not the business's cash-in account: "IBAN not found".
    let error = vandar.api().cash_in_balance().body_map(|b| b.iban("IR050170000000123456789012")).send().await.unwrap_err();
    assert_eq!(code(&error), Some(&ErrorCode::UnknownIban), "{error:?}");

    let unknown = vandar.ipg().ipg_transaction().body_map(|b| b.token("NO-SUCH-TOKEN")).send().await.unwrap_err();
    assert_eq!(code(&unknown), Some(&ErrorCode::InvalidToken), "{unknown:?}");
    let shown = vandar.api().settlement_show().settlement_id(uuid::Uuid::nil()).send().await.unwrap_err();
    assert_eq!(code(&shown), Some(&ErrorCode::NotFoundError), "{shown:?}");
}

#[tokio::test]
async fn a_stored_settlement_is_read_from_its_result_and_cancelled_once() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(7_000)).iban(IBAN)).await.unwrap();
    // The accessors work from either arm; here Vandar answered.
    assert!(!stored.was_reconciled());
    assert_eq!(stored.amount(), Some(Tomans(7_000)));
    assert_eq!(stored.status(), Some(vandar::enums::SettlementStatus::Pending));
    let (transaction_id, settlement_id) = (stored.transaction_id().unwrap(), stored.settlement_id().unwrap());
    let Tracked::Answered { answer, .. } = &stored else { panic!("answered") };
    assert_eq!((answer.data.settlement[0].transaction_id, answer.data.settlement[0].id), (transaction_id, settlement_id));

    // It survives a round trip through your database, and compares.
    let stored_json = serde_json::to_string(&stored).unwrap();
    assert!(stored_json.starts_with(r#"{"outcome":"answered","track_id":"#), "{stored_json}");
    let back: vandar::money::StoredSettlement = serde_json::from_str(&stored_json).unwrap();
    assert_eq!(back, stored);

    let wallet_before = mock.wallet_rials();
    vandar.cancel_settlement(&stored).await.unwrap();
    assert_eq!(mock.wallet_rials(), wallet_before + 70_000, "the amount is back in the wallet");
    let twice = vandar.cancel_settlement(&stored).await.unwrap_err();
    assert_eq!(code(&twice), Some(&ErrorCode::NotCancelable), "{twice:?}");

    // The generated call, with the setter named for what it takes.
    let other = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN)).await.unwrap();
    vandar.api().settlement_cancel().transaction_id(other.transaction_id().unwrap()).send().await.unwrap();
    let seen = mock.requests();
    assert!(seen.iter().any(|r| r.method == "DELETE" && r.path.ends_with(&format!("/settlement/{}", other.transaction_id().unwrap()))));
}

/// Texts the mock does not answer today, fed through the transport from a test server: the
/// documents' shapes and words.
#[tokio::test]
async fn verify_and_withdrawal_failures_are_typed_through_the_transport() {
    let server = support::serve(|seen: support::Seen| async move {
        match seen.path.as_str() {
            "/api/v4/verify" => support::json(422, serde_json::json!({"status": 0, "errors": ["تراکنش قبلا تایید شده است"]})),
            _ => support::json(409, serde_json::json!({"status": 0, "message": "بانک در حال حاضر در دسترس نیست"})),
        }
    })
    .await;
    let tokens = vandar::TokenPair::new("a", "r", None);
    let vandar = support::client_for(&server).ipg_api_key("k").business_tokens(tokens).build().unwrap();
    let verify = vandar.ipg().ipg_verify().body_map(|b| b.token("T")).send().await.unwrap_err();
    assert_eq!(code(&verify), Some(&ErrorCode::AlreadyVerified), "{verify:?}");
    let error = vandar.api().balance().send().await.unwrap_err();
    assert_eq!(code(&error), Some(&ErrorCode::BankUnavailable), "{error:?}");
}
