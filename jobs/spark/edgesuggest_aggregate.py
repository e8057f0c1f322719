"""edgesuggest aggregate, as a Spark job over a whole history of event logs.

Computes the rows of docs/SIGNALS.md (what `edgesuggest build` reads) from events in the
schema of docs/EVENTS.md, with the same formulas, gates (in the same order), defaults and
option names as `edgesuggest aggregate`. Reads NDJSON (`.gz` too) and/or Parquet from local
paths or any Hadoop file system URL Spark is configured for (s3a://, gs://, abfss://, hdfs://),
globs included. Writes Parquet rows (`--output rows.parquet`) or `phrase<TAB>score` lines
(`--output rows.tsv`). See README.md in this folder.

    spark-submit --py-files edgesuggest_normalize.py edgesuggest_aggregate.py \\
        's3a://logs/events/2025-*/*.ndjson.gz' --output s3a://out/rows.parquet

Differences from the incremental Rust command, by design:
- It reads a whole history at once and has no notion of late events: the Rust runs skip an
  event more than a day older than the watermark (reason `late`), this job counts it. On
  time-ordered logs (every event no older than a day behind the newest one before it) both
  give the same rows.
- The spam cap counts, of each (key, user, day), the search with the earliest `ts` (ties: by
  file name, then position in the file); the Rust command counts the first in input order.
  Same thing on time-ordered logs.
- Distinct users are exact here (countDistinct); the Rust state switches to a HyperLogLog
  sketch (~0.8% error) above 64 users of a key.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
import uuid
from typing import Iterable

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from edgesuggest_normalize import WHITE_SPACE, normalize_phrase, surface_form  # noqa: E402

# Limits of docs/EVENTS.md.
MAX_USER_BYTES = 256
MAX_TEXT_BYTES = 4096
MAX_SUGGESTIONS = 100
MAX_TS = 1 << 53
DAY_MS = 86_400_000
# A key tracks at most this many surface forms (docs/SIGNALS.md, "Display form").
MAX_FORMS = 32
CORRUPT = "_corrupt_record"

EVENT_SCHEMA = T.StructType(
    [
        T.StructField("ts", T.LongType()),
        T.StructField("type", T.StringType()),
        T.StructField("user", T.StringType()),
        T.StructField("q", T.StringType()),
        T.StructField("results", T.LongType()),
        T.StructField("suggestions", T.ArrayType(T.StringType())),
        T.StructField("text", T.StringType()),
        T.StructField("position", T.LongType()),
    ]
)
EVENT_COLUMNS = [f.name for f in EVENT_SCHEMA.fields]

ROW_SCHEMA = T.StructType(
    [
        T.StructField("phrase", T.StringType(), False),
        T.StructField("score", T.LongType(), False),
        T.StructField("popularity", T.DoubleType(), False),
        T.StructField("users", T.LongType(), False),
        T.StructField("impressions", T.DoubleType(), False),
        T.StructField("clicks", T.DoubleType(), False),
        T.StructField("ctr", T.DoubleType(), False),
    ]
)


def log(msg: str) -> None:
    print(f"edgesuggest-aggregate: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Options


def parse_duration(raw: str) -> int:
    """`7d`, `12h`, `30m`, `45s` or plain milliseconds, as `edgesuggest aggregate` reads them."""
    m = re.fullmatch(r"\s*(\d+)\s*(ms|d|h|m|s)?\s*", raw)
    if not m:
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a duration: use e.g. 7d, 12h, 30m, 45s or milliseconds"
        )
    n = int(m.group(1))
    ms = n * {None: 1, "ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": DAY_MS}[m.group(2)]
    if ms <= 0:
        raise argparse.ArgumentTypeError("the half-life must be positive")
    return ms


def non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{raw} is negative")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="edgesuggest_aggregate.py",
        description=(
            "Scored suggestions from search, impression and click logs (docs/SIGNALS.md), over "
            "a whole history, with Spark. Same formulas, gates, defaults and option names as "
            "`edgesuggest aggregate`."
        ),
        epilog=(
            "Examples:\n"
            "  spark-submit --py-files edgesuggest_normalize.py edgesuggest_aggregate.py \\\n"
            "      'logs/2025-*.ndjson.gz' --output rows.parquet\n"
            "  spark-submit ... s3a://bucket/events/ --format parquet --output rows.tsv \\\n"
            "      --half-life 3d --exclude blocked.txt --min-users 5\n"
            "then: edgesuggest build rows.parquet -o index.seg"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("logs", nargs="+", metavar="LOG", help="event files, folders or globs; local paths or URLs")
    p.add_argument("-o", "--output", required=True, metavar="PATH",
                   help="rows: Parquet, or `phrase<TAB>score` lines when PATH ends in .tsv; "
                        "a PATH ending in / is written as a folder of part files")
    p.add_argument("--format", choices=["auto", "ndjson", "parquet"], default="auto",
                   help="input format; auto: Parquet for names ending in .parquet, else NDJSON")
    p.add_argument("--max-errors", type=non_negative_int, default=0, metavar="N",
                   help="bad records tolerated before the run fails (default 0)")
    p.add_argument("--half-life", type=parse_duration, default=7 * DAY_MS, metavar="DURATION",
                   help="decay half-life: 7d, 12h, 30m, 45s or milliseconds (default 7d)")
    p.add_argument("--now", type=non_negative_int, default=None, metavar="MS",
                   help="reference time T in ms since the epoch (default: the largest ts of the valid events)")
    p.add_argument("--min-chars", type=non_negative_int, default=2, metavar="N",
                   help="skip keys of fewer characters (default 2)")
    p.add_argument("--max-phrase-bytes", type=non_negative_int, default=256, metavar="N",
                   help="skip keys longer in UTF-8 bytes (default 256, as build)")
    p.add_argument("--exclude", metavar="FILE",
                   help="rules, one a line: /regex/, prefix*, or an exact phrase; # comments")
    p.add_argument("--min-users", type=non_negative_int, default=3, metavar="N",
                   help="privacy: skip keys fewer distinct users searched (default 3)")
    p.add_argument("--min-count", type=float, default=1.0, metavar="X",
                   help="least decayed popularity (default 1)")
    p.add_argument("--ctr-weight", type=float, default=0.5, metavar="W", help="0 disables CTR (default 0.5)")
    p.add_argument("--ctr-prior-clicks", type=float, default=1.0, metavar="A", help="alpha (default 1)")
    p.add_argument("--ctr-prior-impressions", type=float, default=20.0, metavar="N",
                   help="alpha + beta (default 20)")
    p.add_argument("--score-scale", type=float, default=1000.0, metavar="S", help="default 1000")
    args = p.parse_args(argv)
    if not (0 < args.ctr_prior_clicks < args.ctr_prior_impressions):
        p.error("need 0 < --ctr-prior-clicks < --ctr-prior-impressions")
    return args


# ---------------------------------------------------------------------------------------------
# Reading


def is_parquet(path: str, fmt: str) -> bool:
    if fmt != "auto":
        return fmt == "parquet"
    return re.search(r"\.parq(uet)?/?$", path) is not None


# Optional text fields: a JSON string or null. Spark's JSON reader would turn a number, an
# array or an object into its text; EVENTS.md makes such a line bad.
STRING_FIELDS = ["type", "user", "q", "text", "response_id", "variant", "index", "session"]
STRING_TYPES = r"^(STRING|VOID)$"
# `version`: a string or an integer (kept as text).
VERSION_TYPES = r"^(STRING|VOID|TINYINT|SMALLINT|INT|BIGINT|DECIMAL\(\d+,0\))$"
MAX_LINE_BYTES = 1 << 20


def read_ndjson(spark: SparkSession, paths: list[str]) -> DataFrame:
    """Lines parsed with the explicit schema in PERMISSIVE mode (a line that does not fit it
    lands in the corrupt-record column), plus what that reader lets through: the line must be
    a JSON object (not an array of them), its text fields JSON strings, and at most
    1 MiB."""
    schema = T.StructType(EVENT_SCHEMA.fields + [T.StructField(CORRUPT, T.StringType())])
    options = {
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": CORRUPT,
        # Exactly JSON: no comments, single quotes, NaN or leading zeros.
        "allowComments": "false",
        "allowSingleQuotes": "false",
        "allowNumericLeadingZeros": "false",
        "allowNonNumericNumbers": "false",
        "allowUnquotedControlChars": "false",
    }
    # One row a line; .gz and other Hadoop codecs by name. Empty lines are not events (as in
    # `edgesuggest aggregate`): a trailing newline or a blank line between files is no error.
    lines = spark.read.text(paths).filter(F.col("value") != "")
    v = F.try_parse_json("value")

    def kind(field: str) -> F.Column:
        return F.schema_of_variant(F.try_variant_get(v, f"$.{field}", "variant"))

    def ok(field: str, pattern: str) -> F.Column:
        return F.coalesce(kind(field).rlike(pattern), F.lit(True))

    types_ok = ok("version", VERSION_TYPES)
    for field in STRING_FIELDS:
        types_ok = types_ok & ok(field, STRING_TYPES)
    json_bad = (
        F.when(F.octet_length("value") > MAX_LINE_BYTES, F.lit("line-too-long"))
        .when(~F.coalesce(F.schema_of_variant(v).startswith("OBJECT<"), F.lit(False)), F.lit("not-a-json-object"))
        .when(F.col(f"e.{CORRUPT}").isNotNull() | ~types_ok, F.lit("wrong-type"))
    )
    return lines.select(F.from_json("value", schema, options).alias("e"), json_bad.alias("_json_bad")).select(
        *[F.col(f"e.{c}").alias(c) for c in EVENT_COLUMNS], "_json_bad"
    )


def read_parquet(spark: SparkSession, paths: list[str]) -> DataFrame:
    df = spark.read.option("mergeSchema", "true").parquet(*paths)
    have = {f.name: f.dataType for f in df.schema.fields}
    cols = []
    for field in EVENT_SCHEMA.fields:
        if field.name not in have:
            cols.append(F.lit(None).cast(field.dataType).alias(field.name))
            continue
        actual = have[field.name]
        ok = (
            actual == field.dataType
            or (isinstance(field.dataType, T.LongType) and isinstance(actual, (T.IntegerType, T.ShortType, T.ByteType)))
        )
        if not ok:
            raise SystemExit(
                f"Parquet column {field.name!r} is {actual.simpleString()}, expected "
                f"{field.dataType.simpleString()} (docs/EVENTS.md)"
            )
        cols.append(F.col(field.name).cast(field.dataType).alias(field.name))
    return df.select(*cols, F.lit(None).cast("string").alias("_json_bad"))


def read_events(spark: SparkSession, logs: list[str], fmt: str) -> DataFrame:
    parquet = [p for p in logs if is_parquet(p, fmt)]
    ndjson = [p for p in logs if not is_parquet(p, fmt)]
    parts = []
    if ndjson:
        parts.append(read_ndjson(spark, ndjson))
    if parquet:
        parts.append(read_parquet(spark, parquet))
    df = parts[0] if len(parts) == 1 else parts[0].unionByName(parts[1])
    # Order within a file, for ties of ts (see the module's docstring).
    return df.withColumn("_file", F.input_file_name()).withColumn("_pos", F.monotonically_increasing_id())


def bad_reason() -> F.Column:
    """Why a record is bad (docs/EVENTS.md), or null; the first rule broken, as a short tag."""
    ts, kind, user = F.col("ts"), F.col("type"), F.col("user")
    sugg = F.col("suggestions")

    def too_long(c: str) -> F.Column:
        return F.col(c).isNotNull() & (F.octet_length(F.col(c)) > MAX_TEXT_BYTES)

    return (
        F.when(F.col("_json_bad").isNotNull(), F.col("_json_bad"))
        .when(ts.isNull(), F.lit("missing-ts"))
        .when((ts < 0) | (ts >= MAX_TS), F.lit("ts-out-of-range"))
        .when(kind.isNull(), F.lit("missing-type"))
        .when(~kind.isin("search", "impression", "click"), F.lit("unknown-type"))
        .when(user.isNull(), F.lit("missing-user"))
        .when((F.octet_length(user) < 1) | (F.octet_length(user) > MAX_USER_BYTES), F.lit("user-length"))
        .when(too_long("q") | too_long("text"), F.lit("text-too-long"))
        .when(sugg.isNotNull() & (F.size(sugg) > MAX_SUGGESTIONS), F.lit("too-many-suggestions"))
        .when(
            sugg.isNotNull()
            & F.exists(sugg, lambda s: s.isNull() | (F.octet_length(s) > MAX_TEXT_BYTES)),
            F.lit("bad-suggestion"),
        )
        .when(F.col("results") < 0, F.lit("negative-results"))
        .when(F.col("position") < 0, F.lit("negative-position"))
        .when((kind == "search") & F.col("q").isNull(), F.lit("search-without-q"))
        .when((kind == "impression") & sugg.isNull(), F.lit("impression-without-suggestions"))
        .when((kind == "click") & F.col("text").isNull(), F.lit("click-without-text"))
        .when((kind == "click") & F.col("position").isNull(), F.lit("click-without-position"))
    )


# ---------------------------------------------------------------------------------------------
# Exclude rules


def read_lines(spark: SparkSession, path: str) -> list[str]:
    if "://" in path:
        return [r.value for r in spark.read.text(path).collect()]
    with open(path, encoding="utf-8") as f:
        return f.read().split("\n")


def exclude_condition(spark: SparkSession, path: str, key: F.Column) -> F.Column:
    """The key matches a rule of the exclude file (docs/SIGNALS.md, "Gates")."""
    strip = "".join(WHITE_SPACE)
    exact, prefixes, regexes = set(), [], []
    for raw in read_lines(spark, path):
        line = raw.strip(strip)
        if not line or line.startswith("#"):
            continue
        if len(line) >= 2 and line.startswith("/") and line.endswith("/"):
            pattern = line[1:-1]
            # Rust's regex classes (\w, \d, \s, \b) are Unicode-aware; Java's are with (?U).
            regexes.append("(?U)" + pattern)
        elif line.endswith("*"):
            prefixes.append(normalize_phrase(line[:-1]))
        else:
            exact.add(normalize_phrase(line))
    cond = F.lit(False)
    if exact:
        cond = cond | key.isin(sorted(exact))
    for prefix in prefixes:
        cond = cond | key.startswith(prefix)
    for pattern in regexes:
        cond = cond | key.rlike(pattern)
    log(f"exclude rules: {len(exact)} exact, {len(prefixes)} prefix, {len(regexes)} regex")
    return cond


# ---------------------------------------------------------------------------------------------
# The aggregation


def round_half_away(x: F.Column) -> F.Column:
    """Rust's f64::round (half away from zero), exactly: x − trunc(x) is exact in doubles."""
    t = F.when(x >= 0, F.floor(x)).otherwise(F.ceil(x))
    frac = x - t
    return (t + F.when(frac >= 0.5, 1).when(frac <= -0.5, -1).otherwise(0)).cast("long")


def aggregate(spark: SparkSession, args: argparse.Namespace) -> tuple[DataFrame, dict]:
    """The rows (ROW_SCHEMA plus `key`, sorted) and a summary of counts."""
    # Python UDFs run on every row of their input (Spark evaluates them outside a CASE WHEN),
    # so each one takes the type and returns null where it does not apply.
    def key_of(kind, q, text):
        if kind == "search":
            return normalize_phrase(q)
        if kind == "click":
            return normalize_phrase(text)
        return None

    # Plain (pickled) Python UDFs: the Arrow-optimized ones would need pandas too.
    key_udf = F.udf(key_of, T.StringType(), useArrow=False)
    form = F.udf(surface_form, T.StringType(), useArrow=False)

    def keys_of(kind, suggestions):
        if kind != "impression":
            return None
        seen, out = set(), []
        for s in suggestions:
            k = normalize_phrase(s)
            if k and k not in seen:
                seen.add(k)
                out.append(k)
        return out

    norm_list = F.udf(keys_of, T.ArrayType(T.StringType()), useArrow=False)

    raw = read_events(spark, args.logs, args.format).withColumn("_bad", bad_reason()).cache()
    by_reason = raw.groupBy("_bad").agg(F.count(F.lit(1)).alias("n"), F.max("ts").alias("max_ts")).collect()
    bad_counts = {r["_bad"]: r["n"] for r in by_reason if r["_bad"] is not None}
    valid = [r for r in by_reason if r["_bad"] is None]
    summary: dict = {"events read": sum(r["n"] for r in by_reason)}
    summary["bad records"] = sum(bad_counts.values())
    for reason, n in sorted(bad_counts.items()):
        summary[f"bad: {reason}"] = n
    summary["valid events"] = valid[0]["n"] if valid else 0
    if summary["bad records"] > args.max_errors:
        bad = raw.where(F.col("_bad").isNotNull())
        for r in bad.select("_file", "_bad", "ts").limit(10).collect():
            log(f"{r['_file']}: {r['_bad']} (ts {r['ts']})")
        raise SystemExit(
            f"{summary['bad records']} bad records, more than --max-errors {args.max_errors}: "
            "nothing written (fix or drop them, or raise --max-errors)"
        )
    if args.now is not None:
        now = args.now
    else:
        now = valid[0]["max_ts"] if valid else 0
    summary["T"] = now

    # Valid events, normalized once (the Python part of the job): `key` of a search's `q` or a
    # click's `text`, `keys` the distinct non-empty keys of an impression's suggestions.
    events = (
        raw.where(F.col("_bad").isNull())
        .select(
            "ts", "type", "user", "q", "results", "_file", "_pos",
            key_udf("type", "q", "text").alias("key"),
            norm_list("type", "suggestions").alias("keys"),
        )
        .cache()
    )
    h = float(args.half_life)

    def decay(ts: F.Column) -> F.Column:
        return F.pow(F.lit(2.0), -(F.lit(now) - ts).cast("double") / F.lit(h))

    order = [F.col("ts"), F.col("_file"), F.col("_pos")]

    # Searches: drop empty and zero-result ones, then the spam cap.
    searches = events.where(F.col("type") == "search").withColumn(
        "_skip",
        F.when(F.col("key") == "", "empty").when(F.col("results") == 0, "zero-results"),
    )
    skipped = {r["_skip"]: r["count"] for r in searches.groupBy("_skip").count().collect()}
    raw.unpersist()  # `events` is cached by now
    by_day = Window.partitionBy("key", "user", F.expr(f"ts div {DAY_MS}")).orderBy(*order)
    counted = (
        searches.where(F.col("_skip").isNull())
        .withColumn("_n", F.row_number().over(by_day))
        .where(F.col("_n") == 1)
        .drop("_n", "_skip")
        .cache()
    )
    n_counted = counted.count()
    skipped["repeat"] = skipped.get(None, 0) - n_counted
    for reason in ("empty", "zero-results", "repeat"):
        summary[f"skipped: {reason}"] = skipped.get(reason, 0)
    summary["counted searches"] = n_counted

    pop = counted.groupBy("key").agg(
        F.sum(decay(F.col("ts"))).alias("popularity"),
        F.countDistinct("user").alias("users"),
    )

    # Display form: among the key's first MAX_FORMS forms (by first counted search), the one
    # with the most counted searches; ties: the smallest in byte order (Spark compares strings
    # as UTF-8 bytes).
    forms = counted.withColumn("form", form("q")).groupBy("key", "form").agg(
        F.count(F.lit(1)).alias("n"),
        F.min(F.struct(*order)).alias("first"),
    )
    forms = forms.withColumn(
        "_i", F.row_number().over(Window.partitionBy("key").orderBy("first"))
    ).where(F.col("_i") <= MAX_FORMS)
    display = forms.withColumn(
        "_r", F.row_number().over(Window.partitionBy("key").orderBy(F.col("n").desc(), F.col("form")))
    ).where(F.col("_r") == 1).select("key", F.col("form").alias("phrase"))

    impressions = (
        events.where(F.col("type") == "impression")
        .select("ts", F.explode("keys").alias("key"))
        .groupBy("key")
        .agg(F.sum(decay(F.col("ts"))).alias("impressions"))
    )
    clicks = (
        events.where((F.col("type") == "click") & (F.col("key") != ""))
        .groupBy("key")
        .agg(F.sum(decay(F.col("ts"))).alias("clicks"))
    )

    alpha = args.ctr_prior_clicks
    prior_n = args.ctr_prior_impressions
    m = alpha / prior_n
    keys = (
        pop.join(display, "key")
        .join(impressions, "key", "left")
        .join(clicks, "key", "left")
        .fillna(0.0, subset=["impressions", "clicks"])
        .withColumn("ctr", (F.col("clicks") + F.lit(alpha)) / (F.col("impressions") + F.lit(prior_n)))
    )
    if args.ctr_weight == 0:
        score_f = F.col("popularity")
    else:
        score_f = F.col("popularity") * F.pow(F.col("ctr") / F.lit(m), F.lit(args.ctr_weight))
    keys = keys.withColumn("score", round_half_away(score_f * F.lit(args.score_scale)))

    excluded = (
        exclude_condition(spark, args.exclude, F.col("key")) if args.exclude else F.lit(False)
    )
    gate = (
        F.when(F.char_length("key") < args.min_chars, "min-chars")
        .when(F.octet_length("key") > args.max_phrase_bytes, "max-phrase-bytes")
        .when(excluded, "excluded")
        .when(F.col("users") < args.min_users, "min-users")
        .when(F.col("popularity") < args.min_count, "min-count")
        .when(F.col("score") == 0, "zero-score")
    )
    keys = keys.withColumn("_gate", gate).cache()
    gate_counts = {r["_gate"]: r["count"] for r in keys.groupBy("_gate").count().collect()}
    summary["keys"] = sum(gate_counts.values())
    summary["included"] = gate_counts.get(None, 0)
    for reason in ("min-chars", "max-phrase-bytes", "excluded", "min-users", "min-count", "zero-score"):
        summary[f"gate: {reason}"] = gate_counts.get(reason, 0)

    rows = keys.where(F.col("_gate").isNull()).select(
        "key", *[F.col(f.name).cast(f.dataType) for f in ROW_SCHEMA.fields]
    )
    return rows, summary


# ---------------------------------------------------------------------------------------------
# Writing


def hadoop_fs(spark: SparkSession, path: str):
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    p = jvm.org.apache.hadoop.fs.Path(path)
    return p.getFileSystem(conf), p


def write_rows(spark: SparkSession, rows: DataFrame, output: str) -> None:
    """Sorted by score descending, then key. One file at OUTPUT (through a temporary folder
    next to it, then a rename), or a folder of part files when OUTPUT ends in '/'."""
    tsv = output.rstrip("/").endswith(".tsv")
    one = rows.coalesce(1).sortWithinPartitions(F.col("score").desc(), F.col("key"))
    if tsv:
        one = one.select(F.concat_ws("\t", "phrase", F.col("score").cast("string")).alias("value"))
    else:
        one = one.select(*[f.name for f in ROW_SCHEMA.fields])
    if output.endswith("/"):
        # Large outputs: a folder, one sorted part per partition (sort globally instead).
        parted = rows.orderBy(F.col("score").desc(), F.col("key"))
        if tsv:
            parted.select(F.concat_ws("\t", "phrase", F.col("score").cast("string"))).write.mode("overwrite").text(output)
        else:
            parted.select(*[f.name for f in ROW_SCHEMA.fields]).write.mode("overwrite").parquet(output)
        return
    tmp = f"{output}.tmp-{uuid.uuid4().hex[:8]}"
    writer = one.write.mode("overwrite")
    if tsv:
        writer.text(tmp)
    else:
        writer.parquet(tmp)
    if "://" not in output or output.startswith("file:"):
        # A local file: moved with the OS, so no checksum sidecar (.NAME.crc) is left next to it.
        local_tmp = tmp[len("file:"):] if tmp.startswith("file:") else tmp
        parts = [n for n in os.listdir(local_tmp) if n.startswith("part-")]
        if len(parts) != 1:
            raise SystemExit(f"expected one part file in {tmp}, found {len(parts)}")
        os.replace(os.path.join(local_tmp, parts[0]), output.removeprefix("file:"))
        shutil.rmtree(local_tmp)
        return
    fs, tmp_path = hadoop_fs(spark, tmp)
    parts = [s.getPath() for s in fs.listStatus(tmp_path) if s.getPath().getName().startswith("part-")]
    if len(parts) != 1:
        raise SystemExit(f"expected one part file in {tmp}, found {len(parts)}")
    _, out_path = hadoop_fs(spark, output)
    if fs.exists(out_path):
        fs.delete(out_path, True)
    if not fs.rename(parts[0], out_path):
        raise SystemExit(f"cannot move {parts[0]} to {output}")
    fs.delete(tmp_path, True)


def run(spark: SparkSession, argv: list[str] | argparse.Namespace | None = None) -> dict:
    """Runs the aggregation of ARGV (or parsed options) in SPARK, writes the rows; returns the
    summary."""
    args = argv if isinstance(argv, argparse.Namespace) else parse_args(argv)
    started = time.monotonic()
    spark.sparkContext.addPyFile(os.path.join(HERE, "edgesuggest_normalize.py"))
    rows, summary = aggregate(spark, args)
    write_rows(spark, rows, args.output)
    summary["seconds"] = round(time.monotonic() - started, 1)
    for name, value in summary.items():
        log(f"{name}: {value}")
    spark.catalog.clearCache()
    return summary


def main(argv: Iterable[str] | None = None) -> int:
    args = parse_args(list(argv) if argv is not None else None)  # --help needs no JVM
    spark = SparkSession.builder.appName("edgesuggest-aggregate").getOrCreate()
    try:
        run(spark, args)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
