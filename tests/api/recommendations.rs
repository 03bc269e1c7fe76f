//! Recommendation items and the `recommendations` feed, through the real server.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, User};

const CREATE: &str = "mutation($i: RecommendationInput!) { createRecommendation(input: $i) { id kind title subtitle rating accentColor releaseDate score featured video { id } } }";
const UPDATE: &str = "mutation($id: ID!, $i: RecommendationInput!) { updateRecommendation(id: $id, input: $i) { id title subtitle rating score } }";
const DELETE: &str = "mutation($id: ID!) { deleteRecommendation(id: $id) }";
const FEED: &str = "query($k: RecommendationKind, $f: Int, $a: String, $r: Boolean) { recommendations(kind: $k, first: $f, after: $a, refresh: $r) { items { id title score likeCount viewerHasFavorited } featured { title } nextCursor hasMore version } }";

async fn admin(app: &TestApp, name: &str) -> User {
    let user = app.register(name).await;
    app.promote(&user, "ADMIN").await
}

async fn create(app: &TestApp, admin: &User, input: Value) -> String {
    let r = app
        .gql_as(Some(&admin.access), CREATE, json!({ "i": input }))
        .await;
    r.data()["createRecommendation"]["id"]
        .as_str()
        .expect("id")
        .to_owned()
}

async fn feed(app: &TestApp, who: Option<&User>, vars: Value) -> Value {
    let r = app.gql_as(who.map(|u| u.access.as_str()), FEED, vars).await;
    r.data()["recommendations"].clone()
}

fn scores(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["score"].as_f64().expect("score") as i64)
        .collect()
}

#[tokio::test]
async fn only_admins_change_items_and_every_field_is_checked() {
    let app = spawn_app().await;
    let lee = app.register("lee").await;
    let input = json!({ "kind": "BOOK", "title": "Dune" });
    let anonymous = app.gql(CREATE, json!({ "i": input })).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
    let user = app
        .gql_as(Some(&lee.access), CREATE, json!({ "i": input }))
        .await;
    assert_eq!(user.code(), "FORBIDDEN");

    let root = admin(&app, "root").await;
    for (input, field) in [
        (json!({ "title": "x" }), "input.kind"),
        (json!({ "kind": "BOOK" }), "input.title"),
        (
            json!({ "kind": "BOOK", "title": "x", "imageUrl": "javascript:alert(1)" }),
            "input.imageUrl",
        ),
        (
            json!({ "kind": "BOOK", "title": "x", "accentColor": "blue" }),
            "input.accentColor",
        ),
        (
            json!({ "kind": "BOOK", "title": "x", "rating": 7.5 }),
            "input.rating",
        ),
        (
            json!({ "kind": "BOOK", "title": "x", "releaseDate": "2024-02-30" }),
            "input.releaseDate",
        ),
        (
            json!({ "kind": "BOOK", "title": "x", "source": "feed" }),
            "input.sourceRef",
        ),
        (json!({ "kind": "VIDEO", "title": "x" }), "input.videoId"),
        (
            json!({ "kind": "VIDEO", "title": "x", "videoId": "00000000-0000-7000-8000-000000000000" }),
            "input.videoId",
        ),
    ] {
        let r = app
            .gql_as(Some(&root.access), CREATE, json!({ "i": input }))
            .await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{input}");
        assert_eq!(r.body["errors"][0]["extensions"]["field"], field, "{input}");
    }
    assert_eq!(app.count_rows("recommendations").await, 0);

    let created = app
        .gql_as(
            Some(&root.access),
            CREATE,
            json!({ "i": { "kind": "BOOK", "title": " Dune ", "subtitle": "Frank Herbert",
                "rating": 4.25, "accentColor": "#C2A05B", "releaseDate": "1965-08-01", "score": 3 } }),
        )
        .await;
    let item = &created.data()["createRecommendation"];
    assert_eq!(item["title"], "Dune");
    assert_eq!(item["accentColor"], "#c2a05b");
    let id = item["id"].as_str().unwrap().to_owned();

    let updated = app
        .gql_as(
            Some(&root.access),
            UPDATE,
            json!({ "id": id, "i": { "subtitle": null, "score": 9 } }),
        )
        .await;
    assert_eq!(
        updated.data()["updateRecommendation"],
        json!({ "id": id, "title": "Dune", "subtitle": null, "rating": 4.25, "score": 9.0 })
    );
    let by_user = app
        .gql_as(Some(&lee.access), DELETE, json!({ "id": id }))
        .await;
    assert_eq!(by_user.code(), "FORBIDDEN");
    let deleted = app
        .gql_as(Some(&root.access), DELETE, json!({ "id": id }))
        .await;
    assert_eq!(deleted.data()["deleteRecommendation"], true);
    let again = app
        .gql_as(Some(&root.access), DELETE, json!({ "id": id }))
        .await;
    assert_eq!(again.code(), "NOT_FOUND");
}

#[tokio::test]
async fn video_items_show_only_while_their_video_is_listed() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let creator = app.register("maker").await;
    let video = app.create_video(&creator, "Clip", json!({})).await;
    app.publish(&creator, &video).await;
    let item = app
        .gql_as(
            Some(&root.access),
            CREATE,
            json!({ "i": { "kind": "VIDEO", "title": "Watch this", "videoId": video, "featured": true } }),
        )
        .await;
    assert_eq!(item.data()["createRecommendation"]["video"]["id"], video);
    let page = feed(&app, None, json!({ "k": "VIDEO" })).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["featured"], json!([{ "title": "Watch this" }]));

    let unlisted = app
        .gql_as(
            Some(&creator.access),
            "mutation($id: ID!) { updateVideo(id: $id, input: { visibility: UNLISTED }) { id } }",
            json!({ "id": video }),
        )
        .await;
    unlisted.data();
    let page = feed(&app, None, json!({ "k": "VIDEO", "r": true })).await;
    assert_eq!(
        page["items"],
        json!([]),
        "an unlisted video is not recommended"
    );
    assert_eq!(page["featured"], json!([]));
}

#[tokio::test]
async fn feed_versions_hold_still_and_a_refresh_puts_unseen_items_first() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    for score in 1..=25 {
        create(
            &app,
            &root,
            json!({ "kind": "MOVIE", "title": format!("Movie {score}"), "score": score }),
        )
        .await;
    }
    create(
        &app,
        &root,
        json!({ "kind": "BOOK", "title": "Not a movie", "score": 99 }),
    )
    .await;

    // Anonymous: a version per generation; later pages stay in it.
    let first = feed(&app, None, json!({ "k": "MOVIE", "f": 10 })).await;
    assert_eq!(scores(&first), (16..=25).rev().collect::<Vec<_>>());
    assert_eq!(first["hasMore"], true);
    create(
        &app,
        &root,
        json!({ "kind": "MOVIE", "title": "Late", "score": 100 }),
    )
    .await;
    let second = feed(
        &app,
        None,
        json!({ "k": "MOVIE", "f": 10, "a": first["nextCursor"] }),
    )
    .await;
    assert_eq!(scores(&second), (6..=15).rev().collect::<Vec<_>>());
    assert_eq!(second["version"], first["version"]);
    let newest = feed(&app, None, json!({ "k": "MOVIE", "f": 10 })).await;
    assert_ne!(newest["version"], first["version"]);
    assert_eq!(scores(&newest)[0], 100);
    let all = feed(&app, None, json!({ "f": 3 })).await;
    assert_eq!(
        scores(&all),
        vec![100, 99, 25],
        "without a kind, every kind"
    );

    // Signed in: the viewer's own version until they pull to refresh.
    let ann = app.register("ann").await;
    let mut seen = Vec::new();
    let mut ids = std::collections::HashSet::new();
    let mut after = Value::Null;
    for _ in 0..2 {
        let page = feed(
            &app,
            Some(&ann),
            json!({ "k": "MOVIE", "f": 10, "a": after }),
        )
        .await;
        assert_eq!(page["version"], 1);
        seen.extend(scores(&page));
        for item in page["items"].as_array().expect("items") {
            ids.insert(item["id"].as_str().expect("id").to_owned());
        }
        after = page["nextCursor"].clone();
    }
    assert_eq!(seen[..3], [100, 25, 24]);
    assert_eq!(seen.len(), 20);
    assert_eq!(ids.len(), 20, "no repeats across pages");

    let other = app.register("bob").await;
    let foreign = app
        .gql_as(
            Some(&other.access),
            FEED,
            json!({ "k": "MOVIE", "a": after }),
        )
        .await;
    assert_eq!(foreign.code(), "BAD_USER_INPUT", "another viewer's cursor");
    // Well-formed but forged: ann's own connection, an offset past her version's end,
    // and a version she never had.
    let past_end = URL_SAFE_NO_PAD.encode(format!("v1|recs:MOVIE:{}|1|99999", ann.id));
    let no_version = URL_SAFE_NO_PAD.encode(format!("v1|recs:MOVIE:{}|7|0", ann.id));
    for forged in [
        "djF8cmVjczpNT1ZJRXxhbm9ufDk5OTl8MA",
        "nonsense",
        past_end.as_str(),
        no_version.as_str(),
    ] {
        let r = app
            .gql_as(
                Some(&ann.access),
                FEED,
                json!({ "k": "MOVIE", "a": forged }),
            )
            .await;
        assert_eq!(r.code(), "BAD_USER_INPUT");
    }
    let both = app
        .gql_as(
            Some(&ann.access),
            FEED,
            json!({ "k": "MOVIE", "a": after, "r": true }),
        )
        .await;
    assert_eq!(both.code(), "BAD_USER_INPUT");

    let refreshed = feed(
        &app,
        Some(&ann),
        json!({ "k": "MOVIE", "f": 10, "r": true }),
    )
    .await;
    assert_eq!(refreshed["version"], 2);
    assert_eq!(
        scores(&refreshed),
        vec![6, 5, 4, 3, 2, 1, 100, 25, 24, 23],
        "the six not shown yet come first, then the rest in order"
    );
    let same = feed(&app, Some(&ann), json!({ "k": "MOVIE", "f": 10 })).await;
    assert_eq!(
        scores(&same),
        scores(&refreshed),
        "deterministic for (viewer, version)"
    );
}

#[tokio::test]
async fn featured_items_follow_their_window() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let past = "2020-01-01T00:00:00Z";
    let future = "2999-01-01T00:00:00Z";
    create(
        &app,
        &root,
        json!({ "kind": "GAME", "title": "Over", "featured": true, "featuredUntil": past }),
    )
    .await;
    create(
        &app,
        &root,
        json!({ "kind": "GAME", "title": "Later", "featured": true, "featuredFrom": future }),
    )
    .await;
    create(&app, &root, json!({ "kind": "GAME", "title": "Now", "featured": true, "featuredFrom": past, "featuredUntil": future })).await;
    create(&app, &root, json!({ "kind": "GAME", "title": "Plain" })).await;
    let page = feed(&app, None, json!({ "k": "GAME" })).await;
    assert_eq!(page["featured"], json!([{ "title": "Now" }]));
    assert_eq!(page["items"].as_array().unwrap().len(), 4);
    // A scheduled promotion is not public: viewers see whether an item is featured now,
    // admins see the windows as set.
    let windows = "query { recommendations(kind: GAME) { items { title featured featuredFrom featuredUntil } } }";
    let later = |r: &Value| {
        r["recommendations"]["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|i| i["title"] == "Later")
            .cloned()
            .expect("Later")
    };
    let public = app.gql(windows, json!({})).await;
    assert_eq!(
        later(public.data()),
        json!({ "title": "Later", "featured": false, "featuredFrom": null, "featuredUntil": null })
    );
    let curated = app.gql_as(Some(&root.access), windows, json!({})).await;
    assert_eq!(later(curated.data())["featured"], true);
    let from = later(curated.data())["featuredFrom"].clone();
    assert!(
        from.as_str()
            .is_some_and(|t| t.starts_with("2999-01-01T00:00:00")),
        "{from}"
    );
    let backwards = app
        .gql_as(
            Some(&root.access),
            CREATE,
            json!({ "i": { "kind": "GAME", "title": "x", "featuredFrom": future, "featuredUntil": past } }),
        )
        .await;
    assert_eq!(
        backwards.body["errors"][0]["extensions"]["field"],
        "input.featuredUntil"
    );
}

#[tokio::test]
async fn favorites_of_items_are_exact_under_concurrency_and_go_with_the_item() {
    let app = spawn_app().await;
    let root = admin(&app, "root").await;
    let id = create(&app, &root, json!({ "kind": "ACTIVITY", "title": "Climb" })).await;
    let mut fans = Vec::new();
    for i in 0..6 {
        fans.push(app.register(&format!("fan{i}")).await);
    }
    let add = "mutation($id: ID!) { addFavorite(kind: RECOMMENDATION, targetId: $id) { target { ... on Recommendation { id } } } }";
    let calls = fans
        .iter()
        .flat_map(|fan| (0..2).map(|_| app.gql_as(Some(&fan.access), add, json!({ "id": id }))));
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.data()["addFavorite"]["target"]["id"], id);
    }
    let page = feed(&app, Some(&fans[0]), json!({ "k": "ACTIVITY" })).await;
    assert_eq!(page["items"][0]["likeCount"], 6);
    assert_eq!(page["items"][0]["viewerHasFavorited"], true);
    let anonymous = feed(&app, None, json!({ "k": "ACTIVITY" })).await;
    assert_eq!(anonymous["items"][0]["viewerHasFavorited"], false);

    let mine = app
        .gql_as(
            Some(&fans[0].access),
            "{ myFavorites(kind: RECOMMENDATION) { totalCount edges { node { target { __typename ... on Recommendation { title } } } } } favoriteStats { total byKind { kind count } } }",
            json!({}),
        )
        .await;
    let data = mine.data();
    assert_eq!(data["myFavorites"]["totalCount"], 1);
    assert_eq!(
        data["myFavorites"]["edges"][0]["node"]["target"],
        json!({ "__typename": "Recommendation", "title": "Climb" })
    );
    assert_eq!(
        data["favoriteStats"]["byKind"],
        json!([{ "kind": "VIDEO", "count": 0 }, { "kind": "RECOMMENDATION", "count": 1 }])
    );
    let remove = "mutation($id: ID!) { removeFavorite(kind: RECOMMENDATION, targetId: $id) }";
    let removed = app
        .gql_as(Some(&fans[1].access), remove, json!({ "id": id }))
        .await;
    assert_eq!(removed.data()["removeFavorite"], true);
    let cached = feed(&app, None, json!({ "k": "ACTIVITY" })).await;
    assert_eq!(
        cached["items"][0]["likeCount"], 5,
        "counts are exact on cached pages"
    );

    let missing = app
        .gql_as(
            Some(&fans[0].access),
            add,
            json!({ "id": "00000000-0000-7000-8000-000000000000" }),
        )
        .await;
    assert_eq!(missing.code(), "NOT_FOUND");
    app.gql_as(Some(&root.access), DELETE, json!({ "id": id }))
        .await
        .data();
    assert_eq!(app.count_rows("favorites").await, 0);
}

const GOODBOOKS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/assets/goodbooks-10k/books.csv"
);
const GOODBOOKS_COLUMNS: &str = "title=title,subtitle=authors,rating=average_rating,releaseDate=original_publication_year,imageUrl=image_url,score=ratings_count,sourceRef=book_id";

fn import(dir: &std::path::Path, file: &std::path::Path, flag: &str) -> (bool, String, String) {
    let out = crate::cli::reelgraph(
        dir,
        &[
            "recommendations",
            "import",
            "--kind",
            "BOOK",
            "--source",
            "goodbooks",
            flag,
            file.to_str().unwrap(),
            "--columns",
            GOODBOOKS_COLUMNS,
            "--batch",
            "400",
        ],
        None,
    );
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_goodbooks_books_import_cleanly_once_and_bad_rows_are_reported_by_line() {
    let dir = tempfile::tempdir().unwrap();
    let books = std::path::Path::new(GOODBOOKS);
    let (ok, out, err) = import(dir.path(), books, "--csv");
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("10000 written, 0 unchanged, 0 rejected"),
        "{out}"
    );
    let (ok, out, err) = import(dir.path(), books, "--csv");
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("0 written, 10000 unchanged"),
        "running it twice is a no-op: {out}"
    );

    // One changed row, one new, two bad ones (line 3: a rating that is no number, line 5:
    // a reference given twice), one CSV row with too few fields (line 6).
    let edits = dir.path().join("edits.csv");
    std::fs::write(
        &edits,
        "book_id,authors,original_publication_year,title,average_rating,ratings_count,image_url\n\
         1,Suzanne Collins,2008.0,The Hunger Games (revised),4.34,4780653,https://images.gr-assets.com/books/1447303603m/2767052.jpg\n\
         2,J.K. Rowling,1997.0,Harry Potter,great,4602479,\n\
         20001,Homer,-750.0,\"The Iliad, again\",3.83,1,\n\
         20001,Homer,-750.0,Duplicate,3.83,1,\n\
         20002,short row\n",
    )
    .unwrap();
    let (ok, out, err) = import(dir.path(), &edits, "--csv");
    assert!(!ok, "rejected rows fail the command");
    assert!(
        out.contains("0 written, 0 unchanged, 3 rejected, 2 held back"),
        "nothing of a batch with a bad row is written: {out}"
    );
    assert!(err.contains("line 3: rating"), "{err}");
    assert!(
        err.contains("line 5: sourceRef \"20001\" was already given on line 4"),
        "{err}"
    );
    assert!(err.contains("line 6: not a valid CSV row"), "{err}");
    // Fixed (and saved with Windows line endings), the same rows go in.
    std::fs::write(
        &edits,
        "book_id,authors,original_publication_year,title,average_rating,ratings_count,image_url\r\n\
         1,Suzanne Collins,2008.0,The Hunger Games (revised),4.34,4780653,https://images.gr-assets.com/books/1447303603m/2767052.jpg\r\n\
         2,J.K. Rowling,1997.0,Harry Potter,great,4602479,\r\n\
         20001,Homer,-750.0,\"The Iliad, again\",3.83,1,\r\n",
    )
    .unwrap();
    let (ok, _, err) = import(dir.path(), &edits, "--csv");
    assert!(!ok);
    assert!(
        err.contains("line 3: rating"),
        "CRLF lines are counted exactly: {err}"
    );
    std::fs::write(
        &edits,
        "book_id,authors,original_publication_year,title,average_rating,ratings_count,image_url\r\n\
         1,Suzanne Collins,2008.0,The Hunger Games (revised),4.34,4780653,https://images.gr-assets.com/books/1447303603m/2767052.jpg\r\n\
         20001,Homer,-750.0,\"The Iliad, again\",3.83,1,\r\n",
    )
    .unwrap();
    let (ok, out, err) = import(dir.path(), &edits, "--csv");
    assert!(ok, "{out}{err}");
    assert!(out.contains("2 written, 0 unchanged, 0 rejected"), "{out}");

    let jsonl = dir.path().join("more.jsonl");
    std::fs::write(
        &jsonl,
        "{\"book_id\": 30001, \"title\": \"Book from JSON\", \"authors\": \"Anon\", \"average_rating\": 4.5, \"original_publication_year\": 2021}\n\
         not json\n",
    )
    .unwrap();
    let (ok, out, err) = import(dir.path(), &jsonl, "--jsonl");
    assert!(!ok);
    assert!(
        out.contains("0 written, 0 unchanged, 1 rejected, 1 held back"),
        "{out}"
    );
    assert!(err.contains("line 2: not a JSON object"), "{err}");
    std::fs::write(
        &jsonl,
        "{\"book_id\": 30001, \"title\": \"Book from JSON\", \"authors\": \"Anon\", \"average_rating\": 4.5, \"original_publication_year\": 2021}\n",
    )
    .unwrap();
    let (ok, out, err) = import(dir.path(), &jsonl, "--jsonl");
    assert!(ok, "{out}{err}");
    assert!(out.contains("1 written"), "{out}");

    let app = crate::helpers::spawn_app_with(crate::helpers::Options {
        database_url: Some(format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("reelgraph.db").display()
        )),
        ..Default::default()
    })
    .await;
    assert_eq!(app.count_rows("recommendations").await, 10_002);
    let top = app
        .gql(
            "{ recommendations(kind: BOOK, first: 2) { items { title subtitle rating releaseDate imageUrl source sourceRef } hasMore } }",
            json!({}),
        )
        .await;
    assert_eq!(
        top.data()["recommendations"]["items"][0],
        json!({ "title": "The Hunger Games (revised)", "subtitle": "Suzanne Collins", "rating": 4.34,
            "releaseDate": "2008", "source": "goodbooks", "sourceRef": "1",
            "imageUrl": "https://images.gr-assets.com/books/1447303603m/2767052.jpg" })
    );
    let iliad = app
        .scalar_text("SELECT release_date AS s FROM recommendations WHERE source_ref = '20001'")
        .await;
    assert_eq!(iliad, "-0750");

    // An admin's item cannot take an imported item's key.
    let root = admin(&app, "root").await;
    let clash = app
        .gql_as(
            Some(&root.access),
            CREATE,
            json!({ "i": { "kind": "BOOK", "title": "Copy", "source": "goodbooks", "sourceRef": "1" } }),
        )
        .await;
    assert_eq!(clash.code(), "CONFLICT");
}
