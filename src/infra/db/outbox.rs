//! The search outbox: one row per video change, written inside the transaction that
//! made the change, tailed by every search replica. A row without a video asks for a
//! rebuild of everything (bulk loads such as `seed` write one instead of a row per video).
//!
//! `search_replicas` records how far each replica has got, so rows every live replica is
//! past can be pruned.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DatabaseTransaction, DbErr};
use uuid::Uuid;

use super::{db_err, Database};
use crate::domain::error::BackendResult;

fn outbox() -> Alias {
    Alias::new("search_outbox")
}

fn replicas() -> Alias {
    Alias::new("search_replicas")
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}

/// Records that `video` changed (or, with `None`, that everything must be re-read).
pub(crate) async fn push<C: ConnectionTrait>(
    conn: &C,
    video: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(outbox())
        .columns([col("video_id"), col("created_at")])
        .values([video.into(), now.into()])
        .map_err(|e| DbErr::Custom(e.to_string()))?
        .to_owned();
    conn.execute(&insert).await.map(|_| ())
}

/// A write transaction whose changes to videos the search replicas must see: each
/// [`IndexedWrite::changed`] adds an outbox row inside the transaction, and the commit
/// wakes this instance's indexer, so neither can be forgotten.
pub(crate) struct IndexedWrite<'a> {
    db: &'a Database,
    txn: DatabaseTransaction,
    changed: bool,
}

impl<'a> IndexedWrite<'a> {
    pub(crate) async fn begin(db: &'a Database) -> BackendResult<Self> {
        Ok(Self {
            db,
            txn: db.write().await.map_err(db_err)?,
            changed: false,
        })
    }

    /// The transaction, for the statements of the change.
    pub(crate) fn txn(&self) -> &DatabaseTransaction {
        &self.txn
    }

    /// Records that `video` changed.
    pub(crate) async fn changed(&mut self, video: Uuid, now: DateTime<Utc>) -> BackendResult<()> {
        push(&self.txn, Some(video), now).await.map_err(db_err)?;
        self.changed = true;
        Ok(())
    }

    pub(crate) async fn commit(self) -> BackendResult<()> {
        self.txn.commit().await.map_err(db_err)?;
        if self.changed {
            self.db.outbox_written();
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxRow {
    pub id: i64,
    pub video_id: Option<Uuid>,
}

fn rows(found: Vec<sea_orm::QueryResult>) -> Result<Vec<OutboxRow>, DbErr> {
    found
        .into_iter()
        .map(|row| {
            Ok(OutboxRow {
                id: row.try_get("", "id")?,
                video_id: row.try_get("", "video_id")?,
            })
        })
        .collect()
}

impl Database {
    /// Asks every search replica to re-read all videos (after bulk loads that bypass
    /// the repositories).
    pub async fn request_search_rebuild(&self, now: DateTime<Utc>) -> Result<(), DbErr> {
        push(&self.conn, None, now).await?;
        self.outbox_written();
        Ok(())
    }

    /// Outbox rows after `position`, oldest first.
    pub async fn outbox_after(&self, position: i64, limit: u64) -> Result<Vec<OutboxRow>, DbErr> {
        let select = Query::select()
            .columns([col("id"), col("video_id")])
            .from(outbox())
            .and_where(Expr::col(col("id")).gt(position))
            .order_by(col("id"), Order::Asc)
            .limit(limit)
            .to_owned();
        rows(self.conn.query_all(&select).await?)
    }

    /// The outbox rows among `ids` (ids passed over as missing that may have committed
    /// late).
    pub async fn outbox_rows(&self, ids: &[i64]) -> Result<Vec<OutboxRow>, DbErr> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let select = Query::select()
            .columns([col("id"), col("video_id")])
            .from(outbox())
            .and_where(Expr::col(col("id")).is_in(ids.iter().copied()))
            .to_owned();
        rows(self.conn.query_all(&select).await?)
    }

    /// The lowest id written at or after `since`, if any.
    pub async fn outbox_floor_since(&self, since: DateTime<Utc>) -> Result<Option<i64>, DbErr> {
        let select = Query::select()
            .expr_as(Func::min(Expr::col(col("id"))), col("floor"))
            .from(outbox())
            .and_where(Expr::col(col("created_at")).gte(since))
            .to_owned();
        Ok(self
            .conn
            .query_one(&select)
            .await?
            .and_then(|r| r.try_get::<Option<i64>>("", "floor").ok().flatten()))
    }

    /// The newest outbox id, 0 when empty.
    pub async fn outbox_head(&self) -> Result<i64, DbErr> {
        let select = Query::select()
            .expr_as(Func::max(Expr::col(col("id"))), col("head"))
            .from(outbox())
            .to_owned();
        let row = self.conn.query_one(&select).await?;
        Ok(row
            .and_then(|r| r.try_get::<Option<i64>>("", "head").ok().flatten())
            .unwrap_or(0))
    }

    /// Stores how far `replica` has applied the outbox.
    pub async fn record_replica(
        &self,
        replica: &str,
        position: i64,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        let upsert = Query::insert()
            .into_table(replicas())
            .columns([col("replica_id"), col("position"), col("seen_at")])
            .values([replica.into(), position.into(), now.into()])
            .map_err(|e| DbErr::Custom(e.to_string()))?
            .on_conflict(
                OnConflict::column(col("replica_id"))
                    .update_columns([col("position"), col("seen_at")])
                    .to_owned(),
            )
            .to_owned();
        self.conn.execute(&upsert).await.map(|_| ())
    }

    /// When `replica` last reported, if it ever did.
    pub async fn replica_seen_at(&self, replica: &str) -> Result<Option<DateTime<Utc>>, DbErr> {
        let select = Query::select()
            .column(col("seen_at"))
            .from(replicas())
            .and_where(Expr::col(col("replica_id")).eq(replica))
            .to_owned();
        match self.conn.query_one(&select).await? {
            Some(row) => Ok(Some(row.try_get("", "seen_at")?)),
            None => Ok(None),
        }
    }

    /// Deletes outbox rows that every replica seen since `live_since` has applied, and
    /// rows older than `live_since` whatever the replicas say. Returns rows deleted.
    pub async fn prune_outbox(&self, live_since: DateTime<Utc>) -> Result<u64, DbErr> {
        let forget = Query::delete()
            .from_table(replicas())
            .and_where(Expr::col(col("seen_at")).lt(live_since))
            .to_owned();
        self.conn.execute(&forget).await?;
        let select = Query::select()
            .expr_as(Func::min(Expr::col(col("position"))), col("low"))
            .from(replicas())
            .to_owned();
        let low: Option<i64> = match self.conn.query_one(&select).await? {
            Some(row) => row.try_get("", "low")?,
            None => None,
        };
        let mut condition = Expr::col(col("created_at")).lt(live_since);
        if let Some(low) = low {
            condition = condition.or(Expr::col(col("id")).lte(low));
        }
        // The newest row always stays: it is the head every replica compares itself with.
        let head = self.outbox_head().await?;
        let delete = Query::delete()
            .from_table(outbox())
            .and_where(condition)
            .and_where(Expr::col(col("id")).lt(head))
            .to_owned();
        Ok(self.conn.execute(&delete).await?.rows_affected())
    }
}
