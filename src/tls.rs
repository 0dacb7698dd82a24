//! TLS to Vandar: which backend this build uses (cargo features `rustls-ring`, the default;
//! `rustls-aws-lc`; `native-tls`), and the one step the default needs.
//!
//! With `rustls-ring`, reqwest is built without a crypto provider of its own, so rustls needs a
//! process-wide default: [`crate::ClientBuilder::build`] (and the mock's start) installs ring as that
//! default when none is installed. Call [`install_default_provider`] first only if your own code
//! builds reqwest clients before any `vandar::Client` (and your build enables no other provider).
//! To choose another backend, turn the default features off (`default-features = false`) and name
//! it: with `rustls-aws-lc` also on, nothing is installed and reqwest uses aws-lc-rs. If your
//! application installs a provider of its own, do it before building a `vandar::Client` (rustls
//! refuses a second installation).

#[cfg(not(any(feature = "rustls-ring", feature = "rustls-aws-lc", feature = "native-tls")))]
compile_error!(
    "vandar needs a TLS backend to reach Vandar: enable one of the features `rustls-ring` (the default), \
     `rustls-aws-lc` or `native-tls`"
);

/// Installs ring as rustls' process-wide crypto provider, unless one is installed already (by you,
/// or by an earlier call). Does nothing in builds without the `rustls-ring` feature, or with
/// `rustls-aws-lc` too (reqwest then falls back to aws-lc-rs itself, the provider that feature
/// asks for).
pub fn install_default_provider() {
    #[cfg(all(feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one meanwhile: theirs stands, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

#[cfg(all(test, feature = "rustls-ring", not(feature = "rustls-aws-lc")))]
mod tests {
    #[test]
    fn a_provider_is_installed_once_and_a_client_builds() {
        super::install_default_provider();
        super::install_default_provider();
        assert!(rustls::crypto::CryptoProvider::get_default().is_some());
        reqwest::Client::builder().build().expect("reqwest finds the provider");
    }
}
