//! `edgesuggest serve`: every index in a directory over HTTP, with the worker's API.

mod error;
mod metrics;
mod registry;
mod routes;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use tokio::net::TcpListener;

use metrics::Metrics;
use registry::Registry;
use routes::{App, Settings};

/// Serve every index in DIR over HTTP: the edge worker's API, natively.
///
/// Indexes are the files in DIR: `<index>.seg` (one segment; its version is the file's
/// modification time in ms) and `<index>.json` (a manifest naming a base, deltas and a
/// blocklist by content hash; its segments are read as `<hash>.seg` or chunk files beside it
/// or above it). Manifests under DIR/manifest/ count too, so a publisher's store
/// (`publish --out-dir kv/` keeps one in kv/store) can be served as it is. The index name is
/// the file stem.
///
/// DIR is checked every --reload-seconds: a new or changed file is loaded off the request
/// threads and swapped in whole; a file that fails to load leaves the last good version
/// serving (and is counted in /metrics and shown in /v1/health); a removed file stops its
/// index. Replace files by renaming a finished file over the old one.
///
/// Routes: GET /v1/suggest (the worker's parameters and JSON), /v1/health, /v1/ping and
/// /metrics (Prometheus). CORS on every answer. Logs are JSON lines on stderr. SIGTERM or
/// Ctrl-C stops accepting connections and lets in-flight requests finish.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  edgesuggest serve indexes/                      # http://127.0.0.1:8080/v1/suggest?q=new
  edgesuggest serve indexes/ --listen 0.0.0.0:9000 --default-index cities
  edgesuggest publish cities.seg --index cities --out-dir kv/ && edgesuggest serve kv/store
  curl 'http://127.0.0.1:8080/v1/suggest?q=san&k=5&fuzzy=auto&index=cities'
  curl http://127.0.0.1:8080/metrics")]
pub struct ServeArgs {
    /// The directory of indexes (`<index>.seg` files and `<index>.json` manifests).
    #[arg(value_name = "DIR")]
    dir: PathBuf,

    /// Address to listen on (port 0: any free port, printed at start).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: SocketAddr,

    /// The index a request without `index=` gets (default: the only one, when one is served).
    #[arg(long, value_name = "INDEX")]
    default_index: Option<String>,

    /// Seconds between checks of DIR for new, changed or removed index files.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    reload_seconds: f64,

    /// Seconds a request waits for an index's first load before a 503 `loading`.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    load_wait_seconds: f64,

    /// `Cache-Control: max-age` of suggest answers, in seconds.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    cache_max_age: u32,

    /// Allowed CORS origins, comma-separated (`*` for any).
    #[arg(
        long,
        default_value = "*",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    cors_origins: Vec<String>,

    /// Log level: `debug` adds one line per request.
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    log_level: LogLevel,

    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Json)]
    log_format: LogFormat,
}

/// How much the server logs.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
}

/// JSON lines for machines, or text for people.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

/// Runs the server until SIGTERM or Ctrl-C.
pub fn run(args: ServeArgs) -> Result<()> {
    check_args(&args)?;
    init_logging(args.log_level, args.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(serve(args))
}

/// Refuses settings that cannot work, before anything starts.
fn check_args(args: &ServeArgs) -> Result<()> {
    if !args.dir.is_dir() {
        bail!(
            "{} is not a directory; give the directory that holds the <index>.seg files",
            args.dir.display()
        );
    }
    for (name, value) in [
        ("--reload-seconds", args.reload_seconds),
        ("--load-wait-seconds", args.load_wait_seconds),
    ] {
        if !(value.is_finite() && value > 0.0 && value <= 86_400.0) {
            bail!("{name} must be a number of seconds above 0 and at most 86400, got {value}");
        }
    }
    Ok(())
}

/// JSON or text log lines on stderr.
fn init_logging(level: LogLevel, format: LogFormat) {
    let level = match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
    };
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
}

/// Finds the indexes, starts the poller (which loads them), binds, and serves until a
/// shutdown signal.
async fn serve(args: ServeArgs) -> Result<()> {
    let metrics = Arc::new(Metrics::new());
    let reload = Duration::from_secs_f64(args.reload_seconds);
    let registry = Arc::new(Registry::new(
        args.dir.clone(),
        metrics.clone(),
        reload.max(Duration::from_secs(10)),
    ));
    let settings = Settings {
        default_index: args.default_index.clone(),
        cache_max_age: args.cache_max_age,
        cors_origins: args.cors_origins.clone(),
        load_wait: Duration::from_secs_f64(args.load_wait_seconds),
    };
    let found = registry.discover_now()?;
    if found == 0 {
        tracing::warn!(dir = %args.dir.display(), "no index files yet (<index>.seg or <index>.json); they are picked up when they appear");
    }
    let app = Arc::new(App::new(registry.clone(), metrics, settings));
    let listener = TcpListener::bind(args.listen).await.with_context(|| {
        format!(
            "cannot listen on {}; is another server using it? (--listen to change)",
            args.listen
        )
    })?;
    let addr = listener.local_addr()?;
    tokio::spawn(poll_forever(registry, reload, load_delay()));
    tracing::info!(addr = %addr, dir = %args.dir.display(), "listening");
    println!("edgesuggest serve: listening on http://{addr}");
    axum::serve(listener, routes::router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server failed")?;
    tracing::info!("stopped");
    Ok(())
}

/// A test hook (`EDGESUGGEST_SERVE_LOAD_DELAY_MS`, off unless set): waits this long before
/// the first poll, so tests can send requests while the first load is pending.
fn load_delay() -> Duration {
    let ms = std::env::var("EDGESUGGEST_SERVE_LOAD_DELAY_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Duration::from_millis(ms.min(60_000))
}

/// Checks the directory every `every`, loading what is new or changed; an unreadable
/// directory is logged and tried again.
async fn poll_forever(registry: Arc<Registry>, every: Duration, first_delay: Duration) {
    tokio::time::sleep(first_delay).await;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(e) = registry.poll().await {
            tracing::error!(error = format!("{e:#}"), "cannot read the index directory");
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutdown signal: finishing in-flight requests");
}
