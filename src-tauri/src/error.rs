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
    /// The engine is not running yet (the cache did not open, or the demo is starting).
    #[error("Schooldesk is still starting; try again in a moment.")]
    Starting,
    /// An update could not be installed or its setting was refused (see `update`).
    #[error("{}", .0.message)]
    Update(ErrorPayload),
    /// A document could not be made, saved or printed (see `exports`).
    #[error("{}", .0.message)]
    Document(ErrorPayload),
    /// Settings or first run refused a request, with a `shell.…` code (see `settings`).
    #[error("{}", .0.message)]
    Refused(ErrorPayload),
}

impl AppError {
    pub fn payload(&self) -> ErrorPayload {
        match self {
            AppError::Unavailable(payload)
            | AppError::Update(payload)
            | AppError::Document(payload)
            | AppError::Refused(payload) => payload.clone(),
            AppError::Desk(e) => ErrorPayload {
                code: e.code().to_string(),
                message: e.user_message(),
                retryable: e.is_retryable(),
            },
            AppError::Starting => ErrorPayload {
                code: "shell.starting".into(),
                message: self.to_string(),
                retryable: true,
            },
            AppError::Task(_) => ErrorPayload {
                code: "shell.task".into(),
                message: self.to_string(),
                retryable: true,
            },
        }
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
