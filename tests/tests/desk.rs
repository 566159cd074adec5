//! The Desk facade that the CLI and the desktop shell share, in-process, over a real
//! SQLCipher file, the real keychain (run under scripts/with-keyring.sh) and the simulators.

use chrono::Utc;
use schooldesk_domain::{AttendanceStatus, MarkState, OutboxState, System};
use schooldesk_sync::demo::{self, DemoOptions};
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::Desk;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_mode_connects_syncs_and_serves_the_desk() {
    let dir = tempfile::tempdir().expect("temp dir");
    let desk = Desk::open(dir.path()).expect("open desk");
    assert!(
        demo::wants_demo(&desk).expect("wants demo"),
        "a new desk starts in demo mode"
    );

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
        demo::wants_demo(&desk).expect("wants demo"),
        "only the demo profile is connected"
    );

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
    let desk = Desk::open(dir.path()).expect("open desk");
    let running = demo::start(
        &desk,
        &DemoOptions {
            seed: 3,
            students: 50,
        },
        |_| {},
    )
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
        status: AttendanceStatus::Tardy,
        section: None,
        period: None,
        note: None,
    };
    desk.mark_attendance(&req, Utc::now(), Uuid::new_v4())
        .expect("mark");

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

    // Connecting a real system (saved without the demo marker) ends demo mode.
    let mut real = schooldesk_connectors_connection(System::Matrix, "https://lms.example.org");
    real.settings.requests_per_minute = Some(90);
    desk.connect(&real, "23-34-realkey", Utc::now())
        .expect("connect");
    assert!(!demo::wants_demo(&desk).expect("wants demo"));
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
    let desk = Desk::open(&dir.path().join("data")).expect("open desk");
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
