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
use async_graphql::BatchRequest;
use futures_util::StreamExt;
use poem::http::{header, StatusCode};
use poem::web::Data;
use poem::{handler, Body, Request, Response};

use super::negotiate::{reject, MediaType};
use super::request::{accept, GetAllows};
use super::{client_key, refuse, resolve_viewer, BodyLimit, RequestId};
use crate::api::error::http_status;
use crate::api::live::{Lease, LiveQuotas};
use crate::api::ApiState;
use crate::api::AppSchema;
use crate::domain::ErrorCode;

const HEARTBEAT: Duration = Duration::from_secs(15);

/// The one operation of the request, with the viewer in its data, and the leases that
/// count the open stream against the client's limits; or the error answer. Accepted and
/// authenticated exactly as `/graphql` accepts and authenticates.
async fn prepare(
    req: &Request,
    body: Body,
    state: &ApiState,
    quotas: &LiveQuotas,
    limit: usize,
    request_id: &str,
) -> Result<(async_graphql::Request, [Lease; 2]), Response> {
    let refused = |refusal| refuse(refusal, MediaType::Json, request_id);
    let batch = accept(req, body, limit, GetAllows::QueriesAndSubscriptions)
        .await
        .map_err(refused)?;
    let viewer = resolve_viewer(req, state, &batch).await.map_err(refused)?;
    let leases = quotas
        .open_from(&client_key(req))
        .zip(quotas.subscribe(&viewer))
        .ok_or_else(|| {
            let mut resp = reject(
                http_status(ErrorCode::RateLimited),
                MediaType::Json,
                ErrorCode::RateLimited,
                &format!(
                    "at most {} open streams and sockets per address and {} subscriptions per client; close some and try again",
                    quotas.limits.sockets_per_client, quotas.limits.subscriptions_per_client
                ),
                request_id,
            );
            resp.headers_mut()
                .insert(header::RETRY_AFTER, poem::http::HeaderValue::from_static("5"));
            resp
        })?;
    match batch {
        BatchRequest::Single(r) => Ok((
            super::with_request_data(r, state, &viewer),
            [leases.0, leases.1],
        )),
        BatchRequest::Batch(_) => Err(reject(
            http_status(ErrorCode::BadUserInput),
            MediaType::Json,
            ErrorCode::BadUserInput,
            "streams take one operation, not a batch",
            request_id,
        )),
    }
}

/// `GET|POST /graphql/stream` (graphql-sse, distinct connections).
#[handler]
pub async fn graphql_stream(
    req: &Request,
    body: Body,
    Data(schema): Data<&AppSchema>,
    Data(state): Data<&ApiState>,
    Data(quotas): Data<&LiveQuotas>,
    Data(limit): Data<&BodyLimit>,
    Data(RequestId(request_id)): Data<&RequestId>,
) -> Response {
    let accepts_sse = req
        .header(header::ACCEPT)
        .is_some_and(|a| a.contains("text/event-stream"));
    if !accepts_sse {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            ErrorCode::BadUserInput,
            "Accept must allow text/event-stream",
            request_id,
        );
    }
    let (request, leases) = match prepare(req, body, state, quotas, limit.0, request_id).await {
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
        let _open = (&live, &leases);
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
    state: &ApiState,
    quotas: &LiveQuotas,
    limit: usize,
    request_id: &str,
) -> Response {
    let (request, leases) = match prepare(req, body, state, quotas, limit, request_id).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let stream =
        create_multipart_mixed_stream(schema.execute_stream(request), HEARTBEAT).map(move |part| {
            let _open = &leases;
            part
        });
    Response::builder()
        .status(StatusCode::OK)
        .content_type("multipart/mixed; boundary=\"-\"")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(Body::from_bytes_stream(stream.map(Ok::<_, std::io::Error>)))
}
