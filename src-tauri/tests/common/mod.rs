//! What the mock-runtime suites share: the app built with its real config, capabilities and
//! setup on Tauri's mock runtime (no window system), and a command invoked through its IPC.
#![allow(dead_code)]

use std::path::Path;

use schooldesk_app::{shell, ShellConfig};
use serde_json::Value;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

/// The app on the demo, as `SCHOOLDESK_DEMO=1` starts it; the demo district starts at once.
pub fn start(data_dir: &Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    start_with(config(data_dir, true))
}

/// The shell's config for `data_dir`; background work starts at once (there is no page to
/// say its first screen is shown).
pub fn config(data_dir: &Path, demo_at_start: bool) -> ShellConfig {
    ShellConfig {
        data_dir: data_dir.to_path_buf(),
        demo_at_start,
        hold_background_for: None,
    }
}

pub fn start_with(config: ShellConfig) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let mut app = shell(mock_builder(), config)
        .build(tauri::generate_context!())
        .expect("the app builds on the mock runtime");
    // Setup (the config's windows, then ours) runs when the event loop first turns; one
    // turn of the mock runtime's loop does exactly that and returns.
    #[allow(deprecated)]
    app.run_iteration(|_, _| {});
    let window = app
        .get_webview_window("main")
        .expect("tauri.conf.json declares the main window");
    (app, window)
}

pub fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().expect("url"),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    get_ipc_response(window, request).map(|body| body.deserialize().expect("JSON response"))
}
