//! What a hostile client or an unlucky operator could do, each found once and kept found:
//! query bombs on every transport, cross-site writes through the event stream, forgotten
//! revocations, repeated notifications, unbounded lists and tickets, account lockout,
//! look-alike names, and a damaged secret file.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{service_url, spawn_app, spawn_app_with, Options, TestApp};
use crate::live::{connect, recv, subscribe};
use crate::media_recovery::ready;
use crate::search_recovery::Env;

/// 100 aliases, spread 50 times, `levels` deep: 100 x 50^(levels - 1) selections from a
/// few kilobytes (the report's bomb has four levels: 12.5 million).
fn fragment_bomb(levels: usize) -> String {
    let aliases: String = (0..100).map(|i| format!("t{i}: __typename ")).collect();
    let mut doc = format!("fragment L0 on Query {{ {aliases}}}\n");
    for level in 1..levels {
        let spreads = format!("...L{} ", level - 1).repeat(50);
        doc.push_str(&format!("fragment L{level} on Query {{ {spreads}}}\n"));
    }
    doc.push_str(&format!("query {{ ...L{} }}", levels - 1));
    doc
}

fn too_many_fields(body: &Value) -> bool {
    body["errors"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("too many fields"))
}

#[tokio::test]
async fn fragment_bombs_and_argument_floods_are_refused_before_execution_on_every_transport() {
    let app = spawn_app().await;
    let bomb = fragment_bomb(4);
    assert!(bomb.len() < 3_000);

    // Eight levels: 7.8 * 10^13 selections behind 3.6 KB. Anything that walks the spreads
    // before the measure (async-graphql's own recursive-depth check does) never answers.
    let deep = fragment_bomb(8);
    let resp = tokio::time::timeout(
        Duration::from_secs(20),
        app.client
            .post(app.url("/graphql"))
            .json(&json!({ "query": deep }))
            .send(),
    )
    .await
    .expect("refused without walking the fragments")
    .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(too_many_fields(&body), "{body}");
    // Many small operations cost as much as one large one: they count together.
    let many: String = (0..400)
        .map(|i| format!("query q{i} {{ a: __typename }}\n"))
        .collect();
    let r = app.gql(&many, json!({})).await;
    assert!(too_many_fields(&r.body), "{}", r.body);

    // POST, as graphql-response+json: 400, no data entry at all.
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("accept", "application/graphql-response+json")
        .json(&json!({ "query": bomb }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(too_many_fields(&body), "{body}");
    assert!(body.get("data").is_none(), "{body}");

    // GET.
    let resp = app
        .client
        .get(app.url("/graphql"))
        .query(&[("query", bomb.as_str())])
        .send()
        .await
        .unwrap();
    let body: Value = resp.json().await.unwrap();
    assert!(too_many_fields(&body), "{body}");

    // The event stream (graphql-sse) and multipart/mixed carry the refusal as their result.
    for (path, accept) in [
        ("/graphql/stream", "text/event-stream"),
        ("/graphql", "multipart/mixed"),
    ] {
        let resp = app
            .client
            .post(app.url(path))
            .header("accept", accept)
            .json(&json!({ "query": bomb }))
            .send()
            .await
            .unwrap();
        let text = tokio::time::timeout(Duration::from_secs(10), resp.text())
            .await
            .expect("the refusal arrives at once")
            .unwrap();
        assert!(text.contains("too many fields"), "{path}: {text}");
    }

    // WebSocket subscribe: the operation's only result is the refusal; the socket stays.
    let mut socket = connect(&app, "graphql-transport-ws", None).await;
    subscribe(&mut socket, "bomb", &bomb, json!({})).await;
    let reply = recv(&mut socket).await;
    assert!(reply.to_string().contains("too many fields"), "{reply}");
    assert_eq!(recv(&mut socket).await["type"], "complete");

    // Thousands of arguments on one field.
    let args: Vec<String> = (0..20_000).map(|i| format!("a{i}: 1")).collect();
    let flood = format!("{{ __typename({}) }}", args.join(" "));
    let r = app.gql(&flood, json!({})).await;
    assert!(
        r.body["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("at most 16 arguments")),
        "{}",
        r.body
    );

    // An ordinary document with fragments still runs; the server is alive throughout.
    let ok = app
        .gql(
            "fragment F on Query { __typename } query { ...F a: __typename }",
            json!({}),
        )
        .await;
    assert_eq!(ok.data()["a"], "Query");
    let live = app
        .client
        .get(app.url("/health/live"))
        .send()
        .await
        .unwrap();
    assert_eq!(live.status(), 200);
}

#[tokio::test]
async fn the_event_stream_accepts_requests_exactly_as_graphql_does() {
    let app = spawn_app().await;
    let users_before = app.count_rows("users").await;
    let register = "mutation { register(input: {username: \"csrf_victim\", email: \"csrf@example.com\", password: \"correct horse battery\"}) { accessToken } }";

    // A cross-site GET (an EventSource, an <img>) must not run a mutation.
    let resp = app
        .client
        .get(app.url("/graphql/stream"))
        .header("accept", "text/event-stream")
        .query(&[("query", register)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 405);
    assert_eq!(resp.headers()["allow"], "POST");

    // A "simple" cross-site POST (text/plain, forms) needs no preflight: refused too.
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let resp = app
            .client
            .post(app.url("/graphql/stream"))
            .header("accept", "text/event-stream")
            .header("content-type", content_type)
            .body(json!({ "query": register }).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 415, "{content_type}");
    }
    assert_eq!(app.count_rows("users").await, users_before);

    // A stale token is refused as on /graphql, not silently downgraded to anonymous.
    let resp = app
        .client
        .get(app.url("/graphql/stream"))
        .header("accept", "text/event-stream")
        .header("authorization", "Bearer not-a-token")
        .query(&[("query", "subscription { queueMetrics { queued } }")])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // Subscriptions over GET still work: they change nothing.
    let owner = app.register("streamer").await;
    let id = app.create_video(&owner, "Streamed", json!({})).await;
    app.publish(&owner, &id).await;
    let resp = app
        .client
        .get(app.url("/graphql/stream"))
        .header("accept", "text/event-stream")
        .query(&[(
            "query",
            format!("subscription {{ videoStats(videoId: \"{id}\") {{ viewCount }} }}"),
        )])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn authorization_schemes_are_case_insensitive() {
    let app = spawn_app().await;
    let u = app.register("casey").await;
    for scheme in ["Bearer", "bearer", "BEARER", "BeArEr"] {
        let resp = app
            .client
            .post(app.url("/graphql"))
            .header("authorization", format!("{scheme}  {}", u.access))
            .json(&json!({ "query": "{ me { username } }" }))
            .send()
            .await
            .unwrap();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["data"]["me"]["username"], "casey", "{scheme}: {body}");
    }
    let resp = app
        .client
        .post(app.url("/graphql"))
        .header("authorization", format!("Basic {}", u.access))
        .json(&json!({ "query": "{ me { username } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
}

const LOGIN: &str = "mutation($p: String!) { login(input: {usernameOrEmail: \"target\", password: $p}) { accessToken } }";

async fn login_from(app: &TestApp, local: &str, password: &str) -> Value {
    let client = reqwest::Client::builder()
        .local_address(local.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    client
        .post(app.url("/graphql"))
        .json(&json!({ "query": LOGIN, "variables": { "p": password } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn failing_logins_lock_out_the_guesser_not_the_account() {
    let app = spawn_app().await;
    app.register("target").await;
    for _ in 0..5 {
        let r = login_from(&app, "127.0.0.1", "wrong password!").await;
        assert_eq!(r["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let r = login_from(&app, "127.0.0.1", "correct horse battery").await;
    assert_eq!(r["errors"][0]["extensions"]["code"], "RATE_LIMITED", "{r}");
    // The owner, from elsewhere, still signs in.
    let r = login_from(&app, "127.0.0.2", "correct horse battery").await;
    assert!(r["data"]["login"]["accessToken"].is_string(), "{r}");

    // A batch counts all its logins before running any: more than one is refused whole.
    let one = json!({ "query": LOGIN, "variables": { "p": "wrong password!" } });
    let resp = app
        .client
        .post(app.url("/graphql"))
        .json(&json!([one, one, one, one, one]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("at most one of register, login"),
        "{body}"
    );
}

#[tokio::test]
async fn look_alike_and_mixed_script_usernames_are_refused() {
    let app = spawn_app().await;
    app.register("paypal").await;
    let register = |name: &'static str| {
        let app = &app;
        async move {
            app.gql(
                "mutation($u: String!, $e: String!) { register(input: {username: $u, email: $e, password: \"correct horse battery\"}) { user { id } } }",
                json!({ "u": name, "e": format!("{}@example.com", uuid::Uuid::new_v4().simple()) }),
            )
            .await
        }
    };
    // Latin with a Cyrillic а: mixed scripts.
    let r = register("pаypal").await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);
    assert_eq!(r.body["errors"][0]["extensions"]["field"], "input.username");
    // All Cyrillic, or digits for letters: the same skeleton as "paypal".
    for name in ["раураl1", "PAYPA1"] {
        let r = register(name).await;
        assert!(
            matches!(r.code(), "CONFLICT" | "BAD_USER_INPUT"),
            "{name}: {}",
            r.body
        );
    }
    let r = register("PAYPA1").await;
    assert_eq!(r.code(), "CONFLICT", "{}", r.body);
    // Names in one script, or Han with kana and Latin, are welcome.
    register("山田たろう").await.data();
    register("taro山田").await.data();
}

#[tokio::test]
async fn a_second_favorite_of_the_same_video_announces_nothing() {
    let app = spawn_app().await;
    let owner = app.register("fav_owner").await;
    let fan = app.register("fav_fan").await;
    let other = app.register("fav_other").await;
    let id = app.create_video(&owner, "Loved", json!({})).await;
    app.publish(&owner, &id).await;
    let mut socket = connect(&app, "graphql-transport-ws", Some(&owner.access)).await;
    subscribe(
        &mut socket,
        "n",
        "subscription { myNotifications { kind message } }",
        json!({}),
    )
    .await;
    // Let the subscription register before the first event.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let like = "mutation($v: ID!) { addFavorite(kind: VIDEO, targetId: $v) { createdAt } }";
    for who in [&fan, &fan, &fan, &other] {
        app.gql_as(Some(&who.access), like, json!({ "v": id }))
            .await
            .data();
    }
    let mut favorited = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
    while let Ok(message) = tokio::time::timeout_at(deadline, recv(&mut socket)).await {
        if message["payload"]["data"]["myNotifications"]["kind"] == "FAVORITED" {
            favorited += 1;
        }
    }
    assert_eq!(favorited, 2, "one notification per new favorite");
    let r = app
        .gql(
            "query($v: ID!) { video(id: $v) { likeCount } }",
            json!({ "v": id }),
        )
        .await;
    assert_eq!(r.data()["video"]["likeCount"], 2);
}

#[tokio::test]
async fn version_lists_are_bounded_and_their_cost_counted() {
    let app = spawn_app().await;
    let u = app.register("versioner").await;
    let id = app.create_video(&u, "Draft 0", json!({})).await;
    for i in 1..=110 {
        app.gql_as(
            Some(&u.access),
            "mutation($id: ID!, $t: String!) { updateVideo(id: $id, input: {title: $t}) { id } }",
            json!({ "id": id, "t": format!("Draft {i}") }),
        )
        .await
        .data();
    }
    let versions = |last: Option<i64>| {
        let app = &app;
        let u = &u;
        let id = id.clone();
        async move {
            let q = match last {
                Some(n) => format!(
                    "query($id: ID!) {{ video(id: $id) {{ versions(last: {n}) {{ version }} }} }}"
                ),
                None => "query($id: ID!) { video(id: $id) { versions { version } } }".to_owned(),
            };
            app.gql_as(Some(&u.access), &q, json!({ "id": id })).await
        }
    };
    let numbers = |r: &crate::helpers::Gql| -> Vec<i64> {
        r.data()["video"]["versions"]
            .as_array()
            .unwrap_or_else(|| panic!("{}", r.body))
            .iter()
            .map(|v| v["version"].as_i64().unwrap())
            .collect()
    };
    let default = numbers(&versions(None).await);
    assert_eq!(default.len(), 20);
    assert!(default.windows(2).all(|w| w[0] < w[1]), "{default:?}");
    let all = numbers(&versions(Some(100)).await);
    assert_eq!(all.len(), 100);
    assert_eq!(all.last(), default.last());
    assert_eq!(versions(Some(101)).await.code(), "BAD_USER_INPUT");
    assert_eq!(versions(Some(0)).await.code(), "BAD_USER_INPUT");
    // Fifty aliases of a full list cost more than any query may.
    let aliases: String = (0..50)
        .map(|i| format!("v{i}: video(id: $id) {{ versions(last: 100) {{ version sizeBytes changes createdAt }} }} "))
        .collect();
    let r = app
        .gql_as(
            Some(&u.access),
            &format!("query($id: ID!) {{ {aliases} }}"),
            json!({ "id": id }),
        )
        .await;
    assert_eq!(r.code(), "BAD_USER_INPUT", "{}", r.body);
}

#[tokio::test]
async fn an_upload_ticket_accepts_no_more_than_it_declared() {
    let app = spawn_app().await;
    let u = app.register("ticketed").await;
    let id = app.create_video(&u, "Small", json!({})).await;
    let r = app
        .gql_as(
            Some(&u.access),
            "mutation($v: ID!) { requestVideoUpload(videoId: $v, input: {filename: \"a.mp4\", contentType: \"video/mp4\", sizeBytes: 100}) { uploadUrl method headers { name value } maxBytes } }",
            json!({ "v": id }),
        )
        .await;
    let t = r.data()["requestVideoUpload"].clone();
    assert_eq!(t["maxBytes"], 100);
    let mut req = app
        .client
        .request(
            t["method"].as_str().unwrap().parse().unwrap(),
            t["uploadUrl"].as_str().unwrap(),
        )
        .body(vec![0u8; 5 << 20]);
    for h in t["headers"].as_array().unwrap() {
        req = req.header(h["name"].as_str().unwrap(), h["value"].as_str().unwrap());
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.status(), 413);
}

/// Logs out, then checks that the logged-out token stays refused after `lose_state`.
async fn revoked_token(app: &TestApp) -> String {
    let u = app.register("leaver").await;
    let out = app
        .gql_as(Some(&u.access), "mutation { logout }", json!({}))
        .await;
    assert_eq!(out.data()["logout"], true);
    u.access
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.gql_as(Some(token), "{ me { id } }", json!({}))
        .await
        .status
}

#[tokio::test]
async fn a_revoked_token_stays_revoked_after_a_restart() {
    let env = Env::new().await;
    let vars = [(
        "REELGRAPH_JWT_SECRET",
        "test-secret-test-secret-test-secret-0123",
    )];
    let at = |port: u16| {
        TestApp::at(
            format!("127.0.0.1:{port}").parse().unwrap(),
            env.data.path().into(),
            env.database_url.clone(),
        )
    };
    let (server, port) = env.serve_with(&vars);
    let app = at(port);
    ready(&app).await;
    let token = revoked_token(&app).await;
    assert_eq!(me_status(&app, &token).await, 401);
    server.kill();

    let (_server, port) = env.serve_with(&vars);
    let app = at(port);
    ready(&app).await;
    assert_eq!(me_status(&app, &token).await, 401);
}

#[tokio::test]
async fn a_revoked_token_stays_revoked_when_redis_loses_its_keys() {
    let Some(redis_url) = service_url("TEST_REDIS_URL") else {
        return;
    };
    let prefix = format!("rg-test:{}:", uuid::Uuid::new_v4().simple());
    let app = spawn_app_with(Options {
        redis_url: Some(redis_url.clone()),
        redis_prefix: Some(prefix.clone()),
        ..Options::default()
    })
    .await;
    let token = revoked_token(&app).await;
    let fresh = app.register("stayer").await;
    assert_eq!(me_status(&app, &token).await, 401);

    // Redis restarted empty (as far as this server's keys go).
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty());
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();

    assert_eq!(me_status(&app, &token).await, 401);
    assert_eq!(me_status(&app, &fresh.access).await, 200);
}

#[tokio::test]
async fn a_damaged_secret_file_stops_the_start_and_says_why() {
    let env = Env::new().await;
    std::fs::write(env.data.path().join("jwt-secret"), "short\n").unwrap();
    let out = env
        .command(&["serve", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("jwt-secret"), "{stderr}");
    assert!(stderr.contains("fewer than the 32"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes in a pipe: {stderr}"
    );
    // Left as it was, for the operator to restore.
    assert_eq!(
        std::fs::read_to_string(env.data.path().join("jwt-secret")).unwrap(),
        "short\n"
    );
}

/// graphql-http's audit of the GraphQL-over-HTTP spec, when its package is installed
/// (`.ci/run` installs it; see README).
#[tokio::test]
async fn the_graphql_over_http_audit_passes_in_full() {
    let modules = std::env::var("REELGRAPH_GRAPHQL_HTTP_MODULES")
        .ok()
        .or_else(|| {
            std::env::var("HOME")
                .ok()
                .map(|h| format!("{h}/.cache/reelgraph-graphql-http/node_modules"))
        });
    let installed = modules
        .as_deref()
        .is_some_and(|m| std::path::Path::new(m).join("graphql-http").exists());
    if !installed {
        assert!(
            !crate::helpers::require_services(),
            "graphql-http is not installed but REELGRAPH_REQUIRE_SERVICES=1"
        );
        eprintln!("skipping: graphql-http is not installed");
        return;
    }
    let app = spawn_app().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/audit/graphql-http.cjs");
    let out = tokio::process::Command::new("node")
        .arg(script)
        .arg(app.url("/graphql"))
        .env("NODE_PATH", modules.unwrap())
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["failures"], json!([]), "{summary:#}");
    assert!(summary["ok"].as_u64().unwrap() >= 61, "{summary:#}");
}

/// Reads from `stream` until the server closes it; returns what it sent. Fails if the
/// server keeps the connection open for `within`.
async fn read_until_closed(stream: &mut tokio::net::TcpStream, within: Duration) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => panic!(
                "the server kept a slow connection open: {}",
                String::from_utf8_lossy(&seen)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return String::from_utf8_lossy(&seen).into_owned(),
            Ok(Ok(n)) => seen.extend_from_slice(&buf[..n]),
        }
    }
}

#[tokio::test]
async fn slow_headers_slow_bodies_and_idle_connections_are_cut_off() {
    use tokio::io::AsyncWriteExt;
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.http.header_read_timeout_seconds = 1;
            c.http.body_stall_seconds = 1;
        })),
        ..Options::default()
    })
    .await;

    // A connection that sends nothing at all, or half of HTTP/2's preface, and waits.
    for first in [&b""[..], b"PRI * HTTP/2.0\r\n"] {
        let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
        silent.write_all(first).await.unwrap();
        read_until_closed(&mut silent, Duration::from_secs(5)).await;
    }

    // One header line every 300 ms: never complete, so cut off after a second.
    let mut slow_headers = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let trickle = async {
        let _ = slow_headers
            .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
            .await;
        for i in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow_headers
                .write_all(format!("X-Slow-{i}: 1\r\n").as_bytes())
                .await
                .is_err()
            {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(8), trickle)
        .await
        .ok();
    read_until_closed(&mut slow_headers, Duration::from_secs(5)).await;

    // A complete head, then a body at a byte every 300 ms.
    let mut slow_body = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    slow_body
        .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{")
        .await
        .unwrap();
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if slow_body.write_all(b" ").await.is_err() {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(8), trickle)
        .await
        .ok();
    read_until_closed(&mut slow_body, Duration::from_secs(5)).await;

    // An idle keep-alive connection is closed too.
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answered = read_until_closed(&mut idle, Duration::from_secs(5)).await;
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");

    // A normal client is served throughout.
    let r = app.gql("{ __typename }", json!({})).await;
    assert_eq!(r.data()["__typename"], "Query");
}

#[tokio::test]
async fn connections_over_the_cap_wait_for_a_free_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| c.http.max_connections = 3)),
        ..Options::default()
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(tokio::net::TcpStream::connect(app.addr).await.unwrap());
    }
    // The kernel completes the handshake, but the server does not take the connection.
    let mut waiting = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    waiting
        .write_all(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), waiting.read(&mut buf))
            .await
            .is_err(),
        "a fourth connection was served while three were held"
    );
    drop(held.pop());
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

#[tokio::test]
async fn one_client_cannot_hold_unbounded_sockets_streams_or_subscriptions() {
    use futures_util::StreamExt;
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| {
            c.live.sockets_per_client = 3;
            c.live.subscriptions_per_client = 4;
        })),
        ..Options::default()
    })
    .await;
    let owner = app.register("quota_owner").await;
    let id = app.create_video(&owner, "Watched", json!({})).await;
    app.publish(&owner, &id).await;
    let stats = format!("subscription {{ videoStats(videoId: \"{id}\") {{ viewCount }} }}");

    // Anonymous: three sockets from this address; subscriptions counted across them.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        sockets.push(connect(&app, "graphql-transport-ws", None).await);
    }
    for n in 0..6 {
        let socket = &mut sockets[n % 3];
        subscribe(socket, &format!("s{n}"), &stats, json!({})).await;
    }
    // Read until both refusals have come (and a little longer, in case of a third).
    let mut refused = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut quiet_rounds = 0;
    while std::time::Instant::now() < deadline && (refused < 2 || quiet_rounds < 2) {
        let mut heard = false;
        for socket in &mut sockets {
            if let Ok(message) =
                tokio::time::timeout(Duration::from_millis(200), recv(socket)).await
            {
                heard = true;
                if message["type"] == "error" {
                    assert_eq!(message["payload"][0]["extensions"]["code"], "RATE_LIMITED");
                    assert!(message.to_string().contains("per address"), "{message}");
                    refused += 1;
                }
            }
        }
        quiet_rounds = if heard { 0 } else { quiet_rounds + 1 };
    }
    assert_eq!(refused, 2, "four of six subscriptions fit");

    // A fourth socket from the address is closed with 1013.
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
        format!("ws://{}/graphql/ws", app.addr),
    )
    .unwrap();
    let (mut fourth, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    let close = tokio::time::timeout(Duration::from_secs(5), fourth.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    match close {
        tokio_tungstenite::tungstenite::Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 1013);
            assert!(frame.reason.contains("per address"), "{}", frame.reason);
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    // So is an event stream: 429.
    let resp = app
        .client
        .get(app.url("/graphql/stream"))
        .header("accept", "text/event-stream")
        .query(&[("query", stats.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 429);

    // Closing a socket gives its place back (as soon as the server has seen it close).
    drop(sockets.pop());
    let mut again = None;
    for _ in 0..50 {
        let request =
            tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
                format!("ws://{}/graphql/ws", app.addr),
            )
            .unwrap();
        let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        futures_util::SinkExt::send(
            &mut socket,
            tokio_tungstenite::tungstenite::Message::text(
                json!({"type": "connection_init", "payload": {}}).to_string(),
            ),
        )
        .await
        .ok();
        if let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) =
            tokio::time::timeout(Duration::from_secs(5), socket.next())
                .await
                .ok()
                .flatten()
        {
            if text.contains("connection_ack") {
                again = Some(socket);
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut again = again.expect("a place came free");
    subscribe(&mut again, "again", &stats, json!({})).await;
    // The subscription joins the bus when it first runs: change the counts until it hears.
    let toggles = [
        "mutation($v: ID!) { addFavorite(kind: VIDEO, targetId: $v) { createdAt } }",
        "mutation($v: ID!) { removeFavorite(kind: VIDEO, targetId: $v) }",
    ];
    let mut heard = None;
    for round in 0..20 {
        app.gql_as(Some(&owner.access), toggles[round % 2], json!({ "v": id }))
            .await
            .data();
        if let Ok(message) =
            tokio::time::timeout(Duration::from_millis(500), recv(&mut again)).await
        {
            heard = Some(message);
            break;
        }
    }
    let message = heard.expect("the new subscription hears the changes");
    assert_eq!(message["type"], "next", "{message}");
}

#[tokio::test]
async fn replaced_thumbnails_and_abandoned_upload_bytes_are_reclaimed() {
    use crate::media::{multipart_body, post_multipart, THUMB_PNG};
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| c.jobs.sweep_seconds = 1)),
        ..Options::default()
    })
    .await;
    let owner = app.register("thumbs").await;
    let id = app.create_video(&owner, "Thumbs", json!({})).await;
    let media = app.data_dir.join("media");
    let files = || -> Vec<std::path::PathBuf> {
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p);
                }
            }
        }
        let mut out = Vec::new();
        walk(&media, &mut out);
        out.retain(|p| p.to_string_lossy().contains("thumb"));
        out
    };
    for _ in 0..3 {
        let (ct, body) = multipart_body(
            "mutation($v: ID!, $f: Upload!) { uploadThumbnail(videoId: $v, file: $f) { id } }",
            json!({ "v": id, "f": null }),
            &[("f", "t.png", "image/png", THUMB_PNG)],
        );
        let (status, resp) = post_multipart(&app, &owner, &ct, body, true).await;
        assert_eq!(status, 200, "{resp}");
    }
    assert_eq!(files().len(), 3);
    assert_eq!(app.count_rows("released_media").await, 2);

    // Once read URLs signed before the replacement have expired (here: made so), the
    // replaced objects go; the current thumbnail stays.
    let db = app.database().await;
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE released_media SET released_at = '2000-01-01 00:00:00+00:00'",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    while files().len() > 1 {
        assert!(started.elapsed() < Duration::from_secs(20), "{:?}", files());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.count_rows("released_media").await, 0);
    let v = app
        .gql_as(
            Some(&owner.access),
            "query($v: ID!) { video(id: $v) { thumbnailUrl } }",
            json!({ "v": id }),
        )
        .await;
    let url = v.data()["video"]["thumbnailUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    let resp = app.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 200);

    // Bytes sent for a ticket that is never completed go once it has long expired.
    let r = app
        .gql_as(
            Some(&owner.access),
            "mutation($v: ID!, $n: Int!) { requestVideoUpload(videoId: $v, input: {filename: \"a.mp4\", contentType: \"video/mp4\", sizeBytes: $n}) { uploadUrl method headers { name value } } }",
            json!({ "v": id, "n": crate::media::TINY_MP4.len() }),
        )
        .await;
    let t = r.data()["requestVideoUpload"].clone();
    let mut req = app
        .client
        .request(
            t["method"].as_str().unwrap().parse().unwrap(),
            t["uploadUrl"].as_str().unwrap(),
        )
        .body(crate::media::TINY_MP4.to_vec());
    for h in t["headers"].as_array().unwrap() {
        req = req.header(h["name"].as_str().unwrap(), h["value"].as_str().unwrap());
    }
    assert_eq!(req.send().await.unwrap().status(), 201);
    let uploads = || {
        let mut out = Vec::new();
        fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    walk(&p, out);
                } else if p.to_string_lossy().contains("media-") {
                    out.push(p);
                }
            }
        }
        walk(&media, &mut out);
        out
    };
    assert_eq!(uploads().len(), 1);
    sea_orm::ConnectionTrait::execute_unprepared(
        &db,
        "UPDATE uploads SET expires_at = '2000-01-01 00:00:00+00:00' WHERE completed_at IS NULL",
    )
    .await
    .unwrap();
    let started = std::time::Instant::now();
    while !uploads().is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{:?}",
            uploads()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        app.count_rows("uploads").await,
        3,
        "only the completed thumbnails stay"
    );
}

#[tokio::test]
async fn a_deleted_search_index_is_rebuilt_and_readiness_tells_the_truth() {
    let app = spawn_app().await;
    let u = app.register("indexed").await;
    let first = app
        .create_video(&u, "Aurora borealis timelapse", json!({}))
        .await;
    app.publish(&u, &first).await;
    let search = |q: &'static str| {
        let app = &app;
        async move {
            let r = app
                .gql(
                    "query($q: String!) { search(query: $q) { totalCount } }",
                    json!({ "q": q }),
                )
                .await;
            r.data()["search"]["totalCount"].as_i64().unwrap()
        }
    };
    let wait = |q: &'static str| async move {
        let started = std::time::Instant::now();
        while search(q).await != 1 {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{q} never became searchable"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    wait("aurora").await;

    std::fs::remove_dir_all(app.data_dir.join("search-index")).unwrap();
    let second = app
        .create_video(&u, "Glacier hiking guide", json!({}))
        .await;
    app.publish(&u, &second).await;
    wait("glacier").await;
    wait("aurora").await;
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["search"], "ok", "{body}");
}

#[tokio::test]
async fn a_sqlite_file_locked_by_another_process_is_unavailable_quickly_and_not_ready() {
    let app = spawn_app().await;
    if app.database_url.is_some() {
        return; // SQLite's file lock; PostgreSQL has no such fault.
    }
    let u = app.register("locked").await;
    let path = app.data_dir.join("reelgraph.db");
    let url = format!("sqlite://{}?mode=rw", path.display());
    let other = sea_orm::Database::connect(url).await.unwrap();
    // Another process holding the write lock, as `sqlite3 reelgraph.db 'BEGIN EXCLUSIVE'`
    // would (a separate connection pool behaves the same way for SQLite's locks).
    let txn = sea_orm::TransactionTrait::begin_with_config(&other, None, None)
        .await
        .unwrap();
    sea_orm::ConnectionTrait::execute_unprepared(&txn, "INSERT INTO search_outbox (video_id, created_at) VALUES (NULL, '2000-01-01 00:00:00+00:00')")
        .await
        .unwrap();
    let r = app
        .gql_as(
            Some(&u.access),
            "mutation { createVideo(input: {title: \"Blocked\"}) { id } }",
            json!({}),
        )
        .await;
    assert_eq!(r.code(), "UNAVAILABLE", "{}", r.body);
    let ready = app
        .client
        .get(app.url("/health/ready"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    txn.rollback().await.unwrap();

    // Without any client write, readiness finds out by itself that writes work again.
    let started = std::time::Instant::now();
    loop {
        let ready = app
            .client
            .get(app.url("/health/ready"))
            .send()
            .await
            .unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "never ready again"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.create_video(&u, "Unblocked", json!({})).await;
}

/// CPU seconds (user and system) a process has used, from /proc.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

#[tokio::test]
async fn out_of_descriptors_the_accept_loop_waits_instead_of_spinning() {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return;
    }
    let env = Env::new().await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The server under a 256-descriptor limit, as in the report.
    let command = env.command(&[]);
    let program = command.get_program().to_owned();
    let mut shell = std::process::Command::new("sh");
    shell
        .arg("-c")
        .arg(format!(
            "ulimit -n 256 && exec \"$0\" serve --listen 127.0.0.1:{port}"
        ))
        .arg(program)
        .envs(command.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env(
            "REELGRAPH_JWT_SECRET",
            "test-secret-test-secret-test-secret-0123",
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let server = crate::search_recovery::Server::spawn(shell);
    let app = TestApp::at(
        format!("127.0.0.1:{port}").parse().unwrap(),
        env.data.path().into(),
        env.database_url.clone(),
    );
    ready(&app).await;

    // Idle connections until the process runs out of descriptors (the backlog holds more).
    let mut idle = Vec::new();
    let mut stalled = 0;
    while idle.len() < 400 && stalled < 3 {
        // Past the listen backlog a connect waits for SYN retries; a busy server may also
        // be slow to accept. Three waits in a row mean the backlog is full.
        match tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(app.addr),
        )
        .await
        {
            Ok(Ok(s)) => {
                idle.push(s);
                stalled = 0;
            }
            _ => stalled += 1,
        }
    }
    assert!(idle.len() > 256, "only {} connections", idle.len());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = cpu_seconds(server.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let spent = cpu_seconds(server.id()) - before;
    assert!(
        spent < 0.5,
        "the server burnt {spent:.2} s of CPU in 2 s while out of descriptors"
    );

    // Once the idle connections go, it answers again.
    drop(idle);
    let started = std::time::Instant::now();
    loop {
        let answered = tokio::time::timeout(
            Duration::from_secs(2),
            app.client.get(app.url("/health/live")).send(),
        )
        .await;
        if matches!(answered, Ok(Ok(r)) if r.status() == 200) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the server never recovered"
        );
    }
    drop(server);
}
