//! GraphQL multipart requests (the graphql-multipart-request-spec), parsed here rather
//! than by async-graphql so that every limit holds while the body streams in:
//! - a preflight header is required, so a cross-site form cannot post one (CSRF);
//! - Content-Length is required (no chunked bodies) and bounds the whole body;
//! - `map` may name at most the configured number of files, checked before any file
//!   is read, and every file part must be one `map` names;
//! - each file is capped while it is written to a temporary file.

use std::collections::HashMap;

use async_graphql::{BatchRequest, UploadValue};
use futures_util::StreamExt;
use poem::http::{header, StatusCode};
use poem::{Body, Request};
use tokio::io::AsyncWriteExt;

use super::request::parse_batch;
use crate::api::error::http_status;
use crate::domain::ErrorCode;

/// Limits of one multipart request.
#[derive(Clone, Copy, Debug)]
pub struct MultipartLimits {
    pub max_file_bytes: u64,
    pub max_files: usize,
}

const MAX_OPERATIONS_BYTES: u64 = 1 << 20;
const MAX_MAP_BYTES: u64 = 64 << 10;
/// Headers a browser only sends after a CORS preflight.
const PREFLIGHT_HEADERS: [&str; 2] = ["apollo-require-preflight", "x-apollo-operation-name"];

type Rejection = (StatusCode, ErrorCode, String);

fn rejection(code: ErrorCode, message: impl Into<String>) -> Rejection {
    (http_status(code), code, message.into())
}

fn bad(message: impl Into<String>) -> Rejection {
    rejection(ErrorCode::BadUserInput, message)
}

fn too_large(message: impl Into<String>) -> Rejection {
    rejection(ErrorCode::PayloadTooLarge, message)
}

pub(super) fn is_multipart(req: &Request) -> bool {
    req.header(header::CONTENT_TYPE).is_some_and(|ct| {
        ct.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/form-data")
    })
}

fn multer_error(e: multer::Error) -> Rejection {
    match e {
        multer::Error::FieldSizeExceeded { limit, field_name } => too_large(format!(
            "part {:?} is larger than {limit} bytes",
            field_name.unwrap_or_default()
        )),
        multer::Error::StreamSizeExceeded { limit } => {
            too_large(format!("request body is larger than {limit} bytes"))
        }
        other => bad(format!("malformed multipart body: {other}")),
    }
}

async fn read_json_part(field: multer::Field<'_>) -> Result<Vec<u8>, Rejection> {
    Ok(field.bytes().await.map_err(multer_error)?.to_vec())
}

/// Checks the headers and opens the body with every size limit in place.
fn open_multipart(
    req: &Request,
    body: Body,
    limits: MultipartLimits,
) -> Result<multer::Multipart<'static>, Rejection> {
    if !PREFLIGHT_HEADERS.iter().any(|h| req.header(*h).is_some()) {
        return Err(bad(
            "multipart requests must carry an Apollo-Require-Preflight header (protection against cross-site requests)",
        ));
    }
    let content_type = req.header(header::CONTENT_TYPE).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type).map_err(multer_error)?;
    let Some(length) = req
        .header(header::CONTENT_LENGTH)
        .and_then(|l| l.parse::<u64>().ok())
    else {
        return Err((
            StatusCode::LENGTH_REQUIRED,
            ErrorCode::BadUserInput,
            "multipart requests need a Content-Length".into(),
        ));
    };
    let max_body =
        limits.max_file_bytes * limits.max_files as u64 + MAX_OPERATIONS_BYTES + MAX_MAP_BYTES;
    if length > max_body {
        return Err(too_large(format!(
            "request body is larger than {max_body} bytes"
        )));
    }
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(length.min(max_body))
            .per_field(limits.max_file_bytes)
            .for_field("operations", MAX_OPERATIONS_BYTES)
            .for_field("map", MAX_MAP_BYTES),
    );
    Ok(multer::Multipart::with_constraints(
        body.into_bytes_stream(),
        boundary,
        constraints,
    ))
}

type FileMap = HashMap<String, Vec<String>>;

/// The `map` part, refused when it names more files (or places for them) than allowed.
async fn read_map(field: multer::Field<'_>, limits: MultipartLimits) -> Result<FileMap, Rejection> {
    let bytes = read_json_part(field).await?;
    let parsed: FileMap = serde_json::from_slice(&bytes)
        .map_err(|e| bad(format!("the map part is not a JSON object of paths: {e}")))?;
    let paths: usize = parsed.values().map(Vec::len).sum();
    if paths > limits.max_files * super::MAX_BATCH {
        return Err(too_large(format!(
            "the map names {paths} places for files; at most {} are accepted",
            limits.max_files * super::MAX_BATCH
        )));
    }
    if parsed.len() > limits.max_files {
        return Err(too_large(format!(
            "at most {} files may be sent in one request; the map names {}",
            limits.max_files,
            parsed.len()
        )));
    }
    Ok(parsed)
}

pub(crate) async fn read_multipart(
    req: &Request,
    body: Body,
    limits: MultipartLimits,
) -> Result<BatchRequest, Rejection> {
    let mut multipart = open_multipart(req, body, limits)?;
    let mut batch: Option<BatchRequest> = None;
    let mut map: Option<FileMap> = None;
    let mut files: HashMap<String, UploadValue> = HashMap::new();
    while let Some(field) = multipart.next_field().await.map_err(multer_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "operations" if batch.is_none() => {
                let bytes = read_json_part(field).await?;
                batch = Some(parse_batch(&bytes).map_err(bad)?);
            }
            "map" if batch.is_some() && map.is_none() => map = Some(read_map(field, limits).await?),
            _ => {
                let Some(map) = &map else {
                    return Err(bad(
                        "the operations and map parts must come before any file",
                    ));
                };
                if !map.contains_key(&name) || files.contains_key(&name) {
                    return Err(bad(format!(
                        "file part {name:?} is not in the map, or repeated"
                    )));
                }
                let filename = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(ToString::to_string);
                let content = spool(field).await?;
                files.insert(
                    name,
                    UploadValue {
                        filename,
                        content_type,
                        content,
                    },
                );
            }
        }
    }
    let mut batch = batch.ok_or_else(|| bad("the operations part is missing"))?;
    let map = map.ok_or_else(|| bad("the map part is missing"))?;
    attach_files(&mut batch, map, &files)?;
    Ok(batch)
}

/// Puts each file into every place the map names for it.
fn attach_files(
    batch: &mut BatchRequest,
    map: FileMap,
    files: &HashMap<String, UploadValue>,
) -> Result<(), Rejection> {
    for (name, paths) in map {
        let file = files
            .get(&name)
            .ok_or_else(|| bad(format!("file part {name:?} named in the map is missing")))?;
        for path in paths {
            let content = file
                .content
                .try_clone()
                .map_err(|e| bad(format!("cannot read file part: {e}")))?;
            let upload = UploadValue {
                filename: file.filename.clone(),
                content_type: file.content_type.clone(),
                content,
            };
            match batch {
                BatchRequest::Single(request) => request.set_upload(&path, upload),
                BatchRequest::Batch(requests) => {
                    // In a batch, paths start with the operation's index.
                    let (index, rest) = path.split_once('.').unwrap_or_default();
                    let request = index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| requests.get_mut(i))
                        .ok_or_else(|| bad(format!("map path {path:?} names no operation")))?;
                    request.set_upload(rest, upload);
                }
            }
        }
    }
    Ok(())
}

/// Writes one file part to an unnamed temporary file, within the part's size limit.
async fn spool(mut field: multer::Field<'_>) -> Result<std::fs::File, Rejection> {
    let internal = |e: std::io::Error| {
        tracing::error!(error = %e, "cannot spool an upload");
        rejection(ErrorCode::Internal, "internal error")
    };
    let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(internal)?);
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multer_error)?;
        file.write_all(&chunk).await.map_err(internal)?;
    }
    file.flush().await.map_err(internal)?;
    let mut file = file.into_std().await;
    std::io::Seek::rewind(&mut file).map_err(internal)?;
    Ok(file)
}
