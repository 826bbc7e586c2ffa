//! Unique rules (10-models §6) and their enforcement.
//!
//! Enforcement is a table, not a check: every instance whose key values participate in a rule
//! owns one row `(rule_id, key)` of `instance_unique`, whose primary key makes the database refuse
//! a second owner. Racing creates therefore lose cleanly inside the database, in one process or in
//! many, without read-then-write windows.

use std::collections::{BTreeSet, HashMap};

use cmdb_domain::attribute::{
    unique_key_part, unique_key_type_allowed, CompiledAttribute, PropertyType,
};
use cmdb_domain::model::{Attribute, UniqueKey, UniqueRule};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::audit::{self, AuditEntry};
use super::util::{encode, load_docs};
use super::{attributes, OpContext};
use crate::sql::compile::json_field_expr;
use crate::{Dialect, SqlValue, StoreError, Tx};

/// The rules of a model.
pub fn of_model(tx: &mut dyn Tx, obj_id: &str) -> Result<Vec<UniqueRule>, StoreError> {
    load_docs(
        tx,
        "SELECT doc FROM unique_rule WHERE obj_id = ? ORDER BY id",
        &[obj_id.into()],
    )
}

/// The key text of `doc` under `rule`, or `None` when some key value does not participate
/// (e.g. a null number). `attrs` maps attribute id → attribute.
pub(crate) fn key_of(
    rule: &UniqueRule,
    attrs: &HashMap<i64, &CompiledAttribute>,
    doc: &Map<String, Value>,
) -> Option<String> {
    let mut parts = Vec::with_capacity(rule.keys.len());
    for k in &rule.keys {
        let attr = attrs.get(&k.key_id)?;
        let value = doc.get(&attr.attr.bk_property_id).unwrap_or(&Value::Null);
        parts.push(Value::String(unique_key_part(attr.ptype?, value)?));
    }
    Some(Value::Array(parts).to_string())
}

/// Human-readable list of the rule's fields, for the duplicate message.
pub(crate) fn rule_fields(rule: &UniqueRule, attrs: &HashMap<i64, &CompiledAttribute>) -> String {
    rule.keys
        .iter()
        .filter_map(|k| attrs.get(&k.key_id).map(|a| a.attr.bk_property_id.clone()))
        .collect::<Vec<_>>()
        .join(",")
}

/// Inserts a rule record (seed and create share it) and the expression indexes that make
/// equality lookups on its attributes index scans.
pub(crate) fn insert(
    tx: &mut dyn Tx,
    mut rule: UniqueRule,
    attrs: &[Attribute],
) -> Result<UniqueRule, StoreError> {
    super::schema_cache::bump(tx)?;
    rule.id = tx.next_id("unique_rule")?;
    tx.execute(
        "INSERT INTO unique_rule (id, obj_id, doc) VALUES (?, ?, ?)",
        &[
            SqlValue::Int(rule.id),
            rule.bk_obj_id.as_str().into(),
            encode(&rule)?,
        ],
    )?;
    for key in &rule.keys {
        if let Some(attr) = attrs.iter().find(|a| a.id == key.key_id) {
            ensure_attr_index(tx, &attr.bk_property_id)?;
        }
    }
    Ok(rule)
}

/// Creates the expression index `instance_attr_<prop>` over `(obj_id, <json field>)` once.
/// `bk_inst_name` and `bk_parent_id` (custom mainline levels) have real, indexed columns and
/// need none -- which also keeps `CREATE INDEX` (a table lock on PostgreSQL) out of inserting a
/// mainline level, whose row locks on the parent instances would otherwise deadlock with
/// writers that hold such a row and then insert.
pub(crate) fn ensure_attr_index(tx: &mut dyn Tx, prop: &str) -> Result<(), StoreError> {
    if prop == "bk_inst_name" || prop == "bk_parent_id" {
        return Ok(());
    }
    let expr = json_field_expr(tx.dialect(), "data", prop)?;
    if tx.dialect() == Dialect::Postgres {
        // Two transactions creating the same index race in the catalog (`IF NOT EXISTS` is not
        // atomic there): the second waits for the first to commit, then finds the index.
        // Lock namespace "CMDI" (0x434d4449), key = hash of the index name.
        tx.query(
            "SELECT 1 FROM pg_advisory_xact_lock(1129137225, hashtext(CAST(? AS TEXT)))",
            &[SqlValue::Text(format!("instance_attr_{prop}"))],
        )?;
    }
    let sql =
        format!("CREATE INDEX IF NOT EXISTS instance_attr_{prop} ON instance (obj_id, {expr})");
    tx.execute_batch(&sql)?;
    if tx.dialect() == Dialect::Sqlite {
        crate::schema::sqlite_planner_hints(tx)?;
    }
    Ok(())
}

fn parse_keys(
    body: &Map<String, Value>,
    attrs: &[Attribute],
) -> Result<Vec<UniqueKey>, StoreError> {
    let keys = body
        .get("keys")
        .and_then(Value::as_array)
        .ok_or_else(|| DomainError::NeedSet("keys".into()))?;
    if keys.is_empty() {
        return Err(DomainError::NeedSet("keys".into()).into());
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for k in keys {
        let kind = k
            .get("key_kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind != "property" {
            return Err(DomainError::UniqueKeyKind.into());
        }
        let id = k
            .get("key_id")
            .and_then(super::util::loose_i64)
            .ok_or_else(|| DomainError::IsInvalid("keys".into()))?;
        if !seen.insert(id) {
            return Err(DomainError::ParamsInvalid("keys".into()).into());
        }
        out.push(UniqueKey {
            key_kind: "property".into(),
            key_id: id,
        });
    }
    let single = out.len() == 1;
    for k in &out {
        let attr = attrs
            .iter()
            .find(|a| a.id == k.key_id)
            .ok_or_else(|| DomainError::IsInvalid("keys".into()))?;
        let allowed = PropertyType::parse(&attr.bk_property_type)
            .is_some_and(|t| unique_key_type_allowed(t, single));
        if !allowed {
            return Err(DomainError::UniqueKeyType(attr.bk_property_id.clone()).into());
        }
    }
    Ok(out)
}

fn check_overlap(
    new: &[UniqueKey],
    existing: &[UniqueRule],
    skip: Option<i64>,
) -> Result<(), StoreError> {
    let new_set: BTreeSet<i64> = new.iter().map(|k| k.key_id).collect();
    for rule in existing.iter().filter(|r| Some(r.id) != skip) {
        let set: BTreeSet<i64> = rule.keys.iter().map(|k| k.key_id).collect();
        if set == new_set {
            return Err(DomainError::UniqueSame.into());
        }
        if set.is_subset(&new_set) {
            return Err(DomainError::UniqueSubset.into());
        }
        if set.is_superset(&new_set) {
            return Err(DomainError::UniqueSuperset.into());
        }
    }
    Ok(())
}

/// Fills `instance_unique` for `rule` from the model's existing instances; existing duplicates
/// refuse the rule.
fn build_rule_keys(
    tx: &mut dyn Tx,
    rule: &UniqueRule,
    attrs: &[Attribute],
) -> Result<(), StoreError> {
    let compiled: Vec<CompiledAttribute> =
        attrs.iter().cloned().map(CompiledAttribute::new).collect();
    let by_id: HashMap<i64, &CompiledAttribute> = compiled.iter().map(|c| (c.attr.id, c)).collect();
    let rows = tx.query(
        "SELECT inst_id, data FROM instance WHERE obj_id = ?",
        &[rule.bk_obj_id.as_str().into()],
    )?;
    for row in rows {
        let (Some(inst_id), Some(cell)) = (row.first().and_then(SqlValue::as_i64), row.get(1))
        else {
            continue;
        };
        let Value::Object(doc) = cell.to_json()? else {
            continue;
        };
        if let Some(key) = key_of(rule, &by_id, &doc) {
            let res = tx.execute(
                "INSERT INTO instance_unique (rule_id, key, obj_id, inst_id) VALUES (?, ?, ?, ?)",
                &[
                    SqlValue::Int(rule.id),
                    SqlValue::Text(key.clone()),
                    rule.bk_obj_id.as_str().into(),
                    SqlValue::Int(inst_id),
                ],
            );
            match res {
                Ok(_) => {}
                Err(StoreError::UniqueViolation { .. }) => {
                    return Err(DomainError::UniqueDataDuplicated(key).into())
                }
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// The audit record of a unique-rule change: `pre` the rule before it; an update's submitted
/// change is the new key list.
fn entry(action: &'static str, rule: &UniqueRule, pre: Option<&UniqueRule>) -> AuditEntry {
    AuditEntry {
        audit_type: "model",
        resource_type: "model_unique",
        action,
        biz_id: 0,
        resource_id: Value::from(rule.id),
        resource_name: rule.bk_obj_id.clone(),
        obj_id: Some(rule.bk_obj_id.clone()),
        pre_data: pre.and_then(|p| serde_json::to_value(p).ok()),
        cur_data: if action == "delete" {
            None
        } else {
            serde_json::to_value(rule).ok()
        },
        update_fields: if action == "update" {
            Some(json!({"keys": rule.keys}))
        } else {
            None
        },
    }
}

/// `POST /api/v3/create/objectunique/object/{bk_obj_id}` → the new rule's id.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    body: &Map<String, Value>,
) -> Result<i64, StoreError> {
    if super::objects::get(tx, obj_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    }
    let attrs = attributes::of_model(tx, obj_id, 0)?;
    let keys = parse_keys(body, &attrs)?;
    let existing = of_model(tx, obj_id)?;
    check_overlap(&keys, &existing, None)?;
    let rule = insert(
        tx,
        UniqueRule {
            id: 0,
            bk_obj_id: obj_id.to_string(),
            keys,
            ispre: false,
            bk_template_id: 0,
            bk_supplier_account: ctx.supplier.clone(),
            last_time: cmdb_domain::time::format_millis(ctx.now),
        },
        &attrs,
    )?;
    build_rule_keys(tx, &rule, &attrs)?;
    audit::record(tx, ctx, entry("create", &rule, None))?;
    Ok(rule.id)
}

fn get(tx: &mut dyn Tx, obj_id: &str, id: i64) -> Result<UniqueRule, StoreError> {
    let lock = super::util::for_update(tx);
    load_docs::<UniqueRule>(
        tx,
        &format!(
            "SELECT doc FROM unique_rule WHERE id = ? AND obj_id = ?{}",
            lock
        ),
        &[SqlValue::Int(id), obj_id.into()],
    )?
    .into_iter()
    .next()
    .ok_or_else(|| DomainError::IsInvalid("id".into()).into())
}

/// `PUT /api/v3/update/objectunique/object/{bk_obj_id}/unique/{id}`.
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    let old = get(tx, obj_id, id)?;
    if old.ispre {
        return Err(DomainError::UniquePreset.into());
    }
    if old.bk_template_id != 0 {
        return Err(DomainError::BuiltinItem("template unique rule".into()).into());
    }
    let attrs = attributes::of_model(tx, obj_id, 0)?;
    let keys = parse_keys(body, &attrs)?;
    let existing = of_model(tx, obj_id)?;
    check_overlap(&keys, &existing, Some(id))?;
    let mut new = old.clone();
    new.keys = keys;
    new.last_time = cmdb_domain::time::format_millis(ctx.now);
    tx.execute(
        "UPDATE unique_rule SET doc = ? WHERE id = ?",
        &[encode(&new)?, SqlValue::Int(id)],
    )?;
    tx.execute(
        "DELETE FROM instance_unique WHERE rule_id = ?",
        &[SqlValue::Int(id)],
    )?;
    for key in &new.keys {
        if let Some(attr) = attrs.iter().find(|a| a.id == key.key_id) {
            ensure_attr_index(tx, &attr.bk_property_id)?;
        }
    }
    match build_rule_keys(tx, &new, &attrs) {
        Err(StoreError::Domain(DomainError::UniqueDataDuplicated(k))) => {
            return Err(DomainError::Duplicate(k).into())
        }
        other => other?,
    }
    audit::record(tx, ctx, entry("update", &new, Some(&old)))
}

/// `POST /api/v3/delete/objectunique/object/{bk_obj_id}/unique/{id}`.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, obj_id: &str, id: i64) -> Result<(), StoreError> {
    super::schema_cache::bump(tx)?;
    let old = get(tx, obj_id, id)?;
    if old.ispre {
        return Err(DomainError::UniquePreset.into());
    }
    if old.bk_template_id != 0 {
        return Err(DomainError::BuiltinItem("template unique rule".into()).into());
    }
    if of_model(tx, obj_id)?.len() <= 1 {
        return Err(DomainError::UniqueLastRule.into());
    }
    tx.execute("DELETE FROM unique_rule WHERE id = ?", &[SqlValue::Int(id)])?;
    tx.execute(
        "DELETE FROM instance_unique WHERE rule_id = ?",
        &[SqlValue::Int(id)],
    )?;
    audit::record(tx, ctx, entry("delete", &old, Some(&old)))
}
