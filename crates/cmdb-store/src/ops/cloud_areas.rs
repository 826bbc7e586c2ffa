//! Cloud areas (40-hosts §2, §8): search, create, update, delete of `plat` instances. A cloud
//! area is a row of `instance` with `obj_id = 'plat'`, `inst_id = bk_cloud_id` (sequence
//! `plat`; 0 "Default Area" and 90000001 "UnAssigned" are seeded) and `inst_name` =
//! `bk_cloud_name`, unique through the seeded unique rule on `bk_cloud_name`.

use cmdb_domain::filter::{
    parse_condition, Expr, FieldCatalog, FieldInfo, FieldType, Page, StrMatch,
};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::audit::{self, AuditEntry, EventType};
use super::instances::{
    build_create_doc, get_doc_for_update, insert_row, insert_unique_keys, rewrite_row, run_query,
    stamp_created, stamp_updated, InstanceRow, Query,
};
use super::schema_cache::ModelSchema;
use super::OpContext;
use crate::{SqlValue, StoreError, Tx};

/// Id sequence of cloud areas.
pub const PLAT_SEQUENCE: &str = "plat";

/// The built-in default area.
pub const DEFAULT_AREA: i64 = 0;

/// The built-in "unassigned" area.
pub const UNASSIGNED_AREA: i64 = 90_000_001;

/// The fields a cloud-area condition may name: the `plat` model's attributes and system fields,
/// with `bk_cloud_id` and `bk_cloud_name` bound to the indexed columns.
pub struct PlatCatalog<'a>(pub &'a ModelSchema);

impl FieldCatalog for PlatCatalog<'_> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        match field {
            "bk_cloud_id" => Some(FieldInfo::column(field, "inst_id", FieldType::Int)),
            "bk_cloud_name" => Some(FieldInfo::column(field, "inst_name", FieldType::Text)),
            "bk_inst_id" | "bk_inst_name" | "bk_obj_id" | "bk_parent_id" | "bk_biz_id" => None,
            _ => self.0.lookup(field),
        }
    }
}

fn plat_schema(tx: &mut dyn Tx) -> Result<std::sync::Arc<ModelSchema>, StoreError> {
    ModelSchema::load_builtin(tx, "plat", 0)
}

fn name_of(doc: &Map<String, Value>) -> String {
    super::util::text_of(doc, "bk_cloud_name")
}

fn audit_area(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    (action, event): (&'static str, EventType),
    id: i64,
    (pre, cur, fields): (Option<Value>, Option<Value>, Option<Value>),
) -> Result<(), StoreError> {
    let doc = cur.clone().or_else(|| pre.clone()).unwrap_or(Value::Null);
    let name = doc
        .get("bk_cloud_name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "cloud_resource",
            resource_type: "cloud_area",
            action,
            biz_id: 0,
            resource_id: Value::from(id),
            resource_name: name,
            obj_id: Some("plat".into()),
            pre_data: pre,
            cur_data: cur,
            update_fields: fields,
        },
    )?;
    audit::event(tx, ctx, "plat", event, "plat", id, &doc)
}

/// `search_cloud_area` (§8.1): `condition` (with `is_fuzzy`, string values become
/// case-insensitive substring matches), `page` (limit 0 = 1000, otherwise 1…1000, else
/// 1199006; default sort `-create_time`), `sync_task_ids` adds an (empty) list per area.
pub fn search(tx: &mut dyn Tx, body: &Map<String, Value>) -> Result<Value, StoreError> {
    let schema = plat_schema(tx)?;
    let catalog = PlatCatalog(&schema);
    let fuzzy = body.get("is_fuzzy").and_then(Value::as_bool) == Some(true);
    let mut parts = Vec::new();
    match body.get("condition") {
        None | Some(Value::Null) => {}
        Some(Value::Object(cond)) => {
            let mut rest = Map::new();
            for (key, value) in cond {
                match value {
                    Value::String(text) if fuzzy && !key.starts_with('$') => {
                        let field = catalog.lookup(key).ok_or_else(|| {
                            DomainError::ParamsInvalid(format!("condition.{key}"))
                        })?;
                        parts.push(Expr::Like {
                            field,
                            kind: StrMatch::Contains,
                            value: text.clone(),
                            case_insensitive: true,
                        });
                    }
                    _ => {
                        rest.insert(key.clone(), value.clone());
                    }
                }
            }
            parts.push(parse_condition(
                &Value::Object(rest),
                &catalog,
                "condition",
            )?);
        }
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    }
    let mut page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    if page.limit == 0 {
        page.limit = cmdb_domain::filter::page::MAX_PAGE_SIZE;
    }
    page.validate_limit(cmdb_domain::filter::page::MAX_PAGE_SIZE, "page")?;
    if page.sort.is_empty() {
        page.sort = "-create_time".into();
    }
    let sort = page.sort_fields(&catalog, "page")?;
    let q = Query {
        filter: Expr::And(parts),
        restrict: None,
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    let mut found = run_query(tx, "plat", &q, true, true, None)?;
    if body.get("sync_task_ids").and_then(Value::as_bool) == Some(true) {
        for doc in &mut found.info {
            if let Value::Object(m) = doc {
                m.insert("sync_task_ids".into(), json!([]));
            }
        }
    }
    Ok(json!({"count": found.count.unwrap_or(0), "info": found.info}))
}

/// Keys of a cloud-area body the server owns.
const SERVER_KEYS: &[&str] = &[
    "bk_cloud_id",
    "bk_supplier_account",
    "create_time",
    "last_time",
    "bk_creator",
    "bk_last_editor",
    "bk_biz_id",
    "bk_parent_id",
    "default",
    "bk_data_status",
    "bk_process_id",
    "metadata",
];

/// `create_cloud_area` (§8.2): `bk_cloud_name` required (1110063), unique (1199014
/// `bk_cloud_name`); `bk_creator` / `bk_last_editor` = the operator. Returns the new id.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<i64, StoreError> {
    let name_given = body
        .get("bk_cloud_name")
        .and_then(Value::as_str)
        .is_some_and(|s| !s.trim().is_empty());
    if !name_given {
        return Err(DomainError::CloudNameMissing.into());
    }
    let schema = plat_schema(tx)?;
    let mut body = body.clone();
    for key in SERVER_KEYS {
        body.remove(*key);
    }
    let mut doc = build_create_doc(&schema, &body)?;
    let id = tx.next_id(PLAT_SEQUENCE)?;
    doc.insert("bk_cloud_id".into(), Value::from(id));
    doc.insert("bk_creator".into(), Value::String(ctx.user.clone()));
    doc.insert("bk_last_editor".into(), Value::String(ctx.user.clone()));
    stamp_created(&schema, ctx, &mut doc);
    let name = name_of(&doc);
    insert_row(
        tx,
        ctx,
        InstanceRow {
            obj_id: "plat",
            inst_id: id,
            name: &name,
            biz_id: 0,
            parent_id: 0,
        },
        &doc,
    )?;
    insert_unique_keys(tx, &schema, id, &doc)?;
    audit_area(
        tx,
        ctx,
        ("create", EventType::Create),
        id,
        (None, Some(Value::Object(doc)), None),
    )?;
    Ok(id)
}

/// `update_cloud_area` (§8.3): the built-in areas → 1199076; unknown → 1199019; only non-empty
/// values are applied; a taken name → 1199014.
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    if id == DEFAULT_AREA || id == UNASSIGNED_AREA {
        return Err(DomainError::BuiltinCloudUpdate.into());
    }
    let Some(old) = get_doc_for_update(tx, "plat", id)? else {
        return Err(DomainError::NotFound.into());
    };
    let schema = plat_schema(tx)?;
    let mut changes = Map::new();
    for (key, value) in body {
        if SERVER_KEYS.contains(&key.as_str()) {
            continue;
        }
        let empty = value.is_null() || value.as_str().is_some_and(|s| s.is_empty());
        if !empty {
            changes.insert(key.clone(), value.clone());
        }
    }
    let mut doc = old.clone();
    let applied = super::instances::apply_update(&schema, &mut doc, &changes)?;
    doc.insert("bk_last_editor".into(), Value::String(ctx.user.clone()));
    stamp_updated(&schema, ctx, &mut doc);
    let name = name_of(&doc);
    rewrite_row(tx, ctx, &schema, id, &name, &doc)?;
    audit_area(
        tx,
        ctx,
        ("update", EventType::Update),
        id,
        (
            Some(Value::Object(old)),
            Some(Value::Object(doc)),
            Some(Value::Object(applied)),
        ),
    )
}

/// `delete_cloud_area` (§8.4): the built-in areas → 1110066; an area a host names → 1101030;
/// unknown → success.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, id: i64) -> Result<(), StoreError> {
    if id == DEFAULT_AREA || id == UNASSIGNED_AREA {
        return Err(DomainError::DefaultCloudDelete.into());
    }
    // Locked first: a host being created in this area reads it FOR SHARE, so it either
    // committed (and is found below) or waits and then finds the area gone.
    let Some(old) = get_doc_for_update(tx, "plat", id)? else {
        return Ok(());
    };
    let used = tx.query(
        "SELECT 1 FROM host_ip WHERE cloud_id = ? LIMIT 1",
        &[SqlValue::Int(id)],
    )?;
    if !used.is_empty() {
        return Err(DomainError::HasHosts.into());
    }
    let p = [SqlValue::Int(id)];
    tx.execute_deferred(
        "DELETE FROM instance_unique WHERE obj_id = 'plat' AND inst_id = ?",
        &p,
        None,
    )?;
    tx.execute_deferred(
        "DELETE FROM instance WHERE obj_id = 'plat' AND inst_id = ?",
        &p,
        None,
    )?;
    audit_area(
        tx,
        ctx,
        ("delete", EventType::Delete),
        id,
        (Some(Value::Object(old)), None, None),
    )
}
