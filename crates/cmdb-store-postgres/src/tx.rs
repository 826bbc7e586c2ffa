//! One PostgreSQL connection inside an open transaction as a [`Tx`]: `?` → `$n` rewriting, the
//! per-connection prepared-statement cache, value conversion in both directions, sequences for
//! [`Tx::next_id`], and the mapping of PostgreSQL errors to [`StoreError`].

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use cmdb_store::ops::schema_cache::SchemaCache;
use cmdb_store::{Dialect, Row, SqlValue, StoreError, Tx};
use parking_lot::RwLock;
use postgres::error::SqlState;
use postgres::types::{FromSql, IsNull, ToSql, Type};
use postgres::{Client, Statement};
use serde_json::Value;

/// Most prepared statements kept per connection; the cache is emptied when it is full (compiled
/// filters produce many one-off statement texts, so an unbounded cache would grow forever).
const STATEMENT_CACHE: usize = 512;

/// Advisory-lock namespace (first key of the two-key form) of this backend: "CMDB".
pub(crate) const LOCK_NAMESPACE: i32 = 0x434d_4442;
/// Second key of the migration lock.
pub(crate) const LOCK_MIGRATE: i32 = 1;
/// Second keys of sequence-creation locks are `hashtext(name)`; this is the first key.
const LOCK_SEQUENCE_NAMESPACE: i32 = 0x434d_4453;

/// Prefix of the PostgreSQL sequence behind `next_id(name)`.
pub(crate) const SEQUENCE_PREFIX: &str = "cmdb_id_";

/// A pooled connection: the client and what is cached for it.
pub(crate) struct Conn {
    pub(crate) client: Client,
    /// Prepared statements by the caller's SQL text (with `?` placeholders).
    statements: HashMap<String, Statement>,
}

impl Conn {
    pub(crate) fn new(client: Client) -> Self {
        Self {
            client,
            statements: HashMap::new(),
        }
    }
}

/// Sequence names known to exist (committed), shared by all connections of a database.
pub(crate) type KnownSequences = Arc<RwLock<HashSet<String>>>;

/// A transaction on a pooled connection; the caller owns BEGIN / COMMIT / ROLLBACK.
pub(crate) struct PgTx<'c> {
    conn: &'c mut Conn,
    sequences: &'c KnownSequences,
    cache: Option<&'c SchemaCache>,
    /// A statement failed: the transaction may be in the aborted state.
    pub(crate) failed: bool,
    /// The connection is unusable (a connection-level error was seen).
    pub(crate) broken: bool,
}

impl<'c> PgTx<'c> {
    pub(crate) fn new(
        conn: &'c mut Conn,
        sequences: &'c KnownSequences,
        cache: Option<&'c SchemaCache>,
    ) -> Self {
        Self {
            conn,
            sequences,
            cache,
            failed: false,
            broken: false,
        }
    }

    fn note<T>(&mut self, r: Result<T, postgres::Error>) -> Result<T, StoreError> {
        r.map_err(|e| self.note_err(map_err(e)))
    }

    fn note_err(&mut self, e: StoreError) -> StoreError {
        self.failed = true;
        if matches!(e, StoreError::Unavailable(_)) {
            self.broken = true;
        }
        e
    }

    /// The cached prepared statement for `sql`, preparing (after renumbering) on a miss.
    fn statement(&mut self, sql: &str) -> Result<Statement, StoreError> {
        if let Some(st) = self.conn.statements.get(sql) {
            return Ok(st.clone());
        }
        let pg_sql = rewrite_placeholders(sql);
        let prepared = self.conn.client.prepare(&pg_sql);
        let st = self.note(prepared)?;
        if self.conn.statements.len() >= STATEMENT_CACHE {
            self.conn.statements.clear();
        }
        self.conn.statements.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    fn params<'p>(
        &mut self,
        st: &Statement,
        params: &'p [SqlValue],
    ) -> Result<Vec<Param<'p>>, StoreError> {
        if st.params().len() != params.len() {
            let e = StoreError::Backend(format!(
                "statement has {} placeholders but {} parameters were given",
                st.params().len(),
                params.len()
            ));
            return Err(self.note_err(e));
        }
        Ok(params.iter().map(Param).collect())
    }

    fn sequence_exists(&mut self, seq: &str) -> Result<bool, StoreError> {
        let rows = self.query(
            "SELECT to_regclass(CAST(? AS TEXT)) IS NOT NULL",
            &[SqlValue::Text(seq.to_string())],
        )?;
        Ok(matches!(
            rows.first().and_then(|r| r.first()),
            Some(SqlValue::Bool(true))
        ))
    }
}

fn as_refs<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn query(&mut self, sql: &str, params: &[SqlValue]) -> Result<Vec<Row>, StoreError> {
        let st = self.statement(sql)?;
        let bound = self.params(&st, params)?;
        let result = self.conn.client.query(&st, &as_refs(&bound));
        let rows = self.note(result)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut cells = Vec::with_capacity(row.len());
            for i in 0..row.len() {
                let cell = row.try_get::<_, Cell>(i);
                cells.push(self.note(cell)?.0);
            }
            out.push(cells);
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[SqlValue]) -> Result<u64, StoreError> {
        let st = self.statement(sql)?;
        let bound = self.params(&st, params)?;
        let result = self.conn.client.execute(&st, &as_refs(&bound));
        self.note(result)
    }

    fn execute_batch(&mut self, sql: &str) -> Result<(), StoreError> {
        let result = self.conn.client.batch_execute(sql);
        self.note(result)
    }

    fn schema_cache(&self) -> Option<&SchemaCache> {
        self.cache
    }

    /// `nextval` of the sequence `cmdb_id_<name>`: never rolled back, so ids are never reused,
    /// and no lock is held between transactions. Sequences the migrations did not create are
    /// created on first use, under an advisory lock so two transactions (or processes) creating
    /// the same one wait for each other instead of failing, and after checking existence first,
    /// so the transaction is never put into the aborted state by a missing sequence.
    fn next_id(&mut self, sequence: &str) -> Result<i64, StoreError> {
        if !is_ident(sequence) || sequence.len() > 40 {
            return Err(StoreError::Backend(format!(
                "invalid sequence name {sequence:?}"
            )));
        }
        let seq = format!("{SEQUENCE_PREFIX}{sequence}");
        let known = self.sequences.read().contains(sequence);
        if !known {
            if self.sequence_exists(&seq)? {
                self.sequences.write().insert(sequence.to_string());
            } else {
                self.query(
                    "SELECT 1 FROM pg_advisory_xact_lock(CAST(? AS INTEGER), hashtext(CAST(? AS TEXT)))",
                    &[
                        SqlValue::Int(i64::from(LOCK_SEQUENCE_NAMESPACE)),
                        SqlValue::Text(seq.clone()),
                    ],
                )?;
                // Not cached as known: the creation commits only with this transaction.
                self.execute_batch(&format!("CREATE SEQUENCE IF NOT EXISTS {seq}"))?;
            }
        }
        let rows = self.query("SELECT nextval(CAST(? AS TEXT))", &[SqlValue::Text(seq)])?;
        rows.first()
            .and_then(|r| r.first())
            .and_then(SqlValue::as_i64)
            .ok_or_else(|| StoreError::Backend("sequence returned no value".into()))
    }
}

/// `^[A-Za-z_][A-Za-z0-9_]*$`.
fn is_ident(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Renumbers `?` placeholders to `$1..$n`. Question marks inside single-quoted literals, quoted
/// identifiers and comments are left alone (the contract forbids them outside placeholders, so
/// this is defence in depth, not a feature).
pub(crate) fn rewrite_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '?' => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            '\'' | '"' => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == c {
                        break;
                    }
                }
            }
            '-' if chars.peek() == Some(&'-') => {
                out.push(c);
                for d in chars.by_ref() {
                    out.push(d);
                    if d == '\n' {
                        break;
                    }
                }
            }
            _ => out.push(c),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Parameters

/// A [`SqlValue`] bound in the form the prepared statement's parameter type needs.
#[derive(Debug)]
struct Param<'a>(&'a SqlValue);

type BoxError = Box<dyn StdError + Sync + Send>;

fn is_text_type(ty: &Type) -> bool {
    matches!(
        *ty,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN
    )
}

fn kind_of(v: &SqlValue) -> &'static str {
    match v {
        SqlValue::Null => "NULL",
        SqlValue::Int(_) => "an integer",
        SqlValue::Float(_) => "a float",
        SqlValue::Text(_) => "text",
        SqlValue::Bool(_) => "a boolean",
        SqlValue::Json(_) => "JSON",
    }
}

fn mismatch(v: &SqlValue, ty: &Type) -> BoxError {
    format!(
        "cannot bind {} to a parameter of type {} (cast the placeholder in the SQL)",
        kind_of(v),
        ty
    )
    .into()
}

fn int_to(v: i64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::INT8 => v.to_sql(ty, out),
        Type::INT4 => i32::try_from(v)
            .map_err(|_| format!("{v} does not fit a parameter of type int4"))?
            .to_sql(ty, out),
        Type::INT2 => i16::try_from(v)
            .map_err(|_| format!("{v} does not fit a parameter of type int2"))?
            .to_sql(ty, out),
        _ => Err(format!("not an integer type: {ty}").into()),
    }
}

fn is_int_type(ty: &Type) -> bool {
    matches!(*ty, Type::INT8 | Type::INT4 | Type::INT2)
}

fn float_to(v: f64, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    match *ty {
        Type::FLOAT8 => v.to_sql(ty, out),
        // Narrowing to float4 is what the column asked for.
        Type::FLOAT4 => (v as f32).to_sql(ty, out),
        _ => Err(format!("not a float type: {ty}").into()),
    }
}

fn text_to(s: &str, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
    // The binary text format is the UTF-8 bytes for every text-like type (also `unknown`,
    // which `String::to_sql` refuses).
    if s.contains('\0') {
        return Err("text parameters cannot contain NUL characters".into());
    }
    let _ = ty;
    out.put_slice(s.as_bytes());
    Ok(IsNull::No)
}

/// A whole-number float as an integer, when exact.
fn exact_int(f: f64) -> Option<i64> {
    (f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f))
        .then_some(f as i64)
}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        let v = self.0;
        let json = matches!(*ty, Type::JSON | Type::JSONB);
        match v {
            // A NULL fits every parameter type; the server typed it at prepare time.
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Int(i) => match ty {
                t if is_int_type(t) => int_to(*i, t, out),
                &Type::FLOAT8 | &Type::FLOAT4 => float_to(*i as f64, ty, out),
                &Type::BOOL if *i == 0 || *i == 1 => (*i == 1).to_sql(ty, out),
                t if is_text_type(t) => text_to(&i.to_string(), t, out),
                _ if json => Value::from(*i).to_sql(ty, out),
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Float(f) => match ty {
                &Type::FLOAT8 | &Type::FLOAT4 => float_to(*f, ty, out),
                t if is_int_type(t) => match exact_int(*f) {
                    Some(i) => int_to(i, t, out),
                    None => {
                        Err(format!("{f} is not a whole number for a parameter of type {t}").into())
                    }
                },
                t if is_text_type(t) => text_to(&f.to_string(), t, out),
                _ if json => match serde_json::Number::from_f64(*f) {
                    Some(n) => Value::Number(n).to_sql(ty, out),
                    None => Err(format!("{f} has no JSON representation").into()),
                },
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Text(s) => match ty {
                t if is_text_type(t) => text_to(s, t, out),
                // Text bound to a JSON parameter is JSON text, as the SQLite backend stores it
                // (the same rule as `SqlValue::to_json`): parsed, or refused.
                _ if json => match serde_json::from_str::<Value>(s) {
                    Ok(doc) => doc.to_sql(ty, out),
                    Err(e) => Err(format!(
                        "text bound to a {ty} parameter is not JSON ({e}); bind SqlValue::Json"
                    )
                    .into()),
                },
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Bool(b) => match ty {
                &Type::BOOL => b.to_sql(ty, out),
                t if is_int_type(t) => int_to(i64::from(*b), t, out),
                t if is_text_type(t) => text_to(if *b { "true" } else { "false" }, t, out),
                _ if json => Value::Bool(*b).to_sql(ty, out),
                _ => Err(mismatch(v, ty)),
            },
            SqlValue::Json(doc) => match (ty, doc) {
                _ if json => doc.to_sql(ty, out),
                // JSON text, as the SQLite backend binds it.
                (t, _) if is_text_type(t) => text_to(&doc.to_string(), t, out),
                (t, Value::Number(n)) if is_int_type(t) => {
                    match n.as_i64().or_else(|| n.as_f64().and_then(exact_int)) {
                        Some(i) => int_to(i, t, out),
                        None => Err(format!(
                            "{n} is not a whole number for a parameter of type {t}"
                        )
                        .into()),
                    }
                }
                (&Type::FLOAT8 | &Type::FLOAT4, Value::Number(n)) => {
                    float_to(n.as_f64().unwrap_or(f64::NAN), ty, out)
                }
                (&Type::BOOL, Value::Bool(b)) => b.to_sql(ty, out),
                _ => Err(mismatch(v, ty)),
            },
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    postgres::types::to_sql_checked!();
}

// ---------------------------------------------------------------------------------------------
// Result cells

/// One result cell decoded by its column type.
struct Cell(SqlValue);

impl<'a> FromSql<'a> for Cell {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(Cell(match *ty {
            Type::INT8 => SqlValue::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => SqlValue::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => SqlValue::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::OID | Type::REGCLASS => SqlValue::Int(i64::from(u32::from_sql(&Type::OID, raw)?)),
            Type::FLOAT8 => SqlValue::Float(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => SqlValue::Float(f64::from(f32::from_sql(ty, raw)?)),
            Type::NUMERIC => SqlValue::Float(numeric_to_f64(raw)?),
            Type::BOOL => SqlValue::Bool(bool::from_sql(ty, raw)?),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                SqlValue::Text(std::str::from_utf8(raw)?.to_string())
            }
            Type::CHAR => SqlValue::Text(char::from(i8::from_sql(ty, raw)? as u8).to_string()),
            Type::JSON | Type::JSONB => SqlValue::Json(Value::from_sql(ty, raw)?),
            Type::VOID => SqlValue::Null,
            _ => return Err(format!("unsupported result column type {ty}").into()),
        }))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Cell(SqlValue::Null))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// The binary `numeric` format (base-10000 digits) as the nearest double.
fn numeric_to_f64(raw: &[u8]) -> Result<f64, BoxError> {
    let word = |i: usize| -> Result<i16, BoxError> {
        raw.get(i..i + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| "truncated numeric".into())
    };
    let ndigits = word(0)?.max(0) as usize;
    let weight = i32::from(word(2)?);
    let sign = word(4)? as u16;
    match sign {
        0xC000 => return Ok(f64::NAN),
        0xD000 => return Ok(f64::INFINITY),
        0xF000 => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    // Exact enough: the decimal text is parsed once, avoiding accumulated rounding.
    let mut text = String::new();
    if sign == 0x4000 {
        text.push('-');
    }
    text.push_str("0.");
    for i in 0..ndigits {
        text.push_str(&format!("{:04}", word(8 + 2 * i)?));
    }
    if ndigits == 0 {
        text.push('0');
    }
    text.push_str(&format!("e{}", 4 * (weight + 1)));
    Ok(text.parse::<f64>()?)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// True for errors that mean the connection (or the server) is gone, not that the statement
/// was wrong.
fn is_connection_error(e: &postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    if let Some(code) = e.code() {
        let class = &code.code()[..2];
        return class == "08"
            || matches!(
                *code,
                SqlState::ADMIN_SHUTDOWN
                    | SqlState::CRASH_SHUTDOWN
                    | SqlState::CANNOT_CONNECT_NOW
                    | SqlState::TOO_MANY_CONNECTIONS
                    | SqlState::DATABASE_DROPPED
            );
    }
    let mut source = e.source();
    while let Some(s) = source {
        if s.downcast_ref::<std::io::Error>().is_some() {
            return true;
        }
        source = s.source();
    }
    let text = e.to_string();
    text.starts_with("error communicating with the server")
        || text.starts_with("error connecting to server")
        || text.starts_with("timeout waiting for server")
        || text.starts_with("unexpected message from server")
        || text.starts_with("error parsing response from server")
}

/// Maps a driver error: `unique_violation` becomes [`StoreError::UniqueViolation`] naming the
/// constraint; lost connections and shutdowns become [`StoreError::Unavailable`]; everything
/// else is [`StoreError::Backend`] with the SQLSTATE and the server's message.
pub(crate) fn map_err(e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        if *db.code() == SqlState::UNIQUE_VIOLATION {
            let constraint = match (db.constraint(), db.table(), db.column()) {
                (Some(c), _, _) => c.to_string(),
                (None, Some(t), Some(c)) => format!("{t}.{c}"),
                _ => db.message().to_string(),
            };
            return StoreError::UniqueViolation { constraint };
        }
    }
    if is_connection_error(&e) {
        return StoreError::Unavailable(describe(&e));
    }
    StoreError::Backend(describe(&e))
}

/// The error with its server detail (the driver's `Display` says only "db error").
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} {}: {}", db.severity(), db.code().code(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            s
        }
        None => match e.source() {
            Some(src) => format!("{e}: {src}"),
            None => e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered() {
        assert_eq!(
            rewrite_placeholders("SELECT a FROM t WHERE a = ? AND b IN (?, ?)"),
            "SELECT a FROM t WHERE a = $1 AND b IN ($2, $3)"
        );
        assert_eq!(
            rewrite_placeholders("SELECT '?', \"a?\", ? -- what?\n, ?"),
            "SELECT '?', \"a?\", $1 -- what?\n, $2"
        );
        assert_eq!(rewrite_placeholders("SELECT 1"), "SELECT 1");
        let many: String = (0..12).map(|_| "?,").collect();
        assert!(rewrite_placeholders(&many).contains("$12,"));
    }

    #[test]
    fn numerics_decode() {
        // 12345.678: ndigits 3, weight 1, sign +, dscale 3, digits 1 2345 6780
        let mut raw = Vec::new();
        for w in [3i16, 1, 0, 3, 1, 2345, 6780] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert!((numeric_to_f64(&raw).unwrap() - 12345.678).abs() < 1e-9);
        // -0.05: ndigits 1, weight -1, sign -, digits 500
        let mut raw = Vec::new();
        for w in [1i16, -1, 0x4000, 2, 500] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert!((numeric_to_f64(&raw).unwrap() + 0.05).abs() < 1e-12);
        // zero
        let mut raw = Vec::new();
        for w in [0i16, 0, 0, 0] {
            raw.extend_from_slice(&w.to_be_bytes());
        }
        assert_eq!(numeric_to_f64(&raw).unwrap(), 0.0);
    }

    #[test]
    fn parameters_convert_to_the_prepared_type() {
        let enc = |v: SqlValue, ty: Type| {
            let mut out = BytesMut::new();
            Param(&v).to_sql(&ty, &mut out).map(|_| out.to_vec())
        };
        assert_eq!(
            enc(SqlValue::Int(7), Type::INT4).unwrap(),
            7i32.to_be_bytes()
        );
        assert!(enc(SqlValue::Int(1 << 40), Type::INT4).is_err());
        assert_eq!(
            enc(SqlValue::Float(3.0), Type::INT8).unwrap(),
            3i64.to_be_bytes()
        );
        assert!(enc(SqlValue::Float(3.5), Type::INT8).is_err());
        assert_eq!(enc(SqlValue::Int(5), Type::TEXT).unwrap(), b"5");
        assert_eq!(
            enc(SqlValue::Text("{\"a\":1}".into()), Type::JSONB).unwrap()[0],
            1
        );
        assert!(enc(SqlValue::Text("not json".into()), Type::JSONB).is_err());
        assert!(enc(SqlValue::Text("x".into()), Type::INT8).is_err());
        assert_eq!(
            enc(SqlValue::Json(serde_json::json!("a")), Type::TEXT).unwrap(),
            b"\"a\""
        );
        assert!(enc(SqlValue::Text("a\0b".into()), Type::TEXT).is_err());
    }
}
