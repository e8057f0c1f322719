// An independent brute-force oracle in JavaScript, written from the rules (not from the
// engine): normalize (NFKD, drop Mn, per-character lowercase, collapse White_Space, trim),
// merge rows by key (sum scores; display = highest single score, ties byte-wise smallest),
// filter by prefix, sort by score descending then key bytes ascending.
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

export function loadOracle(tsvPath) {
  const merged = new Map();
  for (const line of readFileSync(tsvPath, "utf8").split("\n")) {
    if (!line) continue;
    const tab = line.lastIndexOf("\t");
    const phrase = line.slice(0, tab);
    const score = BigInt(line.slice(tab + 1));
    const key = normalizePhrase(phrase);
    if (!key) continue;
    const e = merged.get(key);
    if (!e) merged.set(key, { key, total: score, best: score, text: phrase });
    else {
      e.total += score;
      if (score > e.best || (score === e.best && Buffer.compare(bytes(phrase), bytes(e.text)) < 0)) {
        e.best = score;
        e.text = phrase;
      }
    }
  }
  const entries = [...merged.values()].sort((a, b) =>
    a.total === b.total ? Buffer.compare(bytes(a.key), bytes(b.key)) : a.total > b.total ? -1 : 1,
  );
  return {
    suggest(query, k = 10) {
      const q = normalizeQuery(query);
      const out = [];
      for (const e of entries) {
        if (e.key.startsWith(q)) out.push(e.text);
        if (out.length === k) break;
      }
      return out;
    },
  };
}
