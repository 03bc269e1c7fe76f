//! The search port: what the video index answers, in domain terms. The index decides
//! what matches and in which order; the database has the last word on what is shown
//! (see `app::search`). `infra::search` implements it on the embedded tantivy index.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::error::{BackendError, BackendResult};
use super::{DomainError, UserId, VideoId};

/// Why the index could not answer a search or a suggestion.
#[derive(Debug, thiserror::Error)]
pub enum SearchFailure {
    /// The text in `field` is not one the index can read (BAD_USER_INPUT).
    #[error("{message}")]
    BadText {
        field: &'static str,
        message: String,
    },
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl From<SearchFailure> for DomainError {
    fn from(err: SearchFailure) -> Self {
        match err {
            SearchFailure::BadText { field, message } => DomainError::bad_input(field, message),
            SearchFailure::Backend(err) => err.into(),
        }
    }
}

/// Whose videos a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// Listed videos only.
    #[default]
    Public,
    /// Listed videos and every video of this owner.
    PublicAndOwner(UserId),
    /// Everything in the index (administrators).
    Everyone,
}

/// Exact filters. Within a list any value matches; across lists all must.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub owner: Option<UserId>,
    /// Only videos published strictly after this instant.
    pub published_after: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, strum::Display)]
#[strum(serialize_all = "snake_case")]
pub enum SearchSort {
    #[default]
    Relevance,
    Newest,
    MostLiked,
}

/// Where a page ends: the sort value of its last hit, that hit's video, and the
/// point-in-time view of the index it was cut from. Valid for the sort it was made under;
/// while the view is kept, the next page comes from the same view, so scores, likes and
/// the set of matches do not shift between pages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchPosition {
    pub primary: f64,
    pub video: VideoId,
    pub view: u64,
}

/// One page's worth of a search, as asked of the index.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    pub text: String,
    pub filter: SearchFilter,
    pub audience: Audience,
    pub sort: SearchSort,
    pub after: Option<SearchPosition>,
    pub first: usize,
    pub want_total: bool,
    pub want_facets: bool,
    pub want_highlights: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Highlight {
    pub field: &'static str,
    /// HTML-escaped text with the matches wrapped in `<mark>`.
    pub snippet: String,
}

#[derive(Debug, Clone)]
pub struct IndexHit {
    pub video: VideoId,
    pub score: f32,
    pub position: SearchPosition,
    pub highlights: Vec<Highlight>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

/// Counts of the matches by category and by tag, most frequent first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub categories: Vec<FacetCount>,
    pub tags: Vec<FacetCount>,
}

#[derive(Debug, Clone)]
pub struct IndexResults {
    pub hits: Vec<IndexHit>,
    pub has_next: bool,
    pub total: Option<u64>,
    pub facets: Option<Facets>,
    /// Time spent in the index.
    pub took: Duration,
}

/// The video index. A text it cannot read is [`SearchFailure::BadText`]; anything else
/// is the backend's.
#[async_trait]
pub trait SearchEngine: Send + Sync {
    /// One page of matches, in the query's sort.
    async fn search(&self, query: SearchQuery) -> Result<IndexResults, SearchFailure>;
    /// Titles starting with `prefix`, with their videos, best first.
    async fn suggest(
        &self,
        prefix: &str,
        limit: usize,
        audience: Audience,
    ) -> Result<Vec<(VideoId, String)>, SearchFailure>;
    /// Videos like `video`, best first.
    async fn related(
        &self,
        video: VideoId,
        first: usize,
        audience: Audience,
    ) -> BackendResult<Vec<VideoId>>;
    /// Waits until every change committed so far is searchable; false on timeout.
    async fn sync(&self, timeout: Duration) -> BackendResult<bool>;
}
