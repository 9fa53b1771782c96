//! The layer check: every `crate::…` path in the library's code names a module at or below its
//! own layer, so the module graph has no cycle. ARCHITECTURE.md lists the same order.
//!
//! It reads the sources as text (test code is left out: a test may reach up to build what it
//! needs), finds each top-level module's `crate::<module>` paths in `use` items and expressions,
//! and fails naming the file, the line and both layers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The layers, bottom first: a module may use only the modules before it.
pub(crate) const LAYERS: &[&str] = &[
    "domain",
    "iam",
    "spanned",
    "rules",
    "policy",
    "event",
    "engine",
    "report",
    "ports",
    "retry",
    "pace",
    "revocation",
    "remediation",
    "guard",
    "safety",
    "notify",
    "inventory",
    "usage",
    "hygiene",
    "desired",
    "reconcile",
    "review",
    "metrics",
    "routing",
    "adapters",
    "config",
    "wiring",
    "doctor",
    "lambda",
];

/// A `crate::…` path that goes up the order (or names an unknown module).
#[derive(Debug, PartialEq, Eq)]
struct Violation {
    file: PathBuf,
    line: usize,
    from: String,
    to: String,
}

/// The top-level module a source file belongs to (`src/guard/live.rs` → `guard`).
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    Some(first.trim_end_matches(".rs").to_owned())
}

/// The code of a file, without its test modules and comments: what ships.
fn shipped(text: &str) -> String {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    code.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::<module>` named in `code`, with its line.
fn named_modules(code: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            let after = &rest[at + "crate::".len()..];
            // `idc_guard_tests::crate::` cannot occur; `super::` paths stay within a module.
            if before.is_none_or(|c| !(c.is_alphanumeric() || c == '_')) {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_' || c.is_ascii_digit())
                    .collect();
                if !name.is_empty() {
                    out.push((i + 1, name));
                } else if let Some(group) = after.strip_prefix('{') {
                    // `use crate::{a, b::c};`
                    for item in group.split(['}', ',']) {
                        let name: String = item
                            .trim()
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if !name.is_empty() {
                            out.push((i + 1, name));
                        }
                    }
                }
            }
            rest = after;
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every edge that goes up the order, in the sources under `src`.
fn violations(src: &Path) -> Vec<Violation> {
    let rank: BTreeMap<&str, usize> = LAYERS.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut found = Vec::new();
    for file in files {
        let Some(from) = module_of(src, &file) else { continue };
        // lib.rs declares the modules; test-only files are not shipped code.
        if from == "lib" || from == "layering" || file.ends_with("tests.rs") || file.ends_with("test_support.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        for (line, to) in named_modules(&shipped(&text)) {
            let allowed = match (rank.get(from.as_str()), rank.get(to.as_str())) {
                (Some(f), Some(t)) => t <= f,
                _ => false,
            };
            if !allowed {
                found.push(Violation {
                    file: file.clone(),
                    line,
                    from: from.clone(),
                    to,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_uses_only_the_layers_below_it() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut declared: Vec<String> = std::fs::read_to_string(src.join("lib.rs"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| {
                l.trim()
                    .strip_prefix("pub mod ")
                    .map(|m| m.trim_end_matches(';').to_owned())
            })
            .collect();
        declared.sort();
        let mut layered: Vec<String> = LAYERS.iter().map(|m| (*m).to_owned()).collect();
        layered.sort();
        assert_eq!(declared, layered, "lib.rs's modules and the layer list differ");
        let found = violations(&src);
        let report: Vec<String> = found
            .iter()
            .map(|v| {
                format!(
                    "{}:{}: `{}` uses `crate::{}`, which is not below it",
                    v.file.display(),
                    v.line,
                    v.from,
                    v.to
                )
            })
            .collect();
        assert!(report.is_empty(), "{}", report.join("\n"));
    }

    #[test]
    fn the_check_sees_upward_edges_and_grouped_imports() {
        let code = shipped(
            "use crate::{domain::X, wiring};\nfn f() { crate::guard::g(); } // crate::lambda\n#[cfg(test)]\nuse crate::lambda;",
        );
        let names: Vec<String> = named_modules(&code).into_iter().map(|(_, n)| n).collect();
        assert_eq!(names, ["domain", "wiring", "guard"]);
        let dir = std::env::temp_dir().join(format!("idc-guard-layering-{}", std::process::id()));
        let _ = std::fs::create_dir_all(dir.join("rules"));
        let _ = std::fs::write(
            dir.join("rules/mod.rs"),
            "use crate::guard::Guard;\nuse crate::domain::X;\n",
        );
        let found = violations(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            found,
            [Violation {
                file: dir.join("rules/mod.rs"),
                line: 1,
                from: "rules".to_owned(),
                to: "guard".to_owned(),
            }]
        );
    }
}
