//! The live desk: one handle owning every background loop — the sync schedule, outbox
//! replay, the reconnect probe and change events — so the app keeps the cache true while a
//! person works, and stops cleanly when it closes.
//!
//! - **Syncs**: an incremental sync per system every few minutes during the school day,
//!   less often outside it, a full sync once a night; "Sync now" on demand.
//! - **Replay**: at start, whenever a write is due, when a system that was unreachable
//!   answers again, and on demand ("Send now", which also brings forward the writes that were
//!   never sent because their system was down).
//! - **Reconnect**: a system that did not answer is probed with its cheapest call, backing
//!   off, within its rate limits (the probe goes through the same paced client).
//! - **Changes**: every committed write reaches subscribers as a batch saying who made it
//!   (this desk, a sync, the replay, another process) and which tables it touched.
//!
//! Cancelling (or dropping) the [`Engine`] stops every loop: a sync stops at its next request
//! and resumes next time; the replay finishes the write in flight and leaves the rest queued.
//! Blocking cache and keychain work runs on blocking threads, never on the async workers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Timelike, Utc};
use schooldesk_cache::ChangeBatch;
use schooldesk_domain::{Origin, System};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::desk::{blocking, Desk, DeskError};
use crate::pull::{Progress, SyncContext, SyncMode, SyncProblem, SyncReport};

/// The time, passed in so the schedule is testable.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// How often things happen. The defaults suit a school office.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// Between incremental syncs during the school day (registers change by the minute).
    pub school_day_every: Duration,
    /// Between incremental syncs outside it.
    pub off_hours_every: Duration,
    /// The school day, in this computer's local hours: [start, end).
    pub school_hours: (u32, u32),
    /// A full sync runs once in this local night window [start, end) ...
    pub nightly_full_hours: (u32, u32),
    /// ... when the last full sync is older than this.
    pub full_every: Duration,
    /// The first wait before probing a system that did not answer; doubles up to
    /// `probe_max`.
    pub probe_first: Duration,
    pub probe_max: Duration,
    /// How often the loop looks at what is due (changes are batched over this too).
    pub tick: Duration,
    /// How often the cache is asked whether another process wrote to it.
    pub other_process_every: Duration,
    /// Sync at start (the app); tests of other parts turn it off.
    pub sync_at_start: bool,
}

impl Default for Schedule {
    fn default() -> Self {
        Schedule {
            school_day_every: Duration::from_secs(5 * 60),
            off_hours_every: Duration::from_secs(60 * 60),
            school_hours: (7, 18),
            nightly_full_hours: (1, 5),
            full_every: Duration::from_secs(20 * 60 * 60),
            probe_first: Duration::from_secs(30),
            probe_max: Duration::from_secs(5 * 60),
            tick: Duration::from_millis(250),
            other_process_every: Duration::from_secs(1),
            sync_at_start: true,
        }
    }
}

/// What one system is doing, for the Today screen and `status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemActivity {
    pub system: System,
    pub syncing: bool,
    /// The sync under way, after its last stored page.
    pub progress: Option<Progress>,
    /// Today's registers are in the cache (from the running or the last sync).
    pub register_ready: bool,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_full_sync_at: Option<DateTime<Utc>>,
    pub next_sync_at: Option<DateTime<Utc>>,
    /// False after the system did not answer, until a probe reaches it again.
    pub reachable: bool,
    pub next_probe_at: Option<DateTime<Utc>>,
    /// What went wrong last, in plain words, with what to do.
    pub problem: Option<SyncProblem>,
}

/// Where the desk stands: every connected system, and the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct DeskActivity {
    pub systems: Vec<SystemActivity>,
    /// The outbox is being sent right now.
    pub sending: bool,
    /// Outbox entries per state.
    pub outbox: BTreeMap<String, u64>,
    /// No connected system answers: everything works from the cache.
    pub offline: bool,
}

/// What the engine tells its subscribers.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeskEvent {
    /// Data changed: re-read what shows these tables.
    Changed(Changes),
    /// Sync, replay or reachability moved on.
    Activity(DeskActivity),
}

/// Committed writes over one tick, merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Changes {
    /// Who made them.
    pub origins: BTreeSet<Origin>,
    /// Rows written per table. Empty with [`Origin::OtherProcess`]: another process's writes
    /// are noticed, not itemised, so anything may have changed.
    pub tables: BTreeMap<String, u64>,
}

impl Changes {
    fn add(&mut self, batch: &ChangeBatch) {
        self.origins.insert(batch.origin);
        for (table, n) in &batch.tables {
            *self.tables.entry(table.clone()).or_default() += n;
        }
    }

    /// Whether `table` may have changed.
    pub fn touches(&self, table: &str) -> bool {
        self.origins.contains(&Origin::OtherProcess) || self.tables.contains_key(table)
    }
}

enum Command {
    SyncNow(Vec<System>, SyncMode),
    SendNow,
    PauseSending(tokio::sync::oneshot::Sender<()>),
    ResumeSending,
}

/// The running engine. Dropping it stops every loop (see [`Engine::shutdown`] to wait).
pub struct Engine {
    cancel: CancellationToken,
    commands: mpsc::UnboundedSender<Command>,
    events: broadcast::Sender<DeskEvent>,
    activity: Arc<Mutex<DeskActivity>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl Engine {
    /// Starts the loops on the current tokio runtime.
    pub fn start(desk: Desk, schedule: Schedule, clock: Clock) -> Engine {
        let cancel = CancellationToken::new();
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (events, _) = broadcast::channel(256);
        let (change_tx, change_rx) = mpsc::unbounded_channel();
        desk.cache().on_change(move |batch| {
            let _ = change_tx.send(batch.clone());
        });
        let activity = Arc::new(Mutex::new(DeskActivity::default()));
        let inner = Loop {
            desk,
            schedule,
            clock,
            cancel: cancel.clone(),
            events: events.clone(),
            activity: activity.clone(),
            systems: BTreeMap::new(),
            replay: None,
            replay_cancel: CancellationToken::new(),
            replay_wanted: false,
            paused: false,
            done_tx: None,
            started: false,
        };
        let task = tokio::spawn(inner.run(command_rx, change_rx));
        Engine {
            cancel,
            commands,
            events,
            activity,
            task: Mutex::new(Some(task)),
        }
    }

    /// Events from now on. A subscriber that falls far behind misses events (and is told
    /// so by the channel): it should then re-read everything.
    pub fn subscribe(&self) -> broadcast::Receiver<DeskEvent> {
        self.events.subscribe()
    }

    /// Where things stand now.
    pub fn activity(&self) -> DeskActivity {
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// "Sync now": `systems` (all connected when empty), at once.
    pub fn sync_now(&self, systems: Vec<System>, mode: SyncMode) {
        let _ = self.commands.send(Command::SyncNow(systems, mode));
    }

    /// "Send now": writes that were never sent because their system was down become due,
    /// and the outbox is sent.
    pub fn send_now(&self) {
        let _ = self.commands.send(Command::SendNow);
    }

    /// Stops sending (an update is about to restart the app): the write in flight is
    /// finished, the rest stay queued, and no replay starts until [`Engine::resume_sending`].
    /// Returns once nothing is being sent.
    pub async fn pause_sending(&self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.commands.send(Command::PauseSending(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    /// Sending goes on again after [`Engine::pause_sending`] (the update was refused).
    pub fn resume_sending(&self) {
        let _ = self.commands.send(Command::ResumeSending);
    }

    /// Stops every loop and waits: syncs stop at their next request (and resume next time),
    /// the replay finishes the write in flight.
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The engine's own cancellation token (cancelled by [`Engine::shutdown`] and on drop).
    pub fn cancellation(&self) -> CancellationToken {
        self.cancel.clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// A finished background job, reported to the loop.
enum Done {
    Sync(System, SyncMode, Box<Result<SyncReport, DeskError>>),
    Replay(Box<Result<crate::replay::ReplayReport, DeskError>>),
    Probe(System, bool),
}

#[derive(Debug, Clone)]
struct SystemState {
    activity: SystemActivity,
    running: Option<CancellationToken>,
    probing: bool,
    probe_wait: Duration,
    /// The last failure needs a person (credentials, settings): no automatic sync until
    /// the connection changes.
    needs_attention: bool,
}

struct Loop {
    desk: Desk,
    schedule: Schedule,
    clock: Clock,
    cancel: CancellationToken,
    events: broadcast::Sender<DeskEvent>,
    activity: Arc<Mutex<DeskActivity>>,
    systems: BTreeMap<System, SystemState>,
    replay: Option<JoinHandle<()>>,
    /// Stops the running replay after its write in flight (pausing for an update).
    replay_cancel: CancellationToken,
    replay_wanted: bool,
    paused: bool,
    done_tx: Option<mpsc::UnboundedSender<Done>>,
    /// Past the first reading of the connections: a system connected from now on syncs at
    /// once; at start, only when the schedule says so.
    started: bool,
}

impl Loop {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut changes: mpsc::UnboundedReceiver<ChangeBatch>,
    ) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        self.done_tx = Some(done_tx);
        self.reload_connections().await;
        self.started = true;
        self.replay_wanted = true;
        let mut data_version = self.data_version().await;
        let mut last_other_check = (self.clock)();
        let mut pending = Changes::default();
        let mut tick = tokio::time::interval(self.schedule.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                biased;
                _ = self.cancel.cancelled() => break,
                Some(command) = commands.recv() => self.command(command).await,
                Some(done) = done_rx.recv() => self.finished(done).await,
                Some(batch) = changes.recv() => pending.add(&batch),
                _ = tick.tick() => {
                    let now = (self.clock)();
                    if now - last_other_check
                        >= chrono::Duration::from_std(self.schedule.other_process_every).unwrap_or_default()
                    {
                        last_other_check = now;
                        let version = self.data_version().await;
                        if version.is_some() && version != data_version {
                            data_version = version;
                            pending.origins.insert(Origin::OtherProcess);
                        }
                    }
                    if !pending.origins.is_empty() {
                        let batch = std::mem::take(&mut pending);
                        if batch.touches("connections") {
                            self.reload_connections().await;
                        }
                        if batch.touches("outbox") {
                            self.replay_wanted = true;
                        }
                        let _ = self.events.send(DeskEvent::Changed(batch));
                    }
                    self.due(now).await;
                }
            }
        }
        // Stop: syncs stop at their next request, the replay after the write in flight.
        for st in self.systems.values() {
            if let Some(token) = &st.running {
                token.cancel();
            }
        }
        if let Some(replay) = self.replay.take() {
            let _ = replay.await;
        }
        // Let cancelled syncs store their position before the runtime goes away.
        while self.systems.values().any(|s| s.running.is_some()) {
            match tokio::time::timeout(Duration::from_secs(10), done_rx.recv()).await {
                Ok(Some(Done::Sync(system, ..))) => {
                    if let Some(st) = self.systems.get_mut(&system) {
                        st.running = None;
                    }
                }
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }

    async fn data_version(&self) -> Option<i64> {
        let cache = self.desk.cache().clone();
        tokio::task::spawn_blocking(move || cache.data_version().ok())
            .await
            .ok()
            .flatten()
    }

    /// Reads the connections again (at start, and when they change): new systems join the
    /// schedule, removed ones leave it, a changed one loses its "needs attention".
    async fn reload_connections(&mut self) {
        let desk = self.desk.clone();
        let read = blocking(move || {
            let connections = desk.connections()?;
            let mut last = Vec::new();
            for c in &connections {
                let l = crate::pull::last_syncs(desk.cache(), c.system)?;
                last.push((c.system, (l.completed_at, l.full_completed_at)));
            }
            Ok(last)
        })
        .await;
        let Ok(connected) = read else {
            return;
        };
        let now = (self.clock)();
        let first_sync = if self.started || self.schedule.sync_at_start {
            now
        } else {
            now + chrono::Duration::from_std(self.interval(now)).unwrap_or_default()
        };
        let keep: BTreeSet<System> = connected.iter().map(|(s, _)| *s).collect();
        self.systems.retain(|s, _| keep.contains(s));
        for (system, (last, last_full)) in connected {
            let st = self.systems.entry(system).or_insert_with(|| SystemState {
                activity: SystemActivity {
                    system,
                    syncing: false,
                    progress: None,
                    register_ready: last.is_some(),
                    last_sync_at: last,
                    last_full_sync_at: last_full,
                    next_sync_at: Some(first_sync),
                    reachable: true,
                    next_probe_at: None,
                    problem: None,
                },
                running: None,
                probing: false,
                probe_wait: Duration::ZERO,
                needs_attention: false,
            });
            if st.needs_attention {
                // The person changed something: try again.
                st.needs_attention = false;
                st.activity.problem = None;
                st.activity.next_sync_at = Some(now);
            }
        }
        self.publish_activity().await;
    }

    async fn command(&mut self, command: Command) {
        let now = (self.clock)();
        match command {
            Command::SyncNow(systems, mode) => {
                let wanted: Vec<System> = if systems.is_empty() {
                    self.systems.keys().copied().collect()
                } else {
                    systems
                };
                for system in wanted {
                    if let Some(st) = self.systems.get_mut(&system) {
                        st.needs_attention = false;
                    }
                    self.start_sync(system, mode, now);
                }
            }
            Command::PauseSending(done) => {
                self.paused = true;
                self.replay_cancel.cancel();
                if let Some(replay) = self.replay.take() {
                    let _ = replay.await;
                }
                let _ = done.send(());
            }
            Command::ResumeSending => {
                self.paused = false;
                self.replay_wanted = true;
            }
            Command::SendNow => {
                let cache = self.desk.cache().clone();
                let _ = tokio::task::spawn_blocking(move || cache.clear_unsent_backoff(now)).await;
                self.replay_wanted = true;
                self.start_replay();
            }
        }
        self.publish_activity().await;
    }

    /// Starts whatever is due at `now`.
    async fn due(&mut self, now: DateTime<Utc>) {
        let mut changed = false;
        let systems: Vec<System> = self.systems.keys().copied().collect();
        for system in systems {
            let st = &self.systems[&system];
            if st.running.is_some() || st.probing {
                continue;
            }
            if !st.activity.reachable {
                if st.activity.next_probe_at.is_some_and(|at| at <= now) {
                    self.start_probe(system);
                    changed = true;
                }
                continue;
            }
            if st.needs_attention {
                continue;
            }
            if st.activity.next_sync_at.is_some_and(|at| at <= now) {
                let mode = if self.full_is_due(st, now) {
                    SyncMode::Full
                } else {
                    SyncMode::Incremental
                };
                self.start_sync(system, mode, now);
                changed = true;
            }
        }
        if self.replay.as_ref().is_some_and(JoinHandle::is_finished) {
            self.replay = None;
        }
        if self.replay.is_none() {
            if !self.replay_wanted {
                let cache = self.desk.cache().clone();
                let due = tokio::task::spawn_blocking(move || cache.next_due())
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten();
                self.replay_wanted = due.is_some_and(|at| at <= now);
            }
            if self.replay_wanted && !self.paused {
                self.start_replay();
                changed = true;
            }
        }
        if changed {
            self.publish_activity().await;
        }
    }

    fn full_is_due(&self, st: &SystemState, now: DateTime<Utc>) -> bool {
        let hour = now.with_timezone(&chrono::Local).hour();
        let (from, to) = self.schedule.nightly_full_hours;
        let stale = st.activity.last_full_sync_at.is_none_or(|at| {
            now - at >= chrono::Duration::from_std(self.schedule.full_every).unwrap_or_default()
        });
        stale && hour >= from && hour < to
    }

    fn interval(&self, now: DateTime<Utc>) -> Duration {
        let local = now.with_timezone(&chrono::Local);
        let (from, to) = self.schedule.school_hours;
        let weekday = chrono::Datelike::weekday(&local).number_from_monday() <= 5;
        if weekday && local.hour() >= from && local.hour() < to {
            self.schedule.school_day_every
        } else {
            self.schedule.off_hours_every
        }
    }

    fn start_sync(&mut self, system: System, mode: SyncMode, now: DateTime<Utc>) {
        let Some(st) = self.systems.get_mut(&system) else {
            return;
        };
        if st.running.is_some() {
            return;
        }
        let token = self.cancel.child_token();
        st.running = Some(token.clone());
        st.activity.syncing = true;
        st.activity.progress = None;
        st.activity.next_sync_at = None;
        let _ = now;
        let desk = self.desk.clone();
        let done = self.done_tx.clone().expect("set at start");
        let activity = self.activity.clone();
        let events = self.events.clone();
        tokio::spawn(async move {
            let progress = move |p: &Progress| {
                let snapshot = {
                    let mut a = activity.lock().unwrap_or_else(|e| e.into_inner());
                    if let Some(s) = a.systems.iter_mut().find(|s| s.system == p.system) {
                        s.progress = Some(p.clone());
                        s.register_ready |= p.register_ready;
                    }
                    a.clone()
                };
                let _ = events.send(DeskEvent::Activity(snapshot));
            };
            let ctx = SyncContext {
                cancel: token,
                progress: Some(Arc::new(progress)),
            };
            let report = desk.sync_with(&[system], mode, &ctx).await;
            let _ = done.send(Done::Sync(system, mode, Box::new(report)));
        });
    }

    fn start_replay(&mut self) {
        if self.paused || self.replay.as_ref().is_some_and(|r| !r.is_finished()) {
            return;
        }
        self.replay_wanted = false;
        let desk = self.desk.clone();
        // A child of the engine's token: shutting down stops it too.
        self.replay_cancel = self.cancel.child_token();
        let cancel = self.replay_cancel.clone();
        let done = self.done_tx.clone().expect("set at start");
        self.replay = Some(tokio::spawn(async move {
            let report = desk.replay_until(&cancel).await;
            let _ = done.send(Done::Replay(Box::new(report)));
        }));
    }

    fn start_probe(&mut self, system: System) {
        let Some(st) = self.systems.get_mut(&system) else {
            return;
        };
        st.probing = true;
        let desk = self.desk.clone();
        let done = self.done_tx.clone().expect("set at start");
        let cancel = self.cancel.clone();
        tokio::spawn(async move {
            let answered = async {
                let d = desk.clone();
                let connector = blocking(move || d.connector(system)).await.ok()?;
                tokio::select! {
                    _ = cancel.cancelled() => None,
                    r = connector.verify() => Some(r.is_ok()),
                }
            }
            .await
            .unwrap_or(false);
            let _ = done.send(Done::Probe(system, answered));
        });
    }

    async fn finished(&mut self, done: Done) {
        let now = (self.clock)();
        let interval = self.interval(now);
        match done {
            Done::Sync(system, mode, report) => {
                let Some(st) = self.systems.get_mut(&system) else {
                    return;
                };
                st.running = None;
                st.activity.syncing = false;
                st.activity.progress = None;
                let summary = match *report {
                    Ok(r) => r.systems.into_iter().find(|s| s.system == system),
                    Err(e) => {
                        st.activity.problem = Some(SyncProblem {
                            code: e.code().to_string(),
                            message: e.user_message(),
                            detail: String::new(),
                            retryable: e.is_retryable(),
                        });
                        st.needs_attention = !e.is_retryable();
                        None
                    }
                };
                if let Some(summary) = summary {
                    if summary.completed {
                        st.activity.last_sync_at = Some(now);
                        if mode == SyncMode::Full {
                            st.activity.last_full_sync_at = Some(now);
                        }
                        st.activity.register_ready = true;
                        st.activity.problem = None;
                        st.activity.reachable = true;
                        st.probe_wait = Duration::ZERO;
                    }
                    if let Some(problem) = summary.error {
                        if problem.code == "connector.offline"
                            || problem.code == "connector.timeout"
                        {
                            mark_unreachable(st, &self.schedule, now);
                        } else if !problem.retryable {
                            st.needs_attention = true;
                        }
                        st.activity.problem = Some(problem);
                    }
                }
                let st = &mut self.systems.get_mut(&system).expect("present");
                st.activity.next_sync_at =
                    Some(now + chrono::Duration::from_std(interval).unwrap_or_default());
                // What the sync brought may unblock writes (a rebased version).
                self.replay_wanted = true;
            }
            Done::Replay(report) => {
                self.replay = None;
                if let Ok(report) = *report {
                    for system in &report.unreachable {
                        if let Some(st) = self.systems.get_mut(system) {
                            if st.activity.reachable {
                                mark_unreachable(st, &self.schedule, now);
                            }
                        }
                    }
                }
            }
            Done::Probe(system, answered) => {
                let Some(st) = self.systems.get_mut(&system) else {
                    return;
                };
                st.probing = false;
                if answered {
                    // Back: send what waited for it, then catch up.
                    st.activity.reachable = true;
                    st.activity.next_probe_at = None;
                    st.probe_wait = Duration::ZERO;
                    st.activity.problem = None;
                    st.activity.next_sync_at = Some(now);
                    let cache = self.desk.cache().clone();
                    // It answered with these credentials, so writes held for its sake go too.
                    let _ = tokio::task::spawn_blocking(move || {
                        cache.clear_unsent_backoff(now)?;
                        cache.release_held(system, now)
                    })
                    .await;
                    self.replay_wanted = true;
                } else {
                    mark_unreachable(st, &self.schedule, now);
                }
            }
        }
        self.publish_activity().await;
    }

    async fn publish_activity(&self) {
        let cache = self.desk.cache().clone();
        let outbox = tokio::task::spawn_blocking(move || cache.outbox_counts())
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let systems: Vec<SystemActivity> =
            self.systems.values().map(|s| s.activity.clone()).collect();
        let snapshot = DeskActivity {
            offline: !systems.is_empty() && systems.iter().all(|s| !s.reachable),
            sending: self.replay.as_ref().is_some_and(|r| !r.is_finished()),
            systems,
            outbox,
        };
        *self.activity.lock().unwrap_or_else(|e| e.into_inner()) = snapshot.clone();
        let _ = self.events.send(DeskEvent::Activity(snapshot));
    }
}

/// The system did not answer: probe it after a wait that doubles each time.
fn mark_unreachable(st: &mut SystemState, schedule: &Schedule, now: DateTime<Utc>) {
    st.activity.reachable = false;
    st.probe_wait = if st.probe_wait.is_zero() {
        schedule.probe_first
    } else {
        (st.probe_wait * 2).min(schedule.probe_max)
    };
    st.activity.next_probe_at =
        Some(now + chrono::Duration::from_std(st.probe_wait).unwrap_or_default());
}
