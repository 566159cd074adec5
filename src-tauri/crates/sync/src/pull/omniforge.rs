//! OmniForge: every list at 200 a page with `updatedSince` when incremental, in the order a
//! person needs them: schools, students, sections, rosters, then today's register per school
//! ("register ready"); guardians and the guardian links of each (changed) student, the one
//! thing the API only gives per student, come last.
//!
//! Registers are read on EVERY sync for every school and every day pulled, whether or not a
//! school record changed: a teacher's mark changes no organization. Each (school, day) is
//! read in full the first time and from then on with `updatedSince` the start of the last
//! pass that read it, so an unchanged register costs one short page.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_cache::{CacheError, CacheTx};
use schooldesk_connectors::omniforge::{self, ListQuery, PersonType, MAX_PAGE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{AttendanceMark, System};
use serde_json::{Map, Value};
use std::collections::HashMap;

use super::state::add_todo;
use super::{PullError, Run, Step, SyncMode, SKEW_MARGIN};

const SYSTEM: System = System::OmniForge;
const LINKS: &str = "omniforge.guardian_links";
const REGISTERS: &str = "omniforge.attendance";
/// When each (school, day) register was last read in full or brought up to date:
/// `{"<school>|<YYYY-MM-DD>": "<RFC 3339>"}`.
const REGISTERS_READ: &str = "omniforge.attendance.read";

fn query(next: &Value, since: Option<DateTime<Utc>>) -> ListQuery {
    ListQuery {
        cursor: next.as_str().map(str::to_string),
        limit: Some(MAX_PAGE),
        updated_since: since,
    }
}

fn one() -> Vec<String> {
    vec!["all".to_string()]
}

fn register_item(school: &str, date: NaiveDate) -> String {
    format!("{school}|{date}")
}

fn parse_register_item(item: &str) -> Option<(String, NaiveDate)> {
    let (school, date) = item.rsplit_once('|')?;
    Some((school.to_string(), date.parse().ok()?))
}

fn registers_read(tx: &CacheTx<'_>) -> Result<Map<String, Value>, CacheError> {
    Ok(tx
        .sync_state(SYSTEM, REGISTERS_READ)?
        .and_then(|s| match s.progress {
            Value::Object(m) => Some(m),
            _ => None,
        })
        .unwrap_or_default())
}

/// Notes that `item` is in the cache as of `as_of`, and forgets days older than `oldest`
/// (no longer pulled: if they come back into the window they are read in full again).
fn note_register_read(
    tx: &CacheTx<'_>,
    item: &str,
    as_of: DateTime<Utc>,
    oldest: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<(), CacheError> {
    let mut read = registers_read(tx)?;
    read.insert(item.to_string(), Value::String(as_of.to_rfc3339()));
    read.retain(|k, _| parse_register_item(k).is_some_and(|(_, d)| oldest.is_none_or(|o| d >= o)));
    tx.set_sync_state(SYSTEM, REGISTERS_READ, &Value::Object(read), now)
}

pub(super) async fn pull(run: &Run<'_>) -> Result<(), PullError> {
    let Connector::OmniForge(c) = run.connector else {
        return Err(PullError::Internal("not an OmniForge connector".into()));
    };

    run.phase(
        "omniforge.organizations",
        "schools",
        one(),
        |_, next, since| async move {
            let page = run.call(c.organizations(&query(&next, since))).await?;
            let now = run.connector.now();
            let rows: Vec<_> = page
                .items
                .iter()
                .map(|i| omniforge::to_school(i, now))
                .collect();
            Ok(Step::new(
                vec![("schools", rows.len() as u64)],
                page.next_cursor.map(Value::String),
                move |tx| tx.upsert_schools(&rows).map(|_| ()),
            ))
        },
    )
    .await?;

    // Students before rosters: a roster shows names.
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

    // Every school the cache knows (not only those the school list just changed) times
    // every day pulled. Added to the run's to-do list, so a resumed run keeps its order.
    let dates = run.attendance_dates();
    let oldest = dates.first().copied();
    let (id, now) = (run.id, run.connector.now());
    run.blocking(move |cache| {
        let items: Vec<String> = cache
            .schools(Some(SYSTEM))?
            .iter()
            .flat_map(|s| dates.iter().map(|d| register_item(&s.source.source_id, *d)))
            .collect();
        cache.with_transaction(|tx| add_todo(tx, SYSTEM, REGISTERS, id, items, now))
    })
    .await?;
    let registers = run.todo(REGISTERS).await?;
    // What each register's last complete read covered (a full sync reads them all again).
    let read: HashMap<String, DateTime<Utc>> = match run.mode {
        SyncMode::Full => HashMap::new(),
        SyncMode::Incremental => run
            .blocking(|c| c.with_transaction(registers_read))
            .await?
            .into_iter()
            .filter_map(|(k, v)| {
                let t = DateTime::parse_from_rfc3339(v.as_str()?).ok()?;
                Some((k, t.with_timezone(&Utc)))
            })
            .collect(),
    };
    let read = &read;
    // Marks changed after this run started are read again by the next one.
    let as_of = run.started_at - SKEW_MARGIN;
    run.phase(
        REGISTERS,
        "registers",
        registers,
        |item, next, _| async move {
            let (org, date) = parse_register_item(&item)
                .ok_or_else(|| PullError::Internal(format!("bad register item {item}")))?;
            let since = read.get(&item).copied();
            let page = run
                .call(c.attendance(date, None, Some(&org), &query(&next, since)))
                .await?;
            let now = run.connector.now();
            let marks = page
                .items
                .iter()
                .map(|i| omniforge::to_mark(i, now))
                .collect::<Result<Vec<AttendanceMark>, _>>()?;
            let next = page.next_cursor.map(Value::String);
            let finished = next.is_none();
            Ok(Step::new(
                vec![("attendance marks", marks.len() as u64)],
                next,
                move |tx| {
                    // Synced marks are replaced; a mark taken at this desk and not yet
                    // confirmed by OmniForge is left as it is (see upsert_attendance_marks).
                    tx.upsert_attendance_marks(&marks)?;
                    if finished {
                        note_register_read(tx, &item, as_of, oldest, now)?;
                    }
                    Ok(())
                },
            ))
        },
    )
    .await?;
    run.mark_register_ready("registers");

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
