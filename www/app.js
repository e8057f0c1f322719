// The demo page: loads the wasm engine over the index's stack (a base, deltas, a blocklist),
// wires the autosuggest widget, keeps the index fresh, and keeps everything cached for offline
// use through a service worker.
//
// Freshness: the page re-reads the manifest when it becomes visible or focused again, when the
// network comes back, and every RECHECK_MS while visible; it downloads only segments it does
// not hold (in practice the new deltas) and swaps the new stack in at once (live-index.js).
import init, { Suggester } from "./pkg/edgesuggest_wasm.js";
import { attachAutosuggest } from "./autosuggest.js";
import { LiveIndex } from "./live-index.js";
import { EventLog, randomId, userKey } from "./events.js";

/** The index the page serves (its manifest: data/<INDEX>.manifest.json). */
const INDEX = "cities";
/** How often a visible page re-reads the manifest. */
const RECHECK_MS = 5 * 60_000;

const $ = (id) => document.getElementById(id);
const input = $("q");

/**
 * Shows why suggestions are unavailable. The input stays an enabled text field, described by
 * the error: typing still works, only the suggestions are missing.
 */
function showError(message) {
  $("error").hidden = false;
  $("error").textContent = message;
  $("load").hidden = true;
  input.disabled = false;
  input.placeholder = "Suggestions unavailable";
  input.setAttribute("aria-describedby", "error");
  document.body.dataset.state = "error";
}

/** The site's configuration (`site-config.json`): `api` (the worker's origin) and `events`
 * (false turns event logging off); empty when absent. */
const siteConfig = (async () => {
  try {
    const response = await fetch("site-config.json");
    return response.ok ? await response.json() : {};
  } catch {
    return {};
  }
})();

/** The worker API, when the site was configured with one. */
async function apiBase() {
  return (await siteConfig).api ?? null;
}

/** Where the widget's events go: the worker's /v1/events when an API is configured and events
 * are not turned off; nowhere otherwise (the page works the same). */
async function eventSink() {
  const config = await siteConfig;
  if (!config.api || config.events === false) return undefined;
  const log = new EventLog({ endpoint: `${config.api}/v1/events`, index: INDEX });
  document.body.dataset.events = "on";
  return (event) => log.add(event);
}

/** The search options chosen on the page (and in the URL: ?fuzzy=0&cat=capital). */
function chosenOptions() {
  return {
    fuzzy: $("fuzzy").checked ? "auto" : 0,
    categories: $("cat").value ? [$("cat").value] : [],
  };
}

function initControls() {
  const params = new URLSearchParams(location.search);
  if (params.get("fuzzy") === "0") $("fuzzy").checked = false;
  if (params.get("cat")) $("cat").value = params.get("cat");
  // A changed option re-asks for the current text, back in the input.
  for (const id of ["fuzzy", "cat"]) {
    $(id).addEventListener("change", () => {
      input.focus();
      input.dispatchEvent(new Event("input"));
    });
  }
}

/** Wires the widget to a suggestion source and enables the input. */
async function startWidget(suggest, describe, onError) {
  $("load").hidden = true;
  initControls();
  const onEvent = await eventSink();
  attachAutosuggest(input, $("q-listbox"), {
    suggest,
    onEvent,
    showScores: true,
    detail: (s) => s.payload?.country ?? null,
    // The country is shown from the payload: skip its two-letter category.
    tags: (s) => (s.categories ?? []).filter((c) => c.length > 2),
    onSelect: (s) => {
      const where = s.payload ? ` (${s.payload.country}, ${s.payload.lat}, ${s.payload.lon})` : "";
      $("picked").textContent = `Picked ${s.text}${where}`;
    },
    onResults: (q, results, ms) => {
      $("status").textContent = `${results.length} suggestions for “${q}” ${describe(ms)}`;
    },
    onError,
  });
  input.disabled = false;
  input.placeholder = "Type a city: new, york, sao, münchen, sna paulo…";
  input.focus();
  document.body.dataset.state = "ready";
}

/** Suggestions from the edge worker instead of in-page wasm. */
function useApi(api, reason) {
  $("error").hidden = true;
  $("status").textContent = `Answering from the edge API at ${api} (${reason})`;
  document.body.dataset.mode = "api";
  return startWidget(
    async (q) => {
      const { fuzzy, categories } = chosenOptions();
      // uid: the key the worker assigns experiment arms by (a cross-origin page sends no
      // cookie), so this browser stays in its arm.
      const search = new URLSearchParams({ q, k: "10", fuzzy: String(fuzzy), uid: userKey() });
      if (categories.length) search.set("cat", categories.join(","));
      const response = await fetch(`${api}/v1/suggest?${search}`);
      const body = await response.json();
      if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
      // The same suggestion objects as the in-page engine's: no conversion. The whole answer
      // goes to the widget: its response_id and arm travel back with the events.
      return body;
    },
    (ms) => `from the API in ${ms.toFixed(1)} ms`,
    (e) => {
      $("status").textContent = `API error: ${e.message ?? e}`;
    },
  );
}

/** Fetches one segment file into a Uint8Array (the `?segment=URL` test path). */
async function fetchSegment(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Shows a download's progress under the input. */
function showProgress(received, total) {
  $("load-progress").value = total ? received / total : 0;
  $("load-text").textContent = total
    ? `Downloading ${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`
    : `Downloading ${(received / 1e6).toFixed(1)} MB`;
}

/** The status line for a loaded stack. */
function describeStack(suggester, version, ms) {
  const info = suggester.info();
  const deltas = info.segments.filter((s) => s.kind === "delta").length;
  const blocklist = info.segments.some((s) => s.kind === "blocklist") ? ", a blocklist" : "";
  const parts = version === null ? "" : ` — version ${version} (base, ${deltas} delta${deltas === 1 ? "" : "s"}${blocklist})`;
  return `${info.suggestions.toLocaleString("en")} suggestions (${(info.bytes / 1e6).toFixed(2)} MB)${parts} ready in ${ms.toFixed(0)} ms`;
}

/** Marks the live version and whether it is stored for offline use. */
function showLive(index) {
  document.body.dataset.version = String(index.manifest.version);
  document.body.dataset.offline = index.offline;
}

/** Re-reads the manifest; a failure keeps the live stack answering and says so. */
async function recheck(index) {
  const started = performance.now();
  try {
    if ((await index.check()) === "updated") {
      showLive(index);
      $("status").textContent = `Updated: ${describeStack(index.suggester, index.manifest.version, performance.now() - started)}`;
    }
    document.body.dataset.update = "ok";
  } catch (e) {
    document.body.dataset.update = "failed";
    $("status").textContent =
      `Update check failed (${e.message ?? e}); answering from version ${index.manifest.version}`;
  }
}

/** Re-checks when the page comes back into view or online, and periodically while visible. */
function keepFresh(index) {
  const soon = () => {
    if (document.visibilityState === "visible") recheck(index);
  };
  addEventListener("focus", soon);
  addEventListener("online", soon);
  document.addEventListener("visibilitychange", soon);
  setInterval(soon, RECHECK_MS);
}

/** Starts the widget over a loaded suggester source. Each answer gets an id of its own, so
 * the clicks logged from it join its impression. */
function startEngine(getSuggester, version) {
  return startWidget(
    (q) => ({
      suggestions: getSuggester().suggest(q, { k: 10, ...chosenOptions() }),
      response_id: randomId(),
      index: INDEX,
      version: version(),
    }),
    (ms) => `in ${(ms * 1000).toFixed(0)} µs`,
    (e) => showError(`Search failed: ${e.message ?? e}`),
  );
}

async function main() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch((e) => console.warn("service worker:", e));
  }
  await init();
  const started = performance.now();
  const single = new URLSearchParams(location.search).get("segment");
  if (single) {
    // One base segment, outside the manifest and the offline copy (tests and debugging).
    const suggester = Suggester.load(await fetchSegment(single));
    $("status").textContent = describeStack(suggester, null, performance.now() - started);
    await startEngine(() => suggester, () => null);
    return;
  }
  const index = new LiveIndex(Suggester, `data/${INDEX}.manifest.json`, { onProgress: showProgress });
  await index.check();
  showLive(index);
  $("status").textContent = describeStack(index.suggester, index.manifest.version, performance.now() - started);
  // Read on every query: a swapped-in stack answers the next keystroke.
  await startEngine(() => index.suggester, () => index.manifest.version);
  keepFresh(index);
}

const forceApi = new URLSearchParams(location.search).get("mode") === "api";
(forceApi ? Promise.reject(new Error("?mode=api")) : main()).catch(async (e) => {
  const api = await apiBase();
  if (api) useApi(api, forceApi ? "requested with ?mode=api" : `in-page load failed: ${e.message ?? e}`);
  else showError(`Could not load suggestions: ${e.message ?? e}`);
});
