//! Executes compiled filters against a real PostgreSQL table of varied `jsonb` rows: the same
//! documents and the same expectations as `cmdb-store/tests/filter_compile_sqlite.rs`, so the
//! Mongo semantics the compiler promises hold identically on both backends, checked by the
//! database itself. Runs through [`PgDb`], so parameter binding (jsonb, text, int4, float4,
//! bool parameters) is exercised too.
//!
//! Needs `CMDB_TEST_POSTGRES_URL` (see `common`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failed test

mod common;

use cmdb_domain::filter::{
    parse_condition, parse_expression, parse_query_filter, CmpOp, Expr, FieldInfo, FieldType,
    StrMatch, ELEMENT_FIELD,
};
use cmdb_domain::DomainError;
use cmdb_store::sql::compile::{compile_order_by, compile_where, json_field_expr};
use cmdb_store::sql::SqlBuilder;
use cmdb_store::{Dialect, SqlValue, StoreError};
use cmdb_store_postgres::{PgDb, TestDatabase};
use serde_json::{json, Value};

/// The documents; row id = index + 1.
fn docs() -> Vec<Value> {
    vec![
        json!({"name": "alpha", "size": 5, "flag": true, "tags": ["a", "b"],
               "ips": ["10.0.0.1", "10.0.0.2"], "ct": "2021-05-13T01:00:00+08:00",
               "obj": {"sub": 1}, "any": 5}),
        json!({"name": "Beta", "size": 5.0, "flag": false, "tags": [], "ips": "10.0.0.1",
               "ct": "2021-05-14T01:00:00.5+08:00", "obj": {"sub": 2}, "any": "5"}),
        json!({"name": "gamma", "size": "5", "flag": 1, "tags": ["c"], "ips": ["192.168.0.1"],
               "ct": "2021-05-15T00:00:00+08:00", "any": true}),
        json!({"name": null, "size": 10, "tags": null, "ips": null, "any": 1}),
        json!({"size": -1, "tags": ["a"], "any": [1, 2]}),
        json!({"name": "50% off_sale", "size": 2.5, "tags": [["a"]], "any": {"k": 1}}),
        json!({"name": "it's \"quoted\" \\ back", "size": 0, "any": null}),
        json!({"name": "ALPHA", "size": 100, "flag": true, "tags": ["b", "a", "c"]}),
        json!({"name": "alphabet", "size": 7, "tags": [1, 2]}),
        json!({"name": "a*b?c[d]", "size": 1, "flag": "true"}),
        json!({"name": "Ünïcode straße", "size": 3}),
        json!({}),
    ]
}

struct Db {
    db: PgDb,
    rt: tokio::runtime::Runtime,
    _guard: TestDatabase,
}

fn millis(text: &str) -> i64 {
    cmdb_domain::time::parse_query_time(text)
        .expect("test time parses")
        .timestamp_millis()
}

impl Db {
    /// A fresh database with table `t`, or `None` when PostgreSQL tests are skipped.
    fn new(test: &str) -> Option<Self> {
        let admin = common::admin_url(test)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (url, guard) = rt
            .block_on(cmdb_store_postgres::create_test_database(&admin))
            .expect("create test database");
        let db = rt.block_on(PgDb::connect(&url)).expect("connect");
        rt.block_on(cmdb_store::write(&db, |tx| {
            tx.execute_batch(
                "CREATE TABLE t (id BIGINT PRIMARY KEY, kind TEXT, created INTEGER, score REAL,
                                 active BOOLEAN, data JSONB NOT NULL);
                 CREATE INDEX t_name ON t ((data -> 'name'));",
            )?;
            for (i, d) in docs().into_iter().enumerate() {
                let id = i as i64 + 1;
                let kind = if id == 12 {
                    SqlValue::Null
                } else if id % 2 == 1 {
                    SqlValue::Text("x".into())
                } else {
                    SqlValue::Text("y".into())
                };
                tx.execute(
                    "INSERT INTO t (id, kind, created, score, active, data) VALUES (?, ?, ?, ?, ?, ?)",
                    &[
                        SqlValue::Int(id),
                        kind,
                        SqlValue::Int(id * 1000),
                        SqlValue::Float(id as f64 / 2.0),
                        SqlValue::Bool(id % 2 == 1),
                        SqlValue::Json(d),
                    ],
                )?;
            }
            tx.execute_batch("ANALYZE t")
        }))
        .expect("create table t");
        Some(Db {
            db,
            rt,
            _guard: guard,
        })
    }

    fn sql(&self, e: &Expr) -> SqlBuilder {
        let mut b = SqlBuilder::new();
        b.push("SELECT id FROM t WHERE ");
        compile_where(e, Dialect::Postgres, "data", &mut b).unwrap();
        b.push(" ORDER BY id");
        b
    }

    fn query(&self, b: &SqlBuilder) -> Vec<i64> {
        assert_eq!(
            b.sql.matches('?').count(),
            b.params.len(),
            "placeholders vs params in {}",
            b.sql
        );
        let (sql, params) = (b.sql.clone(), b.params.clone());
        let rows = self
            .rt
            .block_on(cmdb_store::read(&self.db, move |tx| {
                tx.query(&sql, &params)
            }))
            .unwrap_or_else(|e| panic!("{e}: {}", b.sql));
        rows.into_iter()
            .map(|r| r[0].as_i64().expect("id"))
            .collect()
    }

    fn ids(&self, e: &Expr) -> Vec<i64> {
        self.query(&self.sql(e))
    }

    fn sorted(&self, sort: &[(FieldInfo, bool)]) -> Vec<i64> {
        let mut b = SqlBuilder::new();
        b.push("SELECT id FROM t ORDER BY ");
        compile_order_by(sort, Dialect::Postgres, "data", &mut b).unwrap();
        b.push(", id ASC");
        self.query(&b)
    }

    /// The plan of `b` with sequential scans discouraged (the table is tiny).
    fn explain(&self, b: &SqlBuilder) -> String {
        let (sql, params) = (format!("EXPLAIN {}", b.sql), b.params.clone());
        let rows = self
            .rt
            .block_on(cmdb_store::read(&self.db, move |tx| {
                tx.execute_batch("SET LOCAL enable_seqscan = off")?;
                tx.query(&sql, &params)
            }))
            .unwrap();
        rows.iter()
            .filter_map(|r| r[0].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn none() -> Vec<i64> {
    Vec::new()
}

fn all() -> Vec<i64> {
    (1..=12).collect()
}

fn except(ids: &[i64]) -> Vec<i64> {
    all().into_iter().filter(|i| !ids.contains(i)).collect()
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
fn ips() -> FieldInfo {
    d("ips", FieldType::Array).with_array_elements()
}
fn element() -> FieldInfo {
    d(ELEMENT_FIELD, FieldType::Json)
}

fn cmp(field: FieldInfo, op: CmpOp, value: Value) -> Expr {
    Expr::Cmp { field, op, value }
}
fn eq(field: FieldInfo, value: Value) -> Expr {
    cmp(field, CmpOp::Eq, value)
}
fn ne(field: FieldInfo, value: Value) -> Expr {
    cmp(field, CmpOp::Ne, value)
}
fn in_(field: FieldInfo, values: Vec<Value>, negate: bool) -> Expr {
    Expr::In {
        field,
        values,
        negate,
    }
}
fn like(field: FieldInfo, kind: StrMatch, value: &str, ci: bool) -> Expr {
    Expr::Like {
        field,
        kind,
        value: value.into(),
        case_insensitive: ci,
    }
}
fn regex(field: FieldInfo, pattern: &str, ci: bool) -> Expr {
    Expr::Regex {
        field,
        pattern: pattern.into(),
        case_insensitive: ci,
    }
}
fn not(e: Expr) -> Expr {
    Expr::Not(Box::new(e))
}
fn time(field: FieldInfo, op: CmpOp, text: &str, millis: i64) -> Expr {
    Expr::TimeCmp {
        field,
        op,
        value: text.into(),
        millis,
    }
}

#[test]
fn equality_is_type_strict() {
    let Some(db) = Db::new("equality_is_type_strict") else {
        return;
    };
    assert_eq!(db.ids(&eq(name(), json!("alpha"))), vec![1]);
    // 5 == 5.0, but not "5"
    assert_eq!(db.ids(&eq(size(), json!(5))), vec![1, 2]);
    assert_eq!(db.ids(&eq(size(), json!(5.0))), vec![1, 2]);
    assert_eq!(db.ids(&eq(size(), json!("5"))), vec![3]);
    // true is not 1, nor "true"
    let flag = d("flag", FieldType::Bool);
    assert_eq!(db.ids(&eq(flag.clone(), json!(true))), vec![1, 8]);
    assert_eq!(db.ids(&eq(flag.clone(), json!(false))), vec![2]);
    assert_eq!(db.ids(&eq(flag, json!(1))), vec![3]);
    let any = d("any", FieldType::Json);
    assert_eq!(db.ids(&eq(any.clone(), json!(1))), vec![4]);
    assert_eq!(db.ids(&eq(any.clone(), json!(true))), vec![3]);
    assert_eq!(db.ids(&eq(any.clone(), json!("5"))), vec![2]);
    assert_eq!(db.ids(&eq(any, json!(5))), vec![1]);
    // Stored arrays / objects never equal a string holding their JSON text.
    assert_eq!(
        db.ids(&eq(d("any", FieldType::Json), json!("[1,2]"))),
        none()
    );
    assert_eq!(
        db.ids(&eq(d("obj", FieldType::Json), json!("{\"sub\":1}"))),
        none()
    );
}

#[test]
fn null_and_absent_follow_mongo() {
    let Some(db) = Db::new("null_and_absent_follow_mongo") else {
        return;
    };
    // {name: null} matches null and absent
    assert_eq!(db.ids(&eq(name(), Value::Null)), vec![4, 5, 12]);
    assert_eq!(db.ids(&Expr::IsNull { field: name() }), vec![4, 5, 12]);
    // $ne / not_equal match absent and null
    assert_eq!(db.ids(&ne(name(), json!("alpha"))), except(&[1]));
    assert_eq!(db.ids(&ne(size(), json!(5))), except(&[1, 2]));
    assert_eq!(db.ids(&ne(name(), Value::Null)), except(&[4, 5, 12]));
    assert_eq!(
        db.ids(&not(Expr::IsNull { field: name() })),
        except(&[4, 5, 12])
    );
    // $exists distinguishes null from absent
    assert_eq!(
        db.ids(&Expr::Exists {
            field: name(),
            exists: true
        }),
        except(&[5, 12])
    );
    assert_eq!(
        db.ids(&Expr::Exists {
            field: name(),
            exists: false
        }),
        vec![5, 12]
    );
    // $lte: null / $gte: null match null-or-absent, $lt / $gt nothing
    assert_eq!(
        db.ids(&cmp(name(), CmpOp::Lte, Value::Null)),
        vec![4, 5, 12]
    );
    assert_eq!(db.ids(&cmp(name(), CmpOp::Lt, Value::Null)), none());
}

#[test]
fn ordered_comparisons_stay_within_type() {
    let Some(db) = Db::new("ordered_comparisons_stay_within_type") else {
        return;
    };
    assert_eq!(
        db.ids(&cmp(size(), CmpOp::Lt, json!(5))),
        vec![5, 6, 7, 10, 11]
    );
    assert_eq!(
        db.ids(&cmp(size(), CmpOp::Lte, json!(5))),
        vec![1, 2, 5, 6, 7, 10, 11]
    );
    assert_eq!(db.ids(&cmp(size(), CmpOp::Gt, json!(5))), vec![4, 8, 9]);
    assert_eq!(
        db.ids(&cmp(size(), CmpOp::Gte, json!(5))),
        vec![1, 2, 4, 8, 9]
    );
    assert_eq!(
        db.ids(&cmp(size(), CmpOp::Gt, json!(2.5))),
        vec![1, 2, 4, 8, 9, 11]
    );
    assert_eq!(
        db.ids(&cmp(size(), CmpOp::Gte, json!(2.5))),
        vec![1, 2, 4, 6, 8, 9, 11]
    );
    // strings compare byte-wise with strings only
    assert_eq!(
        db.ids(&cmp(name(), CmpOp::Lt, json!("b"))),
        vec![1, 2, 6, 8, 9, 10]
    );
    assert_eq!(db.ids(&cmp(size(), CmpOp::Gte, json!("5"))), vec![3]);
    // bools with bools
    let flag = d("flag", FieldType::Bool);
    assert_eq!(
        db.ids(&cmp(flag.clone(), CmpOp::Gt, json!(false))),
        vec![1, 8]
    );
    assert_eq!(db.ids(&cmp(flag, CmpOp::Lte, json!(true))), vec![1, 2, 8]);
    // $not of a comparison also matches absent/mistyped values
    assert_eq!(
        db.ids(&not(cmp(size(), CmpOp::Gt, json!(5)))),
        except(&[4, 8, 9])
    );
}

#[test]
fn times_compare_as_instants() {
    let Some(db) = Db::new("times_compare_as_instants") else {
        return;
    };
    let ct = d("ct", FieldType::Time);
    let t = |text: &str, op: CmpOp| time(ct.clone(), op, text, millis(text));
    let t14 = "2021-05-14T01:00:00+08:00";
    assert_eq!(db.ids(&t(t14, CmpOp::Gte)), vec![2, 3]);
    assert_eq!(db.ids(&t(t14, CmpOp::Lt)), vec![1]);
    assert_eq!(
        db.ids(&t("2021-05-14T01:00:00.5+08:00", CmpOp::Lte)),
        vec![1, 2]
    );
    assert_eq!(db.ids(&t("2021-05-13T01:00:00+08:00", CmpOp::Eq)), vec![1]);
    // The same instant written in another zone and with a different fraction width.
    assert_eq!(db.ids(&t("2021-05-12T17:00:00.000Z", CmpOp::Eq)), vec![1]);
    assert_eq!(
        db.ids(&t("2021-05-13T01:00:00+08:00", CmpOp::Ne)),
        except(&[1])
    );
    // A time column holds milliseconds.
    let created = FieldInfo::column("created", "created", FieldType::Time);
    assert_eq!(
        db.ids(&time(created.clone(), CmpOp::Gte, "ignored", 5000)),
        (5..=12).collect::<Vec<_>>()
    );
    assert_eq!(
        db.ids(&time(created.clone(), CmpOp::Lt, "ignored", 3000)),
        vec![1, 2]
    );
    assert_eq!(db.ids(&time(created, CmpOp::Eq, "ignored", 3000)), vec![3]);
}

#[test]
fn membership() {
    let Some(db) = Db::new("membership") else {
        return;
    };
    assert_eq!(
        db.ids(&in_(
            name(),
            vec![json!("alpha"), json!("gamma"), Value::Null],
            false
        )),
        vec![1, 3, 4, 5, 12]
    );
    assert_eq!(
        db.ids(&in_(size(), vec![json!(5), json!("5")], false)),
        vec![1, 2, 3]
    );
    assert_eq!(
        db.ids(&in_(d("flag", FieldType::Bool), vec![json!(true)], false)),
        vec![1, 8]
    );
    assert_eq!(
        db.ids(&in_(
            d("any", FieldType::Json),
            vec![json!(true), json!(1), json!(false)],
            false
        )),
        vec![3, 4]
    );
    assert_eq!(db.ids(&in_(name(), vec![], false)), none());
    assert_eq!(
        db.ids(&in_(name(), vec![json!("alpha"), json!("Beta")], true)),
        except(&[1, 2])
    );
    assert_eq!(db.ids(&in_(name(), vec![], true)), all());
    assert_eq!(
        db.ids(&in_(name(), vec![Value::Null], true)),
        except(&[4, 5, 12])
    );
}

#[test]
fn regular_expressions() {
    let Some(db) = Db::new("regular_expressions") else {
        return;
    };
    assert_eq!(db.ids(&regex(name(), "^al", false)), vec![1, 9]);
    assert_eq!(db.ids(&regex(name(), "^al", true)), vec![1, 8, 9]);
    assert_eq!(db.ids(&regex(name(), r"\d", false)), vec![6]);
    // only strings match: the number 5 does not match "5"
    assert_eq!(db.ids(&regex(size(), "5", false)), vec![3]);
    assert_eq!(db.ids(&not(regex(name(), "^al", false))), except(&[1, 9]));
}

#[test]
fn literal_string_matches() {
    let Some(db) = Db::new("literal_string_matches") else {
        return;
    };
    let n = name;
    assert_eq!(
        db.ids(&like(n(), StrMatch::Contains, "ALP", true)),
        vec![1, 8, 9]
    );
    assert_eq!(
        db.ids(&like(n(), StrMatch::Contains, "alp", false)),
        vec![1, 9]
    );
    assert_eq!(
        db.ids(&like(n(), StrMatch::Prefix, "a", false)),
        vec![1, 9, 10]
    );
    assert_eq!(
        db.ids(&like(n(), StrMatch::Prefix, "A", true)),
        vec![1, 8, 9, 10]
    );
    assert_eq!(
        db.ids(&like(n(), StrMatch::Suffix, "a", false)),
        vec![1, 2, 3]
    );
    assert_eq!(
        db.ids(&like(n(), StrMatch::Suffix, "A", true)),
        vec![1, 2, 3, 8]
    );
    assert_eq!(
        db.ids(&not(like(n(), StrMatch::Contains, "alp", false))),
        except(&[1, 9])
    );
    // Unicode case folding
    assert_eq!(
        db.ids(&like(n(), StrMatch::Contains, "ÜNÏ", true)),
        vec![11]
    );
    assert_eq!(db.ids(&like(n(), StrMatch::Contains, "ünï", false)), none());
    // numbers are not strings
    assert_eq!(
        db.ids(&like(size(), StrMatch::Contains, "5", false)),
        vec![3]
    );
}

#[test]
fn wildcards_in_values_are_literal() {
    let Some(db) = Db::new("wildcards_in_values_are_literal") else {
        return;
    };
    let n = name;
    for ci in [false, true] {
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "%", ci)), vec![6]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "_", ci)), vec![6]);
        assert_eq!(
            db.ids(&like(n(), StrMatch::Contains, "% off_", ci)),
            vec![6]
        );
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "*", ci)), vec![10]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "?", ci)), vec![10]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "[d]", ci)), vec![10]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "c[", ci)), vec![10]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, ".", ci)), none());
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "'", ci)), vec![7]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "\"", ci)), vec![7]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "\\", ci)), vec![7]);
        assert_eq!(db.ids(&like(n(), StrMatch::Contains, "\\ b", ci)), vec![7]);
        assert_eq!(db.ids(&like(n(), StrMatch::Prefix, "a*", ci)), vec![10]);
        assert_eq!(db.ids(&like(n(), StrMatch::Suffix, "[d]", ci)), vec![10]);
    }
}

#[test]
fn injection_attempts_are_inert() {
    let Some(db) = Db::new("injection_attempts_are_inert") else {
        return;
    };
    for v in [
        "alpha' OR '1'='1",
        "'); DROP TABLE t; --",
        "\" OR 1=1 --",
        "%' OR 1=1 --",
    ] {
        assert_eq!(db.ids(&eq(name(), json!(v))), none(), "{v}");
        assert_eq!(
            db.ids(&like(name(), StrMatch::Contains, v, true)),
            none(),
            "{v}"
        );
        assert_eq!(db.ids(&in_(name(), vec![json!(v)], false)), none(), "{v}");
    }
    // the table survived
    assert_eq!(db.ids(&Expr::True), all());

    // Field, column and document-column names are checked before they reach SQL.
    let mut b = SqlBuilder::new();
    for bad in [
        "name') OR 1=1 --",
        "name'",
        "na me",
        "$.name",
        "name[0]",
        "",
        "a..b",
        "1abc",
    ] {
        let e = eq(d(bad, FieldType::Text), json!(1));
        assert!(
            matches!(
                compile_where(&e, Dialect::Postgres, "data", &mut b),
                Err(StoreError::Domain(DomainError::ParamsInvalid(_)))
            ),
            "{bad}"
        );
        assert!(
            compile_where(&e, Dialect::Postgres, "data", &mut b).is_err(),
            "{bad}"
        );
        assert!(
            json_field_expr(Dialect::Postgres, "data", bad).is_err(),
            "{bad}"
        );
        assert!(
            compile_order_by(
                &[(d(bad, FieldType::Text), false)],
                Dialect::Postgres,
                "data",
                &mut b
            )
            .is_err(),
            "{bad}"
        );
    }
    let col = eq(
        FieldInfo::column("kind", "kind; DROP TABLE t", FieldType::Text),
        json!("x"),
    );
    assert!(matches!(
        compile_where(&col, Dialect::Postgres, "data", &mut b),
        Err(StoreError::Backend(_))
    ));
    assert!(matches!(
        compile_where(&Expr::True, Dialect::Postgres, "data) OR (1", &mut b),
        Err(StoreError::Backend(_))
    ));
}

#[test]
fn empty_and_size() {
    let Some(db) = Db::new("empty_and_size") else {
        return;
    };
    assert_eq!(db.ids(&Expr::IsEmpty { field: tags() }), vec![2]);
    assert_eq!(db.ids(&not(Expr::IsEmpty { field: tags() })), except(&[2]));
    let size = |len| Expr::Size { field: tags(), len };
    assert_eq!(db.ids(&size(0)), vec![2]);
    assert_eq!(db.ids(&size(1)), vec![3, 5, 6]);
    assert_eq!(db.ids(&size(2)), vec![1, 9]);
    assert_eq!(db.ids(&size(3)), vec![8]);
    // a string is not an array of characters
    assert_eq!(
        db.ids(&Expr::Size {
            field: name(),
            len: 5
        }),
        none()
    );
}

#[test]
fn array_element_semantics() {
    let Some(db) = Db::new("array_element_semantics") else {
        return;
    };
    // the scalar "10.0.0.1" of row 2 matches too (Mongo matches the value or an element)
    assert_eq!(db.ids(&eq(ips(), json!("10.0.0.1"))), vec![1, 2]);
    assert_eq!(
        db.ids(&in_(
            ips(),
            vec![json!("192.168.0.1"), json!("10.0.0.2")],
            false
        )),
        vec![1, 3]
    );
    assert_eq!(db.ids(&ne(ips(), json!("10.0.0.1"))), except(&[1, 2]));
    assert_eq!(
        db.ids(&in_(ips(), vec![json!("10.0.0.2")], true)),
        except(&[1])
    );
    assert_eq!(
        db.ids(&like(ips(), StrMatch::Contains, "192.", false)),
        vec![3]
    );
    assert_eq!(db.ids(&regex(ips(), r"^10\.", false)), vec![1, 2]);
    assert_eq!(db.ids(&cmp(ips(), CmpOp::Gte, json!("192"))), vec![3]);
    assert_eq!(
        db.ids(&eq(ips(), Value::Null)),
        (4..=12).collect::<Vec<_>>()
    );
    // $all
    let all_of = |values: Vec<Value>| Expr::All {
        field: tags(),
        values,
    };
    assert_eq!(db.ids(&all_of(vec![json!("a"), json!("b")])), vec![1, 8]);
    assert_eq!(db.ids(&all_of(vec![json!("a")])), vec![1, 5, 8]);
    assert_eq!(db.ids(&all_of(vec![])), none());
}

#[test]
fn any_element_and_paths() {
    let Some(db) = Db::new("any_element_and_paths") else {
        return;
    };
    let any = |pred: Expr| Expr::AnyElement {
        field: tags(),
        pred: Box::new(pred),
    };
    assert_eq!(db.ids(&any(eq(element(), json!("c")))), vec![3, 8]);
    assert_eq!(db.ids(&any(cmp(element(), CmpOp::Gt, json!(1)))), vec![9]);
    assert_eq!(
        db.ids(&any(Expr::Size {
            field: element(),
            len: 1
        })),
        vec![6]
    );
    // nested: an element that is an array containing "a"
    let nested = any(Expr::AnyElement {
        field: element(),
        pred: Box::new(eq(element(), json!("a"))),
    });
    assert_eq!(db.ids(&nested), vec![6]);
    // both conditions on the same element
    assert_eq!(
        db.ids(&any(Expr::And(vec![
            like(element(), StrMatch::Prefix, "b", false),
            not(eq(element(), json!("a"))),
        ]))),
        vec![1, 8]
    );
    // a scalar field is not an array
    assert_eq!(
        db.ids(&Expr::AnyElement {
            field: name(),
            pred: Box::new(eq(element(), json!("alpha")))
        }),
        none()
    );
    // positions and sub-fields
    assert_eq!(
        db.ids(&eq(d("tags.0", FieldType::Json), json!("b"))),
        vec![8]
    );
    assert_eq!(
        db.ids(&eq(d("tags.1", FieldType::Json), json!("b"))),
        vec![1]
    );
    assert_eq!(db.ids(&eq(d("obj.sub", FieldType::Int), json!(2))), vec![2]);
}

#[test]
fn real_columns() {
    let Some(db) = Db::new("real_columns") else {
        return;
    };
    let cid = FieldInfo::column("cid", "id", FieldType::Int);
    let kind = FieldInfo::column("kind", "kind", FieldType::Text);
    let score = FieldInfo::column("score", "score", FieldType::Float);
    let active = FieldInfo::column("active", "active", FieldType::Bool);
    assert_eq!(db.ids(&eq(cid.clone(), json!(3))), vec![3]);
    assert_eq!(db.ids(&eq(cid.clone(), json!(3.0))), vec![3]);
    assert_eq!(db.ids(&eq(cid.clone(), json!(3.5))), none());
    // no text-vs-number affinity conversion
    assert_eq!(db.ids(&eq(cid.clone(), json!("3"))), none());
    assert_eq!(db.ids(&ne(cid.clone(), json!(3))), except(&[3]));
    assert_eq!(db.ids(&cmp(cid.clone(), CmpOp::Lt, json!(2.5))), vec![1, 2]);
    assert_eq!(
        db.ids(&cmp(cid.clone(), CmpOp::Lte, json!(2.5))),
        vec![1, 2]
    );
    assert_eq!(
        db.ids(&cmp(cid.clone(), CmpOp::Gt, json!(2.5))),
        except(&[1, 2])
    );
    assert_eq!(
        db.ids(&cmp(cid.clone(), CmpOp::Gte, json!(2.5))),
        except(&[1, 2])
    );
    assert_eq!(db.ids(&cmp(cid.clone(), CmpOp::Gt, json!(1e300))), none());
    assert_eq!(db.ids(&cmp(cid.clone(), CmpOp::Lt, json!(1e300))), all());
    assert_eq!(db.ids(&cmp(cid.clone(), CmpOp::Gte, json!(-1e300))), all());
    assert_eq!(db.ids(&cmp(cid.clone(), CmpOp::Lte, json!(-1e300))), none());
    assert_eq!(db.ids(&cmp(cid.clone(), CmpOp::Lt, json!("3"))), none());
    assert_eq!(
        db.ids(&in_(
            cid.clone(),
            vec![json!(1), json!("2"), json!(3)],
            false
        )),
        vec![1, 3]
    );
    let odd = vec![1, 3, 5, 7, 9, 11];
    let even = vec![2, 4, 6, 8, 10];
    assert_eq!(db.ids(&eq(kind.clone(), json!("x"))), odd);
    assert_eq!(db.ids(&ne(kind.clone(), json!("x"))), except(&odd));
    assert_eq!(db.ids(&eq(kind.clone(), Value::Null)), vec![12]);
    assert_eq!(
        db.ids(&in_(kind.clone(), vec![json!("y"), Value::Null], false)),
        except(&odd)
    );
    assert_eq!(
        db.ids(&in_(kind.clone(), vec![json!("y")], true)),
        except(&even)
    );
    assert_eq!(
        db.ids(&Expr::Exists {
            field: kind.clone(),
            exists: true
        }),
        except(&[12])
    );
    assert_eq!(
        db.ids(&Expr::IsNull {
            field: kind.clone()
        }),
        vec![12]
    );
    assert_eq!(
        db.ids(&like(kind.clone(), StrMatch::Prefix, "x", false)),
        odd
    );
    assert_eq!(
        db.ids(&like(kind.clone(), StrMatch::Prefix, "X", true)),
        odd
    );
    assert_eq!(db.ids(&regex(kind.clone(), "^y", false)), even);
    assert_eq!(db.ids(&cmp(kind, CmpOp::Gt, json!("x"))), even);
    assert_eq!(
        db.ids(&cmp(score.clone(), CmpOp::Gte, json!(5.0))),
        vec![10, 11, 12]
    );
    assert_eq!(db.ids(&eq(score, json!(1))), vec![2]);
    assert_eq!(db.ids(&eq(active.clone(), json!(true))), odd);
    assert_eq!(db.ids(&eq(active, json!(1))), none());
    // array/string operators on non-text columns match nothing
    assert_eq!(
        db.ids(&like(cid.clone(), StrMatch::Contains, "1", false)),
        none()
    );
    assert_eq!(db.ids(&Expr::IsEmpty { field: cid.clone() }), none());
    assert_eq!(db.ids(&Expr::Size { field: cid, len: 0 }), none());
}

#[test]
fn logic() {
    let Some(db) = Db::new("logic") else {
        return;
    };
    assert_eq!(db.ids(&Expr::True), all());
    assert_eq!(db.ids(&Expr::False), none());
    assert_eq!(db.ids(&Expr::And(vec![])), all());
    assert_eq!(db.ids(&Expr::Or(vec![])), none());
    assert_eq!(db.ids(&not(Expr::True)), none());
    assert_eq!(
        db.ids(&Expr::Or(vec![
            eq(name(), json!("alpha")),
            eq(size(), json!(10))
        ])),
        vec![1, 4]
    );
    assert_eq!(
        db.ids(&Expr::And(vec![
            cmp(size(), CmpOp::Gte, json!(1)),
            not(Expr::Or(vec![
                eq(name(), json!("alpha")),
                Expr::IsNull { field: name() }
            ])),
        ])),
        vec![2, 6, 8, 9, 10, 11]
    );
    // double negation of a NULL-producing predicate
    assert_eq!(db.ids(&not(not(eq(name(), json!("alpha"))))), vec![1]);
}

#[test]
fn parsed_filters_end_to_end() {
    let Some(db) = Db::new("parsed_filters_end_to_end") else {
        return;
    };
    let catalog = vec![
        name(),
        size(),
        tags(),
        ips(),
        d("ct", FieldType::Time),
        FieldInfo::column("bk_inst_id", "id", FieldType::Int),
    ];
    let legacy = parse_condition(
        &json!({"name": {"$in": ["alpha", "gamma"]}, "bk_inst_id": {"$lt": 3}}),
        &catalog,
        "condition",
    )
    .unwrap();
    assert_eq!(db.ids(&legacy), vec![1]);
    let legacy = parse_condition(
        &json!({"$or": [{"ips": "10.0.0.1"}, {"tags": {"$size": 3}}]}),
        &catalog,
        "condition",
    )
    .unwrap();
    assert_eq!(db.ids(&legacy), vec![1, 2, 8]);
    let qf = parse_query_filter(
        &json!({"condition": "AND", "rules": [
            {"field": "name", "operator": "contains", "value": "ALP"},
            {"condition": "OR", "rules": [
                {"field": "size", "operator": "less", "value": 6},
                {"field": "name", "operator": "not_contains", "value": "ALP"}]}]}),
        &catalog,
        "filter",
    )
    .unwrap();
    assert_eq!(db.ids(&qf), vec![1, 9]);
    let ex = parse_expression(
        &json!({"condition": "OR", "rules": [
            {"field": "tags", "operator": "filter_array",
             "value": {"field": "element", "operator": "equal", "value": "c"}},
            {"field": "name", "operator": "begins_with_i", "value": "be"}]}),
        &catalog,
        "conditions",
    )
    .unwrap();
    assert_eq!(db.ids(&ex), vec![2, 3, 8]);
}

#[test]
fn equality_uses_the_expression_index() {
    let Some(db) = Db::new("equality_uses_the_expression_index") else {
        return;
    };
    let b = db.sql(&eq(name(), json!("alpha")));
    assert!(b.sql.contains("(data -> 'name') = ?"), "{}", b.sql);
    let plan = db.explain(&b);
    assert!(plan.contains("t_name"), "{plan}");
}

#[test]
fn ordering() {
    let Some(db) = Db::new("ordering") else {
        return;
    };
    // absent/null first, then strings byte-wise
    assert_eq!(
        db.sorted(&[(name(), false)]),
        vec![4, 5, 12, 6, 8, 2, 10, 1, 9, 3, 7, 11]
    );
    // numbers numerically (5 == 5.0 tie → id), then strings
    assert_eq!(
        db.sorted(&[(size(), false)]),
        vec![12, 5, 7, 10, 6, 11, 1, 2, 9, 4, 8, 3]
    );
    assert_eq!(
        db.sorted(&[(size(), true)]),
        vec![3, 8, 4, 9, 1, 2, 11, 6, 10, 7, 5, 12]
    );
    // absent < number < string < bool
    assert_eq!(
        db.sorted(&[(d("flag", FieldType::Bool), false)]),
        vec![4, 5, 6, 7, 9, 11, 12, 3, 10, 2, 1, 8]
    );
    let kind = FieldInfo::column("kind", "kind", FieldType::Text);
    assert_eq!(
        db.sorted(&[(kind.clone(), false)]),
        vec![12, 1, 3, 5, 7, 9, 11, 2, 4, 6, 8, 10]
    );
    assert_eq!(
        db.sorted(&[(kind, true), (size(), true)]),
        vec![8, 4, 2, 6, 10, 3, 9, 1, 11, 7, 5, 12]
    );
    let mut b = SqlBuilder::new();
    compile_order_by(&[], Dialect::Postgres, "data", &mut b).unwrap();
    assert!(b.sql.is_empty() && b.params.is_empty());
}

/// Stored times of every shape: PostgreSQL never raises on them (a single malformed value would
/// otherwise fail every time filter on the model) and agrees with SQLite's `unixepoch()` on each
/// RFC 3339 value, including the ones SQLite normalises (day 31 of April) or refuses.
#[test]
fn times_never_raise_and_agree_with_sqlite() {
    let Some(db) = Db::new("times_never_raise_and_agree_with_sqlite") else {
        return;
    };
    let rfc3339 = [
        "2021-05-13T01:00:00+08:00",
        "2021-05-13T01:00:00.5+08:00",
        "2021-05-12T17:00:00Z",
        "2021-05-12T17:00:00.000z",
        "2021-04-31T00:00:00Z",
        "2021-02-29T00:00:00Z",
        "2020-02-29T12:00:00-03:30",
        "2021-05-13T24:00:00Z",
        "0000-03-01T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "1969-12-31T23:59:59.9995Z",
        "1970-01-01T00:00:00.0004Z",
        "9999-12-31T23:59:59.999Z",
        "2021-05-13T01:00:00+14:59",
        "2021-05-13T01:00:00.123456789-00:00",
        // refused by both
        "2021-13-45T01:00:00+08:00",
        "2021-00-10T00:00:00Z",
        "2021-05-32T00:00:00Z",
        "2021-05-13T25:00:00Z",
        "2021-05-13T01:60:00Z",
        "2021-05-13T01:00:60Z",
        "2021-05-13T01:00:00+99:00",
        "2021-05-13T01:00:00+15:00",
        "2021-05-13T01:00:00.1.2Z",
        "2021-05-13t01:00:00Z",
        "not a time",
        "",
    ];
    let mut values: Vec<Value> = rfc3339.iter().map(|s| json!(s)).collect();
    values.extend([json!(5), Value::Null, json!(["2021-05-13T01:00:00Z"])]);
    // SQLite's answer for each value, from the SQLite-compiled expression's own function.
    let sqlite = rusqlite::Connection::open_in_memory().unwrap();
    let expected: Vec<Option<i64>> = values
        .iter()
        .map(|v| {
            sqlite
                .query_row(
                    "SELECT CASE WHEN json_type(?1) = 'text' THEN \
                     CAST(round(unixepoch(json_extract(?1, '$'), 'subsec') * 1000) AS INTEGER) END",
                    [v.to_string()],
                    |r| r.get::<_, Option<i64>>(0),
                )
                .unwrap()
        })
        .collect();
    assert!(
        expected.iter().filter(|e| e.is_some()).count() >= 14,
        "{expected:?}"
    );
    let rows = values.clone();
    db.rt
        .block_on(cmdb_store::write(&db.db, move |tx| {
            tx.execute_batch("CREATE TABLE tt (id BIGINT PRIMARY KEY, data JSONB NOT NULL)")?;
            for (i, v) in rows.into_iter().enumerate() {
                tx.execute(
                    "INSERT INTO tt (id, data) VALUES (?, ?)",
                    &[SqlValue::Int(i as i64), SqlValue::Json(json!({"ct": v}))],
                )?;
            }
            Ok(())
        }))
        .unwrap();
    let ids = |e: &Expr| {
        let mut b = SqlBuilder::new();
        b.push("SELECT id FROM tt WHERE ");
        compile_where(e, Dialect::Postgres, "data", &mut b).unwrap();
        b.push(" ORDER BY id");
        db.query(&b)
    };
    let ct = d("ct", FieldType::Time);
    let any_time: Vec<i64> = expected
        .iter()
        .enumerate()
        .filter(|(_, e)| e.is_some())
        .map(|(i, _)| i as i64)
        .collect();
    assert_eq!(
        ids(&time(ct.clone(), CmpOp::Gte, "", i64::MIN)),
        any_time,
        "values PostgreSQL reads as times differ from SQLite's"
    );
    for (i, e) in expected.iter().enumerate() {
        if let Some(ms) = e {
            let got = ids(&time(ct.clone(), CmpOp::Eq, "", *ms));
            assert!(
                got.contains(&(i as i64)),
                "{}: SQLite reads {ms} ms, PostgreSQL does not (matches {got:?})",
                values[i]
            );
        }
    }
    // Inside an array (element accessor): the instant of the one-element array of the last row.
    let elements = d("ct", FieldType::Time).with_array_elements();
    assert_eq!(
        ids(&time(
            elements,
            CmpOp::Eq,
            "",
            millis("2021-05-13T01:00:00Z")
        )),
        vec![values.len() as i64 - 1]
    );
    // Negation still matches everything that is not that instant, malformed values included.
    let first = expected[0].unwrap();
    assert_eq!(
        ids(&time(ct, CmpOp::Ne, "", first)).len(),
        values.len() - 3, // rows 0, 2 and 3 are the same instant
    );
}
