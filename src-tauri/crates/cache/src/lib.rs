//! Schooldesk's local cache: everything copied from the four school systems, the connection
//! settings, sync progress and the outbox of writes waiting to be sent — in ONE SQLite file,
//! `<data dir>/schooldesk.db`, encrypted with SQLCipher.
//!
//! # The key
//! A random 256-bit key is created on first open and kept in the operating system's keychain
//! ([`Keychain`], service `schooldesk`, account `cache-key@<hash of the data dir>`), never in
//! the data directory. School-system secrets (API keys, client secrets) live in the keychain
//! too ([`Keychain::set_secret`]); the `connections` table holds no secret. A cache whose key
//! is gone is refused ([`CacheError::KeyMissing`]) rather than replaced; [`reset`] deletes the
//! file and its key together.
//!
//! # Opening
//! [`Cache::open`] keys the file, proves the key by reading it (a wrong key is
//! [`CacheError::WrongKey`], nothing written), refuses a file from a newer Schooldesk
//! ([`CacheError::NewerSchema`]) and applies the embedded migrations (`migrations/*.sql`,
//! append-only). The file runs in WAL mode with `synchronous=FULL` (a commit the person saw
//! as saved survives a power cut) and a 64 MiB page cache (SQLCipher's cost is page
//! decryption; with the working set cached, encrypted reads run at plain speed).
//!
//! # Threads
//! [`Cache`] holds one connection behind a `std::sync::Mutex`; every method takes `&self`, so
//! one `Arc<Cache>` serves the CLI, the sync engine and the Tauri shell. Calls block: run
//! them off async executors (`spawn_blocking`).
//!
//! # Writes
//! `upsert_*` store a batch of one model in one transaction, keyed by (system, source id);
//! [`Cache::with_transaction`] gives a [`CacheTx`] for several writes that must land together
//! (a page of rows and its sync cursor). [`Cache::record_attendance`] stores a mark taken at
//! the desk and queues its write in the same transaction; the outbox functions
//! ([`Cache::claim_due`], [`Cache::complete`], …) carry it to the system, in order per entity,
//! with one idempotency key for life.
//!
//! Time and randomness are passed in (`now` parameters, idempotency keys), except the cache
//! key itself, which always comes from the operating system's random source.

mod access_log;
pub mod allow_list;
mod attendance;
mod batches;
mod changes;
mod codec;
mod error;
mod exit_gate;
mod hubmis_links;
mod keychain;
mod outbox;
mod people;
mod persons;
mod reads;
mod registration;
mod removals;
mod rows;
mod schema;
mod settings;
mod store;
mod support;
mod writes;

pub use access_log::{AccessAction, AccessEntry, NewAccess};
pub use attendance::{attendance_write_operation, NewAttendance};
pub use batches::{DeliveryBatch, ImportSchema};
pub use changes::{with_origin, ChangeBatch};
pub use error::{CacheError, KeychainProblem, Result};
pub use keychain::{CacheKey, Keychain, SERVICE as KEYCHAIN_SERVICE};
pub use outbox::{NewOutboxEntry, Receipt, Resolution, MAX_TRANSIENT_ATTEMPTS};
pub use people::StudentQuery;
pub use persons::{DocumentListing, PersonRecord, PersonRecords, StudentMark};
pub use reads::{OutboxCountsBySystem, LAST_SYNC_OUTCOME};
pub use registration::MissingItem;
pub use removals::{over_guardrail, RemovalOutcome, REMOVABLE_TABLES};
pub use schema::{Migration, MIGRATIONS, SCHEMA_VERSION};
pub use settings::{ConnectionSettings, Counts, SyncState, COUNTED_TABLES};
pub use store::{reset, Cache, CacheTx, DB_FILE};
