// The page in headless Chromium (Debian's, driven by playwright-core), served on 127.0.0.1
// under the strict Content-Security-Policy serve.mjs sends: every test fails on any violation
// the page or its service worker reports, on an uncaught exception and on a wasm trap.
// Run by `./build.sh test` with SITE_DIR (the assembled site), DATA_TSV (the bundled data the
// site's segment was built from), ARTIFACTS (where the screenshot goes), UPDATES_DIR (a delta
// and a blocklist over the site's base, published by the freshness tests) and EDGESUGGEST_NPM.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { publishStatic } from "../publish-static.mjs";
import { serve } from "../serve.mjs";
import { loadOracle } from "../../tests/common/oracle.mjs";

// The policy the page must run under, spelled out here rather than taken from serve.mjs: the
// tests check the server sends exactly this.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

const require = createRequire(join(process.env.EDGESUGGEST_NPM ?? ".", "noop.js"));
const { chromium } = require("playwright-core");

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

let server;
let browser;
let base;
const oracle = loadOracle(process.env.DATA_TSV);
/** The paths of the requests that reached the server, in order. */
const served = [];

/** The site's live manifest (version 1, the base alone, as built). */
const MANIFEST = join(process.env.SITE_DIR, "data", "cities.manifest.json");
const VERSION_1 = readFileSync(MANIFEST, "utf8");
const BASE_CHUNK = `/data/${JSON.parse(VERSION_1).segments[0].chunks[0]}`;

before(async () => {
  server = await serve(process.env.SITE_DIR, 0, { onRequest: (_method, path) => served.push(path) });
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.close();
});

/**
 * Opens `path` in a new page of `context` that records what must never happen: CSP violations
 * (the page's `securitypolicyviolation` events, and Chromium's console messages about the
 * policy: "… violates the following Content Security Policy directive …", formerly "Refused
 * to …"), uncaught exceptions, and wasm traps or aborts in the console. Checks that the
 * document came with exactly `policy`. `assertClean` checks the records.
 */
async function openPage(context, path = "", policy = CSP) {
  const page = await context.newPage();
  const seen = { violations: [], errors: [], console: [] };
  await page.exposeFunction("reportCspViolation", (v) => seen.violations.push(v));
  await page.addInitScript(() => {
    addEventListener(
      "securitypolicyviolation",
      (e) => window.reportCspViolation(
        `${e.effectiveDirective} refused ${e.blockedURI || "?"} at ${e.sourceFile}:${e.lineNumber}`,
      ),
      true,
    );
  });
  page.on("pageerror", (e) => seen.errors.push(e));
  page.on("console", (m) => {
    if (/Refused to|Content Security Policy|unreachable|RuntimeError|panicked/i.test(m.text())) {
      seen.console.push(`${m.type()}: ${m.text()}`);
    }
  });
  const response = await page.goto(base + path);
  assert.equal(response.headers()["content-security-policy"], policy);
  return { page, seen };
}

/**
 * Nothing `openPage` watches for happened, and the page shows no trap: the widget reports a
 * failed search in `#error`, so a trap during a query would show there.
 */
async function assertClean(page, seen) {
  assert.deepEqual(seen.violations, [], "CSP violations");
  assert.deepEqual(seen.console, [], "console");
  assert.deepEqual(seen.errors, [], "uncaught exceptions");
  assert.doesNotMatch(await page.textContent("#error"), /unreachable|RuntimeError|recursive use/);
}

/**
 * The context's active service worker, recording the violations it reports (it runs under the
 * policy its own script was served with). `assertCleanAndEnforced` checks that it reported
 * none, then that a fetch to another origin is refused and reported.
 */
async function watchServiceWorker(context) {
  const worker = context.serviceWorkers()[0] ?? (await context.waitForEvent("serviceworker"));
  await worker.evaluate(() => {
    self.violations = [];
    self.addEventListener("securitypolicyviolation", (e) => {
      self.violations.push(`${e.effectiveDirective} refused ${e.blockedURI}`);
    });
  });
  return {
    async assertCleanAndEnforced() {
      assert.deepEqual(await worker.evaluate(() => self.violations), [], "service worker");
      const probe = await worker.evaluate(async () => {
        const fetched = await fetch("http://127.0.0.1:9/").then(() => true, () => false);
        // The event is queued as a task: let it run.
        await new Promise((ok) => setTimeout(ok, 100));
        return { fetched, violations: self.violations };
      });
      assert.deepEqual(probe, { fetched: false, violations: ["connect-src refused http://127.0.0.1:9/"] });
    },
  };
}

/** Polls `condition` (in node) until it holds. */
async function until(condition, what, timeout = 5_000) {
  for (const end = Date.now() + timeout; !(await condition()); ) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 20));
  }
}

/**
 * The policy is in force in `page` and its violations reach `seen`: an inline script and a
 * style attribute are refused and reported. Clears those expected reports.
 */
async function assertCspEnforced(page, seen) {
  const applied = await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.inlineScriptRan = true";
    document.head.append(script);
    const p = document.createElement("p");
    p.setAttribute("style", "color: rgb(255, 0, 0)");
    document.body.append(p);
    const styled = getComputedStyle(p).color === "rgb(255, 0, 0)";
    script.remove();
    p.remove();
    return { script: window.inlineScriptRan === true, styled };
  });
  assert.deepEqual(applied, { script: false, styled: false });
  await until(() => seen.violations.length >= 2, "the probe's two violation reports");
  const directives = seen.violations.map((v) => v.split(" ")[0]).sort();
  assert.deepEqual(directives, ["script-src-elem", "style-src-attr"], seen.violations.join("\n"));
  // Chromium also logs each refusal to the console.
  await until(() => seen.console.length >= 2, "the probe's console messages");
  seen.violations.length = 0;
  seen.console.length = 0;
}

async function ready(page) {
  await page.waitForSelector("body[data-state]", { timeout: 20_000 });
  const state = await page.getAttribute("body", "data-state");
  if (state !== "ready") {
    throw new Error(`page not ready: ${await page.textContent("#error")}`);
  }
}

async function typeQuery(page, query) {
  const input = page.locator("#q");
  await input.fill("");
  await input.pressSequentially(query);
}

async function optionTexts(page) {
  return page.locator('#q-listbox [role="option"] .text').allTextContents();
}

test("every response carries exactly the required policy", async () => {
  for (const path of ["", "index.html", "app.js", "live-index.js", "sw.js", "style.css",
    "pkg/edgesuggest_wasm.js", "pkg/edgesuggest_wasm_bg.wasm", "data/cities.manifest.json",
    BASE_CHUNK.slice(1), "missing"]) {
    const response = await fetch(base + path);
    assert.equal(response.headers.get("content-security-policy"), CSP, path);
    assert.equal(response.status, path === "missing" ? 404 : 200, path);
    await response.arrayBuffer();
  }
});

test("typing shows the oracle's top suggestions in order, with the match marked", async () => {
  const context = await browser.newContext();
  const { page, seen } = await openPage(context);
  await ready(page);
  // The page's defaults: typo tolerance on ("auto"), no filter, a word-start index.
  for (const query of ["new", "sao", "san j", "MÜN", "los ", "al ah", "b", "york", "sna paulo", "lodnon"]) {
    await typeQuery(page, query);
    const want = oracle.search(query, { k: 10, fuzzy: "auto", wordStarts: true });
    assert.ok(want.length > 0, `oracle has results for ${query}`);
    await page.waitForFunction(
      (n) => document.querySelectorAll('#q-listbox [role="option"]').length === n,
      want.length,
    );
    assert.deepEqual(await optionTexts(page), want, `query ${JSON.stringify(query)}`);
    assert.equal(await page.getAttribute("#q", "aria-expanded"), "true");
  }
  await typeQuery(page, "sao");
  assert.equal(await page.locator("#q-listbox [role=option] mark").first().textContent(), "São");
  assert.match(await page.textContent("#status"), /suggestions for “sao” in \d+ µs/);
  await page.screenshot({ path: join(process.env.ARTIFACTS, "page.png") });
  await assertClean(page, seen);
  await assertCspEnforced(page, seen);
  await context.close();
});

test("keyboard and mouse navigation select suggestions", async () => {
  const context = await browser.newContext();
  const { page, seen } = await openPage(context);
  await ready(page);
  const input = page.locator("#q");
  await typeQuery(page, "new");
  const texts = await optionTexts(page);
  const ids = await page.locator('#q-listbox [role="option"]').evaluateAll((els) => els.map((e) => e.id));
  await input.press("ArrowDown");
  assert.equal(await input.getAttribute("aria-activedescendant"), ids[0]);
  assert.equal(await page.getAttribute(`#${ids[0]}`, "aria-selected"), "true");
  await input.press("ArrowDown");
  assert.equal(await input.getAttribute("aria-activedescendant"), ids[1]);
  await input.press("ArrowUp");
  await input.press("ArrowUp");
  assert.equal(await input.getAttribute("aria-activedescendant"), ids.at(-1), "ArrowUp wraps");
  await input.press("ArrowDown");
  await input.press("Enter");
  assert.equal(await input.inputValue(), texts[0]);
  assert.equal(await input.getAttribute("aria-expanded"), "false");
  assert.equal(await page.locator("#q-listbox").isHidden(), true);

  await typeQuery(page, "new");
  await input.press("Escape");
  assert.equal(await input.getAttribute("aria-expanded"), "false");
  assert.equal(await input.getAttribute("aria-activedescendant"), null);

  await typeQuery(page, "new");
  await page.locator('#q-listbox [role="option"]').nth(2).click();
  assert.equal(await input.inputValue(), texts[2]);
  await assertClean(page, seen);
  await assertCspEnforced(page, seen);
  await context.close();
});

test("hostile phrases render as text and run nothing", async () => {
  const context = await browser.newContext();
  const { page, seen } = await openPage(context, "?segment=segments/hostile.seg");
  const dialogs = [];
  page.on("dialog", (d) => {
    dialogs.push(d.message());
    d.dismiss();
  });
  await ready(page);
  await typeQuery(page, "<img");
  await page.waitForSelector('#q-listbox [role="option"]');
  assert.deepEqual(await optionTexts(page), ["<img src=x onerror=alert(1)>"]);
  await typeQuery(page, "<scr");
  await page.waitForSelector('#q-listbox [role="option"]');
  assert.deepEqual(await optionTexts(page), ["<script>alert(2)</script> Springs"]);
  await typeQuery(page, "quote");
  await page.waitForSelector('#q-listbox [role="option"]');
  assert.deepEqual(await optionTexts(page), ['Quote "Town" & <b>Bold</b>']);
  assert.equal(await page.locator("#q-listbox img, #q-listbox script, #q-listbox b").count(), 0);
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, []);
  await assertClean(page, seen);
  await context.close();
});

test("with the network off, a reload through the service worker still suggests, under the policy", async () => {
  const context = await browser.newContext();
  const { page, seen } = await openPage(context);
  await ready(page);
  await page.waitForSelector("body[data-offline=ready]", { timeout: 20_000 });
  const worker = await watchServiceWorker(context);
  await context.setOffline(true);
  const response = await page.reload();
  // The service worker answered from its cache, with the policy the page was cached with.
  assert.equal(response.fromServiceWorker(), true);
  assert.equal(response.headers()["content-security-policy"], CSP);
  await ready(page);
  await typeQuery(page, "sao");
  await page.waitForSelector('#q-listbox [role="option"]');
  assert.equal((await optionTexts(page))[0], "São Paulo");
  await page.locator("#q").press("ArrowDown");
  await page.locator("#q").press("Enter");
  assert.equal(await page.inputValue("#q"), "São Paulo");
  // The base came from the cache of verified chunks, which holds exactly the live stack.
  assert.deepEqual(await cachedChunks(page), [BASE_CHUNK]);
  const caches = await page.evaluate(() => caches.keys());
  assert.equal(caches.filter((k) => k.startsWith("edgesuggest-shell-")).length, 1, caches.join());
  await assertClean(page, seen);
  await assertCspEnforced(page, seen);
  await worker.assertCleanAndEnforced();
  await context.close();
});

test("a corrupt, malformed or missing segment shows a readable error; the input stays usable", async () => {
  const context = await browser.newContext();
  for (const [path, message] of [
    ["?segment=segments/corrupt.seg", /checksum mismatch/],
    // Passes the checksum, fails open's validation of the FST's nodes.
    ["?segment=segments/malformed.seg", /segment is corrupt: fst: address \d+: /],
    ["?segment=segments/missing.seg", /HTTP 404/],
  ]) {
    const { page, seen } = await openPage(context, path);
    await page.waitForSelector("body[data-state=error]", { timeout: 20_000 });
    assert.equal(await page.isVisible("#error"), true);
    const error = await page.textContent("#error");
    assert.match(error, message);
    assert.match(error, /^Could not load suggestions: /);
    if (path.includes("malformed")) assert.doesNotMatch(error, /checksum/);
    assert.equal(await page.getAttribute("#error", "role"), "alert");
    // Not a dead widget: a plain text field, described by the error, that takes typing and
    // keys without opening a popup or throwing.
    const input = page.locator("#q");
    assert.equal(await input.isEditable(), true);
    assert.equal(await input.getAttribute("aria-describedby"), "error");
    assert.equal(await input.getAttribute("placeholder"), "Suggestions unavailable");
    await typeQuery(page, "new york");
    await input.press("ArrowDown");
    await input.press("Enter");
    assert.equal(await input.inputValue(), "new york");
    assert.equal(await input.getAttribute("aria-expanded"), "false");
    assert.equal(await page.locator("#q-listbox").isHidden(), true);
    assert.equal(await page.textContent("#error"), error, "the message stays");
    await assertClean(page, seen);
    await page.close();
  }
  await context.close();
});

test("with an API configured, a malformed segment falls back to the API, allowed by connect-src", async () => {
  const { writeFileSync, rmSync } = await import("node:fs");
  // A stand-in for the edge worker on another origin (another port): one suggestion per query.
  const api = createServer((req, res) => {
    const q = new URL(req.url, "http://x").searchParams.get("q") ?? "";
    res.writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" });
    res.end(JSON.stringify({
      suggestions: [{ text: `${q} (from the API)`, score: 1, highlight: [0, q.length], edits: 0, word_start: false }],
    }));
  });
  await new Promise((ok) => api.listen(0, "127.0.0.1", ok));
  const apiOrigin = `http://127.0.0.1:${api.address().port}`;
  const config = join(process.env.SITE_DIR, "site-config.json");
  writeFileSync(config, JSON.stringify({ api: apiOrigin }));
  const context = await browser.newContext();
  try {
    const { page, seen } = await openPage(
      context,
      "?segment=segments/malformed.seg",
      `${CSP}; connect-src 'self' ${apiOrigin}`,
    );
    await ready(page);
    assert.equal(await page.getAttribute("body", "data-mode"), "api");
    assert.match(
      await page.textContent("#status"),
      /edge API at .* \(in-page load failed: segment is corrupt: fst: /,
    );
    await typeQuery(page, "new");
    // Each keystroke asks the API: wait for the answer to the whole query, which must be the
    // one left showing (an earlier keystroke's answer arriving last must not replace it).
    const texts = async () => (await optionTexts(page)).join("|");
    await until(async () => (await texts()) === "new (from the API)", "the answer for “new”");
    await new Promise((ok) => setTimeout(ok, 200));
    assert.deepEqual(await optionTexts(page), ["new (from the API)"]);
    await assertClean(page, seen);
    await assertCspEnforced(page, seen);
  } finally {
    rmSync(config, { force: true });
    await context.close();
    api.close();
  }
});

/** The paths of the segment chunks the page keeps for offline use. */
async function cachedChunks(page) {
  return page.evaluate(async () => {
    const cache = await caches.open("edgesuggest-segments");
    return (await cache.keys()).map((r) => new URL(r.url).pathname).sort();
  });
}

/**
 * Publishes version `version` of the site's index into the served directory: the site's base,
 * then the segments named `kinds` (UPDATES_DIR/<kind>.seg).
 */
async function publish(version, ...kinds) {
  const segments = ["base", ...kinds].map((kind) => ({
    kind,
    bytes: new Uint8Array(readFileSync(join(process.env.UPDATES_DIR, `${kind}.seg`))),
  }));
  return publishStatic(process.env.SITE_DIR, { index: "cities", version, parent: version - 1, segments });
}

/** Makes the page re-read the manifest (it does when its window gains focus). */
async function recheck(page, version) {
  await page.evaluate(() => dispatchEvent(new Event("focus")));
  if (version !== undefined) {
    await page.waitForSelector(`body[data-version="${version}"][data-offline=ready]`, { timeout: 20_000 });
  }
}

/** The suggestions' texts for `query`, once the page reported answering it. */
async function answers(page, query) {
  await typeQuery(page, query);
  await page.waitForFunction(
    (q) => document.querySelector("#status").textContent.includes(`for “${q}”`),
    query,
  );
  return optionTexts(page);
}

test("the page picks up a delta without re-downloading its base (count the requests)", async () => {
  const context = await browser.newContext();
  const start = served.length;
  try {
    const { page, seen } = await openPage(context);
    await ready(page);
    await page.waitForSelector("body[data-version='1'][data-offline=ready]", { timeout: 20_000 });
    assert.equal((await answers(page, "par"))[0], "Paris");
    assert.deepEqual(await answers(page, "edgeport"), []);

    // Version 2: the base and a delta that adds "Edgeport Harbour" and deletes "Paris".
    const v2 = await publish(2, "delta");
    const deltaChunk = `/data/${v2.segments[1].chunks[0]}`;
    const before = served.length;
    await recheck(page, 2);
    assert.deepEqual(await answers(page, "edgeport"), ["Edgeport Harbour"]);
    assert.ok(!(await answers(page, "par")).includes("Paris"), "the deleted phrase is gone");
    // The base reached the network once in all (the first load); the update read the
    // manifest and the delta only.
    const requests = served.slice(start);
    assert.equal(requests.filter((p) => p === BASE_CHUNK).length, 1, requests.join("\n"));
    const update = served.slice(before);
    assert.ok(update.includes("/data/cities.manifest.json"), update.join("\n"));
    assert.deepEqual(update.filter((p) => p.startsWith("/data/seg/")), [deltaChunk]);
    assert.deepEqual(await cachedChunks(page), [BASE_CHUNK, deltaChunk].sort());

    // Offline, a reload answers from the kept version 2: the service worker serves the page,
    // the last good manifest and both chunks from its caches.
    await context.setOffline(true);
    const fetchedBefore = served.length;
    await page.reload();
    await ready(page);
    assert.equal(await page.getAttribute("body", "data-version"), "2");
    assert.deepEqual(await answers(page, "edgeport"), ["Edgeport Harbour"]);
    assert.ok(!(await answers(page, "par")).includes("Paris"));
    // A re-check offline reads the kept manifest: nothing changes, the page keeps answering.
    await recheck(page);
    await page.waitForSelector("body[data-update]");
    assert.equal(await page.getAttribute("body", "data-version"), "2");
    assert.deepEqual(await answers(page, "edgeport"), ["Edgeport Harbour"]);
    assert.equal(served.length, fetchedBefore, "nothing reached the network offline");
    await assertClean(page, seen);
  } finally {
    writeFileSync(MANIFEST, VERSION_1);
    await context.close();
  }
});

/** No suggestion starts with the blocklist's prefix "new y". */
function blockedPrefixHidden(texts) {
  return texts.length > 0 && texts.every((t) => !t.toLowerCase().startsWith("new y"));
}

test("a blocklist in the manifest hides its phrases; a failed update keeps the last good stack", async () => {
  const context = await browser.newContext();
  try {
    const { page, seen } = await openPage(context);
    await ready(page);
    await page.waitForSelector("body[data-version='1'][data-offline=ready]", { timeout: 20_000 });
    assert.equal((await answers(page, "lond"))[0], "London");
    assert.ok((await answers(page, "new y")).includes("New York City"));

    // Version 3: the base, the delta and a blocklist ("london", "new y*").
    await publish(3, "delta", "blocklist");
    await recheck(page, 3);
    assert.ok(!(await answers(page, "lond")).includes("London"), "a blocked phrase");
    // Word-start and typo matches ("East New York", "New Delhi") are not under the prefix.
    assert.ok(blockedPrefixHidden(await answers(page, "new y")), "a blocked prefix");
    assert.ok((await answers(page, "new")).length > 0, "other phrases still answer");
    assert.deepEqual(await answers(page, "edgeport"), ["Edgeport Harbour"]);

    // Version 4 names a delta whose chunk is missing, version 5 one whose bytes do not match
    // its hash, version 6 is not JSON: each check fails and version 3 keeps answering.
    const v4 = await publish(4, "delta", "blocklist");
    const v4Manifest = readFileSync(MANIFEST, "utf8");
    const fake = "f".repeat(64);
    const missing = v4Manifest.replaceAll(v4.segments[1].hash, fake);
    const { copyFileSync, mkdirSync, rmSync } = await import("node:fs");
    const badVersions = [
      ["missing chunk", missing.replace('"version":4', '"version":5'), /HTTP 404/],
      ["wrong bytes", missing.replace('"version":4', '"version":6'), /arrived as \d+ bytes/],
      ["not JSON", "{\"manifest_version\": 2,", /manifest is not valid JSON/],
    ];
    for (const [what, text, reason] of badVersions) {
      if (what === "wrong bytes") {
        // The base's bytes under the delta's fake hash: served, but not what the hash names.
        const chunk = join(process.env.SITE_DIR, "data", v4.segments[1].chunks[0].replace(v4.segments[1].hash, fake));
        mkdirSync(join(chunk, ".."), { recursive: true });
        copyFileSync(join(process.env.SITE_DIR, BASE_CHUNK), chunk);
      }
      writeFileSync(MANIFEST, text);
      await page.evaluate(() => delete document.body.dataset.update);
      await recheck(page);
      await page.waitForSelector("body[data-update=failed]", { timeout: 20_000 });
      assert.match(await page.textContent("#status"), reason, what);
      assert.equal(await page.getAttribute("body", "data-version"), "3", what);
      assert.ok(blockedPrefixHidden(await answers(page, "new y")), what);
      assert.deepEqual(await answers(page, "edgeport"), ["Edgeport Harbour"], what);
    }
    rmSync(join(process.env.SITE_DIR, "data", "seg", fake), { recursive: true, force: true });
    // A bad download never enters the offline cache.
    assert.ok((await cachedChunks(page)).every((p) => !p.includes(fake)));
    await assertClean(page, seen);
  } finally {
    writeFileSync(MANIFEST, VERSION_1);
    await context.close();
  }
});

test("the category filter and the typo switch change the answers like the oracle's", async () => {
  const context = await browser.newContext();
  const { page, seen } = await openPage(context);
  await ready(page);
  await page.selectOption("#cat", "capital");
  for (const query of ["b", "par", "lodnon", "new"]) {
    await typeQuery(page, query);
    const want = oracle.search(query, { k: 10, fuzzy: "auto", wordStarts: true, categories: ["capital"] });
    await page.waitForFunction(
      (n) => document.querySelectorAll('#q-listbox [role="option"]').length === n,
      want.length,
    );
    assert.deepEqual(await optionTexts(page), want, `capital ${query}`);
  }
  // Tags show the categories; a typo-corrected match carries the marker.
  await typeQuery(page, "lodnon");
  await page.waitForSelector("#q-listbox .typo");
  assert.match(await page.locator("#q-listbox [role=option]").first().textContent(), /London.*capital/);
  await page.keyboard.press("Escape"); // close the popup that covers the controls
  await page.selectOption("#cat", "");
  await page.keyboard.press("Escape"); // the change re-asked, in the input
  await page.uncheck("#fuzzy");
  await typeQuery(page, "lodnon");
  await page.waitForFunction(() => document.querySelector("#q-listbox").hidden || document.querySelectorAll('#q-listbox [role="option"]').length === 0);
  // Word start: the matched word is marked, and choosing shows the payload.
  await typeQuery(page, "york");
  const ny = page.locator("#q-listbox [role=option]", { hasText: "New York City" });
  assert.equal(await ny.locator("mark").textContent(), "York");
  await ny.dispatchEvent("mousedown");
  assert.match(await page.textContent("#picked"), /New York City \(US, 40\.714, -74\.006\)/);
  await assertClean(page, seen);
  await context.close();
});

test("the widget logs one impression per commit (not per keystroke), clicks and searches, batched by beacon", async () => {
  const { rmSync } = await import("node:fs");
  // A stand-in for the edge worker: answers carry a response id and an arm; beacons are kept.
  const beacons = [];
  const api = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    if (req.method === "POST" && url.pathname === "/v1/events") {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        beacons.push({ type: req.headers["content-type"], lines: body.split("\n").map((l) => JSON.parse(l)) });
        res.writeHead(202).end();
      });
      return;
    }
    const q = url.searchParams.get("q") ?? "";
    const suggestions = q.startsWith("zz") ? [] : [`${q} one`, `${q} two`].map((text) => (
      { text, score: 1, highlight: [0, q.length], edits: 0, word_start: false }));
    res.writeHead(200, { "content-type": "application/json", "access-control-allow-origin": "*" });
    res.end(JSON.stringify({
      query: q, index: "cities", version: 7, suggestions, truncated: false, took_us: 42,
      response_id: `r-${q}-${url.searchParams.get("uid")}`, experiment: "exp", arm: "B",
    }));
  });
  await new Promise((ok) => api.listen(0, "127.0.0.1", ok));
  const apiOrigin = `http://127.0.0.1:${api.address().port}`;
  const config = join(process.env.SITE_DIR, "site-config.json");
  writeFileSync(config, JSON.stringify({ api: apiOrigin }));
  const context = await browser.newContext();
  try {
    const { page, seen } = await openPage(context, "?mode=api", `${CSP}; connect-src 'self' ${apiOrigin}`);
    await ready(page);
    assert.equal(await page.getAttribute("body", "data-events"), "on");
    const uid = await page.evaluate(() => localStorage.getItem("es_uid"));
    assert.match(uid, /^[0-9a-f]{32}$/);
    await typeQuery(page, "new");
    await until(async () => (await optionTexts(page)).join() === "new one,new two", "answers for new");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("ArrowDown");
    await page.keyboard.press("Enter"); // picks "new two", position 1
    await typeQuery(page, "zzq");
    await until(async () => (await page.textContent("#status")).startsWith("0 suggestions for “zzq”"), "an empty answer");
    await page.keyboard.press("Enter"); // commits the typed text
    await typeQuery(page, "par");
    await until(async () => (await optionTexts(page)).length === 2, "answers for par");
    await page.locator("#status").click(); // leaves the box
    await until(() => beacons.length > 0, "a beacon", 10_000);
    const events = beacons.flatMap((b) => b.lines);
    assert.match(beacons[0].type, /^text\/plain/);
    const strip = ({ ts, user, session, ...rest }) => {
      assert.ok(ts > 1.7e12 && user === uid && /^[0-9a-f]{32}$/.test(session));
      return rest;
    };
    const ids = (q) => ({ response_id: `r-${q}-${uid}`, variant: "B", experiment: "exp", index: "cities", version: "7" });
    assert.deepEqual(events.map(strip), [
      { type: "impression", q: "new", suggestions: ["new one", "new two"], took_us: 42, ...ids("new") },
      { type: "click", q: "new", text: "new two", position: 1, ...ids("new") },
      { type: "search", q: "new two", ...ids("new") },
      { type: "impression", q: "zzq", suggestions: [], took_us: 42, ...ids("zzq") },
      { type: "search", q: "zzq", ...ids("zzq") },
      { type: "impression", q: "par", suggestions: ["par one", "par two"], took_us: 42, ...ids("par") },
    ]);
    await assertClean(page, seen);
  } finally {
    rmSync(config, { force: true });
    await context.close();
    api.close();
  }
});
