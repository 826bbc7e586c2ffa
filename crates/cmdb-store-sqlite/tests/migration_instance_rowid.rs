//! Migration 0007 rebuilds `instance` as a rowid table (large documents made every key lookup of
//! the WITHOUT ROWID table read overflow pages). A database written before it must come out with
//! every row and document intact, the same indexes, and the expression indexes that the server
//! created at run time for unique rules (which no migration knows) re-created.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use cmdb_store::schema::{latest_version, SQLITE};
use cmdb_store::{Database, Dialect, SqlValue};
use cmdb_store_sqlite::SqliteDb;
use rusqlite::{params, Connection};

/// The `sql` of a schema object, if it exists.
fn schema_sql(tx: &mut dyn cmdb_store::Tx, name: &str) -> Option<String> {
    tx.query(
        "SELECT sql FROM sqlite_schema WHERE name = ?",
        &[SqlValue::Text(name.into())],
    )
    .unwrap()
    .first()
    .and_then(|r| r[0].as_str().map(str::to_string))
}

#[tokio::test]
async fn instance_rebuild_keeps_rows_and_runtime_indexes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    // A database as version 6 left it, with documents that overflow a 4 KiB page's key share.
    let attr_index =
        "CREATE INDEX instance_attr_serial ON instance (obj_id, json_extract(data, '$.serial'))";
    let docs: Vec<String> = (0..50)
        .map(|i| {
            format!(
                r#"{{"bk_inst_id":{i},"serial":"S{i}","notes":"{}"}}"#,
                "x".repeat(3000)
            )
        })
        .collect();
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(
            "CREATE TABLE schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .unwrap();
        for m in SQLITE.iter().filter(|m| m.version <= 6) {
            conn.execute_batch(m.sql).unwrap();
            conn.execute(
                "INSERT INTO schema_version VALUES (?1, 0)",
                params![m.version],
            )
            .unwrap();
        }
        conn.execute_batch(
            "INSERT INTO classification (cls_id, cls_name, doc) VALUES ('c', 'c', '{}');
             INSERT INTO object (obj_id, obj_name, cls_id, doc) VALUES ('gadget', 'gadget', 'c', '{}');",
        )
        .unwrap();
        for (i, doc) in docs.iter().enumerate() {
            conn.execute(
                "INSERT INTO instance (obj_id, inst_id, inst_name, biz_id, parent_id, created_at, \
                 updated_at, data, dflt) VALUES ('gadget', ?1, ?2, ?3, 0, 1, 2, ?4, ?5)",
                params![
                    i as i64,
                    format!("g{i}"),
                    (i % 3) as i64,
                    doc,
                    (i % 2) as i64
                ],
            )
            .unwrap();
        }
        conn.execute_batch(attr_index).unwrap();
        let sql: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'instance'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(sql.contains("WITHOUT ROWID"), "{sql}");
    }

    let db = SqliteDb::open(&path).unwrap();
    let docs_after = docs.clone();
    cmdb_store::read(&db, move |tx| {
        assert_eq!(tx.dialect(), Dialect::Sqlite);
        let version = tx.query("SELECT MAX(version) FROM schema_version", &[])?;
        assert_eq!(
            version[0][0].as_i64(),
            Some(latest_version(Dialect::Sqlite))
        );
        let table = schema_sql(tx, "instance").expect("instance table");
        assert!(!table.contains("WITHOUT ROWID"), "{table}");
        let rows = tx.query(
            "SELECT inst_id, inst_name, biz_id, created_at, updated_at, data, dflt FROM instance \
             WHERE obj_id = 'gadget' ORDER BY inst_id",
            &[],
        )?;
        assert_eq!(rows.len(), docs_after.len());
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r[0].as_i64(), Some(i as i64));
            assert_eq!(r[1].as_str(), Some(format!("g{i}").as_str()));
            assert_eq!(r[2].as_i64(), Some((i % 3) as i64));
            assert_eq!((r[3].as_i64(), r[4].as_i64()), (Some(1), Some(2)));
            assert_eq!(r[5].as_str(), Some(docs_after[i].as_str()));
            assert_eq!(r[6].as_i64(), Some((i % 2) as i64));
        }
        // The migrations' indexes, and the run-time one exactly as it was.
        for name in [
            "instance_name",
            "instance_id",
            "instance_parent",
            "instance_biz",
            "instance_topo",
            "host_module_biz_host",
        ] {
            assert!(schema_sql(tx, name).is_some(), "missing index {name}");
        }
        assert_eq!(
            schema_sql(tx, "instance_attr_serial").as_deref(),
            Some(attr_index)
        );
        // Lookups by the unique attribute use it.
        let plan = tx.query(
            "EXPLAIN QUERY PLAN SELECT inst_id FROM instance WHERE obj_id = 'gadget' \
             AND json_extract(data, '$.serial') = 'S7'",
            &[],
        )?;
        let plan: Vec<String> = plan
            .iter()
            .filter_map(|r| r.last().and_then(|c| c.as_str()).map(str::to_string))
            .collect();
        assert!(
            plan.iter().any(|p| p.contains("instance_attr_serial")),
            "{plan:?}"
        );
        Ok(())
    })
    .await
    .unwrap();
    db.close().await;
}
