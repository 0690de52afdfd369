//! Deleting a project or a user: what is removed at once (so no request finds them), and
//! what the cleanup worker removes afterwards (every key of a project, and every reference
//! to it elsewhere).

use redis::{AsyncCommands, Script};

use super::Meta;
use super::error::StoreResult;
use crate::keys;
use crate::model::{PersonalAccessToken, User};

/// A project deletion the worker has to carry out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectDeletion {
    pub project_id: u64,
    /// The second and last pass, which removes what uploads in flight at the deletion
    /// wrote after the first.
    pub final_pass: bool,
}

impl ProjectDeletion {
    fn parse(member: &str) -> Option<Self> {
        match member.strip_suffix(":final") {
            Some(id) => Some(Self { project_id: id.parse().ok()?, final_pass: true }),
            None => Some(Self { project_id: member.parse().ok()?, final_pass: false }),
        }
    }

    fn member(&self) -> String {
        if self.final_pass { format!("{}:final", self.project_id) } else { self.project_id.to_string() }
    }
}

/// Deletes a user record and frees the name, if the record is still there.
const DELETE_USER: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
end
return 1
";

impl Meta {
    /// Project deletions that are due, oldest first.
    pub async fn due_project_deletions(&self, now: u64, limit: usize) -> StoreResult<Vec<ProjectDeletion>> {
        let members: Vec<String> =
            self.conn().zrangebyscore_limit(keys::PROJECTS_DELETING, 0, now, 0, limit as isize).await?;
        Ok(members.iter().filter_map(|m| ProjectDeletion::parse(m)).collect())
    }

    /// The first pass is done: the final one runs at `at`.
    pub async fn schedule_final_pass(&self, project_id: u64, at: u64) -> StoreResult<()> {
        let first = ProjectDeletion { project_id, final_pass: false };
        let last = ProjectDeletion { project_id, final_pass: true };
        redis::pipe()
            .atomic()
            .zrem(keys::PROJECTS_DELETING, first.member())
            .zadd(keys::PROJECTS_DELETING, last.member(), at)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// The final pass is done: the project has left no trace.
    pub async fn finish_project_deletion(&self, project_id: u64) -> StoreResult<()> {
        let last = ProjectDeletion { project_id, final_pass: true };
        let _: () = self.conn().zrem(keys::PROJECTS_DELETING, last.member()).await?;
        Ok(())
    }

    /// Removes every Redis key of a deleted project and every reference to it elsewhere:
    /// its members' project lists, its jobs' project index, its share links' secrets, its
    /// deploy tokens, its entries
    /// in the expiry and purge schedules, other projects' job-token allowlists. Idempotent.
    /// Returns how many of its own keys were removed.
    pub async fn purge_project_keys(&self, project_id: u64) -> StoreResult<u64> {
        let names = self.conn().scan_slot(&keys::members(project_id), &keys::project_keys_pattern(project_id)).await?;
        let members: Vec<u64> = self.conn().hkeys(keys::members(project_id)).await?;
        for user_id in members {
            let _: () = self.conn().zrem(keys::user_projects(user_id), project_id).await?;
        }
        let job_prefix = format!("{}job:", keys::project_key_prefix(project_id));
        let job_index: Vec<String> = names
            .iter()
            .filter_map(|n| n.strip_prefix(&job_prefix))
            .filter_map(|id| id.parse::<u64>().ok())
            .map(keys::job_project)
            .collect();
        for chunk in job_index.chunks(500) {
            let _: () = self.conn().del(chunk).await?;
        }
        let share_prefix = format!("{}share:", keys::project_key_prefix(project_id));
        let shares: Vec<String> = names
            .iter()
            .filter(|n| n.strip_prefix(&share_prefix).is_some_and(|id| id.parse::<u64>().is_ok()))
            .cloned()
            .collect();
        for chunk in shares.chunks(500) {
            let records: Vec<crate::model::Share> = self.get_json_many(chunk, "share record").await?;
            for share in records {
                let _: () = self.conn().del(keys::share_by_hash(&share.token_hash)).await?;
            }
        }
        for dt in self.all_deploy_tokens().await?.into_iter().filter(|t| t.project_id == project_id) {
            redis::pipe()
                .atomic()
                .del(keys::token_by_hash(&dt.token_hash))
                .del(keys::deploy_token(dt.id))
                .query_async::<()>(&mut self.conn())
                .await?;
        }
        for schedule in [keys::ARTIFACT_EXPIRY, keys::PACKAGE_PURGES] {
            let mut conn = self.conn();
            let mut iter: redis::AsyncIter<String> = conn.zscan_match(schedule, format!("{project_id}:*")).await?;
            let mut found = Vec::new();
            // ZSCAN yields each member followed by its score.
            let mut is_member = true;
            while let Some(item) = iter.next_item().await {
                let item = item?;
                if is_member {
                    found.push(item);
                }
                is_member = !is_member;
            }
            drop(iter);
            for chunk in found.chunks(500) {
                let _: () = self.conn().zrem(schedule, chunk).await?;
            }
        }
        for other in self.all_project_ids().await? {
            let _: () = self.conn().srem(keys::job_token_allowlist(other), project_id).await?;
        }
        for chunk in names.chunks(500) {
            let _: () = self.conn().unlink(chunk).await?;
        }
        Ok(names.len() as u64)
    }

    /// Deletes a user record and frees the name; false when it was already gone. Every
    /// token of theirs stops at once: authentication reads the user behind a token.
    pub async fn delete_user(&self, user: &User) -> StoreResult<bool> {
        let deleted: i64 = Script::new(DELETE_USER)
            .key(keys::user(user.id))
            .key(keys::user_by_name(&user.username))
            .arg(user.id)
            .invoke_async(&mut self.conn())
            .await?;
        let _: () = self.conn().del(keys::user_projects(user.id)).await?;
        Ok(deleted == 1)
    }

    /// Deletes a personal access token outright (its owner is being deleted): record, hash
    /// index and console sessions.
    pub async fn delete_pat(&self, pat: &PersonalAccessToken) -> StoreResult<()> {
        redis::pipe()
            .atomic()
            .del(keys::token_by_hash(&pat.token_hash))
            .del(keys::pat(pat.id))
            .query_async::<()>(&mut self.conn())
            .await?;
        self.delete_pat_sessions(pat.id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletion_members_round_trip() {
        for final_pass in [false, true] {
            let d = ProjectDeletion { project_id: 42, final_pass };
            assert_eq!(ProjectDeletion::parse(&d.member()), Some(d));
        }
        assert_eq!(ProjectDeletion::parse("x:final"), None);
    }
}
