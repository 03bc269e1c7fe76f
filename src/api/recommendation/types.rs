use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

use super::loader::ItemLikesLoader;
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::api::patch::patch;
use crate::api::video::loader::{loader_error, FavoritedLoader, VideoLoader};
use crate::api::video::types::VideoView;
use crate::app::recommendations::FeedPage;
use crate::domain::clock;
use crate::domain::recommendation::{Recommendation, RecommendationPatch};
use crate::domain::user::Permission;
use crate::domain::VideoId;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(
    name = "RecommendationKind",
    remote = "crate::domain::recommendation::RecommendationKind"
)]
pub enum GqlRecommendationKind {
    Video,
    Movie,
    Book,
    Activity,
    Game,
}

pub struct RecommendationView(pub Recommendation);

/// Whether the viewer curates items (sees featuring windows as set).
fn curator(ctx: &Context<'_>) -> bool {
    ctx.viewer().can(Permission::ManageRecommendations)
}

#[Object(name = "Recommendation")]
impl RecommendationView {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn kind(&self) -> GqlRecommendationKind {
        self.0.fields.kind.into()
    }

    async fn title(&self) -> &str {
        &self.0.fields.title
    }

    async fn subtitle(&self) -> Option<&str> {
        self.0.fields.subtitle.as_deref()
    }

    async fn description(&self) -> Option<&str> {
        self.0.fields.description.as_deref()
    }

    /// Stars, from 0 to 5.
    async fn rating(&self) -> Option<f64> {
        self.0.fields.rating
    }

    /// An absolute http(s) URL.
    async fn image_url(&self) -> Option<&str> {
        self.0.fields.image_url.as_deref()
    }

    /// `#rrggbb`, lowercase.
    async fn accent_color(&self) -> Option<&str> {
        self.0.fields.accent_color.as_deref()
    }

    /// Display text, for example "2h 15m" or "320 pages".
    async fn duration(&self) -> Option<&str> {
        self.0.fields.duration.as_deref()
    }

    /// ISO 8601: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; years before 1 as `-YYYY`.
    async fn release_date(&self) -> Option<&str> {
        self.0.fields.release_date.as_deref()
    }

    /// Where the item came from (an import or feed name); absent for admins' own items.
    async fn source(&self) -> Option<&str> {
        self.0.fields.source.as_deref()
    }

    /// The item's id at its source.
    async fn source_ref(&self) -> Option<&str> {
        self.0.fields.source_ref.as_deref()
    }

    /// The video of a VIDEO item.
    async fn video(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<VideoView>> {
        let Some(id) = self.0.fields.video_id else {
            return Ok(None);
        };
        let loader = ctx.data_unchecked::<DataLoader<VideoLoader>>();
        Ok(loader
            .load_one(id)
            .await
            .map_err(loader_error)?
            .map(VideoView))
    }

    /// In the feed's `featured` row now (for admins: marked featured, whatever the window).
    async fn featured(&self, ctx: &Context<'_>) -> bool {
        if curator(ctx) {
            self.0.fields.featured
        } else {
            self.0.is_featured_at(clock::now())
        }
    }

    /// When featuring starts (admins only: a scheduled promotion is not public).
    async fn featured_from(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        curator(ctx)
            .then_some(self.0.fields.featured_from)
            .flatten()
    }

    /// When featuring ends (admins only).
    async fn featured_until(&self, ctx: &Context<'_>) -> Option<DateTime<Utc>> {
        curator(ctx)
            .then_some(self.0.fields.featured_until)
            .flatten()
    }

    /// The rank in feeds that are not personal: higher first.
    async fn score(&self) -> f64 {
        self.0.fields.score
    }

    /// Favorites of this item, exact at the time of the request.
    async fn like_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let loader = ctx.data_unchecked::<DataLoader<ItemLikesLoader>>();
        Ok(loader
            .load_one(self.0.id)
            .await
            .map_err(loader_error)?
            .unwrap_or(0))
    }

    async fn viewer_has_favorited(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let loader = ctx.data_unchecked::<DataLoader<FavoritedLoader>>();
        Ok(loader
            .load_one(self.0.id)
            .await
            .map_err(loader_error)?
            .unwrap_or(false))
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One page of a feed version. Pages with `nextCursor` stay in `version`: nothing is
/// repeated or skipped while items change. `refresh: true` starts a new version.
#[derive(SimpleObject)]
#[graphql(name = "RecommendationFeed")]
pub struct RecommendationFeedView {
    items: Vec<RecommendationView>,
    /// The feed's featured items now (at most 10), the same on every page.
    featured: Vec<RecommendationView>,
    next_cursor: Option<String>,
    has_more: bool,
    version: i64,
}

impl From<FeedPage> for RecommendationFeedView {
    fn from(page: FeedPage) -> Self {
        Self {
            items: page.items.into_iter().map(RecommendationView).collect(),
            featured: page.featured.into_iter().map(RecommendationView).collect(),
            next_cursor: page.next_cursor,
            has_more: page.has_more,
            version: page.version,
        }
    }
}

/// An item's fields. On create, `kind` and `title` are required and what is left out is
/// empty; on update, what is left out stays and `null` clears. A VIDEO item needs
/// `videoId`; `source` and `sourceRef` come together.
#[derive(InputObject, Default)]
pub struct RecommendationInput {
    pub kind: Option<GqlRecommendationKind>,
    pub title: Option<String>,
    pub subtitle: MaybeUndefined<String>,
    pub description: MaybeUndefined<String>,
    /// Stars, from 0 to 5.
    pub rating: MaybeUndefined<f64>,
    /// An absolute http(s) URL.
    pub image_url: MaybeUndefined<String>,
    /// `#rrggbb`.
    pub accent_color: MaybeUndefined<String>,
    pub duration: MaybeUndefined<String>,
    /// ISO 8601: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`; years before 1 as `-YYYY`.
    pub release_date: MaybeUndefined<String>,
    /// Lowercase letters, digits, `-`, `_` and `.`.
    pub source: MaybeUndefined<String>,
    pub source_ref: MaybeUndefined<String>,
    pub video_id: MaybeUndefined<ID>,
    pub featured: Option<bool>,
    /// Featured from this time on (open when absent).
    pub featured_from: MaybeUndefined<DateTime<Utc>>,
    /// Featured until this time (open when absent); after `featuredFrom`.
    pub featured_until: MaybeUndefined<DateTime<Utc>>,
    /// Higher first in feeds that are not personal; 0 when left out on create.
    pub score: Option<f64>,
}

impl RecommendationInput {
    pub fn into_patch(self) -> async_graphql::Result<RecommendationPatch> {
        let video_id = match self.video_id {
            MaybeUndefined::Value(id) => {
                MaybeUndefined::Value(VideoId::parse(&id, "input.videoId").gql()?)
            }
            MaybeUndefined::Null => MaybeUndefined::Null,
            MaybeUndefined::Undefined => MaybeUndefined::Undefined,
        };
        Ok(RecommendationPatch {
            kind: self.kind.map(Into::into),
            title: self.title,
            subtitle: patch(self.subtitle),
            description: patch(self.description),
            rating: patch(self.rating),
            image_url: patch(self.image_url),
            accent_color: patch(self.accent_color),
            duration: patch(self.duration),
            release_date: patch(self.release_date),
            source: patch(self.source),
            source_ref: patch(self.source_ref),
            video_id: patch(video_id),
            featured: self.featured,
            featured_from: patch(self.featured_from),
            featured_until: patch(self.featured_until),
            score: self.score,
        })
    }
}
