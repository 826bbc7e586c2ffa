//! resource_watch (60-audit-events §2): the resource kinds a client may watch, the request rules,
//! and the cursor. Pure: the event chain itself lives in the store.
//!
//! Cursors keep upstream's shape (base64 of `\r`-joined fields, the place in the chain in the
//! `oid` field: 24 hex digits, a decimal integer for `inst_asst` as upstream writes it)
//! because clients store them between runs and some inspect them; ours carry the event's
//! sequence number in commit order, so resuming is one index lookup.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;

use crate::DomainError;

/// A kind of resource the watch serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchKind {
    /// The `bk_resource` name (also the `resource` of stored events).
    pub name: &'static str,
    /// The cursor type number of upstream's `watch.CursorType`.
    pub cursor_type: u32,
    /// `bk_fields` must be a non-empty list (host, biz, set, module).
    pub fields_required: bool,
    /// `bk_filter.bk_sub_resource` (a model id) is allowed.
    pub sub_resource: bool,
}

const fn kind(
    name: &'static str,
    cursor_type: u32,
    fields_required: bool,
    sub_resource: bool,
) -> WatchKind {
    WatchKind {
        name,
        cursor_type,
        fields_required,
        sub_resource,
    }
}

/// Every `bk_resource` upstream accepts (`GetResourceKeyWithCursorType`). Kinds whose objects
/// cmdb-rs does not have yet (process, biz_set, project, kube...) are accepted and simply have
/// no events, as on an upstream installation that never used them.
pub const KINDS: &[WatchKind] = &[
    kind("host", 2, true, false),
    kind("host_relation", 3, false, false),
    kind("biz", 4, true, false),
    kind("set", 5, true, false),
    kind("module", 6, true, false),
    kind("object_instance", 8, false, true),
    kind("process", 9, false, false),
    kind("process_instance_relation", 10, false, false),
    kind("mainline_instance", 12, false, true),
    kind("inst_asst", 13, false, true),
    kind("biz_set", 14, false, false),
    kind("biz_set_relation", 15, false, false),
    kind("plat", 16, false, false),
    kind("project", 22, false, false),
];

/// The kind named `name`, if upstream knows it.
pub fn kind_named(name: &str) -> Option<WatchKind> {
    KINDS.iter().copied().find(|k| k.name == name)
}

/// The event types a client may ask for.
pub const EVENT_TYPES: &[&str] = &["create", "update", "delete"];

/// `NoEventCursor`: the cursor of "no event yet", always accepted.
const NO_EVENT_OID: &str = "5ea6d3f394c1f5d986e9bd86";
const NO_EVENT_TYPE: u32 = 1;

/// A decoded cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// upstream's `NoEventCursor`: nothing seen yet, start from now.
    NoEvent,
    /// Just after the event with this sequence number.
    After(i64),
}

/// The change-stream operation upstream writes into a cursor for an event type.
fn operation(event_type: &str) -> &'static str {
    match event_type {
        "create" => "insert",
        "delete" => "delete",
        _ => "update",
    }
}

/// The cursor type of `inst_asst`, whose cursors carry a decimal integer in the `oid` field
/// instead of a 24-hex ObjectID (§2 "Cursor format").
const INST_ASST_TYPE: u32 = 13;

/// The `oid` field of the cursor of event `seq`: 24 hex digits, decimal for `inst_asst`.
fn oid_of(cursor_type: u32, seq: i64) -> String {
    if cursor_type == INST_ASST_TYPE {
        seq.to_string()
    } else {
        format!("{seq:024x}")
    }
}

/// The cursor of the event `seq` of `kind`, created at `created_ms`.
pub fn encode_cursor(kind: &WatchKind, seq: i64, event_type: &str, created_ms: i64) -> String {
    let raw = format!(
        "1\r{}\r{}\r{}\r{}\r{}",
        kind.cursor_type,
        oid_of(kind.cursor_type, seq),
        operation(event_type),
        created_ms.div_euclid(1000),
        seq,
    );
    STANDARD.encode(raw)
}

/// upstream's `NoEventCursor`, encoded.
pub fn no_event_cursor() -> String {
    STANDARD.encode(format!("1\r{NO_EVENT_TYPE}\r{NO_EVENT_OID}\rnoEvent\r1\r1"))
}

/// Reads a cursor a client sent back. Anything that is not one of ours (or `NoEventCursor`) is
/// refused with a message saying what is wrong.
pub fn decode_cursor(text: &str) -> Result<Cursor, DomainError> {
    let invalid = |why: &str| DomainError::WatchRequest(format!("invalid bk_cursor: {why}"));
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| invalid("not base64"))?;
    let raw = String::from_utf8(bytes).map_err(|_| invalid("not text"))?;
    let fields: Vec<&str> = raw.split('\r').collect();
    if fields.len() < 6 {
        return Err(invalid("too few fields"));
    }
    if fields[0] != "1" {
        return Err(invalid("unknown version"));
    }
    let cursor_type: u32 = fields[1].parse().map_err(|_| invalid("bad type"))?;
    if fields[4].parse::<i64>().is_err() || fields[5].parse::<i64>().is_err() {
        return Err(invalid("bad cluster time"));
    }
    if cursor_type == NO_EVENT_TYPE {
        return Ok(Cursor::NoEvent);
    }
    let oid = fields[2];
    let seq = if cursor_type == INST_ASST_TYPE {
        if oid.is_empty() || !oid.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("bad oid"));
        }
        oid.parse::<i64>().map_err(|_| invalid("bad oid"))?
    } else {
        if oid.len() != 24 || !oid.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("bad oid"));
        }
        i64::from_str_radix(oid, 16).map_err(|_| invalid("bad oid"))?
    };
    Ok(Cursor::After(seq))
}

/// Keeps only `fields` of an event's document (all of it when `fields` is empty).
pub fn project(detail: serde_json::Value, fields: &[String]) -> serde_json::Value {
    if fields.is_empty() {
        return detail;
    }
    match detail {
        serde_json::Value::Object(mut map) => {
            let kept = fields
                .iter()
                .filter_map(|f| map.remove(f).map(|v| (f.clone(), v)))
                .collect();
            serde_json::Value::Object(kept)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn cursors_round_trip_and_keep_upstreams_shape() {
        let host = kind_named("host").unwrap();
        let c = encode_cursor(&host, 1234, "create", 1_700_000_123_456);
        let raw = String::from_utf8(STANDARD.decode(&c).unwrap()).unwrap();
        let fields: Vec<&str> = raw.split('\r').collect();
        assert_eq!(fields[0], "1");
        assert_eq!(fields[1], "2");
        assert_eq!(fields[2], "0000000000000000000004d2");
        assert_eq!(fields[3], "insert");
        assert_eq!(fields[4], "1700000123");
        assert_eq!(decode_cursor(&c).unwrap(), Cursor::After(1234));
        let u = encode_cursor(&host, i64::MAX, "update", 0);
        assert_eq!(decode_cursor(&u).unwrap(), Cursor::After(i64::MAX));
    }

    #[test]
    fn inst_asst_cursors_carry_a_decimal_oid() {
        let inst_asst = kind_named("inst_asst").unwrap();
        let c = encode_cursor(&inst_asst, 1234, "delete", 1_700_000_123_456);
        let raw = String::from_utf8(STANDARD.decode(&c).unwrap()).unwrap();
        let fields: Vec<&str> = raw.split('\r').collect();
        assert_eq!(fields[..4], ["1", "13", "1234", "delete"]);
        assert_eq!(decode_cursor(&c).unwrap(), Cursor::After(1234));
        for bad in ["", "12a", "0000000000000000000004d2x", "-5"] {
            let raw = format!("1\r13\r{bad}\rinsert\r1\r1");
            assert!(decode_cursor(&STANDARD.encode(raw)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn no_event_cursor_is_upstreams() {
        // Upstream's constant, as clients have it stored.
        assert_eq!(
            no_event_cursor(),
            "MQ0xDTVlYTZkM2YzOTRjMWY1ZDk4NmU5YmQ4Ng1ub0V2ZW50DTENMQ=="
        );
        assert_eq!(decode_cursor(&no_event_cursor()).unwrap(), Cursor::NoEvent);
    }

    #[test]
    fn malformed_cursors_are_refused() {
        for bad in [
            "",
            "%%%",
            &STANDARD.encode("1\r2\r00\rinsert\r1"),
            &STANDARD.encode("2\r2\r0000000000000000000004d2\rinsert\r1\r1"),
            &STANDARD.encode("1\rx\r0000000000000000000004d2\rinsert\r1\r1"),
            &STANDARD.encode("1\r2\r0000000000000000000004dz\rinsert\r1\r1"),
            &STANDARD.encode("1\r2\r4d2\rinsert\r1\r1"),
            &STANDARD.encode("1\r2\r0000000000000000000004d2\rinsert\rx\r1"),
        ] {
            assert!(
                matches!(decode_cursor(bad), Err(DomainError::WatchRequest(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn kinds_follow_upstream() {
        assert!(kind_named("host").unwrap().fields_required);
        assert!(kind_named("biz").unwrap().fields_required);
        assert!(!kind_named("object_instance").unwrap().fields_required);
        assert!(kind_named("object_instance").unwrap().sub_resource);
        assert!(!kind_named("host").unwrap().sub_resource);
        assert_eq!(kind_named("plat").unwrap().cursor_type, 16);
        assert!(kind_named("switch").is_none());
    }

    #[test]
    fn projection_keeps_only_the_asked_fields() {
        let doc = json!({"bk_host_id": 1, "bk_host_innerip": "10.0.0.1", "x": 2});
        assert_eq!(
            project(doc.clone(), &["bk_host_id".into(), "missing".into()]),
            json!({"bk_host_id": 1})
        );
        assert_eq!(project(doc.clone(), &[]), doc);
    }
}
