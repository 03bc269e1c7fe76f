use crate::domain::user::{Permission, Role};
use crate::domain::{DomainError, SessionId, UserId};

/// Who a request acts as. Built by the API layer from a verified access token.
#[derive(Debug, Clone)]
pub enum Viewer {
    Anonymous {
        client_key: String,
    },
    User {
        id: UserId,
        role: Role,
        session: SessionId,
        jti: String,
        expires_at: i64,
    },
}

impl Viewer {
    /// The viewer of computations shared by all admins (the dashboard): an ADMIN that
    /// is nobody, so every undeleted video may appear and nothing is anyone's own.
    pub fn dashboard() -> Self {
        Viewer::User {
            id: UserId::from_uuid(uuid::Uuid::nil()),
            role: Role::Admin,
            session: SessionId::from_uuid(uuid::Uuid::nil()),
            jti: "dashboard".into(),
            expires_at: i64::MAX,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Viewer::User { id, .. } => Some(*id),
            Viewer::Anonymous { .. } => None,
        }
    }

    pub fn role(&self) -> Option<Role> {
        match self {
            Viewer::User { role, .. } => Some(*role),
            Viewer::Anonymous { .. } => None,
        }
    }

    pub fn can(&self, permission: Permission) -> bool {
        self.role().is_some_and(|r| r.can(permission))
    }

    /// The signed-in user, or `Unauthenticated`.
    pub fn require_user(&self) -> Result<(UserId, Role), DomainError> {
        match self {
            Viewer::User { id, role, .. } => Ok((*id, *role)),
            Viewer::Anonymous { .. } => Err(DomainError::unauthenticated()),
        }
    }

    /// The signed-in user holding `permission`, or `Unauthenticated`/`Forbidden`.
    pub fn require(&self, permission: Permission, action: &str) -> Result<UserId, DomainError> {
        let (id, role) = self.require_user()?;
        if role.can(permission) {
            Ok(id)
        } else {
            Err(DomainError::forbidden(format!(
                "role {role} may not {action}"
            )))
        }
    }

    /// Key for once-per-viewer counters: the user id, or the client key for anonymous viewers.
    pub fn counter_key(&self) -> String {
        match self {
            Viewer::User { id, .. } => format!("u:{id}"),
            Viewer::Anonymous { client_key } => format!("a:{client_key}"),
        }
    }
}
