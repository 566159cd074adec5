//! Outbox crash safety: a separate `schooldesk outbox replay` process is killed with SIGKILL
//! at random moments over many cycles while it sends to the OmniForge simulator on loopback;
//! then a last replay finishes. Every write must reach the server exactly once, in order per
//! mark, and none may be lost.

mod common;
use common::*;

use chrono::Utc;
use rand::{Rng, SeedableRng};
use schooldesk_sim::SystemKind;
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

const CYCLES: usize = 60;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_killed_at_random_applies_every_write_exactly_once() {
    let (sims, config) = omniforge_without_ceiling(60).await;
    let sd = Sd::new();
    let key = config.omniforge.key().to_string();
    let base = sims.omniforge.base_url.clone();

    let sd_ref = &sd;
    blocking(move || {
        sd_ref.ok(
            &[
                "connect",
                "omniforge",
                "--base-url",
                &base,
                "--requests-per-minute",
                "100000",
            ],
            Some(&key),
        );
        sd_ref.ok(&["sync", "omniforge"], None);
    })
    .await;

    // 40 marks, and a second change to 10 of them: 50 writes, two per mark for those 10.
    let students = sd.json(&["students", "--limit", "40"]);
    let ids: Vec<String> = students
        .as_array()
        .expect("student list")
        .iter()
        .filter(|s| s["source"]["system"] == "omniforge")
        .map(|s| s["source"]["source_id"].as_str().expect("id").to_string())
        .collect();
    assert!(
        ids.len() >= 40,
        "the sync cached too few students: {}",
        ids.len()
    );
    let date = Utc::now().date_naive().to_string();
    for id in &ids[..40] {
        sd.ok(
            &[
                "attendance",
                "mark",
                "--student",
                id,
                "--date",
                &date,
                "--status",
                "absent",
            ],
            None,
        );
    }
    for id in &ids[..10] {
        sd.ok(
            &[
                "attendance",
                "mark",
                "--student",
                id,
                "--date",
                &date,
                "--status",
                "tardy",
            ],
            None,
        );
    }
    let queued = sd.json(&["outbox", "list"]);
    let keys: Vec<String> = queued
        .as_array()
        .expect("outbox")
        .iter()
        .map(|e| e["idempotency_key"].as_str().expect("key").to_string())
        .collect();
    assert_eq!(keys.len(), 50);

    // Slow answers make the kills land in the middle of sends as well as between them.
    sims.shared.faults.set_latency(Duration::from_millis(15));
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    for _ in 0..CYCLES {
        let mut child = sd
            .command()
            .args(["outbox", "replay"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start replay");
        tokio::time::sleep(Duration::from_millis(rng.gen_range(0..250))).await;
        child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
        child.wait().expect("reap");
    }
    sims.shared.faults.set_latency(Duration::ZERO);

    // The last run finishes what is left.
    let sd_ref = &sd;
    blocking(move || sd_ref.ok(&["outbox", "replay"], None)).await;

    let entries = sd.json(&["outbox", "list"]);
    for e in entries.as_array().expect("outbox") {
        assert_eq!(e["state"], "done", "not done: {e}");
    }

    // Exactly once at the server: each idempotency key applied once, none missing.
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    for w in sims.shared.recorder.writes_for(SystemKind::OmniForge) {
        if w.kind.starts_with("attendance.") {
            *applied
                .entry(w.key.clone().expect("idempotency key"))
                .or_default() += 1;
        }
    }
    for k in &keys {
        assert_eq!(
            applied.get(k),
            Some(&1),
            "write {k} applied {:?} times",
            applied.get(k)
        );
    }
    assert_eq!(
        applied.len(),
        keys.len(),
        "the server applied writes nobody queued"
    );

    // In order per mark: the later change wins.
    let day = chrono::NaiveDate::parse_from_str(&date, "%Y-%m-%d").expect("date");
    for (i, id) in ids[..40].iter().enumerate() {
        let mark = sims
            .omniforge_admin
            .mark(id, None, None, day)
            .expect("server mark");
        let expected = if i < 10 { "tardy" } else { "absent" };
        assert_eq!(mark.status, expected, "student {id}");
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send) -> T {
    // The CLI runs as a separate process; wait for it without blocking the simulators.
    tokio::task::block_in_place(f)
}
