//! Errors with stable wire codes.
//!
//! Each port states its contract in its own error type: [`BackendError`] alone when the
//! only failures are the backend's (unreachable, or broken), or an enum of the cases its
//! callers handle (`CreateUserError`, `WriteError`, `SearchFailure`, ...) beside it.
//! Each case maps to one [`ErrorCode`]. The use cases answer with [`DomainError`], the
//! one shape the API layer turns into `extensions.code` (one conversion, in
//! `api::error`). `Internal` keeps the whole cause chain for the log and is masked for
//! clients.

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

/// Why a backend behind a port (database, cache, object store, worker pool, index)
/// could not do what was asked. Ports whose callers handle no case of their own return
/// only this.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Unreachable, locked or out of capacity for now; worth retrying (UNAVAILABLE).
    #[error("{0}")]
    Unavailable(String),
    /// Anything else: a bug, a corrupt row, a failed worker (INTERNAL).
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type BackendResult<T> = Result<T, BackendError>;

impl BackendError {
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        BackendError::Internal(err.into())
    }
}

impl From<BackendError> for DomainError {
    fn from(err: BackendError) -> Self {
        match err {
            BackendError::Unavailable(message) => DomainError::Unavailable(message),
            BackendError::Internal(cause) => DomainError::Internal(cause),
        }
    }
}

/// A change to a record that may be missing: the error of the ports' writes to one
/// user or one video.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The record does not exist (or is deleted); names what it is (NOT_FOUND).
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The write clashes with the record as it is now: a unique key another record
    /// holds, or a change made meanwhile (CONFLICT).
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl From<WriteError> for DomainError {
    fn from(err: WriteError) -> Self {
        match err {
            WriteError::NotFound(what) => DomainError::NotFound(what),
            WriteError::Conflict(message) => DomainError::Conflict(message),
            WriteError::Backend(err) => err.into(),
        }
    }
}
