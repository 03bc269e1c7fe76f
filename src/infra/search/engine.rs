//! The replica as the domain's [`SearchEngine`]: domain queries in, index answers out.

use std::time::Duration;

use async_trait::async_trait;
use search_index::{Cursor, SearchError, SortBy};
use uuid::Uuid;

use super::SearchReplica;
use crate::domain::error::BackendResult;
use crate::domain::search::{
    Audience, FacetCount, Facets, Highlight, IndexHit, IndexResults, SearchEngine, SearchFailure,
    SearchPosition, SearchQuery, SearchSort,
};
use crate::domain::{BackendError, UserId, VideoId};
use crate::infra::db::db_err;

fn audience(a: Audience) -> search_index::Audience {
    match a {
        Audience::Public => search_index::Audience::Public,
        Audience::PublicAndOwner(owner) => {
            search_index::Audience::PublicAndOwner(owner.as_uuid().as_u128())
        }
        Audience::Everyone => search_index::Audience::Everyone,
    }
}

fn sort(s: SearchSort) -> SortBy {
    match s {
        SearchSort::Relevance => SortBy::Relevance,
        SearchSort::Newest => SortBy::Newest,
        SearchSort::MostLiked => SortBy::MostLiked,
    }
}

fn video(id: u128) -> VideoId {
    VideoId::from_uuid(Uuid::from_u128(id))
}

fn position(c: Cursor) -> SearchPosition {
    SearchPosition {
        primary: c.primary,
        video: video(c.id),
        view: c.view,
    }
}

fn counts(list: Vec<search_index::FacetCount>) -> Vec<FacetCount> {
    list.into_iter()
        .map(|c| FacetCount {
            value: c.value,
            count: c.count,
        })
        .collect()
}

/// Text problems are the user's (in `field`); everything else is ours.
fn search_error(field: &'static str) -> impl Fn(SearchError) -> SearchFailure {
    move |err| match err {
        SearchError::Query(q) => SearchFailure::BadText {
            field,
            message: q.to_string(),
        },
        other => failed(other).into(),
    }
}

fn failed(err: SearchError) -> BackendError {
    BackendError::internal(anyhow::Error::new(err).context("search failed"))
}

fn request(q: SearchQuery) -> search_index::SearchRequest {
    search_index::SearchRequest {
        text: q.text,
        filter: search_index::SearchFilter {
            categories: q.filter.categories,
            tags: q.filter.tags,
            owner: q.filter.owner.map(|o: UserId| o.as_uuid().as_u128()),
            published_after_micros: q.filter.published_after.map(|t| t.timestamp_micros()),
        },
        audience: audience(q.audience),
        sort: sort(q.sort),
        after: q.after.map(|p| Cursor {
            primary: p.primary,
            id: p.video.as_uuid().as_u128(),
            view: p.view,
        }),
        first: q.first,
        want_total: q.want_total,
        want_facets: q.want_facets,
        want_highlights: q.want_highlights,
    }
}

#[async_trait]
impl SearchEngine for SearchReplica {
    async fn search(&self, query: SearchQuery) -> Result<IndexResults, SearchFailure> {
        let results = self
            .current()
            .search(request(query))
            .await
            .map_err(search_error("query"))?;
        Ok(IndexResults {
            hits: results
                .hits
                .into_iter()
                .map(|h| IndexHit {
                    video: video(h.id),
                    score: h.score,
                    position: position(h.cursor),
                    highlights: h
                        .highlights
                        .into_iter()
                        .map(|h| Highlight {
                            field: h.field,
                            snippet: h.snippet,
                        })
                        .collect(),
                })
                .collect(),
            has_next: results.has_next,
            total: results.total,
            facets: results.facets.map(|f| Facets {
                categories: counts(f.categories),
                tags: counts(f.tags),
            }),
            took: results.took,
        })
    }

    async fn suggest(
        &self,
        prefix: &str,
        limit: usize,
        audience_of: Audience,
    ) -> Result<Vec<(VideoId, String)>, SearchFailure> {
        Ok(self
            .current()
            .suggest(prefix.to_owned(), limit, audience(audience_of))
            .await
            .map_err(search_error("prefix"))?
            .into_iter()
            .map(|(id, title)| (video(id), title))
            .collect())
    }

    async fn related(
        &self,
        of: VideoId,
        first: usize,
        audience_of: Audience,
    ) -> BackendResult<Vec<VideoId>> {
        Ok(self
            .current()
            .related(of.as_uuid().as_u128(), first, audience(audience_of))
            .await
            .map_err(failed)?
            .into_iter()
            .map(video)
            .collect())
    }

    async fn sync(&self, timeout: Duration) -> BackendResult<bool> {
        let head = self.db.outbox_head().await.map_err(db_err)?;
        self.db.outbox_written();
        Ok(self
            .current()
            .wait_for(u64::try_from(head).unwrap_or(0), timeout)
            .await)
    }
}
