// The page in headless Chromium (Debian's, driven by playwright-core), served on 127.0.0.1.
// Run by `./build.sh test` with SITE_DIR (the assembled site), DATA_TSV (the bundled data the
// site's segment was built from), ARTIFACTS (where the screenshot goes) and EDGESUGGEST_NPM.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { join } from "node:path";
import { serve } from "../serve.mjs";
import { loadOracle } from "../../tests/common/oracle.mjs";

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

before(async () => {
  server = await serve(process.env.SITE_DIR, 0);
  base = `http://127.0.0.1:${server.address().port}/`;
  browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function openPage(context, path = "") {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(e));
  await page.goto(base + path);
  return { page, errors };
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

test("typing shows the oracle's top suggestions in order, with the match marked", async () => {
  const context = await browser.newContext();
  const { page, errors } = await openPage(context);
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
  assert.deepEqual(errors, []);
  await context.close();
});

test("keyboard and mouse navigation select suggestions", async () => {
  const context = await browser.newContext();
  const { page } = await openPage(context);
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
  await context.close();
});

test("hostile phrases render as text and run nothing", async () => {
  const context = await browser.newContext();
  const { page, errors } = await openPage(context, "?segment=segments/hostile.seg");
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
  assert.deepEqual(errors, []);
  await context.close();
});

test("with the network off, a reload still suggests", async () => {
  const context = await browser.newContext();
  const { page } = await openPage(context);
  await ready(page);
  await page.waitForSelector("body[data-offline=ready]", { timeout: 20_000 });
  await context.setOffline(true);
  await page.reload();
  await ready(page);
  await typeQuery(page, "sao");
  await page.waitForSelector('#q-listbox [role="option"]');
  assert.equal((await optionTexts(page))[0], "São Paulo");
  // The segment came from the versioned segment cache, and only one segment is kept.
  const caches = await page.evaluate(() => caches.keys());
  assert.equal(caches.filter((k) => k.startsWith("edgesuggest-segment-")).length, 1, caches.join());
  assert.equal(caches.filter((k) => k.startsWith("edgesuggest-shell-")).length, 1, caches.join());
  await context.close();
});

test("a corrupt or missing segment shows a readable error", async () => {
  const context = await browser.newContext();
  for (const [path, message] of [
    ["?segment=segments/corrupt.seg", /checksum mismatch/],
    ["?segment=segments/missing.seg", /HTTP 404/],
  ]) {
    const { page } = await openPage(context, path);
    await page.waitForSelector("body[data-state=error]", { timeout: 20_000 });
    assert.equal(await page.isVisible("#error"), true);
    assert.match(await page.textContent("#error"), message);
    assert.match(await page.textContent("#error"), /Could not load suggestions/);
    assert.equal(await page.isDisabled("#q"), true);
  }
  await context.close();
});

test("a new segment version replaces the old one in the offline cache", async () => {
  const { readFileSync, writeFileSync, copyFileSync, rmSync } = await import("node:fs");
  const site = process.env.SITE_DIR;
  const manifestPath = join(site, "segments", "manifest.json");
  const original = readFileSync(manifestPath, "utf8");
  const context = await browser.newContext();
  try {
    const { page } = await openPage(context);
    await ready(page);
    await page.waitForSelector("body[data-offline=ready]", { timeout: 20_000 });
    const before = (await page.evaluate(() => caches.keys())).filter((k) => k.startsWith("edgesuggest-segment-"));
    assert.equal(before.length, 1);

    // Publish "v2": the hostile-phrases segment under a new content-addressed name.
    copyFileSync(join(site, "segments", "hostile.seg"), join(site, "segments", "cities.v2test.seg"));
    const manifest = JSON.parse(original);
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, version: "v2test", segment: "cities.v2test.seg" }));
    await page.reload();
    await ready(page);
    await page.waitForFunction(async () => {
      const keys = await caches.keys();
      return keys.includes("edgesuggest-segment-cities.v2test.seg") &&
        keys.filter((k) => k.startsWith("edgesuggest-segment-")).length === 1;
    }, null, { timeout: 20_000 });
    await typeQuery(page, "<img");
    await page.waitForSelector('#q-listbox [role="option"]');
    assert.deepEqual(await optionTexts(page), ["<img src=x onerror=alert(1)>"]);
  } finally {
    writeFileSync(manifestPath, original);
    rmSync(join(site, "segments", "cities.v2test.seg"), { force: true });
    await context.close();
  }
});

test("the category filter and the typo switch change the answers like the oracle's", async () => {
  const context = await browser.newContext();
  const { page, errors } = await openPage(context);
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
  assert.deepEqual(errors, []);
  await context.close();
});
