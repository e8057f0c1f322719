// An independent brute-force oracle in JavaScript, written from the rules (not from the
// engine): normalize (NFKD, drop Mn, per-character lowercase, collapse White_Space, trim),
// merge rows by key (sum scores; display = highest single score, ties byte-wise smallest),
// filter by prefix, sort by score descending then key bytes ascending; the phrase equal to the
// whole query first.
//
// The JavaScript counterpart of the Rust oracle in mod.rs, shared by the page tests
// (www/tests/page.test.mjs) and the benchmark scripts (bench/*.mjs, which use its normalizer).
import { readFileSync } from "node:fs";

const WS = /\p{White_Space}+/gu;
const MN = /\p{Mn}/gu;

function fold(s) {
  // Per character: String.prototype.toLowerCase on a whole string is context-sensitive
  // (final sigma); the engine's char::to_lowercase is not.
  return [...s.normalize("NFKD").replace(MN, "")].map((c) => c.toLowerCase()).join("").replace(WS, " ");
}
export const normalizePhrase = (s) => fold(s).trim();
export function normalizeQuery(s) {
  const f = fold(s).replace(/^ /, "");
  return f;
}
const bytes = (s) => Buffer.from(s, "utf8");

/** Fewest edits (insert, delete, substitute, swap neighbours: one each; optimal string
 * alignment) from `a` to some prefix of `b`, both arrays of characters. */
function prefixEdits(a, b, max) {
  b = b.slice(0, a.length + max);
  let prev2 = null;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  let best = Math.min(...prev.slice(0, 1)) === 0 && a.length === 0 ? 0 : Infinity;
  if (a.length === 0) return 0;
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      let v = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, prev2[j - 2] + 1);
      row.push(v);
    }
    prev2 = prev;
    prev = row;
  }
  best = Math.min(...prev);
  return best <= max ? best : null;
}

export function loadOracle(tsvPath) {
  const merged = new Map();
  for (const line of readFileSync(tsvPath, "utf8").split("\n")) {
    if (!line) continue;
    // phrase<TAB>score[<TAB>payload[<TAB>categories]]
    const [phrase, rawScore, , rawCategories = ""] = line.split("\t");
    const score = BigInt(rawScore);
    const key = normalizePhrase(phrase);
    if (!key) continue;
    const categories = rawCategories.split(",").filter(Boolean);
    const e = merged.get(key);
    if (!e) merged.set(key, { key, total: score, best: score, text: phrase, categories: new Set(categories) });
    else {
      e.total += score;
      categories.forEach((c) => e.categories.add(c));
      if (score > e.best || (score === e.best && Buffer.compare(bytes(phrase), bytes(e.text)) < 0)) {
        e.best = score;
        e.text = phrase;
      }
    }
  }
  const entries = [...merged.values()].sort((a, b) =>
    a.total === b.total ? Buffer.compare(bytes(a.key), bytes(b.key)) : a.total > b.total ? -1 : 1,
  );
  /**
   * Ranking: the phrase equal to the whole query first, then fewer edits, then full-phrase
   * before word-start matches, then score. `fuzzy`: "auto" (0 under 3 characters, 1 for 3-5,
   * 2 above) or a number; the first `prefixLength` characters match exactly, and so does
   * every character that starts more than 32 bytes (UTF-8) before the end: typo tolerance
   * covers the last 32 bytes of the query.
   */
  function search(query, { k = 10, fuzzy = 0, prefixLength = 1, wordStarts = false, categories = [], exactFirst = true } = {}) {
    const q = [...normalizeQuery(query)];
    const qs = q.join("");
    const max = fuzzy === "auto" ? (q.length < 3 ? 0 : q.length <= 5 ? 1 : 2) : Number(fuzzy);
    const total = Buffer.byteLength(qs);
    let start = 0;
    let beforeTail = 0;
    for (const c of q) {
      if (total - start <= 32) break;
      start += Buffer.byteLength(c);
      beforeTail++;
    }
    prefixLength = Math.max(prefixLength, beforeTail);
    const head = q.slice(0, prefixLength).join("");
    const ranked = [];
    for (const [rank, e] of entries.entries()) {
      if (categories.length && !categories.some((c) => e.categories.has(c))) continue;
      const starts = [0];
      if (wordStarts) for (let i = 1; i < e.key.length; i++) if (e.key[i - 1] === " ") starts.push(i);
      let best = null;
      for (const [n, at] of starts.entries()) {
        const rest = e.key.slice(at);
        if (!rest.startsWith(max === 0 ? qs : head)) continue;
        const chars = [...rest];
        const d = max === 0 ? 0 : prefixEdits(q.slice(prefixLength), chars.slice(prefixLength), max);
        if (d === null) continue;
        const cls = [d, n > 0 ? 1 : 0];
        if (!best || cls[0] < best[0] || (cls[0] === best[0] && cls[1] < best[1])) best = cls;
      }
      if (!best) continue;
      const exact = exactFirst && qs.length > 0 && e.key === qs ? 0 : 1;
      ranked.push([exact, best[0], best[1], rank, e.text]);
    }
    ranked.sort((a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2] || a[3] - b[3]);
    return ranked.slice(0, k).map((r) => r[4]);
  }
  return {
    search,
    suggest: (query, k = 10) => search(query, { k }),
  };
}
