//! The one conversion from domain errors to GraphQL errors.
//!
//! `extensions.code` carries the [`ErrorCode`]; `field` names the offending input for
//! BAD_USER_INPUT. Internal errors are logged with their cause chain inside the request's
//! span (which carries the request id) and reach the client only as "internal error".

use async_graphql::ErrorExtensions;
use poem::http::StatusCode;

use crate::domain::{DomainError, ErrorCode};

/// The HTTP status of a request refused for a reason with this code. Refusals that are
/// about HTTP itself (a method, a media type, a missing length) choose their own.
pub fn http_status(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::BadUserInput => StatusCode::BAD_REQUEST,
        ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorCode::Forbidden => StatusCode::FORBIDDEN,
        ErrorCode::NotFound => StatusCode::NOT_FOUND,
        ErrorCode::Conflict => StatusCode::CONFLICT,
        ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorCode::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorCode::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

pub fn to_gql(err: DomainError) -> async_graphql::Error {
    let code = err.code();
    match err {
        DomainError::Internal(cause) => {
            tracing::error!(error = ?cause, "internal error");
            async_graphql::Error::new("internal error")
                .extend_with(|_, e| e.set("code", code.as_str()))
        }
        DomainError::BadInput { field, message } => {
            async_graphql::Error::new(message).extend_with(|_, e| {
                e.set("code", code.as_str());
                if let Some(field) = &field {
                    e.set("field", field.as_str());
                }
            })
        }
        DomainError::RateLimited {
            message,
            retry_after_seconds,
        } => async_graphql::Error::new(message).extend_with(|_, e| {
            e.set("code", code.as_str());
            e.set("retryAfterSeconds", retry_after_seconds);
        }),
        other => async_graphql::Error::new(other.to_string())
            .extend_with(|_, e| e.set("code", code.as_str())),
    }
}

/// `?`-friendly conversion for resolvers.
pub trait GqlResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResultExt<T> for Result<T, DomainError> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(to_gql)
    }
}

pub fn code(code: ErrorCode, message: impl Into<String>) -> async_graphql::Error {
    async_graphql::Error::new(message).extend_with(|_, e| e.set("code", code.as_str()))
}
