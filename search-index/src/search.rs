//! Reading the index: search, suggestions, related documents. Every entry point runs
//! on the blocking pool so that scoring never stalls the async runtime.

use std::collections::HashSet;
use std::time::Instant;

use tantivy::collector::{Count, DocSetCollector, FacetCollector, MultiCollector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, FuzzyTermQuery, Occur, Query, TermQuery};
use tantivy::schema::{Field, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, SegmentReader, TantivyDocument, Term};

use crate::analysis::{self, Piece, EN, ZH};
use crate::query::{self, Compiler};
use crate::schema::Fields;
use crate::writer::SearchIndex;
use crate::{
    id_text, Audience, Cursor, FacetCount, Facets, Highlight, Hit, Result, SearchError,
    SearchFilter, SearchRequest, SearchResults, SortBy, StoredVideo,
};

/// Most hits in one page.
pub const MAX_PAGE: usize = 100;
const FACET_LIMIT: usize = 20;
const TITLE_SNIPPET_CHARS: usize = 200;
const DESCRIPTION_SNIPPET_CHARS: usize = 160;

/// Ordering key, larger first: the sort value, then the id ascending (stored inverted).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct RankKey(f64, u64, u64);

impl RankKey {
    const EXCLUDED: RankKey = RankKey(f64::NEG_INFINITY, 0, 0);

    fn new(primary: f64, id: u128) -> Self {
        RankKey(primary, !((id >> 64) as u64), !(id as u64))
    }

    fn id(self) -> u128 {
        (u128::from(!self.1) << 64) | u128::from(!self.2)
    }
}

fn run<T: Send + 'static>(
    index: &SearchIndex,
    f: impl FnOnce(&SearchIndex) -> Result<T> + Send + 'static,
) -> impl std::future::Future<Output = Result<T>> {
    let index = index.clone();
    async move {
        tokio::task::spawn_blocking(move || f(&index))
            .await
            .map_err(|e| SearchError::Task(e.to_string()))?
    }
}

impl SearchIndex {
    fn compiler<'a>(&'a self, searcher: &'a Searcher) -> Result<Compiler<'a>> {
        let tokenizers = self.inner.index.tokenizers();
        let get = |name: &str| {
            tokenizers.get(name).ok_or_else(|| {
                SearchError::Index(tantivy::TantivyError::InternalError(format!(
                    "tokenizer {name} is not registered"
                )))
            })
        };
        Ok(Compiler {
            fields: &self.inner.fields,
            en: get(EN)?,
            zh: get(ZH)?,
            searcher,
        })
    }

    /// Runs a search. Text problems come back as [`SearchError::Query`].
    pub async fn search(&self, request: SearchRequest) -> Result<SearchResults> {
        run(self, move |index| index.search_now(&request)).await
    }

    fn search_now(&self, req: &SearchRequest) -> Result<SearchResults> {
        let started = Instant::now();
        let parsed = query::parse(&req.text)?;
        let (view, searcher) = self.inner.view(req.after.map(|c| c.view));
        let query = self
            .compiler(&searcher)?
            .compile(&parsed, &req.audience, &req.filter);
        let first = req.first.clamp(1, MAX_PAGE);
        let sort = req.sort;
        let after = req.after.map(|c| RankKey::new(c.primary, c.id));
        let top = TopDocs::with_limit(first + 1).tweak_score(move |segment: &SegmentReader| {
            let columns = SegmentColumns::new(segment);
            move |doc, score| {
                let key = RankKey::new(columns.primary(sort, doc, score), columns.id(doc));
                match after {
                    Some(after) if key.partial_cmp(&after) != Some(std::cmp::Ordering::Less) => {
                        RankKey::EXCLUDED
                    }
                    _ => key,
                }
            }
        });
        let mut multi = MultiCollector::new();
        let top_handle = multi.add_collector(top);
        let count_handle = req.want_total.then(|| multi.add_collector(Count));
        let facet_handles = req.want_facets.then(|| {
            let mut categories = FacetCollector::for_field("category_facet");
            categories.add_facet("/");
            let mut tags = FacetCollector::for_field("tag_facet");
            tags.add_facet("/");
            (multi.add_collector(categories), multi.add_collector(tags))
        });
        let mut fruits = searcher.search(&query, &multi)?;
        let mut ranked: Vec<(RankKey, DocAddress)> = top_handle
            .extract(&mut fruits)
            .into_iter()
            .filter(|(key, _)| *key != RankKey::EXCLUDED)
            .collect();
        let has_next = ranked.len() > first;
        ranked.truncate(first);
        let total = count_handle.map(|h| h.extract(&mut fruits) as u64);
        let facets = facet_handles.map(|(c, t)| Facets {
            categories: facet_counts(&c.extract(&mut fruits)),
            tags: facet_counts(&t.extract(&mut fruits)),
        });
        let highlighter = if req.want_highlights {
            Some(Highlighter::new(&searcher, &*query, &self.inner.fields)?)
        } else {
            None
        };
        let mut hits = Vec::with_capacity(ranked.len());
        for (key, address) in ranked {
            let highlights = match &highlighter {
                Some(h) => h.highlights(&searcher, address)?,
                None => Vec::new(),
            };
            let score = if sort == SortBy::Relevance {
                key.0 as f32
            } else {
                0.0
            };
            hits.push(Hit {
                id: key.id(),
                score,
                cursor: Cursor {
                    primary: key.0,
                    id: key.id(),
                    view,
                },
                highlights,
            });
        }
        Ok(SearchResults {
            hits,
            has_next,
            total,
            facets,
            took: started.elapsed(),
        })
    }

    /// Titles for autocomplete, with their documents' ids: documents whose title has the
    /// finished words and a word starting with the last, unfinished one (two letters at
    /// least); the most liked first among equals. Up to `limit * 4` candidates, for the
    /// caller to check and cut.
    pub async fn suggest(
        &self,
        prefix: String,
        limit: usize,
        audience: Audience,
    ) -> Result<Vec<(u128, String)>> {
        run(self, move |index| {
            index.suggest_now(&prefix, limit, audience)
        })
        .await
    }

    fn suggest_now(
        &self,
        prefix: &str,
        limit: usize,
        audience: Audience,
    ) -> Result<Vec<(u128, String)>> {
        let limit = limit.clamp(1, 20);
        if prefix.chars().count() > query::MAX_QUERY_CHARS {
            return Err(crate::QueryError::TooLong {
                max: query::MAX_QUERY_CHARS,
                actual: prefix.chars().count(),
            }
            .into());
        }
        let text = analysis::normalize(prefix);
        let pieces = analysis::pieces(&text);
        let Some((last, complete)) = pieces.split_last() else {
            return Ok(Vec::new());
        };
        let f = &self.inner.fields;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let open_word = !text.ends_with(char::is_whitespace);
        if let Piece::Word(w, ..) = last {
            // One letter would expand to every word starting with it, on every keystroke.
            if open_word && w.chars().count() < 2 {
                return Ok(Vec::new());
            }
        }
        for (i, piece) in complete.iter().chain([last]).enumerate() {
            let is_last = i == complete.len();
            let query: Box<dyn Query> =
                match piece {
                    Piece::Word(w, ..) if is_last && open_word => Box::new(
                        FuzzyTermQuery::new_prefix(Term::from_field_text(f.title_cjk, w), 0, true),
                    ),
                    Piece::Word(w, ..) | Piece::Emoji(w, ..) => term_query(f.title_cjk, w),
                    Piece::Cjk(run) => {
                        let terms = analysis::cjk_run_terms(run);
                        let queries = terms.iter().map(|t| term_query(f.title_cjk, t)).collect();
                        Box::new(BooleanQuery::intersection(queries))
                    }
                };
            clauses.push((Occur::Must, query));
        }
        let searcher = self.inner.reader.searcher();
        self.compiler(&searcher)?
            .restrict(&audience, &SearchFilter::default(), &mut clauses);
        let query = BooleanQuery::new(clauses);
        let top = TopDocs::with_limit(limit * 4).tweak_score(|segment: &SegmentReader| {
            let columns = SegmentColumns::new(segment);
            move |doc, score| (score, columns.likes(doc), columns.id(doc))
        });
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for ((_, _, id), address) in searcher.search(&query, &top)? {
            let doc: TantivyDocument = searcher.doc(address)?;
            let title = first_text(&doc, f.title);
            if seen.insert(title.to_lowercase()) {
                out.push((id, title));
            }
        }
        Ok(out)
    }

    /// Documents like `id` by the distinctive words of its title, description and tags.
    pub async fn related(&self, id: u128, first: usize, audience: Audience) -> Result<Vec<u128>> {
        run(self, move |index| index.related_now(id, first, audience)).await
    }

    fn related_now(&self, id: u128, first: usize, audience: Audience) -> Result<Vec<u128>> {
        let f = &self.inner.fields;
        let searcher = self.inner.reader.searcher();
        let id_query = TermQuery::new(
            Term::from_field_text(f.id, &id_text(id)),
            IndexRecordOption::Basic,
        );
        let Some((_, address)) = searcher
            .search(&id_query, &TopDocs::with_limit(1).order_by_score())?
            .into_iter()
            .next()
        else {
            return Ok(Vec::new());
        };
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field: Field| -> Vec<String> {
            doc.get_all(field)
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let fields = [
            (f.title_cjk, text(f.title)),
            (f.title_en, text(f.title)),
            (f.description_en, text(f.description)),
            (f.tags_text, text(f.tags)),
        ];
        let Some(like_this) = like_this(&searcher, &fields)? else {
            return Ok(Vec::new());
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![
            (Occur::Must, like_this),
            (Occur::MustNot, Box::new(id_query)),
        ];
        self.compiler(&searcher)?
            .restrict(&audience, &SearchFilter::default(), &mut clauses);
        let query = BooleanQuery::new(clauses);
        let top = TopDocs::with_limit(first.clamp(1, 50)).tweak_score(|segment: &SegmentReader| {
            let columns = SegmentColumns::new(segment);
            move |doc, score| RankKey::new(f64::from(score), columns.id(doc))
        });
        Ok(searcher
            .search(&query, &top)?
            .into_iter()
            .map(|(key, _)| key.id())
            .collect())
    }

    /// Every stored document, in id order; for checking the index against its source.
    pub async fn documents(&self) -> Result<Vec<StoredVideo>> {
        run(self, |index| {
            stored_documents(&index.inner.reader.searcher(), &index.inner.fields)
        })
        .await
    }
}

/// Most distinctive terms a "like this" query keeps.
const LIKE_THIS_TERMS: usize = 24;

/// A query for documents like one with `fields`' texts: its most distinctive terms (term
/// frequency times idf), each a SHOULD clause boosted by its weight. This is what
/// tantivy's `MoreLikeThisQuery` does, except that idf counts documents the way term
/// statistics do, deleted ones included until their segment merges; tantivy 0.27 counts
/// only live documents there and asserts (`bm25.rs: doc_count >= doc_freq`) once deletes
/// outnumber the difference (upstream PR #2964). `None` when no term qualifies.
fn like_this(
    searcher: &Searcher,
    fields: &[(Field, Vec<String>)],
) -> Result<Option<Box<dyn Query>>> {
    let schema = searcher.schema();
    let tokenizers = searcher.index().tokenizers();
    let mut frequencies: std::collections::HashMap<Term, u32> = std::collections::HashMap::new();
    for (field, texts) in fields {
        let tokenizer_name = match schema.get_field_entry(*field).field_type() {
            tantivy::schema::FieldType::Str(options) => options
                .get_indexing_options()
                .map(|o| o.tokenizer().to_owned()),
            _ => None,
        };
        let Some(mut analyzer) = tokenizer_name.and_then(|name| tokenizers.get(&name)) else {
            continue;
        };
        for text in texts {
            for token in analysis::analyze(&mut analyzer, text) {
                // Single bytes (one Latin letter, a digit) say nothing about a video.
                if token.len() >= 2 {
                    *frequencies
                        .entry(Term::from_field_text(*field, &token))
                        .or_insert(0) += 1;
                }
            }
        }
    }
    // Statistics as BM25 takes them: every document of every segment.
    let total_docs: u64 = searcher
        .segment_readers()
        .iter()
        .map(|s| u64::from(s.max_doc()))
        .sum();
    let mut weighted = Vec::with_capacity(frequencies.len());
    for (term, tf) in frequencies {
        let doc_freq = searcher.doc_freq(&term)?.min(total_docs);
        if doc_freq == 0 {
            continue;
        }
        let idf = (1.0 + ((total_docs - doc_freq) as f32 + 0.5) / (doc_freq as f32 + 0.5)).ln();
        weighted.push((tf as f32 * idf, term));
    }
    weighted.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    weighted.truncate(LIKE_THIS_TERMS);
    if weighted.is_empty() {
        return Ok(None);
    }
    let clauses = weighted
        .into_iter()
        .map(|(weight, term)| {
            let query: Box<dyn Query> = Box::new(BoostQuery::new(
                Box::new(TermQuery::new(term, IndexRecordOption::Basic)),
                weight,
            ));
            (Occur::Should, query)
        })
        .collect();
    Ok(Some(Box::new(BooleanQuery::new(clauses))))
}

pub(crate) fn stored_documents(searcher: &Searcher, f: &Fields) -> Result<Vec<StoredVideo>> {
    let addresses = searcher.search(&tantivy::query::AllQuery, &DocSetCollector)?;
    let mut out = Vec::with_capacity(addresses.len());
    for address in addresses {
        let doc: TantivyDocument = searcher.doc(address)?;
        let id = u128::from_str_radix(&first_text(&doc, f.id), 16).unwrap_or(0);
        out.push(StoredVideo {
            id,
            title: first_text(&doc, f.title),
            listed: first_u64(&doc, f.listed) == 1,
            like_count: first_u64(&doc, f.like_count),
            view_count: first_u64(&doc, f.view_count),
        });
    }
    out.sort_by_key(|v| v.id);
    Ok(out)
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn first_text(doc: &TantivyDocument, field: Field) -> String {
    doc.get_first(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn first_u64(doc: &TantivyDocument, field: Field) -> u64 {
    doc.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0)
}

fn facet_counts(counts: &tantivy::collector::FacetCounts) -> Vec<FacetCount> {
    counts
        .top_k("/", FACET_LIMIT)
        .into_iter()
        .map(|(facet, count)| FacetCount {
            value: facet
                .to_path()
                .last()
                .copied()
                .unwrap_or_default()
                .to_owned(),
            count,
        })
        .collect()
}

/// Fast-field columns of one segment that ranking reads.
struct SegmentColumns {
    id_hi: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    id_lo: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    likes: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<u64>>>,
    time: Option<std::sync::Arc<dyn tantivy::columnar::ColumnValues<i64>>>,
}

impl SegmentColumns {
    fn new(segment: &SegmentReader) -> Self {
        let ff = segment.fast_fields();
        let u = |name: &str| ff.u64(name).ok().map(|c| c.first_or_default_col(0));
        SegmentColumns {
            id_hi: u("id_hi"),
            id_lo: u("id_lo"),
            likes: u("like_count"),
            time: ff.i64("sort_time").ok().map(|c| c.first_or_default_col(0)),
        }
    }

    fn id(&self, doc: tantivy::DocId) -> u128 {
        let hi = self.id_hi.as_ref().map_or(0, |c| c.get_val(doc));
        let lo = self.id_lo.as_ref().map_or(0, |c| c.get_val(doc));
        (u128::from(hi) << 64) | u128::from(lo)
    }

    fn likes(&self, doc: tantivy::DocId) -> u64 {
        self.likes.as_ref().map_or(0, |c| c.get_val(doc))
    }

    fn primary(&self, sort: SortBy, doc: tantivy::DocId, score: f32) -> f64 {
        match sort {
            SortBy::Relevance => f64::from(score),
            SortBy::Newest => self.time.as_ref().map_or(0, |c| c.get_val(doc)) as f64,
            SortBy::MostLiked => self.likes(doc) as f64,
        }
    }
}

/// HTML snippets of title and description for the terms a query matched.
struct Highlighter {
    title: Vec<SnippetGenerator>,
    description: Vec<SnippetGenerator>,
    fields: Fields,
}

impl Highlighter {
    fn new(searcher: &Searcher, query: &dyn Query, fields: &Fields) -> Result<Self> {
        let make = |field: Field, chars: usize| -> Result<SnippetGenerator> {
            let mut g = SnippetGenerator::create(searcher, query, field)?;
            g.set_max_num_chars(chars);
            Ok(g)
        };
        Ok(Highlighter {
            title: vec![
                make(fields.title_cjk, TITLE_SNIPPET_CHARS)?,
                make(fields.title_en, TITLE_SNIPPET_CHARS)?,
            ],
            description: vec![
                make(fields.description_cjk, DESCRIPTION_SNIPPET_CHARS)?,
                make(fields.description_en, DESCRIPTION_SNIPPET_CHARS)?,
            ],
            fields: *fields,
        })
    }

    fn highlights(&self, searcher: &Searcher, address: DocAddress) -> Result<Vec<Highlight>> {
        let doc: TantivyDocument = searcher.doc(address)?;
        let mut out = Vec::new();
        for (name, field, generators) in [
            ("title", self.fields.title, &self.title),
            ("description", self.fields.description, &self.description),
        ] {
            let text = first_text(&doc, field);
            for g in generators {
                let mut snippet = g.snippet(&text);
                if !snippet.highlighted().is_empty() {
                    snippet.set_snippet_prefix_postfix("<mark>", "</mark>");
                    out.push(Highlight {
                        field: name,
                        snippet: snippet.to_html(),
                    });
                    break;
                }
            }
        }
        Ok(out)
    }
}
