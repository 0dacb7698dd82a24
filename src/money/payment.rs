//! The payment flow over the generated [`crate::ipg`] client: starting a payment with a typed
//! amount, checking the payer's card hash, and verifying safely (the payer's return to your
//! callback is read by [`crate::inbound::Callback`]).
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::generated::ipg::types::{builder, IpgTransaction, IpgVerifyResponse};
use crate::generated::operations::Operation;
use crate::journal::{EntryKind, Intent, Outcome};
use crate::money::Rials;
use crate::reach::Reach;
use crate::{client::Client, error::Error};

/// A registered payment: its token and the page to send the payer's browser to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedPayment {
    /// Keep it with the order: the callback and verify refer to it.
    pub token: String,
    /// `https://ipg.vandar.io/v4/{token}`
    pub payment_page: String,
}

/// Whether `cid` (the SHA-256 of the payer's card that `ipg_transaction` returns) is the hash of
/// `card_number` (16 digits; spaces, dashes and Persian digits are fine). Compared in constant time.
///
/// ```
/// // ipg_transaction's CID for a payment made with card 6037 9912 3456 7893:
/// let cid = "1ACA1776678D9C50CC3F119318AACD16A7B4D757C73BB280ACDE5FEB8DAF3E7B";
/// assert!(vandar::money::cid_matches("6037 9912 3456 7893", cid));   // the card the customer registered
/// assert!(!vandar::money::cid_matches("6037991234567885", cid));     // another card
/// ```
pub fn cid_matches(card_number: &str, cid: &str) -> bool {
    let Ok(card) = crate::validate::card_number(card_number).or_else(|_| {
        // A card registered before Luhn checks still hashes the same: use its digits.
        let digits: String = crate::validate::normalize_digits(card_number).chars().filter(char::is_ascii_digit).collect();
        if digits.len() == 16 { Ok(digits) } else { Err(()) }
    }) else {
        return false;
    };
    let expected: String = Sha256::digest(card.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    let given = cid.trim().to_ascii_lowercase();
    expected.len() == given.len() && bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}

/// A payment Vandar verified, with its amounts typed. `Serialize`/`Deserialize` to keep with the order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct VerifiedPayment {
    /// The payment token.
    pub token: String,
    /// What the payer paid: your amount, plus the fee when the payer bears it (Vandar sends it as
    /// `"1000.00"` from verify and `"1000"` from the lookup).
    pub amount: Rials,
    /// What reached your wallet (`realAmount`); only verify's own answer gives it.
    pub real_amount: Option<Rials>,
    /// Vandar's payment id (`transId`), for support and refunds.
    pub trans_id: Option<i64>,
    /// Your `factorNumber`, as sent.
    pub factor_number: Option<String>,
    /// The payer's card, masked (`603799******6299`).
    pub card_number: Option<String>,
    /// SHA-256 of the payer's card (see [`cid_matches`]).
    pub cid: Option<String>,
    /// When the payer paid (Vandar writes Tehran time without a zone; `.to_utc()` gives the instant).
    pub payment_date: Option<crate::dates::TehranDateTime>,
}

/// What [`Client::verify_payment`] established about a payment. Only [`Verified`] and
/// [`AlreadyVerified`] mean paid ([`VerifyOutcome::is_paid`]); every other case is not.
///
/// One outcome holds money you will not honour: [`Underpaid`]. Vandar verified (finalized) the
/// payment before the client could compare amounts, so the payer's money is in your wallet while
/// the order is not paid in full: refund it, or ask for the rest. [`VerifyOutcome::needs_refund`]
/// says so, and [`VerifyOutcome::refund_target`] gives the transaction id and amount that
/// `transaction_refund` takes (see the README's cookbook).
///
/// `PartialEq`, and `Serialize`/`Deserialize` tagged `{"outcome": "verified", ...}`, to store it.
///
/// [`Verified`]: VerifyOutcome::Verified
/// [`AlreadyVerified`]: VerifyOutcome::AlreadyVerified
/// [`Underpaid`]: VerifyOutcome::Underpaid
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum VerifyOutcome {
    /// This call's verify succeeded: the payment is final and settled to your wallet. Ship.
    Verified(VerifiedPayment),
    /// Verified before (an earlier call, a worker retry, an answer lost in transit) and the lookup
    /// confirms it. Ship, once: check your own order state.
    AlreadyVerified(VerifiedPayment),
    /// Verified, but for less than the amount you expected. Do not ship. The money **is** in your
    /// wallet (Vandar finalized it): refund it with `transaction_refund` (the payment's `trans_id`,
    /// see [`VerifyOutcome::refund_target`]), or ask the payer for the rest. Nothing refunds it on
    /// its own.
    Underpaid {
        /// The amount you said the order costs.
        expected: Rials,
        /// What was paid.
        payment: VerifiedPayment,
    },
    /// The payer did not pay (or the payment failed). Do not ship.
    NotPaid {
        /// Vandar's `message` for the transaction, if any.
        message: Option<String>,
    },
    /// The payment may be paid but is not verified yet, and this call could not finish it (verify
    /// or the lookup failed in transit, Vandar was unavailable). Not paid yet: call
    /// `verify_payment` again later; it is safe to repeat.
    Pending {
        /// What stood in the way.
        reason: String,
    },
    /// The lookup answered a state the documents do not describe. Not paid: check the dashboard.
    Unrecognized {
        /// The transaction's `status` and `code`.
        status: i64,
        /// Its `code`, if any.
        code: Option<i64>,
        /// Its `message`, if any.
        message: Option<String>,
    },
}

impl VerifyOutcome {
    /// Whether the money is yours: only `Verified` and `AlreadyVerified`.
    pub fn is_paid(&self) -> bool {
        matches!(self, VerifyOutcome::Verified(_) | VerifyOutcome::AlreadyVerified(_))
    }

    /// The verified payment, when there is one (also for `Underpaid`).
    pub fn payment(&self) -> Option<&VerifiedPayment> {
        match self {
            VerifyOutcome::Verified(p) | VerifyOutcome::AlreadyVerified(p) | VerifyOutcome::Underpaid { payment: p, .. } => Some(p),
            _ => None,
        }
    }

    /// Whether Vandar holds the payer's money for an order you will not honour, so you should refund
    /// it (or ask for the rest): `Underpaid`. `NotPaid`, `Pending` and `Unrecognized` hold no
    /// verified money (a paid but unverified payment returns to the payer on its own).
    pub fn needs_refund(&self) -> bool {
        matches!(self, VerifyOutcome::Underpaid { .. })
    }

    /// What to refund when [`VerifyOutcome::needs_refund`]: the payment's transaction id (`transId`,
    /// the path parameter of `transaction_refund`) and the amount paid. `None` otherwise, or when
    /// Vandar's answer carried no `transId`.
    pub fn refund_target(&self) -> Option<(i64, Rials)> {
        match self {
            VerifyOutcome::Underpaid { payment, .. } => Some((payment.trans_id?, payment.amount)),
            _ => None,
        }
    }

    /// The `outcome` of `verify_payment`'s `vandar.flow` span (`failed` for an `Err`).
    fn span_outcome(result: &Result<Self, Error>) -> &'static str {
        match result {
            Ok(VerifyOutcome::Verified(_)) => "verified",
            Ok(VerifyOutcome::AlreadyVerified(_)) => "already_verified",
            Ok(VerifyOutcome::Underpaid { .. }) => "underpaid",
            Ok(VerifyOutcome::NotPaid { .. }) => "not_paid",
            Ok(VerifyOutcome::Pending { .. }) => "pending",
            Ok(VerifyOutcome::Unrecognized { .. }) => "unrecognized",
            Err(_) => "failed",
        }
    }

    /// `Underpaid` in place of a paid outcome whose amount is below `expected`.
    fn at_least(self, expected: Rials) -> Self {
        match self {
            VerifyOutcome::Verified(p) | VerifyOutcome::AlreadyVerified(p) if p.amount < expected => {
                VerifyOutcome::Underpaid { expected, payment: p }
            }
            other => other,
        }
    }
}

/// The lookup's `code` for a payment that is paid but not verified (the documents' example:
/// `status: 1, code: 1, message: "Confirm requierd"`).
pub(super) const CODE_AWAITING_VERIFY: i64 = 1;
/// ASSUMPTION (stated in spec/vandar.yaml too): the documents show the lookup only for a payment
/// awaiting verify (code 1). We assume a verified payment reads `status: 1` with `code: 2`, and
/// the mock behaves so. Any other code with `status: 1` is `Unrecognized`, never paid.
pub(super) const CODE_VERIFIED: i64 = 2;

/// The amount an answer must carry (the generated `Rials` has already refused a fraction of a Rial).
fn required_rials(field: &str, amount: Option<Rials>) -> Result<Rials, Error> {
    amount.ok_or_else(|| Error::Undecodable { status: None, reason: format!("{field} is missing"), snippet: String::new() })
}

impl VerifiedPayment {
    fn from_verify(token: &str, v: IpgVerifyResponse) -> Result<Self, Error> {
        Ok(Self {
            token: token.to_string(),
            amount: v.amount,
            real_amount: v.real_amount,
            trans_id: Some(v.trans_id),
            factor_number: v.factor_number,
            card_number: v.card_number,
            cid: v.cid,
            payment_date: v.payment_date,
        })
    }

    fn from_lookup(token: &str, t: IpgTransaction) -> Result<Self, Error> {
        Ok(Self {
            token: token.to_string(),
            amount: required_rials("amount", t.amount)?,
            real_amount: None,
            trans_id: t.trans_id,
            factor_number: t.factor_number,
            card_number: t.card_number,
            cid: t.cid,
            payment_date: t.payment_date,
        })
    }
}

impl Client {
    /// Registers a payment of `amount` Rials (at least 1000) returning to `callback_url`.
    ///
    /// ```no_run
    /// # async fn checkout(vandar: vandar::Client) -> Result<(), vandar::Error> {
    /// use vandar::money::{Rials, Tomans};
    /// let payment = vandar.start_payment(Rials::from(Tomans(2_500)), "https://shop.example/callback").await?;
    /// // store payment.token with the order, then redirect the payer's browser:
    /// println!("Location: {}", payment.payment_page);
    /// # Ok(()) }
    /// ```
    pub async fn start_payment(
        &self,
        amount: Rials,
        callback_url: &str,
    ) -> Result<StartedPayment, Error> {
        self.start_payment_with(amount, callback_url, |b| b).await
    }

    /// [`Client::start_payment`] with the optional fields set by `extra`.
    pub async fn start_payment_with(
        &self,
        amount: Rials,
        callback_url: &str,
        extra: impl FnOnce(builder::IpgSendRequest) -> builder::IpgSendRequest,
    ) -> Result<StartedPayment, Error> {
        let body = crate::generated::ipg::types::IpgSendRequest::try_from(extra(
            builder::IpgSendRequest::default().amount(amount).callback_url(callback_url),
        ))
        .map_err(|e| Error::conversion(&e.to_string()))?;
        let intent = self.transport().journal.is_some().then(|| {
            let mut intent = payment_intent(&body);
            let transport = self.transport();
            let url = url::Url::parse(&format!("{}/api/v4/send", transport.base_urls[crate::host::Host::Ipg.index()].trim_end_matches('/')));
            let mut target = url.map(|url| transport.target(crate::host::Host::Ipg, &reqwest::Method::POST, &url)).ok();
            if let Some(target) = &mut target {
                target.gateway = transport.ipg_api_key.as_ref().map(|key| crate::journal::gateway_fingerprint(key.expose()));
            }
            intent.target = target;
            intent
        });
        let sent = self.ipg().ipg_send().body(body).send().await?;
        // Recorded before the payer is sent to the page: a payment the shop never hears back about
        // (a lost callback, a crash before verify) is found by recovery's sweep.
        if let (Some(journal), Some(mut intent)) = (&self.transport().journal, intent) {
            intent.key = sent.token.clone();
            let unrecorded = |error: String| Error::Unavailable {
                component: "journal",
                message: format!("{}: {error}; the payment was registered but not recorded, so do not send the payer to it", journal.describe()),
            };
            match journal.begin(&intent).await {
                Ok(crate::journal::Begin::Sending) => {}
                Ok(_) => return Err(unrecorded("the journal holds this payment token already".into())),
                Err(error) => return Err(unrecorded(error.to_string())),
            }
        }
        let payment_page = crate::extras::redirects::ipg_payment_page(self, &sent.token);
        Ok(StartedPayment { token: sent.token, payment_page })
    }

    /// Verifies a payment of `expected` Rials after the payer returns to your callback, and says
    /// whether it is paid, on this decision table:
    ///
    /// | verify answers | then | outcome |
    /// | --- | --- | --- |
    /// | success | | `Verified` |
    /// | refused (e.g. already verified, not paid), or its fate unknown (timeout, connection lost, 5xx, a proxy's 503, 429) | look the transaction up (`POST /api/v4/transaction`) | see below |
    /// | | lookup: verified (`status 1`, `code 2`, assumed) | `AlreadyVerified` |
    /// | | lookup: payer did not pay (`status 0`) | `NotPaid` |
    /// | | lookup: paid, awaiting verify (`code 1`, "Confirm required") | verify again, at most [`VerifyPolicy::verifies`](crate::money::VerifyPolicy) (3) in all with backoff; still unsettled: `Pending` |
    /// | | lookup fails | `Pending` |
    /// | | lookup: anything else | `Unrecognized` |
    ///
    /// The verifies and their waits follow the Client's [`VerifyPolicy`](crate::money::VerifyPolicy);
    /// one call sends at most `verifies × 2 × RetryPolicy::max_attempts` requests (18 with the
    /// defaults), within the Client's `max_wait`.
    ///
    /// A paid outcome whose amount is below `expected` becomes `Underpaid`. Only `Verified` and
    /// `AlreadyVerified` are paid. Repeating verify is safe: Vandar answers it once per transaction
    /// and refuses the rest, so nothing settles twice; so is calling this any number of times for
    /// one token (a reloaded callback, a retrying worker). Errors (a wrong api_key, a token Vandar
    /// does not know) are `Err`, never paid.
    ///
    /// ```no_run
    /// # async fn callback(vandar: vandar::Client, url: &str) -> Result<(), vandar::Error> {
    /// use vandar::money::Rials;
    /// let back = vandar::inbound::Callback::parse(url)?;
    /// match vandar.verify_payment(&back.token, Rials(250_000)).await? {
    ///     outcome if outcome.is_paid() => { /* ship the order, once */ }
    ///     vandar::money::VerifyOutcome::Pending { .. } => { /* try again later */ }
    ///     _ => { /* not paid: do not ship */ }
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn verify_payment(&self, token: &str, expected: Rials) -> Result<VerifyOutcome, Error> {
        let flow = crate::transport::spans::flow("verify_payment", None);
        // The Client's max_wait bounds verify and its lookups together.
        let max_wait = self.transport().max_wait;
        let policy = self.verify_policy().clone();
        let verifies = policy.verifies.max(1);
        let outcome = crate::transport::spans::in_flow(flow, crate::transport::options::with_deadline(max_wait, async move {
            let mut unsettled = String::new();
            for attempt in 0..verifies {
                if attempt > 0 {
                    tokio::time::sleep(crate::transport::retry::backoff(policy.base_delay, policy.max_delay, attempt)).await;
                }
                match self.ipg().ipg_verify().body_map(|b| b.token(token)).send().await {
                    Ok(answer) if answer.status == 1 => {
                        let payment = VerifiedPayment::from_verify(token, answer)?;
                        return Ok(VerifyOutcome::Verified(payment).at_least(expected));
                    }
                    Ok(answer) => unsettled = format!("verify answered status {}", answer.status),
                    // The client refused it itself (input, configuration, credentials): an error.
                    Err(error) if error.reach() == Reach::NeverSent && !error.is_retryable() => return Err(error),
                    Err(error @ Error::Authentication { .. }) => return Err(error),
                    // Refused by Vandar (already verified, not paid), its fate unknown, or it could
                    // not leave for now: the lookup decides.
                    Err(error) => unsettled = format!("verify: {error}"),
                }
                tracing::info!(operation = Operation::IpgVerify.id(), attempt, "verify did not settle the payment; reading the transaction");
                let transaction = match self.ipg().ipg_transaction().body_map(|b| b.token(token)).send().await {
                    Ok(transaction) => transaction,
                    // Unreachable, overloaded, or an answer lost: the state is still to be read.
                    Err(error) if error.is_retryable() || error.verdict().needs_lookup() => {
                        return Ok(VerifyOutcome::Pending { reason: format!("{unsettled}; transaction lookup: {error}") });
                    }
                    // Vandar refused the lookup (a token it does not know, a wrong api_key).
                    Err(error) => return Err(error),
                };
                match (transaction.status, transaction.code) {
                    (1, Some(CODE_VERIFIED)) => {
                        let payment = VerifiedPayment::from_lookup(token, transaction)?;
                        return Ok(VerifyOutcome::AlreadyVerified(payment).at_least(expected));
                    }
                    (1, Some(CODE_AWAITING_VERIFY)) => continue, // paid, not verified: verify again
                    (0, _) => return Ok(VerifyOutcome::NotPaid { message: transaction.message }),
                    (status, code) => return Ok(VerifyOutcome::Unrecognized { status, code, message: transaction.message }),
                }
            }
            Ok(VerifyOutcome::Pending { reason: format!("paid but not verified after {verifies} verify calls; last: {unsettled}") })
        }), VerifyOutcome::span_outcome)
        .await;
        if let Ok(outcome) = &outcome {
            self.transport().journal_update(token, &outcome.journaled()).await;
        }
        outcome
    }
}

/// A payment's journal entry (keyed by its token once the gateway gives one).
fn payment_intent(body: &crate::generated::ipg::types::IpgSendRequest) -> Intent {
    let request = serde_json::to_value(body).unwrap_or_default();
    Intent {
        key: String::new(),
        kind: EntryKind::Payment,
        operation: Operation::IpgSend.id().into(),
        amount: Some(body.amount.0),
        unit: Some("Rials".into()),
        destination: None,
        reference: body.factor_number.clone(),
        request,
        created_at_ms: crate::journal::now_ms(),
        target: None,
    }
}

impl VerifyOutcome {
    /// What the journal records of this outcome (an unsettled one keeps the payment open).
    fn journaled(&self) -> Outcome {
        match self {
            VerifyOutcome::Verified(p) | VerifyOutcome::AlreadyVerified(p) => {
                Outcome::Paid { amount: p.amount.0, card: p.card_number.clone(), trans_id: p.trans_id }
            }
            VerifyOutcome::Underpaid { expected, payment } => Outcome::Underpaid { expected: expected.0, paid: payment.amount.0 },
            VerifyOutcome::NotPaid { message } => Outcome::NotPaid { message: message.clone() },
            VerifyOutcome::Pending { reason } => Outcome::Indeterminate { reason: reason.clone() },
            VerifyOutcome::Unrecognized { status, code, .. } => Outcome::Indeterminate { reason: format!("status {status}, code {code:?}") },
        }
    }
}
