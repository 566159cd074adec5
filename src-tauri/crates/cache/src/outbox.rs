//! The outbox: writes waiting for a school system, replayed in order per entity, each with the
//! idempotency key it keeps for life.
//!
//! Every state change is one transaction on a `synchronous=FULL` file, so a write the person
//! saw as saved is never lost, and an entry that was in flight when the process died is found
//! in state Sending and sent again with the same key (the system then answers with what it
//! already did).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use schooldesk_domain::{
    strip_never_stored, MarkState, Operation, OutboxEntry, OutboxState, System,
};
use serde_json::Value;
use uuid::Uuid;

use crate::attendance::{self, MarkKey};
use crate::codec::{get_json, get_system, get_ts, stored_json, ts};
use crate::error::{CacheError, Result};
use crate::store::{Cache, CacheTx};

/// A write to queue. The system is the operation's ([`Operation::system`]).
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxEntry {
    /// Sent with every attempt, so the system applies the write once however often it is
    /// sent. Enqueuing the same key again returns the first entry.
    pub idempotency_key: Uuid,
    pub operation: Operation,
    /// What the write is about; writes with the same key are sent strictly in order.
    pub entity_key: String,
    /// The request body (or arguments) to send. Never-stored fields (password, ssn) are
    /// refused.
    pub payload: Value,
    /// When the person made the write; the entry is due at once.
    pub created_at: DateTime<Utc>,
}

const ENTRY_COLUMNS: &str = "id, idempotency_key, system, operation, entity_key, payload_json, \
     state, attempts, next_attempt_at, last_error, created_at, updated_at";

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
    let state: String = row.get(6)?;
    Ok(OutboxEntry {
        id: row.get(0)?,
        idempotency_key: Uuid::parse_str(&key)
            .map_err(|_| conversion(1, "idempotency key", &key))?,
        system: get_system(row, 2)?,
        operation: Operation::parse(&operation)
            .ok_or_else(|| conversion(3, "operation", &operation))?,
        entity_key: row.get(4)?,
        payload: get_json(row, 5)?,
        state: OutboxState::parse(&state).ok_or_else(|| conversion(6, "outbox state", &state))?,
        attempts: row.get(7)?,
        next_attempt_at: get_ts(row, 8)?,
        last_error: row.get(9)?,
        created_at: get_ts(row, 10)?,
        updated_at: get_ts(row, 11)?,
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

/// Open entries for `entity_key` after `id`, oldest first.
fn later_open(conn: &Connection, entity_key: &str, id: i64) -> Result<Vec<OutboxEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM outbox WHERE entity_key = ?1 AND id > ?2 AND {OPEN} ORDER BY id"
    ))?;
    let rows = stmt.query_map((entity_key, id), entry_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The system's record inside a reply: OmniForge wraps it as `{"data": …}`.
fn unwrap_data(reply: &Value) -> &Value {
    reply.get("data").filter(|d| d.is_object()).unwrap_or(reply)
}

impl CacheTx<'_> {
    /// Queues a write (state Pending, due at `created_at`).
    pub fn enqueue(&self, new: NewOutboxEntry) -> Result<OutboxEntry> {
        if new.entity_key.trim().is_empty() {
            return Err(CacheError::InvalidInput(
                "A queued write must say what it is about (entity key).".into(),
            ));
        }
        let mut stripped = new.payload.clone();
        strip_never_stored(&mut stripped);
        if stripped != new.payload {
            return Err(CacheError::InvalidInput(
                "Passwords and social security numbers are never stored, so they cannot be \
                 queued; remove them from the change."
                    .into(),
            ));
        }
        if let Some(existing) = entry_by_key(self.conn, new.idempotency_key)? {
            if existing.operation == new.operation
                && existing.entity_key == new.entity_key
                && existing.payload == new.payload
            {
                return Ok(existing);
            }
            return Err(CacheError::IdempotencyKeyReused {
                key: new.idempotency_key,
            });
        }
        let at = ts(new.created_at);
        self.conn.execute(
            "INSERT INTO outbox (idempotency_key, system, operation, entity_key, payload_json, \
             state, attempts, next_attempt_at, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?6, ?6)",
            (
                new.idempotency_key.to_string(),
                new.operation.system().as_str(),
                new.operation.as_str(),
                &new.entity_key,
                serde_json::to_string(&new.payload)?,
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

    fn open_entry(&self, id: i64) -> Result<OutboxEntry> {
        let entry = self.expect_entry(id)?;
        if !entry.state.is_open() {
            return Err(CacheError::OutboxEntryClosed {
                id,
                state: entry.state,
            });
        }
        Ok(entry)
    }

    /// Takes up to `limit` entries to send now and marks them Sending: Pending or Sending
    /// entries due at `now`, and only the oldest open entry of each entity, so writes to
    /// one thing reach the system in the order they were made. An entry left Sending by a
    /// process that died is returned again (to be sent with the same idempotency key) — so one
    /// replay loop must finish a batch before claiming the next.
    pub fn claim_due(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<OutboxEntry>> {
        let ids: Vec<i64> = {
            let mut stmt = self.conn.prepare_cached(&format!(
                "SELECT o.id FROM outbox o WHERE o.{OPEN} AND o.next_attempt_at <= ?1 \
                 AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.entity_key = o.entity_key \
                 AND p.{OPEN} AND p.id < o.id) ORDER BY o.id LIMIT ?2"
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

    /// The system confirmed the write: Done, with its reply kept. For an attendance write the
    /// mark takes the system's id and version and becomes Synced (or stays Pending, re-based
    /// on the new version, while later writes to it wait).
    pub fn complete(&self, id: i64, result: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'done', result_json = ?2, last_error = NULL, \
             updated_at = ?3 WHERE id = ?1",
            (id, stored_json(result)?, ts(now)),
        )?;
        if entry.operation == Operation::SubmitAttendance {
            let server = unwrap_data(result);
            let key = MarkKey::from_payload(entry.system, &entry.payload)?;
            let later = later_open(self.conn, &entry.entity_key, id)?;
            if let Some(version) = server.get("version").and_then(Value::as_i64) {
                // Writes made on top of this one were based on the version it replaced; they
                // are now based on the version the system just gave it.
                let base = entry.payload.get("baseVersion");
                for next in later
                    .iter()
                    .filter(|n| n.payload.get("baseVersion") == base)
                {
                    let mut payload = next.payload.clone();
                    if let Some(body) = payload.as_object_mut() {
                        body.insert("baseVersion".into(), version.into());
                    }
                    self.conn.execute(
                        "UPDATE outbox SET payload_json = ?2 WHERE id = ?1",
                        (next.id, serde_json::to_string(&payload)?),
                    )?;
                }
            }
            attendance::confirm_mark(self.conn, &key, server, !later.is_empty(), now)?;
        }
        self.expect_entry(id)
    }

    /// The attempt failed in a way worth retrying (network, 5xx, rate limit): Pending again,
    /// due at `next_attempt_at`, one more attempt counted.
    pub fn retry_later(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.open_entry(id)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'pending', attempts = attempts + 1, last_error = ?2, \
             unsent_reason = NULL, next_attempt_at = ?3, updated_at = ?4 WHERE id = ?1",
            (id, error, ts(next_attempt_at), ts(now)),
        )?;
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
            &format!("SELECT min(next_attempt_at) FROM outbox WHERE {OPEN}"),
            [],
            |r| r.get(0),
        )?;
        Ok(at.and_then(|s| {
            DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        }))
    }

    /// The system refused the write for good (bad data, no permission): Failed, for a person
    /// to look at. An attendance mark with no later write waiting shows Conflict: its local
    /// value is not on the system.
    pub fn fail(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?2, \
             updated_at = ?3 WHERE id = ?1",
            (id, error, ts(now)),
        )?;
        if entry.operation == Operation::SubmitAttendance
            && later_open(self.conn, &entry.entity_key, id)?.is_empty()
        {
            let key = MarkKey::from_payload(entry.system, &entry.payload)?;
            attendance::set_mark_state(self.conn, &key, MarkState::Conflict)?;
        }
        self.expect_entry(id)
    }

    /// The system holds another version (`server` is its record, kept for the person who
    /// must choose): Conflict, and the attendance mark shows Conflict.
    pub fn conflict(&self, id: i64, server: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        let entry = self.open_entry(id)?;
        self.conn.execute(
            "UPDATE outbox SET state = 'conflict', attempts = attempts + 1, result_json = ?2, \
             last_error = ?3, updated_at = ?4 WHERE id = ?1",
            (
                id,
                stored_json(server)?,
                "The system holds a different version of this record.",
                ts(now),
            ),
        )?;
        if entry.operation == Operation::SubmitAttendance {
            let key = MarkKey::from_payload(entry.system, &entry.payload)?;
            attendance::set_mark_state(self.conn, &key, MarkState::Conflict)?;
        }
        self.expect_entry(id)
    }
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
        self.read(|c| {
            let json: Option<Option<String>> = c
                .query_row("SELECT result_json FROM outbox WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .optional()?;
            match json {
                None => Err(CacheError::OutboxEntryNotFound { id }),
                Some(None) => Ok(None),
                Some(Some(s)) => Ok(Some(serde_json::from_str(&s)?)),
            }
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

    /// See [`CacheTx::complete`].
    pub fn complete(&self, id: i64, result: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.complete(id, result, now))
    }

    /// See [`CacheTx::retry_later`].
    pub fn retry_later(
        &self,
        id: i64,
        error: &str,
        next_attempt_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.retry_later(id, error, next_attempt_at, now))
    }

    /// See [`CacheTx::fail`].
    pub fn fail(&self, id: i64, error: &str, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.fail(id, error, now))
    }

    /// See [`CacheTx::conflict`].
    pub fn conflict(&self, id: i64, server: &Value, now: DateTime<Utc>) -> Result<OutboxEntry> {
        self.with_transaction(|tx| tx.conflict(id, server, now))
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

    /// Entries not yet done for `system` (pending, sending, conflict or failed).
    pub fn open_writes(&self, system: System) -> Result<u64> {
        self.read(|c| {
            let n: i64 = c.query_row(
                "SELECT count(*) FROM outbox WHERE system = ?1 AND state <> 'done'",
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
                     WHERE system = ?1 AND {OPEN}"
                ),
                (system.as_str(), why, ts(now)),
            )?)
        })
    }
}
