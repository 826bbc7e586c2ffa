//! The cmdb-rs application: configuration, backend selection, start-up (migrations, seed, dev
//! app), the HTTP server and graceful shutdown. Only this crate names concrete backends; the API
//! receives an `Arc<dyn Database>`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cmdb_api::AppState;
use cmdb_store::Store;
use cmdb_store_sqlite::SqliteDb;
use tokio::net::TcpListener;

pub mod gen;
mod prune;

/// Command line of `cmdb`.
#[derive(Debug, Parser)]
#[command(name = "cmdb", version, about = "A bk-cmdb compatible CMDB server")]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server.
    Serve(ServeConfig),
    /// Build a large mainline topology (for benchmarks); prints a JSON summary.
    GenTopo(gen::GenConfig),
    /// Build two models with many instance associations (for benchmarks); prints a JSON summary.
    GenAssoc(gen::GenAssocConfig),
    /// Build many businesses with hosts in their modules (for benchmarks); prints a JSON summary.
    GenHosts(gen::GenHostsConfig),
}

/// Settings of `cmdb serve`; every flag also reads an environment variable.
#[derive(Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "CMDB_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Data directory of the embedded store (holds `cmdb.sqlite3` and the dev app).
    #[arg(long, env = "CMDB_DATA", default_value = "./cmdb-data")]
    pub data: PathBuf,
    /// Database URL: `sqlite://PATH` or `postgres://user:pass@host:port/db`; wins over `--data`.
    #[arg(long, env = "CMDB_DATABASE_URL")]
    pub database: Option<String>,
    /// App credentials `CODE:SECRET` (repeatable; env: comma-separated list).
    #[arg(long = "app", env = "CMDB_APPS", value_delimiter = ',')]
    pub apps: Vec<String>,
    /// How long change events stay readable by resource_watch (e.g. `7d`, `36h`): a consumer
    /// that was away for less than this resumes from its cursor without missing anything.
    #[arg(long, env = "CMDB_EVENT_RETENTION", default_value = "7d", value_parser = humantime::parse_duration)]
    pub event_retention: Duration,
    /// How long operation audit records are kept (e.g. `180d`).
    #[arg(long, env = "CMDB_AUDIT_RETENTION", default_value = "180d", value_parser = humantime::parse_duration)]
    pub audit_retention: Duration,
    /// Most PostgreSQL connections (so concurrent transactions) of this process. More is not
    /// faster once the database's CPUs are busy: on a 2-core machine shared with PostgreSQL, 4
    /// gave 20 % more creates per second than 16 (see README, "Running on PostgreSQL").
    #[arg(long, env = "CMDB_PG_POOL_SIZE", default_value_t = DEFAULT_PG_POOL_SIZE)]
    pub pg_pool_size: usize,
}

/// Default of `--pg-pool-size`: enough concurrency for a database server of several cores.
pub const DEFAULT_PG_POOL_SIZE: usize = 16;

impl std::fmt::Debug for ServeConfig {
    /// Secrets and database passwords never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeConfig")
            .field("listen", &self.listen)
            .field("data", &self.data)
            .field("database", &self.database.as_deref().map(redact_url))
            .field("event_retention", &self.event_retention)
            .field("audit_retention", &self.audit_retention)
            .field("pg_pool_size", &self.pg_pool_size)
            .field(
                "apps",
                &self
                    .apps
                    .iter()
                    .map(|a| a.split(':').next().unwrap_or_default())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Installs the log subscriber (`RUST_LOG` overrides the default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

/// Runs a parsed command line to completion.
pub async fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(config) => {
            let app = App::build(config).await?;
            tracing::info!(addr = %app.addr, backend = app.state.store.name(), "cmdb listening");
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::GenTopo(config) => {
            let store = open_store(&config.data, config.database.as_deref()).await?;
            let summary = gen::generate(store.clone(), config).await;
            store.close().await;
            println!("{}", summary?);
            Ok(())
        }
        Command::GenAssoc(config) => {
            let store = open_store(&config.data, config.database.as_deref()).await?;
            let summary = gen::generate_assoc(store.clone(), config).await;
            store.close().await;
            println!("{}", summary?);
            Ok(())
        }
        Command::GenHosts(config) => {
            let store = open_store(&config.data, config.database.as_deref()).await?;
            let summary = gen::generate_hosts(store.clone(), config).await;
            store.close().await;
            println!("{}", summary?);
            Ok(())
        }
    }
}

/// A built, listening application.
pub struct App {
    listener: TcpListener,
    addr: SocketAddr,
    state: AppState,
    audit_retention: Duration,
}

impl App {
    /// Opens the database (migrating and seeding it), resolves the apps and binds the listener.
    pub async fn build(config: ServeConfig) -> Result<App, String> {
        let store = open_store_with(
            &config.data,
            config.database.as_deref(),
            config.pg_pool_size,
        )
        .await?;
        let apps = resolve_apps(&config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        Ok(App {
            listener,
            addr,
            state: AppState {
                store,
                apps: Arc::new(apps),
                event_retention: config.event_retention,
            },
            audit_retention: config.audit_retention,
        })
    }

    /// The bound port (tests bind port 0).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` resolves, drains in-flight requests, then closes the database.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), String> {
        let store = self.state.store.clone();
        let pruner = tokio::spawn(prune::run(
            store.clone(),
            self.state.event_retention,
            self.audit_retention,
        ));
        // Other servers' commits wake this one's watches within this interval.
        let follower = store.shared().then(|| {
            tokio::spawn(cmdb_store::follow_other_writers(
                store.clone(),
                std::time::Duration::from_millis(10),
            ))
        });
        let router = cmdb_api::router(self.state);
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        pruner.abort();
        if let Some(follower) = follower {
            follower.abort();
        }
        store.close().await;
        tracing::info!("cmdb stopped");
        served.map_err(|e| e.to_string())
    }
}

/// Opens (migrating and seeding) the database `serve` would: `database` when given, else the
/// SQLite file in `data`. Public for `gen-topo` and for tests that open a second handle on the
/// database of a running server (several handles on one database are supported by both
/// backends) to check its answers against the store's own operations.
pub async fn open_store(data: &Path, database: Option<&str>) -> Result<Store, String> {
    open_store_with(data, database, DEFAULT_PG_POOL_SIZE).await
}

/// [`open_store`] with at most `pg_pool_size` connections when the database is PostgreSQL.
pub async fn open_store_with(
    data: &Path,
    database: Option<&str>,
    pg_pool_size: usize,
) -> Result<Store, String> {
    let path = match database {
        Some(url) if url.starts_with("sqlite://") => PathBuf::from(&url["sqlite://".len()..]),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options = cmdb_store_postgres::PgOptions {
                pool_size: pg_pool_size,
                ..Default::default()
            };
            let db = cmdb_store_postgres::PgDb::connect_with(url, options)
                .await
                .map_err(|e| format!("cannot open database {}: {e}", redact_url(url)))?;
            return seed(Arc::new(db)).await;
        }
        Some(other) => return Err(format!("unsupported database URL {}", redact_url(other))),
        None => {
            std::fs::create_dir_all(data)
                .map_err(|e| format!("cannot create data directory {}: {e}", data.display()))?;
            data.join("cmdb.sqlite3")
        }
    };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    let db = tokio::task::spawn_blocking(move || SqliteDb::open(&path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open database: {e}"))?;
    seed(Arc::new(db)).await
}

/// Applies the built-in data once (idempotent, safe when several processes start together).
async fn seed(store: Store) -> Result<Store, String> {
    let seeded = cmdb_store::write(store.as_ref(), cmdb_store::ops::seed::apply)
        .await
        .map_err(|e| format!("cannot seed database: {e}"))?;
    if seeded {
        tracing::info!("seeded built-in models and resource pool");
    }
    Ok(store)
}

fn resolve_apps(config: &ServeConfig) -> Result<HashMap<String, String>, String> {
    let mut apps = HashMap::new();
    for spec in config.apps.iter().filter(|s| !s.trim().is_empty()) {
        let (code, secret) = spec
            .trim()
            .split_once(':')
            .filter(|(c, s)| !c.is_empty() && !s.is_empty())
            .ok_or_else(|| {
                format!(
                    "--app expects CODE:SECRET, got '{}'",
                    spec.split(':').next().unwrap_or_default()
                )
            })?;
        apps.insert(code.to_string(), secret.to_string());
    }
    if apps.is_empty() {
        let (code, secret) = dev_app(&config.data)?;
        apps.insert(code, secret);
    }
    Ok(apps)
}

/// With no app configured: the data directory's dev app, created (and printed once) on the
/// first start so `cargo run --release -- serve` is usable immediately.
fn dev_app(data: &Path) -> Result<(String, String), String> {
    std::fs::create_dir_all(data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let file = data.join("dev-app.json");
    if let Ok(text) = std::fs::read_to_string(&file) {
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        if let (Some(c), Some(s)) = (v["bk_app_code"].as_str(), v["bk_app_secret"].as_str()) {
            return Ok((c.to_string(), s.to_string()));
        }
        return Err(format!(
            "{} lacks bk_app_code/bk_app_secret",
            file.display()
        ));
    }
    let code = "cmdb-dev".to_string();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let text = serde_json::json!({"bk_app_code": code, "bk_app_secret": secret}).to_string();
    std::fs::write(&file, text).map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    println!("Created a development app (stored in {}):", file.display());
    println!("  bk_app_code:   {code}");
    println!("  bk_app_secret: {secret}");
    Ok((code, secret))
}

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
    tokio::select! { () = ctrl_c => {}, () = term => {} }
    tracing::info!("shutdown signal received, draining");
}
