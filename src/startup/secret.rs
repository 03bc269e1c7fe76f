//! The access-token secret: configured, or generated once into the data folder and kept.

use std::path::Path;

use anyhow::{bail, Context};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

use crate::config::{Config, Mode};

/// The access-token secret: configured, or generated once into the data folder.
pub(super) fn jwt_secret(config: &Config) -> anyhow::Result<SecretString> {
    if let Some(secret) = &config.auth.jwt_secret {
        if secret.expose_secret().len() < 32 {
            bail!("REELGRAPH_JWT_SECRET must be at least 32 bytes");
        }
        return Ok(secret.clone());
    }
    if config.mode == Mode::Production {
        bail!("production mode needs REELGRAPH_JWT_SECRET (at least 32 random bytes); refusing to start");
    }
    load_or_create_secret(&config.data_dir.join("jwt-secret"))
}

/// Reads the generated secret, or generates it when there is none. A file that exists but
/// cannot be read or holds fewer than 32 bytes stops the start: replacing it would sign
/// every session out and change every signed media URL, so the operator decides.
fn load_or_create_secret(path: &Path) -> anyhow::Result<SecretString> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} is not text; restore it, or delete it to generate a new secret (this signs everyone out)",
                    path.display()
                )
            })?;
            let existing = text.trim();
            if existing.len() < 32 {
                bail!(
                    "{} holds {} bytes, fewer than the 32 an access-token secret needs; restore it, or delete it to generate a new secret (this signs everyone out)",
                    path.display(),
                    existing.len()
                );
            }
            return Ok(SecretString::from(existing.to_owned()));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(e)
                .with_context(|| format!("cannot read the access-token secret {}", path.display()))
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut bytes = [0u8; 48];
    rand::rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    // Written whole to a file of its own, then linked into place: the secret file never
    // exists half-written, and of two instances starting at once one wins and the other
    // reads its secret.
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    write_private(&tmp, &secret).with_context(|| format!("cannot write {}", tmp.display()))?;
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "generated a new access-token secret");
            Ok(SecretString::from(secret))
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load_or_create_secret(path),
        Err(e) => Err(e).with_context(|| format!("cannot write {}", path.display())),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}
