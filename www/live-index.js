// The page's index, kept fresh: reads the manifest (a base, deltas oldest first, at most one
// blocklist, each by content hash), fetches only the segments it does not hold yet, builds the
// engine over the stack and swaps it in at once. A failed check (offline, a bad manifest, a
// missing or corrupt segment) changes nothing: the last good stack keeps answering.
//
// Static layout (written by publish-static.mjs): the manifest at `data/<index>.manifest.json`,
// chunk key K of a segment at `data/K` (`data/seg/<sha256>/<chunk_bytes>/<n>`).
//
// Offline copies: the service worker serves segment chunks cache first (content-addressed, so
// a cached chunk never goes stale) and the manifest network first. Only this module writes
// those caches, and only what it verified and swapped in: a segment's chunks once its SHA-256
// matched the manifest and the engine accepted the stack, then the manifest, then it drops the
// chunks no longer used. A reload offline so finds the last good stack, never a half of one.

/** The cache of verified segment chunks, keyed by chunk URL (shared with sw.js). */
export const SEGMENT_CACHE = "edgesuggest-segments";
/** The cache of the manifest the live stack came from (shared with sw.js). */
export const MANIFEST_CACHE = "edgesuggest-manifests";

const KINDS = ["base", "delta", "blocklist"];
/** A base, up to 63 deltas and a blocklist, as the manifest crate allows. */
const MAX_SEGMENTS = 65;

/** The manifest's chunk keys must be the segment's own: `seg/<hash>/<chunk bytes>/<n>`. */
function checkChunks(segment, i) {
  if (!Array.isArray(segment.chunks) || segment.chunks.length === 0) {
    throw new Error(`manifest segment ${i} (${segment.hash}) has no chunks`);
  }
  segment.chunks.forEach((key, n) => {
    const match = /^seg\/([0-9a-f]{64})\/([1-9][0-9]*)\/([0-9]+)$/.exec(key);
    if (!match || match[1] !== segment.hash || match[3] !== String(n)) {
      throw new Error(
        `manifest segment ${i}: chunk ${n} is ${JSON.stringify(key)}, expected seg/${segment.hash}/<chunk bytes>/${n}`,
      );
    }
  });
}

/** One segment entry: a hash, a size, a kind in its place, content-addressed chunks. */
function checkSegment(segment, i, count) {
  if (typeof segment !== "object" || segment === null) {
    throw new Error(`manifest segment ${i} is not an object`);
  }
  if (typeof segment.hash !== "string" || !/^[0-9a-f]{64}$/.test(segment.hash)) {
    throw new Error(`manifest segment ${i}: hash ${JSON.stringify(segment.hash)} is not 64 lowercase hex digits`);
  }
  if (!Number.isSafeInteger(segment.size) || segment.size <= 0) {
    throw new Error(`manifest segment ${i}: size ${JSON.stringify(segment.size)} is not a positive integer`);
  }
  const expected = i === 0 ? "base" : i === count - 1 && segment.kind === "blocklist" ? "blocklist" : "delta";
  if (!KINDS.includes(segment.kind) || segment.kind !== expected) {
    throw new Error(
      `manifest segment ${i} is a ${JSON.stringify(segment.kind)} where a ${expected} belongs: ` +
        "the base comes first, then deltas, then at most one blocklist",
    );
  }
  checkChunks(segment, i);
}

/**
 * Parses and checks a manifest (the rules of `Manifest::parse`): a known format, the base
 * first, deltas, at most one blocklist last, every chunk key the segment's own.
 */
export function parseManifest(text) {
  let manifest;
  try {
    manifest = JSON.parse(text);
  } catch (e) {
    throw new Error(`manifest is not valid JSON: ${e.message}`);
  }
  if (typeof manifest !== "object" || manifest === null) throw new Error("manifest is not a JSON object");
  if (manifest.manifest_version !== 1 && manifest.manifest_version !== 2) {
    throw new Error(`manifest version ${manifest.manifest_version} is not supported (this page knows 1 to 2)`);
  }
  if (!Number.isSafeInteger(manifest.version)) throw new Error("manifest has no integer version");
  const { segments } = manifest;
  if (!Array.isArray(segments) || segments.length === 0) throw new Error("manifest names no segment");
  if (segments.length > MAX_SEGMENTS) {
    throw new Error(`manifest names ${segments.length} segments, at most ${MAX_SEGMENTS}`);
  }
  segments.forEach((segment, i) => checkSegment(segment, i, segments.length));
  return manifest;
}

/** Lowercase hex SHA-256 of `bytes`. */
async function sha256Hex(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The Cache named `name`, or null where the page may not use caches (not a secure context). */
async function openCache(name) {
  try {
    return "caches" in self ? await caches.open(name) : null;
  } catch {
    return null;
  }
}

/** Reads a response body into a Uint8Array, reporting each arriving part's length. */
async function readBody(response, onBytes) {
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onBytes(bytes.length);
    return bytes;
  }
  const reader = response.body.getReader();
  const parts = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    onBytes(value.length);
  }
  return concat(parts);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/**
 * A manifest's files: its own URL, and each chunk key's URL next to it (`data/<index>...`
 * names the manifest, `data/seg/...` the chunks).
 */
function chunkUrl(manifestUrl, key) {
  return new URL(key, manifestUrl).href;
}

/**
 * The live index: `suggester` answers from the newest stack that loaded completely.
 * `check()` looks for a new version; call it on load, then whenever a new version may exist.
 */
export class LiveIndex {
  /**
   * `Suggester` is the wasm class; `manifestUrl` the pointer manifest's URL; `onProgress`
   * gets (bytes received, bytes to fetch) while segments download.
   */
  constructor(Suggester, manifestUrl, { onProgress = () => {} } = {}) {
    this.Suggester = Suggester;
    this.manifestUrl = new URL(manifestUrl, location.href).href;
    this.onProgress = onProgress;
    /** The engine over the live stack (null until the first check succeeds). */
    this.suggester = null;
    /** The live stack's manifest. */
    this.manifest = null;
    /** Whether the live stack is stored for offline use: "ready", "failed" or "unavailable". */
    this.offline = "unavailable";
    this.running = null;
  }

  /**
   * Fetches the manifest and, when it names another stack, loads and swaps it in. Resolves
   * "updated" or "current"; rejects with the reason when the manifest or a segment cannot be
   * used, leaving the live stack as it was. Concurrent calls share one check.
   */
  check() {
    this.running ??= this.#check().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async #check() {
    const text = await this.#fetchManifest();
    const manifest = parseManifest(text);
    if (this.#isLive(manifest)) return "current";
    const segments = await this.#fetchSegments(manifest);
    // Throws the engine's message on a bad stack: nothing has changed yet.
    const suggester = this.Suggester.fromSegments(segments.map((s) => s.bytes));
    const previous = this.suggester;
    this.suggester = suggester;
    this.manifest = manifest;
    // Queries are synchronous, so no query holds the previous stack now.
    previous?.free();
    this.offline = await this.#keepOffline(manifest, text, segments).catch((e) => {
      console.warn("offline copy:", e);
      return "failed";
    });
    return "updated";
  }

  /** True when `manifest` names exactly the live stack (same version and segments). */
  #isLive(manifest) {
    const live = this.manifest;
    return (
      live !== null &&
      live.version === manifest.version &&
      live.segments.length === manifest.segments.length &&
      live.segments.every((s, i) => s.hash === manifest.segments[i].hash)
    );
  }

  async #fetchManifest() {
    // Never the HTTP cache: a new version must be seen (the service worker goes to the
    // network first, and answers from its copy of the last good manifest only offline).
    const response = await fetch(this.manifestUrl, { cache: "no-store" });
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${this.manifestUrl}`);
    return response.text();
  }

  /** Every segment's bytes, each verified against its manifest hash and size. */
  async #fetchSegments(manifest) {
    const cache = await openCache(SEGMENT_CACHE);
    const total = manifest.segments.reduce((n, s) => n + s.size, 0);
    let received = 0;
    const onBytes = (n) => {
      received += n;
      this.onProgress(received, total);
    };
    const out = [];
    for (const entry of manifest.segments) {
      const urls = entry.chunks.map((key) => chunkUrl(this.manifestUrl, key));
      const parts = [];
      for (const url of urls) parts.push(await this.#readChunk(cache, url, onBytes));
      const bytes = concat(parts);
      await this.#verify(cache, entry, urls, bytes);
      out.push({ entry, urls, parts, bytes });
    }
    return out;
  }

  /** One chunk: from the cache of verified chunks when there, else fetched. */
  async #readChunk(cache, url, onBytes) {
    const cached = await cache?.match(url);
    const response = cached ?? (await fetch(url));
    if (!response.ok) throw new Error(`HTTP ${response.status} for ${url}`);
    return readBody(response, onBytes);
  }

  /** Checks size and SHA-256; a mismatching copy is dropped from the cache, then refused. */
  async #verify(cache, entry, urls, bytes) {
    const hash = bytes.length === entry.size ? await sha256Hex(bytes) : null;
    if (hash === entry.hash) return;
    await Promise.all(urls.map((url) => cache?.delete(url)));
    throw new Error(
      `segment ${entry.hash} (${entry.kind}) arrived as ${bytes.length} bytes` +
        (hash ? ` hashing to ${hash}` : ` instead of ${entry.size}`) +
        ": it was not published completely; the next check fetches it again",
    );
  }

  /**
   * Stores the live stack for offline use: its chunks, then its manifest, then drops chunks
   * no longer named (older versions' deltas), so the cache holds exactly the live stack.
   */
  async #keepOffline(manifest, text, segments) {
    const chunks = await openCache(SEGMENT_CACHE);
    const manifests = await openCache(MANIFEST_CACHE);
    if (!chunks || !manifests) return "unavailable";
    const live = new Set();
    for (const { urls, parts } of segments) {
      for (const [i, url] of urls.entries()) {
        live.add(url);
        if (!(await chunks.match(url))) await chunks.put(url, new Response(parts[i]));
      }
    }
    await manifests.put(
      this.manifestUrl,
      new Response(text, { headers: { "content-type": "application/json" } }),
    );
    const stale = (await chunks.keys()).filter((request) => !live.has(request.url));
    await Promise.all(stale.map((request) => chunks.delete(request)));
    return "ready";
  }
}
