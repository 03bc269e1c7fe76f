//! Plain user text to a tantivy query.
//!
//! The syntax is deliberately small and lenient: `"quoted words"` are a phrase, a
//! leading `-` excludes a word or phrase, everything else is literal text (so `title:(`
//! searches for "title"). An unclosed quote runs to the end. Nothing here recurses or
//! panics, whatever the input; limits are checked before any work.

use std::collections::BTreeSet;
use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, ConstScoreQuery, EmptyQuery, FuzzyTermQuery, Occur,
    PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::Term;

use crate::analysis::{self, cjk_run_terms, normalize, pieces, Piece};
use crate::exclusion::Excluded;
use crate::schema::Fields;
use crate::{Audience, QueryError, SearchFilter};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most words and phrases in one query.
pub const MAX_CLAUSES: usize = 16;
/// Most terms one word or phrase may expand to (a CJK run yields one per character).
pub const MAX_PHRASE_TERMS: usize = 64;

const TITLE_BOOST: f32 = 3.0;
const TAGS_BOOST: f32 = 2.0;
const DESCRIPTION_BOOST: f32 = 1.0;
const JIEBA_BOOST: f32 = 0.5;
const FUZZY_BOOST: f32 = 0.5;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Clause {
    pub pieces: Vec<Piece>,
    pub exclude: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Parsed {
    /// Blank text: everything the filters and audience allow.
    All,
    Clauses(Vec<Clause>),
}

/// Splits user text into words and phrases.
pub(crate) fn parse(text: &str) -> Result<Parsed, QueryError> {
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong {
            max: MAX_QUERY_CHARS,
            actual: chars,
        });
    }
    let text = normalize(text);
    // NFKC can lengthen text (one ligature becomes several letters): check again.
    let chars = text.chars().count();
    if chars > MAX_QUERY_CHARS {
        return Err(QueryError::TooLong {
            max: MAX_QUERY_CHARS,
            actual: chars,
        });
    }
    if text.trim().is_empty() {
        return Ok(Parsed::All);
    }
    let mut clauses = Vec::new();
    let mut rest = text.as_str();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (exclude, body) = match rest.strip_prefix('-') {
            Some(after) if !after.starts_with(char::is_whitespace) && !after.is_empty() => {
                (true, after)
            }
            _ => (false, rest),
        };
        let (raw, remaining) = if let Some(quoted) = body.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            let end = body.find(char::is_whitespace).unwrap_or(body.len());
            (&body[..end], &body[end..])
        };
        rest = remaining;
        let pieces = pieces(raw);
        if positioned_terms(&pieces).len() > MAX_PHRASE_TERMS {
            return Err(QueryError::TooManyTerms {
                max: MAX_PHRASE_TERMS,
            });
        }
        if !pieces.is_empty() {
            clauses.push(Clause { pieces, exclude });
        }
        if clauses.len() > MAX_CLAUSES {
            return Err(QueryError::TooManyTerms { max: MAX_CLAUSES });
        }
    }
    if clauses.is_empty() {
        return Err(QueryError::NothingToSearch);
    }
    if clauses.iter().all(|c| c.exclude) {
        return Err(QueryError::OnlyExclusions);
    }
    Ok(Parsed::Clauses(clauses))
}

/// Builds the query for parsed text, the audience and the filters.
pub(crate) struct Compiler<'a> {
    pub fields: &'a Fields,
    pub en: TextAnalyzer,
    pub zh: TextAnalyzer,
    /// To tell words the index knows from likely typos.
    pub searcher: &'a tantivy::Searcher,
}

fn term(field: Field, text: &str) -> Term {
    Term::from_field_text(field, text)
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        term(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(query: Box<dyn Query>, boost: f32) -> Box<dyn Query> {
    if (boost - 1.0).abs() < f32::EPSILON {
        query
    } else {
        Box::new(BoostQuery::new(query, boost))
    }
}

fn union(queries: Vec<Box<dyn Query>>) -> Box<dyn Query> {
    match queries.len() {
        0 => Box::new(EmptyQuery),
        1 => queries
            .into_iter()
            .next()
            .unwrap_or_else(|| Box::new(EmptyQuery)),
        _ => Box::new(BooleanQuery::union(queries)),
    }
}

/// A clause that narrows without adding to the score.
fn narrowing(query: Box<dyn Query>) -> (Occur, Box<dyn Query>) {
    (Occur::Must, Box::new(ConstScoreQuery::new(query, 0.0)))
}

/// Typo tolerance: one edit from 4 letters, two from 8; none for numbers.
fn edit_distance(word: &str) -> Option<u8> {
    if !word.chars().any(char::is_alphabetic) {
        return None;
    }
    match word.chars().count() {
        0..=3 => None,
        4..=7 => Some(1),
        _ => Some(2),
    }
}

/// Terms of a clause in the cjk fields, with their relative positions.
fn positioned_terms(pieces: &[Piece]) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut position = 0;
    for piece in pieces {
        match piece {
            Piece::Word(w, ..) | Piece::Emoji(w, ..) => {
                out.push((position, w.clone()));
                position += 1;
            }
            Piece::Cjk(run) => {
                for (i, t) in cjk_run_terms(run).into_iter().enumerate() {
                    out.push((position + i, t));
                }
                position += run.len();
            }
        }
    }
    out
}

impl Compiler<'_> {
    fn known(&self, word: &str) -> bool {
        self.cjk_fields().iter().any(|(field, _)| {
            self.searcher
                .doc_freq(&term(*field, word))
                .is_ok_and(|n| n > 0)
        })
    }

    fn cjk_fields(&self) -> [(Field, f32); 3] {
        [
            (self.fields.title_cjk, TITLE_BOOST),
            (self.fields.tags_text, TAGS_BOOST),
            (self.fields.description_cjk, DESCRIPTION_BOOST),
        ]
    }

    /// Documents containing the clause: the word or phrase in any text field (stemmed
    /// English counts), or for a single Latin-script word one close enough to it.
    fn clause_query(&mut self, clause: &Clause) -> Box<dyn Query> {
        let terms = positioned_terms(&clause.pieces);
        let mut alternatives: Vec<Box<dyn Query>> = Vec::new();
        for (field, boost) in self.cjk_fields() {
            let query: Box<dyn Query> = if terms.len() == 1 {
                term_query(field, &terms[0].1)
            } else {
                Box::new(PhraseQuery::new_with_offset(
                    terms.iter().map(|(p, t)| (*p, term(field, t))).collect(),
                ))
            };
            alternatives.push(boosted(query, boost));
        }
        // Stems and typos widen what a word finds; an excluded word removes only itself.
        if let (false, [Piece::Word(word, ..)]) = (clause.exclude, clause.pieces.as_slice()) {
            for stem in analysis::analyze(&mut self.en, word) {
                alternatives.push(boosted(
                    term_query(self.fields.title_en, &stem),
                    TITLE_BOOST,
                ));
                alternatives.push(boosted(
                    term_query(self.fields.description_en, &stem),
                    DESCRIPTION_BOOST,
                ));
            }
            // A word the index knows is taken as typed; an unknown one is probably a typo
            // and widens to the words within its edit distance. (Expanding every word
            // would cost a term-dictionary walk per field on every query and let
            // correctly spelled words match their neighbours.)
            if let (Some(distance), false) = (edit_distance(word), self.known(word)) {
                for (field, boost) in self.cjk_fields() {
                    let fuzzy = FuzzyTermQuery::new(term(field, word), distance, true);
                    alternatives.push(boosted(Box::new(fuzzy), boost * FUZZY_BOOST));
                }
            }
        }
        union(alternatives)
    }

    /// Scoring only: jieba's words for the CJK parts, so real words outrank chance
    /// character pairs.
    fn jieba_boosts(&mut self, clause: &Clause, out: &mut Vec<(Occur, Box<dyn Query>)>) {
        let mut words = BTreeSet::new();
        for piece in &clause.pieces {
            if let Piece::Cjk(run) = piece {
                let text: String = run.iter().map(|(c, ..)| *c).collect();
                words.extend(analysis::analyze(&mut self.zh, &text));
            }
        }
        for w in words {
            for field in [self.fields.title_zh, self.fields.description_zh] {
                out.push((Occur::Should, boosted(term_query(field, &w), JIEBA_BOOST)));
            }
        }
    }

    pub fn compile(
        &mut self,
        parsed: &Parsed,
        audience: &Audience,
        filter: &SearchFilter,
    ) -> Box<dyn Query> {
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        match parsed {
            Parsed::All => clauses.push((Occur::Must, Box::new(AllQuery))),
            Parsed::Clauses(list) => {
                for clause in list {
                    let query = self.clause_query(clause);
                    if clause.exclude {
                        // Only phrases need the wrapper; a plain word keeps tantivy's
                        // term-scorer short cut for exclusions.
                        let query: Box<dyn Query> = if positioned_terms(&clause.pieces).len() > 1 {
                            Box::new(Excluded(query))
                        } else {
                            query
                        };
                        clauses.push((Occur::MustNot, query));
                    } else {
                        clauses.push((Occur::Must, query));
                        self.jieba_boosts(clause, &mut clauses);
                    }
                }
            }
        }
        self.restrict(audience, filter, &mut clauses);
        Box::new(BooleanQuery::new(clauses))
    }

    pub fn restrict(
        &self,
        audience: &Audience,
        filter: &SearchFilter,
        clauses: &mut Vec<(Occur, Box<dyn Query>)>,
    ) {
        let f = self.fields;
        let listed = || -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_u64(f.listed, 1),
                IndexRecordOption::Basic,
            ))
        };
        match audience {
            Audience::Everyone => {}
            Audience::Public => clauses.push(narrowing(listed())),
            Audience::PublicAndOwner(owner) => clauses.push(narrowing(union(vec![
                listed(),
                term_query(f.owner, &crate::id_text(*owner)),
            ]))),
        }
        if !filter.categories.is_empty() {
            let any = filter
                .categories
                .iter()
                .map(|c| term_query(f.category, &analysis::label_key(c)))
                .collect();
            clauses.push(narrowing(union(any)));
        }
        if !filter.tags.is_empty() {
            let any = filter
                .tags
                .iter()
                .map(|t| term_query(f.tag, &analysis::label_key(t)))
                .collect();
            clauses.push(narrowing(union(any)));
        }
        if let Some(owner) = filter.owner {
            clauses.push(narrowing(term_query(f.owner, &crate::id_text(owner))));
        }
        if let Some(after) = filter.published_after_micros {
            clauses.push(narrowing(Box::new(RangeQuery::new(
                Bound::Excluded(Term::from_field_i64(f.published_at, after)),
                Bound::Unbounded,
            ))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(parsed: &Parsed) -> Vec<(Vec<(usize, String)>, bool)> {
        match parsed {
            Parsed::All => vec![],
            Parsed::Clauses(c) => c
                .iter()
                .map(|c| (positioned_terms(&c.pieces), c.exclude))
                .collect(),
        }
    }

    #[test]
    fn quotes_minus_and_literal_punctuation() {
        let p = parse(r#"rust "machine learning" -java title:("#).unwrap();
        let w = words(&p);
        assert_eq!(w.len(), 4);
        assert_eq!(w[1].0, vec![(0, "machine".into()), (1, "learning".into())]);
        assert!(w[2].1);
        assert_eq!(w[3].0, vec![(0, "title".into())]);
    }

    #[test]
    fn cjk_words_become_bigram_phrases() {
        let p = parse("机器学习").unwrap();
        let w = words(&p);
        assert_eq!(
            w[0].0,
            vec![(0, "机器".into()), (1, "器学".into()), (2, "学习".into())]
        );
    }

    #[test]
    fn hostile_input_is_an_error_value() {
        assert_eq!(parse("- *"), Err(QueryError::NothingToSearch));
        assert_eq!(parse("-rust"), Err(QueryError::OnlyExclusions));
        assert_eq!(parse("   "), Ok(Parsed::All));
        let nested = format!("{}rust{}", "(".repeat(1000), ")".repeat(1000));
        assert!(matches!(parse(&nested), Err(QueryError::TooLong { .. })));
        let big = "a ".repeat(50_000);
        assert!(matches!(parse(&big), Err(QueryError::TooLong { .. })));
        let many = "a ".repeat(40);
        assert!(matches!(parse(&many), Err(QueryError::TooManyTerms { .. })));
        assert!(parse("\"unclosed phrase").is_ok());
        assert!(parse("((((rust))))").is_ok());
    }
}
