//! GitLab's job artifact types and the format each must be sent in.
//!
//! The runner uploads a job's archive (`archive`, a zip) and its reports (`junit`,
//! `cobertura`, `dotenv`, ...), one request each, naming type and format in the query. The
//! pairs are GitLab's (`Enums::Ci::JobArtifact` in gitlabhq: `INTERNAL_TYPES` and
//! `REPORT_TYPES`); a type sent in another format is refused, as GitLab refuses it.

/// How an artifact's bytes are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Zip,
    Gzip,
    Raw,
}

impl Format {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "zip" => Some(Self::Zip),
            "gzip" => Some(Self::Gzip),
            "raw" => Some(Self::Raw),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Zip => "zip",
            Self::Gzip => "gzip",
            Self::Raw => "raw",
        }
    }
}

/// The job's archive: the one artifact that is browsed and downloaded as "the artifacts".
pub const ARCHIVE: &str = "archive";

/// Every type GitLab knows, with its format.
const TYPES: &[(&str, Format)] = &[
    ("archive", Format::Zip),
    ("metadata", Format::Gzip),
    ("trace", Format::Raw),
    ("junit", Format::Gzip),
    ("metrics", Format::Gzip),
    ("metrics_referee", Format::Gzip),
    ("network_referee", Format::Gzip),
    ("dotenv", Format::Gzip),
    ("cobertura", Format::Gzip),
    ("jacoco", Format::Gzip),
    ("cluster_applications", Format::Gzip),
    ("lsif", Format::Zip),
    ("cyclonedx", Format::Gzip),
    ("annotations", Format::Gzip),
    ("repository_xray", Format::Gzip),
    ("sast", Format::Raw),
    ("secret_detection", Format::Raw),
    ("dependency_scanning", Format::Raw),
    ("container_scanning", Format::Raw),
    ("cluster_image_scanning", Format::Raw),
    ("dast", Format::Raw),
    ("license_scanning", Format::Raw),
    ("accessibility", Format::Raw),
    ("codequality", Format::Raw),
    ("performance", Format::Raw),
    ("browser_performance", Format::Raw),
    ("load_performance", Format::Raw),
    ("terraform", Format::Raw),
    ("requirements", Format::Raw),
    ("requirements_v2", Format::Raw),
    ("coverage_fuzzing", Format::Raw),
    ("api_fuzzing", Format::Raw),
];

/// The format a type must be sent in; `None` for a type GitLab does not know.
pub fn format_of(file_type: &str) -> Option<Format> {
    TYPES.iter().find(|(t, _)| *t == file_type).map(|(_, f)| *f)
}

/// Every known type, in GitLab's order.
pub fn all() -> impl Iterator<Item = &'static str> {
    TYPES.iter().map(|(t, _)| *t)
}

/// What is wrong with an upload's type and format, as the runner names them (either may be
/// absent: GitLab's defaults are `archive` and `zip`). Returns the type and its format.
pub fn check(file_type: Option<&str>, format: Option<&str>) -> Result<(String, Format), &'static str> {
    let file_type = file_type.unwrap_or(ARCHIVE);
    let expected = format_of(file_type).ok_or("artifact_type")?;
    let format = match format {
        None => Format::Zip,
        Some(f) => Format::parse(f).ok_or("artifact_format")?,
    };
    if format != expected {
        return Err("artifact_format");
    }
    Ok((file_type.to_owned(), format))
}

/// The name a file of this type gets when the upload names none.
pub fn default_file_name(file_type: &str, format: Format) -> String {
    match format {
        Format::Zip if file_type == ARCHIVE => "artifacts.zip".to_owned(),
        Format::Zip => format!("{file_type}.zip"),
        Format::Gzip => format!("{file_type}.gz"),
        Format::Raw => file_type.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_a_zip_archive() {
        assert_eq!(check(None, None), Ok(("archive".to_owned(), Format::Zip)));
        assert_eq!(check(Some("archive"), Some("zip")), Ok(("archive".to_owned(), Format::Zip)));
    }

    #[test]
    fn each_type_has_its_format() {
        assert_eq!(check(Some("junit"), Some("gzip")), Ok(("junit".to_owned(), Format::Gzip)));
        assert_eq!(check(Some("dotenv"), Some("gzip")), Ok(("dotenv".to_owned(), Format::Gzip)));
        assert_eq!(check(Some("sast"), Some("raw")), Ok(("sast".to_owned(), Format::Raw)));
        assert_eq!(check(Some("lsif"), Some("zip")), Ok(("lsif".to_owned(), Format::Zip)));
        assert_eq!(check(Some("junit"), Some("raw")), Err("artifact_format"));
        // A report named without its format is taken for a zip, and refused.
        assert_eq!(check(Some("junit"), None), Err("artifact_format"));
        assert_eq!(check(Some("archive"), Some("gzip")), Err("artifact_format"));
        assert_eq!(check(Some("archive"), Some("tar")), Err("artifact_format"));
        assert_eq!(check(Some("nope"), Some("raw")), Err("artifact_type"));
    }

    #[test]
    fn every_type_is_listed_once() {
        let mut seen: Vec<&str> = all().collect();
        let n = seen.len();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), n);
        assert!(all().all(|t| format_of(t).is_some()));
    }
}
