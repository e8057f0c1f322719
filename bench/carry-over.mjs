// Keeps what was written by hand in BENCHMARKS.md when `./build.sh bench` rewrites it.
//
// The report is regenerated from each run's results, but analyses, one-off measurements and
// hand-kept tables live in the same file. Rule, by markdown heading: every `## ` section of the
// previous file whose heading the new report does not write is carried over whole, placed after
// the section that came before it in the previous file (or after the preamble); within a
// section the report writes, every `### ` subsection whose heading it does not write is
// carried over at the end of that section. Text of a written section outside any `### `
// subsection is the report's own and is replaced.

/** Splits markdown lines at headings of `prefix` (`"## "` or `"### "`): the lines before the
 * first one, then each heading with its lines. */
function split(lines, prefix) {
  const head = [];
  const parts = [];
  for (const line of lines) {
    if (line.startsWith(prefix)) parts.push({ heading: line, lines: [line] });
    else if (parts.length) parts[parts.length - 1].lines.push(line);
    else head.push(line);
  }
  return { head, parts };
}

/** A generated section with the previous one's hand-written `### ` subsections appended. */
function mergeSection(generated, previous) {
  if (!previous) return generated.lines;
  const mine = new Set(split(generated.lines.slice(1), "### ").parts.map((p) => p.heading));
  const kept = split(previous.lines.slice(1), "### ").parts.filter((p) => !mine.has(p.heading));
  const out = [...generated.lines];
  for (const part of kept) {
    while (out.length && out[out.length - 1] === "") out.pop();
    out.push("", ...part.lines);
  }
  // The next section's heading stays a paragraph apart.
  if (kept.length && out[out.length - 1] !== "") out.push("");
  return out;
}

/** The new report's lines with the previous report's hand-written sections kept (see above).
 * The report pushes each fragment it reads (a file of results) as one element, so the lines
 * are split at newlines first: a fragment's `### ` heading must be a line of its own to be
 * recognized as the report's, or the previous run's copy would be kept beside the new one. */
export function carryOver(generatedLines, previousLines) {
  const gen = split(generatedLines.flatMap((line) => line.split("\n")), "## ");
  const old = split(previousLines, "## ");
  const written = new Set(gen.parts.map((p) => p.heading));
  const oldByHeading = new Map(old.parts.map((p) => [p.heading, p]));
  // Hand-written sections, grouped by the written section they followed (null: the preamble).
  const after = new Map();
  let anchor = null;
  for (const part of old.parts) {
    if (written.has(part.heading)) {
      anchor = part.heading;
      continue;
    }
    if (!after.has(anchor)) after.set(anchor, []);
    after.get(anchor).push(part);
  }
  const out = [...gen.head];
  const place = (key) => {
    for (const part of after.get(key) ?? []) out.push(...part.lines);
  };
  place(null);
  for (const part of gen.parts) {
    out.push(...mergeSection(part, oldByHeading.get(part.heading)));
    place(part.heading);
  }
  return out;
}
