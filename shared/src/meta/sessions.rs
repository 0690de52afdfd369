//! Web-console sessions: a random id in the browser's cookie, its SHA-256 here with a TTL.
//! A session names the personal access token it was opened with (or the administrator
//! token's hash), so authentication goes through that token and its user every time: a
//! revoked or expired token, or a user whose record is gone, ends the session at once. Each token's sessions are indexed so that
//! revoking the token also deletes them.

use redis::AsyncCommands;
use serde::{Deserialize, Serialize};

use super::error::StoreResult;
use super::{Meta, to_json};
use crate::keys;

/// What a session stands for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionOf {
    /// A personal access token, by id.
    Pat { id: u64 },
    /// The bootstrap administrator; the hash of the token signed in with, so a rotated
    /// `ARCA_ADMIN_TOKEN` ends the session.
    Admin { token_hash: String },
}

impl Meta {
    pub async fn create_session(&self, id_hash: &str, of: &SessionOf, ttl_secs: u64) -> StoreResult<()> {
        let mut pipe = redis::pipe();
        pipe.atomic().set_ex(keys::session(id_hash), to_json(of)?, ttl_secs);
        if let SessionOf::Pat { id } = of {
            pipe.sadd(keys::pat_sessions(*id), id_hash).expire(keys::pat_sessions(*id), ttl_secs as i64);
        }
        pipe.query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> StoreResult<Option<SessionOf>> {
        self.get_json(&keys::session(id_hash)).await
    }

    pub async fn delete_session(&self, id_hash: &str) -> StoreResult<()> {
        if let Some(SessionOf::Pat { id }) = self.session(id_hash).await? {
            let _: () = self.conn().srem(keys::pat_sessions(id), id_hash).await?;
        }
        let _: () = self.conn().del(keys::session(id_hash)).await?;
        Ok(())
    }

    /// Ends every session opened with personal access token `pat_id`.
    pub async fn delete_pat_sessions(&self, pat_id: u64) -> StoreResult<()> {
        let hashes: Vec<String> = self.conn().smembers(keys::pat_sessions(pat_id)).await?;
        let mut pipe = redis::pipe();
        pipe.atomic();
        for h in &hashes {
            pipe.del(keys::session(h));
        }
        pipe.del(keys::pat_sessions(pat_id));
        pipe.query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }
}
