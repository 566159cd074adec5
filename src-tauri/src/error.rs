//! The shell's one error type. It crosses to the UI as an [`ErrorPayload`]
//! (`{code, message, retryable}`), so the UI branches on `code` and never on wording.

use serde::{Serialize, Serializer};

use crate::core::DeskError;
use crate::ipc::{ErrorCode, ErrorPayload};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Desk(#[from] DeskError),
    /// The cache failed to open when the app started; every command reports the same reason.
    #[error("{}", .0.message)]
    Unavailable(ErrorPayload),
    #[error("a background task stopped unexpectedly ({0}). Restart Schooldesk; if it happens again, report it with the log.")]
    Task(String),
}

impl AppError {
    pub fn payload(&self) -> ErrorPayload {
        match self {
            AppError::Unavailable(payload) => payload.clone(),
            AppError::Desk(e) => desk_payload(e),
            AppError::Task(_) => ErrorPayload {
                code: ErrorCode::Internal,
                message: self.to_string(),
                retryable: true,
            },
        }
    }
}

// TEMPORARY mapping over the core shim's errors: when the real facade lands, map its variants
// here (or use its own `code()` / `is_permanent()` if it grows them).
fn desk_payload(e: &DeskError) -> ErrorPayload {
    let (code, retryable) = match e {
        DeskError::DataDir { .. } => (ErrorCode::CacheUnavailable, false),
    };
    ErrorPayload {
        code,
        message: e.to_string(),
        retryable,
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
