//! What the sweeper does on every tick: jobs whose task may be lost handed out again,
//! abandoned uploads and released objects removed.

use super::{MediaService, ABANDONED_AFTER, READ_URL_TTL, STALLED_AFTER};
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::{DomainError, UploadId};

impl MediaService {
    /// Hands out again jobs nobody touched for [`STALLED_AFTER`]: their task may be lost
    /// (the push after commit failed, or the task was used up while the database was
    /// down). Each gets a new state, so its new task has a new idempotency key; should the
    /// old task still run, the attempt guards make the later run the one that counts.
    /// Returns how many were queued.
    pub async fn requeue_stalled_jobs(&self) -> DomainResult<usize> {
        let now = clock::now();
        let before =
            now - chrono::Duration::from_std(STALLED_AFTER).map_err(DomainError::internal)?;
        let mut pushed = 0;
        for job in self.ports.jobs.stalled_since(before, 100).await? {
            let Some(job) = self.ports.jobs.requeue_stalled(&job, now).await? else {
                continue;
            };
            match self
                .ports
                .queue
                .enqueue(&job, std::time::Duration::ZERO)
                .await
            {
                Ok(()) => pushed += 1,
                Err(e) => tracing::warn!(error = %e, job = %job.id, "cannot queue a stalled job"),
            }
        }
        Ok(pushed)
    }

    /// Deletes what was sent for tickets that expired [`ABANDONED_AFTER`] ago without being
    /// completed, and the tickets. Returns how many. (An expired ticket can no longer be
    /// completed; the grace only covers clocks of instances that differ a little.)
    pub async fn remove_abandoned_uploads(&self) -> DomainResult<usize> {
        let before = clock::now()
            - chrono::Duration::from_std(ABANDONED_AFTER).map_err(DomainError::internal)?;
        let abandoned = self.ports.uploads.abandoned_uploads(before, 100).await?;
        let keys: Vec<(&str, Option<UploadId>)> = abandoned
            .iter()
            .map(|u| (u.object_key.as_str(), Some(u.id)))
            .collect();
        Ok(self.remove_objects(&keys).await)
    }

    /// Deletes stored objects released (replaced thumbnails and videos, generated
    /// thumbnails not used) [`READ_URL_TTL`] ago, once no read URL signed before the
    /// release can still work. Returns how many.
    pub async fn remove_released_objects(&self) -> DomainResult<usize> {
        let before = clock::now()
            - chrono::Duration::from_std(READ_URL_TTL).map_err(DomainError::internal)?;
        let released = self.ports.uploads.released_before(before, 100).await?;
        let keys: Vec<(&str, Option<UploadId>)> =
            released.iter().map(|k| (k.as_str(), None)).collect();
        Ok(self.remove_objects(&keys).await)
    }

    /// Deletes each object, then its record: the upload's ticket when there is one, else
    /// its release. A failure is logged and left for the next sweep. Returns how many went.
    async fn remove_objects(&self, objects: &[(&str, Option<UploadId>)]) -> usize {
        let mut removed = 0;
        for (key, upload) in objects {
            let done = async {
                self.ports.store.delete(key).await?;
                match upload {
                    Some(id) => self.ports.uploads.delete_upload(*id).await,
                    None => self.ports.uploads.forget_released(key).await,
                }
            };
            match done.await {
                Ok(()) => removed += 1,
                Err(e) => tracing::warn!(error = %e, key, "cannot remove a stored object"),
            }
        }
        removed
    }
}
