//! Full-text search, suggestions and related videos over the embedded index.
//!
//! The index decides what matches and in which order; the database has the last word on
//! what is shown: every hit is loaded and checked against the same visibility rules as
//! `videos`, so a video made private a moment ago never leaks through an index that has
//! not caught up yet.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::cursor;
use super::recent_writes::{RecentWrites, READ_YOUR_WRITES_WAIT};
use super::videos::VideoService;
use crate::domain::auth::Viewer;
use crate::domain::error::DomainResult;
use crate::domain::search::{
    Audience, Facets, IndexHit, SearchEngine, SearchFilter, SearchQuery, SearchSort,
};
use crate::domain::user::Permission;
use crate::domain::video::{is_listed_for, Video};
use crate::domain::{DomainError, UserId, VideoId};

#[derive(Debug, Clone, Default)]
pub struct SearchFilterInput {
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub owner_id: Option<String>,
    pub published_after: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default)]
pub struct SearchInput {
    pub query: String,
    pub filter: SearchFilterInput,
    pub sort: SearchSort,
    pub first: Option<i64>,
    pub after: Option<String>,
    pub want_total: bool,
    pub want_facets: bool,
    pub want_highlights: bool,
}

#[derive(Clone)]
pub struct SearchHit {
    pub video: Video,
    pub hit: IndexHit,
    pub cursor: String,
}

pub struct SearchPage {
    pub hits: Vec<SearchHit>,
    /// The index's last hit on this page, shown or not: paging goes on from there.
    pub end_cursor: Option<String>,
    pub has_next: bool,
    pub has_previous: bool,
    pub total: Option<u64>,
    pub facets: Option<Facets>,
    pub took: Duration,
}

pub struct SearchService {
    engine: Arc<dyn SearchEngine>,
    videos: Arc<VideoService>,
    writes: Arc<RecentWrites>,
}

const MAX_FILTER_VALUES: usize = 20;
const DEFAULT_FIRST: i64 = 20;
const MAX_FIRST: i64 = 100;

fn audience(viewer: &Viewer) -> Audience {
    if viewer.can(Permission::ManageAnyVideo) {
        return Audience::Everyone;
    }
    match viewer.user_id() {
        Some(id) => Audience::PublicAndOwner(id),
        None => Audience::Public,
    }
}

/// Cursors belong to one sort of one query text.
fn connection(sort: SearchSort, query: &str) -> String {
    let digest = Sha256::digest(crate::domain::text::nfkc(query.trim()).as_bytes());
    format!("search:{sort}:{}", hex::encode(&digest[..6]))
}

fn labels(field: &str, values: &[String]) -> DomainResult<Vec<String>> {
    if values.len() > MAX_FILTER_VALUES {
        return Err(DomainError::bad_input(
            field,
            format!("at most {MAX_FILTER_VALUES} values"),
        ));
    }
    values
        .iter()
        .map(|v| crate::domain::text::clean(v, field, 1, 64, false))
        .collect()
}

impl SearchService {
    pub fn new(
        engine: Arc<dyn SearchEngine>,
        videos: Arc<VideoService>,
        writes: Arc<RecentWrites>,
    ) -> Self {
        Self {
            engine,
            videos,
            writes,
        }
    }

    async fn read_your_writes(&self, viewer: &Viewer) -> DomainResult<()> {
        if self.writes.recent(viewer) && !self.engine.sync(READ_YOUR_WRITES_WAIT).await? {
            tracing::warn!("search index is behind; answering without the viewer's latest writes");
        }
        Ok(())
    }

    pub async fn search(&self, viewer: &Viewer, input: SearchInput) -> DomainResult<SearchPage> {
        let filter = SearchFilter {
            categories: labels("filter.categories", &input.filter.categories)?,
            tags: labels("filter.tags", &input.filter.tags)?,
            owner: input
                .filter
                .owner_id
                .as_deref()
                .map(|raw| UserId::parse(raw, "filter.ownerId"))
                .transpose()?,
            published_after: input.filter.published_after,
        };
        let first = input.first.unwrap_or(DEFAULT_FIRST).clamp(1, MAX_FIRST);
        let conn = connection(input.sort, &input.query);
        let after = input
            .after
            .as_deref()
            .map(|raw| cursor::decode_search(&conn, raw))
            .transpose()?;
        self.read_your_writes(viewer).await?;
        let query = SearchQuery {
            text: input.query,
            filter,
            audience: audience(viewer),
            sort: input.sort,
            after,
            first: first as usize,
            want_total: input.want_total,
            want_facets: input.want_facets,
            want_highlights: input.want_highlights,
        };
        let results = self.engine.search(query).await?;
        let ids: Vec<VideoId> = results.hits.iter().map(|h| h.video).collect();
        let mut videos = self.videos.get_many(viewer, &ids).await?;
        let end_cursor = results
            .hits
            .last()
            .map(|h| cursor::encode_search(&conn, h.position));
        let hits = results
            .hits
            .into_iter()
            .zip(ids)
            .filter_map(|(hit, id)| {
                let video = videos.remove(&id)?;
                is_listed_for(&video, viewer).then(|| SearchHit {
                    cursor: cursor::encode_search(&conn, hit.position),
                    video,
                    hit,
                })
            })
            .collect();
        Ok(SearchPage {
            hits,
            end_cursor,
            has_next: results.has_next,
            has_previous: after.is_some(),
            total: results.total,
            facets: results.facets,
            took: results.took,
        })
    }

    pub async fn suggest(
        &self,
        viewer: &Viewer,
        prefix: &str,
        limit: Option<i64>,
    ) -> DomainResult<Vec<String>> {
        let limit = limit.unwrap_or(10);
        if !(1..=20).contains(&limit) {
            return Err(DomainError::bad_input("limit", "must be between 1 and 20"));
        }
        self.read_your_writes(viewer).await?;
        let candidates = self
            .engine
            .suggest(prefix, limit as usize, audience(viewer))
            .await?;
        // The database decides what may be shown, as for search hits.
        let ids: Vec<VideoId> = candidates.iter().map(|(id, _)| *id).collect();
        let visible = self.videos.get_many(viewer, &ids).await?;
        Ok(candidates
            .into_iter()
            .zip(ids)
            .filter(|(_, id)| visible.get(id).is_some_and(|v| is_listed_for(v, viewer)))
            .map(|((_, title), _)| title)
            .take(limit as usize)
            .collect())
    }

    /// Videos like `video`, that `viewer` may see, best first.
    pub async fn related(
        &self,
        viewer: &Viewer,
        video: VideoId,
        first: Option<i64>,
    ) -> DomainResult<Vec<Video>> {
        let first = first.unwrap_or(10).clamp(1, 50);
        self.read_your_writes(viewer).await?;
        let ids = self
            .engine
            .related(video, first as usize, audience(viewer))
            .await?;
        let mut found = self.videos.get_many(viewer, &ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.remove(id))
            .filter(|v| is_listed_for(v, viewer))
            .collect())
    }
}
