//! The texts the mock answers business failures with, in one place, so the client's typed errors
//! (`ErrorCode`) can be checked against them. Where Vandar's documents give the text it is theirs,
//! word for word; where they name the failure without a text, the mock's own text is marked so
//! (control.md lists them all).

/// A settlement, batch or refund above the business wallet (422 on `amount`). Mock's text: the
/// documents name the condition ("داشتن موجودی کافی در کیف پول", a prerequisite) but show no answer.
pub(crate) const INSUFFICIENT_BALANCE: &str = "موجودی کیف پول کافی نیست";

/// A customer wallet withdraw above the customer's balance (422 on `amount`). Mock's text.
pub(crate) const CUSTOMER_INSUFFICIENT_BALANCE: &str = "موجودی کیف پول مشتری کافی نیست";

/// An IBAN Vandar does not know (422 on `iban`). The documents' text (cash-in, "IBAN not found").
pub(crate) const IBAN_NOT_FOUND: &str = "IBAN not found";

/// A second ipg_verify of a payment already verified (422, IPG's `errors` list). Mock's text: the
/// documents say verify answers once, not with what text.
pub(crate) const PAYMENT_ALREADY_VERIFIED: &str = "تراکنش قبلا تایید شده است";

/// ipg_verify of a payment never paid (422). Mock's text.
pub(crate) const PAYMENT_NOT_PAID: &str = "تراکنش پرداخت نشده است";

/// An IPG token the gateway does not know (422). Mock's text.
pub(crate) const TOKEN_INVALID: &str = "token is invalid";

/// An IPG token whose payment expired unpaid or unverified (422). Mock's text.
pub(crate) const TOKEN_EXPIRED: &str = "token is expired";

/// An amount the gateway refuses at ipg_send (422). Mock's text.
pub(crate) const AMOUNT_REFUSED: &str = "amount is not acceptable";

/// An agreement action its state does not allow (400, code `invalid_state_agreement`). The documents' text.
pub(crate) const INVALID_AGREEMENT_STATE: &str = "وضعیت قرارداد نامعتبر است!";

/// The code Miando sends with [`INVALID_AGREEMENT_STATE`]. The documents' code.
pub(crate) const INVALID_AGREEMENT_STATE_CODE: &str = "invalid_state_agreement";

/// A direct-debit authorization verified twice (422). The documents' text.
pub(crate) const AUTHORIZATION_ALREADY_VERIFIED: &str = "authorization already verified";
