// Service worker: the page, the wasm module and the live index stay available offline.
//
// - The shell (page, scripts, wasm) is precached under a cache named after the build, so a new
//   build replaces it whole and old builds' caches are deleted on activation.
// - Segment chunks (`data/seg/<sha256>/<chunk_bytes>/<n>`) are content-addressed and immutable:
//   cache first. The page (live-index.js) writes that cache itself, with chunks it verified
//   against their hash and swapped in, and prunes chunks no version it serves still names; a
//   corrupt or partial download so never enters it. A chunk not cached goes to the network.
// - Manifests (`data/<index>.manifest.json`) are network first, so a new version is seen when
//   online; offline, the copy the page stored for its last good stack answers.
const BUILD = "__BUILD_ID__";
const SHELL_CACHE = `edgesuggest-shell-${BUILD}`;
// Shared with live-index.js, which fills them.
const SEGMENT_CACHE = "edgesuggest-segments";
const MANIFEST_CACHE = "edgesuggest-manifests";
// Caches of earlier layouts of this site (one cache per segment file, one manifest cache).
const OBSOLETE = (k) => k.startsWith("edgesuggest-segment-") || k === "edgesuggest-manifest";
// Every file of the site but the data and this worker (filled in by build.sh).
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
            .filter((k) => (k.startsWith("edgesuggest-shell-") && k !== SHELL_CACHE) || OBSOLETE(k))
            .map((k) => caches.delete(k)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

/** A segment chunk: the verified copy when there is one, else the network (not stored). */
async function chunk(request) {
  const cached = await (await caches.open(SEGMENT_CACHE)).match(request);
  return cached ?? fetch(request);
}

/** A manifest: the network, or offline the copy of the last good stack's manifest. */
async function manifest(request) {
  try {
    return await fetch(request);
  } catch (e) {
    const cached = await (await caches.open(MANIFEST_CACHE)).match(request, { ignoreSearch: true });
    if (cached) return cached;
    throw e;
  }
}

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  const scope = new URL(self.registration.scope).pathname;
  if (url.pathname.startsWith(`${scope}data/seg/`)) {
    event.respondWith(chunk(event.request));
    return;
  }
  if (url.pathname.startsWith(`${scope}data/`) && url.pathname.endsWith(".manifest.json")) {
    event.respondWith(manifest(event.request));
    return;
  }
  event.respondWith(
    caches
      .match(event.request, { ignoreSearch: !url.pathname.endsWith(".seg") })
      .then((cached) => cached ?? fetch(event.request)),
  );
});
