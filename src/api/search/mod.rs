//! GraphQL: `search`, `suggest` (and `Video.related`, which lives with the video type).

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use crate::api::context::ContextExt;
use crate::api::error::{to_gql, GqlResultExt};
use crate::api::video::types::{PageInfo, VideoView};
use crate::app::search::{SearchFilterInput, SearchHit, SearchInput, SearchPage};
use crate::domain::search::SearchSort;
use crate::domain::DomainError;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(name = "SearchSort")]
pub enum GqlSearchSort {
    /// BM25, title weighted over tags over description.
    #[default]
    Relevance,
    Newest,
    MostLiked,
}

impl From<GqlSearchSort> for SearchSort {
    fn from(s: GqlSearchSort) -> Self {
        match s {
            GqlSearchSort::Relevance => SearchSort::Relevance,
            GqlSearchSort::Newest => SearchSort::Newest,
            GqlSearchSort::MostLiked => SearchSort::MostLiked,
        }
    }
}

/// Exact filters: a video matches a list when it has any of its values; it must match
/// every list given.
#[derive(InputObject, Default)]
#[graphql(name = "SearchFilter")]
pub struct SearchFilterGql {
    pub categories: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub owner_id: Option<ID>,
    /// Only videos published strictly after this instant.
    pub published_after: Option<DateTime<Utc>>,
}

#[derive(SimpleObject)]
pub struct Highlight {
    /// `title` or `description`.
    field: String,
    /// HTML-escaped text with the matched words wrapped in `<mark>`.
    snippet: String,
}

#[derive(SimpleObject)]
pub struct FacetCount {
    value: String,
    count: i64,
}

#[derive(SimpleObject)]
pub struct SearchFacets {
    categories: Vec<FacetCount>,
    tags: Vec<FacetCount>,
}

pub struct SearchHitView(SearchHit);

#[Object(name = "SearchHit")]
impl SearchHitView {
    async fn cursor(&self) -> &str {
        &self.0.cursor
    }

    async fn node(&self) -> VideoView {
        VideoView(self.0.video.clone())
    }

    /// Relevance score (0 when sorted by something else).
    async fn score(&self) -> f64 {
        f64::from(self.0.hit.score)
    }

    async fn highlights(&self) -> Vec<Highlight> {
        self.0
            .hit
            .highlights
            .iter()
            .map(|h| Highlight {
                field: h.field.to_owned(),
                snippet: h.snippet.clone(),
            })
            .collect()
    }
}

/// A page of search hits. Counting and facets cost a pass over every match, so they
/// are computed only when selected.
pub struct SearchConnection(SearchPage);

fn counts(list: &[crate::domain::search::FacetCount]) -> Vec<FacetCount> {
    list.iter()
        .map(|c| FacetCount {
            value: c.value.clone(),
            count: i64::try_from(c.count).unwrap_or(i64::MAX),
        })
        .collect()
}

fn not_computed(what: &str) -> async_graphql::Error {
    to_gql(DomainError::internal(anyhow::anyhow!(
        "{what} was selected but not computed"
    )))
}

#[Object]
impl SearchConnection {
    async fn edges(&self) -> Vec<SearchHitView> {
        self.0.hits.iter().cloned().map(SearchHitView).collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next,
            has_previous_page: self.0.has_previous,
            start_cursor: self.0.hits.first().map(|h| h.cursor.clone()),
            end_cursor: self.0.end_cursor.clone(),
        }
    }

    /// Every match the viewer may see, across all pages.
    async fn total_count(&self) -> async_graphql::Result<i64> {
        let total = self.0.total.ok_or_else(|| not_computed("totalCount"))?;
        Ok(i64::try_from(total).unwrap_or(i64::MAX))
    }

    /// The most frequent categories and tags among all matches (top 20 each).
    async fn facets(&self) -> async_graphql::Result<SearchFacets> {
        let facets = self
            .0
            .facets
            .as_ref()
            .ok_or_else(|| not_computed("facets"))?;
        Ok(SearchFacets {
            categories: counts(&facets.categories),
            tags: counts(&facets.tags),
        })
    }

    /// Time spent in the index, in milliseconds.
    async fn took_ms(&self) -> f64 {
        self.0.took.as_secs_f64() * 1000.0
    }
}

#[derive(Default)]
pub struct SearchQuery;

#[Object]
impl SearchQuery {
    /// Full-text search over titles, descriptions and tags in any language. Plain text:
    /// `"quoted words"` match as a phrase, `-word` excludes, everything else is literal;
    /// Latin-script words tolerate typos. Results respect visibility exactly as `videos`
    /// does. `first` is clamped to 1..=100.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn search(
        &self,
        ctx: &Context<'_>,
        query: String,
        filter: Option<SearchFilterGql>,
        #[graphql(default_with = "Some(GqlSearchSort::Relevance)")] sort: Option<GqlSearchSort>,
        #[graphql(default_with = "Some(20)")] first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<SearchConnection> {
        let filter = filter.unwrap_or_default();
        let look = ctx.look_ahead();
        let edges = look.field("edges");
        let input = SearchInput {
            query,
            filter: SearchFilterInput {
                categories: filter.categories.unwrap_or_default(),
                tags: filter.tags.unwrap_or_default(),
                owner_id: filter.owner_id.map(|id| id.0),
                published_after: filter.published_after,
            },
            sort: sort.unwrap_or_default().into(),
            first: first.map(i64::from),
            after,
            want_total: look.field("totalCount").exists(),
            want_facets: look.field("facets").exists(),
            want_highlights: edges.field("highlights").exists(),
        };
        let page = ctx.state().search.search(ctx.viewer(), input).await.gql()?;
        metrics::histogram!("reelgraph_search_index_seconds").record(page.took.as_secs_f64());
        Ok(SearchConnection(page))
    }

    /// Titles completing `prefix` (the last word may be unfinished), for autocomplete.
    /// `limit` is 1..=20.
    async fn suggest(
        &self,
        ctx: &Context<'_>,
        prefix: String,
        #[graphql(default_with = "Some(10)")] limit: Option<i32>,
    ) -> async_graphql::Result<Vec<String>> {
        ctx.state()
            .search
            .suggest(ctx.viewer(), &prefix, limit.map(i64::from))
            .await
            .gql()
    }
}
