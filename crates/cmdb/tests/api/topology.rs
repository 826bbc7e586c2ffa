//! 30-topology.md §5.17, §5.19–§5.23: the topology reads (instance tree, mainline chain, node
//! paths, modules by relation, brief relations, the gateway path of search_inst_by_object),
//! with plain and custom-level topologies.
//!
//! Custom mainline levels are added through the real level route by [`add_level`].

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{TestApp, APP_CODE, APP_SECRET};
use crate::topo_fixtures::{create_biz, create_module, create_set, idle_pool};

/// An instance of a custom level below `parent` in business `biz`.
async fn create_level_inst(app: &TestApp, obj: &str, biz: i64, parent: i64, name: &str) -> i64 {
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": obj, "bk_biz_id": biz, "bk_parent_id": parent, "bk_inst_name": name}),
    )
    .await["bk_inst_id"]
        .as_i64()
        .expect("bk_inst_id")
}

/// Inserts the custom level `obj` directly below `parent` through the real v3 route
/// (30-topology §1.1), then deletes the instances the insert made under every parent instance,
/// so the tests below build exactly the tree they assert.
async fn add_level(app: &TestApp, obj: &'static str, parent: &'static str) {
    app.v3_ok(
        Method::POST,
        "/api/v3/create/topomodelmainline",
        json!({"bk_obj_id": obj, "bk_obj_name": format!("{obj} name"), "bk_asst_obj_id": parent,
               "bk_classification_id": "bk_biz_topo"}),
    )
    .await;
    let made = app
        .esb_ok("search_inst", json!({"bk_obj_id": obj, "condition": {}}))
        .await;
    let ids: Vec<i64> = made["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|d| d["bk_inst_id"].as_i64().expect("id"))
        .collect();
    app.esb_ok(
        "batch_delete_inst",
        json!({"bk_obj_id": obj, "delete": {"inst_ids": ids}}),
    )
    .await;
}

fn node(id: i64, name: &str, obj: &str, obj_name: &str, default: i64, child: Value) -> Value {
    json!({"bk_inst_id": id, "bk_inst_name": name, "bk_obj_id": obj, "bk_obj_name": obj_name,
           "default": default, "child": child})
}

fn module(id: i64, name: &str, default: i64) -> Value {
    node(id, name, "module", "模块", default, json!([]))
}

async fn v3_err(app: &TestApp, method: Method, path: &str, body: Value, code: i64) -> Value {
    let env = app.v3(method, path, body).await;
    assert_eq!(env["result"], json!(false), "{path} should fail: {env}");
    assert_eq!(
        env["bk_error_code"],
        json!(code),
        "{path}: wrong code: {env}"
    );
    assert_eq!(env["data"], Value::Null);
    env
}

// ---------------------------------------------------------------------------------------------
// get_mainline_object_topo

#[tokio::test]
async fn mainline_object_topo_follows_the_chain() {
    let app = TestApp::spawn().await;
    let chain = app.esb_ok("get_mainline_object_topo", json!({})).await;
    assert_eq!(
        chain,
        json!([
            {"bk_obj_id": "biz", "bk_obj_name": "业务", "bk_supplier_account": "0",
             "bk_next_obj": "set", "bk_next_name": "集群", "bk_pre_obj_id": "", "bk_pre_obj_name": ""},
            {"bk_obj_id": "set", "bk_obj_name": "集群", "bk_supplier_account": "0",
             "bk_next_obj": "module", "bk_next_name": "模块", "bk_pre_obj_id": "biz", "bk_pre_obj_name": "业务"},
            {"bk_obj_id": "module", "bk_obj_name": "模块", "bk_supplier_account": "0",
             "bk_next_obj": "host", "bk_next_name": "主机", "bk_pre_obj_id": "set", "bk_pre_obj_name": "集群"},
            {"bk_obj_id": "host", "bk_obj_name": "主机", "bk_supplier_account": "0",
             "bk_next_obj": "", "bk_next_name": "", "bk_pre_obj_id": "module", "bk_pre_obj_name": "模块"},
        ])
    );

    add_level(&app, "province", "biz").await;
    add_level(&app, "city", "province").await;
    let chain = app
        .v3_ok(Method::POST, "/api/v3/find/topomodelmainline", json!({}))
        .await;
    let ids: Vec<&str> = chain
        .as_array()
        .expect("array")
        .iter()
        .map(|l| l["bk_obj_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["biz", "province", "city", "set", "module", "host"]);
    assert_eq!(
        chain[2],
        json!({"bk_obj_id": "city", "bk_obj_name": "city name", "bk_supplier_account": "0",
               "bk_next_obj": "set", "bk_next_name": "集群",
               "bk_pre_obj_id": "province", "bk_pre_obj_name": "province name"})
    );
    assert_eq!(chain[0]["bk_next_obj"], "province");
    assert_eq!(chain[3]["bk_pre_obj_id"], "city");
}

// ---------------------------------------------------------------------------------------------
// search_biz_inst_topo

/// A plain business: sets web (nginx, api) and db (mysql); plus another business.
struct Plain {
    biz: i64,
    web: i64,
    db: i64,
    nginx: i64,
    api: i64,
    mysql: i64,
}

async fn plain(app: &TestApp) -> Plain {
    let biz = create_biz(app, "shop").await;
    let other = create_biz(app, "other").await;
    let web = create_set(app, biz, biz, "web").await;
    let db = create_set(app, biz, biz, "db").await;
    let nginx = create_module(app, biz, web, "nginx").await;
    let api = create_module(app, biz, web, "api").await;
    let mysql = create_module(app, biz, db, "mysql").await;
    let elsewhere = create_set(app, other, other, "elsewhere").await;
    create_module(app, other, elsewhere, "m").await;
    Plain {
        biz,
        web,
        db,
        nginx,
        api,
        mysql,
    }
}

#[tokio::test]
async fn biz_inst_topo_is_the_whole_tree() {
    let app = TestApp::spawn().await;
    let p = plain(&app).await;
    let want = json!([node(
        p.biz,
        "shop",
        "biz",
        "业务",
        0,
        json!([
            node(
                p.web,
                "web",
                "set",
                "集群",
                0,
                json!([module(p.nginx, "nginx", 0), module(p.api, "api", 0)])
            ),
            node(
                p.db,
                "db",
                "set",
                "集群",
                0,
                json!([module(p.mysql, "mysql", 0)])
            ),
        ])
    )]);
    // ESB (POST, `level` ignored), the v3 POST route and the v3 GET route agree.
    let esb = app
        .esb_ok(
            "search_biz_inst_topo",
            json!({"bk_biz_id": p.biz, "level": 1}),
        )
        .await;
    assert_eq!(esb, want);
    let path = format!("/api/v3/find/topoinst/biz/{}", p.biz);
    assert_eq!(app.v3_ok(Method::POST, &path, json!({})).await, want);
    assert_eq!(app.v3_ok(Method::GET, &path, json!({})).await, want);

    // The Python client's form: ESB GET with everything in the query string.
    let resp = app
        .client
        .get(format!(
            "{}/api/c/compapi/v2/cc/search_biz_inst_topo/?bk_app_code={APP_CODE}&bk_app_secret={APP_SECRET}&bk_username=admin&bk_biz_id={}&level=-1",
            app.base, p.biz
        ))
        .send()
        .await
        .expect("request");
    let env = TestApp::raw(resp).await.body;
    assert_eq!(env["result"], json!(true), "{env}");
    assert_eq!(env["data"], want);
}

#[tokio::test]
async fn biz_inst_topo_flags_and_errors() {
    let app = TestApp::spawn().await;
    let p = plain(&app).await;
    let (idle, internal) = idle_pool(&app, p.biz).await;
    let path = format!("/api/v3/find/topoinst/biz/{}", p.biz);

    // with_default: the idle set (and its internal modules, by `default`) follows the sets.
    let topo = app
        .v3_ok(Method::GET, &format!("{path}?with_default=1"), json!({}))
        .await;
    let children = topo[0]["child"].as_array().expect("child");
    assert_eq!(children.len(), 3);
    assert_eq!(children[0]["bk_inst_id"], json!(p.web));
    assert_eq!(children[1]["bk_inst_id"], json!(p.db));
    assert_eq!(
        children[2],
        node(
            idle,
            "空闲机池",
            "set",
            "集群",
            1,
            json!([
                module(internal[0], "空闲机", 1),
                module(internal[1], "故障机", 2),
                module(internal[2], "待回收", 3),
            ])
        )
    );
    // An empty value is no flag (upstream: `len(value) > 0`); ESB has no query flags.
    let topo = app
        .v3_ok(Method::POST, &format!("{path}?with_default="), json!({}))
        .await;
    assert_eq!(topo[0]["child"].as_array().expect("child").len(), 2);
    let topo = app
        .esb_ok(
            "search_biz_inst_topo",
            json!({"bk_biz_id": p.biz, "with_default": 1}),
        )
        .await;
    assert_eq!(topo[0]["child"].as_array().expect("child").len(), 2);

    // need_sort=true: every child list by name.
    let topo = app
        .v3_ok(
            Method::POST,
            &format!("{path}?need_sort=true&with_default=yes"),
            json!({}),
        )
        .await;
    let names = |v: &Value| -> Vec<String> {
        v["child"]
            .as_array()
            .expect("child")
            .iter()
            .map(|c| c["bk_inst_name"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(names(&topo[0]), ["db", "web", "空闲机池"]);
    assert_eq!(names(&topo[0]["child"][1]), ["api", "nginx"]);
    assert_eq!(names(&topo[0]["child"][2]), ["待回收", "故障机", "空闲机"]);

    // Unknown business: empty list. Non-integer id: 1199009.
    assert_eq!(
        app.esb_ok("search_biz_inst_topo", json!({"bk_biz_id": 999_999}))
            .await,
        json!([])
    );
    app.esb_err("search_biz_inst_topo", json!({"bk_biz_id": "abc"}), 1199009)
        .await;
    v3_err(
        &app,
        Method::GET,
        "/api/v3/find/topoinst/biz/x1",
        json!({}),
        1199009,
    )
    .await;
}

/// Business corp: province gd → cities sz (set web → module nginx) and gz (empty).
struct Custom {
    biz: i64,
    gd: i64,
    sz: i64,
    gz: i64,
    web: i64,
    nginx: i64,
    idle: i64,
    internal: Vec<i64>,
}

async fn custom(app: &TestApp) -> Custom {
    let biz = create_biz(app, "corp").await;
    let other = create_biz(app, "other").await;
    add_level(app, "province", "biz").await;
    add_level(app, "city", "province").await;
    let gd = create_level_inst(app, "province", biz, biz, "gd").await;
    let sz = create_level_inst(app, "city", biz, gd, "sz").await;
    let gz = create_level_inst(app, "city", biz, gd, "gz").await;
    let web = create_set(app, biz, sz, "web").await;
    let nginx = create_module(app, biz, web, "nginx").await;
    // Another business with its own levels.
    let hb = create_level_inst(app, "province", other, other, "hb").await;
    let wh = create_level_inst(app, "city", other, hb, "wh").await;
    create_set(app, other, wh, "web").await;
    let (idle, internal) = idle_pool(app, biz).await;
    Custom {
        biz,
        gd,
        sz,
        gz,
        web,
        nginx,
        idle,
        internal,
    }
}

#[tokio::test]
async fn biz_inst_topo_with_custom_levels() {
    let app = TestApp::spawn().await;
    let c = custom(&app).await;
    let levels = json!([node(
        c.gd,
        "gd",
        "province",
        "province name",
        0,
        json!([
            node(
                c.sz,
                "sz",
                "city",
                "city name",
                0,
                json!([node(
                    c.web,
                    "web",
                    "set",
                    "集群",
                    0,
                    json!([module(c.nginx, "nginx", 0)])
                )])
            ),
            node(c.gz, "gz", "city", "city name", 0, json!([])),
        ])
    )]);
    let topo = app
        .esb_ok("search_biz_inst_topo", json!({"bk_biz_id": c.biz}))
        .await;
    assert_eq!(topo, json!([node(c.biz, "corp", "biz", "业务", 0, levels)]));

    // The idle set stays directly below the business, after the custom level.
    let topo = app
        .v3_ok(
            Method::GET,
            &format!("/api/v3/find/topoinst/biz/{}?with_default=true", c.biz),
            json!({}),
        )
        .await;
    let children = topo[0]["child"].as_array().expect("child");
    assert_eq!(children.len(), 2);
    assert_eq!(children[0]["bk_inst_id"], json!(c.gd));
    assert_eq!(children[1]["bk_inst_id"], json!(c.idle));
    assert_eq!(children[1]["default"], json!(1));
    assert_eq!(children[1]["child"].as_array().expect("modules").len(), 3);
}

// ---------------------------------------------------------------------------------------------
// find_topo_node_paths

fn step(obj: &str, id: i64, name: &str) -> Value {
    json!({"bk_obj_id": obj, "bk_inst_id": id, "bk_inst_name": name})
}

#[tokio::test]
async fn node_paths_walk_up_to_the_business() {
    let app = TestApp::spawn().await;
    let c = custom(&app).await;
    let biz = step("biz", c.biz, "corp");
    let gd = step("province", c.gd, "gd");
    let sz = step("city", c.sz, "sz");
    let web = step("set", c.web, "web");
    let idle = step("set", c.idle, "空闲机池");
    let paths = app
        .esb_ok(
            "find_topo_node_paths",
            json!({"bk_biz_id": c.biz, "bk_nodes": [
                {"bk_obj_id": "module", "bk_inst_id": c.nginx},
                {"bk_obj_id": "biz", "bk_inst_id": c.biz},
                {"bk_obj_id": "city", "bk_inst_id": c.gz},
                {"bk_obj_id": "module", "bk_inst_id": 987_654},
                {"bk_obj_id": "module", "bk_inst_id": c.internal[1]},
                {"bk_obj_id": "set", "bk_inst_id": c.web},
                {"bk_obj_id": "module", "bk_inst_id": c.nginx},
                {"bk_obj_id": "set", "bk_inst_id": c.idle},
                {"bk_obj_id": "province", "bk_inst_id": c.gd},
            ]}),
        )
        .await;
    assert_eq!(
        paths,
        json!([
            {"bk_obj_id": "module", "bk_inst_id": c.nginx, "bk_inst_name": "nginx",
             "bk_paths": [[biz, gd, sz, web]]},
            {"bk_obj_id": "biz", "bk_inst_id": c.biz, "bk_inst_name": "corp", "bk_paths": []},
            {"bk_obj_id": "city", "bk_inst_id": c.gz, "bk_inst_name": "gz",
             "bk_paths": [[biz, gd]]},
            {"bk_obj_id": "module", "bk_inst_id": c.internal[1], "bk_inst_name": "故障机",
             "bk_paths": [[biz, idle]]},
            {"bk_obj_id": "set", "bk_inst_id": c.web, "bk_inst_name": "web",
             "bk_paths": [[biz, gd, sz]]},
            {"bk_obj_id": "set", "bk_inst_id": c.idle, "bk_inst_name": "空闲机池",
             "bk_paths": [[biz]]},
            {"bk_obj_id": "province", "bk_inst_id": c.gd, "bk_inst_name": "gd",
             "bk_paths": [[biz]]},
        ])
    );

    // v3 route; nodes of another business are not found there.
    let data = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/cache/find/cache/topo/node_path/biz/{}", c.biz + 1),
            json!({"bk_nodes": [{"bk_obj_id": "module", "bk_inst_id": c.nginx},
                                {"bk_obj_id": "biz", "bk_inst_id": c.biz}]}),
        )
        .await;
    assert_eq!(data, json!([]));
}

#[tokio::test]
async fn node_paths_errors() {
    let app = TestApp::spawn().await;
    let p = plain(&app).await;
    let call = |nodes: Value| json!({"bk_biz_id": p.biz, "bk_nodes": nodes});
    // 1..1000 nodes
    let env = app
        .esb_err("find_topo_node_paths", call(json!([])), 1199089)
        .await;
    assert!(
        env["message"].as_str().expect("msg").contains("bk_nodes"),
        "{env}"
    );
    app.esb_err("find_topo_node_paths", json!({"bk_biz_id": p.biz}), 1199089)
        .await;
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"bk_obj_id": "set", "bk_inst_id": i}))
        .collect();
    let env = app
        .esb_err("find_topo_node_paths", call(json!(many)), 1199089)
        .await;
    assert!(
        env["message"].as_str().expect("msg").contains("1000"),
        "{env}"
    );
    // 1000 is fine
    let many: Vec<Value> = (0..1000)
        .map(|i| json!({"bk_obj_id": "set", "bk_inst_id": p.web + i}))
        .collect();
    let data = app.esb_ok("find_topo_node_paths", call(json!(many))).await;
    let found: Vec<i64> = data
        .as_array()
        .expect("array")
        .iter()
        .map(|n| n["bk_inst_id"].as_i64().expect("id"))
        .collect();
    assert_eq!(found, [p.web, p.db]);
    // hosts and other models are not topology nodes; wrong JSON types
    let env = app
        .esb_err(
            "find_topo_node_paths",
            call(json!([{"bk_obj_id": "set", "bk_inst_id": p.web},
                        {"bk_obj_id": "host", "bk_inst_id": 1}])),
            1199006,
        )
        .await;
    assert!(
        env["message"]
            .as_str()
            .expect("msg")
            .contains("bk_nodes[1].bk_obj_id"),
        "{env}"
    );
    app.esb_err(
        "find_topo_node_paths",
        call(json!([{"bk_obj_id": "bk_switch", "bk_inst_id": 1}])),
        1199006,
    )
    .await;
    app.esb_err(
        "find_topo_node_paths",
        call(json!([{"bk_obj_id": "set", "bk_inst_id": "1"}])),
        1199000,
    )
    .await;
    app.esb_err("find_topo_node_paths", call(json!("set")), 1199000)
        .await;
}

// ---------------------------------------------------------------------------------------------
// find_module_with_relation

#[tokio::test]
async fn modules_with_relation() {
    let app = TestApp::spawn().await;
    let p = plain(&app).await;
    let (idle, internal) = idle_pool(&app, p.biz).await;
    let fields = json!(["bk_module_id", "bk_module_name", "bk_set_id"]);

    let found = app
        .esb_ok(
            "find_module_with_relation",
            json!({"bk_biz_id": p.biz, "bk_set_ids": [p.web, p.db, p.web], "fields": fields}),
        )
        .await;
    assert_eq!(
        found,
        json!({"count": 3, "info": [
            {"bk_module_id": p.nginx, "bk_module_name": "nginx", "bk_set_id": p.web},
            {"bk_module_id": p.api, "bk_module_name": "api", "bk_set_id": p.web},
            {"bk_module_id": p.mysql, "bk_module_name": "mysql", "bk_set_id": p.db},
        ]})
    );

    // No set filter: every module of the business (internal ones included); paging and sort.
    let path = format!("/api/v3/findmany/module/with_relation/biz/{}", p.biz);
    let found = app
        .v3_ok(
            Method::POST,
            &path,
            json!({"fields": ["bk_module_name"], "page": {"start": 1, "limit": 2, "sort": "-bk_module_id"}}),
        )
        .await;
    assert_eq!(found["count"], json!(6));
    assert_eq!(
        found["info"],
        json!([{"bk_module_name": "api"}, {"bk_module_name": "nginx"}])
    );
    let found = app
        .v3_ok(
            Method::POST,
            &path,
            json!({"bk_set_ids": [idle], "fields": ["bk_module_id", "default"]}),
        )
        .await;
    assert_eq!(
        found,
        json!({"count": 3, "info": [
            {"bk_module_id": internal[0], "default": 1},
            {"bk_module_id": internal[1], "default": 2},
            {"bk_module_id": internal[2], "default": 3},
        ]})
    );

    // Service templates: every module here has none (0).
    let found = app
        .v3_ok(
            Method::POST,
            &path,
            json!({"bk_set_ids": [p.web], "bk_service_template_ids": [0], "fields": ["bk_module_id"]}),
        )
        .await;
    assert_eq!(found["count"], json!(2));
    let found = app
        .v3_ok(
            Method::POST,
            &path,
            json!({"bk_service_template_ids": [7], "fields": ["bk_module_id"]}),
        )
        .await;
    assert_eq!(found, json!({"count": 0, "info": []}));
    // Another business's sets give nothing.
    let found = app
        .esb_ok(
            "find_module_with_relation",
            json!({"bk_biz_id": p.biz + 1, "bk_set_ids": [p.web], "fields": ["bk_module_id"]}),
        )
        .await;
    assert_eq!(found, json!({"count": 0, "info": []}));

    // Errors: fields required (1199010); more than 200 sets or a page above 500 (1199015).
    app.esb_err(
        "find_module_with_relation",
        json!({"bk_biz_id": p.biz}),
        1199010,
    )
    .await;
    app.esb_err(
        "find_module_with_relation",
        json!({"bk_biz_id": p.biz, "fields": []}),
        1199010,
    )
    .await;
    let sets: Vec<i64> = (1..=201).collect();
    app.esb_err(
        "find_module_with_relation",
        json!({"bk_biz_id": p.biz, "bk_set_ids": sets, "fields": ["bk_module_id"]}),
        1199015,
    )
    .await;
    app.esb_err(
        "find_module_with_relation",
        json!({"bk_biz_id": p.biz, "fields": ["bk_module_id"], "page": {"limit": 501}}),
        1199015,
    )
    .await;
    app.esb_err(
        "find_module_with_relation",
        json!({"bk_biz_id": p.biz, "bk_set_ids": ["x"], "fields": ["bk_module_id"]}),
        1199000,
    )
    .await;
    app.esb_err(
        "find_module_with_relation",
        json!({"bk_biz_id": p.biz, "fields": ["bk_module_id"], "page": {"sort": "nosuch"}}),
        1199006,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// find_brief_biz_topo_node_relation

fn rel(biz: i64, src: i64, dest: i64) -> Value {
    json!({"bk_biz_id": biz, "src_id": src, "dest_id": dest})
}

#[tokio::test]
async fn brief_relations_plain() {
    let app = TestApp::spawn().await;
    let p = plain(&app).await;
    let (idle, internal) = idle_pool(&app, p.biz).await;
    let brief = |src: &str, ids: Value, dest: &str, page: Value| json!({"src_biz_obj": src, "src_ids": ids, "dest_biz_obj": dest, "page": page});
    let esb = "find_brief_biz_topo_node_relation";

    // biz → set (the idle set included), in set id order
    let data = app
        .esb_ok(
            esb,
            brief("biz", json!([p.biz]), "set", json!({"limit": 10})),
        )
        .await;
    assert_eq!(
        data,
        json!([
            rel(p.biz, p.biz, idle),
            rel(p.biz, p.biz, p.web),
            rel(p.biz, p.biz, p.db)
        ])
    );
    // set → module, paged: pages until an empty one
    let page1 = app
        .esb_ok(
            esb,
            brief(
                "set",
                json!([p.web, p.db]),
                "module",
                json!({"start": 0, "limit": 2}),
            ),
        )
        .await;
    assert_eq!(
        page1,
        json!([rel(p.biz, p.web, p.nginx), rel(p.biz, p.web, p.api)])
    );
    let page2 = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/topo/biz/brief_node_relation",
            brief(
                "set",
                json!([p.web, p.db]),
                "module",
                json!({"start": 2, "limit": 2}),
            ),
        )
        .await;
    assert_eq!(page2, json!([rel(p.biz, p.db, p.mysql)]));
    let page3 = app
        .esb_ok(
            esb,
            brief(
                "set",
                json!([p.web, p.db]),
                "module",
                json!({"start": 4, "limit": 2}),
            ),
        )
        .await;
    assert_eq!(page3, json!([]));
    // upward: module → set, module → biz, set → biz (one row per src id)
    let data = app
        .esb_ok(
            esb,
            brief(
                "module",
                json!([p.mysql, p.nginx, internal[0]]),
                "set",
                json!({"limit": 10}),
            ),
        )
        .await;
    assert_eq!(
        data,
        json!([
            rel(p.biz, internal[0], idle),
            rel(p.biz, p.nginx, p.web),
            rel(p.biz, p.mysql, p.db)
        ])
    );
    let data = app
        .esb_ok(
            esb,
            brief("module", json!([p.api]), "biz", json!({"limit": 10})),
        )
        .await;
    assert_eq!(data, json!([rel(p.biz, p.api, p.biz)]));
    // biz → module skips no level rule
    let data = app
        .esb_ok(
            esb,
            brief("biz", json!([p.biz]), "module", json!({"limit": 500})),
        )
        .await;
    assert_eq!(data.as_array().expect("array").len(), 6);

    // Parameter errors (1199006, upstream's order and names).
    let bad = [
        (
            json!({"src_ids": [1], "dest_biz_obj": "set", "page": {"limit": 1}}),
            "src_biz_obj",
        ),
        (
            brief("set", json!([]), "module", json!({"limit": 1})),
            "src_ids",
        ),
        (
            brief(
                "set",
                json!((1..=201).collect::<Vec<i64>>()),
                "module",
                json!({"limit": 1}),
            ),
            "src_ids",
        ),
        (
            brief("set", json!([1]), "", json!({"limit": 1})),
            "dest_biz_obj",
        ),
        (
            brief("set", json!([1]), "set", json!({"limit": 1})),
            "dest_biz_obj",
        ),
        (
            brief(
                "set",
                json!([1]),
                "module",
                json!({"limit": 1, "sort": "bk_module_id"}),
            ),
            "page.sort",
        ),
        (
            brief("set", json!([1]), "module", json!({"limit": 0})),
            "page.limit",
        ),
        (
            brief("set", json!([1]), "module", json!({"limit": 501})),
            "page.limit",
        ),
    ];
    for (body, field) in bad {
        let env = app.esb_err(esb, body, 1199006).await;
        assert!(
            env["message"].as_str().expect("msg").contains(field),
            "{field}: {env}"
        );
    }
    // Not mainline levels: 1101048.
    app.esb_err(
        esb,
        brief("host", json!([1]), "module", json!({"limit": 1})),
        1101048,
    )
    .await;
    app.esb_err(
        esb,
        brief("set", json!([1]), "bk_switch", json!({"limit": 1})),
        1101048,
    )
    .await;
}

#[tokio::test]
async fn brief_relations_custom_levels() {
    let app = TestApp::spawn().await;
    let c = custom(&app).await;
    let esb = "find_brief_biz_topo_node_relation";
    let brief = |src: &str, ids: Value, dest: &str| json!({"src_biz_obj": src, "src_ids": ids, "dest_biz_obj": dest, "page": {"limit": 100}});
    // downward through the custom levels
    assert_eq!(
        app.esb_ok(esb, brief("biz", json!([c.biz]), "city")).await,
        json!([rel(c.biz, c.biz, c.sz), rel(c.biz, c.biz, c.gz)])
    );
    assert_eq!(
        app.esb_ok(esb, brief("province", json!([c.gd]), "city"))
            .await,
        json!([rel(c.biz, c.gd, c.sz), rel(c.biz, c.gd, c.gz)])
    );
    // a city's sets: the idle set hangs below the business, never below a city, so naming the
    // business id as a city id does not reach it
    assert_eq!(
        app.esb_ok(esb, brief("city", json!([c.sz, c.gz, c.biz]), "set"))
            .await,
        json!([rel(c.biz, c.sz, c.web)])
    );
    // upward
    assert_eq!(
        app.esb_ok(esb, brief("set", json!([c.web, c.idle]), "city"))
            .await,
        json!([rel(c.biz, c.web, c.sz)])
    );
    assert_eq!(
        app.esb_ok(esb, brief("city", json!([c.gz, c.sz]), "province"))
            .await,
        json!([rel(c.biz, c.sz, c.gd), rel(c.biz, c.gz, c.gd)])
    );
    assert_eq!(
        app.esb_ok(esb, brief("city", json!([c.gz]), "biz")).await,
        json!([rel(c.biz, c.gz, c.biz)])
    );
    assert_eq!(
        app.esb_ok(esb, brief("set", json!([c.web, c.idle]), "biz"))
            .await,
        json!([rel(c.biz, c.idle, c.biz), rel(c.biz, c.web, c.biz)])
    );
    // levels that are not neighbours: 1199078
    for (src, dest) in [("set", "province"), ("province", "set"), ("module", "city")] {
        let env = app
            .esb_err(esb, brief(src, json!([1]), dest), 1199078)
            .await;
        assert!(
            env["message"].as_str().expect("msg").contains(dest),
            "{env}"
        );
    }
    app.esb_err(esb, brief("city", json!([1]), "host"), 1101048)
        .await;
}

// ---------------------------------------------------------------------------------------------
// search_inst_by_object on the gateway path

#[tokio::test]
async fn search_inst_by_object_gateway_path() {
    let app = TestApp::spawn().await;
    app.create_model("srv").await;
    let a = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "srv", "bk_inst_name": "a"}),
        )
        .await;
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "srv", "bk_inst_name": "b"}),
    )
    .await;
    let body =
        json!({"fields": ["bk_inst_id", "bk_inst_name"], "condition": {"bk_inst_name": "a"}});
    let gateway = app
        .v3_ok(
            Method::POST,
            "/api/v3/inst/search/owner/0/object/srv",
            body.clone(),
        )
        .await;
    assert_eq!(
        gateway,
        json!({"count": 1, "info": [{"bk_inst_id": a["bk_inst_id"], "bk_inst_name": "a"}]})
    );
    let backend = app
        .v3_ok(Method::POST, "/api/v3/inst/search/0/srv", body.clone())
        .await;
    assert_eq!(gateway, backend);
    let esb = app
        .esb_ok(
            "search_inst_by_object",
            json!({"bk_obj_id": "srv", "fields": ["bk_inst_id", "bk_inst_name"],
                   "condition": {"bk_inst_name": "a"}}),
        )
        .await;
    assert_eq!(gateway, esb);
    // unknown model → 1199011 on either path
    v3_err(
        &app,
        Method::POST,
        "/api/v3/inst/search/owner/0/object/nosuch",
        json!({}),
        1199011,
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// search_biz_inst_topo: the JSON writer against the reference builder

/// The bytes of `data` in a raw ESB or v3 success envelope (`…"data":<data>,"message"…` or
/// `…"data":<data>,"permission"…`).
fn data_bytes(body: &[u8]) -> &[u8] {
    let text = std::str::from_utf8(body).expect("utf-8 body");
    let start = text.find(",\"data\":").expect("data key") + ",\"data\":".len();
    let end = text
        .rfind(",\"message\":")
        .filter(|&e| e > start)
        .or_else(|| text.rfind(",\"permission\":"))
        .expect("key after data");
    &body[start..end]
}

/// The answer of the store's structure-based builder, serialised as the API used to.
async fn reference_topo(
    store: &cmdb_store::Store,
    biz: i64,
    with_default: bool,
    need_sort: bool,
) -> Vec<u8> {
    let opts = cmdb_store::ops::topology::TopoOptions {
        with_default,
        need_sort,
    };
    let tree = cmdb_store::read(store.as_ref(), move |tx| {
        cmdb_store::ops::topology::biz_inst_topo(tx, biz, opts)
    })
    .await
    .expect("reference tree");
    serde_json::to_vec(&tree).expect("serialise")
}

/// The answer bytes, byte for byte, equal those of the reference builder on a generated tree
/// (two businesses, two custom levels) made awkward on purpose: names that need escapes
/// (mainline names may not hold quotes, backslashes or whitespace, a business's may), non-ASCII
/// names, an ordinary module in the idle set after the
/// built-in ones (siblings then go out by `default` before id), a custom-level instance named
/// like the idle-pool set (ties of `need_sort` across levels), every flag combination, both
/// surfaces.
#[tokio::test]
async fn biz_inst_topo_bytes_equal_the_reference_builder() {
    let app = TestApp::spawn().await;
    let store = app.open_store().await;
    let summary = cmdb::gen::generate(
        store.clone(),
        cmdb::gen::GenConfig {
            data: app.data_dir.clone(),
            database: app.database.clone(),
            businesses: 2,
            levels: 2,
            fanout: 2,
            sets: 12,
            modules_per_set: 3,
            prefix: "eq".into(),
        },
    )
    .await
    .expect("generate");
    let biz = summary["bk_biz_ids"][0].as_i64().expect("biz id");
    let levels: Vec<String> = summary["levels"]
        .as_array()
        .expect("levels")
        .iter()
        .map(|l| l.as_str().expect("level").to_string())
        .collect();
    app.esb_ok(
        "update_business",
        json!({"bk_biz_id": biz, "bk_biz_name": "eq \"biz\" \\ </b>\n"}),
    )
    .await;
    let top = create_level_inst(&app, &levels[0], biz, biz, "空闲机池").await;
    let mid = create_level_inst(&app, &levels[1], biz, top, "ctl\u{1}\u{1f}\u{7f}\u{2028}").await;
    let odd = create_set(&app, biz, mid, "é😀").await;
    create_module(&app, biz, odd, "zz").await;
    create_module(&app, biz, odd, "AA").await;
    create_module(&app, biz, odd, "Ä").await;
    let (idle, _) = idle_pool(&app, biz).await;
    create_module(&app, biz, idle, "ordinary-in-the-idle-pool").await;

    for biz in [biz, 999_999] {
        for (with_default, need_sort) in
            [(false, false), (true, false), (false, true), (true, true)]
        {
            let want = reference_topo(&store, biz, with_default, need_sort).await;
            let mut query = Vec::new();
            if with_default {
                query.push("with_default=1");
            }
            if need_sort {
                query.push("need_sort=true");
            }
            let resp = app
                .client
                .post(format!(
                    "{}/api/v3/find/topoinst/biz/{biz}?{}",
                    app.base,
                    query.join("&")
                ))
                .header(
                    "x-bkapi-authorization",
                    json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET}).to_string(),
                )
                .header("x-bkcmdb-user", "admin")
                .header("x-bkcmdb-supplier-account", "0")
                .json(&json!({}))
                .send()
                .await
                .expect("request");
            let body = resp.bytes().await.expect("body");
            let env: Value = serde_json::from_slice(&body).expect("envelope parses");
            assert_eq!(env["result"], json!(true), "{env}");
            assert_eq!(
                String::from_utf8_lossy(data_bytes(&body)),
                String::from_utf8_lossy(&want),
                "biz {biz}, with_default {with_default}, need_sort {need_sort}"
            );
        }
        let resp = app
            .client
            .post(format!("{}/api/c/compapi/v2/cc/search_biz_inst_topo/", app.base))
            .header(
                "x-bkapi-authorization",
                json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
                    .to_string(),
            )
            .json(&json!({"bk_biz_id": biz}))
            .send()
            .await
            .expect("request");
        let body = resp.bytes().await.expect("body");
        let want = reference_topo(&store, biz, false, false).await;
        assert_eq!(data_bytes(&body), &want[..], "ESB, biz {biz}");
        let env: Value = serde_json::from_slice(&body).expect("envelope parses");
        assert_eq!(env["result"], json!(true));
    }

    // find_topo_node_paths is serialised from its structs: still sorted keys, as a `Value`
    // tree (serde_json's sorted map) writes them.
    let nodes: Vec<Value> = [("biz", biz), ("set", odd), (levels[1].as_str(), mid)]
        .iter()
        .map(|(obj, id)| json!({"bk_obj_id": obj, "bk_inst_id": id}))
        .collect();
    let resp = app
        .client
        .post(format!(
            "{}/api/c/compapi/v2/cc/find_topo_node_paths/",
            app.base
        ))
        .header(
            "x-bkapi-authorization",
            json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
                .to_string(),
        )
        .json(&json!({"bk_biz_id": biz, "bk_nodes": nodes}))
        .send()
        .await
        .expect("request");
    let body = resp.bytes().await.expect("body");
    let data = data_bytes(&body);
    let parsed: Value = serde_json::from_slice(data).expect("data parses");
    assert_eq!(parsed.as_array().map(Vec::len), Some(3), "{parsed}");
    assert_eq!(
        String::from_utf8_lossy(data),
        serde_json::to_string(&parsed).expect("serialise")
    );
    store.close().await;
}
