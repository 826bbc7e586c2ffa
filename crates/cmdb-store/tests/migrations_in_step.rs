//! The SQLite and PostgreSQL migrations are kept at the same version numbers, so a database of
//! either backend written by one version of cmdb-rs has the same schema version. This fails when
//! a migration is added to one backend only, or numbered differently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use cmdb_store::schema::{latest_version, migrations};
use cmdb_store::Dialect;

fn versions(d: Dialect) -> Vec<(i64, &'static str)> {
    migrations(d).iter().map(|m| (m.version, m.name)).collect()
}

#[test]
fn both_backends_have_the_same_migration_versions() {
    let sqlite = versions(Dialect::Sqlite);
    let postgres = versions(Dialect::Postgres);
    assert!(!sqlite.is_empty(), "no SQLite migrations");
    assert_eq!(
        sqlite.iter().map(|v| v.0).collect::<Vec<_>>(),
        postgres.iter().map(|v| v.0).collect::<Vec<_>>(),
        "migration versions differ between SQLite {sqlite:?} and PostgreSQL {postgres:?}"
    );
    // Same file names too, so the twins are easy to find.
    assert_eq!(sqlite, postgres, "migration file names differ");
    assert_eq!(
        latest_version(Dialect::Sqlite),
        latest_version(Dialect::Postgres)
    );
}

#[test]
fn versions_start_at_one_and_increase() {
    // Strictly increasing, not necessarily consecutive: parallel branches reserve numbers
    // (0003 belongs to the hosts branch), and `migrate` applies every version not yet recorded.
    for d in [Dialect::Sqlite, Dialect::Postgres] {
        let mut last = 0;
        for m in migrations(d) {
            assert!(
                m.version > last && (last > 0 || m.version == 1),
                "{d:?} migration {}",
                m.name
            );
            last = m.version;
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{d:?} migration {} is not named after its version",
                m.name
            );
            assert!(
                !m.sql.trim().is_empty(),
                "{d:?} migration {} is empty",
                m.name
            );
        }
    }
}

#[test]
fn both_backends_create_the_same_tables_and_indexes() {
    // A cheap structural check: every `CREATE TABLE` / `CREATE INDEX` name of one backend's
    // migration N appears in the other's migration N.
    fn names(sql: &str, what: &str) -> Vec<String> {
        let mut out: Vec<String> = sql
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with(what))
            .filter_map(|l| l[what.len()..].split_whitespace().next())
            .map(|n| n.trim_end_matches('(').to_string())
            .collect();
        out.sort();
        out
    }
    for (s, p) in migrations(Dialect::Sqlite)
        .iter()
        .zip(migrations(Dialect::Postgres))
    {
        for what in ["CREATE TABLE ", "CREATE INDEX ", "CREATE UNIQUE INDEX "] {
            assert_eq!(
                names(s.sql, what),
                names(p.sql, what),
                "{what}in migration {} differs",
                s.name
            );
        }
    }
}

#[test]
fn both_backends_give_each_table_the_same_columns() {
    // Column names per table, read from the `CREATE TABLE name (` blocks (one column a line).
    fn columns(sql: &str) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for block in sql.split("CREATE TABLE ").skip(1) {
            let name = block
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_string();
            // The body ends at the line that closes the parenthesis (`);`, `) WITHOUT ROWID;`).
            let mut cols: Vec<String> = block
                .lines()
                .skip(1)
                .take_while(|l| !l.trim_start().starts_with(')'))
                .map(|l| l.split("--").next().unwrap_or_default().trim())
                .filter(|l| !l.is_empty())
                .filter(|l| {
                    let u = l.to_uppercase();
                    !(u.starts_with("CONSTRAINT")
                        || u.starts_with("UNIQUE")
                        || u.starts_with("PRIMARY KEY"))
                })
                .filter_map(|l| l.split_whitespace().next())
                .map(|c| c.trim_end_matches(',').to_string())
                .collect();
            cols.sort();
            out.push((name, cols));
        }
        out.sort();
        out
    }
    for (s, p) in migrations(Dialect::Sqlite)
        .iter()
        .zip(migrations(Dialect::Postgres))
    {
        assert_eq!(
            columns(s.sql),
            columns(p.sql),
            "columns differ in migration {}",
            s.name
        );
    }
}
