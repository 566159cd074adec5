//! The Classes screen's commands through Tauri's IPC on the mock runtime, over a real
//! encrypted cache (its key in the keychain: run under `scripts/with-keyring.sh` on Linux)
//! holding a sync of the Matrix LMS simulator on 127.0.0.1. A roster change and a grade are
//! queued once each while Matrix does not answer (offline), sent by the outbox's replay when
//! it does, and found at the simulator; bad input is refused with a sentence and queues
//! nothing.
//!
//! Matrix allows 120 calls a minute and a district has hundreds of classes, so the first
//! sync is made before the app opens, by the same pull on a clock that skips the waits
//! (the simulator is told not to count); the app then works from that cache.

use std::collections::BTreeSet;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
mod common;
use chrono::DateTime;
use common::{invoke, start};
use schooldesk_connectors::{Connection, ConnectionSettings, Connector, Pace, Secret};
use schooldesk_domain::System;
use schooldesk_sim::{SimConfig, Simulators, SystemKind};
use schooldesk_sync::pull::{sync_system, SyncContext, SyncMode};
use schooldesk_sync::{Desk, PendingWrites};
use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::WebviewWindow;

/// A clock two hours behind the wall clock on which waiting moves time on at once: the
/// pre-fill sync keeps to Matrix's pace without taking minutes of real time, and what it
/// stores is dated before anything the test then does.
#[derive(Debug)]
struct SkipPace {
    start: DateTime<Utc>,
    real: Instant,
    skipped: Mutex<Duration>,
}

impl SkipPace {
    fn new() -> SkipPace {
        SkipPace {
            start: Utc::now() - chrono::Duration::hours(2),
            real: Instant::now(),
            skipped: Mutex::new(Duration::ZERO),
        }
    }
}

impl Pace for SkipPace {
    fn now(&self) -> DateTime<Utc> {
        let gone = self.real.elapsed() + *self.skipped.lock().unwrap();
        self.start + chrono::Duration::from_std(gone).unwrap()
    }
    fn sleep<'a, 'b>(&'a self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        *self.skipped.lock().unwrap() += duration;
        Box::pin(async {})
    }
}

/// A small simulated district on loopback, kept running by its own runtime.
struct District {
    runtime: tokio::runtime::Runtime,
    sims: Simulators,
}

impl District {
    fn start() -> District {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut config = SimConfig {
            students: 50,
            ..SimConfig::default()
        };
        // The pre-fill runs on a skipping clock the simulator cannot see.
        config.matrix.calls_per_minute = 1_000_000;
        let sims = runtime
            .block_on(Simulators::start(config))
            .expect("the simulators start");
        District { runtime, sims }
    }

    /// Connects the real profile in `data` to the simulated Matrix and syncs it, before the
    /// app opens it.
    fn connect_and_sync_matrix(&self, data: &Path) {
        let desk = Desk::open(data).expect("open the cache");
        let connection = Connection {
            settings: ConnectionSettings {
                time_zone: Some("America/Chicago".into()),
                ..ConnectionSettings::default()
            },
            ..Connection::new(System::Matrix, self.sims.matrix.base_url.clone())
        };
        let key = self.sims.matrix_admin.api_key();
        desk.connect_with(&connection, &key, Utc::now(), PendingWrites::Refuse)
            .expect("connect Matrix");
        let connector = Connector::new(&connection, Secret::new(key), Arc::new(SkipPace::new()))
            .expect("connector");
        let summary = self.runtime.block_on(sync_system(
            desk.cache(),
            &connector,
            &connection,
            SyncMode::Full,
            &SyncContext::default(),
        ));
        assert!(summary.completed && summary.error.is_none(), "{summary:?}");
    }
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(150);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn ok(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    invoke(window, cmd, args.clone()).unwrap_or_else(|e| panic!("{cmd} {args}: {e}"))
}

fn outbox(window: &WebviewWindow<MockRuntime>) -> Vec<Value> {
    ok(window, "list_outbox", json!({}))
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// The refusal's payload; it must be a sentence for the office, not a code.
fn refused(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value, words: &str) -> Value {
    let err = invoke(window, cmd, args.clone()).expect_err(&format!("{cmd} {args} was taken"));
    let message = err["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(words),
        "{cmd} {args}: expected “{words}” in {err}"
    );
    assert_eq!(err["code"], "desk.invalid_input", "{err}");
    assert!(message.ends_with('.'), "not a sentence: {message}");
    err
}

fn page(window: &WebviewWindow<MockRuntime>, class: &str) -> Value {
    ok(window, "class_page", json!({"classId": class}))
}

fn member<'a>(page: &'a Value, user: &str) -> Option<&'a Value> {
    page["members"]
        .as_array()?
        .iter()
        .find(|m| m["user_id"] == user)
}

fn state_of(window: &WebviewWindow<MockRuntime>, id: &Value) -> String {
    outbox(window)
        .into_iter()
        .find(|r| r["id"] == *id)
        .map(|r| r["state"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default()
}

#[test]
fn class_work_is_checked_queued_once_and_delivered_to_matrix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let district = District::start();
    let admin = &district.sims.matrix_admin;
    let recorder = &district.sims.shared.recorder;
    district.connect_and_sync_matrix(&data);
    // Matrix does not answer while the app starts: its engine's own sync gives up at once,
    // and what is queued waits in the outbox (offline work).
    district.sims.shared.faults.set_offline(true);
    let (_app, window) = start(&data);
    wait_for("the engine to find Matrix unreachable", || {
        let a = ok(&window, "desk_activity", json!({}));
        a["systems"].as_array().is_some_and(|s| {
            s.iter().any(|s| {
                s["system"] == "matrix" && s["syncing"] == false && s["reachable"] == false
            })
        })
    });

    let classes = ok(&window, "list_classes", json!({}));
    let classes = classes.as_array().expect("a list");
    assert!(!classes.is_empty(), "no Matrix class was synced");
    assert!(classes
        .iter()
        .all(|c| c["id"].as_str().unwrap().starts_with("matrix:")));
    // A class with a few students and grades.
    let chosen = classes
        .iter()
        .find(|c| c["students"].as_u64().unwrap_or(0) >= 3)
        .expect("a class with students");
    let class = chosen["id"].as_str().unwrap().to_string();
    let class_id: u64 = class["matrix:".len()..].parse().unwrap();
    assert!(chosen["school"].is_string(), "{chosen}");

    // The class page is the simulator's class: its roster, one row per child, and grades.
    let first = page(&window, &class);
    let roster: BTreeSet<String> = admin
        .roster(class_id)
        .iter()
        .map(|u| u.to_string())
        .collect();
    let shown: BTreeSet<String> = first["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(shown, roster);
    assert_eq!(
        first["class"]["students"].as_u64(),
        Some(roster.len() as u64)
    );
    let assignments = first["assignments"].as_array().unwrap();
    assert!(!assignments.is_empty(), "{first}");
    let known: Vec<String> = admin
        .assignment_ids(class_id)
        .iter()
        .map(|a| a.to_string())
        .collect();
    let assignment = assignments[0]["id"].as_str().unwrap().to_string();
    assert!(known.contains(&assignment));
    let points = assignments[0]["points"].as_f64().expect("points");
    for m in first["members"].as_array().unwrap() {
        assert!(m["person"].as_str().unwrap().starts_with("ext:"), "{m}");
        assert_eq!(m["on_roster"], true);
        assert!(m["roster_change"].is_null());
        let cell = &m["grades"][0];
        let user: u64 = m["user_id"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            cell["grade"].as_str().map(str::to_string),
            admin.grade(assignment.parse().unwrap(), user),
            "{m}"
        );
    }
    let members: Vec<String> = shown.iter().cloned().collect();
    let (leaving, graded) = (members[0].clone(), members[1].clone());
    // A student of the district not in this class, with a Matrix account in the cache.
    let people = ok(&window, "list_people", json!({}));
    let joining = people["people"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["ids"].as_array().unwrap().iter())
        .filter_map(|id| id.as_str()?.strip_prefix("matrix:").map(str::to_string))
        .find(|u| !roster.contains(u))
        .expect("a student outside the class");

    // Bad input: a sentence and what to do, and nothing queued.
    let before = outbox(&window).len();
    refused(
        &window,
        "class_page",
        json!({"classId": "omniforge:sec-1"}),
        "not a Matrix LMS class",
    );
    refused(
        &window,
        "class_page",
        json!({"classId": "matrix:1"}),
        "no Matrix class '1'",
    );
    refused(
        &window,
        "class_page",
        json!({"classId": "  "}),
        "Choose a class",
    );
    let change = |action: &str, students: Value| json!({"classId": class, "action": action, "students": students});
    refused(
        &window,
        "class_change",
        change("add", json!([])),
        "at least one student",
    );
    refused(
        &window,
        "class_change",
        change("add", json!([format!("matrix:{leaving}")])),
        "already on the roster",
    );
    refused(
        &window,
        "class_change",
        change("remove", json!([format!("matrix:{joining}")])),
        "not on the roster",
    );
    refused(
        &window,
        "class_change",
        change("add", json!(["matrix:no-such-user"])),
        "no student 'matrix:no-such-user'",
    );
    refused(
        &window,
        "class_change",
        change("add", json!(["ext:NOBODY-1"])),
        "no student",
    );
    // One bad student among good ones: nothing at all is queued.
    refused(
        &window,
        "class_change",
        change(
            "add",
            json!([format!("matrix:{joining}"), format!("matrix:{leaving}")]),
        ),
        "already on the roster",
    );
    assert!(
        invoke(
            &window,
            "class_change",
            change("enrol", json!([joining.clone()]))
        )
        .is_err(),
        "an unknown action was taken"
    );
    let grade = |assignment: &str, student: &str, g: &str| json!({"classId": class, "assignment": assignment, "student": student, "grade": g});
    let graded_id = format!("matrix:{graded}");
    refused(
        &window,
        "set_grade",
        grade("999", &graded_id, "B"),
        "no assignment '999'",
    );
    refused(
        &window,
        "set_grade",
        grade("", &graded_id, "B"),
        "Choose the assignment",
    );
    refused(
        &window,
        "set_grade",
        grade(&assignment, &format!("matrix:{joining}"), "B"),
        "not on the roster",
    );
    refused(
        &window,
        "set_grade",
        grade(&assignment, &graded_id, "Z"),
        "not a grade Matrix takes",
    );
    refused(
        &window,
        "set_grade",
        grade(&assignment, &graded_id, "   "),
        "empty",
    );
    refused(
        &window,
        "set_grade",
        grade(&assignment, &graded_id, &format!("{}", points + 1.0)),
        "too many",
    );
    refused(
        &window,
        "set_grade",
        grade(&assignment, &graded_id, "150%"),
        "percentage",
    );
    let current = member(&first, &graded).unwrap()["grades"][0]["grade"]
        .as_str()
        .map(str::to_string);
    if let Some(current) = &current {
        refused(
            &window,
            "set_grade",
            grade(&assignment, &graded_id, current),
            "already has",
        );
    }
    assert_eq!(outbox(&window).len(), before, "bad input queued something");

    // Good writes, each queued once, shown on the page at once with its outbox id.
    let new_grade = if current.as_deref() == Some("B+") {
        "A-"
    } else {
        "B+"
    };
    let added = ok(
        &window,
        "class_change",
        change("add", json!([format!("matrix:{joining}")])),
    );
    let removed = ok(
        &window,
        "class_change",
        change("remove", json!([format!("matrix:{leaving}")])),
    );
    let set = ok(
        &window,
        "set_grade",
        grade(&assignment, &graded_id, &new_grade.to_lowercase()),
    );
    assert_eq!(outbox(&window).len(), before + 3);
    for (row, op) in [
        (&added, "add_students"),
        (&removed, "remove_students"),
        (&set, "set_grades"),
    ] {
        assert_eq!(row["system"], "matrix", "{row}");
        assert!(
            row["operation"]
                .as_str()
                .unwrap()
                .contains(op.split('_').next().unwrap()),
            "{row}"
        );
    }
    let now = page(&window, &class);
    let joined = member(&now, &joining).expect("the student being added is listed");
    assert_eq!(joined["roster_change"], "add");
    assert_eq!(joined["roster_write"]["outbox_id"], added["id"]);
    let left = member(&now, &leaving).expect("the student being removed is still listed");
    assert_eq!(left["roster_change"], "remove");
    assert_eq!(left["roster_write"]["outbox_id"], removed["id"]);
    let cell = &member(&now, &graded).unwrap()["grades"][0];
    assert_eq!(
        cell["queued"], new_grade,
        "written as Matrix keeps it: {cell}"
    );
    assert_eq!(cell["change"]["outbox_id"], set["id"]);
    // A second change for a child with one on its way is refused.
    refused(
        &window,
        "class_change",
        change("add", json!([format!("matrix:{joining}")])),
        "",
    );
    assert_eq!(outbox(&window).len(), before + 3);

    // Nothing reached Matrix while it was away: the writes wait, saved.
    for r in [&added, &removed, &set] {
        let state = state_of(&window, &r["id"]);
        assert!(["pending", "held"].contains(&state.as_str()), "{state}");
    }
    assert_eq!(recorder.writes_for(SystemKind::Matrix).len(), 0);

    // Back online, replay delivers each exactly once, and Matrix holds it.
    district.sims.shared.faults.set_offline(false);
    ok(&window, "send_now", json!({}));
    wait_for("the three writes to be sent", || {
        [&added, &removed, &set]
            .iter()
            .all(|r| state_of(&window, &r["id"]) == "done")
    });
    let at_matrix = admin.roster(class_id);
    assert!(at_matrix.contains(&joining.parse().unwrap()));
    assert!(!at_matrix.contains(&leaving.parse().unwrap()));
    assert_eq!(
        admin
            .grade(assignment.parse().unwrap(), graded.parse().unwrap())
            .as_deref(),
        Some(new_grade)
    );
    let kinds = |kind: &str| recorder.writes_of(SystemKind::Matrix, kind).len();
    assert_eq!(kinds("class.add_students"), 1);
    assert_eq!(kinds("class.remove_students"), 1);
    assert_eq!(kinds("grades.set"), 1);
    ok(&window, "send_now", json!({}));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(kinds("class.add_students"), 1, "sent twice");
    assert_eq!(kinds("grades.set"), 1, "sent twice");

    // Sent, and shown as sent until a sync reads the roster again (the engine may already
    // have, now Matrix answers: then the roster itself says so).
    let sent = page(&window, &class);
    let m = member(&sent, &joining).expect("the added student is listed");
    assert!(
        (m["roster_write"]["outbox_id"] == added["id"] && m["roster_write"]["state"] == "done")
            || (m["on_roster"] == true && m["roster_change"].is_null()),
        "{m}"
    );
    if let Some(m) = member(&sent, &leaving) {
        assert_eq!(m["roster_write"]["outbox_id"], removed["id"], "{m}");
        assert_eq!(m["roster_write"]["state"], "done", "{m}");
    }
    let cell = &member(&sent, &graded).unwrap()["grades"][0];
    assert_eq!(
        cell["grade"], new_grade,
        "the cached grade follows what Matrix took"
    );
}
