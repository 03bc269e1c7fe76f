//! The domain: entities, value objects, rules and ports.
//!
//! Invariant: nothing here does IO or imports an IO crate (sea_orm, poem, async_graphql,
//! redis, tantivy, azure). `tests/api/layering.rs` checks that with a grep.

pub mod auth;
pub mod clock;
pub mod dashboard;
pub mod error;
pub mod events;
pub mod favorite;
pub mod health;
pub mod ids;
pub mod media;
pub mod page;
pub mod recommendation;
pub mod search;
pub mod text;
pub mod user;
pub mod video;

pub use error::{BackendError, BackendResult, DomainError, ErrorCode, WriteError};
pub use ids::{JobId, RecommendationId, SessionId, UploadId, UserId, VideoId};
