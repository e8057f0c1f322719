// An independent brute-force oracle in JavaScript, written from the rules (not from the
// engine): normalize (NFKD, drop Mn, per-character lowercase, collapse White_Space, trim),
// merge rows by key (sum scores; display = highest single score, ties byte-wise smallest),
// filter by prefix, sort by score descending then key bytes ascending; the phrase equal to the
// whole query first.
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
    // phrase<TAB>score[<TAB>payload[<TAB>categories]]
    const [phrase, rawScore] = line.split("\t");
    const score = BigInt(rawScore);
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
      // The phrase equal to the whole query comes first, then prefix matches by score.
      const q = normalizeQuery(query);
      const exact = q ? merged.get(q) : undefined;
      const out = exact ? [exact.text] : [];
      for (const e of entries) {
        if (out.length === k) break;
        if (e !== exact && e.key.startsWith(q)) out.push(e.text);
      }
      return out;
    },
  };
}
