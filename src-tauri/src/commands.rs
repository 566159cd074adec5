//! The commands the UI invokes. Each is a one-line adapter over the core (`schooldesk_sync::Desk`);
//! the types they return are declared in `ipc` and generated into `ui/src/bindings/ipc.ts`.
//! A command is registered by its line in `command_table.rs`, which also types it for the UI.

use tauri::State;

use crate::error::AppError;
use chrono::Utc;
use schooldesk_domain::OutboxState;

use crate::ipc::{
    ActivityView, AppStatus, OutboxRow, PeopleIndex, ReceiptView, ResolveChoice, SchoolNode,
    StudentPage, UpdateStatus,
};
use crate::Shell;

/// Every queued write and what happened to it.
#[tauri::command]
pub async fn list_outbox(shell: State<'_, Shell>) -> Result<Vec<OutboxRow>, AppError> {
    shell
        .read(|desk| {
            let entries = desk.outbox(None)?;
            Ok(entries
                .into_iter()
                .map(|e| OutboxRow::named(desk, e))
                .collect())
        })
        .await
}

/// Version, demo mode, data folder and where the first sync stands.
#[tauri::command]
pub async fn app_status(shell: State<'_, Shell>) -> Result<AppStatus, AppError> {
    Ok(shell.status())
}

/// The window's first screen is shown: the demo district or the first sync may start now
/// (the shell starts them after a few seconds anyway).
#[tauri::command]
pub async fn first_screen_shown(shell: State<'_, Shell>) -> Result<(), AppError> {
    shell.start_background();
    Ok(())
}

/// Where syncs, sending and reachability stand now (then follow `desk-activity` events).
#[tauri::command]
pub async fn desk_activity(shell: State<'_, Shell>) -> Result<ActivityView, AppError> {
    let mut view = shell.activity();
    if view.held > 0 {
        let held = shell
            .read(|desk| desk.outbox(Some(OutboxState::Held)))
            .await?;
        view.fill_held(&held);
    }
    Ok(view)
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

// ---- people, rosters and the student page ---------------------------------------------

/// Every child in the cache, one row each (records of one child across systems folded
/// together), sorted by family then given name.
#[tauri::command]
pub async fn list_people(shell: State<'_, Shell>) -> Result<PeopleIndex, AppError> {
    shell
        .read(|desk| desk.people())
        .await
        .map(PeopleIndex::from)
}

/// Schools → sections, classes, tutor groups and homerooms, with roster sizes.
#[tauri::command]
pub async fn roster_tree(shell: State<'_, Shell>) -> Result<Vec<SchoolNode>, AppError> {
    shell
        .read(|desk| desk.roster_tree())
        .await
        .map(|tree| tree.into_iter().map(SchoolNode::from).collect())
}

/// The person ids (`PersonRow.id`) on one section's roster (`system:id`).
#[tauri::command]
pub async fn section_members(
    shell: State<'_, Shell>,
    section: String,
) -> Result<Vec<String>, AppError> {
    shell.read(move |desk| desk.section_members(&section)).await
}

/// Everything the cache holds about one child (`person`: a `PersonRow.id`).
#[tauri::command]
pub async fn student_page(
    shell: State<'_, Shell>,
    person: String,
) -> Result<StudentPage, AppError> {
    shell
        .read(move |desk| desk.person_page(&person))
        .await
        .map(StudentPage::from)
}

// ---- outbox actions ---------------------------------------------------------------------

/// One queued write with every request sent, the answers, and for a conflict both values.
#[tauri::command]
pub async fn outbox_receipt(shell: State<'_, Shell>, id: i64) -> Result<ReceiptView, AppError> {
    shell
        .read(move |desk| {
            let receipt = desk.receipt(id)?;
            let description = desk.describe_write(&receipt.entry);
            let mut view = ReceiptView::from(receipt);
            view.entry.description = description;
            Ok(view)
        })
        .await
}

/// Sends a failed or held write again (the engine sends it at once, as it does any due write).
#[tauri::command]
pub async fn outbox_retry(shell: State<'_, Shell>, id: i64) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| Ok(OutboxRow::named(desk, desk.retry(id, None, Utc::now())?)))
        .await
}

/// Decides a write is not to be sent; it stays in the outbox as a receipt.
#[tauri::command]
pub async fn outbox_discard(shell: State<'_, Shell>, id: i64) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| Ok(OutboxRow::named(desk, desk.discard(id, Utc::now())?)))
        .await
}

/// Resolves a conflict: "keep mine" sends the desk's value again, "take theirs" takes the
/// system's value and sends nothing.
#[tauri::command]
pub async fn outbox_resolve(
    shell: State<'_, Shell>,
    id: i64,
    choice: ResolveChoice,
) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| {
            Ok(OutboxRow::named(
                desk,
                desk.resolve(id, choice.into(), Utc::now())?,
            ))
        })
        .await
}
