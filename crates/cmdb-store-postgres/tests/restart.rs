//! PostgreSQL stopped and started again under load: while it is down every request fails with
//! `Unavailable` (promptly, not after a hang), once it is back requests succeed again without
//! reopening anything, and every acknowledged write survived.
//!
//! Runs on a private cluster of its own (`scripts/pg-test-cluster`), so that stopping it does not
//! disturb the other tests; needs `CMDB_TEST_POSTGRES_URL` like them (as the switch that
//! PostgreSQL tests are wanted) and the PostgreSQL server binaries on this machine. Set
//! `CMDB_TEST_PG_RESTART=0` to skip it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cmdb_store::{read, write, Database, SqlValue, StoreError};
use cmdb_store_postgres::{PgDb, PgOptions};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/pg-test-cluster")
}

fn server_binaries_present() -> bool {
    std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.path().join("bin/pg_ctl").exists())
        })
        .unwrap_or(false)
}

/// A private cluster, stopped and removed on drop.
struct Cluster {
    url: String,
    state: PathBuf,
}

impl Cluster {
    fn run(state: &Path, args: &[&str]) -> Result<String, String> {
        let out = Command::new("bash")
            .arg(script())
            .args(args)
            .env("CMDB_PG_TEST_STATE", state)
            .output()
            .map_err(|e| format!("cannot run pg-test-cluster: {e}"))?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
        } else {
            Err(format!(
                "pg-test-cluster {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    fn start() -> Cluster {
        let state =
            std::env::temp_dir().join(format!("cmdb-pg-restart-{}.last", std::process::id()));
        let url = Self::run(&state, &["start"]).expect("start a private cluster");
        Cluster { url, state }
    }

    async fn cmd(&self, what: &'static str) {
        let (state, url) = (self.state.clone(), self.url.clone());
        tokio::task::spawn_blocking(move || Self::run(&state, &[what, &url]))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Self::run(&self.state, &["stop", &self.url]);
        let _ = std::fs::remove_file(&self.state);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_restart_fails_requests_cleanly_and_recovers() {
    const TEST: &str = "server_restart_fails_requests_cleanly_and_recovers";
    if common::admin_url(TEST).is_none() {
        return;
    }
    if std::env::var("CMDB_TEST_PG_RESTART").as_deref() == Ok("0") {
        eprintln!("SKIPPED {TEST}: CMDB_TEST_PG_RESTART=0");
        return;
    }
    if !server_binaries_present() {
        eprintln!("SKIPPED {TEST}: no PostgreSQL server binaries under /usr/lib/postgresql");
        return;
    }
    let cluster = Cluster::start();
    let db = Arc::new(
        PgDb::connect_with(
            &cluster.url,
            PgOptions {
                pool_size: 4,
                acquire_timeout: Duration::from_secs(10),
            },
        )
        .await
        .expect("connect to the private cluster"),
    );

    // Load: 4 writers inserting distinct keys; each remembers what was acknowledged and how
    // the others failed.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..4 {
        let (db, stop) = (db.clone(), stop.clone());
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut unavailable = 0usize;
            let mut slowest = Duration::ZERO;
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let key = format!("w{w}-{n}");
                n += 1;
                let k = key.clone();
                let started = Instant::now();
                let r = write(&*db, move |tx| {
                    tx.execute(
                        "INSERT INTO setting (key, value) VALUES (?, 'v')",
                        &[SqlValue::Text(k)],
                    )
                })
                .await;
                slowest = slowest.max(started.elapsed());
                match r {
                    Ok(_) => acked.push(key),
                    Err(StoreError::Unavailable(_)) => unavailable += 1,
                    Err(e) => panic!("writer {w}: unexpected error {e:?}"),
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            (acked, unavailable, slowest)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    cluster.cmd("down").await;
    // While down: requests fail, quickly, with Unavailable.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    let err = db.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    let err = read(&*db, |tx| tx.query("SELECT 1", &[]))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    tokio::time::sleep(Duration::from_millis(500)).await;

    cluster.cmd("up").await;
    // Back: the same PgDb recovers by itself.
    let deadline = Instant::now() + Duration::from_secs(30);
    while db.ping().await.is_err() {
        assert!(Instant::now() < deadline, "no recovery within 30 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);

    let mut acked = Vec::new();
    let mut unavailable = 0;
    for w in writers {
        let (a, u, slowest) = w.await.unwrap();
        assert!(
            slowest < Duration::from_secs(12),
            "a request hung for {slowest:?}"
        );
        acked.extend(a);
        unavailable += u;
    }
    assert!(
        unavailable > 0,
        "no request failed while the server was down"
    );
    let stored: std::collections::HashSet<String> =
        read(&*db, |tx| tx.query("SELECT key FROM setting", &[]))
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| r[0].as_str().map(str::to_string))
            .collect();
    let lost: Vec<&String> = acked.iter().filter(|k| !stored.contains(*k)).collect();
    assert!(lost.is_empty(), "acknowledged writes lost: {lost:?}");
    // Writes were acknowledged after the restart too.
    let after = acked.len();
    assert!(after > 20, "only {after} writes acknowledged");
    eprintln!(
        "{TEST}: {} writes acknowledged, {unavailable} failed as Unavailable while down, none lost",
        acked.len()
    );
    db.close().await;
    drop(cluster);
}
