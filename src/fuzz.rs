//! Entry points for the fuzzers in `fuzz/` (cargo-fuzz; the README's development section
//! says how to run them) and for the tests that replay their seeds and every input that
//! once found a fault (`fuzz/seeds/<target>`, `fuzz/regressions/<target>`).
//!
//! Each entry takes arbitrary bytes, feeds them to one reader of untrusted input the way
//! the server does, and panics only when the code is wrong: a panic inside the reader, an
//! error that is not a refusal of the input, or an answer that breaks the reader's
//! contract (a cursor that does not decode to what it encodes, a cleaned file name with a
//! folder in it, a mutation accepted over GET, a second search page repeating the first).
//! A refusal of bad input is the expected outcome, not a finding.

use std::sync::OnceLock;

use poem::http::Method;
use poem::{Body, Request};
use unicode_normalization::is_nfc;

use crate::api::http::request::{self, GetAllows};
use crate::api::http::{multipart, MultipartLimits, MAX_BATCH};
use crate::api::live::ws::{self, ClientMessage};
use crate::app::cursor;
use crate::domain::media::{clean_filename, MediaKind};
use crate::domain::video::VideoSort;
use crate::domain::DomainError;

/// A fuzz target: arbitrary bytes in, a panic when the code is wrong.
pub type Target = fn(&[u8]);

/// Every target by the name its `fuzz/fuzz_targets/<name>.rs` and folders carry.
pub const TARGETS: [(&str, Target); 5] = [
    ("search_query", search_query),
    ("cursor", cursor),
    ("graphql_request", graphql_request),
    ("upload_filename", upload_filename),
    ("ws_message", ws_message),
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        #[allow(clippy::expect_used)] // nothing can be fuzzed without it
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime for the fuzz targets")
    })
}

fn assert_bad_input(result: Result<impl std::fmt::Debug, DomainError>, what: &str) {
    if let Err(e) = result {
        assert!(
            matches!(e, DomainError::BadInput { .. }),
            "{what}: refused with {e:?}, not as bad input"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Search text

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
        primary: (f64::from(*first) - 128.0) * 0.37,
        id: u128::from(*extra >> 6) * 3,
        view: u64::from(*flags >> 6),
    });
    let request = search_index::SearchRequest {
        text: text.clone(),
        filter,
        audience,
        sort,
        after,
        first: usize::from(first % 8) + 1,
        want_total: flags & 16 != 0,
        want_facets: flags & 32 != 0,
        want_highlights: flags & 64 != 0,
    };
    let index = search_index();
    let rt = runtime();
    let page = match rt.block_on(index.search(request.clone())) {
        Ok(page) => page,
        Err(search_index::SearchError::Query(_)) => return,
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
    match rt.block_on(index.suggest(text.clone(), 5, audience)) {
        Ok(_) | Err(search_index::SearchError::Query(_)) => {}
        Err(e) => panic!("suggestions for {text:?} failed: {e}"),
    }
}

// ---------------------------------------------------------------------------------------
// Cursors

/// A client's `after` cursor for every list that takes one: refused as bad input, or
/// decoded to a position that encodes back to the same position.
pub fn cursor(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return; // GraphQL strings are UTF-8
    };
    for sort in [
        VideoSort::Newest,
        VideoSort::Oldest,
        VideoSort::MostLiked,
        VideoSort::MostViewed,
    ] {
        let decoded = cursor::decode_video(sort, raw);
        if let Ok(key) = &decoded {
            let again = cursor::decode_video(sort, &cursor::encode_video(sort, key));
            assert_eq!(again.as_ref().ok(), Some(key), "video cursor {raw:?}");
        }
        assert_bad_input(decoded, "video cursor");
    }
    let connection = "search:RELEVANCE:0123456789ab";
    let decoded = cursor::decode_search(connection, raw);
    if let Ok(at) = &decoded {
        let again = cursor::decode_search(connection, &cursor::encode_search(connection, *at));
        assert_eq!(again.as_ref().ok(), Some(at), "search cursor {raw:?}");
    }
    assert_bad_input(decoded, "search cursor");
    let decoded = cursor::decode_favorite(raw);
    if let Ok(key) = &decoded {
        let again = cursor::decode_favorite(&cursor::encode_favorite(key));
        assert_eq!(again.as_ref().ok(), Some(key), "favorite cursor {raw:?}");
    }
    assert_bad_input(decoded, "favorite cursor");
}

// ---------------------------------------------------------------------------------------
// GraphQL requests

const BOUNDARY: &str = "reelgraph-fuzz-boundary";

/// The operation async-graphql's executor runs: the one named, or the only one.
fn executed_operation<'a>(
    doc: &'a async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    use async_graphql::parser::types::DocumentOperations;
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(&op.node),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// One HTTP GraphQL request, as `/graphql` and `/graphql/stream` read it. The first byte
/// chooses GET (the rest is the query string), a JSON POST (the rest is the body) or a
/// multipart POST (the rest is the body, parts split by [`BOUNDARY`]), and whether GET may
/// open subscriptions; the second sets the body and file limits, small enough for inputs
/// to cross them. A refusal is a client error (4xx); what is accepted goes through the
/// shape limits every transport applies before validation, and a GET never runs a
/// mutation (nor a subscription where GET may not open them).
pub fn graphql_request(data: &[u8]) {
    let [how, limit, rest @ ..] = data else {
        return;
    };
    let limit = 64 + usize::from(*limit) * 16;
    let get_allows = if how & 4 == 0 {
        GetAllows::Queries
    } else {
        GetAllows::QueriesAndSubscriptions
    };
    let rt = runtime();
    let refused = |status: poem::http::StatusCode, message: &str| {
        assert!(
            status.is_client_error(),
            "refused with {status}, not as the client's fault: {message}"
        );
    };
    let transport = how % 3;
    let accepted = match transport {
        0 => {
            let Ok(uri) =
                format!("/graphql?{}", String::from_utf8_lossy(rest)).parse::<poem::http::Uri>()
            else {
                return; // hyper refuses such a request line before any handler
            };
            let req = Request::builder().method(Method::GET).uri(uri).finish();
            rt.block_on(request::accept(&req, Body::empty(), limit, get_allows))
                .map_err(|r| refused(r.status, &r.message))
        }
        1 => {
            let req = Request::builder()
                .method(Method::POST)
                .uri_str("/graphql")
                .content_type("application/json")
                .header("content-length", rest.len().to_string())
                .finish();
            let body = Body::from(rest.to_vec());
            rt.block_on(request::accept(&req, body, limit, get_allows))
                .map_err(|r| refused(r.status, &r.message))
        }
        _ => {
            let req = Request::builder()
                .method(Method::POST)
                .uri_str("/graphql")
                .content_type(&format!("multipart/form-data; boundary={BOUNDARY}"))
                .header("apollo-require-preflight", "true")
                .header("content-length", rest.len().to_string())
                .finish();
            let limits = MultipartLimits {
                max_file_bytes: limit as u64,
                max_files: 4,
            };
            let body = Body::from(rest.to_vec());
            rt.block_on(multipart::read_multipart(&req, body, limits))
                .map_err(|(status, _, message)| refused(status, &message))
        }
    };
    let Ok(batch) = accepted else {
        return;
    };
    let requests: Vec<&async_graphql::Request> = batch.iter().collect();
    assert!(
        (1..=MAX_BATCH).contains(&requests.len()),
        "a batch of {} was accepted",
        requests.len()
    );
    let _ = request::needs_no_token(&batch);
    let _ = crate::api::limits::batch_hashing_mutations(requests.iter().map(|r| r.query.as_str()));
    for r in requests {
        let Ok(doc) = async_graphql::parser::parse_query(&r.query) else {
            continue;
        };
        let _ = crate::api::limits::refusal(&doc, 1000);
        if transport != 0 {
            continue;
        }
        use async_graphql::parser::types::OperationType;
        if let Some(op) = executed_operation(&doc, r.operation_name.as_deref()) {
            let allowed = match op.ty {
                OperationType::Query => true,
                OperationType::Subscription => get_allows == GetAllows::QueriesAndSubscriptions,
                OperationType::Mutation => false,
            };
            assert!(allowed, "GET accepted a {:?}: {:?}", op.ty, r.query);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Upload file names

/// A client's upload file name for both kinds of media: refused as bad input, or a plain
/// NFC name of at most 255 characters, with no folder, control or direction character,
/// that cleans to itself.
pub fn upload_filename(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [MediaKind::Video, MediaKind::Thumbnail] {
        let cleaned = clean_filename(raw, kind, "filename");
        if let Ok(name) = &cleaned {
            assert!(!name.is_empty(), "empty name from {raw:?}");
            assert!(
                !name.contains(['/', '\\']) && name != "." && name != "..",
                "folder in {name:?}"
            );
            assert!(
                !name.chars().any(|c| c.is_control()
                    || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
                "control or direction character in {name:?}"
            );
            assert!(name.chars().count() <= 255, "{name:?} is too long");
            assert!(is_nfc(name), "{name:?} is not NFC");
            assert_eq!(
                clean_filename(name, kind, "filename").ok().as_ref(),
                Some(name),
                "{name:?} does not clean to itself"
            );
        }
        assert_bad_input(cleaned, "file name");
    }
}

// ---------------------------------------------------------------------------------------
// WebSocket messages

/// One text message of either WebSocket protocol, under a size limit the first byte sets
/// (small enough for inputs to cross it): a message of that protocol, or a close with 1009
/// (too long) or 4400 (malformed). A subscribe payload that is a GraphQL request goes
/// through the shape limits, as the schema's prepare hook applies them.
pub fn ws_message(data: &[u8]) {
    let [limit, text @ ..] = data else {
        return;
    };
    let max_bytes = 16 + usize::from(*limit) * 8;
    let Ok(text) = std::str::from_utf8(text) else {
        return; // text frames are UTF-8; tungstenite refuses others
    };
    for legacy in [false, true] {
        match ws::read_message(text, legacy, max_bytes) {
            Ok(ClientMessage::Subscribe { payload, .. }) => {
                if let Some(request) = ws::subscribe_request(payload) {
                    if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
                        let _ = crate::api::limits::refusal(&doc, 1000);
                    }
                }
            }
            Ok(_) => assert!(text.len() <= max_bytes),
            Err(close) => {
                let code = close.map(|(code, _)| code);
                let expected = if text.len() > max_bytes { 1009 } else { 4400 };
                assert_eq!(code, Some(expected), "close for {text:?}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::TARGETS;

    /// Every seed and every input a fuzzer once failed on is replayed on every test run;
    /// every target has seeds and a fuzz target, and every folder names a target.
    #[test]
    fn seeds_and_regressions_replay() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
        for folder in ["seeds", "regressions"] {
            for entry in std::fs::read_dir(root.join(folder)).unwrap() {
                let entry = entry.unwrap();
                if !entry.file_type().unwrap().is_dir() {
                    continue; // a README
                }
                let name = entry.file_name().to_string_lossy().into_owned();
                assert!(
                    TARGETS.iter().any(|(target, _)| *target == name),
                    "fuzz/{folder}/{name} names no target"
                );
            }
        }
        for (name, target) in TARGETS {
            assert!(
                root.join("fuzz_targets")
                    .join(format!("{name}.rs"))
                    .is_file(),
                "fuzz/fuzz_targets/{name}.rs is missing"
            );
            let mut replayed = 0;
            for folder in ["seeds", "regressions"] {
                let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else {
                    assert_eq!(folder, "regressions", "fuzz/seeds/{name} is missing");
                    continue;
                };
                for entry in entries {
                    let path = entry.unwrap().path();
                    let data = std::fs::read(&path).unwrap();
                    let outcome = std::panic::catch_unwind(|| target(&data));
                    assert!(outcome.is_ok(), "{name} fails on {}", path.display());
                    replayed += 1;
                }
            }
            assert!(replayed > 0, "no seeds for {name}");
        }
    }
}
