//! The mainline chain (30-topology §1): reading it, inserting and removing custom levels
//! (§1.1, §1.2), and the subtree a custom-level instance owns (20-instances §7 step 3).
//!
//! The chain is not stored as a list: it is the path of `bk_mainline` model associations
//! (child `obj_id` → parent `asst_obj_id`) from `biz` down to `host`. Inserting a level is one
//! transaction that creates the model, re-points the associations, creates one instance under
//! every parent instance and re-parents the children (their `parent_id` column, document and
//! unique-key rows), so readers never see a half-built level. Children are found through the
//! `(obj_id, parent_id)` index, one query per parent instance; every level-wise walk below is
//! bounded by the chain length (at most [`MAX_TOPO_LEVELS`]), never by the tree's size.

use std::collections::HashMap;

use cmdb_domain::model::{Object, ObjectAssociation};
use cmdb_domain::DomainError;
use serde_json::{Map, Value};

use super::audit::{self, EventType};
use super::instances::{create_with_schema, insert_unique_keys};
use super::objects::{self, BUILTIN_OBJECT_IDS};
use super::schema_cache::{self, ModelSchema};
use super::sets_modules::{insert_name_key, Level};
use super::util::{encode, for_update, load_docs, loose_i64};
use super::OpContext;
use crate::{SqlValue, StoreError, Tx};

/// Most levels the chain may have, counting `biz`, `set`, `module` and `host`
/// (`BKTopoBusinessLevelDefault`): three custom levels at most.
pub const MAX_TOPO_LEVELS: usize = 7;

/// Characters `bk_obj_name` loses when it becomes the name of the level's first instances:
/// upstream strips `# / , > < |`; we also strip the rest of what a mainline instance name may
/// not contain (whitespace, `\ : * " ?`), so a model name such as "Data Center" still gives
/// valid instances ("DataCenter") instead of failing the whole level insert.
const NAME_STRIPPED: &[char] = &['#', '/', ',', '>', '<', '|', '\\', ':', '*', '"', '?'];

/// Ids per `IN (...)` list: far below both backends' bound-parameter limits.
const IN_CHUNK: usize = 500;

/// The mainline chain from `biz` down (`["biz", custom levels…, "set", "module", "host"]`),
/// read from the `bk_mainline` associations; a broken chain ends where the links stop.
pub fn chain(tx: &mut dyn Tx) -> Result<Vec<String>, StoreError> {
    let rows = tx.query(
        "SELECT obj_id, asst_obj_id FROM object_association WHERE asst_id = 'bk_mainline'",
        &[],
    )?;
    let mut child_of: HashMap<String, String> = HashMap::new();
    for row in rows {
        if let (Some(child), Some(parent)) = (
            row.first().and_then(SqlValue::as_str),
            row.get(1).and_then(SqlValue::as_str),
        ) {
            child_of.insert(parent.to_string(), child.to_string());
        }
    }
    let mut out = vec!["biz".to_string()];
    while let Some(next) = out.last().and_then(|last| child_of.get(last)) {
        if out.contains(next) || out.len() > child_of.len() {
            break;
        }
        out.push(next.clone());
    }
    Ok(out)
}

/// True for models inserted into the chain by users (not `biz`/`set`/`module`/`host`).
pub fn is_custom_level(chain: &[String], obj_id: &str) -> bool {
    !BUILTIN_OBJECT_IDS.contains(&obj_id) && chain.iter().any(|o| o == obj_id)
}

fn required(body: &Map<String, Value>, field: &str) -> Result<String, DomainError> {
    match body.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        None | Some(Value::Null) | Some(Value::String(_)) => {
            Err(DomainError::NeedSet(field.into()))
        }
        Some(_) => Err(DomainError::IsInvalid(field.into())),
    }
}

/// The mainline association record of `child` (locked by the caller's metadata bump).
fn association_of(tx: &mut dyn Tx, child: &str) -> Result<Option<ObjectAssociation>, StoreError> {
    let mut found: Vec<ObjectAssociation> = load_docs(
        tx,
        "SELECT doc FROM object_association WHERE obj_id = ? AND asst_id = 'bk_mainline'",
        &[child.into()],
    )?;
    Ok(found.pop())
}

/// Points `child`'s mainline association at `parent`.
fn repoint(tx: &mut dyn Tx, child: &str, parent: &str) -> Result<(), StoreError> {
    let Some(mut assoc) = association_of(tx, child)? else {
        return Err(StoreError::Corrupt(format!(
            "mainline model {child} has no mainline association"
        )));
    };
    assoc.bk_asst_obj_id = parent.to_string();
    assoc.bk_obj_asst_id = format!("{child}_bk_mainline_{parent}");
    tx.execute(
        "UPDATE object_association SET obj_asst_id = ?, asst_obj_id = ?, doc = ? WHERE id = ?",
        &[
            assoc.bk_obj_asst_id.as_str().into(),
            parent.into(),
            encode(&assoc)?,
            SqlValue::Int(assoc.id),
        ],
    )?;
    Ok(())
}

/// One instance row of a mainline level.
struct Node {
    inst_id: i64,
    biz_id: i64,
    parent_id: i64,
    doc: Map<String, Value>,
}

fn nodes(tx: &mut dyn Tx, sql: &str, params: &[SqlValue]) -> Result<Vec<Node>, StoreError> {
    let rows = tx.query(sql, params)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = row.into_iter();
        let (Some(id), Some(biz), Some(parent), Some(data)) =
            (cells.next(), cells.next(), cells.next(), cells.next())
        else {
            continue;
        };
        let Value::Object(doc) = data.into_json()? else {
            return Err(StoreError::Corrupt(
                "instance document is not an object".into(),
            ));
        };
        out.push(Node {
            inst_id: id.as_i64().unwrap_or(0),
            biz_id: biz.as_i64().unwrap_or(0),
            parent_id: parent.as_i64().unwrap_or(0),
            doc,
        });
    }
    Ok(out)
}

/// Every instance of a level, locked for change.
fn level_nodes(tx: &mut dyn Tx, obj_id: &str) -> Result<Vec<Node>, StoreError> {
    let lock = for_update(tx);
    nodes(
        tx,
        &format!(
            "SELECT inst_id, biz_id, parent_id, data FROM instance WHERE obj_id = ? \
             ORDER BY inst_id{lock}"
        ),
        &[obj_id.into()],
    )
}

/// The children of one instance (of business `biz_id`) on the level below, locked for change;
/// idle-pool sets are never children of a custom level (see [`descendants`]).
fn children(
    tx: &mut dyn Tx,
    child_obj: &str,
    biz_id: i64,
    parent_id: i64,
) -> Result<Vec<Node>, StoreError> {
    let lock = for_update(tx);
    let found = nodes(
        tx,
        &format!(
            "SELECT inst_id, biz_id, parent_id, data FROM instance \
             WHERE obj_id = ? AND biz_id = ? AND parent_id = ? ORDER BY inst_id{lock}"
        ),
        &[
            child_obj.into(),
            SqlValue::Int(biz_id),
            SqlValue::Int(parent_id),
        ],
    )?;
    Ok(found
        .into_iter()
        .filter(|n| !is_idle_set(child_obj, n))
        .collect())
}

/// Moves one child under `new_parent`: its `parent_id` column, `bk_parent_id`, `last_time`,
/// the unique-key rows that contain the parent, and a change event (no audit record: the
/// level operation is the audited change, as upstream).
fn reparent(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    schema: &ModelSchema,
    mut node: Node,
    new_parent: i64,
) -> Result<(), StoreError> {
    let obj_id = schema.object.bk_obj_id.as_str();
    node.doc
        .insert("bk_parent_id".into(), Value::from(new_parent));
    node.doc.insert(
        "last_time".into(),
        Value::String(cmdb_domain::time::format_millis(ctx.now)),
    );
    tx.execute_deferred(
        "UPDATE instance SET parent_id = ?, updated_at = ?, data = ? WHERE obj_id = ? AND inst_id = ?",
        &[
            SqlValue::Int(new_parent),
            SqlValue::Int(ctx.now),
            SqlValue::Json(Value::Object(node.doc.clone())),
            obj_id.into(),
            SqlValue::Int(node.inst_id),
        ],
        None,
    )?;
    tx.execute_deferred(
        "DELETE FROM instance_unique WHERE obj_id = ? AND inst_id = ?",
        &[obj_id.into(), SqlValue::Int(node.inst_id)],
        None,
    )?;
    insert_unique_keys(tx, schema, node.inst_id, &node.doc)?;
    if obj_id == "set" {
        insert_name_key(tx, Level::Set, node.inst_id, &node.doc)?;
    }
    let resource = if BUILTIN_OBJECT_IDS.contains(&obj_id) {
        obj_id
    } else {
        "mainline_instance"
    };
    audit::event(
        tx,
        ctx,
        resource,
        EventType::Update,
        obj_id,
        node.inst_id,
        &Value::Object(node.doc),
    )
}

fn is_idle_set(obj_id: &str, node: &Node) -> bool {
    obj_id == "set" && node.doc.get("default").and_then(loose_i64).unwrap_or(0) != 0
}

/// `POST /api/v3/create/topomodelmainline` (§1.1): inserts a custom level below
/// `bk_asst_obj_id` (the business or another custom level). Returns the created model.
pub fn create_level(
    tx: &mut dyn Tx,
    ctx: &OpContext,
    body: &Map<String, Value>,
) -> Result<Object, StoreError> {
    let parent = required(body, "bk_asst_obj_id")?;
    required(body, "bk_classification_id")?;
    // Serialises level changes with every metadata write (and, on PostgreSQL, with each other).
    schema_cache::bump(tx)?;
    let chain = chain(tx)?;
    let Some(pos) = chain.iter().position(|o| *o == parent) else {
        return Err(DomainError::IsInvalid(parent).into());
    };
    // Levels go between the business and sets: below `set`, `module` or `host` is refused.
    let child = match chain.get(pos + 1) {
        Some(c) if !matches!(parent.as_str(), "set" | "module" | "host") => c.clone(),
        _ => return Err(DomainError::IsInvalid(parent).into()),
    };
    if chain.len() >= MAX_TOPO_LEVELS {
        return Err(DomainError::TopoLevelExceeded.into());
    }
    // Lock the parent instances first: writers below them (create_set, ...) lock the same row
    // before they insert, so waiting here never holds anything they need.
    let parents = level_nodes(tx, &parent)?;
    let mut model_body = body.clone();
    if !matches!(model_body.get("bk_obj_icon"), Some(Value::String(s)) if !s.is_empty()) {
        model_body.insert("bk_obj_icon".into(), Value::from("icon-cc-default"));
    }
    let object = objects::validate_new(tx, ctx, &model_body)?;
    let now = object.create_time.clone();
    let mut parent_attr = objects::preset_attribute(
        &object.bk_obj_id,
        "bk_parent_id",
        "上级实例",
        "int",
        &object.bk_supplier_account,
        &now,
    );
    parent_attr.bk_issystem = true;
    parent_attr.editable = false;
    let object = objects::insert_model(
        tx,
        object,
        vec![parent_attr],
        &["bk_inst_name", "bk_parent_id"],
        true,
    )?;
    audit::record(tx, ctx, objects::entry("create", &object, None, None))?;
    let new_obj = object.bk_obj_id.clone();
    objects::insert_association(
        tx,
        ObjectAssociation {
            id: 0,
            bk_obj_asst_id: format!("{new_obj}_bk_mainline_{parent}"),
            bk_obj_asst_name: String::new(),
            bk_obj_id: new_obj.clone(),
            bk_asst_obj_id: parent.clone(),
            bk_asst_id: "bk_mainline".into(),
            mapping: "1:n".into(),
            on_delete: "none".into(),
            ispre: false,
            bk_supplier_account: object.bk_supplier_account.clone(),
        },
    )?;
    repoint(tx, &child, &new_obj)?;

    let Some(schema) = ModelSchema::load(tx, &new_obj, 0)? else {
        return Err(StoreError::Corrupt(format!("model {new_obj} vanished")));
    };
    let Some(child_schema) = ModelSchema::load(tx, &child, 0)? else {
        return Err(StoreError::Corrupt(format!("model {child} vanished")));
    };
    let mut name: String = object
        .bk_obj_name
        .chars()
        .filter(|c| !NAME_STRIPPED.contains(c) && !c.is_whitespace())
        .collect();
    if name.is_empty() {
        name.clone_from(&object.bk_obj_id);
    }
    for parent_node in parents {
        let biz_id = if parent == "biz" {
            parent_node.inst_id
        } else {
            parent_node.biz_id
        };
        let mut inst = Map::new();
        inst.insert("bk_inst_name".into(), Value::from(name.clone()));
        inst.insert("bk_biz_id".into(), Value::from(biz_id));
        inst.insert("bk_parent_id".into(), Value::from(parent_node.inst_id));
        let created = create_with_schema(tx, ctx, &schema, &inst)?;
        let new_id = created
            .get("bk_inst_id")
            .and_then(Value::as_i64)
            .ok_or_else(|| StoreError::Corrupt("created level instance has no id".into()))?;
        // The idle-pool set stays directly below its business (`children` skips it).
        for node in children(tx, &child, biz_id, parent_node.inst_id)? {
            reparent(tx, ctx, &child_schema, node, new_id)?;
        }
    }
    Ok(object)
}

/// `DELETE /api/v3/delete/topomodelmainline/object/{bk_obj_id}` (§1.2): children of each of the
/// level's instances move to that instance's parent, the instances go, the chain closes over
/// the gap and the model is deleted. A name the new parent already has below it is 1101149.
pub fn delete_level(tx: &mut dyn Tx, ctx: &OpContext, obj_id: &str) -> Result<(), StoreError> {
    if BUILTIN_OBJECT_IDS.contains(&obj_id) {
        return Err(DomainError::InnerModelForbidden.into());
    }
    schema_cache::bump(tx)?;
    let chain = chain(tx)?;
    let Some(pos) = chain.iter().position(|o| o == obj_id) else {
        return Err(DomainError::IsInvalid(obj_id.to_string()).into());
    };
    let (Some(parent), Some(child)) = (
        pos.checked_sub(1).and_then(|p| chain.get(p)).cloned(),
        chain.get(pos + 1).cloned(),
    ) else {
        return Err(DomainError::IsInvalid(obj_id.to_string()).into());
    };
    let Some(object) = objects::get(tx, obj_id)? else {
        return Err(DomainError::IsInvalid(obj_id.to_string()).into());
    };
    let Some(child_schema) = ModelSchema::load(tx, &child, 0)? else {
        return Err(StoreError::Corrupt(format!("model {child} vanished")));
    };
    let level = level_nodes(tx, obj_id)?;
    let moved = (|| {
        for node in &level {
            for kid in children(tx, &child, node.biz_id, node.inst_id)? {
                reparent(tx, ctx, &child_schema, kid, node.parent_id)?;
            }
        }
        tx.flush()
    })();
    match moved {
        Err(StoreError::Domain(DomainError::Duplicate(_) | DomainError::DuplicateSetName)) => {
            return Err(DomainError::MainlineNameClash.into())
        }
        other => other?,
    }
    // Their children are gone: plain row deletes (no subtree walk, whose parent ids would now
    // name the grandparents).
    for node in level {
        super::instances::delete_row(tx, ctx, obj_id, node.inst_id, node.doc, true)?;
    }
    tx.execute(
        "DELETE FROM object_association WHERE obj_id = ? AND asst_id = 'bk_mainline'",
        &[obj_id.into()],
    )?;
    repoint(tx, &child, &parent)?;
    objects::delete(tx, ctx, object.id)
}

/// The rows of one level of a subtree: the level's model and its `(inst_id, document)` rows.
pub(crate) type LevelRows = (String, Vec<(i64, Map<String, Value>)>);

/// The rows below custom-level instance `inst_id` of `obj_id` in business `biz_id`, level by
/// level downwards (lower custom levels, sets, modules), each as `(inst_id, document)`.
///
/// Ids of different models may coincide (each built-in level has its own sequence, as
/// upstream), so `parent_id` alone does not name a parent: the walk stays inside the business
/// and skips idle-pool sets, whose parent is always the business itself.
pub(crate) fn descendants(
    tx: &mut dyn Tx,
    obj_id: &str,
    biz_id: i64,
    inst_id: i64,
) -> Result<Vec<LevelRows>, StoreError> {
    let chain = chain(tx)?;
    let Some(pos) = chain.iter().position(|o| o == obj_id) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut current: Vec<i64> = vec![inst_id];
    for level in chain.iter().skip(pos + 1) {
        if level == "host" || current.is_empty() {
            break;
        }
        let lock = for_update(tx);
        let mut found = Vec::new();
        for chunk in current.chunks(IN_CHUNK) {
            let marks = vec!["?"; chunk.len()].join(", ");
            let mut params: Vec<SqlValue> = vec![level.as_str().into(), SqlValue::Int(biz_id)];
            params.extend(chunk.iter().map(|id| SqlValue::Int(*id)));
            for node in nodes(
                tx,
                &format!(
                    "SELECT inst_id, biz_id, parent_id, data FROM instance \
                     WHERE obj_id = ? AND biz_id = ? AND parent_id IN ({marks}) ORDER BY inst_id{lock}"
                ),
                &params,
            )? {
                if !is_idle_set(level, &node) {
                    found.push((node.inst_id, node.doc));
                }
            }
        }
        current = found.iter().map(|(id, _)| *id).collect();
        out.push((level.clone(), found));
    }
    Ok(out)
}
