//! The Register screen's commands through Tauri's IPC (mock runtime, real config and
//! capabilities) over the demo district: a real encrypted cache synced from the simulators,
//! the engine running and sending to them. A mark is saved and queued exactly once and then
//! sent; a re-mark replaces it; a HUBmis mark is kept here and never queued; bad input is
//! refused with a sentence and changes nothing. Run under `scripts/with-keyring.sh`.

#![cfg(feature = "demo")]

use std::time::{Duration, Instant};

mod common;
use common::{invoke, start};
use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::WebviewWindow;

struct Setup {
    _dir: tempfile::TempDir,
    _app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

fn demo() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let (app, window) = start(&dir.path().join("data"));
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = invoke(&window, "app_status", json!({})).expect("app_status");
        if status["sync"]["state"] == "ready" {
            break;
        }
        assert_ne!(status["sync"]["state"], "failed", "{status}");
        assert!(Instant::now() < deadline, "the demo never synced: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Setup {
        _dir: dir,
        _app: app,
        window,
    }
}

fn section_of(w: &WebviewWindow<MockRuntime>, system: &str) -> Value {
    let all = invoke(w, "register_sections", json!({})).expect("register_sections");
    let all = all.as_array().expect("an array");
    assert!(
        all.iter().all(|s| s["system"] != "powerschool"),
        "PowerSchool keeps no registers"
    );
    all.iter()
        .find(|s| s["system"] == system && s["students"].as_u64().unwrap() >= 3)
        .unwrap_or_else(|| panic!("a {system} section with pupils: {all:?}"))
        .clone()
}

fn sheet(w: &WebviewWindow<MockRuntime>, section: &str, session: Option<&str>) -> Value {
    invoke(
        w,
        "register_sheet",
        json!({"section": section, "date": null, "session": session}),
    )
    .expect("register_sheet")
}

fn outbox(w: &WebviewWindow<MockRuntime>) -> Vec<Value> {
    invoke(w, "list_outbox", json!({}))
        .expect("list_outbox")
        .as_array()
        .unwrap()
        .clone()
}

fn writes_for(w: &WebviewWindow<MockRuntime>, student: &str) -> usize {
    let bare = student.split_once(':').unwrap().1;
    outbox(w)
        .iter()
        .filter(|e| {
            e["entity_key"]
                .as_str()
                .unwrap()
                .starts_with(&format!("attendance:{bare}:"))
        })
        .count()
}

fn take(w: &WebviewWindow<MockRuntime>, mark: Value) -> Result<Value, Value> {
    invoke(w, "take_mark", json!({ "mark": mark }))
}

#[test]
fn an_omniforge_mark_is_queued_once_sent_and_a_re_mark_replaces_it() {
    let s = demo();
    let w = &s.window;
    let section = section_of(w, "omniforge");
    let id = section["id"].as_str().unwrap();
    let first = sheet(w, id, None);
    assert_eq!(first["takes_writes"], true, "{first}");
    assert_eq!(first["can_mark"], true);
    let rows = first["rows"].as_array().unwrap();
    assert_eq!(rows.len() as u64, section["students"].as_u64().unwrap());
    let pupil = rows[0]["student"].as_str().unwrap().to_string();
    let date = first["date"].as_str().unwrap();

    let row = take(
        w,
        json!({"section": id, "date": date, "student": pupil, "status": "absent"}),
    )
    .expect("take_mark");
    assert_eq!(row["student"], pupil.as_str());
    assert!(
        row["state"] == "pending" || row["state"] == "sent",
        "saved at once: {row}"
    );
    assert_eq!(row["mark"]["status"], "absent");
    assert_eq!(row["mark"]["marked_here"], true);
    assert!(row["mark"]["marked_at"].is_string(), "{row}");
    assert!(row["mark"]["outbox_id"].is_i64(), "{row}");
    assert_eq!(writes_for(w, &pupil), 1, "queued exactly once");

    // The engine sends it to the demo's OmniForge: the register shows it sent.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = sheet(w, id, None);
        let line = now["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["student"] == pupil.as_str())
            .unwrap()
            .clone();
        if line["state"] == "sent" {
            break;
        }
        assert!(Instant::now() < deadline, "never sent: {line}");
        std::thread::sleep(Duration::from_millis(200));
    }

    let row = take(
        w,
        json!({"section": id, "date": date, "student": pupil, "status": "late",
               "minutes_late": 7, "note": "Dentist"}),
    )
    .expect("re-mark");
    assert_eq!(row["mark"]["status"], "late", "{row}");
    assert_eq!(row["mark"]["minutes_late"], 7);
    assert_eq!(row["mark"]["note"], "Dentist");
    assert_eq!(writes_for(w, &pupil), 2, "the re-mark is its own write");
    let marked: Vec<Value> = sheet(w, id, None)["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["student"] == pupil.as_str())
        .cloned()
        .collect();
    assert_eq!(marked.len(), 1, "one row per pupil");
    assert_eq!(marked[0]["mark"]["status"], "late");

    // The rest present: every other pupil, one write each.
    let before = outbox(w).len();
    let rest = invoke(
        w,
        "mark_rest_present",
        json!({"section": id, "date": date, "session": null}),
    )
    .expect("mark_rest_present");
    let n = rest["marked"].as_u64().unwrap() as usize;
    assert_eq!(n, rows.len() - 1, "{rest}");
    assert_eq!(outbox(w).len(), before + n);
    assert!(rest["sheet"]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["state"] != "unmarked"));
}

#[test]
fn a_hubmis_mark_is_kept_here_and_bad_input_changes_nothing() {
    let s = demo();
    let w = &s.window;
    let group = section_of(w, "hubmis");
    let id = group["id"].as_str().unwrap();
    let pm = sheet(w, id, Some("pm"));
    assert_eq!(pm["takes_writes"], false, "{pm}");
    assert_eq!(pm["session"], "pm");
    assert_eq!(pm["quick"]["present"], "\\", "the DfE PM present code");
    let pupil = pm["rows"][0]["student"].as_str().unwrap().to_string();
    let date = pm["date"].as_str().unwrap().to_string();
    let before = outbox(w).len();

    let row = take(
        w,
        json!({"section": id, "date": date, "session": "pm", "student": pupil,
               "status": "present"}),
    )
    .expect("take_mark");
    assert_eq!(row["state"], "local", "{row}");
    assert_eq!(row["mark"]["code"], "\\");
    assert_eq!(outbox(w).len(), before, "HUBmis marks are never queued");

    let good = json!({"section": id, "date": date, "session": "pm", "student": pupil,
                      "status": "absent"});
    let bad = |change: Value, words: &str| {
        let mut mark = good.clone();
        for (k, v) in change.as_object().unwrap() {
            mark[k] = v.clone();
        }
        let err = take(w, mark).expect_err(words);
        assert_eq!(err["code"], "desk.invalid_input", "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.contains(words), "{message}");
    };
    let sheet_before = sheet(w, id, Some("pm"));
    bad(json!({"section": "hubmis:nowhere"}), "no section");
    bad(json!({"date": "yesterday"}), "year-month-day");
    bad(json!({"session": "evening"}), "morning (am) or");
    bad(json!({"code": "Q9"}), "Codes in use");
    bad(json!({"code": "/"}), "records present, not absent");
    bad(
        json!({"status": "late", "minutes_late": 999}),
        "from 1 to 480",
    );
    bad(json!({"student": "hubmis:nobody"}), "is not on the roster");
    let err = invoke(w, "take_mark", json!({"mark": {"section": id}})).expect_err("incomplete");
    assert!(err.is_string() || err.is_object(), "{err}");
    assert_eq!(sheet(w, id, Some("pm")), sheet_before, "nothing changed");
    assert_eq!(outbox(w).len(), before);
}
