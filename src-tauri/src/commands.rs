//! The commands the UI invokes. Each is a one-line adapter over the core; the types they
//! return are declared in `ipc` and generated into `ui/src/bindings/ipc.ts`.

use tauri::State;

use crate::error::AppError;
use crate::ipc::{AppStatus, OutboxRow, StudentRow};
use crate::Shell;

/// Students from every system, optionally narrowed by name or external id.
#[tauri::command]
pub async fn list_students(
    shell: State<'_, Shell>,
    search: Option<String>,
) -> Result<Vec<StudentRow>, AppError> {
    shell
        .read(move |desk| desk.students(search.as_deref()))
        .await
}

/// Every queued write and what happened to it.
#[tauri::command]
pub async fn list_outbox(shell: State<'_, Shell>) -> Result<Vec<OutboxRow>, AppError> {
    shell.read(|desk| desk.outbox()).await
}

/// Version, demo mode, data folder and where the first sync stands.
#[tauri::command]
pub async fn app_status(shell: State<'_, Shell>) -> Result<AppStatus, AppError> {
    Ok(shell.status())
}
