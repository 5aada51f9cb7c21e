//! Cursor pagination: a list answers one page and, when there is more, a `next` link (also
//! as `Link: <…>; rel="next"`) carrying an opaque cursor. A cursor names the last item of the
//! page by its sort key, so a walk through the pages misses and repeats nothing while other
//! writes happen (an item added behind the cursor is simply not seen on this walk).

use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;

use crate::error::ApiError;

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 100;
/// Most items per page.
pub const MAX_LIMIT: i64 = 1000;

/// The page size asked for, checked.
pub fn limit(asked: Option<i64>) -> Result<i64, ApiError> {
    limit_at_most(asked, MAX_LIMIT)
}

/// The page size asked for, checked against a list's own maximum.
pub fn limit_at_most(asked: Option<i64>, max: i64) -> Result<i64, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT.min(max)),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(apex_core::CoreError::invalid(
            "limit",
            format!("must be between 1 and {max}"),
        )
        .into()),
    }
}

/// The id a cursor of a list sorted by id names.
pub fn id_of(cursor: &str) -> Result<i64, ApiError> {
    parts(cursor, 1)?
        .first()
        .and_then(|id| id.parse::<i64>().ok())
        .ok_or_else(bad_cursor)
}

/// A cursor naming a sort key of `parts`.
pub fn cursor(parts: &[&str]) -> String {
    URL_SAFE_NO_PAD.encode(parts.join("\n"))
}

/// The `n` parts of a cursor made by [`cursor`].
pub fn parts(cursor: &str, n: usize) -> Result<Vec<String>, ApiError> {
    let bad = bad_cursor;
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let parts: Vec<String> = text.split('\n').map(str::to_string).collect();
    if parts.len() == n {
        Ok(parts)
    } else {
        Err(bad())
    }
}

/// The link to the next page: `path` with `query` (which carries the cursor).
pub fn next_link<Q: Serialize>(path: &str, query: &Q) -> String {
    match serde_urlencoded::to_string(query) {
        Ok(q) if !q.is_empty() => format!("{path}?{q}"),
        _ => path.to_string(),
    }
}

/// `body` with `Link: <next>; rel="next"` when there is a next page.
pub fn linked(next: Option<String>, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    if let Some(Ok(v)) = next.map(|n| HeaderValue::from_str(&format!("<{n}>; rel=\"next\""))) {
        response.headers_mut().insert(header::LINK, v);
    }
    response
}

/// `?cursor=&limit=` of a plain list.
#[derive(Debug, Default, serde::Deserialize, Serialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// From the `next` link of the page before (opaque: use the link as it is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Items per page (default 100).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

impl PageQuery {
    /// The window of a list sorted by a number (an id); one item more than the page, to
    /// know whether there is a next one.
    pub fn by_id(&self) -> Result<(apex_core::page::Window<i64>, i64), ApiError> {
        let limit = limit(self.limit)?;
        let after = self.cursor.as_deref().map(id_of).transpose()?;
        Ok((apex_core::page::Window::new(after, limit + 1), limit))
    }

    /// The window of a list sorted by a text (a name, an address), as [`Self::by_id`].
    pub fn by_text(&self) -> Result<(apex_core::page::Window<String>, i64), ApiError> {
        let limit = limit(self.limit)?;
        let after = match &self.cursor {
            Some(c) => parts(c, 1)?.pop(),
            None => None,
        };
        Ok((apex_core::page::Window::new(after, limit + 1), limit))
    }
}

fn bad_cursor() -> ApiError {
    apex_core::CoreError::invalid(
        "cursor",
        "not a cursor of this list: use the `next` link of the page before as it is",
    )
    .into()
}

/// Cuts `items` (read with one more than `limit`) to the page, and gives the link to the next
/// page when there is one: `path` with the cursor of the key of the page's last item.
pub fn cut<T>(
    items: &mut Vec<T>,
    limit: i64,
    path: &str,
    key: impl Fn(&T) -> Vec<String>,
) -> Option<String> {
    cut_with(items, limit, path, key, |cursor| PageQuery {
        cursor: Some(cursor),
        limit: Some(limit),
    })
}

/// [`cut`] for a list with filters: `query` makes the next page's query string (the filters
/// as given, and the cursor it is handed).
pub fn cut_with<T, Q: Serialize>(
    items: &mut Vec<T>,
    limit: i64,
    path: &str,
    key: impl Fn(&T) -> Vec<String>,
    query: impl FnOnce(String) -> Q,
) -> Option<String> {
    let page = usize::try_from(limit).unwrap_or(0);
    if items.len() <= page {
        return None;
    }
    items.truncate(page);
    let key = key(items.last()?);
    let key: Vec<&str> = key.iter().map(String::as_str).collect();
    Some(next_link(path, &query(cursor(&key))))
}
