// End-to-end test of arca's web console in Debian's headless Chromium, driven by
// playwright-core. tests/tests/it/console.rs starts a stack, seeds it and runs this script
// with: ARCA_URL, MAINTAINER_TOKEN, REPORTER_TOKEN, PROJECT_ID, JOB_ID, SCREENSHOTS.
//
// A maintainer signs in, uploads a file, sees it listed, opens its details, sets metadata,
// disables and re-enables the version, downloads it, sees it marked latest with its @latest
// curl line, downloads the version as a zip, makes a share link and downloads through it
// without a token, deletes a file by name, deletes the version, restores it from the
// recycle bin, browses a job's artifacts and signs out; a reporter sees no upload or delete
// button. Every page is checked at 1280 px and 390 px wide for labelled inputs,
// keyboard-reachable controls and no horizontal overflow, and screenshotted.

import { createHash } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const { ARCA_URL, MAINTAINER_TOKEN, REPORTER_TOKEN, PROJECT_ID, JOB_ID, HOOK_URL } = process.env;
const SHOTS = process.env.SCREENSHOTS || "console-screenshots";
mkdirSync(SHOTS, { recursive: true });

let checks = 0;
function expect(cond, what) {
  if (!cond) throw new Error(`failed: ${what}`);
  checks++;
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync"],
});

// Labels on every input, a name on every control, every control reachable by Tab.
async function accessible(page, name) {
  const problems = await page.evaluate(() => {
    const out = [];
    const visible = (el) => el.offsetParent !== null || el.getClientRects().length > 0;
    for (const el of document.querySelectorAll("input, select, textarea")) {
      if (el.type === "hidden" || !visible(el)) continue;
      const labelled = (el.id && document.querySelector(`label[for="${el.id}"]`)) || el.closest("label") || el.getAttribute("aria-label");
      if (!labelled) out.push(`unlabelled ${el.tagName.toLowerCase()}#${el.id}`);
    }
    for (const el of document.querySelectorAll("button, a[href], input, select, textarea")) {
      if (!visible(el)) continue;
      if (el.tabIndex < 0) out.push(`not keyboard-reachable: ${el.outerHTML.slice(0, 80)}`);
      if ((el.tagName === "BUTTON" || el.tagName === "A") && !el.textContent.trim() && !el.getAttribute("aria-label")) {
        out.push(`control without a name: ${el.outerHTML.slice(0, 80)}`);
      }
    }
    if (document.documentElement.scrollWidth > window.innerWidth + 1) {
      out.push(`horizontal overflow: ${document.documentElement.scrollWidth} > ${window.innerWidth}`);
    }
    return out;
  });
  expect(problems.length === 0, `${name}: ${problems.join("; ")}`);
  // From the start of the content (or of an open dialog), Tab moves focus onto a control.
  await page.evaluate(() => {
    const dialog = document.querySelector("dialog[open]");
    (dialog ? dialog.querySelector("input") : document.getElementById("main")).focus();
  });
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => document.activeElement && document.activeElement.tagName);
  expect(["A", "BUTTON", "INPUT", "SELECT", "TEXTAREA"].includes(focused), `${name}: Tab reaches a control (got ${focused})`);
}

// Screenshots and checks at both widths.
async function shoot(page, name) {
  // Pages re-render after a change once its request answers: let that settle first.
  await page.waitForLoadState("networkidle");
  await page.waitForTimeout(100);
  for (const [label, width] of [["desktop", 1280], ["mobile", 390]]) {
    await page.setViewportSize({ width, height: 860 });
    await accessible(page, `${name} @${width}px`);
    await page.screenshot({ path: `${SHOTS}/${name}-${label}.png`, fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 860 });
}

async function signIn(page, token) {
  await page.goto(ARCA_URL + "/");
  await page.getByLabel("Personal access token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Projects" }).waitFor();
}

const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
const page = await context.newPage();
page.on("dialog", (d) => d.accept());
const consoleErrors = [];
page.on("pageerror", (e) => consoleErrors.push(e.message));

// Sign in.
await page.goto(ARCA_URL + "/");
await page.getByRole("heading", { name: "Sign in to arca" }).waitFor();
await shoot(page, "sign-in");
await page.getByLabel("Personal access token").fill("arca-pat-wrong");
await page.getByRole("button", { name: "Sign in" }).click();
await page.getByText("That token is not valid.").waitFor();
await signIn(page, MAINTAINER_TOKEN);
const cookies = await context.cookies();
const session = cookies.find((c) => c.name === "arca_session");
expect(session && session.httpOnly && session.sameSite === "Strict", "the session cookie is HttpOnly and SameSite=Strict");
expect(!(await page.evaluate(() => document.cookie)).includes("arca_session"), "the script cannot read the session");
expect(session && !session.value.includes(MAINTAINER_TOKEN), "the cookie holds a session id, not the token");
await shoot(page, "projects");

// The project's artifacts page; upload a 3 MiB file with the dialog.
await page.getByRole("link", { name: "root/console" }).click();
await page.getByRole("button", { name: "Upload artifact" }).waitFor();
const body = Buffer.alloc(3 << 20, "arca console upload ");
const sha256 = createHash("sha256").update(body).digest("hex");
await page.getByRole("button", { name: "Upload artifact" }).click();
await page.getByLabel("Package name").fill("tool");
await page.getByLabel("Version").fill("1.0.0");
await page.getByLabel("File path (optional; the file's name by default)").fill("linux/tool.bin");
await page.getByLabel("File", { exact: true }).setInputFiles({ name: "tool.bin", mimeType: "application/octet-stream", buffer: body });
await page.getByLabel("Description (optional)").fill("built by the console test");
await shoot(page, "upload-dialog");
await page.getByRole("button", { name: "Upload", exact: true }).click();
await page.getByRole("link", { name: "tool" }).waitFor();
expect(await page.getByRole("progressbar").count() === 0, "the dialog closed after the upload");
await shoot(page, "artifacts");

// The search box filters by name.
await page.getByLabel("Search").fill("nothing-like-it");
await page.getByText("No artifacts.").waitFor();
await page.getByLabel("Search").fill("too");
await page.getByRole("link", { name: "tool" }).waitFor();

// Details.
await page.getByRole("link", { name: "tool" }).click();
await page.getByRole("heading", { name: "Details" }).waitFor();
const details = await page.locator("dl.fields").innerText();
expect(details.includes(sha256), "details show the SHA-256");
expect(details.includes("built by the console test"), "details show the description");
expect(details.includes("3.0 MiB"), "details show the size");
expect((await page.locator("pre").allInnerTexts()).every((t) => t.includes("<your token>")), "the curl commands elide the token");
await shoot(page, "details");

// Metadata: add, then change.
await page.getByRole("link", { name: "Metadata" }).click();
await page.getByLabel("Key").fill("channel");
await page.getByLabel("Value", { exact: true }).fill("beta");
await page.getByRole("button", { name: "Add" }).click();
await page.getByLabel("channel").waitFor();
await page.getByLabel("channel").fill("stable");
await page.getByRole("button", { name: "Save" }).click();
await page.getByText("Saved channel").waitFor();
await shoot(page, "metadata");
const api = (path) => page.request.get(`${ARCA_URL}/api/v4${path}`);
const versions = await (await api(`/projects/${PROJECT_ID}/packages?package_name=tool`)).json();
const packageId = versions[0].id;
const meta = await (await api(`/projects/${PROJECT_ID}/packages/${packageId}/metadata`)).json();
expect(meta.channel === "stable", `metadata stored through the API (${JSON.stringify(meta)})`);

// A second entry, deleted again.
await page.getByLabel("Key").fill("scratch");
await page.getByLabel("Value", { exact: true }).fill("temporary");
await page.getByRole("button", { name: "Add" }).click();
await page.getByLabel("scratch").waitFor();
await page.getByRole("row", { name: /scratch/ }).getByRole("button", { name: "Delete" }).click();
await page.getByText("Deleted scratch").waitFor();
await page.getByLabel("scratch").waitFor({ state: "detached" });
const left = await (await api(`/projects/${PROJECT_ID}/packages/${(await (await api(`/projects/${PROJECT_ID}/packages?package_name=tool`)).json())[0].id}/metadata`)).json();
expect(!("scratch" in left) && left.channel === "stable", `a metadata entry is deleted (${JSON.stringify(left)})`);

// Disable, see downloads refused, enable again.
await page.getByRole("link", { name: "Files" }).click();
await page.getByRole("switch", { name: "Disabled" }).check();
await page.getByText("Version disabled").waitFor();
// Let the page re-render from the server's state before touching the switch again: a click
// on the switch the re-render is about to replace is lost (a race seen under load).
await page.locator("#version option", { hasText: "(disabled)" }).waitFor({ state: "attached" });
const refused = await page.request.get(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}/packages/generic/tool/1.0.0/linux/tool.bin`, { maxRedirects: 0 });
expect(refused.status() === 403, `a disabled version is not downloadable (${refused.status()})`);
await page.getByRole("switch", { name: "Disabled" }).uncheck();
await page.getByText("Version enabled").waitFor();

// Download it: the browser follows the 302 to S3.
const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download this version" }).click()]);
const got = readFileSync(await download.path());
expect(createHash("sha256").update(got).digest("hex") === sha256, "the downloaded bytes are the uploaded ones");

// @latest: the version is marked latest, with its curl line.
expect((await page.locator("#version").innerText()).includes("(latest)"), "the latest version is marked in the picker");
await page.locator(".badge.latest").waitFor();
expect((await page.locator("pre", { hasText: "/@latest/" }).innerText()).includes("/packages/generic/tool/@latest/linux/tool.bin"), "a curl line for @latest");

// The whole version as one zip.
const [zipped] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download all (.zip)" }).click()]);
expect(zipped.suggestedFilename() === "tool-1.0.0.zip", `the zip is named after the version (${zipped.suggestedFilename()})`);
const zipBytes = readFileSync(await zipped.path());
expect(zipBytes.subarray(0, 2).toString() === "PK" && zipBytes.length > body.length, "the zip holds the file");

// A share link: created in the dialog, downloaded without a token.
await page.getByRole("row", { name: /linux\/tool\.bin/ }).getByRole("button", { name: "Share" }).click();
await page.getByLabel("Link expires in").selectOption("1 hour");
await page.getByRole("button", { name: "Create link" }).click();
const link = await page.getByLabel("Share link").inputValue();
expect(link.startsWith(`${ARCA_URL}/api/v4/shares/arca-share-`), `an absolute link (${link})`);
await shoot(page, "share-dialog");
const shared = Buffer.from(await (await fetch(link)).arrayBuffer());
expect(createHash("sha256").update(shared).digest("hex") === sha256, "the link downloads the file without a token");
await page.getByRole("button", { name: "Close" }).click();

// Delete a file by name: a second file, published with curl's equivalent, then deleted.
const notes = await fetch(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}/packages/generic/tool/1.0.0/notes.txt`, {
  method: "PUT", headers: { "PRIVATE-TOKEN": MAINTAINER_TOKEN }, body: "release notes",
});
expect(notes.status === 201, `a second file is published (${notes.status})`);
await page.reload();
await page.getByRole("row", { name: /notes\.txt/ }).getByRole("button", { name: "Delete" }).click();
await page.getByText("Deleted notes.txt").waitFor();
await page.getByRole("row", { name: /notes\.txt/ }).waitFor({ state: "detached" });
const notesGone = await fetch(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}/packages/generic/tool/1.0.0/notes.txt`, {
  headers: { "PRIVATE-TOKEN": MAINTAINER_TOKEN }, redirect: "manual",
});
expect(notesGone.status === 404, `the file is gone (${notesGone.status})`);

// Delete to the recycle bin, restore it.
await page.getByRole("button", { name: "Delete this version" }).click();
await page.getByText("No artifacts.").waitFor();
await page.getByRole("link", { name: "Recycle bin" }).click();
await page.getByRole("button", { name: "Restore" }).waitFor();
await shoot(page, "recycle-bin");
await page.getByRole("button", { name: "Restore" }).click();
await page.getByText("The recycle bin is empty.").waitFor();
await page.getByRole("link", { name: "Artifacts", exact: true }).click();
await page.getByRole("link", { name: "tool" }).waitFor();

// Job artifacts: every artifact of the job, the archive's files from its central
// directory, one downloaded.
await page.getByRole("link", { name: "Job artifacts" }).click();
await page.getByRole("link", { name: `build #${JOB_ID}` }).click();
await page.getByText("docs/readme.txt").waitFor();
// Every artifact of the job is listed, the junit report beside the archive.
await page.getByRole("cell", { name: "junit.gz", exact: true }).waitFor();
expect(await page.getByRole("cell", { name: "artifacts.zip", exact: true }).count() === 1, "the archive is listed");
await shoot(page, "job-artifacts");
const [entry] = await Promise.all([page.waitForEvent("download"), page.getByRole("row", { name: /docs\/readme\.txt/ }).getByRole("link", { name: "Download" }).click()]);
expect(readFileSync(await entry.path(), "utf8") === "read me, console", "one file from inside the archive");

// Retention settings: a rule, its preview, then off again (two versions of another
// package, removed afterwards so the rest of the walk sees the project as it was).
const asMaintainer = (method, path, body) => fetch(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}${path}`, {
  method, headers: { "PRIVATE-TOKEN": MAINTAINER_TOKEN }, body,
});
for (const v of ["1.0", "2.0"]) {
  const r = await asMaintainer("PUT", `/packages/generic/lib/${v}/lib.so`, `lib ${v}`);
  expect(r.status === 201, `lib ${v} is published (${r.status})`);
}
await page.getByRole("link", { name: "Settings" }).click();
await page.getByText("Nothing to move.").waitFor();
await page.getByLabel("Keep the newest versions of each package (count)").fill("1");
await page.getByRole("button", { name: "Save retention" }).click();
await page.getByText("Retention saved").waitFor();
await page.getByRole("heading", { name: "The next run moves 1 version" }).waitFor();
expect(await page.getByRole("row", { name: /lib.*1\.0.*keep_n_versions/ }).count() === 1, "the preview names the older version");
await shoot(page, "settings");
await page.getByLabel("Keep the newest versions of each package (count)").fill("");
await page.getByRole("button", { name: "Save retention" }).click();
await page.getByText("Nothing to move.").waitFor();
for (const v of (await (await asMaintainer("GET", "/packages?package_name=lib")).json())) {
  expect((await asMaintainer("DELETE", `/packages/${v.id}`)).status === 204, "lib goes to the bin");
  expect((await asMaintainer("DELETE", `/packages/recycle_bin/${v.id}`)).status === 204, "and out of it");
}

// Webhooks: a refused URL, one added (signed, four events), a publish delivered to it and
// shown in its log, then deleted.
await page.getByText("No webhooks.").waitFor();
await page.getByLabel("Payload URL").fill("http://169.254.169.254/latest/meta-data/");
await page.getByRole("button", { name: "Add webhook" }).click();
await page.getByText(/Not added: .*link-local/).waitFor();
await page.getByLabel("Payload URL").fill(HOOK_URL);
await page.getByLabel("Secret (signs each delivery; never shown again)").fill("console-secret");
await page.getByLabel("artifacts_uploaded").uncheck();
await page.getByRole("button", { name: "Add webhook" }).click();
await page.getByText("Webhook added").waitFor();
await page.getByRole("cell", { name: HOOK_URL, exact: true }).waitFor();
expect(await page.getByRole("cell", { name: "signed", exact: true }).count() === 1, "the hook signs its deliveries");
expect(!(await page.content()).includes("console-secret"), "the secret is not shown");
await shoot(page, "settings-hooks");
const hooked = await asMaintainer("PUT", "/packages/generic/hooked/1.0/h.txt", "hook me");
expect(hooked.status === 201, `a file is published (${hooked.status})`);
await page.getByRole("link", { name: "Deliveries" }).click();
await page.getByRole("heading", { name: `Deliveries to ${HOOK_URL}` }).waitFor();
for (let i = 0; i < 100 && !(await page.getByRole("cell", { name: "delivered (200)" }).count()); i++) {
  await page.waitForTimeout(200);
  await page.getByRole("button", { name: "Refresh" }).click();
}
await page.getByRole("cell", { name: "delivered (200)" }).waitFor();
expect(await page.getByRole("cell", { name: "package_published" }).count() === 1, "the log names the event");
await shoot(page, "hook-deliveries");
await page.getByRole("link", { name: "Back to settings" }).click();
await page.getByRole("button", { name: `Delete webhook ${HOOK_URL}` }).click();
await page.getByText("Webhook deleted").waitFor();
await page.getByText("No webhooks.").waitFor();
for (const v of (await (await asMaintainer("GET", "/packages?package_name=hooked")).json())) {
  expect((await asMaintainer("DELETE", `/packages/${v.id}`)).status === 204, "hooked goes to the bin");
  expect((await asMaintainer("DELETE", `/packages/recycle_bin/${v.id}`)).status === 204, "and out of it");
}

// A reporter sees the artifacts but no button to change them.
const reporterContext = await browser.newContext({ viewport: { width: 1280, height: 860 } });
const reporter = await reporterContext.newPage();
await signIn(reporter, REPORTER_TOKEN);
await reporter.getByRole("link", { name: "root/console" }).click();
await reporter.getByRole("link", { name: "tool" }).waitFor();
expect(await reporter.getByRole("button", { name: "Upload artifact" }).count() === 0, "no upload button for a reporter");
expect(await reporter.getByRole("link", { name: "Recycle bin" }).count() === 0, "no recycle bin for a reporter");
expect(await reporter.getByRole("link", { name: "Settings" }).count() === 0, "no settings for a reporter");
await reporter.getByRole("link", { name: "tool" }).click();
await reporter.getByRole("heading", { name: "Details" }).waitFor();
expect(await reporter.getByRole("button", { name: "Delete this version" }).count() === 0, "no delete button for a reporter");
// And the API refuses anyway, even with the reporter's own session and CSRF token.
const csrf = (await reporterContext.cookies()).find((c) => c.name === "arca_csrf").value;
const denied = await reporter.request.delete(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}/packages/${packageId}`, { headers: { "X-CSRF-Token": csrf } });
expect(denied.status() === 403, `the API refuses the reporter (${denied.status()})`);
// A change without the CSRF token is refused whoever sends it.
const forged = await page.request.delete(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}/packages/${packageId}`);
expect(forged.status() === 403, `a change without the CSRF token is refused (${forged.status()})`);
await reporterContext.close();

// Delete the version for good: to the bin, then out of it.
await page.goto(`${ARCA_URL}/#/p/${PROJECT_ID}/pkg/tool`);
await page.getByRole("button", { name: "Delete this version" }).click();
await page.getByText("No artifacts.").waitFor();
await page.getByRole("link", { name: "Recycle bin" }).click();
await page.getByRole("button", { name: "Delete permanently" }).click();
await page.getByText("The recycle bin is empty.").waitFor();
const gone = await page.request.get(`${ARCA_URL}/api/v4/projects/${PROJECT_ID}/packages/${packageId}`);
expect(gone.status() === 404, `a purged version is gone (${gone.status()})`);

// Sign out.
await page.getByRole("button", { name: "Sign out" }).click();
await page.getByRole("heading", { name: "Sign in to arca" }).waitFor();
const after = await page.request.get(`${ARCA_URL}/api/v4/user`);
expect(after.status() === 401, `signed out (${after.status()})`);

expect(consoleErrors.length === 0, `no script errors: ${consoleErrors.join("; ")}`);
await browser.close();
console.log(`console e2e: ${checks} checks passed; screenshots in ${SHOTS}`);
