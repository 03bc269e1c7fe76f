//! Value objects for the text a creator writes about a video.

use super::VideoChanges;
use crate::domain::text::clean;
use crate::domain::DomainError;

pub fn seo_title(raw: &str) -> Result<String, DomainError> {
    clean(raw, "seoTitle", 1, 120, false)
}

pub fn seo_description(raw: &str) -> Result<String, DomainError> {
    clean(raw, "seoDescription", 0, 320, false)
}

/// `Some(parsed)` of a present value, `None` of an absent one.
pub fn optional<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Result<T, DomainError>,
) -> Result<Option<T>, DomainError> {
    raw.map(parse).transpose()
}

impl VideoChanges {
    /// The edit as a client sent it, every field checked and cleaned as on creation; an
    /// empty description clears it.
    pub fn validated(self) -> Result<Self, DomainError> {
        let clear_empty = |d: Option<String>| d.filter(|d| !d.is_empty());
        Ok(Self {
            title: optional(self.title.as_deref(), |t| {
                Title::parse(t).map(Title::into_inner)
            })?,
            description: self
                .description
                .map(|d| {
                    optional(d.as_deref(), |d| {
                        Description::parse(d).map(Description::into_inner)
                    })
                })
                .transpose()?
                .map(clear_empty),
            categories: self
                .categories
                .map(|c| Categories::parse(&c).map(Categories::into_inner))
                .transpose()?,
            tags: self
                .tags
                .map(|t| Tags::parse(&t).map(Tags::into_inner))
                .transpose()?,
            visibility: self.visibility,
            seo_title: self
                .seo_title
                .map(|s| optional(s.as_deref(), seo_title))
                .transpose()?,
            seo_description: self
                .seo_description
                .map(|s| optional(s.as_deref(), seo_description))
                .transpose()?,
            seo_keywords: self
                .seo_keywords
                .map(|k| SeoKeywords::parse(&k).map(SeoKeywords::into_inner))
                .transpose()?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Title(String);

impl Title {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        clean(raw, "title", 1, 200, false).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone)]
pub struct Description(String);

impl Description {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        clean(raw, "description", 0, 5000, true).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Parses a list of labels: each cleaned, empty ones refused, duplicates (after case
/// folding) dropped, order kept.
fn labels(
    raw: &[String],
    field: &str,
    max_items: usize,
    max_chars: usize,
) -> Result<Vec<String>, DomainError> {
    if raw.len() > max_items {
        return Err(DomainError::bad_input(
            field,
            format!("at most {max_items} {field} are allowed"),
        ));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, item) in raw.iter().enumerate() {
        let label = clean(item, &format!("{field}[{i}]"), 1, max_chars, false)?;
        if !out.iter().any(|l| l.to_lowercase() == label.to_lowercase()) {
            out.push(label);
        }
    }
    Ok(out)
}

#[derive(Debug, Clone, Default)]
pub struct Tags(Vec<String>);

impl Tags {
    pub fn parse(raw: &[String]) -> Result<Self, DomainError> {
        labels(raw, "tags", 20, 40).map(Self)
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

#[derive(Debug, Clone, Default)]
pub struct Categories(Vec<String>);

impl Categories {
    pub fn parse(raw: &[String]) -> Result<Self, DomainError> {
        labels(raw, "categories", 10, 40).map(Self)
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

#[derive(Debug, Clone, Default)]
pub struct SeoKeywords(Vec<String>);

impl SeoKeywords {
    pub fn parse(raw: &[String]) -> Result<Self, DomainError> {
        labels(raw, "seoKeywords", 20, 60).map(Self)
    }

    pub fn into_inner(self) -> Vec<String> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_limited_in_number_and_length() {
        let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
        assert!(Tags::parse(&many).is_err());
        assert!(Tags::parse(&["x".repeat(41)]).is_err());
        assert!(Tags::parse(&["".into()]).is_err());
        let tags = Tags::parse(&["Rust".into(), "rust".into(), "猫".into()])
            .map(Tags::into_inner)
            .ok();
        assert_eq!(tags, Some(vec!["Rust".to_owned(), "猫".to_owned()]));
    }

    #[test]
    fn errors_name_the_offending_item() {
        match Tags::parse(&["ok".into(), "".into()]) {
            Err(DomainError::BadInput { field, .. }) => {
                assert_eq!(field.as_deref(), Some("tags[1]"))
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
