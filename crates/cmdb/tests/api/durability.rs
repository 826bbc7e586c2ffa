//! Tests that drive the real `cmdb` binary as separate processes: `kill -9` under load loses no
//! acknowledged write, SIGTERM stops cleanly, and two processes on one database behave as one
//! server. They run on whichever backend the suite runs on (`common::fresh_database`).

use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

use crate::common::{fresh_database, APP_CODE, APP_SECRET};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn start(data: &std::path::Path, database: Option<&str>, port: u16) -> Child {
    std::fs::create_dir_all(data).expect("data dir");
    let log = std::fs::File::create(data.join(format!("cmdb-{port}.log"))).expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmdb"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--data"])
        .arg(data)
        .args(["--app", &format!("{APP_CODE}:{APP_SECRET}")])
        .env("RUST_LOG", "warn")
        .env_remove("CMDB_DATABASE_URL")
        .env_remove("CMDB_APPS")
        .stdout(Stdio::null())
        .stderr(Stdio::from(log));
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    cmd.spawn().expect("spawn cmdb")
}

/// Waits for `/healthz`; on timeout the server's own log says why.
async fn wait_ready(client: &reqwest::Client, base: &str, data: &std::path::Path) {
    for _ in 0..400 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let port = base.rsplit(':').next().unwrap_or_default();
    let log = std::fs::read_to_string(data.join(format!("cmdb-{port}.log"))).unwrap_or_default();
    panic!("server at {base} never became ready; its log:\n{log}");
}

async fn esb(client: &reqwest::Client, base: &str, name: &str, body: Value) -> Option<Value> {
    let auth =
        json!({"bk_app_code": APP_CODE, "bk_app_secret": APP_SECRET, "bk_username": "admin"})
            .to_string();
    let resp = client
        .post(format!("{base}/api/c/compapi/v2/cc/{name}/"))
        .header("x-bkapi-authorization", auth)
        .json(&body)
        .send()
        .await
        .ok()?;
    resp.json().await.ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_loses_no_acknowledged_create() {
    let dir = tempfile::tempdir().expect("dir");
    let pg = fresh_database().await;
    let database = pg.as_ref().map(|(url, _)| url.as_str());
    let client = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), database, port);
    wait_ready(&client, &base, dir.path()).await;
    let created = esb(&client, &base, "create_object", json!({"bk_obj_id": "dur", "bk_obj_name": "dur", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})).await;
    assert_eq!(created.map(|e| e["result"].clone()), Some(json!(true)));

    let acked: Arc<Mutex<Vec<String>>> = Arc::new(Mutex::new(Vec::new()));
    let mut workers = Vec::new();
    for w in 0..16 {
        let (client, base, acked) = (client.clone(), base.clone(), acked.clone());
        workers.push(tokio::spawn(async move {
            for n in 0.. {
                let name = format!("w{w}-{n}");
                match esb(
                    &client,
                    &base,
                    "create_inst",
                    json!({"bk_obj_id": "dur", "bk_inst_name": name}),
                )
                .await
                {
                    Some(env) if env["result"] == json!(true) => {
                        acked.lock().expect("lock").push(name)
                    }
                    Some(env) => panic!("create refused before the kill: {env}"),
                    None => break,
                }
            }
        }));
    }
    // Let a few hundred creates be acknowledged, then kill -9 in the middle of the load.
    while acked.lock().expect("lock").len() < 300 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    for w in workers {
        w.await.expect("worker");
    }
    let acked: Vec<String> = acked.lock().expect("lock").clone();
    assert!(acked.len() >= 300);

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), database, port);
    wait_ready(&client, &base, dir.path()).await;
    let found = esb(
        &client,
        &base,
        "search_inst_by_object",
        json!({"bk_obj_id": "dur", "fields": ["bk_inst_name"], "condition": {}}),
    )
    .await
    .expect("search");
    let stored: HashSet<String> = found["data"]["info"]
        .as_array()
        .expect("info")
        .iter()
        .filter_map(|d| d["bk_inst_name"].as_str().map(str::to_string))
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|n| !stored.contains(*n)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged creates lost after kill -9: {:?}",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

/// SIGTERM drains and exits cleanly; the data is intact on the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_keeps_data() {
    let dir = tempfile::tempdir().expect("dir");
    let pg = fresh_database().await;
    let database = pg.as_ref().map(|(url, _)| url.as_str());
    let client = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), database, port);
    wait_ready(&client, &base, dir.path()).await;
    let created = esb(
        &client,
        &base,
        "create_classification",
        json!({"bk_classification_id": "kept", "bk_classification_name": "Kept"}),
    )
    .await;
    assert_eq!(created.map(|e| e["result"].clone()), Some(json!(true)));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill -TERM");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("join")
        .expect("wait");
    assert!(exit.success(), "cmdb exited with {exit}");

    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = start(dir.path(), database, port);
    wait_ready(&client, &base, dir.path()).await;
    let found = esb(
        &client,
        &base,
        "search_classifications",
        json!({"bk_classification_id": "kept"}),
    )
    .await
    .expect("search");
    assert_eq!(found["data"][0]["bk_classification_name"], "Kept");
    child.kill().expect("stop");
    child.wait().expect("reaped");
}

/// Two processes on one database behave as one server: 1,000 racing creates of one unique
/// name spread over both give exactly one success, and ids handed out by both never collide.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_on_one_database() {
    let dir = tempfile::tempdir().expect("dir");
    let pg = fresh_database().await;
    let database = pg.as_ref().map(|(url, _)| url.as_str());
    let client = reqwest::Client::new();
    let ports = [free_port(), free_port()];
    let mut children: Vec<Child> = ports
        .iter()
        .map(|p| start(dir.path(), database, *p))
        .collect();
    let bases: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    for base in &bases {
        wait_ready(&client, base, dir.path()).await;
    }
    let created = esb(&client, &bases[0], "create_object", json!({"bk_obj_id": "twin", "bk_obj_name": "twin", "bk_classification_id": "bk_uncategorized", "bk_obj_icon": "i"})).await;
    assert_eq!(created.map(|e| e["result"].clone()), Some(json!(true)));

    let mut tasks = Vec::new();
    for i in 0..1000usize {
        let (client, base) = (client.clone(), bases[i % 2].clone());
        tasks.push(tokio::spawn(async move {
            esb(
                &client,
                &base,
                "create_inst",
                json!({"bk_obj_id": "twin", "bk_inst_name": "same"}),
            )
            .await
        }));
    }
    let (mut ok, mut dup) = (0, 0);
    for t in tasks {
        let env = t.await.expect("task").expect("answer");
        match env["code"].as_i64() {
            Some(0) => ok += 1,
            Some(1199014) => dup += 1,
            other => panic!("unexpected {other:?}: {env}"),
        }
    }
    assert_eq!((ok, dup), (1, 999));

    let mut tasks = Vec::new();
    for i in 0..200usize {
        let (client, base) = (client.clone(), bases[i % 2].clone());
        tasks.push(tokio::spawn(async move {
            esb(
                &client,
                &base,
                "create_inst",
                json!({"bk_obj_id": "twin", "bk_inst_name": format!("n{i}")}),
            )
            .await
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        let env = t.await.expect("task").expect("answer");
        assert_eq!(env["result"], json!(true), "{env}");
        assert!(
            ids.insert(env["data"]["bk_inst_id"].as_i64().expect("id")),
            "duplicate id"
        );
    }
    for base in &bases {
        let count = esb(
            &client,
            base,
            "count_object_instances",
            json!({"bk_obj_id": "twin"}),
        )
        .await
        .expect("count");
        assert_eq!(count["data"]["count"], json!(201));
    }
    for child in &mut children {
        child.kill().expect("stop");
        child.wait().expect("reaped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gen_topo_builds_the_requested_tree() {
    let dir = tempfile::tempdir().expect("dir");
    let pg = fresh_database().await;
    let database = pg.as_ref().map(|(url, _)| url.as_str());
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmdb"));
    cmd.args(["gen-topo", "--data"])
        .arg(dir.path())
        .args(["--businesses", "2", "--levels", "2", "--fanout", "2"])
        .args(["--sets", "6", "--modules-per-set", "3"])
        .env("RUST_LOG", "warn")
        .env_remove("CMDB_DATABASE_URL");
    if let Some(url) = database {
        cmd.args(["--database", url]);
    }
    let out = cmd.output().expect("run gen-topo");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary json");
    assert_eq!(summary["sets"], json!(12));
    assert_eq!(summary["modules"], json!(36));
    assert_eq!(summary["levels"], json!(["gen_level1", "gen_level2"]));

    let port = free_port();
    let mut child = start(dir.path(), database, port);
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    wait_ready(&client, &base, dir.path()).await;
    let level2 = esb(
        &client,
        &base,
        "search_inst",
        json!({"bk_obj_id": "gen_level2", "condition": {}}),
    )
    .await
    .expect("search_inst");
    let level2_ids: HashSet<i64> = level2["data"]["info"]
        .as_array()
        .expect("info")
        .iter()
        .map(|d| d["bk_inst_id"].as_i64().expect("id"))
        .collect();
    // Per business: the one created with the level (at insert) + fanout² generated; plus the
    // resource pool's one.
    assert_eq!(level2_ids.len(), 2 * (1 + 4) + 1);
    for biz in summary["bk_biz_ids"].as_array().expect("ids") {
        let sets = esb(
            &client,
            &base,
            "search_set",
            json!({"bk_biz_id": biz, "condition": {"default": 0}}),
        )
        .await
        .expect("search_set");
        let info = sets["data"]["info"].as_array().expect("info").clone();
        assert_eq!(info.len(), 6, "{sets}");
        for set in info {
            let parent = set["bk_parent_id"].as_i64().expect("parent");
            assert!(level2_ids.contains(&parent), "set below {parent}");
            let modules = esb(
                &client,
                &base,
                "search_module",
                json!({"bk_biz_id": biz, "bk_set_id": set["bk_set_id"]}),
            )
            .await
            .expect("search_module");
            assert_eq!(modules["data"]["count"], json!(3), "{modules}");
        }
    }
    child.kill().expect("kill");
    let _ = child.wait();
}
