//! The command line surface. Names follow what office and IT staff call things.

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};
use schooldesk_domain::{AttendanceStatus, OutboxState, System};
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
    },
    /// List students from the cache.
    Students {
        /// Part of a name or an external id.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Take or list attendance.
    #[command(subcommand)]
    Attendance(AttendanceCommand),
    /// The queue of writes waiting for the network.
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Write cached data to files.
    #[command(subcommand)]
    Export(ExportCommand),
    /// Start the built-in simulators of the four systems, connect to them and sync.
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
    /// Also sync learning-support (SEN) records from this connection.
    #[arg(long)]
    pub learning_support: bool,
    /// Save without first checking that the system answers and accepts the secret
    /// (e.g. when setting up a laptop away from the school network).
    #[arg(long)]
    pub no_verify: bool,
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
    /// The student's id in the system, or their external id.
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
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Students as CSV.
    Students {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Enrollment documents (PDF, JPEG) into a folder, one subfolder per student. Files not
    /// yet downloaded are fetched (and kept in the cache) when the system is reachable.
    Documents {
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// A day's register (every mark, with whether it reached its system) as CSV.
    Register {
        #[arg(long, value_parser = parse_date)]
        date: NaiveDate,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

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

fn parse_status(s: &str) -> Result<AttendanceStatus, String> {
    s.parse()
        .map_err(|e: schooldesk_domain::UnknownStatus| e.to_string())
}

fn parse_state(s: &str) -> Result<OutboxState, String> {
    OutboxState::parse(s).ok_or_else(|| {
        format!("unknown state '{s}': expected pending, sending, done, conflict or failed")
    })
}
