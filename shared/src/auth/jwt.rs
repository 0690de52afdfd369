//! Job tokens: HS256 JWTs naming the project, pipeline and job, signed with `ARCA_JWT_SECRET`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};
use crate::model::Job;
use crate::time::now_ms;

/// What a job token says. `sub` is `job:<id>`; the job record decides whether it still works.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JobClaims {
    pub iss: String,
    pub sub: String,
    pub project_id: u64,
    pub pipeline_id: u64,
    pub job_id: u64,
    #[serde(rename = "ref")]
    pub ref_name: String,
    pub iat: u64,
    pub exp: u64,
}

pub(super) const ISSUER: &str = "arca";

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub fn new(secret: &str) -> Self {
        // Only HS256 is accepted: `alg: none` and every other algorithm fail validation.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            validation,
        }
    }

    pub fn sign(&self, job: &Job, ttl_secs: u64) -> ApiResult<String> {
        let now = now_ms() / 1000;
        let claims = JobClaims {
            iss: ISSUER.to_owned(),
            sub: format!("job:{}", job.id),
            project_id: job.project_id,
            pipeline_id: job.pipeline_id,
            job_id: job.id,
            ref_name: job.ref_name.clone(),
            iat: now,
            exp: now + ttl_secs,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::internal("sign job token", e))
    }

    pub fn verify(&self, token: &str) -> ApiResult<JobClaims> {
        jsonwebtoken::decode::<JobClaims>(token, &self.decoding, &self.validation)
            .map(|d| d.claims)
            .map_err(|_| ApiError::Unauthorized)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CiStatus, Job};
    use crate::time::now_ms;
    use base64::Engine;

    fn job() -> Job {
        Job {
            id: 9,
            project_id: 3,
            pipeline_id: 4,
            name: "build".into(),
            stage: "test".into(),
            ref_name: "main".into(),
            status: CiStatus::Running,
            created_at: 0,
            user: "root".into(),
            finished_at: None,
        }
    }

    #[test]
    fn job_tokens_verify_only_with_our_key_and_hs256() {
        let keys = JwtKeys::new("a-secret-of-sixteen-chars");
        let token = keys.sign(&job(), 60).expect("sign");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!((claims.project_id, claims.job_id), (3, 9));

        let other = JwtKeys::new("another-secret-sixteen");
        assert!(other.verify(&token).is_err(), "another key");

        let mut stale = claims.clone();
        stale.exp = now_ms() / 1000 - 10;
        let expired = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &stale, &keys.encoding).expect("sign");
        assert!(keys.verify(&expired).is_err(), "expired beyond the leeway");

        // alg: none, same claims, no signature.
        let payload = token.split('.').nth(1).expect("payload");
        let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        assert!(keys.verify(&format!("{none_header}.{payload}.")).is_err(), "alg none");
    }
}
