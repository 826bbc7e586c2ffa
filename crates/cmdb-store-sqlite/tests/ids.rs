//! Id sequences on the embedded store: a bulk draw (`Tx::next_ids`) is one block of the same
//! counter single draws use, so ids stay unique and dense, and a rolled-back draw leaves nothing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use cmdb_store::{write, StoreError};
use cmdb_store_sqlite::SqliteDb;

#[tokio::test]
async fn bulk_draws_continue_the_single_sequence() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("t.db")).unwrap();
    let (first, block, after, empty) = write(&db, |tx| {
        let first = tx.next_id("bulk")?;
        let block = tx.next_ids("bulk", 1000)?;
        let after = tx.next_id("bulk")?;
        let empty = tx.next_ids("bulk", 0)?;
        Ok((first, block, after, empty))
    })
    .await
    .unwrap();
    assert_eq!(first, 1);
    assert_eq!(block, (2..=1001).collect::<Vec<i64>>());
    assert_eq!(after, 1002);
    assert!(empty.is_empty());
    // A sequence's first draw may be a bulk one.
    let fresh = write(&db, |tx| tx.next_ids("other", 3)).await.unwrap();
    assert_eq!(fresh, vec![1, 2, 3]);
    // A rolled-back block was never visible: the next draw starts where the last commit ended.
    let err = write(&db, |tx| {
        tx.next_ids("bulk", 500)?;
        Err::<(), _>(StoreError::Backend("abandon".into()))
    })
    .await;
    assert!(err.is_err());
    assert_eq!(write(&db, |tx| tx.next_id("bulk")).await.unwrap(), 1003);
}
