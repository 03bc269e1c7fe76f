//! Sessions, tokens and the viewer a request acts as.

mod ports;
mod viewer;

pub use ports::{
    AccessClaims, AccessTokens, AttemptLimiter, InvalidToken, IssuedAccessToken, PasswordHasher,
    RefreshOutcome, RevocationList, SessionRepository,
};
pub use viewer::Viewer;
