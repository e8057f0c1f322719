// Events and experiments in real workerd (Miniflare 4) with real local KV, Queues and R2: the
// event endpoint's validation, exactly-once delivery to R2 minute files through one consumer
// failure, sticky A/B assignment and ramps, arm options, holdouts and blocklists per arm. Run
// by `./build.sh test` under node 22 with EDGESUGGEST_CLI, EDGESUGGEST_WORKER_NPM and DATA_TSV.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  cli, eventsInR2, get, readBulk, seedEntries, sleep, startWorker, waitForEvents, work,
} from "./harness.mjs";

const DATA = process.env.DATA_TSV;
const instances = [];
after(async () => {
  await Promise.all(instances.map((mf) => mf.dispose()));
});

async function start(vars, options) {
  const mf = await startWorker(vars, options);
  instances.push(mf);
  return mf;
}

let counter = 0;
/** Builds DATA into a segment and publishes it as `index` (with a blocklist file's lines). */
function publish(index, { blocklist } = {}) {
  const dir = join(work, `e${counter++}`);
  cli("build", DATA, "-o", dir + ".seg", "-q", "--word-starts");
  const extra = [];
  if (blocklist) {
    writeFileSync(dir + ".block", blocklist.join("\n") + "\n");
    extra.push("--blocklist", dir + ".block");
  }
  cli("publish", dir + ".seg", ...extra, "--index", index, "--out-dir", dir, "--version", "1",
    "--chunk-bytes", "100000");
  return { seg: dir + ".seg", entries: readBulk(dir) };
}

/** The KV entry `edgesuggest experiment FILE --out-dir` writes for `config`. */
function experimentEntry(config) {
  const dir = join(work, `x${counter++}`);
  writeFileSync(dir + ".json", JSON.stringify(config));
  cli("experiment", dir + ".json", "--out-dir", dir);
  return readBulk(dir, ["experiment.json"]);
}

const event = (i, extra = {}) => ({ ts: 1764633600000 + i, type: "search", user: `u${i}`, q: `q ${i}`, ...extra });
const post = (mf, body, headers = { "content-type": "application/json" }) =>
  get(mf, "/v1/events", { method: "POST", body, headers });

test("events: accepted in any of the three encodings, refused whole with the reason and index", async () => {
  const mf = await start({}, { events: true });
  let accepted = 0;
  const array = await post(mf, JSON.stringify([event(1), event(2), { ...event(3), junk: [1] }]));
  assert.equal(array.status, 202, array.text);
  assert.equal(array.json.accepted, 3);
  accepted += 3;
  // navigator.sendBeacon with a string: text/plain, one event per line.
  const beacon = await post(mf, [event(4), event(5)].map((e) => JSON.stringify(e)).join("\n"),
    { "content-type": "text/plain;charset=UTF-8" });
  assert.equal(beacon.status, 202, beacon.text);
  accepted += 2;
  const impression = { ts: 1, type: "impression", user: "u9", q: "new", suggestions: ["New York"], response_id: "r1", took_us: 50 };
  const click = { ts: 2, type: "click", user: "u9", text: "New York", position: 0, response_id: "r1" };
  assert.equal((await post(mf, JSON.stringify([impression, click]))).status, 202);
  accepted += 2;

  const refused = [
    [JSON.stringify([event(6), { ts: 7, type: "click", user: "u", text: "x" }]), 400, "bad_event", 1, /position/],
    [JSON.stringify([{ ts: "7", type: "search", user: "u", q: "x" }]), 400, "bad_event", 0, /"ts" must/],
    [JSON.stringify([event(6), event(7), { ts: 7, type: "searc", user: "u", q: "x" }]), 400, "bad_event", 2, /unknown "type"/],
    [`${JSON.stringify(event(6))}\nnot json`, 400, "bad_event", 1, /not valid JSON/],
    [JSON.stringify([{ ...event(6), user: "x".repeat(300) }]), 400, "bad_event", 0, /at most 256/],
    ["[]", 400, "no_events", undefined, /no events/],
    ["  \n", 400, "no_events", undefined, /no events/],
    ["[{", 400, "bad_body", undefined, /JSON array/],
    [JSON.stringify(Array.from({ length: 101 }, (_, i) => event(i))), 413, "too_many_events", undefined, /at most 100/],
    [JSON.stringify([{ ...event(1), q: "x".repeat(70_000) }]), 413, "body_too_large", undefined, /at most 65536/],
  ];
  for (const [body, status, code, index, message] of refused) {
    const r = await post(mf, body);
    assert.equal(r.status, status, `${body.slice(0, 60)}: ${r.text}`);
    assert.equal(r.json.error.code, code);
    assert.equal(r.json.error.event, index);
    assert.match(r.json.error.message, message);
  }
  assert.equal((await get(mf, "/v1/events")).status, 405);
  const pre = await get(mf, "/v1/events", { method: "OPTIONS" });
  assert.match(pre.headers.get("access-control-allow-methods"), /POST/);

  const lines = await waitForEvents(mf, accepted);
  await sleep(1500); // anything refused would have arrived by now
  const all = await eventsInR2(mf);
  assert.equal(all.length, accepted, "only accepted events reach R2");
  for (const { key, event: e } of all) {
    assert.match(key, /^events\/\d{4}\/\d{2}\/\d{2}\/\d{2}\/\d{2}\/[0-9a-f]{32}\.ndjson\.gz$/);
    assert.ok(e.received_ts > 1.7e12 && typeof e.event_id === "string", JSON.stringify(e));
    assert.equal(e.junk, undefined, "fields outside the schema are dropped");
  }
  assert.equal(new Set(all.map((l) => l.event.event_id)).size, accepted);
  const stored = all.map((l) => l.event).find((e) => e.type === "impression");
  assert.deepEqual(stored.suggestions, ["New York"]);
  assert.equal(stored.took_us, 50);
  assert.equal(lines.length, accepted);
});

test("events: without the queue binding the endpoint says events are off; suggest is unchanged", async () => {
  const mf = await start();
  await seedEntries(mf, publish("cities").entries);
  const r = await post(mf, JSON.stringify([event(1)]));
  assert.equal(r.status, 503);
  assert.equal(r.json.error.code, "events_off");
  const s = await get(mf, "/v1/suggest?q=new");
  assert.equal(s.status, 200);
  assert.match(s.json.response_id, /^[0-9a-f]{32}$/);
  assert.equal(s.json.arm, null);
  assert.equal(s.json.experiment, null);
  assert.equal(s.headers.get("set-cookie"), null, "no cookie without an experiment");
});

test("events: every event reaches R2 exactly once although the consumer fails after writing", async () => {
  const mf = await start({ EVENTS_CONSUMER_FAULTS: "1" }, { events: true });
  const sent = [];
  for (let r = 0; r < 30; r++) {
    const batch = Array.from({ length: 5 }, (_, i) => event(r * 5 + i, { event_id: `e-${r}-${i}` }));
    const res = await post(mf, JSON.stringify(batch));
    assert.equal(res.status, 202, res.text);
    sent.push(...batch.map((e) => e.event_id));
  }
  await waitForEvents(mf, sent.length);
  await sleep(2500); // the retry of the failed batch, and any duplicate it could write
  const ids = (await eventsInR2(mf)).map((l) => l.event.event_id);
  const counts = new Map();
  for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
  assert.deepEqual([...counts.keys()].sort(), [...sent].sort());
  assert.ok([...counts.values()].every((n) => n === 1), "an event was written twice");
});

/** Each user's answer for `q`: arm, index, suggestions; `concurrency` requests at a time. */
async function armsOf(mf, users, q = "new", concurrency = 32) {
  const out = new Array(users.length);
  for (let i = 0; i < users.length; i += concurrency) {
    const slice = users.slice(i, i + concurrency);
    const answers = await Promise.all(slice.map((u) =>
      get(mf, `/v1/suggest?q=${encodeURIComponent(q)}&uid=${encodeURIComponent(u)}`)));
    answers.forEach((r, j) => {
      assert.equal(r.status, 200, r.text);
      out[i + j] = r.json;
    });
  }
  return out;
}

const twoArms = (a, b) => ({
  experiment: "ctr-test",
  arms: [
    { name: "control", index: "cities", weight: a },
    { name: "treatment", index: "cities-b", options: { fuzzy: "auto" }, weight: b },
  ],
});

test("experiments: sticky arms split 50/50 within 1% over 20k users; a ramp to 20/80 moves only users that must move", async () => {
  const mf = await start({ INDEXES: "cities,cities-b", REFRESH_SECONDS: "1", CACHE_MAX_AGE: "0" }, { events: true });
  const a = publish("cities"), b = publish("cities-b");
  await seedEntries(mf, [...a.entries, ...b.entries, ...experimentEntry(twoArms(50, 50))]);
  const users = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);
  const first = await armsOf(mf, users);
  const inTreatment = first.filter((r) => r.arm === "treatment").length / users.length;
  assert.ok(Math.abs(inTreatment - 0.5) <= 0.01, `treatment share ${inTreatment}`);
  for (const r of first) {
    assert.equal(r.experiment, "ctr-test");
    assert.equal(r.index, r.arm === "control" ? "cities" : "cities-b");
  }
  assert.equal(new Set(first.map((r) => r.response_id)).size, users.length, "response ids are unique");
  const again = await armsOf(mf, users.slice(0, 1000));
  again.forEach((r, i) => assert.equal(r.arm, first[i].arm, `${users[i]} changed arm`));

  await seedEntries(mf, experimentEntry(twoArms(20, 80)));
  await sleep(1200);
  const ramped = await armsOf(mf, users);
  let moved = 0;
  ramped.forEach((r, i) => {
    assert.ok(!(first[i].arm === "treatment" && r.arm === "control"), `${users[i]} moved back to control`);
    moved += r.arm !== first[i].arm;
  });
  // 30% of users must move from control to treatment; a minimal reassignment moves no more.
  assert.ok(Math.abs(moved / users.length - 0.3) <= 0.01, `moved ${moved / users.length}`);
  const share = ramped.filter((r) => r.arm === "treatment").length / users.length;
  assert.ok(Math.abs(share - 0.8) <= 0.01, `treatment share after the ramp ${share}`);
});

test("experiments: arm options equal the CLI's answers, the cookie keeps a user's arm, a holdout sees nothing, events carry the arm", async () => {
  const mf = await start({ INDEXES: "cities,cities-b", REFRESH_SECONDS: "30", CACHE_MAX_AGE: "0" }, { events: true });
  const a = publish("cities"), b = publish("cities-b");
  const config = {
    experiment: "opts", arms: [
      { name: "control", index: "cities", weight: 1 },
      { name: "fuzzy", index: "cities-b", options: { fuzzy: "auto", k: 5 }, weight: 1 },
      { name: "holdout", holdout: true, weight: 1 },
    ],
  };
  await seedEntries(mf, [...a.entries, ...b.entries, ...experimentEntry(config)]);
  const users = Array.from({ length: 300 }, (_, i) => `opt-${i}`);
  const q = "nwe yor";
  const answers = await armsOf(mf, users, q);
  const oracle = {
    control: JSON.parse(cli("query", a.seg, q, "--json", "-k", "10")).suggestions,
    fuzzy: JSON.parse(cli("query", b.seg, q, "--json", "-k", "5", "--fuzzy", "auto")).suggestions,
    holdout: [],
  };
  assert.ok(oracle.fuzzy.length > 0 && oracle.fuzzy.some((s) => s.edits > 0));
  const seen = new Set();
  for (const r of answers) {
    seen.add(r.arm);
    assert.deepEqual(r.suggestions, oracle[r.arm], r.arm);
  }
  assert.deepEqual([...seen].sort(), ["control", "fuzzy", "holdout"]);

  // No uid: the worker gives a key in a cookie; with the cookie the arm stays.
  const fresh = await get(mf, "/v1/suggest?q=new");
  const cookie = fresh.headers.get("set-cookie");
  assert.match(cookie, /^es_uid=[0-9a-f]{32}; Path=\/; Max-Age=31536000; SameSite=Lax; HttpOnly$/);
  assert.match(fresh.headers.get("cache-control"), /^private/);
  const key = cookie.split(";")[0];
  for (let i = 0; i < 5; i++) {
    const r = await get(mf, "/v1/suggest?q=new", { headers: { cookie: key } });
    assert.equal(r.json.arm, fresh.json.arm);
    assert.equal(r.headers.get("set-cookie"), null);
  }

  // Events without an arm are stamped with the arm of their user key.
  const byUser = new Map(users.map((u, i) => [u, answers[i].arm]));
  const events = users.slice(0, 40).map((u, i) => event(i, { user: u }));
  assert.equal((await post(mf, JSON.stringify(events))).status, 202);
  const own = { ...event(99, { user: users[0] }), variant: "mine", experiment: "other" };
  assert.equal((await post(mf, JSON.stringify([own]))).status, 202);
  const stored = (await waitForEvents(mf, 41)).map((l) => l.event);
  for (const e of stored.filter((e) => e.ts !== own.ts)) {
    assert.equal(e.experiment, "opts");
    assert.equal(e.variant, byUser.get(e.user), e.user);
  }
  const kept = stored.find((e) => e.ts === own.ts);
  assert.equal(kept.variant, "mine", "a client's own arm is kept");
});

test("experiments: a blocklisted phrase never appears in any arm; a refused configuration keeps the last good one", async () => {
  const mf = await start({ INDEXES: "cities,cities-b", REFRESH_SECONDS: "1", CACHE_MAX_AGE: "0" });
  const blocklist = ["new york*", "los angeles"];
  const a = publish("cities", { blocklist }), b = publish("cities-b", { blocklist });
  const config = {
    experiment: "block", arms: [
      { name: "control", index: "cities", weight: 1 },
      { name: "fuzzy", index: "cities-b", options: { fuzzy: "2", prefix_length: "0" }, weight: 1 },
    ],
  };
  await seedEntries(mf, [...a.entries, ...b.entries, ...experimentEntry(config)]);
  // Without the blocklist these queries show the blocked phrases (the test can fail).
  const plain = JSON.parse(cli("query", a.seg, "new yor", "--json")).suggestions;
  assert.ok(plain.some((s) => s.text.toLowerCase().startsWith("new york")));
  const users = Array.from({ length: 200 }, (_, i) => `b-${i}`);
  const arms = new Set();
  for (const q of ["new", "new y", "new yor", "nwe york", "los ang", "los angeles", "angeles", "york"]) {
    for (const r of await armsOf(mf, users, q)) {
      arms.add(r.arm);
      for (const s of r.suggestions) {
        const t = s.text.toLowerCase();
        assert.ok(!t.startsWith("new york") && t !== "los angeles", `${r.arm} showed ${s.text} for ${q}`);
      }
    }
  }
  assert.deepEqual([...arms].sort(), ["control", "fuzzy"]);

  // An arm naming an index this worker does not serve: refused, the running one stays.
  const bad = { experiment: "block", arms: [{ name: "control", index: "elsewhere", weight: 1 }] };
  await seedEntries(mf, [{ key: "experiment", value: JSON.stringify(bad) }]);
  await sleep(1200);
  const r = await get(mf, "/v1/suggest?q=new&uid=b-1");
  assert.ok(["control", "fuzzy"].includes(r.json.arm));
  const health = (await get(mf, "/v1/health")).json;
  assert.equal(health.experiment, "block");
  assert.match(health.experiment_error, /elsewhere/);
});
