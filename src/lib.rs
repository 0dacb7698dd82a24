//! Typed Rust client for [Vandar](https://vandar.io): payment gateway (IPG), settlements, customer
//! wallets, direct debit, batch settlements, Ravand and Miando escrow.
//!
//! Every documented endpoint is generated from `spec/vandar.yaml` (one module per host:
//! [`api`], [`ipg`], [`batch`], [`subscription`]); [`Client`] adds authentication, token refresh,
//! rate limiting, safe retries and one [`Error`] type around them.
//!
//! ```no_run
//! # async fn run(callback_url: &str) -> Result<(), vandar::Error> {
//! use vandar::money::Rials;
//! let vandar = vandar::Client::builder().ipg_api_key("gateway-key").build()?;
//! let payment = vandar.start_payment(Rials(250_000), "https://shop.example/callback").await?;
//! println!("send the payer to {}", payment.payment_page);
//! // ... and on the return to your callback_url:
//! let back = vandar::Callback::parse(callback_url)?;
//! if vandar.verify_payment(&back.token, Rials(250_000)).await?.is_paid() {
//!     // ship the order
//! }
//! # Ok(()) }
//! ```
#![warn(missing_docs)]

pub mod auth;
mod client;
pub mod dates;
pub mod enums;
mod error;
mod generated;
#[cfg(feature = "ipg")]
pub mod ipg_helpers;
pub mod mask;
pub mod money;
pub mod notify;
pub mod paging;
#[cfg(feature = "mock")]
pub mod mock;
pub mod rate_limit;
#[cfg(feature = "api")]
mod ravand;
#[cfg(feature = "redis")]
mod redis_conn;
pub mod redirects;
mod secret;
mod spans;
#[cfg(feature = "api")]
pub mod tracked;
pub mod transport;
pub mod validate;
pub mod webhook;

pub use auth::TokenPair;
pub use client::{Client, ClientBuilder, REFRESH_MARGIN};
pub use error::{ApiError, Error, ErrorCode, Result};
pub use secret::Secret;
pub use transport::{Host, RetryPolicy};
#[cfg(feature = "ipg")]
pub use ipg_helpers::{cid_matches, Callback, StartedPayment, VerifiedPayment, VerifyOutcome};

#[cfg(feature = "api")]
pub use generated::api;
#[cfg(feature = "batch")]
pub use generated::batch;
#[cfg(feature = "ipg")]
pub use generated::ipg;
#[cfg(feature = "subscription")]
pub use generated::subscription;
