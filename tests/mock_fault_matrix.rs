//! Every fault, aimed at a read and at a write of each money host: what the client sees, and whether
//! the mock acted (the table in docs/testing.md). A fault aimed at a payer's page is refused.
#![cfg(feature = "mock")]

use std::time::Duration;

use vandar::batch::types::BatchSettlementItem;
use vandar::mock::{Fault, MockVandar};
use vandar::money::{Rials, Tomans, VerifyOutcome};
use vandar::{Error, RetryPolicy};

const IBAN: &str = "IR330120020000002353697200";

fn faults() -> [(Fault, bool); 8] {
    // (the fault, whether the mock carries the request out)
    [
        (Fault::Latency(Duration::from_millis(50)), true),
        (Fault::Status(503), false),
        (Fault::HtmlErrorPage, false),
        (Fault::TruncatedBody, true),
        (Fault::DropConnection, false),
        (Fault::AnswerLost, true),
        (Fault::RateLimited, false),
        (Fault::UnknownEnumValue, true),
    ]
}

/// Whether `result` is what the client must see under `fault`.
fn seen_as(fault: &Fault, result: &Result<(), Error>) -> bool {
    match (fault, result) {
        (Fault::Latency(_) | Fault::UnknownEnumValue, Ok(())) => true,
        (Fault::Status(503), Err(Error::Api(api))) => api.status == 503,
        (Fault::HtmlErrorPage, Err(Error::Undecodable { status, .. })) => *status == Some(502),
        (Fault::TruncatedBody, Err(Error::Undecodable { .. })) => true,
        (Fault::DropConnection | Fault::AnswerLost, Err(Error::Transport { .. })) => true,
        (Fault::RateLimited, Err(Error::RateLimited { .. })) => true,
        _ => false,
    }
}

#[tokio::test]
async fn each_fault_on_a_read_and_on_each_hosts_write_does_what_the_table_says() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock
        .client_builder()
        .retry_policy(RetryPolicy::default().max_attempts(1).base_delay(Duration::from_millis(1)).max_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    for (n, (fault, carried_out)) in faults().into_iter().enumerate() {
        // A read.
        mock.inject_for("balance", fault.clone());
        let read = vandar.api().balance().business("mock-shop").send().await.map(drop);
        assert!(seen_as(&fault, &read), "balance under {fault:?}: {read:?}");

        // The api host's money move: carried out when the wallet paid for it.
        let before = mock.wallet_rials();
        mock.inject_for("settlement_store", fault.clone());
        let body = vandar::api::types::SettlementStoreRequest::builder().amount(Tomans(5_000)).iban(IBAN).track_id(format!("m-{n}"));
        let stored = vandar.api().settlement_store().business("mock-shop").body(body).send().await.map(drop);
        assert!(seen_as(&fault, &stored), "settlement_store under {fault:?}: {stored:?}");
        assert_eq!(mock.wallet_rials() < before, carried_out, "settlement_store under {fault:?}: carried out?");

        // The ipg host's verify: carried out when verify_payment then finds it already verified.
        let payment = vandar.start_payment(Rials(5_000), "https://shop.example/cb").await.unwrap();
        mock.pay(&payment.payment_page).unwrap();
        mock.inject_for("ipg_verify", fault.clone());
        let verified = vandar.ipg().ipg_verify().body_map(|b| b.token(payment.token.clone())).send().await.map(drop);
        assert!(seen_as(&fault, &verified), "ipg_verify under {fault:?}: {verified:?}");
        let after = vandar.verify_payment(&payment.token, Rials(5_000)).await.unwrap();
        assert_eq!(matches!(after, VerifyOutcome::AlreadyVerified(_)), carried_out, "ipg_verify under {fault:?}: {after:?}");

        // The batch host's money move.
        let before = mock.wallet_rials();
        mock.inject_for("batch_settlement_store", fault.clone());
        let item: BatchSettlementItem = BatchSettlementItem::builder().track_id(format!("b-{n}")).iban(IBAN).amount(10_000).try_into().unwrap();
        let batch_id = format!("{n:02}").repeat(64);
        let batch = vandar.batch().batch_settlement_store().business("mock-shop").body_map(|b| b.batch_id(batch_id.as_str()).batches_settlement(vec![item])).send().await.map(drop);
        assert!(seen_as(&fault, &batch), "batch_settlement_store under {fault:?}: {batch:?}");
        assert_eq!(mock.wallet_rials() < before, carried_out, "batch_settlement_store under {fault:?}: carried out?");
    }
    assert_eq!(mock.clear_faults(), 0, "every aimed fault was taken");
}

#[tokio::test]
async fn a_fault_aimed_at_a_payers_page_is_refused_with_why() {
    let mock = MockVandar::start().await.unwrap();
    let refused = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| mock.inject_for("ipg_redirect", Fault::Status(503)))).unwrap_err();
    let message = refused.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("the payer's page"), "{message}");
    let over_http = reqwest::Client::new()
        .post(format!("{}/faults", mock.address().control))
        .json(&serde_json::json!({"faults": [{"status": 503}], "operation": "ipg_redirect"}))
        .send()
        .await
        .unwrap();
    assert_eq!(over_http.status(), 400);
    assert!(over_http.text().await.unwrap().contains("the payer's page"));
}

/// Every operation of every host's spec, as (host, method, path with each parameter filled, operation id).
fn every_operation() -> Vec<(vandar::Host, String, String, String)> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut operations = Vec::new();
    for (host, file) in [(vandar::Host::Api, "api"), (vandar::Host::Ipg, "ipg"), (vandar::Host::Batch, "batch"), (vandar::Host::Subscription, "subscription")] {
        let text = std::fs::read_to_string(root.join(format!("spec/hosts/{file}.yaml"))).unwrap();
        let spec: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
        for (path, item) in spec["paths"].as_mapping().unwrap() {
            let path = path.as_str().unwrap();
            // Each `{parameter}` as a value any parameter's schema takes (an integer, a digit string).
            let filled: String = path.split('/').map(|s| if s.starts_with('{') { "1" } else { s }).collect::<Vec<_>>().join("/");
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(id) = item.get(method).and_then(|o| o["operationId"].as_str()) {
                    operations.push((host, method.to_uppercase(), filled.clone(), id.to_string()));
                }
            }
        }
    }
    operations
}

#[tokio::test]
async fn each_fault_aimed_at_each_operation_of_the_spec_is_carried_out_on_that_operation() {
    let mock = MockVandar::start().await.unwrap();
    mock.set_rate_limits(100_000, 100_000);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let operations = every_operation();
    assert!(operations.len() >= 119, "every operation of the four hosts: {}", operations.len());
    let mut aimed = 0;
    for (host, method, path, operation) in &operations {
        if operation.ends_with("_redirect") {
            continue; // the payer's pages: aiming at one is refused (below)
        }
        let url = format!("{}{path}", mock.base_url(*host));
        for (fault, _) in faults() {
            let logged = mock.answers().len();
            mock.inject_for(operation, fault.clone());
            let started = std::time::Instant::now();
            let request = http.request(method.parse().unwrap(), &url).header("authorization", "Bearer not-a-token");
            let request = if method == "GET" || method == "DELETE" { request } else { request.json(&serde_json::json!({})) };
            let sent = request.send().await;
            let answer = match sent {
                Ok(response) => {
                    let (status, headers) = (response.status().as_u16(), response.headers().clone());
                    Ok((status, headers, response.bytes().await))
                }
                Err(error) => Err(error),
            };
            let at = format!("{operation} ({method} {url}) under {fault:?}");
            let exchanges = mock.answers();
            assert_eq!(exchanges.len(), logged + 1, "{at}: one exchange logged");
            let exchange = exchanges.last().unwrap();
            assert_eq!(exchange.fault, Some(fault.name()), "{at}: the fault shaped this operation's answer: {exchange:?}");
            match (&fault, answer) {
                (Fault::Latency(delay), Ok((_, _, Ok(_)))) => assert!(started.elapsed() >= *delay, "{at}: answered late"),
                (Fault::Status(503), Ok((status, _, Ok(body)))) => {
                    assert_eq!(status, 503, "{at}");
                    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok(), "{at}: Vandar's JSON error shape");
                }
                (Fault::HtmlErrorPage, Ok((status, headers, Ok(body)))) => {
                    assert_eq!((status, headers["content-type"].to_str().unwrap()), (502, "text/html"), "{at}");
                    assert!(body.starts_with(b"<html>"), "{at}");
                }
                (Fault::TruncatedBody, Ok((_, _, Ok(body)))) => {
                    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_err(), "{at}: the body is cut: {body:?}")
                }
                (Fault::DropConnection | Fault::AnswerLost, Err(_) | Ok((_, _, Err(_)))) => {}
                (Fault::RateLimited, Ok((status, headers, Ok(_)))) => {
                    assert_eq!(status, 429, "{at}");
                    assert_eq!(headers["retry-after"], "1", "{at}");
                }
                (Fault::UnknownEnumValue, Ok((_, _, Ok(body)))) => {
                    assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok(), "{at}: still JSON")
                }
                (_, other) => panic!("{at}: {other:?}"),
            }
            aimed += 1;
        }
    }
    assert_eq!(mock.clear_faults(), 0, "every aimed fault was taken by its operation");
    assert_eq!(aimed, 8 * (operations.len() - 3), "every fault on every operation but the three payer pages");
}
