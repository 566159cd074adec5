//! One HTTP client per school system Schooldesk connects to: OmniForge SIS, PowerSchool
//! Enrollment, Matrix LMS and WCBS HUBmis. Each keeps its routes in one table, paces itself
//! under the system's limits, turns every failure into a typed [`ConnectorError`] and maps
//! what it reads into the domain model.
//!
//! # Exactly once, per operation
//!
//! A write goes out with [`Connector::send_write`]. When its outcome is uncertain (a lost
//! reply, a timeout, a crash while sending: [`Disposition::Retry`] with `uncertain`), the
//! next attempt first calls [`Connector::settle`], which reads the system and says whether
//! the write was applied; only [`Settled::NotApplied`] leads to sending it again. Reading
//! costs requests only after an uncertain outcome, never on the normal path (except a mark
//! the desk has no server copy of, below).
//!
//! | write | sent as | the same write twice | settling an uncertain outcome |
//! |---|---|---|---|
//! | OmniForge mark | `POST /attendance` with `Idempotency-Key` (the entry's key, for life) and `baseVersion` from the cache; `minutes_late` is appended to the note | the server answers the first result for the same key; http retries it | nothing to read: `NotApplied`, because resending with the same key cannot apply it twice |
//! | OmniForge mark, no server copy (`base_version: None`) | first `GET /attendance` for the day and section (or the student's school): a different server mark → `Conflict` and nothing is written; the same mark → `Applied`; the same status and code with another note → posted against the server's version; none → posted without `baseVersion` | as above | as above |
//! | PowerSchool import | `POST publishedactions/{a}/importschemas/{s}`; only a 429 is retried | an import sets fields, so twice is harmless, but it is still not resent blindly | page `rosterrecords` for the record's `…ExternalID`: every field we sent already there → `Applied`, else `NotApplied` |
//! | PowerSchool submission | `POST submission`; only a 429 is retried | **would create a second submission** | page `submissionrecords`: a record holding all our values, submitted since the attempt began (2 min slack) → `Applied`, else `NotApplied` |
//! | PowerSchool `createbatch` | `POST deliverytargets/{t}/createbatch`; only a 429 is retried; the batch comes back in `Applied` and is stored in the transaction that marks the entry done | **would drain the pool again** | `getbatches` for that day: every batch the desk does not know (`known_batches`) created since the attempt began was made by the lost request; `getbatches` gives no records, so each is reset (`resetbatch`) and `NotApplied` is returned; the fresh `createbatch` then gets the same records back. One user action never drains the pool twice and no record drops out of delivery. |
//! | PowerSchool `resetbatch` | `POST …/resetbatch/{b}`: 204, or 404 (refused: no such batch) | harmless | `NotApplied`: resetting again is harmless (writes to one target are sent in order) |
//! | Matrix `update_user` | `match_field=match_value` and the `set` attributes (documented fields only; never `password` or `ssn`); only a 429 or lockout is retried | "set to": harmless unless someone changed it since | `get_users_with_ids`: every field already ours → `Applied`; every field still as `seen` → `NotApplied`; else `Conflict` with the server's values |
//! | Matrix add / remove students | `add_students_to_class` (`ignore_already_enrolled`) / `remove_students_from_class` | harmless | `get_students_for_class`: all present (add) or all absent (remove) → `Applied`, else `NotApplied` |
//! | Matrix grade | `set_grades_for_assignment` with one grade | "set to", as `update_user` | `get_grades_for_class`: ours → `Applied`; as `seen` → `NotApplied`; else `Conflict` with the server's grade, grader and time |
//! | HUBmis | nothing: its API is read-only (`Unsupported`) | — | — |

pub mod connection;
pub mod error;
pub mod http;
pub mod omniforge;
pub mod pace;
pub mod redact;
pub mod routes;
pub mod wire;

pub use connection::{Connection, ConnectionSettings};
pub use error::{AuthProblem, ConnectorError, Disposition, ReplyProblem};
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

/// What a read after an uncertain outcome found.
#[derive(Debug, Clone, PartialEq)]
pub enum Settled {
    /// The write is already in the system: its record there.
    Applied(Value),
    /// The write is not in the system (or sending it again is harmless): send it again.
    NotApplied,
    /// The system now holds something else that is neither ours nor what the desk saw: a
    /// person must choose. The system's current values.
    Conflict(Value),
}

/// What [`Connector::settle`] needs to know about the uncertain attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct SettleContext {
    /// When the uncertain request started (by the pace's clock).
    pub started_at: DateTime<Utc>,
    /// Delivery batches the desk already stores for the write's target (PowerSchool).
    pub known_batches: Vec<String>,
}

/// How far a server's clock may run behind the desk's when matching "created since the
/// attempt started".
pub(crate) const CLOCK_SLACK_SECS: i64 = 120;

pub mod hubmis;
pub mod matrix;
pub mod powerschool;

use chrono::{DateTime, Utc};
use schooldesk_domain::{System, Write};
use std::sync::Arc;
use uuid::Uuid;

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

    fn declined(&self, write: &Write) -> ConnectorError {
        ConnectorError::Unsupported {
            system: self.system(),
            operation: write.operation().as_str().to_string(),
        }
    }

    /// Refuses a write meant for another system (or for HUBmis, which takes none).
    fn check_system(&self, write: &Write) -> Result<(), ConnectorError> {
        let system = self.system();
        if system == System::Hubmis {
            return Err(self.declined(write));
        }
        if write.system() != system {
            return Err(ConnectorError::Unsupported {
                system,
                operation: format!(
                    "{} (an operation for {})",
                    write.operation().as_str(),
                    write.system().display_name()
                ),
            });
        }
        Ok(())
    }

    /// What will be sent for `write`, for the receipt: `{"method", "route", "query"?,
    /// "headers"?, "body"?}` (the query as `[name, value]` pairs). Never a secret: keys are
    /// added when the request goes out and are not part of it. A write that cannot be sent
    /// gives `{"method": null, "route": null, "problem": …}`.
    pub fn request_for(&self, write: &Write, idempotency_key: Uuid) -> Value {
        let call = self.check_system(write).and_then(|()| match self {
            Connector::OmniForge(c) => c.write_call(write, idempotency_key),
            Connector::PowerSchool(c) => c.write_call(write),
            Connector::Matrix(c) => c.write_call(write),
            Connector::Hubmis(_) => Err(self.declined(write)),
        });
        match call {
            Ok(call) => self.http().describe_call(&call),
            Err(e) => serde_json::json!({
                "method": null,
                "route": null,
                "problem": e.user_message(),
            }),
        }
    }

    /// Sends one write (see "Exactly once, per operation" above). An `Err` says by its
    /// [`ConnectorError::disposition`] how the outbox treats it.
    pub async fn send_write(
        &self,
        write: &Write,
        idempotency_key: Uuid,
    ) -> Result<SendOutcome, ConnectorError> {
        self.check_system(write)?;
        match self {
            Connector::OmniForge(c) => c.send_write(write, idempotency_key).await,
            Connector::PowerSchool(c) => c.send_write(write).await,
            Connector::Matrix(c) => c.send_write(write).await,
            Connector::Hubmis(_) => Err(self.declined(write)),
        }
    }

    /// After an uncertain outcome, reads the system to learn whether `write` was applied,
    /// before anything is sent again (see "Exactly once, per operation" above).
    pub async fn settle(
        &self,
        write: &Write,
        ctx: &SettleContext,
    ) -> Result<Settled, ConnectorError> {
        self.check_system(write)?;
        match self {
            // The same Idempotency-Key goes out again: resending cannot apply it twice.
            Connector::OmniForge(_) => Ok(Settled::NotApplied),
            Connector::PowerSchool(c) => c.settle(write, ctx).await,
            Connector::Matrix(c) => c.settle(write).await,
            Connector::Hubmis(_) => Err(self.declined(write)),
        }
    }
}
