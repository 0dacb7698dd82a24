//! Miando escrow end to end against the embedded mock Vandar: token, customers, the agreement
//! life cycle with invalid-state errors, tickets, webhooks registered and delivered signed.
#![cfg(feature = "mock")]

mod support;

use vandar::money::Rials;
use std::time::Duration;

use vandar::api::types::{AgreementCreateRequest, AgreementItemInput, AgreementPartyInput};
use vandar::mock::MockVandar;
use vandar::inbound::webhook::EventData;
use vandar::Error;

const BUYER: &str = "09123456789";
const SELLER: &str = "09023456789";

async fn with_customers() -> (MockVandar, vandar::Client) {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    for (mobile, code) in [(BUYER, "1271234564"), (SELLER, "1167723058")] {
        vandar
            .api()
            .miando_customer_create()
            .body_map(|b| b.first_name("رضا").last_name("رضایی").national_code(code).mobile(mobile).birth_date("13700502"))
            .send()
            .await
            .unwrap();
    }
    (mock, vandar)
}

fn agreement() -> vandar::api::types::builder::AgreementCreateRequest {
    AgreementCreateRequest::builder()
        .trace_id("89fa2150-c976-44ed-87d1-2037abf51821")
        .currency_code("IRR")
        .redirect_url("https://shop.example/escrow")
        .description("موبایل y8s")
        .creator("buyer")
        .parties(vec![
            AgreementPartyInput::builder().role("buyer").mobile(BUYER).iban("IR330120020000002353697200").try_into().unwrap(),
            AgreementPartyInput::builder().role("seller").mobile(SELLER).iban("IR640120020000002343697300").try_into().unwrap(),
        ])
        .items(vec![AgreementItemInput::builder()
            .title("موبایل y8s")
            .category("digital")
            .item_price(Rials(200_000))
            .price(Rials(200_000))
            .payer("buyer")
            .payment_method("full-pay")
            .quantity(1)
            .try_into()
            .unwrap()])
}

#[tokio::test]
async fn the_token_call_issues_a_bearer_token_for_client_credentials() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let c = mock.credentials();
    let token = vandar
        .api()
        .miando_token()
        .body_map(|b| b.grant_type("client_credentials").client_id(c.miando_client_id).client_secret(c.miando_client_secret.clone()))
        .send_with_headers()
        .await
        .unwrap();
    assert_eq!((token.status().as_u16(), token.expires_in), (201, 31_536_000));
    let wrong = vandar.api().miando_token().body_map(|b| b.grant_type("client_credentials").client_id(1).client_secret("nope")).send().await.unwrap_err();
    assert!(matches!(wrong, Error::Authentication { .. }), "{wrong:?}");
}

#[tokio::test]
async fn customers_are_registered_listed_and_shown() {
    let (_mock, vandar) = with_customers().await;
    let list = vandar.api().miando_customer_list().send().await.unwrap();
    assert_eq!(list.data.len(), 2);
    let uid = list.data[0].uid.unwrap();
    let shown = vandar.api().miando_customer_show().customer_uid(uid).send().await.unwrap();
    assert_eq!(shown.data.unwrap().mobile.as_deref(), Some(BUYER));
    let missing = vandar.api().miando_customer_show().customer_uid(1).send().await.unwrap_err();
    assert_eq!(missing.code(), Some(&vandar::ErrorCode::UserNotFound));
    let invalid = vandar.api().miando_customer_create().body_map(|b| b.first_name("x").last_name("y").national_code("1271234564").mobile(BUYER)).send().await.unwrap_err();
    assert!(matches!(invalid, Error::InvalidInput { .. }), "birth_date missing: refused before sending");
}

#[tokio::test]
async fn an_agreement_goes_from_draft_to_finalized_and_every_event_arrives_signed() {
    let (mock, vandar) = with_customers().await;
    let api = vandar.api();
    let received = support::serve(|_| async { support::json(200, serde_json::json!({})) }).await;
    mock.route_webhooks_to(&received.url);
    let hook = api.webhook_create().body_map(|b| b.url("https://shop.example/miando/webhook").events(vec!["agreement".into(), "payment".into()])).send_with_headers().await.unwrap();
    assert_eq!(hook.status().as_u16(), 201);

    let created = api.agreement_create().body(agreement()).send().await.unwrap().data;
    assert_eq!(created.state.as_str(), "draft");
    let code = created.tracking_code.clone();

    // The buyer cannot finalize a draft; the seller agrees and gets the payment link.
    let early = api.agreement_finalize().tracking_code(&code).body_map(|b| b.buyer_mobile(BUYER)).send().await.unwrap_err();
    assert_eq!(early.code(), Some(&vandar::ErrorCode::InvalidStateAgreement));
    let agreed = api.agreement_action().tracking_code(&code).body_map(|b| b.action("agree").applicant_mobile(SELLER)).send().await.unwrap();
    let link = agreed.data.unwrap().web_view_link.unwrap();
    let again = api.agreement_action().tracking_code(&code).body_map(|b| b.action("agree").applicant_mobile(SELLER)).send().await.unwrap_err();
    assert_eq!(again.code(), Some(&vandar::ErrorCode::InvalidStateAgreement));

    // The buyer pays on the web view (the mock's payment page), then finalizes.
    assert!(link.starts_with(&mock.base_url(vandar::Host::Api)), "{link}");
    let pay = link;
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    assert_eq!(browser.get(pay).send().await.unwrap().status(), 302);
    let done = api.agreement_finalize().tracking_code(&code).body_map(|b| b.buyer_mobile(BUYER)).send().await.unwrap();
    assert_eq!(done.data.as_ref().and_then(|d| d.is_finalized), Some(true));
    let shown = api.agreement_show().tracking_code(&code).send().await.unwrap().data;
    assert_eq!(shown.state.as_str(), "finalize");
    assert_eq!(shown.amount, Some(Rials(200_000)));

    // Deliveries: every one verifies with the business slug and decodes to its event.
    let mut events = Vec::new();
    for _ in 0..50 {
        events = received
            .seen()
            .iter()
            .map(|seen| {
                let mut headers = http::HeaderMap::new();
                for (name, value) in &seen.headers {
                    headers.insert(name.clone(), value.clone());
                }
                assert_eq!(seen.path, "/miando/webhook");
                vandar::inbound::webhook::verify(&headers, &seen.body, "mock-shop").unwrap()
            })
            .collect::<Vec<_>>();
        if events.len() >= 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut kinds: Vec<&str> = events.iter().map(|e| e.event_type()).collect();
    kinds.sort();
    assert_eq!(kinds, ["agreement_created", "agreement_finalized", "buyer_paid_agreement", "seller_agreed_agreement", "seller_checked_out"]);
    assert!(events.iter().all(|e| e.tracking_code() == Some(code.as_str())));
    let paid = events.iter().find_map(|e| match &e.data {
        EventData::BuyerPaidAgreement(paid) => Some(paid),
        _ => None,
    });
    assert_eq!(paid.map(|p| p.amount), Some(Rials(200_000)));
    // A wrong slug never verifies.
    let seen = &received.seen()[0];
    let mut headers = http::HeaderMap::new();
    headers.insert("x-signature", seen.headers["x-signature"].clone());
    assert_eq!(vandar::inbound::webhook::verify(&headers, &seen.body, "another-shop").unwrap_err(), vandar::inbound::webhook::WebhookError::BadSignature);
}

#[tokio::test]
async fn an_agreement_is_dated_by_the_mocks_clock_and_so_is_its_webhook() {
    let (mock, vandar) = with_customers().await;
    let received = support::serve(|_| async { support::json(200, serde_json::json!({})) }).await;
    mock.route_webhooks_to(&received.url);
    vandar.api().webhook_create().body_map(|b| b.url("https://shop.example/miando/webhook").events(vec!["agreement".into()])).send().await.unwrap();
    let unix = |t: std::time::SystemTime| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;

    let first = vandar.api().agreement_create().body(agreement()).send().await.unwrap().data;
    let first_at = first.created_at.expect("created_at").timestamp();
    assert!((first_at - unix(mock.now())).abs() <= 5, "created now by the mock's clock: {first_at} vs {}", unix(mock.now()));
    mock.advance(Duration::from_secs(3 * 86_400));
    let second = vandar.api().agreement_create().body(agreement().trace_id("5b0f7d7e-1111-4c2b-9d7e-0a1b2c3d4e5f")).send().await.unwrap().data;
    let second_at = second.created_at.expect("created_at").timestamp();
    assert!((second_at - first_at - 3 * 86_400).abs() <= 5, "three days later on the clock: {first_at} then {second_at}");

    // The agreement_created webhook carries the same moment, on Tehran's wall clock ("YYYY-MM-DD HH:MM:SS").
    let tehran = |at: i64| chrono::DateTime::from_timestamp(at + 12_600, 0).unwrap().naive_utc();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let dates: Vec<chrono::NaiveDateTime> = loop {
        let dates: Vec<_> = received
            .seen()
            .iter()
            .map(support::Seen::json)
            .filter(|event| event["type"] == "agreement_created")
            .filter_map(|event| chrono::NaiveDateTime::parse_from_str(event["data"]["created_at"].as_str()?, "%Y-%m-%d %H:%M:%S").ok())
            .collect();
        if dates.len() == 2 || std::time::Instant::now() > deadline {
            break dates;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(dates.len(), 2, "two agreement_created events with a date");
    for (date, at) in dates.iter().zip([first_at, second_at]) {
        assert!((date.and_utc().timestamp() - tehran(at).and_utc().timestamp()).abs() <= 5, "{date} is {at} in Tehran");
    }
}

#[tokio::test]
async fn a_ticket_opens_an_investigation_and_the_seller_cancels() {
    let (_mock, vandar) = with_customers().await;
    let api = vandar.api();
    let code = api.agreement_create().body(agreement()).send().await.unwrap().data.tracking_code;
    api.agreement_action().tracking_code(&code).body_map(|b| b.action("agree").applicant_mobile(SELLER)).send().await.unwrap();
    let ticket = api
        .ticket_create()
        .body_map(|b| {
            b.agreement_tracking_code(code.clone())
                .reporter_mobile(SELLER)
                .ticket_type_slug("dont_access_to_buyer")
                .redirect_url("https://shop.example/ticket")
                .description("خریدار پاسخ نمی دهد")
        })
        .send()
        .await
        .unwrap();
    assert!(ticket.data.unwrap().ticket_uid.is_some());
    let listed = api.agreement_list().send().await.unwrap();
    assert_eq!(listed.data[0].state.as_str(), "investigation");

    let buyer_refused = api.agreement_cancel().tracking_code(&code).body_map(|b| b.applicant_mobile(BUYER)).send().await.unwrap_err();
    assert_eq!(buyer_refused.code(), Some(&vandar::ErrorCode::InvalidStateAgreement));
    let canceled = api.agreement_cancel().tracking_code(&code).body_map(|b| b.applicant_mobile(SELLER)).send().await.unwrap();
    assert_eq!(canceled.data.as_ref().and_then(|d| d.is_canceled), Some(true));
    let shown = api.agreement_show().tracking_code(&code).send().await.unwrap().data;
    assert_eq!(shown.state, vandar::enums::AgreementState::Unknown("cancelled".into()), "an undocumented state decodes");
}

/// The documents name no state for a rejected agreement: the mock ends it as `cancelled` with the party
/// `rejected`, the values spec/vandar.yaml lists in `x-vandar-mock-values`; and nothing more can happen to it.
#[tokio::test]
async fn a_rejected_agreement_reads_cancelled_with_the_party_rejected_as_the_spec_says() {
    let (_mock, vandar) = with_customers().await;
    let api = vandar.api();
    let code = api.agreement_create().body(agreement()).send().await.unwrap().data.tracking_code;
    api.agreement_action().tracking_code(&code).body_map(|b| b.action("reject").applicant_mobile(SELLER)).send().await.unwrap();
    let shown = api.agreement_show().tracking_code(&code).send().await.unwrap().data;
    assert_eq!(shown.state, vandar::enums::AgreementState::Unknown("cancelled".into()));
    let seller = shown.parties.iter().find(|p| p.role.as_ref().map(|r| r.to_string()).as_deref() == Some("seller")).unwrap();
    assert_eq!(seller.state.as_ref().map(|s| s.to_string()).as_deref(), Some("rejected"));
    let spec: serde_yaml::Value = serde_yaml::from_str(include_str!("../spec/vandar.yaml")).unwrap();
    let mock_values = |schema: &str| spec["components"]["schemas"][schema]["x-vandar-mock-values"].as_sequence().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect::<Vec<_>>();
    assert!(mock_values("AgreementState").contains(&"cancelled".to_string()) && mock_values("PartyState").contains(&"rejected".to_string()));
    let late = api.agreement_action().tracking_code(&code).body_map(|b| b.action("agree").applicant_mobile(SELLER)).send().await.unwrap_err();
    assert_eq!(late.code(), Some(&vandar::ErrorCode::InvalidStateAgreement));
    let cancel = api.agreement_cancel().tracking_code(&code).body_map(|b| b.applicant_mobile(BUYER)).send().await.unwrap_err();
    assert_eq!(cancel.code(), Some(&vandar::ErrorCode::InvalidStateAgreement));
}

#[tokio::test]
async fn webhooks_are_updated_shown_listed_and_deleted() {
    let mock = MockVandar::start().await.unwrap();
    let vandar = mock.client_builder().build().unwrap();
    let api = vandar.api();
    let created = api.webhook_create().body_map(|b| b.url("https://shop.example/hook").events(vec!["agreement_created".into()])).send().await.unwrap();
    let id = created.data.unwrap().id.unwrap();
    let updated = api
        .webhook_update()
        .webhook_id(id)
        .body_map(|b| b.url("https://shop.example/hook2").is_active(false).events(vec!["ticket".into()]))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.is_active, Some(false));
    let shown = api.webhook_show().webhook_id(id).send().await.unwrap().data.unwrap();
    assert_eq!(shown.url.as_deref(), Some("https://shop.example/hook2"));
    assert_eq!(api.webhook_list().send().await.unwrap().data.len(), 1);
    api.webhook_delete().webhook_id(id).send().await.unwrap();
    let gone = api.webhook_delete().webhook_id(id).send().await.unwrap_err();
    assert_eq!((gone.status(), gone.code()), (Some(404), Some(&vandar::ErrorCode::NotFoundError)));
    let http_url = api.webhook_create().body_map(|b| b.url("http://shop.example/hook").events(vec!["agreement".into()])).send().await.unwrap_err();
    assert!(matches!(http_url, Error::InvalidInput { .. }), "webhook URLs must be https");
}
