//! Near-duplicate clustering of 1,000 permission sets (issue #16, item 3: "1,000 sets clustered
//! in under 1 second").
//!
//! The sets are generated deterministically (a fixed-seed generator): 15 families of 40 near-copies
//! each (the guide's per-team copies: shared grants, the team's name in its resource ARNs, and
//! some drift: a statement added or dropped in one copy in five), plus 400 distinct sets drawn
//! from a pool of services and actions. Measured: normalising the 1,000 definitions into
//! features (`hygiene::features::of`), clustering them (`hygiene::near_duplicates`: prefix
//! filtering, verification, union-find, each cluster's diff and hint), and for comparison the
//! naive all-pairs comparison on the same feature ids and on the feature strings.
//!
//! Run: `cargo bench -p idc-guard --bench hygiene` (results go to BENCHMARKS.md). The process
//! exits 1 when normalising plus clustering takes 1 s or more, or when the naive comparison
//! finds other clusters.

use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::time::{Duration, Instant};

use idc_guard::domain::{Fact, InlinePolicyText, PermissionSetArn, PermissionSetFacts, SessionDuration};
use idc_guard::hygiene::{self, Features, SetRef, Settings, cluster};

/// A small deterministic generator (64-bit LCG, high bits out).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next()).unwrap_or(0) % n
    }
}

const SERVICES: &[&str] = &[
    "s3",
    "ec2",
    "lambda",
    "dynamodb",
    "sqs",
    "sns",
    "kms",
    "logs",
    "cloudwatch",
    "rds",
    "ecr",
    "ecs",
    "eks",
    "glue",
    "athena",
    "kinesis",
    "states",
    "events",
    "ssm",
    "secretsmanager",
    "elasticloadbalancing",
    "autoscaling",
    "route53",
    "cloudformation",
    "codebuild",
    "codepipeline",
    "sagemaker",
    "redshift",
    "emr",
    "xray",
];
const VERBS: &[&str] = &[
    "Get*",
    "List*",
    "Describe*",
    "Put*",
    "Create*",
    "Delete*",
    "Update*",
    "Start*",
];
const MANAGED: &[&str] = &[
    "ReadOnlyAccess",
    "job-function/ViewOnlyAccess",
    "AmazonS3ReadOnlyAccess",
    "CloudWatchReadOnlyAccess",
    "AWSSupportAccess",
    "job-function/DataScientist",
    "AmazonEC2ReadOnlyAccess",
];
const TEAMS: &[&str] = &[
    "dataeng", "payments", "search", "checkout", "identity", "ledger", "growth", "mobile", "platform", "risk",
    "catalog", "billing", "pricing", "fraud", "support", "infra", "ml", "web", "edge", "storage",
];

fn statement(rng: &mut Rng, resource: &str) -> String {
    let service = SERVICES[rng.below(SERVICES.len())];
    let actions: BTreeSet<String> = (0..1 + rng.below(4))
        .map(|_| format!("{service}:{}", VERBS[rng.below(VERBS.len())]))
        .collect();
    let actions: Vec<String> = actions.into_iter().map(|a| format!("\"{a}\"")).collect();
    format!(
        r#"{{"Effect":"Allow","Action":[{}],"Resource":"{resource}"}}"#,
        actions.join(",")
    )
}

fn definition(i: usize, managed: &[&str], statements: &[String]) -> PermissionSetFacts {
    let arn = PermissionSetArn::parse(&format!(
        "arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-{i:016x}"
    ))
    .expect("a valid ARN");
    let mut ps = PermissionSetFacts::unknown(arn);
    ps.managed_policies = Fact::Known(managed.iter().map(|m| format!("arn:aws:iam::aws:policy/{m}")).collect());
    ps.inline_policy = Fact::Known(Some(InlinePolicyText::Text(format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    ))));
    ps.boundary = Fact::Known(None);
    ps.session_duration = Fact::Known(SessionDuration::parse("PT8H").expect("a duration"));
    ps.customer_managed_policies = Fact::Known(Vec::new());
    ps
}

/// 15 families of 40 near-copies, then 400 distinct sets: (name, definition).
fn generate() -> Vec<(String, PermissionSetFacts)> {
    let mut rng = Rng(0x1d_c6_ad_16);
    let mut sets = Vec::new();
    for family in 0..15 {
        let managed = [MANAGED[family % MANAGED.len()]];
        let shared: Vec<String> = (0..6).map(|_| statement(&mut rng, "*")).collect();
        let team_actions: Vec<String> = (0..3).map(|_| statement(&mut rng, "TEAM")).collect();
        for member in 0..40 {
            let team = format!("{}{}", TEAMS[member % TEAMS.len()], member / TEAMS.len());
            let env = ["prod", "dev"][member % 2];
            let name = format!("F{family}-{team}-{env}");
            let prefix = format!("f{family}-{team}-{env}");
            let mut statements = shared.clone();
            statements.extend(
                team_actions
                    .iter()
                    .map(|s| s.replace("\"TEAM\"", &format!("\"arn:aws:s3:::{prefix}-data/*\""))),
            );
            // Drift: one copy in five gains a statement, one in ten loses one.
            if rng.below(5) == 0 {
                statements.push(statement(&mut rng, "*"));
            }
            if rng.below(10) == 0 {
                statements.remove(rng.below(statements.len()));
            }
            sets.push((name, definition(sets.len(), &managed, &statements)));
        }
    }
    for i in 0..400 {
        let managed: Vec<&str> = (0..rng.below(3)).map(|_| MANAGED[rng.below(MANAGED.len())]).collect();
        let statements: Vec<String> = (0..2 + rng.below(10)).map(|_| statement(&mut rng, "*")).collect();
        sets.push((format!("Distinct{i}"), definition(sets.len(), &managed, &statements)));
    }
    sets
}

fn median(samples: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..samples)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn features(sets: &[(String, PermissionSetFacts)]) -> Vec<(SetRef, Features)> {
    sets.iter()
        .map(|(name, ps)| {
            let set = SetRef {
                name: Some(name.clone()),
                arn: ps.arn.to_string(),
            };
            (
                set,
                hygiene::features::of(Some(name), ps).expect("every definition is known"),
            )
        })
        .collect()
}

/// Naive Jaccard on the feature strings themselves.
fn string_jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let common = a.iter().filter(|f| b.contains(*f)).count();
    let union = a.len() + b.len() - common;
    #[allow(clippy::cast_precision_loss)]
    let j = if union == 0 { 1.0 } else { common as f64 / union as f64 };
    j
}

fn main() {
    let sets = generate();
    let settings = Settings::default();
    let normalise = median(11, || {
        black_box(features(black_box(&sets)));
    });
    let compared = features(&sets);
    let cluster_time = median(11, || {
        black_box(hygiene::near_duplicates(black_box(&compared), &settings));
    });
    let clusters = hygiene::near_duplicates(&compared, &settings);
    // The same feature ids for both joins.
    let mut ids: HashMap<&str, u32> = HashMap::new();
    let vectors: Vec<Vec<u32>> = compared
        .iter()
        .map(|(_, f)| {
            let mut v: Vec<u32> = f
                .template
                .iter()
                .map(|s| {
                    let next = u32::try_from(ids.len()).unwrap_or(u32::MAX);
                    *ids.entry(s.as_str()).or_insert(next)
                })
                .collect();
            v.sort_unstable();
            v
        })
        .collect();
    let join_time = median(11, || {
        black_box(cluster::clusters(black_box(&vectors), settings.threshold));
    });
    let naive_time = median(5, || {
        black_box(cluster::naive(black_box(&vectors), settings.threshold));
    });
    let naive_strings = median(3, || {
        let mut links = 0usize;
        for i in 0..compared.len() {
            for j in i + 1..compared.len() {
                if string_jaccard(&compared[i].1.template, &compared[j].1.template) >= settings.threshold - 1e-9 {
                    links += 1;
                }
            }
        }
        black_box(links);
    });
    let same = cluster::clusters(&vectors, settings.threshold) == cluster::naive(&vectors, settings.threshold);
    let sizes: Vec<usize> = clusters.iter().map(|c| c.members.len()).collect();
    let hinted = clusters.iter().filter(|c| c.hint.is_some()).count();
    let total = normalise + cluster_time;
    println!(
        "{} sets: {} clusters (sizes {sizes:?}), {hinted} with a hint; prefix filter and naive agree: {same}",
        sets.len(),
        clusters.len()
    );
    println!(
        "normalise 1,000 definitions into features: {:.2} ms (median of 11)",
        ms(normalise)
    );
    println!(
        "cluster (near_duplicates: join, union-find, diffs, hints): {:.2} ms (median of 11)",
        ms(cluster_time)
    );
    println!(
        "  of which the join alone (prefix filter + verification): {:.2} ms",
        ms(join_time)
    );
    println!("normalise + cluster: {:.2} ms (target < 1000 ms)", ms(total));
    println!(
        "naive all-pairs on the same feature ids: {:.2} ms (median of 5)",
        ms(naive_time)
    );
    println!(
        "naive all-pairs on the feature strings: {:.2} ms (median of 3)",
        ms(naive_strings)
    );
    if total >= Duration::from_secs(1) || !same {
        std::process::exit(1);
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
