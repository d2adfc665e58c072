//! Cursor pagination: `?limit=&after=` in, `{items, next_cursor}` out.

use serde::Serialize;

/// The largest page a client may ask for.
pub const MAX_PAGE_LIMIT: u32 = 200;
/// The page size when the client does not say.
pub const DEFAULT_PAGE_LIMIT: u32 = 50;

/// A validated page request. `after` is the opaque cursor of the last item
/// the client has seen; items come back in a stable order strictly after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<String>,
}

impl PageRequest {
    /// Clamp-free constructor: `limit` must be 1..=MAX_PAGE_LIMIT.
    pub fn new(limit: Option<u32>, after: Option<String>) -> Result<Self, String> {
        let limit = limit.unwrap_or(DEFAULT_PAGE_LIMIT);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(format!("limit must be between 1 and {MAX_PAGE_LIMIT}"));
        }
        let after = after.filter(|a| !a.is_empty());
        if let Some(a) = &after
            && (a.len() > 1100 || !a.chars().all(|c| c.is_ascii_graphic()))
        {
            return Err("after is not a cursor this server issued".into());
        }
        Ok(Self { limit, after })
    }

    /// One more row than the page holds is fetched to learn whether a next
    /// page exists without a second query.
    pub fn fetch_limit(&self) -> i64 {
        i64::from(self.limit) + 1
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: DEFAULT_PAGE_LIMIT,
            after: None,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `fetch_limit()` rows: if the extra row came back
    /// there is a next page, whose cursor is the last kept item's.
    pub fn from_rows(mut rows: Vec<T>, req: &PageRequest, cursor: impl Fn(&T) -> String) -> Self {
        let has_more = rows.len() > req.limit as usize;
        rows.truncate(req.limit as usize);
        let next_cursor = if has_more {
            rows.last().map(cursor)
        } else {
            None
        };
        Self {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_extra_row_means_a_next_page_at_the_last_kept_item() {
        let req = PageRequest::new(Some(2), None).unwrap();
        let page = Page::from_rows(vec![1, 2, 3], &req, |n| n.to_string());
        assert_eq!(page.items, vec![1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
    }

    #[test]
    fn a_short_page_has_no_next_cursor() {
        let req = PageRequest::new(Some(5), None).unwrap();
        let page = Page::from_rows(vec![1, 2], &req, |n| n.to_string());
        assert_eq!(page.next_cursor, None);
    }

    #[test]
    fn limits_outside_the_range_are_refused() {
        assert!(PageRequest::new(Some(0), None).is_err());
        assert!(PageRequest::new(Some(MAX_PAGE_LIMIT + 1), None).is_err());
        assert!(PageRequest::new(Some(MAX_PAGE_LIMIT), None).is_ok());
    }
}
