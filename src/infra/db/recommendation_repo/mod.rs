//! Recommendation items in SQL. Every write bumps the generation of the item's kind and
//! of ALL inside its transaction ([`bump_generations`]), which retires cached anonymous
//! pages on every instance.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use super::entities::{favorite, recommendation, recommendation_generation as generation};
use super::{db_err, is_unique_violation, Database};
use crate::domain::error::{BackendResult, WriteError};
use crate::domain::favorite::TargetKind;
use crate::domain::recommendation::{
    FeedKey, ImportOutcome, Recommendation, RecommendationFields, RecommendationKind,
    RecommendationRepository, SnapshotKey,
};
use crate::domain::{BackendError, RecommendationId, UserId, VideoId};

mod snapshots;
mod sourced;

use self::sourced::write_sourced;

pub struct SqlRecommendationRepository {
    pub db: Database,
}

fn corrupt(what: &str, value: &str) -> BackendError {
    BackendError::internal(anyhow::anyhow!(
        "corrupt recommendation row: {what} {value:?}"
    ))
}

fn item_from(m: recommendation::Model) -> BackendResult<Recommendation> {
    let kind: RecommendationKind = m.kind.parse().map_err(|_| corrupt("kind", &m.kind))?;
    Ok(Recommendation {
        id: RecommendationId::from_uuid(m.id),
        fields: RecommendationFields {
            kind,
            title: m.title,
            subtitle: m.subtitle,
            description: m.description,
            rating: m.rating,
            image_url: m.image_url,
            accent_color: m.accent_color,
            duration: m.duration,
            release_date: m.release_date,
            source: m.source,
            source_ref: m.source_ref,
            video_id: m.video_id.map(VideoId::from_uuid),
            featured: m.featured,
            featured_from: m.featured_from,
            featured_until: m.featured_until,
            score: m.score,
        },
        like_count: m.like_count,
        created_by: m.created_by.map(UserId::from_uuid),
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// The columns `fields` sets, for inserts and updates alike.
fn set_fields(model: &mut recommendation::ActiveModel, f: &RecommendationFields) {
    model.kind = Set(f.kind.as_str().to_owned());
    model.title = Set(f.title.clone());
    model.subtitle = Set(f.subtitle.clone());
    model.description = Set(f.description.clone());
    model.rating = Set(f.rating);
    model.image_url = Set(f.image_url.clone());
    model.accent_color = Set(f.accent_color.clone());
    model.duration = Set(f.duration.clone());
    model.release_date = Set(f.release_date.clone());
    model.source = Set(f.source.clone());
    model.source_ref = Set(f.source_ref.clone());
    model.video_id = Set(f.video_id.map(|v| v.as_uuid()));
    model.featured = Set(f.featured);
    model.featured_from = Set(f.featured_from);
    model.featured_until = Set(f.featured_until);
    model.score = Set(f.score);
}

fn new_row(
    id: Uuid,
    f: &RecommendationFields,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> recommendation::ActiveModel {
    let mut model = recommendation::ActiveModel {
        id: Set(id),
        like_count: Set(0),
        created_by: Set(by.map(|u| u.as_uuid())),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    set_fields(&mut model, f);
    model
}

/// A write that broke the (source, source_ref) key is the caller's CONFLICT.
fn source_clash(err: sea_orm::DbErr) -> WriteError {
    if is_unique_violation(&err) {
        WriteError::Conflict("another item has this source and sourceRef".into())
    } else {
        db_err(err).into()
    }
}

/// Bumps the generation of each kind in `kinds` and of ALL.
async fn bump_generations<C: ConnectionTrait>(
    conn: &C,
    kinds: impl IntoIterator<Item = RecommendationKind>,
) -> BackendResult<()> {
    // One order in every transaction (kinds by name, then ALL), so two writes that touch
    // the same rows cannot lock them in opposite orders.
    let mut keys: Vec<FeedKey> = kinds.into_iter().map(FeedKey::Kind).collect();
    keys.sort_by_key(|k| k.as_str());
    keys.dedup();
    keys.push(FeedKey::All);
    for key in keys {
        let upsert = Query::insert()
            .into_table(generation::Entity)
            .columns([generation::Column::FeedKey, generation::Column::Generation])
            .values([key.as_str().into(), 1i64.into()])
            .map_err(BackendError::internal)?
            .on_conflict(
                OnConflict::column(generation::Column::FeedKey)
                    .value(
                        generation::Column::Generation,
                        Expr::col((generation::Entity, generation::Column::Generation)).add(1),
                    )
                    .to_owned(),
            )
            .to_owned();
        conn.execute(&upsert).await.map_err(db_err)?;
    }
    Ok(())
}

fn in_feed(feed: FeedKey) -> Select<recommendation::Entity> {
    let q = recommendation::Entity::find();
    match feed.kind() {
        Some(kind) => q.filter(recommendation::Column::Kind.eq(kind.as_str())),
        None => q,
    }
}

fn ranked(q: Select<recommendation::Entity>) -> Select<recommendation::Entity> {
    q.order_by_desc(recommendation::Column::Score)
        .order_by_desc(recommendation::Column::CreatedAt)
        .order_by_desc(recommendation::Column::Id)
}

#[async_trait]
impl RecommendationRepository for SqlRecommendationRepository {
    async fn create(
        &self,
        id: RecommendationId,
        fields: RecommendationFields,
        by: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Recommendation, WriteError> {
        let txn = self.db.write().await.map_err(db_err)?;
        let row = recommendation::Entity::insert(new_row(id.as_uuid(), &fields, by, now))
            .exec_with_returning(&txn)
            .await
            .map_err(source_clash)?;
        bump_generations(&txn, [fields.kind]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(item_from(row)?)
    }

    async fn update(
        &self,
        id: RecommendationId,
        fields: RecommendationFields,
        read_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Recommendation, WriteError> {
        let txn = self.db.write().await.map_err(db_err)?;
        let row = recommendation::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or(WriteError::NotFound("recommendation"))?;
        let old_kind = item_from(row)?.fields.kind;
        let mut model = recommendation::ActiveModel {
            updated_at: Set(now),
            ..Default::default()
        };
        set_fields(&mut model, &fields);
        // Guarded by the time the caller read: on PostgreSQL a concurrent update makes
        // this one wait, then find the row changed and write nothing.
        let written = recommendation::Entity::update_many()
            .set(model)
            .filter(recommendation::Column::Id.eq(id.as_uuid()))
            .filter(recommendation::Column::UpdatedAt.eq(read_at))
            .exec(&txn)
            .await
            .map_err(source_clash)?
            .rows_affected;
        if written == 0 {
            return Err(WriteError::Conflict(
                "the item changed while this update was made; read it again and retry".into(),
            ));
        }
        let row = recommendation::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or(WriteError::NotFound("recommendation"))?;
        bump_generations(&txn, [old_kind, fields.kind]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(item_from(row)?)
    }

    async fn delete(&self, id: RecommendationId) -> Result<(), WriteError> {
        let txn = self.db.write().await.map_err(db_err)?;
        let row = recommendation::Entity::find_by_id(id.as_uuid())
            .one(&txn)
            .await
            .map_err(db_err)?
            .ok_or(WriteError::NotFound("recommendation"))?;
        let kind = item_from(row)?.fields.kind;
        favorite::Entity::delete_many()
            .filter(favorite::Column::TargetKind.eq(TargetKind::Recommendation.as_str()))
            .filter(favorite::Column::TargetId.eq(id.as_uuid()))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        recommendation::Entity::delete_by_id(id.as_uuid())
            .exec(&txn)
            .await
            .map_err(db_err)?;
        bump_generations(&txn, [kind]).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(())
    }

    async fn by_ids(&self, ids: &[RecommendationId]) -> BackendResult<Vec<Recommendation>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        recommendation::Entity::find()
            .filter(recommendation::Column::Id.is_in(ids.iter().map(|i| i.as_uuid())))
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(item_from)
            .collect()
    }

    async fn upsert_sourced(
        &self,
        items: &[RecommendationFields],
        now: DateTime<Utc>,
    ) -> BackendResult<ImportOutcome> {
        let txn = self.db.write().await.map_err(db_err)?;
        let outcome = write_sourced(&txn, items, now).await?;
        txn.commit().await.map_err(db_err)?;
        Ok(outcome)
    }

    async fn generation(&self, feed: FeedKey) -> BackendResult<i64> {
        Ok(generation::Entity::find_by_id(feed.as_str().to_owned())
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map_or(0, |g| g.generation))
    }

    async fn ranked_ids(&self, feed: FeedKey, limit: u64) -> BackendResult<Vec<RecommendationId>> {
        let ids: Vec<Uuid> = ranked(in_feed(feed))
            .select_only()
            .column(recommendation::Column::Id)
            .limit(limit)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(ids.into_iter().map(RecommendationId::from_uuid).collect())
    }

    async fn featured(
        &self,
        feed: FeedKey,
        now: DateTime<Utc>,
        limit: u64,
    ) -> BackendResult<Vec<Recommendation>> {
        let window = Condition::all()
            .add(
                Condition::any()
                    .add(recommendation::Column::FeaturedFrom.is_null())
                    .add(recommendation::Column::FeaturedFrom.lte(now)),
            )
            .add(
                Condition::any()
                    .add(recommendation::Column::FeaturedUntil.is_null())
                    .add(recommendation::Column::FeaturedUntil.gt(now)),
            );
        ranked(in_feed(feed))
            .filter(recommendation::Column::Featured.eq(true))
            .filter(window)
            .limit(limit)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(item_from)
            .collect()
    }

    async fn like_counts(
        &self,
        ids: &[RecommendationId],
    ) -> BackendResult<HashMap<RecommendationId, i64>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows: Vec<(Uuid, i64)> = recommendation::Entity::find()
            .select_only()
            .column(recommendation::Column::Id)
            .column(recommendation::Column::LikeCount)
            .filter(recommendation::Column::Id.is_in(ids.iter().map(|i| i.as_uuid())))
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(|(id, n)| (RecommendationId::from_uuid(id), n))
            .collect())
    }

    async fn latest_version(&self, viewer: &str, feed: FeedKey) -> BackendResult<Option<i64>> {
        snapshots::latest_version(&self.db, viewer, feed).await
    }

    async fn snapshot(&self, key: &SnapshotKey) -> BackendResult<Option<Vec<RecommendationId>>> {
        snapshots::load(&self.db.conn, key).await
    }

    async fn save_snapshot(
        &self,
        key: &SnapshotKey,
        ids: &[RecommendationId],
        now: DateTime<Utc>,
        keep_after: DateTime<Utc>,
        keep_newest: Option<i64>,
    ) -> BackendResult<Vec<RecommendationId>> {
        snapshots::save(&self.db, key, ids, now, keep_after, keep_newest).await
    }

    async fn mark_served(&self, key: &SnapshotKey, upto: u32) -> BackendResult<()> {
        snapshots::mark_served(&self.db, key, upto).await
    }

    async fn served(
        &self,
        viewer: &str,
        feed: FeedKey,
        versions: u32,
    ) -> BackendResult<HashSet<RecommendationId>> {
        snapshots::served(&self.db, viewer, feed, versions).await
    }
}

/// Moves an item's like count with a favorite, inside the favorite's transaction.
pub(crate) async fn bump_item_likes<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    delta: i64,
) -> BackendResult<()> {
    recommendation::Entity::update_many()
        .col_expr(
            recommendation::Column::LikeCount,
            Expr::col(recommendation::Column::LikeCount).add(delta),
        )
        .filter(recommendation::Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}
