//! Which files are accepted: formats recognised by their magic bytes, clean file names and
//! size limits by role.

use unicode_normalization::UnicodeNormalization;

use crate::domain::error::DomainResult;
use crate::domain::user::{Permission, Role};
use crate::domain::DomainError;

/// What an upload is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::EnumString)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaKind {
    Video,
    Thumbnail,
}

impl MediaKind {
    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    pub fn parse(raw: &str) -> Option<Self> {
        raw.parse().ok()
    }

    fn formats(self) -> &'static [Format] {
        match self {
            MediaKind::Video => VIDEO_FORMATS,
            MediaKind::Thumbnail => IMAGE_FORMATS,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            MediaKind::Video => "videos",
            MediaKind::Thumbnail => "thumbnails",
        }
    }

    /// The accepted declared content type, by its MIME type.
    pub fn format_for_mime(self, mime: &str) -> DomainResult<&'static Format> {
        let mime = mime
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        self.formats()
            .iter()
            .find(|f| f.mime == mime || f.aliases.contains(&mime.as_str()))
            .ok_or_else(|| {
                DomainError::bad_input(
                    "input.contentType",
                    format!(
                        "{mime:?} is not accepted for {}; accepted: {}",
                        self.noun(),
                        self.formats()
                            .iter()
                            .map(|f| f.mime)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }
}

/// A container or image format reelgraph accepts.
#[derive(Debug, PartialEq, Eq)]
pub struct Format {
    pub mime: &'static str,
    /// Other MIME types that mean the same container (as detected or declared).
    pub aliases: &'static [&'static str],
    /// File name extensions a client may use for it.
    pub extensions: &'static [&'static str],
    /// The extension of stored objects.
    pub extension: &'static str,
    pub name: &'static str,
}

const VIDEO_FORMATS: &[Format] = &[
    Format {
        mime: "video/mp4",
        aliases: &["video/x-m4v"],
        extensions: &["mp4", "m4v"],
        extension: "mp4",
        name: "MP4",
    },
    Format {
        mime: "video/quicktime",
        aliases: &[],
        extensions: &["mov", "qt"],
        extension: "mov",
        name: "QuickTime",
    },
    Format {
        mime: "video/webm",
        aliases: &[],
        extensions: &["webm"],
        extension: "webm",
        name: "WebM",
    },
    Format {
        mime: "video/x-matroska",
        aliases: &["video/matroska"],
        extensions: &["mkv"],
        extension: "mkv",
        name: "Matroska",
    },
];

const IMAGE_FORMATS: &[Format] = &[
    Format {
        mime: "image/jpeg",
        aliases: &["image/jpg"],
        extensions: &["jpg", "jpeg"],
        extension: "jpg",
        name: "JPEG",
    },
    Format {
        mime: "image/png",
        aliases: &[],
        extensions: &["png"],
        extension: "png",
        name: "PNG",
    },
    Format {
        mime: "image/webp",
        aliases: &[],
        extensions: &["webp"],
        extension: "webp",
        name: "WebP",
    },
];

/// The format the first bytes of a file show, if it is one accepted for `kind`. The
/// declared content type plays no part: a PNG declared as `video/mp4` is a PNG.
pub fn sniff(kind: MediaKind, head: &[u8]) -> Result<&'static Format, String> {
    let detected = infer::get(head);
    let found = detected.and_then(|t| {
        kind.formats()
            .iter()
            .find(|f| f.mime == t.mime_type() || f.aliases.contains(&t.mime_type()))
    });
    // The detector also calls QuickTime anything with `moov` or `mdat` near the start;
    // an ISO media file opens with its `ftyp` box.
    let found = found.filter(|f| {
        !matches!(f.extension, "mp4" | "mov") || head.get(4..8) == Some(b"ftyp".as_slice())
    });
    match (found, detected) {
        (Some(format), _) => Ok(format),
        (None, Some(t)) => Err(format!(
            "the file is {}, which is not accepted for {}",
            t.mime_type(),
            kind.noun()
        )),
        (None, None) => Err(format!(
            "the file is not a recognised {} format",
            match kind {
                MediaKind::Video => "video (MP4, QuickTime, WebM or Matroska)",
                MediaKind::Thumbnail => "image (JPEG, PNG or WebP)",
            }
        )),
    }
}

/// Bytes [`sniff`] needs to tell every accepted format apart.
pub const SNIFF_BYTES: u64 = 4096;

const MAX_FILENAME_CHARS: usize = 255;

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A client's file name, kept for display only: NFC, one plain name (no folders), no
/// control or direction-override characters, at most 255 characters, with an extension
/// accepted for `kind`. Objects are always stored under generated names.
pub fn clean_filename(raw: &str, kind: MediaKind, field: &str) -> DomainResult<String> {
    let bad = |message: String| DomainError::bad_input(field, message);
    let name: String = raw.trim().nfc().collect();
    if name.is_empty() {
        return Err(bad("filename must not be empty".into()));
    }
    if name.chars().any(|c| c.is_control()) {
        return Err(bad("filename must not contain control characters".into()));
    }
    if name.chars().any(is_bidi_control) {
        return Err(bad(
            "filename must not contain text-direction control characters".into(),
        ));
    }
    if name.contains('/') || name.contains('\\') || name == "." || name == ".." {
        return Err(bad("filename must be a plain name, without folders".into()));
    }
    if name.chars().count() > MAX_FILENAME_CHARS {
        return Err(bad(format!(
            "filename is longer than {MAX_FILENAME_CHARS} characters"
        )));
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((stem, ext)) => (stem, ext.to_lowercase()),
        None => (name.as_str(), String::new()),
    };
    if stem.trim_matches('.').is_empty() {
        return Err(bad("filename needs a name before its extension".into()));
    }
    let accepted: Vec<&str> = kind
        .formats()
        .iter()
        .flat_map(|f| f.extensions.iter().copied())
        .collect();
    if !accepted.contains(&ext.as_str()) {
        return Err(bad(format!(
            "filename must end in one of .{} for {}",
            accepted.join(", ."),
            kind.noun()
        )));
    }
    Ok(name)
}

/// Largest uploads, by what they are and who sends them.
#[derive(Debug, Clone, Copy)]
pub struct UploadLimits {
    pub video_bytes: u64,
    pub premium_video_bytes: u64,
    pub thumbnail_bytes: u64,
}

impl UploadLimits {
    pub fn max_bytes(&self, kind: MediaKind, role: Role) -> u64 {
        match kind {
            MediaKind::Thumbnail => self.thumbnail_bytes,
            MediaKind::Video if role.can(Permission::PremiumQuota) => self.premium_video_bytes,
            MediaKind::Video => self.video_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing_ignores_the_declared_type() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(sniff(MediaKind::Video, png)
            .unwrap_err()
            .contains("image/png"));
        assert_eq!(sniff(MediaKind::Thumbnail, png).map(|f| f.name), Ok("PNG"));
        let mp4 = b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2";
        assert_eq!(sniff(MediaKind::Video, mp4).map(|f| f.name), Ok("MP4"));
        let html = b"<!DOCTYPE html><html><script>alert(1)</script>";
        assert!(sniff(MediaKind::Video, html).is_err());
        assert!(sniff(
            MediaKind::Video,
            b"<html><head>mdat<script>alert(1)</script>"
        )
        .is_err());
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>";
        assert!(sniff(MediaKind::Thumbnail, svg).is_err());
    }

    #[test]
    fn filenames_are_plain_names_with_accepted_extensions() {
        let ok = |n: &str| clean_filename(n, MediaKind::Video, "f");
        assert_eq!(
            ok(" Holiday 2026.MP4 ").ok().as_deref(),
            Some("Holiday 2026.MP4")
        );
        assert!(ok("猫.webm").is_ok());
        for bad in [
            "../../etc/passwd",
            "x.mp4.php",
            "a\0.mp4",
            "evil\u{202E}4pm.exe",
            "dir/x.mp4",
            "c:\\x.mp4",
            ".mp4",
            "noext",
            "",
        ] {
            assert!(ok(bad).is_err(), "{bad:?} accepted");
        }
        assert!(ok(&format!("{}.mp4", "a".repeat(296))).is_err());
        assert!(clean_filename("x.svg", MediaKind::Thumbnail, "f").is_err());
    }
}
