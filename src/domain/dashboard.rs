//! Platform counters for live dashboards.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::BackendResult;
use super::VideoId;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlatformCounts {
    pub videos_total: i64,
    pub videos_processing: i64,
    pub users_total: i64,
    pub views_last_minute: i64,
    pub favorites_last_minute: i64,
    /// Most viewed in the last ten minutes, most first.
    pub top_videos: Vec<VideoId>,
}

#[async_trait]
pub trait StatsRepository: Send + Sync {
    async fn platform_counts(&self, now: DateTime<Utc>, top: u64) -> BackendResult<PlatformCounts>;
}
