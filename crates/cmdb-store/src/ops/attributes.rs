//! Attributes of models (10-models §4).

use cmdb_domain::attribute::{
    default_ismultiple, validate_attribute_update, validate_new_attribute, PropertyType,
};
use cmdb_domain::model::{Attribute, AttributeGroup};
use cmdb_domain::DomainError;
use serde_json::{Map, Value};

use super::audit::{self, AuditEntry};
use super::util::{encode, load_docs, loose_i64, record_matches, scalar_i64};
use super::{groups, objects, OpContext};
use crate::{Dialect, SqlValue, StoreError, Tx};

/// Attributes of one model visible in business `biz_id` (0 = global only), by display order.
pub fn of_model(tx: &mut dyn Tx, obj_id: &str, biz_id: i64) -> Result<Vec<Attribute>, StoreError> {
    load_docs(
        tx,
        "SELECT doc FROM attribute WHERE obj_id = ? AND (biz_id = 0 OR biz_id = ?) ORDER BY id",
        &[obj_id.into(), SqlValue::Int(biz_id)],
    )
}

/// Loads one attribute by id.
pub fn by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<Attribute>, StoreError> {
    let lock = super::util::for_update(tx);
    Ok(load_docs(
        tx,
        &format!("SELECT doc FROM attribute WHERE id = ?{}", lock),
        &[SqlValue::Int(id)],
    )?
    .into_iter()
    .next())
}

/// Inserts an attribute record, assigning id and (when 0) the next display index.
pub(crate) fn insert(tx: &mut dyn Tx, mut attr: Attribute) -> Result<Attribute, StoreError> {
    super::schema_cache::bump(tx)?;
    attr.id = tx.next_id("attribute")?;
    if attr.bk_property_index == 0 {
        let rows = tx.query(
            "SELECT COUNT(*) FROM attribute WHERE obj_id = ?",
            &[attr.bk_obj_id.as_str().into()],
        )?;
        attr.bk_property_index = scalar_i64(&rows).unwrap_or(0) + 1;
    }
    let res = tx.execute(
        "INSERT INTO attribute (id, obj_id, biz_id, property_id, property_name, doc) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::Int(attr.id),
            attr.bk_obj_id.as_str().into(),
            SqlValue::Int(attr.bk_biz_id),
            attr.bk_property_id.as_str().into(),
            attr.bk_property_name.as_str().into(),
            encode(&attr)?,
        ],
    );
    match res {
        Ok(_) => Ok(attr),
        Err(e) if e.is_unique_on("property_id") => {
            Err(DomainError::Duplicate("bk_property_id".into()).into())
        }
        Err(e) if e.is_unique_on("property_name") => {
            Err(DomainError::Duplicate("bk_property_name".into()).into())
        }
        Err(e) => Err(e),
    }
}

fn audit_entry(
    action: &'static str,
    attr: &Attribute,
    pre: Option<&Attribute>,
    fields: Option<Value>,
) -> AuditEntry {
    AuditEntry {
        audit_type: "model",
        resource_type: "model_attribute",
        action,
        biz_id: attr.bk_biz_id,
        resource_id: Value::from(attr.id),
        resource_name: attr.bk_property_name.clone(),
        obj_id: Some(attr.bk_obj_id.clone()),
        pre_data: pre.and_then(|p| serde_json::to_value(p).ok()),
        cur_data: if action == "delete" {
            None
        } else {
            serde_json::to_value(attr).ok()
        },
        update_fields: fields,
    }
}

/// Appends an attribute's audit record: the data-bearing shape plus `bk_obj_name`, the name
/// of its model (60-audit-events §1: "Model attribute records add bk_obj_name"), so the audit
/// list can show which model changed without another lookup.
pub(crate) fn record_attr(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    entry: AuditEntry,
) -> Result<(), StoreError> {
    let model_name = match &entry.obj_id {
        Some(obj_id) => objects::get(tx, obj_id)?.map(|o| o.bk_obj_name),
        None => None,
    };
    let mut detail = entry.detail();
    if let (Some(name), Some(map)) = (model_name, detail.as_object_mut()) {
        map.insert("bk_obj_name".into(), Value::String(name));
    }
    audit::record_detail(tx, ctx, entry, detail)
}

/// `create_object_attribute`.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
    path_biz: Option<i64>,
) -> Result<Value, StoreError> {
    let obj_id = match body.get("bk_obj_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::String(_)) | None | Some(Value::Null) => {
            return Err(DomainError::NeedSet("bk_obj_id".into()).into())
        }
        Some(_) => return Err(DomainError::NeedString("bk_obj_id".into()).into()),
    };
    let Some(object) = objects::get(tx, &obj_id)? else {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    };
    if loose_i64(body.get("bk_template_id").unwrap_or(&Value::Null)).unwrap_or(0) != 0 {
        return Err(DomainError::IsInvalid("bk_template_id".into()).into());
    }
    if body.get("bk_property_type").is_none_or(Value::is_null) {
        return Err(DomainError::NeedSet("bk_property_type".into()).into());
    }
    let mut input = body.clone();
    input.retain(|k, _| {
        !matches!(
            k.as_str(),
            "id" | "ispre"
                | "bk_issystem"
                | "bk_supplier_account"
                | "create_time"
                | "last_time"
                | "bk_property_group_name"
        )
    });
    input.insert("id".into(), Value::from(0));
    input.insert("bk_obj_id".into(), Value::String(object.bk_obj_id.clone()));
    let biz_id = path_biz
        .or_else(|| body.get("bk_biz_id").and_then(loose_i64))
        .unwrap_or(0);
    input.insert("bk_biz_id".into(), Value::from(biz_id));
    input
        .entry("bk_property_name")
        .or_insert(Value::String(String::new()));
    input
        .entry("bk_property_id")
        .or_insert(Value::String(String::new()));
    let mut attr: Attribute =
        serde_json::from_value(Value::Object(input)).map_err(|_| DomainError::JsonUnmarshal)?;
    attr.ispre = false;
    if !body.contains_key("ismultiple") {
        if let Some(t) = PropertyType::parse(&attr.bk_property_type) {
            attr.ismultiple = default_ismultiple(t);
        }
    }
    attr.bk_supplier_account = ctx.supplier.clone();
    if attr.creator.is_empty() {
        attr.creator = ctx.user.clone();
    }
    let stamp = cmdb_domain::time::format_millis(ctx.now);
    attr.create_time = stamp.clone();
    attr.last_time = stamp;
    validate_new_attribute(&mut attr)?;
    if attr.isrequired && objects::is_mainline(tx, &obj_id)? {
        return Err(DomainError::MainlineRequiredAttr.into());
    }
    attr.bk_property_group = resolve_group(tx, ctx, &obj_id, biz_id, &attr.bk_property_group)?;
    let attr = insert(tx, attr)?;
    record_attr(tx, ctx, audit_entry("create", &attr, None, None))?;
    with_group_name(tx, attr)
}

/// Unknown group ids fall back to `default` (`bizdefault`, created on demand, for
/// business-private attributes).
fn resolve_group(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    biz_id: i64,
    wanted: &str,
) -> Result<String, StoreError> {
    let existing = groups::of_model(tx, obj_id, biz_id)?;
    if existing.iter().any(|g| g.bk_group_id == wanted) {
        return Ok(wanted.to_string());
    }
    if biz_id == 0 {
        return Ok("default".into());
    }
    if !existing.iter().any(|g| g.bk_group_id == "bizdefault") {
        groups::insert(
            tx,
            AttributeGroup {
                id: 0,
                bk_obj_id: obj_id.to_string(),
                bk_group_id: "bizdefault".into(),
                bk_group_name: "Default".into(),
                bk_group_index: -1,
                bk_isdefault: true,
                ispre: false,
                is_collapse: false,
                bk_biz_id: biz_id,
                bk_supplier_account: ctx.supplier.clone(),
            },
        )?;
    }
    Ok("bizdefault".into())
}

/// Serialises an attribute with its joined `bk_property_group_name`.
fn with_group_name(tx: &mut dyn Tx, attr: Attribute) -> Result<Value, StoreError> {
    let groups = groups::of_model(tx, &attr.bk_obj_id, attr.bk_biz_id)?;
    Ok(attach_group_name(attr, &groups))
}

fn attach_group_name(attr: Attribute, groups: &[AttributeGroup]) -> Value {
    let name = groups
        .iter()
        .find(|g| g.bk_group_id == attr.bk_property_group)
        .map(|g| g.bk_group_name.clone())
        .unwrap_or_default();
    let mut v = serde_json::to_value(attr).unwrap_or(Value::Null);
    if let Some(map) = v.as_object_mut() {
        map.insert("bk_property_group_name".into(), Value::String(name));
    }
    v
}

/// `search_object_attribute`: equality filter; `bk_biz_id` includes that business's private
/// attributes besides the global ones.
pub fn search(tx: &mut dyn Tx, filter: &Map<String, Value>) -> Result<Vec<Value>, StoreError> {
    let biz = filter.get("bk_biz_id").and_then(loose_i64).unwrap_or(0);
    let mut rest = filter.clone();
    rest.remove("bk_biz_id");
    let attrs: Vec<Attribute> = match filter.get("bk_obj_id") {
        Some(Value::String(obj)) => load_docs(
            tx,
            "SELECT doc FROM attribute WHERE obj_id = ? AND (biz_id = 0 OR biz_id = ?) ORDER BY id",
            &[obj.as_str().into(), SqlValue::Int(biz)],
        )?,
        _ => load_docs(
            tx,
            "SELECT doc FROM attribute WHERE biz_id = 0 OR biz_id = ? ORDER BY id",
            &[SqlValue::Int(biz)],
        )?,
    };
    let all_groups: Vec<AttributeGroup> = load_docs(tx, "SELECT doc FROM attribute_group", &[])?;
    Ok(attrs
        .into_iter()
        .filter(|a| serde_json::to_value(a).is_ok_and(|v| record_matches(&v, &rest)))
        .map(|a| {
            let groups: Vec<AttributeGroup> = all_groups
                .iter()
                .filter(|g| {
                    g.bk_obj_id == a.bk_obj_id && (g.bk_biz_id == 0 || g.bk_biz_id == a.bk_biz_id)
                })
                .cloned()
                .collect();
            attach_group_name(a, &groups)
        })
        .collect())
}

/// `update_object_attribute`.
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
    let mut patch = body.clone();
    patch.retain(|k, _| {
        !matches!(
            k.as_str(),
            "id" | "bk_obj_id"
                | "bk_property_id"
                | "bk_property_type"
                | "ispre"
                | "bk_supplier_account"
                | "create_time"
                | "last_time"
                | "bk_property_group_name"
                | "bk_biz_id"
                | "bk_template_id"
        )
    });
    let mut new = validate_attribute_update(&old, &patch)?;
    if new.isrequired && !old.isrequired && objects::is_mainline(tx, &old.bk_obj_id)? {
        return Err(DomainError::MainlineRequiredAttr.into());
    }
    if patch.contains_key("bk_property_group") {
        new.bk_property_group = resolve_group(
            tx,
            ctx,
            &old.bk_obj_id,
            old.bk_biz_id,
            &new.bk_property_group,
        )?;
    }
    new.last_time = cmdb_domain::time::format_millis(ctx.now);
    let res = tx.execute(
        "UPDATE attribute SET property_name = ?, doc = ? WHERE id = ?",
        &[
            new.bk_property_name.as_str().into(),
            encode(&new)?,
            SqlValue::Int(id),
        ],
    );
    match res {
        Ok(_) => {}
        Err(e) if e.is_unique_on("property_name") => {
            return Err(DomainError::Duplicate("bk_property_name".into()).into())
        }
        Err(e) => return Err(e),
    }
    record_attr(
        tx,
        ctx,
        audit_entry("update", &new, Some(&old), Some(Value::Object(patch))),
    )
}

/// `delete_object_attribute`: refused for attributes in unique rules or from templates;
/// removes the field from every instance of the model.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, id: i64) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    let Some(old) = by_id(tx, id)? else {
        return Ok(());
    };
    if old.bk_template_id != 0 {
        return Err(DomainError::BuiltinItem("template attribute".into()).into());
    }
    if old.ispre {
        return Err(DomainError::BuiltinItem("attribute".into()).into());
    }
    let rules = super::uniques::of_model(tx, &old.bk_obj_id)?;
    if rules.iter().any(|r| r.keys.iter().any(|k| k.key_id == id)) {
        return Err(DomainError::AttributeInUniqueRule.into());
    }
    tx.execute("DELETE FROM attribute WHERE id = ?", &[SqlValue::Int(id)])?;
    let key = match tx.dialect() {
        Dialect::Sqlite => format!("$.\"{}\"", old.bk_property_id),
        Dialect::Postgres => old.bk_property_id.clone(),
    };
    announce_field_removal(tx, ctx, &old, &key)?;
    let sql = match tx.dialect() {
        Dialect::Sqlite => "UPDATE instance SET data = json_remove(data, ?) WHERE obj_id = ?",
        Dialect::Postgres => "UPDATE instance SET data = data - CAST(? AS TEXT) WHERE obj_id = ?",
    };
    tx.execute(sql, &[SqlValue::Text(key), old.bk_obj_id.as_str().into()])?;
    record_attr(tx, ctx, audit_entry("delete", &old, Some(&old), None))
}

/// One update event for every instance that had the deleted attribute's field, with the
/// document as it is without it. Upstream removes the field with one `$unset` over the model's
/// documents, and its change stream carries an update for each document that changed; watchers
/// that keep copies of instances (what resource_watch consumers do) must drop the field too.
/// `key` addresses the field in the dialect's JSON functions.
fn announce_field_removal(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    attr: &Attribute,
    key: &str,
) -> Result<(), StoreError> {
    let obj_id = attr.bk_obj_id.as_str();
    let mainline = super::schema_cache::ModelSchema::load(tx, obj_id, 0)?
        .is_some_and(|schema| schema.is_mainline());
    let watch = match obj_id {
        "host" | "biz" | "set" | "module" | "plat" => obj_id,
        _ if mainline => "mainline_instance",
        _ => "object_instance",
    };
    let has_field = match tx.dialect() {
        Dialect::Sqlite => "json_type(data, ?) IS NOT NULL",
        Dialect::Postgres => "jsonb_exists(data, CAST(? AS TEXT))",
    };
    let rows = tx.query(
        &format!(
            "SELECT inst_id, data FROM instance WHERE {has_field} AND obj_id = ? ORDER BY inst_id"
        ),
        &[SqlValue::Text(key.to_string()), obj_id.into()],
    )?;
    for row in rows {
        let (Some(inst_id), Some(data)) = (row.first().and_then(SqlValue::as_i64), row.get(1))
        else {
            continue;
        };
        let Value::Object(mut doc) = data.to_json()? else {
            return Err(StoreError::Corrupt(format!(
                "instance {inst_id} of {obj_id} is not a JSON object"
            )));
        };
        doc.remove(&attr.bk_property_id);
        let detail = if obj_id == "host" {
            super::hosts::wire_doc(&doc)
        } else {
            Value::Object(doc)
        };
        audit::event(
            tx,
            ctx,
            watch,
            audit::EventType::Update,
            obj_id,
            inst_id,
            &detail,
        )?;
    }
    Ok(())
}
