//! Rows to domain values. A row that breaks a domain invariant is an internal error,
//! never a panic.

use anyhow::anyhow;

use super::entities::{user, video};
use crate::domain::user::{Role, User};
use crate::domain::video::Video;
use crate::domain::{BackendError, UserId, VideoId};

fn corrupt(what: &str, detail: impl std::fmt::Display) -> BackendError {
    BackendError::internal(anyhow!("corrupt {what} row: {detail}"))
}

pub fn user_from(m: user::Model) -> Result<User, BackendError> {
    Ok(User {
        id: UserId::from_uuid(m.id),
        role: m
            .role
            .parse::<Role>()
            .map_err(|_| corrupt("user", format!("role {:?}", m.role)))?,
        username: m.username,
        email: m.email,
        password_hash: m.password_hash,
        display_name: m.display_name,
        bio: m.bio,
        avatar_url: m.avatar_url,
        is_active: m.is_active,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

pub fn json_list(raw: &str) -> Result<Vec<String>, BackendError> {
    serde_json::from_str(raw).map_err(|e| corrupt("video", e))
}

pub fn to_json_list(items: &[String]) -> String {
    serde_json::Value::from(items.to_vec()).to_string()
}

pub fn video_from(m: video::Model) -> Result<Video, BackendError> {
    Ok(Video {
        id: VideoId::from_uuid(m.id),
        owner_id: UserId::from_uuid(m.owner_id),
        categories: json_list(&m.categories)?,
        tags: json_list(&m.tags)?,
        seo_keywords: json_list(&m.seo_keywords)?,
        status: m
            .status
            .parse()
            .map_err(|_| corrupt("video", format!("status {:?}", m.status)))?,
        visibility: m
            .visibility
            .parse()
            .map_err(|_| corrupt("video", format!("visibility {:?}", m.visibility)))?,
        title: m.title,
        description: m.description,
        published_at: m.published_at,
        duration_seconds: m.duration_seconds,
        width: m.width,
        height: m.height,
        format: m.format,
        size_bytes: m.size_bytes,
        media_key: m.media_key,
        thumbnail_key: m.thumbnail_key,
        processing_stage: m.processing_stage,
        processing_progress: m.processing_progress,
        processing_error: m.processing_error,
        processing_updated_at: m.processing_updated_at,
        processing_note: m.processing_note,
        seo_title: m.seo_title,
        seo_description: m.seo_description,
        view_count: m.view_count,
        like_count: m.like_count,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}
