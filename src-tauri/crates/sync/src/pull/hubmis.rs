//! HUBmis: at 12 requests a minute every request counts. Lists at the largest page size
//! (1,000) bring students with their tutor group, year group and school, and contacts with
//! their students and relations, so guardians and links need no call per student. Per-student
//! calls are made only for what has no list: learning-support reviews (when the school turned
//! learning support on) and session registers (only when the connection asks for days of
//! attendance; one call per student covers all the days).

use schooldesk_connectors::hubmis::{self, ListQuery, MAX_PAGE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{AttendanceCode, Enrollment, School, System};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

use super::state::add_todo;
use super::{PullError, Run, Step, SyncMode};

const SYSTEM: System = System::Hubmis;
const REVIEWS: &str = "hubmis.learning_support_reviews";
const REGISTERS: &str = "hubmis.registers";

fn next_page(page: u32, len: usize) -> Option<Value> {
    (len >= MAX_PAGE as usize).then(|| Value::from(page + 1))
}

fn page_of(next: &Value) -> u32 {
    next.as_u64().unwrap_or(1).max(1) as u32
}

pub(super) async fn pull(run: &Run<'_>) -> Result<(), PullError> {
    let Connector::Hubmis(c) = run.connector else {
        return Err(PullError::Internal("not a HUBmis connector".into()));
    };
    let dates = run.attendance_dates();
    let registers = !dates.is_empty();

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
            Ok(Step::new(
                vec![("sections", rows.len() as u64)],
                None,
                move |tx| tx.upsert_sections(&rows).map(|_| ()),
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
            let students: Vec<_> = list.iter().map(|s| hubmis::to_student(s, now)).collect();
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
            // Registration: each student's tutor group is their homeroom roster.
            let roster: Vec<Enrollment> = students
                .iter()
                .filter_map(|s| {
                    Some(Enrollment {
                        system: SYSTEM,
                        student_source_id: s.source.source_id.clone(),
                        section_source_id: s.homeroom.clone()?,
                        grade_level: s.grade.clone(),
                        start_date: None,
                        end_date: None,
                        fetched_at: now,
                    })
                })
                .collect();
            let ids: Vec<String> = students
                .iter()
                .map(|s| s.source.source_id.clone())
                .collect();
            let id = run.id;
            Ok(Step::new(
                vec![
                    ("students", students.len() as u64),
                    ("schools", schools.len() as u64),
                    ("enrollments", roster.len() as u64),
                ],
                next_page(page, list.len()),
                move |tx| {
                    tx.upsert_schools(&schools)?;
                    tx.upsert_students(&students)?;
                    tx.upsert_enrollments(&roster)?;
                    if registers {
                        add_todo(tx, SYSTEM, REGISTERS, id, ids, now)?;
                    }
                    Ok(())
                },
            ))
        },
    )
    .await?;

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
            let links: Vec<_> = list.iter().flat_map(hubmis::to_student_guardians).collect();
            Ok(Step::new(
                vec![
                    ("guardians", guardians.len() as u64),
                    ("guardian links", links.len() as u64),
                ],
                next_page(page, list.len()),
                move |tx| {
                    tx.upsert_guardians(&guardians)?;
                    tx.upsert_student_guardians(&links).map(|_| ())
                },
            ))
        },
    )
    .await?;

    if run.connection.learning_support_enabled {
        let known: HashMap<String, Value> = if run.mode == SyncMode::Incremental {
            run.blocking(|c| c.learning_support_records(SYSTEM, None))
                .await?
                .into_iter()
                .map(|r| (r.source.source_id, r.source.raw))
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
                    .filter(|r| known.get(&r.source.source_id) != Some(&r.source.raw))
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
                    move |tx| tx.upsert_attendance_marks(&marks).map(|_| ()),
                ))
            },
        )
        .await?;
    }
    Ok(())
}
