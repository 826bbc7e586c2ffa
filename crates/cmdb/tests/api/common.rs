//! The test harness: `TestApp::spawn()` builds the real `App` from the `cmdb` library on
//! 127.0.0.1:0 with a fresh temporary data directory, and offers typed helpers for the ESB and
//! v3 surfaces that return parsed envelopes.

use std::path::PathBuf;

use cmdb::{App, ServeConfig};
use reqwest::header::HeaderMap;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// App code configured for every test app.
pub const APP_CODE: &str = "test-app";
/// Its secret.
pub const APP_SECRET: &str = "test-secret";

/// The PostgreSQL server to run on, when `CMDB_TEST_BACKEND=postgres` (its URL comes from
/// `CMDB_TEST_POSTGRES_URL`); `None` runs on the embedded SQLite store.
pub fn postgres_admin_url() -> Option<String> {
    match std::env::var("CMDB_TEST_BACKEND").as_deref() {
        Ok("postgres") => Some(
            std::env::var("CMDB_TEST_POSTGRES_URL")
                .expect("CMDB_TEST_BACKEND=postgres needs CMDB_TEST_POSTGRES_URL"),
        ),
        _ => None,
    }
}

/// A fresh database for one test: a new PostgreSQL database (dropped with the guard) or `None`
/// for a fresh SQLite file in the test's data directory.
pub async fn fresh_database() -> Option<(String, cmdb_store_postgres::TestDatabase)> {
    let admin = postgres_admin_url()?;
    Some(
        cmdb_store_postgres::create_test_database(&admin)
            .await
            .expect("create test database"),
    )
}

/// A running application and a client for it.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    pub data_dir: PathBuf,
    /// The PostgreSQL database URL when running on PostgreSQL.
    pub database: Option<String>,
    pg_guard: Option<cmdb_store_postgres::TestDatabase>,
    retention: Retention,
    stop: Option<oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<Result<(), String>>>,
}

/// Retention periods of a test server (`--event-retention`, `--audit-retention`).
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub events: std::time::Duration,
    pub audit: std::time::Duration,
}

impl Default for Retention {
    /// The server's defaults.
    fn default() -> Self {
        Retention {
            events: std::time::Duration::from_secs(7 * 86_400),
            audit: std::time::Duration::from_secs(180 * 86_400),
        }
    }
}

/// A raw HTTP answer.
pub struct Raw {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(Retention::default()).await
    }

    /// A server keeping events and audit records for the given periods (retention tests).
    pub async fn spawn_with(retention: Retention) -> TestApp {
        let dir = tempfile::tempdir().expect("temp dir");
        let (database, guard) = match fresh_database().await {
            Some((url, guard)) => (Some(url), Some(guard)),
            None => (None, None),
        };
        Self::spawn_in(dir, database, guard, retention).await
    }

    /// Stops this server and starts a new one on the same database.
    pub async fn restart(mut self) -> TestApp {
        let dir = std::mem::replace(&mut self._dir, tempfile::tempdir().expect("temp dir"));
        let guard = self.pg_guard.take();
        let database = self.database.clone();
        let retention = self.retention;
        self.stop_inner().await;
        Self::spawn_in(dir, database, guard, retention).await
    }

    async fn spawn_in(
        dir: tempfile::TempDir,
        database: Option<String>,
        pg_guard: Option<cmdb_store_postgres::TestDatabase>,
        retention: Retention,
    ) -> TestApp {
        let data_dir = dir.path().to_path_buf();
        let config = ServeConfig {
            listen: "127.0.0.1:0".parse().expect("addr"),
            data: data_dir.clone(),
            database: database.clone(),
            apps: vec![format!("{APP_CODE}:{APP_SECRET}")],
            event_retention: retention.events,
            audit_retention: retention.audit,
            pg_pool_size: cmdb::DEFAULT_PG_POOL_SIZE,
        };
        let app = App::build(config).await.expect("app builds");
        let port = app.port();
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(app.run_until_stopped(async move {
            let _ = stopped.await;
        }));
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client: reqwest::Client::new(),
            _dir: dir,
            data_dir,
            database,
            pg_guard,
            retention,
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    /// Stops the server gracefully and waits for the database to close.
    pub async fn stop(mut self) {
        self.stop_inner().await;
    }

    async fn stop_inner(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(h) = self.handle.take() {
            h.await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// A second handle on this server's database, for checking answers against the store's
    /// own operations. Close it before the test ends.
    pub async fn open_store(&self) -> cmdb_store::Store {
        cmdb::open_store(&self.data_dir, self.database.as_deref())
            .await
            .expect("second store handle")
    }

    fn auth_header() -> String {
        json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
            .to_string()
    }

    /// POST an ESB call with credentials in the header, returning the envelope.
    pub async fn esb(&self, name: &str, body: Value) -> Value {
        let raw = self
            .esb_raw(name, Some(Self::auth_header()), &body.to_string())
            .await;
        assert_eq!(raw.status, 200, "{name}: HTTP {} {}", raw.status, raw.body);
        raw.body
    }

    /// ESB call that must succeed; returns `data`.
    pub async fn esb_ok(&self, name: &str, body: Value) -> Value {
        let env = self.esb(name, body).await;
        assert_eq!(env["result"], json!(true), "{name} failed: {env}");
        assert_eq!(env["code"], json!(0));
        env["data"].clone()
    }

    /// ESB call that must fail with `code`; returns the envelope.
    pub async fn esb_err(&self, name: &str, body: Value, code: i64) -> Value {
        let env = self.esb(name, body).await;
        assert_eq!(env["result"], json!(false), "{name} should fail: {env}");
        assert_eq!(env["code"], json!(code), "{name}: wrong code: {env}");
        assert_eq!(env["data"], Value::Null);
        env
    }

    /// POST an ESB call with an optional auth header and a raw body.
    pub async fn esb_raw(&self, name: &str, auth: Option<String>, body: &str) -> Raw {
        let mut req = self
            .client
            .post(format!("{}/api/c/compapi/v2/cc/{name}/", self.base))
            .header("content-type", "application/json")
            .header("blueking-language", "en")
            .body(body.to_string());
        if let Some(a) = auth {
            req = req.header("x-bkapi-authorization", a);
        }
        let resp = req.send().await.expect("request");
        Self::raw(resp).await
    }

    /// A v3 call with app credentials and identity headers.
    pub async fn v3(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let resp = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(
                "x-bkapi-authorization",
                json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET}).to_string(),
            )
            .header("x-bkcmdb-user", "admin")
            .header("x-bkcmdb-supplier-account", "0")
            .header("blueking-language", "en")
            .json(&body)
            .send()
            .await
            .expect("request");
        let raw = Self::raw(resp).await;
        assert_eq!(raw.status, 200, "{path}: HTTP {} {}", raw.status, raw.body);
        raw.body
    }

    /// v3 call that must succeed; returns `data`.
    pub async fn v3_ok(&self, method: reqwest::Method, path: &str, body: Value) -> Value {
        let env = self.v3(method, path, body).await;
        assert_eq!(env["result"], json!(true), "{path} failed: {env}");
        assert_eq!(env["bk_error_code"], json!(0));
        env["data"].clone()
    }

    pub async fn raw(resp: reqwest::Response) -> Raw {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Raw {
            status,
            headers,
            body,
        }
    }

    /// Creates a custom model `obj_id` in classification `bk_uncategorized`; returns its record.
    pub async fn create_model(&self, obj_id: &str) -> Value {
        self.esb_ok(
            "create_object",
            json!({"bk_obj_id": obj_id, "bk_obj_name": format!("{obj_id} name"),
                   "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "icon-cc-default"}),
        )
        .await
    }

    /// Adds an attribute to a model; returns its record.
    pub async fn create_attr(&self, obj_id: &str, prop: &str, ptype: &str, extra: Value) -> Value {
        let mut body = json!({"bk_obj_id": obj_id, "bk_property_id": prop,
                              "bk_property_name": format!("{prop} label"), "bk_property_type": ptype});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        self.esb_ok("create_object_attribute", body).await
    }
}

// ---------------------------------------------------------------------------------------------
// Audit and resource_watch helpers (60-audit-events.md): the event and record shapes every
// resource kind is checked against.

/// A time range covering the test: yesterday to tomorrow, in the server's local form.
pub fn today_range() -> Value {
    let fmt = |d: chrono::Duration| {
        (chrono::Local::now() + d)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    json!({"start": fmt(chrono::Duration::days(-1)), "end": fmt(chrono::Duration::days(1))})
}

/// The cursor type number of a `bk_resource` (§2 "Cursor format").
pub fn cursor_type(resource: &str) -> u32 {
    match resource {
        "host" => 2,
        "host_relation" => 3,
        "biz" => 4,
        "set" => 5,
        "module" => 6,
        "object_instance" => 8,
        "mainline_instance" => 12,
        "inst_asst" => 13,
        "plat" => 16,
        other => panic!("no cursor type for {other}"),
    }
}

/// Checks one watch event against §2: `bk_resource`, an event type, and a cursor of the
/// documented form `base64(1\r<type>\r<oid>\r<operation>\r<sec>\r<inc>)` whose type is the
/// resource's, whose oid is 24 hex digits (a decimal integer for inst_asst) and whose
/// operation is the change-stream name of the event type.
pub fn assert_event_shape(resource: &str, event: &Value) {
    use base64::Engine as _;
    assert_eq!(event["bk_resource"], resource, "{event}");
    let cursor = event["bk_cursor"].as_str().expect("bk_cursor");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(cursor)
        .expect("cursor is standard base64");
    let raw = String::from_utf8(raw).expect("cursor text");
    let fields: Vec<&str> = raw.split('\r').collect();
    assert!(fields.len() >= 6, "cursor fields: {raw:?}");
    assert_eq!(fields[0], "1", "version: {raw:?}");
    assert_eq!(
        fields[1],
        cursor_type(resource).to_string(),
        "type: {raw:?}"
    );
    let oid = fields[2];
    let oid_ok = if resource == "inst_asst" {
        !oid.is_empty() && oid.bytes().all(|b| b.is_ascii_digit())
    } else {
        oid.len() == 24 && oid.bytes().all(|b| b.is_ascii_hexdigit())
    };
    assert!(oid_ok, "oid: {raw:?}");
    let operation = match event["bk_event_type"].as_str() {
        Some("create") => "insert",
        Some("update") => "update",
        Some("delete") => "delete",
        other => panic!("event type {other:?}: {event}"),
    };
    assert_eq!(fields[3], operation, "operation: {raw:?}");
    assert!(fields[4].parse::<u64>().is_ok_and(|s| s > 0), "{raw:?}");
    assert!(fields[5].parse::<u64>().is_ok(), "{raw:?}");
}

/// A `resource_watch` body for `resource` keeping `fields` (all when empty).
fn watch_body(resource: &str, fields: &[&str]) -> Value {
    let mut body = json!({"bk_resource": resource, "bk_supplier_account": "0"});
    if !fields.is_empty() {
        body["bk_fields"] = json!(fields);
    }
    body
}

/// The current cursor of `resource` (mode "from now": the latest event, which must exist), to
/// watch what the test writes next.
pub async fn watch_cursor(app: &TestApp, resource: &str, fields: &[&str]) -> String {
    let data = app
        .esb_ok("resource_watch", watch_body(resource, fields))
        .await;
    assert_eq!(
        data["bk_watched"],
        json!(true),
        "{resource} has an event: {data}"
    );
    data["bk_events"][0]["bk_cursor"]
        .as_str()
        .expect("cursor")
        .to_string()
}

/// Every event of `resource` after `cursor`, in chain order (mode "cursor"; the writes have
/// committed, so the answer comes at once), each checked with [`assert_event_shape`].
pub async fn watch_after(
    app: &TestApp,
    resource: &str,
    fields: &[&str],
    cursor: &str,
) -> Vec<Value> {
    let mut body = watch_body(resource, fields);
    body["bk_cursor"] = json!(cursor);
    let data = app.esb_ok("resource_watch", body).await;
    assert_eq!(data["bk_watched"], json!(true), "{resource}: {data}");
    let events = data["bk_events"].as_array().expect("bk_events").clone();
    for e in &events {
        assert_event_shape(resource, e);
    }
    events
}

/// Asserts that `events` are, in order, the `expected` event types with `bk_detail` ⊇ the
/// expected detail.
pub fn assert_events(events: &[Value], expected: &[(&str, Value)]) {
    let got: Vec<&Value> = events.iter().map(|e| &e["bk_event_type"]).collect();
    let want: Vec<Value> = expected.iter().map(|(t, _)| json!(t)).collect();
    assert_eq!(got, want.iter().collect::<Vec<_>>(), "{events:?}");
    for (e, (_, detail)) in events.iter().zip(expected) {
        assert_subset(&e["bk_detail"], detail, "bk_detail");
    }
}

/// Every audit record `condition` selects today, oldest first, in full: listed through
/// list_operation_audit (whose answers omit `operation_detail`, checked) and read back
/// through find_audit_by_id.
pub async fn audit_records(app: &TestApp, condition: Value) -> Vec<Value> {
    let mut cond = condition;
    cond["operation_time"] = today_range();
    let listed = app
        .esb_ok(
            "list_operation_audit",
            json!({"page": {"start": 0, "limit": 200, "sort": "operation_time"}, "condition": cond}),
        )
        .await;
    let info = listed["info"].as_array().expect("info").clone();
    assert_eq!(listed["count"], json!(info.len()), "{listed}");
    if info.is_empty() {
        return info;
    }
    for r in &info {
        assert_eq!(r["operation_detail"], Value::Null, "omitted in lists: {r}");
    }
    let ids: Vec<Value> = info.iter().map(|r| r["id"].clone()).collect();
    let full = app.esb_ok("find_audit_by_id", json!({"id": ids})).await;
    let full = full.as_array().expect("records").clone();
    assert_eq!(full.len(), info.len(), "{full:?}");
    for (listed, full) in info.iter().zip(&full) {
        assert_eq!(listed["id"], full["id"], "same order");
        let mut without = full.clone();
        without["operation_detail"] = Value::Null;
        assert_eq!(listed, &without, "list and find agree");
    }
    full
}

/// Asserts that `actual` has every key of `expected` with the same value (recursively for
/// objects); an expected `null` means absent or null.
pub fn assert_subset(actual: &Value, expected: &Value, what: &str) {
    match expected {
        Value::Object(keys) => {
            for (k, v) in keys {
                let got = actual.get(k).unwrap_or(&Value::Null);
                assert_subset(got, v, &format!("{what}.{k}"));
            }
        }
        other => assert_eq!(actual, other, "{what}"),
    }
}

/// Checks an audit record's head: `head` (audit_type, resource_type, resource_id,
/// resource_name, bk_biz_id — null for absent —, `operation_detail.bk_obj_id` ...) and what
/// every API write records: the request user, operate_from `user`, the supplier account, the
/// time format, `bk_biz_id` omitted when 0.
pub fn assert_record(r: &Value, head: &Value) {
    assert_subset(r, head, "record");
    assert_eq!(r["user"], "admin", "{r}");
    assert_eq!(r["operate_from"], "user", "{r}");
    assert_eq!(r["bk_supplier_account"], "0", "{r}");
    let t = r["operation_time"].as_str().unwrap_or_default();
    assert_eq!(t.len(), 19, "YYYY-MM-DD hh:mm:ss: {r}");
    if r.get("bk_biz_id").is_some() {
        assert_ne!(r["bk_biz_id"], json!(0), "omitted when 0: {r}");
    }
}

/// What one audited write of an object must have recorded (§1 `operation_detail`).
pub enum Step {
    /// A create: `cur_data` ⊇ the new object, no `pre_data`.
    Created(Value),
    /// An update: `pre_data` ⊇ the old object, `update_fields` exactly the submitted changes
    /// without immutable keys.
    Updated(Value, Value),
    /// A delete: `pre_data` ⊇ the deleted object, no `cur_data`.
    Deleted(Value),
}

/// The steps of an object's create, update and delete: its name before and after the update
/// (when the spec names one), the object as created, the update's fields, the object as
/// updated (what the delete removes).
pub fn crud_steps<'a>(
    names: Option<(&'a str, &'a str)>,
    created: Value,
    update_fields: Value,
    updated: Value,
) -> [(&'static str, Option<&'a str>, Step); 3] {
    let (before, after) = (names.map(|n| n.0), names.map(|n| n.1));
    [
        ("create", before, Step::Created(created.clone())),
        ("update", after, Step::Updated(created, update_fields)),
        ("delete", after, Step::Deleted(updated)),
    ]
}

/// Checks the audit history of one object: `condition` selects exactly its records (see
/// [`audit_records`]); they are `steps` in order, each `(action, resource_name — None where
/// the spec does not say —, data)`, and each passes [`assert_record`] with `head`. Returns
/// the records.
pub async fn assert_audit_history(
    app: &TestApp,
    condition: Value,
    head: Value,
    steps: &[(&str, Option<&str>, Step)],
) -> Vec<Value> {
    let records = audit_records(app, condition).await;
    let actions: Vec<&Value> = records.iter().map(|r| &r["action"]).collect();
    let want: Vec<Value> = steps.iter().map(|(a, _, _)| json!(a)).collect();
    assert_eq!(actions, want.iter().collect::<Vec<_>>(), "{records:?}");
    for (r, (_, name, step)) in records.iter().zip(steps) {
        assert_record(r, &head);
        if let Some(name) = name {
            assert_eq!(r["resource_name"], *name, "{r}");
        }
        let details = &r["operation_detail"]["details"];
        match step {
            Step::Created(cur) => {
                assert_eq!(details["pre_data"], Value::Null, "{r}");
                assert_subset(&details["cur_data"], cur, "cur_data");
            }
            Step::Updated(pre, fields) => {
                assert_subset(&details["pre_data"], pre, "pre_data");
                assert_eq!(&details["update_fields"], fields, "update_fields: {r}");
            }
            Step::Deleted(pre) => {
                assert_subset(&details["pre_data"], pre, "pre_data");
                assert_eq!(details["cur_data"], Value::Null, "{r}");
            }
        }
    }
    records
}
