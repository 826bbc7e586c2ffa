//! 30-topology.md §5.6–§5.16: sets and modules over both surfaces.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::topo_fixtures::{create_biz, create_module, idle_pool};

/// A set directly below the business.
async fn create_set(app: &TestApp, biz: i64, name: &str) -> i64 {
    crate::topo_fixtures::create_set(app, biz, biz, name).await
}

async fn sets(app: &TestApp, biz: i64, condition: Value) -> Value {
    app.esb_ok(
        "search_set",
        json!({"bk_biz_id": biz, "condition": condition}),
    )
    .await
}

async fn modules(app: &TestApp, biz: i64, set: i64) -> Value {
    app.esb_ok("search_module", json!({"bk_biz_id": biz, "bk_set_id": set}))
        .await
}

fn names(found: &Value, key: &str) -> Vec<String> {
    found["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|d| d[key].as_str().unwrap_or_default().to_string())
        .collect()
}

fn keys(doc: &Value) -> HashSet<String> {
    doc.as_object().expect("object").keys().cloned().collect()
}

#[tokio::test]
async fn create_set_stores_the_set() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let set = app
        .esb_ok(
            "create_set",
            json!({"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": "  web  ",
                   "bk_set_env": "1", "bk_capacity": 10, "nosuch": 1, "bk_set_id": 999,
                   "set_template_id": 0, "metadata": {"label": {}}}),
        )
        .await;
    let want: HashSet<String> = [
        "bk_set_id",
        "bk_set_name",
        "bk_biz_id",
        "bk_parent_id",
        "default",
        "bk_set_env",
        "bk_service_status",
        "bk_capacity",
        "bk_set_desc",
        "description",
        "set_template_id",
        "set_template_version",
        "bk_supplier_account",
        "create_time",
        "last_time",
        "bk_created_at",
        "bk_created_by",
        "bk_updated_at",
        "bk_updated_by",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(keys(&set), want, "{set}");
    let id = set["bk_set_id"].as_i64().expect("id");
    assert_ne!(id, 999);
    assert_eq!(set["bk_set_name"], "web");
    assert_eq!(set["bk_biz_id"], json!(biz));
    assert_eq!(set["bk_parent_id"], json!(biz));
    assert_eq!(set["default"], json!(0));
    assert_eq!(set["bk_set_env"], "1");
    assert_eq!(set["bk_service_status"], "1");
    assert_eq!(set["bk_capacity"], json!(10));
    assert_eq!(set["set_template_id"], json!(0));
    assert_eq!(set["set_template_version"], Value::Null);
    assert_eq!(set["bk_supplier_account"], "0");
    assert_eq!(set["bk_created_by"], "admin");
    // search returns what was stored
    let found = sets(&app, biz, json!({"bk_set_id": id})).await;
    assert_eq!(found["count"], json!(1));
    assert_eq!(found["info"][0], set);

    // legacy `data` form and the v3 route
    let legacy = app
        .esb_ok(
            "create_set",
            json!({"bk_biz_id": biz, "data": {"bk_parent_id": biz, "bk_set_name": "legacy"}}),
        )
        .await;
    assert_eq!(legacy["bk_set_name"], "legacy");
    let v3 = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/set/{biz}"),
            json!({"bk_parent_id": biz, "bk_set_name": "from-v3"}),
        )
        .await;
    assert_eq!(v3["bk_set_name"], "from-v3");
    assert!(v3["bk_set_id"].as_i64() > legacy["bk_set_id"].as_i64());
    app.stop().await;
}

#[tokio::test]
async fn create_set_errors() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let other = create_biz(&app, "other").await;
    let env = app
        .esb_err(
            "create_set",
            json!({"bk_biz_id": biz, "bk_parent_id": biz}),
            1199010,
        )
        .await;
    assert_eq!(env["message"], "'bk_set_name' unassigned");
    let env = app
        .esb_err(
            "create_set",
            json!({"bk_biz_id": biz, "bk_set_name": "x"}),
            1199011,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("bk_parent_id")),
        "{env}"
    );
    // the parent must be the business itself (no custom levels)
    app.esb_err(
        "create_set",
        json!({"bk_biz_id": biz, "bk_parent_id": other, "bk_set_name": "x"}),
        1199011,
    )
    .await;
    // unknown business
    app.esb_err(
        "create_set",
        json!({"bk_biz_id": 9999, "bk_parent_id": 9999, "bk_set_name": "x"}),
        1199011,
    )
    .await;
    // value validation (wrapped)
    app.esb_err(
        "create_set",
        json!({"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": "x", "bk_set_env": "9"}),
        1199011,
    )
    .await;
    // set templates do not exist
    let env = app
        .esb_err(
            "create_set",
            json!({"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": "x", "set_template_id": 3}),
            1199006,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("set_template_id")),
        "{env}"
    );
    // names are unique per parent, the idle pool included
    create_set(&app, biz, "web").await;
    let env = app
        .esb_err(
            "create_set",
            json!({"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": "web"}),
            1101108,
        )
        .await;
    assert_eq!(env["message"], "the same set name exist");
    app.esb_err(
        "create_set",
        json!({"bk_biz_id": biz, "bk_parent_id": biz, "bk_set_name": "空闲机池"}),
        1101108,
    )
    .await;
    let env = app
        .v3(
            Method::POST,
            &format!("/api/v3/set/{biz}"),
            json!({"bk_parent_id": biz, "bk_set_name": "web"}),
        )
        .await;
    assert_eq!(env["bk_error_code"], json!(1101108), "{env}");
    // another business may use the name
    create_set(&app, other, "web").await;
    // failed creates left nothing behind: idle pool + web
    assert_eq!(sets(&app, biz, json!({})).await["count"], json!(2));
    app.stop().await;
}

#[tokio::test]
async fn search_set_conditions_filters_fields_and_pages() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let other = create_biz(&app, "other").await;
    for name in ["a", "b", "c"] {
        create_set(&app, biz, name).await;
    }
    create_set(&app, other, "a").await;
    // the idle set is a set of the business; other businesses' sets are not
    let all = sets(&app, biz, json!({})).await;
    assert_eq!(all["count"], json!(4));
    assert_eq!(names(&all, "bk_set_name"), ["空闲机池", "a", "b", "c"]);
    // a bk_biz_id in the condition cannot widen the search
    let found = sets(&app, biz, json!({"bk_biz_id": other})).await;
    assert_eq!(found["count"], json!(4));
    let found = sets(&app, biz, json!({"bk_set_name": {"$in": ["a", "c"]}})).await;
    assert_eq!(names(&found, "bk_set_name"), ["a", "c"]);
    let found = sets(&app, biz, json!({"default": 0})).await;
    assert_eq!(found["count"], json!(3));
    // QueryFilter
    let found = app
        .esb_ok(
            "search_set",
            json!({"bk_biz_id": biz, "filter": {"condition": "AND", "rules": [
                {"field": "bk_set_name", "operator": "not_equal", "value": "b"},
                {"field": "default", "operator": "equal", "value": 0}]}}),
        )
        .await;
    assert_eq!(names(&found, "bk_set_name"), ["a", "c"]);
    // fields and page (count ignores paging; the idle set's name sorts last in byte order)
    let found = app
        .esb_ok(
            "search_set",
            json!({"bk_biz_id": biz, "fields": ["bk_set_name"],
                   "page": {"start": 1, "limit": 2, "sort": "-bk_set_name"}}),
        )
        .await;
    assert_eq!(found["count"], json!(4));
    assert_eq!(
        found["info"],
        json!([{"bk_set_name": "c"}, {"bk_set_name": "b"}])
    );
    // v3 route
    let found = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/set/search/0/{biz}"),
            json!({"condition": {"bk_set_name": "b"}}),
        )
        .await;
    assert_eq!(found["count"], json!(1));
    // errors: both languages at once, unknown field, page too large, bad condition
    app.esb_err(
        "search_set",
        json!({"bk_biz_id": biz, "condition": {"bk_set_name": "a"},
               "filter": {"condition": "AND", "rules": [{"field": "default", "operator": "equal", "value": 0}]}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_set",
        json!({"bk_biz_id": biz, "condition": {"nosuch": 1}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_set",
        json!({"bk_biz_id": biz, "page": {"limit": 1001}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_set",
        json!({"bk_biz_id": biz, "condition": [1]}),
        1199000,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn update_set_changes_fields_and_keeps_invariants() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let other = create_biz(&app, "other").await;
    let web = create_set(&app, biz, "web").await;
    create_set(&app, biz, "db").await;
    let data = app
        .esb_ok(
            "update_set",
            json!({"bk_biz_id": biz, "bk_set_id": web, "bk_set_name": "front",
                   "bk_set_desc": "hello", "bk_parent_id": 77, "set_template_id": 5,
                   "default": 1}),
        )
        .await;
    assert_eq!(data, Value::Null);
    let found = sets(&app, biz, json!({"bk_set_id": web})).await;
    let set = &found["info"][0];
    assert_eq!(set["bk_set_name"], "front");
    assert_eq!(set["bk_set_desc"], "hello");
    assert_eq!(set["bk_parent_id"], json!(biz));
    assert_eq!(set["set_template_id"], json!(0));
    assert_eq!(set["default"], json!(0));
    assert_eq!(set["bk_updated_by"], "admin");
    // the old name is free again, the new one is taken
    create_set(&app, biz, "web").await;
    let env = app
        .esb_err(
            "update_set",
            json!({"bk_biz_id": biz, "bk_set_id": web, "bk_set_name": "db"}),
            1101108,
        )
        .await;
    assert_eq!(env["message"], "the same set name exist");
    // v3 route
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/set/{biz}/{web}"),
        json!({"bk_set_env": "2"}),
    )
    .await;
    assert_eq!(
        sets(&app, biz, json!({"bk_set_id": web})).await["info"][0]["bk_set_env"],
        "2"
    );
    // built-in idle set, unknown set, set of another business, bad value
    let (idle, _) = idle_pool(&app, biz).await;
    let env = app
        .esb_err(
            "update_set",
            json!({"bk_biz_id": biz, "bk_set_id": idle, "bk_set_name": "x"}),
            1101098,
        )
        .await;
    assert_eq!(
        env["message"],
        "forbidden remove or update built in set or module"
    );
    app.esb_err(
        "update_set",
        json!({"bk_biz_id": biz, "bk_set_id": 99999, "bk_set_name": "x"}),
        1199019,
    )
    .await;
    app.esb_err(
        "update_set",
        json!({"bk_biz_id": other, "bk_set_id": web, "bk_set_name": "x"}),
        1199019,
    )
    .await;
    app.esb_err(
        "update_set",
        json!({"bk_biz_id": biz, "bk_set_id": web, "bk_set_env": "9"}),
        1199011,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn delete_set_cascades_to_its_modules() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let other = create_biz(&app, "other").await;
    let web = create_set(&app, biz, "web").await;
    let m1 = create_module(&app, biz, web, "nginx").await;
    create_module(&app, biz, web, "php").await;
    let data = app
        .esb_ok("delete_set", json!({"bk_biz_id": biz, "bk_set_id": web}))
        .await;
    assert_eq!(data, Value::Null);
    assert_eq!(
        sets(&app, biz, json!({"bk_set_id": web})).await["count"],
        json!(0)
    );
    assert_eq!(modules(&app, biz, web).await["count"], json!(0));
    let found = app
        .esb_ok(
            "find_module_batch",
            json!({"bk_biz_id": biz, "bk_ids": [m1], "fields": ["bk_module_id"]}),
        )
        .await;
    assert_eq!(found, json!([]));
    // names are free again
    let again = create_set(&app, biz, "web").await;
    create_module(&app, biz, again, "nginx").await;
    // unknown ids and sets of other businesses are a silent success (and untouched)
    app.esb_ok("delete_set", json!({"bk_biz_id": biz, "bk_set_id": 99999}))
        .await;
    let foreign = create_set(&app, other, "x").await;
    app.esb_ok(
        "delete_set",
        json!({"bk_biz_id": biz, "bk_set_id": foreign}),
    )
    .await;
    assert_eq!(
        sets(&app, other, json!({"bk_set_id": foreign})).await["count"],
        json!(1)
    );
    // built-in idle set
    let (idle, idle_modules) = idle_pool(&app, biz).await;
    app.esb_err(
        "delete_set",
        json!({"bk_biz_id": biz, "bk_set_id": idle}),
        1101098,
    )
    .await;
    assert_eq!(
        modules(&app, biz, idle).await["count"],
        json!(idle_modules.len())
    );
    // v3 route
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/set/{biz}/{again}"),
        json!({}),
    )
    .await;
    assert_eq!(sets(&app, biz, json!({})).await["count"], json!(1));
    app.stop().await;
}

#[tokio::test]
async fn batch_delete_set_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let a = create_set(&app, biz, "a").await;
    let b = create_set(&app, biz, "b").await;
    let c = create_set(&app, biz, "c").await;
    create_module(&app, biz, a, "m").await;
    let (idle, _) = idle_pool(&app, biz).await;
    // a built-in among the ids: nothing is deleted
    let env = app
        .esb_err(
            "batch_delete_set",
            json!({"bk_biz_id": biz, "delete": {"inst_ids": [a, idle]}}),
            1101098,
        )
        .await;
    assert_eq!(
        env["message"],
        "forbidden remove or update built in set or module"
    );
    assert_eq!(sets(&app, biz, json!({})).await["count"], json!(4));
    // empty or missing list (documented deviation: refused)
    app.esb_err(
        "batch_delete_set",
        json!({"bk_biz_id": biz, "delete": {"inst_ids": []}}),
        1199010,
    )
    .await;
    app.esb_err("batch_delete_set", json!({"bk_biz_id": biz}), 1199010)
        .await;
    app.esb_err(
        "batch_delete_set",
        json!({"bk_biz_id": biz, "delete": {"inst_ids": ["x"]}}),
        1199000,
    )
    .await;
    let data = app
        .esb_ok(
            "batch_delete_set",
            json!({"bk_biz_id": biz, "delete": {"inst_ids": [a, b, 99999]}}),
        )
        .await;
    assert_eq!(data, Value::Null);
    assert_eq!(
        names(&sets(&app, biz, json!({})).await, "bk_set_name"),
        ["空闲机池", "c"]
    );
    assert_eq!(modules(&app, biz, a).await["count"], json!(0));
    // v3 route
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/set/{biz}/batch"),
        json!({"delete": {"inst_ids": [c]}}),
    )
    .await;
    assert_eq!(sets(&app, biz, json!({})).await["count"], json!(1));
    app.stop().await;
}

#[tokio::test]
async fn find_set_batch_by_ids() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let other = create_biz(&app, "other").await;
    let a = create_set(&app, biz, "a").await;
    let b = create_set(&app, biz, "b").await;
    let foreign = create_set(&app, other, "f").await;
    let found = app
        .esb_ok(
            "find_set_batch",
            json!({"bk_biz_id": biz, "bk_ids": [b, a, a, foreign, 99999],
                   "fields": ["bk_set_id", "bk_set_name", "default"]}),
        )
        .await;
    assert_eq!(
        found,
        json!([{"bk_set_id": a, "bk_set_name": "a", "default": 0},
               {"bk_set_id": b, "bk_set_name": "b", "default": 0}])
    );
    let found = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/findmany/set/bk_biz_id/{biz}"),
            json!({"bk_ids": [a], "fields": ["bk_set_name"]}),
        )
        .await;
    assert_eq!(found, json!([{"bk_set_name": "a"}]));
    let env = app
        .esb_err(
            "find_set_batch",
            json!({"bk_biz_id": biz, "bk_ids": [], "fields": ["bk_set_id"]}),
            1199089,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("bk_ids")),
        "{env}"
    );
    let many: Vec<i64> = (1..=501).collect();
    app.esb_err(
        "find_set_batch",
        json!({"bk_biz_id": biz, "bk_ids": many, "fields": ["bk_set_id"]}),
        1199089,
    )
    .await;
    app.esb_err(
        "find_set_batch",
        json!({"bk_biz_id": biz, "fields": ["bk_set_id"]}),
        1199089,
    )
    .await;
    for fields in [json!([]), Value::Null] {
        let env = app
            .esb_err(
                "find_set_batch",
                json!({"bk_biz_id": biz, "bk_ids": [a], "fields": fields}),
                1199006,
            )
            .await;
        assert!(
            env["message"]
                .as_str()
                .is_some_and(|m| m.contains("fields")),
            "{env}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn create_module_stores_the_module() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let set = create_set(&app, biz, "web").await;
    let module = app
        .esb_ok(
            "create_module",
            json!({"bk_biz_id": biz, "bk_set_id": set, "bk_parent_id": set,
                   "bk_module_name": "nginx", "operator": "alice", "bk_module_type": "2",
                   "host_apply_enabled": true, "service_template_id": 0, "nosuch": 1}),
        )
        .await;
    let want: HashSet<String> = [
        "bk_module_id",
        "bk_module_name",
        "bk_biz_id",
        "bk_set_id",
        "bk_parent_id",
        "default",
        "bk_module_type",
        "operator",
        "bk_bak_operator",
        "service_template_id",
        "service_category_id",
        "set_template_id",
        "host_apply_enabled",
        "bk_supplier_account",
        "create_time",
        "last_time",
        "bk_created_at",
        "bk_created_by",
        "bk_updated_at",
        "bk_updated_by",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(keys(&module), want, "{module}");
    assert_eq!(module["bk_module_name"], "nginx");
    assert_eq!(module["bk_biz_id"], json!(biz));
    assert_eq!(module["bk_set_id"], json!(set));
    assert_eq!(module["bk_parent_id"], json!(set));
    assert_eq!(module["default"], json!(0));
    assert_eq!(module["bk_module_type"], "2");
    assert_eq!(module["operator"], "alice");
    assert_eq!(module["service_template_id"], json!(0));
    assert_eq!(module["service_category_id"], json!(2));
    assert_eq!(module["set_template_id"], json!(0));
    assert_eq!(module["host_apply_enabled"], json!(false));
    let found = modules(&app, biz, set).await;
    assert_eq!(found["count"], json!(1));
    assert_eq!(found["info"][0], module);
    // v3 route; the same name in another set is fine
    let set2 = create_set(&app, biz, "db").await;
    let v3 = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/module/{biz}/{set2}"),
            json!({"bk_parent_id": set2, "bk_module_name": "nginx", "service_category_id": 7}),
        )
        .await;
    assert_eq!(v3["bk_set_id"], json!(set2));
    assert_eq!(v3["service_category_id"], json!(7));
    app.stop().await;
}

#[tokio::test]
async fn create_module_errors() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let other = create_biz(&app, "other").await;
    let set = create_set(&app, biz, "web").await;
    let body = |extra: Value| {
        let mut b = json!({"bk_biz_id": biz, "bk_set_id": set, "bk_parent_id": set,
                           "bk_module_name": "m"});
        for (k, v) in extra.as_object().expect("object") {
            b[k] = v.clone();
        }
        b
    };
    let env = app
        .esb_err("create_module", body(json!({"bk_set_id": 99999})), 1199011)
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("bk_set_id")),
        "{env}"
    );
    app.esb_err("create_module", body(json!({"default": "x"})), 1199009)
        .await;
    app.esb_err("create_module", body(json!({"bk_biz_id": other})), 1199011)
        .await;
    app.esb_err(
        "create_module",
        body(json!({"service_template_id": 4})),
        1199006,
    )
    .await;
    let env = app
        .esb_err("create_module", body(json!({"bk_parent_id": biz})), 1199006)
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("bk_parent_id")),
        "{env}"
    );
    let mut missing = body(json!({}));
    missing
        .as_object_mut()
        .expect("object")
        .remove("bk_module_name");
    let env = app.esb_err("create_module", missing, 1199010).await;
    assert_eq!(env["message"], "'bk_module_name' unassigned");
    app.esb_err(
        "create_module",
        body(json!({"bk_module_type": "9"})),
        1199011,
    )
    .await;
    create_module(&app, biz, set, "nginx").await;
    let env = app
        .esb_err(
            "create_module",
            body(json!({"bk_module_name": "nginx"})),
            1199014,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("bk_module_name")),
        "{env}"
    );
    // the idle pool's module names are taken in the idle set
    let (idle, _) = idle_pool(&app, biz).await;
    app.esb_err(
        "create_module",
        json!({"bk_biz_id": biz, "bk_set_id": idle, "bk_parent_id": idle, "bk_module_name": "空闲机"}),
        1199014,
    )
    .await;
    assert_eq!(modules(&app, biz, set).await["count"], json!(1));
    app.stop().await;
}

#[tokio::test]
async fn search_module_by_business_and_set() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let a = create_set(&app, biz, "a").await;
    let b = create_set(&app, biz, "b").await;
    create_module(&app, biz, a, "m1").await;
    create_module(&app, biz, a, "m2").await;
    create_module(&app, biz, b, "m3").await;
    assert_eq!(
        names(&modules(&app, biz, a).await, "bk_module_name"),
        ["m1", "m2"]
    );
    // the whole business (idle modules included) when no set is given
    let all = app
        .esb_ok(
            "search_module",
            json!({"bk_biz_id": biz, "condition": {"default": 0}}),
        )
        .await;
    assert_eq!(all["count"], json!(3));
    let all = app.esb_ok("search_module", json!({"bk_biz_id": biz})).await;
    assert_eq!(all["count"], json!(6));
    // v3 with set 0 and a bk_set_id in the body
    let found = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/module/search/0/{biz}/0"),
            json!({"bk_set_id": b, "fields": ["bk_module_name"]}),
        )
        .await;
    assert_eq!(found["info"], json!([{"bk_module_name": "m3"}]));
    let found = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/module/search/0/{biz}/{a}"),
            json!({"condition": {"bk_module_name": {"$regex": "2$"}}, "page": {"limit": 10}}),
        )
        .await;
    assert_eq!(names(&found, "bk_module_name"), ["m2"]);
    app.esb_err(
        "search_module",
        json!({"bk_biz_id": biz, "condition": {"nosuch": 1}}),
        1199006,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn update_module_changes_fields_and_keeps_invariants() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let set = create_set(&app, biz, "web").await;
    let other_set = create_set(&app, biz, "db").await;
    let m = create_module(&app, biz, set, "nginx").await;
    create_module(&app, biz, set, "php").await;
    let data = app
        .esb_ok(
            "update_module",
            json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m,
                   "bk_module_name": "proxy", "bk_bak_operator": "bob", "bk_parent_id": 5,
                   "default": 1, "service_template_id": 0}),
        )
        .await;
    assert_eq!(data, Value::Null);
    let found = modules(&app, biz, set).await;
    let module = &found["info"][0];
    assert_eq!(module["bk_module_name"], "proxy");
    assert_eq!(module["bk_bak_operator"], "bob");
    assert_eq!(module["bk_parent_id"], json!(set));
    assert_eq!(module["default"], json!(0));
    // old name free, taken name refused
    create_module(&app, biz, set, "nginx").await;
    app.esb_err(
        "update_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m, "bk_module_name": "php"}),
        1199014,
    )
    .await;
    // template fields cannot change
    let env = app
        .esb_err(
            "update_module",
            json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m, "service_template_id": 3}),
            1199083,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|msg| msg.contains("service_template_id")),
        "{env}"
    );
    app.esb_err(
        "update_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m, "set_template_id": 3}),
        1199083,
    )
    .await;
    // v3 route
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/module/{biz}/{set}/{m}"),
        json!({"operator": "carol"}),
    )
    .await;
    assert_eq!(
        modules(&app, biz, set).await["info"][0]["operator"],
        "carol"
    );
    // unknown, wrong set, built-in
    app.esb_err(
        "update_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": 99999, "operator": "x"}),
        1199019,
    )
    .await;
    app.esb_err(
        "update_module",
        json!({"bk_biz_id": biz, "bk_set_id": other_set, "bk_module_id": m, "operator": "x"}),
        1199019,
    )
    .await;
    let (idle, idle_modules) = idle_pool(&app, biz).await;
    app.esb_err(
        "update_module",
        json!({"bk_biz_id": biz, "bk_set_id": idle, "bk_module_id": idle_modules[0],
               "bk_module_name": "x"}),
        1101098,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn delete_module_rules() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let set = create_set(&app, biz, "web").await;
    let m = create_module(&app, biz, set, "nginx").await;
    let m2 = create_module(&app, biz, set, "php").await;
    let data = app
        .esb_ok(
            "delete_module",
            json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m}),
        )
        .await;
    assert_eq!(data, Value::Null);
    assert_eq!(
        names(&modules(&app, biz, set).await, "bk_module_name"),
        ["php"]
    );
    create_module(&app, biz, set, "nginx").await;
    // unknown module: success; unknown set: 1199011
    app.esb_ok(
        "delete_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": 99999}),
    )
    .await;
    let env = app
        .esb_err(
            "delete_module",
            json!({"bk_biz_id": biz, "bk_set_id": 99999, "bk_module_id": m2}),
            1199011,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|msg| msg.contains("bk_set_id")),
        "{env}"
    );
    // built-in
    let (idle, idle_modules) = idle_pool(&app, biz).await;
    app.esb_err(
        "delete_module",
        json!({"bk_biz_id": biz, "bk_set_id": idle, "bk_module_id": idle_modules[1]}),
        1101098,
    )
    .await;
    // v3 route
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/module/{biz}/{set}/{m2}"),
        json!({}),
    )
    .await;
    assert_eq!(
        names(&modules(&app, biz, set).await, "bk_module_name"),
        ["nginx"]
    );
    app.stop().await;
}

#[tokio::test]
async fn find_module_batch_by_ids() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "demo").await;
    let set = create_set(&app, biz, "web").await;
    let m = create_module(&app, biz, set, "nginx").await;
    let (_, idle_modules) = idle_pool(&app, biz).await;
    let found = app
        .esb_ok(
            "find_module_batch",
            json!({"bk_biz_id": biz, "bk_ids": [m, idle_modules[0]],
                   "fields": ["bk_module_id", "default"]}),
        )
        .await;
    assert_eq!(
        found,
        json!([{"bk_module_id": idle_modules[0], "default": 1},
               {"bk_module_id": m, "default": 0}])
    );
    let found = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/findmany/module/bk_biz_id/{biz}"),
            json!({"bk_ids": [m], "fields": ["bk_module_name"]}),
        )
        .await;
    assert_eq!(found, json!([{"bk_module_name": "nginx"}]));
    app.esb_err(
        "find_module_batch",
        json!({"bk_biz_id": biz, "bk_ids": [], "fields": ["bk_module_id"]}),
        1199089,
    )
    .await;
    app.esb_err(
        "find_module_batch",
        json!({"bk_biz_id": biz, "bk_ids": [m], "fields": []}),
        1199006,
    )
    .await;
    app.stop().await;
}
