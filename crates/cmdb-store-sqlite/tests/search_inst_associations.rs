//! `search_inst` with conditions on another model restricts the target to instances associated
//! with the matching instances (20-instances §8). Associations have no API yet (issue 6), so the
//! rows are written directly here; the query path is the one the API uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use cmdb_store::ops::{instances, objects, OpContext};
use cmdb_store::{SqlValue, Tx};
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

fn create(tx: &mut dyn Tx, model: &str, name: &str) -> i64 {
    instances::create(tx, &ctx(), model, &obj(json!({"bk_inst_name": name}))).unwrap()["bk_inst_id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn conditions_on_an_associated_model() {
    let dir = tempfile::tempdir().unwrap();
    let db = SqliteDb::open(&dir.path().join("t.db")).unwrap();
    cmdb_store::write(&db, cmdb_store::ops::seed::apply)
        .await
        .unwrap();
    let found = cmdb_store::write(&db, |tx| {
        for m in ["srv", "rack"] {
            objects::create(tx, &ctx(), &obj(json!({"bk_obj_id": m, "bk_obj_name": m, "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})))?;
        }
        let s1 = create(tx, "srv", "s1");
        let s2 = create(tx, "srv", "s2");
        let _s3 = create(tx, "srv", "s3");
        let r1 = create(tx, "rack", "r1");
        let r2 = create(tx, "rack", "r2");
        for (id, (s, r)) in [(s1, r1), (s2, r2)].into_iter().enumerate() {
            tx.execute(
                "INSERT INTO instance_association (id, obj_asst_id, asst_id, obj_id, inst_id, asst_obj_id, asst_inst_id, supplier, created_at, doc) \
                 VALUES (?, 'srv_belong_rack', 'belong', 'srv', ?, 'rack', ?, '0', 0, '{}')",
                &[SqlValue::Int(id as i64 + 1), SqlValue::Int(s), SqlValue::Int(r)],
            )?;
        }
        let by_rack = instances::search_inst(tx, "srv", &obj(json!({
            "page": {"start": 0, "limit": 10},
            "condition": {"rack": [{"field": "bk_inst_name", "operator": "$eq", "value": "r2"}]}
        })))?;
        let both = instances::search_inst(tx, "srv", &obj(json!({
            "page": {"start": 0, "limit": 10},
            "condition": {
                "rack": [{"field": "bk_inst_name", "operator": "$regex", "value": "r"}],
                "srv": [{"field": "bk_inst_name", "operator": "$ne", "value": "s2"}]
            }
        })))?;
        let none = instances::search_inst(tx, "srv", &obj(json!({
            "page": {"start": 0, "limit": 10},
            "condition": {"rack": [{"field": "bk_inst_name", "operator": "$eq", "value": "r9"}]}
        })))?;
        Ok((by_rack, both, none))
    })
    .await
    .unwrap();
    let names = |f: &instances::Found| -> Vec<String> {
        f.info
            .iter()
            .map(|d| d["bk_inst_name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        (found.0.count, names(&found.0)),
        (Some(1), vec!["s2".to_string()])
    );
    assert_eq!(
        (found.1.count, names(&found.1)),
        (Some(1), vec!["s1".to_string()])
    );
    assert_eq!(
        (found.2.count, names(&found.2)),
        (Some(0), Vec::<String>::new())
    );
}
