//! Errors with stable wire codes.
//!
//! Every error the domain and the use cases raise carries an [`ErrorCode`]; the API layer
//! turns it into `extensions.code` with one conversion. `Internal` keeps the whole cause
//! chain for the log and is masked for clients.

/// The registry of codes clients see in `extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::Display)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Conflict,
    RateLimited,
    PayloadTooLarge,
    Unavailable,
    Internal,
}

impl ErrorCode {
    /// The name clients see in `extensions.code`.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// Input that breaks a rule; `field` names the input field (for example `input.title`).
    #[error("{message}")]
    BadInput {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_seconds: u64,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl DomainError {
    pub fn code(&self) -> ErrorCode {
        match self {
            DomainError::BadInput { .. } => ErrorCode::BadUserInput,
            DomainError::Unauthenticated(_) => ErrorCode::Unauthenticated,
            DomainError::Forbidden(_) => ErrorCode::Forbidden,
            DomainError::NotFound(_) => ErrorCode::NotFound,
            DomainError::Conflict(_) => ErrorCode::Conflict,
            DomainError::RateLimited { .. } => ErrorCode::RateLimited,
            DomainError::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            DomainError::Unavailable(_) => ErrorCode::Unavailable,
            DomainError::Internal(_) => ErrorCode::Internal,
        }
    }

    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        DomainError::BadInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }

    /// Prefixes the field of a `BadInput` (for example `title` becomes `input.title`).
    pub fn in_field(self, parent: &str) -> Self {
        match self {
            DomainError::BadInput {
                field: Some(field),
                message,
            } => DomainError::BadInput {
                field: Some(format!("{parent}.{field}")),
                message,
            },
            other => other,
        }
    }

    pub fn unauthenticated() -> Self {
        DomainError::Unauthenticated("authentication required".into())
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        DomainError::Forbidden(message.into())
    }

    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        DomainError::Internal(err.into())
    }
}

pub type DomainResult<T> = Result<T, DomainError>;
