//! Favorites: a user's mark on a video or a recommendation. Adding twice is a no-op and
//! the target's like count stays exact.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::error::BackendResult;
use crate::domain::page::Page;
use crate::domain::UserId;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, strum::IntoStaticStr, strum::EnumString, strum::Display,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum TargetKind {
    Video,
    Recommendation,
}

impl TargetKind {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, Clone)]
pub struct Favorite {
    pub user_id: UserId,
    pub kind: TargetKind,
    pub target_id: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Position in a user's favorites, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct FavoriteKey {
    pub created_at: DateTime<Utc>,
    pub kind: TargetKind,
    pub target_id: Uuid,
}

#[async_trait]
pub trait FavoriteRepository: Send + Sync {
    /// Adds the favorite and bumps the target's like count in one transaction; adding an
    /// existing favorite changes nothing. Returns the favorite and whether it was new.
    async fn add(
        &self,
        user: UserId,
        kind: TargetKind,
        target: Uuid,
        now: DateTime<Utc>,
    ) -> BackendResult<(Favorite, bool)>;
    /// Removes it and lowers the like count in one transaction; true when it existed.
    async fn remove(&self, user: UserId, kind: TargetKind, target: Uuid) -> BackendResult<bool>;
    /// Favorites whose target still exists and the user may see, newest first.
    async fn list(
        &self,
        user: UserId,
        kind: Option<TargetKind>,
        after: Option<FavoriteKey>,
        first: u64,
    ) -> BackendResult<Page<Favorite, FavoriteKey>>;
    async fn count(&self, user: UserId, kind: Option<TargetKind>) -> BackendResult<u64>;
    async fn count_by_kind(&self, user: UserId) -> BackendResult<Vec<(TargetKind, u64)>>;
    /// Which of `targets` the user has favorited.
    async fn favorited(
        &self,
        user: UserId,
        kind: TargetKind,
        targets: &[Uuid],
    ) -> BackendResult<HashSet<Uuid>>;
}
