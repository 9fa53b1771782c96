//! Reading TOML files recoverably, with every problem's file, line and column: the reader the
//! policy file, each rule's settings and the desired-assignments file are read with.
//!
//! Serde's derive stops at the first problem; a policy author wants them all. So the TOML is
//! parsed recoverably into a spanned tree and walked by hand: each table checks its keys against
//! the list it accepts, each value is validated where it stands, and every problem is collected
//! with its location. Positions come from an index of line starts built once per file, so
//! reporting many problems stays linear in the file's size.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::domain::{AccountId, Mode, NamePattern, Severity};

/// One problem in a policy (or desired-assignments) file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file name as given.
    pub file: String,
    /// 1-based line (0 when the file could not be read at all).
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
        if self.line == 0 {
            write!(f, "{}: ", self.file)?;
        } else {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    /// The problems; never empty.
    pub problems: Vec<Problem>,
}

impl PolicyError {
    /// The file could not be read at all.
    pub fn io(file: &str, what: &str, err: &std::io::Error) -> Self {
        Self {
            problems: vec![Problem {
                file: file.to_owned(),
                line: 0,
                column: 0,
                path: String::new(),
                message: format!("cannot read the {what}: {err}"),
            }],
        }
    }
}

impl PolicyError {
    /// Whether the file could not be read at all (as opposed to read and found invalid).
    pub fn unreadable(&self) -> bool {
        self.problems.iter().any(|p| p.line == 0)
    }
}

/// Reads a UTF-8 text file: a file that is not UTF-8 is a problem at the line and column of the
/// first byte that is not, rather than an I/O error without a place.
///
/// # Errors
/// The file cannot be read, or is not UTF-8 text.
pub fn read_text(path: &std::path::Path, what: &str) -> Result<String, PolicyError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| PolicyError::io(&file, what, &e))?;
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let at = e.utf8_error().valid_up_to();
        let before = &bytes[..at];
        let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        // The valid prefix decodes; count characters, not bytes, for the column.
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        PolicyError {
            problems: vec![Problem {
                file: file.clone(),
                line: before.iter().filter(|b| **b == b'\n').count() + 1,
                column,
                path: String::new(),
                message: format!("the {what} is not UTF-8 text (byte 0x{:02x} at offset {at})", bytes[at]),
            }],
        }
    })
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

/// A spanned TOML value.
pub type Value<'i> = Spanned<DeValue<'i>>;

/// Reads one file, collecting problems.
pub struct Reader<'s> {
    file: &'s str,
    text: &'s str,
    /// Byte offset of each line's start.
    line_starts: Vec<usize>,
    problems: Vec<Problem>,
}

impl<'s> Reader<'s> {
    /// A reader of `text`, reporting problems against `file`.
    pub fn new(file: &'s str, text: &'s str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file,
            text,
            line_starts,
            problems: Vec::new(),
        }
    }

    /// Parses the text recoverably: the root table, with TOML syntax errors already reported.
    pub fn parse_root(&mut self) -> Value<'s> {
        let (root, syntax) = DeTable::parse_recoverable(self.text);
        for e in &syntax {
            let span = e.span().unwrap_or(0..0);
            self.problem(span, "", format!("TOML syntax: {}", e.message()));
        }
        let span = root.span();
        Spanned::new(span, DeValue::Table(root.into_inner()))
    }

    /// Ends reading: the value if nothing was wrong, else every problem in file order.
    pub fn finish<T>(mut self, value: Option<T>) -> Result<T, PolicyError> {
        if self.problems.is_empty()
            && let Some(v) = value
        {
            return Ok(v);
        }
        self.problems.sort_by_key(|p| (p.line, p.column));
        self.problems.dedup();
        if self.problems.is_empty() {
            // A reader that returned nothing must have said why; if not, say so rather than pass.
            self.problems.push(Problem {
                file: self.file.to_owned(),
                line: 1,
                column: 1,
                path: String::new(),
                message: "the file could not be read".to_owned(),
            });
        }
        Err(PolicyError {
            problems: self.problems,
        })
    }

    /// Whether any problem was reported so far.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// 1-based line and column (in characters) of a byte offset: a binary search in the line
    /// index, then the characters of that one line.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        (line, column)
    }

    /// Reports a problem at `span`.
    pub fn problem(&mut self, span: Range<usize>, path: &str, message: impl Into<String>) {
        let (line, column) = self.position(span.start);
        self.problems.push(Problem {
            file: self.file.to_owned(),
            line,
            column,
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// The 1-based line a span starts on.
    pub fn line_of(&self, span: &Range<usize>) -> usize {
        self.position(span.start).0
    }

    /// A table whose keys must be among `allowed`.
    pub fn table<'v, 'i>(
        &mut self,
        value: &'v Value<'i>,
        path: &str,
        allowed: &[&'static str],
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

    /// A string.
    pub fn string(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
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

    /// A string that is not blank.
    pub fn non_empty_string(&mut self, value: &Value<'_>, path: &str) -> Option<String> {
        let s = self.string(value, path)?;
        if s.trim().is_empty() {
            self.problem(value.span(), path, "must not be empty");
            return None;
        }
        Some(s)
    }

    /// `true` or `false`.
    pub fn bool(&mut self, value: &Value<'_>, path: &str) -> Option<bool> {
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

    /// An array.
    pub fn array<'v, 'i>(&mut self, value: &'v Value<'i>, path: &str) -> Option<&'v [Value<'i>]> {
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
    pub fn list<T>(
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

    /// `enforce`, `detect` or `off`.
    pub fn mode(&mut self, value: &Value<'_>, path: &str) -> Option<Mode> {
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

    /// `low`, `medium`, `high` or `critical`.
    pub fn severity(&mut self, value: &Value<'_>, path: &str) -> Option<Severity> {
        let s = self.string(value, path)?;
        let severity = Severity::parse(&s);
        if severity.is_none() {
            self.problem(
                value.span(),
                path,
                format!("unknown severity {s:?}: expected \"low\", \"medium\", \"high\" or \"critical\""),
            );
        }
        severity
    }

    /// Permission set (or group) name patterns.
    pub fn name_patterns(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<NamePattern>> {
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

    /// 12-digit account ids.
    pub fn accounts(&mut self, value: &Value<'_>, path: &str) -> Option<Vec<AccountId>> {
        self.list(value, path, |r, s, span, p| match AccountId::parse(s) {
            Ok(a) => Some(a),
            Err(e) => {
                r.problem(span, p, e.to_string());
                None
            }
        })
    }
}

/// A table being read: tracks which keys were consumed so the rest can be reported as unknown.
pub struct Table<'v, 'i> {
    entries: &'v DeTable<'i>,
    span: Range<usize>,
    path: String,
    allowed: Vec<&'static str>,
    taken: Vec<&'static str>,
}

impl<'v, 'i> Table<'v, 'i> {
    fn new(entries: &'v DeTable<'i>, span: Range<usize>, path: &str, allowed: &[&'static str]) -> Self {
        Self {
            entries,
            span,
            path: path.to_owned(),
            allowed: allowed.to_vec(),
            taken: Vec::new(),
        }
    }

    /// The value of `key`, if given; `key` must be one of the allowed keys.
    pub fn take(&mut self, key: &'static str) -> Option<&'v Value<'i>> {
        debug_assert!(self.allowed.contains(&key), "{key} not declared for {}", self.path);
        self.taken.push(key);
        self.entries.get(key)
    }

    /// The path of a key of this table.
    pub fn child(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// This table's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// This table's span.
    pub fn span(&self) -> Range<usize> {
        self.span.clone()
    }

    /// The value of `key`, reporting it missing (with `hint`) when it is not given.
    pub fn require(&mut self, r: &mut Reader<'_>, key: &'static str, hint: &str) -> Option<&'v Value<'i>> {
        let v = self.take(key);
        if v.is_none() {
            let path = self.path.clone();
            r.problem(self.span.clone(), &path, format!("missing key `{key}`{hint}"));
        }
        v
    }

    /// Reports every key that was not taken.
    pub fn finish(self, r: &mut Reader<'_>) {
        for (key, _) in self.entries.iter() {
            let name: &str = key.get_ref();
            if !self.taken.contains(&name) {
                let mut message = format!("unknown key `{name}`");
                if let Some(close) = closest(name, &self.allowed) {
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
pub fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
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
    // A key longer than any allowed one by more than the tolerance cannot be a typo of it; this
    // also keeps a huge unknown key from costing its length times every allowed key.
    let normalised = name.replace('-', "_");
    allowed
        .iter()
        .filter(|k| normalised.chars().count() <= k.len() + 2.max(k.len() / 4))
        .map(|k| (distance(&normalised, &k.replace('-', "_")), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_lines_and_character_columns() {
        let text = "a = 1\nbé = 2\n\nc";
        let r = Reader::new("f", text);
        assert_eq!(r.position(0), (1, 1));
        assert_eq!(r.position(4), (1, 5));
        assert_eq!(r.position(6), (2, 1));
        // After the two-byte é: the column counts characters.
        assert_eq!(r.position(9), (2, 3));
        assert_eq!(r.position(15), (4, 1));
        assert_eq!(r.position(1000), (4, 2));
    }

    #[test]
    fn near_misses_are_suggested_and_far_ones_are_not() {
        assert_eq!(closest("privilegd", &["privileged", "mode"]), Some("privileged"));
        assert_eq!(closest("role-prefixes", &["role_prefixes"]), Some("role_prefixes"));
        assert_eq!(closest("zzzzzzzzzzzzzzzzzzzzzzzz", &["mode"]), None);
    }

    #[test]
    fn text_that_is_not_utf8_is_placed_and_a_missing_file_is_unreadable() {
        let dir = std::env::temp_dir().join(format!("idc-guard-spanned-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.toml");
        std::fs::write(&path, b"mode = \"enforce\"\nn\xc3\xa9 = \xff\n").unwrap();
        let e = read_text(&path, "policy file").unwrap_err();
        assert!(!e.unreadable());
        let p = &e.problems[0];
        // Line 2, after `né = ` (five characters, six bytes).
        assert_eq!((p.line, p.column), (2, 6), "{e}");
        assert!(p.message.contains("not UTF-8 text (byte 0xff at offset 23)"), "{e}");
        std::fs::write(&path, "mode = \"enforce\"\n").unwrap();
        assert_eq!(read_text(&path, "policy file").unwrap(), "mode = \"enforce\"\n");
        let missing = read_text(&dir.join("missing.toml"), "policy file").unwrap_err();
        assert!(missing.unreadable());
        assert!(
            missing
                .to_string()
                .starts_with(&format!("{}: cannot read", dir.join("missing.toml").display()))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
