//! Registration, login and the refresh-token lifecycle.
//!
//! Refresh tokens are 256-bit random strings; only their SHA-256 is stored. Every refresh
//! rotates the token; presenting a rotated one revokes its whole family (RFC 9700 §4.14.2).
//! Logout puts the access token's `jti` and its session on the revocation list until the
//! access token would have expired anyway.

use std::sync::Arc;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

mod revocation;

use crate::domain::auth::{
    AccessTokens, AttemptLimiter, PasswordHasher, RefreshOutcome, RevocationList,
    SessionRepository, Viewer,
};
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::EventBus;
use crate::domain::text::fold_key;
use crate::domain::user::{
    DisplayName, Email, NewUser, Password, Role, User, UserRepository, Username,
};
use crate::domain::{DomainError, UserId};

/// Failed logins allowed per account from one client in [`LOGIN_WINDOW`] before that
/// client's further tries at that account are refused. Other clients are unaffected, so
/// nobody can lock a user out by failing on purpose.
pub const MAX_LOGIN_FAILURES: u64 = 5;
/// Failed logins allowed from one client in [`LOGIN_WINDOW`], whatever the accounts (a
/// client guessing across many accounts). Successful logins do not count, so many people
/// behind one address can sign in.
pub const MAX_CLIENT_FAILURES: u64 = 100;
/// Failed logins per account from all clients together in [`LOGIN_WINDOW`] (guessing
/// spread over many addresses) after which only clients without a failure of their own on
/// the account may try.
pub const MAX_ACCOUNT_FAILURES: u64 = 100;
pub const LOGIN_WINDOW: Duration = Duration::from_secs(15 * 60);

/// What register, login and refresh hand back.
pub struct AuthSession {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: Duration,
    pub user: User,
}

pub struct RegisterInput {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
}

/// What the account use cases are built on.
pub struct AuthPorts {
    pub users: Arc<dyn UserRepository>,
    pub sessions: Arc<dyn SessionRepository>,
    pub hasher: Arc<dyn PasswordHasher>,
    pub tokens: Arc<dyn AccessTokens>,
    pub revocations: Arc<dyn RevocationList>,
    pub limiter: Arc<dyn AttemptLimiter>,
    /// Revoked sessions are announced, so live sockets on any instance close at once.
    pub events: Arc<dyn EventBus>,
}

pub struct AuthService {
    ports: AuthPorts,
    default_role: Role,
    refresh_ttl: Duration,
    /// Held while the revocation list is filled from the database.
    refilling: tokio::sync::Mutex<()>,
}

fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn hash_refresh_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn invalid_refresh() -> DomainError {
    DomainError::Unauthenticated("refresh token is invalid, expired or revoked".into())
}

fn throttled(what: &str, retry_after: u64) -> DomainError {
    DomainError::RateLimited {
        message: format!("too many {what}; try again in {retry_after} seconds"),
        retry_after_seconds: retry_after,
    }
}

fn invalid_login() -> DomainError {
    DomainError::Unauthenticated("invalid username/email or password".into())
}

impl AuthService {
    /// New users get `default_role`; refresh tokens live `refresh_ttl`.
    pub fn new(ports: AuthPorts, default_role: Role, refresh_ttl: Duration) -> Self {
        Self {
            ports,
            default_role,
            refresh_ttl,
            refilling: tokio::sync::Mutex::new(()),
        }
    }

    pub async fn register(&self, input: RegisterInput) -> DomainResult<AuthSession> {
        let user = self.create_user(input, self.default_role).await?;
        self.start_session(user).await
    }

    /// Creates a user with `role` (register uses the configured default; the `user create`
    /// command any role). Errors name fields as `input.<field>`.
    pub async fn create_user(&self, input: RegisterInput, role: Role) -> DomainResult<User> {
        let field = |e: DomainError| e.in_field("input");
        let username = Username::parse_new(&input.username).map_err(field)?;
        let email = Email::parse(&input.email).map_err(field)?;
        let password = Password::parse(&input.password, "password").map_err(field)?;
        let display_name = input
            .display_name
            .as_deref()
            .map(DisplayName::parse)
            .transpose()
            .map_err(field)?
            .map(DisplayName::into_inner);
        let password_hash = self.ports.hasher.hash(password.expose()).await?;
        Ok(self
            .ports
            .users
            .create(NewUser {
                id: UserId::new(),
                username,
                email,
                password_hash,
                display_name,
                role,
                now: clock::now(),
            })
            .await?)
    }

    /// Signs in. `client` identifies the caller (its address, or its user) for throttling.
    pub async fn login(
        &self,
        username_or_email: &str,
        password: &str,
        client: &str,
    ) -> DomainResult<AuthSession> {
        use unicode_normalization::UnicodeNormalization;
        let key = fold_key(username_or_email.nfkc().collect::<String>().trim());
        if key.is_empty()
            || key.chars().count() > 254
            || password.chars().count() > Password::MAX_CHARS
        {
            return Err(invalid_login());
        }
        let user = self.ports.users.by_login_key(&key).await?;
        // One account whichever name was typed; unknown names count as accounts of their own.
        let account = match &user {
            Some(user) => user.id.to_string(),
            None => key.clone(),
        };
        // The account buckets count the attempt before the password is checked, so
        // parallel or batched guesses cannot slip under them; a success resets them. The
        // client's own bucket counts failures only.
        let bucket = format!("login:{account}:{client}");
        let account_bucket = format!("login:{account}");
        let client_bucket = format!("login-from:{client}");
        let (client_failures, retry_after) = self.ports.limiter.current(&client_bucket).await?;
        if client_failures >= MAX_CLIENT_FAILURES {
            return Err(throttled("failed logins from this client", retry_after));
        }
        let own_attempts = self.ports.limiter.record(&bucket, LOGIN_WINDOW).await?;
        if own_attempts > MAX_LOGIN_FAILURES {
            let (_, retry_after) = self.ports.limiter.current(&bucket).await?;
            return Err(throttled("failed logins for this account", retry_after));
        }
        // Guessing spread over many clients: once the account has too many failures, only
        // clients that have not failed on it yet may try (the owner on their own device),
        // so the limit slows guessers without locking the owner out.
        let account_attempts = self
            .ports
            .limiter
            .record(&account_bucket, LOGIN_WINDOW)
            .await?;
        if account_attempts > MAX_ACCOUNT_FAILURES && own_attempts > 1 {
            let (_, retry_after) = self.ports.limiter.current(&account_bucket).await?;
            return Err(throttled(
                "failed logins for this account from everywhere",
                retry_after,
            ));
        }
        let verified = match &user {
            Some(user) => {
                self.ports
                    .hasher
                    .verify(password, &user.password_hash)
                    .await?
            }
            None => {
                self.ports.hasher.verify_dummy(password).await;
                false
            }
        };
        match user {
            Some(user) if verified && user.is_active => {
                self.ports.limiter.reset(&bucket).await?;
                self.ports.limiter.reset(&account_bucket).await?;
                self.start_session(user).await
            }
            _ => {
                self.ports
                    .limiter
                    .record(&client_bucket, LOGIN_WINDOW)
                    .await?;
                Err(invalid_login())
            }
        }
    }

    /// Counts an attempt before the expensive check, so parallel guesses cannot all slip
    /// under the limit; a success resets the bucket.
    async fn count_attempt(&self, bucket: &str, max: u64, what: &str) -> DomainResult<()> {
        let attempts = self.ports.limiter.record(bucket, LOGIN_WINDOW).await?;
        if attempts > max {
            let (_, retry_after) = self.ports.limiter.current(bucket).await?;
            return Err(throttled(what, retry_after));
        }
        Ok(())
    }

    async fn start_session(&self, user: User) -> DomainResult<AuthSession> {
        let refresh_token = new_refresh_token();
        let session = self
            .ports
            .sessions
            .create(
                user.id,
                &hash_refresh_token(&refresh_token),
                clock::now(),
                self.refresh_ttl,
            )
            .await?;
        let access = self.ports.tokens.issue(user.id, user.role, session)?;
        Ok(AuthSession {
            access_token: access.token,
            refresh_token,
            expires_in: access.expires_in,
            user,
        })
    }

    pub async fn refresh(&self, refresh_token: &str) -> DomainResult<AuthSession> {
        if refresh_token.is_empty() || refresh_token.len() > 128 {
            return Err(invalid_refresh());
        }
        let new_token = new_refresh_token();
        let outcome = self
            .ports
            .sessions
            .rotate(
                &hash_refresh_token(refresh_token),
                &hash_refresh_token(&new_token),
                clock::now(),
                self.refresh_ttl,
            )
            .await?;
        match outcome {
            RefreshOutcome::Rotated { user_id, session } => {
                let user = self
                    .ports
                    .users
                    .by_id(user_id)
                    .await?
                    .filter(|u| u.is_active)
                    .ok_or_else(invalid_refresh)?;
                let access = self.ports.tokens.issue(user.id, user.role, session)?;
                Ok(AuthSession {
                    access_token: access.token,
                    refresh_token: new_token,
                    expires_in: access.expires_in,
                    user,
                })
            }
            RefreshOutcome::Reused { session } => {
                tracing::warn!(session = %session, "refresh token reused; session family revoked");
                self.revoke_sessions(&[session]).await?;
                Err(invalid_refresh())
            }
            RefreshOutcome::Invalid => Err(invalid_refresh()),
        }
    }

    /// Changes the password after checking the current one; every other session ends.
    pub async fn change_password(
        &self,
        viewer: &Viewer,
        current: &str,
        new: &str,
    ) -> DomainResult<bool> {
        let Viewer::User { id, session, .. } = viewer else {
            return Err(DomainError::unauthenticated());
        };
        let new = Password::parse(new, "newPassword")?;
        let user = self
            .ports
            .users
            .by_id(*id)
            .await?
            .ok_or_else(DomainError::unauthenticated)?;
        let bucket = format!("password:{id}");
        self.count_attempt(&bucket, MAX_LOGIN_FAILURES, "password checks")
            .await?;
        if current.chars().count() > Password::MAX_CHARS
            || !self
                .ports
                .hasher
                .verify(current, &user.password_hash)
                .await?
        {
            return Err(DomainError::bad_input(
                "currentPassword",
                "current password is wrong",
            ));
        }
        if current == new.expose() {
            return Err(DomainError::bad_input(
                "newPassword",
                "new password must differ from the current one",
            ));
        }
        let hash = self.ports.hasher.hash(new.expose()).await?;
        // Other sessions end before the password changes, so a failure in between can
        // never leave them alive under the new password.
        let revoked = self
            .ports
            .sessions
            .revoke_all(*id, Some(*session), "password_changed", clock::now())
            .await?;
        self.revoke_sessions(&revoked).await?;
        self.ports.users.set_password_hash(*id, &hash).await?;
        self.ports.limiter.reset(&bucket).await?;
        Ok(true)
    }
}
