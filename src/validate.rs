//! Iranian identifiers, checked before anything is sent and public for your own forms: IBAN (Sheba,
//! ISO 13616 mod-97), national code (check digit), mobile (normalized to `09…`), card number (Luhn).
//! Persian (۰-۹) and Arabic-Indic (٠-٩) digits are read as ASCII digits first, and spaces and dashes
//! are ignored.
//!
//! ```
//! use vandar::validate;
//! assert_eq!(validate::mobile("+98 912 345 6789")?, "09123456789");
//! assert_eq!(validate::iban("ir33 0120 0200 0000 2353 6972 00")?, "IR330120020000002353697200");
//! assert!(validate::national_code("۰۰۱۳۵۴۲۴۱۹").is_ok());
//! assert!(validate::card_number("6037-9912-3456-7890").is_err()); // Luhn fails
//! # Ok::<(), vandar::validate::InvalidId>(())
//! ```
//!
//! The Client also checks every request body against the spec's numeric bounds (amount >= 1000
//! Rials for ipg_send, >= 5000 Tomans for settlement_store, at most 10 cards, ...) and runs these
//! validators on every body field the spec types as `Iban`, `Mobile`, `NationalCode` or `CardNumber`.
use serde_json::Value;

/// Which identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum IdKind {
    /// IBAN (Sheba)
    Iban,
    /// National code (کد ملی)
    NationalCode,
    /// Mobile number
    Mobile,
    /// Bank card number
    CardNumber,
}

/// An identifier that does not pass its check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind:?}: {reason}")]
pub struct InvalidId {
    /// Which identifier.
    pub kind: IdKind,
    /// Why.
    pub reason: &'static str,
}

fn invalid(kind: IdKind, reason: &'static str) -> InvalidId {
    InvalidId { kind, reason }
}

/// Persian and Arabic-Indic digits to ASCII; everything else unchanged.
pub fn normalize_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '۰'..='۹' => char::from(b'0' + (c as u32 - '۰' as u32) as u8),
            '٠'..='٩' => char::from(b'0' + (c as u32 - '٠' as u32) as u8),
            other => other,
        })
        .collect()
}

/// Normalized digits without spaces, dashes or other separators.
fn compact(text: &str) -> String {
    normalize_digits(text).chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '\u{200c}').collect()
}

/// An Iranian IBAN: `IR` + 24 digits whose ISO 13616 check (mod 97) holds. Returns it compact and upper case.
pub fn iban(text: &str) -> Result<String, InvalidId> {
    let iban = compact(text).to_ascii_uppercase();
    let digits = iban.strip_prefix("IR").ok_or(invalid(IdKind::Iban, "must start with IR"))?;
    if digits.len() != 24 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(IdKind::Iban, "must be IR followed by 24 digits"));
    }
    // Move "IR" and the check digits to the end; I = 18, R = 27; the remainder mod 97 must be 1.
    let rearranged = format!("{}1827{}", &digits[2..], &digits[..2]);
    let remainder = rearranged.bytes().fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97);
    if remainder != 1 {
        return Err(invalid(IdKind::Iban, "check digits do not match (mod 97)"));
    }
    Ok(iban)
}

/// An Iranian national code: 10 digits with a valid check digit (not all the same digit).
pub fn national_code(text: &str) -> Result<String, InvalidId> {
    let code = compact(text);
    if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(IdKind::NationalCode, "must be 10 digits"));
    }
    let d: Vec<u32> = code.bytes().map(|b| u32::from(b - b'0')).collect();
    if d.iter().all(|x| *x == d[0]) {
        return Err(invalid(IdKind::NationalCode, "cannot be one repeated digit"));
    }
    let sum: u32 = (0..9).map(|i| d[i] * (10 - i as u32)).sum();
    let r = sum % 11;
    let check = if r < 2 { r } else { 11 - r };
    if d[9] != check {
        return Err(invalid(IdKind::NationalCode, "check digit does not match"));
    }
    Ok(code)
}

/// An Iranian mobile number, returned as `09xxxxxxxxx`; accepts `+98…`, `0098…`, `98…` and `9…` too.
pub fn mobile(text: &str) -> Result<String, InvalidId> {
    let number = compact(text);
    let number = number.strip_prefix('+').unwrap_or(&number);
    let national = ["0098", "98", "0"].iter().find_map(|p| number.strip_prefix(p).filter(|rest| rest.len() == 10)).unwrap_or(number);
    if national.len() != 10 || !national.starts_with('9') || !national.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(IdKind::Mobile, "must be 09 followed by 9 digits"));
    }
    Ok(format!("0{national}"))
}

/// A 16-digit bank card number passing the Luhn check.
pub fn card_number(text: &str) -> Result<String, InvalidId> {
    let card = compact(text);
    if card.len() != 16 || !card.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(IdKind::CardNumber, "must be 16 digits"));
    }
    let sum: u32 = card
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err(invalid(IdKind::CardNumber, "check digit does not match (Luhn)"));
    }
    Ok(card)
}


/// A bound from the spec.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Constraint {
    /// The least value, and the unit it is in, as a suffix (`" Tomans"`, `" Rials"`, or `""`), so
    /// the message says "must be at least 5000 Tomans".
    Minimum(f64, &'static str),
    /// The greatest value, and its unit (as `Minimum`).
    Maximum(f64, &'static str),
    MinItems(usize),
    MaxItems(usize),
    /// Length of a string in characters (JSON Schema counts code points, not bytes).
    #[allow(dead_code)] // no field in the spec has one yet; the table would use it
    MinLength(usize),
    MaxLength(usize),
    /// A regular expression the whole string must match. The spec's patterns are the simple
    /// subset that ECMA-262 (JSON Schema's dialect) and `regex-lite` read alike (tests/spec.rs
    /// checks every one compiles).
    Pattern(&'static str),
    /// The field is one of the identifier schemas.
    Id(IdKind),
    /// In the object at the path, `field` needs `needs` beside it (the spec's `x-dependentRequired`,
    /// e.g. IPG send's national_code needs mobile_number).
    Requires { field: &'static str, needs: &'static str },
    /// The object at the path must hold this field (the schema's `required`).
    Required(&'static str),
    /// The value must be one of these (a closed request `enum`), each written as JSON text (`"\"buyer\""`, `0`).
    OneOf(&'static [&'static str]),
    /// An absolute `http` or `https` URL (the spec's `format: uri`): Vandar calls it or sends a
    /// browser to it, so a typo is caught before the payment, not after it.
    Url,
    /// A format JSON Schema's checkers read (`email`, `uuid`, `date`), checked as they check it, so a value a
    /// generator draws as valid passes and one it draws as invalid does not.
    Format(Format),
    /// The JSON type the schema states, and whether null is allowed (`nullable`). Checked by the mock only: the
    /// client's typed builders cannot send another type.
    Type { kind: JsonType, nullable: bool },
}

/// A JSON Schema type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonType {
    Integer,
    #[allow(dead_code)] // no request field of the spec is a `number` yet; the table would use it
    Number,
    String,
    Boolean,
    Array,
    Object,
}

impl JsonType {
    /// Whether `value` is of this type (JSON Schema's rule: `1.0` is an integer).
    fn admits(self, value: &Value) -> bool {
        match (self, value) {
            (JsonType::Integer, Value::Number(n)) => n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0),
            (JsonType::Number, Value::Number(_)) | (JsonType::String, Value::String(_)) | (JsonType::Boolean, Value::Bool(_)) => true,
            (JsonType::Array, Value::Array(_)) | (JsonType::Object, Value::Object(_)) => true,
            _ => false,
        }
    }

    /// Whether a query string's `text` reads as this type, as OpenAPI serializes it (`true`/`false`, digits).
    fn admits_text(self, text: &str) -> bool {
        let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
        match self {
            JsonType::Integer => digits(text.strip_prefix('-').unwrap_or(text)),
            JsonType::Number => text.parse::<f64>().is_ok_and(f64::is_finite),
            JsonType::Boolean => matches!(text, "true" | "false"),
            JsonType::String => true,
            JsonType::Array | JsonType::Object => false,
        }
    }

    fn name(self) -> &'static str {
        match self {
            JsonType::Integer => "an integer",
            JsonType::Number => "a number",
            JsonType::String => "a string",
            JsonType::Boolean => "a boolean",
            JsonType::Array => "an array",
            JsonType::Object => "an object",
        }
    }
}

/// A string format the spec names that JSON Schema's checkers check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Holds an `@` (python-jsonschema's rule, the one schemathesis reads).
    Email,
    /// A hyphenated UUID, `8-4-4-4-12` hex digits.
    Uuid,
    /// A full date, `YYYY-MM-DD`, that exists in the calendar (RFC 3339's full-date).
    Date,
}

impl Format {
    fn admits(self, text: &str) -> bool {
        match self {
            Format::Email => text.contains('@'),
            Format::Uuid => text.len() == 36 && uuid::Uuid::try_parse(text).is_ok(),
            Format::Date => {
                text.len() == 10 && text.as_bytes()[4] == b'-' && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
            }
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Email => "an email address",
            Format::Uuid => "a UUID",
            Format::Date => "a date (YYYY-MM-DD)",
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/constraints.rs"));

/// The spec's patterns, each compiled once, on first use of any (None: it does not compile, which
/// tests/spec.rs rules out). regex-lite shares its matching caches across threads.
fn compiled(pattern: &'static str) -> Option<&'static regex_lite::Regex> {
    static PATTERNS: std::sync::OnceLock<std::collections::HashMap<&'static str, regex_lite::Regex>> = std::sync::OnceLock::new();
    let patterns = PATTERNS.get_or_init(|| {
        CONSTRAINTS
            .iter()
            .filter_map(|(_, _, constraint)| match constraint {
                Constraint::Pattern(pattern) => regex_lite::Regex::new(pattern).ok().map(|re| (*pattern, re)),
                _ => None,
            })
            .collect()
    });
    patterns.get(pattern)
}

/// The first bound `body` breaks for `operation`: (field, reason). Required fields are left to the typed
/// builders (which cannot leave one out) and the transport (which fills `api_key` in after this check).
pub(crate) fn check(operation: &str, body: &Value) -> Result<(), (String, String)> {
    check_rows_where(operation, body, |path| (!path.starts_with('?')).then_some(path), false)
}

/// Every rule of the body, required fields and JSON types included: what the mock refuses.
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub(crate) fn check_received(operation: &str, body: &Value) -> Result<(), (String, String)> {
    check_rows_where(operation, body, |path| (!path.starts_with('?')).then_some(path), true)
}

/// Every rule of the query string, as the mock reads it: a parameter given twice, or a value that does not read as
/// its type (`is_healthy=null` for a boolean), then the bounds `check_query` checks. (parameter, reason).
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub(crate) fn check_received_query(operation: &str, url: &url::Url) -> Result<(), (String, String)> {
    let mut seen = std::collections::HashSet::new();
    for (name, value) in url.query_pairs() {
        let declared = |wanted: &str| rows_of(operation).iter().find_map(|(_, path, c)| match c {
            Constraint::Type { kind, .. } if path.strip_prefix('?') == Some(wanted) => Some(*kind),
            _ => None,
        });
        let Some(kind) = declared(&name) else { continue };
        if !seen.insert(name.clone()) {
            return Err((name.into_owned(), "must be given once".to_string()));
        }
        if !kind.admits_text(&value) {
            return Err((name.into_owned(), format!("must be {}", kind.name())));
        }
        // A format reads the text as sent (`q=0` is no UUID, though `check_query` reads it as a number).
        let format = rows_of(operation).iter().find_map(|(_, path, c)| match c {
            Constraint::Format(format) if path.strip_prefix('?') == Some(&*name) => Some(*format),
            _ => None,
        });
        if let Some(format) = format.filter(|format| !format.admits(&value)) {
            return Err((name.into_owned(), format!("must be {}", format.name())));
        }
    }
    check_query(operation, url)
}

/// The first bound the query string breaks for `operation`: (parameter, reason). Values that read
/// as numbers are checked as numbers.
pub(crate) fn check_query(operation: &str, url: &url::Url) -> Result<(), (String, String)> {
    if !rows_of(operation).iter().any(|(_, path, _)| path.starts_with('?')) {
        return Ok(());
    }
    let params: serde_json::Map<String, Value> = url
        .query_pairs()
        .map(|(name, value)| {
            let value = value.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::from(value.into_owned()));
            (name.into_owned(), value)
        })
        .collect();
    check_rows(operation, &Value::Object(params), |path| path.strip_prefix('?'))
}

/// Whether the spec bounds any body field of `operation`.
pub(crate) fn checks_body(operation: &str) -> bool {
    rows_of(operation).iter().any(|(_, path, _)| !path.starts_with('?'))
}

fn check_rows(operation: &str, body: &Value, at: impl Fn(&'static str) -> Option<&'static str>) -> Result<(), (String, String)> {
    check_rows_where(operation, body, at, false)
}

fn check_rows_where(
    operation: &str,
    body: &Value,
    at: impl Fn(&'static str) -> Option<&'static str>,
    required: bool,
) -> Result<(), (String, String)> {
    // The client leaves required fields to its typed builders and types to the compiler; the mock checks both.
    let rows = rows_of(operation).iter().filter(|(_, path, c)| {
        let query_type = path.starts_with('?') && matches!(c, Constraint::Type { .. });
        !query_type && (required || !matches!(c, Constraint::Required(_) | Constraint::Type { .. }))
    });
    for (path, constraint) in rows.filter_map(|(_, path, c)| at(path).map(|p| (p, c))) {
        let mut broken = None;
        each_at(body, path, &mut |value| {
            if broken.is_some() {
                return;
            }
            broken = match (constraint, value) {
                (Constraint::Minimum(min, unit), Value::Number(n)) => {
                    n.as_f64().is_some_and(|n| n < *min).then(|| format!("must be at least {min}{unit}"))
                }
                (Constraint::Maximum(max, unit), Value::Number(n)) => {
                    n.as_f64().is_some_and(|n| n > *max).then(|| format!("must be at most {max}{unit}"))
                }
                (Constraint::Url, Value::String(text)) => (!is_web_url(text)).then(|| "must be an absolute http or https URL".to_string()),
                (Constraint::Format(format), Value::String(text)) => (!format.admits(text)).then(|| format!("must be {}", format.name())),
                (Constraint::Type { nullable: true, .. }, Value::Null) => None,
                (Constraint::Type { kind, .. }, value) => (!kind.admits(value)).then(|| format!("must be {}", kind.name())),
                (Constraint::MinItems(min), Value::Array(items)) => (items.len() < *min).then(|| format!("needs at least {min} items")),
                (Constraint::MaxItems(max), Value::Array(items)) => (items.len() > *max).then(|| format!("takes at most {max} items")),
                (Constraint::MinLength(min), Value::String(text)) => {
                    (text.chars().count() < *min).then(|| format!("must be at least {min} characters"))
                }
                (Constraint::MaxLength(max), Value::String(text)) => {
                    (text.chars().count() > *max).then(|| format!("must be at most {max} characters"))
                }
                (Constraint::Pattern(pattern), Value::String(text)) => {
                    let matches = compiled(pattern).is_some_and(|re| re.is_match(text));
                    (!matches).then(|| format!("must match the pattern {pattern}"))
                }
                (Constraint::Requires { field, needs }, Value::Object(map)) => {
                    let present = |key: &str| map.get(key).is_some_and(|v| !v.is_null());
                    (present(field) && !present(needs)).then(|| format!("needs {needs} beside it"))
                }
                (Constraint::Required(field), Value::Object(map)) => {
                    map.get(*field).is_none_or(Value::is_null).then(|| "is required".to_string())
                }
                (Constraint::OneOf(values), value) => {
                    let text = value.to_string();
                    (!values.contains(&text.as_str())).then(|| format!("must be one of {}", values.join(", ")))
                }
                (Constraint::Id(kind), Value::String(text)) => {
                    let checked = match kind {
                        IdKind::Iban => iban(text),
                        IdKind::NationalCode => national_code(text),
                        IdKind::Mobile => mobile(text),
                        IdKind::CardNumber => card_number(text),
                    };
                    checked.err().map(|e| e.reason.to_string())
                }
                _ => None,
            };
        });
        if let Some(reason) = broken {
            let at = match constraint {
                Constraint::Requires { field, .. } | Constraint::Required(field) if path.is_empty() => field.to_string(),
                Constraint::Requires { field, .. } | Constraint::Required(field) => format!("{path}.{field}"),
                _ if path.is_empty() => "body".to_string(),
                _ => path.to_string(),
            };
            return Err((at.replace("[]", ""), reason));
        }
    }
    Ok(())
}

/// The operation a request is, by method and path (the path without its host's prefix): literal segments
/// win over templated ones (`/customers/fields` before `/customers/{customer}`). For the mock.
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub(crate) fn operation_at(method: &str, path: &str) -> Option<&'static str> {
    // The most specific template first, whatever its methods (OpenAPI's matching): `PUT /customers/fields`
    // is no operation (the path declares GET and POST), not `PUT /customers/{customer}`.
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let matching = |template: &str| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len() && parts.iter().zip(&segments).all(|(part, segment)| part.starts_with('{') || part == segment)
    };
    let best = OPERATION_ROUTES.iter().filter(|(_, t, _)| matching(t)).map(|(_, t, _)| t.matches('{').count()).min()?;
    OPERATION_ROUTES
        .iter()
        .find(|(m, t, _)| m.eq_ignore_ascii_case(method) && matching(t) && t.matches('{').count() == best)
        .map(|(_, _, operation)| *operation)
}

/// The methods the most specific path template matching `path` declares (literal segments win, as
/// OpenAPI matches paths), or `None` when no template matches. For the mock's 405 answers.
#[cfg_attr(not(feature = "mock"), allow(dead_code))]
pub(crate) fn methods_at(path: &str) -> Option<Vec<&'static str>> {
    let mut methods: Vec<&'static str> =
        OPERATION_ROUTES.iter().map(|(m, _, _)| *m).filter(|m| operation_at(m, path).is_some()).collect();
    methods.sort_unstable();
    methods.dedup();
    (!methods.is_empty()).then_some(methods)
}

/// `name` as an operation id of the spec (every host's), or why not, with the closest id when one is
/// near enough to be a typo (`"setlement_list" is not an operation id of the spec; did you mean
/// "settlement_list"?`).
pub(crate) fn operation_id(name: &str) -> Result<&'static str, String> {
    let ids = || OPERATION_ROUTES.iter().map(|(_, _, operation)| *operation);
    if let Some(id) = ids().find(|id| *id == name) {
        return Ok(id);
    }
    let closest = ids().map(|id| (strsim::damerau_levenshtein(name, id), id)).min().filter(|(distance, _)| *distance <= 3);
    Err(match closest {
        Some((_, id)) => format!("{name:?} is not an operation id of the spec; did you mean {id:?}?"),
        None => format!("{name:?} is not an operation id of the spec (e.g. \"ipg_verify\", \"settlement_store\")"),
    })
}

/// Whether `text` is an absolute `http`/`https` URL with a host.
fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// Visits the values at `path` (`a.b`, `items[].c`; empty: `value` itself), without allocating.
fn each_at<'a>(value: &'a Value, path: &str, visit: &mut dyn FnMut(&'a Value)) {
    if path.is_empty() {
        return visit(value);
    }
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    let (name, each) = match head.strip_suffix("[]") {
        Some(name) => (name, true),
        None => (head, false),
    };
    let Some(child) = (if name.is_empty() { Some(value) } else { value.get(name) }) else { return };
    match (each, child) {
        (true, Value::Array(items)) => items.iter().for_each(|item| each_at(item, rest, visit)),
        (true, _) => {}
        (false, child) => each_at(child, rest, visit),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_table_is_sorted_by_operation() {
        assert!(super::CONSTRAINTS.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(super::rows_of("ipg_send").iter().all(|(op, _, _)| *op == "ipg_send"));
        assert!(!super::rows_of("ipg_send").is_empty() && super::rows_of("no_such_operation").is_empty());
    }

    #[test]
    fn the_spec_bounds_are_checked() {
        assert_eq!(super::check("ipg_send", &json!({"amount": 999})).unwrap_err().0, "amount");
        assert!(super::check("ipg_send", &json!({"amount": 1000})).is_ok());
        let cards: Vec<String> = (0..11).map(|i| format!("60379912345678{i:02}")).collect();
        assert_eq!(super::check("ipg_send", &json!({"amount": 1000, "valid_card_number": cards})).unwrap_err().0, "valid_card_number");
        assert_eq!(super::check("settlement_store", &json!({"amount": 4999})).unwrap_err().0, "amount");
        let batch = json!({"batches_settlement": []});
        assert_eq!(super::check("batch_settlement_store", &batch).unwrap_err().0, "batches_settlement");
        assert!(super::check("transaction_list", &json!({})).is_ok());
    }

    #[test]
    fn ipg_send_national_code_needs_mobile_number() {
        let alone = json!({"amount": 1000, "national_code": "0013542419"});
        assert_eq!(super::check("ipg_send", &alone).unwrap_err(), ("national_code".to_string(), "needs mobile_number beside it".to_string()));
        let paired = json!({"amount": 1000, "national_code": "0013542419", "mobile_number": "09123456789"});
        assert!(super::check("ipg_send", &paired).is_ok());
        assert!(super::check("ipg_send", &json!({"amount": 1000, "mobile_number": "09123456789"})).is_ok());
    }
}
