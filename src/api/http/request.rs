//! Reading a GraphQL request from the query string or the body, and what it selects.

use async_graphql::parser::types::{OperationType, Selection};
use async_graphql::{BatchRequest, Variables};
use poem::http::StatusCode;
use poem::{Body, Request};
use serde_json::Value;

use super::MAX_BATCH;
use crate::domain::ErrorCode;

/// The operation of a GET request, from its query string.
pub(super) fn from_query_string(req: &Request) -> Result<async_graphql::Request, String> {
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
pub(super) fn selected_operations(
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
pub(super) fn selects_non_query(request: &async_graphql::Request) -> bool {
    selected_operations(request)
        .is_some_and(|ops| ops.iter().any(|op| op.ty != OperationType::Query))
}

/// Fields a client reaches without a valid access token.
const TOKENLESS_FIELDS: [&str; 4] = ["register", "login", "refreshToken", "__typename"];

/// True when every operation of the batch only signs in, registers or refreshes: a stale
/// token left in the client's Authorization header must not lock it out of those.
pub(super) fn needs_no_token(batch: &BatchRequest) -> bool {
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

pub(super) async fn read_body(
    body: Body,
    limit: usize,
) -> Result<Vec<u8>, (StatusCode, ErrorCode, String)> {
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
    Ok(batch)
}
