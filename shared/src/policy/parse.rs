//! Reading `guardrail.toml`: the top-level sections, each rule's table through the rule itself,
//! exceptions and owners. Every problem is collected (see `crate::spanned`).

use std::ops::Range;

use toml::de::DeValue;

use super::{Exception, OwnIdentity, OwnerRoute, Owners, Policy, PolicyError, Revocation, RuleCommon, RuleTable};
use crate::domain::{Date, IdentityStoreId, InstanceArn, NamePattern, SessionDuration};
use crate::rules::{self, RULES};
use crate::spanned::{Reader, Table, Value, closest};

/// Keys accepted at each level; the JSON Schema test checks that the schema lists the same.
pub(super) mod keys {
    pub(crate) const TOP: &[&str] = &[
        "mode",
        "instance",
        "own_identity",
        "permission_sets",
        "groups",
        "rules",
        "exceptions",
        "owners",
        "revocation",
    ];
    pub(crate) const REVOCATION: &[&str] = &["mode", "margin"];
    pub(crate) const OWNERS: &[&str] = &["tag_key", "default", "routes", "slack_channels"];
    pub(crate) const OWNER_ROUTE: &[&str] = &["owner", "permission_sets", "accounts"];
    pub(crate) const INSTANCE: &[&str] = &["arn", "identity_store_id", "regions"];
    pub(crate) const OWN_IDENTITY: &[&str] = &["role_prefixes", "role_arns"];
    pub(crate) const PERMISSION_SETS: &[&str] = &["privileged"];
    pub(crate) const GROUPS: &[&str] = &["protected"];
    /// The keys every rule's table has, before its own.
    pub(crate) const COMMON: &[&str] = &["mode", "severity"];
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

pub(super) fn parse(file: &str, text: &str) -> Result<Policy, PolicyError> {
    let mut r = Reader::new(file, text);
    let root = r.parse_root();
    let policy = read_policy(&mut r, &root, &Policy::default());
    r.finish(policy)
}

fn read_policy(r: &mut Reader<'_>, root: &Value<'_>, d: &Policy) -> Option<Policy> {
    let mut top = r.table(root, "", keys::TOP)?;
    let mode = top
        .require(r, "mode", ": set the global mode to \"enforce\", \"detect\" or \"off\"")
        .and_then(|v| r.mode(v, "mode"));
    let (instance_arn, identity_store_id, regions) = match top.take("instance") {
        Some(v) => read_instance(r, v),
        None => (None, None, Vec::new()),
    };
    let own_identity = read_own_identity(r, top.take("own_identity"), &d.own_identity);
    let privileged = read_patterns(r, top.take("permission_sets"), "permission_sets", keys::PERMISSION_SETS)
        .unwrap_or_else(|| d.privileged.clone());
    let protected_groups =
        read_patterns(r, top.take("groups"), "groups", keys::GROUPS).unwrap_or_else(|| d.protected_groups.clone());
    let rules = match top.take("rules") {
        Some(v) => read_rules(r, v, &d.rules),
        None => Some(d.rules.clone()),
    };
    let exceptions = top
        .take("exceptions")
        .map(|v| read_exceptions(r, v))
        .unwrap_or_default();
    let owners = match top.take("owners") {
        Some(v) => read_owners(r, v),
        None => Some(d.owners.clone()),
    };
    let revocation = match top.take("revocation") {
        Some(v) => read_revocation(r, v, d.revocation),
        None => Some(d.revocation),
    };
    top.finish(r);
    Some(Policy {
        mode: mode?,
        instance_arn,
        identity_store_id,
        regions,
        own_identity,
        privileged,
        protected_groups,
        rules: rules?,
        exceptions,
        owners: owners?,
        revocation: revocation?,
    })
}

fn read_revocation(r: &mut Reader<'_>, value: &Value<'_>, d: Revocation) -> Option<Revocation> {
    let mut t = r.table(value, "revocation", keys::REVOCATION)?;
    let mode = match t.take("mode") {
        Some(v) => r.mode(v, &t.child("mode")),
        None => Some(d.mode),
    };
    let margin = match t.take("margin") {
        Some(v) => {
            let path = t.child("margin");
            r.string(v, &path)
                .and_then(|s| match SessionDuration::parse(&s).map(|m| m.seconds()) {
                    Some(seconds) if seconds <= Revocation::MAX_MARGIN => Some(seconds),
                    Some(_) => {
                        r.problem(
                            v.span(),
                            &path,
                            format!("{s:?} is longer than the longest margin, PT30M"),
                        );
                        None
                    }
                    None => {
                        r.problem(
                            v.span(),
                            &path,
                            format!("{s:?} is not an ISO 8601 duration such as \"PT10M\""),
                        );
                        None
                    }
                })
        }
        None => Some(d.margin),
    };
    t.finish(r);
    Some(Revocation {
        mode: mode?,
        margin: margin?,
    })
}

fn read_instance(r: &mut Reader<'_>, value: &Value<'_>) -> (Option<InstanceArn>, Option<IdentityStoreId>, Vec<String>) {
    let Some(mut t) = r.table(value, "instance", keys::INSTANCE) else {
        return (None, None, Vec::new());
    };
    let parsed = |r: &mut Reader<'_>, t: &mut Table<'_, '_>, key: &'static str| {
        let v = t.take(key)?;
        let path = t.child(key);
        let s = r.string(v, &path)?;
        Some((s, v.span(), path))
    };
    let arn = parsed(r, &mut t, "arn").and_then(|(s, span, path)| match InstanceArn::parse(&s) {
        Ok(a) => Some(a),
        Err(e) => {
            r.problem(span, &path, e.to_string());
            None
        }
    });
    let store = parsed(r, &mut t, "identity_store_id").and_then(|(s, span, path)| match IdentityStoreId::parse(&s) {
        Ok(a) => Some(a),
        Err(e) => {
            r.problem(span, &path, e.to_string());
            None
        }
    });
    // The instance's Regions (issue #19: multi-Region replication): its primary and the
    // replicas whose events are judged. Region names as AWS writes them (`eu-west-1`).
    let regions = match t.take("regions") {
        Some(v) => r
            .list(v, &t.child("regions"), |r, s, span, p| {
                let valid = s.split('-').count() >= 3
                    && s.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && s.bytes().last().is_some_and(|b| b.is_ascii_digit());
                if valid {
                    Some(s.to_owned())
                } else {
                    r.problem(span, p, format!("{s:?} is not an AWS Region name (like \"eu-west-1\")"));
                    None
                }
            })
            .unwrap_or_default(),
        None => Vec::new(),
    };
    t.finish(r);
    (arn, store, regions)
}

fn read_own_identity(r: &mut Reader<'_>, value: Option<&Value<'_>>, d: &OwnIdentity) -> OwnIdentity {
    let mut own = d.clone();
    if let Some(v) = value
        && let Some(mut t) = r.table(v, "own_identity", keys::OWN_IDENTITY)
    {
        if let Some(v) = t.take("role_prefixes") {
            own.role_prefixes = r
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
            own.role_arns = r
                .list(v, &t.child("role_arns"), |r, s, span, p| {
                    if crate::domain::ids::role_arn_parts(s).is_some() {
                        Some(s.to_owned())
                    } else {
                        r.problem(
                            span,
                            p,
                            format!("{s:?} is not an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)"),
                        );
                        None
                    }
                })
                .unwrap_or_default();
        }
        t.finish(r);
    }
    own
}

/// A one-key section holding name patterns (`[permission_sets] privileged`, `[groups] protected`);
/// `None` when the section or its key is not given.
fn read_patterns(
    r: &mut Reader<'_>,
    value: Option<&Value<'_>>,
    section: &str,
    allowed: &'static [&'static str],
) -> Option<Vec<NamePattern>> {
    let mut t = r.table(value?, section, allowed)?;
    let key = allowed.first()?;
    let patterns = t
        .take(key)
        .map(|v| r.name_patterns(v, &t.child(key)).unwrap_or_default());
    t.finish(r);
    patterns
}

/// `[rules.<id>]`: mode and severity, then what the rule itself reads.
fn read_rules(r: &mut Reader<'_>, value: &Value<'_>, d: &RuleTable) -> Option<RuleTable> {
    let DeValue::Table(entries) = value.get_ref() else {
        r.problem(
            value.span(),
            "rules",
            format!("expected a table, found {}", value.get_ref().type_str()),
        );
        return None;
    };
    let mut out = d.clone();
    let mut ok = true;
    for (key, v) in entries.iter() {
        let name: &str = key.get_ref();
        let Some(rule) = rules::find(name) else {
            let ids: Vec<&str> = RULES.iter().map(|r| r.doc().id.as_str()).collect();
            let hint = closest(name, &ids).map_or_else(
                || format!("; known rules: {}", ids.join(", ")),
                |c| format!("; did you mean `{c}`?"),
            );
            r.problem(key.span(), "rules", format!("unknown rule `{name}`{hint}"));
            continue;
        };
        let path = format!("rules.{name}");
        let allowed: Vec<&'static str> = keys::COMMON.iter().chain(rule.keys()).copied().collect();
        let Some(config) = out.iter_mut().find(|c| c.rule.doc().id == rule.doc().id) else {
            continue;
        };
        let Some(mut t) = r.table(v, &path, &allowed) else {
            continue;
        };
        let common = read_common(r, &mut t, &config.common);
        let settings = rule.read_settings(r, &mut t, config.settings.as_ref());
        t.finish(r);
        match settings {
            Some(settings) => {
                config.common = common;
                config.settings = settings;
            }
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Mode and severity; a key not given keeps the default rule's value (the baseline runs
/// identity-store-scim-only in detect, and a table that only sets its severity keeps that).
fn read_common(r: &mut Reader<'_>, table: &mut Table<'_, '_>, default: &RuleCommon) -> RuleCommon {
    let mut common = *default;
    if let Some(v) = table.take("mode") {
        common.mode = r.mode(v, &table.child("mode"));
    }
    if let Some(v) = table.take("severity") {
        common.severity = r.severity(v, &table.child("severity"));
    }
    common
}

fn read_exceptions(r: &mut Reader<'_>, value: &Value<'_>) -> Vec<Exception> {
    let Some(items) = r.array(value, "exceptions") else {
        return Vec::new();
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| read_exception(r, item, &format!("exceptions[{i}]")))
        .collect()
}

fn read_exception(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Exception> {
    let mut t = r.table(value, path, keys::EXCEPTION)?;
    let line = r.line_of(&value.span());
    let rule = t.require(r, "rule", "").and_then(|v| {
        let s = r.string(v, &format!("{path}.rule"))?;
        let rule = rules::find(&s).map(|r| r.doc().id);
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
        Some(v) => r.accounts(v, &format!("{path}.accounts")),
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
        .and_then(|v| read_date(r, v, &format!("{path}.expires")));
    let span = t.span();
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

/// A TOML local date (`2027-03-31`) or a string holding one.
fn read_date(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Date> {
    let date = match value.get_ref() {
        DeValue::Datetime(dt) if dt.time.is_none() && dt.offset.is_none() => {
            dt.date.and_then(|d| Date::new(i32::from(d.year), d.month, d.day))
        }
        DeValue::String(s) => Date::parse(s),
        _ => None,
    };
    if date.is_none() {
        r.problem(value.span(), path, "expected a date such as 2027-03-31");
    }
    date
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
        match read_tag_key(r, v, &t.child("tag_key")) {
            Some(k) => owners.tag_key = k,
            None => ok = false,
        }
    }
    if let Some(v) = t.take("default") {
        let path = t.child("default");
        match r.string(v, &path).and_then(|s| owner_name(r, &s, v.span(), &path)) {
            Some(o) => owners.default_owner = o,
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
        match read_slack_channels(r, v, &t.child("slack_channels")) {
            Some(channels) => owners.slack_channels = channels,
            None => ok = false,
        }
    }
    t.finish(r);
    ok.then_some(owners)
}

/// A tag key: 1 to 128 Unicode letters, digits, spaces and _.:/=+-@ (sso-admin's rule).
fn read_tag_key(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<String> {
    let k = r.string(value, path)?;
    if !k.is_empty() && k.chars().count() <= 128 && k.chars().all(|c| c.is_alphanumeric() || " _.:/=+-@".contains(c)) {
        return Some(k);
    }
    r.problem(
        value.span(),
        path,
        format!("{k:?} is not a tag key (1 to 128 letters, digits, spaces and _.:/=+-@)"),
    );
    None
}

fn read_slack_channels(r: &mut Reader<'_>, value: &Value<'_>, path: &str) -> Option<Vec<(String, Vec<String>)>> {
    let DeValue::Table(entries) = value.get_ref() else {
        r.problem(
            value.span(),
            path,
            format!(
                "expected a table of owner = [channel keys], found {}",
                value.get_ref().type_str()
            ),
        );
        return None;
    };
    let mut out = Vec::new();
    let mut ok = true;
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
            (Some(o), Some(c)) => out.push((o, c)),
            _ => ok = false,
        }
    }
    ok.then_some(out)
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
        Some(v) => r.accounts(v, &format!("{path}.accounts")),
        None => Some(Vec::new()),
    };
    let span = t.span();
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
