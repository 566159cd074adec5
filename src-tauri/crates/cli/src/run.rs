//! What each command does, over [`schooldesk_sync::Desk`].

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use schooldesk_connectors::{Connection, ConnectionSettings};
use schooldesk_domain::{AttendanceMark, System};
#[cfg(feature = "demo")]
use schooldesk_sync::demo;
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::pull::{Progress, SyncMode, SyncReport};
use schooldesk_sync::{default_data_dir, Desk, DeskError, PendingWrites};
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use uuid::Uuid;

use crate::args::{AttendanceCommand, Cli, Command, OutboxCommand};
use crate::output::{listing, opt, summary};
use crate::writes;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{}", .0.user_message())]
    Desk(#[from] DeskError),
    #[error("{0}")]
    Usage(String),
    #[error("{}", .0.user_message())]
    Export(#[from] schooldesk_export::ExportError),
    #[error("could not read standard input: {0}")]
    Stdin(std::io::Error),
    #[error("could not format output: {0}")]
    Json(#[from] serde_json::Error),
    #[error("could not start the async runtime: {0}")]
    Runtime(std::io::Error),
}

impl From<schooldesk_cache::CacheError> for CliError {
    fn from(e: schooldesk_cache::CacheError) -> Self {
        CliError::Desk(e.into())
    }
}

pub(crate) type Result<T> = std::result::Result<T, CliError>;

pub fn run(cli: Cli) -> Result<()> {
    let data_dir = cli.data_dir.clone().unwrap_or_else(default_data_dir);
    let json = cli.json;
    let demo_profile = cli.demo;
    // The real profile, or with --demo the demo district's own cache (never mixed).
    let open = |data_dir: &std::path::Path| -> Result<Desk> {
        Ok(if demo_profile {
            Desk::open_demo(data_dir)?
        } else {
            Desk::open(data_dir)?
        })
    };
    match cli.command {
        // Reset must work when the cache cannot be opened (a lost key): it never opens it.
        Command::Reset { yes } => reset(&data_dir, yes, json),
        Command::Connect(a) => {
            let mut connection = Connection::new(a.system, a.base_url);
            connection.realm = a.realm;
            connection.client_id = a.client_id;
            connection.learning_support_enabled = a.learning_support;
            connection.medical_alerts_enabled = a.medical_alerts;
            connection.settings = ConnectionSettings {
                requests_per_minute: a.requests_per_minute,
                time_zone: a.time_zone,
                ..ConnectionSettings::default()
            };
            // Check the address before asking for the secret: a typo costs nothing.
            schooldesk_connectors::http::check_base_url(connection.system, &connection.base_url)
                .map_err(DeskError::from)?;
            let secret = read_secret(connection.system)?;
            // Opened first: the check is paced with this folder's syncs.
            let desk = open(&data_dir)?;
            if !a.no_verify {
                runtime()?.block_on(desk.verify(&connection, &secret))?;
            }
            desk.connect_with(
                &connection,
                &secret,
                Utc::now(),
                a.pending_writes.unwrap_or(PendingWrites::Refuse),
            )?;
            let shown = serde_json::json!({"system": connection.system, "base_url": connection.base_url, "connected": true});
            summary(
                json,
                &shown,
                &format!(
                    "Connected {} at {}. The secret is in the keychain. Next: schooldesk sync {}",
                    connection.system.display_name(),
                    connection.base_url,
                    connection.system
                ),
            )
        }
        Command::Sync {
            systems,
            estimate,
            full,
            confirm_removals,
        } => {
            let desk = open(&data_dir)?;
            if confirm_removals {
                let removed = desk.confirm_removals(&systems)?;
                if !json {
                    for (system, n) in &removed {
                        eprintln!(
                            "{}: removed {n} row(s) it no longer returns, as confirmed.",
                            system.display_name()
                        );
                    }
                }
            }
            let mode = if full {
                SyncMode::Full
            } else {
                SyncMode::Incremental
            };
            if estimate {
                let estimates = desk.estimate(&systems, mode)?;
                return listing(json, &estimates, &["system", "estimate"], |e| {
                    vec![e.system.to_string(), e.to_string()]
                });
            }
            if !json {
                // Say up front what the rate limits will make this cost.
                for e in desk.estimate(&systems, mode)? {
                    eprintln!("{e}");
                }
            }
            let bar = progress_bar(json);
            let on_progress = progress_sink(bar.clone(), json);
            let report = runtime()?.block_on(desk.sync(&systems, mode, on_progress));
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            let report = report?;
            summary(json, &report, &report.describe())?;
            sync_outcome(&report)
        }
        Command::Status => crate::reads::status(&open(&data_dir)?, json),
        Command::Students { search, limit } => {
            crate::reads::students(&open(&data_dir)?, json, search.as_deref(), limit)
        }
        Command::Sections { school, limit } => {
            crate::reads::sections(&open(&data_dir)?, json, school.as_deref(), limit)
        }
        Command::Roster { section, limit } => {
            crate::reads::roster(&open(&data_dir)?, json, &section, limit)
        }
        Command::Student { id } => crate::reads::student(&open(&data_dir)?, json, &id),
        Command::Disagreements { limit } => {
            crate::reads::disagreements(&open(&data_dir)?, json, limit)
        }
        Command::Attendance(AttendanceCommand::Mark(a)) => {
            let desk = open(&data_dir)?;
            let req = MarkRequest {
                student: a.student,
                date: a.date,
                status: a.status,
                section: a.section,
                period: a.period,
                note: a.note,
                code: a.code,
                minutes_late: a.minutes_late,
            };
            let (mark, entry) = desk.mark_attendance(&req, Utc::now(), Uuid::new_v4())?;
            let text = match &entry {
                Some(e) => format!(
                    "Saved: {} {} on {} (pending; queued for {} as outbox entry {}). {}",
                    mark.student_source_id,
                    mark.status,
                    mark.date,
                    e.system.display_name(),
                    e.id,
                    writes::HOW_SENT
                ),
                None => format!(
                    "Saved: {} {} on {}. {} takes no attendance writes through its API, so \
                     the mark cannot be sent: it is kept here and exported with \
                     `schooldesk export register`.",
                    mark.student_source_id,
                    mark.status,
                    mark.date,
                    mark.source.system.display_name()
                ),
            };
            summary(
                json,
                &serde_json::json!({"mark": mark, "outbox": entry}),
                &text,
            )
        }
        Command::Attendance(AttendanceCommand::List { date, section }) => {
            let desk = open(&data_dir)?;
            let marks = desk.register(date, section.as_deref())?;
            listing(
                json,
                &marks,
                &[
                    "system", "student", "section", "period", "status", "code", "state",
                ],
                mark_row,
            )
        }
        Command::Outbox(OutboxCommand::List { state }) => {
            writes::outbox_list(&open(&data_dir)?, json, state)
        }
        Command::Outbox(OutboxCommand::Replay) => {
            let desk = open(&data_dir)?;
            let report = runtime()?.block_on(desk.replay())?;
            summary(json, &report, &report.describe())
        }
        Command::Outbox(OutboxCommand::Show { id }) => {
            writes::outbox_show(&open(&data_dir)?, json, id)
        }
        Command::Outbox(OutboxCommand::Resolve {
            id,
            keep_mine,
            take_theirs,
        }) => {
            writes::resolve_choice(keep_mine, take_theirs)?;
            writes::outbox_resolve(&open(&data_dir)?, json, id, keep_mine)
        }
        Command::Outbox(OutboxCommand::Retry { id, file }) => {
            writes::outbox_retry(&open(&data_dir)?, json, id, file.as_deref())
        }
        Command::Outbox(OutboxCommand::Discard { id, yes }) => {
            // Refused before the cache is opened: nothing is touched without the --yes.
            writes::confirm_discard(id, yes)?;
            writes::outbox_discard(&open(&data_dir)?, json, id)
        }
        Command::Enrollment(c) => writes::enrollment(&open(&data_dir)?, json, c),
        Command::Class(c) => writes::class(&open(&data_dir)?, json, c),
        Command::Grades(c) => writes::grades(&open(&data_dir)?, json, c),
        Command::User(c) => writes::user(&open(&data_dir)?, json, c),
        Command::Export(c) => crate::exports::export(&open(&data_dir)?, json, c),
        Command::Audit { limit } => crate::exports::audit(&open(&data_dir)?, json, limit),
        #[cfg(feature = "demo")]
        Command::Demo(a) => {
            let desk = Desk::open_demo(&data_dir)?;
            let rt = runtime()?;
            rt.block_on(async {
                let bar = progress_bar(json);
                let options = demo::DemoOptions {
                    seed: a.seed,
                    students: a.students as usize,
                };
                let demo = demo::start(&desk, &options, progress_sink(bar.clone(), json)).await;
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                let demo = demo?;
                summary(json, &demo.report(), &demo.describe())?;
                sync_outcome(&demo.sync)?;
                if a.serve {
                    eprintln!("The demo systems are running; press Ctrl-C to stop them.");
                    let _ = tokio::signal::ctrl_c().await;
                }
                Ok(())
            })
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
}

fn progress_bar(json: bool) -> Option<ProgressBar> {
    if json || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("template"));
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Shows each stored page on the bar: system, phase, rows, requests, what is left; and says
/// once per system when today's registers are ready (the rest keeps arriving).
fn progress_sink(
    bar: Option<ProgressBar>,
    json: bool,
) -> impl Fn(&Progress) + Send + Sync + 'static {
    let announced = std::sync::Mutex::new(std::collections::BTreeSet::new());
    move |p: &Progress| {
        if p.register_ready
            && !json
            && announced
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(p.system)
        {
            let line = format!(
                "{}: register ready — today's registers are in; the rest is still arriving.",
                p.system.display_name()
            );
            match &bar {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        if let Some(bar) = &bar {
            let left = p
                .remaining_estimate
                .map(|n| format!(", about {n} requests to go"))
                .unwrap_or_default();
            bar.set_message(format!(
                "{}: {} — {} rows, {} requests{left}",
                p.system.display_name(),
                p.phase,
                p.rows,
                p.requests
            ));
        }
    }
}

/// A sync that stopped for any system is a failed command, with its reason on one line.
fn sync_outcome(report: &SyncReport) -> Result<()> {
    let problems: Vec<String> = report
        .systems
        .iter()
        .filter_map(|s| {
            s.error
                .as_ref()
                .map(|e| format!("{}: {}", s.system.display_name(), e.message))
        })
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!(
            "the sync did not finish ({}); run it again to continue where it stopped",
            problems.join("; ")
        )))
    }
}

/// The secret comes from a prompt (a person) or standard input (a script), never argv.
fn read_secret(system: System) -> Result<String> {
    let secret = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!(
            "{} API key or client secret: ",
            system.display_name()
        ))
        .map_err(CliError::Stdin)?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(CliError::Stdin)?;
        s
    };
    let secret = secret.trim().to_string();
    if secret.is_empty() {
        return Err(CliError::Usage(format!(
            "no secret was given for {}: type it at the prompt or pipe it on standard input \
             (never on the command line). Nothing was saved.",
            system.display_name()
        )));
    }
    Ok(secret)
}

fn reset(data_dir: &Path, yes: bool, json: bool) -> Result<()> {
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::Usage(
                "reset deletes the cache and its key, with any writes not yet sent; run \
                 `schooldesk reset --yes` to confirm from a script. Nothing was deleted."
                    .into(),
            ));
        }
        eprint!(
            "This deletes the Schooldesk cache in {} and its key, including writes not yet \
             sent. Type RESET to confirm: ",
            data_dir.display()
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin()
            .read_line(&mut answer)
            .map_err(CliError::Stdin)?;
        if answer.trim() != "RESET" {
            return Err(CliError::Usage(
                "not confirmed; nothing was deleted.".into(),
            ));
        }
    }
    Desk::reset(data_dir)?;
    summary(
        json,
        &serde_json::json!({"reset": true, "data_dir": data_dir}),
        &format!("Deleted the cache in {} and its key.", data_dir.display()),
    )
}

fn mark_row(m: &AttendanceMark) -> Vec<String> {
    vec![
        m.source.system.to_string(),
        m.student_source_id.clone(),
        opt(&m.section_source_id),
        opt(&m.period),
        m.status.to_string(),
        opt(&m.code),
        m.state.as_str().to_string(),
    ]
}
