//! `edgesuggest serve` over real HTTP: answers equal the CLI's for held-out queries, bad
//! requests get 4xx JSON, reloads under load fail no request, the first load is shared by the
//! requests waiting for it, metrics count what happened, SIGTERM stops it cleanly.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("edgesuggest")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs the CLI, failing the test with its stderr when it fails.
fn cli(args: &[&str]) -> String {
    let out = Command::new(bin()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "edgesuggest {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A running server, killed when dropped.
struct Server {
    child: Child,
    addr: String,
    /// Its stderr: the JSON log lines.
    log: tempfile::NamedTempFile,
}

impl Server {
    /// Starts `serve DIR` on a free port and waits for its "listening" line.
    fn start(dir: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = Command::new(bin());
        cmd.arg("serve")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0", "--reload-seconds", "0.05"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line
            .trim()
            .rsplit("http://")
            .next()
            .filter(|a| a.contains(':'))
            .unwrap_or_else(|| panic!("no listening line: {line:?}"))
            .to_string();
        Server { child, addr, log }
    }

    fn get(&self, target: &str) -> Answer {
        request(&self.addr, "GET", target, &[])
    }

    /// Waits until `ready` holds for an answer to `target` (at most 20 s).
    fn wait_for(&self, target: &str, ready: impl Fn(&Answer) -> bool) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answer = self.get(target);
            if ready(&answer) {
                return answer;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting: {target} → {answer:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

/// A plain HTTP/1.1 exchange over a fresh connection: the test's own client, independent of
/// the server's stack.
fn request(addr: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    parse_answer(&String::from_utf8(raw).unwrap())
}

fn parse_answer(raw: &str) -> Answer {
    let (head, body) = raw.split_once("\r\n\r\n").expect("a complete answer");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: body.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Builds `rows` (phrase, score) into `path`.
fn build(dir: &Path, rows: &[(&str, u64)], path: &Path) {
    let tsv = dir.join("rows.tsv");
    let text: String = rows.iter().map(|(p, s)| format!("{p}\t{s}\n")).collect();
    std::fs::write(&tsv, text).unwrap();
    cli(&[
        "build",
        "-q",
        tsv.to_str().unwrap(),
        "-o",
        path.to_str().unwrap(),
    ]);
}

/// Replaces `path` the way a publisher should: write beside it, then rename over it.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Held-out queries: prefixes (1–7 characters, some with a typo or a trailing space) of every
/// `step`th phrase of the data, which no test was tuned on.
fn held_out_queries(data: &Path, step: usize) -> Vec<String> {
    let text = std::fs::read_to_string(data).unwrap();
    let mut queries = Vec::new();
    for (i, line) in text.lines().enumerate().step_by(step) {
        let phrase: Vec<char> = line.split('\t').next().unwrap().chars().collect();
        let len = 1 + i % 7;
        let mut q: String = phrase.iter().take(len).collect();
        match i % 5 {
            0 => q = q.to_uppercase(),
            1 if q.chars().count() > 3 => q = q.chars().rev().collect(),
            2 => q.push(' '),
            _ => {}
        }
        queries.push(q);
    }
    queries
}

/// Every held-out query through HTTP equals `edgesuggest query --batch` for the same index
/// and options: one plain segment, and a published manifest (base + delta + blocklist).
#[test]
fn held_out_queries_equal_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let data = repo_root().join("data/cities-10k.tsv");
    let store = dir.path().join("kv/store");
    let seg = dir.path().join("cities.seg");
    cli(&[
        "build",
        "-q",
        "--word-starts",
        data.to_str().unwrap(),
        "-o",
        seg.to_str().unwrap(),
    ]);
    publish_stack(dir.path(), &seg);
    std::fs::copy(&seg, store.join("cities.seg")).unwrap();
    let queries = held_out_queries(&data, 41);
    assert!(queries.len() > 200, "{} queries", queries.len());
    let batch = dir.path().join("queries.txt");
    std::fs::write(&batch, queries.join("\n") + "\n").unwrap();
    let server = Server::start(&store, &["--default-index", "cities"], &[]);
    let manifest = store.join("manifest/stacked.json");
    let cases: [(&str, &[&str], &str); 4] = [
        ("cities", &["-k", "10"], "&k=10"),
        ("cities", &["-k", "5", "--fuzzy", "auto"], "&k=5&fuzzy=auto"),
        (
            "cities",
            &["-k", "7", "--cat", "capital", "--no-exact-first"],
            "&k=7&cat=capital&exact_first=false",
        ),
        ("stacked", &["-k", "10", "--fuzzy", "1"], "&k=10&fuzzy=1"),
    ];
    for (index, options, params) in cases {
        let mut args = match index {
            "cities" => vec!["query", seg.to_str().unwrap()],
            _ => vec!["query", "--manifest", manifest.to_str().unwrap()],
        };
        args.extend(["--batch", batch.to_str().unwrap()]);
        args.extend(options);
        let expected = cli(&args);
        for (line, query) in expected.lines().zip(&queries) {
            let want: Value = serde_json::from_str(line).unwrap();
            let index_param = if index == "cities" {
                String::new()
            } else {
                format!("&index={index}")
            };
            let got = server.get(&format!(
                "/v1/suggest?q={}{params}{index_param}",
                encode(query)
            ));
            assert_eq!(got.status, 200, "{query:?}: {}", got.body);
            let got = got.json();
            assert_eq!(
                got["suggestions"], want["suggestions"],
                "{index} {query:?} {params}"
            );
            assert_eq!(got["truncated"], want["truncated"], "{query:?}");
            assert_eq!(got["query"], Value::from(query.as_str()));
            assert_eq!(got["index"], Value::from(index));
        }
    }
}

/// The same on the real data sets of `../shared/data` (skipped when absent): every held-out
/// query, plain and with typos, equals the CLI's answer.
#[test]
fn held_out_queries_on_shared_data_equal_the_cli() {
    let shared = repo_root().join("../shared/data");
    if !shared.is_dir() {
        eprintln!(
            "SKIPPED held_out_queries_on_shared_data_equal_the_cli: ../shared/data is absent"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for name in ["npm", "wordfreq-multilang"] {
        let data = shared.join(format!("{name}.tsv"));
        let seg = dir.path().join(format!("{name}.seg"));
        cli(&[
            "build",
            "-q",
            "--word-starts",
            "--max-errors", // a few word-list rows normalize to nothing
            "100",
            data.to_str().unwrap(),
            "-o",
            seg.to_str().unwrap(),
        ]);
    }
    let server = Server::start(dir.path(), &[], &[]);
    server.wait_for("/v1/health", |a| a.json()["status"] == "ok");
    for name in ["npm", "wordfreq-multilang"] {
        let queries = held_out_queries(&shared.join(format!("{name}.tsv")), 997);
        let batch = dir.path().join(format!("{name}-queries.txt"));
        std::fs::write(&batch, queries.join("\n") + "\n").unwrap();
        let seg = dir.path().join(format!("{name}.seg"));
        for (options, params) in [
            (&["-k", "10"][..], "&k=10"),
            (&["-k", "8", "--fuzzy", "auto"][..], "&k=8&fuzzy=auto"),
        ] {
            let mut args = vec![
                "query",
                seg.to_str().unwrap(),
                "--batch",
                batch.to_str().unwrap(),
            ];
            args.extend(options);
            let expected = cli(&args);
            assert_eq!(expected.lines().count(), queries.len());
            for (line, query) in expected.lines().zip(&queries) {
                let want: Value = serde_json::from_str(line).unwrap();
                let got = server.get(&format!(
                    "/v1/suggest?q={}&index={name}{params}",
                    encode(query)
                ));
                assert_eq!(got.status, 200, "{query:?}: {}", got.body);
                assert_eq!(
                    got.json()["suggestions"],
                    want["suggestions"],
                    "{name} {query:?} {params}"
                );
            }
        }
    }
}

/// Publishes `base` with a delta and a blocklist as index `stacked` into `dir/kv`.
fn publish_stack(dir: &Path, base: &Path) {
    let changes = dir.join("changes.ndjson");
    std::fs::write(
        &changes,
        concat!(
            "{\"op\":\"upsert\",\"phrase\":\"Sanctuary Bay\",\"score\":99999999}\n",
            "{\"op\":\"delete\",\"phrase\":\"Santiago\"}\n",
            "{\"op\":\"upsert\",\"phrase\":\"Lagos\",\"score\":1}\n",
        ),
    )
    .unwrap();
    let delta = dir.join("delta.seg");
    cli(&[
        "build",
        "-q",
        "--word-starts",
        "--delta",
        changes.to_str().unwrap(),
        "-o",
        delta.to_str().unwrap(),
    ]);
    let blocklist = dir.join("blocked.txt");
    std::fs::write(&blocklist, "san fran*\nmumbai\n").unwrap();
    let kv = dir.join("kv");
    cli(&[
        "publish",
        base.to_str().unwrap(),
        delta.to_str().unwrap(),
        "--blocklist",
        blocklist.to_str().unwrap(),
        "--index",
        "stacked",
        "--out-dir",
        kv.to_str().unwrap(),
    ]);
    assert!(
        kv.join("store/manifest/stacked.json").is_file(),
        "the store's pointer"
    );
}

/// Bad requests: 4xx with the JSON error body and the parser's code; CORS on every answer.
#[test]
fn bad_requests_get_4xx_json() {
    let dir = tempfile::tempdir().unwrap();
    build(
        dir.path(),
        &[("alpha", 3), ("beta", 2)],
        &dir.path().join("one.seg"),
    );
    build(dir.path(), &[("gamma", 1)], &dir.path().join("two.seg"));
    let server = Server::start(dir.path(), &[], &[]);
    server.wait_for("/v1/health", |a| {
        a.json()["status"] == "ok" && a.json()["serves"].as_array().map_or(0, |s| s.len()) == 2
    });
    let long = "a".repeat(edgesuggest::MAX_QUERY_BYTES + 1);
    let cases: Vec<(String, &str, u16, &str)> = vec![
        ("/v1/suggest?index=one".into(), "GET", 400, "missing_q"),
        ("/v1/suggest?q=a&index=one&k=0".into(), "GET", 400, "bad_k"),
        (
            "/v1/suggest?q=a&index=one&k=2.5".into(),
            "GET",
            400,
            "bad_k",
        ),
        (
            "/v1/suggest?q=%zz&index=one".into(),
            "GET",
            400,
            "bad_encoding",
        ),
        (
            "/v1/suggest?q=%FF&index=one".into(),
            "GET",
            400,
            "bad_encoding",
        ),
        (
            "/v1/suggest?q=a&q=b&index=one".into(),
            "GET",
            400,
            "duplicate_parameter",
        ),
        (
            "/v1/suggest?q=a&index=one&fuzzy=7".into(),
            "GET",
            400,
            "bad_fuzzy",
        ),
        (
            format!("/v1/suggest?q={long}&index=one"),
            "GET",
            400,
            "q_too_long",
        ),
        (
            format!("/v1/suggest?q={}&index=one", encode(&"\u{FDFA}".repeat(60))),
            "GET",
            400,
            "q_too_long",
        ),
        ("/v1/suggest?q=a".into(), "GET", 400, "missing_index"),
        (
            "/v1/suggest?q=a&index=three".into(),
            "GET",
            404,
            "unknown_index",
        ),
        (
            "/v1/suggest?q=a&index=..%2Fone".into(),
            "GET",
            404,
            "unknown_index",
        ),
        ("/nowhere".into(), "GET", 404, "not_found"),
        (
            "/v1/suggest?q=a&index=one".into(),
            "POST",
            405,
            "method_not_allowed",
        ),
        (
            "/v1/suggest?q=a&index=one".into(),
            "DELETE",
            405,
            "method_not_allowed",
        ),
    ];
    for (target, method, status, code) in cases {
        let answer = request(
            &server.addr,
            method,
            &target,
            &[("Origin", "https://shop.example")],
        );
        assert_eq!(answer.status, status, "{method} {target}: {}", answer.body);
        assert_eq!(answer.json()["error"]["code"], code, "{method} {target}");
        assert!(answer.json()["error"]["message"].as_str().unwrap().len() > 10);
        assert_eq!(
            answer.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        assert_eq!(
            answer.header("access-control-allow-origin"),
            Some("*"),
            "{target}"
        );
    }
    let ok = server.get("/v1/suggest?q=AL&index=one");
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["suggestions"][0]["text"], "alpha");
    assert_eq!(
        ok.json()["suggestions"][0]["highlight"],
        serde_json::json!([0, 2])
    );
    let preflight = request(
        &server.addr,
        "OPTIONS",
        "/v1/suggest",
        &[("Origin", "https://x.example")],
    );
    assert_eq!(preflight.status, 204);
    assert_eq!(
        preflight.header("access-control-allow-methods"),
        Some("GET, POST, OPTIONS")
    );
}

/// Two client threads query without pause while the index file is replaced by a new version,
/// then by a corrupt file, then by a third version: every request succeeds, each answer is
/// wholly one version's, the corrupt file leaves the last good version serving and is
/// counted, and the third version is served.
#[test]
fn reloads_under_load_fail_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.seg");
    let versions: Vec<PathBuf> = (1..=3)
        .map(|v| dir.path().join(format!("v{v}.seg")))
        .collect();
    for (v, path) in versions.iter().enumerate() {
        let rows: Vec<(String, u64)> = (0..200)
            .map(|i| (format!("word {i} of v{}", v + 1), 1000 - i))
            .collect();
        let rows: Vec<(&str, u64)> = rows.iter().map(|(p, s)| (p.as_str(), *s)).collect();
        build(dir.path(), &rows, path);
    }
    std::fs::copy(&versions[0], &live).unwrap();
    let server = Server::start(dir.path().join("").as_path(), &[], &[]);
    server.wait_for("/v1/health", |a| a.json()["status"] == "ok");
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..2)
        .map(|_| {
            let (addr, stop, seen) = (server.addr.clone(), stop.clone(), seen.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let a = request(&addr, "GET", "/v1/suggest?q=word+1&index=live&k=3", &[]);
                    seen.lock().unwrap().push((a.status, a.body));
                }
            })
        })
        .collect();
    let served_text = |a: &Answer| {
        a.json()["suggestions"][0]["text"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    std::thread::sleep(Duration::from_millis(300));
    replace(&live, &std::fs::read(&versions[1]).unwrap());
    server.wait_for("/v1/suggest?q=word+1&index=live", |a| {
        served_text(a).ends_with("v2")
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut corrupt = std::fs::read(&versions[2]).unwrap();
    let middle = corrupt.len() / 2;
    corrupt[middle] ^= 0x5a;
    replace(&live, &corrupt);
    server.wait_for("/metrics", |a| {
        a.body
            .contains("edgesuggest_reload_failures_total{index=\"live\"} 1")
    });
    let health = server.get("/v1/health").json();
    assert!(
        health["indexes"][0]["last_error"]
            .as_str()
            .unwrap()
            .contains("checksum"),
        "{health}"
    );
    assert!(served_text(&server.get("/v1/suggest?q=word+1&index=live")).ends_with("v2"));
    replace(&live, &std::fs::read(&versions[2]).unwrap());
    server.wait_for("/v1/suggest?q=word+1&index=live", |a| {
        served_text(a).ends_with("v3")
    });
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let seen = seen.lock().unwrap();
    assert!(seen.len() > 50, "only {} requests", seen.len());
    let mut by_version = std::collections::BTreeMap::new();
    for (status, body) in seen.iter() {
        assert_eq!(*status, 200, "{body}");
        let body: Value = serde_json::from_str(body).unwrap();
        let texts: Vec<&str> = body["suggestions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["text"].as_str().unwrap())
            .collect();
        let tag = texts[0].rsplit(' ').next().unwrap().to_string();
        assert!(
            texts.iter().all(|t| t.ends_with(&tag)),
            "a mixed answer: {texts:?}"
        );
        assert_eq!(
            texts,
            [
                format!("word 1 of {tag}"),
                format!("word 10 of {tag}"),
                format!("word 11 of {tag}")
            ]
        );
        by_version
            .entry(tag)
            .or_insert_with(Vec::new)
            .push(body["version"].as_u64().unwrap());
    }
    assert_eq!(
        by_version.keys().collect::<Vec<_>>(),
        ["v1", "v2", "v3"],
        "every version served"
    );
    for versions in by_version.values() {
        assert!(
            versions.windows(2).all(|w| w[0] == w[1]),
            "one version number per file"
        );
    }
}

/// Requests arriving before the first load finishes wait for that one load; a request that
/// cannot wait long enough gets 503 `loading` with `retry-after`.
#[test]
fn the_first_load_is_shared_by_waiting_requests() {
    let dir = tempfile::tempdir().unwrap();
    build(
        dir.path(),
        &[("delta", 5), ("delphi", 4)],
        &dir.path().join("x.seg"),
    );
    let server = Server::start(
        dir.path(),
        &[],
        &[("EDGESUGGEST_SERVE_LOAD_DELAY_MS", "700")],
    );
    let waiters: Vec<_> = (0..16)
        .map(|_| {
            let addr = server.addr.clone();
            std::thread::spawn(move || request(&addr, "GET", "/v1/suggest?q=del", &[]))
        })
        .collect();
    for w in waiters {
        let answer = w.join().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.json()["suggestions"][0]["text"], "delta");
    }
    let metrics = server.get("/metrics").body;
    assert!(
        metrics.contains("edgesuggest_index_loads_total{index=\"x\"} 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("edgesuggest_http_requests_total{route=\"suggest\",status=\"200\"} 16\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("edgesuggest_index_version{index=\"x\"}"),
        "{metrics}"
    );
    assert!(
        metrics.contains("edgesuggest_http_request_duration_seconds_bucket{"),
        "{metrics}"
    );

    let slow = Server::start(
        dir.path(),
        &["--load-wait-seconds", "0.05"],
        &[("EDGESUGGEST_SERVE_LOAD_DELAY_MS", "3000")],
    );
    let answer = slow.get("/v1/suggest?q=del");
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.json()["error"]["code"], "loading");
    assert_eq!(answer.header("retry-after"), Some("5"));
}

/// SIGTERM: the server stops accepting, finishes, and exits 0.
#[cfg(unix)]
#[test]
fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    build(dir.path(), &[("omega", 1)], &dir.path().join("z.seg"));
    let mut server = Server::start(dir.path(), &[], &[]);
    server.wait_for("/v1/suggest?q=om", |a| a.status == 200);
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    let log = std::fs::read_to_string(server.log.path()).unwrap();
    let messages: Vec<String> = log
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("a log line that is not JSON ({e}): {line}"));
            assert!(
                event["timestamp"].is_string() && event["level"].is_string(),
                "{line}"
            );
            event["message"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    for want in [
        "listening",
        "index version loaded",
        "shutdown signal: finishing in-flight requests",
        "stopped",
    ] {
        assert!(
            messages.iter().any(|m| m == want),
            "no {want:?} in {messages:?}"
        );
    }
}

/// A symbolic link is followed: moving it to another release serves that release.
#[cfg(unix)]
#[test]
fn a_moved_symlink_serves_its_new_target() {
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("releases");
    std::fs::create_dir(&releases).unwrap();
    build(dir.path(), &[("kappa one", 2)], &releases.join("v1.seg"));
    build(dir.path(), &[("kappa two", 2)], &releases.join("v2.seg"));
    let served = dir.path().join("served");
    std::fs::create_dir(&served).unwrap();
    let link = served.join("k.seg");
    std::os::unix::fs::symlink(releases.join("v1.seg"), &link).unwrap();
    let server = Server::start(&served, &[], &[]);
    let text = |a: &Answer| a.json()["suggestions"][0]["text"].clone();
    server.wait_for("/v1/suggest?q=kap", |a| {
        a.status == 200 && text(a) == "kappa one"
    });
    let next = served.join("k.seg.next");
    std::os::unix::fs::symlink(releases.join("v2.seg"), &next).unwrap();
    std::fs::rename(&next, &link).unwrap();
    server.wait_for("/v1/suggest?q=kap", |a| text(a) == "kappa two");
}
