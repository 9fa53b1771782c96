//! Calendar dates (exception expiry) and UTC timestamps (event times, the safety rails' windows),
//! on the `time` crate, which the AWS SDK already depends on.
//!
//! Rules never read a clock: the caller passes "today" in, and the safety rails take "now" from
//! an injectable clock. Timestamps are whole Unix seconds, which is what the state table stores.

use std::fmt;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Month, OffsetDateTime, UtcOffset};

const EPOCH: time::Date = time::macros::date!(1970 - 01 - 01);

/// A proleptic Gregorian calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(time::Date);

impl Date {
    /// A date, if it exists in the calendar.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Self> {
        let month = Month::try_from(month).ok()?;
        time::Date::from_calendar_date(year, month, day).ok().map(Self)
    }

    /// Parses `YYYY-MM-DD` (exactly four, two and two digits).
    pub fn parse(text: &str) -> Option<Self> {
        let format = format_description!("[year repr:full padding:zero base:calendar]-[month]-[day]");
        // `time` accepts a sign and more digits in the year; an expiry date has exactly ten characters.
        if text.len() != 10 || !text.starts_with(|c: char| c.is_ascii_digit()) {
            return None;
        }
        time::Date::parse(text, format).ok().map(Self)
    }

    /// The date `days` days after 1970-01-01 (saturating at `time`'s range).
    pub fn from_days_since_epoch(days: i64) -> Self {
        let julian = i64::from(EPOCH.to_julian_day()).saturating_add(days);
        let clamped = julian.clamp(
            i64::from(time::Date::MIN.to_julian_day()),
            i64::from(time::Date::MAX.to_julian_day()),
        );
        Self(
            i32::try_from(clamped)
                .ok()
                .and_then(|j| time::Date::from_julian_day(j).ok())
                .unwrap_or(EPOCH),
        )
    }

    /// The date of a Unix timestamp, in UTC.
    pub fn of_timestamp(secs: u64) -> Self {
        Self::from_days_since_epoch(i64::try_from(secs / 86_400).unwrap_or(i64::MAX))
    }

    /// Today's date in UTC, from the system clock. Only callers outside the rules use this.
    pub fn today_utc() -> Self {
        Self(OffsetDateTime::now_utc().date())
    }

    /// Year.
    pub fn year(self) -> i32 {
        self.0.year()
    }
    /// Month, 1–12.
    pub fn month(self) -> u8 {
        u8::from(self.0.month())
    }
    /// Day of the month, 1–31.
    pub fn day(self) -> u8 {
        self.0.day()
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year(), self.month(), self.day())
    }
}

/// A time for people and reports: `2026-11-27T14:02:05Z`.
pub fn utc(secs: u64) -> String {
    i64::try_from(secs)
        .ok()
        .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| format!("@{secs}"))
}

/// Parses CloudTrail's `eventTime` (RFC 3339 in UTC, `2026-11-27T14:02:05Z`, fractional seconds
/// allowed) into Unix seconds. Times before 1970 are `None`.
pub fn parse_utc(text: &str) -> Option<u64> {
    let t = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    if t.offset() != UtcOffset::UTC {
        return None;
    }
    u64::try_from(t.unix_timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_days_round_trip_known_dates() {
        assert_eq!(Date::from_days_since_epoch(0).to_string(), "1970-01-01");
        assert_eq!(Date::from_days_since_epoch(19_782).to_string(), "2024-02-29");
        assert_eq!(Date::from_days_since_epoch(20_784).to_string(), "2026-11-27");
        assert_eq!(Date::of_timestamp(1_795_788_120).to_string(), "2026-11-27");
    }

    #[test]
    fn parse_rejects_impossible_dates() {
        assert!(Date::parse("2026-02-29").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2026-13-01").is_none());
        assert!(Date::parse("26-01-01").is_none());
        assert!(Date::parse("2026-1-01").is_none());
        assert!(Date::parse("+2026-01-01").is_none());
        assert_eq!(Date::parse("2027-03-31"), Date::new(2027, 3, 31));
    }

    #[test]
    fn event_times_parse_to_unix_seconds() {
        assert_eq!(parse_utc("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_utc("2026-11-27T14:02:00Z"), Some(1_795_788_120));
        assert_eq!(parse_utc("2026-11-27T14:02:00.123Z"), Some(1_795_788_120));
        assert_eq!(
            parse_utc("2024-02-29T00:00:00Z").map(utc),
            Some("2024-02-29T00:00:00Z".to_owned())
        );
        assert_eq!(parse_utc("2026-11-27 14:02:00"), None);
        assert_eq!(parse_utc("2026-11-27T25:02:00Z"), None);
    }

    #[test]
    fn times_print_in_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_795_788_120), "2026-11-27T14:02:00Z");
    }
}
