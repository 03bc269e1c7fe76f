//! The video port: where videos, their versions and their view counts are kept
//! ([`VideoRepository`]), and the listing vocabulary its callers speak ([`ListScope`],
//! [`VideoSort`], [`SortKey`]). Listings are keyset pages in a total order (the sort
//! value, then the id); the use case decides the scope from the viewer, the repository
//! only applies it. Writes to a missing or deleted video return
//! [`WriteError::NotFound`], and every write the search index must see is recorded in
//! the same transaction. Any other failure is the backend's
//! ([`BackendError`](crate::domain::BackendError)).

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{NewVideo, Video, VideoChanges, VideoStatus, VideoVersion, Visibility};
use crate::domain::error::{BackendResult, WriteError};
use crate::domain::page::Page;
use crate::domain::{UserId, VideoId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum VideoSort {
    Newest,
    Oldest,
    MostLiked,
    MostViewed,
    /// By hot score ([`super::trending`]), in the ranking of one generation.
    Trending,
}

impl VideoSort {
    /// The name a cursor records.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

/// The position of a video in a sort order: the sort value, then the id as tie-breaker.
#[derive(Debug, Clone, PartialEq)]
pub enum SortKey {
    Created(DateTime<Utc>, VideoId),
    Count(i64, VideoId),
    /// A place in a trending ranking: its generation and position.
    Ranked(i64, i64, VideoId),
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
    async fn create(&self, video: NewVideo) -> BackendResult<Video>;
    /// Includes soft-deleted videos; callers apply the visibility rules.
    async fn by_id(&self, id: VideoId) -> BackendResult<Option<Video>>;
    /// Applies `changes` and records a version naming `changed`. MUST return `NotFound`
    /// for a missing or deleted video.
    async fn update(
        &self,
        id: VideoId,
        changes: VideoChanges,
        changed: &[&str],
        by: UserId,
        now: DateTime<Utc>,
    ) -> Result<Video, WriteError>;
    /// MUST return `NotFound` for a missing or deleted video.
    async fn set_published(
        &self,
        id: VideoId,
        published_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Video, WriteError>;
    /// MUST return `NotFound` for a missing or already deleted video.
    async fn soft_delete(&self, id: VideoId, now: DateTime<Utc>) -> Result<(), WriteError>;
    async fn list(
        &self,
        scope: ListScope,
        filter: &VideoFilter,
        sort: VideoSort,
        after: Option<SortKey>,
        first: u64,
    ) -> BackendResult<Page<Video, SortKey>>;
    async fn count(&self, scope: ListScope, filter: &VideoFilter) -> BackendResult<u64>;
    /// The newest [`super::MAX_VERSIONS`] version records of each video, oldest first;
    /// videos without any are absent.
    async fn versions(&self, ids: &[VideoId])
        -> BackendResult<HashMap<VideoId, Vec<VideoVersion>>>;
    /// Includes soft-deleted videos; callers apply the visibility rules.
    async fn by_ids(&self, ids: &[VideoId]) -> BackendResult<Vec<Video>>;
    /// Counts a view unless this viewer was counted within `window_start..`; returns the
    /// (view, like) counts after. MUST return `NotFound` for a missing or deleted video.
    async fn record_view(
        &self,
        id: VideoId,
        viewer_key: &str,
        now: DateTime<Utc>,
        window_start: DateTime<Utc>,
    ) -> Result<(i64, i64), WriteError>;
    /// Builds the trending ranking of `generation` (its time bucket, in Unix seconds)
    /// unless it exists: the top [`super::TRENDING_DEPTH`] published PUBLIC videos by
    /// hot score. True when this call built it; of instances building the same
    /// generation at once, exactly one does.
    async fn build_trending(&self, generation: i64, now: DateTime<Utc>) -> BackendResult<bool>;
    /// Scores the rows never scored (bulk inserts, rows from before scoring) from their
    /// counts; returns how many. Rankings leave unscored rows out.
    async fn score_unscored(&self, now: DateTime<Utc>) -> BackendResult<u64>;
    /// The newest trending ranking built, if any.
    async fn latest_trending(&self) -> BackendResult<Option<i64>>;
    async fn trending_exists(&self, generation: i64) -> BackendResult<bool>;
    /// One page of a ranking: videos still published PUBLIC and matching `filter`, in
    /// ranking order after position `after`.
    async fn trending(
        &self,
        generation: i64,
        filter: &VideoFilter,
        after: Option<i64>,
        first: u64,
    ) -> BackendResult<Page<Video, SortKey>>;
    async fn count_trending(&self, generation: i64, filter: &VideoFilter) -> BackendResult<u64>;
    /// Removes rankings built before `before`, but never the newest; returns how many.
    async fn prune_trending(&self, before: DateTime<Utc>) -> BackendResult<u64>;
}
