//! The CI model the job-artifact routes need: pipelines, jobs, and the artifacts of jobs.
//!
//! Top-level pipelines are indexed per ref by creation time, child pipelines per parent,
//! and each pipeline's jobs by name, so "the job `build` of the latest successful pipeline
//! for `main`" is a few reads, with a parent searched before its children.

use redis::{AsyncCommands, Script};

use super::error::{StoreError, StoreResult};
use super::{Meta, to_json};
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

    /// The job named `name` in the latest successful pipeline of `ref_name`: the parent
    /// pipeline first, then its children in creation order.
    pub async fn job_by_ref(&self, project_id: u64, ref_name: &str, name: &str) -> StoreResult<Option<Job>> {
        let Some(pipeline) = self.latest_successful_pipeline(project_id, ref_name).await? else {
            return Ok(None);
        };
        let mut candidates = vec![pipeline.id];
        let children: Vec<u64> = self.conn().zrange(keys::pipeline_children(project_id, pipeline.id), 0, -1).await?;
        candidates.extend(children);
        for pipeline_id in candidates {
            let job_id: Option<u64> = self.conn().hget(keys::pipeline_jobs(project_id, pipeline_id), name).await?;
            if let Some(job_id) = job_id {
                return self.job(project_id, job_id).await;
            }
        }
        Ok(None)
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

    pub async fn artifact(&self, project_id: u64, job_id: u64) -> StoreResult<Option<Artifact>> {
        self.get_json(&keys::artifact(project_id, job_id)).await
    }

    /// Stores a job's artifacts (replacing earlier ones) and schedules their expiry.
    /// Returns the replaced record, whose blob the caller hands to deletion.
    pub async fn save_artifact(&self, a: &Artifact) -> StoreResult<Option<Artifact>> {
        let previous = self.artifact(a.project_id, a.job_id).await?;
        let member = format!("{}:{}", a.project_id, a.job_id);
        redis::pipe()
            .atomic()
            .set(keys::artifact(a.project_id, a.job_id), to_json(a)?)
            .zadd(keys::project_artifacts(a.project_id), a.job_id, a.job_id)
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

    /// Removes a job's artifacts record (the caller deletes or queues the blob).
    pub async fn delete_artifact(&self, project_id: u64, job_id: u64) -> StoreResult<()> {
        redis::pipe()
            .atomic()
            .del(keys::artifact(project_id, job_id))
            .zrem(keys::project_artifacts(project_id), job_id)
            .query_async::<()>(&mut self.conn())
            .await?;
        let _: () = self.conn().zrem(keys::ARTIFACT_EXPIRY, format!("{project_id}:{job_id}")).await?;
        Ok(())
    }

    pub async fn project_artifact_jobs(&self, project_id: u64) -> StoreResult<Vec<u64>> {
        Ok(self.conn().zrange(keys::project_artifacts(project_id), 0, -1).await?)
    }

    /// Artifacts whose expiry is due: `(project id, job id)`.
    pub async fn due_artifacts(&self, now: u64, limit: usize) -> StoreResult<Vec<(u64, u64)>> {
        let members: Vec<String> =
            self.conn().zrangebyscore_limit(keys::ARTIFACT_EXPIRY, 0, now, 0, limit as isize).await?;
        Ok(members
            .iter()
            .filter_map(|m| m.split_once(':').and_then(|(p, j)| Some((p.parse().ok()?, j.parse().ok()?))))
            .collect())
    }

    /// Looks at a spared artifact again later.
    pub async fn postpone_expiry(&self, project_id: u64, job_id: u64, at: u64) -> StoreResult<()> {
        let _: () = self.conn().zadd(keys::ARTIFACT_EXPIRY, format!("{project_id}:{job_id}"), at).await?;
        Ok(())
    }
}
