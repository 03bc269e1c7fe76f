//! Who may see and change a video.

use super::{Video, Visibility};
use crate::domain::auth::Viewer;
use crate::domain::user::Permission;

/// The owner and ADMIN and up may change a video; nobody changes a deleted one.
pub fn can_be_edited_by(video: &Video, viewer: &Viewer) -> bool {
    video.deleted_at.is_none()
        && (is_owner(video, viewer) || viewer.can(Permission::ManageAnyVideo))
}

fn is_owner(video: &Video, viewer: &Viewer) -> bool {
    viewer.user_id() == Some(video.owner_id)
}

/// Fetching by id: deleted never; the owner and admins always; others once published
/// and PUBLIC or UNLISTED.
pub fn is_visible_to(video: &Video, viewer: &Viewer) -> bool {
    if video.deleted_at.is_some() {
        return false;
    }
    if is_owner(video, viewer) || viewer.can(Permission::ManageAnyVideo) {
        return true;
    }
    video.is_published() && matches!(video.visibility, Visibility::Public | Visibility::Unlisted)
}

/// Listing and search: like [`is_visible_to`], but UNLISTED videos appear only to their
/// owner and admins.
pub fn is_listed_for(video: &Video, viewer: &Viewer) -> bool {
    is_visible_to(video, viewer)
        && (video.visibility != Visibility::Unlisted
            || is_owner(video, viewer)
            || viewer.can(Permission::ManageAnyVideo))
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::domain::user::Role;
    use crate::domain::video::VideoStatus;
    use crate::domain::{SessionId, UserId, VideoId};

    fn video(owner: UserId, visibility: Visibility, published: bool) -> Video {
        let now = Utc::now();
        Video {
            id: VideoId::new(),
            owner_id: owner,
            title: "t".into(),
            description: None,
            categories: vec![],
            tags: vec![],
            status: VideoStatus::Draft,
            visibility,
            published_at: published.then_some(now),
            duration_seconds: None,
            width: None,
            height: None,
            format: None,
            size_bytes: None,
            media_key: None,
            thumbnail_key: None,
            processing_stage: None,
            processing_progress: 0,
            processing_error: None,
            processing_updated_at: None,
            processing_note: None,
            seo_title: None,
            seo_description: None,
            seo_keywords: vec![],
            view_count: 0,
            like_count: 0,
            created_at: now,
            updated_at: now,
            deleted_at: None,
        }
    }

    fn user(id: UserId, role: Role) -> Viewer {
        Viewer::User {
            id,
            role,
            session: SessionId::new(),
            jti: String::new(),
            expires_at: 0,
        }
    }

    #[test]
    fn visibility_follows_publication_and_audience() {
        let owner = UserId::new();
        let stranger = user(UserId::new(), Role::User);
        let anon = Viewer::Anonymous {
            client_key: "x".into(),
        };
        let admin = user(UserId::new(), Role::Admin);

        let draft = video(owner, Visibility::Public, false);
        assert!(is_visible_to(&draft, &user(owner, Role::Creator)));
        assert!(!is_visible_to(&draft, &stranger));
        assert!(is_visible_to(&draft, &admin));

        let unlisted = video(owner, Visibility::Unlisted, true);
        assert!(is_visible_to(&unlisted, &anon));
        assert!(!is_listed_for(&unlisted, &anon));
        assert!(is_listed_for(&unlisted, &user(owner, Role::Creator)));

        let private = video(owner, Visibility::Private, true);
        assert!(!is_visible_to(&private, &stranger));

        let mut deleted = video(owner, Visibility::Public, true);
        deleted.deleted_at = Some(Utc::now());
        assert!(!is_visible_to(&deleted, &user(owner, Role::Creator)));
        assert!(!can_be_edited_by(&deleted, &admin));
    }

    #[test]
    fn only_owner_and_admins_edit() {
        let owner = UserId::new();
        let v = video(owner, Visibility::Public, true);
        assert!(can_be_edited_by(&v, &user(owner, Role::Creator)));
        assert!(!can_be_edited_by(&v, &user(UserId::new(), Role::Premium)));
        assert!(can_be_edited_by(&v, &user(UserId::new(), Role::Admin)));
    }
}
