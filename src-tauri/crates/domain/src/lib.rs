//! The model every part of Schooldesk speaks: schools, students, guardians, sections,
//! enrollments, attendance, checklists, enrollment records and documents, learning support,
//! grades — and the outbox entries that carry a user's writes to a system.
//!
//! Nothing here does IO. Time and randomness are passed in.

mod model;
mod outbox;
mod sensitive;
mod system;
mod write;

pub use model::*;
pub use outbox::*;
pub use sensitive::strip_never_stored;
pub use system::{System, UnknownSystem};
pub use write::{mark_entity_key, MarkWrite, Write, MATRIX_USER_FIELDS};
