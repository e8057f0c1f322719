//! Hostile queries through the CLI: each gets a clear error naming the limit, or a bounded
//! answer; none panics.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

/// A small segment with word starts, built by the CLI.
fn segment(dir: &Path) -> PathBuf {
    let input = dir.join("c.tsv");
    let rows: String = (0..500)
        .map(|i| format!("city {i} of the north\t{}\n", 1000 - i))
        .collect();
    std::fs::write(&input, rows).unwrap();
    let seg = dir.join("c.seg");
    cli()
        .args(["build", "-q", "--word-starts", "-o"])
        .arg(&seg)
        .arg(&input)
        .assert()
        .success();
    seg
}

fn query(seg: &Path) -> Command {
    let mut cmd = cli();
    cmd.arg("query").arg(seg);
    cmd
}

/// No panic message and no signal: the process exited by itself.
fn no_panic(out: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(out.status.code().is_some(), "killed by a signal: {stderr}");
}

#[test]
fn long_queries_are_refused_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    let cases = [
        ("a".repeat(1025), "normalized query is over 1024 bytes"),
        ("\u{FDFA}".repeat(85), "normalized query is over 1024 bytes"),
        // 90 KB: within the 128 KB a single argument may have on Linux.
        ("中".repeat(30_000), "the query is over 65536 bytes"),
    ];
    for (q, want) in cases {
        let out = query(&seg).arg(&q).args(["--fuzzy", "2"]).output().unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1), "{} bytes", q.len());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(want),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    query(&seg).arg("a".repeat(1024)).assert().success();
}

#[test]
fn options_beyond_the_limits_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    for args in [
        vec!["a", "-k", "1001"],
        vec!["a", "-k", "0"],
        vec!["a", "-k", "-1"],
        vec!["a", "-k", "NaN"],
        vec!["a", "-k", "9007199254740992"],
        vec!["a", "--max-visits", "1000001"],
        vec!["a", "--fuzzy", "3"],
        vec!["a", "--prefix-length", "-1"],
    ] {
        let out = query(&seg).args(&args).output().unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?} is a usage error");
    }
    query(&seg).args(["city", "-k", "1000"]).assert().success();
}

#[test]
fn odd_but_valid_queries_get_bounded_answers() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    let distinct: String = ('\u{4e00}'..).take(300).collect();
    for q in [
        "",
        "   ",
        "\u{301}\u{301}\u{301}",
        "\u{FFFD}",
        distinct.as_str(),
    ] {
        for fuzzy in ["0", "auto", "2"] {
            let out = query(&seg)
                .args([
                    q,
                    "--json",
                    "--fuzzy",
                    fuzzy,
                    "--prefix-length",
                    "0",
                    "-k",
                    "1000",
                ])
                .output()
                .unwrap();
            no_panic(&out);
            assert!(
                out.status.success(),
                "{q:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let answer: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert!(answer["suggestions"].as_array().unwrap().len() <= 1000);
        }
    }
}

#[test]
fn batch_lines_are_bounded_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let seg = segment(dir.path());
    let batch = dir.path().join("q.txt");
    // A 1 MB line after two good ones: refused without holding it, by line number.
    let mut text = b"city\r\nnorth\n".to_vec();
    text.extend(std::iter::repeat_n(b'a', 1 << 20));
    std::fs::write(&batch, &text).unwrap();
    let out = query(&seg).arg("--batch").arg(&batch).output().unwrap();
    no_panic(&out);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("batch line 3 is longer than 65536"));
    // The first two were answered, one JSON line each.
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    // NUL bytes and control characters are only characters: answered.
    std::fs::write(&batch, b"a\0b\n\x01\x7f\n").unwrap();
    let out = query(&seg).arg("--batch").arg(&batch).output().unwrap();
    no_panic(&out);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let fdfa = format!("ok\n{}\n", "\u{FDFA}".repeat(85));
    let cases: [(&[u8], &str); 2] = [
        (b"city\n\xff\xfe\n", "batch line 2 is not UTF-8"),
        (fdfa.as_bytes(), "batch line 2: query is too long"),
    ];
    for (bytes, want) in cases {
        std::fs::write(&batch, bytes).unwrap();
        let out = query(&seg).arg("--batch").arg(&batch).output().unwrap();
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(want), "{stderr}");
    }
}
