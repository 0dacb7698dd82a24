//! Magic values: inputs that make the mock answer a documented failure, as Stripe's test card numbers
//! do (listed in control.md).

/// Card numbers the payer pays with on the payment page that the bank declines (payment_status=FAILED).
pub(crate) const DECLINED_CARDS: &[&str] = &["6037990000000002", "6219860000000002"];
