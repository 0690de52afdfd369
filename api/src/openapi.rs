//! The OpenAPI 3.1 description of arca's public API, served by the download service at
//! `GET /api/v4/openapi.json`. It lives beside the routes it describes: a test checks that
//! every route the upload and download services register is here, and CI runs schemathesis
//! against a live stack with it (no 5xx, no answer the description does not allow).

use serde_json::{Map, Value, json};

/// Path parameters: `:id` is a numeric id or a URL-encoded `namespace/path`.
fn param(name: &str) -> Value {
    let (schema, description) = match name {
        "id" => (
            json!({"type": "string", "minLength": 1}),
            "The project's numeric id or URL-encoded path (`group%2Fproject`).",
        ),
        "package_name" => (
            json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[A-Za-z0-9._+-]+$"}),
            "Letters, digits, `.`, `-`, `_`, `+`.",
        ),
        "package_version" => (
            json!({"type": "string", "minLength": 1, "maxLength": 255}),
            "As GitLab: `\\A(\\.?[\\w\\+-]+\\.?)+\\z`, no `..`.",
        ),
        "file_name" => {
            (json!({"type": "string", "minLength": 1, "maxLength": 1024}), "One or more `/`-separated segments.")
        }
        "artifact_path" => (json!({"type": "string", "minLength": 1}), "A path inside the job's archive."),
        "ref_name" => (json!({"type": "string", "minLength": 1}), "A branch or tag."),
        "key" => (json!({"type": "string", "minLength": 1, "maxLength": 255}), "A metadata key."),
        _ => (json!({"type": "integer", "minimum": 1}), "A numeric id."),
    };
    let example = match name {
        "id" => json!("1"),
        "package_name" => json!("tool"),
        "package_version" => json!("1.0.0"),
        "file_name" => json!("tool.bin"),
        "artifact_path" => json!("docs/readme.txt"),
        "ref_name" => json!("main"),
        "key" => json!("channel"),
        _ => json!(1),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description, "example": example})
}

fn query(name: &str, schema: Value, description: &str) -> Value {
    json!({"name": name, "in": "query", "required": false, "schema": schema, "description": description})
}

fn pagination() -> Vec<Value> {
    vec![
        query("page", json!({"type": "integer", "minimum": 1}), "Page number, from 1."),
        query("per_page", json!({"type": "integer", "minimum": 1}), "Items per page; more than 100 is taken as 100."),
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn error(description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref("Error")}}})
}

fn paged_headers() -> Value {
    let int = json!({"schema": {"type": "integer"}});
    json!({"X-Total": int, "X-Page": int, "X-Per-Page": int, "X-Total-Pages": int})
}

fn list_of(name: &str) -> Value {
    json!({
        "description": "A page of the listing, with GitLab's pagination headers.",
        "headers": paged_headers(),
        "content": {"application/json": {"schema": {"type": "array", "items": schema_ref(name)}}},
    })
}

fn one(name: &str, description: &str) -> Value {
    json!({"description": description, "content": {"application/json": {"schema": schema_ref(name)}}})
}

fn redirect(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {"Location": {"required": true, "schema": {"type": "string"}, "description": "A presigned S3 URL."}},
    })
}

fn bytes(content_type: &str, description: &str) -> Value {
    json!({"description": description, "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}})
}

struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    query: Vec<Value>,
    body: Option<Value>,
    ok: Vec<(u16, Value)>,
    /// Error statuses this operation may answer besides the ones every route can.
    errors: &'static [u16],
}

fn op(method: &'static str, path: &'static str, summary: &'static str) -> Op {
    Op { method, path, summary, query: Vec::new(), body: None, ok: Vec::new(), errors: &[] }
}

impl Op {
    fn query(mut self, q: Vec<Value>) -> Self {
        self.query = q;
        self
    }
    fn body(mut self, schema: Value) -> Self {
        self.body = Some(json!({"required": true, "content": {"application/json": {"schema": schema}}}));
        self
    }
    /// A JSON body every field of which is optional: it may be left out altogether.
    fn optional_body(mut self, schema: Value) -> Self {
        self.body = Some(json!({"required": false, "content": {"application/json": {"schema": schema}}}));
        self
    }
    fn raw_body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    fn ok(mut self, status: u16, response: Value) -> Self {
        self.ok.push((status, response));
        self
    }
    fn errors(mut self, errors: &'static [u16]) -> Self {
        self.errors = errors;
        self
    }

    fn to_json(&self) -> Value {
        let mut params: Vec<Value> = path_params(self.path).into_iter().map(|p| param(&p)).collect();
        params.extend(self.query.iter().cloned());
        let mut responses = Map::new();
        for (status, r) in &self.ok {
            responses.insert(status.to_string(), r.clone());
        }
        // What any route may answer: bad input, no or a refused token, too little right,
        // a project the caller cannot see, too many refused tokens, Redis or S3 down.
        let common: [(u16, &str); 6] = [
            (400, "Invalid input: `{\"error\": \"<field> is invalid\"}` or `{\"message\": ...}`."),
            (401, "No token, or one that is unknown, expired or revoked."),
            (403, "The token's role or scope is not enough."),
            (404, "No such project (or one the caller cannot see), or no such resource."),
            (429, "Too many refused authentications from this client (gateway); see `Retry-After`."),
            (503, "Redis or S3 is unreachable; retry later."),
        ];
        for (status, text) in common {
            responses.insert(status.to_string(), error(text));
        }
        for status in self.errors {
            let text = match status {
                405 => "Method not allowed.",
                409 => "Conflicts with the current state.",
                413 => "Larger than the configured limit.",
                416 => "Range not satisfiable.",
                _ => "Refused.",
            };
            responses.insert(status.to_string(), error(text));
        }
        let mut o = json!({
            "operationId": operation_id(self.method, self.path),
            "summary": self.summary,
            "parameters": params,
            "responses": responses,
        });
        if let Some(body) = &self.body {
            o["requestBody"] = body.clone();
        }
        o
    }
}

fn path_params(path: &str) -> Vec<String> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}').map(str::to_owned)).collect()
}

fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for seg in path.trim_start_matches("/api/v4/").split('/') {
        let seg = seg.trim_start_matches('{').trim_end_matches('}');
        id.push('_');
        id.push_str(seg);
    }
    id
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

/// A request body: like [`object`], and an optional field may also be `null`, which
/// counts as not given (as GitLab's API takes it).
fn input(required: &[&str], properties: Value) -> Value {
    let mut properties = properties;
    if let Some(map) = properties.as_object_mut() {
        for (name, schema) in map.iter_mut() {
            if !required.contains(&name.as_str()) {
                *schema = json!({"anyOf": [schema.clone(), {"type": "null"}]});
            }
        }
    }
    object(required, properties)
}

fn schemas() -> Value {
    let string = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let time = json!({"type": "string", "format": "date-time"});
    let opt_time = json!({"type": ["string", "null"], "format": "date-time"});
    let opt_string = json!({"type": ["string", "null"]});
    json!({
        "Error": {
            "type": "object",
            "description": "GitLab's error shapes: `message` for most, `error` for invalid fields.",
            "properties": {"message": string, "error": string},
            "anyOf": [{"required": ["message"]}, {"required": ["error"]}],
        },
        "Message": object(&["message"], json!({"message": string})),
        "User": object(&["id", "username", "is_admin"], json!({
            "id": int, "username": string, "name": string, "email": opt_string, "state": string,
            "is_admin": {"type": "boolean"}, "created_at": time,
        })),
        "Member": object(&["id", "username", "access_level"], json!({"id": int, "username": string, "access_level": int})),
        "PersonalAccessToken": object(&["id", "name", "user_id", "scopes", "revoked", "active", "created_at"], json!({
            "id": int, "name": string, "user_id": int, "scopes": {"type": "array", "items": string},
            "revoked": {"type": "boolean"}, "active": {"type": "boolean"}, "created_at": time,
            "expires_at": opt_string, "token": {"type": "string", "description": "Only in the answer that creates it."},
        })),
        "DeployToken": object(&["id", "name", "username", "scopes", "revoked", "expired"], json!({
            "id": int, "name": string, "username": string, "scopes": {"type": "array", "items": string},
            "revoked": {"type": "boolean"}, "expired": {"type": "boolean"}, "expires_at": opt_time,
            "token": {"type": "string", "description": "Only in the answer that creates it."},
        })),
        "Project": object(&["id", "name", "path", "path_with_namespace", "visibility", "created_at"], json!({
            "id": int, "name": string, "path": string, "path_with_namespace": string, "name_with_namespace": string,
            "namespace": {"type": "object"}, "visibility": {"enum": ["private", "public"]}, "created_at": time,
            "permissions": {"type": "object", "description": "The caller's own access level (in single-project answers)."},
        })),
        "Pipeline": object(&["id", "project_id", "ref", "status", "created_at"], json!({
            "id": int, "project_id": int, "ref": string, "sha": opt_string,
            "parent_pipeline_id": {"type": ["integer", "null"]}, "status": string, "created_at": time,
        })),
        "Job": object(&["id", "name", "ref", "pipeline_id", "status", "created_at"], json!({
            "id": int, "name": string, "stage": opt_string, "ref": string, "pipeline_id": int,
            "pipeline": {"type": "object"}, "status": string, "created_at": time,
            "token": {"type": "string", "description": "The job token; only when the job is created."},
            "artifacts_file": {"type": "object"}, "artifacts": {"type": "array"}, "artifacts_expire_at": opt_time,
        })),
        "Package": object(&["id", "name", "version", "package_type", "status", "created_at"], json!({
            "id": int, "name": string, "version": string, "package_type": {"const": "generic"}, "status": string,
            "created_at": time, "updated_at": time, "pushed_by": opt_string, "description": opt_string,
            "size": int, "file_name": opt_string, "md5": opt_string, "download_count": int,
            "last_downloaded_at": opt_time, "disabled": {"type": "boolean"},
            "metadata": {"type": "object", "additionalProperties": string},
            "recycled_at": opt_time, "recycled_by": opt_string,
        })),
        "PackageFile": object(&["id", "package_id", "size", "file_name", "file_md5", "file_sha1", "file_sha256"], json!({
            "id": int, "package_id": int, "created_at": time, "updated_at": time, "size": int,
            "file_store": int, "file_md5": string, "file_sha1": string, "file_sha256": string, "file_name": string,
            "file": {"type": "object", "properties": {"url": string}},
        })),
        "PackageSettings": {"type": "object", "properties": {
            "generic_duplicates_allowed": {"type": "boolean"},
            "generic_duplicate_exception_regex": opt_string,
            "keep_n_duplicated_package_files": {"enum": ["1", "10", "20", "30", "40", "50", "all"]},
            "delete_versions_not_downloaded_for_days": {"type": ["integer", "null"]},
        }},
        "Metadata": {"type": "object", "additionalProperties": string},
        "ArchiveEntry": object(&["path", "size", "compressed_size", "is_dir"], json!({
            "path": string, "size": int, "compressed_size": int, "is_dir": {"type": "boolean"},
        })),
        "Event": object(&["created_at", "author", "action"], json!({
            "created_at": time, "author": string, "action": string, "package_id": {"type": ["integer", "null"]},
            "package_name": opt_string, "package_version": opt_string, "details": {},
        })),
    })
}

fn operations() -> Vec<Op> {
    let string = json!({"type": "string"});
    let bool_ = json!({"type": "boolean"});
    // Users, project paths, namespaces.
    let slug = json!({"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[A-Za-z0-9_][A-Za-z0-9_.-]*$"});
    let scopes = json!({"type": "array", "items": {"type": "string"}, "minItems": 1});
    let status_change = input(&["status"], json!({"status": {"enum": ["success", "failed", "canceled"]}}));
    let package_list_query = {
        let mut q = pagination();
        q.extend([
            query("package_type", json!({"enum": ["generic"]}), "Only `generic` exists."),
            query("package_name", string.clone(), "Packages whose name contains this."),
            query("package_version", string.clone(), "One version."),
            query("order_by", json!({"enum": ["created_at", "name", "version"]}), "Sort key."),
            query("sort", json!({"enum": ["asc", "desc"]}), "Sort direction."),
        ]);
        q
    };
    vec![
        op("get", "/api/v4/openapi.json", "This description.").ok(200, json!({"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}})),
        op("post", "/api/v4/session", "Sign in to the web console: the token is kept in an HttpOnly, SameSite=Strict cookie.")
            .body(input(&["token"], json!({"token": {"type": "string", "minLength": 1}})))
            .ok(201, one("User", "Signed in; `Set-Cookie` carries the session and the CSRF cookie.")),
        op("delete", "/api/v4/session", "Sign out of the web console.").ok(204, json!({"description": "The cookies are cleared."})),
        op("get", "/api/v4/user", "Who the token or console session belongs to.").ok(200, one("User", "The user.")),
        op("post", "/api/v4/users", "Create a user (administrator).")
            .body(input(&["username"], json!({"username": slug, "email": {"type": "string", "format": "email"}, "admin": bool_})))
            .ok(201, one("User", "The user."))
            .errors(&[409]),
        op("post", "/api/v4/users/{user_id}/personal_access_tokens", "Create a personal access token (administrator).")
            .body(input(&["name", "scopes"], json!({"name": string, "scopes": scopes, "expires_at": {"type": "string", "format": "date"}})))
            .ok(201, one("PersonalAccessToken", "The token, with its secret this once.")),
        op("delete", "/api/v4/personal_access_tokens/{token_id}", "Revoke a personal access token.")
            .ok(204, json!({"description": "Revoked."})),
        op("get", "/api/v4/projects", "Projects the caller can see.").query(pagination()).ok(200, list_of("Project")),
        op("post", "/api/v4/projects", "Create a project.")
            .body(input(&["name"], json!({"name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^(?=.*\\S)[^\\u0000-\\u001f\\u007f]+$"}, "path": slug, "namespace": slug, "visibility": {"enum": ["private", "public"]}})))
            .ok(201, one("Project", "The project."))
            .errors(&[409]),
        op("get", "/api/v4/projects/{id}", "One project.").ok(200, one("Project", "The project.")),
        op("post", "/api/v4/projects/{id}/members", "Add a member with a GitLab access level.")
            .body(input(&["user_id", "access_level"], json!({"user_id": {"type": "integer"}, "access_level": {"enum": [10, 20, 30, 40, 50]}})))
            .ok(201, one("Member", "The member."))
            .errors(&[409]),
        op("post", "/api/v4/projects/{id}/deploy_tokens", "Create a deploy token.")
            .body(input(&["name", "scopes"], json!({"name": string, "scopes": scopes, "expires_at": string, "username": string})))
            .ok(201, one("DeployToken", "The token, with its secret this once.")),
        op("delete", "/api/v4/projects/{id}/deploy_tokens/{token_id}", "Revoke a deploy token.").ok(204, json!({"description": "Revoked."})),
        op("get", "/api/v4/projects/{id}/job_token_scope/allowlist", "The projects whose job tokens may read this one (maintainer).")
            .ok(200, json!({"description": "The allowlisted projects.", "content": {"application/json": {"schema": {"type": "array", "items": schema_ref("Project")}}}})),
        op("post", "/api/v4/projects/{id}/job_token_scope/allowlist", "Let the job tokens of another project read this one (maintainer).")
            .body(input(&["target_project_id"], json!({"target_project_id": {"type": "integer", "minimum": 1}})))
            .ok(201, json!({"description": "Added.", "content": {"application/json": {"schema": {"type": "object", "properties": {"source_project_id": {"type": "integer"}, "target_project_id": {"type": "integer"}}}}}}))
            .errors(&[409]),
        op("delete", "/api/v4/projects/{id}/job_token_scope/allowlist/{target_project_id}", "Take a project off the job-token allowlist (maintainer).")
            .ok(204, json!({"description": "Removed."})),
        op("post", "/api/v4/projects/{id}/pipelines", "Start a pipeline.")
            .body(input(&["ref"], json!({"ref": string, "sha": string, "parent_pipeline_id": {"type": "integer"}})))
            .ok(201, one("Pipeline", "The pipeline, running.")),
        op("put", "/api/v4/projects/{id}/pipelines/{pipeline_id}", "End a pipeline.")
            .body(status_change.clone())
            .ok(200, one("Pipeline", "The pipeline.")),
        op("post", "/api/v4/projects/{id}/pipelines/{pipeline_id}/jobs", "Start a job; its answer carries the job token.")
            .body(input(&["name"], json!({"name": string, "stage": string})))
            .ok(201, one("Job", "The job, running."))
            .errors(&[409]),
        op("put", "/api/v4/projects/{id}/jobs/{job_id}", "End a job; its token stops working.")
            .body(status_change)
            .ok(200, one("Job", "The job.")),
        op("put", "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{file_name}", "Publish a file (the body).")
            .query(vec![
                query("status", json!({"enum": ["default", "hidden"]}), "`hidden` keeps the package out of listings."),
                query("select", json!({"enum": ["package_file"]}), "Answer with the package file."),
            ])
            // An empty body is an empty file, which is valid.
            .raw_body(json!({"required": false, "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}))
            .ok(201, json!({"description": "Stored.", "content": {"application/json": {"schema": {"oneOf": [schema_ref("Message"), schema_ref("PackageFile")]}}}}))
            .errors(&[409, 413]),
        op("get", "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{file_name}", "Download a file.")
            .ok(302, redirect("To the bytes on S3 (the default)."))
            .ok(200, bytes("application/octet-stream", "The bytes, with `ARCA_PROXY_DOWNLOAD=true`."))
            .ok(206, bytes("application/octet-stream", "A range of them."))
            .ok(304, json!({"description": "Unchanged (If-None-Match)."}))
            .errors(&[416]),
        op("head", "/api/v4/projects/{id}/packages/generic/{package_name}/{package_version}/{file_name}", "A download's headers.")
            .ok(302, redirect("As GET, without a body."))
            .ok(200, json!({"description": "As GET, without a body."}))
            .ok(304, json!({"description": "Unchanged (If-None-Match)."})),
        op("get", "/api/v4/projects/{id}/packages", "Packages (one entry per version).").query(package_list_query).ok(200, list_of("Package")),
        op("get", "/api/v4/projects/{id}/packages/settings", "The project's package settings.").ok(200, one("PackageSettings", "The settings.")),
        op("put", "/api/v4/projects/{id}/packages/settings", "Change the project's package settings.")
            .optional_body(input(&[], json!({
                "generic_duplicates_allowed": bool_, "generic_duplicate_exception_regex": string,
                "keep_n_duplicated_package_files": {"enum": ["1", "10", "20", "30", "40", "50", "all"]},
                "delete_versions_not_downloaded_for_days": {"type": "integer", "minimum": 0},
            })))
            .ok(200, one("PackageSettings", "The settings.")),
        op("get", "/api/v4/projects/{id}/packages/{package_id}", "One version, with its details and metadata.").ok(200, one("Package", "The version.")),
        op("patch", "/api/v4/projects/{id}/packages/{package_id}", "Edit the description; disable or enable the version.")
            .optional_body(input(&[], json!({"description": string, "disabled": bool_})))
            .ok(200, one("Package", "The version.")),
        op("delete", "/api/v4/projects/{id}/packages/{package_id}", "Move the version to the recycle bin.").ok(204, json!({"description": "Recycled."})),
        op("get", "/api/v4/projects/{id}/packages/{package_id}/package_files", "The version's files, newest last.")
            .query(pagination())
            .ok(200, list_of("PackageFile")),
        op("delete", "/api/v4/projects/{id}/packages/{package_id}/package_files/{file_id}", "Delete one file.").ok(204, json!({"description": "Deleted."})),
        op("get", "/api/v4/projects/{id}/packages/{package_id}/metadata", "The version's custom metadata.").ok(200, one("Metadata", "Key/value pairs.")),
        op("put", "/api/v4/projects/{id}/packages/{package_id}/metadata/{key}", "Set one metadata entry.")
            .body(input(&["value"], json!({"value": {"type": "string", "maxLength": 4096}})))
            .ok(200, json!({"description": "The entry as stored.", "content": {"application/json": {"schema": object(&["key", "value"], json!({"key": string, "value": string}))}}})),
        op("delete", "/api/v4/projects/{id}/packages/{package_id}/metadata/{key}", "Delete one metadata entry.").ok(204, json!({"description": "Deleted."})),
        op("post", "/api/v4/projects/{id}/packages/{package_id}/restore", "Restore a recycled version.")
            .ok(200, one("Package", "The version, back."))
            .errors(&[409]),
        op("get", "/api/v4/projects/{id}/packages/recycle_bin", "Recycled versions.").query(pagination()).ok(200, list_of("Package")),
        op("delete", "/api/v4/projects/{id}/packages/recycle_bin/{package_id}", "Delete a recycled version for good.").ok(204, json!({"description": "Purged; the worker removes its blobs."})),
        op("get", "/api/v4/projects/{id}/packages/events", "The audit trail of version management.").query(pagination()).ok(200, list_of("Event")),
        op("post", "/api/v4/jobs/{job_id}/artifacts", "Upload the job's artifacts archive (JOB-TOKEN).")
            .query(vec![
                query("expire_in", string.clone(), "`30 mins`, `1 week`, `never`, ..."),
                query("artifact_format", json!({"enum": ["zip"]}), "Only zip."),
                query("artifact_type", json!({"enum": ["archive"]}), "Only the archive."),
            ])
            .raw_body(json!({"required": true, "content": {
                "application/zip": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {"schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}, "required": ["file"]}},
            }}))
            .ok(201, one("Job", "The job, with its artifacts."))
            .errors(&[413]),
        op("get", "/api/v4/projects/{id}/jobs", "The project's jobs that have artifacts, newest first.").query(pagination()).ok(200, list_of("Job")),
        op("get", "/api/v4/projects/{id}/jobs/{job_id}/artifacts_entries", "The entries of the job's archive, from its central directory.")
            .query(pagination())
            .ok(200, list_of("ArchiveEntry")),
        op("get", "/api/v4/projects/{id}/jobs/{job_id}/artifacts", "Download the job's archive.").ok(302, redirect("To the zip on S3.")),
        op("delete", "/api/v4/projects/{id}/jobs/{job_id}/artifacts", "Delete the job's artifacts.").ok(204, json!({"description": "Deleted."})),
        op("post", "/api/v4/projects/{id}/jobs/{job_id}/artifacts/keep", "Keep the artifacts from expiring.").ok(200, one("Job", "The job.")),
        op("get", "/api/v4/projects/{id}/jobs/{job_id}/artifacts/{artifact_path}", "One file from inside the job's archive.")
            .ok(200, bytes("application/octet-stream", "The file, read from S3 with range requests.")),
        op("get", "/api/v4/projects/{id}/jobs/artifacts/{ref_name}/download", "The archive of the named job of the ref's latest successful pipeline.")
            .query(vec![json!({"name": "job", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1}})])
            .ok(302, redirect("To the zip on S3.")),
        op("get", "/api/v4/projects/{id}/jobs/artifacts/{ref_name}/raw/{artifact_path}", "One file from that archive, as text/plain.")
            .query(vec![json!({"name": "job", "in": "query", "required": true, "schema": {"type": "string", "minLength": 1}})])
            .ok(200, bytes("text/plain", "The file.")),
        op("delete", "/api/v4/projects/{id}/artifacts", "Expire every artifact of the project but the latest successful pipeline's.")
            .ok(202, one("Message", "Accepted; the cleanup worker deletes them.")),
    ]
}

/// The whole description.
pub fn document() -> Value {
    let mut paths = Map::new();
    for op in operations() {
        let entry = paths.entry(op.path.to_owned()).or_insert_with(|| json!({}));
        entry[op.method] = op.to_json();
    }
    let token = |name: &str, location: &str, description: &str| json!({"type": "apiKey", "name": name, "in": location, "description": description});
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "arca",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "A self-hosted generic artifact registry: GitLab's Generic Packages and Job Artifacts APIs, with version management.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "PrivateToken": token("PRIVATE-TOKEN", "header", "A personal access token."),
                "JobToken": token("JOB-TOKEN", "header", "A running job's token."),
                "DeployToken": token("DEPLOY-TOKEN", "header", "A deploy token."),
                "PrivateTokenQuery": token("private_token", "query", "A personal access token."),
                "JobTokenQuery": token("job_token", "query", "A running job's token."),
                "Bearer": {"type": "http", "scheme": "bearer"},
                "Basic": {"type": "http", "scheme": "basic", "description": "Any user name, the token as password."},
            },
        },
        // Anonymous requests reach public projects.
        "security": [{}, {"PrivateToken": []}, {"JobToken": []}, {"DeployToken": []}, {"PrivateTokenQuery": []}, {"JobTokenQuery": []}, {"Bearer": []}, {"Basic": []}],
    })
}

/// `METHOD path` for every operation, paths as written in the description.
pub fn operation_keys() -> Vec<String> {
    operations().iter().map(|o| format!("{} {}", o.method.to_uppercase(), o.path)).collect()
}

/// `GET /api/v4/openapi.json`: the description (built once; it does not change).
pub(crate) async fn serve() -> axum::Json<&'static Value> {
    static DOCUMENT: std::sync::LazyLock<Value> = std::sync::LazyLock::new(document);
    axum::Json(&DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_is_unique_and_its_path_parameters_are_declared() {
        let keys = operation_keys();
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), keys.len(), "an operation is described twice");
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, o) in item.as_object().expect("path item") {
                let declared: Vec<&str> = o["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                assert_eq!(declared, path_params(path), "{method} {path}");
            }
        }
    }
}
