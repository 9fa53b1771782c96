//! Rolling-window limits: "at most `max` remediations within `window`".

use std::fmt;
use std::time::Duration;

/// Why a limit's text is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct LimitError(String);

/// "At most `max` remediations within `window`".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Remediations allowed within the window (at least 1).
    pub max: u32,
    /// The rolling window (whole seconds, at least one).
    pub window: Duration,
}

impl Limit {
    /// Parses `<max>/<window>`, the window a whole number of seconds, minutes or hours: `3/1h`,
    /// `20/10m`, `5/90s`.
    pub fn parse(text: &str) -> Result<Self, LimitError> {
        let bad = || {
            LimitError(format!(
                "{text:?} is not a limit like 3/1h or 20/10m (count/window, window in s, m or h)"
            ))
        };
        let (max, window) = text.trim().split_once('/').ok_or_else(bad)?;
        let max: u32 = max.trim().parse().map_err(|_| bad())?;
        let window = window.trim();
        let unit = match window.chars().last() {
            Some('s') => 1,
            Some('m') => 60,
            Some('h') => 3600,
            _ => return Err(bad()),
        };
        let count: u64 = window[..window.len() - 1].parse().map_err(|_| bad())?;
        let secs = count.checked_mul(unit).ok_or_else(bad)?;
        if max == 0 || secs == 0 {
            return Err(LimitError(format!(
                "{text:?}: the count and the window must be at least 1"
            )));
        }
        Ok(Self {
            max,
            window: Duration::from_secs(secs),
        })
    }

    pub(super) fn window_secs(self) -> u64 {
        self.window.as_secs().max(1)
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.max, Span(self.window))
    }
}

/// A duration in its largest whole unit: `1h`, `10m`, `90s`.
pub(super) struct Span(pub(super) Duration);

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0.as_secs();
        if s > 0 && s.is_multiple_of(3600) {
            write!(f, "{}h", s / 3600)
        } else if s > 0 && s.is_multiple_of(60) {
            write!(f, "{}m", s / 60)
        } else {
            write!(f, "{s}s")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_parse_and_print() {
        assert_eq!(
            Limit::parse("3/1h"),
            Ok(Limit {
                max: 3,
                window: Duration::from_secs(3600)
            })
        );
        assert_eq!(
            Limit::parse(" 20 / 10m ").map(|l| l.to_string()),
            Ok("20/10m".to_owned())
        );
        assert_eq!(Limit::parse("5/90s").map(|l| l.to_string()), Ok("5/90s".to_owned()));
        for bad in ["", "3", "3/", "/1h", "3/1d", "0/1h", "3/0m", "x/1h", "3/1.5h", "-1/1h"] {
            assert!(Limit::parse(bad).is_err(), "{bad}");
        }
    }
}
