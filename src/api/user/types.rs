use async_graphql::{Context, Enum, InputObject, MaybeUndefined, Object, ID};
use chrono::{DateTime, Utc};

use crate::api::context::ContextExt;
use crate::api::video::types::VideoConnection;
use crate::app::UserService;
use crate::domain::user::User;
use crate::domain::video::VideoFilter;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "Role", remote = "crate::domain::user::Role")]
pub enum GqlRole {
    Guest,
    User,
    Creator,
    Premium,
    Admin,
    SuperAdmin,
}

/// A user as the viewer sees them. `email` is shown only to the user themself and to
/// admins.
pub struct UserView {
    user: User,
    /// Set where the user is known to be the caller (register, login, refresh), before the
    /// request has a signed-in viewer.
    is_caller: bool,
}

impl UserView {
    pub fn new(user: User) -> Self {
        UserView {
            user,
            is_caller: false,
        }
    }

    pub fn caller(user: User) -> Self {
        UserView {
            user,
            is_caller: true,
        }
    }
}

#[Object(name = "User")]
impl UserView {
    async fn id(&self) -> ID {
        ID(self.user.id.to_string())
    }

    async fn username(&self) -> &str {
        &self.user.username
    }

    async fn display_name(&self) -> Option<&str> {
        self.user.display_name.as_deref()
    }

    async fn bio(&self) -> Option<&str> {
        self.user.bio.as_deref()
    }

    async fn avatar_url(&self) -> Option<&str> {
        self.user.avatar_url.as_deref()
    }

    async fn role(&self) -> GqlRole {
        self.user.role.into()
    }

    async fn created_at(&self) -> DateTime<Utc> {
        self.user.created_at
    }

    async fn email(&self, ctx: &Context<'_>) -> Option<&str> {
        (self.is_caller || UserService::may_see_email(ctx.viewer(), &self.user))
            .then_some(self.user.email.as_str())
    }

    /// This user's videos that the viewer may list, newest first.
    #[graphql(complexity = "first.unwrap_or(20).clamp(1, 100) as usize * child_complexity")]
    async fn videos(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<VideoConnection> {
        let filter = VideoFilter {
            owner_id: Some(self.user.id),
            ..Default::default()
        };
        VideoConnection::load(ctx, filter, None, first, after).await
    }
}

/// Profile fields; `null` clears a field, leaving it out keeps it.
#[derive(InputObject)]
pub struct UpdateProfileInput {
    pub display_name: MaybeUndefined<String>,
    pub bio: MaybeUndefined<String>,
    pub avatar_url: MaybeUndefined<String>,
}
