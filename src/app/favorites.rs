//! Favorites of videos and of recommendation items.

use std::collections::HashSet;
use std::sync::Arc;

use uuid::Uuid;

use super::cursor;
use super::recent_writes::RecentWrites;
use super::recommendations::RecommendationService;
use super::videos::VideoService;
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::{Event, EventBus};
use crate::domain::favorite::{Favorite, FavoriteKey, FavoriteRepository, TargetKind};
use crate::domain::page::{clamp_first, Page};
use crate::domain::user::Permission;
use crate::domain::{DomainError, RecommendationId, UserId, VideoId};

pub struct FavoriteService {
    favorites: Arc<dyn FavoriteRepository>,
    videos: Arc<VideoService>,
    items: Arc<RecommendationService>,
    writes: Arc<RecentWrites>,
    events: Arc<dyn EventBus>,
}

impl FavoriteService {
    pub fn new(
        favorites: Arc<dyn FavoriteRepository>,
        videos: Arc<VideoService>,
        items: Arc<RecommendationService>,
        writes: Arc<RecentWrites>,
        events: Arc<dyn EventBus>,
    ) -> Self {
        Self {
            favorites,
            videos,
            items,
            writes,
            events,
        }
    }

    async fn check_target(
        &self,
        viewer: &Viewer,
        kind: TargetKind,
        target: Uuid,
    ) -> DomainResult<()> {
        match kind {
            TargetKind::Video => {
                self.videos
                    .get(viewer, VideoId::from_uuid(target))
                    .await?
                    .ok_or(DomainError::NotFound("video"))?;
                Ok(())
            }
            TargetKind::Recommendation => {
                let id = RecommendationId::from_uuid(target);
                if self.items.shown_to(viewer, &[id]).await?.is_empty() {
                    return Err(DomainError::NotFound("recommendation"));
                }
                Ok(())
            }
        }
    }

    pub async fn add(
        &self,
        viewer: &Viewer,
        kind: TargetKind,
        target: Uuid,
    ) -> DomainResult<Favorite> {
        let user = viewer.require(Permission::Read, "favorite")?;
        self.check_target(viewer, kind, target).await?;
        let (favorite, added) = self.favorites.add(user, kind, target, clock::now()).await?;
        self.writes.note(viewer);
        // A repeated favorite changes nothing, so it announces nothing.
        if !added {
            return Ok(favorite);
        }
        if let Some(video) = self.announce(kind, target).await {
            if video.owner_id != user {
                self.events
                    .publish(Event::Notification {
                        user_id: video.owner_id,
                        kind: "FAVORITED".into(),
                        message: format!("Someone favorited \"{}\"", video.title),
                        video_id: Some(video.id),
                        at: clock::now(),
                    })
                    .await;
            }
        }
        Ok(favorite)
    }

    pub async fn remove(
        &self,
        viewer: &Viewer,
        kind: TargetKind,
        target: Uuid,
    ) -> DomainResult<bool> {
        let user = viewer.require(Permission::Read, "favorite")?;
        let removed = self.favorites.remove(user, kind, target).await?;
        self.writes.note(viewer);
        if removed {
            self.announce(kind, target).await;
        }
        Ok(removed)
    }

    /// Publishes a favorited video's new counts; returns the video.
    async fn announce(
        &self,
        kind: TargetKind,
        target: Uuid,
    ) -> Option<crate::domain::video::Video> {
        if kind != TargetKind::Video {
            return None;
        }
        self.videos
            .announce_counts(VideoId::from_uuid(target))
            .await
    }

    pub async fn list(
        &self,
        viewer: &Viewer,
        kind: Option<TargetKind>,
        first: Option<i64>,
        after: Option<&str>,
    ) -> DomainResult<(UserId, Page<Favorite, FavoriteKey>)> {
        let (user, _) = viewer.require_user()?;
        let after = after.map(cursor::decode_favorite).transpose()?;
        let page = self
            .favorites
            .list(user, kind, after, clamp_first(first))
            .await?;
        Ok((user, page))
    }

    pub async fn count(&self, user: UserId, kind: Option<TargetKind>) -> DomainResult<u64> {
        Ok(self.favorites.count(user, kind).await?)
    }

    pub async fn stats(&self, viewer: &Viewer) -> DomainResult<Vec<(TargetKind, u64)>> {
        let (user, _) = viewer.require_user()?;
        Ok(self.favorites.count_by_kind(user).await?)
    }

    pub async fn favorited(
        &self,
        user: UserId,
        kind: TargetKind,
        targets: &[Uuid],
    ) -> DomainResult<HashSet<Uuid>> {
        Ok(self.favorites.favorited(user, kind, targets).await?)
    }
}
