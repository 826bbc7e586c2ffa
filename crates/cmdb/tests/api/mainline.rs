//! 30-topology.md §1.1/§1.2 and 20-instances §3/§7: custom mainline levels — inserting and
//! removing them, instances of a level, sets below a level and subtree deletion.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::topo_fixtures::{create_biz, create_module, create_set};

const ADD_LEVEL: &str = "/api/v3/create/topomodelmainline";

fn level_body(obj_id: &str, name: &str, parent: &str) -> Value {
    json!({"bk_obj_id": obj_id, "bk_obj_name": name, "bk_asst_obj_id": parent,
           "bk_classification_id": "bk_biz_topo", "bk_supplier_account": "0"})
}

async fn add_level(app: &TestApp, obj_id: &str, name: &str, parent: &str) -> Value {
    app.v3_ok(Method::POST, ADD_LEVEL, level_body(obj_id, name, parent))
        .await
}

async fn v3_err(app: &TestApp, method: Method, path: &str, body: Value, code: i64) -> Value {
    let env = app.v3(method, path, body).await;
    assert_eq!(env["result"], json!(false), "{path} should fail: {env}");
    assert_eq!(
        env["bk_error_code"],
        json!(code),
        "{path}: wrong code: {env}"
    );
    env
}

async fn remove_level(app: &TestApp, obj_id: &str) -> Value {
    app.v3(
        Method::DELETE,
        &format!("/api/v3/delete/topomodelmainline/object/{obj_id}"),
        json!({}),
    )
    .await
}

/// Every instance of `obj_id` as `(bk_inst_id, bk_biz_id, bk_parent_id, bk_inst_name)`.
async fn level_instances(app: &TestApp, obj_id: &str) -> Vec<(i64, i64, i64, String)> {
    let found = app
        .esb_ok(
            "search_inst",
            json!({"bk_obj_id": obj_id, "condition": {}, "page": {"sort": "bk_inst_id"}}),
        )
        .await;
    found["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|d| {
            (
                d["bk_inst_id"].as_i64().expect("id"),
                d["bk_biz_id"].as_i64().expect("biz"),
                d["bk_parent_id"].as_i64().expect("parent"),
                d["bk_inst_name"].as_str().expect("name").to_string(),
            )
        })
        .collect()
}

/// `(bk_set_id, bk_parent_id, default)` of every set of a business.
async fn set_parents(app: &TestApp, biz: i64) -> Vec<(i64, i64, i64)> {
    let found = app
        .esb_ok("search_set", json!({"bk_biz_id": biz, "condition": {}}))
        .await;
    let mut out: Vec<_> = found["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|d| {
            (
                d["bk_set_id"].as_i64().expect("id"),
                d["bk_parent_id"].as_i64().expect("parent"),
                d["default"].as_i64().expect("default"),
            )
        })
        .collect();
    out.sort();
    out
}

/// `bk_obj_id → bk_asst_obj_id` of the mainline associations.
async fn mainline_edges(app: &TestApp) -> Vec<(String, String)> {
    let found = app
        .esb_ok(
            "search_object_topo",
            json!({"bk_classification_id": "bk_biz_topo"}),
        )
        .await;
    let mut edges: Vec<(String, String)> = found
        .as_array()
        .expect("topo")
        .iter()
        // The bk_mainline kind's name (seeded as upstream's).
        .filter(|e| e["label"] == json!("拓扑组成"))
        .map(|e| {
            (
                e["from"]["bk_obj_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                e["to"]["bk_obj_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    edges.sort();
    edges
}

#[tokio::test]
async fn inserting_a_level_creates_instances_and_reparents_sets() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "game").await;
    let s1 = create_set(&app, biz, biz, "s1").await;
    let m1 = create_module(&app, biz, s1, "m1").await;
    let before = set_parents(&app, biz).await;
    let idle_set = before.iter().find(|s| s.2 == 1).expect("idle set").0;

    let model = add_level(&app, "region", "Re#gi/on,><| ", "biz").await;
    assert_eq!(model["bk_obj_id"], json!("region"));
    assert_eq!(model["bk_classification_id"], json!("bk_biz_topo"));
    assert_eq!(model["ispre"], json!(false));
    assert_eq!(model["bk_obj_icon"], json!("icon-cc-default"));

    // One instance under every business: the resource pool (1) and ours, name stripped.
    let regions = level_instances(&app, "region").await;
    let mut owners: Vec<i64> = regions.iter().map(|r| r.1).collect();
    owners.sort();
    assert_eq!(owners, vec![1, biz]);
    for (_, owner, parent, name) in &regions {
        assert_eq!(parent, owner, "level instance hangs below its business");
        assert_eq!(name, "Region");
    }
    let region = regions.iter().find(|r| r.1 == biz).expect("ours").0;

    // The ordinary set moved below the level instance; the idle set stayed below the business.
    let after = set_parents(&app, biz).await;
    assert!(after.contains(&(s1, region, 0)), "{after:?}");
    assert!(after.contains(&(idle_set, biz, 1)), "{after:?}");
    let module = app
        .esb_ok("search_module", json!({"bk_biz_id": biz, "bk_set_id": s1}))
        .await;
    assert_eq!(module["info"][0]["bk_module_id"], json!(m1));

    // The chain now reads biz ← region ← set ← module.
    let edges = mainline_edges(&app).await;
    assert!(
        edges.contains(&("region".into(), "biz".into())),
        "{edges:?}"
    );
    assert!(
        edges.contains(&("set".into(), "region".into())),
        "{edges:?}"
    );
    assert!(!edges.contains(&("set".into(), "biz".into())), "{edges:?}");

    // Sets now need a region instance of their business as parent (ids of different models
    // may coincide, as upstream's per-model sequences, so the pool's region is the probe).
    let pool_region = regions.iter().find(|r| r.1 == 1).expect("pool region").0;
    for parent in [pool_region, 999_999] {
        app.esb_err(
            "create_set",
            json!({"bk_biz_id": biz, "bk_parent_id": parent, "bk_set_name": "s2"}),
            1199011,
        )
        .await;
    }
    let s2 = create_set(&app, biz, region, "s2").await;
    // Set names stay unique per parent after the move.
    app.esb_err(
        "create_set",
        json!({"bk_biz_id": biz, "bk_parent_id": region, "bk_set_name": "s1"}),
        1101108,
    )
    .await;
    assert!(set_parents(&app, biz).await.contains(&(s2, region, 0)));
}

#[tokio::test]
async fn level_instances_through_create_inst() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "shop").await;
    let other = create_biz(&app, "other").await;
    add_level(&app, "region", "Region", "biz").await;
    add_level(&app, "zone", "Zone", "region").await;
    let edges = mainline_edges(&app).await;
    assert!(
        edges.contains(&("zone".into(), "region".into())),
        "{edges:?}"
    );
    assert!(edges.contains(&("set".into(), "zone".into())), "{edges:?}");

    let east = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "region", "bk_inst_name": "east", "bk_biz_id": biz, "bk_parent_id": biz}),
        )
        .await;
    assert_eq!(east["bk_parent_id"], json!(biz));
    assert_eq!(east["bk_biz_id"], json!(biz));
    let east_id = east["bk_inst_id"].as_i64().expect("id");
    // Directly below biz the parent must be the business itself.
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "region", "bk_inst_name": "west", "bk_biz_id": biz, "bk_parent_id": other}),
        1199011,
    )
    .await;
    // Names are unique per parent, not per model.
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "region", "bk_inst_name": "east", "bk_biz_id": biz, "bk_parent_id": biz}),
        1199014,
    )
    .await;
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "region", "bk_inst_name": "east", "bk_biz_id": other, "bk_parent_id": other}),
    )
    .await;

    // A zone below east; the parent must be a region of the same business.
    let z = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "zone", "bk_inst_name": "z1", "bk_biz_id": biz, "bk_parent_id": east_id}),
        )
        .await;
    assert_eq!(z["bk_parent_id"], json!(east_id));
    for (biz_id, parent) in [(other, east_id), (biz, 999_999), (biz, 0)] {
        app.esb_err(
            "create_inst",
            json!({"bk_obj_id": "zone", "bk_inst_name": "z9", "bk_biz_id": biz_id, "bk_parent_id": parent}),
            1199011,
        )
        .await;
    }
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "zone", "bk_inst_name": "z9", "bk_parent_id": east_id}),
        1199011,
    )
    .await;
    app.esb_err(
        "batch_create_inst",
        json!({"bk_obj_id": "zone", "details": [{"bk_inst_name": "z9", "bk_biz_id": biz, "bk_parent_id": east_id}]}),
        1199075,
    )
    .await;
}

#[tokio::test]
async fn level_insert_errors() {
    let app = TestApp::spawn().await;
    let mut missing = level_body("region", "Region", "biz");
    missing
        .as_object_mut()
        .expect("obj")
        .remove("bk_asst_obj_id");
    v3_err(&app, Method::POST, ADD_LEVEL, missing, 1199010).await;
    let mut missing = level_body("region", "Region", "biz");
    missing
        .as_object_mut()
        .expect("obj")
        .remove("bk_classification_id");
    v3_err(&app, Method::POST, ADD_LEVEL, missing, 1199010).await;
    for parent in ["module", "host", "set", "nosuch"] {
        let env = v3_err(
            &app,
            Method::POST,
            ADD_LEVEL,
            level_body("region", "Region", parent),
            1199011,
        )
        .await;
        assert!(env["bk_error_msg"].as_str().expect("msg").contains(parent));
    }
    // A plain custom model is not a mainline level either.
    app.create_model("switchx").await;
    v3_err(
        &app,
        Method::POST,
        ADD_LEVEL,
        level_body("region", "Region", "switchx"),
        1199011,
    )
    .await;
    // An id that is taken is the model-create error.
    v3_err(
        &app,
        Method::POST,
        ADD_LEVEL,
        level_body("switchx", "Other", "biz"),
        1199014,
    )
    .await;
    // Three custom levels fit the default limit of 7; the fourth does not.
    add_level(&app, "l1", "L1", "biz").await;
    add_level(&app, "l2", "L2", "l1").await;
    add_level(&app, "l3", "L3", "l2").await;
    v3_err(
        &app,
        Method::POST,
        ADD_LEVEL,
        level_body("l4", "L4", "l3"),
        1101035,
    )
    .await;
    // Nothing of the refused level exists.
    app.esb_ok("search_objects", json!({"bk_obj_id": "l4"}))
        .await
        .as_array()
        .map(|a| assert!(a.is_empty(), "{a:?}"))
        .expect("array");
}

#[tokio::test]
async fn deleting_a_level_instance_takes_its_subtree() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "subtree").await;
    add_level(&app, "region", "Region", "biz").await;
    let region = level_instances(&app, "region")
        .await
        .into_iter()
        .find(|r| r.1 == biz)
        .expect("region")
        .0;
    let keep = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "region", "bk_inst_name": "keep", "bk_biz_id": biz, "bk_parent_id": biz}),
        )
        .await["bk_inst_id"]
        .as_i64()
        .expect("id");
    let s1 = create_set(&app, biz, region, "s1").await;
    create_module(&app, biz, s1, "m1").await;
    create_module(&app, biz, s1, "m2").await;
    let kept_set = create_set(&app, biz, keep, "s1").await;

    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/instance/object/region/inst/{region}"),
        json!({}),
    )
    .await;
    let regions: Vec<i64> = level_instances(&app, "region")
        .await
        .iter()
        .filter(|r| r.1 == biz)
        .map(|r| r.0)
        .collect();
    assert_eq!(regions, vec![keep]);
    let sets: Vec<i64> = set_parents(&app, biz)
        .await
        .iter()
        .filter(|s| s.2 == 0)
        .map(|s| s.0)
        .collect();
    assert_eq!(sets, vec![kept_set]);
    let modules = app
        .esb_ok("search_module", json!({"bk_biz_id": biz, "bk_set_id": s1}))
        .await;
    assert_eq!(modules["count"], json!(0));
    // The freed name can be used again below the remaining region.
    create_set(&app, biz, keep, "s2").await;
}

#[tokio::test]
async fn removing_a_level_reparents_back_and_drops_the_model() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "rm").await;
    let s1 = create_set(&app, biz, biz, "s1").await;
    add_level(&app, "region", "Region", "biz").await;
    add_level(&app, "zone", "Zone", "region").await;
    let zone = level_instances(&app, "zone")
        .await
        .into_iter()
        .find(|z| z.1 == biz)
        .expect("zone");
    assert!(set_parents(&app, biz).await.contains(&(s1, zone.0, 0)));

    // Remove the middle level: zones hang below the business again.
    let env = remove_level(&app, "region").await;
    assert_eq!(env["result"], json!(true), "{env}");
    assert_eq!(env["data"], Value::Null);
    let zones = level_instances(&app, "zone").await;
    let ours = zones.iter().find(|z| z.0 == zone.0).expect("zone kept");
    assert_eq!(ours.2, biz);
    let edges = mainline_edges(&app).await;
    assert!(edges.contains(&("zone".into(), "biz".into())), "{edges:?}");
    assert!(!edges.iter().any(|e| e.0 == "region" || e.1 == "region"));
    assert_eq!(
        app.esb_ok("search_objects", json!({"bk_obj_id": "region"}))
            .await,
        json!([])
    );
    // Remove the last level: sets hang below the business again.
    let env = remove_level(&app, "zone").await;
    assert_eq!(env["result"], json!(true), "{env}");
    assert!(set_parents(&app, biz).await.contains(&(s1, biz, 0)));
    let edges = mainline_edges(&app).await;
    assert!(edges.contains(&("set".into(), "biz".into())), "{edges:?}");
    create_set(&app, biz, biz, "s2").await;
}

#[tokio::test]
async fn removing_a_level_refuses_name_clashes_and_builtins() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "clash").await;
    add_level(&app, "region", "Region", "biz").await;
    let first = level_instances(&app, "region")
        .await
        .into_iter()
        .find(|r| r.1 == biz)
        .expect("region")
        .0;
    let second = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "region", "bk_inst_name": "second", "bk_biz_id": biz, "bk_parent_id": biz}),
        )
        .await["bk_inst_id"]
        .as_i64()
        .expect("id");
    create_set(&app, biz, first, "same").await;
    create_set(&app, biz, second, "same").await;
    let env = remove_level(&app, "region").await;
    assert_eq!(env["result"], json!(false), "{env}");
    assert_eq!(env["bk_error_code"], json!(1101149), "{env}");
    // Nothing changed.
    assert_eq!(level_instances(&app, "region").await.len(), 3);
    assert!(mainline_edges(&app)
        .await
        .contains(&("set".into(), "region".into())));

    for (obj, code) in [("set", 1199084), ("biz", 1199084), ("nosuch", 1199011)] {
        let env = remove_level(&app, obj).await;
        assert_eq!(env["bk_error_code"], json!(code), "{obj}: {env}");
    }
    app.create_model("plain").await;
    let env = remove_level(&app, "plain").await;
    assert_eq!(env["bk_error_code"], json!(1199011), "{env}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn set_creates_racing_a_level_insert_never_end_below_the_business() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let biz = create_biz(&app, "race").await;
    let mut tasks = Vec::new();
    for i in 0..60 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            if i == 20 {
                add_level(&app, "region", "Region", "biz").await;
                return None;
            }
            // Before the insert commits the business is the parent; after it, this is refused.
            let env = app
                .esb(
                    "create_set",
                    json!({"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": format!("s{i}")}),
                )
                .await;
            Some(env)
        }));
    }
    let mut created = 0;
    for t in tasks {
        if let Some(env) = t.await.expect("task") {
            if env["result"] == json!(true) {
                created += 1;
            } else {
                assert_eq!(env["code"], json!(1199011), "{env}");
            }
        }
    }
    let region = level_instances(&app, "region")
        .await
        .into_iter()
        .find(|r| r.1 == biz)
        .expect("region")
        .0;
    let sets = set_parents(&app, biz).await;
    let ordinary: Vec<_> = sets.iter().filter(|s| s.2 == 0).collect();
    assert_eq!(ordinary.len(), created);
    for (id, parent, _) in ordinary {
        assert_eq!(*parent, region, "set {id} left below {parent}");
    }
}
