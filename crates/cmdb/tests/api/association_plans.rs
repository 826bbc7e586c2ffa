//! Issue 6 §5: association queries are index lookups in both directions, not scans — proved by
//! the database's own query planner, on whichever backend the suite runs (SQLite's `EXPLAIN
//! QUERY PLAN`, PostgreSQL's `EXPLAIN (FORMAT JSON)`).
//!
//! The SQL is not copied here: the store operations the handlers call
//! (`search_related_inst_asso`, `find_instassociation_with_inst`,
//! `search_inst_asst_object_inst_base_info`, `search_inst_association_topo`, and the deletion
//! guard of delete_inst / delete_host / set, module and business deletion) run against a real
//! database through a transaction wrapper that notes every statement with its parameters before
//! passing it on unchanged. Each noted statement that touches `instance_association` is then
//! explained with the same parameters, and must search the table through an index and never
//! scan it. A change to any of those queries is checked as it is, with no list to keep in step.
//!
//! The database holds 20,000 links made by `cmdb gen-assoc`'s own code (400 × 50). PostgreSQL's
//! planner needs statistics to prefer an index over a scan of a small table, so it gets an
//! ANALYZE (what autovacuum does on a live server); SQLite gets none, as in production.

use std::sync::{Arc, Mutex};

use cmdb_domain::filter::Page;
use cmdb_store::ops::associations::{self, WithInstQuery};
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::ops::{instances, OpContext};
use cmdb_store::{Dialect, Row, SqlValue, StoreError, Tx};
use serde_json::{json, Map, Value};

use crate::common::TestApp;

/// A statement as the operation sent it.
type Statement = (String, Vec<SqlValue>);

/// Passes everything to the real transaction, noting each statement first.
struct Noting<'t> {
    inner: &'t mut dyn Tx,
    seen: Arc<Mutex<Vec<Statement>>>,
}

impl Noting<'_> {
    fn note(&self, sql: &str, params: &[SqlValue]) {
        self.seen
            .lock()
            .unwrap()
            .push((sql.to_string(), params.to_vec()));
    }
}

impl Tx for Noting<'_> {
    fn dialect(&self) -> Dialect {
        self.inner.dialect()
    }
    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        self.note(sql, params);
        self.inner.query(sql, params)
    }
    fn query_each(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        each: &mut dyn FnMut(&[SqlValue]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        self.note(sql, params);
        self.inner.query_each(sql, params, each)
    }
    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        self.note(sql, params);
        self.inner.execute(sql, params)
    }
    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        self.inner.execute_batch(sql)
    }
    fn next_id(&mut self, sequence: &str) -> Result<i64, StoreError> {
        self.inner.next_id(sequence)
    }
    fn next_ids(&mut self, sequence: &str, count: usize) -> Result<Vec<i64>, StoreError> {
        self.inner.next_ids(sequence, count)
    }
    fn execute_deferred(
        &mut self,
        sql: &str,
        params: &[SqlValue],
        on_unique: Option<cmdb_domain::DomainError>,
    ) -> Result<(), StoreError> {
        self.note(sql, params);
        self.inner.execute_deferred(sql, params, on_unique)
    }
    fn at_commit_append(&mut self, sql: &'static str, item: Value) -> Result<(), StoreError> {
        self.inner.at_commit_append(sql, item)
    }
    fn savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.inner.savepoint(name)
    }
    fn release_savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.inner.release_savepoint(name)
    }
    fn rollback_savepoint(&mut self, name: &'static str) -> Result<(), StoreError> {
        self.inner.rollback_savepoint(name)
    }
    fn flush(&mut self) -> Result<(), StoreError> {
        self.inner.flush()
    }
    fn schema_cache(&self) -> Option<&SchemaCache> {
        self.inner.schema_cache()
    }
}

/// Runs `op` in a read transaction and returns the statements it sent, with its outcome.
async fn noted_read<T, F>(store: &cmdb_store::Store, op: F) -> (Vec<Statement>, T)
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let out = cmdb_store::read(store.as_ref(), move |tx| {
        op(&mut Noting {
            inner: tx,
            seen: log,
        })
    })
    .await
    .expect("operation");
    let statements = std::mem::take(&mut *seen.lock().unwrap());
    (statements, out)
}

/// Runs `op` in a write transaction (committed when it succeeds, rolled back when it fails)
/// and returns the statements it sent, with its outcome.
async fn noted_write<T, F>(
    store: &cmdb_store::Store,
    op: F,
) -> (Vec<Statement>, Result<T, StoreError>)
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, StoreError> + Send + 'static,
{
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let out = cmdb_store::write(store.as_ref(), move |tx| {
        op(&mut Noting {
            inner: tx,
            seen: log,
        })
    })
    .await;
    let statements = std::mem::take(&mut *seen.lock().unwrap());
    (statements, out)
}

/// The names a statement gives the association table: itself and its aliases
/// (`instance_association a`).
fn table_names(sql: &str) -> Vec<String> {
    const KEYWORDS: &[&str] = &[
        "where", "join", "inner", "left", "on", "order", "group", "limit", "union", "set",
        "values", "as",
    ];
    let tokens: Vec<String> = sql
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|t| !t.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    let mut names = vec!["instance_association".to_string()];
    for pair in tokens.windows(3) {
        if pair[0] == "instance_association" {
            let alias = if pair[1] == "as" { &pair[2] } else { &pair[1] };
            if !KEYWORDS.contains(&alias.as_str()) && !names.contains(alias) {
                names.push(alias.clone());
            }
        }
    }
    names
}

/// How the database reads `instance_association` for one statement: the index searches of it
/// that are bounded by an instance (a link id or an instance id among the index conditions),
/// and every read of more than that — a full scan, or an index range over a whole model's links
/// (which must be none).
struct Access {
    lookups: usize,
    wide: Vec<String>,
    plan: String,
}

/// Does an index condition pin an instance (or a link)? `obj_id = ?` alone selects a whole
/// model's links: at 1,000,000 links that is a scan in all but name.
fn pins_instance(cond: &str) -> bool {
    ["inst_id", "rowid", "(id ", "(id=", " id="]
        .iter()
        .any(|c| cond.contains(c))
}

async fn explain(store: &cmdb_store::Store, (sql, params): Statement) -> Access {
    let names = table_names(&sql);
    let s = sql.clone();
    cmdb_store::read(store.as_ref(), move |tx| {
        Ok(match tx.dialect() {
            Dialect::Sqlite => {
                let rows = tx.query(&format!("EXPLAIN QUERY PLAN {sql}"), &params)?;
                let lines: Vec<String> = rows
                    .iter()
                    .filter_map(|r| r.get(3).and_then(|c| c.as_str()).map(str::to_string))
                    .collect();
                // "SEARCH a USING INDEX instance_association_src (obj_id=? AND inst_id=?)";
                // "SCAN a" / "SCAN a USING INDEX x" read all of the table.
                let object = |line: &str, verb: &str| {
                    line.strip_prefix(verb)
                        .and_then(|rest| rest.split_whitespace().next())
                        .is_some_and(|name| names.iter().any(|n| n == name))
                };
                let mut access = Access {
                    lookups: 0,
                    wide: Vec::new(),
                    plan: lines.join("\n"),
                };
                for line in &lines {
                    if object(line, "SEARCH ") && pins_instance(line) {
                        access.lookups += 1;
                    } else if object(line, "SEARCH ") || object(line, "SCAN ") {
                        access.wide.push(line.clone());
                    }
                }
                access
            }
            Dialect::Postgres => {
                let rows = tx.query(&format!("EXPLAIN (FORMAT JSON) {sql}"), &params)?;
                let plan = match rows.first().and_then(|r| r.first()) {
                    Some(SqlValue::Json(v)) => v.clone(),
                    Some(SqlValue::Text(t)) => serde_json::from_str(t).unwrap_or(Value::Null),
                    other => panic!("EXPLAIN answered {other:?}"),
                };
                let mut access = Access {
                    lookups: 0,
                    wide: Vec::new(),
                    plan: serde_json::to_string_pretty(&plan).unwrap_or_default(),
                };
                walk_pg(&plan[0]["Plan"], &mut access);
                access
            }
        })
    })
    .await
    .unwrap_or_else(|e| panic!("EXPLAIN failed ({e}) for {s}"))
}

/// The index conditions of a bitmap subtree (`Bitmap Index Scan` leaves under `BitmapOr` /
/// `BitmapAnd`); `None` when a leaf has none.
fn bitmap_conds(node: &Value, out: &mut Vec<String>) {
    if node["Node Type"] == json!("Bitmap Index Scan") {
        out.push(node["Index Cond"].as_str().unwrap_or_default().to_string());
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        bitmap_conds(child, out);
    }
}

/// Classifies every PostgreSQL plan node over `instance_association`: an index scan, or a
/// bitmap heap scan, whose index conditions all pin an instance is a lookup; a sequential scan,
/// an index scan without a condition (the whole index in order) or with one that does not pin
/// an instance reads too much.
fn walk_pg(node: &Value, access: &mut Access) {
    // `ModifyTable` is the write of a DELETE / UPDATE; what it reads is its child.
    if node["Relation Name"] == json!("instance_association")
        && node["Node Type"] != json!("ModifyTable")
    {
        let kind = node["Node Type"].as_str().unwrap_or_default();
        let conds = match kind {
            "Index Scan" | "Index Only Scan" => node["Index Cond"]
                .as_str()
                .map(|c| vec![c.to_string()])
                .unwrap_or_default(),
            "Bitmap Heap Scan" => {
                let mut conds = Vec::new();
                bitmap_conds(node, &mut conds);
                conds
            }
            _ => Vec::new(),
        };
        if !conds.is_empty() && conds.iter().all(|c| pins_instance(c)) {
            access.lookups += 1;
        } else {
            access.wide.push(format!(
                "{kind} on instance_association {} {conds:?}",
                node["Index Name"].as_str().unwrap_or_default()
            ));
        }
    }
    for child in node["Plans"].as_array().into_iter().flatten() {
        walk_pg(child, access);
    }
}

/// Explains every statement of `statements` that touches the association table and asserts
/// that each one reads it only by index lookups of one instance's links; returns how many
/// statements there were.
async fn assert_index_lookups(
    store: &cmdb_store::Store,
    what: &str,
    statements: Vec<Statement>,
) -> usize {
    let mut checked = 0;
    for statement in statements {
        if !statement.0.contains("instance_association") {
            continue;
        }
        let sql = statement.0.clone();
        let access = explain(store, statement).await;
        assert!(
            access.wide.is_empty(),
            "{what}: reads more of instance_association than one instance's links: {:?}\n\
             SQL: {sql}\nplan:\n{}",
            access.wide,
            access.plan
        );
        assert!(
            access.lookups > 0,
            "{what}: instance_association is not searched by an index\nSQL: {sql}\nplan:\n{}",
            access.plan
        );
        checked += 1;
    }
    assert!(
        checked > 0,
        "{what} sent no statement over instance_association"
    );
    checked
}

fn ctx() -> OpContext {
    OpContext {
        user: "admin".into(),
        supplier: "0".into(),
        app_code: "plans".into(),
        now: 1_700_000_000_000,
    }
}

fn body(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap()
}

#[tokio::test]
async fn association_queries_are_index_lookups_in_both_directions() {
    let app = TestApp::spawn().await;
    let store = app.open_store().await;
    let summary = cmdb::gen::generate_assoc(
        store.clone(),
        cmdb::gen::GenAssocConfig {
            data: app.data_dir.clone(),
            database: app.database.clone(),
            sources: 400,
            targets: 400,
            per_source: 50,
            prefix: "ep".into(),
        },
    )
    .await
    .expect("generate links");
    assert_eq!(summary["links"], json!(20_000));
    let src = summary["src_ids"][0].as_i64().unwrap() + 17;
    let dst = summary["dst_ids"][0].as_i64().unwrap() + 17;
    let postgres = cmdb_store::read(store.as_ref(), |tx| Ok(tx.dialect()))
        .await
        .unwrap()
        == Dialect::Postgres;
    if postgres {
        cmdb_store::write(store.as_ref(), |tx| {
            tx.execute_batch("ANALYZE instance_association; ANALYZE instance")
        })
        .await
        .unwrap();
    }
    // The detector itself: a filter no index serves (every link has the kind `connect`) and
    // one that names only a model (every link of `ep_src`) are seen as reading too much.
    for sql in [
        "SELECT id FROM instance_association WHERE asst_id = ?",
        "SELECT id FROM instance_association WHERE obj_id = ? ORDER BY obj_id, inst_id",
    ] {
        let value = if sql.contains("asst_id") {
            "connect"
        } else {
            "ep_src"
        };
        let access = explain(&store, (sql.into(), vec![SqlValue::from(value)])).await;
        assert!(
            !access.wide.is_empty() && access.lookups == 0,
            "not detected: {sql}\n{}",
            access.plan
        );
    }
    let mut checked = 0;

    // search_related_inst_asso, from either end.
    for (obj, inst) in [("ep_src", src), ("ep_dst", dst)] {
        let (statements, found) = noted_read(&store, move |tx| {
            let page = Page::parse(&json!({"start": 0, "limit": 500}), "page")?;
            associations::related(tx, obj, inst, &["id".to_string()], &page)
        })
        .await;
        assert_eq!(found.len(), 50, "{obj} {inst}");
        checked += assert_index_lookups(&store, "search_related_inst_asso", statements).await;
    }

    // find_instassociation_with_inst, filtering on the source or the target id, with the other
    // side's details.
    for (obj, inst, field, side) in [
        ("ep_src", src, "bk_inst_id", "dst"),
        ("ep_dst", dst, "bk_asst_inst_id", "src"),
    ] {
        let q = WithInstQuery::parse(&body(json!({
            "condition": {"asst_filter": {"condition": "AND", "rules": [
                {"field": field, "operator": "equal", "value": inst}]}},
            format!("{side}_detail"): true,
            "page": {"start": 0, "limit": 200},
        })))
        .unwrap();
        let (statements, found) =
            noted_read(&store, move |tx| associations::with_inst(tx, obj, &q)).await;
        assert_eq!(found["association"].as_array().map(Vec::len), Some(50));
        assert_eq!(found[side].as_array().map(Vec::len), Some(50));
        checked += assert_index_lookups(&store, "find_instassociation_with_inst", statements).await;
    }

    // search_inst_asst_object_inst_base_info in both directions, and the association topology.
    for (obj, inst, other, is_target) in [
        ("ep_src", src, "ep_dst", false),
        ("ep_dst", dst, "ep_src", true),
    ] {
        let (statements, found) = noted_read(&store, move |tx| {
            associations::base_info(tx, obj, inst, other, is_target, 0, 20)
        })
        .await;
        assert_eq!(found["count"], json!(50));
        checked += assert_index_lookups(&store, "base_info", statements).await;
    }
    let (statements, found) =
        noted_read(&store, move |tx| associations::topo(tx, "ep_src", src)).await;
    assert_eq!(found[0]["count"], json!(50));
    checked += assert_index_lookups(&store, "search_inst_association_topo", statements).await;

    // The deletion guard, refusing (an instance with live links at either end) ...
    for (obj, inst) in [("ep_src", src), ("ep_dst", dst)] {
        let (statements, out) = noted_write(&store, move |tx| {
            instances::delete(tx, &ctx(), obj, &[inst])
        })
        .await;
        assert!(
            matches!(
                out,
                Err(StoreError::Domain(
                    cmdb_domain::DomainError::InstHasAssociation
                ))
            ),
            "{out:?}"
        );
        checked += assert_index_lookups(&store, "delete_inst (refused)", statements).await;
    }
    // ... and letting an instance go with its links (a new one, linked only to itself).
    let (lone, self_link) = cmdb_store::write(store.as_ref(), |tx| {
        let id = instances::create(tx, &ctx(), "ep_src", &body(json!({"bk_inst_name": "lone"})))?
            ["bk_inst_id"]
            .as_i64()
            .unwrap_or(0);
        associations::create_object_association(
            tx,
            &ctx(),
            &body(
                json!({"bk_obj_asst_id": "ep_src_connect_ep_src", "bk_obj_id": "ep_src",
                         "bk_asst_obj_id": "ep_src", "bk_asst_id": "connect"}),
            ),
        )?;
        let link = associations::add(tx, &ctx(), "ep_src_connect_ep_src", id, id)?;
        Ok((id, link))
    })
    .await
    .unwrap();
    let (statements, out) = noted_write(&store, move |tx| {
        instances::delete(tx, &ctx(), "ep_src", &[lone])
    })
    .await;
    out.expect("delete the instance linked only to itself");
    checked += assert_index_lookups(&store, "delete_inst", statements).await;
    let left = cmdb_store::read(store.as_ref(), move |tx| {
        tx.query(
            "SELECT COUNT(*) FROM instance_association WHERE id = ?",
            &[SqlValue::Int(self_link)],
        )
    })
    .await
    .unwrap();
    assert_eq!(left[0][0], SqlValue::Int(0), "the self-link went with it");

    // search_related_inst_asso 2 + find_instassociation_with_inst 2 + base_info 2 + topo 1
    // + refused guards 2 + guard and link removal 2 = at least 11 statements.
    assert!(checked >= 11, "{checked}");
    store.close().await;
}
