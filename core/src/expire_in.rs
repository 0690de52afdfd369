//! GitLab's `expire_in` for job artifacts: `42` (seconds), `3 mins 4 sec`, `2 hrs 20 min`,
//! `2h20min`, `6 mos 1 day`, `47 yrs 6 mos and 4d`, `3 weeks and 2 days`, `never`.

use std::time::Duration;

/// `Ok(None)` means never expires.
pub fn parse(raw: &str) -> Result<Option<Duration>, String> {
    let text = raw.trim().to_ascii_lowercase();
    if text.is_empty() {
        return Err("empty".into());
    }
    if text == "never" {
        return Ok(None);
    }
    if let Ok(secs) = text.parse::<u64>() {
        return if secs == 0 { Err("must be longer than zero".into()) } else { Ok(Some(Duration::from_secs(secs))) };
    }
    // humantime knows most of GitLab's (ChronicDuration's) spellings; `and` and commas are
    // only glue, and `mo`/`mos` are ChronicDuration's months.
    let mut words = Vec::new();
    for word in text.replace(',', " ").split_whitespace().filter(|w| *w != "and") {
        let (number, unit) = word.split_at(word.find(|c: char| !c.is_ascii_digit()).unwrap_or(word.len()));
        let unit = if matches!(unit, "mo" | "mos" | "mon" | "mons") { "months" } else { unit };
        words.push(format!("{number}{unit}"));
    }
    let d = humantime::parse_duration(&words.join(" ")).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(Some(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60;
    const HOUR: u64 = 3600;
    const DAY: u64 = 86_400;

    fn secs(raw: &str) -> u64 {
        parse(raw).unwrap_or_else(|e| panic!("{raw}: {e}")).map(|d| d.as_secs()).unwrap_or(u64::MAX)
    }

    #[test]
    fn gitlab_examples() {
        assert_eq!(secs("42"), 42);
        assert_eq!(secs("42 seconds"), 42);
        assert_eq!(secs("3 mins 4 sec"), 3 * MIN + 4);
        assert_eq!(secs("30 mins"), 30 * MIN);
        assert_eq!(secs("2 hrs 20 min"), 2 * HOUR + 20 * MIN);
        assert_eq!(secs("2h20min"), 2 * HOUR + 20 * MIN);
        assert_eq!(secs("1 week"), 7 * DAY);
        assert_eq!(secs("3 weeks and 2 days"), 23 * DAY);
        assert_eq!(secs("1 day"), DAY);
        assert!(secs("6 mos 1 day") > 180 * DAY);
        assert!(secs("47 yrs 6 mos and 4d") > 47 * 365 * DAY);
        assert_eq!(secs("Never"), u64::MAX);
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in ["", "soon", "0", "1 fortnight", "-5 mins", "0 days"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
