use std::path::PathBuf;

use schooldesk_domain::{OutboxState, System};
use uuid::Uuid;

/// Everything that can go wrong in the cache, the keychain or the outbox.
///
/// Each message is written for the person at the desk and says what to do next; the
/// technical detail follows in brackets where there is one. [`CacheError::code`] gives a
/// stable identifier for the UI, which must never match on the text.
#[derive(Debug, thiserror::Error)]
pub enum CacheError {
    #[error("{} (technical detail: {detail})", .problem.sentence())]
    Keychain {
        problem: KeychainProblem,
        detail: String,
    },

    #[error(
        "The Schooldesk cache {} exists but its key is missing from this computer's keychain, \
         so it cannot be read. This happens after the keychain was reset, or when the data \
         folder was moved or copied from elsewhere. The file was left untouched: restore the \
         keychain, or reset the cache to start afresh (everything will sync again from the \
         school systems, but writes not yet sent are lost).",
        .db_path.display()
    )]
    KeyMissing { db_path: PathBuf },

    #[error(
        "The key in the keychain does not open the Schooldesk cache {}, or the file is damaged. \
         The file was left untouched. If the folder came from another computer, bring its \
         keychain too; otherwise reset the cache to start afresh.",
        .db_path.display()
    )]
    WrongKey { db_path: PathBuf },

    #[error(
        "The Schooldesk cache {} was written by a newer version of Schooldesk (its layout is \
         version {found}; this version understands up to {supported}). Install the newer \
         Schooldesk again. The file was left untouched.",
        .db_path.display()
    )]
    NewerSchema {
        db_path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error(
        "There is no student {source_id} from {} in the cache. Sync {} first, or check the \
         student's id. Nothing was saved.",
        .system.display_name(), .system.display_name()
    )]
    UnknownStudent { system: System, source_id: String },

    #[error(
        "There is no class or group {source_id} from {} in the cache. Sync {} first, or check \
         the class. Nothing was saved.",
        .system.display_name(), .system.display_name()
    )]
    UnknownSection { system: System, source_id: String },

    #[error("{0} Nothing was saved.")]
    InvalidInput(String),

    #[error("There is no outbox entry number {id}. Refresh the outbox list.")]
    OutboxEntryNotFound { id: i64 },

    #[error(
        "Outbox entry number {id} is already {}; it cannot change again. Refresh the outbox list.",
        .state.as_str()
    )]
    OutboxEntryClosed { id: i64, state: OutboxState },

    #[error(
        "The write key {key} was already used for a different write. This is a fault in \
         Schooldesk; please report it. Nothing was saved."
    )]
    IdempotencyKeyReused { key: Uuid },

    #[error(
        "The cache holds something this version of Schooldesk cannot read ({what}). Reset the \
         cache to rebuild it from the school systems."
    )]
    Corrupt { what: String },

    #[error(
        "Could not use {}: {source}. Check that the folder exists and that you may write to it.",
        .path.display()
    )]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "The cache could not be read or written. Try again; if it keeps failing, reset the \
         cache. (technical detail: {0})"
    )]
    Sqlite(#[from] rusqlite::Error),

    #[error("Could not encode data for the cache. (technical detail: {0})")]
    Json(#[from] serde_json::Error),
}

impl CacheError {
    /// A stable identifier for the UI (`{code, message}` across IPC).
    pub fn code(&self) -> &'static str {
        match self {
            CacheError::Keychain { .. } => "cache.keychain",
            CacheError::KeyMissing { .. } => "cache.key_missing",
            CacheError::WrongKey { .. } => "cache.wrong_key",
            CacheError::NewerSchema { .. } => "cache.newer_schema",
            CacheError::UnknownStudent { .. } => "cache.unknown_student",
            CacheError::UnknownSection { .. } => "cache.unknown_section",
            CacheError::InvalidInput(_) => "cache.invalid_input",
            CacheError::OutboxEntryNotFound { .. } => "cache.outbox_entry_not_found",
            CacheError::OutboxEntryClosed { .. } => "cache.outbox_entry_closed",
            CacheError::IdempotencyKeyReused { .. } => "cache.idempotency_key_reused",
            CacheError::Corrupt { .. } => "cache.corrupt",
            CacheError::Io { .. } => "cache.io",
            CacheError::Sqlite(_) => "cache.sqlite",
            CacheError::Json(_) => "cache.json",
        }
    }

    /// Whether trying the same thing again later can succeed without a person changing
    /// anything first (a busy database, a keychain that was still starting).
    pub fn retry_may_help(&self) -> bool {
        match self {
            CacheError::Keychain { problem, .. } => {
                matches!(problem, KeychainProblem::Unavailable)
            }
            CacheError::Sqlite(e) => matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
            ),
            CacheError::Io { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CacheError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> Self {
        CacheError::Corrupt { what: what.into() }
    }
}

/// What kind of keychain trouble stopped Schooldesk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeychainProblem {
    /// No keychain service answered (no Secret Service on Linux, no D-Bus session).
    Unavailable,
    /// The keychain is locked or refused access.
    Locked,
    /// A Schooldesk entry exists but is not in a form Schooldesk wrote.
    Unreadable,
    /// Several entries match one name.
    Ambiguous,
    /// The keychain refused the entry itself (name or value too long, or invalid).
    Rejected,
}

impl KeychainProblem {
    pub fn sentence(self) -> &'static str {
        match self {
            KeychainProblem::Unavailable => {
                "Schooldesk could not reach this computer's keychain, where it keeps the key to \
                 its cache and the school systems' passwords. Log out and back in (or start the \
                 keyring service), then try again."
            }
            KeychainProblem::Locked => {
                "The keychain is locked or refused access to Schooldesk. Unlock it (enter your \
                 login password when asked), then try again."
            }
            KeychainProblem::Unreadable => {
                "The keychain holds a Schooldesk entry that Schooldesk cannot read. Remove the \
                 'schooldesk' entries in your keychain app or reset the cache, then try again."
            }
            KeychainProblem::Ambiguous => {
                "The keychain holds more than one Schooldesk entry for the same thing. Remove \
                 the duplicate 'schooldesk' entries in your keychain app, then try again."
            }
            KeychainProblem::Rejected => {
                "The keychain refused to store a Schooldesk entry. Please report this fault."
            }
        }
    }
}

impl From<keyring::Error> for CacheError {
    fn from(e: keyring::Error) -> Self {
        let problem = match &e {
            keyring::Error::PlatformFailure(_) => KeychainProblem::Unavailable,
            keyring::Error::NoStorageAccess(_) => KeychainProblem::Locked,
            keyring::Error::BadEncoding(_) => KeychainProblem::Unreadable,
            keyring::Error::Ambiguous(_) => KeychainProblem::Ambiguous,
            // NoEntry is handled where it means "absent"; reaching here means a bug upstream.
            _ => KeychainProblem::Rejected,
        };
        // BadEncoding's Display does not include the bytes, so the detail never leaks a secret.
        CacheError::Keychain {
            problem,
            detail: e.to_string(),
        }
    }
}

pub type Result<T, E = CacheError> = std::result::Result<T, E>;
