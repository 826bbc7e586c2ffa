//! Models ("objects", 10-models §3), their default groups, pre-set attributes and unique rule,
//! and the model associations the topology graph is drawn from.

use cmdb_domain::attribute::{check_no_bk_prefix, validate_model_id, validate_model_name};
use cmdb_domain::model::{
    Attribute, AttributeGroup, Object, ObjectAssociation, UniqueKey, UniqueRule,
};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::audit::{self, AuditEntry};
use super::util::{encode, load_docs, loose_i64, record_matches};
use super::{attributes, classifications, groups, uniques, OpContext};
use crate::{SqlValue, StoreError, Tx};

/// Model ids that exist from the first start and can never be re-created.
pub const BUILTIN_OBJECT_IDS: &[&str] = &[
    "biz",
    "set",
    "module",
    "host",
    "plat",
    "process",
    "bk_biz_set_obj",
    "bk_project",
    "bk_switch",
    "bk_router",
    "bk_load_balance",
    "bk_firewall",
    "bk_weblogic",
    "bk_apache",
    "bk_tomcat",
];

/// Upstream's per-model collection name (`cc_ObjectBase_<supplier>_pub_<id>`) must fit 115 bytes.
const MAX_COLLECTION_NAME: usize = 115;

/// Looks a model up by `bk_obj_id`.
pub fn get(tx: &mut dyn Tx, obj_id: &str) -> Result<Option<Object>, StoreError> {
    Ok(load_docs(
        tx,
        "SELECT doc FROM object WHERE obj_id = ?",
        &[obj_id.into()],
    )?
    .into_iter()
    .next())
}

fn by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<Object>, StoreError> {
    let lock = super::util::for_update(tx);
    Ok(load_docs(
        tx,
        &format!("SELECT doc FROM object WHERE id = ?{}", lock),
        &[SqlValue::Int(id)],
    )?
    .into_iter()
    .next())
}

/// `search_objects`: equality filter over model records.
pub fn search(tx: &mut dyn Tx, filter: &Map<String, Value>) -> Result<Vec<Object>, StoreError> {
    let all: Vec<Object> = load_docs(tx, "SELECT doc FROM object ORDER BY id", &[])?;
    Ok(all
        .into_iter()
        .filter(|o| serde_json::to_value(o).is_ok_and(|v| record_matches(&v, filter)))
        .collect())
}

/// All model associations.
pub fn associations(tx: &mut dyn Tx) -> Result<Vec<ObjectAssociation>, StoreError> {
    load_docs(tx, "SELECT doc FROM object_association ORDER BY id", &[])
}

/// The mainline parent of `obj_id` (`bk_asst_obj_id` of its `bk_mainline` association), if the
/// model is a mainline level.
pub fn mainline_parent(tx: &mut dyn Tx, obj_id: &str) -> Result<Option<String>, StoreError> {
    let rows = tx.query(
        "SELECT asst_obj_id FROM object_association WHERE obj_id = ? AND asst_id = 'bk_mainline'",
        &[obj_id.into()],
    )?;
    Ok(rows
        .first()
        .and_then(|r| r.first())
        .and_then(|c| c.as_str().map(str::to_string)))
}

/// True when the model takes part in the mainline chain (as child or parent).
pub fn is_mainline(tx: &mut dyn Tx, obj_id: &str) -> Result<bool, StoreError> {
    let rows = tx.query(
        "SELECT 1 FROM object_association WHERE asst_id = 'bk_mainline' AND (obj_id = ? OR asst_obj_id = ?) LIMIT 1",
        &[obj_id.into(), obj_id.into()],
    )?;
    Ok(!rows.is_empty())
}

/// Inserts a model association record.
pub(crate) fn insert_association(
    tx: &mut dyn Tx,
    mut a: ObjectAssociation,
) -> Result<ObjectAssociation, StoreError> {
    super::schema_cache::bump(tx)?;
    super::schema_cache::bump(tx)?;
    a.id = tx.next_id("object_association")?;
    tx.execute(
        "INSERT INTO object_association (id, obj_asst_id, obj_id, asst_obj_id, asst_id, doc) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::Int(a.id),
            a.bk_obj_asst_id.as_str().into(),
            a.bk_obj_id.as_str().into(),
            a.bk_asst_obj_id.as_str().into(),
            a.bk_asst_id.as_str().into(),
            encode(&a)?,
        ],
    )?;
    Ok(a)
}

/// Builds a pre-set attribute record with the defaults every field needs.
pub(crate) fn preset_attribute(
    obj_id: &str,
    prop: &str,
    name: &str,
    ptype: &str,
    supplier: &str,
    now: &str,
) -> Attribute {
    Attribute {
        id: 0,
        bk_obj_id: obj_id.to_string(),
        bk_property_id: prop.to_string(),
        bk_property_name: name.to_string(),
        bk_property_type: ptype.to_string(),
        bk_property_group: "default".into(),
        bk_property_index: 0,
        unit: String::new(),
        placeholder: String::new(),
        editable: true,
        isrequired: false,
        isreadonly: false,
        isonly: false,
        ispre: true,
        bk_issystem: false,
        bk_isapi: false,
        option: Value::Null,
        default: Value::Null,
        ismultiple: ptype == "objuser",
        description: String::new(),
        creator: "cc_system".into(),
        bk_biz_id: 0,
        bk_template_id: 0,
        bk_supplier_account: supplier.to_string(),
        create_time: now.to_string(),
        last_time: now.to_string(),
    }
}

/// Inserts a model with its default group, its pre-set attributes (`bk_inst_name` and the
/// recorded-by/at fields, plus `extra`) and the unique rule on `unique_props` (attribute ids of
/// `bk_inst_name` and any named extra). Shared by `create_object`, the seed and (later) the
/// mainline-level API.
pub(crate) fn insert_model(
    tx: &mut dyn Tx,
    mut object: Object,
    extra: Vec<Attribute>,
    unique_props: &[&str],
    with_inst_name: bool,
) -> Result<Object, StoreError> {
    super::schema_cache::bump(tx)?;
    object.id = tx.next_id("object")?;
    let res = tx.execute(
        "INSERT INTO object (id, obj_id, obj_name, cls_id, doc) VALUES (?, ?, ?, ?, ?)",
        &[
            SqlValue::Int(object.id),
            object.bk_obj_id.as_str().into(),
            object.bk_obj_name.as_str().into(),
            object.bk_classification_id.as_str().into(),
            encode(&object)?,
        ],
    );
    match res {
        Ok(_) => {}
        Err(e) if e.is_unique_on("obj_id") => {
            return Err(DomainError::Duplicate("bk_obj_id".into()).into())
        }
        Err(e) if e.is_unique_on("obj_name") => {
            return Err(DomainError::Duplicate("bk_obj_name".into()).into())
        }
        // The classification was deleted concurrently.
        Err(StoreError::ForeignKeyViolation { .. }) => {
            return Err(DomainError::ClassificationQueryFailed.into())
        }
        Err(e) => return Err(e),
    }
    let obj_id = object.bk_obj_id.clone();
    let supplier = object.bk_supplier_account.clone();
    groups::insert(
        tx,
        AttributeGroup {
            id: 0,
            bk_obj_id: obj_id.clone(),
            bk_group_id: "default".into(),
            bk_group_name: "Default".into(),
            bk_group_index: -1,
            bk_isdefault: true,
            ispre: false,
            is_collapse: false,
            bk_biz_id: 0,
            bk_supplier_account: supplier.clone(),
        },
    )?;
    let now = object.create_time.clone();
    let mut name = preset_attribute(
        &obj_id,
        "bk_inst_name",
        "实例名",
        "singlechar",
        &supplier,
        &now,
    );
    name.isrequired = true;
    name.isonly = true;
    let mut wanted = Vec::new();
    if with_inst_name {
        wanted.push(name);
    }
    for (prop, label, ptype) in [
        ("bk_created_at", "创建时间", "time"),
        ("bk_created_by", "创建人", "objuser"),
        ("bk_updated_at", "更新时间", "time"),
        ("bk_updated_by", "更新人", "objuser"),
    ] {
        let mut a = preset_attribute(&obj_id, prop, label, ptype, &supplier, &now);
        a.editable = false;
        wanted.push(a);
    }
    wanted.extend(extra);
    let mut inserted = Vec::new();
    for a in wanted {
        inserted.push(attributes::insert(tx, a)?);
    }
    let keys: Vec<UniqueKey> = unique_props
        .iter()
        .filter_map(|p| inserted.iter().find(|a| a.bk_property_id == *p))
        .map(|a| UniqueKey {
            key_kind: "property".into(),
            key_id: a.id,
        })
        .collect();
    if !keys.is_empty() {
        uniques::insert(
            tx,
            UniqueRule {
                id: 0,
                bk_obj_id: obj_id,
                keys,
                ispre: false,
                bk_template_id: 0,
                bk_supplier_account: supplier,
                last_time: now,
            },
            &inserted,
        )?;
    }
    Ok(object)
}

fn required_string(body: &Map<String, Value>, field: &str) -> Result<String, DomainError> {
    match body.get(field) {
        None | Some(Value::Null) => Err(DomainError::NeedSet(field.into())),
        Some(Value::String(s)) if s.trim().is_empty() => Err(DomainError::NeedSet(field.into())),
        Some(Value::String(s)) => Ok(s.trim().to_string()),
        Some(_) => Err(DomainError::NeedString(field.into())),
    }
}

/// The audit record of a model change.
pub(crate) fn entry(
    action: &'static str,
    o: &Object,
    pre: Option<&Object>,
    fields: Option<Value>,
) -> AuditEntry {
    AuditEntry {
        audit_type: "model",
        resource_type: "model",
        action,
        biz_id: 0,
        resource_id: Value::from(o.id),
        resource_name: o.bk_obj_name.clone(),
        obj_id: Some(o.bk_obj_id.clone()),
        pre_data: pre.and_then(|p| serde_json::to_value(p).ok()),
        cur_data: if action == "delete" {
            None
        } else {
            serde_json::to_value(o).ok()
        },
        update_fields: fields,
    }
}

/// Validates a `create_object` body into a model record (no side effects).
pub(crate) fn validate_new(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<Object, StoreError> {
    let obj_id = match body.get("bk_obj_id") {
        None | Some(Value::Null) => return Err(DomainError::NeedSet("bk_obj_id".into()).into()),
        Some(v) => validate_model_id("bk_obj_id", v)?,
    };
    if BUILTIN_OBJECT_IDS.contains(&obj_id.as_str()) {
        return Err(DomainError::IsInvalid(obj_id).into());
    }
    check_no_bk_prefix("bk_obj_id", &obj_id)?;
    let collection = format!("cc_ObjectBase_{}_pub_{}", ctx.supplier, obj_id);
    if collection.len() > MAX_COLLECTION_NAME {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    }
    let obj_name = validate_model_name(
        "bk_obj_name",
        body.get("bk_obj_name").unwrap_or(&Value::Null),
    )
    .map_err(|_| DomainError::IsInvalid("bk_obj_name".into()))?;
    let cls = required_string(body, "bk_classification_id")?;
    if classifications::get(tx, &cls)?.is_none() {
        return Err(DomainError::ClassificationQueryFailed.into());
    }
    let icon = required_string(body, "bk_obj_icon")?;
    let sort = match body.get("obj_sort_number") {
        None | Some(Value::Null) => 0,
        Some(v) => {
            loose_i64(v).ok_or_else(|| DomainError::ParamsInvalid("obj_sort_number".into()))?
        }
    };
    if sort < 0 {
        return Err(DomainError::ParamsInvalid("obj_sort_number".into()).into());
    }
    let now = cmdb_domain::time::format_millis(ctx.now);
    let text = |k: &str| {
        body.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let creator = match text("creator") {
        c if c.is_empty() => ctx.user.clone(),
        c => c,
    };
    Ok(Object {
        id: 0,
        bk_obj_id: obj_id,
        bk_obj_name: obj_name,
        bk_classification_id: cls,
        bk_obj_icon: icon,
        ispre: false,
        bk_ispaused: false,
        bk_ishidden: false,
        position: text("position"),
        description: text("description"),
        creator,
        modifier: String::new(),
        obj_sort_number: sort,
        bk_supplier_account: ctx.supplier.clone(),
        create_time: now.clone(),
        last_time: now,
    })
}

/// `create_object`.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<Object, StoreError> {
    let object = validate_new(tx, ctx, body)?;
    let object = insert_model(tx, object, Vec::new(), &["bk_inst_name"], true)?;
    audit::record(tx, ctx, entry("create", &object, None, None))?;
    Ok(object)
}

/// `update_object`.
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    let Some(old) = by_id(tx, id)? else {
        return Err(DomainError::NotFound.into());
    };
    let mut new = old.clone();
    let mut fields = Map::new();
    for (k, v) in body {
        match k.as_str() {
            "bk_obj_name" => {
                new.bk_obj_name = validate_model_name("bk_obj_name", v)
                    .map_err(|_| DomainError::IsInvalid("bk_obj_name".into()))?;
            }
            "bk_classification_id" => {
                let cls = v
                    .as_str()
                    .ok_or_else(|| DomainError::NeedString(k.clone()))?;
                if classifications::get(tx, cls)?.is_none() {
                    return Err(DomainError::ClassificationNotFound.into());
                }
                new.bk_classification_id = cls.to_string();
            }
            "bk_obj_icon" | "position" | "description" | "modifier" => {
                let s = match v {
                    Value::String(s) => s.clone(),
                    Value::Object(_) | Value::Array(_) if k == "position" => v.to_string(),
                    _ => return Err(DomainError::NeedString(k.clone()).into()),
                };
                match k.as_str() {
                    "bk_obj_icon" => new.bk_obj_icon = s,
                    "position" => new.position = s,
                    "description" => new.description = s,
                    _ => new.modifier = s,
                }
            }
            "bk_ispaused" | "bk_ishidden" => {
                let b = v
                    .as_bool()
                    .ok_or_else(|| DomainError::NeedBool(k.clone()))?;
                if k == "bk_ispaused" {
                    new.bk_ispaused = b;
                } else {
                    new.bk_ishidden = b;
                }
            }
            "obj_sort_number" => {
                let n = loose_i64(v).ok_or_else(|| DomainError::ParamsInvalid(k.clone()))?;
                if n < 0 {
                    return Err(DomainError::ParamsInvalid(k.clone()).into());
                }
                new.obj_sort_number = n;
            }
            _ => continue,
        }
        fields.insert(k.clone(), v.clone());
    }
    if new.modifier.is_empty() || !body.contains_key("modifier") {
        new.modifier = ctx.user.clone();
    }
    new.last_time = cmdb_domain::time::format_millis(ctx.now);
    let res = tx.execute(
        "UPDATE object SET obj_name = ?, cls_id = ?, doc = ? WHERE id = ?",
        &[
            new.bk_obj_name.as_str().into(),
            new.bk_classification_id.as_str().into(),
            encode(&new)?,
            SqlValue::Int(id),
        ],
    );
    match res {
        Ok(_) => {}
        Err(e) if e.is_unique_on("obj_name") => {
            return Err(DomainError::Duplicate("bk_obj_name".into()).into())
        }
        Err(e) => return Err(e),
    }
    let action = match body.get("bk_ispaused").and_then(Value::as_bool) {
        Some(true) => "stop",
        Some(false) => "resume",
        None => "update",
    };
    audit::record(
        tx,
        ctx,
        entry(action, &new, Some(&old), Some(Value::Object(fields))),
    )
}

/// `delete_object`: missing → success; built-in, instantiated or associated models refused.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, id: i64) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    let Some(old) = by_id(tx, id)? else {
        return Ok(());
    };
    if old.ispre || BUILTIN_OBJECT_IDS.contains(&old.bk_obj_id.as_str()) {
        return Err(DomainError::BuiltinModelDelete.into());
    }
    let obj: SqlValue = old.bk_obj_id.as_str().into();
    if !tx
        .query(
            "SELECT 1 FROM instance WHERE obj_id = ? LIMIT 1",
            std::slice::from_ref(&obj),
        )?
        .is_empty()
    {
        return Err(DomainError::ModelHasInstances(old.bk_obj_id.clone()).into());
    }
    if !tx
        .query(
            "SELECT 1 FROM object_association WHERE obj_id = ? OR asst_obj_id = ? LIMIT 1",
            &[obj.clone(), obj.clone()],
        )?
        .is_empty()
    {
        return Err(DomainError::ModelAssociated.into());
    }
    for sql in [
        "DELETE FROM attribute WHERE obj_id = ?",
        "DELETE FROM attribute_group WHERE obj_id = ?",
        "DELETE FROM unique_rule WHERE obj_id = ?",
        "DELETE FROM object WHERE obj_id = ?",
    ] {
        match tx.execute(sql, std::slice::from_ref(&obj)) {
            Ok(_) => {}
            // An instance or association created concurrently still refers to the model.
            Err(StoreError::ForeignKeyViolation { .. }) => {
                return Err(DomainError::ModelHasInstances(old.bk_obj_id.clone()).into())
            }
            Err(e) => return Err(e),
        }
    }
    audit::record(tx, ctx, entry("delete", &old, Some(&old), None))
}

/// `search_object_topo`: the association graph edges whose source model matches `filter`.
pub fn topo(tx: &mut dyn Tx, filter: &Map<String, Value>) -> Result<Vec<Value>, StoreError> {
    let objects: Vec<Object> = load_docs(tx, "SELECT doc FROM object ORDER BY id", &[])?;
    let kinds: Vec<cmdb_domain::model::AssociationKind> =
        load_docs(tx, "SELECT doc FROM association_kind", &[])?;
    let mut out = Vec::new();
    for a in associations(tx)? {
        let Some(src) = objects.iter().find(|o| o.bk_obj_id == a.bk_obj_id) else {
            continue;
        };
        if !serde_json::to_value(src).is_ok_and(|v| record_matches(&v, filter)) {
            continue;
        }
        let Some(dst) = objects.iter().find(|o| o.bk_obj_id == a.bk_asst_obj_id) else {
            continue;
        };
        let Some(kind) = kinds.iter().find(|k| k.bk_asst_id == a.bk_asst_id) else {
            return Err(DomainError::IsInvalid("bk_asst_id".into()).into());
        };
        let node = |o: &Object| {
            json!({
                "bk_classification_id": o.bk_classification_id,
                "bk_obj_id": o.bk_obj_id,
                "bk_obj_name": o.bk_obj_name,
                "position": o.position,
                "bk_supplier_account": o.bk_supplier_account,
            })
        };
        let arrows = if kind.direction == "none" {
            "to,from"
        } else {
            "to"
        };
        out.push(json!({
            "arrows": arrows,
            "from": node(src),
            "to": node(dst),
            "label": kind.bk_asst_name,
            "label_name": kind.bk_asst_name,
            "label_type": "",
        }));
    }
    Ok(out)
}

/// `update_object_topo_graphics`: stores each `obj` node's position on its model.
pub fn save_positions(tx: &mut dyn Tx, ctx: &OpContext, items: &[Value]) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    for item in items {
        if item
            .get("node_type")
            .and_then(Value::as_str)
            .unwrap_or("obj")
            != "obj"
        {
            continue;
        }
        let Some(obj_id) = item.get("bk_obj_id").and_then(Value::as_str) else {
            return Err(DomainError::NeedSet("bk_obj_id".into()).into());
        };
        let Some(old) = get(tx, obj_id)? else {
            return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
        };
        let mut new = old.clone();
        if let Some(p) = item.get("position") {
            new.position = match p {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
        }
        if let Some(icon) = item.get("bk_obj_icon").and_then(Value::as_str) {
            new.bk_obj_icon = icon.to_string();
        }
        new.last_time = cmdb_domain::time::format_millis(ctx.now);
        tx.execute(
            "UPDATE object SET doc = ? WHERE id = ?",
            &[encode(&new)?, SqlValue::Int(new.id)],
        )?;
        audit::record(
            tx,
            ctx,
            entry("update", &new, Some(&old), Some(item.clone())),
        )?;
    }
    Ok(())
}

/// The topology graph nodes with their stored positions.
pub fn positions(tx: &mut dyn Tx) -> Result<Vec<Value>, StoreError> {
    let objects: Vec<Object> = load_docs(tx, "SELECT doc FROM object ORDER BY id", &[])?;
    Ok(objects
        .into_iter()
        .filter(|o| !o.bk_ishidden)
        .map(|o| {
            let position: Value = serde_json::from_str(&o.position).unwrap_or_else(|_| json!({}));
            json!({
                "node_type": "obj",
                "bk_obj_id": o.bk_obj_id,
                "bk_inst_id": 0,
                "node_name": o.bk_obj_name,
                "position": position,
                "ext": {},
                "bk_obj_icon": o.bk_obj_icon,
                "scope_type": "global",
                "scope_id": "0",
                "bk_supplier_account": o.bk_supplier_account,
            })
        })
        .collect())
}
