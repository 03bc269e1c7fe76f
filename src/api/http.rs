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

use std::time::Instant;

use async_graphql::dataloader::DataLoader;
use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{BatchRequest, BatchResponse, Variables};
use poem::http::{header, HeaderValue, Method, StatusCode};
use poem::web::Data;
use poem::{handler, Body, Request, Response};
use serde_json::{json, Value};
use tracing::Instrument;

use super::video::loader::{FavoritedLoader, UserLoader, VersionsLoader, VideoLoader};
use super::AppSchema;
use crate::domain::auth::Viewer;
use crate::domain::{DomainError, ErrorCode};
use crate::startup::AppState;

pub const MAX_BATCH: usize = 5;
const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
const APPLICATION_JSON: &str = "application/json";

#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponseJson,
    Json,
}

impl MediaType {
    fn header(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => "application/graphql-response+json; charset=utf-8",
            MediaType::Json => "application/json; charset=utf-8",
        }
    }
}

/// Picks the response type from `Accept`, honouring q-values; wildcards get
/// `application/json`, which every client understands.
fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let mut best: Option<(f32, MediaType)> = None;
    for entry in accept.split(',') {
        let mut parts = entry.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
            })
            .next()
            .unwrap_or(1.0);
        let candidate = match media.as_str() {
            GRAPHQL_RESPONSE_JSON => MediaType::GraphqlResponseJson,
            APPLICATION_JSON | "application/*" | "*/*" => MediaType::Json,
            _ => continue,
        };
        if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
            best = Some((q, candidate));
        }
    }
    best.map(|(_, m)| m)
}

fn error_body(code: ErrorCode, message: &str, request_id: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str(), "requestId": request_id } }] })
}

fn respond(status: StatusCode, media: MediaType, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type(media.header())
        .body(body)
}

fn reject(
    status: StatusCode,
    media: MediaType,
    code: ErrorCode,
    message: &str,
    request_id: &str,
) -> Response {
    respond(
        status,
        media,
        error_body(code, message, request_id).to_string(),
    )
}

/// A request's operations, parsed from the query string (GET) or the body (POST).
fn from_query_string(req: &Request) -> Result<async_graphql::Request, String> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Params {
        query: Option<String>,
        operation_name: Option<String>,
        variables: Option<String>,
        extensions: Option<String>,
    }
    let params: Params = req
        .params()
        .map_err(|e| format!("invalid query string: {e}"))?;
    let query = params.query.ok_or("the query parameter is required")?;
    let mut request = async_graphql::Request::new(query);
    if let Some(name) = params.operation_name {
        request = request.operation_name(name);
    }
    if let Some(vars) = params.variables {
        let vars: Value =
            serde_json::from_str(&vars).map_err(|e| format!("variables are not JSON: {e}"))?;
        if !vars.is_object() && !vars.is_null() {
            return Err("variables must be a JSON object".into());
        }
        request = request.variables(Variables::from_json(vars));
    }
    if let Some(ext) = params.extensions {
        let _: serde_json::Map<String, Value> = serde_json::from_str(&ext)
            .map_err(|e| format!("extensions must be a JSON object: {e}"))?;
    }
    Ok(request)
}

/// The operations of the document that `request` selects (all of them when it names none,
/// which the executor refuses unless there is only one).
fn selected_operations(
    request: &async_graphql::Request,
) -> Option<Vec<async_graphql::parser::types::OperationDefinition>> {
    let doc = async_graphql::parser::parse_query(&request.query).ok()?;
    Some(
        doc.operations
            .iter()
            .filter(|(name, _)| match (&request.operation_name, name) {
                (Some(wanted), Some(name)) => wanted == name.as_str(),
                (None, _) => true,
                (Some(_), None) => false,
            })
            .map(|(_, op)| op.node.clone())
            .collect(),
    )
}

/// True when the operation the request selects is a mutation (or a subscription), which
/// GET must not run. A syntax error is left for the executor to report.
fn selects_non_query(request: &async_graphql::Request) -> bool {
    selected_operations(request)
        .is_some_and(|ops| ops.iter().any(|op| op.ty != OperationType::Query))
}

/// Fields a client reaches without a valid access token.
const TOKENLESS_FIELDS: [&str; 4] = ["register", "login", "refreshToken", "__typename"];

/// True when every operation of the batch only signs in, registers or refreshes: a stale
/// token left in the client's Authorization header must not lock it out of those.
fn needs_no_token(batch: &BatchRequest) -> bool {
    batch.iter().all(|request| {
        selected_operations(request).is_some_and(|ops| {
            !ops.is_empty()
                && ops.iter().all(|op| {
                    op.selection_set
                        .node
                        .items
                        .iter()
                        .all(|item| match &item.node {
                            Selection::Field(f) => {
                                TOKENLESS_FIELDS.contains(&f.node.name.node.as_str())
                            }
                            _ => false,
                        })
                })
        })
    })
}

fn is_json_content_type(req: &Request) -> bool {
    req.header(header::CONTENT_TYPE)
        .and_then(|ct| ct.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.essence_str() == APPLICATION_JSON
                && m.get_param(mime::CHARSET).is_none_or(|c| c == mime::UTF_8)
        })
}

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, (StatusCode, ErrorCode, String)> {
    match body.into_bytes_limit(limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err((
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        )),
        Err(e) => Err((
            StatusCode::BAD_REQUEST,
            ErrorCode::BadUserInput,
            format!("cannot read request body: {e}"),
        )),
    }
}

fn parse_batch(bytes: &[u8]) -> Result<BatchRequest, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "request body is not valid UTF-8".to_owned())?;
    let batch: BatchRequest = serde_json::from_str(text)
        .map_err(|e| format!("request body is not a GraphQL request: {e}"))?;
    if let BatchRequest::Batch(items) = &batch {
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(format!("a batch must hold 1..={MAX_BATCH} operations"));
        }
    }
    Ok(batch)
}

fn client_key(req: &Request) -> String {
    match req.remote_addr().as_socket_addr() {
        Some(addr) => addr.ip().to_string(),
        None => "unknown".into(),
    }
}

async fn viewer_for(req: &Request, state: &AppState) -> Result<Viewer, DomainError> {
    let Some(value) = req.header(header::AUTHORIZATION) else {
        return Ok(Viewer::Anonymous {
            client_key: client_key(req),
        });
    };
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            DomainError::Unauthenticated(
                "Authorization header must be 'Bearer <access token>'".into(),
            )
        })?;
    state.auth.authenticate(token).await
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

#[handler]
pub async fn graphql(
    req: &Request,
    body: Body,
    Data(schema): Data<&AppSchema>,
    Data(state): Data<&AppState>,
    Data(limit): Data<&BodyLimit>,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().to_string();
    let span = tracing::info_span!("graphql", request_id = %request_id);
    let accept = req.header(header::ACCEPT);
    let Some(media) = negotiate(accept) else {
        return reject(
            StatusCode::NOT_ACCEPTABLE,
            MediaType::Json,
            ErrorCode::BadUserInput,
            "Accept must allow application/graphql-response+json or application/json",
            &request_id,
        );
    };

    let batch = if req.method() == Method::GET {
        match from_query_string(req) {
            Ok(r) if selects_non_query(&r) => {
                let mut resp = reject(
                    StatusCode::METHOD_NOT_ALLOWED,
                    media,
                    ErrorCode::BadUserInput,
                    "mutations must be sent with POST",
                    &request_id,
                );
                resp.headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("POST"));
                return resp;
            }
            Ok(r) => BatchRequest::Single(r),
            Err(message) => {
                return reject(
                    StatusCode::BAD_REQUEST,
                    media,
                    ErrorCode::BadUserInput,
                    &message,
                    &request_id,
                )
            }
        }
    } else {
        if !is_json_content_type(req) {
            return reject(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                media,
                ErrorCode::BadUserInput,
                "Content-Type must be application/json",
                &request_id,
            );
        }
        let declared = req
            .header(header::CONTENT_LENGTH)
            .and_then(|l| l.parse::<u64>().ok());
        if declared.is_some_and(|l| l > limit.0 as u64) {
            return reject(
                StatusCode::PAYLOAD_TOO_LARGE,
                media,
                ErrorCode::PayloadTooLarge,
                &format!("request body is larger than {} bytes", limit.0),
                &request_id,
            );
        }
        let bytes = match read_body(body, limit.0).await {
            Ok(b) => b,
            Err((status, code, message)) => {
                return reject(status, media, code, &message, &request_id)
            }
        };
        match parse_batch(&bytes) {
            Ok(batch) => batch,
            Err(message) => {
                return reject(
                    StatusCode::BAD_REQUEST,
                    media,
                    ErrorCode::BadUserInput,
                    &message,
                    &request_id,
                )
            }
        }
    };

    let viewer = match viewer_for(req, state).instrument(span.clone()).await {
        Ok(v) => v,
        Err(DomainError::Unauthenticated(_)) if needs_no_token(&batch) => Viewer::Anonymous {
            client_key: client_key(req),
        },
        Err(DomainError::Unauthenticated(message)) => {
            let mut resp = reject(
                StatusCode::UNAUTHORIZED,
                media,
                ErrorCode::Unauthenticated,
                &message,
                &request_id,
            );
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
            return resp;
        }
        Err(err) => {
            // The revocation list is unreachable (UNAVAILABLE) or broke (INTERNAL, logged
            // with its cause inside the request span by `to_gql`).
            let (status, code) = match err.code() {
                ErrorCode::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
            };
            let message = span.in_scope(|| super::error::to_gql(err)).message;
            return reject(status, media, code, &message, &request_id);
        }
    };

    let with_data = |r: async_graphql::Request| {
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
        r.data(viewer.clone())
            .data(users)
            .data(favorited)
            .data(versions)
            .data(videos)
    };
    let batch = match batch {
        BatchRequest::Single(r) => BatchRequest::Single(with_data(r)),
        BatchRequest::Batch(items) => {
            BatchRequest::Batch(items.into_iter().map(with_data).collect())
        }
    };

    let mut response = schema.execute_batch(batch).instrument(span.clone()).await;
    let request_error = match &mut response {
        BatchResponse::Single(r) => {
            let request_error = is_request_error(r);
            decorate(r, &request_id);
            request_error
        }
        BatchResponse::Batch(items) => {
            items.iter_mut().for_each(|r| decorate(r, &request_id));
            false
        }
    };
    let status = if request_error && media == MediaType::GraphqlResponseJson {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = serde_json::to_string(&response).unwrap_or_else(|_| {
        error_body(ErrorCode::Internal, "internal error", &request_id).to_string()
    });
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
    respond(status, media, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_negotiation_follows_q_values() {
        assert!(negotiate(None) == Some(MediaType::Json));
        assert!(
            negotiate(Some("application/graphql-response+json"))
                == Some(MediaType::GraphqlResponseJson)
        );
        assert!(
            negotiate(Some(
                "application/json;q=0.9, application/graphql-response+json"
            )) == Some(MediaType::GraphqlResponseJson)
        );
        assert!(
            negotiate(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )) == Some(MediaType::Json)
        );
        assert!(negotiate(Some("*/*")) == Some(MediaType::Json));
        assert!(negotiate(Some("text/html")).is_none());
        assert!(negotiate(Some("application/json;q=0")).is_none());
    }
}
