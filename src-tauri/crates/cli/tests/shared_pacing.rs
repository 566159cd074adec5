//! Several `schooldesk` processes on one data folder share each system's limit: together they
//! never send more than the system allows, and the check made by `connect` counts against the
//! `sync` that follows. Real binaries, real simulators on 127.0.0.1 with their documented
//! limits, real time. Each scenario runs for a bounded stretch and is then stopped: the
//! simulators' request record is what is judged, not how long anything took.

mod common;

use common::*;
use schooldesk_sim::{SimConfig, Simulators, SystemKind};
use std::process::{Child, Stdio};
use std::time::Duration;

/// Most requests the record holds in any 60 seconds, counted as Matrix counts them (a call
/// at `t` falls out of the window at `t + 60 s`).
fn busiest_minute(sims: &Simulators, system: SystemKind) -> usize {
    let mut at: Vec<_> = sims
        .shared
        .recorder
        .requests_for(system)
        .iter()
        .map(|r| r.at)
        .collect();
    at.sort();
    (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| **t - at[i] < chrono::Duration::seconds(60))
                .count()
        })
        .max()
        .unwrap_or(0)
}

fn spawn(sd: &Sd, args: &[&str]) -> Child {
    sd.command()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start schooldesk")
}

/// Lets `children` work for `stretch`, then stops those still running. A process that ended
/// by itself must have succeeded.
fn run_for(stretch: Duration, children: Vec<Child>) {
    std::thread::sleep(stretch);
    for mut child in children {
        match child.try_wait().expect("child status") {
            Some(status) => {
                let out = child.wait_with_output().expect("output");
                assert!(
                    status.success(),
                    "a sync failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => {
                child.kill().expect("stop the sync");
                let _ = child.wait();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_matrix_syncs_at_once_never_trip_the_lockout() {
    // Matrix as documented: over 120 calls in a minute disables the key for a minute.
    let config = SimConfig {
        students: 50,
        ..SimConfig::default()
    };
    assert_eq!(config.matrix.calls_per_minute, 120);
    let sims = Simulators::start(config.clone()).await.expect("simulators");
    let sd = Sd::new();
    let base = sims.matrix.base_url.clone();
    let key = config.matrix.api_key.clone();
    tokio::task::block_in_place(|| {
        // The check made by `connect` is one call of the 120 too.
        sd.ok(
            &[
                "connect",
                "matrix",
                "--base-url",
                &base,
                "--requests-per-minute",
                "120",
            ],
            Some(&key),
        );
        // Each sync alone needs far more than 120 calls: both push against the limit from
        // the first second. Two full windows and a bit are enough to judge.
        let a = spawn(&sd, &["sync", "matrix"]);
        let b = spawn(&sd, &["sync", "matrix"]);
        run_for(Duration::from_secs(130), vec![a, b]);
    });
    let reqs = sims.shared.recorder.requests_for(SystemKind::Matrix);
    let refused: Vec<_> = reqs.iter().filter(|r| r.status != 200).collect();
    assert!(refused.is_empty(), "refused calls: {refused:?}");
    assert!(sims.matrix_admin.disabled_until().is_none(), "key disabled");
    let busiest = busiest_minute(&sims, SystemKind::Matrix);
    assert!(busiest <= 120, "{busiest} calls within one minute");
    // The limit was really pressed on: more than one window's worth went out.
    assert!(reqs.len() > 150, "only {} calls were made", reqs.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_check_counts_against_the_sync_that_follows() {
    // OmniForge issues each key with its own ceiling (fixed one-minute windows); this key has
    // 10, so a small district's first sync needs several minutes' worth.
    let config = SimConfig {
        students: 50,
        ..SimConfig::default()
    };
    let sims = Simulators::start(config.clone()).await.expect("simulators");
    let key = config.omniforge.key().to_string();
    assert!(sims.omniforge_admin.set_rate_limit(&key, Some(10)));
    let sd = Sd::new();
    let base = sims.omniforge.base_url.clone();
    tokio::task::block_in_place(|| {
        sd.ok(
            &[
                "connect",
                "omniforge",
                "--base-url",
                &base,
                "--requests-per-minute",
                "10",
            ],
            Some(&key),
        );
        let sync = spawn(&sd, &["sync", "omniforge"]);
        // Into the second minute: the first held the check and a full burst.
        run_for(Duration::from_secs(75), vec![sync]);
    });
    let reqs = sims.shared.recorder.requests_for(SystemKind::OmniForge);
    let limited = reqs.iter().filter(|r| r.status == 429).count();
    assert_eq!(limited, 0, "{limited} answers were 429");
    let busiest = busiest_minute(&sims, SystemKind::OmniForge);
    assert!(busiest <= 10, "{busiest} requests within one minute");
    assert!(reqs.len() > 10, "only {} requests were made", reqs.len());
}
