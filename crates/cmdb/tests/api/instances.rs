//! 20-instances.md: create_inst and its family, over both surfaces.

use std::collections::HashSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;

/// The spec's seed exchange: model `test3` with singlechar `test4`, create_inst without `test4`.
#[tokio::test]
async fn create_inst_spec_example() {
    let app = TestApp::spawn().await;
    app.create_model("test3").await;
    app.create_attr("test3", "test4", "singlechar", json!({}))
        .await;
    let data = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "test3", "bk_inst_name": "example18", "bk_biz_id": 0}),
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
        "bk_inst_id",
        "bk_inst_name",
        "bk_obj_id",
        "bk_supplier_account",
        "create_time",
        "last_time",
        "test4",
        "bk_created_by",
        "bk_created_at",
        "bk_updated_at",
        "bk_updated_by",
    ]
    .into_iter()
    .collect();
    assert_eq!(keys, want, "{data}");
    assert_eq!(data["bk_biz_id"], json!(0));
    assert!(data["bk_inst_id"].as_i64().is_some_and(|id| id > 0));
    assert_eq!(data["bk_inst_name"], "example18");
    assert_eq!(data["bk_obj_id"], "test3");
    assert_eq!(data["bk_supplier_account"], "0");
    assert_eq!(data["test4"], "");
    assert_eq!(data["bk_created_by"], "admin");
    assert_eq!(data["bk_updated_by"], Value::Null);
    let t = data["create_time"].as_str().expect("time");
    assert!(chrono_like(t), "{t}");
    for k in ["last_time", "bk_created_at", "bk_updated_at"] {
        assert_eq!(data[k], data["create_time"], "{k} must be the same instant");
    }
    // searches re-emit exactly what was stored
    let found = app
        .esb_ok(
            "search_object_instances",
            json!({"bk_obj_id": "test3", "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(found["info"][0], data);
    app.stop().await;
}

fn chrono_like(t: &str) -> bool {
    t.len() >= 20 && t.as_bytes().get(4) == Some(&b'-') && t.as_bytes().get(10) == Some(&b'T')
}

#[tokio::test]
async fn create_inst_errors_in_spec_order() {
    let app = TestApp::spawn().await;
    app.create_model("test3").await;
    app.create_attr("test3", "asset", "singlechar", json!({"isrequired": true}))
        .await;
    let env = app
        .esb_err(
            "create_inst",
            json!({"bk_obj_id": "test3", "bk_inst_name": "x"}),
            1199010,
        )
        .await;
    assert_eq!(env["message"], "'asset' unassigned");
    for builtin in [
        "biz",
        "set",
        "module",
        "host",
        "process",
        "plat",
        "bk_biz_set_obj",
        "bk_project",
    ] {
        app.esb_err(
            "create_inst",
            json!({"bk_obj_id": builtin, "bk_inst_name": "x"}),
            1199084,
        )
        .await;
    }
    let env = app
        .esb_err(
            "create_inst",
            json!({"bk_obj_id": "nosuch", "bk_inst_name": "x"}),
            1199011,
        )
        .await;
    assert_eq!(
        env["message"],
        "'bk_obj_id' the parameter is invalid or does not exist"
    );
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "test3", "bk_inst_name": "x", "asset": "a", "bk_biz_id": 424242}),
        1199011,
    )
    .await;
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "test3", "bk_inst_name": "x", "asset": "a", "bk_biz_id": "abc"}),
        1199011,
    )
    .await;
    // wrong type is wrapped into 1199011 with the inner message
    let env = app
        .esb_err(
            "create_inst",
            json!({"bk_obj_id": "test3", "bk_inst_name": 5, "asset": "a"}),
            1199011,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .is_some_and(|m| m.contains("must be a string type")),
        "{env}"
    );
    // unknown keys dropped, strings trimmed, metadata dropped, resource-pool business accepted
    let data = app
        .esb_ok("create_inst", json!({"bk_obj_id": "test3", "bk_inst_name": "  padded  ", "asset": "a", "nosuch": 1, "metadata": {"label": {"bk_biz_id": "64"}}, "bk_biz_id": 1}))
        .await;
    assert_eq!(data["bk_inst_name"], "padded");
    assert!(data.get("nosuch").is_none());
    assert!(data.get("metadata").is_none());
    assert_eq!(data["bk_biz_id"], json!(1));
    // a client-chosen bk_inst_id is overwritten
    let data = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "test3", "bk_inst_name": "y", "asset": "a", "bk_inst_id": 5}),
        )
        .await;
    assert_ne!(data["bk_inst_id"], json!(5));
    // duplicates by name
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "test3", "bk_inst_name": "y", "asset": "b"}),
        1199014,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn ids_are_shared_and_increasing_across_models() {
    let app = TestApp::spawn().await;
    app.create_model("ma").await;
    app.create_model("mb").await;
    let a = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "ma", "bk_inst_name": "x"}),
        )
        .await["bk_inst_id"]
        .as_i64()
        .expect("id");
    let b = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "mb", "bk_inst_name": "x"}),
        )
        .await["bk_inst_id"]
        .as_i64()
        .expect("id");
    assert!(b > a);
    app.esb_ok("delete_inst", json!({"bk_obj_id": "mb", "bk_inst_id": b}))
        .await;
    let c = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "mb", "bk_inst_name": "x"}),
        )
        .await["bk_inst_id"]
        .as_i64()
        .expect("id");
    assert!(c > b, "ids are never reused");
    app.stop().await;
}

/// Each attribute type through create_inst: one accepted and one refused value each.
#[tokio::test]
async fn every_attribute_type_is_validated_on_create() {
    let app = TestApp::spawn().await;
    app.create_model("typ").await;
    let enum_opt = json!([{"id": "a", "name": "A", "type": "text", "is_default": true}, {"id": "b", "name": "B", "type": "text", "is_default": false}]);
    let cases: Vec<(&str, &str, Value, Value, Value)> = vec![
        (
            "f_char",
            "singlechar",
            json!({"option": "^[a-z]+$"}),
            json!("abc"),
            json!("ABC"),
        ),
        (
            "f_long",
            "longchar",
            json!({}),
            json!("x".repeat(2000)),
            json!("x".repeat(2001)),
        ),
        (
            "f_int",
            "int",
            json!({"option": {"min": "1", "max": "10"}}),
            json!(7),
            json!(11),
        ),
        (
            "f_float",
            "float",
            json!({"option": {"min": 0, "max": 1.5}}),
            json!("1.25"),
            json!(2.5),
        ),
        (
            "f_enum",
            "enum",
            json!({"option": enum_opt}),
            json!("b"),
            json!("c"),
        ),
        (
            "f_multi",
            "enummulti",
            json!({"option": enum_opt, "ismultiple": true}),
            json!(["a", "b"]),
            json!("a"),
        ),
        (
            "f_date",
            "date",
            json!({}),
            json!("2024-02-29"),
            json!("2023-02-29"),
        ),
        (
            "f_time",
            "time",
            json!({}),
            json!("2024-01-02 03:04:05"),
            json!("2024-01-02"),
        ),
        (
            "f_tz",
            "timezone",
            json!({}),
            json!("Asia/Shanghai"),
            json!("bad zone!"),
        ),
        ("f_bool", "bool", json!({}), json!(true), json!("true")),
        (
            "f_list",
            "list",
            json!({"option": ["x", "y"]}),
            json!("y"),
            json!("z"),
        ),
        (
            "f_user",
            "objuser",
            json!({}),
            json!("alice,bob"),
            json!("al ice"),
        ),
        (
            "f_org",
            "organization",
            json!({}),
            json!([1, 2]),
            json!(["x"]),
        ),
    ];
    for (prop, ptype, extra, _, _) in &cases {
        app.create_attr("typ", prop, ptype, extra.clone()).await;
    }
    for (i, (prop, ptype, _, good, bad)) in cases.iter().enumerate() {
        let ok = app
            .esb(
                "create_inst",
                json!({"bk_obj_id": "typ", "bk_inst_name": format!("ok{i}"), *prop: good}),
            )
            .await;
        assert_eq!(
            ok["result"],
            json!(true),
            "{ptype} should accept {good}: {ok}"
        );
        let env = app
            .esb(
                "create_inst",
                json!({"bk_obj_id": "typ", "bk_inst_name": format!("bad{i}"), *prop: bad}),
            )
            .await;
        assert_eq!(
            env["code"],
            json!(1199011),
            "{ptype} should refuse {bad}: {env}"
        );
    }
    // defaults fill absent keys the spec's way
    let data = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "typ", "bk_inst_name": "fill"}),
        )
        .await;
    assert_eq!(data["f_char"], "");
    assert_eq!(data["f_int"], Value::Null);
    assert_eq!(data["f_enum"], "a");
    assert_eq!(data["f_multi"], json!(["a"]));
    assert_eq!(data["f_bool"], json!(false));
    assert_eq!(data["f_list"], Value::Null);
    // time values are stored normalised and returned as RFC 3339
    let found = app.esb_ok("search_object_instances", json!({"bk_obj_id": "typ", "page": {"start": 0, "limit": 500}, "conditions": {"condition": "AND", "rules": [{"field": "f_time", "operator": "is_not_null"}]}})).await;
    let t = found["info"][0]["f_time"].as_str().expect("time");
    assert!(t.starts_with("2024-01-02T"), "{t}");
    app.stop().await;
}

#[tokio::test]
async fn batch_create_reports_per_item() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    let data = app
        .esb_ok("batch_create_inst", json!({"bk_obj_id": "sw", "details": [{"bk_inst_name": "s1"}, {"bk_inst_name": "s1"}, {"bk_inst_name": "s2"}]}))
        .await;
    assert!(data["success_created"]["0"].as_i64().is_some());
    assert!(data["success_created"]["2"].as_i64().is_some());
    assert!(
        data["error_msg"]["1"]
            .as_str()
            .is_some_and(|m| m.contains("duplicated")),
        "{data}"
    );
    assert!(data["success_created"].get("1").is_none());
    let data = app
        .esb_ok(
            "batch_create_inst",
            json!({"bk_obj_id": "sw", "details": [{"bk_inst_name": "s9"}]}),
        )
        .await;
    assert_eq!(data["error_msg"], json!({}));
    app.esb_err(
        "batch_create_inst",
        json!({"bk_obj_id": "sw", "details": []}),
        1199038,
    )
    .await;
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"bk_inst_name": format!("n{i}")}))
        .collect();
    app.esb_err(
        "batch_create_inst",
        json!({"bk_obj_id": "sw", "details": many}),
        1199035,
    )
    .await;
    app.esb_err(
        "batch_create_inst",
        json!({"bk_obj_id": "host", "details": [{"bk_inst_name": "x"}]}),
        1199084,
    )
    .await;
    let count = app
        .esb_ok("count_object_instances", json!({"bk_obj_id": "sw"}))
        .await;
    assert_eq!(count["count"], json!(3));
    app.stop().await;
}

#[tokio::test]
async fn update_inst_and_batch_update() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    app.create_attr(
        "sw",
        "port",
        "int",
        json!({"option": {"min": "0", "max": "65535"}}),
    )
    .await;
    let a = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "sw", "bk_inst_name": "a"}),
        )
        .await;
    let b = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "sw", "bk_inst_name": "b"}),
        )
        .await;
    let id = a["bk_inst_id"].clone();
    let data = app.esb_ok("update_inst", json!({"bk_obj_id": "sw", "bk_inst_id": id, "port": 22, "bk_created_by": "mallory", "unknown": 1})).await;
    assert_eq!(data, Value::Null);
    let found = app.esb_ok("search_object_instances", json!({"bk_obj_id": "sw", "page": {"start": 0, "limit": 10}, "conditions": {"condition": "AND", "rules": [{"field": "bk_inst_id", "operator": "equal", "value": id}]}})).await;
    let doc = &found["info"][0];
    assert_eq!(doc["port"], json!(22));
    assert_eq!(
        doc["bk_created_by"], "admin",
        "non-editable fields are ignored"
    );
    assert_eq!(doc["bk_updated_by"], "admin");
    assert_eq!(doc["create_time"], a["create_time"]);
    assert!(doc.get("unknown").is_none());
    app.esb_err(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": id, "port": 70000}),
        1199011,
    )
    .await;
    app.esb_err(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": id, "bk_inst_name": ""}),
        1199011,
    )
    .await;
    app.esb_err(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": id, "bk_inst_name": "b"}),
        1199014,
    )
    .await;
    app.esb_err(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": 99999999, "port": 1}),
        1199019,
    )
    .await;
    app.esb_err(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": "abc", "port": 1}),
        1199009,
    )
    .await;
    app.esb_err(
        "update_inst",
        json!({"bk_obj_id": "biz", "bk_inst_id": 1, "bk_biz_name": "x"}),
        1199084,
    )
    .await;

    // batch update is all or nothing
    let bid = b["bk_inst_id"].clone();
    app.esb_err("batch_update_inst", json!({"bk_obj_id": "sw", "update": [{"inst_id": id, "datas": {"port": 1}}, {"inst_id": bid, "datas": {"port": -5}}]}), 1199011).await;
    app.esb_err(
        "batch_update_inst",
        json!({"bk_obj_id": "sw", "update": [{"inst_id": 0, "datas": {"port": 1}}]}),
        1199006,
    )
    .await;
    let found = app
        .esb_ok(
            "search_object_instances",
            json!({"bk_obj_id": "sw", "page": {"start": 0, "limit": 10, "sort": "bk_inst_id"}}),
        )
        .await;
    assert_eq!(
        found["info"][0]["port"],
        json!(22),
        "first item rolled back"
    );
    app.esb_ok("batch_update_inst", json!({"bk_obj_id": "sw", "update": [{"inst_id": id, "datas": {"port": 1}}, {"inst_id": bid, "datas": {"port": 2}}]})).await;
    let found = app
        .esb_ok(
            "search_object_instances",
            json!({"bk_obj_id": "sw", "page": {"start": 0, "limit": 10, "sort": "bk_inst_id"}}),
        )
        .await;
    assert_eq!(found["info"][0]["port"], json!(1));
    assert_eq!(found["info"][1]["port"], json!(2));

    // v3 path of update
    let path = format!("/api/v3/update/instance/object/sw/inst/{bid}");
    app.v3_ok(Method::PUT, &path, json!({"port": 3})).await;
    app.stop().await;
}

#[tokio::test]
async fn delete_inst_and_batch_delete() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    let mut ids = Vec::new();
    for n in ["a", "b", "c"] {
        ids.push(
            app.esb_ok("create_inst", json!({"bk_obj_id": "sw", "bk_inst_name": n}))
                .await["bk_inst_id"]
                .clone(),
        );
    }
    app.esb_ok(
        "delete_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": ids[0]}),
    )
    .await;
    app.esb_ok(
        "delete_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": ids[0]}),
    )
    .await;
    app.esb_err(
        "delete_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": "x"}),
        1199009,
    )
    .await;
    app.esb_err(
        "delete_inst",
        json!({"bk_obj_id": "module", "bk_inst_id": 1}),
        1199084,
    )
    .await;
    app.esb_ok(
        "batch_delete_inst",
        json!({"bk_obj_id": "sw", "delete": {"inst_ids": [ids[1], ids[2], 424242]}}),
    )
    .await;
    app.esb_ok(
        "batch_delete_inst",
        json!({"bk_obj_id": "sw", "delete": {"inst_ids": []}}),
    )
    .await;
    assert_eq!(
        app.esb_ok("count_object_instances", json!({"bk_obj_id": "sw"}))
            .await["count"],
        json!(0)
    );
    // the name is free again
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "sw", "bk_inst_name": "a"}),
    )
    .await;
    app.stop().await;
}

async fn seed_search_data(app: &TestApp) {
    app.create_model("srv").await;
    app.create_attr("srv", "ip", "singlechar", json!({})).await;
    app.create_attr(
        "srv",
        "cpu",
        "int",
        json!({"option": {"min": "", "max": ""}}),
    )
    .await;
    app.create_attr("srv", "os", "enum", json!({"option": [{"id": "linux", "name": "Linux", "type": "text", "is_default": true}, {"id": "win", "name": "Windows", "type": "text", "is_default": false}]})).await;
    for i in 0..30 {
        let os = if i % 3 == 0 { "win" } else { "linux" };
        app.esb_ok("create_inst", json!({"bk_obj_id": "srv", "bk_inst_name": format!("srv-{i:02}"), "ip": format!("10.0.0.{i}"), "cpu": i, "os": os})).await;
    }
}

#[tokio::test]
async fn search_object_instances_and_count() {
    let app = TestApp::spawn().await;
    seed_search_data(&app).await;
    let filter = json!({"condition": "AND", "rules": [
        {"field": "cpu", "operator": "greater_or_equal", "value": 10},
        {"condition": "OR", "rules": [{"field": "os", "operator": "equal", "value": "win"}, {"field": "bk_inst_name", "operator": "begins_with", "value": "srv-2"}]}]});
    let found = app
        .esb_ok("search_object_instances", json!({"bk_obj_id": "srv", "conditions": filter, "fields": ["bk_inst_name", "cpu"], "page": {"start": 0, "limit": 5, "sort": "-cpu"}}))
        .await;
    assert!(found.get("count").is_none(), "search has no count: {found}");
    let info = found["info"].as_array().expect("info");
    assert_eq!(info.len(), 5);
    assert_eq!(info[0], json!({"bk_inst_name": "srv-29", "cpu": 29}));
    assert_eq!(info[1]["cpu"], json!(28));
    let count = app
        .esb_ok(
            "count_object_instances",
            json!({"bk_obj_id": "srv", "conditions": filter}),
        )
        .await;
    // cpu>=10: win ones are 12,15,18,21,24,27 (6) plus srv-2x non-win 20,22,23,25,26,28,29 (7) = 13
    assert_eq!(count, json!({"count": 13}));

    app.esb_err(
        "search_object_instances",
        json!({"bk_obj_id": "srv", "page": {"start": 0, "limit": 501}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_object_instances",
        json!({"bk_obj_id": "srv"}),
        1199006,
    )
    .await;
    app.esb_err("search_object_instances", json!({"bk_obj_id": "srv", "page": {"limit": 10}, "conditions": {"condition": "AND", "rules": [{"field": "nosuch", "operator": "equal", "value": 1}]}}), 1199006).await;
    app.esb_err("search_object_instances", json!({"bk_obj_id": "srv", "page": {"limit": 10}, "conditions": {"condition": "AND", "rules": [{"field": "cpu", "operator": "between", "value": [1, 2]}]}}), 1199006).await;
    app.esb_err(
        "search_object_instances",
        json!({"bk_obj_id": "host", "page": {"limit": 10}}),
        1199084,
    )
    .await;
    app.esb_err(
        "count_object_instances",
        json!({"bk_obj_id": "biz"}),
        1199084,
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn search_inst_and_search_inst_by_object() {
    let app = TestApp::spawn().await;
    seed_search_data(&app).await;
    let found = app
        .esb_ok("search_inst", json!({"bk_obj_id": "srv", "page": {"start": 0, "limit": 10, "sort": "bk_inst_name"},
            "fields": {"srv": ["bk_inst_name", "ip"]},
            "condition": {"srv": [{"field": "os", "operator": "$eq", "value": "win"}, {"field": "cpu", "operator": "$lt", "value": 10}]}}))
        .await;
    assert_eq!(found["count"], json!(4));
    assert_eq!(
        found["info"][0],
        json!({"bk_inst_name": "srv-00", "ip": "10.0.0.0"})
    );
    let found = app
        .esb_ok("search_inst", json!({"bk_obj_id": "srv", "page": {"start": 0, "limit": 10},
            "condition": {"srv": [{"field": "bk_inst_name", "operator": "$regex", "value": "srv-1"}]}}))
        .await;
    assert_eq!(found["count"], json!(10));
    // a condition on another model with no associated instances matches nothing
    let found = app
        .esb_ok("search_inst", json!({"bk_obj_id": "srv", "page": {"start": 0, "limit": 10},
            "condition": {"bk_switch": [{"field": "bk_inst_name", "operator": "$eq", "value": "nothing"}]}}))
        .await;
    assert_eq!(found, json!({"count": 0, "info": []}));

    let found = app
        .esb_ok("search_inst_by_object", json!({"bk_obj_id": "srv", "fields": ["bk_inst_id", "cpu"], "condition": {"cpu": {"$in": [1, 2, 3]}, "os": "linux"}, "page": {"start": 0, "limit": 10, "sort": "cpu"}}))
        .await;
    assert_eq!(found["count"], json!(2));
    assert_eq!(found["info"][0]["cpu"], json!(1));
    assert_eq!(found["info"][1]["cpu"], json!(2));
    assert!(found["info"][0].get("ip").is_none());
    app.esb_err(
        "search_inst_by_object",
        json!({"bk_obj_id": "srv", "condition": {"cpu": {"$bogus": 1}}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_inst_by_object",
        json!({"bk_obj_id": "srv", "condition": {"nosuch": 1}}),
        1199006,
    )
    .await;
    app.esb_err(
        "search_inst_by_object",
        json!({"bk_obj_id": "module", "condition": {}}),
        1199084,
    )
    .await;

    // v3 routes
    let data = app
        .v3_ok(
            Method::POST,
            "/api/v3/search/instances/object/srv",
            json!({"page": {"start": 0, "limit": 3}}),
        )
        .await;
    assert_eq!(data["info"].as_array().map(Vec::len), Some(3));
    let data = app
        .v3_ok(
            Method::POST,
            "/api/v3/count/instances/object/srv",
            json!({}),
        )
        .await;
    assert_eq!(data["count"], json!(30));
    let data = app
        .v3_ok(
            Method::POST,
            "/api/v3/inst/search/0/srv",
            json!({"condition": {"os": "win"}}),
        )
        .await;
    assert_eq!(data["count"], json!(10));
    app.stop().await;
}

#[tokio::test]
async fn injection_attempts_are_data_not_sql() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    let nasty = "x'); DROP TABLE instance; --\" % _ \\";
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "sw", "bk_inst_name": nasty}),
    )
    .await;
    let found = app
        .esb_ok(
            "search_inst_by_object",
            json!({"bk_obj_id": "sw", "condition": {"bk_inst_name": nasty}}),
        )
        .await;
    assert_eq!(found["count"], json!(1));
    assert_eq!(found["info"][0]["bk_inst_name"], nasty);
    let found = app.esb_ok("search_object_instances", json!({"bk_obj_id": "sw", "page": {"limit": 10}, "conditions": {"condition": "AND", "rules": [{"field": "bk_inst_name", "operator": "contains", "value": "%"}]}})).await;
    assert_eq!(found["info"].as_array().map(Vec::len), Some(1));
    app.esb_err("search_object_instances", json!({"bk_obj_id": "sw", "page": {"limit": 10}, "conditions": {"condition": "AND", "rules": [{"field": "a') OR 1=1 --", "operator": "equal", "value": 1}]}}), 1199006).await;
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "sw", "bk_inst_name": "nul\u{0000}byte"}),
        1199011,
    )
    .await;
    app.stop().await;
}

/// 1,000 concurrent creates sharing a unique value: exactly one wins, the database holds one.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_with_one_unique_value() {
    let app = TestApp::spawn().await;
    app.create_model("race").await;
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for i in 0..1000 {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            app.esb(
                "create_inst",
                json!({"bk_obj_id": "race", "bk_inst_name": "same", "n": i}),
            )
            .await
        }));
    }
    let mut ok = 0;
    let mut dup = 0;
    for t in tasks {
        let env = t.await.expect("task");
        match env["code"].as_i64() {
            Some(0) => ok += 1,
            Some(1199014) => dup += 1,
            other => panic!("unexpected answer {other:?}: {env}"),
        }
    }
    assert_eq!((ok, dup), (1, 999));
    let count = app
        .esb_ok("count_object_instances", json!({"bk_obj_id": "race"}))
        .await;
    assert_eq!(count["count"], json!(1));
    if let Ok(app) = std::sync::Arc::try_unwrap(app) {
        app.stop().await;
    }
}

/// Acknowledged writes are on disk: a restarted server on the same data directory sees them,
/// and the built-in data is not seeded twice.
#[tokio::test]
async fn data_survives_restart() {
    let app = TestApp::spawn().await;
    app.create_model("keep").await;
    let created = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "keep", "bk_inst_name": "k1"}),
        )
        .await;
    if app.database.is_none() {
        assert!(app.data_dir.join("cmdb.sqlite3").exists());
    }
    let app = app.restart().await;
    let found = app
        .esb_ok(
            "search_object_instances",
            json!({"bk_obj_id": "keep", "page": {"limit": 10}}),
        )
        .await;
    assert_eq!(found["info"][0], created);
    let classes = app
        .esb_ok(
            "search_classifications",
            json!({"bk_classification_id": "bk_network"}),
        )
        .await;
    assert_eq!(classes.as_array().map(Vec::len), Some(1));
    app.stop().await;
}
