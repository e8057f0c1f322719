//! The aggregation against hand-computed values and a brute-force oracle (`common`).

mod common;

use std::path::PathBuf;

use common::*;
use edgesuggest_signals::Params;

fn day_params() -> Params {
    Params {
        half_life_ms: DAY,
        ..Params::default()
    }
}

/// One run over `events` in a fresh directory; returns (dir, rows, explain lines).
fn run_events(
    events: &[Ev],
    params: Params,
    now: Option<u64>,
) -> (tempfile::TempDir, String, Vec<ExplainLine>) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    write_events(&input, events);
    let mut opts = options(dir.path(), vec![input], params);
    opts.now = now;
    run_with(&opts).unwrap();
    let rows = read(&dir.path().join("rows.tsv"));
    let explain = parse_explain(&read(&dir.path().join("explain.tsv")));
    (dir, rows, explain)
}

fn line_of<'a>(explain: &'a [ExplainLine], display: &str) -> &'a ExplainLine {
    explain
        .iter()
        .find(|l| l.display == display)
        .unwrap_or_else(|| panic!("no line for {display}"))
}

#[test]
fn half_life_one_day_searches_at_t_minus_one_day_and_t_give_one_and_a_half() {
    let t = T0 + 10 * DAY;
    let events = [search(t - DAY, "a", "Paris"), search(t, "a", "paris")];
    let params = Params {
        min_users: 1,
        ..day_params()
    };
    let (_dir, rows, explain) = run_events(&events, params, None);
    let line = line_of(&explain, "Paris");
    assert_eq!(line.fields["popularity"], "1.5");
    // Never shown: ctr = m, score = round(1.5 · 1000).
    assert_eq!(line.fields["ctr"], "0.05");
    assert_eq!(rows, "Paris\t1500\n");
}

#[test]
fn decay_reads_at_now() {
    // Two searches at T0, read two half-lives later: 2 · 1/4 = 0.5.
    let events = [search(T0, "a", "rome"), search(T0, "b", "rome")];
    let params = Params {
        min_users: 1,
        min_count: 0.0,
        ..day_params()
    };
    let (_dir, rows, explain) = run_events(&events, params, Some(T0 + 2 * DAY));
    assert_eq!(line_of(&explain, "rome").fields["popularity"], "0.5");
    assert_eq!(rows, "rome\t500\n");
}

#[test]
fn ctr_formula_by_hand() {
    // pop 3, 10 impressions, 4 clicks, all at T: ctr = (4+1)/(10+20) = 1/6, m = 0.05,
    // score = round(3 · sqrt((1/6)/0.05) · 1000) = round(5477.2256) = 5477.
    let mut events: Vec<Ev> = ["a", "b", "c"]
        .iter()
        .map(|u| search(T0, u, "lyon"))
        .collect();
    events.extend((0..10).map(|i| impression(T0, &format!("v{i}"), &["Lyon", "LYON", "x y"])));
    events.extend((0..4).map(|i| click(T0, &format!("v{i}"), "lyon")));
    let (_dir, rows, explain) = run_events(&events, day_params(), None);
    let line = line_of(&explain, "lyon");
    assert_eq!(line.fields["impressions"], "10");
    assert_eq!(line.fields["clicks"], "4");
    let ctr: f64 = line.fields["ctr"].parse().unwrap();
    assert!((ctr - 1.0 / 6.0).abs() < 1e-15);
    assert_eq!(rows, "lyon\t5477\n");
    // w = 0 disables CTR.
    let params = Params {
        ctr_weight: 0.0,
        ..day_params()
    };
    let (_dir, rows, _) = run_events(&events, params, None);
    assert_eq!(rows, "lyon\t3000\n");
}

#[test]
fn privacy_two_users_never_three_do() {
    let mut events = Vec::new();
    for i in 0..50 {
        events.push(search(
            T0 + i,
            if i % 2 == 0 { "a" } else { "b" },
            "secret diagnosis",
        ));
    }
    // Many searches over days: the spam cap lets each count once a day.
    for d in 1..5 {
        events.push(search(T0 + d * DAY, "a", "secret diagnosis"));
        events.push(search(T0 + d * DAY, "b", "secret diagnosis"));
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    write_events(&input, &events);
    let mut opts = options(dir.path(), vec![input.clone()], Params::default());
    opts.changes = Some(dir.path().join("changes.ndjson"));
    run_with(&opts).unwrap();
    let explain = read(&dir.path().join("explain.tsv"));
    assert_eq!(read(&dir.path().join("rows.tsv")), "");
    assert_eq!(read(&dir.path().join("changes.ndjson")), "");
    assert!(
        explain.starts_with("SKIP\tsecret diagnosis\tmin-users\t"),
        "{explain}"
    );
    assert!(
        explain
            .trim_end()
            .ends_with("users=2 impressions=0 clicks=0 ctr=0.05 min-users=3"),
        "{explain}"
    );
    // A third user: now it shows, in rows, changes and explain.
    let third = dir.path().join("f.ndjson");
    write_events(&third, &[search(T0 + 4 * DAY + 1, "c", "Secret Diagnosis")]);
    opts.inputs = vec![third];
    run_with(&opts).unwrap();
    let rows = read(&dir.path().join("rows.tsv"));
    assert!(rows.starts_with("secret diagnosis\t"), "{rows}");
    assert!(read(&dir.path().join("changes.ndjson"))
        .contains("\"op\":\"upsert\",\"phrase\":\"secret diagnosis\""));
    assert!(read(&dir.path().join("explain.tsv")).starts_with("INCLUDE\tsecret diagnosis\t"));
}

#[test]
fn exclusion_by_regex_prefix_and_exact() {
    let phrases = [
        "bad word here",
        "Free Money",
        "freebies",
        "Exact Phrase",
        "exact phrase two",
        "fine",
    ];
    let mut events = Vec::new();
    for p in phrases {
        for u in ["a", "b", "c"] {
            events.push(search(T0, u, p));
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("e.ndjson");
    write_events(&input, &events);
    let exclude = dir.path().join("exclude.txt");
    std::fs::write(&exclude, "# rules\n\n/bad.*here/\nFREE*\nexact   PHRASE\n").unwrap();
    let mut opts = options(dir.path(), vec![input], Params::default());
    opts.exclude = Some(exclude.clone());
    run_with(&opts).unwrap();
    let rows: Vec<String> = parse_rows(&read(&dir.path().join("rows.tsv")))
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(rows, ["exact phrase two", "fine"]);
    let explain = parse_explain(&read(&dir.path().join("explain.tsv")));
    for (display, rule_line) in [
        ("bad word here", "3"),
        ("Free Money", "4"),
        ("freebies", "4"),
        ("Exact Phrase", "5"),
    ] {
        let line = line_of(&explain, display);
        assert_eq!(
            (line.verdict.as_str(), line.third.as_str()),
            ("SKIP", "excluded")
        );
        assert_eq!(line.fields["exclude-line"], rule_line, "{line:?}");
    }
    // A bad regex names file:line and writes nothing.
    std::fs::write(&exclude, "ok\n/(unclosed/\n").unwrap();
    std::fs::remove_file(dir.path().join("rows.tsv")).unwrap();
    let err = run_with(&opts).unwrap_err();
    assert!(err.contains(&format!("{}:2:", exclude.display())), "{err}");
    assert!(!dir.path().join("rows.tsv").exists());
}

#[test]
fn spam_cap_one_count_per_user_key_day() {
    let mut events: Vec<Ev> = (0..100)
        .map(|i| search(T0 + i * 1000, "spammer", "buy now"))
        .collect();
    let params = Params {
        min_users: 1,
        ..day_params()
    };
    let (_dir, _rows, explain) = run_events(&events, params.clone(), Some(T0 + 99_000));
    let pop: f64 = line_of(&explain, "buy now").fields["popularity"]
        .parse()
        .unwrap();
    let expected = 2f64.powf(-99_000.0 / DAY as f64);
    assert!((pop - expected).abs() < 1e-12, "{pop} vs {expected}");
    // The next day counts again, once.
    events.extend((0..100).map(|i| search(T0 + DAY + i, "spammer", "buy now")));
    let now = T0 + DAY + 99;
    let (_dir, _rows, explain) = run_events(&events, params, Some(now));
    let pop: f64 = line_of(&explain, "buy now").fields["popularity"]
        .parse()
        .unwrap();
    let expected = 2f64.powf(-((now - T0) as f64) / DAY as f64) + 2f64.powf(-99.0 / DAY as f64);
    assert!((pop - expected).abs() < 1e-12, "{pop} vs {expected}");
}

#[test]
fn late_events_and_zero_results_and_display_forms() {
    let events = [
        search(T0 + 3 * DAY, "a", "Kyoto"),
        search(T0 + DAY, "b", "kyoto"), // day 1 < day 3 − 1: late
        search(T0 + 2 * DAY, "c", "KYOTO  "), // day 2: not late
        search(T0 + 2 * DAY, "d", "  kyoto"),
        Ev::Search {
            ts: T0 + 3 * DAY,
            user: "e".into(),
            q: "kyoto".into(),
            results: Some(0),
        },
    ];
    let params = Params {
        min_users: 1,
        ..day_params()
    };
    let (_dir, _rows, explain) = run_events(&events, params, None);
    let line = &explain[0];
    // Forms: Kyoto 1, KYOTO 1, kyoto 1: ties go to the smallest bytes.
    assert_eq!(line.display, "KYOTO");
    assert_eq!(line.fields["users"], "3");
    assert_eq!(line.fields["popularity"], "2");
}

#[test]
fn brute_force_oracle_matches_rows_and_explain() {
    for seed in 1..=4 {
        let events = random_events(seed, 3000, T0, 3 * DAY, 12);
        let params = Params {
            half_life_ms: 12 * HOUR,
            ..Params::default()
        };
        let now = watermark(&events) + seed * HOUR;
        let (_dir, rows, explain) = run_events(&events, params.clone(), Some(now));
        let oracle = oracle(&events);
        let mut expected = Vec::new();
        assert_eq!(explain.len(), oracle.len(), "one explain line per key");
        for (line, (key, k)) in explain.iter().zip(&oracle) {
            let (display, pop, score, gate) = judge(key, k, now, &params, params.min_count);
            assert_eq!(line.display, display, "{key}");
            let got: f64 = line.fields["popularity"].parse().unwrap();
            assert!(
                (got - pop).abs() <= 1e-9 * pop.abs().max(1e-300),
                "{key}: {got} vs {pop}"
            );
            assert_eq!(line.fields["users"], k.users.len().to_string(), "{key}");
            match gate {
                None => {
                    assert_eq!(line.verdict, "INCLUDE", "{key}");
                    let got: u64 = line.third.parse().unwrap();
                    assert!(got.abs_diff(score) <= 1, "{key}: {got} vs {score}");
                    expected.push((display, score, key.clone()));
                }
                Some(reason) => assert_eq!(
                    (line.verdict.as_str(), line.third.as_str()),
                    ("SKIP", reason),
                    "{key}"
                ),
            }
        }
        assert!(!expected.is_empty());
        expected.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.2.cmp(&b.2)));
        let got = parse_rows(&rows);
        assert_eq!(got.len(), expected.len());
        for ((gd, gs), (ed, es, _)) in got.iter().zip(&expected) {
            assert_eq!(gd, ed);
            assert!(gs.abs_diff(*es) <= 1);
        }
    }
}

#[test]
fn sixty_one_minute_runs_equal_one_run_over_the_hour() {
    let events = random_events(42, 6000, T0 + 5 * HOUR, HOUR, 40);
    let base = tempfile::tempdir().unwrap();
    let mut files: Vec<PathBuf> = Vec::new();
    for minute in 0..60u64 {
        // Batches by arrival order: a minute's file holds the events logged in that minute.
        let batch: Vec<Ev> = events
            .iter()
            .enumerate()
            .filter(|(i, _)| (*i as u64 * 60 / events.len() as u64) == minute)
            .map(|(_, e)| e.clone())
            .collect();
        let path = base.path().join(format!("m{minute:02}.ndjson"));
        write_events(&path, &batch);
        files.push(path);
    }
    let params = Params {
        min_users: 2,
        ..Params::default()
    };
    let inc = base.path().join("inc");
    let all = base.path().join("all");
    std::fs::create_dir_all(&inc).unwrap();
    std::fs::create_dir_all(&all).unwrap();
    for file in &files {
        let mut opts = options(&inc, vec![file.clone()], params.clone());
        opts.changes = Some(inc.join("changes.ndjson"));
        run_with(&opts).unwrap();
    }
    run_with(&options(&all, files.clone(), params)).unwrap();
    let rows = read(&inc.join("rows.tsv"));
    assert!(rows.lines().count() > 5, "{rows}");
    assert_eq!(rows, read(&all.join("rows.tsv")));
    assert_eq!(
        read(&inc.join("explain.tsv")),
        read(&all.join("explain.tsv"))
    );
}

#[test]
fn gzip_input_reads_like_plain() {
    use std::io::Write;
    let events: Vec<Ev> = ["a", "b", "c"]
        .iter()
        .map(|u| search(T0, u, "Gdańsk"))
        .collect();
    let (_plain_dir, plain_rows, _) = run_events(&events, Params::default(), None);
    let dir = tempfile::tempdir().unwrap();
    let text: String = events.iter().map(|e| e.line() + "\n").collect();
    let gz = dir.path().join("events.ndjson.gz");
    let mut encoder = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap();
    run_with(&options(dir.path(), vec![gz], Params::default())).unwrap();
    assert_eq!(read(&dir.path().join("rows.tsv")), plain_rows);
    assert_eq!(plain_rows, "Gdańsk\t3000\n");
}

#[test]
fn parquet_input_aggregates_like_ndjson() {
    // More events than one batch holds: batches go between threads and come back for reuse.
    let events = random_events(7, 10_000, T0, 2 * DAY, 30);
    let dir = tempfile::tempdir().unwrap();
    let ndjson = dir.path().join("events.ndjson");
    let parquet = dir.path().join("events.parquet");
    write_events(&ndjson, &events);
    let typed: Vec<_> = events.iter().map(Ev::event).collect();
    edgesuggest_signals::parquet::write_events(&parquet, &typed).unwrap();
    let params = Params {
        min_users: 2,
        ..Params::default()
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    run_with(&options(&a, vec![ndjson], params.clone())).unwrap();
    run_with(&options(&b, vec![parquet], params)).unwrap();
    let rows = read(&a.join("rows.tsv"));
    assert!(rows.lines().count() > 5, "{rows}");
    assert_eq!(rows, read(&b.join("rows.tsv")));
    assert_eq!(read(&a.join("explain.tsv")), read(&b.join("explain.tsv")));
}

#[test]
fn parquet_rows_output_holds_the_tsv_rows_and_their_signals() {
    let events = random_events(9, 3000, T0, DAY, 25);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("events.ndjson");
    write_events(&input, &events);
    let params = Params {
        min_users: 2,
        ..Params::default()
    };
    let mut opts = options(dir.path(), vec![input], params);
    run_with(&opts).unwrap();
    let tsv = parse_rows(&read(&dir.path().join("rows.tsv")));
    let out = dir.path().join("rows.parquet");
    opts.rows = Some(out.clone());
    opts.state_dir = dir.path().join("fresh");
    std::fs::create_dir_all(&opts.state_dir).unwrap();
    run_with(&opts).unwrap();
    let mut from_parquet = Vec::new();
    edgesuggest_signals::parquet::read_rows::<edgesuggest_signals::SignalsError>(
        &out,
        &mut |_, row| {
            let row = row.expect("a good row");
            from_parquet.push((row.phrase, row.score));
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(from_parquet, tsv);
}
