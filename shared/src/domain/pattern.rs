//! Name patterns for permission sets and groups: `*` matches any run of characters, everything
//! else matches itself, ignoring ASCII case.
//!
//! Case-insensitive on purpose: Identity Center names are labels people type, and `platformadmin`
//! is the same admin set to a reader as `PlatformAdmin`, so it must get the same cap and the same
//! treatment; a policy cannot foresee every casing. (Names are ASCII: sso-admin's
//! `PermissionSetName` is `[\w+=,.@-]+`.)

use std::fmt;

/// A permission set name pattern such as `*Admin*` or `BreakGlass*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NamePattern(String);

impl NamePattern {
    /// Any string is a valid pattern.
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The pattern's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `name` matches the whole pattern, ignoring ASCII case.
    pub fn matches(&self, name: &str) -> bool {
        let pattern = self.0.to_ascii_lowercase();
        let name = name.to_ascii_lowercase();
        let name = name.as_str();
        let mut parts = pattern.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = name.strip_prefix(first) else {
            return false;
        };
        let parts: Vec<&str> = parts.collect();
        let Some((last, middle)) = parts.split_last() else {
            return rest.is_empty();
        };
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.len() >= last.len() && rest.ends_with(last)
    }
}

impl fmt::Display for NamePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether any of `patterns` matches `name`.
pub fn any_matches(patterns: &[NamePattern], name: &str) -> bool {
    patterns.iter().any(|p| p.matches(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(pattern: &str, name: &str, expected: bool) {
        assert_eq!(NamePattern::new(pattern).matches(name), expected, "{pattern} vs {name}");
    }

    #[test]
    fn star_patterns_match_like_shell_globs() {
        check("*Admin*", "PlatformAdmin", true);
        check("*Admin*", "AdminRead", true);
        check("*Admin*", "Admin", true);
        check("*Admin*", "PlatformAdministrator", true);
        // Case is ignored both ways; a different spelling still does not match.
        check("*Admin*", "platformadmin", true);
        check("*admin*", "PLATFORMADMIN", true);
        check("*Admin*", "PlatformAdm1n", false);
        check("BreakGlass*", "breakglass-org", true);
        check("BreakGlass*", "break-glass", false);
        check("BreakGlass*", "BreakGlass", true);
        check("BreakGlass*", "BreakGlassOrg", true);
        check("BreakGlass*", "XBreakGlass", false);
        check("ReadOnly", "ReadOnly", true);
        check("ReadOnly", "ReadOnlyX", false);
        check("*", "", true);
        check("a*b*a", "aba", true);
        check("a*b*a", "ab", false);
        check("a*a", "a", false);
        check("**", "x", true);
    }
}
