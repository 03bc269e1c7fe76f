//! Processing jobs as their videos' owners and admins see them: retrying, reading,
//! watching, and the queue's state.

use std::time::Duration;

use super::MediaService;
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::Event;
use crate::domain::media::{Job, QueueMetrics};
use crate::domain::user::Permission;
use crate::domain::video::{can_be_edited_by, Video, VideoStatus};
use crate::domain::{DomainError, JobId, VideoId};

impl MediaService {
    /// Queues a failed video's processing again.
    pub async fn retry(&self, viewer: &Viewer, video_id: VideoId) -> DomainResult<Job> {
        self.ports.videos.editable(viewer, video_id).await?;
        let job =
            self.ports.jobs.latest_job(video_id).await?.ok_or_else(|| {
                DomainError::Conflict("this video has no processing to retry".into())
            })?;
        let job = self.ports.jobs.requeue(job.id, clock::now()).await?;
        self.announce_queued(&job).await;
        if let Err(e) = self.ports.queue.enqueue(&job, Duration::ZERO).await {
            // Committed as QUEUED: the sweeper hands it out if this push was lost.
            tracing::warn!(error = %e, job = %job.id, "cannot queue a retried job now");
        }
        Ok(job)
    }

    /// Tells live subscribers that a job was queued for a video.
    pub(super) async fn announce_queued(&self, job: &Job) {
        let events = &self.ports.events;
        events
            .publish(Event::Processing {
                video_id: job.video_id,
                owner_id: job.owner_id,
                status: VideoStatus::Processing.as_str().to_owned(),
                stage: Some("queued".into()),
                progress: 0,
                error: None,
                at: clock::now(),
            })
            .await;
        events
            .publish(Event::QueueChanged { at: clock::now() })
            .await;
    }

    /// A job, for its video's owner and admins; `None` for anyone else.
    pub async fn job(&self, viewer: &Viewer, id: JobId) -> DomainResult<Option<Job>> {
        let (user, _) = viewer.require_user()?;
        Ok(self
            .ports
            .jobs
            .job(id)
            .await?
            .filter(|j| j.owner_id == user || viewer.can(Permission::ManageAnyVideo)))
    }

    /// Why processing failed, for the video's owner and admins only (it can name details
    /// of the file and of the stored object).
    pub fn processing_error<'a>(&self, viewer: &Viewer, video: &'a Video) -> Option<&'a str> {
        video
            .processing_error
            .as_deref()
            .filter(|_| can_be_edited_by(video, viewer))
    }

    pub async fn latest_job(&self, viewer: &Viewer, video: &Video) -> DomainResult<Option<Job>> {
        if !can_be_edited_by(video, viewer) {
            return Ok(None);
        }
        Ok(self.ports.jobs.latest_job(video.id).await?)
    }

    /// Checks that the viewer may follow a video's processing (its owner and admins).
    pub async fn watch_processing(&self, viewer: &Viewer, id: VideoId) -> DomainResult<()> {
        let video = self
            .ports
            .videos
            .get(viewer, id)
            .await?
            .ok_or(DomainError::NotFound("video"))?;
        if !can_be_edited_by(&video, viewer) {
            return Err(DomainError::forbidden(
                "only the owner or an admin may follow this video's processing",
            ));
        }
        Ok(())
    }

    /// Queue counts, for users who can upload and admins.
    pub async fn queue_metrics(&self, viewer: &Viewer) -> DomainResult<QueueMetrics> {
        viewer.require(Permission::ManageOwnVideos, "see the processing queue")?;
        Ok(self
            .ports
            .jobs
            .queue_metrics(self.settings.concurrency)
            .await?)
    }
}
