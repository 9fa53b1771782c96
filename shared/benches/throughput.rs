//! Decoding and evaluation throughput over the realistic event mix in `events/`.
//!
//! Run: `cargo bench -p idc-guard --bench throughput` (results go to BENCHMARKS.md).
//!
//! Every fixture is one EventBridge event whose name ends in the verdict the shipped policy
//! reaches; together they are the mix (assignments, permission sets, inline and managed policies,
//! identity store and SCIM changes, and ignored records: failed, read-only, other instance, own
//! echo). Two variants are measured: the events as EventBridge delivers them (what the Lambda
//! sees), and the bare CloudTrail records with the envelope stripped and whitespace removed
//! (what a CloudTrail log file holds). Each is measured decode-only and decode+evaluate
//! (`check_json`), single-threaded, after a warm-up; a third line streams a `{"Records":[…]}` log
//! file from memory through `RecordReader` and `check_json`, i.e. `idc-guard check` minus output.
//!
//! `BENCH_ROUNDS` (passes over the mix per sample, default 3000: 210,000 events with 70 fixtures)
//! and `BENCH_SAMPLES` (default 3; the median is reported) override the run length. Fewer than
//! 200,000 events per sample is a profiling run (e.g. under valgrind) and is not judged.
//!
//! Both wall time and the thread's on-CPU time are reported; the target (100,000 events/s on one
//! core) is judged on on-CPU time, since other processes may share the machine. The process
//! exits 1 when the target is missed.

use std::hint::black_box;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use idc_guard::domain::Date;
use idc_guard::domain::EventVerdict;
use idc_guard::domain::{IdentityStoreId, InstanceArn};
use idc_guard::engine::check_json;
use idc_guard::event::{RecordReader, decode};
use idc_guard::policy::Policy;

const TARGET_PER_SEC: f64 = 100_000.0;
const MIN_EVENTS: usize = 200_000;
/// Passes over the mix in the in-memory CloudTrail log file.
const LOG_PASSES: usize = 50;
const FIXTURE_INSTANCE: &str = "arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708";
const FIXTURE_IDENTITY_STORE: &str = "d-9067a1b2c3";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from(".."), Path::to_path_buf)
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// `(file name, EventBridge event text)` for every fixture, sorted by name.
fn load_fixtures() -> Vec<(String, String)> {
    let dir = repo_root().join("events");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, text)
        })
        .collect()
}

/// The verdict a fixture's name promises: the last `-`-separated word before `.json`.
fn promised_verdict(name: &str) -> &str {
    name.trim_end_matches(".json").rsplit('-').next().unwrap_or_default()
}

/// Removes insignificant whitespace from JSON text, keeping key order and string contents.
fn minify(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_ascii_whitespace() {
            out.push(c);
        }
    }
    out
}

/// The CloudTrail record inside an EventBridge event: its `detail`, as written, minified.
fn strip_envelope(name: &str, event: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Envelope<'a> {
        #[serde(borrow)]
        detail: &'a serde_json::value::RawValue,
    }
    let env: Envelope<'_> = serde_json::from_str(event).unwrap_or_else(|e| panic!("{name}: {e}"));
    minify(env.detail.get())
}

const FIXTURE_OWN_ROLES: [&str; 2] = [
    "arn:aws:iam::222222222222:role/idc-guard-assignment-guard",
    "arn:aws:iam::222222222222:role/idc-guard-identity-guard",
];

fn fixture_policy() -> Policy {
    let path = repo_root().join("policy/guardrail.toml");
    let mut policy = Policy::load(&path).unwrap_or_else(|e| panic!("{e}"));
    policy.instance_arn = Some(InstanceArn::parse(FIXTURE_INSTANCE).unwrap_or_else(|e| panic!("{e}")));
    policy.identity_store_id = Some(IdentityStoreId::parse(FIXTURE_IDENTITY_STORE).unwrap_or_else(|e| panic!("{e}")));
    // The roles the fixtures' idc-guard runs as (the deployment passes its own, as
    // IDC_GUARD_OWN_ROLES; see events/README.md).
    policy.own_identity.role_arns = FIXTURE_OWN_ROLES.iter().map(|r| (*r).to_owned()).collect();
    policy
}

/// Checks every record once and compares with the verdict its fixture name promises, so the
/// benchmark measures the real paths (a record failing to decode would be a cheap early exit).
fn verify(policy: &Policy, today: Date, names: &[String], records: &[String], variant: &str) -> [usize; 4] {
    let mut counts = [0usize; 4];
    for (name, json) in names.iter().zip(records) {
        let evaluation = check_json(policy, json, today).unwrap_or_else(|e| panic!("{variant} {name}: {e}"));
        let got = evaluation.verdict.as_str();
        assert_eq!(got, promised_verdict(name), "{variant} {name}: verdict");
        counts[match evaluation.verdict {
            EventVerdict::Violation => 0,
            EventVerdict::Undetermined => 1,
            EventVerdict::Compliant => 2,
            EventVerdict::Ignored => 3,
        }] += 1;
    }
    counts
}

/// On-CPU time of the calling thread (Linux `/proc/thread-self/schedstat`, nanoseconds): what
/// "on one core" means when other work shares the machine. `None` where it is unavailable.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// Median, best and worst of a set of sample times.
struct Spread {
    median: Duration,
    best: Duration,
    worst: Duration,
}

impl Spread {
    fn of(mut times: Vec<Duration>) -> Self {
        times.sort();
        Self {
            median: times[times.len() / 2],
            best: times[0],
            worst: times[times.len() - 1],
        }
    }
}

struct Stats {
    events: usize,
    wall: Spread,
    cpu: Option<Spread>,
}

impl Stats {
    fn per_sec(&self, d: Duration) -> f64 {
        self.events as f64 / d.as_secs_f64()
    }

    fn ns_per_event(&self, d: Duration) -> f64 {
        d.as_nanos() as f64 / self.events as f64
    }

    /// The figure judged against the target: on-CPU throughput where measurable, else wall.
    fn judged(&self) -> f64 {
        self.per_sec(self.cpu.as_ref().unwrap_or(&self.wall).median)
    }
}

/// Runs `body` (which processes `events` events) for 300 ms to warm up, then `samples` times.
fn measure(events: usize, samples: usize, mut body: impl FnMut() -> usize) -> Stats {
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(300) {
        black_box(body());
    }
    let mut wall = Vec::with_capacity(samples);
    let mut cpu = Vec::with_capacity(samples);
    for _ in 0..samples {
        let cpu_start = thread_cpu();
        let start = Instant::now();
        let n = black_box(body());
        wall.push(start.elapsed());
        if let (Some(a), Some(b)) = (cpu_start, thread_cpu()) {
            cpu.push(b.saturating_sub(a));
        }
        assert_eq!(n, events, "events processed");
    }
    Stats {
        events,
        wall: Spread::of(wall),
        cpu: (cpu.len() == samples).then(|| Spread::of(cpu)),
    }
}

fn report(label: &str, s: &Stats, judged: bool) {
    let verdict = match judged {
        false => "",
        true if s.judged() >= TARGET_PER_SEC => "PASS",
        true => "FAIL",
    };
    let figure = |name: &str, d: &Spread| {
        format!(
            "{name} {:>7.0}/s {:>6.0} ns/event (best {:>6.0}/s, worst {:>6.0}/s)",
            s.per_sec(d.median),
            s.ns_per_event(d.median),
            s.per_sec(d.best),
            s.per_sec(d.worst),
        )
    };
    let cpu = s.cpu.as_ref().map(|c| figure("cpu", c)).unwrap_or_default();
    println!("{label:<38} {}   {cpu}   {verdict}", figure("wall", &s.wall));
}

/// Decodes every record `rounds` times; returns the number decoded.
fn decode_only(records: &[String], rounds: usize) -> usize {
    let mut n = 0;
    for _ in 0..rounds {
        for r in records {
            let d = decode(black_box(r)).unwrap_or_else(|e| panic!("{e}"));
            black_box(&d);
            n += 1;
        }
    }
    n
}

/// Decodes and evaluates every record `rounds` times; returns the number checked.
fn checked(policy: &Policy, today: Date, records: &[String], rounds: usize) -> usize {
    let mut n = 0;
    for _ in 0..rounds {
        for r in records {
            let e = check_json(policy, black_box(r), today).unwrap_or_else(|e| panic!("{e}"));
            black_box(&e);
            n += 1;
        }
    }
    n
}

fn main() {
    let fixtures = load_fixtures();
    assert!(!fixtures.is_empty(), "no fixtures in events/");
    let names: Vec<String> = fixtures.iter().map(|(n, _)| n.clone()).collect();
    let enveloped: Vec<String> = fixtures.iter().map(|(_, t)| t.clone()).collect();
    let raw: Vec<String> = fixtures.iter().map(|(n, t)| strip_envelope(n, t)).collect();
    let policy = fixture_policy();
    let today = Date::new(2026, 11, 27).unwrap_or_else(|| panic!("date"));

    let counts = verify(&policy, today, &names, &enveloped, "eventbridge");
    let raw_counts = verify(&policy, today, &names, &raw, "cloudtrail");
    assert_eq!(counts, raw_counts, "the envelope changes no verdict");

    // Passes over the mix per sample, a multiple of LOG_PASSES (the log file variant below).
    let min_rounds = MIN_EVENTS.div_ceil(fixtures.len()).next_multiple_of(LOG_PASSES);
    let rounds = env_usize("BENCH_ROUNDS", 3000).next_multiple_of(LOG_PASSES);
    let samples = env_usize("BENCH_SAMPLES", 3);
    let events = rounds * fixtures.len();
    let official = rounds >= min_rounds;
    let bytes = |v: &[String]| v.iter().map(String::len).sum::<usize>() / v.len();

    println!("idc-guard decode+evaluate throughput, single-threaded");
    println!(
        "mix: {} fixtures from events/ ({} violation, {} undetermined, {} compliant, {} ignored); \
         mean size {} B as EventBridge events, {} B as minified CloudTrail records",
        fixtures.len(),
        counts[0],
        counts[1],
        counts[2],
        counts[3],
        bytes(&enveloped),
        bytes(&raw),
    );
    println!(
        "policy: guardrail.toml scoped to {FIXTURE_INSTANCE} / {FIXTURE_IDENTITY_STORE}; \
         {rounds} passes = {events} events per sample, median of {samples} samples after a 300 ms warm-up"
    );
    println!(
        "wall: elapsed time; cpu: on-CPU time of the benchmark thread (/proc/thread-self/schedstat), \
         which excludes time the machine gave to other processes; the target is judged on cpu"
    );
    if !official {
        println!("BENCH_ROUNDS is below {min_rounds} ({MIN_EVENTS} events): a profiling run, not a measurement");
    }
    println!();

    let eb_decode = measure(events, samples, || decode_only(&enveloped, rounds));
    report("EventBridge events: decode", &eb_decode, false);
    let eb_check = measure(events, samples, || checked(&policy, today, &enveloped, rounds));
    report("EventBridge events: decode+evaluate", &eb_check, official);
    let ct_decode = measure(events, samples, || decode_only(&raw, rounds));
    report("CloudTrail records: decode", &ct_decode, false);
    let ct_check = measure(events, samples, || checked(&policy, today, &raw, rounds));
    report("CloudTrail records: decode+evaluate", &ct_check, official);

    // A CloudTrail log file as delivered to S3, held in memory (LOG_PASSES passes over the mix,
    // ~5 MB) and streamed through RecordReader and check_json `rounds / LOG_PASSES` times:
    // `idc-guard check` minus file I/O and output.
    let mut log = String::from("{\"Records\":[");
    for i in 0..LOG_PASSES * raw.len() {
        if i > 0 {
            log.push(',');
        }
        log.push_str(&raw[i % raw.len()]);
    }
    log.push_str("]}");
    let log = log.into_bytes();
    let streamed = measure(events, samples, || {
        let mut n = 0;
        for _ in 0..rounds / LOG_PASSES {
            let reader = RecordReader::from_plain(Cursor::new(black_box(&log[..])));
            for record in reader {
                let json = record.unwrap_or_else(|e| panic!("{e}"));
                let e = check_json(&policy, &json, today).unwrap_or_else(|e| panic!("{e}"));
                black_box(&e);
                n += 1;
            }
        }
        n
    });
    report("CloudTrail log file: split+decode+eval", &streamed, official);

    println!();
    let slowest = [&eb_check, &ct_check, &streamed]
        .iter()
        .map(|s| s.judged())
        .fold(f64::INFINITY, f64::min);
    let outcome = match (official, slowest >= TARGET_PER_SEC) {
        (false, _) => "not judged (profiling run)",
        (true, true) => "PASS",
        (true, false) => "FAIL",
    };
    println!(
        "target: >= {TARGET_PER_SEC:.0} events/s decode+evaluate on one core; \
         slowest decode+evaluate variant {slowest:.0} events/s: {outcome}"
    );
    if outcome == "FAIL" {
        std::process::exit(1);
    }
}
