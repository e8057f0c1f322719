#!/usr/bin/env bash
# The native server (`edgesuggest serve`) next to the worker in local workerd (wrangler dev),
# both under wrk in one run, on 127.0.0.1 only: the same index (the bundled cities), the same
# query mix (bench/wrk-suggest.lua over QUERIES) and the same wrk settings as bench/worker.sh
# (-t2 -c16 -d${SECONDS_EACH}s), /v1/ping as the trivial baseline of each. The machine is shared
# and noisy, so the two surfaces take turns (worker, serve, worker, serve, ...: ROUNDS rounds)
# and the report compares them within a round, never across runs.
#
#   CLI=... WRANGLER=... QUERIES=.../queries.tsv bench/serve.sh [--smoke] >serve-vs-worker.tsv
#
# Prints tab-separated lines that bench/report.mjs turns into a table:
#   setting KEY VALUE
#   run ROUND SURFACE ROUTE REQUESTS_PER_S P50 P99 CPU_US_PER_REQUEST REQUESTS
# (P50 and P99 as wrk prints them, e.g. 812.00us or 21.41ms). --smoke: one short round, to
# check the wiring (CI); its figures mean nothing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
: "${CLI:?CLI must name the edgesuggest binary}"
: "${WRANGLER:?WRANGLER must name wrangler}"
: "${QUERIES:?QUERIES must name a queries.tsv written by bench/native.rs}"
smoke=""
[[ "${1:-}" == "--smoke" ]] && smoke=1
# A port of its own: bench/worker.sh's default (8797) may still be closing when this starts.
PORT="${BENCH_PORT:-8798}"
if [[ -n "$smoke" ]]; then
    SECONDS_EACH="${SECONDS_EACH:-2}"
    ROUNDS="${ROUNDS:-1}"
else
    SECONDS_EACH="${SECONDS_EACH:-10}"
    ROUNDS="${ROUNDS:-2}"
fi
# bench/worker.sh's settings: 2 wrk threads (one per core here), 16 connections.
THREADS=2
CONNECTIONS=16
OUT="$PWD/target/bench/serve"
mkdir -p "$OUT"
command -v wrk >/dev/null || { echo "serve.sh: wrk is missing (./build.sh bench installs it)" >&2; exit 1; }

WRANGLER_PID=""
SERVE_PID=""
# Stops only what this script started: wrangler's own session, and the server by its pid.
cleanup() {
    if [[ -n "$WRANGLER_PID" ]]; then
        kill -- "-$WRANGLER_PID" 2>/dev/null || true
        wait "$WRANGLER_PID" 2>/dev/null || true
    fi
    if [[ -n "$SERVE_PID" ]]; then
        kill "$SERVE_PID" 2>/dev/null || true
        wait "$SERVE_PID" 2>/dev/null || true
    fi
}
trap cleanup EXIT

# One index for both: the worker reads it from local KV, the server from a directory.
"$CLI" build data/cities-10k.tsv -o "$OUT/cities.seg" -q
rm -rf "$OUT/indexes"
mkdir -p "$OUT/indexes"
cp "$OUT/cities.seg" "$OUT/indexes/cities.seg"
rm -rf worker/.wrangler
"$CLI" publish "$OUT/cities.seg" --index cities --local --config worker/wrangler.toml \
    --wrangler "$WRANGLER" >/dev/null

# The worker with the L2 Cache API off (CACHE_MAX_AGE 0): like the server, it answers every
# request from the segment in memory. (In local workerd the Cache API is a simulation that adds
# cost without the edge's shared cache; bench/worker.sh measures it on and off.) wrangler runs
# in a session of its own, so that stopping it and counting workerd's CPU time touch only the
# processes this script started.
(cd worker && exec setsid "$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" --local \
    --var "CACHE_MAX_AGE:0" >"$OUT/wrangler.log" 2>&1) &
WRANGLER_PID=$!
WORKER_URL="http://127.0.0.1:$PORT"
for _ in $(seq 1 120); do
    curl -fsS "$WORKER_URL/v1/ping" >/dev/null 2>&1 && break
    sleep 0.5
done
curl -fsS "$WORKER_URL/v1/ping" >/dev/null || { echo "wrangler dev did not start; see $OUT/wrangler.log" >&2; exit 1; }

# The server on any free port; it prints the address it got on stdout. Warnings only on
# stderr: a log line per request would measure the logger.
"$CLI" serve "$OUT/indexes" --listen 127.0.0.1:0 --log-level warn \
    >"$OUT/serve.out" 2>"$OUT/serve.log" &
SERVE_PID=$!
SERVE_URL=""
for _ in $(seq 1 100); do
    # The background job may not have created serve.out yet: under `set -e` a failed read
    # here would end the whole benchmark.
    SERVE_URL="$(sed -n 's|^edgesuggest serve: listening on \(http://[^ ]*\)$|\1|p' \
        "$OUT/serve.out" 2>/dev/null || true)"
    [[ -n "$SERVE_URL" ]] && break
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
done
[[ -n "$SERVE_URL" ]] || { echo "edgesuggest serve did not start; see $OUT/serve.log" >&2; exit 1; }

# First answers load the index (KV fetch and segment load in the worker, the file in the
# server): done here, outside the timed runs. Both must answer the same suggestions.
curl -fsS "$WORKER_URL/v1/suggest?q=new&k=10" >"$OUT/first-worker.json"
curl -fsS "$SERVE_URL/v1/suggest?q=new&k=10" >"$OUT/first-serve.json"
keys() { grep -o '"text":"[^"]*"' "$1" || true; }
if [[ -z "$(keys "$OUT/first-worker.json")" \
    || "$(keys "$OUT/first-worker.json")" != "$(keys "$OUT/first-serve.json")" ]]; then
    echo "serve.sh: the worker and the server answer q=new differently; see $OUT/first-*.json" >&2
    exit 1
fi

# CPU ticks (user + system) of the processes serving SURFACE.
ticks() { # SURFACE
    local total=0 pids
    if [[ "$1" == worker ]]; then
        pids="$(pgrep -g "$WRANGLER_PID" -f "workerd serve" || true)"
    else
        pids="$SERVE_PID"
    fi
    for pid in $pids; do
        read -r -a f <"/proc/$pid/stat"
        total=$((total + f[13] + f[14]))
    done
    echo "$total"
}

run_wrk() { # ROUND SURFACE ROUTE URL [SCRIPT SCRIPT_ARG]
    local round="$1" surface="$2" route="$3" url="$4" before after out rps p50 p99 reqs bad
    local args=(-t"$THREADS" -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency)
    if (($# > 4)); then
        args+=(-s "$5")
    fi
    args+=("$url")
    if (($# > 5)); then
        # wrk hands what follows `--` to the script's init(args).
        args+=(-- "$6")
    fi
    before="$(ticks "$surface")"
    out="$(wrk "${args[@]}")"
    after="$(ticks "$surface")"
    # An error answer is cheap: a run with any would flatter its surface.
    bad="$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")"
    if [[ -n "$bad" && "$bad" != 0 ]]; then
        echo "serve.sh: $bad error answers from $surface $route:" >&2
        echo "$out" >&2
        exit 1
    fi
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
    local cpu_us=$(( (after - before) * 1000000 / $(getconf CLK_TCK) / (reqs > 0 ? reqs : 1) ))
    printf 'run\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$surface" "$route" "$rps" "$p50" "$p99" \
        "$cpu_us" "$reqs"
}

printf 'setting\t%s\t%s\n' threads "$THREADS" connections "$CONNECTIONS" seconds "$SECONDS_EACH" \
    rounds "$ROUNDS" index_bytes "$(stat -c %s "$OUT/cities.seg")" \
    prefix_queries "$(grep -c '^prefix' "$QUERIES")" smoke "${smoke:-0}"
for round in $(seq 1 "$ROUNDS"); do
    for surface in worker serve; do
        url="$WORKER_URL"
        [[ "$surface" == serve ]] && url="$SERVE_URL"
        run_wrk "$round" "$surface" "/v1/ping" "$url/v1/ping"
        run_wrk "$round" "$surface" "/v1/suggest" "$url" bench/wrk-suggest.lua "$QUERIES"
    done
done
