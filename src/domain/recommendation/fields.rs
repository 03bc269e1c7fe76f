//! The rules an item's fields keep, whichever way it came in.

use chrono::NaiveDate;

use super::{RecommendationFields, RecommendationKind};
use crate::domain::text::clean;
use crate::domain::DomainError;

/// Ratings are stars, 0 to 5; sources on a 10-point scale are halved when mapped.
pub const RATING_MAX: f64 = 5.0;

/// Whether `raw` is an absolute http(s) URL with a host.
pub fn is_http_url(raw: &str) -> bool {
    url::Url::parse(raw)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

fn optional_text(
    raw: Option<String>,
    field: &str,
    max: usize,
    multiline: bool,
) -> Result<Option<String>, DomainError> {
    let Some(raw) = raw else { return Ok(None) };
    let text = clean(&raw, field, 0, max, multiline)?;
    Ok(Some(text).filter(|t| !t.is_empty()))
}

fn image_url(raw: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(url) = optional_text(raw, "imageUrl", 2048, false)? else {
        return Ok(None);
    };
    if !is_http_url(&url) {
        return Err(DomainError::bad_input(
            "imageUrl",
            "imageUrl must be an absolute http or https URL",
        ));
    }
    Ok(Some(url))
}

fn accent_color(raw: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(color) = optional_text(raw, "accentColor", 7, false)? else {
        return Ok(None);
    };
    let hex = color.strip_prefix('#').unwrap_or("");
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(DomainError::bad_input(
            "accentColor",
            "accentColor must be a colour as #rrggbb",
        ));
    }
    Ok(Some(color.to_ascii_lowercase()))
}

fn bad_date() -> DomainError {
    DomainError::bad_input(
        "releaseDate",
        "releaseDate must be an ISO 8601 date: YYYY, YYYY-MM or YYYY-MM-DD (years before 1 as -YYYY)",
    )
}

/// `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, or `-YYYY` for a year before 1 (ISO 8601's expanded
/// year, as antiquity's books need).
fn release_date(raw: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(date) = optional_text(raw, "releaseDate", 16, false)? else {
        return Ok(None);
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if let Some(year) = date.strip_prefix('-') {
        return if digits(year, 4) && year != "0000" {
            Ok(Some(date))
        } else {
            Err(bad_date())
        };
    }
    let parts: Vec<&str> = date.split('-').collect();
    let valid = match parts.as_slice() {
        [y] => digits(y, 4),
        [y, m] => digits(y, 4) && digits(m, 2) && matches!(m.parse::<u32>(), Ok(1..=12)),
        [y, m, d] => {
            digits(y, 4)
                && digits(m, 2)
                && digits(d, 2)
                && NaiveDate::parse_from_str(&date, "%Y-%m-%d").is_ok()
        }
        _ => false,
    };
    if valid {
        Ok(Some(date))
    } else {
        Err(bad_date())
    }
}

fn source_name(raw: Option<String>) -> Result<Option<String>, DomainError> {
    let Some(source) = optional_text(raw, "source", 64, false)? else {
        return Ok(None);
    };
    let ok = source
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if !ok {
        return Err(DomainError::bad_input(
            "source",
            "source must be lowercase letters, digits, '-', '_' or '.'",
        ));
    }
    Ok(Some(source))
}

impl RecommendationFields {
    /// The fields cleaned and checked; each error names its field.
    pub fn validated(self) -> Result<Self, DomainError> {
        if let Some(rating) = self.rating {
            if !(0.0..=RATING_MAX).contains(&rating) {
                return Err(DomainError::bad_input(
                    "rating",
                    format!("rating must be between 0 and {RATING_MAX}"),
                ));
            }
        }
        if !self.score.is_finite() {
            return Err(DomainError::bad_input(
                "score",
                "score must be a finite number",
            ));
        }
        let source = source_name(self.source)?;
        let source_ref = optional_text(self.source_ref, "sourceRef", 200, false)?;
        if source.is_some() != source_ref.is_some() {
            return Err(DomainError::bad_input(
                if source.is_some() {
                    "sourceRef"
                } else {
                    "source"
                },
                "source and sourceRef are given together or not at all",
            ));
        }
        match (self.kind, self.video_id) {
            (RecommendationKind::Video, None) => {
                return Err(DomainError::bad_input(
                    "videoId",
                    "a VIDEO recommendation needs videoId",
                ))
            }
            (kind, Some(_)) if kind != RecommendationKind::Video => {
                return Err(DomainError::bad_input(
                    "videoId",
                    "only VIDEO recommendations point at a video",
                ))
            }
            _ => {}
        }
        if let (Some(from), Some(until)) = (self.featured_from, self.featured_until) {
            if until <= from {
                return Err(DomainError::bad_input(
                    "featuredUntil",
                    "featuredUntil must be after featuredFrom",
                ));
            }
        }
        Ok(Self {
            kind: self.kind,
            title: clean(&self.title, "title", 1, 300, false)?,
            subtitle: optional_text(self.subtitle, "subtitle", 1000, false)?,
            description: optional_text(self.description, "description", 5000, true)?,
            rating: self.rating,
            image_url: image_url(self.image_url)?,
            accent_color: accent_color(self.accent_color)?,
            duration: optional_text(self.duration, "duration", 40, false)?,
            release_date: release_date(self.release_date)?,
            source,
            source_ref,
            video_id: self.video_id,
            featured: self.featured,
            featured_from: self.featured_from,
            featured_until: self.featured_until,
            score: self.score,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> RecommendationFields {
        RecommendationFields::new(RecommendationKind::Book, "Dune")
    }

    fn field_of(result: Result<RecommendationFields, DomainError>) -> Option<String> {
        match result {
            Err(DomainError::BadInput { field, .. }) => field,
            other => panic!("expected a bad input, got {other:?}"),
        }
    }

    #[test]
    fn urls_must_be_absolute_http() {
        for bad in ["javascript:alert(1)", "/cover.jpg", "ftp://x/y", "https://"] {
            let f = RecommendationFields {
                image_url: Some(bad.into()),
                ..book()
            };
            assert_eq!(
                field_of(f.validated()).as_deref(),
                Some("imageUrl"),
                "{bad}"
            );
        }
        let ok = RecommendationFields {
            image_url: Some(" https://images.example/c.jpg ".into()),
            ..book()
        };
        assert_eq!(
            ok.validated().ok().and_then(|f| f.image_url).as_deref(),
            Some("https://images.example/c.jpg")
        );
    }

    #[test]
    fn bad_colours_dates_and_ratings_name_their_field() {
        for (field, f) in [
            (
                "accentColor",
                RecommendationFields {
                    accent_color: Some("red".into()),
                    ..book()
                },
            ),
            (
                "accentColor",
                RecommendationFields {
                    accent_color: Some("#12345g".into()),
                    ..book()
                },
            ),
            (
                "releaseDate",
                RecommendationFields {
                    release_date: Some("2021-02-30".into()),
                    ..book()
                },
            ),
            (
                "releaseDate",
                RecommendationFields {
                    release_date: Some("2021-13".into()),
                    ..book()
                },
            ),
            (
                "releaseDate",
                RecommendationFields {
                    release_date: Some("21".into()),
                    ..book()
                },
            ),
            (
                "releaseDate",
                RecommendationFields {
                    release_date: Some("2024-2-5".into()),
                    ..book()
                },
            ),
            (
                "rating",
                RecommendationFields {
                    rating: Some(5.5),
                    ..book()
                },
            ),
            (
                "rating",
                RecommendationFields {
                    rating: Some(f64::NAN),
                    ..book()
                },
            ),
            (
                "score",
                RecommendationFields {
                    score: f64::INFINITY,
                    ..book()
                },
            ),
            (
                "title",
                RecommendationFields {
                    title: "  ".into(),
                    ..book()
                },
            ),
        ] {
            assert_eq!(field_of(f.validated()).as_deref(), Some(field));
        }
    }

    #[test]
    fn good_dates_stay_and_colours_are_lowercased() {
        for date in ["2008", "2008-07", "2008-07-31", "-0750"] {
            let f = RecommendationFields {
                release_date: Some(date.into()),
                ..book()
            };
            assert_eq!(
                f.validated().ok().and_then(|f| f.release_date).as_deref(),
                Some(date)
            );
        }
        let f = RecommendationFields {
            accent_color: Some("#A0B1C2".into()),
            ..book()
        };
        assert_eq!(
            f.validated().ok().and_then(|f| f.accent_color).as_deref(),
            Some("#a0b1c2")
        );
    }

    #[test]
    fn video_items_and_only_they_point_at_a_video() {
        let video = RecommendationFields::new(RecommendationKind::Video, "Clip");
        assert_eq!(field_of(video.validated()).as_deref(), Some("videoId"));
        let book_with_video = RecommendationFields {
            video_id: Some(crate::domain::VideoId::new()),
            ..book()
        };
        assert_eq!(
            field_of(book_with_video.validated()).as_deref(),
            Some("videoId")
        );
    }

    #[test]
    fn sources_come_with_their_reference() {
        let f = RecommendationFields {
            source: Some("goodbooks".into()),
            ..book()
        };
        assert_eq!(field_of(f.validated()).as_deref(), Some("sourceRef"));
        let f = RecommendationFields {
            source: Some("Good Books".into()),
            source_ref: Some("1".into()),
            ..book()
        };
        assert_eq!(field_of(f.validated()).as_deref(), Some("source"));
    }
}
