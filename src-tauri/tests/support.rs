//! Learning support and the access log through Tauri's IPC (mock runtime, real config and
//! capabilities) over the demo district's real encrypted cache, synced from the simulators
//! with HUBmis learning support switched on. Locked at start; unlocked explicitly; every
//! read in the log (with the computer's user and the students) before it is answered; the
//! idle lock proven with an injected clock; refused when switched off; bad input refused
//! with nothing logged; nothing of the records in the app's log output. Run under
//! `scripts/with-keyring.sh`.

// The demo is left out of a lean build (`--no-default-features`).
#![cfg(feature = "demo")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use chrono::{DateTime, Utc};
use common::{invoke, start};
use schooldesk_app::exports::Exports;
use schooldesk_app::support::SupportLock;
use schooldesk_domain::System;
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use tauri::Manager;

/// Everything the app writes through `tracing`, kept to search afterwards.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

fn code(result: Result<Value, Value>) -> String {
    let error = result.expect_err("the command must be refused");
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.ends_with('.') && message.len() > 40,
        "a sentence with what to do next: {error}"
    );
    error["code"].as_str().unwrap_or_default().to_string()
}

fn log_len(data: &Path) -> usize {
    Desk::open_demo(data)
        .expect("a second handle on the demo cache")
        .cache()
        .access_log(None)
        .expect("the access log")
        .len()
}

fn files_in(folder: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn learning_support_is_locked_logged_and_locks_itself() {
    let captured = Captured::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(captured.clone())
            .with_ansi(false)
            .finish(),
    )
    .expect("the only subscriber of this test binary");

    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let documents = dir.path().join("Documents").join("Schooldesk");
    let (app, window) = start(&data);
    app.state::<Exports>()
        .set_documents_folder(documents.clone());
    let clock = Arc::new(Mutex::new(Utc::now()));
    {
        let clock = clock.clone();
        app.state::<Arc<SupportLock>>()
            .set_clock(Arc::new(move || *clock.lock().unwrap()));
    }
    let advance = |by: chrono::Duration| {
        let mut now = clock.lock().unwrap();
        *now += by;
    };
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let status = invoke(&window, "app_status", json!({})).expect("app_status");
        if status["sync"]["state"] == "ready" {
            break;
        }
        assert_ne!(status["sync"]["state"], "failed", "{status}");
        assert!(Instant::now() < deadline, "the demo never synced: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // A HUBmis child with records, and their year group, straight from the cache.
    let desk = Desk::open_demo(&data).expect("demo cache");
    let records = desk
        .cache()
        .learning_support_records(System::Hubmis, None)
        .expect("records");
    assert!(
        !records.is_empty(),
        "the demo district has learning-support records"
    );
    let sid = records[0].student_source_id.clone();
    let child = desk
        .cache()
        .student(System::Hubmis, &sid)
        .expect("read")
        .expect("the child is cached");
    let group = child.source.raw["year_group"]["name"]
        .as_str()
        .expect("HUBmis students have a year group")
        .to_string();
    let qualified = format!("hubmis:{sid}");
    let own_records = records
        .iter()
        .filter(|r| r.student_source_id == sid)
        .count();
    let notes: Vec<String> = records.iter().filter_map(|r| r.notes.clone()).collect();
    let before = log_len(&data);

    // Locked by default: refused, nothing logged.
    let status = invoke(&window, "support_status", json!({})).expect("status");
    assert_eq!(status["enabled"], true, "{status}");
    assert_eq!(status["unlocked"], false, "{status}");
    assert_eq!(status["systems"], json!(["hubmis"]));
    assert_eq!(
        code(invoke(
            &window,
            "support_student",
            json!({"person": qualified})
        )),
        "shell.support_locked"
    );
    assert_eq!(
        code(invoke(
            &window,
            "support_year_group",
            json!({"group": group})
        )),
        "shell.support_locked"
    );
    assert_eq!(
        code(invoke(&window, "support_touch", json!({}))),
        "shell.support_locked"
    );
    assert_eq!(log_len(&data), before, "a refused read logs nothing");

    // Unlocked: says whom views are logged as.
    let status = invoke(&window, "support_unlock", json!({})).expect("unlock");
    assert_eq!(status["unlocked"], true, "{status}");
    assert!(status["until"].is_string(), "{status}");
    let who = schooldesk_export::audit::signed_in_user();
    assert_eq!(status["by_whom"], json!(who));

    // One child: their records with type, severity, status; logged first.
    let view = invoke(&window, "support_student", json!({"person": qualified})).expect("view");
    let students = view["students"].as_array().expect("students");
    assert_eq!(students.len(), 1, "{view}");
    assert_eq!(students[0]["student"], json!(qualified));
    assert_eq!(students[0]["name"], json!(child.display_name()));
    let shown = students[0]["records"].as_array().expect("records");
    assert_eq!(shown.len(), own_records, "{view}");
    for r in shown {
        assert!(r["support_type"].is_string(), "{r}");
        assert!(r["severity"].is_string(), "{r}");
        assert!(r["status"].is_string(), "{r}");
        assert!(r["overdue"].is_boolean(), "{r}");
    }
    let log = desk.cache().access_log(Some(1)).expect("log");
    assert_eq!(log_len(&data), before + 1);
    let entry = &log[0];
    assert_eq!(entry.id, view["access_id"].as_i64().unwrap());
    assert_eq!(entry.access.what, "learning_support");
    assert_eq!(serde_json::to_value(entry.access.action).unwrap(), "view");
    assert_eq!(entry.access.students, vec![qualified.clone()]);
    assert_eq!(entry.access.by_whom, who);
    assert!(
        entry.access.detail.contains(&child.display_name()),
        "{}",
        entry.access.detail
    );

    // A year group: everyone in it with records, each named in the log.
    let groups = invoke(&window, "support_year_groups", json!({})).expect("groups");
    assert!(
        groups
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == json!(group) && g["with_records"].as_u64() >= Some(1)),
        "{groups}"
    );
    let view = invoke(&window, "support_year_group", json!({"group": group})).expect("group");
    assert_eq!(view["title"], json!(group));
    let students: Vec<&Value> = view["students"].as_array().unwrap().iter().collect();
    assert!(students.iter().any(|s| s["student"] == json!(qualified)));
    assert!(students
        .iter()
        .all(|s| s["year_group"] == json!(group) && !s["records"].as_array().unwrap().is_empty()));
    let log = desk.cache().access_log(Some(1)).expect("log");
    assert_eq!(log_len(&data), before + 2);
    let logged: Vec<String> = students
        .iter()
        .map(|s| s["student"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(log[0].access.students, logged);

    // The log, through the app: newest first, with names, the user and the students.
    let shown = invoke(&window, "access_log", json!({"limit": 2})).expect("access log");
    let entries = shown["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries[0]["detail"].as_str().unwrap().contains(&group));
    assert_eq!(entries[1]["action"], "view");
    assert_eq!(entries[1]["by_whom"], json!(who));
    assert_eq!(
        entries[1]["students"],
        json!([{"id": qualified, "name": child.display_name()}])
    );

    // Bad input: a clear sentence, nothing logged.
    let n = log_len(&data);
    for (cmd, args, want) in [
        (
            "support_student",
            json!({"person": "hubmis:no-such-child"}),
            "shell.support_not_found",
        ),
        (
            "support_student",
            json!({"person": "nobody"}),
            "shell.support_not_found",
        ),
        (
            "support_student",
            json!({"person": "  "}),
            "shell.support_invalid",
        ),
        (
            "support_year_group",
            json!({"group": "Year 99"}),
            "shell.support_not_found",
        ),
        (
            "support_year_group",
            json!({"group": "x".repeat(400)}),
            "shell.support_invalid",
        ),
    ] {
        assert_eq!(
            code(invoke(&window, cmd, args.clone())),
            want,
            "{cmd} {args}"
        );
    }
    assert_eq!(log_len(&data), n, "refused reads log nothing");

    // Idle: use within the idle time keeps it open; five minutes without locks it.
    advance(chrono::Duration::minutes(4));
    let status = invoke(&window, "support_touch", json!({})).expect("still unlocked");
    let until: DateTime<Utc> = status["until"].as_str().unwrap().parse().unwrap();
    assert_eq!(until, *clock.lock().unwrap() + chrono::Duration::minutes(5));
    advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1));
    assert_eq!(
        code(invoke(
            &window,
            "support_student",
            json!({"person": qualified})
        )),
        "shell.support_locked"
    );
    let status = invoke(&window, "support_status", json!({})).expect("status");
    assert_eq!(status["unlocked"], false, "{status}");
    assert_eq!(
        code(invoke(&window, "access_log", json!({"limit": 5}))),
        "shell.support_locked",
        "the log names children, so it is behind the lock while learning support is on"
    );
    assert_eq!(log_len(&data), n);

    // "Lock now" locks at once.
    invoke(&window, "support_unlock", json!({})).expect("unlock");
    let status = invoke(&window, "support_lock", json!({})).expect("lock");
    assert_eq!(status["unlocked"], false);
    assert_eq!(
        code(invoke(
            &window,
            "support_year_group",
            json!({"group": group})
        )),
        "shell.support_locked"
    );

    // REGRESSION: the Documents panel made the learning-support summary while the screen
    // was locked; it is the same records, so it waits for the unlock too.
    let summary = json!({
        "request": {"kind": "learning_support", "student": null, "year_group": group},
        "format": "csv",
        "paper": "a4",
    });
    for cmd in ["export_document", "print_document"] {
        let mut args = summary.clone();
        if cmd == "print_document" {
            args.as_object_mut().unwrap().remove("format");
        }
        assert_eq!(
            code(invoke(&window, cmd, args)),
            "shell.support_locked",
            "{cmd} while locked"
        );
    }
    assert_eq!(files_in(&documents).len(), 0, "nothing made while locked");
    invoke(&window, "support_unlock", json!({})).expect("unlock");
    let made = invoke(&window, "export_document", summary).expect("summary once unlocked");
    assert!(made["path"].as_str().is_some(), "{made}");
    std::fs::remove_file(made["path"].as_str().unwrap()).expect("remove the summary");
    invoke(&window, "support_lock", json!({})).expect("lock");

    // The log exported as CSV into Documents/Schooldesk, never over a file; itself logged.
    invoke(&window, "support_unlock", json!({})).expect("unlock");
    let first = invoke(&window, "export_access_log", json!({})).expect("export");
    let second = invoke(&window, "export_access_log", json!({})).expect("export again");
    assert_ne!(first["path"], second["path"]);
    assert_eq!(files_in(&documents).len(), 2);
    let csv = std::fs::read_to_string(first["path"].as_str().unwrap()).expect("csv");
    assert!(csv.contains("Computer user"), "{csv}");
    assert!(csv.contains(&qualified), "the views are in it");
    let log = desk.cache().access_log(Some(1)).expect("log");
    assert_eq!(log[0].access.what, "access_log");
    assert_eq!(
        serde_json::to_value(log[0].access.action).unwrap(),
        "export"
    );
    assert_eq!(
        log[0].access.destination.as_deref(),
        second["path"].as_str()
    );

    // Switched off: refused even though this session is unlocked.
    let mut hubmis = desk
        .cache()
        .connection(System::Hubmis)
        .expect("read")
        .expect("the demo connects HUBmis");
    hubmis.learning_support_enabled = false;
    desk.cache()
        .save_connection(&hubmis)
        .expect("switch it off");
    let n = log_len(&data);
    assert_eq!(
        code(invoke(
            &window,
            "support_student",
            json!({"person": qualified})
        )),
        "shell.support_disabled"
    );
    assert_eq!(
        code(invoke(&window, "support_unlock", json!({}))),
        "shell.support_disabled"
    );
    let status = invoke(&window, "support_status", json!({})).expect("status");
    assert_eq!(status["enabled"], false);
    assert_eq!(status["unlocked"], false);
    assert_eq!(log_len(&data), n);

    // Nothing of the records reached the app's log output.
    let out = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        !out.is_empty(),
        "the capture works: the app logged its start"
    );
    assert!(!out.contains("Viewed learning support"), "{out}");
    for note in notes.iter().filter(|n| n.len() > 6) {
        assert!(!out.contains(note.as_str()), "'{note}' reached the log");
    }
}
