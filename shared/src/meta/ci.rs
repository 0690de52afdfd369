use redis::AsyncCommands;

use super::{Meta, to_json};
use crate::error::ApiResult;
use crate::keys;
use crate::model::{Job, Pipeline};

impl Meta {
    pub async fn next_pipeline_id(&self) -> ApiResult<u64> {
        self.next_id(keys::PIPELINE_SEQ).await
    }

    pub async fn next_job_id(&self) -> ApiResult<u64> {
        self.next_id(keys::JOB_SEQ).await
    }

    pub async fn save_pipeline(&self, p: &Pipeline) -> ApiResult<()> {
        let _: () = self.conn().set(keys::pipeline(p.project_id, p.id), to_json(p)?).await?;
        Ok(())
    }

    pub async fn pipeline(&self, project_id: u64, id: u64) -> ApiResult<Option<Pipeline>> {
        self.get_json(&keys::pipeline(project_id, id)).await
    }

    pub async fn save_job(&self, job: &Job) -> ApiResult<()> {
        let _: () = self.conn().set(keys::job(job.project_id, job.id), to_json(job)?).await?;
        let _: () = self.conn().set(keys::job_project(job.id), job.project_id).await?;
        Ok(())
    }

    pub async fn job(&self, project_id: u64, id: u64) -> ApiResult<Option<Job>> {
        self.get_json(&keys::job(project_id, id)).await
    }
}
