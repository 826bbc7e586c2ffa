//! 60-audit-events.md, kind by kind (issue 7): for every resource kind of resource_watch that
//! exists here (object_instance, mainline_instance, biz, set, module, host, host_relation,
//! plat, inst_asst) a create, an update and a delete through the HTTP API appear in the watch
//! stream after a cursor taken before them — exactly those events, in order, with the
//! documented `bk_detail` and cursor — and every write type of every audited resource type
//! (classifications, models, attributes, instances, businesses, sets, modules, hosts, host
//! relations, association kinds, model and instance associations, cloud areas) leaves the
//! documented audit record (resource type, action, ids, names, before/after data).

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{
    assert_audit_history, assert_events, assert_record, audit_records, crud_steps, watch_after,
    watch_cursor, Step, TestApp,
};
use crate::host_fixtures::{add_pool_hosts, assign, pool_id};
use crate::topo_fixtures::{create_biz, create_module, create_set, idle_pool};

/// The id a create answered with under `key`.
fn id_of(data: &Value, key: &str) -> i64 {
    data[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key}: {data}"))
}

/// A generic instance of `obj`; its id.
async fn inst(app: &TestApp, obj: &str, name: &str) -> i64 {
    let created = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": obj, "bk_inst_name": name}),
        )
        .await;
    id_of(&created, "bk_inst_id")
}

#[tokio::test]
async fn instances_are_watched_and_audited() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    app.create_attr("sw", "port", "singlechar", json!({})).await;
    inst(&app, "sw", "before").await;
    let cursor = watch_cursor(&app, "object_instance", &[]).await;

    let created = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "sw", "bk_inst_name": "sw-1", "port": "p1"}),
        )
        .await;
    let id = id_of(&created, "bk_inst_id");
    app.esb_ok(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": id, "bk_inst_name": "sw-2", "port": "p2"}),
    )
    .await;
    app.esb_ok("delete_inst", json!({"bk_obj_id": "sw", "bk_inst_id": id}))
        .await;

    let doc = |name: &str, port: &str| {
        json!({"bk_obj_id": "sw", "bk_inst_id": id, "bk_inst_name": name, "port": port,
               "bk_supplier_account": "0"})
    };
    // The document after the change; for the delete, the document before it.
    let events = watch_after(&app, "object_instance", &[], &cursor).await;
    assert_events(
        &events,
        &[
            ("create", doc("sw-1", "p1")),
            ("update", doc("sw-2", "p2")),
            ("delete", doc("sw-2", "p2")),
        ],
    );
    assert_eq!(
        events[0]["bk_detail"], created,
        "the whole created instance"
    );

    assert_audit_history(
        &app,
        json!({"resource_type": "model_instance", "bk_obj_id": "sw", "resource_id": id}),
        json!({"audit_type": "model_instance", "resource_type": "model_instance",
               "resource_id": id, "bk_biz_id": null, "operation_detail": {"bk_obj_id": "sw"}}),
        &crud_steps(
            Some(("sw-1", "sw-2")),
            doc("sw-1", "p1"),
            json!({"bk_inst_name": "sw-2", "port": "p2"}),
            doc("sw-2", "p2"),
        ),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn models_attributes_and_classifications_are_audited() {
    let app = TestApp::spawn().await;
    let cls = app
        .esb_ok(
            "create_classification",
            json!({"bk_classification_id": "cc_net", "bk_classification_name": "Network"}),
        )
        .await;
    let cls_id = id_of(&cls, "id");
    app.esb_ok(
        "update_classification",
        json!({"id": cls_id, "bk_classification_name": "Gear"}),
    )
    .await;
    let model = app
        .esb_ok(
            "create_object",
            json!({"bk_obj_id": "router", "bk_obj_name": "Router",
                   "bk_classification_id": "cc_net", "bk_obj_icon": "icon-cc-default"}),
        )
        .await;
    let model_id = id_of(&model, "id");
    for change in [
        json!({"bk_obj_name": "Edge router", "bk_obj_id": "ignored"}),
        json!({"bk_ispaused": true}),
        json!({"bk_ispaused": false}),
    ] {
        let mut body = change;
        body["id"] = json!(model_id);
        app.esb_ok("update_object", body).await;
    }
    let attr = app
        .create_attr("router", "ports", "singlechar", json!({}))
        .await;
    let attr_id = id_of(&attr, "id");
    app.esb_ok(
        "update_object_attribute",
        json!({"id": attr_id, "bk_property_name": "Port count", "bk_obj_id": "ignored"}),
    )
    .await;
    app.esb_ok("delete_object_attribute", json!({"id": attr_id}))
        .await;
    app.esb_ok("delete_object", json!({"id": model_id})).await;
    app.esb_ok("delete_classification", json!({"id": cls_id}))
        .await;

    let cls_doc =
        |name: &str| json!({"bk_classification_id": "cc_net", "bk_classification_name": name});
    assert_audit_history(
        &app,
        json!({"resource_type": "model_classification", "resource_id": cls_id}),
        json!({"audit_type": "model", "resource_type": "model_classification",
               "resource_id": cls_id, "bk_biz_id": null}),
        &crud_steps(
            Some(("Network", "Gear")),
            cls_doc("Network"),
            json!({"bk_classification_name": "Gear"}),
            cls_doc("Gear"),
        ),
    )
    .await;

    let model_doc = |name: &str, paused: bool| {
        json!({"id": model_id, "bk_obj_id": "router", "bk_obj_name": name,
               "bk_classification_id": "cc_net", "bk_ispaused": paused})
    };
    let renamed = Some("Edge router");
    // Pausing and resuming a model are actions of their own (§1 `action`).
    assert_audit_history(
        &app,
        json!({"resource_type": "model", "resource_id": model_id}),
        json!({"audit_type": "model", "resource_type": "model", "resource_id": model_id,
               "bk_biz_id": null, "operation_detail": {"bk_obj_id": "router"}}),
        &[
            (
                "create",
                Some("Router"),
                Step::Created(model_doc("Router", false)),
            ),
            (
                "update",
                renamed,
                Step::Updated(
                    model_doc("Router", false),
                    json!({"bk_obj_name": "Edge router"}),
                ),
            ),
            (
                "stop",
                renamed,
                Step::Updated(
                    model_doc("Edge router", false),
                    json!({"bk_ispaused": true}),
                ),
            ),
            (
                "resume",
                renamed,
                Step::Updated(
                    model_doc("Edge router", true),
                    json!({"bk_ispaused": false}),
                ),
            ),
            (
                "delete",
                renamed,
                Step::Deleted(model_doc("Edge router", false)),
            ),
        ],
    )
    .await;

    let attr_doc = |name: &str| {
        json!({"id": attr_id, "bk_obj_id": "router", "bk_property_id": "ports",
               "bk_property_name": name, "bk_property_type": "singlechar"})
    };
    // Attribute records name their model by id and by name (§1).
    assert_audit_history(
        &app,
        json!({"resource_type": "model_attribute", "resource_id": attr_id}),
        json!({"audit_type": "model", "resource_type": "model_attribute",
               "resource_id": attr_id,
               "operation_detail": {"bk_obj_id": "router", "bk_obj_name": "Edge router"}}),
        &crud_steps(
            Some(("ports label", "Port count")),
            attr_doc("ports label"),
            json!({"bk_property_name": "Port count"}),
            attr_doc("Port count"),
        ),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn attribute_groups_and_unique_rules_are_audited() {
    let app = TestApp::spawn().await;
    app.create_model("dev").await;
    let ip = id_of(
        &app.create_attr("dev", "ip", "singlechar", json!({})).await,
        "id",
    );
    let sn = id_of(
        &app.create_attr("dev", "sn", "singlechar", json!({})).await,
        "id",
    );
    let group = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/objectattgroup",
            json!({"bk_obj_id": "dev", "bk_group_id": "net", "bk_group_name": "Network",
                   "bk_group_index": 2}),
        )
        .await;
    let group_id = id_of(&group, "id");
    app.v3_ok(
        Method::PUT,
        "/api/v3/update/objectattgroup",
        json!({"condition": {"id": group_id}, "data": {"bk_group_name": "Net"}}),
    )
    .await;
    // Swapping two groups' indexes updates both.
    let groups = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/objectattgroup/object/dev",
            json!({}),
        )
        .await;
    let default = groups
        .as_array()
        .and_then(|gs| gs.iter().find(|g| g["bk_group_id"] == "default"))
        .cloned()
        .unwrap_or_else(|| panic!("default group: {groups}"));
    app.v3_ok(
        Method::PUT,
        "/api/v3/update/objectattgroup/groupindex",
        json!({"id": [default["id"], group_id]}),
    )
    .await;
    // Moving an attribute into a group (and back) is an attribute update.
    for to in ["net", "default"] {
        app.v3_ok(
            Method::PUT,
            "/api/v3/update/objectattgroupproperty",
            json!({"condition": {"bk_obj_id": "dev", "bk_property_id": "ip"},
                   "data": {"bk_property_group": to}}),
        )
        .await;
    }
    app.v3_ok(
        Method::DELETE,
        &format!("/api/v3/delete/objectattgroup/{group_id}"),
        json!({}),
    )
    .await;
    let key = |attr: i64| json!([{"key_kind": "property", "key_id": attr}]);
    let rule = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/objectunique/object/dev",
            json!({ "keys": key(ip) }),
        )
        .await;
    let rule_id = id_of(&rule, "id");
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/update/objectunique/object/dev/unique/{rule_id}"),
        json!({ "keys": key(sn) }),
    )
    .await;
    app.v3_ok(
        Method::POST,
        &format!("/api/v3/delete/objectunique/object/dev/unique/{rule_id}"),
        json!({}),
    )
    .await;

    let group_doc = |name: &str, index: &Value| {
        json!({"id": group_id, "bk_obj_id": "dev", "bk_group_id": "net", "bk_group_name": name,
               "bk_group_index": index})
    };
    let (two, swapped) = (json!(2), default["bk_group_index"].clone());
    let head = json!({"audit_type": "model", "resource_type": "model_attribute_group",
                      "resource_id": group_id, "operation_detail": {"bk_obj_id": "dev"}});
    assert_audit_history(
        &app,
        json!({"resource_type": "model_attribute_group", "resource_id": group_id}),
        head,
        &[
            (
                "create",
                Some("Network"),
                Step::Created(group_doc("Network", &two)),
            ),
            (
                "update",
                Some("Net"),
                Step::Updated(group_doc("Network", &two), json!({"bk_group_name": "Net"})),
            ),
            (
                "update",
                Some("Net"),
                Step::Updated(group_doc("Net", &two), json!({ "bk_group_index": swapped })),
            ),
            (
                "delete",
                Some("Net"),
                Step::Deleted(group_doc("Net", &swapped)),
            ),
        ],
    )
    .await;
    let moves = audit_records(
        &app,
        json!({"resource_type": "model_attribute", "resource_id": ip, "action": ["update"]}),
    )
    .await;
    assert_eq!(moves.len(), 2, "{moves:?}");
    for (r, group) in moves.iter().zip(["net", "default"]) {
        assert_record(
            r,
            &json!({"audit_type": "model", "resource_type": "model_attribute",
                    "operation_detail": {"bk_obj_id": "dev", "bk_obj_name": "dev name",
                                         "details": {"update_fields": {"bk_property_group": group}}}}),
        );
    }
    assert_audit_history(
        &app,
        json!({"resource_type": "model_unique", "resource_id": rule_id}),
        json!({"audit_type": "model", "resource_type": "model_unique", "resource_id": rule_id,
               "operation_detail": {"bk_obj_id": "dev"}}),
        &crud_steps(
            None,
            json!({"id": rule_id, "bk_obj_id": "dev", "keys": key(ip)}),
            json!({ "keys": key(sn) }),
            json!({"id": rule_id, "bk_obj_id": "dev", "keys": key(sn)}),
        ),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn businesses_are_watched_and_audited_through_archive_and_delete() {
    let app = TestApp::spawn().await;
    create_biz(&app, "first").await;
    let biz_fields = [
        "bk_biz_id",
        "bk_biz_name",
        "bk_data_status",
        "bk_supplier_account",
    ];
    let biz_cursor = watch_cursor(&app, "biz", &biz_fields).await;
    let set_cursor = watch_cursor(&app, "set", &["bk_set_id"]).await;
    let module_cursor = watch_cursor(&app, "module", &["bk_module_id"]).await;

    let biz = create_biz(&app, "shop").await;
    let (idle_set, internal) = idle_pool(&app, biz).await;
    app.esb_ok(
        "update_business",
        json!({"bk_biz_id": biz, "bk_biz_name": "store", "bk_biz_developer": "dev1",
               "default": 1, "bk_parent_id": 7}),
    )
    .await;
    for status in [
        json!({"flag": "disabled"}),
        json!({"flag": "enable", "bk_biz_name": "store2"}),
        json!({"flag": "disabled"}),
    ] {
        let mut body = status;
        body["bk_biz_id"] = json!(biz);
        app.esb_ok("update_business_enable_status", body).await;
    }
    app.esb_ok("delete_business", json!({"bk_biz_id": [biz]}))
        .await;

    // A business carries `bk_data_status` once it has been archived.
    let doc = |name: &str, status: Option<&str>| {
        let mut d = json!({"bk_biz_id": biz, "bk_biz_name": name, "bk_supplier_account": "0"});
        if let Some(status) = status {
            d["bk_data_status"] = json!(status);
        }
        d
    };
    let events = watch_after(&app, "biz", &biz_fields, &biz_cursor).await;
    assert_events(
        &events,
        &[
            ("create", doc("shop", None)),
            ("update", doc("store", None)),
            ("update", doc("store-archived", Some("disabled"))),
            ("update", doc("store2", Some("enable"))),
            ("update", doc("store2-archived", Some("disabled"))),
            ("delete", doc("store2-archived", Some("disabled"))),
        ],
    );
    assert_eq!(
        events[0]["bk_detail"],
        doc("shop", None),
        "projected to the asked fields"
    );
    // The idle pool comes and goes with its business.
    let sets = watch_after(&app, "set", &["bk_set_id"], &set_cursor).await;
    let set = json!({ "bk_set_id": idle_set });
    assert_events(&sets, &[("create", set.clone()), ("delete", set)]);
    let modules = watch_after(&app, "module", &["bk_module_id"], &module_cursor).await;
    let mut expected: Vec<(&str, Value)> = internal
        .iter()
        .map(|m| ("create", json!({ "bk_module_id": m })))
        .collect();
    expected.extend(
        internal
            .iter()
            .map(|m| ("delete", json!({ "bk_module_id": m }))),
    );
    assert_events(&modules, &expected);

    let (archived, restored) = (Some("store-archived"), Some("store2"));
    let archived_again = Some("store2-archived");
    assert_audit_history(
        &app,
        json!({"resource_type": "business", "resource_id": biz}),
        json!({"audit_type": "business", "resource_type": "business", "resource_id": biz,
               "bk_biz_id": biz, "operation_detail": {"bk_obj_id": "biz"}}),
        &[
            ("create", Some("shop"), Step::Created(doc("shop", None))),
            (
                "update",
                Some("store"),
                Step::Updated(
                    doc("shop", None),
                    json!({"bk_biz_name": "store", "bk_biz_developer": "dev1"}),
                ),
            ),
            (
                "archive",
                archived,
                Step::Updated(
                    doc("store", None),
                    json!({"bk_biz_name": "store-archived", "bk_data_status": "disabled"}),
                ),
            ),
            (
                "recover",
                restored,
                Step::Updated(
                    doc("store-archived", Some("disabled")),
                    json!({"bk_biz_name": "store2", "bk_data_status": "enable"}),
                ),
            ),
            (
                "archive",
                archived_again,
                Step::Updated(
                    doc("store2", Some("enable")),
                    json!({"bk_biz_name": "store2-archived", "bk_data_status": "disabled"}),
                ),
            ),
            (
                "delete",
                archived_again,
                Step::Deleted(doc("store2-archived", Some("disabled"))),
            ),
        ],
    )
    .await;
    // The idle pool's records belong to the business.
    let pool = audit_records(&app, json!({"resource_type": "set", "bk_biz_id": biz})).await;
    let actions = |rs: &[Value]| -> Vec<String> {
        rs.iter()
            .map(|r| r["action"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    assert_eq!(actions(&pool), ["create", "delete"]);
    let pool = audit_records(&app, json!({"resource_type": "module", "bk_biz_id": biz})).await;
    assert_eq!(
        actions(&pool),
        ["create", "create", "create", "delete", "delete", "delete"]
    );
    app.stop().await;
}

#[tokio::test]
async fn sets_and_modules_are_watched_and_audited() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "shop").await;
    let set_cursor = watch_cursor(&app, "set", &["bk_set_id"]).await;
    let module_cursor = watch_cursor(&app, "module", &["bk_module_id"]).await;

    let set = create_set(&app, biz, biz, "web").await;
    let module = create_module(&app, biz, set, "nginx").await;
    app.esb_ok(
        "update_set",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_set_name": "front", "bk_set_desc": "d"}),
    )
    .await;
    app.esb_ok(
        "update_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": module,
               "bk_module_name": "proxy"}),
    )
    .await;
    app.esb_ok(
        "delete_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": module}),
    )
    .await;
    app.esb_ok("delete_set", json!({"bk_biz_id": biz, "bk_set_id": set}))
        .await;

    let set_doc = |name: &str| json!({"bk_set_id": set, "bk_set_name": name, "bk_biz_id": biz, "bk_parent_id": biz});
    let module_doc = |name: &str| {
        json!({"bk_module_id": module, "bk_module_name": name, "bk_set_id": set,
               "bk_biz_id": biz, "bk_parent_id": set})
    };
    for (resource, fields, cursor, doc, names, update_fields, id) in [
        (
            "set",
            ["bk_set_id", "bk_set_name", "bk_biz_id", "bk_parent_id"],
            &set_cursor,
            &set_doc as &dyn Fn(&str) -> Value,
            ("web", "front"),
            json!({"bk_set_name": "front", "bk_set_desc": "d"}),
            set,
        ),
        (
            "module",
            ["bk_module_id", "bk_module_name", "bk_set_id", "bk_biz_id"],
            &module_cursor,
            &module_doc,
            ("nginx", "proxy"),
            json!({"bk_module_name": "proxy"}),
            module,
        ),
    ] {
        let events = watch_after(&app, resource, &fields, cursor).await;
        // Projected: only the asked fields (of the documents before / after the change).
        let project = |d: Value| {
            let mut kept = serde_json::Map::new();
            for f in fields {
                kept.insert(f.to_string(), d[f].clone());
            }
            Value::Object(kept)
        };
        assert_events(
            &events,
            &[
                ("create", project(doc(names.0))),
                ("update", project(doc(names.1))),
                ("delete", project(doc(names.1))),
            ],
        );
        for e in &events {
            assert_eq!(e["bk_detail"].as_object().map(|m| m.len()), Some(4), "{e}");
        }
        assert_audit_history(
            &app,
            json!({"resource_type": resource, "resource_id": id}),
            json!({"audit_type": "business_resource", "resource_type": resource,
                   "resource_id": id, "bk_biz_id": biz,
                   "operation_detail": {"bk_obj_id": resource}}),
            &crud_steps(Some(names), doc(names.0), update_fields, doc(names.1)),
        )
        .await;
    }
    app.stop().await;
}

#[tokio::test]
async fn custom_level_instances_are_watched_and_audited_as_mainline() {
    let app = TestApp::spawn().await;
    let biz = create_biz(&app, "shop").await;
    // Inserting the level gives every business one instance of it: the cursor's event.
    app.v3_ok(
        Method::POST,
        "/api/v3/create/topomodelmainline",
        json!({"bk_obj_id": "rack", "bk_obj_name": "Rack", "bk_asst_obj_id": "biz",
               "bk_classification_id": "bk_biz_topo", "bk_supplier_account": "0"}),
    )
    .await;
    let cursor = watch_cursor(&app, "mainline_instance", &[]).await;
    app.create_model("sw").await;
    inst(&app, "sw", "plain").await;
    let objects_cursor = watch_cursor(&app, "object_instance", &[]).await;

    let created = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "rack", "bk_biz_id": biz, "bk_parent_id": biz,
                   "bk_inst_name": "r1"}),
        )
        .await;
    let id = id_of(&created, "bk_inst_id");
    app.esb_ok(
        "update_inst",
        json!({"bk_obj_id": "rack", "bk_inst_id": id, "bk_inst_name": "r2"}),
    )
    .await;
    app.esb_ok(
        "delete_inst",
        json!({"bk_obj_id": "rack", "bk_inst_id": id}),
    )
    .await;

    let doc = |name: &str| {
        json!({"bk_obj_id": "rack", "bk_inst_id": id, "bk_inst_name": name, "bk_biz_id": biz,
               "bk_parent_id": biz})
    };
    let events = watch_after(&app, "mainline_instance", &[], &cursor).await;
    assert_events(
        &events,
        &[
            ("create", doc("r1")),
            ("update", doc("r2")),
            ("delete", doc("r2")),
        ],
    );
    // The sub-resource filter names the level's model.
    let filtered = app
        .esb_ok(
            "resource_watch",
            json!({"bk_resource": "mainline_instance", "bk_cursor": cursor,
                   "bk_filter": {"bk_sub_resource": "rack"}}),
        )
        .await;
    assert_eq!(filtered["bk_events"].as_array().map(Vec::len), Some(3));
    // Custom-level instances are not generic instances: after the cursor taken before them,
    // the generic stream holds only the plain instance written after them.
    let marker = inst(&app, "sw", "marker").await;
    let generic = watch_after(&app, "object_instance", &[], &objects_cursor).await;
    assert_events(&generic, &[("create", json!({ "bk_inst_id": marker }))]);

    assert_audit_history(
        &app,
        json!({"resource_type": "mainline_instance", "resource_id": id}),
        json!({"audit_type": "business_resource", "resource_type": "mainline_instance",
               "resource_id": id, "bk_biz_id": biz, "operation_detail": {"bk_obj_id": "rack"}}),
        &crud_steps(
            Some(("r1", "r2")),
            doc("r1"),
            json!({"bk_inst_name": "r2"}),
            doc("r2"),
        ),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn hosts_are_watched_and_audited_with_their_wire_fields() {
    let app = TestApp::spawn().await;
    add_pool_hosts(&app, &["10.0.0.1"]).await;
    let fields = [
        "bk_host_id",
        "bk_host_innerip",
        "bk_host_outerip",
        "operator",
        "bk_host_name",
        "bk_cloud_id",
    ];
    let cursor = watch_cursor(&app, "host", &fields).await;

    let added = app
        .esb_ok(
            "add_host_to_resource_pool",
            json!({"host_info": [{"bk_host_innerip": "10.0.0.2,10.0.0.3", "bk_cloud_id": 0,
                                  "operator": "alice"}]}),
        )
        .await;
    let id = id_of(&added["success"][0], "bk_host_id");
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": id.to_string(), "bk_host_name": "web",
               "bk_host_outerip": "1.1.1.1, 2.2.2.2", "operator": "bob,carol"}),
    )
    .await;
    app.esb_ok("delete_host", json!({"bk_host_id": id.to_string()}))
        .await;

    // List fields are exchanged as comma-joined strings (40-hosts §1), in events and audit
    // records too: the documented host event carries `"bk_host_innerip": "192.168.1.1"`.
    let before = json!({"bk_host_id": id, "bk_host_innerip": "10.0.0.2,10.0.0.3",
                        "bk_host_outerip": "", "operator": "alice", "bk_host_name": "",
                        "bk_cloud_id": 0});
    let after = json!({"bk_host_id": id, "bk_host_innerip": "10.0.0.2,10.0.0.3",
                       "bk_host_outerip": "1.1.1.1,2.2.2.2", "operator": "bob,carol",
                       "bk_host_name": "web", "bk_cloud_id": 0});
    let events = watch_after(&app, "host", &fields, &cursor).await;
    assert_events(
        &events,
        &[
            ("create", before.clone()),
            ("update", after.clone()),
            ("delete", after.clone()),
        ],
    );
    assert_eq!(
        events[0]["bk_detail"], before,
        "projected to the asked fields"
    );

    let name = "10.0.0.2,10.0.0.3";
    assert_audit_history(
        &app,
        json!({"resource_type": "host", "resource_id": id}),
        json!({"audit_type": "host", "resource_type": "host", "resource_id": id,
               "operation_detail": {"bk_obj_id": "host"}}),
        &crud_steps(
            Some((name, name)),
            before,
            json!({"bk_host_name": "web", "bk_host_outerip": "1.1.1.1,2.2.2.2",
                   "operator": "bob,carol"}),
            after,
        ),
    )
    .await;
    app.stop().await;
}

/// One host ↔ module relation row, the documented `host_relation` detail.
fn relation(host: i64, biz: i64, set: i64, module: i64) -> Value {
    json!({"bk_biz_id": biz, "bk_host_id": host, "bk_module_id": module, "bk_set_id": set,
           "bk_supplier_account": "0"})
}

#[tokio::test]
async fn host_relations_are_watched_and_transfers_audited() {
    let app = TestApp::spawn().await;
    let pool = pool_id(&app).await;
    let (pool_set, pool_modules) = idle_pool(&app, pool).await;
    let biz = create_biz(&app, "shop").await;
    let (idle_set, internal) = idle_pool(&app, biz).await;
    let set = create_set(&app, biz, biz, "web").await;
    let module = create_module(&app, biz, set, "nginx").await;
    add_pool_hosts(&app, &["10.0.0.1"]).await;
    let cursor = watch_cursor(&app, "host_relation", &[]).await;

    let host = add_pool_hosts(&app, &["10.0.0.2"]).await[0];
    assign(&app, biz, &[host]).await;
    for (api, mut body) in [
        (
            "transfer_host_module",
            json!({"bk_module_id": [module], "is_increment": false}),
        ),
        ("transfer_host_to_idlemodule", json!({})),
        ("transfer_host_to_resourcemodule", json!({})),
    ] {
        body["bk_biz_id"] = json!(biz);
        body["bk_host_id"] = json!([host]);
        app.esb_ok(api, body).await;
    }
    app.esb_ok("delete_host", json!({"bk_host_id": host.to_string()}))
        .await;

    let in_pool = relation(host, pool, pool_set, pool_modules[0]);
    let in_idle = relation(host, biz, idle_set, internal[0]);
    let in_module = relation(host, biz, set, module);
    // A transfer deletes the rows that go and creates the rows that come; the row is the
    // whole detail.
    let events = watch_after(&app, "host_relation", &[], &cursor).await;
    let expected = [
        ("create", &in_pool),
        ("delete", &in_pool),
        ("create", &in_idle),
        ("delete", &in_idle),
        ("create", &in_module),
        ("delete", &in_module),
        ("create", &in_idle),
        ("delete", &in_idle),
        ("create", &in_pool),
        ("delete", &in_pool),
    ];
    let got: Vec<Value> = events
        .iter()
        .map(|e| json!([e["bk_event_type"], e["bk_detail"]]))
        .collect();
    let want: Vec<Value> = expected.iter().map(|(t, d)| json!([t, d])).collect();
    assert_eq!(got, want);

    // Moves are host records of their own actions (§1), with the relations before and after;
    // leaving a business is recorded for the business left.
    let records = audit_records(
        &app,
        json!({"resource_type": "host", "resource_id": host,
               "action": ["assign_host", "unassign_host", "transfer_host_module"]}),
    )
    .await;
    let moves = [
        ("assign_host", &in_pool, &in_idle),
        ("transfer_host_module", &in_idle, &in_module),
        ("transfer_host_module", &in_module, &in_idle),
        ("unassign_host", &in_idle, &in_pool),
    ];
    assert_eq!(records.len(), moves.len(), "{records:?}");
    for (r, (action, pre, cur)) in records.iter().zip(moves) {
        assert_record(
            r,
            &json!({"audit_type": "host", "resource_type": "host", "action": action,
                    "resource_id": host, "resource_name": "10.0.0.2", "bk_biz_id": biz,
                    "operation_detail": {"details": {"pre_data": {"relations": [pre]},
                                                     "cur_data": {"relations": [cur]}}}}),
        );
    }
    // So the business's own audit list shows the host's whole stay.
    let of_biz = audit_records(&app, json!({"resource_type": "host", "bk_biz_id": biz})).await;
    assert_eq!(of_biz.len(), moves.len(), "{of_biz:?}");
    app.stop().await;
}

#[tokio::test]
async fn cloud_areas_are_watched_and_audited() {
    let app = TestApp::spawn().await;
    app.esb_ok("create_cloud_area", json!({"bk_cloud_name": "Zone-0"}))
        .await;
    let cursor = watch_cursor(&app, "plat", &[]).await;

    let created = app
        .esb_ok(
            "create_cloud_area",
            json!({"bk_cloud_name": "Zone-A", "bk_region": "r1"}),
        )
        .await;
    let id = id_of(&created["created"], "id");
    app.esb_ok(
        "update_cloud_area",
        json!({"bk_cloud_id": id, "bk_cloud_name": "Zone-B"}),
    )
    .await;
    app.esb_ok("delete_cloud_area", json!({"bk_cloud_id": id}))
        .await;

    let doc = |name: &str| {
        json!({"bk_cloud_id": id, "bk_cloud_name": name, "bk_region": "r1",
               "bk_supplier_account": "0"})
    };
    let events = watch_after(&app, "plat", &[], &cursor).await;
    assert_events(
        &events,
        &[
            ("create", doc("Zone-A")),
            ("update", doc("Zone-B")),
            ("delete", doc("Zone-B")),
        ],
    );
    assert_audit_history(
        &app,
        json!({"resource_type": "cloud_area", "resource_id": id}),
        json!({"audit_type": "cloud_resource", "resource_type": "cloud_area",
               "resource_id": id, "bk_biz_id": null}),
        &crud_steps(
            Some(("Zone-A", "Zone-B")),
            doc("Zone-A"),
            json!({"bk_cloud_name": "Zone-B"}),
            doc("Zone-B"),
        ),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn association_kinds_and_model_associations_are_audited() {
    let app = TestApp::spawn().await;
    app.create_model("srv").await;
    app.create_model("sw").await;
    let kind = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/associationtype",
            json!({"bk_asst_id": "backup", "bk_asst_name": "backs up", "src_des": "backs up",
                   "dest_des": "backed up by", "direction": "src_to_dest"}),
        )
        .await;
    let kind_id = id_of(&kind, "id");
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/update/associationtype/{kind_id}"),
        json!({"bk_asst_name": "replicates"}),
    )
    .await;
    let asst = app
        .v3_ok(
            Method::POST,
            "/api/v3/create/objectassociation",
            json!({"bk_obj_asst_id": "srv_backup_sw", "bk_obj_asst_name": "copy",
                   "bk_obj_id": "srv", "bk_asst_obj_id": "sw", "bk_asst_id": "backup",
                   "mapping": "n:n", "on_delete": "none"}),
        )
        .await;
    let asst_id = id_of(&asst, "id");
    app.v3_ok(
        Method::PUT,
        &format!("/api/v3/update/objectassociation/{asst_id}"),
        json!({"bk_obj_asst_name": "mirror"}),
    )
    .await;
    for path in [
        format!("/api/v3/delete/objectassociation/{asst_id}"),
        format!("/api/v3/delete/associationtype/{kind_id}"),
    ] {
        app.v3_ok(Method::DELETE, &path, json!({})).await;
    }

    let kind_doc =
        |name: &str| json!({"id": kind_id, "bk_asst_id": "backup", "bk_asst_name": name});
    assert_audit_history(
        &app,
        json!({"resource_type": "association_kind", "resource_id": kind_id}),
        json!({"audit_type": "association_kind", "resource_type": "association_kind",
               "resource_id": kind_id, "bk_biz_id": null}),
        &crud_steps(
            Some(("backs up", "replicates")),
            kind_doc("backs up"),
            json!({"bk_asst_name": "replicates"}),
            kind_doc("replicates"),
        ),
    )
    .await;

    let asst_doc = |name: &str| {
        json!({"id": asst_id, "bk_obj_asst_id": "srv_backup_sw", "bk_obj_asst_name": name,
               "bk_obj_id": "srv", "bk_asst_obj_id": "sw", "bk_asst_id": "backup",
               "mapping": "n:n"})
    };
    // The spec names no display name for model associations.
    assert_audit_history(
        &app,
        json!({"resource_type": "model_association", "resource_id": asst_id}),
        json!({"audit_type": "model", "resource_type": "model_association",
               "resource_id": asst_id, "bk_biz_id": null,
               "operation_detail": {"bk_obj_id": "srv"}}),
        &crud_steps(
            None,
            asst_doc("copy"),
            json!({"bk_obj_asst_name": "mirror"}),
            asst_doc("mirror"),
        ),
    )
    .await;
    app.stop().await;
}

#[tokio::test]
async fn instance_associations_are_watched_and_audited() {
    let app = TestApp::spawn().await;
    app.create_model("srv").await;
    app.create_model("sw").await;
    for (key, src, dst) in [
        ("srv_connect_sw", "srv", "sw"),
        ("sw_connect_sw", "sw", "sw"),
    ] {
        app.v3_ok(
            Method::POST,
            "/api/v3/create/objectassociation",
            json!({"bk_obj_asst_id": key, "bk_obj_id": src, "bk_asst_obj_id": dst,
                   "bk_asst_id": "connect", "mapping": "n:n", "on_delete": "none"}),
        )
        .await;
    }
    let srv = inst(&app, "srv", "s1").await;
    let sw = inst(&app, "sw", "w1").await;
    let sw2 = inst(&app, "sw", "w2").await;
    let link = |key: &'static str, src: i64, dst: i64| {
        let app = &app;
        async move {
            let data = app
                .esb_ok(
                    "add_instance_association",
                    json!({"bk_obj_asst_id": key, "bk_inst_id": src, "bk_asst_inst_id": dst}),
                )
                .await;
            id_of(&data, "id")
        }
    };
    link("srv_connect_sw", srv, sw2).await;
    let cursor = watch_cursor(&app, "inst_asst", &[]).await;

    let id = link("srv_connect_sw", srv, sw).await;
    app.esb_ok(
        "delete_instance_association",
        json!({"bk_obj_id": "srv", "id": id}),
    )
    .await;
    // A link of an instance to itself goes with the instance: a deletion like any other.
    let self_link = link("sw_connect_sw", sw, sw).await;
    app.esb_ok("delete_inst", json!({"bk_obj_id": "sw", "bk_inst_id": sw}))
        .await;

    // The detail is the link row.
    let row = |id: i64, key: &str, src: (&str, i64), dst: (&str, i64)| {
        json!({"id": id, "bk_obj_asst_id": key, "bk_asst_id": "connect", "bk_obj_id": src.0,
               "bk_inst_id": src.1, "bk_asst_obj_id": dst.0, "bk_asst_inst_id": dst.1,
               "bk_supplier_account": "0"})
    };
    let first = row(id, "srv_connect_sw", ("srv", srv), ("sw", sw));
    let second = row(self_link, "sw_connect_sw", ("sw", sw), ("sw", sw));
    let events = watch_after(&app, "inst_asst", &[], &cursor).await;
    assert_events(
        &events,
        &[
            ("create", first.clone()),
            ("delete", first),
            ("create", second.clone()),
            ("delete", second),
        ],
    );
    // The sub-resource filter names the source model.
    let filtered = app
        .esb_ok(
            "resource_watch",
            json!({"bk_resource": "inst_asst", "bk_cursor": cursor,
                   "bk_filter": {"bk_sub_resource": "srv"}}),
        )
        .await;
    assert_eq!(filtered["bk_events"].as_array().map(Vec::len), Some(2));

    // Records are named after the source instance; the detail names both ends, the model
    // association (`asst_id`) and its kind (`asst_kind`) (§1).
    let detail = |key: &str, src: (&str, i64, &str), dst: (&str, i64, &str)| {
        json!({"src_obj_id": src.0, "src_inst_id": src.1, "src_inst_name": src.2,
               "dest_obj_id": dst.0, "dest_inst_id": dst.1, "dest_inst_name": dst.2,
               "asst_id": key, "asst_kind": "connect"})
    };
    let first = detail("srv_connect_sw", ("srv", srv, "s1"), ("sw", sw, "w1"));
    let second = detail("sw_connect_sw", ("sw", sw, "w1"), ("sw", sw, "w1"));
    let records = audit_records(&app, json!({"resource_type": "instance_association"})).await;
    let records: Vec<&Value> = records
        .iter()
        .filter(|r| r["resource_id"] == json!(id) || r["resource_id"] == json!(self_link))
        .collect();
    let expected = [
        ("create", id, &first),
        ("delete", id, &first),
        ("create", self_link, &second),
        ("delete", self_link, &second),
    ];
    assert_eq!(records.len(), expected.len(), "{records:?}");
    for (r, (action, link_id, detail)) in records.into_iter().zip(expected) {
        assert_record(
            r,
            &json!({"audit_type": "model_instance", "resource_type": "instance_association",
                    "action": action, "resource_id": link_id,
                    "resource_name": detail["src_inst_name"], "bk_biz_id": null,
                    "operation_detail": detail}),
        );
    }
    app.stop().await;
}

/// Deleting an attribute removes its field from every instance: each instance that had it is
/// announced by an update event without it (as upstream's change stream does for its
/// `$unset`), in the kind of its model (hosts in their wire form); instances whose documents
/// never had the field are not announced.
#[tokio::test]
async fn deleting_an_attribute_announces_every_instance_that_had_it() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    // Made before the attributes exist, so their documents never had the fields; instances made
    // after carry every attribute of their model (null when not given), as upstream's do.
    inst(&app, "sw", "sw-older").await;
    let hosts = add_pool_hosts(&app, &["10.9.0.1", "10.9.0.2"]).await;
    let port = app.create_attr("sw", "port", "singlechar", json!({})).await;
    let mut with = Vec::new();
    for (name, value) in [("sw-a", "p1"), ("sw-b", "p2")] {
        let created = app
            .esb_ok(
                "create_inst",
                json!({"bk_obj_id": "sw", "bk_inst_name": name, "port": value}),
            )
            .await;
        with.push(id_of(&created, "bk_inst_id"));
    }
    let rack = app
        .create_attr("host", "rack", "singlechar", json!({}))
        .await;
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": hosts[0].to_string(), "rack": "r1"}),
    )
    .await;
    let instances = watch_cursor(&app, "object_instance", &[]).await;
    let host_fields = ["bk_host_id", "bk_host_innerip", "rack"];
    let host_cursor = watch_cursor(&app, "host", &host_fields).await;

    app.esb_ok("delete_object_attribute", json!({"id": id_of(&port, "id")}))
        .await;
    app.esb_ok("delete_object_attribute", json!({"id": id_of(&rack, "id")}))
        .await;

    let events = watch_after(&app, "object_instance", &[], &instances).await;
    assert_events(
        &events,
        &[
            (
                "update",
                json!({"bk_inst_id": with[0], "bk_inst_name": "sw-a"}),
            ),
            (
                "update",
                json!({"bk_inst_id": with[1], "bk_inst_name": "sw-b"}),
            ),
        ],
    );
    let events = watch_after(&app, "host", &host_fields, &host_cursor).await;
    assert_events(
        &events,
        &[(
            "update",
            json!({"bk_host_id": hosts[0], "bk_host_innerip": "10.9.0.1"}),
        )],
    );
    for e in &events {
        assert!(e["bk_detail"].get("rack").is_none(), "{e}");
    }
    let stored = app
        .esb_ok("search_inst", json!({"bk_obj_id": "sw", "condition": {}}))
        .await;
    let info = stored["info"].as_array().expect("info");
    assert_eq!(info.len(), 3, "{stored}");
    assert!(info.iter().all(|i| i.get("port").is_none()), "{stored}");
    app.stop().await;
}
