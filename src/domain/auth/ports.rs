//! The authentication ports: password hashing ([`PasswordHasher`]), access tokens
//! ([`AccessTokens`]), refresh-token families ([`SessionRepository`]), the fast
//! revocation cache ([`RevocationList`]) and attempt counting ([`AttemptLimiter`]).
//! An access token that does not hold up is [`InvalidToken`]; a refresh token that does
//! not is a [`RefreshOutcome`] (a reused one is `Reused`, after its whole family is
//! revoked). A cache that cannot answer says so (`None`, or UNAVAILABLE) rather than
//! guessing, so callers fall back to the durable record. Every other failure is the
//! backend's ([`BackendError`](crate::domain::BackendError)).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::error::BackendResult;
use crate::domain::user::Role;
use crate::domain::{DomainError, SessionId, UserId};

/// Hashes and verifies passwords. Implementations MUST NOT block the async runtime.
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    async fn hash(&self, password: &str) -> BackendResult<String>;
    /// `Ok(false)` for a wrong password; errors only for a malformed hash or a failed worker.
    async fn verify(&self, password: &str, hash: &str) -> BackendResult<bool>;
    /// Spends the time of a verification without a real hash, so that unknown accounts
    /// answer as slowly as known ones.
    async fn verify_dummy(&self, password: &str);
}

#[derive(Debug, Clone)]
pub struct AccessClaims {
    pub user_id: UserId,
    pub role: Role,
    pub session: SessionId,
    pub jti: String,
    pub expires_at: i64,
}

pub struct IssuedAccessToken {
    pub token: String,
    pub expires_in: Duration,
}

/// An access token that is malformed, expired, not yet valid, signed with another key
/// or algorithm, or not an access token (UNAUTHENTICATED). Which of these is not said.
#[derive(Debug, thiserror::Error)]
#[error("access token is invalid or expired")]
pub struct InvalidToken;

impl From<InvalidToken> for DomainError {
    fn from(err: InvalidToken) -> Self {
        DomainError::Unauthenticated(err.to_string())
    }
}

/// Signs and verifies access tokens.
pub trait AccessTokens: Send + Sync {
    fn issue(
        &self,
        user_id: UserId,
        role: Role,
        session: SessionId,
    ) -> BackendResult<IssuedAccessToken>;
    fn verify(&self, token: &str) -> Result<AccessClaims, InvalidToken>;
    fn ttl(&self) -> Duration;
}

pub enum RefreshOutcome {
    /// The token was current; it is now rotated and `new_hash` replaces it.
    Rotated { user_id: UserId, session: SessionId },
    /// The token had already been rotated: the whole family is now revoked.
    Reused { session: SessionId },
    /// Unknown, expired or from a revoked session.
    Invalid,
}

/// Refresh-token families. Only hashes of tokens are stored.
#[async_trait]
pub trait SessionRepository: Send + Sync {
    async fn create(
        &self,
        user_id: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BackendResult<SessionId>;
    /// Atomically rotates `old_hash` to `new_hash`. A second rotation of the same token
    /// MUST revoke the family and return `Reused`, even when two arrive at once.
    async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BackendResult<RefreshOutcome>;
    /// The session a refresh token belongs to, if it is live.
    async fn session_of(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<Option<(SessionId, UserId)>>;
    async fn revoke(
        &self,
        session: SessionId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<()>;
    /// Sessions revoked at or after `since`.
    async fn revoked_since(&self, since: DateTime<Utc>) -> BackendResult<Vec<SessionId>>;
    /// Revokes every live session of the user except `keep`; returns those revoked.
    async fn revoke_all(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<Vec<SessionId>>;
}

/// Access tokens and sessions that stop working before their tokens expire: a fast cache
/// of the durable record (revoked sessions in the database). A list that starts empty (a
/// restarted process, an emptied Redis) says so until it has been filled again from that
/// record, so a revocation is never forgotten.
#[async_trait]
pub trait RevocationList: Send + Sync {
    /// Revokes `keys` (for example `jti:<id>` or `sid:<id>`) for `ttl`.
    async fn revoke(&self, keys: &[String], ttl: Duration) -> BackendResult<()>;
    /// Whether any of `keys` is revoked; `None` while the list has not been filled from the
    /// durable record since it last lost its contents.
    async fn any_revoked(&self, keys: &[String]) -> BackendResult<Option<bool>>;
    /// True when the list has been filled since it last lost its contents.
    async fn is_filled(&self) -> BackendResult<bool>;
    /// Records that the list now holds every revocation of the durable record.
    async fn mark_filled(&self) -> BackendResult<()>;
}

/// Counts attempts per key in a fixed window (login throttling, rate limits).
#[async_trait]
pub trait AttemptLimiter: Send + Sync {
    /// Adds one attempt; returns the count in the current window.
    async fn record(&self, key: &str, window: Duration) -> BackendResult<u64>;
    /// The count in the current window and the seconds until it resets.
    async fn current(&self, key: &str) -> BackendResult<(u64, u64)>;
    async fn reset(&self, key: &str) -> BackendResult<()>;
}
