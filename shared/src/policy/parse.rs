//! Policy parsing and validation over a spanned TOML tree.
//!
//! Serde's derive stops at the first problem; a policy author wants them all. So the TOML is
//! parsed recoverably into a spanned tree and walked by hand: each table checks its keys against
//! the list it accepts, each value is validated where it stands, and every problem is collected
//! with its location.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::{
    AbacSettings, AssignmentPrincipalTypeSettings, BoundarySettings, DesiredAssignmentsSettings, DurationLimit,
    Exception, Exemptions, InlinePolicySettings, ManagedPolicySettings, Mode, OwnerRoute, Owners, Policy, RuleCommon,
    RuleSettings, ScimOnlySettings, SessionDurationCapSettings, Severity,
};
use crate::date::Date;
use crate::iam::ActionPattern;
use crate::ids::{AccountId, IdentityStoreId, InstanceArn};
use crate::model::{AbacAttribute, Boundary, CustomerManagedPolicyRef, PrincipalType, SessionDuration};
use crate::pattern::NamePattern;
use crate::rules::RuleId;

/// One problem in a policy file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// Dotted key path, e.g. `rules.session-duration-cap.max` (empty at top level).
    pub path: String,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a policy file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The problems; never empty.
    pub problems: Vec<Problem>,
}

impl PolicyError {
    pub(crate) fn io(file: &str, err: &std::io::Error) -> Self {
        Self {
            problems: vec![Problem {
                file: file.to_owned(),
                line: 0,
                column: 0,
                path: String::new(),
                message: format!("cannot read the policy file: {err}"),
            }],
        }
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Keys accepted at each level; the JSON Schema test checks that the schema lists the same.
pub(crate) mod keys {
    pub(crate) const TOP: &[&str] = &[
        "mode",
        "instance",
        "own_identity",
        "permission_sets",
        "groups",
        "rules",
        "exceptions",
        "owners",
    ];
    pub(crate) const OWNERS: &[&str] = &["tag_key", "default", "routes", "slack_channels"];
    pub(crate) const OWNER_ROUTE: &[&str] = &["owner", "permission_sets", "accounts"];
    pub(crate) const INSTANCE: &[&str] = &["arn", "identity_store_id"];
    pub(crate) const OWN_IDENTITY: &[&str] = &["role_prefixes", "role_arns"];
    pub(crate) const PERMISSION_SETS: &[&str] = &["privileged"];
    pub(crate) const GROUPS: &[&str] = &["protected"];
    pub(crate) const COMMON: &[&str] = &["mode", "severity"];
    pub(crate) const ASSIGNMENT: &[&str] = &["mode", "severity", "allowed"];
    pub(crate) const SESSION: &[&str] = &["mode", "severity", "max", "privileged_max", "limits"];
    pub(crate) const SESSION_LIMIT: &[&str] = &["permission_sets", "max"];
    pub(crate) const BOUNDARY: &[&str] = &["mode", "severity", "boundary", "exempt_privileged", "exempt"];
    pub(crate) const BOUNDARY_VALUE: &[&str] = &["customer_managed_policy", "path", "managed_policy_arn"];
    pub(crate) const INLINE: &[&str] = &["mode", "severity", "actions", "exempt_privileged", "exempt"];
    pub(crate) const MANAGED: &[&str] = &["mode", "severity", "policies", "exempt_privileged", "exempt"];
    pub(crate) const ABAC: &[&str] = &["mode", "severity", "attributes"];
    pub(crate) const EXCEPTION: &[&str] = &[
        "rule",
        "permission_sets",
        "accounts",
        "principals",
        "owner",
        "reason",
        "expires",
    ];
}

pub(crate) struct Reader<'s> {
    file: &'s str,
    text: &'s str,
    pub(crate) problems: Vec<Problem>,
}

pub(crate) type Value<'i> = Spanned<DeValue<'i>>;

impl<'s> Reader<'s> {
    /// A reader of `text`, reporting problems against `file`.
    pub(crate) fn new(file: &'s str, text: &'s str) -> Self {
        Self {
            file,
            text,
            problems: Vec::new(),
        }
    }

    pub(crate) fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }

    pub(crate) fn problem(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    pub(crate) fn line_of(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    pub(crate) fn table<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        path: &str,
        allowed: &'static [&'static str],
    ) -> Option<Table<'v, 'i>> {
        match value.get_ref() {
            DeValue::Table(t) => Some(Table::new(t, value.span(), path, allowed)),
            other => {
                self.problem(
                    value.span(),
                    path,
                    format!("expected a table, found {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn string(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.to_string()),
            other => {
                self.problem(
                    value.span(),
                    path,
                    format!("expected a string, found {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn non_empty_string(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        let s = self.string(value, path)?;
        if s.trim().is_empty() {
            self.problem(value.span(), path, "must not be empty");
            return None;
        }
        Some(s)
    }

    fn bool(&mut self, value: &Value<'_>, path: &str) -> Option<bool> {
        match value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.problem(
                    value.span(),
                    path,
                    format!("expected true or false, found {}", other.type_str()),
                );
                None
            }
        }
    }

    pub(crate) fn array<'v, 'i>(&mut self, value: &'v Value<'i>, path: &str) -> Option<&'v [Value<'i>]> {
        match value.get_ref() {
            DeValue::Array(a) => Some(a),
            other => {
                self.problem(
                    value.span(),
                    path,
                    format!("expected an array, found {}", other.type_str()),
                );
                None
            }
        }
    }

    /// An array of strings, each parsed by `item`; problems are reported per element.
    pub(crate) fn list<T>(
        &mut self,
        value: &Value<'_>,
        path: &str,
        mut item: impl FnMut(&mut Self, &str, Range<usize>, &str) -> Option<T>,
    ) -> Option<Vec<T>> {
        let array = self.array(value, path)?;
        let mut out = Vec::with_capacity(array.len());
        let mut ok = true;
        for (i, element) in array.iter().enumerate() {
            let element_path = format!("{path}[{i}]");
            match self.string(element, &element_path) {
                Some(s) => match item(self, &s, element.span(), &element_path) {
                    Some(v) => out.push(v),
                    None => ok = false,
                },
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn mode(&mut self, value: &Value<'_>, path: &str) -> Option<Mode> {
        let s = self.string(value, path)?;
        let mode = Mode::parse(&s);
        if mode.is_none() {
            self.problem(
                value.span(),
                path,
                format!("unknown mode {s:?}: expected \"enforce\", \"detect\" or \"off\""),
            );
        }
        mode
    }

    fn duration(&mut self, value: &Value<'_>, path: &str) -> Option<SessionDuration> {
        let s = self.string(value, path)?;
        match SessionDuration::parse(&s) {
            Some(d) if (3600..=43_200).contains(&d.seconds()) => Some(d),
            Some(_) => {
                self.problem(
                    value.span(),
                    path,
                    format!("{s:?} is outside Identity Center's range of PT1H to PT12H"),
                );
                None
            }
            None => {
                self.problem(
                    value.span(),
                    path,
                    format!("{s:?} is not an ISO 8601 duration such as \"PT8H\""),
                );
                None
            }
        }
    }

    fn name_patterns(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<NamePattern>> {
        self.list(value, path, |r, s, span, p| {
            let valid = !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || "_+=,.@-*".contains(c));
            if valid {
                Some(NamePattern::new(s))
            } else {
                r.problem(
                    span,
                    p,
                    format!("{s:?} is not a permission set name pattern (letters, digits, _+=,.@- and *)"),
                );
                None
            }
        })
    }

    /// Mode and severity; a key not given keeps the default rule's value (the baseline runs
    /// identity-store-scim-only in detect, and a table that only sets its severity keeps that).
    fn common(&mut self, table: &mut Table<'_, '_>, default: &RuleCommon) -> RuleCommon {
        let mut common = default.clone();
        if let Some(v) = table.take("mode") {
            common.mode = self.mode(v, &table.child("mode"));
        }
        if let Some(v) = table.take("severity") {
            let path = table.child("severity");
            if let Some(s) = self.string(v, &path) {
                common.severity = Severity::parse(&s);
                if common.severity.is_none() {
                    self.problem(
                        v.span(),
                        &path,
                        format!("unknown severity {s:?}: expected \"low\", \"medium\", \"high\" or \"critical\""),
                    );
                }
            }
        }
        common
    }

    fn exemptions(&mut self, table: &mut Table<'_, '_>, default: &Exemptions) -> Exemptions {
        let mut out = default.clone();
        if let Some(v) = table.take("exempt_privileged") {
            out.privileged = self
                .bool(v, &table.child("exempt_privileged"))
                .unwrap_or(out.privileged);
        }
        if let Some(v) = table.take("exempt") {
            out.names = self.name_patterns(v, &table.child("exempt")).unwrap_or_default();
        }
        out
    }
}

/// A table being read: tracks which keys were consumed so the rest can be reported as unknown.
pub(crate) struct Table<'v, 'i> {
    entries: &'v DeTable<'i>,
    span: Range<usize>,
    path: String,
    allowed: &'static [&'static str],
    taken: Vec<&'static str>,
}

impl<'v, 'i> Table<'v, 'i> {
    pub(crate) fn new(
        entries: &'v DeTable<'i>,
        span: Range<usize>,
        path: &str,
        allowed: &'static [&'static str],
    ) -> Self {
        Self {
            entries,
            span,
            path: path.to_owned(),
            allowed,
            taken: Vec::new(),
        }
    }

    pub(crate) fn take(&mut self, key: &'static str) -> Option<&'v Value<'i>> {
        debug_assert!(self.allowed.contains(&key), "{key} not declared for {}", self.path);
        self.taken.push(key);
        self.entries.get(key)
    }

    pub(crate) fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    pub(crate) fn require(&mut self, r: &mut Reader<'_>, key: &'static str, hint: &str) -> Option<&'v Value<'i>> {
        let v = self.take(key);
        if v.is_none() {
            let path = self.path.clone();
            r.problem(self.span.clone(), &path, format!("missing key `{key}`{hint}"));
        }
        v
    }

    /// Reports every key that was not taken.
    pub(crate) fn finish(self, r: &mut Reader<'_>) {
        for (key, _) in self.entries.iter() {
            let name: &str = key.get_ref();
            if !self.taken.contains(&name) {
                let mut message = format!("unknown key `{name}`");
                if let Some(close) = closest(name, self.allowed) {
                    message.push_str(&format!("; did you mean `{close}`?"));
                } else {
                    message.push_str(&format!("; expected one of: {}", self.allowed.join(", ")));
                }
                r.problem(key.span(), &self.path, message);
            }
        }
    }
}

/// The allowed key nearest to a misspelt one, if it is near enough to be a likely typo.
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut prev: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut cur = vec![i + 1; b.len() + 1];
            for (j, cb) in b.iter().enumerate() {
                cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
            }
            prev = cur;
        }
        prev[b.len()]
    }
    let normalised = name.replace('-', "_");
    allowed
        .iter()
        .map(|k| (distance(&normalised, &k.replace('-', "_")), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

pub(super) fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
    let mut r = Reader {
        file,
        text,
        problems: Vec::new(),
    };
    let (root, syntax) = DeTable::parse_recoverable(text);
    for e in &syntax {
        let span = e.span().unwrap_or(0..0);
        r.problem(span, "", format!("TOML syntax: {}", e.message()));
    }
    let root_span = root.span();
    let root_value = Spanned::new(root_span, DeValue::Table(root.into_inner()));
    let defaults = Policy::default();
    let policy = read_policy(&mut r, &root_value, &defaults);
    if r.problems.is_empty()
        && let Some(p) = policy
    {
        return Ok(p);
    }
    r.problems.sort_by_key(|p| (p.line, p.column));
    r.problems.dedup();
    Err(PolicyError { problems: r.problems })
}

fn read_policy(r: &mut Reader<'_>, root: &Value<'_>, d: &Policy) -> Option<Policy> {
    let mut top = r.table(root, "", keys::TOP)?;
    let mode = top
        .require(r, "mode", ": set the global mode to \"enforce\", \"detect\" or \"off\"")
        .and_then(|v| r.mode(v, "mode"));

    let mut instance_arn = None;
    let mut identity_store_id = None;
    if let Some(v) = top.take("instance")
        && let Some(mut t) = r.table(v, "instance", keys::INSTANCE)
    {
        if let Some(v) = t.take("arn") {
            let path = t.child("arn");
            if let Some(s) = r.string(v, &path) {
                match InstanceArn::parse(&s) {
                    Ok(a) => instance_arn = Some(a),
                    Err(e) => r.problem(v.span(), &path, e.to_string()),
                }
            }
        }
        if let Some(v) = t.take("identity_store_id") {
            let path = t.child("identity_store_id");
            if let Some(s) = r.string(v, &path) {
                match IdentityStoreId::parse(&s) {
                    Ok(a) => identity_store_id = Some(a),
                    Err(e) => r.problem(v.span(), &path, e.to_string()),
                }
            }
        }
        t.finish(r);
    }

    let mut own_identity = d.own_identity.clone();
    if let Some(v) = top.take("own_identity")
        && let Some(mut t) = r.table(v, "own_identity", keys::OWN_IDENTITY)
    {
        if let Some(v) = t.take("role_prefixes") {
            own_identity.role_prefixes = r
                .list(v, &t.child("role_prefixes"), |r, s, span, p| {
                    if s.is_empty() {
                        r.problem(span, p, "an empty prefix would match every role");
                        None
                    } else {
                        Some(s.to_owned())
                    }
                })
                .unwrap_or_default();
        }
        if let Some(v) = t.take("role_arns") {
            own_identity.role_arns = r
                .list(v, &t.child("role_arns"), |r, s, span, p| {
                    if s.starts_with("arn:") && s.contains(":role/") {
                        Some(s.to_owned())
                    } else {
                        r.problem(span, p, format!("{s:?} is not an IAM role ARN"));
                        None
                    }
                })
                .unwrap_or_default();
        }
        t.finish(r);
    }
    if own_identity.role_prefixes.is_empty() && own_identity.role_arns.is_empty() {
        r.problem(
            root.span(),
            "own_identity",
            "name at least one role prefix or role ARN, or idc-guard will react to its own changes",
        );
    }

    let mut privileged = d.privileged.clone();
    if let Some(v) = top.take("permission_sets")
        && let Some(mut t) = r.table(v, "permission_sets", keys::PERMISSION_SETS)
    {
        if let Some(v) = t.take("privileged") {
            privileged = r.name_patterns(v, &t.child("privileged")).unwrap_or_default();
        }
        t.finish(r);
    }

    let mut protected_groups = d.protected_groups.clone();
    if let Some(v) = top.take("groups")
        && let Some(mut t) = r.table(v, "groups", keys::GROUPS)
    {
        if let Some(v) = t.take("protected") {
            protected_groups = r.name_patterns(v, &t.child("protected")).unwrap_or_default();
        }
        t.finish(r);
    }

    let rules = match top.take("rules") {
        Some(v) => read_rules(r, v, &d.rules),
        None => Some(d.rules.clone()),
    };

    let mut exceptions = Vec::new();
    if let Some(v) = top.take("exceptions")
        && let Some(items) = r.array(v, "exceptions")
    {
        for (i, item) in items.iter().enumerate() {
            if let Some(e) = read_exception(r, item, &format!("exceptions[{i}]")) {
                exceptions.push(e);
            }
        }
    }
    let owners = match top.take("owners") {
        Some(v) => read_owners(r, v),
        None => Some(d.owners.clone()),
    };
    top.finish(r);

    Some(Policy {
        mode: mode?,
        instance_arn,
        identity_store_id,
        own_identity,
        privileged,
        protected_groups,
        rules: rules?,
        exceptions,
        owners: owners?,
    })
}

/// An owner or channel name: an SNS attribute value and a secret's key, so printable ASCII
/// without spaces, 1 to 128 characters.
fn owner_name(r: &mut Reader<'_>, s: &str, span: Range<usize>, path: &str) -> Option<String> {
    if !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic()) {
        Some(s.to_owned())
    } else {
        r.problem(
            span,
            path,
            format!("{s:?} is not a name (1 to 128 printable ASCII characters, no spaces)"),
        );
        None
    }
}

fn read_owners(r: &mut Reader<'_>, value: &Value<'_>) -> Option<Owners> {
    let mut t = r.table(value, "owners", keys::OWNERS)?;
    let mut owners = Owners::default();
    let mut ok = true;
    if let Some(v) = t.take("tag_key") {
        let path = t.child("tag_key");
        match r.string(v, &path) {
            // A tag key: 1 to 128 Unicode letters, digits, spaces and _.:/=+-@ (sso-admin's rule).
            Some(k)
                if !k.is_empty()
                    && k.chars().count() <= 128
                    && k.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c)) =>
            {
                owners.tag_key = k;
            }
            Some(k) => {
                r.problem(
                    v.span(),
                    &path,
                    format!("{k:?} is not a tag key (1 to 128 letters, digits, spaces and _.:/=+-@)"),
                );
                ok = false;
            }
            None => ok = false,
        }
    }
    if let Some(v) = t.take("default") {
        let path = t.child("default");
        match r.string(v, &path) {
            Some(s) => match owner_name(r, &s, v.span(), &path) {
                Some(o) => owners.default_owner = o,
                None => ok = false,
            },
            None => ok = false,
        }
    }
    if let Some(v) = t.take("routes")
        && let Some(items) = r.array(v, "owners.routes")
    {
        for (i, item) in items.iter().enumerate() {
            match read_owner_route(r, item, &format!("owners.routes[{i}]")) {
                Some(route) => owners.routes.push(route),
                None => ok = false,
            }
        }
    }
    if let Some(v) = t.take("slack_channels") {
        let path = t.child("slack_channels");
        match v.get_ref() {
            DeValue::Table(entries) => {
                for (k, cv) in entries.iter() {
                    let key: &str = k.get_ref();
                    let kpath = format!("{path}.{key}");
                    let owner = owner_name(r, key, k.span(), &kpath);
                    let channels = r.list(cv, &kpath, owner_name);
                    match (owner, channels) {
                        (Some(_), Some(c)) if c.is_empty() => {
                            r.problem(cv.span(), &kpath, "name at least one channel key, or remove the entry");
                            ok = false;
                        }
                        (Some(o), Some(c)) => owners.slack_channels.push((o, c)),
                        _ => ok = false,
                    }
                }
            }
            other => {
                r.problem(
                    v.span(),
                    &path,
                    format!("expected a table of owner = [channel keys], found {}", other.type_str()),
                );
                ok = false;
            }
        }
    }
    t.finish(r);
    ok.then_some(owners)
}

fn read_owner_route(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<OwnerRoute> {
    let mut t = r.table(value, path, keys::OWNER_ROUTE)?;
    let owner = t.require(r, "owner", "").and_then(|v| {
        let p = format!("{path}.owner");
        let s = r.string(v, &p)?;
        owner_name(r, &s, v.span(), &p)
    });
    let permission_sets = match t.take("permission_sets") {
        Some(v) => r.name_patterns(v, &format!("{path}.permission_sets")),
        None => Some(Vec::new()),
    };
    let accounts = match t.take("accounts") {
        Some(v) => r.list(v, &format!("{path}.accounts"), |r, s, span, p| {
            match AccountId::parse(s) {
                Ok(a) => Some(a),
                Err(e) => {
                    r.problem(span, p, e.to_string());
                    None
                }
            }
        }),
        None => Some(Vec::new()),
    };
    let span = t.span.clone();
    t.finish(r);
    let (permission_sets, accounts) = (permission_sets?, accounts?);
    if permission_sets.is_empty() && accounts.is_empty() {
        r.problem(
            span,
            path,
            "a route names `permission_sets` or `accounts`; the owner of everything else is `owners.default`",
        );
        return None;
    }
    Some(OwnerRoute {
        owner: owner?,
        permission_sets,
        accounts,
    })
}

fn read_rules(r: &mut Reader<'_>, value: &Value<'_>, d: &RuleSettings) -> Option<RuleSettings> {
    let DeValue::Table(entries) = value.get_ref() else {
        r.problem(
            value.span(),
            "rules",
            format!("expected a table, found {}", value.get_ref().type_str()),
        );
        return None;
    };
    let mut out = d.clone();
    for (key, v) in entries.iter() {
        let name: &str = key.get_ref();
        let Some(rule) = RuleId::parse(name) else {
            let ids: Vec<&str> = RuleId::ALL.iter().map(|r| r.as_str()).collect();
            let hint = closest(name, &ids).map_or_else(
                || format!("; known rules: {}", ids.join(", ")),
                |c| format!("; did you mean `{c}`?"),
            );
            r.problem(key.span(), "rules", format!("unknown rule `{name}`{hint}"));
            continue;
        };
        let path = format!("rules.{name}");
        match rule {
            RuleId::AssignmentPrincipalType => {
                if let Some(mut t) = r.table(v, &path, keys::ASSIGNMENT) {
                    let common = r.common(&mut t, &d.assignment_principal_type.common);
                    let mut allowed = d.assignment_principal_type.allowed.clone();
                    if let Some(v) = t.take("allowed") {
                        allowed = r
                            .list(v, &t.child("allowed"), |r, s, span, p| match s {
                                "GROUP" => Some(PrincipalType::Group),
                                "USER" => Some(PrincipalType::User),
                                _ => {
                                    r.problem(
                                        span,
                                        p,
                                        format!("{s:?} is not a principal type: expected \"GROUP\" or \"USER\""),
                                    );
                                    None
                                }
                            })
                            .unwrap_or_default();
                    }
                    t.finish(r);
                    out.assignment_principal_type = AssignmentPrincipalTypeSettings { common, allowed };
                }
            }
            RuleId::SessionDurationCap => {
                if let Some(mut t) = r.table(v, &path, keys::SESSION) {
                    let common = r.common(&mut t, &d.session_duration_cap.common);
                    let dflt = &d.session_duration_cap;
                    let max = t
                        .take("max")
                        .map_or(Some(dflt.max.clone()), |v| r.duration(v, &t.child("max")));
                    let privileged_max = t.take("privileged_max").map_or(Some(dflt.privileged_max.clone()), |v| {
                        r.duration(v, &t.child("privileged_max"))
                    });
                    let mut limits = Vec::new();
                    if let Some(v) = t.take("limits") {
                        let lpath = t.child("limits");
                        if let Some(items) = r.array(v, &lpath) {
                            for (i, item) in items.iter().enumerate() {
                                let ipath = format!("{lpath}[{i}]");
                                if let Some(mut lt) = r.table(item, &ipath, keys::SESSION_LIMIT) {
                                    let sets = lt
                                        .require(r, "permission_sets", "")
                                        .and_then(|v| r.name_patterns(v, &format!("{ipath}.permission_sets")));
                                    let lmax = lt
                                        .require(r, "max", "")
                                        .and_then(|v| r.duration(v, &format!("{ipath}.max")));
                                    lt.finish(r);
                                    if let (Some(permission_sets), Some(max)) = (sets, lmax) {
                                        limits.push(DurationLimit { permission_sets, max });
                                    }
                                }
                            }
                        }
                    }
                    t.finish(r);
                    if let (Some(max), Some(privileged_max)) = (max, privileged_max) {
                        out.session_duration_cap = SessionDurationCapSettings {
                            common,
                            max,
                            privileged_max,
                            limits,
                        };
                    }
                }
            }
            RuleId::PermissionsBoundaryRequired => {
                if let Some(mut t) = r.table(v, &path, keys::BOUNDARY) {
                    let common = r.common(&mut t, &d.permissions_boundary_required.common);
                    let dflt = &d.permissions_boundary_required;
                    let boundary = match t.take("boundary") {
                        Some(v) => read_boundary(r, v, &t.child("boundary")),
                        None => Some(dflt.boundary.clone()),
                    };
                    let exempt = r.exemptions(&mut t, &dflt.exempt);
                    t.finish(r);
                    if let Some(boundary) = boundary {
                        out.permissions_boundary_required = BoundarySettings {
                            common,
                            boundary,
                            exempt,
                        };
                    }
                }
            }
            RuleId::InlinePolicyForbiddenActions => {
                if let Some(mut t) = r.table(v, &path, keys::INLINE) {
                    let common = r.common(&mut t, &d.inline_policy_forbidden_actions.common);
                    let dflt = &d.inline_policy_forbidden_actions;
                    let mut actions = dflt.actions.clone();
                    if let Some(v) = t.take("actions") {
                        actions = r
                            .list(v, &t.child("actions"), |r, s, span, p| {
                                let valid = s == "*"
                                    || s.split_once(':').is_some_and(|(svc, act)| {
                                        !svc.is_empty()
                                            && !act.is_empty()
                                            && !act.contains(':')
                                            && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_*?:".contains(c))
                                    });
                                if valid {
                                    Some(ActionPattern::new(s))
                                } else {
                                    r.problem(span, p, format!("{s:?} is not an IAM action pattern such as \"iam:*\""));
                                    None
                                }
                            })
                            .unwrap_or_default();
                    }
                    let exempt = r.exemptions(&mut t, &dflt.exempt);
                    t.finish(r);
                    out.inline_policy_forbidden_actions = InlinePolicySettings {
                        common,
                        actions,
                        exempt,
                    };
                }
            }
            RuleId::ManagedPolicyForbidden => {
                if let Some(mut t) = r.table(v, &path, keys::MANAGED) {
                    let common = r.common(&mut t, &d.managed_policy_forbidden.common);
                    let dflt = &d.managed_policy_forbidden;
                    let mut policies = dflt.policies.clone();
                    if let Some(v) = t.take("policies") {
                        policies = r
                            .list(v, &t.child("policies"), |r, s, span, p| {
                                if is_aws_managed_policy_arn(s) {
                                    Some(s.to_owned())
                                } else {
                                    r.problem(
                                        span,
                                        p,
                                        format!("{s:?} is not an AWS managed policy ARN (arn:aws:iam::aws:policy/…)"),
                                    );
                                    None
                                }
                            })
                            .unwrap_or_default();
                    }
                    let exempt = r.exemptions(&mut t, &dflt.exempt);
                    t.finish(r);
                    out.managed_policy_forbidden = ManagedPolicySettings {
                        common,
                        policies,
                        exempt,
                    };
                }
            }
            RuleId::AbacAttributesRequired => {
                if let Some(mut t) = r.table(v, &path, keys::ABAC) {
                    let common = r.common(&mut t, &d.abac_attributes_required.common);
                    let mut attributes = d.abac_attributes_required.attributes.clone();
                    if let Some(v) = t.take("attributes") {
                        let apath = t.child("attributes");
                        match v.get_ref() {
                            DeValue::Table(entries) => {
                                attributes.clear();
                                for (k, sv) in entries.iter() {
                                    let key: &str = k.get_ref();
                                    let kpath = format!("{apath}.{key}");
                                    if key.is_empty() || key.len() > 128 {
                                        r.problem(k.span(), &kpath, "an attribute key has 1 to 128 characters");
                                        continue;
                                    }
                                    if let Some(source) = r.string(sv, &kpath) {
                                        if source.is_empty() || source.len() > 256 {
                                            r.problem(sv.span(), &kpath, "an attribute source has 1 to 256 characters, e.g. \"${path:enterprise.department}\"");
                                            continue;
                                        }
                                        attributes.push(AbacAttribute {
                                            key: key.to_owned(),
                                            source,
                                        });
                                    }
                                }
                            }
                            other => r.problem(
                                v.span(),
                                &apath,
                                format!("expected a table of key = \"source\", found {}", other.type_str()),
                            ),
                        }
                    }
                    t.finish(r);
                    out.abac_attributes_required = AbacSettings { common, attributes };
                }
            }
            RuleId::IdentityStoreScimOnly => {
                if let Some(mut t) = r.table(v, &path, keys::COMMON) {
                    let common = r.common(&mut t, &d.identity_store_scim_only.common);
                    t.finish(r);
                    out.identity_store_scim_only = ScimOnlySettings { common };
                }
            }
            RuleId::DesiredAssignments => {
                if let Some(mut t) = r.table(v, &path, keys::COMMON) {
                    let common = r.common(&mut t, &d.desired_assignments.common);
                    t.finish(r);
                    out.desired_assignments = DesiredAssignmentsSettings { common };
                }
            }
        }
    }
    Some(out)
}

fn is_aws_managed_policy_arn(s: &str) -> bool {
    s.strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .is_some_and(|(partition, rest)| {
            partition.starts_with("aws") && rest.strip_prefix("iam::aws:policy/").is_some_and(|n| !n.is_empty())
        })
}

fn read_boundary(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Boundary> {
    let mut t = r.table(value, path, keys::BOUNDARY_VALUE)?;
    let cmp = t.take("customer_managed_policy");
    let cmp_path = t.take("path");
    let managed = t.take("managed_policy_arn");
    let span = t.span.clone();
    t.finish(r);
    match (cmp, managed) {
        (Some(name), None) => {
            let name = r.non_empty_string(name, &format!("{path}.customer_managed_policy"))?;
            let p = match cmp_path {
                Some(v) => {
                    let p = r.string(v, &format!("{path}.path"))?;
                    if !(p.starts_with('/') && p.ends_with('/')) {
                        r.problem(
                            v.span(),
                            &format!("{path}.path"),
                            format!("{p:?} is not an IAM path: it starts and ends with /"),
                        );
                        return None;
                    }
                    p
                }
                None => "/".to_owned(),
            };
            Some(Boundary::CustomerManaged(CustomerManagedPolicyRef { name, path: p }))
        }
        (None, Some(arn)) => {
            let arn_path = format!("{path}.managed_policy_arn");
            let arn_text = r.string(arn, &arn_path)?;
            if let Some(v) = cmp_path {
                r.problem(
                    v.span(),
                    &format!("{path}.path"),
                    "`path` goes with `customer_managed_policy`",
                );
                return None;
            }
            if is_aws_managed_policy_arn(&arn_text) {
                Some(Boundary::ManagedPolicy(arn_text))
            } else {
                r.problem(
                    arn.span(),
                    &arn_path,
                    format!("{arn_text:?} is not an AWS managed policy ARN"),
                );
                None
            }
        }
        _ => {
            r.problem(
                span,
                path,
                "give exactly one of `customer_managed_policy` (with an optional `path`) or `managed_policy_arn`",
            );
            None
        }
    }
}

fn read_exception(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Exception> {
    let mut t = r.table(value, path, keys::EXCEPTION)?;
    let line = r.line_of(&value.span());
    let rule = t.require(r, "rule", "").and_then(|v| {
        let s = r.string(v, &format!("{path}.rule"))?;
        let rule = RuleId::parse(&s);
        if rule.is_none() {
            r.problem(v.span(), &format!("{path}.rule"), format!("unknown rule {s:?}"));
        }
        rule
    });
    let permission_sets = match t.take("permission_sets") {
        Some(v) => r.name_patterns(v, &format!("{path}.permission_sets")),
        None => Some(Vec::new()),
    };
    let accounts = match t.take("accounts") {
        Some(v) => r.list(v, &format!("{path}.accounts"), |r, s, span, p| {
            match AccountId::parse(s) {
                Ok(a) => Some(a),
                Err(e) => {
                    r.problem(span, p, e.to_string());
                    None
                }
            }
        }),
        None => Some(Vec::new()),
    };
    let principals = match t.take("principals") {
        Some(v) => r.list(v, &format!("{path}.principals"), |r, s, span, p| {
            if s.is_empty() || s.len() > 47 {
                r.problem(span, p, format!("{s:?} is not a user or group id"));
                None
            } else {
                Some(s.to_owned())
            }
        }),
        None => Some(Vec::new()),
    };
    let owner = t
        .require(r, "owner", ": every exception has an owner who answers for it")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.owner")));
    let reason = t
        .require(r, "reason", ": say why the exception exists")
        .and_then(|v| r.non_empty_string(v, &format!("{path}.reason")));
    let expires = t
        .require(r, "expires", ": every exception expires (a date such as 2027-03-31)")
        .and_then(|v| {
            let epath = format!("{path}.expires");
            let date = match v.get_ref() {
                DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
                    dt.date.and_then(|d| Date::new(i32::from(d.year), d.month, d.day))
                }
                DeValue::String(s) => Date::parse(s),
                _ => None,
            };
            if date.is_none() {
                r.problem(v.span(), &epath, "expected a date such as 2027-03-31");
            }
            date
        });
    let span = t.span.clone();
    t.finish(r);
    let (permission_sets, accounts, principals) = (permission_sets?, accounts?, principals?);
    if permission_sets.is_empty() && accounts.is_empty() && principals.is_empty() {
        r.problem(span, path, "an exception names `permission_sets`, `accounts` or `principals`; to switch a whole rule off, set its mode to \"off\"");
        return None;
    }
    Some(Exception {
        rule: rule?,
        permission_sets,
        accounts,
        principals,
        owner: owner?,
        reason: reason?,
        expires: expires?,
        line,
    })
}
