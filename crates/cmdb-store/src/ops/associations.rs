//! Associations (50-associations.md): association kinds, model associations and instance
//! associations, with the association topology of one instance (20-instances §11).
//!
//! Race safety, on both backends and across processes:
//! * the mapping of a model association (1:1, 1:n) is enforced by UNIQUE indexes over the
//!   "slots" a link claims (`src_slot`, `dst_slot`, see `cmdb_domain::association::Mapping::slots`
//!   and migration 0004): the checks below give the precise code when nothing races, and the
//!   database refuses the loser of a race (1113053), whichever process it reached;
//! * a link's instances are read `FOR SHARE` on PostgreSQL and instance deletion reads them `FOR
//!   UPDATE`, so a link to an instance deleted at the same moment cannot survive it (SQLite's
//!   single writer serialises both already);
//! * a link's model association is read `FOR SHARE` and its deletion `FOR UPDATE`, so a model
//!   association is never deleted while a link to it is being created.

use cmdb_domain::association::{
    self, check_batch_naming, check_direction, check_on_delete, conventional_id,
    instance_association_catalog, Mapping, ObjAsstChanges,
};
use cmdb_domain::attribute::{validate_model_id, validate_model_name};
use cmdb_domain::filter::{parse_query_filter, Expr, FieldInfo, Page};
use cmdb_domain::model::{AssociationKind, ObjectAssociation};
use cmdb_domain::DomainError;
use serde_json::{json, Map, Value};

use super::audit::{self, AuditEntry, EventType};
use super::util::{encode, load_docs, loose_i64, record_matches};
use super::{objects, OpContext};
use crate::sql::SqlBuilder;
use crate::{Dialect, Row, SqlValue, StoreError, Tx};

/// The kind id reserved for the mainline topology.
const MAINLINE: &str = "bk_mainline";

/// Columns of an instance-association row, in the order [`record`] reads them.
pub(crate) const COLUMNS: &str =
    "id, obj_asst_id, asst_id, obj_id, inst_id, asst_obj_id, asst_inst_id, supplier";

fn share_lock(tx: &dyn Tx) -> &'static str {
    match tx.dialect() {
        Dialect::Postgres => " FOR SHARE",
        Dialect::Sqlite => "",
    }
}

fn update_lock(tx: &dyn Tx) -> &'static str {
    super::util::for_update(tx)
}

fn text(body: &Map<String, Value>, key: &str) -> Result<String, DomainError> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(DomainError::ParamsInvalid(key.into())),
    }
}

// ---------------------------------------------------------------------------------------------
// Association kinds
// ---------------------------------------------------------------------------------------------

fn kind_entry(
    action: &'static str,
    kind: &AssociationKind,
    pre: Option<&AssociationKind>,
    cur: Option<&AssociationKind>,
    update: Option<Value>,
) -> AuditEntry {
    AuditEntry {
        audit_type: "association_kind",
        resource_type: "association_kind",
        action,
        biz_id: 0,
        resource_id: Value::from(kind.id),
        resource_name: kind.bk_asst_name.clone(),
        obj_id: None,
        pre_data: pre.and_then(|k| serde_json::to_value(k).ok()),
        cur_data: cur.and_then(|k| serde_json::to_value(k).ok()),
        update_fields: update,
    }
}

fn kind_by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<AssociationKind>, StoreError> {
    let sql = format!(
        "SELECT doc FROM association_kind WHERE id = ?{}",
        update_lock(tx)
    );
    Ok(load_docs(tx, &sql, &[SqlValue::Int(id)])?
        .into_iter()
        .next())
}

/// Compares two JSON values for sorting metadata records: numbers numerically, everything else
/// by its text.
fn cmp_json(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(std::cmp::Ordering::Equal),
        _ => match (a.as_str(), b.as_str()) {
            (Some(x), Some(y)) => x.cmp(y),
            _ => a.to_string().cmp(&b.to_string()),
        },
    }
}

/// `POST /api/v3/find/associationtype`: equality `condition`, `page` (start, limit, sort over
/// record fields). Returns the total and the page.
pub fn search_kinds(
    tx: &mut dyn Tx,
    body: &Map<String, Value>,
) -> Result<(u64, Vec<AssociationKind>), StoreError> {
    let cond = match body.get("condition") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err(DomainError::JsonUnmarshal.into()),
    };
    let page = Page::parse(body.get("page").unwrap_or(&Value::Null), "page")?;
    page.validate_max(true, "page")?;
    let all: Vec<AssociationKind> =
        load_docs(tx, "SELECT doc FROM association_kind ORDER BY id", &[])?;
    let mut hits: Vec<Value> = all
        .iter()
        .filter_map(|k| serde_json::to_value(k).ok())
        .filter(|v| record_matches(v, &cond))
        .collect();
    let total = hits.len() as u64;
    for item in page.sort.split(',').rev() {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (key, desc) = match item.strip_prefix('-') {
            Some(k) => (k, true),
            None => (item.trim_start_matches('+'), false),
        };
        hits.sort_by(|a, b| {
            let o = cmp_json(
                a.get(key).unwrap_or(&Value::Null),
                b.get(key).unwrap_or(&Value::Null),
            );
            if desc {
                o.reverse()
            } else {
                o
            }
        });
    }
    let start = usize::try_from(page.start).unwrap_or(usize::MAX);
    let limit = page
        .limit_opt()
        .map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    let out = hits
        .into_iter()
        .skip(start)
        .take(limit)
        .filter_map(|v| serde_json::from_value(v).ok())
        .collect();
    Ok((total, out))
}

/// `POST /api/v3/create/associationtype`. `direction` defaults to `src_to_dest` (the bk-cmdb
/// UI's default; the spec is silent). A taken `bk_asst_id` is refused by the table's UNIQUE
/// constraint (1199014), so racing creates cannot both succeed.
pub fn create_kind(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<AssociationKind, StoreError> {
    let null = Value::Null;
    let asst_id = validate_model_id("bk_asst_id", body.get("bk_asst_id").unwrap_or(&null))?;
    let name = validate_model_name("bk_asst_name", body.get("bk_asst_name").unwrap_or(&null))?;
    let mut direction = text(body, "direction")?;
    if direction.is_empty() {
        direction = "src_to_dest".into();
    }
    check_direction(&direction)?;
    let kind = AssociationKind {
        id: tx.next_id("association_kind")?,
        bk_asst_id: asst_id,
        bk_asst_name: name,
        src_des: text(body, "src_des")?,
        dest_des: text(body, "dest_des")?,
        direction,
        ispre: false,
        bk_supplier_account: ctx.supplier.clone(),
    };
    match tx.execute(
        "INSERT INTO association_kind (id, asst_id, doc) VALUES (?, ?, ?)",
        &[
            SqlValue::Int(kind.id),
            kind.bk_asst_id.as_str().into(),
            encode(&kind)?,
        ],
    ) {
        Ok(_) => {}
        Err(e) if e.is_unique_on("asst_id") => {
            return Err(DomainError::Duplicate("bk_asst_id".into()).into())
        }
        Err(e) => return Err(e),
    }
    audit::record(
        tx,
        ctx,
        kind_entry("create", &kind, None, Some(&kind), None),
    )?;
    Ok(kind)
}

/// `PUT /api/v3/update/associationtype/{id}`: name, labels and direction. Unknown id → 1101072;
/// pre-set kinds → 1101051 (the spec leaves the code open; this is the code bk-cmdb uses for
/// protecting pre-set kinds).
pub fn update_kind(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let Some(old) = kind_by_id(tx, id)? else {
        return Err(DomainError::AsstKindNotExist.into());
    };
    if old.ispre {
        return Err(DomainError::AsstKindPreset.into());
    }
    let mut new = old.clone();
    if let Some(v) = body.get("bk_asst_name").filter(|v| !v.is_null()) {
        new.bk_asst_name = validate_model_name("bk_asst_name", v)?;
    }
    if body.contains_key("src_des") {
        new.src_des = text(body, "src_des")?;
    }
    if body.contains_key("dest_des") {
        new.dest_des = text(body, "dest_des")?;
    }
    if body.get("direction").is_some_and(|v| !v.is_null()) {
        new.direction = text(body, "direction")?;
        check_direction(&new.direction)?;
    }
    tx.execute(
        "UPDATE association_kind SET doc = ? WHERE id = ?",
        &[encode(&new)?, SqlValue::Int(id)],
    )?;
    audit::record(
        tx,
        ctx,
        kind_entry(
            "update",
            &new,
            Some(&old),
            None,
            Some(Value::Object(body.clone())),
        ),
    )
}

/// `DELETE /api/v3/delete/associationtype/{id}`: unknown id → success (as deleting a missing
/// model); pre-set → 1101051; used by a model association → 1101060.
pub fn delete_kind(tx: &mut dyn Tx, ctx: &OpContext, id: i64) -> Result<(), StoreError> {
    let Some(old) = kind_by_id(tx, id)? else {
        return Ok(());
    };
    if old.ispre {
        return Err(DomainError::AsstKindPreset.into());
    }
    if !tx
        .query(
            "SELECT 1 FROM object_association WHERE asst_id = ? LIMIT 1",
            &[old.bk_asst_id.as_str().into()],
        )?
        .is_empty()
    {
        return Err(DomainError::AsstKindInUse.into());
    }
    tx.execute(
        "DELETE FROM association_kind WHERE id = ?",
        &[SqlValue::Int(id)],
    )?;
    audit::record(tx, ctx, kind_entry("delete", &old, Some(&old), None, None))
}

// ---------------------------------------------------------------------------------------------
// Model associations
// ---------------------------------------------------------------------------------------------

fn obj_asst_entry(
    action: &'static str,
    a: &ObjectAssociation,
    pre: Option<&ObjectAssociation>,
    cur: Option<&ObjectAssociation>,
    update: Option<Value>,
) -> AuditEntry {
    AuditEntry {
        audit_type: "model",
        resource_type: "model_association",
        action,
        biz_id: 0,
        resource_id: Value::from(a.id),
        resource_name: a.bk_obj_asst_id.clone(),
        obj_id: Some(a.bk_obj_id.clone()),
        pre_data: pre.and_then(|x| serde_json::to_value(x).ok()),
        cur_data: cur.and_then(|x| serde_json::to_value(x).ok()),
        update_fields: update,
    }
}

/// `find_object_association`: equality filter over model-association records. An empty
/// condition returns all of them (the docs ask for `bk_obj_id` or `bk_asst_obj_id`, but the
/// web UI lists all; refusing would help nobody).
pub fn find_object_associations(
    tx: &mut dyn Tx,
    cond: &Map<String, Value>,
) -> Result<Vec<ObjectAssociation>, StoreError> {
    Ok(objects::associations(tx)?
        .into_iter()
        .filter(|a| serde_json::to_value(a).is_ok_and(|v| record_matches(&v, cond)))
        .collect())
}

/// Loads a model association by its `bk_obj_asst_id`; `lock` adds the backend's share lock.
fn obj_asst_by_key(
    tx: &mut dyn Tx,
    obj_asst_id: &str,
    lock: bool,
) -> Result<Option<ObjectAssociation>, StoreError> {
    let sql = format!(
        "SELECT doc FROM object_association WHERE obj_asst_id = ?{}",
        if lock { share_lock(tx) } else { "" }
    );
    Ok(load_docs(tx, &sql, &[obj_asst_id.into()])?
        .into_iter()
        .next())
}

fn obj_asst_by_id(tx: &mut dyn Tx, id: i64) -> Result<Option<ObjectAssociation>, StoreError> {
    let sql = format!(
        "SELECT doc FROM object_association WHERE id = ?{}",
        update_lock(tx)
    );
    Ok(load_docs(tx, &sql, &[SqlValue::Int(id)])?
        .into_iter()
        .next())
}

/// `POST /api/v3/create/objectassociation`, checked in the spec's order: `bk_mainline` →
/// 1101082; an empty kind/source/target → 1101045; the same (source, target, kind) → 1101038;
/// a missing model → 1199011; then (not in the spec) an unknown kind → 1101072 and a bad
/// `mapping`/`on_delete` → 1199006; a taken `bk_obj_asst_id` → 1199014. `mapping` defaults to
/// `n:n` and `bk_obj_asst_id` to the conventional `<src>_<kind>_<dst>` when absent.
pub fn create_object_association(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<ObjectAssociation, StoreError> {
    let asst_id = text(body, "bk_asst_id")?;
    let obj_id = text(body, "bk_obj_id")?;
    let asst_obj_id = text(body, "bk_asst_obj_id")?;
    if asst_id == MAINLINE {
        return Err(DomainError::MainlineAsstForbidden.into());
    }
    if asst_id.is_empty() || obj_id.is_empty() || asst_obj_id.is_empty() {
        return Err(DomainError::ObjAsstMissingParam.into());
    }
    if !tx
        .query(
            "SELECT 1 FROM object_association WHERE obj_id = ? AND asst_obj_id = ? AND asst_id = ?",
            &[
                obj_id.as_str().into(),
                asst_obj_id.as_str().into(),
                asst_id.as_str().into(),
            ],
        )?
        .is_empty()
    {
        return Err(DomainError::AssociationExists(obj_id, asst_obj_id).into());
    }
    if objects::get(tx, &obj_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    }
    if objects::get(tx, &asst_obj_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_asst_obj_id".into()).into());
    }
    let kind_sql = format!(
        "SELECT 1 FROM association_kind WHERE asst_id = ?{}",
        share_lock(tx)
    );
    if tx.query(&kind_sql, &[asst_id.as_str().into()])?.is_empty() {
        return Err(DomainError::AsstKindNotExist.into());
    }
    let mapping = match text(body, "mapping")? {
        m if m.is_empty() => Mapping::ManyToMany,
        m => Mapping::parse(&m)?,
    };
    let mut on_delete = text(body, "on_delete")?;
    if on_delete.is_empty() {
        on_delete = "none".into();
    }
    check_on_delete(&on_delete)?;
    let mut key = text(body, "bk_obj_asst_id")?;
    if key.is_empty() {
        key = conventional_id(&obj_id, &asst_id, &asst_obj_id);
    }
    let record = ObjectAssociation {
        id: 0,
        bk_obj_asst_id: key,
        bk_obj_asst_name: text(body, "bk_obj_asst_name")?,
        bk_obj_id: obj_id.clone(),
        bk_asst_obj_id: asst_obj_id.clone(),
        bk_asst_id: asst_id,
        mapping: mapping.as_str().into(),
        on_delete,
        ispre: false,
        bk_supplier_account: ctx.supplier.clone(),
    };
    let created = match objects::insert_association(tx, record) {
        Ok(a) => a,
        // SQLite names the columns (`object_association.obj_asst_id`), PostgreSQL the
        // constraint (`object_association_obj_asst_id_key`).
        Err(StoreError::UniqueViolation { constraint })
            if constraint.ends_with(".obj_asst_id") || constraint.ends_with("obj_asst_id_key") =>
        {
            return Err(DomainError::Duplicate("bk_obj_asst_id".into()).into())
        }
        // The (source, target, kind) triple, taken by a racing create.
        Err(StoreError::UniqueViolation { .. }) => {
            return Err(DomainError::AssociationExists(obj_id, asst_obj_id).into());
        }
        Err(StoreError::ForeignKeyViolation { .. }) => {
            return Err(DomainError::IsInvalid("bk_obj_id".into()).into())
        }
        Err(e) => return Err(e),
    };
    audit::record(
        tx,
        ctx,
        obj_asst_entry("create", &created, None, Some(&created), None),
    )?;
    Ok(created)
}

/// `PUT /api/v3/update/objectassociation/{id}`: only `bk_obj_asst_name`, `on_delete` and
/// `mapping` change (1101047 for the others); unknown id → 1101046; pre-set → 1101054;
/// mainline → 1101082. A new mapping re-computes every link's slots under the UNIQUE indexes,
/// so a mapping the existing links already violate is refused (1101052 / 1101061).
pub fn update_object_association(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    id: i64,
    body: &Map<String, Value>,
) -> Result<(), StoreError> {
    let changes = ObjAsstChanges::parse(body)?;
    let Some(old) = obj_asst_by_id(tx, id)? else {
        return Err(DomainError::ObjAsstNotExist.into());
    };
    if old.ispre {
        return Err(DomainError::ObjAsstPresetUpdate.into());
    }
    if old.bk_asst_id == MAINLINE {
        return Err(DomainError::MainlineAsstForbidden.into());
    }
    let mut new = old.clone();
    if let Some(n) = changes.name {
        new.bk_obj_asst_name = n;
    }
    if let Some(o) = changes.on_delete {
        new.on_delete = o;
    }
    if let Some(m) = changes.mapping {
        new.mapping = m.as_str().into();
        if new.mapping != old.mapping {
            let src = if m.limits_source() { "inst_id" } else { "NULL" };
            let dst = if m.limits_target() {
                "asst_inst_id"
            } else {
                "NULL"
            };
            // Clear first so the new slots never collide with stale ones of the old mapping.
            tx.execute(
                "UPDATE instance_association SET src_slot = NULL, dst_slot = NULL WHERE obj_asst_id = ?",
                &[old.bk_obj_asst_id.as_str().into()],
            )?;
            match tx.execute(
                &format!(
                    "UPDATE instance_association SET src_slot = {src}, dst_slot = {dst} WHERE obj_asst_id = ?"
                ),
                &[old.bk_obj_asst_id.as_str().into()],
            ) {
                Ok(_) => {}
                Err(StoreError::UniqueViolation { .. }) => {
                    return Err(match m {
                        Mapping::OneToOne => DomainError::InstAsstOneToOne,
                        _ => DomainError::InstAsstOneToMany,
                    }
                    .into())
                }
                Err(e) => return Err(e),
            }
        }
    }
    super::schema_cache::bump(tx)?;
    tx.execute(
        "UPDATE object_association SET doc = ? WHERE id = ?",
        &[encode(&new)?, SqlValue::Int(id)],
    )?;
    audit::record(
        tx,
        ctx,
        obj_asst_entry(
            "update",
            &new,
            Some(&old),
            None,
            Some(Value::Object(body.clone())),
        ),
    )
}

/// `DELETE /api/v3/delete/objectassociation/{id}`: unknown id → 1101046; mainline → 1101082;
/// pre-set → 1101055; with instance links → 1101043 (the row is locked first, and link
/// creation share-locks it, so no link can appear between the check and the delete).
pub fn delete_object_association(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    id: i64,
) -> Result<(), StoreError> {
    let Some(old) = obj_asst_by_id(tx, id)? else {
        return Err(DomainError::ObjAsstNotExist.into());
    };
    if old.bk_asst_id == MAINLINE {
        return Err(DomainError::MainlineAsstForbidden.into());
    }
    if old.ispre {
        return Err(DomainError::ObjAsstPresetDelete.into());
    }
    if !tx
        .query(
            "SELECT 1 FROM instance_association WHERE obj_asst_id = ? LIMIT 1",
            &[old.bk_obj_asst_id.as_str().into()],
        )?
        .is_empty()
    {
        return Err(DomainError::ObjAsstHasInstances.into());
    }
    super::schema_cache::bump(tx)?;
    tx.execute(
        "DELETE FROM object_association WHERE id = ?",
        &[SqlValue::Int(id)],
    )?;
    audit::record(
        tx,
        ctx,
        obj_asst_entry("delete", &old, Some(&old), None, None),
    )
}

// ---------------------------------------------------------------------------------------------
// Instance associations
// ---------------------------------------------------------------------------------------------

/// The wire record of one instance-association row (columns in [`COLUMNS`] order).
/// `bk_biz_id` is 0: only mainline links would carry a business, and those are not instance
/// associations here.
pub(crate) fn record(row: &Row) -> Value {
    let s = |i: usize| {
        row.get(i)
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string()
    };
    let n = |i: usize| row.get(i).and_then(SqlValue::as_i64).unwrap_or(0);
    json!({
        "id": n(0),
        "bk_obj_asst_id": s(1),
        "bk_asst_id": s(2),
        "bk_obj_id": s(3),
        "bk_inst_id": n(4),
        "bk_asst_obj_id": s(5),
        "bk_asst_inst_id": n(6),
        "bk_supplier_account": s(7),
        "bk_biz_id": 0,
    })
}

/// The name of an instance, locked against a concurrent delete (`FOR SHARE` on PostgreSQL);
/// `None` when it does not exist.
fn instance_name(
    tx: &mut dyn Tx,
    obj_id: &str,
    inst_id: i64,
    lock: bool,
) -> Result<Option<String>, StoreError> {
    let sql = format!(
        "SELECT inst_name FROM instance WHERE obj_id = ? AND inst_id = ?{}",
        if lock { share_lock(tx) } else { "" }
    );
    let rows = tx.query(&sql, &[obj_id.into(), SqlValue::Int(inst_id)])?;
    Ok(rows.into_iter().next().map(|r| {
        r.first()
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string()
    }))
}

fn exists(tx: &mut dyn Tx, sql: &str, params: &[SqlValue]) -> Result<bool, StoreError> {
    Ok(!tx.query(sql, params)?.is_empty())
}

/// The `operation_detail` of an instance-association record (60-audit-events §1): the two ends
/// with their names, `asst_id` the model association (`bk_obj_asst_id`) and `asst_kind` its
/// kind (upstream's `InstanceAssociationOpDetail`), plus `bk_obj_id` (the source model), which
/// list_operation_audit's `bk_obj_id` filter reads.
fn link_detail(rec: &Value, src_name: &str, dst_name: &str) -> Value {
    json!({
        "bk_obj_id": rec["bk_obj_id"],
        "src_obj_id": rec["bk_obj_id"],
        "src_inst_id": rec["bk_inst_id"],
        "src_inst_name": src_name,
        "dest_obj_id": rec["bk_asst_obj_id"],
        "dest_inst_id": rec["bk_asst_inst_id"],
        "dest_inst_name": dst_name,
        "asst_id": rec["bk_obj_asst_id"],
        "asst_kind": rec["bk_asst_id"],
    })
}

/// The audit record (`model_instance` / `instance_association`, named after the source
/// instance) and the `inst_asst` change event (the link row) of a created or deleted link.
fn audit_link(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    event: EventType,
    rec: &Value,
    src_name: &str,
    dst_name: &str,
) -> Result<(), StoreError> {
    let action = match event {
        EventType::Delete => "delete",
        EventType::Create | EventType::Update => "create",
    };
    let obj_id = rec["bk_obj_id"].as_str().unwrap_or_default().to_string();
    let id = rec["id"].as_i64().unwrap_or(0);
    audit::record_detail(
        tx,
        ctx,
        AuditEntry {
            audit_type: "model_instance",
            resource_type: "instance_association",
            action,
            biz_id: 0,
            resource_id: Value::from(id),
            resource_name: src_name.to_string(),
            obj_id: Some(obj_id.clone()),
            pre_data: None,
            cur_data: None,
            update_fields: None,
        },
        link_detail(rec, src_name, dst_name),
    )?;
    audit::event(tx, ctx, "inst_asst", event, &obj_id, id, rec)
}

/// Deletes one link (its wire record `rec`) with its audit record and `inst_asst` event. The
/// record names both ends, so callers deleting an end run this before the end goes; an end
/// that is already gone has an empty name.
fn remove_link(tx: &mut dyn Tx, ctx: &OpContext, rec: &Value) -> Result<(), StoreError> {
    let id = rec["id"].as_i64().unwrap_or(0);
    tx.execute(
        "DELETE FROM instance_association WHERE id = ?",
        &[SqlValue::Int(id)],
    )?;
    let name = |tx: &mut dyn Tx, o: &str, i: &str| -> Result<String, StoreError> {
        Ok(instance_name(
            tx,
            rec[o].as_str().unwrap_or_default(),
            rec[i].as_i64().unwrap_or(0),
            false,
        )?
        .unwrap_or_default())
    };
    let src_name = name(tx, "bk_obj_id", "bk_inst_id")?;
    let dst_name = name(tx, "bk_asst_obj_id", "bk_asst_inst_id")?;
    audit_link(tx, ctx, EventType::Delete, rec, &src_name, &dst_name)
}

/// Deletes the links an internal WHERE clause over `instance_association` selects (never user
/// text), in id order, each as a deletion of its own: the links that go with a deleted
/// instance (to itself, or to an instance already gone) are audited and watched like links
/// deleted through the API.
pub(crate) fn remove_links_where(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    filter: &str,
    params: &[SqlValue],
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM instance_association WHERE {filter} ORDER BY id{}",
        update_lock(tx)
    );
    for row in tx.query(&sql, params)? {
        remove_link(tx, ctx, &record(&row))?;
    }
    Ok(())
}

/// [`remove_links_where`] for every link of one instance, in either direction.
pub(crate) fn remove_links_of(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    inst_id: i64,
) -> Result<(), StoreError> {
    remove_links_where(
        tx,
        ctx,
        "(obj_id = ? AND inst_id = ?) OR (asst_obj_id = ? AND asst_inst_id = ?)",
        &[
            obj_id.into(),
            SqlValue::Int(inst_id),
            obj_id.into(),
            SqlValue::Int(inst_id),
        ],
    )
}

/// Creates one link of `asst` between `src` and `dst` after the checks of §3 in order (the
/// caller has checked that the model association exists): mapping (1101052 / 1101061), exact
/// duplicate (`dup` — 1199014 for add, 1101038 text for batches), source (1101073) and target
/// (1101074) existence. The insert claims the mapping slots under UNIQUE indexes; a racing
/// writer that claimed one first makes it fail with 1113053.
fn insert_link(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    asst: &ObjectAssociation,
    src: i64,
    dst: i64,
    dup: DomainError,
) -> Result<i64, StoreError> {
    let mapping = Mapping::parse(&asst.mapping).unwrap_or(Mapping::ManyToMany);
    let key: SqlValue = asst.bk_obj_asst_id.as_str().into();
    let src_linked = mapping.limits_source()
        && exists(
            tx,
            "SELECT 1 FROM instance_association WHERE obj_asst_id = ? AND src_slot = ?",
            &[key.clone(), SqlValue::Int(src)],
        )?;
    let dst_linked = mapping.limits_target()
        && exists(
            tx,
            "SELECT 1 FROM instance_association WHERE obj_asst_id = ? AND dst_slot = ?",
            &[key.clone(), SqlValue::Int(dst)],
        )?;
    mapping.check(src_linked, dst_linked)?;
    if exists(
        tx,
        "SELECT 1 FROM instance_association WHERE obj_asst_id = ? AND inst_id = ? AND asst_inst_id = ?",
        &[key.clone(), SqlValue::Int(src), SqlValue::Int(dst)],
    )? {
        return Err(dup.into());
    }
    let Some(src_name) = instance_name(tx, &asst.bk_obj_id, src, true)? else {
        return Err(DomainError::InstAsstSrcNotExist.into());
    };
    let Some(dst_name) = instance_name(tx, &asst.bk_asst_obj_id, dst, true)? else {
        return Err(DomainError::InstAsstDstNotExist.into());
    };
    let id = tx.next_id("inst_asst")?;
    let (src_slot, dst_slot) = mapping.slots(src, dst);
    let rec = json!({
        "id": id,
        "bk_obj_asst_id": asst.bk_obj_asst_id,
        "bk_asst_id": asst.bk_asst_id,
        "bk_obj_id": asst.bk_obj_id,
        "bk_inst_id": src,
        "bk_asst_obj_id": asst.bk_asst_obj_id,
        "bk_asst_inst_id": dst,
        "bk_supplier_account": ctx.supplier,
        "bk_biz_id": 0,
    });
    let slot = |s: Option<i64>| s.map_or(SqlValue::Null, SqlValue::Int);
    match tx.execute(
        "INSERT INTO instance_association (id, obj_asst_id, asst_id, obj_id, inst_id, asst_obj_id, \
         asst_inst_id, supplier, created_at, doc, src_slot, dst_slot) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        &[
            SqlValue::Int(id),
            key,
            asst.bk_asst_id.as_str().into(),
            asst.bk_obj_id.as_str().into(),
            SqlValue::Int(src),
            asst.bk_asst_obj_id.as_str().into(),
            SqlValue::Int(dst),
            ctx.supplier.as_str().into(),
            SqlValue::Int(ctx.now),
            SqlValue::Json(rec.clone()),
            slot(src_slot),
            slot(dst_slot),
        ],
    ) {
        Ok(_) => {}
        // Only a writer that committed after our checks ran gets here (PostgreSQL, any
        // process): the database kept the mapping.
        Err(StoreError::UniqueViolation { .. }) => {
            return Err(DomainError::InstAsstConflict.into())
        }
        Err(e) => return Err(e),
    }
    audit_link(tx, ctx, EventType::Create, &rec, &src_name, &dst_name)?;
    Ok(id)
}

/// The model association a link is made for, share-locked; unknown → 1101046; mainline →
/// 1101082 (mainline links are the topology's `bk_parent_id`, not instance associations).
fn link_target(tx: &mut dyn Tx, obj_asst_id: &str) -> Result<ObjectAssociation, StoreError> {
    let Some(asst) = obj_asst_by_key(tx, obj_asst_id, true)? else {
        return Err(DomainError::ObjAsstNotExist.into());
    };
    if asst.bk_asst_id == MAINLINE {
        return Err(DomainError::MainlineAsstForbidden.into());
    }
    Ok(asst)
}

/// `add_instance_association`: the new link's id.
pub fn add(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_asst_id: &str,
    src: i64,
    dst: i64,
) -> Result<i64, StoreError> {
    let asst = link_target(tx, obj_asst_id)?;
    insert_link(
        tx,
        ctx,
        &asst,
        src,
        dst,
        DomainError::Duplicate("association".into()),
    )
}

/// `batch_create_instance_association`: the request-level checks fail the whole call (naming
/// convention → 1199006, unknown model association → 1101046); items are then created one by
/// one ([`super::BatchOutcome`]; upstream is not atomic either). Items are `(bk_inst_id,
/// bk_asst_inst_id)`.
pub fn batch_create(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    asst_obj_id: &str,
    obj_asst_id: &str,
    items: &[(i64, i64)],
) -> Result<super::BatchOutcome, StoreError> {
    check_batch_naming(obj_asst_id, obj_id, asst_obj_id)?;
    let asst = link_target(tx, obj_asst_id)?;
    if asst.bk_obj_id != obj_id {
        return Err(DomainError::ParamsInvalid("bk_obj_id".into()).into());
    }
    if asst.bk_asst_obj_id != asst_obj_id {
        return Err(DomainError::ParamsInvalid("bk_asst_obj_id".into()).into());
    }
    super::BatchOutcome::run(tx, items, |tx, &(src, dst)| {
        let dup = DomainError::AssociationExists(src.to_string(), dst.to_string());
        insert_link(tx, ctx, &asst, src, dst, dup)
    })
}

/// Deletes the link `id` if `obj_id` is its source or target model; true when one was deleted.
fn delete_link(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    id: i64,
) -> Result<bool, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM instance_association WHERE id = ? AND (obj_id = ? OR asst_obj_id = ?){}",
        update_lock(tx)
    );
    let rows = tx.query(&sql, &[SqlValue::Int(id), obj_id.into(), obj_id.into()])?;
    let Some(row) = rows.first() else {
        return Ok(false);
    };
    remove_link(tx, ctx, &record(row))?;
    Ok(true)
}

/// `delete_instance_association`: a missing id is a success.
pub fn delete(tx: &mut dyn Tx, ctx: &OpContext, obj_id: &str, id: i64) -> Result<(), StoreError> {
    delete_link(tx, ctx, obj_id, id).map(|_| ())
}

/// `delete_related_inst_asso`: the number of links deleted (ids that are not links of
/// `obj_id` are skipped).
pub fn delete_many(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_id: &str,
    ids: &[i64],
) -> Result<u64, StoreError> {
    if ids.is_empty() {
        return Err(DomainError::InputInvalid.into());
    }
    if ids.len() > association::DELETE_RELATED_LIMIT {
        return Err(DomainError::PageLimitExceeded.into());
    }
    let mut n = 0;
    for &id in ids {
        if delete_link(tx, ctx, obj_id, id)? {
            n += 1;
        }
    }
    Ok(n)
}

/// Runs `SELECT <COLUMNS>` over the links of `obj_id`'s association collection (it is source or
/// target) that match `filter`, sorted by `sort` then `id`, paged; returns the records.
fn select_links(
    tx: &mut dyn Tx,
    obj_id: &str,
    filter: &Expr,
    sort: &[(FieldInfo, bool)],
    start: u64,
    limit: Option<u64>,
) -> Result<Vec<Value>, StoreError> {
    let mut b = collection_where(tx, obj_id, filter)?;
    b.push(" ORDER BY ");
    if !sort.is_empty() {
        crate::sql::compile::compile_order_by(sort, tx.dialect(), "doc", &mut b)?;
        b.push(", ");
    }
    b.push("id");
    b.page(start, limit);
    let rows = tx.query(&format!("SELECT {COLUMNS}{}", b.sql), &b.params)?;
    Ok(rows.iter().map(record).collect())
}

/// ` FROM instance_association WHERE (obj_id = ? OR asst_obj_id = ?) AND (<filter>)`.
fn collection_where(tx: &dyn Tx, obj_id: &str, filter: &Expr) -> Result<SqlBuilder, StoreError> {
    let mut b = SqlBuilder::new();
    b.push(" FROM instance_association WHERE (obj_id = ")
        .bind(obj_id)
        .push(" OR asst_obj_id = ")
        .bind(obj_id)
        .push(") AND (");
    crate::sql::compile::compile_where(filter, tx.dialect(), "doc", &mut b)?;
    b.push(")");
    Ok(b)
}

/// Projects records to `fields` (none or empty = all).
fn project(recs: Vec<Value>, fields: Option<&[String]>) -> Vec<Value> {
    recs.into_iter()
        .map(|r| super::instances::project(r, fields))
        .collect()
}

/// `find_instance_association`: links of `obj_id`'s collection with the given
/// `bk_obj_asst_id` (required) and optionally `bk_asst_id` / `bk_asst_obj_id`.
pub fn find(
    tx: &mut dyn Tx,
    obj_id: &str,
    cond: &Map<String, Value>,
) -> Result<Vec<Value>, StoreError> {
    let key = text(cond, "bk_obj_asst_id")?;
    if key.is_empty() {
        return Err(DomainError::NeedSet("bk_obj_asst_id".into()).into());
    }
    let mut b = SqlBuilder::new();
    b.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM instance_association WHERE obj_asst_id = ")
        .bind(key.as_str())
        .push(" AND (obj_id = ")
        .bind(obj_id)
        .push(" OR asst_obj_id = ")
        .bind(obj_id)
        .push(")");
    let asst_id = text(cond, "bk_asst_id")?;
    if !asst_id.is_empty() {
        b.push(" AND asst_id = ").bind(asst_id);
    }
    let asst_obj = text(cond, "bk_asst_obj_id")?;
    if !asst_obj.is_empty() {
        b.push(" AND asst_obj_id = ").bind(asst_obj);
    }
    b.push(" ORDER BY id");
    Ok(tx.query(&b.sql, &b.params)?.iter().map(record).collect())
}

/// A parsed `search_instance_associations` / `count_instance_associations` request.
#[derive(Debug, Clone)]
pub struct LinkQuery {
    /// The row filter (`conditions`).
    pub filter: Expr,
    /// Fields to return.
    pub fields: Option<Vec<String>>,
    /// Sort keys.
    pub sort: Vec<(FieldInfo, bool)>,
    /// Offset.
    pub start: u64,
    /// Page size.
    pub limit: Option<u64>,
}

impl LinkQuery {
    /// Parses `conditions` (QueryFilter over the association fields), `fields` and, when
    /// `paged`, the required `page` (limit 1…500, else 1199006 `'page.limit'`).
    pub fn parse(body: &Map<String, Value>, paged: bool) -> Result<LinkQuery, DomainError> {
        let catalog = instance_association_catalog();
        let null = Value::Null;
        let filter = parse_query_filter(
            body.get("conditions").unwrap_or(&null),
            &catalog,
            "conditions",
        )?;
        let fields = super::instances::string_list(body.get("fields"), "fields")?;
        let (sort, start, limit) = if paged {
            let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
            page.validate_limit(association::SEARCH_LIMIT, "page")?;
            (
                page.sort_fields(&catalog, "page")?,
                page.start,
                Some(page.limit),
            )
        } else {
            (Vec::new(), 0, None)
        };
        Ok(LinkQuery {
            filter,
            fields,
            sort,
            start,
            limit,
        })
    }
}

fn require_model(tx: &mut dyn Tx, obj_id: &str) -> Result<(), StoreError> {
    if objects::get(tx, obj_id)?.is_none() {
        return Err(DomainError::IsInvalid("bk_obj_id".into()).into());
    }
    Ok(())
}

/// `search_instance_associations`: the page of matching links of `obj_id`'s collection.
pub fn search(tx: &mut dyn Tx, obj_id: &str, q: &LinkQuery) -> Result<Vec<Value>, StoreError> {
    require_model(tx, obj_id)?;
    let recs = select_links(tx, obj_id, &q.filter, &q.sort, q.start, q.limit)?;
    Ok(project(recs, q.fields.as_deref()))
}

/// `count_instance_associations`.
pub fn count(tx: &mut dyn Tx, obj_id: &str, q: &LinkQuery) -> Result<u64, StoreError> {
    require_model(tx, obj_id)?;
    let b = collection_where(tx, obj_id, &q.filter)?;
    let rows = tx.query(&format!("SELECT COUNT(*){}", b.sql), &b.params)?;
    Ok(super::util::scalar_i64(&rows).unwrap_or(0).max(0) as u64)
}

/// `search_related_inst_asso`: every link where the instance is source or target (two index
/// lookups), sorted and paged, projected to `fields`.
pub fn related(
    tx: &mut dyn Tx,
    obj_id: &str,
    inst_id: i64,
    fields: &[String],
    page: &Page,
) -> Result<Vec<Value>, StoreError> {
    let catalog = instance_association_catalog();
    let sort = page.sort_fields(&catalog, "page")?;
    let mut b = SqlBuilder::new();
    b.push("SELECT ")
        .push(COLUMNS)
        .push(" FROM (SELECT ")
        .push(COLUMNS)
        .push(" FROM instance_association WHERE obj_id = ")
        .bind(obj_id)
        .push(" AND inst_id = ")
        .bind(SqlValue::Int(inst_id))
        .push(" UNION ALL SELECT ")
        .push(COLUMNS)
        .push(" FROM instance_association WHERE asst_obj_id = ")
        .bind(obj_id)
        .push(" AND asst_inst_id = ")
        .bind(SqlValue::Int(inst_id))
        // A self-link (same instance at both ends) is found by the first lookup already.
        .push(" AND NOT (obj_id = ")
        .bind(obj_id)
        .push(" AND inst_id = ")
        .bind(SqlValue::Int(inst_id))
        .push(")) t ORDER BY ");
    if !sort.is_empty() {
        crate::sql::compile::compile_order_by(&sort, tx.dialect(), "doc", &mut b)?;
        b.push(", ");
    }
    b.push("id");
    b.page(page.start, page.limit_opt());
    let recs: Vec<Value> = tx.query(&b.sql, &b.params)?.iter().map(record).collect();
    Ok(project(recs, Some(fields)))
}

/// A parsed `find_instassociation_with_inst` request.
#[derive(Debug, Clone)]
pub struct WithInstQuery {
    /// `condition.asst_filter`.
    pub filter: Expr,
    /// `asst_fields`.
    pub asst_fields: Option<Vec<String>>,
    /// `src_fields`.
    pub src_fields: Option<Vec<String>>,
    /// `dst_fields`.
    pub dst_fields: Option<Vec<String>>,
    /// `src_detail`.
    pub src_detail: bool,
    /// `dst_detail`.
    pub dst_detail: bool,
    /// Page.
    pub page: Page,
}

impl WithInstQuery {
    /// Parses and validates: no `condition.asst_filter` → 1199011; `page.limit` 0 → 1199010;
    /// over 200 → 1199059; a bad filter → 1199006 naming its path.
    pub fn parse(body: &Map<String, Value>) -> Result<WithInstQuery, DomainError> {
        let null = Value::Null;
        let raw = body
            .get("condition")
            .and_then(|c| c.get("asst_filter"))
            .filter(|v| !v.is_null())
            .ok_or_else(|| DomainError::IsInvalid("condition.asst_filter".into()))?;
        let page = Page::parse(body.get("page").unwrap_or(&null), "page")?;
        if page.limit == 0 {
            return Err(DomainError::NeedSet("page.limit".into()));
        }
        if page.limit > association::DETAIL_LIMIT {
            return Err(DomainError::PageLimitExceeded);
        }
        let catalog = instance_association_catalog();
        page.sort_fields(&catalog, "page")?;
        let filter = parse_query_filter(raw, &catalog, "condition.asst_filter")?;
        let flag = |k: &str| -> Result<bool, DomainError> {
            match body.get(k) {
                None | Some(Value::Null) => Ok(false),
                Some(Value::Bool(b)) => Ok(*b),
                Some(_) => Err(DomainError::ParamsInvalid(k.into())),
            }
        };
        let list = |k: &str| super::instances::string_list(body.get(k), k);
        Ok(WithInstQuery {
            filter,
            asst_fields: list("asst_fields")?,
            src_fields: list("src_fields")?,
            dst_fields: list("dst_fields")?,
            src_detail: flag("src_detail")?,
            dst_detail: flag("dst_detail")?,
            page,
        })
    }
}

/// Loads instance documents `(obj_id, inst_id)` in the order given (missing ones skipped),
/// one `IN` lookup per model.
fn load_instances(
    tx: &mut dyn Tx,
    keys: &[(String, i64)],
    fields: Option<&[String]>,
) -> Result<Vec<Value>, StoreError> {
    let mut by_model: Vec<(String, Vec<i64>)> = Vec::new();
    for (o, i) in keys {
        match by_model.iter_mut().find(|(m, _)| m == o) {
            Some((_, ids)) => {
                if !ids.contains(i) {
                    ids.push(*i)
                }
            }
            None => by_model.push((o.clone(), vec![*i])),
        }
    }
    let mut out = Vec::new();
    for (model, ids) in by_model {
        let mut b = SqlBuilder::new();
        b.push("SELECT data FROM instance WHERE obj_id = ")
            .bind(model.as_str())
            .push(" AND inst_id IN (");
        for (n, id) in ids.iter().enumerate() {
            if n > 0 {
                b.push(", ");
            }
            b.bind(SqlValue::Int(*id));
        }
        b.push(") ORDER BY inst_id");
        for row in tx.query(&b.sql, &b.params)? {
            if let Some(cell) = row.into_iter().next() {
                out.push(super::instances::project(cell.into_json()?, fields));
            }
        }
    }
    Ok(out)
}

/// `find_instassociation_with_inst`: `{"association":[…], "src":[…], "dst":[…]}` over
/// `obj_id`'s collection (src/dst only when asked for).
pub fn with_inst(tx: &mut dyn Tx, obj_id: &str, q: &WithInstQuery) -> Result<Value, StoreError> {
    let catalog = instance_association_catalog();
    let sort = q.page.sort_fields(&catalog, "page")?;
    let recs = select_links(
        tx,
        obj_id,
        &q.filter,
        &sort,
        q.page.start,
        q.page.limit_opt(),
    )?;
    let side = |recs: &[Value], o: &str, i: &str| -> Vec<(String, i64)> {
        recs.iter()
            .map(|r| {
                (
                    r[o].as_str().unwrap_or_default().to_string(),
                    r[i].as_i64().unwrap_or(0),
                )
            })
            .collect()
    };
    let mut out = Map::new();
    if q.src_detail {
        let keys = side(&recs, "bk_obj_id", "bk_inst_id");
        out.insert(
            "src".into(),
            Value::Array(load_instances(tx, &keys, q.src_fields.as_deref())?),
        );
    }
    if q.dst_detail {
        let keys = side(&recs, "bk_asst_obj_id", "bk_asst_inst_id");
        out.insert(
            "dst".into(),
            Value::Array(load_instances(tx, &keys, q.dst_fields.as_deref())?),
        );
    }
    out.insert(
        "association".into(),
        Value::Array(project(recs, q.asst_fields.as_deref())),
    );
    Ok(Value::Object(out))
}

/// `search_inst_asst_object_inst_base_info`: `{"count":n,"info":[{bk_inst_id,bk_inst_name}]}`
/// of the `asst_obj_id` instances linked with the instance (as its targets, or as its sources
/// when `is_target`), ordered by id and paged.
pub fn base_info(
    tx: &mut dyn Tx,
    obj_id: &str,
    inst_id: i64,
    asst_obj_id: &str,
    is_target: bool,
    start: u64,
    limit: u64,
) -> Result<Value, StoreError> {
    let (sql_from, other) = if is_target {
        (
            " FROM instance_association a JOIN instance i ON i.obj_id = a.obj_id AND i.inst_id = a.inst_id \
             WHERE a.asst_obj_id = ? AND a.asst_inst_id = ? AND a.obj_id = ?",
            "a.inst_id",
        )
    } else {
        (
            " FROM instance_association a JOIN instance i ON i.obj_id = a.asst_obj_id AND i.inst_id = a.asst_inst_id \
             WHERE a.obj_id = ? AND a.inst_id = ? AND a.asst_obj_id = ?",
            "a.asst_inst_id",
        )
    };
    let params = [
        SqlValue::from(obj_id),
        SqlValue::Int(inst_id),
        SqlValue::from(asst_obj_id),
    ];
    let rows = tx.query(
        &format!("SELECT COUNT(DISTINCT {other}){sql_from}"),
        &params,
    )?;
    let count = super::util::scalar_i64(&rows).unwrap_or(0);
    let mut b = SqlBuilder::new();
    b.push(&format!(
        "SELECT DISTINCT {other}, i.inst_name{sql_from} ORDER BY {other}"
    ));
    b.params.extend(params);
    b.page(start, Some(limit));
    let info: Vec<Value> = tx
        .query(&b.sql, &b.params)?
        .iter()
        .map(|r| {
            json!({
                "bk_inst_id": r.first().and_then(SqlValue::as_i64).unwrap_or(0),
                "bk_inst_name": r.get(1).and_then(|c| c.as_str()).unwrap_or_default(),
            })
        })
        .collect();
    Ok(json!({ "count": count, "info": info }))
}

/// `search_inst_association_topo`: the instances this instance links to as source, grouped by
/// target model (20-instances §11). Unknown model → 1199011 `bk_obj_id`; id 0 or a missing
/// instance → 1199011 `bk_inst_id`.
pub fn topo(tx: &mut dyn Tx, obj_id: &str, inst_id: i64) -> Result<Vec<Value>, StoreError> {
    require_model(tx, obj_id)?;
    if inst_id == 0 || instance_name(tx, obj_id, inst_id, false)?.is_none() {
        return Err(DomainError::IsInvalid("bk_inst_id".into()).into());
    }
    let rows = tx.query(
        "SELECT a.id, a.asst_obj_id, a.asst_inst_id, i.inst_name FROM instance_association a \
         JOIN instance i ON i.obj_id = a.asst_obj_id AND i.inst_id = a.asst_inst_id \
         WHERE a.obj_id = ? AND a.inst_id = ? ORDER BY a.asst_obj_id, a.asst_inst_id, a.id",
        &[obj_id.into(), SqlValue::Int(inst_id)],
    )?;
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    let mut models: Vec<(String, Value, Value)> = Vec::new();
    for r in rows {
        let asso_id = r.first().and_then(SqlValue::as_i64).unwrap_or(0);
        let model = r
            .get(1)
            .and_then(|c| c.as_str())
            .unwrap_or_default()
            .to_string();
        let id = r.get(2).and_then(SqlValue::as_i64).unwrap_or(0);
        let name = r.get(3).and_then(|c| c.as_str()).unwrap_or_default();
        if !models.iter().any(|(m, _, _)| *m == model) {
            let (n, icon) = match objects::get(tx, &model)? {
                Some(o) => (Value::from(o.bk_obj_name), Value::from(o.bk_obj_icon)),
                None => (Value::from(""), Value::from("")),
            };
            models.push((model.clone(), n, icon));
        }
        let (obj_name, icon) = models
            .iter()
            .find(|(m, _, _)| *m == model)
            .map(|(_, n, i)| (n.clone(), i.clone()))
            .unwrap_or_default();
        let child = json!({
            "id": id.to_string(),
            "bk_inst_id": id,
            "bk_inst_name": name,
            "bk_obj_id": model,
            "bk_obj_name": obj_name,
            "bk_obj_icon": icon,
            "asso_id": asso_id,
        });
        match groups.iter_mut().find(|(m, _)| *m == model) {
            Some((_, children)) => children.push(child),
            None => groups.push((model, vec![child])),
        }
    }
    Ok(groups
        .into_iter()
        .map(|(model, children)| {
            let (name, icon) = models
                .iter()
                .find(|(m, _, _)| *m == model)
                .map(|(_, n, i)| (n.clone(), i.clone()))
                .unwrap_or_default();
            json!({
                "bk_obj_id": model,
                "bk_obj_name": name,
                "bk_obj_icon": icon,
                "count": children.len(),
                "children": children,
            })
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Deletion guard (20-instances §7, 30-topology §4, 40-hosts §5.4, 50-associations §5)
// ---------------------------------------------------------------------------------------------

/// Is there a link of the instance `(?, ?)` whose other end is another, existing instance? One
/// index lookup per direction, each joined to the other end's primary key; a link of the
/// instance to itself does not count (it goes with the instance), nor does one whose other end
/// is already gone. Parameters: the instance (model, id) four times.
const LIVE_LINK_SQL: &str = "SELECT 1 FROM instance_association a JOIN instance i \
     ON i.obj_id = a.asst_obj_id AND i.inst_id = a.asst_inst_id \
     WHERE a.obj_id = ? AND a.inst_id = ? AND NOT (a.asst_obj_id = ? AND a.asst_inst_id = ?) \
     UNION ALL SELECT 1 FROM instance_association a JOIN instance i \
     ON i.obj_id = a.obj_id AND i.inst_id = a.inst_id \
     WHERE a.asst_obj_id = ? AND a.asst_inst_id = ? AND NOT (a.obj_id = ? AND a.inst_id = ?) \
     LIMIT 1";

/// Refuses with `refusal` while the instance is an end of a link to another instance that still
/// exists. Every deletion of an instance-like row (instances, sets, modules, hosts; archiving a
/// business) asks here, so all of them see links the same way; the codes differ by operation
/// (1101075 for instances, 1101036 for topology nodes and hosts). Run it in the deleting
/// transaction after locking the instance (`FOR UPDATE` on PostgreSQL): link creation
/// share-locks both ends, so no link can appear between this check and the delete.
pub(crate) fn refuse_live_links(
    tx: &mut dyn Tx,
    obj_id: &str,
    inst_id: i64,
    refusal: DomainError,
) -> Result<(), StoreError> {
    let inst = || [SqlValue::from(obj_id), SqlValue::Int(inst_id)];
    let params: Vec<SqlValue> = (0..4).flat_map(|_| inst()).collect();
    if tx.query(LIVE_LINK_SQL, &params)?.is_empty() {
        Ok(())
    } else {
        Err(refusal.into())
    }
}

/// Reads an integer id from a JSON value that may be a number or a numeric string.
pub fn id_of(v: Option<&Value>) -> Option<i64> {
    v.and_then(loose_i64)
}

/// Rows per multi-row INSERT of [`bulk_link`] (12 parameters each: well below both backends'
/// parameter limits).
const BULK_ROWS: usize = 400;

/// Bulk path of `cmdb gen-assoc` (benchmark data, not an API operation): inserts the links
/// `(source, target)` of `asst` with multi-row INSERTs, their ids drawn by one statement. The same UNIQUE slot and pair indexes
/// guard them, so a generated set can never violate the mapping; instance existence is the
/// caller's promise, and no audit records or events are written (like a data import).
pub fn bulk_link(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    obj_asst_id: &str,
    links: &[(i64, i64)],
) -> Result<u64, StoreError> {
    let asst = link_target(tx, obj_asst_id)?;
    let mapping = Mapping::parse(&asst.mapping).unwrap_or(Mapping::ManyToMany);
    let ids = tx.next_ids("inst_asst", links.len())?;
    let mut n = 0;
    for (chunk, ids) in links.chunks(BULK_ROWS).zip(ids.chunks(BULK_ROWS)) {
        let mut b = SqlBuilder::new();
        b.push(
            "INSERT INTO instance_association (id, obj_asst_id, asst_id, obj_id, inst_id, \
             asst_obj_id, asst_inst_id, supplier, created_at, doc, src_slot, dst_slot) VALUES ",
        );
        for (i, (&(src, dst), &id)) in chunk.iter().zip(ids).enumerate() {
            let (s, d) = mapping.slots(src, dst);
            let doc = json!({
                "id": id, "bk_obj_asst_id": asst.bk_obj_asst_id, "bk_asst_id": asst.bk_asst_id,
                "bk_obj_id": asst.bk_obj_id, "bk_inst_id": src, "bk_asst_obj_id": asst.bk_asst_obj_id,
                "bk_asst_inst_id": dst, "bk_supplier_account": ctx.supplier, "bk_biz_id": 0,
            });
            b.push(if i == 0 { "(" } else { ", (" })
                .bind(SqlValue::Int(id))
                .push(", ")
                .bind(asst.bk_obj_asst_id.as_str())
                .push(", ")
                .bind(asst.bk_asst_id.as_str())
                .push(", ")
                .bind(asst.bk_obj_id.as_str())
                .push(", ")
                .bind(SqlValue::Int(src))
                .push(", ")
                .bind(asst.bk_asst_obj_id.as_str())
                .push(", ")
                .bind(SqlValue::Int(dst))
                .push(", ")
                .bind(ctx.supplier.as_str())
                .push(", ")
                .bind(SqlValue::Int(ctx.now))
                .push(", ")
                .bind(SqlValue::Json(doc))
                .push(", ")
                .bind(s.map_or(SqlValue::Null, SqlValue::Int))
                .push(", ")
                .bind(d.map_or(SqlValue::Null, SqlValue::Int))
                .push(")");
        }
        n += tx.execute(&b.sql, &b.params)?;
    }
    Ok(n)
}
