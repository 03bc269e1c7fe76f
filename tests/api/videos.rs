use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp, User};

const VIDEO: &str = "query($id: ID!) { video(id: $id) { id title visibility publishedAt } }";
const LIST: &str = "query($f: VideoFilter, $s: VideoSort, $n: Int, $a: String) {
  videos(filter: $f, sort: $s, first: $n, after: $a) {
    totalCount edges { cursor node { id title } } pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}";

async fn visible(app: &TestApp, viewer: Option<&User>, id: &str) -> bool {
    let r = app
        .gql_as(
            viewer.map(|u| u.access.as_str()),
            VIDEO,
            json!({ "id": id }),
        )
        .await;
    !r.data()["video"].is_null()
}

async fn listed(app: &TestApp, viewer: Option<&User>, filter: Value) -> Vec<String> {
    let r = app
        .gql_as(
            viewer.map(|u| u.access.as_str()),
            LIST,
            json!({ "f": filter, "n": 100 }),
        )
        .await;
    titles(&r)
}

/// The titles of a `videos` connection, in order.
fn titles(r: &crate::helpers::Gql) -> Vec<String> {
    r.data()["videos"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["title"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn create_update_publish_and_delete_a_video_with_versions() {
    let app = spawn_app().await;
    let kim = app.register("kim").await;
    let created = app
        .gql_as(
            Some(&kim.access),
            "mutation($i: CreateVideoInput!) { createVideo(input: $i) { id title description tags categories status visibility publishedAt seoTitle seoKeywords owner { username } likeCount viewCount viewerHasFavorited } }",
            json!({ "i": { "title": "  Ｒｕｓｔ 入門  ", "description": "第一回", "tags": ["rust", "Rust", "编程"], "categories": ["education"] } }),
        )
        .await;
    let v = &created.data()["createVideo"];
    assert_eq!(v["title"], "Rust 入門", "NFKC and trimmed");
    assert_eq!(
        v["tags"],
        json!(["rust", "编程"]),
        "duplicates dropped case-insensitively"
    );
    assert_eq!(v["status"], "DRAFT");
    assert_eq!(v["visibility"], "PUBLIC");
    assert!(v["publishedAt"].is_null());
    assert_eq!(v["seoTitle"], "Rust 入門");
    assert_eq!(v["seoKeywords"], json!(["rust", "编程"]));
    assert_eq!(v["owner"]["username"], "kim");
    let id = v["id"].as_str().unwrap().to_owned();

    let updated = app
        .gql_as(
            Some(&kim.access),
            "mutation($id: ID!) { updateVideo(id: $id, input: {title: \"Rust 入門 (改)\", description: null}) { title description versions { version changes } } }",
            json!({ "id": id }),
        )
        .await;
    let u = &updated.data()["updateVideo"];
    assert_eq!(u["title"], "Rust 入門 (改)");
    assert!(u["description"].is_null());
    assert_eq!(
        u["versions"],
        json!([{ "version": 1, "changes": "created" }, { "version": 2, "changes": "title, description" }])
    );

    app.publish(&kim, &id).await;
    assert!(visible(&app, None, &id).await);
    let unpublished = app
        .gql_as(
            Some(&kim.access),
            "mutation($id: ID!) { unpublishVideo(id: $id) { publishedAt } }",
            json!({ "id": id }),
        )
        .await;
    assert!(unpublished.data()["unpublishVideo"]["publishedAt"].is_null());
    assert!(!visible(&app, None, &id).await);

    let deleted = app
        .gql_as(
            Some(&kim.access),
            "mutation($id: ID!) { deleteVideo(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted.data()["deleteVideo"], true);
    assert!(
        !visible(&app, Some(&kim), &id).await,
        "deleted videos are visible to nobody"
    );
    assert_eq!(
        app.count_rows("videos").await,
        1,
        "soft delete keeps the row"
    );
    let again = app
        .gql_as(
            Some(&kim.access),
            "mutation($id: ID!) { deleteVideo(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(again.code(), "NOT_FOUND");
}

#[tokio::test]
async fn visibility_rules_hold_for_fetching_and_listing() {
    let app = spawn_app().await;
    let owner = app.register("owner").await;
    let other = app.register("other").await;
    let admin = app.promote(&app.register("boss").await, "ADMIN").await;

    let draft = app.create_video(&owner, "draft", json!({})).await;
    let public = app.create_video(&owner, "public", json!({})).await;
    let unlisted = app
        .create_video(&owner, "unlisted", json!({ "visibility": "UNLISTED" }))
        .await;
    let private = app
        .create_video(&owner, "private", json!({ "visibility": "PRIVATE" }))
        .await;
    for id in [&public, &unlisted, &private] {
        app.publish(&owner, id).await;
    }

    for (id, anon, stranger) in [
        (&draft, false, false),
        (&public, true, true),
        (&unlisted, true, true),
        (&private, false, false),
    ] {
        assert_eq!(visible(&app, None, id).await, anon);
        assert_eq!(visible(&app, Some(&other), id).await, stranger);
        assert!(visible(&app, Some(&owner), id).await);
        assert!(visible(&app, Some(&admin), id).await);
    }

    assert_eq!(listed(&app, None, json!(null)).await, vec!["public"]);
    assert_eq!(
        listed(&app, Some(&other), json!(null)).await,
        vec!["public"]
    );
    assert_eq!(
        listed(&app, Some(&owner), json!(null)).await,
        vec!["public"],
        "the feed is public videos only"
    );
    let mut own = listed(&app, Some(&owner), json!({ "ownerId": owner.id })).await;
    own.sort();
    assert_eq!(
        own,
        vec!["draft", "private", "public", "unlisted"],
        "owners list all their own"
    );
    assert_eq!(
        listed(&app, Some(&other), json!({ "ownerId": owner.id })).await,
        vec!["public"]
    );
    assert_eq!(listed(&app, Some(&admin), json!(null)).await.len(), 4);

    let user_videos = app
        .gql(
            "query($n: String!) { user(username: $n) { videos { totalCount nodes { title } } } }",
            json!({ "n": "owner" }),
        )
        .await;
    assert_eq!(user_videos.data()["user"]["videos"]["totalCount"], 1);
}

#[tokio::test]
async fn only_the_owner_or_an_admin_changes_a_video() {
    let app = spawn_app().await;
    let owner = app.register("maker").await;
    let other = app.register("stranger").await;
    let id = app.create_video(&owner, "mine", json!({})).await;
    app.publish(&owner, &id).await;

    let q = "mutation($id: ID!) { updateVideo(id: $id, input: {title: \"hijacked\"}) { title } }";
    assert_eq!(
        app.gql_as(Some(&other.access), q, json!({ "id": id }))
            .await
            .code(),
        "FORBIDDEN"
    );
    assert_eq!(
        app.gql(q, json!({ "id": id })).await.code(),
        "UNAUTHENTICATED"
    );
    for m in [
        "publishVideo(id: $id) { id }",
        "unpublishVideo(id: $id) { id }",
        "deleteVideo(id: $id)",
    ] {
        let r = app
            .gql_as(
                Some(&other.access),
                &format!("mutation($id: ID!) {{ {m} }}"),
                json!({ "id": id }),
            )
            .await;
        assert_eq!(r.code(), "FORBIDDEN", "{m}");
    }

    let viewer = app.promote(&other, "USER").await;
    let create = app
        .gql_as(
            Some(&viewer.access),
            "mutation { createVideo(input: {title: \"x\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(create.code(), "FORBIDDEN");

    let admin = app.promote(&other, "ADMIN").await;
    let by_admin = app
        .gql_as(Some(&admin.access), q, json!({ "id": id }))
        .await;
    assert_eq!(by_admin.data()["updateVideo"]["title"], "hijacked");
    assert_eq!(app.count_rows("videos").await, 1);
}

#[tokio::test]
async fn filters_and_sorts_list_the_right_videos_in_order() {
    let app = spawn_app().await;
    let a = app.register("author").await;
    let fan = app.register("fan").await;
    let mut ids = Vec::new();
    for (title, tags, cats) in [
        ("one", vec!["cat"], vec!["pets"]),
        ("two", vec!["Dog"], vec!["pets"]),
        ("three", vec!["cat", "dog"], vec!["music"]),
    ] {
        let id = app
            .create_video(&a, title, json!({ "tags": tags, "categories": cats }))
            .await;
        app.publish(&a, &id).await;
        ids.push(id);
    }
    assert_eq!(
        listed(&app, None, json!({ "tag": "DOG" })).await,
        vec!["three", "two"]
    );
    assert_eq!(
        listed(&app, None, json!({ "category": "pets" })).await,
        vec!["two", "one"]
    );
    assert_eq!(
        listed(&app, None, json!({ "ownerId": a.id, "status": "DRAFT" }))
            .await
            .len(),
        3
    );

    app.gql_as(
        Some(&fan.access),
        "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
        json!({ "id": ids[1] }),
    )
    .await
    .data();
    app.gql_as(
        Some(&fan.access),
        "mutation($id: ID!) { recordView(videoId: $id) { viewCount } }",
        json!({ "id": ids[0] }),
    )
    .await
    .data();
    assert_eq!(
        titles(&app.gql(LIST, json!({ "s": "OLDEST" })).await),
        vec!["one", "two", "three"]
    );
    assert_eq!(
        titles(&app.gql(LIST, json!({ "s": "MOST_LIKED" })).await)[0],
        "two"
    );
    assert_eq!(
        titles(&app.gql(LIST, json!({ "s": "MOST_VIEWED" })).await)[0],
        "one"
    );
    // TRENDING reads rankings built in the background: tests/api/trending.rs.
    let trending = app.gql(LIST, json!({ "s": "TRENDING" })).await;
    assert!(trending.data()["videos"]["edges"].is_array());
}

#[tokio::test]
async fn paging_has_no_gaps_or_duplicates_while_rows_are_inserted() {
    let app = spawn_app().await;
    let p = app.register("pager").await;
    for i in 0..25 {
        let id = app.create_video(&p, &format!("v{i:02}"), json!({})).await;
        app.publish(&p, &id).await;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    let mut pages = 0;
    loop {
        let r = app.gql(LIST, json!({ "n": 7, "a": after })).await;
        let conn = &r.data()["videos"];
        assert_eq!(
            conn["totalCount"].as_i64().unwrap(),
            25 + pages,
            "totalCount counts new rows too"
        );
        seen.extend(
            conn["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["title"].as_str().unwrap().to_owned()),
        );
        assert_eq!(conn["pageInfo"]["hasPreviousPage"], after.is_some());
        // A newer video lands between page requests; keyset paging must not shift.
        let id = app
            .create_video(&p, &format!("new{pages}"), json!({}))
            .await;
        app.publish(&p, &id).await;
        pages += 1;
        if conn["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let expected: Vec<String> = (0..25).rev().map(|i| format!("v{i:02}")).collect();
    assert_eq!(seen, expected);
    assert_eq!(pages, 4);

    let clamped = app.gql(LIST, json!({ "n": 1000 })).await;
    assert_eq!(
        clamped.data()["videos"]["edges"].as_array().unwrap().len(),
        29
    );
    let at_least_one = app.gql(LIST, json!({ "n": -5 })).await;
    assert_eq!(
        at_least_one.data()["videos"]["edges"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn record_view_counts_once_per_viewer_per_window() {
    let app = spawn_app().await;
    let v = app.register("viewer").await;
    let w = app.register("watcher").await;
    let id = app.create_video(&v, "watch me", json!({})).await;
    app.publish(&v, &id).await;
    let q = "mutation($id: ID!) { recordView(videoId: $id) { videoId viewCount likeCount } }";
    assert_eq!(
        app.gql_as(Some(&v.access), q, json!({ "id": id }))
            .await
            .data()["recordView"]["viewCount"],
        1
    );
    assert_eq!(
        app.gql_as(Some(&v.access), q, json!({ "id": id }))
            .await
            .data()["recordView"]["viewCount"],
        1
    );
    assert_eq!(
        app.gql_as(Some(&w.access), q, json!({ "id": id }))
            .await
            .data()["recordView"]["viewCount"],
        2
    );
    assert_eq!(
        app.gql(q, json!({ "id": id })).await.data()["recordView"]["viewCount"],
        3,
        "anonymous viewers count by address"
    );
    assert_eq!(
        app.gql(q, json!({ "id": id })).await.data()["recordView"]["viewCount"],
        3
    );

    let draft = app.create_video(&v, "hidden", json!({})).await;
    assert_eq!(
        app.gql_as(Some(&w.access), q, json!({ "id": draft }))
            .await
            .code(),
        "NOT_FOUND"
    );
}

#[tokio::test]
async fn a_feed_page_costs_the_same_few_statements_for_2_or_20_videos() {
    let app = spawn_app().await;
    let mut users = Vec::new();
    for i in 0..4 {
        users.push(app.register(&format!("creator{i}")).await);
    }
    for i in 0..20 {
        let owner = &users[i % 4];
        let id = app
            .create_video(owner, &format!("feed {i}"), json!({}))
            .await;
        app.publish(owner, &id).await;
        if i % 3 == 0 {
            app.gql_as(
                Some(&users[0].access),
                "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
                json!({ "id": id }),
            )
            .await
            .data();
        }
    }
    let feed = "query($n: Int) { videos(first: $n) { totalCount edges { node { id title likeCount viewerHasFavorited owner { id username } } } } }";
    let mut costs = Vec::new();
    for n in [2, 20] {
        let before = app.db_statements().await;
        let r = app
            .gql_as(Some(&users[0].access), feed, json!({ "n": n }))
            .await;
        assert_eq!(r.data()["videos"]["edges"].as_array().unwrap().len(), n);
        costs.push(app.db_statements().await - before);
    }
    assert_eq!(
        costs[0], costs[1],
        "statements for 2 vs 20 videos: {costs:?}"
    );
    assert!(costs[1] <= 4, "a page costs {} statements", costs[1]);

    // Version lists and favorite targets are batched too.
    let versions = "query($n: Int) { videos(first: $n) { nodes { versions { version } } } }";
    let favorites = "query($n: Int) { myFavorites(first: $n) { edges { node { target { ... on Video { title owner { username } } } } } } }";
    for (query, size) in [(versions, [2, 20]), (favorites, [2, 7])] {
        let mut costs = Vec::new();
        for n in size {
            let before = app.db_statements().await;
            app.gql_as(Some(&users[0].access), query, json!({ "n": n }))
                .await
                .data();
            costs.push(app.db_statements().await - before);
        }
        assert_eq!(costs[0], costs[1], "{query}: {costs:?}");
    }
}

#[tokio::test]
async fn every_sort_pages_through_ties_without_gaps_or_duplicates() {
    let app = spawn_app().await;
    let maker = app.register("sorter").await;
    let fans = [app.register("fan_a").await, app.register("fan_b").await];
    for i in 0..13 {
        let id = app
            .create_video(&maker, &format!("s{i:02}"), json!({}))
            .await;
        app.publish(&maker, &id).await;
        // Like and view counts with many ties, so the id tie-breaker is exercised.
        for fan in fans.iter().take(i % 3) {
            app.gql_as(
                Some(&fan.access),
                "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
                json!({ "id": id }),
            )
            .await
            .data();
        }
        if i % 2 == 0 {
            app.gql_as(
                Some(&fans[0].access),
                "mutation($id: ID!) { recordView(videoId: $id) { viewCount } }",
                json!({ "id": id }),
            )
            .await
            .data();
        }
    }
    for sort in ["NEWEST", "OLDEST", "MOST_LIKED", "MOST_VIEWED"] {
        let all = titles(&app.gql(LIST, json!({ "s": sort, "n": 100 })).await);
        assert_eq!(all.len(), 13);
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let r = app
                .gql(LIST, json!({ "s": sort, "n": 4, "a": after }))
                .await;
            paged.extend(titles(&r));
            let info = &r.data()["videos"]["pageInfo"];
            if info["hasNextPage"] == false {
                break;
            }
            after = info["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(paged, all, "paging {sort}");
    }
}

#[tokio::test]
async fn labels_that_grow_when_case_folded_are_stored_and_found() {
    let app = spawn_app().await;
    // 'İ' lowercases to two characters: a 40-character tag becomes 80 in the lookup table.
    let user = app.register(&"İ".repeat(32)).await;
    let tag = "İ".repeat(40);
    let id = app
        .create_video(
            &user,
            "dotted",
            json!({ "tags": [tag], "categories": [tag] }),
        )
        .await;
    app.publish(&user, &id).await;
    assert_eq!(
        listed(&app, None, json!({ "tag": tag })).await,
        vec!["dotted"]
    );
    assert_eq!(
        listed(&app, None, json!({ "category": tag })).await,
        vec!["dotted"]
    );
}
