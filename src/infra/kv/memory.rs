use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::domain::auth::{AttemptLimiter, RevocationList};
use crate::domain::error::BackendResult;
use crate::domain::BackendError;

/// Expiring keys and counters in process memory, for a single instance.
#[derive(Default)]
pub struct MemoryStore {
    revoked: Mutex<Swept<Instant>>,
    /// False until this process has loaded the database's recent revocations.
    filled: AtomicBool,
    counters: Mutex<Swept<(u64, Instant)>>,
}

/// A map that drops expired entries whenever it has doubled since the last sweep, so
/// memory stays proportional to the live keys.
struct Swept<V> {
    map: HashMap<String, V>,
    next_sweep: usize,
}

impl<V> Default for Swept<V> {
    fn default() -> Self {
        Swept {
            map: HashMap::new(),
            next_sweep: 1024,
        }
    }
}

impl<V> Swept<V> {
    fn sweep(&mut self, now: Instant, expiry: impl Fn(&V) -> Instant) {
        if self.map.len() >= self.next_sweep {
            self.map.retain(|_, v| expiry(v) > now);
            self.next_sweep = (self.map.len() * 2).max(1024);
        }
    }
}

fn poisoned<T>(_: T) -> BackendError {
    BackendError::internal(anyhow::anyhow!("in-process store lock poisoned"))
}

#[async_trait]
impl RevocationList for MemoryStore {
    async fn revoke(&self, keys: &[String], ttl: Duration) -> BackendResult<()> {
        let now = Instant::now();
        let mut revoked = self.revoked.lock().map_err(poisoned)?;
        for key in keys {
            revoked.map.insert(key.clone(), now + ttl);
        }
        revoked.sweep(now, |until| *until);
        Ok(())
    }

    async fn any_revoked(&self, keys: &[String]) -> BackendResult<Option<bool>> {
        if !self.filled.load(Ordering::Acquire) {
            return Ok(None);
        }
        let now = Instant::now();
        let map = self.revoked.lock().map_err(poisoned)?;
        Ok(Some(
            keys.iter()
                .any(|k| map.map.get(k).is_some_and(|until| *until > now)),
        ))
    }

    async fn is_filled(&self) -> BackendResult<bool> {
        Ok(self.filled.load(Ordering::Acquire))
    }

    async fn mark_filled(&self) -> BackendResult<()> {
        self.filled.store(true, Ordering::Release);
        Ok(())
    }
}

#[async_trait]
impl AttemptLimiter for MemoryStore {
    async fn record(&self, key: &str, window: Duration) -> BackendResult<u64> {
        let now = Instant::now();
        let mut counters = self.counters.lock().map_err(poisoned)?;
        let entry = counters
            .map
            .entry(key.to_owned())
            .or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        let count = entry.0;
        counters.sweep(now, |(_, until)| *until);
        Ok(count)
    }

    async fn current(&self, key: &str) -> BackendResult<(u64, u64)> {
        let now = Instant::now();
        let counters = self.counters.lock().map_err(poisoned)?;
        Ok(match counters.map.get(key) {
            Some((count, until)) if *until > now => (*count, (*until - now).as_secs().max(1)),
            _ => (0, 0),
        })
    }

    async fn reset(&self, key: &str) -> BackendResult<()> {
        self.counters.lock().map_err(poisoned)?.map.remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn revoked_keys_expire() -> BackendResult<()> {
        let store = MemoryStore::default();
        // Not yet filled from the durable record: the answer is "unknown".
        assert_eq!(store.any_revoked(&["jti:a".into()]).await?, None);
        store.mark_filled().await?;
        store
            .revoke(&["jti:a".into()], Duration::from_millis(30))
            .await?;
        assert_eq!(
            store.any_revoked(&["jti:b".into(), "jti:a".into()]).await?,
            Some(true)
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert_eq!(store.any_revoked(&["jti:a".into()]).await?, Some(false));
        Ok(())
    }

    #[tokio::test]
    async fn counters_count_within_their_window() -> BackendResult<()> {
        let store = MemoryStore::default();
        assert_eq!(store.record("k", Duration::from_secs(60)).await?, 1);
        assert_eq!(store.record("k", Duration::from_secs(60)).await?, 2);
        assert_eq!(store.current("k").await?.0, 2);
        store.reset("k").await?;
        assert_eq!(store.current("k").await?.0, 0);
        Ok(())
    }
}
