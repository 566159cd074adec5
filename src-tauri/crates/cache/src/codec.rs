//! How model values are written to and read from columns.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use rusqlite::types::{FromSql, FromSqlError, ToSqlOutput, Type, Value, ValueRef};
use rusqlite::Row;
use schooldesk_domain::{AttendanceStatus, Source, System};

/// Fixed-width UTC time, so that text order is time order in SQL comparisons.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub(crate) fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn text(s: &str) -> ToSqlOutput<'_> {
    ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
}

pub(crate) fn opt_text(s: &Option<String>) -> ToSqlOutput<'_> {
    match s {
        Some(s) => text(s),
        None => ToSqlOutput::Owned(Value::Null),
    }
}

pub(crate) fn owned_text(s: String) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(Value::Text(s))
}

pub(crate) fn boolean(b: bool) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(Value::Integer(i64::from(b)))
}

pub(crate) fn opt_bool(b: Option<bool>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(b.map_or(Value::Null, |b| Value::Integer(i64::from(b))))
}

pub(crate) fn opt_int(i: Option<i64>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(i.map_or(Value::Null, Value::Integer))
}

pub(crate) fn opt_date(d: Option<NaiveDate>) -> ToSqlOutput<'static> {
    ToSqlOutput::Owned(d.map_or(Value::Null, |d| Value::Text(date(d))))
}

fn conversion(idx: usize, ty: Type, msg: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(idx, ty, msg.into())
}

/// Reads a column through `FromStr`-like parsing, with the column named in the error.
fn parse_col<T>(
    row: &Row<'_>,
    idx: usize,
    what: &str,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let s: String = row.get(idx)?;
    parse(&s).ok_or_else(|| conversion(idx, Type::Text, format!("unknown {what} '{s}'")))
}

pub(crate) fn get_system(row: &Row<'_>, idx: usize) -> rusqlite::Result<System> {
    parse_col(row, idx, "system", |s| s.parse().ok())
}

pub(crate) fn get_ts(row: &Row<'_>, idx: usize) -> rusqlite::Result<DateTime<Utc>> {
    parse_col(row, idx, "time", |s| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    })
}

/// A stored time read outside a row.
pub(crate) fn parse_ts(s: &str) -> crate::error::Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| crate::error::CacheError::corrupt(format!("time '{s}'")))
}

pub(crate) fn get_date(row: &Row<'_>, idx: usize) -> rusqlite::Result<NaiveDate> {
    parse_col(row, idx, "date", |s| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
    })
}

pub(crate) fn get_opt_date(row: &Row<'_>, idx: usize) -> rusqlite::Result<Option<NaiveDate>> {
    match row.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        _ => get_date(row, idx).map(Some),
    }
}

pub(crate) fn get_status(row: &Row<'_>, idx: usize) -> rusqlite::Result<AttendanceStatus> {
    parse_col(row, idx, "attendance status", |s| s.parse().ok())
}

pub(crate) fn get_opt_status(
    row: &Row<'_>,
    idx: usize,
) -> rusqlite::Result<Option<AttendanceStatus>> {
    match row.get_ref(idx)? {
        ValueRef::Null => Ok(None),
        _ => get_status(row, idx).map(Some),
    }
}

pub(crate) fn get_json(row: &Row<'_>, idx: usize) -> rusqlite::Result<serde_json::Value> {
    let v = row.get_ref(idx)?;
    serde_json::Value::column_result(v).map_err(|e| match e {
        FromSqlError::Other(err) => conversion(idx, Type::Text, err.to_string()),
        other => conversion(idx, Type::Text, other.to_string()),
    })
}

/// '' in the column means "none" (see the attendance_marks table).
pub(crate) fn none_if_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// The four provenance columns every copied row starts with, at `start..start + 4`.
pub(crate) fn get_source(row: &Row<'_>, start: usize) -> rusqlite::Result<Source> {
    Ok(Source {
        system: get_system(row, start)?,
        source_id: row.get(start + 1)?,
        fetched_at: get_ts(row, start + 2)?,
        raw: get_json(row, start + 3)?,
    })
}

/// The `source_json` of a copied row: `raw` reduced to the allow-list of its system and
/// table under the connection's options (see [`crate::allow_list`]). Every copied row's JSON
/// goes through here.
pub(crate) fn source_json(
    conn: &rusqlite::Connection,
    options: &mut crate::allow_list::OptionsBySystem,
    system: System,
    table: &str,
    raw: &serde_json::Value,
) -> crate::error::Result<String> {
    let options = options.get(conn, system)?;
    let kept = crate::allow_list::minimise_for_table(system, table, raw, options);
    Ok(serde_json::to_string(&kept)?)
}

/// A source's JSON with never-stored fields removed again: `Source::new` already did, but a
/// `Source` built by hand (its fields are public) must not smuggle a password into the file.
pub(crate) fn stored_json(raw: &serde_json::Value) -> serde_json::Result<String> {
    let mut raw = raw.clone();
    schooldesk_domain::strip_never_stored(&mut raw);
    serde_json::to_string(&raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_sort_as_text() {
        let a = Utc.with_ymd_and_hms(2024, 9, 2, 8, 0, 0).unwrap();
        let b = a + chrono::Duration::microseconds(1);
        let c = a + chrono::Duration::seconds(1);
        assert!(ts(a) < ts(b) && ts(b) < ts(c));
        assert_eq!(ts(a), "2024-09-02T08:00:00.000000Z");
        assert_eq!(ts(a).len(), ts(c).len());
    }
}
