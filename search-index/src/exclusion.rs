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

#[cfg(test)]
mod tests {
    //! Required and excluded phrases and words, checked against brute force over many
    //! segments of random short texts, in a debug build (where tantivy's seek assertions
    //! are live). Intersections seek their clauses with `seek_danger` (tantivy#2811 was
    //! about that path); exclusions may seek behind a phrase scorer (this module's fix).

    use tantivy::collector::DocSetCollector;
    use tantivy::indexer::NoMergePolicy;
    use tantivy::query::{BooleanQuery, Occur, PhraseQuery, Query, TermQuery};
    use tantivy::schema::{IndexRecordOption, Schema, TEXT};
    use tantivy::{doc, Index, IndexWriter, Term};

    use super::Excluded;

    const WORDS: [&str; 4] = ["a", "b", "c", "d"];

    /// A small deterministic generator (the same texts on every run).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, below: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % below as u64) as usize
        }
    }

    enum Clause {
        Word(usize),
        Phrase(usize, usize),
    }

    impl Clause {
        fn matches(&self, text: &[usize]) -> bool {
            match *self {
                Clause::Word(w) => text.contains(&w),
                Clause::Phrase(x, y) => text.windows(2).any(|p| p == [x, y]),
            }
        }
    }

    #[test]
    fn required_and_excluded_phrases_match_brute_force_across_segments() {
        let mut schema = Schema::builder();
        let body = schema.add_text_field("body", TEXT);
        let index = Index::create_in_ram(schema.build());
        let mut writer: IndexWriter = index.writer_with_num_threads(1, 15_000_000).unwrap();
        writer.set_merge_policy(Box::new(NoMergePolicy));
        let mut rng = Lcg(7);
        let mut texts = Vec::new();
        // Segments of a few hundred documents: postings span several blocks, so seeks
        // skip.
        for n in 0..3000 {
            let text: Vec<usize> = (0..1 + rng.next(6)).map(|_| rng.next(4)).collect();
            let words: Vec<&str> = text.iter().map(|w| WORDS[*w]).collect();
            writer.add_document(doc!(body => words.join(" "))).unwrap();
            texts.push(text);
            if n % 251 == 250 {
                writer.commit().unwrap();
            }
        }
        writer.commit().unwrap();
        let searcher = index.reader().unwrap().searcher();
        assert!(searcher.segment_readers().len() > 10);
        let term = |w: usize| Term::from_field_text(body, WORDS[w]);
        // As the query builder does: only excluded phrases are wrapped.
        let query_of = |excluded: bool, c: &Clause| -> Box<dyn Query> {
            match *c {
                Clause::Word(w) => Box::new(TermQuery::new(term(w), IndexRecordOption::WithFreqs)),
                Clause::Phrase(x, y) => {
                    let phrase = Box::new(PhraseQuery::new(vec![term(x), term(y)]));
                    if excluded {
                        Box::new(Excluded(phrase))
                    } else {
                        phrase
                    }
                }
            }
        };
        let mut checked = 0;
        for _ in 0..400 {
            let clauses: Vec<(bool, Clause)> = (0..2 + rng.next(3))
                .map(|_| {
                    let clause = if rng.next(2) == 0 {
                        Clause::Word(rng.next(4))
                    } else {
                        Clause::Phrase(rng.next(4), rng.next(4))
                    };
                    (rng.next(3) == 0, clause)
                })
                .collect();
            if clauses.iter().all(|(excluded, _)| *excluded) {
                continue;
            }
            let query = BooleanQuery::new(
                clauses
                    .iter()
                    .map(|(excluded, c)| {
                        let occur = if *excluded {
                            Occur::MustNot
                        } else {
                            Occur::Must
                        };
                        (occur, query_of(*excluded, c))
                    })
                    .collect(),
            );
            let found = searcher.search(&query, &DocSetCollector).unwrap().len();
            let expected = texts
                .iter()
                .filter(|t| {
                    clauses
                        .iter()
                        .all(|(excluded, c)| c.matches(t) != *excluded)
                })
                .count();
            assert_eq!(found, expected);
            checked += 1;
        }
        assert!(checked > 300);
    }
}
