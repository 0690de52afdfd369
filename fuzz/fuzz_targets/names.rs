//! The validators of names that arrive in URLs and bodies: they never panic, and what they
//! accept can never escape a directory, end a header line or exceed its length.
#![no_main]

use arca_core::validate;
use libfuzzer_sys::fuzz_target;

fn no_escape(path: &str) -> bool {
    !path.starts_with('/')
        && !path.contains('\\')
        && path.split('/').all(|seg| !seg.is_empty() && seg != "." && seg != "..")
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if validate::package_name(s).is_ok() {
        assert!(s.len() <= 255 && !s.contains('/') && s != "." && s != "..", "{s:?}");
    }
    if validate::package_version(s).is_ok() {
        assert!(s.len() <= 255 && !s.contains("..") && !s.contains('/'), "{s:?}");
    }
    if validate::file_name(s).is_ok() {
        assert!(s.len() <= 1024 && no_escape(s) && !s.chars().any(char::is_control), "{s:?}");
    }
    if validate::artifact_path(s).is_ok() {
        assert!(no_escape(s) && !s.chars().any(char::is_control), "{s:?}");
    }
    if validate::slug("username", s).is_ok() {
        assert!(!s.contains(['/', ' ']) && !s.starts_with(['-', '.']), "{s:?}");
    }
    if validate::metadata_key(s).is_ok() {
        assert!(s.len() <= 128 && !s.chars().any(char::is_control), "{s:?}");
    }
    if validate::metadata_value(s).is_ok() {
        assert!(s.len() <= 4096 && !s.contains(['\r', '\n']), "{s:?}");
    }
    let path = validate::path_from_name(s);
    assert!(path.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')), "{path:?}");
});
