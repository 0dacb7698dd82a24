//! Secrets (tokens, api_key, client secret) in a newtype that never prints its value.
use secrecy::{ExposeSecret, SecretString};

/// A credential. `Debug` and `Display` print `***`; the value is wiped from memory on drop.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The credential itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self::new(value)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self::new(value)
    }
}

/// Credentials this process has configured or been issued, so that any server text the client
/// puts into an error, a log line or a span can be scrubbed of them (a server that echoes a
/// request body back in a 422 would otherwise carry the api_key into `Display` and `Debug`).
static KNOWN: std::sync::RwLock<Vec<Secret>> = std::sync::RwLock::new(Vec::new());

/// Shorter values are not scrubbed: replacing every occurrence of a 3-letter string would garble
/// messages, and real credentials are far longer (api keys, JWTs, client secrets).
const SHORTEST_SCRUBBED: usize = 8;

/// Remembers `secret` for [`scrub`].
pub(crate) fn remember(secret: &Secret) {
    if secret.expose().len() < SHORTEST_SCRUBBED {
        return;
    }
    let mut known = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    if !known.iter().any(|k| k == secret) {
        known.push(secret.clone());
    }
}

/// `text` with every remembered credential replaced by `***`.
pub(crate) fn scrub(text: &str) -> String {
    let known = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    known.iter().fold(text.to_string(), |text, secret| text.replace(secret.expose(), "***"))
}

/// Why a stored JSON value does not read, in words: where and what kind of problem, never the value
/// (serde's own message may quote it: a token, an IBAN). `shape` names the data error ("not a token
/// pair").
pub(crate) fn unquoted(error: &serde_json::Error, shape: &str) -> String {
    let kind = match error.classify() {
        serde_json::error::Category::Io => "unreadable",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => shape,
        serde_json::error::Category::Eof => "truncated",
    };
    format!("{kind} (line {}, column {})", error.line(), error.column())
}
