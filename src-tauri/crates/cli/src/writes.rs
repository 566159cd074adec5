//! The write commands (PowerSchool Enrollment, Matrix) and what a person does with a queued
//! write afterwards: its receipt, a conflict's resolution, a retry, a discard.
//!
//! Every write is saved at once, pending, by the core; these commands only say what was
//! queued and how it goes out. A bad input is refused before anything is saved.

use chrono::Utc;
use schooldesk_cache::{DeliveryBatch, Receipt, Resolution};
use schooldesk_domain::{OutboxAttempt, OutboxEntry, OutboxState, Write};
use schooldesk_sync::Desk;
use serde::Serialize;
use serde_json::Value;
use std::path::Path;
use uuid::Uuid;

use crate::args::{ClassCommand, EnrollmentCommand, GradesCommand, UserCommand};
use crate::output::{listing, summary, WithId};
use crate::run::{runtime, CliError, Result};

/// How a queued write goes out, said after every write command.
pub(crate) const HOW_SENT: &str =
    "It will be sent with `schooldesk outbox replay`, or by the app when it is running.";

/// Reads a record file as JSON; a missing file or bad JSON is one sentence, nothing queued.
fn read_record(path: &Path) -> Result<Value> {
    read_json(path, "Nothing was queued.")
}

/// Reads a JSON file; `nothing` ends the sentence saying it could not be read.
fn read_json(path: &Path, nothing: &str) -> Result<Value> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::Usage(if e.kind() == std::io::ErrorKind::NotFound {
            format!("There is no file {}. {nothing}", path.display())
        } else {
            format!("Could not read {}: {e}. {nothing}", path.display())
        })
    })?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::Usage(format!(
            "{} is not valid JSON ({e}). {nothing}",
            path.display()
        ))
    })
}

/// Says what was queued, its outbox id, and how it will be sent.
fn queued(desk: &Desk, json: bool, entry: &OutboxEntry) -> Result<()> {
    let description = desk.describe_write(entry);
    summary(
        json,
        &serde_json::json!({
            "queued": true,
            "description": description,
            "outbox": entry,
        }),
        &format!(
            "Queued for {}: {description} (pending, outbox entry {}). {HOW_SENT}",
            entry.system.display_name(),
            entry.id
        ),
    )
}

pub fn enrollment(desk: &Desk, json: bool, command: EnrollmentCommand) -> Result<()> {
    let now = Utc::now();
    match command {
        EnrollmentCommand::Import {
            action,
            schema,
            file,
        } => {
            let record = read_record(&file)?;
            let entry =
                desk.import_roster_record(&action, &schema, &record, now, Uuid::new_v4())?;
            queued(desk, json, &entry)
        }
        EnrollmentCommand::Submit { action, file } => {
            let form = read_record(&file)?;
            let entry = desk.submit_form(&action, &form, now, Uuid::new_v4())?;
            queued(desk, json, &entry)
        }
        EnrollmentCommand::Batch { target } => fetch_batch(desk, json, &target),
        EnrollmentCommand::Batches { target } => {
            let batches = desk.delivery_batches(target.as_deref())?;
            if json {
                let items: Vec<WithId<DeliveryBatch>> = batches
                    .iter()
                    .map(|b| WithId {
                        id: b.batch_id.clone(),
                        item: b,
                    })
                    .collect();
                out!("{}", serde_json::to_string_pretty(&items)?);
                return Ok(());
            }
            if batches.is_empty() {
                out!(
                    "No delivery batches fetched yet. Fetch one with `schooldesk enrollment \
                     batch --target ID`."
                );
                return Ok(());
            }
            for (i, b) in batches.iter().enumerate() {
                if i > 0 {
                    out!("");
                }
                print_batch(b);
            }
            Ok(())
        }
        EnrollmentCommand::ResetBatch { target, batch } => {
            let entry = desk.reset_batch(&target, &batch, now, Uuid::new_v4())?;
            queued(desk, json, &entry)
        }
    }
}

/// Queues fetching the next batch and sends the outbox at once, so the person sees the
/// records now when PowerSchool answers, or why they must wait.
fn fetch_batch(desk: &Desk, json: bool, target: &str) -> Result<()> {
    let entry = desk.fetch_batch(target, Utc::now(), Uuid::new_v4())?;
    // The fetch is saved whatever happens to this send; a send that cannot start (another
    // one running) only means it goes out later.
    let (report, not_sent) = match runtime()?.block_on(desk.replay()) {
        Ok(report) => (Some(report), None),
        Err(e) => (None, Some(e.user_message())),
    };
    let entry = desk.receipt(entry.id)?.entry;
    let batch = if entry.state == OutboxState::Done {
        desk.delivery_batches(Some(target))?
            .into_iter()
            .find(|b| b.outbox_id == Some(entry.id))
    } else {
        None
    };
    if json {
        let value = serde_json::json!({
            "outbox": entry,
            "replay": report,
            "not_sent": not_sent,
            "batch": batch.as_ref().map(|b| WithId { id: b.batch_id.clone(), item: b }),
        });
        out!("{}", serde_json::to_string_pretty(&value)?);
        return Ok(());
    }
    match (&batch, entry.state) {
        (Some(b), _) => {
            print_batch(b);
            out!("Kept here: see it again with `schooldesk enrollment batches --target {target}`.");
        }
        (None, OutboxState::Done) => out!(
            "PowerSchool had no new records for delivery target {target}: its delivery pool \
             is empty (outbox entry {}).",
            entry.id
        ),
        (None, state) => {
            let why = entry
                .last_error
                .clone()
                .or_else(|| {
                    report
                        .as_ref()
                        .and_then(|r| r.problems.get(&entry.system).cloned())
                })
                .or(not_sent)
                .unwrap_or_else(|| "it was not sent yet".into());
            out!(
                "Queued the fetch of the next delivery batch for target {target} (outbox entry \
                 {}, {}): {why} {}",
                entry.id,
                state.as_str(),
                match state {
                    OutboxState::Failed | OutboxState::Conflict =>
                        format!("See `schooldesk outbox show {}`.", entry.id),
                    _ => HOW_SENT.to_string(),
                }
            );
        }
    }
    Ok(())
}

fn print_batch(b: &DeliveryBatch) {
    let reset = b
        .reset_at
        .map(|t| format!(", reset {}", t.format("%Y-%m-%d %H:%M")))
        .unwrap_or_default();
    out!(
        "Delivery batch {} for target {}: {} record(s), created {}, fetched {}{reset}.",
        b.batch_id,
        b.target_id,
        b.records.len(),
        b.created_at,
        b.fetched_at.format("%Y-%m-%d %H:%M")
    );
    let _ = listing(
        false,
        &b.records,
        &[
            "record",
            "student id",
            "first name",
            "last name",
            "grade",
            "submitted",
        ],
        |r| {
            let s = |p: &str| text(r.pointer(p)).unwrap_or_default();
            vec![
                s("/id"),
                s("/data/student/studentID"),
                s("/data/student/firstName"),
                s("/data/student/lastName"),
                s("/data/student/grade"),
                s("/submitted"),
            ]
        },
    );
}

pub fn class(desk: &Desk, json: bool, command: ClassCommand) -> Result<()> {
    let (add, a) = match command {
        ClassCommand::AddStudents(a) => (true, a),
        ClassCommand::RemoveStudents(a) => (false, a),
    };
    let entry = desk.change_class(add, &a.class, &a.students, Utc::now(), Uuid::new_v4())?;
    queued(desk, json, &entry)
}

pub fn grades(desk: &Desk, json: bool, command: GradesCommand) -> Result<()> {
    let GradesCommand::Set {
        class,
        assignment,
        student,
        grade,
    } = command;
    let entry = desk.set_grade(
        &class,
        &assignment,
        &student,
        &grade,
        Utc::now(),
        Uuid::new_v4(),
    )?;
    queued(desk, json, &entry)
}

pub fn user(desk: &Desk, json: bool, command: UserCommand) -> Result<()> {
    let UserCommand::Update { user, set } = command;
    let entry = desk.update_user(&user, &set, Utc::now(), Uuid::new_v4())?;
    queued(desk, json, &entry)
}

/// A queued write as listed: the entry and, for people, what it does.
#[derive(Serialize)]
struct Listed<'a> {
    #[serde(flatten)]
    entry: &'a OutboxEntry,
    description: String,
}

pub fn outbox_list(desk: &Desk, json: bool, state: Option<OutboxState>) -> Result<()> {
    let entries = desk.outbox(state)?;
    let items: Vec<Listed> = entries
        .iter()
        .map(|e| Listed {
            entry: e,
            description: desk.describe_write(e),
        })
        .collect();
    listing(
        json,
        &items,
        &[
            "id",
            "system",
            "state",
            "attempts",
            "next attempt",
            "what",
            "last error",
        ],
        |l| {
            let e = l.entry;
            vec![
                e.id.to_string(),
                e.system.to_string(),
                e.state.as_str().to_string(),
                e.attempts.to_string(),
                if e.state.is_open() {
                    e.next_attempt_at.format("%Y-%m-%d %H:%M:%S").to_string()
                } else {
                    String::new()
                },
                l.description.clone(),
                e.last_error.clone().unwrap_or_default(),
            ]
        },
    )
}

/// One row of a conflict: a value of the person's write beside the system's.
#[derive(Debug, Serialize)]
struct Difference {
    field: String,
    yours: Option<String>,
    theirs: Option<String>,
}

/// A conflict side by side, with who changed the system's record and when, where it says.
#[derive(Debug, Serialize)]
struct Comparison {
    fields: Vec<Difference>,
    changed_at: Option<String>,
    changed_by: Option<String>,
}

/// A JSON value as a person reads it: text as it is, numbers written out, nothing for null.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn first_of(record: &Value, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| text(record.get(*k)))
}

fn compare(write: &Write, server: &Value) -> Comparison {
    // OmniForge wraps a record as {"data": …}.
    let server = server
        .get("data")
        .filter(|d| d.is_object())
        .unwrap_or(server);
    let row = |field: &str, yours: Option<String>, key: &str| Difference {
        field: field.to_string(),
        yours,
        theirs: text(server.get(key)),
    };
    let mut fields = Vec::new();
    match write {
        Write::Mark(m) => {
            fields.push(row("status", Some(m.status.to_string()), "status"));
            fields.push(row("code", m.code.clone(), "code"));
            fields.push(row("note", m.note.clone(), "note"));
            fields.retain(|d| d.field == "status" || d.yours.is_some() || d.theirs.is_some());
        }
        Write::SetGrade { grade, .. } => fields.push(row("grade", Some(grade.clone()), "grade")),
        Write::UpdateUser { set, .. } => {
            for (k, v) in set {
                fields.push(row(k, Some(v.clone()), k));
            }
        }
        _ => {
            if let Value::Object(map) = server {
                for (k, v) in map {
                    fields.push(Difference {
                        field: k.clone(),
                        yours: None,
                        theirs: text(Some(v)),
                    });
                }
            }
        }
    }
    Comparison {
        fields,
        changed_at: first_of(
            server,
            &[
                "updatedAt",
                "updated_at",
                "modifiedAt",
                "at",
                "submitted_at",
            ],
        ),
        changed_by: first_of(
            server,
            &["updatedBy", "updated_by", "modifiedBy", "by", "grader_id"],
        ),
    }
}

/// The receipt as `--json` gives it: the whole receipt, what the write does and, for a
/// conflict, the values side by side.
#[derive(Serialize)]
struct Shown<'a> {
    #[serde(flatten)]
    receipt: &'a Receipt,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    conflict: Option<Comparison>,
}

/// At most `max` characters of `s`, saying when there is more.
fn clipped(s: String, max: usize) -> String {
    if s.chars().count() <= max {
        return s;
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}… (the rest with --json)")
}

fn sent_line(request: &Value) -> String {
    if let Some(check) = request.get("check").and_then(Value::as_str) {
        return check.to_string();
    }
    if let Some(problem) = request.get("problem").and_then(Value::as_str) {
        return format!("nothing could be sent: {problem}");
    }
    let method = text(request.get("method")).unwrap_or_default();
    let route = text(request.get("route")).unwrap_or_default();
    let mut s = format!("{method} {route}");
    if let Some(Value::Array(query)) = request.get("query") {
        let q: Vec<String> = query
            .iter()
            .filter_map(|p| {
                let k = text(p.get(0))?;
                let v = text(p.get(1)).unwrap_or_default();
                Some(format!("{k}={v}"))
            })
            .collect();
        if !q.is_empty() {
            s.push('?');
            s.push_str(&q.join("&"));
        }
    }
    if let Some(body) = request.get("body") {
        s.push(' ');
        s.push_str(&body.to_string());
    }
    clipped(s, 400)
}

fn outcome_words(outcome: Option<&str>) -> &str {
    match outcome {
        None => "no answer recorded (the reply was lost, or Schooldesk stopped while sending)",
        Some("applied") => "applied",
        Some("conflict") => "conflict: the system holds a different value",
        Some("refused") => "refused",
        Some("retry") => "not applied; to be tried again",
        Some("uncertain") => "no clear answer; the next send checks the system first",
        Some("held") => "held: the connection needs attention",
        Some("settled_absent") => "checked: not on the system, so it is sent",
        Some(other) => other,
    }
}

fn print_attempt(a: &OutboxAttempt) {
    out!(
        "  {}. {}  sent: {}",
        a.n,
        a.started_at.format("%Y-%m-%d %H:%M:%S UTC"),
        sent_line(&a.request)
    );
    let when = a
        .finished_at
        .map(|t| format!(" at {}", t.format("%H:%M:%S")))
        .unwrap_or_default();
    let answer = match &a.answer {
        Some(Value::String(s)) => format!(": {s}"),
        Some(Value::Null) | None => String::new(),
        Some(v) => format!(": {}", clipped(v.to_string(), 400)),
    };
    out!(
        "     answer{when}: {}{answer}",
        outcome_words(a.outcome.as_deref())
    );
}

pub fn outbox_show(desk: &Desk, json: bool, id: i64) -> Result<()> {
    let receipt = desk.receipt(id)?;
    let entry = &receipt.entry;
    let conflict = match (entry.state, &receipt.answer) {
        (OutboxState::Conflict, Some(server)) => Some(compare(&entry.write, server)),
        _ => None,
    };
    let shown = Shown {
        receipt: &receipt,
        description: desk.describe_write(entry),
        conflict,
    };
    if json {
        out!("{}", serde_json::to_string_pretty(&shown)?);
        return Ok(());
    }
    out!(
        "Outbox entry {id} for {}: {}",
        entry.system.display_name(),
        shown.description
    );
    out!(
        "State: {}{}",
        entry.state.as_str(),
        entry
            .resolution
            .as_deref()
            .map(|r| format!(" ({})", r.replace('_', " ")))
            .unwrap_or_default()
    );
    out!(
        "Queued {}; last changed {}.",
        entry.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        entry.updated_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    if receipt.attempts.is_empty() {
        out!("Attempts: none yet.");
    } else {
        out!("Attempts:");
        for a in &receipt.attempts {
            print_attempt(a);
        }
    }
    if entry.uncertain {
        out!(
            "A request may have reached {}; the next send checks it before sending again.",
            entry.system.display_name()
        );
    }
    match entry.state {
        OutboxState::Conflict => {
            if let Some(c) = &shown.conflict {
                out!("Yours and the system's:");
                let rows: Vec<[String; 3]> = c
                    .fields
                    .iter()
                    .map(|d| {
                        [
                            d.field.clone(),
                            d.yours.clone().unwrap_or_else(|| "(none)".into()),
                            d.theirs.clone().unwrap_or_else(|| "(none)".into()),
                        ]
                    })
                    .collect();
                print_indented(&rows);
                match (&c.changed_by, &c.changed_at) {
                    (Some(by), Some(at)) => {
                        out!("  The system's value was changed by {by} at {at}.")
                    }
                    (None, Some(at)) => out!("  The system's value was changed at {at}."),
                    (Some(by), None) => out!("  The system's value was changed by {by}."),
                    (None, None) => {}
                }
            }
            out!(
                "Next: `schooldesk outbox resolve {id} --keep-mine` (send yours over it) or \
                 `schooldesk outbox resolve {id} --take-theirs` (keep the system's; nothing \
                 is sent)."
            );
        }
        OutboxState::Failed => {
            out!(
                "The system's reason: {}",
                entry.last_error.as_deref().unwrap_or("(none recorded)")
            );
            let file = match entry.write {
                Write::ImportRosterRecord { .. } | Write::SubmitForm { .. } => {
                    " --file CORRECTED.json"
                }
                _ => "",
            };
            out!(
                "Next: correct it and `schooldesk outbox retry {id}{file}`, or \
                 `schooldesk outbox discard {id} --yes`."
            );
        }
        OutboxState::Held => out!(
            "Held: {} Fix the connection (`schooldesk connect {} …`); held writes then go out.",
            entry.last_error.as_deref().unwrap_or(""),
            entry.system
        ),
        OutboxState::Pending | OutboxState::Sending => {
            if let Some(e) = &entry.last_error {
                out!("Last problem: {e}");
            }
            out!("{HOW_SENT}");
        }
        // The answer is in the last attempt already, unless it came from a person's choice.
        OutboxState::Done if !receipt.attempts.is_empty() && entry.resolution.is_none() => {}
        OutboxState::Done => {
            if let Some(answer) = &receipt.answer {
                out!("The system's answer: {}", clipped(answer.to_string(), 400));
            }
        }
        OutboxState::Discarded => {
            if let Some(e) = &entry.last_error {
                out!("Last problem before it was discarded: {e}");
            }
        }
    }
    Ok(())
}

fn print_indented(rows: &[[String; 3]]) {
    let headers = ["", "Yours", "The system's"];
    let mut widths = headers.map(|h| h.chars().count());
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: [&str; 3]| {
        let s: Vec<String> = cells
            .iter()
            .zip(widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        format!("  {}", s.join("  ").trim_end())
    };
    out!("{}", line(headers));
    for r in rows {
        out!("{}", line([&r[0], &r[1], &r[2]]));
    }
}

pub fn outbox_resolve(desk: &Desk, json: bool, id: i64, keep_mine: bool) -> Result<()> {
    let resolution = if keep_mine {
        Resolution::KeepMine
    } else {
        Resolution::TakeTheirs
    };
    let entry = desk.resolve(id, resolution, Utc::now())?;
    let text = match resolution {
        Resolution::KeepMine => format!(
            "Entry {id}: yours ({}) will be sent again over the system's current value \
             (pending). {HOW_SENT}",
            desk.describe_write(&entry)
        ),
        Resolution::TakeTheirs => format!(
            "Entry {id}: the system's value is kept here; nothing was sent to {}.",
            entry.system.display_name()
        ),
    };
    summary(
        json,
        &serde_json::json!({"resolution": resolution, "outbox": entry}),
        &text,
    )
}

pub fn outbox_retry(desk: &Desk, json: bool, id: i64, file: Option<&Path>) -> Result<()> {
    let corrected = match file {
        None => None,
        Some(path) => {
            let entry = desk.receipt(id)?.entry;
            let unchanged = "Nothing was changed.";
            Some(match &entry.write {
                Write::ImportRosterRecord {
                    action_id,
                    schema_id,
                    ..
                } => {
                    desk.roster_record_write(action_id, schema_id, &read_json(path, unchanged)?)?
                }
                Write::SubmitForm { action_id, .. } => {
                    desk.form_write(action_id, &read_json(path, unchanged)?)?
                }
                other => {
                    return Err(CliError::Usage(format!(
                        "--file corrects a PowerSchool roster import or form; entry {id} is \
                         \"{}\". Retry it without --file. Nothing was changed.",
                        other.describe()
                    )))
                }
            })
        }
    };
    let entry = desk.retry(id, corrected, Utc::now())?;
    let description = desk.describe_write(&entry);
    summary(
        json,
        &serde_json::json!({"retried": true, "description": description, "outbox": entry}),
        &format!("Entry {id} will be sent again: {description} (pending). {HOW_SENT}"),
    )
}

/// A discard needs `--yes`: the write is then never sent.
pub fn confirm_discard(id: i64, yes: bool) -> Result<()> {
    if yes {
        return Ok(());
    }
    Err(CliError::Usage(format!(
        "Discarding entry {id} means it is never sent. Add --yes to confirm: \
         schooldesk outbox discard {id} --yes. Nothing was changed."
    )))
}

/// Exactly one of `--keep-mine` and `--take-theirs` (clap refuses both).
pub fn resolve_choice(keep_mine: bool, take_theirs: bool) -> Result<()> {
    if keep_mine || take_theirs {
        return Ok(());
    }
    Err(CliError::Usage(
        "Say which value to keep: --keep-mine (send yours again over the system's) or \
         --take-theirs (keep the system's; nothing is sent). Nothing was changed."
            .into(),
    ))
}

pub fn outbox_discard(desk: &Desk, json: bool, id: i64) -> Result<()> {
    let entry = desk.discard(id, Utc::now())?;
    summary(
        json,
        &serde_json::json!({"discarded": true, "outbox": entry}),
        &format!(
            "Entry {id} discarded: {} will not be sent (it stays in `schooldesk outbox list` \
             as a receipt).",
            desk.describe_write(&entry)
        ),
    )
}
