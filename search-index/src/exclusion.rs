//! A query for `MustNot` clauses that keeps tantivy's exclusion from tripping over phrase
//! scorers.
//!
//! tantivy 0.27's `Exclude` asks its exclusion set `seek_danger(doc)` for each candidate,
//! and `DocSet`'s contract lets the set already be past that doc (its default answer is
//! "not found"). `PhraseScorer::seek_danger` instead asserts that the target is not behind
//! it, so an excluded phrase whose words all occur in a segment but never side by side
//! (its scorer ends before the first candidate) panics in debug builds, and in release
//! builds is asked to seek backwards, which its postings do not promise to do. Found by the `search_query` fuzz target
//! (`fuzz/regressions/search_query/`); quickwit-oss/tantivy#2811 reported the same class of
//! fault for seeks from intersections. [`Excluded`] hands `Exclude` a scorer that answers
//! `seek_danger` the way `DocSet` describes, from `doc` and `seek` alone.

use tantivy::query::{AllScorer, EmptyScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{DocId, DocSet, Score, SegmentReader, Term};

/// `query`, to be used as a `MustNot` clause.
#[derive(Debug)]
pub(crate) struct Excluded(pub Box<dyn Query>);

impl Clone for Excluded {
    fn clone(&self) -> Self {
        Excluded(self.0.box_clone())
    }
}

impl Query for Excluded {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(ExcludedWeight(self.0.weight(enable_scoring)?)))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.0.query_terms(visitor);
    }
}

struct ExcludedWeight(Box<dyn Weight>);

impl Weight for ExcludedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let inner = self.0.scorer(reader, boost)?;
        // The boolean weight recognises these two and short-cuts them: keep them visible.
        if inner.is::<EmptyScorer>() || inner.is::<AllScorer>() {
            return Ok(inner);
        }
        Ok(Box::new(PlainSeek(inner)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        self.0.explain(reader, doc)
    }
}

/// A scorer with `DocSet`'s default `seek_danger` (seek forward only, never assert).
struct PlainSeek(Box<dyn Scorer>);

impl DocSet for PlainSeek {
    fn advance(&mut self) -> DocId {
        self.0.advance()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        if self.0.doc() >= target {
            return self.0.doc();
        }
        self.0.seek(target)
    }

    fn doc(&self) -> DocId {
        self.0.doc()
    }

    fn size_hint(&self) -> u32 {
        self.0.size_hint()
    }

    fn cost(&self) -> u64 {
        self.0.cost()
    }
}

impl Scorer for PlainSeek {
    fn score(&mut self) -> Score {
        self.0.score()
    }
}
