//! The access review as one self-contained HTML page: inline CSS (with a print stylesheet) and a
//! small inline script, no external URL, so it works offline, from a file, and on paper.
//!
//! **Escaping.** Every string that comes from the identity provider or AWS goes through
//! [`escape`] (`&`, `<`, `>`, `"`, `'`) in text and attributes alike. The matrix's data is
//! embedded as JSON in `<script type="application/json">`, written by [`script_json`]: `<`, `>`,
//! `&` and U+2028/U+2029 become `\u` escapes, so no name can close the script element or start
//! a comment; the script reads it with `JSON.parse` and writes names into markup only through its
//! own `esc` (the same five characters) or as `textContent`.
//!
//! **Size.** The matrix (accounts × permission sets, each cell naming its groups and users) is
//! the bulk of the page, so it is drawn by the script from compact data: accounts, sets,
//! principals and owners are defined once and cells refer to them by index (see [`page_data`]).
//! The script draws the first [`FIRST_ROWS`] accounts that match the filter, and all of them on
//! "show all", before printing, or with `#all` in the address; BENCHMARKS.md §10 has the
//! numbers for 1,000 accounts × 50 sets.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{Value, json};

use super::{Review, csv};

/// How many accounts the script draws before "show all".
pub const FIRST_ROWS: usize = 100;

/// Findings, dormant assignments and drift rows listed open; more go inside a `<details>`.
const OPEN_ROWS: usize = 200;

/// Escapes text for HTML text and attribute values (quoted with either quote).
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.contains(['&', '<', '>', '"', '\'']) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// JSON text safe inside `<script type="application/json">`: `<`, `>` and `&` (which could end
/// the element or open a comment) and U+2028/U+2029 (line terminators to older JavaScript) are
/// written as `\u` escapes, which JSON reads back as the same characters. Outside strings JSON
/// has none of these characters, so only strings change.
pub fn script_json(value: &Value) -> String {
    let text = value.to_string();
    let mut out = String::with_capacity(text.len() + text.len() / 16);
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// The dormancy codes of [`page_data`]: 0 unknown (no usage joined), then these.
const DORMANCY: [&str; 3] = ["active", "dormant", "not-yet-observed"];

/// The script's data, compact: `a` accounts `[id, name|null, complete]`, `s` sets `[name|null,
/// arn, privileged, complete]`, `p` principals `["G"|"U", name|null, id, complete]`, `o` owners,
/// `u` whether the sheet has usage columns, `t` the base of last-use times (Unix seconds), and
/// `c` the cells: `[account, set, owner, item…]`. An item is a principal's index when nothing
/// else is known of the assignment, else `[principal, code]` or `[principal, code, last_use]`
/// with `code` = dormancy (0 unknown, 1 active, 2 dormant, 3 not yet observed) + 4 × findings,
/// and `last_use` in seconds after `t` (the time as written when it does not parse). A cell
/// whose assignments have several owners is split into one entry per run of the same owner.
pub fn page_data(review: &Review) -> Value {
    let flag = |b: bool| u8::from(b);
    let accounts: Vec<Value> = review
        .accounts
        .iter()
        .map(|a| json!([a.id, a.name, flag(a.complete)]))
        .collect();
    let sets: Vec<Value> = review
        .permission_sets
        .iter()
        .map(|s| json!([s.name, s.arn, flag(s.privileged), flag(s.complete)]))
        .collect();
    let principals: Vec<Value> = review
        .principals
        .iter()
        .map(|p| json!([if p.kind == "USER" { "U" } else { "G" }, p.name, p.id, flag(p.complete)]))
        .collect();
    fn last_use(a: &super::ReviewAssignment) -> Option<(&str, Option<u64>)> {
        a.usage
            .as_ref()
            .and_then(|u| u.last_use.as_deref())
            .map(|l| (l, crate::domain::time::parse_utc(l)))
    }
    let base = review
        .assignments
        .iter()
        .filter_map(|a| last_use(a).and_then(|(_, t)| t))
        .min()
        .unwrap_or(0);
    let mut cells: Vec<Value> = Vec::new();
    let mut current: Option<((usize, usize, usize), Vec<Value>)> = None;
    for a in &review.assignments {
        let key = (a.account, a.set, a.owner);
        let dormancy = a
            .usage
            .as_ref()
            .and_then(|u| DORMANCY.iter().position(|d| *d == u.dormancy))
            .map_or(0, |i| i + 1);
        let code = dormancy + 4 * a.findings;
        let item = match last_use(a) {
            _ if code == 0 && a.usage.is_none() => json!(a.principal),
            None => json!([a.principal, code]),
            Some((_, Some(t))) => json!([a.principal, code, t - base]),
            Some((text, None)) => json!([a.principal, code, text]),
        };
        match &mut current {
            Some((k, items)) if *k == key => items.push(item),
            _ => {
                if let Some((k, items)) = current.take() {
                    cells.push(cell(k, items));
                }
                current = Some((key, vec![item]));
            }
        }
    }
    if let Some((k, items)) = current {
        cells.push(cell(k, items));
    }
    json!({
        "a": accounts,
        "s": sets,
        "p": principals,
        "o": review.owners,
        "u": flag(csv::with_usage(review)),
        "t": base,
        "c": cells,
    })
}

fn cell((account, set, owner): (usize, usize, usize), items: Vec<Value>) -> Value {
    let mut v = vec![json!(account), json!(set), json!(owner)];
    v.extend(items);
    Value::Array(v)
}

/// Appends escaped text.
fn t(out: &mut String, s: &str) {
    out.push_str(&escape(s));
}

/// The page.
pub fn render(review: &Review) -> String {
    let mut h = String::with_capacity(64 * 1024 + review.assignments.len() * 16);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<title>Access review: ");
    t(&mut h, &review.instance);
    h.push_str("</title>\n<style>\n");
    h.push_str(CSS);
    h.push_str("</style>\n</head>\n<body>\n");
    header(&mut h, review);
    matrix(&mut h, review);
    privileged(&mut h, review);
    findings(&mut h, review);
    drift(&mut h, review);
    exceptions(&mut h, review);
    dormant(&mut h, review);
    owners(&mut h, review);
    h.push_str(
        "<footer>Written by <code>idc-guard report</code>. The page is self-contained: it makes no \
         network request. Every name is shown as the directory gives it.</footer>\n",
    );
    h.push_str("<script type=\"application/json\" id=\"review-data\">");
    h.push_str(&script_json(&page_data(review)));
    h.push_str("</script>\n<script>\n");
    h.push_str(&SCRIPT.replace("__FIRST_ROWS__", &FIRST_ROWS.to_string()));
    h.push_str("</script>\n</body>\n</html>\n");
    h
}

fn header(h: &mut String, r: &Review) {
    h.push_str("<header>\n<h1>Access review</h1>\n<p class=\"meta\">Instance <code>");
    t(h, &r.instance);
    h.push_str("</code> · generated ");
    t(h, &r.generated_at);
    h.push_str(" · run <code>");
    t(h, &r.run_id);
    h.push_str("</code></p>\n<nav class=\"no-print\">");
    for (id, title) in [
        ("matrix-section", "Access matrix"),
        ("privileged", "Privileged access"),
        ("findings", "Findings"),
        ("drift", "Drift"),
        ("exceptions", "Exceptions"),
        ("dormant", "Dormant"),
        ("owners", "Recertification"),
    ] {
        let _ = write!(h, "<a href=\"#{id}\">{title}</a> ");
    }
    h.push_str("</nav>\n<ul class=\"cards\">");
    let soon = r.exceptions.iter().filter(|e| e.status != "active").count();
    let dormant = if r.usage.data == "used" {
        r.dormant().count().to_string()
    } else {
        "unknown".to_owned()
    };
    for (label, value) in [
        ("accounts", r.accounts.len().to_string()),
        ("permission sets", r.permission_sets.len().to_string()),
        ("groups and users", r.principals.len().to_string()),
        ("assignments", r.assignments.len().to_string()),
        ("protected groups", r.privileged.len().to_string()),
        ("findings", r.findings.len().to_string()),
        ("dormant", dormant),
        ("exceptions expired or expiring", soon.to_string()),
    ] {
        let _ = write!(h, "<li><b>{value}</b> {label}</li>");
    }
    h.push_str("</ul>\n");
    if !r.unknown.is_empty() {
        h.push_str(
            "<div class=\"warn\"><b>Incomplete:</b> these reads failed; what they cover is marked \
             <span class=\"unk\">unknown</span> below, never shown as absent.<ul>",
        );
        for u in &r.unknown {
            h.push_str("<li>");
            t(h, u);
            h.push_str("</li>");
        }
        h.push_str("</ul></div>\n");
    }
    h.push_str("</header>\n");
}

fn matrix(h: &mut String, r: &Review) {
    h.push_str("<section id=\"matrix-section\">\n<h2>Access matrix</h2>\n");
    h.push_str(
        "<p class=\"legend\">Rows are accounts, columns permission sets (<span class=\"priv\">★</span> \
         privileged). Each cell names the groups and <span class=\"p u\">users</span> assigned; \
         <span class=\"p f\">red</span>: a finding concerns it; <span class=\"p d\">dormant</span>: \
         unused for its whole window; <span class=\"unk\">unknown</span>: the read failed.</p>\n",
    );
    let _ = writeln!(
        h,
        "<div class=\"controls no-print\"><label>Filter <input type=\"search\" id=\"filter\" \
         placeholder=\"account, permission set, group or user\" autocomplete=\"off\"></label> \
         <span id=\"matrix-status\" role=\"status\"></span> <button type=\"button\" id=\"show-all\" \
         hidden>Show all {} accounts</button></div>",
        r.accounts.len()
    );
    h.push_str(
        "<noscript><p class=\"warn\">The matrix is drawn by the page's own inline script (no \
         network): enable JavaScript, or read it with <code>idc-guard report --format json</code>.\
         </p></noscript>\n<div class=\"matrix-wrap\"><table id=\"matrix\" class=\"matrix\"><thead>\
         </thead><tbody></tbody></table></div>\n</section>\n",
    );
}

fn privileged(h: &mut String, r: &Review) {
    h.push_str("<section id=\"privileged\" class=\"later\">\n<h2>Privileged access</h2>\n");
    if r.privileged.is_empty() {
        h.push_str(
            "<p>No protected group: no group matches the policy's <code>[groups] protected</code> \
             and none is assigned a privileged permission set.</p>\n</section>\n",
        );
        return;
    }
    h.push_str(
        "<p>The protected groups (named by the policy, or assigned a privileged permission set) and \
         their members.</p>\n<table class=\"list\"><thead><tr><th>Group</th><th>Why</th><th>Members</th>\
         </tr></thead><tbody>\n",
    );
    for g in &r.privileged {
        h.push_str("<tr><td>");
        if g.name.is_empty() {
            t(h, &g.id);
            h.push_str(" <span class=\"unk\">(name unknown)</span>");
        } else {
            t(h, &g.name);
        }
        h.push_str("</td><td>");
        t(h, &g.reasons.join("; "));
        h.push_str("</td><td>");
        match &g.members {
            None => h.push_str("<span class=\"unk\">unknown: the members could not be read</span>"),
            Some(m) if m.is_empty() => h.push_str("no members"),
            Some(m) => {
                let _ = write!(h, "{} <ul class=\"members\">", m.len());
                for (id, name) in m {
                    h.push_str("<li>");
                    match name {
                        Some(n) => t(h, n),
                        None => {
                            t(h, id);
                            h.push_str(" <span class=\"unk\">(name unknown)</span>");
                        }
                    }
                    h.push_str("</li>");
                }
                h.push_str("</ul>");
            }
        }
        h.push_str("</td></tr>\n");
    }
    h.push_str("</tbody></table>\n</section>\n");
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

fn findings(h: &mut String, r: &Review) {
    h.push_str("<section id=\"findings\" class=\"later\">\n<h2>Findings</h2>\n");
    if r.findings.is_empty() {
        h.push_str("<p>No rule finds anything on the live state.</p>\n</section>\n");
        return;
    }
    let mut by_rule: std::collections::BTreeMap<&str, [usize; 4]> = std::collections::BTreeMap::new();
    for f in &r.findings {
        let i = SEVERITIES.iter().position(|s| *s == f.severity).unwrap_or(3);
        if let Some(n) = by_rule.entry(f.rule.as_str()).or_default().get_mut(i) {
            *n += 1;
        }
    }
    h.push_str("<table class=\"list counts\"><thead><tr><th>Rule</th>");
    for s in SEVERITIES {
        let _ = write!(h, "<th class=\"sev-{s}\">{s}</th>");
    }
    h.push_str("<th>total</th></tr></thead><tbody>\n");
    for (rule, counts) in &by_rule {
        h.push_str("<tr><td><code>");
        t(h, rule);
        h.push_str("</code></td>");
        for n in counts {
            if *n == 0 {
                h.push_str("<td></td>");
            } else {
                let _ = write!(h, "<td>{n}</td>");
            }
        }
        let _ = writeln!(h, "<td>{}</td></tr>", counts.iter().sum::<usize>());
    }
    h.push_str("</tbody></table>\n");
    let mut sorted: Vec<&super::ReviewFinding> = r.findings.iter().collect();
    sorted.sort_by_key(|f| {
        (
            SEVERITIES.iter().position(|s| *s == f.severity).unwrap_or(4),
            f.rule.as_str(),
        )
    });
    open_or_folded(h, sorted.len(), "findings", |h| {
        h.push_str(
            "<table class=\"list\"><thead><tr><th>Severity</th><th>Rule</th><th>Mode</th><th>What</th>\
             <th>Why</th><th>Owner</th></tr></thead><tbody>\n",
        );
        for f in sorted {
            let _ = write!(h, "<tr><td class=\"sev-{}\">", escape(&f.severity));
            t(h, &f.severity);
            h.push_str("</td><td><code>");
            t(h, &f.rule);
            h.push_str("</code></td><td>");
            t(h, &f.mode);
            h.push_str("</td><td>");
            t(h, &f.resource);
            if f.skipped {
                h.push_str(" <span class=\"unk\">(not planned: what it touches is unknown)</span>");
            }
            h.push_str("</td><td>");
            t(h, &f.reason);
            h.push_str("</td><td>");
            t(h, &f.owner);
            h.push_str("</td></tr>\n");
        }
        h.push_str("</tbody></table>\n");
    });
    h.push_str("</section>\n");
}

/// Writes a long list inside a closed `<details>`, a short one as it is.
fn open_or_folded(h: &mut String, n: usize, what: &str, body: impl FnOnce(&mut String)) {
    if n > OPEN_ROWS {
        let _ = writeln!(h, "<details><summary>All {n} {what}</summary>");
        body(h);
        h.push_str("</details>\n");
    } else {
        body(h);
    }
}

fn drift(h: &mut String, r: &Review) {
    h.push_str("<section id=\"drift\" class=\"later\">\n<h2>Drift against the desired file</h2>\n");
    match r.desired.as_str() {
        "absent" => h.push_str(
            "<p>No desired-assignments file was given (<code>--assignments</code>): drift was not \
             judged.</p>\n",
        ),
        "invalid" => {
            h.push_str("<p class=\"warn\"><b>Unknown:</b> the desired-assignments file could not be used");
            if let Some(why) = &r.desired_error {
                h.push_str(": ");
                t(h, why);
            }
            h.push_str("</p>\n");
        }
        _ if r.drift.is_empty() => h.push_str("<p>The live assignments are the desired ones.</p>\n"),
        _ => {
            let extra = r.drift.iter().filter(|d| d.change == "extra").count();
            let _ = writeln!(
                h,
                "<p>{extra} live assignments the file does not list (<b>extra</b>), {} it lists that do \
                 not exist (<b>missing</b>).</p>",
                r.drift.len() - extra
            );
            open_or_folded(h, r.drift.len(), "differences", |h| {
                h.push_str(
                    "<table class=\"list\"><thead><tr><th>Change</th><th>Principal</th><th>Permission set</th>\
                     <th>Account</th><th>Owner</th></tr></thead><tbody>\n",
                );
                for d in &r.drift {
                    let _ = write!(h, "<tr class=\"{}\"><td>", escape(&d.change));
                    for v in [&d.change, &d.principal, &d.permission_set, &d.account] {
                        t(h, v);
                        h.push_str("</td><td>");
                    }
                    t(h, &d.owner);
                    h.push_str("</td></tr>\n");
                }
                h.push_str("</tbody></table>\n");
            });
        }
    }
    if let Some(why) = &r.refused {
        h.push_str("<p class=\"warn\">The reconciler would refuse this plan: ");
        t(h, why);
        h.push_str("</p>\n");
    }
    h.push_str("</section>\n");
}

fn exceptions(h: &mut String, r: &Review) {
    h.push_str("<section id=\"exceptions\" class=\"later\">\n<h2>Exceptions</h2>\n");
    if r.exceptions.is_empty() {
        h.push_str("<p>The policy has no exceptions.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<p>Expiring soonest first (on {}; <b>soon</b>: within {} days).</p>\n<table class=\"list\"><thead>\
         <tr><th>Expires</th><th>Status</th><th>Rule</th><th>Owner</th><th>Reason</th><th>Scope</th>\
         <th>Line</th></tr></thead><tbody>",
        escape(&r.today),
        super::SOON_DAYS
    );
    for e in &r.exceptions {
        let _ = write!(h, "<tr class=\"exc-{}\"><td>", escape(&e.status));
        t(h, &e.expires);
        h.push_str("</td><td>");
        let status = match e.status.as_str() {
            "expired" => format!("expired {} days ago", -e.days_left),
            "soon" => format!("soon: {} days left", e.days_left),
            _ => format!("{} days left", e.days_left),
        };
        t(h, &status);
        h.push_str("</td><td><code>");
        t(h, &e.rule);
        h.push_str("</code></td><td>");
        t(h, &e.owner);
        h.push_str("</td><td>");
        t(h, &e.reason);
        h.push_str("</td><td>");
        t(h, &e.scope);
        let _ = writeln!(h, "</td><td>{}</td></tr>", e.line);
    }
    h.push_str("</tbody></table>\n</section>\n");
}

fn dormant(h: &mut String, r: &Review) {
    h.push_str("<section id=\"dormant\" class=\"later\">\n<h2>Dormant assignments</h2>\n");
    match r.usage.data.as_str() {
        "none" => h.push_str(
            "<p>No usage data (the usage recorder's state table, <code>IDC_GUARD_STATE_TABLE</code>, \
             was not given or holds nothing): dormancy is undetermined, which is not \"unused\".</p>\n",
        ),
        "unavailable" => {
            h.push_str("<p class=\"warn\"><b>Unknown:</b> the usage data could not be read");
            if let Some(e) = &r.usage.error {
                h.push_str(": ");
                t(h, e);
            }
            h.push_str(". Dormancy is undetermined.</p>\n");
        }
        _ => {
            let rows: Vec<&super::ReviewAssignment> = r.dormant().collect();
            h.push_str("<p>Unused for their whole window");
            if let Some(since) = &r.usage.recording_since {
                h.push_str(" (usage recorded since ");
                t(h, since);
                h.push(')');
            }
            let unknown = r.assignments.iter().filter(|a| a.usage.is_none()).count();
            let _ = writeln!(
                h,
                ": {}. {unknown} assignments' use could not be joined (<span class=\"unk\">unknown</span>).</p>",
                rows.len()
            );
            if rows.is_empty() {
                h.push_str("</section>\n");
                return;
            }
            // Listed by the script from the page's data (there may be tens of thousands).
            let _ = writeln!(
                h,
                "<details class=\"items\" data-dormant=\"1\"{}><summary>The {} dormant assignments</summary>\
                 <div class=\"rows\"></div></details>",
                if rows.len() <= OPEN_ROWS { " open" } else { "" },
                rows.len()
            );
        }
    }
    h.push_str("</section>\n");
}

fn owners(h: &mut String, r: &Review) {
    h.push_str("<section id=\"owners\" class=\"later\">\n<h2>Recertification by owner</h2>\n");
    h.push_str(
        "<p>Each owner confirms or removes their assignments: download the sheet, fill in \
         <code>decision</code> with <code>keep</code> or <code>remove</code>, and return it. The owner \
         is the one the desired file names, else the permission set's owner tag, the policy's \
         <code>[owners]</code> routes, or its default owner.</p>\n",
    );
    let mut count = vec![(0usize, 0usize, 0usize); r.owners.len()];
    for a in &r.assignments {
        if let Some(c) = count.get_mut(a.owner) {
            c.0 += 1;
            c.1 += usize::from(a.findings > 0);
            c.2 += usize::from(a.usage.as_ref().is_some_and(|u| u.dormancy == "dormant"));
        }
    }
    for (i, (owner, (n, flagged, dormant))) in r.owners.iter().zip(count).enumerate() {
        let _ = write!(h, "<section class=\"owner\" data-owner=\"{i}\"><h3>");
        t(h, owner);
        let _ = writeln!(
            h,
            "</h3><p>{n} assignments, {flagged} with findings, {} dormant. <button type=\"button\" \
             class=\"csv no-print\" data-owner=\"{i}\">Download CSV</button></p><details class=\"items\" data-owner=\"{i}\">\
             <summary>The assignments</summary><div class=\"rows\"></div></details>\
             <pre class=\"csv-check\" hidden></pre></section>",
            if r.usage.data == "used" {
                dormant.to_string()
            } else {
                "unknown".to_owned()
            }
        );
    }
    if r.owners.is_empty() {
        h.push_str("<p>No assignments.</p>\n");
    }
    h.push_str("</section>\n");
}

const CSS: &str = r#"
:root{--fg:#1d1d1f;--muted:#5f6368;--line:#dadce0;--bg2:#f5f6f8;--bad:#b3261e;--warn:#8a5300;--ok:#1e6b34}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);margin:0 auto;padding:16px 24px;max-width:1600px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 4px}
code{font:12px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.meta{color:var(--muted);margin:0 0 8px}
nav a{margin-right:12px}
.cards{list-style:none;padding:0;margin:12px 0;display:flex;flex-wrap:wrap;gap:8px}
.cards li{background:var(--bg2);border:1px solid var(--line);border-radius:6px;padding:6px 10px}
.cards b{font-size:17px;display:block}
.warn{background:#fff4e5;border-left:4px solid var(--warn);padding:6px 10px}
.unk{color:var(--warn);font-style:italic}
.legend{color:var(--muted)}
.controls{margin:8px 0;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
#filter{width:28em;max-width:100%;padding:4px 6px;font:inherit}
#matrix-status{color:var(--muted)}
.matrix-wrap{overflow:auto;max-height:78vh;border:1px solid var(--line)}
table{border-collapse:collapse}
table.matrix{border-collapse:separate;border-spacing:0;font-size:12px;table-layout:fixed;width:max-content}
.matrix col,.matrix td,.matrix thead th{width:11em}
.matrix thead th.corner,.matrix tbody th{width:13em}
.matrix th,.matrix td{border-right:1px solid var(--line);border-bottom:1px solid var(--line);padding:2px 5px;vertical-align:top;text-align:left}
.matrix thead th{position:sticky;top:0;background:var(--bg2);z-index:2;vertical-align:bottom}
.matrix thead th .v{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap;max-height:16em;overflow:hidden;text-overflow:ellipsis;display:inline-block}
.matrix thead th.corner{left:0;z-index:3}
.matrix tbody th{position:sticky;left:0;background:#fbfbfc;z-index:1;font-weight:600;overflow-wrap:anywhere}
.matrix tbody th small{display:block;font-weight:400;color:var(--muted)}
.matrix .p{display:block;overflow-wrap:anywhere}
.p.u{font-style:italic}
.p.u::before{content:"user ";color:var(--muted);font-size:10px;font-style:normal}
.p.f{color:var(--bad);font-weight:600}
.p.d{text-decoration:line-through;text-decoration-color:var(--muted)}
.p.d::after{content:" dormant";color:var(--muted);font-size:10px}
.hit{background:#fff2a8}
.priv{color:#b06000}
table.list{width:100%;margin:6px 0}
table.list th,table.list td{border-bottom:1px solid var(--line);padding:4px 6px;text-align:left;vertical-align:top}
table.list thead th{background:var(--bg2)}
table.counts{width:auto}
.sev-critical{color:#8c0000;font-weight:700}.sev-high{color:var(--bad);font-weight:600}.sev-medium{color:var(--warn)}.sev-low{color:var(--muted)}
tr.exc-expired td{background:#fde8e7}tr.exc-soon td{background:#fff4e5}
tr.extra td:first-child{color:var(--bad)}tr.missing td:first-child{color:var(--ok)}
ul.members{margin:2px 0;padding-left:18px}
section.owner{border-top:1px dashed var(--line)}
button{font:inherit;padding:3px 10px;cursor:pointer}
footer{margin:32px 0 8px;color:var(--muted);font-size:12px}
@media screen{section.later{content-visibility:auto;contain-intrinsic-size:auto 900px}}
@media print{
 body{font-size:10pt;padding:0;max-width:none}
 .no-print,nav,noscript{display:none!important}
 .matrix-wrap{max-height:none;overflow:visible;border:0}
 .matrix thead th,.matrix tbody th{position:static}
 .matrix thead{display:table-header-group}
 tr{break-inside:avoid}
 h2,h3{break-after:avoid}
 details>summary{list-style:none}
 a{color:inherit;text-decoration:none}
 .hit{background:none}
}
"#;

/// The page's script: draws the matrix from `#review-data`, filters it, writes each owner's
/// sheet (quoted as [`csv::field`] quotes). Names reach markup only through `esc` (the matrix,
/// built as one string for speed) or `textContent`.
const SCRIPT: &str = r#"(function () {
"use strict";
var D = JSON.parse(document.getElementById("review-data").textContent);
var FIRST = __FIRST_ROWS__;
var DORMANCY = ["unknown", "active", "dormant", "not-yet-observed"];
var ESC = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"};
function esc(s) { return String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; }); }
function pName(i) { var p = D.p[i]; return p[1] !== null ? p[1] : p[2] + " (name unknown)"; }
function sName(i) { var s = D.s[i]; return s[0] !== null ? s[0] : s[1] + " (name unknown)"; }
function aName(i) { var a = D.a[i]; return a[1] !== null ? a[1] : a[0]; }
function lastUse(x) {
  if (x.l === undefined) return "none";
  return typeof x.l === "number" ? new Date((D.t + x.l) * 1000).toISOString().replace(/\.\d+Z$/, "Z") : x.l;
}
var pLow = D.p.map(function (p, i) { return (pName(i) + " " + p[2]).toLowerCase(); });
var pHtml = D.p.map(function (p, i) {
  return '<span class="p ' + (p[0] === "U" ? "u" : "g") + '%">' + esc(pName(i)) +
    (p[3] ? "" : '<small class="unk"> (assignments unknown)</small>') + "</span>";
});
var sLow = D.s.map(function (s, i) { return sName(i).toLowerCase(); });
var aLow = D.a.map(function (a) { return (a[0] + " " + (a[1] || "")).toLowerCase(); });
// rows[account] = {set: [item]}, an item {a, s, p, o, f, d, l}, in the model's order.
var rows = new Array(D.a.length), items = [];
D.c.forEach(function (c) {
  var r = rows[c[0]] || (rows[c[0]] = {}), cell = r[c[1]] || (r[c[1]] = []);
  for (var k = 3; k < c.length; k++) {
    var x = c[k], it = typeof x === "number" ? {a: c[0], s: c[1], p: x, o: c[2], f: 0, d: 0}
      : {a: c[0], s: c[1], p: x[0], o: c[2], f: x[1] >> 2, d: x[1] & 3, l: x[2]};
    cell.push(it); items.push(it);
  }
});
var table = document.getElementById("matrix"), input = document.getElementById("filter");
var status = document.getElementById("matrix-status"), more = document.getElementById("show-all");
function el(tag, cls, text) {
  var e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
var showAll = /(^|[#&])all\b/.test(location.hash);
function draw() {
  var q = input.value.trim().toLowerCase(), accts = [], cols = [], a, s;
  var allCols = !q, colHit = [];
  for (a = 0; a < D.a.length; a++) {
    var r = rows[a], keep = !q;
    if (q && aLow[a].indexOf(q) >= 0) { keep = true; allCols = true; }
    else if (q && r) {
      for (s in r) {
        if (sLow[s].indexOf(q) >= 0 || r[s].some(function (x) { return pLow[x.p].indexOf(q) >= 0; })) { keep = true; colHit[s] = true; }
      }
    }
    if (keep) accts.push(a);
  }
  for (s = 0; s < D.s.length; s++) if (allCols || colHit[s] || sLow[s].indexOf(q) >= 0) cols.push(s);
  var html = ['<tr><th class="corner">Account</th>'];
  cols.forEach(function (s) {
    var n = esc(sName(s));
    html.push('<th data-set="' + n + '" title="' + n + '"' + (D.s[s][2] ? ' class="priv"' : "") + '><span class="v">' +
      (D.s[s][2] ? "\u2605 " : "") + n + "</span></th>");
  });
  table.tHead.innerHTML = html.join("") + "</tr>";
  var shown = showAll ? accts.length : Math.min(accts.length, FIRST);
  html = [];
  for (var i = 0; i < shown; i++) {
    a = accts[i];
    var r2 = rows[a] || {}, acct = D.a[a];
    html.push('<tr data-account="' + esc(acct[0]) + '"><th>' + esc(aName(a)) +
      (acct[1] !== null ? "<small>" + esc(acct[0]) + "</small>" : "") +
      (acct[2] ? "" : '<small class="unk">assignments unknown</small>') + "</th>");
    for (var j = 0; j < cols.length; j++) {
      s = cols[j];
      var cell = r2[s];
      html.push('<td data-set="' + esc(sName(s)) + '">');
      if (cell) {
        for (var k = 0; k < cell.length; k++) {
          var x = cell[k], cls = (x.f ? " f" : "") + (x.d === 2 ? " d" : "") + (q && pLow[x.p].indexOf(q) >= 0 ? " hit" : "");
          html.push(pHtml[x.p].replace("%", cls));
        }
      } else if (!acct[2] || !D.s[s][3]) html.push('<span class="unk">unknown</span>');
      html.push("</td>");
    }
    html.push("</tr>");
  }
  table.tBodies[0].innerHTML = html.join("");
  status.textContent = "Showing " + shown + " of " + accts.length + " accounts" + (q ? " matching" : "") +
    ", " + cols.length + " of " + D.s.length + " permission sets, " + items.length + " assignments in all.";
  more.hidden = shown >= accts.length;
  more.textContent = "Show all " + accts.length + " accounts";
}
var timer = null;
input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(draw, 150); });
more.addEventListener("click", function () { showAll = true; draw(); });
window.addEventListener("beforeprint", function () { if (!showAll) { showAll = true; draw(); } });
function csvField(v) {
  var s = String(v), formula = /^[=+\-@\t\r]/.test(s);
  if (formula) s = "'" + s;
  return formula || /[",\n\r]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
function sheet(o) {
  var head = ["principal_type", "principal", "principal_id", "permission_set", "account_id", "account_name", "owner"];
  if (D.u) head.push("last_use", "dormancy");
  head.push("decision");
  var out = [head.join(",")];
  items.forEach(function (x) {
    if (x.o !== o) return;
    var p = D.p[x.p], acct = D.a[x.a];
    var cells = [p[0] === "U" ? "USER" : "GROUP", pName(x.p), p[2], sName(x.s), acct[0], acct[1] !== null ? acct[1] : "unknown", D.o[x.o]];
    if (D.u) { if (x.d === 0) cells.push("unknown", "unknown"); else cells.push(lastUse(x), DORMANCY[x.d]); }
    out.push(cells.map(csvField).join(",") + ",");
  });
  return out.join("\r\n") + "\r\n";
}
Array.prototype.forEach.call(document.querySelectorAll("button.csv"), function (b) {
  b.addEventListener("click", function () {
    var o = +b.getAttribute("data-owner");
    var blob = new Blob(["\ufeff" + sheet(o)], {type: "text/csv;charset=utf-8"});
    var link = el("a"); link.href = URL.createObjectURL(blob);
    link.download = "recertification-" + D.o[o].replace(/[^A-Za-z0-9._-]+/g, "_") + ".csv";
    document.body.appendChild(link); link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  });
});
// The owners' and the dormant assignments' lists, drawn when opened (and before printing).
function fill(d) {
  var box = d.querySelector(".rows");
  if (box.firstChild) return;
  var o = d.hasAttribute("data-owner") ? +d.getAttribute("data-owner") : -1;
  var t = el("table", "list"), hr = el("tr"), tb = el("tbody");
  ["Principal", "Permission set", "Account", "Owner", "Last use", "Findings"].forEach(function (h) { hr.appendChild(el("th", "", h)); });
  t.appendChild(el("thead")).appendChild(hr);
  items.forEach(function (x) {
    if (o >= 0 ? x.o !== o : x.d !== 2) return;
    var tr = el("tr");
    [(D.p[x.p][0] === "U" ? "user " : "group ") + pName(x.p), sName(x.s), aName(x.a) + " " + D.a[x.a][0], D.o[x.o],
     x.d === 0 ? (D.u ? "unknown" : "") : lastUse(x) + " (" + DORMANCY[x.d] + ")", x.f ? String(x.f) : ""].forEach(function (v) { tr.appendChild(el("td", "", v)); });
    tb.appendChild(tr);
  });
  t.appendChild(tb); box.appendChild(t);
}
var lists = document.querySelectorAll("details.items");
Array.prototype.forEach.call(lists, function (d) {
  if (d.open) fill(d);
  d.addEventListener("toggle", function () { if (d.open) fill(d); });
});
window.addEventListener("beforeprint", function () { Array.prototype.forEach.call(lists, function (d) { fill(d); d.open = true; }); });
if (/(^|[#&])csv\b/.test(location.hash)) {
  Array.prototype.forEach.call(document.querySelectorAll("section.owner"), function (sec) {
    var pre = sec.querySelector("pre.csv-check");
    pre.textContent = sheet(+sec.getAttribute("data-owner")); pre.hidden = false;
  });
}
draw();
void table.offsetHeight;
document.documentElement.setAttribute("data-rendered-ms", performance.now().toFixed(1));
})();
"#;
