//! The three browser redirects of the spec (`ipg_redirect`, `authorization_redirect`,
//! `ravand_redirect`). They answer 302 to a browser, so build.rs leaves them out of the generated
//! clients; these build the URL to send the user's browser to.
//!
//! Each URL is its operation's path template from the spec's table, under the client's base URL
//! of the operation's host.
use crate::{client::Client, generated::operations::Operation};

/// `operation`'s URL for the browser, its `{token}` filled in.
fn page(client: &Client, operation: Operation, token: &str) -> String {
    operation.url(client.base_url(operation.host()), &[("token", token)])
}

/// `GET https://ipg.vandar.io/v4/{token}` (`ipg_redirect`): the payment page for a token from `ipg_send`.
pub fn ipg_payment_page(client: &Client, token: &str) -> String {
    page(client, Operation::IpgRedirect, token)
}

/// `GET https://subscription.vandar.io/authorizations/{token}` (`authorization_redirect`): the bank
/// approval page for a token from `authorization_store`.
pub fn authorization_page(client: &Client, token: &str) -> String {
    page(client, Operation::AuthorizationRedirect, token)
}

/// `GET https://api.vandar.io/v1/redirect/{token}` (`ravand_redirect`): the card activation page for
/// a token from `ravand_card_activation_token`.
pub fn ravand_activation_page(client: &Client, token: &str) -> String {
    page(client, Operation::RavandRedirect, token)
}
