//! Businesses (30-topology §5.2–§5.5) where the HTTP surface cannot look yet: archiving is
//! refused while the business takes part in an instance association (associations have no API
//! until issue 6, so the rows are written directly), deletion removes the association, unique
//! and instance rows of the whole topology, and every step leaves its audit records and change
//! events in the same transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use cmdb_domain::DomainError;
use cmdb_store::ops::{business, instances, objects, OpContext};
use cmdb_store::{SqlValue, StoreError, Tx};
use cmdb_store_sqlite::SqliteDb;
use serde_json::{json, Map, Value};

fn ctx() -> OpContext {
    OpContext {
        user: "admin".into(),
        supplier: "0".into(),
        app_code: "t".into(),
        now: 1_700_000_000_000,
    }
}

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

fn count(tx: &mut dyn Tx, sql: &str, params: &[SqlValue]) -> i64 {
    tx.query(sql, params).unwrap()[0][0].as_i64().unwrap()
}

fn associate(tx: &mut dyn Tx, id: i64, srv: i64, biz: i64) {
    tx.execute(
        "INSERT INTO instance_association (id, obj_asst_id, asst_id, obj_id, inst_id, asst_obj_id, asst_inst_id, supplier, created_at, doc) \
         VALUES (?, 'srv_belong_biz', 'belong', 'srv', ?, 'biz', ?, '0', 0, '{}')",
        &[SqlValue::Int(id), SqlValue::Int(srv), SqlValue::Int(biz)],
    )
    .unwrap();
}

#[tokio::test]
async fn archive_refused_while_associated_and_delete_removes_everything() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("t.db")).unwrap();
    cmdb_store::write(&db, cmdb_store::ops::seed::apply)
        .await
        .unwrap();
    let biz = cmdb_store::write(&db, |tx| {
        objects::create(tx, &ctx(), &obj(json!({"bk_obj_id": "srv", "bk_obj_name": "srv", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})))?;
        let srv = instances::create(tx, &ctx(), "srv", &obj(json!({"bk_inst_name": "s1"})))?
            ["bk_inst_id"]
            .as_i64()
            .unwrap();
        let biz = business::create(
            tx,
            &ctx(),
            &obj(json!({"bk_biz_name": "shop", "bk_biz_maintainer": "admin"})),
        )?["bk_biz_id"]
            .as_i64()
            .unwrap();
        associate(tx, 1, srv, biz);
        Ok::<_, StoreError>((srv, biz))
    })
    .await
    .unwrap();
    let (srv, biz) = biz;

    // associated to a live instance: archiving is refused and changes nothing
    let refused = cmdb_store::write(&db, move |tx| {
        business::update_status(tx, &ctx(), biz, business::DISABLED, None)
    })
    .await;
    assert!(
        matches!(
            refused,
            Err(StoreError::Domain(DomainError::InstBeenAssociated))
        ),
        "{refused:?}"
    );

    cmdb_store::write(&db, move |tx| {
        tx.execute("DELETE FROM instance_association WHERE id = 1", &[])?;
        business::update_status(tx, &ctx(), biz, business::DISABLED, None)?;
        // an association made after archiving goes with the business
        associate(tx, 2, srv, biz);
        business::delete(tx, &ctx(), &[biz])
    })
    .await
    .unwrap();

    cmdb_store::read(&db, move |tx| {
        let b = SqlValue::Int(biz);
        assert_eq!(
            count(tx, "SELECT COUNT(*) FROM instance WHERE biz_id = ? AND obj_id IN ('biz', 'set', 'module')", std::slice::from_ref(&b)),
            0
        );
        assert_eq!(
            count(tx, "SELECT COUNT(*) FROM instance_association", &[]),
            0
        );
        assert_eq!(
            count(tx, "SELECT COUNT(*) FROM instance_unique WHERE obj_id = 'biz' AND inst_id = ?", std::slice::from_ref(&b)),
            0
        );
        // the unrelated instance and the resource pool's topology stay
        assert_eq!(
            count(tx, "SELECT COUNT(*) FROM instance WHERE obj_id = 'srv'", &[]),
            1
        );
        assert_eq!(
            count(tx, "SELECT COUNT(*) FROM instance WHERE obj_id IN ('set', 'module')", &[]),
            4
        );
        // audit: create (business + set + 3 modules), archive, delete (business + set + 3 modules)
        let audits = tx
            .query(
                "SELECT audit_type, resource_type, action FROM audit_log WHERE biz_id = ? ORDER BY id",
                std::slice::from_ref(&b),
            )
            .unwrap();
        let audits: Vec<(String, String, String)> = audits
            .into_iter()
            .map(|r| {
                let s = |i: usize| r[i].as_str().unwrap().to_string();
                (s(0), s(1), s(2))
            })
            .collect();
        let row = |t: &str, r: &str, a: &str| (t.to_string(), r.to_string(), a.to_string());
        let mut want = vec![
            row("business", "business", "create"),
            row("business_resource", "set", "create"),
        ];
        want.extend((0..3).map(|_| row("business_resource", "module", "create")));
        want.push(row("business", "business", "archive"));
        want.push(row("business", "business", "delete"));
        want.push(row("business_resource", "set", "delete"));
        want.extend((0..3).map(|_| row("business_resource", "module", "delete")));
        assert_eq!(audits, want);
        let events = tx
            .query(
                "SELECT resource, event_type FROM change_event WHERE obj_id IN ('biz', 'set', 'module') ORDER BY id",
                &[],
            )
            .unwrap();
        let events: Vec<String> = events
            .into_iter()
            .map(|r| format!("{}:{}", r[0].as_str().unwrap(), r[1].as_str().unwrap()))
            .collect();
        assert_eq!(
            events,
            vec![
                "biz:create", "set:create", "module:create", "module:create", "module:create",
                "biz:update", "biz:delete", "set:delete", "module:delete", "module:delete",
                "module:delete",
            ]
        );
        Ok::<_, StoreError>(())
    })
    .await
    .unwrap();
}
