//! Authentication and authorization (who may do what: docs/SECURITY.md).
//!
//! A request carries at most one token, in any of GitLab's transports. The token is
//! classified by shape and lookup: the bootstrap admin token, a job token (an HS256 JWT),
//! or a personal access / deploy token found by its SHA-256 in Redis. Tokens are only ever
//! stored hashed and compared in constant time; none is ever logged.

mod jwt;
mod session;
mod transport;

pub use jwt::{JobClaims, JwtKeys};
pub use session::{CSRF_COOKIE, SESSION_COOKIE, cookie, session_id};
pub use transport::extract_token;

use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::authcache::AuthCache;
use crate::error::{ApiError, ApiResult};
use crate::meta::sessions::SessionOf;
use crate::meta::{Meta, TokenRef};
use crate::model::{CiStatus, DeployToken, Job, Project, User, Visibility, access};
use crate::policy::{self, Action, Standing};
use crate::time::now_ms;

/// Personal-access-token scopes arca knows.
pub const PAT_SCOPES: [&str; 2] = ["api", "read_api"];

/// Deploy-token scopes (GitLab's names).
pub const DEPLOY_SCOPES: [&str; 2] = ["read_package_registry", "write_package_registry"];

pub fn check_scopes(scopes: &[String], allowed: &[&str]) -> ApiResult<()> {
    if scopes.is_empty() || scopes.iter().any(|s| !allowed.contains(&s.as_str())) {
        return Err(ApiError::invalid("scopes"));
    }
    Ok(())
}

pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn hashes_equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A fresh secret: `prefix` + 32 random alphanumerics (about 190 bits).
pub fn new_token(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let body: String = (0..32).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}{body}")
}

/// Who did something, for audit events and webhooks.
#[derive(Clone, Debug, Serialize)]
pub struct Actor {
    pub kind: &'static str,
    pub id: Option<u64>,
    pub username: String,
}

impl Actor {
    /// arca itself, acting on a rule (`retention`, `cleanup`) rather than on a request.
    pub fn system(name: &str) -> Self {
        Self { kind: "system", id: None, username: name.to_owned() }
    }
}

/// Who is calling.
#[derive(Clone, Debug)]
pub enum Principal {
    Anonymous,
    /// The bootstrap administrator (`ARCA_ADMIN_TOKEN`).
    Admin,
    /// A user through a personal access token (`token_id`); `read_only` for a `read_api`
    /// token.
    User {
        user: User,
        read_only: bool,
        token_id: u64,
    },
    Deploy(DeployToken),
    Job(Job),
}

impl Principal {
    /// The name recorded as `pushed_by` and in audit trails.
    pub fn username(&self) -> String {
        match self {
            Self::Anonymous => "anonymous".into(),
            Self::Admin => "root".into(),
            Self::User { user, .. } => user.username.clone(),
            Self::Deploy(dt) => dt.username.clone(),
            Self::Job(job) => job.user.clone(),
        }
    }

    /// Who did something, as the audit trail records it: the kind of principal, its id
    /// (user, deploy token or job) and its display name. A display name alone could be
    /// anyone's; the kind and id cannot.
    pub fn actor(&self) -> Actor {
        let (kind, id) = match self {
            Self::Anonymous => ("anonymous", None),
            Self::Admin => ("admin", Some(0)),
            Self::User { user, .. } => ("user", Some(user.id)),
            Self::Deploy(dt) => ("deploy_token", Some(dt.id)),
            Self::Job(job) => ("job", Some(job.id)),
        };
        Actor { kind, id, username: self.username() }
    }

    pub fn user_id(&self) -> Option<u64> {
        match self {
            Self::User { user, .. } => Some(user.id),
            _ => None,
        }
    }

    /// Instance administration (users, tokens of other users).
    pub fn require_admin(&self) -> ApiResult<()> {
        match self {
            Self::Admin => Ok(()),
            Self::User { user, read_only: false, .. } if user.admin => Ok(()),
            Self::Anonymous => Err(ApiError::Unauthorized),
            _ => Err(ApiError::Forbidden),
        }
    }

    /// A call that changes something and is not about one project (creating a project).
    pub fn require_api_user(&self) -> ApiResult<()> {
        match self {
            Self::Admin | Self::User { read_only: false, .. } => Ok(()),
            Self::Anonymous => Err(ApiError::Unauthorized),
            _ => Err(ApiError::Forbidden),
        }
    }
}

pub struct Authenticator {
    admin_hash: String,
    pub jwt: JwtKeys,
    meta: Meta,
    /// What the look-ups below said less than `ARCA_AUTH_CACHE_TTL` ago (off when zero).
    cache: AuthCache,
}

impl Authenticator {
    pub fn new(admin_token: &str, jwt_secret: &str, meta: Meta, cache_ttl: std::time::Duration) -> Self {
        Self {
            admin_hash: hash_token(admin_token),
            jwt: JwtKeys::new(jwt_secret),
            meta,
            cache: AuthCache::new(cache_ttl),
        }
    }

    pub async fn authenticate(&self, token: Option<&str>) -> ApiResult<Principal> {
        let Some(token) = token else {
            return Ok(Principal::Anonymous);
        };
        let hash = hash_token(token);
        if hashes_equal(&hash, &self.admin_hash) {
            return Ok(Principal::Admin);
        }
        self.cache.principals.get_or(hash.clone(), self.look_up(token, &hash)).await
    }

    /// Who a token (not the administrator's) is, from Redis.
    async fn look_up(&self, token: &str, hash: &str) -> ApiResult<Principal> {
        if token.split('.').count() == 3 {
            return self.job_principal(token).await;
        }
        match self.meta.token_ref(hash).await? {
            Some(TokenRef::Pat(id)) => self.pat_principal(id, Some(hash)).await,
            Some(TokenRef::Deploy(id)) => {
                let dt = self.meta.deploy_token(id).await?.ok_or(ApiError::Unauthorized)?;
                if !hashes_equal(&dt.token_hash, hash) || dt.revoked || expired(dt.expires_at) {
                    return Err(ApiError::Unauthorized);
                }
                Ok(Principal::Deploy(dt))
            }
            None => Err(ApiError::Unauthorized),
        }
    }

    /// A personal access token's user, while the token is neither revoked nor expired.
    /// `hash`, when the request presented the token itself, must match it.
    async fn pat_principal(&self, id: u64, hash: Option<&str>) -> ApiResult<Principal> {
        let pat = self.meta.pat(id).await?.ok_or(ApiError::Unauthorized)?;
        if hash.is_some_and(|h| !hashes_equal(&pat.token_hash, h)) || pat.revoked || expired(pat.expires_at) {
            return Err(ApiError::Unauthorized);
        }
        let user = self.meta.user(pat.user_id).await?.filter(|u| !u.blocked).ok_or(ApiError::Unauthorized)?;
        let read_only = !pat.scopes.iter().any(|s| s == "api");
        Ok(Principal::User { user, read_only, token_id: id })
    }

    /// Opens a console session for `token` (a personal access token or the administrator's);
    /// returns the principal and the session id for the cookie.
    pub async fn open_session(&self, token: &str, ttl_secs: u64) -> ApiResult<(Principal, String)> {
        let who = self.authenticate(Some(token)).await?;
        let hash = hash_token(token);
        let of = match (&who, self.meta.token_ref(&hash).await?) {
            (Principal::Admin, _) => SessionOf::Admin { token_hash: hash },
            (Principal::User { .. }, Some(TokenRef::Pat(id))) => SessionOf::Pat { id },
            _ => return Err(ApiError::ForbiddenBecause("sign in with a personal access token")),
        };
        let id = new_token("arca-sess-");
        self.meta.create_session(&hash_token(&id), &of, ttl_secs).await?;
        Ok((who, id))
    }

    /// The principal of a console session, decided afresh from the token behind it.
    pub async fn session(&self, id: &str) -> ApiResult<Principal> {
        let hash = hash_token(id);
        self.cache.principals.get_or(format!("s:{hash}"), self.session_look_up(&hash)).await
    }

    async fn session_look_up(&self, hash: &str) -> ApiResult<Principal> {
        match self.meta.session(hash).await? {
            None => Err(ApiError::Unauthorized),
            Some(SessionOf::Admin { token_hash }) if hashes_equal(&token_hash, &self.admin_hash) => {
                Ok(Principal::Admin)
            }
            Some(SessionOf::Admin { .. }) => Err(ApiError::Unauthorized),
            Some(SessionOf::Pat { id }) => self.pat_principal(id, None).await,
        }
    }

    pub async fn close_session(&self, id: &str) -> ApiResult<()> {
        Ok(self.meta.delete_session(&hash_token(id)).await?)
    }

    /// A job token works while its signature, expiry and issuer hold and its job runs.
    async fn job_principal(&self, token: &str) -> ApiResult<Principal> {
        let claims = self.jwt.verify(token)?;
        let job = self.meta.job(claims.project_id, claims.job_id).await?.ok_or(ApiError::Unauthorized)?;
        if job.status != CiStatus::Running || job.pipeline_id != claims.pipeline_id {
            return Err(ApiError::Unauthorized);
        }
        Ok(Principal::Job(job))
    }

    /// A project by numeric id or path.
    pub async fn project(&self, id_or_path: &str) -> ApiResult<Option<Project>> {
        let found = self
            .cache
            .projects
            .get_or(id_or_path.to_owned(), async {
                self.meta.project_by_ref(id_or_path).await?.ok_or(ApiError::ProjectNotFound)
            })
            .await;
        match found {
            Ok(p) => Ok(Some(p)),
            Err(ApiError::ProjectNotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn member_level(&self, project_id: u64, user_id: u64) -> ApiResult<Option<u8>> {
        Ok(self.cache.members.get_or((project_id, user_id), self.meta.member_level(project_id, user_id)).await?)
    }

    async fn allowlisted(&self, project_id: u64, source_id: u64) -> ApiResult<bool> {
        Ok(self
            .cache
            .allowlist
            .get_or((project_id, source_id), self.meta.allowlist_contains(project_id, source_id))
            .await?)
    }

    /// Where `who` stands in `project`: the lookups the permission table needs.
    pub async fn standing(&self, who: &Principal, project: &Project) -> ApiResult<Standing> {
        Ok(match who {
            Principal::Anonymous => Standing::Anonymous,
            Principal::Admin => Standing::Admin { read_only: false },
            Principal::User { user, read_only, .. } if user.admin => Standing::Admin { read_only: *read_only },
            Principal::User { user, read_only, .. } => {
                Standing::User { level: self.member_level(project.id, user.id).await?, read_only: *read_only }
            }
            Principal::Deploy(dt) if dt.project_id == project.id => Standing::Deploy {
                read: dt.scopes.iter().any(|s| s == "read_package_registry"),
                write: dt.scopes.iter().any(|s| s == "write_package_registry"),
            },
            Principal::Job(job) if job.project_id == project.id => Standing::OwnJob { job_id: job.id },
            Principal::Job(job) if self.allowlisted(project.id, job.project_id).await? => Standing::AllowedJob,
            Principal::Deploy(_) | Principal::Job(_) => Standing::Foreign,
        })
    }

    /// May `who` do `action` on `project`? Callers that cannot see a private project get
    /// 404 (401 when anonymous), never 403, so project names do not leak. The decision is
    /// [`policy::permits`]'s; this only gathers what it needs.
    pub async fn authorize(&self, who: &Principal, project: &Project, action: Action) -> ApiResult<()> {
        let standing = self.standing(who, project).await?;
        policy::permits(standing, action, project.visibility == Visibility::Public).map_err(ApiError::from)
    }

    /// `who`'s GitLab access level in `project` (what the console shows and hides buttons
    /// by): 50 for administrators, the member level for users, none for anyone else.
    pub async fn access_level(&self, who: &Principal, project: &Project) -> ApiResult<Option<u8>> {
        Ok(match self.standing(who, project).await? {
            Standing::Admin { read_only } => Some(if read_only { access::REPORTER } else { access::OWNER }),
            Standing::User { level, read_only } => level.map(|l| if read_only { l.min(access::REPORTER) } else { l }),
            _ => None,
        })
    }
}

fn expired(expires_at: Option<u64>) -> bool {
    expires_at.is_some_and(|t| now_ms() >= t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use http::{HeaderMap, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn every_transport_yields_the_token() {
        let basic = base64::engine::general_purpose::STANDARD.encode("anyone:tok");
        let cases = [
            (headers(&[("private-token", "tok")]), None),
            (headers(&[("job-token", "tok")]), None),
            (headers(&[("deploy-token", "tok")]), None),
            (headers(&[("authorization", "Bearer tok")]), None),
            (headers(&[("authorization", &format!("Basic {basic}"))]), None),
            (HeaderMap::new(), Some("private_token=tok")),
            (HeaderMap::new(), Some("a=1&job_token=tok")),
        ];
        for (h, q) in cases {
            assert_eq!(extract_token(&h, q).expect("ok").as_deref(), Some("tok"), "{h:?} {q:?}");
        }
        assert_eq!(extract_token(&HeaderMap::new(), Some("x=1")).expect("ok"), None);
    }

    #[test]
    fn malformed_authorization_is_refused() {
        for v in ["Basic !!!", "Basic dXNlcg==", "Digest abc", "Bearer"] {
            let h = headers(&[("authorization", v)]);
            assert!(matches!(extract_token(&h, None), Err(ApiError::Unauthorized)), "{v}");
        }
    }

    #[test]
    fn generated_tokens_are_distinct_and_prefixed() {
        let a = new_token("arca-pat-");
        let b = new_token("arca-pat-");
        assert!(a.starts_with("arca-pat-") && a.len() == 41);
        assert_ne!(a, b);
        assert_eq!(hash_token(&a).len(), 64);
    }
}
