//! `reelgraph-bench-fanout <http://host:port> <subscribers> [events-per-second] [seconds] [server-pid]`
//!
//! Opens N graphql-transport-ws sockets (anonymous) subscribed to `videoStats` of one
//! published video, then toggles a favorite on it at the given rate. Each update carries
//! the time the server published it (`at`); the tool records delivered messages per
//! second and event-to-client latency (p50/p99), and, with the server's pid, its RSS idle,
//! with the subscribers connected, and per subscriber. Prints one JSON object.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

async fn gql(
    http: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Result<Value> {
    let mut req = http
        .post(format!("{url}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let body: Value = req.send().await?.json().await?;
    if body.get("errors").is_some_and(|e| !e.is_null()) {
        bail!("GraphQL errors: {body}");
    }
    Ok(body["data"].clone())
}

fn rss_mb(pid: Option<u32>) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<f64>().ok()? / 1024.0)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .context("usage: reelgraph-bench-fanout <url> <subscribers> [events/s] [seconds] [pid]")?
        .trim_end_matches('/')
        .to_owned();
    let subscribers: usize = args.get(2).context("subscribers")?.parse()?;
    let rate: f64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(10.0);
    let seconds: u64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(20);
    let pid: Option<u32> = args.get(5).map(|s| s.parse()).transpose()?;
    let http = reqwest::Client::new();

    let name = format!("fan{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let reg = gql(&http, &url, None,
        "mutation($u: String!, $e: String!) { register(input: {username: $u, email: $e, password: \"correct horse battery\"}) { accessToken } }",
        json!({ "u": name, "e": format!("{name}@example.com") })).await?;
    let token = reg["register"]["accessToken"]
        .as_str()
        .context("token")?
        .to_owned();
    let video = gql(
        &http,
        &url,
        Some(&token),
        "mutation { createVideo(input: {title: \"Fan-out\"}) { id } }",
        json!({}),
    )
    .await?;
    let video = video["createVideo"]["id"]
        .as_str()
        .context("video id")?
        .to_owned();
    gql(
        &http,
        &url,
        Some(&token),
        "mutation($id: ID!) { publishVideo(id: $id) { id } }",
        json!({ "id": video }),
    )
    .await?;

    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = rss_mb(pid);
    let ws_url = format!("{}/graphql/ws", url.replacen("http", "ws", 1));
    let delivered = Arc::new(AtomicU64::new(0));
    let latencies: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(subscribers.max(1));
    let connect_started = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    for _ in 0..subscribers {
        let (ws_url, video, delivered, latencies, measuring, ready_tx, gate) = (
            ws_url.clone(),
            video.clone(),
            delivered.clone(),
            latencies.clone(),
            measuring.clone(),
            ready_tx.clone(),
            gate.clone(),
        );
        tokio::spawn(async move {
            let socket = {
                let _permit = gate.acquire().await;
                let mut request = ws_url.into_client_request().ok()?;
                request.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    "graphql-transport-ws".parse().ok()?,
                );
                let (mut socket, _) = tokio_tungstenite::connect_async(request).await.ok()?;
                socket
                    .send(Message::text(
                        json!({ "type": "connection_init", "payload": {} }).to_string(),
                    ))
                    .await
                    .ok()?;
                socket.send(Message::text(json!({ "id": "s", "type": "subscribe", "payload": {
                    "query": "subscription($v: ID!) { videoStats(videoId: $v) { likeCount at } }", "variables": { "v": video } } }).to_string())).await.ok()?;
                socket
            };
            let mut socket = socket;
            let mut acked = false;
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let value: Value = serde_json::from_str(&text).ok()?;
                match value["type"].as_str() {
                    Some("connection_ack") if !acked => {
                        acked = true;
                        let _ = ready_tx.send(()).await;
                    }
                    Some("next") => {
                        let at = value["payload"]["data"]["videoStats"]["at"].as_str()?;
                        let at = chrono::DateTime::parse_from_rfc3339(at).ok()?;
                        let ms = (chrono::Utc::now() - at.with_timezone(&chrono::Utc))
                            .num_microseconds()? as f64
                            / 1000.0;
                        if measuring.load(Ordering::Relaxed) {
                            delivered.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut l) = latencies.lock() {
                                l.push(ms);
                            }
                        }
                    }
                    Some("ping") => {
                        let _ = socket
                            .send(Message::text(json!({ "type": "pong" }).to_string()))
                            .await;
                    }
                    _ => {}
                }
            }
            Some(())
        });
    }
    drop(ready_tx);
    let mut connected = 0;
    while connected < subscribers {
        match tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await {
            Ok(Some(())) => connected += 1,
            _ => break,
        }
    }
    let connect_seconds = connect_started.elapsed().as_secs_f64();
    // Let the subscriptions register on the server before the first event.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected_rss = rss_mb(pid);

    measuring.store(true, Ordering::Relaxed);
    let period = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let mut fired = 0u64;
    let mut tick = tokio::time::interval(period);
    while started.elapsed() < Duration::from_secs(seconds) {
        tick.tick().await;
        let q = if fired.is_multiple_of(2) {
            "mutation($v: ID!) { addFavorite(kind: VIDEO, targetId: $v) { createdAt } }"
        } else {
            "mutation($v: ID!) { removeFavorite(kind: VIDEO, targetId: $v) }"
        };
        let (http, url, token, video) = (http.clone(), url.clone(), token.clone(), video.clone());
        tokio::spawn(async move { gql(&http, &url, Some(&token), q, json!({ "v": video })).await });
        fired += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let mut l = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    l.sort_by(|a, b| a.total_cmp(b));
    let delivered = delivered.load(Ordering::Relaxed);
    let per_sub_kb = match (idle_rss, connected_rss) {
        (Some(i), Some(c)) if connected > 0 => Some((c - i) * 1024.0 / connected as f64),
        _ => None,
    };
    println!(
        "{}",
        json!({
            "subscribers": subscribers,
            "connected": connected,
            "connect_seconds": connect_seconds,
            "events_fired": fired,
            "events_per_second": rate,
            "delivered": delivered,
            "expected": fired as u128 * connected as u128,
            "delivered_per_second": delivered as f64 / elapsed,
            "latency_ms_p50": percentile(&l, 0.50),
            "latency_ms_p99": percentile(&l, 0.99),
            "latency_ms_max": l.last().copied().unwrap_or(f64::NAN),
            "server_rss_idle_mb": idle_rss,
            "server_rss_connected_mb": connected_rss,
            "server_kb_per_subscriber": per_sub_kb,
        })
    );
    Ok(())
}
