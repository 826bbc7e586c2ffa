//! Values across the PostgreSQL boundary: a [`SqlValue`] bound in the form the prepared
//! statement's parameter type needs ([`Param`]), and a result cell decoded by its column type
//! ([`Cell`]).
//!
//! Why a conversion table rather than one fixed encoding per value kind: the operations are
//! written once for both backends with `?` placeholders and loosely typed values (SQLite does
//! not care whether an integer is bound to a text column), so here the server's inferred type
//! decides: an integer bound to a text parameter is sent as its decimal text, JSON bound to a
//! text parameter as JSON text (as SQLite stores it), a whole float to an integer parameter as
//! the integer. Anything that would lose information is refused with a message that says how
//! to fix the SQL.

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use cmdb_store::SqlValue;
use serde_json::Value;
use tokio_postgres::types::{FromSql, IsNull, ToSql, Type};

/// A [`SqlValue`] bound in the form the prepared statement's parameter type needs.
#[derive(Debug)]
pub(crate) struct Param<'a>(pub(crate) &'a SqlValue);

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

    tokio_postgres::types::to_sql_checked!();
}

/// One result cell decoded by its column type.
pub(crate) struct Cell(pub(crate) SqlValue);

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

#[cfg(test)]
mod tests {
    use super::*;

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
