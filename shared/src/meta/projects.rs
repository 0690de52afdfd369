use redis::{AsyncCommands, Script};

use super::error::{StoreError, StoreResult};
use super::{Meta, to_json};
use crate::keys;
use crate::model::{Project, Visibility};

/// Claims the path and registers the project in one step.
const CREATE_PROJECT: &str = r"
if not redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[1], ARGV[1])
if ARGV[3] == 'public' then
  redis.call('ZADD', KEYS[4], ARGV[1], ARGV[1])
end
return 1
";

/// Rewrites a project that still exists and files it under its visibility.
const UPDATE_PROJECT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] == 'public' then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
";

/// Removes a project from sight (record, path claim, listings) and queues the removal of
/// everything under it, in one step: no request finds it afterwards, and no crash leaves
/// it hidden but not queued.
const DELETE_PROJECT: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], ARGV[2], ARGV[1])
return 1
";

impl Meta {
    pub async fn next_project_id(&self) -> StoreResult<u64> {
        self.next_id(keys::PROJECT_SEQ).await
    }

    /// Registers a new project; its owner (when a user created it) is made a member first,
    /// so the project is never visible without one.
    pub async fn create_project(&self, project: &Project, owner: Option<(u64, u8)>) -> StoreResult<()> {
        if let Some((user_id, level)) = owner {
            self.set_member(project.id, user_id, level).await?;
        }
        let visibility = match project.visibility {
            Visibility::Public => "public",
            Visibility::Private => "private",
        };
        let created: i64 = Script::new(CREATE_PROJECT)
            .key(keys::project_by_path(&project.path_with_namespace()))
            .key(keys::project(project.id))
            .key(keys::PROJECTS_ALL)
            .key(keys::PROJECTS_PUBLIC)
            .arg(project.id)
            .arg(to_json(project)?)
            .arg(visibility)
            .invoke_async(&mut self.conn())
            .await?;
        if created == 1 {
            Ok(())
        } else {
            if let Some((user_id, _)) = owner {
                self.remove_member(project.id, user_id).await?;
            }
            Err(StoreError::Conflict("path has already been taken"))
        }
    }

    /// Saves a changed project (name, description, visibility); false when it is gone.
    pub async fn update_project(&self, project: &Project) -> StoreResult<bool> {
        let updated: i64 = Script::new(UPDATE_PROJECT)
            .key(keys::project(project.id))
            .key(keys::PROJECTS_PUBLIC)
            .arg(project.id)
            .arg(to_json(project)?)
            .arg(if project.visibility == Visibility::Public { "public" } else { "private" })
            .invoke_async(&mut self.conn())
            .await?;
        Ok(updated == 1)
    }

    /// Deletes a project as far as every reader is concerned and hands the rest (its
    /// keys, blobs and the references to it) to the cleanup worker; false when it was
    /// already gone.
    pub async fn delete_project(&self, project: &Project) -> StoreResult<bool> {
        let deleted: i64 = Script::new(DELETE_PROJECT)
            .key(keys::project(project.id))
            .key(keys::project_by_path(&project.path_with_namespace()))
            .key(keys::PROJECTS_ALL)
            .key(keys::PROJECTS_PUBLIC)
            .key(keys::PROJECTS_DELETING)
            .arg(project.id)
            .arg(crate::time::now_ms())
            .invoke_async(&mut self.conn())
            .await?;
        Ok(deleted == 1)
    }

    pub async fn project(&self, id: u64) -> StoreResult<Option<Project>> {
        self.get_json(&keys::project(id)).await
    }

    /// A project by numeric id or by its full path (`group/project`, any case).
    pub async fn project_by_ref(&self, id_or_path: &str) -> StoreResult<Option<Project>> {
        if let Ok(id) = id_or_path.parse::<u64>() {
            return self.project(id).await;
        }
        let id: Option<u64> = self.conn().get(keys::project_by_path(id_or_path)).await?;
        match id {
            Some(id) => self.project(id).await,
            None => Ok(None),
        }
    }

    pub async fn member_level(&self, project_id: u64, user_id: u64) -> StoreResult<Option<u8>> {
        Ok(self.conn().hget(keys::members(project_id), user_id).await?)
    }

    /// Adds a member; false when the user already is one.
    pub async fn add_member(&self, project_id: u64, user_id: u64, level: u8) -> StoreResult<bool> {
        let added: bool = self.conn().hset_nx(keys::members(project_id), user_id, level).await?;
        if added {
            let _: () = self.conn().zadd(keys::user_projects(user_id), project_id, project_id).await?;
        }
        Ok(added)
    }

    async fn set_member(&self, project_id: u64, user_id: u64, level: u8) -> StoreResult<()> {
        let _: () = self.conn().hset(keys::members(project_id), user_id, level).await?;
        let _: () = self.conn().zadd(keys::user_projects(user_id), project_id, project_id).await?;
        Ok(())
    }

    /// Changes a member's access level; false when the user is not a member. Decided in one
    /// script, so a concurrent removal is not undone.
    pub async fn change_member(&self, project_id: u64, user_id: u64, level: u8) -> StoreResult<bool> {
        let changed: i64 = Script::new(
            "if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then \
               redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end return 0",
        )
        .key(keys::members(project_id))
        .arg(user_id)
        .arg(level)
        .invoke_async(&mut self.conn())
        .await?;
        Ok(changed == 1)
    }

    /// Removes a membership (the project leaves the user's list too).
    pub async fn remove_member(&self, project_id: u64, user_id: u64) -> StoreResult<()> {
        let _: () = self.conn().hdel(keys::members(project_id), user_id).await?;
        let _: () = self.conn().zrem(keys::user_projects(user_id), project_id).await?;
        Ok(())
    }

    /// Ids of every project (for the administrator), of public ones, and of one user's.
    pub async fn all_project_ids(&self) -> StoreResult<Vec<u64>> {
        Ok(self.conn().zrange(keys::PROJECTS_ALL, 0, -1).await?)
    }

    pub async fn public_project_ids(&self) -> StoreResult<Vec<u64>> {
        Ok(self.conn().zrange(keys::PROJECTS_PUBLIC, 0, -1).await?)
    }

    pub async fn user_project_ids(&self, user_id: u64) -> StoreResult<Vec<u64>> {
        Ok(self.conn().zrange(keys::user_projects(user_id), 0, -1).await?)
    }

    /// A project's members and their access levels, by user id.
    pub async fn members(&self, project_id: u64) -> StoreResult<Vec<(u64, u8)>> {
        let mut members: Vec<(u64, u8)> = self.conn().hgetall(keys::members(project_id)).await?;
        members.sort_unstable();
        Ok(members)
    }

    pub async fn projects(&self, ids: &[u64]) -> StoreResult<Vec<Project>> {
        let keys: Vec<String> = ids.iter().map(|id| keys::project(*id)).collect();
        self.get_json_many(&keys, "project record").await
    }

    /// Does `project_id`'s job-token allowlist name `source_id`?
    pub async fn allowlist_contains(&self, project_id: u64, source_id: u64) -> StoreResult<bool> {
        Ok(self.conn().sismember(keys::job_token_allowlist(project_id), source_id).await?)
    }

    pub async fn allowlist(&self, project_id: u64) -> StoreResult<Vec<u64>> {
        let mut ids: Vec<u64> = self.conn().smembers(keys::job_token_allowlist(project_id)).await?;
        ids.sort_unstable();
        Ok(ids)
    }

    /// Adds `source_id`; false when it was already listed.
    pub async fn allowlist_add(&self, project_id: u64, source_id: u64) -> StoreResult<bool> {
        Ok(self.conn().sadd(keys::job_token_allowlist(project_id), source_id).await?)
    }

    /// Removes `source_id`; false when it was not listed.
    pub async fn allowlist_remove(&self, project_id: u64, source_id: u64) -> StoreResult<bool> {
        Ok(self.conn().srem(keys::job_token_allowlist(project_id), source_id).await?)
    }
}
