//! OmniForge: every list at 200 a page with `updatedSince` when incremental; then today's
//! register per school; then the guardian links of each (changed) student, the one thing
//! the API only gives per student.

use schooldesk_connectors::omniforge::{self, ListQuery, PersonType, MAX_PAGE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{AttendanceMark, System};
use serde_json::Value;

use super::state::add_todo;
use super::{PullError, Run, Step};

const SYSTEM: System = System::OmniForge;
const LINKS: &str = "omniforge.guardian_links";
const REGISTERS: &str = "omniforge.attendance";

fn query(next: &Value, since: Option<chrono::DateTime<chrono::Utc>>) -> ListQuery {
    ListQuery {
        cursor: next.as_str().map(str::to_string),
        limit: Some(MAX_PAGE),
        updated_since: since,
    }
}

fn one() -> Vec<String> {
    vec!["all".to_string()]
}

pub(super) async fn pull(run: &Run<'_>) -> Result<(), PullError> {
    let Connector::OmniForge(c) = run.connector else {
        return Err(PullError::Internal("not an OmniForge connector".into()));
    };
    let dates = run.attendance_dates();

    run.phase(
        "omniforge.organizations",
        "schools",
        one(),
        |_, next, since| {
            let dates = dates.clone();
            async move {
                let page = run.call(c.organizations(&query(&next, since))).await?;
                let now = run.connector.now();
                let rows: Vec<_> = page
                    .items
                    .iter()
                    .map(|i| omniforge::to_school(i, now))
                    .collect();
                let registers: Vec<String> = rows
                    .iter()
                    .flat_map(|s| {
                        dates
                            .iter()
                            .map(move |d| format!("{}|{d}", s.source.source_id))
                    })
                    .collect();
                let id = run.id;
                Ok(Step::new(
                    vec![("schools", rows.len() as u64)],
                    page.next_cursor.map(Value::String),
                    move |tx| {
                        tx.upsert_schools(&rows)?;
                        add_todo(tx, SYSTEM, REGISTERS, id, registers, now)
                    },
                ))
            }
        },
    )
    .await?;

    let links = run.options.guardian_links;
    run.phase(
        "omniforge.students",
        "students",
        one(),
        |_, next, since| async move {
            let page = run
                .call(c.persons(PersonType::Student, &query(&next, since)))
                .await?;
            let now = run.connector.now();
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|i| omniforge::to_student(i, now))
                .collect();
            let ids: Vec<String> = rows.iter().map(|s| s.source.source_id.clone()).collect();
            let id = run.id;
            Ok(Step::new(
                vec![("students", rows.len() as u64)],
                page.next_cursor.map(Value::String),
                move |tx| {
                    tx.upsert_students(&rows)?;
                    if links {
                        add_todo(tx, SYSTEM, LINKS, id, ids, now)?;
                    }
                    Ok(())
                },
            ))
        },
    )
    .await?;

    run.phase(
        "omniforge.guardians",
        "guardians",
        one(),
        |_, next, since| async move {
            let page = run
                .call(c.persons(PersonType::Guardian, &query(&next, since)))
                .await?;
            let now = run.connector.now();
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|i| omniforge::to_guardian(i, now))
                .collect();
            Ok(Step::new(
                vec![("guardians", rows.len() as u64)],
                page.next_cursor.map(Value::String),
                move |tx| tx.upsert_guardians(&rows).map(|_| ()),
            ))
        },
    )
    .await?;

    run.phase(
        "omniforge.sections",
        "sections",
        one(),
        |_, next, since| async move {
            let page = run.call(c.sections(None, &query(&next, since))).await?;
            let now = run.connector.now();
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|i| omniforge::to_section(i, now))
                .collect();
            Ok(Step::new(
                vec![("sections", rows.len() as u64)],
                page.next_cursor.map(Value::String),
                move |tx| tx.upsert_sections(&rows).map(|_| ()),
            ))
        },
    )
    .await?;

    // Current roster rows; an incremental pass also brings rows that ended (their end date
    // set), so a student who left a class is seen leaving.
    let today = run.today();
    run.phase(
        "omniforge.enrollments",
        "rosters",
        one(),
        |_, next, since| async move {
            let active_only = since.is_none();
            let page = run
                .call(c.enrollments(None, active_only, &query(&next, since)))
                .await?;
            let now = run.connector.now();
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|i| omniforge::to_enrollment(i, now))
                .collect();
            let (ended, current): (Vec<_>, Vec<_>) = rows
                .into_iter()
                .partition(|e| e.end_date.is_some_and(|d| d <= today));
            // No longer on the roster: each affected section's copy is rewritten without them.
            // (The cache has no single-row delete; the sync is the only writer of rosters.)
            let mut left: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for e in ended {
                left.entry(e.section_source_id)
                    .or_default()
                    .push(e.student_source_id);
            }
            let mut rewritten = Vec::new();
            for (section, students) in left {
                let s = section.clone();
                let keep = run
                    .blocking(move |c| c.enrollments(SYSTEM, &s))
                    .await?
                    .into_iter()
                    .filter(|r| !students.contains(&r.student_source_id))
                    .collect::<Vec<_>>();
                rewritten.push((section, keep));
            }
            let n = current.len() as u64;
            Ok(Step::new(
                vec![("enrollments", n)],
                page.next_cursor.map(Value::String),
                move |tx| {
                    // Departures first, so a row of this page is never removed again.
                    for (section, keep) in rewritten {
                        tx.replace_roster(SYSTEM, &section, &keep)?;
                    }
                    tx.upsert_enrollments(&current).map(|_| ())
                },
            ))
        },
    )
    .await?;

    let registers = run.todo(REGISTERS).await?;
    run.phase(
        REGISTERS,
        "registers",
        registers,
        |item, next, since| async move {
            let (org, date) = item
                .split_once('|')
                .and_then(|(o, d)| Some((o.to_string(), d.parse().ok()?)))
                .ok_or_else(|| PullError::Internal(format!("bad register item {item}")))?;
            let page = run
                .call(c.attendance(date, None, Some(&org), &query(&next, since)))
                .await?;
            let now = run.connector.now();
            let marks = page
                .items
                .iter()
                .map(|i| omniforge::to_mark(i, now))
                .collect::<Result<Vec<AttendanceMark>, _>>()?;
            Ok(Step::new(
                vec![("attendance marks", marks.len() as u64)],
                page.next_cursor.map(Value::String),
                move |tx| tx.upsert_attendance_marks(&marks).map(|_| ()),
            ))
        },
    )
    .await?;

    if links {
        let students = run.todo(LINKS).await?;
        run.phase(
            LINKS,
            "guardian links",
            students,
            |student, _, _| async move {
                let list = run.call(c.guardians_of(&student)).await?;
                let links: Vec<_> = list
                    .iter()
                    .map(|l| omniforge::to_student_guardian(&student, l))
                    .collect();
                Ok(Step::new(
                    vec![("guardian links", links.len() as u64)],
                    None,
                    move |tx| {
                        tx.replace_guardians_of(SYSTEM, &student, &links)
                            .map(|_| ())
                    },
                ))
            },
        )
        .await?;
    }
    Ok(())
}
