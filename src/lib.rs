// The crate docs are the README, so its examples are doc tests (`cargo test --doc --all-features`).
#![doc = include_str!("../README.md")]
// The hand-written layer documents every public item; the generated modules are documented from
// the spec by build.rs (tests/generated_docs.rs counts them).
#![deny(missing_docs)]
// No unsafe code in the library; the unit tests' one use (setting the process umask) is marked where it is.
#![cfg_attr(not(test), forbid(unsafe_code))]
#![cfg_attr(test, deny(unsafe_code))]
// Every type a public signature reaches has a public path, so rustc never prints a private one.
#![deny(unnameable_types)]
// Layers, from the bottom (a module uses only those on its own floor or below; see ARCHITECTURE.md):
//   values:     host, secret, mask, dates, enums, validate, reach, error, money (units), generated::operations (the spec's table)
//   shared:     rate_limit, telemetry, auth (token state; reaches Vandar through a TokenEndpoint), journal, redis_connection
//   send path:  transport (credentials, retry, spans), generated (the typed calls and their hook)
//   the client: client, paging
//   flows:      money (moves and payments), inbound (what Vandar sends you), extras (redirects, upload)
//   tools:      mock

pub mod auth;
mod client;
pub mod dates;
pub mod enums;
mod error;
pub mod extras;
mod generated;
mod host;
pub mod inbound;
pub mod journal;
mod local_file;
pub mod mask;
#[cfg(feature = "mock")]
pub mod mock;
pub mod money;
pub mod paging;
pub mod rate_limit;
mod reach;
#[cfg(feature = "redis")]
mod redis_connection;
mod secret;
pub mod telemetry;
pub mod tls;
mod transport;
pub mod validate;

// The pages under docs/ are compiled as doc tests too (their Rust examples, if any).
#[cfg(doctest)]
#[doc = include_str!("../docs/internals.md")]
mod internals_page {}
#[cfg(doctest)]
#[doc = include_str!("../docs/performance.md")]
mod performance_page {}
#[cfg(doctest)]
#[doc = include_str!("../docs/production.md")]
mod production_page {}
#[cfg(doctest)]
#[doc = include_str!("../docs/retries.md")]
mod retries_page {}
#[cfg(doctest)]
#[doc = include_str!("../docs/testing.md")]
mod testing_page {}

pub use auth::TokenPair;
pub use client::{Client, ClientBuilder, REFRESH_MARGIN};
pub use error::{ApiError, Error, ErrorCode, Result};
pub use generated::operations::Operation;
pub use host::Host;
pub use reach::Reach;
pub use secret::Secret;
pub use transport::{CallOptions, RetryPolicy, Transport};

#[cfg(feature = "api")]
pub use generated::api;
#[cfg(feature = "batch")]
pub use generated::batch;
#[cfg(feature = "ipg")]
pub use generated::ipg;
#[cfg(feature = "subscription")]
pub use generated::subscription;
