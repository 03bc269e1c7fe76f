//! Per-request dataloaders: a page of videos costs one query for all owners, one for all
//! `viewerHasFavorited` flags and one for all version lists, whatever its size; favorites
//! load their target videos in one query too. Like counts are a column on the video
//! row, kept exact by the favorite transactions, so they cost nothing extra.

use std::collections::HashMap;
use std::sync::Arc;

use async_graphql::dataloader::Loader;

use crate::app::{FavoriteService, UserService, VideoService};
use crate::domain::auth::Viewer;
use crate::domain::favorite::TargetKind;
use crate::domain::user::User;
use crate::domain::video::{Video, VideoVersion};
use crate::domain::{DomainError, ErrorCode, UserId, VideoId};

pub struct UserLoader {
    pub users: Arc<UserService>,
}

impl Loader<UserId> for UserLoader {
    type Value = User;
    type Error = Arc<DomainError>;

    async fn load(&self, keys: &[UserId]) -> Result<HashMap<UserId, User>, Self::Error> {
        let users = self.users.by_ids(keys).await.map_err(Arc::new)?;
        Ok(users.into_iter().map(|u| (u.id, u)).collect())
    }
}

pub struct FavoritedLoader {
    pub viewer: Option<UserId>,
    pub favorites: Arc<FavoriteService>,
}

impl Loader<VideoId> for FavoritedLoader {
    type Value = bool;
    type Error = Arc<DomainError>;

    async fn load(&self, keys: &[VideoId]) -> Result<HashMap<VideoId, bool>, Self::Error> {
        let Some(viewer) = self.viewer else {
            return Ok(keys.iter().map(|k| (*k, false)).collect());
        };
        let ids: Vec<uuid::Uuid> = keys.iter().map(VideoId::as_uuid).collect();
        let set = self
            .favorites
            .favorited(viewer, TargetKind::Video, &ids)
            .await
            .map_err(Arc::new)?;
        Ok(keys
            .iter()
            .map(|k| (*k, set.contains(&k.as_uuid())))
            .collect())
    }
}

pub struct VersionsLoader {
    pub videos: Arc<VideoService>,
}

impl Loader<VideoId> for VersionsLoader {
    type Value = Vec<VideoVersion>;
    type Error = Arc<DomainError>;

    async fn load(
        &self,
        keys: &[VideoId],
    ) -> Result<HashMap<VideoId, Vec<VideoVersion>>, Self::Error> {
        self.videos.versions(keys).await.map_err(Arc::new)
    }
}

/// Videos by id, as the request's viewer may see them (hidden ones are absent).
pub struct VideoLoader {
    pub viewer: Viewer,
    pub videos: Arc<VideoService>,
}

impl Loader<VideoId> for VideoLoader {
    type Value = Video;
    type Error = Arc<DomainError>;

    async fn load(&self, keys: &[VideoId]) -> Result<HashMap<VideoId, Video>, Self::Error> {
        self.videos
            .get_many(&self.viewer, keys)
            .await
            .map_err(Arc::new)
    }
}

/// Turns a loader's shared error back into a GraphQL error.
pub fn loader_error(err: Arc<DomainError>) -> async_graphql::Error {
    match Arc::try_unwrap(err) {
        Ok(err) => crate::api::error::to_gql(err),
        Err(shared) if shared.code() == ErrorCode::Internal => {
            crate::api::error::to_gql(DomainError::internal(anyhow::anyhow!("{shared:?}")))
        }
        Err(shared) => crate::api::error::code(shared.code(), shared.to_string()),
    }
}
