//! The commands as the UI reaches them: through Tauri's IPC (on its mock runtime, so no
//! window or display is needed), with the app's real config, capabilities and setup, over
//! the real core: an encrypted cache in a temp folder, its key in the keychain (run under
//! `scripts/with-keyring.sh` on Linux), and the demo district's simulators on loopback.

// The demo tests are left out of a lean build (`--no-default-features`), and their imports idle.
#![cfg_attr(not(feature = "demo"), allow(unused_imports))]

use std::time::{Duration, Instant};

use chrono::{NaiveDate, TimeZone, Utc};
mod common;
use common::{invoke, start};
use schooldesk_domain::AttendanceStatus;
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::WebviewWindow;
use uuid::Uuid;

/// Polls `app_status` until the first sync has left `starting` (the demo syncs on its own
/// runtime; generous deadline for a loaded machine).
fn settled_status(window: &WebviewWindow<MockRuntime>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = invoke(window, "app_status", json!({})).expect("app_status never fails");
        if status["sync"]["state"] != "starting" {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the demo never finished its first sync: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// Needs the demo district (the `demo` feature, on by default).
#[cfg(feature = "demo")]
#[test]
fn the_demo_district_waits_for_the_first_screen_then_starts_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = common::config(dir.path(), true);
    config.hold_background_for = Some(Duration::from_secs(600));
    let (_app, window) = common::start_with(config);

    // Held: no progress from a district that has not started, and nothing synced.
    std::thread::sleep(Duration::from_secs(3));
    let status = invoke(&window, "app_status", json!({})).expect("status");
    assert_eq!(
        status["sync"],
        json!({"state": "starting", "detail": null}),
        "{status}"
    );
    let index = invoke(&window, "list_people", json!({})).expect("people");
    assert_eq!(index["people"], json!([]), "synced before the first screen");

    invoke(&window, "first_screen_shown", json!({})).expect("first screen");
    assert_eq!(settled_status(&window)["sync"], json!({"state": "ready"}));
    // A second word from the window (a reload) starts nothing again.
    invoke(&window, "first_screen_shown", json!({})).expect("again");
    assert_eq!(
        invoke(&window, "app_status", json!({})).expect("status")["sync"],
        json!({"state": "ready"})
    );
}

// Needs the demo district (the `demo` feature, on by default).
#[cfg(feature = "demo")]
#[test]
fn a_window_that_never_says_it_is_shown_does_not_keep_the_demo_from_starting() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = common::config(dir.path(), true);
    config.hold_background_for = Some(Duration::from_millis(300));
    let (_app, window) = common::start_with(config);
    assert_eq!(settled_status(&window)["sync"], json!({"state": "ready"}));
}

// Needs the demo district (the `demo` feature, on by default).
#[cfg(feature = "demo")]
#[test]
fn with_no_system_configured_the_app_runs_the_demo_and_lists_its_children() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());

    let status = settled_status(&window);
    assert_eq!(status["sync"], json!({"state": "ready"}), "{status}");
    assert_eq!(status["demo"], true);
    assert_eq!(status["data_dir"], dir.path().display().to_string());

    let index = invoke(&window, "list_people", json!({})).expect("people");
    let people = index["people"].as_array().expect("an array");
    assert!(!people.is_empty(), "the demo synced no students");
    for p in people {
        for key in ["id", "name", "given_name", "family_name"] {
            assert!(p[key].is_string(), "person row without {key}: {p}");
        }
        let systems = p["systems"].as_array().expect("systems");
        assert!(!systems.is_empty(), "a row with no system: {p}");
        for system in systems {
            assert!(
                ["omniforge", "powerschool", "matrix", "hubmis"]
                    .contains(&system.as_str().unwrap()),
                "unknown system in {p}"
            );
        }
    }
}

// Needs the demo district (the `demo` feature, on by default).
#[cfg(feature = "demo")]
#[test]
fn a_mark_taken_at_the_desk_is_queued_then_sent_by_the_apps_engine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    settled_status(&window);
    let empty = invoke(&window, "list_outbox", json!({})).expect("outbox");
    assert_eq!(empty, json!([]), "a fresh demo has nothing to send");

    // Take a mark through the core, as the register screen will, on the same cache.
    let index = invoke(&window, "list_people", json!({})).expect("people");
    let omniforge_id = index["people"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["ids"].as_array().unwrap())
        .find_map(|id| id.as_str().unwrap().strip_prefix("omniforge:"))
        .expect("the demo district has OmniForge students")
        .to_string();
    // The app runs the demo in its own profile; a second handle on that cache is what the
    // CLI would be.
    let desk = Desk::open_demo(dir.path()).expect("a second handle on the same cache");
    let request = MarkRequest {
        student: omniforge_id,
        date: NaiveDate::from_ymd_opt(2025, 9, 1).unwrap(),
        status: AttendanceStatus::Tardy,
        section: None,
        period: None,
        note: None,
        code: None,
        minutes_late: None,
    };
    let now = Utc.with_ymd_and_hms(2025, 9, 1, 8, 30, 0).unwrap();
    desk.mark_attendance(&request, now, Uuid::from_u128(7))
        .expect("the mark is taken");

    let outbox = invoke(&window, "list_outbox", json!({})).expect("outbox");
    let entries = outbox.as_array().expect("an array");
    assert_eq!(entries.len(), 1, "{outbox}");
    let entry = &entries[0];
    assert_eq!(entry["system"], "omniforge", "{entry}");
    assert_eq!(entry["operation"], "submit_attendance", "{entry}");
    assert!(
        entry["state"] == "pending" || entry["state"] == "sending" || entry["state"] == "done",
        "{entry}"
    );
    assert_eq!(entry["last_error"], Value::Null, "{entry}");
    assert!(entry["id"].is_i64(), "{entry}");
    assert!(
        entry["created_at"]
            .as_str()
            .unwrap()
            .starts_with("2025-09-01T08:30:00"),
        "{entry}"
    );
    assert!(
        entry.get("payload").is_none(),
        "payloads stay in the cache: {entry}"
    );

    // Nobody presses anything: the app's engine notices the other handle's write and sends it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let outbox = invoke(&window, "list_outbox", json!({})).expect("outbox");
        if outbox[0]["state"] == "done" {
            assert_eq!(outbox[0]["attempts"], 0, "sent on the first try: {outbox}");
            break;
        }
        assert!(Instant::now() < deadline, "never sent: {outbox}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// Needs the demo district (the `demo` feature, on by default).
#[cfg(feature = "demo")]
#[test]
fn the_app_reports_each_systems_activity_and_takes_sync_now_and_send_now() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    settled_status(&window);
    let deadline = Instant::now() + Duration::from_secs(60);
    let activity = loop {
        let activity = invoke(&window, "desk_activity", json!({})).expect("activity");
        if activity["systems"].as_array().map(Vec::len) == Some(4) {
            break activity;
        }
        assert!(Instant::now() < deadline, "no engine: {activity}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(activity["offline"], false, "{activity}");
    for system in activity["systems"].as_array().unwrap() {
        assert_eq!(system["reachable"], true, "{system}");
        assert_eq!(system["register_ready"], true, "{system}");
        assert!(system["last_sync_at"].is_string(), "{system}");
        assert_eq!(system["problem"], Value::Null, "{system}");
    }
    assert_eq!(invoke(&window, "sync_now", json!({})), Ok(Value::Null));
    assert_eq!(invoke(&window, "send_now", json!({})), Ok(Value::Null));
}

/// A lean build (`--no-default-features`) has no demo district: with nothing connected it
/// must say so and how to connect a system, not start the simulators or show an empty desk.
#[cfg(not(feature = "demo"))]
#[test]
fn a_lean_build_with_no_system_connected_says_how_to_connect_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());

    let status = settled_status(&window);
    assert_eq!(status["demo"], false, "{status}");
    assert_eq!(status["sync"]["state"], "failed", "{status}");
    assert_eq!(
        status["sync"]["error"]["code"], "shell.no_system",
        "{status}"
    );
    let message = status["sync"]["error"]["message"]
        .as_str()
        .expect("a message");
    assert!(message.contains("schooldesk connect"), "{message}");
    assert!(
        !dir.path().join("demo").exists(),
        "a lean build must not create the demo profile"
    );
}

#[test]
fn a_cache_that_cannot_open_is_reported_as_code_and_message() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A data folder "inside" a plain file can never be created.
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").expect("write file");
    let (_app, window) = start(&blocker.join("data"));

    let status = settled_status(&window);
    assert_eq!(status["sync"]["state"], "failed", "{status}");
    assert_eq!(status["sync"]["error"]["code"], "desk.data_dir", "{status}");
    assert_eq!(status["demo"], false);

    let err =
        invoke(&window, "list_people", json!({})).expect_err("listing cannot work without a cache");
    assert_eq!(err["code"], "desk.data_dir", "{err}");
    assert_eq!(err["retryable"], false, "{err}");
    let message = err["message"].as_str().expect("a message");
    assert!(!message.is_empty());
    assert_eq!(
        err.as_object().unwrap().len(),
        3,
        "only code, message, retryable cross: {err}"
    );

    let err = invoke(&window, "list_outbox", json!({})).expect_err("no cache, no outbox");
    assert_eq!(err["code"], "desk.data_dir", "{err}");
}

#[test]
fn commands_outside_the_declared_surface_are_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    let err = invoke(&window, "delete_everything", json!({})).expect_err("unknown command");
    assert!(err.to_string().contains("delete_everything"), "{err}");
}
