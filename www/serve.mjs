// A small static file server for the demo and the browser tests, bound to 127.0.0.1.
//   node www/serve.mjs DIR [PORT]     (PORT 0 = any free port; the URL is printed)
//
// Every response carries the Content-Security-Policy the page is built to run under (see
// `policy`), so the tests and the demo run the page as a strict deployment would.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
  ".seg": "application/octet-stream",
  ".png": "image/png",
  ".svg": "image/svg+xml",
};

/**
 * The page's policy: scripts, styles, images, fetches and workers from its own origin only,
 * no inline script or style, no eval; `'wasm-unsafe-eval'` lets it compile WebAssembly.
 */
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

/**
 * `CSP`, plus the API's origin in `connect-src` when the site's `site-config.json` points the
 * page at an API on another origin (its fallback when the in-page engine cannot load): a
 * deployer serving the page elsewhere adds the same directive. Read per request, so a changed
 * config applies at once.
 */
export async function policy(root) {
  let api;
  try {
    api = JSON.parse(await readFile(join(root, "site-config.json"), "utf8")).api;
  } catch {
    return CSP;
  }
  const origin = URL.canParse(api) ? new URL(api).origin : "null";
  return origin === "null" ? CSP : `${CSP}; connect-src 'self' ${origin}`;
}

/**
 * Serves `root` on 127.0.0.1:`port`. `onRequest(method, path)` hears of every request that
 * reaches the network (the browser tests count downloads with it).
 */
export function serve(root, port = 0, { onRequest = () => {} } = {}) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    onRequest(req.method, new URL(req.url, "http://x").pathname);
    res.setHeader("content-security-policy", await policy(base));
    try {
      const path = decodeURIComponent(new URL(req.url, "http://x").pathname);
      let file = normalize(join(base, path));
      if (!file.startsWith(base)) throw Object.assign(new Error("outside root"), { code: "ENOENT" });
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, {
        "content-type": TYPES[extname(file)] ?? "application/octet-stream",
        "content-length": body.length,
        "cache-control": "no-cache",
      });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      res.writeHead(e.code === "ENOENT" ? 404 : 500, { "content-type": "text/plain" });
      res.end(e.code === "ENOENT" ? "not found\n" : "error\n");
    }
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [root = ".", port = "8080"] = process.argv.slice(2);
  const server = await serve(root, Number(port));
  console.log(`serving ${resolve(root)} on http://127.0.0.1:${server.address().port}/`);
}
