//! Hostile input, table-driven: bad requests through the gateway, each sent as raw bytes
//! (nothing normalised on the way), each answered with its documented 4xx and a JSON body,
//! and none of them changing anything: the whole Redis dataset (`DEBUG DIGEST`) and the
//! bucket's listing are the same after every case as before it.

use std::time::{Duration, Instant};

use arca_tests::{ADMIN_TOKEN, JWT_SECRET, Stack, jwt, keys_under, raw_http, zip_of, zip_with};
use base64::Engine;
use serde_json::{Value, json};
use zip::CompressionMethod;

struct Case {
    name: String,
    method: &'static str,
    target: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    expect: &'static [u16],
}

fn case(name: impl Into<String>, method: &'static str, target: impl Into<String>, expect: &'static [u16]) -> Case {
    Case { name: name.into(), method, target: target.into(), headers: Vec::new(), body: Vec::new(), expect }
}

impl Case {
    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn token(self, token: &str) -> Self {
        self.header("PRIVATE-TOKEN", token)
    }

    fn json(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self.header("Content-Type", "application/json")
    }

    fn body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }
}

async fn snapshot(stack: &Stack) -> (String, Vec<String>) {
    (redis_digest(&stack.backends.redis_url()).await, keys_under(&stack.app, "").await)
}

async fn redis_digest(url: &str) -> String {
    let mut conn =
        redis::Client::open(url).expect("redis url").get_multiplexed_async_connection().await.expect("redis");
    redis::cmd("DEBUG").arg("DIGEST").query_async(&mut conn).await.expect("DEBUG DIGEST")
}

/// An archive of stored entries.
fn stored(entries: &[(&str, &[u8])]) -> Vec<u8> {
    zip_with(entries, CompressionMethod::Stored, false)
}

/// The offset of `name`'s central directory header.
fn central_header(zip: &[u8], name: &str) -> usize {
    (0..zip.len() - 46)
        .find(|&i| {
            zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] && zip.get(i + 46..i + 46 + name.len()) == Some(name.as_bytes())
        })
        .expect("central header")
}

/// `GET`/`PUT` a package file path under project `pid`.
fn package_path(pid: u64, name: &str, version: &str, file: &str) -> String {
    format!("/api/v4/projects/{pid}/packages/generic/{name}/{version}/{file}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hostile_requests_get_a_json_4xx_and_change_nothing() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("hostile", "private").await;
    let (other, _) = stack.project("elsewhere", "private").await;
    let (dev_id, dev) = stack.user("dev", &["api"]).await;
    stack.add_member(pid, dev_id, arca_shared::model::access::DEVELOPER).await;
    let (rep_id, reporter) = stack.user("reporter", &["api"]).await;
    stack.add_member(pid, rep_id, arca_shared::model::access::REPORTER).await;
    let (_, stranger) = stack.user("stranger", &["api"]).await;

    // One published file, so that downloads and version routes have something to aim at.
    let put = stack
        .http
        .put(format!("{}{}", stack.url, package_path(pid, "tool", "1.0.0", "tool.bin")))
        .query(&[("select", "package_file")])
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .body("the real bytes")
        .send()
        .await
        .expect("publish");
    assert_eq!(put.status(), 201);
    let package_id = put.json::<Value>().await.expect("json")["package_id"].as_u64().expect("package id");

    // CI: a running job of this project (for archive uploads), a finished one, and a
    // running job of another project.
    let job = |project: u64| {
        let stack = &stack;
        async move {
            let p = stack.admin_post(&format!("/projects/{project}/pipelines"), json!({"ref": "main"})).await;
            let p = p["id"].as_u64().expect("pipeline");
            let j = stack.admin_post(&format!("/projects/{project}/pipelines/{p}/jobs"), json!({"name": "b"})).await;
            (p, j["id"].as_u64().expect("job"), j["token"].as_str().expect("token").to_owned())
        }
    };
    let (pipeline, job_id, job_token) = job(pid).await;
    let (_, finished_id, finished_token) = job(pid).await;
    stack.set_status(&format!("/projects/{pid}/jobs/{finished_id}"), "success").await;
    let (_, _, other_job_token) = job(other).await;
    let good_zip = stored(&[("docs/readme.txt", b"hello")]);
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts")))
        .header("JOB-TOKEN", &job_token)
        .body(good_zip.clone())
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);
    let other_deploy = stack
        .admin_post(
            &format!("/projects/{other}/deploy_tokens"),
            json!({"name": "d", "scopes": ["read_package_registry"]}),
        )
        .await["token"]
        .as_str()
        .expect("deploy token")
        .to_owned();

    let mut cases = Vec::new();

    // Path traversal and stray characters in every path parameter, plain, percent-encoded
    // and double-encoded, on upload and on download.
    const TRAVERSALS: [&str; 14] = [
        "..",
        "%2E%2E",
        "%2e%2E",
        ".%2E",
        "%2E.",
        ".",
        "%2E",
        "%252E%252E",
        "..%2F..",
        "%2E%2E%2F%2E%2E",
        "..%5C..",
        "a%00b",
        "a%0D%0AX-Injected:%201",
        "%22%3B",
    ];
    for t in TRAVERSALS {
        for (field, path) in [
            ("package_name", package_path(pid, t, "1.0.0", "f.bin")),
            ("package_version", package_path(pid, "tool", t, "f.bin")),
            ("file_name", package_path(pid, "tool", "1.0.0", t)),
            ("file_name dir", package_path(pid, "tool", "1.0.0", &format!("{t}/f.bin"))),
            ("file_name inner", package_path(pid, "tool", "1.0.0", &format!("a/{t}/f.bin"))),
        ] {
            cases.push(case(format!("PUT {field} {t:?}"), "PUT", path.clone(), &[400]).token(&dev).body(b"x".to_vec()));
            cases.push(case(format!("GET {field} {t:?}"), "GET", path, &[400]).token(&dev));
        }
        // Inside an archive, `%2E%2E` and `";` are ordinary names: absent, so 404.
        let expect: &'static [u16] = if matches!(t, "%252E%252E" | "%22%3B") { &[404] } else { &[400] };
        cases.push(
            case(
                format!("GET artifact_path {t:?}"),
                "GET",
                format!("/api/v4/projects/{pid}/jobs/{job_id}/artifacts/{t}/x"),
                expect,
            )
            .token(&dev),
        );
    }
    cases.push(
        case(
            "GET artifact_path a/../../x",
            "GET",
            format!("/api/v4/projects/{pid}/jobs/{job_id}/artifacts/a/../../x"),
            &[400],
        )
        .token(&dev),
    );
    cases.push(
        case(
            "GET artifact_path absolute",
            "GET",
            format!("/api/v4/projects/{pid}/jobs/{job_id}/artifacts//etc/passwd"),
            &[400],
        )
        .token(&dev),
    );
    for id in
        ["..", "%2E%2E", "0", "-1", "99999999999999999999999", "root%2F..%2Fhostile", "%00", "a%0Ab", "1%20OR%201=1"]
    {
        cases.push(
            case(format!("project id {id:?}"), "GET", format!("/api/v4/projects/{id}/packages"), &[404]).token(&dev),
        );
    }

    // Lengths.
    let long = |n: usize| "a".repeat(n);
    cases.push(case("name of 256", "PUT", package_path(pid, &long(256), "1.0.0", "f"), &[400]).token(&dev));
    cases.push(case("version of 256", "PUT", package_path(pid, "tool", &long(256), "f"), &[400]).token(&dev));
    cases.push(case("file name of 1025", "PUT", package_path(pid, "tool", "1.0.0", &long(1025)), &[400]).token(&dev));
    cases.push(
        case(
            "metadata key of 10k",
            "PUT",
            format!("/api/v4/projects/{pid}/packages/{package_id}/metadata/{}", long(10_000)),
            &[400],
        )
        .token(ADMIN_TOKEN)
        .json(r#"{"value":"v"}"#),
    );
    cases.push(
        case(
            "metadata value of 1 MiB",
            "PUT",
            format!("/api/v4/projects/{pid}/packages/{package_id}/metadata/k"),
            &[400, 413],
        )
        .token(ADMIN_TOKEN)
        .json(&format!(r#"{{"value":"{}"}}"#, long(1 << 20))),
    );

    // Malformed JSON and wrong types.
    let admin_json = |name: &str, method: &'static str, path: String, body: &str, expect: &'static [u16]| {
        case(name.to_owned(), method, path, expect).token(ADMIN_TOKEN).json(body)
    };
    let projects = "/api/v4/projects".to_owned();
    for (name, body) in [
        ("project: not json", "{not json"),
        ("project: an array", "[]"),
        ("project: a string", r#""hostile""#),
        ("project: name a number", r#"{"name": 5}"#),
        ("project: bad visibility", r#"{"name": "x", "visibility": "secret"}"#),
        ("project: empty name", r#"{"name": ""}"#),
        ("project: slash in path", r#"{"name": "x", "path": "a/../b"}"#),
        ("project: nul in name", r#"{"name": "a\u0000b"}"#),
    ] {
        cases.push(admin_json(name, "POST", projects.clone(), body, &[400]));
    }
    for (name, body) in [
        ("user: username an array", r#"{"username": ["a"]}"#),
        ("user: admin a word", r#"{"username": "ok", "admin": "perhaps"}"#),
        ("user: no username", "{}"),
        ("user: username with CRLF", r#"{"username": "a\r\nb"}"#),
    ] {
        cases.push(admin_json(name, "POST", "/api/v4/users".into(), body, &[400]));
    }
    let pats = format!("/api/v4/users/{dev_id}/personal_access_tokens");
    for (name, body) in [
        ("pat: unknown scope", r#"{"name": "t", "scopes": ["root"]}"#),
        ("pat: scopes a number", r#"{"name": "t", "scopes": 5}"#),
        ("pat: no scopes", r#"{"name": "t"}"#),
        ("pat: expires_at a word", r#"{"name": "t", "scopes": ["api"], "expires_at": "yesterday"}"#),
    ] {
        cases.push(admin_json(name, "POST", pats.clone(), body, &[400]));
    }
    let members = format!("/api/v4/projects/{pid}/members");
    cases.push(admin_json(
        "member: user_id a word",
        "POST",
        members.clone(),
        r#"{"user_id": "x", "access_level": 30}"#,
        &[400],
    ));
    cases.push(admin_json(
        "member: access level 99",
        "POST",
        members.clone(),
        &format!(r#"{{"user_id": {dev_id}, "access_level": 99}}"#),
        &[400],
    ));
    cases.push(admin_json(
        "member: no such user",
        "POST",
        members,
        r#"{"user_id": 999999, "access_level": 30}"#,
        &[404],
    ));
    let settings = format!("/api/v4/projects/{pid}/packages/settings");
    cases.push(admin_json(
        "settings: boolean a word",
        "PUT",
        settings.clone(),
        r#"{"generic_duplicates_allowed": "maybe"}"#,
        &[400],
    ));
    cases.push(admin_json(
        "settings: broken regex",
        "PUT",
        settings,
        r#"{"generic_duplicate_exception_regex": "("}"#,
        &[400],
    ));
    let version = format!("/api/v4/projects/{pid}/packages/{package_id}");
    cases.push(admin_json(
        "version: disabled a word",
        "PATCH",
        version.clone(),
        r#"{"disabled": "sometimes"}"#,
        &[400],
    ));
    cases.push(admin_json("version: description a number", "PATCH", version.clone(), r#"{"description": 5}"#, &[400]));
    cases.push(admin_json("version: not json", "PATCH", version.clone(), "{", &[400]));
    cases.push(admin_json(
        "metadata: value an object",
        "PUT",
        format!("{version}/metadata/k"),
        r#"{"value": {"a": 1}}"#,
        &[400],
    ));
    cases.push(admin_json("metadata: no value", "PUT", format!("{version}/metadata/k"), "{}", &[400]));
    cases.push(admin_json("metadata: not json", "PUT", format!("{version}/metadata/k"), "{not json", &[400]));
    let pipelines = format!("/api/v4/projects/{pid}/pipelines");
    cases.push(admin_json("pipeline: ref a number", "POST", pipelines.clone(), r#"{"ref": 5}"#, &[400]));
    cases.push(admin_json("pipeline: no ref", "POST", pipelines.clone(), "{}", &[400]));
    cases.push(admin_json(
        "pipeline: parent a word",
        "POST",
        pipelines.clone(),
        r#"{"ref": "main", "parent_pipeline_id": "x"}"#,
        &[400],
    ));
    cases.push(admin_json(
        "pipeline: status exploded",
        "PUT",
        format!("{pipelines}/{pipeline}"),
        r#"{"status": "exploded"}"#,
        &[400],
    ));
    cases.push(admin_json("job: no name", "POST", format!("{pipelines}/{pipeline}/jobs"), "{}", &[400]));
    cases.push(admin_json(
        "job: status half-done",
        "PUT",
        format!("/api/v4/projects/{pid}/jobs/{job_id}"),
        r#"{"status": "half-done"}"#,
        &[400],
    ));
    cases.push(
        case("expire_in nonsense", "POST", format!("/api/v4/jobs/{job_id}/artifacts?expire_in=soonish"), &[400])
            .header("JOB-TOKEN", job_token.clone())
            .body(good_zip.clone()),
    );

    // Tokens that must not work, in every transport.
    let listing = format!("/api/v4/projects/{pid}/packages");
    let running_claims = arca_shared::auth::JwtKeys::new(JWT_SECRET).verify(&job_token).expect("job token claims");
    let mut claims = serde_json::to_value(&running_claims).expect("claims");
    let forged = jwt(&claims, "some-other-secret-entirely-000000");
    let payload = job_token.split('.').nth(1).expect("payload").to_owned();
    let none_header = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let alg_none = format!("{none_header}.{payload}.");
    claims["exp"] = json!(arca_shared::time::now_ms() / 1000 - 3600);
    let expired = jwt(&claims, JWT_SECRET);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for (name, header, value, expect) in [
        ("garbage PAT", "PRIVATE-TOKEN", "glpat-not-a-real-token".to_owned(), &[401][..]),
        ("empty bearer", "Authorization", "Bearer ".to_owned(), &[401]),
        ("forged JWT", "JOB-TOKEN", forged, &[401]),
        ("alg none JWT", "JOB-TOKEN", alg_none.clone(), &[401]),
        ("alg none as bearer", "Authorization", format!("Bearer {alg_none}"), &[401]),
        ("expired JWT", "JOB-TOKEN", expired, &[401]),
        ("finished job", "JOB-TOKEN", finished_token, &[401]),
        ("garbage job token", "JOB-TOKEN", "a.b.c".to_owned(), &[401]),
        ("garbage deploy token", "DEPLOY-TOKEN", "nope".to_owned(), &[401]),
        ("basic not base64", "Authorization", "Basic !!!notbase64".to_owned(), &[401]),
        ("basic without colon", "Authorization", format!("Basic {}", b64("justauser")), &[401]),
        ("basic empty password", "Authorization", format!("Basic {}", b64("user:")), &[401]),
        ("basic garbage password", "Authorization", format!("Basic {}", b64("user:glpat-nope")), &[401]),
        ("unknown scheme", "Authorization", "Negotiate abcdef".to_owned(), &[401]),
        ("8 KiB token", "PRIVATE-TOKEN", "x".repeat(8192), &[401]),
        ("other project's job", "JOB-TOKEN", other_job_token.clone(), &[404]),
        ("other project's deploy token", "DEPLOY-TOKEN", other_deploy.clone(), &[404]),
        ("stranger", "PRIVATE-TOKEN", stranger.clone(), &[404]),
    ] {
        cases.push(case(format!("token: {name}"), "GET", listing.clone(), expect).header(header, value));
    }
    cases.push(case("token: query garbage", "GET", format!("{listing}?private_token=nope"), &[401]));
    cases.push(case("token: query job_token garbage", "GET", format!("{listing}?job_token=a.b.c"), &[401]));
    cases.push(
        case("reporter publishes", "PUT", package_path(pid, "tool", "9.9.9", "f.bin"), &[403])
            .token(&reporter)
            .body(b"x".to_vec()),
    );
    cases.push(case("reporter deletes", "DELETE", version.clone(), &[403]).token(&reporter));
    cases.push(
        case("other project's job uploads", "PUT", package_path(pid, "tool", "9.9.9", "f.bin"), &[404])
            .header("JOB-TOKEN", other_job_token.clone())
            .body(b"x".to_vec()),
    );
    cases.push(
        case(
            "a job's token for another job's artifacts",
            "POST",
            format!("/api/v4/jobs/{finished_id}/artifacts"),
            &[401, 403],
        )
        .header("JOB-TOKEN", job_token.clone())
        .body(good_zip.clone()),
    );

    // Beyond GitLab: share tokens of the wrong shape, garbage conditions, `@latest` of
    // nothing, a reporter deleting by name, shares that cannot be.
    let file = package_path(pid, "tool", "1.0.0", "tool.bin");
    let long_share = format!("/api/v4/shares/arca-share-{}", "a".repeat(33));
    let short_share = format!("/api/v4/shares/arca-share-{}", "a".repeat(31));
    let odd_share = format!("/api/v4/shares/arca-share-{}%2F..", "a".repeat(30));
    for (name, path) in [
        ("share token: not one", "/api/v4/shares/whatever".to_owned()),
        ("share token: too long", long_share),
        ("share token: too short", short_share),
        ("share token: wrong alphabet", odd_share),
        ("share token: unknown", format!("/api/v4/shares/arca-share-{}", "Z".repeat(32))),
    ] {
        cases.push(case(name, "GET", path, &[404]));
    }
    for bad in ["garbage", "\"open", "W/", "*, \"x\""] {
        cases.push(
            case(format!("If-Match {bad:?}"), "PUT", file.clone(), &[412])
                .token(&dev)
                .header("If-Match", bad)
                .body(b"x".to_vec()),
        );
    }
    cases.push(
        case("If-None-Match * on a file that exists", "PUT", file.clone(), &[412])
            .token(&dev)
            .header("If-None-Match", "*")
            .body(b"x".to_vec()),
    );
    cases.push(case("@latest of no package", "GET", package_path(pid, "nothing", "@latest", "f"), &[404]).token(&dev));
    cases.push(
        case("@latest as a version to publish", "PUT", package_path(pid, "tool", "@latest", "f"), &[400])
            .token(&dev)
            .body(b"x".to_vec()),
    );
    cases.push(case("reporter deletes a file by name", "DELETE", file.clone(), &[403]).token(&reporter));
    let shares = format!("{version}/shares");
    cases.push(
        case("share that never expires", "POST", shares.clone(), &[400])
            .token(&dev)
            .json(r#"{"file_name":"tool.bin","expires_in":"never"}"#),
    );
    cases.push(
        case("share of a missing file", "POST", shares.clone(), &[404]).token(&dev).json(r#"{"file_name":"nope.bin"}"#),
    );
    cases
        .push(case("share by a reporter", "POST", shares, &[403]).token(&reporter).json(r#"{"file_name":"tool.bin"}"#));

    // Pagination.
    for query in [
        "page=0",
        "page=-1",
        "page=abc",
        "page=1e3",
        "per_page=0",
        "per_page=-5",
        "per_page=abc",
        "page=99999999999999999999999",
    ] {
        cases.push(case(format!("pagination {query}"), "GET", format!("{listing}?{query}"), &[400]).token(&dev));
    }
    cases.push(case("order_by nonsense", "GET", format!("{listing}?order_by=password"), &[400]).token(&dev));
    cases.push(case("sort nonsense", "GET", format!("{listing}?sort=sideways"), &[400]).token(&dev));

    // Archives: lying sizes, a bomb of overlapping entries, names that escape, non-zips.
    let artifacts = format!("/api/v4/jobs/{job_id}/artifacts");
    let mut lying = stored(&[("a.txt", b"aaaaaaaaaaaaaaaa")]);
    let at = central_header(&lying, "a.txt");
    lying[at + 24..at + 28].copy_from_slice(&(1u32 << 30).to_le_bytes());
    let mut bomb = zip_of(&[("a", &[0u8; 4096]), ("b", &[0u8; 4096])]);
    let at = central_header(&bomb, "b");
    bomb[at + 42..at + 46].copy_from_slice(&0u32.to_le_bytes());
    let mut ratio = zip_of(&[("z", &[0u8; 4096])]);
    let at = central_header(&ratio, "z");
    ratio[at + 24..at + 28].copy_from_slice(&u32::MAX.to_le_bytes());
    let truncated = good_zip[..good_zip.len() / 2].to_vec();
    for (name, body) in [
        ("zip with a lying size", lying),
        ("zip bomb: overlapping entries", bomb),
        ("zip claiming a 4 GiB entry from 20 bytes", ratio),
        ("zip entry ../", stored(&[("../escape.txt", b"x")])),
        ("zip entry a/../../", stored(&[("a/../../escape.txt", b"x")])),
        ("zip entry absolute", stored(&[("/etc/cron.d/x", b"x")])),
        ("zip entry backslash", stored(&[("..\\escape.txt", b"x")])),
        ("not a zip", b"#!/bin/sh\necho hello\n".to_vec()),
        ("truncated zip", truncated),
        ("empty body", Vec::new()),
    ] {
        cases.push(
            case(format!("artifacts: {name}"), "POST", artifacts.clone(), &[400])
                .header("JOB-TOKEN", job_token.clone())
                .body(body),
        );
    }

    // Headers too large for anyone's good: refused before any service sees them.
    cases.push(case("one 1 MiB header", "GET", listing.clone(), &[431]).header("X-Padding", "p".repeat(1 << 20)));
    let mut many = case("200 headers", "GET", listing.clone(), &[431]);
    for i in 0..200 {
        many = many.header(&format!("X-Many-{i}"), "1");
    }
    cases.push(many);

    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut failures = Vec::new();
    let mut before = snapshot(&stack).await;
    for c in &cases {
        let url = format!("{}{}", stack.url, c.target);
        let headers: Vec<(&str, &str)> = c.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let (status, _, body) = raw_http(c.method, &url, &headers, &c.body).await;
        if !c.expect.contains(&status) {
            failures.push(format!(
                "{}: {} {} -> {status} {}, expected {:?}",
                c.name,
                c.method,
                short(&c.target),
                short(&body),
                c.expect
            ));
        }
        // hyper refuses an oversized header block itself, with an empty body.
        if status != 431 {
            let parsed: Value = serde_json::from_str(body.trim()).unwrap_or(Value::Null);
            let said = parsed.get("message").or_else(|| parsed.get("error")).and_then(Value::as_str);
            if said.is_none() {
                failures.push(format!("{}: not a JSON error: {}", c.name, short(&body)));
            }
        }
        // Refused uploads delete their blob in the background: give that a moment.
        let deadline = Instant::now() + Duration::from_secs(5);
        let after = loop {
            let now = snapshot(&stack).await;
            if now == before || Instant::now() > deadline {
                break now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if after != before {
            failures.push(format!(
                "{}: changed state (redis {} -> {}, objects {:?} -> {:?})",
                c.name, before.0, after.0, before.1, after.1
            ));
            before = after;
        }
    }
    println!("{} hostile cases", cases.len());
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));

    // Still serving, and the real file is intact.
    let resp = stack
        .http
        .get(format!("{}{}", stack.url, package_path(pid, "tool", "1.0.0", "tool.bin")))
        .header("PRIVATE-TOKEN", &dev)
        .send()
        .await
        .expect("download");
    assert_eq!(resp.status(), 302);
}

fn short(s: &str) -> String {
    if s.len() <= 160 { s.to_owned() } else { format!("{}... ({} bytes)", &s[..s.floor_char_boundary(160)], s.len()) }
}
