//! Background jobs as users see them: status, attempts, stage and progress.

use chrono::{DateTime, Utc};

use crate::domain::{JobId, UserId, VideoId};

pub const JOB_KIND_PROCESS_MEDIA: &str = "process_media";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString, strum::Display,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum JobStatus {
    /// Waiting for a worker.
    Queued,
    Running,
    Succeeded,
    /// An attempt failed; another is scheduled.
    Failed,
    /// Every attempt failed; `retryProcessing` starts it again.
    Dead,
}

impl JobStatus {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    pub kind: String,
    pub video_id: VideoId,
    pub owner_id: UserId,
    /// The media object the job works on.
    pub object_key: String,
    pub status: JobStatus,
    pub attempts: i32,
    pub max_attempts: i32,
    pub stage: Option<String>,
    pub progress: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewJob {
    pub id: JobId,
    pub kind: &'static str,
    pub max_attempts: i32,
}

/// What processing learnt about a video file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaFacts {
    pub duration_seconds: Option<f64>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    /// Container and codec, for example `mp4/h264`.
    pub format: Option<String>,
    pub size_bytes: i64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QueueMetrics {
    pub pending: i64,
    pub running: i64,
    pub failed: i64,
    pub dead: i64,
    pub estimated_wait_seconds: f64,
}
