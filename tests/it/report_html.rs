//! The access-review page (issue #18) against the emulator, through the CLI as a user runs it,
//! then drawn by headless Chromium: the matrix holds the seeded cells, names an identity
//! provider could make hostile stay text, the page's recertification sheets equal the CLI's, and
//! a screenshot is taken.
//!
//! Chromium is Debian's package at /usr/bin/chromium (`make browser` installs it). Without it
//! the browser half is skipped with a message on stderr, unless `IDC_GUARD_REQUIRE_BROWSER=1`
//! (set by the Makefile after installing it), which makes its absence a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_sdk_ssoadmin::types::PrincipalType;
use idc_guard_tests::world::{PermissionSet, User, World};

/// A group name that would close the data's script element and inject an element.
const BREAKOUT: &str = "</script><img src=x onerror=alert(1)>";
/// A group name with both quotes and an entity that must not be decoded.
const QUOTES: &str = "Ops \"night\" & 'day' &amp;";
/// A user name with markup (and a spreadsheet formula's sign, for the sheet).
const MARKUP_USER: &str = "=<b>mallory</b>";

const CHROMIUM: &str = "/usr/bin/chromium";

/// The shipped rules in detect mode, an owner route and an exception.
const POLICY: &str = r#"mode = "detect"

[owners]
default = "platform"

[[owners.routes]]
owner = "data-team"
permission_sets = ["ReadOnly"]

[[exceptions]]
rule = "session-duration-cap"
permission_sets = ["ReadOnly"]
owner = "security-audit"
reason = "Auditor without an IdP group until the audit ends (TICKET-123)"
expires = 2099-03-31
"#;

/// Accounts prod and dev; `platform-admins` (alice) holds AdministratorAccess in prod, the
/// BREAKOUT group ReadOnly in prod, the QUOTES group and the MARKUP_USER ReadOnly in dev.
async fn world() -> World {
    let w = World::builder()
        .organization(["prod", "dev"])
        .permission_set(
            PermissionSet::new("AdministratorAccess").managed_policy("arn:aws:iam::aws:policy/AdministratorAccess"),
        )
        .permission_set(PermissionSet::new("ReadOnly").managed_policy("arn:aws:iam::aws:policy/ReadOnlyAccess"))
        .group("platform-admins")
        .group(BREAKOUT)
        .group(QUOTES)
        .user(User::new("alice"))
        .user(User::new(MARKUP_USER))
        .member("alice", "platform-admins")
        .build()
        .await;
    let (prod, dev) = (w.accounts[0].clone(), w.accounts[1].clone());
    let seed = [
        (
            &prod,
            "AdministratorAccess",
            PrincipalType::Group,
            w.group_id("platform-admins"),
        ),
        (&prod, "ReadOnly", PrincipalType::Group, w.group_id(BREAKOUT)),
        (&dev, "ReadOnly", PrincipalType::Group, w.group_id(QUOTES)),
        (&dev, "ReadOnly", PrincipalType::User, w.user_id(MARKUP_USER)),
    ];
    for (account, set, kind, id) in seed {
        w.assign(account, w.set_arn(set), kind, id).await;
    }
    w
}

fn idc_guard(w: &World, dir: &Path, args: &[&str]) -> Output {
    w.idc_guard(dir, POLICY, args, &[])
}

fn text(o: &Output) -> String {
    idc_guard_tests::shown(o)
}

/// The scratch directory, under Cargo's target tmp dir (the screenshot is kept there).
fn scratch(w: &World) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-html-{}", w.emulator.port()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Headless Chromium, or `None` (with a message) where it is not installed and not required.
fn chromium() -> Option<&'static str> {
    if Path::new(CHROMIUM).exists() {
        return Some(CHROMIUM);
    }
    assert!(
        std::env::var("IDC_GUARD_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "IDC_GUARD_REQUIRE_BROWSER=1 but {CHROMIUM} is missing: install Debian's `chromium` (make browser)"
    );
    eprintln!(
        "report_html: SKIPPED the browser checks (DOM, screenshot): {CHROMIUM} is not installed; `make browser` \
         installs Debian's chromium (IDC_GUARD_REQUIRE_BROWSER=1 makes this a failure)"
    );
    None
}

/// Runs headless Chromium on `url` with `args`, answering its stdout.
fn browse(bin: &str, dir: &Path, url: &str, args: &[&str]) -> String {
    let out = Command::new("timeout")
        .arg("120")
        .arg(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", dir.join("chromium-profile").display()))
        .args(args)
        .arg(url)
        .output()
        .unwrap();
    assert!(out.status.success(), "chromium failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The matrix's cells of one account's row, by the set named in each cell: their markup.
fn row_cells(dom: &str, account: &str) -> Vec<(String, String)> {
    let start = dom
        .find(&format!("<tr data-account=\"{account}\">"))
        .unwrap_or_else(|| panic!("no matrix row for {account}"));
    let row = &dom[start..];
    let row = &row[..row.find("</tr>").unwrap()];
    row.split("<td data-set=\"")
        .skip(1)
        .map(|cell| {
            let (set, rest) = cell.split_once("\">").unwrap();
            (set.to_owned(), rest.trim_end_matches("</td>").to_owned())
        })
        .collect()
}

fn cell<'a>(cells: &'a [(String, String)], set: &str) -> &'a str {
    cells
        .iter()
        .find(|(s, _)| s == set)
        .map(|(_, c)| c.as_str())
        .unwrap_or_else(|| panic!("no {set} cell in {cells:?}"))
}

/// The data rows of every owner's sheet, as the page's script writes them (`#csv`).
fn page_sheets(bin: &str, dir: &Path, url: &str) -> Vec<String> {
    let dom = browse(bin, dir, &format!("{url}#csv"), &["--dump-dom"]);
    let mut page_rows = Vec::new();
    for pre in dom.split("<pre class=\"csv-check\">").skip(1) {
        let body = &pre[..pre.find("</pre>").unwrap()];
        let body = body.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
        page_rows.extend(body.lines().skip(1).map(|l| l.trim_end_matches('\r').to_owned()));
    }
    page_rows
}

/// Text as the DOM serialiser writes it in an element (`&`, `<`, `>` escaped, quotes kept).
fn dom_text(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The page as written (hostile names only escaped, nothing to fetch) and the model beside it.
fn check_written(html: &str, model: &Path) {
    assert!(!html.contains(BREAKOUT) && !html.contains("<img") && !html.contains("<b>mallory"));
    assert_eq!(html.matches("<script").count(), 2);
    for external in ["http:", "https:", "src=\"", "url(", "@import"] {
        assert!(!html.contains(external), "{external} in the page");
    }
    // The model names the privileged group's member, the exception's owner, the user's finding.
    let review: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(model).unwrap()).unwrap();
    let privileged = &review["privileged"];
    assert!(privileged.to_string().contains("alice"), "{privileged}");
    assert_eq!(review["exceptions"][0]["owner"], "security-audit");
    assert!(
        review["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "assignment-principal-type"),
        "{}",
        review["findings"]
    );
}

#[tokio::test]
async fn the_review_page_shows_the_seeded_matrix_keeps_hostile_names_as_text_and_renders_in_chromium() {
    let w = world().await;
    let dir = scratch(&w);
    let page = dir.join("report.html");
    let model = dir.join("review.json");
    let o = idc_guard(
        &w,
        &dir,
        &[
            "report",
            "--html",
            page.to_str().unwrap(),
            "--format",
            "json",
            "--output",
            model.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("4 assignments"), "{}", text(&o));
    let html = std::fs::read_to_string(&page).unwrap();

    check_written(&html, &model);

    let Some(bin) = chromium() else { return };
    let url = format!("file://{}", page.display());
    let dom = browse(bin, &dir, &url, &["--dump-dom"]);
    assert!(
        dom.contains("data-rendered-ms=\""),
        "the page's script did not finish:\n{dom}"
    );
    // The seeded cells, by account and set.
    let (prod, dev) = (&w.accounts[0], &w.accounts[1]);
    let prod_cells = row_cells(&dom, prod);
    assert!(cell(&prod_cells, "AdministratorAccess").contains(">platform-admins</span>"));
    assert!(cell(&prod_cells, "ReadOnly").contains(&format!(">{}</span>", dom_text(BREAKOUT))));
    let dev_cells = row_cells(&dom, dev);
    assert_eq!(cell(&dev_cells, "AdministratorAccess"), "");
    let dev_read_only = cell(&dev_cells, "ReadOnly");
    assert!(
        dev_read_only.contains(&format!(">{}</span>", dom_text(QUOTES))),
        "{dev_read_only}"
    );
    // The user is marked as one, and as a finding's subject.
    assert!(
        dev_read_only.contains(&format!("<span class=\"p u f\">{}</span>", dom_text(MARKUP_USER))),
        "{dev_read_only}"
    );
    // Nothing was injected: no element from a name, the page's two scripts only.
    assert!(
        !dom.contains("<img") && !dom.contains("<b>mallory"),
        "an injected element"
    );
    assert_eq!(dom.matches("<script").count(), 2);

    // The page's sheet for each owner is the CLI's, row for row.
    let sheet = idc_guard(
        &w,
        &dir,
        &["report", "--from-json", model.to_str().unwrap(), "--format", "csv"],
    );
    assert_eq!(sheet.status.code(), Some(0), "{}", text(&sheet));
    let cli_rows: Vec<String> = String::from_utf8_lossy(&sheet.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        cli_rows.iter().any(|r| r.starts_with("USER,\"'=<b>mallory</b>\",")),
        "{cli_rows:?}"
    );
    let mut page_rows = page_sheets(bin, &dir, &url);
    let mut cli_data: Vec<String> = cli_rows
        .iter()
        .skip(1)
        .map(|l| l.trim_end_matches('\r').to_owned())
        .collect();
    page_rows.sort();
    cli_data.sort();
    assert_eq!(page_rows, cli_data);

    // A screenshot, kept in the target's tmp dir.
    let png = dir.join("report.png");
    let _ = std::fs::remove_file(&png);
    browse(
        bin,
        &dir,
        &url,
        &[&format!("--screenshot={}", png.display()), "--window-size=1400,1000"],
    );
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 10_000,
        "{} bytes",
        bytes.len()
    );
    eprintln!("report_html: screenshot at {}", png.display());
}
