//! Pagination (00-protocol.md §7): the `page` object, its three upstream limit regimes, and the
//! `sort` string. Each endpoint picks its regime explicitly, because reproducing exactly which
//! limits upstream enforces where is part of the wire contract.

use serde_json::Value;

use super::ast::FieldInfo;
use super::common::{as_count, join};
use super::FieldCatalog;
use crate::error::DomainError;

/// `BKMaxPageSize`: the largest ordinary page.
pub const MAX_PAGE_SIZE: u64 = 1000;
/// `BKNoLimit`: the magic "everything" limit some endpoints accept.
pub const NO_LIMIT: u64 = 999_999_999;
/// `BKMaxLimitSize` / `BKMaxInstanceLimit`: the cap of the newer list APIs.
pub const MAX_INSTANCE_LIMIT: u64 = 500;

/// A parsed `page` object. Missing keys take their zero value, like Go's decoder.
///
/// Typical use:
/// ```
/// # use cmdb_domain::filter::page::{Page, MAX_INSTANCE_LIMIT};
/// # use serde_json::json;
/// let page = Page::parse(&json!({"start": 0, "limit": 10, "sort": "-bk_inst_id"}), "page")?;
/// page.validate_limit(MAX_INSTANCE_LIMIT, "page")?; // search_object_instances
/// assert_eq!(page.limit_opt(), Some(10));
/// # Ok::<(), cmdb_domain::DomainError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    /// Offset (`start`).
    pub start: u64,
    /// Page size; 0 means "no limit" in the legacy APIs (see [`Page::limit_opt`]).
    pub limit: u64,
    /// Raw sort string; parse with [`Page::sort_fields`] / [`parse_sort`].
    pub sort: String,
    /// Count only (newer list APIs).
    pub enable_count: bool,
}

impl Page {
    /// Reads a `page` value (`null` = all defaults). A non-object, or a key of the wrong JSON type,
    /// is 1199000 (Go's decoder fails); a negative or fractional `start` / `limit` is 1199006
    /// naming it (`page.limit`). Integral floats (`10.0`) are accepted.
    pub fn parse(value: &Value, path: &str) -> Result<Page, DomainError> {
        let obj = match value {
            Value::Null => return Ok(Page::default()),
            Value::Object(obj) => obj,
            _ => return Err(DomainError::JsonUnmarshal),
        };
        let int = |key: &str| -> Result<u64, DomainError> {
            match obj.get(key) {
                None | Some(Value::Null) => Ok(0),
                Some(v @ Value::Number(_)) => {
                    as_count(v).ok_or_else(|| DomainError::ParamsInvalid(join(path, key)))
                }
                Some(_) => Err(DomainError::JsonUnmarshal),
            }
        };
        let start = int("start")?;
        let limit = int("limit")?;
        let sort = match obj.get("sort") {
            None | Some(Value::Null) => String::new(),
            Some(Value::String(s)) => s.clone(),
            Some(_) => return Err(DomainError::JsonUnmarshal),
        };
        let enable_count = match obj.get("enable_count") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(DomainError::JsonUnmarshal),
        };
        Ok(Page {
            start,
            limit,
            sort,
            enable_count,
        })
    }

    /// `BasePage.Validate(allowNoLimit)`: `limit` ≤ [`MAX_PAGE_SIZE`], or exactly [`NO_LIMIT`]
    /// when `allow_no_limit`; 0 is allowed (legacy "no limit"). Else 1199006 `<path>.limit`.
    pub fn validate_max(&self, allow_no_limit: bool, path: &str) -> Result<(), DomainError> {
        if self.limit > MAX_PAGE_SIZE && !(allow_no_limit && self.limit == NO_LIMIT) {
            return Err(DomainError::ParamsInvalid(join(path, "limit")));
        }
        Ok(())
    }

    /// `BasePage.IsIllegal`: `limit` must be 1…[`MAX_PAGE_SIZE`] or exactly [`NO_LIMIT`]. Else
    /// 1199006 `<path>.limit`. (The host lists of 40-hosts.md §6, which also refuse
    /// [`NO_LIMIT`], use `validate_limit(MAX_PAGE_SIZE, ..)` instead.)
    pub fn validate_legal(&self, path: &str) -> Result<(), DomainError> {
        if self.limit == 0 || (self.limit > MAX_PAGE_SIZE && self.limit != NO_LIMIT) {
            return Err(DomainError::ParamsInvalid(join(path, "limit")));
        }
        Ok(())
    }

    /// `BasePage.ValidateLimit(max)` (newer list APIs, `max` usually [`MAX_INSTANCE_LIMIT`]):
    /// `limit` must be 1…`max`. Else 1199006 `<path>.limit`.
    pub fn validate_limit(&self, max: u64, path: &str) -> Result<(), DomainError> {
        if self.limit == 0 || self.limit > max {
            return Err(DomainError::ParamsInvalid(join(path, "limit")));
        }
        Ok(())
    }

    /// The `enable_count` rule of the newer list APIs: when counting, `start`, `limit` and `sort`
    /// must be zero/empty (else 1199006 `<path>`); when not counting, `limit` must be 1…`max`
    /// (else 1199006 `<path>.limit`).
    pub fn validate_with_count(&self, max: u64, path: &str) -> Result<(), DomainError> {
        if self.enable_count {
            if self.start != 0 || self.limit != 0 || !self.sort.is_empty() {
                return Err(DomainError::ParamsInvalid(path.to_string()));
            }
            Ok(())
        } else {
            self.validate_limit(max, path)
        }
    }

    /// The effective row limit: `None` for "no limit" (0 or [`NO_LIMIT`]).
    pub fn limit_opt(&self) -> Option<u64> {
        if self.limit == 0 || self.limit == NO_LIMIT {
            None
        } else {
            Some(self.limit)
        }
    }

    /// Parses [`Page::sort`] (see [`parse_sort_at`]); errors name `<path>.sort`.
    pub fn sort_fields(
        &self,
        catalog: &dyn FieldCatalog,
        path: &str,
    ) -> Result<Vec<(FieldInfo, bool)>, DomainError> {
        parse_sort_at(&self.sort, catalog, &join(path, "sort"))
    }
}

/// [`parse_sort_at`] with errors naming `page.sort`.
pub fn parse_sort(
    sort: &str,
    catalog: &dyn FieldCatalog,
) -> Result<Vec<(FieldInfo, bool)>, DomainError> {
    parse_sort_at(sort, catalog, "page.sort")
}

/// Parses a sort string the way upstream's mongo DAL (`Find.Sort`) does: comma-separated items,
/// each trimmed; a leading `+` is dropped; `field:-1` is descending and `field:1` (or any other
/// suffix) ascending; otherwise a leading `-` means descending. Returns `(field, descending)`
/// in order; empty items are skipped and a repeated field keeps its first occurrence. An unknown
/// field is 1199006 naming `path`. The caller appends its deterministic tiebreak.
pub fn parse_sort_at(
    sort: &str,
    catalog: &dyn FieldCatalog,
    path: &str,
) -> Result<Vec<(FieldInfo, bool)>, DomainError> {
    let mut out: Vec<(FieldInfo, bool)> = Vec::new();
    for item in sort.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let mut parts = item.splitn(2, ':');
        let key = parts.next().unwrap_or_default().trim_start_matches('+');
        let suffix = parts.next().map(str::trim);
        let (name, desc) = if suffix == Some("-1") {
            (key.trim_start_matches('-'), true)
        } else if let Some(rest) = key.strip_prefix('-') {
            (rest, true)
        } else {
            (key, false)
        };
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::ParamsInvalid(path.to_string()));
        }
        let field = catalog
            .lookup(name)
            .ok_or_else(|| DomainError::ParamsInvalid(path.to_string()))?;
        if !out.iter().any(|(f, _)| f.name == field.name) {
            out.push((field, desc));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::test_catalog::{catalog, f};
    use serde_json::json;

    #[test]
    fn parse_defaults_and_types() {
        assert_eq!(Page::parse(&Value::Null, "page"), Ok(Page::default()));
        assert_eq!(
            Page::parse(
                &json!({"start": 5, "limit": 10.0, "sort": "-a", "enable_count": true}),
                "page"
            ),
            Ok(Page {
                start: 5,
                limit: 10,
                sort: "-a".into(),
                enable_count: true
            })
        );
        assert_eq!(
            Page::parse(&json!({"limit": "10"}), "page"),
            Err(DomainError::JsonUnmarshal)
        );
        assert_eq!(
            Page::parse(&json!({"sort": 1}), "page"),
            Err(DomainError::JsonUnmarshal)
        );
        assert_eq!(
            Page::parse(&json!({"enable_count": "yes"}), "page"),
            Err(DomainError::JsonUnmarshal)
        );
        assert_eq!(
            Page::parse(&json!([]), "page"),
            Err(DomainError::JsonUnmarshal)
        );
        assert_eq!(
            Page::parse(&json!({"limit": -1}), "page"),
            Err(DomainError::ParamsInvalid("page.limit".into()))
        );
        assert_eq!(
            Page::parse(&json!({"start": 1.5}), "page"),
            Err(DomainError::ParamsInvalid("page.start".into()))
        );
    }

    fn page(limit: u64) -> Page {
        Page {
            limit,
            ..Page::default()
        }
    }

    #[test]
    fn regimes() {
        let e = Err(DomainError::ParamsInvalid("page.limit".into()));
        // BasePage.Validate
        assert_eq!(page(0).validate_max(false, "page"), Ok(()));
        assert_eq!(page(1000).validate_max(false, "page"), Ok(()));
        assert_eq!(page(1001).validate_max(true, "page"), e);
        assert_eq!(page(NO_LIMIT).validate_max(false, "page"), e);
        assert_eq!(page(NO_LIMIT).validate_max(true, "page"), Ok(()));
        // IsIllegal
        assert_eq!(page(0).validate_legal("page"), e);
        assert_eq!(page(1).validate_legal("page"), Ok(()));
        assert_eq!(page(1000).validate_legal("page"), Ok(()));
        assert_eq!(page(1001).validate_legal("page"), e);
        assert_eq!(page(NO_LIMIT).validate_legal("page"), Ok(()));
        // ValidateLimit(500)
        assert_eq!(page(0).validate_limit(MAX_INSTANCE_LIMIT, "page"), e);
        assert_eq!(page(500).validate_limit(MAX_INSTANCE_LIMIT, "page"), Ok(()));
        assert_eq!(page(501).validate_limit(MAX_INSTANCE_LIMIT, "page"), e);
        // enable_count
        let count = Page {
            enable_count: true,
            ..Page::default()
        };
        assert_eq!(count.validate_with_count(500, "page"), Ok(()));
        let bad = Page {
            enable_count: true,
            sort: "a".into(),
            ..Page::default()
        };
        assert_eq!(
            bad.validate_with_count(500, "page"),
            Err(DomainError::ParamsInvalid("page".into()))
        );
        assert_eq!(page(0).validate_with_count(500, "page"), e);
        // limit_opt
        assert_eq!(page(0).limit_opt(), None);
        assert_eq!(page(NO_LIMIT).limit_opt(), None);
        assert_eq!(page(7).limit_opt(), Some(7));
    }

    #[test]
    fn sort_forms() {
        let cat = catalog();
        let s = |x: &str| parse_sort(x, &cat);
        assert_eq!(s(""), Ok(vec![]));
        assert_eq!(
            s("-create_time,name"),
            Ok(vec![(f("create_time"), true), (f("name"), false)])
        );
        assert_eq!(
            s(" size:-1 , name:1,+flag"),
            Ok(vec![
                (f("size"), true),
                (f("name"), false),
                (f("flag"), false)
            ])
        );
        assert_eq!(s("-size:1"), Ok(vec![(f("size"), true)]));
        assert_eq!(s("size,,-size"), Ok(vec![(f("size"), false)]));
        let bad = Err(DomainError::ParamsInvalid("page.sort".into()));
        assert_eq!(s("nope"), bad);
        assert_eq!(s("-"), bad);
        assert_eq!(s("name;drop"), bad);
        let p = Page {
            sort: "x".into(),
            ..Page::default()
        };
        assert_eq!(
            p.sort_fields(&cat, "page"),
            Err(DomainError::ParamsInvalid("page.sort".into()))
        );
    }
}
