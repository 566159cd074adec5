use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::time::Duration;
use uuid::Uuid;

use crate::{System, Write};

/// The life of a queued write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting to be sent (again).
    Pending,
    /// Handed to the network; on restart it is sent again with the same idempotency key.
    Sending,
    /// The system confirmed it.
    Done,
    /// The system holds a different version; a person must choose.
    Conflict,
    /// The system refused it for good (bad data), or it failed too often; a person must look
    /// and may retry or discard it.
    Failed,
    /// Its system needs attention (credentials, permission, a network that redirects or
    /// answers with something that is not the system): kept, and sent once `connect` fixes it.
    Held,
    /// A person chose not to send it; kept as a receipt.
    Discarded,
}

impl OutboxState {
    pub const ALL: [OutboxState; 7] = [
        OutboxState::Pending,
        OutboxState::Sending,
        OutboxState::Done,
        OutboxState::Conflict,
        OutboxState::Failed,
        OutboxState::Held,
        OutboxState::Discarded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Sending => "sending",
            OutboxState::Done => "done",
            OutboxState::Conflict => "conflict",
            OutboxState::Failed => "failed",
            OutboxState::Held => "held",
            OutboxState::Discarded => "discarded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        OutboxState::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether replay still has work to do for this entry.
    pub fn is_open(self) -> bool {
        matches!(self, OutboxState::Pending | OutboxState::Sending)
    }

    /// Whether the write has not reached its system and a person (or `connect`) can still
    /// send it: everything but Done and Discarded.
    pub fn is_unsettled(self) -> bool {
        !matches!(self, OutboxState::Done | OutboxState::Discarded)
    }
}

/// The operations Schooldesk queues, per system (see CONTRACT.md "What the app writes").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// OmniForge `POST /attendance`.
    SubmitAttendance,
    /// PowerSchool roster record import.
    ImportRosterRecord,
    /// PowerSchool single submission.
    SubmitForm,
    /// PowerSchool delivery batch.
    CreateBatch,
    ResetBatch,
    /// Matrix.
    UpdateUser,
    AddStudentsToClass,
    RemoveStudentsFromClass,
    SetGrades,
}

impl Operation {
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::SubmitAttendance => "submit_attendance",
            Operation::ImportRosterRecord => "import_roster_record",
            Operation::SubmitForm => "submit_form",
            Operation::CreateBatch => "create_batch",
            Operation::ResetBatch => "reset_batch",
            Operation::UpdateUser => "update_user",
            Operation::AddStudentsToClass => "add_students_to_class",
            Operation::RemoveStudentsFromClass => "remove_students_from_class",
            Operation::SetGrades => "set_grades",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use Operation::*;
        [
            SubmitAttendance,
            ImportRosterRecord,
            SubmitForm,
            CreateBatch,
            ResetBatch,
            UpdateUser,
            AddStudentsToClass,
            RemoveStudentsFromClass,
            SetGrades,
        ]
        .into_iter()
        .find(|op| op.as_str() == s)
    }

    pub fn system(self) -> System {
        use Operation::*;
        match self {
            SubmitAttendance => System::OmniForge,
            ImportRosterRecord | SubmitForm | CreateBatch | ResetBatch => System::PowerSchool,
            UpdateUser | AddStudentsToClass | RemoveStudentsFromClass | SetGrades => System::Matrix,
        }
    }
}

/// A queued write. Entries for the same `entity_key` are sent strictly in `id` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxEntry {
    pub id: i64,
    pub idempotency_key: Uuid,
    pub system: System,
    pub operation: Operation,
    /// What the write is about (e.g. `attendance:<student>:<section>:<period>:<date>`);
    /// writes to one entity are replayed in order.
    pub entity_key: String,
    pub write: Write,
    pub state: OutboxState,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A request went out and no answer was recorded (lost reply, timeout, crash while
    /// sending): the next attempt first reads the system to settle what happened.
    pub uncertain: bool,
    /// What a person decided about it (`kept_mine`, `took_theirs`, `retried`, `discarded`).
    pub resolution: Option<String>,
}

/// One request of a receipt: what was sent, when, and what the system answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxAttempt {
    pub n: u32,
    pub started_at: DateTime<Utc>,
    /// Method, route and body as sent (never a secret).
    pub request: Value,
    pub finished_at: Option<DateTime<Utc>>,
    /// `applied`, `conflict`, `refused`, `retry`, `held`, `uncertain`, `settled_applied`,
    /// `settled_absent`, `settled_conflict` — or none while the request is (or was) in flight.
    pub outcome: Option<String>,
    /// The system's answer, or the error in words.
    pub answer: Option<Value>,
}

/// Exponential backoff with full jitter, capped. `jitter` is a number in `[0, 1)` supplied by
/// the caller, so the schedule is testable.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The wait before attempt number `attempts + 1`, given `attempts` failures so far.
    /// Half the delay is fixed and half is jitter, so retries spread out but never bunch at 0.
    pub fn delay(&self, attempts: u32, jitter: f64) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32.checked_shl(attempts.min(20)).unwrap_or(u32::MAX));
        let ceiling = exp.min(self.cap);
        let jitter = jitter.clamp(0.0, 1.0);
        ceiling.mul_f64(0.5 + 0.5 * jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_then_caps_and_jitter_stays_in_band() {
        let b = Backoff::default();
        assert_eq!(b.delay(0, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(0, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(16));
        assert!(b.delay(3, 0.3) < b.delay(3, 0.9));
        assert_eq!(b.delay(40, 1.0), b.cap);
        assert!(b.delay(40, 0.0) >= b.cap / 2);
    }

    #[test]
    fn operations_and_states_round_trip_their_names() {
        for st in OutboxState::ALL {
            assert_eq!(OutboxState::parse(st.as_str()), Some(st));
        }
        assert_eq!(
            Operation::parse("submit_attendance"),
            Some(Operation::SubmitAttendance)
        );
        assert_eq!(Operation::SetGrades.system(), System::Matrix);
        assert_eq!(Operation::parse("drop_table"), None);
    }
}
