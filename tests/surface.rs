//! The public surface a user writes against (issue 13): typed money in generated fields, setters
//! that take what a user has, conversion and bound failures as `Error::InvalidInput` naming the
//! field, all checked on the wire of a small server on 127.0.0.1.
mod support;

use serde_json::json;
use support::{client_for, json, serve};
use vandar::api::types::{SettlementStoreRequest, WalletMovementRequest};
use vandar::money::{Rials, Tomans};
use vandar::{Error, TokenPair};

fn tokens() -> TokenPair {
    TokenPair::new("access", "refresh", None)
}

fn field_error(error: &Error) -> (Option<&str>, &str) {
    match error {
        Error::InvalidInput { field, reason } => (field.as_deref(), reason.as_str()),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

#[tokio::test]
async fn amounts_go_out_in_the_unit_the_field_takes() {
    let server = serve(|_| async { json(200, json!({"status": 1, "data": {"settlement": []}})) }).await;
    let vandar = client_for(&server).business("shop").business_tokens(tokens()).build().unwrap();
    let store = |amount| vandar.api().settlement_store().body_map(move |b| b.amount(amount).iban("IR330120020000002353697200").track_id("t"));

    // settlement_store takes Tomans: Tomans go out as they are, Rials are converted when exact.
    store(Tomans(6_000)).send().await.unwrap();
    let in_rials = vandar.api().settlement_store().body_map(|b| b.amount(Rials(60_000)).iban("IR330120020000002353697200").track_id("u"));
    in_rials.send().await.unwrap();
    let sent: Vec<_> = server.seen().iter().map(|s| s.json()["amount"].clone()).collect();
    assert_eq!(sent, [json!(6000), json!(6000)]);

    // A Rials amount that is not whole Tomans is refused before sending, naming the field.
    let odd = vandar.api().settlement_store().body_map(|b| b.amount(Rials(60_005)).iban("IR330120020000002353697200").track_id("v"));
    let error = odd.send().await.unwrap_err();
    assert_eq!(field_error(&error), (Some("amount"), "60005 Rials is not a whole number of Tomans (1 Toman = 10 Rials)"));
    assert_eq!(server.seen().len(), 2, "nothing sent for the refused amount");

    // The spec's bound is checked in the field's unit (at least 5000 Tomans).
    let error = store(Tomans(4_999)).send().await.unwrap_err();
    assert_eq!(field_error(&error), (Some("amount"), "must be at least 5000 Tomans"));
    assert_eq!(error.to_string(), "invalid input (amount): must be at least 5000 Tomans");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn amounts_vandar_takes_as_strings_go_out_as_strings() {
    let server = serve(|_| async { json(200, json!({"status": 1, "balance": 20000})) }).await;
    let vandar = client_for(&server).business("shop").business_tokens(tokens()).build().unwrap();
    let customer = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
    let moved = vandar.api().customer_wallet_deposit().customer(customer).body_map(|b| b.amount(Rials(20_000)).track_id("d-1")).send().await.unwrap();
    assert_eq!(moved.balance, Some(Rials(20_000)));
    assert_eq!(server.seen()[0].json(), json!({"amount": "20000", "track_id": "d-1"}));

    // The spec's pattern for these strings (digits, not starting with 0) is checked before sending.
    let body = WalletMovementRequest::builder().amount(Rials(0)).track_id("d-2");
    let error = vandar.api().customer_wallet_deposit().customer(customer).body(body).send().await.unwrap_err();
    assert_eq!(field_error(&error), (Some("amount"), "must match the pattern ^[1-9][0-9]{0,17}$"));
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn answers_read_amounts_written_as_numbers_or_decimal_strings() {
    // Vandar writes the IPG transaction's amount as "25000.00" and its fee as "500".
    let server = serve(|_| async {
        json(200, json!({"status": 1, "amount": "25000.00", "wage": "500", "shaparakWage": "1200", "transId": 1, "message": "ok"}))
    })
    .await;
    let vandar = client_for(&server).ipg_api_key("k").build().unwrap();
    let transaction = vandar.ipg().ipg_transaction().body_map(|b| b.token("T")).send().await.unwrap();
    assert_eq!((transaction.amount, transaction.wage, transaction.shaparak_wage), (Some(Rials(25_000)), Some(Rials(500)), Some(Rials(1_200))));

    // A fraction of a Rial is not rounded away: the answer is refused.
    let server = serve(|_| async { json(200, json!({"status": 1, "amount": "25000.50", "transId": 1})) }).await;
    let vandar = client_for(&server).ipg_api_key("k").build().unwrap();
    let error = vandar.ipg().ipg_transaction().body_map(|b| b.token("T")).send().await.unwrap_err();
    assert!(matches!(&error, Error::Undecodable { reason, .. } if reason.contains("\"25000.50\" is not a whole amount")), "{error:?}");
}

#[tokio::test]
async fn optional_setters_take_plain_values_and_options() {
    let server = serve(|_| async { json(200, json!({"status": 1, "token": "T"})) }).await;
    let vandar = client_for(&server).ipg_api_key("k").build().unwrap();
    let note: Option<String> = None;
    vandar
        .ipg()
        .ipg_send()
        .body_map(|b| {
            b.amount(Rials(10_000))
                .callback_url("https://shop.example/cb")
                .description("Order 1001")
                .factor_number("1001")
                .mobile_number("09123456789")
                .maybe_comment(note)
        })
        .send()
        .await
        .unwrap();
    let sent = server.seen()[0].json();
    assert_eq!(sent["description"], "Order 1001");
    assert_eq!(sent["factorNumber"], "1001");
    assert_eq!(sent["mobile_number"], "09123456789");
    assert!(sent.get("comment").is_none(), "maybe_comment(None) leaves the field out");
}

#[tokio::test]
async fn bounds_on_plain_integers_are_checked_before_sending() {
    let server = serve(|_| async { json(200, json!({"status": 1, "data": {"settlements": {"data": [], "current_page": 2, "last_page": 2}}})) }).await;
    let vandar = client_for(&server).business("shop").business_tokens(tokens()).build().unwrap();
    // A plain integer where the spec says "at least 1": checked, named, nothing sent.
    let error = vandar.api().settlement_list().per_page(0).send().await.unwrap_err();
    assert_eq!(field_error(&error), (Some("per_page"), "must be at least 1"));
    let error = vandar.api().transaction_list().per_page(101).send().await.unwrap_err();
    assert_eq!(field_error(&error), (Some("per_page"), "must be at most 100"));
    assert_eq!(error.to_string(), "invalid input (per_page): must be at most 100");
    assert!(server.seen().is_empty());

    vandar.api().settlement_list().page(2).per_page(10).send().await.unwrap();
    assert_eq!(server.seen()[0].query, "page=2&per_page=10");
}

#[tokio::test]
async fn a_missing_required_field_is_named() {
    let server = serve(|_| async { json(200, json!({"status": 1})) }).await;
    let vandar = client_for(&server).business("shop").business_tokens(tokens()).build().unwrap();
    let error = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000))).await.unwrap_err();
    assert_eq!(field_error(&error), (Some("iban"), "is required"));
    assert_eq!(error.to_string(), "invalid input (iban): is required");
    assert!(server.seen().is_empty());
}

#[tokio::test]
async fn fields_every_answer_carries_are_not_options() {
    let server = serve(|seen: support::Seen| async move {
        match seen.path.as_str() {
            "/v2/business/shop/balance" => json(200, json!({"status": 1, "data": {"wallet": 100000, "currency": "Toman"}})),
            _ => json(200, json!({"status": 1, "data": {"currency": "Toman"}})),
        }
    })
    .await;
    let vandar = client_for(&server).business("shop").business_tokens(tokens()).build().unwrap();
    // Reading the balance: no Option chain.
    let wallet: Tomans = vandar.api().balance().send().await.unwrap().data.wallet;
    assert_eq!(wallet, Tomans(100_000));
    assert_eq!(Rials::from(wallet), Rials(1_000_000));

    // An answer without a field the documents always show is an error naming it, not a default.
    let error = vandar.api().balance().business("other").send().await.unwrap_err();
    assert!(matches!(&error, Error::Undecodable { reason, .. } if reason.contains("missing field `wallet`")), "{error:?}");
}
