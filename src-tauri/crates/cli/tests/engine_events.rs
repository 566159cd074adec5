//! The app and the CLI on one cache: a mark taken with the `schooldesk` command reaches the
//! engine the app runs as a change event from another process, with no polling by the UI.

mod common;
use common::*;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use schooldesk_domain::Origin;
use schooldesk_sync::{Desk, DeskEvent, Engine, Schedule};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mark_taken_with_the_cli_reaches_the_apps_subscribers() {
    let sd = Sd::new();
    let students = tokio::task::block_in_place(|| {
        sd.ok(&["demo", "--students", "50"], None);
        sd.json(&["--demo", "students"])
    });
    let id = students
        .as_array()
        .expect("students")
        .iter()
        .find(|s| s["source"]["system"] == "omniforge")
        .and_then(|s| s["source"]["source_id"].as_str())
        .expect("an OmniForge student")
        .to_string();

    let desk = Desk::open_demo(&sd.data_dir()).expect("the app's handle on the demo profile");
    let engine = Engine::start(
        desk,
        Schedule {
            tick: Duration::from_millis(50),
            other_process_every: Duration::from_millis(100),
            sync_at_start: false,
            ..Schedule::default()
        },
        Arc::new(Utc::now),
    );
    let mut events = engine.subscribe();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let date = Utc::now().date_naive().to_string();
    // The id as the read commands print it.
    let qualified = format!("omniforge:{id}");
    tokio::task::block_in_place(|| {
        sd.ok(
            &[
                "--demo",
                "attendance",
                "mark",
                "--student",
                &qualified,
                "--date",
                &date,
                "--status",
                "absent",
            ],
            None,
        )
    });

    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .expect("the CLI's mark was never noticed")
            .expect("engine running");
        if let DeskEvent::Changed(c) = event {
            if c.origins.contains(&Origin::OtherProcess) {
                assert!(c.touches("outbox") && c.touches("attendance_marks"));
                break;
            }
        }
    }
    engine.shutdown().await;
}
