//! The Schooldesk desktop shell. It owns the window and nothing else: the cache, the
//! connections and the sync engine live in the Tauri-free core (`schooldesk_sync::Desk`),
//! opened here in `.setup()` and reached through the one-line commands in `commands`.

pub mod commands;
pub mod error;
pub mod ipc;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tauri::{Emitter, Manager, Runtime};

use schooldesk_sync::demo::{self, Demo, DemoOptions};
use schooldesk_sync::{Desk, DeskError, DeskEvent, Engine, Schedule};

use crate::error::AppError;
use crate::ipc::{events, ActivityView, AppStatus, ChangesView, ErrorPayload, SyncPhase};

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
    /// The real profile's desk, or the demo profile's when nothing real is connected.
    desk: Result<Desk, ErrorPayload>,
    demo: bool,
    phase: Arc<Mutex<SyncPhase>>,
    /// Keeps the demo simulators alive for as long as the app runs.
    demo_district: Mutex<Option<Demo>>,
    /// The live desk: syncs, replay, reconnects, change events. Set once the cache is open
    /// (and, in demo mode, once the demo district is up).
    engine: Mutex<Option<Arc<Engine>>>,
}

impl Shell {
    fn open(config: &ShellConfig, version: String) -> Shell {
        let real = Desk::open(&config.data_dir).map_err(|e| AppError::from(e).payload());
        // With nothing connected there is nothing real to show: run the demo district, in
        // its own profile (own cache file and key), so a new install has a working desk and
        // demo data never mixes with a school's.
        let wants_demo = match &real {
            Ok(desk) => demo::wants_demo(desk).map_err(|e| AppError::from(e).payload()),
            Err(error) => Err(error.clone()),
        };
        let (desk, demo, phase) = match wants_demo {
            Ok(true) => (
                Desk::open_demo(&config.data_dir).map_err(|e| AppError::from(e).payload()),
                true,
                SyncPhase::Starting { detail: None },
            ),
            Ok(false) => (real, false, SyncPhase::Ready),
            Err(error) => (real, false, SyncPhase::Failed { error }),
        };
        let phase = match (&desk, phase) {
            (Err(error), _) => SyncPhase::Failed {
                error: error.clone(),
            },
            (Ok(_), phase) => phase,
        };
        Shell {
            version,
            data_dir: config.data_dir.clone(),
            desk,
            demo,
            phase: Arc::new(Mutex::new(phase)),
            demo_district: Mutex::new(None),
            engine: Mutex::new(None),
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

    /// Where syncs and sending stand (empty until the engine runs).
    pub fn activity(&self) -> ActivityView {
        self.engine
            .lock()
            .expect("engine lock poisoned")
            .as_ref()
            .map(|e| e.activity())
            .unwrap_or_default()
            .into()
    }

    pub fn engine(&self) -> Result<Arc<Engine>, AppError> {
        if let Err(error) = &self.desk {
            return Err(AppError::Unavailable(error.clone()));
        }
        self.engine
            .lock()
            .expect("engine lock poisoned")
            .clone()
            .ok_or(AppError::Starting)
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
}

fn set_phase<R: Runtime>(app: &tauri::AppHandle<R>, phase: SyncPhase) {
    let shell = app.state::<Shell>();
    *shell.phase.lock().expect("phase lock poisoned") = phase;
    let _ = app.emit(events::APP_STATUS, shell.status());
}

/// Starts the engine on `desk` and forwards its events to the window.
async fn start_engine<R: Runtime>(app: &tauri::AppHandle<R>, desk: Desk, sync_at_start: bool) {
    let schedule = Schedule {
        sync_at_start,
        ..Schedule::default()
    };
    let engine = Arc::new(Engine::start(desk, schedule, Arc::new(chrono::Utc::now)));
    let mut events = engine.subscribe();
    *app.state::<Shell>()
        .engine
        .lock()
        .expect("engine lock poisoned") = Some(engine.clone());
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        loop {
            match events.recv().await {
                Ok(DeskEvent::Changed(changes)) => {
                    let _ = app.emit(events::DESK_CHANGED, ChangesView::from(changes));
                }
                Ok(DeskEvent::Activity(activity)) => {
                    let _ = app.emit(events::DESK_ACTIVITY, ActivityView::from(activity));
                }
                // Fell behind: tell the window to re-read everything.
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    let _ = app.emit(
                        events::DESK_CHANGED,
                        ChangesView {
                            origins: vec!["other_process".into()],
                            tables: Vec::new(),
                        },
                    );
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// Starts the demo district in the background, then the engine on it; the UI sees
/// `starting` (with what is being synced) until its first sync has finished.
fn start_demo<R: Runtime>(app: &tauri::AppHandle<R>, desk: Desk) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let progress_app = app.clone();
        let on_progress = move |p: &schooldesk_sync::pull::Progress| {
            let detail = format!("{}: {} ({} rows)", p.system.display_name(), p.phase, p.rows);
            set_phase(
                &progress_app,
                SyncPhase::Starting {
                    detail: Some(detail),
                },
            );
        };
        let started = demo::start(&desk, &DemoOptions::default(), on_progress).await;
        match started {
            Ok(district) => {
                tracing::info!(report = %district.sync.describe(), "demo district ready");
                *app.state::<Shell>()
                    .demo_district
                    .lock()
                    .expect("demo lock poisoned") = Some(district);
                start_engine(&app, desk, false).await;
                set_phase(&app, SyncPhase::Ready);
            }
            Err(e) => {
                tracing::error!(error = %e, "the demo district failed to start");
                set_phase(
                    &app,
                    SyncPhase::Failed {
                        error: AppError::from(e).payload(),
                    },
                );
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
            commands::desk_activity,
            commands::sync_now,
            commands::send_now,
        ])
        .setup(move |app| {
            let shell = Shell::open(&config, app.package_info().version.to_string());
            match &shell.desk {
                Ok(_) => tracing::info!(data_dir = %config.data_dir.display(), demo = shell.demo, "desk opened"),
                Err(e) => tracing::error!(data_dir = %config.data_dir.display(), error = %e.message, "the desk could not be opened"),
            }
            let desk = shell.desk.as_ref().ok().cloned();
            let demo = shell.demo;
            app.manage(shell);
            match desk {
                Some(desk) if demo => start_demo(app.handle(), desk),
                Some(desk) => {
                    let handle = app.handle().clone();
                    tauri::async_runtime::spawn(async move {
                        start_engine(&handle, desk, true).await;
                    });
                }
                None => {}
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
