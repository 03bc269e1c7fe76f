use async_graphql::dataloader::DataLoader;
use async_graphql::{Context, Enum, Object, SimpleObject, ID};
use chrono::{DateTime, Utc};

pub use super::inputs::{CreateVideoInput, UpdateVideoInput, VideoFilterInput};
use super::loader::{loader_error, FavoritedLoader, UserLoader, VersionsLoader};
use crate::api::context::ContextExt;
use crate::api::error::{to_gql, GqlResultExt};
use crate::api::user::types::UserView;
use crate::app::cursor;
use crate::domain::page::Page;
use crate::domain::video::{SortKey, Video, VideoFilter, VideoSort, VideoVersion, MAX_VERSIONS};
use crate::domain::DomainError;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "VideoStatus", remote = "crate::domain::video::VideoStatus")]
pub enum GqlVideoStatus {
    Draft,
    Uploading,
    Processing,
    Ready,
    Failed,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "Visibility", remote = "crate::domain::video::Visibility")]
pub enum GqlVisibility {
    Private,
    Unlisted,
    Public,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Default)]
#[graphql(name = "VideoSort")]
pub enum GqlVideoSort {
    #[default]
    Newest,
    Oldest,
    MostLiked,
    MostViewed,
    /// By hot score: counted views and favorites, each halving in weight every 24 hours,
    /// plus a start for new videos. Published PUBLIC videos only, paged through a ranking
    /// fixed when the first page was read (rebuilt every minute by default; cursors stay valid
    /// for 30 minutes), so pages never repeat or skip a video while scores move.
    Trending,
}

impl GqlVideoSort {
    fn to_domain(self) -> VideoSort {
        match self {
            GqlVideoSort::Newest => VideoSort::Newest,
            GqlVideoSort::Oldest => VideoSort::Oldest,
            GqlVideoSort::MostLiked => VideoSort::MostLiked,
            GqlVideoSort::MostViewed => VideoSort::MostViewed,
            GqlVideoSort::Trending => VideoSort::Trending,
        }
    }
}

#[derive(SimpleObject)]
pub struct Processing {
    stage: Option<String>,
    progress: i32,
    error: Option<String>,
    updated_at: Option<DateTime<Utc>>,
    /// What processing could not learn, for example when ffmpeg is not installed.
    note: Option<String>,
}

#[derive(SimpleObject)]
#[graphql(name = "VideoVersion")]
pub struct VideoVersionView {
    version: i32,
    size_bytes: Option<i64>,
    created_at: DateTime<Utc>,
    /// What changed: the edited fields, or "created".
    changes: Option<String>,
}

impl From<VideoVersion> for VideoVersionView {
    fn from(v: VideoVersion) -> Self {
        VideoVersionView {
            version: v.version,
            size_bytes: v.size_bytes,
            created_at: v.created_at,
            changes: v.changes,
        }
    }
}

#[derive(SimpleObject)]
pub struct VideoStats {
    video_id: ID,
    view_count: i64,
    like_count: i64,
    /// When the counts were taken (for live updates: when the change was published).
    at: DateTime<Utc>,
}

impl VideoStats {
    pub fn new(video_id: ID, view_count: i64, like_count: i64, at: DateTime<Utc>) -> Self {
        VideoStats {
            video_id,
            view_count,
            like_count,
            at,
        }
    }
}

pub struct VideoView(pub Video);

#[Object(name = "Video")]
impl VideoView {
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    async fn owner(&self, ctx: &Context<'_>) -> async_graphql::Result<UserView> {
        let loader = ctx.data_unchecked::<DataLoader<UserLoader>>();
        let user = loader
            .load_one(self.0.owner_id)
            .await
            .map_err(loader_error)?;
        user.map(UserView::new).ok_or_else(|| {
            to_gql(DomainError::internal(anyhow::anyhow!(
                "owner {} of video {} is missing",
                self.0.owner_id,
                self.0.id
            )))
        })
    }

    async fn title(&self) -> &str {
        &self.0.title
    }

    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }

    async fn categories(&self) -> &[String] {
        &self.0.categories
    }

    async fn tags(&self) -> &[String] {
        &self.0.tags
    }

    async fn status(&self) -> GqlVideoStatus {
        self.0.status.into()
    }

    async fn visibility(&self) -> GqlVisibility {
        self.0.visibility.into()
    }

    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }

    async fn duration_seconds(&self) -> Option<f64> {
        self.0.duration_seconds
    }

    async fn width(&self) -> Option<i32> {
        self.0.width
    }

    async fn height(&self) -> Option<i32> {
        self.0.height
    }

    async fn format(&self) -> Option<&str> {
        self.0.format.as_deref()
    }

    async fn size_bytes(&self) -> Option<i64> {
        self.0.size_bytes
    }

    /// Stage and progress for everyone who sees the video; the error only for its owner
    /// and admins.
    async fn processing(&self, ctx: &Context<'_>) -> Processing {
        Processing {
            stage: self.0.processing_stage.clone(),
            progress: self.0.processing_progress,
            error: ctx
                .state()
                .media
                .processing_error(ctx.viewer(), &self.0)
                .map(str::to_owned),
            updated_at: self.0.processing_updated_at,
            note: self.0.processing_note.clone(),
        }
    }

    /// A signed URL to the media, valid for 15 minutes: for everyone who may see the
    /// video once it is READY, for its owner and admins as soon as it is uploaded.
    async fn media_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        ctx.state()
            .media
            .media_url(ctx.viewer(), &self.0)
            .await
            .gql()
    }

    /// A signed URL to the thumbnail (uploaded, or made by processing), valid for 15 minutes.
    async fn thumbnail_url(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<String>> {
        ctx.state().media.thumbnail_url(&self.0).await.gql()
    }

    /// The latest processing job, for the owner and admins.
    async fn processing_job(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<crate::api::media::JobView>> {
        Ok(ctx
            .state()
            .media
            .latest_job(ctx.viewer(), &self.0)
            .await
            .gql()?
            .map(crate::api::media::JobView))
    }

    async fn view_count(&self) -> i64 {
        self.0.view_count
    }

    async fn like_count(&self) -> i64 {
        self.0.like_count
    }

    /// False for anonymous viewers.
    async fn viewer_has_favorited(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let loader = ctx.data_unchecked::<DataLoader<FavoritedLoader>>();
        Ok(loader
            .load_one(self.0.id)
            .await
            .map_err(loader_error)?
            .unwrap_or(false))
    }

    /// The creator's SEO title, or the title cut to 70 characters.
    async fn seo_title(&self) -> String {
        self.0.effective_seo_title()
    }

    /// The creator's SEO description, or the description cut to 160 characters.
    async fn seo_description(&self) -> Option<String> {
        self.0.effective_seo_description()
    }

    /// The creator's SEO keywords, or the tags.
    async fn seo_keywords(&self) -> Vec<String> {
        self.0.effective_seo_keywords()
    }

    /// The video's newest `last` version records (1..=100, default 20), oldest first.
    #[graphql(
        complexity = "(last.unwrap_or(20).clamp(1, MAX_VERSIONS) as usize) * child_complexity"
    )]
    async fn versions(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(20)")] last: Option<i32>,
    ) -> async_graphql::Result<Vec<VideoVersionView>> {
        let last = last.unwrap_or(20);
        if !(1..=MAX_VERSIONS).contains(&last) {
            return Err(to_gql(DomainError::bad_input(
                "last",
                format!("last must be 1..={MAX_VERSIONS}"),
            )));
        }
        let loader = ctx.data_unchecked::<DataLoader<VersionsLoader>>();
        let versions = loader
            .load_one(self.0.id)
            .await
            .map_err(loader_error)?
            .unwrap_or_default();
        let skip = versions.len().saturating_sub(last as usize);
        Ok(versions.into_iter().skip(skip).map(Into::into).collect())
    }

    /// Videos like this one (by title, description and tags) that the viewer may see.
    /// `first` is 1..=50.
    #[graphql(complexity = "(first.unwrap_or(10).clamp(1, 50) as usize) * child_complexity")]
    async fn related(
        &self,
        ctx: &Context<'_>,
        #[graphql(default_with = "Some(10)")] first: Option<i32>,
    ) -> async_graphql::Result<Vec<VideoView>> {
        Ok(ctx
            .state()
            .search
            .related(ctx.viewer(), self.0.id, first.map(i64::from))
            .await
            .gql()?
            .into_iter()
            .map(VideoView)
            .collect())
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }

    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

#[derive(SimpleObject)]
pub struct VideoEdge {
    cursor: String,
    node: VideoView,
}

/// A page of videos. `totalCount` runs its own count query only when asked for.
pub struct VideoConnection {
    edges: Vec<(String, Video)>,
    has_next_page: bool,
    has_previous_page: bool,
    filter: VideoFilter,
    /// The trending ranking the page came from, for a TRENDING listing.
    ranking: Option<i64>,
}

impl VideoConnection {
    pub async fn load(
        ctx: &Context<'_>,
        filter: VideoFilter,
        sort: Option<GqlVideoSort>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<Self> {
        let sort = sort.unwrap_or_default().to_domain();
        let videos = &ctx.state().videos;
        let first = first.map(i64::from);
        let (ranking, page): (Option<i64>, Page<Video, SortKey>) = if sort == VideoSort::Trending {
            let after = after
                .as_deref()
                .map(|c| cursor::decode_video(sort, c))
                .transpose()
                .gql()?;
            let (ranking, page) = videos.trending().page(&filter, first, after).await.gql()?;
            (Some(ranking), page)
        } else {
            let page = videos
                .list(ctx.viewer(), &filter, sort, first, after.as_deref())
                .await
                .gql()?;
            (None, page)
        };
        Ok(VideoConnection {
            edges: page
                .items
                .into_iter()
                .map(|(v, key)| (cursor::encode_video(sort, &key), v))
                .collect(),
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            filter,
            ranking,
        })
    }
}

#[Object]
impl VideoConnection {
    async fn edges(&self) -> Vec<VideoEdge> {
        self.edges
            .iter()
            .map(|(c, v)| VideoEdge {
                cursor: c.clone(),
                node: VideoView(v.clone()),
            })
            .collect()
    }

    async fn nodes(&self) -> Vec<VideoView> {
        self.edges
            .iter()
            .map(|(_, v)| VideoView(v.clone()))
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            start_cursor: self.edges.first().map(|(c, _)| c.clone()),
            end_cursor: self.edges.last().map(|(c, _)| c.clone()),
        }
    }

    /// All videos matching the filter that the viewer may list (for TRENDING: those in
    /// the page's ranking that are still listed).
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i64> {
        let videos = &ctx.state().videos;
        let count = match self.ranking {
            Some(ranking) => videos.trending().count(ranking, &self.filter).await,
            None => videos.count(ctx.viewer(), &self.filter).await,
        };
        Ok(count.gql()? as i64)
    }
}
