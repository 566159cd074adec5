//! Incremental syncs bring what a school office relies on during the day, even when no school,
//! class or student record changed: a mark a teacher changed, a student added to or dropped
//! from a class, a new grade; and "today" is the school's day, in the connection's time zone.

mod pull_support;

use chrono::{NaiveDate, TimeZone, Utc};
use pull_support::*;
use schooldesk_cache::{Cache, NewAttendance};
use schooldesk_connectors::Connection;
use schooldesk_domain::{AttendanceStatus, MarkState, System};
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use schooldesk_sync::pull::{sync_system, Progress, SyncContext, SyncMode, SystemSummary};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A connection to the simulator in a named zone (tests never depend on this computer's).
fn connection_in(
    sims: &Simulators,
    system: System,
    zone: &str,
) -> (Connection, schooldesk_connectors::Secret) {
    let (mut c, secret) = connection(sims, system);
    c.settings.time_zone = Some(zone.to_string());
    (c, secret)
}

async fn sync_in(
    cache: &Arc<Cache>,
    sims: &Simulators,
    connection: &Connection,
    secret: &schooldesk_connectors::Secret,
    mode: SyncMode,
    ctx: &SyncContext,
) -> SystemSummary {
    let connector = connector(sims, connection, secret.clone());
    let summary = sync_system(cache, &connector, connection, mode, ctx).await;
    assert!(summary.completed, "{summary:?}");
    summary
}

/// The `date=` of every register request OmniForge served, in order.
fn register_dates(sims: &Simulators) -> Vec<String> {
    sims.shared
        .recorder
        .requests_for(SystemKind::OmniForge)
        .iter()
        .filter(|r| r.method == "GET" && r.path.ends_with("/attendance"))
        .filter_map(|r| {
            r.query
                .split('&')
                .find_map(|kv| kv.strip_prefix("date="))
                .map(str::to_string)
        })
        .collect()
}

// REGRESSION: an incremental OmniForge sync read registers only for schools whose record had
// changed (the to-do list came from the `updatedSince` school list), so a mark a teacher
// changed on the server never reached the desk until the next full sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omniforge_mark_changed_by_a_teacher_arrives_with_the_next_incremental_sync() {
    let sims = start(300).await;
    let t = cache();
    let (conn, secret) = connection_in(&sims, System::OmniForge, "UTC");
    let ctx = SyncContext::default();
    sync_in(&t.cache, &sims, &conn, &secret, SyncMode::Full, &ctx).await;

    let today = sims.shared.clock.now().date_naive();
    let d = &sims.district;
    let (pupil, desk_pupil) = (&d.students[5], &d.students[6]);
    let homeroom = |s: &schooldesk_sim::data::Student| d.sections[s.homeroom].uuid.clone();

    // The desk takes a mark that is not sent yet; then, on the server, a teacher marks both
    // pupils (the desk's pending mark must survive the refresh: it is not on the server yet).
    let (local, _) = t
        .cache
        .record_attendance(
            &NewAttendance {
                system: System::OmniForge,
                student_source_id: desk_pupil.uuid.clone(),
                section_source_id: Some(homeroom(desk_pupil)),
                period: None,
                date: today,
                status: AttendanceStatus::Tardy,
                code: None,
                note: Some("Arrived 9:10".into()),
                minutes_late: None,
            },
            sims.shared.clock.now(),
            uuid::Uuid::new_v4(),
        )
        .unwrap();
    assert_eq!(local.state, MarkState::Pending);
    sims.shared.clock.advance(Duration::from_secs(600));
    for s in [pupil, desk_pupil] {
        sims.omniforge_admin
            .change_mark(&s.uuid, Some(&homeroom(s)), None, today, "absent");
    }
    sims.shared.recorder.clear();

    let progress: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let seen = progress.clone();
    let ctx = SyncContext {
        progress: Some(Arc::new(move |p: &Progress| {
            seen.lock().unwrap().push(p.clone())
        })),
        ..SyncContext::default()
    };
    let inc = sync_in(&t.cache, &sims, &conn, &secret, SyncMode::Incremental, &ctx).await;

    let mark = t
        .cache
        .attendance_mark(
            System::OmniForge,
            &pupil.uuid,
            Some(&homeroom(pupil)),
            None,
            today,
        )
        .unwrap()
        .expect("the teacher's mark is in the cache");
    assert_eq!(mark.status, AttendanceStatus::Absent);
    assert_eq!(mark.state, MarkState::Synced);
    let kept = t
        .cache
        .attendance_mark(
            System::OmniForge,
            &desk_pupil.uuid,
            Some(&homeroom(desk_pupil)),
            None,
            today,
        )
        .unwrap()
        .unwrap();
    assert_eq!(kept.status, AttendanceStatus::Tardy);
    assert_eq!(kept.state, MarkState::Pending);

    // One register request per school, each asking only for what changed since last time.
    let registers: Vec<_> = sims
        .shared
        .recorder
        .requests_for(SystemKind::OmniForge)
        .into_iter()
        .filter(|r| r.path.ends_with("/attendance"))
        .collect();
    assert_eq!(registers.len(), d.schools.len(), "{registers:?}");
    assert!(registers.iter().all(|r| r.query.contains("updatedSince=")));
    assert_eq!(inc.rows.get("attendance marks"), Some(&2));

    // "Register ready" comes once today's registers are stored, before the guardian lists.
    let progress = progress.lock().unwrap();
    let first_ready = progress
        .iter()
        .position(|p| p.register_ready)
        .expect("register ready was reported");
    assert!(progress[..first_ready]
        .iter()
        .all(|p| p.phase != "guardians" && p.phase != "guardian links"));
    assert!(progress[first_ready..].iter().all(|p| p.register_ready));
    assert!(progress[first_ready..]
        .iter()
        .all(|p| p.phase != "students" && p.phase != "rosters"));
}

// REGRESSION: an incremental Matrix sync called per class only when the class record had
// changed, and adding or dropping a student, taking a mark or entering a grade changes no class
// record: none of them reached the desk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_roster_marks_and_grades_changed_in_the_lms_arrive_incrementally() {
    // Mid-afternoon: every class has met today.
    let afternoon = Utc.with_ymd_and_hms(2026, 10, 6, 15, 0, 0).unwrap();
    let sims = start_with(SimConfig {
        students: 300,
        clock: SimClock::frozen(afternoon),
        ..SimConfig::default()
    })
    .await;
    let t = cache();
    let (conn, secret) = connection_in(&sims, System::Matrix, "UTC");
    let ctx = SyncContext::default();
    let full = sync_in(&t.cache, &sims, &conn, &secret, SyncMode::Full, &ctx).await;

    let lms = &sims.matrix_admin;
    let today = afternoon.date_naive();
    let class = lms.class_ids()[3];
    let class_key = class.to_string();
    let roster = lms.roster(class);
    let (leaver, stayer) = (roster[0], roster[1]);
    let joiner = (0..sims.district.students.len())
        .map(|i| lms.user_id_of_student(i))
        .find(|u| !roster.contains(u))
        .unwrap();
    let cached_roster = |cache: &Cache| -> Vec<String> {
        cache
            .enrollments(System::Matrix, &class_key)
            .unwrap()
            .into_iter()
            .map(|e| e.student_source_id)
            .collect()
    };
    let before = cached_roster(&t.cache);
    assert!(before.contains(&leaver.to_string()) && !before.contains(&joiner.to_string()));
    let mark_of = |cache: &Cache| {
        cache
            .attendance_marks(today, Some((System::Matrix, &class_key)))
            .unwrap()
            .into_iter()
            .find(|m| m.student_source_id == stayer.to_string())
    };
    let was = mark_of(&t.cache).expect("today's register was pulled");
    let new_status = if was.code.as_deref() == Some("Absent") {
        ("Late", AttendanceStatus::Tardy)
    } else {
        ("Absent", AttendanceStatus::Absent)
    };
    let assignment = lms.assignment_ids(class)[0];
    let grade_of = |cache: &Cache| {
        cache
            .grades(System::Matrix, &class_key)
            .unwrap()
            .into_iter()
            .find(|g| {
                g.student_source_id == stayer.to_string() && g.assignment == assignment.to_string()
            })
            .and_then(|g| g.score)
    };
    let old_grade = grade_of(&t.cache).expect("grades were pulled");

    // In the LMS, teachers change the class; its record stays the same.
    sims.shared.clock.advance(Duration::from_secs(900));
    assert!(lms.unenrol(class, leaver));
    assert!(lms.enrol(class, joiner));
    assert!(lms.set_attendance(class, today, stayer, new_status.0));
    assert!(lms.set_grade(assignment, stayer, "3"));
    sims.shared.recorder.clear();

    let inc = sync_in(&t.cache, &sims, &conn, &secret, SyncMode::Incremental, &ctx).await;

    let after = cached_roster(&t.cache);
    assert!(!after.contains(&leaver.to_string()), "{after:?}");
    assert!(after.contains(&joiner.to_string()), "{after:?}");
    assert_eq!(after.len(), before.len());
    let mark = mark_of(&t.cache).unwrap();
    assert_eq!(mark.status, new_status.1);
    assert_eq!(mark.code.as_deref(), Some(new_status.0));
    let new_grade = grade_of(&t.cache).unwrap();
    assert_ne!(new_grade, old_grade);
    assert!(new_grade.starts_with('3'), "{new_grade}");

    // One call of each kind per class: the cheapest the API allows, and no more than a full
    // sync makes.
    let classes = lms.class_ids().len();
    for function in [
        "get_students_for_class",
        "get_attendance",
        "get_grades_for_class",
    ] {
        assert_eq!(
            requests_to(&sims, System::Matrix, function),
            classes,
            "{function}"
        );
    }
    assert!(
        inc.requests <= full.requests,
        "{} > {}",
        inc.requests,
        full.requests
    );
}

// REGRESSION: "today" was the UTC date of the connector's clock, so at 23:30 UTC a school
// already on the next day (or still on the previous one) got the wrong day's register.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn today_is_the_schools_day_in_the_connections_time_zone() {
    // Tuesday 23:30 UTC: Wednesday 08:30 in Tokyo, Tuesday 19:30 in New York.
    let late = Utc.with_ymd_and_hms(2026, 10, 6, 23, 30, 0).unwrap();
    let sims = start_with(SimConfig {
        students: 100,
        clock: SimClock::frozen(late),
        ..SimConfig::default()
    })
    .await;
    let tuesday = NaiveDate::from_ymd_opt(2026, 10, 6).unwrap();
    let wednesday = NaiveDate::from_ymd_opt(2026, 10, 7).unwrap();
    let pupil = &sims.district.students[3];
    let homeroom = sims.district.sections[pupil.homeroom].uuid.clone();
    sims.omniforge_admin
        .change_mark(&pupil.uuid, Some(&homeroom), None, wednesday, "tardy");

    for (zone, day) in [("Asia/Tokyo", wednesday), ("America/New_York", tuesday)] {
        let t = cache();
        sims.shared.recorder.clear();
        let (conn, secret) = connection_in(&sims, System::OmniForge, zone);
        sync_in(
            &t.cache,
            &sims,
            &conn,
            &secret,
            SyncMode::Full,
            &SyncContext::default(),
        )
        .await;
        let asked = register_dates(&sims);
        assert!(!asked.is_empty());
        assert!(
            asked.iter().all(|d| *d == day.to_string()),
            "{zone}: {asked:?}"
        );
        let cached = t
            .cache
            .attendance_mark(
                System::OmniForge,
                &pupil.uuid,
                Some(&homeroom),
                None,
                wednesday,
            )
            .unwrap();
        assert_eq!(cached.is_some(), day == wednesday, "{zone}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_school_days_skip_the_weekend() {
    // Tuesday morning; three days pulled: Friday, Monday and today.
    let sims = start(100).await;
    let t = cache();
    let (mut conn, secret) = connection_in(&sims, System::OmniForge, "UTC");
    conn.settings.attendance_days = Some(3);
    sync_in(
        &t.cache,
        &sims,
        &conn,
        &secret,
        SyncMode::Full,
        &SyncContext::default(),
    )
    .await;
    let mut asked = register_dates(&sims);
    asked.sort();
    asked.dedup();
    assert_eq!(asked, ["2026-10-02", "2026-10-05", "2026-10-06"]);
    // Friday's register is history the simulator holds: it arrived.
    let friday = NaiveDate::from_ymd_opt(2026, 10, 2).unwrap();
    assert!(!t.cache.attendance_marks(friday, None).unwrap().is_empty());
}

// Opens a desk (its key in the keychain): run under scripts/with-keyring.sh.
#[tokio::test]
async fn an_unknown_time_zone_is_refused_when_connecting() {
    let dir = tempfile::tempdir().unwrap();
    let desk = schooldesk_sync::Desk::open(dir.path()).unwrap();
    let mut conn = Connection::new(System::OmniForge, "https://sis.example.org");
    conn.settings.time_zone = Some("Europe/Lndon".into());
    // Refused before any request is made (nothing listens at that address).
    let err = desk
        .verify(&conn, "fsis_secret_x")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("'Europe/Lndon' is not a time zone"), "{err}");
    let err = desk
        .connect(&conn, "fsis_secret_x", Utc::now())
        .unwrap_err()
        .to_string();
    assert!(err.contains("Nothing was saved"), "{err}");
    assert!(desk.connections().unwrap().is_empty());

    conn.settings.time_zone = Some("Europe/London".into());
    desk.connect(&conn, "fsis_secret_x", Utc::now()).unwrap();
    let saved = desk.connections().unwrap();
    assert_eq!(
        saved[0].settings.time_zone.as_deref(),
        Some("Europe/London")
    );
}
