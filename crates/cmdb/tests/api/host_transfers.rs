//! 40-hosts.md §3, §7: transfers and the relation invariants, including 50 concurrent clients
//! moving the same 100 hosts around two businesses.

use std::collections::HashMap;
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::TestApp;
use crate::host_fixtures::{add_pool_hosts, assign, host, module_ids, pool_id, relations};
use crate::topo_fixtures::{create_biz, create_module, create_set, idle_pool};

/// A business with one set and two normal modules: (biz, set, [m1, m2], [idle, fault, recycle]).
async fn biz_with_modules(app: &TestApp, name: &str) -> (i64, i64, Vec<i64>, Vec<i64>) {
    let biz = create_biz(app, name).await;
    let set = create_set(app, biz, biz, "s").await;
    let m1 = create_module(app, biz, set, "m1").await;
    let m2 = create_module(app, biz, set, "m2").await;
    let (_, internal) = idle_pool(app, biz).await;
    (biz, set, vec![m1, m2], internal)
}

/// What most transfer tests start from: a fresh server, business "b" of [`biz_with_modules`],
/// and pool hosts (one per address) assigned to it and moved into its normal modules `into`
/// (indexes into `m`; none: they stay in the idle module).
struct Placed {
    app: TestApp,
    biz: i64,
    set: i64,
    m: Vec<i64>,
    internal: Vec<i64>,
    ids: Vec<i64>,
}

async fn placed(ips: &[&str], into: &[usize]) -> Placed {
    let app = TestApp::spawn().await;
    let (biz, set, m, internal) = biz_with_modules(&app, "b").await;
    let ids = add_pool_hosts(&app, ips).await;
    assign(&app, biz, &ids).await;
    if !into.is_empty() {
        let modules: Vec<i64> = into.iter().map(|i| m[*i]).collect();
        app.esb_ok(
            "transfer_host_module",
            json!({"bk_biz_id": biz, "bk_host_id": ids, "bk_module_id": modules}),
        )
        .await;
    }
    Placed {
        app,
        biz,
        set,
        m,
        internal,
        ids,
    }
}

/// Each call fails with its code.
async fn expect_errors(app: &TestApp, calls: Vec<(&str, Value, i64)>) {
    for (api, body, code) in calls {
        app.esb_err(api, body, code).await;
    }
}

#[tokio::test]
async fn transfer_host_module_overwrites_or_appends() {
    let Placed {
        app,
        biz,
        m,
        internal,
        ids,
        ..
    } = placed(&["10.0.0.1", "10.0.0.2"], &[0]).await;
    let rows = relations(&app, &ids).await;
    assert_eq!(module_ids(&rows, ids[0]), vec![m[0]]);
    // Append keeps m1 and adds m2.
    app.esb_ok(
        "transfer_host_module",
        json!({"bk_biz_id": biz, "bk_host_id": [ids[0]], "bk_module_id": [m[1]], "is_increment": true}),
    )
    .await;
    assert_eq!(module_ids(&relations(&app, &ids).await, ids[0]), m);
    // Overwrite to m2 only.
    app.v3_ok(
        Method::POST,
        "/api/v3/hosts/modules",
        json!({"bk_biz_id": biz, "bk_host_id": [ids[0]], "bk_module_id": [m[1]]}),
    )
    .await;
    assert_eq!(module_ids(&relations(&app, &ids).await, ids[0]), vec![m[1]]);
    // Errors.
    let t = |hosts: Value, modules: Value| json!({"bk_biz_id": biz, "bk_host_id": hosts, "bk_module_id": modules});
    let other = add_pool_hosts(&app, &["10.0.0.3"]).await;
    let many: Vec<i64> = (1..=501).collect();
    let (_, _, m_other, _) = biz_with_modules(&app, "c").await;
    let api = "transfer_host_module";
    expect_errors(
        &app,
        vec![
            (api, t(json!(ids), json!([])), 1199010),
            (api, t(json!(ids), json!([internal[0]])), 1101080),
            (api, t(json!(ids), json!([99999])), 1101080),
            (api, t(json!([99999]), json!([m[0]])), 1199011),
            (api, t(json!(other), json!([m[0]])), 1113002),
            (
                api,
                json!({"bk_biz_id": 99999, "bk_host_id": ids, "bk_module_id": [m[0]]}),
                1113006,
            ),
            (api, t(json!(many), json!([m[0]])), 1199035),
            // A module of another business.
            (api, t(json!(ids), json!([m_other[0]])), 1101080),
        ],
    )
    .await;
}

#[tokio::test]
async fn transfers_to_internal_modules_replace_every_relation() {
    let Placed {
        app,
        biz,
        m,
        internal,
        ids,
        ..
    } = placed(&["10.0.0.1"], &[0, 1]).await;
    for (api, module) in [
        ("transfer_host_to_faultmodule", internal[1]),
        ("transfer_host_to_recyclemodule", internal[2]),
        ("transfer_host_to_idlemodule", internal[0]),
    ] {
        app.esb_ok(api, json!({"bk_biz_id": biz, "bk_host_id": ids}))
            .await;
        assert_eq!(
            module_ids(&relations(&app, &ids).await, ids[0]),
            vec![module]
        );
    }
    app.esb_ok(
        "transfer_host_to_faultmodule",
        json!({"bk_biz_id": biz, "bk_host_id": []}),
    )
    .await;
    let pool_host = add_pool_hosts(&app, &["10.0.0.2"]).await;
    app.esb_err(
        "transfer_host_to_idlemodule",
        json!({"bk_biz_id": biz, "bk_host_id": pool_host}),
        1113002,
    )
    .await;
    app.v3_ok(
        Method::POST,
        "/api/v3/hosts/modules/fault",
        json!({"bk_biz_id": biz, "bk_host_id": ids}),
    )
    .await;
    // Append transfer from an internal module drops the internal relation.
    app.esb_ok(
        "transfer_host_module",
        json!({"bk_biz_id": biz, "bk_host_id": ids, "bk_module_id": [m[0]], "is_increment": true}),
    )
    .await;
    assert_eq!(module_ids(&relations(&app, &ids).await, ids[0]), vec![m[0]]);
}

#[tokio::test]
async fn hosts_leave_a_business_only_through_internal_modules() {
    let Placed {
        app, biz, m, ids, ..
    } = placed(&["10.0.0.1", "10.0.0.2"], &[]).await;
    let pool = pool_id(&app).await;
    let (_, pool_internal) = idle_pool(&app, pool).await;
    app.esb_ok(
        "transfer_host_module",
        json!({"bk_biz_id": biz, "bk_host_id": [ids[0]], "bk_module_id": [m[0]]}),
    )
    .await;
    let env = app
        .esb_err(
            "transfer_host_to_resourcemodule",
            json!({"bk_biz_id": biz, "bk_host_id": ids}),
            1110056,
        )
        .await;
    assert!(env["message"].as_str().expect("msg").contains("10.0.0.1"));
    expect_errors(
        &app,
        vec![
            (
                "transfer_host_to_resourcemodule",
                json!({"bk_biz_id": 0, "bk_host_id": ids}),
                1110051,
            ),
            (
                "transfer_host_to_resourcemodule",
                json!({"bk_biz_id": pool, "bk_host_id": ids}),
                1110052,
            ),
        ],
    )
    .await;
    for body in [
        json!({"bk_biz_id": biz, "bk_host_id": []}),
        json!({"bk_biz_id": biz, "bk_host_id": [ids[1]]}),
    ] {
        app.esb_ok("transfer_host_to_resourcemodule", body).await;
    }
    let rows = relations(&app, &[ids[1]]).await;
    assert_eq!(rows[0]["bk_biz_id"], json!(pool));
    assert_eq!(rows[0]["bk_module_id"], json!(pool_internal[0]));
    // Assign back; errors of the assignment.
    let api = "transfer_resourcehost_to_idlemodule";
    expect_errors(
        &app,
        vec![
            (
                api,
                json!({"bk_biz_id": 0, "bk_host_id": [ids[1]]}),
                1110053,
            ),
            (
                api,
                json!({"bk_biz_id": 99999, "bk_host_id": [ids[1]]}),
                1199019,
            ),
            (
                api,
                json!({"bk_biz_id": biz, "bk_host_id": [ids[0]]}),
                1110056,
            ),
        ],
    )
    .await;
    app.esb_ok(api, json!({"bk_biz_id": pool, "bk_host_id": [ids[1]]}))
        .await;
    app.v3_ok(
        Method::POST,
        "/api/v3/hosts/modules/resource/idle",
        json!({"bk_biz_id": biz, "bk_host_id": [ids[1]]}),
    )
    .await;
    assert_eq!(relations(&app, &[ids[1]]).await[0]["bk_biz_id"], json!(biz));
    // Archived businesses take no hosts.
    let other = create_biz(&app, "archived").await;
    app.esb_ok(
        "update_business_enable_status",
        json!({"bk_biz_id": other, "flag": "disabled"}),
    )
    .await;
    let free = add_pool_hosts(&app, &["10.0.0.3"]).await;
    app.esb_err(
        api,
        json!({"bk_biz_id": other, "bk_host_id": free}),
        1110031,
    )
    .await;
}

#[tokio::test]
async fn across_businesses_and_set_hosts_to_idle() {
    let Placed {
        app,
        biz: a,
        set: set_a,
        m: ma,
        internal: ia,
        ids,
    } = placed(&["10.0.0.1", "10.0.0.2", "10.0.0.3"], &[]).await;
    let (b, _, mb, ib) = biz_with_modules(&app, "c").await;
    let across = |hosts: Value, dst: i64, module: i64| json!({"src_bk_biz_id": a, "dst_bk_biz_id": dst, "bk_host_id": hosts, "bk_module_id": module});
    app.esb_ok(
        "transfer_host_across_biz",
        across(json!([ids[0]]), b, ib[1]),
    )
    .await;
    assert_eq!(
        module_ids(&relations(&app, &ids).await, ids[0]),
        vec![ib[1]]
    );
    let api = "transfer_host_across_biz";
    expect_errors(
        &app,
        vec![
            (api, across(json!([ids[1]]), b, mb[0]), 1199006),
            (api, across(json!([ids[0]]), b, ib[0]), 1110056),
            (api, across(json!([]), b, ib[0]), 1199010),
            (api, across(json!([ids[1]]), 99999, ib[0]), 1113006),
        ],
    )
    .await;
    // ids[1] in m1+m2, ids[2] in m1 only; move set hosts of m1 to idle.
    for (host, modules) in [(ids[1], ma.clone()), (ids[2], vec![ma[0]])] {
        app.esb_ok(
            "transfer_host_module",
            json!({"bk_biz_id": a, "bk_host_id": [host], "bk_module_id": modules}),
        )
        .await;
    }
    app.esb_ok(
        "transfer_sethost_to_idle_module",
        json!({"bk_biz_id": a, "bk_set_id": set_a, "bk_module_id": ma[0]}),
    )
    .await;
    let rows = relations(&app, &ids).await;
    assert_eq!(module_ids(&rows, ids[1]), vec![ma[1]]);
    assert_eq!(module_ids(&rows, ids[2]), vec![ia[0]]);
    // Whole set: everything to idle.
    app.esb_ok(
        "transfer_sethost_to_idle_module",
        json!({"bk_biz_id": a, "bk_set_id": set_a, "bk_module_id": 0}),
    )
    .await;
    assert_eq!(
        module_ids(&relations(&app, &ids).await, ids[1]),
        vec![ia[0]]
    );
    let api = "transfer_sethost_to_idle_module";
    expect_errors(
        &app,
        vec![
            (
                api,
                json!({"bk_biz_id": a, "bk_set_id": 0, "bk_module_id": 0}),
                1199010,
            ),
            (api, json!({"bk_biz_id": 0, "bk_set_id": set_a}), 1199010),
        ],
    )
    .await;
}

/// 40-hosts §7.3 and §7.6: a host leaving a business loses the values of that business's
/// private attributes (the same for a host leaving the resource pool); its global attributes
/// stay, and so do private values of a host that moves inside its business. While a host is in
/// a business, that business's private attributes are set like any other.
#[tokio::test]
async fn leaving_a_business_clears_its_private_host_attributes() {
    let Placed {
        app,
        biz: a,
        internal: ia,
        ids,
        ..
    } = placed(&["10.0.0.1", "10.0.0.2"], &[]).await;
    let pool = pool_id(&app).await;
    let (b, _, _, ib) = biz_with_modules(&app, "c").await;
    let attr = |id: &str| {
        json!({"bk_obj_id": "host", "bk_property_id": id, "bk_property_name": id,
               "bk_property_type": "singlechar", "editable": true})
    };
    app.esb_ok("create_object_attribute", attr("g_note")).await;
    app.v3_ok(
        Method::POST,
        &format!("/api/v3/create/objectattr/biz/{a}"),
        attr("a_rack"),
    )
    .await;
    for (biz, id) in [(b, "b_slot"), (pool, "p_shelf")] {
        let mut body = attr(id);
        body["bk_biz_id"] = json!(biz);
        app.esb_ok("create_object_attribute", body).await;
    }
    // In business a: a's private attribute takes a value, b's is no attribute of this host.
    let both = format!("{},{}", ids[0], ids[1]);
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": both, "g_note": "n", "a_rack": "r1", "b_slot": "s1"}),
    )
    .await;
    let h = host(&app, ids[0]).await;
    assert_eq!(
        (&h["g_note"], &h["a_rack"]),
        (&json!("n"), &json!("r1")),
        "{h}"
    );
    assert!(h.get("b_slot").is_none(), "{h}");
    // Moving inside a keeps it; moving to b clears it (and only it).
    app.esb_ok(
        "transfer_host_to_faultmodule",
        json!({"bk_biz_id": a, "bk_host_id": ids}),
    )
    .await;
    assert_eq!(host(&app, ids[0]).await["a_rack"], json!("r1"));
    app.esb_ok(
        "transfer_host_across_biz",
        json!({"src_bk_biz_id": a, "dst_bk_biz_id": b, "bk_host_id": [ids[0]], "bk_module_id": ib[0]}),
    )
    .await;
    let h = host(&app, ids[0]).await;
    assert!(h.get("a_rack").is_none(), "{h}");
    assert_eq!(h["g_note"], json!("n"));
    assert_eq!(host(&app, ids[1]).await["a_rack"], json!("r1"));
    // b's attribute now applies; back to the pool clears it.
    app.esb_ok(
        "batch_update_host",
        json!({"update": [{"bk_host_id": ids[0], "properties": {"b_slot": "s1"}}]}),
    )
    .await;
    assert_eq!(host(&app, ids[0]).await["b_slot"], json!("s1"));
    app.esb_ok(
        "transfer_host_to_resourcemodule",
        json!({"bk_biz_id": b, "bk_host_id": [ids[0]]}),
    )
    .await;
    let h = host(&app, ids[0]).await;
    assert!(h.get("b_slot").is_none(), "{h}");
    // The pool's own attribute, cleared when the host is assigned to a business.
    app.esb_ok(
        "update_host",
        json!({"bk_host_id": ids[0].to_string(), "p_shelf": "top"}),
    )
    .await;
    assert_eq!(host(&app, ids[0]).await["p_shelf"], json!("top"));
    app.esb_ok(
        "transfer_resourcehost_to_idlemodule",
        json!({"bk_biz_id": a, "bk_host_id": [ids[0]]}),
    )
    .await;
    let h = host(&app, ids[0]).await;
    assert!(
        h.get("p_shelf").is_none() && h.get("a_rack").is_none(),
        "{h}"
    );
    assert_eq!(h["g_note"], json!("n"));
    assert_eq!(
        module_ids(&relations(&app, &ids).await, ids[0]),
        vec![ia[0]]
    );
}

#[tokio::test]
async fn topology_deletion_sees_hosts() {
    let Placed {
        app,
        biz,
        set,
        m,
        ids,
        ..
    } = placed(&["10.0.0.1"], &[0]).await;
    expect_errors(
        &app,
        vec![
            (
                "delete_module",
                json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m[0]}),
                1101030,
            ),
            (
                "delete_set",
                json!({"bk_biz_id": biz, "bk_set_id": set}),
                1101030,
            ),
            (
                "update_business_enable_status",
                json!({"bk_biz_id": biz, "flag": "disabled"}),
                1101087,
            ),
        ],
    )
    .await;
    // m2 is empty and can go.
    app.esb_ok(
        "delete_module",
        json!({"bk_biz_id": biz, "bk_set_id": set, "bk_module_id": m[1]}),
    )
    .await;
    // Hosts in the idle module still block the archive.
    app.esb_ok(
        "transfer_host_to_idlemodule",
        json!({"bk_biz_id": biz, "bk_host_id": ids}),
    )
    .await;
    app.esb_ok("delete_set", json!({"bk_biz_id": biz, "bk_set_id": set}))
        .await;
    app.esb_err(
        "update_business_enable_status",
        json!({"bk_biz_id": biz, "flag": "disabled"}),
        1101087,
    )
    .await;
    app.esb_ok(
        "transfer_host_to_resourcemodule",
        json!({"bk_biz_id": biz, "bk_host_id": ids}),
    )
    .await;
    app.esb_ok(
        "update_business_enable_status",
        json!({"bk_biz_id": biz, "flag": "disabled"}),
    )
    .await;
    app.esb_ok("delete_business", json!({"bk_biz_id": [biz]}))
        .await;
}

#[tokio::test]
async fn custom_level_subtree_with_hosts_cannot_be_deleted() {
    let app = TestApp::spawn().await;
    app.v3_ok(
        Method::POST,
        "/api/v3/create/topomodelmainline",
        json!({"bk_obj_id": "region", "bk_obj_name": "region", "bk_asst_obj_id": "biz",
               "bk_classification_id": "bk_biz_topo"}),
    )
    .await;
    let biz = create_biz(&app, "b").await;
    let region = app
        .esb_ok(
            "create_inst",
            json!({"bk_obj_id": "region", "bk_inst_name": "r1", "bk_biz_id": biz, "bk_parent_id": biz}),
        )
        .await["bk_inst_id"]
        .as_i64()
        .expect("region");
    let set = create_set(&app, biz, region, "s").await;
    let module = create_module(&app, biz, set, "m").await;
    let ids = add_pool_hosts(&app, &["10.0.0.1"]).await;
    assign(&app, biz, &ids).await;
    app.esb_ok(
        "transfer_host_module",
        json!({"bk_biz_id": biz, "bk_host_id": ids, "bk_module_id": [module]}),
    )
    .await;
    app.esb_err(
        "delete_inst",
        json!({"bk_obj_id": "region", "bk_inst_id": region}),
        1101030,
    )
    .await;
    // Host by topology node of the custom level.
    let found = app
        .esb_ok(
            "find_host_by_topo",
            json!({"bk_biz_id": biz, "bk_obj_id": "region", "bk_inst_id": region,
                   "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(found["count"], json!(1));
    let topo = app
        .esb_ok(
            "list_host_total_mainline_topo",
            json!({"bk_biz_id": biz, "fields": ["bk_host_id"], "page": {"start": 0, "limit": 10}}),
        )
        .await;
    assert_eq!(
        topo["info"][0]["topo"],
        json!([{"inst": {"obj": "region", "name": "r1", "id": region},
                "children": [{"inst": {"obj": "set", "name": "s", "id": set},
                              "children": [{"inst": {"obj": "module", "name": "m", "id": module},
                                            "children": null}]}]}])
    );
}

/// Checks the relation invariants of §3 for `hosts` through the API: at least one row, one
/// business, internal xor normal modules (one internal at most), module rows consistent.
async fn check_invariants(app: &TestApp, hosts: &[i64], dflt: &HashMap<i64, i64>) {
    let rows = relations(app, hosts).await;
    for h in hosts {
        let mine: Vec<&Value> = rows
            .iter()
            .filter(|r| r["bk_host_id"] == json!(h))
            .collect();
        assert!(!mine.is_empty(), "host {h} has no module");
        let biz = &mine[0]["bk_biz_id"];
        assert!(
            mine.iter().all(|r| &r["bk_biz_id"] == biz),
            "host {h} in two businesses: {mine:?}"
        );
        let internal = mine
            .iter()
            .filter(|r| {
                dflt.get(&r["bk_module_id"].as_i64().unwrap_or(0))
                    .copied()
                    .unwrap_or(0)
                    != 0
            })
            .count();
        assert!(
            internal == 0 || (internal == 1 && mine.len() == 1),
            "host {h} mixes internal and normal modules: {mine:?}"
        );
        let mut modules: Vec<i64> = mine
            .iter()
            .map(|r| r["bk_module_id"].as_i64().unwrap_or(0))
            .collect();
        modules.sort_unstable();
        let n = modules.len();
        modules.dedup();
        assert_eq!(n, modules.len(), "duplicate rows for host {h}");
    }
}

#[tokio::test]
async fn fifty_concurrent_clients_keep_the_invariants() {
    let app = Arc::new(TestApp::spawn().await);
    let pool = pool_id(&app).await;
    let (_, pool_internal) = idle_pool(&app, pool).await;
    let (a, _, ma, ia) = biz_with_modules(&app, "a").await;
    let (b, _, mb, ib) = biz_with_modules(&app, "b").await;
    let ips: Vec<String> = (0..100)
        .map(|i| format!("10.5.{}.{}", i / 200, i % 200 + 1))
        .collect();
    let ip_refs: Vec<&str> = ips.iter().map(String::as_str).collect();
    let hosts = add_pool_hosts(&app, &ip_refs).await;
    assign(&app, a, &hosts[..50]).await;
    assign(&app, b, &hosts[50..]).await;
    let mut dflt: HashMap<i64, i64> = HashMap::new();
    for (internal, normal) in [(&ia, &ma), (&ib, &mb), (&pool_internal, &vec![])] {
        for (i, m) in internal.iter().enumerate() {
            dflt.insert(*m, i as i64 + 1);
        }
        for m in normal {
            dflt.insert(*m, 0);
        }
    }
    let hosts = Arc::new(hosts);
    let mut tasks = Vec::new();
    for client in 0..50u64 {
        let app = app.clone();
        let hosts = hosts.clone();
        let (ma, mb, ia, ib) = (ma.clone(), mb.clone(), ia.clone(), ib.clone());
        tasks.push(tokio::spawn(async move {
            let mut seed = client.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mut next = move || {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (seed >> 33) as usize
            };
            let mut ok = 0;
            for _ in 0..8 {
                // Hosts move in groups of five (every group starts in one business and every
                // successful call moves a whole group the same way); a quarter of the calls
                // name two groups, which may sit in different places and must then fail cleanly.
                let group = next() % 20;
                let groups = if next() % 4 == 0 { 2 } else { 1 };
                let batch: Vec<i64> = (0..5 * groups)
                    .map(|k| hosts[(group * 5 + k) % 100])
                    .collect();
                let (biz, other, m, iother) = if next() % 2 == 0 {
                    (a, b, &ma, &ib)
                } else {
                    (b, a, &mb, &ia)
                };
                let (api, body) = match next() % 6 {
                    0 => ("transfer_host_module", json!({"bk_biz_id": biz, "bk_host_id": batch, "bk_module_id": [m[next() % 2]]})),
                    1 => ("transfer_host_module", json!({"bk_biz_id": biz, "bk_host_id": batch, "bk_module_id": [m[next() % 2]], "is_increment": true})),
                    2 => ("transfer_host_to_idlemodule", json!({"bk_biz_id": biz, "bk_host_id": batch})),
                    3 => ("transfer_host_across_biz", json!({"src_bk_biz_id": biz, "dst_bk_biz_id": other, "bk_host_id": batch, "bk_module_id": iother[0]})),
                    4 => ("transfer_host_to_resourcemodule", json!({"bk_biz_id": biz, "bk_host_id": batch})),
                    _ => ("transfer_resourcehost_to_idlemodule", json!({"bk_biz_id": biz, "bk_host_id": batch})),
                };
                let env = app.esb(api, body).await;
                if env["result"] == json!(true) {
                    ok += 1;
                } else {
                    let code = env["code"].as_i64().unwrap_or(0);
                    assert!(
                        [1113002, 1110056].contains(&code),
                        "{api}: unexpected failure {env}"
                    );
                }
            }
            ok
        }));
    }
    let mut succeeded = 0;
    for t in tasks {
        succeeded += t.await.expect("client");
    }
    assert!(succeeded > 0, "no transfer succeeded");
    check_invariants(&app, &hosts, &dflt).await;
    // Counts per business add up to the hosts.
    let mut total = 0;
    for biz in [pool, a, b] {
        total += crate::host_fixtures::list_biz(&app, biz, json!({})).await["count"]
            .as_i64()
            .expect("count");
    }
    assert_eq!(total, 100);
}
