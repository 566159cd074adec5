//! The command line surface. Names follow what office and IT staff call things.

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use schooldesk_domain::{AttendanceStatus, OutboxState, System};
use schooldesk_export::{Format, Paper};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "schooldesk",
    version,
    about = "Schooldesk: your school systems, cached and encrypted on this computer, usable offline.",
    propagate_version = true
)]
pub struct Cli {
    /// Where the encrypted cache lives (default: the per-user data directory).
    #[arg(long, global = true, env = "SCHOOLDESK_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Machine-readable JSON output for every listing and summary.
    #[arg(long, global = true)]
    pub json: bool,

    /// Work on the demo profile (the built-in demo district's own cache and key, kept apart
    /// from real data) instead of the real one.
    #[arg(long, global = true)]
    pub demo: bool,

    /// Show what Schooldesk is doing (log lines on standard error). `RUST_LOG` or
    /// `SCHOOLDESK_LOG` (e.g. `debug`) choose the detail.
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Connect a school system. The secret (API key or client secret) is read from standard
    /// input or a prompt and kept in the OS keychain; it is never taken on the command line.
    Connect(ConnectArgs),
    /// Fetch from the connected systems into the cache (all of them when none is named).
    Sync {
        #[arg(value_parser = parse_system)]
        systems: Vec<System>,
        /// Only print what a sync would cost (requests, and the time the rate limits impose).
        #[arg(long)]
        estimate: bool,
        /// Read everything again, not only what changed since the last sync.
        #[arg(long)]
        full: bool,
        /// Remove the rows a system stopped returning that were held back because there were
        /// more of them than the safety limit (check the system first), then sync.
        #[arg(long)]
        confirm_removals: bool,
    },
    /// List students from the cache.
    Students {
        /// Part of a name or an external id.
        #[arg(long)]
        search: Option<String>,
        /// At most this many (default: all with --json, 100 otherwise).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// List sections (classes, homerooms, tutor groups) of every system, with how many
    /// students each has.
    Sections {
        /// Only this school's (its id from the school column, e.g. omniforge:sch-1).
        #[arg(long, value_name = "ID")]
        school: Option<String>,
        /// At most this many (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// List the students of one section.
    Roster {
        /// The section's id from `schooldesk sections` (e.g. matrix:c-12).
        #[arg(long, value_name = "ID")]
        section: String,
        /// At most this many (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// One child across systems: ids, guardians and contacts (who may collect), classes and
    /// today's marks.
    Student {
        /// The id in any system (e.g. omniforge:stu-1 or stu-1) or the district's external id.
        id: String,
    },
    /// Details that differ between systems for the same child, to review.
    Disagreements {
        /// At most this many (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Take or list attendance.
    #[command(subcommand)]
    Attendance(AttendanceCommand),
    /// The queue of writes waiting for the network: list, send, receipts, conflicts.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// PowerSchool Enrollment: import roster records, submit forms, fetch delivery batches.
    #[command(subcommand)]
    Enrollment(EnrollmentCommand),
    /// Matrix LMS: enrol students in a class or take them out.
    #[command(subcommand)]
    Class(ClassCommand),
    /// Matrix LMS: set a student's grade for an assignment.
    #[command(subcommand)]
    Grades(GradesCommand),
    /// Matrix LMS: change a user's details.
    #[command(subcommand)]
    User(UserCommand),
    /// Write cached data to files.
    #[command(subcommand)]
    Export(ExportCommand),
    /// The access log: every export, and every view of learning-support data, newest first
    /// (when, what, how many students, where to, who).
    Audit {
        /// At most this many (default: all with --json, 100 otherwise).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Start the built-in simulators of the four systems, connect to them and sync.
    #[cfg(feature = "demo")]
    Demo(DemoArgs),
    /// Where the data lives, the connections, and how much is cached and queued.
    Status,
    /// Delete the cache and its key from the keychain. Asks for confirmation.
    Reset {
        /// Do not ask: for scripts.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    #[arg(value_parser = parse_system)]
    pub system: System,
    /// The system's address, e.g. https://district.omniforgesis.click
    #[arg(long, value_name = "URL")]
    pub base_url: String,
    /// HUBmis realm (the school) the client belongs to.
    #[arg(long)]
    pub realm: Option<String>,
    /// HUBmis OAuth client id.
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// A negotiated rate limit, when the district has one other than the documented default.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub requests_per_minute: Option<u32>,
    /// The school's time zone (IANA name, e.g. America/Chicago), which decides what
    /// "today's register" is. Default: this computer's zone.
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
    /// Also sync learning-support (SEN) records from this connection.
    #[arg(long)]
    pub learning_support: bool,
    /// Keep pupils' medical conditions (HUBmis) at hand for emergencies. Without it they are
    /// not stored, and connecting again without it deletes those already stored.
    #[arg(long)]
    pub medical_alerts: bool,
    /// Save without first checking that the system answers and accepts the secret
    /// (e.g. when setting up a laptop away from the school network).
    #[arg(long)]
    pub no_verify: bool,
    /// When the address changes while writes wait for the old one: `send-to-new` sends them
    /// to the new address, `discard` keeps them as failed receipts, never sent. Without it
    /// such a change is refused.
    #[arg(long, value_parser = parse_pending_writes, value_name = "send-to-new|discard")]
    pub pending_writes: Option<schooldesk_sync::PendingWrites>,
}

fn parse_pending_writes(s: &str) -> Result<schooldesk_sync::PendingWrites, String> {
    match s {
        "send-to-new" => Ok(schooldesk_sync::PendingWrites::SendToNew),
        "discard" => Ok(schooldesk_sync::PendingWrites::Discard),
        other => Err(format!("'{other}' is not one of: send-to-new, discard")),
    }
}

#[derive(Debug, Subcommand)]
pub enum AttendanceCommand {
    /// Record one mark. It is saved at once and queued for the system.
    Mark(MarkArgs),
    /// List the marks for a date.
    List {
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long)]
        section: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct MarkArgs {
    /// The student's id (`system:id` as the read commands print it, or the bare id), or
    /// their external id.
    #[arg(long)]
    pub student: String,
    #[arg(long, value_parser = parse_date)]
    pub date: NaiveDate,
    #[arg(long, value_parser = parse_status)]
    pub status: AttendanceStatus,
    #[arg(long)]
    pub section: Option<String>,
    #[arg(long)]
    pub period: Option<String>,
    #[arg(long)]
    pub note: Option<String>,
    /// The school's own attendance code (e.g. UA, AE), as the school uses them.
    #[arg(long, value_name = "C")]
    pub code: Option<String>,
    /// How late the student arrived, in minutes.
    #[arg(long, value_name = "N")]
    pub minutes_late: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List queued writes.
    List {
        #[arg(long, value_parser = parse_state)]
        state: Option<OutboxState>,
    },
    /// Send what is due now, each write exactly once.
    Replay,
    /// One write's receipt: what it does, its state, every attempt and what the system
    /// answered; for a conflict, your value beside the system's.
    Show {
        /// The outbox entry's id (from `schooldesk outbox list`).
        id: i64,
    },
    /// Settle a conflict: send yours again over the system's value, or take the system's.
    #[command(group(clap::ArgGroup::new("choice").args(["keep_mine", "take_theirs"])))]
    Resolve {
        id: i64,
        /// Send your value again, over the system's current one.
        #[arg(long)]
        keep_mine: bool,
        /// Keep the system's value here; nothing is sent.
        #[arg(long)]
        take_theirs: bool,
    },
    /// Send a failed or held write again, optionally with a corrected record.
    Retry {
        id: i64,
        /// For a PowerSchool import or form: the corrected record (JSON), replacing the one
        /// that was refused.
        #[arg(long, value_name = "RECORD.json")]
        file: Option<PathBuf>,
    },
    /// Decide a write is not to be sent (it is kept as a receipt).
    Discard {
        id: i64,
        /// Confirm: the write will never be sent.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EnrollmentCommand {
    /// Create or update one roster record through an import schema (checked against the
    /// schema's fields first).
    Import {
        /// The published action's id.
        #[arg(long, value_name = "ID")]
        action: String,
        /// The import schema's id.
        #[arg(long, value_name = "ID")]
        schema: String,
        /// The record: a JSON object of field names and values.
        #[arg(long, value_name = "RECORD.json")]
        file: PathBuf,
    },
    /// Submit one family's form on their behalf.
    Submit {
        #[arg(long, value_name = "ID")]
        action: String,
        /// The form: a JSON object of field names and values, or {"dataItems": […]}.
        #[arg(long, value_name = "RECORD.json")]
        file: PathBuf,
    },
    /// Fetch the next delivery batch of a target (its records leave PowerSchool's delivery
    /// pool and are kept here).
    Batch {
        #[arg(long, value_name = "ID")]
        target: String,
    },
    /// The delivery batches fetched, with their records.
    Batches {
        #[arg(long, value_name = "ID")]
        target: Option<String>,
    },
    /// Put a delivered batch's records back in the delivery pool.
    ResetBatch {
        #[arg(long, value_name = "ID")]
        target: String,
        #[arg(long, value_name = "ID")]
        batch: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClassCommand {
    /// Enrol students in a class.
    AddStudents(ClassStudentsArgs),
    /// Take students out of a class.
    RemoveStudents(ClassStudentsArgs),
}

#[derive(Debug, Args)]
pub struct ClassStudentsArgs {
    /// The class id (`matrix:ID` as `schooldesk sections` prints it, or the bare id).
    #[arg(long, value_name = "ID")]
    pub class: String,
    /// A student's Matrix id; repeat for several.
    #[arg(long = "student", value_name = "ID", required = true)]
    pub students: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum GradesCommand {
    /// Set one student's grade for one assignment.
    Set {
        #[arg(long, value_name = "ID")]
        class: String,
        #[arg(long, value_name = "ID")]
        assignment: String,
        #[arg(long, value_name = "ID")]
        student: String,
        /// A letter (B+), a number, a percentage (85%), or X/M/I/AB.
        #[arg(long, value_name = "G")]
        grade: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Change a user's details (documented fields only; never a password or SSN).
    Update {
        #[arg(long, value_name = "ID")]
        user: String,
        /// A change, FIELD=VALUE (e.g. phone=555-0100); repeat for several.
        #[arg(long = "set", value_name = "FIELD=VALUE", value_parser = parse_assignment, required = true)]
        set: Vec<(String, String)>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The attendance register of a section over a date range: codes, totals and minutes
    /// late (the AM/PM register for a HUBmis tutor group). With only --date: that day's
    /// marks in every section, with whether each reached its system.
    Register(RegisterArgs),
    /// The class roster of a section.
    Roster {
        /// The section's id from `schooldesk sections` (e.g. omniforge:sec-1).
        #[arg(long, value_name = "ID")]
        section: String,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Today's emergency list: everyone in school, with guardian phones and who may
    /// collect them (one table per homeroom or tutor group).
    Emergency {
        /// Only this section's students.
        #[arg(long, value_name = "ID")]
        section: Option<String>,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Checklist status: which family is missing which item.
    Checklist {
        /// The checklist's id (e.g. powerschool:cl-1).
        #[arg(long, value_name = "ID")]
        checklist: String,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Learning-support summary for one student, one year group, or everyone with a
    /// record. Recorded in the access log, like every export.
    LearningSupport {
        /// One student (`system:id`, an id, or the district's external id).
        #[arg(long, value_name = "ID", conflicts_with = "year_group")]
        student: Option<String>,
        /// One year group, by its id, code or name (e.g. "Year 7").
        #[arg(long, value_name = "ID")]
        year_group: Option<String>,
        #[command(flatten)]
        file: FileArgs,
    },
    /// An enrollment submission record as the family sent it, with its checklist and
    /// documents.
    Submission {
        /// The record's id (e.g. powerschool:sub-1).
        #[arg(long, value_name = "ID")]
        record: String,
        #[command(flatten)]
        file: FileArgs,
    },
    /// Enrollment documents (PDF, JPEG) into a folder, one subfolder per student. Files not
    /// yet downloaded are fetched (and kept in the cache) when the system is reachable.
    Documents {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Every student in the cache (CSV unless --format says otherwise).
    Students {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[arg(long, value_parser = parse_format, value_name = "csv|csv-excel|xlsx|pdf", default_value = "csv")]
        format: Format,
        #[arg(long, value_parser = parse_paper, value_name = "a4|letter", default_value = "a4")]
        paper: Paper,
    },
}

/// Where a document goes and as what.
#[derive(Debug, Args)]
pub struct FileArgs {
    #[arg(long, value_parser = parse_format, value_name = "csv|csv-excel|xlsx|pdf")]
    pub format: Format,
    /// The file to write (its folder must exist; an existing file is replaced).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Paper size of a PDF.
    #[arg(long, value_parser = parse_paper, value_name = "a4|letter", default_value = "a4")]
    pub paper: Paper,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The section's id from `schooldesk sections`.
    #[arg(long, value_name = "ID", required_unless_present = "date", requires_all = ["from", "to"])]
    pub section: Option<String>,
    /// The first day (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, value_name = "D", requires = "section")]
    pub from: Option<NaiveDate>,
    /// The last day, included (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date, value_name = "D", requires = "section")]
    pub to: Option<NaiveDate>,
    /// Instead of a section's register: every mark of this day, in every section.
    #[arg(long, value_parser = parse_date, value_name = "D", conflicts_with_all = ["section", "from", "to"])]
    pub date: Option<NaiveDate>,
    /// csv, csv-excel, xlsx or pdf (with --date, csv unless given).
    #[arg(long, value_parser = parse_format, value_name = "csv|csv-excel|xlsx|pdf", required_unless_present = "date")]
    pub format: Option<Format>,
    /// The file to write (its folder must exist; an existing file is replaced).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Paper size of a PDF.
    #[arg(long, value_parser = parse_paper, value_name = "a4|letter", default_value = "a4")]
    pub paper: Paper,
}

#[cfg(feature = "demo")]
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Size of the demo district (50 to 50,000 students).
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(50..=50_000))]
    pub students: u32,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the simulators running (until Ctrl-C) after the sync.
    #[arg(long)]
    pub serve: bool,
}

fn parse_system(s: &str) -> Result<System, String> {
    s.parse()
        .map_err(|e: schooldesk_domain::UnknownSystem| e.to_string())
}

fn parse_date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| format!("'{s}' is not a date: use YYYY-MM-DD, e.g. 2026-09-14"))
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
        .map_err(|e: schooldesk_export::ExportError| e.to_string())
}

fn parse_paper(s: &str) -> Result<Paper, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "a4" => Ok(Paper::A4),
        "letter" | "us-letter" => Ok(Paper::Letter),
        other => Err(format!(
            "'{other}' is not a paper size: choose a4 or letter"
        )),
    }
}

fn parse_status(s: &str) -> Result<AttendanceStatus, String> {
    s.parse()
        .map_err(|e: schooldesk_domain::UnknownStatus| e.to_string())
}

fn parse_state(s: &str) -> Result<OutboxState, String> {
    OutboxState::parse(s).ok_or_else(|| {
        let all: Vec<&str> = OutboxState::ALL.iter().map(|st| st.as_str()).collect();
        format!("unknown state '{s}': expected one of {}", all.join(", "))
    })
}

/// `FIELD=VALUE` (the value may be empty, to clear the field; the field may not).
fn parse_assignment(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((field, value)) if !field.trim().is_empty() => {
            Ok((field.trim().to_string(), value.to_string()))
        }
        _ => Err(format!(
            "'{s}' is not FIELD=VALUE (e.g. --set phone=555-0100); nothing was queued"
        )),
    }
}
