//! Model classifications (10-models §2).

use cmdb_domain::attribute::{check_no_bk_prefix, validate_model_id, validate_model_name};
use cmdb_domain::model::Classification;
use cmdb_domain::DomainError;
use serde_json::{Map, Value};

use super::audit::{self, AuditEntry};
use super::util::{encode, load_docs, record_matches};
use super::OpContext;
use crate::{SqlValue, StoreError, Tx};

/// The classification that cannot be updated.
const UNCATEGORIZED: &str = "bk_uncategorized";

/// The unique name column: an absent name is NULL, so several unnamed classifications may
/// coexist while named ones stay unique.
fn name_column(name: &str) -> SqlValue {
    if name.is_empty() {
        SqlValue::Null
    } else {
        SqlValue::Text(name.to_string())
    }
}

/// All visible classifications matching an equality filter.
pub fn search(
    tx: &mut dyn Tx,
    filter: &Map<String, Value>,
) -> Result<Vec<Classification>, StoreError> {
    let all: Vec<Classification> =
        load_docs(tx, "SELECT doc FROM classification ORDER BY id", &[])?;
    Ok(all
        .into_iter()
        .filter(|c| c.bk_classification_type != "hidden")
        .filter(|c| serde_json::to_value(c).is_ok_and(|v| record_matches(&v, filter)))
        .collect())
}

/// Looks one up by its string id.
pub fn get(tx: &mut dyn Tx, cls_id: &str) -> Result<Option<Classification>, StoreError> {
    Ok(load_docs(
        tx,
        "SELECT doc FROM classification WHERE cls_id = ?",
        &[cls_id.into()],
    )?
    .into_iter()
    .next())
}

/// Inserts a classification record as given (seed and create share it).
pub(crate) fn insert(
    tx: &mut dyn Tx,
    mut record: Classification,
) -> Result<Classification, StoreError> {
    let id = tx.next_id("classification")?;
    record.id = id;
    let res = tx.execute(
        "INSERT INTO classification (id, cls_id, cls_name, doc) VALUES (?, ?, ?, ?)",
        &[
            SqlValue::Int(id),
            record.bk_classification_id.as_str().into(),
            name_column(&record.bk_classification_name),
            encode(&record)?,
        ],
    );
    match res {
        Ok(_) => Ok(record),
        Err(e) if e.is_unique_on("cls_id") => {
            Err(DomainError::Duplicate("bk_classification_id".into()).into())
        }
        Err(e) if e.is_unique_on("cls_name") => {
            Err(DomainError::Duplicate("bk_classification_name".into()).into())
        }
        Err(e) => Err(e),
    }
}

/// `create_classification`.
pub fn create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<Classification, StoreError> {
    let id_value = body
        .get("bk_classification_id")
        .cloned()
        .unwrap_or(Value::Null);
    if id_value.is_null() {
        return Err(DomainError::NeedSet("bk_classification_id".into()).into());
    }
    let cls_id = validate_model_id("bk_classification_id", &id_value)?;
    check_no_bk_prefix("bk_classification_id", &cls_id)?;
    // The name is validated only when present (upstream `isValid(kit, true, data)`).
    let name = match body.get("bk_classification_name") {
        Some(v) => validate_model_name("bk_classification_name", v)?,
        None => String::new(),
    };
    let icon = body
        .get("bk_classification_icon")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let record = insert(
        tx,
        Classification {
            id: 0,
            bk_classification_id: cls_id,
            bk_classification_name: name,
            bk_classification_type: String::new(),
            bk_classification_icon: icon,
            bk_supplier_account: ctx.supplier.clone(),
        },
    )?;
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "model",
            resource_type: "model_classification",
            action: "create",
            biz_id: 0,
            resource_id: Value::from(record.id),
            resource_name: record.bk_classification_name.clone(),
            obj_id: None,
            pre_data: None,
            cur_data: serde_json::to_value(&record).ok(),
            update_fields: None,
        },
    )?;
    Ok(record)
}

fn by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<Classification>, StoreError> {
    let lock = super::util::for_update(tx);
    Ok(load_docs(
        tx,
        &format!("SELECT doc FROM classification WHERE id = ?{}", lock),
        &[SqlValue::Int(id)],
    )?
    .into_iter()
    .next())
}

/// `update_classification`: name and icon only; the uncategorized classification is silently
/// left alone, a missing id is "no relevant data".
pub fn update(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(old) = by_id(tx, id)? else {
        return Err(DomainError::NotFound.into());
    };
    if old.bk_classification_id == UNCATEGORIZED {
        return Ok(());
    }
    let mut new = old.clone();
    if let Some(v) = body.get("bk_classification_name") {
        new.bk_classification_name = validate_model_name("bk_classification_name", v)?;
    }
    if let Some(v) = body.get("bk_classification_icon") {
        new.bk_classification_icon = v
            .as_str()
            .ok_or_else(|| DomainError::NeedString("bk_classification_icon".into()))?
            .to_string();
    }
    let res = tx.execute(
        "UPDATE classification SET cls_name = ?, doc = ? WHERE id = ?",
        &[
            new.bk_classification_name.as_str().into(),
            encode(&new)?,
            SqlValue::Int(id),
        ],
    );
    match res {
        Ok(_) => {}
        Err(e) if e.is_unique_on("cls_name") => {
            return Err(DomainError::Duplicate("bk_classification_name".into()).into())
        }
        Err(e) => return Err(e),
    }
    let mut fields = body.clone();
    fields.retain(|k, _| k == "bk_classification_name" || k == "bk_classification_icon");
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "model",
            resource_type: "model_classification",
            action: "update",
            biz_id: 0,
            resource_id: Value::from(id),
            resource_name: new.bk_classification_name.clone(),
            obj_id: None,
            pre_data: serde_json::to_value(&old).ok(),
            cur_data: serde_json::to_value(&new).ok(),
            update_fields: Some(Value::Object(fields)),
        },
    )
}

/// `delete_classification`: refused while models use it; a missing id succeeds.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, id: i64) -> Result<(), StoreError> {
    let Some(old) = by_id(tx, id)? else {
        return Ok(());
    };
    if old.bk_classification_type == "inner" {
        return Err(DomainError::BuiltinItem("classification".into()).into());
    }
    let used = tx.query(
        "SELECT 1 FROM object WHERE cls_id = ? LIMIT 1",
        &[old.bk_classification_id.as_str().into()],
    )?;
    if !used.is_empty() {
        return Err(DomainError::ClassificationHasModels.into());
    }
    match tx.execute(
        "DELETE FROM classification WHERE id = ?",
        &[SqlValue::Int(id)],
    ) {
        Ok(_) => {}
        // A model created concurrently uses it.
        Err(StoreError::ForeignKeyViolation { .. }) => {
            return Err(DomainError::ClassificationHasModels.into())
        }
        Err(e) => return Err(e),
    }
    audit::record(
        tx,
        ctx,
        AuditEntry {
            audit_type: "model",
            resource_type: "model_classification",
            action: "delete",
            biz_id: 0,
            resource_id: Value::from(id),
            resource_name: old.bk_classification_name.clone(),
            obj_id: None,
            pre_data: serde_json::to_value(&old).ok(),
            cur_data: None,
            update_fields: None,
        },
    )
}
