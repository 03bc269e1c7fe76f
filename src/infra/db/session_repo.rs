use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, Set};

use super::entities::{refresh_token, session};
use super::{db_err, Database};
use crate::domain::auth::{RefreshOutcome, SessionRepository};
use crate::domain::error::BackendResult;
use crate::domain::{BackendError, SessionId, UserId};

pub struct SqlSessionRepository {
    pub db: Database,
}

fn expiry(now: DateTime<Utc>, ttl: Duration) -> BackendResult<DateTime<Utc>> {
    Ok(now + chrono::Duration::from_std(ttl).map_err(BackendError::internal)?)
}

fn token_row(
    hash: &str,
    session: uuid::Uuid,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> refresh_token::ActiveModel {
    refresh_token::ActiveModel {
        token_hash: Set(hash.to_owned()),
        session_id: Set(session),
        created_at: Set(now),
        expires_at: Set(expires),
        rotated_at: Set(None),
    }
}

async fn revoke_in<C: sea_orm::ConnectionTrait>(
    conn: &C,
    ids: Vec<uuid::Uuid>,
    reason: &str,
    now: DateTime<Utc>,
) -> BackendResult<()> {
    session::Entity::update_many()
        .col_expr(session::Column::RevokedAt, Expr::value(now))
        .col_expr(session::Column::RevokedReason, Expr::value(reason))
        .filter(session::Column::Id.is_in(ids))
        .filter(session::Column::RevokedAt.is_null())
        .exec(conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

#[async_trait]
impl SessionRepository for SqlSessionRepository {
    async fn create(
        &self,
        user_id: UserId,
        token_hash: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BackendResult<SessionId> {
        let id = SessionId::new();
        let expires = expiry(now, ttl)?;
        let txn = self.db.write().await.map_err(db_err)?;
        session::Entity::insert(session::ActiveModel {
            id: Set(id.as_uuid()),
            user_id: Set(user_id.as_uuid()),
            created_at: Set(now),
            last_used_at: Set(now),
            expires_at: Set(expires),
            revoked_at: Set(None),
            revoked_reason: Set(None),
        })
        .exec_without_returning(&txn)
        .await
        .map_err(db_err)?;
        refresh_token::Entity::insert(token_row(token_hash, id.as_uuid(), now, expires))
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(id)
    }

    async fn rotate(
        &self,
        old_hash: &str,
        new_hash: &str,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> BackendResult<RefreshOutcome> {
        let txn = self.db.write().await.map_err(db_err)?;
        let Some(token) = refresh_token::Entity::find_by_id(old_hash.to_owned())
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        let Some(sess) = session::Entity::find_by_id(token.session_id)
            .one(&txn)
            .await
            .map_err(db_err)?
        else {
            return Ok(RefreshOutcome::Invalid);
        };
        if sess.revoked_at.is_some() || sess.expires_at <= now || token.expires_at <= now {
            return Ok(RefreshOutcome::Invalid);
        }
        // Only one caller can flip rotated_at from NULL; everyone else is a reuse.
        let flipped = refresh_token::Entity::update_many()
            .col_expr(refresh_token::Column::RotatedAt, Expr::value(now))
            .filter(refresh_token::Column::TokenHash.eq(old_hash))
            .filter(refresh_token::Column::RotatedAt.is_null())
            .exec(&txn)
            .await
            .map_err(db_err)?
            .rows_affected;
        if flipped == 0 {
            revoke_in(&txn, vec![sess.id], "refresh_token_reuse", now).await?;
            txn.commit().await.map_err(db_err)?;
            return Ok(RefreshOutcome::Reused {
                session: SessionId::from_uuid(sess.id),
            });
        }
        let expires = expiry(now, ttl)?;
        refresh_token::Entity::insert(token_row(new_hash, sess.id, now, expires))
            .exec_without_returning(&txn)
            .await
            .map_err(db_err)?;
        session::Entity::update_many()
            .col_expr(session::Column::LastUsedAt, Expr::value(now))
            .col_expr(session::Column::ExpiresAt, Expr::value(expires))
            .filter(session::Column::Id.eq(sess.id))
            .exec(&txn)
            .await
            .map_err(db_err)?;
        txn.commit().await.map_err(db_err)?;
        Ok(RefreshOutcome::Rotated {
            user_id: UserId::from_uuid(sess.user_id),
            session: SessionId::from_uuid(sess.id),
        })
    }

    async fn session_of(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<Option<(SessionId, UserId)>> {
        let Some(token) = refresh_token::Entity::find_by_id(token_hash.to_owned())
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
        else {
            return Ok(None);
        };
        let sess = session::Entity::find_by_id(token.session_id)
            .one(&self.db.conn)
            .await
            .map_err(db_err)?;
        Ok(sess
            .filter(|s| s.revoked_at.is_none() && s.expires_at > now)
            .map(|s| (SessionId::from_uuid(s.id), UserId::from_uuid(s.user_id))))
    }

    async fn revoke(
        &self,
        session: SessionId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<()> {
        revoke_in(&self.db.conn, vec![session.as_uuid()], reason, now).await
    }

    async fn revoked_since(&self, since: DateTime<Utc>) -> BackendResult<Vec<SessionId>> {
        Ok(session::Entity::find()
            .filter(session::Column::RevokedAt.gte(since))
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|s| SessionId::from_uuid(s.id))
            .collect())
    }

    async fn revoke_all(
        &self,
        user_id: UserId,
        keep: Option<SessionId>,
        reason: &str,
        now: DateTime<Utc>,
    ) -> BackendResult<Vec<SessionId>> {
        let txn = self.db.write().await.map_err(db_err)?;
        let live: Vec<uuid::Uuid> = session::Entity::find()
            .filter(session::Column::UserId.eq(user_id.as_uuid()))
            .filter(session::Column::RevokedAt.is_null())
            .all(&txn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(|s| s.id)
            .filter(|id| Some(*id) != keep.map(|k| k.as_uuid()))
            .collect();
        if !live.is_empty() {
            revoke_in(&txn, live.clone(), reason, now).await?;
        }
        txn.commit().await.map_err(db_err)?;
        Ok(live.into_iter().map(SessionId::from_uuid).collect())
    }
}
