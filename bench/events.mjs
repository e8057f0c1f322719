// Events at the edge, in local workerd (Miniflare 4, real local Queues and R2):
// - worker throughput with events on vs off: the same closed-loop client (C concurrent
//   connections for D seconds) sends suggest requests for real prefixes; with events on, the
//   worker has its queue and R2 bindings and every 10th request is a POST /v1/events of 5
//   events (a page's batched beacon after a few keystrokes); with events off it has neither
//   and the client sends only suggests. The ratio is requests answered per second, on / off,
//   measured in one run.
// - events ingested into R2: a burst of event POSTs, timed from the first request until the
//   consumer has written every event to R2 minute files.
// Prints a Markdown fragment on stdout.
//
//   EDGESUGGEST_CLI=... EDGESUGGEST_WORKER_NPM=... DATA_TSV=... node bench/events.mjs [--smoke]
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { seedEntries, startWorker } from "../worker/tests/harness.mjs";

const smoke = process.argv.includes("--smoke");
const SECONDS = smoke ? 3 : 15;
const CONCURRENCY = 16;
const BURST_REQUESTS = smoke ? 200 : 2000;
const CLI = process.env.EDGESUGGEST_CLI;
const log = (...a) => console.error("bench events:", ...a);

const work = mkdtempSync(join(tmpdir(), "edgesuggest-bench-events-"));
execFileSync(CLI, ["build", process.env.DATA_TSV, "-o", join(work, "cities.seg"), "-q", "--word-starts"]);
execFileSync(CLI, ["publish", join(work, "cities.seg"), "--index", "cities", "--out-dir", work, "--version", "1"]);
const entries = ["chunks.json", "version.json", "manifest.json"]
  .flatMap((n) => JSON.parse(readFileSync(join(work, n), "utf8")));
const prefixes = readFileSync(process.env.DATA_TSV, "utf8").split("\n").filter(Boolean).slice(0, 2000)
  .flatMap((l) => {
    const text = l.split("\t")[0];
    return [1, 2, 3, 4, 5].map((n) => text.slice(0, n));
  });

async function start(events) {
  const mf = await startWorker({ INDEXES: "cities", REFRESH_SECONDS: "3600", CACHE_MAX_AGE: "0" },
    { events, listen: true });
  const url = (await mf.ready).toString().replace(/\/$/, "");
  await seedEntries(mf, entries);
  await (await fetch(`${url}/v1/suggest?q=a`)).text(); // loads the index
  return { mf, url };
}

const eventsBody = (n, i) => Array.from({ length: n }, (_, j) => JSON.stringify(
  { ts: Date.now(), type: "search", user: `u${i % 5000}`, q: prefixes[(i + j) % prefixes.length] })).join("\n");

/** Requests answered per second by CONCURRENCY closed-loop clients over SECONDS. */
async function throughput(url, withEvents) {
  let done = 0, failed = 0, next = 0;
  const end = performance.now() + SECONDS * 1000;
  async function client() {
    while (performance.now() < end) {
      const i = next++;
      const r = withEvents && i % 10 === 9
        ? await fetch(`${url}/v1/events`, { method: "POST", body: eventsBody(5, i), headers: { "content-type": "text/plain" } })
        : await fetch(`${url}/v1/suggest?q=${encodeURIComponent(prefixes[i % prefixes.length])}&k=10`);
      await r.arrayBuffer();
      if (r.ok) done++;
      else failed++;
    }
  }
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return { rps: done / ((performance.now() - t0) / 1000), failed };
}

async function countInR2(mf) {
  const bucket = await mf.getR2Bucket("EVENTS_BUCKET");
  let count = 0, cursor;
  do {
    const page = await bucket.list({ prefix: "events/", cursor });
    for (const o of page.objects) {
      const body = Buffer.from(await (await bucket.get(o.key)).arrayBuffer());
      count += gunzipSync(body).toString().split("\n").filter(Boolean).length;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return count;
}

/** Events per second from the first POST until R2 holds them all. */
async function ingest(mf, url, alreadyThere) {
  const perRequest = 20;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < BURST_REQUESTS) {
      const i = next++;
      const r = await fetch(`${url}/v1/events`, { method: "POST", body: eventsBody(perRequest, i) });
      if (r.status !== 202) throw new Error(`events: ${r.status} ${await r.text()}`);
    }
  }));
  const want = alreadyThere + BURST_REQUESTS * perRequest;
  while ((await countInR2(mf)) < want) await new Promise((r) => setTimeout(r, 100));
  const seconds = (performance.now() - t0) / 1000;
  return { events: BURST_REQUESTS * perRequest, seconds };
}

const off = await start(false);
const on = await start(true);
try {
  // Alternate off and on twice, so that drift on a shared machine hits both alike.
  const runs = { off: [], on: [] };
  for (let round = 0; round < 2; round++) {
    log(`round ${round + 1}: events off, then on (${SECONDS} s each)`);
    runs.off.push(await throughput(off.url, false));
    runs.on.push(await throughput(on.url, true));
  }
  const mean = (xs) => xs.reduce((s, x) => s + x.rps, 0) / xs.length;
  const [rpsOff, rpsOn] = [mean(runs.off), mean(runs.on)];
  const failed = [...runs.off, ...runs.on].reduce((s, x) => s + x.failed, 0);
  log("burst of events into R2");
  const already = await countInR2(on.mf);
  const burst = await ingest(on.mf, on.url, already);
  const ratio = rpsOn / rpsOff;
  console.log(`### Events and experiments in workerd

\`node bench/events.mjs\` (run by \`./build.sh bench\`): Miniflare 4 with local Queues and R2, the
bundled cities index, ${CONCURRENCY} closed-loop clients on 127.0.0.1, ${SECONDS} s per run, off and on
alternated twice in one run.

| measure | value |
|---|---|
| worker throughput, events off (suggest only, no queue binding) | ${rpsOff.toFixed(0)} requests/s |
| worker throughput, events on (every 10th request a POST of 5 events) | ${rpsOn.toFixed(0)} requests/s |
| on / off (target ≥ 0.9) | **${ratio.toFixed(2)}×** ${ratio >= 0.9 ? "(met)" : `(missed by ${((0.9 - ratio) * 100).toFixed(0)} points)`} |
| failed requests | ${failed} |
| events ingested into R2 (POSTs of 20 events, until all are in minute files) | ${(burst.events / burst.seconds).toFixed(0)} events/s (${burst.events} events in ${burst.seconds.toFixed(1)} s) |
`);
} finally {
  await off.mf.dispose();
  await on.mf.dispose();
}
