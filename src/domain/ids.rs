//! Typed identifiers. All are UUID v7, so they sort by creation time.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

use super::DomainError;

macro_rules! id_type {
    ($name:ident, $what:literal) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            PartialOrd,
            Ord,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            pub fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses client input; `field` names the argument in the error.
            pub fn parse(raw: &str, field: &str) -> Result<Self, DomainError> {
                Uuid::from_str(raw.trim()).map(Self).map_err(|_| {
                    DomainError::bad_input(field, concat!("not a valid ", $what, " id"))
                })
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(UserId, "user");
id_type!(VideoId, "video");
id_type!(SessionId, "session");
id_type!(UploadId, "upload");
id_type!(JobId, "job");
id_type!(RecommendationId, "recommendation");
