//! Businesses (30-topology §2, §3.1, §5.1–§5.5, §5.18): `search_business` with its implicit
//! rewrites, `create_business` with the idle pool, `update_business`, archive / restore
//! (`update_business_enable_status`), `delete_business` of archived businesses, and the
//! internal (idle-pool) modules of a business.
//!
//! A business is a row of the `instance` table with `obj_id = 'biz'`, `inst_id` = `biz_id` =
//! `bk_biz_id` (sequence `biz`) and `inst_name` = `bk_biz_name`. Its document holds `bk_biz_id`
//! (not `bk_inst_id`), `default` (1 = the resource pool, 0 = every business created through the
//! API) and, while archived, `bk_data_status: "disabled"`. Values are validated by the instance
//! machinery (`instances.rs`) against the `biz` model's attributes, and the name is unique
//! through the seeded unique rule on `bk_biz_name` (`instance_unique`, so racing creates and
//! renames lose inside the database).
//!
//! A business holding hosts (`host_module` rows, idle modules included) cannot be archived
//! (1101087) or deleted (1101030); the business row is locked first, and transfers into it read
//! it `FOR SHARE`, so the check cannot miss a host being moved in.

use std::sync::Arc;

use cmdb_domain::attribute::{validate_value, PropertyType};
use cmdb_domain::filter::{
    parse_condition, parse_query_filter, parse_time_condition, CmpOp, Expr, FieldCatalog,
    FieldInfo, FieldType, Page, StrMatch,
};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::audit::{self, AuditEntry, EventType};
use super::hosts::{has_hosts, HostScope};
use super::instances::{
    apply_update, build_create_doc, get_doc_for_update, insert_row, insert_unique_keys,
    rewrite_row, run_query, stamp_created, stamp_updated, string_list, Found, InstanceRow, Query,
};
use super::schema_cache::ModelSchema;
use super::seed::insert_idle_pool;
use super::util::{for_update, loose_i64};
use super::OpContext;
use crate::sql::compile::compile_where;
use crate::sql::SqlBuilder;
use crate::{SqlValue, StoreError, Tx};

/// Id sequence of businesses (the resource pool took the first id).
pub const BIZ_SEQUENCE: &str = "biz";

/// Most businesses one `delete_business` call may name (`metadata.DeleteBizParam`).
pub const DELETE_LIMIT: usize = 20;

/// `bk_data_status` of an archived business, and the `flag` that archives.
pub const DISABLED: &str = "disabled";

/// `bk_data_status` of a restored business, and the `flag` that restores.
pub const ENABLE: &str = "enable";

/// What archiving appends to the name (`<name>-archived`, then `<name>-archived-<n>`).
const ARCHIVED_SUFFIX: &str = "-archived";

/// `time_zone` of a new business that names none (30-topology §3.1).
const DEFAULT_TIME_ZONE: &str = "Asia/Shanghai";

/// Keys of a create body the server owns: dropped before validation, then set by the server.
const SERVER_KEYS: &[&str] = &[
    "bk_biz_id",
    "bk_parent_id",
    "default",
    "bk_data_status",
    "bk_process_id",
];

/// The fields a business filter may name: the `biz` model's attributes and the system fields
/// of the schema, with `bk_biz_id` bound to the indexed `inst_id` column, plus `default` and
/// `bk_data_status`. Instance-only names (`bk_inst_id`, `bk_inst_name`, `bk_obj_id`,
/// `bk_parent_id`) are not fields of a business.
pub struct BizCatalog<'a>(pub &'a ModelSchema);

impl FieldCatalog for BizCatalog<'_> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        match field {
            "bk_biz_id" => Some(FieldInfo::column("bk_biz_id", "inst_id", FieldType::Int)),
            "default" => Some(default_field()),
            "bk_data_status" => Some(status_field()),
            "bk_inst_id" | "bk_inst_name" | "bk_obj_id" | "bk_parent_id" => None,
            _ => self.0.lookup(field),
        }
    }
}

fn default_field() -> FieldInfo {
    FieldInfo::doc("default", FieldType::Int)
}

fn status_field() -> FieldInfo {
    FieldInfo::doc("bk_data_status", FieldType::Text)
}

/// The `biz` model's schema (seeded, so its absence is a broken database).
fn biz_schema(tx: &mut dyn Tx) -> Result<Arc<ModelSchema>, StoreError> {
    ModelSchema::load_builtin(tx, "biz", 0)
}

fn name_of(doc: &Map<String, Value>) -> String {
    super::util::text_of(doc, "bk_biz_name")
}

fn default_of(doc: &Map<String, Value>) -> i64 {
    doc.get("default").and_then(loose_i64).unwrap_or(0)
}

fn is_archived(doc: &Map<String, Value>) -> bool {
    doc.get("bk_data_status").and_then(Value::as_str) == Some(DISABLED)
}

/// One business audit record (`business` / `business`) and its `biz` change event.
struct BizChange<'a> {
    action: &'static str,
    event: EventType,
    biz_id: i64,
    name: &'a str,
    pre: Option<Value>,
    cur: Option<Value>,
    fields: Option<Value>,
}

fn audit_biz(tx: &mut dyn Tx, ctx: &OpContext, change: BizChange<'_>) -> Result<(), StoreError> {
    let event_doc = match (&change.cur, &change.pre) {
        (Some(doc), _) | (None, Some(doc)) => doc.clone(),
        (None, None) => Value::Null,
    };
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "business",
            resource_type: "business",
            action: change.action,
            biz_id: change.biz_id,
            resource_id: Value::from(change.biz_id),
            resource_name: change.name.to_string(),
            obj_id: Some("biz".into()),
            pre_data: change.pre,
            cur_data: change.cur,
            update_fields: change.fields,
        },
    )?;
    audit::event(
        tx,
        ctx,
        "biz",
        change.event,
        "biz",
        change.biz_id,
        &event_doc,
    )
}

// ---------------------------------------------------------------------------------------------
// search_business

/// `search_business` (§5.1): `condition` (with the string rewrites) or `biz_property_filter`,
/// `time_condition`, `fields`, `page`; archived businesses hidden unless asked for, the
/// resource pool never returned. Returns the page and the total.
pub fn search(tx: &mut dyn Tx, body: &Map<String, Value>) -> Result<Found, StoreError> {
    let schema = biz_schema(tx)?;
    let catalog = BizCatalog(&schema);
    let null = Value::Null;
    let condition = match body.get("condition") {
        None | Some(Value::Null) => None,
        Some(Value::Object(map)) => Some(map),
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let property_filter = body.get("biz_property_filter").filter(|v| !v.is_null());
    if property_filter.is_some() && condition.is_some_and(|c| !c.is_empty()) {
        return Err(DomainError::ParamsInvalid(
            "condition and biz_property_filter cannot be set at the same time".into(),
        )
        .into());
    }
    let mut parts = Vec::new();
    let mut status_given = false;
    if let Some(cond) = condition {
        status_given = cond.contains_key("bk_data_status");
        parts.push(rewrite_condition(cond, &catalog)?);
    }
    if let Some(filter) = property_filter {
        status_given = status_given || names_field(filter, "bk_data_status");
        parts.push(parse_query_filter(filter, &catalog, "biz_property_filter")?);
    }
    parts.push(parse_time_condition(
        body.get("time_condition").unwrap_or(&null),
        &catalog,
        "time_condition",
    )?);
    if !status_given {
        parts.push(Expr::Not(Box::new(Expr::Cmp {
            field: status_field(),
            op: CmpOp::Eq,
            value: json!(DISABLED),
        })));
    }
    parts.push(Expr::Cmp {
        field: default_field(),
        op: CmpOp::Eq,
        value: json!(0),
    });
    let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
    let sort = page.sort_fields(&catalog, "page")?;
    let fields = string_list(body.get("fields"), "fields")?;
    let q = Query {
        filter: Expr::And(parts),
        restrict: None,
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    run_query(tx, "biz", &q, true, true, fields.as_deref())
}

/// The legacy condition with search_business's rewrites of top-level string values: user
/// fields match each comma-separated user as a whole element of the stored list (ANDed), other
/// text fields match case-insensitively as a literal substring. `default` is dropped (the
/// caller forces 0) and `bk_biz_id` must be an integer, `{"$eq": n}` or `{"$in": [n, ...]}`.
fn rewrite_condition(
    cond: &Map<String, Value>,
    catalog: &BizCatalog<'_>,
) -> Result<Expr, DomainError> {
    let mut rest = Map::new();
    let mut parts = Vec::new();
    for (key, value) in cond {
        match (key.as_str(), value) {
            ("default", _) => {}
            ("bk_biz_id", v) => {
                check_biz_id_condition(v)?;
                rest.insert(key.clone(), v.clone());
            }
            (name, Value::String(text)) if !name.starts_with('$') => {
                let field = catalog
                    .lookup(name)
                    .ok_or_else(|| DomainError::ParamsInvalid(format!("condition.{name}")))?;
                let is_user = catalog
                    .0
                    .attr(name)
                    .is_some_and(|a| a.ptype == Some(PropertyType::Objuser));
                if is_user {
                    parts.push(user_elements(&field, text));
                } else if field.ty == FieldType::Text {
                    parts.push(Expr::Like {
                        field,
                        kind: StrMatch::Contains,
                        value: text.clone(),
                        case_insensitive: true,
                    });
                } else {
                    rest.insert(key.clone(), value.clone());
                }
            }
            _ => {
                rest.insert(key.clone(), value.clone());
            }
        }
    }
    parts.push(parse_condition(&Value::Object(rest), catalog, "condition")?);
    Ok(Expr::And(parts))
}

/// Every user of the comma-separated `text` must be a whole element of the stored comma list:
/// `(^u$)|(^u,)|(,u,)|(,u$)` per user (escaped), ANDed.
fn user_elements(field: &FieldInfo, text: &str) -> Expr {
    Expr::And(
        text.trim_matches(',')
            .split(',')
            .map(|user| {
                let u = regex::escape(user);
                Expr::Regex {
                    field: field.clone(),
                    pattern: format!("(^{u}$)|(^{u},)|(,{u},)|(,{u}$)"),
                    case_insensitive: false,
                }
            })
            .collect(),
    )
}

fn is_integral(v: &Value) -> bool {
    v.as_i64().is_some() || v.as_f64().is_some_and(|f| f.fract() == 0.0)
}

/// `bk_biz_id` in a search_business condition: an integer, or an operator object whose `$eq`
/// is an integer and whose `$in` is a list of integers; anything else is 1199006.
fn check_biz_id_condition(v: &Value) -> Result<(), DomainError> {
    let bad = || DomainError::ParamsInvalid("bk_biz_id".into());
    match v {
        Value::Number(_) if is_integral(v) => Ok(()),
        Value::Object(ops) => {
            if ops.get("$eq").is_some_and(|eq| !is_integral(eq)) {
                return Err(bad());
            }
            match ops.get("$in") {
                None => Ok(()),
                Some(Value::Array(items)) if items.iter().all(is_integral) => Ok(()),
                Some(_) => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

/// Does a QueryFilter name `field` in any of its rules?
fn names_field(filter: &Value, field: &str) -> bool {
    match filter {
        Value::Object(map) => {
            map.get("field").and_then(Value::as_str) == Some(field)
                || map.values().any(|v| names_field(v, field))
        }
        Value::Array(items) => items.iter().any(|v| names_field(v, field)),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// create / update / archive

/// `create_business` (§5.2): validates the fields against the `biz` model (keys that are not
/// attributes are dropped, server-owned keys ignored, `default` forced to 0), stores the
/// business, then its idle-pool set and idle / fault / recycle modules, all in the caller's
/// transaction. Returns the stored business document.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let schema = biz_schema(tx)?;
    let mut body = body.clone();
    for key in SERVER_KEYS {
        body.remove(*key);
    }
    if schema.attr("time_zone").is_some() && !body.contains_key("time_zone") {
        body.insert("time_zone".into(), json!(DEFAULT_TIME_ZONE));
    }
    let mut doc = build_create_doc(&schema, &body)?;
    let biz_id = tx.next_id(BIZ_SEQUENCE)?;
    doc.insert("bk_biz_id".into(), Value::from(biz_id));
    doc.insert("default".into(), Value::from(0));
    stamp_created(&schema, ctx, &mut doc);
    let name = name_of(&doc);
    insert_row(
        tx,
        ctx,
        InstanceRow {
            obj_id: "biz",
            inst_id: biz_id,
            name: &name,
            biz_id,
            parent_id: 0,
        },
        &doc,
    )?;
    insert_unique_keys(tx, &schema, biz_id, &doc)?;
    let doc = Value::Object(doc);
    audit_biz(
        tx,
        ctx,
        BizChange {
            action: "create",
            event: EventType::Create,
            biz_id,
            name: &name,
            pre: None,
            cur: Some(doc.clone()),
            fields: None,
        },
    )?;
    for (obj_id, inst_id, created) in insert_idle_pool(tx, ctx, biz_id)? {
        let name_key = if obj_id == "set" {
            "bk_set_name"
        } else {
            "bk_module_name"
        };
        let resource_name = created
            .get(name_key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let created = Value::Object(created);
        audit::record(
            tx,
            ctx,
            AuditEntry {
                audit_type: "business_resource",
                resource_type: obj_id,
                action: "create",
                biz_id,
                resource_id: Value::from(inst_id),
                resource_name,
                obj_id: Some(obj_id.to_string()),
                pre_data: None,
                cur_data: Some(created.clone()),
                update_fields: None,
            },
        )?;
        audit::event(
            tx,
            ctx,
            obj_id,
            EventType::Create,
            obj_id,
            inst_id,
            &created,
        )?;
    }
    Ok(doc)
}

/// Stores a changed business (refreshing `last_time` and the updated-by/at fields and its
/// unique-rule rows) and audits it.
fn save(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    schema: &ModelSchema,
    biz_id: i64,
    old: Map<String, Value>,
    mut doc: Map<String, Value>,
    (action, fields): (&'static str, Map<String, Value>),
) -> Result<(), StoreError> {
    stamp_updated(schema, ctx, &mut doc);
    let name = name_of(&doc);
    rewrite_row(tx, ctx, schema, biz_id, &name, &doc)?;
    audit_biz(
        tx,
        ctx,
        BizChange {
            action,
            event: EventType::Update,
            biz_id,
            name: &name,
            pre: Some(Value::Object(old)),
            cur: Some(Value::Object(doc)),
            fields: Some(Value::Object(fields)),
        },
    )
}

/// `update_business` (§5.3): validates and applies the attribute values of `body` (`bk_biz_id`,
/// `bk_parent_id`, `default` and non-attribute keys are ignored); an unknown business is
/// 1199019, a taken name 1199014.
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(old) = get_doc_for_update(tx, "biz", biz_id)? else {
        return Err(DomainError::NotFound.into());
    };
    let schema = biz_schema(tx)?;
    let mut doc = old.clone();
    let applied = apply_update(&schema, &mut doc, body)?;
    save(tx, ctx, &schema, biz_id, old, doc, ("update", applied))
}

/// `update_business_enable_status` (§5.5). `flag` `disabled` archives: refused for the resource
/// pool (1101111) and while the business has instance associations to live instances
/// (1101036); renames to `<name>-archived` (or `<name>-archived-<n+1>`) and sets
/// `bk_data_status: "disabled"`; archiving an archived business changes nothing. `flag`
/// `enable` restores: `bk_data_status: "enable"`, renamed to `new_name` when one is given.
/// Unknown business → 1199019 (checked first); another flag → 1199011.
pub fn update_status(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    flag: &str,
    new_name: Option<&Value>,
) -> Result<(), StoreError> {
    let Some(old) = get_doc_for_update(tx, "biz", biz_id)? else {
        return Err(DomainError::NotFound.into());
    };
    let schema = biz_schema(tx)?;
    let mut fields = Map::new();
    let action = match flag {
        DISABLED => {
            if default_of(&old) != 0 {
                return Err(DomainError::BuiltinBizForbidden.into());
            }
            if is_archived(&old) {
                return Ok(());
            }
            // Refused while the business is an end of a link to a live instance (mainline
            // relations are not associations).
            super::associations::refuse_live_links(
                tx,
                "biz",
                biz_id,
                DomainError::InstBeenAssociated,
            )?;
            if has_hosts(tx, HostScope::Biz, biz_id)? {
                return Err(DomainError::ArchiveBizWithHosts.into());
            }
            let name = archived_name(tx, &name_of(&old))?;
            fields.insert("bk_biz_name".into(), Value::String(name));
            fields.insert("bk_data_status".into(), json!(DISABLED));
            "archive"
        }
        ENABLE => {
            let given = new_name.filter(|v| !v.is_null() && v.as_str() != Some(""));
            if let Some(value) = given {
                let attr = schema.attr("bk_biz_name").ok_or_else(|| {
                    StoreError::Corrupt("the biz model has no bk_biz_name".into())
                })?;
                let name = validate_value(attr, value).map_err(DomainError::wrap)?;
                fields.insert("bk_biz_name".into(), name);
            }
            fields.insert("bk_data_status".into(), json!(ENABLE));
            "recover"
        }
        other => return Err(DomainError::IsInvalid(other.to_string()).into()),
    };
    let mut doc = old.clone();
    for (key, value) in &fields {
        doc.insert(key.clone(), value.clone());
    }
    save(tx, ctx, &schema, biz_id, old, doc, (action, fields))
}

/// The archive name of `name`: `<name>-archived` while no business name starts with it,
/// otherwise `<name>-archived-<n+1>` with n the largest number among the existing
/// `<name>-archived-<n>` (0 when there is none).
fn archived_name(tx: &mut dyn Tx, name: &str) -> Result<String, StoreError> {
    let prefix = format!("{name}{ARCHIVED_SUFFIX}");
    let len = i64::try_from(prefix.chars().count()).unwrap_or(i64::MAX);
    let rows = tx.query(
        "SELECT inst_name FROM instance WHERE obj_id = 'biz' AND substr(inst_name, 1, ?) = ?",
        &[SqlValue::Int(len), SqlValue::Text(prefix.clone())],
    )?;
    let taken: Vec<String> = rows
        .iter()
        .filter_map(|r| r.first().and_then(SqlValue::as_str).map(str::to_string))
        .filter(|n| n.starts_with(&prefix))
        .collect();
    if taken.is_empty() {
        return Ok(prefix);
    }
    let numbered = format!("{prefix}-");
    let highest = taken
        .iter()
        .filter_map(|n| n.strip_prefix(&numbered))
        .filter(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()))
        .filter_map(|rest| rest.parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    Ok(format!("{numbered}{}", highest.saturating_add(1)))
}

// ---------------------------------------------------------------------------------------------
// delete

/// The rows a business deletion removes: the business and every mainline instance of it
/// (custom-level instances, sets, modules), never hosts. `?` = the business id.
const TOPOLOGY_ROWS: &str = "biz_id = ? AND obj_id <> 'host' AND (obj_id = 'biz' OR obj_id IN \
     (SELECT obj_id FROM object_association WHERE asst_id = 'bk_mainline'))";

/// `delete_business` (§5.4): 1…20 ids (else 1199011 / 1199035); any resource pool among them →
/// 1101111, any not archived → 1101112 (both checked over all ids before anything is
/// deleted); unknown ids are ignored. Each business goes with its whole topology, their
/// unique-rule rows and the instance associations they take part in; one audit record and
/// change event per removed object.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, ids: &[i64]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Err(DomainError::IsInvalid("bk_biz_id".into()).into());
    }
    if ids.len() > DELETE_LIMIT {
        return Err(DomainError::ExceedLimit("update".into(), DELETE_LIMIT as u64).into());
    }
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(doc) = get_doc_for_update(tx, "biz", id)? {
            found.push((id, doc));
        }
    }
    if found.iter().any(|(_, doc)| default_of(doc) != 0) {
        return Err(DomainError::BuiltinBizForbidden.into());
    }
    if found.iter().any(|(_, doc)| !is_archived(doc)) {
        return Err(DomainError::UnarchivedBizDelete.into());
    }
    for (biz_id, _) in &found {
        if has_hosts(tx, HostScope::Biz, *biz_id)? {
            return Err(DomainError::HasHosts.into());
        }
    }
    for (biz_id, _) in found {
        delete_topology(tx, ctx, biz_id)?;
    }
    Ok(())
}

/// Audit kinds of a removed topology object: audit type, resource type, watch resource.
pub(crate) fn removed_kinds(obj_id: &str) -> (&'static str, &'static str, &'static str) {
    match obj_id {
        "biz" => ("business", "business", "biz"),
        "set" => ("business_resource", "set", "set"),
        "module" => ("business_resource", "module", "module"),
        _ => (
            "business_resource",
            "mainline_instance",
            "mainline_instance",
        ),
    }
}

fn delete_topology(tx: &mut dyn Tx, ctx: &OpContext, biz_id: i64) -> Result<(), StoreError> {
    let lock = for_update(tx);
    let rows = tx.query(
        &format!(
            "SELECT obj_id, inst_id, inst_name, data FROM instance WHERE {TOPOLOGY_ROWS} \
             ORDER BY CASE obj_id WHEN 'biz' THEN 0 WHEN 'set' THEN 2 WHEN 'module' THEN 3 \
             ELSE 1 END, inst_id{lock}"
        ),
        &[SqlValue::Int(biz_id)],
    )?;
    for row in rows {
        let mut cells = row.into_iter();
        let (Some(obj), Some(id), Some(name), Some(data)) =
            (cells.next(), cells.next(), cells.next(), cells.next())
        else {
            continue;
        };
        let (Some(obj_id), Some(inst_id)) = (obj.as_str().map(str::to_string), id.as_i64()) else {
            continue;
        };
        let doc = data.into_json()?;
        let (audit_type, resource_type, watch) = removed_kinds(&obj_id);
        audit::removed(
            tx,
            ctx,
            audit::Removed {
                audit_type,
                resource_type,
                watch,
                biz_id,
                obj_id: &obj_id,
                inst_id,
                name: name.as_str().unwrap_or_default(),
                doc: &doc,
            },
        )?;
    }
    let id = SqlValue::Int(biz_id);
    super::associations::remove_links_where(
        tx,
        ctx,
        &format!(
            "(obj_id, inst_id) IN (SELECT obj_id, inst_id FROM instance WHERE {TOPOLOGY_ROWS}) \
             OR (asst_obj_id, asst_inst_id) IN \
             (SELECT obj_id, inst_id FROM instance WHERE {TOPOLOGY_ROWS})"
        ),
        &[id.clone(), id.clone()],
    )?;
    tx.execute_deferred(
        &format!(
            "DELETE FROM instance_unique WHERE (obj_id, inst_id) IN \
             (SELECT obj_id, inst_id FROM instance WHERE {TOPOLOGY_ROWS})"
        ),
        std::slice::from_ref(&id),
        None,
    )?;
    tx.execute_deferred(
        &format!("DELETE FROM instance WHERE {TOPOLOGY_ROWS}"),
        &[id],
        None,
    )
}

// ---------------------------------------------------------------------------------------------
// get_biz_internal_module

/// `get_biz_internal_module` (§5.18): the business's idle-pool set (`default = 1`) and its
/// modules with `default ≠ 0`, in id order:
/// `{"bk_set_id", "bk_set_name", "module": [{"bk_module_id", "bk_module_name", "default",
/// "host_apply_enabled"}]}`. A business without one (unknown id) gives
/// `{"bk_set_id": 0, "bk_set_name": "", "module": null}`.
pub fn internal_modules(tx: &mut dyn Tx, biz_id: i64) -> Result<Value, StoreError> {
    let mut b = SqlBuilder::new();
    b.push("SELECT inst_id, inst_name FROM instance WHERE obj_id = 'set' AND biz_id = ")
        .bind(SqlValue::Int(biz_id))
        .push(" AND ");
    compile_where(
        &Expr::Cmp {
            field: default_field(),
            op: CmpOp::Eq,
            value: json!(1),
        },
        tx.dialect(),
        "data",
        &mut b,
    )?;
    b.push(" ORDER BY inst_id LIMIT 1");
    let rows = tx.query(&b.sql, &b.params)?;
    let Some((set_id, set_name)) = rows.first().and_then(|r| {
        let id = r.first().and_then(SqlValue::as_i64)?;
        let name = r.get(1).and_then(SqlValue::as_str).unwrap_or_default();
        Some((id, name.to_string()))
    }) else {
        return Ok(json!({"bk_set_id": 0, "bk_set_name": "", "module": null}));
    };
    let rows = tx.query(
        "SELECT inst_id, inst_name, data FROM instance WHERE obj_id = 'module' AND parent_id = ? \
         ORDER BY inst_id",
        &[SqlValue::Int(set_id)],
    )?;
    let mut modules = Vec::new();
    for row in rows {
        let mut cells = row.into_iter();
        let (Some(id), Some(name), Some(data)) = (cells.next(), cells.next(), cells.next()) else {
            continue;
        };
        let doc = data.into_json()?;
        let default = doc.get("default").and_then(loose_i64).unwrap_or(0);
        if default == 0 {
            continue;
        }
        modules.push(json!({
            "bk_module_id": id.as_i64().unwrap_or(0),
            "bk_module_name": name.as_str().unwrap_or_default(),
            "default": default,
            "host_apply_enabled": doc.get("host_apply_enabled").and_then(Value::as_bool).unwrap_or(false),
        }));
    }
    Ok(json!({"bk_set_id": set_id, "bk_set_name": set_name, "module": modules}))
}
