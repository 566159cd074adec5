//! The shell's one error type. It crosses to the UI as an [`ErrorPayload`]
//! (`{code, message, retryable}`), so the UI branches on `code` and never on wording.

use schooldesk_sync::DeskError;
use serde::{Serialize, Serializer};

use crate::ipc::ErrorPayload;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// The cache failed to open when the app started; every command reports the same reason.
    #[error("{}", .0.message)]
    Unavailable(ErrorPayload),
    #[error("A background task of Schooldesk stopped unexpectedly ({0}). Restart Schooldesk; if it happens again, report it with the log.")]
    Task(String),
}

impl AppError {
    pub fn payload(&self) -> ErrorPayload {
        match self {
            AppError::Unavailable(payload) => payload.clone(),
            AppError::Desk(e) => ErrorPayload {
                code: e.code().to_string(),
                message: e.user_message(),
                retryable: desk_error_is_retryable(e),
            },
            AppError::Task(_) => ErrorPayload {
                code: "shell.task".into(),
                message: self.to_string(),
                retryable: true,
            },
        }
    }
}

/// Whether the same call can succeed later without anyone changing anything: the network,
/// a server, a locked keychain or a busy file. Keyed on the core's stable codes.
fn desk_error_is_retryable(e: &DeskError) -> bool {
    match e {
        DeskError::Connector(c) => c.is_retryable(),
        DeskError::Demo(_) => true,
        other => matches!(other.code(), "cache.keychain" | "cache.io" | "cache.sqlite"),
    }
}

impl Serialize for AppError {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.payload().serialize(serializer)
    }
}

impl From<tauri::Error> for AppError {
    fn from(e: tauri::Error) -> Self {
        AppError::Task(e.to_string())
    }
}
