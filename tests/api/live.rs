//! Subscriptions through the real server over WebSocket, in both protocols, with real
//! protocol clients written here.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{service_url, spawn_app_with, Options, TestApp};
use crate::media::{multipart_body, post_multipart, TINY_MP4};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Opens `/graphql/ws` with `protocol` and sends connection_init with `token`.
pub async fn connect(app: &TestApp, protocol: &str, token: Option<&str>) -> Socket {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    let (mut socket, response) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert_eq!(
        response.headers().get("sec-websocket-protocol").unwrap(),
        protocol
    );
    let payload = match token {
        Some(t) => json!({ "authorization": format!("Bearer {t}") }),
        None => json!({}),
    };
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": payload }),
    )
    .await;
    let ack = recv(&mut socket).await;
    assert_eq!(ack["type"], "connection_ack", "{ack}");
    socket
}

/// A graphql-transport-ws subscribe message.
pub async fn subscribe(socket: &mut Socket, id: &str, query: &str, variables: Value) {
    let payload = json!({ "query": query, "variables": variables });
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": payload }),
    )
    .await;
}

async fn send(socket: &mut Socket, message: Value) {
    socket
        .send(Message::text(message.to_string()))
        .await
        .unwrap();
}

/// The next protocol message, skipping keepalives.
pub async fn recv(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), socket.next())
            .await
            .expect("a message within 30 s")
            .expect("socket open")
            .unwrap();
        if let Message::Text(text) = message {
            let value: Value = serde_json::from_str(&text).unwrap();
            if !matches!(value["type"].as_str(), Some("ka" | "ping" | "pong")) {
                return value;
            }
        }
    }
}

#[tokio::test]
async fn processing_and_notifications_reach_a_graphql_transport_ws_subscriber() {
    let app = spawn_app_with(Options::default()).await;
    let owner = app.register("live_owner").await;
    let other = app.register("live_other").await;
    let id = app.create_video(&owner, "Live", json!({})).await;

    // Another user may not follow this video's processing.
    let mut theirs = connect(&app, "graphql-transport-ws", Some(&other.access)).await;
    subscribe(
        &mut theirs,
        "x",
        "subscription($v: ID!) { videoProcessing(videoId: $v) { status } }",
        json!({ "v": id }),
    )
    .await;
    // A resolver error is a result with errors (then the subscription completes).
    let refused = recv(&mut theirs).await;
    assert_eq!(refused["type"], "next", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );

    let mut socket = connect(&app, "graphql-transport-ws", Some(&owner.access)).await;
    subscribe(&mut socket, "p", "subscription($v: ID!) { videoProcessing(videoId: $v) { videoId status stage progress at } }", json!({ "v": id })).await;
    subscribe(
        &mut socket,
        "n",
        "subscription { myNotifications { kind message videoId } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let (ct, body) = multipart_body(
        "mutation($v: ID!, $f: Upload!) { uploadVideo(videoId: $v, file: $f) { status } }",
        json!({ "v": id, "f": null }),
        &[("f", "clip.mp4", "video/mp4", TINY_MP4)],
    );
    let (status, resp) = post_multipart(&app, &owner, &ct, body, true).await;
    assert_eq!(status, 200, "{resp}");

    let mut stages = Vec::new();
    let mut notification = None;
    let mut completed = false;
    while !(completed && notification.is_some()) {
        let message = recv(&mut socket).await;
        match (message["type"].as_str(), message["id"].as_str()) {
            (Some("next"), Some("p")) => {
                let event = &message["payload"]["data"]["videoProcessing"];
                assert_eq!(event["videoId"], id.as_str());
                stages.push((
                    event["status"].as_str().unwrap().to_owned(),
                    event["progress"].as_i64().unwrap(),
                ));
            }
            (Some("complete"), Some("p")) => completed = true,
            (Some("next"), Some("n")) => {
                notification = Some(message["payload"]["data"]["myNotifications"].clone())
            }
            _ => panic!("unexpected {message}"),
        }
    }
    assert_eq!(
        stages.first().map(|s| s.0.as_str()),
        Some("PROCESSING"),
        "{stages:?}"
    );
    assert_eq!(
        stages.last(),
        Some(&("READY".to_owned(), 100)),
        "{stages:?}"
    );
    assert!(
        stages.windows(2).all(|w| w[0].1 <= w[1].1),
        "progress went back: {stages:?}"
    );
    let notification = notification.unwrap();
    assert_eq!(notification["kind"], "VIDEO_READY");
    assert_eq!(notification["videoId"], id.as_str());
}

#[tokio::test]
async fn stats_reach_an_anonymous_legacy_graphql_ws_subscriber_coalesced() {
    let app = spawn_app_with(Options::default()).await;
    let owner = app.register("stats_owner").await;
    let id = app.create_video(&owner, "Counted", json!({})).await;
    app.publish(&owner, &id).await;

    let mut socket = connect(&app, "graphql-ws", None).await;
    send(&mut socket, json!({ "id": "s", "type": "start", "payload": {
        "query": "subscription($v: ID!) { videoStats(videoId: $v) { videoId viewCount likeCount } }",
        "variables": { "v": id } } })).await;
    // Anonymous sockets cannot hear anyone's notifications.
    send(
        &mut socket,
        json!({ "id": "n", "type": "start", "payload": {
        "query": "subscription { myNotifications { kind } }" } }),
    )
    .await;
    let refused = recv(&mut socket).await;
    assert_eq!(refused["id"], "n", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );
    assert_eq!(recv(&mut socket).await["type"], "complete");
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Ten likes in a burst arrive as a few updates, the last with all ten.
    let mut fans = Vec::new();
    for i in 0..10 {
        fans.push(app.register(&format!("fan{i}")).await);
    }
    let like = "mutation($v: ID!) { addFavorite(kind: VIDEO, targetId: $v) { createdAt } }";
    for fan in &fans {
        app.gql_as(Some(&fan.access), like, json!({ "v": id }))
            .await
            .data();
    }
    let mut updates = Vec::new();
    loop {
        let message = recv(&mut socket).await;
        assert_eq!(
            (message["type"].as_str(), message["id"].as_str()),
            (Some("data"), Some("s")),
            "{message}"
        );
        let likes = message["payload"]["data"]["videoStats"]["likeCount"]
            .as_i64()
            .unwrap();
        updates.push(likes);
        if likes == 10 {
            break;
        }
    }
    assert!(updates.windows(2).all(|w| w[0] <= w[1]), "{updates:?}");
    assert!(updates.len() < 10, "not coalesced: {updates:?}");
}

#[tokio::test]
async fn an_event_on_one_instance_reaches_a_subscriber_on_another_through_redis() {
    let Some(redis_url) = service_url("TEST_REDIS_URL") else {
        return;
    };
    let (a, b, _shared) = crate::helpers::two_instances(&redis_url).await;
    let owner = a.register("cross_owner").await;
    let id = a.create_video(&owner, "Cross", json!({})).await;
    a.publish(&owner, &id).await;

    let mut socket = connect(&a, "graphql-transport-ws", Some(&owner.access)).await;
    subscribe(
        &mut socket,
        "s",
        "subscription($v: ID!) { videoStats(videoId: $v) { likeCount } }",
        json!({ "v": id }),
    )
    .await;
    subscribe(
        &mut socket,
        "n",
        "subscription { myNotifications { kind videoId } }",
        json!({}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let fan = b.register("cross_fan").await;
    b.gql_as(
        Some(&fan.access),
        "mutation($v: ID!) { addFavorite(kind: VIDEO, targetId: $v) { createdAt } }",
        json!({ "v": id }),
    )
    .await
    .data();
    let mut got = (false, false);
    while got != (true, true) {
        let message = recv(&mut socket).await;
        match message["id"].as_str() {
            Some("s") => {
                assert_eq!(
                    message["payload"]["data"]["videoStats"]["likeCount"], 1,
                    "{message}"
                );
                got.0 = true;
            }
            Some("n") => {
                assert_eq!(
                    message["payload"]["data"]["myNotifications"]["kind"], "FAVORITED",
                    "{message}"
                );
                got.1 = true;
            }
            _ => panic!("unexpected {message}"),
        }
    }
}

/// Opens a socket without connection_init.
async fn open(app: &TestApp, protocol: &str) -> Socket {
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("Sec-WebSocket-Protocol", protocol.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// Reads until the server closes; returns the close code.
async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .expect("the server closes within 15 s");
        match message {
            Some(Ok(Message::Close(Some(frame)))) => return frame.code.into(),
            Some(Ok(Message::Close(None))) | None => return 1005,
            Some(Ok(_)) => continue,
            Some(Err(e)) => panic!("socket error before a close frame: {e}"),
        }
    }
}

#[tokio::test]
async fn the_socket_closes_with_the_protocol_codes() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| c.live.ws_init_timeout_seconds = 1)),
        ..Options::default()
    })
    .await;
    let user = app.register("socket_user").await;
    let sub = |id: &str| json!({ "id": id, "type": "subscribe", "payload": { "query": "subscription { myNotifications { kind } }" } });

    // No connection_init in time.
    let mut s = open(&app, "graphql-transport-ws").await;
    assert_eq!(close_code(&mut s).await, 4408);
    // Subscribing before the connection is acknowledged.
    let mut s = open(&app, "graphql-transport-ws").await;
    send(&mut s, sub("a")).await;
    assert_eq!(close_code(&mut s).await, 4401);
    // Malformed messages.
    let mut s = open(&app, "graphql-transport-ws").await;
    s.send(Message::text("{not json")).await.unwrap();
    assert_eq!(close_code(&mut s).await, 4400);
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    send(&mut s, json!({ "type": "nonsense" })).await;
    assert_eq!(close_code(&mut s).await, 4400);
    // A refused token.
    let mut s = open(&app, "graphql-transport-ws").await;
    send(
        &mut s,
        json!({ "type": "connection_init", "payload": { "authorization": "Bearer not-a-token" } }),
    )
    .await;
    assert_eq!(close_code(&mut s).await, 4403);
    // A second connection_init.
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    send(&mut s, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(close_code(&mut s).await, 4429);
    // A subscription id in use.
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    send(&mut s, sub("dup")).await;
    send(&mut s, sub("dup")).await;
    assert_eq!(close_code(&mut s).await, 4409);
    // A message over the size limit.
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    s.send(Message::text(format!(
        "{{\"type\":\"ping\",\"payload\":\"{}\"}}",
        "x".repeat(100 << 10)
    )))
    .await
    .unwrap();
    assert_eq!(close_code(&mut s).await, 1009);
    // Pings are answered.
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    send(&mut s, json!({ "type": "ping" })).await;
    let mut answer = recv_any(&mut s).await;
    while answer["type"] == "ping" {
        answer = recv_any(&mut s).await;
    }
    assert_eq!(answer["type"], "pong");

    // A page on a foreign origin cannot open a socket.
    let mut request = format!("ws://{}/graphql/ws", app.addr)
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    request
        .headers_mut()
        .insert("Origin", "https://evil.example".parse().unwrap());
    assert!(
        tokio_tungstenite::connect_async(request).await.is_err(),
        "foreign origin accepted"
    );

    // logoutAll closes the user's live sockets.
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    send(&mut s, sub("n")).await;
    app.gql_as(Some(&user.access), "mutation { logoutAll }", json!({}))
        .await
        .data();
    assert_eq!(close_code(&mut s).await, 4403);
}

/// The next message of any type.
async fn recv_any(socket: &mut Socket) -> Value {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(15), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(text) = message {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Reads a streamed HTTP body until `needle` appears.
async fn read_until(resp: reqwest::Response, needle: &str) -> String {
    let mut body = resp.bytes_stream();
    let mut seen = String::new();
    while !seen.contains(needle) {
        let chunk = tokio::time::timeout(Duration::from_secs(15), body.next())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 15 s; got {seen:?}"))
            .expect("stream open")
            .unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    seen
}

#[tokio::test]
async fn subscriptions_over_sse_and_multipart_mixed() {
    let app = spawn_app_with(Options::default()).await;
    let owner = app.register("sse_owner").await;
    let id = app.create_video(&owner, "Streamed", json!({})).await;
    app.publish(&owner, &id).await;
    let query = json!({
        "query": "subscription($v: ID!) { videoStats(videoId: $v) { videoId viewCount } }",
        "variables": { "v": id },
    });
    let view = "mutation($v: ID!) { recordView(videoId: $v) { viewCount } }";

    // graphql-sse, distinct connections: anonymous, JSON body.
    let sse = app
        .client
        .post(app.url("/graphql/stream"))
        .header("Accept", "text/event-stream")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status().as_u16(), 200);
    assert!(sse.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.gql_as(Some(&owner.access), view, json!({ "v": id }))
        .await
        .data();
    let seen = read_until(sse, "\"viewCount\":1").await;
    assert!(
        seen.contains("event: next\ndata: {\"data\":{\"videoStats\":"),
        "{seen}"
    );

    // Without Accept: text/event-stream the stream endpoint says so.
    let refused = app
        .client
        .post(app.url("/graphql/stream"))
        .json(&query)
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 406);

    // multipart/mixed over POST /graphql.
    let mixed = app
        .client
        .post(app.url("/graphql"))
        .header("Accept", "multipart/mixed")
        .json(&query)
        .send()
        .await
        .unwrap();
    assert!(mixed.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("multipart/mixed"));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let fan = app.register("sse_fan").await;
    app.gql_as(Some(&fan.access), view, json!({ "v": id }))
        .await
        .data();
    read_until(mixed, "\"viewCount\":2").await;
}

#[tokio::test]
async fn the_dashboard_is_computed_once_per_interval_for_all_admins() {
    let app = spawn_app_with(Options::default()).await;
    let admin = app
        .promote(&app.register("dash_admin").await, "ADMIN")
        .await;
    let creator = app.register("dash_creator").await;
    let id = app.create_video(&creator, "Watched", json!({})).await;
    app.publish(&creator, &id).await;
    app.gql_as(
        Some(&creator.access),
        "mutation($v: ID!) { recordView(videoId: $v) { viewCount } }",
        json!({ "v": id }),
    )
    .await
    .data();
    let query = "subscription { dashboard(intervalSeconds: 1) { at videosTotal usersTotal viewsLastMinute activeSubscriptions queue { pendingJobs } topVideos { id title owner { username } } } }";

    // Not for creators.
    let mut theirs = connect(&app, "graphql-transport-ws", Some(&creator.access)).await;
    subscribe(&mut theirs, "d", query, json!({})).await;
    let refused = recv(&mut theirs).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );

    // Three admin sockets on one interval share each computation.
    let mut sockets = Vec::new();
    for _ in 0..3 {
        let mut s = connect(&app, "graphql-transport-ws", Some(&admin.access)).await;
        subscribe(&mut s, "d", query, json!({})).await;
        sockets.push(s);
    }
    let mut ats = Vec::new();
    for s in &mut sockets {
        let mut first = recv(s).await;
        // A socket that joined just before a tick may see that tick's value first.
        let mut stats = first["payload"]["data"]["dashboard"].take();
        while stats["activeSubscriptions"].as_i64().unwrap_or(0) < 3 {
            stats = recv(s).await["payload"]["data"]["dashboard"].take();
        }
        assert_eq!(stats["videosTotal"], 1, "{stats}");
        assert_eq!(stats["usersTotal"], 2, "{stats}");
        assert_eq!(stats["viewsLastMinute"], 1, "{stats}");
        assert_eq!(stats["topVideos"][0]["id"], id.as_str(), "{stats}");
        assert_eq!(stats["topVideos"][0]["owner"]["username"], "dash_creator");
        ats.push(stats["at"].as_str().unwrap().to_owned());
    }
    assert!(
        ats.iter().all(|a| *a == ats[0]),
        "each socket got its own computation: {ats:?}"
    );
}

/// A private Redis on a free port, killed when dropped.
struct PrivateRedis {
    child: std::process::Child,
    port: u16,
}

impl PrivateRedis {
    fn start(port: u16) -> Option<Self> {
        let child = std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { child, port });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    fn stop(mut self) -> u16 {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.port
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn the_bus_survives_a_redis_restart_and_the_server_keeps_answering() {
    if service_url("TEST_REDIS_URL").is_none() {
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(redis) = PrivateRedis::start(port) else {
        assert!(
            !crate::helpers::require_services(),
            "cannot start redis-server"
        );
        return;
    };
    let url = format!("redis://127.0.0.1:{port}");
    let (a, b, _shared) = crate::helpers::two_instances(&url).await;
    let owner = a.register("restart_owner").await;
    let fan = b.register("restart_fan").await;
    let id = a.create_video(&owner, "Restart", json!({})).await;
    a.publish(&owner, &id).await;
    let mut socket = connect(&a, "graphql-transport-ws", Some(&owner.access)).await;
    subscribe(
        &mut socket,
        "s",
        "subscription($v: ID!) { videoStats(videoId: $v) { likeCount } }",
        json!({ "v": id }),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let toggle = |add: bool| {
        if add {
            "mutation($v: ID!) { addFavorite(kind: VIDEO, targetId: $v) { createdAt } }"
        } else {
            "mutation($v: ID!) { removeFavorite(kind: VIDEO, targetId: $v) }"
        }
    };
    b.gql_as(Some(&fan.access), toggle(true), json!({ "v": id }))
        .await
        .data();
    assert_eq!(
        recv(&mut socket).await["payload"]["data"]["videoStats"]["likeCount"],
        1
    );

    // Redis goes away: queries still answer on both instances.
    let port = redis.stop();
    for app in [&a, &b] {
        let r = app
            .gql(
                "query($v: ID!) { video(id: $v) { title likeCount } }",
                json!({ "v": id }),
            )
            .await;
        assert_eq!(r.data()["video"]["title"], "Restart");
    }
    // Signed-in requests need the revocation list: refused as unavailable at once (a
    // bounded wait, not the client library's default six reconnect attempts).
    let started = std::time::Instant::now();
    let r = a
        .gql_as(Some(&owner.access), "{ me { id } }", json!({}))
        .await;
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.code(), "UNAVAILABLE");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );

    // Redis comes back: the bus reconnects by itself and events cross again.
    let _redis = PrivateRedis::start(port).expect("restart redis-server");
    let started = std::time::Instant::now();
    let mut add = false;
    loop {
        let r = b
            .gql_as(Some(&fan.access), toggle(add), json!({ "v": id }))
            .await;
        if r.body.get("errors").is_none() {
            let expected = if add { 1 } else { 0 };
            if let Ok(Some(Ok(Message::Text(text)))) =
                tokio::time::timeout(Duration::from_millis(700), socket.next()).await
            {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["payload"]["data"]["videoStats"]["likeCount"] == expected {
                    break;
                }
            }
            add = !add;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the bus did not reconnect: {}",
            r.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn queue_metrics_are_pushed_when_the_queue_changes() {
    let app = spawn_app_with(Options::default()).await;
    let owner = app.register("queue_owner").await;
    let id = app.create_video(&owner, "Queued", json!({})).await;
    let query = "subscription { queueMetrics { pendingJobs runningJobs failedJobs deadJobs estimatedWaitSeconds } }";

    // Anonymous sockets may not watch the queue.
    let mut anonymous = connect(&app, "graphql-transport-ws", None).await;
    subscribe(&mut anonymous, "q", query, json!({})).await;
    let refused = recv(&mut anonymous).await;
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
        "{refused}"
    );

    let mut socket = connect(&app, "graphql-transport-ws", Some(&owner.access)).await;
    subscribe(&mut socket, "q", query, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (ct, body) = multipart_body(
        "mutation($v: ID!, $f: Upload!) { uploadVideo(videoId: $v, file: $f) { status } }",
        json!({ "v": id, "f": null }),
        &[("f", "clip.mp4", "video/mp4", TINY_MP4)],
    );
    assert_eq!(post_multipart(&app, &owner, &ct, body, true).await.0, 200);
    // Updates follow the job through the queue until it is empty again.
    let mut seen = Vec::new();
    loop {
        let message = recv(&mut socket).await;
        assert_eq!(message["type"], "next", "{message}");
        let m = message["payload"]["data"]["queueMetrics"].clone();
        let busy = m["pendingJobs"].as_i64().unwrap() + m["runningJobs"].as_i64().unwrap();
        seen.push(busy);
        if busy == 0 && seen.len() > 1 {
            break;
        }
        if busy == 0 && crate::media::video(&app, Some(&owner), &id).await["status"] == "READY" {
            break;
        }
    }
    assert_eq!(*seen.last().unwrap(), 0, "{seen:?}");
}

#[tokio::test]
async fn a_socket_closes_when_its_access_token_expires() {
    let app = spawn_app_with(Options {
        configure: Some(Box::new(|c| c.auth.access_token_seconds = 2)),
        ..Options::default()
    })
    .await;
    let user = app.register("short_lived").await;
    let mut s = connect(&app, "graphql-transport-ws", Some(&user.access)).await;
    subscribe(
        &mut s,
        "n",
        "subscription { myNotifications { kind } }",
        json!({}),
    )
    .await;
    let started = std::time::Instant::now();
    assert_eq!(close_code(&mut s).await, 4401);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}
