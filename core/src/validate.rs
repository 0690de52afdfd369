//! Validation of names that come from URLs and bodies (the API's naming rules, in the
//! OpenAPI description).
//!
//! Pure functions, built without the server half of the crate too (the fuzz targets in
//! `fuzz/` use them that way); an [`Invalid`] becomes the API's 400
//! `{"error": "<field> is invalid"}` through `From`.

use std::sync::LazyLock;

use regex::Regex;

/// A value that failed validation: the name of its field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl Invalid {
    fn field(name: &str) -> Self {
        Self(name.to_owned())
    }
}

pub type Checked = Result<(), Invalid>;

// The limits below are enforced here and published in the OpenAPI description from the
// same constants; each pattern says in a regular expression what its check does in code.

/// Longest package name or version, user name or project path.
pub const MAX_NAME: usize = 255;
/// Longest generic package file name (with its `/`-separated directories).
pub const MAX_FILE_NAME: usize = 1024;
/// Longest path inside a job's archive.
pub const MAX_ARTIFACT_PATH: usize = 4096;
/// Longest custom metadata key.
pub const MAX_METADATA_KEY: usize = 128;
/// Longest custom metadata value, in bytes.
pub const MAX_METADATA_VALUE: usize = 4096;
pub const PACKAGE_NAME_PATTERN: &str = r"^[A-Za-z0-9._+-]+$";
pub const PACKAGE_VERSION_PATTERN: &str = r"^(?!.*\.\.)(\.?[A-Za-z0-9_+-]+\.?)+$";
pub const FILE_NAME_PATTERN: &str = r"^[A-Za-z0-9._+-]+(/[A-Za-z0-9._+-]+)*$";
/// Relative, `/`-separated, no empty, `.` or `..` segment, no backslash or control character.
pub const ARTIFACT_PATH_PATTERN: &str =
    r"^(?!/)(?!.*//)(?!.*/$)(?!(?:.*/)?\.\.?(?:/|$))[^\\\u0000-\u001f\u007f-\u009f]+$";
pub const METADATA_KEY_PATTERN: &str = r"^[A-Za-z0-9._:-]+$";

fn package_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')
}

/// `A-Z a-z 0-9 . - _ +`, at most 255 characters.
pub fn package_name(name: &str) -> Checked {
    if name.is_empty() || name.len() > MAX_NAME || !name.chars().all(package_char) || name == "." || name == ".." {
        return Err(Invalid::field("package_name"));
    }
    Ok(())
}

/// GitLab's `\A(\.?[\w\+-]+\.?)+\z`, no `..`, at most 255 characters.
pub fn package_version(version: &str) -> Checked {
    static RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\A(\.?[A-Za-z0-9_+-]+\.?)+\z").expect("static regex"));
    if version.is_empty() || version.len() > MAX_NAME || version.contains("..") || !RE.is_match(version) {
        return Err(Invalid::field("package_version"));
    }
    Ok(())
}

/// One or more `/`-separated segments of package characters; no `.` or `..` segment; at
/// most 1,024 characters. Callers pass the already percent-decoded value, so `%2e%2e`
/// arrives here as `..` and a double-encoded `%252e` keeps a `%`, which is refused.
pub fn file_name(name: &str) -> Checked {
    let ok = !name.is_empty()
        && name.len() <= MAX_FILE_NAME
        && name.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != ".." && seg.chars().all(package_char));
    if ok { Ok(()) } else { Err(Invalid::field("file_name")) }
}

/// User names and project paths: letters, digits, `_ . -`, not starting with `-` or `.`,
/// at most 255 characters.
pub fn slug(field: &str, value: &str) -> Checked {
    let ok = !value.is_empty()
        && value.len() <= 255
        && !value.starts_with(['-', '.'])
        && !value.ends_with(".git")
        && value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if ok { Ok(()) } else { Err(Invalid::field(field)) }
}

/// A project path made from its name, as GitLab does: lower-case, runs of other
/// characters turned into `-`.
pub fn path_from_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches(['-', '.']).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_names() {
        for ok in ["tool", "my-pkg_1.0+x", "A.b"] {
            assert!(package_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a/b", "a b", "..", "a%2e", &"x".repeat(256), "naïve", "a\u{0}"] {
            assert!(package_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn versions_follow_gitlab() {
        for ok in ["1.0.0", "v1", "1.0.0-rc.1+build", ".hidden", "1_2"] {
            assert!(package_version(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1..2", "1/2", "1 2", "..", "1.0%2F", &"1".repeat(256)] {
            assert!(package_version(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn file_names_may_be_paths_but_not_escape() {
        for ok in ["tool", "linux/amd64/tool.tar.gz", "a+b.zip", ".env"] {
            assert!(file_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "../x", "a/../b", "a/./b", "/abs", "a//b", "a/", "a\\b", "%2e%2e", "a\nb", &"x".repeat(1025)] {
            assert!(file_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn artifact_paths() {
        for ok in ["a.txt", "dir/sub/file.log", "with space.txt", ".hidden", "%2E%2E", "\";"] {
            assert!(artifact_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/etc/passwd", "../x", "a/../b", "a\\b", "a\0b", "a//b", "./a", "a\r\nb", "a\u{7f}"] {
            assert!(artifact_path(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn slugs_and_paths() {
        assert!(slug("username", "alice.b-1").is_ok());
        for bad in ["", "-x", ".x", "a b", "a/b", "x.git"] {
            assert!(slug("username", bad).is_err(), "{bad}");
        }
        assert_eq!(path_from_name("My Cool Project!"), "my-cool-project");
    }
}

/// A path inside a job's archive as GitLab accepts it: relative, `/`-separated, no `..`, no
/// backslash, no control character (CR and LF would end up in headers), no empty segment.
pub fn artifact_path(path: &str) -> Checked {
    let ok = !path.is_empty()
        && path.len() <= MAX_ARTIFACT_PATH
        && !path.starts_with('/')
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
        && path.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if ok { Ok(()) } else { Err(Invalid::field("artifact_path")) }
}

/// Free text given a name (a token's or job's name, a project's display name): not blank,
/// at most 255 bytes, no control characters.
pub fn text(field: &str, value: &str) -> Checked {
    if value.trim().is_empty() || value.len() > MAX_NAME || value.chars().any(char::is_control) {
        return Err(Invalid::field(field));
    }
    Ok(())
}

/// Git's ref rules, the parts that matter here: no `..`, no leading `/` or `-`, no trailing
/// `/`, no whitespace or `~^:?*[\`.
pub fn ref_name(value: &str) -> Checked {
    text("ref", value)?;
    if value.contains("..")
        || value.starts_with(['/', '-'])
        || value.ends_with('/')
        || value.contains(|c: char| c.is_whitespace() || "~^:?*[\\".contains(c))
    {
        return Err(Invalid::field("ref"));
    }
    Ok(())
}

/// A commit id: hex, at most 64 characters (SHA-256 object names).
pub fn sha(value: &str) -> Checked {
    if value.len() > 64 || !value.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Invalid::field("sha"));
    }
    Ok(())
}

/// An e-mail address, as far as arca cares: one `@`-bearing line of at most 255 bytes.
pub fn email(value: &str) -> Checked {
    if value.len() > MAX_NAME || !value.contains('@') || value.chars().any(char::is_control) {
        return Err(Invalid::field("email"));
    }
    Ok(())
}

/// Longest version description.
pub const MAX_DESCRIPTION: usize = 4096;

/// A version's description: at most 4,096 bytes; tabs and line breaks are the only control
/// characters allowed.
pub fn description(value: &str) -> Checked {
    if value.len() > MAX_DESCRIPTION || value.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err(Invalid::field("description"));
    }
    Ok(())
}

/// The duplicate-exception pattern of a project's package settings. Rust's regex runs in
/// linear time, like GitLab's RE2, so a user's pattern cannot stall a publish; the size
/// limit bounds its compiled form.
pub fn exception_regex(value: &str) -> Checked {
    let ok = value.len() <= MAX_NAME && regex::RegexBuilder::new(value).size_limit(1 << 20).build().is_ok();
    if ok { Ok(()) } else { Err(Invalid::field("generic_duplicate_exception_regex")) }
}

/// Custom metadata keys: 1 to 128 of `A-Z a-z 0-9 . _ - :`.
pub fn metadata_key(key: &str) -> Checked {
    let ok = !key.is_empty()
        && key.len() <= MAX_METADATA_KEY
        && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':'));
    if ok { Ok(()) } else { Err(Invalid::field("key")) }
}

/// Custom metadata values: at most 4,096 bytes of text without control characters.
pub fn metadata_value(value: &str) -> Checked {
    if value.len() > MAX_METADATA_VALUE || value.chars().any(char::is_control) {
        return Err(Invalid::field("value"));
    }
    Ok(())
}

#[cfg(test)]
mod metadata_tests {
    use super::*;

    #[test]
    fn metadata_keys_and_values() {
        for ok in ["build.url", "git:sha", "a", &"k".repeat(128)] {
            assert!(metadata_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "a/b", "ü", &"k".repeat(129)] {
            assert!(metadata_key(bad).is_err(), "{bad}");
        }
        assert!(metadata_value("https://ci.example.com/job/1 ✓").is_ok());
        assert!(metadata_value("line\nbreak").is_err());
        assert!(metadata_value(&"v".repeat(4097)).is_err());
    }
}

#[cfg(test)]
mod text_tests {
    use super::*;

    #[test]
    fn refs_shas_emails_descriptions_and_patterns() {
        for ok in ["main", "release/1.x", "v1.0.0", "feature-a"] {
            assert!(ref_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", " ", "a..b", "/main", "-x", "main/", "a b", "a~1", "a:b", "a\\b"] {
            assert_eq!(ref_name(bad), Err(Invalid::field("ref")), "{bad}");
        }
        assert!(sha("0123abcDEF").is_ok() && sha("").is_ok());
        assert!(sha("xyz").is_err() && sha(&"a".repeat(65)).is_err());
        assert!(email("a@example.com").is_ok() && email("nobody").is_err() && email("a@b\n").is_err());
        assert!(description("line one\n\tline two").is_ok());
        assert!(description("bell\u{7}").is_err() && description(&"d".repeat(4097)).is_err());
        assert!(exception_regex("^1\\.\\d+$").is_ok() && exception_regex("(").is_err());
        assert!(text("name", "ci token").is_ok() && text("name", "  ").is_err());
    }
}
