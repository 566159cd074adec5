//! The Schooldesk desktop shell. It owns the window and nothing else: the cache, the
//! connections and the sync engine live in the Tauri-free core (`schooldesk_sync::Desk`),
//! opened here in `.setup()` and reached through the one-line commands in `commands`.

pub mod classes;
pub mod commands;
pub mod emergency;
pub mod enrollment;
pub mod error;
pub mod exports;
pub mod ipc;
pub mod register;
pub mod settings;
pub mod support;
pub mod update;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tauri::{Emitter, Manager, Runtime};

#[cfg(feature = "demo")]
use schooldesk_sync::demo::{self, Demo, DemoOptions};
use schooldesk_sync::{Desk, DeskError, DeskEvent, Engine, Schedule};

use crate::error::AppError;
use crate::ipc::{events, ActivityView, AppStatus, ChangesView, ErrorPayload, SyncPhase};

/// Expands the one declaration of the IPC surface (`command_table.rs`) into everything
/// that needs the command list: the invoke handler, [`COMMAND_NAMES`] (checked against the
/// capability) and [`command_signatures`] (the generated `commands.ts`). `build.rs` reads
/// the same table with its own macro for the app manifest. Each entry is
/// `module::command(arg: Type, …) -> Ok;`, the arguments being those the UI passes (no
/// `State`, `AppHandle` or window), by the Rust parameter's name.
macro_rules! app_commands {
    ($($module:ident :: $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ok:ty;)*) => {
        fn invoke_handler<R: Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![$($module::$name),*]
        }

        /// Every command the app registers, in the table's order.
        pub const COMMAND_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Every command with its arguments' and answer's TypeScript types.
        pub fn command_signatures() -> Vec<ipc::CommandSignature> {
            #[allow(unused_imports)]
            use crate::ipc::*;
            vec![$(ipc::CommandSignature {
                name: stringify!($name),
                args: vec![$((stringify!($arg), ipc::TsType::of::<$ty>())),*],
                ok: ipc::TsType::of::<$ok>(),
            }),*]
        }
    };
}

include!("command_table.rs");

/// Overrides where the cache lives (tests and e2e use a temp dir).
pub const DATA_DIR_ENV: &str = "SCHOOLDESK_DATA_DIR";

/// `1`: with nothing connected, start the demo district at once instead of showing first
/// run (the e2e runs set it; so does anyone who wants the old behaviour).
pub const DEMO_ENV: &str = "SCHOOLDESK_DEMO";

/// The file in the data folder that remembers first run's "Try with demo data", so the next
/// start goes straight to the demo. Saving a real connection or wiping removes it.
pub const DEMO_CHOSEN_FILE: &str = "demo-chosen";

/// What the shell is started with.
#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub data_dir: PathBuf,
    /// With nothing connected, run the demo district at once rather than wait for first
    /// run's choice ([`DEMO_ENV`]). A lean build has no demo, and says how to connect instead.
    pub demo_at_start: bool,
    /// Hold the demo district's start and the engine's first sync until the window says its
    /// first screen is shown ([`commands::first_screen_shown`]), at most this long, so they do
    /// not compete with the page for the processor while it starts. `None` starts them at once
    /// (the mock-runtime tests, which have no page).
    pub hold_background_for: Option<Duration>,
}

/// How long the app waits for its window's first screen before starting syncs anyway.
pub const FIRST_SCREEN_WAIT: Duration = Duration::from_secs(3);

impl ShellConfig {
    /// `SCHOOLDESK_DATA_DIR` when set, otherwise the folder the CLI uses too;
    /// `SCHOOLDESK_DEMO=1` for the demo at start.
    pub fn from_env() -> Self {
        let data_dir = std::env::var_os(DATA_DIR_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(schooldesk_sync::default_data_dir);
        let demo_at_start = std::env::var(DEMO_ENV).is_ok_and(|v| v.trim() == "1");
        ShellConfig {
            data_dir,
            demo_at_start,
            hold_background_for: Some(FIRST_SCREEN_WAIT),
        }
    }
}

/// Which desk the screens read, and why.
#[derive(Clone)]
struct Profile {
    /// The real profile's desk, or the demo profile's, or why neither is open.
    desk: Result<Desk, ErrorPayload>,
    /// The desk is the demo profile's, fed by the built-in simulators.
    demo: bool,
    /// Nothing is connected and the demo was not chosen: the UI shows first run.
    first_run: bool,
}

/// The state every command reaches through `tauri::State`.
pub struct Shell {
    version: String,
    data_dir: PathBuf,
    profile: Mutex<Profile>,
    /// The real profile's desk once opened (settings work on it even while the demo runs);
    /// `None` after a wipe until something needs it again.
    real: Mutex<Option<Desk>>,
    /// One change of profile (connect, remove, demo, wipe) at a time.
    switching: tokio::sync::Mutex<()>,
    phase: Arc<Mutex<SyncPhase>>,
    /// Keeps the demo simulators alive for as long as the app runs.
    #[cfg(feature = "demo")]
    demo_district: Mutex<Option<Demo>>,
    /// The live desk: syncs, replay, reconnects, change events. Set once the cache is open
    /// (and, in demo mode, once the demo district is up).
    engine: Mutex<Option<Arc<Engine>>>,
    /// What starts once the first screen is shown (the demo district, or the engine).
    background: Mutex<Option<Background>>,
}

type Background = Box<dyn FnOnce() + Send>;

impl Shell {
    fn open(config: &ShellConfig, version: String) -> Shell {
        let real = Desk::open(&config.data_dir).map_err(|e| AppError::from(e).payload());
        let unconfigured = match &real {
            Ok(desk) => desk
                .connections()
                .map(|c| c.is_empty())
                .map_err(|e| AppError::from(e).payload()),
            Err(error) => Err(error.clone()),
        };
        // Nothing connected: first run asks whether to connect or try the demo, unless the
        // demo was chosen before (or asked for at start). The demo has its own profile (own
        // cache file and key), so demo data never mixes with a school's.
        let demo_chosen = config.demo_at_start || config.data_dir.join(DEMO_CHOSEN_FILE).is_file();
        let (desk, demo, first_run, phase) = match unconfigured {
            #[cfg(feature = "demo")]
            Ok(true) if demo_chosen => (
                Desk::open_demo(&config.data_dir).map_err(|e| AppError::from(e).payload()),
                true,
                false,
                SyncPhase::Starting { detail: None },
            ),
            // A lean build has no demo district to fall back on: say so, and how to connect.
            #[cfg(not(feature = "demo"))]
            Ok(true) if demo_chosen => (
                real.clone(),
                false,
                false,
                SyncPhase::Failed {
                    error: no_system_connected(),
                },
            ),
            Ok(true) => (real.clone(), false, true, SyncPhase::Ready),
            Ok(false) => (real.clone(), false, false, SyncPhase::Ready),
            Err(error) => (real.clone(), false, false, SyncPhase::Failed { error }),
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
            profile: Mutex::new(Profile {
                desk,
                demo,
                first_run,
            }),
            real: Mutex::new(real.ok()),
            switching: tokio::sync::Mutex::new(()),
            phase: Arc::new(Mutex::new(phase)),
            #[cfg(feature = "demo")]
            demo_district: Mutex::new(None),
            engine: Mutex::new(None),
            background: Mutex::new(None),
        }
    }

    /// Starts what was held for the first screen, once; later calls do nothing.
    pub fn start_background(&self) {
        let start = self
            .background
            .lock()
            .expect("background lock poisoned")
            .take();
        if let Some(start) = start {
            start();
        }
    }

    fn profile(&self) -> Profile {
        self.profile.lock().expect("profile lock poisoned").clone()
    }

    pub fn status(&self) -> AppStatus {
        let profile = self.profile();
        AppStatus {
            version: self.version.clone(),
            demo: profile.demo,
            first_run: profile.first_run,
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
        if let Err(error) = self.profile().desk {
            return Err(AppError::Unavailable(error));
        }
        self.engine
            .lock()
            .expect("engine lock poisoned")
            .clone()
            .ok_or(AppError::Starting)
    }

    fn desk(&self) -> Result<Desk, AppError> {
        self.profile().desk.map_err(AppError::Unavailable)
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
    let engine = Arc::new(Engine::start(
        desk.clone(),
        schedule,
        Arc::new(chrono::Utc::now),
    ));
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
                    let mut view = ActivityView::from(activity);
                    // Which systems hold writes, and why, is read only while any are held.
                    if view.held > 0 {
                        let desk = desk.clone();
                        let held = tauri::async_runtime::spawn_blocking(move || {
                            desk.outbox(Some(schooldesk_domain::OutboxState::Held))
                        })
                        .await;
                        if let Ok(Ok(held)) = held {
                            view.fill_held(&held);
                        }
                    }
                    let _ = app.emit(events::DESK_ACTIVITY, view);
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

/// What a lean build (no `demo` feature) shows when nothing is connected yet.
#[cfg(not(feature = "demo"))]
fn no_system_connected() -> ErrorPayload {
    ErrorPayload {
        code: "shell.no_system".into(),
        message: "No school system is connected yet, so there is nothing to show. Connect one \
                  with the schooldesk command line (for example `schooldesk connect omniforge \
                  --base-url https://YOUR-DISTRICT.omniforgesis.click`; see \"Connecting each \
                  system\" in the README), then restart Schooldesk."
            .into(),
        retryable: false,
    }
}

/// Starts the demo district in the background, then the engine on it; the UI sees
/// `starting` (with what is being synced) until its first sync has finished.
#[cfg(feature = "demo")]
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
            // A school was connected (or the cache wiped) while the demo started: it is
            // not wanted any more.
            Ok(district) if !app.state::<Shell>().profile().demo => {
                district.sims.shutdown();
            }
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
        // Here rather than in `run()` so the mock-runtime tests check updates the same way.
        .plugin(tauri_plugin_updater::Builder::new().build())
        // Print opens PDFs in the system's viewer, from Rust only: no link interception in
        // the page, and the window is granted none of the plugin's own commands.
        .plugin(
            tauri_plugin_opener::Builder::new()
                .open_js_links_on_click(false)
                .build(),
        )
        .manage(exports::Exports::default())
        .manage(Arc::new(support::SupportLock::default()))
        .invoke_handler(invoke_handler())
        .setup(move |app| {
            let opening = std::time::Instant::now();
            let shell = Shell::open(&config, app.package_info().version.to_string());
            let profile = shell.profile();
            let ms = opening.elapsed().as_millis();
            match &profile.desk {
                Ok(_) => tracing::info!(data_dir = %config.data_dir.display(), demo = profile.demo, first_run = profile.first_run, ms, "desk opened"),
                Err(e) => tracing::error!(data_dir = %config.data_dir.display(), error = %e.message, "the desk could not be opened"),
            }
            let desk = profile.desk.ok();
            #[cfg(feature = "demo")]
            let demo = profile.demo;
            app.manage(update::Updates::new(&config.data_dir));
            app.manage(shell);
            update::start(app.handle());
            let handle = app.handle().clone();
            let background: Background = match desk {
                #[cfg(feature = "demo")]
                Some(desk) if demo => Box::new(move || start_demo(&handle, desk)),
                Some(desk) => Box::new(move || {
                    tauri::async_runtime::spawn(async move {
                        start_engine(&handle, desk, true).await;
                    });
                }),
                None => return Ok(()),
            };
            let shell = app.state::<Shell>();
            *shell.background.lock().expect("background lock poisoned") = Some(background);
            match config.hold_background_for {
                None => shell.start_background(),
                Some(wait) => {
                    // A page that never says it is shown (it failed to load) must not keep
                    // the desk from syncing.
                    let handle = app.handle().clone();
                    tauri::async_runtime::spawn(async move {
                        tokio::time::sleep(wait).await;
                        handle.state::<Shell>().start_background();
                    });
                }
            }
            Ok(())
        })
}

/// WebKitGTK's accelerated compositing draws through OpenGL; on a laptop without a usable GPU
/// driver (and under Xvfb) that is Mesa's software renderer, which measured here cost the web
/// process about 120 MB more with Rosters open (272 against 146 MB PSS) and scrolled the
/// roster at 6 frames a second against 107 without it. WebKit's own painting is smooth for
/// these screens, so Schooldesk turns compositing off unless the variable is already set
/// (`WEBKIT_DISABLE_COMPOSITING_MODE=0` brings it back). Called before any thread starts: the
/// environment is the process's, and WebKit reads it when it creates the web view.
#[cfg(target_os = "linux")]
fn software_compositing() {
    const VAR: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";
    if std::env::var_os(VAR).is_none() {
        std::env::set_var(VAR, "1");
    }
}

/// Entry point of the desktop app.
pub fn run() {
    #[cfg(target_os = "linux")]
    software_compositing();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    // Single-instance goes first: a second launch must hand over to the running app before
    // any other plugin or the cache starts. Both plugins live here rather than in `shell()`:
    // the mock-runtime suites build many apps in one process (one would make the others
    // exit) and must not write a window-state file into the user's config folder.
    let builder = tauri::Builder::default()
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(
                    tauri_plugin_window_state::StateFlags::SIZE
                        | tauri_plugin_window_state::StateFlags::POSITION
                        | tauri_plugin_window_state::StateFlags::MAXIMIZED,
                )
                .build(),
        );
    shell(builder, ShellConfig::from_env())
        .run(tauri::generate_context!())
        .expect("Schooldesk could not start its window; see the log above for the reason");
}
