//! `schooldesk export …` and `schooldesk audit`: documents from the cache, written through
//! the export crate's one path (render, safe write, access log) that the app uses too.

use std::collections::BTreeSet;

use chrono::{DateTime, Local, NaiveDate, Utc};
use schooldesk_cache::{AccessAction, NewAccess};
use schooldesk_domain::System;
use schooldesk_export::audit::{export_to_file, ExportReceipt};
use schooldesk_export::build::{self, SupportScope};
use schooldesk_export::{Cell, Column, ColumnKind, Document, DocumentKind, Format, Table};
use schooldesk_sync::Desk;

use crate::args::{ExportCommand, FileArgs, RegisterArgs};
use crate::output::{first, listing, opt, summary};
use crate::run::{runtime, Result};

pub fn export(desk: &Desk, json: bool, command: ExportCommand) -> Result<()> {
    let now = Utc::now();
    let (doc, file) = match command {
        ExportCommand::Documents { out } => return documents(desk, json, &out, now),
        ExportCommand::Register(a) => register(desk, a, now)?,
        ExportCommand::Roster { section, file } => (build::roster(desk, &section, now)?, file),
        ExportCommand::Emergency { section, file } => {
            let today = school_today(desk, section.as_deref(), now);
            (
                build::emergency(desk, section.as_deref(), today, now)?,
                file,
            )
        }
        ExportCommand::Checklist { checklist, file } => {
            (build::checklist(desk, &checklist, now)?, file)
        }
        ExportCommand::LearningSupport {
            student,
            year_group,
            file,
        } => {
            let scope = match (student, year_group) {
                (Some(s), _) => SupportScope::Student(s),
                (None, Some(g)) => SupportScope::YearGroup(g),
                (None, None) => SupportScope::All,
            };
            (build::learning_support(desk, &scope, now)?, file)
        }
        ExportCommand::Submission { record, file } => {
            (build::submission(desk, &record, now)?, file)
        }
        ExportCommand::Students { out, format, paper } => {
            (students(desk, now)?, FileArgs { format, out, paper })
        }
    };
    let receipt = export_to_file(desk, &doc, file.format, file.paper, &file.out, now)?;
    summary(json, &receipt, &describe(&receipt))
}

/// "Wrote /path/register.pdf (3 pages, 28 rows, 28 students)."
fn describe(r: &ExportReceipt) -> String {
    let mut parts = vec![];
    if let Some(pages) = r.pages {
        parts.push(plural(pages, "page", "pages"));
    }
    parts.push(plural(r.rows, "row", "rows"));
    if r.tables > 1 {
        parts.push(plural(r.tables, "table", "tables"));
    }
    parts.push(plural(r.students, "student", "students"));
    format!(
        "Wrote {} ({}). Recorded in the access log (`schooldesk audit`).",
        r.path.display(),
        parts.join(", ")
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

fn register(desk: &Desk, a: RegisterArgs, now: DateTime<Utc>) -> Result<(Document, FileArgs)> {
    let format = a.format.unwrap_or(Format::Csv);
    let file = FileArgs {
        format,
        out: a.out,
        paper: a.paper,
    };
    let doc = match (a.date, a.section, a.from, a.to) {
        (Some(date), _, _, _) => day_marks(desk, date, now)?,
        (None, Some(section), Some(from), Some(to)) => {
            build::register(desk, &section, from, to, now)?
        }
        // clap requires these together; kept as a sentence should that ever change.
        _ => {
            return Err(crate::run::CliError::Usage(
                "a register needs --section ID --from D --to D (or --date D for one day's \
                 marks); nothing was written"
                    .into(),
            ))
        }
    };
    Ok((doc, file))
}

/// Every mark of one day, in every section, with whether it reached its system (the
/// register a HUBmis school keeps here while its system takes no writes).
fn day_marks(desk: &Desk, date: NaiveDate, now: DateTime<Utc>) -> Result<Document> {
    let marks = desk.register(date, None)?;
    let columns = [
        ("system", ColumnKind::Code),
        ("student id", ColumnKind::Text),
        ("section", ColumnKind::Text),
        ("period", ColumnKind::Code),
        ("date", ColumnKind::Date),
        ("status", ColumnKind::Text),
        ("code", ColumnKind::Code),
        ("note", ColumnKind::Text),
        ("state", ColumnKind::Text),
    ];
    let rows = marks
        .iter()
        .map(|m| {
            vec![
                Cell::text(m.source.system.to_string()),
                Cell::text(m.student_source_id.clone()),
                Cell::text(opt(&m.section_source_id)),
                Cell::text(opt(&m.period)),
                Cell::Date(m.date),
                Cell::text(m.status.to_string()),
                Cell::text(opt(&m.code)),
                Cell::text(opt(&m.note)),
                Cell::text(m.state.as_str()),
            ]
        })
        .collect();
    let students: BTreeSet<String> = marks
        .iter()
        .map(|m| format!("{}:{}", m.source.system, m.student_source_id))
        .collect();
    Ok(Document {
        kind: DocumentKind::Register,
        title: format!("Attendance marks — {date}"),
        school: school_name(desk)?,
        subtitle: Some(format!(
            "Every section, {}",
            plural(marks.len(), "mark", "marks")
        )),
        data_as_of: marks.iter().map(|m| m.source.fetched_at).max(),
        generated_at: now,
        tables: vec![Table {
            name: date.to_string(),
            columns: columns.iter().map(|(t, k)| Column::new(*t, *k)).collect(),
            rows,
            totals: vec![],
        }],
        students: students.into_iter().collect(),
    })
}

/// Every student in the cache, one row per system record.
fn students(desk: &Desk, now: DateTime<Utc>) -> Result<Document> {
    let students = desk.students(None, None)?;
    let columns = [
        ("system", ColumnKind::Code),
        ("id", ColumnKind::Text),
        ("external id", ColumnKind::Text),
        ("given name", ColumnKind::Text),
        ("family name", ColumnKind::Text),
        ("date of birth", ColumnKind::Date),
        ("grade", ColumnKind::Code),
        ("homeroom", ColumnKind::Text),
    ];
    let rows = students
        .iter()
        .map(|s| {
            vec![
                Cell::text(s.source.system.to_string()),
                Cell::text(s.source.source_id.clone()),
                Cell::text(opt(&s.external_id)),
                Cell::text(s.given_name.clone()),
                Cell::text(s.family_name.clone()),
                s.date_of_birth.map_or(Cell::Empty, Cell::Date),
                Cell::text(opt(&s.grade)),
                Cell::text(opt(&s.homeroom)),
            ]
        })
        .collect();
    Ok(Document {
        kind: DocumentKind::Roster,
        title: "Students".into(),
        school: school_name(desk)?,
        subtitle: Some(plural(students.len(), "student record", "student records")),
        data_as_of: students.iter().map(|s| s.source.fetched_at).max(),
        generated_at: now,
        tables: vec![Table {
            name: "Students".into(),
            columns: columns.iter().map(|(t, k)| Column::new(*t, *k)).collect(),
            rows,
            totals: vec![],
        }],
        students: students
            .iter()
            .map(|s| format!("{}:{}", s.source.system, s.source.source_id))
            .collect(),
    })
}

/// The schools the cache holds, for the top of a district-wide document.
fn school_name(desk: &Desk) -> Result<String> {
    let schools = desk.cache().schools(None)?;
    let names: BTreeSet<&str> = schools.iter().map(|s| s.name.as_str()).collect();
    Ok(match names.len() {
        0 => "All schools".to_string(),
        1..=3 => names.into_iter().collect::<Vec<_>>().join(", "),
        n => format!("{n} schools"),
    })
}

/// Today at the school: in the time zone of the section's system (or of the first
/// connection that has one), else this computer's. An emergency list made just after
/// midnight UTC for a school in Chicago must be of Chicago's day.
fn school_today(desk: &Desk, section: Option<&str>, now: DateTime<Utc>) -> NaiveDate {
    let system = section
        .and_then(|s| s.split_once(':'))
        .and_then(|(system, _)| system.parse::<System>().ok());
    let zone = desk
        .connections()
        .unwrap_or_default()
        .into_iter()
        .filter(|c| system.is_none_or(|s| c.system == s))
        .find_map(|c| c.settings.time_zone.filter(|z| !z.trim().is_empty()));
    match zone.and_then(|z| z.trim().parse::<chrono_tz::Tz>().ok()) {
        Some(tz) => now.with_timezone(&tz).date_naive(),
        None => now.with_timezone(&Local).date_naive(),
    }
}

/// Enrollment documents into a folder (kept from before documents had their own crate),
/// recorded in the access log like every export when any file was written.
fn documents(desk: &Desk, json: bool, out: &std::path::Path, now: DateTime<Utc>) -> Result<()> {
    let report = runtime()?.block_on(desk.export_documents(out))?;
    if report.written > 0 {
        let records: BTreeSet<String> = desk
            .cache()
            .documents(Some(System::PowerSchool))?
            .into_iter()
            .filter_map(|d| {
                d.record_source_id
                    .map(|r| format!("{}:{r}", d.source.system))
            })
            .collect();
        let folder = std::path::absolute(&report.out_dir).unwrap_or(report.out_dir.clone());
        desk.cache().record_access(&NewAccess {
            at: now,
            action: AccessAction::Export,
            what: "documents".into(),
            detail: format!(
                "Enrollment documents ({})",
                plural(report.written as usize, "file", "files")
            ),
            students: records.into_iter().collect(),
            destination: Some(folder.display().to_string()),
            by_whom: schooldesk_export::audit::signed_in_user(),
        })?;
    }
    summary(json, &report, &report.describe())
}

/// The access log, newest first. JSON items are the log's entries as stored (each with its
/// `id` and every student's `system:id`).
pub fn audit(desk: &Desk, json: bool, limit: Option<usize>) -> Result<()> {
    let limit = limit.or(if json { None } else { Some(100) });
    // One more than shown, to tell whether older entries were left out.
    let entries = desk
        .cache()
        .access_log(limit.map(|n| n.saturating_add(1)))?;
    let (entries, more) = first(entries, limit);
    listing(
        json,
        &entries,
        &[
            "id", "when", "action", "what", "detail", "students", "to", "who",
        ],
        |e| {
            let a = &e.access;
            vec![
                e.id.to_string(),
                a.at.with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M")
                    .to_string(),
                match a.action {
                    AccessAction::Export => "export".into(),
                    AccessAction::View => "view".into(),
                },
                a.what.clone(),
                a.detail.clone(),
                a.students.len().to_string(),
                opt(&a.destination),
                opt(&a.by_whom),
            ]
        },
    )?;
    if more > 0 && !json {
        out!("… older entries not shown (use --limit N to see more, or --json for all).");
    }
    Ok(())
}
