//! The user port: where accounts are kept ([`UserRepository`]). Lookups return `None`
//! for a missing user; `create` returns `Conflict` naming the field whose login key is
//! taken, and changes to a missing user return `NotFound`. Any other failure is
//! UNAVAILABLE or INTERNAL, as the code of the returned
//! [`DomainError`](crate::domain::DomainError) says.

use async_trait::async_trait;

use super::{NewUser, ProfileChanges, Role, User};
use crate::domain::error::DomainResult;
use crate::domain::UserId;

#[async_trait]
pub trait UserRepository: Send + Sync {
    /// MUST return `Conflict` naming the field when the username or email key is taken.
    async fn create(&self, user: NewUser) -> DomainResult<User>;
    async fn by_id(&self, id: UserId) -> DomainResult<Option<User>>;
    /// Looks up by the case-folded username key or email key.
    async fn by_login_key(&self, key: &str) -> DomainResult<Option<User>>;
    async fn by_ids(&self, ids: &[UserId]) -> DomainResult<Vec<User>>;
    /// MUST return `NotFound` when the user does not exist.
    async fn update_profile(&self, id: UserId, changes: ProfileChanges) -> DomainResult<User>;
    async fn set_role(&self, id: UserId, role: Role) -> DomainResult<User>;
    async fn set_password_hash(&self, id: UserId, hash: &str) -> DomainResult<()>;
}
