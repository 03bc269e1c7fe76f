//! Reading a GraphQL request from the query string or the body, and what it selects.
//!
//! [`accept`] is the one acceptance path for every HTTP transport (`/graphql`,
//! `/graphql/stream`, multipart/mixed): the same methods, content types, size limit and
//! CSRF rules. A browser can send a cross-site GET, or a POST with a "simple" content type
//! (`text/plain`, forms) without a preflight; neither may change anything, so
//! mutations need POST with `application/json`, which a foreign page cannot send without
//! the server's CORS consent.

use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{BatchRequest, Variables};
use poem::http::{header, Method, StatusCode};
use poem::{Body, Request};
use serde_json::Value;

use super::negotiate::is_json_content_type;
use super::MAX_BATCH;
use crate::api::error::http_status;
use crate::domain::{DomainError, ErrorCode};

/// The operation of a GET request, from its query string.
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

/// Fields a client reaches without a valid access token.
const TOKENLESS_FIELDS: [&str; 4] = ["register", "login", "refreshToken", "__typename"];

/// True when every operation of the batch only signs in, registers or refreshes: a stale
/// token left in the client's Authorization header must not lock it out of those.
pub(crate) fn needs_no_token(batch: &BatchRequest) -> bool {
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

async fn read_body(body: Body, limit: usize) -> Result<Vec<u8>, Refusal> {
    match body.into_bytes_limit(limit).await {
        Ok(bytes) => Ok(bytes.to_vec()),
        Err(poem::error::ReadBodyError::PayloadTooLarge) => Err(Refusal::of(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        )),
        Err(e) => Err(Refusal::of(
            ErrorCode::BadUserInput,
            format!("cannot read request body: {e}"),
        )),
    }
}

pub(super) fn parse_batch(bytes: &[u8]) -> Result<BatchRequest, String> {
    let text =
        std::str::from_utf8(bytes).map_err(|_| "request body is not valid UTF-8".to_owned())?;
    let batch: BatchRequest = serde_json::from_str(text)
        .map_err(|e| format!("request body is not a GraphQL request: {e}"))?;
    if let BatchRequest::Batch(items) = &batch {
        if items.is_empty() || items.len() > MAX_BATCH {
            return Err(format!("a batch must hold 1..={MAX_BATCH} operations"));
        }
    }
    // async-graphql reads a missing `query` as an empty document; it is a malformed
    // request (400 under both media types), not a document that fails to parse.
    if batch.iter().any(|r| r.query.trim().is_empty()) {
        return Err("the query parameter is required".into());
    }
    Ok(batch)
}

/// Why a request was not accepted: its status, code and message.
pub(crate) struct Refusal {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
}

impl Refusal {
    /// A refusal with the status its code has everywhere.
    pub(crate) fn of(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::http(http_status(code), code, message)
    }

    /// A refusal about HTTP itself (method, media type, length), with its own status.
    fn http(status: StatusCode, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// A use case's error, with its code's status and the message clients see (internal
    /// errors are logged and masked).
    pub(crate) fn from_domain(err: DomainError) -> Self {
        let code = err.code();
        Self::of(code, crate::api::error::to_gql(err).message)
    }
}

/// Which operation types a GET may run on a transport: `/graphql` answers queries only
/// (the spec's rule); an event stream also opens subscriptions, which change nothing.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum GetAllows {
    Queries,
    QueriesAndSubscriptions,
}

/// The operations of a GET or JSON POST, read under the rules every transport shares.
pub(crate) async fn accept(
    req: &Request,
    body: Body,
    limit: usize,
    get_allows: GetAllows,
) -> Result<BatchRequest, Refusal> {
    if req.method() == Method::GET {
        let request =
            from_query_string(req).map_err(|m| Refusal::of(ErrorCode::BadUserInput, m))?;
        let refused = selected_operations(&request).is_some_and(|ops| {
            ops.iter().any(|op| match op.ty {
                OperationType::Query => false,
                OperationType::Subscription => get_allows == GetAllows::Queries,
                OperationType::Mutation => true,
            })
        });
        if refused {
            return Err(Refusal::http(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::BadUserInput,
                match get_allows {
                    GetAllows::Queries => "mutations and subscriptions must be sent with POST",
                    GetAllows::QueriesAndSubscriptions => "mutations must be sent with POST",
                },
            ));
        }
        return Ok(BatchRequest::Single(request));
    }
    if req.method() != Method::POST {
        return Err(Refusal::http(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorCode::BadUserInput,
            "use GET or POST",
        ));
    }
    if !is_json_content_type(req) {
        return Err(Refusal::http(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::BadUserInput,
            "Content-Type must be application/json (or multipart/form-data for uploads)",
        ));
    }
    let declared = req
        .header(header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<u64>().ok());
    if declared.is_some_and(|l| l > limit as u64) {
        return Err(Refusal::of(
            ErrorCode::PayloadTooLarge,
            format!("request body is larger than {limit} bytes"),
        ));
    }
    let bytes = read_body(body, limit).await?;
    parse_batch(&bytes).map_err(|m| Refusal::of(ErrorCode::BadUserInput, m))
}
