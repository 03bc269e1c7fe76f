//! Stored feed versions: the order of each (viewer, feed, version), fixed when made.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use uuid::Uuid;

use super::super::entities::feed_snapshot as snapshot;
use super::super::{db_err, Database};
use crate::domain::error::BackendResult;
use crate::domain::recommendation::{FeedKey, SnapshotKey};
use crate::domain::{BackendError, RecommendationId};

fn encode(ids: &[RecommendationId]) -> Vec<u8> {
    ids.iter()
        .flat_map(|id| id.as_uuid().into_bytes())
        .collect()
}

fn decode(bytes: &[u8]) -> BackendResult<Vec<RecommendationId>> {
    if bytes.len() % 16 != 0 {
        return Err(BackendError::internal(anyhow::anyhow!(
            "corrupt feed snapshot of {} bytes",
            bytes.len()
        )));
    }
    Ok(bytes
        .chunks_exact(16)
        .map(|c| {
            let mut raw = [0u8; 16];
            raw.copy_from_slice(c);
            RecommendationId::from_uuid(Uuid::from_bytes(raw))
        })
        .collect())
}

fn of_key(key: &SnapshotKey) -> sea_orm::Select<snapshot::Entity> {
    snapshot::Entity::find()
        .filter(snapshot::Column::ViewerKey.eq(key.viewer.as_str()))
        .filter(snapshot::Column::FeedKey.eq(key.feed.as_str()))
        .filter(snapshot::Column::Version.eq(key.version))
}

pub(super) async fn latest_version(
    db: &Database,
    viewer: &str,
    feed: FeedKey,
) -> BackendResult<Option<i64>> {
    let version: Option<i64> = snapshot::Entity::find()
        .select_only()
        .column(snapshot::Column::Version)
        .filter(snapshot::Column::ViewerKey.eq(viewer))
        .filter(snapshot::Column::FeedKey.eq(feed.as_str()))
        .order_by_desc(snapshot::Column::Version)
        .limit(1)
        .into_tuple()
        .one(&db.conn)
        .await
        .map_err(db_err)?;
    Ok(version)
}

pub(super) async fn load<C: ConnectionTrait>(
    conn: &C,
    key: &SnapshotKey,
) -> BackendResult<Option<Vec<RecommendationId>>> {
    match of_key(key).one(conn).await.map_err(db_err)? {
        Some(row) => Ok(Some(decode(&row.item_ids)?)),
        None => Ok(None),
    }
}

pub(super) async fn save(
    db: &Database,
    key: &SnapshotKey,
    ids: &[RecommendationId],
    now: DateTime<Utc>,
    keep_after: DateTime<Utc>,
    keep_newest: Option<i64>,
) -> BackendResult<Vec<RecommendationId>> {
    let txn = db.write().await.map_err(db_err)?;
    snapshot::Entity::delete_many()
        .filter(snapshot::Column::CreatedAt.lt(keep_after))
        .exec(&txn)
        .await
        .map_err(db_err)?;
    if let Some(keep) = keep_newest {
        // This viewer's older versions of this feed beyond the newest `keep` (counting
        // the one being saved), so refreshing in a loop stores a bounded amount.
        snapshot::Entity::delete_many()
            .filter(snapshot::Column::ViewerKey.eq(key.viewer.as_str()))
            .filter(snapshot::Column::FeedKey.eq(key.feed.as_str()))
            .filter(snapshot::Column::Version.lte(key.version - keep))
            .exec(&txn)
            .await
            .map_err(db_err)?;
    }
    let row = snapshot::ActiveModel {
        viewer_key: Set(key.viewer.clone()),
        feed_key: Set(key.feed.as_str().to_owned()),
        version: Set(key.version),
        item_ids: Set(encode(ids)),
        served: Set(0),
        created_at: Set(now),
    };
    snapshot::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([
                snapshot::Column::ViewerKey,
                snapshot::Column::FeedKey,
                snapshot::Column::Version,
            ])
            .do_nothing()
            .to_owned(),
        )
        .exec_without_returning(&txn)
        .await
        .map_err(db_err)?;
    let stored = load(&txn, key).await?.ok_or_else(|| {
        BackendError::internal(anyhow::anyhow!(
            "feed snapshot vanished inside its transaction"
        ))
    })?;
    txn.commit().await.map_err(db_err)?;
    Ok(stored)
}

pub(super) async fn mark_served(db: &Database, key: &SnapshotKey, upto: u32) -> BackendResult<()> {
    let upto = i32::try_from(upto).unwrap_or(i32::MAX);
    snapshot::Entity::update_many()
        .col_expr(snapshot::Column::Served, upto.into())
        .filter(snapshot::Column::ViewerKey.eq(key.viewer.as_str()))
        .filter(snapshot::Column::FeedKey.eq(key.feed.as_str()))
        .filter(snapshot::Column::Version.eq(key.version))
        .filter(snapshot::Column::Served.lt(upto))
        .exec(&db.conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

pub(super) async fn served(
    db: &Database,
    viewer: &str,
    feed: FeedKey,
    versions: u32,
) -> BackendResult<HashSet<RecommendationId>> {
    let rows = snapshot::Entity::find()
        .filter(snapshot::Column::ViewerKey.eq(viewer))
        .filter(snapshot::Column::FeedKey.eq(feed.as_str()))
        .order_by_desc(snapshot::Column::Version)
        .limit(u64::from(versions))
        .all(&db.conn)
        .await
        .map_err(db_err)?;
    let mut out = HashSet::new();
    for row in rows {
        let ids = decode(&row.item_ids)?;
        let served = usize::try_from(row.served.max(0))
            .unwrap_or(0)
            .min(ids.len());
        out.extend(ids.into_iter().take(served));
    }
    Ok(out)
}
