// arca's web console: a small script over the same JSON API curl uses. The session is an
// HttpOnly cookie set by POST /api/v4/session; every change echoes the CSRF cookie in
// X-CSRF-Token. The DOM is built with textContent only: nothing from the API is parsed as
// HTML.

const API = "/api/v4";
const main = document.getElementById("main");
const who = document.getElementById("who");
let me = null;

// ---------- helpers ----------

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function csrf() {
  const m = document.cookie.match(/(?:^|;\s*)arca_csrf=([^;]+)/);
  return m ? m[1] : "";
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(method, path, body) {
  // X-Requested-With keeps a 401 from carrying WWW-Authenticate (no browser login box).
  const headers = { Accept: "application/json", "X-Requested-With": "arca-console" };
  if (method !== "GET") headers["X-CSRF-Token"] = csrf();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(API + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  const text = await resp.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!resp.ok) {
    const msg = (data && (data.message || data.error)) || `${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, msg);
  }
  return { data, headers: resp.headers };
}

function toast(message) {
  const t = document.getElementById("toast");
  t.textContent = message;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 4000);
}

function size(n) {
  if (n === null || n === undefined) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

function when(t) {
  return t ? new Date(t).toLocaleString() : "—";
}

function enc(s) {
  return encodeURIComponent(s);
}

// A file path keeps its slashes in the URL; each segment is encoded.
function encPath(p) {
  return p.split("/").map(encodeURIComponent).join("/");
}

function level(project) {
  return (project.permissions && project.permissions.project_access && project.permissions.project_access.access_level) || 0;
}

function copyable(label, command) {
  const pre = h("pre", {}, command);
  return h("div", { class: "curl" },
    h("div", { class: "row spread" },
      h("span", { class: "muted" }, label),
      h("button", {
        type: "button",
        onclick: async () => {
          try { await navigator.clipboard.writeText(command); toast("Copied"); } catch { toast("Select the command to copy it"); }
        },
      }, "Copy")),
    pre);
}

function page(title, ...children) {
  document.title = `${title} · arca`;
  main.replaceChildren(h("h1", {}, title), ...children);
  main.focus();
}

function failed(e) {
  if (e instanceof ApiError && e.status === 401) {
    me = null;
    location.hash = "#/";
    return;
  }
  page("Something went wrong", h("p", { role: "alert" }, e.message), h("a", { href: "#/" }, "Back to projects"));
}

// ---------- session ----------

function header() {
  who.replaceChildren();
  if (!me) return;
  who.append(
    h("span", { class: "muted" }, "Signed in as ", h("strong", {}, me.username)),
    h("button", {
      type: "button",
      onclick: async () => {
        await api("DELETE", "/session");
        me = null;
        location.hash = "#/";
        route();
      },
    }, "Sign out"));
}

function signIn(message) {
  const input = h("input", { id: "token", name: "token", type: "password", autocomplete: "off", required: true });
  const error = h("p", { role: "alert", class: "muted" }, message || "");
  const form = h("form", {
    class: "card",
    onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const { data } = await api("POST", "/session", { token: input.value });
        me = data;
        input.value = "";
        route();
      } catch (e) {
        error.textContent = e.status === 401 ? "That token is not valid." : e.message;
      }
    },
  },
  h("label", { for: "token" }, "Personal access token"),
  input,
  h("p", { class: "muted" }, "The token opens a session; this browser keeps only its id, in an HttpOnly cookie."),
  h("button", { class: "primary", type: "submit" }, "Sign in"),
  error);
  page("Sign in to arca", form);
  input.focus();
}

// ---------- pages ----------

async function projects() {
  const { data } = await api("GET", "/projects?per_page=100");
  const rows = data.map((p) => h("tr", {},
    h("td", {}, h("a", { href: `#/p/${p.id}` }, p.path_with_namespace)),
    h("td", {}, p.visibility),
    h("td", { class: "wide" }, when(p.created_at))));
  page("Projects",
    data.length
      ? h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Project"), h("th", {}, "Visibility"), h("th", { class: "wide" }, "Created"))),
        h("tbody", {}, rows)))
      : h("p", { class: "muted" }, "No projects you can see yet."));
}

function tabs(project, current) {
  const tab = (name, href) => h("a", { href, "aria-current": current === name ? "page" : null }, name);
  return h("nav", { class: "tabs", "aria-label": "Project" },
    tab("Artifacts", `#/p/${project.id}`),
    level(project) >= 40 ? tab("Recycle bin", `#/p/${project.id}/bin`) : null,
    tab("Job artifacts", `#/p/${project.id}/jobs`),
    level(project) >= 40 ? tab("Settings", `#/p/${project.id}/settings`) : null);
}

// Packages grouped by name: the latest version of each, its size and last push.
async function artifacts(id) {
  const { data: project } = await api("GET", `/projects/${enc(id)}`);
  const { data: versions } = await api("GET", `/projects/${enc(id)}/packages?per_page=100&order_by=created_at&sort=desc`);
  const latest = new Map();
  for (const v of versions) if (!latest.has(v.name)) latest.set(v.name, { ...v, count: 0 });
  for (const v of versions) latest.get(v.name).count++;
  const search = h("input", { id: "search", type: "search", placeholder: "Filter by name" });
  const tbody = h("tbody");
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    tbody.replaceChildren(...[...latest.values()].filter((p) => p.name.toLowerCase().includes(q)).map((p) => h("tr", {},
      h("td", {}, h("a", { href: `#/p/${project.id}/pkg/${enc(p.name)}` }, p.name)),
      h("td", {}, p.version, p.disabled ? h("span", { class: "badge" }, " disabled") : null),
      h("td", {}, size(p.size)),
      h("td", { class: "wide" }, `${p.pushed_by || "—"}, ${when(p.created_at)}`),
      h("td", { class: "wide" }, String(p.count)))));
    if (!tbody.children.length) tbody.append(h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No artifacts.")));
  };
  search.addEventListener("input", draw);
  draw();
  const canWrite = level(project) >= 30;
  page(project.path_with_namespace,
    tabs(project, "Artifacts"),
    h("div", { class: "row spread" },
      h("div", {}, h("label", { for: "search" }, "Search"), search),
      canWrite ? h("button", { class: "primary", type: "button", onclick: () => uploadDialog(project) }, "Upload artifact") : null),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Latest version"), h("th", {}, "Size"),
        h("th", { class: "wide" }, "Last push"), h("th", { class: "wide" }, "Versions"))),
      tbody)),
    copyable("Upload with curl", `curl --header "PRIVATE-TOKEN: <your token>" --upload-file ./file.tar.gz "${location.origin}${API}/projects/${project.id}/packages/generic/<name>/<version>/file.tar.gz"`));
}

// The upload streams the File from disk (XMLHttpRequest sends it as it reads it) and
// shows its progress.
function uploadDialog(project) {
  const field = (id, label, attrs = {}) => [h("label", { for: id }, label), h("input", { id, name: id, ...attrs })];
  const [nameLabel, name] = field("up-name", "Package name", { required: true, pattern: "[A-Za-z0-9._+\\-]+" });
  const [versionLabel, version] = field("up-version", "Version", { required: true });
  const [pathLabel, path] = field("up-path", "File path (optional; the file's name by default)", { placeholder: "linux/amd64/tool.tar.gz" });
  const [fileLabel, file] = field("up-file", "File", { type: "file", required: true });
  const [descLabel, desc] = field("up-desc", "Description (optional)");
  const progress = h("progress", { max: 100, value: 0, hidden: true, "aria-label": "Upload progress" });
  const status = h("p", { role: "status", class: "muted" });
  const dialog = h("dialog", { "aria-labelledby": "up-title" });
  const form = h("form", {
    onsubmit: (ev) => {
      ev.preventDefault();
      const f = file.files[0];
      if (!f) return;
      const target = path.value.trim() || f.name;
      const query = new URLSearchParams({ select: "package_file" });
      if (desc.value.trim()) query.set("description", desc.value.trim());
      const url = `${API}/projects/${project.id}/packages/generic/${enc(name.value.trim())}/${enc(version.value.trim())}/${encPath(target)}?${query}`;
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", url);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.setRequestHeader("X-Requested-With", "arca-console");
      progress.hidden = false;
      xhr.upload.onprogress = (e) => {
        if (e.lengthComputable) {
          progress.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = `${size(e.loaded)} of ${size(e.total)}`;
        }
      };
      xhr.onload = () => {
        if (xhr.status === 201) {
          dialog.close();
          dialog.remove();
          toast(`Uploaded ${target}`);
          route();
        } else {
          let msg = `${xhr.status}`;
          try { const d = JSON.parse(xhr.responseText); msg = d.message || d.error || msg; } catch { /* not JSON */ }
          status.textContent = `Upload failed: ${msg}`;
        }
      };
      xhr.onerror = () => { status.textContent = "Upload failed: the connection broke."; };
      xhr.send(f);
    },
  },
  h("h2", { id: "up-title" }, "Upload artifact"),
  nameLabel, name, versionLabel, version, pathLabel, path, fileLabel, file, descLabel, desc,
  progress, status,
  h("div", { class: "row" },
    h("button", { class: "primary", type: "submit" }, "Upload"),
    h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); } }, "Cancel")));
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  name.focus();
}

async function details(id, name, wanted, tab) {
  const { data: project } = await api("GET", `/projects/${enc(id)}`);
  const { data: all } = await api("GET", `/projects/${enc(id)}/packages?package_name=${enc(name)}&per_page=100&order_by=created_at&sort=desc`);
  const versions = all.filter((v) => v.name === name);
  if (!versions.length) throw new ApiError(404, "404 Package Not Found");
  const chosen = versions.find((v) => String(v.id) === wanted) || versions[0];
  const base = `/projects/${project.id}/packages/${chosen.id}`;
  const [{ data: pkg }, { data: files }] = await Promise.all([api("GET", base), api("GET", `${base}/package_files?per_page=100`)]);
  const lvl = level(project);
  const here = (v, t) => `#/p/${project.id}/pkg/${enc(name)}/${v}${t ? `/${t}` : ""}`;

  // What `@latest` serves: the version first published last that is not disabled (hidden
  // and recycled ones are not listed).
  const latest = versions.filter((v) => !v.disabled)
    .sort((a, b) => (b.created_at || "").localeCompare(a.created_at || "") || b.id - a.id)[0];
  const picker = h("select", { id: "version", onchange: (e) => { location.hash = here(e.target.value); } },
    versions.map((v) => h("option", { value: v.id, selected: v.id === chosen.id },
      v.version + (v.disabled ? " (disabled)" : "") + (latest && v.id === latest.id ? " (latest)" : ""))));
  const generic = (version, file) => `${API}/projects/${project.id}/packages/generic/${enc(pkg.name)}/${version}/${encPath(file)}`;
  const fileUrl = (f) => generic(enc(pkg.version), f.file_name);
  const newest = files[files.length - 1];
  const isLatest = latest && latest.id === pkg.id;

  const actions = h("div", { class: "row" },
    newest ? h("a", { class: "button primary", href: fileUrl(newest), download: "" }, "Download this version") : null,
    newest && !pkg.disabled ? h("a", { class: "button", href: `${API}${base}/archive`, download: "" }, "Download all (.zip)") : null,
    lvl >= 40 ? h("label", { class: "switch", for: "disabled" },
      h("input", {
        id: "disabled",
        type: "checkbox",
        role: "switch",
        checked: pkg.disabled,
        onchange: async (e) => {
          try {
            await api("PATCH", base, { disabled: e.target.checked });
            toast(e.target.checked ? "Version disabled" : "Version enabled");
            route();
          } catch (err) { e.target.checked = !e.target.checked; toast(err.message); }
        },
      }), "Disabled") : null,
    lvl >= 40 ? h("button", {
      class: "danger",
      type: "button",
      onclick: async () => {
        if (!confirm(`Move ${pkg.name} ${pkg.version} to the recycle bin?`)) return;
        try { await api("DELETE", base); toast("Moved to the recycle bin"); location.hash = `#/p/${project.id}`; } catch (e) { toast(e.message); }
      },
    }, "Delete this version") : null);

  const fields = h("dl", { class: "fields" },
    [["Version", [pkg.version, isLatest ? h("span", { class: "badge latest" }, "latest") : null]], ["Pushed by", pkg.pushed_by || "—"], ["Pushed", when(pkg.created_at)],
      ["Size", size(pkg.size)], ["MD5", pkg.md5 || "—"], ["SHA-256", pkg.sha256 || "—"],
      ["Downloads", String(pkg.download_count)], ["Last downloaded", when(pkg.last_downloaded_at)],
      ["Description", pkg.description || "—"], ["Status", pkg.disabled ? "disabled" : "enabled"]]
      .flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));

  const section = tab === "metadata" ? metadataTab(base, pkg.metadata || {}, lvl >= 30) : h("div", {},
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "File"), h("th", {}, "Size"), h("th", { class: "wide" }, "SHA-256"), h("th", {}, ""))),
      h("tbody", {}, files.map((f) => h("tr", {},
        h("td", {}, f.file_name), h("td", {}, size(f.size)), h("td", { class: "wide" }, h("code", {}, f.file_sha256)),
        h("td", {}, h("div", { class: "row" },
          h("a", { href: fileUrl(f), download: "" }, "Download"),
          lvl >= 30 ? h("button", { type: "button", onclick: () => shareDialog(project, pkg, f.file_name) }, "Share") : null,
          lvl >= 40 ? h("button", {
            class: "danger",
            type: "button",
            onclick: async () => {
              if (!confirm(`Delete every copy of ${f.file_name} in ${pkg.name} ${pkg.version}?`)) return;
              try { await api("DELETE", fileUrl(f).slice(API.length)); toast(`Deleted ${f.file_name}`); route(); } catch (e) { toast(e.message); }
            },
          }, "Delete") : null))))))),
    newest ? copyable("Download with curl", `curl --location --header "PRIVATE-TOKEN: <your token>" --output "${newest.file_name.split("/").pop()}" "${location.origin}${fileUrl(newest)}"`) : null,
    newest ? copyable("Download the latest version with curl", `curl --location --header "PRIVATE-TOKEN: <your token>" --output "${newest.file_name.split("/").pop()}" "${location.origin}${generic("@latest", newest.file_name)}"`) : null);

  page(`${pkg.name}`,
    tabs(project, "Artifacts"),
    h("div", { class: "card" },
      h("div", { class: "row spread" }, h("div", {}, h("label", { for: "version" }, "Version"), picker), actions),
      h("h2", {}, "Details"), fields),
    h("nav", { class: "tabs", "aria-label": "Version" },
      h("a", { href: here(chosen.id), "aria-current": tab === "metadata" ? null : "page" }, "Files"),
      h("a", { href: here(chosen.id, "metadata"), "aria-current": tab === "metadata" ? "page" : null }, "Metadata")),
    section);
}

// A share link for one file: pick how long it lives, create it, copy its URL (shown
// this once; arca keeps only a hash of its secret).
function shareDialog(project, pkg, fileName) {
  const expiry = h("select", { id: "share-expiry" },
    [["1 hour", "1 hour"], ["1 day", "1 day"], ["7 days", "7 days"]].map(([v, label]) => h("option", { value: v, selected: v === "1 day" }, label)));
  const status = h("p", { role: "status", class: "muted" });
  const result = h("div", { hidden: true });
  const dialog = h("dialog", { "aria-labelledby": "share-title" });
  const close = () => { dialog.close(); dialog.remove(); };
  const create = h("button", {
    class: "primary",
    type: "submit",
  }, "Create link");
  const form = h("form", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        const { data } = await api("POST", `/projects/${project.id}/packages/${pkg.id}/shares`, { file_name: fileName, expires_in: expiry.value });
        const link = h("input", { id: "share-url", readonly: true, value: data.url });
        result.replaceChildren(
          h("label", { for: "share-url" }, "Share link"), link,
          h("p", { class: "muted" }, `Anyone with this link can download ${fileName} until ${when(data.expires_at)}. It is shown only now.`),
          h("button", { type: "button", onclick: async () => {
            try { await navigator.clipboard.writeText(data.url); toast("Copied"); } catch { link.select(); toast("Select the link to copy it"); }
          } }, "Copy link"));
        result.hidden = false;
        create.disabled = true;
        status.textContent = "";
      } catch (e) { status.textContent = `Could not create the link: ${e.message}`; }
    },
  },
  h("h2", { id: "share-title" }, `Share ${fileName}`),
  h("label", { for: "share-expiry" }, "Link expires in"), expiry,
  status, result,
  h("div", { class: "row" }, create, h("button", { type: "button", onclick: close }, "Close")));
  dialog.append(form);
  document.body.append(dialog);
  dialog.showModal();
  expiry.focus();
}

function metadataTab(base, metadata, canEdit) {
  const rows = Object.entries(metadata).map(([k, v]) => {
    const input = h("input", { id: `meta-${k}`, value: v, disabled: !canEdit });
    return h("tr", {},
      h("td", {}, h("label", { for: `meta-${k}` }, k)),
      h("td", {}, input),
      canEdit ? h("td", {}, h("div", { class: "row" },
        h("button", { type: "button", onclick: async () => {
          try { await api("PUT", `${base}/metadata/${enc(k)}`, { value: input.value }); toast(`Saved ${k}`); route(); } catch (e) { toast(e.message); }
        } }, "Save"),
        h("button", { class: "danger", type: "button", onclick: async () => {
          try { await api("DELETE", `${base}/metadata/${enc(k)}`); toast(`Deleted ${k}`); route(); } catch (e) { toast(e.message); }
        } }, "Delete"))) : null);
  });
  const key = h("input", { id: "meta-key", name: "key", required: true, pattern: "[A-Za-z0-9._:\\-]+" });
  const value = h("input", { id: "meta-value", name: "value" });
  return h("div", {},
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Key"), h("th", {}, "Value"), canEdit ? h("th", {}, "") : null)),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 3, class: "muted" }, "No metadata."))))),
    canEdit ? h("form", {
      class: "card",
      onsubmit: async (ev) => {
        ev.preventDefault();
        try { await api("PUT", `${base}/metadata/${enc(key.value.trim())}`, { value: value.value }); toast(`Saved ${key.value}`); route(); } catch (e) { toast(e.message); }
      },
    }, h("h2", {}, "Add metadata"), h("label", { for: "meta-key" }, "Key"), key, h("label", { for: "meta-value" }, "Value"), value,
    h("p", {}, h("button", { class: "primary", type: "submit" }, "Add"))) : null);
}

async function recycleBin(id) {
  const { data: project } = await api("GET", `/projects/${enc(id)}`);
  const { data } = await api("GET", `/projects/${enc(id)}/packages/recycle_bin?per_page=100`);
  const rows = data.map((p) => h("tr", {},
    h("td", {}, p.name), h("td", {}, p.version), h("td", { class: "wide" }, `${p.recycled_by || "—"}, ${when(p.recycled_at)}`),
    h("td", {}, h("div", { class: "row" },
      h("button", { type: "button", onclick: async () => {
        try { await api("POST", `/projects/${project.id}/packages/${p.id}/restore`); toast(`Restored ${p.name} ${p.version}`); route(); } catch (e) { toast(e.message); }
      } }, "Restore"),
      h("button", { class: "danger", type: "button", onclick: async () => {
        if (!confirm(`Delete ${p.name} ${p.version} permanently? This cannot be undone.`)) return;
        try { await api("DELETE", `/projects/${project.id}/packages/recycle_bin/${p.id}`); toast("Deleted permanently"); route(); } catch (e) { toast(e.message); }
      } }, "Delete permanently")))));
  page(`${project.path_with_namespace}: recycle bin`,
    tabs(project, "Recycle bin"),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Version"), h("th", { class: "wide" }, "Recycled"), h("th", {}, ""))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "The recycle bin is empty."))))));
}

// Retention: the two rules, and what the next run would move (the worker applies them
// at every pass, to the recycle bin only).
async function settingsPage(id) {
  const { data: project } = await api("GET", `/projects/${enc(id)}`);
  const base = `/projects/${project.id}/packages`;
  const [{ data: settings }, { data: preview }] = await Promise.all([api("GET", `${base}/settings`), api("GET", `${base}/retention_preview`)]);
  const keep = h("input", { id: "keep-n", type: "number", min: 0, step: 1, value: settings.keep_n_versions ?? "" , placeholder: "off" });
  const unused = h("input", { id: "unused-after", value: settings.delete_unused_after ?? "", placeholder: "off, or e.g. 90 days" });
  const status = h("p", { role: "status", class: "muted" });
  const form = h("form", {
    class: "card",
    onsubmit: async (ev) => {
      ev.preventDefault();
      const n = keep.value.trim();
      const d = unused.value.trim();
      try {
        await api("PUT", `${base}/settings`, { keep_n_versions: n === "" ? null : Number(n), delete_unused_after: d === "" ? null : d });
        toast("Retention saved");
        route();
      } catch (e) { status.textContent = `Not saved: ${e.message}`; }
    },
  },
  h("h2", {}, "Retention"),
  h("p", { class: "muted" }, "The cleanup worker moves versions these rules rule out to the recycle bin at every pass; they can be restored from there. Leave a field empty to turn its rule off."),
  h("label", { for: "keep-n" }, "Keep the newest versions of each package (count)"), keep,
  h("label", { for: "unused-after" }, "Move versions not downloaded for (duration)"), unused,
  status,
  h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Save retention")));
  const rows = preview.map((m) => h("tr", {},
    h("td", {}, m.name), h("td", {}, m.version), h("td", { class: "wide" }, when(m.created_at)), h("td", {}, m.reason)));
  page(`${project.path_with_namespace}: settings`,
    tabs(project, "Settings"),
    await hooksCard(project),
    form,
    h("h2", {}, `The next run moves ${preview.length} version${preview.length === 1 ? "" : "s"}`),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Name"), h("th", {}, "Version"), h("th", { class: "wide" }, "Created"), h("th", {}, "Why"))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "Nothing to move."))))),
    copyable("Preview with curl", `curl --header "PRIVATE-TOKEN: <your token>" "${location.origin}${API}${base}/retention_preview"`));
}

// Webhooks: the project's hooks, a form for a new one, and each one's delivery log.
const HOOK_EVENTS = ["package_published", "package_deleted", "package_disabled", "package_restored", "artifacts_uploaded"];

async function hooksCard(project) {
  const base = `/projects/${project.id}/hooks`;
  const { data: hooks } = await api("GET", `${base}?per_page=100`);
  const url = h("input", { id: "hook-url", type: "url", required: true, placeholder: "https://ci.example.com/arca-events" });
  const secret = h("input", { id: "hook-secret", type: "password", autocomplete: "new-password", placeholder: "optional" });
  const boxes = HOOK_EVENTS.map((e) => h("input", { type: "checkbox", value: e, checked: true }));
  const status = h("p", { role: "status", class: "muted" });
  const rows = hooks.map((k) => h("tr", {},
    h("td", {}, k.url), h("td", { class: "wide" }, k.events.join(", ")), h("td", {}, k.has_secret ? "signed" : "unsigned"),
    h("td", {}, h("div", { class: "row" },
      h("a", { class: "button", href: `#/p/${project.id}/hooks/${k.id}` }, "Deliveries"),
      h("button", { class: "danger", type: "button", "aria-label": `Delete webhook ${k.url}`, onclick: async () => {
        if (!confirm(`Delete the webhook to ${k.url}? Its queued deliveries are dropped.`)) return;
        try { await api("DELETE", `${base}/${k.id}`); toast("Webhook deleted"); route(); } catch (e) { toast(e.message); }
      } }, "Delete")))));
  return h("form", {
    class: "card",
    onsubmit: async (ev) => {
      ev.preventDefault();
      const events = boxes.filter((b) => b.checked).map((b) => b.value);
      try {
        await api("POST", base, { url: url.value.trim(), secret: secret.value || null, events });
        toast("Webhook added");
        route();
      } catch (e) { status.textContent = `Not added: ${e.message}`; }
    },
  },
  h("h2", {}, "Webhooks"),
  h("p", { class: "muted" }, "arca POSTs a JSON message to each URL when the events it names happen, signed with the secret (X-Arca-Signature), and retries for a day until the receiver answers 2xx. Loopback, private, link-local and cloud metadata addresses are refused."),
  h("div", { class: "table-wrap" }, h("table", {},
    h("thead", {}, h("tr", {}, h("th", {}, "URL"), h("th", { class: "wide" }, "Events"), h("th", {}, "Signature"), h("th", {}, ""))),
    h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No webhooks."))))),
  h("label", { for: "hook-url" }, "Payload URL"), url,
  h("label", { for: "hook-secret" }, "Secret (signs each delivery; never shown again)"), secret,
  h("fieldset", { class: "events" }, h("legend", {}, "Events"),
    ...boxes.map((b) => h("label", { class: "switch" }, b, b.value))),
  status,
  h("div", { class: "row" }, h("button", { class: "primary", type: "submit" }, "Add webhook")));
}

async function hookDeliveries(id, hookId) {
  const { data: project } = await api("GET", `/projects/${enc(id)}`);
  const base = `/projects/${project.id}/hooks/${enc(hookId)}`;
  const [{ data: hook }, { data: log }] = await Promise.all([api("GET", base), api("GET", `${base}/deliveries?per_page=100`)]);
  const rows = log.map((a) => h("tr", {},
    h("td", {}, when(a.started_at)), h("td", {}, a.event), h("td", { class: "wide" }, String(a.attempt)),
    h("td", {}, a.result + (a.status ? ` (${a.status})` : "")),
    h("td", { class: "wide" }, [a.error, a.next_attempt_at ? `next attempt ${when(a.next_attempt_at)}` : null].filter(Boolean).join("; ") || "—")));
  page(`${project.path_with_namespace}: webhook deliveries`,
    tabs(project, "Settings"),
    h("div", { class: "card" },
      h("div", { class: "row spread" }, h("h2", {}, `Deliveries to ${hook.url}`),
        h("div", { class: "row" },
          h("button", { type: "button", onclick: () => route() }, "Refresh"),
          h("a", { class: "button", href: `#/p/${project.id}/settings` }, "Back to settings"))),
      h("p", { class: "muted" }, `Events: ${hook.events.join(", ")}. The last 100 attempts, newest first.`)),
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Event"), h("th", { class: "wide" }, "Attempt"), h("th", {}, "Result"), h("th", { class: "wide" }, "Detail"))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No deliveries yet."))))),
    copyable("The log with curl", `curl --header "PRIVATE-TOKEN: <your token>" "${location.origin}${API}${base}/deliveries"`));
}

async function jobs(id, jobId) {
  const { data: project } = await api("GET", `/projects/${enc(id)}`);
  const { data } = await api("GET", `/projects/${enc(id)}/jobs?per_page=50`);
  let detail = null;
  if (jobId) {
    const { data: one } = await api("GET", `/projects/${enc(id)}/jobs/${enc(jobId)}`);
    const artifacts = one.artifacts || [];
    const job = `${API}/projects/${project.id}/jobs/${enc(jobId)}/artifacts`;
    const list = h("div", { class: "card" },
      h("h2", {}, `Job ${one.name} #${one.id}: ${artifacts.length} artifact${artifacts.length === 1 ? "" : "s"}`),
      h("p", { class: "muted" }, one.artifacts_expire_at ? `Expires ${when(one.artifacts_expire_at)}` : (artifacts.length ? "Kept: never expires" : "")),
      h("div", { class: "table-wrap" }, h("table", {},
        h("thead", {}, h("tr", {}, h("th", {}, "Type"), h("th", {}, "File"), h("th", {}, "Format"), h("th", {}, "Size"))),
        h("tbody", {}, artifacts.length ? artifacts.map((a) => h("tr", {},
          h("td", {}, a.file_type), h("td", {}, a.filename), h("td", {}, a.file_format), h("td", {}, size(a.size))))
          : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "This job has no artifacts."))))));
    let entries = null;
    if (one.artifacts_file) {
      const { data: files, headers } = await api("GET", `/projects/${enc(id)}/jobs/${enc(jobId)}/artifacts_entries?per_page=100`);
      entries = h("div", { class: "card" },
        h("div", { class: "row spread" },
          h("h2", {}, `Archive: ${headers.get("X-Total") || files.length} entries`),
          h("a", { class: "button primary", href: job, download: "" }, "Download the whole archive")),
        h("div", { class: "table-wrap" }, h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, "Path"), h("th", {}, "Size"), h("th", {}, ""))),
          h("tbody", {}, files.filter((e) => !e.is_dir).map((e) => h("tr", {},
            h("td", {}, e.path), h("td", {}, size(e.size)),
            h("td", {}, h("a", { href: `${job}/${encPath(e.path)}`, download: "" }, "Download"))))))),
        copyable("Download the archive with curl", `curl --location --header "PRIVATE-TOKEN: <your token>" --output artifacts.zip "${location.origin}${job}"`));
    }
    detail = h("div", {}, list, entries);
  }
  const rows = data.map((j) => h("tr", {},
    h("td", {}, h("a", { href: `#/p/${project.id}/jobs/${j.id}` }, `${j.name} #${j.id}`)),
    h("td", {}, j.ref), h("td", {}, j.status),
    h("td", { class: "wide" }, j.artifacts && j.artifacts.length
      ? j.artifacts.map((a) => `${a.file_type} (${size(a.size)})`).join(", ")
      : "none")));
  page(`${project.path_with_namespace}: job artifacts`,
    tabs(project, "Job artifacts"),
    detail,
    h("div", { class: "table-wrap" }, h("table", {},
      h("thead", {}, h("tr", {}, h("th", {}, "Job"), h("th", {}, "Ref"), h("th", {}, "Status"), h("th", { class: "wide" }, "Artifacts"))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 4, class: "muted" }, "No job artifacts."))))));
}

// ---------- routing ----------

async function route() {
  try {
    if (!me) {
      try { me = (await api("GET", "/user")).data; } catch (e) { if (e.status !== 401) throw e; }
    }
    header();
    if (!me) return signIn();
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    if (parts[0] !== "p" || !parts[1]) return await projects();
    const [, id, section, a, b, c] = parts;
    if (!section) return await artifacts(id);
    if (section === "bin") return await recycleBin(id);
    if (section === "settings") return await settingsPage(id);
    if (section === "hooks" && a) return await hookDeliveries(id, a);
    if (section === "jobs") return await jobs(id, a);
    if (section === "pkg") return await details(id, a, b, c);
    return await projects();
  } catch (e) {
    failed(e);
  }
}

window.addEventListener("hashchange", route);
route();
