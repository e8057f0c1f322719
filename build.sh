#!/usr/bin/env bash
# One entry point for every developer and CI task. Installs what it needs, idempotently, into
# a per-user cache (tools) or via rustup (targets), never into the checkout.
#
#   ./build.sh demo    build everything and run the demo on bundled data
#   ./build.sh test    every test (what CI runs)
#   ./build.sh bench   benchmarks on ../shared/data (see BENCHMARKS.md)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${EDGESUGGEST_CACHE:-$HOME/.cache/edgesuggest}"
cd "$ROOT"

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

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

cli_bin() { echo "$ROOT/target/release/edgesuggest"; }

build_cli() {
    say "building the CLI (release)"
    cargo build --release --locked -p edgesuggest-cli
}

cmd_demo() {
    build_cli
    local out="$ROOT/target/demo"
    mkdir -p "$out"
    say "building a segment from data/cities-10k.tsv (GeoNames, CC BY 4.0)"
    "$(cli_bin)" build data/cities-10k.tsv -o "$out/cities.seg"
    "$(cli_bin)" inspect "$out/cities.seg"
    for q in "new" "new " "sao" "MÜN" "al ah" "los a"; do
        say "query '$q'"
        "$(cli_bin)" query "$out/cities.seg" "$q" -k 5
    done
    cat <<EOT

Demo segment: $out/cities.seg
Try it:
  $(cli_bin) query $out/cities.seg 'san'
  $(cli_bin) query $out/cities.seg 'san' --json
  $(cli_bin) build --help
EOT
}

cmd_test() {
    ensure_rust_parts
    say "cargo fmt --check"
    cargo fmt --all -- --check
    say "cargo clippy -D warnings"
    cargo clippy --locked --workspace --all-targets -- -D warnings
    say "cargo test"
    cargo test --locked --workspace
    say "engine for wasm32-unknown-unknown (search-only build)"
    cargo build --locked --target wasm32-unknown-unknown --no-default-features -p edgesuggest
    say "engine for wasm32-unknown-unknown (with builder)"
    cargo build --locked --target wasm32-unknown-unknown -p edgesuggest
    say "benchmark smoke run"
    EDGESUGGEST_BENCH_SMOKE=1 cargo bench --locked --bench topk
    say "all tests passed"
}

cmd_bench() {
    say "cargo bench (results also in target/bench/)"
    cargo bench --locked --bench topk
}

usage() {
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
}

mkdir -p "$CACHE"
case "${1:-}" in
    demo) cmd_demo ;;
    test) cmd_test ;;
    bench) cmd_bench ;;
    *) usage ;;
esac
