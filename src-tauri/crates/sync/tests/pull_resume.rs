//! Interruptions: the network going away mid-sync, a cancel, a HUBmis token dying mid-sync.
//! The next sync resumes where the last one stopped, and no row is stored twice.

mod pull_support;

use pull_support::*;
use schooldesk_domain::System;
use schooldesk_sim::SystemKind;
use schooldesk_sync::pull::{sync_system, Progress, SyncContext, SyncMode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn on_progress(f: impl Fn(&Progress) + Send + Sync + 'static) -> SyncContext {
    SyncContext {
        progress: Some(Arc::new(f)),
        ..SyncContext::default()
    }
}

/// Successful requests to `fragment` with `query_part` in their query.
fn served(
    sims: &schooldesk_sim::Simulators,
    system: System,
    fragment: &str,
    query_part: &str,
) -> usize {
    sims.shared
        .recorder
        .requests_for(kind(system))
        .iter()
        .filter(|r| r.status == 200 && r.path.contains(fragment) && r.query.contains(query_part))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn going_offline_mid_sync_then_resuming_stores_every_row_once() {
    let sims = start(700).await;
    let t = cache();
    let (connector, connection) = pair(&sims, System::OmniForge);
    // The network drops once two pages of students are stored.
    let faults = sims.shared.faults.clone();
    let ctx = on_progress(move |p| {
        if p.phase == "students" && p.rows >= 400 + 2 {
            faults.set_offline(true);
        }
    });
    let first = sync_system(&t.cache, &connector, &connection, SyncMode::Full, &ctx).await;
    assert!(!first.completed);
    let problem = first.error.clone().expect("stopped by the network");
    assert_eq!(problem.code, "connector.offline", "{problem:?}");
    assert!(problem.retryable);
    assert!(
        problem.message.contains("internet connection"),
        "{}",
        problem.message
    );
    let stored = count(&t.cache, "students", System::OmniForge);
    assert_eq!(
        stored, 400,
        "the two pages before the drop, and nothing of the page after"
    );

    sims.shared.faults.set_offline(false);
    let second = sync_system(
        &t.cache,
        &connector,
        &connection,
        SyncMode::Full,
        &SyncContext::default(),
    )
    .await;
    assert!(second.completed, "{second:?}");
    assert!(second.resumed);
    assert_eq!(count(&t.cache, "students", System::OmniForge), 700);
    let d = &sims.district;
    assert_eq!(
        count(&t.cache, "guardians", System::OmniForge),
        d.guardians.len() as u64
    );
    let links: usize = d.students.iter().map(|s| s.guardians.len()).sum();
    assert_eq!(
        count(&t.cache, "student_guardians", System::OmniForge),
        links as u64
    );
    // The resumed run did not start the student list again: 4 pages served in all.
    assert_eq!(
        served(&sims, System::OmniForge, "/persons", "personType=STUDENT"),
        4
    );
    assert_eq!(
        served(&sims, System::OmniForge, "/guardians", ""),
        700,
        "one guardian call per student, none repeated"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_sync_resumes_where_it_stopped() {
    let sims = start(200).await;
    let t = cache();
    let (connector, connection) = pair(&sims, System::Matrix);
    let ctx = SyncContext::default();
    let cancel = ctx.cancel.clone();
    let ctx = SyncContext {
        progress: Some(Arc::new(move |p: &Progress| {
            if p.phase == "class rosters" && p.rows > 1500 {
                cancel.cancel();
            }
        })),
        ..ctx
    };
    let first = sync_system(&t.cache, &connector, &connection, SyncMode::Full, &ctx).await;
    assert!(first.cancelled && !first.completed, "{first:?}");
    assert!(first.error.is_none());
    let rosters_done = served(&sims, System::Matrix, "get_students_for_class", "");
    assert!(rosters_done > 0);

    let second = sync_system(
        &t.cache,
        &connector,
        &connection,
        SyncMode::Full,
        &SyncContext::default(),
    )
    .await;
    assert!(second.completed && second.resumed, "{second:?}");
    let classes = sims.matrix_admin.class_ids().len();
    // At most the one class in flight when cancelled is asked twice.
    let rosters = served(&sims, System::Matrix, "get_students_for_class", "");
    assert!(
        rosters == classes || rosters == classes + 1,
        "{rosters} for {classes} classes"
    );
    assert_eq!(served(&sims, System::Matrix, "get_all_users", ""), 5);
    let d = &sims.district;
    let roster_rows: usize = d
        .sections
        .iter()
        .filter(|s| !s.is_homeroom)
        .map(|s| s.students.len())
        .sum();
    assert_eq!(
        count(&t.cache, "enrollments", System::Matrix),
        roster_rows as u64
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubmis_token_expiring_mid_sync_is_renewed_and_the_sync_completes() {
    let sims = start(400).await;
    let t = cache();
    let (connector, connection) = pair(&sims, System::Hubmis);
    // Sixteen minutes pass (a long pause) once the students are in.
    let clock = sims.shared.clock.clone();
    let once = AtomicBool::new(false);
    let ctx = on_progress(move |p| {
        if p.phase == "students" && !once.swap(true, Ordering::SeqCst) {
            clock.advance(Duration::from_secs(16 * 60));
        }
    });
    let s = sync_system(&t.cache, &connector, &connection, SyncMode::Full, &ctx).await;
    assert!(s.completed, "{s:?}");
    assert!(sims.hubmis_admin.tokens_issued() >= 2);
    assert!(
        !statuses(&sims, System::Hubmis).contains(&401),
        "renewed before it died"
    );

    // And when the server kills tokens early: one 401, a new token, the same request again.
    let t2 = cache();
    sims.shared.recorder.clear();
    let admin = sims.hubmis_admin.clone();
    let once = AtomicBool::new(false);
    let ctx = on_progress(move |p| {
        if p.phase == "contacts" && !once.swap(true, Ordering::SeqCst) {
            admin.expire_tokens();
        }
    });
    let issued = sims.hubmis_admin.tokens_issued();
    let (connector, connection) = pair(&sims, System::Hubmis);
    let s = sync_system(&t2.cache, &connector, &connection, SyncMode::Full, &ctx).await;
    assert!(s.completed, "{s:?}");
    let seen = statuses(&sims, System::Hubmis);
    assert_eq!(seen.iter().filter(|x| **x == 401).count(), 1, "{seen:?}");
    // The first token, the one after the 401, and one a quarter hour for a sync that now reads
    // each pupil's register and contacts (over an hour at 12 requests a minute).
    assert!(sims.hubmis_admin.tokens_issued() >= issued + 2);
    assert_eq!(count(&t2.cache, "students", System::Hubmis), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_reports_rows_requests_and_what_is_left() {
    let sims = start(300).await;
    let t = cache();
    let events: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = events.clone();
    let ctx = on_progress(move |p| sink.lock().unwrap().push(p.clone()));
    let (connector, connection) = pair(&sims, System::OmniForge);
    let s = sync_system(&t.cache, &connector, &connection, SyncMode::Full, &ctx).await;
    assert!(s.completed);
    let events = events.lock().unwrap();
    assert!(events.len() > 300, "{}", events.len());
    assert!(events
        .windows(2)
        .all(|w| w[0].requests <= w[1].requests && w[0].rows <= w[1].rows));
    assert!(events.iter().any(|p| p.phase == "students"));
    assert!(events.iter().any(|p| p.phase == "guardian links"));
    let last = events.last().unwrap();
    assert_eq!(last.requests, s.requests);
    assert_eq!(last.system, System::OmniForge);
    assert!(last.remaining_estimate.is_some());
    assert!(last.elapsed >= Duration::from_secs(5 * 60));
    let _ = SystemKind::OmniForge;
}
