//! Creating, editing, publishing, listing and viewing videos.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::cursor;
use super::trending::Trending;
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::{Event, EventBus};
use crate::domain::page::{clamp_first, Page};
use crate::domain::user::Permission;
use crate::domain::video::{
    can_be_edited_by, is_listed_for, is_visible_to, optional, seo_description, seo_title,
    Categories, Description, ListScope, NewVideo, SeoKeywords, SortKey, Tags, Title, Video,
    VideoChanges, VideoFilter, VideoRepository, VideoSort, VideoVersion, Visibility,
};
use crate::domain::{DomainError, VideoId};

/// A viewer's views of one video count once per this window.
pub const VIEW_WINDOW: Duration = Duration::from_secs(30 * 60);

pub struct VideoService {
    videos: Arc<dyn VideoRepository>,
    writes: Arc<super::RecentWrites>,
    events: Arc<dyn EventBus>,
    trending: Trending,
}

#[derive(Default)]
pub struct CreateVideo {
    pub title: String,
    pub description: Option<String>,
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub visibility: Option<Visibility>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    pub seo_keywords: Vec<String>,
}

impl VideoService {
    pub fn new(
        videos: Arc<dyn VideoRepository>,
        writes: Arc<super::RecentWrites>,
        events: Arc<dyn EventBus>,
        trending_every: Duration,
    ) -> Self {
        Self {
            trending: Trending::new(videos.clone(), trending_every),
            videos,
            writes,
            events,
        }
    }

    /// Trending listings and the rankings behind them.
    pub fn trending(&self) -> &Trending {
        &self.trending
    }

    pub async fn create(&self, viewer: &Viewer, input: CreateVideo) -> DomainResult<Video> {
        let owner = viewer.require(Permission::ManageOwnVideos, "create videos")?;
        let field = |e: DomainError| e.in_field("input");
        let video = NewVideo {
            id: VideoId::new(),
            owner_id: owner,
            title: Title::parse(&input.title).map_err(field)?.into_inner(),
            description: optional(input.description.as_deref(), |d| {
                Description::parse(d).map(Description::into_inner)
            })
            .map_err(field)?
            .filter(|d| !d.is_empty()),
            categories: Categories::parse(&input.categories)
                .map_err(field)?
                .into_inner(),
            tags: Tags::parse(&input.tags).map_err(field)?.into_inner(),
            visibility: input.visibility.unwrap_or(Visibility::Public),
            seo_title: optional(input.seo_title.as_deref(), seo_title).map_err(field)?,
            seo_description: optional(input.seo_description.as_deref(), seo_description)
                .map_err(field)?,
            seo_keywords: SeoKeywords::parse(&input.seo_keywords)
                .map_err(field)?
                .into_inner(),
            now: clock::now(),
        };
        let video = self.videos.create(video).await?;
        self.writes.note(viewer);
        Ok(video)
    }

    /// The video if `viewer` may see it; `None` both for missing and for hidden videos, so
    /// that ids of private videos cannot be probed.
    pub async fn get(&self, viewer: &Viewer, id: VideoId) -> DomainResult<Option<Video>> {
        Ok(self
            .videos
            .by_id(id)
            .await?
            .filter(|v| is_visible_to(v, viewer)))
    }

    /// Loads a video for a change: `NotFound` when the viewer cannot see it, `Forbidden`
    /// when they can see it but not change it.
    pub(crate) async fn editable(&self, viewer: &Viewer, id: VideoId) -> DomainResult<Video> {
        viewer.require(Permission::ManageOwnVideos, "change videos")?;
        let video = self
            .get(viewer, id)
            .await?
            .ok_or(DomainError::NotFound("video"))?;
        if !can_be_edited_by(&video, viewer) {
            return Err(DomainError::forbidden(
                "only the owner or an admin may change this video",
            ));
        }
        Ok(video)
    }

    pub async fn update(
        &self,
        viewer: &Viewer,
        id: VideoId,
        changes: VideoChanges,
    ) -> DomainResult<Video> {
        let changes = changes.validated().map_err(|e| e.in_field("input"))?;
        let video = self.editable(viewer, id).await?;
        let changed = changes.changed_fields(&video);
        if changed.is_empty() {
            return Ok(video);
        }
        let by = viewer.require_user()?.0;
        let video = self
            .videos
            .update(id, changes, &changed, by, clock::now())
            .await?;
        self.writes.note(viewer);
        Ok(video)
    }

    /// Publishing an already published video keeps its original `publishedAt`.
    pub async fn publish(&self, viewer: &Viewer, id: VideoId) -> DomainResult<Video> {
        let video = self.editable(viewer, id).await?;
        if video.is_published() {
            return Ok(video);
        }
        let now = clock::now();
        let video = self.videos.set_published(id, Some(now), now).await?;
        self.writes.note(viewer);
        Ok(video)
    }

    pub async fn unpublish(&self, viewer: &Viewer, id: VideoId) -> DomainResult<Video> {
        let video = self.editable(viewer, id).await?;
        if !video.is_published() {
            return Ok(video);
        }
        let video = self.videos.set_published(id, None, clock::now()).await?;
        self.writes.note(viewer);
        Ok(video)
    }

    pub async fn delete(&self, viewer: &Viewer, id: VideoId) -> DomainResult<bool> {
        self.editable(viewer, id).await?;
        self.videos.soft_delete(id, clock::now()).await?;
        self.writes.note(viewer);
        Ok(true)
    }

    /// Which videos `viewer` may list with `filter`: admins everything; owners all of
    /// their own when they filter by themselves (drafts, private and unlisted included);
    /// everyone else published PUBLIC videos. Keeping other listings to one shape keeps
    /// every feed on one ordered index.
    pub fn scope(viewer: &Viewer, filter: &VideoFilter) -> ListScope {
        if viewer.can(Permission::ManageAnyVideo) {
            return ListScope::All;
        }
        match (viewer.user_id(), filter.owner_id) {
            (Some(me), Some(owner)) if me == owner => ListScope::Owner(me),
            _ => ListScope::Public,
        }
    }

    pub async fn list(
        &self,
        viewer: &Viewer,
        filter: &VideoFilter,
        sort: VideoSort,
        first: Option<i64>,
        after: Option<&str>,
    ) -> DomainResult<Page<Video, SortKey>> {
        let after = after.map(|c| cursor::decode_video(sort, c)).transpose()?;
        if sort == VideoSort::Trending {
            return Ok(self.trending.page(filter, first, after).await?.1);
        }
        Ok(self
            .videos
            .list(
                Self::scope(viewer, filter),
                filter,
                sort,
                after,
                clamp_first(first),
            )
            .await?)
    }

    pub async fn count(&self, viewer: &Viewer, filter: &VideoFilter) -> DomainResult<u64> {
        Ok(self
            .videos
            .count(Self::scope(viewer, filter), filter)
            .await?)
    }

    pub async fn versions(
        &self,
        ids: &[VideoId],
    ) -> DomainResult<HashMap<VideoId, Vec<VideoVersion>>> {
        Ok(self.videos.versions(ids).await?)
    }

    /// The videos among `ids` that `viewer` may see, by id.
    pub async fn get_many(
        &self,
        viewer: &Viewer,
        ids: &[VideoId],
    ) -> DomainResult<HashMap<VideoId, Video>> {
        Ok(self
            .videos
            .by_ids(ids)
            .await?
            .into_iter()
            .filter(|v| is_visible_to(v, viewer))
            .map(|v| (v.id, v))
            .collect())
    }

    /// The videos among `ids` that listings may show `viewer` ([`is_listed_for`]), by id.
    pub async fn listed_many(
        &self,
        viewer: &Viewer,
        ids: &[VideoId],
    ) -> DomainResult<HashMap<VideoId, Video>> {
        Ok(self
            .videos
            .by_ids(ids)
            .await?
            .into_iter()
            .filter(|v| is_listed_for(v, viewer))
            .map(|v| (v.id, v))
            .collect())
    }

    pub async fn record_view(&self, viewer: &Viewer, id: VideoId) -> DomainResult<(i64, i64)> {
        self.get(viewer, id)
            .await?
            .ok_or(DomainError::NotFound("video"))?;
        let now = clock::now();
        let window_start =
            now - chrono::Duration::from_std(VIEW_WINDOW).map_err(DomainError::internal)?;
        let (view_count, like_count) = self
            .videos
            .record_view(id, &viewer.counter_key(), now, window_start)
            .await?;
        self.publish_stats(id, view_count, like_count).await;
        Ok((view_count, like_count))
    }

    /// Reads the video as it is now, whoever may see it, and tells live subscribers its
    /// counts; `None` when it is gone. For use cases that changed them (favorites).
    pub async fn announce_counts(&self, id: VideoId) -> Option<Video> {
        let video = self.videos.by_id(id).await.ok().flatten()?;
        self.publish_stats(video.id, video.view_count, video.like_count)
            .await;
        Some(video)
    }

    /// Tells live subscribers a video's counts (after the commit that changed them).
    pub async fn publish_stats(&self, id: VideoId, view_count: i64, like_count: i64) {
        self.events
            .publish(Event::Stats {
                video_id: id,
                view_count,
                like_count,
                at: clock::now(),
            })
            .await;
    }
}
