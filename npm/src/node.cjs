// The entry for Node (`require("edgesuggest")`, and `import` through node.mjs): wasm-bindgen's
// `nodejs` output, which reads and instantiates its wasm synchronously when required.
"use strict";
const { readFile } = require("node:fs/promises");
const { fileURLToPath } = require("node:url");
const { Suggester } = require("./node/edgesuggest_wasm.js");

/**
 * The bytes at `url`: `file:` URLs are read from disk (Node's fetch refuses them), others are
 * fetched; throws an Error naming the URL and the HTTP status when the answer is not a success.
 * @param {string | URL} url
 * @param {{fetch?: typeof fetch, init?: RequestInit}} options
 * @returns {Promise<Uint8Array>}
 */
async function fetchSegment(url, { fetch: fetchFn = globalThis.fetch, init } = {}) {
  if (String(url).startsWith("file:")) return new Uint8Array(await readFile(fileURLToPath(url)));
  let response;
  try {
    response = await fetchFn(url, init);
  } catch (e) {
    throw new Error(`edgesuggest: fetching the segment ${url} failed: ${e?.message ?? e}`, { cause: e });
  }
  if (!response.ok) {
    throw new Error(`edgesuggest: fetching the segment ${url} failed: HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  return new Uint8Array(await response.arrayBuffer());
}

/** A Uint8Array view of a Uint8Array (a Buffer is one), an ArrayBuffer or another view. */
function toUint8Array(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError("edgesuggest: a segment must be a Uint8Array, an ArrayBuffer or an ArrayBuffer view");
}

/** A suggester over one segment, or over a stack `[base, ...deltas, blocklist?]`. */
function loadSegments(bytes) {
  return Array.isArray(bytes)
    ? Suggester.fromSegments(bytes.map(toUint8Array))
    : Suggester.load(toUint8Array(bytes));
}

/** Loads a suggester from segment bytes (a Buffer from `readFile` will do). */
Suggester.fromBytes = async function fromBytes(bytes) {
  return loadSegments(bytes);
};

/** Loads a suggester from an http(s) or file: URL, or a stack of them. */
Suggester.fromUrl = async function fromUrl(url, options = {}) {
  const urls = Array.isArray(url) ? url : [url];
  const segments = await Promise.all(urls.map((u) => fetchSegment(u, options)));
  return loadSegments(Array.isArray(url) ? segments : segments[0]);
};

/** Nothing to do in Node (the wasm is ready once required); shared code may call it. */
async function initWasm() {}

module.exports = { Suggester, initWasm };
