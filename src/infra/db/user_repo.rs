use async_trait::async_trait;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, EntityTrait, PaginatorTrait, QueryFilter, Set,
};

use super::convert::user_from;
use super::entities::user;
use super::{db_err, is_unique_violation, Database};
use crate::domain::clock;
use crate::domain::error::BackendResult;
use crate::domain::user::{
    username_skeleton, CreateUserError, NewUser, ProfileChanges, Role, User, UserRepository,
};
use crate::domain::{UserId, WriteError};

pub struct SqlUserRepository {
    pub db: Database,
}

impl SqlUserRepository {
    /// Fills the skeleton of users written before skeletons were kept. A name whose
    /// skeleton an earlier user already holds keeps none (both accounts go on working;
    /// only new names are held to the rule). Returns how many were filled.
    pub async fn fill_username_skeletons(&self) -> BackendResult<usize> {
        let missing = user::Entity::find()
            .filter(user::Column::UsernameSkeleton.is_null())
            .all(&self.db.conn)
            .await
            .map_err(db_err)?;
        let mut filled = 0;
        for row in missing {
            let model = user::ActiveModel {
                id: Set(row.id),
                username_skeleton: Set(Some(username_skeleton(&row.username))),
                ..Default::default()
            };
            match model.update(&self.db.conn).await {
                Ok(_) => filled += 1,
                Err(err) if is_unique_violation(&err) => {
                    tracing::warn!(user = %row.id, "username looks like an earlier one; left without a skeleton")
                }
                Err(err) => return Err(db_err(err)),
            }
        }
        Ok(filled)
    }

    async fn taken(&self, column: user::Column, key: &str) -> BackendResult<bool> {
        Ok(user::Entity::find()
            .filter(column.eq(key))
            .count(&self.db.conn)
            .await
            .map_err(db_err)?
            > 0)
    }
}

#[async_trait]
impl UserRepository for SqlUserRepository {
    async fn create(&self, new: NewUser) -> Result<User, CreateUserError> {
        let username_key = new.username.key();
        let username_skeleton = new.username.skeleton();
        let email_key = new.email.key();
        let model = user::ActiveModel {
            id: Set(new.id.as_uuid()),
            username: Set(new.username.as_str().to_owned()),
            username_key: Set(username_key.clone()),
            username_skeleton: Set(Some(username_skeleton.clone())),
            email: Set(new.email.as_str().to_owned()),
            email_key: Set(email_key.clone()),
            password_hash: Set(new.password_hash),
            display_name: Set(new.display_name),
            bio: Set(None),
            avatar_url: Set(None),
            role: Set(new.role.as_str().to_owned()),
            is_active: Set(true),
            created_at: Set(new.now),
            updated_at: Set(new.now),
        };
        match user::Entity::insert(model)
            .exec_with_returning(&self.db.conn)
            .await
        {
            Ok(m) => Ok(user_from(m)?),
            Err(err) if is_unique_violation(&err) => {
                // Name the field that clashed so the client can say which one.
                if self.taken(user::Column::UsernameKey, &username_key).await? {
                    Err(CreateUserError::Taken("username is already taken"))
                } else if self
                    .taken(user::Column::UsernameSkeleton, &username_skeleton)
                    .await?
                {
                    Err(CreateUserError::Taken(
                        "username looks too much like one that is already taken",
                    ))
                } else if self.taken(user::Column::EmailKey, &email_key).await? {
                    Err(CreateUserError::Taken("email is already registered"))
                } else {
                    Err(CreateUserError::Taken("username or email is already taken"))
                }
            }
            Err(err) => Err(db_err(err).into()),
        }
    }

    async fn by_id(&self, id: UserId) -> BackendResult<Option<User>> {
        user::Entity::find_by_id(id.as_uuid())
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(user_from)
            .transpose()
    }

    async fn by_login_key(&self, key: &str) -> BackendResult<Option<User>> {
        user::Entity::find()
            .filter(
                Condition::any()
                    .add(user::Column::UsernameKey.eq(key))
                    .add(user::Column::EmailKey.eq(key)),
            )
            .one(&self.db.conn)
            .await
            .map_err(db_err)?
            .map(user_from)
            .transpose()
    }

    async fn by_ids(&self, ids: &[UserId]) -> BackendResult<Vec<User>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        user::Entity::find()
            .filter(user::Column::Id.is_in(ids.iter().map(UserId::as_uuid)))
            .all(&self.db.conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .map(user_from)
            .collect()
    }

    async fn update_profile(
        &self,
        id: UserId,
        changes: ProfileChanges,
    ) -> Result<User, WriteError> {
        let mut model = user::ActiveModel {
            id: Set(id.as_uuid()),
            updated_at: Set(clock::now()),
            ..Default::default()
        };
        if let Some(v) = changes.display_name {
            model.display_name = Set(v);
        }
        if let Some(v) = changes.bio {
            model.bio = Set(v);
        }
        if let Some(v) = changes.avatar_url {
            model.avatar_url = Set(v);
        }
        match model.update(&self.db.conn).await {
            Ok(m) => Ok(user_from(m)?),
            Err(sea_orm::DbErr::RecordNotUpdated) => Err(WriteError::NotFound("user")),
            Err(err) => Err(db_err(err).into()),
        }
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<User, WriteError> {
        let model = user::ActiveModel {
            id: Set(id.as_uuid()),
            role: Set(role.as_str().to_owned()),
            updated_at: Set(clock::now()),
            ..Default::default()
        };
        match model.update(&self.db.conn).await {
            Ok(m) => Ok(user_from(m)?),
            Err(sea_orm::DbErr::RecordNotUpdated) => Err(WriteError::NotFound("user")),
            Err(err) => Err(db_err(err).into()),
        }
    }

    async fn set_password_hash(&self, id: UserId, hash: &str) -> BackendResult<()> {
        let model = user::ActiveModel {
            id: Set(id.as_uuid()),
            password_hash: Set(hash.to_owned()),
            updated_at: Set(clock::now()),
            ..Default::default()
        };
        model.update(&self.db.conn).await.map_err(db_err)?;
        Ok(())
    }
}
