//! Adapters chosen by configuration: the media store and the job queue.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};

use super::database_url;
use crate::config::{Config, MediaStoreKind};
use crate::domain::media::MediaStore;
use crate::infra::jobs::ApalisQueue;
use crate::infra::media::{AzureAuth, AzureStore, FolderStore};

/// The media store named by the configuration; the folder store also comes back on its own
/// for its HTTP routes.
pub(super) async fn media_store(
    config: &Config,
    secret: &SecretString,
    public_url: &str,
) -> anyhow::Result<(Arc<dyn MediaStore>, Option<Arc<FolderStore>>)> {
    match config.media.media_store {
        MediaStoreKind::Folder => {
            let store = Arc::new(
                FolderStore::new(
                    config.media_dir(),
                    public_url.to_owned(),
                    secret.expose_secret().as_bytes(),
                )
                .with_context(|| format!("cannot create {}", config.media_dir().display()))?,
            );
            Ok((store.clone(), Some(store)))
        }
        MediaStoreKind::Azure => {
            let url = config
                .media
                .azure_account_url
                .as_deref()
                .context("REELGRAPH_MEDIA_STORE=azure needs AZURE_STORAGE_ACCOUNT_URL")?;
            let auth = match &config.media.azure_account_key {
                Some(key) => {
                    use base64::Engine;
                    AzureAuth::AccountKey(
                        base64::engine::general_purpose::STANDARD
                            .decode(key.expose_secret().trim())
                            .context("AZURE_STORAGE_KEY is not base64")?,
                    )
                }
                None => AzureAuth::EntraId(entra_credential(config)?),
            };
            let store = AzureStore::connect(url, &config.media.azure_container, auth)
                .await
                .context("cannot open the Azure media container")?;
            Ok((Arc::new(store), None))
        }
    }
}

/// A service principal when its tenant, client id and secret are all set, or else the
/// managed identity of the machine.
fn entra_credential(
    config: &Config,
) -> anyhow::Result<Arc<dyn azure_core::credentials::TokenCredential>> {
    let set = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let secret = config
        .media
        .azure_client_secret
        .as_ref()
        .map(|s| s.expose_secret().to_owned())
        .filter(|s| !s.is_empty());
    if let (Some(tenant), Some(client), Some(secret)) = (
        set(&config.media.azure_tenant_id),
        set(&config.media.azure_client_id),
        secret,
    ) {
        return Ok(azure_identity::ClientSecretCredential::new(
            &tenant,
            client,
            secret.into(),
            None,
        )?);
    }
    Ok(azure_identity::ManagedIdentityCredential::new(None)?)
}

/// The job queue: PostgreSQL when the database is, else a SQLite file of its own.
pub(super) async fn job_queue(config: &Config) -> anyhow::Result<ApalisQueue> {
    let heartbeat = Duration::from_secs(config.jobs.heartbeat_seconds);
    let url = database_url(config)?;
    if url.starts_with("postgres") {
        ApalisQueue::postgres(&url, heartbeat)
            .await
            .context("cannot set up the job queue in PostgreSQL")
    } else {
        ApalisQueue::sqlite(&config.jobs_path(), heartbeat)
            .await
            .with_context(|| format!("cannot open the job queue {}", config.jobs_path().display()))
    }
}
