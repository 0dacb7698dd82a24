//! Recovery concludes only from Vandar's documented answers, looked up where each move was sent:
//! a journal shared by two businesses (two gateway keys) is recovered by each one's own Client, and
//! lookups that answer an HTML 404, a JSON 404 from an unknown route or a 302 conclude nothing.
#![cfg(feature = "mock")]
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use vandar::api::types::SettlementStoreRequest;
use vandar::journal::{Begin, EntryState, FileJournal, Intent, Journal, Outcome, Target};
use vandar::money::RecoveryOptions;
use vandar::mock::{Credentials, MockVandar};
use vandar::money::{Rials, SkipReason, Tomans};
use vandar::Host;

const IBAN: &str = "IR330120020000002353697200";

fn payout(track_id: &str) -> SettlementStoreRequest {
    SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id(track_id.to_owned()).try_into().unwrap()
}

/// `track_id`'s settlement as the client journals it just before sending it to `business`.
fn begun(business: &str, track_id: &str) -> Intent {
    let target = Target {
        host: "api".into(),
        method: "POST".into(),
        path: format!("/v3/business/{business}/settlement/store"),
        business: Some(business.into()),
        gateway: None,
        sender: None,
    };
    Intent { target: Some(target), ..Intent::for_money_move("settlement_store", &payout(track_id)).unwrap() }
}

fn at_once() -> RecoveryOptions {
    RecoveryOptions::default().min_age(Duration::ZERO).payments_after(Duration::ZERO)
}

fn client(mock: &MockVandar, journal: &FileJournal) -> vandar::Client {
    mock.client_builder().journal(journal.clone()).recovery(at_once()).build().unwrap()
}

fn keys<'a>(entries: impl Iterator<Item = &'a vandar::journal::Entry>) -> Vec<String> {
    let mut keys: Vec<String> = entries.map(|e| e.intent.key.clone()).collect();
    keys.sort();
    keys
}

fn settlements_at(mock: &MockVandar) -> usize {
    mock.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/settlement/store")).count()
}

#[tokio::test]
async fn two_businesses_on_one_journal_each_recover_their_own_entries_and_never_the_others() {
    let one = MockVandar::start().await.unwrap();
    let two = MockVandar::start_with(
        "127.0.0.1",
        0,
        Credentials { business: "shop-two".into(), ipg_api_key: "shop-two-gateway".into(), ..Credentials::default() },
    )
    .await
    .unwrap();
    let folder = tempfile::tempdir().unwrap();
    let journal = FileJournal::open(folder.path().join("shared.journal")).unwrap();
    let (first, second) = (client(&one, &journal), client(&two, &journal));

    // Each business has a payout that reached Vandar with its answer lost, and one that never left
    // (the process died between the journal and the socket); and a payment each, unpaid.
    for (mock, business, prefix) in [(&one, "mock-shop", "one"), (&two, "shop-two", "two")] {
        for track_id in [format!("{prefix}-sent"), format!("{prefix}-unsent")] {
            assert_eq!(journal.begin(&begun(business, &track_id)).await.unwrap(), Begin::Sending);
        }
        let unjournaled = mock.client_builder().build().unwrap();
        unjournaled.settlement_store(payout(&format!("{prefix}-sent")).into()).await.unwrap();
    }
    let paying_one = first.start_payment(Rials(120_000), "https://shop.example/back").await.unwrap();
    let paying_two = second.start_payment(Rials(90_000), "https://two.example/back").await.unwrap();
    let (one_posts, two_posts) = (settlements_at(&one), settlements_at(&two));

    // The first business's recovery settles its own and leaves the other's, saying why.
    let report = first.recover().await.unwrap();
    let settled: Vec<(String, &'static str)> = report.settled.iter().map(|s| (s.entry.intent.key.clone(), s.outcome.kind())).collect();
    assert!(settled.contains(&("one-sent".into(), "reconciled")), "{report:?}");
    assert!(settled.contains(&("one-unsent".into(), "proven_not_sent")), "{report:?}");
    assert!(settled.iter().all(|(key, _)| !key.starts_with("two-") && key != paying_two.token.as_str()), "{report:?}");
    let others: Vec<(&str, &SkipReason)> = report.skipped.iter().map(|s| (s.key.as_str(), &s.why)).collect();
    for key in ["two-sent", "two-unsent"] {
        assert!(
            others.contains(&(key, &SkipReason::OtherBusiness { business: "shop-two".into() })),
            "{key} is the other business's: {others:?}"
        );
    }
    assert!(others.contains(&(paying_two.token.as_str(), &SkipReason::OtherGateway)), "the other gateway's payment: {others:?}");
    assert_eq!(two.requests().iter().filter(|r| r.method == "GET").count(), 0, "nothing of the second business was looked up");
    for key in ["two-sent", "two-unsent", paying_two.token.as_str()] {
        assert!(journal.get(key).await.unwrap().unwrap().is_open(), "{key} is left for its own Client");
    }

    // The second business's recovery settles its own, and finds the first's already done.
    let report = second.recover().await.unwrap();
    let settled: Vec<(String, &'static str)> = report.settled.iter().map(|s| (s.entry.intent.key.clone(), s.outcome.kind())).collect();
    assert!(settled.contains(&("two-sent".into(), "reconciled")), "{report:?}");
    assert!(settled.contains(&("two-unsent".into(), "proven_not_sent")), "{report:?}");
    assert!(report.skipped.iter().all(|s| s.key == paying_one.token.as_str() || s.key.starts_with("one-")), "{report:?}");
    assert_eq!(
        journal.get("two-sent").await.unwrap().unwrap().state(),
        EntryState::Closed,
        "the second business's lost answer is proven by its own lookup"
    );
    // Recovery only looked: no payout was sent again, at either business.
    assert_eq!((settlements_at(&one), settlements_at(&two)), (one_posts, two_posts));
}

/// What a lookup's answer is, on a server that is not Vandar.
#[derive(Clone, Copy, Debug)]
enum NotVandar {
    Html404,
    UnknownRoute404,
    Redirect,
}

async fn not_vandar(kind: NotVandar, seen: Arc<AtomicUsize>) -> String {
    use axum::response::IntoResponse;
    let app = axum::Router::new().fallback(move |request: axum::extract::Request| {
        let seen = seen.clone();
        async move {
            // Lookups only (the gateway's transaction lookup is a POST); never a move.
            let path = request.uri().path().to_owned();
            assert!(!path.ends_with("/store") && !path.ends_with("/send"), "recovery never sends a move: {} {path}", request.method());
            seen.fetch_add(1, Ordering::SeqCst);
            match kind {
                NotVandar::Html404 => (
                    axum::http::StatusCode::NOT_FOUND,
                    [("content-type", "text/html")],
                    "<html><head><title>404 Not Found</title></head><body><center>nginx</center></body></html>",
                )
                    .into_response(),
                NotVandar::UnknownRoute404 => {
                    (axum::http::StatusCode::NOT_FOUND, axum::Json(serde_json::json!({"message": "Not Found"}))).into_response()
                }
                NotVandar::Redirect => (axum::http::StatusCode::FOUND, [("location", "https://login.example/sso")]).into_response(),
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

#[tokio::test]
async fn lookups_that_answer_an_html_404_a_json_404_or_a_302_conclude_nothing() {
    let mock = MockVandar::start().await.unwrap();
    for kind in [NotVandar::Html404, NotVandar::UnknownRoute404, NotVandar::Redirect] {
        let folder = tempfile::tempdir().unwrap();
        let journal = FileJournal::open(folder.path().join("vandar.journal")).unwrap();
        // A payment registered at the real gateway, a payout and a direct debit sent, answers lost.
        let payment = client(&mock, &journal).start_payment(Rials(50_000), "https://shop.example/back").await.unwrap();
        journal.begin(&begun("mock-shop", "lost-payout")).await.unwrap();
        let debit = vandar::api::types::WithdrawalStoreRequest::builder()
            .authorization_id(uuid::Uuid::new_v4())
            .amount(Rials(20_000))
            .track_id("lost-debit".to_string());
        let debit: vandar::api::types::WithdrawalStoreRequest = debit.try_into().unwrap();
        let target = Target {
            host: "api".into(),
            method: "POST".into(),
            path: "/v2/business/mock-shop/subscription/withdrawal/store".into(),
            business: Some("mock-shop".into()),
            gateway: None,
            sender: None,
        };
        let debit = Intent { target: Some(target), ..Intent::for_money_move("withdrawal_store", &debit).unwrap() };
        journal.begin(&debit).await.unwrap();

        // The lookups go to something that is not Vandar (a proxy's page, a wrong base URL, a login).
        let seen = Arc::new(AtomicUsize::new(0));
        let base = not_vandar(kind, seen.clone()).await;
        let mut builder = mock.client_builder().journal(journal.clone()).recovery(at_once());
        for host in [Host::Api, Host::Ipg] {
            builder = builder.base_url(host, format!("{base}{}", if host == Host::Ipg { "/ipg" } else { "" }));
        }
        let report = builder.build().unwrap().recover().await.unwrap();

        assert!(report.settled.is_empty(), "{kind:?}: concluded without proof: {report:?}");
        let mut expected = vec!["lost-debit".to_string(), "lost-payout".to_string(), payment.token.as_str().to_string()];
        expected.sort();
        assert_eq!(keys(report.still_open.iter().map(|s| &s.entry)), expected, "{kind:?}: {report:?}");
        for still in &report.still_open {
            assert!(!still.looked_up.is_empty(), "{kind:?}: {} says what was seen", still.entry.intent.key);
        }
        assert!(seen.load(Ordering::SeqCst) >= 3, "{kind:?}: every entry was looked up");
        for key in ["lost-payout", "lost-debit", payment.token.as_str()] {
            let entry = journal.get(key).await.unwrap().unwrap();
            assert!(entry.is_open() && !matches!(entry.outcome, Some(Outcome::ProvenNotSent { .. } | Outcome::Expired { .. })), "{kind:?}: {key}");
        }
    }
}
