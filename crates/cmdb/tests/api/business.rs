//! 30-topology.md §5.1–§5.5 and §5.18: businesses over both surfaces.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{TestApp, APP_CODE, APP_SECRET};

/// Id of the resource-pool business the seed creates.
const RESOURCE_POOL: i64 = 1;

async fn create_biz(app: &TestApp, name: &str, maintainer: &str) -> i64 {
    app.esb_ok(
        "create_business",
        json!({"bk_biz_name": name, "bk_biz_maintainer": maintainer}),
    )
    .await["bk_biz_id"]
        .as_i64()
        .expect("bk_biz_id")
}

async fn search(app: &TestApp, body: Value) -> Value {
    app.esb_ok("search_business", body).await
}

async fn count(app: &TestApp, condition: Value) -> i64 {
    search(app, json!({"condition": condition})).await["count"]
        .as_i64()
        .expect("count")
}

fn names(found: &Value) -> Vec<String> {
    found["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|b| b["bk_biz_name"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn archive(app: &TestApp, biz: i64) {
    app.esb_ok(
        "update_business_enable_status",
        json!({"bk_biz_id": biz, "flag": "disabled"}),
    )
    .await;
}

async fn biz_doc(app: &TestApp, biz: i64) -> Value {
    let found = search(
        app,
        json!({"condition": {"bk_biz_id": biz, "bk_data_status": {"$ne": "any"}}}),
    )
    .await;
    assert_eq!(found["count"], json!(1), "business {biz}: {found}");
    found["info"][0].clone()
}

#[tokio::test]
async fn create_business_stores_the_business_and_its_idle_pool() {
    let app = TestApp::spawn().await;
    let data = app
        .esb_ok(
            "create_business",
            json!({"bk_biz_name": "  demo  ", "bk_biz_maintainer": "admin,alice",
                   "life_cycle": "1", "nosuch": 1, "default": 1, "bk_biz_id": 999,
                   "bk_data_status": "disabled", "bk_supplier_account": "0"}),
        )
        .await;
    let keys: HashSet<&str> = data
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    let want: HashSet<&str> = [
        "bk_biz_id",
        "bk_biz_name",
        "bk_biz_maintainer",
        "bk_biz_productor",
        "bk_biz_developer",
        "bk_biz_tester",
        "operator",
        "time_zone",
        "language",
        "life_cycle",
        "default",
        "bk_supplier_account",
        "create_time",
        "last_time",
        "bk_created_at",
        "bk_created_by",
        "bk_updated_at",
        "bk_updated_by",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, want, "{data}");
    let biz = data["bk_biz_id"].as_i64().expect("id");
    assert!(biz > RESOURCE_POOL && biz != 999, "{data}");
    assert_eq!(data["bk_biz_name"], "demo");
    assert_eq!(data["bk_biz_maintainer"], "admin,alice");
    assert_eq!(data["default"], json!(0));
    assert_eq!(data["bk_supplier_account"], "0");
    assert_eq!(data["time_zone"], "Asia/Shanghai");
    assert_eq!(data["language"], "1");
    assert_eq!(data["life_cycle"], "1");
    assert_eq!(data["bk_biz_productor"], Value::Null);
    assert_eq!(data["bk_created_by"], "admin");
    assert_eq!(data["bk_updated_by"], Value::Null);
    for k in ["last_time", "bk_created_at", "bk_updated_at"] {
        assert_eq!(data[k], data["create_time"], "{k} is the same instant");
    }
    // what search returns is what was stored (the client's bk_data_status was ignored)
    let found = search(&app, json!({"condition": {"bk_biz_id": biz}})).await;
    assert_eq!(found["count"], json!(1));
    assert_eq!(found["info"][0], data);

    // the idle pool came with it
    let internal = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": biz}))
        .await;
    assert_eq!(internal["bk_set_name"], "空闲机池");
    assert!(internal["bk_set_id"].as_i64().is_some_and(|id| id > 0));
    let modules = internal["module"].as_array().expect("modules");
    let got: Vec<(String, i64, bool)> = modules
        .iter()
        .map(|m| {
            (
                m["bk_module_name"].as_str().unwrap_or_default().to_string(),
                m["default"].as_i64().unwrap_or(-1),
                m["host_apply_enabled"].as_bool().unwrap_or(true),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("空闲机".to_string(), 1, false),
            ("故障机".to_string(), 2, false),
            ("待回收".to_string(), 3, false),
        ]
    );
    assert!(modules
        .iter()
        .all(|m| m["bk_module_id"].as_i64().is_some_and(|id| id > 0)));

    // legacy ESB form: fields inside `data`; v3 route
    let legacy = app
        .esb_ok(
            "create_business",
            json!({"data": {"bk_biz_name": "legacy", "bk_biz_maintainer": "admin"}}),
        )
        .await;
    assert_eq!(legacy["bk_biz_name"], "legacy");
    let v3 = app
        .v3_ok(
            Method::POST,
            "/api/v3/biz/0",
            json!({"bk_biz_name": "from-v3", "bk_biz_maintainer": "admin"}),
        )
        .await;
    assert_eq!(v3["bk_biz_name"], "from-v3");
    assert!(v3["bk_biz_id"].as_i64() > legacy["bk_biz_id"].as_i64());
    app.stop().await;
}

#[tokio::test]
async fn create_business_errors() {
    let app = TestApp::spawn().await;
    let env = app
        .esb_err(
            "create_business",
            json!({"bk_biz_maintainer": "admin"}),
            1199010,
        )
        .await;
    assert_eq!(env["message"], "'bk_biz_name' unassigned");
    let env = app
        .esb_err("create_business", json!({"bk_biz_name": "x"}), 1199010)
        .await;
    assert_eq!(env["message"], "'bk_biz_maintainer' unassigned");
    // value validation is wrapped into 1199011
    app.esb_err(
        "create_business",
        json!({"bk_biz_name": "x", "bk_biz_maintainer": "admin", "life_cycle": "9"}),
        1199011,
    )
    .await;
    app.esb_err(
        "create_business",
        json!({"bk_biz_name": 5, "bk_biz_maintainer": "admin"}),
        1199011,
    )
    .await;
    app.esb_err(
        "create_business",
        json!({"bk_biz_name": "a##b", "bk_biz_maintainer": "admin"}),
        1199011,
    )
    .await;
    // names are unique among all businesses, the resource pool included
    create_biz(&app, "taken", "admin").await;
    let env = app
        .esb_err(
            "create_business",
            json!({"bk_biz_name": "taken", "bk_biz_maintainer": "bob"}),
            1199014,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("bk_biz_name")),
        "{env}"
    );
    app.esb_err(
        "create_business",
        json!({"bk_biz_name": "资源池", "bk_biz_maintainer": "admin"}),
        1199014,
    )
    .await;
    // a failed create left nothing behind: one business, one idle pool
    assert_eq!(count(&app, json!({})).await, 1);
    let next = create_biz(&app, "next", "admin").await;
    let internal = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": next}))
        .await;
    assert_eq!(internal["module"].as_array().map(Vec::len), Some(3));
    app.stop().await;
}

#[tokio::test]
async fn search_business_string_rewrites() {
    let app = TestApp::spawn().await;
    create_biz(&app, "Alpha Shop", "alice,bob").await;
    create_biz(&app, "beta-shop", "bob").await;
    create_biz(&app, "Gamma", "alice2").await;
    create_biz(&app, "v1.0 app", "carol").await;
    // strings: case-insensitive literal substrings
    assert_eq!(count(&app, json!({"bk_biz_name": "shop"})).await, 2);
    assert_eq!(count(&app, json!({"bk_biz_name": "SHOP"})).await, 2);
    assert_eq!(count(&app, json!({"bk_biz_name": "."})).await, 1);
    assert_eq!(count(&app, json!({"bk_biz_name": "a.*p"})).await, 0);
    // user fields: each user is a whole element of the stored list
    assert_eq!(count(&app, json!({"bk_biz_maintainer": "bob"})).await, 2);
    assert_eq!(count(&app, json!({"bk_biz_maintainer": "alice"})).await, 1);
    assert_eq!(
        count(&app, json!({"bk_biz_maintainer": "alice,bob"})).await,
        1
    );
    assert_eq!(count(&app, json!({"bk_biz_maintainer": "ali"})).await, 0);
    // non-string values and operators are kept as they are
    assert_eq!(
        count(
            &app,
            json!({"bk_biz_name": {"$in": ["Gamma", "beta-shop"]}})
        )
        .await,
        2
    );
    assert_eq!(
        count(
            &app,
            json!({"bk_biz_name": {"$regex": "^[ab]", "$options": "i"}})
        )
        .await,
        2
    );
    // the resource pool is never returned, whatever `default` the caller asks for
    assert_eq!(count(&app, json!({"bk_biz_name": "资源池"})).await, 0);
    assert_eq!(count(&app, json!({"default": 1})).await, 4);
    assert_eq!(count(&app, json!({})).await, 4);
    assert_eq!(search(&app, json!({})).await["count"], json!(4));
    // unknown fields are refused
    app.esb_err(
        "search_business",
        json!({"condition": {"nosuch": "x"}}),
        1199006,
    )
    .await;
    app.esb_err("search_business", json!({"condition": [1]}), 1199000)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn search_business_ids_fields_pages_and_filters() {
    let app = TestApp::spawn().await;
    let a = create_biz(&app, "a", "admin").await;
    let b = create_biz(&app, "b", "admin").await;
    let c = create_biz(&app, "c", "admin").await;
    // bk_biz_id: integer, $eq, $in
    assert_eq!(count(&app, json!({"bk_biz_id": b})).await, 1);
    assert_eq!(count(&app, json!({"bk_biz_id": {"$eq": c}})).await, 1);
    assert_eq!(
        count(&app, json!({"bk_biz_id": {"$in": [a, c, 424242]}})).await,
        2
    );
    assert_eq!(count(&app, json!({"bk_biz_id": RESOURCE_POOL})).await, 0);
    for bad in [
        json!("abc"),
        json!(String::from("1")),
        json!(1.5),
        json!({"$eq": "1"}),
        json!({"$in": ["x"]}),
        json!({"$in": 3}),
        json!(null),
    ] {
        let env = app
            .esb_err(
                "search_business",
                json!({"condition": {"bk_biz_id": bad}}),
                1199006,
            )
            .await;
        assert!(
            env["message"]
                .as_str()
                .is_some_and(|m| m.contains("bk_biz_id")),
            "{env}"
        );
    }
    // fields projection
    let found = search(
        &app,
        json!({"fields": ["bk_biz_id", "bk_biz_name"], "condition": {"bk_biz_id": a}}),
    )
    .await;
    assert_eq!(
        found["info"][0],
        json!({"bk_biz_id": a, "bk_biz_name": "a"})
    );
    // paging and sort: count ignores the page
    let found = search(
        &app,
        json!({"page": {"start": 0, "limit": 2, "sort": "-bk_biz_id"}}),
    )
    .await;
    assert_eq!(found["count"], json!(3));
    assert_eq!(names(&found), vec!["c", "b"]);
    let found = search(
        &app,
        json!({"page": {"start": 2, "limit": 2, "sort": "-bk_biz_id"}}),
    )
    .await;
    assert_eq!(names(&found), vec!["a"]);
    let found = search(&app, json!({"page": {"sort": "bk_biz_name"}})).await;
    assert_eq!(names(&found), vec!["a", "b", "c"]);
    app.esb_err(
        "search_business",
        json!({"page": {"sort": "nosuch"}}),
        1199006,
    )
    .await;
    // biz_property_filter, exclusive with condition
    let found = search(
        &app,
        json!({"biz_property_filter": {"condition": "OR", "rules": [
            {"field": "bk_biz_name", "operator": "equal", "value": "a"},
            {"field": "bk_biz_id", "operator": "in", "value": [c]}]}}),
    )
    .await;
    assert_eq!(names(&found), vec!["a", "c"]);
    app.esb_err(
        "search_business",
        json!({"condition": {"bk_biz_name": "a"},
               "biz_property_filter": {"condition": "AND", "rules": [
                   {"field": "bk_biz_name", "operator": "equal", "value": "a"}]}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_business",
        json!({"biz_property_filter": {"condition": "AND", "rules": [
            {"field": "nosuch", "operator": "equal", "value": "a"}]}}),
        1199006,
    )
    .await;
    // time_condition
    let all = search(
        &app,
        json!({"time_condition": {"oper": "and", "rules": [
            {"field": "create_time", "start": "2000-01-01 00:00:00", "end": "2999-01-01 00:00:00"}]}}),
    )
    .await;
    assert_eq!(all["count"], json!(3));
    let none = search(
        &app,
        json!({"time_condition": {"oper": "and", "rules": [
            {"field": "bk_created_at", "start": "2999-01-01 00:00:00"}]}}),
    )
    .await;
    assert_eq!(none["count"], json!(0));
    app.esb_err(
        "search_business",
        json!({"time_condition": {"oper": "or", "rules": [
            {"field": "create_time", "start": "2000-01-01"}]}}),
        1199006,
    )
    .await;
    // v3 route
    let v3 = app
        .v3_ok(
            Method::POST,
            "/api/v3/biz/search/0",
            json!({"condition": {"bk_biz_name": "b"}}),
        )
        .await;
    assert_eq!(v3["count"], json!(1));
    assert_eq!(v3["info"][0]["bk_biz_id"], json!(b));
    app.stop().await;
}

#[tokio::test]
async fn update_business_changes_attributes() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "before", "admin").await;
    create_biz(&app, "other", "admin").await;
    let created = biz_doc(&app, biz).await;
    app.esb_ok(
        "update_business",
        json!({"bk_biz_id": biz, "bk_biz_name": "after", "bk_biz_developer": "dev1,dev2",
               "default": 1, "nosuch": 1, "bk_parent_id": 7}),
    )
    .await;
    let doc = biz_doc(&app, biz).await;
    assert_eq!(doc["bk_biz_name"], "after");
    assert_eq!(doc["bk_biz_developer"], "dev1,dev2");
    assert_eq!(doc["default"], json!(0));
    assert_eq!(doc["bk_biz_id"], json!(biz));
    assert!(doc.get("nosuch").is_none() && doc.get("bk_parent_id").is_none());
    assert_eq!(doc["bk_updated_by"], "admin");
    assert_eq!(doc["create_time"], created["create_time"]);
    // the old name is free again, the new one taken
    create_biz(&app, "before", "admin").await;
    app.esb_err(
        "update_business",
        json!({"bk_biz_id": biz, "bk_biz_name": "other"}),
        1199014,
    )
    .await;
    // legacy `data` form and the v3 route
    app.esb_ok(
        "update_business",
        json!({"bk_biz_id": biz, "data": {"life_cycle": "3"}}),
    )
    .await;
    assert_eq!(biz_doc(&app, biz).await["life_cycle"], "3");
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/biz/0/{biz}"),
        json!({"bk_biz_tester": "tester"}),
    )
    .await;
    assert_eq!(biz_doc(&app, biz).await["bk_biz_tester"], "tester");
    // errors
    app.esb_err(
        "update_business",
        json!({"bk_biz_id": 424242, "bk_biz_name": "x"}),
        1199019,
    )
    .await;
    app.esb_err(
        "update_business",
        json!({"bk_biz_id": "abc", "bk_biz_name": "x"}),
        1199009,
    )
    .await;
    app.esb_err(
        "update_business",
        json!({"bk_biz_id": biz, "life_cycle": "9"}),
        1199011,
    )
    .await;
    app.esb_err(
        "update_business",
        json!({"bk_biz_id": biz, "bk_biz_name": ""}),
        1199011,
    )
    .await;
    // a failed update changed nothing
    let doc = biz_doc(&app, biz).await;
    assert_eq!(doc["bk_biz_name"], "after");
    assert_eq!(doc["life_cycle"], "3");
    app.stop().await;
}

#[tokio::test]
async fn archive_and_restore_business() {
    let app = TestApp::spawn().await;
    let first = create_biz(&app, "shop", "admin").await;
    archive(&app, first).await;
    // archived businesses are hidden unless asked for
    assert_eq!(count(&app, json!({})).await, 0);
    let archived = search(&app, json!({"condition": {"bk_data_status": "disabled"}})).await;
    assert_eq!(names(&archived), vec!["shop-archived"]);
    assert_eq!(archived["info"][0]["bk_data_status"], "disabled");
    // archiving again changes nothing
    archive(&app, first).await;
    assert_eq!(biz_doc(&app, first).await["bk_biz_name"], "shop-archived");
    // the name is free: the next "shop" archives to -1, then -2
    let second = create_biz(&app, "shop", "admin").await;
    archive(&app, second).await;
    let third = create_biz(&app, "shop", "admin").await;
    // the v3 route; a numeric string id as the docs show it
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/biz/status/disabled/0/{third}"),
        json!({}),
    )
    .await;
    assert_eq!(
        biz_doc(&app, second).await["bk_biz_name"],
        "shop-archived-1"
    );
    assert_eq!(biz_doc(&app, third).await["bk_biz_name"], "shop-archived-2");
    // restore with a new name, restore keeping the archived name
    app.esb_ok(
        "update_business_enable_status",
        json!({"bk_biz_id": first.to_string(), "flag": "enable", "bk_biz_name": " shop-again "}),
    )
    .await;
    let doc = biz_doc(&app, first).await;
    assert_eq!(doc["bk_biz_name"], "shop-again");
    assert_eq!(doc["bk_data_status"], "enable");
    app.esb_ok(
        "update_business_enable_status",
        json!({"bk_biz_id": second, "flag": "enable"}),
    )
    .await;
    assert_eq!(
        biz_doc(&app, second).await["bk_biz_name"],
        "shop-archived-1"
    );
    let visible = search(&app, json!({"page": {"sort": "bk_biz_id"}})).await;
    assert_eq!(names(&visible), vec!["shop-again", "shop-archived-1"]);
    // the next archive of "shop" continues after the highest number in use
    let fourth = create_biz(&app, "shop", "admin").await;
    archive(&app, fourth).await;
    assert_eq!(
        biz_doc(&app, fourth).await["bk_biz_name"],
        "shop-archived-3"
    );
    // errors
    app.esb_err(
        "update_business_enable_status",
        json!({"bk_biz_id": 424242, "flag": "disabled"}),
        1199019,
    )
    .await;
    app.esb_err(
        "update_business_enable_status",
        json!({"bk_biz_id": first, "flag": "paused"}),
        1199011,
    )
    .await;
    app.esb_err(
        "update_business_enable_status",
        json!({"bk_biz_id": "x", "flag": "enable"}),
        1199009,
    )
    .await;
    app.esb_err(
        "update_business_enable_status",
        json!({"bk_biz_id": RESOURCE_POOL, "flag": "disabled"}),
        1101111,
    )
    .await;
    app.esb_err(
        "update_business_enable_status",
        json!({"bk_biz_id": third, "flag": "enable", "bk_biz_name": "shop-again"}),
        1199014,
    )
    .await;
    // the failed restore left the business archived
    assert_eq!(biz_doc(&app, third).await["bk_data_status"], "disabled");
    app.stop().await;
}

#[tokio::test]
async fn delete_business_removes_archived_businesses_with_their_topology() {
    let app = TestApp::spawn().await;
    let gone = create_biz(&app, "gone", "admin").await;
    let live = create_biz(&app, "live", "admin").await;
    // only archived, non-built-in businesses
    app.esb_err("delete_business", json!({"bk_biz_id": [gone]}), 1101112)
        .await;
    app.esb_err(
        "delete_business",
        json!({"bk_biz_id": [RESOURCE_POOL]}),
        1101111,
    )
    .await;
    archive(&app, gone).await;
    // one bad id refuses the whole call
    app.esb_err(
        "delete_business",
        json!({"bk_biz_id": [gone, live]}),
        1101112,
    )
    .await;
    app.esb_err(
        "delete_business",
        json!({"bk_biz_id": [gone, RESOURCE_POOL]}),
        1101111,
    )
    .await;
    assert_eq!(
        biz_doc(&app, gone).await["bk_biz_name"],
        "gone-archived",
        "nothing was deleted"
    );
    app.esb_ok(
        "delete_business",
        json!({"bk_biz_id": [gone, gone, 424242]}),
    )
    .await;
    let archived = search(&app, json!({"condition": {"bk_data_status": "disabled"}})).await;
    assert_eq!(archived["count"], json!(0));
    let internal = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": gone}))
        .await;
    assert_eq!(
        internal,
        json!({"bk_set_id": 0, "bk_set_name": "", "module": null})
    );
    // its names are free again; the other business is untouched
    create_biz(&app, "gone-archived", "admin").await;
    assert_eq!(biz_doc(&app, live).await["bk_biz_name"], "live");
    let internal = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": live}))
        .await;
    assert_eq!(internal["module"].as_array().map(Vec::len), Some(3));
    // a single integer is accepted; the v3 route
    archive(&app, live).await;
    app.esb_ok("delete_business", json!({"bk_biz_id": live}))
        .await;
    let other = create_biz(&app, "other", "admin").await;
    archive(&app, other).await;
    app.v3_ok(
        Method::POST,
        "/api/v3/deletemany/biz",
        json!({"bk_biz_id": [other]}),
    )
    .await;
    assert_eq!(
        search(&app, json!({"condition": {"bk_data_status": "disabled"}})).await["count"],
        json!(0)
    );
    // argument errors
    app.esb_err("delete_business", json!({}), 1199011).await;
    app.esb_err("delete_business", json!({"bk_biz_id": []}), 1199011)
        .await;
    let many: Vec<i64> = (1000..1021).collect();
    app.esb_err("delete_business", json!({"bk_biz_id": many}), 1199035)
        .await;
    app.esb_err("delete_business", json!({"bk_biz_id": ["1"]}), 1199000)
        .await;
    app.esb_err("delete_business", json!({"bk_biz_id": "1"}), 1199000)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn internal_modules_of_the_resource_pool_on_every_surface() {
    let app = TestApp::spawn().await;
    let esb = app
        .esb_ok(
            "get_biz_internal_module",
            json!({"bk_biz_id": RESOURCE_POOL}),
        )
        .await;
    assert_eq!(esb["bk_set_name"], "空闲机池");
    let names: Vec<&str> = esb["module"]
        .as_array()
        .expect("modules")
        .iter()
        .filter_map(|m| m["bk_module_name"].as_str())
        .collect();
    assert_eq!(names, vec!["空闲机", "故障机", "待回收"]);
    // the Python client sends GET with a query string
    let url = format!(
        "{}/api/c/compapi/v2/cc/get_biz_internal_module/?bk_app_code={APP_CODE}&bk_app_secret={APP_SECRET}&bk_username=admin&bk_supplier_account=0&bk_biz_id={RESOURCE_POOL}",
        app.base
    );
    let env: Value = app
        .client
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(env["result"], json!(true), "{env}");
    assert_eq!(env["data"], esb);
    let v3 = app
        .v3_ok(
            Method::GET,
            &format!("/api/v3/topo/internal/0/{RESOURCE_POOL}"),
            json!({}),
        )
        .await;
    assert_eq!(v3, esb);
    // unknown business: empty answer; non-numeric id: 1199009
    let unknown = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": 0}))
        .await;
    assert_eq!(
        unknown,
        json!({"bk_set_id": 0, "bk_set_name": "", "module": null})
    );
    app.esb_err(
        "get_biz_internal_module",
        json!({"bk_biz_id": "pool"}),
        1199009,
    )
    .await;
    app.stop().await;
}
