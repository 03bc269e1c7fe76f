//! `recommendedVideos`, through the real server: two planted tastes, a new viewer who
//! picks one of them, and what must never be recommended.

use std::collections::HashSet;

use serde_json::{json, Value};

use crate::helpers::{TestApp, User};
use crate::trending::{favorite, first_page_until, published, spawn, view};

const RECOMMENDED: &str = "query($n: Int, $a: String) { recommendedVideos(first: $n, after: $a) { edges { cursor score reason node { id title } } nodes { title } pageInfo { hasNextPage endCursor } } }";

async fn recommended(app: &TestApp, who: Option<&User>, first: i64, after: Option<&str>) -> Value {
    let r = app
        .gql_as(
            who.map(|u| u.access.as_str()),
            RECOMMENDED,
            json!({ "n": first, "a": after }),
        )
        .await;
    r.data()["recommendedVideos"].clone()
}

fn edges(page: &Value) -> Vec<(String, String)> {
    page["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["title"].as_str().expect("title").to_owned(),
                e["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect()
}

/// Every page of a fresh list, `first` at a time.
async fn whole_list(app: &TestApp, who: &User, first: i64) -> Vec<(String, String)> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = recommended(app, Some(who), first, after.as_deref()).await;
        all.extend(edges(&page));
        if page["pageInfo"]["hasNextPage"] != true {
            return all;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

#[tokio::test]
async fn for_you_learns_from_favorites_and_views_and_keeps_its_rules() {
    let app = spawn().await;
    let maker = app.register("maker").await;
    let mut cats = Vec::new();
    let mut cars = Vec::new();
    for i in 1..=6 {
        cats.push(
            published(
                &app,
                &maker,
                &format!("cat {i}"),
                json!({ "tags": ["cats"] }),
            )
            .await,
        );
        cars.push(
            published(
                &app,
                &maker,
                &format!("car {i}"),
                json!({ "tags": ["cars"] }),
            )
            .await,
        );
    }
    for n in 0..4 {
        let cat_fan = app.register(&format!("catfan{n}")).await;
        let car_fan = app.register(&format!("carfan{n}")).await;
        for id in &cats {
            favorite(&app, &cat_fan, id).await;
        }
        for id in &cars {
            favorite(&app, &car_fan, id).await;
        }
    }
    first_page_until(&app, 20, |t| t.len() == 12).await;

    // Anonymous viewers and a new user get trending.
    let anonymous = recommended(&app, None, 5, None).await;
    assert_eq!(edges(&anonymous).len(), 5);
    assert!(edges(&anonymous).iter().all(|(_, r)| r == "trending"));
    let ann = app.register("ann").await;
    let fresh = recommended(&app, Some(&ann), 20, None).await;
    assert_eq!(edges(&fresh).len(), 12);
    assert!(
        edges(&fresh).iter().all(|(_, r)| r == "trending"),
        "{fresh}"
    );

    // Two cat favorites: the other cats come first, for that reason; never the two.
    favorite(&app, &ann, &cats[0]).await;
    favorite(&app, &ann, &cats[1]).await;
    let page = edges(&recommended(&app, Some(&ann), 4, None).await);
    let top: HashSet<&str> = page.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(
        top,
        HashSet::from(["cat 3", "cat 4", "cat 5", "cat 6"]),
        "{page:?}"
    );
    assert!(
        page.iter()
            .all(|(_, r)| r == "because you liked cat 1" || r == "because you liked cat 2"),
        "{page:?}"
    );
    let list = whole_list(&app, &ann, 3).await;
    let titles: Vec<&str> = list.iter().map(|(t, _)| t.as_str()).collect();
    let unique: HashSet<&str> = titles.iter().copied().collect();
    assert_eq!(titles.len(), unique.len(), "no repeats: {titles:?}");
    assert_eq!(
        titles.len(),
        10,
        "the 12 videos but the two favorited: {titles:?}"
    );
    assert!(!unique.contains("cat 1") && !unique.contains("cat 2"));

    // A view changes the next first page at once: cars follow, and the car watched is
    // not recommended again.
    view(&app, &ann, &cars[0]).await;
    let list = whole_list(&app, &ann, 20).await;
    assert_eq!(list.len(), 9, "{list:?}");
    assert!(
        list[..4].iter().all(|(t, _)| t.starts_with("cat ")),
        "{list:?}"
    );
    assert!(
        list[4..]
            .iter()
            .all(|(t, r)| t.starts_with("car ") && r == "because you watched car 1"),
        "{list:?}"
    );

    // With cat 2 taken back, cat 1 is the favorite that explains the cats.
    app.gql_as(
        Some(&ann.access),
        "mutation($id: ID!) { removeFavorite(kind: VIDEO, targetId: $id) }",
        json!({ "id": cats[1] }),
    )
    .await
    .data();
    let list = whole_list(&app, &ann, 20).await;
    assert!(
        list.iter()
            .any(|(t, r)| t == "cat 2" && r == "because you liked cat 1"),
        "{list:?}"
    );

    // Hidden since: an unlisted cat is no longer recommended, not even from a list
    // stored before; a seed made private is no longer named.
    let older = recommended(&app, Some(&ann), 1, None).await;
    let cursor = older["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    for (id, visibility) in [(&cats[2], "UNLISTED"), (&cats[0], "PRIVATE")] {
        app.gql_as(
            Some(&maker.access),
            "mutation($id: ID!, $v: Visibility!) { updateVideo(id: $id, input: { visibility: $v }) { id } }",
            json!({ "id": id, "v": visibility }),
        )
        .await
        .data();
    }
    let rest = recommended(&app, Some(&ann), 20, Some(&cursor)).await;
    assert!(edges(&rest).iter().all(|(t, _)| t != "cat 3"), "{rest}");
    let list = whole_list(&app, &ann, 20).await;
    assert!(list.iter().all(|(t, _)| t != "cat 3"), "{list:?}");
    assert!(list.iter().all(|(_, r)| !r.contains("cat 1")), "{list:?}");
    assert!(
        list.iter().any(|(_, r)| r == "because of videos you liked"),
        "{list:?}"
    );

    // Admins may list private videos, but are not recommended them: not in a new list,
    // and not on later pages of a list made before one went private.
    let root = app.register("root").await;
    let root = app.promote(&root, "ADMIN").await;
    favorite(&app, &root, &cats[3]).await;
    let first = recommended(&app, Some(&root), 1, None).await;
    let root_cursor = first["pageInfo"]["endCursor"]
        .as_str()
        .expect("cursor")
        .to_owned();
    app.gql_as(
        Some(&maker.access),
        "mutation($id: ID!) { updateVideo(id: $id, input: { visibility: PRIVATE }) { id } }",
        json!({ "id": cats[4] }),
    )
    .await
    .data();
    let rest = recommended(&app, Some(&root), 20, Some(&root_cursor)).await;
    assert!(edges(&rest).iter().all(|(t, _)| t != "cat 5"), "{rest}");
    let list = whole_list(&app, &root, 20).await;
    for hidden in ["cat 1", "cat 3", "cat 5"] {
        assert!(list.iter().all(|(t, _)| t != hidden), "{hidden}: {list:?}");
    }

    // A creator is never recommended their own videos; cursors of another list are refused.
    let own = recommended(&app, Some(&maker), 20, None).await;
    assert_eq!(edges(&own), Vec::<(String, String)>::new());
    let foreign = app
        .gql_as(
            Some(&maker.access),
            RECOMMENDED,
            json!({ "n": 5, "a": cursor }),
        )
        .await;
    assert_eq!(foreign.code(), "BAD_USER_INPUT");
}
