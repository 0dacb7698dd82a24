//! The typed clients progenitor generates from spec/vandar.yaml at build time (build.rs, its passes
//! in xtask/codegen/), one module per Vandar host, each beside the hook that hands its requests to
//! the transport. Never edited by hand: change the spec (or a
//! pass); `cargo xtask regen` then rewrites the snapshots in snapshots/ for review.
//!
//! These are the low-level calls. A money move sent through them carries a fresh track_id (its
//! builder starts with one) but is not reconciled after a lost answer: use the [`crate::Client`]
//! methods of the same names (`settlement_store`, `withdrawal_store`, `batch_settlement_store`,
//! `cash_in_deposit`, `customer_wallet_deposit`/`_withdraw`) and [`crate::Client::verify_payment`].
use std::sync::Arc;

pub(crate) mod operations;

use crate::host::{for_each_host, Host};
use crate::transport::Transport;

macro_rules! generated_hosts {
    ($(($variant:ident, $module:ident, $feature:literal, $url:literal, $doc:literal),)*) => {
        $(
            #[doc = $doc]
            #[cfg(feature = $feature)]
            #[allow(missing_docs, unused_imports, unused_mut, clippy::all, rustdoc::all)]
            pub mod $module {
                include!(concat!(env!("OUT_DIR"), "/", $feature, ".rs"));
            }

            /// Every request of the generated calls goes out through the transport.
            #[cfg(feature = $feature)]
            impl progenitor_client::ClientHooks<Arc<Transport>> for $module::Client {
                async fn exec(
                    &self,
                    request: reqwest::Request,
                    info: &progenitor_client::OperationInfo,
                ) -> reqwest::Result<reqwest::Response> {
                    self.inner.execute(Host::$variant, request, info.operation_id).await
                }
            }
        )*

        /// The generated client of each host this crate was built with, all on one transport.
        pub(crate) struct HostClients {
            $(#[cfg(feature = $feature)] pub(crate) $module: $module::Client,)*
        }

        impl HostClients {
            pub(crate) fn new(http: &reqwest::Client, transport: &Arc<Transport>) -> Self {
                Self {
                    $(#[cfg(feature = $feature)]
                    $module: $module::Client::new_with_client(
                        &transport.base_urls[Host::$variant.index()],
                        http.clone(),
                        transport.clone(),
                    ),)*
                }
            }
        }
    };
}
for_each_host!(generated_hosts);
