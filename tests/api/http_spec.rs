//! GraphQL over HTTP: media types, status codes, GET rules, GraphiQL and health.

use sea_orm::ConnectionTrait;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, Options};

const GQL_JSON: &str = "application/graphql-response+json";

async fn post_raw(app: &crate::helpers::TestApp, accept: &str, body: &str) -> (u16, String, Value) {
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .header("accept", accept)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ct, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn both_media_types_are_served_with_the_status_codes_the_spec_asks_for() {
    let app = spawn_app().await;
    let ok = post_raw(&app, GQL_JSON, r#"{"query":"{ videos { totalCount } }"}"#).await;
    assert_eq!((ok.0, ok.1.starts_with(GQL_JSON)), (200, true));

    let legacy = post_raw(
        &app,
        "application/json",
        r#"{"query":"{ videos { totalCount } }"}"#,
    )
    .await;
    assert_eq!(
        (legacy.0, legacy.1.starts_with("application/json")),
        (200, true)
    );

    for (doc, what) in [
        ("{ videos { ", "syntax"),
        ("{ nope }", "validation"),
        (
            "query($n: Int!) { videos(first: $n) { totalCount } }",
            "missing variable",
        ),
    ] {
        let body = json!({ "query": doc }).to_string();
        let strict = post_raw(&app, GQL_JSON, &body).await;
        assert_eq!(strict.0, 400, "{what} under graphql-response+json");
        assert!(strict.2["data"].is_null() && strict.2["errors"][0]["message"].is_string());
        assert_eq!(
            strict.2["errors"][0]["extensions"]["code"],
            "BAD_USER_INPUT"
        );
        let lenient = post_raw(&app, "application/json", &body).await;
        assert_eq!(lenient.0, 200, "{what} under application/json");
    }

    let wildcard = post_raw(&app, "*/*", r#"{"query":"{ me { id } }"}"#).await;
    assert_eq!(wildcard.0, 200);
    let unacceptable = post_raw(&app, "text/html", r#"{"query":"{ me { id } }"}"#).await;
    assert_eq!(unacceptable.0, 406);
}

#[tokio::test]
async fn get_runs_queries_and_refuses_mutations_with_405() {
    let app = spawn_app().await;
    let query = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "{ videos { totalCount } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(query.status().as_u16(), 200);
    let body: Value = query.json().await.unwrap();
    assert_eq!(body["data"]["videos"]["totalCount"], 0);

    let mutation = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", "mutation { logoutAll }")])
        .header("accept", GQL_JSON)
        .send()
        .await
        .unwrap();
    assert_eq!(mutation.status().as_u16(), 405);
    assert_eq!(mutation.headers()["allow"], "POST");

    let named = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            ("query", "query Q { me { id } } mutation M { logoutAll }"),
            ("operationName", "Q"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        named.status().as_u16(),
        200,
        "GET may run the query of a document that also holds a mutation"
    );

    let vars = app
        .client
        .get(app.url("/graphql"))
        .query(&[
            (
                "query",
                "query($n: Int) { videos(first: $n) { totalCount } }",
            ),
            ("variables", "{\"n\": 3}"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(vars.status().as_u16(), 200);
}

#[tokio::test]
async fn small_batches_run_and_large_ones_are_refused() {
    let app = spawn_app().await;
    let two =
        json!([{ "query": "{ me { id } }" }, { "query": "{ videos { totalCount } }" }]).to_string();
    let (status, _, body) = post_raw(&app, "application/json", &two).await;
    assert_eq!(status, 200);
    assert_eq!(body.as_array().unwrap().len(), 2);

    let many: Vec<Value> = (0..10)
        .map(|_| json!({ "query": "{ me { id } }" }))
        .collect();
    let (status, _, body) =
        post_raw(&app, "application/json", &Value::from(many).to_string()).await;
    assert_eq!(status, 400);
    assert!(body["errors"][0]["message"]
        .as_str()
        .unwrap()
        .contains("batch"));
}

#[tokio::test]
async fn graphiql_health_and_metrics_answer() {
    let app = spawn_app().await;
    let page = app.client.get(app.url("/graphiql")).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert!(page
        .text()
        .await
        .unwrap()
        .to_lowercase()
        .contains("graphiql"));

    let root = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let redirect = root.get(app.url("/")).send().await.unwrap();
    assert!(redirect.status().is_redirection());
    assert_eq!(redirect.headers()["location"], "/graphiql");

    assert_eq!(
        app.client
            .get(app.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let ready: Value = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ready["database"], "ok");
    assert!(app.db_statements().await > 0);
}

#[tokio::test]
async fn production_mode_turns_off_introspection_and_suggestions() {
    let app = spawn_app_with(Options {
        introspection: Some(false),
        ..Options::default()
    })
    .await;
    let intro = app
        .gql(
            "{ __schema { types { name } } __type(name: \"Video\") { name } }",
            json!({}),
        )
        .await;
    assert!(
        intro.body["data"]["__schema"].is_null() && intro.body["data"]["__type"].is_null(),
        "{}",
        intro.body
    );
    let typo = app.gql("{ vidoes { totalCount } }", json!({})).await;
    let message = typo.body["errors"][0]["message"].as_str().unwrap();
    assert!(!message.contains("Did you mean"), "{message}");

    let production = spawn_app_with(Options {
        mode: reelgraph::config::Mode::Production,
        ..Options::default()
    })
    .await;
    let intro = production
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert!(
        intro.body["data"]["__schema"].is_null(),
        "production hides the schema by default"
    );

    let dev = spawn_app().await;
    let intro = dev
        .gql("{ __schema { queryType { name } } }", json!({}))
        .await;
    assert_eq!(intro.data()["__schema"]["queryType"]["name"], "Query");
}

#[tokio::test]
async fn production_mode_refuses_to_start_without_a_jwt_secret() {
    use reelgraph::config::{Config, Mode};
    let tmp = tempfile::tempdir().unwrap();
    let mut config = Config::with_defaults(tmp.path().to_path_buf()).unwrap();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.mode = Mode::Production;
    config.store.db_max_connections = 2;
    let err = reelgraph::startup::Application::build(config)
        .await
        .err()
        .expect("must refuse");
    assert!(err.to_string().contains("REELGRAPH_JWT_SECRET"), "{err}");
}

#[tokio::test]
async fn internal_errors_are_masked_and_carry_a_request_id() {
    let app = spawn_app().await;
    let owner = app.register("corrupt").await;
    let id = app.create_video(&owner, "broken row", json!({})).await;
    app.publish(&owner, &id).await;
    // A row no code path can write: the adapter refuses to map it.
    app.database()
        .await
        .execute_unprepared("UPDATE videos SET status = 'EXPLODED'")
        .await
        .unwrap();
    let r = app
        .gql(
            "query($id: ID!) { video(id: $id) { title } }",
            json!({ "id": id }),
        )
        .await;
    let error = &r.body["errors"][0];
    assert_eq!(error["message"], "internal error", "{}", r.body);
    assert_eq!(error["extensions"]["code"], "INTERNAL");
    assert!(uuid::Uuid::parse_str(error["extensions"]["requestId"].as_str().unwrap()).is_ok());
    assert!(
        !r.body.to_string().contains("EXPLODED"),
        "the cause stays in the log"
    );
}
