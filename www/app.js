// The demo page: loads the wasm engine and a segment, wires the autosuggest widget, and keeps
// everything cached for offline use through a service worker.
import init, { Suggester } from "./pkg/edgesuggest_wasm.js";
import { attachAutosuggest } from "./autosuggest.js";

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

/** Fetches a URL into a Uint8Array, reporting progress as bytes arrive. */
async function fetchWithProgress(url, onProgress) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
  const total = Number(response.headers.get("content-length")) || 0;
  if (!response.body) return new Uint8Array(await response.arrayBuffer());
  const reader = response.body.getReader();
  const chunks = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    received += value.length;
    onProgress(received, total);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

/** Asks the service worker to keep this segment (and drop older ones) for offline use. */
async function keepOffline(segmentUrl) {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.ready;
  const reply = new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (e) => resolve(e.data);
    registration.active.postMessage(
      { type: "keep-segment", segment: new URL(segmentUrl, location.href).href,
        manifest: new URL("segments/manifest.json", location.href).href },
      [channel.port2],
    );
  });
  const result = await reply;
  document.body.dataset.offline = result?.ok ? "ready" : "failed";
}

/** The worker API, when the site was configured with one (`site-config.json`). */
async function apiBase() {
  try {
    const response = await fetch("site-config.json");
    return response.ok ? (await response.json()).api ?? null : null;
  } catch {
    return null;
  }
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
function startWidget(suggest, describe, onError) {
  $("load").hidden = true;
  initControls();
  attachAutosuggest(input, $("q-listbox"), {
    suggest,
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
  startWidget(
    async (q) => {
      const { fuzzy, categories } = chosenOptions();
      const search = new URLSearchParams({ q, k: "10", fuzzy: String(fuzzy) });
      if (categories.length) search.set("cat", categories.join(","));
      const response = await fetch(`${api}/v1/suggest?${search}`);
      const body = await response.json();
      if (!response.ok) throw new Error(body?.error?.message ?? `HTTP ${response.status}`);
      // The same suggestion objects as the in-page engine's: no conversion.
      return body.suggestions;
    },
    (ms) => `from the API in ${ms.toFixed(1)} ms`,
    (e) => {
      $("status").textContent = `API error: ${e.message ?? e}`;
    },
  );
}

async function main() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js").catch((e) => console.warn("service worker:", e));
  }
  const params = new URLSearchParams(location.search);
  let segmentUrl = params.get("segment");
  if (!segmentUrl) {
    const response = await fetch("segments/manifest.json");
    if (!response.ok) throw new Error(`HTTP ${response.status} for segments/manifest.json`);
    const manifest = await response.json();
    segmentUrl = `segments/${manifest.segment}`;
  }
  await init();
  const started = performance.now();
  const bytes = await fetchWithProgress(segmentUrl, (received, total) => {
    $("load-progress").value = total ? received / total : 0;
    $("load-text").textContent = total
      ? `Downloading ${(received / 1e6).toFixed(1)} / ${(total / 1e6).toFixed(1)} MB`
      : `Downloading ${(received / 1e6).toFixed(1)} MB`;
  });
  const suggester = Suggester.load(bytes);
  const info = suggester.info();
  const readyMs = performance.now() - started;
  $("status").textContent =
    `${info.suggestions.toLocaleString("en")} suggestions (${(info.bytes / 1e6).toFixed(2)} MB) ready in ${readyMs.toFixed(0)} ms`;
  startWidget(
    (q) => suggester.suggest(q, { k: 10, ...chosenOptions() }),
    (ms) => `in ${(ms * 1000).toFixed(0)} µs`,
    (e) => showError(`Search failed: ${e.message ?? e}`),
  );
  if (!params.get("segment")) keepOffline(segmentUrl).catch((e) => console.warn("offline:", e));
}

const forceApi = new URLSearchParams(location.search).get("mode") === "api";
(forceApi ? Promise.reject(new Error("?mode=api")) : main()).catch(async (e) => {
  const api = await apiBase();
  if (api) useApi(api, forceApi ? "requested with ?mode=api" : `in-page load failed: ${e.message ?? e}`);
  else showError(`Could not load suggestions: ${e.message ?? e}`);
});
