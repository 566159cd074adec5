//! The outbox: writes waiting for a school system, each a typed [`Write`] with the
//! idempotency key it keeps, sent in order per entity, with a receipt of every request.
//!
//! Every state change is one transaction on a `synchronous=FULL` file, so a write the person
//! saw as saved is never lost. Before a request goes out its attempt is recorded and the entry
//! marked uncertain; only a recorded answer clears that. An entry found uncertain (the reply
//! was lost, or the process died while sending) is settled by the replay — resent with the
//! same key, or read back from the system first — never blindly sent again.
//!
//! States: pending → sending → done | conflict | failed | held, and discarded by a person.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use schooldesk_domain::{
    MarkState, Operation, OutboxAttempt, OutboxEntry, OutboxState, System, Write,
};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::attendance::{self, MarkKey};
use crate::codec::{get_system, get_ts, stored_json, ts};
use crate::error::{CacheError, Result};
use crate::store::{Cache, CacheTx};

/// After this many attempts that failed for a passing reason (network, server, rate limit)
/// an entry stops retrying by itself and waits, Failed, for a person's `outbox retry`.
pub const MAX_TRANSIENT_ATTEMPTS: u32 = 8;

/// A write to queue.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxEntry {
    /// Sent with every attempt where the system takes one (OmniForge), and what makes
    /// queueing idempotent: the same key again returns the first entry.
    pub idempotency_key: Uuid,
    pub write: Write,
    /// When the person made the write; the entry is due at once.
    pub created_at: DateTime<Utc>,
}

/// What a person sees of one entry: the write, every request and answer, and for a conflict
/// their value beside the system's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receipt {
    pub entry: OutboxEntry,
    pub attempts: Vec<OutboxAttempt>,
    /// The system's answer (done) or its current record (conflict).
    pub answer: Option<Value>,
}

/// How a person resolves a conflict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Send the desk's value again, against the system's current version.
    KeepMine,
    /// The system's value becomes the desk's; nothing is sent.
    TakeTheirs,
}

const ENTRY_COLUMNS: &str = "id, idempotency_key, system, operation, entity_key, write_json, \
     state, attempts, next_attempt_at, last_error, created_at, updated_at, uncertain, resolution";

/// Entries that still hold their place in their entity's queue.
const QUEUED: &str = "state IN ('pending', 'sending', 'held')";
const OPEN: &str = "state IN ('pending', 'sending')";

fn conversion(idx: usize, what: &str, value: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        idx,
        rusqlite::types::Type::Text,
        format!("unknown {what} '{value}'").into(),
    )
}

fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<OutboxEntry> {
    let key: String = row.get(1)?;
    let operation: String = row.get(3)?;
    let write: String = row.get(5)?;
    let state: String = row.get(6)?;
    Ok(OutboxEntry {
        id: row.get(0)?,
        idempotency_key: Uuid::parse_str(&key)
            .map_err(|_| conversion(1, "idempotency key", &key))?,
        system: get_system(row, 2)?,
        operation: Operation::parse(&operation)
            .ok_or_else(|| conversion(3, "operation", &operation))?,
        entity_key: row.get(4)?,
        write: serde_json::from_str(&write).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(5, rusqlite::types::Type::Text, e.into())
        })?,
        state: OutboxState::parse(&state).ok_or_else(|| conversion(6, "outbox state", &state))?,
        attempts: row.get(7)?,
        next_attempt_at: get_ts(row, 8)?,
        last_error: row.get(9)?,
        created_at: get_ts(row, 10)?,
        updated_at: get_ts(row, 11)?,
        uncertain: row.get(12)?,
        resolution: row.get(13)?,
    })
}

pub(crate) fn entry(conn: &Connection, id: i64) -> Result<Option<OutboxEntry>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {ENTRY_COLUMNS} FROM outbox WHERE id = ?1"))?
        .query_row([id], entry_from_row)
        .optional()?)
}

pub(crate) fn entry_by_key(conn: &Connection, key: Uuid) -> Result<Option<OutboxEntry>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox WHERE idempotency_key = ?1"
        ))?
        .query_row([key.to_string()], entry_from_row)
        .optional()?)
}

fn list(conn: &Connection, filter: Option<OutboxState>) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox WHERE ?1 IS NULL OR state = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([filter.map(OutboxState::as_str)], entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Queued entries for `entity_key` after `id`, oldest first.
fn later_queued(conn: &Connection, entity_key: &str, id: i64) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox WHERE entity_key = ?1 AND id > ?2 AND {QUEUED} \
         ORDER BY id"
    ))?;
    let rows = stmt.query_map((entity_key, id), entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

fn attempts(conn: &Connection, id: i64) -> Result<Vec<OutboxAttempt>> {
    let mut stmt = conn.prepare_cached(
        "SELECT n, started_at, request_json, finished_at, outcome, answer_json \
         FROM outbox_attempts WHERE entry_id = ?1 ORDER BY n",
    )?;
    let rows = stmt.query_map([id], |r| {
        let request: String = r.get(2)?;
        let finished: Option<String> = r.get(3)?;
        let answer: Option<String> = r.get(5)?;
        Ok((
            r.get::<_, u32>(0)?,
            get_ts(r, 1)?,
            request,
            finished,
            r.get::<_, Option<String>>(4)?,
            answer,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (n, started_at, request, finished, outcome, answer) = row?;
        out.push(OutboxAttempt {
            n,
            started_at,
            request: serde_json::from_str(&request)?,
            finished_at: finished.map(|s| crate::codec::parse_ts(&s)).transpose()?,
            outcome,
            answer: answer.map(|s| serde_json::from_str(&s)).transpose()?,
        });
    }
    Ok(out)
}

fn result_json(conn: &Connection, id: i64) -> Result<Option<Value>> {
    let json: Option<Option<String>> = conn
        .query_row("SELECT result_json FROM outbox WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    match json {
        None => Err(CacheError::OutboxEntryNotFound { id }),
        Some(None) => Ok(None),
        Some(Some(s)) => Ok(Some(serde_json::from_str(&s)?)),
    }
}

/// The system's record inside a reply: OmniForge wraps it as `{"data": …}`.
fn unwrap_data(reply: &Value) -> &Value {
    reply.get("data").filter(|d| d.is_object()).unwrap_or(reply)
}

/// A write may not carry a field Schooldesk never stores (`password`, `ssn`), at any depth.
fn refuse_never_stored(write: &Write) -> Result<()> {
    let json = serde_json::to_value(write)?;
    let mut stripped = json.clone();
    schooldesk_domain::strip_never_stored(&mut stripped);
    if stripped != json {
        return Err(CacheError::InvalidInput(
            "Schooldesk never keeps passwords or social security numbers, so this change \
             cannot be queued. Leave that field out and try again."
                .into(),
        ));
    }
    Ok(())
}

fn mark_key(system: System, write: &Write) -> Option<MarkKey> {
    match write {
        Write::Mark(m) => Some(MarkKey::from_write(system, m)),
        _ => None,
    }
}

impl CacheTx<'_> {
    /// Queues a write (state Pending, due at `created_at`).
    pub fn enqueue(&self, new: NewOutboxEntry) -> Result<OutboxEntry> {
        if let Some(existing) = entry_by_key(self.conn, new.idempotency_key)? {
            if existing.write == new.write {
                return Ok(existing);
            }
            return Err(CacheError::IdempotencyKeyReused {
                key: new.idempotency_key,
            });
        }
        refuse_never_stored(&new.write)?;
        let at = ts(new.created_at);
        self.conn.execute(
            "INSERT INTO outbox (idempotency_key, system, operation, entity_key, write_json, \
             state, attempts, next_attempt_at, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6)",
            (
                new.idempotency_key.to_string(),
                new.write.system().as_str(),
                new.write.operation().as_str(),
                new.write.entity_key(new.idempotency_key),
                serde_json::to_string(&new.write)?,
                &at,
            ),
        )?;
        self.expect_entry(self.conn.last_insert_rowid())
    }

    pub fn outbox_entry(&self, id: i64) -> Result<Option<OutboxEntry>> {
        entry(self.conn, id)
    }

    fn expect_entry(&self, id: i64) -> Result<OutboxEntry> {
        entry(self.conn, id)?.ok_or(CacheError::OutboxEntryNotFound { id })
    }

    fn entry_in(&self, id: i64, states: &[OutboxState]) -> Result<OutboxEntry> {
        let entry = self.expect_entry(id)?;
        if !states.contains(&entry.state) {
            return Err(CacheError::OutboxEntryClosed {
                id,
                state: entry.state,
            });
        }
        Ok(entry)
    }

    fn open_entry(&self, id: i64) -> Result<OutboxEntry> {
        self.entry_in(id, &[OutboxState::Pending, OutboxState::Sending])
    }

    fn set_state(
        &self,
        id: i64,
        state: OutboxState,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET state = ?2, last_error = ?3, updated_at = ?4 WHERE id = ?1",
            (id, state.as_str(), error, ts(now)),
        )?;
        Ok(())
    }

    /// Takes up to `limit` entries to send now and marks them Sending: Pending or Sending
    /// entries due at `now`, and only the oldest queued entry of each entity (a held one
    /// holds its entity's place), so writes to one thing reach the system in the order they
    /// were made. An entry left Sending by a process that died is returned again.
    pub fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEntry>> {
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT o.id FROM outbox o WHERE o.{OPEN} AND o.next_attempt_at <= ?1 \
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.entity_key = o.entity_key \
                 AND p.{QUEUED} AND p.id < o.id) ORDER BY o.id LIMIT ?2"
            ))?;
            let rows = stmt
                .query_map((ts(now), i64::try_from(limit).unwrap_or(i64::MAX)), |r| {
                    r.get(0)
                })?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        let mut update = self
            .conn
            .prepare_cached("UPDATE outbox SET state = 'sending', updated_at = ?2 WHERE id = ?1")?;
        let mut claimed = Vec::with_capacity(ids.len());
        for id in ids {
            update.execute((id, ts(now)))?;
            claimed.push(self.expect_entry(id)?);
        }
        Ok(claimed)
    }

    /// Records that a request for the entry is about to go out (`request`: method, route and
    /// body, no secret) and marks the entry uncertain until its answer is recorded. Returns
    /// the attempt's number.
    pub fn begin_attempt(&self, id: i64, request: &Value, now: DateTime<Utc>) -> Result<u32> {
        self.open_entry(id)?;
        let n: u32 = self.conn.query_row(
            "SELECT COALESCE(max(n), 0) + 1 FROM outbox_attempts WHERE entry_id = ?1",
            [id],
            |r| r.get(0),
        )?;
        self.conn.execute(
            "INSERT INTO outbox_attempts (entry_id, n, started_at, request_json) \
             VALUES (?1, ?2, ?3, ?4)",
            (id, n, ts(now), stored_json(request)?),
        )?;
        self.conn.execute(
            "UPDATE outbox SET uncertain = 1, updated_at = ?2 WHERE id = ?1",
            (id, ts(now)),
        )?;
        Ok(n)
    }

    /// Records what became of the entry's last request.
    fn finish_attempt(
        &self,
        id: i64,
        outcome: &str,
        answer: &Value,
        uncertain: bool,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox_attempts SET finished_at = ?2, outcome = ?3, answer_json = ?4 \
             WHERE entry_id = ?1 AND n = (SELECT max(n) FROM outbox_attempts WHERE entry_id = ?1) \
             AND finished_at IS NULL",
            (id, ts(now), outcome, stored_json(answer)?),
        )?;
        self.conn.execute(
            "UPDATE outbox SET uncertain = ?2 WHERE id = ?1",
            (id, uncertain),
        )?;
        Ok(())
    }

    /// When the entry's last request started (the moment an uncertain outcome is settled
    /// from).
    pub fn last_attempt_started(&self, id: i64) -> Result<Option<DateTime<Utc>>> {
        // A read that checked an unanswered request and could not be made ends uncertain
        // too: the moment that matters is the first request since the last known outcome.
        let at: Option<String> = self
            .conn
            .query_row(
                "SELECT started_at FROM outbox_attempts WHERE entry_id = ?1 AND n > COALESCE( \
             (SELECT max(n) FROM outbox_attempts WHERE entry_id = ?1 \
              AND outcome IS NOT NULL AND outcome <> 'uncertain'), 0) ORDER BY n LIMIT 1",
                [id],
                |r| r.get(0),
            )
            .optional()?;
        at.map(|s| crate::codec::parse_ts(&s)).transpose()
    }

    /// A read after an uncertain outcome found the write was not applied: it may be sent.
    pub fn settled_absent(
        &self,
        id: i64,
        answer: &Value,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.open_entry(id)?;
        self.finish_attempt(id, "settled_absent", answer, false, now)?;
        self.expect_entry(id)
    }

    /// The system confirmed the write (its answer, or a read showing it applied): Done. A
    /// mark takes the system's id and version and becomes Synced (or stays Pending, re-based
    /// on the new version, while later writes to it wait); a delivery batch is stored in this
    /// same transaction, so a batch that left the pool is never lost.
    pub fn complete(&self, id: i64, result: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.finish_attempt(id, "applied", result, false, now)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'done', result_json = ?2, last_error = NULL, \
             unsent_reason = NULL, updated_at = ?3 WHERE id = ?1",
            (id, stored_json(result)?, ts(now)),
        )?;
        self.apply_locally(&entry, result, now)?;
        self.expect_entry(id)
    }

    /// What the system now holds, reflected in the cache.
    fn apply_locally(&self, entry: &OutboxEntry, result: &Value, now: DateTime<Utc>) -> Result<()> {
        match &entry.write {
            Write::Mark(m) => {
                let server = unwrap_data(result);
                let key = MarkKey::from_write(entry.system, m);
                let later = later_queued(self.conn, &entry.entity_key, entry.id)?;
                if let Some(version) = server.get("version").and_then(Value::as_i64) {
                    // Writes made on top of this one were based on the version it replaced;
                    // they are now based on the version the system just gave it.
                    for next in &later {
                        if let Write::Mark(n) = &next.write {
                            if n.base_version == m.base_version {
                                let mut n = n.clone();
                                n.base_version = Some(version);
                                self.rewrite(next.id, &Write::Mark(n))?;
                            }
                        }
                    }
                }
                attendance::confirm_mark(self.conn, &key, server, !later.is_empty(), now)?;
            }
            Write::CreateBatch { target_id } => {
                crate::batches::store_batch(self.conn, target_id, result, entry.id, now)?;
            }
            Write::ResetBatch {
                target_id,
                batch_id,
            } => crate::batches::mark_reset(self.conn, target_id, batch_id, now)?,
            Write::SetGrade {
                class_id,
                assignment_id,
                student_id,
                grade,
                ..
            } => {
                crate::batches::set_cached_grade(
                    self.conn,
                    class_id,
                    assignment_id,
                    student_id,
                    grade,
                )?;
                self.rebase_later(entry, &serde_json::json!({ "grade": grade }))?;
            }
            Write::UpdateUser { set, .. } => {
                let now_on_server: serde_json::Map<String, Value> = set
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                self.rebase_later(entry, &Value::Object(now_on_server))?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Later "set to" writes to the same record were made against what the desk saw before
    /// `entry`; now that the system holds `now_on_server` (ours, or theirs after a person chose
    /// it), that is what they expect to find, so a doubtful resend of them is not mistaken for
    /// someone else's change.
    fn rebase_later(&self, entry: &OutboxEntry, now_on_server: &Value) -> Result<()> {
        for next in later_queued(self.conn, &entry.entity_key, entry.id)? {
            let rebased = rebased(&next.write, now_on_server);
            if rebased != next.write {
                self.rewrite(next.id, &rebased)?;
            }
        }
        Ok(())
    }

    fn rewrite(&self, id: i64, write: &Write) -> Result<()> {
        self.conn.execute(
            "UPDATE outbox SET write_json = ?2 WHERE id = ?1",
            (id, serde_json::to_string(write)?),
        )?;
        Ok(())
    }

    /// The attempt failed for a passing reason (network, 5xx, rate limit): Pending again, due
    /// at `next_attempt_at`, one more attempt counted — or, after
    /// [`MAX_TRANSIENT_ATTEMPTS`], Failed and waiting for a person's retry. `uncertain`: the
    /// request may have been applied, so the next attempt settles it first.
    pub fn retry_later(
        &self,
        id: i64,
        error: &str,
        uncertain: bool,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.finish_attempt(
            id,
            if uncertain { "uncertain" } else { "retry" },
            &Value::String(error.into()),
            uncertain,
            now,
        )?;
        if entry.attempts + 1 >= MAX_TRANSIENT_ATTEMPTS {
            let why = format!(
                "{error} Tried {} times without success, so Schooldesk stopped trying by \
                 itself; retry it when the system is working again.",
                entry.attempts + 1
            );
            self.conn.execute(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2, \
                 unsent_reason = NULL, updated_at = ?3 WHERE id = ?1",
                (id, &why, ts(now)),
            )?;
            self.mark_not_on_system(&entry)?;
        } else {
            self.conn.execute(
                "UPDATE outbox SET state = 'pending', attempts = attempts + 1, last_error = ?2, \
                 unsent_reason = NULL, next_attempt_at = ?3, updated_at = ?4 WHERE id = ?1",
                (id, error, ts(next_attempt_at), ts(now)),
            )?;
        }
        self.expect_entry(id)
    }

    /// The entry was claimed but never sent (its system is unreachable or not connected, or
    /// the replay is stopping): Pending again, due at `next_attempt_at`, no attempt counted,
    /// and `reason` kept so "Send now" knows it may try at once.
    pub fn defer_unsent(
        &self,
        id: i64,
        reason: &str,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.open_entry(id)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', last_error = ?2, unsent_reason = ?2, \
             next_attempt_at = ?3, updated_at = ?4 WHERE id = ?1",
            (id, reason, ts(next_attempt_at), ts(now)),
        )?;
        self.expect_entry(id)
    }

    /// "Send now": entries that were never sent because their system was down (or the
    /// replay stopped) become due at once. Entries backing off after a real attempt keep
    /// their wait, which protects a struggling server. Returns how many became due.
    pub fn clear_unsent_backoff(&self, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET next_attempt_at = ?1, updated_at = ?1 \
             WHERE state = 'pending' AND unsent_reason IS NOT NULL AND next_attempt_at > ?1",
            [ts(now)],
        )?)
    }

    /// The earliest time an open entry is due (None when nothing waits to be sent).
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        let at: Option<String> = self.conn.query_row(
            // Only entries that could be claimed: one waiting behind an earlier write to the
            // same record is due when that one is done, not before.
            &format!(
                "SELECT min(o.next_attempt_at) FROM outbox o WHERE o.{OPEN} \
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.entity_key = o.entity_key \
                 AND p.{QUEUED} AND p.id < o.id)"
            ),
            [],
            |r| r.get(0),
        )?;
        Ok(at.and_then(|s| {
            DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }))
    }

    /// A mark whose write did not reach its system shows Conflict unless a later write to it
    /// still waits.
    fn mark_not_on_system(&self, entry: &OutboxEntry) -> Result<()> {
        if let Some(key) = mark_key(entry.system, &entry.write) {
            if later_queued(self.conn, &entry.entity_key, entry.id)?.is_empty() {
                attendance::set_mark_state(self.conn, &key, MarkState::Conflict)?;
            }
        }
        Ok(())
    }

    /// The system refused the write for good (bad data): Failed, with its reasons, for a
    /// person to correct and retry, or discard.
    pub fn fail(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.finish_attempt(id, "refused", &Value::String(error.into()), false, now)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2, \
             unsent_reason = NULL, updated_at = ?3 WHERE id = ?1",
            (id, error, ts(now)),
        )?;
        self.mark_not_on_system(&entry)?;
        self.expect_entry(id)
    }

    /// The system holds another version (`server` is its record, kept for the person who
    /// must choose): Conflict, and the attendance mark shows Conflict.
    pub fn conflict(&self, id: i64, server: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.finish_attempt(id, "conflict", server, false, now)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'conflict', attempts = attempts + 1, result_json = ?2, \
             last_error = ?3, unsent_reason = NULL, updated_at = ?4 WHERE id = ?1",
            (
                id,
                stored_json(server)?,
                "The system holds a different value; choose which to keep.",
                ts(now),
            ),
        )?;
        if let Some(key) = mark_key(entry.system, &entry.write) {
            attendance::set_mark_state(self.conn, &key, MarkState::Conflict)?;
        }
        self.expect_entry(id)
    }

    /// Its system needs attention (credentials, permission, a redirecting network): this
    /// entry (if its request was answered so) and every other unsent entry of the system are
    /// Held — not failed — until `connect` fixes the system ([`CacheTx::release_held`]).
    /// Returns how many entries are held.
    pub fn hold_system(
        &self,
        system: System,
        attempted: Option<i64>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        if let Some(id) = attempted {
            self.open_entry(id)?;
            // When the held request was the read checking an earlier unanswered one, that
            // one's outcome is still unknown: the entry is checked again after `connect`.
            let checking: bool = self.conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM outbox_attempts WHERE entry_id = ?1 \
                 AND n = (SELECT max(n) FROM outbox_attempts WHERE entry_id = ?1) - 1 \
                 AND (outcome IS NULL OR outcome = 'uncertain'))",
                [id],
                |r| r.get(0),
            )?;
            let outcome = if checking { "uncertain" } else { "held" };
            self.finish_attempt(id, outcome, &Value::String(why.into()), checking, now)?;
        }
        self.conn.execute(
            &format!(
                "UPDATE outbox SET state = 'held', last_error = ?2, updated_at = ?3 \
                 WHERE system = ?1 AND {OPEN}"
            ),
            (system.as_str(), why, ts(now)),
        )?;
        Ok(self.conn.query_row(
            "SELECT count(*) FROM outbox WHERE system = ?1 AND state = 'held'",
            [system.as_str()],
            |r| r.get::<_, i64>(0),
        )? as usize)
    }

    /// The system works again (`connect` saved and checked it): its held entries are due now.
    pub fn release_held(&self, system: System, now: DateTime<Utc>) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_at = ?2, unsent_reason = last_error, \
             updated_at = ?2 WHERE system = ?1 AND state = 'held'",
            (system.as_str(), ts(now)),
        )?)
    }

    /// A person resolves a conflict. Keep mine: the desk's value is sent again against the
    /// system's current version (a new request, so a new idempotency key). Take theirs: the
    /// system's value becomes the desk's and nothing is sent. Either way nothing is
    /// overwritten without this choice.
    pub fn resolve(
        &self,
        id: i64,
        resolution: Resolution,
        new_key: Uuid,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        let entry = self.expect_entry(id)?;
        if entry.state != OutboxState::Conflict {
            return Err(CacheError::InvalidInput(format!(
                "Entry {id} is {}, not a conflict: only a conflict can be resolved. Nothing was \
                 changed.",
                entry.state.as_str()
            )));
        }
        let server = result_json(self.conn, id)?.unwrap_or(Value::Null);
        match resolution {
            Resolution::KeepMine => {
                let write = rebased(&entry.write, &server);
                self.conn.execute(
                    "UPDATE outbox SET state = 'pending', idempotency_key = ?2, write_json = ?3, \
                     next_attempt_at = ?4, updated_at = ?4, last_error = NULL, \
                     resolution = 'kept_mine', uncertain = 0, attempts = 0 WHERE id = ?1",
                    (
                        id,
                        new_key.to_string(),
                        serde_json::to_string(&write)?,
                        ts(now),
                    ),
                )?;
                if let Some(key) = mark_key(entry.system, &entry.write) {
                    attendance::set_mark_state(self.conn, &key, MarkState::Pending)?;
                }
            }
            Resolution::TakeTheirs => {
                self.conn.execute(
                    "UPDATE outbox SET state = 'done', last_error = NULL, \
                     resolution = 'took_theirs', updated_at = ?2 WHERE id = ?1",
                    (id, ts(now)),
                )?;
                self.take_theirs_locally(&entry, &server, now)?;
            }
        }
        self.expect_entry(id)
    }

    fn take_theirs_locally(
        &self,
        entry: &OutboxEntry,
        server: &Value,
        now: DateTime<Utc>,
    ) -> Result<()> {
        self.rebase_later(entry, server)?;
        match &entry.write {
            Write::Mark(m) => {
                let key = MarkKey::from_write(entry.system, m);
                attendance::take_server_mark(self.conn, &key, unwrap_data(server), now)?;
            }
            Write::SetGrade {
                class_id,
                assignment_id,
                student_id,
                ..
            } => {
                if let Some(grade) = server.get("grade").and_then(Value::as_str) {
                    crate::batches::set_cached_grade(
                        self.conn,
                        class_id,
                        assignment_id,
                        student_id,
                        grade,
                    )?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// A person sends a failed (or held) entry again, optionally corrected (`write` must be
    /// the same kind of write about the same thing). Due now, attempts counted afresh.
    pub fn retry(
        &self,
        id: i64,
        corrected: Option<Write>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        let entry = self.entry_in(id, &[OutboxState::Failed, OutboxState::Held])?;
        let write = match corrected {
            Some(w) => {
                if w.operation() != entry.write.operation()
                    || w.entity_key(entry.idempotency_key) != entry.entity_key
                {
                    return Err(CacheError::InvalidInput(format!(
                        "The corrected record must be the same kind of change to the same \
                         record as entry {id} ({}). Nothing was changed.",
                        entry.write.describe()
                    )));
                }
                refuse_never_stored(&w)?;
                w
            }
            None => entry.write.clone(),
        };
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', write_json = ?2, next_attempt_at = ?3, \
             updated_at = ?3, attempts = 0, unsent_reason = NULL, resolution = 'retried' \
             WHERE id = ?1",
            (id, serde_json::to_string(&write)?, ts(now)),
        )?;
        if let Some(key) = mark_key(entry.system, &entry.write) {
            // The desk shows the value being sent, unless a later write to the mark waits.
            if let Write::Mark(m) = &write {
                if later_queued(self.conn, &entry.entity_key, id)?.is_empty() {
                    attendance::show_mark_write(self.conn, &key, m)?;
                }
            }
            attendance::set_mark_state(self.conn, &key, MarkState::Pending)?;
        }
        self.expect_entry(id)
    }

    /// A person decides a write is not to be sent: Discarded, kept as a receipt. An entry
    /// being sent, or already done, cannot be discarded. A mark goes back to the system's
    /// value when the desk knows it, else stays on this computer only.
    pub fn discard(&self, id: i64, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.entry_in(
            id,
            &[
                OutboxState::Pending,
                OutboxState::Failed,
                OutboxState::Conflict,
                OutboxState::Held,
            ],
        )?;
        if entry.uncertain {
            return Err(CacheError::InvalidInput(format!(
                "Entry {id} may already have reached {}; Schooldesk must check with it before \
                 it can be discarded. Send it (or wait for the next send) and look again.",
                entry.system.display_name()
            )));
        }
        self.set_state(id, OutboxState::Discarded, entry.last_error.as_deref(), now)?;
        self.conn.execute(
            "UPDATE outbox SET resolution = 'discarded' WHERE id = ?1",
            [id],
        )?;
        if let Some(key) = mark_key(entry.system, &entry.write) {
            if later_queued(self.conn, &entry.entity_key, id)?.is_empty() {
                match (entry.state, result_json(self.conn, id)?) {
                    (OutboxState::Conflict, Some(server)) => {
                        attendance::take_server_mark(self.conn, &key, unwrap_data(&server), now)?
                    }
                    _ => {
                        attendance::set_mark_state(self.conn, &key, MarkState::LocalOnly)?;
                    }
                }
            }
        }
        self.expect_entry(id)
    }
}

/// The desk's write, re-based on the system's current record, for "keep mine".
fn rebased(write: &Write, server: &Value) -> Write {
    let mut write = write.clone();
    match &mut write {
        Write::Mark(m) => {
            m.base_version = unwrap_data(server).get("version").and_then(Value::as_i64);
        }
        Write::SetGrade { seen, .. } => {
            *seen = server
                .get("grade")
                .and_then(Value::as_str)
                .map(str::to_string);
        }
        Write::UpdateUser { set, seen, .. } => {
            for field in set.keys() {
                match server.get(field) {
                    Some(Value::String(s)) => {
                        seen.insert(field.clone(), s.clone());
                    }
                    Some(Value::Null) | None => {
                        seen.remove(field);
                    }
                    Some(other) => {
                        seen.insert(field.clone(), other.to_string());
                    }
                }
            }
        }
        _ => {}
    }
    write
}

impl Cache {
    /// Queues a write in its own transaction. See [`CacheTx::enqueue`] to queue it together
    /// with other writes.
    pub fn enqueue(&self, new: NewOutboxEntry) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.enqueue(new))
    }

    /// Entries in one state (or all), oldest first.
    pub fn outbox_list(&self, filter: Option<OutboxState>) -> Result<Vec<OutboxEntry>> {
        self.read(|c| list(c, filter))
    }

    pub fn outbox_entry(&self, id: i64) -> Result<Option<OutboxEntry>> {
        self.read(|c| entry(c, id))
    }

    /// What the system answered: its reply for a Done entry, its current record for a
    /// Conflict.
    pub fn outbox_result(&self, id: i64) -> Result<Option<Value>> {
        self.read(|c| result_json(c, id))
    }

    /// One entry with every request it made and what the system answered.
    pub fn receipt(&self, id: i64) -> Result<Receipt> {
        self.read(|c| {
            let entry = entry(c, id)?.ok_or(CacheError::OutboxEntryNotFound { id })?;
            Ok(Receipt {
                entry,
                attempts: attempts(c, id)?,
                answer: result_json(c, id)?,
            })
        })
    }

    /// How many entries are in each state (states with none are absent).
    pub fn outbox_counts(&self) -> Result<BTreeMap<&'static str, u64>> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT state, count(*) FROM outbox GROUP BY state")?;
            let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            let mut counts = BTreeMap::new();
            for row in rows {
                let (state, n) = row?;
                let state = OutboxState::parse(&state)
                    .ok_or_else(|| CacheError::corrupt(format!("outbox state '{state}'")))?;
                counts.insert(state.as_str(), u64::try_from(n).unwrap_or(0));
            }
            Ok(counts)
        })
    }

    /// See [`CacheTx::claim_due`].
    pub fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEntry>> {
        self.with_transaction(|tx| tx.claim_due(now, limit))
    }

    /// See [`CacheTx::begin_attempt`].
    pub fn begin_attempt(&self, id: i64, request: &Value, now: DateTime<Utc>) -> Result<u32> {
        self.with_transaction(|tx| tx.begin_attempt(id, request, now))
    }

    /// See [`CacheTx::last_attempt_started`].
    pub fn last_attempt_started(&self, id: i64) -> Result<Option<DateTime<Utc>>> {
        self.read_tx(|tx| tx.last_attempt_started(id))
    }

    /// See [`CacheTx::settled_absent`].
    pub fn settled_absent(
        &self,
        id: i64,
        answer: &Value,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.settled_absent(id, answer, now))
    }

    /// See [`CacheTx::complete`].
    pub fn complete(&self, id: i64, result: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.complete(id, result, now))
    }

    /// See [`CacheTx::retry_later`].
    pub fn retry_later(
        &self,
        id: i64,
        error: &str,
        uncertain: bool,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.retry_later(id, error, uncertain, next_attempt_at, now))
    }

    /// See [`CacheTx::fail`].
    pub fn fail(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.fail(id, error, now))
    }

    /// See [`CacheTx::conflict`].
    pub fn conflict(&self, id: i64, server: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.conflict(id, server, now))
    }

    /// See [`CacheTx::hold_system`].
    pub fn hold_system(
        &self,
        system: System,
        attempted: Option<i64>,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.with_transaction(|tx| tx.hold_system(system, attempted, why, now))
    }

    /// See [`CacheTx::release_held`].
    pub fn release_held(&self, system: System, now: DateTime<Utc>) -> Result<usize> {
        self.with_transaction(|tx| tx.release_held(system, now))
    }

    /// See [`CacheTx::resolve`].
    pub fn resolve(
        &self,
        id: i64,
        resolution: Resolution,
        new_key: Uuid,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.resolve(id, resolution, new_key, now))
    }

    /// See [`CacheTx::retry`].
    pub fn retry(
        &self,
        id: i64,
        corrected: Option<Write>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.retry(id, corrected, now))
    }

    /// See [`CacheTx::discard`].
    pub fn discard(&self, id: i64, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.discard(id, now))
    }

    /// See [`CacheTx::defer_unsent`].
    pub fn defer_unsent(
        &self,
        id: i64,
        reason: &str,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.defer_unsent(id, reason, next_attempt_at, now))
    }

    /// See [`CacheTx::clear_unsent_backoff`].
    pub fn clear_unsent_backoff(&self, now: DateTime<Utc>) -> Result<usize> {
        self.with_transaction(|tx| tx.clear_unsent_backoff(now))
    }

    /// See [`CacheTx::next_due`].
    pub fn next_due(&self) -> Result<Option<DateTime<Utc>>> {
        self.read_tx(|tx| tx.next_due())
    }

    /// Entries not yet settled for `system` (pending, sending, conflict, failed or held).
    pub fn open_writes(&self, system: System) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM outbox WHERE system = ?1 AND state NOT IN ('done', 'discarded')",
                [system.as_str()],
                |r| r.get(0),
            )?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }

    /// Takes `system`'s unsent entries out of the queue as Failed with `why`: kept as a
    /// receipt a person can read (and retry), never sent by themselves.
    pub fn set_aside_open_writes(
        &self,
        system: System,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<usize> {
        self.with_transaction(|tx| {
            Ok(tx.conn.execute(
                &format!(
                    "UPDATE outbox SET state = 'failed', last_error = ?2, updated_at = ?3 \
                     WHERE system = ?1 AND {QUEUED}"
                ),
                (system.as_str(), why, ts(now)),
            )?)
        })
    }
}
