//! Auto-paging (`.items()` / `.pages()` on every list builder) in each of Vandar's paging styles,
//! against the embedded mock with many pages, counting the requests the mock received; and against
//! a small server that pages wrongly.
#![cfg(feature = "mock")]
mod support;

use futures::{StreamExt, TryStreamExt};
use serde_json::json;
use vandar::api::types::{CustomerRequest, SettlementStoreRequest};
use vandar::mock::{Fault, MockVandar};
use vandar::money::Tomans;
use vandar::rate_limit::RateLimits;
use vandar::Error;

const IBAN: &str = "IR330120020000002353697200";

async fn started() -> (MockVandar, vandar::Client) {
    let mock = MockVandar::start().await.unwrap();
    mock.set_rate_limits(100_000, 100_000);
    let vandar = mock.client_builder().rate_limits(RateLimits::unlimited()).build().unwrap();
    (mock, vandar)
}

/// Stores `count` settlements of distinct amounts; their ids and transaction ids, newest first.
async fn settlements(vandar: &vandar::Client, count: i64) -> (Vec<String>, Vec<i64>) {
    let (mut ids, mut transactions) = (Vec::new(), Vec::new());
    for i in 0..count {
        let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000 + i)).iban(IBAN)).await.unwrap();
        let vandar::money::Tracked::Answered { answer, .. } = stored else { panic!("answered") };
        let record = &answer.data.settlement[0];
        ids.insert(0, record.id.to_string());
        transactions.insert(0, record.transaction_id);
    }
    (ids, transactions)
}

/// The queries of the GET requests the mock received on paths ending with `suffix`.
fn list_requests(mock: &MockVandar, suffix: &str) -> Vec<String> {
    mock.requests().into_iter().filter(|r| r.method == "GET" && r.path.ends_with(suffix)).map(|r| r.query).collect()
}

#[tokio::test]
async fn flat_paginator_settlement_list_streams_every_item_and_stops_at_the_last_page() {
    let (mock, vandar) = started().await;
    let (stored, _) = settlements(&vandar, 23).await;
    mock.clear_requests();

    let items: Vec<_> = vandar.api().settlement_list().per_page(5).items().try_collect().await.unwrap();
    let ids: Vec<String> = items.iter().map(|s| s.id.unwrap().to_string()).collect();
    assert_eq!(ids, stored, "all 23, newest first, each once");
    assert_eq!(list_requests(&mock, "/settlement"), ["per_page=5", "page=2&per_page=5", "page=3&per_page=5", "page=4&per_page=5", "page=5&per_page=5"]);

    // Lazy: the last 7 settlements take two pages, not five.
    mock.clear_requests();
    let last_seven: Vec<_> = vandar.api().settlement_list().per_page(5).items().take(7).try_collect().await.unwrap();
    assert_eq!(last_seven.len(), 7);
    assert_eq!(list_requests(&mock, "/settlement").len(), 2);

    // Pages: five answers; a page set on the builder is where the stream starts.
    let pages: Vec<_> = vandar.api().settlement_list().per_page(5).page(4).pages().try_collect().await.unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.data.settlements.data.len()).collect();
    assert_eq!(sizes, [5, 3]);
}

#[tokio::test]
async fn resource_pages_customer_list_at_vandars_fixed_size() {
    let (mock, vandar) = started().await;
    for i in 0..32 {
        let body = CustomerRequest::builder().type_("INDIVIDUAL").mobile(format!("0912345{i:04}")).individual_national_code("0013542419").first_name(format!("customer {i}"));
        vandar.api().customer_store().body(body).send().await.unwrap();
    }
    mock.clear_requests();
    let customers: Vec<_> = vandar.api().customer_list().items().try_collect().await.unwrap();
    assert_eq!(customers.len(), 32);
    let mut names: Vec<String> = customers.iter().filter_map(|c| c.mobile.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 32, "no customer twice");
    assert_eq!(list_requests(&mock, "/customers"), ["", "page=2", "page=3"], "15 + 15 + 2");
}

#[tokio::test]
async fn cursor_pages_transaction_list_with_start_after() {
    let (mock, vandar) = started().await;
    let (_, stored) = settlements(&vandar, 10).await;
    mock.clear_requests();
    let transactions: Vec<_> = vandar.api().transaction_list().per_page(4).items().try_collect().await.unwrap();
    let ids: Vec<i64> = transactions.iter().map(|t| t.id.unwrap()).collect();
    assert_eq!(ids, stored);
    let queries = list_requests(&mock, "/transaction");
    assert_eq!(queries.len(), 3, "4 + 4 + 2: {queries:?}");
    assert_eq!(queries[1], format!("per_page=4&start_after={}", stored[3]));
    assert_eq!(queries[2], format!("per_page=4&start_after={}", stored[7]));
}

#[tokio::test]
async fn a_list_without_paging_fields_is_read_until_a_short_page() {
    let (mock, vandar) = started().await;
    mock.clear_requests();
    let users: Vec<_> = vandar.api().business_users().per_page(1).items().try_collect().await.unwrap();
    assert!(!users.is_empty());
    let queries = list_requests(&mock, "/iam");
    assert_eq!(queries.len(), users.len() + 1, "one page per user, then the empty page: {queries:?}");
}

#[tokio::test]
async fn an_error_on_a_later_page_ends_the_stream_with_that_error() {
    let (mock, vandar) = started().await;
    settlements(&vandar, 12).await;
    let mut stream = vandar.api().settlement_list().per_page(5).items();
    for _ in 0..5 {
        stream.try_next().await.unwrap().unwrap();
    }
    mock.inject(Fault::Status(422));
    let error = stream.try_next().await.unwrap_err();
    assert!(matches!(&error, Error::Api(api) if api.status == 422), "{error:?}");
    assert!(stream.next().await.is_none(), "the stream ends after the error");
}

#[tokio::test]
async fn a_server_that_ignores_the_page_asked_for_is_an_error_not_a_loop() {
    // Always page 1 of 3, whatever page is asked for.
    let server = support::serve(|_| async {
        support::json(200, json!({"data": [{"id": "3fa85f64-5717-4562-b3fc-2c963f66afa6"}], "meta": {"current_page": 1, "last_page": 3}, "links": {"next": "http://x/?page=2"}}))
    })
    .await;
    let vandar = support::client_for(&server).business("shop").business_tokens(vandar::TokenPair::new("a", "r", None)).build().unwrap();
    let results: Vec<_> = vandar.api().customer_list().items().collect().await;
    assert_eq!(results.len(), 2, "page 1's item, then the error: {results:?}");
    let error = results[1].as_ref().unwrap_err();
    assert!(error.to_string().contains("asked for page 2, Vandar answered page 1"), "{error}");
    assert_eq!(server.seen().len(), 2);
}
