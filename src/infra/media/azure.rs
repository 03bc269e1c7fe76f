//! Azure Blob Storage through the official SDK (`azure_storage_blob`).
//!
//! Two ways to authenticate:
//! - **Account key**: every request, the server's own and the clients' direct uploads
//!   and reads, carries a SAS signed in-house with the key (this is also how tests reach
//!   Azurite, whose account key is public).
//! - **Entra ID** (`azure_identity`): the server's requests carry a bearer token; clients
//!   get user-delegation SAS URLs signed with a delegation key the server asks for and
//!   renews before it expires.
//!
//! Direct uploads use block blobs: a ticket's URL takes one Put Blob, or Put Block calls
//! followed by Put Block List, so large files can be sent in blocks and resumed.

use std::sync::Arc;

use async_trait::async_trait;
use azure_core::credentials::TokenCredential;
use azure_core::http::{RequestContent, StatusCode, Url};
use azure_storage_blob::models::{
    BlobClientAcquireLeaseOptions, BlobClientBreakLeaseOptions, BlobClientDownloadOptions,
    BlobClientGetPropertiesResultHeaders, BlockBlobClientCommitBlockListOptions, BlockLookupList,
    KeyInfo,
};
use azure_storage_blob::{BlobClient, BlobContainerClient, BlobServiceClient};
use chrono::{DateTime, Duration, Utc};
use tokio::sync::Mutex;

use super::sas::{account_sas, DelegationKey, SasGrant};
use crate::domain::error::BackendResult;
use crate::domain::media::{MediaStore, SignedRequest};
use crate::domain::BackendError;

pub enum AzureAuth {
    AccountKey(Vec<u8>),
    EntraId(Arc<dyn TokenCredential>),
}

pub struct AzureStore {
    /// `https://{account}.blob.core.windows.net` or an emulator's
    /// `http://127.0.0.1:10000/{account}`, without a trailing slash.
    account_url: String,
    account: String,
    container: String,
    auth: AzureAuth,
    delegation: Mutex<Option<DelegationKey>>,
    /// The container client for the server's own requests, and when to rebuild it.
    client: std::sync::Mutex<Option<(Arc<BlobContainerClient>, DateTime<Utc>)>>,
}

fn azure_err(what: &str, e: azure_core::Error) -> BackendError {
    BackendError::internal(anyhow::Error::new(e).context(what.to_owned()))
}

/// The account name: the first label of `{account}.blob.core.windows.net`, or the first
/// path segment of an emulator URL.
pub fn account_name(account_url: &str) -> Option<String> {
    let url = Url::parse(account_url).ok()?;
    let from_path = url
        .path_segments()
        .and_then(|mut s| s.next().map(str::to_owned))
        .filter(|s| !s.is_empty());
    from_path.or_else(|| url.host_str()?.split('.').next().map(str::to_owned))
}

fn to_offset(t: DateTime<Utc>) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).ok()
}

fn from_offset(t: Option<time::OffsetDateTime>) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t?.unix_timestamp(), 0)
}

impl AzureStore {
    /// Connects and creates the container when it is missing.
    pub async fn connect(
        account_url: &str,
        container: &str,
        auth: AzureAuth,
    ) -> anyhow::Result<Self> {
        let account_url = account_url.trim_end_matches('/').to_owned();
        let account = account_name(&account_url).ok_or_else(|| {
            anyhow::anyhow!("cannot tell the storage account from {account_url:?}")
        })?;
        let store = Self {
            account_url,
            account,
            container: container.to_owned(),
            auth,
            delegation: Mutex::new(None),
            client: std::sync::Mutex::new(None),
        };
        let client = store.container_client(Duration::minutes(5))?;
        if !client
            .exists()
            .await
            .map_err(|e| anyhow::Error::new(e).context("cannot reach Azure Blob Storage"))?
        {
            match client.create(None).await {
                Ok(_) => tracing::info!(container, "created the media container"),
                Err(e) if e.http_status() == Some(StatusCode::Conflict) => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e).context("cannot create the media container"))
                }
            }
        }
        Ok(store)
    }

    fn blob_url(&self, key: &str) -> String {
        format!("{}/{}/{}", self.account_url, self.container, key)
    }

    fn with_query(base: &str, query: &[(&'static str, String)]) -> BackendResult<Url> {
        let mut url =
            Url::parse(base).map_err(|e| BackendError::internal(anyhow::Error::new(e)))?;
        url.query_pairs_mut()
            .extend_pairs(query.iter().map(|(k, v)| (*k, v.as_str())));
        Ok(url)
    }

    /// The container client for the server's own requests.
    fn container_client(&self, valid_for: Duration) -> anyhow::Result<BlobContainerClient> {
        let base = format!("{}/{}", self.account_url, self.container);
        Ok(match &self.auth {
            AzureAuth::AccountKey(key) => {
                let query = account_sas(&self.account, key, "racwdl", Utc::now() + valid_for);
                let url = Self::with_query(&base, &query).map_err(|e| anyhow::anyhow!("{e}"))?;
                BlobContainerClient::new(url, None, None)?
            }
            AzureAuth::EntraId(credential) => {
                BlobContainerClient::new(Url::parse(&base)?, Some(credential.clone()), None)?
            }
        })
    }

    /// A blob client on the shared container client: one HTTP connection pool for all the
    /// server's requests, rebuilt only when its account SAS has under 10 minutes left.
    fn blob(&self, key: &str) -> BackendResult<BlobClient> {
        let mut cached = self
            .client
            .lock()
            .map_err(|_| BackendError::internal(anyhow::anyhow!("blob client lock poisoned")))?;
        let fresh = cached
            .as_ref()
            .is_some_and(|(_, renew_at)| Utc::now() < *renew_at);
        if !fresh {
            let client = self
                .container_client(Duration::minutes(60))
                .map_err(BackendError::internal)?;
            *cached = Some((Arc::new(client), Utc::now() + Duration::minutes(50)));
        }
        let Some((client, _)) = cached.as_ref() else {
            return Err(BackendError::internal(anyhow::anyhow!("no blob client")));
        };
        Ok(client.blob_client(key))
    }

    /// A user-delegation key valid for at least another hour, fetched when needed.
    async fn delegation_key(
        &self,
        credential: &Arc<dyn TokenCredential>,
    ) -> BackendResult<DelegationKey> {
        let mut cached = self.delegation.lock().await;
        if let Some(key) = cached
            .as_ref()
            .filter(|k| k.expiry > Utc::now() + Duration::hours(1))
        {
            return Ok(key.clone());
        }
        let service = BlobServiceClient::new(
            Url::parse(&self.account_url)
                .map_err(|e| BackendError::internal(anyhow::Error::new(e)))?,
            Some(credential.clone()),
            None,
        )
        .map_err(|e| azure_err("cannot build the blob service client", e))?;
        let now = Utc::now();
        let info = KeyInfo {
            start: to_offset(now - Duration::minutes(5)),
            expiry: to_offset(now + Duration::hours(6)),
            ..Default::default()
        };
        let content =
            RequestContent::try_from(info).map_err(|e| azure_err("bad key request", e))?;
        let key = service
            .get_user_delegation_key(content, None)
            .await
            .map_err(|e| azure_err("cannot get a user delegation key", e))?
            .into_model()
            .map_err(|e| azure_err("cannot read the user delegation key", e))?;
        let missing = || BackendError::internal(anyhow::anyhow!("incomplete user delegation key"));
        let key = DelegationKey {
            object_id: key.signed_oid.ok_or_else(missing)?,
            tenant_id: key.signed_tid.ok_or_else(missing)?,
            start: from_offset(key.signed_start).ok_or_else(missing)?,
            expiry: from_offset(key.signed_expiry).ok_or_else(missing)?,
            service: key.signed_service.ok_or_else(missing)?,
            version: key.signed_version.ok_or_else(missing)?,
            value: key.value.ok_or_else(missing)?,
        };
        *cached = Some(key.clone());
        Ok(key)
    }

    async fn signed_blob_url(
        &self,
        key: &str,
        permissions: &str,
        expires_at: DateTime<Utc>,
        response_content_type: Option<&str>,
    ) -> BackendResult<String> {
        let grant = SasGrant {
            account: &self.account,
            container: &self.container,
            blob: Some(key),
            permissions,
            start: None,
            expiry: expires_at,
            response_content_type,
        };
        let query = match &self.auth {
            AzureAuth::AccountKey(account_key) => grant.sign_with_account_key(account_key),
            AzureAuth::EntraId(credential) => {
                let delegation = self.delegation_key(credential).await?;
                grant.sign_with_delegation_key(&delegation)
            }
        };
        Ok(Self::with_query(&self.blob_url(key), &query)?.to_string())
    }
}

#[async_trait]
impl MediaStore for AzureStore {
    fn backend(&self) -> &'static str {
        "azure"
    }

    async fn upload_request(
        &self,
        key: &str,
        content_type: &str,
        _max_bytes: u64,
        expires_at: DateTime<Utc>,
    ) -> BackendResult<SignedRequest> {
        // Create and write: enough for Put Blob, Put Block and Put Block List. The size
        // limit is checked when the upload is completed.
        let url = self.signed_blob_url(key, "cw", expires_at, None).await?;
        Ok(SignedRequest {
            url,
            method: "PUT",
            headers: vec![
                ("x-ms-blob-type".into(), "BlockBlob".into()),
                ("Content-Type".into(), content_type.to_owned()),
                // Never replace an object: a ticket creates its blob once.
                ("If-None-Match".into(), "*".into()),
            ],
        })
    }

    async fn read_url(&self, key: &str, expires_at: DateTime<Utc>) -> BackendResult<String> {
        let content_type = mime_of(key);
        self.signed_blob_url(key, "r", expires_at, Some(content_type))
            .await
    }

    async fn size(&self, key: &str) -> BackendResult<Option<u64>> {
        match self.blob(key)?.get_properties(None).await {
            Ok(props) => Ok(props
                .content_length()
                .map_err(|e| azure_err("bad blob properties", e))?),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(None),
            Err(e) => Err(azure_err("cannot read blob properties", e)),
        }
    }

    async fn read_head(&self, key: &str, len: u64) -> BackendResult<Vec<u8>> {
        let options = BlobClientDownloadOptions {
            range: Some((0..len).into()),
            ..Default::default()
        };
        let result = self
            .blob(key)?
            .download(Some(options))
            .await
            .map_err(|e| azure_err("cannot read blob", e))?;
        let bytes = result
            .body
            .collect()
            .await
            .map_err(|e| azure_err("cannot read blob", e))?;
        Ok(bytes.to_vec())
    }

    /// Sends the file in 8 MiB blocks (Put Block, then Put Block List), so memory stays
    /// flat whatever its size.
    async fn put_file(
        &self,
        key: &str,
        content_type: &str,
        file: std::fs::File,
    ) -> BackendResult<u64> {
        use tokio::io::AsyncReadExt;
        const BLOCK: usize = 8 << 20;
        let io = |e: std::io::Error| {
            BackendError::internal(anyhow::Error::new(e).context("cannot read media file"))
        };
        let client = self.blob(key)?.block_blob_client();
        let mut file = tokio::fs::File::from_std(file);
        let mut ids = Vec::new();
        let mut size = 0u64;
        loop {
            let mut buf = Vec::with_capacity(BLOCK);
            (&mut file)
                .take(BLOCK as u64)
                .read_to_end(&mut buf)
                .await
                .map_err(io)?;
            if buf.is_empty() && !ids.is_empty() {
                break;
            }
            let id = format!("block-{:06}", ids.len()).into_bytes();
            let len = buf.len() as u64;
            size += len;
            client
                .stage_block(&id, len, RequestContent::from(buf), None)
                .await
                .map_err(|e| azure_err("cannot upload a block", e))?;
            ids.push(id);
            if len < BLOCK as u64 {
                break;
            }
        }
        let list = BlockLookupList {
            latest: Some(ids),
            ..Default::default()
        };
        let options = BlockBlobClientCommitBlockListOptions {
            blob_content_type: Some(content_type.to_owned()),
            ..Default::default()
        };
        client
            .commit_block_list(
                RequestContent::try_from(list).map_err(|e| azure_err("bad block list", e))?,
                Some(options),
            )
            .await
            .map_err(|e| azure_err("cannot commit the blocks", e))?;
        Ok(size)
    }

    fn local_path(&self, _key: &str) -> Option<std::path::PathBuf> {
        None
    }

    async fn delete(&self, key: &str) -> BackendResult<()> {
        let blob = self.blob(key)?;
        for attempt in 0..2 {
            match blob.delete(None).await {
                Ok(_) => return Ok(()),
                Err(e) if e.http_status() == Some(StatusCode::NotFound) => return Ok(()),
                // Sealed (leased) objects: break the lease at once, then delete.
                Err(e)
                    if attempt == 0 && e.http_status() == Some(StatusCode::PreconditionFailed) =>
                {
                    let options = BlobClientBreakLeaseOptions {
                        break_period: Some(0),
                        ..Default::default()
                    };
                    blob.break_lease(Some(options))
                        .await
                        .map_err(|e| azure_err("cannot break a blob lease", e))?;
                }
                Err(e) => return Err(azure_err("cannot delete blob", e)),
            }
        }
        Err(BackendError::internal(anyhow::anyhow!(
            "blob {key} stays leased"
        )))
    }

    /// An infinite lease: from now on only a request that names the lease (never a
    /// client's upload URL) can write the blob.
    async fn seal(&self, key: &str) -> BackendResult<()> {
        let options = BlobClientAcquireLeaseOptions {
            proposed_lease_id: Some(uuid::Uuid::new_v4().to_string()),
            ..Default::default()
        };
        match self.blob(key)?.acquire_lease(-1, Some(options)).await {
            Ok(_) => Ok(()),
            // Already sealed (a completion that failed after this step is being retried).
            Err(e) if e.http_status() == Some(StatusCode::Conflict) => Ok(()),
            Err(e) if e.http_status() == Some(StatusCode::NotFound) => Ok(()),
            Err(e) => Err(azure_err("cannot seal the uploaded blob", e)),
        }
    }
}

/// The Content-Type reads are answered with, from the key's extension (keys carry the
/// extension of the verified format).
pub fn mime_of(key: &str) -> &'static str {
    match key.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("mov") => "video/quicktime",
        Some("webm") => "video/webm",
        Some("mkv") => "video/x-matroska",
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("webp") => "image/webp",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_names_come_from_host_or_emulator_path() {
        assert_eq!(
            account_name("https://acct.blob.core.windows.net").as_deref(),
            Some("acct")
        );
        assert_eq!(
            account_name("http://127.0.0.1:10000/devstoreaccount1").as_deref(),
            Some("devstoreaccount1")
        );
    }
}
