//! The commands the UI invokes. Each is a one-line adapter over the core (`schooldesk_sync::Desk`);
//! the types they return are declared in `ipc` and generated into `ui/src/bindings/ipc.ts`.

use tauri::State;

use crate::error::AppError;
use crate::ipc::{ActivityView, AppStatus, OutboxRow, StudentList, UpdateStatus, STUDENT_PAGE};
use crate::Shell;

/// Students from every system, optionally narrowed by words that start a name or the
/// external id; at most one page, and whether more matched.
#[tauri::command]
pub async fn list_students(
    shell: State<'_, Shell>,
    search: Option<String>,
) -> Result<StudentList, AppError> {
    shell
        .read(move |desk| desk.students(search.as_deref(), Some(STUDENT_PAGE + 1)))
        .await
        .map(StudentList::from_students)
}

/// Every queued write and what happened to it.
#[tauri::command]
pub async fn list_outbox(shell: State<'_, Shell>) -> Result<Vec<OutboxRow>, AppError> {
    shell
        .read(|desk| desk.outbox(None))
        .await
        .map(|entries| entries.into_iter().map(OutboxRow::from).collect())
}

/// Version, demo mode, data folder and where the first sync stands.
#[tauri::command]
pub async fn app_status(shell: State<'_, Shell>) -> Result<AppStatus, AppError> {
    Ok(shell.status())
}

/// Where syncs, sending and reachability stand now (then follow `desk-activity` events).
#[tauri::command]
pub async fn desk_activity(shell: State<'_, Shell>) -> Result<ActivityView, AppError> {
    Ok(shell.activity())
}

/// "Sync now": every connected system, at once.
#[tauri::command]
pub async fn sync_now(shell: State<'_, Shell>) -> Result<(), AppError> {
    shell
        .engine()?
        .sync_now(Vec::new(), schooldesk_sync::pull::SyncMode::Incremental);
    Ok(())
}

/// "Send now": the outbox at once, including writes held back while their system was down.
#[tauri::command]
pub async fn send_now(shell: State<'_, Shell>) -> Result<(), AppError> {
    shell.engine()?.send_now();
    Ok(())
}

/// Where Schooldesk's own update stands (then follow `update-status` events).
#[tauri::command]
pub async fn update_status(
    updates: State<'_, crate::update::Updates>,
) -> Result<UpdateStatus, AppError> {
    Ok(updates.status())
}

/// "Restart to update": pauses sending, installs the verified update and restarts.
#[tauri::command]
pub async fn restart_to_update<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
) -> Result<(), AppError> {
    crate::update::restart_to_update(&app).await
}

/// Sets this computer's update server (`null`: back to the default) and checks it now.
#[tauri::command]
pub async fn set_update_endpoint<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    endpoint: Option<String>,
) -> Result<UpdateStatus, AppError> {
    crate::update::set_endpoint(&app, endpoint).await
}
