//! Snapshot tests of the PostgreSQL SQL the filter compiler emits. No server is available to the
//! test suite, so these pin the exact text and parameter types that were reviewed by hand: jsonb
//! compared with jsonb parameters (`SqlValue::Json`), `->>` text with text parameters
//! (`SqlValue::Text`), integer parameters only where the other side is `bigint`, no function that
//! can raise on an unexpected JSON type outside a `CASE` guard, and no jsonb `?` operators.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

use cmdb_domain::filter::{CmpOp, Expr, FieldInfo, FieldType, StrMatch, ELEMENT_FIELD};
use cmdb_store::sql::compile::{compile_order_by, compile_where, json_field_expr, json_text_expr};
use cmdb_store::sql::SqlBuilder;
use cmdb_store::{Dialect, SqlValue};
use serde_json::{json, Value};

fn pg(e: &Expr) -> (String, Vec<SqlValue>) {
    let mut b = SqlBuilder::new();
    compile_where(e, Dialect::Postgres, "data", &mut b).unwrap();
    check(&b);
    (b.sql, b.params)
}

/// Every `?` is a placeholder (no jsonb `?` / `?|` / `?&` operators).
fn check(b: &SqlBuilder) {
    assert_eq!(b.sql.matches('?').count(), b.params.len(), "{}", b.sql);
}

fn d(name: &str, ty: FieldType) -> FieldInfo {
    FieldInfo::doc(name, ty)
}
fn name() -> FieldInfo {
    d("name", FieldType::Text)
}
fn size() -> FieldInfo {
    d("size", FieldType::Int)
}
fn tags() -> FieldInfo {
    d("tags", FieldType::Array)
}
fn cmp(field: FieldInfo, op: CmpOp, value: Value) -> Expr {
    Expr::Cmp { field, op, value }
}
fn j(v: Value) -> SqlValue {
    SqlValue::Json(v)
}
fn t(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

const NAME_NULL: &str = "((data -> 'name') IS NULL OR jsonb_typeof((data -> 'name')) = 'null')";

#[test]
fn equality_compares_jsonb() {
    assert_eq!(
        pg(&cmp(name(), CmpOp::Eq, json!("a"))),
        ("(data -> 'name') = ?".into(), vec![j(json!("a"))])
    );
    assert_eq!(
        pg(&cmp(size(), CmpOp::Eq, json!(5))),
        ("(data -> 'size') = ?".into(), vec![j(json!(5))])
    );
    assert_eq!(
        pg(&cmp(d("flag", FieldType::Bool), CmpOp::Eq, json!(true))),
        ("(data -> 'flag') = ?".into(), vec![j(json!(true))])
    );
    assert_eq!(
        pg(&cmp(name(), CmpOp::Eq, Value::Null)),
        (NAME_NULL.into(), vec![])
    );
    assert_eq!(
        pg(&cmp(name(), CmpOp::Ne, json!("a"))),
        (
            "NOT COALESCE((data -> 'name') = ?, FALSE)".into(),
            vec![j(json!("a"))]
        )
    );
}

#[test]
fn ordered_comparisons_are_type_guarded() {
    assert_eq!(
        pg(&cmp(size(), CmpOp::Lt, json!(5))),
        (
            "(jsonb_typeof((data -> 'size')) = 'number' AND (data -> 'size') < ?)".into(),
            vec![j(json!(5))]
        )
    );
    assert_eq!(
        pg(&cmp(size(), CmpOp::Lte, json!(2.5))),
        (
            "(jsonb_typeof((data -> 'size')) = 'number' AND (data -> 'size') <= ?)".into(),
            vec![j(json!(2.5))]
        )
    );
    assert_eq!(
        pg(&cmp(name(), CmpOp::Gte, json!("m"))),
        (
            "(jsonb_typeof((data -> 'name')) = 'string' AND (data ->> 'name') COLLATE \"C\" >= ?)"
                .into(),
            vec![t("m")]
        )
    );
    assert_eq!(
        pg(&cmp(d("flag", FieldType::Bool), CmpOp::Gt, json!(false))),
        (
            "(jsonb_typeof((data -> 'flag')) = 'boolean' AND (data -> 'flag') > ?)".into(),
            vec![j(json!(false))]
        )
    );
    assert_eq!(
        pg(&cmp(name(), CmpOp::Gte, Value::Null)),
        (NAME_NULL.into(), vec![])
    );
    assert_eq!(
        pg(&cmp(name(), CmpOp::Gt, Value::Null)),
        ("FALSE".into(), vec![])
    );
}

#[test]
fn times() {
    let ct = d("create_time", FieldType::Time);
    let text = "2021-05-13T01:00:00+08:00";
    // Document times: RFC 3339 text converted to Unix milliseconds by integer arithmetic under a
    // strict shape check, never by a cast that can raise (the live test in cmdb-store-postgres
    // checks the values against SQLite's `unixepoch()`).
    let (sql, params) = pg(&Expr::TimeCmp {
        field: ct.clone(),
        op: CmpOp::Gte,
        value: text.into(),
        millis: 7,
    });
    assert!(
        sql.starts_with(
            "(CASE WHEN jsonb_typeof((data -> 'create_time')) = 'string' \
             AND (data ->> 'create_time') ~ '^[0-9]{4}-(0[1-9]|1[0-2])-"
        ),
        "{sql}"
    );
    assert!(sql.ends_with(" END) >= ?"), "{sql}");
    assert!(
        sql.contains("FROM (SELECT (data ->> 'create_time') AS cmdb_v)"),
        "{sql}"
    );
    assert!(!sql.to_uppercase().contains("TIMESTAMP"), "{sql}");
    assert_eq!(params, vec![SqlValue::Int(7)]);
    let (sql, params) = pg(&Expr::TimeCmp {
        field: ct,
        op: CmpOp::Ne,
        value: text.into(),
        millis: 7,
    });
    assert!(sql.starts_with("NOT COALESCE((CASE WHEN "), "{sql}");
    assert!(sql.ends_with(" END) = ?, FALSE)"), "{sql}");
    assert_eq!(params, vec![SqlValue::Int(7)]);
    assert_eq!(
        pg(&Expr::TimeCmp {
            field: FieldInfo::column("create_time", "created_at", FieldType::Time),
            op: CmpOp::Lte,
            value: text.into(),
            millis: 1_620_838_800_000
        }),
        (
            "created_at <= ?".into(),
            vec![SqlValue::Int(1_620_838_800_000)]
        )
    );
}

#[test]
fn membership() {
    let e = Expr::In {
        field: name(),
        values: vec![json!("a"), json!(1), Value::Null],
        negate: false,
    };
    let sql = format!("((data -> 'name') IN (?, ?) OR {NAME_NULL})");
    assert_eq!(pg(&e), (sql.clone(), vec![j(json!("a")), j(json!(1))]));
    let e = Expr::In {
        field: name(),
        values: vec![json!("a"), json!(1), Value::Null],
        negate: true,
    };
    assert_eq!(
        pg(&e),
        (
            format!("NOT COALESCE({sql}, FALSE)"),
            vec![j(json!("a")), j(json!(1))]
        )
    );
    assert_eq!(
        pg(&Expr::In {
            field: name(),
            values: vec![],
            negate: false
        }),
        ("FALSE".into(), vec![])
    );
    assert_eq!(
        pg(&Expr::In {
            field: name(),
            values: vec![],
            negate: true
        }),
        ("NOT COALESCE(FALSE, FALSE)".into(), vec![])
    );
}

#[test]
fn string_matching() {
    let guard = "jsonb_typeof((data -> 'name')) = 'string'";
    let like = |kind, value: &str, ci| Expr::Like {
        field: name(),
        kind,
        value: value.into(),
        case_insensitive: ci,
    };
    assert_eq!(
        pg(&like(StrMatch::Prefix, "a%_\\", false)),
        (
            format!("({guard} AND (data ->> 'name') LIKE ? ESCAPE '\\')"),
            vec![t("a\\%\\_\\\\%")]
        )
    );
    assert_eq!(
        pg(&like(StrMatch::Suffix, "x'y", false)),
        (
            format!("({guard} AND (data ->> 'name') LIKE ? ESCAPE '\\')"),
            vec![t("%x'y")]
        )
    );
    assert_eq!(
        pg(&like(StrMatch::Contains, "Ab", true)),
        (
            format!(
                "({guard} AND lower((data ->> 'name')) LIKE lower(CAST(? AS TEXT)) ESCAPE '\\')"
            ),
            vec![t("%Ab%")]
        )
    );
    assert_eq!(
        pg(&Expr::Regex {
            field: name(),
            pattern: "^a.?b$".into(),
            case_insensitive: false
        }),
        (
            format!("({guard} AND (data ->> 'name') ~ ?)"),
            vec![t("^a.?b$")]
        )
    );
    assert_eq!(
        pg(&Expr::Regex {
            field: name(),
            pattern: "x".into(),
            case_insensitive: true
        }),
        (
            format!("({guard} AND (data ->> 'name') ~* ?)"),
            vec![t("x")]
        )
    );
    assert_eq!(
        pg(&Expr::Not(Box::new(like(StrMatch::Contains, "a", false)))),
        (
            format!("NOT COALESCE(({guard} AND (data ->> 'name') LIKE ? ESCAPE '\\'), FALSE)"),
            vec![t("%a%")]
        )
    );
}

#[test]
fn presence_and_arrays() {
    assert_eq!(
        pg(&Expr::Exists {
            field: name(),
            exists: true
        }),
        ("(data -> 'name') IS NOT NULL".into(), vec![])
    );
    assert_eq!(
        pg(&Expr::Exists {
            field: name(),
            exists: false
        }),
        ("(data -> 'name') IS NULL".into(), vec![])
    );
    assert_eq!(
        pg(&Expr::IsNull { field: name() }),
        (NAME_NULL.into(), vec![])
    );
    let len = "CASE WHEN jsonb_typeof((data -> 'tags')) = 'array' \
               THEN jsonb_array_length((data -> 'tags')) ELSE -1 END";
    assert_eq!(
        pg(&Expr::IsEmpty { field: tags() }),
        (format!("({len} = 0)"), vec![])
    );
    assert_eq!(
        pg(&Expr::Size {
            field: tags(),
            len: 3
        }),
        (
            format!("({len} = CAST(? AS BIGINT))"),
            vec![SqlValue::Int(3)]
        )
    );
}

const TAG_ELEMS: &str = "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN \
     jsonb_typeof((data -> 'tags')) = 'array' THEN (data -> 'tags') ELSE '[]'::jsonb END) \
     AS je1(value) WHERE ";

#[test]
fn element_semantics() {
    let ips = tags().with_array_elements();
    assert_eq!(
        pg(&cmp(ips.clone(), CmpOp::Eq, json!("a"))),
        (
            format!("((data -> 'tags') = ? OR ({TAG_ELEMS}je1.value = ?)))"),
            vec![j(json!("a")), j(json!("a"))]
        )
    );
    assert_eq!(
        pg(&cmp(ips.clone(), CmpOp::Ne, json!("a"))),
        (
            format!("NOT COALESCE(((data -> 'tags') = ? OR ({TAG_ELEMS}je1.value = ?))), FALSE)"),
            vec![j(json!("a")), j(json!("a"))]
        )
    );
    assert_eq!(
        pg(&Expr::Like {
            field: ips,
            kind: StrMatch::Contains,
            value: "1.".into(),
            case_insensitive: false
        }),
        (
            format!(
                "((jsonb_typeof((data -> 'tags')) = 'string' AND (data ->> 'tags') LIKE ? ESCAPE '\\') \
                 OR ({TAG_ELEMS}(jsonb_typeof(je1.value) = 'string' \
                 AND (je1.value #>> '{{}}') LIKE ? ESCAPE '\\'))))"
            ),
            vec![t("%1.%"), t("%1.%")]
        )
    );
    assert_eq!(
        pg(&Expr::All {
            field: tags(),
            values: vec![json!("a"), json!(2)]
        }),
        (
            format!(
                "(((data -> 'tags') = ? OR ({TAG_ELEMS}je1.value = ?))) AND \
                 ((data -> 'tags') = ? OR (EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN \
                 jsonb_typeof((data -> 'tags')) = 'array' THEN (data -> 'tags') ELSE '[]'::jsonb END) \
                 AS je2(value) WHERE je2.value = ?))))"
            ),
            vec![j(json!("a")), j(json!("a")), j(json!(2)), j(json!(2))]
        )
    );
    let element = d(ELEMENT_FIELD, FieldType::Json);
    assert_eq!(
        pg(&Expr::AnyElement {
            field: tags(),
            pred: Box::new(Expr::And(vec![
                cmp(element.clone(), CmpOp::Gt, json!(1)),
                Expr::IsNull { field: element }
            ]))
        }),
        (
            format!(
                "({TAG_ELEMS}((jsonb_typeof(je1.value) = 'number' AND je1.value > ?) AND \
                 (je1.value IS NULL OR jsonb_typeof(je1.value) = 'null'))))"
            ),
            vec![j(json!(1))]
        )
    );
}

#[test]
fn paths() {
    assert_eq!(
        pg(&cmp(d("obj.sub", FieldType::Int), CmpOp::Eq, json!(1))),
        ("(data -> 'obj' -> 'sub') = ?".into(), vec![j(json!(1))])
    );
    assert_eq!(
        pg(&cmp(d("tags.0", FieldType::Json), CmpOp::Lt, json!("b"))),
        (
            "(jsonb_typeof((data -> 'tags' -> 0)) = 'string' AND (data -> 'tags' ->> 0) COLLATE \"C\" < ?)"
                .into(),
            vec![t("b")]
        )
    );
    assert_eq!(
        json_field_expr(Dialect::Postgres, "i.data", "bk_inst_name").unwrap(),
        "(i.data -> 'bk_inst_name')"
    );
    assert_eq!(
        json_text_expr(Dialect::Postgres, "i.data", "bk_inst_name").unwrap(),
        "(i.data ->> 'bk_inst_name')"
    );
    let mut b = SqlBuilder::new();
    compile_where(
        &cmp(name(), CmpOp::Eq, json!("a")),
        Dialect::Postgres,
        "i.data",
        &mut b,
    )
    .unwrap();
    assert_eq!(b.sql, "(i.data -> 'name') = ?");
}

#[test]
fn columns() {
    let id = FieldInfo::column("bk_inst_id", "inst_id", FieldType::Int);
    let obj = FieldInfo::column("bk_obj_id", "obj_id", FieldType::Text);
    assert_eq!(
        pg(&cmp(id.clone(), CmpOp::Eq, json!(3))),
        ("inst_id = ?".into(), vec![SqlValue::Int(3)])
    );
    assert_eq!(
        pg(&cmp(id.clone(), CmpOp::Lt, json!(2.5))),
        ("inst_id < ?".into(), vec![SqlValue::Int(3)])
    );
    assert_eq!(
        pg(&cmp(id.clone(), CmpOp::Eq, json!("3"))),
        ("FALSE".into(), vec![])
    );
    assert_eq!(
        pg(&Expr::In {
            field: id,
            values: vec![json!(1), json!(2), Value::Null],
            negate: true
        }),
        (
            "NOT COALESCE((inst_id IN (?, ?) OR inst_id IS NULL), FALSE)".into(),
            vec![SqlValue::Int(1), SqlValue::Int(2)]
        )
    );
    assert_eq!(
        pg(&cmp(obj.clone(), CmpOp::Gt, json!("m"))),
        ("obj_id COLLATE \"C\" > ?".into(), vec![t("m")])
    );
    assert_eq!(
        pg(&Expr::Like {
            field: obj.clone(),
            kind: StrMatch::Prefix,
            value: "host".into(),
            case_insensitive: false
        }),
        ("(obj_id LIKE ? ESCAPE '\\')".into(), vec![t("host%")])
    );
    assert_eq!(
        pg(&Expr::Regex {
            field: obj,
            pattern: "^h".into(),
            case_insensitive: false
        }),
        ("(obj_id ~ ?)".into(), vec![t("^h")])
    );
    assert_eq!(
        pg(&cmp(
            FieldInfo::column("ok", "ok", FieldType::Bool),
            CmpOp::Eq,
            json!(true)
        )),
        ("ok = ?".into(), vec![SqlValue::Bool(true)])
    );
}

#[test]
fn logic() {
    assert_eq!(pg(&Expr::True), ("TRUE".into(), vec![]));
    assert_eq!(pg(&Expr::False), ("FALSE".into(), vec![]));
    assert_eq!(pg(&Expr::And(vec![])), ("TRUE".into(), vec![]));
    assert_eq!(pg(&Expr::Or(vec![])), ("FALSE".into(), vec![]));
    assert_eq!(
        pg(&Expr::Or(vec![
            cmp(name(), CmpOp::Eq, json!("a")),
            Expr::Not(Box::new(cmp(size(), CmpOp::Eq, json!(1))))
        ])),
        (
            "((data -> 'name') = ? OR NOT COALESCE((data -> 'size') = ?, FALSE))".into(),
            vec![j(json!("a")), j(json!(1))]
        )
    );
}

#[test]
fn order_by() {
    let mut b = SqlBuilder::new();
    compile_order_by(
        &[
            (name(), true),
            (
                FieldInfo::column("bk_inst_id", "inst_id", FieldType::Int),
                false,
            ),
        ],
        Dialect::Postgres,
        "data",
        &mut b,
    )
    .unwrap();
    check(&b);
    let t = "jsonb_typeof((data -> 'name'))";
    assert_eq!(
        b.sql,
        format!(
            "CASE {t} WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'boolean' THEN 3 \
             WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END DESC, \
             CASE WHEN {t} = 'number' THEN ((data -> 'name'))::numeric END DESC, \
             (CASE WHEN {t} <> 'number' THEN (data -> 'name') #>> '{{}}' END) COLLATE \"C\" DESC, \
             inst_id ASC NULLS FIRST"
        )
    );
    let mut b = SqlBuilder::new();
    compile_order_by(
        &[(
            FieldInfo::column("bk_obj_id", "obj_id", FieldType::Text),
            true,
        )],
        Dialect::Postgres,
        "data",
        &mut b,
    )
    .unwrap();
    assert_eq!(b.sql, "obj_id COLLATE \"C\" DESC NULLS LAST");
}
