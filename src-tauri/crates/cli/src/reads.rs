//! The read commands: `students`, `sections`, `roster`, `student`, `disagreements` and
//! `status`. Every `--json` item carries the `id` the other commands accept back.

use chrono::Local;
use schooldesk_cache::StudentQuery;
use schooldesk_domain::Student;
use schooldesk_sync::reads::{qualified_id, DeskStatus, StudentCard, SystemStatus};
use schooldesk_sync::Desk;

use crate::output::{first, listing_part, opt, summary, WithId};
use crate::run::CliError;

type Result<T> = std::result::Result<T, CliError>;

/// How many students a listing for people shows unless `--limit` says otherwise.
const STUDENTS_SHOWN: usize = 100;

pub fn students(desk: &Desk, json: bool, search: Option<&str>, limit: Option<usize>) -> Result<()> {
    // Scripts get the whole list unless they ask for part of it; people get a screenful.
    let limit = limit.or((!json).then_some(STUDENTS_SHOWN));
    let students = desk.students(search, limit)?;
    let left_out = match limit {
        Some(_) => {
            let total = desk.cache().count_students(&StudentQuery {
                search: search.map(str::to_string).filter(|s| !s.trim().is_empty()),
                ..StudentQuery::default()
            })?;
            total.saturating_sub(students.len() as u64)
        }
        None => 0,
    };
    let items: Vec<WithId<'_, Student>> = students
        .iter()
        .map(|s| WithId {
            id: qualified_id(s.source.system, &s.source.source_id),
            item: s,
        })
        .collect();
    listing_part(
        json,
        &items,
        &["id", "external id", "name", "grade", "homeroom"],
        |w| {
            let s = w.item;
            vec![
                w.id.clone(),
                opt(&s.external_id),
                s.display_name(),
                opt(&s.grade),
                opt(&s.homeroom),
            ]
        },
        left_out,
    )
}

pub fn sections(desk: &Desk, json: bool, school: Option<&str>, limit: Option<usize>) -> Result<()> {
    let (items, left_out) = first(desk.sections(school)?, limit);
    listing_part(
        json,
        &items,
        &["id", "name", "system", "school", "students"],
        |s| {
            vec![
                s.id.clone(),
                s.name.clone(),
                s.system.display_name().to_string(),
                match (&s.school, &s.school_id) {
                    (Some(name), Some(id)) => format!("{name} ({id})"),
                    (None, Some(id)) => id.clone(),
                    _ => String::new(),
                },
                s.students.to_string(),
            ]
        },
        left_out,
    )
}

pub fn roster(desk: &Desk, json: bool, section: &str, limit: Option<usize>) -> Result<()> {
    let roster = desk.roster(section)?;
    let (items, left_out) = first(roster.students, limit);
    if !json {
        let s = &roster.section;
        out!(
            "{} ({}, {}{}): {} student(s)",
            s.name,
            s.id,
            s.system.display_name(),
            s.school
                .as_ref()
                .map(|n| format!(", {n}"))
                .unwrap_or_default(),
            s.students
        );
    }
    listing_part(
        json,
        &items,
        &["id", "name", "grade", "external id"],
        |r| {
            vec![
                r.id.clone(),
                r.name.clone(),
                opt(&r.grade),
                opt(&r.external_id),
            ]
        },
        left_out,
    )
}

pub fn student(desk: &Desk, json: bool, id: &str) -> Result<()> {
    let card = desk.student_card(id, Local::now().date_naive())?;
    summary(json, &card, &describe_card(&card))
}

fn describe_card(card: &StudentCard) -> String {
    let mut lines = vec![format!(
        "{}{}",
        card.name,
        card.external_id
            .as_ref()
            .map(|e| format!(" (external id {e})"))
            .unwrap_or_default()
    )];
    lines.push("Ids:".into());
    for r in &card.records {
        let mut detail = vec![r.kind.to_string()];
        if let Some(g) = &r.grade {
            detail.push(format!("grade {g}"));
        }
        if let Some(h) = &r.homeroom {
            detail.push(format!("homeroom {h}"));
        }
        if let Some(d) = r.date_of_birth {
            detail.push(format!("born {d}"));
        }
        if !r.active {
            detail.push("inactive".into());
        }
        lines.push(format!(
            "  {:<24} {} — {}",
            r.system.display_name(),
            r.id,
            detail.join(", ")
        ));
    }
    lines.push("Guardians and contacts:".into());
    if card.contacts.is_empty() {
        lines.push("  (none cached)".into());
    }
    for c in &card.contacts {
        let collect = match c.may_collect {
            Some(true) => "may collect",
            Some(false) => "may NOT collect",
            None => "collection not recorded",
        };
        let mut detail = vec![];
        if let Some(r) = &c.relationship {
            detail.push(r.clone());
        }
        if c.primary {
            detail.push("primary".into());
        }
        if c.emergency_contact == Some(true) {
            detail.push("emergency contact".into());
        }
        lines.push(format!(
            "  {} ({}){}: phone {}{} — {collect}",
            c.name,
            c.id,
            if detail.is_empty() {
                String::new()
            } else {
                format!(", {}", detail.join(", "))
            },
            c.phone.as_deref().unwrap_or("none"),
            c.email
                .as_ref()
                .map(|e| format!(", email {e}"))
                .unwrap_or_default(),
        ));
    }
    lines.push("Enrolled in:".into());
    if card.enrollments.is_empty() {
        lines.push("  (none cached)".into());
    }
    for e in &card.enrollments {
        lines.push(format!(
            "  {} ({}, {})",
            e.name,
            e.id,
            e.system.display_name()
        ));
    }
    lines.push(format!("Marks on {}:", card.today));
    if card.marks.is_empty() {
        lines.push("  (none)".into());
    }
    for m in &card.marks {
        let mut at = vec![];
        if let Some(s) = &m.section_id {
            at.push(s.clone());
        }
        if let Some(p) = &m.period {
            at.push(format!("period {p}"));
        }
        lines.push(format!(
            "  {} {}{} ({})",
            m.system.display_name(),
            m.status,
            if at.is_empty() {
                String::new()
            } else {
                format!(" in {}", at.join(", "))
            },
            m.state
        ));
    }
    lines.join("\n")
}

pub fn disagreements(desk: &Desk, json: bool, limit: Option<usize>) -> Result<()> {
    let (items, left_out) = first(desk.disagreement_list()?, limit);
    listing_part(
        json,
        &items,
        &["id", "name", "field", "values", "records"],
        |d| {
            vec![
                d.id.clone(),
                d.name.clone().unwrap_or_default(),
                d.field.clone(),
                d.values
                    .iter()
                    .map(|v| format!("{}: {}", v.system.as_str(), v.value))
                    .collect::<Vec<_>>()
                    .join("; "),
                d.records.join(", "),
            ]
        },
        left_out,
    )
}

pub fn status(desk: &Desk, json: bool) -> Result<()> {
    let status = desk.desk_status()?;
    summary(json, &status, &describe_status(&status))
}

fn describe_status(status: &DeskStatus) -> String {
    let base = &status.base;
    let mut text = format!(
        "Data directory: {}\nCache: encrypted (SQLCipher), layout version {}, key in the OS keychain\n",
        base.data_dir.display(),
        base.schema_version
    );
    if base.connections.is_empty() {
        text.push_str(if cfg!(feature = "demo") {
            "Connections: none (connect one with `schooldesk connect`, or try `schooldesk demo`)\n"
        } else {
            "Connections: none (connect one with `schooldesk connect`)\n"
        });
    }
    for c in &base.connections {
        text.push_str(&format!(
            "Connected: {} at {}\n",
            c.system.display_name(),
            c.base_url
        ));
    }
    for (table, per_system) in &base.counts {
        let total: u64 = per_system.values().sum();
        if total > 0 {
            text.push_str(&format!("{table}: {total}\n"));
        }
    }
    for (state, n) in &base.outbox {
        text.push_str(&format!("outbox {state}: {n}\n"));
    }
    for s in &status.systems {
        text.push_str(&describe_system(s));
        text.push('\n');
    }
    text.trim_end().to_string()
}

fn describe_system(s: &SystemStatus) -> String {
    let last = match &s.last_sync {
        None => "never synced".to_string(),
        Some(l) => format!(
            "last {} sync {} {}",
            l.mode.as_str(),
            if l.completed {
                "completed"
            } else {
                "not completed, last progress"
            },
            l.updated_at.with_timezone(&Local).format("%Y-%m-%d %H:%M")
        ),
    };
    let mut parts = vec![last];
    let o = &s.outbox;
    parts.push(format!(
        "outbox {} pending, {} conflict, {} failed",
        o.pending + o.sending,
        o.conflict,
        o.failed
    ));
    if s.held_removals > 0 {
        parts.push(format!(
            "{} removal(s) held: confirm with `schooldesk sync {} --confirm-removals`",
            s.held_removals, s.id
        ));
    }
    let mut line = format!("{}: {}", s.system.display_name(), parts.join("; "));
    if let Some(a) = &s.needs_attention {
        line.push_str(&format!("\n  Needs attention: {}", a.message));
    }
    line
}
