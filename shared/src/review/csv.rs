//! The recertification sheet: one row per assignment, with a `decision` column left blank for
//! the owner to fill in with `keep` or `remove`.
//!
//! The page's script writes the same sheet per owner (`html.rs`, `csvField`); both quote the
//! same way, and a test in `tests/it/report_html.rs` compares them.

use super::Review;

/// The sheet's columns without usage data.
pub const COLUMNS: &[&str] = &[
    "principal_type",
    "principal",
    "principal_id",
    "permission_set",
    "account_id",
    "account_name",
    "owner",
];

/// The usage columns, present when the run had usage data (read or failed).
pub const USAGE_COLUMNS: &[&str] = &["last_use", "dormancy"];

/// One CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, quotes
/// doubled. A field a spreadsheet would take for a formula (starting with `=`, `+`, `-`, `@`, a
/// tab or a carriage return; names come from an identity provider) is prefixed with `'` and
/// quoted, as OWASP's "CSV injection" advice says.
pub fn field(s: &str) -> String {
    let formula = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let text = if formula { format!("'{s}") } else { s.to_owned() };
    if formula || text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// Whether the sheet carries the usage columns.
pub fn with_usage(review: &Review) -> bool {
    review.usage.data != "none"
}

/// The sheet for one owner (an index into [`Review::owners`]), or for every owner.
pub fn sheet(review: &Review, owner: Option<usize>) -> String {
    let usage = with_usage(review);
    let mut header: Vec<&str> = COLUMNS.to_vec();
    if usage {
        header.extend(USAGE_COLUMNS);
    }
    header.push("decision");
    let mut out = header.join(",");
    out.push_str("\r\n");
    for a in review.assignments.iter().filter(|a| owner.is_none_or(|o| a.owner == o)) {
        let (Some(p), Some(account)) = (review.principals.get(a.principal), review.accounts.get(a.account)) else {
            continue;
        };
        let mut cells = vec![
            field(&p.kind),
            field(&review.principal_label(a.principal)),
            field(&p.id),
            field(&review.set_label(a.set)),
            field(&account.id),
            field(account.name.as_deref().unwrap_or("unknown")),
            field(review.owners.get(a.owner).map_or("", String::as_str)),
        ];
        if usage {
            match &a.usage {
                Some(u) => {
                    cells.push(field(u.last_use.as_deref().unwrap_or("none")));
                    cells.push(field(&u.dormancy));
                }
                None => cells.extend(["unknown".to_owned(), "unknown".to_owned()]),
            }
        }
        cells.push(String::new());
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}
