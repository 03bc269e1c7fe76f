//! How a feed version is ordered and paged, apart from where it is stored.
//!
//! A version is a fixed list of item ids. Pages are ranges of it, so later pages stay in
//! their version whatever is added or re-scored meanwhile: no gaps, no repeats. Items
//! deleted or hidden since are skipped when a page is filled.

use std::collections::HashSet;

use crate::domain::RecommendationId;

/// A version holds at most this many items (100 pages of 20); pull to refresh for more.
pub const MAX_VERSION_ITEMS: u64 = 2_000;

/// The order of a refreshed version: items not yet shown to the viewer first, then the
/// rest, each part in the ranked order it came in.
pub fn fresh_first(
    ranked: Vec<RecommendationId>,
    shown: &HashSet<RecommendationId>,
) -> Vec<RecommendationId> {
    let (seen, fresh): (Vec<_>, Vec<_>) = ranked.into_iter().partition(|id| shown.contains(id));
    fresh.into_iter().chain(seen).collect()
}

/// One page taken from a version: how many ids it consumed (kept or skipped), so the
/// next page starts right after.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRange {
    pub start: usize,
    pub end: usize,
}

/// Walks `ids` from `start`, keeping those `keep` accepts, until `first` are kept; returns
/// the kept ones and the range consumed.
pub fn take_page<T>(
    ids: &[RecommendationId],
    start: usize,
    first: usize,
    mut keep: impl FnMut(RecommendationId) -> Option<T>,
) -> (Vec<T>, PageRange) {
    let mut out = Vec::with_capacity(first);
    let mut end = start.min(ids.len());
    while end < ids.len() && out.len() < first {
        if let Some(item) = keep(ids[end]) {
            out.push(item);
        }
        end += 1;
    }
    (out, PageRange { start, end })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_items_come_first_and_nothing_is_lost() {
        let ids: Vec<RecommendationId> = (0..6).map(|_| RecommendationId::new()).collect();
        let shown: HashSet<_> = [ids[0], ids[2]].into_iter().collect();
        let order = fresh_first(ids.clone(), &shown);
        assert_eq!(order, vec![ids[1], ids[3], ids[4], ids[5], ids[0], ids[2]]);
    }

    #[test]
    fn pages_skip_hidden_items_and_never_overlap() {
        let ids: Vec<RecommendationId> = (0..10).map(|_| RecommendationId::new()).collect();
        let hidden: HashSet<_> = [ids[1], ids[2], ids[7]].into_iter().collect();
        let keep = |id| (!hidden.contains(&id)).then_some(id);
        let mut seen = Vec::new();
        let mut start = 0;
        loop {
            let (page, range) = take_page(&ids, start, 3, keep);
            seen.extend(page);
            if range.end == ids.len() {
                break;
            }
            start = range.end;
        }
        let expected: Vec<_> = ids
            .iter()
            .copied()
            .filter(|id| !hidden.contains(id))
            .collect();
        assert_eq!(seen, expected);
        let (empty, range) = take_page(&ids, 50, 3, keep);
        assert!(empty.is_empty());
        assert_eq!(range.end, ids.len());
    }
}
