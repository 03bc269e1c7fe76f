use async_graphql::{Context, Object, ID};

use super::types::{GqlRole, UpdateProfileInput, UserView};
use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::api::patch::patch;
use crate::app::users::ProfileInput;
use crate::domain::UserId;

#[derive(Default)]
pub struct UserMutation;

#[Object]
impl UserMutation {
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<UserView> {
        let input = ProfileInput {
            display_name: patch(input.display_name),
            bio: patch(input.bio),
            avatar_url: patch(input.avatar_url),
        };
        Ok(UserView::new(
            ctx.state()
                .users
                .update_profile(ctx.viewer(), input)
                .await
                .gql()?,
        ))
    }

    /// ADMIN and up; only SUPER_ADMIN grants or removes ADMIN and SUPER_ADMIN.
    async fn set_user_role(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        role: GqlRole,
    ) -> async_graphql::Result<UserView> {
        let target = UserId::parse(&user_id, "userId").gql()?;
        Ok(UserView::new(
            ctx.state()
                .users
                .set_role(ctx.viewer(), target, role.into())
                .await
                .gql()?,
        ))
    }
}
