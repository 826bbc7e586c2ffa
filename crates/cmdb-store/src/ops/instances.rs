//! General instances (20-instances.md): create, update, delete and search of instances of
//! custom models and custom mainline levels.

use cmdb_domain::attribute::{
    fill_value, validate_mainline_inst_name, validate_value, PropertyType,
};
use cmdb_domain::model::is_builtin_instance_model;
use cmdb_domain::DomainError;
use serde_json::{Map, Value};

use super::audit::{self, AuditEntry, EventType};
use super::schema_cache::ModelSchema;
use super::uniques::{key_of, rule_fields};
use super::util::{loose_i64, scalar_i64};
use super::OpContext;
use crate::{Dialect, SqlValue, StoreError, Tx};

/// Keys kept verbatim on create without type validation (20-instances §3.2); the server then
/// overwrites the ones it owns.
const PASSTHROUGH_KEYS: &[&str] = &[
    "bk_biz_id",
    "bk_parent_id",
    "default",
    "bk_data_status",
    "bk_process_id",
];

/// Id sequence shared by all custom models (20-instances §1).
pub const INSTANCE_SEQUENCE: &str = "inst";

fn audit_kinds(schema: &ModelSchema) -> (&'static str, &'static str, &'static str) {
    if schema.is_mainline() {
        (
            "business_resource",
            "mainline_instance",
            "mainline_instance",
        )
    } else {
        ("model_instance", "model_instance", "object_instance")
    }
}

fn inst_name(doc: &Map<String, Value>) -> String {
    doc.get("bk_inst_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Loads one stored instance document.
pub fn get_doc(
    tx: &mut dyn Tx,
    obj_id: &str,
    inst_id: i64,
) -> Result<Option<Map<String, Value>>, StoreError> {
    load_doc(
        tx,
        "SELECT data FROM instance WHERE obj_id = ? AND inst_id = ?",
        obj_id,
        inst_id,
    )
}

/// Loads one stored instance document to change it. On PostgreSQL the row stays locked until
/// the transaction ends (`FOR UPDATE`, which also returns the latest committed version), so
/// concurrent read-modify-writes of one instance apply one after the other instead of
/// overwriting each other's fields; SQLite's single writer already serialises them.
pub(crate) fn get_doc_for_update(
    tx: &mut dyn Tx,
    obj_id: &str,
    inst_id: i64,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let sql = match tx.dialect() {
        Dialect::Sqlite => "SELECT data FROM instance WHERE obj_id = ? AND inst_id = ?",
        Dialect::Postgres => {
            "SELECT data FROM instance WHERE obj_id = ? AND inst_id = ? FOR UPDATE"
        }
    };
    load_doc(tx, sql, obj_id, inst_id)
}

fn load_doc(
    tx: &mut dyn Tx,
    sql: &str,
    obj_id: &str,
    inst_id: i64,
) -> Result<Option<Map<String, Value>>, StoreError> {
    let rows = tx.query(sql, &[obj_id.into(), SqlValue::Int(inst_id)])?;
    match rows.into_iter().next().and_then(|r| r.into_iter().next()) {
        Some(cell) => match cell.into_json()? {
            Value::Object(m) => Ok(Some(m)),
            _ => Err(StoreError::Corrupt(
                "instance document is not an object".into(),
            )),
        },
        None => Ok(None),
    }
}

fn instance_exists(tx: &mut dyn Tx, obj_id: &str, inst_id: i64) -> Result<bool, StoreError> {
    Ok(!tx
        .query(
            "SELECT 1 FROM instance WHERE obj_id = ? AND inst_id = ?",
            &[obj_id.into(), SqlValue::Int(inst_id)],
        )?
        .is_empty())
}

/// Identity columns of one instance row.
pub(crate) struct InstanceRow<'a> {
    /// Model.
    pub obj_id: &'a str,
    /// Instance id.
    pub inst_id: i64,
    /// Display name (the `inst_name` column).
    pub name: &'a str,
    /// Owning business (0 = none).
    pub biz_id: i64,
    /// Parent instance (0 = none).
    pub parent_id: i64,
}

/// Sets the server-owned fields of a new instance document: tenant, `create_time` /
/// `last_time`, and the recorded-by/at attributes the model has (one instant for all).
pub(crate) fn stamp_created(schema: &ModelSchema, ctx: &OpContext, doc: &mut Map<String, Value>) {
    let stamp = cmdb_domain::time::format_millis(ctx.now);
    doc.insert(
        "bk_supplier_account".into(),
        Value::String(ctx.supplier.clone()),
    );
    doc.insert("create_time".into(), Value::String(stamp.clone()));
    doc.insert("last_time".into(), Value::String(stamp.clone()));
    for (key, value) in [
        ("bk_created_at", Value::String(stamp.clone())),
        ("bk_updated_at", Value::String(stamp)),
        ("bk_created_by", Value::String(ctx.user.clone())),
    ] {
        if schema.attr(key).is_some() {
            doc.insert(key.into(), value);
        }
    }
}

/// Refreshes `last_time` and the updated-by/at attributes the model has.
pub(crate) fn stamp_updated(schema: &ModelSchema, ctx: &OpContext, doc: &mut Map<String, Value>) {
    let stamp = cmdb_domain::time::format_millis(ctx.now);
    doc.insert("last_time".into(), Value::String(stamp.clone()));
    if schema.attr("bk_updated_at").is_some() {
        doc.insert("bk_updated_at".into(), Value::String(stamp));
    }
    if schema.attr("bk_updated_by").is_some() {
        doc.insert("bk_updated_by".into(), Value::String(ctx.user.clone()));
    }
}

/// Inserts one instance row (deferred: the caller does not need its outcome before its next
/// statement; a failure surfaces at the latest from the commit).
pub(crate) fn insert_row(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    row: InstanceRow<'_>,
    doc: &Map<String, Value>,
) -> Result<(), StoreError> {
    let [dflt, set_tpl, svc_tpl, host_apply] = topo_columns(doc);
    tx.execute_deferred(
        "INSERT INTO instance (obj_id, inst_id, inst_name, biz_id, parent_id, created_at, updated_at, \
         dflt, set_tpl, svc_tpl, host_apply, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            row.obj_id.into(),
            SqlValue::Int(row.inst_id),
            row.name.into(),
            SqlValue::Int(row.biz_id),
            SqlValue::Int(row.parent_id),
            SqlValue::Int(ctx.now),
            SqlValue::Int(ctx.now),
            dflt,
            set_tpl,
            svc_tpl,
            host_apply,
            SqlValue::Json(Value::Object(doc.clone())),
        ],
        None,
    )
}

/// The topology columns of a document (migration 0002): `default`, `set_template_id`,
/// `service_template_id` and `host_apply_enabled` (as 0/1), 0 when absent. Every writer of
/// `instance.data` stores them with it, so tree reads never parse documents.
pub(crate) fn topo_columns(doc: &Map<String, Value>) -> [SqlValue; 4] {
    let int = |key: &str| SqlValue::Int(doc.get(key).and_then(loose_i64).unwrap_or(0));
    [
        int("default"),
        int("set_template_id"),
        int("service_template_id"),
        SqlValue::Int(i64::from(
            doc.get("host_apply_enabled") == Some(&Value::Bool(true)),
        )),
    ]
}

/// Stores a changed instance document and re-derives its unique-rule rows (a key now taken by
/// another instance is the duplicate error).
pub(crate) fn rewrite_row(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    schema: &ModelSchema,
    inst_id: i64,
    name: &str,
    doc: &Map<String, Value>,
) -> Result<(), StoreError> {
    let obj_id = schema.object.bk_obj_id.as_str();
    let [dflt, set_tpl, svc_tpl, host_apply] = topo_columns(doc);
    tx.execute_deferred(
        "UPDATE instance SET inst_name = ?, updated_at = ?, dflt = ?, set_tpl = ?, svc_tpl = ?, \
         host_apply = ?, data = ? WHERE obj_id = ? AND inst_id = ?",
        &[
            name.into(),
            SqlValue::Int(ctx.now),
            dflt,
            set_tpl,
            svc_tpl,
            host_apply,
            SqlValue::Json(Value::Object(doc.clone())),
            obj_id.into(),
            SqlValue::Int(inst_id),
        ],
        None,
    )?;
    tx.execute_deferred(
        "DELETE FROM instance_unique WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), SqlValue::Int(inst_id)],
        None,
    )?;
    insert_unique_keys(tx, schema, inst_id, doc)
}

/// Writes the unique-rule rows of an instance; a taken key is the duplicate error.
pub(crate) fn insert_unique_keys(
    tx: &mut dyn Tx,
    schema: &ModelSchema,
    inst_id: i64,
    doc: &Map<String, Value>,
) -> Result<(), StoreError> {
    let by_id = schema.attrs_by_id();
    for rule in &schema.uniques {
        let Some(key) = key_of(rule, &by_id, doc) else {
            continue;
        };
        tx.execute_deferred(
            "INSERT INTO instance_unique (rule_id, key, obj_id, inst_id) VALUES (?, ?, ?, ?)",
            &[
                SqlValue::Int(rule.id),
                SqlValue::Text(key),
                schema.object.bk_obj_id.as_str().into(),
                SqlValue::Int(inst_id),
            ],
            Some(DomainError::Duplicate(rule_fields(rule, &by_id))),
        )?;
    }
    Ok(())
}

/// Step 6 of create_inst: a custom mainline level names its business and an existing parent
/// instance in that business. Directly below `biz` the parent must be the business itself
/// (upstream leaves that unchecked and can store a level instance under a business that does
/// not own it; we refuse it with the same 1199011 `bk_parent_id`).
fn check_mainline_parent(
    tx: &mut dyn Tx,
    schema: &ModelSchema,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(parent) = schema.mainline_parent.as_deref() else {
        return Ok(());
    };
    let biz = body
        .get("bk_biz_id")
        .and_then(loose_i64)
        .filter(|b| *b > 0)
        .ok_or_else(|| DomainError::IsInvalid("bk_biz_id".into()))?;
    let parent_id = body
        .get("bk_parent_id")
        .and_then(loose_i64)
        .ok_or_else(|| DomainError::IsInvalid("bk_parent_id".into()))?;
    if parent == "biz" {
        return if parent_id == biz {
            Ok(())
        } else {
            Err(DomainError::IsInvalid("bk_parent_id".into()).into())
        };
    }
    let rows = tx.query(
        "SELECT biz_id FROM instance WHERE obj_id = ? AND inst_id = ?",
        &[parent.into(), SqlValue::Int(parent_id)],
    )?;
    match scalar_i64(&rows) {
        Some(found_biz) if found_biz == biz => Ok(()),
        _ => Err(DomainError::IsInvalid("bk_parent_id".into()).into()),
    }
}

/// Validates a create body against the schema and builds the document to store (without the
/// server-owned fields). Errors are those of coreservice's `validCreateInstanceData`.
pub(crate) fn build_create_doc(
    schema: &ModelSchema,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, DomainError> {
    for a in &schema.attrs {
        if a.attr.isrequired && !body.contains_key(&a.attr.bk_property_id) {
            return Err(DomainError::NeedSet(a.attr.bk_property_id.clone()));
        }
    }
    let mut doc = Map::new();
    for a in &schema.attrs {
        let prop = &a.attr.bk_property_id;
        if !body.contains_key(prop) {
            doc.insert(prop.clone(), fill_value(a).map_err(DomainError::wrap)?);
        }
    }
    // Custom levels only: the built-in levels (set, module) have their own name fields.
    let custom_mainline =
        schema.is_mainline() && !is_builtin_instance_model(&schema.object.bk_obj_id);
    if custom_mainline {
        let name = validate_mainline_inst_name(body.get("bk_inst_name").unwrap_or(&Value::Null))
            .map_err(DomainError::wrap)?;
        doc.insert("bk_inst_name".into(), Value::String(name));
        if let Some(p) = body.get("bk_parent_id") {
            if !matches!(loose_i64(p), Some(n) if n > 0) || !p.is_number() {
                return Err(DomainError::ParamsInvalid("bk_parent_id".into()).wrap());
            }
        }
    }
    for (key, value) in body {
        if PASSTHROUGH_KEYS.contains(&key.as_str()) {
            doc.insert(key.clone(), value.clone());
            continue;
        }
        let Some(attr) = schema.attr(key) else {
            continue;
        };
        if attr.ptype == Some(PropertyType::Innertable) {
            continue;
        }
        if custom_mainline && key == "bk_inst_name" {
            continue;
        }
        let stored = validate_value(attr, value).map_err(DomainError::wrap)?;
        doc.insert(key.clone(), stored);
    }
    Ok(doc)
}

/// `create_inst`: validates, stores and returns the new instance document.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    if is_builtin_instance_model(obj_id) {
        return Err(DomainError::InnerModelForbidden.into());
    }
    let biz_value = body.get("bk_biz_id");
    let biz_id = biz_value.and_then(loose_i64).unwrap_or(0);
    let Some(schema) = ModelSchema::load(tx, obj_id, biz_id)? else {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    };
    create_with_schema(tx, ctx, &schema, body)
}

/// `create_inst` once the schema is known (batch create reuses it per item).
pub fn create_with_schema(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    schema: &ModelSchema,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let obj_id = schema.object.bk_obj_id.as_str();
    if schema.object.bk_ispaused {
        return Err(DomainError::ModelPaused.into());
    }
    check_mainline_parent(tx, schema, body)?;
    let biz_id = match body.get("bk_biz_id") {
        None => 0,
        Some(v) => loose_i64(v).ok_or_else(|| DomainError::IsInvalid("bk_biz_id".into()))?,
    };
    if biz_id != 0 && !instance_exists(tx, "biz", biz_id)? {
        return Err(DomainError::IsInvalid("bk_biz_id".into()).into());
    }
    let mut doc = build_create_doc(schema, body)?;
    let inst_id = tx.next_id(INSTANCE_SEQUENCE)?;
    doc.insert("bk_inst_id".into(), Value::from(inst_id));
    doc.insert("bk_obj_id".into(), Value::String(obj_id.to_string()));
    stamp_created(schema, ctx, &mut doc);
    let parent_id = doc.get("bk_parent_id").and_then(loose_i64).unwrap_or(0);
    insert_row(
        tx,
        ctx,
        InstanceRow {
            obj_id,
            inst_id,
            name: &inst_name(&doc),
            biz_id,
            parent_id,
        },
        &doc,
    )?;
    insert_unique_keys(tx, schema, inst_id, &doc)?;
    let doc = Value::Object(doc);
    let (audit_type, resource_type, watch) = audit_kinds(schema);
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type,
            resource_type,
            action: "create",
            biz_id,
            resource_id: Value::from(inst_id),
            resource_name: doc
                .get("bk_inst_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            obj_id: Some(obj_id.to_string()),
            pre_data: None,
            cur_data: Some(doc.clone()),
            update_fields: None,
        },
    )?;
    audit::event(tx, ctx, watch, EventType::Create, obj_id, inst_id, &doc)?;
    Ok(doc)
}

/// Validates and applies an update body to a stored document; returns the fields applied.
pub(crate) fn apply_update(
    schema: &ModelSchema,
    doc: &mut Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>, DomainError> {
    let mut applied = Map::new();
    for (key, value) in body {
        if matches!(key.as_str(), "bk_parent_id" | "bk_biz_id" | "bk_inst_id") {
            continue;
        }
        let Some(attr) = schema.attr(key) else {
            continue;
        };
        if !attr.attr.editable || attr.ptype == Some(PropertyType::Innertable) {
            continue;
        }
        if attr.ptype == Some(PropertyType::IdRule)
            && doc
                .get(key)
                .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        {
            return Err(DomainError::IsInvalid(key.clone()).wrap());
        }
        let empty = value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty());
        if attr.attr.isrequired && empty {
            return Err(DomainError::NeedSet(key.clone()).wrap());
        }
        let stored = if schema.is_mainline() && key == "bk_inst_name" {
            Value::String(validate_mainline_inst_name(value).map_err(DomainError::wrap)?)
        } else {
            validate_value(attr, value).map_err(DomainError::wrap)?
        };
        doc.insert(key.clone(), stored.clone());
        applied.insert(key.clone(), stored);
    }
    Ok(applied)
}

/// `update_inst` of one instance (batch update runs it per item in one transaction).
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    inst_id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    if is_builtin_instance_model(obj_id) && obj_id != "host" {
        return Err(DomainError::InnerModelForbidden.into());
    }
    let Some(old) = get_doc_for_update(tx, obj_id, inst_id)? else {
        return Err(DomainError::NotFound.into());
    };
    if obj_id == "host" {
        // Hosts keep their list fields as arrays and their address keys in `host_ip`.
        return super::hosts::update_host_doc(tx, ctx, inst_id, old, body);
    }
    let biz_id = old.get("bk_biz_id").and_then(loose_i64).unwrap_or(0);
    let Some(schema) = ModelSchema::load(tx, obj_id, biz_id)? else {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    };
    let mut doc = old.clone();
    let applied = apply_update(&schema, &mut doc, body)?;
    stamp_updated(&schema, ctx, &mut doc);
    rewrite_row(tx, ctx, &schema, inst_id, &inst_name(&doc), &doc)?;
    let (audit_type, resource_type, watch) = audit_kinds(&schema);
    let doc = Value::Object(doc);
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type,
            resource_type,
            action: "update",
            biz_id,
            resource_id: Value::from(inst_id),
            resource_name: doc
                .get("bk_inst_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            obj_id: Some(obj_id.to_string()),
            pre_data: Some(Value::Object(old)),
            cur_data: Some(doc.clone()),
            update_fields: Some(Value::Object(applied)),
        },
    )?;
    audit::event(tx, ctx, watch, EventType::Update, obj_id, inst_id, &doc)
}

/// `batch_update_inst`: every item or none.
pub fn batch_update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    items: &[(i64, Map<String, Value>)],
) -> Result<(), StoreError> {
    for (inst_id, data) in items {
        update(tx, ctx, obj_id, *inst_id, data)?;
    }
    Ok(())
}

/// `delete_inst` / `batch_delete_inst`: missing ids are ignored; instances with live
/// associations are refused; associations whose other end is gone are cleaned. A custom
/// mainline instance takes its whole subtree (lower levels, sets, modules) with it (§7 step 3).
pub fn delete(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    inst_ids: &[i64],
) -> Result<(), StoreError> {
    if is_builtin_instance_model(obj_id) {
        return Err(DomainError::InnerModelForbidden.into());
    }
    if ModelSchema::load(tx, obj_id, 0)?.is_none() {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    }
    let mainline = super::mainline::is_custom_level(&super::mainline::chain(tx)?, obj_id);
    for &inst_id in inst_ids {
        let Some(old) = get_doc_for_update(tx, obj_id, inst_id)? else {
            continue;
        };
        if mainline {
            // Deepest level first, so no row is ever left without its parent.
            let biz_id = old.get("bk_biz_id").and_then(loose_i64).unwrap_or(0);
            let levels = super::mainline::descendants(tx, obj_id, biz_id, inst_id)?;
            // A subtree whose modules hold hosts cannot go (30-topology §4.2, 1101030).
            for (level, rows) in &levels {
                if level == "module" {
                    for (id, _) in rows {
                        if super::hosts::has_hosts(tx, super::hosts::HostScope::Module, *id)? {
                            return Err(DomainError::HasHosts.into());
                        }
                    }
                }
            }
            for (level, rows) in levels.into_iter().rev() {
                for (id, doc) in rows {
                    delete_row(tx, ctx, &level, id, doc, true)?;
                }
            }
        }
        delete_row(tx, ctx, obj_id, inst_id, old, mainline)?;
    }
    Ok(())
}

/// Removes one instance row with its unique keys, stale associations, audit record and event;
/// `mainline` rows are audited as topology resources.
pub(crate) fn delete_row(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    inst_id: i64,
    old: Map<String, Value>,
    mainline: bool,
) -> Result<(), StoreError> {
    // 20-instances §7 step 4: refused while a link's other end still exists; links whose
    // other end is gone, and links to itself, go with it (each audited and watched).
    super::associations::refuse_live_links(tx, obj_id, inst_id, DomainError::InstHasAssociation)?;
    super::associations::remove_links_of(tx, ctx, obj_id, inst_id)?;
    tx.execute(
        "DELETE FROM instance WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), SqlValue::Int(inst_id)],
    )?;
    tx.execute(
        "DELETE FROM instance_unique WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), SqlValue::Int(inst_id)],
    )?;
    let (audit_type, resource_type, watch) = if mainline {
        super::business::removed_kinds(obj_id)
    } else {
        ("model_instance", "model_instance", "object_instance")
    };
    let name_key = match obj_id {
        "set" => "bk_set_name",
        "module" => "bk_module_name",
        _ => "bk_inst_name",
    };
    let doc = Value::Object(old);
    audit::removed(
        tx,
        ctx,
        audit::Removed {
            audit_type,
            resource_type,
            watch,
            biz_id: doc.get("bk_biz_id").and_then(loose_i64).unwrap_or(0),
            obj_id,
            inst_id,
            name: doc
                .get(name_key)
                .and_then(Value::as_str)
                .unwrap_or_default(),
            doc: &doc,
        },
    )
}

/// Most items in one `batch_create_inst`.
pub const BATCH_CREATE_LIMIT: usize = 200;

/// `batch_create_inst`: per item ([`super::BatchOutcome`]).
pub fn batch_create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    details: &[Map<String, Value>],
) -> Result<super::BatchOutcome, StoreError> {
    if is_builtin_instance_model(obj_id) {
        return Err(DomainError::InnerModelForbidden.into());
    }
    if details.is_empty() {
        return Err(DomainError::NeedDetails.into());
    }
    if details.len() > BATCH_CREATE_LIMIT {
        return Err(DomainError::ExceedLimit("details".into(), BATCH_CREATE_LIMIT as u64).into());
    }
    let Some(schema) = ModelSchema::load(tx, obj_id, 0)? else {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    };
    if schema.is_mainline() {
        return Err(DomainError::MainlineModelForbidden.into());
    }
    super::BatchOutcome::run(tx, details, |tx, item| {
        let per_biz;
        let item_schema = match item.get("bk_biz_id").and_then(loose_i64) {
            Some(biz) if biz != 0 => {
                per_biz = ModelSchema::load(tx, obj_id, biz)?.unwrap_or_else(|| schema.clone());
                &per_biz
            }
            _ => &schema,
        };
        let doc = create_with_schema(tx, ctx, item_schema, item)?;
        Ok(doc.get("bk_inst_id").and_then(Value::as_i64).unwrap_or(0))
    })
}

/// A compiled instance query over one model.
pub(crate) struct Query {
    /// The row filter.
    pub filter: cmdb_domain::filter::Expr,
    /// Extra SQL condition (search_inst's associated-model restriction).
    pub restrict: Option<crate::sql::SqlBuilder>,
    /// Sort keys before the `inst_id` tiebreak.
    pub sort: Vec<(cmdb_domain::filter::FieldInfo, bool)>,
    /// Offset.
    pub start: u64,
    /// Page size (`None` = all).
    pub limit: Option<u64>,
}

/// Result rows plus, when asked, the total ignoring paging.
#[derive(Debug, Clone)]
pub struct Found {
    /// Total matches (when counted).
    pub count: Option<u64>,
    /// The page of documents (projected).
    pub info: Vec<Value>,
}

fn load_schema_for_search(
    tx: &mut dyn Tx,
    obj_id: &str,
) -> Result<std::sync::Arc<ModelSchema>, StoreError> {
    if is_builtin_instance_model(obj_id) {
        return Err(DomainError::InnerModelForbidden.into());
    }
    ModelSchema::load(tx, obj_id, 0)?
        .ok_or_else(|| DomainError::IsInvalid("bk_obj_id".into()).into())
}

fn where_clause(
    tx: &dyn Tx,
    obj_id: &str,
    q: &Query,
) -> Result<crate::sql::SqlBuilder, StoreError> {
    let mut b = crate::sql::SqlBuilder::new();
    b.push(" FROM instance WHERE obj_id = ")
        .bind(obj_id)
        .push(" AND (");
    crate::sql::compile::compile_where(&q.filter, tx.dialect(), "data", &mut b)?;
    b.push(")");
    if let Some(extra) = &q.restrict {
        b.push(" AND ").push(&extra.sql);
        b.params.extend(extra.params.iter().cloned());
    }
    Ok(b)
}

/// Runs `q` over the instances of `obj_id`: the total when `count`, the page of documents
/// (projected to `fields`) when `info`.
pub(crate) fn run_query(
    tx: &mut dyn Tx,
    obj_id: &str,
    q: &Query,
    count: bool,
    info: bool,
    fields: Option<&[String]>,
) -> Result<Found, StoreError> {
    let total = if count {
        let w = where_clause(tx, obj_id, q)?;
        let rows = tx.query(&format!("SELECT COUNT(*){}", w.sql), &w.params)?;
        Some(scalar_i64(&rows).unwrap_or(0).max(0) as u64)
    } else {
        None
    };
    let mut docs = Vec::new();
    if info {
        let mut b = where_clause(tx, obj_id, q)?;
        b.push(" ORDER BY ");
        if !q.sort.is_empty() {
            crate::sql::compile::compile_order_by(&q.sort, tx.dialect(), "data", &mut b)?;
            b.push(", ");
        }
        b.push("inst_id");
        b.page(q.start, q.limit);
        let rows = tx.query(&format!("SELECT data{}", b.sql), &b.params)?;
        for row in rows {
            let Some(cell) = row.into_iter().next() else {
                continue;
            };
            let doc = cell.into_json()?;
            docs.push(project(doc, fields));
        }
    }
    Ok(Found {
        count: total,
        info: docs,
    })
}

/// Keeps only `fields` (those the document has); no list or an empty one keeps everything.
pub(crate) fn project(doc: Value, fields: Option<&[String]>) -> Value {
    match (doc, fields) {
        (Value::Object(mut map), Some(fields)) if !fields.is_empty() => {
            let mut out = Map::new();
            for f in fields {
                if let Some(v) = map.remove(f) {
                    out.insert(f.clone(), v);
                }
            }
            Value::Object(out)
        }
        (doc, _) => doc,
    }
}

/// A stored document (its JSON text) parsed only as far as `fields` need: the members not asked
/// for are skipped without building values. Equal to `project(parse(text), fields)` for a
/// non-empty `fields`, at a fraction of the cost when a list asks for a few of a document's
/// dozens of members (a page of 500 hosts with six fields, say).
pub(crate) fn parse_projected(
    text: &str,
    fields: &[String],
) -> Result<Map<String, Value>, StoreError> {
    use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
    use std::borrow::Cow;

    /// A member name, borrowed from the text when it has no escapes.
    struct Key<'de>(Cow<'de, str>);
    impl<'de> serde::Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct KeyVisitor;
            impl<'de> Visitor<'de> for KeyVisitor {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("a member name")
                }
                fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_string())))
                }
            }
            d.deserialize_str(KeyVisitor)
        }
    }
    struct Projection<'f>(&'f [String]);
    impl<'de> DeserializeSeed<'de> for Projection<'_> {
        type Value = Map<String, Value>;
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Projection<'_> {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
            let mut out = Map::new();
            while let Some(Key(key)) = access.next_key::<Key<'de>>()? {
                match self.0.iter().find(|f| f.as_str() == key) {
                    Some(f) => {
                        out.insert(f.clone(), access.next_value::<Value>()?);
                    }
                    None => {
                        access.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    Projection(fields)
        .deserialize(&mut de)
        .and_then(|m| de.end().map(|()| m))
        .map_err(|e| StoreError::Corrupt(format!("stored JSON does not parse: {e}")))
}

/// A list of strings (`fields`); `null`/absent = none; a non-array is 1199000, a non-string
/// element 1199006 naming `path`.
pub(crate) fn string_list(
    value: Option<&Value>,
    path: &str,
) -> Result<Option<Vec<String>>, DomainError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| DomainError::ParamsInvalid(path.into()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(DomainError::JsonUnmarshal),
    }
}

/// `search_object_instances` / `count_object_instances` (pkg/filter `conditions`).
pub fn search_object_instances(
    tx: &mut dyn Tx,
    obj_id: &str,
    body: &Map<String, Value>,
    count_only: bool,
) -> Result<Found, StoreError> {
    use cmdb_domain::filter::{parse_expression, parse_time_condition, Expr, Page};
    let schema = load_schema_for_search(tx, obj_id)?;
    let null = Value::Null;
    let conditions = parse_expression(
        body.get("conditions").unwrap_or(&null),
        &*schema,
        "conditions",
    )?;
    let time = parse_time_condition(
        body.get("time_condition").unwrap_or(&null),
        &*schema,
        "time_condition",
    )?;
    let filter = Expr::And(vec![conditions, time]);
    if count_only {
        let q = Query {
            filter,
            restrict: None,
            sort: Vec::new(),
            start: 0,
            limit: None,
        };
        return run_query(tx, obj_id, &q, true, false, None);
    }
    let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
    page.validate_limit(cmdb_domain::filter::page::MAX_INSTANCE_LIMIT, "page")?;
    let sort = page.sort_fields(&*schema, "page")?;
    let fields = string_list(body.get("fields"), "fields")?;
    let q = Query {
        filter,
        restrict: None,
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    let mut found = run_query(tx, obj_id, &q, false, true, fields.as_deref())?;
    found.count = None;
    Ok(found)
}

/// `search_inst_by_object`: legacy `condition` map, `fields` list, legacy paging.
pub fn search_by_object(
    tx: &mut dyn Tx,
    obj_id: &str,
    body: &Map<String, Value>,
) -> Result<Found, StoreError> {
    use cmdb_domain::filter::{parse_condition, Page};
    let schema = load_schema_for_search(tx, obj_id)?;
    let null = Value::Null;
    let filter = parse_condition(
        body.get("condition").unwrap_or(&null),
        &*schema,
        "condition",
    )?;
    let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
    page.validate_max(true, "page")?;
    let sort = page.sort_fields(&*schema, "page")?;
    let fields = string_list(body.get("fields"), "fields")?;
    let q = Query {
        filter,
        restrict: None,
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    run_query(tx, obj_id, &q, true, true, fields.as_deref())
}

/// `search_inst`: per-model condition lists; conditions on other models select the target
/// instances associated with the matching instances of that model (20-instances §8).
pub fn search_inst(
    tx: &mut dyn Tx,
    obj_id: &str,
    body: &Map<String, Value>,
) -> Result<Found, StoreError> {
    use cmdb_domain::filter::{parse_condition_list, parse_time_condition, Expr, Page, RegexMode};
    let schema = load_schema_for_search(tx, obj_id)?;
    let null = Value::Null;
    let mut parts = Vec::new();
    let mut others = Vec::new();
    match body.get("condition") {
        None | Some(Value::Null) => {}
        Some(Value::Object(by_model)) => {
            for (model, list) in by_model {
                let path = format!("condition.{model}");
                if model == obj_id {
                    parts.push(parse_condition_list(
                        list,
                        &*schema,
                        &path,
                        RegexMode::Literal,
                    )?);
                } else {
                    let Some(other) = ModelSchema::load(tx, model, 0)? else {
                        return Err(DomainError::IsInvalid(path).into());
                    };
                    let expr = parse_condition_list(list, &*other, &path, RegexMode::Literal)?;
                    others.push((model.clone(), expr));
                }
            }
        }
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    }
    parts.push(parse_time_condition(
        body.get("time_condition").unwrap_or(&null),
        &*schema,
        "time_condition",
    )?);
    let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
    page.validate_max(true, "page")?;
    let sort = page.sort_fields(&*schema, "page")?;
    let fields = match body.get("fields") {
        Some(Value::Object(by_model)) => string_list(by_model.get(obj_id), "fields")?,
        None | Some(Value::Null) => None,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let filter = Expr::And(parts);
    // Associated-model restriction: a SQL sub-select per other model.
    let dialect = tx.dialect();
    let mut restrict = crate::sql::SqlBuilder::new();
    for (i, (model, expr)) in others.iter().enumerate() {
        if i > 0 {
            restrict.push(" AND ");
        }
        restrict
            .push("inst_id IN (SELECT inst_id FROM instance_association WHERE obj_id = ")
            .bind(obj_id)
            .push(" AND asst_obj_id = ")
            .bind(model.as_str())
            .push(" AND asst_inst_id IN (SELECT inst_id FROM instance WHERE obj_id = ")
            .bind(model.as_str())
            .push(" AND (");
        crate::sql::compile::compile_where(expr, dialect, "data", &mut restrict)?;
        restrict.push(")))");
    }
    let q = Query {
        filter,
        restrict: (!others.is_empty()).then_some(restrict),
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    run_query(tx, obj_id, &q, true, true, fields.as_deref())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // test code: a panic is a failed test

    use super::{parse_projected, project};
    use serde_json::{json, Value};

    #[test]
    fn projected_parse_equals_parse_then_project() {
        let doc = json!({"a": 1, "b": [1, {"x": "y"}], "c\"q": "esc", "d": null, "e": "é\n",
                         "f": {"g": [true, false]}, "h": 1.5});
        let text = doc.to_string();
        for fields in [
            vec!["a"],
            vec!["b", "f", "zz"],
            vec!["c\"q", "e", "d", "h"],
            vec!["missing"],
        ] {
            let fields: Vec<String> = fields.into_iter().map(String::from).collect();
            let want = project(doc.clone(), Some(&fields));
            let got = Value::Object(parse_projected(&text, &fields).unwrap());
            assert_eq!(got, want, "{fields:?}");
        }
        assert!(parse_projected("{\"a\": 1", &["a".into()]).is_err());
        assert!(parse_projected("{\"a\": 1} x", &["a".into()]).is_err());
        assert!(parse_projected("[1]", &["a".into()]).is_err());
    }
}
