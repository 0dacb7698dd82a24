// The crate docs are the README, so its examples are doc tests (`cargo test --doc --all-features`).
#![doc = include_str!("../README.md")]
// The hand-written layer documents every public item; the generated modules are documented from
// the spec by build.rs (tests/generated_docs.rs counts them).
#![deny(missing_docs)]

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
pub mod tls;
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
