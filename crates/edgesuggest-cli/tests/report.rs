//! `edgesuggest report` from the command line: a small log whose every figure is computed by
//! hand below, the table, the SVG chart, `--plan`, directories as inputs, and a brute-force
//! oracle over random events.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn cli() -> Command {
    Command::cargo_bin("edgesuggest").unwrap()
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// 2025-12-02T00:00Z; day 1 is 2025-12-03.
const T0: u64 = 1_764_633_600_000;
const DAY: u64 = 86_400_000;

/// An event line of experiment `exp1` (or of `experiment` when given), from JSON fields.
fn line(fields: &str) -> String {
    format!("{{{fields}}}\n")
}

fn imp(
    ts: u64,
    user: &str,
    session: Option<&str>,
    rid: Option<&str>,
    q: &str,
    list: &[&str],
    extra: &str,
) -> String {
    let mut f = format!(
        "\"ts\":{ts},\"type\":\"impression\",\"user\":\"{user}\",\"q\":\"{q}\",\"suggestions\":{}",
        serde_json::to_string(list).unwrap()
    );
    if let Some(sess) = session {
        f.push_str(&format!(",\"session\":\"{sess}\""));
    }
    if let Some(rid) = rid {
        f.push_str(&format!(",\"response_id\":\"{rid}\""));
    }
    line(&(f + extra))
}

fn click(
    ts: u64,
    user: &str,
    session: &str,
    rid: Option<&str>,
    q: Option<&str>,
    (text, position): (&str, u64),
    extra: &str,
) -> String {
    let mut f = format!(
        "\"ts\":{ts},\"type\":\"click\",\"user\":\"{user}\",\"session\":\"{session}\",\"text\":\"{text}\",\"position\":{position}"
    );
    if let Some(rid) = rid {
        f.push_str(&format!(",\"response_id\":\"{rid}\""));
    }
    if let Some(q) = q {
        f.push_str(&format!(",\"q\":\"{q}\""));
    }
    line(&(f + extra))
}

const C: &str = ",\"experiment\":\"exp1\",\"variant\":\"control\"";
const T: &str = ",\"experiment\":\"exp1\",\"variant\":\"treatment\"";

/// The fixed log. Per arm, by hand:
///
/// control: users c1 c2 c3 c4 = 4; sessions (c1,s1) (c2,s2) (c3,none) (c4,s4) (c4,s5) = 5;
///   impressions 6 (day 0: rc1 rc2 rc3; day 1: rc4, one without id, rc6); clicks 2 (rc1 with
///   q "ne": "New York" 8 − 2 = 6 saved; rc4 without q: its impression's q "be", "Berlin"
///   6 − 2 = 4), both at position 0. CTR 2/6; MRR (1 + 1)/2 = 1; saved (6 + 4)/2 = 5;
///   zero-suggestion 1/6 (rc3; rc6 is empty but has an error); error share 1/6;
///   took_us 1000..5000 (5 samples): p50 = rank ⌈2.5⌉ = 3 ms, p95 = rank ⌈4.75⌉ = 5 ms.
///   Daily: day 0 1/3 (rc1), day 1 1/3 (rc4).
/// treatment: users t1..t6 = 6, sessions 6, impressions 6 (rt1..rt3 day 0, rt4..rt6 day 1),
///   clicks 5: t1 "Minsk" pos 1 q "mi" (3 saved, 1/2); t2 "Madrid" pos 0, before its
///   impression, no q → "ma" (4, 1); t3 "Oslo" pos 0 q "o" (3, 1) and again q "oslo" (0, 1);
///   t5 "Łódź" pos 2, no id, no q (4 characters, 1/3). Clicked impressions rt1 rt2 rt3: CTR
///   3/6 = 0.5; MRR (0.5 + 1 + 1 + 1 + 1/3)/5 = 0.766667; saved 14/5 = 2.8; took_us
///   10000 ×5 and 40000: p50 = 10 ms, p95 = rank 6 = 40 ms. Daily: day 0 3/3, day 1 0/3.
/// treatment vs control: diff 0.5 − 1/3 = 0.166667; SE = √(0.25/6 + (2/9)/6) = 0.2805418;
///   CI 0.166667 ± 1.959964·0.2805418 = [−0.383185, 0.716518]; pooled p = 5/12,
///   SE = √(5/12·7/12·2/6) = 0.2846375, z = 0.585540, p = 2(1 − Φ(0.58554)) = 0.558185.
/// SRM, equal weights: 10 users, 5 expected each: χ² = (1 + 1)/5 = 0.4, df 1,
///   p = 2(1 − Φ(√0.4)) = 0.527089.
/// Skipped: 3 events of experiment "other" + 1 without experiment = 4; 1 of exp1 without
///   variant; 1 bad line (line 3).
fn fixed_log() -> String {
    let mut log = String::new();
    let d1 = T0 + DAY;
    log += &imp(
        T0,
        "c1",
        Some("s1"),
        Some("rc1"),
        "ne",
        &["New York", "Newark"],
        &format!("{C},\"took_us\":1000"),
    );
    log += &click(
        T0 + 1,
        "c1",
        "s1",
        Some("rc1"),
        Some("ne"),
        ("New York", 0),
        C,
    );
    log += "not json\n";
    log += &imp(
        T0 + 2,
        "c1",
        Some("s1"),
        Some("rc2"),
        "lo",
        &["London"],
        &format!("{C},\"took_us\":2000"),
    );
    log += &imp(
        T0 + 3,
        "c2",
        Some("s2"),
        Some("rc3"),
        "pa",
        &[],
        &format!("{C},\"took_us\":3000"),
    );
    log += &imp(
        d1,
        "c3",
        None,
        Some("rc4"),
        "be",
        &["Berlin"],
        &format!("{C},\"took_us\":4000"),
    );
    log += &click(d1 + 1, "c3", "x", Some("rc4"), None, ("Berlin", 0), C)
        .replace(",\"session\":\"x\"", "");
    log += &imp(
        d1 + 2,
        "c4",
        Some("s4"),
        None,
        "ro",
        &["Rome"],
        &format!("{C},\"took_us\":5000"),
    );
    log += &imp(
        d1 + 3,
        "c4",
        Some("s5"),
        Some("rc6"),
        "zz",
        &[],
        &format!("{C},\"error\":\"timeout\""),
    );
    log += &line(&format!(
        "\"ts\":{},\"type\":\"search\",\"user\":\"c1\",\"q\":\"New York\",\"session\":\"s1\"{C}",
        T0 + 5
    ));
    // treatment
    log += &imp(
        T0,
        "t1",
        Some("st1"),
        Some("rt1"),
        "mi",
        &["Milan", "Minsk"],
        &format!("{T},\"took_us\":10000"),
    );
    log += &click(
        T0 + 1,
        "t1",
        "st1",
        Some("rt1"),
        Some("mi"),
        ("Minsk", 1),
        T,
    );
    log += &click(T0 + 2, "t2", "st2", Some("rt2"), None, ("Madrid", 0), T);
    log += &imp(
        T0 + 3,
        "t2",
        Some("st2"),
        Some("rt2"),
        "ma",
        &["Madrid"],
        &format!("{T},\"took_us\":10000"),
    );
    log += &imp(
        T0 + 4,
        "t3",
        Some("st3"),
        Some("rt3"),
        "os",
        &["Oslo"],
        &format!("{T},\"took_us\":10000"),
    );
    log += &click(T0 + 5, "t3", "st3", Some("rt3"), Some("o"), ("Oslo", 0), T);
    log += &click(
        T0 + 6,
        "t3",
        "st3",
        Some("rt3"),
        Some("oslo"),
        ("Oslo", 0),
        T,
    );
    log += &imp(
        d1,
        "t4",
        Some("st4"),
        Some("rt4"),
        "vi",
        &["Vienna"],
        &format!("{T},\"took_us\":10000"),
    );
    log += &imp(
        d1 + 1,
        "t5",
        Some("st5"),
        Some("rt5"),
        "wa",
        &["Warsaw"],
        &format!("{T},\"took_us\":10000"),
    );
    log += &click(d1 + 2, "t5", "st5", None, None, ("Łódź", 2), T);
    log += &imp(
        d1 + 3,
        "t6",
        Some("st6"),
        Some("rt6"),
        "zu",
        &["Zürich"],
        &format!("{T},\"took_us\":40000"),
    );
    // skipped
    for u in ["o1", "o2", "o3"] {
        log += &imp(
            T0,
            u,
            None,
            Some("ro"),
            "a",
            &["A"],
            ",\"experiment\":\"other\",\"variant\":\"x\"",
        );
    }
    log += &imp(
        T0,
        "n1",
        None,
        Some("rn"),
        "a",
        &["A"],
        ",\"variant\":\"control\"",
    );
    log += &imp(
        T0,
        "v1",
        None,
        Some("rv"),
        "a",
        &["A"],
        ",\"experiment\":\"exp1\"",
    );
    log
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn json_of(args: &[&str]) -> Value {
    let out = cli().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn close(v: &Value, expected: f64, tol: f64) {
    let got = v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    assert!(
        (got - expected).abs() <= tol,
        "got {got}, expected {expected}"
    );
}

fn arm<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["arms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap()
}

#[test]
fn figures_match_the_hand_computation() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "events.ndjson", &fixed_log());
    // One bad line: refused at the default --max-errors 0, named by file and line.
    cli()
        .args(["report", s(&log), "--experiment", "exp1", "--json"])
        .assert()
        .failure()
        .stderr(contains("events.ndjson:3: not valid JSON"))
        .stderr(contains("--max-errors 1"));
    let r = json_of(&[
        "report",
        s(&log),
        "--experiment",
        "exp1",
        "--json",
        "--max-errors",
        "1",
        "--max-error-share",
        "0.2",
    ]);
    assert_eq!(r["events"], 20);
    assert_eq!(r["skipped"]["other_experiment"], 4);
    assert_eq!(r["skipped"]["no_variant"], 1);
    assert_eq!(r["skipped"]["bad_lines"], 1);
    assert_eq!(r["control"], "control");
    assert_eq!(r["users_in_several_arms"], 0);

    let c = arm(&r, "control");
    assert_eq!(
        (c["users"].as_u64(), c["sessions"].as_u64()),
        (Some(4), Some(5))
    );
    assert_eq!(
        (c["impressions"].as_u64(), c["clicks"].as_u64()),
        (Some(6), Some(2))
    );
    close(&c["ctr"], 2.0 / 6.0, 1e-12);
    close(&c["mrr"], 1.0, 1e-12);
    close(&c["keystrokes_saved"], 5.0, 1e-12);
    close(&c["zero_suggestion_rate"], 1.0 / 6.0, 1e-12);
    close(&c["error_share"], 1.0 / 6.0, 1e-12);
    close(&c["latency_p50_ms"], 3.0, 1e-12);
    close(&c["latency_p95_ms"], 5.0, 1e-12);

    let t = arm(&r, "treatment");
    assert_eq!(
        (t["users"].as_u64(), t["sessions"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(
        (t["impressions"].as_u64(), t["clicks"].as_u64()),
        (Some(6), Some(5))
    );
    close(&t["ctr"], 0.5, 1e-12);
    close(&t["mrr"], 0.766_666_7, 1e-6);
    close(&t["keystrokes_saved"], 2.8, 1e-12);
    close(&t["zero_suggestion_rate"], 0.0, 0.0);
    close(&t["latency_p50_ms"], 10.0, 1e-12);
    close(&t["latency_p95_ms"], 40.0, 1e-12);

    let cmp = &r["comparisons"][0];
    assert_eq!(
        (cmp["arm"].as_str(), cmp["control"].as_str()),
        (Some("treatment"), Some("control"))
    );
    close(&cmp["diff"], 0.166_666_7, 1e-6);
    close(&cmp["ci_low"], -0.383_185, 1e-6);
    close(&cmp["ci_high"], 0.716_518, 1e-6);
    close(&cmp["z"], 0.585_540, 1e-6);
    close(&cmp["p_value"], 0.558_185, 1e-6);

    close(&r["srm"]["chi_square"], 0.4, 1e-12);
    assert_eq!(r["srm"]["df"], 1);
    close(&r["srm"]["p_value"], 0.527_089, 1e-6);
    assert_eq!(r["srm"]["flagged"], false);

    // Control: 5 ms ≤ 35, 1/6 ≤ 0.2; treatment: 40 ms > 35, 0 ≤ 0.2.
    let g = &r["guardrails"];
    assert_eq!(
        (
            g[0]["arm"].as_str(),
            g[0]["latency_p95"].as_str(),
            g[0]["error_share"].as_str()
        ),
        (Some("control"), Some("pass"), Some("pass"))
    );
    assert_eq!(
        (
            g[1]["arm"].as_str(),
            g[1]["latency_p95"].as_str(),
            g[1]["error_share"].as_str()
        ),
        (Some("treatment"), Some("fail"), Some("pass"))
    );

    let days = |i: usize| r["daily"][i]["days"].as_array().unwrap().clone();
    let (cd, td) = (days(0), days(1));
    assert_eq!(
        (cd[0]["day"].as_str(), cd[1]["day"].as_str()),
        (Some("2025-12-02"), Some("2025-12-03"))
    );
    close(&cd[0]["ctr"], 1.0 / 3.0, 1e-12);
    close(&cd[1]["ctr"], 1.0 / 3.0, 1e-12);
    close(&td[0]["ctr"], 1.0, 1e-12);
    close(&td[1]["ctr"], 0.0, 0.0);
}

#[test]
fn table_names_the_arms_and_failed_guardrails() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "events.ndjson", &fixed_log());
    // Exit status 0 although guardrails fail (control's error share 1/6 > 0.01).
    cli()
        .args([
            "report",
            s(&log),
            "--experiment",
            "exp1",
            "--max-errors",
            "1",
        ])
        .assert()
        .success()
        .stdout(contains("control (control)"))
        .stdout(contains("treatment"))
        .stdout(contains("33.33%"))
        .stdout(contains("50.00%"))
        .stdout(contains("GUARDRAIL FAILED: control, treatment"));
}

#[test]
fn config_sets_control_and_weights() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "events.ndjson", &fixed_log());
    // treatment first: it is the control; weights 60/40 make 6/4 users exactly as expected,
    // and holdout (weight 0) has no users: χ² = 0, p = 1.
    let config = write(
        dir.path(),
        "exp1.json",
        r#"{"experiment":"exp1","arms":[
        {"name":"treatment","index":"i","weight":60},{"name":"control","index":"i","weight":40},
        {"name":"holdout","holdout":true,"weight":0}]}"#,
    );
    let r = json_of(&[
        "report",
        s(&log),
        "--config",
        s(&config),
        "--json",
        "--max-errors",
        "1",
    ]);
    assert_eq!(r["control"], "treatment");
    close(&r["srm"]["chi_square"], 0.0, 1e-12);
    close(&r["srm"]["p_value"], 1.0, 1e-12);
    assert_eq!(r["arms"].as_array().unwrap().len(), 3);
    close(&r["comparisons"][0]["diff"], -0.166_666_7, 1e-6);
    // --control wins over the configuration; an unknown one is refused with the arms named.
    let r = json_of(&[
        "report",
        s(&log),
        "--config",
        s(&config),
        "--control",
        "control",
        "--json",
        "--max-errors",
        "1",
    ]);
    assert_eq!(r["control"], "control");
    cli()
        .args([
            "report",
            s(&log),
            "--experiment",
            "exp1",
            "--control",
            "nope",
            "--max-errors",
            "1",
        ])
        .assert()
        .failure()
        .stderr(contains("control, treatment"));
    cli()
        .args([
            "report",
            s(&log),
            "--experiment",
            "exp2",
            "--max-errors",
            "1",
        ])
        .assert()
        .failure()
        .stderr(contains("experiments seen: exp1"));
}

#[test]
fn svg_has_one_polyline_per_arm() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "events.ndjson", &fixed_log());
    let svg = dir.path().join("ctr.svg");
    cli()
        .args([
            "report",
            s(&log),
            "--experiment",
            "exp1",
            "--max-errors",
            "1",
            "--svg",
            s(&svg),
        ])
        .assert()
        .success();
    let text = std::fs::read_to_string(&svg).unwrap();
    assert!(text.starts_with("<svg"), "{text}");
    assert!(text.trim_end().ends_with("</svg>"));
    assert_eq!(text.matches("<polyline").count(), 2);
    assert!(text.contains(">control</text>") && text.contains(">treatment</text>"));
    assert!(text.contains("2025-12-02") && text.contains("day (UTC)"));
}

#[test]
fn plan_prints_the_users_per_arm() {
    // p1 = 0.125, p2 = 0.135, p̄ = 0.13; z(0.975) = 1.959964, z(0.8) = 0.841621:
    // (1.959964·√(2·0.13·0.87) + 0.841621·√(0.125·0.875 + 0.135·0.865))² / 0.01²
    //   = (1.959964·0.475605 + 0.841621·0.475552)² · 10⁴ = 1.332403² · 10⁴ = 17752.99 → 17753.
    cli()
        .args([
            "report",
            "--plan",
            "--baseline-ctr",
            "0.125",
            "--mde",
            "0.01",
        ])
        .assert()
        .success()
        .stdout(contains("17753 users per arm"))
        .stdout(contains("one impression per user"));
    cli()
        .args(["report", "--plan", "--baseline-ctr", "1.5", "--mde", "0.01"])
        .assert()
        .failure()
        .stderr(contains("--baseline-ctr"));
}

#[test]
fn a_directory_is_the_list_of_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixed_log();
    let lines: Vec<&str> = log.lines().collect();
    let (first, second) = lines.split_at(12);
    let root = dir.path().join("r2");
    let a = write(
        &root,
        "events/2025/12/02/00/00/a.ndjson",
        &(first.join("\n") + "\n"),
    );
    let b = root.join("events/2025/12/02/00/01/b.ndjson.gz");
    std::fs::create_dir_all(b.parent().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all((second.join("\n") + "\n").as_bytes()).unwrap();
    std::fs::write(&b, gz.finish().unwrap()).unwrap();
    write(&root, "events/README.txt", "not events");
    let args = |inputs: Vec<&str>| {
        let mut v = vec![
            "report",
            "--experiment",
            "exp1",
            "--json",
            "--max-errors",
            "1",
        ];
        v.extend(inputs);
        json_of(&v)
    };
    let listed = args(vec![s(&a), s(&b)]);
    assert_eq!(args(vec![s(&root)]), listed);
    assert_eq!(listed["inputs"], 2);
    assert_eq!(listed["events"], 20);
}

/// A small deterministic generator (xorshift64*), so the oracle needs no crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n
    }
}

#[test]
fn random_events_match_a_straightforward_recount() {
    let mut rng = Rng(0x5eed_1234_abcd);
    let mut log = String::new();
    // Oracle state: per arm, impressions (arm, rid), clicks, users; clicked (arm, rid) pairs.
    let mut impressions: HashMap<String, Vec<Option<u64>>> = HashMap::new();
    let mut clicks: HashMap<String, u64> = HashMap::new();
    let mut users: HashMap<String, HashSet<u64>> = HashMap::new();
    let mut clicked: HashSet<(String, u64)> = HashSet::new();
    // More lines than one batch (4096), so batches decoded by either thread are checked; a
    // minute apart, so a response id's impressions fall on several days.
    for i in 0..9000u64 {
        let arm = ["A", "B", "C"][rng.next(3) as usize].to_string();
        let user = rng.next(300);
        let rid = (rng.next(10) > 0).then(|| rng.next(800));
        let ours = rng.next(10) > 0;
        let exp = if ours { "exp1" } else { "other" };
        let rid_field = rid.map_or(String::new(), |r| format!(",\"response_id\":\"r{r}\""));
        let base = format!("\"ts\":{},\"user\":\"u{user}\",\"experiment\":\"{exp}\",\"variant\":\"{arm}\"{rid_field}", T0 + i * 60_000);
        if rng.next(3) == 0 {
            log += &line(&format!(
                "{base},\"type\":\"click\",\"text\":\"x\",\"position\":{}",
                rng.next(5)
            ));
            if ours {
                *clicks.entry(arm.clone()).or_default() += 1;
                if let Some(r) = rid {
                    clicked.insert((arm.clone(), r));
                }
            }
        } else {
            log += &line(&format!(
                "{base},\"type\":\"impression\",\"suggestions\":[\"x\"]"
            ));
            if ours {
                impressions.entry(arm.clone()).or_default().push(rid);
            }
        }
        if ours {
            users.entry(arm).or_default().insert(user);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "random.ndjson", &log);
    let r = json_of(&["report", s(&path), "--experiment", "exp1", "--json"]);
    for name in ["A", "B", "C"] {
        let a = arm(&r, name);
        let imps = &impressions[name];
        let hits = imps
            .iter()
            .filter(|rid| rid.is_some_and(|r| clicked.contains(&(name.to_string(), r))))
            .count() as u64;
        assert_eq!(a["impressions"].as_u64(), Some(imps.len() as u64), "{name}");
        assert_eq!(a["clicks"].as_u64(), Some(clicks[name]), "{name}");
        assert_eq!(
            a["users"].as_u64(),
            Some(users[name].len() as u64),
            "{name}"
        );
        assert_eq!(a["clicked_impressions"].as_u64(), Some(hits), "{name}");
        close(&a["ctr"], hits as f64 / imps.len() as f64, 1e-12);
    }
}
