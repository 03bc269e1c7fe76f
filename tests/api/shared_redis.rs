//! Two instances sharing a database and Redis: a logout on one is seen by the other, and
//! login throttling counts across both.

use serde_json::json;

use crate::helpers::{fresh_postgres_database, service_url, spawn_app_with, Options};

#[tokio::test]
async fn a_logout_on_one_instance_revokes_the_token_on_another() {
    let Some(redis_url) = service_url("TEST_REDIS_URL") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let database_url = match std::env::var("TEST_DATABASE_URL") {
        Ok(u) if !u.is_empty() => fresh_postgres_database().await,
        _ => format!(
            "sqlite://{}?mode=rwc",
            tmp.path().join("shared.db").display()
        ),
    };
    let prefix = format!("rg-test:{}:", uuid::Uuid::new_v4().simple());
    let options = || Options {
        database_url: Some(database_url.clone()),
        redis_url: Some(redis_url.clone()),
        redis_prefix: Some(prefix.clone()),
        ..Options::default()
    };
    let a = spawn_app_with(options()).await;
    let b = spawn_app_with(options()).await;

    let nina = a.register("nina").await;
    let me = "{ me { username } }";
    assert_eq!(
        b.gql_as(Some(&nina.access), me, json!({})).await.data()["me"]["username"],
        "nina"
    );
    a.gql_as(Some(&nina.access), "mutation { logout }", json!({}))
        .await
        .data();
    assert_eq!(
        b.gql_as(Some(&nina.access), me, json!({})).await.status,
        401
    );

    let login = "mutation { login(input: {usernameOrEmail: \"nina\", password: \"wrong password\"}) { accessToken } }";
    for i in 0..5 {
        let app = if i % 2 == 0 { &a } else { &b };
        assert_eq!(app.gql(login, json!({})).await.code(), "UNAUTHENTICATED");
    }
    assert_eq!(b.gql(login, json!({})).await.code(), "RATE_LIMITED");
}
