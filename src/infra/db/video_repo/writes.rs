//! What every video write records beside the row: its lookup labels and its version.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::domain::error::BackendResult;
use crate::domain::UserId;
use crate::infra::db::db_err;
use crate::infra::db::entities::{video_category, video_tag, video_version};

/// Labels are matched case-insensitively, so the lookup tables hold them lowercased.
pub fn label_key(label: &str) -> String {
    label.to_lowercase()
}

pub(super) async fn replace_labels<C: ConnectionTrait>(
    conn: &C,
    id: uuid::Uuid,
    tags: Option<&[String]>,
    categories: Option<&[String]>,
) -> BackendResult<()> {
    if let Some(tags) = tags {
        video_tag::Entity::delete_many()
            .filter(video_tag::Column::VideoId.eq(id))
            .exec(conn)
            .await
            .map_err(db_err)?;
        if !tags.is_empty() {
            let rows = tags.iter().map(|t| video_tag::ActiveModel {
                video_id: Set(id),
                tag: Set(label_key(t)),
            });
            video_tag::Entity::insert_many(rows)
                .exec_without_returning(conn)
                .await
                .map_err(db_err)?;
        }
    }
    if let Some(categories) = categories {
        video_category::Entity::delete_many()
            .filter(video_category::Column::VideoId.eq(id))
            .exec(conn)
            .await
            .map_err(db_err)?;
        if !categories.is_empty() {
            let rows = categories.iter().map(|c| video_category::ActiveModel {
                video_id: Set(id),
                category: Set(label_key(c)),
            });
            video_category::Entity::insert_many(rows)
                .exec_without_returning(conn)
                .await
                .map_err(db_err)?;
        }
    }
    Ok(())
}

/// The media a version record points at (an accepted upload).
pub(crate) struct VersionMedia<'a> {
    pub key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
}

pub(crate) async fn add_version<C: ConnectionTrait>(
    conn: &C,
    id: uuid::Uuid,
    changes: &str,
    by: UserId,
    now: DateTime<Utc>,
    media: Option<VersionMedia<'_>>,
) -> BackendResult<()> {
    let last: Option<i32> = video_version::Entity::find()
        .select_only()
        .column_as(video_version::Column::Version.max(), "v")
        .filter(video_version::Column::VideoId.eq(id))
        .into_tuple::<Option<i32>>()
        .one(conn)
        .await
        .map_err(db_err)?
        .flatten();
    video_version::Entity::insert(video_version::ActiveModel {
        video_id: Set(id),
        version: Set(last.unwrap_or(0) + 1),
        size_bytes: Set(media.as_ref().map(|m| m.size_bytes)),
        changes: Set(Some(changes.to_owned())),
        created_by: Set(Some(by.as_uuid())),
        created_at: Set(now),
        media_key: Set(media.as_ref().map(|m| m.key.to_owned())),
        content_type: Set(media.as_ref().map(|m| m.content_type.to_owned())),
    })
    .exec_without_returning(conn)
    .await
    .map_err(db_err)?;
    Ok(())
}
