//! Auto-paging: every list operation's builder has `.items()`, a `Stream` of the list's items
//! across pages, and `.pages()`, a `Stream` of whole answers, fetched one page at a time as the
//! stream is read and ending after the last page.
//!
//! ```no_run
//! # async fn f(vandar: vandar::Client) -> Result<(), vandar::Error> {
//! use futures::{StreamExt, TryStreamExt};
//! // The last 50 settlements, newest first, 25 to a page (two requests).
//! let settlements: Vec<_> = vandar.api().settlement_list().per_page(25).items().take(50).try_collect().await?;
//!
//! // Or one at a time: the next page is fetched when the stream reaches it.
//! let mut customers = vandar.api().customer_list().items();
//! while let Some(customer) = customers.try_next().await? {
//!     println!("{:?}", customer.mobile);
//! }
//! # let _ = settlements; Ok(()) }
//! ```
//!
//! Vandar pages its lists three ways, and each list's builder knows its own (build.rs reads the
//! spec's paging components):
//!
//! | style | lists | next page | last page |
//! | --- | --- | --- | --- |
//! | flat Laravel paginator (`FlatPaginator`) | settlement_list | `page` + 1 | `current_page` = `last_page` |
//! | `{data, links, meta}` (`ResourcePage`) | batch, direct-debit, customer and Miando lists | `page` + 1 | `meta.current_page` = `meta.last_page`, or `links.next` null |
//! | cursor (`CursorPage`) | transaction_list | `start_after` = the last item's `id` | `has_more` false |
//!
//! business_users takes `page` but answers no paging fields: its pages are read until one is empty
//! or shorter than the `per_page` asked for.
//!
//! The page size is the list's own setter (`.per_page(n)`, where the spec gives the list one;
//! otherwise Vandar's fixed size). A page or filter set on the builder is where the stream starts.
//! Every page is one ordinary call (rate budget, token renewal, retries of safe calls); the first
//! error ends the stream with that error. A server that answers the same page again, or a page
//! other than the one asked for, ends the stream with [`Error::Undecodable`] instead of looping.
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::error::Error;

/// How a list marks its pages (the spec's paging components).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Style {
    /// `current_page`, `last_page` (and `next`) beside the items (`FlatPaginator`).
    Flat,
    /// `links` and `meta` beside the items (`ResourcePage`).
    Resource,
    /// `has_more` beside the items; the next page starts after the last item's `id` (`CursorPage`).
    Cursor,
    /// No paging fields: read until a page is empty or short.
    Unmarked,
}

/// Where a page starts.
#[doc(hidden)]
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Position {
    /// A page number, from 1.
    Page(i64),
    /// After the item with this id (cursor paging).
    After(String),
}

/// A list operation's builder, as auto-paging drives it. build.rs implements it for every list
/// operation; user code calls the builders' `.items()` and `.pages()` instead.
#[doc(hidden)]
pub trait Paged<'a>: Clone + Send + Sized + 'a {
    /// The answer of one page.
    type Page: Serialize + Send + 'a;
    /// One item of the list.
    type Item: DeserializeOwned + Send + 'a;
    /// How the list marks its pages.
    const STYLE: Style;
    /// JSON pointer to the object holding the paging fields (`""` = the answer itself).
    const PAGING: &'static str;
    /// JSON pointer to the items array.
    const ITEMS: &'static str;
    /// The page and page size set on the builder, if any.
    fn requested(&self) -> (Option<i64>, Option<i64>);
    /// The same request, at another page.
    fn at(self, position: Position) -> Self;
    /// Sends one page's request.
    fn fetch(self) -> BoxFuture<'a, Result<Self::Page, Error>>;
}

/// What the stream knows between pages.
struct Cursor<B> {
    builder: B,
    number: i64,
    per_page: Option<i64>,
    /// The previous page's items, to notice a server that ignores the page asked for.
    previous: Option<Value>,
}

/// The answers, page after page.
pub fn pages<'a, B: Paged<'a>>(first: B) -> BoxStream<'a, Result<B::Page, Error>> {
    answers(first).map_ok(|(answer, _)| answer).boxed()
}

/// The items, across pages.
pub fn items<'a, B: Paged<'a>>(first: B) -> BoxStream<'a, Result<B::Item, Error>> {
    answers(first)
        .map_ok(|(_, mut value)| {
            let items = value.pointer_mut(B::ITEMS).map(Value::take).unwrap_or(Value::Array(Vec::new()));
            let items: Result<Vec<B::Item>, Error> =
                serde_json::from_value(items).map_err(|e| inconsistent(format!("a list item does not decode: {e}")));
            stream::iter(match items {
                Ok(items) => items.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(error) => vec![Err(error)],
            })
        })
        .try_flatten()
        .boxed()
}

/// Each answer with its JSON form (serialized once, read for the paging fields and the items).
fn answers<'a, B: Paged<'a>>(first: B) -> BoxStream<'a, Result<(B::Page, Value), Error>> {
    let (page, per_page) = first.requested();
    let start = Cursor { builder: first, number: page.unwrap_or(1), per_page, previous: None };
    stream::try_unfold(Some(start), |state| async move {
        let Some(cursor) = state else { return Ok(None) };
        let answer = cursor.builder.clone().fetch().await?;
        let value = serde_json::to_value(&answer).map_err(|e| inconsistent(format!("answer does not serialize: {e}")))?;
        let next = next_position::<B>(&value, &cursor)?;
        let previous = value.pointer(B::ITEMS).cloned();
        let state = next.map(|(position, number)| Cursor {
            builder: cursor.builder.at(position),
            number,
            per_page: cursor.per_page,
            previous,
        });
        Ok(Some(((answer, value), state)))
    })
    .boxed()
}

/// The page after `value` (and its number), or `None` after the last.
fn next_position<'a, B: Paged<'a>>(value: &Value, cursor: &Cursor<B>) -> Result<Option<(Position, i64)>, Error> {
    let items = value.pointer(B::ITEMS).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    if items.is_empty() {
        return Ok(None);
    }
    let paging = value.pointer(B::PAGING).unwrap_or(&Value::Null);
    let number = |object: &Value, key: &str| object.get(key).and_then(number_of);
    let next_page = |meta: &Value, more: bool| -> Result<Option<(Position, i64)>, Error> {
        let current = number(meta, "current_page").unwrap_or(cursor.number);
        if current != cursor.number {
            return Err(inconsistent(format!("asked for page {}, Vandar answered page {current}", cursor.number)));
        }
        let more = match number(meta, "last_page") {
            Some(last) => current < last,
            None => more,
        };
        Ok(more.then_some((Position::Page(current + 1), current + 1)))
    };
    let next = match B::STYLE {
        Style::Flat => next_page(paging, paging.get("next").is_some_and(Value::is_string)),
        Style::Resource => next_page(&paging["meta"], paging["links"].get("next").is_some_and(Value::is_string)),
        Style::Cursor => {
            if paging.get("has_more").and_then(Value::as_bool) != Some(true) {
                return Ok(None);
            }
            let last_id = items.last().and_then(|item| item.get("id")).and_then(|id| match id {
                Value::String(id) => Some(id.clone()),
                Value::Number(id) => Some(id.to_string()),
                _ => None,
            });
            let last_id = last_id.ok_or_else(|| inconsistent("has_more is true but the last item has no id to start after".into()))?;
            Ok(Some((Position::After(last_id), cursor.number + 1)))
        }
        Style::Unmarked => {
            let short = cursor.per_page.is_some_and(|size| (items.len() as i64) < size);
            Ok((!short).then_some((Position::Page(cursor.number + 1), cursor.number + 1)))
        }
    }?;
    if cursor.previous.as_ref().and_then(Value::as_array).is_some_and(|previous| previous.as_slice() == items) {
        return Err(inconsistent(format!("page {} repeats the previous page's items; stopped instead of looping", cursor.number)));
    }
    Ok(next)
}

/// A paging number Vandar may send as a number or a string.
fn number_of(value: &Value) -> Option<i64> {
    value.as_i64().or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

fn inconsistent(reason: String) -> Error {
    Error::Undecodable { status: None, reason: format!("paging: {reason}"), snippet: String::new() }
}
