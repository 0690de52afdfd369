//! The management endpoints of docs/SECURITY.md through the gateway, against real Redis.

use arca_shared::model::access;
use arca_tests::{ADMIN_TOKEN, Stack, encode_path};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_and_personal_access_tokens() {
    let stack = Stack::start().await;
    let alice = stack.admin_post("/users", json!({"username": "alice", "email": "a@example.com"})).await;
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["is_admin"], false);

    let dup = stack.post_as(ADMIN_TOKEN, "/users", json!({"username": "ALICE"}), 409).await;
    assert!(dup["message"].as_str().is_some_and(|m| m.contains("taken")), "{dup}");
    for bad in [json!({"username": "a b"}), json!({"username": "-x"}), json!({"username": "ok", "email": "nope"})] {
        let body = stack.post_as(ADMIN_TOKEN, "/users", bad.clone(), 400).await;
        assert!(body["error"].as_str().is_some_and(|e| e.ends_with("is invalid")), "{bad} -> {body}");
    }
    let body = stack.post_as(ADMIN_TOKEN, "/users", json!({"email": "x@y"}), 400).await;
    assert!(body["message"].is_string(), "missing field -> {body}");

    let id = alice["id"].as_u64().expect("id");
    let pat = stack
        .admin_post(
            &format!("/users/{id}/personal_access_tokens"),
            json!({"name": "ci", "scopes": ["api"], "expires_at": "2999-01-01"}),
        )
        .await;
    assert_eq!(pat["expires_at"], "2999-01-01");
    assert_eq!(pat["active"], true);
    let token = pat["token"].as_str().expect("token").to_owned();

    // Only the administrator manages users.
    stack.post_as(&token, "/users", json!({"username": "bob"}), 403).await;
    let resp = stack.http.post(stack.api("/users")).json(&json!({"username": "bob"})).send().await.expect("req");
    assert_eq!(resp.status(), 401);
    for bad in [
        json!({"name": "x", "scopes": ["sudo"]}),
        json!({"name": "x", "scopes": []}),
        json!({"name": "x", "scopes": ["api"], "expires_at": "2001-01-01"}),
        json!({"name": "", "scopes": ["api"]}),
    ] {
        stack.post_as(ADMIN_TOKEN, &format!("/users/{id}/personal_access_tokens"), bad, 400).await;
    }
    let missing = stack
        .post_as(ADMIN_TOKEN, "/users/999/personal_access_tokens", json!({"name": "x", "scopes": ["api"]}), 404)
        .await;
    assert_eq!(missing["message"], "404 User Not Found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn projects_by_id_and_path_members_and_deploy_tokens() {
    let stack = Stack::start().await;
    let (alice_id, alice) = stack.user("alice", &["api"]).await;
    let (bob_id, bob) = stack.user("bob", &["api"]).await;

    let p = stack.post_as(&alice, "/projects", json!({"name": "My Tools"}), 201).await;
    assert_eq!(p["path_with_namespace"], "alice/my-tools");
    assert_eq!(p["visibility"], "private");
    let id = p["id"].as_u64().expect("id");

    // By id, by path, by path in another case.
    for key in [id.to_string(), encode_path("alice/my-tools"), encode_path("Alice/My-Tools")] {
        let resp = stack
            .http
            .get(stack.api(&format!("/projects/{key}")))
            .header("PRIVATE-TOKEN", &alice)
            .send()
            .await
            .expect("req");
        assert_eq!(resp.status(), 200, "{key}");
        assert_eq!(resp.json::<Value>().await.expect("json")["id"], id);
    }
    // Bob cannot see it, and cannot tell it from a project that does not exist.
    for key in [id.to_string(), "99999".into(), encode_path("alice/nothing")] {
        let resp = stack
            .http
            .get(stack.api(&format!("/projects/{key}")))
            .header("PRIVATE-TOKEN", &bob)
            .send()
            .await
            .expect("req");
        assert_eq!(resp.status(), 404, "{key}");
        assert_eq!(resp.json::<Value>().await.expect("json")["message"], "404 Project Not Found");
    }

    // Same path again; another user's namespace.
    stack.post_as(&alice, "/projects", json!({"name": "My Tools"}), 400).await;
    stack.post_as(&bob, "/projects", json!({"name": "x", "namespace": "alice"}), 403).await;
    stack.post_as(ADMIN_TOKEN, "/projects", json!({"name": "shared", "namespace": "platform"}), 201).await;

    // Members: the owner adds a maintainer, who may not make owners.
    stack
        .post_as(
            &alice,
            &format!("/projects/{id}/members"),
            json!({"user_id": bob_id, "access_level": access::MAINTAINER}),
            201,
        )
        .await;
    stack
        .post_as(
            &alice,
            &format!("/projects/{id}/members"),
            json!({"user_id": bob_id, "access_level": access::DEVELOPER}),
            409,
        )
        .await;
    let (carol_id, _) = stack.user("carol", &["api"]).await;
    stack
        .post_as(
            &bob,
            &format!("/projects/{id}/members"),
            json!({"user_id": carol_id, "access_level": access::OWNER}),
            403,
        )
        .await;
    stack
        .post_as(
            &bob,
            &format!("/projects/{id}/members"),
            json!({"user_id": carol_id, "access_level": access::REPORTER}),
            201,
        )
        .await;
    stack
        .post_as(
            &bob,
            &format!("/projects/{id}/members"),
            json!({"user_id": 4242, "access_level": access::REPORTER}),
            404,
        )
        .await;
    let resp =
        stack.http.get(stack.api(&format!("/projects/{id}"))).header("PRIVATE-TOKEN", &bob).send().await.expect("req");
    assert_eq!(resp.status(), 200, "bob is a member now");
    let _ = alice_id;

    // Deploy tokens: created by a maintainer, revoked, then refused.
    let dt = stack
        .post_as(
            &bob,
            &format!("/projects/{id}/deploy_tokens"),
            json!({"name": "ci", "scopes": "read_package_registry"}),
            201,
        )
        .await;
    assert!(dt["username"].as_str().is_some_and(|u| u.starts_with("gitlab+deploy-token-")), "{dt}");
    let secret = dt["token"].as_str().expect("token").to_owned();
    let get = || stack.http.get(stack.api(&format!("/projects/{id}"))).header("DEPLOY-TOKEN", secret.clone()).send();
    assert_eq!(get().await.expect("req").status(), 200);
    let dt_id = dt["id"].as_u64().expect("id");
    let resp = stack
        .http
        .delete(stack.api(&format!("/projects/{id}/deploy_tokens/{dt_id}")))
        .header("PRIVATE-TOKEN", &bob)
        .send()
        .await
        .expect("req");
    assert_eq!(resp.status(), 204);
    assert_eq!(get().await.expect("req").status(), 401);
    stack.post_as(&bob, &format!("/projects/{id}/deploy_tokens"), json!({"name": "x", "scopes": ["api"]}), 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn project_listing_is_paginated_and_filtered_by_visibility() {
    let stack = Stack::start().await;
    for i in 0..23 {
        stack.project(&format!("public-{i:02}"), "public").await;
    }
    stack.project("hidden", "private").await;
    let (uid, token) = stack.user("member", &["read_api"]).await;
    let (mine, _) = stack.project("mine", "private").await;
    stack.add_member(mine, uid, access::GUEST).await;

    let resp = stack.http.get(stack.api("/projects?per_page=10&page=2")).send().await.expect("req");
    assert_eq!(resp.status(), 200);
    let h = resp.headers().clone();
    assert_eq!(h["x-total"], "23");
    assert_eq!(h["x-total-pages"], "3");
    assert_eq!(h["x-page"], "2");
    assert_eq!(h["x-per-page"], "10");
    assert_eq!(h["x-next-page"], "3");
    assert_eq!(h["x-prev-page"], "1");
    let link = h["link"].to_str().expect("ascii");
    assert!(link.contains("page=3&per_page=10>; rel=\"next\""), "{link}");
    let body: Vec<Value> = resp.json().await.expect("json");
    assert_eq!(body.len(), 10);
    assert!(body.iter().all(|p| p["visibility"] == "public"));

    let resp =
        stack.http.get(stack.api("/projects?per_page=100")).header("PRIVATE-TOKEN", &token).send().await.expect("req");
    assert_eq!(resp.headers()["x-total"], "24", "public ones plus the member's own");
    let body: Vec<Value> = resp.json().await.expect("json");
    assert!(body.iter().any(|p| p["id"] == mine));
    assert!(!body.iter().any(|p| p["name"] == "hidden"));

    let resp = stack.http.get(stack.api("/projects")).header("PRIVATE-TOKEN", ADMIN_TOKEN).send().await.expect("req");
    assert_eq!(resp.headers()["x-total"], "25", "the administrator sees all");

    for bad in ["page=0", "per_page=-5", "page=abc"] {
        let resp = stack.http.get(stack.api(&format!("/projects?{bad}"))).send().await.expect("req");
        assert_eq!(resp.status(), 400, "{bad}");
        let body: Value = resp.json().await.expect("json");
        assert!(body["error"].as_str().is_some_and(|e| e.ends_with("is invalid")), "{body}");
    }
}

/// `GET /users` (filters `username`, `search`) and `GET /users/:id` for the administrator;
/// `GET /projects/:id/members` and `.../members/:user_id` for maintainers, as python-gitlab's
/// `gl.users` and `project.members` managers call them.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_and_members_are_read_as_gitlab_serves_them() {
    let stack = Stack::start().await;
    let (alice, alice_token) = stack.user("alice", &["api"]).await;
    let (bob, bob_token) = stack.user("bob", &["api"]).await;
    let (carol, _) = stack.user("carol", &["api"]).await;
    let get = |token: String, path: String| {
        let req = stack.http.get(stack.api(&path)).header("PRIVATE-TOKEN", token);
        async move {
            let resp = req.send().await.expect("req");
            let status = resp.status().as_u16();
            let total = resp.headers().get("x-total").and_then(|v| v.to_str().ok()).map(str::to_owned);
            (status, total, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let names = |list: &Value| {
        list.as_array()
            .expect("list")
            .iter()
            .filter_map(|u| u["username"].as_str().map(str::to_owned))
            .collect::<Vec<_>>()
    };
    let admin = || ADMIN_TOKEN.to_owned();

    let (status, total, users) = get(admin(), "/users".into()).await;
    assert_eq!((status, total.as_deref()), (200, Some("3")));
    assert_eq!(names(&users), ["alice", "bob", "carol"]);
    assert_eq!(users[0]["email"], "alice@example.com", "the administrator sees addresses");
    assert_eq!(names(&get(admin(), "/users?username=BOB".into()).await.2), ["bob"]);
    assert_eq!(names(&get(admin(), "/users?search=ar".into()).await.2), ["carol"]);
    assert_eq!(names(&get(admin(), "/users?search=example.com&per_page=2&page=2".into()).await.2), ["carol"]);
    let (status, _, one) = get(admin(), format!("/users/{bob}")).await;
    assert_eq!((status, one["username"].as_str()), (200, Some("bob")));
    assert_eq!(get(admin(), "/users/999999".into()).await.0, 404);
    // Users are the administrator's to read.
    assert_eq!(get(alice_token.clone(), "/users".into()).await.0, 403);
    assert_eq!(get(alice_token.clone(), format!("/users/{bob}")).await.0, 403);

    let (project, _) = stack.project("team", "private").await;
    stack.add_member(project, alice, access::MAINTAINER).await;
    stack.add_member(project, bob, access::DEVELOPER).await;
    let (status, total, members) = get(alice_token.clone(), format!("/projects/{project}/members")).await;
    assert_eq!((status, total.as_deref()), (200, Some("2")));
    assert_eq!(names(&members), ["alice", "bob"]);
    assert_eq!(members[1]["access_level"], access::DEVELOPER);
    assert!(members[1].get("email").is_none(), "a maintainer does not see others' addresses: {members}");
    let (status, _, member) = get(alice_token.clone(), format!("/projects/{project}/members/{bob}")).await;
    assert_eq!((status, member["access_level"].as_u64()), (200, Some(u64::from(access::DEVELOPER))));
    assert_eq!(get(alice_token, format!("/projects/{project}/members/{carol}")).await.0, 404);
    // A developer does not administer the project.
    assert_eq!(get(bob_token, format!("/projects/{project}/members")).await.0, 403);
}

/// `GET /personal_access_tokens` (the administrator: all, or one user's; a user: their own)
/// and `GET /projects/:id/deploy_tokens` (maintainer): never a secret.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tokens_are_listed_without_their_secrets() {
    let stack = Stack::start().await;
    let (alice, alice_token) = stack.user("alice", &["api"]).await;
    let (bob, bob_token) = stack.user("bob", &["api"]).await;
    stack
        .admin_post(&format!("/users/{bob}/personal_access_tokens"), json!({"name": "second", "scopes": ["read_api"]}))
        .await;
    let get = |token: String, path: String| {
        let req = stack.http.get(stack.api(&path)).header("PRIVATE-TOKEN", token);
        async move {
            let resp = req.send().await.expect("req");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let owners =
        |list: &Value| list.as_array().expect("list").iter().filter_map(|t| t["user_id"].as_u64()).collect::<Vec<_>>();
    let (status, all) = get(ADMIN_TOKEN.to_owned(), "/personal_access_tokens".into()).await;
    assert_eq!(status, 200);
    assert_eq!(owners(&all), [alice, bob, bob]);
    assert!(all.as_array().expect("list").iter().all(|t| t.get("token").is_none()), "no secret: {all}");
    assert_eq!(
        owners(&get(ADMIN_TOKEN.to_owned(), format!("/personal_access_tokens?user_id={bob}")).await.1),
        [bob, bob]
    );
    let (status, own) = get(alice_token.clone(), format!("/personal_access_tokens?user_id={bob}")).await;
    assert_eq!((status, owners(&own)), (200, vec![alice]), "a user sees only their own");

    let (project, _) = stack.project("deploys", "private").await;
    stack.add_member(project, alice, access::MAINTAINER).await;
    stack.add_member(project, bob, access::DEVELOPER).await;
    let created = stack
        .admin_post(
            &format!("/projects/{project}/deploy_tokens"),
            json!({"name": "ci", "scopes": ["read_package_registry"]}),
        )
        .await;
    let (status, tokens) = get(alice_token, format!("/projects/{project}/deploy_tokens")).await;
    assert_eq!(status, 200);
    assert_eq!(tokens.as_array().map(Vec::len), Some(1));
    assert_eq!((tokens[0]["id"].clone(), tokens[0]["name"].as_str()), (created["id"].clone(), Some("ci")));
    assert!(tokens[0].get("token").is_none(), "no secret: {tokens}");
    assert_eq!(get(bob_token, format!("/projects/{project}/deploy_tokens")).await.0, 403);
}

/// `PUT|DELETE /projects/:id/members/:user_id` (maintainers; owners for owners) and
/// `POST /users/:id/block|unblock` (administrator), with what each refuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn members_change_and_users_block() {
    let stack = Stack::start().await;
    let (owner, owner_token) = stack.user("owner", &["api"]).await;
    let (maint, maint_token) = stack.user("maint", &["api"]).await;
    let (dev, dev_token) = stack.user("dev", &["api"]).await;
    let (outsider, _) = stack.user("outsider", &["api"]).await;
    let (project, _) = stack.project("team", "private").await;
    stack.add_member(project, owner, access::OWNER).await;
    stack.add_member(project, maint, access::MAINTAINER).await;
    stack.add_member(project, dev, access::DEVELOPER).await;
    let send = |method: reqwest::Method, token: &str, path: String, body: Option<Value>| {
        let mut req = stack.http.request(method, stack.api(&path)).header("PRIVATE-TOKEN", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("req");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let member = |user: u64| format!("/projects/{project}/members/{user}");
    let level = |l: u8| Some(json!({ "access_level": l }));
    use reqwest::Method;

    let (status, changed) = send(Method::PUT, &maint_token, member(dev), level(access::REPORTER)).await;
    assert_eq!((status, changed["access_level"].as_u64()), (200, Some(u64::from(access::REPORTER))));
    let (_, read) = send(Method::GET, &maint_token, member(dev), None).await;
    assert_eq!(read["access_level"].as_u64(), Some(u64::from(access::REPORTER)));
    // A reporter administers nothing.
    assert_eq!(send(Method::DELETE, &dev_token, member(maint), None).await.0, 403);
    // A maintainer neither makes nor changes nor removes owners; an owner does.
    assert_eq!(send(Method::PUT, &maint_token, member(dev), level(access::OWNER)).await.0, 403);
    assert_eq!(send(Method::PUT, &maint_token, member(owner), level(access::GUEST)).await.0, 403);
    assert_eq!(send(Method::DELETE, &maint_token, member(owner), None).await.0, 403);
    assert_eq!(send(Method::PUT, &owner_token, member(dev), level(access::OWNER)).await.0, 200);
    // Bad levels and non-members.
    assert_eq!(send(Method::PUT, &owner_token, member(dev), level(35)).await.0, 400);
    assert_eq!(send(Method::PUT, &owner_token, member(outsider), level(access::GUEST)).await.0, 404);
    assert_eq!(send(Method::DELETE, &owner_token, member(outsider), None).await.0, 404);
    assert_eq!(send(Method::DELETE, &owner_token, member(dev), None).await.0, 204);
    assert_eq!(send(Method::GET, &owner_token, member(dev), None).await.0, 404);

    // Blocking: the administrator's, shown in the user's state, refusing the user's tokens.
    assert_eq!(send(Method::POST, &maint_token, format!("/users/{dev}/block"), None).await.0, 403);
    assert_eq!(send(Method::POST, ADMIN_TOKEN, "/users/999999/block".into(), None).await.0, 404);
    let (status, answer) = send(Method::POST, ADMIN_TOKEN, format!("/users/{dev}/block"), None).await;
    assert_eq!((status, answer), (201, Value::Bool(true)));
    assert_eq!(send(Method::GET, ADMIN_TOKEN, format!("/users/{dev}"), None).await.1["state"], "blocked");
    assert_eq!(send(Method::GET, &dev_token, "/user".into(), None).await.0, 401);
    assert_eq!(send(Method::POST, ADMIN_TOKEN, format!("/users/{dev}/unblock"), None).await.0, 201);
    assert_eq!(send(Method::GET, &dev_token, "/user".into(), None).await.1["state"], "active");
}

/// Every Redis key of a project (they share its hash tag).
async fn project_keys(stack: &Stack, project: u64) -> Vec<String> {
    let mut conn = stack.app.meta.conn();
    redis::AsyncCommands::keys(&mut conn, format!("arca:{{p{project}}}:*")).await.expect("redis")
}

/// Runs the worker's project-deletion pass directly.
async fn purge(stack: &Stack) -> u64 {
    arca_cleanup::delete_projects(&stack.app).await.expect("project deletion pass")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn projects_change_and_go_and_users_go_leaving_nothing_behind() {
    let stack = Stack::start_with(|s| {
        s.insert("ARCA_CLEANUP_INTERVAL".into(), "1000days".into());
        s.insert("ARCA_MULTIPART_MAX_AGE".into(), "1s".into());
    })
    .await;
    let (bob, bob_token) = stack.user("bob", &["api"]).await;
    let (dev, dev_token) = stack.user("dev", &["api"]).await;
    let (alice, alice_token) = stack.user("alice", &["api"]).await;
    let (shared, _) = stack.project("shared", "private").await;
    let (other, _) = stack.project("other", "private").await;
    stack.add_member(shared, bob, access::MAINTAINER).await;
    stack.add_member(shared, dev, access::DEVELOPER).await;
    stack.add_member(other, alice, access::DEVELOPER).await;
    let send = |method: reqwest::Method, token: Option<&str>, path: String, body: Option<Value>| {
        let mut req = stack.http.request(method, stack.api(&path));
        if let Some(t) = token {
            req = req.header("PRIVATE-TOKEN", t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        async move {
            let resp = req.send().await.expect("req");
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    use reqwest::Method;
    let project = format!("/projects/{shared}");

    // PUT /projects/:id: a maintainer's; the path stays; visibility takes effect at once.
    let change = json!({"name": "Shared tools", "description": "what we share", "visibility": "public"});
    assert_eq!(send(Method::PUT, Some(&dev_token), project.clone(), Some(change.clone())).await.0, 403);
    let (status, changed) = send(Method::PUT, Some(&bob_token), project.clone(), Some(change)).await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(
        (changed["name"].as_str(), changed["description"].as_str(), changed["path_with_namespace"].as_str()),
        (Some("Shared tools"), Some("what we share"), Some("root/shared"))
    );
    assert_eq!(send(Method::GET, None, project.clone(), None).await.0, 200, "public now");
    let private = Some(json!({"visibility": "private", "description": ""}));
    let (_, changed) = send(Method::PUT, Some(&bob_token), project.clone(), private).await;
    assert_eq!((changed["visibility"].as_str(), &changed["description"]), (Some("private"), &Value::Null));
    assert_eq!(send(Method::GET, None, project.clone(), None).await.0, 401, "private again");
    assert_eq!(send(Method::PUT, Some(&bob_token), project.clone(), Some(json!({}))).await.0, 400);
    assert_eq!(send(Method::PUT, Some(&bob_token), project.clone(), Some(json!({"visibility": "x"}))).await.0, 400);

    // What hangs on the project: a package, a job with artifacts, a deploy token, an
    // allowlist entry elsewhere naming it.
    let file = format!("/projects/{shared}/packages/generic/tool/1.0/tool.bin");
    let resp = stack.http.put(stack.api(&file)).header("PRIVATE-TOKEN", &bob_token).body("bytes").send().await;
    assert_eq!(resp.expect("publish").status(), 201);
    let pipeline = stack.admin_post(&format!("{project}/pipelines"), json!({"ref": "main"})).await["id"]
        .as_u64()
        .expect("pipeline");
    let job = stack.admin_post(&format!("{project}/pipelines/{pipeline}/jobs"), json!({"name": "build"})).await;
    let job_id = job["id"].as_u64().expect("job");
    let resp = stack
        .http
        .post(stack.api(&format!("/jobs/{job_id}/artifacts")))
        .header("JOB-TOKEN", job["token"].as_str().expect("token"))
        .body(arca_tests::zip_of(&[("a.txt", b"a")]))
        .send()
        .await
        .expect("artifacts");
    assert_eq!(resp.status(), 201);
    let deploy = stack
        .admin_post(&format!("{project}/deploy_tokens"), json!({"name": "d", "scopes": ["read_package_registry"]}))
        .await;
    let deploy_token = deploy["token"].as_str().expect("deploy token").to_owned();
    stack
        .admin_post(&format!("/projects/{other}/job_token_scope/allowlist"), json!({"target_project_id": shared}))
        .await;
    assert!(!project_keys(&stack, shared).await.is_empty());
    assert!(!arca_tests::keys_under(&stack.app, &format!("packages/{shared}/")).await.is_empty());

    // DELETE /projects/:id: the owner's or the administrator's; gone at once.
    assert_eq!(send(Method::DELETE, Some(&bob_token), project.clone(), None).await.0, 403, "a maintainer");
    let (status, body) = send(Method::DELETE, Some(ADMIN_TOKEN), project.clone(), None).await;
    assert_eq!((status, body), (202, json!({"message": "202 Accepted"})));
    assert_eq!(send(Method::GET, Some(&bob_token), project.clone(), None).await.0, 404);
    assert_eq!(send(Method::GET, Some(ADMIN_TOKEN), "/projects/root%2Fshared".into(), None).await.0, 404);
    assert_eq!(send(Method::GET, Some(&deploy_token), format!("{project}/packages"), None).await.0, 404);
    assert_eq!(send(Method::DELETE, Some(ADMIN_TOKEN), project.clone(), None).await.0, 404, "once");
    let (_, listed) = send(Method::GET, Some(&bob_token), "/projects".into(), None).await;
    assert!(listed.as_array().expect("list").iter().all(|p| p["id"].as_u64() != Some(shared)));

    // The worker's first pass removes every key, blob and reference; the final one,
    // ARCA_MULTIPART_MAX_AGE later, ends the deletion.
    assert_eq!(purge(&stack).await, 1);
    assert_eq!(project_keys(&stack, shared).await, Vec::<String>::new());
    for prefix in [format!("packages/{shared}/"), format!("artifacts/{shared}/")] {
        assert!(arca_tests::keys_under(&stack.app, &prefix).await.is_empty(), "{prefix}");
    }
    assert!(!stack.app.meta.user_project_ids(bob).await.expect("redis").contains(&shared));
    assert_eq!(stack.app.meta.job_project(job_id).await.expect("redis"), None);
    assert!(stack.app.meta.all_deploy_tokens().await.expect("redis").iter().all(|t| t.project_id != shared));
    assert!(!stack.app.meta.allowlist(other).await.expect("redis").contains(&shared));
    let mut conn = stack.app.meta.conn();
    let expiring: Vec<String> =
        redis::AsyncCommands::zrange(&mut conn, arca_shared::keys::ARTIFACT_EXPIRY, 0, -1).await.expect("redis");
    assert!(expiring.iter().all(|m| !m.starts_with(&format!("{shared}:"))), "{expiring:?}");
    assert_eq!(purge(&stack).await, 0, "the final pass waits");
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(purge(&stack).await, 1, "the final pass");
    let deleting: u64 =
        redis::AsyncCommands::zcard(&mut conn, arca_shared::keys::PROJECTS_DELETING).await.expect("redis");
    assert_eq!(deleting, 0);

    // /personal_access_tokens/self: the token in use, never its secret; revoking it.
    let (status, own) = send(Method::GET, Some(&bob_token), "/personal_access_tokens/self".into(), None).await;
    assert_eq!((status, own["user_id"].as_u64(), own.get("token")), (200, Some(bob), None));
    assert_eq!(send(Method::GET, Some(ADMIN_TOKEN), "/personal_access_tokens/self".into(), None).await.0, 403);
    assert_eq!(send(Method::GET, None, "/personal_access_tokens/self".into(), None).await.0, 401);
    assert_eq!(send(Method::DELETE, Some(&bob_token), "/personal_access_tokens/self".into(), None).await.0, 204);
    assert_eq!(send(Method::GET, Some(&bob_token), "/user".into(), None).await.0, 401);

    // DELETE /users/:id: the administrator's. Tokens stop, memberships end, personal
    // projects go, the name is free again.
    let (status, tools) =
        send(Method::POST, Some(&alice_token), "/projects".into(), Some(json!({"name": "tools"}))).await;
    assert_eq!((status, tools["path_with_namespace"].as_str()), (201, Some("alice/tools")));
    let tools = tools["id"].as_u64().expect("id");
    let file = format!("/projects/{tools}/packages/generic/t/1/t.bin");
    let resp = stack.http.put(stack.api(&file)).header("PRIVATE-TOKEN", &alice_token).body("t").send().await;
    assert_eq!(resp.expect("publish").status(), 201);
    assert_eq!(send(Method::DELETE, Some(&dev_token), format!("/users/{alice}"), None).await.0, 403);
    assert_eq!(send(Method::DELETE, Some(ADMIN_TOKEN), format!("/users/{alice}"), None).await.0, 204);
    assert_eq!(send(Method::GET, Some(&alice_token), "/user".into(), None).await.0, 401);
    assert_eq!(send(Method::GET, Some(ADMIN_TOKEN), format!("/users/{alice}"), None).await.0, 404);
    assert_eq!(send(Method::DELETE, Some(ADMIN_TOKEN), format!("/users/{alice}"), None).await.0, 404);
    assert_eq!(send(Method::GET, Some(ADMIN_TOKEN), format!("/projects/{tools}"), None).await.0, 404);
    let (_, members) = send(Method::GET, Some(ADMIN_TOKEN), format!("/projects/{other}/members"), None).await;
    assert!(members.as_array().expect("members").iter().all(|m| m["id"].as_u64() != Some(alice)), "{members}");
    assert!(stack.app.meta.all_pats().await.expect("redis").iter().all(|t| t.user_id != alice));
    assert_eq!(purge(&stack).await, 1);
    assert_eq!(project_keys(&stack, tools).await, Vec::<String>::new());
    assert!(arca_tests::keys_under(&stack.app, &format!("packages/{tools}/")).await.is_empty());
    stack.admin_post("/users", json!({"username": "alice"})).await;
}
