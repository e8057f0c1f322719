// The npm package as a user gets it: its tarball installed into a fresh project, then
//   (a) Node answers every query of the fixture, through `import` and through `require`, under
//       the node running the tests and under Node 22;
//   (b) a page using the engine and the widget, bundled by esbuild, in headless Chromium;
//   (c) a Worker module, bundled for the `workerd` condition, in Miniflare (workerd);
// each compared with the native CLI's answers (`edgesuggest query --batch`), an oracle
// independent of the package; and a strict TypeScript consumer of every entry compiles.
// Run by `./build.sh test-npm` with NPM_TARBALL, EDGESUGGEST_CLI, DATA_TSV, QUERIES (one query
// a line), EDGESUGGEST_NPM (playwright-core), EDGESUGGEST_BUNDLER (esbuild, typescript), NODE22 and
// EDGESUGGEST_WORKER_NPM (miniflare).
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const env = process.env;
const here = dirname(fileURLToPath(import.meta.url));
const requireFrom = (dir) => createRequire(join(dir, "noop.js"));
const { chromium } = requireFrom(env.EDGESUGGEST_NPM)("playwright-core");
const esbuild = requireFrom(env.EDGESUGGEST_BUNDLER)("esbuild");

const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-dev-shm-usage",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

const project = mkdtempSync(join(tmpdir(), "edgesuggest-npm-"));
const segment = join(project, "cities.seg");
/** The CLI's answers, one `{query, suggestions, truncated}` per query of the fixture. */
let expected;

const run = (file, args, options = {}) =>
  execFileSync(file, args, { encoding: "utf8", maxBuffer: 64 << 20, cwd: project, ...options });

/** The native CLI's answers (k = 10) to `queries`, through a batch file. */
function cliAnswers(queries) {
  const file = join(project, "cli-queries.txt");
  writeFileSync(file, queries.join("\n") + "\n");
  return run(env.EDGESUGGEST_CLI, ["query", segment, "--batch", file, "-k", "10"])
    .split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

/** Compares answers `{suggestions, truncated}` with the CLI's, query by query, field by field
 * (JSON of both, so the order of fields counts too). */
function assertSameAnswers(got, label) {
  assert.equal(got.length, expected.length, `${label}: one answer per query`);
  for (let i = 0; i < expected.length; i++) {
    const want = expected[i];
    assert.equal(JSON.stringify(got[i].suggestions), JSON.stringify(want.suggestions), `${label}: query ${JSON.stringify(want.query)}`);
    assert.equal(got[i].truncated, want.truncated, `${label}: truncated for ${JSON.stringify(want.query)}`);
  }
}

before(() => {
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true }));
  // --offline: the package has no dependencies, so installing it needs no registry.
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--silent", resolve(env.NPM_TARBALL)]);
  run(env.EDGESUGGEST_CLI, ["build", env.DATA_TSV, "-o", segment, "-q", "--word-starts"]);
  // The fixture's lines are the queries (a trailing space is part of one); the CLI echoes each.
  const queries = readFileSync(env.QUERIES, "utf8").replace(/\n$/, "").split("\n");
  expected = cliAnswers(queries);
  assert.ok(expected.length >= 500, `only ${expected.length} queries`);
  assert.ok(expected.filter((a) => a.suggestions.length).length > 400, "too few queries have answers");
  writeFileSync(join(project, "queries.json"), JSON.stringify(expected.map((a) => a.query)));
});

after(() => rmSync(project, { recursive: true, force: true }));

test("the tarball ships the entries its exports name, and no dependencies", () => {
  const manifest = JSON.parse(readFileSync(join(project, "node_modules/edgesuggest/package.json"), "utf8"));
  assert.equal(manifest.name, "edgesuggest");
  assert.equal(manifest.license, "MIT OR Apache-2.0");
  assert.equal(manifest.dependencies, undefined);
  const files = [];
  const collect = (value) => (typeof value === "string" ? files.push(value) : Object.values(value).forEach(collect));
  collect(manifest.exports);
  for (const file of new Set(files)) {
    readFileSync(join(project, "node_modules/edgesuggest", file)); // throws if absent
  }
});

// The answers of Node scripts in the project, as a user would write them.
const NODE_ESM = `
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { Suggester } from "edgesuggest";
// A server with the segment at /cities.seg and nothing else.
const server = createServer((req, res) => {
  if (req.url === "/cities.seg") res.end(readFileSync("cities.seg"));
  else res.writeHead(404).end();
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const origin = "http://127.0.0.1:" + server.address().port;
const fromBytes = await Suggester.fromBytes(readFileSync("cities.seg"));
const fromUrl = await Suggester.fromUrl(origin + "/cities.seg");
const missing = await Suggester.fromUrl(origin + "/missing.seg").then(() => "loaded", (e) => e.message);
server.close();
const answer = (s, q) => { const r = s.suggest(q, { k: 10 }); return { suggestions: r, truncated: r.truncated }; };
const queries = JSON.parse(readFileSync("queries.json", "utf8"));
console.log(JSON.stringify({ missing, bytes: queries.map((q) => answer(fromBytes, q)), url: queries.map((q) => answer(fromUrl, q)) }));
`;
const NODE_CJS = `
const { readFileSync } = require("node:fs");
const { pathToFileURL } = require("node:url");
const { Suggester } = require("edgesuggest");
Suggester.fromUrl(pathToFileURL("cities.seg")).then((s) => {
  const queries = JSON.parse(readFileSync("queries.json", "utf8"));
  console.log(JSON.stringify(queries.map((q) => { const r = s.suggest(q, { k: 10 }); return { suggestions: r, truncated: r.truncated }; })));
});
`;

test("Node: import and require answer like the CLI, under this node and Node 22", () => {
  writeFileSync(join(project, "answer.mjs"), NODE_ESM);
  writeFileSync(join(project, "answer.cjs"), NODE_CJS);
  for (const node of new Set([process.execPath, env.NODE22])) {
    const esm = JSON.parse(run(node, ["answer.mjs"]));
    const version = run(node, ["--version"]).trim();
    assertSameAnswers(esm.bytes, `${version}, import, fromBytes`);
    assertSameAnswers(esm.url, `${version}, import, fromUrl(http:)`);
    assert.match(esm.missing, /^edgesuggest: fetching the segment http:\/\/127\.0\.0\.1:\d+\/missing\.seg failed: HTTP 404/);
    assertSameAnswers(JSON.parse(run(node, ["answer.cjs"])), `${version}, require, fromUrl(file:)`);
  }
});

// A TypeScript consumer of every entry: the package's types must compile under strict mode
// with both module resolutions a project is likely to use.
const CONSUMER_TS = `
import { Suggester, initWasm, type Suggestion, type SuggestOptions } from "edgesuggest";
import { attach, attachAutosuggest, type PickEvent, type ImpressionEvent } from "edgesuggest/widget";
import wasm from "edgesuggest/wasm";

export async function main(input: HTMLInputElement): Promise<string[]> {
  await initWasm(wasm);
  const suggester = await Suggester.fromUrl("/cities.seg", { wasm, init: { cache: "no-cache" } });
  const stack = await Suggester.fromBytes([new Uint8Array(0), new ArrayBuffer(0)]);
  stack.free();
  const options: SuggestOptions = { k: 5, fuzzy: "auto", categories: ["capital"] };
  const found = suggester.suggest("new", options);
  const first: Suggestion | undefined = found[0];
  const truncated: boolean = found.truncated;
  const widget = attach(input, {
    suggester,
    suggestOptions: options,
    onPick: (pick: PickEvent) => console.log(pick.text, pick.position, pick.suggestion.score),
    onImpression: (event: ImpressionEvent) => console.log(event.q, event.suggestions),
    onEvent: (event) => console.log(event.type),
  });
  attachAutosuggest(input, widget.listbox, { suggest: (q) => suggester.suggest(q), onSelect: (s) => console.log(s.text) });
  console.log(first?.highlight, truncated, suggester.info().segments[0]?.kind);
  return widget.results.map((s) => s.text);
}
`;

test("TypeScript: the types of every entry compile in a strict consumer", () => {
  writeFileSync(join(project, "consumer.mts"), CONSUMER_TS);
  const tsc = join(env.EDGESUGGEST_BUNDLER, "typescript", "bin", "tsc");
  for (const [module, resolution] of [["nodenext", "nodenext"], ["esnext", "bundler"]]) {
    const args = [tsc, "--noEmit", "--strict", "--target", "es2022",
      "--lib", "es2022,dom,esnext.disposable", "--module", module, "--moduleResolution", resolution, "consumer.mts"];
    try {
      run(process.execPath, args);
    } catch (e) {
      assert.fail(`tsc (--module ${module}) failed:\n${e.stdout}${e.stderr}`);
    }
  }
});

// The page: the engine and the widget from the package, its CSS themed by a custom property.
const PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>edgesuggest widget</title>
<link rel="stylesheet" href="dist/app.css">
<style>.field { --es-accent: rgb(11, 114, 133); }</style>
<script type="module" src="dist/app.js"></script></head>
<body><div class="field"><label for="q">City</label><input id="q"></div></body></html>`;
const PAGE_JS = `
import { Suggester } from "edgesuggest";
import { attach } from "edgesuggest/widget";
import "edgesuggest/widget.css";
// esbuild does not rewrite new URL("….wasm", import.meta.url): its file loader (with a
// public path) gives the URL.
import wasm from "edgesuggest/wasm";

window.events = [];
window.domPicks = [];
try {
  await Suggester.fromUrl("/missing.seg", { wasm });
} catch (e) {
  window.missingError = e.message;
}
const suggester = await Suggester.fromUrl("/cities.seg", { wasm });
const input = document.querySelector("#q");
window.widget = attach(input, {
  suggester,
  suggestOptions: { k: 10 },
  onPick: ({ q, text, position }) => window.events.push({ type: "pick", q, text, position }),
  onImpression: (event) => window.events.push(event),
});
input.addEventListener("edgesuggest:pick", (e) => window.domPicks.push(e.detail.text));
window.ready = true;
`;

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".wasm": "application/wasm" };

/** Serves `root` on 127.0.0.1 (a free port), and the segment at /cities.seg. */
function serveStatic(root) {
  return new Promise((resolve) => {
    const server = createServer((req, res) => {
      const path = new URL(req.url, "http://x").pathname;
      const file = path === "/cities.seg" ? segment : join(root, normalize(path === "/" ? "/index.html" : path));
      try {
        const body = readFileSync(file);
        res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" });
        res.end(body);
      } catch {
        res.writeHead(404, { "content-type": "text/plain" });
        res.end("not found");
      }
    });
    server.listen(0, "127.0.0.1", () => resolve(server));
  });
}

test("browser: a page bundled by esbuild shows the CLI's answers in the widget", async () => {
  const page = join(project, "page");
  mkdirSync(page, { recursive: true });
  writeFileSync(join(page, "index.html"), PAGE_HTML);
  writeFileSync(join(page, "app.js"), PAGE_JS);
  await esbuild.build({
    absWorkingDir: project,
    entryPoints: [join(page, "app.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: join(page, "dist"),
    // The file loader's URLs are relative to the page unless given the bundle's public path.
    loader: { ".wasm": "file" },
    publicPath: "/dist",
    logLevel: "error",
  });
  const server = await serveStatic(page);
  const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
  try {
    const tab = await browser.newPage();
    const errors = [];
    const consoleLines = [];
    tab.on("pageerror", (e) => errors.push(e));
    tab.on("console", (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    await tab.goto(`http://127.0.0.1:${server.address().port}/`);
    await tab.waitForFunction(() => window.ready === true, null, { timeout: 15_000 }).catch((e) => {
      throw new Error(`the page did not start: ${[...errors, ...consoleLines].join("\n")}`, { cause: e });
    });
    const missing = await tab.evaluate(() => window.missingError);
    assert.match(missing, /\/missing\.seg/);
    assert.match(missing, /HTTP 404/);

    const query = "new";
    const [want] = cliAnswers([query]);
    const wantTexts = want.suggestions.map((s) => s.text);
    assert.ok(wantTexts.length >= 3, `the CLI has ${wantTexts.length} answers for ${query}`);
    const input = tab.locator("#q");
    await input.pressSequentially(query);
    const options = tab.locator('.es-listbox [role="option"]');
    await tab.waitForFunction((n) => document.querySelectorAll('.es-listbox [role="option"]').length === n, wantTexts.length);
    assert.deepEqual(await options.locator(".text").allTextContents(), wantTexts);
    assert.equal(await input.getAttribute("role"), "combobox");
    assert.equal(await input.getAttribute("aria-expanded"), "true");

    await input.press("ArrowDown");
    await input.press("ArrowDown");
    const active = options.nth(1);
    assert.equal(await input.getAttribute("aria-activedescendant"), await active.getAttribute("id"));
    assert.equal(await active.getAttribute("aria-selected"), "true");
    // widget.css themed by the page's --es-accent.
    assert.equal(await active.evaluate((el) => getComputedStyle(el).backgroundColor), "rgb(11, 114, 133)");
    await input.press("Enter");

    const events = await tab.evaluate(() => window.events);
    assert.deepEqual(events.find((e) => e.type === "impression"), { type: "impression", q: query, suggestions: wantTexts });
    assert.deepEqual(events.find((e) => e.type === "pick"), { type: "pick", q: query, text: wantTexts[1], position: 1 });
    assert.deepEqual(await tab.evaluate(() => window.domPicks), [wantTexts[1]]);
    assert.equal(await input.inputValue(), wantTexts[1]);
    assert.equal(await tab.locator(".es-listbox").isHidden(), true);

    // destroy(): a plain input again, and typing shows nothing.
    await tab.evaluate(() => window.widget.destroy());
    assert.equal(await tab.locator(".es-listbox").count(), 0);
    assert.equal(await input.getAttribute("role"), null);
    await input.fill("");
    await input.pressSequentially("san");
    await tab.waitForTimeout(100);
    assert.equal(await tab.locator('[role="option"]').count(), 0);
    assert.equal((await tab.evaluate(() => window.events)).length, events.length, "no events after destroy");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    server.close();
  }
});

// A Worker that loads the segment from KV once per isolate and answers a batch of queries.
const WORKER_JS = `
import { Suggester } from "edgesuggest";

let loading = null;

export default {
  async fetch(request, env) {
    loading ??= env.SEGMENTS.get("cities.seg", "arrayBuffer").then((bytes) => Suggester.fromBytes(bytes));
    const suggester = await loading;
    const queries = await request.json();
    return Response.json(queries.map((q) => {
      const r = suggester.suggest(q, { k: 10 });
      return { suggestions: r, truncated: r.truncated };
    }));
  },
};
`;

test("Worker: a module importing the package answers like the CLI in Miniflare", async () => {
  const dir = join(project, "worker");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "index.js"), WORKER_JS);
  await esbuild.build({
    absWorkingDir: project,
    entryPoints: [join(dir, "index.js")],
    bundle: true,
    format: "esm",
    platform: "browser",
    conditions: ["workerd"],
    target: "es2022",
    outdir: join(dir, "dist"),
    // workerd imports the .wasm itself, as a compiled module: keep it a file next to the bundle.
    loader: { ".wasm": "copy" },
    logLevel: "error",
  });
  const out = run(env.NODE22, [join(here, "miniflare-run.mjs"), join(dir, "dist", "index.js"), segment, join(project, "queries.json")], {
    env: { ...env, EDGESUGGEST_WORKER_NPM: env.EDGESUGGEST_WORKER_NPM },
  });
  assertSameAnswers(JSON.parse(out), "Worker");
});
