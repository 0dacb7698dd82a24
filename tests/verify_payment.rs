//! `Client::verify_payment`'s decision table, row by row, against a small scripted IPG on
//! 127.0.0.1: what reached the server (how many verifies) and what the caller got.
mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use support::{client_for, json, raw, serve, Seen, Server};
use vandar::money::Rials;
use vandar::money::VerifyOutcome;
use vandar::Error;

/// The documents' own example of a paid payment that is NOT yet verified.
fn awaiting_verify() -> serde_json::Value {
    json!({"status": 1, "amount": "1000", "wage": "500", "shaparakWage": "1200", "transId": 155058785697i64,
           "refnumber": "GmshtyjwKSuZXT81", "trackingCode": "236", "factorNumber": null, "mobile": null,
           "description": "description", "cardNumber": "603799******6299", "CID": "ECC1F693",
           "createdAt": "2019-02-19 18:19:55", "paymentDate": "2019-02-19 18:21:50", "code": 1, "message": "Confirm requierd"})
}

fn verified_answer(amount: &str) -> axum::response::Response {
    json(200, json!({"status": 1, "amount": amount, "realAmount": 500, "wage": "500", "transId": 159178352177i64,
                     "paymentDate": "2020-06-10 14:36:30", "message": "ok"}))
}

/// Each token scripts one row; `verifies` counts verify calls per server.
async fn ipg(verifies: Arc<AtomicUsize>) -> Server {
    serve(move |seen: Seen| {
        let verifies = verifies.clone();
        async move {
            let token = seen.json()["token"].as_str().unwrap_or_default().to_string();
            if seen.path == "/api/v4/verify" {
                let n = verifies.fetch_add(1, Ordering::SeqCst);
                return match token.as_str() {
                    "fresh" => verified_answer("1000.00"),
                    "cheap" => verified_answer("500.00"),
                    "proxy503" if n == 0 => raw(503, "text/html", "<html><title>503 Service Unavailable</title></html>"),
                    "proxy503" => verified_answer("1000.00"),
                    "stuck" | "dark" => raw(503, "text/html", "<html><title>503</title></html>"),
                    "lost" => {
                        tokio::time::sleep(Duration::from_millis(400)).await; // the client gave up at 150 ms
                        verified_answer("1000.00")
                    }
                    _ => json(422, json!({"status": 0, "errors": ["تراکنش قبلا تایید شده است"]})),
                };
            }
            match token.as_str() {
                "dark" => raw(503, "text/html", "<html><title>503</title></html>"),
                "already" => json(200, json!({"status": 1, "amount": "1000", "transId": 155058785697i64, "code": 2, "message": "verified"})),
                "unpaid" => json(200, json!({"status": 0, "amount": "1000", "code": 0, "message": "failed"})),
                "odd" => json(200, json!({"status": 1, "amount": "1000", "code": 7, "message": "?"})),
                "unknown" => json(422, json!({"status": 0, "errors": ["token is invalid"]})),
                _ => json(200, awaiting_verify()),
            }
        }
    })
    .await
}

async fn row(token: &str, expected: Rials) -> (Result<VerifyOutcome, Error>, usize) {
    let verifies = Arc::new(AtomicUsize::new(0));
    let server = ipg(verifies.clone()).await;
    let vandar = client_for(&server).ipg_api_key("k").timeout(Duration::from_millis(150)).build().unwrap();
    let outcome = vandar.verify_payment(token, expected).await;
    (outcome, verifies.load(Ordering::SeqCst))
}

#[tokio::test]
async fn verify_success_is_verified_with_typed_amounts() {
    let (outcome, verifies) = row("fresh", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(outcome.is_paid());
    let VerifyOutcome::Verified(payment) = outcome else { panic!("{outcome:?}") };
    assert_eq!((payment.amount, payment.real_amount, payment.trans_id), (Rials(1000), Some(Rials(500)), Some(159178352177)));
    // paymentDate has no zone: Tehran time, +04:30 in June 2020 (daylight saving time until 2022).
    assert_eq!(payment.payment_date.map(|d| d.to_utc().to_rfc3339()).as_deref(), Some("2020-06-10T10:06:30+00:00"));
    assert_eq!(verifies, 1);
}

#[tokio::test]
async fn verify_refused_before_processing_is_sent_again_after_the_lookup_says_awaiting_verify() {
    let (outcome, verifies) = row("proxy503", Rials(1000)).await;
    assert!(matches!(outcome.unwrap(), VerifyOutcome::Verified(p) if p.amount == Rials(1000)));
    assert_eq!(verifies, 2);
}

#[tokio::test]
async fn verify_refused_as_already_verified_is_read_from_the_lookup() {
    let (outcome, verifies) = row("already", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(outcome.is_paid());
    assert!(matches!(&outcome, VerifyOutcome::AlreadyVerified(p) if p.amount == Rials(1000) && p.real_amount.is_none()), "{outcome:?}");
    assert_eq!(verifies, 1);
}

#[tokio::test]
async fn a_payer_who_did_not_pay_is_not_paid() {
    let (outcome, _) = row("unpaid", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(!outcome.is_paid());
    assert!(matches!(&outcome, VerifyOutcome::NotPaid { message } if message.as_deref() == Some("failed")), "{outcome:?}");
}

#[tokio::test]
async fn paid_but_unverifiable_is_pending_after_three_verifies_never_paid() {
    let (outcome, verifies) = row("stuck", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(!outcome.is_paid(), "the documents' \"Confirm requierd\" is not paid");
    assert!(matches!(&outcome, VerifyOutcome::Pending { reason } if reason.contains("3 verify calls")), "{outcome:?}");
    assert_eq!(verifies, 3, "bounded");
}

#[tokio::test]
async fn verify_answers_lost_and_the_lookup_still_awaiting_verify_is_pending() {
    // Every verify answer is lost in transit and the lookup shows the documents' example.
    let (outcome, verifies) = row("lost", Rials(1000)).await;
    assert!(matches!(outcome.unwrap(), VerifyOutcome::Pending { .. }));
    assert_eq!(verifies, 3);
}

#[tokio::test]
async fn a_lookup_that_fails_too_is_pending() {
    let (outcome, verifies) = row("dark", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(matches!(&outcome, VerifyOutcome::Pending { reason } if reason.contains("transaction lookup")), "{outcome:?}");
    assert!(!outcome.is_paid());
    assert_eq!(verifies, 1);
}

#[tokio::test]
async fn a_state_the_documents_do_not_describe_is_not_paid() {
    let (outcome, _) = row("odd", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(matches!(outcome, VerifyOutcome::Unrecognized { status: 1, code: Some(7), .. }), "{outcome:?}");
    assert!(!outcome.is_paid());
}

#[tokio::test]
async fn less_than_the_expected_amount_is_underpaid_not_paid() {
    let (outcome, _) = row("cheap", Rials(1000)).await;
    let outcome = outcome.unwrap();
    assert!(!outcome.is_paid());
    assert!(matches!(&outcome, VerifyOutcome::Underpaid { expected: Rials(1000), payment } if payment.amount == Rials(500)), "{outcome:?}");
    // Vandar holds the money: the outcome says to refund it, and what.
    assert!(outcome.needs_refund());
    let (trans_id, amount) = outcome.refund_target().expect("verify's answer carries transId");
    assert_eq!((Some(trans_id), amount), (outcome.payment().unwrap().trans_id, Rials(500)));
    // It compares, and survives a round trip through your database.
    let stored = serde_json::to_value(&outcome).unwrap();
    assert_eq!(stored["outcome"], "underpaid", "{stored}");
    assert_eq!(serde_json::from_value::<VerifyOutcome>(stored).unwrap(), outcome);
    // The same payment is paid for an order of 500 Rials, and nothing to refund.
    let paid = row("cheap", Rials(500)).await.0.unwrap();
    assert!(paid.is_paid() && !paid.needs_refund() && paid.refund_target().is_none());
}

#[tokio::test]
async fn a_token_vandar_does_not_know_is_an_error() {
    let (outcome, verifies) = row("unknown", Rials(1000)).await;
    assert!(matches!(outcome, Err(Error::Api(ref api)) if api.status == 422), "{outcome:?}");
    assert_eq!(verifies, 1);
}

#[test]
fn a_verify_answer_with_an_odd_payment_date_still_reads_as_paid() {
    // A date Vandar writes in a form the documents do not show must not make a verified payment unreadable.
    for odd in ["", "0000-00-00 00:00:00", "1399/03/21 14:36"] {
        let answer = json!({"status": 1, "amount": "1000", "transId": 159178352177i64, "paymentDate": odd, "message": "ok"});
        let verify: vandar::ipg::types::IpgVerifyResponse = serde_json::from_value(answer).unwrap_or_else(|e| panic!("{odd:?}: {e}"));
        assert_eq!((verify.amount, verify.payment_date), (Rials(1000), None), "{odd:?}");
    }
}

/// The verifies follow the Client's `VerifyPolicy`, and one call never sends more than its
/// documented worst case (`verifies × 2 × RetryPolicy::max_attempts`), reached here by a gateway
/// that answers every verify 429 and each lookup 429 twice before "awaiting verify".
#[tokio::test]
async fn verify_repeats_follow_the_verify_policy_and_stay_within_the_worst_case() {
    use vandar::money::VerifyPolicy;
    let verifies = Arc::new(AtomicUsize::new(0));
    let server = ipg(verifies.clone()).await;
    let policy = VerifyPolicy { verifies: 5, base_delay: Duration::from_millis(5), max_delay: Duration::from_millis(20) };
    let vandar = client_for(&server).ipg_api_key("k").verify_policy(policy.clone()).build().unwrap();
    let outcome = vandar.verify_payment("stuck", Rials(1000)).await.unwrap();
    assert!(matches!(&outcome, VerifyOutcome::Pending { reason } if reason.contains("5 verify calls")), "{outcome:?}");
    assert_eq!(verifies.load(Ordering::SeqCst), 5);

    let lookups = Arc::new(AtomicUsize::new(0));
    let limited = serve(move |seen: Seen| {
        let lookups = lookups.clone();
        async move {
            let busy = json(429, json!({"status": 0, "error": "Too Many Attempts."}));
            if seen.path == "/api/v4/verify" || lookups.fetch_add(1, Ordering::SeqCst) % 3 < 2 {
                return busy;
            }
            json(200, awaiting_verify())
        }
    })
    .await;
    let builder = client_for(&limited).ipg_api_key("k");
    let vandar = builder.verify_policy(VerifyPolicy { verifies: 3, ..policy }).build().unwrap();
    let outcome = vandar.verify_payment("stuck", Rials(1000)).await.unwrap();
    assert!(!outcome.is_paid(), "{outcome:?}");
    let worst = VerifyPolicy { verifies: 3, ..VerifyPolicy::default() }.worst_case_requests(3);
    assert_eq!(worst, 18);
    assert_eq!(limited.seen().len(), 18, "3 verifies and 3 lookups, each tried 3 times: the documented worst case");
}
