//! The authorization matrix of docs/SECURITY.md against real Redis, and every token
//! transport through the gateway.

use arca_shared::auth::JwtKeys;
use arca_shared::model::{CiStatus, PersonalAccessToken, access};
use arca_shared::policy::Action;
use arca_shared::time::now_ms;
use arca_tests::{ADMIN_TOKEN, JWT_SECRET, Stack, encode_path, jwt};
use base64::Engine;
use serde_json::{Value, json};

/// Status for an outcome: 200 allowed, else the error's status.
fn code(r: Result<(), arca_shared::ApiError>) -> u16 {
    match r {
        Ok(()) => 200,
        Err(e) => e.status().as_u16(),
    }
}

async fn outcome(stack: &Stack, token: Option<&str>, project_id: u64, action: Action) -> u16 {
    let who = match stack.app.auth.authenticate(token).await {
        Ok(p) => p,
        Err(e) => return e.status().as_u16(),
    };
    let project = stack.app.meta.project(project_id).await.expect("redis").expect("project exists");
    code(stack.app.auth.authorize(&who, &project, action).await)
}

struct Fixture {
    stack: Stack,
    private: u64,
    public: u64,
    tokens: Vec<(&'static str, Option<String>)>,
}

async fn deploy_token(stack: &Stack, project: u64, scopes: &[&str]) -> String {
    let dt =
        stack.admin_post(&format!("/projects/{project}/deploy_tokens"), json!({"name": "d", "scopes": scopes})).await;
    dt["token"].as_str().expect("token").to_owned()
}

/// A running job of `project` and its token; `finish` ends the job first.
async fn job_token(stack: &Stack, project: u64, finish: bool) -> String {
    let pipeline = stack.admin_post(&format!("/projects/{project}/pipelines"), json!({"ref": "main"})).await;
    let pid = pipeline["id"].as_u64().expect("pipeline id");
    let job = stack.admin_post(&format!("/projects/{project}/pipelines/{pid}/jobs"), json!({"name": "build"})).await;
    assert_eq!(job["status"], "running");
    let token = job["token"].as_str().expect("job token").to_owned();
    if finish {
        let jid = job["id"].as_u64().expect("job id");
        stack.set_status(&format!("/projects/{project}/jobs/{jid}"), "success").await;
    }
    token
}

async fn fixture() -> Fixture {
    let stack = Stack::start().await;
    let (private, _) = stack.project("secret", "private").await;
    let (public, _) = stack.project("open", "public").await;
    let mut tokens: Vec<(&'static str, Option<String>)> =
        vec![("anonymous", None), ("unknown", Some("arca-pat-doesnotexist".into()))];
    tokens.push(("bootstrap admin", Some(ADMIN_TOKEN.into())));
    let admin = stack.admin_post("/users", json!({"username": "boss", "admin": true})).await;
    let admin_id = admin["id"].as_u64().expect("id");
    let pat = stack
        .admin_post(&format!("/users/{admin_id}/personal_access_tokens"), json!({"name": "a", "scopes": ["api"]}))
        .await;
    tokens.push(("admin user", pat["token"].as_str().map(str::to_owned)));
    for (name, level) in [
        ("owner", access::OWNER),
        ("maintainer", access::MAINTAINER),
        ("developer", access::DEVELOPER),
        ("reporter", access::REPORTER),
        ("guest", access::GUEST),
    ] {
        let (id, token) = stack.user(name, &["api"]).await;
        stack.add_member(private, id, level).await;
        tokens.push((name, Some(token)));
    }
    let (ro_id, ro_token) = stack.user("readonly-maintainer", &["read_api"]).await;
    stack.add_member(private, ro_id, access::MAINTAINER).await;
    tokens.push(("read_api maintainer", Some(ro_token)));
    let (_, stranger) = stack.user("stranger", &["api"]).await;
    tokens.push(("stranger", Some(stranger)));

    tokens.push(("deploy read", Some(deploy_token(&stack, private, &["read_package_registry"]).await)));
    tokens.push(("deploy write", Some(deploy_token(&stack, private, &["write_package_registry"]).await)));
    tokens.push((
        "deploy read+write",
        Some(deploy_token(&stack, private, &["read_package_registry", "write_package_registry"]).await),
    ));
    tokens.push((
        "deploy of the public project",
        Some(deploy_token(&stack, public, &["read_package_registry", "write_package_registry"]).await),
    ));
    tokens.push(("job running", Some(job_token(&stack, private, false).await)));
    tokens.push(("job finished", Some(job_token(&stack, private, true).await)));

    // Tokens that must never work.
    let (victim_id, revoked) = stack.user("revoked", &["api"]).await;
    stack.add_member(private, victim_id, access::OWNER).await;
    let revoke_id = token_id_of(&stack, &revoked).await;
    let resp = stack
        .http
        .delete(stack.api(&format!("/personal_access_tokens/{revoke_id}")))
        .header("PRIVATE-TOKEN", &revoked)
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 204, "a user revokes their own token");
    tokens.push(("revoked", Some(revoked)));

    let expired_secret = "arca-pat-expiredexpiredexpiredexpired1";
    let expired = PersonalAccessToken {
        id: stack.app.meta.next_pat_id().await.expect("id"),
        user_id: victim_id,
        name: "old".into(),
        scopes: vec!["api".into()],
        created_at: now_ms() - 10_000,
        expires_at: Some(now_ms() - 1_000),
        revoked: false,
        token_hash: arca_shared::auth::hash_token(expired_secret),
    };
    stack.app.meta.save_pat(&expired).await.expect("save");
    tokens.push(("expired pat", Some(expired_secret.into())));

    let running = tokens.iter().find(|(n, _)| *n == "job running").and_then(|(_, t)| t.clone()).expect("job token");
    let claims = JwtKeys::new(JWT_SECRET).verify(&running).expect("valid job token");
    let mut claims = serde_json::to_value(&claims).expect("claims");
    tokens.push(("jwt other key", Some(jwt(&claims, "not-the-arca-secret-at-all"))));
    let payload = running.split('.').nth(1).expect("payload").to_owned();
    let none = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    tokens.push(("jwt alg none", Some(format!("{none}.{payload}."))));
    claims["exp"] = json!(now_ms() / 1000 - 3600);
    tokens.push(("jwt expired", Some(jwt(&claims, JWT_SECRET))));

    Fixture { stack, private, public, tokens }
}

/// The id of a personal access token, found from its hash.
async fn token_id_of(stack: &Stack, token: &str) -> u64 {
    match stack.app.meta.token_ref(&arca_shared::auth::hash_token(token)).await.expect("redis") {
        Some(arca_shared::meta::TokenRef::Pat(id)) => id,
        other => panic!("not a personal access token: {other:?}"),
    }
}

/// Expected `[private read, publish, manage, public read, publish, manage]` (packages).
fn expected(name: &str) -> [u16; 6] {
    match name {
        "anonymous" => [401, 401, 401, 200, 401, 401],
        "unknown" | "revoked" | "expired pat" | "job finished" | "jwt other key" | "jwt alg none" | "jwt expired" => {
            [401; 6]
        }
        "bootstrap admin" | "admin user" => [200; 6],
        // Members of the private project only: strangers on the public one.
        "owner" | "maintainer" => [200, 200, 200, 200, 403, 403],
        "developer" => [200, 200, 403, 200, 403, 403],
        "reporter" => [200, 403, 403, 200, 403, 403],
        "guest" => [403, 403, 403, 200, 403, 403],
        "read_api maintainer" => [200, 403, 403, 200, 403, 403],
        "stranger" => [404, 404, 404, 200, 403, 403],
        "deploy read" => [200, 403, 403, 200, 403, 403],
        "deploy write" => [403, 200, 403, 200, 403, 403],
        "deploy read+write" => [200, 200, 403, 200, 403, 403],
        "deploy of the public project" => [404, 404, 404, 200, 200, 403],
        "job running" => [200, 200, 403, 200, 403, 403],
        other => panic!("no expectation for {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn authorization_matrix_by_token_kind_scope_role_and_visibility() {
    let f = fixture().await;
    let mut failures = Vec::new();
    for (name, token) in &f.tokens {
        let want = expected(name);
        let mut got = [0u16; 6];
        for (i, (project, action)) in [
            (f.private, Action::ReadPackages),
            (f.private, Action::PublishPackages),
            (f.private, Action::ManagePackages),
            (f.public, Action::ReadPackages),
            (f.public, Action::PublishPackages),
            (f.public, Action::ManagePackages),
        ]
        .into_iter()
        .enumerate()
        {
            got[i] = outcome(&f.stack, token.as_deref(), project, action).await;
        }
        if got != want {
            failures.push(format!("{name}: want {want:?}, got {got:?}"));
        }
    }
    assert!(failures.is_empty(), "authorization matrix:\n{}", failures.join("\n"));
}

/// The same matrix over HTTP through the gateway, for the publish and manage columns:
/// publishing under an invalid package name needs PublishPackages, changing the package
/// settings with an invalid value needs ManagePackages. Both are refused after
/// authorization, so a caller who passes gets 400 and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn http_answers_follow_the_matrix() {
    let f = fixture().await;
    let mut failures = Vec::new();
    for (name, token) in &f.tokens {
        let want = expected(name);
        for (col, project, path) in [
            (1, f.private, "packages/generic/bad%20name/1.0/f.txt"),
            (2, f.private, "packages/settings"),
            (4, f.public, "packages/generic/bad%20name/1.0/f.txt"),
            (5, f.public, "packages/settings"),
        ] {
            let body = json!({"generic_duplicate_exception_regex": "("});
            let mut req = f.stack.http.put(f.stack.api(&format!("/projects/{project}/{path}"))).json(&body);
            if let Some(t) = token {
                req = req.header("PRIVATE-TOKEN", t);
            }
            let resp = req.send().await.expect("request");
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.expect("every answer is JSON");
            let want_http = if want[col] == 200 { 400 } else { want[col] };
            if status != want_http {
                failures.push(format!("{name} {path} on project {project}: want {want_http}, got {status} {body}"));
            }
            let expected_message = match status {
                401 => Some("401 Unauthorized"),
                403 => Some("403 Forbidden"),
                404 => Some("404 Project Not Found"),
                _ => None,
            };
            if let Some(m) = expected_message
                && body["message"] != m
            {
                failures.push(format!("{name} {path}: body {body}, want message {m}"));
            }
        }
    }
    assert!(failures.is_empty(), "HTTP matrix:\n{}", failures.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_token_transport_authenticates() {
    let stack = Stack::start().await;
    let (project, path) = stack.project("transport", "private").await;
    let (uid, token) = stack.user("carrier", &["read_api"]).await;
    stack.add_member(project, uid, access::REPORTER).await;
    let job = job_token(&stack, project, false).await;
    let url = stack.api(&format!("/projects/{}", encode_path(&path)));
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("anyone:{token}"));
    let cases: Vec<(&str, reqwest::RequestBuilder)> = vec![
        ("PRIVATE-TOKEN", stack.http.get(&url).header("PRIVATE-TOKEN", &token)),
        ("JOB-TOKEN", stack.http.get(&url).header("JOB-TOKEN", &job)),
        ("Bearer", stack.http.get(&url).bearer_auth(&token)),
        ("Basic", stack.http.get(&url).header("Authorization", format!("Basic {basic}"))),
        ("private_token", stack.http.get(format!("{url}?private_token={token}"))),
        ("job_token", stack.http.get(format!("{url}?job_token={job}"))),
    ];
    for (what, req) in cases {
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status(), 200, "{what}");
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["id"], project, "{what}");
    }
    let dt = deploy_token(&stack, project, &["read_package_registry"]).await;
    // A deploy token reads its project's packages but GET /projects/:id only needs to see it.
    let resp = stack.http.get(&url).header("DEPLOY-TOKEN", &dt).send().await.expect("request");
    assert_eq!(resp.status(), 200, "DEPLOY-TOKEN");

    for bad in ["Basic !!notbase64", "Basic Zm9v", "Token abc"] {
        let resp = stack.http.get(&url).header("Authorization", bad).send().await.expect("request");
        assert_eq!(resp.status(), 401, "{bad}");
        assert!(resp.headers().contains_key("www-authenticate"));
        let body: Value = resp.json().await.expect("json");
        assert_eq!(body["message"], "401 Unauthorized");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn revocation_and_job_completion_take_effect_at_once() {
    let stack = Stack::start().await;
    let (project, _) = stack.project("revoke", "private").await;
    let (uid, token) = stack.user("leaver", &["api"]).await;
    stack.add_member(project, uid, access::DEVELOPER).await;
    let url = stack.api(&format!("/projects/{project}"));
    let get = |t: String| {
        let req = stack.http.get(&url).header("PRIVATE-TOKEN", t);
        async move { req.send().await.expect("request").status().as_u16() }
    };
    assert_eq!(get(token.clone()).await, 200);

    // Someone else cannot revoke it, and learns nothing about it.
    let (_, other) = stack.user("mallory", &["api"]).await;
    let id = token_id_of(&stack, &token).await;
    let resp = stack
        .http
        .delete(stack.api(&format!("/personal_access_tokens/{id}")))
        .header("PRIVATE-TOKEN", &other)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 404);
    assert_eq!(get(token.clone()).await, 200);

    let resp = stack
        .http
        .delete(stack.api(&format!("/personal_access_tokens/{id}")))
        .header("PRIVATE-TOKEN", ADMIN_TOKEN)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 204);
    assert_eq!(get(token).await, 401);

    let job = job_token(&stack, project, false).await;
    let req = |t: &str| stack.http.get(&url).header("JOB-TOKEN", t.to_owned()).send();
    assert_eq!(req(&job).await.expect("req").status(), 200);
    let claims = JwtKeys::new(JWT_SECRET).verify(&job).expect("valid");
    let mut saved = stack.app.meta.job(project, claims.job_id).await.expect("redis").expect("job");
    assert_eq!(saved.status, CiStatus::Running);
    saved.status = CiStatus::Failed;
    stack.app.meta.save_job(&saved).await.expect("save");
    assert_eq!(req(&job).await.expect("req").status(), 401, "a finished job's token stops working");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_are_stored_only_as_hashes() {
    let stack = Stack::start().await;
    let (_, token) = stack.user("hashed", &["api"]).await;
    let mut conn = redis::Client::open(stack.backends.redis_url())
        .expect("url")
        .get_multiplexed_async_connection()
        .await
        .expect("conn");
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query_async(&mut conn).await.expect("keys");
    for key in keys {
        assert!(!key.contains(&token), "token in key {key}");
        let kind: String = redis::cmd("TYPE").arg(&key).query_async(&mut conn).await.expect("type");
        if kind == "string" {
            // The cleanup worker's short-lived lease keys may be gone by now.
            let value: Option<String> = redis::cmd("GET").arg(&key).query_async(&mut conn).await.expect("get");
            assert!(!value.unwrap_or_default().contains(&token), "token stored in {key}");
        }
    }
}
