//! The PostgreSQL backend against a real server: migrations, seed, operations, unique races,
//! ids across processes, value mapping, transaction handling and connection recovery.
//!
//! Needs `CMDB_TEST_POSTGRES_URL` (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cmdb_domain::DomainError;
use cmdb_store::ops::{attributes, instances, objects, seed, uniques};
use cmdb_store::{read, write, Database, SqlValue, StoreError};
use cmdb_store_postgres::{PgDb, PgOptions};
use serde_json::{json, Map, Value};

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().cloned().expect("object")
}

async fn scalar(db: &PgDb, sql: &'static str, params: Vec<SqlValue>) -> SqlValue {
    read(db, move |tx| tx.query(sql, &params))
        .await
        .expect(sql)
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .unwrap_or(SqlValue::Null)
}

#[tokio::test]
async fn migrations_apply_once_even_when_processes_race() {
    let Some((url, _guard)) = common::empty("migrations_apply_once_even_when_processes_race").await
    else {
        return;
    };
    // Three processes starting at once on an empty database.
    let (a, b, c) = tokio::join!(
        PgDb::connect(&url),
        PgDb::connect(&url),
        PgDb::connect(&url)
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    let versions = read(&a, |tx| {
        tx.query("SELECT version FROM schema_version ORDER BY version", &[])
    })
    .await
    .unwrap();
    let latest = cmdb_store::schema::latest_version(cmdb_store::Dialect::Postgres);
    assert!(latest >= 3, "{latest}");
    assert_eq!(
        versions,
        (1..=latest)
            .map(|v| vec![SqlValue::Int(v)])
            .collect::<Vec<_>>()
    );
    // Again: nothing to do.
    let d = PgDb::connect(&url).await.unwrap();
    // The constraint names the operations rely on exist.
    let names: HashSet<String> = read(&d, |tx| {
        tx.query(
            "SELECT conname FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
            &[],
        )
    })
    .await
    .unwrap()
    .into_iter()
    .filter_map(|r| r[0].as_str().map(str::to_string))
    .collect();
    for n in [
        "classification_cls_id_key",
        "classification_cls_name_key",
        "object_obj_id_key",
        "object_obj_name_key",
        "attribute_property_id_key",
        "attribute_property_name_key",
        "attribute_group_group_id_key",
        "attribute_group_group_name_key",
        "instance_pkey",
        "instance_unique_pkey",
    ] {
        assert!(names.contains(n), "missing constraint {n}: {names:?}");
    }
    // Same indexes as SQLite.
    let indexes: HashSet<String> = read(&d, |tx| {
        tx.query(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'",
            &[],
        )
    })
    .await
    .unwrap()
    .into_iter()
    .filter_map(|r| r[0].as_str().map(str::to_string))
    .collect();
    for n in [
        "unique_rule_obj",
        "object_association_dst",
        "instance_name",
        "instance_id",
        "instance_parent",
        "instance_biz",
        "instance_unique_inst",
        "instance_association_src",
        "instance_association_dst",
        "instance_association_kind",
        "audit_log_time",
        "audit_log_resource",
        "change_event_resource",
        "change_event_time",
    ] {
        assert!(indexes.contains(n), "missing index {n}");
    }
    for db in [a, b, c, d] {
        db.close().await;
    }
}

#[tokio::test]
async fn seed_applies_once_even_when_processes_race() {
    let Some(f) = common::fresh("seed_applies_once_even_when_processes_race").await else {
        return;
    };
    let other = f.second(4).await;
    let (x, y) = tokio::join!(write(&*f.db, seed::apply), write(&*other, seed::apply));
    let mut outcomes = vec![x.unwrap(), y.unwrap()];
    outcomes.sort();
    assert_eq!(outcomes, vec![false, true], "exactly one process seeds");
    assert!(!write(&*f.db, seed::apply).await.unwrap());
    // Cloud areas 0 and 90000001 exist; the next cloud area id is 1.
    let plats = read(&*f.db, |tx| {
        tx.query(
            "SELECT inst_id FROM instance WHERE obj_id = 'plat' ORDER BY inst_id",
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(
        plats,
        vec![vec![SqlValue::Int(0)], vec![SqlValue::Int(90_000_001)]]
    );
    assert_eq!(write(&*f.db, |tx| tx.next_id("plat")).await.unwrap(), 1);
    // The built-in models exist and read back as records.
    let host = read(&*f.db, |tx| objects::get(tx, "host")).await.unwrap();
    assert!(host.is_some());
    f.db.close().await;
    other.close().await;
}

#[tokio::test]
async fn models_and_instances_through_the_operations() {
    let Some(f) = common::fresh("models_and_instances_through_the_operations").await else {
        return;
    };
    let db = &*f.db;
    assert!(write(db, seed::apply).await.unwrap());
    let ctx = common::ctx();
    let c = ctx.clone();
    let model = write(db, move |tx| {
        objects::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "switch", "bk_obj_name": "Switch",
                        "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "icon-cc-default"})),
        )
    })
    .await
    .unwrap();
    assert!(model.id > 0);
    // Duplicates of the model map to the right field.
    for (body, field) in [
        (
            json!({"bk_obj_id": "switch", "bk_obj_name": "Other", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"}),
            "bk_obj_id",
        ),
        (
            json!({"bk_obj_id": "switch2", "bk_obj_name": "Switch", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"}),
            "bk_obj_name",
        ),
    ] {
        let c = ctx.clone();
        let err = write(db, move |tx| objects::create(tx, &c, &obj(body)))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Domain(DomainError::Duplicate(f)) if f == field),
            "{err:?}"
        );
    }
    // Attributes, with duplicate detection on both unique columns.
    let c = ctx.clone();
    let serial = write(db, move |tx| {
        attributes::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "switch", "bk_property_id": "serial",
                        "bk_property_name": "Serial", "bk_property_type": "singlechar"})),
            None,
        )
    })
    .await
    .unwrap();
    let serial_id = serial["id"].as_i64().unwrap();
    let c = ctx.clone();
    write(db, move |tx| {
        attributes::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "switch", "bk_property_id": "ports",
                        "bk_property_name": "Ports", "bk_property_type": "int",
                        "option": {"min": "", "max": ""}})),
            None,
        )
    })
    .await
    .unwrap();
    for (body, field) in [
        (
            json!({"bk_obj_id": "switch", "bk_property_id": "serial", "bk_property_name": "X", "bk_property_type": "singlechar"}),
            "bk_property_id",
        ),
        (
            json!({"bk_obj_id": "switch", "bk_property_id": "serial2", "bk_property_name": "Serial", "bk_property_type": "singlechar"}),
            "bk_property_name",
        ),
    ] {
        let c = ctx.clone();
        let err = write(db, move |tx| attributes::create(tx, &c, &obj(body), None))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Domain(DomainError::Duplicate(f)) if f == field),
            "{err:?}"
        );
    }
    // A unique rule on `serial` (creates the expression index).
    let c = ctx.clone();
    write(db, move |tx| {
        uniques::create(
            tx,
            &c,
            "switch",
            &obj(json!({"keys": [{"key_kind": "property", "key_id": serial_id}]})),
        )
    })
    .await
    .unwrap();
    // Instances.
    let mut ids = Vec::new();
    for (i, name) in ["sw-a", "sw-b", "sw-c"].iter().enumerate() {
        let c = ctx.clone();
        let body = obj(json!({"bk_inst_name": name, "serial": format!("S{i}"), "ports": 24 + i}));
        let doc = write(db, move |tx| instances::create(tx, &c, "switch", &body))
            .await
            .unwrap();
        ids.push(doc["bk_inst_id"].as_i64().unwrap());
    }
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3);
    let c = ctx.clone();
    let err = write(db, move |tx| {
        instances::create(
            tx,
            &c,
            "switch",
            &obj(json!({"bk_inst_name": "sw-d", "serial": "S1"})),
        )
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::Duplicate(_))),
        "{err:?}"
    );
    // Batch create: one item fails, the others stay (savepoints).
    let c = ctx.clone();
    let batch = write(db, move |tx| {
        instances::batch_create(
            tx,
            &c,
            "switch",
            &[
                obj(json!({"bk_inst_name": "b1", "serial": "B1"})),
                obj(json!({"bk_inst_name": "b2", "serial": "S0"})),
                obj(json!({"bk_inst_name": "b3", "serial": "B3"})),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(batch.created.len(), 2, "{batch:?}");
    assert_eq!(batch.errors.len(), 1);
    assert_eq!(batch.errors[0].0, 1);
    // Searches: legacy condition, filter expressions with sort and paging.
    let found = read(db, |tx| {
        instances::search_by_object(tx, "switch", &obj(json!({"condition": {"serial": "S1"}})))
    })
    .await
    .unwrap();
    assert_eq!(found.count, Some(1));
    assert_eq!(found.info[0]["bk_inst_name"], "sw-b");
    let found = read(db, |tx| {
        instances::search_object_instances(
            tx,
            "switch",
            &obj(json!({
                "conditions": {"condition": "AND", "rules": [
                    {"field": "ports", "operator": "greater_or_equal", "value": 25},
                    {"field": "bk_inst_name", "operator": "begins_with", "value": "sw-"}]},
                "page": {"start": 0, "limit": 10, "sort": "-ports"}
            })),
            false,
        )
    })
    .await
    .unwrap();
    let names: Vec<&str> = found
        .info
        .iter()
        .map(|d| d["bk_inst_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["sw-c", "sw-b"]);
    let counted = read(db, |tx| {
        instances::search_object_instances(tx, "switch", &obj(json!({})), true)
    })
    .await
    .unwrap();
    assert_eq!(counted.count, Some(5));
    // Update (the unique key moves with it) and delete.
    let (a, b) = (ids[0], ids[1]);
    let c = ctx.clone();
    write(db, move |tx| {
        instances::update(
            tx,
            &c,
            "switch",
            a,
            &obj(json!({"serial": "S9", "ports": 48})),
        )
    })
    .await
    .unwrap();
    let c = ctx.clone();
    let err = write(db, move |tx| {
        instances::update(tx, &c, "switch", b, &obj(json!({"serial": "S9"})))
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Domain(DomainError::Duplicate(_))));
    let doc = read(db, move |tx| instances::get_doc(tx, "switch", a))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(doc["serial"], "S9");
    assert_eq!(doc["ports"], 48);
    let c = ctx.clone();
    write(db, move |tx| instances::delete(tx, &c, "switch", &[b]))
        .await
        .unwrap();
    assert!(read(db, move |tx| instances::get_doc(tx, "switch", b))
        .await
        .unwrap()
        .is_none());
    // S1 is free again.
    let c = ctx.clone();
    write(db, move |tx| {
        instances::create(
            tx,
            &c,
            "switch",
            &obj(json!({"bk_inst_name": "sw-e", "serial": "S1"})),
        )
    })
    .await
    .unwrap();
    // Deleting an attribute removes the field from every instance (`data - key`).
    let ports_id = read(db, |tx| attributes::of_model(tx, "switch", 0))
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.bk_property_id == "ports")
        .unwrap()
        .id;
    let c = ctx.clone();
    write(db, move |tx| attributes::delete(tx, &c, ports_id))
        .await
        .unwrap();
    let doc = read(db, move |tx| instances::get_doc(tx, "switch", a))
        .await
        .unwrap()
        .unwrap();
    assert!(!doc.contains_key("ports"), "{doc:?}");
    // Every write left its audit record.
    let audits = scalar(db, "SELECT COUNT(*) FROM audit_log", vec![]).await;
    assert!(audits.as_i64().unwrap() >= 10, "{audits:?}");
    f.db.close().await;
}

#[tokio::test]
async fn constraint_names_identify_the_column() {
    let Some(f) = common::fresh("constraint_names_identify_the_column").await else {
        return;
    };
    let db = &*f.db;
    let setup = "INSERT INTO classification (id, cls_id, cls_name, doc) VALUES (1, 'c1', 'C1', '{}');
                 INSERT INTO object (id, obj_id, obj_name, cls_id, doc) VALUES (1, 'o1', 'O1', 'c1', '{}');
                 INSERT INTO attribute (id, obj_id, biz_id, property_id, property_name, doc) VALUES (1, 'o1', 0, 'p1', 'P1', '{}');
                 INSERT INTO attribute_group (id, obj_id, biz_id, group_id, group_name, doc) VALUES (1, 'o1', 0, 'g1', 'G1', '{}')";
    write(db, move |tx| tx.execute_batch(setup)).await.unwrap();
    // (statement, the needle that must match, needles that must not)
    let cases: Vec<(&'static str, &'static str, &'static [&'static str])> = vec![
        (
            "INSERT INTO classification (id, cls_id, cls_name, doc) VALUES (2, 'c1', 'C2', '{}')",
            "cls_id",
            &["cls_name"],
        ),
        (
            "INSERT INTO classification (id, cls_id, cls_name, doc) VALUES (2, 'c2', 'C1', '{}')",
            "cls_name",
            &["cls_id"],
        ),
        (
            "INSERT INTO object (id, obj_id, obj_name, cls_id, doc) VALUES (2, 'o1', 'O2', 'c1', '{}')",
            "obj_id",
            &["obj_name"],
        ),
        (
            "INSERT INTO object (id, obj_id, obj_name, cls_id, doc) VALUES (2, 'o2', 'O1', 'c1', '{}')",
            "obj_name",
            &["obj_id"],
        ),
        (
            "INSERT INTO attribute (id, obj_id, biz_id, property_id, property_name, doc) VALUES (2, 'o1', 0, 'p1', 'P2', '{}')",
            "property_id",
            &["property_name", "obj_id", "obj_name"],
        ),
        (
            "INSERT INTO attribute (id, obj_id, biz_id, property_id, property_name, doc) VALUES (2, 'o1', 0, 'p2', 'P1', '{}')",
            "property_name",
            &["property_id", "obj_id", "obj_name"],
        ),
        (
            "INSERT INTO attribute_group (id, obj_id, biz_id, group_id, group_name, doc) VALUES (2, 'o1', 0, 'g1', 'G2', '{}')",
            "group_id",
            &["group_name", "obj_id"],
        ),
        (
            "INSERT INTO attribute_group (id, obj_id, biz_id, group_id, group_name, doc) VALUES (2, 'o1', 0, 'g2', 'G1', '{}')",
            "group_name",
            &["group_id", "obj_id"],
        ),
    ];
    for (sql, yes, no) in cases {
        let err = write(db, move |tx| tx.execute(sql, &[])).await.unwrap_err();
        assert!(
            matches!(err, StoreError::UniqueViolation { .. }),
            "{sql}: {err:?}"
        );
        assert!(err.is_unique_on(yes), "{sql}: {err:?} should match {yes}");
        for n in no {
            assert!(!err.is_unique_on(n), "{sql}: {err:?} must not match {n}");
        }
    }
    // Unnamed classifications (NULL names) may coexist.
    write(db, |tx| {
        tx.execute_batch(
            "INSERT INTO classification (id, cls_id, cls_name, doc) VALUES (3, 'c3', NULL, '{}');
             INSERT INTO classification (id, cls_id, cls_name, doc) VALUES (4, 'c4', NULL, '{}')",
        )
    })
    .await
    .unwrap();
    f.db.close().await;
}

#[tokio::test]
async fn unique_violation_between_concurrent_transactions() {
    let Some(f) = common::fresh("unique_violation_between_concurrent_transactions").await else {
        return;
    };
    let other = f.second(4).await;
    // T1 inserts and holds its transaction open; T2 inserts the same key meanwhile, waits for
    // T1, and loses with the unique error once T1 commits.
    let db1 = f.db.clone();
    let t1 = tokio::spawn(async move {
        write(&*db1, |tx| {
            tx.execute(
                "INSERT INTO setting (key, value) VALUES ('race', 'first')",
                &[],
            )?;
            std::thread::sleep(Duration::from_millis(400));
            Ok(())
        })
        .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let t2 = write(&*other, |tx| {
        tx.execute(
            "INSERT INTO setting (key, value) VALUES ('race', 'second')",
            &[],
        )
    })
    .await;
    t1.await.unwrap().unwrap();
    let err = t2.unwrap_err();
    assert!(err.is_unique_on("setting_pkey"), "{err:?}");

    // The same through the operations: many racing creates sharing a unique value, spread over
    // two "processes": exactly one wins, the others get the duplicate error.
    assert!(write(&*f.db, seed::apply).await.unwrap());
    let ctx = common::ctx();
    let c = ctx.clone();
    write(&*f.db, move |tx| {
        objects::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "rack", "bk_obj_name": "Rack",
                        "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})),
        )
    })
    .await
    .unwrap();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let db = if i % 2 == 0 {
            f.db.clone()
        } else {
            other.clone()
        };
        let c = ctx.clone();
        tasks.push(tokio::spawn(async move {
            write(&*db, move |tx| {
                instances::create(tx, &c, "rack", &obj(json!({"bk_inst_name": "same-name"})))
            })
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::Domain(DomainError::Duplicate(_))) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 1);
    let n = scalar(
        &f.db,
        "SELECT COUNT(*) FROM instance WHERE obj_id = 'rack'",
        vec![],
    )
    .await;
    assert_eq!(n, SqlValue::Int(1));
    f.db.close().await;
    other.close().await;
}

/// Runs `draw` `rounds` times in each of `tasks` concurrent tasks, alternating between two
/// processes' handles on one database, and returns every id drawn, each checked to be new.
async fn draws_on_both<F>(
    a: &Arc<PgDb>,
    b: &Arc<PgDb>,
    tasks: usize,
    rounds: usize,
    draw: F,
) -> HashSet<i64>
where
    F: Fn(&mut dyn cmdb_store::Tx) -> Result<Vec<i64>, StoreError> + Clone + Send + Sync + 'static,
{
    let mut running = Vec::new();
    for i in 0..tasks {
        let db = if i % 2 == 0 { a.clone() } else { b.clone() };
        let draw = draw.clone();
        running.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..rounds {
                got.extend(write(&*db, draw.clone()).await.unwrap());
            }
            got
        }));
    }
    let mut seen = HashSet::new();
    for t in running {
        for id in t.await.unwrap() {
            assert!(seen.insert(id), "id {id} handed out twice");
        }
    }
    seen
}

#[tokio::test]
async fn id_blocks_are_unique_across_processes_and_save_statements() {
    let Some(f) = common::fresh("id_blocks_are_unique_across_processes_and_save_statements").await
    else {
        return;
    };
    let other = f.second(4).await;
    let trips = f.db.round_trips() + other.round_trips();
    let seen = draws_on_both(&f.db, &other, 8, 50, |tx| {
        (0..4).map(|_| tx.next_id("inst")).collect()
    })
    .await;
    assert_eq!(seen.len(), 1600);
    // Values are drawn in growing blocks: far fewer statements than ids (one per id before).
    let used = f.db.round_trips() + other.round_trips() - trips;
    assert!(used < 200, "{used} round trips for 1600 ids");
    f.db.close().await;
    other.close().await;
}

#[tokio::test]
async fn bulk_ids_are_unique_across_processes_and_take_one_statement() {
    let Some(f) =
        common::fresh("bulk_ids_are_unique_across_processes_and_take_one_statement").await
    else {
        return;
    };
    let other = f.second(4).await;
    // Bulk draws beside single draws (served from the process's reserve).
    let seen = draws_on_both(&f.db, &other, 4, 20, |tx| {
        let mut ids = tx.next_ids("inst_asst", 250)?;
        ids.push(tx.next_id("inst_asst")?);
        assert!(tx.next_ids("inst_asst", 0)?.is_empty());
        Ok(ids)
    })
    .await;
    assert_eq!(seen.len(), 4 * 20 * 251);
    // One statement for a block of 10,000, also from a sequence this call creates.
    let trips = f.db.round_trips();
    let ids = write(&*f.db, |tx| tx.next_ids("bulk_new", 10_000))
        .await
        .unwrap();
    assert_eq!(ids, (1..=10_000).collect::<Vec<i64>>());
    assert!(
        f.db.round_trips() - trips < 10,
        "{}",
        f.db.round_trips() - trips
    );
    assert_eq!(
        write(&*f.db, |tx| tx.next_id("bulk_new")).await.unwrap(),
        10_001
    );
    f.db.close().await;
    other.close().await;
}

#[tokio::test]
async fn values_of_a_sequence_created_by_a_rolled_back_transaction_are_not_kept() {
    let Some(f) =
        common::fresh("values_of_a_sequence_created_by_a_rolled_back_transaction_are_not_kept")
            .await
    else {
        return;
    };
    // The transaction creating the sequence draws several values and rolls back: the sequence
    // is gone, and none of its values may be handed out later beside the new sequence's.
    let err = write(&*f.db, |tx| {
        for _ in 0..3 {
            tx.next_id("vanishing")?;
        }
        Err::<(), _>(StoreError::Backend("abandon".into()))
    })
    .await;
    assert!(err.is_err());
    let mut seen = HashSet::new();
    for _ in 0..20 {
        let id = write(&*f.db, |tx| tx.next_id("vanishing")).await.unwrap();
        assert!(seen.insert(id), "id {id} handed out twice");
    }
    assert_eq!(seen.iter().max(), Some(&20));
    f.db.close().await;
}

#[tokio::test]
async fn ids_are_unique_across_processes_and_never_reused() {
    let Some(f) = common::fresh("ids_are_unique_across_processes_and_never_reused").await else {
        return;
    };
    let other = f.second(4).await;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let db = if i % 2 == 0 {
            f.db.clone()
        } else {
            other.clone()
        };
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..40 {
                // `inst` exists from the migration; `brand_new` is created on first use, by
                // whichever transaction gets there first.
                let pair = write(&*db, |tx| {
                    Ok((tx.next_id("inst")?, tx.next_id("brand_new")?))
                })
                .await
                .unwrap();
                got.push(pair);
            }
            got
        }));
    }
    let mut inst = HashSet::new();
    let mut fresh = HashSet::new();
    for t in tasks {
        for (a, b) in t.await.unwrap() {
            assert!(inst.insert(a), "inst id {a} handed out twice");
            assert!(fresh.insert(b), "brand_new id {b} handed out twice");
        }
    }
    assert_eq!(inst.len(), 320);
    assert_eq!(fresh.len(), 320);
    assert_eq!(*fresh.iter().min().unwrap(), 1);
    // An id taken by a rolled-back transaction is not handed out again (ids of one process
    // increase; values drawn and never used are gaps).
    let before = write(&*f.db, |tx| tx.next_id("inst")).await.unwrap();
    let abandoned = Arc::new(AtomicI64::new(0));
    let a = abandoned.clone();
    let err = write(&*f.db, move |tx| {
        a.store(tx.next_id("inst")?, Ordering::SeqCst);
        Err::<(), _>(StoreError::Backend("abandon".into()))
    })
    .await;
    assert!(err.is_err());
    let abandoned = abandoned.load(Ordering::SeqCst);
    let after = write(&*f.db, |tx| tx.next_id("inst")).await.unwrap();
    assert!(
        before < abandoned && abandoned < after,
        "{before} {abandoned} {after}"
    );
    // Invalid names never reach SQL.
    assert!(write(&*f.db, |tx| tx.next_id("x; DROP TABLE instance"))
        .await
        .is_err());
    f.db.close().await;
    other.close().await;
}

#[tokio::test]
async fn values_bind_and_read_by_type() {
    let Some(f) = common::fresh("values_bind_and_read_by_type").await else {
        return;
    };
    let db = &*f.db;
    let one = |sql: &'static str, p: Vec<SqlValue>| async move {
        read(db, move |tx| tx.query(sql, &p))
            .await
            .map(|rows| rows.into_iter().next().unwrap().into_iter().next().unwrap())
    };
    use SqlValue::*;
    let cases: Vec<(&'static str, Vec<SqlValue>, SqlValue)> = vec![
        ("SELECT CAST(? AS INTEGER) + 1", vec![Int(41)], Int(42)),
        ("SELECT CAST(? AS SMALLINT)", vec![Int(-3)], Int(-3)),
        ("SELECT CAST(? AS BIGINT)", vec![Float(7.0)], Int(7)),
        ("SELECT CAST(? AS BIGINT)", vec![Bool(true)], Int(1)),
        ("SELECT CAST(? AS REAL)", vec![Float(1.5)], Float(1.5)),
        (
            "SELECT CAST(? AS DOUBLE PRECISION)",
            vec![Int(2)],
            Float(2.0),
        ),
        ("SELECT CAST(? AS BOOLEAN)", vec![Bool(true)], Bool(true)),
        ("SELECT CAST(? AS BOOLEAN)", vec![Int(0)], Bool(false)),
        (
            "SELECT CAST(? AS TEXT)",
            vec![Text("ä'?".into())],
            Text("ä'?".into()),
        ),
        ("SELECT CAST(? AS TEXT)", vec![Int(5)], Text("5".into())),
        (
            "SELECT CAST(? AS VARCHAR)",
            vec![Text("v".into())],
            Text("v".into()),
        ),
        (
            "SELECT ?",
            vec![Text("untyped".into())],
            Text("untyped".into()),
        ),
        (
            "SELECT CAST(? AS JSONB)",
            vec![Json(json!({"a": [1, "x", null]}))],
            Json(json!({"a": [1, "x", null]})),
        ),
        (
            "SELECT CAST(? AS JSONB)",
            vec![Text("{\"a\": 1}".into())],
            Json(json!({"a": 1})),
        ),
        ("SELECT CAST(? AS JSONB)", vec![Int(5)], Json(json!(5))),
        (
            "SELECT CAST(? AS JSON)",
            vec![Json(json!([true]))],
            Json(json!([true])),
        ),
        // JSON null is a value; SQL NULL is the absence of one.
        (
            "SELECT CAST(? AS JSONB)",
            vec![Json(Value::Null)],
            Json(Value::Null),
        ),
        ("SELECT CAST(? AS JSONB)", vec![Null], Null),
        ("SELECT CAST(? AS BIGINT)", vec![Null], Null),
        ("SELECT CAST(? AS TEXT) IS NULL", vec![Null], Bool(true)),
        (
            "SELECT CAST(? AS TEXT)",
            vec![Json(json!("s"))],
            Text("\"s\"".into()),
        ),
        ("SELECT CAST(1.25 AS NUMERIC)", vec![], Float(1.25)),
        (
            "SELECT CAST(-12345678.5 AS NUMERIC)",
            vec![],
            Float(-12345678.5),
        ),
        (
            "SELECT COUNT(*) FROM schema_version",
            vec![],
            Int(cmdb_store::schema::latest_version(
                cmdb_store::Dialect::Postgres,
            )),
        ),
        ("SELECT CAST('n' AS NAME)", vec![], Text("n".into())),
        ("SELECT CAST(NULL AS JSONB)", vec![], Null),
    ];
    for (sql, params, want) in cases {
        let got = one(sql, params.clone()).await;
        assert_eq!(got.as_ref().ok(), Some(&want), "{sql} {params:?}: {got:?}");
    }
    // Clear errors instead of wrong values.
    for (sql, params, needle) in [
        ("SELECT CAST(? AS INTEGER)", vec![Int(1 << 40)], "int4"),
        ("SELECT CAST(? AS BIGINT)", vec![Float(1.5)], "whole number"),
        (
            "SELECT CAST(? AS JSONB)",
            vec![Text("nope".into())],
            "not JSON",
        ),
        (
            "SELECT CAST(? AS BIGINT)",
            vec![Text("1".into())],
            "cannot bind text",
        ),
        ("SELECT CAST(? AS BIGINT)", vec![], "placeholders"),
        ("SELECT now()", vec![], "unsupported result column type"),
    ] {
        let err = one(sql, params).await.unwrap_err();
        assert!(
            matches!(&err, StoreError::Backend(m) if m.contains(needle)),
            "{sql}: {err:?}"
        );
    }
    // A SQL error names the SQLSTATE and the server's message.
    let err = one("SELECT * FROM no_such_table", vec![])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("42P01")),
        "{err:?}"
    );
    f.db.close().await;
}

#[tokio::test]
async fn transactions_commit_roll_back_and_never_commit_an_aborted_one() {
    let Some(f) =
        common::fresh("transactions_commit_roll_back_and_never_commit_an_aborted_one").await
    else {
        return;
    };
    let db = &*f.db;
    let keys = || async {
        read(db, |tx| {
            tx.query("SELECT key FROM setting ORDER BY key", &[])
        })
        .await
        .unwrap()
        .into_iter()
        .map(|r| r[0].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
    };
    // A failing job rolls back.
    let err = write(db, |tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('a', '1')", &[])?;
        Err::<(), _>(StoreError::Backend("job failed".into()))
    })
    .await;
    assert!(err.is_err());
    // A job that ignores a failed statement: PostgreSQL would turn COMMIT into ROLLBACK; the
    // backend reports it instead of acknowledging.
    let err = write(db, |tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('b', '1')", &[])?;
        let _ = tx.execute("INSERT INTO no_such_table VALUES (1)", &[]);
        Ok(())
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("ignored a failed statement")),
        "{err:?}"
    );
    // Recovering through a savepoint is fine (what batch create does).
    write(db, |tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('c', '1')", &[])?;
        tx.execute_batch("SAVEPOINT s")?;
        assert!(tx
            .execute("INSERT INTO setting (key, value) VALUES ('c', '2')", &[])
            .is_err());
        tx.execute_batch("ROLLBACK TO SAVEPOINT s; RELEASE SAVEPOINT s")?;
        tx.execute("INSERT INTO setting (key, value) VALUES ('d', '1')", &[])?;
        Ok(())
    })
    .await
    .unwrap();
    // A panicking job rolls back and the connection stays usable.
    let err = write(db, |tx| -> Result<(), StoreError> {
        tx.execute("INSERT INTO setting (key, value) VALUES ('e', '1')", &[])?;
        panic!("boom");
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Backend(_)));
    assert_eq!(keys().await, vec!["c", "d"]);
    // Reads refuse to write and see one snapshot.
    let err = read(db, |tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('f', '1')", &[])
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("25006")),
        "{err:?}"
    );
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let dbr = f.db.clone();
    let reader = tokio::spawn(async move {
        read(&*dbr, move |tx| {
            let first = tx.query("SELECT COUNT(*) FROM setting", &[])?;
            go_tx.send(()).unwrap();
            done_rx.recv_timeout(Duration::from_secs(10)).unwrap();
            let second = tx.query("SELECT COUNT(*) FROM setting", &[])?;
            Ok((first, second))
        })
        .await
    });
    tokio::task::spawn_blocking(move || go_rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .await
        .unwrap();
    write(db, |tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('g', '1')", &[])
    })
    .await
    .unwrap();
    done_tx.send(()).unwrap();
    let (first, second) = reader.await.unwrap().unwrap();
    assert_eq!(first, second, "a read transaction sees one snapshot");
    assert_eq!(keys().await, vec!["c", "d", "g"]);
    f.db.close().await;
}

#[tokio::test]
async fn killed_connections_fail_as_unavailable_and_the_pool_recovers() {
    let Some(f) = common::fresh_with(
        "killed_connections_fail_as_unavailable_and_the_pool_recovers",
        PgOptions {
            pool_size: 3,
            ..PgOptions::default()
        },
    )
    .await
    else {
        return;
    };
    let db = f.db.clone();
    // The connection dies under a running transaction: that request fails as Unavailable.
    let err = write(&*db, |tx| {
        tx.query("SELECT pg_terminate_backend(pg_backend_pid())", &[])
    })
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    // The next request gets a fresh connection.
    db.ping().await.unwrap();
    // Warm the pool with several connections, then kill them all while idle (as a server
    // restart does): requests carry on, on new connections, without an error.
    let mut warm = Vec::new();
    for _ in 0..3 {
        let d = db.clone();
        warm.push(tokio::spawn(async move {
            read(&*d, |tx| {
                std::thread::sleep(Duration::from_millis(100));
                tx.query("SELECT 1", &[])
            })
            .await
        }));
    }
    for w in warm {
        w.await.unwrap().unwrap();
    }
    let killer = f.second(1).await;
    let killed = write(&*killer, |tx| {
        tx.query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
    })
    .await
    .unwrap();
    assert!(killed.len() >= 3, "killed {}", killed.len());
    tokio::time::sleep(Duration::from_millis(100)).await;
    for i in 0..6 {
        write(&*db, move |tx| {
            tx.execute(
                "INSERT INTO setting (key, value) VALUES (?, 'x')",
                &[SqlValue::Text(format!("after-kill-{i}"))],
            )
        })
        .await
        .unwrap();
    }
    db.ping().await.unwrap();
    killer.close().await;
    db.close().await;
    let err = db.ping().await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}

#[tokio::test]
async fn unreachable_server_is_unavailable() {
    if common::admin_url("unreachable_server_is_unavailable").is_none() {
        return;
    }
    // Nothing listens on port 1.
    let err = PgDb::connect("postgres://nobody@127.0.0.1:1/none?connect_timeout=2")
        .await
        .err()
        .expect("connect must fail");
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
    let err = PgDb::connect("this is not a url ===").await.err().unwrap();
    assert!(matches!(err, StoreError::Backend(_)), "{err:?}");
    let _ = Arc::new(());
}

#[tokio::test]
async fn metadata_changed_by_one_process_is_seen_by_the_other() {
    let Some(f) = common::fresh("metadata_changed_by_one_process_is_seen_by_the_other").await
    else {
        return;
    };
    let (a, b) = (f.db.clone(), f.second(4).await);
    assert!(write(&*a, seed::apply).await.unwrap());
    let ctx = common::ctx();
    let c = ctx.clone();
    write(&*a, move |tx| {
        objects::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "pdu", "bk_obj_name": "PDU",
                        "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})),
        )
    })
    .await
    .unwrap();
    // B creates an instance (and caches the model's schema).
    let c = ctx.clone();
    write(&*b, move |tx| {
        instances::create(tx, &c, "pdu", &obj(json!({"bk_inst_name": "p1"})))
    })
    .await
    .unwrap();
    // A adds an attribute and a unique rule on it.
    let c = ctx.clone();
    let attr = write(&*a, move |tx| {
        attributes::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "pdu", "bk_property_id": "asset",
                        "bk_property_name": "Asset", "bk_property_type": "singlechar"})),
            None,
        )
    })
    .await
    .unwrap();
    let attr_id = attr["id"].as_i64().unwrap();
    let c = ctx.clone();
    write(&*a, move |tx| {
        uniques::create(
            tx,
            &c,
            "pdu",
            &obj(json!({"keys": [{"key_kind": "property", "key_id": attr_id}]})),
        )
    })
    .await
    .unwrap();
    // B knows the attribute and enforces the rule at once.
    let c = ctx.clone();
    write(&*b, move |tx| {
        instances::create(
            tx,
            &c,
            "pdu",
            &obj(json!({"bk_inst_name": "p2", "asset": "X1"})),
        )
    })
    .await
    .unwrap();
    let c = ctx.clone();
    let err = write(&*b, move |tx| {
        instances::create(
            tx,
            &c,
            "pdu",
            &obj(json!({"bk_inst_name": "p3", "asset": "X1"})),
        )
    })
    .await
    .unwrap_err();
    assert!(
        matches!(err, StoreError::Domain(DomainError::Duplicate(_))),
        "{err:?}"
    );
    a.close().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_of_one_instance_are_not_lost() {
    let Some(f) = common::fresh("concurrent_updates_of_one_instance_are_not_lost").await else {
        return;
    };
    let (a, b) = (f.db.clone(), f.second(8).await);
    write(&*a, seed::apply).await.unwrap();
    let ctx = common::ctx();
    let c = ctx.clone();
    write(&*a, move |tx| {
        objects::create(
            tx,
            &c,
            &obj(json!({"bk_obj_id": "ups", "bk_obj_name": "UPS",
                        "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})),
        )
    })
    .await
    .unwrap();
    for i in 0..8 {
        let c = ctx.clone();
        write(&*a, move |tx| {
            attributes::create(
                tx,
                &c,
                &obj(
                    json!({"bk_obj_id": "ups", "bk_property_id": format!("f{i}"),
                            "bk_property_name": format!("F{i}"), "bk_property_type": "singlechar"}),
                ),
                None,
            )
        })
        .await
        .unwrap();
    }
    let c = ctx.clone();
    let doc = write(&*a, move |tx| {
        instances::create(tx, &c, "ups", &obj(json!({"bk_inst_name": "u"})))
    })
    .await
    .unwrap();
    let id = doc["bk_inst_id"].as_i64().unwrap();
    // Each round: 8 concurrent updates over two "processes", each of its own field. All must
    // land (read-modify-write of the document under a row lock).
    for round in 0..4 {
        let mut tasks = Vec::new();
        for i in 0..8 {
            let db = if i % 2 == 0 { a.clone() } else { b.clone() };
            let c = ctx.clone();
            tasks.push(tokio::spawn(async move {
                let body = obj(json!({format!("f{i}"): format!("r{round}")}));
                write(&*db, move |tx| instances::update(tx, &c, "ups", id, &body)).await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let doc = read(&*a, move |tx| instances::get_doc(tx, "ups", id))
            .await
            .unwrap()
            .unwrap();
        for i in 0..8 {
            assert_eq!(
                doc[&format!("f{i}")],
                json!(format!("r{round}")),
                "round {round}: update of f{i} lost: {doc:?}"
            );
        }
    }
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn statements_dropped_from_the_cache_are_closed_on_the_server() {
    let Some(f) = common::fresh_with(
        "statements_dropped_from_the_cache_are_closed_on_the_server",
        PgOptions {
            pool_size: 1,
            ..PgOptions::default()
        },
    )
    .await
    else {
        return;
    };
    // 600 distinct statement texts overflow the per-connection cache (512) once; the evicted
    // statements are closed, so the session keeps far fewer than it ever prepared.
    for chunk in 0..6 {
        write(&*f.db, move |tx| {
            for i in 0..100 {
                let n = chunk * 100 + i;
                let rows = tx.query(
                    &format!("SELECT CAST(? AS BIGINT) + {n}"),
                    &[SqlValue::Int(1)],
                )?;
                assert_eq!(rows[0][0], SqlValue::Int(n + 1));
            }
            Ok(())
        })
        .await
        .unwrap();
    }
    let rows = read(&*f.db, |tx| {
        tx.query("SELECT COUNT(*) FROM pg_prepared_statements", &[])
    })
    .await
    .unwrap();
    let SqlValue::Int(open) = rows[0][0] else {
        panic!("{rows:?}");
    };
    assert!(open < 200, "{open} statements still prepared");
    // The ones still cached work.
    let rows = read(&*f.db, |tx| {
        tx.query("SELECT CAST(? AS BIGINT) + 599", &[SqlValue::Int(1)])
    })
    .await
    .unwrap();
    assert_eq!(rows[0][0], SqlValue::Int(600));
    f.db.close().await;
}

#[tokio::test]
async fn connects_over_a_unix_socket() {
    let Some(f) = common::fresh("connects_over_a_unix_socket").await else {
        return;
    };
    let dirs = scalar(
        &f.db,
        "SELECT current_setting('unix_socket_directories')",
        vec![],
    )
    .await;
    let dir = dirs
        .as_str()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .find(|d| !d.is_empty() && std::path::Path::new(d).is_dir())
        .map(str::to_string);
    let Some(dir) = dir else {
        eprintln!("SKIPPED connects_over_a_unix_socket: the server's socket directory is not here");
        f.db.close().await;
        return;
    };
    let config: tokio_postgres::Config = f.url.parse().unwrap();
    let url = format!(
        "host={dir} port={} user={} dbname={}",
        config.get_ports().first().copied().unwrap_or(5432),
        config.get_user().unwrap_or("postgres"),
        config.get_dbname().unwrap_or("postgres"),
    );
    let local = PgDb::connect(&url).await.unwrap();
    let n = write(&local, |tx| tx.next_id("inst")).await.unwrap();
    assert!(n > 0);
    let rows = read(&local, |tx| {
        tx.query(
            "SELECT client_addr IS NULL FROM pg_stat_activity WHERE pid = pg_backend_pid()",
            &[],
        )
    })
    .await
    .unwrap();
    assert_eq!(rows[0][0], SqlValue::Bool(true), "not a local socket");
    local.close().await;
    f.db.close().await;
}

#[tokio::test]
async fn an_undecodable_result_fails_the_query_and_keeps_the_connection() {
    let Some(f) = common::fresh_with(
        "an_undecodable_result_fails_the_query_and_keeps_the_connection",
        PgOptions {
            pool_size: 1,
            ..PgOptions::default()
        },
    )
    .await
    else {
        return;
    };
    let pid = || async { scalar(&f.db, "SELECT CAST(pg_backend_pid() AS BIGINT)", vec![]).await };
    let before = pid().await;
    let err = read(&*f.db, |tx| {
        tx.query(
            "SELECT CAST(x AS INTERVAL) FROM (VALUES ('1 day'), ('2 days')) AS v(x)",
            &[],
        )
    })
    .await
    .unwrap_err();
    assert!(
        matches!(&err, StoreError::Backend(m) if m.contains("unsupported result column type")),
        "{err:?}"
    );
    // The rest of that answer was read: the same connection serves the next request.
    assert_eq!(pid().await, before);
    f.db.close().await;
}

/// The protocol client authenticates by every password method a server may ask for: cleartext
/// password, MD5 and SCRAM-SHA-256, and a wrong password is refused (so the server really asked).
/// Needs the `pg_hba.conf` rules `scripts/pg-test-cluster` writes; on another server without them
/// the test skips, unless `CMDB_TEST_PG_AUTH_RULES=1` (set by `scripts/test` for its own cluster).
#[tokio::test]
async fn authenticates_with_password_md5_and_scram() {
    let Some(f) = common::fresh("authenticates_with_password_md5_and_scram").await else {
        return;
    };
    let methods = [
        ("cmdb_auth_password", "password"),
        ("cmdb_auth_md5", "md5"),
        ("cmdb_auth_scram", "scram-sha-256"),
    ];
    let rules = read(&*f.db, |tx| {
        tx.query(
            "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'host' AND \
             user_name::text[] && ARRAY['cmdb_auth_password','cmdb_auth_md5','cmdb_auth_scram'] \
             AND auth_method IN ('password','md5','scram-sha-256')",
            &[],
        )
    })
    .await
    .unwrap();
    if rules[0][0] != SqlValue::Int(3) {
        assert_ne!(
            std::env::var("CMDB_TEST_PG_AUTH_RULES").as_deref(),
            Ok("1"),
            "the test cluster lacks its password rules in pg_hba.conf: {rules:?}"
        );
        eprintln!("SKIPPED authenticates_with_password_md5_and_scram: no password rules here");
        f.db.close().await;
        return;
    }
    // Roles are cluster-wide and tests run in parallel: create-if-missing, then (re)set the
    // password stored the way the method needs (an MD5 hash for md5, a SCRAM verifier else).
    for (role, method) in methods {
        let encryption = if method == "md5" {
            "md5"
        } else {
            "scram-sha-256"
        };
        let statements = [
            format!(
                "DO $$ BEGIN CREATE ROLE {role} LOGIN SUPERUSER; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            ),
            format!("SET LOCAL password_encryption = '{encryption}'"),
            format!("ALTER ROLE {role} PASSWORD 'sesame-{role}'"),
        ];
        write(&*f.db, move |tx| {
            for sql in &statements {
                tx.execute(sql, &[])?;
            }
            Ok(())
        })
        .await
        .unwrap();
    }
    let config: tokio_postgres::Config = f.url.parse().unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let dbname = config.get_dbname().unwrap_or("postgres").to_string();
    for (role, method) in methods {
        let url = format!("postgres://{role}:sesame-{role}@127.0.0.1:{port}/{dbname}");
        let db = PgDb::connect(&url)
            .await
            .unwrap_or_else(|e| panic!("{method} authentication failed: {e}"));
        let who = read(&db, |tx| tx.query("SELECT current_user::text", &[]))
            .await
            .unwrap();
        assert_eq!(who[0][0], SqlValue::Text(role.to_string()), "{method}");
        db.close().await;

        let wrong = format!("postgres://{role}:wrong@127.0.0.1:{port}/{dbname}");
        match PgDb::connect(&wrong).await {
            Ok(_) => panic!("{method}: a wrong password was accepted"),
            Err(e) => assert!(
                e.to_string().contains("password authentication failed"),
                "{method}: {e}"
            ),
        }
        let missing = format!("postgres://{role}@127.0.0.1:{port}/{dbname}");
        assert!(
            PgDb::connect(&missing).await.is_err(),
            "{method}: no password accepted"
        );
    }
    f.db.close().await;
}

/// The event clock, once the sequencer has numbered everything up to `want` (or after 10 s).
async fn clock_reaching(db: &PgDb, want: i64) -> i64 {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seq = scalar(db, "SELECT seq FROM event_clock WHERE id = 1", vec![])
            .await
            .as_i64()
            .unwrap();
        if seq >= want || tokio::time::Instant::now() > deadline {
            return seq;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// `(seq, inst_id)` of every event in the chain, in order.
async fn chain(db: &PgDb) -> Vec<(i64, i64)> {
    read(db, |tx| {
        tx.query("SELECT seq, inst_id FROM change_event ORDER BY seq", &[])
    })
    .await
    .unwrap()
    .iter()
    .map(|r| (r[0].as_i64().unwrap(), r[1].as_i64().unwrap()))
    .collect()
}

fn instance_event(tx: &mut dyn cmdb_store::Tx, id: i64) -> Result<(), StoreError> {
    cmdb_store::ops::audit::event(
        tx,
        &common::ctx(),
        "object_instance",
        cmdb_store::ops::audit::EventType::Create,
        "sw",
        id,
        &json!({"id": id}),
    )
}

/// A transaction's events reach the chain after its commit, numbered in the order they were
/// recorded, before the write is answered; those recorded inside a savepoint that is rolled back vanish with it (a failed batch
/// item leaves no event), those of a released one stay. A transaction that rolls back leaves
/// nothing in the outbox, so the clock moves only for committed events.
#[tokio::test]
async fn events_are_numbered_after_commit_and_follow_savepoints() {
    let Some(f) = common::fresh("events_are_numbered_after_commit_and_follow_savepoints").await
    else {
        return;
    };
    let db = &*f.db;
    let start = clock_reaching(db, 0).await;
    write(db, |tx| {
        instance_event(tx, 1)?;
        tx.savepoint("a")?;
        instance_event(tx, 2)?;
        tx.rollback_savepoint("a")?;
        tx.savepoint("b")?;
        instance_event(tx, 3)?;
        tx.savepoint("c")?;
        instance_event(tx, 4)?;
        tx.release_savepoint("c")?;
        tx.release_savepoint("b")?;
        tx.savepoint("d")?;
        instance_event(tx, 5)?;
        tx.savepoint("e")?;
        instance_event(tx, 6)?;
        tx.release_savepoint("e")?;
        // Rolling back the outer savepoint drops what the released inner one kept.
        tx.rollback_savepoint("d")?;
        instance_event(tx, 7)
    })
    .await
    .unwrap();
    let want: Vec<(i64, i64)> = [1, 3, 4, 7]
        .iter()
        .enumerate()
        .map(|(i, id)| (start + 1 + i as i64, *id))
        .collect();
    assert_eq!(chain(db).await, want);
    // A transaction that records nothing leaves the outbox alone; one that rolls back, too.
    write(db, |tx| {
        tx.execute("INSERT INTO setting (key, value) VALUES ('x', '1')", &[])
    })
    .await
    .unwrap();
    let err = write(db, move |tx| {
        instance_event(tx, 9)?;
        Err::<(), _>(StoreError::Backend("job failed".into()))
    })
    .await;
    assert!(err.is_err());
    assert_eq!(
        scalar(db, "SELECT count(*) FROM event_outbox", vec![]).await,
        SqlValue::Int(0)
    );
    // The next committed event is numbered right after the last one: nothing came in between.
    write(db, |tx| instance_event(tx, 10)).await.unwrap();
    assert_eq!(chain(db).await.last(), Some(&(start + 5, 10)));
    f.db.close().await;
}

/// Writers of two processes, several at a time each: every event is numbered exactly once, the
/// numbers run without a gap, and each writer's events (one write after the other) are numbered
/// in the order it wrote them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_two_processes_are_numbered_once_without_gaps() {
    let Some(f) = common::fresh("events_of_two_processes_are_numbered_once_without_gaps").await
    else {
        return;
    };
    let (a, b) = (f.db.clone(), f.second(4).await);
    const WRITERS: i64 = 8;
    const EACH: i64 = 40;
    let tasks: Vec<_> = (0..WRITERS)
        .map(|w| {
            let db = if w % 2 == 0 { a.clone() } else { b.clone() };
            tokio::spawn(async move {
                for k in 0..EACH {
                    let id = w * 1000 + k;
                    // Two events per write (their order within the write must hold).
                    write(&*db, move |tx| {
                        instance_event(tx, id)?;
                        instance_event(tx, -id - 1)
                    })
                    .await
                    .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    // Every write was answered after its events were numbered: no waiting here.
    let total = WRITERS * EACH * 2;
    let got = chain(&a).await;
    assert_eq!(
        got.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        (1..=total).collect::<Vec<_>>(),
        "numbers run from 1 without a gap"
    );
    let ids: HashSet<i64> = got.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len() as i64, total, "every event once");
    for w in 0..WRITERS {
        let mine: Vec<i64> = got
            .iter()
            .map(|(_, id)| *id)
            .filter(|id| (w * 1000..w * 1000 + EACH).contains(id))
            .collect();
        assert_eq!(
            mine,
            (w * 1000..w * 1000 + EACH).collect::<Vec<_>>(),
            "writer {w}"
        );
    }
    for (w, k) in (0..WRITERS).flat_map(|w| (0..EACH).map(move |k| (w, k))) {
        let at = |id: i64| got.iter().position(|(_, i)| *i == id).unwrap();
        let id = w * 1000 + k;
        assert!(at(id) < at(-id - 1), "a write's events keep their order");
    }
    assert_eq!(
        scalar(&a, "SELECT count(*) FROM event_outbox", vec![]).await,
        SqlValue::Int(0)
    );
    b.close().await;
    f.db.close().await;
}

/// Events a process committed and then could not number (it died right after its commit) are
/// numbered by any running server's sweep, in outbox order.
#[tokio::test]
async fn events_left_in_the_outbox_are_numbered_by_a_running_server() {
    let Some(f) = common::fresh("events_left_in_the_outbox_are_numbered_by_a_running_server").await
    else {
        return;
    };
    // First the server's own pass, so that only its sweep can number what comes next.
    write(&*f.db, |tx| instance_event(tx, 100)).await.unwrap();
    assert_eq!(chain(&f.db).await, vec![(1, 100)]);
    let url = f.url.clone();
    tokio::task::spawn_blocking(move || {
        cmdb_store_postgres::testing::execute_sql(
            &url,
            "INSERT INTO event_outbox (resource, event_type, obj_id, inst_id, created_at, detail) \
             SELECT 'object_instance', 'create', 'sw', g, 0, '{}' FROM generate_series(1, 3) g",
        )
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(clock_reaching(&f.db, 4).await, 4, "the sweep numbered them");
    assert_eq!(chain(&f.db).await, vec![(1, 100), (2, 1), (3, 2), (4, 3)]);
    f.db.close().await;
}

/// Another process's commit wakes this process's waiting watchers: `follow_other_writers` sees
/// the event clock move and raises the commit signal, which nothing else here would raise.
#[tokio::test]
async fn commits_of_another_process_raise_the_commit_signal() {
    use cmdb_store::ops::audit::{event, EventType};
    let Some(f) = common::fresh("commits_of_another_process_raise_the_commit_signal").await else {
        return;
    };
    let (a, b) = (f.db.clone(), f.second(2).await);
    let a_store: cmdb_store::Store = a.clone();
    assert!(a_store.shared(), "PostgreSQL is shared by several servers");
    let follower = tokio::spawn(cmdb_store::follow_other_writers(
        a_store,
        Duration::from_millis(10),
    ));
    let mut signal = a.commit_signal().subscribe();
    signal.borrow_and_update();
    // The follower raises the signal once when waiting starts; take that one first.
    tokio::time::timeout(Duration::from_secs(10), signal.changed())
        .await
        .expect("the follower looks at the clock when someone waits")
        .unwrap();
    let before = *signal.borrow_and_update();
    write(&*b, |tx| {
        event(
            tx,
            &common::ctx(),
            "object_instance",
            EventType::Create,
            "sw",
            1,
            &json!({}),
        )
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(10), signal.changed())
        .await
        .expect("B's commit reaches A's watchers")
        .unwrap();
    assert_ne!(*signal.borrow(), before);
    follower.abort();
    b.close().await;
    f.db.close().await;
}
