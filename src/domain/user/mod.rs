//! Users, their roles and what each role may do.

mod model;
mod ports;
mod role;

pub use model::{
    username_skeleton, Bio, DisplayName, Email, NewUser, Password, ProfileChanges, User, Username,
};
pub use ports::{CreateUserError, UserRepository};
pub use role::{Permission, Role};
