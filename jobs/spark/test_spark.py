"""Tests of the Spark job: normalizer parity with the engine, and rows parity with
`edgesuggest aggregate` (and with a small reference implementation of docs/SIGNALS.md in plain
Python, which needs neither Spark nor Rust to be right).

Run by `./build.sh test-spark` (which installs PySpark and pyarrow, builds the CLI, and sets
EDGESUGGEST_CLI). One SparkSession, local[2], for the whole run.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
import unittest
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import edgesuggest_aggregate as ea  # noqa: E402
from edgesuggest_normalize import WHITE_SPACE, normalize_phrase, normalize_query, surface_form  # noqa: E402

CLI = os.environ.get("EDGESUGGEST_CLI", os.path.join(ROOT, "target", "release", "edgesuggest"))
SHARED_DATA = os.path.join(ROOT, "..", "shared", "data")
WORK = os.path.join(ROOT, "target", "spark-test")
DAY = 86_400_000

SPARK = None


def setUpModule():  # noqa: N802
    global SPARK
    if not os.path.isfile(CLI):
        raise RuntimeError(f"{CLI} is missing: cargo build --release -p edgesuggest-cli")
    shutil.rmtree(WORK, ignore_errors=True)  # the last run's logs and rows, kept for a look
    os.makedirs(WORK)
    from pyspark.sql import SparkSession

    started = time.monotonic()
    SPARK = (
        SparkSession.builder.master("local[2]")
        .appName("edgesuggest-spark-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    SPARK.sparkContext.setLogLevel("ERROR")
    print(f"\nSparkSession started in {time.monotonic() - started:.1f}s", file=sys.stderr)


def tearDownModule():  # noqa: N802
    if SPARK is not None:
        SPARK.stop()


# ---------------------------------------------------------------------------------------------
# Normalizer parity


def rust_normalize(lines: list[str], query: bool = False) -> list[str]:
    for line in lines:
        assert "\n" not in line, repr(line)
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    args = [CLI, "normalize"] + (["--query"] if query else [])
    out = subprocess.run(args, input=data, capture_output=True, check=True).stdout
    got = out.decode("utf-8").split("\n")
    assert got[-1] == "", "output does not end in a newline"
    return got[:-1]


def tsv_phrases(path: str) -> list[str]:
    """The phrase column of a TSV file, split on "\\n" only (str.splitlines would also split
    at U+0085, U+2028, ...), a "\\r" before it dropped as the CLI does."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    phrases = []
    for line in text.split("\n"):
        if line.endswith("\r"):
            line = line[:-1]
        phrase = line.split("\t", 1)[0]
        if phrase:
            phrases.append(phrase)
    return phrases


TRICKY = [
    "ﬁle ﬂow ﬀ ﬃ",  # ligatures
    "\ufdfa",  # one character, 18 after NFKD
    "ΟΔΟΣ", "Σ", "ΟΔΟΣ ΟΔΟΣ", "ὈΔΥΣΣΕΎΣ",  # final sigma: no context rule
    "\u0130stanbul", "İ", "ı", "I\u0307",  # Turkish dotted and dotless i
    "a\x1cb\x1dc\x1ed\x1fe", "\x1c", " \x1f ",  # information separators: not whitespace
    "a\u00a0b", "\u00a0x\u00a0", "a\u3000b", "\u3000東京\u3000",  # NBSP, ideographic space
    "a\u0085b", "a\u2028b\u2029c", "a\u1680b", "a\u202fb\u205fc", "a\u200bb", "a\u180eb", "a\ufeffb",
    "a\u2000\u2001\u200ab", "\t\n\x0b\x0c\r",
    "Sa\u0303o Paulo", "São Paulo", "Mo\u0308nchengladbach", "e\u0301\u0301\u0301",  # marks
    "\u0915\u093e", "\u0915\u094d\u0937",  # Devanagari: Mc kept, virama is Mn
    "한국어", "\u1112\u1161\u11ab", "\uac00\u11a8",  # Hangul syllables and jamo
    "①②③", "ＡＢＣ　ｄｅｆ", "㍿", "㎏", "ℌ", "Ⅻ", "¼", "ǅ", "ẞ", "ß", "ŉ", "ǰ", "ΐ",
    "Ⓐ", "🄰", "𝐀𝐁𝐂", "Å", "K", "Ω",
    "\u0345", "\u1e9e", "\u2126", "\u212a", "\u212b", "\u03d2\u0301",
    "Ǆemal", "ǈ", "ǋ", "Ꞵ", "\U0001e900",  # Adlam capital
    "", " ", "  a  ", "\u200d", "\U0010ffff", "\ue000",
]


def all_assigned_code_points() -> list[str]:
    """Every code point assigned in Python's Unicode version (no surrogates), alone and
    between letters, in lines of 64."""
    chars = [
        chr(c)
        for c in range(0x110000)
        if not (0xD800 <= c <= 0xDFFF) and c != 0x0A and unicodedata.category(chr(c)) != "Cn"
    ]
    lines = []
    for i in range(0, len(chars), 64):
        chunk = chars[i : i + 64]
        lines.append("".join(chunk))
        lines.append("A" + "x".join(chunk) + "Z")
    return lines


class NormalizerParity(unittest.TestCase):
    def check(self, label: str, lines: list[str], query: bool = False):
        lines = [line for line in lines if "\n" not in line]
        ours = [normalize_query(s) if query else normalize_phrase(s) for s in lines]
        theirs = rust_normalize(lines, query)
        self.assertEqual(len(ours), len(theirs))
        bad = [(s, o, t) for s, o, t in zip(lines, ours, theirs) if o != t]
        if bad:
            listing = "\n".join(f"  {s!r}: python {o!r}, edgesuggest {t!r}" for s, o, t in bad)
            self.fail(f"{label}: {len(bad)} of {len(lines)} differ "
                      f"(Python's Unicode {unicodedata.unidata_version}):\n{listing}")

    def test_tricky_strings(self):
        self.check("tricky strings", TRICKY)
        self.check("tricky strings as queries", TRICKY + ["new  ", "a\u3000", "x\x1c"], query=True)

    def test_surface_form_uses_the_same_whitespace(self):
        self.assertEqual(surface_form("  New\u00a0\u3000York\x1c "), "New York\x1c")

    def test_repo_data(self):
        data = os.path.join(ROOT, "data")
        for name in sorted(os.listdir(data)):
            if name.endswith(".tsv"):
                self.check(f"data/{name}", tsv_phrases(os.path.join(data, name)))

    def test_shared_data(self):
        if not os.path.isdir(SHARED_DATA):
            self.skipTest("../shared/data is absent: the real data sets are not compared")
        names = sorted(n for n in os.listdir(SHARED_DATA) if n.endswith(".tsv"))
        for name in names:
            phrases = tsv_phrases(os.path.join(SHARED_DATA, name))
            self.check(f"../shared/data/{name} ({len(phrases)} phrases)", phrases)

    def test_every_assigned_code_point(self):
        self.check(f"every code point assigned in Unicode {unicodedata.unidata_version}",
                   all_assigned_code_points())


# ---------------------------------------------------------------------------------------------
# Generated logs


START = 1_764_547_200_000  # 2025-12-01T00:00:00Z
EXTRA_PHRASES = ["ΟΔΟΣ Αθηνάς", "İstanbul Havalimanı", "ﬁle ﬂow", "東京 タワー", "Straße des 17. Juni",
                 "Zürich HB", "Mo\u0308nchengladbach", "São\u00a0Paulo", "서울 강남", "Kraków Główny"]


def variants(phrase: str, rng: random.Random) -> str:
    """A surface form typed for PHRASE: mostly as is, else case, spacing or accent changes."""
    r = rng.random()
    if r < 0.45:
        return phrase
    if r < 0.6:
        return phrase.lower()
    if r < 0.65:
        return phrase.upper()
    if r < 0.75:
        return phrase.replace(" ", "  ")
    if r < 0.8:
        return " " + phrase + "\t"
    if r < 0.85:
        return phrase.replace(" ", "\u00a0")
    if r < 0.9:
        return "".join(c for c in unicodedata.normalize("NFD", phrase) if unicodedata.category(c) != "Mn")
    if r < 0.95:
        return phrase.title()
    return phrase.replace(" ", "\u3000 ")


def generate_events(seed: int = 7, searches: int = 26_000) -> tuple[list[dict], list[str]]:
    """Deterministic logs over six days: (valid events in time order, NDJSON lines with a few
    bad lines mixed in)."""
    rng = random.Random(seed)
    phrases = tsv_phrases(os.path.join(ROOT, "data", "cities-10k.tsv"))[:2500] + EXTRA_PHRASES
    rng.shuffle(phrases)  # the extras get a rank somewhere in the Zipf curve
    weights = [1.0 / (i + 1) ** 1.1 for i in range(len(phrases))]
    users = [f"u{i}" for i in range(380)] + ["ユーザー1", "user\u00e9", "x" * 256]
    # Each phrase is searched by a pool of at most 40 users: exact distinct counts on both sides.
    pools = {}
    for p in phrases:
        pools[p] = random.Random(p).sample(users, 40)
    events = []

    def add(ts, **fields):
        events.append({"ts": ts, **fields})

    for _ in range(searches):
        phrase = rng.choices(phrases, weights)[0]
        user = rng.choice(pools[phrase])
        ts = START + rng.randrange(6 * DAY)
        r = rng.random()
        if r < 0.6:
            shown = [variants(phrase, rng)] + [variants(p, rng) for p in rng.choices(phrases, weights, k=rng.randrange(0, 8))]
            rng.shuffle(shown)
            if rng.random() < 0.05:
                shown += ["", "  ", shown[0].upper()]
            if rng.random() < 0.03:
                shown = []
            imp = {"type": "impression", "user": user, "q": phrase[: rng.randrange(1, 4)],
                   "suggestions": shown, "response_id": f"r{len(events)}", "variant": rng.choice("AB")}
            add(ts, **imp)
            if shown and rng.random() < 0.3:
                pos = rng.randrange(len(shown))
                add(ts + 1 + rng.randrange(5000), type="click", user=user, text=shown[pos], position=pos,
                    response_id=imp["response_id"])
        q = variants(phrase, rng)
        result = rng.random()
        search = {"type": "search", "user": user, "q": q}
        if result < 0.05:
            search["results"] = 0
        elif result < 0.9:
            search["results"] = rng.randrange(1, 500)
        if rng.random() < 0.01:
            search["q"] = rng.choice(["", "   ", "\u00a0\u3000"])
        if rng.random() < 0.2:
            search["session"] = f"s{rng.randrange(10**6)}"
            search["version"] = rng.choice([7, "2025-12-01"])
        add(ts + 6000, **search)
        if rng.random() < 0.04:  # spam: the same user repeats it, sometimes across midnight
            for _ in range(rng.randrange(2, 12)):
                ts += rng.randrange(1, 3 * 3_600_000)
                add(ts + 6000, type="search", user=user, q=variants(phrase, rng), results=3)
    events.sort(key=lambda e: e["ts"])
    last = -1
    for e in events:  # distinct timestamps: first in input order = earliest
        e["ts"] = max(e["ts"], last + 1)
        last = e["ts"]
    lines = [json.dumps(e, ensure_ascii=rng.random() < 0.5) for e in events]
    bad = [
        "not json",
        "",  # ignored, not bad: empty lines are not events
        "[" + lines[0] + "]",
        "42",
        '{"ts":"1764547200000","type":"search","user":"u1","q":"x"}',
        '{"ts":1764547200000.5,"type":"search","user":"u1","q":"x"}',
        '{"ts":1764547200000,"type":"hover","user":"u1"}',
        '{"ts":1764547200000,"type":"search","q":"no user"}',
        '{"ts":1764547200000,"type":"search","user":"","q":"empty user"}',
        '{"ts":1764547200000,"type":"search","user":7,"q":"numeric user"}',
        '{"ts":1764547200000,"type":"search","user":"u1","q":["array"]}',
        '{"ts":1764547200000,"type":"search","user":"u1","q":"x","results":-1}',
        '{"ts":1764547200000,"type":"search","user":"u1"}',
        '{"ts":1764547200000,"type":"click","user":"u1","text":"Paris"}',
        '{"ts":1764547200000,"type":"impression","user":"u1","suggestions":"Paris"}',
        '{"ts":1764547200000,"type":"impression","user":"u1","suggestions":[null]}',
        '{"ts":9007199254740992,"type":"search","user":"u1","q":"x"}',
        '{"ts":1764547200000,"type":"search","user":"u1","q":"x","session":false}',
    ]
    for b in bad:
        lines.insert(rng.randrange(1, len(lines)), b)
    return events, lines


def write_logs(events: list[dict], lines: list[str], folder: str) -> dict:
    """NDJSON (first half gzip-compressed, second plain) and the valid events as Parquet."""
    os.makedirs(folder, exist_ok=True)
    half = len(lines) // 2
    paths = {"ndjson": [os.path.join(folder, "events-1.ndjson.gz"), os.path.join(folder, "events-2.ndjson")]}
    with gzip.open(paths["ndjson"][0], "wt", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines[:half]))
    with open(paths["ndjson"][1], "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines[half:]))
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([
        pa.field("ts", pa.int64(), nullable=False),
        pa.field("type", pa.string(), nullable=False),
        pa.field("user", pa.string(), nullable=False),
        pa.field("q", pa.string()),
        pa.field("results", pa.int64()),
        pa.field("suggestions", pa.list_(pa.string())),
        pa.field("text", pa.string()),
        pa.field("position", pa.int64()),
        pa.field("response_id", pa.string()),
        pa.field("variant", pa.string()),
        pa.field("version", pa.string()),
        pa.field("session", pa.string()),
    ])
    columns = {name: [] for name in schema.names}
    for e in events:
        for name in schema.names:
            v = e.get(name)
            columns[name].append(str(v) if name == "version" and v is not None else v)
    table = pa.table(columns, schema=schema)
    paths["parquet"] = [os.path.join(folder, "events.parquet")]
    pq.write_table(table, paths["parquet"][0], row_group_size=16_384)
    return paths


# ---------------------------------------------------------------------------------------------
# The reference: docs/SIGNALS.md in plain Python, events in input order (as the Rust command)


class Options:
    def __init__(self, argv: list[str]):
        self.args = ea.parse_args(["-", "-o", "-"] + argv)


def reference_rows(events: list[dict], argv: list[str], exclude_lines: list[str] | None) -> dict:
    a = Options(argv).args
    now = a.now if a.now is not None else max(e["ts"] for e in events)
    h = float(a.half_life)

    def d(ts):
        return 2.0 ** (-(now - ts) / h)

    pop, users, forms = defaultdict(float), defaultdict(set), defaultdict(dict)
    imp, clk = defaultdict(float), defaultdict(float)
    seen = set()
    for e in events:
        if e["type"] == "search":
            key = normalize_phrase(e["q"])
            if not key or e.get("results") == 0:
                continue
            cap = (key, e["user"], e["ts"] // DAY)
            if cap in seen:
                continue
            seen.add(cap)
            pop[key] += d(e["ts"])
            users[key].add(e["user"])
            f = surface_form(e["q"])
            if f in forms[key] or len(forms[key]) < ea.MAX_FORMS:
                forms[key][f] = forms[key].get(f, 0) + 1
        elif e["type"] == "impression":
            for key in {normalize_phrase(s) for s in e["suggestions"]} - {""}:
                imp[key] += d(e["ts"])
        else:
            key = normalize_phrase(e["text"])
            if key:
                clk[key] += d(e["ts"])
    import re

    exact, prefixes, regexes = set(), [], []
    for line in exclude_lines or []:
        line = line.strip("".join(WHITE_SPACE))
        if not line or line.startswith("#"):
            continue
        if len(line) >= 2 and line[0] == "/" and line[-1] == "/":
            regexes.append(re.compile(line[1:-1]))
        elif line.endswith("*"):
            prefixes.append(normalize_phrase(line[:-1]))
        else:
            exact.add(normalize_phrase(line))
    m = a.ctr_prior_clicks / a.ctr_prior_impressions
    rows = {}
    for key, p in pop.items():
        ctr = (clk[key] + a.ctr_prior_clicks) / (imp[key] + a.ctr_prior_impressions)
        score_f = p * (ctr / m) ** a.ctr_weight if a.ctr_weight else p
        x = score_f * a.score_scale
        score = math.trunc(x)
        if abs(x - score) >= 0.5:
            score += 1 if x > 0 else -1
        if (len(key) < a.min_chars or len(key.encode()) > a.max_phrase_bytes
                or key in exact or any(key.startswith(pr) for pr in prefixes)
                or any(r.search(key) for r in regexes)
                or len(users[key]) < a.min_users or p < a.min_count or score == 0):
            continue
        display = min(forms[key].items(), key=lambda kv: (-kv[1], kv[0].encode()))[0]
        rows[key] = {"phrase": display, "score": score, "popularity": p, "users": len(users[key]),
                     "impressions": imp[key], "clicks": clk[key], "ctr": ctr, "_key": key}
    return rows


# ---------------------------------------------------------------------------------------------
# Comparing rows


ROW_COLUMNS = [("phrase", "string"), ("score", "int64"), ("popularity", "double"), ("users", "int64"),
               ("impressions", "double"), ("clicks", "double"), ("ctr", "double")]


def read_rows(path: str) -> list[dict]:
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    got = [(f.name, str(f.type)) for f in table.schema]
    if got != ROW_COLUMNS:
        raise AssertionError(f"{path}: columns {got}, expected {ROW_COLUMNS}")
    return table.to_pylist()


def read_tsv_rows(path: str) -> list[tuple[str, int]]:
    with open(path, encoding="utf-8") as f:
        return [(p, int(s)) for p, s in (line.rstrip("\n").split("\t") for line in f)]


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return a == b or abs(a - b) <= rel * max(abs(a), abs(b))


def compare_rows(expected: dict, got: list[dict], argv: list[str], label: str) -> list[str]:
    """Differences between two row sets (keyed by normalized phrase), as messages."""
    a = Options(argv).args
    m = a.ctr_prior_clicks / a.ctr_prior_impressions
    problems = []
    by_key = {}
    for r in got:
        by_key[normalize_phrase(r["phrase"])] = r
    if len(by_key) != len(got):
        problems.append(f"{label}: {len(got) - len(by_key)} duplicate keys")
    missing = sorted(set(expected) - set(by_key))
    extra = sorted(set(by_key) - set(expected))
    if missing:
        problems.append(f"{label}: {len(missing)} keys missing, e.g. {missing[:10]}")
    if extra:
        problems.append(f"{label}: {len(extra)} keys extra, e.g. {extra[:10]}")
    for key in sorted(set(expected) & set(by_key)):
        e, g = expected[key], by_key[key]
        if e["phrase"] != g["phrase"]:
            problems.append(f"{label}: {key!r}: display {g['phrase']!r}, expected {e['phrase']!r}")
        if e["users"] != g["users"]:
            problems.append(f"{label}: {key!r}: users {g['users']}, expected {e['users']}")
        for col in ("popularity", "impressions", "clicks", "ctr"):
            if not close(e[col], g[col]):
                problems.append(f"{label}: {key!r}: {col} {g[col]!r}, expected {e[col]!r}")
        if e["score"] != g["score"]:
            x = e["popularity"] * ((e["ctr"] / m) ** a.ctr_weight if a.ctr_weight else 1.0) * a.score_scale
            near_half = abs(abs(x - math.trunc(x)) - 0.5) < 1e-6
            if not (near_half and abs(e["score"] - g["score"]) == 1):
                problems.append(f"{label}: {key!r}: score {g['score']}, expected {e['score']} (score_f·S = {x!r})")
    order = [(-r["score"], normalize_phrase(r["phrase"]).encode()) for r in got]
    if order != sorted(order):
        problems.append(f"{label}: rows are not sorted by score descending, then key")
    return problems


class AggregateParity(unittest.TestCase):
    """Spark vs the reference, and Spark vs `edgesuggest aggregate`, on generated logs."""

    @classmethod
    def setUpClass(cls):
        started = time.monotonic()
        cls.folder = tempfile.mkdtemp(prefix="logs-", dir=WORK)
        cls.events, lines = generate_events()
        cls.paths = write_logs(cls.events, lines, cls.folder)
        cls.exclude = os.path.join(cls.folder, "exclude.txt")
        cls.exclude_lines = ["# blocked phrases", "", "/^san /", "/\\d/", "new*", "London", "  PARIS  "]
        with open(cls.exclude, "w", encoding="utf-8") as f:
            f.write("\n".join(cls.exclude_lines) + "\n")
        cls.max_ts = max(e["ts"] for e in cls.events)
        per_key_users = defaultdict(set)
        for e in cls.events:
            if e["type"] == "search" and normalize_phrase(e["q"]):
                per_key_users[normalize_phrase(e["q"])].add(e["user"])
        cls.max_users = max(len(u) for u in per_key_users.values())
        print(f"\ngenerated {len(cls.events)} valid events and {len(lines) - len(cls.events)} bad lines "
              f"in {time.monotonic() - started:.1f}s (at most {cls.max_users} users per key)", file=sys.stderr)
        cls.aggregate_missing = None
        probe = subprocess.run([CLI, "aggregate", "--help"], capture_output=True)
        if probe.returncode != 0:
            cls.aggregate_missing = (
                f"`{os.path.basename(CLI)} aggregate` is missing in this build, so the Spark rows "
                "cannot be compared with the Rust command's; merge the aggregate branch and rebuild "
                f"({probe.stderr.decode(errors='replace').strip().splitlines()[0]})"
            )

    def test_users_stay_exact(self):
        self.assertLessEqual(self.max_users, 64, "the generator must keep users per key within the exact range")

    def spark(self, inputs: list[str], output: str, argv: list[str]) -> dict:
        started = time.monotonic()
        summary = ea.run(SPARK, inputs + ["-o", output] + argv)
        print(f"\nSpark job ({', '.join(os.path.basename(i) for i in inputs)} -> {os.path.basename(output)}): "
              f"{time.monotonic() - started:.1f}s", file=sys.stderr)
        return summary

    def rust(self, inputs: list[str], output: str, argv: list[str]) -> list[dict]:
        if self.aggregate_missing:
            self.fail(self.aggregate_missing)
        state = tempfile.mkdtemp(prefix="state-", dir=self.folder)
        cmd = [CLI, "aggregate", *inputs, "--state", state, "-o", output, *argv]
        run = subprocess.run(cmd, capture_output=True)
        if run.returncode != 0:
            self.fail(f"{' '.join(cmd)} failed:\n{run.stderr.decode(errors='replace')}")
        return read_rows(output)

    def check(self, expected: dict, got: list[dict], argv: list[str], label: str):
        problems = compare_rows(expected, got, argv, label)
        if problems:
            self.fail(f"{len(problems)} differences:\n" + "\n".join(problems[:200]))

    def case(self, name: str, fmt: str, argv: list[str], exclude: bool = False):
        argv = argv + ["--max-errors", "100"] + (["--exclude", self.exclude] if exclude else [])
        expected = reference_rows(self.events, argv, self.exclude_lines if exclude else None)
        self.assertGreater(len(expected), 100, "too few rows to compare anything")
        out = os.path.join(self.folder, f"{name}-spark.parquet")
        summary = self.spark(self.paths[fmt], out, argv)
        spark_rows = read_rows(out)
        if fmt == "ndjson":
            self.assertEqual(summary["bad records"], 17, summary)
        self.check(expected, spark_rows, argv, f"{name}: Spark vs reference")
        rust_out = os.path.join(self.folder, f"{name}-rust.parquet")
        rust_rows = self.rust(self.paths[fmt], rust_out, argv)
        spark_by_key = {normalize_phrase(r["phrase"]): r for r in spark_rows}
        self.check(spark_by_key, rust_rows, argv, f"{name}: edgesuggest aggregate vs Spark")

    def test_ndjson_defaults(self):
        self.case("ndjson-defaults", "ndjson", [])

    def test_parquet_options(self):
        self.case("parquet-options", "parquet", [
            "--half-life", "36h", "--now", str(self.max_ts + 3_600_000), "--min-users", "2",
            "--min-count", "0.3", "--ctr-weight", "1", "--ctr-prior-clicks", "2",
            "--ctr-prior-impressions", "30", "--score-scale", "100", "--min-chars", "4",
            "--max-phrase-bytes", "24",
        ], exclude=True)

    def test_tsv_output_matches_parquet(self):
        argv = ["--half-life", "2d", "--max-errors", "100", "--exclude", self.exclude]
        tsv = os.path.join(self.folder, "both-spark.tsv")
        self.spark(self.paths["parquet"], tsv, argv)
        expected = reference_rows(self.events, argv, self.exclude_lines)
        want = sorted(((r["phrase"], r["score"]) for r in expected.values()),
                      key=lambda ps: (-ps[1], normalize_phrase(ps[0]).encode()))
        self.assertEqual(read_tsv_rows(tsv), want)


if __name__ == "__main__":
    unittest.main()
