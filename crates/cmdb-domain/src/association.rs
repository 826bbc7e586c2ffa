//! Pure rules of associations (50-associations.md): the mapping (cardinality) of a model
//! association and what it allows, the fields a model association may change, the naming rule
//! batch creation relies on, and the fields an instance-association filter may name.
//!
//! Why here: these rules decide error codes and must behave identically on every backend, so
//! they are written once without I/O and unit-tested; the store only supplies the facts
//! ("does the source already have a link?") and enforces the same rules with database
//! constraints for racing writers (see [`Mapping::slots`]).

use serde_json::{Map, Value};

use crate::filter::{FieldInfo, FieldType};
use crate::DomainError;

/// Most items in one `batch_create_instance_association` (`CreateManyInstAsstRequest.Validate`).
pub const BATCH_CREATE_LIMIT: usize = 200;
/// Most ids in one `delete_related_inst_asso`.
pub const DELETE_RELATED_LIMIT: usize = 500;
/// Largest `page.limit` of `search_related_inst_asso` and `search_instance_associations`.
pub const SEARCH_LIMIT: u64 = 500;
/// Largest `page.limit` of `find_instassociation_with_inst` and
/// `search_inst_asst_object_inst_base_info`.
pub const DETAIL_LIMIT: u64 = 200;

/// The cardinality of a model association.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mapping {
    /// `1:1`: a source has at most one target and a target at most one source.
    OneToOne,
    /// `1:n`: a target has at most one source; a source may have many targets.
    OneToMany,
    /// `n:n`: no limit.
    ManyToMany,
}

impl Mapping {
    /// Parses the wire value; anything else is 1199006 `'mapping'`.
    pub fn parse(s: &str) -> Result<Mapping, DomainError> {
        match s {
            "1:1" => Ok(Mapping::OneToOne),
            "1:n" => Ok(Mapping::OneToMany),
            "n:n" => Ok(Mapping::ManyToMany),
            _ => Err(DomainError::ParamsInvalid("mapping".into())),
        }
    }

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Mapping::OneToOne => "1:1",
            Mapping::OneToMany => "1:n",
            Mapping::ManyToMany => "n:n",
        }
    }

    /// The mapping check of §3 step 2, given whether the source instance already has a link of
    /// this model association and whether the target has one.
    pub fn check(self, src_linked: bool, dst_linked: bool) -> Result<(), DomainError> {
        match self {
            Mapping::OneToOne if src_linked || dst_linked => Err(DomainError::InstAsstOneToOne),
            Mapping::OneToMany if dst_linked => Err(DomainError::InstAsstOneToMany),
            _ => Ok(()),
        }
    }

    /// The "slots" a new link claims: `(source slot, target slot)`. The store keeps them in
    /// columns under UNIQUE indexes per model association, so a second link that the mapping
    /// forbids is refused by the database even when two writers race (in one process or
    /// many). A `None` slot is unconstrained (NULLs never collide).
    pub fn slots(self, src_inst: i64, dst_inst: i64) -> (Option<i64>, Option<i64>) {
        match self {
            Mapping::OneToOne => (Some(src_inst), Some(dst_inst)),
            Mapping::OneToMany => (None, Some(dst_inst)),
            Mapping::ManyToMany => (None, None),
        }
    }

    /// Whether the source side is limited (a second link of the source must be looked for).
    pub fn limits_source(self) -> bool {
        self == Mapping::OneToOne
    }

    /// Whether the target side is limited.
    pub fn limits_target(self) -> bool {
        self != Mapping::ManyToMany
    }
}

/// Checks an `on_delete` value (`none`, `delete_src`, `delete_dest`); else 1199006.
pub fn check_on_delete(s: &str) -> Result<(), DomainError> {
    match s {
        "none" | "delete_src" | "delete_dest" => Ok(()),
        _ => Err(DomainError::ParamsInvalid("on_delete".into())),
    }
}

/// Checks an association kind's `direction` (`src_to_dest`, `dest_to_src`, `none`); else
/// 1199006.
pub fn check_direction(s: &str) -> Result<(), DomainError> {
    match s {
        "src_to_dest" | "dest_to_src" | "none" => Ok(()),
        _ => Err(DomainError::ParamsInvalid("direction".into())),
    }
}

/// Fields of a model association that an update may never name (→ 1101047).
pub const IMMUTABLE_OBJ_ASST_FIELDS: &[&str] = &[
    "id",
    "bk_obj_asst_id",
    "bk_obj_id",
    "bk_asst_obj_id",
    "bk_asst_id",
    "ispre",
];

/// The changes of a model-association update: only `bk_obj_asst_name`, `on_delete` and
/// `mapping` may change; an immutable field present → 1101047; a wrong value type → 1199006.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct ObjAsstChanges {
    /// New display name.
    pub name: Option<String>,
    /// New `on_delete`.
    pub on_delete: Option<String>,
    /// New mapping.
    pub mapping: Option<Mapping>,
}

impl ObjAsstChanges {
    /// Parses the update body (other unknown keys are ignored, as upstream ignores them).
    pub fn parse(body: &Map<String, Value>) -> Result<ObjAsstChanges, DomainError> {
        if IMMUTABLE_OBJ_ASST_FIELDS
            .iter()
            .any(|k| body.get(*k).is_some_and(|v| !v.is_null()))
        {
            return Err(DomainError::ObjAsstFieldForbidden);
        }
        let text = |key: &str| -> Result<Option<String>, DomainError> {
            match body.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(DomainError::ParamsInvalid(key.into())),
            }
        };
        let on_delete = text("on_delete")?;
        if let Some(o) = &on_delete {
            check_on_delete(o)?;
        }
        let mapping = text("mapping")?.map(|m| Mapping::parse(&m)).transpose()?;
        Ok(ObjAsstChanges {
            name: text("bk_obj_asst_name")?,
            on_delete,
            mapping,
        })
    }
}

/// `CreateManyInstAsstRequest.Validate`: the batch relies on the naming convention
/// `<bk_obj_id>_<kind>_<bk_asst_obj_id>`, so `bk_obj_asst_id` must start with `bk_obj_id` and end
/// with `bk_asst_obj_id`; else 1199006 naming the field that does not fit.
pub fn check_batch_naming(
    obj_asst_id: &str,
    obj_id: &str,
    asst_obj_id: &str,
) -> Result<(), DomainError> {
    if !obj_asst_id.starts_with(obj_id) {
        return Err(DomainError::ParamsInvalid("bk_obj_id".into()));
    }
    if !obj_asst_id.ends_with(asst_obj_id) {
        return Err(DomainError::ParamsInvalid("bk_asst_obj_id".into()));
    }
    Ok(())
}

/// The conventional `bk_obj_asst_id` (`<src>_<kind>_<dst>`), used when a create names none.
pub fn conventional_id(obj_id: &str, asst_id: &str, asst_obj_id: &str) -> String {
    format!("{obj_id}_{asst_id}_{asst_obj_id}")
}

/// The fields of an instance-association record and the columns holding them: what
/// `conditions`, `asst_filter`, `fields` and `page.sort` may name. Every one is a real,
/// indexed-or-small column, so filters never parse documents.
pub fn instance_association_catalog() -> Vec<FieldInfo> {
    vec![
        FieldInfo::column("id", "id", FieldType::Int),
        FieldInfo::column("bk_inst_id", "inst_id", FieldType::Int),
        FieldInfo::column("bk_obj_id", "obj_id", FieldType::Text),
        FieldInfo::column("bk_asst_inst_id", "asst_inst_id", FieldType::Int),
        FieldInfo::column("bk_asst_obj_id", "asst_obj_id", FieldType::Text),
        FieldInfo::column("bk_obj_asst_id", "obj_asst_id", FieldType::Text),
        FieldInfo::column("bk_asst_id", "asst_id", FieldType::Text),
        FieldInfo::column("bk_supplier_account", "supplier", FieldType::Text),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mapping_checks_in_spec_order() {
        use Mapping::*;
        assert_eq!(Mapping::parse("1:1"), Ok(OneToOne));
        assert_eq!(Mapping::parse("1:n"), Ok(OneToMany));
        assert_eq!(Mapping::parse("n:n"), Ok(ManyToMany));
        assert_eq!(
            Mapping::parse("n:1"),
            Err(DomainError::ParamsInvalid("mapping".into()))
        );
        assert_eq!(OneToOne.check(false, false), Ok(()));
        assert_eq!(
            OneToOne.check(true, false),
            Err(DomainError::InstAsstOneToOne)
        );
        assert_eq!(
            OneToOne.check(false, true),
            Err(DomainError::InstAsstOneToOne)
        );
        assert_eq!(OneToMany.check(true, false), Ok(()));
        assert_eq!(
            OneToMany.check(false, true),
            Err(DomainError::InstAsstOneToMany)
        );
        assert_eq!(ManyToMany.check(true, true), Ok(()));
        for m in [OneToOne, OneToMany, ManyToMany] {
            assert_eq!(Mapping::parse(m.as_str()), Ok(m));
        }
    }

    #[test]
    fn slots_match_the_checks() {
        use Mapping::*;
        assert_eq!(OneToOne.slots(1, 2), (Some(1), Some(2)));
        assert_eq!(OneToMany.slots(1, 2), (None, Some(2)));
        assert_eq!(ManyToMany.slots(1, 2), (None, None));
        for m in [OneToOne, OneToMany, ManyToMany] {
            let (s, d) = m.slots(1, 2);
            assert_eq!(s.is_some(), m.limits_source());
            assert_eq!(d.is_some(), m.limits_target());
        }
    }

    #[test]
    fn update_fields() {
        let body = |v: Value| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            ObjAsstChanges::parse(&body(
                json!({"bk_obj_asst_name": "x", "on_delete": "delete_src", "mapping": "1:n"})
            )),
            Ok(ObjAsstChanges {
                name: Some("x".into()),
                on_delete: Some("delete_src".into()),
                mapping: Some(Mapping::OneToMany),
            })
        );
        for k in IMMUTABLE_OBJ_ASST_FIELDS {
            let mut b = Map::new();
            b.insert((*k).to_string(), json!("x"));
            assert_eq!(
                ObjAsstChanges::parse(&b),
                Err(DomainError::ObjAsstFieldForbidden)
            );
        }
        assert_eq!(
            ObjAsstChanges::parse(&body(json!({"on_delete": "cascade"}))),
            Err(DomainError::ParamsInvalid("on_delete".into()))
        );
        assert_eq!(
            ObjAsstChanges::parse(&body(json!({"mapping": "2:2"}))),
            Err(DomainError::ParamsInvalid("mapping".into()))
        );
    }

    #[test]
    fn batch_naming() {
        assert_eq!(check_batch_naming("a_run_b", "a", "b"), Ok(()));
        assert_eq!(
            check_batch_naming("a_run_b", "c", "b"),
            Err(DomainError::ParamsInvalid("bk_obj_id".into()))
        );
        assert_eq!(
            check_batch_naming("a_run_b", "a", "c"),
            Err(DomainError::ParamsInvalid("bk_asst_obj_id".into()))
        );
    }

    #[test]
    fn enums() {
        assert!(check_direction("none").is_ok());
        assert!(check_direction("both").is_err());
        assert!(check_on_delete("delete_dest").is_ok());
        assert!(check_on_delete("x").is_err());
        assert_eq!(conventional_id("a", "run", "b"), "a_run_b");
    }
}
