// Turns the suite's JSON results into BENCHMARKS.md and one SVG chart per data set.
//
//   node bench/report.mjs RESULTS_DIR CLI OUT_MD CHART_DIR DATASET... [--smoke]
//
// RESULTS_DIR/<dataset>/*.json come from bench/native.rs, bench/lucene, bench/js-peers.mjs,
// bench/marisa.py and bench/worker-latency.mjs, all run by `./build.sh bench` on the same
// queries in one run; RESULTS_DIR/worker-wrk.md and worker-swap.md are the markdown of
// bench/worker.sh and bench/swap.sh. CLI builds are timed here (the end-to-end figure a user sees).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { cpus, totalmem, hostname } from "node:os";
import { join, basename } from "node:path";
import { carryOver } from "./carry-over.mjs";
import { wireSizes } from "../scripts/sizes.mjs";

const args = process.argv.slice(2).filter((a) => a !== "--smoke");
const smoke = process.argv.includes("--smoke");
const [resultsDir, cli, outMd, chartDir, ...datasets] = args;

const f1 = (x) => (x == null ? "–" : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2));
const mb = (b) => (b == null ? "–" : (b / 1e6).toFixed(2));
const pct = (x) => (x == null ? "–" : `${(x * 100).toFixed(1)}%`);
const ratio = (x, base) => (x == null || !base ? "–" : `${(x / base).toFixed(x / base >= 10 ? 0 : 1)}×`);

// `node bench/report.mjs --section serve OUT_MD TSV...`: only the "Native server vs worker"
// section, from one or more bench/serve.sh outputs (`./build.sh bench-serve`), so that this part
// can be measured and its section replaced without the whole suite.
if (process.argv[2] === "--section") {
  const [, section, out, ...files] = process.argv.slice(2);
  if (section !== "serve" || !out || !files.length) {
    console.error("usage: node bench/report.mjs --section serve OUT_MD SERVE_TSV...");
    process.exit(2);
  }
  const lines = [];
  const note = files.length > 1
    ? ` (this section alone), run ${files.length} times, each run's target/bench/serve-vs-worker.tsv kept and ` +
      "all given to `node bench/report.mjs --section serve OUT_MD TSV...`"
    : " (this section alone)";
  serveVsWorker(lines, files, "./build.sh bench-serve", note);
  writeFileSync(out, lines.join("\n") + "\n");
  process.exit(0);
}
mkdirSync(chartDir, { recursive: true });

function load(dataset) {
  const dir = join(resultsDir, dataset);
  const engines = [];
  for (const name of ["native", "lucene", "js", "marisa", "worker"]) {
    const path = join(dir, `${name}.json`);
    if (existsSync(path)) engines.push(...JSON.parse(readFileSync(path, "utf8")));
  }
  return engines;
}

/** A segment's size raw, gzipped (level 9) and brotli-compressed (quality 11, the level a
 * static asset is served at), or null when the native bench wrote none (a smoke run skips
 * brotli 11: it takes seconds per megabyte). */
function transferSizes(file) {
  return smoke || !existsSync(file) ? null : wireSizes(readFileSync(file));
}

/** A line under a latency table: edgesuggest native's p99 of each query's median over the
 * rounds, which leaves out the interruptions of a shared machine that the p99 of every timing
 * counts (so a p99 the queries themselves cost is told from noise). */
function queryMedians(md, table, lengths, label = "") {
  if (!lengths.some((len) => table?.[len]?.p99_query_medians_us != null)) return;
  const cells = lengths.map((len) => f1(table[len]?.p99_query_medians_us));
  md.push("");
  md.push(`edgesuggest native${label}, p99 of each query's median over the rounds (µs, by length ` +
    `${lengths[0]}–${lengths[lengths.length - 1]}): ${cells.join(" / ")}.`);
}

/** Builds timed per data set: the machine is shared, and one build of a fifth of a second
 * swings by a third with what else runs. */
const BUILD_RUNS = smoke ? 1 : 5;

/** The CLI's own summary for an end-to-end build, run BUILD_RUNS times: the median seconds
 * and the highest peak memory. */
function cliBuild(dataPath) {
  const runs = [];
  for (let i = 0; i < BUILD_RUNS; i++) {
    const out = execFileSync(cli, ["build", dataPath, "-o", join(resultsDir, "cli-build.seg"), "--max-errors", "1000"],
      { encoding: "utf8" });
    runs.push({
      seconds: Number(/seconds\s+([\d.]+)/.exec(out)?.[1]),
      peak: Number(/peak memory\s+([\d.]+) MiB/.exec(out)?.[1]) * 1024 * 1024,
      rows: Number(/rows read\s+(\d+)/.exec(out)?.[1]),
    });
  }
  const seconds = runs.map((r) => r.seconds).sort((a, b) => a - b);
  return {
    seconds: seconds[Math.floor(seconds.length / 2)],
    peak: Math.max(...runs.map((r) => r.peak)),
    rows: runs[0].rows,
    runs: runs.length,
  };
}

/** A log-scale line chart of median latency by prefix length, one line per engine. */
function chart(dataset, engines, file) {
  const lines = engines.filter((e) => e.latency && Object.keys(e.latency).length >= 3);
  const W = 900, H = 420, L = 70, R = 360, T = 40, B = 50;
  const xs = [1, 2, 3, 4, 5, 6];
  const values = lines.flatMap((e) => xs.map((x) => e.latency[x]?.median_us).filter((v) => v > 0));
  const lo = Math.pow(10, Math.floor(Math.log10(Math.min(...values))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values))));
  const x = (v) => L + ((v - 1) / 5) * (W - L - R);
  const y = (v) => T + (1 - (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * (H - T - B);
  const colors = ["#1b6ef3", "#2b8a3e", "#e8590c", "#ae3ec9", "#c92a2a", "#495057", "#15aabf", "#f59f00", "#82c91e", "#000000", "#f783ac"];
  const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">\n`;
  svg += `<rect width="${W}" height="${H}" fill="white"/>\n`;
  svg += `<text x="${L}" y="22" font-size="15" font-weight="bold">Top-10 latency by prefix length — ${esc(dataset)} (median, log scale)</text>\n`;
  for (let d = lo; d <= hi; d *= 10) {
    svg += `<line x1="${L}" x2="${W - R}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`;
    svg += `<text x="${L - 8}" y="${y(d) + 4}" text-anchor="end">${d >= 1000 ? d / 1000 + " ms" : d + " µs"}</text>\n`;
  }
  for (const v of xs) {
    svg += `<text x="${x(v)}" y="${H - B + 18}" text-anchor="middle">${v}</text>`;
  }
  svg += `<text x="${(L + W - R) / 2}" y="${H - 12}" text-anchor="middle">prefix length (characters)</text>\n`;
  lines.forEach((e, i) => {
    const c = colors[i % colors.length];
    const pts = xs.filter((v) => e.latency[v]?.median_us > 0).map((v) => `${x(v).toFixed(1)},${y(e.latency[v].median_us).toFixed(1)}`);
    const dash = e.engine.startsWith("edgesuggest") ? "" : ' stroke-dasharray="5 3"';
    svg += `<polyline fill="none" stroke="${c}" stroke-width="${e.engine.startsWith("edgesuggest") ? 3 : 2}"${dash} points="${pts.join(" ")}"/>\n`;
    svg += `<rect x="${W - R + 12}" y="${T + i * 20 - 9}" width="14" height="4" fill="${c}"/>`;
    svg += `<text x="${W - R + 32}" y="${T + i * 20 - 4}">${esc(e.engine)}</text>\n`;
  });
  svg += "</svg>\n";
  writeFileSync(file, svg);
}

const cpu = cpus()[0]?.model ?? "unknown CPU";
const date = new Date().toISOString().slice(0, 10);
const md = [];
md.push("# Benchmarks");
md.push("");
md.push("Generated by `./build.sh bench` (this file and the charts in `docs/`): every engine on the same");
md.push("data, the same keys and the same fixed-seed queries, in one run. Ratios are against");
md.push("edgesuggest native **measured in the same run**. Figures are medians and 99th percentiles of");
md.push("individual queries (top-10). edgesuggest native's prefix queries, the same segment without");
md.push("top lists and the naive sorted array are timed in alternated rounds in one process, each");
md.push("round after an untimed pass over the same queries: the ratios between those three compare the");
md.push("same moments of the machine, each engine in its own warm state.");
md.push("");
md.push(`- Machine: ${cpu}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB (\`${hostname()}\`), shared and noisy.`);
md.push(`- Date: ${date}. Command: \`./build.sh bench${smoke ? " --smoke" : ""}\`${smoke ? " (smoke run: few queries, one round)" : ""}.`);
md.push("- Data: `../shared/data/*.tsv` (real npm package names, GeoNames cities, wordfreq words).");
md.push("- Keys: every engine indexes edgesuggest's normalized keys (case and accents folded), so all");
md.push("  compare equal work; engines that rank by weight get order-preserving weights (`count − rank`).");
md.push("- Queries: `prefix` = the first 1–6 characters of a uniformly drawn key; `fuzzy` = the first");
md.push("  3–8 characters of one with one random typo after the first character. The exact answers");
md.push("  come from edgesuggest, which the test suite checks against a brute-force oracle; fuzzy");
md.push("  answers allow 1 edit (Lucene FuzzySuggester's default). **Overlap** = share of the exact");
md.push("  top-10 that an engine returns: an engine below 100% answers a different question and its");
md.push("  speed is not comparable as such.");
md.push(`- Runtimes: Rust native (release), Java 17 (JVM warmed with 3 passes), node ${process.version.slice(1)} (edgesuggest`);
md.push("  wasm, MiniSearch, FlexSearch), CPython (marisa-trie), workerd via Miniflare (worker).");
md.push("");

for (const dataset of datasets) {
  const engines = load(dataset);
  if (!engines.length) continue;
  const native = engines.find((e) => e.engine === "edgesuggest native");
  const dataPath = process.env[`BENCH_DATA_${dataset.replace(/[^a-z0-9]/gi, "_")}`];
  const build = dataPath && existsSync(dataPath) ? cliBuild(dataPath) : null;
  md.push(`## ${dataset}`);
  md.push("");
  if (native) {
    md.push(`${native.suggestions.toLocaleString("en")} distinct keys.` +
      (build ? ` CLI build (\`edgesuggest build\`, parse + normalize + merge + write` +
        `${build.runs > 1 ? `, the median of ${build.runs} runs` : ""}): ${build.seconds.toFixed(2)} s, ` +
        `${(build.rows / build.seconds / 1000).toFixed(0)}k rows/s, peak memory ${(build.peak / 2 ** 20).toFixed(1)} MiB` +
        `${build.runs > 1 ? " (the highest)" : ""}.` : "") +
      ` Segment load (checksum verified): ${native.load_ms.toFixed(2)} ms.`);
    md.push("");
  }
  md.push("### Size, build and agreement");
  md.push("");
  md.push("| engine | build s | build memory MB | index MB | bytes/key | vs edgesuggest keys-only | top-10 overlap | fuzzy overlap | notes |");
  md.push("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  const keysOnly = native?.index_bytes_keys_only;
  for (const e of engines) {
    const bytes = e.engine === "edgesuggest native" ? e.index_bytes_keys_only : e.index_bytes;
    const name = e.engine === "edgesuggest native" ? "edgesuggest native (keys-only segment)" : e.engine;
    // Build memory: the CLI's peak RSS for edgesuggest, peak RSS for marisa, retained heap
    // after the build for the JVM and node libraries (a lower bound of their peak).
    const memory = e.engine === "edgesuggest native" ? build?.peak : e.peak_build_rss_bytes ?? e.retained_heap_bytes;
    md.push(`| ${name} | ${f1(e.build_s ?? e.load_s)} | ${mb(memory)} | ${mb(bytes)} | ${bytes && native ? (bytes / native.suggestions).toFixed(2) : "–"} | ${ratio(bytes, keysOnly)} | ${pct(e.overlap)} | ${pct(e.fuzzy_overlap)} | ${e.notes ?? ""} |`);
  }
  if (native) {
    const per = (b) => (b / native.suggestions).toFixed(2);
    md.push("");
    md.push(`edgesuggest segment sizes (bytes per suggestion): keys-only ${per(native.index_bytes_keys_only)}, ` +
      `with display forms and scores as built from the data ${per(native.index_bytes)}, ` +
      `\`--word-starts\` ${per(native.index_bytes_word_starts)} (+${(100 * (native.index_bytes_word_starts / native.index_bytes - 1)).toFixed(0)}%), ` +
      `2 categories per row (score magnitude, script) ${per(native.index_bytes_categories)} ` +
      `(+${(100 * (native.index_bytes_categories / native.index_bytes - 1)).toFixed(0)}%: one FST per category plus each suggestion's list).`);
    const transfer = transferSizes(join(resultsDir, dataset, "plain.seg"));
    if (transfer) {
      md.push("");
      md.push(`Over the wire (what a browser downloads; the plain segment above, ${transfer.raw.toLocaleString("en")} bytes): ` +
        `gzip -9 ${transfer.gzip.toLocaleString("en")} bytes (${per(transfer.gzip)} per suggestion), ` +
        `brotli 11 ${transfer.brotli.toLocaleString("en")} bytes (${per(transfer.brotli)} per suggestion).`);
    }
  }
  md.push("");
  md.push("### Top-10 latency by prefix length (µs, median / p99; ratio = median vs edgesuggest native)");
  md.push("");
  md.push("| engine | 1 | 2 | 3 | 4 | 5 | 6 |");
  md.push("|---|---|---|---|---|---|---|");
  for (const e of engines.filter((e) => e.latency)) {
    const cells = [1, 2, 3, 4, 5, 6].map((len) => {
      const s = e.latency[len];
      if (!s) return "–";
      const base = native?.latency[len]?.median_us;
      const r = e === native ? "" : ` (${ratio(s.median_us, base)})`;
      return `${f1(s.median_us)} / ${f1(s.p99_us)}${r}`;
    });
    md.push(`| ${e.engine} | ${cells.join(" | ")} |`);
  }
  queryMedians(md, native?.latency, [1, 2, 3, 4, 5, 6]);
  md.push("");
  md.push(`![latency by prefix length, ${dataset}](docs/bench-${dataset}.svg)`);
  md.push("");
  md.push("### Typo-tolerant top-10 by query length (µs, median / p99; ratio vs edgesuggest native, 1 edit)");
  md.push("");
  md.push("| engine | 3 | 4 | 5 | 6 | 7 | 8 |");
  md.push("|---|---|---|---|---|---|---|");
  const fuzzyRows = [];
  for (const e of engines) {
    if (e.fuzzy) fuzzyRows.push([e.engine.includes("FuzzySuggester") || e.engine.includes("MiniSearch") ? e.engine : `${e.engine}, 1 edit`, e.fuzzy]);
    if (e.fuzzy_auto) fuzzyRows.push([`${e.engine}, fuzzy=auto (2 edits from 6 characters)`, e.fuzzy_auto]);
  }
  for (const [name, table] of fuzzyRows) {
    const cells = [3, 4, 5, 6, 7, 8].map((len) => {
      const s = table[len];
      if (!s) return "–";
      const base = native?.fuzzy?.[len]?.median_us;
      const r = table === native?.fuzzy ? "" : ` (${ratio(s.median_us, base)})`;
      return `${f1(s.median_us)} / ${f1(s.p99_us)}${r}`;
    });
    md.push(`| ${name} | ${cells.join(" | ")} |`);
  }
  queryMedians(md, native?.fuzzy, [3, 4, 5, 6, 7, 8], ", 1 edit");
  queryMedians(md, native?.fuzzy_auto, [3, 4, 5, 6, 7, 8], ", fuzzy=auto");
  md.push("");
  chart(dataset, engines.filter((e) => e.latency), join(chartDir, `bench-${dataset}.svg`));
}

const throughput = join(resultsDir, "worker-wrk.md");
if (existsSync(throughput)) {
  md.push("## Worker throughput under wrk (wrangler dev, workerd)");
  md.push("");
  md.push(readFileSync(throughput, "utf8").trim());
  md.push("");
}
const serveTsv = join(resultsDir, "serve-vs-worker.tsv");
if (existsSync(serveTsv)) serveVsWorker(md, [serveTsv], "./build.sh bench", "");
freshness(md);
signals(md);
experiments(md);
reliability(md);
// A rerun keeps what was written by hand between runs (see bench/carry-over.mjs).
const previous = existsSync(outMd) ? readFileSync(outMd, "utf8").replace(/\n$/, "").split("\n") : [];
writeFileSync(outMd, carryOver(md, previous).join("\n") + "\n");

/** wrk's latency text (`812.00us`, `21.41ms`, `1.02s`) in milliseconds. */
function wrkMs(text) {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text ?? "");
  if (!m) return null;
  return Number(m[1]) * { us: 1e-3, ms: 1, s: 1e3, m: 60e3 }[m[2]];
}

/** bench/serve.sh's tab-separated output: its settings and one row per wrk run. */
function readServeTsv(file) {
  const settings = {};
  const runs = [];
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const f = line.split("\t");
    if (f[0] === "setting") settings[f[1]] = f[2];
    if (f[0] === "run") {
      const [, round, surface, route, rps, p50, p99, cpuUs, requests] = f;
      runs.push({ round: Number(round), surface, route, rps: Number(rps), p50: wrkMs(p50), p99: wrkMs(p99),
        cpuUs: Number(cpuUs), requests: Number(requests) });
    }
  }
  return { settings, runs };
}

/**
 * The "Native server vs worker" section: `edgesuggest serve` and the worker in local workerd
 * under the same wrk, in turns within one run of bench/serve.sh (FILES: one or more runs; each
 * gets its own rows). Ratios are serve/worker within a round. COMMAND (`./build.sh …`, which
 * gets ` --smoke` for a smoke run) and NOTE say where the figures come from.
 */
function serveVsWorker(md, files, command, note) {
  const results = files.map(readServeTsv).filter((r) => r.runs.length);
  if (!results.length) return;
  const s = results[0].settings;
  const ms = (x) => (x == null ? "–" : x >= 10 ? `${x.toFixed(1)} ms` : `${x.toFixed(2)} ms`);
  const x = (a, b) => (a == null || !b ? "–" : `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×`);
  md.push("## Native server vs worker under wrk");
  md.push("");
  md.push("`edgesuggest serve` (axum on a multi-threaded tokio runtime) and the worker (`wrangler dev`, " +
    "local workerd, L2 Cache API off so that both answer every request from the segment in memory) " +
    `serve the same index (the bundled cities-10k, ${Number(s.index_bytes).toLocaleString("en")} bytes) to the same wrk as ` +
    `the worker section above: \`wrk -t${s.threads} -c${s.connections} -d${s.seconds}s --latency\` on 127.0.0.1, ` +
    `\`/v1/suggest\` with bench/wrk-suggest.lua's mix of ${s.prefix_queries} prefix queries (1–6 characters, ` +
    "k=10), `/v1/ping` as the trivial route of each. The two take turns in one run (worker, serve, " +
    `worker, serve, …: a round is the worker then the server, ${s.rounds} round${s.rounds === "1" ? "" : "s"}), because this machine is shared and noisy: ` +
    "compare them within a round. CPU µs/request is the serving processes' user + system time over the requests wrk completed.");
  md.push("");
  md.push(`Read the ratio with the machine in mind: ${cpus().length} cores, shared with other work, and wrk ` +
    "itself (two threads, Lua building every request) takes about one of them. The worker runs in " +
    "one workerd isolate, which runs its JavaScript and wasm on one thread (requests interleave only " +
    "while one waits), as on the edge, where capacity comes from many isolates on many machines; " +
    "`edgesuggest serve` spreads requests over tokio's worker threads (one per core), so here it " +
    "competes with wrk for the same cores, and on a machine with more cores it can use them where " +
    "one isolate cannot. p99 under 16 connections is mostly queueing, not the search.");
  md.push("");
  const rounds = [];
  results.forEach((r, i) => {
    const tag = results.length > 1 ? `${i + 1}.` : "";
    // Rounds of a second run of the script are numbered 2.1, 2.2, …
    if (results.length > 1) md.push(`Run ${i + 1} of bench/serve.sh:`, "");
    md.push("| route | round | surface | requests/s | p50 | p99 | CPU µs/request | serve/worker requests/s | serve/worker p99 |");
    md.push("|---|---:|---|---:|---:|---:|---:|---:|---:|");
    for (const route of ["/v1/suggest", "/v1/ping"]) {
      for (const round of [...new Set(r.runs.map((e) => e.round))]) {
        const worker = r.runs.find((e) => e.round === round && e.route === route && e.surface === "worker");
        const serve = r.runs.find((e) => e.round === round && e.route === route && e.surface === "serve");
        for (const e of [worker, serve]) {
          if (!e) continue;
          const name = e.surface === "serve" ? "`edgesuggest serve`" : "worker (workerd)";
          const ratios = e === serve ? `${x(serve.rps, worker?.rps)} | ${x(serve.p99, worker?.p99)}` : " | ";
          md.push(`| ${route} | ${tag}${round} | ${name} | ${e.rps.toFixed(0)} | ${ms(e.p50)} | ${ms(e.p99)} | ${e.cpuUs} | ${ratios} |`);
        }
        if (route === "/v1/suggest" && worker && serve) rounds.push({ label: `${tag}${round}`, worker, serve });
      }
    }
    md.push("");
  });
  // Repeats that disagree by more than 10% are said so: then only ratios within a round hold.
  const spread = (values) => (Math.max(...values) - Math.min(...values)) / Math.min(...values);
  const drift = ["worker", "serve"].filter((k) => rounds.length > 1 && spread(rounds.map((r) => r[k].rps)) > 0.1);
  if (drift.length) {
    md.push(`Requests/s of /v1/suggest differ by more than 10% between rounds for ${drift.join(" and ")} ` +
      "(the machine's other load varies): every round is shown, and only the ratios within a round compare.");
    md.push("");
  }
  if (rounds.length) {
    const r = rounds.map((e) => e.serve.rps / e.worker.rps);
    md.push(`On /v1/suggest \`edgesuggest serve\` answered ${r.map((v) => `${v.toFixed(1)}×`).join(", ")} the worker's ` +
      `requests per second (round${r.length > 1 ? "s" : ""} ${rounds.map((e) => e.label).join(", ")}).`);
    md.push("");
  }
  // What the search costs on each surface: CPU per /v1/suggest request minus per /v1/ping
  // request (medians over every round); the rest is each surface's request handling.
  const median = (v) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const cpu = (surface, route) => median(results.flatMap((r) => r.runs)
    .filter((e) => e.surface === surface && e.route === route).map((e) => e.cpuUs));
  const cpuText = ["worker", "serve"].map((k) => `${k === "serve" ? "`edgesuggest serve`" : "the worker"} ` +
    `${cpu(k, "/v1/suggest")} µs for /v1/suggest vs ${cpu(k, "/v1/ping")} µs for /v1/ping`);
  md.push(`CPU per request (median over the rounds): ${cpuText.join(", ")}. The difference is what the ` +
    "search and its JSON cost; the rest is each surface's request handling (for the worker, local " +
    "workerd as `wrangler dev` runs it).");
  md.push("");
  md.push("Which surface when:");
  md.push("");
  md.push("- **Edge worker**: users everywhere, no servers to run; the index is in KV and every Cloudflare " +
    "location answers near the user, so the network round trip, not these figures, dominates what a user sees.");
  md.push("- **`edgesuggest serve`**: your own pods behind your gateway or load balancer, next to the " +
    "services that call it; the lowest latency inside a data center, every core used, the index read " +
    "from a directory (hot reload), Prometheus metrics.");
  md.push("- **Browser (the wasm package)**: offline or zero network: the segment is downloaded once and " +
    "every keystroke is answered in the page (see the wasm rows of the latency tables above).");
  md.push("");
  md.push(`Date: ${new Date().toISOString().slice(0, 10)}. Command: \`${command}${s.smoke === "1" ? " --smoke" : ""}\`${note}` +
    `${s.smoke === "1" ? " (smoke run: one short round, the figures mean nothing)" : ""}; the worker ` +
    "section above comes from bench/worker.sh, run separately.");
  md.push("");
}

/**
 * The freshness section: bench/freshness.rs (delta build, latency over 0, 1, 4 and 16 deltas
 * against the base alone in the same run, compaction) and the time from `publish --delta` to
 * new answers in workerd (bench/freshness-worker.md, from the workerd test).
 */
function freshness(md) {
  const file = join(resultsDir, "freshness", "freshness.md");
  if (!existsSync(file)) return;
  md.push("## Freshness: deltas, stacks, compaction");
  md.push("");
  md.push("`cargo bench --bench freshness -- OUT_DIR DATA...` (run by `./build.sh bench`): the base is " +
    "every data set together; each delta a synthetic minute of changes. Latency is top-10 exact " +
    "prefix, full path, each stack timed in turn over the same queries in one run; ×base is " +
    "against the base alone (target ≤ 1.3× at 4 deltas, p99 included).");
  md.push("");
  md.push(readFileSync(file, "utf8").trim());
  md.push("");
  // The worker's figure comes from the workerd test, kept by hand (like reliability.md).
  md.push(readFileSync(new URL("./freshness-worker.md", import.meta.url), "utf8").trim());
  md.push("");
}

/**
 * The signals section: `edgesuggest aggregate` on generated logs, one minute into a change set,
 * and the Spark job on the same logs (bench/signals.sh, a fragment with its own heading).
 */
function signals(md) {
  const file = join(resultsDir, "signals.md");
  if (!existsSync(file)) return;
  md.push("## Signals: from logs to suggestions");
  md.push("");
  md.push(readFileSync(file, "utf8").trim());
  md.push("");
}

/**
 * The experiments section: the worker with events on vs off and events into R2
 * (bench/events.mjs), and `edgesuggest report` throughput (in the signals fragment).
 */
function experiments(md) {
  const file = join(resultsDir, "events.md");
  if (!existsSync(file)) return;
  md.push("## Experiments: events at the edge");
  md.push("");
  md.push(readFileSync(file, "utf8").trim());
  md.push("");
  md.push("`edgesuggest report` throughput is in the signals section (same generated week).");
  md.push("");
}

/**
 * The reliability section: what validating untrusted bytes costs per MB (load = header,
 * checksum, then every node of every FST decoded once), what verify_deep costs, and the
 * per-query limits and the fuzzing figures of the last long `./build.sh fuzz` runs, kept by hand in
 * bench/reliability.md (they come from runs of their own, not from this suite).
 */
function reliability(md) {
  md.push("## Reliability");
  md.push("");
  md.push("### Validating untrusted bytes");
  md.push("");
  md.push("`Segment::load` reads the header, computes the checksum, then validates every node of every FST " +
    "(main, word-start entries, one per category) before any query; the target is ≤ 2 ms per MB. " +
    "`verify_deep` (the `edgesuggest verify` command) checks every key of every FST, decoding each node once.");
  md.push("");
  md.push("| data | segment | MB | load ms | load ms per MB | verify_deep ms |");
  md.push("|---|---|---:|---:|---:|---:|");
  for (const dataset of datasets) {
    const native = load(dataset).find((e) => e.engine === "edgesuggest native");
    if (!native?.load_ms_word_starts) continue;
    const rows = [
      ["plain", native.index_bytes, native.load_ms, native.verify_deep_ms],
      ["--word-starts", native.index_bytes_word_starts, native.load_ms_word_starts],
      ["2 categories per row", native.index_bytes_categories, native.load_ms_categories],
    ];
    for (const [name, bytes, ms, deep] of rows) {
      const megabytes = bytes / 2 ** 20;
      md.push(`| ${dataset} | ${name} | ${megabytes.toFixed(2)} | ${ms.toFixed(2)} | ${(ms / megabytes).toFixed(2)} | ${deep === undefined ? "–" : deep.toFixed(1)} |`);
    }
  }
  md.push("");
  // Each fragment starts with its own `###` heading.
  for (const file of [join(resultsDir, "worker-swap.md"), new URL("./reliability.md", import.meta.url)]) {
    if (!existsSync(file)) continue;
    md.push(readFileSync(file, "utf8").trim());
    md.push("");
  }
}
console.error(`report: wrote ${outMd} and ${datasets.map((d) => `bench-${d}.svg`).join(", ")} in ${basename(chartDir)}/`);
