// `node --test bench/carry-over.test.mjs`: the report keeps BENCHMARKS.md's hand-written parts.
import { test } from "node:test";
import assert from "node:assert/strict";
import { carryOver } from "./carry-over.mjs";

const lines = (text) => text.split("\n");

test("hand-written sections and subsections survive a regenerated report", () => {
  const previous = lines(`# Benchmarks
old preamble

## npm
old table

### Cold start (by hand)
kept 1

## Build (by hand)
kept 2

## Freshness
old freshness table
### Runs (by hand)
kept 3
### Publish
old publish

## Closing (by hand)
kept 4
`);
  const generated = lines(`# Benchmarks
new preamble

## npm
new table

## Freshness
new freshness table
### Publish
new publish
`);
  const out = carryOver(generated, previous).join("\n");
  assert.equal(out, `# Benchmarks
new preamble

## npm
new table

### Cold start (by hand)
kept 1

## Build (by hand)
kept 2

## Freshness
new freshness table
### Publish
new publish

### Runs (by hand)
kept 3

## Closing (by hand)
kept 4
`);
});

test("a first report, or one with nothing written by hand, is the generated one", () => {
  const generated = lines("# B\n\n## npm\nnew\n");
  assert.deepEqual(carryOver(generated, []), generated);
  assert.deepEqual(carryOver(generated, lines("# B\n\n## npm\nold\n")), generated);
});

test("a section the report no longer writes is kept, in its old place", () => {
  const previous = lines("# B\n## a\nold a\n## gone\nold gone\n## b\nold b\n");
  const generated = lines("# B\n## a\nnew a\n## b\nnew b\n");
  assert.deepEqual(carryOver(generated, previous), lines("# B\n## a\nnew a\n## gone\nold gone\n## b\nnew b\n"));
});

test("a fragment pushed as one multi-line element replaces its previous copy", () => {
  // As report.mjs pushes a results file (`worker-wrk.md`): heading and table in one string.
  const fragment = "### Worker under wrk\n\n| route | rps |\n| a | 2 |";
  const previous = lines("# B\n## worker\n### Worker under wrk\n\n| route | rps |\n| a | 1 |\n### Cold start (by hand)\nkept\n");
  const generated = ["# B", "## worker", fragment];
  assert.deepEqual(
    carryOver(generated, previous),
    lines("# B\n## worker\n### Worker under wrk\n\n| route | rps |\n| a | 2 |\n\n### Cold start (by hand)\nkept\n"),
  );
});
