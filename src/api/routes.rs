//! The HTTP surface: `/graphql`, `/graphiql`, health checks and `/metrics`.

use std::sync::OnceLock;

use async_graphql::http::GraphiQLSource;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use poem::http::StatusCode;
use poem::middleware::CatchPanic;
use poem::web::{Data, Html, Json, Redirect};
use poem::{get, handler, put, EndpointExt, IntoEndpoint, IntoResponse, Response, Route};
use serde_json::json;

use super::http::{graphql, graphql_stream, request_log, BodyLimit, MultipartLimits};
use super::live::{graphql_ws, LiveLimits, LiveQuotas, SessionWatch, WsLimits, WsOrigins};
use super::media::{read_media, upload_media};
use super::schema::build_schema;
use super::state::ApiState;
use crate::config::Config;
use crate::domain::health::{Measure, MeasureKind};

#[handler]
fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql/ws")
            .title("reelgraph")
            .finish(),
    )
}

#[handler]
fn root() -> Redirect {
    Redirect::see_other("/graphiql")
}

#[handler]
fn live() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

/// Ready when the database answers and takes writes, Redis (when configured) answers, and
/// the search index keeps up (not failing, not being rebuilt).
#[handler]
async fn ready(Data(state): Data<&ApiState>) -> Response {
    let readiness = state.health.readiness().await;
    let ok = readiness.is_ready();
    if let Err(e) = &readiness.database {
        tracing::warn!(error = %e, "readiness: database unavailable");
    }
    let status_of = |r: &Result<(), String>| if r.is_ok() { "ok" } else { "unavailable" };
    let body = json!({
        "status": if ok { "ok" } else { "unavailable" },
        "database": status_of(&readiness.database),
        "redis": readiness.redis.as_ref().map(status_of),
        "search": readiness.search,
    });
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    Json(body).with_status(status).into_response()
}

/// How often histogram samples are folded into their summaries. The recorder keeps every
/// sample until then (or until `/metrics` is read), so without upkeep an instance nobody
/// scrapes grows by each request's samples.
const METRICS_UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => {
                let upkeep = handle.clone();
                // The recorder is the process's, so its upkeep lives as long as the process.
                let started = std::thread::Builder::new()
                    .name("metrics-upkeep".into())
                    .spawn(move || loop {
                        std::thread::sleep(METRICS_UPKEEP);
                        upkeep.run_upkeep();
                    });
                if let Err(e) = started {
                    tracing::warn!(error = %e, "metrics upkeep not started");
                }
                Some(handle)
            }
            Err(e) => {
                tracing::warn!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

#[handler]
fn metrics_endpoint(Data(state): Data<&ApiState>) -> Response {
    let mut text = prometheus().map(|h| h.render()).unwrap_or_default();
    for measure in state.health.measures() {
        let kind = match measure.kind {
            MeasureKind::Counter => "counter",
            MeasureKind::Gauge => "gauge",
        };
        let Measure {
            name, help, value, ..
        } = measure;
        text.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"
        ));
    }
    Response::builder()
        .content_type("text/plain; version=0.0.4")
        .body(text)
}

pub fn routes(state: ApiState, config: &Config) -> impl IntoEndpoint {
    prometheus();
    let schema = build_schema(state.clone(), config.introspection_enabled());
    let sessions = SessionWatch::start(&state.events);
    Route::new()
        .at("/", get(root))
        .at("/graphql", get(graphql).post(graphql).around(request_log))
        .at("/graphql/ws", get(graphql_ws))
        .at(
            "/graphql/stream",
            get(graphql_stream).post(graphql_stream).around(request_log),
        )
        .at("/graphiql", get(graphiql))
        .at("/health/live", get(live))
        .at("/health/ready", get(ready))
        .at("/metrics", get(metrics_endpoint))
        .at("/media/upload/*key", put(upload_media))
        .at("/media/files/*key", get(read_media))
        .data(schema)
        .data(state)
        .data(BodyLimit(config.http.max_body_bytes))
        .data(WsOrigins(config.live.ws_origins.clone()))
        .data(sessions)
        .data(WsLimits {
            init_timeout: std::time::Duration::from_secs(config.live.ws_init_timeout_seconds),
            ..WsLimits::default()
        })
        .data(LiveQuotas::new(LiveLimits {
            sockets_per_client: config.live.sockets_per_client,
            subscriptions_per_client: config.live.subscriptions_per_client,
        }))
        .data(MultipartLimits {
            max_file_bytes: config.media.max_multipart_file_bytes,
            max_files: config.media.max_multipart_files,
        })
        .with(CatchPanic::new())
}
