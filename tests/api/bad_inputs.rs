//! Hostile and broken requests: each gets a clear error, and the database is unchanged.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, Options, TestApp};

/// Counts plus the columns a stray write would touch, per table.
const SNAPSHOT: [&str; 7] = [
    "SELECT CAST(COUNT(*) AS TEXT) || '|' || COALESCE(CAST(MAX(updated_at) AS TEXT), '') AS s FROM users",
    "SELECT CAST(COUNT(*) AS TEXT) || '|' || CAST(COUNT(revoked_at) AS TEXT) AS s FROM sessions",
    "SELECT CAST(COUNT(*) AS TEXT) || '|' || CAST(COUNT(rotated_at) AS TEXT) AS s FROM refresh_tokens",
    "SELECT CAST(COUNT(*) AS TEXT) || '|' || CAST(COALESCE(SUM(like_count), 0) AS TEXT) || '|' || CAST(COALESCE(SUM(view_count), 0) AS TEXT) || '|' || COALESCE(CAST(MAX(updated_at) AS TEXT), '') || '|' || CAST(COUNT(deleted_at) AS TEXT) || '|' || CAST(COUNT(published_at) AS TEXT) AS s FROM videos",
    "SELECT CAST(COUNT(*) AS TEXT) AS s FROM video_versions",
    "SELECT CAST(COUNT(*) AS TEXT) AS s FROM favorites",
    "SELECT CAST(COUNT(*) AS TEXT) || '|' || COALESCE(CAST(MAX(counted_at) AS TEXT), '') AS s FROM video_views",
];
const MAX_BODY: usize = 64 * 1024;

async fn snapshot(app: &TestApp) -> Vec<String> {
    let mut state = Vec::new();
    for sql in SNAPSHOT {
        state.push(app.scalar_text(sql).await);
    }
    state
}

struct Reply {
    status: u16,
    body: Value,
}

impl Reply {
    fn code(&self) -> String {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }
    fn field(&self) -> String {
        self.body["errors"][0]["extensions"]["field"]
            .as_str()
            .unwrap_or("<none>")
            .to_owned()
    }
}

async fn send(app: &TestApp, token: Option<&str>, content_type: &str, body: Vec<u8>) -> Reply {
    let mut req = app
        .client
        .post(app.url("/graphql"))
        .header("content-type", content_type)
        .header("accept", "application/graphql-response+json")
        .body(body);
    if let Some(t) = token {
        req = req.header("authorization", t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body = resp.json().await.unwrap_or(Value::Null);
    Reply { status, body }
}

async fn gql(app: &TestApp, token: Option<&str>, query: &str, variables: Value) -> Reply {
    let body = json!({ "query": query, "variables": variables })
        .to_string()
        .into_bytes();
    send(
        app,
        token.map(|t| format!("Bearer {t}")).as_deref(),
        "application/json",
        body,
    )
    .await
}

fn jwt(secret: &[u8], claims: Value, alg: jsonwebtoken::Algorithm) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(alg),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

#[tokio::test]
async fn bad_inputs_get_clear_errors_and_change_nothing() {
    let app = spawn_app_with(Options {
        max_body_bytes: MAX_BODY,
        ..Options::default()
    })
    .await;
    let owner = app.register("target").await;
    let video = app.create_video(&owner, "existing", json!({})).await;
    app.publish(&owner, &video).await;
    let before = snapshot(&app).await;
    let token = owner.access.clone();
    let me = "{ me { id } }";
    let list = "query($a: String, $s: VideoSort) { videos(after: $a, sort: $s) { totalCount } }";
    let create = "mutation($i: CreateVideoInput!) { createVideo(input: $i) { id } }";
    let now = chrono::Utc::now().timestamp();
    let base_claims = |exp: i64| json!({ "iss": "reelgraph", "aud": "reelgraph-api", "sub": owner.id, "sid": uuid::Uuid::now_v7().to_string(), "jti": "x", "role": "SUPER_ADMIN", "typ": "access", "iat": now - 3600, "nbf": now - 3600, "exp": exp });
    let secret = b"test-secret-test-secret-test-secret-0123";

    let real_cursor = {
        let r = gql(
            &app,
            None,
            "{ videos(first: 1) { pageInfo { endCursor } } }",
            json!({}),
        )
        .await;
        r.body["data"]["videos"]["pageInfo"]["endCursor"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let favorite_cursor = URL_SAFE_NO_PAD.encode(format!("v1|favorites|1~VIDEO|{video}"));
    let deep = format!(
        "{{ {} id {} }}",
        "videos { nodes { owner { ".repeat(34),
        "} ".repeat(102)
    );
    let aliases: String = (0..1000).map(|i| format!("a{i}: me {{ id }} ")).collect();
    let none_token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(base_claims(now + 600).to_string())
    );

    let mut cases: Vec<(&str, Reply, u16, &str, Option<&str>)> = Vec::new();
    macro_rules! case {
        ($name:expr, $reply:expr, $status:expr, $code:expr) => {
            cases.push(($name, $reply, $status, $code, None))
        };
        ($name:expr, $reply:expr, $status:expr, $code:expr, $field:expr) => {
            cases.push(($name, $reply, $status, $code, Some($field)))
        };
    }

    case!(
        "forged cursor",
        gql(&app, None, list, json!({ "a": "bm90IGEgY3Vyc29y" })).await,
        200,
        "BAD_USER_INPUT",
        "after"
    );
    case!(
        "cursor of another sort",
        gql(
            &app,
            None,
            list,
            json!({ "a": real_cursor, "s": "MOST_LIKED" })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "after"
    );
    case!(
        "favorites cursor on videos",
        gql(&app, None, list, json!({ "a": favorite_cursor })).await,
        200,
        "BAD_USER_INPUT",
        "after"
    );
    case!(
        "cursor that is not base64",
        gql(&app, None, list, json!({ "a": "%%%\u{0}" })).await,
        200,
        "BAD_USER_INPUT",
        "after"
    );
    case!(
        "alg=none token",
        gql(&app, Some(&none_token), me, json!({})).await,
        401,
        "UNAUTHENTICATED"
    );
    case!(
        "expired token",
        gql(
            &app,
            Some(&jwt(
                secret,
                base_claims(now - 60),
                jsonwebtoken::Algorithm::HS256
            )),
            me,
            json!({})
        )
        .await,
        401,
        "UNAUTHENTICATED"
    );
    case!(
        "token signed with another key",
        gql(
            &app,
            Some(&jwt(
                b"some-other-secret-some-other-secret!",
                base_claims(now + 600),
                jsonwebtoken::Algorithm::HS256
            )),
            me,
            json!({})
        )
        .await,
        401,
        "UNAUTHENTICATED"
    );
    case!(
        "HS512 token",
        gql(
            &app,
            Some(&jwt(
                secret,
                base_claims(now + 600),
                jsonwebtoken::Algorithm::HS512
            )),
            me,
            json!({})
        )
        .await,
        401,
        "UNAUTHENTICATED"
    );
    case!(
        "refresh token as access token",
        gql(&app, Some(&owner.refresh), me, json!({})).await,
        401,
        "UNAUTHENTICATED"
    );
    case!(
        "Basic auth header",
        send(
            &app,
            Some("Basic YWxpY2U6cHc="),
            "application/json",
            br#"{"query":"{ me { id } }"}"#.to_vec()
        )
        .await,
        401,
        "UNAUTHENTICATED"
    );
    case!(
        "oversized body",
        send(
            &app,
            Some(&format!("Bearer {token}")),
            "application/json",
            format!(r#"{{"query":"{}"}}"#, "#".repeat(MAX_BODY + 1)).into_bytes()
        )
        .await,
        413,
        "PAYLOAD_TOO_LARGE"
    );
    case!(
        "100-deep query",
        gql(&app, None, &deep, json!({})).await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "aliased logins",
        gql(&app, None, &format!("mutation {{ {} }}", (0..50).map(|i| format!("l{i}: login(input: {{usernameOrEmail: \"target\", password: \"guess{i}guess\"}}) {{ accessToken }}")).collect::<String>()), json!({})).await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "fan-out of nested connections",
        gql(&app, None, "{ videos(first: 100) { nodes { owner { videos(first: 100) { nodes { owner { videos(first: 100) { nodes { id } } } } } } } } }", json!({})).await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "1,000 aliases",
        gql(&app, None, &format!("{{ {aliases} }}"), json!({})).await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "invalid UTF-8 body",
        send(
            &app,
            None,
            "application/json",
            b"{\"query\":\"{ me { id } }\xff\xfe\"}".to_vec()
        )
        .await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "raw control character in JSON",
        send(
            &app,
            None,
            "application/json",
            b"{\"query\":\"{ me \x01{ id } }\"}".to_vec()
        )
        .await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "NUL in a title",
        gql(
            &app,
            Some(&token),
            create,
            json!({ "i": { "title": "bad\u{0}title" } })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "input.title"
    );
    case!(
        "right-to-left override in a title",
        gql(
            &app,
            Some(&token),
            create,
            json!({ "i": { "title": "evil\u{202E}4pm.exe" } })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "input.title"
    );
    case!(
        "text/plain body",
        send(
            &app,
            None,
            "text/plain",
            br#"{"query":"{ me { id } }"}"#.to_vec()
        )
        .await,
        415,
        "BAD_USER_INPUT"
    );
    case!(
        "form body",
        send(
            &app,
            None,
            "application/x-www-form-urlencoded",
            b"query=%7Bme%7Bid%7D%7D".to_vec()
        )
        .await,
        415,
        "BAD_USER_INPUT"
    );
    case!(
        "JSON that is not a request",
        send(&app, None, "application/json", b"42".to_vec()).await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "variables of the wrong type",
        gql(
            &app,
            None,
            "query($n: Int) { videos(first: $n) { totalCount } }",
            json!({ "n": "many" })
        )
        .await,
        400,
        "BAD_USER_INPUT"
    );
    case!(
        "201-character title",
        gql(
            &app,
            Some(&token),
            create,
            json!({ "i": { "title": "x".repeat(201) } })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "input.title"
    );
    case!(
        "empty title",
        gql(
            &app,
            Some(&token),
            create,
            json!({ "i": { "title": "   " } })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "input.title"
    );
    case!("21 tags", gql(&app, Some(&token), create, json!({ "i": { "title": "t", "tags": (0..21).map(|i| format!("t{i}")).collect::<Vec<_>>() } })).await, 200, "BAD_USER_INPUT", "input.tags");
    case!(
        "41-character tag",
        gql(
            &app,
            Some(&token),
            create,
            json!({ "i": { "title": "t", "tags": ["ok", "y".repeat(41)] } })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "input.tags[1]"
    );
    case!("11 categories", gql(&app, Some(&token), create, json!({ "i": { "title": "t", "categories": (0..11).map(|i| format!("c{i}")).collect::<Vec<_>>() } })).await, 200, "BAD_USER_INPUT", "input.categories");
    case!(
        "5,001-character description",
        gql(
            &app,
            Some(&token),
            create,
            json!({ "i": { "title": "t", "description": "d".repeat(5001) } })
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "input.description"
    );
    case!("short password", gql(&app, None, "mutation { register(input: {username: \"newbie\", email: \"n@example.com\", password: \"short\"}) { accessToken } }", json!({})).await, 200, "BAD_USER_INPUT", "input.password");
    case!("129-character password", gql(&app, None, "mutation($p: String!) { register(input: {username: \"newbie\", email: \"n@example.com\", password: $p}) { accessToken } }", json!({ "p": "p".repeat(129) })).await, 200, "BAD_USER_INPUT", "input.password");
    case!("username with a space", gql(&app, None, "mutation { register(input: {username: \"new bie\", email: \"n@example.com\", password: \"long enough\"}) { accessToken } }", json!({})).await, 200, "BAD_USER_INPUT", "input.username");
    case!("email without a domain", gql(&app, None, "mutation { register(input: {username: \"newbie\", email: \"newbie@\", password: \"long enough\"}) { accessToken } }", json!({})).await, 200, "BAD_USER_INPUT", "input.email");
    case!(
        "video id that is not an id",
        gql(
            &app,
            None,
            "{ video(id: \"../../etc/passwd\") { id } }",
            json!({})
        )
        .await,
        200,
        "BAD_USER_INPUT",
        "id"
    );
    case!("update of a missing video", gql(&app, Some(&token), "mutation { updateVideo(id: \"00000000-0000-7000-8000-000000000000\", input: {title: \"x\"}) { id } }", json!({})).await, 200, "NOT_FOUND");
    case!(
        "anonymous createVideo",
        gql(&app, None, create, json!({ "i": { "title": "t" } })).await,
        200,
        "UNAUTHENTICATED"
    );
    case!("unknown enum value", gql(&app, Some(&token), "mutation { setUserRole(userId: \"00000000-0000-7000-8000-000000000000\", role: ROOT) { id } }", json!({})).await, 400, "BAD_USER_INPUT");
    case!(
        "anonymous favorite",
        gql(
            &app,
            None,
            "mutation($id: ID!) { addFavorite(kind: VIDEO, targetId: $id) { createdAt } }",
            json!({ "id": video })
        )
        .await,
        200,
        "UNAUTHENTICATED"
    );

    let mut failures = Vec::new();
    for (name, reply, status, code, field) in &cases {
        let ok = reply.status == *status
            && reply.code() == *code
            && field.is_none_or(|f| reply.field() == f)
            && reply.body["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty());
        if !ok {
            failures.push(format!(
                "{name}: got {} {} field={} body={}",
                reply.status,
                reply.code(),
                reply.field(),
                reply.body
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
    assert!(cases.len() >= 25);
    assert_eq!(
        snapshot(&app).await,
        before,
        "bad inputs changed the database"
    );
}
