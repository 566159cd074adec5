//! The chaos suite: 500 writes queued across OmniForge, PowerSchool and Matrix; the
//! simulators answer 30 % of writes with 503, lose the reply of some writes they applied and
//! drop the connection of others before applying them; a separate `schooldesk outbox replay`
//! process is SIGKILLed at random moments over 150 cycles; then the faults stop and replay
//! finishes. Judged on the simulators' own record and final state: every write applied
//! exactly once (the later write wins per record), nothing lost, no delivery batch drained
//! twice, every arranged conflict surfaced and the other person's value kept.
//!
//! Seeded (the queue's order, the kill moments and the faults' draws), so a failure can be
//! replayed; the interleaving of a real process with real time still varies a little.
//!
//! The data folder uses the demo profile (`--demo`): the same code, except that a connection
//! there is paced at the rate it was saved with, where a real profile never paces Matrix above
//! its documented 120 calls a minute. Matrix's own sync needs more than that, so on the real
//! profile this suite would spend minutes waiting on Matrix's limit instead of on faults.

mod common;
use common::*;

use chrono::{DateTime, NaiveDate, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use schooldesk_connectors::{Connection, ConnectionSettings};
use schooldesk_domain::{AttendanceStatus, OutboxEntry, OutboxState, System};
use schooldesk_sim::{FaultScope, SimConfig, Simulators, SystemKind};
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::process::Stdio;
use std::time::{Duration, Instant};
use uuid::Uuid;

const SEED: u64 = 0x5c4a_05d0;
const CYCLES: usize = 150;
const WRITES: usize = 500;
/// Resets and fetches queued while the chaos runs (a person resetting a batch they saw).
const MID_RUN_WRITES: usize = 8;
const TARGETS: [&str; 2] = ["301", "302"];
const RETURNING_ACTION: &str = "101";
const NEW_ACTION: &str = "102";
const STATUSES: [&str; 3] = ["absent", "tardy", "excused"];
const GRADES: [&str; 4] = ["A", "B", "C", "D"];
/// What a teacher sets in the arranged conflicts: a value the desk never writes.
const TEACHER_MARK: &str = "present";
const TEACHER_GRADE: &str = "F";

/// One thing at a server that writes change; writes to the same record must end with the
/// last one made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Rec {
    Mark {
        student: String,
        section: String,
        period: Option<String>,
        date: NaiveDate,
    },
    Roster {
        ext: String,
    },
    Submission {
        marker: String,
    },
    Batch {
        target: String,
    },
    Grade {
        class: String,
        assignment: String,
        student: String,
    },
    UserField {
        user: String,
        field: String,
    },
    Member {
        class: String,
        student: String,
    },
    /// A roster import the server refuses (a date in the wrong format).
    Invalid {
        ext: String,
    },
}

/// A write as queued: its entry, its idempotency key, what it is about and the value it sets.
#[derive(Debug, Clone)]
struct Queued {
    id: i64,
    key: Uuid,
    rec: Rec,
    value: String,
}

fn status(s: &str) -> AttendanceStatus {
    s.parse().expect("an attendance status")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_writes_under_faults_and_kills_are_applied_exactly_once() {
    let started = Instant::now();
    let mut config = SimConfig {
        students: 60,
        ..SimConfig::default()
    };
    for key in &mut config.omniforge.keys {
        key.requests_per_minute = None;
    }
    config.matrix.calls_per_minute = 1_000_000;
    // Small batches, so the pool gives several and a batch drained twice would show.
    config.powerschool.batch_size = 4;
    let sims = Simulators::start(config.clone()).await.expect("simulators");
    let sd = Sd::new();
    let desk = Desk::open_demo(&sd.data_dir()).expect("open the demo profile");

    // The last school day of the generated history: marks the desk will have copies of.
    let today = Utc::now().date_naive();
    // Each student's homeroom: daily marks are taken there.
    let homeroom: BTreeMap<String, String> = sims
        .district
        .students
        .iter()
        .map(|s| {
            (
                s.uuid.clone(),
                sims.district.sections[s.homeroom].uuid.clone(),
            )
        })
        .collect();
    let first_student = sims.district.students[0].uuid.clone();
    let (_, last) = sims.omniforge_admin.attendance_history();
    let mut d1 = last;
    while sims
        .omniforge_admin
        .mark(&first_student, Some(&homeroom[&first_student]), None, d1)
        .is_none()
    {
        d1 = d1.pred_opt().expect("a day");
        assert!(last - d1 < chrono::Duration::days(10), "no school day");
    }
    let attendance_days = u32::try_from((today - d1).num_days() + 1).expect("days");

    let settings = ConnectionSettings {
        requests_per_minute: Some(100_000),
        attendance_days: Some(attendance_days),
        ..ConnectionSettings::default()
    };
    for (system, base, secret) in [
        (
            System::OmniForge,
            sims.omniforge.base_url.clone(),
            config.omniforge.key().to_string(),
        ),
        (
            System::PowerSchool,
            sims.powerschool.base_url.clone(),
            config.powerschool.api_key.clone(),
        ),
        (
            System::Matrix,
            sims.matrix.base_url.clone(),
            config.matrix.api_key.clone(),
        ),
    ] {
        let mut c = Connection::new(system, base);
        c.settings = settings.clone();
        let d = desk.clone();
        tokio::task::block_in_place(|| d.connect(&c, &secret, Utc::now())).expect("connect");
    }
    let report = desk
        .sync(&[], SyncMode::Full, |_| {})
        .await
        .expect("first sync");
    for s in &report.systems {
        assert!(
            s.completed && s.error.is_none(),
            "sync of {:?} did not finish: {}",
            s.system,
            report.describe()
        );
    }

    // ---- What to write ----------------------------------------------------------------
    let mut rng = rand::rngs::StdRng::seed_from_u64(SEED);
    let students: Vec<String> = desk
        .students(None, Some(10_000))
        .expect("students")
        .into_iter()
        .filter(|s| s.source.system == System::OmniForge)
        .map(|s| s.source.source_id)
        .collect();
    let copies: BTreeMap<String, i64> = desk
        .register(d1, None)
        .expect("register")
        .into_iter()
        .filter(|m| {
            m.source.system == System::OmniForge
                && m.section_source_id.as_ref() == homeroom.get(&m.student_source_id)
                && m.period.is_none()
        })
        .filter_map(|m| Some((m.student_source_id, m.version?)))
        .collect();
    let with_copy: Vec<String> = students
        .iter()
        .filter(|s| copies.contains_key(*s))
        .cloned()
        .collect();
    assert!(
        with_copy.len() >= 46 && students.len() >= 50,
        "the sync cached too few marks of {d1}: {} of {} students",
        with_copy.len(),
        students.len()
    );
    let mark = |student: &String, period: Option<&str>, date: NaiveDate| Rec::Mark {
        student: student.clone(),
        section: homeroom[student].clone(),
        period: period.map(str::to_string),
        date,
    };

    // Each entry of `intents` is one write; a record listed twice is written twice.
    let mut intents: Vec<Rec> = Vec::new();
    let mut arranged_marks: BTreeSet<Rec> = BTreeSet::new();
    // OmniForge, a day the desk has copies of: 40 marks, 15 changed again, 5 a third time.
    for (i, s) in with_copy[..40].iter().enumerate() {
        let times = if i < 5 {
            3
        } else if i < 15 {
            2
        } else {
            1
        };
        intents.extend(std::iter::repeat_n(mark(s, None, d1), times));
    }
    // Changed meanwhile by a teacher at the server: conflicts.
    for s in &with_copy[40..46] {
        arranged_marks.insert(mark(s, None, d1));
    }
    // Today: the desk has no copy (the server has none either), 40 marks, 15 changed again.
    for (i, s) in students[..40].iter().enumerate() {
        intents.extend(std::iter::repeat_n(
            mark(s, None, today),
            if i < 15 { 2 } else { 1 },
        ));
    }
    // Today, marked at the server by a teacher the desk has not seen: conflicts.
    for s in &students[40..44] {
        arranged_marks.insert(mark(s, None, today));
    }
    // Afternoon session marks: 30, 10 changed again.
    for (i, s) in students[..30].iter().enumerate() {
        intents.extend(std::iter::repeat_n(
            mark(s, Some("pm"), today),
            if i < 10 { 2 } else { 1 },
        ));
    }
    intents.extend(arranged_marks.iter().cloned());
    for rec in &arranged_marks {
        let Rec::Mark {
            student,
            section,
            period,
            date,
        } = rec
        else {
            unreachable!()
        };
        sims.omniforge_admin.change_mark(
            student,
            Some(section),
            period.as_deref(),
            *date,
            TEACHER_MARK,
        );
    }

    // PowerSchool: roster imports (45 records, 15 twice), one the server refuses, 90 forms,
    // 9 batch fetches.
    let externals: Vec<String> = sims
        .district
        .students
        .iter()
        .map(|s| s.external_id.clone())
        .collect();
    for (i, ext) in externals[..45].iter().enumerate() {
        let rec = Rec::Roster { ext: ext.clone() };
        intents.extend(std::iter::repeat_n(rec, if i < 15 { 2 } else { 1 }));
    }
    intents.push(Rec::Invalid {
        ext: externals[50].clone(),
    });
    for i in 0..90 {
        intents.push(Rec::Submission {
            marker: format!("chaos-form-{i:03}@example.org"),
        });
    }
    for (target, n) in [(TARGETS[0], 5), (TARGETS[1], 4)] {
        intents.extend(std::iter::repeat_n(
            Rec::Batch {
                target: target.to_string(),
            },
            n,
        ));
    }

    // Matrix: grades in three classes, membership changes in two others, user details.
    let classes: Vec<u64> = sims
        .matrix_admin
        .class_ids()
        .into_iter()
        .filter(|c| {
            desk.cache()
                .section(System::Matrix, &c.to_string())
                .expect("section")
                .is_some()
                && sims.matrix_admin.roster(*c).len() >= 5
        })
        .collect();
    assert!(classes.len() >= 5, "too few Matrix classes: {classes:?}");
    let mut grade_recs = Vec::new();
    for &class in &classes[..3] {
        let mut roster = sims.matrix_admin.roster(class);
        roster.sort();
        for assignment in sims.matrix_admin.assignment_ids(class) {
            for student in &roster[..5] {
                grade_recs.push(Rec::Grade {
                    class: class.to_string(),
                    assignment: assignment.to_string(),
                    student: student.to_string(),
                });
            }
        }
    }
    assert!(grade_recs.len() >= 60, "{} grade records", grade_recs.len());
    for (i, rec) in grade_recs[..60].iter().enumerate() {
        intents.extend(std::iter::repeat_n(rec.clone(), if i < 15 { 2 } else { 1 }));
    }
    // Written once by the desk, then regraded by a teacher before the desk sends it.
    let regraded: Vec<Rec> = grade_recs[50..55].to_vec();
    let matrix_students: Vec<String> = sims
        .district
        .students
        .iter()
        .map(|s| sims.matrix_admin.user_id_of_student(s.index).to_string())
        .filter(|u| {
            desk.cache()
                .student(System::Matrix, u)
                .expect("student")
                .is_some()
        })
        .collect();
    assert!(matrix_students.len() >= 40, "too few Matrix users cached");
    let fields = ["phone", "city", "nick_name"];
    for i in 0..25 {
        let rec = Rec::UserField {
            user: matrix_students[i % 20].clone(),
            field: fields[i / 20 + i % 2].to_string(),
        };
        intents.extend(std::iter::repeat_n(rec, if i < 10 { 2 } else { 1 }));
    }
    let mut membership: BTreeMap<(String, String), bool> = BTreeMap::new();
    let member_classes = [classes[3], classes[4]];
    for &class in &member_classes {
        for u in sims.matrix_admin.roster(class) {
            membership.insert((class.to_string(), u.to_string()), true);
        }
    }
    let member_recs: Vec<Rec> = (0..40)
        .map(|i| Rec::Member {
            class: member_classes[i % 2].to_string(),
            student: matrix_students[i / 2].clone(),
        })
        .collect();
    intents.extend(member_recs.iter().cloned());
    // The rest are second changes of the same memberships (a student added, then taken out).
    let rest = WRITES - MID_RUN_WRITES - intents.len();
    intents.extend(member_recs[..rest].iter().cloned());
    assert_eq!(
        intents.len(),
        WRITES - MID_RUN_WRITES,
        "the plan does not add up"
    );
    // The systems' writes interleaved, so every cycle meets all three; a record's writes
    // keep their order because each takes its value when it is queued.
    intents.shuffle(&mut rng);

    // ---- Queue them through the core calls the CLI uses -------------------------------
    let mut queued: Vec<Queued> = Vec::new();
    let mut seen_count: BTreeMap<Rec, usize> = BTreeMap::new();
    for rec in &intents {
        let n = {
            let c = seen_count.entry(rec.clone()).or_default();
            *c += 1;
            *c - 1
        };
        let key = Uuid::new_v4();
        let now = Utc::now();
        let (entry, value) = match rec {
            Rec::Mark {
                student,
                section,
                period,
                date,
            } => {
                let value = if arranged_marks.contains(rec) {
                    "absent".to_string()
                } else {
                    STATUSES[n % STATUSES.len()].to_string()
                };
                let req = MarkRequest {
                    student: format!("omniforge:{student}"),
                    date: *date,
                    status: status(&value),
                    section: Some(section.clone()),
                    period: period.clone(),
                    note: None,
                    code: None,
                    minutes_late: None,
                };
                let (_, entry) = desk.mark_attendance(&req, now, key).expect("mark");
                (entry.expect("an OmniForge mark is queued"), value)
            }
            Rec::Roster { ext } => {
                let value = format!("chaos-import-{ext}-{n}@example.org");
                let current = sims
                    .powerschool_admin
                    .roster_record(101, ext)
                    .expect("roster record");
                let items = &current["dataItems"];
                let record = json!({
                    "stu_ExternalID": ext,
                    "stu_FirstName": items["stu_FirstName"],
                    "stu_LastName": items["stu_LastName"],
                    "stu_Email": value,
                });
                let e = desk
                    .import_roster_record(RETURNING_ACTION, "1", &record, now, key)
                    .expect("import");
                (e, value)
            }
            Rec::Invalid { ext } => {
                let record = json!({
                    "stu_ExternalID": ext,
                    "stu_FirstName": "Chaos",
                    "stu_LastName": "Invalid",
                    "stu_DateOfBirth": "2015-31-31",
                });
                let e = desk
                    .import_roster_record(RETURNING_ACTION, "1", &record, now, key)
                    .expect("import");
                (e, String::new())
            }
            Rec::Submission { marker } => {
                let form = json!({
                    "stu_FirstName": "Chaos",
                    "stu_LastName": format!("Family {marker}"),
                    "stu_Email": marker,
                });
                let e = desk
                    .submit_form(NEW_ACTION, &form, now, key)
                    .expect("submission");
                (e, marker.clone())
            }
            Rec::Batch { target } => (
                desk.fetch_batch(target, now, key).expect("fetch batch"),
                "fetch".to_string(),
            ),
            Rec::Grade {
                class,
                assignment,
                student,
            } => {
                let value = GRADES[n % GRADES.len()].to_string();
                let e = desk
                    .set_grade(class, assignment, student, &value, now, key)
                    .expect("grade");
                (e, value)
            }
            Rec::UserField { user, field } => {
                let value = match field.as_str() {
                    "phone" => format!("555-{:04}", queued.len()),
                    "city" => format!("Chaosville {}", queued.len()),
                    _ => format!("Nick{}", queued.len()),
                };
                let e = desk
                    .update_user(user, &[(field.clone(), value.clone())], now, key)
                    .expect("user update");
                (e, value)
            }
            Rec::Member { class, student } => {
                let member = membership
                    .entry((class.clone(), student.clone()))
                    .or_insert(false);
                let add = !*member;
                *member = add;
                let e = desk
                    .change_class(add, class, std::slice::from_ref(student), now, key)
                    .expect("class change");
                (e, if add { "add" } else { "remove" }.to_string())
            }
        };
        queued.push(Queued {
            id: entry.id,
            key: entry.idempotency_key,
            rec: rec.clone(),
            value,
        });
    }
    for rec in &regraded {
        let Rec::Grade {
            assignment,
            student,
            ..
        } = rec
        else {
            unreachable!()
        };
        assert!(sims.matrix_admin.set_grade(
            assignment.parse().expect("id"),
            student.parse().expect("id"),
            TEACHER_GRADE
        ));
    }

    // ---- Chaos: faults on writes, the replaying process killed at random ---------------
    let faults = &sims.shared.faults;
    faults.seed(SEED);
    faults.set_error_scope(FaultScope::Writes);
    faults.set_error_rate(0.30);
    faults.set_lost_reply_rate(0.10);
    faults.set_drop_rate(0.05);
    let (mut kills, mut finished_alone) = (0usize, 0usize);
    let mut mid_run = 0usize;
    for cycle in 0..CYCLES {
        if cycle == 40 || cycle == 70 {
            // A person resets a batch they fetched, then fetches the next one.
            for target in TARGETS {
                let stored = desk.delivery_batches(Some(target)).expect("batches");
                let open: Vec<_> = stored.iter().filter(|b| b.reset_at.is_none()).collect();
                let now = Utc::now();
                let key = Uuid::new_v4();
                let (entry, value) = match open.first() {
                    Some(b) => (
                        desk.reset_batch(target, &b.batch_id, now, key)
                            .expect("reset"),
                        format!("reset:{}", b.batch_id),
                    ),
                    None => (
                        desk.fetch_batch(target, now, key).expect("fetch"),
                        "fetch".to_string(),
                    ),
                };
                let rec = Rec::Batch {
                    target: target.to_string(),
                };
                queued.push(Queued {
                    id: entry.id,
                    key,
                    rec: rec.clone(),
                    value,
                });
                let key = Uuid::new_v4();
                let entry = desk.fetch_batch(target, Utc::now(), key).expect("fetch");
                queued.push(Queued {
                    id: entry.id,
                    key,
                    rec,
                    value: "fetch".into(),
                });
                mid_run += 2;
            }
        }
        let mut child = sd
            .command()
            .args(["--demo", "outbox", "replay"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start replay");
        tokio::time::sleep(Duration::from_millis(rng.gen_range(20..=600))).await;
        match child.try_wait().expect("replay status") {
            Some(_) => finished_alone += 1,
            None => {
                child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
                kills += 1;
            }
        }
        tokio::task::block_in_place(|| child.wait()).expect("reap");
    }
    assert_eq!(mid_run, MID_RUN_WRITES);
    assert_eq!(queued.len(), WRITES);
    let chaos_faults = faults.counts();
    let open_after_chaos = desk
        .outbox(None)
        .expect("outbox")
        .iter()
        .filter(|e| e.state.is_open())
        .count();
    faults.clear();

    // ---- The faults stop: replay until nothing is left to send -------------------------
    // Each run starts as "Send now" does: writes never sent because their system looked down
    // are due at once. Writes backing off after a failed attempt keep their wait (it protects
    // a struggling server), so the test waits for them: at most the backoff of the attempts
    // they made, which the chaos keeps to about a minute.
    let invalid_id = queued
        .iter()
        .find(|q| matches!(q.rec, Rec::Invalid { .. }))
        .expect("the invalid import")
        .id;
    let drain_started = Instant::now();
    let mut retried: Vec<i64> = Vec::new();
    let mut waited = Duration::ZERO;
    let mut final_runs = 0;
    loop {
        desk.cache()
            .clear_unsent_backoff(Utc::now())
            .expect("send now");
        let sd_ref = &sd;
        tokio::task::block_in_place(|| sd_ref.ok(&["--demo", "outbox", "replay"], None));
        final_runs += 1;
        let entries = desk.outbox(None).expect("outbox");
        let held: Vec<&OutboxEntry> = entries
            .iter()
            .filter(|e| e.state == OutboxState::Held)
            .collect();
        assert!(held.is_empty(), "entries held: {held:#?}");
        // Failed by the attempt cap under the 503s: a person retries them.
        let capped: Vec<i64> = entries
            .iter()
            .filter(|e| e.state == OutboxState::Failed && e.id != invalid_id)
            .map(|e| e.id)
            .collect();
        for id in &capped {
            let id_s = id.to_string();
            let sd_ref = &sd;
            tokio::task::block_in_place(|| sd_ref.ok(&["--demo", "outbox", "retry", &id_s], None));
            retried.push(*id);
        }
        let open: Vec<&OutboxEntry> = entries.iter().filter(|e| e.state.is_open()).collect();
        if open.is_empty() && capped.is_empty() {
            break;
        }
        assert!(
            drain_started.elapsed() < Duration::from_secs(600),
            "replay does not finish: {} entries still open after {final_runs} runs: {open:#?}",
            open.len()
        );
        if capped.is_empty() {
            // Only the oldest open write of each record can go; the ones behind it wait for
            // it, whatever their own time says.
            let mut heads: BTreeMap<&str, &OutboxEntry> = BTreeMap::new();
            for e in &open {
                heads.entry(e.entity_key.as_str()).or_insert(e);
            }
            let next: DateTime<Utc> = heads
                .values()
                .map(|e| e.next_attempt_at)
                .min()
                .expect("an open entry");
            let wait = (next - Utc::now())
                .to_std()
                .unwrap_or_default()
                .min(Duration::from_secs(120))
                + Duration::from_millis(50);
            waited += wait;
            tokio::time::sleep(wait).await;
        }
    }

    // ---- Judge --------------------------------------------------------------------------
    let entries: BTreeMap<i64, OutboxEntry> = desk
        .outbox(None)
        .expect("outbox")
        .into_iter()
        .map(|e| (e.id, e))
        .collect();
    assert_eq!(entries.len(), WRITES, "entries went missing or appeared");
    let state = |id: i64| entries[&id].state;
    let show = |id: i64| -> String {
        match desk.receipt(id) {
            Ok(r) => serde_json::to_string_pretty(&r).unwrap_or_default(),
            Err(e) => e.user_message(),
        }
    };
    let mut problems: Vec<String> = Vec::new();

    // Nothing lost: every write ends done or conflict; the refused import says why.
    for q in &queued {
        let st = state(q.id);
        if q.id == invalid_id {
            let e = &entries[&q.id];
            if st != OutboxState::Failed
                || !e
                    .last_error
                    .as_deref()
                    .is_some_and(|m| m.contains("MM/DD/YYYY"))
            {
                problems.push(format!(
                    "the refused import should be failed with the server's reason: {}",
                    show(q.id)
                ));
            }
        } else if !matches!(st, OutboxState::Done | OutboxState::Conflict) {
            problems.push(format!("entry {} ended {st:?}: {}", q.id, show(q.id)));
        }
    }

    // Per record: the writes in the order they were made.
    let mut by_rec: BTreeMap<Rec, Vec<&Queued>> = BTreeMap::new();
    for q in &queued {
        by_rec.entry(q.rec.clone()).or_default().push(q);
    }
    let conflicts: BTreeSet<i64> = entries
        .values()
        .filter(|e| e.state == OutboxState::Conflict)
        .map(|e| e.id)
        .collect();

    // Conflicts only where another person changed the record: a mark a teacher changed, or
    // a grade a teacher regraded (that one surfaces only after an uncertain outcome; on the
    // normal path Matrix's "set to" goes through, as documented).
    for q in &queued {
        if !conflicts.contains(&q.id) {
            continue;
        }
        let arranged = match &q.rec {
            Rec::Mark { .. } => arranged_marks.contains(&q.rec),
            Rec::Grade { .. } => regraded.contains(&q.rec),
            _ => false,
        };
        if !arranged {
            let writes: Vec<(i64, &str, &str)> = by_rec[&q.rec]
                .iter()
                .map(|w| (w.id, w.value.as_str(), entries[&w.id].state.as_str()))
                .collect();
            problems.push(format!(
                "entry {} is a conflict nobody else caused ({:?}; the record's writes: \
                 {writes:?}): {}",
                q.id,
                q.rec,
                show(q.id)
            ));
        }
    }

    // OmniForge: each key applied exactly once, no write nobody queued, the last wins.
    let mut applied: BTreeMap<String, usize> = BTreeMap::new();
    for kind in ["attendance.create", "attendance.update"] {
        for w in sims.shared.recorder.writes_of(SystemKind::OmniForge, kind) {
            *applied
                .entry(w.key.clone().unwrap_or_else(|| "(no key)".into()))
                .or_default() += 1;
        }
    }
    let mut mark_keys = BTreeSet::new();
    for q in queued.iter().filter(|q| matches!(q.rec, Rec::Mark { .. })) {
        let k = q.key.to_string();
        mark_keys.insert(k.clone());
        let times = applied.get(&k).copied().unwrap_or(0);
        match state(q.id) {
            OutboxState::Done if times != 1 => problems.push(format!(
                "mark entry {} (key {k}) applied {times} times: {}",
                q.id,
                show(q.id)
            )),
            OutboxState::Conflict if times != 0 => problems.push(format!(
                "mark entry {} is a conflict but was applied {times} times",
                q.id
            )),
            _ => {}
        }
    }
    for (k, n) in &applied {
        if !mark_keys.contains(k) {
            problems.push(format!("OmniForge applied {n} write(s) nobody queued: {k}"));
        }
    }
    for (rec, writes) in &by_rec {
        let Rec::Mark {
            student,
            section,
            period,
            date,
        } = rec
        else {
            continue;
        };
        let server = sims
            .omniforge_admin
            .mark(student, Some(section), period.as_deref(), *date)
            .map(|m| m.status);
        let last = writes.last().expect("a write");
        if arranged_marks.contains(rec) {
            if !conflicts.contains(&last.id) {
                problems.push(format!(
                    "the mark {student} {date} changed by a teacher did not surface as a conflict: {}",
                    show(last.id)
                ));
            }
            if server.as_deref() != Some(TEACHER_MARK) {
                problems.push(format!(
                    "the teacher's mark {student} {date} was overwritten: {server:?}"
                ));
            }
        } else if conflicts.contains(&last.id) {
            // Reported above.
        } else if server.as_deref() != Some(last.value.as_str()) {
            problems.push(format!(
                "mark {student} {period:?} {date}: server holds {server:?}, the last write was {}",
                last.value
            ));
        }
    }

    // PowerSchool submissions: each marker exactly once.
    let mut forms: BTreeMap<String, usize> = BTreeMap::new();
    for w in sims
        .shared
        .recorder
        .writes_of(SystemKind::PowerSchool, "submission.create")
    {
        let marker = w.body["dataItems"]["stu_Email"]
            .as_str()
            .unwrap_or("(none)")
            .to_string();
        *forms.entry(marker).or_default() += 1;
    }
    let mut markers = BTreeSet::new();
    for q in queued
        .iter()
        .filter(|q| matches!(q.rec, Rec::Submission { .. }))
    {
        markers.insert(q.value.clone());
        let n = forms.get(&q.value).copied().unwrap_or(0);
        if n != 1 {
            problems.push(format!(
                "submission {} ({}) created {n} times: {}",
                q.id,
                q.value,
                show(q.id)
            ));
        }
    }
    for (m, n) in &forms {
        if !markers.contains(m) {
            problems.push(format!(
                "PowerSchool holds {n} submission(s) nobody queued: {m}"
            ));
        }
    }
    // Roster imports: the last import per record is what the server holds, and the server
    // took the imports in the order they were made.
    let imports = sims
        .shared
        .recorder
        .writes_of(SystemKind::PowerSchool, "rosterrecord.import");
    for (rec, writes) in &by_rec {
        match rec {
            Rec::Roster { ext } => {
                let last = writes.last().expect("a write");
                let server = sims
                    .powerschool_admin
                    .roster_record(101, ext)
                    .map(|r| r["dataItems"]["stu_Email"].clone());
                if server != Some(Value::String(last.value.clone())) {
                    problems.push(format!(
                        "roster record {ext}: server holds {server:?}, the last import was {}",
                        last.value
                    ));
                }
                let taken: Vec<&str> = imports
                    .iter()
                    .filter(|w| w.key.as_deref() == Some(ext))
                    .filter_map(|w| w.body["fields"]["stu_Email"].as_str())
                    .collect();
                let made: Vec<&str> = writes.iter().map(|q| q.value.as_str()).collect();
                if taken != made {
                    problems.push(format!(
                        "roster record {ext}: imports applied {taken:?}, made {made:?}"
                    ));
                }
            }
            Rec::Invalid { ext } if imports.iter().any(|w| w.key.as_deref() == Some(ext)) => {
                problems.push(format!("the refused import of {ext} was applied"));
            }
            _ => {}
        }
    }
    // Delivery batches: none drained twice, none lost.
    let mut server_batches = 0;
    let mut server_reset = 0;
    for target in TARGETS {
        let server = sims.powerschool_admin.batches(target.parse().expect("id"));
        let local = desk.delivery_batches(Some(target)).expect("batches");
        let local_by_id: BTreeMap<&str, _> =
            local.iter().map(|b| (b.batch_id.as_str(), b)).collect();
        let mut delivered: BTreeMap<u64, usize> = BTreeMap::new();
        for b in local.iter().filter(|b| b.reset_at.is_none()) {
            for r in &b.records {
                *delivered
                    .entry(r["id"].as_u64().expect("record id"))
                    .or_default() += 1;
            }
        }
        for b in &server {
            server_batches += 1;
            if b.status == "Reset" {
                server_reset += 1;
                if local_by_id
                    .get(b.id.as_str())
                    .is_some_and(|l| l.reset_at.is_none())
                {
                    problems.push(format!(
                        "batch {} was reset at PowerSchool but the desk still shows it delivered",
                        b.id
                    ));
                }
                continue;
            }
            match local_by_id.get(b.id.as_str()) {
                None => problems.push(format!(
                    "PowerSchool created batch {} of target {target} (records {:?}) that the \
                     desk neither stored nor reset",
                    b.id, b.records
                )),
                Some(l) if l.reset_at.is_some() => problems.push(format!(
                    "batch {} is reset on the desk but not at PowerSchool",
                    b.id
                )),
                Some(_) => {}
            }
            for r in &b.records {
                let n = delivered.get(r).copied().unwrap_or(0);
                if n != 1 {
                    problems.push(format!(
                        "record {r} of batch {} is in {n} stored batches of target {target}",
                        b.id
                    ));
                }
            }
        }
        for l in &local {
            if !server.iter().any(|b| b.id == l.batch_id) {
                problems.push(format!(
                    "the desk stores batch {} PowerSchool never made",
                    l.batch_id
                ));
            }
        }
    }
    let batch_writes = sims
        .shared
        .recorder
        .writes_of(SystemKind::PowerSchool, "batch.create")
        .len();
    if batch_writes != server_batches {
        problems.push(format!(
            "{batch_writes} batches recorded but PowerSchool lists {server_batches}"
        ));
    }

    // Matrix: by final state (a repeat that changes nothing is not recorded).
    let matrix_writes = sims.shared.recorder.writes_for(SystemKind::Matrix);
    let mut grade_conflicts = 0;
    for (rec, writes) in &by_rec {
        match rec {
            Rec::Grade {
                assignment,
                student,
                ..
            } => {
                let last = writes.last().expect("a write");
                let (aid, uid): (u64, u64) = (
                    assignment.parse().expect("id"),
                    student.parse().expect("id"),
                );
                let server = sims.matrix_admin.grade(aid, uid);
                let teacher = regraded.contains(rec);
                if conflicts.contains(&last.id) {
                    grade_conflicts += 1;
                    if teacher && server.as_deref() != Some(TEACHER_GRADE) {
                        problems.push(format!(
                            "grade {assignment}/{student}: the teacher's grade was overwritten: {server:?}"
                        ));
                    }
                } else if server.as_deref() != Some(last.value.as_str()) {
                    problems.push(format!(
                        "grade {assignment}/{student}: server holds {server:?}, the last write was {}",
                        last.value
                    ));
                }
                let recorded = matrix_writes
                    .iter()
                    .filter(|w| w.kind == "grades.set" && w.key.as_deref() == Some(assignment))
                    .flat_map(|w| w.body["grades"].as_array().cloned().unwrap_or_default())
                    .filter(|g| g["user_id"].as_u64() == Some(uid))
                    .count();
                if recorded > writes.len() {
                    problems.push(format!(
                        "grade {assignment}/{student} applied {recorded} times for {} writes",
                        writes.len()
                    ));
                }
            }
            Rec::UserField { user, field } => {
                let last = writes.last().expect("a write");
                let server = sims
                    .matrix_admin
                    .user(user.parse().expect("id"))
                    .and_then(|u| u.get(field).cloned());
                if conflicts.contains(&last.id) {
                    // Reported above.
                } else if server != Some(Value::String(last.value.clone())) {
                    problems.push(format!(
                        "user {user} {field}: server holds {server:?}, the last write was {}",
                        last.value
                    ));
                }
                let recorded = matrix_writes
                    .iter()
                    .filter(|w| w.kind == "user.update" && w.key.as_deref() == Some(user))
                    .filter(|w| w.body["changes"].get(field).is_some())
                    .count();
                if recorded > writes.len() {
                    problems.push(format!(
                        "user {user} {field} changed {recorded} times for {} writes",
                        writes.len()
                    ));
                }
            }
            Rec::Member { class, student } => {
                let last = writes.last().expect("a write");
                let enrolled = sims
                    .matrix_admin
                    .roster(class.parse().expect("id"))
                    .contains(&student.parse().expect("id"));
                if conflicts.contains(&last.id) {
                    // Reported above.
                } else if enrolled != (last.value == "add") {
                    problems.push(format!(
                        "class {class}: student {student} enrolled={enrolled}, the last write was {}",
                        last.value
                    ));
                }
            }
            _ => {}
        }
    }

    // ---- Figures -------------------------------------------------------------------------
    let mut settle_reads = 0;
    let mut uncertain = 0;
    let mut attempts = 0;
    for id in entries.keys() {
        let r = desk.receipt(*id).expect("receipt");
        attempts += r.attempts.len();
        settle_reads += r
            .attempts
            .iter()
            .filter(|a| a.request.get("check").is_some())
            .count();
        uncertain += r
            .attempts
            .iter()
            .filter(|a| a.outcome.as_deref() == Some("uncertain") || a.outcome.is_none())
            .count();
    }
    let per_state: BTreeMap<&str, usize> = entries.values().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.state.as_str()).or_default() += 1;
        m
    });
    let per_system: BTreeMap<String, usize> = entries.values().fold(BTreeMap::new(), |mut m, e| {
        *m.entry(e.system.as_str().to_string()).or_default() += 1;
        m
    });
    let all = sims.shared.faults.counts();
    println!("chaos: {WRITES} writes {per_system:?}; seed {SEED:#x}");
    println!(
        "chaos: {CYCLES} cycles, {kills} replays killed, {finished_alone} ended by themselves; \
         {open_after_chaos} entries still open after the chaos"
    );
    println!(
        "chaos: faults injected: {} 503s, {} lost replies, {} dropped connections (during the \
         chaos: {} / {} / {})",
        all.failed,
        all.lost_replies,
        all.dropped,
        chaos_faults.failed,
        chaos_faults.lost_replies,
        chaos_faults.dropped
    );
    println!(
        "chaos: {attempts} requests recorded in receipts, {settle_reads} settle reads, \
         {uncertain} uncertain outcomes; {} retried after the attempt cap",
        retried.len()
    );
    println!(
        "chaos: final replay {final_runs} run(s), {:.1}s waiting for backoff; states {per_state:?}; \
         {} conflicts ({grade_conflicts} grade); batches at PowerSchool {server_batches} \
         ({server_reset} reset)",
        waited.as_secs_f64(),
        conflicts.len()
    );
    println!("chaos: total {:.1}s", started.elapsed().as_secs_f64());
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
    // The arranged OmniForge conflicts are conflicts, and nothing else of OmniForge is.
    let omniforge_conflicts = queued
        .iter()
        .filter(|q| matches!(q.rec, Rec::Mark { .. }) && conflicts.contains(&q.id))
        .count();
    assert_eq!(omniforge_conflicts, arranged_marks.len());
}
