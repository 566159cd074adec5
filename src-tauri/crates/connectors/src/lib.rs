//! One HTTP client per school system Schooldesk connects to: OmniForge SIS, PowerSchool
//! Enrollment, Matrix LMS and WCBS HUBmis. Each keeps its routes in one table, paces itself
//! under the system's limits, turns every failure into a typed [`ConnectorError`] and maps
//! what it reads into the domain model.

pub mod connection;
pub mod error;
pub mod http;
pub mod omniforge;
pub mod pace;
pub mod redact;
pub mod routes;
pub mod wire;

pub use connection::{Connection, ConnectionSettings};
pub use error::{AuthProblem, ConnectorError, ReplyProblem};
pub use http::Item;
pub use pace::{Limiter, Limits, Pace, RealPace, SharedPace, Ticket};
pub use redact::{Redactor, Secret};

use serde_json::Value;

/// What a system made of a write from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub enum SendOutcome {
    /// Done; the system's record of it.
    Applied(Value),
    /// The system holds another version; a person must choose. The system's current version.
    Conflict(Value),
}

pub mod hubmis;
pub mod matrix;
pub mod powerschool;

use chrono::{DateTime, Utc};
use schooldesk_domain::{Operation, OutboxEntry, System};
use std::sync::Arc;

pub use hubmis::Hubmis;
pub use matrix::Matrix;
pub use omniforge::OmniForge;
pub use powerschool::PowerSchool;

/// A client for one stored connection.
#[derive(Debug)]
pub enum Connector {
    OmniForge(OmniForge),
    PowerSchool(PowerSchool),
    Matrix(Matrix),
    Hubmis(Hubmis),
}

impl Connector {
    /// Builds the client for a stored connection and its secret (the API key, or for HUBmis
    /// the client secret). Refuses plain HTTP to anything but this computer.
    pub fn new(
        connection: &Connection,
        secret: Secret,
        pace: SharedPace,
    ) -> Result<Connector, ConnectorError> {
        Connector::with_limiter(connection, secret, pace, Limiter::new(connection.limits()))
    }

    /// Same, pacing through `limiter`: [`Limiter::shared`] (over [`pace::pace_file`]) for a
    /// client that must share its system's limit with other processes on one data folder.
    pub fn with_limiter(
        connection: &Connection,
        secret: Secret,
        pace: SharedPace,
        limiter: Limiter,
    ) -> Result<Connector, ConnectorError> {
        let system = connection.system;
        let base = http::check_base_url(system, &connection.base_url)?;
        if secret.is_empty() {
            return Err(ConnectorError::Config {
                system,
                detail: "no API key or secret is saved for this connection".into(),
            });
        }
        let mut redactor = Redactor::new();
        redactor.add(&secret);
        let prefix = match system {
            System::OmniForge => omniforge::ROUTES.prefix,
            System::PowerSchool => powerschool::ROUTES.prefix,
            System::Matrix => matrix::ROUTES.prefix,
            System::Hubmis => hubmis::ROUTES.prefix,
        };
        let http = http::Http::new(
            system,
            &base,
            prefix,
            pace,
            limiter,
            redactor,
            connection.timeout(),
        )?;
        Ok(match system {
            System::OmniForge => Connector::OmniForge(OmniForge::new(http, secret)),
            System::PowerSchool => Connector::PowerSchool(PowerSchool::new(http, secret)),
            System::Matrix => Connector::Matrix(Matrix::new(http, secret)),
            System::Hubmis => {
                let missing = |what: &str| ConnectorError::Config {
                    system,
                    detail: format!("the {what} is missing"),
                };
                let client_id = connection
                    .client_id
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| missing("client ID"))?;
                let realm = connection
                    .realm
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .ok_or_else(|| missing("realm (school) ID"))?;
                Connector::Hubmis(Hubmis::new(
                    http,
                    client_id,
                    secret,
                    realm,
                    connection.settings.academic_year_id.clone(),
                ))
            }
        })
    }

    /// Same, on the wall clock.
    pub fn with_real_time(
        connection: &Connection,
        secret: Secret,
    ) -> Result<Connector, ConnectorError> {
        Connector::new(connection, secret, Arc::new(RealPace))
    }

    pub fn system(&self) -> System {
        self.http().system
    }

    pub fn http(&self) -> &http::Http {
        match self {
            Connector::OmniForge(c) => c.http(),
            Connector::PowerSchool(c) => c.http(),
            Connector::Matrix(c) => c.http(),
            Connector::Hubmis(c) => c.http(),
        }
    }

    /// Requests sent so far by this client (every attempt, as the server counts them).
    pub fn requests_sent(&self) -> u64 {
        self.http().requests_sent()
    }

    pub fn limits(&self) -> &Limits {
        self.http().limiter().limits()
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.http().pace().now()
    }

    /// One cheap authenticated call: the address and credentials work.
    pub async fn verify(&self) -> Result<(), ConnectorError> {
        match self {
            Connector::OmniForge(c) => c.verify().await,
            Connector::PowerSchool(c) => c.verify().await,
            Connector::Matrix(c) => c.verify().await,
            Connector::Hubmis(c) => c.verify().await,
        }
    }

    /// Sends one outbox entry. Payload shapes, per operation:
    ///
    /// - `SubmitAttendance`: OmniForge's `POST /attendance` body as is
    ///   (`{studentId, sectionId?, period?, date, status, code?, note?, baseVersion?}`).
    /// - `ImportRosterRecord`: `{publishedActionId, schemaId, record: {field: value…}}`.
    /// - `SubmitForm`: PowerSchool's `POST submission` body as is
    ///   (`{publishedActionId, submission: {dataItems: […]}}`).
    /// - `CreateBatch`: `{deliveryTargetId}`; the batch comes back in `Applied` and must be
    ///   stored before the entry is marked done (it is never fetched twice).
    /// - `ResetBatch`: `{deliveryTargetId, batchId}`.
    /// - `UpdateUser`: the attributes object (`{student_id, first_name, …}`).
    /// - `AddStudentsToClass` / `RemoveStudentsFromClass`: `{class_id, user_ids: […]}`.
    /// - `SetGrades`: `{assignment_id, grades: [{user_id, grade}…]}`.
    pub async fn send(&self, entry: &OutboxEntry) -> Result<SendOutcome, ConnectorError> {
        let system = self.system();
        if entry.operation.system() != system {
            return Err(ConnectorError::Unsupported {
                system,
                operation: format!(
                    "{} (an operation for {})",
                    entry.operation.as_str(),
                    entry.operation.system().display_name()
                ),
            });
        }
        let p = &entry.payload;
        let field = |name: &str| -> Result<String, ConnectorError> {
            match p.get(name) {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(ConnectorError::Validation {
                    system,
                    messages: vec![format!(
                        "the queued {} has no '{name}'",
                        entry.operation.as_str()
                    )],
                }),
            }
        };
        match (self, entry.operation) {
            (Connector::OmniForge(c), Operation::SubmitAttendance) => {
                c.submit_attendance(entry.idempotency_key, p).await
            }
            (Connector::PowerSchool(c), Operation::ImportRosterRecord) => {
                let record = p.get("record").cloned().unwrap_or(Value::Null);
                c.import_roster_record(&field("publishedActionId")?, &field("schemaId")?, &record)
                    .await
            }
            (Connector::PowerSchool(c), Operation::SubmitForm) => c.submit(p).await,
            (Connector::PowerSchool(c), Operation::CreateBatch) => {
                let batch = c.create_batch(&field("deliveryTargetId")?).await?;
                Ok(SendOutcome::Applied(batch.raw))
            }
            (Connector::PowerSchool(c), Operation::ResetBatch) => {
                c.reset_batch(&field("deliveryTargetId")?, &field("batchId")?)
                    .await
            }
            (Connector::Matrix(c), Operation::UpdateUser) => c.update_user(p).await,
            (
                Connector::Matrix(c),
                op @ (Operation::AddStudentsToClass | Operation::RemoveStudentsFromClass),
            ) => {
                let ids = matrix::id_list(p.get("user_ids"))?;
                c.change_class_students(
                    op == Operation::AddStudentsToClass,
                    &field("class_id")?,
                    &ids,
                )
                .await
            }
            (Connector::Matrix(c), Operation::SetGrades) => {
                let grades = p
                    .get("grades")
                    .and_then(Value::as_array)
                    .ok_or_else(|| {
                        matrix::payload_error("grades must be an array of {user_id, grade}")
                    })?
                    .iter()
                    .map(|g| {
                        let get = |k: &str| match g.get(k) {
                            Some(Value::String(s)) => Some(s.clone()),
                            Some(Value::Number(n)) => Some(n.to_string()),
                            _ => None,
                        };
                        Ok((
                            get("user_id")
                                .ok_or_else(|| matrix::payload_error("a grade has no user_id"))?,
                            get("grade").unwrap_or_default(),
                        ))
                    })
                    .collect::<Result<Vec<_>, ConnectorError>>()?;
                c.set_grades(&field("assignment_id")?, &grades).await
            }
            (_, op) => Err(ConnectorError::Unsupported {
                system,
                operation: op.as_str().to_string(),
            }),
        }
    }
}
