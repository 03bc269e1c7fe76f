//! Items from sources: a batch is compared with what is stored, by (source, source_ref),
//! and only new or changed items are written.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

use super::{bump_generations, item_from, new_row, set_fields};
use crate::domain::error::BackendResult;
use crate::domain::recommendation::{ImportOutcome, RecommendationFields};
use crate::domain::BackendError;
use crate::infra::db::db_err;
use crate::infra::db::entities::recommendation;

/// The stored rows of a batch's items, by (source, source_ref).
async fn stored_rows<C: ConnectionTrait>(
    txn: &C,
    items: &[RecommendationFields],
) -> BackendResult<HashMap<(String, String), recommendation::Model>> {
    let mut existing: HashMap<(String, String), recommendation::Model> = HashMap::new();
    let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
    for item in items {
        if let (Some(source), Some(reference)) = (&item.source, &item.source_ref) {
            by_source.entry(source).or_default().push(reference);
        } else {
            return Err(BackendError::internal(anyhow::anyhow!(
                "a sourced item without source and sourceRef"
            )));
        }
    }
    for (source, refs) in by_source {
        for chunk in refs.chunks(500) {
            let rows = recommendation::Entity::find()
                .filter(recommendation::Column::Source.eq(source))
                .filter(recommendation::Column::SourceRef.is_in(chunk.iter().copied()))
                .all(txn)
                .await
                .map_err(db_err)?;
            for row in rows {
                if let (Some(s), Some(r)) = (row.source.clone(), row.source_ref.clone()) {
                    existing.insert((s, r), row);
                }
            }
        }
    }
    Ok(existing)
}

/// Inserts the new items and rewrites the changed ones of one source batch.
pub(super) async fn write_sourced<C: ConnectionTrait>(
    txn: &C,
    items: &[RecommendationFields],
    now: DateTime<Utc>,
) -> BackendResult<ImportOutcome> {
    let existing = stored_rows(txn, items).await?;
    let mut outcome = ImportOutcome::default();
    let mut inserts = Vec::new();
    let mut kinds = Vec::new();
    let mut seen = HashSet::new();
    for item in items {
        let key = (
            item.source.clone().unwrap_or_default(),
            item.source_ref.clone().unwrap_or_default(),
        );
        if !seen.insert(key.clone()) {
            return Err(BackendError::internal(anyhow::anyhow!(
                "sourceRef {:?} of {:?} appears twice in one batch",
                key.1,
                key.0
            )));
        }
        match existing.get(&key) {
            Some(row) => {
                let current = item_from(row.clone())?.fields;
                // Featuring is the admins' curation, which no source carries: an import
                // keeps it as it is.
                let wanted = RecommendationFields {
                    featured: current.featured,
                    featured_from: current.featured_from,
                    featured_until: current.featured_until,
                    ..item.clone()
                };
                if current == wanted {
                    outcome.unchanged += 1;
                    continue;
                }
                let mut model: recommendation::ActiveModel = row.clone().into();
                set_fields(&mut model, &wanted);
                model.updated_at = Set(now);
                recommendation::Entity::update(model)
                    .exec(txn)
                    .await
                    .map_err(db_err)?;
                kinds.extend([current.kind, item.kind]);
            }
            None => {
                inserts.push(new_row(Uuid::now_v7(), item, None, now));
                kinds.push(item.kind);
            }
        }
        outcome.written += 1;
    }
    for chunk in inserts.chunks(200) {
        recommendation::Entity::insert_many(chunk.to_vec())
            .exec_without_returning(txn)
            .await
            .map_err(db_err)?;
    }
    if outcome.written > 0 {
        kinds.sort_by_key(|k| k.as_str());
        bump_generations(txn, kinds).await?;
    }
    Ok(outcome)
}
