//! Deltas, blocklists and compaction from the command line: `build --delta`, `build
//! --blocklist`, `query --delta/--blocklist/--manifest`, `compact`, `inspect` and `verify`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;
use sha2::{Digest, Sha256};

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

const CITIES: &str = "New York\t8804190\nNewark\t311549\nSão Paulo\t12400000\nsao paulo\t5\n\
                      Los Angeles\t3898747\nNew Orleans\t383997\n";

const CHANGES: &str = r#"{"op":"upsert","phrase":"Newark","score":9000000000,"payload":{"id":7}}
{"op":"delete","phrase":"NEW YORK"}
{"op":"upsert","phrase":"Newcastle","score":5,"categories":["uk"]}
{"op":"upsert","phrase":"Newport","score":1}
{"op":"delete","phrase":"newport"}
"#;

/// A base, one delta and a blocklist in `dir`.
fn fixture(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let base = dir.join("base.seg");
    let delta = dir.join("delta.seg");
    let rows = write(dir, "base.tsv", CITIES);
    let changes = write(dir, "changes.ndjson", CHANGES);
    let blocked = write(dir, "blocked.txt", "# legal\nsao *\nlos angeles\n");
    cli()
        .args(["build", s(&rows), "-o", s(&base), "-q"])
        .assert()
        .success();
    cli()
        .args(["build", "--delta", s(&changes), "-o", s(&delta)])
        .assert()
        .success()
        .stdout(contains("delta: 2 upsert(s), 2 delete(s)"));
    (base, delta, blocked)
}

#[test]
fn a_delta_and_a_blocklist_change_the_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (base, delta, blocked) = fixture(dir.path());
    cli()
        .args(["query", s(&base), "new", "--delta", s(&delta), "--json"])
        .assert()
        .success()
        .stdout(
            "{\"query\":\"new\",\"suggestions\":[\
             {\"text\":\"Newark\",\"score\":9000000000,\"highlight\":[0,3],\"payload\":{\"id\":7},\"edits\":0,\"word_start\":false},\
             {\"text\":\"New Orleans\",\"score\":383997,\"highlight\":[0,3],\"edits\":0,\"word_start\":false},\
             {\"text\":\"Newcastle\",\"score\":5,\"highlight\":[0,3],\"categories\":[\"uk\"],\"edits\":0,\"word_start\":false}],\
             \"truncated\":false}\n",
        );
    // The blocklist hides "São Paulo" (prefix "sao ") and "Los Angeles" (the phrase).
    cli()
        .args(["query", s(&base), "", "-k", "10", "--delta", s(&delta)])
        .args(["--blocklist", s(&blocked)])
        .assert()
        .success()
        .stdout(
            contains("Newark")
                .and(contains("Paulo").not())
                .and(contains("Angeles").not()),
        );
    // A blocklist segment works the same as its text.
    let list = dir.path().join("blocked.seg");
    cli()
        .args(["build", "--blocklist", s(&blocked), "-o", s(&list), "-q"])
        .assert()
        .success();
    cli()
        .args(["query", s(&base), "sao", "--blocklist", s(&list)])
        .assert()
        .success()
        .stdout(contains("no suggestions"));
}

#[test]
fn compaction_equals_a_build_of_the_merged_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (base, delta, _) = fixture(dir.path());
    let compacted = dir.path().join("compacted.seg");
    cli()
        .args(["compact", s(&base), s(&delta), "-o", s(&compacted)])
        .assert()
        .success()
        .stdout(contains("suggestions      5"));
    // One row per live suggestion: display form, score, payload, categories.
    let merged = write(
        dir.path(),
        "merged.ndjson",
        r#"{"phrase":"São Paulo","score":12400005}
{"phrase":"Los Angeles","score":3898747}
{"phrase":"New Orleans","score":383997}
{"phrase":"Newark","score":9000000000,"payload":{"id":7}}
{"phrase":"Newcastle","score":5,"categories":["uk"]}
"#,
    );
    let fresh = dir.path().join("fresh.seg");
    cli()
        .args(["build", s(&merged), "-o", s(&fresh), "-q"])
        .assert()
        .success();
    assert!(std::fs::read(&compacted).unwrap() == std::fs::read(&fresh).unwrap());
}

#[test]
fn a_manifest_names_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let (base, delta, blocked) = fixture(dir.path());
    let list = dir.path().join("blocked.seg");
    cli()
        .args(["build", "--blocklist", s(&blocked), "-o", s(&list), "-q"])
        .assert()
        .success();
    let segments = dir.path().join("segments");
    std::fs::create_dir(&segments).unwrap();
    let mut entries = Vec::new();
    for (path, kind) in [(&base, "base"), (&delta, "delta"), (&list, "blocklist")] {
        let bytes = std::fs::read(path).unwrap();
        let hash: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        std::fs::write(segments.join(format!("{hash}.seg")), &bytes).unwrap();
        entries.push(serde_json::json!({
            "hash": hash, "size": bytes.len(), "kind": kind, "entries": 1,
            "chunks": [format!("seg/{hash}/1048576/0")],
        }));
    }
    let manifest = serde_json::json!({
        "manifest_version": 2, "index": "cities", "version": 3,
        "created": "2026-12-01T00:00:00Z", "parent": 2, "segments": entries,
    });
    let manifest = write(dir.path(), "manifest.json", &manifest.to_string());
    cli()
        .args([
            "query",
            "--manifest",
            s(&manifest),
            "--segments",
            s(&segments),
            "new",
        ])
        .assert()
        .success()
        .stdout(contains("Newark").and(contains("New York").not()));
    // Without --segments the manifest's directory has no segments: the error says where to look.
    cli()
        .args(["query", "--manifest", s(&manifest), "new"])
        .assert()
        .failure()
        .stderr(contains("is missing").and(contains("--segments DIR")));
}

#[test]
fn inspect_and_verify_know_deltas_and_stacks() {
    let dir = tempfile::tempdir().unwrap();
    let (base, delta, blocked) = fixture(dir.path());
    cli()
        .args(["inspect", s(&delta)])
        .assert()
        .success()
        .stdout(contains("kind             delta").and(contains("deletes          2")));
    cli()
        .args(["verify", s(&base), s(&delta)])
        .assert()
        .success()
        .stdout(contains("ok: one index: a base, 1 delta(s)"));
    cli()
        .args(["verify", s(&delta), s(&base)])
        .assert()
        .failure()
        .stderr(contains(
            "the first segment is a delta segment, expected a base",
        ));
    cli()
        .args(["query", s(&delta), "new"])
        .assert()
        .failure()
        .stderr(contains("expected a base"));
    // Word starts must agree: a delta built without them over a base built with them.
    let ws_base = dir.path().join("ws.seg");
    let rows = write(dir.path(), "ws.tsv", CITIES);
    cli()
        .args(["build", s(&rows), "-o", s(&ws_base), "-q", "--word-starts"])
        .assert()
        .success();
    cli()
        .args(["query", s(&ws_base), "york", "--delta", s(&delta)])
        .assert()
        .failure()
        .stderr(contains("--word-starts"));
    let _ = blocked;
}

#[test]
fn bad_changes_and_blocklist_lines_name_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let changes = write(
        dir.path(),
        "bad.ndjson",
        "{\"op\":\"upsert\",\"phrase\":\"a\",\"score\":1}\n{\"op\":\"remove\",\"phrase\":\"a\"}\n\
         {\"op\":\"delete\",\"phrase\":\"   \"}\n",
    );
    let out = dir.path().join("d.seg");
    cli()
        .args(["build", "--delta", s(&changes), "-o", s(&out)])
        .assert()
        .failure()
        .stderr(contains(
            "bad.ndjson:2: \"op\" must be \"upsert\" or \"delete\"",
        ))
        .stderr(contains("bad.ndjson:3: phrase is empty"))
        .stderr(contains("nothing was written"));
    assert!(!out.exists());
    let list = write(dir.path(), "b.txt", "ok\n*\n");
    cli()
        .args(["build", "--blocklist", s(&list), "-o", s(&out)])
        .assert()
        .failure()
        .stderr(contains("b.txt:2:"));
    cli()
        .args([
            "build",
            "--delta",
            "--format",
            "tsv",
            s(&changes),
            "-o",
            s(&out),
        ])
        .assert()
        .failure()
        .stderr(contains("--format does not apply"));
}

#[test]
fn a_published_version_answers_from_the_publishers_store() {
    let dir = tempfile::tempdir().unwrap();
    let (base, delta, blocked) = fixture(dir.path());
    let store = dir.path().join("store");
    for args in [
        vec![s(&base), "--blocklist", s(&blocked)],
        vec!["--delta", s(&delta)],
    ] {
        let out = dir.path().join(format!("kv{}", args.len()));
        cli()
            .arg("publish")
            .args(&args)
            .args([
                "--index",
                "cities",
                "--out-dir",
                s(&out),
                "--store",
                s(&store),
            ])
            .assert()
            .success();
    }
    // The live version (the pointer), its segments found in the store above it.
    let pointer = store.join("manifest/cities.json");
    cli()
        .args(["query", "--manifest", s(&pointer), "", "-k", "20"])
        .assert()
        .success()
        .stdout(
            contains("Newark")
                .and(contains("New York").not())
                .and(contains("Angeles").not()),
        );
}
