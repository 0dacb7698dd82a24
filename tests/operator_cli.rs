//! The operator's command, `vandar journal ...`, run as a real process against file, Redis and
//! Postgres journals: it lists what is open (masked), shows one entry with its target and outcome,
//! runs recovery against the mock with the application's token store, and closes an entry by hand
//! with a reason the journal keeps.
#![cfg(all(feature = "ops", feature = "mock", feature = "redis", feature = "postgres"))]
#[path = "support/postgres_server.rs"]
mod postgres_server;
#[path = "support/redis_server.rs"]
mod redis_server;

use std::sync::Arc;

use vandar::api::types::SettlementStoreRequest;
use vandar::journal::{Begin, EntryState, FileJournal, Intent, Journal, Outcome, Target};
use vandar::mock::MockVandar;
use vandar::money::{Rials, Tomans};

const IBAN: &str = "IR330120020000002353697200";

fn payout(track_id: &str) -> SettlementStoreRequest {
    SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id(track_id.to_owned()).try_into().unwrap()
}

fn begun(track_id: &str) -> Intent {
    let target = Target {
        host: "api".into(),
        method: "POST".into(),
        path: "/v3/business/mock-shop/settlement/store".into(),
        business: Some("mock-shop".into()),
        gateway: None,
        sender: None,
    };
    Intent { target: Some(target), ..Intent::for_money_move("settlement_store", &payout(track_id)).unwrap() }
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn vandar(args: &[&str], env: &[(&str, String)]) -> Run {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_vandar"));
    command.args(args).env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = tokio::time::timeout(std::time::Duration::from_secs(60), command.output()).await.expect("bounded").unwrap();
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(!run.stdout.contains(IBAN) && !run.stderr.contains(IBAN), "a full IBAN was printed:\n{}{}", run.stdout, run.stderr);
    run
}

/// Two payouts sent with their answers lost (one reached Vandar, one never left) in `journal`.
async fn two_in_doubt(mock: &MockVandar, journal: &impl Journal) {
    for track_id in ["lost-answer", "never-left"] {
        assert_eq!(journal.begin(&begun(track_id)).await.unwrap(), Begin::Sending);
    }
    mock.client_builder().build().unwrap().settlement_store(payout("lost-answer").into()).await.unwrap();
}

/// list, show and close on one backend (`at`: its flags).
async fn list_show_close(journal: &impl Journal, at: &[&str]) {
    fn joined<'a>(at: &[&'a str], rest: &[&'a str]) -> Vec<&'a str> {
        [at, rest].concat()
    }
    let with = |rest: &[&'static str]| joined(at, rest);
    let listed = vandar(&with(&["list", "--json"]), &[]).await;
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let lines: Vec<serde_json::Value> = listed.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let mut keys: Vec<&str> = lines.iter().map(|l| l["key"].as_str().unwrap()).collect();
    keys.sort();
    assert_eq!(keys, ["lost-answer", "never-left"], "{}", listed.stdout);
    for line in &lines {
        assert_eq!((line["state"].as_str(), line["operation"].as_str()), (Some("sending"), Some("settlement_store")), "{line}");
        assert_eq!((line["amount"].as_i64(), line["business"].as_str()), (Some(5_000), Some("mock-shop")), "{line}");
        assert!(line["destination"].as_str().unwrap().starts_with("IR33*"), "masked: {line}");
    }
    let table = vandar(&with(&["list"]), &[]).await;
    assert!(table.stdout.contains("never-left") && table.stderr.contains("2 open entries"), "{}{}", table.stdout, table.stderr);

    let shown = vandar(&with(&["show", "never-left"]), &[]).await;
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let entry: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    assert_eq!(entry["state"], "sending");
    assert_eq!(entry["intent"]["target"]["path"], "/v3/business/mock-shop/settlement/store");
    let missing = vandar(&with(&["show", "no-such-id"]), &[]).await;
    assert!(missing.code == 1 && missing.stderr.contains("no entry \"no-such-id\""), "{}", missing.stderr);

    let unexplained = vandar(&with(&["close", "never-left", "--reason", "  "]), &[]).await;
    assert_eq!(unexplained.code, 1, "a reason is required");
    assert!(journal.get("never-left").await.unwrap().unwrap().is_open());
    let closed = vandar(&with(&["close", "never-left", "--reason", "not in the dashboard; Sara, ticket 77"]), &[]).await;
    assert_eq!(closed.code, 0, "{}", closed.stderr);
    let entry = journal.get("never-left").await.unwrap().unwrap();
    assert_eq!(entry.outcome, Some(Outcome::ClosedByHand { reason: "not in the dashboard; Sara, ticket 77".into() }));
    assert_eq!(entry.state(), EntryState::Closed);
    let again = vandar(&with(&["close", "never-left", "--reason", "twice"]), &[]).await;
    assert!(again.code == 1 && again.stderr.contains("closed already"), "{}", again.stderr);
    // Closed by hand: the client never sends that track id again.
    assert!(!matches!(journal.begin(&begun("never-left")).await.unwrap(), Begin::Sending));
    let listed = vandar(&with(&["list", "--json"]), &[]).await;
    assert_eq!(listed.stdout.lines().count(), 1, "{}", listed.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_lists_shows_recovers_and_closes_by_hand_on_a_file_journal() {
    let mock = MockVandar::start().await.unwrap();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("vandar.journal");
    let journal = FileJournal::open(&path).unwrap();
    two_in_doubt(&mock, &journal).await;
    let file = path.to_str().unwrap();
    list_show_close(&journal, &["journal", "--file", file]).await;

    // Recovery by hand, on the application's token store, with the credentials from the environment.
    let paying = mock.client_builder().journal(journal.clone()).build().unwrap();
    let payment = paying.start_payment(Rials(70_000), "https://shop.example/back").await.unwrap();
    let address = mock.address();
    let c = &address.credentials;
    let env = [
        ("VANDAR_BUSINESS", c.business.clone()),
        ("VANDAR_ACCESS_TOKEN", c.access_token.clone()),
        ("VANDAR_REFRESH_TOKEN", c.refresh_token.clone()),
        ("VANDAR_IPG_API_KEY", c.ipg_api_key.clone()),
        ("VANDAR_API_URL", address.api.clone()),
        ("VANDAR_IPG_URL", address.ipg.clone()),
    ];
    let no_store = vandar(&["journal", "--file", file, "recover", "--min-age", "0"], &env).await;
    assert!(no_store.code == 1 && no_store.stderr.contains("token store"), "{}", no_store.stderr);
    let posts = mock.requests().iter().filter(|r| r.path.ends_with("/settlement/store")).count();
    let tokens = folder.path().join("tokens.json");
    let recovered = vandar(&["journal", "--file", file, "recover", "--min-age", "0", "--tokens-file", tokens.to_str().unwrap()], &env).await;
    assert_eq!(recovered.code, 0, "{}{}", recovered.stdout, recovered.stderr);
    assert!(recovered.stdout.contains("lost-answer") && recovered.stdout.contains("reconciled"), "{}", recovered.stdout);
    assert!(recovered.stdout.contains(&payment.token) && recovered.stdout.contains("TooYoung"), "{}", recovered.stdout);
    assert!(recovered.stderr.contains("1 settled, 0 still open, 1 skipped"), "{}", recovered.stderr);
    assert_eq!(journal.get("lost-answer").await.unwrap().unwrap().state(), EntryState::Closed);
    assert!(journal.get(&payment.token).await.unwrap().unwrap().is_open(), "the payer may still be paying");
    assert_eq!(mock.requests().iter().filter(|r| r.path.ends_with("/settlement/store")).count(), posts, "recovery only looked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_lists_shows_and_closes_by_hand_on_redis_and_postgres_journals() {
    let mock = MockVandar::start().await.unwrap();
    let redis = redis_server::RedisServer::start();
    let journal = vandar::journal::RedisJournal::new(&redis.url(), "shop-a").unwrap();
    two_in_doubt(&mock, &journal).await;
    list_show_close(&journal, &["journal", "--redis", &redis.url(), "--prefix", "shop-a"]).await;

    let postgres = postgres_server::PostgresServer::start();
    let journal = Arc::new(vandar::journal::PostgresJournal::connect(&postgres.url()).await.unwrap());
    journal.migrate().await.unwrap();
    let mock = MockVandar::start().await.unwrap();
    two_in_doubt(&mock, &journal).await;
    list_show_close(&journal, &["journal", "--postgres", &postgres.url()]).await;
}
