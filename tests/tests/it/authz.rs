//! The permission table of docs/SECURITY.md, walked over HTTP through the gateway: every kind
//! of principal and role against one route of every family, allowed and refused; then the
//! attacks that the table closes (a feature-branch job token rewriting what `main` serves,
//! tokens minting tokens), the job-token allowlist of multi-project pipelines, the
//! console's server-side session, and what users and deploy tokens reveal or pretend.

use arca_shared::model::access;
use arca_tests::{ADMIN_TOKEN, Stack, zip_of};
use reqwest::Method;
use serde_json::{Value, json};

/// One request of a route family. Each is made so that an allowed caller changes nothing
/// of what the other rows look at (an invalid body where the route writes), and gets the
/// answer in [`ALLOWED`].
struct Probe {
    family: &'static str,
    method: Method,
    path: String,
    body: Option<Vec<u8>>,
}

/// What an allowed caller gets from each probe, in the order of [`probes`].
const ALLOWED: [u16; 34] = [
    200, 400, 200, 200, 400, 400, 400, 404, 400, 202, 400, 200, 404, 404, 400, 404, 200, 200, 200, 404, 200, 200, 404,
    400, 404, 404, 404, 200, 404, 400, 200, 404, 404, 404,
];

/// The later routes of a family already in the table: `(family column, route)`. Each is
/// decided by the same action as its family's first route, so its row entries are that
/// column's.
const SAME_AS: [usize; 18] = [3, 3, 11, 11, 11, 14, 14, 11, 14, 2, 0, 2, 15, 10, 11, 11, 10, 10];

fn probes(p: u64, own_job: u64, other_job: u64) -> Vec<Probe> {
    let json = |v: Value| Some(v.to_string().into_bytes());
    let probe = |family, method, path: String, body| Probe { family, method, path, body };
    vec![
        probe("read packages", Method::GET, format!("/projects/{p}/packages"), None),
        // An invalid package name: refused after authorization, so nothing is stored.
        probe(
            "publish",
            Method::PUT,
            format!("/projects/{p}/packages/generic/bad%20name/1.0/f.txt"),
            Some(b"x".to_vec()),
        ),
        probe("manage packages", Method::GET, format!("/projects/{p}/packages/recycle_bin"), None),
        probe("read CI", Method::GET, format!("/projects/{p}/jobs"), None),
        probe("create pipeline", Method::POST, format!("/projects/{p}/pipelines"), json(json!({"ref": "..bad"}))),
        // `running` is not a final status: a 400 once authorized, and the job runs on.
        probe("end own job", Method::PUT, format!("/projects/{p}/jobs/{own_job}"), json(json!({"status": "running"}))),
        probe(
            "end other job",
            Method::PUT,
            format!("/projects/{p}/jobs/{other_job}"),
            json(json!({"status": "running"})),
        ),
        // The job has no artifacts: 404 Artifacts Not Found once authorized.
        probe("keep", Method::POST, format!("/projects/{p}/jobs/{own_job}/artifacts/keep"), None),
        probe("upload artifacts", Method::POST, format!("/jobs/{own_job}/artifacts"), Some(b"not a zip".to_vec())),
        // No artifacts yet: the 202 expires nothing.
        probe("delete artifacts", Method::DELETE, format!("/projects/{p}/artifacts"), None),
        probe(
            "members",
            Method::POST,
            format!("/projects/{p}/members"),
            json(json!({"user_id": 1, "access_level": 99})),
        ),
        probe("allowlist", Method::GET, format!("/projects/{p}/job_token_scope/allowlist"), None),
        // No such target project: 404 Project Not Found once authorized.
        probe(
            "allowlist add",
            Method::POST,
            format!("/projects/{p}/job_token_scope/allowlist"),
            json(json!({"target_project_id": 999_999})),
        ),
        // Not listed: 404 Allowlist Entry Not Found once authorized.
        probe("allowlist remove", Method::DELETE, format!("/projects/{p}/job_token_scope/allowlist/999999"), None),
        probe("users (admin)", Method::POST, "/users".into(), json(json!({"username": "bad name!"}))),
        // No such version: 404 Package Not Found once authorized.
        probe(
            "share links",
            Method::POST,
            format!("/projects/{p}/packages/999999/shares"),
            json(json!({"file_name": "f"})),
        ),
        // The families again, through the routes that read and change what they create.
        probe("read CI: one job", Method::GET, format!("/projects/{p}/jobs/{other_job}"), None),
        probe("read CI: pipelines", Method::GET, format!("/projects/{p}/pipelines"), None),
        probe("members: list", Method::GET, format!("/projects/{p}/members"), None),
        // Not a member: 404 Member Not Found once authorized.
        probe(
            "members: change",
            Method::PUT,
            format!("/projects/{p}/members/999999"),
            json(json!({"access_level": 30})),
        ),
        probe("deploy tokens: list", Method::GET, format!("/projects/{p}/deploy_tokens"), None),
        probe("users: list (admin)", Method::GET, "/users".into(), None),
        // No such user: 404 User Not Found once authorized.
        probe("users: block (admin)", Method::POST, "/users/999999/block".into(), None),
        // An empty name: 400 once authorized, and the project keeps its name.
        probe("project settings", Method::PUT, format!("/projects/{p}"), json(json!({"name": ""}))),
        probe("users: delete (admin)", Method::DELETE, "/users/999999".into(), None),
        // No such package: 404 once authorized.
        probe(
            "manage packages: delete a file by name",
            Method::DELETE,
            format!("/projects/{p}/packages/generic/none/1.0/none.bin"),
            None,
        ),
        probe(
            "read packages: a version as one zip",
            Method::GET,
            format!("/projects/{p}/packages/999999/archive"),
            None,
        ),
        probe(
            "manage packages: retention preview",
            Method::GET,
            format!("/projects/{p}/packages/retention_preview"),
            None,
        ),
        probe("share links: list", Method::GET, format!("/projects/{p}/packages/999999/shares"), None),
        // Hooks are project administration. No events: a 400 once authorized, nothing saved.
        probe(
            "hooks: create",
            Method::POST,
            format!("/projects/{p}/hooks"),
            json(json!({"url": "http://93.184.216.34/", "events": []})),
        ),
        probe("hooks: list", Method::GET, format!("/projects/{p}/hooks"), None),
        probe("hooks: deliveries", Method::GET, format!("/projects/{p}/hooks/999999/deliveries"), None),
        probe("hooks: delete", Method::DELETE, format!("/projects/{p}/hooks/999999"), None),
        probe("hooks: change", Method::PUT, format!("/projects/{p}/hooks/999999"), json(json!({"secret": "s"}))),
    ]
}

/// The table, one row per principal: `Y` allowed, else the refusal's status.
/// Columns follow [`probes`].
fn expected(principal: &str) -> [Option<u16>; 34] {
    let first = first_routes(principal);
    let mut row = [None; 34];
    row[..16].copy_from_slice(&first);
    for (i, family) in SAME_AS.iter().enumerate() {
        row[16 + i] = first[*family];
    }
    row
}

/// The table over the first route of each family.
fn first_routes(principal: &str) -> [Option<u16>; 16] {
    const Y: Option<u16> = None;
    const N: Option<u16> = Some(403);
    const H: Option<u16> = Some(404);
    const U: Option<u16> = Some(401);
    match principal {
        "anonymous" => [U; 16],
        // Only a job's own token uploads its artifacts.
        "administrator" => [Y, Y, Y, Y, Y, Y, Y, Y, N, Y, Y, Y, Y, Y, Y, Y],
        "admin user, read_api" => [Y, N, N, Y, N, N, N, N, N, N, N, N, N, N, N, N],
        "guest" => [N; 16],
        "reporter" | "maintainer, read_api" => [Y, N, N, Y, N, N, N, N, N, N, N, N, N, N, N, N],
        "developer" => [Y, Y, N, Y, Y, Y, Y, Y, N, N, N, N, N, N, N, Y],
        "maintainer" | "owner" => [Y, Y, Y, Y, Y, Y, Y, Y, N, Y, Y, Y, Y, Y, N, Y],
        "stranger" => [H, H, H, H, H, H, H, H, H, H, H, H, H, H, N, H],
        "deploy read" => [Y, N, N, N, N, N, N, N, N, N, N, N, N, N, N, N],
        "deploy write" => [N, Y, N, N, N, N, N, N, N, N, N, N, N, N, N, N],
        "deploy of another project" => [H, H, H, H, H, H, H, H, H, H, H, H, H, H, N, H],
        "job token" => [Y, Y, N, Y, N, Y, N, N, Y, N, N, N, N, N, N, N],
        "job token, allowlisted project" => [Y, N, N, Y, N, N, N, N, N, N, N, N, N, N, N, N],
        "job token, other project" => [H, H, H, H, H, H, H, H, H, H, H, H, H, H, N, H],
        other => panic!("no row for {other}"),
    }
}

async fn send(stack: &Stack, token: Option<&str>, probe: &Probe) -> (u16, Value) {
    let mut req = stack.http.request(probe.method.clone(), stack.api(&probe.path));
    if let Some(t) = token {
        req = req.header("PRIVATE-TOKEN", t);
    }
    if let Some(b) = &probe.body {
        req = req.header("Content-Type", "application/json").body(b.clone());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// A running pipeline of `project` on `ref_name` and a running job in it, as the
/// administrator: `(pipeline id, job id, job token)`.
async fn running_job(stack: &Stack, project: u64, ref_name: &str, name: &str) -> (u64, u64, String) {
    let pipeline = stack.admin_post(&format!("/projects/{project}/pipelines"), json!({"ref": ref_name})).await;
    let pid = pipeline["id"].as_u64().expect("pipeline id");
    let job = stack.admin_post(&format!("/projects/{project}/pipelines/{pid}/jobs"), json!({"name": name})).await;
    (pid, job["id"].as_u64().expect("job id"), job["token"].as_str().expect("token").to_owned())
}

async fn deploy_token(stack: &Stack, project: u64, scopes: &[&str]) -> String {
    let dt =
        stack.admin_post(&format!("/projects/{project}/deploy_tokens"), json!({"name": "d", "scopes": scopes})).await;
    dt["token"].as_str().expect("token").to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_principal_against_every_route_family() {
    let stack = Stack::start().await;
    let (p, _) = stack.project("guarded", "private").await;
    let (other, _) = stack.project("elsewhere", "private").await;
    let (friend, _) = stack.project("friend", "private").await;
    stack.admin_post(&format!("/projects/{p}/job_token_scope/allowlist"), json!({"target_project_id": friend})).await;

    let mut principals: Vec<(&str, Option<String>)> =
        vec![("anonymous", None), ("administrator", Some(ADMIN_TOKEN.into()))];
    let admin = stack.admin_post("/users", json!({"username": "ada", "admin": true})).await;
    let admin_id = admin["id"].as_u64().expect("id");
    let ro = stack
        .admin_post(&format!("/users/{admin_id}/personal_access_tokens"), json!({"name": "ro", "scopes": ["read_api"]}))
        .await;
    principals.push(("admin user, read_api", ro["token"].as_str().map(str::to_owned)));
    for (name, level) in [
        ("guest", access::GUEST),
        ("reporter", access::REPORTER),
        ("developer", access::DEVELOPER),
        ("maintainer", access::MAINTAINER),
        ("owner", access::OWNER),
    ] {
        let (id, token) = stack.user(name, &["api"]).await;
        stack.add_member(p, id, level).await;
        principals.push((name, Some(token)));
    }
    let (ro_id, ro_token) = stack.user("rom", &["read_api"]).await;
    stack.add_member(p, ro_id, access::MAINTAINER).await;
    principals.push(("maintainer, read_api", Some(ro_token)));
    let (_, stranger) = stack.user("stranger", &["api"]).await;
    principals.push(("stranger", Some(stranger)));
    principals.push(("deploy read", Some(deploy_token(&stack, p, &["read_package_registry"]).await)));
    principals.push(("deploy write", Some(deploy_token(&stack, p, &["write_package_registry"]).await)));
    let foreign_deploy = deploy_token(&stack, other, &["read_package_registry", "write_package_registry"]).await;
    principals.push(("deploy of another project", Some(foreign_deploy)));
    let (_, own_job, own_token) = running_job(&stack, p, "main", "build").await;
    let (_, other_job, _) = running_job(&stack, p, "main", "test").await;
    principals.push(("job token", Some(own_token)));
    principals.push(("job token, allowlisted project", Some(running_job(&stack, friend, "main", "x").await.2)));
    principals.push(("job token, other project", Some(running_job(&stack, other, "main", "x").await.2)));

    let probes = probes(p, own_job, other_job);
    let mut failures = Vec::new();
    for (name, token) in &principals {
        let row = expected(name);
        for (i, probe) in probes.iter().enumerate() {
            let want = row[i].unwrap_or(ALLOWED[i]);
            let (got, body) = send(&stack, token.as_deref(), probe).await;
            if got != want {
                failures.push(format!("{name} / {}: want {want}, got {got} {body}", probe.family));
                continue;
            }
            let message = match (row[i], got) {
                (Some(_), 401) => Some("401 Unauthorized"),
                (Some(_), 403) => Some("403 Forbidden"),
                (Some(_), 404) => Some("404 Project Not Found"),
                _ => None,
            };
            if let Some(m) = message
                && body["message"] != m
            {
                failures.push(format!("{name} / {}: body {body}, want message {m}", probe.family));
            }
        }
    }
    assert!(failures.is_empty(), "{} cells off the table:\n{}", failures.len(), failures.join("\n"));
}

/// The attack of the security review: a job on a feature branch adds a job named `build`
/// to `main`'s finished pipeline, uploads an archive with it, and from then on
/// `.../jobs/artifacts/main/raw/...?job=build` serves the attacker's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_feature_branch_job_cannot_rewrite_what_main_serves() {
    let stack = Stack::start().await;
    let (p, _) = stack.project("victim", "private").await;
    let (dev_id, developer) = stack.user("devon", &["api"]).await;
    stack.add_member(p, dev_id, access::DEVELOPER).await;

    let (main_pipeline, main_job, main_token) = running_job(&stack, p, "main", "build").await;
    let upload = |job: u64, token: String, zip: Vec<u8>| {
        let req = stack.http.post(stack.api(&format!("/jobs/{job}/artifacts"))).header("JOB-TOKEN", token).body(zip);
        async move { req.send().await.expect("upload").status().as_u16() }
    };
    assert_eq!(upload(main_job, main_token, zip_of(&[("app.bin", b"the real build")])).await, 201);
    stack.set_status(&format!("/projects/{p}/jobs/{main_job}"), "success").await;
    stack.set_status(&format!("/projects/{p}/pipelines/{main_pipeline}"), "success").await;
    let raw = stack.api(&format!("/projects/{p}/jobs/artifacts/main/raw/app.bin?job=build"));
    let served = || async {
        let resp = stack.http.get(&raw).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("raw");
        assert_eq!(resp.status(), 200);
        resp.text().await.expect("body")
    };
    assert_eq!(served().await, "the real build");

    let (feature_pipeline, _, feature_token) = running_job(&stack, p, "feature", "evil").await;
    let as_job = |method: Method, path: String, body: Value| {
        let req = stack.http.request(method, stack.api(&path)).header("JOB-TOKEN", feature_token.clone()).json(&body);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    // The job token can mint no jobs, on main's pipeline or its own.
    for pipeline in [main_pipeline, feature_pipeline] {
        let path = format!("/projects/{p}/pipelines/{pipeline}/jobs");
        assert_eq!(as_job(Method::POST, path, json!({"name": "build"})).await, 403, "job on pipeline {pipeline}");
    }
    assert_eq!(as_job(Method::POST, format!("/projects/{p}/pipelines"), json!({"ref": "main"})).await, 403);
    let path = format!("/projects/{p}/pipelines/{main_pipeline}");
    assert_eq!(as_job(Method::PUT, path, json!({"status": "failed"})).await, 403, "set main's status");
    let path = format!("/projects/{p}/jobs/{main_job}/artifacts/keep");
    assert_eq!(as_job(Method::POST, path, json!({})).await, 403, "keep another job's artifacts");
    assert_eq!(upload(main_job, feature_token.clone(), zip_of(&[("app.bin", b"evil")])).await, 403);

    // Not even a developer adds a job to a finished pipeline, nor a second `build`.
    let path = format!("/projects/{p}/pipelines/{main_pipeline}/jobs");
    let body = stack.post_as(&developer, &path, json!({"name": "build"}), 409).await;
    assert_eq!(body, json!({"message": "pipeline is not running"}));
    let path = format!("/projects/{p}/pipelines/{feature_pipeline}/jobs");
    stack.post_as(&developer, &path, json!({"name": "evil"}), 409).await;
    stack.post_as(&developer, &path, json!({"name": "lint"}), 201).await;

    assert_eq!(served().await, "the real build", "main still serves its own build");

    // A job token ends its own job, and no other.
    let (_, sibling, _) = running_job(&stack, p, "feature", "sibling").await;
    let path = format!("/projects/{p}/jobs/{sibling}");
    assert_eq!(as_job(Method::PUT, path, json!({"status": "canceled"})).await, 403, "end another job");
    let claims = stack.app.auth.jwt.verify(&feature_token).expect("valid");
    let path = format!("/projects/{p}/jobs/{}", claims.job_id);
    assert_eq!(as_job(Method::PUT, path.clone(), json!({"status": "success"})).await, 200, "end its own job");
    assert_eq!(as_job(Method::PUT, path, json!({"status": "success"})).await, 401, "its token ended with it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_allowlist_opens_a_project_to_another_projects_job_tokens() {
    let stack = Stack::start().await;
    let (upstream, _) = stack.project("upstream", "private").await;
    let (downstream, _) = stack.project("downstream", "private").await;
    let (m_id, maintainer) = stack.user("maude", &["api"]).await;
    stack.add_member(upstream, m_id, access::MAINTAINER).await;
    let (d_id, developer) = stack.user("dina", &["api"]).await;
    stack.add_member(upstream, d_id, access::DEVELOPER).await;
    // As GitLab asks: maintainer of the project, and able to see the one allowlisted.
    stack.add_member(downstream, m_id, access::GUEST).await;

    // Something to fetch: a package and a job archive of the upstream project.
    stack.admin_publish(upstream, "lib/1.0/lib.a", "library").await;
    let (up_pipeline, up_job, up_token) = running_job(&stack, upstream, "main", "build").await;
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{up_job}/artifacts")))
        .header("JOB-TOKEN", up_token)
        .body(zip_of(&[("out.txt", b"built upstream")]))
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);
    stack.set_status(&format!("/projects/{upstream}/jobs/{up_job}"), "success").await;
    stack.set_status(&format!("/projects/{upstream}/pipelines/{up_pipeline}"), "success").await;

    let (_, _, token) = running_job(&stack, downstream, "main", "deploy").await;
    let reads = [
        format!("/projects/{upstream}/packages/generic/lib/1.0/lib.a"),
        format!("/projects/{upstream}/jobs/artifacts/main/raw/out.txt?job=build"),
        format!("/projects/{upstream}/jobs/{up_job}/artifacts"),
    ];
    let get = |path: &String| {
        let req = stack.http.get(stack.api(path)).header("JOB-TOKEN", token.clone());
        async move { req.send().await.expect("get").status().as_u16() }
    };
    for path in &reads {
        assert_eq!(get(path).await, 404, "not listed yet: {path}");
    }

    let allowlist = format!("/projects/{upstream}/job_token_scope/allowlist");
    stack.post_as(&developer, &allowlist, json!({"target_project_id": downstream}), 403).await;
    let added = stack.post_as(&maintainer, &allowlist, json!({"target_project_id": downstream}), 201).await;
    assert_eq!(added, json!({"source_project_id": upstream, "target_project_id": downstream}));
    stack.post_as(&maintainer, &allowlist, json!({"target_project_id": downstream}), 409).await;
    // The maintainer of upstream cannot see a project they are no member of: as if absent.
    let (hidden, _) = stack.project("hidden", "private").await;
    stack.post_as(&maintainer, &allowlist, json!({"target_project_id": hidden}), 404).await;
    let listed: Vec<Value> = stack.admin_get(&allowlist).await;
    assert_eq!(listed.iter().map(|p| p["id"].as_u64()).collect::<Vec<_>>(), vec![Some(downstream)]);

    assert_eq!(get(&reads[0]).await, 302, "the package");
    assert_eq!(get(&reads[1]).await, 200, "a file by ref");
    assert_eq!(get(&reads[2]).await, 302, "the archive");
    let publish = stack
        .http
        .put(stack.api(&format!("/projects/{upstream}/packages/generic/lib/2.0/lib.a")))
        .header("JOB-TOKEN", token.clone())
        .body("not mine to publish")
        .send()
        .await
        .expect("publish");
    assert_eq!(publish.status(), 403, "the allowlist opens reads only");

    let resp = stack
        .http
        .delete(stack.api(&format!("{allowlist}/{downstream}")))
        .header("PRIVATE-TOKEN", &maintainer)
        .send()
        .await
        .expect("delete");
    assert_eq!(resp.status(), 204);
    // At once: the very next request is refused.
    for path in &reads {
        assert_eq!(get(path).await, 404, "taken off the list: {path}");
    }
}

fn set_cookies(resp: &reqwest::Response) -> Vec<String> {
    resp.headers().get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
}

fn cookie_value(cookies: &[String], name: &str) -> String {
    cookies
        .iter()
        .find_map(|c| c.split(';').next()?.strip_prefix(&format!("{name}=")).map(str::to_owned))
        .unwrap_or_else(|| panic!("no {name} cookie in {cookies:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_sessions_live_on_the_server() {
    let stack = Stack::start().await;
    let (_, token) = stack.user("sam", &["api"]).await;
    let sign_in = |headers: Vec<(&'static str, String)>, body: String| {
        let mut req = stack.http.post(stack.api("/session")).body(body);
        for (k, v) in headers {
            req = req.header(k, v);
        }
        async move { req.send().await.expect("sign in") }
    };
    let json_body = json!({"token": token}).to_string();
    let json_type = ("Content-Type", "application/json".to_owned());

    // Cross-site: a foreign Origin, a browser saying cross-site, a form post.
    let resp = sign_in(vec![json_type.clone(), ("Origin", "https://evil.example".into())], json_body.clone()).await;
    assert_eq!(resp.status(), 403);
    assert!(set_cookies(&resp).is_empty());
    let resp = sign_in(vec![json_type.clone(), ("Sec-Fetch-Site", "cross-site".into())], json_body.clone()).await;
    assert_eq!(resp.status(), 403);
    let form = vec![("Content-Type", "application/x-www-form-urlencoded".to_owned())];
    let resp = sign_in(form, format!("token={token}")).await;
    assert_eq!(resp.status(), 400);
    assert!(set_cookies(&resp).is_empty(), "a form post signs nobody in");

    let origin = stack.url.clone();
    let signed_in = |headers| sign_in(headers, json_body.clone());
    let resp =
        signed_in(vec![json_type.clone(), ("Origin", origin.clone()), ("Sec-Fetch-Site", "same-origin".into())]).await;
    assert_eq!(resp.status(), 201);
    let cookies = set_cookies(&resp);
    let session = cookie_value(&cookies, "arca_session");
    let csrf = cookie_value(&cookies, "arca_csrf");
    assert_ne!(session, token, "the cookie is not the token");
    assert!(!session.contains(&token));
    let me = |session: String| {
        let req = stack.http.get(stack.api("/user")).header("Cookie", format!("arca_session={session}"));
        async move { req.send().await.expect("user").status().as_u16() }
    };
    assert_eq!(me(session.clone()).await, 200);

    // Signing out ends the session on the server: a copy of the cookie is worthless.
    let resp = stack
        .http
        .delete(stack.api("/session"))
        .header("Cookie", format!("arca_session={session}; arca_csrf={csrf}"))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("sign out");
    assert_eq!(resp.status(), 204);
    assert_eq!(me(session).await, 401);

    // Revoking the token behind a session ends it at once.
    let resp = signed_in(vec![json_type.clone()]).await;
    let session = cookie_value(&set_cookies(&resp), "arca_session");
    assert_eq!(me(session.clone()).await, 200);
    let tokens: Vec<Value> = {
        let hash = arca_shared::auth::hash_token(&token);
        match stack.app.meta.token_ref(&hash).await.expect("redis") {
            Some(arca_shared::meta::TokenRef::Pat(id)) => vec![json!(id)],
            other => panic!("not a PAT: {other:?}"),
        }
    };
    let resp = stack
        .http
        .delete(stack.api(&format!("/personal_access_tokens/{}", tokens[0])))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("revoke");
    assert_eq!(resp.status(), 204);
    assert_eq!(me(session).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn e_mail_addresses_and_names_are_not_for_everyone() {
    let stack = Stack::start().await;
    let (owner_id, owner) = stack.user("olga", &["api"]).await;
    let (victim_id, _) = stack.user("vic", &["api"]).await;
    // Any user with an api token makes a project of their own and adds people to it.
    let project = stack.post_as(&owner, "/projects", json!({"name": "mine"}), 201).await;
    let pid = project["id"].as_u64().expect("id");
    let member = stack
        .post_as(&owner, &format!("/projects/{pid}/members"), json!({"user_id": victim_id, "access_level": 20}), 201)
        .await;
    assert_eq!(member["username"], "vic");
    assert!(member.get("email").is_none() && member.get("is_admin").is_none(), "{member}");
    // The user themself and administrators see the address.
    let (_, own) = stack.user("ursula", &["read_api"]).await;
    let resp = stack.http.get(stack.api("/user")).header("PRIVATE-TOKEN", &own).send().await.expect("user");
    let me: Value = resp.json().await.expect("json");
    assert_eq!(me["email"], "ursula@example.com");
    let user = stack.admin_post("/users", json!({"username": "newbie", "email": "n@example.com"})).await;
    assert_eq!(user["email"], "n@example.com");
    let _ = owner_id;

    // Deploy token user names cannot pass for a person or for another deploy token.
    let path = format!("/projects/{pid}/deploy_tokens");
    let scopes = json!(["write_package_registry"]);
    for name in ["root", "ROOT", "vic", "olga", "gitlab+deploy-token-1"] {
        let body = stack.post_as(&owner, &path, json!({"name": "d", "scopes": scopes, "username": name}), 400).await;
        assert_eq!(body, json!({"error": "username is invalid"}), "{name}");
    }
    let dt = stack.post_as(&owner, &path, json!({"name": "d", "scopes": scopes}), 201).await;
    let dt_id = dt["id"].as_u64().expect("id");
    assert_eq!(dt["username"], format!("gitlab+deploy-token-{dt_id}"));
    let custom = stack.post_as(&owner, &path, json!({"name": "d", "scopes": scopes, "username": "ci-bot"}), 201).await;
    assert_eq!(custom["username"], "ci-bot");

    // The audit trail names the actor by kind and id.
    let resp = stack
        .http
        .put(stack.api(&format!("/projects/{pid}/packages/generic/tool/1.0/t.bin")))
        .header("DEPLOY-TOKEN", dt["token"].as_str().expect("token"))
        .body("bytes")
        .send()
        .await
        .expect("publish");
    assert_eq!(resp.status(), 201);
    let events: Vec<Value> = stack.admin_get(&format!("/projects/{pid}/packages/events")).await;
    let actor = &events[0]["actor"];
    assert_eq!(
        *actor,
        json!({"kind": "deploy_token", "id": dt_id, "username": format!("gitlab+deploy-token-{dt_id}")})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn answers_do_not_trust_what_a_client_claims_and_are_not_sniffed() {
    let stack = Stack::start().await;
    let (pid, _) = stack.project("headers", "public").await;
    // A client (not a trusted proxy) claims TLS and another host.
    let (_, token) = stack.user("hal", &["api"]).await;
    let resp = stack
        .http
        .post(stack.api("/session"))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "evil.example")
        .json(&json!({"token": token}))
        .send()
        .await
        .expect("sign in");
    assert_eq!(resp.status(), 201);
    for c in set_cookies(&resp) {
        assert!(!c.contains("Secure"), "a client's X-Forwarded-Proto is not believed: {c}");
    }
    for i in 0..3 {
        stack.admin_publish(pid, &format!("p{i}/1.0/f"), "x").await;
    }
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/packages?per_page=1")))
        .header("X-Forwarded-Host", "evil.example")
        .send()
        .await
        .expect("list");
    let link = resp.headers()["link"].to_str().expect("link").to_owned();
    assert!(link.contains(&stack.url) && !link.contains("evil"), "{link}");

    // nosniff on every kind of answer: JSON, an error, a redirect, the console, ops.
    for url in [
        stack.api(&format!("/projects/{pid}")),
        stack.api("/projects/999999"),
        stack.api(&format!("/projects/{pid}/packages/generic/p0/1.0/f")),
        format!("{}/", stack.url),
        format!("{}/healthz", stack.url),
        format!("{}/healthz", stack.download_url),
    ] {
        let resp = stack.http.get(&url).send().await.expect("get");
        assert_eq!(resp.headers().get("x-content-type-options").map(|v| v.as_bytes()), Some(&b"nosniff"[..]), "{url}");
    }

    // A name beyond ASCII goes out as RFC 6266 says.
    let (_, job, job_token) = running_job(&stack, pid, "main", "docs").await;
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job}/artifacts")))
        .header("JOB-TOKEN", job_token)
        .body(zip_of(&[("r\u{e9}sum\u{e9}.txt", b"cv")]))
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);
    let resp = stack
        .http
        .get(stack.api(&format!("/projects/{pid}/jobs/{job}/artifacts/r%C3%A9sum%C3%A9.txt")))
        .send()
        .await
        .expect("file");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-disposition"],
        "attachment; filename=\"r_sum_.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    );
}
