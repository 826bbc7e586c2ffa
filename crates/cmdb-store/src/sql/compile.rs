//! Filter AST → parameterised SQL, for both backends.
//!
//! Rows are JSON documents in one column (`doc_column`: SQLite `TEXT` JSON, PostgreSQL `jsonb`)
//! plus a few real columns ([`FieldInfo::column`]). The compiler reproduces MongoDB's query
//! semantics over them, because that is what bk-cmdb clients observe:
//!
//! * a compiled predicate is TRUE exactly when the row matches; it may be FALSE or NULL otherwise.
//!   [`Expr::Not`] is compiled as `NOT COALESCE(x, FALSE)`, so negations (`$ne`, `$nin`,
//!   `not_equal`, `not_contains`, ...) also match rows where the field is absent or null, as Mongo;
//! * comparisons only match values of the compared JSON type: `"5"` never equals `5`, `true`
//!   never equals `1`, but `5` equals `5.0`; in PostgreSQL jsonb is compared with jsonb, so no
//!   text is ever cast (a cast could fail at run time);
//! * fields with [`FieldInfo::array_elements`] match a value predicate when the field itself or
//!   any element of it matches (Mongo's implicit array matching); their negations mean "no
//!   element matches";
//! * strings order byte-wise (SQLite `BINARY`, PostgreSQL `COLLATE "C"`), as Mongo does.
//!
//! Safety: every value is a bound parameter. Names only reach the SQL text as literal JSON paths
//! (so expression indexes can match them), and only after this module re-checks each path segment
//! against `^[A-Za-z_][A-Za-z0-9_]*$` (array positions `^[0-9]+$`) — defence in depth behind the
//! catalog that bound the names. Column and document-column names are checked the same way.
//!
//! SQL uses `?` placeholders only (the PostgreSQL backend renumbers them) and never the jsonb `?`
//! operators. SQLite needs a `regexp(pattern, text)` function (registered by the SQLite backend,
//! Rust `regex` syntax) that is false/NULL for NULL or non-text input; it serves `$regex` and the
//! case-insensitive literal matches (SQLite's own `lower()` / `LIKE` fold ASCII only), while
//! case-sensitive literal matches use `GLOB` with `*?[` bracketed. PostgreSQL uses `~` / `~*` and
//! `LIKE ... ESCAPE '\'` with `%`, `_`, `\` escaped (`lower()` on both sides when
//! case-insensitive).

use cmdb_domain::filter::{CmpOp, Expr, FieldInfo, FieldType, StrMatch, ELEMENT_FIELD};
use cmdb_domain::DomainError;
use serde_json::Value;

use super::SqlBuilder;
use crate::{Dialect, SqlValue, StoreError};

/// The SQL expression that extracts field `name` from the document column, in EXACTLY the form
/// the filter compiler uses for equality, so that an expression index built from it is usable:
///
/// * SQLite: `json_extract(<doc>, '$.<name>')` (nested: `'$.a.b'`, positions `'$.a[2]'`);
/// * PostgreSQL: `(<doc> -> '<name>')` (nested: `(<doc> -> 'a' -> 'b')`, positions `-> 2`),
///   a `jsonb` value.
///
/// `name` may be a dotted path (see [`FieldInfo::name`]); each segment must match
/// `^[A-Za-z_][A-Za-z0-9_]*$` (positions: up to 9 digits) or the result is 1199006 naming it.
pub fn json_field_expr(
    dialect: Dialect,
    doc_column: &str,
    name: &str,
) -> Result<String, StoreError> {
    check_doc_column(doc_column)?;
    let segs = parse_path(name)?;
    Ok(match dialect {
        Dialect::Sqlite => format!("json_extract({doc_column}, '{}')", sqlite_path(&segs)),
        Dialect::Postgres => format!("({doc_column}{})", pg_arrows(&segs, false)),
    })
}

/// The field as text. PostgreSQL: `(<doc> ->> '<name>')` (the unquoted string for JSON strings,
/// JSON text otherwise), the form text predicates use; SQLite: the same as [`json_field_expr`]
/// (`json_extract` already yields SQL text for JSON strings).
pub fn json_text_expr(
    dialect: Dialect,
    doc_column: &str,
    name: &str,
) -> Result<String, StoreError> {
    check_doc_column(doc_column)?;
    let segs = parse_path(name)?;
    Ok(match dialect {
        Dialect::Sqlite => format!("json_extract({doc_column}, '{}')", sqlite_path(&segs)),
        Dialect::Postgres => format!("({doc_column}{})", pg_arrows(&segs, true)),
    })
}

/// Appends a boolean SQL expression for `expr` to `out` (text and parameters), to be used after
/// `WHERE` / `AND`. The row's JSON document is in `doc_column` (`data`, or `t.data` with a table
/// alias); fields with [`FieldInfo::column`] are read from that column of the same row.
///
/// Expectations on real columns (all backends): [`FieldType::Int`] columns are `INTEGER` /
/// `BIGINT`, [`FieldType::Float`] `REAL` / `DOUBLE PRECISION`, [`FieldType::Text`] `TEXT`,
/// [`FieldType::Bool`] SQLite 0/1 / `BOOLEAN`, [`FieldType::Time`] Unix milliseconds (`BIGINT`).
/// A comparison whose value has the wrong JSON type for a column is simply FALSE.
///
/// Errors: a field name, column name or `doc_column` that fails the identifier check; a
/// non-scalar comparison value (the parsers never produce one).
pub fn compile_where(
    expr: &Expr,
    dialect: Dialect,
    doc_column: &str,
    out: &mut SqlBuilder,
) -> Result<(), StoreError> {
    check_doc_column(doc_column)?;
    let mut c = Compiler {
        dialect,
        doc: doc_column,
        aliases: 0,
        elements: Vec::new(),
    };
    c.expr(expr, out)
}

/// Appends the `ORDER BY` terms (without the keywords, comma-separated, nothing for an empty
/// list) for `sort` = `(field, descending)` pairs from [`cmdb_domain::filter::parse_sort`].
/// The caller adds its deterministic tiebreak (`, inst_id ASC`).
///
/// Columns sort directly (absent/NULL first ascending, last descending; PostgreSQL text
/// columns `COLLATE "C"`). JSON fields sort Mongo-like and identically on both backends: first
/// by type rank (absent/null < numbers < strings < bools < arrays/objects), then numbers
/// numerically and strings byte-wise.
pub fn compile_order_by(
    sort: &[(FieldInfo, bool)],
    dialect: Dialect,
    doc_column: &str,
    out: &mut SqlBuilder,
) -> Result<(), StoreError> {
    check_doc_column(doc_column)?;
    let c = Compiler {
        dialect,
        doc: doc_column,
        aliases: 0,
        elements: Vec::new(),
    };
    for (i, (field, desc)) in sort.iter().enumerate() {
        if i > 0 {
            out.push(", ");
        }
        let dir = if *desc { " DESC" } else { " ASC" };
        let acc = c.accessor(field)?;
        match (&acc.kind, dialect) {
            (Kind::Column(col, ty), _) => {
                out.push(col);
                if dialect == Dialect::Postgres && *ty == FieldType::Text {
                    out.push(" COLLATE \"C\"");
                }
                out.push(dir);
                out.push(if *desc { " NULLS LAST" } else { " NULLS FIRST" });
            }
            (_, Dialect::Sqlite) => {
                out.push("CASE ")
                    .push(&acc.typ)
                    .push(
                        " WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 \
                         WHEN 'true' THEN 3 WHEN 'false' THEN 3 WHEN 'array' THEN 4 \
                         WHEN 'object' THEN 4 ELSE 0 END",
                    )
                    .push(dir)
                    .push(", ")
                    .push(&acc.json)
                    .push(dir);
            }
            (_, Dialect::Postgres) => {
                out.push("CASE ")
                    .push(&acc.typ)
                    .push(
                        " WHEN 'number' THEN 1 WHEN 'string' THEN 2 WHEN 'boolean' THEN 3 \
                         WHEN 'array' THEN 4 WHEN 'object' THEN 4 ELSE 0 END",
                    )
                    .push(dir)
                    .push(", CASE WHEN ")
                    .push(&acc.typ)
                    .push(" = 'number' THEN (")
                    .push(&acc.json)
                    .push(")::numeric END")
                    .push(dir)
                    .push(", (CASE WHEN ")
                    .push(&acc.typ)
                    .push(" <> 'number' THEN ")
                    .push(&acc.json)
                    .push(" #>> '{}' END) COLLATE \"C\"")
                    .push(dir);
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Names

enum Seg<'a> {
    Key(&'a str),
    Index(&'a str),
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`, written out (no regex object to build or unwrap).
fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn parse_path(name: &str) -> Result<Vec<Seg<'_>>, StoreError> {
    let bad = || StoreError::Domain(DomainError::ParamsInvalid(name.to_string()));
    let mut segs = Vec::new();
    for (i, part) in name.split('.').enumerate() {
        if is_ident(part) {
            segs.push(Seg::Key(part));
        } else if i > 0
            && !part.is_empty()
            && part.len() <= 9
            && part.bytes().all(|b| b.is_ascii_digit())
        {
            segs.push(Seg::Index(part));
        } else {
            return Err(bad());
        }
    }
    Ok(segs)
}

/// `data` or `alias.data`.
fn check_doc_column(doc: &str) -> Result<(), StoreError> {
    let ok = match doc.split_once('.') {
        Some((a, b)) => is_ident(a) && is_ident(b),
        None => is_ident(doc),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "invalid document column name {doc:?}"
        )))
    }
}

fn check_column(col: &str) -> Result<(), StoreError> {
    if is_ident(col) {
        Ok(())
    } else {
        Err(StoreError::Backend(format!("invalid column name {col:?}")))
    }
}

fn sqlite_path(segs: &[Seg<'_>]) -> String {
    let mut p = String::from("$");
    for s in segs {
        match s {
            Seg::Key(k) => {
                p.push('.');
                p.push_str(k);
            }
            Seg::Index(i) => {
                p.push('[');
                p.push_str(i);
                p.push(']');
            }
        }
    }
    p
}

fn pg_arrows(segs: &[Seg<'_>], text: bool) -> String {
    let mut p = String::new();
    for (i, s) in segs.iter().enumerate() {
        let arrow = if text && i + 1 == segs.len() {
            " ->> "
        } else {
            " -> "
        };
        p.push_str(arrow);
        match s {
            Seg::Key(k) => {
                p.push('\'');
                p.push_str(k);
                p.push('\'');
            }
            Seg::Index(n) => p.push_str(n),
        }
    }
    p
}

// ---------------------------------------------------------------------------------------------
// Accessors: how one field is read in SQL.

enum Kind {
    /// In the document.
    Doc,
    /// The current element of an enclosing `json_each` / `jsonb_array_elements`.
    Elem,
    /// A real column.
    Column(&'static str, FieldType),
}

struct Acc {
    kind: Kind,
    /// SQLite: the SQL value (`json_extract(...)`, `je1.value`). PostgreSQL: the `jsonb` value.
    json: String,
    /// PostgreSQL: the value as text (`->>`, `#>> '{}'`). SQLite: same as `json`.
    text: String,
    /// SQLite: `json_type(...)` / `je1.type`. PostgreSQL: `jsonb_typeof(...)`.
    typ: String,
    /// SQLite document fields: the `<doc>, '<path>'` arguments of `json_each`.
    each_args: String,
}

/// One alternative of an `IN` translation, written on demand.
type Alternative<'a> = Box<dyn Fn(&mut SqlBuilder) + 'a>;

struct Compiler<'a> {
    dialect: Dialect,
    doc: &'a str,
    /// Counter for `json_each` aliases (`je1`, `je2`, ...).
    aliases: usize,
    /// Aliases of the enclosing [`Expr::AnyElement`] element tables, innermost last.
    elements: Vec<String>,
}

impl Compiler<'_> {
    fn pg(&self) -> bool {
        self.dialect == Dialect::Postgres
    }

    fn accessor(&self, field: &FieldInfo) -> Result<Acc, StoreError> {
        if field.name == ELEMENT_FIELD {
            if let Some(alias) = self.elements.last() {
                return Ok(self.elem_acc(alias));
            }
        }
        if let Some(col) = field.column {
            check_column(col)?;
            return Ok(Acc {
                kind: Kind::Column(col, field.ty),
                json: col.to_string(),
                text: col.to_string(),
                typ: String::new(),
                each_args: String::new(),
            });
        }
        let segs = parse_path(&field.name)?;
        let doc = self.doc;
        Ok(match self.dialect {
            Dialect::Sqlite => {
                let path = sqlite_path(&segs);
                let json = format!("json_extract({doc}, '{path}')");
                Acc {
                    kind: Kind::Doc,
                    text: json.clone(),
                    json,
                    typ: format!("json_type({doc}, '{path}')"),
                    each_args: format!("{doc}, '{path}'"),
                }
            }
            Dialect::Postgres => {
                let json = format!("({doc}{})", pg_arrows(&segs, false));
                Acc {
                    kind: Kind::Doc,
                    text: format!("({doc}{})", pg_arrows(&segs, true)),
                    typ: format!("jsonb_typeof({json})"),
                    json,
                    each_args: String::new(),
                }
            }
        })
    }

    fn elem_acc(&self, alias: &str) -> Acc {
        match self.dialect {
            Dialect::Sqlite => Acc {
                kind: Kind::Elem,
                json: format!("{alias}.value"),
                text: format!("{alias}.value"),
                typ: format!("{alias}.type"),
                each_args: String::new(),
            },
            Dialect::Postgres => Acc {
                kind: Kind::Elem,
                json: format!("{alias}.value"),
                text: format!("({alias}.value #>> '{{}}')"),
                typ: format!("jsonb_typeof({alias}.value)"),
                each_args: String::new(),
            },
        }
    }

    // --- type guards -----------------------------------------------------------------------

    fn is_text(&self, a: &Acc) -> String {
        if self.pg() {
            format!("{} = 'string'", a.typ)
        } else {
            format!("{} = 'text'", a.typ)
        }
    }

    fn is_number(&self, a: &Acc) -> String {
        if self.pg() {
            format!("{} = 'number'", a.typ)
        } else {
            format!("{} IN ('integer', 'real')", a.typ)
        }
    }

    fn is_bool(&self, a: &Acc) -> String {
        if self.pg() {
            format!("{} = 'boolean'", a.typ)
        } else {
            format!("{} IN ('true', 'false')", a.typ)
        }
    }

    // --- expressions ------------------------------------------------------------------------

    fn expr(&mut self, e: &Expr, out: &mut SqlBuilder) -> Result<(), StoreError> {
        match e {
            Expr::True => {
                out.push("TRUE");
            }
            Expr::False => {
                out.push("FALSE");
            }
            Expr::And(parts) => self.join(parts, " AND ", "TRUE", out)?,
            Expr::Or(parts) => self.join(parts, " OR ", "FALSE", out)?,
            Expr::Not(inner) => {
                out.push("NOT COALESCE(");
                self.expr(inner, out)?;
                out.push(", FALSE)");
            }
            Expr::Cmp { field, op, value } => match op {
                CmpOp::Ne => self.negated(out, |c, out| {
                    c.value_pred(field, out, &|c, a, out| c.eq_leaf(field, a, value, out))
                })?,
                CmpOp::Eq => {
                    self.value_pred(field, out, &|c, a, out| c.eq_leaf(field, a, value, out))?
                }
                _ => self.value_pred(field, out, &|c, a, out| c.ord_leaf(a, *op, value, out))?,
            },
            Expr::TimeCmp {
                field,
                op,
                value,
                millis,
            } => {
                let leaf = |c: &mut Compiler<'_>, a: &Acc, out: &mut SqlBuilder, op: CmpOp| {
                    c.time_leaf(a, op, value, *millis, out)
                };
                if *op == CmpOp::Ne {
                    self.negated(out, |c, out| {
                        c.value_pred(field, out, &|c, a, out| leaf(c, a, out, CmpOp::Eq))
                    })?
                } else {
                    self.value_pred(field, out, &|c, a, out| leaf(c, a, out, *op))?
                }
            }
            Expr::In {
                field,
                values,
                negate,
            } => {
                let pred = |c: &mut Compiler<'_>, out: &mut SqlBuilder| {
                    c.value_pred(field, out, &|c, a, out| c.in_leaf(field, a, values, out))
                };
                if *negate {
                    self.negated(out, pred)?
                } else {
                    pred(self, out)?
                }
            }
            Expr::Regex {
                field,
                pattern,
                case_insensitive,
            } => self.value_pred(field, out, &|c, a, out| {
                c.regex_leaf(a, pattern, *case_insensitive, out)
            })?,
            Expr::Like {
                field,
                kind,
                value,
                case_insensitive,
            } => self.value_pred(field, out, &|c, a, out| {
                c.like_leaf(a, *kind, value, *case_insensitive, out)
            })?,
            Expr::Exists { field, exists } => {
                let a = self.accessor(field)?;
                let sql = match (&a.kind, self.dialect) {
                    (Kind::Elem, _) => bool_sql(*exists).to_string(),
                    (Kind::Column(..), _) | (Kind::Doc, Dialect::Postgres) => {
                        format!("{} IS {}NULL", a.json, if *exists { "NOT " } else { "" })
                    }
                    (Kind::Doc, Dialect::Sqlite) => {
                        format!("{} IS {}NULL", a.typ, if *exists { "NOT " } else { "" })
                    }
                };
                out.push(&sql);
            }
            Expr::IsNull { field } => {
                let a = self.accessor(field)?;
                out.push(&self.null_test(&a));
            }
            Expr::IsEmpty { field } => {
                let a = self.accessor(field)?;
                self.array_len(&a, out, |out| {
                    out.push("0");
                });
            }
            Expr::Size { field, len } => {
                let a = self.accessor(field)?;
                let pg = self.pg();
                self.array_len(&a, out, |out| {
                    if pg {
                        out.push("CAST(")
                            .bind(SqlValue::Int(*len))
                            .push(" AS BIGINT)");
                    } else {
                        out.bind(SqlValue::Int(*len));
                    }
                });
            }
            Expr::All { field, values } => {
                if values.is_empty() {
                    out.push("FALSE");
                } else {
                    // Every value must be the field or one of its elements.
                    let elems = FieldInfo {
                        array_elements: true,
                        ..field.clone()
                    };
                    out.push("(");
                    for (i, v) in values.iter().enumerate() {
                        if i > 0 {
                            out.push(" AND ");
                        }
                        self.value_pred(&elems, out, &|c, a, out| c.eq_leaf(&elems, a, v, out))?;
                    }
                    out.push(")");
                }
            }
            Expr::AnyElement { field, pred } => {
                let a = self.accessor(field)?;
                self.any_element(&a, out, &|c, out| c.expr(pred, out))?;
            }
        }
        Ok(())
    }

    fn join(
        &mut self,
        parts: &[Expr],
        sep: &str,
        empty: &str,
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        if parts.is_empty() {
            out.push(empty);
            return Ok(());
        }
        out.push("(");
        for (i, p) in parts.iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            self.expr(p, out)?;
        }
        out.push(")");
        Ok(())
    }

    /// `NOT COALESCE(<inner>, FALSE)`: true when `inner` is FALSE or NULL.
    fn negated(
        &mut self,
        out: &mut SqlBuilder,
        inner: impl FnOnce(&mut Self, &mut SqlBuilder) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        out.push("NOT COALESCE(");
        inner(self, out)?;
        out.push(", FALSE)");
        Ok(())
    }

    /// A predicate on the field's value; with element semantics, on the value or any element.
    fn value_pred(
        &mut self,
        field: &FieldInfo,
        out: &mut SqlBuilder,
        leaf: &dyn Fn(&mut Self, &Acc, &mut SqlBuilder) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let a = self.accessor(field)?;
        if field.array_elements && !matches!(a.kind, Kind::Column(..)) {
            out.push("(");
            leaf(self, &a, out)?;
            out.push(" OR ");
            self.any_element(&a, out, &|c, out| {
                let alias = c.elements.last().cloned().unwrap_or_default();
                let e = c.elem_acc(&alias);
                leaf(c, &e, out)
            })?;
            out.push(")");
            Ok(())
        } else {
            leaf(self, &a, out)
        }
    }

    /// `EXISTS (SELECT 1 FROM <elements of a> AS jeN WHERE <body>)`; FALSE for columns.
    fn any_element(
        &mut self,
        a: &Acc,
        out: &mut SqlBuilder,
        body: &dyn Fn(&mut Self, &mut SqlBuilder) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if matches!(a.kind, Kind::Column(..)) {
            out.push("FALSE");
            return Ok(());
        }
        self.aliases += 1;
        let alias = format!("je{}", self.aliases);
        match (self.dialect, &a.kind) {
            (Dialect::Sqlite, Kind::Doc) => {
                // json_each over a scalar yields the scalar itself: guard on the type. No error
                // is possible either way, so the guard need not be evaluated first.
                out.push("(")
                    .push(&a.typ)
                    .push(" = 'array' AND EXISTS (SELECT 1 FROM json_each(")
                    .push(&a.each_args)
                    .push(") AS ")
                    .push(&alias)
                    .push(" WHERE ");
            }
            (Dialect::Sqlite, _) => {
                // An element's value is raw text for strings: only hand arrays to json_each.
                out.push("(EXISTS (SELECT 1 FROM json_each(CASE WHEN ")
                    .push(&a.typ)
                    .push(" = 'array' THEN ")
                    .push(&a.json)
                    .push(" ELSE '[]' END) AS ")
                    .push(&alias)
                    .push(" WHERE ");
            }
            (Dialect::Postgres, _) => {
                // jsonb_array_elements raises on non-arrays; CASE guarantees it never sees one.
                out.push("(EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN ")
                    .push(&a.typ)
                    .push(" = 'array' THEN ")
                    .push(&a.json)
                    .push(" ELSE '[]'::jsonb END) AS ")
                    .push(&alias)
                    .push("(value) WHERE ");
            }
        }
        self.elements.push(alias);
        let r = body(self, out);
        self.elements.pop();
        r?;
        out.push("))");
        Ok(())
    }

    /// `CASE WHEN <array> THEN <length> ELSE -1 END = <rhs>`.
    fn array_len(&self, a: &Acc, out: &mut SqlBuilder, rhs: impl FnOnce(&mut SqlBuilder)) {
        if matches!(a.kind, Kind::Column(..)) {
            out.push("FALSE");
            return;
        }
        let len_fn = if self.pg() {
            "jsonb_array_length("
        } else {
            "json_array_length("
        };
        out.push("(CASE WHEN ")
            .push(&a.typ)
            .push(" = 'array' THEN ")
            .push(len_fn)
            .push(&a.json)
            .push(") ELSE -1 END = ");
        rhs(out);
        out.push(")");
    }

    /// Absent or JSON null.
    fn null_test(&self, a: &Acc) -> String {
        match (&a.kind, self.dialect) {
            (Kind::Column(..), _) => format!("{} IS NULL", a.json),
            (Kind::Doc, Dialect::Sqlite) => format!("{} IS NULL", a.json),
            (Kind::Elem, Dialect::Sqlite) => format!("{} = 'null'", a.typ),
            (_, Dialect::Postgres) => format!("({} IS NULL OR {} = 'null')", a.json, a.typ),
        }
    }

    // --- leaves -----------------------------------------------------------------------------

    fn eq_leaf(
        &self,
        field: &FieldInfo,
        a: &Acc,
        value: &Value,
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        if let Kind::Column(col, ty) = a.kind {
            if value.is_null() {
                out.push(col).push(" IS NULL");
            } else if let Some(v) = column_value(ty, value) {
                out.push(col).push(" = ").bind(v);
            } else {
                out.push("FALSE");
            }
            return Ok(());
        }
        match value {
            Value::Null => {
                out.push(&self.null_test(a));
            }
            Value::Array(_) | Value::Object(_) => return Err(non_scalar(field)),
            _ if self.pg() => {
                out.push(&a.json)
                    .push(" = ")
                    .bind(SqlValue::Json(value.clone()));
            }
            Value::Bool(b) => {
                out.push(&a.typ)
                    .push(if *b { " = 'true'" } else { " = 'false'" });
            }
            Value::Number(_) => {
                out.push("(")
                    .push(&a.json)
                    .push(" = ")
                    .bind(number_value(value))
                    .push(" AND ")
                    .push(&self.is_number(a))
                    .push(")");
            }
            Value::String(s) => {
                out.push("(")
                    .push(&a.json)
                    .push(" = ")
                    .bind(SqlValue::Text(s.clone()))
                    .push(" AND ")
                    .push(&self.is_text(a))
                    .push(")");
            }
        }
        Ok(())
    }

    fn ord_leaf(
        &self,
        a: &Acc,
        op: CmpOp,
        value: &Value,
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        let sym = op_sql(op);
        if let Kind::Column(col, ty) = a.kind {
            column_ord(col, ty, op, value, self.pg(), out);
            return Ok(());
        }
        let (guard, lhs, param) = match value {
            Value::Null => {
                // Mongo: `$lte: null` / `$gte: null` match null or absent, `$lt` / `$gt` nothing.
                if matches!(op, CmpOp::Lte | CmpOp::Gte) {
                    out.push(&self.null_test(a));
                } else {
                    out.push("FALSE");
                }
                return Ok(());
            }
            Value::Array(_) | Value::Object(_) => {
                out.push("FALSE");
                return Ok(());
            }
            Value::Bool(b) if self.pg() => (
                self.is_bool(a),
                a.json.clone(),
                SqlValue::Json(Value::Bool(*b)),
            ),
            Value::Bool(b) => (
                self.is_bool(a),
                a.json.clone(),
                SqlValue::Int(i64::from(*b)),
            ),
            Value::Number(_) if self.pg() => (
                self.is_number(a),
                a.json.clone(),
                SqlValue::Json(value.clone()),
            ),
            Value::Number(_) => (self.is_number(a), a.json.clone(), number_value(value)),
            Value::String(s) if self.pg() => (
                self.is_text(a),
                format!("{} COLLATE \"C\"", a.text),
                SqlValue::Text(s.clone()),
            ),
            Value::String(s) => (self.is_text(a), a.json.clone(), SqlValue::Text(s.clone())),
        };
        out.push("(")
            .push(&guard)
            .push(" AND ")
            .push(&lhs)
            .push(sym)
            .bind(param)
            .push(")");
        Ok(())
    }

    fn time_leaf(
        &self,
        a: &Acc,
        op: CmpOp,
        text: &str,
        millis: i64,
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        let sym = op_sql(op);
        if let Kind::Column(col, ty) = a.kind {
            match ty {
                FieldType::Time | FieldType::Int | FieldType::Float => {
                    out.push(col).push(sym).bind(SqlValue::Int(millis));
                }
                FieldType::Text => {
                    out.push(col);
                    if self.pg() {
                        out.push(" COLLATE \"C\"");
                    }
                    out.push(sym).bind(SqlValue::Text(text.to_string()));
                }
                _ => {
                    out.push("FALSE");
                }
            }
            return Ok(());
        }
        // Stored times are RFC 3339 strings whose fraction width varies (Go drops trailing
        // zeros), so they are compared as instants, not as text.
        if self.pg() {
            out.push("(CASE WHEN ")
                .push(&self.is_text(a))
                .push(" AND ")
                .push(&a.text)
                .push(" ~ '")
                .push(PG_RFC3339)
                .push("' THEN ")
                .push(&pg_rfc3339_millis(&a.text))
                .push(" END)")
                .push(sym)
                .bind(SqlValue::Int(millis));
        } else {
            out.push("(")
                .push(&self.is_text(a))
                .push(" AND CAST(round(unixepoch(")
                .push(&a.json)
                .push(", 'subsec') * 1000) AS INTEGER)")
                .push(sym)
                .bind(SqlValue::Int(millis))
                .push(")");
        }
        let _ = text;
        Ok(())
    }

    fn in_leaf(
        &self,
        field: &FieldInfo,
        a: &Acc,
        values: &[Value],
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        if values
            .iter()
            .any(|v| matches!(v, Value::Array(_) | Value::Object(_)))
        {
            return Err(non_scalar(field));
        }
        let has_null = values.iter().any(Value::is_null);
        // Alternatives, each a closure over `out`, joined by OR.
        let mut parts: Vec<Alternative<'_>> = Vec::new();
        if let Kind::Column(col, ty) = a.kind {
            let vals: Vec<SqlValue> = values.iter().filter_map(|v| column_value(ty, v)).collect();
            if !vals.is_empty() {
                parts.push(Box::new(move |out: &mut SqlBuilder| {
                    out.push(col).push(" IN (");
                    bind_list(out, vals.iter().cloned());
                    out.push(")");
                }));
            }
            if has_null {
                parts.push(Box::new(move |out: &mut SqlBuilder| {
                    out.push(col).push(" IS NULL");
                }));
            }
        } else if self.pg() {
            let vals: Vec<SqlValue> = values
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| SqlValue::Json(v.clone()))
                .collect();
            if !vals.is_empty() {
                parts.push(Box::new(move |out: &mut SqlBuilder| {
                    out.push(&a.json).push(" IN (");
                    bind_list(out, vals.iter().cloned());
                    out.push(")");
                }));
            }
        } else {
            let strings: Vec<SqlValue> = values
                .iter()
                .filter_map(|v| v.as_str().map(|s| SqlValue::Text(s.to_string())))
                .collect();
            let numbers: Vec<SqlValue> = values
                .iter()
                .filter(|v| v.is_number())
                .map(number_value)
                .collect();
            let has_true = values.iter().any(|v| v == &Value::Bool(true));
            let has_false = values.iter().any(|v| v == &Value::Bool(false));
            for (vals, guard) in [(strings, self.is_text(a)), (numbers, self.is_number(a))] {
                if !vals.is_empty() {
                    parts.push(Box::new(move |out: &mut SqlBuilder| {
                        out.push("(").push(&a.json).push(" IN (");
                        bind_list(out, vals.iter().cloned());
                        out.push(") AND ").push(&guard).push(")");
                    }));
                }
            }
            let bools = match (has_true, has_false) {
                (true, true) => Some(self.is_bool(a)),
                (true, false) => Some(format!("{} = 'true'", a.typ)),
                (false, true) => Some(format!("{} = 'false'", a.typ)),
                (false, false) => None,
            };
            if let Some(b) = bools {
                parts.push(Box::new(move |out: &mut SqlBuilder| {
                    out.push(&b);
                }));
            }
        }
        if has_null && !matches!(a.kind, Kind::Column(..)) {
            let t = self.null_test(a);
            parts.push(Box::new(move |out: &mut SqlBuilder| {
                out.push(&t);
            }));
        }
        match parts.as_slice() {
            [] => {
                out.push("FALSE");
            }
            [only] => only(out),
            many => {
                out.push("(");
                for (i, p) in many.iter().enumerate() {
                    if i > 0 {
                        out.push(" OR ");
                    }
                    p(out);
                }
                out.push(")");
            }
        }
        Ok(())
    }

    fn regex_leaf(
        &self,
        a: &Acc,
        pattern: &str,
        case_insensitive: bool,
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        let (guard, subject) = match a.kind {
            Kind::Column(col, FieldType::Text) => (None, col.to_string()),
            Kind::Column(..) => {
                out.push("FALSE");
                return Ok(());
            }
            _ => (Some(self.is_text(a)), a.text.clone()),
        };
        out.push("(");
        if let Some(g) = guard {
            out.push(&g).push(" AND ");
        }
        if self.pg() {
            out.push(&subject)
                .push(if case_insensitive { " ~* " } else { " ~ " })
                .bind(SqlValue::Text(pattern.to_string()));
        } else {
            let p = if case_insensitive {
                format!("(?i){pattern}")
            } else {
                pattern.to_string()
            };
            out.push("regexp(")
                .bind(SqlValue::Text(p))
                .push(", ")
                .push(&subject)
                .push(")");
        }
        out.push(")");
        Ok(())
    }

    fn like_leaf(
        &self,
        a: &Acc,
        kind: StrMatch,
        value: &str,
        case_insensitive: bool,
        out: &mut SqlBuilder,
    ) -> Result<(), StoreError> {
        let (guard, subject) = match a.kind {
            Kind::Column(col, FieldType::Text) => (None, col.to_string()),
            Kind::Column(..) => {
                out.push("FALSE");
                return Ok(());
            }
            _ => (Some(self.is_text(a)), a.text.clone()),
        };
        out.push("(");
        if let Some(g) = guard {
            out.push(&g).push(" AND ");
        }
        match (self.dialect, case_insensitive) {
            (Dialect::Sqlite, false) => {
                // SQLite's LIKE ignores ASCII case; GLOB is the case-sensitive matcher.
                out.push(&subject)
                    .push(" GLOB ")
                    .bind(SqlValue::Text(glob_pattern(kind, value)));
            }
            (Dialect::Sqlite, true) => {
                // SQLite's lower() and LIKE fold ASCII only; the escaped literal through the
                // Unicode-aware `regexp` matches like Mongo's `$options: "i"`.
                out.push("regexp(")
                    .bind(SqlValue::Text(ci_literal_regex(kind, value)))
                    .push(", ")
                    .push(&subject)
                    .push(")");
            }
            (Dialect::Postgres, false) => {
                out.push(&subject)
                    .push(" LIKE ")
                    .bind(SqlValue::Text(like_pattern(kind, value)))
                    .push(" ESCAPE '\\'");
            }
            (Dialect::Postgres, true) => {
                out.push("lower(")
                    .push(&subject)
                    .push(") LIKE lower(CAST(")
                    .bind(SqlValue::Text(like_pattern(kind, value)))
                    .push(" AS TEXT)) ESCAPE '\\'");
            }
        }
        out.push(")");
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Values

fn bool_sql(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}

fn op_sql(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => " = ",
        CmpOp::Ne => " <> ",
        CmpOp::Lt => " < ",
        CmpOp::Lte => " <= ",
        CmpOp::Gt => " > ",
        CmpOp::Gte => " >= ",
    }
}

fn non_scalar(field: &FieldInfo) -> StoreError {
    StoreError::Domain(DomainError::ParamsInvalid(field.name.clone()))
}

/// A JSON number as an SQL number: integers stay exact, everything else is a double.
fn number_value(v: &Value) -> SqlValue {
    match v.as_i64() {
        Some(i) => SqlValue::Int(i),
        None => SqlValue::Float(v.as_f64().unwrap_or(f64::NAN)),
    }
}

fn bind_list(out: &mut SqlBuilder, vals: impl Iterator<Item = SqlValue>) {
    for (i, v) in vals.enumerate() {
        if i > 0 {
            out.push(", ");
        }
        out.bind(v);
    }
}

/// The parameter for comparing a column of type `ty` with `v`, or `None` when no stored value
/// of that column can equal `v`.
fn column_value(ty: FieldType, v: &Value) -> Option<SqlValue> {
    match (ty, v) {
        (FieldType::Int, Value::Number(n)) => n.as_i64().map(SqlValue::Int).or_else(|| {
            let f = n.as_f64()?;
            (f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64)
                .then_some(SqlValue::Int(f as i64))
        }),
        (FieldType::Float, Value::Number(n)) => n.as_f64().map(SqlValue::Float),
        (FieldType::Text, Value::String(s)) => Some(SqlValue::Text(s.clone())),
        (FieldType::Bool, Value::Bool(b)) => Some(SqlValue::Bool(*b)),
        _ => None,
    }
}

/// Ordered comparison on a real column. Integer columns compare with an integer bound so the
/// parameter type always matches the column (PostgreSQL infers it from the column).
fn column_ord(col: &str, ty: FieldType, op: CmpOp, v: &Value, pg: bool, out: &mut SqlBuilder) {
    let sym = op_sql(op);
    match (ty, v) {
        (FieldType::Int, Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                out.push(col).push(sym).bind(SqlValue::Int(i));
                return;
            }
            let f = n.as_f64().unwrap_or(f64::NAN);
            // col < 2.5 ⇔ col < 3; col <= 2.5 ⇔ col <= 2; col > 2.5 ⇔ col > 2; col >= 2.5 ⇔ col >= 3
            let bound = match op {
                CmpOp::Lt | CmpOp::Gte => f.ceil(),
                _ => f.floor(),
            };
            if bound.is_nan() {
                out.push("FALSE");
            } else if bound >= i64::MAX as f64 {
                // Above every integer: < / <= hold for every value, > / >= for none.
                out.push(if matches!(op, CmpOp::Lt | CmpOp::Lte) {
                    col
                } else {
                    "NULL"
                });
                if matches!(op, CmpOp::Lt | CmpOp::Lte) {
                    out.push(" IS NOT NULL");
                }
            } else if bound <= i64::MIN as f64 {
                out.push(if matches!(op, CmpOp::Gt | CmpOp::Gte) {
                    col
                } else {
                    "NULL"
                });
                if matches!(op, CmpOp::Gt | CmpOp::Gte) {
                    out.push(" IS NOT NULL");
                }
            } else {
                out.push(col).push(sym).bind(SqlValue::Int(bound as i64));
            }
        }
        (FieldType::Float, Value::Number(n)) => {
            out.push(col)
                .push(sym)
                .bind(SqlValue::Float(n.as_f64().unwrap_or(f64::NAN)));
        }
        (FieldType::Text, Value::String(s)) => {
            out.push(col);
            if pg {
                out.push(" COLLATE \"C\"");
            }
            out.push(sym).bind(SqlValue::Text(s.clone()));
        }
        (FieldType::Bool, Value::Bool(b)) => {
            out.push(col).push(sym).bind(SqlValue::Bool(*b));
        }
        _ => {
            out.push("FALSE");
        }
    }
}

/// A `LIKE` pattern (escape character `\`) matching `value` literally.
fn like_pattern(kind: StrMatch, value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 4);
    if matches!(kind, StrMatch::Suffix | StrMatch::Contains) {
        s.push('%');
    }
    for ch in value.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    if matches!(kind, StrMatch::Prefix | StrMatch::Contains) {
        s.push('%');
    }
    s
}

/// A case-insensitive regular expression matching `value` literally (SQLite `regexp`).
fn ci_literal_regex(kind: StrMatch, value: &str) -> String {
    let lit = regex::escape(value);
    match kind {
        StrMatch::Prefix => format!("(?i)\\A{lit}"),
        StrMatch::Suffix => format!("(?i){lit}\\z"),
        StrMatch::Contains => format!("(?i){lit}"),
    }
}

/// A SQLite `GLOB` pattern matching `value` literally (`*`, `?` and `[` are bracketed).
fn glob_pattern(kind: StrMatch, value: &str) -> String {
    let mut s = String::with_capacity(value.len() + 4);
    if matches!(kind, StrMatch::Suffix | StrMatch::Contains) {
        s.push('*');
    }
    for ch in value.chars() {
        match ch {
            '*' => s.push_str("[*]"),
            '?' => s.push_str("[?]"),
            '[' => s.push_str("[[]"),
            c => s.push(c),
        }
    }
    if matches!(kind, StrMatch::Prefix | StrMatch::Contains) {
        s.push('*');
    }
    s
}

/// The RFC 3339 instants the PostgreSQL time comparison understands: the ranges SQLite's
/// `unixepoch()` accepts (month 01-12, day 01-31, hour 00-24, minute and second 00-59, offset
/// up to ±14:59, any fraction), so that [`pg_rfc3339_millis`] can never fail on a value that
/// passed it. (A `CAST(... AS TIMESTAMPTZ)` would raise on `2021-04-31T...` or `+99:00` and
/// make the whole query fail; SQLite yields NULL, i.e. no match, or normalises the day.)
const PG_RFC3339: &str = "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-4]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+){0,1}([Zz]|[+-](0[0-9]|1[0-4]):[0-5][0-9])$";

/// Unix milliseconds of a text matching [`PG_RFC3339`], in integer arithmetic only (no cast
/// that can raise, no time zone database): days from the civil date (proleptic Gregorian, a
/// day past the month's end rolls over as in SQLite), plus the time, plus the fraction rounded
/// to the millisecond and capped at .999 (as SQLite does), minus the offset. `text` is
/// evaluated once.
fn pg_rfc3339_millis(text: &str) -> String {
    format!(
        "(SELECT (cmdb_era * 146097 + cmdb_yoe * 365 + cmdb_yoe / 4 - cmdb_yoe / 100 \
         + (153 * ((cmdb_mo + 9) % 12) + 2) / 5 + cmdb_d - 1 - 719468) * 86400000 \
         + cmdb_h * 3600000 + cmdb_mi * 60000 + cmdb_s * 1000 + cmdb_fr - cmdb_tz * 60000 \
         FROM (SELECT *, cmdb_y - cmdb_era * 400 AS cmdb_yoe \
         FROM (SELECT *, (cmdb_y - CASE WHEN cmdb_y < 0 THEN 399 ELSE 0 END) / 400 AS cmdb_era \
         FROM (SELECT CAST(substr(cmdb_v, 1, 4) AS BIGINT) \
         - CASE WHEN CAST(substr(cmdb_v, 6, 2) AS BIGINT) <= 2 THEN 1 ELSE 0 END AS cmdb_y, \
         CAST(substr(cmdb_v, 6, 2) AS BIGINT) AS cmdb_mo, \
         CAST(substr(cmdb_v, 9, 2) AS BIGINT) AS cmdb_d, \
         CAST(substr(cmdb_v, 12, 2) AS BIGINT) AS cmdb_h, \
         CAST(substr(cmdb_v, 15, 2) AS BIGINT) AS cmdb_mi, \
         CAST(substr(cmdb_v, 18, 2) AS BIGINT) AS cmdb_s, \
         LEAST(COALESCE(CAST(round(CAST('0' || substring(cmdb_v FROM '^.{{19}}(\\.[0-9]+)') \
         AS NUMERIC) * 1000) AS BIGINT), 0), 999) AS cmdb_fr, \
         CASE WHEN right(cmdb_v, 1) IN ('Z', 'z') THEN 0 \
         ELSE CASE WHEN substr(right(cmdb_v, 6), 1, 1) = '-' THEN -1 ELSE 1 END \
         * (CAST(substr(right(cmdb_v, 6), 2, 2) AS BIGINT) * 60 \
         + CAST(substr(right(cmdb_v, 6), 5, 2) AS BIGINT)) END AS cmdb_tz \
         FROM (SELECT {text} AS cmdb_v) AS cmdb_t0) AS cmdb_t1) AS cmdb_t2) AS cmdb_t3)"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(is_ident("bk_inst_name"));
        assert!(is_ident("_x1"));
        assert!(!is_ident("1x"));
        assert!(!is_ident("a-b"));
        assert!(!is_ident("a'b"));
        assert!(!is_ident(""));
        assert!(!is_ident("ä"));
        assert!(parse_path("a.b.3").is_ok());
        assert!(parse_path("3.a").is_err());
        assert!(parse_path("a..b").is_err());
        assert!(parse_path("a.1234567890").is_err());
        assert!(check_doc_column("t.data").is_ok());
        assert!(check_doc_column("t.data.x").is_err());
        assert!(check_doc_column("data;").is_err());
    }

    #[test]
    fn paths() {
        assert_eq!(
            json_field_expr(Dialect::Sqlite, "data", "name").unwrap(),
            "json_extract(data, '$.name')"
        );
        assert_eq!(
            json_field_expr(Dialect::Postgres, "data", "name").unwrap(),
            "(data -> 'name')"
        );
        assert_eq!(
            json_field_expr(Dialect::Sqlite, "i.data", "a.b.2").unwrap(),
            "json_extract(i.data, '$.a.b[2]')"
        );
        assert_eq!(
            json_field_expr(Dialect::Postgres, "data", "a.b.2").unwrap(),
            "(data -> 'a' -> 'b' -> 2)"
        );
        assert_eq!(
            json_text_expr(Dialect::Postgres, "data", "a.b").unwrap(),
            "(data -> 'a' ->> 'b')"
        );
        assert_eq!(
            json_text_expr(Dialect::Sqlite, "data", "a").unwrap(),
            "json_extract(data, '$.a')"
        );
        assert!(matches!(
            json_field_expr(Dialect::Sqlite, "data", "a'b"),
            Err(StoreError::Domain(DomainError::ParamsInvalid(_)))
        ));
        assert!(matches!(
            json_field_expr(Dialect::Sqlite, "da ta", "a"),
            Err(StoreError::Backend(_))
        ));
    }

    #[test]
    fn patterns() {
        assert_eq!(like_pattern(StrMatch::Contains, "50%_\\"), "%50\\%\\_\\\\%");
        assert_eq!(like_pattern(StrMatch::Prefix, "a"), "a%");
        assert_eq!(like_pattern(StrMatch::Suffix, "a"), "%a");
        assert_eq!(
            glob_pattern(StrMatch::Contains, "a*b?[c]"),
            "*a[*]b[?][[]c]*"
        );
        assert_eq!(glob_pattern(StrMatch::Prefix, "a"), "a*");
        assert_eq!(glob_pattern(StrMatch::Suffix, "a"), "*a");
        assert_eq!(ci_literal_regex(StrMatch::Prefix, "a.b"), "(?i)\\Aa\\.b");
        assert_eq!(ci_literal_regex(StrMatch::Suffix, "a"), "(?i)a\\z");
        assert_eq!(ci_literal_regex(StrMatch::Contains, "(x)"), "(?i)\\(x\\)");
    }
}
