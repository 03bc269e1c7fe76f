/// Roles in ascending order of power; each has every permission of the one below it.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    strum::IntoStaticStr,
    strum::EnumString,
    strum::Display,
    strum::VariantNames,
)]
#[strum(serialize_all = "SCREAMING_SNAKE_CASE", ascii_case_insensitive)]
pub enum Role {
    Guest,
    User,
    Creator,
    Premium,
    Admin,
    SuperAdmin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read content and act as a viewer (favorites, views).
    Read,
    /// Create, edit, publish and delete one's own videos.
    ManageOwnVideos,
    /// Larger uploads and quotas.
    PremiumQuota,
    /// Edit or delete anyone's video, see unpublished ones, manage users.
    ManageAnyVideo,
    ManageUsers,
    ViewAnalytics,
    /// Create, edit, feature and delete recommendation items.
    ManageRecommendations,
    /// Grant ADMIN and SUPER_ADMIN.
    ManageAdmins,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Guest,
        Role::User,
        Role::Creator,
        Role::Premium,
        Role::Admin,
        Role::SuperAdmin,
    ];

    /// The least role that holds `permission`.
    fn least_with(permission: Permission) -> Role {
        match permission {
            Permission::Read => Role::User,
            Permission::ManageOwnVideos => Role::Creator,
            Permission::PremiumQuota => Role::Premium,
            Permission::ManageAnyVideo
            | Permission::ManageUsers
            | Permission::ViewAnalytics
            | Permission::ManageRecommendations => Role::Admin,
            Permission::ManageAdmins => Role::SuperAdmin,
        }
    }

    pub fn can(self, permission: Permission) -> bool {
        self >= Role::least_with(permission)
    }

    /// The name stored in the database and sent on the wire.
    pub fn as_str(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_grow_with_the_role() {
        assert!(!Role::Guest.can(Permission::Read));
        assert!(Role::User.can(Permission::Read));
        assert!(!Role::User.can(Permission::ManageOwnVideos));
        assert!(Role::Creator.can(Permission::ManageOwnVideos));
        assert!(!Role::Creator.can(Permission::PremiumQuota));
        assert!(Role::Premium.can(Permission::PremiumQuota));
        assert!(!Role::Premium.can(Permission::ManageUsers));
        assert!(Role::Admin.can(Permission::ManageAnyVideo));
        assert!(!Role::Admin.can(Permission::ManageAdmins));
        assert!(Role::SuperAdmin.can(Permission::ManageAdmins));
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("ROOT".parse::<Role>().is_err());
    }
}
