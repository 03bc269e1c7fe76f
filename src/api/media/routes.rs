//! The folder store's HTTP side: `PUT /media/upload/{key}` takes a direct upload and
//! `GET /media/files/{key}` serves a file, each only with a valid signed URL.

use poem::http::{header, HeaderValue, StatusCode};
use poem::web::{Data, Path, Query, StaticFileRequest};
use poem::{handler, Body, FromRequest, IntoResponse, Request, Response};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::api::ApiState;
use crate::domain::clock;
use crate::infra::media::{mime_of, FolderStore, UploadGrant, UrlError};

#[derive(Deserialize)]
pub struct UploadQuery {
    exp: i64,
    max: u64,
    ct: String,
    sig: String,
}

#[derive(Deserialize)]
pub struct ReadQuery {
    exp: i64,
    sig: String,
}

fn plain(status: StatusCode, message: &str) -> Response {
    Response::builder()
        .status(status)
        .content_type("text/plain; charset=utf-8")
        .body(format!("{message}\n"))
}

fn refused(e: UrlError) -> Response {
    match e {
        UrlError::Expired => plain(StatusCode::FORBIDDEN, "this signed URL has expired"),
        UrlError::BadSignature => plain(StatusCode::FORBIDDEN, "this URL's signature is not valid"),
    }
}

fn folder(state: &ApiState) -> Option<&FolderStore> {
    state.folder.as_deref()
}

/// Streams the body to a partial file, within Content-Length and the URL's limit, then
/// moves it into place. Objects are created once, never replaced.
#[handler]
pub async fn upload_media(
    req: &Request,
    Path(key): Path<String>,
    Query(q): Query<UploadQuery>,
    body: Body,
    Data(state): Data<&ApiState>,
) -> Response {
    let Some(store) = folder(state) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    let grant = match store.verify_upload(&key, q.exp, q.max, &q.ct, &q.sig, clock::now()) {
        Ok(g) => g,
        Err(e) => return refused(e),
    };
    let length = match declared_length(req, &grant) {
        Ok(length) => length,
        Err(response) => return response,
    };
    if tokio::fs::try_exists(store.path_of(&key))
        .await
        .unwrap_or(false)
    {
        return plain(StatusCode::CONFLICT, "this object was already uploaded");
    }
    let partial = store.partial_path();
    if let Err(response) = receive(body, length, &partial).await {
        let _ = tokio::fs::remove_file(&partial).await;
        return response;
    }
    // An upload that finishes long after its URL expired may already have been swept as
    // abandoned: storing it now would leave an object nothing refers to.
    let finish_by = q.exp + crate::app::media::UPLOAD_FINISH_GRACE.as_secs() as i64;
    if clock::now().timestamp() > finish_by {
        let _ = tokio::fs::remove_file(&partial).await;
        return plain(
            StatusCode::GONE,
            "the upload URL expired before the upload finished; request a new ticket",
        );
    }
    match store.commit_partial(&partial, &key).await {
        Ok(true) => plain(StatusCode::CREATED, "stored"),
        Ok(false) => plain(StatusCode::CONFLICT, "this object was already uploaded"),
        Err(e) => {
            tracing::error!(error = ?e, "cannot store an upload");
            plain(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

/// The body's length, when its Content-Type is the one signed and its Content-Length
/// fits the URL's limit.
// The refusal is the handler's answer, built once and returned at once.
#[allow(clippy::result_large_err)]
fn declared_length(req: &Request, grant: &UploadGrant) -> Result<u64, Response> {
    let sent_type = req.header(header::CONTENT_TYPE).unwrap_or_default();
    if !sent_type.eq_ignore_ascii_case(&grant.content_type) {
        return Err(plain(
            StatusCode::BAD_REQUEST,
            &format!("Content-Type must be {}", grant.content_type),
        ));
    }
    let Some(length) = req
        .header(header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<u64>().ok())
    else {
        return Err(plain(
            StatusCode::LENGTH_REQUIRED,
            "uploads need a Content-Length",
        ));
    };
    if length > grant.max_bytes {
        return Err(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!(
                "at most {} bytes may be uploaded with this URL",
                grant.max_bytes
            ),
        ));
    }
    Ok(length)
}

/// Writes exactly `length` bytes of the body to `partial` and syncs it; a body longer or
/// shorter than that, or one that breaks off, is refused (the caller removes the file).
async fn receive(body: Body, length: u64, partial: &std::path::Path) -> Result<(), Response> {
    let interrupted = |e: std::io::Error| {
        tracing::warn!(error = %e, "upload interrupted");
        plain(StatusCode::BAD_REQUEST, "the upload was interrupted")
    };
    let mut file = tokio::fs::File::create(partial)
        .await
        .map_err(interrupted)?;
    let mut reader = body.into_async_read().take(length + 1);
    let mut buf = vec![0u8; 256 * 1024];
    let mut written = 0u64;
    loop {
        let n = reader.read(&mut buf).await.map_err(interrupted)?;
        if n == 0 {
            break;
        }
        written += n as u64;
        if written > length {
            return Err(plain(
                StatusCode::BAD_REQUEST,
                "the body is longer than its Content-Length",
            ));
        }
        file.write_all(&buf[..n]).await.map_err(interrupted)?;
    }
    if written < length {
        return Err(plain(
            StatusCode::BAD_REQUEST,
            "the body ended before its Content-Length",
        ));
    }
    file.sync_all().await.map_err(interrupted)
}

/// Serves a stored file (with Range, ETag and Last-Modified) to a valid signed URL.
#[handler]
pub async fn read_media(
    req: &Request,
    Path(key): Path<String>,
    Query(q): Query<ReadQuery>,
    Data(state): Data<&ApiState>,
) -> Response {
    let Some(store) = folder(state) else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    if let Err(e) = store.verify_read(&key, q.exp, &q.sig, clock::now()) {
        return refused(e);
    }
    let file_req = match StaticFileRequest::from_request_without_body(req).await {
        Ok(r) => r,
        Err(e) => return e.into_response(),
    };
    match file_req.create_response(store.path_of(&key), false, false) {
        Ok(resp) => {
            let mut resp = resp.into_response();
            let headers = resp.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(mime_of(&key)),
            );
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            );
            resp
        }
        Err(e) => poem::Error::from(e).into_response(),
    }
}
