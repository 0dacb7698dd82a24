//! The one public error type, shaped by what the caller can do about it.
use std::collections::BTreeMap;
use std::time::Duration;

use crate::mask::mask_personal_data;
use crate::reach::{classify, Observed, Reach, Verdict};

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

    /// The Client lacks configuration this call needs (business tokens, the IPG api_key, Miando
    /// credentials, the business slug), or a URL would send credentials off the configured host.
    /// Nothing was sent. Fix the configuration.
    #[error("not configured: {message}")]
    Configuration {
        /// What is missing and how to give it.
        message: String,
    },

    /// Vandar refused the credentials, or they expired and could not be renewed. Fix the
    /// credentials (for a refused refresh token, issue a new pair in the dashboard).
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
    #[error("undecodable answer{}: {reason}{}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default(), if snippet.is_empty() { String::new() } else { format!("; body starts with {snippet:?}") })]
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

    /// No rate-limit permit came within the call's deadline (`ClientBuilder::max_wait`,
    /// `CallOptions::max_wait`). Nothing was sent; try again, or later. The message says how
    /// long it waited, in which lane and budget, how far the earliest slot was and how many calls
    /// were ahead of it (all in `missed`).
    #[error("no rate-limit permit within the deadline: {missed}; nothing was sent")]
    DeadlineExceeded {
        /// How long the call waited for a permit.
        waited: Duration,
        /// What the limiter knew when the call gave up.
        missed: DeadlineMissed,
    },

    /// The journal holds this track id in a state that forbids sending it: it is being sent (by
    /// another process, or by one that died), in doubt, or done (see [`crate::journal::Journal`]'s
    /// one rule for a track id). Nothing was sent. The money moves of the `Client` look it up first
    /// and answer what the lookup proved; this error says what is known when it proved nothing:
    /// the entry's state and age, its outcome, and what was looked up. Not retryable as it is:
    /// wait for recovery (or check the dashboard) and decide; never send the move under a new track
    /// id while it may have been carried out.
    #[error(
        "{operation} was not sent: the journal holds track id {track_id}, {state} for {age:?}{}{}",
        outcome.as_ref().map(|o| format!(" (outcome: {})", o.kind())).unwrap_or_default(),
        looked_up.as_ref().map(|l| format!("; {l}")).unwrap_or_default()
    )]
    TrackIdInUse {
        /// The operation id.
        operation: String,
        /// The track id (a batch's `batch_id`).
        track_id: String,
        /// Where the journal's entry is in its life.
        state: crate::journal::outcome::EntryState,
        /// How long ago it was last sent (or written).
        age: Duration,
        /// Its last outcome, if any.
        outcome: Option<crate::journal::outcome::Outcome>,
        /// What the lookup answered, when one was asked.
        looked_up: Option<String>,
        /// Whether the journal's entry is this very move (the same body, sent to the same place);
        /// `false`: another move holds this track id, and nothing is looked up for it.
        same_move: bool,
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
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// Miando's code, when given.
    pub code: Option<ErrorCode>,
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
        // Each message once: Vandar often repeats its message among the field messages.
        let mut said = vec![self.message.as_str()];
        for (field, messages) in &self.fields {
            let fresh: Vec<&str> = messages.iter().map(String::as_str).filter(|m| !said.contains(m)).collect();
            if !fresh.is_empty() {
                write!(f, "; {}{}", if field.is_empty() { String::new() } else { format!("{field}: ") }, fresh.join(", "))?;
            }
            said.extend(fresh);
        }
        Ok(())
    }
}

/// What kind of failure Vandar reported, to match on without reading Persian: Miando's documented
/// `code`s, and the business failures Vandar reports only in words (a Persian or English message,
/// often under a field), recognized from the texts its documents and the mock show. The original
/// texts are always kept in [`ApiError::message`] and [`ApiError::fields`].
///
/// The codes Vandar sends (`validation_error`, `user_not_found`, `invalid_state_agreement`,
/// `not_found_error`) are read as sent; the others are this crate's names for a recognized text
/// (Vandar's main API sends no code). A message this crate does not recognize leaves
/// [`ApiError::code`] as Vandar sent it (`None`, or [`ErrorCode::ValidationError`]); a code the
/// documents do not list is [`ErrorCode::Other`], as sent.
///
/// ```
/// use vandar::ErrorCode;
/// # fn pay_out() -> Result<(), vandar::Error> { Ok(()) }
/// match pay_out() {
///     Err(error) if error.code() == Some(&ErrorCode::InsufficientBalance) => { /* top the wallet up, or queue it */ }
///     Err(error) if error.code() == Some(&ErrorCode::UnknownIban) => { /* ask the payee for their IBAN again */ }
///     other => other?,
/// }
/// # Ok::<(), vandar::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// `validation_error`: a field is invalid (see [`ApiError::fields`]).
    ValidationError,
    /// `user_not_found`: a party of the agreement is not a Miando customer
    /// ("اطلاعات کاربر در سیستم موجود نیست.").
    UserNotFound,
    /// `invalid_state_agreement`: the agreement is not in a state that allows this action
    /// ("وضعیت قرارداد نامعتبر است!").
    InvalidStateAgreement,
    /// `not_found_error`: no such agreement, customer, settlement or webhook (also any 404 whose
    /// text says "یافت نشد" / "not found" and matches nothing more specific).
    NotFoundError,
    /// `insufficient_balance`: the wallet (or the customer's wallet) holds less than the amount
    /// ("موجودی کیف پول کافی نیست"). Top the wallet up, or use `settlement_queued_store`.
    InsufficientBalance,
    /// `unknown_iban`: the IBAN or bank account is not found or not accepted ("IBAN not found",
    /// "شبا یافت نشد"). Ask the payee for it again; sending again will not help.
    UnknownIban,
    /// `already_verified`: the payment (or the direct-debit authorization) was verified before
    /// ("تراکنش قبلا تایید شده است", "authorization already verified"). `verify_payment` reads
    /// this for you and answers `AlreadyVerified` after a lookup.
    AlreadyVerified,
    /// `not_paid`: verify of a payment the payer did not pay ("تراکنش پرداخت نشده است").
    NotPaid,
    /// `invalid_token`: the payment token is unknown or expired ("token is invalid", "توکن نامعتبر
    /// است"). Start a new payment.
    InvalidToken,
    /// `duplicate_track_id`: the track_id was used before ("track_id تکراری است"). Look the first
    /// move up by its track_id instead of sending it again.
    DuplicateTrackId,
    /// `not_cancelable`: the settlement (or withdrawal) can no longer be canceled ("این تسویه قابل
    /// لغو نیست"): it was instant, or the bank has it.
    NotCancelable,
    /// `tool_not_active`: the service is not enabled for the business ("cash-in tool not active").
    /// Ask Vandar's support to enable it.
    ToolNotActive,
    /// `limit_exceeded`: a count or amount limit was reached (a direct-debit authorization's
    /// monthly withdrawals, a daily limit).
    LimitExceeded,
    /// `bank_unavailable`: the bank cannot be reached now (Vandar's 409 for withdrawals). Try again later.
    BankUnavailable,
    /// A code the documents do not list, as sent.
    Other(String),
}

/// Every named code, in the order `From<&str>` reads them back.
const NAMED: [ErrorCode; 14] = [
    ErrorCode::ValidationError,
    ErrorCode::UserNotFound,
    ErrorCode::InvalidStateAgreement,
    ErrorCode::NotFoundError,
    ErrorCode::InsufficientBalance,
    ErrorCode::UnknownIban,
    ErrorCode::AlreadyVerified,
    ErrorCode::NotPaid,
    ErrorCode::InvalidToken,
    ErrorCode::DuplicateTrackId,
    ErrorCode::NotCancelable,
    ErrorCode::ToolNotActive,
    ErrorCode::LimitExceeded,
    ErrorCode::BankUnavailable,
];

impl ErrorCode {
    /// The code as Vandar sends it (or, for a failure recognized from its text, this crate's name).
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::ValidationError => "validation_error",
            ErrorCode::UserNotFound => "user_not_found",
            ErrorCode::InvalidStateAgreement => "invalid_state_agreement",
            ErrorCode::NotFoundError => "not_found_error",
            ErrorCode::InsufficientBalance => "insufficient_balance",
            ErrorCode::UnknownIban => "unknown_iban",
            ErrorCode::AlreadyVerified => "already_verified",
            ErrorCode::NotPaid => "not_paid",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::DuplicateTrackId => "duplicate_track_id",
            ErrorCode::NotCancelable => "not_cancelable",
            ErrorCode::ToolNotActive => "tool_not_active",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::BankUnavailable => "bank_unavailable",
            ErrorCode::Other(code) => code,
        }
    }

    /// The failure a message of Vandar's describes, if this crate knows the text (Persian or
    /// English, any of Vandar's spellings: Arabic or Persian yeh and kaf, with or without the
    /// zero-width non-joiner). `status` tells a 404 and a 409 apart.
    pub fn recognize(status: u16, text: &str) -> Option<ErrorCode> {
        let text = normalize(text);
        let has = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
        Some(if has(&["موجودی"]) && has(&["کافی نیست", "کافی نمی", "ناکافی"]) || has(&["insufficient", "not enough balance", "balance is not enough"]) {
            ErrorCode::InsufficientBalance
        } else if has(&["قبلا تایید", "قبلا وریفای", "already verified", "already been verified"]) {
            ErrorCode::AlreadyVerified
        } else if has(&["پرداخت نشده", "not paid", "unpaid"]) {
            ErrorCode::NotPaid
        } else if has(&["تکراری", "duplicate", "already been taken", "already exists"]) {
            ErrorCode::DuplicateTrackId
        } else if has(&["شبا", "iban", "حساب", "account"])
            && has(&["یافت نشد", "پیدا نشد", "نامعتبر", "معتبر نیست", "موجود نیست", "not found", "not acceptable", "invalid", "unknown"])
        {
            ErrorCode::UnknownIban
        } else if has(&["توکن", "token"]) && has(&["نامعتبر", "معتبر نیست", "منقضی", "یافت نشد", "invalid", "expired", "not found", "unknown"])
            && !has(&["refresh", "access token", "api_key"])
        {
            ErrorCode::InvalidToken
        } else if has(&["قابل لغو نیست", "قابل کنسل نیست", "امکان لغو", "cannot be canceled", "cannot be cancelled", "not cancelable"]) {
            ErrorCode::NotCancelable
        } else if has(&["وضعیت قرارداد نامعتبر", "وضعیت معامله نامعتبر", "invalid state"]) {
            ErrorCode::InvalidStateAgreement
        } else if has(&["اطلاعات کاربر در سیستم موجود نیست", "user not found"]) {
            ErrorCode::UserNotFound
        } else if has(&["فعال نیست", "غیرفعال", "not active", "not enabled"]) {
            ErrorCode::ToolNotActive
        } else if has(&["سقف", "حد مجاز", "limit", "monthly count", "count reached"]) {
            ErrorCode::LimitExceeded
        } else if status == 409 || has(&["بانک در دسترس نیست", "bank unavailable", "bank is unavailable", "bank is not available"]) {
            ErrorCode::BankUnavailable
        } else if status == 404 && has(&["یافت نشد", "پیدا نشد", "موجود نیست", "not found", "no such"]) {
            ErrorCode::NotFoundError
        } else {
            return None;
        })
    }
}

/// Lower case, Arabic yeh and kaf as Persian, the zero-width non-joiner and `ً` dropped (`قبلاً` reads
/// as `قبلا`), whitespace folded.
fn normalize(text: &str) -> String {
    let mapped: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{064B}' | '\u{200F}' | '\u{200E}'))
        .map(|c| match c {
            'ي' | 'ى' => 'ی',
            'ك' => 'ک',
            'أ' | 'إ' => 'ا',
            '\u{200C}' => ' ',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl From<&str> for ErrorCode {
    fn from(code: &str) -> Self {
        NAMED.into_iter().find(|named| named.as_str() == code).unwrap_or_else(|| ErrorCode::Other(code.to_string()))
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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

    /// What kind of business failure Vandar reported: the code it sent, or the one its message
    /// was recognized as (see [`ErrorCode`]); `None` for every other error.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            Error::Api(api) => api.code.as_ref(),
            _ => None,
        }
    }

    /// How far the failed request got: never sent, refused unprocessed, in doubt, or processed
    /// with an unreadable answer. A money move that is [`Reach::InDoubt`] or [`Reach::Processed`]
    /// must be looked up before it is sent again (the `Client`'s money moves do).
    pub fn reach(&self) -> Reach {
        self.verdict().reach
    }

    /// Whether the same request may succeed if sent again later: a rate limit, a transport failure,
    /// a shared component down, or a server-side failure (HTTP 500/502/503/504, or a proxy's HTML
    /// page in its place). Whether sending again is *safe* is another matter: see [`Error::reach`];
    /// [`Error::Indeterminate`] is never retryable.
    pub fn is_retryable(&self) -> bool {
        self.verdict().transient
    }

    /// The classifier's reading of this error (see `crate::reach`).
    pub(crate) fn verdict(&self) -> Verdict {
        let observed = match self {
            Error::InvalidInput { .. } | Error::Configuration { .. } | Error::TrackIdInUse { .. } => Observed::Local { transient: false },
            Error::Unavailable { .. } | Error::DeadlineExceeded { .. } => Observed::Local { transient: true },
            Error::Authentication { status: None, .. } => Observed::Local { transient: false },
            Error::Authentication { status: Some(status), .. } => Observed::Status(*status),
            Error::RateLimited { .. } => Observed::Status(429),
            Error::Api(api) => Observed::Status(api.status),
            Error::Transport { source: Some(source), .. } => crate::reach::observe_transport(source),
            Error::Transport { source: None, .. } => Observed::AnswerLost,
            // No status: progenitor could not read a success answer's body.
            Error::Undecodable { status, .. } => Observed::Status(status.unwrap_or(200)),
            Error::Indeterminate { .. } => Observed::Unproven,
        };
        classify(observed)
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
    /// Credentials refused by Vandar (`status`: what it answered), or missing or unusable locally
    /// (`status: None`; nothing was sent).
    Authentication { status: Option<u16>, message: String },
    /// Local configuration missing; nothing was sent.
    Configuration(String),
    /// A shared component (token store, rate limiter) failed before sending.
    Unavailable { component: &'static str, message: String },
    /// No rate-limit permit within the call's deadline; nothing was sent.
    Deadline(DeadlineMissed),
    RateLimited(Option<Duration>),
    Undecodable { reason: String, snippet: String },
    /// The journal holds the track id: nothing was sent.
    Held(Box<Held>),
}

/// What the journal held of a track id the transport refused to send.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) operation: String,
    pub(crate) track_id: String,
    pub(crate) state: crate::journal::outcome::EntryState,
    pub(crate) age: Duration,
    pub(crate) outcome: Option<crate::journal::outcome::Outcome>,
    pub(crate) same_move: bool,
}

impl Failure {
    /// One word for the kind, for the `error` field of a span (never the message: it may quote
    /// the request).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Failure::Invalid { .. } => "invalid",
            Failure::Api(_) => "api",
            Failure::Authentication { .. } => "authentication",
            Failure::Configuration(_) => "configuration",
            Failure::Unavailable { .. } => "unavailable",
            Failure::Deadline { .. } => "deadline",
            Failure::RateLimited(_) => "rate_limited",
            Failure::Undecodable { .. } => "undecodable",
            Failure::Held(_) => "track_id_in_use",
        }
    }

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
            return Failure::Authentication { status: Some(status), message };
        }
        let sent = map.get("code").and_then(text).map(|c| ErrorCode::from(c.as_str()));
        // A specific code Vandar sent stands; otherwise the texts say what failed (Vandar's main API
        // sends no code, and Miando's `validation_error` may carry a business failure in a field).
        let code = match sent {
            Some(code) if code != ErrorCode::ValidationError => Some(code),
            sent => std::iter::once(&message)
                .chain(fields.values().flatten())
                .find_map(|text| ErrorCode::recognize(status, text))
                .or(sent),
        };
        Failure::Api(ApiError { status, code, message, fields })
    }
}

/// The first 200 characters of a body, whitespace folded and personal data masked; an HTML page
/// (a proxy's error page) is reduced to its `<title>`, or its text without tags.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let html = ["<!doctype html", "<html", "<head", "<body", "<title"].iter().any(|tag| lower.trim_start().starts_with(tag) || lower.contains(tag));
    let text = if !html {
        text
    } else if let Some(title) = lower.find("<title").and_then(|at| {
        let open = at + lower[at..].find('>')? + 1;
        let close = open + lower[open..].find("</title")?;
        Some(&text[open..close])
    }) {
        std::borrow::Cow::Owned(format!("HTML page: {}", title.trim()))
    } else {
        let mut plain = String::new();
        let mut in_tag = false;
        for c in text.chars() {
            match c {
                '<' => in_tag = true,
                '>' => {
                    in_tag = false;
                    plain.push(' ');
                }
                c if !in_tag => plain.push(c),
                _ => {}
            }
        }
        std::borrow::Cow::Owned(format!("HTML page: {plain}"))
    };
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
        // The status Vandar answered, never the one a local refusal is handed to the generated code with.
        Some(Failure::Authentication { status, message }) => Error::Authentication { status, message },
        Some(Failure::Configuration(message)) => Error::Configuration { message },
        Some(Failure::Unavailable { component, message }) => Error::Unavailable { component, message },
        Some(Failure::Deadline(missed)) => Error::DeadlineExceeded { waited: missed.waited, missed },
        Some(Failure::RateLimited(retry_after)) => Error::RateLimited { retry_after },
        Some(Failure::Undecodable { reason, snippet }) => Error::Undecodable { status: Some(status), reason, snippet },
        Some(Failure::Held(held)) => {
            let Held { operation, track_id, state, age, outcome, same_move } = *held;
            Error::TrackIdInUse { operation, track_id, state, age, outcome, looked_up: None, same_move }
        }
        None if response.status().is_success() => Error::Undecodable {
            status: Some(status),
            reason: "a success status the spec does not document for this operation".into(),
            snippet: String::new(),
        },
        None => Error::Api(Box::new(ApiError { status, code: None, message: format!("HTTP {status}"), fields: BTreeMap::new() })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: Option<&str>, message: &str, fields: &[(&str, &str)]) -> Error {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (field, text) in fields {
            map.entry(field.to_string()).or_default().push(text.to_string());
        }
        Error::Api(Box::new(ApiError { status, code: code.map(ErrorCode::from), message: message.into(), fields: map }))
    }

    /// Every variant's Display, as a user reads it in a log line, with status() and is_retryable().
    #[test]
    fn every_variant_reads_well() {
        let table: Vec<(Error, &str, Option<u16>, bool)> = vec![
            (Error::invalid("amount", "must be at least 1000"), "invalid input (amount): must be at least 1000", None, false),
            (Error::InvalidInput { field: None, reason: "body is not JSON".into() }, "invalid input: body is not JSON", None, false),
            (Error::Configuration { message: "ipg_send needs an IPG api_key".into() }, "not configured: ipg_send needs an IPG api_key", None, false),
            (
                Error::Authentication { status: Some(401), message: "refresh token refused; issue a new pair".into() },
                "authentication failed (HTTP 401): refresh token refused; issue a new pair",
                Some(401),
                false,
            ),
            (Error::RateLimited { retry_after: Some(Duration::from_secs(2)) }, "rate limited by Vandar; retry after 2s", Some(429), true),
            (Error::RateLimited { retry_after: None }, "rate limited by Vandar", Some(429), true),
            // Vandar's message is not repeated when it is also the field's message.
            (
                api(422, None, "token is invalid", &[("", "token is invalid"), ("token", "token is invalid"), ("amount", "too small")]),
                "Vandar answered HTTP 422: token is invalid; amount: too small",
                Some(422),
                false,
            ),
            (
                api(400, Some("invalid_state_agreement"), "agreement is not in state", &[]),
                "Vandar answered HTTP 400 (invalid_state_agreement): agreement is not in state",
                Some(400),
                false,
            ),
            (api(503, None, "HTTP 503", &[]), "Vandar answered HTTP 503: HTTP 503", Some(503), true),
            (
                Error::Transport { message: "operation timed out".into(), timeout: true, source: None },
                "transport error (timeout): operation timed out",
                None,
                true,
            ),
            (
                Error::Undecodable { status: Some(502), reason: "not a JSON error body".into(), snippet: "HTML page: 502 Bad Gateway".into() },
                "undecodable answer (HTTP 502): not a JSON error body; body starts with \"HTML page: 502 Bad Gateway\"",
                Some(502),
                true,
            ),
            (
                Error::Undecodable { status: None, reason: "missing field `wallet`".into(), snippet: String::new() },
                "undecodable answer: missing field `wallet`",
                None,
                false,
            ),
            (Error::Unavailable { component: "rate limiter", message: "redis refused".into() }, "rate limiter unavailable: redis refused", None, true),
            (
                Error::Indeterminate { operation: "settlement_store", track_id: "t-1".into(), reason: "HTTP 504; no record found".into() },
                "outcome unknown for settlement_store (track_id t-1): HTTP 504; no record found",
                None,
                false,
            ),
        ];
        for (error, display, status, retryable) in table {
            assert_eq!(error.to_string(), display);
            assert_eq!((error.status(), error.is_retryable()), (status, retryable), "{display}");
        }
    }

    #[test]
    fn codes_are_an_enum_open_to_new_ones() {
        assert_eq!(ErrorCode::from("user_not_found"), ErrorCode::UserNotFound);
        assert_eq!(ErrorCode::from("rate_exceeded"), ErrorCode::Other("rate_exceeded".into()));
        assert_eq!(ErrorCode::InvalidStateAgreement.to_string(), "invalid_state_agreement");
        let failure = Failure::from_body(400, br#"{"message":"m","code":"not_found_error"}"#, None);
        assert!(matches!(failure, Failure::Api(ApiError { code: Some(ErrorCode::NotFoundError), .. })));
    }

    /// Vandar's and Miando's texts (its documents' and the mock's), in each error shape, read as codes.
    #[test]
    fn business_failures_are_recognized_from_vandars_texts() {
        let code = |status: u16, body: &str| match Failure::from_body(status, body.as_bytes(), None) {
            Failure::Api(api) => api.code,
            other => panic!("{other:?}"),
        };
        let table: [(u16, &str, Option<ErrorCode>); 17] = [
            (422, r#"{"message":"The given data was invalid.","errors":{"amount":["موجودی کیف پول کافی نیست"]}}"#, Some(ErrorCode::InsufficientBalance)),
            (422, r#"{"message":"The given data was invalid.","errors":{"amount":["موجودي كيف پول مشتري كافي نيست"]}}"#, Some(ErrorCode::InsufficientBalance)),
            (422, r#"{"status":0,"errors":{"iban":["IBAN not found"]}}"#, Some(ErrorCode::UnknownIban)),
            (422, r#"{"status":0,"errors":["تراکنش قبلا تایید شده است"]}"#, Some(ErrorCode::AlreadyVerified)),
            (422, r#"{"status":0,"errors":["تراکنش قبلاً تأیید شده است"]}"#, Some(ErrorCode::AlreadyVerified)),
            (422, r#"{"status":0,"message":"authorization already verified"}"#, Some(ErrorCode::AlreadyVerified)),
            (422, r#"{"status":0,"errors":["تراکنش پرداخت نشده است"]}"#, Some(ErrorCode::NotPaid)),
            (422, r#"{"status":0,"errors":["token is invalid"]}"#, Some(ErrorCode::InvalidToken)),
            (422, r#"{"message":"The given data was invalid.","errors":{"track_id":["track_id تکراری است"]}}"#, Some(ErrorCode::DuplicateTrackId)),
            (422, r#"{"message":"The given data was invalid.","errors":{"settlement_id":["این تسویه قابل لغو نیست"]}}"#, Some(ErrorCode::NotCancelable)),
            (400, r#"{"message":"وضعیت قرارداد نامعتبر است!","code":"invalid_state_agreement","errors":{}}"#, Some(ErrorCode::InvalidStateAgreement)),
            (400, r#"{"message":"اطلاعات کاربر در سیستم موجود نیست.","code":"user_not_found"}"#, Some(ErrorCode::UserNotFound)),
            (422, r#"{"status":0,"errors":{"error":"cash-in tool not active"}}"#, Some(ErrorCode::ToolNotActive)),
            (409, r#"{"status":0,"message":"بانک در حال حاضر پاسخگو نیست"}"#, Some(ErrorCode::BankUnavailable)),
            (404, r#"{"status":0,"message":"تسویه یافت نشد"}"#, Some(ErrorCode::NotFoundError)),
            // Miando's validation_error carrying a field message: still a validation error.
            (422, r#"{"message":"مقادیر ورودی صحیح نیستند.","code":"validation_error","errors":{"applicant_mobile":"فیلد موبایل تایید کننده الزامی است"}}"#, Some(ErrorCode::ValidationError)),
            // A text nobody taught the crate: no code, the text kept.
            (422, r#"{"status":0,"errors":["amount must not be below 1000"]}"#, None),
        ];
        for (status, body, expected) in table {
            assert_eq!(code(status, body), expected, "{body}");
        }
        let Failure::Api(api) = Failure::from_body(422, "{\"status\":0,\"errors\":[\"خطای تازه\"]}".as_bytes(), None) else { panic!() };
        assert_eq!((api.code, api.message.as_str()), (None, "خطای تازه"), "the original text is kept");
        // Every code reads back from its name.
        for named in NAMED {
            assert_eq!(ErrorCode::from(named.as_str()), named);
        }
    }

    #[test]
    fn an_html_page_is_reduced_to_its_title() {
        let nginx = b"<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(snippet(nginx), "HTML page: 503 Service Temporarily Unavailable");
        assert_eq!(snippet(b"<html><body><h1>Bad gateway</h1></body></html>").split_whitespace().collect::<Vec<_>>().join(" "), "HTML page: Bad gateway");
        assert_eq!(snippet(b"{\"status\":0,\"error\":\"x\"}"), "{\"status\":0,\"error\":\"x\"}");
    }
}

/// What a call refused for its deadline knew when it gave up (see [`Error::DeadlineExceeded`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeadlineMissed {
    /// How long the call waited for a permit before giving up.
    pub waited: Duration,
    /// `"POST"` or `"other"`: which of Vandar's two budgets.
    pub budget: &'static str,
    /// `"renewal"`, `"interactive"` or `"background"`.
    pub lane: &'static str,
    /// How far from then the earliest slot it could have had was, when known.
    pub earliest: Option<Duration>,
    /// Calls (fleet-wide with the Redis budget) holding a slot later than now, i.e. ahead of it.
    pub ahead: u32,
}

impl std::fmt::Display for DeadlineMissed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "a call in the {} lane found no slot of Vandar's {} budget within its deadline: it waited {:?}", self.lane, self.budget, self.waited)?;
        if let Some(earliest) = self.earliest {
            write!(f, " and the earliest slot was {earliest:?} away")?;
        }
        write!(f, ", with {} call(s) ahead of it", self.ahead)
    }
}

