//! The Desk facade that the CLI and the desktop shell share, in-process, over a real
//! SQLCipher file, the real keychain (run under scripts/with-keyring.sh) and the simulators.

use chrono::Utc;
use schooldesk_domain::{AttendanceStatus, MarkState, OutboxState, System};
use schooldesk_sync::demo::{self, DemoOptions};
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::{Desk, PendingWrites};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_connects_syncs_and_serves_the_desk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let real = Desk::open(dir.path()).expect("open desk");
    assert!(
        demo::wants_demo(&real).expect("wants demo"),
        "a new desk starts in demo mode"
    );
    let desk = Desk::open_demo(dir.path()).expect("open the demo profile");

    let options = DemoOptions {
        seed: 9,
        students: 80,
    };
    let running = demo::start(&desk, &options, |_| {}).await.expect("demo");
    for summary in &running.sync.systems {
        assert!(summary.error.is_none(), "{}", summary.describe());
        assert!(summary.requests > 0);
    }
    assert!(
        demo::wants_demo(&real).expect("wants demo"),
        "the real profile is still empty: demo data lives apart"
    );
    assert!(real.connections().expect("connections").is_empty());
    assert!(real.students(None, None).expect("students").is_empty());

    let students = desk.students(None, None).expect("students");
    for system in [System::OmniForge, System::Matrix, System::Hubmis] {
        let n = students
            .iter()
            .filter(|s| s.source.system == system)
            .count();
        assert_eq!(n, 80, "{system}");
    }
    // Search by external id finds the same child in each system.
    let external = students[0].external_id.clone().expect("external id");
    let same = desk.students(Some(&external), None).expect("search");
    assert!(
        same.len() >= 3,
        "{external} found in {} systems",
        same.len()
    );
    assert!(same
        .iter()
        .all(|s| s.external_id.as_deref() == Some(external.as_str())));

    // The estimate for the next sync is made from what the cache now holds.
    let estimates = desk.estimate(&[], SyncMode::Full).expect("estimate");
    assert_eq!(estimates.len(), 4);
    assert!(estimates.iter().all(|e| e.requests > 0));

    // A mark appears at once as pending, with its write queued; replay delivers it.
    let omni = students
        .iter()
        .find(|s| s.source.system == System::OmniForge)
        .expect("an OmniForge student");
    let req = MarkRequest {
        student: omni.source.source_id.clone(),
        date: Utc::now().date_naive(),
        status: AttendanceStatus::Absent,
        section: None,
        period: None,
        note: Some("dentist".into()),
        code: None,
        minutes_late: None,
    };
    let (mark, entry) = desk
        .mark_attendance(&req, Utc::now(), Uuid::new_v4())
        .expect("mark");
    assert_eq!(mark.state, MarkState::Pending);
    assert_eq!(entry.expect("queued").state, OutboxState::Pending);
    let report = desk.replay().await.expect("replay");
    assert_eq!(report.applied, 1, "{}", report.describe());
    assert_eq!(
        desk.outbox(Some(OutboxState::Done)).expect("outbox").len(),
        1
    );
    let server = running
        .sims
        .omniforge_admin
        .mark(&omni.source.source_id, None, None, req.date)
        .expect("the server has the mark");
    assert_eq!(server.status, "absent");
    assert_eq!(server.note.as_deref(), Some("dentist"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_connection_turns_demo_mode_off_and_replay_waits_when_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running, _, _) = demo_with_a_mark(dir.path(), 3, AttendanceStatus::Tardy).await;

    // The network goes away: the write stays queued, with a reason, and nothing is lost.
    running.sims.shared.faults.set_offline(true);
    let report = desk.replay().await.expect("replay");
    assert_eq!(
        (report.applied, report.deferred),
        (0, 1),
        "{}",
        report.describe()
    );
    let waiting = desk.outbox(Some(OutboxState::Pending)).expect("outbox");
    assert_eq!(waiting.len(), 1);
    assert!(waiting[0].last_error.is_some());
    assert!(
        waiting[0].next_attempt_at > Utc::now(),
        "it backs off before the next try"
    );

    // Connecting a real system (in the real profile) ends demo mode; the demo's queued
    // write stays in the demo profile and can never reach the real server.
    let real_desk = Desk::open(dir.path()).expect("open real profile");
    let mut real = schooldesk_connectors_connection(System::Matrix, "https://lms.example.org");
    real.settings.requests_per_minute = Some(90);
    real_desk
        .connect(&real, "23-34-realkey", Utc::now())
        .expect("connect");
    assert!(!demo::wants_demo(&real_desk).expect("wants demo"));
    assert!(real_desk.outbox(None).expect("outbox").is_empty());
    assert_eq!(desk.outbox(None).expect("demo outbox").len(), 1);
}

// REGRESSION: demo marks and demo rows lived in the real cache; one step (a real connection
// to the same system) could have sent a demo mark to a real school's server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_and_real_profiles_never_mix() {
    let dir = tempfile::tempdir().expect("temp dir");
    let demo_desk = Desk::open_demo(dir.path()).expect("open demo profile");
    let real_desk = Desk::open(dir.path()).expect("open real profile");
    assert_ne!(demo_desk.cache().path(), real_desk.cache().path());
    assert_ne!(demo_desk.keychain(), real_desk.keychain(), "own key");

    // The demo profile connects only to this computer.
    let outside = schooldesk_connectors_connection(System::OmniForge, "https://sis.example.org");
    let refused = demo_desk
        .connect(&outside, "fsis_secret_x", Utc::now())
        .expect_err("a real server in the demo profile");
    assert!(refused.to_string().contains("demo profile"), "{refused}");
    assert!(demo_desk.connections().expect("connections").is_empty());

    // And the demo district cannot be started in the real profile.
    let err = match demo::start(&real_desk, &DemoOptions::default(), |_| {}).await {
        Ok(_) => panic!("the demo started in the real profile"),
        Err(e) => e,
    };
    assert!(err.to_string().contains("demo profile"), "{err}");
    assert!(real_desk.connections().expect("connections").is_empty());
}

// REGRESSION: changing a system's address while writes waited for it silently pointed the
// writes at the new server.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_an_address_with_writes_waiting_needs_a_decision() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running, omni, req) =
        demo_with_a_mark(dir.path(), 4, AttendanceStatus::Absent).await;
    let (mut moved, secret) = desk.connection(System::OmniForge).expect("connection");
    let old = moved.base_url.clone();
    moved.base_url = old.replace("127.0.0.1", "localhost");
    assert_ne!(moved.base_url, old);

    let refused = desk
        .connect(&moved, &secret, Utc::now())
        .expect_err("writes wait for the old address");
    assert_eq!(refused.code(), "desk.pending_writes");
    assert!(
        refused.to_string().contains("--pending-writes"),
        "{refused}"
    );
    assert_eq!(
        desk.connection(System::OmniForge).expect("c").0.base_url,
        old
    );

    // Discarding keeps a receipt (failed, with the reason), never sends them.
    desk.connect_with(&moved, &secret, Utc::now(), PendingWrites::Discard)
        .expect("connect, discarding");
    let failed = desk.outbox(Some(OutboxState::Failed)).expect("outbox");
    assert_eq!(failed.len(), 1);
    assert!(failed[0]
        .last_error
        .as_deref()
        .is_some_and(|e| e.contains("address")));
    let report = desk.replay().await.expect("replay");
    assert_eq!(report.applied, 0);
    assert!(running
        .sims
        .omniforge_admin
        .mark(&omni.source.source_id, None, None, req.date)
        .is_none_or(|m| m.status != "absent"));
}

/// The demo profile of `dir` with a 50-student district, and one OmniForge mark of today
/// taken at the desk (queued, not sent).
async fn demo_with_a_mark(
    dir: &std::path::Path,
    seed: u64,
    status: AttendanceStatus,
) -> (Desk, demo::Demo, schooldesk_domain::Student, MarkRequest) {
    let desk = Desk::open_demo(dir).expect("open demo profile");
    let running = demo::start(&desk, &DemoOptions { seed, students: 50 }, |_| {})
        .await
        .expect("demo");
    let omni = desk
        .students(None, None)
        .expect("students")
        .into_iter()
        .find(|s| s.source.system == System::OmniForge)
        .expect("student");
    let req = MarkRequest {
        student: omni.source.source_id.clone(),
        date: Utc::now().date_naive(),
        status,
        section: None,
        period: None,
        note: None,
        code: None,
        minutes_late: None,
    };
    desk.mark_attendance(&req, Utc::now(), Uuid::new_v4())
        .expect("mark");
    (desk, running, omni, req)
}

fn schooldesk_connectors_connection(
    system: System,
    url: &str,
) -> schooldesk_connectors::Connection {
    schooldesk_connectors::Connection::new(system, url)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_are_downloaded_once_then_exported_from_the_cache_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let desk = Desk::open_demo(&dir.path().join("data")).expect("open desk");
    let running = demo::start(
        &desk,
        &DemoOptions {
            seed: 5,
            students: 50,
        },
        |_| {},
    )
    .await
    .expect("demo");

    let first = desk
        .export_documents(&dir.path().join("online"))
        .await
        .expect("export");
    assert!(first.written > 0, "{}", first.describe());
    assert_eq!(first.downloaded, first.written);
    assert!(first.missing.is_empty());
    let files = walk(&dir.path().join("online"));
    assert_eq!(files.len(), first.written as usize);
    for f in &files {
        let bytes = std::fs::read(f).expect("read");
        let name = f.to_string_lossy();
        if name.ends_with(".pdf") {
            assert!(bytes.starts_with(b"%PDF"), "{name}");
        } else {
            assert!(
                name.ends_with(".jpg") && bytes.starts_with(&[0xFF, 0xD8]),
                "{name}"
            );
        }
    }

    // No network: the same files come out of the encrypted cache.
    running.sims.shared.faults.set_offline(true);
    let second = desk
        .export_documents(&dir.path().join("offline"))
        .await
        .expect("export offline");
    assert_eq!((second.written, second.downloaded), (first.written, 0));
    assert_eq!(walk(&dir.path().join("offline")).len(), files.len());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}
