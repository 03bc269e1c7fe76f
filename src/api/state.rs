//! What the transport is given to serve requests: the use cases, the event bus, the health
//! port and the folder store's routes. `startup` builds it; nothing here reaches the
//! database, Redis or the search replica directly.

use std::sync::Arc;

use crate::app::dashboard::DashboardService;
use crate::app::{
    AuthService, FavoriteService, ForYouService, MediaService, RecommendationService,
    SearchService, UserService, VideoService,
};
use crate::domain::events::EventBus;
use crate::domain::health::InstanceHealth;
use crate::infra::media::FolderStore;

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct ApiState {
    pub auth: Arc<AuthService>,
    pub users: Arc<UserService>,
    pub videos: Arc<VideoService>,
    pub favorites: Arc<FavoriteService>,
    pub recommendations: Arc<RecommendationService>,
    pub for_you: Arc<ForYouService>,
    pub search: Arc<SearchService>,
    pub media: Arc<MediaService>,
    pub dashboard: Arc<DashboardService>,
    pub events: Arc<dyn EventBus>,
    pub health: Arc<dyn InstanceHealth>,
    /// The folder store, whose `/media` routes take uploads and serve reads; `None` when
    /// media live in Azure Blob Storage.
    pub folder: Option<Arc<FolderStore>>,
}
