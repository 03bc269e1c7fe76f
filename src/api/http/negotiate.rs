//! Media types: what the client accepts, what we answer, and error bodies.

use poem::http::{header, StatusCode};
use poem::{Request, Response};
use serde_json::{json, Value};

use crate::domain::ErrorCode;

pub(super) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
pub(super) const APPLICATION_JSON: &str = "application/json";

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum MediaType {
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
pub(super) fn negotiate(accept: Option<&str>) -> Option<MediaType> {
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

pub(super) fn error_body(code: ErrorCode, message: &str, request_id: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code.as_str(), "requestId": request_id } }] })
}

pub(super) fn respond(status: StatusCode, media: MediaType, body: String) -> Response {
    Response::builder()
        .status(status)
        .content_type(media.header())
        .body(body)
}

pub(super) fn reject(
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

pub(super) fn is_json_content_type(req: &Request) -> bool {
    req.header(header::CONTENT_TYPE)
        .and_then(|ct| ct.parse::<mime::Mime>().ok())
        .is_some_and(|m| {
            m.essence_str() == APPLICATION_JSON
                && m.get_param(mime::CHARSET).is_none_or(|c| c == mime::UTF_8)
        })
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
