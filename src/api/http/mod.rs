//! `GET|POST /graphql` per the GraphQL-over-HTTP spec, for both
//! `application/graphql-response+json` and legacy `application/json` clients.
//!
//! - POST needs `Content-Type: application/json` (else 415); GET takes `query`,
//!   `operationName`, `variables` and `extensions` from the query string and refuses
//!   mutations with 405.
//! - `Accept` picks the response type; nothing acceptable is 406.
//! - A document that does not parse or validate, or variables that do not fit, is 400
//!   under `application/graphql-response+json` and 200 under `application/json`, as the
//!   spec asks; a body that is not JSON is 400 under both.
//! - Bodies over the configured size are refused with 413 while reading, whatever
//!   Content-Length claims; batches hold at most [`MAX_BATCH`] operations.
//! - An `Authorization` header that does not verify is 401: a client with an expired token
//!   learns it must refresh instead of silently seeing less.

pub(crate) mod multipart;
mod negotiate;
pub(crate) mod request;
mod stream;

pub use multipart::MultipartLimits;
pub use stream::graphql_stream;

use std::time::Instant;

use async_graphql::dataloader::DataLoader;
use async_graphql::{BatchRequest, BatchResponse};
use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::web::Data;
use poem::{handler, Body, Endpoint, Request, Response};
use tracing::Instrument;

use self::negotiate::{error_body, is_json_content_type, negotiate, reject, respond, MediaType};
use self::request::{needs_no_token, GetAllows, Refusal};
use super::live::LiveQuotas;
use super::recommendation::loader::{ItemLikesLoader, RecommendationLoader};
use super::video::loader::{FavoritedLoader, UserLoader, VersionsLoader, VideoLoader};
use super::AppSchema;
use crate::api::ApiState;
use crate::domain::auth::Viewer;
use crate::domain::user::Permission;
use crate::domain::{DomainError, ErrorCode};

pub const MAX_BATCH: usize = 5;

#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

/// The client's address for per-client counters (views, throttles, live quotas). An IPv6
/// client counts by its /64, the block one subscriber is usually given, so that it cannot
/// take a fresh address per request.
pub(crate) fn client_key(req: &Request) -> String {
    match req.remote_addr().as_socket_addr().map(|a| a.ip()) {
        Some(std::net::IpAddr::V6(ip)) if ip.to_ipv4_mapped().is_none() => {
            let s = ip.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Some(std::net::IpAddr::V6(ip)) => ip.to_canonical().to_string(),
        Some(ip) => ip.to_string(),
        None => "unknown".into(),
    }
}

/// The token of an `Authorization: Bearer <token>` value. The scheme is case-insensitive
/// (RFC 9110 §11.1), and any run of spaces may follow it.
pub(crate) fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn viewer_for(req: &Request, state: &ApiState) -> Result<Viewer, DomainError> {
    let Some(value) = req.header(header::AUTHORIZATION) else {
        return Ok(Viewer::Anonymous {
            client_key: client_key(req),
        });
    };
    let token = bearer_token(value).ok_or_else(|| {
        DomainError::Unauthenticated("Authorization header must be 'Bearer <access token>'".into())
    })?;
    state.auth.authenticate(token).await
}

/// The answer to a refused request, with the headers its status calls for.
fn refuse(refusal: Refusal, media: MediaType, request_id: &str) -> Response {
    let mut resp = reject(
        refusal.status,
        media,
        refusal.code,
        &refusal.message,
        request_id,
    );
    match refusal.status {
        StatusCode::METHOD_NOT_ALLOWED => {
            resp.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        StatusCode::UNAUTHORIZED => {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        _ => {}
    }
    resp
}

/// The viewer of an accepted request, for every transport: anonymous without a token (or
/// with a stale one when the operations only sign in); 401 for a token that does not
/// verify; 503 when the revocation list cannot be asked.
async fn resolve_viewer(
    req: &Request,
    state: &ApiState,
    batch: &BatchRequest,
) -> Result<Viewer, Refusal> {
    match viewer_for(req, state).await {
        Ok(v) => Ok(v),
        Err(DomainError::Unauthenticated(_)) if needs_no_token(batch) => Ok(Viewer::Anonymous {
            client_key: client_key(req),
        }),
        // A token that does not verify (401), or a revocation list that is unreachable
        // (503); anything else broke (500, logged with its cause inside the request span).
        Err(err) => match err.code() {
            ErrorCode::Unauthenticated | ErrorCode::Unavailable => Err(Refusal::from_domain(err)),
            _ => Err(Refusal::of(
                ErrorCode::Internal,
                super::error::to_gql(err).message,
            )),
        },
    }
}

/// A request error (syntax, validation, variables) leaves no data, and its errors come
/// from async-graphql itself: they carry no path, or no code (every resolver error has a
/// code from [`super::error::to_gql`]).
fn is_request_error(resp: &async_graphql::Response) -> bool {
    resp.data == async_graphql::Value::Null
        && !resp.errors.is_empty()
        && resp.errors.iter().all(|e| {
            e.path.is_empty()
                || e.extensions
                    .as_ref()
                    .is_none_or(|x| x.get("code").is_none())
        })
}

/// Adds the request id and, where missing, a code to every error. Errors without a code
/// come from async-graphql's parsing, validation and input coercion: bad user input.
fn decorate(resp: &mut async_graphql::Response, request_id: &str) {
    for err in &mut resp.errors {
        let ext = err.extensions.get_or_insert_with(Default::default);
        if ext.get("code").is_none() {
            ext.set("code", ErrorCode::BadUserInput.as_str());
        }
        ext.set("requestId", request_id);
    }
}

/// What every operation's resolvers find in their context, whatever the transport: the
/// viewer and fresh per-request dataloaders.
pub fn with_request_data(
    request: async_graphql::Request,
    state: &ApiState,
    viewer: &Viewer,
) -> async_graphql::Request {
    let users = DataLoader::new(
        UserLoader {
            users: state.users.clone(),
        },
        tokio::spawn,
    );
    let favorited = DataLoader::new(
        FavoritedLoader {
            viewer: viewer.user_id(),
            favorites: state.favorites.clone(),
        },
        tokio::spawn,
    );
    let versions = DataLoader::new(
        VersionsLoader {
            videos: state.videos.clone(),
        },
        tokio::spawn,
    );
    let videos = DataLoader::new(
        VideoLoader {
            viewer: viewer.clone(),
            videos: state.videos.clone(),
        },
        tokio::spawn,
    );
    let items = DataLoader::new(
        RecommendationLoader {
            viewer: viewer.clone(),
            items: state.recommendations.clone(),
        },
        tokio::spawn,
    );
    let item_likes = DataLoader::new(
        ItemLikesLoader {
            items: state.recommendations.clone(),
        },
        tokio::spawn,
    );
    request
        .data(viewer.clone())
        .data(users)
        .data(favorited)
        .data(versions)
        .data(videos)
        .data(items)
        .data(item_likes)
}

/// The request's id, set by [`request_log`] before the handler runs; every error of the
/// request carries it, and its log lines run inside a span that names it.
#[derive(Clone)]
pub struct RequestId(pub String);

/// Around `/graphql` and `/graphql/stream` (not the WebSocket route): gives the request its id and span, and records its
/// duration, status and access log line once the handler answered (for a stream: once
/// its headers are sent).
pub async fn request_log<E: Endpoint>(next: E, mut req: Request) -> poem::Result<Response> {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("graphql", request_id = %request_id);
    req.extensions_mut().insert(RequestId(request_id));
    let response = next.get_response(req).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = started.elapsed();
    metrics::histogram!("reelgraph_graphql_request_seconds").record(elapsed.as_secs_f64());
    metrics::counter!("reelgraph_graphql_requests_total", "status" => status.as_str().to_owned())
        .increment(1);
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            elapsed_ms = elapsed.as_secs_f64() * 1e3,
            "graphql request"
        )
    });
    Ok(response)
}

#[allow(clippy::too_many_arguments)]
#[handler]
pub async fn graphql(
    req: &Request,
    body: Body,
    Data(schema): Data<&AppSchema>,
    Data(state): Data<&ApiState>,
    Data(limit): Data<&BodyLimit>,
    Data(multipart_limits): Data<&MultipartLimits>,
    Data(quotas): Data<&LiveQuotas>,
    Data(RequestId(request_id)): Data<&RequestId>,
) -> Response {
    let accept = req.header(header::ACCEPT);
    if req.method() == Method::POST
        && is_json_content_type(req)
        && accept.is_some_and(|a| a.contains("multipart/mixed"))
    {
        return stream::multipart_mixed(req, body, schema, state, quotas, limit.0, request_id)
            .await;
    }
    let Some(media) = negotiate(accept) else {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            ErrorCode::BadUserInput,
            "Accept must allow application/graphql-response+json or application/json",
            request_id,
        );
    };
    let reply = Reply { media, request_id };
    let (batch, viewer) = match read_request(req, body, state, limit, multipart_limits, reply).await
    {
        Ok(read) => read,
        Err(response) => return response,
    };
    let with_data = |r: async_graphql::Request| with_request_data(r, state, &viewer);
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(with_data(r)),
        BatchRequest::Batch(items) => {
            BatchRequest::Batch(items.into_iter().map(with_data).collect())
        }
    };
    encode(schema.execute_batch(batch).await, reply)
}

/// How the request's answers are written: its media type and id.
#[derive(Clone, Copy)]
struct Reply<'a> {
    media: MediaType,
    request_id: &'a str,
}

/// The operations of a request and who sends them, or the answer refusing it. Multipart
/// requests are uploads: their sender is checked before the body is read.
async fn read_request(
    req: &Request,
    body: Body,
    state: &ApiState,
    limit: &BodyLimit,
    multipart_limits: &MultipartLimits,
    reply: Reply<'_>,
) -> Result<(BatchRequest, Viewer), Response> {
    let Reply { media, request_id } = reply;
    let (batch, known_viewer) = if req.method() == Method::POST && multipart::is_multipart(req) {
        let Some(uploader) = viewer_for(req, state)
            .await
            .ok()
            .filter(|v| v.can(Permission::ManageOwnVideos))
        else {
            return Err(reject(
                StatusCode::UNAUTHORIZED,
                media,
                ErrorCode::Unauthenticated,
                "multipart uploads need the access token of a user who may upload",
                request_id,
            ));
        };
        let batch = multipart::read_multipart(req, body, *multipart_limits)
            .await
            .map_err(|(status, code, message)| reject(status, media, code, &message, request_id))?;
        (batch, Some(uploader))
    } else {
        let batch = request::accept(req, body, limit.0, GetAllows::Queries)
            .await
            .map_err(|refusal| refuse(refusal, media, request_id))?;
        (batch, None)
    };
    if let BatchRequest::Batch(items) = &batch {
        if super::limits::batch_hashing_mutations(items.iter().map(|r| r.query.as_str())) > 1 {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                media,
                ErrorCode::BadUserInput,
                "a batch may run at most one of register, login and changePassword",
                request_id,
            ));
        }
    }
    let viewer = match known_viewer {
        Some(v) => v,
        None => resolve_viewer(req, state, &batch)
            .await
            .map_err(|refusal| refuse(refusal, media, request_id))?,
    };
    Ok((batch, viewer))
}

/// The response: every error with its request id and code; a request error is 400 under
/// `application/graphql-response+json` and has no `data` entry at all (GraphQL spec,
/// "Response Format"; GraphQL-over-HTTP's audit checks it).
fn encode(mut response: BatchResponse, reply: Reply<'_>) -> Response {
    let Reply { media, request_id } = reply;
    let request_error = match &mut response {
        BatchResponse::Single(r) => {
            let request_error = is_request_error(r);
            decorate(r, request_id);
            request_error
        }
        BatchResponse::Batch(items) => {
            items.iter_mut().for_each(|r| decorate(r, request_id));
            false
        }
    };
    let status = if request_error && media == MediaType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if request_error {
        serde_json::to_value(&response).map(|mut value| {
            if let Some(object) = value.as_object_mut() {
                object.remove("data");
            }
            value.to_string()
        })
    } else {
        serde_json::to_string(&response)
    }
    .unwrap_or_else(|_| error_body(ErrorCode::Internal, "internal error", request_id).to_string());
    respond(status, media, body)
}
