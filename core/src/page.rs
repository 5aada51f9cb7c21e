//! Keyset pages: a list read from after a key, by a stable sort order, at most `limit`
//! items. The API turns the key of a page's last item into an opaque cursor, so a walk through
//! the pages misses and repeats nothing while writes happen.

/// Where a page starts, and how long it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window<K> {
    /// Start after the item with this sort key (none: from the start).
    pub after: Option<K>,
    /// Most items to return.
    pub limit: i64,
}

/// The limit of [`Window::all`]: more than any list holds.
pub const ALL: i64 = i64::MAX;

impl<K> Window<K> {
    /// Everything, from the start (for callers that show a whole list).
    pub fn all() -> Self {
        Self {
            after: None,
            limit: ALL,
        }
    }

    /// At most `limit` items after `after`.
    pub fn new(after: Option<K>, limit: i64) -> Self {
        Self { after, limit }
    }
}
