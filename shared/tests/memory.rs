//! Peak memory of judging an oversized inline policy (issue #13, item 4): a small multiple of
//! the input, whether the document is logged as a string or as a JSON object.
//!
//! Its own test binary with one test, because it counts every allocation of the process (dhat's
//! global allocator in testing mode).

use idc_guard::domain::{Date, InlinePolicyText, RuleId};
use idc_guard::engine::check_json;
use idc_guard::policy::Policy;

#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

/// A PutInlinePolicyToPermissionSet event whose document (`inline`, JSON text) is logged as a
/// string (`as_object` false) or as a JSON object.
fn event(inline: &str, as_object: bool) -> String {
    let document = if as_object {
        inline.to_owned()
    } else {
        serde_json::to_string(inline).expect("a string")
    };
    format!(
        r#"{{"eventVersion":"1.11","userIdentity":{{"type":"AssumedRole","arn":"arn:aws:sts::222222222222:assumed-role/admin/alice","accountId":"222222222222"}},
        "eventTime":"2026-11-27T10:00:00Z","eventSource":"sso.amazonaws.com","eventName":"PutInlinePolicyToPermissionSet","awsRegion":"eu-west-1",
        "requestParameters":{{"instanceArn":"arn:aws:sso:::instance/ssoins-7223b1c4d5e6f708",
        "permissionSetArn":"arn:aws:sso:::permissionSet/ssoins-7223b1c4d5e6f708/ps-a73f05d19e2b6c48","inlinePolicy":{document}}},
        "responseElements":null,"eventID":"11111111-2222-3333-4444-555555555555","readOnly":false,"eventType":"AwsApiCall",
        "recipientAccountId":"222222222222"}}"#
    )
}

/// A valid policy of many small statements, about `bytes` long: the shape that costs the most
/// per byte as a JSON tree.
fn many_statements(bytes: usize) -> String {
    let statement = r#"{"Effect":"Allow","Action":["s3:GetObject","s3:ListBucket"],"Resource":"*"}"#;
    let count = bytes / (statement.len() + 1);
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        vec![statement; count].join(",")
    )
}

#[test]
fn an_oversized_inline_policy_is_a_finding_at_a_small_multiple_of_its_size() {
    let policy = Policy::default();
    let today = Date::parse("2026-12-05").expect("a date");
    let rule = RuleId::new("inline-policy-forbidden-actions");
    let inline = many_statements(4 * 1024 * 1024);
    let events = [event(&inline, false), event(&inline, true)];
    let input = events.iter().map(String::len).max().unwrap_or_default();
    drop(inline);
    let over = event(&many_statements(InlinePolicyText::MAX_CHARACTERS + 1000), false);
    // From here on, every byte allocated is counted (and never freed bytes are not subtracted from
    // the peak): the decoded record and whatever judging it
    // allocates. A JSON tree of the document would alone cost about 13 times its size, a copy of
    // it once; the oversized document is neither copied nor parsed.
    // (dhat counts from the profiler's start, so the events built before are not in the figure.)
    let profiler = dhat::Profiler::builder().testing().build();
    for text in &events {
        let evaluation = check_json(&policy, text, today).expect("decodes");
        let finding = evaluation
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .unwrap_or_else(|| panic!("no finding for the oversized policy: {evaluation:?}"));
        assert!(finding.message.contains("than the 32768"), "{}", finding.message);
    }
    let peak = dhat::HeapStats::get().max_bytes;
    assert!(
        peak <= 64 * 1024,
        "peak {peak} bytes beyond the events, for events of {input} bytes"
    );
    // Just over the limit: decoded and measured (a copy of the text), still not parsed.
    let evaluation = check_json(&policy, &over, today).expect("decodes");
    assert!(evaluation.findings.iter().any(|f| f.rule == rule), "{evaluation:?}");
    let peak = dhat::HeapStats::get().max_bytes;
    assert!(
        peak <= 4 * over.len(),
        "peak {peak} bytes beyond the event, for an event of {} bytes",
        over.len()
    );
    drop(profiler);
}
