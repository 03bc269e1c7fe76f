//! Use cases, one service per feature. Services take the [`Viewer`](crate::domain::auth::Viewer)
//! and check permissions here, so every transport gets the same rules.

pub mod auth;
pub mod cursor;
pub mod dashboard;
pub mod favorites;
pub mod for_you;
pub mod media;
pub mod recent_writes;
pub mod recommendations;
pub mod search;
pub mod trending;
pub mod users;
pub mod videos;

pub use auth::{AuthService, AuthSession};
pub use favorites::FavoriteService;
pub use for_you::ForYouService;
pub use media::MediaService;
pub use recent_writes::RecentWrites;
pub use recommendations::RecommendationService;
pub use search::SearchService;
pub use users::UserService;
pub use videos::VideoService;
