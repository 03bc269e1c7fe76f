//! The listing queries: which rows a scope and filter select, in which order, after
//! which keyset position.

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, QueryFilter, Select};

use super::writes::label_key;
use crate::domain::error::BackendResult;
use crate::domain::video::{ListScope, SortKey, Video, VideoFilter, VideoSort, Visibility};
use crate::domain::BackendError;
use crate::infra::db::entities::{video, video_category, video_tag};

pub(super) fn public_condition() -> Condition {
    Condition::all()
        .add(video::Column::PublishedAt.is_not_null())
        .add(video::Column::Visibility.eq(Visibility::Public.as_str()))
}

pub(super) fn filtered(scope: ListScope, filter: &VideoFilter) -> Select<video::Entity> {
    let mut q = video::Entity::find().filter(video::Column::DeletedAt.is_null());
    q = match scope {
        ListScope::Public => q.filter(public_condition()),
        ListScope::Owner(owner) => q.filter(video::Column::OwnerId.eq(owner.as_uuid())),
        ListScope::All => q,
    };
    if let Some(owner) = filter.owner_id {
        q = q.filter(video::Column::OwnerId.eq(owner.as_uuid()));
    }
    if let Some(status) = filter.status {
        q = q.filter(video::Column::Status.eq(status.as_str()));
    }
    if let Some(visibility) = filter.visibility {
        q = q.filter(video::Column::Visibility.eq(visibility.as_str()));
    }
    if let Some(tag) = &filter.tag {
        q = q.filter(
            video::Column::Id.in_subquery(
                Query::select()
                    .column(video_tag::Column::VideoId)
                    .from(video_tag::Entity)
                    .and_where(video_tag::Column::Tag.eq(label_key(tag)))
                    .to_owned(),
            ),
        );
    }
    if let Some(category) = &filter.category {
        q = q.filter(
            video::Column::Id.in_subquery(
                Query::select()
                    .column(video_category::Column::VideoId)
                    .from(video_category::Entity)
                    .and_where(video_category::Column::Category.eq(label_key(category)))
                    .to_owned(),
            ),
        );
    }
    q
}

pub(super) fn sort_column(sort: VideoSort) -> (video::Column, Order) {
    match sort {
        VideoSort::Newest => (video::Column::CreatedAt, Order::Desc),
        VideoSort::Oldest => (video::Column::CreatedAt, Order::Asc),
        VideoSort::MostLiked => (video::Column::LikeCount, Order::Desc),
        VideoSort::MostViewed => (video::Column::ViewCount, Order::Desc),
        // Never reached: TRENDING is listed from its ranking (super::trending).
        VideoSort::Trending => (video::Column::TrendScore, Order::Desc),
    }
}

pub(super) fn key_of(sort: VideoSort, v: &Video) -> SortKey {
    match sort {
        VideoSort::Newest | VideoSort::Oldest => SortKey::Created(v.created_at, v.id),
        VideoSort::MostLiked => SortKey::Count(v.like_count, v.id),
        VideoSort::MostViewed => SortKey::Count(v.view_count, v.id),
        VideoSort::Trending => SortKey::Ranked(0, 0, v.id),
    }
}

/// `(col, id) < (value, id)` for descending orders, `>` for ascending: a row-value
/// comparison both SQLite and PostgreSQL turn into an index range.
pub(super) fn after_condition(sort: VideoSort, key: &SortKey) -> BackendResult<Condition> {
    let (col, order) = sort_column(sort);
    let value: sea_orm::Value = match (sort, key) {
        (VideoSort::Newest | VideoSort::Oldest, SortKey::Created(at, _)) => (*at).into(),
        (VideoSort::MostLiked | VideoSort::MostViewed, SortKey::Count(n, _)) => (*n).into(),
        _ => {
            // Cursors are decoded for their sort (app::cursor), so this is a caller's bug.
            return Err(BackendError::internal(anyhow::anyhow!(
                "a {sort:?} listing was given a key of another sort"
            )));
        }
    };
    let id = match key {
        SortKey::Created(_, id) | SortKey::Count(_, id) | SortKey::Ranked(_, _, id) => id.as_uuid(),
    };
    let left = Expr::tuple([Expr::col(col), Expr::col(video::Column::Id)]);
    let right = Expr::tuple([Expr::val(value), Expr::val(id)]);
    Ok(Condition::all().add(match order {
        Order::Desc => left.lt(right),
        _ => left.gt(right),
    }))
}
