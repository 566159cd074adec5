//! Schooldesk's engine over the cache and the connectors: pulling the four systems into the
//! cache, replaying the outbox exactly once, and the built-in demo district. The CLI and the
//! desktop shell both stand on [`Desk`].

pub mod classes;
/// Needs the simulators: only in builds with the `demo` feature (the app's and the CLI's default).
#[cfg(feature = "demo")]
pub mod demo;
pub mod desk;
pub mod documents;
pub mod engine;
pub mod enrollment;
pub mod estimate;
pub mod matching;
pub mod persons;
pub mod pull;
pub mod reads;
pub mod register;
pub mod replay;
pub mod writes;

pub use desk::{default_data_dir, Desk, DeskError, PendingWrites};
pub use engine::{DeskActivity, DeskEvent, Engine, Schedule};
pub use schooldesk_cache::{DeliveryBatch, Receipt, Resolution};
