use redis::Script;

use super::error::{StoreError, StoreResult};
use super::{Meta, to_json};
use crate::keys;
use crate::model::User;
use crate::time::now_ms;

/// Claims the user name and writes the record in one step, so a crash cannot leave a
/// name taken by nobody.
const CREATE_USER: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('SET', KEYS[2], ARGV[2])
  return 1
end
return 0
";

impl Meta {
    pub async fn create_user(&self, username: &str, email: Option<String>, admin: bool) -> StoreResult<User> {
        let id = self.next_id(keys::USER_SEQ).await?;
        let user = User { id, username: username.to_owned(), email, admin, created_at: now_ms(), blocked: false };
        let created: i64 = Script::new(CREATE_USER)
            .key(keys::user_by_name(username))
            .key(keys::user(id))
            .arg(id)
            .arg(to_json(&user)?)
            .invoke_async(&mut self.conn())
            .await?;
        if created == 1 { Ok(user) } else { Err(StoreError::Conflict("Username has already been taken")) }
    }

    pub async fn user(&self, id: u64) -> StoreResult<Option<User>> {
        self.get_json(&keys::user(id)).await
    }

    /// Blocks or unblocks a user; false when there is no such user.
    pub async fn set_user_blocked(&self, id: u64, blocked: bool) -> StoreResult<bool> {
        let Some(mut user) = self.user(id).await? else { return Ok(false) };
        user.blocked = blocked;
        let _: () = redis::AsyncCommands::set(&mut self.conn(), keys::user(id), to_json(&user)?).await?;
        Ok(true)
    }

    /// Every user, oldest first.
    pub async fn all_users(&self) -> StoreResult<Vec<User>> {
        self.all_by_id(keys::USER_SEQ, keys::user, "user record").await
    }

    /// Is `username` some user's name (any case)?
    pub async fn username_exists(&self, username: &str) -> StoreResult<bool> {
        Ok(redis::AsyncCommands::exists(&mut self.conn(), keys::user_by_name(username)).await?)
    }
}
