//! A model's schema as the instance operations need it: the model, its attributes with parsed
//! options, its unique rules and its place in the mainline chain.
//!
//! Why a cache: decoding a model's metadata documents and compiling its attribute options cost
//! more than the instance write itself. Every metadata write replaces the `meta_version` token in
//! the `setting` table (in its own transaction); a schema is reused only when it was loaded under
//! the token the current transaction sees, so a cached schema is always the one the transaction
//! would have loaded -- also with several processes on one database. Tokens are unique (never a
//! counter), so a token of a rolled-back transaction can never match later committed metadata.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

use cmdb_domain::attribute::{CompiledAttribute, PropertyType};
use cmdb_domain::filter::{FieldCatalog, FieldInfo, FieldType};
use cmdb_domain::model::{Object, UniqueRule};

use super::{attributes, objects, uniques};
use crate::{SqlValue, StoreError, Tx};

/// A cached schema and the metadata token it was loaded under.
type Entry = (String, Arc<ModelSchema>);

/// Schemas by (model, business) with the metadata token they were loaded under.
#[derive(Default)]
pub struct SchemaCache {
    entries: Mutex<HashMap<(String, i64), Entry>>,
}

impl SchemaCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }
}

fn meta_token(tx: &mut dyn Tx) -> Result<String, StoreError> {
    let rows = tx.query("SELECT value FROM setting WHERE key = 'meta_version'", &[])?;
    Ok(rows
        .into_iter()
        .next()
        .and_then(|r| r.into_iter().next())
        .and_then(|c| c.as_str().map(str::to_string))
        .unwrap_or_default())
}

/// Marks the metadata as changed: every cached schema stops matching. Called by every
/// operation that changes models, attributes, unique rules or model associations.
pub(crate) fn bump(tx: &mut dyn Tx) -> Result<(), StoreError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let token = format!(
        "{nanos:x}-{:x}-{:x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    tx.execute(
        "INSERT INTO setting (key, value) VALUES ('meta_version', ?) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[SqlValue::Text(token)],
    )?;
    Ok(())
}

/// Everything instance validation and search need to know about one model.
#[derive(Debug, Clone)]
pub struct ModelSchema {
    /// The model record.
    pub object: Object,
    /// Its attributes (global plus those of the requested business).
    pub attrs: Vec<CompiledAttribute>,
    /// Its unique rules.
    pub uniques: Vec<UniqueRule>,
    /// Parent model when this model is a mainline level (`set` → `biz` ...).
    pub mainline_parent: Option<String>,
    by_prop: HashMap<String, usize>,
}

impl ModelSchema {
    /// [`ModelSchema::load`] of a built-in model (biz, set, module, host, plat): seeded with the
    /// database and never deletable, so its absence means a broken database, not a bad request.
    pub fn load_builtin(
        tx: &mut dyn Tx,
        obj_id: &str,
        biz_id: i64,
    ) -> Result<Arc<Self>, StoreError> {
        Self::load(tx, obj_id, biz_id)?
            .ok_or_else(|| StoreError::Corrupt(format!("the built-in model {obj_id} is missing")))
    }

    /// The schema of `obj_id` with the private attributes of business `biz_id` (0 = global
    /// only), from the cache when it is current; `None` when the model does not exist.
    pub fn load(
        tx: &mut dyn Tx,
        obj_id: &str,
        biz_id: i64,
    ) -> Result<Option<Arc<Self>>, StoreError> {
        if tx.schema_cache().is_none() {
            return Ok(Self::load_uncached(tx, obj_id, biz_id)?.map(Arc::new));
        }
        let token = meta_token(tx)?;
        let key = (obj_id.to_string(), biz_id);
        if let Some(cache) = tx.schema_cache() {
            if let Some((t, schema)) = cache.entries.lock().get(&key) {
                if *t == token {
                    return Ok(Some(schema.clone()));
                }
            }
        }
        let Some(schema) = Self::load_uncached(tx, obj_id, biz_id)? else {
            return Ok(None);
        };
        let schema = Arc::new(schema);
        if let Some(cache) = tx.schema_cache() {
            let mut entries = cache.entries.lock();
            if entries.len() > 10_000 {
                entries.clear();
            }
            entries.insert(key, (token, schema.clone()));
        }
        Ok(Some(schema))
    }

    /// Loads the schema from the tables.
    fn load_uncached(
        tx: &mut dyn Tx,
        obj_id: &str,
        biz_id: i64,
    ) -> Result<Option<Self>, StoreError> {
        let Some(object) = objects::get(tx, obj_id)? else {
            return Ok(None);
        };
        let attrs: Vec<CompiledAttribute> = attributes::of_model(tx, obj_id, biz_id)?
            .into_iter()
            .map(CompiledAttribute::new)
            .collect();
        let uniques = uniques::of_model(tx, obj_id)?;
        let mainline_parent = objects::mainline_parent(tx, obj_id)?;
        let by_prop = attrs
            .iter()
            .enumerate()
            .map(|(i, a)| (a.attr.bk_property_id.clone(), i))
            .collect();
        Ok(Some(Self {
            object,
            attrs,
            uniques,
            mainline_parent,
            by_prop,
        }))
    }

    /// The attribute with this `bk_property_id`.
    pub fn attr(&self, prop: &str) -> Option<&CompiledAttribute> {
        self.by_prop.get(prop).and_then(|i| self.attrs.get(*i))
    }

    /// Attributes by numeric id, as unique rules refer to them.
    pub fn attrs_by_id(&self) -> HashMap<i64, &CompiledAttribute> {
        self.attrs.iter().map(|a| (a.attr.id, a)).collect()
    }

    /// True for custom mainline levels (and the built-in mainline models).
    pub fn is_mainline(&self) -> bool {
        self.mainline_parent.is_some()
    }
}

/// Storage type of a property type, for filter compilation.
pub fn field_type(ptype: Option<PropertyType>) -> FieldType {
    match ptype {
        Some(PropertyType::Int) => FieldType::Int,
        Some(PropertyType::Float) => FieldType::Float,
        Some(PropertyType::Bool) => FieldType::Bool,
        Some(PropertyType::Time) => FieldType::Time,
        Some(
            PropertyType::Enummulti
            | PropertyType::Enumquote
            | PropertyType::Organization
            | PropertyType::Innertable
            | PropertyType::Table,
        ) => FieldType::Array,
        Some(
            PropertyType::Singlechar
            | PropertyType::Longchar
            | PropertyType::Enum
            | PropertyType::Date
            | PropertyType::Timezone
            | PropertyType::List
            | PropertyType::Objuser
            | PropertyType::IdRule,
        ) => FieldType::Text,
        None => FieldType::Json,
    }
}

/// System fields every instance document has, with their storage.
const SYSTEM_FIELDS: &[(&str, FieldType, Option<&str>)] = &[
    ("bk_inst_id", FieldType::Int, Some("inst_id")),
    ("bk_inst_name", FieldType::Text, Some("inst_name")),
    ("bk_obj_id", FieldType::Text, None),
    ("bk_supplier_account", FieldType::Text, None),
    ("create_time", FieldType::Time, Some("created_at")),
    ("last_time", FieldType::Time, Some("updated_at")),
    ("bk_created_at", FieldType::Time, Some("created_at")),
    ("bk_updated_at", FieldType::Time, Some("updated_at")),
    ("bk_created_by", FieldType::Text, None),
    ("bk_updated_by", FieldType::Text, None),
    ("bk_biz_id", FieldType::Int, None),
    ("bk_parent_id", FieldType::Int, None),
];

impl FieldCatalog for ModelSchema {
    fn lookup(&self, field: &str) -> Option<FieldInfo> {
        if let Some((name, ty, column)) = SYSTEM_FIELDS.iter().find(|(n, _, _)| *n == field) {
            return Some(FieldInfo {
                name: (*name).to_string(),
                ty: *ty,
                column: *column,
                array_elements: false,
            });
        }
        let attr = self.attr(field)?;
        Some(FieldInfo {
            name: attr.attr.bk_property_id.clone(),
            ty: field_type(attr.ptype),
            column: None,
            array_elements: false,
        })
    }
}
