//! What arrives over HTTP and WebSocket: GraphQL requests on every HTTP transport and
//! messages of both WebSocket protocols.

use async_graphql::BatchRequest;
use poem::http::Method;
use poem::{Body, Request};

use super::runtime;
use crate::api::http::request::{self, GetAllows};
use crate::api::http::{multipart, MultipartLimits, MAX_BATCH};
use crate::api::live::protocol::{self, ClientMessage};

const BOUNDARY: &str = "reelgraph-fuzz-boundary";

/// The operation async-graphql's executor runs: the one named, or the only one.
fn executed_operation<'a>(
    doc: &'a async_graphql::parser::types::ExecutableDocument,
    name: Option<&str>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    use async_graphql::parser::types::DocumentOperations;
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), None) => Some(&op.node),
        (DocumentOperations::Single(_), Some(_)) => None,
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// One HTTP GraphQL request, as `/graphql` and `/graphql/stream` read it. The first byte
/// chooses GET (the rest is the query string), a JSON POST (the rest is the body) or a
/// multipart POST (the rest is the body, parts split by [`BOUNDARY`]), and whether GET may
/// open subscriptions; the second sets the body and file limits, small enough for inputs
/// to cross them. A refusal is a client error (4xx); what is accepted goes through the
/// shape limits every transport applies before validation, and a GET never runs a
/// mutation (nor a subscription where GET may not open them).
pub fn graphql_request(data: &[u8]) {
    let [how, limit, rest @ ..] = data else {
        return;
    };
    let limit = 64 + usize::from(*limit) * 16;
    let get_allows = if how & 4 == 0 {
        GetAllows::Queries
    } else {
        GetAllows::QueriesAndSubscriptions
    };
    let transport = how % 3;
    if let Some(batch) = accept(transport, rest, limit, get_allows) {
        check_accepted(&batch, transport == 0, get_allows);
    }
}

/// Reads `rest` as transport 0 (GET), 1 (JSON POST) or 2 (multipart POST); a refusal
/// must be the client's fault.
fn accept(transport: u8, rest: &[u8], limit: usize, get_allows: GetAllows) -> Option<BatchRequest> {
    let rt = runtime();
    let refused = |status: poem::http::StatusCode, message: &str| {
        assert!(
            status.is_client_error(),
            "refused with {status}, not as the client's fault: {message}"
        );
    };
    let accepted = match transport {
        0 => {
            let Ok(uri) =
                format!("/graphql?{}", String::from_utf8_lossy(rest)).parse::<poem::http::Uri>()
            else {
                return None; // hyper refuses such a request line before any handler
            };
            let req = Request::builder().method(Method::GET).uri(uri).finish();
            rt.block_on(request::accept(&req, Body::empty(), limit, get_allows))
                .map_err(|r| refused(r.status, &r.message))
        }
        1 => {
            let req = Request::builder()
                .method(Method::POST)
                .uri_str("/graphql")
                .content_type("application/json")
                .header("content-length", rest.len().to_string())
                .finish();
            let body = Body::from(rest.to_vec());
            rt.block_on(request::accept(&req, body, limit, get_allows))
                .map_err(|r| refused(r.status, &r.message))
        }
        _ => {
            let req = Request::builder()
                .method(Method::POST)
                .uri_str("/graphql")
                .content_type(&format!("multipart/form-data; boundary={BOUNDARY}"))
                .header("apollo-require-preflight", "true")
                .header("content-length", rest.len().to_string())
                .finish();
            let limits = MultipartLimits {
                max_file_bytes: limit as u64,
                max_files: 4,
            };
            let body = Body::from(rest.to_vec());
            rt.block_on(multipart::read_multipart(&req, body, limits))
                .map_err(|(status, _, message)| refused(status, &message))
        }
    };
    accepted.ok()
}

/// What is accepted is a batch within bounds, goes through the shape limits, and over
/// GET never runs a mutation (nor a subscription where GET may not open them).
fn check_accepted(batch: &BatchRequest, over_get: bool, get_allows: GetAllows) {
    use async_graphql::parser::types::OperationType;
    let requests: Vec<&async_graphql::Request> = batch.iter().collect();
    assert!(
        (1..=MAX_BATCH).contains(&requests.len()),
        "a batch of {} was accepted",
        requests.len()
    );
    let _ = request::needs_no_token(batch);
    let _ = crate::api::limits::batch_hashing_mutations(requests.iter().map(|r| r.query.as_str()));
    for r in requests {
        let Ok(doc) = async_graphql::parser::parse_query(&r.query) else {
            continue;
        };
        let _ = crate::api::limits::refusal(&doc, 1000);
        if !over_get {
            continue;
        }
        if let Some(op) = executed_operation(&doc, r.operation_name.as_deref()) {
            let allowed = match op.ty {
                OperationType::Query => true,
                OperationType::Subscription => get_allows == GetAllows::QueriesAndSubscriptions,
                OperationType::Mutation => false,
            };
            assert!(allowed, "GET accepted a {:?}: {:?}", op.ty, r.query);
        }
    }
}

/// One text message of either WebSocket protocol, under a size limit the first byte sets
/// (small enough for inputs to cross it): a message of that protocol, or a close with 1009
/// (too long) or 4400 (malformed). A subscribe payload that is a GraphQL request goes
/// through the shape limits, as the schema's prepare hook applies them.
pub fn ws_message(data: &[u8]) {
    let [limit, text @ ..] = data else {
        return;
    };
    let max_bytes = 16 + usize::from(*limit) * 8;
    let Ok(text) = std::str::from_utf8(text) else {
        return; // text frames are UTF-8; tungstenite refuses others
    };
    for legacy in [false, true] {
        match protocol::read_message(text, legacy, max_bytes) {
            Ok(ClientMessage::Subscribe { payload, .. }) => {
                if let Some(request) = protocol::subscribe_request(payload) {
                    if let Ok(doc) = async_graphql::parser::parse_query(&request.query) {
                        let _ = crate::api::limits::refusal(&doc, 1000);
                    }
                }
            }
            Ok(_) => assert!(text.len() <= max_bytes),
            Err(close) => {
                let code = close.map(|(code, _)| code);
                let expected = if text.len() > max_bytes { 1009 } else { 4400 };
                assert_eq!(code, Some(expected), "close for {text:?}");
            }
        }
    }
}
