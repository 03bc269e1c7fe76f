//! The recommendation port: items, the generation counter that versions anonymous feeds,
//! and the stored order of each feed version ([`SnapshotKey`]). Writes to a missing item
//! return [`WriteError::NotFound`]; every item write bumps the generations of its kind and
//! of ALL in the same transaction.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{Recommendation, RecommendationFields, RecommendationKind};
use crate::domain::error::{BackendResult, WriteError};
use crate::domain::{RecommendationId, UserId};

/// At most this many featured items per feed.
pub const MAX_FEATURED: u64 = 10;

/// Which feed: one kind's, or every kind's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedKey {
    All,
    Kind(RecommendationKind),
}

impl FeedKey {
    pub fn of(kind: Option<RecommendationKind>) -> Self {
        kind.map_or(FeedKey::All, FeedKey::Kind)
    }

    /// The name stored with snapshots and generations and written in cursors.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedKey::All => "ALL",
            FeedKey::Kind(kind) => kind.as_str(),
        }
    }

    pub fn kind(self) -> Option<RecommendationKind> {
        match self {
            FeedKey::All => None,
            FeedKey::Kind(kind) => Some(kind),
        }
    }
}

/// One version of one viewer's feed (`viewer` is a user id, or `anon`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SnapshotKey {
    pub viewer: String,
    pub feed: FeedKey,
    pub version: i64,
}

/// What an import batch did: rows inserted or changed, and rows already as given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    pub written: u64,
    pub unchanged: u64,
}

#[async_trait]
pub trait RecommendationRepository: Send + Sync {
    async fn create(
        &self,
        id: RecommendationId,
        fields: RecommendationFields,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Recommendation, WriteError>;
    /// Replaces the item's fields if it was last changed at `read_at` (the `updated_at`
    /// the caller read). MUST return `NotFound` for a missing item and `Conflict` when it
    /// changed since or another item holds its (source, sourceRef).
    async fn update(
        &self,
        id: RecommendationId,
        fields: RecommendationFields,
        read_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Recommendation, WriteError>;
    /// Deletes the item and the favorites of it. MUST return `NotFound` for a missing item.
    async fn delete(&self, id: RecommendationId) -> Result<(), WriteError>;
    async fn by_ids(&self, ids: &[RecommendationId]) -> BackendResult<Vec<Recommendation>>;
    /// Inserts or updates items from a source by (source, source_ref), which each has, in
    /// one transaction; an item already as given is not written and bumps nothing.
    async fn upsert_sourced(
        &self,
        items: &[RecommendationFields],
        now: DateTime<Utc>,
    ) -> BackendResult<ImportOutcome>;
    /// The feed's generation: it grows with every change to an item in the feed.
    async fn generation(&self, feed: FeedKey) -> BackendResult<i64>;
    /// Ids in the feed's order (score, then newest, then id; all descending), at most `limit`.
    async fn ranked_ids(&self, feed: FeedKey, limit: u64) -> BackendResult<Vec<RecommendationId>>;
    /// Items marked featured whose window holds `now`, by score, at most `limit`.
    async fn featured(
        &self,
        feed: FeedKey,
        now: DateTime<Utc>,
        limit: u64,
    ) -> BackendResult<Vec<Recommendation>>;
    /// The current like counts of `ids` (missing items are absent).
    async fn like_counts(
        &self,
        ids: &[RecommendationId],
    ) -> BackendResult<HashMap<RecommendationId, i64>>;
    /// The newest version of the viewer's feed, if any is stored.
    async fn latest_version(&self, viewer: &str, feed: FeedKey) -> BackendResult<Option<i64>>;
    async fn snapshot(&self, key: &SnapshotKey) -> BackendResult<Option<Vec<RecommendationId>>>;
    /// Stores a version's order unless that version exists (another request made it
    /// first); either way returns the stored order. Versions older than `keep_after`
    /// are dropped on the way.
    async fn save_snapshot(
        &self,
        key: &SnapshotKey,
        ids: &[RecommendationId],
        now: DateTime<Utc>,
        keep_after: DateTime<Utc>,
        keep_newest: Option<i64>,
    ) -> BackendResult<Vec<RecommendationId>>;
    /// Records that pages of this version were handed out up to `upto` items.
    async fn mark_served(&self, key: &SnapshotKey, upto: u32) -> BackendResult<()>;
    /// Items handed out in the viewer's newest `versions` versions of the feed.
    async fn served(
        &self,
        viewer: &str,
        feed: FeedKey,
        versions: u32,
    ) -> BackendResult<HashSet<RecommendationId>>;
}
