//! Read-your-writes for search: who changed videos or favorites a moment ago. The
//! video and favorite use cases note their writers; search waits for the index to
//! include a writer's own changes before answering them.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::domain::auth::Viewer;
use crate::domain::UserId;

/// Who changed videos or favorites a moment ago: their next searches wait for the index
/// to include their own writes (read-your-writes), everyone else's never wait.
#[derive(Default)]
pub struct RecentWrites {
    seen: Mutex<HashMap<UserId, Instant>>,
}

/// How long after a write its author's searches wait for the index.
const READ_YOUR_WRITES_FOR: Duration = Duration::from_secs(5);
/// How long such a search waits for the index before it answers from what is there.
pub(super) const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(2);

impl RecentWrites {
    pub fn note(&self, viewer: &Viewer) {
        let Some(id) = viewer.user_id() else { return };
        let now = Instant::now();
        if let Ok(mut seen) = self.seen.lock() {
            if seen.len() > 10_000 {
                seen.retain(|_, at| now.duration_since(*at) < READ_YOUR_WRITES_FOR);
            }
            seen.insert(id, now);
        }
    }

    pub(super) fn recent(&self, viewer: &Viewer) -> bool {
        let Some(id) = viewer.user_id() else {
            return false;
        };
        self.seen.lock().is_ok_and(|seen| {
            seen.get(&id)
                .is_some_and(|at| at.elapsed() < READ_YOUR_WRITES_FOR)
        })
    }
}
