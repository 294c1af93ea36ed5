//! `QuietHours`: a daily local-time range such as `"22:00-07:00"` (may wrap midnight), as written in
//! `[alerts] quiet_hours`, with its parser, its display form and the "is this minute quiet" check.

use std::fmt;

use serde::Deserialize;

/// A daily time range in local time, `"HH:MM-HH:MM"`; the end is exclusive and may be before the start
/// (the range then wraps midnight: `"22:00-07:00"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct QuietHours {
    /// Minutes after midnight, 0–1439.
    pub start: u16,
    /// Minutes after midnight, 0–1439; exclusive.
    pub end: u16,
}

impl QuietHours {
    /// Whether `minute_of_day` (0–1439, local time) falls in the range.
    pub fn contains(self, minute_of_day: u16) -> bool {
        if self.start <= self.end {
            (self.start..self.end).contains(&minute_of_day)
        } else {
            minute_of_day >= self.start || minute_of_day < self.end
        }
    }
}

impl std::str::FromStr for QuietHours {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "quiet_hours {text:?} is not a time range like \"22:00-07:00\" (24-hour HH:MM-HH:MM, local time)"
            )
        };
        let minutes = |hm: &str| -> Option<u16> {
            let (h, m) = hm.trim().split_once(':')?;
            let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
            (h < 24 && m < 60 && !hm.contains('+')).then_some(h * 60 + m)
        };
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        let (start, end) = (
            minutes(start).ok_or_else(bad)?,
            minutes(end).ok_or_else(bad)?,
        );
        if start == end {
            return Err(format!(
                "quiet_hours {text:?} starts and ends at the same time (leave it out for no quiet hours)"
            ));
        }
        Ok(Self { start, end })
    }
}

impl TryFrom<String> for QuietHours {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

impl fmt::Display for QuietHours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}:{:02}-{:02}:{:02}",
            self.start / 60,
            self.start % 60,
            self.end / 60,
            self.end % 60
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn quiet_hours_may_wrap_midnight() {
        let night: QuietHours = "22:00-07:00".parse().unwrap();
        assert_eq!(night.to_string(), "22:00-07:00");
        assert!(night.contains(22 * 60));
        assert!(night.contains(23 * 60 + 59));
        assert!(night.contains(0));
        assert!(night.contains(6 * 60 + 59));
        assert!(!night.contains(7 * 60), "the end is exclusive");
        assert!(!night.contains(12 * 60));
        assert!(!night.contains(21 * 60 + 59));
        let lunch: QuietHours = "12:00-13:30".parse().unwrap();
        assert!(lunch.contains(12 * 60) && lunch.contains(13 * 60 + 29));
        assert!(!lunch.contains(13 * 60 + 30) && !lunch.contains(11 * 60 + 59));
        assert_eq!(
            " 7:05 - 9:00".parse::<QuietHours>().unwrap().to_string(),
            "07:05-09:00"
        );
    }
}
