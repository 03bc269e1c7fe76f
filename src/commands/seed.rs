//! `reelgraph seed`: deterministic demo data. The same `--seed` gives the same users,
//! videos (English, Chinese and Japanese titles, tags and categories) and favorites, with
//! popularity skewed the way real platforms are: a few videos get most of the likes.
//!
//! Every seeded user has the password in [`DEMO_PASSWORD`].

use std::collections::HashSet;

use anyhow::{bail, Context};
use chrono::{DateTime, Duration, TimeZone, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use migration::{Migrator, MigratorTrait};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter,
};
use uuid::Uuid;

use super::recommendations::{
    import_into, ImportArgs, ImportFile, GOODBOOKS_COLUMNS, GOODBOOKS_CSV,
};
use crate::config::Config;
use crate::domain::auth::PasswordHasher;
use crate::domain::recommendation::RecommendationKind;
use crate::domain::user::username_skeleton;
use crate::infra::auth::Argon2Hasher;
use crate::infra::db::entities::{favorite, user, video, video_category, video_tag, video_version};
use crate::infra::db::{insert_all, label_key, Database, SqlRecommendationRepository};
use crate::startup::connect_database;

pub const DEMO_PASSWORD: &str = "demo-password";
const VIDEOS_PER_BATCH: usize = 5_000;

const EN_WORDS: &[&str] = &[
    "ocean", "sunset", "mountain", "city", "night", "coffee", "guitar", "robot", "garden",
    "winter", "street", "travel", "cooking", "pasta", "rust", "code", "football", "piano", "dance",
    "forest", "river", "desert", "train", "camera",
];
const EN_PATTERNS: &[&str] = &[
    "A {} and {} story",
    "How to make {} with {}",
    "{} vlog: {} edition",
    "Top 10 {} moments ({})",
    "{} tutorial for {} lovers",
];
const ZH_WORDS: &[&str] = &[
    "美食", "旅行", "城市", "夜景", "音乐", "编程", "猫咪", "火锅", "长城", "熊猫", "咖啡", "摄影",
    "足球", "汉服", "书法", "茶艺", "高铁", "春节", "烹饪", "舞蹈",
];
const ZH_PATTERNS: &[&str] = &[
    "{}与{}的故事",
    "如何在家做{}和{}",
    "{}日记：{}篇",
    "十分钟学会{}{}",
    "带你看{}里的{}",
];
const JA_WORDS: &[&str] = &[
    "ラーメン",
    "東京",
    "桜",
    "富士山",
    "猫",
    "アニメ",
    "寿司",
    "温泉",
    "京都",
    "祭り",
    "抹茶",
    "電車",
    "カメラ",
    "ギター",
    "料理",
    "散歩",
    "夜景",
    "紅葉",
];
const JA_PATTERNS: &[&str] = &[
    "{}と{}の旅",
    "{}の作り方：{}入門",
    "はじめての{}と{}",
    "{}で見つけた{}",
    "{}チャンネル｜{}特集",
];
const CATEGORIES: &[&str] = &[
    "music",
    "travel",
    "food",
    "education",
    "gaming",
    "sports",
    "tech",
    "animals",
    "art",
    "comedy",
];
const EN_NAMES: &[&str] = &[
    "Alice", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Henry", "Isla", "Jack",
];
const ZH_NAMES: &[&str] = &[
    "小明", "李华", "王芳", "张伟", "陈静", "刘洋", "赵磊", "孙丽",
];
const JA_NAMES: &[&str] = &[
    "さくら",
    "健太",
    "ゆい",
    "翔太",
    "美咲",
    "大輔",
    "陽菜",
    "蓮",
];

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A UUID v7 at `at`, with random bits from the seeded generator.
fn id_at(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
    let bytes: [u8; 10] = rng.random();
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid()
}

fn pick<'a>(rng: &mut StdRng, items: &[&'a str]) -> &'a str {
    items[rng.random_range(0..items.len())]
}

/// An index in `0..n` skewed towards 0 (a power law): index 0 is the most popular.
fn skewed(rng: &mut StdRng, n: usize) -> usize {
    let u: f64 = rng.random();
    ((n as f64) * u.powi(3)) as usize % n.max(1)
}

struct VideoPlan {
    id: Uuid,
    owner: usize,
    title: String,
    description: String,
    tags: Vec<String>,
    categories: Vec<String>,
    listed: bool,
    visibility: &'static str,
    published: bool,
    created_at: DateTime<Utc>,
    views: i64,
}

/// Video `i` depends only on the seed and `i`, so it can be rebuilt without keeping all
/// plans in memory.
fn plan_video(seed: u64, i: usize, users: usize) -> VideoPlan {
    let mut rng = StdRng::seed_from_u64(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let (words, patterns, lang) = match rng.random_range(0..10) {
        0..=4 => (EN_WORDS, EN_PATTERNS, "en"),
        5..=7 => (ZH_WORDS, ZH_PATTERNS, "zh"),
        _ => (JA_WORDS, JA_PATTERNS, "ja"),
    };
    let (a, b) = (pick(&mut rng, words), pick(&mut rng, words));
    let title = pick(&mut rng, patterns)
        .replacen("{}", a, 1)
        .replacen("{}", b, 1);
    let mut tags = vec![a.to_lowercase(), b.to_lowercase(), lang.to_owned()];
    tags.dedup();
    let mut categories = vec![pick(&mut rng, CATEGORIES).to_owned()];
    if rng.random_bool(0.3) {
        let second = pick(&mut rng, CATEGORIES).to_owned();
        if second != categories[0] {
            categories.push(second);
        }
    }
    let created_at = base_time() + Duration::seconds(rng.random_range(0..300 * 24 * 3600));
    let (visibility, listed) = match rng.random_range(0..20) {
        0 => ("PRIVATE", false),
        1 => ("UNLISTED", false),
        _ => ("PUBLIC", true),
    };
    let published = rng.random_bool(0.9);
    VideoPlan {
        id: id_at(&mut rng, created_at),
        owner: skewed(&mut rng, users),
        description: format!("{title} — {a} / {b}"),
        title,
        tags,
        categories,
        listed: listed && published,
        visibility,
        published,
        created_at,
        views: (10_000.0 * rng.random::<f64>().powi(6)) as i64,
    }
}

pub async fn run(config: &Config, users: u32, videos: u32, seed: u64) -> anyhow::Result<()> {
    if users == 0 {
        bail!("--users must be at least 1");
    }
    if config.mode == crate::config::Mode::Production {
        bail!("refusing to seed in production mode: demo users share a published password and demo00000 is an ADMIN");
    }
    let db = connect_database(config).await?;
    if config.store.auto_migrate {
        Migrator::up(&db.conn, None)
            .await
            .context("migrations failed")?;
    }
    let taken = user::Entity::find()
        .filter(user::Column::UsernameKey.eq("demo00000"))
        .count(&db.conn)
        .await?;
    if taken > 0 {
        bail!("this database is already seeded (user demo00000 exists); use `reelgraph migrate fresh` first");
    }
    let (users, videos) = (users as usize, videos as usize);
    let (favorites, likes) = plan_favorites(seed, users, videos);
    let bar = ProgressBar::new((users + videos + favorites.len()) as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")?
            .progress_chars("=> "),
    );
    let started = std::time::Instant::now();

    let user_ids = seed_users(&db, users, seed, &bar).await?;
    let seeded = seed_videos(&db, &user_ids, videos, seed, &likes, &bar).await?;
    seed_favorites(&db, &user_ids, &seeded, favorites, &bar).await?;
    bar.set_message("books");
    let books = seed_books(&db).await?;
    // One row for the lot: search replicas rebuild from the videos table.
    db.request_search_rebuild(crate::domain::clock::now())
        .await
        .context("cannot ask the search index to rebuild")?;
    // Fresh statistics, or the planners pick plans for an empty table (PostgreSQL sorted
    // every public video for each feed page until autovacuum caught up).
    bar.set_message("analyze");
    db.conn
        .execute_unprepared("ANALYZE")
        .await
        .context("ANALYZE failed")?;
    bar.finish_with_message("done");
    println!(
        "seeded {users} users, {videos} videos and their favorites and {books} books in {:.1}s (password for every demo user: {DEMO_PASSWORD})",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The goodbooks-10k books as BOOK recommendations, imported as the README shows.
async fn seed_books(db: &Database) -> anyhow::Result<u64> {
    let repo = SqlRecommendationRepository { db: db.clone() };
    let args = ImportArgs {
        kind: RecommendationKind::Book,
        source: "goodbooks".into(),
        file: ImportFile::EmbeddedCsv(GOODBOOKS_CSV),
        columns: GOODBOOKS_COLUMNS.into(),
        batch: 1000,
    };
    let report = import_into(&repo, args, ProgressBar::hidden()).await?;
    if report.rejected > 0 {
        bail!("{} built-in books were rejected", report.rejected);
    }
    Ok(report.written + report.unchanged)
}

async fn seed_users(
    db: &Database,
    n: usize,
    seed: u64,
    bar: &ProgressBar,
) -> anyhow::Result<Vec<Uuid>> {
    bar.set_message("users");
    let hash = Argon2Hasher::new(1)?
        .hash(DEMO_PASSWORD)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut ids = Vec::with_capacity(n);
    let mut rows = Vec::with_capacity(n);
    for i in 0..n {
        let at = base_time() - Duration::days(30) + Duration::seconds(i as i64);
        let id = id_at(&mut rng, at);
        let name = format!("demo{i:05}");
        let display = match i % 3 {
            0 => pick(&mut rng, EN_NAMES),
            1 => pick(&mut rng, ZH_NAMES),
            _ => pick(&mut rng, JA_NAMES),
        };
        rows.push(user::ActiveModel {
            id: Set(id),
            username: Set(name.clone()),
            username_key: Set(name.clone()),
            username_skeleton: Set(Some(username_skeleton(&name))),
            email: Set(format!("{name}@demo.reelgraph.dev")),
            email_key: Set(format!("{name}@demo.reelgraph.dev")),
            password_hash: Set(hash.clone()),
            display_name: Set(Some(display.to_owned())),
            bio: Set(None),
            avatar_url: Set(None),
            role: Set(if i == 0 { "ADMIN" } else { "CREATOR" }.to_owned()),
            is_active: Set(true),
            created_at: Set(at),
            updated_at: Set(at),
        });
        ids.push(id);
    }
    insert_all(db, rows)
        .await
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
    bar.inc(n as u64);
    Ok(ids)
}

/// Each user favorites a skewed handful of listed videos; returns the (user, video index)
/// pairs and the resulting like count per video.
fn plan_favorites(seed: u64, users: usize, videos: usize) -> (Vec<(usize, usize)>, Vec<i64>) {
    let mut likes = vec![0i64; videos];
    let mut pairs = Vec::new();
    if videos == 0 {
        return (pairs, likes);
    }
    let listed: Vec<bool> = (0..videos)
        .map(|i| plan_video(seed, i, users).listed)
        .collect();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(7));
    for u in 0..users {
        let wanted = (40.0 * rng.random::<f64>().powi(2)) as usize;
        let mut chosen = HashSet::new();
        for _ in 0..wanted {
            let v = skewed(&mut rng, videos);
            if listed[v] && chosen.insert(v) {
                likes[v] += 1;
                pairs.push((u, v));
            }
        }
    }
    (pairs, likes)
}

async fn seed_videos(
    db: &Database,
    users: &[Uuid],
    n: usize,
    seed: u64,
    likes: &[i64],
    bar: &ProgressBar,
) -> anyhow::Result<Vec<(Uuid, DateTime<Utc>)>> {
    bar.set_message("videos");
    let mut seeded = Vec::with_capacity(n);
    let mut start = 0;
    while start < n {
        let end = (start + VIDEOS_PER_BATCH).min(n);
        let (mut vids, mut tags, mut cats, mut versions) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (i, &like_count) in likes.iter().enumerate().take(end).skip(start) {
            let p = plan_video(seed, i, users.len());
            let owner = users[p.owner];
            seeded.push((p.id, p.created_at));
            for t in &p.tags {
                tags.push(video_tag::ActiveModel {
                    video_id: Set(p.id),
                    tag: Set(label_key(t)),
                });
            }
            for c in &p.categories {
                cats.push(video_category::ActiveModel {
                    video_id: Set(p.id),
                    category: Set(label_key(c)),
                });
            }
            versions.push(video_version::ActiveModel {
                video_id: Set(p.id),
                version: Set(1),
                size_bytes: Set(None),
                changes: Set(Some("created".into())),
                created_by: Set(Some(owner)),
                created_at: Set(p.created_at),
                media_key: Set(None),
                content_type: Set(None),
            });
            vids.push(video::ActiveModel {
                id: Set(p.id),
                owner_id: Set(owner),
                title: Set(p.title),
                description: Set(Some(p.description)),
                categories: Set(serde_json::to_string(&p.categories)?),
                tags: Set(serde_json::to_string(&p.tags)?),
                status: Set("DRAFT".into()),
                visibility: Set(p.visibility.into()),
                published_at: Set(p.published.then_some(p.created_at + Duration::hours(1))),
                seo_keywords: Set("[]".into()),
                view_count: Set(p.views),
                like_count: Set(like_count),
                created_at: Set(p.created_at),
                updated_at: Set(p.created_at),
                ..Default::default()
            });
        }
        let err = |e| anyhow::anyhow!("{e:?}");
        insert_all(db, vids).await.map_err(err)?;
        insert_all(db, tags).await.map_err(err)?;
        insert_all(db, cats).await.map_err(err)?;
        insert_all(db, versions).await.map_err(err)?;
        bar.inc((end - start) as u64);
        start = end;
    }
    Ok(seeded)
}

async fn seed_favorites(
    db: &Database,
    users: &[Uuid],
    videos: &[(Uuid, DateTime<Utc>)],
    pairs: Vec<(usize, usize)>,
    bar: &ProgressBar,
) -> anyhow::Result<()> {
    bar.set_message("favorites");
    for chunk in pairs.chunks(20_000) {
        let rows = chunk
            .iter()
            .map(|&(u, v)| {
                let (id, created_at) = videos[v];
                favorite::ActiveModel {
                    user_id: Set(users[u]),
                    target_kind: Set("VIDEO".into()),
                    target_id: Set(id),
                    created_at: Set(created_at + Duration::hours(2 + u as i64 % 48)),
                }
            })
            .collect();
        insert_all(db, rows)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        bar.inc(chunk.len() as u64);
    }
    Ok(())
}
