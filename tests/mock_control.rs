//! The mock's control API under `/__mock/`, driven with plain HTTP as a test in any language drives
//! it, against the embedded mock Vandar on 127.0.0.1; and the Rust knobs reaching the same state.
#![cfg(feature = "mock")]

mod support;

use vandar::money::{Rials, Tomans};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use vandar::api::types::SettlementStoreRequest;
use vandar::mock::MockVandar;
use vandar::Host;

const IBAN: &str = "IR330120020000002353697200";

/// A mock and plain HTTP pointed at it.
struct Harness {
    mock: MockVandar,
    http: reqwest::Client,
    api: String,
    /// The first token pair of this start (unique to it).
    access: String,
    refresh: String,
}

impl Harness {
    async fn start() -> Self {
        let mock = MockVandar::start().await.unwrap();
        let api = mock.base_url(Host::Api);
        let c = mock.credentials();
        Self { mock, http: reqwest::Client::new(), api, access: c.access_token, refresh: c.refresh_token }
    }

    async fn control(&self, method: &str, endpoint: &str, body: Option<&str>) -> (u16, Value) {
        let url = format!("{}/__mock/{endpoint}", self.api);
        let mut request = self.http.request(method.parse().unwrap(), url);
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let answer = request.send().await.unwrap();
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap())
    }

    async fn post(&self, endpoint: &str, body: Value) -> Value {
        let (status, answer) = self.control("POST", endpoint, Some(&body.to_string())).await;
        assert_eq!(status, 200, "{endpoint}: {answer}");
        answer
    }

    async fn get(&self, endpoint: &str) -> Value {
        let (status, answer) = self.control("GET", endpoint, None).await;
        assert_eq!(status, 200, "{endpoint}: {answer}");
        answer
    }

    async fn balance(&self, token: &str) -> reqwest::Response {
        self.http.get(format!("{}/v2/business/mock-shop/balance", self.api)).bearer_auth(token).send().await.unwrap()
    }
}

#[tokio::test]
async fn faults_posted_over_http_hit_the_next_answers_in_order_one_each() {
    let h = Harness::start().await;
    let faults = json!({"faults": [{"status": 503}, "html_error_page", "rate_limited", {"latency_ms": 300}, "truncated_body", "unknown_enum_value", "drop_connection", "answer_lost"]});
    assert_eq!(h.post("faults", faults).await, json!({"queued": 8}));

    let answer = h.balance(&h.access).await;
    assert_eq!(answer.status(), 503);
    assert_eq!(answer.json::<Value>().await.unwrap()["status"], 0, "Vandar's JSON error body");
    // Control requests in between take no fault.
    h.get("stats").await;
    let answer = h.balance(&h.access).await;
    assert_eq!((answer.status().as_u16(), answer.headers()["content-type"].to_str().unwrap()), (502, "text/html"));
    let answer = h.balance(&h.access).await;
    assert_eq!((answer.status().as_u16(), answer.headers()["retry-after"].to_str().unwrap()), (429, "1"));
    let started = Instant::now();
    assert_eq!(h.balance(&h.access).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300), "latency {:?}", started.elapsed());
    let cut = h.balance(&h.access).await;
    assert_eq!(cut.status(), 200);
    assert!(serde_json::from_slice::<Value>(&cut.bytes().await.unwrap()).is_err(), "the body is cut");
    // customer_store answers status "1", a string: it becomes a value the spec does not document.
    let customer = json!({"type": "INDIVIDUAL", "mobile": "09123456789", "individual_national_code": "0013542419"});
    let stored: Value = h.http.post(format!("{}/v2/business/mock-shop/customers", h.api)).bearer_auth(&h.access).json(&customer).send().await.unwrap().json().await.unwrap();
    assert_eq!(stored["status"], "UNDOCUMENTED_VALUE");
    let dropped = match h.http.get(format!("{}/v2/business/mock-shop/balance", h.api)).bearer_auth(&h.access).send().await {
        Err(_) => true,
        Ok(answer) => answer.bytes().await.is_err(),
    };
    assert!(dropped, "the connection drops");
    // answer_lost: the customer is stored, its answer never arrives.
    let second = json!({"type": "INDIVIDUAL", "mobile": "09123456788", "individual_national_code": "0013542419"});
    let lost = match h.http.post(format!("{}/v2/business/mock-shop/customers", h.api)).bearer_auth(&h.access).json(&second).send().await {
        Err(_) => true,
        Ok(answer) => answer.bytes().await.is_err(),
    };
    assert!(lost, "the answer is lost");
    assert_eq!(h.balance(&h.access).await.status(), 200, "no fault left");
    let listed: Value = h.http.get(format!("{}/v2/business/mock-shop/customers", h.api)).bearer_auth(&h.access).send().await.unwrap().json().await.unwrap();
    assert!(listed.to_string().contains("09123456788"), "carried out before the answer was lost: {listed}");
}

#[tokio::test]
async fn bad_control_input_gets_400_naming_the_field_and_changes_nothing() {
    let h = Harness::start().await;
    let cases = [
        ("faults", "", "the body is empty"),
        ("faults", "not json", "expected"),
        ("faults", r#"{"faults": ["nope"]}"#, "faults[0]: unknown variant `nope`"),
        ("faults", r#"{"faults": ["drop_connection", {"status": 1000}]}"#, "faults[1].status: 1000 is not an HTTP status"),
        ("faults", r#"{"faults": [{"latency_ms": "slow"}]}"#, "latency_ms"),
        ("faults", r#"{"fault": []}"#, "unknown field `fault`"),
        ("faults", r#"[{"status": 503}]"#, "invalid type"),
        ("rate-limits", r#"{"post": 5}"#, "missing field `other`"),
        ("rate-limits", r#"{"post": "5", "other": 1}"#, "post: invalid type: string"),
        ("rate-limits", r#"{"post": -1, "other": 1}"#, "post: invalid value"),
        ("token-lifetime", r#"{"secs": 5}"#, "unknown field `secs`"),
        ("payer-declines", r#"{"declines": "yes"}"#, "declines: invalid type"),
        ("webhook-route", r#"{"base_url": "ftp://127.0.0.1/x"}"#, "base_url: \"ftp://127.0.0.1/x\" is not an http(s) URL"),
        ("webhook-route", r#"{"base_url": 7}"#, "base_url: invalid type"),
        ("webhook-redelivery", r#"{"attempts": 0, "first_delay_ms": 10}"#, "attempts: 0 would never post"),
    ];
    for (endpoint, body, problem) in cases {
        let (status, answer) = h.control("POST", endpoint, Some(body)).await;
        assert_eq!(status, 400, "{endpoint} {body}: {answer}");
        let message = answer["error"].as_str().unwrap();
        assert!(message.contains(problem), "{endpoint} {body}: {message:?} does not name {problem:?}");
    }
    // Nothing was queued or set: a request is answered normally, within Vandar's limits.
    assert_eq!(h.balance(&h.access).await.status(), 200);
    assert_eq!(h.post("faults", json!({"faults": []})).await, json!({"queued": 0}));

    let (status, answer) = h.control("GET", "faults", None).await;
    assert_eq!(status, 405, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("GET is not allowed on /__mock/faults"));
    let (status, answer) = h.control("POST", "nothing-here", Some("{}")).await;
    assert_eq!(status, 404, "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("/__mock/nothing-here"));
}

#[tokio::test]
async fn control_requests_are_not_counted_limited_faulted_or_logged() {
    let h = Harness::start().await;
    h.post("rate-limits", json!({"post": 1, "other": 1})).await;
    h.post("faults", json!({"faults": [{"status": 503}]})).await;
    for _ in 0..20 {
        h.get("stats").await;
        h.get("requests").await;
    }
    let stats = h.get("stats").await;
    assert_eq!(stats, json!({"accepted_post": 0, "accepted_other": 0, "rate_limited": 0, "refreshes": 0, "refused_refreshes": 0}));
    assert_eq!(h.balance(&h.access).await.status(), 503, "the fault still waits for a Vandar request");
    assert_eq!(h.balance(&h.access).await.status(), 429, "the budget of one GET is spent");
    let requests = h.get("requests").await;
    assert_eq!(requests["requests"].as_array().unwrap().len(), 2, "{requests}");
}

#[tokio::test]
async fn the_request_log_lists_what_was_received_oldest_first_and_is_cleared() {
    let h = Harness::start().await;
    let vandar = h.mock.client_builder().build().unwrap();
    vandar.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/back")).send().await.unwrap();
    vandar.api().settlement_list().business("mock-shop").page(2).send().await.unwrap();
    let log = h.get("requests").await;
    let requests = log["requests"].as_array().unwrap();
    assert_eq!(requests.len(), 2, "{log}");
    assert_eq!((&requests[0]["method"], &requests[0]["path"], &requests[0]["query"]), (&json!("POST"), &json!("/ipg/api/v4/send"), &json!("")));
    assert_eq!(requests[0]["body"]["amount"], 10_000);
    assert_eq!(requests[0]["body"]["api_key"], "mock-ipg-key", "the mock's own log holds the secrets clients sent");
    assert_eq!((&requests[1]["method"], &requests[1]["path"], &requests[1]["query"]), (&json!("GET"), &json!("/v2.1/business/mock-shop/settlement"), &json!("page=2")));
    assert_eq!(requests[1]["body"], Value::Null);
    // The Rust knob reads the same log.
    assert_eq!(serde_json::to_value(h.mock.requests()).unwrap(), log["requests"]);

    let (status, cleared) = h.control("DELETE", "requests", None).await;
    assert_eq!((status, cleared), (200, json!({"cleared": 2})));
    assert_eq!(h.get("requests").await, json!({"requests": []}));
    assert!(h.mock.requests().is_empty());
}

#[tokio::test]
async fn reset_gives_a_fresh_state_with_the_same_credentials() {
    let h = Harness::start().await;
    let vandar = h.mock.client_builder().build().unwrap();
    vandar.settlement_store(SettlementStoreRequest::builder().amount(Tomans(120_000)).iban(IBAN)).await.unwrap();
    h.mock.expire_access_token();
    vandar.api().balance().business("mock-shop").send().await.unwrap(); // refreshed: the first pair is spent
    h.post("rate-limits", json!({"post": 0, "other": 0})).await;
    h.post("faults", json!({"faults": ["drop_connection"]})).await;
    h.post("payer-declines", json!({"declines": true})).await;
    assert_ne!(h.mock.wallet_rials(), 50_000_000);

    assert_eq!(h.post("reset", json!({})).await, json!({"reset": true}));
    assert_eq!(h.mock.wallet_rials(), 50_000_000);
    assert_eq!(h.get("stats").await["refreshes"], 0);
    assert_eq!(h.get("requests").await, json!({"requests": []}));
    // The printed credentials work again: the first access token, and the first refresh token once.
    assert_eq!(h.balance(&h.access).await.status(), 200, "no fault, default limits");
    let fresh = h.mock.client_builder().build().unwrap();
    let list = fresh.api().settlement_list().business("mock-shop").send().await.unwrap();
    assert!(list.data.settlements.data.is_empty());
    let pair = fresh.api().token_refresh().body_map(|b| b.refreshtoken(h.refresh.clone())).send().await.unwrap();
    assert_eq!(pair.access_token, format!("{}-2", h.access.strip_suffix("-1").unwrap()));
    let sent = fresh.ipg().ipg_send().body_map(|b| b.amount(Rials(10_000)).callback_url("https://shop.example/back")).send().await.unwrap();
    let page = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let paid = page.get(format!("{}/v4/{}", h.mock.base_url(Host::Ipg), sent.token)).send().await.unwrap();
    assert!(paid.headers()["location"].to_str().unwrap().contains("payment_status=OK"), "the payer pays again");
}

#[tokio::test]
async fn an_access_token_expired_over_http_gets_401_until_the_client_refreshes() {
    let h = Harness::start().await;
    assert_eq!(h.post("expire-access-token", json!({})).await, json!({"expired": true}));
    assert_eq!(h.balance(&h.access).await.status(), 401);
    let vandar = h.mock.client_builder().build().unwrap();
    vandar.api().balance().business("mock-shop").send().await.unwrap();
    assert_eq!(h.get("stats").await["refreshes"], 1);
}

#[tokio::test]
async fn rate_limits_set_over_http_answer_429_past_the_budget() {
    let h = Harness::start().await;
    assert_eq!(h.post("rate-limits", json!({"post": 1, "other": 2})).await, json!({"post": 1, "other": 2}));
    let statuses = [h.balance(&h.access).await.status(), h.balance(&h.access).await.status(), h.balance(&h.access).await.status()];
    assert_eq!(statuses.map(|s| s.as_u16()), [200, 200, 429]);
    let stats = h.get("stats").await;
    assert_eq!((&stats["accepted_other"], &stats["rate_limited"]), (&json!(2), &json!(1)));
    assert_eq!(serde_json::to_value(h.mock.stats()).unwrap(), stats, "the Rust counters are the same");
}

#[tokio::test]
async fn token_lifetime_set_over_http_expires_tokens_and_is_given_as_expires_in() {
    let h = Harness::start().await;
    assert_eq!(h.post("token-lifetime", json!({"seconds": 0})).await, json!({"seconds": 0}));
    assert_eq!(h.balance(&h.access).await.status(), 401, "a token that lives 0 s is expired");
    h.post("token-lifetime", json!({"seconds": 60})).await;
    assert_eq!(h.balance(&h.access).await.status(), 200, "counted from now for the current token");
    let pair: Value = h.http.post(format!("{}/v3/refreshtoken", h.api)).json(&json!({"refreshtoken": h.refresh})).send().await.unwrap().json().await.unwrap();
    assert_eq!(pair["expires_in"], 60);
}

#[tokio::test]
async fn a_payer_who_declines_is_set_over_http() {
    let h = Harness::start().await;
    let ipg = h.mock.base_url(Host::Ipg);
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let pay = || async {
        let sent: Value = h
            .http
            .post(format!("{ipg}/api/v4/send"))
            .json(&json!({"api_key": "mock-ipg-key", "amount": 10_000, "callback_url": "https://shop.example/back"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = browser.get(format!("{ipg}/v4/{}", sent["token"].as_str().unwrap())).send().await.unwrap();
        page.headers()["location"].to_str().unwrap().to_string()
    };
    assert_eq!(h.post("payer-declines", json!({"declines": true})).await, json!({"declines": true}));
    assert!(pay().await.contains("payment_status=FAILED"));
    h.post("payer-declines", json!({"declines": false})).await;
    assert!(pay().await.contains("payment_status=OK"));
}

#[tokio::test]
async fn miando_webhooks_are_delivered_where_the_control_api_routes_them_until_a_2xx() {
    let h = Harness::start().await;
    // The receiver fails the first two deliveries (a 500, then a 503): the mock delivers again.
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let receiver = support::serve(move |_| {
        let n = answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move { support::json([500, 503].get(n).copied().unwrap_or(200), json!({})) }
    })
    .await;
    assert_eq!(h.post("webhook-route", json!({"base_url": receiver.url})).await["base_url"], receiver.url);
    assert_eq!(h.post("webhook-redelivery", json!({"attempts": 5, "first_delay_ms": 20})).await, json!({"attempts": 5, "first_delay_ms": 20}));

    // A Miando client in any language: token, two customers, a webhook for https://shop.example, an agreement.
    let c = h.mock.credentials();
    let token: Value = h
        .http
        .post(format!("{}/sso/oauth/token", h.api))
        .json(&json!({"grant_type": "client_credentials", "client_id": c.miando_client_id, "client_secret": c.miando_client_secret}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["access_token"].as_str().unwrap().to_string();
    let miando = |path: &str, body: Value| h.http.post(format!("{}/miando/api/v1/{path}", h.api)).bearer_auth(&token).json(&body).send();
    for (mobile, code) in [("09123456789", "1271234564"), ("09023456789", "1167723058")] {
        let created = miando("customers", json!({"first_name": "رضا", "last_name": "رضایی", "national_code": code, "mobile": mobile, "birth_date": "13700502"})).await.unwrap();
        assert_eq!(created.status(), 201);
    }
    let hook = miando("webhooks", json!({"url": "https://shop.example/hooks/miando", "events": ["agreement_created"]})).await.unwrap();
    assert_eq!(hook.status(), 201);
    let agreement = json!({
        "trace_id": "89fa2150-c976-44ed-87d1-2037abf51821", "currency_code": "IRR", "redirect_url": "https://shop.example/escrow",
        "description": "ps5", "creator": "buyer",
        "parties": [{"role": "buyer", "mobile": "09123456789", "iban": IBAN}, {"role": "seller", "mobile": "09023456789", "iban": "IR640120020000002343697300"}],
        "items": [{"title": "ps5", "category": "digital", "item_price": "200000", "price": "200000", "payer": "buyer", "payment_method": "full-pay", "quantity": 1}]
    });
    let created = miando("agreements", agreement).await.unwrap();
    assert_eq!(created.status(), 201);

    for _ in 0..100 {
        if receiver.seen().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // 20 ms and 40 ms later; after the 2xx, nothing more (the next one would have come 80 ms later).
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = receiver.seen();
    assert_eq!(seen.len(), 3, "two failed deliveries and the one answered 2xx, then no more");
    assert!(seen.iter().all(|s| s.body == seen[0].body && s.headers.get(vandar::inbound::webhook::SIGNATURE_HEADER) == seen[0].headers.get(vandar::inbound::webhook::SIGNATURE_HEADER)), "the same event each time");
    assert_eq!(seen[0].path, "/hooks/miando", "the registered URL's path on the routed base");
    let mut headers = http::HeaderMap::new();
    for (name, value) in &seen[0].headers {
        headers.insert(name.clone(), value.clone());
    }
    let event = vandar::inbound::webhook::verify(&headers, &seen[0].body, "mock-shop").unwrap();
    assert_eq!(event.event_type(), "agreement_created");

    // The delivery log has each attempt's answer; a resend posts the same event once more.
    let log = h.get("deliveries").await;
    let deliveries = log["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 1, "{log}");
    let statuses: Vec<&Value> = deliveries[0]["attempts"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
    assert_eq!(statuses, [&json!(500), &json!(503), &json!(200)]);
    assert_eq!((&deliveries[0]["kind"], &deliveries[0]["url"]), (&json!("webhook"), &json!(format!("{}/hooks/miando", receiver.url))));
    let id = deliveries[0]["id"].as_u64().unwrap();
    let resent = h.post(&format!("deliveries/{id}/resend"), json!({})).await;
    assert_eq!(resent["delivery"]["attempts"][3], json!({"status": 200, "error": null, "resent": true}), "{resent}");
    let seen = receiver.seen();
    assert_eq!(seen.len(), 4);
    assert_eq!((&seen[3].body, seen[3].headers.get(vandar::inbound::webhook::SIGNATURE_HEADER)), (&seen[0].body, seen[0].headers.get(vandar::inbound::webhook::SIGNATURE_HEADER)), "the same event, signed the same");
    let (status, unknown) = h.control("POST", "deliveries/99/resend", Some("{}")).await;
    assert_eq!(status, 404, "{unknown}");
    assert!(unknown["error"].as_str().unwrap().contains("no delivery 99"), "{unknown}");
    assert_eq!(h.mock.deliveries().len(), 1, "the Rust handle reads the same log");
    assert_eq!(h.mock.deliveries()[0].attempts.len(), 4);
    assert!(h.mock.deliveries()[0].delivered());
}

#[tokio::test]
async fn the_answer_log_holds_each_answer_with_its_fault_and_outlives_reset() {
    let h = Harness::start().await;
    h.post("faults", json!({"faults": ["html_error_page", {"status": 503}]})).await;
    assert_eq!(h.balance(&h.access).await.status(), 502);
    assert_eq!(h.balance(&h.access).await.status(), 503);
    h.post("reset", json!({})).await;
    let ok = h.balance(&h.access).await;
    assert_eq!(ok.status(), 200);
    let sent: Value = ok.json().await.unwrap();
    let answers = h.get("answers").await["answers"].as_array().unwrap().clone();
    assert_eq!(answers.len(), 3, "{answers:?}");
    assert_eq!((answers[0]["status"].as_u64(), answers[0]["content_type"].as_str(), answers[0]["fault"].as_str()), (Some(502), Some("text/html"), Some("html_error_page")));
    assert!(answers[0]["answer"].as_str().unwrap().starts_with("<html>"));
    assert_eq!((answers[1]["status"].as_u64(), answers[1]["fault"].as_str()), (Some(503), Some("status")));
    assert_eq!(answers[1]["answer"]["status"], 0);
    assert_eq!((answers[2]["method"].as_str(), answers[2]["path"].as_str()), (Some("GET"), Some("/v2/business/mock-shop/balance")));
    assert!(answers[2]["fault"].is_null() && answers[2]["answer"] == sent, "the log holds what was sent: {}", answers[2]);
    assert_eq!(h.mock.answers().len(), 3);
    assert_eq!(h.control("DELETE", "answers", None).await, (200, json!({"cleared": 3})));
    assert!(h.mock.answers().is_empty());
}

#[tokio::test]
async fn each_start_issues_tokens_of_its_own_so_an_old_stored_pair_never_passes() {
    let (old, new) = (Harness::start().await, Harness::start().await);
    let (old_c, new_c) = (old.mock.credentials(), new.mock.credentials());
    assert_ne!(old_c.start_id(), new_c.start_id());
    assert_eq!(new_c.access_token, format!("mock-access-{}-1", new_c.start_id()));
    assert_eq!(new.balance(&old_c.access_token).await.status(), 401, "a pair kept from an earlier run is refused");
    // Refreshes stay in the start's lineage, and the credentials keep naming the first pair.
    let pair: Value = new.http.post(format!("{}/v3/refreshtoken", new.api)).json(&json!({"refreshtoken": new.refresh})).send().await.unwrap().json().await.unwrap();
    assert_eq!(pair["access_token"], format!("mock-access-{}-2", new_c.start_id()));
    assert_eq!(new.mock.credentials().access_token, new_c.access_token);
}
