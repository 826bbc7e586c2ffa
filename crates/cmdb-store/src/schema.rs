//! Versioned schema migrations, embedded in the binary and applied at start inside one
//! transaction. Each backend has its own SQL files, kept at the same version numbers (a test
//! compares the two lists), so a database written by one version of cmdb-rs is always either
//! current or upgradable.

use crate::{Dialect, SqlValue, StoreError, Tx};

/// One migration: version number and its SQL.
pub struct Migration {
    /// Strictly increasing, starting at 1.
    pub version: i64,
    /// File name, for logs.
    pub name: &'static str,
    /// Statements separated by `;`.
    pub sql: &'static str,
}

/// The SQLite migrations.
pub const SQLITE: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../migrations/sqlite/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_topology_columns.sql",
        sql: include_str!("../migrations/sqlite/0002_topology_columns.sql"),
    },
    Migration {
        version: 3,
        name: "0003_event_chain.sql",
        sql: include_str!("../migrations/sqlite/0003_event_chain.sql"),
    },
    Migration {
        version: 4,
        name: "0004_hosts.sql",
        sql: include_str!("../migrations/sqlite/0004_hosts.sql"),
    },
    Migration {
        version: 5,
        name: "0005_association_slots.sql",
        sql: include_str!("../migrations/sqlite/0005_association_slots.sql"),
    },
    Migration {
        version: 6,
        name: "0006_events_written_sealed.sql",
        sql: include_str!("../migrations/sqlite/0006_events_written_sealed.sql"),
    },
    Migration {
        version: 7,
        name: "0007_instance_rowid_host_counts.sql",
        sql: include_str!("../migrations/sqlite/0007_instance_rowid_host_counts.sql"),
    },
    Migration {
        version: 8,
        name: "0008_event_outbox.sql",
        sql: include_str!("../migrations/sqlite/0008_event_outbox.sql"),
    },
];

/// The PostgreSQL migrations: same version numbers as [`SQLITE`].
pub const POSTGRES: &[Migration] = &[
    Migration {
        version: 1,
        name: "0001_init.sql",
        sql: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        name: "0002_topology_columns.sql",
        sql: include_str!("../migrations/postgres/0002_topology_columns.sql"),
    },
    Migration {
        version: 3,
        name: "0003_event_chain.sql",
        sql: include_str!("../migrations/postgres/0003_event_chain.sql"),
    },
    Migration {
        version: 4,
        name: "0004_hosts.sql",
        sql: include_str!("../migrations/postgres/0004_hosts.sql"),
    },
    Migration {
        version: 5,
        name: "0005_association_slots.sql",
        sql: include_str!("../migrations/postgres/0005_association_slots.sql"),
    },
    Migration {
        version: 6,
        name: "0006_events_written_sealed.sql",
        sql: include_str!("../migrations/postgres/0006_events_written_sealed.sql"),
    },
    Migration {
        version: 7,
        name: "0007_instance_rowid_host_counts.sql",
        sql: include_str!("../migrations/postgres/0007_instance_rowid_host_counts.sql"),
    },
    Migration {
        version: 8,
        name: "0008_event_outbox.sql",
        sql: include_str!("../migrations/postgres/0008_event_outbox.sql"),
    },
];

/// The migrations for `dialect`.
pub fn migrations(dialect: Dialect) -> &'static [Migration] {
    match dialect {
        Dialect::Sqlite => SQLITE,
        Dialect::Postgres => POSTGRES,
    }
}

/// The version a fully migrated database has.
pub fn latest_version(dialect: Dialect) -> i64 {
    migrations(dialect).last().map_or(0, |m| m.version)
}

/// Applies every migration the database has not recorded yet; returns the resulting version.
/// Refuses a database newer than this binary rather than guessing.
pub fn migrate(tx: &mut dyn Tx) -> Result<i64, StoreError> {
    let dialect = tx.dialect();
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )?;
    let applied: Vec<i64> = tx
        .query("SELECT version FROM schema_version", &[])?
        .iter()
        .filter_map(|r| r.first().and_then(SqlValue::as_i64))
        .collect();
    let current = applied.iter().copied().max().unwrap_or(0);
    let latest = latest_version(dialect);
    if current > latest {
        return Err(StoreError::Corrupt(format!(
            "database schema version {current} is newer than this binary supports ({latest})"
        )));
    }
    // Every migration not yet recorded, in order -- not only those above the highest applied:
    // versions are reserved by parallel branches, so a database may have 4 before 3 exists.
    let pending: Vec<&Migration> = migrations(dialect)
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .collect();
    if pending.is_empty() {
        return Ok(latest);
    }
    let runtime = runtime_indexes(tx)?;
    for m in pending {
        tracing::info!(version = m.version, name = m.name, "applying migration");
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
            &[
                SqlValue::Int(m.version),
                SqlValue::Int(cmdb_domain::time::now_millis()),
            ],
        )?;
    }
    restore_runtime_indexes(tx, &runtime)?;
    Ok(latest)
}

/// The indexes of `instance` that no migration creates: the expression indexes
/// `instance_attr_<prop>` made at run time for attributes in unique rules
/// (`ops::uniques::ensure_attr_index`), as `(name, CREATE statement)`.
///
/// Why: SQLite cannot change how a table is stored in place; a migration that rebuilds
/// `instance` (0007) drops them with the old table, and the migration's SQL cannot know them.
/// PostgreSQL migrations never rebuild the table, so there is nothing to keep there.
fn runtime_indexes(tx: &mut dyn Tx) -> Result<Vec<(String, String)>, StoreError> {
    if tx.dialect() != Dialect::Sqlite {
        return Ok(Vec::new());
    }
    let rows = tx.query(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'instance' \
         AND name LIKE 'instance!_attr!_%' ESCAPE '!' AND sql IS NOT NULL ORDER BY name",
        &[],
    )?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let name = r.first()?.as_str()?.to_string();
            let sql = r.get(1)?.as_str()?.to_string();
            Some((name, sql))
        })
        .collect())
}

/// Re-creates the indexes of [`runtime_indexes`] that the migrations just applied dropped.
fn restore_runtime_indexes(
    tx: &mut dyn Tx,
    indexes: &[(String, String)],
) -> Result<(), StoreError> {
    for (name, sql) in indexes {
        let exists = tx.query(
            "SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?",
            &[SqlValue::Text(name.clone())],
        )?;
        if exists.is_empty() {
            tracing::info!(index = %name, "re-creating index after migration");
            tx.execute_batch(sql)?;
        }
    }
    Ok(())
}

/// Gives SQLite's query planner fixed statistics for the indexes of the `instance` and
/// `instance_association` tables.
///
/// Why: without statistics SQLite rates an equality on one index column as nearly as selective
/// as one on two (it assumes 10 rows against 9), so it picks an index for a side benefit over
/// the one that pins the row. It rated `obj_id = ?` on the (covering) primary key as cheap as
/// `obj_id = ? AND json_extract(data, '$.x') = ?` on an expression index, and scanned a whole
/// model for an equality filter on a unique attribute; and it read the links of one instance
/// to a model (`search_inst_asst_object_inst_base_info`) through `(asst_obj_id, asst_inst_id)`
/// with only the model bound -- every link to that model -- because that index also yields the
/// wanted order. Real `ANALYZE` results depend on what the data looked like when it ran; these
/// hints describe the shape that matters (many instances per model, few per attribute value;
/// many links per model, few per instance) and stay true as the data grows. Called after
/// migrations and whenever an expression index is created (in the same transaction, so every
/// connection reloads schema and statistics together).
pub fn sqlite_planner_hints(tx: &mut dyn Tx) -> Result<(), StoreError> {
    // ANALYZE of a tiny table creates sqlite_stat1 when it does not exist yet.
    tx.execute_batch("ANALYZE setting")?;
    for table in ["instance", "instance_association"] {
        let indexes = tx.query(
            "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = ?",
            &[SqlValue::from(table)],
        )?;
        tx.execute(
            "DELETE FROM sqlite_stat1 WHERE tbl = ?",
            &[SqlValue::from(table)],
        )?;
        // The table's own row (no index name) gives its size; `instance` is a rowid table
        // since migration 0007.
        let mut hints: Vec<(SqlValue, &str)> = vec![(SqlValue::Null, "1000000")];
        for row in indexes {
            let Some(name) = row.first().and_then(|c| c.as_str()).map(str::to_string) else {
                continue;
            };
            let Some(stat) = planner_hint(table, &name) else {
                continue;
            };
            hints.push((SqlValue::Text(name), stat));
        }
        for (idx, stat) in hints {
            tx.execute(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)",
                &[SqlValue::from(table), idx, SqlValue::from(stat)],
            )?;
        }
    }
    Ok(())
}

/// The `sqlite_stat1` figures of one index: rows, then rows per distinct value of each
/// leading column prefix. A million rows; 10,000 instances per model and 50,000 links per
/// model (or model association), 20 links per instance; unique keys 1.
fn planner_hint(table: &str, index: &str) -> Option<&'static str> {
    Some(match index {
        // The primary key (obj_id, inst_id) of `instance`.
        n if table == "instance" && n.starts_with("sqlite_autoindex_instance") => "1000000 10000 1",
        "instance_name" => "1000000 10000 2",
        "instance_id" => "1000000 1",
        "instance_parent" => "1000000 10000 20",
        "instance_biz" => "1000000 10000 1000",
        "instance_topo" => "1000000 10000 1000 20 1 1 1 1 1 1",
        n if n.starts_with("instance_attr_") => "1000000 10000 1",
        "instance_association_src" | "instance_association_dst" => "1000000 50000 20",
        "instance_association_kind" => "1000000 50000",
        "instance_association_pair" => "1000000 50000 20 1",
        "instance_association_src_slot" | "instance_association_dst_slot" => "100000 10000 1",
        "instance_association_inst" | "instance_association_asst_inst" => "1000000 20",
        _ => return None,
    })
}
