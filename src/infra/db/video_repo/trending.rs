//! Trending in the database: the stored hot score moves with every count change, and
//! rankings of the public videos by it are built per time bucket so that a listing's
//! pages stay put while scores move (a page is one range of `trending_ranks`' key).

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, RelationTrait, TransactionTrait,
};
use uuid::Uuid;

use super::listing::filtered;
use crate::domain::error::BackendResult;
use crate::domain::page::Page;
use crate::domain::video::trending::{
    self, CREATE_WEIGHT, FAVORITE_WEIGHT, PUBLISH_WEIGHT, VIEW_WEIGHT,
};
use crate::domain::video::{ListScope, SortKey, Video, VideoFilter, Visibility, TRENDING_DEPTH};
use crate::domain::BackendError;
use crate::infra::db::convert::video_from;
use crate::infra::db::entities::{trending_generation, trending_rank, video};
use crate::infra::db::{db_err, Database};

/// What moved a video's counts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum TrendEvent {
    View,
    Favorite,
    /// A favorite taken back: its contribution from when it was added goes.
    Unfavorite {
        added_at: DateTime<Utc>,
    },
    Publish,
}

/// Moves `id`'s stored score for `event` at `at`. Call it in the transaction that changed
/// the counts, after that change: the change holds the row's lock until commit, so this
/// read-modify-write cannot lose a concurrent one. An unscored row is scored from its
/// counts, which already include the event.
pub(crate) async fn bump<C: ConnectionTrait>(
    conn: &C,
    id: Uuid,
    event: TrendEvent,
    at: DateTime<Utc>,
) -> BackendResult<()> {
    let row = video::Entity::find_by_id(id)
        .one(conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Ok(());
    };
    let mut boosted = row.trend_boosted;
    let mut base_at = row.trend_base_at;
    let mut anchor_at = row.trend_anchor_at;
    let score = match row.trend_score {
        None => {
            base_at = Some(at);
            anchor_at = Some(row.published_at.unwrap_or(row.created_at));
            boosted = row.published_at.is_some();
            trending::from_counts(
                row.created_at,
                row.published_at,
                row.view_count,
                row.like_count,
            )
        }
        Some(s) => match event {
            TrendEvent::View => trending::add(s, trending::contribution(VIEW_WEIGHT, at)),
            TrendEvent::Favorite => trending::add(s, trending::contribution(FAVORITE_WEIGHT, at)),
            TrendEvent::Unfavorite { added_at } => {
                // A favorite from before the row was scored from its counts was counted
                // at publication; take away what was added, no more.
                // (A favorite that scored the row itself was counted at the anchor too.)
                let counted_at = match (base_at, anchor_at) {
                    (Some(base), Some(anchor)) if added_at <= base => anchor,
                    _ => added_at,
                };
                let floor = trending::contribution(CREATE_WEIGHT, row.created_at);
                trending::remove(
                    s,
                    trending::contribution(FAVORITE_WEIGHT, counted_at),
                    floor,
                )
            }
            // Once in a video's life: publishing again does not make it new again.
            TrendEvent::Publish if !boosted => {
                boosted = true;
                trending::add(s, trending::contribution(PUBLISH_WEIGHT, at))
            }
            TrendEvent::Publish => s,
        },
    };
    video::Entity::update_many()
        .col_expr(video::Column::TrendScore, Expr::value(score))
        .col_expr(video::Column::TrendBaseAt, Expr::value(base_at))
        .col_expr(video::Column::TrendAnchorAt, Expr::value(anchor_at))
        .col_expr(video::Column::TrendBoosted, Expr::value(boosted))
        .filter(video::Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Rows scored per statement batch when scoring rows that never were.
const SCORE_BATCH: u64 = 500;

/// Scores rows that have no score yet (rows from before scoring, bulk-inserted ones) from
/// their counts; returns how many. Only the background ranker calls it. (A favorite made
/// in the moment between its read and its write is later taken back at its own time
/// although it was counted at the anchor: a small residue, never a collapse.)
pub(super) async fn score_unscored(db: &Database, now: DateTime<Utc>) -> BackendResult<u64> {
    type Row = (Uuid, DateTime<Utc>, Option<DateTime<Utc>>, i64, i64);
    let mut scored = 0;
    loop {
        // Read outside a write transaction: most ticks find nothing and write nothing.
        let rows: Vec<Row> = video::Entity::find()
            .filter(video::Column::TrendScore.is_null())
            .select_only()
            .columns([
                video::Column::Id,
                video::Column::CreatedAt,
                video::Column::PublishedAt,
                video::Column::ViewCount,
                video::Column::LikeCount,
            ])
            .limit(SCORE_BATCH)
            .into_tuple()
            .all(&db.conn)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            return Ok(scored);
        }
        let txn = db.write().await.map_err(db_err)?;
        for &(id, created_at, published_at, views, likes) in &rows {
            // A count change since the read scored the row itself (bump), and the NULL
            // check leaves it alone.
            let score = trending::from_counts(created_at, published_at, views, likes);
            video::Entity::update_many()
                .col_expr(video::Column::TrendScore, Expr::value(score))
                .col_expr(video::Column::TrendBaseAt, Expr::value(now))
                .col_expr(
                    video::Column::TrendAnchorAt,
                    Expr::value(published_at.unwrap_or(created_at)),
                )
                .col_expr(
                    video::Column::TrendBoosted,
                    Expr::value(published_at.is_some()),
                )
                .filter(video::Column::Id.eq(id))
                .filter(video::Column::TrendScore.is_null())
                .exec(&txn)
                .await
                .map_err(db_err)?;
        }
        txn.commit().await.map_err(db_err)?;
        scored += rows.len() as u64;
        if (rows.len() as u64) < SCORE_BATCH {
            return Ok(scored);
        }
    }
}

/// Builds the ranking of `generation` unless it exists: the top [`TRENDING_DEPTH`]
/// listed public videos by score. True when this call built it; instances racing for
/// the same generation agree on its number, and the primary key lets one of them write.
pub(super) async fn build(
    db: &Database,
    generation: i64,
    now: DateTime<Utc>,
) -> BackendResult<bool> {
    let txn = db.write().await.map_err(db_err)?;
    let claim = Query::insert()
        .into_table(trending_generation::Entity)
        .columns([
            trending_generation::Column::Generation,
            trending_generation::Column::BuiltAt,
            trending_generation::Column::Size,
        ])
        .values([generation.into(), now.into(), 0i64.into()])
        .map_err(BackendError::internal)?
        .on_conflict(
            OnConflict::column(trending_generation::Column::Generation)
                .do_nothing()
                .to_owned(),
        )
        .to_owned();
    if txn.execute(&claim).await.map_err(db_err)?.rows_affected() == 0 {
        return Ok(false);
    }
    // Every value here is ours (a number and a constant), so the statement is plain SQL
    // that both databases run as written; ROW_NUMBER needs SQLite 3.25 or later.
    let insert = format!(
        "INSERT INTO trending_ranks (generation, position, video_id) \
         SELECT {generation}, ROW_NUMBER() OVER (ORDER BY trend_score DESC, id DESC), id \
         FROM videos \
         WHERE deleted_at IS NULL AND published_at IS NOT NULL AND visibility = '{public}' \
           AND trend_score IS NOT NULL \
         ORDER BY trend_score DESC, id DESC LIMIT {TRENDING_DEPTH}",
        public = Visibility::Public.as_str(),
    );
    let size = txn
        .execute_unprepared(&insert)
        .await
        .map_err(db_err)?
        .rows_affected();
    trending_generation::Entity::update_many()
        .col_expr(trending_generation::Column::Size, Expr::value(size as i64))
        .filter(trending_generation::Column::Generation.eq(generation))
        .exec(&txn)
        .await
        .map_err(db_err)?;
    txn.commit().await.map_err(db_err)?;
    Ok(true)
}

/// The newest built generation.
pub(super) async fn latest(db: &Database) -> BackendResult<Option<i64>> {
    trending_generation::Entity::find()
        .select_only()
        .column(trending_generation::Column::Generation)
        .order_by_desc(trending_generation::Column::BuiltAt)
        .order_by_desc(trending_generation::Column::Generation)
        .into_tuple()
        .one(&db.conn)
        .await
        .map_err(db_err)
}

pub(super) async fn exists(db: &Database, generation: i64) -> BackendResult<bool> {
    Ok(trending_generation::Entity::find_by_id(generation)
        .count(&db.conn)
        .await
        .map_err(db_err)?
        > 0)
}

/// Removes rankings built before `before`, except the newest; returns how many went.
pub(super) async fn prune(db: &Database, before: DateTime<Utc>) -> BackendResult<u64> {
    let Some(newest) = latest(db).await? else {
        return Ok(0);
    };
    let old: Vec<i64> = trending_generation::Entity::find()
        .select_only()
        .column(trending_generation::Column::Generation)
        .filter(trending_generation::Column::BuiltAt.lt(before))
        .filter(trending_generation::Column::Generation.ne(newest))
        .into_tuple()
        .all(&db.conn)
        .await
        .map_err(db_err)?;
    if old.is_empty() {
        return Ok(0);
    }
    let txn = db.conn.begin().await.map_err(db_err)?;
    trending_rank::Entity::delete_many()
        .filter(trending_rank::Column::Generation.is_in(old.clone()))
        .exec(&txn)
        .await
        .map_err(db_err)?;
    trending_generation::Entity::delete_many()
        .filter(trending_generation::Column::Generation.is_in(old.clone()))
        .exec(&txn)
        .await
        .map_err(db_err)?;
    txn.commit().await.map_err(db_err)?;
    Ok(old.len() as u64)
}

fn ranked(generation: i64, filter: &VideoFilter) -> sea_orm::Select<video::Entity> {
    filtered(ListScope::Public, filter)
        .join(
            JoinType::InnerJoin,
            trending_rank::Relation::Video.def().rev(),
        )
        .filter(trending_rank::Column::Generation.eq(generation))
}

/// One page of `generation`'s ranking after `after` (a position), still listed and
/// matching `filter`.
pub(super) async fn page(
    db: &Database,
    generation: i64,
    filter: &VideoFilter,
    after: Option<i64>,
    first: u64,
) -> BackendResult<Page<Video, SortKey>> {
    let mut q = ranked(generation, filter);
    if let Some(position) = after {
        q = q.filter(trending_rank::Column::Position.gt(position));
    }
    let rows = q
        .order_by_asc(trending_rank::Column::Position)
        .limit(first + 1)
        .select_also(trending_rank::Entity)
        .all(&db.conn)
        .await
        .map_err(db_err)?;
    let rows = rows
        .into_iter()
        .map(|(v, rank)| {
            let position = rank.map(|r| r.position).ok_or_else(|| {
                BackendError::internal(anyhow::anyhow!("a ranked row came without its rank"))
            })?;
            Ok((video_from(v)?, position))
        })
        .collect::<BackendResult<Vec<_>>>()?;
    let page = Page::from_rows(rows, first, after.is_some(), |(v, p)| {
        SortKey::Ranked(generation, *p, v.id)
    });
    Ok(Page {
        items: page.items.into_iter().map(|((v, _), k)| (v, k)).collect(),
        has_next_page: page.has_next_page,
        has_previous_page: page.has_previous_page,
    })
}

pub(super) async fn count(
    db: &Database,
    generation: i64,
    filter: &VideoFilter,
) -> BackendResult<u64> {
    ranked(generation, filter)
        .count(&db.conn)
        .await
        .map_err(db_err)
}
