//! What the generated clients leave out: the spec's browser redirects (URLs to send a browser to)
//! and its one multipart upload ([`crate::Client::ravand_cardholder_upload`]).
pub mod redirects;
#[cfg(feature = "api")]
mod upload;
