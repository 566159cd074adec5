//! Matrix LMS: organizations, classes and users page by page (100 a page, the API's only
//! size); then per class its roster and today's register ("register ready"); then per class
//! its grades and the registers of earlier days pulled.
//!
//! Matrix has no change filter anywhere, and a class's record does not change when a student
//! joins or leaves it, a teacher takes a mark or enters a grade. So every sync, incremental or
//! full, asks each class for its roster (`get_students_for_class`), today's register
//! (`get_attendance` for one date) and its grades (`get_grades_for_class`): one call each, the
//! cheapest the API documents (the per-user alternatives cost one call per student). Only an
//! archived class whose record did not change is skipped by an incremental sync: nobody takes
//! a register or grades work in it any more.

use chrono::Datelike;
use schooldesk_connectors::matrix::{self, PAGE_SIZE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{StudentGuardian, System};
use serde_json::Value;
use std::collections::HashMap;

use super::state::add_todo;
use super::{PullError, Run, Step, SyncMode};

const SYSTEM: System = System::Matrix;

/// A class record as the cache keeps it (its allow-list), to compare with what is stored.
fn stored_form(raw: &Value) -> Value {
    use schooldesk_cache::allow_list::{minimise, RowKind};
    minimise(SYSTEM, RowKind::Section, raw, Default::default())
}
/// Roster and today's register of each class.
const CLASS_REGISTERS: &str = "matrix.class_details";
/// Grades and earlier days' registers of each class.
const CLASS_HISTORY: &str = "matrix.class_grades";

/// A page shorter than the page size is the last (past it, Matrix answers an empty list).
fn next_page(page: u32, len: usize) -> Option<Value> {
    (len >= PAGE_SIZE).then(|| Value::from(page + 1))
}

fn page_of(next: &Value) -> u32 {
    next.as_u64().unwrap_or(1).max(1) as u32
}

fn archived(raw: &Value) -> bool {
    raw.get("archived").and_then(Value::as_bool) == Some(true)
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

    // What the cache already holds of each class: an archived class is refreshed only when
    // its record changed.
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
    let mode = run.mode;
    run.phase(
        "matrix.classes",
        "classes",
        vec!["all".into()],
        |_, next, _| async move {
            let page = page_of(&next);
            let classes = run.call(c.classes(page)).await?;
            let now = run.connector.now();
            let rows: Vec<_> = classes.iter().map(|k| matrix::to_section(k, now)).collect();
            let refresh: Vec<String> = rows
                .iter()
                .filter(|s| {
                    mode == SyncMode::Full
                        || !archived(&s.source.raw)
                        || known.get(&s.source.source_id) != Some(&stored_form(&s.source.raw))
                })
                .map(|s| s.source.source_id.clone())
                .collect();
            let id = run.id;
            Ok(Step::new(
                vec![("sections", rows.len() as u64)],
                next_page(page, classes.len()),
                move |tx| {
                    tx.upsert_sections(&rows)?;
                    add_todo(tx, SYSTEM, CLASS_REGISTERS, id, refresh.clone(), now)?;
                    add_todo(tx, SYSTEM, CLASS_HISTORY, id, refresh, now)
                },
            ))
        },
    )
    .await?;

    // Students and parents come in one list, with the parent links.
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

    let pull_today = run.options.attendance_days > 0;
    let classes = run.todo(CLASS_REGISTERS).await?;
    run.phase(
        CLASS_REGISTERS,
        "class rosters",
        classes,
        |class, _, _| async move {
            let students = run.call(c.students_for_class(&class)).await?;
            let sets = if pull_today {
                run.call(c.attendance(&class, today)).await?
            } else {
                Vec::new()
            };
            let now = run.connector.now();
            // A student dropped from the class is no longer listed (or listed as unenrolled):
            // the roster is replaced, so they come off it.
            let roster: Vec<_> = students
                .iter()
                .filter_map(|s| matrix::to_enrollment(&class, s, now))
                .collect();
            let mut marks = Vec::new();
            for set in &sets {
                marks.extend(matrix::to_marks(&class, set, now)?);
            }
            Ok(Step::new(
                vec![
                    ("enrollments", roster.len() as u64),
                    ("attendance marks", marks.len() as u64),
                ],
                None,
                move |tx| {
                    tx.replace_roster(SYSTEM, &class, &roster)?;
                    tx.upsert_attendance_marks(&marks).map(|_| ())
                },
            ))
        },
    )
    .await?;
    run.mark_register_ready("class rosters");

    let grades = run.options.grades;
    let earlier: Vec<_> = run
        .attendance_dates()
        .into_iter()
        .filter(|d| *d != today)
        .collect();
    if !grades && earlier.is_empty() {
        return Ok(());
    }
    let earlier = &earlier;
    let classes = run.todo(CLASS_HISTORY).await?;
    run.phase(
        CLASS_HISTORY,
        "grades and earlier registers",
        classes,
        |class, _, _| async move {
            let grade_rows = if grades {
                run.call(c.grades_for_class(&class)).await?
            } else {
                Vec::new()
            };
            let mut sets = Vec::new();
            for d in earlier {
                sets.extend(run.call(c.attendance(&class, *d)).await?);
            }
            let now = run.connector.now();
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
                    ("grades", grades.len() as u64),
                    ("attendance marks", marks.len() as u64),
                ],
                None,
                move |tx| {
                    tx.upsert_grades(&grades)?;
                    tx.upsert_attendance_marks(&marks).map(|_| ())
                },
            ))
        },
    )
    .await?;
    Ok(())
}
