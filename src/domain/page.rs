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
    /// Builds a page from up to `first + 1` rows read in order: an extra row only says
    /// that another page exists.
    pub fn from_rows(
        rows: Vec<T>,
        first: u64,
        has_previous_page: bool,
        key: impl Fn(&T) -> K,
    ) -> Self {
        let has_next_page = rows.len() as u64 > first;
        let items = rows
            .into_iter()
            .take(first as usize)
            .map(|item| {
                let k = key(&item);
                (item, k)
            })
            .collect();
        Page {
            items,
            has_next_page,
            has_previous_page,
        }
    }
}
