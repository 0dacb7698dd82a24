//! Paging on every list the mock serves, in Vandar's three styles: the flat Laravel paginator
//! (settlement_list), `{data, links, meta}` (the resource lists) and the cursor (transaction_list),
//! end to end against the embedded mock Vandar on 127.0.0.1.
#![cfg(feature = "mock")]

use vandar::money::Tomans;

use serde_json::{json, Value};
use vandar::api::types::{CustomerRequest, SettlementStoreRequest};
use vandar::batch::types::BatchSettlementItem;
use vandar::mock::MockVandar;
use vandar::{Error, Host};

const IBAN: &str = "IR330120020000002353697200";

async fn started() -> (MockVandar, vandar::Client) {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    (mock, vandar)
}

/// Stores `count` settlements; their transaction ids, oldest first.
async fn settlements(vandar: &vandar::Client, count: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    for _ in 0..count {
        let stored = vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN)).await.unwrap();
        let vandar::money::Tracked::Answered { answer, .. } = stored else { panic!("answered") };
        ids.push(answer.data.settlement[0].transaction_id);
    }
    ids
}

/// The page number a link points at (`None` for a null link).
fn page_of(link: Option<&str>) -> Option<u64> {
    let url = url::Url::parse(link?).unwrap();
    url.query_pairs().find(|(k, _)| k == "page").map(|(_, v)| v.parse().unwrap())
}

#[tokio::test]
async fn the_flat_paginator_pages_settlement_list_newest_first() {
    let (_mock, vandar) = started().await;
    let mut stored = settlements(&vandar, 7).await;
    stored.reverse();

    let mut seen = Vec::new();
    for (page, expected) in [(1, 3), (2, 3), (3, 1), (4, 0)] {
        let list = vandar.api().settlement_list().business("mock-shop").page(page).per_page(3).send().await.unwrap();
        let settlements = list.data.settlements;
        assert_eq!(settlements.data.len(), expected, "page {page}");
        assert_eq!(settlements.current_page, Some(page as i64));
        assert_eq!((settlements.last_page, settlements.total.map(|t| t.to_string())), (Some(3), Some("7".into())));
        assert_eq!(settlements.per_page.map(|p| p.to_string()), Some("3".into()));
        let (from, to) = match page {
            1 => (Some(1), Some(3)),
            2 => (Some(4), Some(6)),
            3 => (Some(7), Some(7)),
            _ => (None, None),
        };
        assert_eq!((settlements.from, settlements.to), (from, to), "page {page}");
        assert_eq!(page_of(settlements.first.as_deref()), Some(1));
        assert_eq!(page_of(settlements.last.as_deref()), Some(3));
        assert_eq!(page_of(settlements.prev.as_deref()), (page > 1).then(|| page - 1));
        assert_eq!(page_of(settlements.next.as_deref()), (page < 3).then(|| page + 1));
        assert!(settlements.first.unwrap().contains("per_page=3"), "links keep the page size");
        assert!(settlements.path.unwrap().ends_with("/v2.1/business/mock-shop/settlement"));
        seen.extend(settlements.data.iter().map(|s| s.gateway_transaction_id.unwrap()));
    }
    assert_eq!(seen, stored, "every settlement once, newest first");

    // Without paging parameters: Laravel's 15 per page.
    let all = vandar.api().settlement_list().business("mock-shop").send().await.unwrap().data.settlements;
    assert_eq!((all.data.len(), all.last_page, all.per_page.map(|p| p.to_string())), (7, Some(1), Some("15".into())));
}

#[tokio::test]
async fn the_resource_paginator_pages_a_batch_and_keeps_its_filter_on_the_links() {
    let (mock, vandar) = started().await;
    let item = |track: String| -> BatchSettlementItem { BatchSettlementItem::builder().track_id(track).iban(IBAN).amount(10_000).try_into().unwrap() };
    let batch_id = "ef".repeat(64);
    let items: Vec<_> = (1..=7).map(|i| item(format!("p-{i}"))).collect();
    vandar.batch().batch_settlement_store().business("mock-shop").body_map(|b| b.batch_id(batch_id.as_str()).batches_settlement(items)).send().await.unwrap();

    let mut tracks = Vec::new();
    for (page, expected) in [(1, 3), (2, 3), (3, 1), (4, 0)] {
        let shown = vandar.batch().batch_show().business("mock-shop").batch_id(&batch_id).status("INIT").page(page).per_page(3).send().await.unwrap();
        assert_eq!(shown.data.len(), expected, "page {page}");
        let meta = shown.meta.unwrap();
        assert_eq!((meta.current_page, meta.last_page, meta.per_page, meta.total), (Some(page as i64), Some(3), Some(3), Some(7)));
        let (from, to) = [(Some(1), Some(3)), (Some(4), Some(6)), (Some(7), Some(7)), (None, None)][page as usize - 1];
        assert_eq!((meta.from, meta.to), (from, to), "page {page}");
        let labels: Vec<_> = meta.links.iter().map(|l| (l.label.clone().unwrap(), l.active.unwrap())).collect();
        let current = page.to_string();
        let expected_labels: Vec<_> = ["pagination.previous", "1", "2", "3", "pagination.next"]
            .into_iter()
            .map(|l| (l.to_string(), l == current))
            .collect();
        assert_eq!(labels, expected_labels);
        let links = shown.links.unwrap();
        assert_eq!(page_of(links.first.as_deref()), Some(1));
        assert_eq!(page_of(links.last.as_deref()), Some(3));
        assert_eq!(page_of(links.prev.as_deref()), (page > 1).then(|| page - 1));
        assert_eq!(page_of(links.next.as_deref()), (page < 3).then(|| page + 1));
        let first = links.first.unwrap();
        assert!(first.contains("status=INIT") && first.contains("per_page=3") && first.contains("/batch/api/v2/"), "{first}");
        tracks.extend(shown.data.iter().map(|s| s.track_id.clone().unwrap()));
    }
    assert_eq!(tracks, (1..=7).map(|i| format!("p-{i}")).collect::<Vec<_>>());

    // A client can follow `next` as it is.
    let mock_api = vandar.batch().batch_show().business("mock-shop").batch_id(&batch_id).per_page(3).send().await.unwrap();
    let next = mock_api.links.unwrap().next.unwrap();
    let followed: Value = reqwest::Client::new().get(&next).bearer_auth(&mock.credentials().access_token).send().await.unwrap().json().await.unwrap();
    assert_eq!(followed["meta"]["current_page"], 2);
    assert_eq!(followed["data"][0]["track_id"], "p-4");
}

#[tokio::test]
async fn a_list_the_spec_gives_page_only_pages_by_fifteen() {
    let (_mock, vandar) = started().await;
    for i in 0..16 {
        let customer = CustomerRequest::builder()
            .type_("INDIVIDUAL")
            .mobile(format!("0912345{i:04}"))
            .individual_national_code("0013542419")
            .first_name(format!("customer {i}"));
        vandar.api().customer_store().business("mock-shop").body(customer).send().await.unwrap();
    }
    let first = vandar.api().customer_list().business("mock-shop").send().await.unwrap();
    let meta = first.meta.unwrap();
    assert_eq!((first.data.len(), meta.per_page, meta.last_page, meta.total), (15, Some(15), Some(2), Some(16)));
    let second = vandar.api().customer_list().business("mock-shop").page(2).send().await.unwrap();
    assert_eq!(second.data.len(), 1);
    assert_eq!(second.data[0].name.as_deref(), Some("customer 15"));
    assert_eq!(page_of(second.links.unwrap().next.as_deref()), None);
}

#[tokio::test]
async fn cursor_paging_walks_transaction_list_to_the_end() {
    let (_mock, vandar) = started().await;
    let mut stored = settlements(&vandar, 7).await;
    stored.reverse();

    let (mut seen, mut sizes, mut cursor) = (Vec::new(), Vec::new(), None::<String>);
    loop {
        let mut call = vandar.api().transaction_list().business("mock-shop").per_page(3);
        if let Some(after) = &cursor {
            call = call.start_after(after);
        }
        let page = call.send().await.unwrap();
        sizes.push((page.data.len(), page.has_more));
        seen.extend(page.data.iter().map(|t| t.id.unwrap()));
        if page.has_more != Some(true) {
            break;
        }
        cursor = Some(page.data.last().unwrap().id.unwrap().to_string());
    }
    assert_eq!(sizes, [(3, Some(true)), (3, Some(true)), (1, Some(false))]);
    assert_eq!(seen, stored, "every transaction once, newest first");

    // After the last item: an empty page; an id the list does not hold: 422 naming start_after.
    let past = vandar.api().transaction_list().business("mock-shop").start_after(stored[6].to_string()).send().await.unwrap();
    assert_eq!((past.data.len(), past.has_more), (0, Some(false)));
    let unknown = vandar.api().transaction_list().business("mock-shop").start_after("1").send().await.unwrap_err();
    assert!(matches!(&unknown, Error::Api(api) if api.status == 422 && api.fields.contains_key("start_after")), "{unknown:?}");
}

#[tokio::test]
async fn bad_paging_parameters_read_as_laravel_reads_them() {
    let (mock, vandar) = started().await;
    settlements(&vandar, 2).await;
    let http = reqwest::Client::new();
    let api = mock.base_url(Host::Api);
    let get = |path: String| http.get(format!("{api}{path}")).bearer_auth(&mock.credentials().access_token).send();

    // A page that is not a whole number >= 1 breaks the spec's rule: 422 naming page (a fuzzer reading the spec
    // calls it invalid, so it must not be answered as page 1), in Miando's shape on Miando's lists.
    for page in ["0", "-2", "abc", ""] {
        let answer = get(format!("/v2.1/business/mock-shop/settlement?page={page}")).await.unwrap();
        assert_eq!(answer.status(), 422, "page={page}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["errors"]["page"].is_array(), "page={page}: {body}");
    }
    // A page past any list, even past u64 (18446744073709551615 once overflowed and poisoned the mock): an empty page.
    for page in ["18446744073709551615", "73730652711750500352"] {
        let list: Value = get(format!("/v2.1/business/mock-shop/settlement?page={page}")).await.unwrap().json().await.unwrap();
        assert_eq!(list["data"]["settlements"]["data"], serde_json::json!([]), "page={page}: {list}");
        assert_eq!(list["data"]["settlements"]["next_page_url"], Value::Null, "page={page}");
    }
    let still: Value = get("/v2.1/business/mock-shop/settlement?page=1".into()).await.unwrap().json().await.unwrap();
    assert_eq!(still["data"]["settlements"]["data"].as_array().unwrap().len(), 2, "the mock still answers");
    // A per_page that is not a whole number >= 1, or above transaction_list's 100: 422 naming per_page.
    for path in ["/v2.1/business/mock-shop/settlement?per_page=0", "/v2.1/business/mock-shop/settlement?per_page=x", "/v3/business/mock-shop/transaction?per_page=101"] {
        let answer = get(path.to_string()).await.unwrap();
        assert_eq!(answer.status(), 422, "{path}");
        let body: Value = answer.json().await.unwrap();
        assert!(body["errors"]["per_page"].is_array(), "{path}: {body}");
    }
    let at_most: Value = get("/v3/business/mock-shop/transaction?per_page=100".into()).await.unwrap().json().await.unwrap();
    assert_eq!(at_most["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn business_users_honours_page_and_per_page_without_paging_fields() {
    let (_mock, vandar) = started().await;
    let first = vandar.api().business_users().business("mock-shop").per_page(1).send().await.unwrap();
    assert_eq!(first.data.unwrap().users.len(), 1);
    let second = vandar.api().business_users().business("mock-shop").page(2).per_page(1).send().await.unwrap();
    assert!(second.data.unwrap().users.is_empty());
}

/// Reads the spec: every operation with a `page` parameter is asked for page 99 with per_page=2. The
/// answer must be that page: empty, `current_page` 99, and `per_page` 2 where the spec gives the list
/// `per_page`, 15 where it gives `page` only.
#[tokio::test]
async fn every_paged_list_in_the_spec_honours_page_and_its_own_size_parameter() {
    let (mock, vandar) = started().await;
    let spec: Value = serde_yaml::from_str(include_str!("../spec/vandar.yaml")).unwrap();
    // What the path parameters name: a customer, a batch.
    let customer = vandar.api().customer_store().business("mock-shop").body(
        CustomerRequest::builder().type_("INDIVIDUAL").mobile("09123456789").individual_national_code("0013542419"),
    );
    let customer = customer.send().await.unwrap().result.unwrap().customer.unwrap().id.unwrap().to_string();
    let batch_id = "ab".repeat(64);
    let item: BatchSettlementItem = BatchSettlementItem::builder().track_id("b").iban(IBAN).amount(10_000).try_into().unwrap();
    vandar.batch().batch_settlement_store().business("mock-shop").body_map(|b| b.batch_id(batch_id.as_str()).batches_settlement(vec![item])).send().await.unwrap();
    let http = reqwest::Client::new();
    let api = mock.base_url(Host::Api);
    let c = mock.credentials();
    let miando: Value = http
        .post(format!("{api}/sso/oauth/token"))
        .json(&json!({"grant_type": "client_credentials", "client_id": c.miando_client_id, "client_secret": c.miando_client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let miando_token = miando["access_token"].as_str().unwrap().to_string();

    let mut checked = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        let prefix = match item["servers"][0]["url"].as_str() {
            Some("https://batch.vandar.io") => "/batch",
            Some("https://ipg.vandar.io") => "/ipg",
            Some("https://subscription.vandar.io") => "/subscription",
            _ => "",
        };
        for (method, operation) in item.as_object().unwrap().iter().filter(|(m, _)| ["get", "post"].contains(&m.as_str())) {
            let params: Vec<String> = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["$ref"].as_str().map(|r| r.rsplit('/').next().unwrap().to_string()).or_else(|| p["name"].as_str().map(String::from)))
                .collect();
            if !params.iter().any(|p| p == "page") {
                continue;
            }
            let id = operation["operationId"].as_str().unwrap();
            let concrete = path.replace("{business}", "mock-shop").replace("{customer}", &customer).replace("{batch_id}", &batch_id);
            let url = format!("{api}{prefix}{concrete}?page=99&per_page=2");
            let token = if path.starts_with("/miando") { &miando_token } else { &c.access_token };
            let request = if method == "post" { http.post(&url) } else { http.get(&url) };
            let answer = request.bearer_auth(token).send().await.unwrap();
            assert_eq!(answer.status(), 200, "{id}: {url}");
            let body: Value = answer.json().await.unwrap();
            let takes_per_page = params.iter().any(|p| p == "per_page");
            match find_page(&body) {
                Some(page) => {
                    assert_eq!(page["current_page"], 99, "{id}: {body}");
                    assert_eq!(page["data"].as_array().map(Vec::len).or_else(|| body["data"].as_array().map(Vec::len)), Some(0), "{id}: {body}");
                    assert_eq!(page["per_page"], if takes_per_page { 2 } else { 15 }, "{id}: {body}");
                }
                None => {
                    assert_eq!(id, "business_users", "only business_users pages without paging fields: {body}");
                    assert_eq!(body["data"]["users"], json!([]));
                }
            }
            checked.push(id.to_string());
        }
    }
    checked.sort();
    assert_eq!(
        checked,
        [
            "agreement_list", "authorization_list", "batch_list", "batch_show", "business_users", "customer_card_list", "customer_field_list",
            "customer_iban_list", "customer_list", "customer_logs", "customer_transactions", "miando_customer_list", "settlement_list", "withdrawal_list"
        ]
    );
}

/// The object carrying `current_page`: the answer's `meta`, or the flat paginator itself.
fn find_page(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(map) if map.contains_key("current_page") => Some(value),
        Value::Object(map) => map.values().find_map(find_page),
        _ => None,
    }
}
