//! Media stores: the folder store (embedded) and Azure Blob Storage.

pub mod azure;
pub mod ffmpeg;
pub mod folder;
pub mod sas;

pub use azure::{mime_of, AzureAuth, AzureStore};
pub use ffmpeg::Ffmpeg;
pub use folder::{FolderStore, UploadGrant, UrlError};
