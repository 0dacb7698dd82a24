//! Typed Rust client for Vandar.
pub mod enums;
pub mod generated;
pub mod transport;

#[cfg(feature = "api")]
pub use generated::api;
#[cfg(feature = "batch")]
pub use generated::batch;
#[cfg(feature = "ipg")]
pub use generated::ipg;
#[cfg(feature = "subscription")]
pub use generated::subscription;
