//! 00-protocol.md: routes, credentials, envelope, errors, limits.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::{TestApp, APP_CODE, APP_SECRET};

#[tokio::test]
async fn healthz_and_livez_answer_when_ready() {
    let app = TestApp::spawn().await;
    for path in ["healthz", "livez"] {
        let resp = app
            .client
            .get(format!("{}/{path}", app.base))
            .send()
            .await
            .expect(path);
        assert_eq!(resp.status(), 200, "{path}");
        assert_eq!(resp.text().await.expect(path), "ok", "{path}");
    }
    app.stop().await;
}

#[tokio::test]
async fn esb_envelope_has_every_key_and_echoes_request_id() {
    let app = TestApp::spawn().await;
    let resp = app
        .client
        .post(format!(
            "{}/api/c/compapi/v2/cc/search_classifications/",
            app.base
        ))
        .header(
            "x-bkapi-authorization",
            json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
                .to_string(),
        )
        .header("x-request-id", "e43da4ef221746868dc4c837d36f3807")
        .body("{}")
        .send()
        .await
        .expect("call");
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["x-request-id"],
        "e43da4ef221746868dc4c837d36f3807"
    );
    let env: Value = resp.json().await.expect("json");
    for key in [
        "result",
        "code",
        "message",
        "permission",
        "request_id",
        "data",
    ] {
        assert!(env.get(key).is_some(), "missing {key}: {env}");
    }
    assert_eq!(env["request_id"], "e43da4ef221746868dc4c837d36f3807");
    assert_eq!(env["message"], "success");
    assert_eq!(env["permission"], Value::Null);
    assert!(env["data"].as_array().is_some_and(|a| a.len() >= 5));
    app.stop().await;
}

#[tokio::test]
async fn generated_request_id_is_32_hex() {
    let app = TestApp::spawn().await;
    let env = app.esb("search_classifications", json!({})).await;
    let rid = env["request_id"].as_str().expect("rid");
    assert_eq!(rid.len(), 32);
    assert!(rid.chars().all(|c| c.is_ascii_hexdigit()));
    app.stop().await;
}

#[tokio::test]
async fn credentials_in_body_work_and_without_trailing_slash() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/c/compapi/v2/cc/search_objects",
        "/api/c/compapi/v2/cc/search_objects/",
        "/api/c/compapi/cc/search_objects/",
    ] {
        let resp = app
            .client
            .post(format!("{}{path}", app.base))
            .json(&json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin", "bk_obj_id": "host"}))
            .send()
            .await
            .expect("call");
        let raw = TestApp::raw(resp).await;
        assert_eq!(raw.status, 200, "{path}");
        assert_eq!(raw.body["result"], json!(true), "{path}: {}", raw.body);
        assert_eq!(raw.body["data"].as_array().map(Vec::len), Some(1));
        assert_eq!(raw.body["data"][0]["bk_obj_id"], "host");
    }
    app.stop().await;
}

#[tokio::test]
async fn missing_wrong_and_userless_credentials_are_401() {
    let app = TestApp::spawn().await;
    let raw = app.esb_raw("search_objects", None, "{}").await;
    assert_eq!(raw.status, 401);
    assert_eq!(raw.body["code"], json!(1199027));
    assert_eq!(
        raw.body["message"],
        "'bk_app_code' authorization information query failed"
    );
    assert_eq!(raw.headers["x-bkapi-error-code"], "1640001");

    let wrong = json!({"bk_app_code": APP_CODE, "bk_app_secret": "nope", "bk_username": "admin"})
        .to_string();
    let raw = app.esb_raw("search_objects", Some(wrong), "{}").await;
    assert_eq!(raw.status, 401);
    assert_eq!(raw.body["message"], "app authentication failed");

    let unknown =
        json!({"bk_app_code": "other", "bk_app_secret": APP_SECRET, "bk_username": "admin"})
            .to_string();
    assert_eq!(
        app.esb_raw("search_objects", Some(unknown), "{}")
            .await
            .status,
        401
    );

    let no_user = json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET}).to_string();
    let raw = app.esb_raw("search_objects", Some(no_user), "{}").await;
    assert_eq!(raw.status, 401);
    assert_eq!(
        raw.body["message"],
        "'bk_username' authorization information query failed"
    );
    app.stop().await;
}

#[tokio::test]
async fn refused_credentials_touch_no_data() {
    let app = TestApp::spawn().await;
    let wrong = json!({"bk_app_code": APP_CODE, "bk_app_secret": "bad", "bk_username": "admin"})
        .to_string();
    let body =
        json!({"bk_classification_id": "sneaky", "bk_classification_name": "Sneaky"}).to_string();
    assert_eq!(
        app.esb_raw("create_classification", Some(wrong), &body)
            .await
            .status,
        401
    );
    let found = app
        .esb_ok(
            "search_classifications",
            json!({"bk_classification_id": "sneaky"}),
        )
        .await;
    assert_eq!(found, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn unknown_api_is_404_with_envelope() {
    let app = TestApp::spawn().await;
    let raw = app.esb_raw("no_such_api", None, "{}").await;
    assert_eq!(raw.status, 404);
    assert_eq!(raw.body["result"], json!(false));
    assert_eq!(raw.body["code"], json!(1199003));
    assert_eq!(raw.body["message"], "api no_such_api not found");
    app.stop().await;
}

#[tokio::test]
async fn malformed_json_and_non_object_bodies_are_1199000() {
    let app = TestApp::spawn().await;
    let auth =
        json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
            .to_string();
    for body in ["{not json", "[1,2]", "\"text\""] {
        let raw = app
            .esb_raw("create_classification", Some(auth.clone()), body)
            .await;
        assert_eq!(raw.status, 200, "{body}");
        assert_eq!(raw.body["code"], json!(1199000), "{body}: {}", raw.body);
        assert_eq!(raw.body["result"], json!(false));
    }
    app.stop().await;
}

#[tokio::test]
async fn oversized_body_is_413_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let auth =
        json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
            .to_string();
    let big = "x".repeat(11 * 1024 * 1024);
    let body = json!({"bk_classification_id": "huge", "bk_classification_name": "Huge", "bk_classification_icon": big}).to_string();
    let raw = app
        .esb_raw("create_classification", Some(auth), &body)
        .await;
    assert_eq!(raw.status, 413);
    assert_eq!(raw.body["code"], json!(1199003));
    let found = app
        .esb_ok(
            "search_classifications",
            json!({"bk_classification_id": "huge"}),
        )
        .await;
    assert_eq!(found, json!([]));
    app.stop().await;
}

#[tokio::test]
async fn messages_follow_language_headers() {
    let app = TestApp::spawn().await;
    let auth =
        json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
            .to_string();
    let send = |lang: Option<&'static str>| {
        let mut req = app
            .client
            .post(format!(
                "{}/api/c/compapi/v2/cc/create_classification/",
                app.base
            ))
            .header("x-bkapi-authorization", auth.clone())
            .body("{}");
        if let Some(l) = lang {
            req = req.header("blueking-language", l);
        }
        req.send()
    };
    let en: Value = send(Some("en"))
        .await
        .expect("en")
        .json()
        .await
        .expect("json");
    assert_eq!(en["message"], "'bk_classification_id' unassigned");
    let zh: Value = send(Some("zh-cn"))
        .await
        .expect("zh")
        .json()
        .await
        .expect("json");
    assert_eq!(zh["code"], json!(1199010));
    assert_eq!(zh["message"], "'bk_classification_id' 未赋值");
    let accept: Value = app
        .client
        .post(format!(
            "{}/api/c/compapi/v2/cc/create_classification/",
            app.base
        ))
        .header("x-bkapi-authorization", auth.clone())
        .header("accept-language", "en-US,en;q=0.9")
        .body("{}")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(accept["message"], "'bk_classification_id' unassigned");
    app.stop().await;
}

#[tokio::test]
async fn get_requests_take_parameters_from_the_query_string() {
    let app = TestApp::spawn().await;
    let url = format!(
        "{}/api/c/compapi/v2/cc/search_objects/?bk_app_code={APP_CODE}&bk_app_secret={APP_SECRET}&bk_username=admin&bk_obj_id=biz",
        app.base
    );
    let env: Value = app
        .client
        .get(url)
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(env["result"], json!(true), "{env}");
    assert_eq!(env["data"][0]["bk_obj_id"], "biz");
    app.stop().await;
}

#[tokio::test]
async fn v3_routes_require_app_credentials_and_identity() {
    let app = TestApp::spawn().await;
    let url = format!("{}/api/v3/find/object", app.base);
    let raw = TestApp::raw(
        app.client
            .post(&url)
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(
        raw.status, 401,
        "v3 without credentials must be refused: {}",
        raw.body
    );

    let creds = json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET}).to_string();
    let raw = TestApp::raw(
        app.client
            .post(&url)
            .header("x-bkapi-authorization", creds.clone())
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(raw.status, 500);
    assert_eq!(raw.body["bk_error_code"], json!(1199027));
    assert_eq!(
        raw.body["bk_error_msg"],
        "'user' authorization information query failed"
    );

    let raw = TestApp::raw(
        app.client
            .post(&url)
            .header("x-bkapi-authorization", creds.clone())
            .header("BK_User", "admin")
            .json(&json!({}))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(raw.status, 500);
    assert_eq!(
        raw.body["bk_error_msg"],
        "'owner_id' authorization information query failed"
    );

    let data = app
        .v3_ok(
            Method::POST,
            "/api/v3/find/object",
            json!({"bk_obj_id": "set"}),
        )
        .await;
    assert_eq!(data[0]["bk_obj_id"], "set");
    app.stop().await;
}

#[tokio::test]
async fn v3_unknown_route_is_404_with_code_minus_one() {
    let app = TestApp::spawn().await;
    let raw = TestApp::raw(
        app.client
            .post(format!("{}/api/v3/nope", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(raw.status, 404);
    assert_eq!(raw.body["bk_error_code"], json!(-1));
    let raw = TestApp::raw(
        app.client
            .get(format!("{}/api/v3/find/object", app.base))
            .send()
            .await
            .expect("send"),
    )
    .await;
    assert_eq!(raw.status, 405);
    assert_eq!(raw.body["bk_error_code"], json!(-1));
    app.stop().await;
}

#[tokio::test]
async fn every_route_of_the_table_answers_on_esb_and_v3() {
    // Each ESB name reaches its handler (a handler error is fine; a 404 is not).
    let app = TestApp::spawn().await;
    for route in cmdb_api::routes::table::ROUTES {
        if let Some(name) = route.esb {
            let env = app.esb(name, json!({})).await;
            // An unknown name is 1199003 `api <name> not found`; a handler may answer 1199003
            // itself (delete_related_inst_asso without ids), but never with that message.
            let unrouted = env["code"] == json!(1199003)
                && env["message"] == json!(format!("api {name} not found"));
            assert!(!unrouted, "{name} not routed: {env}");
        }
        let path = route
            .path
            .split('/')
            .map(|seg| match seg {
                "{bk_obj_id}" => "nosuch",
                "{bk_supplier_account}" => "0",
                "{scope_type}" => "global",
                s if s.starts_with('{') => "1",
                s => s,
            })
            .collect::<Vec<_>>()
            .join("/");
        let resp = app
            .client
            .request(route.method.clone(), format!("{}{path}", app.base))
            .header("x-bkapi-authorization", json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"}).to_string())
            .header("x-bkcmdb-supplier-account", "0")
            .json(&json!({}))
            .send()
            .await
            .expect("send");
        assert_eq!(resp.status(), 200, "{} {path}", route.method);
    }
    app.stop().await;
}

#[tokio::test]
async fn database_url_selects_the_sqlite_file() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("nested").join("my.db");
    let config = cmdb::ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data: dir.path().join("unused"),
        database: Some(format!("sqlite://{}", file.display())),
        apps: vec![format!("{APP_CODE}:{APP_SECRET}")],
        event_retention: std::time::Duration::from_secs(7 * 86_400),
        audit_retention: std::time::Duration::from_secs(180 * 86_400),
        pg_pool_size: cmdb::DEFAULT_PG_POOL_SIZE,
    };
    let app = cmdb::App::build(config).await.expect("builds");
    assert!(file.exists(), "sqlite:// URL wins over --data");
    assert!(!dir.path().join("unused").join("cmdb.sqlite3").exists());
    drop(app);

    let bad = cmdb::ServeConfig {
        listen: "127.0.0.1:0".parse().expect("addr"),
        data: dir.path().to_path_buf(),
        database: Some("mysql://x".into()),
        apps: vec![format!("{APP_CODE}:{APP_SECRET}")],
        event_retention: std::time::Duration::from_secs(7 * 86_400),
        audit_retention: std::time::Duration::from_secs(180 * 86_400),
        pg_pool_size: cmdb::DEFAULT_PG_POOL_SIZE,
    };
    assert!(cmdb::App::build(bad).await.is_err());
}
