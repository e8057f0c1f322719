// Watches the worker for bench/swap.sh: every 250 ms, until STOP_FILE exists, one line of
//
//   EPOCH_MS HEALTH_STATUS VERSION BYTES_HELD LOAD_FAILURES WASM_MEMORY_BYTES
//     MARKER_STATUS MARKER_VERSION MARKER_NAMED JS_HEAP_USED JS_HEAP_TOTAL WORKERD_RSS
//
// from `/v1/health`, from `/v1/suggest?q=swapmarker&k=1` (the version that answered and the
// version its `Swapmarker N` row names), from the isolate's V8 heap (the devtools protocol's
// Runtime.getHeapUsage, through wrangler dev's inspector port) and from /proc (resident bytes
// of the workerd PIDs). `-` marks a value that could not be read; status 0, a failed request.
// First and last, a line `gc JS_HEAP_USED JS_HEAP_TOTAL` after a full garbage collection: the
// heap the isolate really retains, without the garbage V8 has not collected yet. (workerd does
// not answer HeapProfiler.collectGarbage; a heap snapshot collects garbage first, so one is
// taken and thrown away.)
//
//   node bench/swap-observe.mjs BASE_URL INSPECTOR_PORT STOP_FILE WORKERD_PID...
//
// EDGESUGGEST_WORKER_NPM names the node_modules holding `ws` (a dependency of miniflare).
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const [base, inspectorPort, stopFile, ...pids] = process.argv.slice(2);
if (!stopFile || !process.env.EDGESUGGEST_WORKER_NPM) {
  console.error("usage: EDGESUGGEST_WORKER_NPM=DIR node bench/swap-observe.mjs BASE_URL INSPECTOR_PORT STOP_FILE PID...");
  process.exit(2);
}
const require = createRequire(join(process.env.EDGESUGGEST_WORKER_NPM, "noop.js"));
const WebSocket = require("ws");

/** `[status, parsed JSON body or null]`; status 0 when the request failed. */
async function getJson(path) {
  try {
    const r = await fetch(base + path, { signal: AbortSignal.timeout(10_000) });
    const text = await r.text();
    try {
      return [r.status, JSON.parse(text)];
    } catch {
      return [r.status, null];
    }
  } catch {
    return [0, null];
  }
}

/** A devtools session on the worker's isolate: `call(method)` resolves with the result. */
async function inspector() {
  const targets = await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json();
  // The inspector proxy admits local origins only.
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } });
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const pending = new Map();
  let id = 0;
  ws.on("message", (data) => {
    const message = JSON.parse(data);
    pending.get(message.id)?.(message.result);
    pending.delete(message.id);
  });
  const call = (method, params = {}) => new Promise((resolve) => {
    pending.set(++id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  return { call, close: () => ws.close() };
}

/** Resident bytes of the given processes. */
function rss() {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
    } catch {
      // gone
    }
  }
  return kb * 1024;
}

const dash = (v) => (v === undefined || v === null ? "-" : v);
const devtools = await inspector();
/** Collects garbage in the isolate (by taking a heap snapshot), then prints its heap. */
async function heapAfterGc() {
  await devtools.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
  const heap = await devtools.call("Runtime.getHeapUsage");
  console.log(`gc ${dash(heap?.usedSize)} ${dash(heap?.totalSize)}`);
}
try {
  await heapAfterGc();
  while (!existsSync(stopFile)) {
    const [[hs, health], [ms, marker], heap] = await Promise.all([
      getJson("/v1/health"),
      getJson("/v1/suggest?q=swapmarker&k=1"),
      devtools.call("Runtime.getHeapUsage"),
    ]);
    const named = /^Swapmarker (\d+)$/.exec(marker?.suggestions?.[0]?.text ?? "")?.[1];
    console.log([Date.now(), hs, health?.loaded?.[0]?.version, health?.bytes_held,
      health?.stats?.load_failures, health?.wasm_memory_bytes, ms, marker?.version, named,
      heap?.usedSize, heap?.totalSize, rss()].map(dash).join(" "));
    await sleep(250);
  }
  await heapAfterGc();
} finally {
  devtools.close();
}
