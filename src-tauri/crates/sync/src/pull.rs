//! Pulling the four systems into the cache: full and incremental syncs, every page of every
//! list, resumable after any interruption with no duplicate rows.
//!
//! # How a sync is laid out
//! A sync of one system is a *run* made of *phases* (`omniforge.students`, `matrix.classes`,
//! …). List phases come first (they bring most rows for the fewest requests); per-item phases
//! (guardian links per student, roster per class) come last and work through a *to-do* list
//! the list phases wrote. Every page of rows is stored in ONE cache transaction together with
//! the phase's position, so an interrupted run (network gone, app closed, cancelled) resumes
//! at the page where it stopped; rows are keyed by (system, id), so a page read twice is
//! stored once.
//!
//! # Incremental
//! OmniForge lists take `updatedSince` (the last complete pass's start, less a margin for
//! clock skew). The others have no change filter: their lists are re-read (they are few
//! pages), compared against the cache, and per-item calls are made only for what is new or
//! changed.

mod hubmis;
mod matrix;
mod omniforge;
mod powerschool;
mod state;

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_cache::{Cache, CacheError, CacheTx};
use schooldesk_connectors::{Connection, Connector, ConnectorError};
use schooldesk_domain::System;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

use crate::estimate;
pub use state::LastSyncs;
use state::{PhaseState, RunState};

/// Whether to read everything again or only what changed since the last complete sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyncMode {
    Full,
    Incremental,
}

impl SyncMode {
    pub fn as_str(self) -> &'static str {
        match self {
            SyncMode::Full => "full",
            SyncMode::Incremental => "incremental",
        }
    }
}

/// Where a sync stands, sent after every stored page (for the UI and the CLI's bar).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    pub system: System,
    /// The phase running, e.g. `students` or `guardian links`.
    pub phase: String,
    /// Rows stored so far in this run (all kinds).
    pub rows: u64,
    /// Requests sent so far in this run.
    pub requests: u64,
    /// Requests still expected, from the estimate made at the start.
    pub remaining_estimate: Option<u64>,
    /// Time since the run (re)started, by the connector's clock.
    pub elapsed: Duration,
    /// Today's schools, sections, rosters and registers are in the cache: the desk can take
    /// a register now, while guardians, documents and history keep arriving.
    pub register_ready: bool,
}

/// Receives progress; called from the sync task, so it must be quick (send it on).
pub type ProgressSink = Arc<dyn Fn(&Progress) + Send + Sync>;

/// What every sync is given from outside: a way to stop it, and where to send progress.
#[derive(Clone, Default)]
pub struct SyncContext {
    pub cancel: CancellationToken,
    pub progress: Option<ProgressSink>,
}

impl std::fmt::Debug for SyncContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncContext")
            .field("cancelled", &self.cancel.is_cancelled())
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// A problem that stopped a sync, for the person and for IT.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncProblem {
    /// Stable code (`connector.offline`, `cache.…`).
    pub code: String,
    /// What the person at the desk reads.
    pub message: String,
    /// The technical detail (no secrets).
    pub detail: String,
    /// Retrying later can help (the run resumes where it stopped).
    pub retryable: bool,
}

/// What one system's sync did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemSummary {
    pub system: System,
    pub mode: SyncMode,
    /// This run continued one that had been interrupted.
    pub resumed: bool,
    /// Every phase finished.
    pub completed: bool,
    pub cancelled: bool,
    /// Rows stored, per kind (`students`, `guardians`, `enrollments`, …).
    pub rows: BTreeMap<String, u64>,
    /// Requests sent in this run (every attempt, as the server counts them).
    pub requests: u64,
    /// By the connector's clock.
    pub duration: Duration,
    pub error: Option<SyncProblem>,
    /// Items skipped because the system no longer has them (a student deleted mid-sync).
    pub skipped: u64,
    /// The estimate made before the run.
    pub estimate: Option<estimate::Estimate>,
    /// Records that could not be read (system, id, field): left out, the others synced.
    pub malformed: Vec<schooldesk_connectors::http::Malformed>,
    /// Rows the system no longer returns, removed from the cache, per table.
    pub removed: BTreeMap<String, u64>,
    /// Rows the system no longer returns, held (more than the guardrail) until a person
    /// confirms with `schooldesk sync --confirm-removals`, per table.
    pub held_removals: BTreeMap<String, u64>,
}

impl SystemSummary {
    /// One line for the CLI: "OmniForge SIS: 2,012 rows (…), 74 requests in 1 min 14 s".
    pub fn describe(&self) -> String {
        let total: u64 = self.rows.values().sum();
        let kinds: Vec<String> = self
            .rows
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        let mut s = format!(
            "{}: {} {} sync {}: {total} rows ({}), {} requests in {}",
            self.system.display_name(),
            if self.resumed { "resumed" } else { "" },
            self.mode.as_str(),
            if self.completed {
                "done"
            } else if self.cancelled {
                "cancelled"
            } else {
                "stopped"
            },
            kinds.join(", "),
            self.requests,
            estimate::human_duration(self.duration),
        )
        .replace(":  ", ": ");
        let removed: u64 = self.removed.values().sum();
        if removed > 0 {
            s.push_str(&format!(
                ". {removed} row(s) the system no longer has were removed"
            ));
        }
        if !self.malformed.is_empty() {
            s.push_str(&format!(
                ". {} record(s) could not be read and were left out (first: {}); tell IT",
                self.malformed.len(),
                self.malformed[0]
            ));
        }
        let held: u64 = self.held_removals.values().sum();
        if held > 0 {
            s.push_str(&format!(
                ". {held} row(s) the system no longer returns are kept until you confirm \
                 (more than the safety limit at once): check the system, then run \
                 `schooldesk sync --confirm-removals`"
            ));
        }
        if let Some(e) = &self.error {
            s.push_str(&format!(". {}", e.message));
        }
        s
    }
}

/// The tables a complete pass reads whole, so that a row it did not return is gone from the
/// system. OmniForge's incremental passes read only what changed (`updatedSince`).
pub(crate) fn lists_read_whole(system: System, mode: SyncMode) -> &'static [&'static str] {
    match (system, mode) {
        (System::OmniForge, SyncMode::Full) => &["students", "enrollments"],
        (System::OmniForge, SyncMode::Incremental) => &[],
        (System::PowerSchool, _) => &["enrollment_records", "checklist_entries"],
        (System::Matrix, _) | (System::Hubmis, _) => &["students"],
    }
}

/// What a sync of several systems did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncReport {
    pub systems: Vec<SystemSummary>,
    /// Children matched across systems whose details disagree (listed for review).
    pub disagreements: usize,
}

impl SyncReport {
    /// One line per system, then the disagreements to review.
    pub fn describe(&self) -> String {
        let mut lines: Vec<String> = self.systems.iter().map(SystemSummary::describe).collect();
        if self.disagreements > 0 {
            lines.push(format!(
                "{} detail(s) differ between systems for the same child: review them under Disagreements.",
                self.disagreements
            ));
        }
        lines.join("\n")
    }
}

/// What can stop a pull.
#[derive(Debug, thiserror::Error)]
pub enum PullError {
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("the sync was cancelled; it will continue where it stopped next time")]
    Cancelled,
    #[error("the sync stopped unexpectedly: {0}")]
    Internal(String),
}

impl PullError {
    fn problem(&self) -> SyncProblem {
        match self {
            PullError::Connector(e) => SyncProblem {
                code: e.code().to_string(),
                message: e.user_message(),
                detail: e.technical_detail(),
                retryable: e.is_retryable(),
            },
            PullError::Cache(e) => SyncProblem {
                code: e.code().to_string(),
                message: e.to_string(),
                detail: format!("{e:?}"),
                retryable: e.retry_may_help(),
            },
            PullError::Cancelled => SyncProblem {
                code: "sync.cancelled".into(),
                message: self.to_string(),
                detail: String::new(),
                retryable: true,
            },
            PullError::Internal(d) => SyncProblem {
                code: "sync.internal".into(),
                message: self.to_string(),
                detail: d.clone(),
                retryable: true,
            },
        }
    }
}

/// What to pull beyond the documented defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct PullOptions {
    /// Days of attendance to pull, today included (default from the connection, else 1).
    /// HUBmis too, though its registers are read per pupil (its only documented route).
    pub attendance_days: u32,
    /// Matrix assignment grades (one call per class).
    pub grades: bool,
    /// OmniForge guardian links (one call per student — the longest part of an OmniForge sync).
    pub guardian_links: bool,
}

impl PullOptions {
    /// The defaults for a stored connection.
    pub fn for_connection(connection: &Connection) -> Self {
        let days = connection.settings.attendance_days;
        PullOptions {
            attendance_days: days.unwrap_or(1).min(31),
            grades: true,
            guardian_links: true,
        }
    }
}

/// Rows to store with a phase's new position, in one transaction.
pub(crate) type Writer = Box<dyn FnOnce(&CacheTx<'_>) -> Result<(), CacheError> + Send + 'static>;

/// One step of a phase: rows to store and where the phase goes next.
pub(crate) struct Step {
    pub write: Writer,
    /// Rows stored by this step, per kind.
    pub rows: Vec<(&'static str, u64)>,
    /// `None`: this item (or list) is finished.
    pub next: Option<Value>,
}

impl Step {
    pub fn new(
        rows: Vec<(&'static str, u64)>,
        next: Option<Value>,
        write: impl FnOnce(&CacheTx<'_>) -> Result<(), CacheError> + Send + 'static,
    ) -> Step {
        Step {
            write: Box::new(write),
            rows,
            next,
        }
    }
}

/// One run of one system, and everything its phases share.
pub(crate) struct Run<'a> {
    pub cache: Arc<Cache>,
    pub connector: &'a Connector,
    pub connection: &'a Connection,
    pub options: PullOptions,
    pub system: System,
    pub id: u64,
    pub mode: SyncMode,
    /// When the run first started (a resumed run keeps it), by the connector's clock.
    pub started_at: DateTime<Utc>,
    ctx: &'a SyncContext,
    began: DateTime<Utc>,
    requests_before: u64,
    estimate: Option<u64>,
    rows: Mutex<BTreeMap<String, u64>>,
    skipped: Mutex<u64>,
    register_ready: std::sync::atomic::AtomicBool,
}

/// How far back an incremental pass reaches before the last pass started, for clock skew
/// between this computer and the server.
const SKEW_MARGIN: chrono::Duration = chrono::Duration::minutes(5);

/// The time zone a connection's setting names, if it is a valid IANA name.
pub(crate) fn school_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.trim().parse::<chrono_tz::Tz>().map_err(|_| {
        format!(
            "'{}' is not a time zone name. Use the IANA name of the school's zone, such as \
             America/Chicago or Europe/London.",
            name.trim()
        )
    })
}

/// The date at the school at `now`: in `zone` when one is set, else this computer's zone.
pub(crate) fn school_day(now: DateTime<Utc>, zone: Option<&str>) -> NaiveDate {
    match zone.filter(|z| !z.trim().is_empty()).map(school_zone) {
        Some(Ok(tz)) => now.with_timezone(&tz).date_naive(),
        Some(Err(e)) => {
            // Refused when connecting; a hand-edited setting falls back rather than stopping.
            tracing::warn!(error = %e, "unknown time zone; using this computer's");
            now.with_timezone(&chrono::Local).date_naive()
        }
        None => now.with_timezone(&chrono::Local).date_naive(),
    }
}

impl Run<'_> {
    /// Today at the school, by the connector's clock in the connection's time zone: at
    /// 23:30 UTC a school in Auckland is already on tomorrow's register.
    pub fn today(&self) -> NaiveDate {
        school_day(
            self.connector.now(),
            self.connection.settings.time_zone.as_deref(),
        )
    }

    /// The dates of attendance to pull, oldest first: today (whatever day it is: a Saturday
    /// school's register counts) and the school days (Monday to Friday) before it, as many
    /// as make `attendance_days` in all.
    pub fn attendance_dates(&self) -> Vec<NaiveDate> {
        use chrono::Datelike;
        let today = self.today();
        let wanted = self.options.attendance_days as usize;
        let mut dates: Vec<NaiveDate> = Vec::with_capacity(wanted);
        let mut day = Some(today);
        while let Some(d) = day.filter(|_| dates.len() < wanted) {
            if d == today || d.weekday().number_from_monday() <= 5 {
                dates.push(d);
            }
            day = d.pred_opt();
        }
        dates.reverse();
        dates
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Cache) -> Result<T, CacheError> + Send + 'static,
    ) -> Result<T, PullError> {
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || {
            schooldesk_cache::with_origin(schooldesk_domain::Origin::Sync, || f(&cache))
        })
        .await
        .map_err(|e| PullError::Internal(format!("cache task: {e}")))?
        .map_err(PullError::from)
    }

    /// Awaits one request, unless the sync is cancelled first.
    pub async fn call<T>(
        &self,
        request: impl Future<Output = Result<T, ConnectorError>>,
    ) -> Result<T, PullError> {
        if self.ctx.cancel.is_cancelled() {
            return Err(PullError::Cancelled);
        }
        tokio::select! {
            biased;
            _ = self.ctx.cancel.cancelled() => Err(PullError::Cancelled),
            r = request => r.map_err(PullError::from),
        }
    }

    fn count(&self, rows: &[(&'static str, u64)]) {
        let mut map = self.rows.lock().unwrap_or_else(|e| e.into_inner());
        for (k, n) in rows {
            *map.entry((*k).to_string()).or_default() += n;
        }
    }

    fn requests(&self) -> u64 {
        self.connector
            .requests_sent()
            .saturating_sub(self.requests_before)
    }

    /// Call once today's schools, sections, rosters and registers are stored (the phases a
    /// person needs first): progress from here on says "register ready".
    pub fn mark_register_ready(&self, phase: &str) {
        self.register_ready
            .store(true, std::sync::atomic::Ordering::Relaxed);
        self.report(phase);
    }

    fn report(&self, phase: &str) {
        let Some(sink) = &self.ctx.progress else {
            return;
        };
        let rows = self
            .rows
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .sum();
        let requests = self.requests();
        sink(&Progress {
            system: self.system,
            phase: phase.to_string(),
            rows,
            requests,
            remaining_estimate: self.estimate.map(|e| e.saturating_sub(requests)),
            elapsed: (self.connector.now() - self.began)
                .to_std()
                .unwrap_or_default(),
            register_ready: self
                .register_ready
                .load(std::sync::atomic::Ordering::Relaxed),
        });
    }

    /// The to-do list a list phase wrote for a per-item phase of this run.
    pub async fn todo(&self, phase: &'static str) -> Result<Vec<String>, PullError> {
        let (system, run) = (self.system, self.id);
        self.blocking(move |c| c.with_transaction(|tx| state::todo(tx, system, phase, run)))
            .await
    }

    /// Runs one phase over `items` (a list phase has one item), resuming where this run
    /// stopped, storing each step with the phase's new position in one transaction.
    /// `step(item, next, since)` fetches one page of `item` starting at `next` (`Null` at
    /// the start).
    pub async fn phase<F, Fut>(
        &self,
        phase: &'static str,
        label: &str,
        items: Vec<String>,
        mut step: F,
    ) -> Result<(), PullError>
    where
        F: FnMut(String, Value, Option<DateTime<Utc>>) -> Fut,
        Fut: Future<Output = Result<Step, PullError>>,
    {
        let (system, run, mode) = (self.system, self.id, self.mode);
        let mut st: PhaseState = self
            .blocking(move |c| c.with_transaction(|tx| state::load_phase(tx, system, phase)))
            .await?
            .unwrap_or_default();
        if st.run == run && st.complete {
            return Ok(());
        }
        if st.run != run {
            // A fresh pass: incremental ones start from the last complete pass's mark.
            st = PhaseState {
                run,
                complete: false,
                item: 0,
                next: Value::Null,
                since: match mode {
                    SyncMode::Incremental => st.high_water,
                    SyncMode::Full => None,
                },
                high_water: st.high_water,
            };
        }
        let since = st.since;
        while st.item < items.len() {
            let item = items[st.item].clone();
            let outcome = step(item.clone(), st.next.clone(), since).await;
            let step = match outcome {
                Ok(s) => s,
                Err(PullError::Connector(ConnectorError::NotFound { detail, .. }))
                    if items.len() > 1 =>
                {
                    // Gone from the system since the list was read: nothing to store.
                    tracing::info!(%system, phase, item, detail, "item no longer exists; skipped");
                    *self.skipped.lock().unwrap_or_else(|e| e.into_inner()) += 1;
                    Step::new(Vec::new(), None, |_| Ok(()))
                }
                Err(e) => return Err(e),
            };
            let mut next_state = st.clone();
            match step.next {
                Some(n) => next_state.next = n,
                None => {
                    next_state.item += 1;
                    next_state.next = Value::Null;
                }
            }
            if next_state.item >= items.len() {
                next_state.complete = true;
                next_state.high_water = Some(self.started_at - SKEW_MARGIN);
            }
            let saved = next_state.clone();
            let write = step.write;
            let now = self.connector.now();
            self.blocking(move |c| {
                c.with_transaction(|tx| {
                    write(tx)?;
                    state::save_phase(tx, system, phase, &saved, now)
                })
            })
            .await?;
            self.count(&step.rows);
            st = next_state;
            self.report(label);
        }
        if !st.complete {
            // No items at all: the phase is done.
            st.complete = true;
            st.high_water = Some(self.started_at - SKEW_MARGIN);
            let now = self.connector.now();
            self.blocking(move |c| {
                c.with_transaction(|tx| state::save_phase(tx, system, phase, &st, now))
            })
            .await?;
        }
        Ok(())
    }
}

/// When `system`'s last complete sync, and last complete full sync, ended.
pub fn last_syncs(cache: &Cache, system: System) -> Result<LastSyncs, CacheError> {
    cache.with_transaction(|tx| state::last_syncs(tx, system))
}

/// Syncs one system into the cache. Never fails outright: what stopped it (and whether a
/// retry can help) is in the summary, and the next sync resumes where this one stopped.
pub async fn sync_system(
    cache: &Arc<Cache>,
    connector: &Connector,
    connection: &Connection,
    mode: SyncMode,
    ctx: &SyncContext,
) -> SystemSummary {
    sync_system_with(
        cache,
        connector,
        connection,
        mode,
        PullOptions::for_connection(connection),
        ctx,
    )
    .await
}

/// [`sync_system`] with options other than the connection's defaults.
pub async fn sync_system_with(
    cache: &Arc<Cache>,
    connector: &Connector,
    connection: &Connection,
    mode: SyncMode,
    options: PullOptions,
    ctx: &SyncContext,
) -> SystemSummary {
    let system = connector.system();
    let began = connector.now();
    let requests_before = connector.requests_sent();
    let estimate = {
        let (cache, connection, options) = (cache.clone(), connection.clone(), options.clone());
        tokio::task::spawn_blocking(move || {
            estimate::for_cache(&cache, &connection, &options, mode).ok()
        })
        .await
        .ok()
        .flatten()
    };
    let mut summary = SystemSummary {
        system,
        mode,
        resumed: false,
        completed: false,
        cancelled: false,
        rows: BTreeMap::new(),
        requests: 0,
        duration: Duration::ZERO,
        error: None,
        skipped: 0,
        estimate: estimate.clone(),
        malformed: Vec::new(),
        removed: BTreeMap::new(),
        held_removals: BTreeMap::new(),
    };
    if system != connection.system {
        summary.error = Some(
            PullError::Internal(format!(
                "a {} connector was given a {} connection",
                system, connection.system
            ))
            .problem(),
        );
        return summary;
    }
    let run_state = {
        let cache = cache.clone();
        let now = began;
        tokio::task::spawn_blocking(move || {
            schooldesk_cache::with_origin(schooldesk_domain::Origin::Sync, || {
                cache.with_transaction(|tx| state::begin_run(tx, system, mode, now))
            })
        })
        .await
    };
    let run_state: RunState = match run_state {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => {
            summary.error = Some(PullError::from(e).problem());
            return summary;
        }
        Err(e) => {
            summary.error = Some(PullError::Internal(e.to_string()).problem());
            return summary;
        }
    };
    summary.resumed = run_state.resumed;
    summary.mode = run_state.mode;
    let run = Run {
        cache: cache.clone(),
        connector,
        connection,
        options,
        system,
        id: run_state.id,
        mode: run_state.mode,
        started_at: run_state.started_at,
        ctx,
        began,
        requests_before,
        estimate: estimate.as_ref().map(|e| e.requests),
        rows: Mutex::new(BTreeMap::new()),
        skipped: Mutex::new(0),
        register_ready: std::sync::atomic::AtomicBool::new(false),
    };
    tracing::info!(%system, mode = run.mode.as_str(), run = run.id, resumed = run_state.resumed, "sync started");
    // A malformed record is left out and reported; the others still sync.
    let (result, malformed) = schooldesk_connectors::http::collecting_malformed(async {
        match system {
            System::OmniForge => omniforge::pull(&run).await,
            System::PowerSchool => powerschool::pull(&run).await,
            System::Matrix => matrix::pull(&run).await,
            System::Hubmis => hubmis::pull(&run).await,
        }
    })
    .await;
    for m in &malformed {
        tracing::warn!(%system, record = %m, "a record could not be read and was left out");
    }
    let result = match result {
        Ok(()) => {
            let (id, now, started, mode) = (run.id, connector.now(), run.started_at, run.mode);
            // A list in which a record could not be read may hide a row that is still there.
            let tables: Vec<&'static str> = if !malformed.is_empty() {
                Vec::new()
            } else {
                lists_read_whole(system, mode).to_vec()
            };
            run.blocking(move |c| {
                c.with_transaction(|tx| {
                    let mut outcomes = Vec::new();
                    for table in tables {
                        outcomes.push((table, tx.settle_removals(system, table, started, now)?));
                    }
                    state::finish_run(tx, system, id, now)?;
                    Ok(outcomes)
                })
            })
            .await
            .map(|outcomes| {
                for (table, o) in outcomes {
                    if o.removed > 0 {
                        summary.removed.insert(table.to_string(), o.removed);
                    }
                    if o.held > 0 {
                        summary.held_removals.insert(table.to_string(), o.held);
                    }
                }
            })
        }
        Err(e) => Err(e),
    };
    summary.malformed = malformed;
    summary.rows = run.rows.lock().unwrap_or_else(|e| e.into_inner()).clone();
    summary.skipped = *run.skipped.lock().unwrap_or_else(|e| e.into_inner());
    summary.requests = run.requests();
    summary.duration = (connector.now() - began).to_std().unwrap_or_default();
    match result {
        Ok(()) => summary.completed = true,
        Err(PullError::Cancelled) => summary.cancelled = true,
        Err(e) => {
            tracing::warn!(%system, error = %e, "sync stopped");
            summary.error = Some(e.problem());
        }
    }
    tracing::info!(
        %system,
        completed = summary.completed,
        requests = summary.requests,
        duration_s = summary.duration.as_secs(),
        "sync ended"
    );
    summary
}

/// Syncs several systems at once (each paced by its own limits), then lists the children
/// whose details disagree between systems.
pub async fn sync_all(
    cache: &Arc<Cache>,
    connections: &[(Connector, Connection)],
    mode: SyncMode,
    ctx: &SyncContext,
) -> SyncReport {
    let runs = connections
        .iter()
        .map(|(connector, connection)| sync_system(cache, connector, connection, mode, ctx));
    let systems = futures_util::future::join_all(runs).await;
    let Some(now) = connections.first().map(|(c, _)| c.now()) else {
        return SyncReport {
            systems,
            disagreements: 0,
        };
    };
    let disagreements = {
        let cache = cache.clone();
        tokio::task::spawn_blocking(move || {
            schooldesk_cache::with_origin(schooldesk_domain::Origin::Sync, || {
                crate::matching::refresh(&cache, now)
            })
        })
        .await
        .ok()
        .and_then(Result::ok)
        .map_or(0, |m| m.disagreements.len())
    };
    SyncReport {
        systems,
        disagreements,
    }
}
