//! What Vandar (or the payer's browser) sends to you: signed Miando [`webhook`]s, the unsigned
//! `notify_url` callbacks of settlements and withdrawals ([`notify`]), and the payer's return from
//! the payment page ([`Callback`]). Each is a hint or a signed fact to decode; none moves money.
mod callback;
pub mod notify;
pub mod webhook;

pub use callback::Callback;
