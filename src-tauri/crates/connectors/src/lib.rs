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
pub use pace::{Limiter, Limits, Pace, RealPace, SharedPace};
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
