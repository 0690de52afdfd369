//! Share links. The record lives in the project's slot, the secret's hash in the tokens'
//! slot; both carry the link's expiry as a Redis expiry, so an expired link disappears by
//! itself. A version's links are listed in a ZSET, deleted with the version.

use redis::AsyncCommands;

use super::error::{StoreError, StoreResult};
use super::{Meta, to_json};
use crate::keys;
use crate::model::Share;

impl Meta {
    pub async fn next_share_id(&self) -> StoreResult<u64> {
        self.next_id(keys::SHARE_SEQ).await
    }

    /// Stores a new link: its record and the version's list first, then the secret's
    /// index (the link works from then on).
    pub async fn create_share(&self, share: &Share) -> StoreResult<()> {
        let (pid, id) = (share.project_id, share.id);
        redis::pipe()
            .atomic()
            .cmd("SET")
            .arg(keys::share(pid, id))
            .arg(to_json(share)?)
            .arg("PXAT")
            .arg(share.expires_at)
            .ignore()
            .zadd(keys::package_shares(pid, share.package_id), id, share.created_at)
            .ignore()
            .query_async::<()>(&mut self.conn())
            .await?;
        let _: () = redis::cmd("SET")
            .arg(keys::share_by_hash(&share.token_hash))
            .arg(format!("{pid}:{id}"))
            .arg("PXAT")
            .arg(share.expires_at)
            .query_async(&mut self.conn())
            .await?;
        Ok(())
    }

    /// The live link a secret's hash names; `None` when unknown, expired or revoked. The
    /// caller compares the record's hash with its own, in constant time.
    pub async fn share_by_hash(&self, hash_hex: &str) -> StoreResult<Option<Share>> {
        let target: Option<String> = self.conn().get(keys::share_by_hash(hash_hex)).await?;
        let Some((pid, id)) = target.as_deref().and_then(|t| t.split_once(':')) else { return Ok(None) };
        let (Ok(pid), Ok(id)) = (pid.parse::<u64>(), id.parse::<u64>()) else {
            return Err(StoreError::corrupt("share index", "not <project>:<share>"));
        };
        self.share(pid, id).await
    }

    pub async fn share(&self, project_id: u64, share_id: u64) -> StoreResult<Option<Share>> {
        self.get_json(&keys::share(project_id, share_id)).await
    }

    /// A version's live links, oldest first; links that expired leave the list here.
    pub async fn package_shares(&self, project_id: u64, package_id: u64) -> StoreResult<Vec<Share>> {
        let list = keys::package_shares(project_id, package_id);
        let ids: Vec<u64> = self.conn().zrange(&list, 0, -1).await?;
        let keys: Vec<String> = ids.iter().map(|id| keys::share(project_id, *id)).collect();
        let live: Vec<Share> = self.get_json_many(&keys, "share record").await?;
        let gone: Vec<u64> = ids.into_iter().filter(|id| !live.iter().any(|s| s.id == *id)).collect();
        if !gone.is_empty() {
            let _: () = self.conn().zrem(&list, gone).await?;
        }
        Ok(live)
    }

    /// Revokes a link: the secret's index first (it stops working), then the record.
    pub async fn delete_share(&self, share: &Share) -> StoreResult<()> {
        let _: () = self.conn().del(keys::share_by_hash(&share.token_hash)).await?;
        redis::pipe()
            .atomic()
            .del(keys::share(share.project_id, share.id))
            .zrem(keys::package_shares(share.project_id, share.package_id), share.id)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    /// Deletes every link of a version (it is being purged).
    pub async fn delete_package_shares(&self, project_id: u64, package_id: u64) -> StoreResult<()> {
        for share in self.package_shares(project_id, package_id).await? {
            self.delete_share(&share).await?;
        }
        let _: () = self.conn().del(keys::package_shares(project_id, package_id)).await?;
        Ok(())
    }
}
