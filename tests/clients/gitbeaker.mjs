// @gitbeaker/rest (pinned in package.json) driving a live arca through the calls its
// documentation shows, run by tests/tests/it/clients.rs with ARCA_URL and ARCA_ADMIN_TOKEN.
// Setup that gitbeaker has no call for (arca's pipelines and jobs, the runner's upload) goes
// through fetch. Prints one line per recipe; exits non-zero on the first failure.
import { Gitlab } from "@gitbeaker/rest";
import { strict as assert } from "node:assert";
import { deflateRawSync } from "node:zlib";

const { ARCA_URL, ARCA_ADMIN_TOKEN } = process.env;
const api = `${ARCA_URL}/api/v4`;

async function call(method, path, token, body) {
  const headers = { "PRIVATE-TOKEN": token };
  if (body) headers["Content-Type"] = "application/json";
  const resp = await fetch(`${api}${path}`, { method, headers, body: body && JSON.stringify(body) });
  const text = await resp.text();
  assert.ok(resp.ok, `${method} ${path}: ${resp.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

// A one-entry zip (deflate), enough for an archive; CRC-32 by hand, as node has none.
function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
function zipOf(name, text) {
  const data = Buffer.from(text);
  const packed = deflateRawSync(data);
  const fname = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt16LE(8, 8);
  local.writeUInt32LE(crc32(data), 14); local.writeUInt32LE(packed.length, 18);
  local.writeUInt32LE(data.length, 22); local.writeUInt16LE(fname.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10); central.writeUInt32LE(crc32(data), 16);
  central.writeUInt32LE(packed.length, 20); central.writeUInt32LE(data.length, 24);
  central.writeUInt16LE(fname.length, 28);
  const cdOffset = local.length + fname.length + packed.length;
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(1, 8); end.writeUInt16LE(1, 10);
  end.writeUInt32LE(central.length + fname.length, 12); end.writeUInt32LE(cdOffset, 16);
  return Buffer.concat([local, fname, packed, central, fname, end]);
}

async function recipe(name, fn) {
  await fn();
  console.log(`ok  ${name}`);
}

const id = Math.random().toString(16).slice(2, 10);
const user = await call("POST", "/users", ARCA_ADMIN_TOKEN, { username: `gb-${id}`, email: `gb-${id}@example.com` });
const pat = await call("POST", `/users/${user.id}/personal_access_tokens`, ARCA_ADMIN_TOKEN, { name: "gb", scopes: ["api"] });
const project = await call("POST", "/projects", pat.token, { name: `gitbeaker-${id}` });
const gl = new Gitlab({ host: ARCA_URL, token: pat.token });
const admin = new Gitlab({ host: ARCA_URL, token: ARCA_ADMIN_TOKEN });

// A successful pipeline on main whose job `build` left an archive, and a job still running.
const archive = zipOf("out/report.txt", "all green\n");
const pipeline = await call("POST", `/projects/${project.id}/pipelines`, pat.token, { ref: "main" });
const build = await call("POST", `/projects/${project.id}/pipelines/${pipeline.id}/jobs`, pat.token, { name: "build" });
const running = await call("POST", `/projects/${project.id}/pipelines/${pipeline.id}/jobs`, pat.token, { name: "test" });
const form = new FormData();
form.append("file", new Blob([archive]), "artifacts.zip");
const up = await fetch(`${api}/jobs/${build.id}/artifacts?artifact_format=zip&artifact_type=archive`, {
  method: "POST", headers: { "JOB-TOKEN": build.token }, body: form,
});
assert.equal(up.status, 201, await up.text());
await call("PUT", `/projects/${project.id}/jobs/${build.id}`, pat.token, { status: "success" });
await call("PUT", `/projects/${project.id}/pipelines/${pipeline.id}`, pat.token, { status: "success" });

await recipe("Jobs.show", async () => {
  const job = await gl.Jobs.show(project.id, build.id);
  assert.equal(job.name, "build");
  assert.equal(job.status, "success");
  assert.deepEqual(job.artifacts.map((a) => a.file_type), ["archive"]);
});
await recipe("Jobs.all (every job, scope)", async () => {
  const all = await gl.Jobs.all(project.id);
  assert.deepEqual(all.map((j) => j.id), [running.id, build.id]);
  const done = await gl.Jobs.all(project.id, { scope: ["success"] });
  assert.deepEqual(done.map((j) => j.id), [build.id]);
  const inPipeline = await gl.Jobs.all(project.id, { pipelineId: pipeline.id });
  assert.equal(inPipeline.length, 2);
});
await recipe("Pipelines.all / show", async () => {
  const list = await gl.Pipelines.all(project.id, { ref: "main", status: "success" });
  assert.deepEqual(list.map((p) => p.id), [pipeline.id]);
  assert.equal((await gl.Pipelines.show(project.id, pipeline.id)).status, "success");
});
await recipe("JobArtifacts.downloadArchive (by job, by ref, one file)", async () => {
  const byJob = await gl.JobArtifacts.downloadArchive(project.id, { jobId: build.id });
  assert.deepEqual(Buffer.from(await byJob.arrayBuffer()), archive);
  const byRef = await gl.JobArtifacts.downloadArchive(project.id, { ref: "main", job: "build" });
  assert.deepEqual(Buffer.from(await byRef.arrayBuffer()), archive);
  const file = await gl.JobArtifacts.downloadArchive(project.id, { jobId: build.id, artifactPath: "out/report.txt" });
  assert.equal(typeof file === "string" ? file : await file.text(), "all green\n");
});
await recipe("JobArtifacts.keep / remove", async () => {
  const kept = await gl.JobArtifacts.keep(project.id, build.id);
  assert.equal(kept.artifacts_expire_at, null);
  await gl.JobArtifacts.remove(project.id, { jobId: build.id });
  assert.equal((await gl.Jobs.show(project.id, build.id)).artifacts, undefined);
});
await recipe("PackageRegistry.download, Packages.all / show", async () => {
  const put = await fetch(`${api}/projects/${project.id}/packages/generic/tool/1.0.0/tool.bin`, {
    method: "PUT", headers: { "PRIVATE-TOKEN": pat.token }, body: "tool bytes",
  });
  assert.equal(put.status, 201);
  const blob = await gl.PackageRegistry.download(project.id, "tool", "1.0.0", "tool.bin");
  assert.equal(typeof blob === "string" ? blob : await blob.text(), "tool bytes");
  const packages = await gl.Packages.all({ projectId: project.id });
  assert.deepEqual(packages.map((p) => [p.name, p.version]), [["tool", "1.0.0"]]);
  assert.equal((await gl.Packages.show(project.id, packages[0].id)).name, "tool");
  const files = await gl.Packages.allFiles(project.id, packages[0].id);
  assert.deepEqual(files.map((f) => f.file_name), ["tool.bin"]);
});
await recipe("Users.all / show / block / unblock, PersonalAccessTokens.show (self)", async () => {
  const found = await admin.Users.all({ username: user.username });
  assert.deepEqual(found.map((u) => u.id), [user.id]);
  assert.equal((await admin.Users.show(user.id)).state, "active");
  await admin.Users.block(user.id);
  await assert.rejects(gl.Users.showCurrentUser());
  await admin.Users.unblock(user.id);
  assert.equal((await gl.Users.showCurrentUser()).id, user.id);
  assert.equal((await gl.PersonalAccessTokens.show()).id, pat.id);
});
await recipe("ProjectMembers.all / add / edit / remove, DeployTokens.all, Projects.edit / remove", async () => {
  const other = await call("POST", "/users", ARCA_ADMIN_TOKEN, { username: `gb2-${id}` });
  await gl.ProjectMembers.add(project.id, 30, { userId: other.id });
  await gl.ProjectMembers.edit(project.id, other.id, 40);
  const members = await gl.ProjectMembers.all(project.id);
  assert.equal(members.find((m) => m.id === other.id).access_level, 40);
  await gl.ProjectMembers.remove(project.id, other.id);
  await gl.DeployTokens.create("ci", ["read_package_registry"], { projectId: project.id });
  assert.deepEqual((await gl.DeployTokens.all({ projectId: project.id })).map((t) => t.name), ["ci"]);
  const edited = await gl.Projects.edit(project.id, { description: "from gitbeaker" });
  assert.equal(edited.description, "from gitbeaker");
  await gl.Projects.remove(project.id);
  await assert.rejects(gl.Projects.show(project.id));
});
console.log("gitbeaker: every recipe passed");
