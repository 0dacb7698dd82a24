//! Direct debit end to end against the embedded mock Vandar: banks, an authorization approved at
//! the bank and verified once, withdrawals within its limit, lookups, cancellation, refunds.
#![cfg(feature = "mock")]
#[path = "support/journaled.rs"]
mod journaled;
#[path = "support/notify.rs"]
mod notify;

use vandar::money::Rials;
use vandar::api::types::{OpenObject, WithdrawalStoreRequest};
use journaled::journaled_client;
use notify::NotifyReceiver;
use vandar::mock::MockVandar;
use vandar::money::Tracked;
use vandar::Error;

/// Starts an authorization, approves it at the (mock) bank and verifies it; returns its id.
async fn active_authorization(vandar: &vandar::Client) -> uuid::Uuid {
    let api = vandar.api();
    let stored = api
        .authorization_store()
        .business("mock-shop")
        .body_map(|b| {
            b.bank_code("062")
                .mobile("09123456789")
                .callback_url("https://shop.example/mandate")
                .count(10)
                .limit(Rials(50_000))
                .expiration_date(chrono::NaiveDate::from_ymd_opt(2030, 1, 1).unwrap())
        })
        .send()
        .await
        .unwrap();
    let token = stored.result.unwrap().authorization.unwrap().token.unwrap();

    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = browser.get(vandar::extras::redirects::authorization_page(vandar, &token)).send().await.unwrap();
    assert_eq!(back.status(), 302);
    let callback = url::Url::parse(back.headers()["location"].to_str().unwrap()).unwrap();
    let query: std::collections::HashMap<_, _> = callback.query_pairs().into_owned().collect();
    assert_eq!(query["status"], "SUCCEED");
    let id: uuid::Uuid = query["authorization_id"].parse().unwrap();

    api.authorization_verify().business("mock-shop").authorization_id(id).send().await.unwrap();
    id
}

#[tokio::test]
async fn an_authorization_is_approved_verified_once_and_revoked() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let api = vandar.api();
    let banks = api.subscription_banks_actives().business("mock-shop").send().await.unwrap();
    assert_eq!(banks.result.unwrap().banks[0].code.as_deref(), Some("062"));

    let id = active_authorization(&vandar).await;
    let twice = api.authorization_verify().business("mock-shop").authorization_id(id).send().await.unwrap_err();
    assert!(matches!(&twice, Error::Api(api) if api.message == "authorization already verified"), "{twice:?}");

    let listed = api.authorization_list().business("mock-shop").send().await.unwrap();
    assert_eq!(listed.data[0].status.as_ref().map(|s| s.as_str()), Some("ACTIVE"));
    assert_eq!(listed.data[0].limit, Some(Rials(50_000)));
    api.authorization_search().business("mock-shop").authorization_id(id).send().await.unwrap();
    api.authorization_calculation().business("mock-shop").authorization_id(id).send().await.unwrap();

    let revoked = api.authorization_revoke().business("mock-shop").authorization_id(id).send().await.unwrap();
    assert_eq!(revoked.result.unwrap().authorization.unwrap().id, Some(id));
    assert!(api.authorization_list().business("mock-shop").send().await.unwrap().data.is_empty());
}

#[tokio::test]
async fn withdrawals_respect_the_limit_and_are_found_by_track_id() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let api = vandar.api();
    let id = active_authorization(&vandar).await;

    let instant = vandar.withdrawal_store(WithdrawalStoreRequest::builder().authorization_id(id).amount(Rials(20_000))).await.unwrap();
    let Tracked::Answered { track_id, answer } = instant else { panic!("answered") };
    let withdrawal = answer.result.unwrap().withdrawal.unwrap();
    assert_eq!(withdrawal.track_id.as_deref(), Some(track_id.as_str()), "the client's track_id was sent");
    assert_eq!(withdrawal.status.as_ref().map(|s| s.as_str()), Some("DONE"));

    let found = api.withdrawal_show_by_track_id().business("mock-shop").track_id(&track_id).send().await.unwrap();
    let withdrawal_id = found.result.unwrap().withdrawal.unwrap().id.unwrap();
    let shown = api.withdrawal_show().business("mock-shop").withdrawal_id(withdrawal_id).send().await.unwrap();
    assert_eq!(shown.result.unwrap().withdrawal.unwrap().amount, Some(Rials(20_000)));

    let over = vandar.withdrawal_store(WithdrawalStoreRequest::builder().authorization_id(id).amount(Rials(60_000))).await.unwrap_err();
    assert!(matches!(&over, Error::Api(api) if api.fields.contains_key("amount")), "above the limit: {over:?}");

    // A scheduled withdrawal can be canceled; an instant one cannot.
    let scheduled = api
        .withdrawal_store()
        .business("mock-shop")
        .body_map(|b| {
            b.authorization_id(id)
                .amount(Rials(5_000))
                .is_instant(0_i64)
                .withdrawal_date(chrono::NaiveDate::from_ymd_opt(2030, 1, 2).unwrap())
                .track_id("scheduled-1")
        })
        .send()
        .await
        .unwrap();
    let scheduled_id = scheduled.result.unwrap().withdrawal.unwrap().id.unwrap();
    api.withdrawal_cancel().business("mock-shop").withdrawal_id(scheduled_id).send().await.unwrap();
    let refused = api.withdrawal_cancel().business("mock-shop").withdrawal_id(withdrawal_id).send().await.unwrap_err();
    assert_eq!(refused.status(), Some(422));

    let of_mandate = api.withdrawal_list().business("mock-shop").q(id).send().await.unwrap();
    assert_eq!(of_mandate.data.len(), 2);
    let statuses: Vec<String> = of_mandate.data.iter().map(|w| w.status.as_ref().unwrap().to_string()).collect();
    assert_eq!(statuses, ["DONE", "CANCELED"]);
    assert!(api.withdrawal_list().business("mock-shop").q(uuid::Uuid::new_v4()).send().await.unwrap().data.is_empty());
}

#[tokio::test]
async fn subscription_refunds_answer_as_listed_only() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let api = vandar.api();
    api.subscription_refund_store().business("mock-shop").body(OpenObject(serde_json::Map::new())).send().await.unwrap();
    api.subscription_refund_list().business("mock-shop").send().await.unwrap();
    let shown = api.subscription_refund_show().business("mock-shop").refund_id("r-1").send().await.unwrap();
    assert!(shown.0["message"].as_str().unwrap().contains("subscription_refund_show"));
}

#[tokio::test]
async fn a_scheduled_withdrawal_comes_due_by_the_mock_clock_and_its_notify_url_is_told() {
    let mut notified = NotifyReceiver::start("/withdrawal-notify").await;
    let mock = MockVandar::start().await.unwrap();
    mock.route_webhooks_to(&notified.base_url);
    let vandar = mock.client_builder().build().unwrap();
    let id = active_authorization(&vandar).await;
    let due = (chrono::Utc::now() + chrono::Duration::days(3)).date_naive();
    let scheduled = vandar
        .api()
        .withdrawal_store()
        .business("mock-shop")
        .body_map(|b| b.authorization_id(id).amount(Rials(5_000)).is_instant(0_i64).withdrawal_date(due).notify_url("https://shop.example/withdrawal-notify"))
        .send()
        .await
        .unwrap();
    let withdrawal_id = scheduled.result.unwrap().withdrawal.unwrap().id.unwrap();
    let status = |vandar: vandar::Client| async move {
        let shown = vandar.api().withdrawal_show().business("mock-shop").withdrawal_id(withdrawal_id).send().await.unwrap();
        shown.result.unwrap().withdrawal.unwrap().status.unwrap().to_string()
    };
    mock.advance(std::time::Duration::from_secs(86_400));
    assert_eq!(status(vandar.clone()).await, "PENDING", "a day later it still waits");
    mock.advance(std::time::Duration::from_secs(3 * 86_400));
    assert_eq!(status(vandar.clone()).await, "DONE");
    let (content_type, body) = notified.next().await;
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let notice: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!((notice["withdrawal_id"].as_str(), notice["status"].as_str()), (Some(withdrawal_id.to_string().as_str()), Some("DONE")), "{notice}");
}

/// A withdrawal carried out whose outcome the journal never got (the process died) is recovered
/// through `withdrawal_show_by_track_id`, fed the journaled request read back as the body sent, and
/// the journal names the withdrawal found. One sent without a track id stays open: no lookup can
/// prove it either way.
#[tokio::test]
async fn a_lost_withdrawal_is_recovered_through_its_lookup_and_the_journal_names_it() {
    use vandar::journal::{FileJournal, Intent, Journal, Outcome};
    use vandar::mock::Fault;
    let mock = MockVandar::start().await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("vandar.journal");
    let client = || journaled_client(&mock, &path);
    let id = active_authorization(&client()).await;
    let debit = || WithdrawalStoreRequest::builder().authorization_id(id).amount(Rials(20_000));

    // The intent written, the debit carried out (by a client without the journal), no outcome recorded.
    let body: vandar::api::types::WithdrawalStoreRequest = debit().track_id("debit-7").try_into().unwrap();
    // `begin`, as the client does just before the request leaves (`record` would only stage it).
    let begun = FileJournal::open(&path).unwrap().begin(&Intent::for_money_move("withdrawal_store", &body).unwrap()).await.unwrap();
    assert_eq!(begun, vandar::journal::Begin::Sending);
    mock.client_builder().build().unwrap().withdrawal_store(debit().track_id("debit-7")).await.unwrap();
    // A raw call without a track id, whose answer is a 503: open in the journal, under a key of its own.
    mock.inject_for("withdrawal_store", Fault::Status(503));
    let raw = client().api().withdrawal_store().business("mock-shop").body(debit().maybe_track_id(None::<String>)).send().await;
    assert!(raw.is_err(), "{raw:?}");

    let vandar = client();
    let report = vandar.recover().await.unwrap();
    let shown = vandar.api().withdrawal_show_by_track_id().business("mock-shop").track_id("debit-7").send().await.unwrap();
    let withdrawal = shown.result.unwrap().withdrawal.unwrap().id.unwrap();
    assert_eq!(report.settled.iter().map(|s| s.entry.intent.key.as_str()).collect::<Vec<_>>(), ["debit-7"]);
    let Outcome::Reconciled { found } = &report.settled[0].outcome else { panic!("{report:?}") };
    assert_eq!(found.lookup, "withdrawal_show_by_track_id");
    let record = &found.records[0];
    assert_eq!((found.records.len(), record.kind.as_str(), record.id.clone(), record.track_id.as_deref()), (1, "withdrawal", Some(withdrawal.to_string()), Some("debit-7")));
    assert_eq!((record.amount.is_some(), record.unit.as_deref(), record.status.is_some()), (true, Some("Rials"), true), "{found:?}");
    assert_eq!(found.to_string().split(" (").next().unwrap(), format!("withdrawal_show_by_track_id: withdrawal {withdrawal}"));
    assert_eq!(report.still_open.len(), 1, "{report:?}");
    assert!(report.still_open[0].looked_up.contains("sent without a track_id"), "{report:?}");
    let sent = mock.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/withdrawal/store")).count();
    assert_eq!(sent, 2, "each debit was sent once; recovery only looked");
}
