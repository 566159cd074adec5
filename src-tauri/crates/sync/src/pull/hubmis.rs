//! HUBmis: at 12 requests a minute every request counts, and the API has no change filter,
//! so every sync re-reads the lists (at the largest page size, 1,000) and compares them with
//! the cache.
//!
//! Order: what the desk needs first. Register codes, tutor groups, pupils (with their
//! schools), leavers off the rosters, each tutor group's own membership (the roster; a pupil's
//! `form` reference can carry other ids than the tutor group), then the session registers of
//! today and the last school days, and "register ready". Contacts and learning support follow.
//!
//! What the API forces:
//! - Session attendance has one documented route, per pupil
//!   (`/students/{id}/attendance`): one call per current pupil covers both sessions of all the
//!   days asked for, and runs on every sync (a mark changed by a teacher changes no list).
//! - Tutor-group membership is one call per tutor group, on every sync (moves and leavers).
//! - The contact list carries each contact's pupils and relations but no phones; phones come
//!   only with a pupil's own contact list (`/students/{id}/contacts`). A full sync reads it for
//!   every pupil; an incremental one only for pupils new or changed since the last pass, and
//!   those whose links the contact list shows changed.

use schooldesk_cache::StudentQuery;
use schooldesk_connectors::hubmis::{self, ListQuery, MAX_PAGE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{
    AttendanceCode, Enrollment, LearningSupportRecord, School, Student, System,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

use super::state::add_todo;
use super::{PullError, Run, Step, SyncMode};

const SYSTEM: System = System::Hubmis;
const REVIEWS: &str = "hubmis.learning_support_reviews";
const REGISTERS: &str = "hubmis.registers";
const MEMBERS: &str = "hubmis.tutor_group_members";
const PUPIL_CONTACTS: &str = "hubmis.student_contacts";
/// The current pupils the student list named in this run (to find leavers).
const ON_ROLL: &str = "hubmis.on_roll";

fn next_page(page: u32, len: usize) -> Option<Value> {
    (len >= MAX_PAGE as usize).then(|| Value::from(page + 1))
}

fn page_of(next: &Value) -> u32 {
    next.as_u64().unwrap_or(1).max(1) as u32
}

/// The fields of a pupil that matter to the desk; a pupil whose fields differ from the cache
/// is "changed" (the stored source JSON is reduced to an allow-list, so it cannot be compared
/// with the wire). The homeroom is left out: it comes from tutor-group membership.
fn same_pupil(a: &Student, b: &Student) -> bool {
    (
        &a.external_id,
        &a.given_name,
        &a.family_name,
        &a.preferred_name,
        a.date_of_birth,
        &a.grade,
        &a.school_source_id,
        a.active,
    ) == (
        &b.external_id,
        &b.given_name,
        &b.family_name,
        &b.preferred_name,
        b.date_of_birth,
        &b.grade,
        &b.school_source_id,
        b.active,
    )
}

fn same_record(a: &LearningSupportRecord, b: &LearningSupportRecord) -> bool {
    (
        &a.student_source_id,
        &a.support_type,
        &a.severity,
        &a.status,
        &a.notes,
    ) == (
        &b.student_source_id,
        &b.support_type,
        &b.severity,
        &b.status,
        &b.notes,
    )
}

pub(super) async fn pull(run: &Run<'_>) -> Result<(), PullError> {
    let Connector::Hubmis(c) = run.connector else {
        return Err(PullError::Internal("not a HUBmis connector".into()));
    };
    let dates = run.attendance_dates();
    let registers = !dates.is_empty();
    let full = run.mode == SyncMode::Full;
    let known: HashMap<String, Student> = run
        .blocking(|c| {
            c.students(&StudentQuery {
                system: Some(SYSTEM),
                ..StudentQuery::default()
            })
        })
        .await?
        .into_iter()
        .map(|s| (s.source.source_id.clone(), s))
        .collect();
    let known = &known;

    run.phase(
        "hubmis.attendance_codes",
        "register codes",
        vec!["all".into()],
        |_, _, _| async move {
            let codes = run.call(c.attendance_codes()).await?;
            let now = run.connector.now();
            let rows: Vec<_> = codes
                .iter()
                .map(|k| hubmis::to_attendance_code(k, now))
                .collect();
            Ok(Step::new(
                vec![("attendance codes", rows.len() as u64)],
                None,
                move |tx| tx.upsert_attendance_codes(&rows).map(|_| ()),
            ))
        },
    )
    .await?;

    run.phase(
        "hubmis.tutor_groups",
        "tutor groups",
        vec!["all".into()],
        |_, _, _| async move {
            let groups = run.call(c.tutor_groups()).await?;
            let now = run.connector.now();
            let rows: Vec<_> = groups.iter().map(|g| hubmis::to_section(g, now)).collect();
            let ids: Vec<String> = rows.iter().map(|g| g.source.source_id.clone()).collect();
            let id = run.id;
            Ok(Step::new(
                vec![("sections", rows.len() as u64)],
                None,
                move |tx| {
                    tx.upsert_sections(&rows)?;
                    add_todo(tx, SYSTEM, MEMBERS, id, ids, now)
                },
            ))
        },
    )
    .await?;

    run.phase(
        "hubmis.students",
        "students",
        vec!["all".into()],
        |_, next, _| async move {
            let page = page_of(&next);
            let q = ListQuery::page(page, MAX_PAGE).filter("enrolmentStatus", "current");
            let list = run.call(c.students(&q)).await?;
            let now = run.connector.now();
            let mut students: Vec<Student> =
                list.iter().map(|s| hubmis::to_student(s, now)).collect();
            let mut changed = Vec::new();
            for s in &mut students {
                let old = known.get(&s.source.source_id);
                // Membership is the truth for the homeroom; the list's `form` may carry other
                // ids, so a pupil already placed keeps their tutor group until it says otherwise.
                if let Some(h) = old.and_then(|o| o.homeroom.clone()) {
                    s.homeroom = Some(h);
                }
                if full || !old.is_some_and(|o| same_pupil(o, s)) {
                    changed.push(s.source.source_id.clone());
                }
            }
            let mut schools: BTreeMap<String, School> = BTreeMap::new();
            for s in &list {
                if let Some(school) = s
                    .wire
                    .section
                    .as_ref()
                    .and_then(|x| hubmis::to_school(x, now))
                {
                    schools.insert(school.source.source_id.clone(), school);
                }
            }
            let schools: Vec<School> = schools.into_values().collect();
            let on_roll: Vec<String> = students
                .iter()
                .filter(|s| s.active)
                .map(|s| s.source.source_id.clone())
                .collect();
            let id = run.id;
            Ok(Step::new(
                vec![
                    ("students", students.len() as u64),
                    ("schools", schools.len() as u64),
                ],
                next_page(page, list.len()),
                move |tx| {
                    tx.upsert_schools(&schools)?;
                    tx.upsert_students(&students)?;
                    add_todo(tx, SYSTEM, ON_ROLL, id, on_roll.clone(), now)?;
                    add_todo(tx, SYSTEM, PUPIL_CONTACTS, id, changed, now)?;
                    if registers {
                        add_todo(tx, SYSTEM, REGISTERS, id, on_roll, now)?;
                    }
                    Ok(())
                },
            ))
        },
    )
    .await?;

    let on_roll = run.todo(ON_ROLL).await?;
    let today = run.today();
    let leavers = {
        let current: HashSet<&String> = on_roll.iter().collect();
        known
            .values()
            .filter(|s| s.active && !current.contains(&s.source.source_id))
            .count() as u64
    };
    run.phase(
        "hubmis.leavers",
        "leavers",
        vec!["all".into()],
        |_, _, _| {
            let on_roll = on_roll.clone();
            async move {
                // A pupil record we could not read is not a pupil who left.
                let unreadable = schooldesk_connectors::http::malformed_so_far()
                    .iter()
                    .any(|m| m.system == SYSTEM);
                Ok(Step::new(vec![("leavers", leavers)], None, move |tx| {
                    if unreadable {
                        return Ok(());
                    }
                    let gone = tx.hubmis_remove_leavers(&on_roll, today)?;
                    if !gone.is_empty() {
                        tracing::info!(system = %SYSTEM, leavers = gone.len(), "pupils left");
                    }
                    Ok(())
                }))
            }
        },
    )
    .await?;

    let groups = run.todo(MEMBERS).await?;
    run.phase(MEMBERS, "tutor groups", groups, |group, _, _| async move {
        let members = run.call(c.tutor_group_students(&group)).await?;
        let now = run.connector.now();
        let rows: Vec<Enrollment> = members
            .iter()
            .filter(|m| hubmis::is_current(&m.wire))
            .map(|m| Enrollment {
                system: SYSTEM,
                student_source_id: m.wire.id.clone(),
                section_source_id: group.clone(),
                grade_level: hubmis::to_student(m, now).grade,
                start_date: None,
                end_date: None,
                fetched_at: now,
            })
            .collect();
        Ok(Step::new(
            vec![("enrollments", rows.len() as u64)],
            None,
            move |tx| tx.hubmis_set_tutor_group(&group, &rows).map(|_| ()),
        ))
    })
    .await?;

    if registers {
        let codes: Vec<AttendanceCode> = run.blocking(|c| c.attendance_codes(Some(SYSTEM))).await?;
        let codes = &codes;
        let (from, to) = (dates[0], dates[dates.len() - 1]);
        let students = run.todo(REGISTERS).await?;
        run.phase(
            REGISTERS,
            "registers",
            students,
            |student, _, _| async move {
                // Both sessions of every day asked for in one call: the cheapest documented read.
                let list = run
                    .call(c.student_attendance(&student, from, to, None))
                    .await?;
                let now = run.connector.now();
                let marks: Vec<_> = list
                    .iter()
                    .filter_map(|m| hubmis::to_mark(&student, m, codes, now))
                    .collect();
                Ok(Step::new(
                    vec![("attendance marks", marks.len() as u64)],
                    None,
                    move |tx| {
                        tx.hubmis_replace_marks(&student, from, to, &marks)
                            .map(|_| ())
                    },
                ))
            },
        )
        .await?;
        run.mark_register_ready("registers");
    } else {
        run.mark_register_ready("tutor groups");
    }

    run.phase(
        "hubmis.contacts",
        "contacts",
        vec!["all".into()],
        |_, next, _| async move {
            let page = page_of(&next);
            let list = run
                .call(c.contacts(&ListQuery::page(page, MAX_PAGE)))
                .await?;
            let now = run.connector.now();
            let guardians: Vec<_> = list.iter().map(|g| hubmis::to_guardian(g, now)).collect();
            let links: Vec<(String, Vec<_>)> = list
                .iter()
                .map(|g| (g.wire.id.clone(), hubmis::to_student_guardians(g)))
                .collect();
            let n_links = links.iter().map(|(_, l)| l.len() as u64).sum();
            let id = run.id;
            Ok(Step::new(
                vec![
                    ("guardians", guardians.len() as u64),
                    ("guardian links", n_links),
                ],
                next_page(page, list.len()),
                move |tx| {
                    tx.hubmis_upsert_contacts(&guardians)?;
                    // Each contact's pupils are replaced, so a removed relation goes; the pupils
                    // whose links moved get their own contact list read (with phones).
                    let mut changed = Vec::new();
                    for (contact, links) in &links {
                        changed.extend(tx.hubmis_replace_contact_links(contact, links)?);
                    }
                    add_todo(tx, SYSTEM, PUPIL_CONTACTS, id, changed, now)
                },
            ))
        },
    )
    .await?;

    let pupils = run.todo(PUPIL_CONTACTS).await?;
    run.phase(
        PUPIL_CONTACTS,
        "contacts",
        pupils,
        |student, _, _| async move {
            let list = run.call(c.student_contacts(&student)).await?;
            let now = run.connector.now();
            let guardians: Vec<_> = list
                .iter()
                .filter_map(|r| hubmis::to_guardian_of_relation(r, now))
                .collect();
            let links: Vec<_> = list
                .iter()
                .filter_map(|r| hubmis::to_student_guardian(&student, r))
                .collect();
            Ok(Step::new(
                vec![("guardian links", links.len() as u64)],
                None,
                move |tx| {
                    tx.hubmis_upsert_contacts(&guardians)?;
                    tx.replace_guardians_of(SYSTEM, &student, &links)
                        .map(|_| ())
                },
            ))
        },
    )
    .await?;

    if run.connection.learning_support_enabled {
        // Compared by the fields the desk keeps: the stored source JSON is reduced to an
        // allow-list, so it never equals the wire.
        let known: HashMap<String, LearningSupportRecord> = if run.mode == SyncMode::Incremental {
            run.blocking(|c| c.learning_support_records(SYSTEM, None))
                .await?
                .into_iter()
                .map(|r| (r.source.source_id.clone(), r))
                .collect()
        } else {
            HashMap::new()
        };
        let known = &known;
        run.phase(
            "hubmis.learning_support_records",
            "learning support",
            vec!["all".into()],
            |_, next, _| async move {
                let page = page_of(&next);
                let list = run
                    .call(c.learning_support_records(&ListQuery::page(page, MAX_PAGE)))
                    .await?;
                let now = run.connector.now();
                let rows: Vec<_> = list
                    .iter()
                    .filter_map(|r| hubmis::to_learning_support_record(r, now))
                    .collect();
                // Reviews are per student: only for students whose records are new or changed.
                let students: Vec<String> = rows
                    .iter()
                    .filter(|r| {
                        !known
                            .get(&r.source.source_id)
                            .is_some_and(|k| same_record(k, r))
                    })
                    .map(|r| r.student_source_id.clone())
                    .collect();
                let id = run.id;
                Ok(Step::new(
                    vec![("learning support records", rows.len() as u64)],
                    next_page(page, list.len()),
                    move |tx| {
                        tx.upsert_learning_support_records(&rows)?;
                        add_todo(tx, SYSTEM, REVIEWS, id, students, now)
                    },
                ))
            },
        )
        .await?;

        let students = run.todo(REVIEWS).await?;
        run.phase(
            REVIEWS,
            "learning support reviews",
            students,
            |student, next, _| async move {
                let page = page_of(&next);
                let list = run
                    .call(c.student_learning_support_reviews(
                        &student,
                        &ListQuery::page(page, MAX_PAGE),
                    ))
                    .await?;
                let now = run.connector.now();
                let rows: Vec<_> = list
                    .iter()
                    .map(|r| hubmis::to_learning_support_review(r, Some(&student), now))
                    .collect();
                Ok(Step::new(
                    vec![("learning support reviews", rows.len() as u64)],
                    next_page(page, list.len()),
                    move |tx| tx.upsert_learning_support_reviews(&rows).map(|_| ()),
                ))
            },
        )
        .await?;
    }
    Ok(())
}
