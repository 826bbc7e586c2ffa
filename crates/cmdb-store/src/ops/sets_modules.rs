//! Sets and modules (30-topology §3.2, §3.3, §4, §5.6–§5.16): create, search, update, delete
//! (single and batch) and the by-id batch reads of the two lowest mainline levels above hosts.
//!
//! A set is a row of the `instance` table with `obj_id = 'set'`, `inst_id` = `bk_set_id`
//! (sequence `set`), `biz_id` = `bk_biz_id`, `parent_id` = `bk_parent_id` (the business, or the
//! custom-level instance directly above) and `inst_name` = `bk_set_name`. A module is a row with
//! `obj_id = 'module'`, `inst_id` = `bk_module_id` (sequence `module`), `parent_id` =
//! `bk_parent_id` = `bk_set_id` and `inst_name` = `bk_module_name`. Their documents have the
//! shape the idle pool of `seed.rs` writes. Values are validated by the instance machinery
//! (`instances.rs`) against the `set` / `module` models' attributes.
//!
//! Name uniqueness is enforced by the database: every set owns one `instance_unique` row under
//! the pseudo rule [`SET_NAME_RULE`] keyed `[bk_biz_id, bk_parent_id, bk_set_name]`, every module
//! one under [`MODULE_NAME_RULE`] keyed `[bk_biz_id, bk_set_id, bk_module_name]` (negative rule
//! ids never collide with real unique rules, whose ids are positive). Racing creates and
//! renames therefore lose inside the database with 1101108 / 1199014.
//!
//! A set or module that holds hosts (`host_module` rows) cannot be deleted (1101030). Not here
//! yet: set and service templates do not exist, so a non-zero `set_template_id` / `service_template_id` is
//! refused as a missing template (1199006), and `service_category_id` is not checked against
//! service categories (it defaults to the default category, 2).

use std::sync::Arc;

use cmdb_domain::filter::{
    parse_condition, parse_query_filter, parse_time_condition, CmpOp, Expr, FieldCatalog,
    FieldInfo, FieldType, Page,
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
use super::util::{for_update, loose_i64, text_of};
use super::OpContext;
use crate::{SqlValue, StoreError, Tx};

/// Id sequence of sets.
pub const SET_SEQUENCE: &str = "set";

/// Id sequence of modules.
pub const MODULE_SEQUENCE: &str = "module";

/// Pseudo unique-rule id of set names: key `[bk_biz_id, bk_parent_id, bk_set_name]`.
pub const SET_NAME_RULE: i64 = -1;

/// Pseudo unique-rule id of module names: key `[bk_biz_id, bk_set_id, bk_module_name]`.
pub const MODULE_NAME_RULE: i64 = -2;

/// Most ids one `find_set_batch` / `find_module_batch` call may name.
pub const FIND_BATCH_LIMIT: u64 = 500;

/// `service_category_id` of a module that names none (the default category, as the seed uses).
pub const DEFAULT_SERVICE_CATEGORY: i64 = 2;

/// `default` of a resource-pool directory module: the one built-in kind that may be changed.
const DIRECTORY_MODULE: i64 = 4;

/// Keys of a set create body the server owns: dropped before validation, then set by the
/// server.
const SET_SERVER_KEYS: &[&str] = &[
    "bk_biz_id",
    "bk_parent_id",
    "bk_set_id",
    "default",
    "set_template_id",
    "set_template_version",
    "bk_data_status",
    "bk_process_id",
];

/// Keys of a module create body the server owns.
const MODULE_SERVER_KEYS: &[&str] = &[
    "bk_biz_id",
    "bk_parent_id",
    "bk_set_id",
    "bk_module_id",
    "default",
    "set_template_id",
    "service_template_id",
    "service_category_id",
    "host_apply_enabled",
    "bk_data_status",
    "bk_process_id",
];

/// Keys an update_set payload silently loses (§5.8).
const SET_UPDATE_DROPPED: &[&str] = &[
    "bk_biz_id",
    "bk_set_id",
    "set_template_id",
    "bk_parent_id",
    "default",
];

/// Keys an update_module payload silently loses (§5.14).
const MODULE_UPDATE_DROPPED: &[&str] = &[
    "bk_biz_id",
    "bk_set_id",
    "bk_module_id",
    "bk_parent_id",
    "default",
];

/// Which of the two levels an operation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `set`.
    Set,
    /// `module`.
    Module,
}

impl Level {
    fn obj_id(self) -> &'static str {
        match self {
            Level::Set => "set",
            Level::Module => "module",
        }
    }

    fn id_key(self) -> &'static str {
        match self {
            Level::Set => "bk_set_id",
            Level::Module => "bk_module_id",
        }
    }

    fn name_key(self) -> &'static str {
        match self {
            Level::Set => "bk_set_name",
            Level::Module => "bk_module_name",
        }
    }
}

/// The fields a set or module filter may name: the model's attributes and the system fields,
/// with the id, name, business and parent bound to the indexed columns (`bk_set_id` of a
/// module is its parent), plus `default` and the server-owned fields. Instance-only names
/// (`bk_inst_id`, `bk_inst_name`, `bk_obj_id`) are not fields of a set or module.
pub struct LevelCatalog<'a> {
    /// The model's schema.
    pub schema: &'a ModelSchema,
    /// Which level.
    pub level: Level,
}

impl FieldCatalog for LevelCatalog<'_> {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        match (self.level, field) {
            (Level::Set, "bk_set_id") | (Level::Module, "bk_module_id") => {
                Some(FieldInfo::column(field, "inst_id", FieldType::Int))
            }
            (Level::Set, "bk_set_name") | (Level::Module, "bk_module_name") => {
                Some(FieldInfo::column(field, "inst_name", FieldType::Text))
            }
            (_, "bk_biz_id") => Some(FieldInfo::column(field, "biz_id", FieldType::Int)),
            (_, "bk_parent_id") | (Level::Module, "bk_set_id") => {
                Some(FieldInfo::column(field, "parent_id", FieldType::Int))
            }
            (_, "default") => Some(default_field()),
            (Level::Set, "set_template_version") => Some(FieldInfo::doc(field, FieldType::Int)),
            (Level::Module, "host_apply_enabled") => Some(FieldInfo::doc(field, FieldType::Bool)),
            (_, "bk_inst_id" | "bk_inst_name" | "bk_obj_id") => None,
            _ => self.schema.lookup(field),
        }
    }
}

fn default_field() -> FieldInfo {
    FieldInfo::doc("default", FieldType::Int)
}

fn biz_field() -> FieldInfo {
    FieldInfo::column("bk_biz_id", "biz_id", FieldType::Int)
}

fn int_eq(field: FieldInfo, value: i64) -> Expr {
    Expr::Cmp {
        field,
        op: CmpOp::Eq,
        value: json!(value),
    }
}

/// The schema of a built-in level model (seeded, so its absence is a broken database).
fn schema_of(tx: &mut dyn Tx, level: Level, biz_id: i64) -> Result<Arc<ModelSchema>, StoreError> {
    ModelSchema::load_builtin(tx, level.obj_id(), biz_id)
}

fn int_of(doc: &Map<String, Value>, key: &str) -> i64 {
    doc.get(key).and_then(loose_i64).unwrap_or(0)
}

/// Is this stored set or module protected from update and delete (§2.2)?
fn is_builtin(level: Level, doc: &Map<String, Value>) -> bool {
    let default = int_of(doc, "default");
    match level {
        Level::Set => default != 0,
        Level::Module => default != 0 && default != DIRECTORY_MODULE,
    }
}

/// Writes the name-uniqueness row of a set or module; a taken key is 1101108 / 1199014.
pub(crate) fn insert_name_key(
    tx: &mut dyn Tx,
    level: Level,
    inst_id: i64,
    doc: &Map<String, Value>,
) -> Result<(), StoreError> {
    let name = text_of(doc, level.name_key());
    let (rule, owner, err) = match level {
        Level::Set => (
            SET_NAME_RULE,
            int_of(doc, "bk_parent_id"),
            DomainError::DuplicateSetName,
        ),
        Level::Module => (
            MODULE_NAME_RULE,
            int_of(doc, "bk_set_id"),
            DomainError::Duplicate("bk_module_name".into()),
        ),
    };
    let key = json!([int_of(doc, "bk_biz_id"), owner, name]).to_string();
    tx.execute_deferred(
        "INSERT INTO instance_unique (rule_id, key, obj_id, inst_id) VALUES (?, ?, ?, ?)",
        &[
            SqlValue::Int(rule),
            SqlValue::Text(key),
            level.obj_id().into(),
            SqlValue::Int(inst_id),
        ],
        Some(err),
    )
}

/// Audit record (`business_resource` / `set` or `module`) and change event of one change.
fn audit_change(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    level: Level,
    (action, event): (&'static str, EventType),
    inst_id: i64,
    (pre, cur, fields): (Option<Value>, Option<Value>, Option<Value>),
) -> Result<(), StoreError> {
    let doc = match (&cur, &pre) {
        (Some(doc), _) | (None, Some(doc)) => doc.clone(),
        (None, None) => Value::Null,
    };
    let map = doc.as_object();
    let biz_id = map.map(|m| int_of(m, "bk_biz_id")).unwrap_or(0);
    let name = map
        .map(|m| text_of(m, level.name_key()))
        .unwrap_or_default();
    let obj_id = level.obj_id();
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "business_resource",
            resource_type: obj_id,
            action,
            biz_id,
            resource_id: Value::from(inst_id),
            resource_name: name,
            obj_id: Some(obj_id.to_string()),
            pre_data: pre,
            cur_data: cur,
            update_fields: fields,
        },
    )?;
    audit::event(tx, ctx, obj_id, event, obj_id, inst_id, &doc)
}

/// `bk_biz_id` of an instance row, if it exists.
fn row_biz(tx: &mut dyn Tx, obj_id: &str, inst_id: i64) -> Result<Option<i64>, StoreError> {
    let rows = tx.query(
        "SELECT biz_id FROM instance WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), SqlValue::Int(inst_id)],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(SqlValue::as_i64))
}

/// A stored set or module of business `biz_id`, locked for change; `None` when it does not
/// exist or belongs to another business.
fn load_in_biz(
    tx: &mut dyn Tx,
    level: Level,
    biz_id: i64,
    inst_id: i64,
) -> Result<Option<Map<String, Value>>, StoreError> {
    Ok(get_doc_for_update(tx, level.obj_id(), inst_id)?
        .filter(|doc| int_of(doc, "bk_biz_id") == biz_id))
}

/// An integer `default` of a create body (absent = 0); anything else is 1199009.
fn default_of_body(body: &Map<String, Value>) -> Result<i64, DomainError> {
    match body.get("default") {
        None | Some(Value::Null) => Ok(0),
        Some(v) if v.is_number() => {
            loose_i64(v).ok_or_else(|| DomainError::NeedInt("default".into()))
        }
        Some(_) => Err(DomainError::NeedInt("default".into())),
    }
}

/// A template id of a create body: absent/0 = none; any other integer names a template, and
/// no template exists yet, so it is refused as a missing template (1199006).
fn check_no_template(body: &Map<String, Value>, key: &str) -> Result<(), DomainError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match loose_i64(v) {
            Some(0) => Ok(()),
            Some(_) => Err(DomainError::ParamsInvalid(key.into())),
            None => Err(DomainError::NeedInt(key.into())),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// create

/// `create_set` (§5.6): the business must exist (1199011 `bk_biz_id`); `bk_parent_id` must be
/// the business itself or a custom-level instance of it directly above sets (1199011
/// `bk_parent_id`; not checked for built-in sets, `default ≠ 0`); a set template is refused as
/// missing (1199006); values are validated against the `set` model; a taken name under the
/// same parent is 1101108. Returns the stored set.
pub fn create_set(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    // Locked (PostgreSQL), so a racing delete_business waits for this set or sees it.
    if get_doc_for_update(tx, "biz", biz_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_biz_id".into()).into());
    }
    let schema = schema_of(tx, Level::Set, biz_id)?;
    let default = default_of_body(body)?;
    let parent_id = body
        .get("bk_parent_id")
        .and_then(loose_i64)
        .ok_or_else(|| DomainError::IsInvalid("bk_parent_id".into()))?;
    if default == 0 {
        check_set_parent(tx, &schema, biz_id, parent_id)?;
        check_no_template(body, "set_template_id")?;
    }
    let mut body = body.clone();
    for key in SET_SERVER_KEYS {
        body.remove(*key);
    }
    let mut doc = build_create_doc(&schema, &body)?;
    let set_id = tx.next_id(SET_SEQUENCE)?;
    doc.insert("bk_set_id".into(), Value::from(set_id));
    doc.insert("bk_biz_id".into(), Value::from(biz_id));
    doc.insert("bk_parent_id".into(), Value::from(parent_id));
    doc.insert("default".into(), Value::from(default));
    doc.insert("set_template_id".into(), Value::from(0));
    doc.insert("set_template_version".into(), Value::Null);
    stamp_created(&schema, ctx, &mut doc);
    let name = text_of(&doc, "bk_set_name");
    insert_row(
        tx,
        ctx,
        InstanceRow {
            obj_id: "set",
            inst_id: set_id,
            name: &name,
            biz_id,
            parent_id,
        },
        &doc,
    )?;
    insert_unique_keys(tx, &schema, set_id, &doc)?;
    insert_name_key(tx, Level::Set, set_id, &doc)?;
    let doc = Value::Object(doc);
    audit_change(
        tx,
        ctx,
        Level::Set,
        ("create", EventType::Create),
        set_id,
        (None, Some(doc.clone()), None),
    )?;
    Ok(doc)
}

/// The parent of a set: the business itself while sets hang directly below it, otherwise an
/// instance of the custom level directly above sets in the same business.
fn check_set_parent(
    tx: &mut dyn Tx,
    schema: &ModelSchema,
    biz_id: i64,
    parent_id: i64,
) -> Result<(), StoreError> {
    let invalid = || StoreError::from(DomainError::IsInvalid("bk_parent_id".into()));
    match schema.mainline_parent.as_deref() {
        None | Some("biz") => {
            if parent_id == biz_id {
                Ok(())
            } else {
                Err(invalid())
            }
        }
        Some(parent_obj) => match row_biz(tx, parent_obj, parent_id)? {
            Some(found) if found == biz_id => Ok(()),
            _ => Err(invalid()),
        },
    }
}

/// `create_module` (§5.12), in the spec's order: unknown set → 1199011 `bk_set_id`; a
/// non-integer `default` → 1199009; a set of another business → 1199011
/// `bk_biz_id/bk_set_id`; a service template → 1199006 (none exist); `bk_parent_id ≠
/// bk_set_id` → 1199006; values validated against the `module` model; a taken name in the set
/// → 1199014. `host_apply_enabled` is false, `set_template_id` the set's,
/// `service_template_id` 0 and `service_category_id` the given one or the default category.
/// Returns the stored module.
pub fn create_module(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    set_id: i64,
    body: &Map<String, Value>,
) -> Result<Value, StoreError> {
    let Some(set) = get_doc_for_update(tx, "set", set_id)? else {
        return Err(DomainError::IsInvalid("bk_set_id".into()).into());
    };
    let default = default_of_body(body)?;
    if int_of(&set, "bk_biz_id") != biz_id {
        return Err(DomainError::IsInvalid("bk_biz_id/bk_set_id".into()).into());
    }
    check_no_template(body, "service_template_id")?;
    match body.get("bk_parent_id").and_then(loose_i64) {
        Some(p) if p == set_id => {}
        _ => return Err(DomainError::ParamsInvalid("bk_parent_id".into()).into()),
    }
    let schema = schema_of(tx, Level::Module, biz_id)?;
    let category = match body.get("service_category_id") {
        None | Some(Value::Null) => Value::from(DEFAULT_SERVICE_CATEGORY),
        Some(v) => match schema.attr("service_category_id") {
            Some(attr) => {
                cmdb_domain::attribute::validate_value(attr, v).map_err(DomainError::wrap)?
            }
            None => Value::from(
                loose_i64(v).ok_or_else(|| DomainError::NeedInt("service_category_id".into()))?,
            ),
        },
    };
    let mut body = body.clone();
    for key in MODULE_SERVER_KEYS {
        body.remove(*key);
    }
    let mut doc = build_create_doc(&schema, &body)?;
    let module_id = tx.next_id(MODULE_SEQUENCE)?;
    doc.insert("bk_module_id".into(), Value::from(module_id));
    doc.insert("bk_biz_id".into(), Value::from(biz_id));
    doc.insert("bk_set_id".into(), Value::from(set_id));
    doc.insert("bk_parent_id".into(), Value::from(set_id));
    doc.insert("default".into(), Value::from(default));
    doc.insert(
        "set_template_id".into(),
        Value::from(int_of(&set, "set_template_id")),
    );
    doc.insert("service_template_id".into(), Value::from(0));
    doc.insert("service_category_id".into(), category);
    doc.insert("host_apply_enabled".into(), Value::Bool(false));
    stamp_created(&schema, ctx, &mut doc);
    let name = text_of(&doc, "bk_module_name");
    insert_row(
        tx,
        ctx,
        InstanceRow {
            obj_id: "module",
            inst_id: module_id,
            name: &name,
            biz_id,
            parent_id: set_id,
        },
        &doc,
    )?;
    insert_unique_keys(tx, &schema, module_id, &doc)?;
    insert_name_key(tx, Level::Module, module_id, &doc)?;
    let doc = Value::Object(doc);
    audit_change(
        tx,
        ctx,
        Level::Module,
        ("create", EventType::Create),
        module_id,
        (None, Some(doc.clone()), None),
    )?;
    Ok(doc)
}

// ---------------------------------------------------------------------------------------------
// update

/// Validates and stores an update of a loaded set or module (refreshing its unique rows and
/// its name key), then audits it.
fn save_update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    level: Level,
    inst_id: i64,
    old: Map<String, Value>,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let schema = schema_of(tx, level, int_of(&old, "bk_biz_id"))?;
    let mut doc = old.clone();
    let applied = apply_update(&schema, &mut doc, body)?;
    stamp_updated(&schema, ctx, &mut doc);
    let name = text_of(&doc, level.name_key());
    rewrite_row(tx, ctx, &schema, inst_id, &name, &doc)?;
    insert_name_key(tx, level, inst_id, &doc)?;
    audit_change(
        tx,
        ctx,
        level,
        ("update", EventType::Update),
        inst_id,
        (
            Some(Value::Object(old)),
            Some(Value::Object(doc)),
            Some(Value::Object(applied)),
        ),
    )
}

/// `update_set` (§5.8): unknown in the business → 1199019; built-in → 1101098; `bk_biz_id`,
/// `bk_set_id`, `set_template_id`, `bk_parent_id` and `default` are dropped; a taken name
/// under the same parent → 1101108.
pub fn update_set(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    set_id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(old) = load_in_biz(tx, Level::Set, biz_id, set_id)? else {
        return Err(DomainError::NotFound.into());
    };
    if is_builtin(Level::Set, &old) {
        return Err(DomainError::BuiltinSetModuleForbidden.into());
    }
    let mut body = body.clone();
    for key in SET_UPDATE_DROPPED {
        body.remove(*key);
    }
    save_update(tx, ctx, Level::Set, set_id, old, &body)
}

/// `update_module` (§5.14): unknown with that business and set → 1199019; built-in (`default`
/// not 0 or 4) → 1101098; changing `set_template_id` / `service_template_id` → 1199083;
/// `bk_biz_id`, `bk_set_id`, `bk_module_id`, `bk_parent_id` and `default` are dropped; a
/// taken name in the set → 1199014.
pub fn update_module(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    set_id: i64,
    module_id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(old) = load_in_biz(tx, Level::Module, biz_id, module_id)?
        .filter(|doc| int_of(doc, "bk_set_id") == set_id)
    else {
        return Err(DomainError::NotFound.into());
    };
    if is_builtin(Level::Module, &old) {
        return Err(DomainError::BuiltinSetModuleForbidden.into());
    }
    let mut body = body.clone();
    for key in MODULE_UPDATE_DROPPED {
        body.remove(*key);
    }
    for key in ["set_template_id", "service_template_id"] {
        if let Some(v) = body.remove(key) {
            if loose_i64(&v) != Some(int_of(&old, key)) {
                return Err(DomainError::ModifyFieldForbidden(key.into()).into());
            }
        }
    }
    save_update(tx, ctx, Level::Module, module_id, old, &body)
}

// ---------------------------------------------------------------------------------------------
// delete

/// Deletion is refused while the instance is an end of an instance association whose other end
/// still exists (1101036); mainline relations are not associations.
fn check_no_associations(tx: &mut dyn Tx, obj_id: &str, inst_id: i64) -> Result<(), StoreError> {
    super::associations::refuse_live_links(tx, obj_id, inst_id, DomainError::InstBeenAssociated)
}

/// Removes one set or module row, its unique rows (name key included) and its remaining
/// (stale) associations, and audits it.
fn remove(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    level: Level,
    inst_id: i64,
    doc: Map<String, Value>,
) -> Result<(), StoreError> {
    let obj_id = level.obj_id();
    super::associations::remove_links_of(tx, ctx, obj_id, inst_id)?;
    let id = SqlValue::Int(inst_id);
    tx.execute_deferred(
        "DELETE FROM instance_unique WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), id.clone()],
        None,
    )?;
    tx.execute_deferred(
        "DELETE FROM instance WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), id],
        None,
    )?;
    audit_change(
        tx,
        ctx,
        level,
        ("delete", EventType::Delete),
        inst_id,
        (Some(Value::Object(doc)), None, None),
    )
}

/// One stored instance: its id and document.
type IdDoc = (i64, Map<String, Value>);

/// The modules of a set, locked for change, in id order.
fn modules_of(tx: &mut dyn Tx, set_id: i64) -> Result<Vec<IdDoc>, StoreError> {
    let lock = for_update(tx);
    let rows = tx.query(
        &format!(
            "SELECT inst_id, data FROM instance WHERE obj_id = 'module' AND parent_id = ? \
             ORDER BY inst_id{lock}"
        ),
        &[SqlValue::Int(set_id)],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = row.into_iter();
        let (Some(id), Some(data)) = (cells.next(), cells.next()) else {
            continue;
        };
        let Some(id) = id.as_i64() else { continue };
        if let Value::Object(doc) = data.into_json()? {
            out.push((id, doc));
        }
    }
    Ok(out)
}

/// `delete_set` / `batch_delete_set` (§5.9, §5.10): all ids or none. Ids that do not exist in
/// the business are ignored; any built-in set → 1101098 (checked over all ids first); a set
/// or one of its modules with live instance associations → 1101036. Each set goes with its
/// modules.
pub fn delete_sets(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    ids: &[i64],
) -> Result<(), StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut found = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(doc) = load_in_biz(tx, Level::Set, biz_id, id)? {
            found.push((id, doc));
        }
    }
    if found.iter().any(|(_, doc)| is_builtin(Level::Set, doc)) {
        return Err(DomainError::BuiltinSetModuleForbidden.into());
    }
    for (set_id, doc) in found {
        check_no_associations(tx, "set", set_id)?;
        let modules = modules_of(tx, set_id)?;
        // Modules are locked (PostgreSQL) before the relation check, so a transfer into one
        // of them either committed (and is seen here) or waits and then finds it gone.
        if has_hosts(tx, HostScope::Set, set_id)? {
            return Err(DomainError::HasHosts.into());
        }
        for (module_id, _) in &modules {
            check_no_associations(tx, "module", *module_id)?;
        }
        for (module_id, module) in modules {
            remove(tx, ctx, Level::Module, module_id, module)?;
        }
        remove(tx, ctx, Level::Set, set_id, doc)?;
    }
    Ok(())
}

/// `delete_module` (§5.15): the set must exist in the business (1199011 `bk_set_id`); an
/// unknown module of the set is a silent success; built-in (`default` not 0 or 4) → 1101098;
/// live instance associations → 1101036.
pub fn delete_module(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    biz_id: i64,
    set_id: i64,
    module_id: i64,
) -> Result<(), StoreError> {
    if load_in_biz(tx, Level::Set, biz_id, set_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_set_id".into()).into());
    }
    let Some(doc) = load_in_biz(tx, Level::Module, biz_id, module_id)?
        .filter(|doc| int_of(doc, "bk_set_id") == set_id)
    else {
        return Ok(());
    };
    if is_builtin(Level::Module, &doc) {
        return Err(DomainError::BuiltinSetModuleForbidden.into());
    }
    if has_hosts(tx, HostScope::Module, module_id)? {
        return Err(DomainError::HasHosts.into());
    }
    check_no_associations(tx, "module", module_id)?;
    remove(tx, ctx, Level::Module, module_id, doc)
}

// ---------------------------------------------------------------------------------------------
// search

/// A legacy `condition` object (`null`/absent = none); another JSON type is 1199000.
fn condition_of(body: &Map<String, Value>) -> Result<Option<&Map<String, Value>>, DomainError> {
    match body.get("condition") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(DomainError::JsonUnmarshal),
    }
}

/// Runs a set/module search: `parts` plus `time_condition`, `fields` and `page` of `body`.
fn run_search(
    tx: &mut dyn Tx,
    level: Level,
    catalog: &LevelCatalog<'_>,
    mut parts: Vec<Expr>,
    body: &Map<String, Value>,
) -> Result<Found, StoreError> {
    let null = Value::Null;
    parts.push(parse_time_condition(
        body.get("time_condition").unwrap_or(&null),
        catalog,
        "time_condition",
    )?);
    let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
    page.validate_max(true, "page")?;
    let sort = page.sort_fields(catalog, "page")?;
    let fields = string_list(body.get("fields"), "fields")?;
    let q = Query {
        filter: Expr::And(parts),
        restrict: None,
        sort,
        start: page.start,
        limit: page.limit_opt(),
    };
    run_query(tx, level.obj_id(), &q, true, true, fields.as_deref())
}

/// `search_set` (§5.7): `condition` (legacy) or `filter` (QueryFilter), not both (1199006
/// `filter`); `time_condition`, `fields`, `page`; always restricted to business `biz_id`
/// (the idle-pool set included). Returns the page and the total.
pub fn search_set(
    tx: &mut dyn Tx,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Found, StoreError> {
    let schema = schema_of(tx, Level::Set, biz_id)?;
    let catalog = LevelCatalog {
        schema: &schema,
        level: Level::Set,
    };
    let condition = condition_of(body)?;
    let filter = body.get("filter").filter(|v| !v.is_null());
    if filter.is_some() && condition.is_some_and(|c| !c.is_empty()) {
        return Err(DomainError::ParamsInvalid("filter".into()).into());
    }
    let mut parts = vec![int_eq(biz_field(), biz_id)];
    if let Some(cond) = condition {
        let mut cond = cond.clone();
        cond.remove("bk_biz_id");
        parts.push(parse_condition(
            &Value::Object(cond),
            &catalog,
            "condition",
        )?);
    }
    if let Some(filter) = filter {
        parts.push(parse_query_filter(filter, &catalog, "filter")?);
    }
    run_search(tx, Level::Set, &catalog, parts, body)
}

/// `search_module` (§5.13): legacy `condition`, `time_condition`, `fields`, `page`; always
/// restricted to business `biz_id` and, when `set_id > 0`, to that set. Returns the page and
/// the total.
pub fn search_module(
    tx: &mut dyn Tx,
    biz_id: i64,
    set_id: i64,
    body: &Map<String, Value>,
) -> Result<Found, StoreError> {
    let schema = schema_of(tx, Level::Module, biz_id)?;
    let catalog = LevelCatalog {
        schema: &schema,
        level: Level::Module,
    };
    let mut parts = vec![int_eq(biz_field(), biz_id)];
    if let Some(cond) = condition_of(body)? {
        let mut cond = cond.clone();
        cond.remove("bk_biz_id");
        if set_id > 0 {
            cond.remove("bk_set_id");
        }
        parts.push(parse_condition(
            &Value::Object(cond),
            &catalog,
            "condition",
        )?);
    }
    if set_id > 0 {
        parts.push(int_eq(
            FieldInfo::column("bk_set_id", "parent_id", FieldType::Int),
            set_id,
        ));
    }
    run_search(tx, Level::Module, &catalog, parts, body)
}

/// `find_set_batch` / `find_module_batch` (§5.11, §5.16): `bk_ids` 1…500 integers (else
/// 1199089 `bk_ids`; de-duplicated), `fields` a non-empty list (else 1199006 `fields`). Returns
/// the instances of business `biz_id` among the ids, projected, in id order.
pub fn find_batch(
    tx: &mut dyn Tx,
    level: Level,
    biz_id: i64,
    body: &Map<String, Value>,
) -> Result<Vec<Value>, StoreError> {
    let too_many = || DomainError::ArrayLength("bk_ids".into(), FIND_BATCH_LIMIT);
    let mut ids: Vec<i64> = match body.get("bk_ids") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| loose_i64(v).filter(|_| v.is_number()))
            .collect::<Option<_>>()
            .ok_or(DomainError::JsonUnmarshal)?,
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    if ids.is_empty() || ids.len() as u64 > FIND_BATCH_LIMIT {
        return Err(too_many().into());
    }
    ids.sort_unstable();
    ids.dedup();
    let fields = match string_list(body.get("fields"), "fields")? {
        Some(f) if !f.is_empty() => f,
        _ => return Err(DomainError::ParamsInvalid("fields".into()).into()),
    };
    let q = Query {
        filter: Expr::And(vec![
            int_eq(biz_field(), biz_id),
            Expr::In {
                field: FieldInfo::column(level.id_key(), "inst_id", FieldType::Int),
                values: ids.into_iter().map(Value::from).collect(),
                negate: false,
            },
        ]),
        restrict: None,
        sort: Vec::new(),
        start: 0,
        limit: None,
    };
    Ok(run_query(tx, level.obj_id(), &q, false, true, Some(&fields))?.info)
}
