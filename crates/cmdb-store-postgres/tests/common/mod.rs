//! Shared by the PostgreSQL integration tests: where the server is, and a fresh database per
//! test.
//!
//! The tests need `CMDB_TEST_POSTGRES_URL` (an admin URL, e.g. the one
//! `scripts/pg-test-cluster start` prints). Without it they print that they were skipped, unless
//! `CMDB_REQUIRE_POSTGRES=1`, in which case they fail.

#![allow(dead_code)]

use std::sync::Arc;

use cmdb_store::ops::OpContext;
use cmdb_store_postgres::{create_test_database, PgDb, PgOptions, TestDatabase};

/// The admin URL, or `None` (after saying so) when the tests are to be skipped.
pub fn admin_url(test: &str) -> Option<String> {
    match std::env::var("CMDB_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u.trim().to_string()),
        _ => {
            if std::env::var("CMDB_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!(
                    "{test}: CMDB_REQUIRE_POSTGRES=1 but CMDB_TEST_POSTGRES_URL is not set \
                     (export CMDB_TEST_POSTGRES_URL=$(scripts/pg-test-cluster start))"
                );
            }
            eprintln!(
                "SKIPPED {test}: CMDB_TEST_POSTGRES_URL is not set \
                 (export CMDB_TEST_POSTGRES_URL=$(scripts/pg-test-cluster start))"
            );
            None
        }
    }
}

/// A fresh database and a migrated [`PgDb`] on it.
pub struct Fresh {
    pub db: Arc<PgDb>,
    pub url: String,
    // Dropped last: drops the database.
    pub guard: TestDatabase,
}

impl Fresh {
    /// Another, independent `PgDb` on the same database (as a second process would have).
    pub async fn second(&self, pool_size: usize) -> Arc<PgDb> {
        Arc::new(
            PgDb::connect_with(
                &self.url,
                PgOptions {
                    pool_size,
                    ..PgOptions::default()
                },
            )
            .await
            .expect("second connect"),
        )
    }
}

/// Creates a database and connects to it, or `None` when skipping.
pub async fn fresh(test: &str) -> Option<Fresh> {
    fresh_with(test, PgOptions::default()).await
}

pub async fn fresh_with(test: &str, options: PgOptions) -> Option<Fresh> {
    let admin = admin_url(test)?;
    let (url, guard) = create_test_database(&admin)
        .await
        .expect("create test database");
    let db = PgDb::connect_with(&url, options)
        .await
        .expect("connect + migrate");
    Some(Fresh {
        db: Arc::new(db),
        url,
        guard,
    })
}

/// Creates an empty database without connecting (for tests of the connect path).
pub async fn empty(test: &str) -> Option<(String, TestDatabase)> {
    let admin = admin_url(test)?;
    Some(
        create_test_database(&admin)
            .await
            .expect("create test database"),
    )
}

pub fn ctx() -> OpContext {
    OpContext {
        user: "admin".into(),
        supplier: "0".into(),
        app_code: "test".into(),
        now: cmdb_domain::time::now_millis(),
    }
}
