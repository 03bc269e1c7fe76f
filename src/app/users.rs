//! Profiles and roles.

use std::sync::Arc;

use super::AuthService;
use crate::domain::auth::Viewer;
use crate::domain::error::DomainResult;
use crate::domain::user::{
    Bio, DisplayName, Permission, ProfileChanges, Role, User, UserRepository, Username,
};
use crate::domain::{DomainError, UserId};

pub struct UserService {
    users: Arc<dyn UserRepository>,
    auth: Arc<AuthService>,
}

/// A profile edit as the client sent it: `Some(None)` clears a field.
#[derive(Default)]
pub struct ProfileInput {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

fn parse_avatar_url(raw: &str) -> DomainResult<String> {
    let url = raw.trim();
    let ok = url.len() <= 2048
        && (url.starts_with("https://") || url.starts_with("http://"))
        && !url.chars().any(|c| c.is_control() || c.is_whitespace());
    if ok {
        Ok(url.to_owned())
    } else {
        Err(DomainError::bad_input(
            "input.avatarUrl",
            "avatarUrl must be an http(s) URL of at most 2048 characters",
        ))
    }
}

impl UserService {
    pub fn new(users: Arc<dyn UserRepository>, auth: Arc<AuthService>) -> Self {
        Self { users, auth }
    }

    pub async fn by_id(&self, id: UserId) -> DomainResult<Option<User>> {
        Ok(self.users.by_id(id).await?)
    }

    pub async fn by_ids(&self, ids: &[UserId]) -> DomainResult<Vec<User>> {
        Ok(self.users.by_ids(ids).await?)
    }

    pub async fn by_username(&self, username: &str) -> DomainResult<Option<User>> {
        // A valid username has no '@', so its key never matches an email key.
        match Username::parse(username) {
            Ok(name) => Ok(self.users.by_login_key(&name.key()).await?),
            Err(_) => Ok(None),
        }
    }

    pub async fn me(&self, viewer: &Viewer) -> DomainResult<Option<User>> {
        match viewer.user_id() {
            Some(id) => Ok(self.users.by_id(id).await?),
            None => Ok(None),
        }
    }

    pub async fn update_profile(&self, viewer: &Viewer, input: ProfileInput) -> DomainResult<User> {
        let (id, _) = viewer.require_user()?;
        let field = |e: DomainError| e.in_field("input");
        let changes = ProfileChanges {
            display_name: input
                .display_name
                .map(|v| {
                    v.map(|s| DisplayName::parse(&s).map(DisplayName::into_inner))
                        .transpose()
                })
                .transpose()
                .map_err(field)?,
            bio: input
                .bio
                .map(|v| v.map(|s| Bio::parse(&s).map(Bio::into_inner)).transpose())
                .transpose()
                .map_err(field)?,
            avatar_url: input
                .avatar_url
                .map(|v| v.map(|s| parse_avatar_url(&s)).transpose())
                .transpose()?,
        };
        Ok(self.users.update_profile(id, changes).await?)
    }

    /// ADMIN and up may set roles below their own; only SUPER_ADMIN grants or removes
    /// ADMIN and SUPER_ADMIN. Nobody changes their own role. Access tokens carry the role,
    /// so a change ends the user's sessions: they sign in again and get the new role at
    /// once, and a demoted admin keeps no power for the rest of a token's life.
    pub async fn set_role(
        &self,
        viewer: &Viewer,
        target: UserId,
        role: Role,
    ) -> DomainResult<User> {
        let me = viewer.require(Permission::ManageUsers, "change roles")?;
        if me == target {
            return Err(DomainError::forbidden("you may not change your own role"));
        }
        let user = self
            .users
            .by_id(target)
            .await?
            .ok_or(DomainError::NotFound("user"))?;
        let touches_admins = role >= Role::Admin || user.role >= Role::Admin;
        if touches_admins && !viewer.can(Permission::ManageAdmins) {
            return Err(DomainError::forbidden(
                "only SUPER_ADMIN may grant or remove ADMIN and SUPER_ADMIN",
            ));
        }
        // Sessions end before the role changes: if the change then fails, the user signs in
        // again with the old role; the other order could leave old-role tokens alive.
        if role != user.role {
            self.auth.end_all_sessions(target, "role_changed").await?;
        }
        Ok(self.users.set_role(target, role).await?)
    }

    /// Email is shown to the user themself and to admins.
    pub fn may_see_email(viewer: &Viewer, user: &User) -> bool {
        viewer.user_id() == Some(user.id) || viewer.can(Permission::ManageUsers)
    }
}
