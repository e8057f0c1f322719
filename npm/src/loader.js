// The loading half of the browser and Worker entries: fetching segments, checking the
// response, and handing the bytes to the engine once its wasm is ready. Node's entry (node.cjs)
// has its own copy of these few lines because CommonJS cannot import an ES module everywhere.

/**
 * Adds the loaders `fromUrl` and `fromBytes` to the engine's `Suggester` class (the
 * wasm-bindgen class itself, so instances are the engine's, with no wrapper per call).
 * @param {any} Suggester  the wasm-bindgen class
 * @param {(options?: {wasm?: unknown}) => Promise<unknown>} ready  initializes the wasm once
 * @returns {any} the same class
 */
export function addLoaders(Suggester, ready) {
  Suggester.fromBytes = async function fromBytes(bytes, options = {}) {
    await ready(options);
    return loadSegments(Suggester, bytes);
  };
  Suggester.fromUrl = async function fromUrl(url, options = {}) {
    const urls = Array.isArray(url) ? url : [url];
    // The wasm and the segments download at the same time.
    const [, segments] = await Promise.all([
      ready(options),
      Promise.all(urls.map((u) => fetchSegment(u, options))),
    ]);
    return loadSegments(Suggester, Array.isArray(url) ? segments : segments[0]);
  };
  return Suggester;
}

/**
 * The bytes at `url`; throws an Error naming the URL and the HTTP status when the answer is
 * not a success (a 404 page must not reach the engine as a "corrupt segment").
 * @param {string | URL} url
 * @param {{fetch?: typeof fetch, init?: RequestInit}} options
 * @returns {Promise<Uint8Array>}
 */
export async function fetchSegment(url, { fetch: fetchFn = globalThis.fetch, init } = {}) {
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

/**
 * A suggester over one segment, or over a stack `[base, ...deltas, blocklist?]`.
 * @param {any} Suggester  the wasm-bindgen class
 * @param {BufferSource | BufferSource[]} bytes
 */
export function loadSegments(Suggester, bytes) {
  return Array.isArray(bytes)
    ? Suggester.fromSegments(bytes.map(toUint8Array))
    : Suggester.load(toUint8Array(bytes));
}

/** A Uint8Array view of a Uint8Array, an ArrayBuffer or any other ArrayBuffer view. */
export function toUint8Array(bytes) {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new TypeError("edgesuggest: a segment must be a Uint8Array, an ArrayBuffer or an ArrayBuffer view");
}
