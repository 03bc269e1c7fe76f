//! argon2id with the crate's defaults (m=19456 KiB, t=2, p=1: the OWASP minimum).
//!
//! Hashing takes tens of milliseconds of CPU, so it runs on the blocking pool and a
//! semaphore bounds how many run at once: a login storm queues here instead of starving
//! the async runtime or eating all memory (each hash holds 19 MiB).

use std::sync::Arc;

use argon2::{Argon2, PasswordHasher as _, PasswordVerifier as _};
use async_trait::async_trait;
use tokio::sync::Semaphore;

use crate::domain::auth::PasswordHasher;
use crate::domain::error::BackendResult;
use crate::domain::BackendError;

pub struct Argon2Hasher {
    permits: Arc<Semaphore>,
    /// A real hash of a random password, verified against for unknown accounts.
    dummy_hash: String,
}

impl Argon2Hasher {
    pub fn new(concurrency: usize) -> anyhow::Result<Self> {
        let dummy = uuid::Uuid::new_v4().to_string();
        let dummy_hash = Argon2::default()
            .hash_password(dummy.as_bytes())
            .map_err(|e| anyhow::anyhow!("cannot hash: {e}"))?
            .to_string();
        Ok(Self {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash,
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> BackendResult<T> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(BackendError::internal)?;
        tokio::task::spawn_blocking(work)
            .await
            .map_err(BackendError::internal)
    }
}

#[async_trait]
impl PasswordHasher for Argon2Hasher {
    async fn hash(&self, password: &str) -> BackendResult<String> {
        let password = password.to_owned();
        self.run(move || {
            Argon2::default()
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
        })
        .await?
        .map_err(|e| BackendError::internal(anyhow::anyhow!("password hashing failed: {e}")))
    }

    async fn verify(&self, password: &str, hash: &str) -> BackendResult<bool> {
        let (password, hash) = (password.to_owned(), hash.to_owned());
        let outcome = self
            .run(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()))
            .await?;
        match outcome {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(e) => Err(BackendError::internal(anyhow::anyhow!(
                "password verification failed: {e}"
            ))),
        }
    }

    async fn verify_dummy(&self, password: &str) {
        let _ = self.verify(password, &self.dummy_hash.clone()).await;
    }
}
