//! Access tokens that stop working before they expire: checking a token against the
//! revocation list (filled again from the database after the list lost its contents),
//! and logging out, which revokes sessions and tells live sockets to close.

use super::{hash_refresh_token, invalid_refresh, AuthService};
use crate::domain::auth::Viewer;
use crate::domain::clock;
use crate::domain::error::DomainResult;
use crate::domain::events::Event;
use crate::domain::{DomainError, SessionId, UserId};

impl AuthService {
    /// Checks an access token and the revocation list; the result is the request's viewer.
    pub async fn authenticate(&self, token: &str) -> DomainResult<Viewer> {
        let claims = self.ports.tokens.verify(token)?;
        let keys = [
            format!("jti:{}", claims.jti),
            format!("sid:{}", claims.session),
        ];
        let revoked = match self.ports.revocations.any_revoked(&keys).await? {
            Some(revoked) => revoked,
            None => {
                self.refill_revocations().await?;
                self.ports
                    .revocations
                    .any_revoked(&keys)
                    .await?
                    .ok_or_else(|| {
                        DomainError::Unavailable(
                            "the revocation list keeps losing its contents; try again shortly"
                                .into(),
                        )
                    })?
            }
        };
        if revoked {
            return Err(DomainError::Unauthenticated(
                "access token has been revoked".into(),
            ));
        }
        Ok(Viewer::User {
            id: claims.user_id,
            role: claims.role,
            session: claims.session,
            jti: claims.jti,
            expires_at: claims.expires_at,
        })
    }

    /// Fills the revocation list from the database's record of revoked sessions: every
    /// session revoked within one access-token lifetime (older ones have no live tokens).
    /// Runs once per emptied list; concurrent requests wait for the one fill.
    async fn refill_revocations(&self) -> DomainResult<()> {
        let _one_at_a_time = self.refilling.lock().await;
        if self.ports.revocations.is_filled().await? {
            return Ok(());
        }
        let ttl = self.ports.tokens.ttl();
        let since =
            clock::now() - chrono::Duration::from_std(ttl).map_err(DomainError::internal)?;
        let keys: Vec<String> = self
            .ports
            .sessions
            .revoked_since(since)
            .await?
            .iter()
            .map(|s| format!("sid:{s}"))
            .collect();
        for chunk in keys.chunks(500) {
            self.ports.revocations.revoke(chunk, ttl).await?;
        }
        self.ports.revocations.mark_filled().await?;
        tracing::info!(
            sessions = keys.len(),
            "revocation list filled from the database"
        );
        Ok(())
    }

    pub(super) async fn revoke_sessions(&self, sessions: &[SessionId]) -> DomainResult<()> {
        if sessions.is_empty() {
            return Ok(());
        }
        let keys: Vec<String> = sessions.iter().map(|s| format!("sid:{s}")).collect();
        self.ports
            .revocations
            .revoke(&keys, self.ports.tokens.ttl())
            .await?;
        self.ports
            .events
            .publish(Event::SessionsRevoked {
                sessions: sessions.to_vec(),
            })
            .await;
        Ok(())
    }

    /// Ends the viewer's session (or the one `refresh_token` belongs to, if it is the
    /// viewer's) and revokes the access token in use.
    pub async fn logout(&self, viewer: &Viewer, refresh_token: Option<&str>) -> DomainResult<bool> {
        let Viewer::User {
            id, session, jti, ..
        } = viewer
        else {
            return Err(DomainError::unauthenticated());
        };
        let mut to_revoke = vec![*session];
        if let Some(token) = refresh_token {
            if let Some((other, owner)) = self
                .ports
                .sessions
                .session_of(&hash_refresh_token(token), clock::now())
                .await?
            {
                if owner != *id {
                    return Err(invalid_refresh());
                }
                if other != *session {
                    to_revoke.push(other);
                }
            }
        }
        for s in &to_revoke {
            self.ports
                .sessions
                .revoke(*s, "logout", clock::now())
                .await?;
        }
        self.ports
            .revocations
            .revoke(&[format!("jti:{jti}")], self.ports.tokens.ttl())
            .await?;
        self.revoke_sessions(&to_revoke).await?;
        Ok(true)
    }

    pub async fn logout_all(&self, viewer: &Viewer) -> DomainResult<bool> {
        let (id, _) = viewer.require_user()?;
        self.end_all_sessions(id, "logout_all").await?;
        Ok(true)
    }

    /// Ends every session of `user` and revokes their access tokens at once.
    pub async fn end_all_sessions(&self, user: UserId, reason: &str) -> DomainResult<()> {
        let revoked = self
            .ports
            .sessions
            .revoke_all(user, None, reason, clock::now())
            .await?;
        self.revoke_sessions(&revoked).await
    }
}
