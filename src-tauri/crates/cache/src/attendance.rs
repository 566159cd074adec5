//! Attendance marks and codes, and the mark a person records at the desk.

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::types::{ToSqlOutput, Value as SqlValue};
use rusqlite::{params_from_iter, Connection, OptionalExtension, Row};
use schooldesk_domain::{
    mark_entity_key, AttendanceCode, AttendanceMark, AttendanceStatus, MarkState, MarkWrite,
    Operation, OutboxEntry, Source, System, Write,
};
use serde_json::Value;
use uuid::Uuid;

use crate::codec::{
    get_date, get_json, get_opt_status, get_status, get_system, get_ts, none_if_empty, opt_int,
    opt_text, owned_text, stored_json, text, ts,
};
use crate::error::{CacheError, Result};
use crate::outbox::{self, NewOutboxEntry};
use crate::rows::{self, Sourced};
use crate::store::{Cache, CacheTx};

impl Sourced for AttendanceCode {
    const TABLE: &'static str = "attendance_codes";
    const COLUMNS: &'static [&'static str] = &["code", "description", "status"];
    fn source(&self) -> &Source {
        &self.source
    }
    fn values(&self) -> Vec<ToSqlOutput<'_>> {
        vec![
            text(&self.code),
            text(&self.description),
            ToSqlOutput::Owned(
                self.status
                    .map_or(SqlValue::Null, |s| SqlValue::Text(s.as_str().into())),
            ),
        ]
    }
    fn from_row(row: &Row<'_>, source: Source) -> rusqlite::Result<Self> {
        Ok(AttendanceCode {
            source,
            code: row.get(4)?,
            description: row.get(5)?,
            status: get_opt_status(row, 6)?,
        })
    }
}

/// A mark taken by a person in Schooldesk, to be kept and (where the system takes writes)
/// sent. See [`Cache::record_attendance`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttendance {
    pub system: System,
    pub student_source_id: String,
    pub section_source_id: Option<String>,
    /// Period, or `am`/`pm` for a UK session.
    pub period: Option<String>,
    pub date: NaiveDate,
    pub status: AttendanceStatus,
    /// The school's own code, when it uses one ("/", "L", …).
    pub code: Option<String>,
    pub note: Option<String>,
    /// Minutes late (or early, for a UK session), kept with the mark.
    pub minutes_late: Option<u32>,
}

/// The operation that sends a mark to `system`, if its API takes attendance at all.
/// Only OmniForge does; marks for the others are kept here (and exported as a register).
pub fn attendance_write_operation(system: System) -> Option<Operation> {
    (Operation::SubmitAttendance.system() == system).then_some(Operation::SubmitAttendance)
}

/// What identifies one mark: system, student, section ('' = none), period ('' = none), date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarkKey {
    pub system: System,
    pub student: String,
    pub section: String,
    pub period: String,
    pub date: NaiveDate,
}

impl MarkKey {
    /// The mark a queued mark write is about.
    pub(crate) fn from_write(system: System, m: &MarkWrite) -> MarkKey {
        MarkKey {
            system,
            student: m.student_id.clone(),
            section: m.section_id.clone().unwrap_or_default(),
            period: m.period.clone().unwrap_or_default(),
            date: m.date,
        }
    }

    const WHERE: &'static str =
        "system = ?1 AND student_source_id = ?2 AND section_source_id = ?3 \
                                 AND period = ?4 AND date = ?5";

    fn params(&self) -> Vec<SqlValue> {
        vec![
            SqlValue::Text(self.system.as_str().into()),
            SqlValue::Text(self.student.clone()),
            SqlValue::Text(self.section.clone()),
            SqlValue::Text(self.period.clone()),
            SqlValue::Text(crate::codec::date(self.date)),
        ]
    }
}

const MARK_COLUMNS: &str = "system, COALESCE(source_id, ''), fetched_at, source_json, \
     student_source_id, section_source_id, period, date, status, code, note, minutes, version, state";

fn mark_from_row(row: &Row<'_>) -> rusqlite::Result<AttendanceMark> {
    let state: String = row.get(13)?;
    Ok(AttendanceMark {
        source: Source {
            system: get_system(row, 0)?,
            source_id: row.get(1)?,
            fetched_at: get_ts(row, 2)?,
            raw: get_json(row, 3)?,
        },
        student_source_id: row.get(4)?,
        section_source_id: none_if_empty(row.get(5)?),
        period: none_if_empty(row.get(6)?),
        date: get_date(row, 7)?,
        status: get_status(row, 8)?,
        code: row.get(9)?,
        note: row.get(10)?,
        minutes: row.get(11)?,
        version: row.get(12)?,
        state: MarkState::parse(&state).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                13,
                rusqlite::types::Type::Text,
                format!("unknown mark state '{state}'").into(),
            )
        })?,
    })
}

pub(crate) fn mark(conn: &Connection, key: &MarkKey) -> Result<Option<AttendanceMark>> {
    let sql = format!(
        "SELECT {MARK_COLUMNS} FROM attendance_marks WHERE {}",
        MarkKey::WHERE
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(key.params()), mark_from_row)
        .optional()?)
}

/// Sets the state of one mark; returns whether a mark was there.
pub(crate) fn set_mark_state(conn: &Connection, key: &MarkKey, state: MarkState) -> Result<bool> {
    let mut params = key.params();
    params.push(SqlValue::Text(state.as_str().into()));
    let n = conn.execute(
        &format!(
            "UPDATE attendance_marks SET state = ?6 WHERE {}",
            MarkKey::WHERE
        ),
        params_from_iter(params),
    )?;
    Ok(n > 0)
}

/// Records that the system confirmed a write to the mark: its id and version become the
/// system's, and it is Synced unless later writes to it are still waiting.
pub(crate) fn confirm_mark(
    conn: &Connection,
    key: &MarkKey,
    server: &Value,
    still_pending: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    let version = server.get("version").and_then(Value::as_i64);
    let server_id = server.get("id").and_then(|v| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    });
    let mut params = key.params();
    params.push(version.map_or(SqlValue::Null, SqlValue::Integer));
    params.push(server_id.map_or(SqlValue::Null, SqlValue::Text));
    if still_pending {
        conn.execute(
            &format!(
                "UPDATE attendance_marks SET version = ?6, source_id = COALESCE(?7, source_id) \
                 WHERE {}",
                MarkKey::WHERE
            ),
            params_from_iter(params),
        )?;
    } else {
        params.push(SqlValue::Text(crate::codec::source_json(
            conn,
            &mut Default::default(),
            key.system,
            "attendance_marks",
            server,
        )?));
        params.push(SqlValue::Text(ts(now)));
        conn.execute(
            &format!(
                "UPDATE attendance_marks SET version = ?6, source_id = COALESCE(?7, source_id), \
                 source_json = ?8, fetched_at = ?9, state = 'synced' WHERE {}",
                MarkKey::WHERE
            ),
            params_from_iter(params),
        )?;
    }
    Ok(())
}

/// The local mark shows the values of a write about to be sent (a corrected retry).
pub(crate) fn show_mark_write(conn: &Connection, key: &MarkKey, m: &MarkWrite) -> Result<()> {
    let mut params = key.params();
    params.extend([
        SqlValue::Text(m.status.as_str().into()),
        m.code.clone().map_or(SqlValue::Null, SqlValue::Text),
        m.note.clone().map_or(SqlValue::Null, SqlValue::Text),
        m.minutes_late
            .map_or(SqlValue::Null, |n| SqlValue::Integer(i64::from(n))),
    ]);
    conn.execute(
        &format!(
            "UPDATE attendance_marks SET status = ?6, code = ?7, note = ?8, minutes = ?9 \
             WHERE {}",
            MarkKey::WHERE
        ),
        params_from_iter(params),
    )?;
    Ok(())
}

/// A person took the system's value of a mark (resolving a conflict): the local mark becomes
/// the system's record, Synced.
pub(crate) fn take_server_mark(
    conn: &Connection,
    key: &MarkKey,
    server: &Value,
    now: DateTime<Utc>,
) -> Result<()> {
    let text = |name: &str| server.get(name).and_then(Value::as_str).map(str::to_string);
    let Some(status) = text("status") else {
        // The system's record is unknown: the desk's mark stays, marked as not on the system.
        set_mark_state(conn, key, MarkState::LocalOnly)?;
        return Ok(());
    };
    let mut params = key.params();
    params.extend([
        SqlValue::Text(status),
        text("code").map_or(SqlValue::Null, SqlValue::Text),
        text("note").map_or(SqlValue::Null, SqlValue::Text),
    ]);
    conn.execute(
        &format!(
            "UPDATE attendance_marks SET status = ?6, code = ?7, note = ?8, minutes = NULL \
             WHERE {}",
            MarkKey::WHERE
        ),
        params_from_iter(params),
    )?;
    confirm_mark(conn, key, server, false, now)
}

fn trimmed(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

impl CacheTx<'_> {
    /// Stores marks as the system reports them (state Synced). A mark the person changed here
    /// whose write has not been confirmed yet (Pending, Conflict, LocalOnly) is left as it is:
    /// a sync never overwrites work that is not on the system yet. Returns how many were
    /// written.
    pub fn upsert_attendance_marks(&self, marks: &[AttendanceMark]) -> Result<usize> {
        for m in marks {
            if m.student_source_id.trim().is_empty() {
                return Err(CacheError::InvalidInput(format!(
                    "A mark from {} has no student.",
                    m.source.system.display_name()
                )));
            }
        }
        const SET: &str = "source_id = excluded.source_id, fetched_at = excluded.fetched_at, \
             source_json = excluded.source_json, status = excluded.status, code = excluded.code, \
             note = excluded.note, minutes = excluded.minutes, version = excluded.version, \
             state = 'synced'";
        let mut stmt = self.conn.prepare_cached(&format!(
            "INSERT INTO attendance_marks (system, source_id, fetched_at, source_json, \
             student_source_id, section_source_id, period, date, status, code, note, minutes, \
             version, state) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 'synced') \
             ON CONFLICT (system, student_source_id, section_source_id, period, date) DO UPDATE \
             SET {SET} WHERE attendance_marks.state = 'synced' \
             ON CONFLICT (system, source_id) DO UPDATE SET {SET}, \
             student_source_id = excluded.student_source_id, \
             section_source_id = excluded.section_source_id, period = excluded.period, \
             date = excluded.date WHERE attendance_marks.state = 'synced'"
        ))?;
        let mut options = crate::allow_list::OptionsBySystem::default();
        let mut n = 0;
        for m in marks {
            let source_id = (!m.source.source_id.is_empty()).then_some(m.source.source_id.clone());
            n += stmt.execute(params_from_iter([
                text(m.source.system.as_str()),
                opt_text(&source_id),
                owned_text(ts(m.source.fetched_at)),
                owned_text(crate::codec::source_json(
                    self.conn,
                    &mut options,
                    m.source.system,
                    "attendance_marks",
                    &m.source.raw,
                )?),
                text(&m.student_source_id),
                owned_text(m.section_source_id.clone().unwrap_or_default()),
                owned_text(m.period.clone().unwrap_or_default()),
                owned_text(crate::codec::date(m.date)),
                text(m.status.as_str()),
                opt_text(&m.code),
                opt_text(&m.note),
                opt_int(m.minutes),
                opt_int(m.version),
            ]))?;
        }
        Ok(n)
    }

    pub fn upsert_attendance_codes(&self, rows: &[AttendanceCode]) -> Result<usize> {
        rows::upsert(self.conn, rows)
    }

    /// One mark, if cached.
    pub fn attendance_mark(
        &self,
        system: System,
        student_source_id: &str,
        section_source_id: Option<&str>,
        period: Option<&str>,
        date: NaiveDate,
    ) -> Result<Option<AttendanceMark>> {
        mark(
            self.conn,
            &MarkKey {
                system,
                student: student_source_id.into(),
                section: section_source_id.unwrap_or("").into(),
                period: period.unwrap_or("").into(),
                date,
            },
        )
    }

    /// See [`Cache::record_attendance`].
    pub fn record_attendance(
        &self,
        new: &NewAttendance,
        now: DateTime<Utc>,
        idempotency_key: Uuid,
    ) -> Result<(AttendanceMark, Option<OutboxEntry>)> {
        let student = new.student_source_id.trim();
        let section = trimmed(&new.section_source_id);
        let period = trimmed(&new.period);
        let key = MarkKey {
            system: new.system,
            student: student.to_string(),
            section: section.clone().unwrap_or_default(),
            period: period.clone().unwrap_or_default(),
            date: new.date,
        };
        let entity_key = mark_entity_key(student, section.as_deref(), period.as_deref(), new.date);

        // The same request again (a double click, a retried IPC call) changes nothing.
        if let Some(existing) = outbox::entry_by_key(self.conn, idempotency_key)? {
            if !matches!(existing.write, Write::Mark(_)) || existing.entity_key != entity_key {
                return Err(CacheError::IdempotencyKeyReused {
                    key: idempotency_key,
                });
            }
            let mark = mark(self.conn, &key)?
                .ok_or_else(|| CacheError::corrupt("an attendance write without its mark"))?;
            return Ok((mark, Some(existing)));
        }

        if student.is_empty() {
            return Err(CacheError::InvalidInput("Choose a student to mark.".into()));
        }
        if new.period.is_some() && period.is_none() {
            return Err(CacheError::InvalidInput("The period is empty.".into()));
        }
        if self.student(new.system, student)?.is_none() {
            return Err(CacheError::UnknownStudent {
                system: new.system,
                source_id: student.into(),
            });
        }
        if let Some(section) = &section {
            if self.section(new.system, section)?.is_none() {
                return Err(CacheError::UnknownSection {
                    system: new.system,
                    source_id: section.clone(),
                });
            }
        }
        let code = trimmed(&new.code);
        let note = trimmed(&new.note);
        let operation = attendance_write_operation(new.system);
        let previous = mark(self.conn, &key)?;
        let base_version = previous.as_ref().and_then(|m| m.version);

        // The typed write, also kept as the local mark's source until the system confirms it.
        let write = MarkWrite {
            student_id: student.to_string(),
            section_id: section.clone(),
            period: period.clone(),
            date: new.date,
            status: new.status,
            code: code.clone(),
            note: note.clone(),
            minutes_late: new.minutes_late,
            base_version,
        };
        let payload = serde_json::to_value(&write)?;
        let state = if operation.is_some() {
            MarkState::Pending
        } else {
            MarkState::LocalOnly
        };

        // An existing row keeps the system's id, source and version: the version is the base
        // the write is made against.
        let mut params = key.params();
        params.extend([
            SqlValue::Text(ts(now)),
            SqlValue::Text(stored_json(&payload)?),
            SqlValue::Text(new.status.as_str().into()),
            code.clone().map_or(SqlValue::Null, SqlValue::Text),
            note.clone().map_or(SqlValue::Null, SqlValue::Text),
            SqlValue::Text(state.as_str().into()),
            new.minutes_late
                .map_or(SqlValue::Null, |m| SqlValue::Integer(i64::from(m))),
        ]);
        self.conn.execute(
            "INSERT INTO attendance_marks (system, student_source_id, section_source_id, period, \
             date, fetched_at, source_json, status, code, note, state, minutes) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) \
             ON CONFLICT (system, student_source_id, section_source_id, period, date) DO UPDATE \
             SET status = excluded.status, code = excluded.code, note = excluded.note, \
             minutes = excluded.minutes, state = excluded.state",
            params_from_iter(params),
        )?;
        let entry = match operation {
            Some(_) => Some(self.enqueue(NewOutboxEntry {
                idempotency_key,
                write: Write::Mark(write),
                created_at: now,
            })?),
            None => None,
        };
        let stored = mark(self.conn, &key)?
            .ok_or_else(|| CacheError::corrupt("a mark vanished while being recorded"))?;
        Ok((stored, entry))
    }
}

impl Cache {
    /// Records a mark taken by a person, in ONE transaction: the local mark is stored as
    /// Pending and its write queued in the outbox (OmniForge), or stored as LocalOnly with no
    /// outbox entry (HUBmis, read-only, and the other systems, which take no attendance).
    ///
    /// The outbox entry is a typed mark write, with the base version from the cached mark
    /// when there is one. An unknown student or section, or an empty period,
    /// is refused and nothing is written. Calling again with the same `idempotency_key`
    /// returns the first result and changes nothing.
    pub fn record_attendance(
        &self,
        new: &NewAttendance,
        now: DateTime<Utc>,
        idempotency_key: Uuid,
    ) -> Result<(AttendanceMark, Option<OutboxEntry>)> {
        self.with_transaction(|tx| tx.record_attendance(new, now, idempotency_key))
    }

    /// Marks for `date`, optionally only one section's, by system, section, period, student.
    pub fn attendance_marks(
        &self,
        date: NaiveDate,
        section: Option<(System, &str)>,
    ) -> Result<Vec<AttendanceMark>> {
        self.read(|c| {
            let (filter, mut params) = match section {
                Some((system, section)) => (
                    "AND system = ?2 AND section_source_id = ?3",
                    vec![
                        SqlValue::Text(system.as_str().into()),
                        SqlValue::Text(section.into()),
                    ],
                ),
                None => ("", vec![]),
            };
            params.insert(0, SqlValue::Text(crate::codec::date(date)));
            let mut stmt = c.prepare_cached(&format!(
                "SELECT {MARK_COLUMNS} FROM attendance_marks WHERE date = ?1 {filter} \
                 ORDER BY system, section_source_id, period, student_source_id"
            ))?;
            let rows = stmt.query_map(params_from_iter(params), mark_from_row)?;
            Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
        })
    }

    /// One mark, if cached.
    pub fn attendance_mark(
        &self,
        system: System,
        student_source_id: &str,
        section_source_id: Option<&str>,
        period: Option<&str>,
        date: NaiveDate,
    ) -> Result<Option<AttendanceMark>> {
        self.read_tx(|tx| {
            tx.attendance_mark(system, student_source_id, section_source_id, period, date)
        })
    }

    /// A school's attendance codes, by code.
    pub fn attendance_codes(&self, system: Option<System>) -> Result<Vec<AttendanceCode>> {
        self.read(|c| rows::all(c, system, "t.system, t.code, t.source_id"))
    }

    /// The codes a school uses: its code list where the system publishes one (HUBmis), and
    /// the codes on the marks synced from it (OmniForge publishes none).
    pub fn codes_in_use(&self, system: System) -> Result<Vec<String>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT code FROM attendance_codes WHERE system = ?1 \
                 UNION SELECT code FROM attendance_marks WHERE system = ?1 \
                 AND state = 'synced' AND code IS NOT NULL AND code <> '' ORDER BY 1",
            )?;
            let rows = stmt.query_map([system.as_str()], |r| r.get(0))?;
            Ok(rows.collect::<rusqlite::Result<_>>()?)
        })
    }
}
