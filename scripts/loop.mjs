// The loop, end to end, on this machine: a bounded traffic simulator on 127.0.0.1 (users with
// cookies typing prefixes, a click model) → the worker in workerd (Miniflare, real local KV,
// Queues and R2) → R2 minute files → `edgesuggest aggregate` → `build --delta` → `publish
// --delta` → the worker serves the new suggestions → `edgesuggest report` shows the better arm.
//
// Two arms split users 50/50: `control` is served the bundled cities as built; `ctr` is the same
// index plus what the logs teach it (a delta built from the events of round 1). Half of the
// users' intents are phrases the cities data lacks (trending searches such as "Tokyo weather"):
// after round 1, only the ctr arm suggests them, so in round 2 its users find what they want in
// the list more often. The script fails unless `report` shows ctr ahead with p < 0.01 and no
// sample-ratio mismatch.
//
//   node scripts/loop.mjs OUT_DIR [--short]
//   (EDGESUGGEST_CLI, EDGESUGGEST_WORKER_NPM and DATA_TSV set, as `./build.sh loop` does)
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { seedEntries, startWorker } from "../worker/tests/harness.mjs";

const CLI = process.env.EDGESUGGEST_CLI;
const DATA = process.env.DATA_TSV;
const out = resolve(process.argv[2] ?? "target/loop");
const short = process.argv.includes("--short");
const USERS_PER_ROUND = short ? 300 : 2000;
const EXPERIMENT = "loop-ctr";
const log = (...a) => console.error("loop:", ...a);

/** A seeded PRNG (mulberry32): the same run every time. */
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(2026);

function cli(...args) {
  return execFileSync(CLI, args, { encoding: "utf8", maxBuffer: 256 << 20, stdio: ["ignore", "pipe", "inherit"] });
}

/** The bulk entries `publish|experiment --out-dir DIR` wrote, in order. */
function bulk(dir, names = ["chunks.json", "version.json", "manifest.json"]) {
  return names.flatMap((n) => {
    try {
      return JSON.parse(readFileSync(join(dir, n), "utf8"));
    } catch {
      return [];
    }
  });
}

/** Intents: cities by population (the top 300), and trending phrases the data lacks. */
function intents() {
  const rows = readFileSync(DATA, "utf8").split("\n").filter(Boolean).slice(0, 300)
    .map((l) => l.split("\t")).map(([text, score]) => ({ text, weight: Number(score) }));
  const total = rows.reduce((s, r) => s + r.weight, 0);
  const trending = rows.slice(0, 20).map((r) => `${r.text} weather`);
  return () => {
    if (random() < 0.5) return trending[Math.floor(random() * trending.length)];
    let x = random() * total;
    for (const r of rows) if ((x -= r.weight) <= 0) return r.text;
    return rows[0].text;
  };
}

/** One simulated user: a cookie jar, intents typed one character at a time, events at the end. */
async function simulateUser(base, pick) {
  let cookie = null;
  const events = [];
  const session = `s${Math.floor(random() * 1e9)}`;
  for (let n = 1 + (random() < 0.5); n > 0; n--) {
    const intent = pick();
    let last = null;
    let clicked = false;
    for (let i = 1; i <= intent.length && !clicked; i++) {
      const q = intent.slice(0, i);
      const r = await fetch(`${base}/v1/suggest?q=${encodeURIComponent(q)}&k=10`, { headers: cookie ? { cookie } : {} });
      cookie ??= r.headers.get("set-cookie")?.split(";")[0] ?? null;
      const answer = await r.json();
      if (!r.ok) throw new Error(`suggest ${q}: ${JSON.stringify(answer)}`);
      last = { q, answer };
      const position = answer.suggestions.findIndex((s) => s.text.toLowerCase() === intent.toLowerCase());
      // The click model: a user who sees what they want picks it, less often further down.
      clicked = position >= 0 && random() < 0.95 - 0.05 * position;
      if (clicked) last.position = position;
    }
    const ids = { response_id: last.answer.response_id, variant: last.answer.arm, experiment: last.answer.experiment };
    const at = Date.now();
    events.push({ ts: at, type: "impression", q: last.q, suggestions: last.answer.suggestions.map((s) => s.text), took_us: last.answer.took_us, ...ids });
    if (clicked) events.push({ ts: at + 1, type: "click", q: last.q, text: intent, position: last.position, ...ids });
    events.push({ ts: at + 2, type: "search", q: intent, results: 1, ...ids });
  }
  const user = cookie.split("=")[1];
  const body = events.map((e) => JSON.stringify({ user, session, ...e })).join("\n");
  const r = await fetch(`${base}/v1/events`, { method: "POST", body, headers: { cookie, "content-type": "text/plain" } });
  if (r.status !== 202) throw new Error(`events: ${r.status} ${await r.text()}`);
  return events.length;
}

async function simulate(base, users, pick) {
  let sent = 0;
  for (let i = 0; i < users; i += 16) {
    const batch = Array.from({ length: Math.min(16, users - i) }, () => simulateUser(base, pick));
    sent += (await Promise.all(batch)).reduce((a, b) => a + b, 0);
  }
  return sent;
}

/** Copies every R2 object to OUT/r2/<key>; returns the local paths. */
async function pullR2(mf) {
  const bucket = await mf.getR2Bucket("EVENTS_BUCKET");
  const paths = [];
  let cursor;
  do {
    const page = await bucket.list({ prefix: "events/", cursor });
    for (const o of page.objects) {
      const path = join(out, "r2", o.key);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, Buffer.from(await (await bucket.get(o.key)).arrayBuffer()));
      paths.push(path);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return paths.sort();
}

/** Waits until R2 holds `count` events (the consumer writes a batch every second). */
async function drain(mf, count) {
  for (let tries = 0; tries < 100; tries++) {
    const paths = await pullR2(mf);
    const events = paths.reduce((n, p) => n + gunzipSync(readFileSync(p)).toString().split("\n").filter(Boolean).length, 0);
    if (events >= count) return paths;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`R2 never held ${count} events`);
}

async function main() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  log(`building and publishing the two arms' indexes from ${DATA}`);
  cli("build", DATA, "-o", join(out, "cities.seg"), "-q", "--word-starts");
  const entries = [];
  for (const index of ["cities", "cities-ctr"]) {
    cli("publish", join(out, "cities.seg"), "--index", index, "--out-dir", join(out, `pub-${index}`));
    entries.push(...bulk(join(out, `pub-${index}`)));
  }
  const config = {
    experiment: EXPERIMENT,
    arms: [{ name: "control", index: "cities", weight: 50 }, { name: "ctr", index: "cities-ctr", weight: 50 }],
  };
  writeFileSync(join(out, "experiment.json"), JSON.stringify(config, null, 2));
  cli("experiment", join(out, "experiment.json"), "--out-dir", join(out, "exp"));
  entries.push(...bulk(join(out, "exp"), ["experiment.json"]));

  const mf = await startWorker({ INDEXES: "cities,cities-ctr", REFRESH_SECONDS: "1", CACHE_MAX_AGE: "0" },
    { events: true, listen: true });
  try {
    const url = (await mf.ready).toString().replace(/\/$/, "");
    await seedEntries(mf, entries);
    log(`worker on ${url}; round 1: ${USERS_PER_ROUND} users`);
    const pick = intents();
    const round1 = await simulate(url, USERS_PER_ROUND, pick);
    const files1 = await drain(mf, round1);
    log(`round 1: ${round1} events in ${files1.length} R2 minute files; aggregating`);
    cli("aggregate", ...files1, "--state", join(out, "state"), "--changes", join(out, "changes.ndjson"),
      "--score-scale", "1000000");
    cli("build", "--delta", join(out, "changes.ndjson"), "-o", join(out, "delta.seg"), "-q", "--word-starts");
    cli("publish", "--delta", join(out, "delta.seg"), "--index", "cities-ctr", "--out-dir", join(out, "pub-delta"),
      "--store", join(out, "pub-cities-ctr", "store"));
    await seedEntries(mf, bulk(join(out, "pub-delta")));
    await new Promise((r) => setTimeout(r, 1200));
    await checkServed(url, "Tokyo weather");

    log(`round 2: ${USERS_PER_ROUND} users`);
    const round2 = await simulate(url, USERS_PER_ROUND, pick);
    const files = await drain(mf, round1 + round2);
    const report = JSON.parse(cli("report", ...files, "--experiment", EXPERIMENT, "--config", join(out, "experiment.json"), "--json"));
    writeFileSync(join(out, "report.json"), JSON.stringify(report, null, 2));
    process.stdout.write(cli("report", ...files, "--experiment", EXPERIMENT, "--config", join(out, "experiment.json"),
      "--svg", join(out, "ctr.svg")));
    verdict(report);
  } finally {
    await mf.dispose();
  }
}

/** The ctr arm now suggests a phrase only the logs taught it (once the worker's background
 * refresh has swapped the new version in); the control arm does not. */
async function checkServed(url, phrase) {
  const q = phrase.slice(0, phrase.length - 3);
  const seen = {};
  const deadline = Date.now() + 15_000;
  for (let i = 0; Date.now() < deadline && !(seen.ctr && seen.control === false); i++) {
    const answer = await (await fetch(`${url}/v1/suggest?q=${encodeURIComponent(q)}&uid=probe-${i % 8}`)).json();
    seen[answer.arm] = answer.suggestions.some((s) => s.text === phrase);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (seen.ctr !== true || seen.control !== false) {
    throw new Error(`after the delta, "${q}" should show "${phrase}" in ctr only: ${JSON.stringify(seen)}`);
  }
  log(`the worker serves "${phrase}" for "${q}" in the ctr arm, not in control`);
}

function verdict(report) {
  const cmp = report.comparisons.find((c) => c.arm === "ctr");
  const problems = [];
  if (!(cmp && cmp.diff > 0 && cmp.p_value < 0.01)) problems.push(`ctr is not ahead with p < 0.01: ${JSON.stringify(cmp)}`);
  if (report.srm.flagged) problems.push(`sample-ratio mismatch: ${JSON.stringify(report.srm)}`);
  if (problems.length) throw new Error(problems.join("; "));
  log(`ctr ahead by ${(cmp.diff * 100).toFixed(1)} pp (p = ${cmp.p_value.toExponential(2)}), no sample-ratio mismatch`);
}

main().catch((e) => {
  console.error(`loop: FAILED: ${e.stack ?? e}`);
  process.exit(1);
});
