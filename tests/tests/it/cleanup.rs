//! The cleanup worker (docs/ARCHITECTURE.md, "The cleanup worker") against real Redis and
//! S3: several workers never do the same work twice, a dead worker's work is finished by
//! another, orphans are swept only past their grace period, uploads in flight survive a
//! sweep, and abandoned multipart uploads are aborted. These tests drive the worker's
//! passes themselves: the stack's own worker only runs once, at start
//! (`ARCA_CLEANUP_INTERVAL=1000days`).

use std::sync::Arc;
use std::time::Duration;

use arca_shared::blobs::BlobKeys;
use arca_shared::config::{Config, Source};
use arca_shared::model::Artifact;
use arca_shared::time::now_ms;
use arca_shared::{App, AppState};
use arca_tests::{ADMIN_TOKEN, Stack, keys_under};
use futures_util::StreamExt;
use serde_json::Value;

fn manual(
    extra: &'static [(&'static str, &'static str)],
) -> impl FnOnce(&mut std::collections::HashMap<String, String>) {
    move |s| {
        s.insert("ARCA_CLEANUP_INTERVAL".into(), "1000days".into());
        for (k, v) in extra {
            s.insert((*k).into(), (*v).into());
        }
    }
}

async fn put_object(app: &AppState, key: &str) {
    app.blobs
        .client()
        .put_object()
        .bucket(app.blobs.bucket())
        .key(key)
        .body(bytes::Bytes::from_static(b"PK").into())
        .send()
        .await
        .expect("put");
}

/// `n` artifacts of project `pid` whose expiry passed, with jobs ids from `first`: the
/// archives of even jobs and the junit reports of odd ones.
pub(crate) async fn expired_artifacts(app: &AppState, pid: u64, first: u64, n: u64, expired: bool) -> Vec<String> {
    let keys: Vec<(u64, String)> =
        (first..first + n).map(|job| (job, BlobKeys::job_artifacts(pid, job, &uuid(job)))).collect();
    futures_util::stream::iter(keys.clone())
        .for_each_concurrent(16, |(job, key)| async move {
            put_object(app, &key).await;
            let (file_type, file_format) = if job % 2 == 0 { ("archive", "zip") } else { ("junit", "gzip") };
            let a = Artifact {
                job_id: job,
                project_id: pid,
                file_type: file_type.into(),
                file_format: file_format.into(),
                filename: None,
                blob_key: key,
                size: 2,
                sha256: String::new(),
                entries: 0,
                created_at: now_ms(),
                expire_at: Some(if expired { now_ms() - 1000 } else { now_ms() + 3_600_000 }),
                locked: false,
                indexed: false,
            };
            app.meta.save_artifact(&a).await.expect("save");
        })
        .await;
    keys.into_iter().map(|(_, k)| k).collect()
}

fn uuid(n: u64) -> String {
    format!("00000000-0000-0000-0000-{n:012}")
}

async fn second_app(stack: &Stack, extra: &[(&str, &str)]) -> AppState {
    let mut settings = stack.backends.settings();
    for (k, v) in extra {
        settings.insert((*k).into(), (*v).into());
    }
    App::connect(Config::from_source(&Source::map(settings)).expect("config")).await.expect("app")
}

/// Runs the artifact pass until it finds nothing; returns what this worker deleted.
async fn drain(app: AppState) -> u64 {
    let mut total = 0;
    loop {
        let n = arca_cleanup::expire_artifacts(&app).await.expect("pass");
        if n == 0 {
            return total;
        }
        total += n;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_delete_10000_expired_blobs_each_exactly_once() {
    let stack = Stack::start_with(manual(&[])).await;
    let (pid, _) = stack.project("many", "private").await;
    let doomed = expired_artifacts(&stack.app, pid, 1, 10_000, true).await;
    let alive = expired_artifacts(&stack.app, pid, 100_000, 20, false).await;
    let other = second_app(&stack, &[]).await;
    let (a, b) = tokio::join!(tokio::spawn(drain(stack.app.clone())), tokio::spawn(drain(other)));
    let (a, b) = (a.expect("worker a"), b.expect("worker b"));
    println!("worker a deleted {a}, worker b {b}");
    assert_eq!(a + b, doomed.len() as u64, "each expired artifact deleted once");
    assert!(a > 0 && b > 0, "both workers took part: {a} / {b}");
    let left = keys_under(&stack.app, &format!("artifacts/{pid}/")).await;
    let mut want = alive.clone();
    want.sort();
    let mut left_sorted = left.clone();
    left_sorted.sort();
    assert_eq!(left_sorted, want, "exactly the unexpired ones are left");
    for job in [1, 5000, 9999, 10_000] {
        assert!(stack.app.meta.job_artifacts(pid, job).await.expect("redis").is_empty(), "job {job}");
    }
    assert!(stack.app.meta.artifact(pid, 100_000).await.expect("redis").is_some());
    assert!(stack.app.meta.job_artifact(pid, 100_001, "junit").await.expect("redis").is_some());
    assert_eq!(stack.app.meta.project_artifact_jobs(pid).await.expect("redis").len(), alive.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dead_workers_claims_expire_and_another_finishes() {
    let stack = Stack::start_with(manual(&[("ARCA_CLEANUP_LEASE", "1s")])).await;
    let (pid, _) = stack.project("crash", "private").await;
    expired_artifacts(&stack.app, pid, 1, 50, true).await;
    // A worker claimed ten artifacts and died before deleting them.
    for job in 1..=10 {
        let file_type = if job % 2 == 0 { "archive" } else { "junit" };
        let work = format!("artifact:{pid}:{job}:{file_type}");
        assert!(stack.app.meta.claim(&work, "dead-worker", 1000).await.expect("claim"));
    }
    assert_eq!(drain(stack.app.clone()).await, 40, "claimed work is left alone");
    assert_eq!(keys_under(&stack.app, "artifacts/").await.len(), 10);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(drain(stack.app.clone()).await, 10, "the dead worker's claims expired");
    assert!(keys_under(&stack.app, "artifacts/").await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn orphans_older_than_the_grace_period_are_swept() {
    let stack = Stack::start_with(manual(&[("ARCA_ORPHAN_GRACE", "2s")])).await;
    let (pid, _) = stack.project("orphans", "private").await;
    let url = stack.api(&format!("/projects/{pid}/packages/generic/kept/1/file"));
    let resp = stack.http.put(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body("referenced").send().await.expect("req");
    assert_eq!(resp.status(), 201);
    let old = BlobKeys::package_file(pid, "orphan-old");
    put_object(&stack.app, &old).await;
    put_object(&stack.app, "elsewhere/not-ours").await;
    // A job's archive and its junit report: both referenced, neither swept.
    let referenced = expired_artifacts(&stack.app, pid, 1, 2, false).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let young = BlobKeys::package_file(pid, "orphan-young");
    put_object(&stack.app, &young).await;

    let swept = arca_cleanup::sweep_orphans(&stack.app).await.expect("sweep");
    assert_eq!(swept, 1);
    let left = keys_under(&stack.app, "packages/").await;
    assert!(!left.contains(&old), "old orphan deleted");
    assert!(left.contains(&young), "young orphan kept within its grace period");
    assert_eq!(left.len(), 2, "the referenced file stays: {left:?}");
    assert_eq!(keys_under(&stack.app, "elsewhere/").await.len(), 1, "keys outside arca's prefixes are not touched");
    let mut artifacts = keys_under(&stack.app, "artifacts/").await;
    artifacts.sort();
    assert_eq!(artifacts, referenced, "an archive and a report are referenced");
    let resp = stack.http.get(&url).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    let location = resp.headers()["location"].to_str().expect("ascii").to_owned();
    assert_eq!(reqwest::get(location).await.expect("s3").text().await.expect("body"), "referenced");
    assert_eq!(arca_cleanup::sweep_orphans(&stack.app).await.expect("sweep"), 0, "at most once per grace period");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_upload_in_flight_survives_a_sweep() {
    let stack = Stack::start_with(manual(&[("ARCA_ORPHAN_GRACE", "0s")])).await;
    let (pid, _) = stack.project("inflight", "private").await;
    // Both kinds of upload: one streaming PUT (known length), one multipart (chunked).
    let mut tasks = Vec::new();
    for chunked in [false, true] {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<bytes::Bytes, std::io::Error>>(1);
        let url = stack
            .api(&format!("/projects/{pid}/packages/generic/slow/1/{}", if chunked { "chunked" } else { "sized" }));
        let mut req = stack.http.put(url).header("PRIVATE-TOKEN", ADMIN_TOKEN);
        let size = 20 * 1024 * 1024;
        if !chunked {
            req = req.header("Content-Length", size);
        }
        let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|i| (i, rx)) });
        let req = req.body(reqwest::Body::wrap_stream(stream));
        tasks.push((tokio::spawn(req.send()), tx, size));
    }
    let chunk = bytes::Bytes::from(vec![9u8; 1024 * 1024]);
    for (_, tx, _) in &tasks {
        for _ in 0..12 {
            tx.send(Ok(chunk.clone())).await.expect("send");
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    arca_cleanup::sweep_orphans(&stack.app).await.expect("sweep");
    arca_cleanup::abort_stale_multiparts(&stack.app).await.expect("multipart pass");
    for (task, tx, _) in tasks {
        for _ in 0..8 {
            tx.send(Ok(chunk.clone())).await.expect("send");
        }
        drop(tx);
        assert_eq!(task.await.expect("task").expect("response").status(), 201, "the upload completes");
    }
    let listed = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages/1/package_files")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    let files: serde_json::Value = listed.json().await.expect("json");
    assert_eq!(files.as_array().map(Vec::len), Some(2));
    assert!(files.as_array().expect("files").iter().all(|f| f["size"] == 20 * 1024 * 1024));
    assert_eq!(keys_under(&stack.app, "packages/").await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn abandoned_multipart_uploads_are_aborted() {
    let stack = Stack::start_with(manual(&[("ARCA_MULTIPART_MAX_AGE", "1s")])).await;
    let app = Arc::new(stack.app.clone());
    // As a crashed upload service leaves it: created, one part sent, tracked, never ended.
    let key = BlobKeys::package_file(1, "abandoned");
    let client = app.blobs.client();
    let created = client.create_multipart_upload().bucket(app.blobs.bucket()).key(&key).send().await.expect("create");
    let upload_id = created.upload_id().expect("id").to_owned();
    client
        .upload_part()
        .bucket(app.blobs.bucket())
        .key(&key)
        .upload_id(&upload_id)
        .part_number(1)
        .body(bytes::Bytes::from(vec![1u8; 6 * 1024 * 1024]).into())
        .send()
        .await
        .expect("part");
    app.meta.track_multipart(&key, &upload_id, now_ms()).await.expect("track");
    let parts = || stack.backends.open_multipart_parts().len();
    assert_eq!(parts(), 1);
    assert_eq!(arca_cleanup::abort_stale_multiparts(&app).await.expect("pass"), 0, "not stale yet");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(arca_cleanup::abort_stale_multiparts(&app).await.expect("pass"), 1);
    assert_eq!(parts(), 0, "its parts are gone");
    assert!(app.meta.stale_multiparts(now_ms(), 10).await.expect("redis").is_empty(), "and it is no longer tracked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_keeps_the_newest_duplicates_and_bins_stale_versions() {
    let stack = Stack::start_with(manual(&[])).await;
    let (pid, _) = stack.project("retained", "private").await;
    let settings = stack.api(&format!("/projects/{pid}/packages/settings"));
    let put_settings =
        |body: serde_json::Value| stack.http.put(&settings).header("PRIVATE-TOKEN", ADMIN_TOKEN).json(&body).send();
    assert_eq!(
        put_settings(serde_json::json!({"keep_n_duplicated_package_files": "7"})).await.expect("req").status(),
        400
    );
    let resp = put_settings(
        serde_json::json!({"keep_n_duplicated_package_files": 1, "delete_versions_not_downloaded_for_days": 30}),
    )
    .await
    .expect("req");
    assert_eq!(resp.status(), 200);

    let publish = |name: &'static str, file: &'static str, body: &'static str| {
        let url = stack.api(&format!("/projects/{pid}/packages/generic/{name}/1/{file}"));
        let req = stack.http.put(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body(body);
        async move { assert_eq!(req.send().await.expect("req").status(), 201) }
    };
    for body in ["one", "two", "three"] {
        publish("dup", "app.bin", body).await;
    }
    publish("dup", "other.txt", "kept").await;
    let files: serde_json::Value = stack.admin_get(&format!("/projects/{pid}/packages/1/package_files")).await;
    let names: Vec<(String, u64)> = files
        .as_array()
        .expect("files")
        .iter()
        .map(|f| (f["file_name"].as_str().unwrap_or("").to_owned(), f["size"].as_u64().unwrap_or(0)))
        .collect();
    assert_eq!(names, [("app.bin".to_owned(), 5), ("other.txt".to_owned(), 4)], "only the newest app.bin is kept");
    arca_cleanup::run_once(&stack.app).await.expect("pass");
    assert_eq!(keys_under(&stack.app, &format!("packages/{pid}/")).await.len(), 2, "the older blobs are deleted");

    // Versions: one old and never downloaded, one old but downloaded lately, one new.
    publish("stale", "f", "x").await;
    publish("used", "f", "x").await;
    publish("fresh", "f", "x").await;
    let forty_days_ago = now_ms() - 40 * 24 * 3600 * 1000;
    let mut conn = stack.app.meta.conn();
    for name in ["stale", "used"] {
        let key = arca_shared::keys::package_version(pid, name, "1");
        let _: () = redis::cmd("HSET")
            .arg(&key)
            .arg("created_at")
            .arg(forty_days_ago)
            .query_async(&mut conn)
            .await
            .expect("hset");
    }
    let _: () = redis::cmd("HSET")
        .arg(arca_shared::keys::package_version(pid, "used", "1"))
        .arg("last_downloaded_at")
        .arg(now_ms())
        .query_async(&mut conn)
        .await
        .expect("hset");
    let _: () = redis::cmd("DEL")
        .arg(arca_shared::keys::last_run("version-retention"))
        .query_async(&mut conn)
        .await
        .expect("del");

    assert_eq!(arca_cleanup::apply_version_retention(&stack.app).await.expect("pass"), 1);
    let list: serde_json::Value = stack.admin_get(&format!("/projects/{pid}/packages")).await;
    let listed: Vec<&str> = list.as_array().expect("list").iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(listed, ["dup", "used", "fresh"]);
    let bin: serde_json::Value = stack.admin_get(&format!("/projects/{pid}/packages/recycle_bin")).await;
    assert_eq!(bin[0]["name"], "stale");
    assert_eq!(bin[0]["recycled_by"], "retention");
    assert_eq!(arca_cleanup::apply_version_retention(&stack.app).await.expect("pass"), 0, "nothing more to move");
}

/// Retention rules: `keep_n_versions` (hidden and disabled versions count) and
/// `delete_unused_after` (downloads and restores are uses); the preview lists exactly what
/// the worker's run then moves; bad values change nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn retention_rules_move_what_the_preview_shows() {
    let stack = Stack::start_with(manual(&[])).await;
    let (pid, _) = stack.project("retained", "private").await;
    let publish = |name: &'static str, version: &'static str, query: &'static str| {
        let url = stack.api(&format!("/projects/{pid}/packages/generic/{name}/{version}/f{query}"));
        let req = stack.http.put(url).header("PRIVATE-TOKEN", ADMIN_TOKEN).body("x");
        async move { assert_eq!(req.send().await.expect("publish").status(), 201) }
    };
    for (version, query) in [("1", ""), ("2", ""), ("3", "?status=hidden"), ("4", ""), ("5", "")] {
        publish("app", version, query).await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    publish("lib", "1", "").await;
    publish("tool", "1", "").await;
    let id = |name: &'static str, version: &'static str| {
        let stack = &stack;
        async move {
            let raw: Option<u64> = redis::AsyncCommands::hget(
                &mut stack.app.meta.conn(),
                arca_shared::keys::package_version(pid, name, version),
                "id",
            )
            .await
            .expect("redis");
            raw.expect("version id")
        }
    };
    let disabled = id("app", "2").await;
    let resp = stack
        .http
        .patch(stack.api(&format!("/projects/{pid}/packages/{disabled}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .json(&serde_json::json!({"disabled": true}))
        .send()
        .await
        .expect("patch");
    assert_eq!(resp.status(), 200);
    let settings = stack.api(&format!("/projects/{pid}/packages/settings"));
    let put = |body: serde_json::Value| {
        let req = stack.http.put(&settings).header("PRIVATE-TOKEN", ADMIN_TOKEN).json(&body);
        async move {
            let resp = req.send().await.expect("settings");
            let status = resp.status().as_u16();
            (status, resp.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    // Bad values: 400, nothing changed.
    for bad in [
        serde_json::json!({"keep_n_versions": -1}),
        serde_json::json!({"keep_n_versions": "many"}),
        serde_json::json!({"delete_unused_after": "soon"}),
        serde_json::json!({"delete_unused_after": "2 days", "delete_versions_not_downloaded_for_days": 3}),
    ] {
        assert_eq!(put(bad.clone()).await.0, 400, "{bad}");
    }
    let unchanged: serde_json::Value = stack.admin_get(&format!("/projects/{pid}/packages/settings")).await;
    assert_eq!((&unchanged["keep_n_versions"], &unchanged["delete_unused_after"]), (&Value::Null, &Value::Null));
    let (status, set) = put(serde_json::json!({"keep_n_versions": 2, "delete_unused_after": "1 sec"})).await;
    assert_eq!(status, 200, "{set}");
    assert_eq!((set["keep_n_versions"].as_u64(), set["delete_unused_after"].as_str()), (Some(2), Some("1s")));
    // The same duration in both spellings is fine.
    assert_eq!(
        put(serde_json::json!({"delete_unused_after": "2 days", "delete_versions_not_downloaded_for_days": 2})).await.0,
        200
    );
    assert_eq!(put(serde_json::json!({"delete_unused_after": "1 sec"})).await.0, 200);

    // A use: `tool` is recycled and restored (its clock starts again), `app 5` downloaded.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let tool = id("tool", "1").await;
    assert_eq!(stack.admin_delete(&format!("/projects/{pid}/packages/{tool}")).await, 204);
    let restore = stack.api(&format!("/projects/{pid}/packages/{tool}/restore"));
    let resp = stack.http.post(restore).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("restore");
    assert_eq!(resp.status(), 200);
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages/generic/app/5/f")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 302);
    // Downloads are counted in batches: wait until this one is.
    for _ in 0..50 {
        let five: Value = stack.admin_get(&format!("/projects/{pid}/packages/{}", id("app", "5").await)).await;
        if five["download_count"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let preview: Value = stack.admin_get(&format!("/projects/{pid}/packages/retention_preview")).await;
    let mut planned: Vec<(String, String, String)> = preview
        .as_array()
        .expect("preview")
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().expect("field").to_owned();
            (s("name"), s("version"), s("rule"))
        })
        .collect();
    planned.sort();
    let want = |n: &str, v: &str, r: &str| (n.to_owned(), v.to_owned(), r.to_owned());
    assert_eq!(
        planned,
        vec![
            want("app", "1", "keep_n_versions"),
            want("app", "2", "keep_n_versions"),
            want("app", "3", "keep_n_versions"),
            want("app", "4", "delete_unused_after"),
            want("lib", "1", "delete_unused_after"),
        ],
        "hidden and disabled versions count; app 5 was downloaded and tool restored"
    );
    // The run moves exactly that.
    assert_eq!(arca_cleanup::apply_version_retention(&stack.app).await.expect("pass"), planned.len() as u64);
    let bin: Value = stack.admin_get(&format!("/projects/{pid}/packages/recycle_bin?per_page=100")).await;
    let mut binned: Vec<(String, String)> = bin
        .as_array()
        .expect("bin")
        .iter()
        .map(|p| (p["name"].as_str().expect("name").to_owned(), p["version"].as_str().expect("v").to_owned()))
        .collect();
    binned.sort();
    let expected: Vec<(String, String)> = planned.iter().map(|(n, v, _)| (n.clone(), v.clone())).collect();
    assert_eq!(binned, expected);
    assert!(bin.as_array().expect("bin").iter().all(|p| p["recycled_by"] == "retention"));
    let after: Value = stack.admin_get(&format!("/projects/{pid}/packages/retention_preview")).await;
    assert_eq!(after, serde_json::json!([]), "nothing left to move");
    // `null` turns a rule off.
    let (_, off) = put(serde_json::json!({"keep_n_versions": null, "delete_unused_after": null})).await;
    assert_eq!((&off["keep_n_versions"], &off["delete_unused_after"]), (&Value::Null, &Value::Null));
}
