//! Attribute groups (10-models §5, v3 only).

use cmdb_domain::attribute::{validate_model_id, validate_model_name};
use cmdb_domain::model::{Attribute, AttributeGroup};
use cmdb_domain::DomainError;
use serde_json::{Map, Value};

use super::audit::{self, AuditEntry};
use super::util::{encode, load_docs, loose_i64};
use super::{objects, OpContext};
use crate::{SqlValue, StoreError, Tx};

/// Groups of a model visible in business `biz_id` (0 = global only), by index.
pub fn of_model(
    tx: &mut dyn Tx,
    obj_id: &str,
    biz_id: i64,
) -> Result<Vec<AttributeGroup>, StoreError> {
    let mut groups: Vec<AttributeGroup> = load_docs(
        tx,
        "SELECT doc FROM attribute_group WHERE obj_id = ? AND (biz_id = 0 OR biz_id = ?)",
        &[obj_id.into(), SqlValue::Int(biz_id)],
    )?;
    groups.sort_by_key(|g| (g.bk_group_index, g.id));
    Ok(groups)
}

fn by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<AttributeGroup>, StoreError> {
    let lock = super::util::for_update(tx);
    Ok(load_docs(
        tx,
        &format!("SELECT doc FROM attribute_group WHERE id = ?{}", lock),
        &[SqlValue::Int(id)],
    )?
    .into_iter()
    .next())
}

/// Inserts a group record, assigning its id.
pub(crate) fn insert(
    tx: &mut dyn Tx,
    mut group: AttributeGroup,
) -> Result<AttributeGroup, StoreError> {
    group.id = tx.next_id("attribute_group")?;
    let res = tx.execute(
        "INSERT INTO attribute_group (id, obj_id, biz_id, group_id, group_name, doc) VALUES (?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::Int(group.id),
            group.bk_obj_id.as_str().into(),
            SqlValue::Int(group.bk_biz_id),
            group.bk_group_id.as_str().into(),
            group.bk_group_name.as_str().into(),
            encode(&group)?,
        ],
    );
    match res {
        Ok(_) => Ok(group),
        Err(e) if e.is_unique_on("group_id") => {
            Err(DomainError::Duplicate("bk_group_id".into()).into())
        }
        Err(e) if e.is_unique_on("group_name") => {
            Err(DomainError::Duplicate("bk_group_name".into()).into())
        }
        Err(e) => Err(e),
    }
}

/// The audit record of a group change: `pre` the group before it, `fields` the submitted
/// changes of an update.
fn entry(
    action: &'static str,
    g: &AttributeGroup,
    pre: Option<&AttributeGroup>,
    fields: Option<Map<String, Value>>,
) -> AuditEntry {
    AuditEntry {
        audit_type: "model",
        resource_type: "model_attribute_group",
        action,
        biz_id: g.bk_biz_id,
        resource_id: Value::from(g.id),
        resource_name: g.bk_group_name.clone(),
        obj_id: Some(g.bk_obj_id.clone()),
        pre_data: pre.and_then(|p| serde_json::to_value(p).ok()),
        cur_data: if action == "delete" {
            None
        } else {
            serde_json::to_value(g).ok()
        },
        update_fields: fields.map(Value::Object),
    }
}

/// `POST /api/v3/create/objectattgroup`.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<AttributeGroup, StoreError> {
    let obj_id = validate_model_id("bk_obj_id", body.get("bk_obj_id").unwrap_or(&Value::Null))?;
    if objects::get(tx, &obj_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    }
    let group_id = validate_model_id(
        "bk_group_id",
        body.get("bk_group_id").unwrap_or(&Value::Null),
    )?;
    let group_name = validate_model_name(
        "bk_group_name",
        body.get("bk_group_name").unwrap_or(&Value::Null),
    )?;
    let biz_id = body.get("bk_biz_id").and_then(loose_i64).unwrap_or(0);
    let index = match body.get("bk_group_index") {
        Some(v) => loose_i64(v).ok_or_else(|| DomainError::NeedInt("bk_group_index".into()))?,
        None => {
            of_model(tx, &obj_id, biz_id)?
                .iter()
                .map(|g| g.bk_group_index)
                .max()
                .unwrap_or(0)
                + 1
        }
    };
    let group = insert(
        tx,
        AttributeGroup {
            id: 0,
            bk_obj_id: obj_id,
            bk_group_id: group_id,
            bk_group_name: group_name,
            bk_group_index: index,
            bk_isdefault: false,
            ispre: false,
            is_collapse: body
                .get("is_collapse")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            bk_biz_id: biz_id,
            bk_supplier_account: ctx.supplier.clone(),
        },
    )?;
    audit::record(tx, ctx, entry("create", &group, None, None))?;
    Ok(group)
}

/// `PUT /api/v3/update/objectattgroup`: `{"condition":{"id":N},"data":{...}}`.
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let id = body
        .get("condition")
        .and_then(|c| c.get("id"))
        .and_then(loose_i64)
        .ok_or_else(|| DomainError::NeedSet("condition.id".into()))?;
    let data = body
        .get("data")
        .and_then(Value::as_object)
        .ok_or_else(|| DomainError::NeedSet("data".into()))?;
    let Some(old) = by_id(tx, id)? else {
        return Err(DomainError::NotFound.into());
    };
    let mut new = old.clone();
    if let Some(v) = data.get("bk_group_name") {
        new.bk_group_name = validate_model_name("bk_group_name", v)?;
    }
    if let Some(v) = data.get("bk_group_index") {
        new.bk_group_index =
            loose_i64(v).ok_or_else(|| DomainError::NeedInt("bk_group_index".into()))?;
    }
    if let Some(v) = data.get("is_collapse") {
        new.is_collapse = v
            .as_bool()
            .ok_or_else(|| DomainError::NeedBool("is_collapse".into()))?;
    }
    let mut fields = data.clone();
    fields.retain(|k, _| {
        matches!(
            k.as_str(),
            "bk_group_name" | "bk_group_index" | "is_collapse"
        )
    });
    let res = tx.execute(
        "UPDATE attribute_group SET group_name = ?, doc = ? WHERE id = ?",
        &[
            new.bk_group_name.as_str().into(),
            encode(&new)?,
            SqlValue::Int(id),
        ],
    );
    match res {
        Ok(_) => {}
        Err(e) if e.is_unique_on("group_name") => {
            return Err(DomainError::Duplicate("bk_group_name".into()).into())
        }
        Err(e) => return Err(e),
    }
    audit::record(tx, ctx, entry("update", &new, Some(&old), Some(fields)))
}

/// `DELETE /api/v3/delete/objectattgroup/{id}`.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, id: i64) -> Result<(), StoreError> {
    let Some(old) = by_id(tx, id)? else {
        return Ok(());
    };
    if old.bk_isdefault || old.ispre {
        return Err(DomainError::BuiltinItem("attribute group".into()).into());
    }
    let attrs: Vec<Attribute> = load_docs(
        tx,
        "SELECT doc FROM attribute WHERE obj_id = ?",
        &[old.bk_obj_id.as_str().into()],
    )?;
    if attrs.iter().any(|a| a.bk_property_group == old.bk_group_id) {
        return Err(DomainError::GroupHasAttributes.into());
    }
    tx.execute(
        "DELETE FROM attribute_group WHERE id = ?",
        &[SqlValue::Int(id)],
    )?;
    audit::record(tx, ctx, entry("delete", &old, Some(&old), None))
}

/// `PUT /api/v3/update/objectattgroupproperty`: move attributes between groups. Accepts the
/// single-object form and an array of them.
pub fn move_properties(tx: &mut dyn Tx, ctx: &OpContext, body: &Value) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    let items: Vec<&Value> = match body {
        Value::Array(xs) => xs.iter().collect(),
        Value::Object(_) => vec![body],
        _ => return Err(DomainError::JsonUnmarshal.into()),
    };
    for item in items {
        let cond = item
            .get("condition")
            .ok_or_else(|| DomainError::NeedSet("condition".into()))?;
        let data = item
            .get("data")
            .ok_or_else(|| DomainError::NeedSet("data".into()))?;
        let obj_id = cond
            .get("bk_obj_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let prop = cond
            .get("bk_property_id")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let attrs: Vec<Attribute> = load_docs(
            tx,
            "SELECT doc FROM attribute WHERE obj_id = ? AND property_id = ?",
            &[obj_id.into(), prop.into()],
        )?;
        let Some(mut attr) = attrs.into_iter().next() else {
            return Err(DomainError::IsInvalid("bk_property_id".into()).into());
        };
        let old = attr.clone();
        if let Some(g) = data.get("bk_property_group").and_then(Value::as_str) {
            if !of_model(tx, obj_id, attr.bk_biz_id)?
                .iter()
                .any(|x| x.bk_group_id == g)
            {
                return Err(DomainError::IsInvalid("bk_property_group".into()).into());
            }
            attr.bk_property_group = g.to_string();
        }
        if let Some(i) = data.get("bk_property_index").and_then(loose_i64) {
            attr.bk_property_index = i;
        }
        tx.execute(
            "UPDATE attribute SET doc = ? WHERE id = ?",
            &[encode(&attr)?, SqlValue::Int(attr.id)],
        )?;
        super::attributes::record_attr(
            tx,
            ctx,
            AuditEntry {
                audit_type: "model",
                resource_type: "model_attribute",
                action: "update",
                biz_id: attr.bk_biz_id,
                resource_id: Value::from(attr.id),
                resource_name: attr.bk_property_name.clone(),
                obj_id: Some(attr.bk_obj_id.clone()),
                pre_data: serde_json::to_value(&old).ok(),
                cur_data: serde_json::to_value(&attr).ok(),
                update_fields: Some(data.clone()),
            },
        )?;
    }
    Ok(())
}

/// `PUT /api/v3/update/objectattgroup/groupindex`: swap the indexes of exactly two groups.
pub fn swap_index(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let ids: Vec<i64> = body
        .get("id")
        .or_else(|| body.get("ids"))
        .and_then(Value::as_array)
        .map(|xs| xs.iter().filter_map(loose_i64).collect())
        .unwrap_or_default();
    let [a, b] = ids.as_slice() else {
        return Err(DomainError::ParamsInvalid("id".into()).into());
    };
    let (Some(mut ga), Some(mut gb)) = (by_id(tx, *a)?, by_id(tx, *b)?) else {
        return Err(DomainError::IsInvalid("id".into()).into());
    };
    let before = [ga.clone(), gb.clone()];
    std::mem::swap(&mut ga.bk_group_index, &mut gb.bk_group_index);
    for (g, old) in [&ga, &gb].into_iter().zip(&before) {
        tx.execute(
            "UPDATE attribute_group SET doc = ? WHERE id = ?",
            &[encode(g)?, SqlValue::Int(g.id)],
        )?;
        let mut fields = Map::new();
        fields.insert("bk_group_index".into(), Value::from(g.bk_group_index));
        audit::record(tx, ctx, entry("update", g, Some(old), Some(fields)))?;
    }
    Ok(())
}
