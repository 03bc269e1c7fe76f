//! `recommendedVideos`: a connection whose edges also say why.

use async_graphql::{Object, SimpleObject};

use super::types::{PageInfo, VideoView};
use crate::app::for_you::RecommendedPage;

pub struct RecommendedConnection(pub RecommendedPage);

/// A recommended video with its score (0 for trending picks) and why it is here:
/// "because you liked <title>", "because you watched <title>" or "trending".
#[derive(SimpleObject)]
#[graphql(name = "RecommendedVideoEdge")]
pub struct RecommendedEdge {
    cursor: String,
    node: VideoView,
    score: f64,
    reason: String,
}

/// A page of recommendations: `edges.node`, `nodes` and `pageInfo` as in
/// VideoConnection, and each edge's `score` and `reason`.
#[Object(name = "RecommendedVideoConnection")]
impl RecommendedConnection {
    async fn edges(&self) -> Vec<RecommendedEdge> {
        self.0
            .items
            .iter()
            .map(|(cursor, r)| RecommendedEdge {
                cursor: cursor.clone(),
                node: VideoView(r.video.clone()),
                score: r.score,
                reason: r.reason.clone(),
            })
            .collect()
    }

    async fn nodes(&self) -> Vec<VideoView> {
        self.0
            .items
            .iter()
            .map(|(_, r)| VideoView(r.video.clone()))
            .collect()
    }

    async fn page_info(&self) -> PageInfo {
        PageInfo {
            has_next_page: self.0.has_next_page,
            has_previous_page: self.0.has_previous_page,
            start_cursor: self.0.items.first().map(|(c, _)| c.clone()),
            end_cursor: self.0.items.last().map(|(c, _)| c.clone()),
        }
    }
}
