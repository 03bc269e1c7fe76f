//! Password hashing and access tokens.

mod jwt;
mod password;

pub use jwt::JwtTokens;
pub use password::Argon2Hasher;
