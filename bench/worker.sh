#!/usr/bin/env bash
# The worker in local workerd (wrangler dev) under wrk, on 127.0.0.1 only:
# /v1/suggest with mixed real prefixes vs the trivial /v1/ping route in the same run, with the
# L2 Cache API on and off; CPU time of workerd per request; cold-isolate time to first answer
# for a ~10 MB index; bundle size. Called by `./build.sh bench` with WRANGLER, CLI,
# SECONDS_EACH and QUERIES: a queries.tsv that bench/native.rs wrote for the bundled data (the
# data the worker serves here), whose prefix queries bench/wrk-suggest.lua sends.
# COLD_ONLY=1 runs only the cold-isolate part (no wrk, no QUERIES), COLD_RUNS times (default 3),
# on COLD_SEGMENT if given, else on one segment of all three data sets:
#   COLD_ONLY=1 COLD_RUNS=5 WRANGLER=... CLI=target/release/edgesuggest bench/worker.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
COLD_ONLY="${COLD_ONLY:-0}"
COLD_RUNS="${COLD_RUNS:-3}"
[[ "$COLD_ONLY" == 1 ]] || : "${QUERIES:?QUERIES must name a queries.tsv written by bench/native.rs}"
PORT="${BENCH_PORT:-8797}"
SECONDS_EACH="${SECONDS_EACH:-10}"
STATE="$PWD/target/bench/wrangler-state"
LOG="$PWD/target/bench/wrangler.log"
mkdir -p target/bench
[[ "$COLD_ONLY" == 1 ]] || command -v wrk >/dev/null || { echo "worker.sh: wrk is missing (./build.sh bench installs it)" >&2; exit 1; }

publish() { # SEGMENT
    "$CLI" publish "$1" --index cities --local --config worker/wrangler.toml --wrangler "$WRANGLER" \
        >/dev/null
}
# wrangler runs in a session of its own, so that stopping it and counting workerd's CPU time
# touch only the processes this script started, never another workerd on the machine.
start() { # extra wrangler args...
    (cd worker && exec setsid "$WRANGLER" dev --ip 127.0.0.1 --port "$PORT" --local "$@" \
        >"$LOG" 2>&1) &
    WRANGLER_PID=$!
    for _ in $(seq 1 120); do
        curl -fsS "http://127.0.0.1:$PORT/v1/ping" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    echo "wrangler dev did not start; see $LOG" >&2
    exit 1
}
stop() {
    kill -- "-$WRANGLER_PID" 2>/dev/null || true
    wait "$WRANGLER_PID" 2>/dev/null || true
    sleep 1
}
trap 'stop 2>/dev/null || true' EXIT
workerd_ticks() {
    local total=0
    for pid in $(pgrep -g "$WRANGLER_PID" -f "workerd serve" || true); do
        read -r -a f <"/proc/$pid/stat"
        total=$((total + f[13] + f[14]))
    done
    echo "$total"
}
run_wrk() { # LABEL URL [SCRIPT [SCRIPT_ARG...]]
    local label="$1" url="$2" script="${3:-}" before after out rps p50 p99 reqs
    local args=(-t2 -c16 -d"${SECONDS_EACH}s" --latency)
    if [[ -n "$script" ]]; then
        args+=(-s "$script")
    fi
    args+=("$url")
    if (($# > 3)); then
        # wrk hands what follows `--` to the script's init(args).
        args+=(-- "${@:4}")
    fi
    before="$(workerd_ticks)"
    out="$(wrk "${args[@]}")"
    after="$(workerd_ticks)"
    rps="$(awk '/Requests\/sec/ {print $2}' <<<"$out")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$out")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$out")"
    reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
    local cpu_us=$(( (after - before) * 1000000 / $(getconf CLK_TCK) / (reqs > 0 ? reqs : 1) ))
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "$cpu_us"
    echo "$rps" >"target/bench/rps-$(tr -c 'a-z0-9' _ <<<"$label")"
}

"$CLI" build data/cities-10k.tsv -o target/bench/cities.seg -q
rm -rf worker/.wrangler
if [[ "$COLD_ONLY" != 1 ]]; then
echo "### Worker under wrk (wrangler dev, workerd, local KV; wrk -t2 -c16 -d${SECONDS_EACH}s on 127.0.0.1)"
echo
echo "| route | requests/s | p50 | p99 | workerd CPU µs/request |"
echo "|---|---:|---:|---:|---:|"
publish target/bench/cities.seg
for l2 in 60 0; do
    label="L2 on"
    [[ "$l2" == 0 ]] && label="L2 off"
    start --var "CACHE_MAX_AGE:$l2"
    curl -fsS "http://127.0.0.1:$PORT/v1/suggest?q=a" >/dev/null
    run_wrk "/v1/ping (trivial), $label" "http://127.0.0.1:$PORT/v1/ping"
    run_wrk "/v1/suggest mixed prefixes, $label" "http://127.0.0.1:$PORT" bench/wrk-suggest.lua "$QUERIES"
    stop
done
fi

# Cold isolate: a fresh workerd, first request loads the index from KV.
# COLD_SEGMENT=FILE serves that segment instead (two formats of the same rows, side by side).
big="target/bench/big.seg"
if [[ -n "${COLD_SEGMENT:-}" ]]; then
    cp "$COLD_SEGMENT" "$big"
elif [[ -f ../shared/data/npm.tsv ]]; then
    "$CLI" build ../shared/data/npm.tsv ../shared/data/wordfreq-multilang.tsv ../shared/data/cities.tsv \
        -o "$big" -q --max-errors 1000 2>/dev/null
else
    cp target/bench/cities.seg "$big"
fi
# Published with an attestation key; each run starts the worker without the key (every FST
# node validated) and then with it (the publisher's attestation trusted), alternating.
ATTESTATION_KEY="bench-attestation-key-0123456789abcdef"
EDGESUGGEST_ATTESTATION_KEY="$ATTESTATION_KEY" publish "$big"
echo
for run in $(seq 1 "$COLD_RUNS"); do
  for mode in validated attested; do
    if [[ "$mode" == attested ]]; then
        start --var "SEGMENT_ATTESTATION_KEY:$ATTESTATION_KEY"
    else
        start
    fi
    t="$(curl -fsS -o /dev/null -D target/bench/cold-headers -w '%{time_total}' \
        "http://127.0.0.1:$PORT/v1/suggest?q=new")"
    # The worker's own account of the first answer: `kv` = the manifest and every segment
    # read and checked, `check` = of that the SHA-256 and structure checks, `load` = that plus
    # making the stack.
    # Locally workerd's clock runs during CPU work too (deployed, it advances only on I/O).
    timing="$(tr -d '\r' <target/bench/cold-headers | awk -F': ' 'tolower($1) == "server-timing" {print $2}')"
    w="$(curl -fsS -o /dev/null -w '%{time_total}' "http://127.0.0.1:$PORT/v1/suggest?q=news")"
    echo "cold isolate, $(stat -c %s "$big") byte index, $mode: first answer ${t}s (next request ${w}s; Server-Timing of the first: ${timing}) [run $run]"
    stop
  done
done
echo
node scripts/sizes.mjs worker/build/index_bg.wasm worker/build/shim.mjs
