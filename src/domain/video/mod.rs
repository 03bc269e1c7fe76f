//! Videos: their fields, who may see and change them, and the repository port.

mod fields;
pub mod for_you;
mod model;
mod ports;
mod rules;
pub mod trending;

pub use fields::{
    optional, seo_description, seo_title, Categories, Description, SeoKeywords, Tags, Title,
};
pub use model::{NewVideo, Video, VideoChanges, VideoStatus, VideoVersion, Visibility};
pub use ports::{ListScope, SortKey, VideoFilter, VideoRepository, VideoSort};
pub use rules::{can_be_edited_by, is_listed_for, is_visible_to};

/// The most version records a video lists: its newest ones.
pub const MAX_VERSIONS: i32 = 100;

/// How many videos a trending ranking holds: its listing ends there.
pub const TRENDING_DEPTH: u64 = 10_000;
