//! The SQLite and PostgreSQL migrations are kept at the same version numbers, so a database of
//! either backend written by one version of cmdb-rs has the same schema version. This fails when
//! a migration is added to one backend only, or numbered differently.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use std::collections::{BTreeMap, BTreeSet};

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

/// The tables (with their columns) and indexes (with their table) a database has, as far as the
/// migrations' SQL text tells.
#[derive(Debug, Default, PartialEq)]
struct SchemaState {
    tables: BTreeMap<String, BTreeSet<String>>,
    indexes: BTreeMap<String, String>,
}

/// The statements of a migration: comments removed, white space folded, split at `;`.
fn statements(sql: &str) -> Vec<String> {
    let text: Vec<&str> = sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or_default())
        .collect();
    text.join(" ")
        .split(';')
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty())
        .collect()
}

/// The parts of a parenthesised list at depth 0 (`a INT, PRIMARY KEY (a, b)` → two parts).
fn top_level_parts(list: &str) -> Vec<String> {
    let (mut parts, mut cur, mut depth) = (Vec::new(), String::new(), 0i32);
    for ch in list.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur);
    parts.into_iter().map(|p| p.trim().to_string()).collect()
}

fn word_after<'a>(stmt: &'a str, prefix: &str) -> &'a str {
    let rest = &stmt[prefix.len()..];
    let rest = rest.strip_prefix("IF NOT EXISTS ").unwrap_or(rest);
    let rest = rest.strip_prefix("IF EXISTS ").unwrap_or(rest);
    rest.split(|c: char| c.is_whitespace() || c == '(')
        .next()
        .unwrap_or_default()
}

impl SchemaState {
    /// Applies one migration's DDL: CREATE TABLE / [UNIQUE] INDEX, DROP TABLE / INDEX, ALTER
    /// TABLE .. ADD COLUMN / RENAME TO. Any other ALTER fails the test, so a migration this
    /// reader does not understand cannot pass unread.
    fn apply(&mut self, sql: &str, name: &str) {
        for stmt in statements(sql) {
            let upper = stmt.to_uppercase();
            if upper.starts_with("CREATE TABLE ") {
                let table = word_after(&stmt, "CREATE TABLE ").to_string();
                let open = stmt.find('(').expect("CREATE TABLE without columns");
                let close = stmt.rfind(')').expect("CREATE TABLE without columns");
                let columns = top_level_parts(&stmt[open + 1..close])
                    .into_iter()
                    .filter(|p| {
                        let u = p.to_uppercase();
                        ![
                            "CONSTRAINT",
                            "UNIQUE",
                            "PRIMARY KEY",
                            "FOREIGN KEY",
                            "CHECK",
                        ]
                        .iter()
                        .any(|k| u.starts_with(k))
                    })
                    .filter_map(|p| p.split_whitespace().next().map(str::to_string))
                    .collect();
                self.tables.insert(table, columns);
            } else if upper.starts_with("CREATE INDEX ")
                || upper.starts_with("CREATE UNIQUE INDEX ")
            {
                let prefix = if upper.starts_with("CREATE INDEX ") {
                    "CREATE INDEX "
                } else {
                    "CREATE UNIQUE INDEX "
                };
                let index = word_after(&stmt, prefix).to_string();
                let on = upper.find(" ON ").expect("CREATE INDEX without ON");
                let table = word_after(&stmt[on..], " ON ").to_string();
                assert!(
                    self.tables.contains_key(&table),
                    "{name}: index {index} on unknown table {table}"
                );
                self.indexes.insert(index, table);
            } else if upper.starts_with("DROP TABLE ") {
                let table = word_after(&stmt, "DROP TABLE ").to_string();
                assert!(
                    self.tables.remove(&table).is_some(),
                    "{name}: drops unknown table {table}"
                );
                self.indexes.retain(|_, t| *t != table);
            } else if upper.starts_with("DROP INDEX ") {
                let index = word_after(&stmt, "DROP INDEX ").to_string();
                assert!(
                    self.indexes.remove(&index).is_some(),
                    "{name}: drops unknown index {index}"
                );
            } else if upper.starts_with("ALTER TABLE ") {
                let table = word_after(&stmt, "ALTER TABLE ").to_string();
                if let Some(pos) = upper.find(" RENAME TO ") {
                    let to = word_after(&stmt[pos..], " RENAME TO ").to_string();
                    let columns = self.tables.remove(&table).expect("rename of unknown table");
                    self.tables.insert(to.clone(), columns);
                    for t in self.indexes.values_mut().filter(|t| **t == table) {
                        *t = to.clone();
                    }
                } else {
                    let actions = top_level_parts(&stmt["ALTER TABLE ".len() + table.len()..]);
                    for action in actions {
                        let column = action
                            .strip_prefix("ADD COLUMN ")
                            .and_then(|a| a.split_whitespace().next())
                            .unwrap_or_else(|| {
                                panic!("{name}: ALTER this test cannot read: {stmt}")
                            });
                        self.tables
                            .get_mut(&table)
                            .expect("ALTER of unknown table")
                            .insert(column.to_string());
                    }
                }
            }
        }
    }
}

#[test]
fn both_backends_have_the_same_tables_columns_and_indexes_after_every_migration() {
    // The schema each backend has after migration N, read from the SQL: same table names, same
    // column names per table, same index names on the same tables. A migration may reach it
    // differently (SQLite rebuilds `instance` in 0007 to change how it is stored; PostgreSQL
    // needs no rebuild), but never end somewhere else.
    let (mut sqlite, mut postgres) = (SchemaState::default(), SchemaState::default());
    for (s, p) in migrations(Dialect::Sqlite)
        .iter()
        .zip(migrations(Dialect::Postgres))
    {
        sqlite.apply(s.sql, s.name);
        postgres.apply(p.sql, p.name);
        assert_eq!(
            sqlite.tables, postgres.tables,
            "tables or columns differ after {}",
            s.name
        );
        assert_eq!(
            sqlite.indexes, postgres.indexes,
            "indexes differ after {}",
            s.name
        );
    }
    assert!(sqlite.tables.contains_key("instance") && sqlite.indexes.contains_key("instance_topo"));
}
