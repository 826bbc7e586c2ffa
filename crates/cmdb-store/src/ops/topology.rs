//! Mainline topology reads (30-topology §1, §5.17, §5.19–§5.22): the chain of mainline models,
//! the instance tree of a business, the ancestor paths of topology nodes, modules by set /
//! service template, and the brief relations between adjacent levels.
//!
//! The chain is never hard-coded: it is read from the `object_association` rows of kind
//! `bk_mainline` (child `obj_id` → parent `asst_obj_id`), so custom levels inserted between
//! `biz` and `set` are followed wherever they sit ([`super::mainline::chain`]). Every instance of a level
//! below `biz` is a row of `instance` with `obj_id` = the level, `biz_id` = its business and
//! `parent_id` = the instance directly above -- except the built-in idle-pool set (`default =
//! 1`), which always hangs directly below the business, custom levels or not.
//!
//! Reads are level-wise and batched so they stay flat as a topology grows: one query per level
//! (`WHERE obj_id = ? AND biz_id = ?`, or `inst_id IN (...)` / `parent_id IN (...)` in chunks),
//! each served by an index of `instance`, selecting only the columns and the few JSON fields
//! needed; trees and paths are then assembled in memory with hash maps. The number of
//! statements is bounded by the chain depth, never by the number of nodes.

use std::collections::{HashMap, HashSet};

use cmdb_domain::filter::{CmpOp, Expr, FieldInfo, FieldType, Page};
use cmdb_domain::DomainError;
use serde::Serialize;
use serde_json::{Map, Value};

use super::instances::{run_query, string_list, Found, Query};
use super::schema_cache::ModelSchema;
use super::sets_modules::{Level, LevelCatalog};
use crate::sql::compile::{compile_where, json_text_expr};
use crate::sql::SqlBuilder;
use crate::{SqlValue, StoreError, Tx};

/// Association kind that links the mainline levels.
pub const MAINLINE_KIND: &str = "bk_mainline";

/// Most nodes one `find_topo_node_paths` call may name (§5.20).
pub const NODE_PATHS_LIMIT: u64 = 1000;

/// Most source ids of one `find_brief_biz_topo_node_relation` call (§5.22).
pub const BRIEF_SRC_LIMIT: usize = 200;

/// Largest page of `find_brief_biz_topo_node_relation` (`BasePage.ValidateLimit(500)`).
pub const BRIEF_PAGE_LIMIT: u64 = 500;

/// Most set ids one `find_module_with_relation` call may name (upstream `bkSetIdSMaxSize`).
pub const MODULE_RELATION_SET_LIMIT: usize = 200;

/// Largest page of `find_module_with_relation` (upstream `bKMaxPageSize` of that handler).
pub const MODULE_RELATION_PAGE_LIMIT: u64 = 500;

/// `default` of the built-in idle-pool set: it hangs directly below its business.
pub(super) const IDLE_SET_DEFAULT: i64 = 1;

/// Largest `IN (...)` list of one statement; longer id lists are split.
const IN_CHUNK: usize = 512;

// ---------------------------------------------------------------------------------------------
// the chain

/// The levels that have topology instances: the chain without `host` (hosts are attached to
/// modules through host relations, not through `bk_parent_id`).
pub fn topo_levels(tx: &mut dyn Tx) -> Result<Vec<String>, StoreError> {
    let mut chain = super::mainline::chain(tx)?;
    chain.retain(|obj| obj != "host");
    Ok(chain)
}

/// Display name and supplier account of models, by `bk_obj_id`.
pub(super) fn model_labels(
    tx: &mut dyn Tx,
    obj_ids: &[String],
) -> Result<HashMap<String, (String, String)>, StoreError> {
    if obj_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let supplier = json_text_expr(tx.dialect(), "doc", "bk_supplier_account")?;
    let mut b = SqlBuilder::new();
    b.push(&format!(
        "SELECT obj_id, obj_name, {supplier} FROM object WHERE obj_id IN ("
    ));
    for (i, obj) in obj_ids.iter().enumerate() {
        if i > 0 {
            b.push(", ");
        }
        b.bind(obj.as_str());
    }
    b.push(")");
    let mut out = HashMap::new();
    for row in tx.query(&b.sql, &b.params)? {
        let mut cells = row.into_iter();
        let (Some(obj), Some(name), supplier) = (cells.next(), cells.next(), cells.next()) else {
            continue;
        };
        let text = |c: Option<SqlValue>| match c {
            Some(SqlValue::Text(s)) => s,
            Some(SqlValue::Json(Value::String(s))) => s,
            _ => String::new(),
        };
        out.insert(text(Some(obj)), (text(Some(name)), text(supplier)));
    }
    Ok(out)
}

/// One level of `get_mainline_object_topo` (§5.19): the model and its neighbours in the chain
/// (empty strings at the ends).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MainlineObject {
    /// The model.
    pub bk_obj_id: String,
    /// Its display name.
    pub bk_obj_name: String,
    /// Its tenant.
    pub bk_supplier_account: String,
    /// The level below (`""` for the last).
    pub bk_next_obj: String,
    /// Display name of the level below.
    pub bk_next_name: String,
    /// The level above (`""` for `biz`).
    pub bk_pre_obj_id: String,
    /// Display name of the level above.
    pub bk_pre_obj_name: String,
}

/// `get_mainline_object_topo` (§5.19): the chain from `biz` to `host`, one entry per level.
pub fn mainline_objects(tx: &mut dyn Tx) -> Result<Vec<MainlineObject>, StoreError> {
    let chain = super::mainline::chain(tx)?;
    let labels = model_labels(tx, &chain)?;
    let name = |i: Option<usize>| -> (String, String) {
        match i.and_then(|i| chain.get(i)) {
            Some(obj) => (
                obj.clone(),
                labels.get(obj).map(|l| l.0.clone()).unwrap_or_default(),
            ),
            None => (String::new(), String::new()),
        }
    };
    Ok(chain
        .iter()
        .enumerate()
        .map(|(i, obj)| {
            let (bk_next_obj, bk_next_name) = name(Some(i + 1));
            let (bk_pre_obj_id, bk_pre_obj_name) = name(i.checked_sub(1));
            let (bk_obj_name, supplier) = labels.get(obj).cloned().unwrap_or_default();
            MainlineObject {
                bk_obj_id: obj.clone(),
                bk_obj_name,
                bk_supplier_account: if supplier.is_empty() {
                    "0".into()
                } else {
                    supplier
                },
                bk_next_obj,
                bk_next_name,
                bk_pre_obj_id,
                bk_pre_obj_name,
            }
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// row helpers

/// An integer cell: SQLite returns JSON numbers as integers, PostgreSQL as `jsonb`.
pub(super) fn cell_i64(cell: &SqlValue) -> i64 {
    match cell {
        SqlValue::Json(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .unwrap_or(0),
        SqlValue::Text(t) => t.trim().parse().unwrap_or(0),
        other => other.as_i64().unwrap_or(0),
    }
}

fn cell_text(cell: SqlValue) -> String {
    match cell {
        SqlValue::Text(s) | SqlValue::Json(Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Appends `col IN (?, ...)` for `ids` (non-empty). The list is padded (repeating its last id)
/// to a power of two, so a backend that prepares statements sees few distinct texts.
fn push_in(b: &mut SqlBuilder, col: &str, ids: &[i64]) {
    b.push(col).push(" IN (");
    let padded = ids.len().max(1).next_power_of_two();
    let last = ids.last().copied().unwrap_or(0);
    for i in 0..padded {
        if i > 0 {
            b.push(", ");
        }
        b.bind(SqlValue::Int(ids.get(i).copied().unwrap_or(last)));
    }
    b.push(")");
}

/// Appends ` AND <not the built-in idle-pool set>` for rows of `set` (a set without `default`
/// counts as ordinary).
fn push_not_idle_set(tx: &dyn Tx, b: &mut SqlBuilder) -> Result<(), StoreError> {
    let is_idle = Expr::Cmp {
        field: FieldInfo::doc("default", FieldType::Int),
        op: CmpOp::Eq,
        value: Value::from(IDLE_SET_DEFAULT),
    };
    b.push(" AND ");
    compile_where(&Expr::Not(Box::new(is_idle)), tx.dialect(), "data", b)
}

/// One topology row: id, name, parent and the JSON fields the level needs.
#[derive(Debug, Clone, Default)]
pub(super) struct TopoRow {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) parent: i64,
    pub(super) default: i64,
    service_template_id: i64,
    set_template_id: i64,
    host_apply_enabled: Option<bool>,
}

/// `SELECT inst_id, inst_name, parent_id` and the topology columns (migration 0002) `FROM
/// instance WHERE obj_id = ?` plus the caller's conditions, decoded into [`TopoRow`]s. Scans
/// of a whole level add the literal `biz_id > 0` (see [`TOPO_INDEX`]); lookups by id must not,
/// or SQLite walks that index across the whole level instead of seeking each id.
fn select_rows(
    tx: &mut dyn Tx,
    obj_id: &str,
    conditions: impl FnOnce(&mut SqlBuilder),
) -> Result<Vec<TopoRow>, StoreError> {
    let mut b = SqlBuilder::new();
    b.push(
        "SELECT inst_id, inst_name, parent_id, dflt, set_tpl, svc_tpl, host_apply \
         FROM instance WHERE obj_id = ",
    )
    .bind(obj_id);
    conditions(&mut b);
    let rows = tx.query(&b.sql, &b.params)?;
    let is_module = obj_id == "module";
    let is_set = obj_id == "set";
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = row.into_iter();
        let mut next_i64 = || cells.next().as_ref().map_or(0, cell_i64);
        let id = next_i64();
        let name = match cells.next() {
            Some(SqlValue::Text(t)) => t,
            other => other.map(cell_text).unwrap_or_default(),
        };
        let mut next_i64 = || cells.next().as_ref().map_or(0, cell_i64);
        let parent = next_i64();
        let default = next_i64();
        let set_tpl = next_i64();
        let svc_tpl = next_i64();
        let host_apply = next_i64();
        out.push(TopoRow {
            id,
            name,
            parent,
            default,
            set_template_id: if is_set || is_module { set_tpl } else { 0 },
            service_template_id: if is_module { svc_tpl } else { 0 },
            host_apply_enabled: is_module.then_some(host_apply != 0),
        });
    }
    Ok(out)
}

/// The condition that makes a level scan use the partial covering index `instance_topo`
/// (`obj_id, biz_id, parent_id, inst_id, inst_name, dflt, ...` `WHERE biz_id > 0`): the literal
/// `biz_id > 0` must be in the query for the planner to prove the index applies, and then a
/// whole level of a business is read from the index alone, in `(parent_id, inst_id)` order,
/// without touching a document.
pub(super) const TOPO_INDEX: &str = " AND biz_id > 0";

/// Rows of `obj_id` in business `biz_id` among `ids`, in chunks: one primary-key seek per id.
/// Without [`TOPO_INDEX`], which would make SQLite scan the whole level of the business and
/// probe the `IN` list for every row (100,000 probes for 500 modules); and with the business
/// test written `+biz_id = ?` (unary plus, valid on both backends), which keeps SQLite from
/// seeking `instance_biz (obj_id, biz_id)` and then the primary key for every id -- one seek
/// instead of two.
fn rows_by_id(
    tx: &mut dyn Tx,
    obj_id: &str,
    biz_id: i64,
    ids: &[i64],
) -> Result<Vec<TopoRow>, StoreError> {
    let mut out = Vec::new();
    for chunk in ids.chunks(IN_CHUNK) {
        out.extend(select_rows(tx, obj_id, |b| {
            b.push(" AND +biz_id = ")
                .bind(SqlValue::Int(biz_id))
                .push(" AND ");
            push_in(b, "inst_id", chunk);
        })?);
    }
    Ok(out)
}

/// The row of business `biz_id`, if it exists as a topology root (`biz_id > 0`: a business
/// row carries its own id there).
pub(super) fn biz_row(tx: &mut dyn Tx, biz_id: i64) -> Result<Option<TopoRow>, StoreError> {
    let rows = select_rows(tx, "biz", |b| {
        b.push(TOPO_INDEX)
            .push(" AND inst_id = ")
            .bind(SqlValue::Int(biz_id));
    })?;
    Ok(rows.into_iter().next())
}

// ---------------------------------------------------------------------------------------------
// search_biz_inst_topo

/// Query-string flags of `search_biz_inst_topo` (v3 only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TopoOptions {
    /// `with_default`: include the idle-pool set and its internal modules.
    pub with_default: bool,
    /// `need_sort=true`: order every child list by instance name.
    pub need_sort: bool,
}

/// One node of the business instance tree (§5.17). The template ids and `host_apply_enabled`
/// are omitted when zero / false, as upstream's `omitempty` fields are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopoInst {
    /// Instance id (`bk_biz_id`, `bk_set_id`, `bk_module_id` or `bk_inst_id`).
    pub bk_inst_id: i64,
    /// Instance name.
    pub bk_inst_name: String,
    /// Level.
    pub bk_obj_id: String,
    /// Display name of the level's model.
    pub bk_obj_name: String,
    /// `default` of the instance (0 ordinary, 1 idle pool, 2/3 fault/recycle modules ...).
    pub default: i64,
    /// Service template of a module, when it has one.
    #[serde(skip_serializing_if = "is_zero")]
    pub service_template_id: i64,
    /// Set template of a set or module, when it has one.
    #[serde(skip_serializing_if = "is_zero")]
    pub set_template_id: i64,
    /// A module's host-apply switch, only when on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_apply_enabled: Option<bool>,
    /// Children (`[]` at leaves).
    pub child: Vec<TopoInst>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn sort_by_name(nodes: &mut [TopoInst]) {
    nodes.sort_by(|a, b| a.bk_inst_name.cmp(&b.bk_inst_name));
    for n in nodes {
        sort_by_name(&mut n.child);
    }
}

/// `search_biz_inst_topo` (§5.17): the business and every mainline instance below it, down to
/// modules, as one tree. Siblings come in upstream's order (`default`, then id); the idle-pool
/// set (only with `with_default`) follows the other children of the business. An unknown
/// business gives an empty list. One query per level.
///
/// This builds the tree as structures; the API answers with [`super::topo_tree`], which writes
/// the same bytes without building it. This one stays as the reference that writer is tested
/// against, and for callers that want the tree itself.
pub fn biz_inst_topo(
    tx: &mut dyn Tx,
    biz_id: i64,
    opts: TopoOptions,
) -> Result<Vec<TopoInst>, StoreError> {
    let levels = topo_levels(tx)?;
    let Some(biz) = biz_row(tx, biz_id)? else {
        return Ok(Vec::new());
    };
    let labels = model_labels(tx, &levels)?;
    let label = |obj: &str| labels.get(obj).map(|l| l.0.clone()).unwrap_or_default();

    // Bottom-up: the nodes of the level below, grouped by their parent id.
    let mut below: HashMap<i64, Vec<TopoInst>> = HashMap::new();
    let mut idle_sets: Vec<TopoInst> = Vec::new();
    for obj in levels.iter().skip(1).rev() {
        let mut rows = select_rows(tx, obj, |b| {
            b.push(TOPO_INDEX)
                .push(" AND biz_id = ")
                .bind(SqlValue::Int(biz_id));
        })?;
        rows.sort_unstable_by_key(|r| (r.default, r.id));
        let obj_name = label(obj);
        let is_set = obj == "set";
        let mut level: HashMap<i64, Vec<TopoInst>> = HashMap::new();
        for r in rows {
            let idle = is_set && r.default == IDLE_SET_DEFAULT;
            if idle && !opts.with_default {
                continue;
            }
            let node = TopoInst {
                bk_inst_id: r.id,
                bk_inst_name: r.name,
                bk_obj_id: obj.clone(),
                bk_obj_name: obj_name.clone(),
                default: r.default,
                service_template_id: r.service_template_id,
                set_template_id: r.set_template_id,
                host_apply_enabled: r.host_apply_enabled.filter(|on| *on),
                child: below.remove(&r.id).unwrap_or_default(),
            };
            if idle {
                idle_sets.push(node);
            } else {
                level.entry(r.parent).or_default().push(node);
            }
        }
        below = level;
    }
    let mut child = below.remove(&biz.id).unwrap_or_default();
    child.append(&mut idle_sets);
    let mut root = vec![TopoInst {
        bk_inst_id: biz.id,
        bk_inst_name: biz.name,
        bk_obj_id: "biz".into(),
        bk_obj_name: label("biz"),
        default: biz.default,
        service_template_id: 0,
        set_template_id: 0,
        host_apply_enabled: None,
        child,
    }];
    if opts.need_sort {
        sort_by_name(&mut root);
    }
    Ok(root)
}

// ---------------------------------------------------------------------------------------------
// find_topo_node_paths

/// One ancestor on a node path. Fields in alphabetical order: the answer is serialised
/// straight from this struct, and keys have always gone out sorted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathNode {
    /// Instance id.
    pub bk_inst_id: i64,
    /// Instance name.
    pub bk_inst_name: String,
    /// Level.
    pub bk_obj_id: String,
}

/// A resolved node and its paths from the business down to its direct parent (§5.20). Fields
/// in alphabetical order, as [`PathNode`]'s.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodePaths {
    /// Instance id.
    pub bk_inst_id: i64,
    /// Instance name.
    pub bk_inst_name: String,
    /// Level.
    pub bk_obj_id: String,
    /// Ancestor paths (one in a mainline tree; none for the business itself).
    pub bk_paths: Vec<Vec<PathNode>>,
}

/// Parses `bk_nodes`: 1…[`NODE_PATHS_LIMIT`] objects `{bk_obj_id, bk_inst_id}` (else 1199089
/// `bk_nodes`); a wrong JSON type is 1199000; an empty or non-topology `bk_obj_id` is 1199006
/// naming the item. Duplicates are dropped (first occurrence kept).
fn parse_nodes(
    body: &Map<String, Value>,
    levels: &[String],
) -> Result<Vec<(usize, i64)>, DomainError> {
    let items: &[Value] = match body.get("bk_nodes") {
        None | Some(Value::Null) => &[],
        Some(Value::Array(items)) => items,
        Some(_) => return Err(DomainError::JsonUnmarshal),
    };
    if items.is_empty() || items.len() as u64 > NODE_PATHS_LIMIT {
        return Err(DomainError::ArrayLength(
            "bk_nodes".into(),
            NODE_PATHS_LIMIT,
        ));
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Value::Object(node) = item else {
            return Err(DomainError::JsonUnmarshal);
        };
        let obj = match node.get("bk_obj_id") {
            None | Some(Value::Null) => "",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(DomainError::JsonUnmarshal),
        };
        let level = levels
            .iter()
            .position(|l| l == obj)
            .ok_or_else(|| DomainError::ParamsInvalid(format!("bk_nodes[{i}].bk_obj_id")))?;
        let id = match node.get("bk_inst_id") {
            Some(v @ Value::Number(_)) => super::util::loose_i64(v)
                .ok_or_else(|| DomainError::ParamsInvalid(format!("bk_nodes[{i}].bk_inst_id")))?,
            None | Some(Value::Null) => {
                return Err(DomainError::ParamsInvalid(format!(
                    "bk_nodes[{i}].bk_inst_id"
                )))
            }
            Some(_) => return Err(DomainError::JsonUnmarshal),
        };
        if seen.insert((level, id)) {
            out.push((level, id));
        }
    }
    Ok(out)
}

/// `find_topo_node_paths` (§5.20), computed live: for each node of business `biz_id` named in
/// `bk_nodes`, its name and the path of ancestors from the business down to its direct parent.
/// Nodes that do not exist in the business are omitted; the answer keeps the request's order.
/// One query per level on the way up (ids in chunks), whatever the number of nodes.
pub fn node_paths(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Vec<NodePaths>, StoreError> {
    let levels = topo_levels(tx)?;
    let wanted = parse_nodes(body, &levels)?;
    // Per level: the ids still to load, then what was found (name, parent level, parent id).
    let mut need: Vec<HashSet<i64>> = vec![HashSet::new(); levels.len()];
    for (level, id) in &wanted {
        if let Some(set) = need.get_mut(*level) {
            set.insert(*id);
        }
    }
    let mut found: Vec<HashMap<i64, (String, usize, i64)>> = vec![HashMap::new(); levels.len()];
    for (level, obj) in levels.iter().enumerate().skip(1).rev() {
        let mut ids: Vec<i64> = need.get(level).into_iter().flatten().copied().collect();
        if ids.is_empty() {
            continue;
        }
        ids.sort_unstable();
        for r in rows_by_id(tx, obj, biz_id, &ids)? {
            let parent_level = if obj == "set" && r.default == IDLE_SET_DEFAULT {
                0
            } else {
                level - 1
            };
            if let Some(set) = need.get_mut(parent_level) {
                set.insert(r.parent);
            }
            if let Some(map) = found.get_mut(level) {
                map.insert(r.id, (r.name, parent_level, r.parent));
            }
        }
    }
    let Some(biz) = biz_row(tx, biz_id)? else {
        return Ok(Vec::new());
    };
    if let Some(map) = found.first_mut() {
        map.insert(biz.id, (biz.name, 0, 0));
    }

    let mut out = Vec::new();
    'nodes: for (level, id) in wanted {
        let Some(entry) = found.get(level).and_then(|m| m.get(&id)) else {
            continue;
        };
        let (name, mut up_level, mut up_id) = (&entry.0, entry.1, entry.2);
        let mut path = Vec::new();
        if level > 0 {
            loop {
                let Some((up_name, next_level, next_id)) =
                    found.get(up_level).and_then(|m| m.get(&up_id))
                else {
                    continue 'nodes;
                };
                path.push(PathNode {
                    bk_obj_id: levels.get(up_level).cloned().unwrap_or_default(),
                    bk_inst_id: up_id,
                    bk_inst_name: up_name.clone(),
                });
                if up_level == 0 {
                    break;
                }
                (up_level, up_id) = (*next_level, *next_id);
            }
            path.reverse();
        }
        out.push(NodePaths {
            bk_obj_id: levels.get(level).cloned().unwrap_or_default(),
            bk_inst_id: id,
            bk_inst_name: name.clone(),
            bk_paths: if level == 0 { Vec::new() } else { vec![path] },
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// find_module_with_relation

/// An optional list of integers (`null`/absent = empty); another JSON type is 1199000.
fn int_list(body: &Map<String, Value>, key: &str) -> Result<Vec<i64>, DomainError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::Number(_) => super::util::loose_i64(v).ok_or(DomainError::JsonUnmarshal),
                _ => Err(DomainError::JsonUnmarshal),
            })
            .collect(),
        Some(_) => Err(DomainError::JsonUnmarshal),
    }
}

fn dedup(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// `find_module_with_relation` (§5.21): modules of business `biz_id`, filtered by `bk_set_ids`
/// and `bk_service_template_ids` (each only when non-empty), projected to `fields`, paged.
/// Upstream's checks: `fields` empty → 1199010; more than 200 set ids or a page limit above 500
/// → 1199015. Returns the page and the total.
pub fn modules_with_relation(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Found, StoreError> {
    let set_ids = int_list(body, "bk_set_ids")?;
    let template_ids = int_list(body, "bk_service_template_ids")?;
    let fields = match string_list(body.get("fields"), "fields")? {
        Some(f) if !f.is_empty() => f,
        _ => return Err(DomainError::NeedSet("fields".into()).into()),
    };
    if set_ids.len() > MODULE_RELATION_SET_LIMIT {
        return Err(DomainError::OverLimit.into());
    }
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    if page.limit > MODULE_RELATION_PAGE_LIMIT {
        return Err(DomainError::OverLimit.into());
    }
    let schema = ModelSchema::load_builtin(tx, "module", biz_id)?;
    let catalog = LevelCatalog {
        schema: &schema,
        level: Level::Module,
    };
    let sort = page.sort_fields(&catalog, "page")?;
    let mut parts = vec![Expr::Cmp {
        field: FieldInfo::column("bk_biz_id", "biz_id", FieldType::Int),
        op: CmpOp::Eq,
        value: Value::from(biz_id),
    }];
    if !set_ids.is_empty() {
        parts.push(Expr::In {
            field: FieldInfo::column("bk_set_id", "parent_id", FieldType::Int),
            values: dedup(set_ids).into_iter().map(Value::from).collect(),
            negate: false,
        });
    }
    if !template_ids.is_empty() {
        parts.push(Expr::In {
            field: FieldInfo::doc("service_template_id", FieldType::Int),
            values: dedup(template_ids).into_iter().map(Value::from).collect(),
            negate: false,
        });
    }
    let q = Query {
        filter: Expr::And(parts),
        restrict: None,
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    run_query(tx, "module", &q, true, true, Some(&fields))
}

// ---------------------------------------------------------------------------------------------
// find_brief_biz_topo_node_relation

/// One relation of `find_brief_biz_topo_node_relation` (§5.22).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BriefRelation {
    /// The business both instances belong to.
    pub bk_biz_id: i64,
    /// Instance of `src_biz_obj`.
    pub src_id: i64,
    /// Instance of `dest_biz_obj`.
    pub dest_id: i64,
}

/// A required string field: absent/empty → 1199006 naming it, another JSON type → 1199000.
fn required_obj(body: &Map<String, Value>, key: &str) -> Result<String, DomainError> {
    match body.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(DomainError::ParamsInvalid(key.into()))
        }
        Some(_) => Err(DomainError::JsonUnmarshal),
    }
}

/// `find_brief_biz_topo_node_relation` (§5.22). Checks, in upstream's order: `src_biz_obj`
/// given, `src_ids` 1…200, `dest_biz_obj` given and different, no `page.sort`, `page.limit`
/// 1…500 (all 1199006 naming the field); then both objects must be topology levels of the
/// mainline chain (`host` and other models → 1101048) and, unless one of them is `biz`,
/// adjacent (else 1199078). The queried rows (the destination's for downward queries, the
/// source's for upward ones) are paged in id order.
pub fn brief_node_relation(
    tx: &mut dyn Tx,
    body: &Map<String, Value>,
) -> Result<Vec<BriefRelation>, StoreError> {
    let src = required_obj(body, "src_biz_obj")?;
    let src_ids = int_list(body, "src_ids")?;
    if src_ids.is_empty() || src_ids.len() > BRIEF_SRC_LIMIT {
        return Err(DomainError::ParamsInvalid("src_ids".into()).into());
    }
    let dest = required_obj(body, "dest_biz_obj")?;
    if src == dest {
        return Err(DomainError::ParamsInvalid("dest_biz_obj".into()).into());
    }
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    if !page.sort.trim().is_empty() {
        return Err(DomainError::ParamsInvalid("page.sort".into()).into());
    }
    page.validate_limit(BRIEF_PAGE_LIMIT, "page")?;

    let levels = topo_levels(tx)?;
    let rank = |obj: &str| levels.iter().position(|l| l == obj);
    let (Some(src_rank), Some(dest_rank)) = (rank(&src), rank(&dest)) else {
        return Err(DomainError::MainlineAssociationNotExist.into());
    };
    if src_rank != 0 && dest_rank != 0 && src_rank.abs_diff(dest_rank) > 1 {
        return Err(DomainError::TopoModuleNotFound(dest).into());
    }

    // Which rows are read, which column filters them, which columns give src and dest, and
    // whether the idle-pool set must be left out (it hangs below the business, not below a
    // custom level).
    let (row_obj, filter_col, src_col, dest_col, skip_idle) = if src_rank == 0 {
        (dest.as_str(), "biz_id", "biz_id", "inst_id", false)
    } else if dest_rank == 0 {
        (src.as_str(), "inst_id", "inst_id", "biz_id", false)
    } else if src_rank < dest_rank {
        (
            dest.as_str(),
            "parent_id",
            "parent_id",
            "inst_id",
            dest == "set",
        )
    } else {
        (
            src.as_str(),
            "inst_id",
            "inst_id",
            "parent_id",
            src == "set",
        )
    };
    let mut b = SqlBuilder::new();
    b.push(&format!(
        "SELECT biz_id, {src_col}, {dest_col} FROM instance WHERE obj_id = "
    ))
    .bind(row_obj)
    .push(" AND ");
    push_in(&mut b, filter_col, &dedup(src_ids));
    if skip_idle {
        push_not_idle_set(tx, &mut b)?;
    }
    b.push(" ORDER BY inst_id");
    b.page(page.start, page.limit_opt());
    Ok(tx
        .query(&b.sql, &b.params)?
        .iter()
        .map(|row| {
            let at = |i: usize| row.get(i).map_or(0, cell_i64);
            BriefRelation {
                bk_biz_id: at(0),
                src_id: at(1),
                dest_id: at(2),
            }
        })
        .collect())
}
