use chrono::{DateTime, Utc};

use super::Role;
use crate::domain::text::{clean, fold_key};
use crate::domain::{DomainError, UserId};

#[derive(Debug, Clone)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub email: String,
    pub password_hash: String,
    pub display_name: Option<String>,
    pub bio: Option<String>,
    pub avatar_url: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// [`Username::skeleton`] of a stored name (also of names stored before the rule).
pub fn username_skeleton(name: &str) -> String {
    let folded = fold_key(name);
    let skeleton: String = unicode_security::skeleton(&folded).collect();
    fold_key(&skeleton)
}

/// 3..=32 characters of letters, digits, `_`, `-` and `.`, after NFKC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let name = clean(raw, "username", 3, 32, false)?;
        if !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        {
            return Err(DomainError::bad_input(
                "username",
                "username may contain only letters, digits, '_', '-' and '.'",
            ));
        }
        Ok(Self(name))
    }

    /// A name for a new account: [`Username::parse`]'s rules, and Unicode TR39 §5.2
    /// "highly restrictive": one script, or Han with Hiragana and Katakana, Hangul or
    /// Bopomofo, or any of those with Latin. Mixing Latin with Cyrillic or Greek is how
    /// look-alike names are made. (Names registered before the rule still parse, so they
    /// can be looked up.)
    pub fn parse_new(raw: &str) -> Result<Self, DomainError> {
        use unicode_security::{RestrictionLevel, RestrictionLevelDetection};
        let name = Self::parse(raw)?;
        if name.0.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
            return Err(DomainError::bad_input(
                "username",
                "username mixes writing systems (for example Latin with Cyrillic or Greek); use one",
            ));
        }
        Ok(name)
    }

    /// The key under which names that look alike collide (Unicode TR39 §4 confusable
    /// skeleton, case-folded before and after): `paypal`, `pаypal` (Cyrillic а) and
    /// `PAYPA1` share one. Unique among users.
    pub fn skeleton(&self) -> String {
        username_skeleton(&self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The key that makes usernames unique case-insensitively.
    pub fn key(&self) -> String {
        fold_key(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let email = clean(raw, "email", 3, 254, false)?;
        let valid = match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !email.chars().any(char::is_whitespace)
            }
            None => false,
        };
        if !valid {
            return Err(DomainError::bad_input(
                "email",
                "email is not a valid address",
            ));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn key(&self) -> String {
        fold_key(&self.0)
    }
}

/// A plaintext password, checked for length before anything hashes it.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str, field: &str) -> Result<Self, DomainError> {
        let len = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&len) {
            return Err(DomainError::bad_input(
                field,
                format!(
                    "{field} must be {}..={} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        if raw.chars().any(char::is_control) {
            return Err(DomainError::bad_input(
                field,
                format!("{field} must not contain control characters"),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[derive(Debug, Clone)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        clean(raw, "displayName", 1, 100, false).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone)]
pub struct Bio(String);

impl Bio {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        clean(raw, "bio", 0, 1000, true).map(Self)
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: UserId,
    pub username: Username,
    pub email: Email,
    pub password_hash: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub now: DateTime<Utc>,
}

/// A profile edit; `None` leaves a field as it is, `Some(None)` clears it.
#[derive(Debug, Clone, Default)]
pub struct ProfileChanges {
    pub display_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub avatar_url: Option<Option<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_unique_case_insensitively_after_nfkc() {
        let a = Username::parse("Ｋｅｎｊｉ").ok().map(|u| u.key());
        let b = Username::parse("kenji").ok().map(|u| u.key());
        assert_eq!(a, b);
    }

    #[test]
    fn look_alike_usernames_share_a_skeleton_and_mixed_scripts_are_refused() {
        let key = |s: &str| Username::parse_new(s).map(|u| u.skeleton()).ok();
        assert_eq!(key("paypal"), key("PAYPA1"));
        assert_eq!(key("kenji"), key("ｋｅｎｊｉ"));
        // Cyrillic і (U+0456) inside Latin, and a whole-Cyrillic look-alike.
        assert!(Username::parse_new("admіn").is_err());
        assert!(
            Username::parse("admіn").is_ok(),
            "old names still parse for lookups"
        );
        assert_eq!(key("раура1"), key("paypal"));
        assert_ne!(key("alice"), key("alicia"));
        assert!(Username::parse_new("山田_taro").is_ok());
        assert!(Username::parse_new("たなか太郎").is_ok());
    }

    #[test]
    fn usernames_reject_spaces_and_symbols() {
        assert!(Username::parse("a b c").is_err());
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("robert'); drop").is_err());
        assert!(Username::parse("小明_2024").is_ok());
    }

    #[test]
    fn emails_need_a_domain() {
        assert!(Email::parse("a@b.io").is_ok());
        assert!(Email::parse("a@b").is_err());
        assert!(Email::parse("nope").is_err());
        assert!(Email::parse("a@@b.io").is_err());
    }

    #[test]
    fn password_length_is_checked_before_hashing() {
        assert!(Password::parse("short", "password").is_err());
        assert!(Password::parse(&"x".repeat(129), "password").is_err());
        assert!(Password::parse(&"x".repeat(128), "password").is_ok());
    }
}
