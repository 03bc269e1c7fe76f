//! The search engine's reader of user text, its pages and suggestions.

use std::sync::OnceLock;

use super::runtime;

/// A small index in several languages, built once per process in a temporary folder.
fn search_index() -> &'static search_index::SearchIndex {
    static INDEX: OnceLock<search_index::SearchIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        #[allow(clippy::expect_used)] // the target cannot run without its index
        build_index().expect("the fuzz targets' search index")
    })
}

fn build_index() -> anyhow::Result<search_index::SearchIndex> {
    // The folder goes once the index is open: nothing is written to it afterwards, and on
    // Unix open and mapped files outlive their names, so no run leaves a folder behind.
    let dir = tempfile::Builder::new()
        .prefix("reelgraph-fuzz-index-")
        .tempdir()?;
    let home = search_index::IndexHome::new(dir.path());
    let mut builder = home.builder(20_000_000, 1)?;
    let texts: [(&str, &str, &[&str]); 12] = [
        (
            "Tokyo at night",
            "A walk through Shinjuku after rain",
            &["tokyo", "night"],
        ),
        ("東京の夜景", "新宿を歩く。雨上がりの街", &["夜景", "東京"]),
        (
            "北京烤鸭的做法",
            "一步一步教你做北京烤鸭",
            &["美食", "北京"],
        ),
        (
            "Knitting a sweater",
            "Cables, ribbing and a long evening",
            &["craft"],
        ),
        (
            "Rust for video servers",
            "tokio, hyper and tantivy",
            &["rust", "programming"],
        ),
        (
            "Café culture in Paris",
            "Croissants, crème brûlée and ﬁne coffee",
            &["paris"],
        ),
        (
            "Nightlife in Berlin",
            "Clubs, techno, Straße at dawn",
            &["berlin", "night"],
        ),
        (
            "How to bake bread",
            "Sourdough starter, flour, water, salt",
            &["food"],
        ),
        ("Ночная Москва", "Прогулка по центру", &["москва"]),
        (
            "\"Quoted\" titles -and- dashes",
            "title:( odd ) syntax & <html>",
            &["odd"],
        ),
        ("Emoji 🎬🍿 movie night", "🎥 popcorn", &["movies"]),
        (
            "Mountains of Nepal",
            "Trekking to Everest base camp",
            &["travel", "nepal"],
        ),
    ];
    for (n, (title, description, tags)) in texts.iter().enumerate() {
        let n = n as u64;
        builder.add(&search_index::VideoDoc {
            id: u128::from(n) + 1,
            owner: u128::from(n % 3) + 100,
            title: (*title).to_owned(),
            description: (*description).to_owned(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            categories: vec![["travel", "food", "tech"][(n % 3) as usize].to_owned()],
            listed: n % 5 != 4,
            published_at_micros: (n % 5 != 4).then_some(1_700_000_000_000_000 + n as i64),
            sort_time_micros: 1_700_000_000_000_000 + n as i64,
            like_count: n * 7 % 11,
            view_count: n * 13 % 17,
        })?;
    }
    let index = builder.finish(1)?;
    drop(dir);
    Ok(index)
}

/// Search text, with the first byte choosing the sort, audience and what is asked for,
/// the second the page size and the third the filters and a client's cursor (any
/// position `decode_search` would accept: a finite sort value, any id, any view). The
/// hits come in the sort's order, `has_next` promises a non-empty next page, and the next
/// page never repeats this one.
pub fn search_query(data: &[u8]) {
    let [flags, first, extra, text @ ..] = data else {
        return;
    };
    let text = String::from_utf8_lossy(text).into_owned();
    let request = request_from(*flags, *first, *extra, text.clone());
    let audience = request.audience;
    if !check_pages(&text, request) {
        return;
    }
    let rt = runtime();
    match rt.block_on(search_index().suggest(text.clone(), 5, audience)) {
        Ok(_) | Err(search_index::SearchError::Query(_)) => {}
        Err(e) => panic!("suggestions for {text:?} failed: {e}"),
    }
}

/// The request the three leading bytes describe, for `text`.
fn request_from(flags: u8, first: u8, extra: u8, text: String) -> search_index::SearchRequest {
    let sort = match flags & 3 {
        0 => search_index::SortBy::Relevance,
        1 => search_index::SortBy::Newest,
        _ => search_index::SortBy::MostLiked,
    };
    let audience = match (flags >> 2) & 3 {
        0 => search_index::Audience::Public,
        1 => search_index::Audience::PublicAndOwner(101),
        _ => search_index::Audience::Everyone,
    };
    let filter = search_index::SearchFilter {
        categories: match extra & 3 {
            0 => vec![],
            1 => vec!["travel".into()],
            2 => vec!["food".into(), "tech".into()],
            _ => vec!["nothing-has-this".into()],
        },
        tags: if extra & 4 != 0 {
            vec!["night".into()]
        } else {
            vec![]
        },
        owner: (extra & 8 != 0).then_some(100),
        published_after_micros: (extra & 16 != 0).then_some(1_700_000_000_000_005),
    };
    let after = (extra & 32 != 0).then(|| search_index::Cursor {
        primary: (f64::from(first) - 128.0) * 0.37,
        id: u128::from(extra >> 6) * 3,
        view: u64::from(flags >> 6),
    });
    search_index::SearchRequest {
        text,
        filter,
        audience,
        sort,
        after,
        first: usize::from(first % 8) + 1,
        want_total: flags & 16 != 0,
        want_facets: flags & 32 != 0,
        want_highlights: flags & 64 != 0,
    }
}

/// The hits come in the sort's order, and a next page promised is non-empty and new;
/// false when the text is refused as a query.
fn check_pages(text: &str, request: search_index::SearchRequest) -> bool {
    let index = search_index();
    let rt = runtime();
    let page = match rt.block_on(index.search(request.clone())) {
        Ok(page) => page,
        Err(search_index::SearchError::Query(_)) => return false,
        Err(e) => panic!("search for {text:?} failed: {e}"),
    };
    assert!(page.hits.len() <= request.first, "page longer than asked");
    let mut hits: Vec<search_index::Cursor> = page.hits.iter().map(|h| h.cursor).collect();
    if let (true, Some(last)) = (page.has_next, page.hits.last()) {
        let next = rt
            .block_on(index.search(search_index::SearchRequest {
                after: Some(last.cursor),
                ..request
            }))
            .unwrap_or_else(|e| panic!("second page for {text:?} failed: {e}"));
        assert!(
            !next.hits.is_empty(),
            "has_next for {text:?}, but the next page is empty"
        );
        for hit in &next.hits {
            assert!(
                page.hits.iter().all(|h| h.id != hit.id),
                "the second page for {text:?} repeats {}",
                hit.id
            );
        }
        hits.extend(next.hits.iter().map(|h| h.cursor));
    }
    for pair in hits.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        assert!(
            a.primary > b.primary || (a.primary == b.primary && a.id < b.id),
            "hits for {text:?} out of order: {a:?} before {b:?}"
        );
    }
    true
}
