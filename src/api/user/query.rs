use async_graphql::{Context, Object, ID};

use super::types::UserView;
use crate::api::context::ContextExt;
use crate::api::error::{code, GqlResultExt};
use crate::domain::{ErrorCode, UserId};

#[derive(Default)]
pub struct UserQuery;

#[Object]
impl UserQuery {
    /// The signed-in user, or null for anonymous requests.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<UserView>> {
        Ok(ctx
            .state()
            .users
            .me(ctx.viewer())
            .await
            .gql()?
            .map(UserView::new))
    }

    /// A user by id or by username (exactly one of them).
    async fn user(
        &self,
        ctx: &Context<'_>,
        id: Option<ID>,
        username: Option<String>,
    ) -> async_graphql::Result<Option<UserView>> {
        let users = &ctx.state().users;
        let user = match (id, username) {
            (Some(id), None) => users.by_id(UserId::parse(&id, "id").gql()?).await.gql()?,
            (None, Some(name)) => users.by_username(&name).await.gql()?,
            _ => {
                return Err(code(
                    ErrorCode::BadUserInput,
                    "give exactly one of id and username",
                ))
            }
        };
        Ok(user.filter(|u| u.is_active).map(UserView::new))
    }
}
