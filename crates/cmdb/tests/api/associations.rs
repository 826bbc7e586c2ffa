//! 50-associations.md through HTTP: association kinds, model associations, instance
//! associations with their mapping rules (including 1,000 racing creates), queries in both
//! directions, deletion effects, and search_inst_association_topo.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;

/// A v3 call that must fail with `code`.
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

async fn inst(app: &TestApp, obj: &str, name: &str) -> i64 {
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": obj, "bk_inst_name": name}),
    )
    .await["bk_inst_id"]
        .as_i64()
        .expect("id")
}

/// Models `host_a` and `sw` with an association `host_a_connect_sw` of `mapping`.
async fn two_models(app: &TestApp, mapping: &str) -> Value {
    app.create_model("host_a").await;
    app.create_model("sw").await;
    app.v3_ok(
        Method::POST,
        "/api/v3/create/objectassociation",
        json!({"bk_obj_asst_id": "host_a_connect_sw", "bk_obj_asst_name": "uplink",
               "bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_asst_id": "connect",
               "mapping": mapping, "on_delete": "none"}),
    )
    .await
}

async fn link(app: &TestApp, key: &str, src: i64, dst: i64) -> Value {
    app.esb(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": src, "bk_asst_inst_id": dst}),
    )
    .await
}

#[tokio::test]
async fn association_kinds_crud() {
    let app = TestApp::spawn().await;
    let found = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/associationtype",
            json!({"condition": {}, "page": {"start": 0, "limit": 100, "sort": "bk_asst_id"}}),
        )
        .await;
    assert_eq!(found["count"], json!(6), "{found}");
    let ids: Vec<&str> = found["info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["bk_asst_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "belong",
            "bk_mainline",
            "connect",
            "default",
            "group",
            "run"
        ]
    );
    assert!(found["info"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["ispre"] == json!(true) && k["direction"] == json!("src_to_dest")));
    let belong = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/associationtype",
            json!({"condition": {"bk_asst_id": "belong"}}),
        )
        .await;
    assert_eq!(belong["count"], json!(1));
    assert_eq!(belong["info"][0]["src_des"], json!("属于"));
    assert_eq!(belong["info"][0]["dest_des"], json!("包含"));
    let belong_id = belong["info"][0]["id"].as_i64().unwrap();

    let created = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/associationtype",
            json!({"bk_asst_id": "backup", "bk_asst_name": "backs up", "src_des": "backs up",
                   "dest_des": "backed up by", "direction": "none"}),
        )
        .await;
    let id = created["id"].as_i64().expect("id");
    v3_err(
        &app,
        Method::POST,
        "/api/v3/create/associationtype",
        json!({"bk_asst_id": "backup", "bk_asst_name": "again"}),
        1199014,
    )
    .await;
    v3_err(
        &app,
        Method::POST,
        "/api/v3/create/associationtype",
        json!({"bk_asst_id": "x1", "bk_asst_name": "x", "direction": "sideways"}),
        1199006,
    )
    .await;
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/update/associationtype/{id}"),
        json!({"bk_asst_name": "replicates", "src_des": "a", "dest_des": "b", "direction": "src_to_dest"}),
    )
    .await;
    let after = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/associationtype",
            json!({"condition": {"id": id}}),
        )
        .await;
    assert_eq!(after["info"][0]["bk_asst_name"], json!("replicates"));
    assert_eq!(after["info"][0]["ispre"], json!(false));
    v3_err(
        &app,
        Method::PUT,
        &format!("/api/v3/update/associationtype/{belong_id}"),
        json!({"bk_asst_name": "x"}),
        1101051,
    )
    .await;
    v3_err(
        &app,
        Method::DELETE,
        &format!("/api/v3/delete/associationtype/{belong_id}"),
        json!({}),
        1101051,
    )
    .await;
    // In use by a model association → 1101060.
    app.create_model("ma").await;
    app.v3_ok(
        Method::POST,
        "/api/v3/create/objectassociation",
        json!({"bk_obj_asst_id": "ma_backup_ma", "bk_obj_id": "ma", "bk_asst_obj_id": "ma",
               "bk_asst_id": "backup", "mapping": "n:n"}),
    )
    .await;
    v3_err(
        &app,
        Method::DELETE,
        &format!("/api/v3/delete/associationtype/{id}"),
        json!({}),
        1101060,
    )
    .await;
    let oa = app
        .esb_ok(
            "find_object_association",
            json!({"condition": {"bk_obj_id": "ma"}}),
        )
        .await;
    let oa_id = oa[0]["id"].as_i64().unwrap();
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/objectassociation/{oa_id}"),
        json!({}),
    )
    .await;
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/associationtype/{id}"),
        json!({}),
    )
    .await;
    // Deleting a missing kind succeeds.
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/associationtype/{id}"),
        json!({}),
    )
    .await;
    let count = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/associationtype",
            json!({"condition": {}}),
        )
        .await;
    assert_eq!(count["count"], json!(6));
}

#[tokio::test]
async fn model_associations_crud_and_errors() {
    let app = TestApp::spawn().await;
    let created = two_models(&app, "1:n").await;
    assert!(created["id"].as_i64().unwrap() > 0);
    for (k, v) in [
        ("bk_obj_asst_id", json!("host_a_connect_sw")),
        ("bk_obj_asst_name", json!("uplink")),
        ("bk_obj_id", json!("host_a")),
        ("bk_asst_obj_id", json!("sw")),
        ("bk_asst_id", json!("connect")),
        ("mapping", json!("1:n")),
        ("on_delete", json!("none")),
        ("ispre", json!(false)),
        ("bk_supplier_account", json!("0")),
    ] {
        assert_eq!(created[k], v, "{k}: {created}");
    }
    let id = created["id"].as_i64().unwrap();
    let create = |body: Value| {
        let app = &app;
        async move {
            app.v3(Method::POST, "/api/v3/create/objectassociation", body)
                .await
        }
    };
    let code = |env: Value| env["bk_error_code"].as_i64().unwrap();
    let base = json!({"bk_obj_asst_id": "x", "bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_asst_id": "run", "mapping": "n:n"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    assert_eq!(
        code(create(with("bk_asst_id", json!("bk_mainline"))).await),
        1101082
    );
    assert_eq!(code(create(with("bk_obj_id", json!(""))).await), 1101045);
    assert_eq!(code(create(with("bk_asst_id", json!(""))).await), 1101045);
    let exists = create(with("bk_asst_id", json!("connect"))).await;
    assert_eq!(code(exists.clone()), 1101038);
    assert_eq!(
        exists["bk_error_msg"],
        json!("the associations host_a->sw already exist")
    );
    assert_eq!(
        code(create(with("bk_obj_id", json!("nosuch"))).await),
        1199011
    );
    let missing_dst = create(with("bk_asst_obj_id", json!("nosuch"))).await;
    assert_eq!(code(missing_dst.clone()), 1199011);
    assert!(missing_dst["bk_error_msg"]
        .as_str()
        .unwrap()
        .contains("'bk_asst_obj_id'"));
    assert_eq!(
        code(create(with("bk_obj_asst_id", json!("host_a_connect_sw"))).await),
        1199014
    );
    assert_eq!(code(create(with("mapping", json!("2:2"))).await), 1199006);
    assert_eq!(
        code(create(with("bk_asst_id", json!("nokind"))).await),
        1101072
    );
    // Self-association is allowed.
    app.v3_ok(
        Method::POST,
        "/api/v3/create/objectassociation",
        json!({"bk_obj_asst_id": "sw_default_sw", "bk_obj_id": "sw", "bk_asst_obj_id": "sw", "bk_asst_id": "default", "mapping": "n:n"}),
    )
    .await;

    // find_object_association, ESB and v3.
    let by_src = app
        .esb_ok(
            "find_object_association",
            json!({"condition": {"bk_obj_id": "host_a"}}),
        )
        .await;
    assert_eq!(by_src.as_array().unwrap().len(), 1);
    assert_eq!(by_src[0], created);
    let by_dst = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectassociation",
            json!({"condition": {"bk_asst_obj_id": "sw", "bk_asst_id": "default"}}),
        )
        .await;
    assert_eq!(by_dst.as_array().unwrap().len(), 1);
    assert_eq!(by_dst[0]["bk_obj_asst_id"], json!("sw_default_sw"));
    let mainline = app
        .esb_ok(
            "find_object_association",
            json!({"condition": {"bk_asst_id": "bk_mainline"}}),
        )
        .await;
    assert_eq!(mainline.as_array().unwrap().len(), 3, "{mainline}");

    // Update.
    let path = format!("/api/v3/update/objectassociation/{id}");
    app.v3_ok(
        Method::PUT,
        &path,
        json!({"bk_obj_asst_name": "renamed", "on_delete": "delete_src"}),
    )
    .await;
    let after = app
        .esb_ok("find_object_association", json!({"condition": {"id": id}}))
        .await;
    assert_eq!(after[0]["bk_obj_asst_name"], json!("renamed"));
    assert_eq!(after[0]["on_delete"], json!("delete_src"));
    for forbidden in [
        "bk_obj_id",
        "bk_asst_obj_id",
        "bk_asst_id",
        "bk_obj_asst_id",
        "ispre",
    ] {
        v3_err(&app, Method::PUT, &path, json!({ forbidden: "x" }), 1101047).await;
    }
    v3_err(
        &app,
        Method::PUT,
        "/api/v3/update/objectassociation/999999",
        json!({"bk_obj_asst_name": "x"}),
        1101046,
    )
    .await;
    let mainline_id = mainline[0]["id"].as_i64().unwrap();
    v3_err(
        &app,
        Method::PUT,
        &format!("/api/v3/update/objectassociation/{mainline_id}"),
        json!({"bk_obj_asst_name": "x"}),
        1101054,
    )
    .await;
    v3_err(
        &app,
        Method::DELETE,
        &format!("/api/v3/delete/objectassociation/{mainline_id}"),
        json!({}),
        1101082,
    )
    .await;
    v3_err(
        &app,
        Method::DELETE,
        "/api/v3/delete/objectassociation/999999",
        json!({}),
        1101046,
    )
    .await;

    // Delete with instance links → 1101043; without → ok; then the models can go.
    let h = inst(&app, "host_a", "h1").await;
    let s = inst(&app, "sw", "s1").await;
    let l = link(&app, "host_a_connect_sw", h, s).await;
    assert_eq!(l["result"], json!(true), "{l}");
    v3_err(
        &app,
        Method::DELETE,
        &format!("/api/v3/delete/objectassociation/{id}"),
        json!({}),
        1101043,
    )
    .await;
    // A mapping the existing links would violate is refused; a compatible one is kept.
    let h2 = inst(&app, "host_a", "h2").await;
    let s2 = inst(&app, "sw", "s2").await;
    assert_eq!(
        link(&app, "host_a_connect_sw", h, s2).await["result"],
        json!(true)
    );
    v3_err(&app, Method::PUT, &path, json!({"mapping": "1:1"}), 1101052).await;
    app.v3_ok(Method::PUT, &path, json!({"mapping": "n:n"}))
        .await;
    assert_eq!(
        link(&app, "host_a_connect_sw", h2, s).await["result"],
        json!(true)
    );
    v3_err(&app, Method::PUT, &path, json!({"mapping": "1:n"}), 1101061).await;
    let links = app
        .esb_ok(
            "find_instance_association",
            json!({"bk_obj_id": "host_a", "condition": {"bk_obj_asst_id": "host_a_connect_sw"}}),
        )
        .await;
    let ids: Vec<i64> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 3);
    let n = app
        .esb_ok(
            "delete_related_inst_asso",
            json!({"bk_obj_id": "host_a", "id": ids}),
        )
        .await;
    assert_eq!(n, json!(3));
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/objectassociation/{id}"),
        json!({}),
    )
    .await;
    assert_eq!(
        app.esb_ok(
            "find_object_association",
            json!({"condition": {"bk_obj_id": "host_a"}}),
        )
        .await,
        json!([])
    );
}

#[tokio::test]
async fn instance_associations_one_to_many() {
    let app = TestApp::spawn().await;
    two_models(&app, "1:n").await;
    let h1 = inst(&app, "host_a", "h1").await;
    let h2 = inst(&app, "host_a", "h2").await;
    let s1 = inst(&app, "sw", "s1").await;
    let s2 = inst(&app, "sw", "s2").await;
    let key = "host_a_connect_sw";

    let first = link(&app, key, h1, s1).await;
    assert_eq!(first["code"], json!(0), "{first}");
    let id1 = first["data"]["id"].as_i64().expect("id");
    // A source may have many targets.
    let second = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/instassociation",
            json!({"bk_obj_asst_id": key, "bk_inst_id": h1, "bk_asst_inst_id": s2}),
        )
        .await;
    let id2 = second["id"].as_i64().unwrap();
    assert!(id2 > id1);
    // A target has one source: 1101061 (checked before the duplicate rule).
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": h2, "bk_asst_inst_id": s1}),
        1101061,
    )
    .await;
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": h1, "bk_asst_inst_id": s1}),
        1101061,
    )
    .await;
    let env = app
        .esb_err(
            "add_instance_association",
            json!({"bk_obj_asst_id": "nope", "bk_inst_id": h1, "bk_asst_inst_id": s1}),
            1101046,
        )
        .await;
    assert_eq!(env["message"], json!("object association does not exist."));
    let s3 = inst(&app, "sw", "s3").await;
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": 999999, "bk_asst_inst_id": s3}),
        1101073,
    )
    .await;
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": h1, "bk_asst_inst_id": 999999}),
        1101074,
    )
    .await;
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": "x", "bk_asst_inst_id": s3}),
        1199006,
    )
    .await;
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": "set_bk_mainline_biz", "bk_inst_id": 1, "bk_asst_inst_id": 1}),
        1101082,
    )
    .await;

    // Queries in both directions.
    let rec = |id: i64, src: i64, dst: i64| {
        json!({"id": id, "bk_obj_asst_id": key, "bk_asst_id": "connect", "bk_obj_id": "host_a",
               "bk_inst_id": src, "bk_asst_obj_id": "sw", "bk_asst_inst_id": dst,
               "bk_supplier_account": "0", "bk_biz_id": 0})
    };
    let found = app
        .esb_ok(
            "find_instance_association",
            json!({"bk_obj_id": "sw", "condition": {"bk_obj_asst_id": key, "bk_asst_id": "connect", "bk_asst_obj_id": "sw"}}),
        )
        .await;
    assert_eq!(found, json!([rec(id1, h1, s1), rec(id2, h1, s2)]));
    app.esb_err(
        "find_instance_association",
        json!({"condition": {"bk_obj_asst_id": key}}),
        1199010,
    )
    .await;
    app.esb_err(
        "find_instance_association",
        json!({"bk_obj_id": "sw", "condition": "x"}),
        1199006,
    )
    .await;
    let all_fields = json!([
        "id",
        "bk_obj_asst_id",
        "bk_asst_id",
        "bk_obj_id",
        "bk_inst_id",
        "bk_asst_obj_id",
        "bk_asst_inst_id",
        "bk_supplier_account",
        "bk_biz_id"
    ]);
    let from_src = app
        .esb_ok(
            "search_related_inst_asso",
            json!({"condition": {"bk_inst_id": h1, "bk_obj_id": "host_a"}, "fields": all_fields, "page": {"start": 0, "limit": 10, "sort": "-id"}}),
        )
        .await;
    assert_eq!(from_src, json!([rec(id2, h1, s2), rec(id1, h1, s1)]));
    let from_dst = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/instassociation/related",
            json!({"condition": {"bk_inst_id": s1, "bk_obj_id": "sw"}, "fields": ["id", "bk_inst_id"], "page": {"limit": 10}}),
        )
        .await;
    assert_eq!(from_dst, json!([{"id": id1, "bk_inst_id": h1}]));
    for (body, code) in [
        (
            json!({"condition": {"bk_obj_id": "sw"}, "fields": ["id"]}),
            1199010,
        ),
        (
            json!({"condition": {"bk_inst_id": s1, "bk_obj_id": "sw"}}),
            1199010,
        ),
        (
            json!({"condition": {"bk_inst_id": s1, "bk_obj_id": "sw"}, "fields": ["id"], "page": {"limit": 501}}),
            1199059,
        ),
    ] {
        app.esb_err("search_related_inst_asso", body, code).await;
    }

    // search / count over the model's association collection.
    let searched = app
        .esb_ok(
            "search_instance_associations",
            json!({"bk_obj_id": "sw", "conditions": {"condition": "AND", "rules": [{"field": "bk_asst_inst_id", "operator": "in", "value": [s1, s2]}]},
                   "fields": ["id", "bk_asst_inst_id"], "page": {"start": 0, "limit": 10, "sort": "-bk_asst_inst_id"}}),
        )
        .await;
    assert_eq!(
        searched,
        json!({"info": [{"id": id2, "bk_asst_inst_id": s2}, {"id": id1, "bk_asst_inst_id": s1}]})
    );
    let counted = app
        .v3_ok(
            Method::POST,
            "/api/v3/count/instance_associations/object/host_a",
            json!({"conditions": {"condition": "AND", "rules": [{"field": "bk_inst_id", "operator": "equal", "value": h1}]}}),
        )
        .await;
    assert_eq!(counted, json!({"count": 2}));
    for body in [
        json!({"bk_obj_id": "sw"}),
        json!({"bk_obj_id": "sw", "page": {"limit": 501}}),
        json!({"bk_obj_id": "sw", "page": {"limit": 10}, "conditions": {"condition": "AND", "rules": [{"field": "nosuch", "operator": "equal", "value": 1}]}}),
        json!({"bk_obj_id": "sw", "page": {"limit": 10}, "conditions": {"field": "id", "operator": "equal", "value": 1}}),
    ] {
        app.esb_err("search_instance_associations", body, 1199006)
            .await;
    }

    // find_instassociation_with_inst with instance details.
    let detail = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/instassociation/object/host_a/inst/detail",
            json!({"condition": {"asst_filter": {"condition": "AND", "rules": [{"field": "bk_inst_id", "operator": "equal", "value": h1}]}},
                   "asst_fields": ["id", "bk_asst_inst_id"], "src_fields": ["bk_inst_id", "bk_inst_name"],
                   "dst_fields": ["bk_inst_name"], "src_detail": true, "dst_detail": true,
                   "page": {"start": 0, "limit": 10, "sort": "id"}}),
        )
        .await;
    assert_eq!(
        detail,
        json!({"association": [{"id": id1, "bk_asst_inst_id": s1}, {"id": id2, "bk_asst_inst_id": s2}],
               "src": [{"bk_inst_id": h1, "bk_inst_name": "h1"}],
               "dst": [{"bk_inst_name": "s1"}, {"bk_inst_name": "s2"}]})
    );
    let plain = app
        .esb_ok(
            "find_instassociation_with_inst",
            json!({"bk_obj_id": "sw", "condition": {"asst_filter": {"condition": "AND", "rules": [{"field": "bk_asst_inst_id", "operator": "equal", "value": s2}]}}, "page": {"limit": 5}}),
        )
        .await;
    assert_eq!(plain, json!({"association": [rec(id2, h1, s2)]}));
    for (body, code) in [
        (json!({"bk_obj_id": "sw", "page": {"limit": 5}}), 1199011),
        (
            json!({"bk_obj_id": "sw", "condition": {"asst_filter": {"condition": "AND", "rules": [{"field": "id", "operator": "equal", "value": 1}]}}}),
            1199010,
        ),
        (
            json!({"bk_obj_id": "sw", "condition": {"asst_filter": {"condition": "AND", "rules": [{"field": "id", "operator": "equal", "value": 1}]}}, "page": {"limit": 201}}),
            1199059,
        ),
        (
            json!({"bk_obj_id": "sw", "condition": {"asst_filter": {"condition": "XOR", "rules": []}}, "page": {"limit": 5}}),
            1199006,
        ),
    ] {
        app.esb_err("find_instassociation_with_inst", body, code)
            .await;
    }

    // Base info of the associated instances, both directions.
    let targets = app
        .esb_ok(
            "search_inst_asst_object_inst_base_info",
            json!({"condition": {"bk_obj_id": "host_a", "bk_inst_id": h1, "association_obj_id": "sw"}, "page": {"start": 0, "limit": 1}}),
        )
        .await;
    assert_eq!(
        targets,
        json!({"count": 2, "info": [{"bk_inst_id": s1, "bk_inst_name": "s1"}]})
    );
    let sources = app
        .v3_ok(
            Method::POST,
            "/api/v3/findmany/inst/association/association_object/inst_base_info",
            json!({"condition": {"bk_obj_id": "sw", "bk_inst_id": s2, "association_obj_id": "host_a", "is_target_object": true}}),
        )
        .await;
    assert_eq!(
        sources,
        json!({"count": 1, "info": [{"bk_inst_id": h1, "bk_inst_name": "h1"}]})
    );
    app.esb_err(
        "search_inst_asst_object_inst_base_info",
        json!({"condition": {"bk_obj_id": "host_a", "bk_inst_id": h1}}),
        1199010,
    )
    .await;
    app.esb_err(
        "search_inst_asst_object_inst_base_info",
        json!({"condition": {"bk_obj_id": "host_a", "bk_inst_id": h1, "association_obj_id": "sw"}, "page": {"limit": 201}}),
        1199059,
    )
    .await;

    // Deleting a linked instance is refused at either end; after unlinking it works.
    app.esb_err(
        "delete_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": s1}),
        1101075,
    )
    .await;
    app.esb_err(
        "batch_delete_inst",
        json!({"bk_obj_id": "host_a", "delete": {"inst_ids": [h2, h1]}}),
        1101075,
    )
    .await;
    // The refused batch deleted nothing (one transaction).
    assert_eq!(
        app.esb_ok("count_object_instances", json!({"bk_obj_id": "host_a"}))
            .await,
        json!({"count": 2})
    );
    // delete_instance_association: through the target model's collection; missing id → ok.
    app.esb_ok(
        "delete_instance_association",
        json!({"bk_obj_id": "sw", "id": id1}),
    )
    .await;
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/instassociation/sw/{id1}"),
        json!({}),
    )
    .await;
    app.esb_err("delete_instance_association", json!({"id": id2}), 1199010)
        .await;
    let bad = app
        .v3(
            Method::DELETE,
            "/api/v3/delete/instassociation/sw/abc",
            json!({}),
        )
        .await;
    assert_eq!(bad["bk_error_code"], json!(1199009));
    app.esb_ok("delete_inst", json!({"bk_obj_id": "sw", "bk_inst_id": s1}))
        .await;
    // Now s1 is free again for another source, but deleted: 1101074.
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": key, "bk_inst_id": h2, "bk_asst_inst_id": s1}),
        1101074,
    )
    .await;
    for (body, code) in [
        (json!({"bk_obj_id": "sw", "id": []}), 1199003),
        (json!({"id": [id2]}), 1199010),
        (
            json!({"bk_obj_id": "sw", "id": (0..501).collect::<Vec<i64>>()}),
            1199059,
        ),
    ] {
        app.esb_err("delete_related_inst_asso", body, code).await;
    }
    let n = app
        .v3_ok(
            Method::DELETE,
            "/api/v3/delete/instassociation/batch",
            json!({"bk_obj_id": "sw", "id": [id2, 424242]}),
        )
        .await;
    assert_eq!(n, json!(1));
    app.esb_ok(
        "batch_delete_inst",
        json!({"bk_obj_id": "host_a", "delete": {"inst_ids": [h1, h2]}}),
    )
    .await;
}

#[tokio::test]
async fn one_to_one_duplicates_and_batch_create() {
    let app = TestApp::spawn().await;
    two_models(&app, "1:1").await;
    let h1 = inst(&app, "host_a", "h1").await;
    let h2 = inst(&app, "host_a", "h2").await;
    let s1 = inst(&app, "sw", "s1").await;
    let s2 = inst(&app, "sw", "s2").await;
    let key = "host_a_connect_sw";
    assert_eq!(link(&app, key, h1, s1).await["result"], json!(true));
    for (src, dst) in [(h1, s2), (h2, s1), (h1, s1)] {
        let env = app
            .esb_err(
                "add_instance_association",
                json!({"bk_obj_asst_id": key, "bk_inst_id": src, "bk_asst_inst_id": dst}),
                1101052,
            )
            .await;
        assert_eq!(
            env["message"],
            json!("can not create multiple instance association for a 1:1 association.")
        );
    }
    // Exact duplicates of an n:n association → 1199014.
    app.v3_ok(
        Method::POST,
        "/api/v3/create/objectassociation",
        json!({"bk_obj_asst_id": "host_a_run_sw", "bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_asst_id": "run", "mapping": "n:n"}),
    )
    .await;
    assert_eq!(
        link(&app, "host_a_run_sw", h1, s1).await["result"],
        json!(true)
    );
    app.esb_err(
        "add_instance_association",
        json!({"bk_obj_asst_id": "host_a_run_sw", "bk_inst_id": h1, "bk_asst_inst_id": s1}),
        1199014,
    )
    .await;

    // Batch: per item, non-atomic.
    let out = app
        .esb_ok(
            "batch_create_instance_association",
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_obj_asst_id": "host_a_run_sw",
                   "details": [{"bk_inst_id": h2, "bk_asst_inst_id": s2}, {"bk_inst_id": h1, "bk_asst_inst_id": s1},
                               {"bk_inst_id": 999999, "bk_asst_inst_id": s2}, {"bk_inst_id": h2, "bk_asst_inst_id": 999999},
                               {"bk_inst_id": h2, "bk_asst_inst_id": s1}]}),
        )
        .await;
    let created = out["success_created"].as_object().unwrap();
    assert_eq!(created.len(), 2, "{out}");
    assert!(created.contains_key("0") && created.contains_key("4"));
    assert_eq!(
        out["error_msg"]["1"],
        json!(format!("the associations {h1}->{s1} already exist"))
    );
    assert_eq!(
        out["error_msg"]["2"],
        json!("the association inst is not exist")
    );
    assert_eq!(
        out["error_msg"]["3"],
        json!("the association target inst is not exist")
    );
    let one_to_one = app
        .v3_ok(
            Method::POST,
            "/api/v3/createmany/instassociation",
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_obj_asst_id": key,
                   "details": [{"bk_inst_id": h2, "bk_asst_inst_id": s2}, {"bk_inst_id": h2, "bk_asst_inst_id": s2}]}),
        )
        .await;
    assert_eq!(one_to_one["success_created"].as_object().unwrap().len(), 1);
    assert_eq!(
        one_to_one["error_msg"]["1"],
        json!("can not create multiple instance association for a 1:1 association.")
    );
    let item = json!([{"bk_inst_id": h1, "bk_asst_inst_id": s1}]);
    for (body, code) in [
        (
            json!({"bk_asst_obj_id": "sw", "bk_obj_asst_id": key, "details": item}),
            1199011,
        ),
        (
            json!({"bk_obj_id": "host_a", "bk_obj_asst_id": key, "details": item}),
            1199011,
        ),
        (
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "details": item}),
            1199011,
        ),
        (
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_obj_asst_id": key, "details": []}),
            1199038,
        ),
        (
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_obj_asst_id": key,
                "details": (0..201).map(|_| json!({"bk_inst_id": 1, "bk_asst_inst_id": 2})).collect::<Vec<_>>()}),
            1199035,
        ),
        (
            json!({"bk_obj_id": "sw", "bk_asst_obj_id": "sw", "bk_obj_asst_id": key, "details": item}),
            1199006,
        ),
        (
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "host_a", "bk_obj_asst_id": key, "details": item}),
            1199006,
        ),
        (
            json!({"bk_obj_id": "host_a", "bk_asst_obj_id": "sw", "bk_obj_asst_id": "host_a_x_sw", "details": item}),
            1101046,
        ),
    ] {
        app.esb_err("batch_create_instance_association", body, code)
            .await;
    }
}

#[tokio::test]
async fn association_topo_of_an_instance() {
    let app = TestApp::spawn().await;
    two_models(&app, "n:n").await;
    app.create_model("rack").await;
    app.v3_ok(
        Method::POST,
        "/api/v3/create/objectassociation",
        json!({"bk_obj_asst_id": "host_a_belong_rack", "bk_obj_id": "host_a", "bk_asst_obj_id": "rack", "bk_asst_id": "belong", "mapping": "1:n"}),
    )
    .await;
    let h = inst(&app, "host_a", "h").await;
    let s1 = inst(&app, "sw", "s1").await;
    let s2 = inst(&app, "sw", "s2").await;
    let r = inst(&app, "rack", "r").await;
    let a1 = link(&app, "host_a_connect_sw", h, s1).await["data"]["id"].clone();
    let a2 = link(&app, "host_a_connect_sw", h, s2).await["data"]["id"].clone();
    let a3 = link(&app, "host_a_belong_rack", h, r).await["data"]["id"].clone();
    let topo = app
        .esb_ok(
            "search_inst_association_topo",
            json!({"bk_obj_id": "host_a", "bk_inst_id": h}),
        )
        .await;
    let child = |id: i64, name: &str, obj: &str, asso: &Value| {
        json!({"id": id.to_string(), "bk_inst_id": id, "bk_inst_name": name, "bk_obj_id": obj,
               "bk_obj_name": format!("{obj} name"), "bk_obj_icon": "icon-cc-default", "asso_id": asso})
    };
    assert_eq!(
        topo,
        json!([
            {"bk_obj_id": "rack", "bk_obj_name": "rack name", "bk_obj_icon": "icon-cc-default", "count": 1,
             "children": [child(r, "r", "rack", &a3)]},
            {"bk_obj_id": "sw", "bk_obj_name": "sw name", "bk_obj_icon": "icon-cc-default", "count": 2,
             "children": [child(s1, "s1", "sw", &a1), child(s2, "s2", "sw", &a2)]},
        ])
    );
    // The target sees nothing as source.
    let none = app
        .v3_ok(
            Method::POST,
            &format!("/api/v3/find/insttopo/object/sw/inst/{s1}"),
            json!({}),
        )
        .await;
    assert_eq!(none, json!([]));
    for body in [
        json!({"bk_obj_id": "nosuch", "bk_inst_id": h}),
        json!({"bk_obj_id": "host_a", "bk_inst_id": 0}),
        json!({"bk_obj_id": "host_a", "bk_inst_id": 999999}),
    ] {
        app.esb_err("search_inst_association_topo", body, 1199011)
            .await;
    }
}

/// 1,000 concurrent attempts to give one instance a 1:1 link to 1,000 different targets:
/// exactly one succeeds, on either backend (the database's UNIQUE slot index decides).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_to_one_race_has_one_winner() {
    let app = TestApp::spawn().await;
    two_models(&app, "1:1").await;
    let h = inst(&app, "host_a", "h").await;
    let mut targets = Vec::new();
    for chunk in 0..5 {
        let details: Vec<Value> = (0..200)
            .map(|i| json!({"bk_inst_name": format!("s{}", chunk * 200 + i)}))
            .collect();
        let out = app
            .esb_ok(
                "batch_create_inst",
                json!({"bk_obj_id": "sw", "details": details}),
            )
            .await;
        targets.extend(
            out["success_created"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_i64().unwrap()),
        );
    }
    assert_eq!(targets.len(), 1000);
    let mut set = tokio::task::JoinSet::new();
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(200));
    for t in targets {
        let client = app.client.clone();
        let url = format!("{}/api/c/compapi/v2/cc/add_instance_association/", app.base);
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire().await.unwrap();
            let auth = json!({"bk_app_code": crate::common::APP_CODE,
                              "bk_app_secret": crate::common::APP_SECRET, "bk_username": "admin"});
            let resp = client
                .post(url)
                .header("x-bkapi-authorization", auth.to_string())
                .header("blueking-language", "en")
                .json(&json!({"bk_obj_asst_id": "host_a_connect_sw", "bk_inst_id": h, "bk_asst_inst_id": t}))
                .send()
                .await
                .unwrap();
            let v: Value = resp.json().await.unwrap();
            v["code"].as_i64().unwrap()
        });
    }
    let mut codes = std::collections::BTreeMap::new();
    while let Some(r) = set.join_next().await {
        *codes.entry(r.unwrap()).or_insert(0) += 1;
    }
    eprintln!("race outcome (code → count): {codes:?}");
    assert_eq!(codes.get(&0), Some(&1), "{codes:?}");
    assert!(
        codes.keys().all(|c| [0, 1101052, 1113053].contains(c)),
        "{codes:?}"
    );
    let n = app
        .esb_ok(
            "count_instance_associations",
            json!({"bk_obj_id": "host_a", "conditions": {"condition": "AND", "rules": [{"field": "bk_inst_id", "operator": "equal", "value": h}]}}),
        )
        .await;
    assert_eq!(n, json!({"count": 1}));
}

/// 40-hosts §5.4 / 50-associations §5: delete_host runs the same association check as
/// delete_inst, in its transaction: a host that is an end of a link to a live instance (as
/// source or as target) is refused with 1101036 and the whole call changes nothing; links whose
/// other end is already gone are removed with the host; after unlinking, the host goes.
#[tokio::test]
async fn delete_host_is_refused_while_the_host_has_live_associations() {
    let app = TestApp::spawn().await;
    app.create_model("rack").await;
    for (key, src, dst) in [
        ("host_connect_rack", "host", "rack"),
        ("rack_connect_host", "rack", "host"),
    ] {
        app.v3_ok(
            Method::POST,
            "/api/v3/create/objectassociation",
            json!({"bk_obj_asst_id": key, "bk_obj_id": src, "bk_asst_obj_id": dst,
                   "bk_asst_id": "connect", "mapping": "n:n"}),
        )
        .await;
    }
    let hosts =
        crate::host_fixtures::add_pool_hosts(&app, &["10.6.0.1", "10.6.0.2", "10.6.0.3"]).await;
    let (h1, h2, h3) = (hosts[0], hosts[1], hosts[2]);
    let r1 = inst(&app, "rack", "r1").await;
    let r2 = inst(&app, "rack", "r2").await;
    let out = link(&app, "host_connect_rack", h1, r1).await;
    assert_eq!(out["result"], json!(true), "{out}");
    let inn = link(&app, "rack_connect_host", r2, h2).await;
    assert_eq!(inn["result"], json!(true), "{inn}");
    let links_of = |obj: &'static str, id: i64| {
        let app = &app;
        async move {
            app.esb_ok(
                "search_related_inst_asso",
                json!({"condition": {"bk_obj_id": obj, "bk_inst_id": id}, "fields": ["id"]}),
            )
            .await
        }
    };

    // Refused whichever side the host is on, also when only one host of the call is linked.
    for ids in [h1.to_string(), h2.to_string(), format!("{h3},{h1}")] {
        let env = app
            .esb_err("delete_host", json!({"bk_host_id": ids}), 1101036)
            .await;
        assert_eq!(env["message"], json!("instance has been associated"));
    }
    app.v3(
        Method::DELETE,
        "/api/v3/hosts/batch",
        json!({"bk_host_id": h2.to_string()}),
    )
    .await
    .get("bk_error_code")
    .filter(|c| **c == json!(1101036))
    .expect("v3 delete_host refused with 1101036");
    // Nothing changed: every host, relation and link is still there, and nothing was audited
    // as deleted.
    for h in [h1, h2, h3] {
        app.esb_ok("get_host_base_info", json!({"bk_host_id": h}))
            .await;
    }
    assert_eq!(
        crate::host_fixtures::relations(&app, &[h1, h2, h3])
            .await
            .len(),
        3
    );
    assert_eq!(
        links_of("host", h1).await,
        json!([{"id": out["data"]["id"]}])
    );
    assert_eq!(
        links_of("host", h2).await,
        json!([{"id": inn["data"]["id"]}])
    );
    let audit =
        crate::events::audit_list(&app, json!({"resource_type": "host", "action": ["delete"]}))
            .await;
    assert_eq!(audit["count"], json!(0), "{audit}");
    // The other end cannot go either while the host lives.
    app.esb_err(
        "delete_inst",
        json!({"bk_obj_id": "rack", "bk_inst_id": r1}),
        1101075,
    )
    .await;

    // A link whose other end is already gone does not hold the host back, and goes with it.
    // The API never leaves such a link (it refuses the delete above), so r2 is removed behind
    // its back, as data from an older version might look.
    let store = app.open_store().await;
    cmdb_store::write(store.as_ref(), move |tx| {
        tx.execute(
            "DELETE FROM instance WHERE obj_id = 'rack' AND inst_id = ?",
            &[cmdb_store::SqlValue::Int(r2)],
        )
    })
    .await
    .expect("remove r2");
    store.close().await;
    app.esb_ok("delete_host", json!({"bk_host_id": h2.to_string()}))
        .await;
    assert_eq!(links_of("host", h2).await, json!([]));
    assert_eq!(links_of("rack", r2).await, json!([]));

    // Unlinked, the host goes (and the batch with it).
    app.esb_ok(
        "delete_instance_association",
        json!({"bk_obj_id": "host", "id": out["data"]["id"]}),
    )
    .await;
    app.esb_ok("delete_host", json!({"bk_host_id": format!("{h1},{h3}")}))
        .await;
    for h in [h1, h2, h3] {
        app.esb_err("get_host_base_info", json!({"bk_host_id": h}), 1110008)
            .await;
    }
    let audit =
        crate::events::audit_list(&app, json!({"resource_type": "host", "action": ["delete"]}))
            .await;
    assert_eq!(audit["count"], json!(3), "{audit}");
}
