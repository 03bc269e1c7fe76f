//! Short client strings: list cursors and upload file names.

use unicode_normalization::is_nfc;

use super::assert_bad_input;
use crate::app::cursor;
use crate::domain::media::{clean_filename, MediaKind};
use crate::domain::video::VideoSort;

/// A client's `after` cursor for every list that takes one: refused as bad input, or
/// decoded to a position that encodes back to the same position.
pub fn cursor(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return; // GraphQL strings are UTF-8
    };
    for sort in [
        VideoSort::Newest,
        VideoSort::Oldest,
        VideoSort::MostLiked,
        VideoSort::MostViewed,
        VideoSort::Trending,
    ] {
        let decoded = cursor::decode_video(sort, raw);
        if let Ok(key) = &decoded {
            let again = cursor::decode_video(sort, &cursor::encode_video(sort, key));
            assert_eq!(again.as_ref().ok(), Some(key), "video cursor {raw:?}");
        }
        assert_bad_input(decoded, "video cursor");
    }
    let connection = "search:RELEVANCE:0123456789ab";
    let decoded = cursor::decode_search(connection, raw);
    if let Ok(at) = &decoded {
        let again = cursor::decode_search(connection, &cursor::encode_search(connection, *at));
        assert_eq!(again.as_ref().ok(), Some(at), "search cursor {raw:?}");
    }
    assert_bad_input(decoded, "search cursor");
    let decoded = cursor::decode_favorite(raw);
    if let Ok(key) = &decoded {
        let again = cursor::decode_favorite(&cursor::encode_favorite(key));
        assert_eq!(again.as_ref().ok(), Some(key), "favorite cursor {raw:?}");
    }
    assert_bad_input(decoded, "favorite cursor");
}

/// A client's upload file name for both kinds of media: refused as bad input, or a plain
/// NFC name of at most 255 characters, with no folder, control or direction character,
/// that cleans to itself.
pub fn upload_filename(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    for kind in [MediaKind::Video, MediaKind::Thumbnail] {
        let cleaned = clean_filename(raw, kind, "filename");
        if let Ok(name) = &cleaned {
            assert!(!name.is_empty(), "empty name from {raw:?}");
            assert!(
                !name.contains(['/', '\\']) && name != "." && name != "..",
                "folder in {name:?}"
            );
            assert!(
                !name.chars().any(|c| c.is_control()
                    || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')),
                "control or direction character in {name:?}"
            );
            assert!(name.chars().count() <= 255, "{name:?} is too long");
            assert!(is_nfc(name), "{name:?} is not NFC");
            assert_eq!(
                clean_filename(name, kind, "filename").ok().as_ref(),
                Some(name),
                "{name:?} does not clean to itself"
            );
        }
        assert_bad_input(cleaned, "file name");
    }
}
