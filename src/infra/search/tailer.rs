//! Where the indexer stands in the outbox: ids applied beyond the committed position,
//! and gaps that are waited for before they are passed over.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use uuid::Uuid;

use super::{GAP_GRACE, MAX_SKIPPED};

/// Which outbox rows have been applied beyond the committed position, and since when
/// the first missing id has been missing.
#[derive(Default)]
pub(super) struct Tailer {
    applied: BTreeSet<i64>,
    gap_since: Option<(i64, Instant)>,
    /// Ids passed over as never committed, and when.
    pub(super) skipped: BTreeMap<i64, Instant>,
}

impl Tailer {
    /// Given rows after `position`, returns the videos not yet applied and the position
    /// that can be committed once they are.
    pub(super) fn advance(
        &mut self,
        position: i64,
        rows: &[crate::infra::db::OutboxRow],
    ) -> (Vec<Uuid>, i64) {
        let mut fresh = Vec::new();
        for row in rows {
            if self.applied.insert(row.id) {
                if let Some(v) = row.video_id {
                    fresh.push(v);
                }
            }
        }
        let mut next = position;
        loop {
            if self.applied.remove(&(next + 1)) {
                next += 1;
                self.gap_since = None;
                continue;
            }
            // `next + 1` is missing; is anything after it already applied?
            let Some(&beyond) = self.applied.iter().next() else {
                break;
            };
            let missing = next + 1;
            match self.gap_since {
                Some((id, since)) if id == missing && since.elapsed() >= GAP_GRACE => {
                    tracing::debug!(
                        from = missing,
                        to = beyond - 1,
                        "skipping outbox ids that never committed"
                    );
                    if self.skipped.len() < MAX_SKIPPED {
                        let now = Instant::now();
                        self.skipped
                            .extend((missing..beyond).take(MAX_SKIPPED).map(|i| (i, now)));
                    }
                    next = beyond - 1;
                    self.gap_since = None;
                }
                Some((id, _)) if id == missing => break,
                _ => {
                    self.gap_since = Some((missing, Instant::now()));
                    break;
                }
            }
        }
        (fresh, next)
    }
}
