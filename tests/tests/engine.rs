//! The live desk: the engine the app runs, over a real SQLCipher file, the real keychain (run
//! under scripts/with-keyring.sh) and the demo district's simulators on loopback.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use schooldesk_domain::{AttendanceStatus, Origin, OutboxState, Student, System};
use schooldesk_sync::demo::{self, Demo, DemoOptions};
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::engine::Changes;
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::{Desk, DeskActivity, DeskEvent, Engine, Schedule};
use tokio::sync::broadcast::Receiver;
use uuid::Uuid;

/// A schedule for tests: quick ticks and probes, no sync at start (the demo just synced).
fn quick() -> Schedule {
    Schedule {
        tick: Duration::from_millis(50),
        other_process_every: Duration::from_millis(100),
        probe_first: Duration::from_millis(200),
        probe_max: Duration::from_millis(400),
        sync_at_start: false,
        ..Schedule::default()
    }
}

async fn demo_desk(dir: &std::path::Path, seed: u64) -> (Desk, Demo) {
    let desk = Desk::open_demo(dir).expect("open the demo profile");
    let running = demo::start(&desk, &DemoOptions { seed, students: 50 }, |_| {})
        .await
        .expect("demo");
    (desk, running)
}

fn omniforge_student(desk: &Desk) -> Student {
    desk.students(None, None)
        .expect("students")
        .into_iter()
        .find(|s| s.source.system == System::OmniForge)
        .expect("an OmniForge student")
}

/// Marks the first `n` OmniForge students absent today; returns them.
fn absent_marks(desk: &Desk, n: usize) -> Vec<Student> {
    let students: Vec<Student> = desk
        .students(None, None)
        .expect("students")
        .into_iter()
        .filter(|s| s.source.system == System::OmniForge)
        .take(n)
        .collect();
    for s in &students {
        desk.mark_attendance(
            &mark(s, AttendanceStatus::Absent),
            Utc::now(),
            Uuid::new_v4(),
        )
        .expect("mark");
    }
    students
}

/// Waits until at least one write is done.
async fn until_one_is_sent(desk: &Desk) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while desk
        .outbox(Some(OutboxState::Done))
        .expect("outbox")
        .is_empty()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never sent: {:?}",
            desk.outbox(None)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn mark(student: &Student, status: AttendanceStatus) -> MarkRequest {
    MarkRequest {
        student: student.source.source_id.clone(),
        date: Utc::now().date_naive(),
        status,
        section: None,
        period: None,
        note: None,
        code: None,
        minutes_late: None,
    }
}

/// Waits (up to a generous deadline for a loaded machine) for an event `pick` accepts.
async fn wait_for<T>(
    events: &mut Receiver<DeskEvent>,
    what: &str,
    mut pick: impl FnMut(&DeskEvent) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let event = tokio::time::timeout_at(deadline, events.recv())
            .await
            .unwrap_or_else(|_| panic!("no event for: {what}"))
            .expect("the engine is running");
        if let Some(found) = pick(&event) {
            return found;
        }
    }
}

fn changed(event: &DeskEvent) -> Option<&Changes> {
    match event {
        DeskEvent::Changed(c) => Some(c),
        DeskEvent::Activity(_) => None,
    }
}

fn activity(event: &DeskEvent) -> Option<&DeskActivity> {
    match event {
        DeskEvent::Activity(a) => Some(a),
        DeskEvent::Changed(_) => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mark_taken_at_the_desk_is_announced_then_sent_by_the_engine() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 21).await;
    let engine = Engine::start(desk.clone(), quick(), Arc::new(Utc::now));
    let mut events = engine.subscribe();

    let student = omniforge_student(&desk);
    let req = mark(&student, AttendanceStatus::Absent);
    let d = desk.clone();
    let r = req.clone();
    tokio::task::spawn_blocking(move || d.mark_attendance(&r, Utc::now(), Uuid::new_v4()))
        .await
        .expect("task")
        .expect("mark");

    // The desk's own write reaches subscribers as such, naming what it touched...
    let by_user = wait_for(&mut events, "the mark", |e| {
        changed(e)
            .filter(|c| c.origins.contains(&Origin::User))
            .cloned()
    })
    .await;
    assert!(by_user.touches("outbox"), "{by_user:?}");
    assert!(by_user.touches("attendance_marks"), "{by_user:?}");

    // ... then the engine sends it by itself, and says so.
    let by_replay = wait_for(&mut events, "the replay", |e| {
        changed(e)
            .filter(|c| c.origins.contains(&Origin::Replay) && c.touches("outbox"))
            .cloned()
    })
    .await;
    assert!(!by_replay.origins.contains(&Origin::OtherProcess));
    until_one_is_sent(&desk).await;
    let server = running
        .sims
        .omniforge_admin
        .mark(&student.source.source_id, None, None, req.date)
        .expect("the server has the mark");
    assert_eq!(server.status, "absent");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_by_another_process_reaches_the_engines_subscribers() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 22).await;
    // Nothing is sent in this test: the server is away.
    running.sims.shared.faults.set_offline(true);
    let engine = Engine::start(desk.clone(), quick(), Arc::new(Utc::now));
    let mut events = engine.subscribe();
    tokio::time::sleep(Duration::from_millis(300)).await;

    // A second connection to the same file is what the CLI is to the app.
    let other = Desk::open_demo(dir.path()).expect("a second handle");
    let student = omniforge_student(&other);
    tokio::task::spawn_blocking(move || {
        other.mark_attendance(
            &mark(&student, AttendanceStatus::Tardy),
            Utc::now(),
            Uuid::new_v4(),
        )
    })
    .await
    .expect("task")
    .expect("mark");

    let seen = wait_for(&mut events, "the other process's change", |e| {
        changed(e)
            .filter(|c| c.origins.contains(&Origin::OtherProcess))
            .cloned()
    })
    .await;
    assert!(
        seen.touches("students"),
        "another process: anything may have changed"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_wait_while_a_system_is_down_and_go_when_the_probe_finds_it_back() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 23).await;
    running.sims.shared.faults.set_offline(true);
    let student = omniforge_student(&desk);
    let req = mark(&student, AttendanceStatus::Excused);
    desk.mark_attendance(&req, Utc::now(), Uuid::new_v4())
        .expect("mark");

    let engine = Engine::start(desk.clone(), quick(), Arc::new(Utc::now));
    let mut events = engine.subscribe();
    // The replay at start finds OmniForge away: it is marked unreachable and probed.
    wait_for(&mut events, "OmniForge unreachable", |e| {
        activity(e).and_then(|a| {
            a.systems
                .iter()
                .find(|s| s.system == System::OmniForge && !s.reachable)
                .map(|_| ())
        })
    })
    .await;
    // Kept, not failed (a retry may be on the wire right now).
    let all = desk.outbox(None).expect("outbox");
    assert_eq!(all.len(), 1);
    assert!(
        matches!(all[0].state, OutboxState::Pending | OutboxState::Sending),
        "{all:?}"
    );
    assert!(all[0].last_error.is_some(), "it says why it waits: {all:?}");

    // The network comes back: the probe notices and the write goes without anyone asking.
    running.sims.shared.faults.set_offline(false);
    wait_for(&mut events, "OmniForge reachable again", |e| {
        activity(e).and_then(|a| {
            a.systems
                .iter()
                .find(|s| s.system == System::OmniForge && s.reachable)
                .map(|_| ())
        })
    })
    .await;
    until_one_is_sent(&desk).await;
    let server = running
        .sims
        .omniforge_admin
        .mark(&student.source.source_id, None, None, req.date)
        .expect("the server has the mark");
    assert_eq!(server.status, "excused");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_now_tries_at_once_the_writes_held_back_by_an_outage() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 24).await;
    absent_marks(&desk, 2);
    // The first write fails on the network; the second is then not attempted at all.
    running.sims.shared.faults.set_offline(true);
    desk.replay().await.expect("replay");
    let waiting = desk.outbox(Some(OutboxState::Pending)).expect("outbox");
    assert_eq!(waiting.len(), 2);
    assert!(
        waiting.iter().all(|e| e.next_attempt_at > Utc::now()),
        "{waiting:?}"
    );
    assert_eq!(
        waiting.iter().map(|e| e.attempts).collect::<Vec<_>>(),
        vec![1, 0],
        "one attempted, one never sent"
    );
    running.sims.shared.faults.set_offline(false);

    // Probing is slow here; "Send now" must not wait for it.
    let schedule = Schedule {
        probe_first: Duration::from_secs(3600),
        probe_max: Duration::from_secs(3600),
        ..quick()
    };
    let engine = Engine::start(desk.clone(), schedule, Arc::new(Utc::now));
    // The write that reached the wire keeps its backoff (the server may be struggling); the
    // one never sent goes at once.
    engine.send_now();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let all = desk.outbox(None).expect("outbox");
        let done: Vec<_> = all
            .iter()
            .filter(|e| e.state == OutboxState::Done)
            .collect();
        if !done.is_empty() {
            assert_eq!(done.len(), 1, "{all:?}");
            assert_eq!(done[0].id, waiting[1].id, "the unsent one went");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{all:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sync_now_reports_progress_register_ready_and_the_last_sync() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, _running) = demo_desk(dir.path(), 25).await;
    let engine = Engine::start(desk.clone(), quick(), Arc::new(Utc::now));
    let mut events = engine.subscribe();
    let before = Utc::now();
    engine.sync_now(vec![System::OmniForge], SyncMode::Incremental);

    wait_for(&mut events, "a sync in progress", |e| {
        activity(e).and_then(|a| {
            a.systems
                .iter()
                .find(|s| s.system == System::OmniForge && s.syncing)
                .map(|_| ())
        })
    })
    .await;
    let done = wait_for(&mut events, "the sync finished", |e| {
        activity(e).and_then(|a| {
            a.systems
                .iter()
                .find(|s| {
                    s.system == System::OmniForge
                        && !s.syncing
                        && s.last_sync_at.is_some_and(|t| t >= before)
                })
                .cloned()
        })
    })
    .await;
    assert!(done.register_ready, "{done:?}");
    assert!(done.problem.is_none(), "{done:?}");
    assert!(done.next_sync_at.is_some_and(|t| t > before), "{done:?}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_the_write_in_flight_and_keeps_the_rest_queued() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 26).await;
    let students = absent_marks(&desk, 8);
    // Each write takes a while at the server, so the stop lands in the middle.
    running
        .sims
        .shared
        .faults
        .set_latency(Duration::from_millis(300));
    let engine = Engine::start(desk.clone(), quick(), Arc::new(Utc::now));
    until_one_is_sent(&desk).await;
    engine.shutdown().await;

    let all = desk.outbox(None).expect("outbox");
    assert_eq!(all.len(), 8, "nothing lost");
    assert!(
        all.iter().all(|e| e.state != OutboxState::Sending),
        "none left half-sent: {all:?}"
    );
    let done = all.iter().filter(|e| e.state == OutboxState::Done).count();
    assert!(done < 8, "stopped before the end ({done} sent)");

    // The rest go next time, each exactly once.
    running.sims.shared.faults.set_latency(Duration::ZERO);
    let report = desk.replay().await.expect("replay");
    assert_eq!(report.applied as usize, 8 - done, "{}", report.describe());
    for s in &students {
        assert!(running
            .sims
            .omniforge_admin
            .mark(&s.source.source_id, None, None, Utc::now().date_naive())
            .is_some_and(|m| m.status == "absent"));
    }
}

// REGRESSION: the app started a second full round of syncs right after the demo's first
// one, although its schedule said not to sync at start; the demo's status never settled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_sync_at_start_means_the_first_sync_waits_for_the_schedule() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 27).await;
    let before = running.sims.shared.recorder.requests().len();
    let engine = Engine::start(desk, quick(), Arc::new(Utc::now));
    tokio::time::sleep(Duration::from_millis(800)).await;
    let activity = engine.activity();
    assert_eq!(activity.systems.len(), 4, "{activity:?}");
    for s in &activity.systems {
        assert!(!s.syncing, "{s:?}");
        assert!(
            s.next_sync_at.is_some_and(|t| t > Utc::now()),
            "the next sync is scheduled ahead: {s:?}"
        );
    }
    // Nothing to send, nothing to sync: not a request made.
    assert_eq!(running.sims.shared.recorder.requests().len(), before);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_for_an_update_finishes_the_write_in_flight_and_sends_nothing_more() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (desk, running) = demo_desk(dir.path(), 28).await;
    absent_marks(&desk, 8);
    running
        .sims
        .shared
        .faults
        .set_latency(Duration::from_millis(300));
    let engine = Engine::start(desk.clone(), quick(), Arc::new(Utc::now));
    until_one_is_sent(&desk).await;

    engine.pause_sending().await;
    let done = |desk: &Desk| desk.outbox(Some(OutboxState::Done)).expect("outbox").len();
    let all = desk.outbox(None).expect("outbox");
    assert!(
        all.iter().all(|e| e.state != OutboxState::Sending),
        "nothing half-sent once paused: {all:?}"
    );
    let paused_at = done(&desk);
    assert!(paused_at < 8, "paused before the end ({paused_at} sent)");
    // Paused: the engine sends nothing more, however long it runs.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(done(&desk), paused_at);

    // The update was refused: sending goes on, and every write arrives.
    running.sims.shared.faults.set_latency(Duration::ZERO);
    engine.resume_sending();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while done(&desk) < 8 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{:?}",
            desk.outbox(None)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    engine.shutdown().await;
}
