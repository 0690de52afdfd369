//! Where things are in the bucket.

/// The S3 key layout, in one place.
pub struct BlobKeys;

impl BlobKeys {
    /// A package file's bytes. Keys are never reused: each upload gets its own, so a
    /// duplicate publish never overwrites what another version still serves.
    pub fn package_file(project_id: u64, upload_id: &str) -> String {
        format!("packages/{project_id}/{upload_id}")
    }

    /// Every prefix a project's blobs live under (its deletion lists and empties them).
    pub fn project_prefixes(project_id: u64) -> [String; 2] {
        [format!("packages/{project_id}/"), format!("artifacts/{project_id}/")]
    }

    /// A job's artifact (its archive or a report).
    pub fn job_artifacts(project_id: u64, job_id: u64, upload_id: &str) -> String {
        format!("artifacts/{project_id}/{job_id}/{upload_id}.zip")
    }

    /// The index written beside an artifacts archive (see `zipindex`).
    pub fn archive_index(archive_key: &str) -> String {
        format!("{archive_key}.index")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_namespaced_by_project() {
        assert_eq!(BlobKeys::package_file(7, "u1"), "packages/7/u1");
        assert_eq!(BlobKeys::job_artifacts(7, 9, "u2"), "artifacts/7/9/u2.zip");
    }
}
