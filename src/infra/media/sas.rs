//! Shared access signatures for Azure Blob Storage, signed in-house with HMAC-SHA256: a
//! service SAS signed with the account key, or a user-delegation SAS signed with a key
//! obtained through Entra ID. Layouts follow the documented string-to-sign for version
//! [`SAS_VERSION`].

use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

pub const SAS_VERSION: &str = "2022-11-02";

/// What a SAS grants, on one blob (`sr=b`) or a whole container (`sr=c`).
#[derive(Debug, Clone)]
pub struct SasGrant<'a> {
    pub account: &'a str,
    pub container: &'a str,
    /// `None` for a container SAS.
    pub blob: Option<&'a str>,
    /// Letters in the documented order, for example `r`, `cw`, `racwdl`.
    pub permissions: &'a str,
    pub start: Option<DateTime<Utc>>,
    pub expiry: DateTime<Utc>,
    /// The Content-Type the service answers reads with (`rsct`).
    pub response_content_type: Option<&'a str>,
}

/// The key of a user-delegation SAS, as the service returned it.
#[derive(Debug, Clone)]
pub struct DelegationKey {
    pub object_id: String,
    pub tenant_id: String,
    pub start: DateTime<Utc>,
    pub expiry: DateTime<Utc>,
    pub service: String,
    pub version: String,
    pub value: Vec<u8>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl SasGrant<'_> {
    fn resource(&self) -> &'static str {
        if self.blob.is_some() {
            "b"
        } else {
            "c"
        }
    }

    fn canonical_resource(&self) -> String {
        match self.blob {
            Some(blob) => format!("/blob/{}/{}/{}", self.account, self.container, blob),
            None => format!("/blob/{}/{}", self.account, self.container),
        }
    }

    fn start(&self) -> String {
        self.start.map(time).unwrap_or_default()
    }

    /// The fields both string-to-sign layouts end with: IP, protocol, version, resource,
    /// snapshot, encryption scope and the five response headers.
    fn common_tail(&self) -> [String; 11] {
        [
            String::new(), // signed IP
            "https,http".to_owned(),
            SAS_VERSION.to_owned(),
            self.resource().to_owned(),
            String::new(), // snapshot time
            String::new(), // encryption scope
            String::new(), // rscc
            String::new(), // rscd
            String::new(), // rsce
            String::new(), // rscl
            self.response_content_type.unwrap_or_default().to_owned(),
        ]
    }

    /// The service-SAS string-to-sign (version 2020-12-06 and later).
    pub fn service_string_to_sign(&self) -> String {
        [
            self.permissions.to_owned(),
            self.start(),
            time(self.expiry),
            self.canonical_resource(),
            String::new(), // signed identifier
        ]
        .into_iter()
        .chain(self.common_tail())
        .collect::<Vec<_>>()
        .join("\n")
    }

    /// The user-delegation string-to-sign (version 2020-12-06 and later).
    pub fn delegation_string_to_sign(&self, key: &DelegationKey) -> String {
        [
            self.permissions.to_owned(),
            self.start(),
            time(self.expiry),
            self.canonical_resource(),
            key.object_id.clone(),
            key.tenant_id.clone(),
            time(key.start),
            time(key.expiry),
            key.service.clone(),
            key.version.clone(),
            String::new(), // authorized user object id
            String::new(), // unauthorized user object id
            String::new(), // correlation id
        ]
        .into_iter()
        .chain(self.common_tail())
        .collect::<Vec<_>>()
        .join("\n")
    }

    fn common_query(&self) -> Vec<(&'static str, String)> {
        let mut q = vec![("sv", SAS_VERSION.to_owned())];
        if self.start.is_some() {
            q.push(("st", self.start()));
        }
        q.push(("se", time(self.expiry)));
        q.push(("sr", self.resource().to_owned()));
        q.push(("sp", self.permissions.to_owned()));
        q.push(("spr", "https,http".to_owned()));
        if let Some(ct) = self.response_content_type {
            q.push(("rsct", ct.to_owned()));
        }
        q
    }

    /// Query parameters of a service SAS signed with the base64 account key.
    pub fn sign_with_account_key(&self, account_key: &[u8]) -> Vec<(&'static str, String)> {
        let mut q = self.common_query();
        q.push(("sig", sign(account_key, &self.service_string_to_sign())));
        q
    }

    /// Query parameters of a user-delegation SAS.
    pub fn sign_with_delegation_key(&self, key: &DelegationKey) -> Vec<(&'static str, String)> {
        let mut q = self.common_query();
        q.extend([
            ("skoid", key.object_id.clone()),
            ("sktid", key.tenant_id.clone()),
            ("skt", time(key.start)),
            ("ske", time(key.expiry)),
            ("sks", key.service.clone()),
            ("skv", key.version.clone()),
        ]);
        q.push((
            "sig",
            sign(&key.value, &self.delegation_string_to_sign(key)),
        ));
        q
    }
}

/// Query parameters of an account SAS for the blob service over service, containers and
/// objects: the server's own requests (container creation needs an account SAS).
pub fn account_sas(
    account: &str,
    account_key: &[u8],
    permissions: &str,
    expiry: DateTime<Utc>,
) -> Vec<(&'static str, String)> {
    let expiry = time(expiry);
    // Version 2020-12-06 and later: note the trailing newline.
    let sts =
        format!("{account}\n{permissions}\nb\nsco\n\n{expiry}\n\nhttps,http\n{SAS_VERSION}\n\n");
    vec![
        ("sv", SAS_VERSION.to_owned()),
        ("ss", "b".to_owned()),
        ("srt", "sco".to_owned()),
        ("sp", permissions.to_owned()),
        ("se", expiry),
        ("spr", "https,http".to_owned()),
        ("sig", sign(account_key, &sts)),
    ]
}

/// base64(HMAC-SHA256(key, message)).
pub fn sign(key: &[u8], message: &str) -> String {
    #[allow(clippy::expect_used)]
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn grant() -> SasGrant<'static> {
        SasGrant {
            account: "acct",
            container: "media",
            blob: Some("videos/a/b.mp4"),
            permissions: "r",
            start: None,
            expiry: Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap(),
            response_content_type: Some("video/mp4"),
        }
    }

    #[test]
    fn service_string_to_sign_has_the_documented_sixteen_fields() {
        let sts = grant().service_string_to_sign();
        let fields: Vec<&str> = sts.split('\n').collect();
        assert_eq!(fields.len(), 16);
        assert_eq!(
            &fields[..9],
            &[
                "r",
                "",
                "2026-11-25T12:00:00Z",
                "/blob/acct/media/videos/a/b.mp4",
                "",
                "",
                "https,http",
                SAS_VERSION,
                "b"
            ]
        );
        assert_eq!(fields[15], "video/mp4");
    }

    #[test]
    fn delegation_string_to_sign_has_the_documented_twenty_four_fields() {
        let key = DelegationKey {
            object_id: "oid".into(),
            tenant_id: "tid".into(),
            start: Utc.with_ymd_and_hms(2026, 11, 25, 11, 0, 0).unwrap(),
            expiry: Utc.with_ymd_and_hms(2026, 11, 25, 13, 0, 0).unwrap(),
            service: "b".into(),
            version: SAS_VERSION.into(),
            value: b"secret".to_vec(),
        };
        let sts = grant().delegation_string_to_sign(&key);
        let fields: Vec<&str> = sts.split('\n').collect();
        assert_eq!(fields.len(), 24);
        assert_eq!(
            &fields[4..10],
            &[
                "oid",
                "tid",
                "2026-11-25T11:00:00Z",
                "2026-11-25T13:00:00Z",
                "b",
                SAS_VERSION
            ]
        );
        let q = grant().sign_with_delegation_key(&key);
        assert!(q.iter().any(|(k, v)| *k == "skoid" && v == "oid"));
        assert_eq!(q.last().map(|(k, _)| *k), Some("sig"));
    }

    #[test]
    fn signature_is_base64_hmac_sha256() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", "what do ya want for nothing?"),
            base64::engine::general_purpose::STANDARD.encode(
                hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                    .unwrap()
            )
        );
    }
}
