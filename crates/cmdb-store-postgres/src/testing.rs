//! Test support: a fresh, uniquely named database per test on a shared server, dropped again
//! when the guard goes out of scope.
//!
//! ```no_run
//! # async fn t() -> Result<(), cmdb_store::StoreError> {
//! let admin = std::env::var("CMDB_TEST_POSTGRES_URL").unwrap();
//! let (url, guard) = cmdb_store_postgres::create_test_database(&admin).await?;
//! let db = cmdb_store_postgres::PgDb::connect(&url).await?;
//! // ... use db ...
//! drop(db);
//! drop(guard); // DROP DATABASE ... WITH (FORCE)
//! # Ok(()) }
//! ```
//!
//! Public (no cargo feature) so that the integration-test harness of the binary can use it; it
//! only ever creates and drops databases named `cmdb_test_*`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use cmdb_store::StoreError;
use tokio_postgres::Config;

use crate::tx::{describe, Conn};

/// A database created by [`create_test_database`]; dropping it drops the database (terminating
/// any connection still open to it).
#[derive(Debug)]
pub struct TestDatabase {
    admin_url: String,
    name: String,
    url: String,
    keep: bool,
}

impl TestDatabase {
    /// The URL of the test database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database name (`cmdb_test_<pid>_<time>_<n>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Keeps the database instead of dropping it (for looking at a failed test's data).
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if self.keep {
            eprintln!("keeping test database {}", self.url);
            return;
        }
        let admin = self.admin_url.clone();
        let name = self.name.clone();
        // A connection blocks on its socket, which an async runtime thread must not; a plain
        // thread is safe everywhere (in a test, in a runtime, during unwinding).
        let joined = std::thread::spawn(move || drop_database(&admin, &name)).join();
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not drop test database {}: {e}", self.name),
            Err(_) => eprintln!("could not drop test database {}: panic", self.name),
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Creates a fresh database on the server of `admin_url` (a role allowed to `CREATE DATABASE`)
/// and returns its URL and the guard that drops it. The new database inherits the server's
/// default encoding and locale (the test cluster of `scripts/pg-test-cluster` is UTF8,
/// `C.UTF-8`).
pub async fn create_test_database(admin_url: &str) -> Result<(String, TestDatabase), StoreError> {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() % 1_000_000_000_000)
        .unwrap_or(0);
    let name = format!(
        "cmdb_test_{}_{}_{}",
        std::process::id(),
        nanos,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let url = database_url(admin_url, &name);
    let admin = admin_url.to_string();
    let create_name = name.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = admin_client(&admin)?;
        conn.batch_execute(&format!("CREATE DATABASE \"{create_name}\""))
            .map_err(|e| StoreError::Backend(format!("CREATE DATABASE failed: {}", describe(&e))))
    })
    .await
    .map_err(|e| StoreError::Backend(format!("create database task failed: {e}")))??;
    Ok((
        url.clone(),
        TestDatabase {
            admin_url: admin_url.to_string(),
            name,
            url,
            keep: false,
        },
    ))
}

/// Runs `sql` (one or more statements, no parameters) on a connection of its own, outside any
/// `PgDb`: what another process does to the database behind the handles' backs (a server that
/// committed and died before its sequencer ran, say). Blocking.
pub fn execute_sql(url: &str, sql: &str) -> Result<(), StoreError> {
    let mut conn = admin_client(url)?;
    conn.batch_execute(sql)
        .map_err(|e| StoreError::Backend(describe(&e).to_string()))
}

fn admin_client(admin_url: &str) -> Result<Conn, StoreError> {
    let mut config: Config = admin_url
        .parse()
        .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
    crate::pool::apply_defaults(&mut config);
    Conn::connect(&config)
}

fn drop_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    if !name.starts_with("cmdb_test_")
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(StoreError::Backend(format!("refusing to drop {name:?}")));
    }
    let mut conn = admin_client(admin_url)?;
    conn.batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .map_err(|e| StoreError::Backend(format!("DROP DATABASE failed: {}", describe(&e))))
}

/// `admin_url` with its database replaced by `dbname`. URLs (`postgres://…/db?…` or
/// `postgresql://…`) get their path replaced; key=value strings get `dbname=` appended (the
/// last one wins).
pub fn database_url(admin_url: &str, dbname: &str) -> String {
    let Some(scheme_end) = admin_url.find("://") else {
        return format!("{admin_url} dbname={dbname}");
    };
    let rest_start = scheme_end + 3;
    let rest = &admin_url[rest_start..];
    let query_at = rest.find('?').unwrap_or(rest.len());
    let authority_end = rest[..query_at].find('/').unwrap_or(query_at);
    format!(
        "{}{}/{}{}",
        &admin_url[..rest_start],
        &rest[..authority_end],
        dbname,
        &rest[query_at..]
    )
}

#[cfg(test)]
mod tests {
    use super::database_url;

    #[test]
    fn urls() {
        assert_eq!(
            database_url("postgres://u@127.0.0.1:5432/postgres", "x"),
            "postgres://u@127.0.0.1:5432/x"
        );
        assert_eq!(
            database_url("postgresql://u:p@h:1/db?sslmode=disable", "x"),
            "postgresql://u:p@h:1/x?sslmode=disable"
        );
        assert_eq!(database_url("postgres://h", "x"), "postgres://h/x");
        assert_eq!(
            database_url("postgres://h?connect_timeout=3", "x"),
            "postgres://h/x?connect_timeout=3"
        );
        assert_eq!(database_url("host=h user=u", "x"), "host=h user=u dbname=x");
    }
}
