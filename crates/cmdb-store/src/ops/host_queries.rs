//! Host reads (40-hosts §6): the host lists (by business with topology and attribute filters,
//! without business, of the resource pool, by topology node), the relation reads and the
//! host-with-topology views.
//!
//! Every list first resolves its scope to host ids through the `host_module` indexes (a
//! module's or a business's hosts, in id order, never touching host documents), then either
//! pages those ids directly (no attribute filter, default order: only the page's documents are
//! read) or filters the documents of exactly those ids in SQL. Host documents leave in their
//! wire form (list fields comma-joined).

use std::collections::{BTreeMap, HashMap};

use cmdb_domain::filter::{
    parse_condition_list, parse_query_filter, parse_query_filter_with, Expr, FieldCatalog,
    FieldInfo, Limits, Page, RegexMode,
};
use cmdb_domain::host::{normalize_filter_ipv6, to_wire};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::hosts::{
    host_schema, ints, marks, relation_rows, resource_pool, unique_ids, HostCatalog, Relation,
};
use super::instances::{parse_projected, project, run_query, string_list, Found, Query};
use super::mainline::chain;
use super::schema_cache::ModelSchema;
use super::sets_modules::{Level, LevelCatalog};
use super::util::{first_ints, loose_i64, scalar_i64};
use crate::sql::compile::compile_where;
use crate::sql::SqlBuilder;
use crate::{Dialect, SqlValue, StoreError, Tx};

/// Largest page of the host lists that allow 1000 (`ListHostsParameter`).
const MAX_PAGE: u64 = 1000;
/// Largest page of the newer topology host reads.
const MAX_TOPO_PAGE: u64 = 500;

/// `LIMIT` and `OFFSET` of a paged statement, both bound (see [`crate::sql::BOUND_COUNT`]).
const PAGE_SQL: &str = "LIMIT CAST(? AS BIGINT) OFFSET CAST(? AS BIGINT)";

/// How one host list pages and projects.
struct HostPage {
    start: u64,
    limit: Option<u64>,
    sort: Vec<(FieldInfo, bool)>,
    fields: Option<Vec<String>>,
}

fn host_page(
    body: &Map<String, Value>,
    catalog: &dyn FieldCatalog,
    max: u64,
) -> Result<HostPage, DomainError> {
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    page.validate_limit(max, "page")?;
    Ok(HostPage {
        start: page.start,
        limit: page.limit_opt(),
        sort: page.sort_fields(catalog, "page")?,
        fields: string_list(body.get("fields"), "fields")?,
    })
}

/// The `host_property_filter` of a host list (depth ≤ 3, same element types; IPv6 values
/// normalised).
fn host_filter(body: &Map<String, Value>, catalog: &dyn FieldCatalog) -> Result<Expr, DomainError> {
    let mut e = parse_query_filter_with(
        body.get("host_property_filter").unwrap_or(&Value::Null),
        catalog,
        "host_property_filter",
        &Limits::HOST_QUERY_FILTER,
    )?;
    normalize_filter_ipv6(&mut e);
    Ok(e)
}

/// The page and the `host_property_filter` of a host list request, parsed against the host
/// model.
fn host_request(
    tx: &mut dyn Tx,
    body: &Map<String, Value>,
    max: u64,
) -> Result<(HostPage, Expr), StoreError> {
    let schema = host_schema(tx)?;
    let catalog = HostCatalog(&schema);
    Ok((
        host_page(body, &catalog, max)?,
        host_filter(body, &catalog)?,
    ))
}

/// A wire host document projected to `fields`.
fn wire_host(doc: Value, fields: Option<&[String]>) -> Value {
    let mut doc = doc;
    if let Value::Object(map) = &mut doc {
        to_wire(map);
    }
    project(doc, fields)
}

/// SQL for "`inst_id` is one of the ids bound as one JSON array parameter": the text before
/// and after the placeholder.
fn in_id_set(dialect: Dialect) -> (&'static str, &'static str) {
    match dialect {
        Dialect::Sqlite => ("inst_id IN (SELECT value FROM json_each(", "))"),
        Dialect::Postgres => (
            "inst_id IN (SELECT CAST(e AS BIGINT) FROM jsonb_array_elements_text(",
            ") AS t(e))",
        ),
    }
}

/// Host documents by id (at most one page), in id order, in wire form and projected to
/// `fields`. The rows are streamed through one reused buffer ([`Tx::query_each`]) and a stored
/// text is parsed only as far as the fields need ([`parse_projected`]): most of the cost of a
/// page of 500 hosts was copying and parsing whole documents to keep a handful of fields.
fn host_docs(
    tx: &mut dyn Tx,
    ids: &[i64],
    fields: Option<&[String]>,
) -> Result<Vec<Value>, StoreError> {
    let fields = fields.filter(|f| !f.is_empty());
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(MAX_PAGE as usize) {
        let sql = format!(
            "SELECT data FROM instance WHERE obj_id = 'host' AND inst_id IN ({}) ORDER BY inst_id",
            marks(chunk.len())
        );
        tx.query_each(&sql, &ints(chunk), &mut |row| {
            let mut map = match (row.first(), fields) {
                (Some(SqlValue::Text(text)), Some(fields)) => parse_projected(text, fields)?,
                (Some(SqlValue::Json(Value::Object(doc))), Some(fields)) => fields
                    .iter()
                    .filter_map(|f| doc.get(f).map(|v| (f.clone(), v.clone())))
                    .collect(),
                (Some(cell), _) => match cell.to_json()? {
                    Value::Object(map) => map,
                    _ => return Err(StoreError::Corrupt("host document is not an object".into())),
                },
                (None, _) => return Ok(()),
            };
            to_wire(&mut map);
            out.push(Value::Object(map));
            Ok(())
        })?;
    }
    Ok(out)
}

/// The hosts of `scope` (all hosts when `None`) matching `filter`, counted and paged.
///
/// Without an attribute filter and in the default order (id), the count and the page's ids
/// come straight off the relation indexes and only the page's documents are read: counting
/// the hosts of a business reads index entries, never documents or a list of all its ids.
fn search_hosts(
    tx: &mut dyn Tx,
    scope: Option<&Scope>,
    filter: Expr,
    page: &HostPage,
) -> Result<Found, StoreError> {
    let fields = page.fields.as_deref();
    let scope_ids = match scope {
        Some(scope) if filter == Expr::True && page.sort.is_empty() => {
            let count = scope.count_hosts(tx)?;
            let ids = if count == 0 {
                Vec::new()
            } else {
                scope.host_ids(tx, page.start, page.limit)?
            };
            let info = host_docs(tx, &ids, fields)?;
            return Ok(Found {
                count: Some(count),
                info,
            });
        }
        Some(scope) => {
            let ids = scope.host_ids(tx, 0, None)?;
            if ids.is_empty() {
                return Ok(Found {
                    count: Some(0),
                    info: Vec::new(),
                });
            }
            Some(ids)
        }
        None => None,
    };
    let restrict = scope_ids.map(|ids| {
        let (before, after) = in_id_set(tx.dialect());
        let mut b = SqlBuilder::new();
        b.push(before)
            .bind(SqlValue::Json(Value::Array(
                ids.iter().map(|i| Value::from(*i)).collect(),
            )))
            .push(after);
        b
    });
    let q = Query {
        filter,
        restrict,
        sort: page.sort.clone(),
        start: page.start,
        limit: page.limit,
    };
    let mut found = run_query(tx, "host", &q, true, true, None)?;
    found.info = found
        .info
        .into_iter()
        .map(|d| wire_host(d, fields))
        .collect();
    Ok(found)
}

/// Which relation rows a scope covers.
#[derive(Default)]
struct Scope {
    biz: Option<i64>,
    sets: Option<Vec<i64>>,
    modules: Option<Vec<i64>>,
    hosts: Option<Vec<i64>>,
}

impl Scope {
    fn where_sql(&self) -> (String, Vec<SqlValue>) {
        let mut parts = Vec::new();
        let mut params = Vec::new();
        if let Some(b) = self.biz {
            parts.push("biz_id = ?".to_string());
            params.push(SqlValue::Int(b));
        }
        for (col, ids) in [
            ("set_id", &self.sets),
            ("module_id", &self.modules),
            ("host_id", &self.hosts),
        ] {
            if let Some(ids) = ids {
                parts.push(format!("{col} IN ({})", marks(ids.len().max(1))));
                if ids.is_empty() {
                    params.push(SqlValue::Int(-1));
                } else {
                    params.extend(ints(ids));
                }
            }
        }
        if parts.is_empty() {
            parts.push("1 = 1".into());
        }
        (parts.join(" AND "), params)
    }

    /// How many distinct hosts the scope holds.
    fn count_hosts(&self, tx: &mut dyn Tx) -> Result<u64, StoreError> {
        let (w, params) = self.where_sql();
        let rows = tx.query(
            &format!("SELECT COUNT(DISTINCT host_id) FROM host_module WHERE {w}"),
            &params,
        )?;
        Ok(scalar_i64(&rows)
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0))
    }

    /// The scope's distinct host ids, ascending, from `start` on (`limit` `None` = to the end).
    fn host_ids(
        &self,
        tx: &mut dyn Tx,
        start: u64,
        limit: Option<u64>,
    ) -> Result<Vec<i64>, StoreError> {
        let (w, mut params) = self.where_sql();
        let limit = limit.map_or(i64::MAX, |l| i64::try_from(l).unwrap_or(i64::MAX));
        params.push(SqlValue::Int(limit));
        params.push(SqlValue::Int(i64::try_from(start).unwrap_or(i64::MAX)));
        let rows = tx.query(
            &format!(
                "SELECT DISTINCT host_id FROM host_module WHERE {w} ORDER BY host_id {PAGE_SQL}"
            ),
            &params,
        )?;
        Ok(first_ints(&rows))
    }

    /// Relation rows of the scope, by host then module.
    fn relations(&self, tx: &mut dyn Tx) -> Result<Vec<Relation>, StoreError> {
        let (w, params) = self.where_sql();
        let rows = tx.query(
            &format!(
                "SELECT host_id, biz_id, set_id, module_id, dflt FROM host_module WHERE {w} \
                 ORDER BY host_id, module_id"
            ),
            &params,
        )?;
        Ok(relation_rows(rows))
    }
}

/// An optional id list: absent, null or `[]` = no restriction; more than `max` → 1199006.
fn id_list(
    body: &Map<String, Value>,
    key: &str,
    max: usize,
) -> Result<Option<Vec<i64>>, DomainError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) if items.is_empty() => Ok(None),
        Some(Value::Array(items)) => {
            if items.len() > max {
                return Err(DomainError::ParamsInvalid(key.into()));
            }
            let ids = items
                .iter()
                .map(|v| v.as_i64().ok_or(DomainError::JsonUnmarshal))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(unique_ids(&ids)))
        }
        Some(_) => Err(DomainError::JsonUnmarshal),
    }
}

/// Ids of instances of `obj_id` in business `biz_id` matching `expr`.
fn matching_ids(
    tx: &mut dyn Tx,
    obj_id: &str,
    biz_id: i64,
    expr: &Expr,
) -> Result<Vec<i64>, StoreError> {
    let mut b = SqlBuilder::new();
    b.push("SELECT inst_id FROM instance WHERE obj_id = ")
        .bind(obj_id)
        .push(" AND biz_id = ")
        .bind(SqlValue::Int(biz_id))
        .push(" AND (");
    compile_where(expr, tx.dialect(), "data", &mut b)?;
    b.push(") ORDER BY inst_id");
    let rows = tx.query(&b.sql, &b.params)?;
    Ok(first_ints(&rows))
}

fn level_schema(
    tx: &mut dyn Tx,
    level: Level,
    biz_id: i64,
) -> Result<std::sync::Arc<ModelSchema>, StoreError> {
    let obj = match level {
        Level::Set => "set",
        Level::Module => "module",
    };
    ModelSchema::load_builtin(tx, obj, biz_id)
}

/// Set or module ids of the business matching a `set_cond` / `module_cond` list.
fn cond_ids(
    tx: &mut dyn Tx,
    level: Level,
    biz_id: i64,
    cond: &Value,
    path: &str,
) -> Result<Vec<i64>, StoreError> {
    let schema = level_schema(tx, level, biz_id)?;
    let catalog = LevelCatalog {
        schema: &schema,
        level,
    };
    let expr = parse_condition_list(cond, &catalog, path, RegexMode::Literal)?;
    let obj = if level == Level::Set { "set" } else { "module" };
    matching_ids(tx, obj, biz_id, &expr)
}

/// Set or module ids of the business matching a QueryFilter (`None` when no filter is given).
fn filter_ids(
    tx: &mut dyn Tx,
    level: Level,
    biz_id: i64,
    filter: Option<&Value>,
    path: &str,
) -> Result<Option<Vec<i64>>, StoreError> {
    let Some(filter) = filter.filter(|f| !f.is_null()) else {
        return Ok(None);
    };
    let schema = level_schema(tx, level, biz_id)?;
    let catalog = LevelCatalog {
        schema: &schema,
        level,
    };
    let expr = parse_query_filter(filter, &catalog, path)?;
    let obj = if level == Level::Set { "set" } else { "module" };
    Ok(Some(matching_ids(tx, obj, biz_id, &expr)?))
}

/// Intersects an optional restriction with another.
fn restrict(a: Option<Vec<i64>>, b: Option<Vec<i64>>) -> Option<Vec<i64>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.into_iter().filter(|x| b.contains(x)).collect()),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The `bk_obj_id` a topology read needs: a non-empty string (else 1199010).
fn required_obj_id(body: &Map<String, Value>) -> Result<String, DomainError> {
    body.get("bk_obj_id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .ok_or_else(|| DomainError::NeedSet("bk_obj_id".into()))
}

/// A field list the request must give, non-empty (else 1199010 naming `key`).
fn required_list(body: &Map<String, Value>, key: &str) -> Result<Vec<String>, DomainError> {
    string_list(body.get(key), key)?
        .filter(|f| !f.is_empty())
        .ok_or_else(|| DomainError::NeedSet(key.into()))
}

fn found_json(found: Found) -> Value {
    json!({"count": found.count.unwrap_or(0), "info": found.info})
}

/// `list_biz_hosts` (§6.1): hosts of business `biz_id`, optionally within sets (`bk_set_ids`
/// or `set_cond`, not both → 1199006) and modules (`bk_module_ids` or `module_cond`), matching
/// `host_property_filter`; `page.limit` 1…1000 (else 1199006). `{count, info}`.
pub fn list_biz_hosts(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let (page, filter) = host_request(tx, body, MAX_PAGE)?;
    let present = |k: &str| body.get(k).is_some_and(|v| !v.is_null());
    if present("bk_set_ids") && present("set_cond") {
        return Err(DomainError::ParamsInvalid("bk_set_ids".into()).into());
    }
    if present("bk_module_ids") && present("module_cond") {
        return Err(DomainError::ParamsInvalid("bk_module_ids".into()).into());
    }
    let mut sets = id_list(body, "bk_set_ids", 200)?;
    let mut modules = id_list(body, "bk_module_ids", 500)?;
    if let Some(cond) = body.get("set_cond").filter(|v| !v.is_null()) {
        sets = Some(cond_ids(tx, Level::Set, biz_id, cond, "set_cond")?);
    }
    if let Some(cond) = body.get("module_cond").filter(|v| !v.is_null()) {
        modules = Some(cond_ids(tx, Level::Module, biz_id, cond, "module_cond")?);
    }
    let scope = Scope {
        biz: Some(biz_id),
        sets,
        modules,
        hosts: None,
    };
    Ok(found_json(search_hosts(tx, Some(&scope), filter, &page)?))
}

/// `list_resource_pool_hosts` (§6.4): list_biz_hosts of the resource pool.
pub fn list_resource_pool_hosts(
    tx: &mut dyn Tx,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let pool = resource_pool(tx)?;
    list_biz_hosts(tx, pool, body)
}

/// `list_hosts_without_biz` (§6.3): all hosts matching `host_property_filter`, whatever their
/// business; `page.limit` 1…1000.
pub fn list_hosts_without_biz(
    tx: &mut dyn Tx,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let (page, filter) = host_request(tx, body, MAX_PAGE)?;
    Ok(found_json(search_hosts(tx, None, filter, &page)?))
}

/// One topology instance (custom level, set, module) as the host reads need it.
#[derive(Debug, Clone, Default)]
struct Node {
    id: i64,
    name: String,
    parent: i64,
    /// The `default` flag: 0 for normal sets and modules.
    dflt: i64,
}

/// What [`nodes`] matches the ids against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodesBy {
    /// The instance ids (a primary-key seek each).
    Id,
    /// The parent ids (the children of those instances).
    Parent,
}

/// The instances of `obj_id` whose id or parent (`by`) is among `ids`, only in business `biz`
/// when given, in id order. Looked up in chunks of 1,000 ids, so any number of ids makes
/// statements of bounded size. Every level lookup of the host reads goes through here.
fn nodes(
    tx: &mut dyn Tx,
    obj_id: &str,
    biz: Option<i64>,
    by: NodesBy,
    ids: &[i64],
) -> Result<Vec<Node>, StoreError> {
    let ids = unique_ids(ids);
    let column = match by {
        NodesBy::Id => "inst_id",
        NodesBy::Parent => "parent_id",
    };
    let biz_sql = if biz.is_some() { " AND biz_id = ?" } else { "" };
    let mut out = Vec::new();
    for chunk in ids.chunks(MAX_PAGE as usize) {
        let mut params = vec![SqlValue::from(obj_id)];
        params.extend(biz.map(SqlValue::Int));
        params.extend(ints(chunk));
        let rows = tx.query(
            &format!(
                "SELECT inst_id, inst_name, parent_id, dflt FROM instance WHERE obj_id = ?{biz_sql} \
                 AND {column} IN ({})",
                marks(chunk.len())
            ),
            &params,
        )?;
        out.extend(rows.into_iter().filter_map(|r| {
            Some(Node {
                id: r.first()?.as_i64()?,
                name: r.get(1)?.as_str().unwrap_or_default().to_string(),
                parent: r.get(2)?.as_i64()?,
                dflt: r.get(3)?.as_i64()?,
            })
        }));
    }
    out.sort_by_key(|n| n.id);
    Ok(out)
}

/// The ids of `nodes`.
fn node_ids(nodes: Vec<Node>) -> Vec<i64> {
    nodes.into_iter().map(|n| n.id).collect()
}

/// Modules of business `biz_id` allowed by optional set and module QueryFilters (`None` = no
/// restriction).
fn allowed_modules(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
    set_sets: Option<Vec<i64>>,
) -> Result<Option<Vec<i64>>, StoreError> {
    let sets = restrict(
        set_sets,
        filter_ids(
            tx,
            Level::Set,
            biz_id,
            body.get("set_property_filter"),
            "set_property_filter",
        )?,
    );
    let modules = filter_ids(
        tx,
        Level::Module,
        biz_id,
        body.get("module_property_filter"),
        "module_property_filter",
    )?;
    let from_sets = match sets {
        None => None,
        Some(sets) => Some(node_ids(nodes(
            tx,
            "module",
            Some(biz_id),
            NodesBy::Parent,
            &sets,
        )?)),
    };
    Ok(restrict(from_sets, modules))
}

/// The modules and sets the relations name: module names, and the sets (name, parent, flag).
struct TopoNames {
    modules: HashMap<i64, String>,
    sets: HashMap<i64, Node>,
}

fn topo_names(tx: &mut dyn Tx, relations: &[Relation]) -> Result<TopoNames, StoreError> {
    let module_ids: Vec<i64> = relations.iter().map(|r| r.module_id).collect();
    let set_ids: Vec<i64> = relations.iter().map(|r| r.set_id).collect();
    Ok(TopoNames {
        modules: nodes(tx, "module", None, NodesBy::Id, &module_ids)?
            .into_iter()
            .map(|n| (n.id, n.name))
            .collect(),
        sets: nodes(tx, "set", None, NodesBy::Id, &set_ids)?
            .into_iter()
            .map(|n| (n.id, n))
            .collect(),
    })
}

/// A page of hosts (wire documents) with their relations, and the total.
type HostsWithRelations = (u64, Vec<(Value, Vec<Relation>)>);

/// Hosts of business `biz_id` within `modules` (all when `None`) matching the host filter,
/// paged; with their relations in the business (restricted to `modules`).
fn hosts_with_relations(
    tx: &mut dyn Tx,
    biz_id: i64,
    modules: Option<Vec<i64>>,
    filter: Expr,
    page: &HostPage,
) -> Result<HostsWithRelations, StoreError> {
    if modules.as_ref().is_some_and(Vec::is_empty) {
        return Ok((0, Vec::new()));
    }
    let scope = Scope {
        biz: Some(biz_id),
        modules: modules.clone(),
        ..Scope::default()
    };
    let with_ids = HostPage {
        start: page.start,
        limit: page.limit,
        sort: page.sort.clone(),
        fields: None,
    };
    let found = search_hosts(tx, Some(&scope), filter, &with_ids)?;
    let page_ids: Vec<i64> = found
        .info
        .iter()
        .filter_map(|d| d.get("bk_host_id").and_then(loose_i64))
        .collect();
    let rel_scope = Scope {
        biz: Some(biz_id),
        modules,
        hosts: Some(page_ids),
        ..Scope::default()
    };
    let mut by_host: BTreeMap<i64, Vec<Relation>> = BTreeMap::new();
    for r in rel_scope.relations(tx)? {
        by_host.entry(r.host_id).or_default().push(r);
    }
    let fields = page.fields.as_deref();
    let rows = found
        .info
        .into_iter()
        .map(|d| {
            let id = d.get("bk_host_id").and_then(loose_i64).unwrap_or(0);
            let rels = by_host.remove(&id).unwrap_or_default();
            (project(d, fields), rels)
        })
        .collect();
    Ok((found.count.unwrap_or(0), rows))
}

/// `list_biz_hosts_topo` (§6.2): hosts of the business matching `host_property_filter` and
/// (when given) lying in modules allowed by `set_property_filter` / `module_property_filter`;
/// each with `topo`: its sets and modules there. `page.limit` 1…500.
pub fn list_biz_hosts_topo(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let (page, filter) = host_request(tx, body, MAX_TOPO_PAGE)?;
    let modules = allowed_modules(tx, biz_id, body, None)?;
    let (count, rows) = hosts_with_relations(tx, biz_id, modules, filter, &page)?;
    let all: Vec<Relation> = rows.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    let names = topo_names(tx, &all)?;
    let info: Vec<Value> = rows
        .into_iter()
        .map(|(host, rels)| {
            let mut by_set: BTreeMap<i64, Vec<Value>> = BTreeMap::new();
            for r in &rels {
                by_set.entry(r.set_id).or_default().push(json!({
                    "bk_module_id": r.module_id,
                    "bk_module_name": names.modules.get(&r.module_id).cloned().unwrap_or_default(),
                }));
            }
            let topo: Vec<Value> = by_set
                .into_iter()
                .map(|(set_id, modules)| {
                    json!({"bk_set_id": set_id,
                           "bk_set_name": names.sets.get(&set_id).map(|s| s.name.clone()).unwrap_or_default(),
                           "module": modules})
                })
                .collect();
            json!({"host": host, "topo": topo})
        })
        .collect();
    Ok(json!({"count": count, "info": info}))
}

/// The modules of business `biz_id` at or below topology node (`obj_id`, `inst_id`): a module,
/// a set, or a custom-level instance (walked level by level; idle-pool sets hang below the
/// business only). `biz` / `host` / unknown models → 1199006 `bk_obj_id`.
fn modules_under(
    tx: &mut dyn Tx,
    biz_id: i64,
    obj_id: &str,
    ids: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let levels = chain(tx)?;
    let Some(pos) = levels.iter().position(|o| o == obj_id) else {
        return Err(DomainError::ParamsInvalid("bk_obj_id".into()).into());
    };
    if obj_id == "biz" || obj_id == "host" {
        return Err(DomainError::ParamsInvalid("bk_obj_id".into()).into());
    }
    let mut current = node_ids(nodes(tx, obj_id, Some(biz_id), NodesBy::Id, ids)?);
    for level in levels.iter().skip(pos + 1) {
        if obj_id == "module" || level == "host" || current.is_empty() {
            break;
        }
        // The idle-pool set hangs below the business only, never below a custom level.
        current = nodes(tx, level, Some(biz_id), NodesBy::Parent, &current)?
            .into_iter()
            .filter(|n| level != "set" || n.dflt == 0)
            .map(|n| n.id)
            .collect();
        if level == "module" {
            break;
        }
    }
    Ok(current)
}

/// The relations of the modules at or below topology nodes ([`modules_under`]) as a scope;
/// `None` when there are no such modules.
fn scope_under(
    tx: &mut dyn Tx,
    biz_id: i64,
    obj_id: &str,
    ids: &[i64],
) -> Result<Option<Scope>, StoreError> {
    let modules = modules_under(tx, biz_id, obj_id, ids)?;
    Ok((!modules.is_empty()).then(|| Scope {
        biz: Some(biz_id),
        modules: Some(modules),
        ..Scope::default()
    }))
}

/// `find_host_by_topo` (§6.7): hosts of the modules at or below one topology node of the
/// business; `fields` non-empty (1199010), `page.limit` 1…500.
pub fn find_host_by_topo(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let obj_id = required_obj_id(body)?;
    let inst_id = body
        .get("bk_inst_id")
        .filter(|v| v.is_number())
        .and_then(loose_i64)
        .ok_or_else(|| DomainError::NeedSet("bk_inst_id".into()))?;
    let schema = host_schema(tx)?;
    let catalog = HostCatalog(&schema);
    let page = host_page(body, &catalog, MAX_TOPO_PAGE)?;
    if page.fields.as_ref().is_none_or(Vec::is_empty) {
        return Err(DomainError::NeedSet("fields".into()).into());
    }
    let Some(scope) = scope_under(tx, biz_id, &obj_id, &[inst_id])? else {
        return Ok(json!({"count": 0, "info": []}));
    };
    Ok(found_json(search_hosts(
        tx,
        Some(&scope),
        Expr::True,
        &page,
    )?))
}

/// `find_host_topo_relation` (§6.5): relation rows of the business, optionally restricted to
/// sets (≤ 200), modules (≤ 500) and hosts (≤ 500); `page.limit` 1…500 required.
/// `{count, page: {start, limit}, data: [rows]}`.
pub fn find_host_topo_relation(
    tx: &mut dyn Tx,
    supplier: &str,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    page.validate_limit(MAX_TOPO_PAGE, "page")?;
    let scope = Scope {
        biz: Some(biz_id),
        sets: id_list(body, "bk_set_ids", 200)?,
        modules: id_list(body, "bk_module_ids", 500)?,
        hosts: id_list(body, "bk_host_ids", 500)?,
    };
    let (w, mut params) = scope.where_sql();
    let count = tx.query(
        &format!("SELECT COUNT(*) FROM host_module WHERE {w}"),
        &params,
    )?;
    let count = count
        .first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_i64)
        .unwrap_or(0);
    params.push(SqlValue::Int(i64::try_from(page.limit).unwrap_or(i64::MAX)));
    params.push(SqlValue::Int(i64::try_from(page.start).unwrap_or(i64::MAX)));
    let rows = tx.query(
        &format!(
            "SELECT host_id, biz_id, set_id, module_id, dflt FROM host_module WHERE {w} \
             ORDER BY host_id, module_id {PAGE_SQL}"
        ),
        &params,
    )?;
    let data: Vec<Value> = relation_rows(rows)
        .iter()
        .map(|r| r.to_json(supplier))
        .collect();
    Ok(json!({"count": count, "page": {"start": page.start, "limit": page.limit}, "data": data}))
}

/// `find_host_biz_relations` (§6.6): every relation row of 1…500 hosts (else 1199010 /
/// 1199035), optionally only in business `bk_biz_id`; unpaged.
pub fn find_host_biz_relations(
    tx: &mut dyn Tx,
    supplier: &str,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let hosts = match body.get("bk_host_id") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_i64().ok_or(DomainError::JsonUnmarshal))
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    if hosts.is_empty() {
        return Err(DomainError::NeedSet("bk_host_id".into()).into());
    }
    if hosts.len() > super::hosts::TRANSFER_LIMIT {
        return Err(DomainError::ExceedLimit(
            "bk_host_id".into(),
            super::hosts::TRANSFER_LIMIT as u64,
        )
        .into());
    }
    let biz = match body.get("bk_biz_id") {
        None | Some(Value::Null) => None,
        Some(v) => Some(loose_i64(v).ok_or(DomainError::JsonUnmarshal)?).filter(|b| *b != 0),
    };
    let scope = Scope {
        biz,
        hosts: Some(unique_ids(&hosts)),
        ..Scope::default()
    };
    Ok(Value::Array(
        scope
            .relations(tx)?
            .iter()
            .map(|r| r.to_json(supplier))
            .collect(),
    ))
}

/// `find_module_host_relation` (§6.8): the hosts of modules (1…200 ids) of the business,
/// paged over distinct hosts in id order (`page.limit` 1…1000), each with its modules among
/// those ids; `module_fields` and `host_fields` must be non-empty (1199010).
pub fn find_module_host_relation(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let modules = id_list(body, "bk_module_ids", 200)?
        .ok_or_else(|| DomainError::NeedSet("bk_module_ids".into()))?;
    let module_fields = required_list(body, "module_fields")?;
    let host_fields = required_list(body, "host_fields")?;
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    page.validate_limit(MAX_PAGE, "page")?;
    let host_page = HostPage {
        start: page.start,
        limit: page.limit_opt(),
        sort: Vec::new(),
        fields: Some(host_fields),
    };
    let (count, rows) =
        hosts_with_relations(tx, biz_id, Some(modules.clone()), Expr::True, &host_page)?;
    let mut module_docs: HashMap<i64, Value> = HashMap::new();
    let rows_rel: Vec<i64> = unique_ids(
        &rows
            .iter()
            .flat_map(|(_, rs)| rs.iter().map(|r| r.module_id))
            .collect::<Vec<_>>(),
    );
    for chunk in rows_rel.chunks(MAX_PAGE as usize) {
        let found = tx.query(
            &format!(
                "SELECT inst_id, data FROM instance WHERE obj_id = 'module' AND inst_id IN ({})",
                marks(chunk.len())
            ),
            &ints(chunk),
        )?;
        for r in found {
            let mut cells = r.into_iter();
            if let (Some(id), Some(data)) = (cells.next(), cells.next()) {
                module_docs.insert(
                    id.as_i64().unwrap_or(0),
                    project(data.into_json()?, Some(&module_fields)),
                );
            }
        }
    }
    let relation: Vec<Value> = rows
        .into_iter()
        .map(|(host, rels)| {
            let modules: Vec<Value> = rels
                .iter()
                .filter_map(|r| module_docs.get(&r.module_id).cloned())
                .collect();
            json!({"host": host, "modules": modules})
        })
        .collect();
    Ok(json!({"count": count, "relation": relation}))
}

/// Relation fields `find_host_relations_with_topo` may project to.
const RELATION_FIELDS: [&str; 5] = [
    "bk_biz_id",
    "bk_host_id",
    "bk_module_id",
    "bk_set_id",
    "bk_supplier_account",
];

/// `find_host_relations_with_topo` (§6.9): relation rows below 1…50 topology nodes of one
/// model (`set`, `module`, a custom level; `biz` → 1199006), projected to `fields` (a non-empty
/// subset of the relation fields), `page.limit` 1…500. `{count, info}`.
pub fn find_host_relations_with_topo(
    tx: &mut dyn Tx,
    supplier: &str,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let obj_id = required_obj_id(body)?;
    let ids = id_list(body, "bk_inst_ids", 50)?
        .ok_or_else(|| DomainError::NeedSet("bk_inst_ids".into()))?;
    let fields = required_list(body, "fields")?;
    if fields
        .iter()
        .any(|f| !RELATION_FIELDS.contains(&f.as_str()))
    {
        return Err(DomainError::ParamsInvalid("fields".into()).into());
    }
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    page.validate_limit(MAX_TOPO_PAGE, "page")?;
    let Some(scope) = scope_under(tx, biz_id, &obj_id, &ids)? else {
        return Ok(json!({"count": 0, "info": []}));
    };
    let all = scope.relations(tx)?;
    let count = all.len();
    let start = usize::try_from(page.start).unwrap_or(usize::MAX).min(count);
    let end = start
        .saturating_add(usize::try_from(page.limit).unwrap_or(usize::MAX))
        .min(count);
    let info: Vec<Value> = all[start..end]
        .iter()
        .map(|r| project(r.to_json(supplier), Some(&fields)))
        .collect();
    Ok(json!({"count": count, "info": info}))
}

/// One node of a host's mainline topology (§6.10).
#[derive(Debug, Default)]
struct TopoNode {
    obj: String,
    name: String,
    id: i64,
    children: Vec<TopoNode>,
}

impl TopoNode {
    fn insert_path(nodes: &mut Vec<TopoNode>, path: &[(String, String, i64)]) {
        let Some(((obj, name, id), rest)) = path.split_first() else {
            return;
        };
        let pos = match nodes.iter().position(|n| n.obj == *obj && n.id == *id) {
            Some(p) => p,
            None => {
                nodes.push(TopoNode {
                    obj: obj.clone(),
                    name: name.clone(),
                    id: *id,
                    children: Vec::new(),
                });
                nodes.len() - 1
            }
        };
        if let Some(node) = nodes.get_mut(pos) {
            Self::insert_path(&mut node.children, rest);
        }
    }

    fn to_json(&self) -> Value {
        let children = if self.obj == "module" {
            Value::Null
        } else {
            Value::Array(self.children.iter().map(TopoNode::to_json).collect())
        };
        json!({"inst": {"obj": self.obj, "name": self.name, "id": self.id}, "children": children})
    }
}

/// `list_host_total_mainline_topo` (§6.10): hosts of the business matching the host filter and
/// lying in modules allowed by the set / module / custom-level filters, each with its topology
/// from the topmost custom level (or set) down to its modules. `page.limit` 1…500.
pub fn list_host_total_mainline_topo(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let (page, filter) = host_request(tx, body, MAX_TOPO_PAGE)?;
    let levels = chain(tx)?;
    let custom: Vec<String> = levels
        .iter()
        .filter(|l| !matches!(l.as_str(), "biz" | "set" | "module" | "host"))
        .cloned()
        .collect();
    // Custom-level filters restrict the sets below the matching instances.
    let mut set_restriction: Option<Vec<i64>> = None;
    match body.get("mainline_property_filters") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                let path = format!("mainline_property_filters[{i}]");
                let obj = item
                    .get("bk_obj_id")
                    .and_then(Value::as_str)
                    .filter(|o| custom.iter().any(|c| c == o))
                    .ok_or_else(|| DomainError::ParamsInvalid(format!("{path}.bk_obj_id")))?
                    .to_string();
                let Some(level_schema) = ModelSchema::load(tx, &obj, biz_id)? else {
                    return Err(DomainError::ParamsInvalid(format!("{path}.bk_obj_id")).into());
                };
                let expr = parse_query_filter(
                    item.get("filter").unwrap_or(&Value::Null),
                    &*level_schema,
                    &format!("{path}.filter"),
                )?;
                let ids = matching_ids(tx, &obj, biz_id, &expr)?;
                let modules = modules_under(tx, biz_id, &obj, &ids)?;
                let parents: Vec<i64> = nodes(tx, "module", None, NodesBy::Id, &modules)?
                    .into_iter()
                    .map(|n| n.parent)
                    .collect();
                let sets = unique_ids(&parents);
                set_restriction = restrict(set_restriction, Some(sets));
            }
        }
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    }
    let modules = allowed_modules(tx, biz_id, body, set_restriction)?;
    let (count, rows) = hosts_with_relations(tx, biz_id, modules, filter, &page)?;
    let all: Vec<Relation> = rows.iter().flat_map(|(_, r)| r.iter().copied()).collect();
    let names = topo_names(tx, &all)?;
    // Parents of sets, level by level upwards: (level, id) → (name, parent id).
    let mut custom_nodes: HashMap<(String, i64), (String, i64)> = HashMap::new();
    let mut wanted: Vec<i64> = names
        .sets
        .values()
        .filter(|s| s.dflt == 0)
        .map(|s| s.parent)
        .collect();
    for level in custom.iter().rev() {
        let found = nodes(tx, level, Some(biz_id), NodesBy::Id, &wanted)?;
        wanted = found.iter().map(|n| n.parent).collect();
        for n in found {
            custom_nodes.insert((level.clone(), n.id), (n.name, n.parent));
        }
    }
    let info: Vec<Value> = rows
        .into_iter()
        .map(|(host, rels)| {
            let mut roots: Vec<TopoNode> = Vec::new();
            for r in &rels {
                let set = names.sets.get(&r.set_id).cloned().unwrap_or_default();
                let mut path: Vec<(String, String, i64)> = Vec::new();
                if set.dflt == 0 {
                    let mut parent = set.parent;
                    for level in custom.iter().rev() {
                        match custom_nodes.get(&(level.clone(), parent)) {
                            Some((name, up)) => {
                                path.push((level.clone(), name.clone(), parent));
                                parent = *up;
                            }
                            None => break,
                        }
                    }
                    path.reverse();
                }
                path.push(("set".into(), set.name, r.set_id));
                path.push((
                    "module".into(),
                    names.modules.get(&r.module_id).cloned().unwrap_or_default(),
                    r.module_id,
                ));
                TopoNode::insert_path(&mut roots, &path);
            }
            let topo: Vec<Value> = roots.iter().map(TopoNode::to_json).collect();
            json!({"host": host, "topo": topo})
        })
        .collect();
    Ok(json!({"count": count, "info": info}))
}
