//! The update commands as the UI reaches them, on Tauri's mock runtime with the app's real
//! config and capabilities (like tests/ipc.rs; run under `scripts/with-keyring.sh`, since
//! the app opens its cache at start). Signed updates themselves, found, verified and refused
//! against a local update server, are checked end to end by scripts/update-e2e.sh.

use std::net::TcpListener;

mod common;
use common::{invoke, start};
use serde_json::{json, Value};

/// A loopback port nobody listens on (bound, then released).
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

#[test]
fn with_no_update_server_nothing_is_staged_and_the_setting_is_checked_and_kept() {
    assert!(
        std::env::var_os(schooldesk_app::update::ENDPOINT_ENV).is_none(),
        "unset {} to run this test",
        schooldesk_app::update::ENDPOINT_ENV
    );
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    let settings = dir.path().join(schooldesk_app::update::SETTINGS_FILE);

    // tauri.conf.json ships the `.invalid` placeholder: no update server, nothing to say.
    let status = invoke(&window, "update_status", json!({})).expect("update_status");
    assert_eq!(status, json!({"state": "none"}));

    let refused = invoke(&window, "restart_to_update", json!({})).expect_err("nothing staged");
    assert_eq!(refused["code"], "update.none_staged", "{refused}");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("No update is ready"));

    // Plain http to another computer is refused, and nothing is saved.
    let refused = invoke(
        &window,
        "set_update_endpoint",
        json!({"endpoint": "http://updates.example.org/latest.json"}),
    )
    .expect_err("plain http elsewhere");
    assert_eq!(refused["code"], "update.endpoint", "{refused}");
    assert!(!settings.exists(), "a refused endpoint was saved");

    // A server that does not answer: a plain-words failure, and the setting is kept.
    let endpoint = format!("http://127.0.0.1:{}/latest.json", closed_port());
    let status = invoke(
        &window,
        "set_update_endpoint",
        json!({"endpoint": endpoint}),
    )
    .expect("a loopback endpoint is accepted in a debug build");
    assert_eq!(status["state"], "failed", "{status}");
    assert_eq!(status["code"], "update.unreachable", "{status}");
    assert!(
        status["message"]
            .as_str()
            .unwrap()
            .contains("this version keeps working"),
        "{status}"
    );
    // The check at start runs in the background and may run again with the new endpoint
    // right now (one check at a time): wait for it to settle, then it says the same.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let settled = loop {
        let now = invoke(&window, "update_status", json!({})).expect("update_status");
        if now["state"] != "checking" {
            break now;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still checking: {now}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(settled, status);
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&settings).expect("settings saved"))
            .expect("JSON");
    assert_eq!(saved["update_endpoint"], endpoint.as_str());

    // `off` turns checking off; `null` goes back to the default (here: none).
    let status = invoke(&window, "set_update_endpoint", json!({"endpoint": "off"})).expect("off");
    assert_eq!(status, json!({"state": "none"}));
    let status = invoke(&window, "set_update_endpoint", json!({"endpoint": null})).expect("reset");
    assert_eq!(status, json!({"state": "none"}));
    let saved = std::fs::read_to_string(&settings).expect("settings");
    assert!(!saved.contains("update_endpoint"), "{saved}");
}
