//! Search benchmark. Reads the videos of a database seeded by `reelgraph seed`, then on
//! the same rows and the same 200 queries measures:
//! - the embedded index: bulk build (docs/s), commit-to-visible latency, query p50/p99;
//! - SQLite FTS5 (trigram tokenizer, the one that handles CJK at all) and PostgreSQL
//!   full-text search (tsvector + GIN, `simple` configuration): load time, query p50/p99.
//!
//! Every engine answers each query with the top 20 by relevance among listed videos
//! plus the total count (and category counts for faceted queries), as `search` does.
//!
//! Usage: reelgraph-bench-search <seeded database URL> <postgres admin URL> <work dir>
//!        [--wrk-script PATH] [--index-only]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement, Value};
use search_index::{Audience, Change, IndexHome, SearchFilter, SearchRequest, SortBy, VideoDoc};

const ROUNDS: usize = 5;

#[derive(Clone)]
struct Row {
    doc: VideoDoc,
    category: String,
}

#[derive(Clone)]
struct BenchQuery {
    kind: &'static str,
    text: String,
    category: Option<String>,
    facets: bool,
}

fn list(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

async fn load(url: &str) -> anyhow::Result<Vec<Row>> {
    let db = Database::connect(url).await?;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, owner_id, title, description, tags, categories, visibility, published_at, \
             created_at, like_count, view_count FROM videos WHERE deleted_at IS NULL",
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let id: uuid::Uuid = r.try_get("", "id")?;
        let owner: uuid::Uuid = r.try_get("", "owner_id")?;
        let published: Option<sea_orm::prelude::DateTimeUtc> = r.try_get("", "published_at")?;
        let created: sea_orm::prelude::DateTimeUtc = r.try_get("", "created_at")?;
        let visibility: String = r.try_get("", "visibility")?;
        let categories = list(&r.try_get::<String>("", "categories")?);
        out.push(Row {
            category: categories.first().cloned().unwrap_or_default(),
            doc: VideoDoc {
                id: id.as_u128(),
                owner: owner.as_u128(),
                title: r.try_get("", "title")?,
                description: r
                    .try_get::<Option<String>>("", "description")?
                    .unwrap_or_default(),
                tags: list(&r.try_get::<String>("", "tags")?),
                categories,
                listed: published.is_some() && visibility == "PUBLIC",
                published_at_micros: published.map(|t| t.timestamp_micros()),
                sort_time_micros: published.unwrap_or(created).timestamp_micros(),
                like_count: r.try_get::<i64>("", "like_count")?.max(0) as u64,
                view_count: r.try_get::<i64>("", "view_count")?.max(0) as u64,
            },
        });
    }
    Ok(out)
}

/// 200 queries drawn from the corpus: single words, phrases, CJK, typos, filtered,
/// faceted; the same seed gives the same set.
fn queries(rows: &[Row]) -> Vec<BenchQuery> {
    let mut rng = StdRng::seed_from_u64(7);
    let pick = |rng: &mut StdRng| rows[rng.random_range(0..rows.len())].clone();
    let latin_words = |t: &str| -> Vec<String> {
        t.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 4)
            .map(str::to_lowercase)
            .collect()
    };
    let cjk = |t: &str| -> Vec<char> {
        t.chars()
            .filter(|c| ('\u{3040}'..='\u{9fff}').contains(c))
            .collect()
    };
    let mut out = Vec::new();
    let mut push = |kind, text: String, category: Option<String>, facets| {
        out.push(BenchQuery {
            kind,
            text,
            category,
            facets,
        })
    };
    let mut n = 0;
    while n < 200 {
        let row = pick(&mut rng);
        let words = latin_words(&row.doc.title);
        let chars = cjk(&row.doc.title);
        let slot = n / 34; // six kinds, ~34 each
        let made = match slot {
            0 => words.first().map(|w| ("word", w.clone(), None, false)),
            1 => (words.len() >= 2).then(|| {
                // Two neighbouring words of the title as a phrase.
                let t = row.doc.title.to_lowercase();
                let i = t.find(&words[0]).unwrap_or(0);
                let rest: Vec<&str> = t[i..].split_whitespace().take(2).collect();
                ("phrase", format!("\"{}\"", rest.join(" ")), None, false)
            }),
            2 => (chars.len() >= 3).then(|| {
                let i = rng.random_range(0..chars.len() - 2);
                let len = if n % 2 == 0 { 2 } else { 3 };
                ("cjk", chars[i..i + len].iter().collect(), None, false)
            }),
            3 => words.iter().find(|w| w.len() >= 5).map(|w| {
                let mut c: Vec<char> = w.chars().collect();
                let i = rng.random_range(1..c.len() - 1);
                c.swap(i, i + 1);
                ("typo", c.into_iter().collect(), None, false)
            }),
            4 => words
                .first()
                .or(None)
                .map(|w| ("filtered", w.clone(), Some(row.category.clone()), false)),
            _ => words.first().map(|w| ("faceted", w.clone(), None, true)),
        };
        if let Some((kind, text, category, facets)) = made {
            push(kind, text, category, facets);
            n += 1;
        }
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

struct Stats {
    p50: f64,
    p99: f64,
    hit_queries: usize,
}

fn stats(mut times: Vec<Duration>, hit_queries: usize) -> Stats {
    times.sort();
    Stats {
        p50: percentile(&times, 0.5),
        p99: percentile(&times, 0.99),
        hit_queries,
    }
}

async fn bench_index(
    rows: &[Row],
    qs: &[BenchQuery],
    dir: PathBuf,
) -> anyhow::Result<(f64, Stats, Stats)> {
    let home = IndexHome::new(dir);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
    let started = Instant::now();
    let docs: Vec<VideoDoc> = rows.iter().map(|r| r.doc.clone()).collect();
    let index = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let mut b = home.builder(256 * 1024 * 1024, threads)?;
        for d in &docs {
            b.add(d)?;
        }
        Ok(b.finish(0)?)
    })
    .await??;
    let build = rows.len() as f64 / started.elapsed().as_secs_f64();

    // Commit-to-visible: change one document, commit, find it by its new word.
    let mut visible = Vec::new();
    for i in 0..50u64 {
        let mut doc = rows[(i as usize * 7919) % rows.len()].doc.clone();
        doc.title = format!("{} zzfresh{i}", doc.title);
        let t = Instant::now();
        index.apply(vec![Change::Upsert(doc)], i + 1).await?;
        let found = index
            .search(SearchRequest {
                text: format!("zzfresh{i}"),
                audience: Audience::Everyone,
                first: 1,
                ..Default::default()
            })
            .await?;
        visible.push(t.elapsed());
        if found.hits.is_empty() {
            bail!("a committed change was not visible");
        }
    }

    let mut times = Vec::new();
    let mut by_kind: std::collections::BTreeMap<&str, Vec<Duration>> = Default::default();
    let mut hits = 0;
    for round in 0..=ROUNDS {
        for q in qs {
            let t = Instant::now();
            let r = index
                .search(SearchRequest {
                    text: q.text.clone(),
                    filter: SearchFilter {
                        categories: q.category.iter().cloned().collect(),
                        ..Default::default()
                    },
                    audience: Audience::Public,
                    sort: SortBy::Relevance,
                    first: 20,
                    want_total: true,
                    want_facets: q.facets,
                    want_highlights: true,
                    ..Default::default()
                })
                .await?;
            if round > 0 {
                times.push(t.elapsed());
                by_kind.entry(q.kind).or_default().push(t.elapsed());
            } else if !r.hits.is_empty() {
                hits += 1;
            }
        }
    }
    for (kind, list) in by_kind {
        let s = stats(list, 0);
        eprintln!("index {kind}: p50 {:.2} ms, p99 {:.2} ms", s.p50, s.p99);
    }
    Ok((build, stats(visible, 50), stats(times, hits)))
}

fn fts5_match(q: &str) -> String {
    // Words and phrases as FTS5 strings (quotes doubled), implicitly ANDed.
    if q.starts_with('"') {
        return q.to_owned();
    }
    q.split_whitespace()
        .map(|w| format!("\"{}\"", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn insert_batches(
    db: &DatabaseConnection,
    rows: &[Row],
    sql_head: &str,
    placeholders: impl Fn(usize) -> String,
    values: impl Fn(usize, &Row) -> Vec<Value>,
) -> anyhow::Result<()> {
    for (b, chunk) in rows.chunks(500).enumerate() {
        let mut sql = sql_head.to_owned();
        let mut vals = Vec::new();
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&placeholders(i));
            vals.extend(values(b * 500 + i, r));
        }
        db.execute_raw(Statement::from_sql_and_values(
            db.get_database_backend(),
            sql,
            vals,
        ))
        .await?;
    }
    Ok(())
}

async fn bench_fts5(
    rows: &[Row],
    qs: &[BenchQuery],
    dir: &std::path::Path,
) -> anyhow::Result<(f64, Stats)> {
    let path = dir.join("fts5.db");
    let _ = std::fs::remove_file(&path);
    let db = Database::connect(format!("sqlite://{}?mode=rwc", path.display())).await?;
    db.execute_unprepared(
        "PRAGMA journal_mode=WAL; CREATE TABLE docs (rowid INTEGER PRIMARY KEY, listed INTEGER, category TEXT, like_count INTEGER);
         CREATE VIRTUAL TABLE fts USING fts5(title, description, tags, tokenize='trigram');",
    )
    .await?;
    let started = Instant::now();
    db.execute_unprepared("BEGIN").await?;
    insert_batches(
        &db,
        rows,
        "INSERT INTO docs VALUES ",
        |_| "(?,?,?,?)".into(),
        |i, r| {
            vec![
                (i as i64 + 1).into(),
                i64::from(r.doc.listed).into(),
                r.category.clone().into(),
                (r.doc.like_count as i64).into(),
            ]
        },
    )
    .await?;
    insert_batches(
        &db,
        rows,
        "INSERT INTO fts(rowid, title, description, tags) VALUES ",
        |_| "(?,?,?,?)".into(),
        |i, r| {
            vec![
                (i as i64 + 1).into(),
                r.doc.title.clone().into(),
                r.doc.description.clone().into(),
                r.doc.tags.join(" ").into(),
            ]
        },
    )
    .await?;
    db.execute_unprepared("COMMIT").await?;
    let load = started.elapsed().as_secs_f64();
    // FTS5 rejects some query texts as syntax errors: those count as "no hits".
    let stats = time_sql(&db, qs, true, |q| {
        let filter = if q.category.is_some() { "AND d.category = ?" } else { "" };
        let from = format!(
            "FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH ? AND d.listed = 1 {filter}"
        );
        [
            format!("SELECT d.rowid {from} ORDER BY bm25(fts, 3.0, 1.0, 2.0) LIMIT 20"),
            format!("SELECT count(*) {from}"),
            format!("SELECT d.category, count(*) {from} GROUP BY d.category ORDER BY 2 DESC LIMIT 20"),
        ]
    }, fts5_match)
    .await?;
    Ok((load, stats))
}

async fn bench_postgres(
    rows: &[Row],
    qs: &[BenchQuery],
    admin: &str,
) -> anyhow::Result<(f64, Stats)> {
    let admin_db = Database::connect(format!("{admin}/postgres")).await?;
    admin_db
        .execute_unprepared("DROP DATABASE IF EXISTS rg_bench_search WITH (FORCE)")
        .await?;
    admin_db
        .execute_unprepared("CREATE DATABASE rg_bench_search")
        .await?;
    let db = Database::connect(format!("{admin}/rg_bench_search")).await?;
    db.execute_unprepared(
        "CREATE TABLE docs (id bigint PRIMARY KEY, title text, description text, tags text, category text, listed boolean, like_count bigint,
           tsv tsvector GENERATED ALWAYS AS (
             setweight(to_tsvector('simple', title), 'A') ||
             setweight(to_tsvector('simple', tags), 'B') ||
             setweight(to_tsvector('simple', description), 'C')) STORED)",
    )
    .await?;
    let started = Instant::now();
    insert_batches(
        &db,
        rows,
        "INSERT INTO docs (id, title, description, tags, category, listed, like_count) VALUES ",
        |i| {
            let b = i * 7;
            format!(
                "(${},${},${},${},${},${},${})",
                b + 1,
                b + 2,
                b + 3,
                b + 4,
                b + 5,
                b + 6,
                b + 7
            )
        },
        |i, r| {
            vec![
                (i as i64).into(),
                r.doc.title.clone().into(),
                r.doc.description.clone().into(),
                r.doc.tags.join(" ").into(),
                r.category.clone().into(),
                r.doc.listed.into(),
                (r.doc.like_count as i64).into(),
            ]
        },
    )
    .await?;
    db.execute_unprepared("CREATE INDEX docs_tsv ON docs USING gin (tsv); CREATE INDEX docs_category ON docs (category); ANALYZE docs")
        .await?;
    let load = started.elapsed().as_secs_f64();
    let stats =
        time_sql(
            &db,
            qs,
            false,
            |q| {
                let filter = if q.category.is_some() {
                    "AND category = $2"
                } else {
                    ""
                };
                let from = format!(
            "FROM docs, websearch_to_tsquery('simple', $1) q WHERE tsv @@ q AND listed {filter}"
        );
                [
            format!("SELECT id {from} ORDER BY ts_rank(tsv, q) DESC LIMIT 20"),
            format!("SELECT count(*) {from}"),
            format!("SELECT category, count(*) {from} GROUP BY category ORDER BY 2 DESC LIMIT 20"),
        ]
            },
            str::to_owned,
        )
        .await?;
    Ok((load, stats))
}

/// Times every query on a SQL engine as `search` would use it: the top 20, the total,
/// and category counts for faceted queries. `statements` gives the three statements
/// (their parameters: the matched text, then the category when filtered); `matched`
/// turns the query text into the engine's syntax.
async fn time_sql(
    db: &DatabaseConnection,
    qs: &[BenchQuery],
    errors_mean_no_hits: bool,
    statements: impl Fn(&BenchQuery) -> [String; 3],
    matched: impl Fn(&str) -> String,
) -> anyhow::Result<Stats> {
    let backend = db.get_database_backend();
    let run = |sql: String, vals: Vec<Value>| async move {
        match db
            .query_all_raw(Statement::from_sql_and_values(backend, sql, vals))
            .await
        {
            Err(_) if errors_mean_no_hits => Ok(Vec::new()),
            other => other,
        }
    };
    let mut times = Vec::new();
    let mut hits = 0;
    for round in 0..=ROUNDS {
        for q in qs {
            let mut vals: Vec<Value> = vec![matched(&q.text).into()];
            if let Some(c) = &q.category {
                vals.push(c.clone().into());
            }
            let [top, count, facets] = statements(q);
            let t = Instant::now();
            let top = run(top, vals.clone()).await?;
            run(count, vals.clone()).await?;
            if q.facets {
                run(facets, vals).await?;
            }
            if round > 0 {
                times.push(t.elapsed());
            } else if !top.is_empty() {
                hits += 1;
            }
        }
    }
    Ok(stats(times, hits))
}

/// A wrk script that posts the same queries as `search` requests, round robin.
fn wrk_script(qs: &[BenchQuery]) -> String {
    let mut s = String::from("-- generated by reelgraph-bench-search\nlocal bodies = {\n");
    for q in qs {
        let filter = match &q.category {
            Some(c) => serde_json::json!({"categories": [c]}),
            None => serde_json::Value::Null,
        };
        let fields = if q.facets {
            "totalCount facets { categories { value count } }"
        } else {
            "totalCount"
        };
        let body = serde_json::json!({
            "query": format!("query($q: String!, $f: SearchFilter) {{ search(query: $q, filter: $f, first: 20) {{ edges {{ score node {{ id title }} highlights {{ snippet }} }} {fields} }} }}"),
            "variables": {"q": q.text, "f": filter},
        });
        s.push_str(&format!("  {},\n", lua_string(&body.to_string())));
    }
    s.push_str("}\nlocal i = 0\nwrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n");
    s.push_str("request = function()\n  i = i % #bodies + 1\n  return wrk.format(nil, \"/graphql\", nil, bodies[i])\nend\n");
    s
}

fn lua_string(text: &str) -> String {
    let mut out = String::from("\"");
    for b in text.bytes() {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        bail!(
            "usage: {} <seeded database URL> <postgres admin URL> <work dir> [--wrk-script PATH]",
            args[0]
        );
    }
    let work = PathBuf::from(&args[3]);
    std::fs::create_dir_all(&work)?;
    let rows = load(&args[1])
        .await
        .context("cannot read the seeded videos")?;
    let qs = queries(&rows);
    if let Some(i) = args.iter().position(|a| a == "--wrk-script") {
        let path = args.get(i + 1).context("--wrk-script needs a path")?;
        std::fs::write(path, wrk_script(&qs))?;
    }
    eprintln!("{} videos, {} queries", rows.len(), qs.len());
    let (build, visible, tantivy) = bench_index(&rows, &qs, work.join("index")).await?;
    eprintln!("index done");
    if args.iter().any(|a| a == "--index-only") {
        println!(
            "index: build {build:.0} docs/s; query p50 {:.2} ms, p99 {:.2} ms",
            tantivy.p50, tantivy.p99
        );
        return Ok(());
    }
    let (fts_load, fts) = bench_fts5(&rows, &qs, &work).await?;
    eprintln!("fts5 done");
    let (pg_load, pg) = bench_postgres(&rows, &qs, &args[2]).await?;
    println!(
        "videos: {}; queries: {} ({} rounds after a warm-up)",
        rows.len(),
        qs.len(),
        ROUNDS
    );
    println!(
        "index bulk build: {build:.0} docs/s; commit-to-visible p50 {:.1} ms, p99 {:.1} ms",
        visible.p50, visible.p99
    );
    println!("| engine | load | query p50 (ms) | query p99 (ms) | queries with hits |");
    println!("|---|---|---|---|---|");
    println!(
        "| reelgraph index (tantivy) | {:.1} s | {:.2} | {:.2} | {}/{} |",
        rows.len() as f64 / build,
        tantivy.p50,
        tantivy.p99,
        tantivy.hit_queries,
        qs.len()
    );
    println!(
        "| SQLite FTS5 (trigram) | {fts_load:.1} s | {:.2} | {:.2} | {}/{} |",
        fts.p50,
        fts.p99,
        fts.hit_queries,
        qs.len()
    );
    println!(
        "| PostgreSQL tsvector + GIN | {pg_load:.1} s | {:.2} | {:.2} | {}/{} |",
        pg.p50,
        pg.p99,
        pg.hit_queries,
        qs.len()
    );
    let kinds = ["word", "phrase", "cjk", "typo", "filtered", "faceted"];
    let count = |k: &str| qs.iter().filter(|q| q.kind == k).count();
    println!(
        "query mix: {}",
        kinds.map(|k| format!("{} {k}", count(k))).join(", ")
    );
    println!(
        "p99 ratio PostgreSQL / index: {:.1}x; SQLite FTS5 / index: {:.1}x",
        pg.p99 / tantivy.p99.max(1e-9),
        fts.p99 / tantivy.p99.max(1e-9)
    );
    Ok(())
}
