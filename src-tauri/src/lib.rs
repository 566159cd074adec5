//! The Schooldesk desktop shell. It owns the window and nothing else: the cache, the
//! connections and the sync engine live in the Tauri-free core (`core`), created here in
//! `.setup()` and reached through the one-line commands in `commands`.

pub mod commands;
// TEMPORARY: becomes a re-export of the `schooldesk-sync` facade.
pub mod core;
pub mod error;
pub mod ipc;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tauri::{Manager, Runtime};

use crate::core::{DemoHandle, Desk};
use crate::error::AppError;
use crate::ipc::{AppStatus, ErrorCode, ErrorPayload, SyncPhase};

/// Overrides where the cache lives (tests and e2e use a temp dir).
pub const DATA_DIR_ENV: &str = "SCHOOLDESK_DATA_DIR";

/// What the shell is started with.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub data_dir: PathBuf,
}

impl ShellConfig {
    /// `SCHOOLDESK_DATA_DIR` when set, otherwise the folder the CLI uses too.
    pub fn from_env() -> Self {
        let data_dir = std::env::var_os(DATA_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(core::default_data_dir);
        ShellConfig { data_dir }
    }
}

/// The state every command reaches through `tauri::State`.
pub struct Shell {
    version: String,
    data_dir: PathBuf,
    desk: Result<Arc<Desk>, ErrorPayload>,
    demo: bool,
    phase: Mutex<SyncPhase>,
    /// Keeps the demo simulators alive for as long as the app runs.
    demo_handle: Mutex<Option<DemoHandle>>,
}

impl Shell {
    fn open(config: &ShellConfig, version: String) -> Shell {
        let desk = Desk::open(&config.data_dir)
            .map(Arc::new)
            .map_err(|e| AppError::from(e).payload());
        // With nothing configured there is nothing real to show: run against the simulators
        // so a new install (and every test) has a working desk.
        let demo = match &desk {
            Ok(desk) => desk
                .configured_systems()
                .map(|s| s.is_empty())
                .unwrap_or(false),
            Err(_) => false,
        };
        let phase = match &desk {
            Err(error) => SyncPhase::Failed {
                error: error.clone(),
            },
            Ok(_) if demo => SyncPhase::Starting,
            Ok(_) => SyncPhase::Ready,
        };
        Shell {
            version,
            data_dir: config.data_dir.clone(),
            desk,
            demo,
            phase: Mutex::new(phase),
            demo_handle: Mutex::new(None),
        }
    }

    pub fn status(&self) -> AppStatus {
        AppStatus {
            version: self.version.clone(),
            demo: self.demo,
            data_dir: self.data_dir.display().to_string(),
            sync: self.phase.lock().expect("phase lock poisoned").clone(),
        }
    }

    fn desk(&self) -> Result<Arc<Desk>, AppError> {
        self.desk.clone().map_err(AppError::Unavailable)
    }

    /// Runs a blocking cache read off the async runtime and turns its rows into IPC rows.
    pub async fn read<T, R>(
        &self,
        query: impl FnOnce(&Desk) -> Result<Vec<T>, core::DeskError> + Send + 'static,
    ) -> Result<Vec<R>, AppError>
    where
        T: Send + 'static,
        R: From<T>,
    {
        let desk = self.desk()?;
        let rows = tauri::async_runtime::spawn_blocking(move || query(&desk)).await??;
        Ok(rows.into_iter().map(R::from).collect())
    }

    fn set_phase(&self, phase: SyncPhase) {
        *self.phase.lock().expect("phase lock poisoned") = phase;
    }
}

/// Starts the demo in the background; the UI sees `starting` until it has synced.
fn start_demo<R: Runtime>(app: &tauri::AppHandle<R>, desk: Arc<Desk>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let shell = app.state::<Shell>();
        match desk.start_demo().await {
            Ok(handle) => {
                *shell.demo_handle.lock().expect("demo lock poisoned") = Some(handle);
                shell.set_phase(SyncPhase::Ready);
                tracing::info!("demo mode ready");
            }
            Err(e) => {
                tracing::error!(error = %e, "demo mode failed to start");
                let mut error = AppError::from(e).payload();
                error.code = ErrorCode::DemoFailed;
                shell.set_phase(SyncPhase::Failed { error });
            }
        }
    });
}

/// Adds the shell (commands, state, setup) to a builder: `tauri::Builder::default()` in the
/// app, `tauri::test::mock_builder()` in tests, which then need no window system.
pub fn shell<R: Runtime>(builder: tauri::Builder<R>, config: ShellConfig) -> tauri::Builder<R> {
    builder
        .invoke_handler(tauri::generate_handler![
            commands::list_students,
            commands::list_outbox,
            commands::app_status,
        ])
        .setup(move |app| {
            let shell = Shell::open(&config, app.package_info().version.to_string());
            tracing::info!(data_dir = %config.data_dir.display(), demo = shell.demo, "desk opened");
            let demo_desk = shell.desk.as_ref().ok().filter(|_| shell.demo).cloned();
            app.manage(shell);
            if let Some(desk) = demo_desk {
                start_demo(app.handle(), desk);
            }
            Ok(())
        })
}

/// Entry point of the desktop app.
pub fn run() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    shell(tauri::Builder::default(), ShellConfig::from_env())
        .plugin(tauri_plugin_updater::Builder::new().build())
        .run(tauri::generate_context!())
        .expect("Schooldesk could not start its window; see the log above for the reason");
}
