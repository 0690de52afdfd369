//! The OpenAPI 3.1 description of arca's public API, served at `GET /api/v4/openapi.json`.
//!
//! It is generated from the code that serves the API: each handler's `#[utoipa::path]`
//! (method, path, query parameters, body, answers) and the view and input types it uses
//! (`views`, the `New*` bodies), collected route by route by utoipa-axum as the router is
//! built. What every operation shares is added here once: the path parameters with the
//! limits the validators enforce, the errors any route may answer, the token schemes and
//! unique operation ids.

use std::sync::LazyLock;

use arca_shared::validate;
use serde_json::{Map, Value, json};

/// A path parameter: its schema (the limits `validate` enforces), description and example.
fn path_parameter(name: &str) -> Value {
    let (schema, description, example) = match name {
        "id" => (
            json!({"type": "string", "minLength": 1, "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"}),
            "The project's numeric id or URL-encoded path (`group%2Fproject`).",
            json!("1"),
        ),
        "package_name" => (
            json!({"type": "string", "minLength": 1, "maxLength": validate::MAX_NAME, "pattern": validate::PACKAGE_NAME_PATTERN}),
            "Letters, digits, `.`, `-`, `_`, `+`.",
            json!("tool"),
        ),
        "package_version" => (
            json!({"type": "string", "minLength": 1, "maxLength": validate::MAX_NAME, "pattern": validate::PACKAGE_VERSION_PATTERN}),
            "As GitLab: `\\A(\\.?[\\w\\+-]+\\.?)+\\z`, no `..`.",
            json!("1.0.0"),
        ),
        "file_name" => (
            json!({"type": "string", "minLength": 1, "maxLength": validate::MAX_FILE_NAME, "pattern": validate::FILE_NAME_PATTERN}),
            "One or more `/`-separated segments of package-name characters.",
            json!("tool.bin"),
        ),
        "artifact_path" => (
            json!({"type": "string", "minLength": 1, "maxLength": validate::MAX_ARTIFACT_PATH, "pattern": validate::ARTIFACT_PATH_PATTERN}),
            "A path inside the job's archive.",
            json!("docs/readme.txt"),
        ),
        "ref_name" => (json!({"type": "string", "minLength": 1}), "A branch or tag.", json!("main")),
        "token" => (
            json!({"type": "string", "pattern": "^arca-share-[A-Za-z0-9]{32}$"}),
            "A share link's secret, from the `url` its creation answered.",
            json!("arca-share-0123456789abcdefABCDEF0123456789"),
        ),
        "key" => (
            json!({"type": "string", "minLength": 1, "maxLength": validate::MAX_METADATA_KEY, "pattern": validate::METADATA_KEY_PATTERN}),
            "A metadata key: letters, digits, `.`, `_`, `-`, `:`.",
            json!("channel"),
        ),
        _ => (json!({"type": "integer", "minimum": 1}), "A numeric id.", json!(1)),
    };
    json!({"name": name, "in": "path", "required": true, "schema": schema, "description": description, "example": example})
}

/// What any operation may answer: bad input, no or a refused token, too little right, a
/// project the caller cannot see, too many refused tokens (gateway), Redis or S3 down.
const COMMON_ERRORS: [(u16, &str); 6] = [
    (400, "Invalid input: `{\"error\": \"<field> is invalid\"}` or `{\"message\": ...}`."),
    (401, "No token, or one that is unknown, expired or revoked."),
    (403, "The token's role or scope is not enough."),
    (404, "No such project (or one the caller cannot see), or no such resource."),
    (429, "Too many refused authentications from this client (gateway); see `Retry-After`."),
    (503, "Redis or S3 is unreachable; retry later."),
];

fn path_parameters(path: &str) -> Vec<String> {
    path.split('/').filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}').map(str::to_owned)).collect()
}

/// `get_projects_id_packages`: unique, and stable as long as the route is.
fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_owned();
    for seg in path.trim_start_matches("/api/v4/").split('/') {
        id.push('_');
        id.push_str(seg.trim_start_matches('{').trim_end_matches('}'));
    }
    id
}

const METHODS: [&str; 6] = ["get", "head", "post", "put", "patch", "delete"];

/// The whole description.
pub fn document() -> Value {
    let (_, generated) = crate::routes().split_for_parts();
    let mut doc = serde_json::to_value(&generated).unwrap_or_default();
    let error = json!({"$ref": "#/components/schemas/Error"});
    let mut paths = Map::new();
    for (route, item) in doc["paths"].as_object().cloned().unwrap_or_default() {
        // axum's catch-all `{*file_name}` is OpenAPI's `{file_name}`.
        let path = route.replace("{*", "{");
        let mut item = item;
        for method in METHODS {
            let Some(op) = item.get_mut(method) else { continue };
            op["operationId"] = json!(operation_id(method, &path));
            let mut parameters: Vec<Value> = path_parameters(&path).iter().map(|p| path_parameter(p)).collect();
            if matches!(method, "get" | "head") && path.contains("/packages/generic/") {
                // Reads also take `@latest` for the version.
                for p in parameters.iter_mut().filter(|p| p["name"] == "package_version") {
                    let version = p["schema"].take();
                    p["schema"] = json!({"anyOf": [{"type": "string", "enum": ["@latest"]}, version]});
                    p["description"] = json!(
                        "As GitLab: `\\A(\\.?[\\w\\+-]+\\.?)+\\z`, no `..`; or `@latest`, the newest version that is not hidden, disabled or recycled."
                    );
                }
            }
            if let Some(given) = op.get("parameters").and_then(Value::as_array) {
                parameters.extend(given.iter().filter(|p| p["in"] != "path").cloned());
            }
            op["parameters"] = json!(parameters);
            let responses = op["responses"].as_object_mut().expect("utoipa writes responses");
            for (status, description) in COMMON_ERRORS {
                responses.entry(status.to_string()).or_insert_with(
                    || json!({"description": description, "content": {"application/json": {"schema": error}}}),
                );
            }
            if method == "head" {
                // A HEAD answer has the headers of GET and no body.
                for answer in responses.values_mut() {
                    if let Some(a) = answer.as_object_mut() {
                        a.remove("content");
                    }
                }
            }
        }
        paths.insert(path, item);
    }
    doc["paths"] = Value::Object(paths);
    doc["openapi"] = json!("3.1.0");
    doc["info"] = json!({
        "title": "arca",
        "version": env!("CARGO_PKG_VERSION"),
        "description": "A self-hosted generic artifact registry: GitLab's Generic Packages and Job Artifacts APIs, \
                        with version management.",
    });
    let token = |name: &str, location: &str, description: &str| json!({"type": "apiKey", "name": name, "in": location, "description": description});
    doc["components"]["securitySchemes"] = json!({
        "PrivateToken": token("PRIVATE-TOKEN", "header", "A personal access token."),
        "JobToken": token("JOB-TOKEN", "header", "A running job's token."),
        "DeployToken": token("DEPLOY-TOKEN", "header", "A deploy token."),
        "PrivateTokenQuery": token("private_token", "query", "A personal access token."),
        "JobTokenQuery": token("job_token", "query", "A running job's token."),
        "Bearer": {"type": "http", "scheme": "bearer"},
        "Basic": {"type": "http", "scheme": "basic", "description": "Any user name, the token as password."},
    });
    // Anonymous requests reach public projects.
    doc["security"] = json!([
        {}, {"PrivateToken": []}, {"JobToken": []}, {"DeployToken": []}, {"PrivateTokenQuery": []},
        {"JobTokenQuery": []}, {"Bearer": []}, {"Basic": []}
    ]);
    doc
}

/// `METHOD path` for every operation, paths as written in the description.
pub fn operation_keys() -> Vec<String> {
    let doc = document();
    let mut keys = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            if item.get(method).is_some() {
                keys.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    keys
}

#[utoipa::path(
    get, path = "/api/v4/openapi.json", tag = "meta",
    responses((status = 200, description = "This description (OpenAPI 3.1).", body = Object))
)]
/// This description.
pub(crate) async fn serve() -> axum::Json<&'static Value> {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(document);
    axum::Json(&DOCUMENT)
}

/// `docs/API.md`: the description as a table a person reads, route by route, grouped by
/// resource. Generated; a test keeps the file equal to it.
pub fn markdown() -> String {
    let doc = document();
    let mut out = String::from(
        "# arca API\n\n\
         Generated from the OpenAPI description that arca serves at `GET /api/v4/openapi.json` \
         (itself generated from the handlers, `api/src/`); regenerate with \
         `ARCA_WRITE_API_MD=1 cargo test -p arca-api api_md`. Parameters, bodies and answers \
         are in the description.\n\n\
         Tokens travel as GitLab's do: `PRIVATE-TOKEN`, `JOB-TOKEN`, `DEPLOY-TOKEN`, \
         `Authorization: Bearer`, HTTP Basic with the token as password, or `?private_token=` / \
         `?job_token=`. Who may do what is the table in [SECURITY.md](SECURITY.md). Every route \
         may also answer 400 (invalid input), 401, 403, 404, 429 (too many refused tokens) and \
         503 (Redis or S3 unreachable), with GitLab's JSON error shapes.\n",
    );
    let mut by_tag: std::collections::BTreeMap<String, Vec<(String, String, String)>> = Default::default();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
            let summary = op["summary"].as_str().unwrap_or("").split_whitespace().collect::<Vec<_>>().join(" ");
            let statuses: Vec<&str> = op["responses"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(status, _)| status.as_str())
                .filter(|s| !COMMON_ERRORS.iter().any(|(c, _)| c.to_string() == *s))
                .collect();
            let what = format!("{summary} ({})", statuses.join(", "));
            by_tag.entry(tag).or_default().push((method.to_uppercase(), path.clone(), what));
        }
    }
    for (tag, ops) in by_tag {
        out.push_str(&format!("\n## {tag}\n\n| method | path | what it does (answers) |\n| --- | --- | --- |\n"));
        for (method, path, what) in ops {
            out.push_str(&format!("| `{method}` | `{path}` | {} |\n", what.replace('|', "\\|")));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_unique_id_its_path_parameters_and_the_common_errors() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let mut ids = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            assert!(!path.contains('*'), "{path}");
            for method in METHODS {
                let Some(op) = item.get(method) else { continue };
                ids.push(op["operationId"].as_str().expect("operationId").to_owned());
                let declared: Vec<&str> = op["parameters"]
                    .as_array()
                    .expect("parameters")
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .filter_map(|p| p["name"].as_str())
                    .collect();
                assert_eq!(declared, path_parameters(path), "{method} {path}");
                for (status, _) in COMMON_ERRORS {
                    assert!(op["responses"].get(status.to_string()).is_some(), "{method} {path}: {status}");
                }
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        assert!(count > 40, "{count} operations");
    }

    #[test]
    fn the_views_are_described_from_their_types() {
        let doc = document();
        let user = &doc["components"]["schemas"]["User"];
        assert_eq!(user["properties"]["username"]["type"], "string", "{user}");
        assert!(doc["components"]["schemas"]["PackageFile"]["required"].as_array().is_some_and(|r| r.len() > 10));
    }

    /// `docs/COMPATIBILITY.md` names every route arca serves (as GitLab's, or as arca's
    /// own), and no route it does not serve.
    #[test]
    fn compatibility_md_lists_every_route() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/COMPATIBILITY.md");
        let text = std::fs::read_to_string(&file).expect("docs/COMPATIBILITY.md");
        let doc = document();
        let mut served = std::collections::BTreeSet::new();
        for (path, item) in doc["paths"].as_object().into_iter().flatten() {
            for method in METHODS.iter().filter(|m| item.get(**m).is_some()) {
                served.insert(format!("{} {}", method.to_uppercase(), path.trim_start_matches("/api/v4")));
            }
        }
        let listed: std::collections::BTreeSet<String> = text
            .lines()
            .filter_map(|l| l.strip_prefix("| `"))
            .filter_map(|l| l.split_once('`').map(|(route, _)| route.to_owned()))
            .filter(|r| METHODS.iter().any(|m| r.starts_with(&format!("{} /", m.to_uppercase()))))
            .collect();
        let missing: Vec<_> = served.difference(&listed).collect();
        let extra: Vec<_> = listed.difference(&served).collect();
        assert!(missing.is_empty() && extra.is_empty(), "COMPATIBILITY.md misses {missing:?} and lists {extra:?}");
    }

    /// `docs/API.md` is the description rendered; `ARCA_WRITE_API_MD=1` rewrites it.
    #[test]
    fn api_md_is_the_description_rendered() {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/API.md");
        let rendered = markdown();
        if std::env::var_os("ARCA_WRITE_API_MD").is_some() {
            std::fs::write(&file, &rendered).expect("write docs/API.md");
        }
        let on_disk = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(on_disk == rendered, "docs/API.md is stale: ARCA_WRITE_API_MD=1 cargo test -p arca-api api_md");
    }
}
