//! The typed clients progenitor generates from spec/vandar.yaml, one module per Vandar host.
//! Never edited by hand: change the spec, then `cargo xtask regen`.
//!
//! These are the low-level calls. A money move sent through them goes out once and is not
//! reconciled after a lost answer: use the [`crate::Client`] methods of the same names
//! (`settlement_store`, `withdrawal_store`, `batch_settlement_store`, `cash_in_deposit`,
//! `customer_wallet_deposit`/`_withdraw`) and [`crate::Client::verify_payment`] instead.

/// `https://api.vandar.io`: business API (settlements, customers, direct debit, Ravand) and Miando escrow.
#[cfg(feature = "api")]
#[allow(missing_docs, unused_imports, unused_mut, clippy::all, rustdoc::all)]
pub mod api {
    include!(concat!(env!("OUT_DIR"), "/api.rs"));
}

/// `https://ipg.vandar.io`: the payment gateway.
#[cfg(feature = "ipg")]
#[allow(missing_docs, unused_imports, unused_mut, clippy::all, rustdoc::all)]
pub mod ipg {
    include!(concat!(env!("OUT_DIR"), "/ipg.rs"));
}

/// `https://batch.vandar.io`: batch settlements.
#[cfg(feature = "batch")]
#[allow(missing_docs, unused_imports, unused_mut, clippy::all, rustdoc::all)]
pub mod batch {
    include!(concat!(env!("OUT_DIR"), "/batch.rs"));
}

/// `https://subscription.vandar.io`: direct debit (the host's only documented call is a browser
/// redirect, see [`crate::redirects`]; the module is empty of operations but kept for symmetry).
#[cfg(feature = "subscription")]
#[allow(missing_docs, unused_imports, unused_mut, clippy::all, rustdoc::all)]
pub mod subscription {
    include!(concat!(env!("OUT_DIR"), "/subscription.rs"));
}
