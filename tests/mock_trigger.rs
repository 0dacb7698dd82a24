//! `vandar-mock trigger` and `vandar-mock listen`: a developer drives their own receiver by hand.
//! Every kind the trigger knows arrives at a receiver on 127.0.0.1 and is accepted by the crate's
//! own decoders (a Miando webhook verifies with the crate's verifier); `--set` reaches the wire; the
//! command's exit status follows the receiver's answer; `listen` forwards the mock's own deliveries
//! to exactly the URL given.
#![cfg(feature = "mock")]
mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use vandar::inbound::webhook::{self, EventData};
use vandar::inbound::{notify, Callback};
use vandar::mock::trigger::{self, Trigger};
use vandar::money::Rials;

fn headers(seen: &support::Seen) -> http::HeaderMap {
    seen.headers.clone()
}

#[tokio::test]
async fn every_kind_arrives_and_reads_with_the_crates_own_decoders() {
    let receiver = support::serve(|_| async { support::json(200, serde_json::json!({})) }).await;
    let kinds = trigger::kinds();
    assert_eq!(kinds.len(), webhook::EVENT_TYPES.len() + 3, "{kinds:?}");
    for kind in &kinds {
        let answered = Trigger::new(kind).unwrap().send(&format!("{}/hooks", receiver.url)).await.unwrap();
        assert_eq!(answered.status, 200, "{kind}");
        let seen = receiver.seen().pop().unwrap();
        assert_eq!(seen.path, "/hooks", "{kind}");
        match *kind {
            "settlement_notify" => {
                assert_eq!(seen.headers["content-type"], "application/x-www-form-urlencoded");
                let notified = notify::SettlementNotification::from_form(&seen.body).unwrap_or_else(|e| panic!("{kind}: {e}"));
                assert_eq!(notified.amount, Some(Rials(1_000_000)));
            }
            "withdrawal_notify" => {
                notify::WithdrawalNotification::from_json(&seen.body).unwrap_or_else(|e| panic!("{kind}: {e}"));
            }
            "ipg_callback" => {
                assert_eq!(seen.method, "GET");
                assert!(Callback::parse(&seen.query).unwrap().says_paid(), "{}", seen.query);
            }
            event => {
                let verified = webhook::verify(&headers(&seen), &seen.body, "mock-shop").unwrap_or_else(|e| panic!("{event}: {e}"));
                assert_eq!(verified.data.event_type(), event);
                assert!(!matches!(verified.data, EventData::Unknown { .. }), "{event} decodes to its own type: {verified:?}");
                assert!(webhook::verify(&headers(&seen), &seen.body, "another-shop").is_err(), "signed with the business slug");
            }
        }
    }
}

#[tokio::test]
async fn set_overrides_reach_the_wire_and_a_typo_names_the_closest_kind() {
    let receiver = support::serve(|_| async { support::json(200, serde_json::json!({})) }).await;
    let paid = Trigger::new("buyer_paid_agreement").unwrap().set("amount", "\"7000\"").set("tracking_code", "555").business("shop-two");
    paid.send(&receiver.url).await.unwrap();
    let seen = receiver.seen().pop().unwrap();
    let event = webhook::verify(&headers(&seen), &seen.body, "shop-two").unwrap();
    let EventData::BuyerPaidAgreement(data) = event.data else { panic!("{event:?}") };
    assert_eq!((data.amount, data.tracking_code.as_str()), (Rials(7000), "555"));
    let failed = Trigger::new("ipg_callback").unwrap().set_pair("payment_status=FAILED").unwrap();
    failed.send(&receiver.url).await.unwrap();
    assert!(!Callback::parse(&receiver.seen().pop().unwrap().query).unwrap().says_paid());

    let typo = Trigger::new("buyer_paid").unwrap_err();
    assert!(typo.contains("did you mean \"buyer_paid_agreement\""), "{typo}");
    assert!(Trigger::new("settlement_notify").unwrap().set_pair("no-equals-sign").is_err());
}

fn mock_binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vandar-mock"))
}

#[tokio::test]
async fn the_trigger_command_exits_by_the_receivers_answer() {
    let ok = support::serve(|_| async { support::json(200, serde_json::json!({"ok": true})) }).await;
    let failing = support::serve(|_| async { support::json(500, serde_json::json!({"error": "boom"})) }).await;
    let run = |url: String, extra: &'static [&'static str]| {
        tokio::task::spawn_blocking(move || {
            let mut command = mock_binary();
            command.args(["trigger", "seller_checked_out", "--forward-to", &url]).args(extra);
            command.output().unwrap()
        })
    };
    let sent = run(ok.url.clone(), &["--set", "amount=\"9000\""]).await.unwrap();
    let printed = String::from_utf8_lossy(&sent.stdout);
    assert_eq!(sent.status.code(), Some(0), "{printed}");
    assert!(printed.contains("X-Signature: ") && printed.contains("<- 200"), "{printed}");
    let seen = ok.seen().pop().unwrap();
    let event = webhook::verify(&headers(&seen), &seen.body, "mock-shop").unwrap();
    assert!(matches!(event.data, EventData::SellerCheckedOut(ref payout) if payout.amount == Rials(9000)), "{event:?}");

    let refused = run(failing.url.clone(), &[]).await.unwrap();
    assert_eq!(refused.status.code(), Some(1), "a 500 from the receiver fails the command");
    assert!(String::from_utf8_lossy(&refused.stdout).contains("<- 500"));

    let typo = tokio::task::spawn_blocking(|| mock_binary().args(["trigger", "seller_checkout", "--forward-to", "http://127.0.0.1:9"]).output().unwrap()).await.unwrap();
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("did you mean \"seller_checked_out\""));
    let listed = tokio::task::spawn_blocking(|| mock_binary().args(["trigger", "--list"]).output().unwrap()).await.unwrap();
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().collect::<Vec<_>>(), trigger::kinds());
}

#[tokio::test]
async fn listen_forwards_the_mocks_own_deliveries_to_the_url_given() {
    let receiver = support::serve(|_| async { support::json(200, serde_json::json!({})) }).await;
    let forward = format!("{}/my/receiver", receiver.url);
    let mut child = mock_binary().args(["listen", "--forward-to", &forward, "--port", "0"]).stdout(Stdio::piped()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address: vandar::mock::MockAddress = serde_json::from_str(&line).unwrap();
    let vandar = address.client_builder().build().unwrap();
    let api = vandar.api();
    // Registered for a public URL; listen sends it to the forwarding URL instead.
    api.webhook_create().body_map(|b| b.url("https://shop.example/somewhere/else").events(vec!["agreement_created".into()])).send().await.unwrap();
    for (mobile, code) in [("09123456789", "1271234564"), ("09023456789", "1167723058")] {
        api.miando_customer_create()
            .body_map(|b| b.first_name("رضا").last_name("رضایی").national_code(code).mobile(mobile).birth_date("13700502"))
            .send()
            .await
            .unwrap();
    }
    let agreement = vandar::api::types::AgreementCreateRequest::builder()
        .trace_id("t-1")
        .currency_code("IRR")
        .redirect_url("https://shop.example/escrow")
        .description("x")
        .creator("buyer")
        .parties(vec![
            vandar::api::types::AgreementPartyInput::builder().role("buyer").mobile("09123456789").iban("IR330120020000002353697200").try_into().unwrap(),
            vandar::api::types::AgreementPartyInput::builder().role("seller").mobile("09023456789").iban("IR640120020000002343697300").try_into().unwrap(),
        ])
        .items(vec![vandar::api::types::AgreementItemInput::builder()
            .title("x")
            .category("digital")
            .item_price(Rials(200_000))
            .price(Rials(200_000))
            .payer("buyer")
            .payment_method("full-pay")
            .quantity(1)
            .try_into()
            .unwrap()]);
    let created = api.agreement_create().body(agreement).send().await.unwrap();
    let arrived = async {
        while receiver.seen().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let waited = tokio::time::timeout(Duration::from_secs(10), arrived).await;
    let _ = child.kill();
    let _ = child.wait();
    let code = created.data.tracking_code;
    waited.expect("the delivery arrives at the forwarding URL within 10 s");
    let seen = receiver.seen().pop().unwrap();
    assert_eq!(seen.path, "/my/receiver");
    let event = webhook::verify(&headers(&seen), &seen.body, &address.credentials.business).unwrap();
    assert_eq!((event.data.event_type(), event.data.tracking_code()), ("agreement_created", Some(code.as_str())));
}
