//! Deferred statements and pipelining in the PostgreSQL backend: deferred failures surface from
//! the next synchronous call, from `flush()` or from the commit (a unique violation as the
//! caller's domain error), they run in order before what follows them, a statement whose
//! parameters cannot be encoded fails when queued, a failed commit leaves the connection clean,
//! the recovery of dead idle connections still works with BEGIN riding on the first request, a
//! create costs two round trips (three when it draws a block of ids), and under load a COMMIT
//! rides with the next queued job's first round trip without mixing up the two jobs' outcomes.
//!
//! Needs `CMDB_TEST_POSTGRES_URL` (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::sync::Arc;
use std::time::Duration;

use cmdb_domain::DomainError;
use cmdb_store::ops::{attributes, instances, objects, seed, uniques};
use cmdb_store::{read, write, Database, SqlValue, StoreError};
use cmdb_store_postgres::{PgDb, PgOptions};
use serde_json::{json, Map, Value};

const INSERT: &str = "INSERT INTO setting (key, value) VALUES (?, ?)";

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.to_string())
}

fn dup(field: &str) -> Option<DomainError> {
    Some(DomainError::Duplicate(field.to_string()))
}

/// The settings whose key starts with `prefix`, as `key=value`, in key order.
async fn settings(db: &PgDb, prefix: &'static str) -> Vec<String> {
    read(db, move |tx| {
        tx.query(
            "SELECT key, value FROM setting WHERE key LIKE ? ORDER BY key",
            &[SqlValue::Text(format!("{prefix}%"))],
        )
    })
    .await
    .unwrap()
    .into_iter()
    .map(|r| format!("{}={}", r[0].as_str().unwrap(), r[1].as_str().unwrap()))
    .collect()
}

/// One connection, so every transaction after a failure runs on the connection it left behind.
async fn single(test: &str) -> Option<common::Fresh> {
    common::fresh_with(
        test,
        PgOptions {
            pool_size: 1,
            ..PgOptions::default()
        },
    )
    .await
}

#[tokio::test]
async fn deferred_unique_violation_surfaces_from_commit_as_the_domain_error() {
    let Some(f) =
        single("deferred_unique_violation_surfaces_from_commit_as_the_domain_error").await
    else {
        return;
    };
    let db = &*f.db;
    write(db, |tx| tx.execute(INSERT, &[text("u-taken"), text("0")]))
        .await
        .unwrap();
    let err = write(db, |tx| {
        tx.execute_deferred(INSERT, &[text("u-a"), text("1")], None)?;
        tx.execute_deferred(INSERT, &[text("u-taken"), text("2")], dup("key"))?;
        tx.execute_deferred(INSERT, &[text("u-b"), text("3")], None)?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Domain(DomainError::Duplicate(f)) if f == "key"),
        "{err:?}"
    );
    // Without `on_unique` it stays a unique violation naming the constraint.
    let err = write(db, |tx| {
        tx.execute_deferred(INSERT, &[text("u-taken"), text("4")], None)?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::UniqueViolation { constraint } if constraint == "setting_pkey"),
        "{err:?}"
    );
    // Nothing of either transaction was committed, and the connection is clean.
    assert_eq!(settings(db, "u-").await, vec!["u-taken=0"]);
    write(db, |tx| {
        tx.execute_deferred(INSERT, &[text("u-c"), text("5")], dup("key"))?;
        Ok(())
    })
    .await
    .unwrap();
    assert_eq!(settings(db, "u-").await, vec!["u-c=5", "u-taken=0"]);
    f.db.close().await;
}

#[tokio::test]
async fn deferred_failure_surfaces_from_the_next_synchronous_call() {
    let Some(f) = single("deferred_failure_surfaces_from_the_next_synchronous_call").await else {
        return;
    };
    let db = &*f.db;
    write(db, |tx| tx.execute(INSERT, &[text("s-taken"), text("0")]))
        .await
        .unwrap();
    // A unique violation, reported by the query that follows as the caller's domain error; the
    // job returns it and the transaction rolls back.
    let err = write(db, |tx| {
        tx.execute_deferred(INSERT, &[text("s-a"), text("1")], None)?;
        tx.execute_deferred(INSERT, &[text("s-taken"), text("2")], dup("key"))?;
        let r = tx.query("SELECT COUNT(*) FROM setting", &[]);
        assert!(
            matches!(&r, Err(StoreError::Domain(DomainError::Duplicate(_)))),
            "{r:?}"
        );
        r.map(|_| ())
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Domain(_)), "{err:?}");
    // Any other failure (here NOT NULL), from execute, execute_batch and next_id alike.
    for call in 0..3 {
        let err = write(db, move |tx| {
            tx.execute_deferred(INSERT, &[SqlValue::Null, text("x")], dup("key"))?;
            match call {
                0 => tx.execute(INSERT, &[text("s-b"), text("1")]).map(|_| ()),
                1 => tx.execute_batch("SELECT 1"),
                _ => tx.next_id("host").map(|_| ()),
            }
        })
        .await
        .unwrap_err();
        assert!(
            matches!(&err, StoreError::Backend(m) if m.contains("23502")),
            "call {call}: {err:?}"
        );
    }
    // A job that ignores the surfaced failure is caught at commit, as for a synchronous one.
    let err = write(db, |tx| {
        tx.execute_deferred(INSERT, &[text("s-taken"), text("3")], None)?;
        let _ = tx.query("SELECT 1", &[]);
        tx.execute_deferred(INSERT, &[text("s-c"), text("4")], None)?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("ignored a failed statement")),
        "{err:?}"
    );
    assert_eq!(settings(db, "s-").await, vec!["s-taken=0"]);
    f.db.close().await;
}

#[tokio::test]
async fn flush_reports_deferred_failures_and_savepoints_recover() {
    let Some(f) = single("flush_reports_deferred_failures_and_savepoints_recover").await else {
        return;
    };
    let db = &*f.db;
    write(db, |tx| tx.execute(INSERT, &[text("f-taken"), text("0")]))
        .await
        .unwrap();
    // What batch create does: each item in a savepoint, flushed before it is released.
    let outcomes = write(db, |tx| {
        tx.flush()?; // nothing queued
        let mut outcomes = Vec::new();
        for key in ["f-a", "f-taken", "f-b"] {
            tx.execute_batch("SAVEPOINT item")?;
            tx.execute_deferred(INSERT, &[text(key), text("1")], dup(key))?;
            match tx.flush() {
                Ok(()) => {
                    tx.execute_batch("RELEASE SAVEPOINT item")?;
                    outcomes.push(format!("{key} ok"));
                }
                Err(StoreError::Domain(DomainError::Duplicate(field))) => {
                    tx.execute_batch("ROLLBACK TO SAVEPOINT item; RELEASE SAVEPOINT item")?;
                    outcomes.push(format!("{field} duplicate"));
                }
                Err(e) => return Err(e),
            }
        }
        tx.flush()?;
        Ok(outcomes)
    })
    .await
    .unwrap();
    assert_eq!(outcomes, vec!["f-a ok", "f-taken duplicate", "f-b ok"]);
    assert_eq!(
        settings(db, "f-").await,
        vec!["f-a=1", "f-b=1", "f-taken=0"]
    );
    // A flushed statement is done: its failure does not come back at commit.
    write(db, |tx| {
        tx.execute_deferred(INSERT, &[text("f-c"), text("2")], None)?;
        tx.flush()
    })
    .await
    .unwrap();
    assert_eq!(settings(db, "f-c").await, vec!["f-c=2"]);
    f.db.close().await;
}

#[tokio::test]
async fn deferred_statements_run_in_order_before_what_follows() {
    let Some(f) = single("deferred_statements_run_in_order_before_what_follows").await else {
        return;
    };
    let db = &*f.db;
    let seen = write(db, |tx| {
        let mut seen = Vec::new();
        tx.execute_deferred(INSERT, &[text("o-a"), text("1")], None)?;
        tx.execute_deferred(
            "UPDATE setting SET value = value || '2' WHERE key = ?",
            &[text("o-a")],
            None,
        )?;
        // A query sees them...
        let rows = tx.query("SELECT value FROM setting WHERE key = ?", &[text("o-a")])?;
        seen.push(rows[0][0].as_str().unwrap().to_string());
        // ...so does an execute, and a statement text never prepared before (whose prepare
        // travels behind them)...
        tx.execute_deferred(
            "UPDATE setting SET value = value || '3' WHERE key = ?",
            &[text("o-a")],
            None,
        )?;
        let n = tx.execute(
            "UPDATE setting SET value = value || '4' WHERE key = ? AND value = '123'",
            &[text("o-a")],
        )?;
        seen.push(n.to_string());
        tx.execute_deferred(
            "UPDATE setting SET value = value || '5' WHERE key = ?",
            &[text("o-a")],
            None,
        )?;
        let rows = tx.query(
            "SELECT value || '?' FROM setting WHERE key = ? AND length(value) > 0",
            &[text("o-a")],
        )?;
        seen.push(rows[0][0].as_str().unwrap().to_string());
        // ...and the commit runs what is still queued, in order.
        tx.execute_deferred(
            "UPDATE setting SET value = value || '6' WHERE key = ?",
            &[text("o-a")],
            None,
        )?;
        tx.execute_deferred(INSERT, &[text("o-b"), text("7")], None)?;
        Ok(seen)
    })
    .await
    .unwrap();
    assert_eq!(seen, vec!["12", "1", "12345?"]);
    assert_eq!(settings(db, "o-").await, vec!["o-a=123456", "o-b=7"]);
    f.db.close().await;
}

#[tokio::test]
async fn a_statement_that_cannot_be_encoded_fails_when_queued() {
    let Some(f) = single("a_statement_that_cannot_be_encoded_fails_when_queued").await else {
        return;
    };
    let db = &*f.db;
    // Text that is not JSON cannot be bound to a jsonb parameter: that statement fails in the
    // client, when it is queued (its parameters are encoded then), so the job stops there; the
    // one queued ahead of it is never sent, and the whole transaction rolls back.
    let event =
        "INSERT INTO change_event (resource, event_type, obj_id, inst_id, created_at, detail) \
                 VALUES ('r', 'create', 'o', 1, 0, ?)";
    let err = write(db, move |tx| {
        tx.execute_deferred(INSERT, &[text("e-a"), text("1")], None)?;
        tx.execute_deferred(event, &[text("not json")], None)?;
        tx.execute_deferred(INSERT, &[text("e-b"), text("2")], None)?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("not JSON")),
        "{err:?}"
    );
    assert!(settings(db, "e-").await.is_empty());
    // Nothing of it reaches the server: a job that goes on anyway commits without it.
    write(db, move |tx| {
        let r = tx.execute_deferred(event, &[text("not json")], None);
        assert!(
            matches!(&r, Err(StoreError::Backend(m)) if m.contains("not JSON")),
            "{r:?}"
        );
        tx.execute(INSERT, &[text("e-c"), text("3")]).map(|_| ())
    })
    .await
    .unwrap();
    assert_eq!(settings(db, "e-").await, vec!["e-c=3"]);
    let events = read(db, |tx| tx.query("SELECT COUNT(*) FROM change_event", &[]))
        .await
        .unwrap();
    assert_eq!(events[0][0], SqlValue::Int(0));
    // The connection is clean.
    write(db, move |tx| {
        tx.execute_deferred(event, &[SqlValue::Json(json!({"ok": true}))], None)?;
        tx.execute_deferred(INSERT, &[text("e-d"), text("4")], None)
    })
    .await
    .unwrap();
    assert_eq!(settings(db, "e-").await, vec!["e-c=3", "e-d=4"]);
    f.db.close().await;
}

#[tokio::test]
async fn deferred_work_is_dropped_when_the_job_fails_or_panics() {
    let Some(f) = single("deferred_work_is_dropped_when_the_job_fails_or_panics").await else {
        return;
    };
    let db = &*f.db;
    let err = write(db, |tx| {
        tx.execute(INSERT, &[text("d-a"), text("1")])?;
        tx.execute_deferred(INSERT, &[text("d-b"), text("2")], None)?;
        Err::<(), _>(StoreError::Domain(DomainError::NeedDetails))
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Domain(_)), "{err:?}");
    let err = write(db, |tx| -> Result<(), StoreError> {
        tx.execute_deferred(INSERT, &[text("d-c"), text("3")], None)?;
        panic!("boom");
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    // A job that queues nothing and runs nothing costs nothing and commits nothing.
    write(db, |_tx| Ok::<_, StoreError>(())).await.unwrap();
    assert!(settings(db, "d-").await.is_empty());
    // A read that queues a write reports its failure (a read-only transaction).
    let err = read(db, |tx| {
        tx.execute_deferred(INSERT, &[text("d-d"), text("4")], None)?;
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("25006")),
        "{err:?}"
    );
    assert!(settings(db, "d-").await.is_empty());
    f.db.close().await;
}

#[tokio::test]
async fn dead_idle_connections_are_replaced_with_begin_pipelined() {
    let Some(f) = single("dead_idle_connections_are_replaced_with_begin_pipelined").await else {
        return;
    };
    let db = f.db.clone();
    let killer = f.second(1).await;
    let kill = || async {
        let killed = write(&*killer, |tx| {
            tx.query(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid() \
                 AND backend_type = 'client backend'",
                &[],
            )
        })
        .await
        .unwrap();
        assert!(!killed.is_empty());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    // Whatever the first request of the transaction is, the dead idle connection is replaced
    // before the job sees anything: a query, a statement prepared for the first time, deferred
    // statements (prepared again on the new connection) and a commit of deferred work only.
    db.ping().await.unwrap();
    kill().await;
    write(&*db, |tx| tx.execute(INSERT, &[text("r-a"), text("1")]))
        .await
        .unwrap();
    kill().await;
    write(&*db, |tx| {
        tx.execute_deferred(INSERT, &[text("r-b"), text("2")], None)?;
        tx.query("SELECT value FROM setting WHERE key = 'r-b' AND 1 = 1", &[])
    })
    .await
    .unwrap();
    kill().await;
    write(&*db, |tx| {
        tx.execute_deferred(INSERT, &[text("r-c"), text("3")], None)?;
        tx.execute_deferred(INSERT, &[text("r-d"), text("4")], None)
    })
    .await
    .unwrap();
    kill().await;
    write(&*db, |tx| {
        tx.execute_deferred(INSERT, &[text("r-e"), text("5")], None)?;
        tx.flush()
    })
    .await
    .unwrap();
    kill().await;
    let rows = read(&*db, |tx| tx.query("SELECT COUNT(*) FROM setting", &[]))
        .await
        .unwrap();
    assert!(matches!(rows[0][0], SqlValue::Int(n) if n > 0));
    assert_eq!(
        settings(&db, "r-").await,
        vec!["r-a=1", "r-b=2", "r-c=3", "r-d=4", "r-e=5"]
    );
    // A connection that dies inside a transaction still fails that request as Unavailable.
    let err = write(&*db, |tx| {
        tx.execute_deferred(INSERT, &[text("r-f"), text("6")], None)?;
        tx.query("SELECT pg_terminate_backend(pg_backend_pid())", &[])
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    assert_eq!(settings(&db, "r-f").await, Vec::<String>::new());
    // The broken connection was dropped for a fresh one (by the read above), where preparing
    // the INSERT carries BEGIN; a duplicate among the deferred statements stops the group (the
    // COMMIT behind it does not run), so a ROLLBACK follows, and the connection is clean for
    // the next transaction, which sends BEGIN on its own ahead of a commit that would otherwise
    // be its only round trip.
    let before = db.round_trips();
    let err = write(&*db, |tx| {
        tx.execute_deferred(INSERT, &[text("r-g"), text("7")], None)?;
        tx.execute_deferred(INSERT, &[text("r-a"), text("8")], dup("key"))
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Domain(_)), "{err:?}");
    assert_eq!(db.round_trips() - before, 3);
    let before = db.round_trips();
    write(&*db, |tx| {
        tx.execute_deferred(INSERT, &[text("r-h"), text("9")], None)?;
        tx.execute_deferred(INSERT, &[text("r-i"), text("10")], None)
    })
    .await
    .unwrap();
    assert_eq!(db.round_trips() - before, 2);
    assert_eq!(
        settings(&db, "r-").await,
        vec!["r-a=1", "r-b=2", "r-c=3", "r-d=4", "r-e=5", "r-h=9", "r-i=10"]
    );
    db.close().await;
    killer.close().await;
    db.close().await;
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

#[tokio::test]
async fn a_create_costs_two_round_trips() {
    let Some(f) = common::fresh("a_create_costs_two_round_trips").await else {
        return;
    };
    let db = &*f.db;
    assert!(write(db, seed::apply).await.unwrap());
    let ctx = common::ctx();
    let c = ctx.clone();
    write(db, move |tx| {
        objects::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "rack", "bk_obj_name": "Rack",
                        "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "icon-cc-default"})),
        )?;
        let serial = attributes::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "rack", "bk_property_id": "serial",
                        "bk_property_name": "Serial", "bk_property_type": "singlechar"})),
            None,
        )?;
        let id = serial["id"].as_i64().unwrap_or_default();
        uniques::create(
            tx,
            &c,
            "rack",
            &obj(json!({"keys": [{"key_kind": "property", "key_id": id}]})),
        )
    })
    .await
    .unwrap();
    // Warm up: statements prepared, schema cached.
    for i in 0..3 {
        let c = ctx.clone();
        let body = obj(json!({"bk_inst_name": format!("warm-{i}"), "serial": format!("W{i}")}));
        write(db, move |tx| instances::create(tx, &c, "rack", &body))
            .await
            .unwrap();
    }
    // Ids in hand: drawing 20 in quick succession draws growing blocks (1 + 2 + 4 + 8 + 16).
    write(db, |tx| {
        for _ in 0..20 {
            tx.next_id("inst")?;
        }
        Ok(())
    })
    .await
    .unwrap();
    let before = db.round_trips();
    let c = ctx.clone();
    let body = obj(json!({"bk_inst_name": "r-1", "serial": "S1"}));
    write(db, move |tx| instances::create(tx, &c, "rack", &body))
        .await
        .unwrap();
    // BEGIN + schema version check, the four inserts + COMMIT; the id came from the block.
    assert_eq!(db.round_trips() - before, 2);
    // A duplicate is found at commit, with the rule's field, and rolled back (the COMMIT behind
    // the failed insert did not run: one more round trip for the ROLLBACK).
    let before = db.round_trips();
    let c = ctx.clone();
    let body = obj(json!({"bk_inst_name": "r-2", "serial": "S1"}));
    let err = write(db, move |tx| instances::create(tx, &c, "rack", &body))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Domain(DomainError::Duplicate(f)) if f == "serial"),
        "{err:?}"
    );
    assert_eq!(db.round_trips() - before, 3);
    let names = read(db, |tx| {
        tx.query(
            "SELECT inst_name FROM instance WHERE obj_id = 'rack' ORDER BY inst_name",
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(names.len(), 4, "{names:?}");
    // A read is BEGIN + query, then ROLLBACK.
    db.ping().await.unwrap();
    let before = db.round_trips();
    db.ping().await.unwrap();
    assert_eq!(db.round_trips() - before, 2);
    f.db.close().await;
}

/// Starts a write on a one-connection database that holds the connection for `hold`, so the
/// writes submitted meanwhile queue behind it.
fn slow_write(
    db: Arc<PgDb>,
    key: &'static str,
    hold: Duration,
    on_unique: Option<DomainError>,
) -> tokio::task::JoinHandle<Result<(), StoreError>> {
    tokio::spawn(async move {
        write(&*db, move |tx| {
            tx.query("SELECT 1", &[])?;
            tx.execute_deferred(INSERT, &[text(key), text("slow")], on_unique)?;
            std::thread::sleep(hold);
            Ok(())
        })
        .await
    })
}

#[tokio::test]
async fn a_commit_rides_with_the_next_queued_job() {
    let Some(f) = single("a_commit_rides_with_the_next_queued_job").await else {
        return;
    };
    let db = f.db.clone();
    // Every statement prepared once, so only the round trips of the writes count.
    write(&*db, |tx| {
        tx.query("SELECT 1", &[])?;
        tx.query("SELECT value FROM setting WHERE key = ?", &[text("c-")])?;
        tx.execute(INSERT, &[text("c-0"), text("0")])
    })
    .await
    .unwrap();
    let before = db.round_trips();
    let first = slow_write(db.clone(), "c-a", Duration::from_millis(300), None);
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Queued while the first holds the only connection: its first round trip carries the
    // first one's insert and COMMIT, and it sees them (a later transaction on the connection).
    let second = {
        let db = db.clone();
        tokio::spawn(async move {
            write(&*db, |tx| {
                let rows = tx.query("SELECT value FROM setting WHERE key = ?", &[text("c-a")])?;
                tx.execute_deferred(INSERT, &[text("c-b"), text("2")], None)?;
                Ok(rows)
            })
            .await
        })
    };
    first.await.unwrap().unwrap();
    let seen = second.await.unwrap().unwrap();
    assert_eq!(seen, vec![vec![text("slow")]]);
    // first: its query (with BEGIN); second: the first one's COMMIT + its own query; then its
    // COMMIT alone (nothing was queued behind it) -- three, where one by one it takes four.
    assert_eq!(db.round_trips() - before, 3);
    assert_eq!(
        settings(&db, "c-").await,
        vec!["c-0=0", "c-a=slow", "c-b=2"]
    );
    f.db.close().await;
}

#[tokio::test]
async fn a_carried_commit_that_fails_is_the_error_of_its_own_job() {
    let Some(f) = single("a_carried_commit_that_fails_is_the_error_of_its_own_job").await else {
        return;
    };
    let db = f.db.clone();
    write(&*db, |tx| tx.execute(INSERT, &[text("k-taken"), text("0")]))
        .await
        .unwrap();
    // The first job's deferred insert is a duplicate: found in the round trip of the job queued
    // behind it. The first job gets its own duplicate error; the second one still runs, once,
    // in a transaction of its own, and commits.
    let first = slow_write(
        db.clone(),
        "k-taken",
        Duration::from_millis(300),
        dup("key"),
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = {
        let db = db.clone();
        tokio::spawn(async move {
            write(&*db, |tx| {
                let rows = tx.query("SELECT COUNT(*) FROM setting WHERE key LIKE 'k-%'", &[])?;
                tx.execute_deferred(INSERT, &[text("k-b"), text("2")], None)?;
                Ok(rows)
            })
            .await
        })
    };
    let err = first.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, StoreError::Domain(DomainError::Duplicate(f)) if f == "key"),
        "{err:?}"
    );
    let counted = second.await.unwrap().unwrap();
    assert_eq!(counted, vec![vec![SqlValue::Int(1)]]);
    assert_eq!(settings(&db, "k-").await, vec!["k-b=2", "k-taken=0"]);
    // Any other failure ahead of a carried COMMIT (here NOT NULL): the same.
    let bad = {
        let db = db.clone();
        tokio::spawn(async move {
            write(&*db, move |tx| {
                tx.query("SELECT 1", &[])?;
                tx.execute_deferred(INSERT, &[text("k-c"), text("3")], None)?;
                tx.execute_deferred(INSERT, &[SqlValue::Null, text("x")], None)?;
                std::thread::sleep(Duration::from_millis(300));
                Ok(())
            })
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after = {
        let db = db.clone();
        tokio::spawn(async move {
            write(&*db, |tx| {
                tx.execute(INSERT, &[text("k-d"), text("4")])?;
                Ok(())
            })
            .await
        })
    };
    let err = bad.await.unwrap().unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("23502")),
        "{err:?}"
    );
    after.await.unwrap().unwrap();
    assert_eq!(
        settings(&db, "k-").await,
        vec!["k-b=2", "k-d=4", "k-taken=0"]
    );
    f.db.close().await;
}

#[tokio::test]
async fn concurrent_creates_share_round_trips_and_all_commit() {
    let Some(f) = common::fresh_with(
        "concurrent_creates_share_round_trips_and_all_commit",
        PgOptions {
            pool_size: 2,
            ..PgOptions::default()
        },
    )
    .await
    else {
        return;
    };
    let db = f.db.clone();
    let before = db.round_trips();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let key = format!("n-{t}-{i:02}");
                write(&*db, move |tx| {
                    tx.query("SELECT 1", &[])?;
                    tx.execute_deferred(INSERT, &[SqlValue::Text(key), text("v")], None)
                })
                .await
                .unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(settings(&db, "n-").await.len(), 200);
    // Two round trips each when run one by one; with jobs queued, COMMITs ride along.
    let trips = db.round_trips() - before;
    assert!(trips < 400, "{trips} round trips for 200 writes");
    f.db.close().await;
}
