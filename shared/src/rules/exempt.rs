//! Permission-set exemptions, shared by the rules that have them: the privileged sets (by
//! default) and further name patterns, read from `exempt_privileged` and `exempt`.

use super::Baseline;
use crate::domain::NamePattern;
use crate::spanned::{Reader, Table};

/// The keys an exemption adds to a rule's table.
pub(super) const KEYS: [&str; 2] = ["exempt_privileged", "exempt"];

/// The JSON Schema properties of [`KEYS`], to splice into a rule's fragment with `concat!`.
macro_rules! exempt_schema {
    () => {
        r#""exempt_privileged": { "type": "boolean", "default": true, "description": "exempt the sets matching permission_sets.privileged" },
           "exempt": { "type": "array", "description": "further exempt permission set name patterns", "items": { "type": "string", "pattern": "^[\\w+=,.@*-]+$" } }"#
    };
}
pub(super) use exempt_schema;

/// A permission-set exemption list: the privileged sets (by default) and further name patterns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exemptions {
    /// Whether the sets matching the policy's `privileged` patterns are exempt.
    pub privileged: bool,
    /// Further exempt name patterns.
    pub names: Vec<NamePattern>,
}

impl Default for Exemptions {
    /// The privileged sets, nothing else.
    fn default() -> Self {
        Self {
            privileged: true,
            names: Vec::new(),
        }
    }
}

/// Whether a set is exempt, as far as its name is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exempt {
    /// The name matches an exemption.
    Yes,
    /// The name matches none.
    No,
    /// The name is unknown and some set would be exempt.
    Unknown,
}

impl Exemptions {
    /// Whether a set with the given (possibly unknown) name is exempt.
    pub fn exempt(&self, baseline: Baseline<'_>, name: Option<&str>) -> Exempt {
        let has_any = (self.privileged && !baseline.privileged.is_empty()) || !self.names.is_empty();
        let named = |n: &str| self.names.iter().any(|p| p.matches(n));
        match name {
            Some(n) if (self.privileged && baseline.is_privileged(n)) || named(n) => Exempt::Yes,
            Some(_) => Exempt::No,
            None if has_any => Exempt::Unknown,
            None => Exempt::No,
        }
    }

    /// Reads `exempt_privileged` and `exempt`; a key not given keeps `defaults`' value.
    pub(super) fn read(r: &mut Reader<'_>, table: &mut Table<'_, '_>, defaults: &Self) -> Self {
        let mut out = defaults.clone();
        if let Some(v) = table.take("exempt_privileged") {
            out.privileged = r.bool(v, &table.child("exempt_privileged")).unwrap_or(out.privileged);
        }
        if let Some(v) = table.take("exempt") {
            out.names = r.name_patterns(v, &table.child("exempt")).unwrap_or_default();
        }
        out
    }
}
