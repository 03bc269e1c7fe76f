//! The named operations in `graphql/operations/` are the ones the README's first session,
//! clients and benchmarks use; this runs them, in that order, against the real server.

use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

fn document(file: &str) -> String {
    let path = format!(
        "{}/graphql/operations/{file}.graphql",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn run(
    app: &TestApp,
    token: Option<&str>,
    file: &str,
    operation: &str,
    variables: Value,
) -> Value {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(
            &json!({ "query": document(file), "operationName": operation, "variables": variables }),
        );
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{file}/{operation}");
    let body: Value = resp.json().await.unwrap();
    assert!(body.get("errors").is_none(), "{file}/{operation}: {body}");
    body["data"].clone()
}

#[tokio::test]
async fn the_first_session_runs_on_the_committed_operations() {
    let app = spawn_app().await;
    let reg = run(
        &app,
        None,
        "auth",
        "Register",
        json!({ "input": { "username": "ada", "email": "ada@example.com", "password": "correct horse battery" } }),
    )
    .await;
    let token = reg["register"]["accessToken"].as_str().unwrap().to_owned();
    let refresh = reg["register"]["refreshToken"].as_str().unwrap().to_owned();
    let t = Some(token.as_str());

    let created = run(
        &app,
        t,
        "videos",
        "CreateVideo",
        json!({ "input": { "title": "東京の夜景", "tags": ["tokyo"] } }),
    )
    .await;
    let id = created["createVideo"]["id"].as_str().unwrap().to_owned();
    run(
        &app,
        t,
        "videos",
        "UpdateVideo",
        json!({ "id": id, "input": { "description": "Shinjuku" } }),
    )
    .await;
    run(&app, t, "videos", "PublishVideo", json!({ "id": id })).await;
    let feed = run(&app, t, "videos", "Feed", json!({})).await;
    assert_eq!(feed["videos"]["totalCount"], 1);
    run(&app, t, "videos", "Video", json!({ "id": id })).await;
    // Media: a ticket, the bytes straight to storage, completion, processing to READY.
    let bytes = crate::media::TINY_MP4;
    let ticket = run(
        &app,
        t,
        "media",
        "RequestVideoUpload",
        json!({ "videoId": id, "input": { "filename": "night.mp4", "contentType": "video/mp4", "sizeBytes": bytes.len() } }),
    )
    .await["requestVideoUpload"]
        .clone();
    let mut put = app
        .client
        .put(ticket["uploadUrl"].as_str().unwrap())
        .body(bytes.to_vec());
    for h in ticket["headers"].as_array().unwrap() {
        put = put.header(h["name"].as_str().unwrap(), h["value"].as_str().unwrap());
    }
    assert!(put.send().await.unwrap().status().is_success());
    let completed = run(
        &app,
        t,
        "media",
        "CompleteVideoUpload",
        json!({ "uploadId": ticket["uploadId"] }),
    )
    .await;
    let job = completed["completeVideoUpload"]["processingJob"]["id"].clone();
    let owner = crate::helpers::User {
        id: String::new(),
        access: token.clone(),
        refresh: String::new(),
        username: String::new(),
    };
    crate::media::wait_processed(&app, &owner, &id, std::time::Duration::from_secs(60)).await;
    let media = run(&app, t, "media", "VideoMedia", json!({ "id": id })).await;
    assert_eq!(media["video"]["status"], "READY");
    run(&app, t, "media", "Job", json!({ "id": job })).await;
    run(&app, t, "media", "QueueMetrics", json!({})).await;
    // The author's own searches see their writes at once.
    let found = run(&app, t, "search", "Search", json!({ "query": "夜景" })).await;
    assert_eq!(found["search"]["totalCount"], 1);
    assert_eq!(
        found["search"]["edges"][0]["highlights"][0]["snippet"],
        "東京の<mark>夜景</mark>"
    );
    let suggested = run(&app, t, "search", "Suggest", json!({ "prefix": "東京" })).await;
    assert_eq!(suggested["suggest"][0], "東京の夜景");
    run(&app, t, "search", "Related", json!({ "id": id })).await;
    run(&app, t, "videos", "RecordView", json!({ "videoId": id })).await;
    let fav = run(
        &app,
        t,
        "favorites",
        "AddFavorite",
        json!({ "targetId": id }),
    )
    .await;
    assert_eq!(fav["addFavorite"]["target"]["likeCount"], 1);
    let mine = run(&app, t, "favorites", "MyFavorites", json!({})).await;
    assert_eq!(mine["favoriteStats"]["total"], 1);
    run(
        &app,
        t,
        "favorites",
        "RemoveFavorite",
        json!({ "targetId": id }),
    )
    .await;
    run(&app, t, "auth", "Me", json!({})).await;
    run(
        &app,
        None,
        "auth",
        "Login",
        json!({ "input": { "usernameOrEmail": "ada", "password": "correct horse battery" } }),
    )
    .await;
    let refreshed = run(
        &app,
        None,
        "auth",
        "RefreshToken",
        json!({ "refreshToken": refresh }),
    )
    .await;
    let fresh = refreshed["refreshToken"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    run(
        &app,
        Some(&fresh),
        "videos",
        "DeleteVideo",
        json!({ "id": id }),
    )
    .await;
    run(&app, Some(&fresh), "auth", "Logout", json!({})).await;
    let other = run(
        &app,
        None,
        "auth",
        "Login",
        json!({ "input": { "usernameOrEmail": "ada", "password": "correct horse battery" } }),
    )
    .await;
    run(
        &app,
        other["login"]["accessToken"].as_str(),
        "auth",
        "LogoutAll",
        json!({}),
    )
    .await;
}
