//! Durations as people write them in the config: `"24h"`, `"90m"`, `"1h30m"`, `"2d"`, `"45s"`, with
//! the parser, the display form (the same notation) and the two `[alerts]` flaky-job settings built on
//! them ([`FlakyWindow`], [`FlakyFlips`]), each with its allowed range.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// Parses `"24h"`, `"90m"`, `"1h30m"`, `"2d"`, `"45s"`: one or more whole numbers, each followed by
/// `d`, `h`, `m` or `s`. Big numbers saturate (and are then out of any caller's range).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{text:?} is not a duration like \"24h\", \"90m\", \"1h30m\", \"2d\" or \"45s\" \
             (whole numbers with d, h, m or s)"
        )
    };
    let mut seconds: u64 = 0;
    let mut number: Option<u64> = None;
    for c in text.trim().chars() {
        if let Some(d) = c.to_digit(10) {
            number = Some(
                number
                    .unwrap_or(0)
                    .saturating_mul(10)
                    .saturating_add(u64::from(d)),
            );
            continue;
        }
        let unit = match c {
            'd' => 86_400,
            'h' => 3_600,
            'm' => 60,
            's' => 1,
            _ => return Err(bad()),
        };
        let n = number.take().ok_or_else(bad)?;
        seconds = seconds.saturating_add(n.saturating_mul(unit));
    }
    if number.is_some() || text.trim().is_empty() {
        return Err(bad());
    }
    Ok(Duration::from_secs(seconds))
}

/// `d`/`h`/`m`/`s` notation, largest units first, days from two days on: 86400 s → `"24h"`, 172800 s →
/// `"2d"`, 5400 s → `"1h30m"`, 0 → `"0s"`.
pub fn format_duration(d: Duration) -> String {
    let mut left = d.as_secs();
    if left == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (unit, name) in [(86_400, 'd'), (3_600, 'h'), (60, 'm'), (1, 's')] {
        if left >= unit && (name != 'd' || left >= 2 * unit) {
            out.push_str(&(left / unit).to_string());
            out.push(name);
            left %= unit;
        }
    }
    out
}

/// `[alerts] flaky_window`: the time within which a job's flips count (10 minutes to 30 days; default
/// 24 hours). A flaky job green for this long loses the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct FlakyWindow(pub Duration);

impl FlakyWindow {
    pub const MIN: Duration = Duration::from_secs(10 * 60);
    pub const MAX: Duration = Duration::from_secs(30 * 86_400);
}

impl Default for FlakyWindow {
    fn default() -> Self {
        Self(Duration::from_secs(24 * 3_600))
    }
}

impl TryFrom<String> for FlakyWindow {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let d = parse_duration(&text).map_err(|e| format!("flaky_window: {e}"))?;
        if !(Self::MIN..=Self::MAX).contains(&d) {
            return Err(format!(
                "flaky_window {text:?} is out of range: between \"10m\" and \"30d\""
            ));
        }
        Ok(Self(d))
    }
}

impl fmt::Display for FlakyWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_duration(self.0))
    }
}

/// `[alerts] flaky_flips`: how many changes between failure and success within the window make a job
/// flaky (2 to 100; default 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "i64")]
pub struct FlakyFlips(pub u32);

impl Default for FlakyFlips {
    fn default() -> Self {
        Self(3)
    }
}

impl TryFrom<i64> for FlakyFlips {
    type Error = String;

    fn try_from(n: i64) -> Result<Self, String> {
        u32::try_from(n)
            .ok()
            .filter(|n| (2..=100).contains(n))
            .map(Self)
            .ok_or_else(|| format!("flaky_flips = {n} is out of range: between 2 and 100"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn durations_read_days_hours_minutes_and_seconds_and_print_back_the_same_way() {
        let secs = |t: &str| parse_duration(t).unwrap().as_secs();
        assert_eq!(secs("24h"), 86_400);
        assert_eq!(secs("90m"), 5_400);
        assert_eq!(secs("1h30m"), 5_400);
        assert_eq!(secs(" 2d "), 172_800);
        assert_eq!(secs("45s"), 45);
        assert_eq!(format_duration(Duration::from_secs(86_400)), "24h");
        assert_eq!(
            format_duration(Duration::from_secs(3 * 86_400 + 60)),
            "3d1m"
        );
        assert_eq!(format_duration(Duration::from_secs(5_400)), "1h30m");
        assert_eq!(format_duration(Duration::from_secs(61)), "1m1s");
        assert_eq!(format_duration(Duration::ZERO), "0s");
        for bad in ["", "24", "h", "1.5h", "-1h", "24 hours", "1w"] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("is not a duration like"), "{bad:?}: {e}");
        }
    }

    #[test]
    fn a_huge_duration_saturates_and_is_then_out_of_the_windows_range() {
        let d = parse_duration("99999999999999999999999d").unwrap();
        assert_eq!(d.as_secs(), u64::MAX);
        let e = FlakyWindow::try_from("99999999999999999999999d".to_owned()).unwrap_err();
        assert!(e.contains("out of range"), "{e}");
    }
}
