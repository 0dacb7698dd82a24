//! Vandar's four hosts. The runtime's one list of them is [`for_each_host!`]; build.rs reads the
//! same four from the spec's top-level `servers`.

/// Calls `$then!` with the one table of Vandar's hosts: variant, module (and Cargo feature) name,
/// production base URL, and what the host serves. [`Host`], the generated modules with their send
/// hook (`crate::generated`) and the [`crate::Client`]'s per-host clients are all expanded from it.
macro_rules! for_each_host {
    ($then:ident) => {
        $then! {
            (Api, api, "api", "https://api.vandar.io",
                "`https://api.vandar.io`: business API (settlements, customers, direct debit, Ravand) and Miando escrow."),
            (Ipg, ipg, "ipg", "https://ipg.vandar.io", "`https://ipg.vandar.io`: the payment gateway."),
            (Batch, batch, "batch", "https://batch.vandar.io", "`https://batch.vandar.io`: batch settlements."),
            (Subscription, subscription, "subscription", "https://subscription.vandar.io",
                "`https://subscription.vandar.io`: direct debit (the host's only documented call is a browser redirect: see `vandar::extras::redirects`)."),
        }
    };
}
pub(crate) use for_each_host;

macro_rules! host_enum {
    ($(($variant:ident, $module:ident, $feature:literal, $url:literal, $doc:literal),)*) => {
        /// One of Vandar's hosts.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Host {
            $(#[doc = $doc] $variant,)*
        }

        impl Host {
            /// Every host.
            pub const ALL: [Host; 4] = [$(Host::$variant),*];

            /// The production base URL.
            pub fn default_base_url(self) -> &'static str {
                match self {
                    $(Host::$variant => $url,)*
                }
            }

            /// The short name spans and metrics record (`api`, `ipg`, `batch`, `subscription`).
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Host::$variant => $feature,)*
                }
            }
        }
    };
}
for_each_host!(host_enum);

impl Host {
    /// Position in [`Host::ALL`] (and in the per-host arrays of the transport).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::Host;

    #[test]
    fn every_host_has_its_place_name_and_url() {
        for (i, host) in Host::ALL.into_iter().enumerate() {
            assert_eq!(host.index(), i);
            assert_eq!(host.default_base_url(), format!("https://{}.vandar.io", host.name()));
        }
    }
}
