//! Whole flows through the real binary against the simulators on loopback: the demo, a
//! HUBmis register kept locally and exported, a conflict surfaced, and secrets kept out of
//! every log line.

mod common;
use common::*;

use chrono::Utc;
use schooldesk_cache::Keychain;
use schooldesk_sim::SimConfig;

#[test]
fn demo_fills_the_cache_from_all_four_systems() {
    let sd = Sd::new();
    let out = sd.ok(&["demo", "--students", "120"], None);
    for name in [
        "OmniForge SIS",
        "PowerSchool Enrollment",
        "Matrix LMS",
        "WCBS HUBmis",
    ] {
        assert!(out.contains(name), "demo output lacks {name}: {out}");
    }
    // The demo has its own profile: the real one stays empty.
    let real = sd.json(&["status"]);
    assert_eq!(
        real["connections"].as_array().map(Vec::len),
        Some(0),
        "{real}"
    );
    let status = sd.json(&["--demo", "status"]);
    let students = &status["counts"]["students"];
    for system in ["omniforge", "matrix", "hubmis"] {
        assert_eq!(students[system], 120, "students from {system}: {status}");
    }
    assert!(status["counts"]["enrollment_records"]["powerschool"].as_u64() > Some(0));
    assert_eq!(status["connections"].as_array().map(Vec::len), Some(4));

    // The same child is found by name search in every system that has them.
    let one = sd.json(&["--demo", "students", "--limit", "1"]);
    let family = one[0]["family_name"].as_str().expect("name").to_string();
    let found = sd.json(&["--demo", "students", "--search", &family]);
    assert!(found.as_array().is_some_and(|a| !a.is_empty()));
}

#[test]
fn hubmis_marks_are_kept_locally_and_exported_as_a_register() {
    let sd = Sd::new();
    sd.ok(&["demo", "--students", "60"], None);
    let students = sd.json(&["--demo", "students", "--limit", "500"]);
    let hub = students
        .as_array()
        .expect("students")
        .iter()
        .find(|s| s["source"]["system"] == "hubmis")
        .expect("a HUBmis student");
    let id = hub["source"]["source_id"].as_str().expect("id");
    let date = Utc::now().date_naive().to_string();
    let out = sd.ok(
        &[
            "--demo",
            "attendance",
            "mark",
            "--student",
            id,
            "--date",
            &date,
            "--status",
            "tardy",
            "--period",
            "am",
        ],
        None,
    );
    assert!(
        out.contains("register") && out.contains("cannot be sent"),
        "the person is told plainly how HUBmis marks are kept: {out}"
    );
    let outbox = sd.json(&["--demo", "outbox", "list"]);
    assert_eq!(
        outbox.as_array().map(Vec::len),
        Some(0),
        "HUBmis is read-only: nothing queued"
    );

    let csv_path = sd.dir.path().join("register.csv");
    sd.ok(
        &[
            "--demo",
            "export",
            "register",
            "--date",
            &date,
            "--out",
            csv_path.to_str().expect("path"),
        ],
        None,
    );
    let csv = std::fs::read_to_string(&csv_path).expect("register file");
    let line = csv
        .lines()
        .find(|l| l.contains(id))
        .expect("the mark is in the register");
    assert!(
        line.contains("tardy") && line.contains("local_only"),
        "{line}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mark_changed_on_the_server_meanwhile_becomes_a_conflict() {
    let (sims, config) = omniforge_without_ceiling(60).await;
    let sd = Sd::new();
    let base = sims.omniforge.base_url.clone();
    let key = config.omniforge.key().to_string();
    let day = Utc::now().date_naive();
    let date = day.to_string();
    let sd_ref = &sd;
    let id = tokio::task::block_in_place(|| {
        sd_ref.ok(
            &[
                "connect",
                "omniforge",
                "--base-url",
                &base,
                "--requests-per-minute",
                "6000",
            ],
            Some(&key),
        );
        sd_ref.ok(&["sync", "omniforge"], None);
        let students = sd_ref.json(&["students", "--limit", "1"]);
        let id = students[0]["source"]["source_id"]
            .as_str()
            .expect("id")
            .to_string();
        // First write reaches the server: the cache learns its version.
        sd_ref.ok(
            &[
                "attendance",
                "mark",
                "--student",
                &id,
                "--date",
                &date,
                "--status",
                "absent",
            ],
            None,
        );
        sd_ref.ok(&["outbox", "replay"], None);
        id
    });
    // Another clerk changes the same mark on the server.
    sims.omniforge_admin
        .change_mark(&id, None, None, day, "present");
    tokio::task::block_in_place(|| {
        sd_ref.ok(
            &[
                "attendance",
                "mark",
                "--student",
                &id,
                "--date",
                &date,
                "--status",
                "excused",
            ],
            None,
        );
        sd_ref.ok(&["outbox", "replay"], None);
    });
    let conflicts = sd.json(&["outbox", "list", "--state", "conflict"]);
    assert_eq!(conflicts.as_array().map(Vec::len), Some(1), "{conflicts}");
    let marks = sd.json(&["attendance", "list", "--date", &date]);
    let mark = marks
        .as_array()
        .expect("marks")
        .iter()
        .find(|m| m["student_source_id"] == id.as_str())
        .expect("the mark");
    assert_eq!(mark["state"], "conflict");
    // The server kept the other clerk's value: nothing overwritten blindly.
    let server = sims
        .omniforge_admin
        .mark(&id, None, None, day)
        .expect("server mark");
    assert_eq!(server.status, "present");
}

#[test]
fn secrets_and_the_cache_key_never_reach_the_logs() {
    let sd = Sd::new();
    let config = SimConfig::default();
    let secrets = [
        config.omniforge.key().to_string(),
        config.powerschool.api_key.clone(),
        config.matrix.api_key.clone(),
        config.hubmis.client_secret.clone(),
    ];
    let mut logs = Vec::new();
    for args in [
        &["demo", "--students", "60"][..],
        &["--demo", "sync"][..],
        &["--demo", "outbox", "replay"][..],
        &["--demo", "status"][..],
    ] {
        let mut c = sd.command();
        c.args(args).env("SCHOOLDESK_LOG", "trace");
        let out = c.output().expect("run");
        logs.extend(out.stdout);
        logs.extend(out.stderr);
    }
    assert!(
        contains(&logs, b"DEBUG") || contains(&logs, b"TRACE"),
        "tracing was not on"
    );
    for s in &secrets {
        assert!(!contains(&logs, s.as_bytes()), "a secret reached the logs");
    }
    let key = Keychain::for_data_dir(&sd.data_dir().join("demo"))
        .get_cache_key()
        .expect("keychain")
        .expect("the cache key");
    assert!(
        !contains(&logs, key.to_hex().as_bytes()),
        "the cache key reached the logs"
    );
    for (path, bytes) in files_under(&sd.data_dir()) {
        assert!(
            !contains(&bytes, key.to_hex().as_bytes()),
            "key in {}",
            path.display()
        );
        assert!(
            !contains(&bytes, key.as_bytes()),
            "raw key in {}",
            path.display()
        );
    }
}
