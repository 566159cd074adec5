//! A mass removal through the real binary: held by the guardrail, shown by `status`,
//! removed only after `sync --confirm-removals`.

mod common;
use common::*;

use schooldesk_sim::Simulators;
use schooldesk_sync::demo::{demo_sim_config, DemoOptions};

fn held_for_powerschool(status: &serde_json::Value) -> u64 {
    status["systems"]
        .as_array()
        .expect("systems")
        .iter()
        .find(|s| s["id"] == "powerschool")
        .and_then(|s| s["held_removals"].as_u64())
        .unwrap_or_else(|| panic!("no PowerSchool row: {status}"))
}

fn records(sd: &Sd) -> u64 {
    sd.json(&["status"])["counts"]["enrollment_records"]["powerschool"]
        .as_u64()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_removal_waits_for_sync_confirm_removals() {
    let config = demo_sim_config(&DemoOptions {
        seed: 8,
        students: 200,
    });
    let sims = Simulators::start(config.clone()).await.expect("simulators");
    let sd = Sd::new();
    tokio::task::block_in_place(|| {
        sd.ok(
            &[
                "connect",
                "powerschool",
                "--base-url",
                &sims.powerschool.base_url,
            ],
            Some(&config.powerschool.api_key),
        );
        sd.ok(&["sync"], None);
    });
    let before = tokio::task::block_in_place(|| records(&sd));

    let gone: Vec<String> = sims
        .district
        .students
        .iter()
        .take(60)
        .map(|s| s.external_id.clone())
        .collect();
    assert_eq!(sims.powerschool_admin.withdraw(&gone), 60);

    tokio::task::block_in_place(|| {
        let out = sd.ok(&["sync"], None);
        assert!(
            out.contains("--confirm-removals"),
            "the summary says what to do: {out}"
        );
        assert_eq!(records(&sd), before, "held, not removed");
        let status = sd.json(&["status"]);
        assert_eq!(held_for_powerschool(&status), 60, "{status}");
        let human = sd.ok(&["status"], None);
        assert!(human.contains("60 removal(s) held"), "{human}");

        sd.ok(&["sync", "--confirm-removals"], None);
        assert_eq!(records(&sd), before - 60);
        assert_eq!(held_for_powerschool(&sd.json(&["status"])), 0);
    });
}
