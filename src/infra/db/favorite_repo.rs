use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query, SelectStatement};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use uuid::Uuid;

use super::entities::{favorite, recommendation, video};
use super::outbox::IndexedWrite;
use super::video_repo::trending::{self, TrendEvent};
use super::{db_err, Database};
use crate::domain::clock;
use crate::domain::error::BackendResult;
use crate::domain::favorite::{Favorite, FavoriteKey, FavoriteRepository, TargetKind};
use crate::domain::page::Page;
use crate::domain::video::Visibility;
use crate::domain::{BackendError, UserId};

pub struct SqlFavoriteRepository {
    pub db: Database,
}

fn favorite_from(m: favorite::Model) -> BackendResult<Favorite> {
    Ok(Favorite {
        user_id: UserId::from_uuid(m.user_id),
        kind: m.target_kind.parse().map_err(|_| {
            BackendError::internal(anyhow::anyhow!(
                "corrupt favorite row: target kind {:?}",
                m.target_kind
            ))
        })?,
        target_id: m.target_id,
        created_at: m.created_at,
    })
}

/// Ids of videos not deleted that are `user`'s own or published with one of `visibilities`.
fn videos_open_to(user: UserId, visibilities: &[Visibility]) -> SelectStatement {
    Query::select()
        .column(video::Column::Id)
        .from(video::Entity)
        .and_where(video::Column::DeletedAt.is_null())
        .cond_where(
            Condition::any()
                .add(video::Column::OwnerId.eq(user.as_uuid()))
                .add(
                    Condition::all()
                        .add(video::Column::PublishedAt.is_not_null())
                        .add(
                            video::Column::Visibility
                                .is_in(visibilities.iter().map(|v| v.as_str())),
                        ),
                ),
        )
        .to_owned()
}

/// Videos `user` can still see: theirs or published PUBLIC/UNLISTED.
fn visible_videos(user: UserId) -> SelectStatement {
    videos_open_to(user, &[Visibility::Public, Visibility::Unlisted])
}

/// Items `user` may be shown: every item but a VIDEO one whose video is not listed for
/// them (theirs, or published PUBLIC).
fn shown_items(user: UserId) -> SelectStatement {
    Query::select()
        .column(recommendation::Column::Id)
        .from(recommendation::Entity)
        .cond_where(
            Condition::any()
                .add(recommendation::Column::VideoId.is_null())
                .add(
                    recommendation::Column::VideoId
                        .in_subquery(videos_open_to(user, &[Visibility::Public])),
                ),
        )
        .to_owned()
}

fn of_user(user: UserId, kind: Option<TargetKind>) -> Select<favorite::Entity> {
    let mut q = favorite::Entity::find()
        .filter(favorite::Column::UserId.eq(user.as_uuid()))
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(favorite::Column::TargetKind.eq(TargetKind::Video.as_str()))
                        .add(favorite::Column::TargetId.in_subquery(visible_videos(user))),
                )
                .add(
                    Condition::all()
                        .add(favorite::Column::TargetKind.eq(TargetKind::Recommendation.as_str()))
                        .add(favorite::Column::TargetId.in_subquery(shown_items(user))),
                ),
        );
    if let Some(kind) = kind {
        q = q.filter(favorite::Column::TargetKind.eq(kind.as_str()));
    }
    q
}

/// A favorite changed its target's like count: the count moves, and for a video the index
/// hears of it.
async fn bump_likes(
    write: &mut IndexedWrite<'_>,
    kind: TargetKind,
    target: Uuid,
    event: TrendEvent,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    let delta = match event {
        TrendEvent::Unfavorite { .. } => -1,
        _ => 1,
    };
    if kind == TargetKind::Recommendation {
        return super::bump_item_likes(write.txn(), target, delta).await;
    }
    if kind == TargetKind::Video {
        video::Entity::update_many()
            .col_expr(
                video::Column::LikeCount,
                Expr::col(video::Column::LikeCount).add(delta),
            )
            .filter(video::Column::Id.eq(target))
            .exec(write.txn())
            .await
            .map_err(db_err)?;
        trending::bump(write.txn(), target, event, now).await?;
        write.changed(target, now).await?;
    }
    Ok(())
}

#[async_trait]
impl FavoriteRepository for SqlFavoriteRepository {
    async fn add(
        &self,
        user: UserId,
        kind: TargetKind,
        target: Uuid,
        now: DateTime<Utc>,
    ) -> BackendResult<(Favorite, bool)> {
        let mut write = IndexedWrite::begin(&self.db).await?;
        let insert = Query::insert()
            .into_table(favorite::Entity)
            .columns([
                favorite::Column::UserId,
                favorite::Column::TargetKind,
                favorite::Column::TargetId,
                favorite::Column::CreatedAt,
            ])
            .values([
                user.as_uuid().into(),
                kind.as_str().into(),
                target.into(),
                now.into(),
            ])
            .map_err(BackendError::internal)?
            .on_conflict(
                OnConflict::columns([
                    favorite::Column::UserId,
                    favorite::Column::TargetKind,
                    favorite::Column::TargetId,
                ])
                .do_nothing()
                .to_owned(),
            )
            .to_owned();
        let added = write
            .txn()
            .execute(&insert)
            .await
            .map_err(db_err)?
            .rows_affected()
            == 1;
        if added {
            bump_likes(&mut write, kind, target, TrendEvent::Favorite, now).await?;
        }
        let row = favorite::Entity::find_by_id((user.as_uuid(), kind.as_str().to_owned(), target))
            .one(write.txn())
            .await
            .map_err(db_err)?
            .ok_or_else(|| {
                BackendError::internal(anyhow::anyhow!("favorite vanished inside its transaction"))
            })?;
        write.commit().await?;
        Ok((favorite_from(row)?, added))
    }

    async fn remove(&self, user: UserId, kind: TargetKind, target: Uuid) -> BackendResult<bool> {
        let mut write = IndexedWrite::begin(&self.db).await?;
        // When it was added: its share of the target's hot score goes with it.
        let added_at: Option<DateTime<Utc>> =
            favorite::Entity::find_by_id((user.as_uuid(), kind.as_str().to_owned(), target))
                .select_only()
                .column(favorite::Column::CreatedAt)
                .into_tuple()
                .one(write.txn())
                .await
                .map_err(db_err)?;
        let Some(added_at) = added_at else {
            return Ok(false);
        };
        // The favorite read above, not one added again meanwhile.
        let removed = favorite::Entity::delete_many()
            .filter(favorite::Column::UserId.eq(user.as_uuid()))
            .filter(favorite::Column::TargetKind.eq(kind.as_str()))
            .filter(favorite::Column::TargetId.eq(target))
            .filter(favorite::Column::CreatedAt.eq(added_at))
            .exec(write.txn())
            .await
            .map_err(db_err)?
            .rows_affected
            == 1;
        if removed {
            let event = TrendEvent::Unfavorite { added_at };
            bump_likes(&mut write, kind, target, event, clock::now()).await?;
        }
        write.commit().await?;
        Ok(removed)
    }

    async fn list(
        &self,
        user: UserId,
        kind: Option<TargetKind>,
        after: Option<FavoriteKey>,
        first: u64,
    ) -> BackendResult<Page<Favorite, FavoriteKey>> {
        let mut q = of_user(user, kind);
        if let Some(key) = &after {
            q = q.filter(
                Condition::any()
                    .add(favorite::Column::CreatedAt.lt(key.created_at))
                    .add(
                        Condition::all()
                            .add(favorite::Column::CreatedAt.eq(key.created_at))
                            .add(
                                Condition::any()
                                    .add(favorite::Column::TargetKind.lt(key.kind.as_str()))
                                    .add(
                                        Condition::all()
                                            .add(favorite::Column::TargetKind.eq(key.kind.as_str()))
                                            .add(favorite::Column::TargetId.lt(key.target_id)),
                                    ),
                            ),
                    ),
            );
        }
        let rows = q
            .order_by_desc(favorite::Column::CreatedAt)
            .order_by_desc(favorite::Column::TargetKind)
            .order_by_desc(favorite::Column::TargetId)
            .limit(first + 1)
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let favorites = rows
            .into_iter()
            .map(favorite_from)
            .collect::<BackendResult<Vec<_>>>()?;
        Ok(Page::from_rows(favorites, first, after.is_some(), |f| {
            FavoriteKey {
                created_at: f.created_at,
                kind: f.kind,
                target_id: f.target_id,
            }
        }))
    }

    async fn count(&self, user: UserId, kind: Option<TargetKind>) -> BackendResult<u64> {
        of_user(user, kind)
            .count(&self.db.conn)
            .await
            .map_err(db_err)
    }

    async fn count_by_kind(&self, user: UserId) -> BackendResult<Vec<(TargetKind, u64)>> {
        let rows: Vec<(String, i64)> = of_user(user, None)
            .select_only()
            .column(favorite::Column::TargetKind)
            .column_as(favorite::Column::TargetId.count(), "n")
            .group_by(favorite::Column::TargetKind)
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let mut out = Vec::new();
        for kind in [TargetKind::Video, TargetKind::Recommendation] {
            let n = rows
                .iter()
                .find(|(k, _)| k == kind.as_str())
                .map_or(0, |(_, n)| *n);
            out.push((kind, Ord::max(n, 0) as u64));
        }
        Ok(out)
    }

    async fn favorited(
        &self,
        user: UserId,
        kind: TargetKind,
        targets: &[Uuid],
    ) -> BackendResult<HashSet<Uuid>> {
        if targets.is_empty() {
            return Ok(HashSet::new());
        }
        let ids: Vec<Uuid> = favorite::Entity::find()
            .select_only()
            .column(favorite::Column::TargetId)
            .filter(favorite::Column::UserId.eq(user.as_uuid()))
            .filter(favorite::Column::TargetKind.eq(kind.as_str()))
            .filter(favorite::Column::TargetId.is_in(targets.iter().copied()))
            .into_tuple()
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(ids.into_iter().collect())
    }
}
