//! Opaque keyset cursors.
//!
//! A cursor is `base64url("v1|<connection>|<value>|<id>")`. It names the connection and
//! sort it came from, so a cursor from another list or another order is refused as
//! `BAD_USER_INPUT` instead of silently paging somewhere else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::domain::favorite::{FavoriteKey, TargetKind};
use crate::domain::search::SearchPosition;
use crate::domain::video::{SortKey, VideoSort};
use crate::domain::{DomainError, VideoId};

const VERSION: &str = "v1";

fn encode(connection: &str, value: &str, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{VERSION}|{connection}|{value}|{id}"))
}

fn invalid() -> DomainError {
    DomainError::bad_input(
        "after",
        "cursor is not valid for this list; use a cursor this list returned",
    )
}

/// Splits a cursor into value and id after checking version and connection.
fn decode(raw: &str, connection: &str) -> Result<(String, String), DomainError> {
    if raw.len() > 512 {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.splitn(4, '|');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(conn), Some(value), Some(id)) if conn == connection => {
            Ok((value.to_owned(), id.to_owned()))
        }
        _ => Err(invalid()),
    }
}

fn video_connection(sort: VideoSort) -> String {
    format!("videos:{}", sort.as_str())
}

fn parse_time(raw: &str) -> Result<DateTime<Utc>, DomainError> {
    let micros: i64 = raw.parse().map_err(|_| invalid())?;
    DateTime::from_timestamp_micros(micros).ok_or_else(invalid)
}

fn parse_uuid(raw: &str) -> Result<Uuid, DomainError> {
    Uuid::parse_str(raw).map_err(|_| invalid())
}

pub fn encode_video(sort: VideoSort, key: &SortKey) -> String {
    let (value, id) = match key {
        SortKey::Created(at, id) => (at.timestamp_micros().to_string(), id),
        SortKey::Count(n, id) => (n.to_string(), id),
        SortKey::Ranked(generation, position, id) => (format!("{generation}:{position}"), id),
    };
    encode(&video_connection(sort), &value, &id.to_string())
}

pub fn decode_video(sort: VideoSort, raw: &str) -> Result<SortKey, DomainError> {
    let (value, id) = decode(raw, &video_connection(sort))?;
    let id = VideoId::from_uuid(parse_uuid(&id)?);
    match sort {
        VideoSort::Newest | VideoSort::Oldest => Ok(SortKey::Created(parse_time(&value)?, id)),
        VideoSort::MostLiked | VideoSort::MostViewed => {
            let n: i64 = value.parse().map_err(|_| invalid())?;
            if n < 0 {
                return Err(invalid());
            }
            Ok(SortKey::Count(n, id))
        }
        VideoSort::Trending => {
            let (generation, position) = value.split_once(':').ok_or_else(invalid)?;
            let generation: i64 = generation.parse().map_err(|_| invalid())?;
            let position: i64 = position.parse().map_err(|_| invalid())?;
            if generation < 0 || position < 1 {
                return Err(invalid());
            }
            Ok(SortKey::Ranked(generation, position, id))
        }
    }
}

/// A search hit's place: its sort value (as the bits of the float, so it round-trips
/// exactly), the index view it came from and its id, under a connection naming the sort
/// and the query text.
pub fn encode_search(connection: &str, at: SearchPosition) -> String {
    encode(
        connection,
        &format!("{:016x}.{:x}", at.primary.to_bits(), at.view),
        &at.video.as_uuid().to_string(),
    )
}

pub fn decode_search(connection: &str, raw: &str) -> Result<SearchPosition, DomainError> {
    let (value, id) = decode(raw, connection)?;
    let (bits, view) = value.split_once('.').ok_or_else(invalid)?;
    let bits = u64::from_str_radix(bits, 16).map_err(|_| invalid())?;
    let view = u64::from_str_radix(view, 16).map_err(|_| invalid())?;
    let primary = f64::from_bits(bits);
    if !primary.is_finite() {
        return Err(invalid());
    }
    Ok(SearchPosition {
        primary,
        video: VideoId::from_uuid(parse_uuid(&id)?),
        view,
    })
}

pub fn encode_favorite(key: &FavoriteKey) -> String {
    encode(
        "favorites",
        &format!(
            "{}~{}",
            key.created_at.timestamp_micros(),
            key.kind.as_str()
        ),
        &key.target_id.to_string(),
    )
}

pub fn decode_favorite(raw: &str) -> Result<FavoriteKey, DomainError> {
    let (value, id) = decode(raw, "favorites")?;
    let (at, kind) = value.split_once('~').ok_or_else(invalid)?;
    Ok(FavoriteKey {
        created_at: parse_time(at)?,
        kind: kind.parse::<TargetKind>().map_err(|_| invalid())?,
        target_id: parse_uuid(&id)?,
    })
}

/// A place in one version of one viewer's feed: the version and the offset after the
/// last item handed out, under a connection naming the feed and the viewer, so another
/// viewer's cursor is refused.
pub fn encode_feed(connection: &str, version: i64, offset: usize) -> String {
    encode(connection, &version.to_string(), &offset.to_string())
}

pub fn decode_feed(connection: &str, raw: &str) -> Result<(i64, usize), DomainError> {
    let (version, offset) = decode(raw, connection)?;
    let version: i64 = version.parse().map_err(|_| invalid())?;
    let offset: usize = offset.parse().map_err(|_| invalid())?;
    if version < 0 {
        return Err(invalid());
    }
    Ok((version, offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn video_cursors_round_trip_and_are_bound_to_their_sort() {
        let key = SortKey::Count(42, VideoId::new());
        let cursor = encode_video(VideoSort::MostLiked, &key);
        assert_eq!(decode_video(VideoSort::MostLiked, &cursor).ok(), Some(key));
        assert!(decode_video(VideoSort::MostViewed, &cursor).is_err());
        assert!(decode_video(VideoSort::Newest, &cursor).is_err());
    }

    #[test]
    fn trending_cursors_carry_their_ranking() {
        let key = SortKey::Ranked(1_780_000_000, 41, VideoId::new());
        let cursor = encode_video(VideoSort::Trending, &key);
        assert_eq!(decode_video(VideoSort::Trending, &cursor).ok(), Some(key));
        assert!(decode_video(VideoSort::MostLiked, &cursor).is_err());
        let id = VideoId::new();
        for value in ["12", "12:0", "-1:3", "a:b", "1:2:3"] {
            let forged = encode(
                &video_connection(VideoSort::Trending),
                value,
                &id.to_string(),
            );
            assert!(
                decode_video(VideoSort::Trending, &forged).is_err(),
                "{value}"
            );
        }
    }

    #[test]
    fn forged_cursors_are_bad_input() {
        for raw in [
            "",
            "!!!",
            "djF8dmlkZW9zOk5FV0VTVHx4fHk",
            &"A".repeat(2000),
            &URL_SAFE_NO_PAD.encode([0xff, 0xfe]),
        ] {
            assert!(
                matches!(
                    decode_video(VideoSort::Newest, raw),
                    Err(DomainError::BadInput { .. })
                ),
                "{raw}"
            );
        }
        let negative = encode("videos:MOST_LIKED", "-5", &Uuid::nil().to_string());
        assert!(decode_video(VideoSort::MostLiked, &negative).is_err());
    }

    #[test]
    fn feed_cursors_are_bound_to_their_viewer() {
        let cursor = encode_feed("recs:BOOK:alice", 3, 40);
        assert_eq!(decode_feed("recs:BOOK:alice", &cursor).ok(), Some((3, 40)));
        assert!(decode_feed("recs:BOOK:bob", &cursor).is_err());
        assert!(decode_feed("recs:ALL:alice", &cursor).is_err());
        let forged = encode("recs:BOOK:alice", "-1", "0");
        assert!(decode_feed("recs:BOOK:alice", &forged).is_err());
    }

    #[test]
    fn favorite_cursors_are_not_video_cursors() {
        let key = FavoriteKey {
            created_at: Utc::now(),
            kind: TargetKind::Video,
            target_id: Uuid::now_v7(),
        };
        let cursor = encode_favorite(&key);
        assert!(decode_video(VideoSort::Newest, &cursor).is_err());
        let back = decode_favorite(&cursor).ok();
        assert_eq!(back.map(|k| k.target_id), Some(key.target_id));
    }
}
