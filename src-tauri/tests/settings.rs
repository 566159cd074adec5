//! Settings and first run through Tauri's IPC on the mock runtime: the app's real config,
//! capabilities and setup over a real encrypted cache (its key in the keychain: run under
//! `scripts/with-keyring.sh` on Linux), and the simulators on 127.0.0.1 for the systems'
//! answers. Unlike the other suites the app starts as a new install does: first run, no
//! demo until it is chosen.

// The demo test is left out of a lean build (`--no-default-features`); its imports idle.
#![cfg_attr(not(feature = "demo"), allow(dead_code, unused_imports))]

use std::path::Path;
use std::time::{Duration, Instant};

use chrono::{NaiveDate, Utc};
mod common;
use common::invoke;
use schooldesk_app::ipc::WIPE_PHRASE;
use schooldesk_app::DEMO_CHOSEN_FILE;
use schooldesk_cache::{Cache, Keychain, NewAttendance};
use schooldesk_connectors::Connection;
use schooldesk_domain::{AttendanceStatus, Source, Student, System};
use schooldesk_sim::{SimConfig, Simulators};
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::WebviewWindow;
use uuid::Uuid;

/// The app as a new install starts it: no `SCHOOLDESK_DEMO`.
fn start(data_dir: &Path) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    common::start_with(common::config(data_dir, false))
}

/// A small simulated district on loopback, kept running by its own runtime.
struct District {
    _runtime: tokio::runtime::Runtime,
    sims: Simulators,
    omniforge_key: String,
}

impl District {
    fn start() -> District {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let config = SimConfig {
            students: 50,
            ..SimConfig::default()
        };
        let omniforge_key = config.omniforge.key().to_string();
        let sims = runtime
            .block_on(Simulators::start(config))
            .expect("the simulators start");
        District {
            _runtime: runtime,
            sims,
            omniforge_key,
        }
    }

    fn omniforge(&self, secret: &str) -> Value {
        json!({"connection": {
            "system": "omniforge",
            "base_url": self.sims.omniforge.base_url,
            "secret": secret,
            "time_zone": "America/Chicago",
        }})
    }
}

fn status(window: &WebviewWindow<MockRuntime>) -> Value {
    invoke(window, "app_status", json!({})).expect("app_status never fails")
}

fn connections(window: &WebviewWindow<MockRuntime>) -> Vec<Value> {
    invoke(window, "list_connections", json!({}))
        .expect("list_connections")
        .as_array()
        .expect("an array")
        .clone()
}

fn omniforge_view(window: &WebviewWindow<MockRuntime>) -> Value {
    connections(window)
        .into_iter()
        .find(|c| c["system"] == "omniforge")
        .expect("every system is listed")
}

fn stored_secret(dir: &Path, system: System) -> Option<String> {
    Keychain::for_data_dir(dir)
        .get_secret(system.as_str())
        .expect("keychain readable")
        .map(|s| s.to_string())
}

#[test]
fn a_new_install_lists_every_system_unconnected_with_its_rate_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());

    let s = status(&window);
    assert_eq!(s["first_run"], true, "{s}");
    assert_eq!(s["demo"], false, "{s}");
    assert!(
        !dir.path().join("demo").exists(),
        "first run must not start the demo before it is chosen"
    );

    let all = connections(&window);
    let systems: Vec<&str> = all.iter().map(|c| c["system"].as_str().unwrap()).collect();
    assert_eq!(systems, ["omniforge", "powerschool", "matrix", "hubmis"]);
    for c in &all {
        assert_eq!(c["connected"], false, "{c}");
        assert_eq!(c["has_secret"], false, "{c}");
        assert!(
            c["rate_limit"].as_str().is_some_and(|r| !r.is_empty()),
            "{c}"
        );
    }
    let by = |id: &str| all.iter().find(|c| c["system"] == id).unwrap();
    assert!(
        by("matrix")["rate_limit"].as_str().unwrap().contains("120"),
        "Matrix's documented ceiling: {}",
        by("matrix")["rate_limit"]
    );
    assert_eq!(by("hubmis")["uses_realm"], true);
    assert_eq!(by("omniforge")["uses_account"], false);

    let location = invoke(&window, "data_location", json!({})).expect("data_location");
    assert_eq!(location["data_dir"], dir.path().display().to_string());
    assert_eq!(location["demo"], false);
    assert!(location["bytes"].as_u64().unwrap() > 0, "{location}");
    let entry = location["keychain_entry"].as_str().unwrap();
    assert!(entry.starts_with("schooldesk/cache-key@"), "{entry}");
    let key = Keychain::for_data_dir(dir.path())
        .get_cache_key()
        .unwrap()
        .expect("the cache has a key");
    assert!(
        !entry.contains(key.to_hex().as_str()),
        "the key itself must not cross"
    );
}

#[test]
fn a_good_connection_tests_ok_saves_only_when_saved_and_can_be_removed() {
    let district = District::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    let input = district.omniforge(&district.omniforge_key);

    let test = invoke(&window, "test_connection", input.clone()).expect("test_connection");
    assert_eq!(test["ok"], true, "{test}");
    assert!(test["error"].is_null(), "{test}");
    let estimate = &test["estimate"];
    assert!(estimate["requests"].as_u64().unwrap() > 0, "{test}");
    assert!(estimate["minutes"].is_u64(), "{test}");
    assert!(
        estimate["text"].as_str().unwrap().contains("OmniForge"),
        "{test}"
    );
    // Tested, not saved.
    assert_eq!(omniforge_view(&window)["connected"], false);
    assert_eq!(stored_secret(dir.path(), System::OmniForge), None);
    assert_eq!(status(&window)["first_run"], true);

    let saved = invoke(&window, "save_connection", input).expect("save_connection");
    assert_eq!(saved["connected"], true, "{saved}");
    assert_eq!(saved["has_secret"], true, "{saved}");
    assert_eq!(saved["time_zone"], "America/Chicago", "{saved}");
    assert_eq!(
        saved["base_url"],
        district.sims.omniforge.base_url.trim_end_matches('/')
    );
    assert_eq!(
        stored_secret(dir.path(), System::OmniForge).as_deref(),
        Some(district.omniforge_key.as_str())
    );
    let listed = invoke(&window, "list_connections", json!({})).unwrap();
    assert!(
        !listed.to_string().contains(&district.omniforge_key),
        "the secret must never cross to the window: {listed}"
    );
    assert_eq!(omniforge_view(&window), saved);
    let s = status(&window);
    assert_eq!(s["first_run"], false, "{s}");
    assert_eq!(s["demo"], false, "{s}");

    // Changing an option keeps the secret when none is typed.
    let change = json!({"connection": {
        "system": "omniforge",
        "base_url": district.sims.omniforge.base_url,
        "time_zone": "Europe/London",
    }});
    let changed = invoke(&window, "save_connection", change).expect("change an option");
    assert_eq!(changed["time_zone"], "Europe/London", "{changed}");
    assert_eq!(changed["has_secret"], true, "{changed}");
    assert_eq!(changed["requests_per_minute"], Value::Null, "{changed}");

    // A gentler pace for this school's server, then back to the system's own limit.
    let slower = json!({"connection": {
        "system": "omniforge",
        "base_url": district.sims.omniforge.base_url,
        "requests_per_minute": 20,
    }});
    let slowed = invoke(&window, "save_connection", slower).expect("a slower pace");
    assert_eq!(slowed["requests_per_minute"], 20, "{slowed}");
    assert!(
        slowed["rate_limit"]
            .as_str()
            .unwrap()
            .contains("20 requests"),
        "{slowed}"
    );
    assert_eq!(slowed["time_zone"], "Europe/London", "kept: {slowed}");
    let own = json!({"connection": {
        "system": "omniforge",
        "base_url": district.sims.omniforge.base_url,
        "requests_per_minute": 0,
    }});
    let back = invoke(&window, "save_connection", own).expect("the system's own pace");
    assert_eq!(back["requests_per_minute"], Value::Null, "{back}");
    assert_eq!(back["rate_limit"], changed["rate_limit"], "{back}");

    // The demo is for before a school is connected.
    #[cfg(feature = "demo")]
    {
        let err = invoke(&window, "choose_demo", json!({})).expect_err("connected already");
        assert_eq!(err["code"], "shell.connected", "{err}");
    }

    invoke(&window, "remove_connection", json!({"system": "omniforge"})).expect("remove");
    assert_eq!(omniforge_view(&window)["connected"], false);
    assert_eq!(stored_secret(dir.path(), System::OmniForge), None);
    assert_eq!(status(&window)["first_run"], true);
    let err = invoke(&window, "remove_connection", json!({"system": "omniforge"}))
        .expect_err("nothing left to remove");
    assert_eq!(err["code"], "shell.not_connected", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("OmniForge"),
        "{err}"
    );
}

#[test]
fn a_wrong_secret_is_a_sentence_and_nothing_is_saved() {
    let district = District::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    let input = district.omniforge("not-the-key");

    let test = invoke(&window, "test_connection", input.clone()).expect("an answer");
    assert_eq!(test["ok"], false, "{test}");
    assert!(test["estimate"].is_null(), "{test}");
    let code = test["error"]["code"].as_str().expect("a code");
    assert!(code.starts_with("connector."), "{test}");
    let message = test["message"].as_str().unwrap();
    assert!(!message.is_empty() && message.ends_with('.'), "{message}");

    let err = invoke(&window, "save_connection", input).expect_err("refused");
    assert_eq!(err["code"], code, "{err}");
    assert!(!err["message"].as_str().unwrap().is_empty(), "{err}");
    assert_eq!(omniforge_view(&window)["connected"], false);
    assert_eq!(stored_secret(dir.path(), System::OmniForge), None);
    assert_eq!(status(&window)["first_run"], true);
}

#[test]
fn bad_input_is_refused_with_a_sentence_before_any_request() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    // Nothing listens here: a request would fail as "offline", not as bad input.
    let base = "http://127.0.0.1:9";
    let cases = [
        (
            json!({"system": "omniforge", "base_url": base, "secret": "k", "time_zone": "Mars/Olympus"}),
            "Mars/Olympus",
        ),
        (
            json!({"system": "hubmis", "base_url": base, "secret": "k", "account": "client"}),
            "realm",
        ),
        (
            json!({"system": "omniforge", "base_url": base, "secret": "k", "account": "me"}),
            "leave the account",
        ),
        (
            json!({"system": "omniforge", "base_url": base, "secret": "  "}),
            "API key",
        ),
        (
            json!({"system": "omniforge", "base_url": base, "secret": "line\nbreak"}),
            "line break",
        ),
        (
            json!({"system": "omniforge", "base_url": " ", "secret": "k"}),
            "address",
        ),
        (
            json!({"system": "omniforge", "base_url": base, "secret": "k", "requests_per_minute": 100000}),
            "smaller number",
        ),
    ];
    for (connection, words) in cases {
        for command in ["test_connection", "save_connection"] {
            let err = invoke(&window, command, json!({"connection": connection.clone()}))
                .expect_err("bad input is refused");
            assert_eq!(
                err["code"], "desk.invalid_input",
                "{command} {connection}: {err}"
            );
            let message = err["message"].as_str().unwrap();
            assert!(message.contains(words), "{command}: {message}");
            assert!(
                message.contains("Nothing was saved"),
                "{command}: {message}"
            );
        }
    }
    // Plain http to another computer is refused by the connector's own check.
    let err = invoke(
        &window,
        "test_connection",
        json!({"connection": {"system": "matrix", "base_url": "http://sis.example.org", "secret": "k"}}),
    )
    .expect_err("insecure");
    assert!(
        err["code"].as_str().unwrap().starts_with("connector."),
        "{err}"
    );
    // An unknown system never reaches the command.
    assert!(invoke(&window, "remove_connection", json!({"system": "gradebook"})).is_err());
    assert!(connections(&window).iter().all(|c| c["connected"] == false));
}

#[test]
fn wiping_needs_the_phrase_says_what_would_be_lost_and_deletes_the_file_and_key() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        // A connected system (nothing listens there) and two marks not yet sent.
        let desk = Desk::open(dir.path()).expect("open");
        desk.connect(
            &Connection::new(System::OmniForge, "http://127.0.0.1:9"),
            "key",
            Utc::now(),
        )
        .expect("connect");
        let students: Vec<Student> = ["s1", "s2"]
            .into_iter()
            .map(|id| Student {
                source: Source::new(System::OmniForge, id, Utc::now(), json!({"id": id})),
                external_id: None,
                given_name: "Ana".into(),
                family_name: id.into(),
                preferred_name: None,
                date_of_birth: None,
                grade: None,
                school_source_id: None,
                homeroom: None,
                active: true,
            })
            .collect();
        desk.cache()
            .with_transaction(|tx| tx.upsert_students(&students))
            .expect("students");
        for (n, student) in ["s1", "s2"].into_iter().enumerate() {
            desk.cache()
                .record_attendance(
                    &NewAttendance {
                        system: System::OmniForge,
                        student_source_id: student.into(),
                        section_source_id: None,
                        period: None,
                        date: NaiveDate::from_ymd_opt(2025, 9, 3).unwrap(),
                        status: AttendanceStatus::Absent,
                        code: None,
                        note: None,
                        minutes_late: None,
                    },
                    Utc::now(),
                    Uuid::from_u128(n as u128 + 1),
                )
                .expect("queued");
        }
    }
    let (_app, window) = start(dir.path());
    assert_eq!(status(&window)["first_run"], false);
    let db = Cache::db_path(dir.path());

    for wrong in ["", "delete", "DELETE EVERYTHING", "wipe"] {
        let err = invoke(&window, "wipe_cache", json!({"confirm": wrong})).expect_err("refused");
        assert_eq!(err["code"], "shell.wipe_unconfirmed", "{err}");
        let message = err["message"].as_str().unwrap();
        assert!(message.starts_with("2 write(s) not yet sent"), "{message}");
        assert!(message.contains(WIPE_PHRASE), "{message}");
    }
    assert!(db.exists(), "a refused wipe deletes nothing");
    assert_eq!(
        Desk::open(dir.path()).unwrap().outbox(None).unwrap().len(),
        2,
        "the writes are still there"
    );

    invoke(&window, "wipe_cache", json!({"confirm": WIPE_PHRASE})).expect("wiped");
    assert!(!db.exists(), "the cache file is gone");
    let keychain = Keychain::for_data_dir(dir.path());
    assert!(
        keychain.get_cache_key().unwrap().is_none(),
        "its key is gone"
    );
    assert_eq!(stored_secret(dir.path(), System::OmniForge), None);
    let s = status(&window);
    assert_eq!(s["first_run"], true, "{s}");
    assert_eq!(s["demo"], false, "{s}");
    // First run again: listing what is connected does not make a new cache.
    assert!(connections(&window).iter().all(|c| c["connected"] == false));
    let location = invoke(&window, "data_location", json!({})).unwrap();
    assert_eq!(location["bytes"], 0, "{location}");
    assert!(!db.exists());
    let err = invoke(&window, "list_people", json!({})).expect_err("nothing to read");
    assert_eq!(err["code"], "shell.first_run", "{err}");
}

/// Polls `app_status` until the demo's first sync has left `starting`.
#[cfg(feature = "demo")]
fn settled(window: &WebviewWindow<MockRuntime>) -> Value {
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let s = status(window);
        if s["sync"]["state"] != "starting" {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "the demo never finished starting: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[cfg(feature = "demo")]
#[test]
fn the_demo_starts_only_when_chosen_and_the_choice_is_remembered() {
    let dir = tempfile::tempdir().expect("temp dir");
    {
        let (_app, window) = start(dir.path());
        assert_eq!(status(&window)["first_run"], true);
        let chosen = invoke(&window, "choose_demo", json!({})).expect("choose_demo");
        assert_eq!(chosen["demo"], true, "{chosen}");
        assert_eq!(chosen["first_run"], false, "{chosen}");
        assert!(dir.path().join(DEMO_CHOSEN_FILE).is_file());
        let s = settled(&window);
        assert_eq!(s["sync"]["state"], "ready", "{s}");
        let people = invoke(&window, "list_people", json!({})).expect("the demo's children");
        assert!(
            people.to_string().contains("omniforge"),
            "the demo synced nothing"
        );
        let location = invoke(&window, "data_location", json!({})).unwrap();
        assert_eq!(location["demo"], true, "{location}");
        // Settings still shows the school's own connections: none.
        assert!(connections(&window).iter().all(|c| c["connected"] == false));
        // Choosing again changes nothing.
        assert_eq!(
            invoke(&window, "choose_demo", json!({})).unwrap()["demo"],
            true
        );
    }
    let (_app, window) = start(dir.path());
    let s = status(&window);
    assert_eq!(
        s["demo"], true,
        "the next start goes straight to the demo: {s}"
    );
    assert_eq!(s["first_run"], false, "{s}");
    settled(&window);

    // Connecting a school leaves the demo for the school's own desk, for good.
    let district = District::start();
    let saved = invoke(
        &window,
        "save_connection",
        district.omniforge(&district.omniforge_key),
    )
    .expect("save_connection");
    assert_eq!(saved["connected"], true, "{saved}");
    let s = status(&window);
    assert_eq!(s["demo"], false, "{s}");
    assert_eq!(s["first_run"], false, "{s}");
    assert!(!dir.path().join(DEMO_CHOSEN_FILE).exists());
    let location = invoke(&window, "data_location", json!({})).unwrap();
    assert_eq!(location["demo"], false, "{location}");
    assert_eq!(location["data_dir"], dir.path().display().to_string());
}

/// A lean build has no demo district: first run offers connecting only.
#[cfg(not(feature = "demo"))]
#[test]
fn a_lean_build_refuses_the_demo_and_stays_in_first_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    let err = invoke(&window, "choose_demo", json!({})).expect_err("no demo here");
    assert_eq!(err["code"], "shell.no_demo", "{err}");
    let s = status(&window);
    assert_eq!(s["first_run"], true, "{s}");
    assert!(!dir.path().join("demo").exists());
    assert!(!dir.path().join(DEMO_CHOSEN_FILE).exists());
}
