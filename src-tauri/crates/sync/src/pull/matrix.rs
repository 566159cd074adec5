//! Matrix LMS: organizations, users and classes page by page (100 a page, the API's only
//! size), then per class its roster, grades and the register of each day pulled. Matrix has no
//! change filter: an incremental sync reads the list pages again, compares each class with
//! the cache and calls per class only for the new or changed ones.

use chrono::Datelike;
use schooldesk_connectors::matrix::{self, PAGE_SIZE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{StudentGuardian, System};
use serde_json::Value;
use std::collections::HashMap;

use super::state::add_todo;
use super::{PullError, Run, Step, SyncMode};

const SYSTEM: System = System::Matrix;
const CLASSES: &str = "matrix.class_details";

/// A page shorter than the page size is the last (past it, Matrix answers an empty list).
fn next_page(page: u32, len: usize) -> Option<Value> {
    (len >= PAGE_SIZE).then(|| Value::from(page + 1))
}

fn page_of(next: &Value) -> u32 {
    next.as_u64().unwrap_or(1).max(1) as u32
}

pub(super) async fn pull(run: &Run<'_>) -> Result<(), PullError> {
    let Connector::Matrix(c) = run.connector else {
        return Err(PullError::Internal("not a Matrix connector".into()));
    };
    let today = run.today();
    // Matrix numbers graduation years; the school year ends the summer after September.
    let school_year_end = if today.month() >= 8 {
        today.year() + 1
    } else {
        today.year()
    };

    run.phase(
        "matrix.organizations",
        "schools",
        vec!["all".into()],
        |_, next, _| async move {
            let page = page_of(&next);
            let list = run.call(c.organizations(page)).await?;
            let now = run.connector.now();
            let rows: Vec<_> = list.iter().map(|o| matrix::to_school(o, now)).collect();
            Ok(Step::new(
                vec![("schools", rows.len() as u64)],
                next_page(page, list.len()),
                move |tx| tx.upsert_schools(&rows).map(|_| ()),
            ))
        },
    )
    .await?;

    run.phase(
        "matrix.users",
        "students and parents",
        vec!["all".into()],
        |_, next, _| async move {
            let page = page_of(&next);
            let users = run.call(c.users(page)).await?;
            let now = run.connector.now();
            let students: Vec<_> = users
                .iter()
                .filter(|u| u.wire.student)
                .map(|u| matrix::to_student(u, now, school_year_end))
                .collect();
            let guardians: Vec<_> = users
                .iter()
                .filter(|u| u.wire.parent)
                .map(|u| matrix::to_guardian(u, now))
                .collect();
            let links: Vec<(String, Vec<StudentGuardian>)> = users
                .iter()
                .filter(|u| u.wire.student)
                .map(|u| (u.wire.id.clone(), matrix::to_student_guardians(u)))
                .collect();
            let n_links = links.iter().map(|(_, l)| l.len() as u64).sum();
            Ok(Step::new(
                vec![
                    ("students", students.len() as u64),
                    ("guardians", guardians.len() as u64),
                    ("guardian links", n_links),
                ],
                next_page(page, users.len()),
                move |tx| {
                    tx.upsert_students(&students)?;
                    tx.upsert_guardians(&guardians)?;
                    for (student, l) in links {
                        tx.replace_guardians_of(SYSTEM, &student, &l)?;
                    }
                    Ok(())
                },
            ))
        },
    )
    .await?;

    // What the cache already holds of each class, to call per class only when it changed.
    let known: HashMap<String, Value> = if run.mode == SyncMode::Incremental {
        run.blocking(|c| c.sections(Some(SYSTEM)))
            .await?
            .into_iter()
            .map(|s| (s.source.source_id, s.source.raw))
            .collect()
    } else {
        HashMap::new()
    };
    let known = &known;
    run.phase(
        "matrix.classes",
        "classes",
        vec!["all".into()],
        |_, next, _| async move {
            let page = page_of(&next);
            let classes = run.call(c.classes(page)).await?;
            let now = run.connector.now();
            let rows: Vec<_> = classes.iter().map(|k| matrix::to_section(k, now)).collect();
            let changed: Vec<String> = rows
                .iter()
                .filter(|s| known.get(&s.source.source_id) != Some(&s.source.raw))
                .map(|s| s.source.source_id.clone())
                .collect();
            let id = run.id;
            Ok(Step::new(
                vec![("sections", rows.len() as u64)],
                next_page(page, classes.len()),
                move |tx| {
                    tx.upsert_sections(&rows)?;
                    add_todo(tx, SYSTEM, CLASSES, id, changed, now)
                },
            ))
        },
    )
    .await?;

    let grades = run.options.grades;
    let dates = run.attendance_dates();
    let classes = run.todo(CLASSES).await?;
    run.phase(CLASSES, "class rosters", classes, |class, _, _| {
        let dates = dates.clone();
        async move {
            let students = run.call(c.students_for_class(&class)).await?;
            let grade_rows = if grades {
                run.call(c.grades_for_class(&class)).await?
            } else {
                Vec::new()
            };
            let mut sets = Vec::new();
            for d in &dates {
                sets.extend(run.call(c.attendance(&class, *d)).await?);
            }
            let now = run.connector.now();
            let roster: Vec<_> = students
                .iter()
                .filter_map(|s| matrix::to_enrollment(&class, s, now))
                .collect();
            let grades: Vec<_> = grade_rows
                .iter()
                .flat_map(|g| matrix::to_grades(&class, g, now))
                .collect();
            let mut marks = Vec::new();
            for set in &sets {
                marks.extend(matrix::to_marks(&class, set, now)?);
            }
            Ok(Step::new(
                vec![
                    ("enrollments", roster.len() as u64),
                    ("grades", grades.len() as u64),
                    ("attendance marks", marks.len() as u64),
                ],
                None,
                move |tx| {
                    tx.replace_roster(SYSTEM, &class, &roster)?;
                    tx.upsert_grades(&grades)?;
                    tx.upsert_attendance_marks(&marks).map(|_| ())
                },
            ))
        }
    })
    .await?;
    Ok(())
}
