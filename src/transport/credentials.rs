//! Which credential a call carries, and the rule that keeps every credential on its configured
//! origin: the IPG api_key spliced into the body, business or Miando bearer tokens in a header.
use super::Transport;
use crate::auth::TokenManager;
use crate::generated::operations::{Credential as Needed, Operation};
use crate::host::Host;
use crate::secret::Secret;

pub(super) enum Credential<'a> {
    None,
    ApiKey(&'a Secret),
    Bearer(&'a TokenManager),
}

impl Transport {
    /// The credential `operation` carries, or what configuration it lacks: the one its `security`
    /// names in the spec's table of operations (the mock's rule too). The IPG's api_key is no
    /// security scheme: it travels in the body (build.rs removes the field from the generated
    /// bodies, `with_api_key` puts it back).
    pub(super) fn credential(&self, operation: Operation) -> Result<Credential<'_>, String> {
        let missing = |what: &str| format!("{operation} needs {what}, which this Client was not configured with");
        match operation.credential() {
            Needed::Business => self.business_tokens.as_ref().map(Credential::Bearer).ok_or_else(|| missing("business tokens")),
            Needed::Miando => self.miando_tokens.as_ref().map(Credential::Bearer).ok_or_else(|| missing("Miando client credentials")),
            Needed::IpgApiKey => self.ipg_api_key.as_ref().map(Credential::ApiKey).ok_or_else(|| missing("an IPG api_key")),
            Needed::None => Ok(Credential::None),
        }
    }

    /// Whether `url` is on the configured base URL of `host` (same scheme, host and port, under its path).
    pub(super) fn is_configured_host(&self, host: Host, url: &url::Url) -> bool {
        let base = &self.parsed_base_urls[host.index()];
        url.scheme() == base.scheme()
            && url.host() == base.host()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.path().starts_with(base.path().trim_end_matches('/'))
    }
}

/// The IPG body with `api_key` first: spliced into the object's bytes as they are (the generated
/// bodies never carry one: build.rs removes it from their schemas), or `{"api_key": ..}` alone for
/// a call without a body. A body that is not an object is sent as it is.
pub(super) fn with_api_key(body: Option<&[u8]>, key: &Secret) -> Vec<u8> {
    let key = serde_json::to_vec(key.expose()).expect("a string serializes");
    let Some(body) = body else {
        return [&b"{\"api_key\":"[..], &key, b"}"].concat();
    };
    match body.trim_ascii_start().split_first() {
        Some((b'{', rest)) => {
            let separator: &[u8] = if rest.trim_ascii_start().starts_with(b"}") { b"" } else { b"," };
            [&b"{\"api_key\":"[..], &key, separator, rest].concat()
        }
        _ => body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_key_is_spliced_into_the_body_as_valid_json() {
        let key = Secret::from("k\"ey");
        let read = |bytes: Vec<u8>| serde_json::from_slice::<serde_json::Value>(&bytes).unwrap();
        assert_eq!(read(with_api_key(Some(br#"{"amount":1000}"#), &key)), serde_json::json!({"api_key": "k\"ey", "amount": 1000}));
        assert_eq!(read(with_api_key(Some(b" { } "), &key)), serde_json::json!({"api_key": "k\"ey"}));
        assert_eq!(read(with_api_key(None, &key)), serde_json::json!({"api_key": "k\"ey"}));
        assert_eq!(with_api_key(Some(b"[1]"), &key), b"[1]");
    }

    #[test]
    fn credentials_stay_on_the_configured_origin() {
        let transport = super::super::tests::transport(["https://api.vandar.io", "http://127.0.0.1:8080/ipg", "https://batch.vandar.io", "https://subscription.vandar.io"]);
        let url = |u: &str| url::Url::parse(u).unwrap();
        assert!(transport.is_configured_host(Host::Api, &url("https://api.vandar.io/v2/business/x/balance")));
        assert!(!transport.is_configured_host(Host::Api, &url("https://api.vandar.io.evil.example/v2/business/x/balance")));
        assert!(!transport.is_configured_host(Host::Api, &url("http://api.vandar.io/v2/business/x/balance")));
        assert!(transport.is_configured_host(Host::Ipg, &url("http://127.0.0.1:8080/ipg/api/v4/send")));
        assert!(!transport.is_configured_host(Host::Ipg, &url("http://127.0.0.1:8081/ipg/api/v4/send")));
        assert!(!transport.is_configured_host(Host::Ipg, &url("http://127.0.0.1:8080/batch/api/v4/send")));
    }
}
