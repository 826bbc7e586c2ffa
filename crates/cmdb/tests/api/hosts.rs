//! 40-hosts.md §1–§5: the host model, the add operations, update, clone, delete and base info,
//! over both surfaces.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::host_fixtures::{add_pool_hosts, assign, host, list_biz, pool_id, relations};
use crate::topo_fixtures::{create_biz, idle_pool};

#[tokio::test]
async fn add_to_resource_pool_creates_hosts_in_the_pool_idle_module() {
    let app = TestApp::spawn().await;
    let data = app
        .esb_ok(
            "add_host_to_resource_pool",
            json!({"host_info": [
                {"bk_host_innerip": "10.0.0.1", "bk_cloud_id": 0, "bk_host_name": "a",
                 "operator": "alice,bob"},
                {"bk_host_innerip_v6": "::1", "bk_cloud_id": 0}
            ]}),
        )
        .await;
    let success = data["success"].as_array().expect("success");
    assert_eq!(success.len(), 2);
    assert_eq!(success[0]["index"], json!(0));
    assert!(data.get("error").is_none(), "{data}");
    let id = success[0]["bk_host_id"].as_i64().expect("id");
    let h = host(&app, id).await;
    assert_eq!(h["bk_host_innerip"], json!("10.0.0.1"));
    assert_eq!(h["bk_host_outerip"], json!(""));
    assert_eq!(h["operator"], json!("alice,bob"));
    assert_eq!(h["bk_addressing"], json!("static"));
    assert_eq!(h["bk_cloud_id"], json!(0));
    assert_eq!(h["bk_supplier_account"], json!("0"));
    let v6 = host(&app, success[1]["bk_host_id"].as_i64().expect("id")).await;
    assert_eq!(
        v6["bk_host_innerip_v6"],
        json!("0000:0000:0000:0000:0000:0000:0000:0001")
    );
    let pool = pool_id(&app).await;
    let (_, pool_modules) = idle_pool(&app, pool).await;
    let rel = relations(&app, &[id]).await;
    assert_eq!(rel.len(), 1);
    assert_eq!(rel[0]["bk_biz_id"], json!(pool));
    assert_eq!(rel[0]["bk_module_id"], json!(pool_modules[0]));
}

#[tokio::test]
async fn add_to_resource_pool_reports_partial_success() {
    let app = TestApp::spawn().await;
    add_pool_hosts(&app, &["10.0.0.1"]).await;
    let env = app
        .esb(
            "add_host_to_resource_pool",
            json!({"host_info": [
                {"bk_host_innerip": "10.0.0.2", "bk_cloud_id": 0},
                {"bk_host_innerip": "10.0.0.3"},
                {"bk_cloud_id": 0},
                {"bk_host_innerip": "10.0.0.4", "bk_cloud_id": "x"},
                {"bk_host_innerip": "10.0.0.1", "bk_cloud_id": 0},
                {"bk_host_innerip": "10.0.0.5", "bk_cloud_id": 7}
            ]}),
        )
        .await;
    assert_eq!(env["result"], json!(false), "{env}");
    assert_eq!(env["code"], json!(1110004));
    let data = &env["data"];
    assert_eq!(data["success"].as_array().expect("success").len(), 1);
    let errors = data["error"].as_array().expect("errors");
    assert_eq!(errors.len(), 5);
    assert_eq!(errors[0]["index"], json!(1));
    assert_eq!(
        errors[0]["error_message"],
        json!("'bk_cloud_id' unassigned")
    );
    assert_eq!(
        errors[1]["error_message"],
        json!("'bk_host_innerip and bk_host_innerip_v6' unassigned")
    );
    assert_eq!(
        errors[2]["error_message"],
        json!("'bk_cloud_id' parameters must be integral")
    );
    assert!(errors[3]["error_message"]
        .as_str()
        .expect("msg")
        .contains("duplicated"));
    // The successful row stays.
    let pool = pool_id(&app).await;
    assert_eq!(list_biz(&app, pool, json!({})).await["count"], json!(2));
}

#[tokio::test]
async fn static_inner_ips_are_unique_per_cloud_element_wise() {
    let app = TestApp::spawn().await;
    add_pool_hosts(&app, &["10.0.0.1,10.0.0.2"]).await;
    let env = app
        .esb(
            "add_host_to_resource_pool",
            json!({"host_info": [{"bk_host_innerip": "10.0.0.9,10.0.0.2", "bk_cloud_id": 0}]}),
        )
        .await;
    assert_eq!(env["code"], json!(1110004));
    // Another cloud area, or dynamic addressing, is fine.
    let cloud = app
        .esb_ok("create_cloud_area", json!({"bk_cloud_name": "c1"}))
        .await["created"]["id"]
        .as_i64()
        .expect("cloud");
    app.esb_ok(
        "add_host_to_resource_pool",
        json!({"host_info": [
            {"bk_host_innerip": "10.0.0.2", "bk_cloud_id": cloud},
            {"bk_host_innerip": "10.0.0.2", "bk_cloud_id": 0, "bk_addressing": "dynamic"},
            {"bk_host_innerip": "10.0.0.2", "bk_cloud_id": 0, "bk_addressing": "dynamic"}
        ]}),
    )
    .await;
    // Business idle: all or nothing, duplicate → 1199014.
    let biz = create_biz(&app, "b").await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [
            {"bk_host_innerip": "10.1.0.1", "bk_cloud_id": 0, "bk_addressing": "static"},
            {"bk_host_innerip": "10.0.0.1", "bk_cloud_id": 0, "bk_addressing": "static"}
        ]}),
        1199014,
    )
    .await;
    assert_eq!(list_biz(&app, biz, json!({})).await["count"], json!(0));
    // IPv6 compares in full form.
    add_pool_hosts(&app, &[]).await;
    app.esb_ok(
        "add_host_to_resource_pool",
        json!({"host_info": [{"bk_host_innerip_v6": "fe80::1", "bk_cloud_id": 0}]}),
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [
            {"bk_host_innerip_v6": "FE80:0:0::1", "bk_cloud_id": 0, "bk_addressing": "static"}]}),
        1199014,
    )
    .await;
    // Agent ids are unique too.
    app.esb_ok(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [
            {"bk_host_innerip": "10.2.0.1", "bk_cloud_id": 0, "bk_addressing": "static", "bk_agent_id": "ag1"}]}),
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [
            {"bk_host_innerip": "10.2.0.2", "bk_cloud_id": 0, "bk_addressing": "static", "bk_agent_id": "ag1"}]}),
        1199014,
    )
    .await;
}

#[tokio::test]
async fn add_to_business_idle_validates_and_places_hosts() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "b").await;
    let (_, modules) = idle_pool(&app, biz).await;
    let data = app
        .esb_ok(
            "add_host_to_business_idle",
            json!({"bk_biz_id": biz, "bk_host_list": [
                {"bk_host_innerip": "10.1.0.1", "bk_cloud_id": 0, "bk_addressing": "static"},
                {"bk_host_innerip": "10.1.0.2", "bk_cloud_id": 0, "bk_addressing": "dynamic"}]}),
        )
        .await;
    let ids: Vec<i64> = data["bk_host_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_i64().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2);
    for r in relations(&app, &ids).await {
        assert_eq!(r["bk_module_id"], json!(modules[0]));
        assert_eq!(r["bk_biz_id"], json!(biz));
    }
    let host = json!({"bk_host_innerip": "10.1.0.3", "bk_cloud_id": 0, "bk_addressing": "static"});
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": 0, "bk_host_list": [host]}),
        1199010,
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": []}),
        1199010,
    )
    .await;
    let many: Vec<Value> = (0..201)
        .map(|i| json!({"bk_host_innerip": format!("10.9.{}.{}", i / 250, i % 250 + 1), "bk_cloud_id": 0, "bk_addressing": "static"}))
        .collect();
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": many}),
        1199035,
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [{"bk_host_innerip": "10.1.0.3", "bk_cloud_id": 0}]}),
        1199010,
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [{"bk_host_innerip": "10.1.0.3", "bk_addressing": "static"}]}),
        1199010,
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [{"bk_host_innerip": "10.1.0.3", "bk_cloud_id": 77, "bk_addressing": "static"}]}),
        1199011,
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": biz, "bk_host_list": [{"bk_host_innerip": "10.1.0", "bk_cloud_id": 0, "bk_addressing": "static"}]}),
        1199006,
    )
    .await;
    app.esb_err(
        "add_host_to_business_idle",
        json!({"bk_biz_id": 9999, "bk_host_list": [host]}),
        1113006,
    )
    .await;
}

#[tokio::test]
async fn add_to_resource_upserts_and_rolls_back_on_any_row_error() {
    let app = TestApp::spawn().await;
    let data = app
        .esb_ok(
            "add_host_to_resource",
            json!({"host_info": {"1": {"bk_host_innerip": "10.0.0.2", "bk_host_name": "two"},
                                 "0": {"bk_host_innerip": "10.0.0.1", "bk_host_name": "one"}}}),
        )
        .await;
    assert_eq!(data, json!({"success": ["0", "1"]}));
    let pool = pool_id(&app).await;
    let found = list_biz(&app, pool, json!({})).await;
    assert_eq!(found["count"], json!(2));
    let first = found["info"][0]["bk_host_id"].as_i64().expect("id");
    // Same IP + cloud: an update, not a new host.
    app.esb_ok(
        "add_host_to_resource",
        json!({"host_info": {"0": {"bk_host_innerip": "10.0.0.1", "bk_host_name": "renamed"}}}),
    )
    .await;
    assert_eq!(host(&app, first).await["bk_host_name"], json!("renamed"));
    assert_eq!(list_biz(&app, pool, json!({})).await["count"], json!(2));
    // One bad row: nothing is written, data carries the report.
    let env = app
        .esb(
            "add_host_to_resource",
            json!({"host_info": {"0": {"bk_host_innerip": "10.0.0.7"}, "1": {"bk_host_name": "x"}}}),
        )
        .await;
    assert_eq!(env["code"], json!(1110004), "{env}");
    assert_eq!(env["data"]["success"], json!(["0"]));
    assert_eq!(env["data"]["error"].as_array().expect("errors").len(), 1);
    assert_eq!(list_biz(&app, pool, json!({})).await["count"], json!(2));
    app.esb_err("add_host_to_resource", json!({}), 1199010)
        .await;
    // Into a business's idle module.
    let biz = create_biz(&app, "b").await;
    app.esb_ok(
        "add_host_to_resource",
        json!({"bk_biz_id": biz, "host_info": {"0": {"bk_host_innerip": "10.0.0.8"}}}),
    )
    .await;
    assert_eq!(list_biz(&app, biz, json!({})).await["count"], json!(1));
    // v3 route.
    let data = app
        .v3_ok(
            Method::POST,
            "/api/v3/hosts/add",
            json!({"host_info": {"0": {"bk_host_innerip": "10.0.0.9"}}}),
        )
        .await;
    assert_eq!(data, json!({"success": ["0"]}));
}

#[tokio::test]
async fn base_info_lists_every_attribute() {
    let app = TestApp::spawn().await;
    let ids = add_pool_hosts(&app, &["10.0.0.1,10.0.0.2"]).await;
    let info = app
        .esb_ok("get_host_base_info", json!({"bk_host_id": ids[0]}))
        .await;
    let items = info.as_array().expect("array");
    let ip = items
        .iter()
        .find(|i| i["bk_property_id"] == json!("bk_host_innerip"))
        .expect("innerip");
    assert_eq!(ip["bk_property_value"], json!("10.0.0.1,10.0.0.2"));
    assert!(ip["bk_property_name"].is_string());
    assert!(items
        .iter()
        .any(|i| i["bk_property_id"] == json!("bk_os_type")));
    // The client sends GET with a query string.
    let raw = app
        .client
        .get(format!(
            "{}/api/c/compapi/v2/cc/get_host_base_info/?bk_host_id={}&bk_app_code={}&bk_app_secret={}&bk_username=admin",
            app.base,
            ids[0],
            crate::common::APP_CODE,
            crate::common::APP_SECRET
        ))
        .send()
        .await
        .expect("get");
    let env: Value = raw.json().await.expect("json");
    assert_eq!(env["result"], json!(true), "{env}");
    let v3 = app
        .v3_ok(
            Method::GET,
            &format!("/api/v3/hosts/0/{}", ids[0]),
            json!({}),
        )
        .await;
    assert_eq!(v3, info);
    app.esb_err("get_host_base_info", json!({"bk_host_id": 99999}), 1110008)
        .await;
    let env = app.v3(Method::GET, "/api/v3/hosts/0/abc", json!({})).await;
    assert_eq!(env["bk_error_code"], json!(1199009));
}

#[tokio::test]
async fn update_host_applies_values_to_every_listed_host() {
    let app = TestApp::spawn().await;
    let ids = add_pool_hosts(&app, &["10.0.0.1", "10.0.0.2", "10.0.0.3"]).await;
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": format!("{},{},99999", ids[0], ids[1]), "bk_host_name": "web",
               "bk_cloud_id": 5, "bk_host_outerip": "1.1.1.1, 2.2.2.2", "bk_bak_operator": "x"}),
    )
    .await;
    for id in &ids[..2] {
        let h = host(&app, *id).await;
        assert_eq!(h["bk_host_name"], json!("web"));
        assert_eq!(h["bk_cloud_id"], json!(0));
        assert_eq!(h["bk_host_outerip"], json!("1.1.1.1,2.2.2.2"));
    }
    assert_eq!(host(&app, ids[2]).await["bk_host_name"], json!(""));
    // Legacy ESB form: values inside `data`.
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": ids[2], "data": {"bk_host_name": "db"}}),
    )
    .await;
    assert_eq!(host(&app, ids[2]).await["bk_host_name"], json!("db"));
    // One inner IP on two static hosts of one cloud → 1199014, nothing changed.
    app.esb_err(
        "update_host",
        json!({"bk_host_id": format!("{},{}", ids[0], ids[1]), "bk_host_innerip": "10.0.0.9"}),
        1199014,
    )
    .await;
    assert_eq!(
        host(&app, ids[0]).await["bk_host_innerip"],
        json!("10.0.0.1")
    );
    app.esb_err(
        "update_host",
        json!({"bk_host_id": "1,x", "bk_host_name": "a"}),
        1199006,
    )
    .await;
    app.esb_err(
        "update_host",
        json!({"bk_host_id": [1], "bk_host_name": "a"}),
        1199011,
    )
    .await;
    app.esb_err(
        "update_host",
        json!({"bk_host_id": ids[0], "bk_os_type": "99"}),
        1199011,
    )
    .await;
    // Changing the address frees the old one.
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": ids[0], "bk_host_innerip": "10.0.0.10"}),
    )
    .await;
    add_pool_hosts(&app, &["10.0.0.1"]).await;
    // v3 route.
    app.v3_ok(
        Method::PUT,
        "/api/v3/hosts/batch",
        json!({"bk_host_id": ids[1].to_string(), "bk_host_name": "v3"}),
    )
    .await;
    assert_eq!(host(&app, ids[1]).await["bk_host_name"], json!("v3"));
}

#[tokio::test]
async fn batch_update_host_is_all_or_nothing() {
    let app = TestApp::spawn().await;
    let ids = add_pool_hosts(&app, &["10.0.0.1", "10.0.0.2"]).await;
    app.esb_ok(
        "batch_update_host",
        json!({"update": [
            {"bk_host_id": ids[0], "properties": {"bk_host_name": "a", "bk_host_innerip_v6": "::2"}},
            {"bk_host_id": ids[1], "properties": {"bk_host_name": "b"}}]}),
    )
    .await;
    let h = host(&app, ids[0]).await;
    assert_eq!(h["bk_host_name"], json!("a"));
    assert_eq!(
        h["bk_host_innerip_v6"],
        json!("0000:0000:0000:0000:0000:0000:0000:0002")
    );
    app.esb_err(
        "batch_update_host",
        json!({"update": [
            {"bk_host_id": ids[0], "properties": {"bk_host_name": "c"}},
            {"bk_host_id": ids[1], "properties": {"bk_cloud_id": 3}}]}),
        1199006,
    )
    .await;
    app.esb_err(
        "batch_update_host",
        json!({"update": [
            {"bk_host_id": ids[0], "properties": {"bk_host_name": "c"}},
            {"bk_host_id": 99999, "properties": {"bk_host_name": "d"}}]}),
        1199011,
    )
    .await;
    assert_eq!(host(&app, ids[0]).await["bk_host_name"], json!("a"));
    let many: Vec<Value> = (0..1001)
        .map(|_| json!({"bk_host_id": ids[0], "properties": {}}))
        .collect();
    app.esb_err("batch_update_host", json!({"update": many}), 1199035)
        .await;
    app.esb_err("batch_update_host", json!({"update": []}), 1199010)
        .await;
    app.v3_ok(
        Method::PUT,
        "/api/v3/hosts/property/batch",
        json!({"update": [{"bk_host_id": ids[1], "properties": {"bk_host_name": "v3"}}]}),
    )
    .await;
    assert_eq!(host(&app, ids[1]).await["bk_host_name"], json!("v3"));
}

#[tokio::test]
async fn clone_host_property_copies_editable_attributes() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "b").await;
    let ids = add_pool_hosts(&app, &["10.0.0.1", "10.0.0.2"]).await;
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": ids[0].to_string(), "bk_host_name": "src", "bk_os_type": "1",
               "bk_host_outerip": "8.8.8.8", "operator": "alice"}),
    )
    .await;
    assign(&app, biz, &ids).await;
    app.esb_ok(
        "clone_host_property",
        json!({"bk_biz_id": biz, "bk_cloud_id": 0, "bk_org_ip": "10.0.0.1", "bk_dst_ip": "10.0.0.2"}),
    )
    .await;
    let dst = host(&app, ids[1]).await;
    assert_eq!(dst["bk_host_name"], json!("src"));
    assert_eq!(dst["bk_os_type"], json!("1"));
    assert_eq!(dst["bk_host_outerip"], json!("8.8.8.8"));
    assert_eq!(dst["operator"], json!("alice"));
    assert_eq!(dst["bk_host_innerip"], json!("10.0.0.2"));
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": ids[1].to_string(), "bk_host_name": "other"}),
    )
    .await;
    app.esb_ok(
        "clone_host_property",
        json!({"bk_biz_id": biz, "bk_cloud_id": 0, "bk_org_id": ids[0], "bk_dst_id": ids[1]}),
    )
    .await;
    assert_eq!(host(&app, ids[1]).await["bk_host_name"], json!("src"));
    for bad in [
        json!({"bk_biz_id": biz, "bk_cloud_id": 0}),
        json!({"bk_biz_id": biz, "bk_cloud_id": 0, "bk_org_ip": "10.0.0.1"}),
        json!({"bk_biz_id": biz, "bk_cloud_id": 0, "bk_org_id": 0, "bk_dst_id": ids[1]}),
    ] {
        app.esb_err("clone_host_property", bad, 1199011).await;
    }
    app.esb_err(
        "clone_host_property",
        json!({"bk_biz_id": biz, "bk_cloud_id": 0, "bk_org_ip": "10.0.0.1", "bk_dst_ip": "10.9.9.9"}),
        1199006,
    )
    .await;
}

#[tokio::test]
async fn delete_host_only_from_the_resource_pool() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "b").await;
    let ids = add_pool_hosts(&app, &["10.0.0.1", "10.0.0.2", "10.0.0.3"]).await;
    assign(&app, biz, &ids[2..]).await;
    app.esb_err(
        "delete_host",
        json!({"bk_host_id": format!("{},{}", ids[0], ids[2])}),
        1113002,
    )
    .await;
    app.esb_err("delete_host", json!({"bk_host_id": "1,a"}), 1199006)
        .await;
    app.esb_ok(
        "delete_host",
        json!({"bk_host_id": format!("{},{}", ids[0], ids[0])}),
    )
    .await;
    app.esb_err("get_host_base_info", json!({"bk_host_id": ids[0]}), 1110008)
        .await;
    assert!(relations(&app, &[ids[0]]).await.is_empty());
    // Its address is free again.
    add_pool_hosts(&app, &["10.0.0.1"]).await;
    app.v3_ok(
        Method::DELETE,
        "/api/v3/hosts/batch",
        json!({"bk_host_id": ids[1].to_string()}),
    )
    .await;
    app.esb_err("get_host_base_info", json!({"bk_host_id": ids[1]}), 1110008)
        .await;
}
