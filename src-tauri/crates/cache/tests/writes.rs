//! Typed writes through the outbox on a real SQLCipher file: receipts, uncertain outcomes,
//! the attempt cap, held systems, conflicts a person resolves, discards, delivery batches
//! stored with the entry that fetched them, and import schemas.

mod common;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use common::*;
use schooldesk_cache::{
    Cache, CacheError, ImportSchema, NewAttendance, NewOutboxEntry, Resolution,
    MAX_TRANSIENT_ATTEMPTS,
};
use schooldesk_domain::{
    AttendanceStatus, MarkState, MarkWrite, OutboxEntry, OutboxState, System, Write,
};
use serde_json::{json, Value};
use uuid::Uuid;

struct Desk {
    dir: tempfile::TempDir,
    cache: Cache,
}

impl Desk {
    fn new() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open_with_key(&db_path(dir.path()), &key(31)).unwrap();
        cache
            .upsert_students(&[
                student(System::OmniForge, "s-1", "Ann", "Lee"),
                student(System::OmniForge, "s-2", "Bob", "Kim"),
            ])
            .unwrap();
        cache
            .upsert_sections(&[section(System::OmniForge, "sec-1", "7A")])
            .unwrap();
        Desk { dir, cache }
    }

    /// Closes and reopens the file, as after a crash or a restart.
    fn restart(self) -> Desk {
        let Desk { dir, cache } = self;
        drop(cache);
        let cache = Cache::open_with_key(&db_path(dir.path()), &key(31)).unwrap();
        Desk { dir, cache }
    }

    fn mark(&self, student: &str, status: AttendanceStatus, key: u128) -> OutboxEntry {
        self.cache
            .record_attendance(&new_mark(student, status), t0(), Uuid::from_u128(key))
            .unwrap()
            .1
            .expect("OmniForge takes attendance writes")
    }

    fn queue(&self, write: Write, key: u128) -> OutboxEntry {
        self.cache
            .enqueue(NewOutboxEntry {
                idempotency_key: Uuid::from_u128(key),
                write,
                created_at: t0(),
            })
            .unwrap()
    }

    fn entry(&self, id: i64) -> OutboxEntry {
        self.cache.outbox_entry(id).unwrap().unwrap()
    }

    fn the_mark(&self, student: &str) -> schooldesk_domain::AttendanceMark {
        self.cache
            .attendance_mark(System::OmniForge, student, Some("sec-1"), Some("1"), day())
            .unwrap()
            .unwrap()
    }

    /// Claims everything due at `at` and starts a request for `id`, as the replay does.
    fn send(&self, id: i64, at: DateTime<Utc>) -> u32 {
        let claimed = self.cache.claim_due(at, 100).unwrap();
        assert!(
            claimed.iter().any(|e| e.id == id),
            "entry {id} should be due at {at}"
        );
        self.cache
            .begin_attempt(id, &json!({"method": "POST", "entry": id}), at)
            .unwrap()
    }
}

fn new_mark(student: &str, status: AttendanceStatus) -> NewAttendance {
    NewAttendance {
        system: System::OmniForge,
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

fn mark_write(entry: &OutboxEntry) -> &MarkWrite {
    match &entry.write {
        Write::Mark(m) => m,
        other => panic!("expected a mark write, got {other:?}"),
    }
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn create_batch(target: &str) -> Write {
    Write::CreateBatch {
        target_id: target.into(),
    }
}

fn batch_answer(id: &str) -> Value {
    json!({"id": id, "date": "2024-09-02T08:05:00Z", "records": [
        {"id": 123, "submitted": "2024-09-01T16:50:53Z",
         "data": {"student": {"studentID": "33765833", "firstName": "Alice"}}},
        {"id": 124, "submitted": "2024-09-01T17:00:00Z",
         "data": {"student": {"studentID": "33765834", "firstName": "Ben"}}}
    ]})
}

fn grade(g: &str) -> Write {
    Write::SetGrade {
        class_id: "c-1".into(),
        assignment_id: "hw1".into(),
        student_id: "u-1".into(),
        grade: g.into(),
        seen: None,
    }
}

#[test]
fn a_receipt_keeps_what_was_sent_when_and_what_the_system_answered() {
    let desk = Desk::new();
    let entry = desk.mark("s-1", AttendanceStatus::Present, 1);
    assert!(desk.cache.receipt(entry.id).unwrap().attempts.is_empty());

    desk.cache.claim_due(at(1), 10).unwrap();
    let request = json!({"method": "POST", "route": "/attendance", "body": {"studentId": "s-1"}});
    assert_eq!(
        desk.cache.begin_attempt(entry.id, &request, at(1)).unwrap(),
        1
    );
    assert!(
        desk.entry(entry.id).uncertain,
        "a request is out with no answer recorded"
    );
    let before = desk.cache.receipt(entry.id).unwrap();
    assert_eq!(before.attempts.len(), 1);
    assert_eq!(before.attempts[0].n, 1);
    assert_eq!(before.attempts[0].started_at, at(1));
    assert_eq!(before.attempts[0].request, request);
    assert_eq!(
        (before.attempts[0].finished_at, &before.attempts[0].outcome),
        (None, &None)
    );
    assert_eq!(before.answer, None);

    let answer = json!({"data": {"id": "m-1", "version": 3, "status": "present"}});
    let done = desk.cache.complete(entry.id, &answer, at(2)).unwrap();
    assert_eq!(done.state, OutboxState::Done);
    assert!(!done.uncertain, "the answer settles it");

    // The receipt survives a restart.
    let desk = desk.restart();
    let receipt = desk.cache.receipt(entry.id).unwrap();
    assert_eq!(receipt.entry, done);
    assert_eq!(receipt.attempts.len(), 1);
    let a = &receipt.attempts[0];
    assert_eq!((a.started_at, a.finished_at), (at(1), Some(at(2))));
    assert_eq!(a.request, request);
    assert_eq!(a.outcome.as_deref(), Some("applied"));
    assert_eq!(a.answer.as_ref(), Some(&answer));
    assert_eq!(receipt.answer, Some(answer));
    assert!(matches!(
        desk.cache.receipt(999).unwrap_err(),
        CacheError::OutboxEntryNotFound { id: 999 }
    ));
}

#[test]
fn an_uncertain_entry_is_claimed_again_still_uncertain_until_a_read_settles_it() {
    let desk = Desk::new();
    let entry = desk.mark("s-1", AttendanceStatus::Absent, 1);
    assert_eq!(desk.send(entry.id, at(1)), 1);

    // The process dies with the request unanswered.
    let desk = desk.restart();
    let again = desk.cache.claim_due(at(5), 10).unwrap();
    assert_eq!(ids(&again), [entry.id]);
    assert!(again[0].uncertain);
    assert_eq!(again[0].idempotency_key, entry.idempotency_key);
    assert_eq!(
        desk.cache.last_attempt_started(entry.id).unwrap(),
        Some(at(1))
    );

    // A lost reply: pending again, still uncertain, the attempt finished as such.
    let later = desk
        .cache
        .retry_later(entry.id, "The reply was lost.", true, at(6), at(5))
        .unwrap();
    assert_eq!(
        (later.state, later.uncertain, later.attempts),
        (OutboxState::Pending, true, 1)
    );
    let receipt = desk.cache.receipt(entry.id).unwrap();
    assert_eq!(receipt.attempts[0].outcome.as_deref(), Some("uncertain"));
    assert_eq!(receipt.attempts[0].finished_at, Some(at(5)));

    // The replay reads the system first; it does not hold the mark: may be sent.
    assert_eq!(desk.send(entry.id, at(6)), 2);
    let absent = desk
        .cache
        .settled_absent(entry.id, &json!("Not on the system yet."), at(6))
        .unwrap();
    assert!(!absent.uncertain);
    assert_eq!(absent.state, OutboxState::Sending, "still to be sent");
    assert_eq!(
        desk.cache
            .begin_attempt(entry.id, &json!({"send": 3}), at(6))
            .unwrap(),
        3
    );
    desk.cache
        .complete(
            entry.id,
            &json!({"data": {"id": "m-1", "version": 1}}),
            at(7),
        )
        .unwrap();
    let outcomes: Vec<_> = desk
        .cache
        .receipt(entry.id)
        .unwrap()
        .attempts
        .into_iter()
        .map(|a| a.outcome.unwrap())
        .collect();
    assert_eq!(outcomes, ["uncertain", "settled_absent", "applied"]);
    assert_eq!(desk.the_mark("s-1").state, MarkState::Synced);
}

#[test]
fn transient_failures_are_counted_and_capped_then_a_person_retries() {
    let desk = Desk::new();
    let entry = desk.mark("s-1", AttendanceStatus::Tardy, 1);
    let mut now = t0();
    for n in 1..MAX_TRANSIENT_ATTEMPTS {
        desk.send(entry.id, now);
        let next = now + Duration::seconds(30);
        let e = desk
            .cache
            .retry_later(entry.id, "OmniForge answered 503.", false, next, now)
            .unwrap();
        assert_eq!((e.state, e.attempts), (OutboxState::Pending, n));
        assert_eq!(e.next_attempt_at, next);
        assert!(
            desk.cache.claim_due(now, 10).unwrap().is_empty(),
            "backing off"
        );
        now = next;
    }
    desk.send(entry.id, now);
    let failed = desk
        .cache
        .retry_later(entry.id, "OmniForge answered 503.", false, now, now)
        .unwrap();
    assert_eq!(
        (failed.state, failed.attempts),
        (OutboxState::Failed, MAX_TRANSIENT_ATTEMPTS)
    );
    let why = failed.last_error.clone().unwrap();
    assert!(why.contains("OmniForge answered 503."), "{why}");
    assert!(why.contains("retry"), "says it can be retried: {why}");
    assert!(desk.cache.claim_due(at(600), 10).unwrap().is_empty());
    assert_eq!(desk.the_mark("s-1").state, MarkState::Conflict);
    assert_eq!(
        desk.cache.receipt(entry.id).unwrap().attempts.len(),
        MAX_TRANSIENT_ATTEMPTS as usize
    );

    let retried = desk.cache.retry(entry.id, None, at(700)).unwrap();
    assert_eq!((retried.state, retried.attempts), (OutboxState::Pending, 0));
    assert_eq!(retried.resolution.as_deref(), Some("retried"));
    assert_eq!(retried.write, entry.write);
    assert_eq!(retried.idempotency_key, entry.idempotency_key);
    assert_eq!(desk.the_mark("s-1").state, MarkState::Pending);
    assert_eq!(ids(&desk.cache.claim_due(at(700), 10).unwrap()), [entry.id]);
    // A pending entry is not "retried": only a failed or held one.
    let other = desk.mark("s-2", AttendanceStatus::Present, 2);
    assert!(matches!(
        desk.cache.retry(other.id, None, at(700)).unwrap_err(),
        CacheError::OutboxEntryClosed { .. }
    ));
}

#[test]
fn a_system_that_needs_attention_holds_its_entries_and_not_another_systems() {
    let desk = Desk::new();
    let a = desk.mark("s-1", AttendanceStatus::Present, 1);
    let b = desk.mark("s-2", AttendanceStatus::Present, 2);
    let g = desk.queue(grade("B"), 3);
    let batch = desk.queue(create_batch("5"), 4);
    desk.send(a.id, at(1));
    // Claimed together: b, the grade and the batch are Sending too.

    let held = desk
        .cache
        .hold_system(
            System::OmniForge,
            Some(a.id),
            "OmniForge refused the API key.",
            at(1),
        )
        .unwrap();
    assert_eq!(held, 2);
    for id in [a.id, b.id] {
        let e = desk.entry(id);
        assert_eq!(e.state, OutboxState::Held, "entry {id}");
        assert_eq!(
            e.last_error.as_deref(),
            Some("OmniForge refused the API key.")
        );
    }
    assert!(
        !desk.entry(a.id).uncertain,
        "the system answered: nothing applied"
    );
    let attempt = &desk.cache.receipt(a.id).unwrap().attempts[0];
    assert_eq!(attempt.outcome.as_deref(), Some("held"));
    for id in [g.id, batch.id] {
        assert_eq!(desk.entry(id).state, OutboxState::Sending, "entry {id}");
    }
    // Held entries are not claimed; the other systems' are.
    let claimed = desk.cache.claim_due(at(2), 10).unwrap();
    assert_eq!(ids(&claimed), [g.id, batch.id]);
    // Nor counted as failed, nor lost on a restart.
    let desk = desk.restart();
    assert_eq!(desk.cache.outbox_counts().unwrap()["held"], 2);
    assert!(!desk.cache.outbox_counts().unwrap().contains_key("failed"));

    // `connect` fixed it: both are due at once.
    assert_eq!(desk.cache.release_held(System::Matrix, at(3)).unwrap(), 0);
    assert_eq!(
        desk.cache.release_held(System::OmniForge, at(3)).unwrap(),
        2
    );
    for id in [a.id, b.id] {
        let e = desk.entry(id);
        assert_eq!((e.state, e.next_attempt_at), (OutboxState::Pending, at(3)));
    }
    let due = desk.cache.claim_due(at(3), 10).unwrap();
    assert_eq!(ids(&due), [a.id, b.id, g.id, batch.id]);
}

#[test]
fn a_held_entry_keeps_its_entitys_place() {
    let desk = Desk::new();
    let first = desk.mark("s-1", AttendanceStatus::Absent, 1);
    desk.send(first.id, at(1));
    desk.cache
        .hold_system(System::OmniForge, Some(first.id), "The key expired.", at(1))
        .unwrap();
    // A change made while the system is held, to the same mark and to another.
    let second = desk
        .cache
        .record_attendance(
            &new_mark("s-1", AttendanceStatus::Present),
            at(2),
            Uuid::from_u128(2),
        )
        .unwrap()
        .1
        .unwrap();
    let other = desk
        .cache
        .record_attendance(
            &new_mark("s-2", AttendanceStatus::Present),
            at(2),
            Uuid::from_u128(3),
        )
        .unwrap()
        .1
        .unwrap();
    assert_eq!(second.entity_key, first.entity_key);
    let claimed = desk.cache.claim_due(at(5), 10).unwrap();
    assert_eq!(
        ids(&claimed),
        [other.id],
        "the later write to the held mark must not overtake it"
    );
    desk.cache.release_held(System::OmniForge, at(6)).unwrap();
    assert_eq!(
        ids(&desk.cache.claim_due(at(6), 10).unwrap()),
        [first.id, other.id]
    );
}

/// A mark in conflict: s-1 marked absent on the desk, the server holds "present" at version 9.
fn conflicted(desk: &Desk) -> OutboxEntry {
    let entry = desk.mark("s-1", AttendanceStatus::Absent, 1);
    desk.send(entry.id, at(1));
    let server = json!({"data": {"id": "m-1", "studentId": "s-1", "status": "present",
        "code": "P", "note": "seen in class", "version": 9, "updatedBy": "Ms Kay"}});
    let e = desk.cache.conflict(entry.id, &server, at(2)).unwrap();
    assert_eq!(e.state, OutboxState::Conflict);
    assert_eq!(desk.the_mark("s-1").state, MarkState::Conflict);
    e
}

#[test]
fn keep_mine_sends_the_desks_mark_again_against_the_servers_version_with_a_new_key() {
    let desk = Desk::new();
    let entry = conflicted(&desk);
    assert_eq!(mark_write(&entry).base_version, None);
    let kept = desk
        .cache
        .resolve(entry.id, Resolution::KeepMine, Uuid::from_u128(77), at(3))
        .unwrap();
    assert_eq!(kept.state, OutboxState::Pending);
    assert_eq!(kept.idempotency_key, Uuid::from_u128(77));
    assert_ne!(kept.idempotency_key, entry.idempotency_key);
    assert_eq!(kept.resolution.as_deref(), Some("kept_mine"));
    assert_eq!((kept.attempts, kept.uncertain), (0, false));
    assert_eq!(mark_write(&kept).base_version, Some(9));
    assert_eq!(
        mark_write(&kept).status,
        AttendanceStatus::Absent,
        "still mine"
    );
    assert_eq!(kept.entity_key, entry.entity_key);
    let mark = desk.the_mark("s-1");
    assert_eq!(
        (mark.state, mark.status),
        (MarkState::Pending, AttendanceStatus::Absent)
    );
    // The conflict stays on the receipt.
    let receipt = desk.cache.receipt(entry.id).unwrap();
    assert_eq!(receipt.attempts[0].outcome.as_deref(), Some("conflict"));
    assert_eq!(
        receipt.attempts[0].answer.as_ref().unwrap()["data"]["updatedBy"],
        "Ms Kay"
    );

    let due = desk.cache.claim_due(at(3), 10).unwrap();
    assert_eq!(ids(&due), [entry.id]);
    assert_eq!(due[0].idempotency_key, Uuid::from_u128(77));
    // Resolved once: a second resolution is refused.
    assert!(matches!(
        desk.cache
            .resolve(entry.id, Resolution::TakeTheirs, Uuid::from_u128(78), at(4))
            .unwrap_err(),
        CacheError::InvalidInput(m) if m.contains("only a conflict can be resolved")
    ));
}

#[test]
fn take_theirs_makes_the_servers_mark_the_desks_and_sends_nothing() {
    let desk = Desk::new();
    let entry = conflicted(&desk);
    let taken = desk
        .cache
        .resolve(entry.id, Resolution::TakeTheirs, Uuid::from_u128(77), at(3))
        .unwrap();
    assert_eq!(taken.state, OutboxState::Done);
    assert_eq!(taken.resolution.as_deref(), Some("took_theirs"));
    assert_eq!(taken.idempotency_key, entry.idempotency_key);
    let mark = desk.the_mark("s-1");
    assert_eq!(
        (mark.state, mark.status, mark.version),
        (MarkState::Synced, AttendanceStatus::Present, Some(9))
    );
    assert_eq!(
        (mark.code.as_deref(), mark.note.as_deref()),
        (Some("P"), Some("seen in class"))
    );
    assert_eq!(mark.source.source_id, "m-1");
    assert!(desk.cache.claim_due(at(100), 10).unwrap().is_empty());
    // A later change is made against the server's version.
    let next = desk.mark("s-1", AttendanceStatus::Tardy, 5);
    assert_eq!(mark_write(&next).base_version, Some(9));
}

#[test]
fn resolving_an_entry_that_is_not_a_conflict_is_refused_and_changes_nothing() {
    let desk = Desk::new();
    let pending = desk.mark("s-1", AttendanceStatus::Absent, 1);
    let failed = desk.mark("s-2", AttendanceStatus::Absent, 2);
    desk.send(failed.id, at(1));
    desk.cache
        .fail(failed.id, "422: status is not allowed", at(1))
        .unwrap();
    for id in [pending.id, failed.id] {
        let before = desk.cache.receipt(id).unwrap();
        let marks = desk.cache.attendance_marks(day(), None).unwrap();
        for how in [Resolution::KeepMine, Resolution::TakeTheirs] {
            let err = desk
                .cache
                .resolve(id, how, Uuid::from_u128(90), at(2))
                .unwrap_err();
            assert!(
                matches!(&err, CacheError::InvalidInput(m) if m.contains("not a conflict")),
                "{how:?} on {id}: {err:?}"
            );
        }
        assert_eq!(desk.cache.receipt(id).unwrap(), before);
        assert_eq!(desk.cache.attendance_marks(day(), None).unwrap(), marks);
    }
    assert!(matches!(
        desk.cache
            .resolve(999, Resolution::KeepMine, Uuid::from_u128(91), at(2))
            .unwrap_err(),
        CacheError::OutboxEntryNotFound { id: 999 }
    ));
}

#[test]
fn a_failed_entry_is_discarded_with_its_receipt_but_an_uncertain_one_is_not() {
    let desk = Desk::new();
    let failed = desk.mark("s-1", AttendanceStatus::Absent, 1);
    let lost = desk.mark("s-2", AttendanceStatus::Absent, 2);
    desk.send(failed.id, at(1));
    desk.cache
        .begin_attempt(lost.id, &json!({"n": 1}), at(1))
        .unwrap();
    desk.cache
        .fail(failed.id, "422: status is not allowed", at(1))
        .unwrap();
    desk.cache
        .retry_later(lost.id, "The reply was lost.", true, at(2), at(1))
        .unwrap();

    let discarded = desk.cache.discard(failed.id, at(3)).unwrap();
    assert_eq!(discarded.state, OutboxState::Discarded);
    assert_eq!(discarded.resolution.as_deref(), Some("discarded"));
    let receipt = desk.cache.receipt(failed.id).unwrap();
    assert_eq!(receipt.attempts.len(), 1);
    assert_eq!(receipt.attempts[0].outcome.as_deref(), Some("refused"));
    assert_eq!(
        receipt.entry.last_error.as_deref(),
        Some("422: status is not allowed"),
        "the reason is kept"
    );
    assert_eq!(desk.the_mark("s-1").state, MarkState::LocalOnly);
    assert!(matches!(
        desk.cache.discard(failed.id, at(4)).unwrap_err(),
        CacheError::OutboxEntryClosed { .. }
    ));

    // The lost reply may have reached OmniForge: discarding it would hide a mark the school
    // has, so Schooldesk must check first.
    let before = desk.cache.receipt(lost.id).unwrap();
    let err = desk.cache.discard(lost.id, at(3)).unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)), "{err:?}");
    assert!(err.to_string().contains("check"), "{err}");
    assert_eq!(desk.cache.receipt(lost.id).unwrap(), before);
    assert_eq!(desk.the_mark("s-2").state, MarkState::Pending);
    // An entry being sent cannot be discarded either.
    desk.send(lost.id, at(2));
    assert!(matches!(
        desk.cache.discard(lost.id, at(3)).unwrap_err(),
        CacheError::OutboxEntryClosed { .. }
    ));
}

#[test]
fn a_fetched_delivery_batch_is_stored_with_the_entry_that_fetched_it() {
    let desk = Desk::new();
    let fetch = desk.queue(create_batch("5"), 1);
    let reset = desk.queue(
        Write::ResetBatch {
            target_id: "5".into(),
            batch_id: "b-1".into(),
        },
        2,
    );
    assert_eq!(fetch.entity_key, reset.entity_key, "one target, in order");
    assert_eq!(ids(&desk.cache.claim_due(at(1), 10).unwrap()), [fetch.id]);
    desk.cache
        .begin_attempt(fetch.id, &json!({"route": "createbatch"}), at(1))
        .unwrap();
    let answer = batch_answer("b-1");
    desk.cache.complete(fetch.id, &answer, at(2)).unwrap();

    let desk = desk.restart();
    let batches = desk.cache.delivery_batches(Some("5")).unwrap();
    assert_eq!(batches.len(), 1);
    let b = &batches[0];
    assert_eq!((b.target_id.as_str(), b.batch_id.as_str()), ("5", "b-1"));
    assert_eq!(b.created_at, "2024-09-02T08:05:00Z");
    assert_eq!(
        (b.fetched_at, b.outbox_id, b.reset_at),
        (at(2), Some(fetch.id), None)
    );
    assert_eq!(Value::Array(b.records.clone()), answer["records"]);
    assert_eq!(desk.cache.known_batch_ids("5").unwrap(), ["b-1"]);
    assert!(desk.cache.known_batch_ids("6").unwrap().is_empty());
    assert!(desk.cache.delivery_batches(Some("6")).unwrap().is_empty());
    assert_eq!(desk.cache.delivery_batches(None).unwrap(), batches);

    // The reset waited for the fetch; confirmed, the batch shows when its records went back.
    assert_eq!(ids(&desk.cache.claim_due(at(3), 10).unwrap()), [reset.id]);
    desk.cache.complete(reset.id, &Value::Null, at(4)).unwrap();
    let b = &desk.cache.delivery_batches(Some("5")).unwrap()[0];
    assert_eq!(b.reset_at, Some(at(4)));
    assert_eq!(b.records.len(), 2, "the records stay on the receipt");
}

#[test]
fn a_batch_is_stored_only_if_its_entry_completes_in_the_same_transaction() {
    let desk = Desk::new();
    let fetch = desk.queue(create_batch("5"), 1);
    desk.send(fetch.id, at(1));

    // The transaction that completes the entry does not commit: neither lands.
    let err = desk
        .cache
        .with_transaction(|tx| {
            tx.complete(fetch.id, &batch_answer("b-1"), at(2))?;
            Err::<(), _>(CacheError::InvalidInput("the disk filled up.".into()))
        })
        .unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)));
    assert!(desk.cache.known_batch_ids("5").unwrap().is_empty());
    let e = desk.entry(fetch.id);
    assert_eq!((e.state, e.uncertain), (OutboxState::Sending, true));

    // An answer that cannot be stored leaves the entry open (and uncertain) too.
    let err = desk
        .cache
        .complete(fetch.id, &json!({"records": [{"id": 1}]}), at(2))
        .unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)), "{err:?}");
    let e = desk.entry(fetch.id);
    assert_eq!((e.state, e.uncertain), (OutboxState::Sending, true));
    assert!(desk.cache.receipt(fetch.id).unwrap().attempts[0]
        .finished_at
        .is_none());

    desk.cache
        .complete(fetch.id, &batch_answer("b-1"), at(3))
        .unwrap();
    assert_eq!(desk.cache.known_batch_ids("5").unwrap(), ["b-1"]);
    // A closed entry completed again (a duplicate answer) stores nothing more.
    let err = desk
        .cache
        .complete(fetch.id, &batch_answer("b-2"), at(4))
        .unwrap_err();
    assert!(
        matches!(err, CacheError::OutboxEntryClosed { .. }),
        "{err:?}"
    );
    assert_eq!(desk.cache.known_batch_ids("5").unwrap(), ["b-1"]);

    // An empty batch is no batch: done, nothing stored.
    let empty = desk.queue(create_batch("7"), 2);
    desk.send(empty.id, at(5));
    let done = desk
        .cache
        .complete(empty.id, &json!({"id": "b-9", "records": []}), at(5))
        .unwrap();
    assert_eq!(done.state, OutboxState::Done);
    assert!(desk.cache.known_batch_ids("7").unwrap().is_empty());
}

#[test]
fn a_retry_may_correct_the_write_but_not_turn_it_into_another() {
    let desk = Desk::new();
    let record = |id: &str, grade: &str| -> BTreeMap<String, String> {
        [("stu_ExternalID", id), ("stu_Grade", grade)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let import = |id: &str, grade: &str| Write::ImportRosterRecord {
        action_id: "102".into(),
        schema_id: "7".into(),
        record: record(id, grade),
    };
    let entry = desk.queue(import("E-1", "seventh"), 1);
    desk.send(entry.id, at(1));
    desk.cache
        .fail(
            entry.id,
            "PowerSchool refused it: stu_Grade must be a number.",
            at(1),
        )
        .unwrap();

    let wrong = [
        // Another record.
        import("E-2", "7"),
        // Another kind of write.
        Write::SubmitForm {
            action_id: "102".into(),
            data_items: record("E-1", "7"),
        },
        create_batch("5"),
    ];
    for w in wrong {
        let before = desk.cache.receipt(entry.id).unwrap();
        let err = desk
            .cache
            .retry(entry.id, Some(w.clone()), at(2))
            .unwrap_err();
        assert!(matches!(err, CacheError::InvalidInput(_)), "{w:?}: {err:?}");
        assert!(err.to_string().contains("Nothing was changed"), "{err}");
        assert_eq!(desk.cache.receipt(entry.id).unwrap(), before, "{w:?}");
    }
    let fixed = desk
        .cache
        .retry(entry.id, Some(import("E-1", "7")), at(2))
        .unwrap();
    assert_eq!((fixed.state, fixed.attempts), (OutboxState::Pending, 0));
    assert_eq!(fixed.write, import("E-1", "7"));
    assert_eq!(fixed.idempotency_key, entry.idempotency_key);
    let due = desk.cache.claim_due(at(2), 10).unwrap();
    assert_eq!(ids(&due), [entry.id]);
    assert_eq!(due[0].write, import("E-1", "7"));
}

#[test]
fn import_schemas_are_replaced_per_action_and_read_back() {
    let desk = Desk::new();
    let schema = |id: &str, fields: &[&str]| ImportSchema {
        action_id: "102".into(),
        schema_id: id.into(),
        title: format!("Roster {id}"),
        fields: fields.iter().map(|f| f.to_string()).collect(),
    };
    let other = ImportSchema {
        action_id: "103".into(),
        ..schema("1", &["stu_ExternalID"])
    };
    desk.cache
        .replace_import_schemas("103", std::slice::from_ref(&other), t0())
        .unwrap();
    let first = [
        schema("1", &["stu_ExternalID", "stu_FirstName", "stu_LastName"]),
        schema("2", &["stu_ExternalID", "stu_Grade"]),
    ];
    desk.cache
        .replace_import_schemas("102", &first, t0())
        .unwrap();
    let desk = desk.restart();
    assert_eq!(
        desk.cache.import_schema("102", "1").unwrap().as_ref(),
        Some(&first[0])
    );
    assert_eq!(
        desk.cache.import_schema("102", "2").unwrap().as_ref(),
        Some(&first[1])
    );

    let second = [schema("2", &["stu_ExternalID"])];
    desk.cache
        .replace_import_schemas("102", &second, at(1))
        .unwrap();
    assert_eq!(desk.cache.import_schema("102", "1").unwrap(), None, "gone");
    assert_eq!(
        desk.cache.import_schema("102", "2").unwrap().as_ref(),
        Some(&second[0])
    );
    assert_eq!(
        desk.cache.import_schema("103", "1").unwrap(),
        Some(other),
        "untouched"
    );
    assert_eq!(desk.cache.import_schema("404", "1").unwrap(), None);
}

#[test]
fn minutes_late_are_kept_on_the_mark_and_its_write() {
    let desk = Desk::new();
    let (mark, entry) = desk
        .cache
        .record_attendance(
            &NewAttendance {
                code: Some("L".into()),
                minutes_late: Some(12),
                ..new_mark("s-1", AttendanceStatus::Tardy)
            },
            t0(),
            Uuid::from_u128(1),
        )
        .unwrap();
    assert_eq!(mark.minutes, Some(12));
    assert_eq!(mark_write(&entry.unwrap()).minutes_late, Some(12));
    let desk = desk.restart();
    assert_eq!(desk.the_mark("s-1").minutes, Some(12));
    // A later mark without them clears them.
    let (mark, entry) = desk
        .cache
        .record_attendance(
            &new_mark("s-1", AttendanceStatus::Present),
            t0(),
            Uuid::from_u128(2),
        )
        .unwrap();
    assert_eq!(mark.minutes, None);
    assert_eq!(mark_write(&entry.unwrap()).minutes_late, None);
}

fn submission(first: &str) -> Write {
    Write::SubmitForm {
        action_id: "102".into(),
        data_items: [("stu_FirstName", first), ("stu_LastName", "Smith")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    }
}

/// A submission whose reply was lost at minute 1, checked again at minute 10.
fn lost_submission(desk: &Desk) -> OutboxEntry {
    let entry = desk.queue(submission("Alice"), 1);
    desk.send(entry.id, at(1));
    desk.cache
        .retry_later(entry.id, "The reply was lost.", true, at(10), at(1))
        .unwrap();
    let claimed = desk.cache.claim_due(at(10), 10).unwrap();
    assert!(claimed[0].uncertain);
    assert_eq!(
        desk.cache.last_attempt_started(entry.id).unwrap(),
        Some(at(1))
    );
    // The replay records its read of the system as an attempt of its own.
    desk.cache
        .begin_attempt(
            entry.id,
            &json!({"check": "Did the last request arrive?"}),
            at(10),
        )
        .unwrap();
    entry
}

#[test]
fn a_check_that_could_not_be_made_keeps_the_time_of_the_request_it_checks() {
    // REGRESSION: `last_attempt_started` answered the start of the latest attempt, which after
    // a failed check is the check itself. PowerSchool's settle looks for the submission (and
    // for lost delivery batches) created since that moment (less 2 minutes of clock slack),
    // so a submission received at minute 1 was not found at minute 30 and was sent again: a
    // duplicate form. It must stay the start of the request whose outcome is unknown.
    let desk = Desk::new();
    let entry = lost_submission(&desk);
    desk.cache
        .retry_later(
            entry.id,
            "PowerSchool did not answer.",
            true,
            at(30),
            at(10),
        )
        .unwrap();
    let claimed = desk.cache.claim_due(at(30), 10).unwrap();
    assert!(claimed[0].uncertain);
    assert_eq!(
        desk.cache.last_attempt_started(entry.id).unwrap(),
        Some(at(1)),
        "the check at minute 10 did not send the submission"
    );
}

#[test]
fn a_system_held_while_checking_an_uncertain_write_still_checks_it_after_connect() {
    // REGRESSION: `hold_system` finished the attempt with uncertain = false. When that attempt
    // was the read that checks an earlier request whose reply was lost (the key expired in
    // between), the entry lost its uncertainty, and once `connect` released it the
    // submission was sent again without the read: a duplicate form (or a second
    // `createbatch` draining the delivery pool).
    let desk = Desk::new();
    let entry = lost_submission(&desk);
    desk.cache
        .hold_system(
            System::PowerSchool,
            Some(entry.id),
            "PowerSchool refused the client secret.",
            at(10),
        )
        .unwrap();
    assert_eq!(desk.entry(entry.id).state, OutboxState::Held);
    desk.cache
        .release_held(System::PowerSchool, at(20))
        .unwrap();
    let claimed = desk.cache.claim_due(at(20), 10).unwrap();
    assert_eq!(ids(&claimed), [entry.id]);
    assert!(
        claimed[0].uncertain,
        "the submission sent at minute 1 may be on PowerSchool: read before resending"
    );
}

#[test]
fn a_queued_write_never_carries_a_field_that_is_never_stored() {
    // REGRESSION: the untyped outbox refused a payload holding `password` or `ssn`; the typed
    // `enqueue` stores any write as it is, so a Matrix user update setting a password would
    // be kept in the file (and shown on its receipt).
    let desk = Desk::new();
    let update = |field: &str| Write::UpdateUser {
        user_id: "u-1".into(),
        match_field: "userid".into(),
        match_value: "ann.lee".into(),
        set: [(field.to_string(), "hunter2".to_string())].into(),
        seen: BTreeMap::new(),
    };
    for (i, field) in ["password", "SSN"].into_iter().enumerate() {
        let err = desk
            .cache
            .enqueue(NewOutboxEntry {
                idempotency_key: Uuid::from_u128(200 + i as u128),
                write: update(field),
                created_at: t0(),
            })
            .unwrap_err();
        assert!(
            matches!(err, CacheError::InvalidInput(_)),
            "{field}: {err:?}"
        );
    }
    assert!(desk.cache.outbox_list(None).unwrap().is_empty());
    // The documented fields are queued as they are; a "correction" cannot add one either.
    let email = desk.queue(update("email"), 210);
    desk.send(email.id, at(1));
    desk.cache
        .fail(email.id, "Matrix refused it: email is not valid.", at(1))
        .unwrap();
    let err = desk
        .cache
        .retry(email.id, Some(update("password")), at(2))
        .unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)), "{err:?}");
    assert_eq!(desk.entry(email.id).write, update("email"));
}

#[test]
fn a_mark_corrected_on_retry_shows_the_corrected_value_on_the_desk() {
    // REGRESSION: `retry` with a corrected mark queued the corrected write but left the local
    // mark as it was; once OmniForge confirmed it the desk showed the refused value as synced
    // while the school held the corrected one.
    let desk = Desk::new();
    let (_, entry) = desk
        .cache
        .record_attendance(
            &NewAttendance {
                code: Some("ZZ".into()),
                ..new_mark("s-1", AttendanceStatus::Absent)
            },
            t0(),
            Uuid::from_u128(1),
        )
        .unwrap();
    let entry = entry.unwrap();
    desk.send(entry.id, at(1));
    desk.cache
        .fail(
            entry.id,
            "OmniForge refused it: code ZZ is not one of the school's codes.",
            at(1),
        )
        .unwrap();
    let mut corrected = mark_write(&entry).clone();
    corrected.code = Some("A".into());
    corrected.status = AttendanceStatus::Excused;
    desk.cache
        .retry(entry.id, Some(Write::Mark(corrected)), at(2))
        .unwrap();
    let mark = desk.the_mark("s-1");
    assert_eq!(
        (mark.state, mark.status, mark.code.as_deref()),
        (MarkState::Pending, AttendanceStatus::Excused, Some("A"))
    );
}

#[test]
fn a_later_grade_to_the_same_record_expects_the_grade_the_earlier_one_set() {
    // REGRESSION: a second grade queued behind a first kept the `seen` of before the first,
    // so when its reply was lost the settling read found our own first grade and called it
    // someone else's change (a false conflict, and the grade never sent).
    let desk = Desk::new();
    let first = desk.queue(grade("A"), 1);
    let second = desk.queue(grade("B"), 2);
    desk.send(first.id, at(1));
    desk.cache
        .complete(first.id, &json!({"grade": "A"}), at(2))
        .unwrap();
    match &desk.entry(second.id).write {
        Write::SetGrade { seen, grade, .. } => {
            assert_eq!((seen.as_deref(), grade.as_str()), (Some("A"), "B"));
        }
        other => panic!("not a grade: {other:?}"),
    }
}

#[test]
fn a_later_user_update_expects_the_values_the_earlier_one_set() {
    // REGRESSION: as for grades, a queued user update kept the values seen before an
    // earlier update to the same user was applied.
    let desk = Desk::new();
    let update = |email: &str| Write::UpdateUser {
        user_id: "u-1".into(),
        match_field: "student_id".into(),
        match_value: "S1".into(),
        set: BTreeMap::from([("email".to_string(), email.to_string())]),
        seen: BTreeMap::from([("email".to_string(), "old@school.example".to_string())]),
    };
    let first = desk.queue(update("first@school.example"), 1);
    let second = desk.queue(update("second@school.example"), 2);
    desk.send(first.id, at(1));
    desk.cache
        .complete(first.id, &json!({"id": "u-1"}), at(2))
        .unwrap();
    match &desk.entry(second.id).write {
        Write::UpdateUser { seen, .. } => {
            assert_eq!(
                seen.get("email").map(String::as_str),
                Some("first@school.example")
            );
        }
        other => panic!("not a user update: {other:?}"),
    }
}
