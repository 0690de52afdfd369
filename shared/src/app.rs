//! The state an API service runs on: configuration, the metadata store, the blob store and
//! the authenticator, built once at start and shared by every request.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::archive::ArchiveCache;
use crate::auth::{Authenticator, Principal, extract_token};
use crate::blobs::{Blobs, MultipartEvent, MultipartHook};
use crate::config::Config;
use crate::db::Redis;
use crate::downloads::DownloadCounts;
use crate::error::{ApiError, ApiResult};
use crate::meta::Meta;
use crate::model::Project;
use crate::policy::Action;

pub struct App {
    pub config: Config,
    pub meta: Meta,
    pub blobs: Blobs,
    pub auth: Authenticator,
    /// Parsed central directories of job-artifact archives.
    pub archives: ArchiveCache,
    /// Served downloads not yet written to Redis.
    pub downloads: Arc<DownloadCounts>,
    /// The page tables of archive indexes (a few KiB each), by index key.
    pub archive_indexes: quick_cache::sync::Cache<String, Arc<Vec<crate::zipindex::Page>>>,
}

/// How many zip entries (over all cached archives) the archive cache keeps: about
/// 150 MB of parsed central directories at most.
const ARCHIVE_CACHE_ENTRIES: usize = 1_000_000;

/// How many archive indexes' page tables are kept.
const ARCHIVE_INDEXES: usize = 1_000;

pub type AppState = Arc<App>;

impl App {
    /// Connects to Redis (waiting for it) and S3 (creating the bucket when absent).
    pub async fn connect(config: Config) -> anyhow::Result<AppState> {
        let redis = Redis::connect(&config.redis).await?;
        let meta = Meta::new(redis);
        let blobs = Blobs::new(&config.s3).await?.with_multipart_hook(multipart_hook(meta.clone()));
        let mut delay = std::time::Duration::from_millis(100);
        loop {
            match blobs.ensure_bucket().await {
                Ok(()) => break,
                Err(crate::blobs::BlobError::Unavailable(e)) => {
                    tracing::warn!(error = %e, "s3 not reachable yet");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(5));
                }
                Err(e) => anyhow::bail!("ARCA_S3_BUCKET: cannot use bucket {:?}: {e}", config.s3.bucket),
            }
        }
        let auth = Authenticator::new(&config.admin_token, &config.jwt_secret, meta.clone(), config.auth_cache_ttl);
        let downloads = DownloadCounts::start(meta.clone());
        Ok(Arc::new(Self {
            config,
            meta,
            blobs,
            auth,
            archives: ArchiveCache::new(ARCHIVE_CACHE_ENTRIES),
            downloads,
            archive_indexes: quick_cache::sync::Cache::new(ARCHIVE_INDEXES),
        }))
    }

    /// Readiness: Redis and S3 both answer.
    pub async fn ready(&self) -> Result<(), String> {
        self.meta.ping().await.map_err(|e| format!("redis: {e}"))?;
        self.blobs.ping().await.map_err(|e| format!("s3: {e}"))?;
        Ok(())
    }

    /// The project named by `:id` (numeric or URL-encoded path), if `who` may do `action`
    /// to it. A project that does not exist answers like one the caller cannot see.
    pub async fn project(&self, who: &Principal, id: &str, action: Action) -> ApiResult<Project> {
        let Some(project) = self.auth.project(id).await? else {
            return Err(match who {
                Principal::Anonymous => ApiError::Unauthorized,
                _ => ApiError::ProjectNotFound,
            });
        };
        self.auth.authorize(who, &project, action).await?;
        Ok(project)
    }
}

/// Records multipart uploads in flight in Redis (see `Meta::track_multipart`). A failure
/// to record is logged; the upload itself goes on.
fn multipart_hook(meta: Meta) -> MultipartHook {
    Arc::new(move |event| {
        let meta = meta.clone();
        Box::pin(async move {
            let res = match &event {
                MultipartEvent::Started { key, upload_id } => {
                    meta.track_multipart(key, upload_id, crate::time::now_ms()).await
                }
                MultipartEvent::Ended { key, upload_id } => meta.untrack_multipart(key, upload_id).await,
            };
            if let Err(e) = res {
                tracing::warn!(error = %e, "multipart upload not tracked");
            }
        })
    })
}

/// The caller, authenticated from whichever token transport the request used.
pub struct Auth(pub Principal);

impl FromRequestParts<AppState> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(token) = extract_token(&parts.headers, parts.uri.query())? {
            return state.auth.authenticate(Some(&token)).await.map(Auth);
        }
        match crate::auth::session_id(&parts.headers, &parts.method)? {
            Some(id) => state.auth.session(&id).await.map(Auth),
            None => Ok(Auth(Principal::Anonymous)),
        }
    }
}
