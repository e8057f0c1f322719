//! `edgesuggest aggregate` from the command line: bad lines and --max-errors, the summary,
//! retried inputs, option checks, and change sets that `build --delta` reads and that, stacked
//! over the first run's base, answer like a base built from the final rows.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

const T0: u64 = 1_764_633_600_000;

fn search(ts: u64, user: &str, q: &str) -> String {
    format!("{{\"ts\":{ts},\"type\":\"search\",\"user\":\"{user}\",\"q\":\"{q}\"}}\n")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Three users searching each phrase at `ts`, `times` users more for the first.
fn batch(ts: u64, phrases: &[&str], extra: usize) -> String {
    let mut text = String::new();
    for (i, p) in phrases.iter().enumerate() {
        let users = 3 + if i == 0 { extra } else { 0 };
        for u in 0..users {
            text.push_str(&search(ts + u as u64, &format!("u{u}"), p));
        }
    }
    text
}

#[test]
fn bad_lines_are_reported_and_over_the_limit_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let good = write(dir.path(), "a.ndjson", &batch(T0, &["Lisbon"], 0));
    let rows = dir.path().join("rows.tsv");
    cli()
        .args(["aggregate", s(&good), "--state", s(&state), "-o", s(&rows)])
        .assert()
        .success()
        .stderr(contains("events read      3"))
        .stderr(contains("included         1"))
        .stderr(contains("keys skipped     min-chars 0"));
    let before = edgesuggest_signals::state::State::dump(&state).unwrap();
    let text = format!(
        "{}not json\n{}",
        search(T0 + 5, "x", "Porto"),
        search(T0 + 6, "y", "Porto")
    );
    let bad = write(dir.path(), "b.ndjson", &text);
    cli()
        .args(["aggregate", s(&bad), "--state", s(&state), "-o", s(&rows)])
        .assert()
        .failure()
        .stderr(contains(format!("{}:2: not valid JSON", bad.display())))
        .stderr(contains("more than --max-errors 0"));
    assert_eq!(
        edgesuggest_signals::state::State::dump(&state).unwrap(),
        before
    );
    assert_eq!(std::fs::read_to_string(&rows).unwrap(), "Lisbon\t3000\n");
    cli()
        .args([
            "aggregate",
            s(&bad),
            "--state",
            s(&state),
            "-o",
            s(&rows),
            "--max-errors",
            "1",
        ])
        .assert()
        .success()
        .stderr(contains("bad lines        1"));
    // The same file again: skipped.
    cli()
        .args([
            "aggregate",
            s(&bad),
            "--state",
            s(&state),
            "--max-errors",
            "1",
        ])
        .assert()
        .success()
        .stderr(contains("already aggregated"));
}

#[test]
fn options_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "a.ndjson", &batch(T0, &["Lisbon"], 0));
    let state = dir.path().join("state");
    for (option, value) in [
        ("--hysteresis", "1"),
        ("--ctr-weight", "-0.5"),
        ("--half-life", "soon"),
        ("--score-scale", "0"),
    ] {
        cli()
            .args(["aggregate", s(&input), "--state", s(&state), option, value])
            .assert()
            .failure()
            .stderr(contains(format!("invalid {option}")));
    }
    assert!(!state.join("state.redb").exists());
    cli()
        .args(["aggregate", "--help"])
        .assert()
        .success()
        .stderr(predicates::str::is_empty())
        .stdout(contains("build --delta changes.ndjson"))
        .stdout(contains("publish"));
}

#[test]
fn change_sets_stacked_over_the_first_base_answer_like_the_final_rows() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let hour = 3_600_000;
    let batches = [
        batch(T0, &["Lisbon", "Porto", "Faro", "Braga"], 4),
        batch(T0 + hour, &["Porto", "Coimbra"], 6),
        batch(T0 + 2 * hour, &["Faro", "Évora"], 1),
        batch(T0 + 30 * hour, &["Aveiro"], 0),
    ];
    // No hysteresis and no min-change: the published set is exactly the rows of each run.
    let common = [
        "--half-life",
        "1d",
        "--hysteresis",
        "0",
        "--min-change",
        "0",
        "--min-count",
        "2",
    ];
    let mut deltas = Vec::new();
    let mut first_base = None;
    for (i, text) in batches.iter().enumerate() {
        let input = write(dir.path(), &format!("b{i}.ndjson"), text);
        let rows = dir.path().join(format!("rows{i}.tsv"));
        let changes = dir.path().join(format!("changes{i}.ndjson"));
        cli()
            .args([
                "aggregate",
                s(&input),
                "--state",
                s(&state),
                "-o",
                s(&rows),
                "--changes",
                s(&changes),
            ])
            .args(common)
            .assert()
            .success();
        let seg = dir.path().join(format!("seg{i}.seg"));
        if i == 0 {
            cli()
                .args(["build", s(&rows), "-o", s(&seg)])
                .assert()
                .success();
            first_base = Some(seg);
        } else {
            cli()
                .args(["build", "--delta", s(&changes), "-o", s(&seg)])
                .assert()
                .success();
            deltas.push(seg);
        }
    }
    let last_rows = dir.path().join("rows3.tsv");
    let final_base = dir.path().join("final.seg");
    cli()
        .args(["build", s(&last_rows), "-o", s(&final_base)])
        .assert()
        .success();
    let want = cli()
        .args(["query", s(&final_base), "", "-k", "100"])
        .output()
        .unwrap();
    let mut stacked = cli();
    stacked.args(["query", s(first_base.as_ref().unwrap()), "", "-k", "100"]);
    for d in &deltas {
        stacked.args(["--delta", s(d)]);
    }
    let got = stacked.output().unwrap();
    assert!(want.status.success() && got.status.success());
    let want = String::from_utf8(want.stdout).unwrap();
    assert!(want.lines().count() >= 3, "{want}");
    assert_eq!(String::from_utf8(got.stdout).unwrap(), want);
}

#[test]
fn a_directory_is_its_event_files_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs/events/2025/12/02/10");
    std::fs::create_dir_all(logs.join("41")).unwrap();
    std::fs::create_dir_all(logs.join("42")).unwrap();
    let a = write(&logs.join("41"), "a.ndjson", &batch(T0, &["Lisbon"], 1));
    let b = write(
        &logs.join("42"),
        "b.ndjson",
        &batch(T0 + 60_000, &["Porto"], 0),
    );
    write(&logs.join("42"), "notes.txt", "not an event file\n");
    let rows_of = |inputs: &[&Path], name: &str| {
        let rows = dir.path().join(format!("{name}.tsv"));
        let state = dir.path().join(name);
        let mut args = vec!["aggregate", "--state", s(&state), "-o", s(&rows)];
        args.extend(inputs.iter().map(|p| s(p)));
        cli()
            .args(&args)
            .assert()
            .success()
            .stderr(contains("events read      7"));
        std::fs::read_to_string(rows).unwrap()
    };
    let listed = rows_of(&[&a, &b], "listed");
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert_eq!(rows_of(&[&dir.path().join("logs")], "directory"), listed);
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    cli()
        .args(["aggregate", s(&empty), "--state", s(&dir.path().join("st"))])
        .assert()
        .failure()
        .stderr(contains("without *.ndjson"));
}
