//! TEMPORARY shim standing in for the `schooldesk-sync` facade (`Desk`) until it lands.
//!
//! It has the facade's signatures and returns `schooldesk_domain` values, so the shell, the
//! generated bindings and the tests are built against the real shapes. Replace the whole
//! module with `pub use schooldesk_sync::{default_data_dir, DemoHandle, Desk, DeskError};`
//! (and delete this file) once the facade exists; nothing else in the shell should change
//! except the `DeskError` → `ErrorCode` mapping in `error.rs`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use schooldesk_domain::{Operation, OutboxEntry, OutboxState, Source, Student, System};

/// TEMPORARY: the facade's error type.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error("cannot create the data folder {path}: {reason}. Check that the folder is writable, or set SCHOOLDESK_DATA_DIR to another folder.")]
    DataDir { path: PathBuf, reason: String },
}

/// TEMPORARY: keeps the demo simulators running while it lives.
#[derive(Debug)]
pub struct DemoHandle;

/// TEMPORARY: the facade's entry point over the cache and the connections.
#[derive(Debug)]
pub struct Desk {
    students: Mutex<Vec<Student>>,
    outbox: Mutex<Vec<OutboxEntry>>,
}

/// TEMPORARY: where the cache lives when nothing else is said.
pub fn default_data_dir() -> PathBuf {
    std::env::temp_dir().join("schooldesk-shim")
}

impl Desk {
    pub fn open(data_dir: &Path) -> Result<Desk, DeskError> {
        std::fs::create_dir_all(data_dir).map_err(|e| DeskError::DataDir {
            path: data_dir.to_path_buf(),
            reason: e.to_string(),
        })?;
        Ok(Desk {
            students: Mutex::new(Vec::new()),
            outbox: Mutex::new(Vec::new()),
        })
    }

    /// TEMPORARY: the facade will report the systems the office has set up.
    pub fn configured_systems(&self) -> Result<Vec<System>, DeskError> {
        Ok(Vec::new())
    }

    pub async fn start_demo(&self) -> Result<DemoHandle, DeskError> {
        *self.students.lock().expect("shim lock") = demo_students();
        *self.outbox.lock().expect("shim lock") = demo_outbox();
        Ok(DemoHandle)
    }

    pub fn students(&self, search: Option<&str>) -> Result<Vec<Student>, DeskError> {
        let needle = search.map(str::trim).unwrap_or("").to_lowercase();
        let all = self.students.lock().expect("shim lock");
        Ok(all
            .iter()
            .filter(|s| {
                needle.is_empty()
                    || s.display_name().to_lowercase().contains(&needle)
                    || s.external_id
                        .as_deref()
                        .is_some_and(|id| id.to_lowercase().contains(&needle))
            })
            .cloned()
            .collect())
    }

    pub fn outbox(&self) -> Result<Vec<OutboxEntry>, DeskError> {
        Ok(self.outbox.lock().expect("shim lock").clone())
    }
}

fn fetched_at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 9, 1, 8, 0, 0)
        .single()
        .expect("valid date")
}

fn demo_students() -> Vec<Student> {
    let rows = [
        (
            System::OmniForge,
            "of-1001",
            "S-1001",
            "Amara",
            "Okafor",
            "7",
            "7B",
        ),
        (
            System::OmniForge,
            "of-1002",
            "S-1002",
            "Liam",
            "Chen",
            "7",
            "7A",
        ),
        (
            System::PowerSchool,
            "ps-2001",
            "S-1003",
            "Sofia",
            "García",
            "8",
            "8C",
        ),
        (
            System::Matrix,
            "mx-3001",
            "S-1001",
            "Amara",
            "Okafor",
            "7",
            "7B",
        ),
        (
            System::Hubmis,
            "hm-4001",
            "UK-0042",
            "Oliver",
            "Hughes",
            "Year 9",
            "9H",
        ),
        (
            System::Hubmis,
            "hm-4002",
            "UK-0043",
            "Isla",
            "Patel",
            "Year 9",
            "9P",
        ),
    ];
    rows.into_iter()
        .map(
            |(system, id, ext, given, family, grade, homeroom)| Student {
                source: Source::new(system, id, fetched_at(), serde_json::json!({ "id": id })),
                external_id: Some(ext.to_string()),
                given_name: given.to_string(),
                family_name: family.to_string(),
                preferred_name: None,
                date_of_birth: NaiveDate::from_ymd_opt(2012, 3, 14),
                grade: Some(grade.to_string()),
                school_source_id: None,
                homeroom: Some(homeroom.to_string()),
                active: true,
            },
        )
        .collect()
}

fn demo_outbox() -> Vec<OutboxEntry> {
    let entry = |id: i64, op: Operation, state: OutboxState, attempts: u32, err: Option<&str>| {
        OutboxEntry {
            id,
            idempotency_key: uuid_from(id),
            system: op.system(),
            operation: op,
            entity_key: format!("demo:{id}"),
            payload: serde_json::json!({}),
            state,
            attempts,
            next_attempt_at: fetched_at(),
            last_error: err.map(str::to_string),
            created_at: fetched_at(),
            updated_at: fetched_at(),
        }
    };
    vec![
        entry(1, Operation::SubmitAttendance, OutboxState::Done, 1, None),
        entry(
            2,
            Operation::SetGrades,
            OutboxState::Pending,
            2,
            Some("Matrix LMS answered 503; will retry"),
        ),
    ]
}

fn uuid_from(n: i64) -> uuid::Uuid {
    uuid::Uuid::from_u128(n as u128)
}
