//! HS256 access tokens with a pinned algorithm and required claims.

use std::time::Duration;

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::auth::{AccessClaims, AccessTokens, InvalidToken, IssuedAccessToken};
use crate::domain::error::BackendResult;
use crate::domain::user::Role;
use crate::domain::{BackendError, SessionId, UserId};

const TYP: &str = "access";

#[derive(Serialize, Deserialize)]
struct Claims {
    iss: String,
    aud: String,
    sub: String,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: String,
    sid: String,
    role: String,
    typ: String,
}

pub struct JwtTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
}

impl JwtTokens {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl,
        }
    }
}

impl AccessTokens for JwtTokens {
    fn issue(
        &self,
        user_id: UserId,
        role: Role,
        session: SessionId,
    ) -> BackendResult<IssuedAccessToken> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: user_id.to_string(),
            exp: now + self.ttl.as_secs() as i64,
            nbf: now,
            iat: now,
            jti: Uuid::new_v4().to_string(),
            sid: session.to_string(),
            role: role.as_str().to_owned(),
            typ: TYP.to_owned(),
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(BackendError::internal)?;
        Ok(IssuedAccessToken {
            token,
            expires_in: self.ttl,
        })
    }

    fn verify(&self, token: &str) -> Result<AccessClaims, InvalidToken> {
        if token.len() > 4096 {
            return Err(InvalidToken);
        }
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|_| InvalidToken)?;
        let c = data.claims;
        if c.typ != TYP {
            return Err(InvalidToken);
        }
        Ok(AccessClaims {
            user_id: UserId::from_uuid(Uuid::parse_str(&c.sub).map_err(|_| InvalidToken)?),
            role: c.role.parse().map_err(|_| InvalidToken)?,
            session: SessionId::from_uuid(Uuid::parse_str(&c.sid).map_err(|_| InvalidToken)?),
            jti: c.jti,
            expires_at: c.exp,
        })
    }

    fn ttl(&self) -> Duration {
        self.ttl
    }
}

#[cfg(test)]
mod tests {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    use super::*;

    fn tokens() -> JwtTokens {
        JwtTokens::new(
            b"0123456789abcdef0123456789abcdef",
            "reelgraph",
            "reelgraph-api",
            Duration::from_secs(900),
        )
    }

    #[test]
    fn issued_tokens_verify() {
        let t = tokens();
        let user = UserId::new();
        let issued = t
            .issue(user, Role::Creator, SessionId::new())
            .map(|i| i.token)
            .unwrap_or_default();
        let claims = t.verify(&issued).ok().map(|c| (c.user_id, c.role));
        assert_eq!(claims, Some((user, Role::Creator)));
    }

    #[test]
    fn alg_none_and_foreign_keys_are_refused() {
        let t = tokens();
        let issued = t
            .issue(UserId::new(), Role::Admin, SessionId::new())
            .map(|i| i.token)
            .unwrap_or_default();
        let payload = issued.split('.').nth(1).unwrap_or_default();
        let none_header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        assert!(t.verify(&format!("{none_header}.{payload}.")).is_err());
        let other = JwtTokens::new(
            b"another-secret-another-secret-xx",
            "reelgraph",
            "reelgraph-api",
            Duration::from_secs(900),
        );
        assert!(other.verify(&issued).is_err());
    }
}
