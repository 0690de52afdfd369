//! Wall-clock helpers: arca stores Unix milliseconds and shows RFC 3339, as GitLab does.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// `2026-11-23T17:28:50.123Z`
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

/// Parses a GitLab `expires_at`: a date (`2026-12-31`; as in GitLab the token is expired
/// from the start of that day, UTC) or a full RFC 3339 timestamp. Returns Unix ms.
pub fn parse_expiry(raw: &str) -> Option<u64> {
    let full = if raw.len() == 10 { format!("{raw}T00:00:00Z") } else { raw.to_owned() };
    humantime::parse_rfc3339_weak(&full)
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_expiry("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_expiry("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(parse_expiry("tomorrow"), None);
    }
}
