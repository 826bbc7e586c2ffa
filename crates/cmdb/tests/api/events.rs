//! 60-audit-events.md: list_operation_audit, find_audit_by_id and resource_watch (its three
//! modes, filters, projection, errors, retention), and the event chain's promise: a consumer
//! following cursors sees every committed write once, in commit order. What each resource
//! kind's writes record and emit is checked kind by kind in `events_by_kind.rs`.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::{today_range, Retention, TestApp};

/// list_operation_audit over the test's time range with extra `condition` fields.
pub(crate) async fn audit_list(app: &TestApp, condition: Value) -> Value {
    let mut cond = condition;
    cond["operation_time"] = today_range();
    app.esb_ok(
        "list_operation_audit",
        json!({"page": {"start": 0, "limit": 200, "sort": "-operation_time"}, "condition": cond}),
    )
    .await
}

async fn watch(app: &TestApp, body: Value) -> Value {
    app.esb_ok("resource_watch", body).await
}

#[tokio::test]
async fn audit_filters_paging_and_errors() {
    let app = TestApp::spawn().await;
    app.create_model("db").await;
    for i in 0..5 {
        app.esb_ok(
            "create_inst",
            json!({"bk_obj_id": "db", "bk_inst_name": format!("db-{i}")}),
        )
        .await;
    }
    // Model metadata is audited too, under another type.
    let models = audit_list(&app, json!({"resource_type": "model"})).await;
    assert!(
        models["info"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["resource_name"] == "db" || r["resource_id"].is_number()),
        "{models}"
    );
    let all = audit_list(&app, json!({"bk_obj_id": "db", "action": ["create"]})).await;
    assert_eq!(
        all["count"],
        json!(6),
        "the model's own record and 5 instances: {all}"
    );
    for (page, want, why) in [
        (
            json!({"start": 1, "limit": 2, "sort": "operation_time"}),
            ["db-1", "db-2"],
            "oldest first, skipping one",
        ),
        (
            json!({"start": 0, "limit": 2}),
            ["db-4", "db-3"],
            "newest first by default",
        ),
    ] {
        let found = app
            .esb_ok(
                "list_operation_audit",
                json!({"page": page, "condition": {"operation_time": today_range(),
                                                   "resource_type": "model_instance"}}),
            )
            .await;
        assert_eq!(found["count"], json!(5));
        let names: Vec<&str> = found["info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["resource_name"].as_str().unwrap())
            .collect();
        assert_eq!(names, want, "{why}");
    }
    let fuzzy = audit_list(
        &app,
        json!({"resource_name": "db-", "fuzzy_query": true, "resource_type": "model_instance"}),
    )
    .await;
    assert_eq!(fuzzy["count"], json!(5));
    let exact = audit_list(
        &app,
        json!({"resource_name": "db-3", "resource_type": "model_instance"}),
    )
    .await;
    assert_eq!(exact["count"], json!(1));
    let cond = audit_list(
        &app,
        json!({"resource_type": "model_instance",
               "condition": [{"field": "resource_name", "operator": "in", "value": ["db-1", "db-4"]}]}),
    )
    .await;
    assert_eq!(cond["count"], json!(2));
    let contains = audit_list(
        &app,
        json!({"resource_type": "model_instance",
               "condition": [{"field": "user", "operator": "contains", "value": "adm"}]}),
    )
    .await;
    assert_eq!(contains["count"], json!(5));
    let nobody = audit_list(&app, json!({"user": "nobody"})).await;
    assert_eq!(nobody["count"], json!(0));
    let other = audit_list(&app, json!({"category": "other"})).await;
    assert!(other["info"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["audit_type"] == "model" || r["audit_type"] == "association_kind"));
    let resource = audit_list(&app, json!({"category": "resource", "bk_obj_id": "db"})).await;
    assert_eq!(resource["count"], json!(5));

    let body =
        |limit: i64, cond: Value| json!({"page": {"start": 0, "limit": limit}, "condition": cond});
    let time = json!({"operation_time": today_range()});
    app.esb_err("list_operation_audit", body(0, time.clone()), 1199006)
        .await;
    app.esb_err("list_operation_audit", body(201, time.clone()), 1199059)
        .await;
    let env = app
        .esb_err("list_operation_audit", body(10, json!({})), 1199010)
        .await;
    assert!(
        env["message"].as_str().unwrap().contains("operation_time"),
        "{env}"
    );
    let mut both = time.clone();
    both["user"] = json!("admin");
    both["condition"] = json!([{"field": "user", "operator": "in", "value": ["admin"]}]);
    app.esb_err("list_operation_audit", body(10, both), 1199006)
        .await;
    app.esb_err("find_audit_by_id", json!({"id": [987654321]}), 1199011)
        .await;
    app.stop().await;
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

#[tokio::test]
async fn watch_modes_filters_and_projection() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    app.create_model("fw").await;

    // From now, before anything of the resource happened: NoEventCursor, not watched.
    let data = watch(&app, json!({"bk_resource": "object_instance"})).await;
    assert_eq!(data["bk_watched"], json!(false), "{data}");
    let ev = &data["bk_events"][0];
    assert_eq!(
        ev["bk_cursor"],
        "MQ0xDTVlYTZkM2YzOTRjMWY1ZDk4NmU5YmQ4Ng1ub0V2ZW50DTENMQ=="
    );
    assert_eq!(ev["bk_resource"], "object_instance");
    assert_eq!(ev["bk_event_type"], "");
    assert_eq!(ev["bk_detail"], Value::Null);

    let a = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "sw", "bk_inst_name": "a"}),
        )
        .await;
    // From now: the latest event, with its cursor.
    let data = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_fields": ["bk_inst_id", "bk_inst_name"]}),
    )
    .await;
    assert_eq!(data["bk_watched"], json!(true), "{data}");
    let ev = &data["bk_events"][0];
    assert_eq!(ev["bk_event_type"], "create");
    assert_eq!(
        ev["bk_detail"],
        json!({"bk_inst_id": a["bk_inst_id"], "bk_inst_name": "a"})
    );
    let c1 = ev["bk_cursor"].as_str().unwrap().to_string();

    // Cursor: the long poll answers as soon as a matching write commits.
    let app2 = app.base.clone();
    let writer = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let client = reqwest::Client::new();
        let auth = json!({"bk_app_code": crate::common::APP_CODE,
                          "bk_app_secret": crate::common::APP_SECRET, "bk_username": "admin"});
        client
            .post(format!("{app2}/api/c/compapi/v2/cc/create_inst/"))
            .header("X-Bkapi-Authorization", auth.to_string())
            .json(&json!({"bk_obj_id": "sw", "bk_inst_name": "b"}))
            .send()
            .await
            .unwrap();
    });
    let started = Instant::now();
    let data = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_cursor": c1}),
    )
    .await;
    let waited = started.elapsed();
    writer.await.unwrap();
    assert_eq!(data["bk_watched"], json!(true), "{data}");
    assert!(
        waited >= Duration::from_millis(250),
        "it waited: {waited:?}"
    );
    assert!(waited < Duration::from_secs(5), "it woke up: {waited:?}");
    let events = data["bk_events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["bk_detail"]["bk_inst_name"], "b");
    assert_eq!(events[0]["bk_detail"]["bk_obj_id"], "sw", "whole document");
    let c2 = events[0]["bk_cursor"].as_str().unwrap().to_string();

    // Types and sub-resource filters; several events in chain order.
    let f = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "fw", "bk_inst_name": "f"}),
        )
        .await;
    let b_id = events[0]["bk_detail"]["bk_inst_id"].clone();
    app.esb_ok(
        "update_inst",
        json!({"bk_obj_id": "sw", "bk_inst_id": b_id, "bk_inst_name": "b2"}),
    )
    .await;
    app.esb_ok(
        "delete_inst",
        json!({"bk_obj_id": "fw", "bk_inst_id": f["bk_inst_id"]}),
    )
    .await;
    let all = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_cursor": c2}),
    )
    .await;
    let kinds: Vec<(String, String)> = all["bk_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["bk_event_type"].as_str().unwrap().to_string(),
                e["bk_detail"]["bk_obj_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("create".to_string(), "fw".to_string()),
            ("update".to_string(), "sw".to_string()),
            ("delete".to_string(), "fw".to_string())
        ]
    );
    let deleted = &all["bk_events"][2]["bk_detail"];
    assert_eq!(deleted["bk_inst_name"], "f", "the document before deletion");
    let only_sw = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_cursor": c2,
               "bk_filter": {"bk_sub_resource": "sw"}}),
    )
    .await;
    assert_eq!(only_sw["bk_events"].as_array().unwrap().len(), 1);
    assert_eq!(only_sw["bk_events"][0]["bk_event_type"], "update");
    let only_deletes = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_cursor": c2, "bk_event_types": ["delete"]}),
    )
    .await;
    assert_eq!(only_deletes["bk_events"].as_array().unwrap().len(), 1);
    assert_eq!(only_deletes["bk_events"][0]["bk_detail"]["bk_obj_id"], "fw");

    // From now, the latest event filtered out: not watched, but its cursor to move on.
    let latest = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_event_types": ["create"]}),
    )
    .await;
    assert_eq!(latest["bk_watched"], json!(false));
    let moved = latest["bk_events"][0]["bk_cursor"].as_str().unwrap();
    assert_eq!(moved, all["bk_events"][2]["bk_cursor"].as_str().unwrap());

    // Start time: everything of the last minute.
    let since = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_start_from": now_secs() - 60}),
    )
    .await;
    assert_eq!(since["bk_watched"], json!(true));
    assert_eq!(since["bk_events"].as_array().unwrap().len(), 5);

    // Cursors are strictly increasing along the chain.
    let cursors: Vec<&str> = since["bk_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["bk_cursor"].as_str().unwrap())
        .collect();
    assert_eq!(cursors.iter().collect::<HashSet<_>>().len(), 5);
    app.stop().await;
}

#[tokio::test]
async fn watch_request_errors() {
    let app = TestApp::spawn().await;
    app.create_model("sw").await;
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "sw", "bk_inst_name": "a"}),
    )
    .await;
    let latest = watch(&app, json!({"bk_resource": "object_instance"})).await;
    let cursor = latest["bk_events"][0]["bk_cursor"].clone();
    for (body, code) in [
        (json!({"bk_resource": "switches"}), 1199998),
        (json!({"bk_resource": "host"}), 1199998),
        (
            json!({"bk_resource": "object_instance", "bk_event_types": ["created"]}),
            1199998,
        ),
        (
            json!({"bk_resource": "object_instance", "bk_cursor": cursor, "bk_start_from": now_secs()}),
            1199998,
        ),
        (
            json!({"bk_resource": "biz", "bk_fields": ["bk_biz_id"], "bk_filter": {"bk_sub_resource": "sw"}}),
            1199998,
        ),
        (
            json!({"bk_resource": "object_instance", "bk_cursor": "not-a-cursor"}),
            1199998,
        ),
        (
            json!({"bk_resource": "object_instance", "bk_start_from": now_secs() - 8 * 86_400}),
            1199006,
        ),
        (
            json!({"bk_resource": "object_instance", "bk_start_from": now_secs() + 3600}),
            1199006,
        ),
        // A cursor of an event that never existed (far beyond the chain).
        (
            json!({"bk_resource": "object_instance",
                   "bk_cursor": "MQ04DTAwMDAwMDAwMDAwMDAwMDAwMDAwMGZmZg1pbnNlcnQNMQ0x"}),
            1103007,
        ),
    ] {
        let started = Instant::now();
        let env = app.esb_err("resource_watch", body.clone(), code).await;
        assert!(
            started.elapsed() >= Duration::from_millis(450),
            "errors are held back 500 ms: {body}"
        );
        assert!(!env["message"].as_str().unwrap().is_empty(), "{env}");
    }
    app.stop().await;
}

/// A write that rolls back leaves no event; a cursor older than retention is refused as
/// expired (1103007) once the pruner has removed the events after it.
#[tokio::test]
async fn rolled_back_writes_leave_no_event_and_expired_cursors_are_refused() {
    let app = TestApp::spawn_with(Retention {
        events: Duration::from_secs(1),
        audit: Duration::from_secs(3600),
    })
    .await;
    app.create_model("sw").await;
    // New models have the unique rule on bk_inst_name.
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "sw", "bk_inst_name": "a"}),
    )
    .await;
    let before = watch(&app, json!({"bk_resource": "object_instance"})).await;
    let cursor = before["bk_events"][0]["bk_cursor"].clone();
    // Same unique name: refused, rolled back.
    let env = app
        .esb(
            "create_inst",
            json!({"bk_obj_id": "sw", "bk_inst_name": "a"}),
        )
        .await;
    assert_eq!(env["result"], json!(false), "{env}");
    let after = watch(&app, json!({"bk_resource": "object_instance"})).await;
    assert_eq!(after["bk_events"][0]["bk_cursor"], cursor, "no new event");

    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "sw", "bk_inst_name": "b"}),
    )
    .await;
    // Retention 1 s, pruner every 100 ms: both events go, and the cursor before "b" with them.
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let env = app
            .esb(
                "resource_watch",
                json!({"bk_resource": "object_instance", "bk_cursor": cursor}),
            )
            .await;
        if env["code"] == json!(1103007) {
            assert_eq!(env["result"], json!(false));
            break;
        }
        assert_eq!(env["result"], json!(true), "{env}");
        assert!(Instant::now() < deadline, "the cursor never expired: {env}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Audit records are kept for their own, longer period.
    let audit = audit_list(&app, json!({"resource_type": "model_instance"})).await;
    assert_eq!(audit["count"], json!(2));
    app.stop().await;
}

/// 8 writers create and update instances concurrently while a consumer follows cursors: it sees
/// every committed write exactly once, each instance's events in the order they happened.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_consumer_following_cursors_sees_every_write_once_in_order() {
    let app = TestApp::spawn().await;
    app.create_model("ev").await;
    // A real cursor to start from: NoEventCursor would mean "from whenever the first watch
    // arrives", and writers may already have committed by then.
    app.esb_ok(
        "create_inst",
        json!({"bk_obj_id": "ev", "bk_inst_name": "start"}),
    )
    .await;
    let first = watch(&app, json!({"bk_resource": "object_instance"})).await;
    assert_eq!(first["bk_watched"], json!(true));
    let mut cursor = first["bk_events"][0]["bk_cursor"]
        .as_str()
        .unwrap()
        .to_string();
    let base = app.base.clone();
    let failures = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut writers = Vec::new();
    for w in 0..8 {
        let base = base.clone();
        let failures = failures.clone();
        writers.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let auth = json!({"bk_app_code": crate::common::APP_CODE,
                              "bk_app_secret": crate::common::APP_SECRET, "bk_username": "admin"})
            .to_string();
            let post = |name: &'static str, body: Value| {
                let request = client
                    .post(format!("{base}/api/c/compapi/v2/cc/{name}/"))
                    .header("X-Bkapi-Authorization", &auth)
                    .json(&body);
                async move {
                    let env: Value = request.send().await.unwrap().json().await.unwrap();
                    if env["result"] == json!(true) {
                        Ok(env)
                    } else {
                        Err(env)
                    }
                }
            };
            let mut done = Vec::new();
            for i in 0..25 {
                let created = post(
                    "create_inst",
                    json!({"bk_obj_id": "ev", "bk_inst_name": format!("w{w}-{i}")}),
                )
                .await;
                let id = match created {
                    Ok(env) => env["data"]["bk_inst_id"].as_i64().unwrap(),
                    Err(env) => {
                        failures.lock().unwrap().push(format!("create: {env}"));
                        return done;
                    }
                };
                done.push((id, "create".to_string()));
                let updated = post(
                    "update_inst",
                    json!({"bk_obj_id": "ev", "bk_inst_id": id, "bk_inst_name": format!("w{w}-{i}-u")}),
                )
                .await;
                if let Err(env) = updated {
                    failures.lock().unwrap().push(format!("update: {env}"));
                    return done;
                }
                done.push((id, "update".to_string()));
            }
            done
        }));
    }
    let expected_total = 8 * 25 * 2;
    let mut seen: Vec<(i64, String, String)> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < expected_total {
        let failed: Vec<String> = failures.lock().unwrap().clone();
        assert!(failed.is_empty(), "writes failed: {failed:?}");
        assert!(
            Instant::now() < deadline,
            "consumer stalled at {}",
            seen.len()
        );
        let data = watch(
            &app,
            json!({"bk_resource": "object_instance", "bk_cursor": cursor,
                   "bk_fields": ["bk_inst_id", "bk_inst_name"]}),
        )
        .await;
        let events = data["bk_events"].as_array().unwrap();
        cursor = events.last().unwrap()["bk_cursor"]
            .as_str()
            .unwrap()
            .to_string();
        if data["bk_watched"] == json!(false) {
            continue;
        }
        for e in events {
            seen.push((
                e["bk_detail"]["bk_inst_id"].as_i64().unwrap(),
                e["bk_event_type"].as_str().unwrap().to_string(),
                e["bk_detail"]["bk_inst_name"].as_str().unwrap().to_string(),
            ));
        }
    }
    let mut expected = HashSet::new();
    for w in writers {
        for item in w.await.unwrap() {
            expected.insert(item);
        }
    }
    let mut twice = Vec::new();
    for (n, item) in seen.iter().enumerate() {
        if seen[..n].contains(item) {
            twice.push(item.clone());
        }
    }
    assert!(twice.is_empty(), "seen twice: {twice:?}");
    assert_eq!(seen.len(), expected_total, "nothing twice");
    let got: HashSet<(i64, String)> = seen.iter().map(|(i, t, _)| (*i, t.clone())).collect();
    assert_eq!(got, expected, "exactly the committed writes");
    // Per instance: the create comes before the update, and carries the first name.
    for (id, kind, name) in &seen {
        let pos = |t: &str| seen.iter().position(|(i, k, _)| i == id && k == t).unwrap();
        assert!(pos("create") < pos("update"), "instance {id}");
        assert_eq!(kind == "update", name.ends_with("-u"), "{id} {kind} {name}");
    }
    // Nothing more is pending.
    let tail = watch(
        &app,
        json!({"bk_resource": "object_instance", "bk_start_from": now_secs() - 300}),
    )
    .await;
    assert_eq!(tail["bk_watched"], json!(true));
    app.stop().await;
}
