//! Keyset pagination: what a page request and a page look like to the use cases.

/// At most this many items per page, whatever the client asks.
pub const MAX_PAGE_SIZE: u64 = 100;
pub const DEFAULT_PAGE_SIZE: u64 = 20;

/// Clamps a client's `first` into `1..=MAX_PAGE_SIZE`.
pub fn clamp_first(first: Option<i64>) -> u64 {
    match first {
        None => DEFAULT_PAGE_SIZE,
        Some(n) => n.clamp(1, MAX_PAGE_SIZE as i64) as u64,
    }
}

#[derive(Debug, Clone)]
pub struct Page<T, K> {
    /// Each item with the key that a cursor after it encodes.
    pub items: Vec<(T, K)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T, K> Page<T, K> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            has_next_page: false,
            has_previous_page: false,
        }
    }
}
