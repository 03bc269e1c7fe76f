use async_graphql::{Context, InputObject, Object, SimpleObject};

use crate::api::context::ContextExt;
use crate::api::error::GqlResultExt;
use crate::api::user::types::UserView;
use crate::app::auth::RegisterInput as Register;
use crate::app::AuthSession;

#[derive(InputObject)]
pub struct RegisterInput {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

#[derive(InputObject)]
pub struct LoginInput {
    pub username_or_email: String,
    pub password: String,
}

#[derive(SimpleObject)]
pub struct AuthPayload {
    access_token: String,
    refresh_token: String,
    /// Seconds until the access token expires.
    expires_in: i32,
    token_type: String,
    user: UserView,
}

impl From<AuthSession> for AuthPayload {
    fn from(s: AuthSession) -> Self {
        AuthPayload {
            access_token: s.access_token,
            refresh_token: s.refresh_token,
            expires_in: s.expires_in.as_secs() as i32,
            token_type: "Bearer".into(),
            user: UserView::caller(s.user),
        }
    }
}

#[derive(Default)]
pub struct AuthMutation;

#[Object]
impl AuthMutation {
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let input = Register {
            username: input.username,
            email: input.email,
            password: input.password,
            display_name: input.display_name,
        };
        Ok(ctx.state().auth.register(input).await.gql()?.into())
    }

    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(ctx
            .state()
            .auth
            .login(
                &input.username_or_email,
                &input.password,
                &ctx.viewer().counter_key(),
            )
            .await
            .gql()?
            .into())
    }

    /// Trades a refresh token for a new pair; the old refresh token stops working.
    async fn refresh_token(
        &self,
        ctx: &Context<'_>,
        refresh_token: String,
    ) -> async_graphql::Result<AuthPayload> {
        Ok(ctx.state().auth.refresh(&refresh_token).await.gql()?.into())
    }

    /// Ends this session and revokes the access token in use.
    async fn logout(
        &self,
        ctx: &Context<'_>,
        refresh_token: Option<String>,
    ) -> async_graphql::Result<bool> {
        ctx.state()
            .auth
            .logout(ctx.viewer(), refresh_token.as_deref())
            .await
            .gql()
    }

    /// Ends every session of the signed-in user.
    async fn logout_all(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        ctx.state().auth.logout_all(ctx.viewer()).await.gql()
    }

    /// Changes the password; every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current_password: String,
        new_password: String,
    ) -> async_graphql::Result<bool> {
        ctx.state()
            .auth
            .change_password(ctx.viewer(), &current_password, &new_password)
            .await
            .gql()
    }
}
