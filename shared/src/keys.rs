//! The Redis key schema, in one place (documented in docs/ARCHITECTURE.md).
//!
//! Keys carry a hash tag (`{users}`, `{tokens}`, `{projects}`, `{p<id>}`) so that every
//! multi-key operation (MULTI or a Lua script) stays inside one Redis Cluster slot: the
//! global registries are small, and everything of one project lives in that project's slot.

pub const USER_SEQ: &str = "arca:{users}:seq";
pub const TOKEN_SEQ_PAT: &str = "arca:{tokens}:seq:pat";
pub const TOKEN_SEQ_DEPLOY: &str = "arca:{tokens}:seq:deploy";
pub const PROJECT_SEQ: &str = "arca:{projects}:seq";
pub const PROJECTS_ALL: &str = "arca:{projects}:all";
pub const PROJECTS_PUBLIC: &str = "arca:{projects}:public";
/// Deleted projects whose keys and blobs the cleanup worker removes: ZSET `<id>` (the
/// first pass) or `<id>:final` (the pass that catches uploads that were in flight) by due
/// time (ms).
pub const PROJECTS_DELETING: &str = "arca:{projects}:deleting";

/// What every key of one project starts with (they share its hash tag, so one slot).
pub fn project_key_prefix(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:")
}

/// The project a key of [`project_key_prefix`] belongs to.
pub fn project_of(key: &str) -> Option<u64> {
    key.strip_prefix("arca:{p")?.split_once('}')?.0.parse().ok()
}

/// The pattern of every key of one project.
pub fn project_keys_pattern(project_id: u64) -> String {
    format!("{}*", project_key_prefix(project_id))
}
pub const PIPELINE_SEQ: &str = "arca:{ci}:seq:pipeline";
pub const JOB_SEQ: &str = "arca:{ci}:seq:job";

pub fn user(id: u64) -> String {
    format!("arca:{{users}}:u:{id}")
}

pub fn user_by_name(username: &str) -> String {
    format!("arca:{{users}}:by-name:{}", username.to_lowercase())
}

/// The projects a user is a member of (ZSET of project ids).
pub fn user_projects(id: u64) -> String {
    format!("arca:{{users}}:u:{id}:projects")
}

/// Index from a token's SHA-256 to `pat:<id>` or `deploy:<id>`.
pub fn token_by_hash(hash_hex: &str) -> String {
    format!("arca:{{tokens}}:h:{hash_hex}")
}

/// Share link ids.
pub const SHARE_SEQ: &str = "arca:{tokens}:seq:share";

/// A share link's secret (SHA-256) -> `<project id>:<share id>`; expires with the link.
pub fn share_by_hash(hash_hex: &str) -> String {
    format!("arca:{{tokens}}:share:{hash_hex}")
}

/// A share link's record; expires with the link.
pub fn share(project_id: u64, share_id: u64) -> String {
    format!("arca:{{p{project_id}}}:share:{share_id}")
}

/// A version's share links: ZSET share id by creation time.
pub fn package_shares(project_id: u64, package_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pkg:{package_id}:shares")
}

/// A web-console session by the SHA-256 of its id: JSON of what it stands for, with a TTL.
pub fn session(id_hash: &str) -> String {
    format!("arca:{{tokens}}:session:{id_hash}")
}

/// The sessions opened with one personal access token: SET of session id hashes.
pub fn pat_sessions(pat_id: u64) -> String {
    format!("arca:{{tokens}}:pat:{pat_id}:sessions")
}

pub fn pat(id: u64) -> String {
    format!("arca:{{tokens}}:pat:{id}")
}

pub fn deploy_token(id: u64) -> String {
    format!("arca:{{tokens}}:dt:{id}")
}

pub fn project(id: u64) -> String {
    format!("arca:{{projects}}:p:{id}")
}

pub fn project_by_path(full_path: &str) -> String {
    format!("arca:{{projects}}:by-path:{}", full_path.to_lowercase())
}

/// HASH user id -> access level.
pub fn members(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:members")
}

/// The projects whose job tokens may read this one (GitLab's inbound job-token allowlist):
/// SET of project ids.
pub fn job_token_allowlist(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:job-token-allowlist")
}

pub fn pipeline(project_id: u64, id: u64) -> String {
    format!("arca:{{p{project_id}}}:pipeline:{id}")
}

pub fn job(project_id: u64, id: u64) -> String {
    format!("arca:{{p{project_id}}}:job:{id}")
}

/// Job id -> project id, for routes that name only the job (`POST /jobs/:id/artifacts`).
pub fn job_project(id: u64) -> String {
    format!("arca:{{ci}}:job-project:{id}")
}

pub const PACKAGE_SEQ: &str = "arca:{pkgs}:seq:package";
pub const PACKAGE_FILE_SEQ: &str = "arca:{pkgs}:seq:file";

/// HASH of one package version: its fields, counters, `f:<file name>` -> the id of the
/// newest file of that name (so a download is one HMGET) and `i:<file id>` per file.
pub fn package_version(project_id: u64, name: &str, version: &str) -> String {
    format!("arca:{{p{project_id}}}:pv:{name}/{version}")
}

/// ZSET of the version's file ids, score = id: the second layout's (folded into the
/// version hash's `i:<file id>` fields by the layout migration; still read until then).
pub fn package_version_files(project_id: u64, name: &str, version: &str) -> String {
    format!("arca:{{p{project_id}}}:pv:{name}/{version}:files")
}

/// HASH package id -> `<name>/<version>` (or [`BINNED`]) of every version of the project.
pub fn package_refs(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pkg-refs")
}

/// Package id -> `<name>/<version>`: the second layout's one key per version (moved into
/// [`package_refs`] by the layout migration; still read until then).
pub fn package_ref(project_id: u64, package_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pkg:{package_id}")
}

pub fn package_file(project_id: u64, file_id: u64) -> String {
    format!("arca:{{p{project_id}}}:file:{file_id}")
}

/// Listed (default status) versions: ZSET id by creation time.
pub fn packages_by_created(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pkgs:created")
}

/// Listed versions in lexical order: ZSET of `name\0version\0id`, all scores 0.
pub fn packages_by_name(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pkgs:name")
}

/// Listed versions in lexical order of version: ZSET of `version\0name\0id`.
pub fn packages_by_version(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pkgs:version")
}

pub fn package_settings(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:package-settings")
}

/// LIST of S3 keys whose metadata is gone, for the cleanup worker to delete.
pub const BLOB_DELETE_QUEUE: &str = "arca:{cleanup}:blob-deletes";
/// Blob deletes a worker has taken: ZSET S3 key by the time its lease ends (ms); back in
/// the queue if the worker dies before deleting them.
pub const BLOB_DELETES_CLAIMED: &str = "arca:{cleanup}:blob-deletes:claimed";

/// HASH of a version's custom metadata (key -> value); moves with the version.
pub fn package_version_metadata(project_id: u64, name: &str, version: &str) -> String {
    format!("arca:{{p{project_id}}}:pv:{name}/{version}:meta")
}

/// A recycled version's hash, files and metadata, renamed out of the way of its name so
/// the name + version can be published again.
pub fn binned_package(project_id: u64, package_id: u64) -> String {
    format!("arca:{{p{project_id}}}:bin:{package_id}")
}

pub fn binned_package_files(project_id: u64, package_id: u64) -> String {
    format!("arca:{{p{project_id}}}:bin:{package_id}:files")
}

pub fn binned_package_metadata(project_id: u64, package_id: u64) -> String {
    format!("arca:{{p{project_id}}}:bin:{package_id}:meta")
}

/// What [`package_refs`] holds while the version is in the recycle bin.
pub const BINNED: &str = "#bin";

/// The recycle bin: ZSET of package ids by the time they were recycled (ms).
pub fn recycle_bin(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:recycle-bin")
}

/// Audit trail: LIST of event JSON, newest first, capped.
pub fn package_events(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:events")
}

/// Versions to purge for good: ZSET of `<project id>:<package id>` by when they are due.
pub const PACKAGE_PURGES: &str = "arca:{cleanup}:package-purges";

/// A worker's claim on one unit of work; expires so a crashed worker's work is retried.
pub fn lease(work: &str) -> String {
    format!("arca:{{cleanup}}:lease:{work}")
}

/// Top-level pipelines of a ref: ZSET pipeline id by creation time.
pub fn ref_pipelines(project_id: u64, ref_name: &str) -> String {
    format!("arca:{{p{project_id}}}:ref:{ref_name}:pipelines")
}

/// Child pipelines of a pipeline: ZSET id by creation time.
pub fn pipeline_children(project_id: u64, pipeline_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pipeline:{pipeline_id}:children")
}

/// A pipeline's jobs by name: HASH name -> job id; a name is taken once per pipeline.
pub fn pipeline_jobs(project_id: u64, pipeline_id: u64) -> String {
    format!("arca:{{p{project_id}}}:pipeline:{pipeline_id}:jobs")
}

/// Refs that have pipelines: SET.
pub fn project_refs(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:refs")
}

/// A job's artifacts record.
pub fn artifact(project_id: u64, job_id: u64) -> String {
    format!("arca:{{p{project_id}}}:artifact:{job_id}")
}

/// A job's reports (every artifact but its archive): HASH type -> record.
pub fn job_reports(project_id: u64, job_id: u64) -> String {
    format!("arca:{{p{project_id}}}:artifact:{job_id}:reports")
}

/// Jobs of a project that have artifacts: ZSET job id.
pub fn project_artifacts(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:artifacts")
}

/// When artifacts expire: ZSET by expiry time (ms) of `<project id>:<job id>` (an archive)
/// or `<project id>:<job id>:<type>` (a report).
pub const ARTIFACT_EXPIRY: &str = "arca:{cleanup}:artifact-expiry";

/// Multipart uploads in flight: ZSET `<s3 key>\n<upload id>` by start time (ms).
pub const MULTIPART_UPLOADS: &str = "arca:{cleanup}:multipart-uploads";

/// When a periodic cleanup job last ran.
pub fn last_run(job: &str) -> String {
    format!("arca:{{cleanup}}:last-run:{job}")
}

/// Hook ids.
pub const HOOK_SEQ: &str = "arca:{webhooks}:seq";

/// A project's hooks: HASH hook id -> record (deleted with the project's keys).
pub fn hooks(project_id: u64) -> String {
    format!("arca:{{p{project_id}}}:hooks")
}

/// One hook's delivery log: LIST of attempt JSON, newest first, capped.
pub fn hook_deliveries(project_id: u64, hook_id: u64) -> String {
    format!("arca:{{p{project_id}}}:hook:{hook_id}:deliveries")
}

/// Deliveries waiting or in flight: ZSET `<project id>:<hook id>:<delivery id>` by when it
/// is next due (ms). A worker that takes one pushes its due time past its lease, so a
/// worker that dies mid-delivery leaves it to another.
pub const WEBHOOK_DUE: &str = "arca:{webhooks}:due";

/// The deliveries themselves: HASH member of [`WEBHOOK_DUE`] -> job JSON (body, attempts).
pub const WEBHOOK_JOBS: &str = "arca:{webhooks}:jobs";
