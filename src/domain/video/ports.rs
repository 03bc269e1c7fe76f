use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewVideo, Video, VideoChanges, VideoStatus, VideoVersion, Visibility};
use crate::domain::error::DomainResult;
use crate::domain::page::Page;
use crate::domain::{UserId, VideoId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSort {
    Newest,
    Oldest,
    MostLiked,
    MostViewed,
}

impl VideoSort {
    pub fn as_str(self) -> &'static str {
        match self {
            VideoSort::Newest => "NEWEST",
            VideoSort::Oldest => "OLDEST",
            VideoSort::MostLiked => "MOST_LIKED",
            VideoSort::MostViewed => "MOST_VIEWED",
        }
    }
}

/// The position of a video in a sort order: the sort value, then the id as tie-breaker.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Created(DateTime<Utc>, VideoId),
    Count(i64, VideoId),
}

#[derive(Debug, Clone, Default)]
pub struct VideoFilter {
    pub owner_id: Option<UserId>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub status: Option<VideoStatus>,
    pub visibility: Option<Visibility>,
}

/// Which videos a listing may show, decided by the use case from the viewer and filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    /// Published PUBLIC videos only.
    Public,
    /// Every undeleted video of this owner (the owner listing their own).
    Owner(UserId),
    /// Every undeleted video (admins).
    All,
}

#[async_trait]
pub trait VideoRepository: Send + Sync {
    /// Inserts the video and its first version record.
    async fn create(&self, video: NewVideo) -> DomainResult<Video>;
    /// Includes soft-deleted videos; callers apply the visibility rules.
    async fn by_id(&self, id: VideoId) -> DomainResult<Option<Video>>;
    /// Applies `changes` and records a version naming `changed`. MUST return `NotFound`
    /// for a missing or deleted video.
    async fn update(
        &self,
        id: VideoId,
        changes: VideoChanges,
        changed: &[&str],
        by: UserId,
        now: DateTime<Utc>,
    ) -> DomainResult<Video>;
    async fn set_published(
        &self,
        id: VideoId,
        published_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> DomainResult<Video>;
    async fn soft_delete(&self, id: VideoId, now: DateTime<Utc>) -> DomainResult<()>;
    async fn list(
        &self,
        scope: ListScope,
        filter: &VideoFilter,
        sort: VideoSort,
        after: Option<SortKey>,
        first: u64,
    ) -> DomainResult<Page<Video, SortKey>>;
    async fn count(&self, scope: ListScope, filter: &VideoFilter) -> DomainResult<u64>;
    /// The newest [`super::MAX_VERSIONS`] version records of each video, oldest first;
    /// videos without any are absent.
    async fn versions(&self, ids: &[VideoId]) -> DomainResult<HashMap<VideoId, Vec<VideoVersion>>>;
    /// Includes soft-deleted videos; callers apply the visibility rules.
    async fn by_ids(&self, ids: &[VideoId]) -> DomainResult<Vec<Video>>;
    /// Counts a view unless this viewer was counted within `window_start..`; returns the
    /// (view, like) counts after. MUST return `NotFound` for a missing or deleted video.
    async fn record_view(
        &self,
        id: VideoId,
        viewer_key: &str,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> DomainResult<(i64, i64)>;
}
