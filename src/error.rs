//! The one public error type, shaped by what the caller can do about it.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::mask::mask_personal_data;

/// What went wrong with a Vandar call. Foreign errors stay behind [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input was refused before anything was sent. Fix the input.
    #[error("invalid input{}: {reason}", field.as_deref().map(|f| format!(" ({f})")).unwrap_or_default())]
    InvalidInput {
        /// The field at fault, when known.
        field: Option<String>,
        /// Why it was refused.
        reason: String,
    },

    /// Credentials are missing, wrong or expired and could not be renewed. Fix the configuration
    /// (or, for an expired refresh token, issue a new pair in the dashboard).
    #[error("authentication failed{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Authentication {
        /// HTTP status Vandar answered, if it answered.
        status: Option<u16>,
        /// What to do about it.
        message: String,
    },

    /// Vandar's rate limit answered 429 after the retries this client allows. Wait and try again.
    #[error("rate limited by Vandar{}", retry_after.map(|d| format!("; retry after {d:?}")).unwrap_or_default())]
    RateLimited {
        /// Vandar's Retry-After, when given.
        retry_after: Option<Duration>,
    },

    /// Vandar refused the request with its own error body (both documented shapes).
    #[error("{0}")]
    Api(Box<ApiError>),

    /// The request did not complete: connection, timeout or body transfer.
    #[error("transport error{}: {message}", if *timeout { " (timeout)" } else { "" })]
    Transport {
        /// Description, with URLs and personal data removed.
        message: String,
        /// Whether the failure was a timeout.
        timeout: bool,
        /// The underlying error (without its URL).
        #[source]
        source: Option<reqwest::Error>,
    },

    /// An answer arrived but could not be read: an HTML error page, truncated JSON, a wrong shape.
    #[error("undecodable answer{}: {reason}; body starts with {snippet:?}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Undecodable {
        /// HTTP status, when it was not a success status.
        status: Option<u16>,
        /// Why decoding failed.
        reason: String,
        /// The start of the body, personal data masked.
        snippet: String,
    },

    /// A component the client shares with other processes could not be used: the token store or
    /// the shared rate limiter (e.g. Redis unreachable). Nothing was sent to Vandar; try again
    /// when it is back. The client never falls back to local state that could overrun the shared
    /// budget or use a superseded token.
    #[error("{component} unavailable: {message}")]
    Unavailable {
        /// `"token store"` or `"rate limiter"`.
        component: &'static str,
        /// What failed.
        message: String,
    },

    /// A money-moving request may or may not have been carried out, and no documented lookup could
    /// tell. Look the operation up by `track_id` before sending it again (with the same `track_id`).
    #[error("outcome unknown for {operation} (track_id {track_id}): {reason}")]
    Indeterminate {
        /// The operation id.
        operation: &'static str,
        /// The caller's or the client's tracking id of the request.
        track_id: String,
        /// What happened.
        reason: String,
    },
}

/// Vandar's own error: status, code, message and per-field messages, from every documented shape
/// (`{status: 0, error}`, `{status: 0, errors: [...]}`, Laravel's `{message, errors: {field: [..]}}`,
/// Miando's `{message, code, errors}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Miando's code (`validation_error`, `user_not_found`, `invalid_state_agreement`, `not_found_error`), when given.
    pub code: Option<String>,
    /// The message (personal data masked).
    pub message: String,
    /// Messages per field; messages not tied to a field are under `""`.
    pub fields: BTreeMap<String, Vec<String>>,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vandar answered HTTP {}", self.status)?;
        if let Some(code) = &self.code {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", self.message)?;
        for (field, messages) in &self.fields {
            write!(f, "; {}{}", if field.is_empty() { String::new() } else { format!("{field}: ") }, messages.join(", "))?;
        }
        Ok(())
    }
}

/// Convenient alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The HTTP status Vandar answered, when the error came from an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api(api) => Some(api.status),
            Error::Authentication { status, .. } | Error::Undecodable { status, .. } => *status,
            Error::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Vandar's error code, when it sent one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api(api) => api.code.as_deref(),
            _ => None,
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidInput { field: Some(field.into()), reason: reason.into() }
    }

    /// A generated builder's conversion failure, naming the field. The messages come from typify
    /// (`no value supplied for amount`, `error converting supplied value for amount: ..`) and
    /// progenitor (`conversion to `T` for per_page failed`, or `.. for body failed: <typify's>`).
    pub(crate) fn conversion(message: &str) -> Self {
        let message = mask_personal_data(message);
        let inner = message.split_once(" failed: ").map_or(message.as_str(), |(_, inner)| inner);
        if let Some((_, field)) = inner.split_once("no value supplied for ") {
            return Error::invalid(field.trim(), "is required");
        }
        if let Some((field, reason)) = inner.split_once("error converting supplied value for ").and_then(|(_, rest)| rest.split_once(": ")) {
            return Error::invalid(field, reason);
        }
        if let Some((target, field)) = inner
            .strip_prefix("conversion to `")
            .and_then(|rest| rest.strip_suffix(" failed"))
            .and_then(|rest| rest.split_once("` for "))
        {
            return Error::invalid(field, format!("cannot be converted to {}", target.replace(' ', "")));
        }
        Error::InvalidInput { field: None, reason: message }
    }

    pub(crate) fn transport(error: reqwest::Error) -> Self {
        let error = error.without_url();
        Error::Transport { message: mask_personal_data(&error.to_string()), timeout: error.is_timeout(), source: Some(error) }
    }
}

/// How the transport classified a non-success answer; attached to the answer it hands to the
/// generated code, so the conversion below needs no I/O.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Refused by the client before sending.
    Invalid { field: String, reason: String },
    Api(ApiError),
    Authentication(String),
    /// A shared component (token store, rate limiter) failed before sending.
    Unavailable { component: &'static str, message: String },
    RateLimited(Option<Duration>),
    Undecodable { reason: String, snippet: String },
}

impl Failure {
    /// Reads Vandar's error body (any documented shape) or keeps a snippet of what came instead.
    pub(crate) fn from_body(status: u16, body: &[u8], retry_after: Option<Duration>) -> Self {
        let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) else {
            if status == 429 {
                return Failure::RateLimited(retry_after);
            }
            return Failure::Undecodable { reason: "not a JSON error body".into(), snippet: snippet(body) };
        };
        if status == 429 {
            return Failure::RateLimited(retry_after);
        }
        let text = |v: &serde_json::Value| match v {
            serde_json::Value::String(s) => Some(mask_personal_data(s)),
            serde_json::Value::Null => None,
            other => Some(mask_personal_data(&other.to_string())),
        };
        let mut fields: BTreeMap<String, Vec<String>> = BTreeMap::new();
        match map.get("errors") {
            Some(serde_json::Value::Object(errors)) => {
                for (field, messages) in errors {
                    let list: Vec<String> = match messages {
                        serde_json::Value::Array(items) => items.iter().filter_map(text).collect(),
                        other => text(other).into_iter().collect(),
                    };
                    let key = if field == "error" { String::new() } else { field.clone() };
                    fields.entry(key).or_default().extend(list);
                }
            }
            Some(serde_json::Value::Array(items)) => {
                fields.insert(String::new(), items.iter().filter_map(text).collect());
            }
            _ => {}
        }
        let message = ["message", "error"]
            .iter()
            .find_map(|k| map.get(*k).and_then(text))
            .or_else(|| fields.get("").and_then(|m| m.first().cloned()))
            .unwrap_or_else(|| format!("HTTP {status}"));
        if status == 401 || status == 403 {
            return Failure::Authentication(message);
        }
        let code = map.get("code").and_then(text);
        Failure::Api(ApiError { status, code, message, fields })
    }
}

/// The first 200 characters of a body, whitespace folded and personal data masked.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let folded: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    mask_personal_data(&folded.chars().take(200).collect::<String>())
}

impl<E> From<progenitor_client::Error<E>> for Error {
    fn from(error: progenitor_client::Error<E>) -> Self {
        use progenitor_client::Error as P;
        match error {
            P::InvalidRequest(reason) => Error::conversion(&reason),
            P::CommunicationError(e) | P::InvalidUpgrade(e) | P::ResponseBodyError(e) => Error::transport(e),
            P::InvalidResponsePayload(body, e) => {
                Error::Undecodable { status: None, reason: e.to_string(), snippet: snippet(&body) }
            }
            P::UnexpectedResponse(response) => from_response(&response),
            P::ErrorResponse(response) => Error::Api(Box::new(ApiError {
                status: response.status().as_u16(),
                code: None,
                message: "error answer".into(),
                fields: BTreeMap::new(),
            })),
            P::Custom(reason) => Error::conversion(&reason),
        }
    }
}

/// Turns an answer the generated code did not expect into an error, using the transport's reading.
pub(crate) fn from_response(response: &reqwest::Response) -> Error {
    let status = response.status().as_u16();
    let failure = response.extensions().get::<Failure>().cloned();
    match failure {
        Some(Failure::Invalid { field, reason }) => Error::InvalidInput { field: Some(field), reason },
        Some(Failure::Api(api)) => Error::Api(Box::new(api)),
        Some(Failure::Authentication(message)) => Error::Authentication { status: Some(status), message },
        Some(Failure::Unavailable { component, message }) => Error::Unavailable { component, message },
        Some(Failure::RateLimited(retry_after)) => Error::RateLimited { retry_after },
        Some(Failure::Undecodable { reason, snippet }) => Error::Undecodable { status: Some(status), reason, snippet },
        None if response.status().is_success() => Error::Undecodable {
            status: Some(status),
            reason: "a success status the spec does not document for this operation".into(),
            snippet: String::new(),
        },
        None => Error::Api(Box::new(ApiError { status, code: None, message: format!("HTTP {status}"), fields: BTreeMap::new() })),
    }
}
