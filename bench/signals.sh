#!/usr/bin/env bash
# Aggregation benchmark: `edgesuggest aggregate` over generated logs (NDJSON and Parquet, the
# same events), one minute of logs at 2,000 events/s into a change set on top of a week of
# state, `edgesuggest report` over the same NDJSON, and the Spark job on the same NDJSON when
# its Python is given. Prints a Markdown fragment (starting with its own `###` heading) on
# stdout; progress on stderr.
#
#   CLI=target/release/edgesuggest LOGGEN=target/release/edgesuggest-loggen \
#   [SPARK_PYTHON=.../bin/python] bench/signals.sh OUT_DIR [--smoke]
set -euo pipefail

out="${1:?usage: bench/signals.sh OUT_DIR [--smoke]}"
smoke="${2:-}"
: "${CLI:?set CLI to the edgesuggest binary}" "${LOGGEN:?set LOGGEN to the edgesuggest-loggen binary}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
events=4000000 users=200000 phrases="${PHRASES:-$here/../../shared/data/cities.tsv}"
if [[ -n "$smoke" ]]; then events=200000 users=20000; fi
[[ -f "$phrases" ]] || phrases="$here/../data/cities-10k.tsv"
start=1761955200000                # 2025-11-01T00:00Z
week=$((7 * 86400000))
rm -rf "$out" && mkdir -p "$out"
log() { printf '%s\n' "$*" >&2; }

# timed NAME CMD...: runs CMD, records "NAME seconds peak-KB" in $out/times.
timed() {
    local name="$1"
    shift
    /usr/bin/time -f "$name %e %M" -a -o "$out/times" "$@"
}
seconds() { awk -v n="$1" '$1 == n { print $2 }' "$out/times"; }
peak_mb() { awk -v n="$1" '$1 == n { printf "%.0f", $3 / 1024 }' "$out/times"; }
per_second() { awk -v n="$2" -v s="$(seconds "$1")" 'BEGIN { printf "%.2f", n / s / 1e6 }'; }
thousands_per_second() { awk -v n="$2" -v s="$(seconds "$1")" 'BEGIN { printf "%.1f", n / s / 1e3 }'; }

log "signals: generating $events events over 7 days ($(basename "$phrases"), $users users)"
# --experiment gives impressions and clicks an experiment (and impressions a took_us) for the
# report to read; the aggregation ignores those fields, so its events and rows are the same.
gen=(--phrases "$phrases" --events "$events" --users "$users" --days 7 --start "$start" --seed 11 -q
    --experiment bench-week)
"$LOGGEN" "${gen[@]}" -o "$out/week.ndjson"
"$LOGGEN" "${gen[@]}" --format parquet -o "$out/week.parquet"
"$LOGGEN" --phrases "$phrases" --users "$users" --rate 2000 --minutes 1 \
    --start $((start + week)) --seed 12 -q -o "$out/minute.ndjson"
minute_events=$(wc -l <"$out/minute.ndjson")

log "signals: aggregate NDJSON, Parquet (fresh state each)"
timed ndjson "$CLI" aggregate "$out/week.ndjson" --state "$out/state-ndjson" -o "$out/rows-ndjson.tsv" 2>/dev/null
timed parquet "$CLI" aggregate "$out/week.parquet" --state "$out/state-parquet" -o "$out/rows-parquet.tsv" 2>/dev/null
cmp -s "$out/rows-ndjson.tsv" "$out/rows-parquet.tsv" || { log "NDJSON and Parquet rows differ"; exit 1; }
rows=$(wc -l <"$out/rows-ndjson.tsv")

log "signals: report over the same NDJSON"
timed report "$CLI" report "$out/week.ndjson" --experiment bench-week --json >"$out/report.json" 2>/dev/null
report_rate=$(per_second report "$events")
report_ratio=$(awk -v r="$report_rate" 'BEGIN { printf "%.2f", r / 1.0 }')

log "signals: a week as state, then one minute into a change set and a delta segment"
"$CLI" aggregate "$out/week.ndjson" --state "$out/state-minute" --changes "$out/changes-0.ndjson" 2>/dev/null
timed minute "$CLI" aggregate "$out/minute.ndjson" --state "$out/state-minute" --changes "$out/changes-1.ndjson" 2>"$out/minute.log"
keys_read=$(sed -n 's/.*keys *\([0-9]*\) (\([0-9]*\) read from the state).*/\2 of \1/p' "$out/minute.log")
timed delta "$CLI" build --delta "$out/changes-1.ndjson" -o "$out/delta.seg" -q
changes=$(wc -l <"$out/changes-1.ndjson")
state_mb=$(du -m "$out/state-minute/state.redb" | cut -f1)

spark_row="| Spark job (\`jobs/spark\`, local[2]), same NDJSON | not run (SPARK_PYTHON unset) | | |"
if [[ -n "${SPARK_PYTHON:-}" ]]; then
    log "signals: the Spark job on the same NDJSON (local[2])"
    PYSPARK_SUBMIT_ARGS='--master local[2] --driver-memory 6g pyspark-shell' timed spark \
        "$SPARK_PYTHON" "$here/../jobs/spark/edgesuggest_aggregate.py" "$out/week.ndjson" \
        --output "$out/rows-spark.tsv" 2>"$out/spark.log"
    spark_row="| Spark job (\`jobs/spark\`, local[2], JVM start included), same NDJSON | $(seconds spark) s | $(thousands_per_second spark "$events") k events/s | – (JVM not measured) |"
fi

cat <<EOF
### Aggregation (\`edgesuggest aggregate\`)

\`bench/signals.sh\` (run by \`./build.sh bench\`): $events generated events (\`edgesuggest-loggen\`,
7 days, $users users, Zipf over $(basename "$phrases")), the same events as NDJSON and as Parquet,
each aggregated from an empty state into $rows rows (impressions and clicks carry an experiment
and impressions a \`took_us\`, which the aggregation ignores); the same NDJSON through
\`edgesuggest report --experiment\`; then one minute at 2,000 events/s
($minute_events events) aggregated on top of the week's state into a change set, and that
change set built into a delta segment. Wall time of the whole command (process start, state
load and save included); peak memory is the maximum resident set. Targets: ≥ 1 M events/s,
one minute → change set ≤ 1 s, report ≥ 1 M events/s.

| run | time | throughput | peak memory |
|---|---:|---:|---:|
| NDJSON, $events events | $(seconds ndjson) s | $(per_second ndjson "$events") M events/s | $(peak_mb ndjson) MB |
| Parquet, $events events | $(seconds parquet) s | $(per_second parquet "$events") M events/s | $(peak_mb parquet) MB |
| \`report --json\`, same NDJSON ($events events) | $(seconds report) s | $report_rate M events/s ($report_ratio× the 1 M/s target) | $(peak_mb report) MB |
| one minute ($minute_events events, naming $keys_read keys) → change set of $changes lines, state $state_mb MB | $(seconds minute) s | | $(peak_mb minute) MB |
| that change set → delta segment (\`build --delta\`) | $(seconds delta) s | | $(peak_mb delta) MB |
$spark_row
EOF
