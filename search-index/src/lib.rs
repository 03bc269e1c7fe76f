//! reelgraph's embedded search index: tantivy with analysis for Chinese, Japanese and
//! English, lenient parsing of user text, typo tolerance, facets, highlights,
//! suggestions and "more like this".
//!
//! The crate knows nothing of the server. It stores [`VideoDoc`]s keyed by a 128-bit id
//! and records, in every commit, the position of the change feed it has applied up to;
//! [`IndexHome`] keeps generations of the index in one folder and swaps a rebuilt one in
//! atomically. One thread owns the `IndexWriter`; searches run on the blocking pool.

mod analysis;
mod exclusion;
mod home;
mod query;
mod schema;
mod search;
mod writer;

use std::fmt;
use std::time::Duration;

pub use analysis::{label_key, normalize};
pub use home::{Builder, IndexHome, Snapshot, Unusable};
pub use query::{MAX_CLAUSES, MAX_PHRASE_TERMS, MAX_QUERY_CHARS};
pub use schema::SCHEMA_VERSION;
pub use writer::SearchIndex;

/// One video as the index sees it. Text is normalised (NFKC) by the index itself.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoDoc {
    pub id: u128,
    pub owner: u128,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub categories: Vec<String>,
    /// Shown to everyone in lists and search (published, public, not deleted).
    pub listed: bool,
    pub published_at_micros: Option<i64>,
    /// NEWEST orders by this: the publication time, or creation time for drafts.
    pub sort_time_micros: i64,
    pub like_count: u64,
    pub view_count: u64,
}

/// A change to apply: the document as it is now, or its removal.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Upsert(VideoDoc),
    Delete(u128),
}

impl Change {
    pub fn id(&self) -> u128 {
        match self {
            Change::Upsert(doc) => doc.id,
            Change::Delete(id) => *id,
        }
    }
}

/// Whose documents a search may return.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Audience {
    /// Listed documents only.
    #[default]
    Public,
    /// Listed documents and every document of this owner.
    PublicAndOwner(u128),
    /// Everything in the index (administrators).
    Everyone,
}

/// Exact filters. Within a list any value matches; across lists all must.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SearchFilter {
    pub categories: Vec<String>,
    pub tags: Vec<String>,
    pub owner: Option<u128>,
    /// Only documents published strictly after this instant.
    pub published_after_micros: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortBy {
    #[default]
    Relevance,
    Newest,
    MostLiked,
}

/// Where a page ends: the sort value of its last hit, that hit's id, and the
/// point-in-time view of the index it was cut from. Opaque to clients; valid for the
/// sort it was made under. While the view is kept (10 minutes, the 16 newest), the
/// next page comes from the same view, so scores, likes and the set of matches do not
/// shift between pages; after that, from the newest view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    pub primary: f64,
    pub id: u128,
    pub view: u64,
}

#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub text: String,
    pub filter: SearchFilter,
    pub audience: Audience,
    pub sort: SortBy,
    pub after: Option<Cursor>,
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
pub struct Hit {
    pub id: u128,
    pub score: f32,
    pub cursor: Cursor,
    pub highlights: Vec<Highlight>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FacetCount {
    pub value: String,
    pub count: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facets {
    pub categories: Vec<FacetCount>,
    pub tags: Vec<FacetCount>,
}

#[derive(Debug, Clone)]
pub struct SearchResults {
    pub hits: Vec<Hit>,
    pub has_next: bool,
    pub total: Option<u64>,
    pub facets: Option<Facets>,
    pub took: Duration,
}

/// A document as stored, for checking the index against its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredVideo {
    pub id: u128,
    pub title: String,
    pub listed: bool,
    pub like_count: u64,
    pub view_count: u64,
}

/// Why user text could not be searched. Each is the user's to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    #[error("the query is {actual} characters long; the limit is {max}")]
    TooLong { max: usize, actual: usize },
    #[error("the query has more than {max} words and phrases")]
    TooManyTerms { max: usize },
    #[error("the query has no words to search for")]
    NothingToSearch,
    #[error("the query only excludes words; add a word to search for")]
    OnlyExclusions,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error("search index: {0}")]
    Index(#[from] tantivy::TantivyError),
    #[error("search index files: {0}")]
    Io(#[from] std::io::Error),
    #[error("the search index writer has stopped")]
    WriterStopped,
    #[error("search task failed: {0}")]
    Task(String),
}

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// The id as the index stores it in text fields: 32 lowercase hex digits.
pub(crate) fn id_text(id: u128) -> String {
    format!("{id:032x}")
}

impl fmt::Display for SortBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SortBy::Relevance => "relevance",
            SortBy::Newest => "newest",
            SortBy::MostLiked => "most_liked",
        })
    }
}
