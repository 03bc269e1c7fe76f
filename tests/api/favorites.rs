use serde_json::json;

use crate::helpers::spawn_app;

const ADD: &str = "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt target { ... on Video { id likeCount viewerHasFavorited } } } }";
const REMOVE: &str = "mutation($id: ID!) { removeFavorite(kind: VIDEO, targetId: $id) }";
const LIKES: &str = "query($id: ID!) { video(id: $id) { likeCount viewerHasFavorited } }";

#[tokio::test]
async fn favoriting_twice_keeps_one_favorite_and_count_one() {
    let app = spawn_app().await;
    let lee = app.register("lee").await;
    let id = app.create_video(&lee, "fav me", json!({})).await;
    app.publish(&lee, &id).await;

    for _ in 0..2 {
        let r = app
            .gql_as(Some(&lee.access), ADD, json!({ "id": id }))
            .await;
        assert_eq!(r.data()["addFavorite"]["target"]["likeCount"], 1);
        assert_eq!(
            r.data()["addFavorite"]["target"]["viewerHasFavorited"],
            true
        );
    }
    assert_eq!(app.count_rows("favorites").await, 1);
    let stats = app
        .gql_as(
            Some(&lee.access),
            "{ favoriteStats { total byKind { kind count } } }",
            json!({}),
        )
        .await;
    assert_eq!(stats.data()["favoriteStats"]["total"], 1);
    assert_eq!(
        stats.data()["favoriteStats"]["byKind"][0],
        json!({ "kind": "VIDEO", "count": 1 })
    );

    assert_eq!(
        app.gql_as(Some(&lee.access), REMOVE, json!({ "id": id }))
            .await
            .data()["removeFavorite"],
        true
    );
    assert_eq!(
        app.gql_as(Some(&lee.access), REMOVE, json!({ "id": id }))
            .await
            .data()["removeFavorite"],
        false
    );
    let after = app
        .gql_as(Some(&lee.access), LIKES, json!({ "id": id }))
        .await;
    assert_eq!(
        after.data()["video"],
        json!({ "likeCount": 0, "viewerHasFavorited": false })
    );
}

#[tokio::test]
async fn like_count_stays_exact_under_concurrent_adds_and_removes() {
    let app = spawn_app().await;
    let owner = app.register("popular").await;
    let id = app.create_video(&owner, "viral", json!({})).await;
    app.publish(&owner, &id).await;
    let mut fans = Vec::new();
    for i in 0..12 {
        fans.push(app.register(&format!("fan{i}")).await);
    }
    // Every fan adds twice and the first half also removes, all at once.
    let mut ops = Vec::new();
    for (i, fan) in fans.iter().enumerate() {
        ops.push(app.gql_as(Some(&fan.access), ADD, json!({ "id": id })));
        ops.push(app.gql_as(Some(&fan.access), ADD, json!({ "id": id })));
        if i < 6 {
            ops.push(app.gql_as(Some(&fan.access), REMOVE, json!({ "id": id })));
        }
    }
    for r in futures_util::future::join_all(ops).await {
        assert!(r.body.get("errors").is_none(), "{}", r.body);
    }
    let rows = app.count_rows("favorites").await;
    let likes = app.gql(LIKES, json!({ "id": id })).await.data()["video"]["likeCount"]
        .as_i64()
        .unwrap();
    assert_eq!(likes, rows, "likeCount equals the favorites that exist");
    assert!((6..=12).contains(&rows));
}

#[tokio::test]
async fn my_favorites_pages_newest_first_and_hides_targets_that_disappear() {
    let app = spawn_app().await;
    let mia = app.register("mia").await;
    let maker = app.register("studio").await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let id = app
            .create_video(&maker, &format!("clip {i}"), json!({}))
            .await;
        app.publish(&maker, &id).await;
        app.gql_as(Some(&mia.access), ADD, json!({ "id": id }))
            .await
            .data();
        ids.push(id);
    }
    let q = "query($a: String) { myFavorites(first: 2, after: $a) { totalCount edges { cursor node { target { ... on Video { title } } } } pageInfo { hasNextPage endCursor } } }";
    let mut titles = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let r = app
            .gql_as(Some(&mia.access), q, json!({ "a": after }))
            .await;
        let c = &r.data()["myFavorites"];
        assert_eq!(c["totalCount"], 5);
        titles.extend(
            c["edges"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["node"]["target"]["title"].as_str().unwrap().to_owned()),
        );
        if c["pageInfo"]["hasNextPage"] == false {
            break;
        }
        after = c["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        titles,
        vec!["clip 4", "clip 3", "clip 2", "clip 1", "clip 0"]
    );

    app.gql_as(
        Some(&maker.access),
        "mutation($id: ID!) { deleteVideo(id: $id) }",
        json!({ "id": ids[0] }),
    )
    .await
    .data();
    app.gql_as(
        Some(&maker.access),
        "mutation($id: ID!) { unpublishVideo(id: $id) { id } }",
        json!({ "id": ids[1] }),
    )
    .await
    .data();
    let r = app.gql_as(Some(&mia.access), q, json!({ "a": null })).await;
    assert_eq!(r.data()["myFavorites"]["totalCount"], 3);

    let anonymous = app.gql("{ myFavorites { totalCount } }", json!({})).await;
    assert_eq!(anonymous.code(), "UNAUTHENTICATED");
    let hidden = app
        .gql_as(Some(&mia.access), ADD, json!({ "id": ids[1] }))
        .await;
    assert_eq!(
        hidden.code(),
        "NOT_FOUND",
        "cannot favorite what you cannot see"
    );
}
