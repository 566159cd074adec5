//! The shared shape of every table copied from a school system: four provenance columns
//! (system, source_id, fetched_at, source_json), then the model's own columns.

use rusqlite::types::ToSqlOutput;
use rusqlite::{params_from_iter, Connection, Params, Row};
use schooldesk_domain::{Source, System};

use crate::allow_list::{OptionsBySystem, RowKind};
use crate::codec::{get_source, owned_text, source_json, text, ts};
use crate::error::{CacheError, Result};

pub(crate) trait Sourced: Sized {
    const TABLE: &'static str;
    /// The model's columns, in the order of [`Sourced::values`].
    const COLUMNS: &'static [&'static str];
    /// Columns an update leaves alone when the incoming value is NULL (a document's content,
    /// downloaded separately, must survive a refresh of its metadata).
    const KEEP_WHEN_NULL: &'static [&'static str] = &[];

    fn source(&self) -> &Source;
    fn values(&self) -> Vec<ToSqlOutput<'_>>;
    /// Reads the model from a row whose first four columns are the provenance and whose next
    /// ones are [`Sourced::COLUMNS`].
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self>;
    /// Checks the model's own fields before anything is written.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
}

/// `SELECT <alias>.system, …, <alias>.<model columns> FROM <table> <alias>`.
pub(crate) fn select_from<T: Sourced>(alias: &str) -> String {
    let mut cols = vec![
        format!("{alias}.system"),
        format!("{alias}.source_id"),
        format!("{alias}.fetched_at"),
        format!("{alias}.source_json"),
    ];
    cols.extend(T::COLUMNS.iter().map(|c| format!("{alias}.{c}")));
    format!("SELECT {} FROM {} {alias}", cols.join(", "), T::TABLE)
}

/// How many columns [`select_from`] yields, so callers can read extra ones after it.
pub(crate) fn width<T: Sourced>() -> usize {
    4 + T::COLUMNS.len()
}

pub(crate) fn from_row<T: Sourced>(row: &Row<'_>) -> rusqlite::Result<T> {
    T::from_row(row, get_source(row, 0)?)
}

pub(crate) fn check_source(source: &Source, table: &str) -> Result<()> {
    if source.source_id.trim().is_empty() {
        return Err(CacheError::InvalidInput(format!(
            "A row for {table} from {} has no id.",
            source.system.display_name()
        )));
    }
    Ok(())
}

/// Inserts or updates `rows` by (system, source_id); returns how many were written. Every row
/// is checked before the first is written, so a bad batch changes nothing even outside a
/// transaction. Each row's JSON is reduced to its allow-list (see [`crate::allow_list`]).
pub(crate) fn upsert<T: Sourced>(conn: &Connection, rows: &[T]) -> Result<usize> {
    for row in rows {
        check_source(row.source(), T::TABLE)?;
        row.validate()?;
    }
    let cols = T::COLUMNS.join(", ");
    let placeholders: Vec<String> = (5..5 + T::COLUMNS.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = T::COLUMNS
        .iter()
        .map(|c| {
            if T::KEEP_WHEN_NULL.contains(c) {
                format!("{c} = COALESCE(excluded.{c}, {}.{c})", T::TABLE)
            } else {
                format!("{c} = excluded.{c}")
            }
        })
        .collect();
    let sql = format!(
        "INSERT INTO {table} (system, source_id, fetched_at, source_json, {cols}) \
         VALUES (?1, ?2, ?3, ?4, {placeholders}) \
         ON CONFLICT (system, source_id) DO UPDATE SET fetched_at = excluded.fetched_at, \
         source_json = excluded.source_json, {updates}",
        table = T::TABLE,
        placeholders = placeholders.join(", "),
        updates = updates.join(", "),
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut options = OptionsBySystem::default();
    let mut written = 0;
    for row in rows {
        let source = row.source();
        // Rows only an option allows (learning support) are not stored while it is off.
        if let Some(kind) = RowKind::of_table(T::TABLE) {
            if !kind.allowed(options.get(conn, source.system)?) {
                continue;
            }
        }
        let mut values = vec![
            text(source.system.as_str()),
            text(&source.source_id),
            owned_text(ts(source.fetched_at)),
            owned_text(source_json(
                conn,
                &mut options,
                source.system,
                T::TABLE,
                &source.raw,
            )?),
        ];
        values.extend(row.values());
        written += stmt.execute(params_from_iter(values))?;
    }
    Ok(written)
}

/// Rows of `T` matching `rest` (`WHERE …`, `ORDER BY …`, written against alias `t`).
pub(crate) fn select<T: Sourced>(
    conn: &Connection,
    rest: &str,
    params: impl Params,
) -> Result<Vec<T>> {
    let sql = format!("{} {rest}", select_from::<T>("t"));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params, from_row::<T>)?;
    Ok(rows.collect::<rusqlite::Result<Vec<T>>>()?)
}

pub(crate) fn get<T: Sourced>(
    conn: &Connection,
    system: System,
    source_id: &str,
) -> Result<Option<T>> {
    Ok(select::<T>(
        conn,
        "WHERE t.system = ?1 AND t.source_id = ?2",
        (system.as_str(), source_id),
    )?
    .into_iter()
    .next())
}

/// All rows of `T`, for one system or all, in the order given.
pub(crate) fn all<T: Sourced>(
    conn: &Connection,
    system: Option<System>,
    order: &str,
) -> Result<Vec<T>> {
    match system {
        Some(s) => select::<T>(
            conn,
            &format!("WHERE t.system = ?1 ORDER BY {order}"),
            [s.as_str()],
        ),
        None => select::<T>(conn, &format!("ORDER BY {order}"), []),
    }
}
