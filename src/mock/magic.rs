//! Magic values: inputs that make the mock answer a documented failure, as Stripe's test card numbers
//! do (listed in control.md).

/// Card numbers the payer pays with on the payment page that the bank declines (payment_status=FAILED).
pub(crate) const DECLINED_CARDS: &[&str] = &["6037990000000002", "6219860000000002"];

/// Amounts (Rials) the gateway refuses at ipg_send (422 with `messages::AMOUNT_REFUSED`).
pub(crate) const REFUSED_AMOUNTS: &[i64] = &[1_111_110];

/// A settlement to this IBAN fails at the bank when its cycle comes: status FAILED, the money held until
/// it is canceled (settlement_cancel returns it to the wallet).
pub(crate) const FAILING_IBAN: &str = "IR760170000000000000000001";

/// A settlement to this IBAN is paid, then returned by the bank: status CANCELED with a correcting
/// transaction (revised_transaction_id), the money back in the wallet.
pub(crate) const RETURNED_IBAN: &str = "IR490170000000000000000002";

/// An IBAN Vandar does not know: settlement_store refuses it (422 on `iban`, `messages::IBAN_NOT_FOUND`).
pub(crate) const UNKNOWN_IBAN: &str = "IR220170000000000000000003";
