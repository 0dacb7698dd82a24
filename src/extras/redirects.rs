//! The three browser redirects of the spec (`ipg_redirect`, `authorization_redirect`,
//! `ravand_redirect`). They answer 302 to a browser, so build.rs leaves them out of the generated
//! clients; these build the URL to send the user's browser to.
use crate::{client::Client, host::Host};

/// `GET https://ipg.vandar.io/v4/{token}` (`ipg_redirect`): the payment page for a token from `ipg_send`.
pub fn ipg_payment_page(client: &Client, token: &str) -> String {
    format!("{}/v4/{}", client.base_url(Host::Ipg), encode(token))
}

/// `GET https://subscription.vandar.io/authorizations/{token}` (`authorization_redirect`): the bank
/// approval page for a token from `authorization_store`.
pub fn authorization_page(client: &Client, token: &str) -> String {
    format!("{}/authorizations/{}", client.base_url(Host::Subscription), encode(token))
}

/// `GET https://api.vandar.io/v1/redirect/{token}` (`ravand_redirect`): the card activation page for
/// a token from `ravand_card_activation_token`.
pub fn ravand_activation_page(client: &Client, token: &str) -> String {
    format!("{}/v1/redirect/{}", client.base_url(Host::Api), encode(token))
}

/// Percent-encodes one path segment.
fn encode(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}
