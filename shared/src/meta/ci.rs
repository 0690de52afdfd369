//! The CI model the job-artifact routes need: pipelines, jobs, and the artifacts of jobs.
//!
//! Top-level pipelines are indexed per ref by creation time, child pipelines per parent,
//! and each pipeline's jobs by name, so "the job `build` of the latest successful pipeline
//! for `main`" is a few reads, with a parent searched before its children.

use redis::{AsyncCommands, Script};

use super::error::{StoreError, StoreResult};
use super::{Meta, to_json};
use crate::artifact_type::ARCHIVE;
use crate::keys;
use crate::model::{Artifact, CiStatus, Job, Pipeline};

/// What became of a new job.
#[derive(Debug, PartialEq, Eq)]
pub enum NewJob {
    Created,
    /// The pipeline has finished: jobs join running pipelines only.
    PipelineNotRunning,
    /// The pipeline already has a job of that name.
    NameTaken,
}

/// KEYS: pipeline, its jobs by name, the new job. ARGV: name, job id, job JSON.
const CREATE_JOB: &str = r"
local pipeline = redis.call('GET', KEYS[1])
if not pipeline or cjson.decode(pipeline).status ~= 'running' then
  return -1
end
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 0 then
  return -2
end
redis.call('SET', KEYS[3], ARGV[3])
return 1
";

/// How far back the by-ref lookup looks for a successful pipeline.
const REF_LOOKBACK: isize = 200;

impl Meta {
    pub async fn next_pipeline_id(&self) -> StoreResult<u64> {
        self.next_id(keys::PIPELINE_SEQ).await
    }

    pub async fn next_job_id(&self) -> StoreResult<u64> {
        self.next_id(keys::JOB_SEQ).await
    }

    /// Stores a new pipeline and indexes it under its ref or its parent.
    pub async fn create_pipeline(&self, p: &Pipeline) -> StoreResult<()> {
        let pid = p.project_id;
        let mut pipe = redis::pipe();
        pipe.atomic().set(keys::pipeline(pid, p.id), to_json(p)?).sadd(keys::project_refs(pid), &p.ref_name);
        match p.parent_pipeline_id {
            None => pipe.zadd(keys::ref_pipelines(pid, &p.ref_name), p.id, p.created_at),
            Some(parent) => pipe.zadd(keys::pipeline_children(pid, parent), p.id, p.created_at),
        };
        pipe.query_async::<()>(&mut self.conn()).await?;
        Ok(())
    }

    pub async fn save_pipeline(&self, p: &Pipeline) -> StoreResult<()> {
        let _: () = self.conn().set(keys::pipeline(p.project_id, p.id), to_json(p)?).await?;
        Ok(())
    }

    pub async fn pipeline(&self, project_id: u64, id: u64) -> StoreResult<Option<Pipeline>> {
        self.get_json(&keys::pipeline(project_id, id)).await
    }

    /// Stores a new job as its pipeline's job of that name, if the pipeline still runs and
    /// has no job of that name yet: decided in one script, so neither a pipeline finishing
    /// meanwhile nor a concurrent job of the same name slips past.
    pub async fn create_job(&self, job: &Job) -> StoreResult<NewJob> {
        let created: i64 = Script::new(CREATE_JOB)
            .key(keys::pipeline(job.project_id, job.pipeline_id))
            .key(keys::pipeline_jobs(job.project_id, job.pipeline_id))
            .key(keys::job(job.project_id, job.id))
            .arg(&job.name)
            .arg(job.id)
            .arg(to_json(job)?)
            .invoke_async(&mut self.conn())
            .await?;
        match created {
            1 => {}
            -2 => return Ok(NewJob::NameTaken),
            _ => return Ok(NewJob::PipelineNotRunning),
        }
        let _: () = self.conn().set(keys::job_project(job.id), job.project_id).await?;
        Ok(NewJob::Created)
    }

    pub async fn save_job(&self, job: &Job) -> StoreResult<()> {
        let _: () = self.conn().set(keys::job(job.project_id, job.id), to_json(job)?).await?;
        Ok(())
    }

    pub async fn job(&self, project_id: u64, id: u64) -> StoreResult<Option<Job>> {
        self.get_json(&keys::job(project_id, id)).await
    }

    /// The project of a job known only by its id.
    pub async fn job_project(&self, job_id: u64) -> StoreResult<Option<u64>> {
        Ok(self.conn().get(keys::job_project(job_id)).await?)
    }

    /// The latest successful top-level pipeline of a ref.
    pub async fn latest_successful_pipeline(&self, project_id: u64, ref_name: &str) -> StoreResult<Option<Pipeline>> {
        let ids: Vec<u64> =
            self.conn().zrevrange(keys::ref_pipelines(project_id, ref_name), 0, REF_LOOKBACK - 1).await?;
        if ids.is_empty() {
            return Ok(None);
        }
        let keys: Vec<String> = ids.iter().map(|id| keys::pipeline(project_id, *id)).collect();
        let raw: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query_async(&mut self.conn()).await?;
        for r in raw.into_iter().flatten() {
            let p: Pipeline = serde_json::from_str(&r).map_err(|e| StoreError::corrupt("pipeline record", e))?;
            if p.status == CiStatus::Success {
                return Ok(Some(p));
            }
        }
        Ok(None)
    }

    /// The successful top-level pipelines of a ref, newest first (within the lookback),
    /// each followed by its child pipelines in creation order: the order the by-ref rule
    /// searches in.
    async fn successful_pipeline_walk(&self, project_id: u64, ref_name: &str) -> StoreResult<Vec<u64>> {
        let ids: Vec<u64> =
            self.conn().zrevrange(keys::ref_pipelines(project_id, ref_name), 0, REF_LOOKBACK - 1).await?;
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let successful: Vec<u64> = self
            .pipelines(project_id, &ids)
            .await?
            .into_iter()
            .filter(|p| p.status == CiStatus::Success)
            .map(|p| p.id)
            .collect();
        if successful.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in &successful {
            pipe.zrange(keys::pipeline_children(project_id, *id), 0, -1);
        }
        let children: Vec<Vec<u64>> = pipe.query_async(&mut self.conn()).await?;
        Ok(successful.into_iter().zip(children).flat_map(|(p, c)| std::iter::once(p).chain(c)).collect())
    }

    /// What `.../jobs/artifacts/:ref_name/...?job=` serves: the ref's successful pipelines
    /// are walked newest first, each parent before its children, and the first successful
    /// job of that name whose archive has not expired wins (GitLab stops at the latest
    /// successful pipeline; arca goes on to older ones). A few round trips whatever the
    /// depth: the walk's pipelines, their jobs of that name, those jobs and archives.
    pub async fn job_by_ref(
        &self,
        project_id: u64,
        ref_name: &str,
        name: &str,
        now: u64,
    ) -> StoreResult<Option<(Job, Artifact)>> {
        let walk = self.successful_pipeline_walk(project_id, ref_name).await?;
        if walk.is_empty() {
            return Ok(None);
        }
        let mut pipe = redis::pipe();
        for p in &walk {
            pipe.hget(keys::pipeline_jobs(project_id, *p), name);
        }
        let found: Vec<Option<u64>> = pipe.query_async(&mut self.conn()).await?;
        let job_ids: Vec<u64> = found.into_iter().flatten().collect();
        Ok(self.live_archives(project_id, &job_ids, now).await?.into_iter().next())
    }

    /// Of the given jobs, in their order, the successful ones with an unexpired archive.
    async fn live_archives(&self, project_id: u64, job_ids: &[u64], now: u64) -> StoreResult<Vec<(Job, Artifact)>> {
        if job_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in job_ids {
            pipe.get(keys::job(project_id, *id)).get(keys::artifact(project_id, *id));
        }
        let raw: Vec<Option<String>> = pipe.query_async(&mut self.conn()).await?;
        let mut out = Vec::new();
        for pair in raw.chunks(2) {
            let (Some(job), Some(artifact)) = (&pair[0], &pair[1]) else { continue };
            let job: Job = serde_json::from_str(job).map_err(|e| StoreError::corrupt("job record", e))?;
            let artifact: Artifact =
                serde_json::from_str(artifact).map_err(|e| StoreError::corrupt("artifact record", e))?;
            if job.status == CiStatus::Success && !artifact.expired(now) {
                out.push((job, artifact));
            }
        }
        Ok(out)
    }

    /// Every job whose archive the by-ref rule serves now, over all refs and job names: what
    /// a project-wide artifact deletion spares.
    pub async fn jobs_served_by_ref(&self, project_id: u64, now: u64) -> StoreResult<Vec<u64>> {
        let refs: Vec<String> = self.conn().smembers(keys::project_refs(project_id)).await?;
        let mut served = Vec::new();
        for r in refs {
            let walk = self.successful_pipeline_walk(project_id, &r).await?;
            if walk.is_empty() {
                continue;
            }
            let mut pipe = redis::pipe();
            for p in &walk {
                pipe.hgetall(keys::pipeline_jobs(project_id, *p));
            }
            let by_pipeline: Vec<Vec<(String, u64)>> = pipe.query_async(&mut self.conn()).await?;
            // Each name's candidates, in walk order; the first live one is served.
            let mut candidates: std::collections::BTreeMap<String, Vec<u64>> = Default::default();
            for jobs in by_pipeline {
                for (name, id) in jobs {
                    candidates.entry(name).or_default().push(id);
                }
            }
            for ids in candidates.values() {
                if let Some((job, _)) = self.live_archives(project_id, ids, now).await?.into_iter().next() {
                    served.push(job.id);
                }
            }
        }
        Ok(served)
    }

    /// Every pipeline of the project, child pipelines included, newest first (ids are
    /// handed out in creation order). Walks the project's refs: O(pipelines), which is what
    /// a listing costs here until pipelines get a project-wide index.
    pub async fn project_pipeline_ids(&self, project_id: u64) -> StoreResult<Vec<u64>> {
        let refs: Vec<String> = self.conn().smembers(keys::project_refs(project_id)).await?;
        let mut ids = Vec::new();
        for r in refs {
            let top: Vec<u64> = self.conn().zrange(keys::ref_pipelines(project_id, &r), 0, -1).await?;
            ids.extend(top);
        }
        let mut at = 0;
        while at < ids.len() {
            let children: Vec<u64> = self.conn().zrange(keys::pipeline_children(project_id, ids[at]), 0, -1).await?;
            ids.extend(children);
            at += 1;
        }
        ids.sort_unstable_by(|a, b| b.cmp(a));
        ids.dedup();
        Ok(ids)
    }

    /// Pipelines by id, in the order given; ids without a record are left out.
    pub async fn pipelines(&self, project_id: u64, ids: &[u64]) -> StoreResult<Vec<Pipeline>> {
        let keys: Vec<String> = ids.iter().map(|id| keys::pipeline(project_id, *id)).collect();
        self.get_json_many(&keys, "pipeline record").await
    }

    /// The jobs of a pipeline, in creation order.
    pub async fn pipeline_jobs(&self, project_id: u64, pipeline_id: u64) -> StoreResult<Vec<Job>> {
        let mut ids: Vec<u64> = self.conn().hvals(keys::pipeline_jobs(project_id, pipeline_id)).await?;
        ids.sort_unstable();
        self.jobs(project_id, &ids).await
    }

    /// Jobs by id, in the order given; ids without a record are left out.
    pub async fn jobs(&self, project_id: u64, ids: &[u64]) -> StoreResult<Vec<Job>> {
        let keys: Vec<String> = ids.iter().map(|id| keys::job(project_id, *id)).collect();
        self.get_json_many(&keys, "job record").await
    }

    /// The jobs of the latest successful pipeline (and its children) of every ref: their
    /// artifacts are kept whatever their expiry, as GitLab keeps the latest artifacts.
    pub async fn latest_artifact_jobs(&self, project_id: u64) -> StoreResult<Vec<u64>> {
        let refs: Vec<String> = self.conn().smembers(keys::project_refs(project_id)).await?;
        let mut jobs = Vec::new();
        for r in refs {
            let Some(pipeline) = self.latest_successful_pipeline(project_id, &r).await? else { continue };
            let mut pipelines = vec![pipeline.id];
            let children: Vec<u64> =
                self.conn().zrange(keys::pipeline_children(project_id, pipeline.id), 0, -1).await?;
            pipelines.extend(children);
            for p in pipelines {
                let ids: Vec<u64> = self.conn().hvals(keys::pipeline_jobs(project_id, p)).await?;
                jobs.extend(ids);
            }
        }
        Ok(jobs)
    }

    /// A job's archive.
    pub async fn artifact(&self, project_id: u64, job_id: u64) -> StoreResult<Option<Artifact>> {
        self.get_json(&keys::artifact(project_id, job_id)).await
    }

    /// One artifact of a job, by type.
    pub async fn job_artifact(&self, project_id: u64, job_id: u64, file_type: &str) -> StoreResult<Option<Artifact>> {
        if file_type == ARCHIVE {
            return self.artifact(project_id, job_id).await;
        }
        let raw: Option<String> = self.conn().hget(keys::job_reports(project_id, job_id), file_type).await?;
        raw.map(|r| serde_json::from_str(&r).map_err(|e| StoreError::corrupt("artifact record", e))).transpose()
    }

    /// Every artifact of a job, live or expired: its archive first, then its reports in
    /// the order they came. One round trip.
    pub async fn job_artifacts(&self, project_id: u64, job_id: u64) -> StoreResult<Vec<Artifact>> {
        let (archive, reports): (Option<String>, Vec<String>) = redis::pipe()
            .get(keys::artifact(project_id, job_id))
            .hvals(keys::job_reports(project_id, job_id))
            .query_async(&mut self.conn())
            .await?;
        let mut all = Vec::with_capacity(reports.len() + 1);
        for raw in archive.into_iter().chain(reports) {
            all.push(serde_json::from_str::<Artifact>(&raw).map_err(|e| StoreError::corrupt("artifact record", e))?);
        }
        let reports_from = usize::from(all.first().is_some_and(Artifact::is_archive));
        all[reports_from..].sort_by(|a, b| (a.created_at, &a.file_type).cmp(&(b.created_at, &b.file_type)));
        Ok(all)
    }

    /// Stores one artifact of a job (replacing the job's earlier one of that type) and
    /// schedules its expiry. Returns the replaced record, whose blobs the caller hands to
    /// deletion.
    pub async fn save_artifact(&self, a: &Artifact) -> StoreResult<Option<Artifact>> {
        let previous = self.job_artifact(a.project_id, a.job_id, &a.file_type).await?;
        let member = expiry_member(a.project_id, a.job_id, &a.file_type);
        let mut pipe = redis::pipe();
        pipe.atomic();
        if a.is_archive() {
            pipe.set(keys::artifact(a.project_id, a.job_id), to_json(a)?);
        } else {
            pipe.hset(keys::job_reports(a.project_id, a.job_id), &a.file_type, to_json(a)?);
        }
        pipe.zadd(keys::project_artifacts(a.project_id), a.job_id, a.job_id)
            .query_async::<()>(&mut self.conn())
            .await?;
        match a.expire_at {
            Some(t) => {
                let _: () = self.conn().zadd(keys::ARTIFACT_EXPIRY, &member, t).await?;
            }
            None => {
                let _: () = self.conn().zrem(keys::ARTIFACT_EXPIRY, &member).await?;
            }
        }
        Ok(previous)
    }

    /// Stores a new artifact unless the job already has a live one of its type: decided in
    /// one script, so of two concurrent uploads of a type exactly one is kept. An expired
    /// one (not yet swept) is replaced, and returned for the caller to delete its blobs.
    pub async fn add_artifact(&self, a: &Artifact) -> StoreResult<Added> {
        let (added, previous): (i64, Option<String>) = Script::new(ADD_ARTIFACT)
            .key(keys::artifact(a.project_id, a.job_id))
            .key(keys::job_reports(a.project_id, a.job_id))
            .key(keys::project_artifacts(a.project_id))
            .arg(&a.file_type)
            .arg(to_json(a)?)
            .arg(a.job_id)
            .arg(crate::time::now_ms())
            .invoke_async(&mut self.conn())
            .await?;
        if added == 0 {
            return Ok(Added::Exists);
        }
        if let Some(t) = a.expire_at {
            let member = expiry_member(a.project_id, a.job_id, &a.file_type);
            let _: () = self.conn().zadd(keys::ARTIFACT_EXPIRY, &member, t).await?;
        }
        let previous = previous
            .map(|r| serde_json::from_str(&r).map_err(|e| StoreError::corrupt("artifact record", e)))
            .transpose()?;
        Ok(Added::Stored { expired: previous })
    }

    /// Removes one artifact record of a job (the caller deletes or queues its blobs); the
    /// job leaves the project's index with its last artifact.
    pub async fn delete_artifact(&self, project_id: u64, job_id: u64, file_type: &str) -> StoreResult<()> {
        let _: () = Script::new(DELETE_ARTIFACT)
            .key(keys::artifact(project_id, job_id))
            .key(keys::job_reports(project_id, job_id))
            .key(keys::project_artifacts(project_id))
            .arg(file_type)
            .arg(job_id)
            .invoke_async(&mut self.conn())
            .await?;
        let _: () = self.conn().zrem(keys::ARTIFACT_EXPIRY, expiry_member(project_id, job_id, file_type)).await?;
        Ok(())
    }

    /// Jobs of the project that have artifacts.
    pub async fn project_artifact_jobs(&self, project_id: u64) -> StoreResult<Vec<u64>> {
        Ok(self.conn().zrange(keys::project_artifacts(project_id), 0, -1).await?)
    }

    /// Artifacts whose expiry is due.
    pub async fn due_artifacts(&self, now: u64, limit: usize) -> StoreResult<Vec<ArtifactRef>> {
        let members: Vec<String> =
            self.conn().zrangebyscore_limit(keys::ARTIFACT_EXPIRY, 0, now, 0, limit as isize).await?;
        Ok(members.iter().filter_map(|m| ArtifactRef::parse(m)).collect())
    }

    /// Looks at a spared artifact again later.
    pub async fn postpone_expiry(&self, at: &ArtifactRef, when: u64) -> StoreResult<()> {
        let member = expiry_member(at.project_id, at.job_id, &at.file_type);
        let _: () = self.conn().zadd(keys::ARTIFACT_EXPIRY, member, when).await?;
        Ok(())
    }
}

/// KEYS: the job's archive, its reports, the project's artifact index. ARGV: type, record,
/// job id, now (ms). Returns {1, the expired record replaced or nil}, or {0, nil} when a live
/// artifact of the type exists.
const ADD_ARTIFACT: &str = r"
local existing
if ARGV[1] == 'archive' then
  existing = redis.call('GET', KEYS[1])
else
  existing = redis.call('HGET', KEYS[2], ARGV[1])
end
if existing then
  local expire_at = cjson.decode(existing).expire_at
  if type(expire_at) ~= 'number' or expire_at > tonumber(ARGV[4]) then
    return {0, false}
  end
end
if ARGV[1] == 'archive' then
  redis.call('SET', KEYS[1], ARGV[2])
else
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[3])
return {1, existing}
";

/// What became of a new artifact.
#[derive(Debug)]
pub enum Added {
    Stored {
        expired: Option<Artifact>,
    },
    /// The job already has a live artifact of that type.
    Exists,
}

/// KEYS: the job's archive, its reports, the project's artifact index. ARGV: type, job id.
const DELETE_ARTIFACT: &str = r"
if ARGV[1] == 'archive' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HDEL', KEYS[2], ARGV[1])
end
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('ZREM', KEYS[3], ARGV[2])
end
return 1
";

/// One artifact, as the expiry schedule names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactRef {
    pub project_id: u64,
    pub job_id: u64,
    pub file_type: String,
}

impl ArtifactRef {
    fn parse(member: &str) -> Option<Self> {
        let mut parts = member.splitn(3, ':');
        let project_id = parts.next()?.parse().ok()?;
        let job_id = parts.next()?.parse().ok()?;
        let file_type = parts.next().unwrap_or(ARCHIVE).to_owned();
        Some(Self { project_id, job_id, file_type })
    }
}

/// The expiry schedule's member for an artifact: archives keep the form they had before
/// reports existed.
fn expiry_member(project_id: u64, job_id: u64, file_type: &str) -> String {
    if file_type == ARCHIVE { format!("{project_id}:{job_id}") } else { format!("{project_id}:{job_id}:{file_type}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_members_name_archives_as_before() {
        assert_eq!(expiry_member(3, 7, "archive"), "3:7");
        assert_eq!(expiry_member(3, 7, "junit"), "3:7:junit");
        for t in ["archive", "junit"] {
            let parsed = ArtifactRef::parse(&expiry_member(3, 7, t)).expect("parses");
            assert_eq!(parsed, ArtifactRef { project_id: 3, job_id: 7, file_type: t.to_owned() });
        }
        assert_eq!(ArtifactRef::parse("x:7"), None);
    }
}
