//! Topology fixtures shared by the business, set/module, mainline and topology tests: create a
//! business, a set, a module through the ESB API and read a business's idle pool.

use serde_json::json;

use crate::common::TestApp;

/// A business named `name`; its id.
pub async fn create_biz(app: &TestApp, name: &str) -> i64 {
    app.esb_ok(
        "create_business",
        json!({"bk_biz_name": name, "bk_biz_maintainer": "admin"}),
    )
    .await["bk_biz_id"]
        .as_i64()
        .expect("bk_biz_id")
}

/// A set below `parent` (the business, or a custom-level instance); its id.
pub async fn create_set(app: &TestApp, biz: i64, parent: i64, name: &str) -> i64 {
    app.esb_ok(
        "create_set",
        json!({"bk_biz_id": biz, "bk_parent_id": parent, "bk_set_name": name}),
    )
    .await["bk_set_id"]
        .as_i64()
        .expect("bk_set_id")
}

/// A module in `set`; its id.
pub async fn create_module(app: &TestApp, biz: i64, set: i64, name: &str) -> i64 {
    app.esb_ok(
        "create_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_parent_id": set, "bk_module_name": name}),
    )
    .await["bk_module_id"]
        .as_i64()
        .expect("bk_module_id")
}

/// The idle-pool set of a business and its (idle, fault, recycle) module ids.
pub async fn idle_pool(app: &TestApp, biz: i64) -> (i64, Vec<i64>) {
    let internal = app
        .esb_ok("get_biz_internal_module", json!({"bk_biz_id": biz}))
        .await;
    let modules = internal["module"]
        .as_array()
        .expect("modules")
        .iter()
        .map(|m| m["bk_module_id"].as_i64().expect("id"))
        .collect();
    (internal["bk_set_id"].as_i64().expect("set"), modules)
}
