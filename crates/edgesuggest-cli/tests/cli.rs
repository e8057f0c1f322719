//! The `edgesuggest` binary: exit codes, messages and outputs.

use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;
use predicates::str::contains;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

/// `edgesuggest build INPUT -o SEGMENT`, ready for more arguments.
fn build(input: &Path, segment: &Path) -> Command {
    let mut cmd = cli();
    cmd.args([
        "build",
        input.to_str().unwrap(),
        "-o",
        segment.to_str().unwrap(),
    ]);
    cmd
}

fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const CITIES: &str =
    "New York\t8804190\nNewark\t311549\nSão Paulo\t12400000\nsao paulo\t5\nLos Angeles\t3898747\n";

#[test]
fn build_query_inspect_verify() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let seg = dir.path().join("c.seg");
    build(&input, &seg)
        .assert()
        .success()
        .stdout(contains("rows read        5"))
        .stdout(contains("suggestions      4"))
        .stdout(contains("bytes/suggestion"));
    cli()
        .args(["query", seg.to_str().unwrap(), "SAO", "--json"])
        .assert()
        .success()
        .stdout(
            "{\"query\":\"SAO\",\"suggestions\":[{\"text\":\"São Paulo\",\"score\":12400005,\"highlight\":[0,3],\
             \"edits\":0,\"word_start\":false}],\"truncated\":false}\n",
        );
    cli()
        .args(["query", seg.to_str().unwrap(), "new", "-k", "1"])
        .assert()
        .success()
        .stdout(contains("New York").and(contains("Newark").not()));
    cli()
        .args(["inspect", seg.to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains("suggestions      4").and(contains("fst")));
    cli()
        .args(["verify", seg.to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains("ok:"));
}

/// The stdout of `query SEG --batch -` with `options`, for the queries in `stdin`.
fn batch_answers(seg: &Path, options: &[&str], stdin: &str) -> Vec<u8> {
    cli()
        .args(["query", seg.to_str().unwrap(), "--batch", "-"])
        .args(options)
        .write_stdin(stdin.to_string())
        .assert()
        .success()
        .get_output()
        .stdout
        .clone()
}

/// `inspect --json` of a segment.
fn inspect_json(seg: &Path) -> serde_json::Value {
    let out = cli()
        .args(["inspect", seg.to_str().unwrap(), "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice::<serde_json::Value>(&out).unwrap()
}

/// `--category-lists` sets the room of each category's own lists: none at 0, more at a larger
/// share, and the filtered answers the same whatever the share; an out-of-range share is
/// refused.
#[test]
fn category_lists_take_their_share_and_change_no_answer() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    for i in 0..2000u32 {
        let band = ["low", "mid", "high"][(i * 7 % 3) as usize];
        let prefix = ["ab", "ac", "ba", "bb", "ca"][(i % 5) as usize];
        rows.push_str(&format!(
            "{prefix}{} {}\t{}\t{band}\n",
            i % 31,
            i,
            1 + i * 37 % 900
        ));
    }
    let input = write(dir.path(), "bands.tsv", rows.as_bytes());
    let shares = ["0", "20", "300"];
    let segments: Vec<PathBuf> = shares
        .iter()
        .map(|share| {
            let seg = dir.path().join(format!("s{share}.seg"));
            build(&input, &seg)
                .args(["--category-lists", share])
                .assert()
                .success();
            seg
        })
        .collect();
    let lists: Vec<u64> = segments
        .iter()
        .map(|seg| {
            inspect_json(seg)["sections"]["category top lists"]
                .as_u64()
                .unwrap_or(0)
        })
        .collect();
    assert_eq!(lists[0], 0, "{lists:?}");
    assert!(lists[1] > 0 && lists[1] < lists[2], "{lists:?}");
    cli()
        .args(["verify", segments[2].to_str().unwrap()])
        .assert()
        .success();
    let answers =
        |seg: &Path, options: &[&str]| batch_answers(seg, options, "\na\nab\nb\nbb1\nc\nca 1\n");
    for options in [
        &["--cat", "low"][..],
        &["--cat", "high", "-k", "25"],
        &["--cat", "mid,high", "--fuzzy", "1"],
    ] {
        let first = answers(&segments[0], options);
        assert!(
            String::from_utf8(first.clone()).unwrap().contains("\"ab"),
            "{options:?}"
        );
        for seg in &segments[1..] {
            assert_eq!(answers(seg, options), first, "{options:?} {seg:?}");
        }
    }
    build(&input, &dir.path().join("x.seg"))
        .args(["--category-lists", "1001"])
        .assert()
        .failure()
        .stderr(contains("--category-lists"));
}

/// By default the forms that are their key title-cased are marked (format 8); with
/// `--no-display-titles` every form is stored and the segment keeps an older version. Both
/// answer alike, and `inspect` counts the marked forms.
#[test]
fn display_titles_are_marked_unless_asked_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let (marked, stored) = (dir.path().join("m.seg"), dir.path().join("s.seg"));
    build(&input, &marked).assert().success();
    build(&input, &stored)
        .arg("--no-display-titles")
        .assert()
        .success();
    let (m, s) = (inspect_json(&marked), inspect_json(&stored));
    assert_eq!(m["format_version"], 8, "{m}");
    assert_eq!(s["format_version"], 1, "{s}");
    // New York, Newark and Los Angeles are marked; São Paulo is stored.
    assert_eq!(m["display_titles"], 3, "{m}");
    assert_eq!(s["display_titles"], 0, "{s}");
    for seg in [&marked, &stored] {
        assert_eq!(inspect_json(seg)["display_forms"], 4);
    }
    let answers =
        |seg: &Path| batch_answers(seg, &["--fuzzy", "auto"], "\nn\nnew \nlos\nsao\nnwe york\n");
    let out = answers(&marked);
    assert_eq!(out, answers(&stored));
    let out = String::from_utf8(out).unwrap();
    assert!(
        out.contains("\"New York\"") && out.contains("\"Los Angeles\""),
        "{out}"
    );
}

/// By default each category's FST holds its cuts (format 9); with `--no-category-cuts` it
/// holds its members' keys and the segment keeps an older version. Both answer every filtered
/// query alike, with typos or without, and `inspect` names the section each one has.
#[test]
fn category_cuts_unless_asked_not_to() {
    let dir = tempfile::tempdir().unwrap();
    let mut rows = String::new();
    for i in 0..300u32 {
        let script = if i % 3 == 0 { "odd" } else { "even" };
        let band = if i % 7 < 2 { "rare" } else { "common" };
        rows.push_str(&format!(
            "item {} {}\t{}\t{script},{band}\n",
            i % 17,
            i,
            1000 + i * 37 % 500
        ));
    }
    let input = write(dir.path(), "cats.tsv", rows.as_bytes());
    let (cuts, narrow, keys) = (
        dir.path().join("c.seg"),
        dir.path().join("n.seg"),
        dir.path().join("k.seg"),
    );
    build(&input, &cuts).assert().success();
    build(&input, &narrow)
        .arg("--no-wide-category-ids")
        .assert()
        .success();
    build(&input, &keys)
        .args(["--no-category-cuts", "--no-wide-category-ids"])
        .assert()
        .success();
    let (c, n, k) = (
        inspect_json(&cuts),
        inspect_json(&narrow),
        inspect_json(&keys),
    );
    // Four sets over 300 ranks pack smaller in one block than in five of 64: version 10.
    assert_eq!(c["format_version"], 10, "{c}");
    assert_eq!(n["format_version"], 9, "{n}");
    assert!(k["format_version"].as_u64().unwrap() < 9, "{k}");
    let sections = |v: &serde_json::Value| v["sections"].to_string();
    assert!(sections(&c).contains("category cuts") && !sections(&k).contains("category cuts"));
    let ids = |v: &serde_json::Value| v["sections"]["category ids"].as_u64().unwrap();
    assert!(ids(&c) < ids(&n) && ids(&n) == ids(&k), "{c} {n}");
    cli()
        .args(["verify", cuts.to_str().unwrap()])
        .assert()
        .success();
    let answers = |seg: &Path, options: &[&str]| {
        batch_answers(seg, options, "\ni\nitem 1\nitem 12 1\nitme 3\nzz\n")
    };
    for options in [
        &["--cat", "rare"][..],
        &["--cat", "odd,rare", "-k", "25"],
        &["--cat", "common", "--fuzzy", "auto"],
        &["--cat", "rare", "--fuzzy", "1", "-k", "3"],
    ] {
        let out = answers(&cuts, options);
        assert_eq!(out, answers(&keys, options), "{options:?}");
        assert_eq!(out, answers(&narrow, options), "{options:?}");
        assert!(
            String::from_utf8(out).unwrap().contains("\"item "),
            "{options:?}"
        );
    }
}

#[test]
fn batch_queries_give_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let seg = dir.path().join("c.seg");
    build(&input, &seg).assert().success();
    let out = cli()
        .args(["query", seg.to_str().unwrap(), "--batch", "-", "-k", "2"])
        .write_stdin("new\nnew \nzzz\n\n")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["query"], "new");
    assert_eq!(lines[0]["suggestions"][0]["text"], "New York");
    assert_eq!(lines[0]["suggestions"][1]["text"], "Newark");
    assert_eq!(lines[1]["query"], "new ");
    assert_eq!(lines[1]["suggestions"].as_array().unwrap().len(), 1);
    assert_eq!(lines[2]["suggestions"].as_array().unwrap().len(), 0);
    assert_eq!(lines[3]["suggestions"][0]["text"], "São Paulo");
}

#[test]
fn bad_rows_fail_with_file_and_line_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"good\t1\nno score\nneg\t-4\nfrac\t1.5\n \t3\n".to_vec();
    text.extend_from_slice(b"bad \xff utf8\t2\n");
    text.extend_from_slice(format!("{}\t1\n", "x".repeat(300)).as_bytes());
    let input = write(dir.path(), "bad.tsv", &text);
    let seg = dir.path().join("bad.seg");
    build(&input, &seg)
        .assert()
        .code(1)
        .stderr(contains("bad.tsv:2: missing score"))
        .stderr(contains("bad.tsv:3: negative score"))
        .stderr(contains("bad.tsv:4: non-integer score"))
        .stderr(contains("bad.tsv:5: phrase is empty after normalization"))
        .stderr(contains("bad.tsv:6: invalid UTF-8"))
        .stderr(contains("bad.tsv:7: phrase is 300 bytes"))
        .stderr(contains(
            "6 bad row(s), more than --max-errors 0; nothing was written",
        ));
    assert!(!seg.exists());

    // Up to N bad rows are skipped with --max-errors N.
    build(&input, &seg)
        .args(["--max-errors", "5"])
        .assert()
        .code(1);
    assert!(!seg.exists());
    build(&input, &seg)
        .args(["--max-errors", "6"])
        .assert()
        .success()
        .stdout(contains("rows rejected    6"))
        .stdout(contains("suggestions      1"));
    // --max-phrase-bytes lifts the length limit.
    build(&input, &seg)
        .args(["--max-errors", "5", "--max-phrase-bytes", "400"])
        .assert()
        .success()
        .stdout(contains("suggestions      2"));
}

#[test]
fn failed_build_keeps_the_previous_segment() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.tsv", CITIES.as_bytes());
    let bad = write(dir.path(), "bad.tsv", b"x\tnot-a-number\n");
    let seg = dir.path().join("c.seg");
    build(&good, &seg).assert().success();
    let before = std::fs::read(&seg).unwrap();
    build(&bad, &seg).assert().code(1);
    assert_eq!(std::fs::read(&seg).unwrap(), before);
    let leftovers = std::fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains(".tmp")
        })
        .count();
    assert_eq!(leftovers, 0, "temporary files left behind");
}

/// An output that is a device or a pipe is written into, never replaced by a file: a rename over
/// `/dev/null` by root would leave a plain file there, which every later reader of it sees.
#[cfg(unix)]
#[test]
fn build_into_a_pipe_writes_through_it() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let pipe = dir.path().join("out.pipe");
    let made = std::process::Command::new("mkfifo").arg(&pipe).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("skipped: mkfifo could not make a named pipe here");
        return;
    }
    let (sent, received) = std::sync::mpsc::channel();
    let reading = pipe.clone();
    std::thread::spawn(move || sent.send(std::fs::read(reading).unwrap()));
    build(&input, &pipe).assert().success();
    let through = received
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("nothing was written into the pipe");
    let file = dir.path().join("c.seg");
    build(&input, &file).assert().success();
    assert_eq!(through, std::fs::read(&file).unwrap());
    let kind = std::fs::symlink_metadata(&pipe).unwrap().file_type();
    assert!(kind.is_fifo(), "the pipe was replaced: {kind:?}");
}

/// A new segment gets a new file's permissions (as `>` would give, not a temporary file's
/// owner-only ones), and a rebuilt one keeps those of the file it replaces.
#[cfg(unix)]
#[test]
fn segments_get_the_permissions_of_a_new_or_replaced_file() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let plain = write(dir.path(), "plain", b"");
    let seg = dir.path().join("c.seg");
    build(&input, &seg).assert().success();
    assert_eq!(mode(&seg), mode(&plain), "a new segment's permissions");
    std::fs::set_permissions(&seg, std::fs::Permissions::from_mode(0o640)).unwrap();
    build(&input, &seg).assert().success();
    assert_eq!(mode(&seg), 0o640, "a rebuilt segment's permissions");
}

/// A failed write says what failed and the system's reason, once each.
#[test]
fn a_failed_write_names_its_reason_once() {
    let full = Path::new("/dev/full");
    if !full.exists() {
        eprintln!("skipped: no /dev/full here");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let out = build(&input, full).assert().code(1).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.starts_with("error: cannot write the new segment: /dev/full: "),
        "{stderr}"
    );
    assert_eq!(stderr.matches("(os error 28)").count(), 1, "{stderr}");
}

#[test]
fn empty_input_fails() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "empty.tsv", b"");
    let seg = dir.path().join("e.seg");
    build(&input, &seg)
        .assert()
        .code(1)
        .stderr(contains("no rows to build from"));
    assert!(!seg.exists());
}

#[test]
fn missing_files_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let seg = dir.path().join("x.seg");
    cli()
        .args(["build", "/nonexistent/in.tsv", "-o", seg.to_str().unwrap()])
        .assert()
        .code(1)
        .stderr(contains("cannot open input /nonexistent/in.tsv"));
    cli()
        .args(["query", "/nonexistent/x.seg", "a"])
        .assert()
        .code(1)
        .stderr(contains("cannot read segment /nonexistent/x.seg"));
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    cli()
        .args([
            "build",
            input.to_str().unwrap(),
            "-o",
            "/nonexistent/dir/x.seg",
        ])
        .assert()
        .code(1)
        .stderr(contains("does not exist"));
}

#[test]
fn unknown_extension_asks_for_format() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "rows.data", CITIES.as_bytes());
    let seg = dir.path().join("x.seg");
    build(&input, &seg)
        .assert()
        .code(1)
        .stderr(contains("--format"));
    cli()
        .args([
            "build",
            input.to_str().unwrap(),
            "-o",
            seg.to_str().unwrap(),
            "--format",
            "tsv",
        ])
        .assert()
        .success();
}

#[test]
fn csv_ndjson_gzip_and_stdin_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(
        dir.path(),
        "a.csv",
        "id,phrase,score\n1,\"New York, NY\",10\n2,Newark,5\n".as_bytes(),
    );
    let ndjson = write(
        dir.path(),
        "b.ndjson",
        br#"{"phrase":"New Delhi","score":20,"payload":{"id":3}}
{"phrase":"new york, ny","score":1}
"#,
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"Newcastle\t7\n").unwrap();
    let gz = write(dir.path(), "c.tsv.gz", &gz.finish().unwrap());
    let seg = dir.path().join("all.seg");
    cli()
        .args([
            "build",
            csv.to_str().unwrap(),
            ndjson.to_str().unwrap(),
            gz.to_str().unwrap(),
            "-",
        ])
        .args(["-o", seg.to_str().unwrap()])
        .write_stdin("Newport\t6\n")
        .assert()
        .success()
        .stdout(contains("rows read        6"))
        .stdout(contains("suggestions      5"));
    cli()
        .args(["query", seg.to_str().unwrap(), "new", "--json"])
        .assert()
        .success()
        .stdout(
            "{\"query\":\"new\",\"suggestions\":[{\"text\":\"New Delhi\",\"score\":20,\
             \"highlight\":[0,3],\"payload\":{\"id\":3},\"edits\":0,\"word_start\":false},{\"text\":\"New York, NY\",\
             \"score\":11,\"highlight\":[0,3],\"edits\":0,\"word_start\":false},{\"text\":\"Newcastle\",\"score\":7,\
             \"highlight\":[0,3],\"edits\":0,\"word_start\":false},{\"text\":\"Newport\",\"score\":6,\"highlight\":[0,3],\
             \"edits\":0,\"word_start\":false},{\"text\":\"Newark\",\"score\":5,\"highlight\":[0,3],\"edits\":0,\"word_start\":false}],\
             \"truncated\":false}\n",
        );
}

#[test]
fn csv_without_required_columns_fails() {
    let dir = tempfile::tempdir().unwrap();
    let csv = write(dir.path(), "a.csv", b"name,count\nx,1\n");
    cli()
        .args([
            "build",
            csv.to_str().unwrap(),
            "-o",
            dir.path().join("a.seg").to_str().unwrap(),
        ])
        .assert()
        .code(1)
        .stderr(contains("must name the columns `phrase` and `score`"));
}

#[test]
fn corrupt_segment_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "c.tsv", CITIES.as_bytes());
    let seg = dir.path().join("c.seg");
    build(&input, &seg).assert().success();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&seg, &bytes).unwrap();
    for cmd in ["verify", "inspect"] {
        cli()
            .args([cmd, seg.to_str().unwrap()])
            .assert()
            .code(1)
            .stderr(contains("checksum mismatch"));
    }
    let not_a_segment = write(dir.path(), "x.seg", b"hello");
    cli()
        .args(["query", not_a_segment.to_str().unwrap(), "a"])
        .assert()
        .code(1)
        .stderr(contains("not an edgesuggest segment"));
}

#[test]
fn usage_errors_exit_2_and_help_teaches() {
    cli().args(["query"]).assert().code(2);
    cli()
        .args(["build", "x.tsv"])
        .assert()
        .code(2)
        .stderr(contains("--output"));
    cli()
        .args(["query", "x.seg", "a", "-k", "0"])
        .assert()
        .code(2);
    cli()
        .args(["build", "--help"])
        .assert()
        .success()
        .stdout(contains("--max-errors").and(contains("Examples")));
}

#[test]
fn word_starts_categories_fuzzy_and_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(
        dir.path(),
        "c.tsv",
        "New York\t8804190\t{\"url\":\"/ny\"}\tcity\n\
         Yorkshire\t5000000\t\tregion\n\
         Los Angeles\t3898747\t\tcity\n\
         Paris\t2100000\t{\"url\":\"/paris\"}\tcity,capital\n\
         Paris Hilton\t9000000\t\tperson\n"
            .as_bytes(),
    );
    let seg = dir.path().join("c.seg");
    build(&input, &seg).arg("--word-starts").assert().success();
    let seg = seg.to_str().unwrap();
    cli()
        .args(["inspect", seg])
        .assert()
        .success()
        .stdout(contains("word starts      yes"))
        .stdout(contains("categories       capital ("));
    cli()
        .args(["query", seg, "york", "--json"])
        .assert()
        .success()
        .stdout(
            "{\"query\":\"york\",\"suggestions\":[{\"text\":\"Yorkshire\",\"score\":5000000,\"highlight\":[0,4],\
             \"categories\":[\"region\"],\"edits\":0,\"word_start\":false},{\"text\":\"New York\",\
             \"score\":8804190,\"highlight\":[4,8],\"payload\":{\"url\":\"/ny\"},\"categories\":[\"city\"],\
             \"edits\":0,\"word_start\":true}],\"truncated\":false}\n",
        );
    cli()
        .args(["query", seg, "pari", "--cat", "capital,region"])
        .assert()
        .success()
        .stdout(contains("Paris").and(contains("Hilton").not()));
    cli()
        .args(["query", seg, "prais", "--fuzzy", "auto", "--json"])
        .assert()
        .success()
        .stdout(contains("\"edits\":1"));
    cli()
        .args(["query", seg, "prais", "--fuzzy", "1", "--max-visits", "1"])
        .assert()
        .success()
        .stdout(contains("truncated"));
    cli()
        .args(["query", seg, "x", "--fuzzy", "3"])
        .assert()
        .code(2)
        .stderr(contains("auto, 0, 1 or 2"));
    // A bad category names the row and the rule.
    let bad = write(dir.path(), "bad.tsv", b"a\t1\t\tno spaces allowed\n");
    build(&bad, &dir.path().join("bad.seg"))
        .assert()
        .failure()
        .stderr(contains("bad.tsv:1").and(contains("category")));
    // Payloads over 1 KB are refused at build time.
    let big = format!("a\t1\t{{\"x\":\"{}\"}}\n", "y".repeat(1100));
    let big = write(dir.path(), "big.tsv", big.as_bytes());
    build(&big, &dir.path().join("big.seg"))
        .assert()
        .failure()
        .stderr(contains("big.tsv:1").and(contains("payload")));
}
