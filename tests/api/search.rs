//! Search through the real server: languages, typos, phrases, facets, paging,
//! visibility, freshness, hostile queries, suggestions and related videos.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, User};

const SEARCH: &str = "query($q: String!, $f: SearchFilter, $s: SearchSort, $n: Int, $a: String) {
  search(query: $q, filter: $f, sort: $s, first: $n, after: $a) {
    edges { cursor score node { id title } highlights { field snippet } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
    totalCount tookMs
    facets { categories { value count } tags { value count } }
  }
}";

async fn search_as(app: &TestApp, who: Option<&User>, q: &str, vars: Value) -> Value {
    let mut v = json!({ "q": q });
    v.as_object_mut()
        .unwrap()
        .extend(vars.as_object().unwrap().clone());
    let r = app.gql_as(who.map(|u| u.access.as_str()), SEARCH, v).await;
    r.data()["search"].clone()
}

fn titles(result: &Value) -> Vec<String> {
    result["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect()
}

async fn titles_for(app: &TestApp, q: &str) -> Vec<String> {
    titles(&search_as(app, None, q, json!({"n": 100})).await)
}

async fn published(app: &TestApp, user: &User, title: &str, extra: Value) -> String {
    let id = app.create_video(user, title, extra).await;
    app.publish(user, &id).await;
    id
}

/// Runs `mutation` (taking `$id`) as `who` and returns its data; errors fail the test.
async fn mutate_by_id(app: &TestApp, who: &User, mutation: &str, id: &str) -> Value {
    app.gql_as(Some(&who.access), mutation, json!({ "id": id }))
        .await
        .data()
        .clone()
}

/// Polls an anonymous search (which never waits for the index) until `check` holds.
async fn eventually(app: &TestApp, q: &str, check: impl Fn(&[String]) -> bool) -> Duration {
    let started = Instant::now();
    loop {
        let found = titles_for(app, q).await;
        if check(&found) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "search for {q:?} never settled; last saw {found:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const LONG_RUN: &str =
    "机器学习人工智能深度神经网络自然语言处理计算机视觉数据挖掘推荐系统知识图谱强化学习";

#[tokio::test]
async fn finds_videos_in_every_script_with_typos_phrases_and_exclusions() {
    let app = spawn_app().await;
    let u = app.register("polyglot").await;
    let run: String = LONG_RUN.chars().take(40).collect();
    for (title, extra) in [
        (
            "机器学习入门教程",
            json!({"categories": ["教育"], "tags": ["ai"]}),
        ),
        (
            "東京タワーの夜景をドローンで撮影",
            json!({"categories": ["Travel"]}),
        ),
        (
            "Rust入門 ガイド 🎉",
            json!({"categories": ["Education"], "tags": ["rust"]}),
        ),
        ("Cooking 🍜 ramen at home", json!({"categories": ["Food"]})),
        (
            "Running in the rain",
            json!({"description": "A Rust tutorial about <b>bold</b> moves"}),
        ),
        ("Cafe\u{301} culture in Paris", json!({})),
        ("ＦＵＬＬＷＩＤＴＨ letters", json!({})),
        (run.as_str(), json!({})),
        (
            "Python programming tutorial",
            json!({"tags": ["python", "ai"]}),
        ),
        ("The cat sat", json!({})),
    ] {
        published(&app, &u, title, extra).await;
    }
    eventually(&app, "cat", |t| t == ["The cat sat"]).await;

    // Chinese (jieba and bigrams), Japanese kana and kanji, mixed script, emoji.
    assert_eq!(titles_for(&app, "教程").await, ["机器学习入门教程"]);
    assert_eq!(titles_for(&app, "学习").await.len(), 2);
    assert_eq!(titles_for(&app, "入门教程").await, ["机器学习入门教程"]);
    assert_eq!(
        titles_for(&app, "タワー").await,
        ["東京タワーの夜景をドローンで撮影"]
    );
    assert_eq!(
        titles_for(&app, "夜景").await,
        ["東京タワーの夜景をドローンで撮影"]
    );
    assert_eq!(titles_for(&app, "入門").await, ["Rust入門 ガイド 🎉"]);
    assert_eq!(titles_for(&app, "🍜").await, ["Cooking 🍜 ramen at home"]);
    // Any two neighbouring characters of a 40-character run find it.
    let chars: Vec<char> = run.chars().collect();
    for pair in chars.windows(2) {
        let q: String = pair.iter().collect();
        assert!(
            titles_for(&app, &q).await.contains(&run),
            "{q} did not find the long run"
        );
    }
    // NFC query, NFD title; full-width title, ASCII query.
    assert_eq!(titles_for(&app, "café").await, ["Café culture in Paris"]);
    assert_eq!(titles_for(&app, "fullwidth").await, ["FULLWIDTH letters"]);
    // English stemming, typos (one edit from 4 letters, two from 8), none for short words.
    assert_eq!(titles_for(&app, "runs").await, ["Running in the rain"]);
    assert_eq!(
        titles_for(&app, "pythno").await,
        ["Python programming tutorial"]
    );
    assert_eq!(
        titles_for(&app, "porgramminng").await,
        ["Python programming tutorial"]
    );
    assert!(titles_for(&app, "cot").await.is_empty());
    // Phrases and exclusions.
    assert_eq!(
        titles_for(&app, "\"in the rain\"").await,
        ["Running in the rain"]
    );
    assert!(titles_for(&app, "\"rain the in\"").await.is_empty());
    let tutorials = titles_for(&app, "tutorial").await;
    assert_eq!(tutorials.len(), 2, "{tutorials:?}");
    assert_eq!(
        titles_for(&app, "tutorial -python").await,
        ["Running in the rain"]
    );
    // An excluded phrase whose words occur, but never side by side, excludes nothing (it
    // once made tantivy's phrase scorer assert; found by the search_query fuzz target).
    let mut kept = titles_for(&app, "tutorial -\"tutorial python\"").await;
    kept.sort();
    assert_eq!(kept, ["Python programming tutorial", "Running in the rain"]);
    assert_eq!(
        titles_for(&app, "tutorial -\"python programming\"").await,
        ["Running in the rain"]
    );
    // Title outranks description.
    assert_eq!(tutorials[0], "Python programming tutorial");

    // Highlights are escaped HTML with <mark>; facets and filters use categories and tags.
    let r = search_as(&app, None, "bold", json!({})).await;
    let hl = &r["edges"][0]["highlights"][0];
    assert_eq!(hl["field"], "description");
    let snippet = hl["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("&lt;b&gt;<mark>bold</mark>&lt;/b&gt;"),
        "{snippet}"
    );
    let r = search_as(&app, None, "", json!({"f": {"tags": ["AI"]}})).await;
    assert_eq!(r["totalCount"], 2);
    let tags = r["facets"]["tags"].as_array().unwrap();
    assert!(
        tags.contains(&json!({"value": "ai", "count": 2})),
        "{tags:?}"
    );
    let r = search_as(
        &app,
        None,
        "",
        json!({"f": {"categories": ["education", "Food"]}}),
    )
    .await;
    assert_eq!(r["totalCount"], 2);
    let r = search_as(&app, None, "rust", json!({})).await;
    assert_eq!(r["totalCount"], 2);
    assert!(r["tookMs"].as_f64().unwrap() >= 0.0);
}

#[tokio::test]
async fn nobody_finds_what_they_may_not_list_and_pages_have_no_gaps() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let other = app.register("other").await;
    let admin = app.register("boss").await;
    let admin = app.promote(&admin, "ADMIN").await;
    let mut public = HashSet::new();
    for i in 0..23 {
        public.insert(published(&app, &owner, &format!("zebra clip {i}"), json!({})).await);
    }
    let draft = app.create_video(&owner, "zebra draft", json!({})).await;
    let private = published(
        &app,
        &owner,
        "zebra private",
        json!({"visibility": "PRIVATE"}),
    )
    .await;
    let unlisted = published(
        &app,
        &owner,
        "zebra unlisted",
        json!({"visibility": "UNLISTED"}),
    )
    .await;
    let deleted = published(&app, &owner, "zebra deleted", json!({})).await;
    let r = mutate_by_id(
        &app,
        &owner,
        "mutation($id: ID!) { deleteVideo(id: $id) }",
        &deleted,
    )
    .await;
    assert_eq!(r["deleteVideo"], true);

    let ids = |r: &Value| -> Vec<String> {
        r["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // The owner wrote a moment ago: their searches see their writes at once.
    let mine = search_as(&app, Some(&owner), "zebra", json!({"n": 100})).await;
    let mine: HashSet<String> = ids(&mine).into_iter().collect();
    let mut expected = public.clone();
    expected.extend([draft.clone(), private.clone(), unlisted.clone()]);
    assert_eq!(mine, expected);
    eventually(&app, "zebra", |t| t.len() == 23).await;
    for who in [None, Some(&other)] {
        let r = search_as(&app, who, "zebra", json!({"n": 100})).await;
        assert_eq!(ids(&r).into_iter().collect::<HashSet<_>>(), public);
        assert_eq!(r["totalCount"], 23);
        let tags = search_as(&app, who, "draft", json!({})).await;
        assert!(ids(&tags).is_empty());
    }
    let r = search_as(&app, Some(&admin), "zebra", json!({"n": 100})).await;
    assert_eq!(
        r["totalCount"], 26,
        "admins see everything but deleted videos"
    );

    // Every sort pages through all 23 public hits in pages of 7: no gaps, no repeats.
    for sort in ["RELEVANCE", "NEWEST", "MOST_LIKED"] {
        let mut seen = Vec::new();
        let mut after = Value::Null;
        loop {
            let r = search_as(&app, None, "zebra", json!({"s": sort, "n": 7, "a": after})).await;
            seen.extend(ids(&r));
            if !r["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = r["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), 23, "{sort}");
        assert_eq!(
            seen.iter().cloned().collect::<HashSet<_>>(),
            public,
            "{sort}"
        );
    }
    // Later pages come from the same view of the index as the first, even while the
    // index changes underneath: better matches added and likes moving after page one
    // neither show up nor push hits across the page boundary.
    for sort in ["RELEVANCE", "MOST_LIKED"] {
        let first = search_as(&app, None, "zebra", json!({"s": sort, "n": 7})).await;
        let mut seen = ids(&first);
        let mut after = first["pageInfo"]["endCursor"].clone();
        let newcomer = published(
            &app,
            &owner,
            &format!("zebra zebra zebra {sort}"),
            json!({}),
        )
        .await;
        let liked = seen.last().unwrap().clone();
        for fan in [&other, &admin] {
            mutate_by_id(
                &app,
                fan,
                "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
                &liked,
            )
            .await;
        }
        eventually(&app, "zebra", |t| t.iter().any(|x| x.ends_with(sort))).await;
        loop {
            let r = search_as(&app, None, "zebra", json!({"s": sort, "n": 7, "a": after})).await;
            seen.extend(ids(&r));
            if !r["pageInfo"]["hasNextPage"].as_bool().unwrap() {
                break;
            }
            after = r["pageInfo"]["endCursor"].clone();
        }
        assert_eq!(seen.len(), public.len(), "{sort}: {seen:?}");
        assert_eq!(
            seen.iter().cloned().collect::<HashSet<_>>(),
            public,
            "{sort}"
        );
        assert!(!seen.contains(&newcomer));
        public.insert(newcomer);
    }

    // A cursor of another sort or another query is refused.
    let r = search_as(&app, None, "zebra", json!({"n": 7})).await;
    let cursor = r["pageInfo"]["endCursor"].clone();
    for (q, sort) in [("zebra", "NEWEST"), ("clip", "RELEVANCE")] {
        let r = app
            .gql(SEARCH, json!({"q": q, "s": sort, "a": cursor}))
            .await;
        assert_eq!(r.code(), "BAD_USER_INPUT");
        assert_eq!(r.body["errors"][0]["extensions"]["field"], "after");
    }
}

#[tokio::test]
async fn changes_reach_search_within_a_second() {
    let app = spawn_app().await;
    let u = app.register("editor").await;
    let id = published(&app, &u, "walrus migration", json!({})).await;
    let took = eventually(&app, "walrus", |t| t == ["walrus migration"]).await;
    assert!(took < Duration::from_secs(1), "create took {took:?}");
    // Operators see how far the index has got. The writer reloads its readers before it
    // publishes the new position, so a search can see a change a moment before the gauge.
    let waited = std::time::Instant::now();
    let mut position = app.metric("reelgraph_search_index_position").await;
    while position < 2 && waited.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(20)).await;
        position = app.metric("reelgraph_search_index_position").await;
    }
    assert!(position >= 2);
    assert_eq!(app.metric("reelgraph_search_documents").await, 1);

    mutate_by_id(
        &app,
        &u,
        "mutation($id: ID!) { updateVideo(id: $id, input: {title: \"narwhal migration\"}) { id } }",
        &id,
    )
    .await;
    let took = eventually(&app, "narwhal", |t| t == ["narwhal migration"]).await;
    assert!(took < Duration::from_secs(1), "update took {took:?}");
    assert!(titles_for(&app, "walrus").await.is_empty());

    mutate_by_id(
        &app,
        &u,
        "mutation($id: ID!) { unpublishVideo(id: $id) { id } }",
        &id,
    )
    .await;
    let took = eventually(&app, "narwhal", |t| t.is_empty()).await;
    assert!(took < Duration::from_secs(1), "unpublish took {took:?}");
    // The owner still finds the draft; once deleted, nobody does.
    let r = search_as(&app, Some(&u), "narwhal", json!({})).await;
    assert_eq!(titles(&r), ["narwhal migration"]);
    mutate_by_id(&app, &u, "mutation($id: ID!) { deleteVideo(id: $id) }", &id).await;
    let r = search_as(&app, Some(&u), "narwhal", json!({})).await;
    assert!(titles(&r).is_empty());

    // Likes reach the index too: MOST_LIKED reorders.
    let a = published(&app, &u, "otter one", json!({})).await;
    let b = published(&app, &u, "otter two", json!({})).await;
    let fan = app.register("fan").await;
    mutate_by_id(
        &app,
        &fan,
        "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
        &b,
    )
    .await;
    let started = Instant::now();
    loop {
        let r = search_as(&app, None, "otter", json!({"s": "MOST_LIKED"})).await;
        let got: Vec<String> = r["edges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["node"]["id"].as_str().unwrap().to_owned())
            .collect();
        if got == [b.clone(), a.clone()] {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "likes not indexed: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn hostile_queries_are_clear_errors_or_plain_results() {
    let app = spawn_app().await;
    let u = app.register("hostile").await;
    published(&app, &u, "title of a normal video", json!({})).await;
    eventually(&app, "normal", |t| t.len() == 1).await;
    let nested = format!("{}rust{}", "(".repeat(1000), ")".repeat(1000));
    let huge = "x".repeat(100 * 1024);
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("- *", Some("BAD_USER_INPUT")),
        ("-video", Some("BAD_USER_INPUT")),
        ("*", Some("BAD_USER_INPUT")),
        (nested.as_str(), Some("BAD_USER_INPUT")),
        (huge.as_str(), Some("BAD_USER_INPUT")),
        ("title:(", None),
        ("\"", Some("BAD_USER_INPUT")),
        ("\"unclosed phrase", None),
        ("AND OR NOT ~ ^ { } [ ] \\", None),
        ("a\u{0}b", None),
        ("\u{202e}evil", None),
        ("🎉🎉🎉🎉🎉🎉🎉🎉🎉🎉", None),
    ];
    for (q, expected) in cases {
        let started = Instant::now();
        let r = app.gql(SEARCH, json!({"q": q})).await;
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{q:.40} was slow"
        );
        match expected {
            Some(code) => {
                assert_eq!(r.code(), code, "{q:.40}: {}", r.body);
                assert_eq!(r.body["errors"][0]["extensions"]["field"], "query");
            }
            None => {
                r.data();
            }
        }
        let s = app
            .gql(
                "query($p: String!) { suggest(prefix: $p) }",
                json!({"p": q}),
            )
            .await;
        assert!(
            s.body["errors"].is_null() || s.code() == "BAD_USER_INPUT",
            "suggest {q:.40}: {}",
            s.body
        );
    }
    assert_eq!(
        titles_for(&app, "title:(").await,
        ["title of a normal video"]
    );
}

#[tokio::test]
async fn suggestions_and_related_videos_respect_visibility() {
    let app = spawn_app().await;
    let u = app.register("chef").await;
    let other = app.register("stranger").await;
    let base = published(
        &app,
        &u,
        "Sourdough bread baking basics",
        json!({"tags": ["bread", "baking"], "description": "flour water salt starter"}),
    )
    .await;
    published(
        &app,
        &u,
        "Sourdough starter care",
        json!({"tags": ["bread"]}),
    )
    .await;
    published(
        &app,
        &u,
        "Baking bread at high altitude",
        json!({"tags": ["baking"]}),
    )
    .await;
    published(
        &app,
        &u,
        "Sourdough secrets",
        json!({"visibility": "PRIVATE"}),
    )
    .await;
    published(&app, &u, "Bicycle repair", json!({})).await;

    let suggest = |p: &'static str, who: Option<String>| {
        let app = &app;
        async move {
            let r = app
                .gql_as(
                    who.as_deref(),
                    "query($p: String!) { suggest(prefix: $p, limit: 5) }",
                    json!({"p": p}),
                )
                .await;
            let mut got: Vec<String> = serde_json::from_value(r.data()["suggest"].clone()).unwrap();
            got.sort();
            got
        }
    };
    eventually(&app, "sourdough", |t| t.len() == 2).await;
    assert_eq!(
        suggest("sourd", Some(other.access.clone())).await,
        ["Sourdough bread baking basics", "Sourdough starter care"]
    );
    assert_eq!(
        suggest("sourdough sta", None).await,
        ["Sourdough starter care"]
    );
    assert_eq!(suggest("sourd", Some(u.access.clone())).await.len(), 3);
    assert!(suggest("zzz", None).await.is_empty());

    let r = app
        .gql(
            "query($id: ID!) { video(id: $id) { related(first: 5) { title } } }",
            json!({"id": base}),
        )
        .await;
    let related: Vec<String> = r.data()["video"]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["title"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        related.contains(&"Sourdough starter care".to_owned()),
        "{related:?}"
    );
    assert!(
        related.contains(&"Baking bread at high altitude".to_owned()),
        "{related:?}"
    );
    assert!(!related
        .iter()
        .any(|t| t == "Sourdough secrets" || t.contains("bread baking basics")));
    assert!(!related.contains(&"Bicycle repair".to_owned()));
}

#[tokio::test]
async fn every_instance_keeps_its_own_replica_fed_by_the_shared_outbox() {
    let tmp = tempfile::tempdir().unwrap();
    let database_url = match std::env::var("REELGRAPH_TEST_BACKEND").as_deref() {
        Ok("sqlite") => None,
        _ if std::env::var("TEST_DATABASE_URL").is_ok_and(|u| !u.is_empty()) => {
            Some(crate::helpers::fresh_postgres_database().await)
        }
        _ => None,
    }
    .unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            tmp.path().join("shared.db").display()
        )
    });
    let options = || crate::helpers::Options {
        database_url: Some(database_url.clone()),
        ..Default::default()
    };
    let a = crate::helpers::spawn_app_with(options()).await;
    let b = crate::helpers::spawn_app_with(options()).await;
    assert_ne!(a.data_dir, b.data_dir);

    let u = a.register("replicated").await;
    let id = published(&a, &u, "ibex on a cliff", json!({})).await;
    let took = eventually(&b, "ibex", |t| t == ["ibex on a cliff"]).await;
    // Woken by the outbox poll, not by A: a generous bound (this is no speed test; the
    // full suite runs many servers at once on two cores).
    assert!(
        took < Duration::from_secs(10),
        "B saw A's video after {took:?}"
    );
    mutate_by_id(&b, &u, "mutation($id: ID!) { updateVideo(id: $id, input: {title: \"chamois on a cliff\"}) { id } }", &id).await;
    eventually(&a, "chamois", |t| t == ["chamois on a cliff"]).await;
    eventually(&b, "chamois", |t| t == ["chamois on a cliff"]).await;
    // Both replicas report their position, so rows both are past can be pruned.
    let db = a.database().await;
    let n = sea_orm::ConnectionTrait::query_one_raw(
        &db,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(&db),
            "SELECT COUNT(*) AS n FROM search_replicas",
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap();
    assert_eq!(n, 2);
}

/// Updates and deletes leave deleted documents in their segments until a merge; related
/// videos must still be found (tantivy's MoreLikeThis asserted on such statistics).
#[tokio::test]
async fn related_videos_survive_updates_and_deletes() {
    let app = spawn_app().await;
    let u = app.register("baker").await;
    let mut ids = Vec::new();
    for title in [
        "Rye bread crumb",
        "Rye bread crust",
        "Rye bread starter",
        "Rye bread shaping",
    ] {
        ids.push(published(&app, &u, title, json!({"tags": ["bread"]})).await);
    }
    // Every update re-indexes the video: the old documents stay, deleted, in the segment.
    for round in 0..3 {
        for id in &ids[..3] {
            let data = app
                .gql_as(
                    Some(&u.access),
                    "mutation($id: ID!, $d: String!) { updateVideo(id: $id, input: {description: $d}) { id } }",
                    json!({"id": id, "d": format!("rye bread notes, round {round}")}),
                )
                .await;
            data.data();
        }
    }
    mutate_by_id(
        &app,
        &u,
        "mutation($id: ID!) { deleteVideo(id: $id) }",
        &ids[3],
    )
    .await;
    eventually(&app, "\"round 2\"", |t| t.len() == 3).await;
    eventually(&app, "shaping", |t| t.is_empty()).await;

    let r = app
        .gql(
            "query($id: ID!) { video(id: $id) { related(first: 5) { title } } }",
            json!({"id": ids[0]}),
        )
        .await;
    let mut related: Vec<String> = r.data()["video"]["related"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["title"].as_str().unwrap().to_owned())
        .collect();
    related.sort();
    assert_eq!(related, ["Rye bread crust", "Rye bread starter"]);
}
