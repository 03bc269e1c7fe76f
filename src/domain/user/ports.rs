//! The user port: where accounts are kept ([`UserRepository`]). Lookups return `None`
//! for a missing user; `create` says which login key is taken ([`CreateUserError`]), and
//! changes to a missing user are [`WriteError::NotFound`]. Any other failure is the
//! backend's ([`BackendError`]).

use async_trait::async_trait;

use super::{NewUser, ProfileChanges, Role, User};
use crate::domain::error::{BackendError, BackendResult, WriteError};
use crate::domain::{DomainError, UserId};

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// A login key is held by another account; the message says which (CONFLICT).
    #[error("{0}")]
    Taken(&'static str),
    #[error(transparent)]
    Backend(#[from] BackendError),
}

impl From<CreateUserError> for DomainError {
    fn from(err: CreateUserError) -> Self {
        match err {
            CreateUserError::Taken(message) => DomainError::Conflict(message.into()),
            CreateUserError::Backend(err) => err.into(),
        }
    }
}

#[async_trait]
pub trait UserRepository: Send + Sync {
    /// MUST return `Taken` naming the key (username, its look-alike skeleton, or email)
    /// that another account holds.
    async fn create(&self, user: NewUser) -> Result<User, CreateUserError>;
    async fn by_id(&self, id: UserId) -> BackendResult<Option<User>>;
    /// Looks up by the case-folded username key or email key.
    async fn by_login_key(&self, key: &str) -> BackendResult<Option<User>>;
    async fn by_ids(&self, ids: &[UserId]) -> BackendResult<Vec<User>>;
    /// MUST return `NotFound` when the user does not exist.
    async fn update_profile(&self, id: UserId, changes: ProfileChanges)
        -> Result<User, WriteError>;
    /// MUST return `NotFound` when the user does not exist.
    async fn set_role(&self, id: UserId, role: Role) -> Result<User, WriteError>;
    async fn set_password_hash(&self, id: UserId, hash: &str) -> BackendResult<()>;
}
