//! The Schooldesk desktop shell. It owns the window and nothing else: the cache, the
//! connections and the sync engine live in the Tauri-free core (`schooldesk_sync::Desk`),
//! opened here in `.setup()` and reached through the one-line commands in `commands`.

pub mod commands;
pub mod error;
pub mod ipc;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tauri::{Manager, Runtime};

use schooldesk_sync::demo::{self, Demo, DemoOptions};
use schooldesk_sync::{Desk, DeskError};

use crate::error::AppError;
use crate::ipc::{AppStatus, ErrorPayload, SyncPhase};

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
            .unwrap_or_else(schooldesk_sync::default_data_dir);
        ShellConfig { data_dir }
    }
}

/// The state every command reaches through `tauri::State`.
pub struct Shell {
    version: String,
    data_dir: PathBuf,
    desk: Result<Desk, ErrorPayload>,
    demo: bool,
    phase: Arc<Mutex<SyncPhase>>,
    /// Keeps the demo simulators alive for as long as the app runs.
    demo_district: Mutex<Option<Demo>>,
}

impl Shell {
    fn open(config: &ShellConfig, version: String) -> Shell {
        let desk = Desk::open(&config.data_dir).map_err(|e| AppError::from(e).payload());
        // With nothing connected there is nothing real to show: run the demo district so a
        // new install (and every test) has a working desk.
        let wants_demo = match &desk {
            Ok(desk) => demo::wants_demo(desk).map_err(|e| AppError::from(e).payload()),
            Err(error) => Err(error.clone()),
        };
        let (demo, phase) = match wants_demo {
            Ok(true) => (true, SyncPhase::Starting { detail: None }),
            Ok(false) => (false, SyncPhase::Ready),
            Err(error) => (false, SyncPhase::Failed { error }),
        };
        Shell {
            version,
            data_dir: config.data_dir.clone(),
            desk,
            demo,
            phase: Arc::new(Mutex::new(phase)),
            demo_district: Mutex::new(None),
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

    fn desk(&self) -> Result<Desk, AppError> {
        self.desk.clone().map_err(AppError::Unavailable)
    }

    /// Runs a blocking cache read off the async runtime.
    pub async fn read<T: Send + 'static>(
        &self,
        query: impl FnOnce(&Desk) -> Result<T, DeskError> + Send + 'static,
    ) -> Result<T, AppError> {
        let desk = self.desk()?;
        Ok(tauri::async_runtime::spawn_blocking(move || query(&desk)).await??)
    }

    fn set_phase(&self, phase: SyncPhase) {
        *self.phase.lock().expect("phase lock poisoned") = phase;
    }
}

/// Starts the demo district in the background; the UI sees `starting` (with what is being
/// synced) until its first sync has finished.
fn start_demo<R: Runtime>(app: &tauri::AppHandle<R>, desk: Desk) {
    let app = app.clone();
    let phase = app.state::<Shell>().phase.clone();
    tauri::async_runtime::spawn(async move {
        let on_progress = move |p: &schooldesk_sync::pull::Progress| {
            let detail = format!("{}: {} ({} rows)", p.system.display_name(), p.phase, p.rows);
            *phase.lock().expect("phase lock poisoned") = SyncPhase::Starting {
                detail: Some(detail),
            };
        };
        let started = demo::start(&desk, &DemoOptions::default(), on_progress).await;
        let shell = app.state::<Shell>();
        match started {
            Ok(district) => {
                tracing::info!(report = %district.sync.describe(), "demo district ready");
                *shell.demo_district.lock().expect("demo lock poisoned") = Some(district);
                shell.set_phase(SyncPhase::Ready);
            }
            Err(e) => {
                tracing::error!(error = %e, "the demo district failed to start");
                shell.set_phase(SyncPhase::Failed {
                    error: AppError::from(e).payload(),
                });
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
            match &shell.desk {
                Ok(_) => tracing::info!(data_dir = %config.data_dir.display(), demo = shell.demo, "desk opened"),
                Err(e) => tracing::error!(data_dir = %config.data_dir.display(), error = %e.message, "the desk could not be opened"),
            }
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
