//! Unit and property tests for the IAM policy analysis.

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

use super::document::forbidden_grants_within;
use super::glob::Budget;
use super::*;

fn p(text: &str) -> ActionPattern {
    ActionPattern::new(text)
}

fn w(all: &[&str], none: &[&str]) -> Option<String> {
    let all: Vec<ActionPattern> = all.iter().map(|s| p(s)).collect();
    let none: Vec<ActionPattern> = none.iter().map(|s| p(s)).collect();
    let all_refs: Vec<&ActionPattern> = all.iter().collect();
    let none_refs: Vec<&ActionPattern> = none.iter().collect();
    witness(&all_refs, &none_refs).expect("small patterns stay within the budget")
}

/// A reference matcher by dynamic programming, independent of
/// [`ActionPattern::matches`].
fn dp_matches(pattern: &str, action: &str) -> bool {
    let pat: Vec<char> = pattern.chars().map(|c| c.to_ascii_lowercase()).collect();
    let act: Vec<char> = action.chars().map(|c| c.to_ascii_lowercase()).collect();
    // m[i][j]: pat[..i] matches act[..j].
    let mut m = vec![vec![false; act.len() + 1]; pat.len() + 1];
    m[0][0] = true;
    for i in 1..=pat.len() {
        for j in 0..=act.len() {
            m[i][j] = match pat[i - 1] {
                '*' => m[i - 1][j] || (j > 0 && m[i][j - 1]),
                '?' => j > 0 && m[i - 1][j - 1],
                c => j > 0 && m[i - 1][j - 1] && act[j - 1] == c,
            };
        }
    }
    m[pat.len()][act.len()]
}

// ---------------------------------------------------------------- matching

#[test]
fn matches_table() {
    let cases = [
        ("iam:*", "iam:CreateUser", true),
        ("IAM:*", "iam:x", true),
        ("iam:*", "IAM:X", true),
        ("IAM:createuser", "iam:CreateUser", true),
        ("iam:*", "iam", false),
        ("iam:*", "iam:", true),
        ("i*", "iam:CreateUser", true),
        ("*:Create*", "iam:CreateUser", true),
        ("?am:*", "iam:GetUser", true),
        ("?am:*", "am:GetUser", false),
        ("?", "", false),
        ("?", "a", true),
        ("?", ":", true),
        ("?", "ab", false),
        ("", "", true),
        ("", "a", false),
        ("*", "", true),
        ("**", "", true),
        ("**", "abc", true),
        ("a**b", "ab", true),
        ("a*b*c", "aXbYc", true),
        ("a*b*c", "acb", false),
        ("*a", "bbba", true),
        ("*a", "ab", false),
        ("a*a", "a", false),
        ("a*a", "aa", true),
        ("*?", "", false),
        ("*?", "z", true),
        ("s3:Get?bject", "s3:GetObject", true),
        ("s3:Get?bject", "s3:Getbject", false),
        ("?", "é", true),
        ("É", "é", false),
        ("iam:CreateUser", "iam:CreateUsers", false),
    ];
    for (pattern, action, expected) in cases {
        assert_eq!(p(pattern).matches(action), expected, "{pattern:?} vs {action:?}");
        assert_eq!(dp_matches(pattern, action), expected, "dp {pattern:?} vs {action:?}");
    }
}

#[test]
fn pattern_keeps_text_and_displays_it() {
    let pattern = p("IAM:Create**");
    assert_eq!(pattern.as_str(), "IAM:Create**");
    assert_eq!(pattern.to_string(), "IAM:Create**");
    assert_eq!(p("a**"), p("a**"));
    assert_ne!(p("a**"), p("a*"));
}

// ----------------------------------------------------------------- witness

#[test]
fn witness_table() {
    let cases: &[(&[&str], &[&str], Option<&str>)] = &[
        (&["iam:*"], &[], Some("iam:")),
        (&["iam:*", "*:Create*"], &[], Some("iam:create")),
        (&["IAM:CreateUser", "iam:*"], &[], Some("iam:createuser")),
        (&["iam:*"], &["iam:*"], None),
        (&["IAM:*"], &["iam:*"], None),
        (&["iam:*"], &["i*"], None),
        (&["iam:*"], &["s3:*"], Some("iam:")),
        (&["iam:*"], &["iam:"], Some("iam:a")),
        (&[""], &[], Some("")),
        (&[""], &[""], None),
        (&[], &[], Some("")),
        (&[], &["*"], None),
        (&[], &["**"], None),
        (&[], &[""], Some("x")),
        (&["*"], &["?*"], Some("")),
        (&["?"], &["?"], None),
        (&["?"], &["x"], Some("y")),
        (&["??"], &["?"], Some("xx")),
        (&["a*"], &["a", "a?", "a??*"], None),
        (&["a*"], &["a", "a??*"], Some("aa")),
        (&["*:*"], &["*"], None),
        (&["*:*"], &["*:?*"], Some(":")),
        (&["a"], &["b"], Some("a")),
        (&["a"], &["A"], None),
        (&["a", "b"], &[], None),
        (&["?am:*", "i*"], &[], Some("iam:")),
        (&["*a?"], &["*b"], Some("aa")),
    ];
    for (all, none, expected) in cases {
        assert_eq!(w(all, none).as_deref(), *expected, "all={all:?} none={none:?}");
    }
}

#[test]
fn witness_other_char_is_not_a_literal_even_when_preferred_ones_are() {
    // Every preferred stand-in is a literal here, so the search must fall
    // back to a character outside ASCII.
    let excluded: Vec<String> = "xyzqjkwvbcdfghmnplrstuaeio0123456789"
        .chars()
        .map(String::from)
        .collect();
    let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
    let found = w(&["?"], &excluded).expect("a non-literal character exists");
    assert_eq!(found.chars().count(), 1);
    assert!(excluded.iter().all(|e| !p(e).matches(&found)), "{found:?}");
    assert!(!found.is_ascii());
}

#[test]
fn witness_needs_many_steps_through_stars() {
    // The witness must contain "ab" then "ba" in a long string; checks that
    // the product keeps both must automata independent.
    let found = w(&["*ab*", "*ba*", "????"], &["*aa*", "*bb*"]).expect("abab exists");
    assert_eq!(found.len(), 4);
    assert!(p("*ab*").matches(&found) && p("*ba*").matches(&found));
}

// ----------------------------------------------------------------- parsing

fn parse(value: &Value) -> PolicyDocument {
    PolicyDocument::parse(&value.to_string()).expect("valid policy")
}

#[test]
fn parses_strings_lists_and_single_statement() {
    let doc = parse(&json!({
        "Version": "2012-10-17",
        "Statement": {"Sid": "One", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    }));
    assert_eq!(doc.statements.len(), 1);
    let statement = &doc.statements[0];
    assert_eq!(statement.index, 0);
    assert_eq!(statement.sid.as_deref(), Some("One"));
    assert_eq!(statement.effect, Effect::Allow);
    assert_eq!(statement.actions, ActionSpec::Action(vec![p("s3:GetObject")]));
    assert_eq!(statement.raw["Resource"], json!("*"));

    let doc = parse(&json!({
        "Statement": [
            {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"]},
            {"Effect": "Allow", "Action": []},
        ]
    }));
    assert_eq!(doc.statements[0].index, 0);
    assert_eq!(doc.statements[0].effect, Effect::Deny);
    assert_eq!(doc.statements[0].sid, None);
    assert_eq!(
        doc.statements[0].actions,
        ActionSpec::NotAction(vec![p("iam:*"), p("sts:*")])
    );
    assert_eq!(doc.statements[1].index, 1);
    assert_eq!(doc.statements[1].actions, ActionSpec::Action(vec![]));

    let doc = parse(&json!({"Statement": []}));
    assert!(doc.statements.is_empty());
}

#[test]
fn malformed_documents_name_the_path() {
    let allow = json!({"Effect": "Allow", "Action": "s3:*"});
    let cases: Vec<(String, &str, &str)> = vec![
        (String::new(), "$", "invalid JSON"),
        ("{".into(), "$", "invalid JSON"),
        ("{} trailing".into(), "$", "invalid JSON"),
        ("[]".into(), "$", "expected a JSON object, found []"),
        ("42".into(), "$", "expected a JSON object, found 42"),
        ("{}".into(), "Statement", "required element is missing"),
        (
            json!({"statement": [allow]}).to_string(),
            "statement",
            "did you mean \"Statement\"",
        ),
        (
            json!({"Statement": 3}).to_string(),
            "Statement",
            "expected an object or a list of objects, found 3",
        ),
        (
            json!({"Statement": [allow, "x"]}).to_string(),
            "Statement[1]",
            "expected an object, found \"x\"",
        ),
        (
            json!({"Statement": [allow, allow, {"Effect": 42, "Action": "x"}]}).to_string(),
            "Statement[2].Effect",
            "expected \"Allow\" or \"Deny\", found 42",
        ),
        (
            json!({"Statement": [{"Effect": "allow", "Action": "x"}]}).to_string(),
            "Statement[0].Effect",
            "expected \"Allow\" or \"Deny\", found \"allow\"",
        ),
        (
            json!({"Statement": [{"Action": "x"}]}).to_string(),
            "Statement[0].Effect",
            "required element is missing",
        ),
        (
            json!({"Statement": {"Effect": "Allow"}}).to_string(),
            "Statement",
            "has neither Action nor NotAction",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": "a", "NotAction": "b"}]}).to_string(),
            "Statement[0]",
            "has both Action and NotAction",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Action": 5}]}).to_string(),
            "Statement[0].Action",
            "expected a string or a list of strings, found 5",
        ),
        (
            json!({"Statement": [allow, {"Effect": "Allow", "Action": ["s3:*", 5]}]}).to_string(),
            "Statement[1].Action[1]",
            "expected a string, found 5",
        ),
        (
            json!({"Statement": {"Effect": "Allow", "NotAction": [null]}}).to_string(),
            "Statement.NotAction[0]",
            "expected a string, found null",
        ),
        (
            json!({"Statement": [{"Sid": 1, "Effect": "Allow", "Action": "x"}]}).to_string(),
            "Statement[0].Sid",
            "expected a string, found 1",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "Acton": "x", "Action": "y"}]}).to_string(),
            "Statement[0].Acton",
            "unknown statement element",
        ),
        (
            json!({"Statement": [{"Effect": "Allow", "action": "iam:*", "Action": "s3:*"}]}).to_string(),
            "Statement[0].action",
            "did you mean \"Action\"",
        ),
        (
            r#"{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Action": "s3:*"}]}"#.into(),
            "$",
            "duplicate key \"Action\"",
        ),
        (
            format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
            "$",
            "invalid JSON",
        ),
    ];
    for (text, path, message) in cases {
        let error = PolicyDocument::parse(&text).expect_err(&text);
        assert_eq!(error.path, path, "{text}: {error}");
        assert!(error.message.contains(message), "{text}: {error}");
        assert_eq!(error.to_string(), format!("{}: {}", error.path, error.message));
    }
}

#[test]
fn effect_error_display_is_exact() {
    let text = json!({"Statement": [
        {"Effect": "Allow", "Action": "a"},
        {"Effect": "Allow", "Action": "a"},
        {"Effect": 42, "Action": "a"},
    ]})
    .to_string();
    let error = PolicyDocument::parse(&text).expect_err("bad effect");
    assert_eq!(
        error.to_string(),
        r#"Statement[2].Effect: expected "Allow" or "Deny", found 42"#
    );
}

#[test]
fn long_values_are_truncated_in_errors() {
    let long = "x".repeat(500);
    let text = json!({"Statement": [{"Effect": long, "Action": "a"}]}).to_string();
    let error = PolicyDocument::parse(&text).expect_err("bad effect");
    assert!(error.message.len() < 150, "{error}");
    assert!(error.message.ends_with("..."), "{error}");
}

// ------------------------------------------------------ without_statements

#[test]
fn without_statements_keeps_everything_else_verbatim() {
    let text = r#"{
  "Version": "2012-10-17",
  "Id": "policy-1",
  "Statement": [
    {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"},
    {"Sid": "B", "Effect": "Allow", "Action": "iam:*"},
    {"Effect": "Deny", "NotAction": ["ec2:*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
  ]
}"#;
    let doc = PolicyDocument::parse(text).expect("valid");
    let trimmed = doc.without_statements(&[1]).expect("two remain");
    let again = PolicyDocument::parse(&trimmed).expect("still valid");
    let value: Value = serde_json::from_str(&trimmed).expect("json");
    assert_eq!(value["Version"], json!("2012-10-17"));
    assert_eq!(value["Id"], json!("policy-1"));
    assert_eq!(again.statements.len(), 2);
    assert_eq!(again.statements[0].raw, doc.statements[0].raw);
    assert_eq!(again.statements[1].raw, doc.statements[2].raw);
    // Kept statements are copied as written, not re-serialised.
    assert!(
        trimmed
            .contains(r#"{"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}"#)
    );
    // Member order is kept.
    let version = trimmed.find("Version").expect("Version");
    let id = trimmed.find("\"Id\"").expect("Id");
    let statement = trimmed.find("Statement").expect("Statement");
    assert!(version < id && id < statement);

    assert_eq!(doc.without_statements(&[0, 1, 2]), None);
    assert_eq!(doc.without_statements(&[2, 0, 1, 7]), None);
    let unchanged = doc.without_statements(&[]).expect("all remain");
    assert_eq!(
        PolicyDocument::parse(&unchanged).expect("valid").statements,
        doc.statements
    );
    let ignored = doc.without_statements(&[9]).expect("all remain");
    assert_eq!(ignored, unchanged);
}

#[test]
fn without_statements_on_single_object() {
    let doc = parse(&json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "iam:*"}}));
    assert_eq!(doc.without_statements(&[0]), None);
    let kept = doc.without_statements(&[]).expect("one remains");
    let again = PolicyDocument::parse(&kept).expect("valid");
    assert_eq!(again.statements, doc.statements);
    let value: Value = serde_json::from_str(&kept).expect("json");
    assert!(value["Statement"].is_array());
    assert_eq!(value["Version"], json!("2012-10-17"));

    let empty = parse(&json!({"Statement": []}));
    assert_eq!(empty.without_statements(&[]), None);
}

// ---------------------------------------------------------- forbidden_grants

fn grants_of(statement: &Value, forbidden: &[&str]) -> Vec<ForbiddenGrant> {
    let doc = parse(&json!({"Version": "2012-10-17", "Statement": [statement]}));
    let forbidden: Vec<ActionPattern> = forbidden.iter().map(|s| p(s)).collect();
    forbidden_grants(&doc, &forbidden).expect("small patterns stay within the budget")
}

#[test]
fn forbidden_examples() {
    // (statement, whether it grants something in iam:*)
    let cases = [
        (json!({"Effect": "Allow", "Action": "*"}), true),
        (json!({"Effect": "Allow", "Action": "**"}), true),
        (json!({"Effect": "Allow", "Action": "i*:*"}), true),
        (json!({"Effect": "Allow", "Action": "iam:Create*"}), true),
        (json!({"Effect": "Allow", "Action": "IAM:createuser"}), true),
        (
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "*:Create*"]}),
            true,
        ),
        (json!({"Effect": "Allow", "Action": "?am:*"}), true),
        (json!({"Effect": "Allow", "Action": "iam*"}), true),
        (json!({"Effect": "Allow", "Action": "*iam"}), true),
        (json!({"Effect": "Allow", "Action": "??????"}), true),
        (json!({"Effect": "Allow", "Action": ["s3:*", "iam:PassRole"]}), true),
        (json!({"Effect": "Allow", "Action": "s3:*"}), false),
        (json!({"Effect": "Allow", "Action": "iam"}), false),
        (json!({"Effect": "Allow", "Action": "?"}), false),
        (json!({"Effect": "Allow", "Action": ""}), false),
        (json!({"Effect": "Allow", "Action": "s3:*iam*"}), false),
        (json!({"Effect": "Allow", "Action": "organizations:*"}), false),
        (json!({"Effect": "Allow", "Action": "ia:*"}), false),
        (json!({"Effect": "Allow", "Action": []}), false),
        (json!({"Effect": "Allow", "NotAction": ["s3:*"]}), true),
        (json!({"Effect": "Allow", "NotAction": "s3:*"}), true),
        (json!({"Effect": "Allow", "NotAction": ["iam:Get*"]}), true),
        (json!({"Effect": "Allow", "NotAction": []}), true),
        (json!({"Effect": "Allow", "NotAction": ["iam:*"]}), false),
        (json!({"Effect": "Allow", "NotAction": ["IAM:*"]}), false),
        (json!({"Effect": "Allow", "NotAction": ["i*"]}), false),
        (json!({"Effect": "Allow", "NotAction": ["*"]}), false),
        (json!({"Effect": "Allow", "NotAction": ["iam:", "iam:?*"]}), false),
        // Conservative by construction: the empty action name `iam:` counts.
        (json!({"Effect": "Allow", "NotAction": ["iam:?*"]}), true),
        (json!({"Effect": "Deny", "Action": "*"}), false),
        (json!({"Effect": "Deny", "NotAction": ["s3:*"]}), false),
        (
            json!({"Effect": "Allow", "Action": "iam:*", "Resource": "arn:aws:iam::123456789012:user/x",
                   "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}}),
            true,
        ),
        (
            json!({"Effect": "Allow", "Action": "iam:*", "NotResource": "*", "Principal": "*"}),
            true,
        ),
    ];
    let iam = p("iam:*");
    for (statement, expected) in cases {
        let found = grants_of(&statement, &["iam:*"]);
        assert_eq!(!found.is_empty(), expected, "{statement}: {found:?}");
        for grant in &found {
            assert_eq!(grant.statement, 0);
            assert_eq!(grant.forbidden, "iam:*");
            assert!(iam.matches(&grant.example), "{grant:?}");
            let doc = parse(&json!({"Statement": [statement]}));
            assert!(grants(&doc.statements[0], &grant.example), "{grant:?}");
        }
    }
}

#[test]
fn forbidden_grants_reports_pairs_in_order_once() {
    let doc = parse(&json!({"Statement": [
        {"Sid": "S3", "Effect": "Allow", "Action": "s3:*"},
        {"Sid": "Admin", "Effect": "Allow", "Action": ["iam:*", "iam:CreateUser", "*"]},
        {"Effect": "Deny", "Action": "*"},
        {"Sid": "AllButS3", "Effect": "Allow", "NotAction": ["s3:*"]},
    ]}));
    let forbidden = [p("iam:*"), p("organizations:*"), p("account:*"), p("iam:*")];
    let found = forbidden_grants(&doc, &forbidden).expect("within budget");
    let pairs: Vec<(usize, Option<&str>, &str)> = found
        .iter()
        .map(|g| (g.statement, g.sid.as_deref(), g.forbidden.as_str()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (1, Some("Admin"), "iam:*"),
            (1, Some("Admin"), "organizations:*"),
            (1, Some("Admin"), "account:*"),
            (3, Some("AllButS3"), "iam:*"),
            (3, Some("AllButS3"), "organizations:*"),
            (3, Some("AllButS3"), "account:*"),
        ]
    );
    assert_eq!(found[0].example, "iam:");
    assert_eq!(found[1].example, "organizations:");
}

#[test]
fn forbidden_wildcards_on_both_sides() {
    let found = grants_of(&json!({"Effect": "Allow", "Action": "*:Create*"}), &["iam:*"]);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].example, "iam:create");
    let found = grants_of(&json!({"Effect": "Allow", "Action": "s3:*"}), &["*:Delete*"]);
    assert_eq!(found[0].example, "s3:delete");
    // `*` spans `:` too, so even these overlap.
    let found = grants_of(&json!({"Effect": "Allow", "Action": "s3:Get*"}), &["*:Delete*"]);
    assert_eq!(found[0].example, "s3:get:delete");
    let found = grants_of(&json!({"Effect": "Allow", "Action": "s3:Get?"}), &["*:Delete*"]);
    assert!(found.is_empty());
    let found = grants_of(&json!({"Effect": "Allow", "Action": "s3:Get*"}), &["?3:*"]);
    assert_eq!(found.len(), 1);
}

// ------------------------------------------------------------- properties

/// Whether `statement` grants the concrete `action` (ignoring its effect).
fn grants(statement: &Statement, action: &str) -> bool {
    match &statement.actions {
        ActionSpec::Action(patterns) => patterns.iter().any(|p| p.matches(action)),
        ActionSpec::NotAction(patterns) => !patterns.iter().any(|p| p.matches(action)),
    }
}

const SERVICES: [&str; 6] = ["iam", "s3", "sso", "organizations", "account", "ec2"];

fn service() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(SERVICES.to_vec()).prop_map(str::to_owned),
        1 => "[a-zA-Z]{1,3}",
    ]
}

/// Action names from a tiny alphabet so that patterns derived from one
/// catalogue entry often cover others.
fn catalogue() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec((service(), "[abAB]{0,4}").prop_map(|(s, a)| format!("{s}:{a}")), 1..12)
}

/// How to turn a catalogue entry into a pattern: which entry, and per
/// character a mutation code.
#[derive(Debug, Clone)]
enum PatternSeed {
    Derived(Index, Vec<u8>),
    Fixed(&'static str),
    Random(String),
}

fn pattern_seed() -> impl Strategy<Value = PatternSeed> {
    prop_oneof![
        6 => (any::<Index>(), prop::collection::vec(any::<u8>(), 0..16))
            .prop_map(|(i, m)| PatternSeed::Derived(i, m)),
        1 => prop::sample::select(vec![
            "*", "**", "", "?", "iam:*", "*:*", "?am:*", "i*", "*:a*", "s3:*", "IAM:A?",
        ])
        .prop_map(PatternSeed::Fixed),
        1 => "[iasA:*?]{0,6}".prop_map(PatternSeed::Random),
    ]
}

fn realise(seed: &PatternSeed, catalogue: &[String]) -> String {
    match seed {
        PatternSeed::Fixed(s) => (*s).to_owned(),
        PatternSeed::Random(s) => s.clone(),
        PatternSeed::Derived(index, mutations) => {
            let base = index.get(catalogue);
            let mut out = String::new();
            for (i, c) in base.chars().enumerate() {
                match mutations.get(i).map(|m| m % 12) {
                    Some(0 | 1) => out.push('*'),
                    Some(2) => out.push('?'),
                    Some(3) => out.push(if c.is_ascii_lowercase() {
                        c.to_ascii_uppercase()
                    } else {
                        c.to_ascii_lowercase()
                    }),
                    Some(4) => {}
                    Some(5) => {
                        out.push('*');
                        out.push(c);
                    }
                    Some(6) => {
                        out.push(c);
                        out.push('?');
                    }
                    _ => out.push(c),
                }
            }
            out
        }
    }
}

#[derive(Debug, Clone)]
struct StatementSeed {
    allow: bool,
    not_action: bool,
    as_string: bool,
    patterns: Vec<PatternSeed>,
}

fn statement_seed() -> impl Strategy<Value = StatementSeed> {
    (
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.35),
        any::<bool>(),
        prop::collection::vec(pattern_seed(), 0..4),
    )
        .prop_map(|(allow, not_action, as_string, patterns)| StatementSeed {
            allow,
            not_action,
            as_string,
            patterns,
        })
}

fn render(seeds: &[StatementSeed], catalogue: &[String]) -> String {
    let statements: Vec<Value> = seeds
        .iter()
        .enumerate()
        .map(|(i, seed)| {
            let patterns: Vec<String> = seed.patterns.iter().map(|s| realise(s, catalogue)).collect();
            let actions = if seed.as_string && patterns.len() == 1 {
                json!(patterns[0])
            } else {
                json!(patterns)
            };
            let key = if seed.not_action { "NotAction" } else { "Action" };
            let mut statement = json!({
                "Sid": format!("S{i}"),
                "Effect": if seed.allow { "Allow" } else { "Deny" },
                "Resource": "*",
            });
            statement[key] = actions;
            statement
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Arbitrary JSON with keys and strings biased towards policy vocabulary, so
/// that parsing gets deep before failing.
fn policyish_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|f| json!(f)),
        prop::sample::select(vec!["Allow", "Deny", "iam:*", "*", "2012-10-17"]).prop_map(|s| json!(s)),
        ".{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 48, 6, |inner| {
        let key = prop_oneof![
            prop::sample::select(vec![
                "Version",
                "Statement",
                "Sid",
                "Effect",
                "Action",
                "NotAction",
                "Resource",
                "Condition",
                "action",
            ])
            .prop_map(str::to_owned),
            "[a-zA-Z]{0,5}",
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..5).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn matches_agrees_with_dynamic_programming(
        pattern in "[abA:*?]{0,8}",
        action in "[abB:]{0,8}",
    ) {
        prop_assert_eq!(p(&pattern).matches(&action), dp_matches(&pattern, &action));
    }

    #[test]
    fn forbidden_grants_agrees_with_brute_force(
        catalogue in catalogue(),
        seeds in prop::collection::vec(statement_seed(), 1..5),
        forbidden_seeds in prop::collection::vec(pattern_seed(), 1..4),
    ) {
        let doc = PolicyDocument::parse(&render(&seeds, &catalogue)).expect("generated policy");
        let forbidden: Vec<ActionPattern> =
            forbidden_seeds.iter().map(|s| p(&realise(s, &catalogue))).collect();
        // Never too complex for small generated documents; otherwise exact.
        let found = forbidden_grants(&doc, &forbidden).map_err(too_complex)?;

        // Sound: every reported example is a real granted, forbidden action.
        for grant in &found {
            let statement = &doc.statements[grant.statement];
            prop_assert_eq!(statement.effect, Effect::Allow);
            prop_assert_eq!(&statement.sid, &grant.sid);
            let pattern = p(&grant.forbidden);
            prop_assert!(pattern.matches(&grant.example), "{:?}", grant);
            prop_assert!(grants(statement, &grant.example), "{:?}", grant);
        }
        // Each pair once, in statement order.
        for (i, a) in found.iter().enumerate() {
            for b in &found[i + 1..] {
                prop_assert!(a.statement <= b.statement);
                prop_assert!((a.statement, &a.forbidden) != (b.statement, &b.forbidden));
            }
        }
        // Complete: whatever brute force finds in the catalogue is reported.
        for statement in doc.statements.iter().filter(|s| s.effect == Effect::Allow) {
            for pattern in &forbidden {
                let brute = catalogue
                    .iter()
                    .find(|a| pattern.matches(a) && grants(statement, a));
                if let Some(action) = brute {
                    prop_assert!(
                        found.iter().any(|g| g.statement == statement.index
                            && g.forbidden == pattern.as_str()),
                        "statement {} grants {} covered by {}, not reported: {:?}",
                        statement.index, action, pattern, found
                    );
                }
            }
        }
    }

    #[test]
    fn witness_agrees_with_brute_force(
        catalogue in catalogue(),
        all_seeds in prop::collection::vec(pattern_seed(), 0..3),
        none_seeds in prop::collection::vec(pattern_seed(), 0..4),
    ) {
        let all: Vec<ActionPattern> = all_seeds.iter().map(|s| p(&realise(s, &catalogue))).collect();
        let none: Vec<ActionPattern> = none_seeds.iter().map(|s| p(&realise(s, &catalogue))).collect();
        let all_refs: Vec<&ActionPattern> = all.iter().collect();
        let none_refs: Vec<&ActionPattern> = none.iter().collect();
        let qualifies = |s: &str| all.iter().all(|p| p.matches(s)) && !none.iter().any(|p| p.matches(s));
        let found = witness(&all_refs, &none_refs).map_err(too_complex)?;
        if let Some(found) = &found {
            prop_assert!(qualifies(found), "{:?}", found);
            prop_assert_eq!(found, &found.to_ascii_lowercase());
        }
        for candidate in catalogue.iter().filter(|c| qualifies(c)) {
            let found = found.as_deref();
            prop_assert!(found.is_some(), "missed {}", candidate);
            // Shortest: no qualifying catalogue entry is shorter.
            prop_assert!(found.map_or(0, |f| f.chars().count()) <= candidate.chars().count());
        }
    }

    /// Exhaustive over every string of length at most 4 on the alphabet that
    /// matters: decides existence and minimal length exactly.
    #[test]
    fn witness_is_exact_and_shortest_on_small_alphabet(
        all in prop::collection::vec("[abA:*?]{0,4}", 0..3),
        none in prop::collection::vec("[abB:*?]{0,4}", 0..4),
    ) {
        let all: Vec<ActionPattern> = all.iter().map(|s| p(s)).collect();
        let none: Vec<ActionPattern> = none.iter().map(|s| p(s)).collect();
        let all_refs: Vec<&ActionPattern> = all.iter().collect();
        let none_refs: Vec<&ActionPattern> = none.iter().collect();
        let qualifies = |s: &str| all.iter().all(|p| p.matches(s)) && !none.iter().any(|p| p.matches(s));
        let found = witness(&all_refs, &none_refs).map_err(too_complex)?;

        let mut shortest = None;
        let mut layer = vec![String::new()];
        'search: for _ in 0..=4 {
            for s in &layer {
                if qualifies(s) {
                    shortest = Some(s.len());
                    break 'search;
                }
            }
            layer = layer
                .iter()
                .flat_map(|s| ['a', 'b', ':', 'x'].map(|c| format!("{s}{c}")))
                .collect();
        }
        match (shortest, &found) {
            (Some(len), Some(f)) => prop_assert_eq!(f.len(), len),
            (Some(len), None) => prop_assert!(false, "missed a witness of length {}", len),
            (None, Some(f)) => {
                prop_assert!(f.len() > 4, "{:?}", f);
                prop_assert!(qualifies(f));
            }
            (None, None) => {}
        }
    }

    #[test]
    fn parse_never_panics_on_text(text in any::<String>()) {
        let _ = PolicyDocument::parse(&text);
    }

    #[test]
    fn parse_never_panics_on_json(value in policyish_json()) {
        check_parse_round_trip(&value.to_string())?;
        check_parse_round_trip(&json!({"Statement": value}).to_string())?;
        check_parse_round_trip(&json!({"Statement": [value]}).to_string())?;
    }

    #[test]
    fn without_statements_round_trips(
        catalogue in catalogue(),
        seeds in prop::collection::vec(statement_seed(), 1..5),
        remove in prop::collection::vec(0usize..6, 0..4),
    ) {
        let doc = PolicyDocument::parse(&render(&seeds, &catalogue)).expect("generated policy");
        let kept: Vec<&Statement> =
            doc.statements.iter().filter(|s| !remove.contains(&s.index)).collect();
        match doc.without_statements(&remove) {
            None => prop_assert!(kept.is_empty()),
            Some(text) => {
                let again = PolicyDocument::parse(&text).expect("still valid");
                prop_assert_eq!(again.statements.len(), kept.len());
                for (new, old) in again.statements.iter().zip(kept) {
                    prop_assert_eq!(&new.raw, &old.raw);
                    prop_assert_eq!(&new.actions, &old.actions);
                    prop_assert_eq!(new.effect, old.effect);
                }
            }
        }
    }
}

/// Fails a property when the budget ran out on a small generated case.
fn too_complex(e: TooComplex) -> TestCaseError {
    TestCaseError::fail(format!("small generated patterns must stay within the budget: {e}"))
}

fn check_parse_round_trip(text: &str) -> Result<(), TestCaseError> {
    if let Ok(doc) = PolicyDocument::parse(text) {
        forbidden_grants(&doc, &[p("iam:*"), p("*:Create*")]).map_err(too_complex)?;
        if let Some(again) = doc.without_statements(&[]) {
            let again = PolicyDocument::parse(&again).expect("re-serialised policy parses");
            prop_assert_eq!(again.statements.len(), doc.statements.len());
            for (new, old) in again.statements.iter().zip(&doc.statements) {
                prop_assert_eq!(&new.raw, &old.raw);
            }
        } else {
            prop_assert!(doc.statements.is_empty());
        }
    }
    Ok(())
}

// ------------------------------------------------------------------ budget

/// A realistic inline policy of about 10 KB: 50 statements mixing specific
/// actions, service wildcards, resources, conditions and `NotAction` lists
/// (a PowerUser-style allow, one that forgets `account:*`, a region lock).
fn realistic_policy() -> String {
    const SERVICES: [(&str, &[&str]); 10] = [
        ("s3", &["GetObject", "PutObject", "List*", "GetBucket*", "DeleteObject"]),
        ("ec2", &["Describe*", "StartInstances", "StopInstances", "CreateTags"]),
        (
            "logs",
            &["CreateLogGroup", "CreateLogStream", "PutLogEvents", "Describe*"],
        ),
        ("kms", &["Decrypt", "Encrypt", "GenerateDataKey*", "DescribeKey"]),
        ("dynamodb", &["GetItem", "PutItem", "Query", "Scan", "BatchWrite*"]),
        ("lambda", &["InvokeFunction", "GetFunction", "List*"]),
        ("sqs", &["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueue*"]),
        ("cloudwatch", &["Get*", "List*", "PutMetricData"]),
        ("ssm", &["GetParameter*", "DescribeParameters"]),
        ("sts", &["AssumeRole", "GetCallerIdentity"]),
    ];
    let mut statements = Vec::new();
    for i in 0..45 {
        let (service, actions) = SERVICES[i % SERVICES.len()];
        let count = 1 + i % actions.len();
        let actions: Vec<String> = actions[..count].iter().map(|a| format!("{service}:{a}")).collect();
        let mut statement = json!({
            "Sid": format!("Workload{i}"),
            "Effect": if i % 9 == 8 { "Deny" } else { "Allow" },
            "Action": actions,
            "Resource": [format!("arn:aws:{service}:eu-west-1:123456789012:workload-{i}/*")],
        });
        if i % 3 == 0 {
            statement["Resource"] = json!([
                format!("arn:aws:{service}:eu-west-1:123456789012:workload-{i}/*"),
                format!("arn:aws:{service}:eu-central-1:123456789012:workload-{i}/*"),
            ]);
        }
        if i % 4 == 0 {
            statement["Condition"] = json!({"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}});
        }
        statements.push(statement);
    }
    statements.extend([
        json!({"Sid": "ReadAnything", "Effect": "Allow", "Action": ["*:Describe*", "*:List*", "*:Get*"], "Resource": "*"}),
        json!({"Sid": "PassWorkloadRoles", "Effect": "Allow", "Action": "iam:PassRole",
               "Resource": "arn:aws:iam::123456789012:role/workload-*"}),
        json!({"Sid": "PowerUser", "Effect": "Allow",
               "NotAction": ["iam:*", "organizations:*", "account:*", "sso:*", "sso-directory:*", "identitystore:*"],
               "Resource": "*"}),
        json!({"Sid": "NoDestruction", "Effect": "Allow",
               "NotAction": ["iam:*", "organizations:*", "*:Delete*", "ec2:Terminate*",
                             "kms:ScheduleKeyDeletion", "s3:PutBucketPolicy", "cloudtrail:StopLogging"],
               "Resource": "*"}),
        json!({"Sid": "RegionLock", "Effect": "Deny",
               "NotAction": ["iam:*", "organizations:*", "account:*", "sts:*", "support:*", "cloudfront:*",
                             "route53:*", "budgets:*", "health:*", "trustedadvisor:*"],
               "Resource": "*",
               "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "eu-central-1"]}}}),
    ]);
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

#[test]
fn realistic_documents_stay_far_below_the_budget() {
    let text = realistic_policy();
    assert!((9_000..=12_000).contains(&text.len()), "{} bytes", text.len());
    let doc = PolicyDocument::parse(&text).expect("valid");
    assert_eq!(doc.statements.len(), 50);
    let forbidden = [p("iam:*"), p("organizations:*"), p("account:*")];
    let mut budget = Budget::new();
    let found = forbidden_grants_within(&doc, &forbidden, &mut budget).expect("within budget");
    eprintln!(
        "realistic {} bytes: {} states, {} steps, {} grants",
        text.len(),
        budget.states(),
        budget.steps(),
        found.len()
    );
    assert!(budget.states() < MAX_STATES / 100, "{} states", budget.states());
    assert!(budget.steps() < MAX_STEPS / 100, "{} steps", budget.steps());
    let statements: Vec<usize> = found.iter().map(|g| g.statement).collect();
    // ReadAnything, PassWorkloadRoles and NoDestruction (account:*), not PowerUser.
    assert_eq!(statements, [45, 45, 45, 46, 48], "{found:?}");
}

/// `*a` followed by `n` times `?`, then `iam:` followed by 0 to `n + 1`
/// times `?`: an `iam:` action escapes these only if it is long and has no
/// `a` exactly `n + 1` characters before its end. Proving that needs the
/// subset construction to track where the last `n + 1` characters had an
/// `a`: about 2^n states.
fn crafted_not_action(n: usize) -> Vec<ActionPattern> {
    let mut patterns = vec![p(&format!("*a{}", "?".repeat(n)))];
    patterns.extend((0..n + 2).map(|k| p(&format!("iam:{}", "?".repeat(k)))));
    patterns
}

#[test]
fn crafted_patterns_are_too_complex_rather_than_slow() {
    let iam = p("iam:*");
    let small = crafted_not_action(6);
    let small_refs: Vec<&ActionPattern> = small.iter().collect();
    let found = witness(&[&iam], &small_refs).expect("small enough").expect("exists");
    assert!(
        iam.matches(&found) && !small.iter().any(|p| p.matches(&found)),
        "{found}"
    );

    let crafted = crafted_not_action(16);
    let crafted_refs: Vec<&ActionPattern> = crafted.iter().collect();
    assert_eq!(witness(&[&iam], &crafted_refs), Err(TooComplex));
    assert_eq!(
        TooComplex.to_string(),
        "the policy's wildcard patterns are too complex to analyse exactly"
    );
}

#[test]
fn the_budget_is_shared_by_a_whole_document() {
    let patterns = crafted_not_action(8);
    let not_action: Vec<&str> = patterns.iter().map(ActionPattern::as_str).collect();
    let statement = json!({"Effect": "Allow", "NotAction": not_action, "Resource": "*"});
    let forbidden = [p("iam:*")];
    let one = parse(&json!({"Statement": [statement]}));
    let mut budget = Budget::new();
    let found = forbidden_grants_within(&one, &forbidden, &mut budget).expect("one statement fits");
    assert_eq!(found.len(), 1);
    assert!(budget.states() > 1_000, "{} states", budget.states());

    // Enough copies that, together, they need more than the budget: each
    // search alone would fit, the document does not.
    let copies = MAX_STATES / budget.states() + 1;
    let many = parse(&json!({"Statement": vec![statement; copies]}));
    assert_eq!(forbidden_grants(&many, &forbidden), Err(TooComplex));
}
