//! 40-hosts.md §6 and §8: host queries and cloud areas.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::host_fixtures::{add_pool_hosts, assign, list_biz, pool_id};
use crate::topo_fixtures::{create_biz, create_module, create_set, idle_pool};

/// Business `b` with sets s1 (m1, m2) and s2 (m3); hosts .1 (m1), .2 (m1+m2), .3 (m3), .4 (idle).
async fn layout(app: &TestApp) -> (i64, Vec<i64>, Vec<i64>, Vec<i64>) {
    let biz = create_biz(app, "b").await;
    let s1 = create_set(app, biz, biz, "s1").await;
    let s2 = create_set(app, biz, biz, "s2").await;
    let m1 = create_module(app, biz, s1, "m1").await;
    let m2 = create_module(app, biz, s1, "m2").await;
    let m3 = create_module(app, biz, s2, "m3").await;
    let ids = add_pool_hosts(app, &["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"]).await;
    assign(app, biz, &ids).await;
    for (host, modules) in [
        (ids[0], vec![m1]),
        (ids[1], vec![m1, m2]),
        (ids[2], vec![m3]),
    ] {
        app.esb_ok(
            "transfer_host_module",
            json!({"bk_biz_id": biz, "bk_host_id": [host], "bk_module_id": modules}),
        )
        .await;
    }
    (biz, vec![s1, s2], vec![m1, m2, m3], ids)
}

fn host_ids(found: &Value) -> Vec<i64> {
    found["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|h| {
            h["bk_host_id"]
                .as_i64()
                .or_else(|| h["host"]["bk_host_id"].as_i64())
                .expect("id")
        })
        .collect()
}

#[tokio::test]
async fn list_biz_hosts_filters_by_topology_and_attributes() {
    let app = TestApp::spawn().await;
    let (biz, sets, m, ids) = layout(&app).await;
    let all = list_biz(&app, biz, json!({})).await;
    assert_eq!(all["count"], json!(4));
    assert_eq!(host_ids(&all), ids);
    assert_eq!(all["info"][0]["bk_host_innerip"], json!("10.0.0.1"));
    let in_m1 = list_biz(&app, biz, json!({"bk_module_ids": [m[0]]})).await;
    assert_eq!(host_ids(&in_m1), vec![ids[0], ids[1]]);
    // A host in two of the modules is one host: in the count and on the pages.
    let second = list_biz(
        &app,
        biz,
        json!({"bk_module_ids": [m[0], m[1]], "page": {"start": 1, "limit": 1}}),
    )
    .await;
    assert_eq!(
        (&second["count"], host_ids(&second)),
        (&json!(2), vec![ids[1]])
    );
    // Projected pages keep the wire form of list fields; unknown fields are left out.
    let projected = list_biz(
        &app,
        biz,
        json!({"bk_module_ids": [m[0]], "fields": ["bk_host_innerip", "bk_host_id", "nope"]}),
    )
    .await;
    assert_eq!(
        projected["info"][0],
        json!({"bk_host_id": ids[0], "bk_host_innerip": "10.0.0.1"})
    );
    let in_s2 = list_biz(&app, biz, json!({"bk_set_ids": [sets[1]]})).await;
    assert_eq!(host_ids(&in_s2), vec![ids[2]]);
    let cond = list_biz(
        &app,
        biz,
        json!({"set_cond": [{"field": "bk_set_name", "operator": "$eq", "value": "s1"}],
               "module_cond": [{"field": "bk_module_name", "operator": "$ne", "value": "m1"}]}),
    )
    .await;
    assert_eq!(host_ids(&cond), vec![ids[1]]);
    let none = list_biz(
        &app,
        biz,
        json!({"set_cond": [{"field": "bk_set_name", "operator": "$eq", "value": "nope"}]}),
    )
    .await;
    assert_eq!(none["count"], json!(0));
    let by_ip = list_biz(
        &app,
        biz,
        json!({"fields": ["bk_host_id", "bk_host_innerip"], "host_property_filter":
               {"condition": "AND", "rules": [{"field": "bk_host_innerip", "operator": "in",
                                                "value": ["10.0.0.2", "10.0.0.3"]}]}}),
    )
    .await;
    assert_eq!(by_ip["count"], json!(2));
    assert_eq!(
        by_ip["info"][0],
        json!({"bk_host_id": ids[1], "bk_host_innerip": "10.0.0.2"})
    );
    // Paging and sort.
    let page = app
        .esb_ok(
            "list_biz_hosts",
            json!({"bk_biz_id": biz, "page": {"start": 1, "limit": 2, "sort": "-bk_host_id"}}),
        )
        .await;
    assert_eq!(page["count"], json!(4));
    assert_eq!(host_ids(&page), vec![ids[2], ids[1]]);
    let page = app
        .esb_ok(
            "list_biz_hosts",
            json!({"bk_biz_id": biz, "page": {"start": 3, "limit": 2}}),
        )
        .await;
    assert_eq!(host_ids(&page), vec![ids[3]]);
    for limit in [0, 1001, 999_999_999] {
        app.esb_err(
            "list_biz_hosts",
            json!({"bk_biz_id": biz, "page": {"start": 0, "limit": limit}}),
            1199006,
        )
        .await;
    }
    app.esb_err(
        "list_biz_hosts",
        json!({"bk_biz_id": biz, "page": {"limit": 10}, "bk_set_ids": [1],
               "set_cond": [{"field": "bk_set_name", "operator": "$eq", "value": "s1"}]}),
        1199006,
    )
    .await;
    app.esb_err(
        "list_biz_hosts",
        json!({"bk_biz_id": biz, "page": {"limit": 10}, "host_property_filter":
               {"field": "bk_host_id", "operator": "equal", "value": 1}}),
        1199006,
    )
    .await;
    let v3 = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/hosts/app/{biz}/list_hosts"),
            json!({"page": {"start": 0, "limit": 500}, "bk_module_ids": [m[2]]}),
        )
        .await;
    assert_eq!(host_ids(&v3), vec![ids[2]]);
}

#[tokio::test]
async fn pool_and_global_lists() {
    let app = TestApp::spawn().await;
    let (_, _, _, ids) = layout(&app).await;
    let free = add_pool_hosts(&app, &["10.0.1.1"]).await;
    let pool = app
        .esb_ok(
            "list_resource_pool_hosts",
            json!({"page": {"start": 0, "limit": 100}}),
        )
        .await;
    assert_eq!(host_ids(&pool), free);
    app.esb_err(
        "list_resource_pool_hosts",
        json!({"page": {"start": 0, "limit": 0}}),
        1199006,
    )
    .await;
    let all = app
        .esb_ok(
            "list_hosts_without_biz",
            json!({"page": {"start": 0, "limit": 100}}),
        )
        .await;
    assert_eq!(all["count"], json!(5));
    let mut want = ids.clone();
    want.extend(&free);
    assert_eq!(host_ids(&all), want);
    let one = app
        .esb_ok(
            "list_hosts_without_biz",
            json!({"page": {"start": 0, "limit": 100}, "host_property_filter":
                   {"condition": "OR", "rules": [
                       {"field": "bk_host_innerip", "operator": "equal", "value": "10.0.1.1"},
                       {"field": "bk_host_innerip", "operator": "contains", "value": "0.0.4"}]}}),
        )
        .await;
    assert_eq!(host_ids(&one), vec![ids[3], free[0]]);
    // IPv6 filter values are normalised.
    app.esb_ok(
        "add_host_to_resource_pool",
        json!({"host_info": [{"bk_host_innerip_v6": "fe80::9", "bk_cloud_id": 0}]}),
    )
    .await;
    let v6 = app
        .esb_ok(
            "list_hosts_without_biz",
            json!({"page": {"start": 0, "limit": 100}, "host_property_filter":
                   {"condition": "AND", "rules": [
                       {"field": "bk_host_innerip_v6", "operator": "equal", "value": "FE80:0::9"}]}}),
        )
        .await;
    assert_eq!(v6["count"], json!(1));
}

#[tokio::test]
async fn relation_reads() {
    let app = TestApp::spawn().await;
    let (biz, sets, m, ids) = layout(&app).await;
    let (idle_set, internal) = idle_pool(&app, biz).await;
    let rel = app
        .esb_ok(
            "find_host_topo_relation",
            json!({"bk_biz_id": biz, "bk_module_ids": [m[0], m[1]], "page": {"start": 0, "limit": 2}}),
        )
        .await;
    assert_eq!(rel["count"], json!(3));
    assert_eq!(rel["page"], json!({"start": 0, "limit": 2}));
    assert_eq!(
        rel["data"][0],
        json!({"bk_biz_id": biz, "bk_host_id": ids[0], "bk_module_id": m[0],
               "bk_set_id": sets[0], "bk_supplier_account": "0"})
    );
    app.esb_err(
        "find_host_topo_relation",
        json!({"bk_biz_id": biz, "page": {"start": 0}}),
        1199006,
    )
    .await;
    let rows = app
        .esb_ok(
            "find_host_biz_relations",
            json!({"bk_host_id": [ids[1], ids[3]]}),
        )
        .await;
    assert_eq!(rows.as_array().expect("rows").len(), 3);
    assert_eq!(rows[2]["bk_set_id"], json!(idle_set));
    assert_eq!(rows[2]["bk_module_id"], json!(internal[0]));
    app.esb_err(
        "find_host_biz_relations",
        json!({"bk_host_id": []}),
        1199010,
    )
    .await;
    let by_topo = app
        .esb_ok(
            "find_host_by_topo",
            json!({"bk_biz_id": biz, "bk_obj_id": "set", "bk_inst_id": sets[0],
                   "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(
        by_topo,
        json!({"count": 2, "info": [{"bk_host_id": ids[0]}, {"bk_host_id": ids[1]}]})
    );
    app.esb_err(
        "find_host_by_topo",
        json!({"bk_biz_id": biz, "bk_obj_id": "biz", "bk_inst_id": biz,
               "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10}}),
        1199006,
    )
    .await;
    let mhr = app
        .esb_ok(
            "find_module_host_relation",
            json!({"bk_biz_id": biz, "bk_module_ids": [m[1], m[2]], "module_fields": ["bk_module_name"],
                   "host_fields": ["bk_host_innerip"], "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(
        mhr,
        json!({"count": 2, "relation": [
            {"host": {"bk_host_innerip": "10.0.0.2"}, "modules": [{"bk_module_name": "m2"}]},
            {"host": {"bk_host_innerip": "10.0.0.3"}, "modules": [{"bk_module_name": "m3"}]}]})
    );
    app.esb_err(
        "find_module_host_relation",
        json!({"bk_biz_id": biz, "bk_module_ids": [m[1]], "module_fields": [],
               "host_fields": ["bk_host_id"], "page": {"start": 0, "limit": 10}}),
        1199010,
    )
    .await;
    let with_topo = app
        .esb_ok(
            "find_host_relations_with_topo",
            json!({"bk_biz_id": biz, "bk_obj_id": "set", "bk_inst_ids": [sets[0]],
                   "fields": ["bk_host_id", "bk_module_id"], "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(
        with_topo,
        json!({"count": 3, "info": [
            {"bk_host_id": ids[0], "bk_module_id": m[0]},
            {"bk_host_id": ids[1], "bk_module_id": m[0]},
            {"bk_host_id": ids[1], "bk_module_id": m[1]}]})
    );
    app.esb_err(
        "find_host_relations_with_topo",
        json!({"bk_biz_id": biz, "bk_obj_id": "biz", "bk_inst_ids": [biz],
               "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10}}),
        1199006,
    )
    .await;
}

#[tokio::test]
async fn hosts_with_topology() {
    let app = TestApp::spawn().await;
    let (biz, sets, m, ids) = layout(&app).await;
    let topo = app
        .esb_ok(
            "list_biz_hosts_topo",
            json!({"bk_biz_id": biz, "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10},
                   "module_property_filter": {"condition": "AND", "rules": [
                       {"field": "bk_module_name", "operator": "in", "value": ["m1", "m2"]}]}}),
        )
        .await;
    assert_eq!(topo["count"], json!(2));
    assert_eq!(
        topo["info"][1],
        json!({"host": {"bk_host_id": ids[1]}, "topo": [
            {"bk_set_id": sets[0], "bk_set_name": "s1", "module": [
                {"bk_module_id": m[0], "bk_module_name": "m1"},
                {"bk_module_id": m[1], "bk_module_name": "m2"}]}]})
    );
    let total = app
        .esb_ok(
            "list_host_total_mainline_topo",
            json!({"bk_biz_id": biz, "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10},
                   "set_property_filter": {"condition": "AND", "rules": [
                       {"field": "bk_set_name", "operator": "equal", "value": "s2"}]}}),
        )
        .await;
    assert_eq!(
        total,
        json!({"count": 1, "info": [{"host": {"bk_host_id": ids[2]}, "topo": [
            {"inst": {"obj": "set", "name": "s2", "id": sets[1]}, "children": [
                {"inst": {"obj": "module", "name": "m3", "id": m[2]}, "children": null}]}]}]})
    );
    app.esb_err(
        "list_biz_hosts_topo",
        json!({"bk_biz_id": biz, "page": {"start": 0, "limit": 501}}),
        1199006,
    )
    .await;
}

#[tokio::test]
async fn cloud_areas() {
    let app = TestApp::spawn().await;
    let found = app
        .esb_ok(
            "search_cloud_area",
            json!({"condition": {"bk_cloud_id": 0}}),
        )
        .await;
    assert_eq!(found["count"], json!(1));
    assert_eq!(found["info"][0]["bk_cloud_name"], json!("Default Area"));
    let created = app
        .esb_ok(
            "create_cloud_area",
            json!({"bk_cloud_name": "Zone-A", "bk_region": "r1"}),
        )
        .await;
    assert_eq!(created["created"]["origin_index"], json!(0));
    let id = created["created"]["id"].as_i64().expect("id");
    assert!(id > 0 && id != 90_000_001);
    app.esb_err(
        "create_cloud_area",
        json!({"bk_cloud_name": "Zone-A"}),
        1199014,
    )
    .await;
    app.esb_err("create_cloud_area", json!({}), 1110063).await;
    let fuzzy = app
        .esb_ok(
            "search_cloud_area",
            json!({"condition": {"bk_cloud_name": "zone"}, "is_fuzzy": true, "sync_task_ids": true}),
        )
        .await;
    assert_eq!(fuzzy["count"], json!(1));
    assert_eq!(fuzzy["info"][0]["bk_creator"], json!("admin"));
    assert_eq!(fuzzy["info"][0]["sync_task_ids"], json!([]));
    app.esb_err(
        "search_cloud_area",
        json!({"page": {"start": 0, "limit": 1001}}),
        1199006,
    )
    .await;
    app.esb_ok(
        "update_cloud_area",
        json!({"bk_cloud_id": id, "bk_cloud_name": "Zone-B", "bk_region": ""}),
    )
    .await;
    let found = app
        .esb_ok(
            "search_cloud_area",
            json!({"condition": {"bk_cloud_id": id}}),
        )
        .await;
    assert_eq!(found["info"][0]["bk_cloud_name"], json!("Zone-B"));
    assert_eq!(found["info"][0]["bk_region"], json!("r1"));
    app.esb_err(
        "update_cloud_area",
        json!({"bk_cloud_id": 0, "bk_cloud_name": "x"}),
        1199076,
    )
    .await;
    let other = app
        .esb_ok("create_cloud_area", json!({"bk_cloud_name": "Zone-C"}))
        .await["created"]["id"]
        .as_i64()
        .expect("id");
    app.esb_err(
        "update_cloud_area",
        json!({"bk_cloud_id": other, "bk_cloud_name": "Zone-B"}),
        1199014,
    )
    .await;
    // A cloud area with hosts cannot go; the default area never.
    app.esb_ok(
        "add_host_to_resource_pool",
        json!({"host_info": [{"bk_host_innerip": "10.0.0.1", "bk_cloud_id": id}]}),
    )
    .await;
    app.esb_err("delete_cloud_area", json!({"bk_cloud_id": id}), 1101030)
        .await;
    app.esb_err("delete_cloud_area", json!({"bk_cloud_id": 0}), 1110066)
        .await;
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/cloudarea/{other}"),
        json!({}),
    )
    .await;
    let env = app
        .v3(Method::DELETE, "/api/v3/delete/cloudarea/abc", json!({}))
        .await;
    assert_eq!(env["bk_error_code"], json!(1199006));
    let v3 = app
        .v3_ok(Method::POST, "/api/v3/findmany/cloudarea", json!({}))
        .await;
    assert_eq!(v3["count"], json!(3));
    let pool = pool_id(&app).await;
    assert_eq!(list_biz(&app, pool, json!({})).await["count"], json!(1));
}
