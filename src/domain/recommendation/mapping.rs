//! How a record from a source (a CSV row, a JSON object) becomes an item: which source
//! field feeds which item field, as `--columns title=title,subtitle=authors,...` says.

use super::{RecommendationFields, RecommendationKind};
use crate::domain::{DomainError, VideoId};

/// Item fields a source may fill, by their API names.
pub const MAPPABLE: &[&str] = &[
    "title",
    "subtitle",
    "description",
    "rating",
    "imageUrl",
    "accentColor",
    "duration",
    "releaseDate",
    "sourceRef",
    "score",
    "videoId",
];

#[derive(Debug, Clone, PartialEq)]
pub struct ColumnMap {
    /// (item field, source field), in the order given.
    pairs: Vec<(&'static str, String)>,
}

impl ColumnMap {
    /// Parses `field=column,...`; `title` and `sourceRef` are required, since an item
    /// without a source reference could not be found again by the next import.
    pub fn parse(spec: &str) -> Result<Self, DomainError> {
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, column) = part.split_once('=').ok_or_else(|| {
                DomainError::bad_input("columns", format!("{part:?} is not field=column"))
            })?;
            let field = MAPPABLE
                .iter()
                .find(|f| f.eq_ignore_ascii_case(field.trim()))
                .ok_or_else(|| {
                    DomainError::bad_input(
                        "columns",
                        format!(
                            "unknown field {field:?}; fields are {}",
                            MAPPABLE.join(", ")
                        ),
                    )
                })?;
            if pairs.iter().any(|(f, _)| f == field) {
                return Err(DomainError::bad_input(
                    "columns",
                    format!("{field} is mapped twice"),
                ));
            }
            pairs.push((field, column.trim().to_owned()));
        }
        for required in ["title", "sourceRef"] {
            if !pairs.iter().any(|(f, _)| *f == required) {
                return Err(DomainError::bad_input(
                    "columns",
                    format!("map {required}, for example {required}=id"),
                ));
            }
        }
        Ok(Self { pairs })
    }

    /// The source fields this map reads.
    pub fn columns(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(_, c)| c.as_str())
    }

    /// The item a record describes, checked; `get` returns a source field's text
    /// (absent and empty are the same). Errors name the item field.
    pub fn fields(
        &self,
        kind: RecommendationKind,
        source: &str,
        get: impl Fn(&str) -> Option<String>,
    ) -> Result<RecommendationFields, DomainError> {
        let mut f = RecommendationFields::new(kind, String::new());
        f.source = Some(source.to_owned());
        for (field, column) in &self.pairs {
            let Some(value) = get(column).filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            let value = value.trim().to_owned();
            match *field {
                "title" => f.title = value,
                "subtitle" => f.subtitle = Some(value),
                "description" => f.description = Some(value),
                "rating" => f.rating = Some(number(field, &value)?),
                "imageUrl" => f.image_url = Some(value),
                "accentColor" => f.accent_color = Some(value),
                "duration" => f.duration = Some(value),
                "releaseDate" => f.release_date = Some(release_date(&value)),
                "sourceRef" => f.source_ref = Some(value),
                "score" => f.score = number(field, &value)?,
                "videoId" => f.video_id = Some(VideoId::parse(&value, "videoId")?),
                _ => {}
            }
        }
        f.validated()
    }
}

fn number(field: &str, value: &str) -> Result<f64, DomainError> {
    value
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .ok_or_else(|| DomainError::bad_input(field, format!("{field} {value:?} is not a number")))
}

/// A release date as sources write years (`2008.0`, `-750`) in ISO form (`2008`,
/// `-0750`); anything else is passed on to be checked as a date.
fn release_date(value: &str) -> String {
    match value.parse::<f64>() {
        Ok(year) if year.fract() == 0.0 && (-9999.0..=9999.0).contains(&year) && year != 0.0 => {
            let year = year as i64;
            if year < 0 {
                format!("-{:04}", -year)
            } else {
                format!("{year:04}")
            }
        }
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn maps_need_a_title_and_a_reference_and_known_fields() {
        assert!(ColumnMap::parse("title=title").is_err());
        assert!(ColumnMap::parse("title=t,sourceRef=id,colour=c").is_err());
        assert!(ColumnMap::parse("title=t,sourceRef=id,title=u").is_err());
        assert!(ColumnMap::parse("title=t,sourceRef=id,imageurl=img").is_ok());
    }

    #[test]
    fn records_become_checked_items() {
        let map = ColumnMap::parse(
            "title=title,subtitle=authors,rating=average_rating,releaseDate=year,sourceRef=book_id",
        )
        .ok();
        let Some(map) = map else {
            panic!("map should parse")
        };
        let row: HashMap<&str, &str> = [
            ("title", "The Iliad"),
            ("authors", "Homer, Robert Fagles"),
            ("average_rating", "3.83"),
            ("year", "-750.0"),
            ("book_id", "120"),
        ]
        .into_iter()
        .collect();
        let get = |c: &str| row.get(c).map(|v| (*v).to_owned());
        let item = map.fields(RecommendationKind::Book, "goodbooks", get).ok();
        let Some(item) = item else {
            panic!("row should map")
        };
        assert_eq!(item.release_date.as_deref(), Some("-0750"));
        assert_eq!(item.rating, Some(3.83));
        assert_eq!(item.source.as_deref(), Some("goodbooks"));
        assert_eq!(item.source_ref.as_deref(), Some("120"));

        let bad = |c: &str| match c {
            "average_rating" => Some("great".to_owned()),
            other => get(other),
        };
        match map.fields(RecommendationKind::Book, "goodbooks", bad) {
            Err(DomainError::BadInput { field, .. }) => {
                assert_eq!(field.as_deref(), Some("rating"))
            }
            other => panic!("expected a bad rating, got {other:?}"),
        }
        let untitled = |c: &str| if c == "title" { None } else { get(c) };
        assert!(map
            .fields(RecommendationKind::Book, "goodbooks", untitled)
            .is_err());
    }
}
