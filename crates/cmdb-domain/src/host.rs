//! Host rules that need no storage (40-hosts.md §1): the six "special" list fields (IP lists and
//! operator lists), how their wire form (a comma-separated string, or an array) becomes the
//! stored element list and back, IPv6 normalisation to the full 8×4-hex form, and the
//! normalisation of IPv6 values in host filters, so that a stored address and a queried one
//! compare equal however either was written.

use std::net::{Ipv4Addr, Ipv6Addr};

use serde_json::Value;

use crate::filter::{Expr, FieldInfo};
use crate::DomainError;

/// Inner IPv4 list.
pub const INNER_IP: &str = "bk_host_innerip";
/// Outer IPv4 list.
pub const OUTER_IP: &str = "bk_host_outerip";
/// Inner IPv6 list.
pub const INNER_IP_V6: &str = "bk_host_innerip_v6";
/// Outer IPv6 list.
pub const OUTER_IP_V6: &str = "bk_host_outerip_v6";

/// The list fields: stored as arrays (or null), exchanged as comma-joined strings, queried with
/// element semantics (00-protocol §9.1).
pub const LIST_FIELDS: [&str; 6] = [
    INNER_IP,
    OUTER_IP,
    INNER_IP_V6,
    OUTER_IP_V6,
    "operator",
    "bk_bak_operator",
];

/// What the elements of a list field are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    /// IPv4 addresses (validated).
    Ipv4,
    /// IPv6 addresses (validated and normalised to the full form).
    Ipv6,
    /// User names (kept as given, trimmed).
    Users,
}

/// The kind of a list field; `None` for any other field.
pub fn list_kind(field: &str) -> Option<ListKind> {
    match field {
        INNER_IP | OUTER_IP => Some(ListKind::Ipv4),
        INNER_IP_V6 | OUTER_IP_V6 => Some(ListKind::Ipv6),
        "operator" | "bk_bak_operator" => Some(ListKind::Users),
        _ => None,
    }
}

/// Is `field` one of the list fields?
pub fn is_list_field(field: &str) -> bool {
    list_kind(field).is_some()
}

/// An IPv6 address in the full lower-case form upstream stores (`ConvertIPv6ToStandardFormat`):
/// eight groups of four hex digits, e.g. `0000:0000:0000:0000:0000:0000:0000:0234`. `None`
/// when `text` is not an IPv6 address.
pub fn normalize_ipv6(text: &str) -> Option<String> {
    let addr: Ipv6Addr = text.trim().parse().ok()?;
    let groups: Vec<String> = addr.segments().iter().map(|s| format!("{s:04x}")).collect();
    Some(groups.join(":"))
}

/// Parses the wire value of list field `field` into its stored elements: a comma-separated string
/// (surrounding commas and blanks ignored, empty pieces dropped) or an array of strings. No
/// element at all gives `None` (stored as null). IPv4 elements must be IPv4 addresses, IPv6
/// elements IPv6 addresses (normalised); anything else, or a value of another JSON type, is
/// 1199006 naming the field.
pub fn parse_list(field: &str, value: &Value) -> Result<Option<Vec<String>>, DomainError> {
    let kind = list_kind(field).unwrap_or(ListKind::Users);
    let bad = || DomainError::ParamsInvalid(field.to_string());
    let pieces: Vec<String> = match value {
        Value::Null => Vec::new(),
        Value::String(s) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        Value::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let s = item.as_str().ok_or_else(bad)?.trim();
                if !s.is_empty() {
                    out.push(s.to_string());
                }
            }
            out
        }
        _ => return Err(bad()),
    };
    let mut out: Vec<String> = Vec::with_capacity(pieces.len());
    for p in pieces {
        let element = match kind {
            ListKind::Ipv4 => {
                p.parse::<Ipv4Addr>().map_err(|_| bad())?;
                p
            }
            ListKind::Ipv6 => normalize_ipv6(&p).ok_or_else(bad)?,
            ListKind::Users => p,
        };
        if !out.contains(&element) {
            out.push(element);
        }
    }
    Ok(if out.is_empty() { None } else { Some(out) })
}

/// The stored elements as JSON: an array, or null for none.
pub fn stored_list(elements: Option<Vec<String>>) -> Value {
    match elements {
        Some(items) => Value::Array(items.into_iter().map(Value::String).collect()),
        None => Value::Null,
    }
}

/// The stored elements of a list field read back from a stored value (array or null; a string
/// from older data is split as on input).
pub fn elements_of(stored: Option<&Value>) -> Vec<String> {
    match stored {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

/// The wire form of a stored list value: the comma-joined elements, `""` for none.
pub fn wire_list(stored: Option<&Value>) -> Value {
    Value::String(elements_of(stored).join(","))
}

/// Turns a stored host document into its wire form in place: every list field present becomes
/// its comma-joined string.
pub fn to_wire(doc: &mut serde_json::Map<String, Value>) {
    for field in LIST_FIELDS {
        if let Some(v) = doc.get_mut(field) {
            if !v.is_string() {
                *v = wire_list(Some(v));
            }
        }
    }
}

/// Normalises the IPv6 values of a host filter so they compare with the stored full form
/// (00-protocol §9.2, "IPv6 values normalised to full form"). Values that do not parse as
/// IPv6 addresses are left as they are (they simply match nothing).
pub fn normalize_filter_ipv6(expr: &mut Expr) {
    fn is_v6(field: &FieldInfo) -> bool {
        field.name == INNER_IP_V6 || field.name == OUTER_IP_V6
    }
    fn fix(v: &mut Value) {
        if let Value::String(s) = v {
            if let Some(n) = normalize_ipv6(s) {
                *s = n;
            }
        }
    }
    match expr {
        Expr::And(items) | Expr::Or(items) => items.iter_mut().for_each(normalize_filter_ipv6),
        Expr::Not(inner) => normalize_filter_ipv6(inner),
        Expr::Cmp { field, value, .. } if is_v6(field) => fix(value),
        Expr::In { field, values, .. } | Expr::All { field, values } if is_v6(field) => {
            values.iter_mut().for_each(fix)
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{CmpOp, FieldType};
    use serde_json::json;

    #[test]
    fn ipv6_full_form() {
        assert_eq!(
            normalize_ipv6("::234").as_deref(),
            Some("0000:0000:0000:0000:0000:0000:0000:0234")
        );
        assert_eq!(
            normalize_ipv6("FE80::1:2").as_deref(),
            Some("fe80:0000:0000:0000:0000:0000:0001:0002")
        );
        assert_eq!(
            normalize_ipv6("::ffff:1.2.3.4").as_deref(),
            Some("0000:0000:0000:0000:0000:ffff:0102:0304")
        );
        assert_eq!(
            normalize_ipv6("0000:0000:0000:0000:0000:0000:0000:0234").as_deref(),
            Some("0000:0000:0000:0000:0000:0000:0000:0234")
        );
        assert_eq!(normalize_ipv6("1.2.3.4"), None);
        assert_eq!(normalize_ipv6("::g"), None);
        assert_eq!(normalize_ipv6(""), None);
    }

    #[test]
    fn lists_from_strings_and_arrays() {
        assert_eq!(
            parse_list(INNER_IP, &json!(",1.1.1.1, 2.2.2.2,,")).unwrap(),
            Some(vec!["1.1.1.1".to_string(), "2.2.2.2".to_string()])
        );
        assert_eq!(
            parse_list(INNER_IP, &json!(["1.1.1.1", " 1.1.1.1 "])).unwrap(),
            Some(vec!["1.1.1.1".to_string()])
        );
        assert_eq!(parse_list(INNER_IP, &json!("")).unwrap(), None);
        assert_eq!(parse_list(INNER_IP, &json!(" , ")).unwrap(), None);
        assert_eq!(parse_list(INNER_IP, &Value::Null).unwrap(), None);
        assert_eq!(parse_list(INNER_IP, &json!([])).unwrap(), None);
        assert_eq!(
            parse_list(INNER_IP_V6, &json!("::1,fe80::2")).unwrap(),
            Some(vec![
                "0000:0000:0000:0000:0000:0000:0000:0001".to_string(),
                "fe80:0000:0000:0000:0000:0000:0000:0002".to_string()
            ])
        );
        assert_eq!(
            parse_list("operator", &json!("alice, bob")).unwrap(),
            Some(vec!["alice".to_string(), "bob".to_string()])
        );
    }

    #[test]
    fn bad_list_values() {
        let bad = |f: &str| Err(DomainError::ParamsInvalid(f.to_string()));
        assert_eq!(parse_list(INNER_IP, &json!("1.1.1")), bad(INNER_IP));
        assert_eq!(parse_list(INNER_IP, &json!("::1")), bad(INNER_IP));
        assert_eq!(parse_list(OUTER_IP, &json!("1.1.1.1,x")), bad(OUTER_IP));
        assert_eq!(parse_list(INNER_IP_V6, &json!("1.1.1.1")), bad(INNER_IP_V6));
        assert_eq!(parse_list(INNER_IP, &json!(12)), bad(INNER_IP));
        assert_eq!(parse_list(INNER_IP, &json!([1])), bad(INNER_IP));
        assert_eq!(parse_list("operator", &json!({})), bad("operator"));
    }

    #[test]
    fn wire_form() {
        assert_eq!(wire_list(Some(&json!(["a", "b"]))), json!("a,b"));
        assert_eq!(wire_list(Some(&Value::Null)), json!(""));
        assert_eq!(wire_list(None), json!(""));
        let mut doc =
            json!({"bk_host_innerip": ["1.1.1.1"], "operator": null, "bk_host_name": "x"});
        let map = doc.as_object_mut().unwrap();
        to_wire(map);
        assert_eq!(
            doc,
            json!({"bk_host_innerip": "1.1.1.1", "operator": "", "bk_host_name": "x"})
        );
    }

    #[test]
    fn filter_values_normalised() {
        let v6 = FieldInfo::doc(INNER_IP_V6, FieldType::Array).with_array_elements();
        let v4 = FieldInfo::doc(INNER_IP, FieldType::Array).with_array_elements();
        let mut e = Expr::And(vec![
            Expr::Cmp {
                field: v6.clone(),
                op: CmpOp::Eq,
                value: json!("::1"),
            },
            Expr::Not(Box::new(Expr::In {
                field: v6,
                values: vec![json!("fe80::1"), json!("junk")],
                negate: false,
            })),
            Expr::Cmp {
                field: v4,
                op: CmpOp::Eq,
                value: json!("::1"),
            },
        ]);
        normalize_filter_ipv6(&mut e);
        let Expr::And(items) = &e else { panic!() };
        assert!(
            matches!(&items[0], Expr::Cmp { value, .. } if value == "0000:0000:0000:0000:0000:0000:0000:0001")
        );
        let Expr::Not(inner) = &items[1] else {
            panic!()
        };
        assert!(
            matches!(&**inner, Expr::In { values, .. } if values[0] == "fe80:0000:0000:0000:0000:0000:0000:0001" && values[1] == "junk")
        );
        assert!(matches!(&items[2], Expr::Cmp { value, .. } if value == "::1"));
    }
}
