//! `trendingVideos` and `videos(sort: TRENDING)`, through the real server, with rankings
//! rebuilt every second.

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Options, TestApp, User};

const TRENDING: &str = "query($n: Int, $a: String) { trendingVideos(first: $n, after: $a) { totalCount nodes { title } pageInfo { hasNextPage endCursor } } }";
const LIST: &str = "query($f: VideoFilter, $n: Int, $a: String) { videos(filter: $f, sort: TRENDING, first: $n, after: $a) { totalCount nodes { title } pageInfo { hasNextPage endCursor } } }";

pub(crate) async fn spawn() -> TestApp {
    spawn_app_with(Options {
        configure: Some(Box::new(|c| c.jobs.trending_seconds = 1)),
        ..Options::default()
    })
    .await
}

pub(crate) fn titles(connection: &Value) -> Vec<String> {
    connection["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["title"].as_str().expect("title").to_owned())
        .collect()
}

async fn trending(app: &TestApp, who: Option<&User>, first: i64, after: Option<&str>) -> Value {
    let r = app
        .gql_as(
            who.map(|u| u.access.as_str()),
            TRENDING,
            json!({ "n": first, "a": after }),
        )
        .await;
    r.data()["trendingVideos"].clone()
}

/// Polls the first page until `done` holds for its titles (rankings are rebuilt every
/// second in these tests); panics with the last page after 20 s.
pub(crate) async fn first_page_until(
    app: &TestApp,
    first: i64,
    done: impl Fn(&[String]) -> bool,
) -> Value {
    let mut page = Value::Null;
    for _ in 0..200 {
        page = trending(app, None, first, None).await;
        if done(&titles(&page)) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("trending never reached the expected order: {page}");
}

pub(crate) async fn published(app: &TestApp, owner: &User, title: &str, extra: Value) -> String {
    let id = app.create_video(owner, title, extra).await;
    app.publish(owner, &id).await;
    id
}

pub(crate) async fn favorite(app: &TestApp, fan: &User, id: &str) {
    app.gql_as(
        Some(&fan.access),
        "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
        json!({ "id": id }),
    )
    .await
    .data();
}

pub(crate) async fn view(app: &TestApp, fan: &User, id: &str) {
    app.gql_as(
        Some(&fan.access),
        "mutation($id: ID!) { recordView(videoId: $id) { viewCount } }",
        json!({ "id": id }),
    )
    .await
    .data();
}

#[tokio::test]
async fn recent_engagement_ranks_first_and_pages_stay_in_their_ranking() {
    let app = spawn().await;
    let maker = app.register("maker").await;
    let mut ids = Vec::new();
    for title in ["calm", "bright", "dawn", "echo", "fable"] {
        ids.push(published(&app, &maker, title, json!({})).await);
    }
    let fans = [
        app.register("fan1").await,
        app.register("fan2").await,
        app.register("fan3").await,
    ];
    for fan in &fans {
        favorite(&app, fan, &ids[1]).await; // bright: three favorites
    }
    favorite(&app, &fans[0], &ids[0]).await; // calm: one favorite
    view(&app, &fans[0], &ids[2]).await; // dawn: two counted views
    view(&app, &fans[1], &ids[2]).await;
    // A second favorite by the same fan changes nothing.
    favorite(&app, &fans[0], &ids[0]).await;

    let page = first_page_until(&app, 5, |t| {
        t.len() == 5 && t[..3] == ["bright", "calm", "dawn"]
    })
    .await;
    assert_eq!(page["totalCount"], 5);

    // Page 1 of this ranking, then the scores move: echo draws more than bright had.
    let one = trending(&app, None, 2, None).await;
    let one_titles = titles(&one);
    assert_eq!(one_titles, ["bright", "calm"]);
    let cursor = one["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    for fan in &fans {
        favorite(&app, fan, &ids[3]).await;
        view(&app, fan, &ids[3]).await;
    }
    first_page_until(&app, 1, |t| t == ["echo"]).await;

    // The old cursor still pages its own ranking: the rest, once each, in its order.
    let two = trending(&app, None, 2, Some(&cursor)).await;
    assert_eq!(titles(&two)[0], "dawn");
    assert_eq!(two["pageInfo"]["hasNextPage"], true);
    let cursor = two["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let three = trending(&app, None, 2, Some(&cursor)).await;
    assert_eq!(three["pageInfo"]["hasNextPage"], false);
    let seen: Vec<String> = [one_titles, titles(&two), titles(&three)].concat();
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(unique.len(), 5, "{seen:?}");

    // Taking favorites back lowers a score: without them bright falls below calm.
    for fan in &fans {
        app.gql_as(
            Some(&fan.access),
            "mutation($id: ID!) { removeFavorite(kind: VIDEO, targetId: $id) }",
            json!({ "id": ids[1] }),
        )
        .await
        .data();
    }
    let page = first_page_until(&app, 5, |t| {
        let at = |name: &str| t.iter().position(|x| x == name);
        at("calm") < at("bright")
    })
    .await;
    assert_eq!(titles(&page)[0], "echo");
}

#[tokio::test]
async fn only_listed_public_videos_trend_and_foreign_cursors_are_refused() {
    let app = spawn().await;
    let maker = app.register("maker").await;
    let fan = app.register("fan").await;
    let open = published(&app, &maker, "open", json!({ "categories": ["music"] })).await;
    let other = published(&app, &maker, "other", json!({ "categories": ["news"] })).await;
    let hidden = published(&app, &maker, "hidden", json!({ "visibility": "UNLISTED" })).await;
    let private = app
        .create_video(&maker, "mine", json!({ "visibility": "PRIVATE" }))
        .await;
    app.publish(&maker, &private).await;
    let draft = app.create_video(&maker, "draft", json!({})).await;
    // Favorites and views of what is not public (its owner's, or by link) do not make it trend.
    for id in [&hidden, &private, &draft] {
        favorite(&app, &maker, id).await;
        view(&app, &maker, id).await;
    }
    favorite(&app, &fan, &hidden).await;
    favorite(&app, &fan, &open).await;
    view(&app, &fan, &other).await;

    first_page_until(&app, 10, |t| t == ["open", "other"]).await;
    // Signed in as their owner changes nothing: trending is the public listing.
    let own = trending(&app, Some(&maker), 10, None).await;
    assert_eq!(titles(&own), ["open", "other"]);

    let music = app
        .gql(LIST, json!({ "f": { "category": "music" }, "n": 10 }))
        .await;
    assert_eq!(titles(&music.data()["videos"]), ["open"]);
    assert_eq!(music.data()["videos"]["totalCount"], 1);

    // A video deleted since the ranking was built leaves it at once.
    app.gql_as(
        Some(&maker.access),
        "mutation($id: ID!) { deleteVideo(id: $id) }",
        json!({ "id": other }),
    )
    .await
    .data();
    let after_delete = trending(&app, None, 10, None).await;
    assert_eq!(titles(&after_delete), ["open"]);
    assert_eq!(after_delete["totalCount"], 1);

    // Cursors of another order, forged ones and ones of a ranking long gone.
    let newest = app
        .gql(
            "{ videos(sort: NEWEST, first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
    let foreign = newest.data()["videos"]["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    let gone = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("v1|videos:TRENDING|12:1|{open}"));
    for cursor in [foreign.as_str(), "bm9wZQ", gone.as_str()] {
        let r = app.gql(TRENDING, json!({ "n": 5, "a": cursor })).await;
        assert_eq!(r.code(), "BAD_USER_INPUT", "{cursor}");
    }
    let r = app.gql(TRENDING, json!({ "n": 5, "a": gone })).await;
    let message = r.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("expired"), "{message}");
}
