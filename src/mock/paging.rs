//! Vandar's three paging styles, one helper each, used by every list the mock serves (no list pages
//! on its own):
//!
//! | style (spec component) | helper | lists |
//! | --- | --- | --- |
//! | flat Laravel paginator (`FlatPaginator`) | [`flat`] | settlement_list |
//! | `{data, links, meta}` (`ResourcePage`) | [`resource`] | batch_list, batch_show, authorization_list, withdrawal_list, customer_list, customer_field_list, customer_transactions, customer_logs, customer_iban_list, customer_card_list, miando_customer_list, agreement_list |
//! | cursor (`CursorPage`: `start_after`, `has_more`) | [`cursor`] | transaction_list |
//!
//! business_users takes `page` and `per_page` but its answer carries no paging fields: [`slice`] cuts
//! its page the same way.
//!
//! Pages follow Laravel's `LengthAwarePaginator`, which Vandar runs, with the spec's rule on `page` (a whole
//! number of at least 1, else 422 naming it); a page past the end is empty, with `from`/`to` null and the true `total`
//! and `last_page` (at least 1). Links carry the request's other query parameters (filters, `per_page`)
//! and the page last, as Laravel's `withQueryString()`, so a client following `next` keeps its filters.
use axum::extract::{FromRequestParts, OriginalUri};
use axum::http::request::Parts;
use axum::response::Response;
use serde_json::{json, Value};

use super::{miando_validation_error, validation_error};

/// Laravel's default page size, the one Vandar's examples show (`per_page: 15`).
pub(crate) const DEFAULT_PER_PAGE: u64 = 15;

/// How a list's page size is chosen, as the spec declares the list's parameters.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Size {
    /// The spec gives the list `page` only: pages of [`DEFAULT_PER_PAGE`]; a `per_page` sent anyway is ignored.
    Fixed,
    /// The spec gives the list `per_page` (default [`DEFAULT_PER_PAGE`]), up to `max` where it states one.
    PerPage { max: Option<u64> },
}

/// The paging parameters of a list request and the URL its links are built on.
#[derive(Debug, Clone)]
pub(crate) struct PageRequest {
    /// The list's URL as the client called it (scheme, host, path; no query): Laravel's `path`.
    url: String,
    /// Every query parameter but `page`, in order, kept on the links.
    kept: Vec<(String, String)>,
    page: u64,
    per_page: Option<String>,
    start_after: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = axum::response::Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        // The path before nesting (/batch/..., /ipg/...), as the client called it.
        let uri = parts.extensions.get::<OriginalUri>().map(|o| o.0.clone()).unwrap_or_else(|| parts.uri.clone());
        let host = parts.headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
        let url = match host {
            Some(host) => format!("http://{host}{}", uri.path()),
            None => uri.path().to_string(),
        };
        let (mut page, mut per_page, mut start_after, mut kept) = (1, None, None, Vec::new());
        for (name, value) in url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes()) {
            match name.as_ref() {
                // The spec's rule (an integer of at least 1), refused as per_page is: a generator or a fuzzer
                // reads the spec, and a value it calls invalid must not be answered as page 1. Assumed:
                // Laravel's paginator alone would read it as page 1; whether Vandar validates first is not documented.
                "page" => match value.parse::<u64>() {
                    // A page past i64 (the spec's integer): past the end of any list, as Laravel reads it (an empty
                    // page), answered as page i64::MAX.
                    Ok(p) if p >= 1 => page = p.min(i64::MAX as u64),
                    Err(_) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) && value.bytes().any(|b| b != b'0') => page = i64::MAX as u64,
                    _ if uri.path().starts_with("/miando/") => return Err(miando_validation_error("page", "The page must be an integer of at least 1.")),
                    _ => return Err(validation_error("page", "The page must be an integer of at least 1.")),
                },
                "per_page" => per_page = Some(value.to_string()),
                // Laravel's ConvertEmptyStringsToNull: an empty cursor is no cursor (the first page).
                "start_after" => start_after = Some(value.to_string()).filter(|v| !v.is_empty()),
                _ => {}
            }
            if name != "page" {
                kept.push((name.into_owned(), value.into_owned()));
            }
        }
        Ok(Self { url, kept, page, per_page, start_after })
    }
}

impl PageRequest {
    /// The page size, or Laravel's 422 naming `per_page`.
    fn per_page(&self, size: Size) -> Result<u64, Response> {
        let Size::PerPage { max } = size else { return Ok(DEFAULT_PER_PAGE) };
        let Some(raw) = &self.per_page else { return Ok(DEFAULT_PER_PAGE) };
        // A size past i64 (the spec's integer has no bound where it states no maximum) is every item; it is answered
        // as i64::MAX, the spec's integer.
        let digits = !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) && raw.bytes().any(|b| b != b'0');
        let parsed = raw.parse::<u64>().map(|n| n.min(i64::MAX as u64)).or(if digits { Ok(i64::MAX as u64) } else { Err(()) });
        match parsed {
            Ok(n) if n >= 1 && max.is_none_or(|max| n <= max) => Ok(n),
            Ok(n) if n >= 1 => Err(validation_error("per_page", &format!("The per page may not be greater than {}.", max.unwrap_or_default()))),
            _ => Err(validation_error("per_page", "The per page must be an integer of at least 1.")),
        }
    }

    /// The URL of page `page` of this list (`null` when there is no such page to link).
    fn link(&self, page: Option<u64>) -> Value {
        let Some(page) = page else { return Value::Null };
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.extend_pairs(&self.kept);
        query.append_pair("page", &page.to_string());
        json!(format!("{}?{}", self.url, query.finish()))
    }
}

/// Where one page falls in a list of `total` items.
struct Window {
    page: u64,
    per_page: u64,
    total: u64,
    last_page: u64,
    start: usize,
    end: usize,
}

impl Window {
    fn of(total: usize, request: &PageRequest, size: Size) -> Result<Self, Response> {
        let per_page = request.per_page(size)?;
        let page = request.page;
        let start = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX).min(total);
        let end = usize::try_from(per_page).unwrap_or(usize::MAX).saturating_add(start).min(total);
        let last_page = (total as u64).div_ceil(per_page).max(1);
        Ok(Self { page, per_page, total: total as u64, last_page, start, end })
    }

    /// Laravel's `from` and `to`: 1-based positions of the page's first and last item, null on an empty page.
    fn positions(&self) -> (Value, Value) {
        if self.start < self.end {
            (json!(self.start + 1), json!(self.end))
        } else {
            (Value::Null, Value::Null)
        }
    }

    /// Laravel links the page before the current one, even past the end (page 9 from page 10 of 3).
    fn prev(&self) -> Option<u64> {
        (self.page > 1).then(|| self.page - 1)
    }

    fn next(&self) -> Option<u64> {
        (self.page < self.last_page).then(|| self.page + 1)
    }
}

/// The requested page of `items` and where it falls.
fn cut(mut items: Vec<Value>, request: &PageRequest, size: Size) -> Result<(Window, Vec<Value>), Response> {
    let window = Window::of(items.len(), request, size)?;
    items.truncate(window.end);
    let page = items.split_off(window.start);
    Ok((window, page))
}

/// The items of the requested page (for a list whose answer has no paging fields: business_users).
pub(crate) fn slice(items: Vec<Value>, request: &PageRequest, size: Size) -> Result<Vec<Value>, Response> {
    cut(items, request, size).map(|(_, page)| page)
}

/// The flat Laravel paginator (`FlatPaginator`): the page's `data` next to `current_page`, `from`,
/// `last_page`, `path`, `per_page`, `to`, `total` and the `first`/`last`/`prev`/`next` links.
pub(crate) fn flat(items: Vec<Value>, request: &PageRequest, size: Size) -> Result<Value, Response> {
    let (window, data) = cut(items, request, size)?;
    let (from, to) = window.positions();
    Ok(json!({
        "current_page": window.page, "data": data, "from": from, "last_page": window.last_page, "path": request.url,
        "per_page": window.per_page, "to": to, "total": window.total,
        "first": request.link(Some(1)), "last": request.link(Some(window.last_page)),
        "prev": request.link(window.prev()), "next": request.link(window.next()),
    }))
}

/// Laravel's API-resource paging (`ResourcePage`): `{data, links, meta}`, with `meta.links` the
/// previous link, one per page and the next link (labels as in Vandar's example).
pub(crate) fn resource(items: Vec<Value>, request: &PageRequest, size: Size) -> Result<Value, Response> {
    let (window, data) = cut(items, request, size)?;
    let (from, to) = window.positions();
    let mut page_links = vec![json!({"url": request.link(window.prev()), "label": "pagination.previous", "active": false})];
    page_links.extend((1..=window.last_page).map(|n| json!({"url": request.link(Some(n)), "label": n.to_string(), "active": n == window.page})));
    page_links.push(json!({"url": request.link(window.next()), "label": "pagination.next", "active": false}));
    Ok(json!({
        "data": data,
        "links": {"first": request.link(Some(1)), "last": request.link(Some(window.last_page)),
                  "prev": request.link(window.prev()), "next": request.link(window.next())},
        "meta": {"current_page": window.page, "from": from, "last_page": window.last_page, "links": page_links,
                 "path": request.url, "per_page": window.per_page, "to": to, "total": window.total},
    }))
}

/// Cursor paging (`CursorPage`): the items after the one whose `id_key` equals `start_after` (from the
/// first without it), `per_page` of them, and `has_more` when items follow. A `start_after` that names
/// no item of the list gets a 422 naming it, so a client that builds its cursor wrongly finds out here.
pub(crate) fn cursor(items: Vec<Value>, request: &PageRequest, size: Size, id_key: &str) -> Result<Value, Response> {
    let per_page = usize::try_from(request.per_page(size)?).unwrap_or(usize::MAX);
    let start = match &request.start_after {
        None => 0,
        Some(after) => match items.iter().position(|item| id_text(&item[id_key]).as_deref() == Some(after.as_str())) {
            Some(index) => index + 1,
            None => return Err(validation_error("start_after", &format!("No item of this list has the id {after}."))),
        },
    };
    let has_more = items.len() > start.saturating_add(per_page);
    let data: Vec<Value> = items.into_iter().skip(start).take(per_page).collect();
    Ok(json!({"has_more": has_more, "data": data}))
}

/// An id as text, whether the answer gives it as a number or a string.
fn id_text(id: &Value) -> Option<String> {
    id.as_str().map(String::from).or_else(|| id.as_i64().map(|n| n.to_string()))
}
