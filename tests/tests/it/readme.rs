//! The README's quick start works as printed: its shell block runs against a live stack that
//! already has users and projects.

use arca_tests::{ADMIN_TOKEN, Stack};

fn quick_start() -> String {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md");
    let section = readme.split("## Quick start").nth(1).expect("a Quick start section");
    let block = section.split("```sh\n").nth(1).expect("a sh block");
    block.split("```").next().expect("closed block").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_quick_start_runs_as_printed() {
    let stack = Stack::start().await;
    // A stack that already has users and projects: alice is not user 1.
    stack.user("earlier", &["api"]).await;
    stack.project("earlier-project", "private").await;
    let dir = tempfile::tempdir().expect("tmp");
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(quick_start())
        .current_dir(dir.path())
        .env("ARCA", stack.api(""))
        .env("ADMIN", ADMIN_TOKEN)
        .output()
        .await
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quick start failed:\nstdout: {stdout}\nstderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really published, read back, and walked the version through the recycle bin.
    assert!(stdout.contains("\"recycled_by\":\"alice\""), "{stdout}");
    assert!(stdout.contains("\"package.restored\""), "{stdout}");
    assert!(stdout.contains("\"git.sha\":\"3f2a9c1\""), "{stdout}");
}
