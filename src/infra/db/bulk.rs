//! Bulk loading for `reelgraph seed`: many rows per statement, one transaction per batch.
//! Bypasses the repositories on purpose; the rows it writes obey the same invariants
//! (like counts equal favorites, labels mirrored into the lookup tables).

use sea_orm::{ActiveModelTrait, EntityTrait};

use super::{db_err, Database};
use crate::domain::error::BackendResult;

/// Rows per INSERT; keeps the bound parameters under SQLite's limit for wide tables.
const ROWS_PER_STATEMENT: usize = 400;

/// Inserts `rows` in one write transaction, in statements of [`ROWS_PER_STATEMENT`].
pub async fn insert_all<A>(db: &Database, rows: Vec<A>) -> BackendResult<()>
where
    A: ActiveModelTrait + Send,
    <A as ActiveModelTrait>::Entity: EntityTrait,
{
    if rows.is_empty() {
        return Ok(());
    }
    let txn = db.write().await.map_err(db_err)?;
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(ROWS_PER_STATEMENT).collect();
        <A::Entity as EntityTrait>::insert_many(chunk)
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
    }
    txn.commit().await.map_err(db_err)
}
