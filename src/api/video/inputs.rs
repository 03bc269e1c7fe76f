//! The input objects of video listings and mutations.

use async_graphql::{InputObject, MaybeUndefined, ID};

use super::types::GqlVideoStatus;
use super::types::GqlVisibility;
use crate::api::error::GqlResultExt;
use crate::domain::video::VideoFilter;
use crate::domain::UserId;

#[derive(InputObject, Default)]
#[graphql(name = "VideoFilter")]
pub struct VideoFilterInput {
    pub owner_id: Option<ID>,
    pub category: Option<String>,
    pub tag: Option<String>,
    pub status: Option<GqlVideoStatus>,
    pub visibility: Option<GqlVisibility>,
}

impl VideoFilterInput {
    pub fn to_domain(&self) -> async_graphql::Result<VideoFilter> {
        Ok(VideoFilter {
            owner_id: self
                .owner_id
                .as_ref()
                .map(|id| UserId::parse(id, "filter.ownerId"))
                .transpose()
                .gql()?,
            category: self.category.as_ref().map(|c| c.trim().to_owned()),
            tag: self.tag.as_ref().map(|t| t.trim().to_owned()),
            status: self.status.map(Into::into),
            visibility: self.visibility.map(Into::into),
        })
    }
}

#[derive(InputObject)]
pub struct CreateVideoInput {
    pub title: String,
    pub description: Option<String>,
    #[graphql(default)]
    pub categories: Vec<String>,
    #[graphql(default)]
    pub tags: Vec<String>,
    /// PUBLIC when left out. A new video stays unpublished until `publishVideo`.
    pub visibility: Option<GqlVisibility>,
    pub seo_title: Option<String>,
    pub seo_description: Option<String>,
    #[graphql(default)]
    pub seo_keywords: Vec<String>,
}

/// Fields left out stay as they are; `null` clears a nullable field.
#[derive(InputObject)]
pub struct UpdateVideoInput {
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    pub categories: Option<Vec<String>>,
    pub tags: Option<Vec<String>>,
    pub visibility: Option<GqlVisibility>,
    pub seo_title: MaybeUndefined<String>,
    pub seo_description: MaybeUndefined<String>,
    pub seo_keywords: Option<Vec<String>>,
}
