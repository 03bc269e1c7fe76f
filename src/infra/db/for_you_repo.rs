//! The "for you" signals (favorites, counted views, co-favorites) and stored lists.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{OnConflict, Query};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use uuid::Uuid;

use super::entities::{favorite, for_you_list, video, video_view};
use super::{db_err, Database, SqlFavoriteRepository};
use crate::domain::error::BackendResult;
use crate::domain::favorite::FavoriteRepository;
use crate::domain::favorite::TargetKind;
use crate::domain::video::for_you::{decode, encode, ForYouRepository, Pick, StoredList};
use crate::domain::{BackendError, UserId, VideoId};

/// At most this many (seed, candidate) votes per list: a viewer who favorited many of
/// the seeds counts for each, up to this bound.
const MAX_PAIRS: u64 = 200_000;

pub struct SqlForYouRepository {
    pub db: Database,
}

fn video_favorites() -> sea_orm::Select<favorite::Entity> {
    favorite::Entity::find().filter(favorite::Column::TargetKind.eq(TargetKind::Video.as_str()))
}

fn uuids(ids: &[VideoId]) -> Vec<Uuid> {
    ids.iter().map(|v| v.as_uuid()).collect()
}

#[async_trait]
impl ForYouRepository for SqlForYouRepository {
    async fn favorite_seeds(&self, user: UserId, limit: u64) -> BackendResult<Vec<VideoId>> {
        let ids: Vec<Uuid> = video_favorites()
            .filter(favorite::Column::UserId.eq(user.as_uuid()))
            .select_only()
            .column(favorite::Column::TargetId)
            .order_by_desc(favorite::Column::CreatedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(ids.into_iter().map(VideoId::from_uuid).collect())
    }

    async fn viewed(
        &self,
        viewer_key: &str,
        since: DateTime<Utc>,
        limit: u64,
    ) -> BackendResult<Vec<VideoId>> {
        let ids: Vec<Uuid> = video_view::Entity::find()
            .filter(video_view::Column::ViewerKey.eq(viewer_key))
            .filter(video_view::Column::CountedAt.gte(since))
            .select_only()
            .column(video_view::Column::VideoId)
            .order_by_desc(video_view::Column::CountedAt)
            .limit(limit)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(ids.into_iter().map(VideoId::from_uuid).collect())
    }

    async fn co_favorites(
        &self,
        seeds: &[VideoId],
        except: UserId,
        fans: u64,
        rows: u64,
    ) -> BackendResult<Vec<(VideoId, VideoId)>> {
        if seeds.is_empty() {
            return Ok(Vec::new());
        }
        let fan_rows: Vec<(Uuid, Uuid)> = video_favorites()
            .filter(favorite::Column::TargetId.is_in(uuids(seeds)))
            .filter(favorite::Column::UserId.ne(except.as_uuid()))
            .select_only()
            .columns([favorite::Column::UserId, favorite::Column::TargetId])
            .limit(fans)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let mut seeds_of: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (user, seed) in fan_rows {
            seeds_of.entry(user).or_default().push(seed);
        }
        if seeds_of.is_empty() {
            return Ok(Vec::new());
        }
        let theirs: Vec<(Uuid, Uuid)> = video_favorites()
            .filter(favorite::Column::UserId.is_in(seeds_of.keys().copied()))
            .select_only()
            .columns([favorite::Column::UserId, favorite::Column::TargetId])
            .limit(rows)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let mut pairs = Vec::new();
        'rows: for (user, candidate) in theirs {
            for seed in seeds_of.get(&user).into_iter().flatten() {
                if pairs.len() as u64 >= MAX_PAIRS {
                    break 'rows;
                }
                pairs.push((VideoId::from_uuid(*seed), VideoId::from_uuid(candidate)));
            }
        }
        Ok(pairs)
    }

    async fn favorited_among(
        &self,
        user: UserId,
        ids: &[VideoId],
    ) -> BackendResult<HashSet<VideoId>> {
        let favorites = SqlFavoriteRepository {
            db: self.db.clone(),
        };
        let found = favorites
            .favorited(user, TargetKind::Video, &uuids(ids))
            .await?;
        Ok(found.into_iter().map(VideoId::from_uuid).collect())
    }

    async fn like_counts(&self, ids: &[VideoId]) -> BackendResult<HashMap<VideoId, i64>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(Uuid, i64)> = video::Entity::find()
                .filter(video::Column::Id.is_in(uuids(chunk)))
                .select_only()
                .columns([video::Column::Id, video::Column::LikeCount])
                .into_tuple()
                .all(&self.db.conn)
                .await
                .map_err(db_err)?;
            out.extend(rows.into_iter().map(|(id, n)| (VideoId::from_uuid(id), n)));
        }
        Ok(out)
    }

    async fn viewed_among(
        &self,
        viewer_key: &str,
        ids: &[VideoId],
        since: DateTime<Utc>,
    ) -> BackendResult<HashSet<VideoId>> {
        let mut out = HashSet::new();
        for chunk in ids.chunks(500) {
            let found: Vec<Uuid> = video_view::Entity::find()
                .filter(video_view::Column::ViewerKey.eq(viewer_key))
                .filter(video_view::Column::CountedAt.gte(since))
                .filter(video_view::Column::VideoId.is_in(uuids(chunk)))
                .select_only()
                .column(video_view::Column::VideoId)
                .into_tuple()
                .all(&self.db.conn)
                .await
                .map_err(db_err)?;
            out.extend(found.into_iter().map(VideoId::from_uuid));
        }
        Ok(out)
    }

    async fn save_list(
        &self,
        user: UserId,
        picks: &[Pick],
        feedback: &str,
        now: DateTime<Utc>,
        keep: i64,
    ) -> BackendResult<i64> {
        let uid = user.as_uuid();
        let txn = self.db.write().await.map_err(db_err)?;
        let newest: Option<i64> = for_you_list::Entity::find()
            .filter(for_you_list::Column::UserId.eq(uid))
            .select_only()
            .column(for_you_list::Column::Version)
            .order_by_desc(for_you_list::Column::Version)
            .into_tuple()
            .one(&txn)
            .await
            .map_err(db_err)?;
        let bytes = encode(picks);
        // Two first pages of one viewer at once: the later insert finds the version
        // taken and takes the next one.
        let start = now.timestamp_micros().max(newest.unwrap_or(0) + 1);
        for version in start..start + 8 {
            let insert = Query::insert()
                .into_table(for_you_list::Entity)
                .columns([
                    for_you_list::Column::UserId,
                    for_you_list::Column::Version,
                    for_you_list::Column::Picks,
                    for_you_list::Column::Feedback,
                    for_you_list::Column::CreatedAt,
                ])
                .values([
                    uid.into(),
                    version.into(),
                    bytes.clone().into(),
                    feedback.into(),
                    now.into(),
                ])
                .map_err(BackendError::internal)?
                .on_conflict(
                    OnConflict::columns([
                        for_you_list::Column::UserId,
                        for_you_list::Column::Version,
                    ])
                    .do_nothing()
                    .to_owned(),
                )
                .to_owned();
            if txn.execute(&insert).await.map_err(db_err)?.rows_affected() == 1 {
                let kept: Vec<i64> = for_you_list::Entity::find()
                    .filter(for_you_list::Column::UserId.eq(uid))
                    .select_only()
                    .column(for_you_list::Column::Version)
                    .order_by_desc(for_you_list::Column::Version)
                    .limit(keep.max(1) as u64)
                    .into_tuple()
                    .all(&txn)
                    .await
                    .map_err(db_err)?;
                if let Some(oldest_kept) = kept.last() {
                    for_you_list::Entity::delete_many()
                        .filter(for_you_list::Column::UserId.eq(uid))
                        .filter(for_you_list::Column::Version.lt(*oldest_kept))
                        .exec(&txn)
                        .await
                        .map_err(db_err)?;
                }
                txn.commit().await.map_err(db_err)?;
                return Ok(version);
            }
        }
        Err(BackendError::internal(anyhow::anyhow!(
            "no free version for a new list"
        )))
    }

    async fn prune_lists(&self, before: DateTime<Utc>) -> BackendResult<u64> {
        Ok(for_you_list::Entity::delete_many()
            .filter(for_you_list::Column::CreatedAt.lt(before))
            .exec(&self.db.conn)
            .await
            .map_err(db_err)?
            .rows_affected)
    }

    async fn newest_list(&self, user: UserId) -> BackendResult<Option<StoredList>> {
        let row = for_you_list::Entity::find()
            .filter(for_you_list::Column::UserId.eq(user.as_uuid()))
            .order_by_desc(for_you_list::Column::Version)
            .one(&self.db.conn)
            .await
            .map_err(db_err)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let picks = decode(&row.picks)
            .ok_or_else(|| BackendError::internal(anyhow::anyhow!("a stored list is corrupt")))?;
        Ok(Some(StoredList {
            version: row.version,
            created_at: row.created_at,
            feedback: row.feedback,
            picks,
        }))
    }

    async fn feedback(&self, user: UserId, viewer_key: &str) -> BackendResult<String> {
        let favorites: Option<(i64, Option<DateTime<Utc>>)> = video_favorites()
            .filter(favorite::Column::UserId.eq(user.as_uuid()))
            .select_only()
            .column_as(favorite::Column::TargetId.count(), "n")
            .column_as(favorite::Column::CreatedAt.max(), "newest")
            .into_tuple()
            .one(&self.db.conn)
            .await
            .map_err(db_err)?;
        let (count, favorited) = favorites.unwrap_or((0, None));
        let viewed: Option<DateTime<Utc>> = video_view::Entity::find()
            .filter(video_view::Column::ViewerKey.eq(viewer_key))
            .select_only()
            .column(video_view::Column::CountedAt)
            .order_by_desc(video_view::Column::CountedAt)
            .into_tuple()
            .one(&self.db.conn)
            .await
            .map_err(db_err)?;
        let micros = |t: Option<DateTime<Utc>>| t.map_or(0, |t| t.timestamp_micros());
        Ok(format!("{count}:{}:{}", micros(favorited), micros(viewed)))
    }

    async fn list(&self, user: UserId, version: i64) -> BackendResult<Option<Vec<Pick>>> {
        let row = for_you_list::Entity::find_by_id((user.as_uuid(), version))
            .one(&self.db.conn)
            .await
            .map_err(db_err)?;
        match row {
            None => Ok(None),
            Some(row) => decode(&row.picks)
                .map(Some)
                .ok_or_else(|| BackendError::internal(anyhow::anyhow!("a stored list is corrupt"))),
        }
    }
}
