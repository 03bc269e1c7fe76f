//! Background jobs as users see them: status, attempts, stage and progress.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::domain::{JobId, UserId, VideoId};

pub const JOB_KIND_PROCESS_MEDIA: &str = "process_media";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "QUEUED",
            JobStatus::Running => "RUNNING",
            JobStatus::Succeeded => "SUCCEEDED",
            JobStatus::Failed => "FAILED",
            JobStatus::Dead => "DEAD",
        }
    }
}

impl FromStr for JobStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "QUEUED" => JobStatus::Queued,
            "RUNNING" => JobStatus::Running,
            "SUCCEEDED" => JobStatus::Succeeded,
            "FAILED" => JobStatus::Failed,
            "DEAD" => JobStatus::Dead,
            other => return Err(format!("unknown JobStatus {other:?}")),
        })
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
