//! Real GitLab API clients against a live stack, used as their documentation shows:
//! python-gitlab (pinned in scripts/deps.sh) runs tests/clients/test_python_gitlab.py and
//! @gitbeaker/rest (pinned in tests/clients/package.json) runs tests/clients/gitbeaker.mjs —
//! generic packages, the Packages API, jobs and job artifacts, pipelines, users, tokens,
//! projects, members, deploy tokens.

use std::path::Path;

use arca_tests::{ADMIN_TOKEN, Stack};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn python_gitlab_recipes_work_unchanged() {
    let stack = Stack::start().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let out = tokio::process::Command::new("python3")
        .arg(root.join("tests/clients/test_python_gitlab.py"))
        .env("ARCA_URL", &stack.url)
        .env("ARCA_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .expect("run python3 (make test installs python-gitlab)");
    // unittest reports on stderr: one line per recipe, then the summary.
    let report = String::from_utf8_lossy(&out.stderr);
    println!("{report}{}", String::from_utf8_lossy(&out.stdout));
    assert!(out.status.success(), "python-gitlab recipes failed:\n{report}");
    assert!(report.contains("test_the_artifacts_recipes") && report.contains("\nOK"), "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn gitbeaker_recipes_work_unchanged() {
    let stack = Stack::start().await;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
    let out = tokio::process::Command::new("node")
        .arg(root.join("tests/clients/gitbeaker.mjs"))
        .current_dir(root.join("tests/clients"))
        .env("ARCA_URL", &stack.url)
        .env("ARCA_ADMIN_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .expect("run node (make test installs node and @gitbeaker/rest)");
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(out.status.success(), "gitbeaker recipes failed:\n{report}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(report.contains("every recipe passed"), "{report}");
}
