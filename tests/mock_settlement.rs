//! Tokens, balance and settlements end to end against the embedded mock Vandar on 127.0.0.1.
#![cfg(feature = "mock")]
#[path = "support/journaled.rs"]
mod journaled;

use vandar::money::{Rials, Tomans};
use std::time::Duration;

use vandar::api::types::SettlementStoreRequest;
use vandar::dates::JalaliDate;
use journaled::journaled_client;
use vandar::mock::{Fault, MockVandar};
use vandar::money::Tracked;
use vandar::{Error, RetryPolicy, TokenPair};

const IBAN: &str = "IR330120020000002353697200";

fn fast_retries() -> RetryPolicy {
    RetryPolicy::default().max_attempts(3).base_delay(Duration::from_millis(10)).max_delay(Duration::from_millis(100))
}

async fn wallet_tomans(vandar: &vandar::Client) -> Tomans {
    vandar.api().balance().business(vandar.business().unwrap()).send().await.unwrap().data.wallet
}

#[tokio::test]
async fn a_settlement_moves_tomans_out_of_the_wallet_and_back_on_cancel() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let before = wallet_tomans(&vandar).await;

    let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(120_000)).iban(IBAN)).await.unwrap();
    let Tracked::Answered { track_id, answer } = stored else { panic!("answered") };
    let record = &answer.data.settlement[0];
    assert_eq!((record.amount, record.amount_toman), (Rials(1_200_000), Some(Tomans(120_000))), "answer in Rials and Tomans");
    assert_eq!(wallet_tomans(&vandar).await, before - Tomans(120_000));

    // The transaction lookup finds it by track_id.
    let found = vandar.api().transaction_list().business("mock-shop").track_id(&track_id).send().await.unwrap();
    assert_eq!(found.data.len(), 1);

    // Dates arrive typed: the transaction's "15:39:36 - 1405/9/2" (Jalali, Tehran time), the record's
    // Jalali day and predicted time.
    let created = found.data[0].created_at.expect("created_at");
    // The transaction's time is the mock clock's, written in Tehran time: read back, it is now.
    let now = mock.now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    assert!((created.to_utc().timestamp() - now).abs() <= 5, "{created:?} is now (Tehran +03:30)");
    // A payout asked for today is dated today (Tehran), not a fixed day in the past.
    let today: JalaliDate = vandar::dates::TehranDateTime::from(chrono::DateTime::<chrono::Utc>::from(mock.now())).jalali_date().unwrap();
    let today_gregorian = chrono::DateTime::<chrono::Utc>::from(mock.now()).with_timezone(&chrono::FixedOffset::east_opt(12_600).unwrap()).date_naive();
    assert_eq!(record.settlement_date, Some(today_gregorian));
    assert_eq!(record.settlement_date_jalali, Some(today));
    assert_eq!(record.settlement_done_time_prediction.map(|t| t.to_string()), Some(format!("{today} 16:00:00")));
    assert_eq!(record.prediction.as_ref().and_then(|p| p.date), Some(today));

    let list = vandar.api().settlement_list().business("mock-shop").send().await.unwrap();
    assert_eq!(list.data.settlements.data.len(), 1);

    vandar.api().settlement_cancel().business("mock-shop").transaction_id(record.transaction_id).send().await.unwrap();
    assert_eq!(wallet_tomans(&vandar).await, before);
}

#[tokio::test]
async fn settlement_show_answers_the_stored_settlement_by_its_uuid_and_404_for_an_unknown_one() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let stored = vandar
        .settlement_store(SettlementStoreRequest::builder().amount(Tomans(7_000)).iban(IBAN).payment_number(42).description("rent"))
        .await
        .unwrap();
    let Tracked::Answered { mut answer, .. } = stored else { panic!("answered") };
    let record = answer.data.settlement.remove(0);

    let shown = vandar.api().settlement_show().business("mock-shop").settlement_id(record.id).send().await.unwrap();
    let settlement = shown.data.settlement;
    assert_eq!(settlement.id, Some(record.id));
    assert_eq!(settlement.gateway_transaction_id, Some(record.transaction_id));
    assert_eq!(settlement.amount, Some(70_000), "Rials, as settlement_list");
    assert_eq!(settlement.payment_number.as_deref(), Some("42"));
    assert_eq!(settlement.description.as_deref(), Some("rent"));
    assert_eq!(settlement.status.as_ref().map(|s| s.as_str()), Some("PENDING"));
    assert_eq!(settlement.wallet.map(|w| w.to_string()), Some((5_000_000 - 7_000).to_string()), "wallet after the store, in Tomans");

    // Canceled (by transaction_id), it shows CANCELED; an id it never issued gets 404.
    vandar.api().settlement_cancel().business("mock-shop").transaction_id(record.transaction_id).send().await.unwrap();
    let shown = vandar.api().settlement_show().business("mock-shop").settlement_id(record.id).send().await.unwrap();
    assert_eq!(shown.data.settlement.status.as_ref().map(|s| s.as_str()), Some("CANCELED"));
    let unknown = vandar.api().settlement_show().business("mock-shop").settlement_id(uuid::Uuid::new_v4()).send().await.unwrap_err();
    assert_eq!(unknown.status(), Some(404));
}

#[tokio::test]
async fn the_mock_enforces_vandars_rules_with_its_error_shape() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let too_much = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(900_000_000)).iban(IBAN)).await.unwrap_err();
    assert!(matches!(&too_much, Error::Api(api) if api.status == 422 && api.fields.contains_key("amount")), "{too_much:?}");

    let body = SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id("same");
    vandar.settlement_store(body.clone()).await.unwrap();
    let twice = vandar.settlement_store(body).await.unwrap_err();
    assert!(matches!(&twice, Error::Api(api) if api.fields.contains_key("track_id")), "a repeated track_id is refused: {twice:?}");
}

#[tokio::test]
async fn an_expired_token_is_renewed_and_the_used_refresh_token_is_refused_afterwards() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    wallet_tomans(&vandar).await;
    mock.expire_access_token();
    wallet_tomans(&vandar).await;
    assert_eq!(mock.refreshes(), 1);

    // A second process still holding the first pair: its refresh token was rotated away.
    let c = mock.credentials();
    let stale = mock.client_builder().business_tokens(TokenPair::new(c.access_token.clone(), c.refresh_token, None)).build().unwrap();
    let error = stale.api().balance().business("mock-shop").send().await.unwrap_err();
    assert!(matches!(&error, Error::Authentication { message, .. } if message.contains("dashboard")), "{error:?}");
}

#[tokio::test]
async fn gets_ride_over_faults_and_a_lost_settlement_answer_is_never_resent() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().retry_policy(fast_retries()).build().unwrap();
    for fault in [Fault::HtmlErrorPage, Fault::DropConnection, Fault::Status(503), Fault::RateLimited] {
        mock.inject(fault);
        wallet_tomans(&vandar).await; // retried: a GET is safe to repeat
    }

    // The settlement fails with a 503 before the mock stores it: nothing found by track_id, and no second POST.
    mock.inject(Fault::Status(503));
    let error = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id("t-503")).await.unwrap_err();
    assert!(matches!(&error, Error::Indeterminate { track_id, .. } if track_id == "t-503"), "{error:?}");
    let list = vandar.api().settlement_list().business("mock-shop").send().await.unwrap();
    assert!(list.data.settlements.data.is_empty());

    // Stored, but the answer is cut off: reconciled through the lookup.
    mock.inject(Fault::TruncatedBody);
    let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id("t-cut")).await.unwrap();
    assert!(matches!(&stored, Tracked::Reconciled { found, .. } if found.len() == 1), "{stored:?}");
    // The same id, of the same type, from either arm: what settlement_cancel takes.
    let reconciled_id = stored.transaction_id().expect("the record's id");
    let answered = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id("t-ok")).await.unwrap();
    assert!(matches!(&answered, Tracked::Answered { .. }));
    let answered_id: i64 = answered.transaction_id().expect("the answer's transaction_id");
    // Its status and amount, of the same types, from either arm.
    assert_eq!((stored.status(), stored.amount()), (answered.status(), answered.amount()));
    assert_eq!(stored.status(), Some(vandar::enums::SettlementStatus::Pending));
    let listed: Vec<i64> = vandar.api().transaction_list().send().await.unwrap().data.iter().filter_map(|t| t.id).collect();
    assert!(listed.contains(&reconciled_id) && listed.contains(&answered_id), "{listed:?} holds {reconciled_id} and {answered_id}");
    vandar.api().settlement_cancel().transaction_id(reconciled_id).send().await.unwrap();
}

#[tokio::test]
async fn an_undocumented_status_from_the_mock_decodes_as_unknown() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN)).await.unwrap();
    mock.inject(Fault::UnknownEnumValue);
    let list = vandar.api().settlement_list().business("mock-shop").send().await.unwrap();
    let status = list.data.settlements.data[0].status.clone().unwrap();
    assert_eq!(status, vandar::enums::SettlementStatus::Unknown("UNDOCUMENTED_VALUE".into()));
    assert!(!status.is_documented());
}

#[tokio::test]
async fn a_429_burst_is_ridden_out_by_waiting() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().retry_policy(fast_retries().max_attempts(4)).build().unwrap();
    for _ in 0..3 {
        mock.inject(Fault::RateLimited);
    }
    assert_eq!(wallet_tomans(&vandar).await, Tomans(5_000_000), "three 429s, then the answer");
    for _ in 0..4 {
        mock.inject(Fault::RateLimited);
    }
    let error = vandar.api().balance().business("mock-shop").send().await.unwrap_err();
    assert!(matches!(error, Error::RateLimited { retry_after: Some(d) } if d == Duration::from_secs(1)), "{error:?}");
}

/// The journal keeps what proved a move whose answer was lost: the ids of the records the lookup
/// found, both when the client reconciles at once and when recovery does after a restart (fed the
/// journaled request, read back as the body that was sent).
#[tokio::test]
async fn a_reconciled_journal_entry_names_the_records_the_lookup_found() {
    use vandar::journal::{FileJournal, Intent, Journal, Outcome};
    let mock = MockVandar::start().await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("vandar.journal");
    let client = || journaled_client(&mock, &path);
    let payout = |track_id: &str| SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id(track_id.to_owned());
    // The proof names the lookup and the record: its transaction id, settlement id, track id, status and amount.
    let proves = |outcome: &Outcome, transaction: i64, settlement: uuid::Uuid, track_id: &str| {
        let Outcome::Reconciled { found } = outcome else { panic!("{outcome:?}") };
        let record = &found.records[..];
        assert_eq!(found.lookup, "transaction_list");
        assert!(matches!(record, [one] if one.kind == "transaction"), "{found:?}");
        let one = &record[0];
        assert_eq!(
            (one.transaction_id, one.settlement_id.clone(), one.track_id.as_deref(), one.amount, one.unit.as_deref()),
            (Some(transaction), Some(settlement.to_string()), Some(track_id), Some(-5_000), Some("Tomans")), // a debit on the statement
            "{found:?}"
        );
        assert!(one.status.is_some(), "{found:?}");
        let shown = found.to_string();
        assert!(shown.starts_with(&format!("transaction_list: transaction {transaction} (settlement {settlement}")), "{shown}");
    };

    // In the process: the answer is cut off and the lookup proves the move.
    mock.inject_for("settlement_store", Fault::TruncatedBody);
    let stored = client().settlement_store(payout("cut-1")).await.unwrap();
    assert!(stored.was_reconciled(), "{stored:?}");
    let journaled = FileJournal::open(&path).unwrap().get("cut-1").await.unwrap().unwrap();
    proves(journaled.outcome.as_ref().unwrap(), stored.transaction_id().unwrap(), stored.settlement_id().unwrap(), "cut-1");

    // After a restart: the intent was written and the move carried out, but the process died before
    // it recorded the outcome (the same body, sent to the end by a client without the journal).
    let body: vandar::api::types::SettlementStoreRequest = payout("lost-1").try_into().unwrap();
    // `begin`, as the client does just before the request leaves (`record` would only stage it).
    let begun = FileJournal::open(&path).unwrap().begin(&Intent::for_money_move("settlement_store", &body).unwrap()).await.unwrap();
    assert_eq!(begun, vandar::journal::Begin::Sending);
    mock.client_builder().build().unwrap().settlement_store(payout("lost-1")).await.unwrap();
    let vandar = client();
    let report = vandar.recover().await.unwrap();
    let found = vandar.api().transaction_list().track_id("lost-1").send().await.unwrap().data;
    let settlement = found[0].settlement.as_ref().and_then(|s| s["id"].as_str()).unwrap().parse().unwrap();
    assert_eq!(report.settled.iter().map(|s| s.entry.intent.key.as_str()).collect::<Vec<_>>(), ["lost-1"]);
    proves(&report.settled[0].outcome, found[0].id.unwrap(), settlement, "lost-1");
    assert!(report.still_open.is_empty(), "{report:?}");
    let sent = mock.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/settlement/store")).count();
    assert_eq!(sent, 2, "each payout was sent once; recovery only looked");
}

/// A settlement's status reads from either arm, including a proven record that carries its
/// settlement's status but no statement status.
#[test]
fn a_reconciled_settlement_reads_its_status_from_the_record_found() {
    use vandar::enums::SettlementStatus;
    let record = |value: serde_json::Value| -> vandar::api::types::Transaction { serde_json::from_value(value).unwrap() };
    let reconciled = |found| Tracked::<vandar::api::types::SettlementStoreResponse, _>::Reconciled { track_id: "t".into(), found };
    let stated = reconciled(vec![record(serde_json::json!({"id": 7, "settlement": {"status": "DONE"}}))]);
    assert_eq!(stated.status(), Some(SettlementStatus::Done));
    let by_statement = reconciled(vec![record(serde_json::json!({"id": 7, "status": -4}))]);
    assert_eq!(by_statement.status(), Some(SettlementStatus::Canceled));
    assert_eq!(reconciled(vec![record(serde_json::json!({"id": 7}))]).status(), None);
}
