use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::AsyncCommands;

use crate::domain::auth::{AttemptLimiter, RevocationList};
use crate::domain::error::BackendResult;
use crate::domain::BackendError;

/// Present (without expiry) while the revocation keys hold every revocation of the
/// database; a restarted or emptied Redis lacks it, and the next check fills the list again.
const FILLED: &str = "revocations:filled";

/// Revocations and counters in Redis, shared by every instance. Keys live under `prefix`.
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

fn unavailable(err: redis::RedisError) -> BackendError {
    tracing::error!(error = %err, "redis request failed");
    BackendError::Unavailable("a backing service is unavailable; try again shortly".into())
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        // Requests wait on these: a Redis that is gone must be reported (503) in well under
        // a second, not after the default six reconnect attempts with growing backoff.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_millis(300)))
            .set_response_timeout(Some(Duration::from_millis(500)))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(200));
        let conn = tokio::time::timeout(
            Duration::from_secs(10),
            client.get_connection_manager_with_config(config),
        )
        .await
        .map_err(|_| anyhow::anyhow!("timed out connecting to redis"))??;
        Ok(Self {
            conn,
            prefix: prefix.to_owned(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    pub async fn ping(&self) -> anyhow::Result<()> {
        let mut conn = self.conn.clone();
        let _: String = redis::cmd("PING").query_async(&mut conn).await?;
        Ok(())
    }
}

#[async_trait]
impl RevocationList for RedisStore {
    async fn revoke(&self, keys: &[String], ttl: Duration) -> BackendResult<()> {
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.set_ex(self.key(&format!("revoked:{key}")), 1, ttl.as_secs().max(1))
                .ignore();
        }
        let mut conn = self.conn.clone();
        pipe.query_async::<()>(&mut conn).await.map_err(unavailable)
    }

    async fn any_revoked(&self, keys: &[String]) -> BackendResult<Option<bool>> {
        let keys: Vec<String> = keys
            .iter()
            .map(|k| self.key(&format!("revoked:{k}")))
            .collect();
        let mut conn = self.conn.clone();
        // One round trip: is the list filled, and is any key in it.
        let (filled, found): (u64, u64) = redis::pipe()
            .exists(self.key(FILLED))
            .exists(keys)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok((filled > 0).then_some(found > 0))
    }

    async fn is_filled(&self) -> BackendResult<bool> {
        let mut conn = self.conn.clone();
        let filled: u64 = conn.exists(self.key(FILLED)).await.map_err(unavailable)?;
        Ok(filled > 0)
    }

    async fn mark_filled(&self) -> BackendResult<()> {
        let mut conn = self.conn.clone();
        conn.set::<_, _, ()>(self.key(FILLED), 1)
            .await
            .map_err(unavailable)
    }
}

#[async_trait]
impl AttemptLimiter for RedisStore {
    async fn record(&self, key: &str, window: Duration) -> BackendResult<u64> {
        let key = self.key(&format!("attempts:{key}"));
        let mut conn = self.conn.clone();
        // Start the window with the first attempt (SET NX PX), then count it. Works on
        // every Redis version, unlike EXPIRE NX (7.0+).
        let (count,): (u64,) = redis::pipe()
            .cmd("SET")
            .arg(&key)
            .arg(0)
            .arg("PX")
            .arg(window.as_millis() as u64)
            .arg("NX")
            .ignore()
            .incr(&key, 1u64)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok(count)
    }

    async fn current(&self, key: &str) -> BackendResult<(u64, u64)> {
        let key = self.key(&format!("attempts:{key}"));
        let mut conn = self.conn.clone();
        let (count, ttl_ms): (Option<u64>, i64) = redis::pipe()
            .get(&key)
            .pttl(&key)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        Ok((count.unwrap_or(0), (ttl_ms.max(0) as u64).div_ceil(1000)))
    }

    async fn reset(&self, key: &str) -> BackendResult<()> {
        let mut conn = self.conn.clone();
        conn.del::<_, ()>(self.key(&format!("attempts:{key}")))
            .await
            .map_err(unavailable)
    }
}
