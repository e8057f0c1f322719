// Service worker: the page, the wasm module and the current segment stay available offline.
//
// - The shell (page, scripts, wasm) is precached under a cache named after the build, so a new
//   build replaces it whole and old builds' caches are deleted on activation.
// - Segments are content-addressed (their file name carries their hash). The page asks to keep
//   a segment only after it loaded and verified it; the segment is then stored in a cache named
//   after it and every older segment cache is deleted: a new segment version replaces the old,
//   and a corrupt one never evicts a good one.
// - The manifest is fetched network-first, so a new segment version is seen when online.
const BUILD = "__BUILD_ID__";
const SHELL_CACHE = `edgesuggest-shell-${BUILD}`;
const SEGMENT_PREFIX = "edgesuggest-segment-";
const MANIFEST_CACHE = "edgesuggest-manifest";
// Every file of the site but the segments and this worker (filled in by build.sh).
const SHELL = ["./", ...__SHELL_FILES__];

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL_CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys
            .filter((k) => k.startsWith("edgesuggest-shell-") && k !== SHELL_CACHE)
            .map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("message", (event) => {
  const { type, segment, manifest } = event.data ?? {};
  if (type !== "keep-segment") return;
  const name = SEGMENT_PREFIX + new URL(segment).pathname.split("/").pop();
  const work = (async () => {
    const cache = await caches.open(name);
    if (!(await cache.match(segment))) await cache.add(segment);
    await (await caches.open(MANIFEST_CACHE)).add(manifest);
    const stale = (await caches.keys()).filter((k) => k.startsWith(SEGMENT_PREFIX) && k !== name);
    await Promise.all(stale.map((k) => caches.delete(k)));
  })();
  event.waitUntil(
    work.then(
      () => event.ports[0]?.postMessage({ ok: true }),
      (e) => event.ports[0]?.postMessage({ ok: false, error: String(e) }),
    ),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname.endsWith("/manifest.json")) {
    event.respondWith(
      fetch(event.request).catch(() =>
        caches.match(event.request).then((r) => r ?? Response.error()),
      ),
    );
    return;
  }
  event.respondWith(
    caches
      .match(event.request, { ignoreSearch: !url.pathname.endsWith(".seg") })
      .then((cached) => cached ?? fetch(event.request)),
  );
});
