//! Subscriptions over plain HTTP:
//! - `/graphql/stream`: the graphql-sse protocol's "distinct connections" mode. A GET
//!   (query string) or POST (JSON) with `Accept: text/event-stream` answers with
//!   `event: next` for every result and `event: complete` at the end.
//! - `POST /graphql` with `Accept: multipart/mixed`: the incremental-delivery format
//!   async-graphql writes, for clients that speak it.
//!
//! Both take the access token from the Authorization header, like `/graphql`.

use std::time::Duration;

use async_graphql::http::create_multipart_mixed_stream;
use futures_util::StreamExt;
use poem::http::{header, Method, StatusCode};
use poem::web::Data;
use poem::{handler, Body, Request, Response};

use super::media::{reject, MediaType};
use super::request::{from_query_string, parse_batch, read_body};
use super::{client_key, viewer_for, BodyLimit};
use crate::api::AppSchema;
use crate::domain::auth::Viewer;
use crate::domain::{DomainError, ErrorCode};
use crate::startup::AppState;

const HEARTBEAT: Duration = Duration::from_secs(15);

/// The one operation of the request, with the viewer in its data; or the error answer.
async fn prepare(
    req: &Request,
    body: Body,
    state: &AppState,
    limit: usize,
    request_id: &str,
) -> Result<async_graphql::Request, Response> {
    let bad =
        |status, code, message: &str| reject(status, MediaType::Json, code, message, request_id);
    let request = if req.method() == Method::GET {
        from_query_string(req)
            .map_err(|m| bad(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &m))?
    } else {
        let bytes = read_body(body, limit)
            .await
            .map_err(|(status, code, message)| bad(status, code, &message))?;
        match parse_batch(&bytes)
            .map_err(|m| bad(StatusCode::BAD_REQUEST, ErrorCode::BadUserInput, &m))?
        {
            async_graphql::BatchRequest::Single(r) => r,
            async_graphql::BatchRequest::Batch(_) => {
                return Err(bad(
                    StatusCode::BAD_REQUEST,
                    ErrorCode::BadUserInput,
                    "streams take one operation, not a batch",
                ))
            }
        }
    };
    let viewer = match viewer_for(req, state).await {
        Ok(v) => v,
        Err(DomainError::Unauthenticated(m)) => {
            return Err(bad(
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthenticated,
                &m,
            ))
        }
        Err(_) => Viewer::Anonymous {
            client_key: client_key(req),
        },
    };
    Ok(super::with_request_data(request, state, &viewer))
}

/// `GET|POST /graphql/stream` (graphql-sse, distinct connections).
#[handler]
pub async fn graphql_stream(
    req: &Request,
    body: Body,
    Data(schema): Data<&AppSchema>,
    Data(state): Data<&AppState>,
    Data(limit): Data<&BodyLimit>,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let accepts_sse = req
        .header(header::ACCEPT)
        .is_some_and(|a| a.contains("text/event-stream"));
    if !accepts_sse {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            ErrorCode::BadUserInput,
            "Accept must allow text/event-stream",
            &request_id,
        );
    }
    let request = match prepare(req, body, state, limit.0, &request_id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let results = schema.execute_stream(request).map(|response| {
        let data = serde_json::to_string(&response).unwrap_or_else(|_| "{}".into());
        format!("event: next\ndata: {data}\n\n")
    });
    let complete = futures_util::stream::once(async { "event: complete\ndata:\n\n".to_owned() });
    // A comment line when nothing was sent for a while keeps proxies from closing it.
    let events =
        futures_util::stream::unfold(Some(results.chain(complete).boxed()), |state| async move {
            let mut events = state?;
            tokio::select! {
                item = events.next() => item.map(|item| (item, Some(events))),
                _ = tokio::time::sleep(HEARTBEAT) => Some((":\n\n".to_owned(), Some(events))),
            }
        });
    // Counted as a live subscription for as long as the stream is open.
    let live = crate::api::live::LiveSubscription::new(state);
    let events = events.map(move |item| {
        let _open = &live;
        item
    });
    Response::builder()
        .status(StatusCode::OK)
        .content_type("text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .header("x-accel-buffering", "no")
        .body(Body::from_bytes_stream(events.map(Ok::<_, std::io::Error>)))
}

/// A subscription over `POST /graphql` with `Accept: multipart/mixed`.
pub(super) async fn multipart_mixed(
    req: &Request,
    body: Body,
    schema: &AppSchema,
    state: &AppState,
    limit: usize,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let request = match prepare(req, body, state, limit, &request_id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let stream = create_multipart_mixed_stream(schema.execute_stream(request), HEARTBEAT);
    Response::builder()
        .status(StatusCode::OK)
        .content_type("multipart/mixed; boundary=\"-\"")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_bytes_stream(stream.map(Ok::<_, std::io::Error>)))
}
