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
