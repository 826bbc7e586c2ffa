//! Host fixtures shared by the host, transfer and host-query tests: add hosts to the resource
//! pool, assign them to a business, read one host, its relations, and a business's hosts.

use serde_json::{json, Value};

use crate::common::TestApp;

/// The resource-pool business id: the first business of every fresh database (the seed
/// creates it before anything else; checked through its idle pool).
pub async fn pool_id(app: &TestApp) -> i64 {
    let internal = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": 1}))
        .await;
    assert!(
        internal["bk_set_id"].as_i64().unwrap_or(0) > 0,
        "{internal}"
    );
    1
}

/// Adds one resource-pool host per inner-IP list (cloud 0); their ids in order.
pub async fn add_pool_hosts(app: &TestApp, ips: &[&str]) -> Vec<i64> {
    if ips.is_empty() {
        return Vec::new();
    }
    let info: Vec<Value> = ips
        .iter()
        .map(|ip| json!({"bk_host_innerip": ip, "bk_cloud_id": 0}))
        .collect();
    let data = app
        .esb_ok("add_host_to_resource_pool", json!({"host_info": info}))
        .await;
    data["success"]
        .as_array()
        .expect("success")
        .iter()
        .map(|s| s["bk_host_id"].as_i64().expect("id"))
        .collect()
}

/// Moves pool hosts into the idle module of `biz`.
pub async fn assign(app: &TestApp, biz: i64, ids: &[i64]) {
    app.esb_ok(
        "transfer_resourcehost_to_idlemodule",
        json!({"bk_biz_id": biz, "bk_host_id": ids}),
    )
    .await;
}

/// One host (wire form) found through list_hosts_without_biz.
pub async fn host(app: &TestApp, id: i64) -> Value {
    let found = app
        .esb_ok(
            "list_hosts_without_biz",
            json!({"page": {"start": 0, "limit": 10}, "host_property_filter":
                   {"condition": "AND", "rules": [{"field": "bk_host_id", "operator": "equal", "value": id}]}}),
        )
        .await;
    found["info"][0].clone()
}

/// The relation rows of hosts.
pub async fn relations(app: &TestApp, ids: &[i64]) -> Vec<Value> {
    app.esb_ok("find_host_biz_relations", json!({"bk_host_id": ids}))
        .await
        .as_array()
        .expect("rows")
        .clone()
}

/// list_biz_hosts of `biz` with `extra` merged into a body paging 1000.
pub async fn list_biz(app: &TestApp, biz: i64, extra: Value) -> Value {
    let mut body = json!({"bk_biz_id": biz, "page": {"start": 0, "limit": 1000}});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    app.esb_ok("list_biz_hosts", body).await
}

/// Module ids of the rows of one host.
pub fn module_ids(rows: &[Value], host: i64) -> Vec<i64> {
    let mut out: Vec<i64> = rows
        .iter()
        .filter(|r| r["bk_host_id"] == json!(host))
        .map(|r| r["bk_module_id"].as_i64().expect("module"))
        .collect();
    out.sort_unstable();
    out
}
