//! 10-models.md: classifications, models, attributes, groups, unique rules.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;

#[tokio::test]
async fn builtin_data_is_seeded() {
    let app = TestApp::spawn().await;
    let cls = app.esb_ok("search_classifications", json!({})).await;
    let ids: Vec<&str> = cls
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|c| c["bk_classification_id"].as_str())
        .collect();
    for want in [
        "bk_host_manage",
        "bk_biz_topo",
        "bk_organization",
        "bk_network",
        "bk_uncategorized",
    ] {
        assert!(ids.contains(&want), "{want} missing from {ids:?}");
    }
    let objs = app.esb_ok("search_objects", json!({})).await;
    let objs: Vec<&str> = objs
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|o| o["bk_obj_id"].as_str())
        .collect();
    for want in [
        "biz",
        "set",
        "module",
        "host",
        "plat",
        "process",
        "bk_biz_set_obj",
        "bk_project",
        "bk_switch",
    ] {
        assert!(objs.contains(&want), "{want} missing");
    }
    let attrs = app
        .esb_ok("search_object_attribute", json!({"bk_obj_id": "biz"}))
        .await;
    let name = attrs
        .as_array()
        .expect("array")
        .iter()
        .find(|a| a["bk_property_id"] == "bk_biz_name")
        .expect("bk_biz_name");
    assert_eq!(name["isrequired"], json!(true));
    assert_eq!(name["bk_property_group_name"], "Default");
    let topo = app
        .esb_ok(
            "search_object_topo",
            json!({"bk_classification_id": "bk_biz_topo"}),
        )
        .await;
    assert!(topo
        .as_array()
        .expect("array")
        .iter()
        .any(|e| e["from"]["bk_obj_id"] == "set" && e["to"]["bk_obj_id"] == "biz"));
    app.stop().await;
}

#[tokio::test]
async fn classification_lifecycle_and_errors() {
    let app = TestApp::spawn().await;
    let created = app
        .esb_ok("create_classification", json!({"bk_classification_id": "cc_net", "bk_classification_name": "Network gear", "bk_classification_icon": "icon-x"}))
        .await;
    assert_eq!(created["bk_classification_id"], "cc_net");
    assert_eq!(created["bk_classification_type"], "");
    assert_eq!(created["bk_supplier_account"], "0");
    let id = created["id"].as_i64().expect("id");

    app.esb_err(
        "create_classification",
        json!({"bk_classification_name": "x"}),
        1199010,
    )
    .await;
    app.esb_err(
        "create_classification",
        json!({"bk_classification_id": "bkfoo", "bk_classification_name": "x"}),
        1199011,
    )
    .await;
    app.esb_err(
        "create_classification",
        json!({"bk_classification_id": "1abc", "bk_classification_name": "x"}),
        1199011,
    )
    .await;
    app.esb_err(
        "create_classification",
        json!({"bk_classification_id": 5, "bk_classification_name": "x"}),
        1199007,
    )
    .await;
    app.esb_err(
        "create_classification",
        json!({"bk_classification_id": "a".repeat(129), "bk_classification_name": "x"}),
        1199073,
    )
    .await;
    app.esb_err(
        "create_classification",
        json!({"bk_classification_id": "cc_net", "bk_classification_name": "Other"}),
        1199014,
    )
    .await;
    app.esb_err(
        "create_classification",
        json!({"bk_classification_id": "cc_net2", "bk_classification_name": "Network gear"}),
        1199014,
    )
    .await;

    let data = app
        .esb_ok(
            "update_classification",
            json!({"id": id, "bk_classification_name": "Gear"}),
        )
        .await;
    assert_eq!(data, Value::Null);
    let found = app
        .esb_ok(
            "search_classifications",
            json!({"bk_classification_id": "cc_net"}),
        )
        .await;
    assert_eq!(found[0]["bk_classification_name"], "Gear");
    app.esb_err(
        "update_classification",
        json!({"id": "abc", "bk_classification_name": "G"}),
        1199006,
    )
    .await;

    app.esb_ok("create_object", json!({"bk_obj_id": "router_x", "bk_obj_name": "Router X", "bk_classification_id": "cc_net", "bk_obj_icon": "icon"})).await;
    app.esb_err("delete_classification", json!({"id": id}), 1101029)
        .await;
    let obj = app
        .esb_ok("search_objects", json!({"bk_obj_id": "router_x"}))
        .await;
    app.esb_ok("delete_object", json!({"id": obj[0]["id"]}))
        .await;
    app.esb_ok("delete_classification", json!({"id": id})).await;
    app.esb_ok("delete_classification", json!({"id": id})).await;
    assert_eq!(
        app.esb_ok(
            "search_classifications",
            json!({"bk_classification_id": "cc_net"})
        )
        .await,
        json!([])
    );

    // v3 surface of the same operations
    let created = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/objectclassification",
            json!({"bk_classification_id": "v3cls", "bk_classification_name": "V3"}),
        )
        .await;
    let path = format!("/api/v3/update/objectclassification/{}", created["id"]);
    app.v3_ok(Method::PUT, &path, json!({"bk_classification_name": "V3b"}))
        .await;
    let found = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectclassification",
            json!({"bk_classification_id": "v3cls"}),
        )
        .await;
    assert_eq!(found[0]["bk_classification_name"], "V3b");
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/objectclassification/{}", created["id"]),
        json!({}),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn object_create_shape_and_side_effects() {
    let app = TestApp::spawn().await;
    let obj = app.create_model("test3").await;
    for (k, v) in [
        ("bk_obj_id", json!("test3")),
        ("ispre", json!(false)),
        ("bk_ispaused", json!(false)),
        ("bk_ishidden", json!(false)),
        ("bk_supplier_account", json!("0")),
        ("obj_sort_number", json!(0)),
    ] {
        assert_eq!(obj[k], v, "{k} in {obj}");
    }
    for k in [
        "id",
        "bk_obj_name",
        "bk_classification_id",
        "bk_obj_icon",
        "position",
        "description",
        "creator",
        "modifier",
        "create_time",
        "last_time",
    ] {
        assert!(obj.get(k).is_some(), "{k} missing");
    }
    let attrs = app
        .esb_ok("search_object_attribute", json!({"bk_obj_id": "test3"}))
        .await;
    let props: Vec<&str> = attrs
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|a| a["bk_property_id"].as_str())
        .collect();
    assert_eq!(
        props,
        vec![
            "bk_inst_name",
            "bk_created_at",
            "bk_created_by",
            "bk_updated_at",
            "bk_updated_by"
        ]
    );
    let name = &attrs[0];
    assert_eq!(name["isrequired"], json!(true));
    assert_eq!(name["isonly"], json!(true));
    assert_eq!(name["ispre"], json!(true));
    let groups = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectattgroup/object/test3",
            json!({}),
        )
        .await;
    assert_eq!(groups[0]["bk_group_id"], "default");
    assert_eq!(groups[0]["bk_isdefault"], json!(true));
    let uniques = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectunique/object/test3",
            json!({}),
        )
        .await;
    assert_eq!(uniques.as_array().map(Vec::len), Some(1));
    assert_eq!(uniques[0]["keys"][0]["key_id"], name["id"]);
    assert_eq!(uniques[0]["ispre"], json!(false));
    app.stop().await;
}

#[tokio::test]
async fn object_create_errors() {
    let app = TestApp::spawn().await;
    let ok = json!({"bk_obj_id": "m1", "bk_obj_name": "M1", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"});
    let with = |k: &str, v: Value| {
        let mut b = ok.clone();
        b[k] = v;
        b
    };
    let without = |k: &str| {
        let mut b = ok.clone();
        b.as_object_mut().expect("obj").remove(k);
        b
    };
    app.esb_err("create_object", with("bk_obj_id", json!("host")), 1199011)
        .await;
    app.esb_err(
        "create_object",
        with("bk_obj_id", json!("bk_thing")),
        1199011,
    )
    .await;
    app.esb_err(
        "create_object",
        with("bk_obj_id", json!("BKthing")),
        1199011,
    )
    .await;
    app.esb_err(
        "create_object",
        with("bk_obj_id", json!("has-dash")),
        1199011,
    )
    .await;
    app.esb_err(
        "create_object",
        with("bk_obj_id", json!("a".repeat(100))),
        1199011,
    )
    .await;
    app.esb_err("create_object", without("bk_obj_id"), 1199010)
        .await;
    app.esb_err("create_object", without("bk_obj_name"), 1199011)
        .await;
    app.esb_err("create_object", without("bk_classification_id"), 1199010)
        .await;
    app.esb_err(
        "create_object",
        with("bk_classification_id", json!("nope")),
        1101024,
    )
    .await;
    app.esb_err("create_object", without("bk_obj_icon"), 1199010)
        .await;
    app.esb_err("create_object", with("obj_sort_number", json!(-1)), 1199006)
        .await;
    app.esb_ok("create_object", ok.clone()).await;
    app.esb_err("create_object", ok.clone(), 1199014).await;
    app.esb_err("create_object", with("bk_obj_id", json!("m2")), 1199014)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn object_update_delete_rules() {
    let app = TestApp::spawn().await;
    let obj = app.create_model("m1").await;
    app.create_model("m2").await;
    let id = obj["id"].clone();
    app.esb_ok(
        "update_object",
        json!({"id": id, "bk_obj_name": "Renamed", "bk_obj_id": "ignored", "description": "d"}),
    )
    .await;
    let found = app
        .esb_ok("search_objects", json!({"bk_obj_id": "m1"}))
        .await;
    assert_eq!(found[0]["bk_obj_name"], "Renamed");
    assert_eq!(found[0]["description"], "d");
    app.esb_err(
        "update_object",
        json!({"id": id, "bk_obj_name": "m2 name"}),
        1199014,
    )
    .await;
    app.esb_err(
        "update_object",
        json!({"id": id, "bk_classification_id": "nope"}),
        1101113,
    )
    .await;
    app.esb_err(
        "update_object",
        json!({"id": 999999, "bk_obj_name": "x"}),
        1199019,
    )
    .await;

    // paused models take no instances
    app.esb_ok("update_object", json!({"id": id, "bk_ispaused": true}))
        .await;
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "m1", "bk_inst_name": "a"}),
        1101084,
    )
    .await;
    app.esb_ok("update_object", json!({"id": id, "bk_ispaused": false}))
        .await;

    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "m1", "bk_inst_name": "a"}),
    )
    .await;
    app.esb_err("delete_object", json!({"id": id}), 1101037)
        .await;
    let host = app
        .esb_ok("search_objects", json!({"bk_obj_id": "host"}))
        .await;
    app.esb_err("delete_object", json!({"id": host[0]["id"]}), 1101135)
        .await;
    app.esb_err("delete_object", json!({"id": "x"}), 1199006)
        .await;
    app.esb_ok("delete_object", json!({"id": 987654})).await;

    let m2 = app
        .esb_ok("search_objects", json!({"bk_obj_id": "m2"}))
        .await;
    app.esb_ok("delete_object", json!({"id": m2[0]["id"]}))
        .await;
    assert_eq!(
        app.esb_ok("search_objects", json!({"bk_obj_id": "m2"}))
            .await,
        json!([])
    );
    assert_eq!(
        app.esb_ok("search_object_attribute", json!({"bk_obj_id": "m2"}))
            .await,
        json!([])
    );
    app.stop().await;
}

#[tokio::test]
async fn attribute_lifecycle() {
    let app = TestApp::spawn().await;
    app.create_model("dev").await;
    let attr = app
        .create_attr("dev", "cc_int", "int", json!({"option": {"min": "1", "max": "100"}, "isrequired": false, "editable": true, "bk_property_group": "nosuchgroup"}))
        .await;
    assert_eq!(attr["bk_property_type"], "int");
    assert_eq!(attr["bk_property_group"], "default");
    assert_eq!(attr["bk_property_group_name"], "Default");
    assert_eq!(attr["ispre"], json!(false));
    let id = attr["id"].clone();

    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "cc_int", "bk_property_name": "other", "bk_property_type": "int", "option": {"min": "", "max": ""}}), 1199014).await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "cc_int2", "bk_property_name": "cc_int label", "bk_property_type": "int", "option": {"min": "", "max": ""}}), 1199014).await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "nomodel", "bk_property_id": "x", "bk_property_name": "x", "bk_property_type": "singlechar"}), 1199011).await;
    app.esb_err(
        "create_object_attribute",
        json!({"bk_obj_id": "dev", "bk_property_id": "x", "bk_property_name": "x"}),
        1199010,
    )
    .await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "x", "bk_property_name": "x", "bk_property_type": "weird"}), 1199011).await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "bk_x", "bk_property_name": "x", "bk_property_type": "singlechar"}), 1199011).await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "x", "bk_property_name": "x", "bk_property_type": "singlechar", "ismultiple": true}), 1199012).await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "x", "bk_property_name": "x", "bk_property_type": "int"}), 1199008).await;
    app.esb_err("create_object_attribute", json!({"bk_obj_id": "dev", "bk_property_id": "x", "bk_property_name": "x", "bk_property_type": "singlechar", "option": "(["}), 1101109).await;
    app.esb_err(
        "create_object_attribute",
        json!({"bk_obj_id": "dev", "bk_property_id": "e", "bk_property_name": "e", "bk_property_type": "enum",
               "option": [{"id": "a", "name": "A", "type": "text", "is_default": true}, {"id": "b", "name": "B", "type": "text", "is_default": true}]}),
        1199092,
    )
    .await;

    app.esb_ok(
        "update_object_attribute",
        json!({"id": id, "bk_property_name": "Count", "bk_property_type": "singlechar"}),
    )
    .await;
    let attrs = app
        .esb_ok(
            "search_object_attribute",
            json!({"bk_obj_id": "dev", "bk_property_id": "cc_int"}),
        )
        .await;
    assert_eq!(attrs[0]["bk_property_name"], "Count");
    assert_eq!(attrs[0]["bk_property_type"], "int", "type cannot change");
    app.esb_err(
        "update_object_attribute",
        json!({"id": id, "bk_property_name": "实例名"}),
        1199014,
    )
    .await;

    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "dev", "bk_inst_name": "d1", "cc_int": 5}),
    )
    .await;
    app.esb_ok("delete_object_attribute", json!({"id": id}))
        .await;
    let found = app
        .esb_ok(
            "search_object_instances",
            json!({"bk_obj_id": "dev", "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert!(
        found["info"][0].get("cc_int").is_none(),
        "field removed from instances: {found}"
    );
    let name_attr = app
        .esb_ok(
            "search_object_attribute",
            json!({"bk_obj_id": "dev", "bk_property_id": "bk_inst_name"}),
        )
        .await;
    app.esb_err(
        "delete_object_attribute",
        json!({"id": name_attr[0]["id"]}),
        1101135,
    )
    .await;
    app.esb_ok("delete_object_attribute", json!({"id": 99999999}))
        .await;
    app.stop().await;
}

#[tokio::test]
async fn attribute_groups() {
    let app = TestApp::spawn().await;
    app.create_model("dev").await;
    let g = app.v3_ok(Method::POST, "/api/v3/create/objectattgroup", json!({"bk_obj_id": "dev", "bk_group_id": "net", "bk_group_name": "Network", "bk_group_index": 2})).await;
    assert_eq!(g["bk_group_id"], "net");
    let dup = app
        .v3(
            Method::POST,
            "/api/v3/create/objectattgroup",
            json!({"bk_obj_id": "dev", "bk_group_id": "net", "bk_group_name": "Other"}),
        )
        .await;
    assert_eq!(dup["bk_error_code"], json!(1199014));
    app.create_attr(
        "dev",
        "ip",
        "singlechar",
        json!({"bk_property_group": "net"}),
    )
    .await;
    let del = app
        .v3(
            Method::DELETE,
            &format!("/api/v3/delete/objectattgroup/{}", g["id"]),
            json!({}),
        )
        .await;
    assert_eq!(del["bk_error_code"], json!(1113001));
    app.v3_ok(Method::PUT, "/api/v3/update/objectattgroup", json!({"condition": {"id": g["id"]}, "data": {"bk_group_name": "Net", "bk_group_index": 3}})).await;
    app.v3_ok(Method::PUT, "/api/v3/update/objectattgroupproperty", json!({"condition": {"bk_obj_id": "dev", "bk_property_id": "ip"}, "data": {"bk_property_group": "default", "bk_property_index": 9}})).await;
    let groups = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectattgroup/object/dev",
            json!({}),
        )
        .await;
    assert_eq!(groups[1]["bk_group_name"], "Net");
    app.v3_ok(
        Method::PUT,
        "/api/v3/update/objectattgroup/groupindex",
        json!({"id": [groups[0]["id"], groups[1]["id"]]}),
    )
    .await;
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/objectattgroup/{}", g["id"]),
        json!({}),
    )
    .await;
    let default_del = app
        .v3(
            Method::DELETE,
            &format!("/api/v3/delete/objectattgroup/{}", groups[0]["id"]),
            json!({}),
        )
        .await;
    assert_eq!(default_del["result"], json!(false));
    app.stop().await;
}

#[tokio::test]
async fn unique_rules() {
    let app = TestApp::spawn().await;
    app.create_model("srv").await;
    let sn = app.create_attr("srv", "sn", "singlechar", json!({})).await;
    let port = app
        .create_attr(
            "srv",
            "port",
            "int",
            json!({"option": {"min": "", "max": ""}}),
        )
        .await;
    let flag = app.create_attr("srv", "flag", "bool", json!({})).await;
    let path = "/api/v3/create/objectunique/object/srv";
    let r = app
        .v3_ok(
            Method::POST,
            path,
            json!({"keys": [{"key_kind": "property", "key_id": sn["id"]}]}),
        )
        .await;
    let rule_id = r["id"].as_i64().expect("id");
    let same = app
        .v3(
            Method::POST,
            path,
            json!({"keys": [{"key_kind": "property", "key_id": sn["id"]}]}),
        )
        .await;
    assert_eq!(same["bk_error_code"], json!(1113050));
    let sup = app.v3(Method::POST, path, json!({"keys": [{"key_kind": "property", "key_id": sn["id"]}, {"key_kind": "property", "key_id": port["id"]}]})).await;
    assert_eq!(sup["bk_error_code"], json!(1113051));
    let bad = app
        .v3(
            Method::POST,
            path,
            json!({"keys": [{"key_kind": "property", "key_id": flag["id"]}]}),
        )
        .await;
    assert_eq!(bad["bk_error_code"], json!(1113035));
    let kind = app
        .v3(
            Method::POST,
            path,
            json!({"keys": [{"key_kind": "other", "key_id": port["id"]}]}),
        )
        .await;
    assert_eq!(kind["bk_error_code"], json!(1101166));
    let dupkey = app.v3(Method::POST, path, json!({"keys": [{"key_kind": "property", "key_id": port["id"]}, {"key_kind": "property", "key_id": port["id"]}]})).await;
    assert_eq!(dupkey["bk_error_code"], json!(1199006));

    // the rule is enforced, "" participates for strings
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "a", "sn": "S1"}),
    )
    .await;
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "b", "sn": "S1"}),
        1199014,
    )
    .await;
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "c"}),
    )
    .await;
    app.esb_err(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "d"}),
        1199014,
    )
    .await;

    // a rule over existing duplicates is refused; null numbers escape
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "e", "sn": "S2", "port": 80}),
    )
    .await;
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "f", "sn": "S3", "port": 80}),
    )
    .await;
    let dup = app
        .v3(
            Method::POST,
            path,
            json!({"keys": [{"key_kind": "property", "key_id": port["id"]}]}),
        )
        .await;
    assert_eq!(dup["bk_error_code"], json!(1113039));

    let uniques = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectunique/object/srv",
            json!({}),
        )
        .await;
    assert_eq!(uniques.as_array().map(Vec::len), Some(2));
    let upd = format!("/api/v3/update/objectunique/object/srv/unique/{rule_id}");
    let res = app
        .v3(
            Method::PUT,
            &upd,
            json!({"keys": [{"key_kind": "property", "key_id": port["id"]}]}),
        )
        .await;
    assert_eq!(
        res["bk_error_code"],
        json!(1199014),
        "existing duplicates: {res}"
    );
    let del = format!("/api/v3/delete/objectunique/object/srv/unique/{rule_id}");
    app.v3_ok(Method::POST, &del, json!({})).await;
    let last = uniques[0]["id"].clone();
    let res = app
        .v3(
            Method::POST,
            &format!("/api/v3/delete/objectunique/object/srv/unique/{last}"),
            json!({}),
        )
        .await;
    assert_eq!(res["bk_error_code"], json!(1101069));
    // deleted rule no longer enforced
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "g", "sn": "S1"}),
    )
    .await;
    // attributes in unique rules cannot be deleted
    let name_attr = app
        .esb_ok(
            "search_object_attribute",
            json!({"bk_obj_id": "srv", "bk_property_id": "bk_inst_name"}),
        )
        .await;
    assert_eq!(name_attr[0]["ispre"], json!(true));
    app.stop().await;
}

#[tokio::test]
async fn attribute_in_unique_rule_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    app.create_model("srv").await;
    let sn = app.create_attr("srv", "sn", "singlechar", json!({})).await;
    app.v3_ok(
        Method::POST,
        "/api/v3/create/objectunique/object/srv",
        json!({"keys": [{"key_kind": "property", "key_id": sn["id"]}]}),
    )
    .await;
    app.esb_err("delete_object_attribute", json!({"id": sn["id"]}), 1113024)
        .await;
    app.stop().await;
}

#[tokio::test]
async fn topo_graphics_positions_round_trip() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    app.esb_ok("update_object_topo_graphics", json!({"scope_type": "global", "scope_id": "0", "data": [{"node_type": "obj", "bk_obj_id": "sw", "bk_inst_id": 0, "position": {"x": 10, "y": 20}, "ext": {}}]})).await;
    let nodes = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objecttopo/scope_type/global/scope_id/0",
            json!({}),
        )
        .await;
    let sw = nodes
        .as_array()
        .expect("array")
        .iter()
        .find(|n| n["bk_obj_id"] == "sw")
        .expect("sw node");
    assert_eq!(sw["position"], json!({"x": 10, "y": 20}));
    app.stop().await;
}
