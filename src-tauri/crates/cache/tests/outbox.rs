//! Marks taken at the desk and the outbox that carries them, on a real SQLCipher file.

mod common;

use chrono::Duration;
use common::*;
use schooldesk_cache::{Cache, CacheError, NewAttendance, NewOutboxEntry};
use schooldesk_domain::{
    AttendanceStatus, MarkState, MarkWrite, Operation, OutboxEntry, OutboxState, System, Write,
};
use serde_json::json;
use uuid::Uuid;

struct Desk {
    dir: tempfile::TempDir,
    cache: Cache,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open_with_key(&db_path(dir.path()), &key(21)).unwrap();
        for sys in [System::OmniForge, System::Hubmis] {
            cache
                .upsert_students(&[
                    student(sys, "s-1", "Ann", "Lee"),
                    student(sys, "s-2", "Bob", "Kim"),
                ])
                .unwrap();
            cache
                .upsert_sections(&[section(sys, "sec-1", "7A")])
                .unwrap();
        }
        Desk { dir, cache }
    }

    /// Closes and reopens the file, as after a crash or a restart.
    fn restart(self) -> Desk {
        let Desk { dir, cache } = self;
        drop(cache);
        let cache = Cache::open_with_key(&db_path(dir.path()), &key(21)).unwrap();
        Desk { dir, cache }
    }
}

fn mark(system: System, student: &str, status: AttendanceStatus) -> NewAttendance {
    NewAttendance {
        system,
        student_source_id: student.into(),
        section_source_id: Some("sec-1".into()),
        period: Some("1".into()),
        date: day(),
        status,
        code: None,
        note: None,
        minutes_late: None,
    }
}

fn ids(entries: &[OutboxEntry]) -> Vec<i64> {
    entries.iter().map(|e| e.id).collect()
}

/// The mark write an entry carries.
fn mark_write(entry: &OutboxEntry) -> &MarkWrite {
    match &entry.write {
        Write::Mark(m) => m,
        other => panic!("expected a mark write, got {other:?}"),
    }
}

#[test]
fn recording_a_mark_stores_it_pending_and_queues_its_write_together() {
    let desk = Desk::new();
    let mut new = mark(System::OmniForge, "s-1", AttendanceStatus::Tardy);
    new.code = Some(" L ".into());
    new.note = Some("bus late".into());
    let (m, entry) = desk
        .cache
        .record_attendance(&new, t0(), Uuid::from_u128(7))
        .unwrap();
    let entry = entry.expect("OmniForge takes attendance writes");
    assert_eq!(m.state, MarkState::Pending);
    assert_eq!(
        (m.status, m.code.as_deref()),
        (AttendanceStatus::Tardy, Some("L"))
    );
    assert_eq!(m.source.source_id, "", "not confirmed by the system yet");
    assert_eq!(entry.operation, Operation::SubmitAttendance);
    assert_eq!(entry.system, System::OmniForge);
    assert_eq!(entry.state, OutboxState::Pending);
    assert_eq!(entry.idempotency_key, Uuid::from_u128(7));
    assert_eq!(entry.entity_key, "attendance:s-1:sec-1:1:2024-09-02");
    assert_eq!(entry.next_attempt_at, t0());
    assert_eq!(
        entry.write,
        Write::Mark(MarkWrite {
            student_id: "s-1".into(),
            section_id: Some("sec-1".into()),
            period: Some("1".into()),
            date: day(),
            status: AttendanceStatus::Tardy,
            code: Some("L".into()),
            note: Some("bus late".into()),
            minutes_late: None,
            base_version: None,
        }),
        "the desk has no copy of the server's mark, so no base version"
    );
    assert!(!entry.uncertain, "nothing was sent yet");
    assert_eq!(entry.resolution, None);

    // Both survive a restart.
    let desk = desk.restart();
    assert_eq!(
        desk.cache.outbox_list(None).unwrap(),
        std::slice::from_ref(&entry)
    );
    let stored = desk.cache.attendance_marks(day(), None).unwrap();
    assert_eq!(stored, [m]);

    // The same request again (double click) changes nothing.
    let (_, again) = desk
        .cache
        .record_attendance(&new, t0() + Duration::minutes(1), Uuid::from_u128(7))
        .unwrap();
    assert_eq!(again, Some(entry));
    assert_eq!(desk.cache.outbox_list(None).unwrap().len(), 1);
    // The same key for another mark is a caller's fault, refused.
    let err = desk
        .cache
        .record_attendance(
            &mark(System::OmniForge, "s-2", AttendanceStatus::Present),
            t0(),
            Uuid::from_u128(7),
        )
        .unwrap_err();
    assert!(
        matches!(err, CacheError::IdempotencyKeyReused { .. }),
        "{err:?}"
    );
}

#[test]
fn a_change_to_a_synced_mark_is_sent_against_its_version() {
    let desk = Desk::new();
    let (_, first) = desk
        .cache
        .record_attendance(
            &mark(System::OmniForge, "s-1", AttendanceStatus::Present),
            t0(),
            Uuid::from_u128(1),
        )
        .unwrap();
    let first = first.unwrap();
    desk.cache.claim_due(t0(), 10).unwrap();
    desk.cache
        .complete(
            first.id,
            &json!({"data": {"id": "m-9", "version": 4}}),
            t0(),
        )
        .unwrap();
    let synced = &desk.cache.attendance_marks(day(), None).unwrap()[0];
    assert_eq!((synced.state, synced.version), (MarkState::Synced, Some(4)));
    assert_eq!(synced.source.source_id, "m-9");

    let (changed, entry) = desk
        .cache
        .record_attendance(
            &mark(System::OmniForge, "s-1", AttendanceStatus::Absent),
            t0(),
            Uuid::from_u128(2),
        )
        .unwrap();
    assert_eq!(mark_write(&entry.unwrap()).base_version, Some(4));
    assert_eq!(
        changed.version,
        Some(4),
        "the base stays until the system confirms"
    );
    assert_eq!(changed.source.source_id, "m-9");
    assert_eq!(changed.state, MarkState::Pending);
}

#[test]
fn a_mark_for_hubmis_is_kept_locally_with_nothing_queued() {
    let desk = Desk::new();
    let (m, entry) = desk
        .cache
        .record_attendance(
            &NewAttendance {
                period: Some("am".into()),
                section_source_id: None,
                code: Some("/".into()),
                ..mark(System::Hubmis, "s-1", AttendanceStatus::Present)
            },
            t0(),
            Uuid::from_u128(3),
        )
        .unwrap();
    assert!(entry.is_none());
    assert_eq!(m.state, MarkState::LocalOnly);
    assert_eq!(
        (m.period.as_deref(), m.section_source_id.as_deref()),
        (Some("am"), None)
    );
    assert!(desk.cache.outbox_list(None).unwrap().is_empty());
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let desk = Desk::new();
    let cases = [
        (
            mark(System::OmniForge, "s-404", AttendanceStatus::Present),
            "cache.unknown_student",
        ),
        (
            mark(System::Matrix, "s-1", AttendanceStatus::Present),
            "cache.unknown_student",
        ),
        (
            NewAttendance {
                section_source_id: Some("sec-404".into()),
                ..mark(System::OmniForge, "s-1", AttendanceStatus::Present)
            },
            "cache.unknown_section",
        ),
        (
            NewAttendance {
                period: Some("  ".into()),
                ..mark(System::OmniForge, "s-1", AttendanceStatus::Present)
            },
            "cache.invalid_input",
        ),
        (
            mark(System::OmniForge, " ", AttendanceStatus::Present),
            "cache.invalid_input",
        ),
    ];
    for (i, (new, code)) in cases.iter().enumerate() {
        let err = desk
            .cache
            .record_attendance(new, t0(), Uuid::from_u128(100 + i as u128))
            .unwrap_err();
        assert_eq!(err.code(), *code, "case {i}: {err}");
        assert!(
            err.to_string().contains("Nothing was saved"),
            "case {i}: {err}"
        );
    }
    assert!(desk.cache.outbox_list(None).unwrap().is_empty());
    assert!(desk.cache.attendance_marks(day(), None).unwrap().is_empty());
}

#[test]
fn claim_due_takes_only_the_oldest_open_write_of_each_entity() {
    let desk = Desk::new();
    let c = &desk.cache;
    let record = |student: &str, status, n: u128| {
        c.record_attendance(
            &mark(System::OmniForge, student, status),
            t0(),
            Uuid::from_u128(n),
        )
        .unwrap()
        .1
        .unwrap()
    };
    let a1 = record("s-1", AttendanceStatus::Present, 1);
    let b1 = record("s-2", AttendanceStatus::Present, 2);
    let a2 = record("s-1", AttendanceStatus::Absent, 3);
    assert_eq!(a1.entity_key, a2.entity_key);

    // Nothing is due before it was made.
    assert!(c
        .claim_due(t0() - Duration::seconds(1), 10)
        .unwrap()
        .is_empty());
    let claimed = c.claim_due(t0(), 10).unwrap();
    assert_eq!(ids(&claimed), [a1.id, b1.id]);
    assert!(claimed.iter().all(|e| e.state == OutboxState::Sending));
    assert_eq!(
        ids(&c.claim_due(t0(), 1).unwrap()),
        [a1.id],
        "limit respected"
    );

    // a2 waits for a1 whatever happens to b1.
    c.complete(b1.id, &json!({"data": {"id": "m-b", "version": 1}}), t0())
        .unwrap();
    assert_eq!(ids(&c.claim_due(t0(), 10).unwrap()), [a1.id]);
    // a1 retried later: a2 still waits behind it, even when a1 is not due.
    let later = t0() + Duration::seconds(30);
    let retried = c
        .retry_later(a1.id, "connection reset", false, later, t0())
        .unwrap();
    assert_eq!((retried.state, retried.attempts), (OutboxState::Pending, 1));
    assert_eq!(retried.last_error.as_deref(), Some("connection reset"));
    assert!(c
        .claim_due(t0() + Duration::seconds(29), 10)
        .unwrap()
        .is_empty());
    assert_eq!(ids(&c.claim_due(later, 10).unwrap()), [a1.id]);

    // a1 confirmed: a2 was made on top of it, so it is re-based on a1's new version.
    assert_eq!(mark_write(&a2).base_version, None);
    c.complete(a1.id, &json!({"data": {"id": "m-a", "version": 5}}), later)
        .unwrap();
    let pending = &c.attendance_marks(day(), None).unwrap()[0];
    assert_eq!(pending.student_source_id, "s-1");
    assert_eq!(
        (pending.state, pending.version, pending.status),
        (MarkState::Pending, Some(5), AttendanceStatus::Absent),
        "a later write still waits, so the mark stays pending with the new base"
    );
    let next = c.claim_due(later, 10).unwrap();
    assert_eq!(ids(&next), [a2.id]);
    assert_eq!(mark_write(&next[0]).base_version, Some(5));
    c.complete(a2.id, &json!({"data": {"id": "m-a", "version": 6}}), later)
        .unwrap();
    let synced = &c.attendance_marks(day(), None).unwrap()[0];
    assert_eq!((synced.state, synced.version), (MarkState::Synced, Some(6)));
    assert!(c.claim_due(later, 10).unwrap().is_empty());
    assert_eq!(c.outbox_counts().unwrap()["done"], 3);
}

#[test]
fn a_write_in_flight_when_the_process_died_is_sent_again_with_the_same_key() {
    let desk = Desk::new();
    let (_, entry) = desk
        .cache
        .record_attendance(
            &mark(System::OmniForge, "s-1", AttendanceStatus::Present),
            t0(),
            Uuid::from_u128(42),
        )
        .unwrap();
    let entry = entry.unwrap();
    let claimed = desk.cache.claim_due(t0(), 10).unwrap();
    assert_eq!(ids(&claimed), [entry.id]);
    let request = json!({"method": "POST", "route": "/attendance"});
    assert_eq!(
        desk.cache.begin_attempt(entry.id, &request, t0()).unwrap(),
        1
    );

    // "Crash": the cache is dropped with the write still Sending and its request unanswered.
    let desk = desk.restart();
    let sending = desk.cache.outbox_list(Some(OutboxState::Sending)).unwrap();
    assert_eq!(ids(&sending), [entry.id]);
    let again = desk
        .cache
        .claim_due(t0() + Duration::minutes(5), 10)
        .unwrap();
    assert_eq!(ids(&again), [entry.id]);
    assert_eq!(again[0].idempotency_key, Uuid::from_u128(42));
    assert_eq!(again[0].write, entry.write);
    assert!(
        again[0].uncertain,
        "the request may have reached the system: settle before resending"
    );
    assert_eq!(
        desk.cache.last_attempt_started(entry.id).unwrap(),
        Some(t0())
    );
    let receipt = desk.cache.receipt(entry.id).unwrap();
    assert_eq!(receipt.attempts.len(), 1);
    assert_eq!(
        (
            receipt.attempts[0].finished_at,
            &receipt.attempts[0].outcome
        ),
        (None, &None)
    );
}

#[test]
fn conflict_and_failure_close_the_entry_and_flag_the_mark() {
    let desk = Desk::new();
    let c = &desk.cache;
    let (_, a) = c
        .record_attendance(
            &mark(System::OmniForge, "s-1", AttendanceStatus::Absent),
            t0(),
            Uuid::from_u128(1),
        )
        .unwrap();
    let (_, b) = c
        .record_attendance(
            &mark(System::OmniForge, "s-2", AttendanceStatus::Absent),
            t0(),
            Uuid::from_u128(2),
        )
        .unwrap();
    let (a, b) = (a.unwrap(), b.unwrap());
    c.claim_due(t0(), 10).unwrap();

    let server = json!({"id": "m-1", "studentId": "s-1", "status": "present", "version": 9});
    let conflicted = c.conflict(a.id, &server, t0()).unwrap();
    assert_eq!(conflicted.state, OutboxState::Conflict);
    assert_eq!(c.outbox_result(a.id).unwrap(), Some(server));
    let failed = c.fail(b.id, "422 validation.failed: status", t0()).unwrap();
    assert_eq!(failed.state, OutboxState::Failed);
    assert_eq!(
        failed.last_error.as_deref(),
        Some("422 validation.failed: status")
    );

    let marks = c.attendance_marks(day(), None).unwrap();
    assert!(
        marks.iter().all(|m| m.state == MarkState::Conflict),
        "{marks:?}"
    );
    assert_eq!(
        ids(&c.outbox_list(Some(OutboxState::Conflict)).unwrap()),
        [a.id]
    );
    assert_eq!(
        ids(&c.outbox_list(Some(OutboxState::Failed)).unwrap()),
        [b.id]
    );
    assert!(c
        .claim_due(t0() + Duration::hours(1), 10)
        .unwrap()
        .is_empty());

    // A closed entry cannot change again, and an unknown one is reported.
    for err in [
        c.complete(a.id, &json!({}), t0()).unwrap_err(),
        c.retry_later(b.id, "x", false, t0(), t0()).unwrap_err(),
    ] {
        assert!(
            matches!(err, CacheError::OutboxEntryClosed { .. }),
            "{err:?}"
        );
    }
    assert!(matches!(
        c.fail(999, "x", t0()).unwrap_err(),
        CacheError::OutboxEntryNotFound { id: 999 }
    ));
}

#[test]
fn enqueue_keeps_other_operations_in_order_and_is_idempotent() {
    let desk = Desk::new();
    let grade = |g: &str| Write::SetGrade {
        class_id: "class-1".into(),
        assignment_id: "hw1".into(),
        student_id: "u1".into(),
        grade: g.into(),
        seen: None,
    };
    let new = NewOutboxEntry {
        idempotency_key: Uuid::from_u128(9),
        write: grade("9"),
        created_at: t0(),
    };
    let first = desk.cache.enqueue(new.clone()).unwrap();
    assert_eq!(
        (first.system, first.operation),
        (System::Matrix, Operation::SetGrades)
    );
    assert_eq!(first.entity_key, "matrix:grade:hw1:u1");
    assert_eq!(
        first.write,
        grade("9"),
        "the cache hands the write back unchanged"
    );
    assert_eq!(desk.cache.enqueue(new.clone()).unwrap(), first);
    let err = desk
        .cache
        .enqueue(NewOutboxEntry {
            write: grade("10"),
            ..new
        })
        .unwrap_err();
    assert!(matches!(err, CacheError::IdempotencyKeyReused { .. }));
    // A later grade for the same student and assignment waits behind the first.
    let second = desk
        .cache
        .enqueue(NewOutboxEntry {
            idempotency_key: Uuid::from_u128(10),
            write: grade("10"),
            created_at: t0(),
        })
        .unwrap();
    let done = desk.cache.claim_due(t0(), 10).unwrap();
    assert_eq!(ids(&done), [first.id]);
    let completed = desk
        .cache
        .complete(first.id, &json!({"ok": true}), t0())
        .unwrap();
    assert_eq!(completed.state, OutboxState::Done);
    assert_eq!(
        desk.cache.outbox_result(first.id).unwrap(),
        Some(json!({"ok": true}))
    );
    assert_eq!(ids(&desk.cache.claim_due(t0(), 10).unwrap()), [second.id]);
}
