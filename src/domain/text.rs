//! Text rules shared by every value object that holds user-written text.

use unicode_normalization::UnicodeNormalization;

use super::DomainError;

/// NFKC-normalises `raw`, trims it and rejects control characters (newlines and tabs are
/// allowed only where `multiline` is set). Lengths are counted in characters.
pub fn clean(
    raw: &str,
    field: &str,
    min: usize,
    max: usize,
    multiline: bool,
) -> Result<String, DomainError> {
    let text: String = raw.nfkc().collect::<String>().trim().to_owned();
    if let Some(c) = text.chars().find(|c| is_forbidden(*c, multiline)) {
        return Err(DomainError::bad_input(
            field,
            format!(
                "{field} must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    let len = text.chars().count();
    if len < min {
        return Err(DomainError::bad_input(
            field,
            if min == 1 {
                format!("{field} must not be empty")
            } else {
                format!("{field} must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(DomainError::bad_input(
            field,
            format!("{field} must be at most {max} characters"),
        ));
    }
    Ok(text)
}

fn is_forbidden(c: char, multiline: bool) -> bool {
    if multiline && (c == '\n' || c == '\t') {
        return false;
    }
    // Bidi overrides and isolates make text display differently from what it is.
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// NFKC, the normal form search analyses text in: full-width Latin becomes ASCII,
/// half-width katakana becomes full-width, NFD becomes composed.
pub fn nfkc(text: &str) -> String {
    text.nfkc().collect()
}

/// The case-insensitive uniqueness key of a username or email: NFKC, then lowercase.
pub fn fold_key(normalised: &str) -> String {
    normalised.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fullwidth_letters_are_normalised() {
        assert_eq!(
            clean("ＡＢＣ", "name", 1, 10, false).ok(),
            Some("ABC".to_owned())
        );
    }

    #[test]
    fn control_characters_and_bidi_overrides_are_refused() {
        assert!(clean("a\u{0000}b", "title", 1, 10, false).is_err());
        assert!(clean("a\u{202E}b", "title", 1, 10, false).is_err());
        assert!(clean("a\nb", "title", 1, 10, false).is_err());
        assert!(clean("a\nb", "description", 1, 10, true).is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        assert!(clean(&"视".repeat(200), "title", 1, 200, false).is_ok());
        assert!(clean(&"视".repeat(201), "title", 1, 200, false).is_err());
        assert!(clean("   ", "title", 1, 200, false).is_err());
    }
}
