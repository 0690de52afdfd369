use redis::AsyncCommands;

use super::error::StoreResult;
use super::{Meta, to_json};
use crate::keys;
use crate::model::{DeployToken, PersonalAccessToken};

/// What a token hash points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRef {
    Pat(u64),
    Deploy(u64),
}

impl TokenRef {
    fn encode(self) -> String {
        match self {
            Self::Pat(id) => format!("pat:{id}"),
            Self::Deploy(id) => format!("deploy:{id}"),
        }
    }

    fn decode(raw: &str) -> Option<Self> {
        let (kind, id) = raw.split_once(':')?;
        let id = id.parse().ok()?;
        match kind {
            "pat" => Some(Self::Pat(id)),
            "deploy" => Some(Self::Deploy(id)),
            _ => None,
        }
    }
}

impl Meta {
    pub async fn next_pat_id(&self) -> StoreResult<u64> {
        self.next_id(keys::TOKEN_SEQ_PAT).await
    }

    pub async fn next_deploy_token_id(&self) -> StoreResult<u64> {
        self.next_id(keys::TOKEN_SEQ_DEPLOY).await
    }

    pub async fn save_pat(&self, pat: &PersonalAccessToken) -> StoreResult<()> {
        redis::pipe()
            .atomic()
            .set(keys::token_by_hash(&pat.token_hash), TokenRef::Pat(pat.id).encode())
            .set(keys::pat(pat.id), to_json(pat)?)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub async fn save_deploy_token(&self, dt: &DeployToken) -> StoreResult<()> {
        redis::pipe()
            .atomic()
            .set(keys::token_by_hash(&dt.token_hash), TokenRef::Deploy(dt.id).encode())
            .set(keys::deploy_token(dt.id), to_json(dt)?)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }

    pub async fn token_ref(&self, hash_hex: &str) -> StoreResult<Option<TokenRef>> {
        let raw: Option<String> = self.conn().get(keys::token_by_hash(hash_hex)).await?;
        Ok(raw.as_deref().and_then(TokenRef::decode))
    }

    pub async fn pat(&self, id: u64) -> StoreResult<Option<PersonalAccessToken>> {
        self.get_json(&keys::pat(id)).await
    }

    pub async fn deploy_token(&self, id: u64) -> StoreResult<Option<DeployToken>> {
        self.get_json(&keys::deploy_token(id)).await
    }

    /// Every personal access token, oldest first.
    pub async fn all_pats(&self) -> StoreResult<Vec<PersonalAccessToken>> {
        self.all_by_id(keys::TOKEN_SEQ_PAT, keys::pat, "personal access token record").await
    }

    /// Every deploy token, oldest first.
    pub async fn all_deploy_tokens(&self) -> StoreResult<Vec<DeployToken>> {
        self.all_by_id(keys::TOKEN_SEQ_DEPLOY, keys::deploy_token, "deploy token record").await
    }

    /// Marks the token revoked and drops its hash from the index: either alone would stop
    /// it, both together keep the record for audit and the index clean.
    pub async fn revoke_pat(&self, mut pat: PersonalAccessToken) -> StoreResult<()> {
        pat.revoked = true;
        redis::pipe()
            .atomic()
            .del(keys::token_by_hash(&pat.token_hash))
            .set(keys::pat(pat.id), to_json(&pat)?)
            .query_async::<()>(&mut self.conn())
            .await?;
        self.delete_pat_sessions(pat.id).await
    }

    pub async fn revoke_deploy_token(&self, mut dt: DeployToken) -> StoreResult<()> {
        dt.revoked = true;
        redis::pipe()
            .atomic()
            .del(keys::token_by_hash(&dt.token_hash))
            .set(keys::deploy_token(dt.id), to_json(&dt)?)
            .query_async::<()>(&mut self.conn())
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::TokenRef;

    #[test]
    fn token_refs_round_trip() {
        for r in [TokenRef::Pat(7), TokenRef::Deploy(12)] {
            assert_eq!(TokenRef::decode(&r.encode()), Some(r));
        }
        assert_eq!(TokenRef::decode("job:1"), None);
        assert_eq!(TokenRef::decode("pat:x"), None);
    }
}
