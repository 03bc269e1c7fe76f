//! sea-orm entities. They mirror the migrations and never leave `infra::db`.

pub mod favorite;
pub mod feed_snapshot;
pub mod for_you_list;
pub mod media_job;
pub mod recommendation;
pub mod recommendation_generation;
pub mod refresh_token;
pub mod released_media;
pub mod session;
pub mod trending_generation;
pub mod trending_rank;
pub mod upload;
pub mod user;
pub mod video;
pub mod video_category;
pub mod video_tag;
pub mod video_version;
pub mod video_view;
