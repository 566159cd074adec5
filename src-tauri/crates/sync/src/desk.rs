//! [`Desk`]: one data directory's cache, keychain and connections — the single way the CLI
//! and the desktop shell reach the core.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_cache::{Cache, CacheError, Keychain, NewAttendance, StudentQuery};
use schooldesk_connectors::{Connection, ConnectionSettings, Connector, ConnectorError, Secret};
use schooldesk_domain::{
    AttendanceMark, AttendanceStatus, OutboxEntry, OutboxState, Student, System,
};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::estimate::Estimate;
use crate::pull::{Progress, SyncContext, SyncMode, SyncReport};

/// Everything that can go wrong at the desk, with a sentence for the person and a stable
/// code for the UI.
#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Connector(#[from] ConnectorError),
    #[error("{0} is not connected yet. Connect it first: schooldesk connect {1} --base-url URL")]
    NotConnected(&'static str, &'static str),
    #[error("{0}")]
    InvalidInput(String),
    #[error(
        "The secret for {0} is missing from this computer's keychain. Connect {0} again to \
         store it."
    )]
    SecretMissing(&'static str),
    #[error("Cannot use the data folder {}: {source}. Choose another data folder (the --data-dir option or the SCHOOLDESK_DATA_DIR setting).", .path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Busy(&'static str),
    #[error("Could not start the demo district: {0}")]
    Demo(String),
    #[error(
        "{system} has {pending} write(s) waiting to be sent to {old}. Say what to do with them \
         before changing the address: --pending-writes send-to-new (send them to the new \
         address) or --pending-writes discard (delete them). Nothing was changed."
    )]
    PendingWritesOnAddressChange {
        system: &'static str,
        pending: u64,
        old: String,
    },
    #[error("Schooldesk stopped unexpectedly while working: {0}. Try again; if it keeps happening, restart Schooldesk.")]
    Internal(String),
}

impl DeskError {
    /// The sentence for the person at the desk (connector errors carry an office-worker
    /// sentence of their own, with the technical detail after it).
    pub fn user_message(&self) -> String {
        match self {
            DeskError::Connector(e) => e.user_message(),
            other => other.to_string(),
        }
    }

    /// A stable identifier for the UI, which never matches on the text.
    pub fn code(&self) -> &'static str {
        match self {
            DeskError::Cache(e) => e.code(),
            DeskError::Connector(e) => e.code(),
            DeskError::NotConnected(..) => "desk.not_connected",
            DeskError::InvalidInput(_) => "desk.invalid_input",
            DeskError::SecretMissing(_) => "desk.secret_missing",
            DeskError::DataDir { .. } => "desk.data_dir",
            DeskError::Busy(_) => "desk.busy",
            DeskError::Demo(_) => "desk.demo",
            DeskError::PendingWritesOnAddressChange { .. } => "desk.pending_writes",
            DeskError::Internal(_) => "desk.internal",
        }
    }

    /// Whether trying the same thing again later can succeed without anyone changing
    /// anything (the UI offers "Try again" only then).
    pub fn is_retryable(&self) -> bool {
        match self {
            DeskError::Cache(e) => e.retry_may_help(),
            DeskError::Connector(e) => e.is_retryable(),
            // A demo that failed to start (a port taken) may start next time.
            DeskError::Busy(_) | DeskError::Internal(_) | DeskError::Demo(_) => true,
            DeskError::NotConnected(..)
            | DeskError::InvalidInput(_)
            | DeskError::SecretMissing(_)
            | DeskError::DataDir { .. }
            | DeskError::PendingWritesOnAddressChange { .. } => false,
        }
    }
}

/// What to do with writes waiting for a system whose address is being changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PendingWrites {
    /// Refuse the change while any wait (the default: nothing goes anywhere by surprise).
    Refuse,
    /// Send them to the new address.
    SendToNew,
    /// Delete them (they were meant for the old server).
    Discard,
}

pub type Result<T, E = DeskError> = std::result::Result<T, E>;

/// The per-user data directory (e.g. `~/.local/share/schooldesk`,
/// `%APPDATA%\Schooldesk\data`, `~/Library/Application Support/org.schooldesk.desk`).
pub fn default_data_dir() -> PathBuf {
    directories::ProjectDirs::from("org", "schooldesk", "Schooldesk")
        .map(|d| d.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("schooldesk-data"))
}

/// A request to take one attendance mark at the desk.
#[derive(Debug, Clone)]
pub struct MarkRequest {
    /// The student's id in a system, or their external id.
    pub student: String,
    pub date: NaiveDate,
    pub status: AttendanceStatus,
    pub section: Option<String>,
    pub period: Option<String>,
    pub note: Option<String>,
    /// The school's own code for the mark; checked against the codes it uses.
    pub code: Option<String>,
    pub minutes_late: Option<u32>,
}

/// What the cache holds and where it stands, for IT staff (`schooldesk status`).
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub data_dir: PathBuf,
    pub schema_version: u32,
    pub connections: Vec<ConnectionInfo>,
    /// Rows per table per system.
    pub counts: schooldesk_cache::Counts,
    /// Outbox entries per state.
    pub outbox: BTreeMap<&'static str, u64>,
}

/// A connection as shown to people: never the secret.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    pub system: System,
    pub base_url: String,
    pub realm: Option<String>,
    pub client_id: Option<String>,
    pub requests_per_minute: Option<u32>,
    pub learning_support_enabled: bool,
}

/// One data directory, opened.
#[derive(Clone)]
pub struct Desk {
    data_dir: PathBuf,
    keychain: Keychain,
    cache: Arc<Cache>,
    /// The demo profile: its own cache file and key, connected only to the simulators on
    /// this computer, so demo data and demo marks never meet a real school's.
    demo: bool,
}

impl std::fmt::Debug for Desk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Desk")
            .field("data_dir", &self.data_dir)
            .finish_non_exhaustive()
    }
}

impl Desk {
    /// Opens (creating on first run) the encrypted cache of `data_dir`, its key in the
    /// operating system's keychain.
    pub fn open(data_dir: &Path) -> Result<Desk> {
        Self::open_profile(data_dir, false)
    }

    /// Opens the demo profile kept beside `data_dir`'s cache (`<data_dir>/demo`): its own
    /// cache file and key, never mixed with the real one.
    pub fn open_demo(data_dir: &Path) -> Result<Desk> {
        Self::open_profile(&demo_dir(data_dir), true)
    }

    fn open_profile(data_dir: &Path, demo: bool) -> Result<Desk> {
        std::fs::create_dir_all(data_dir).map_err(|e| DeskError::DataDir {
            path: data_dir.to_path_buf(),
            source: e,
        })?;
        restrict_to_owner(data_dir);
        let keychain = Keychain::for_data_dir(data_dir);
        let cache = Cache::open(data_dir, &keychain)?;
        Ok(Desk {
            data_dir: data_dir.to_path_buf(),
            keychain,
            cache: Arc::new(cache),
            demo,
        })
    }

    /// Deletes the cache of `data_dir` and its key together. Writes not yet sent are lost:
    /// callers confirm with the person first.
    pub fn reset(data_dir: &Path) -> Result<()> {
        let keychain = Keychain::for_data_dir(data_dir);
        for system in System::ALL {
            keychain.delete_secret(system.as_str())?;
        }
        Ok(schooldesk_cache::reset(data_dir, &keychain)?)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// True for the demo profile ([`Desk::open_demo`]).
    pub fn is_demo(&self) -> bool {
        self.demo
    }

    pub fn cache(&self) -> &Arc<Cache> {
        &self.cache
    }

    pub fn keychain(&self) -> &Keychain {
        &self.keychain
    }

    /// Saves a connection and puts its secret in the keychain. Nothing is saved when the
    /// address or the secret is unusable, or when writes wait for the old address (see
    /// [`Desk::connect_with`]).
    pub fn connect(&self, connection: &Connection, secret: &str, now: DateTime<Utc>) -> Result<()> {
        self.connect_with(connection, secret, now, PendingWrites::Refuse)
    }

    /// [`Desk::connect`], saying what to do with writes still waiting for the old address
    /// when the address changes.
    pub fn connect_with(
        &self,
        connection: &Connection,
        secret: &str,
        now: DateTime<Utc>,
        pending: PendingWrites,
    ) -> Result<()> {
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(DeskError::InvalidInput(format!(
                "No secret was given for {}. Type or pipe the API key (or client secret); it is \
                 kept in the keychain, never on the command line.",
                connection.system.display_name()
            )));
        }
        validate(connection)?;
        if self.demo && !is_loopback_url(&connection.base_url) {
            return Err(DeskError::InvalidInput(format!(
                "This is the demo profile: it connects only to the demo district on this \
                 computer. Connect {} without --demo (the demo data stays apart). Nothing was saved.",
                connection.system.display_name()
            )));
        }
        let settings = schooldesk_cache::ConnectionSettings {
            system: connection.system,
            base_url: connection.base_url.trim_end_matches('/').to_string(),
            realm: connection.realm.clone(),
            client_id: connection.client_id.clone(),
            settings: serde_json::to_value(&connection.settings).map_err(CacheError::from)?,
            learning_support_enabled: connection.learning_support_enabled,
            medical_alerts_enabled: connection.medical_alerts_enabled,
            updated_at: now,
        };
        let previous = self.cache.connection(connection.system)?;
        let moved = previous
            .as_ref()
            .is_some_and(|p| p.base_url != settings.base_url);
        if moved {
            let waiting = self.cache.open_writes(connection.system)?;
            if waiting > 0 {
                match pending {
                    PendingWrites::Refuse => {
                        return Err(DeskError::PendingWritesOnAddressChange {
                            system: connection.system.display_name(),
                            pending: waiting,
                            old: previous.map(|p| p.base_url).unwrap_or_default(),
                        })
                    }
                    PendingWrites::SendToNew => {}
                    PendingWrites::Discard => {
                        self.cache.set_aside_open_writes(
                            connection.system,
                            "Not sent: the address of this system was changed and the person \
                             chose to discard the writes meant for the old one.",
                            now,
                        )?;
                    }
                }
            }
        }
        self.keychain
            .set_secret(connection.system.as_str(), secret)?;
        self.cache.save_connection(&settings)?;
        // Another server: the sync positions of the old one say nothing about the new one.
        if moved {
            self.cache.clear_sync_state(connection.system, None)?;
        }
        // The connection was fixed: writes held for its sake are due again.
        self.cache.release_held(connection.system, now)?;
        Ok(())
    }

    /// A client for a saved connection, pacing itself in real time.
    pub fn connector(&self, system: System) -> Result<Connector> {
        let (connection, secret) = self.connection(system)?;
        self.paced_connector(&connection, Secret::new(secret.as_str()))
    }

    /// Checks that a system answers and accepts the secret, before it is saved. The check
    /// counts against the system's limit like any request of this data folder's syncs.
    pub async fn verify(&self, connection: &Connection, secret: &str) -> Result<()> {
        validate(connection)?;
        let connector = self.paced_connector(connection, Secret::new(secret.trim()))?;
        Ok(connector.verify().await?)
    }

    /// A real-time client whose pacing is shared, through a file in the data folder, with
    /// every other window or command using this folder: a system's limit is per key, not
    /// per process.
    fn paced_connector(&self, connection: &Connection, secret: Secret) -> Result<Connector> {
        let mut limits = connection.limits();
        if self.demo {
            // The demo profile talks only to the simulators on this computer, configured with
            // the rate the demo asks for: it shows the district, not Matrix's lockout. Real
            // connections are clamped to each system's documented ceiling, whatever address.
            if let Some(n) = connection.settings.requests_per_minute {
                limits.per_window = Some(n.max(1));
                limits.bucket = None;
            }
        }
        let path = schooldesk_connectors::pace::pace_file(&self.data_dir, connection.system);
        let limiter = schooldesk_connectors::Limiter::shared(limits.clone(), &path)
            .unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), error = %e, "cannot open the shared pacing file; this process paces alone");
                schooldesk_connectors::Limiter::new(limits)
            });
        Ok(Connector::with_limiter(
            connection,
            secret,
            Arc::new(schooldesk_connectors::RealPace),
            limiter,
        )?)
    }

    /// Sends every queued write that is due, in order per entity, each exactly once.
    /// Systems that are not connected, or not reachable, keep their writes for later.
    pub async fn replay(&self) -> Result<crate::replay::ReplayReport> {
        self.replay_until(&CancellationToken::new()).await
    }

    /// [`Desk::replay`], stopping cleanly when `cancel` fires: the write in flight is
    /// finished, the rest wait for the next replay.
    pub async fn replay_until(
        &self,
        cancel: &CancellationToken,
    ) -> Result<crate::replay::ReplayReport> {
        let desk = self.clone();
        let (lock, senders) = blocking(move || {
            let lock = desk.replay_lock()?;
            // One system's missing secret (or broken settings) must not stop the others'
            // writes: its entries stay queued and say why.
            let mut senders = BTreeMap::new();
            for connection in desk.connections()? {
                match desk.connector(connection.system) {
                    Ok(c) => {
                        senders.insert(connection.system, c);
                    }
                    Err(e) => {
                        tracing::warn!(system = %connection.system, error = %e.user_message(), "cannot send this system's writes")
                    }
                }
            }
            Ok((lock, senders))
        })
        .await?;
        // Jitter only spreads retries out; it needs no secrecy. `StdRng` (unlike the
        // thread-local generator) can cross threads with the replay.
        let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_entropy();
        let report = crate::replay::replay(&self.cache, &senders, cancel, Utc::now, move || {
            rand::Rng::gen::<f64>(&mut rng)
        })
        .await;
        drop(lock);
        report
    }

    /// One sender at a time per cache (the app and a script could both try): an entry being
    /// sent must not be claimed again by a second process. The OS drops the lock when its
    /// holder dies, so a killed replay never blocks the next.
    fn replay_lock(&self) -> Result<std::fs::File> {
        let lock_path = self.data_dir.join("replay.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| DeskError::DataDir {
                path: lock_path.clone(),
                source,
            })?;
        match lock.try_lock() {
            Ok(()) => Ok(lock),
            Err(std::fs::TryLockError::WouldBlock) => Err(DeskError::Busy(
                "Another Schooldesk window or command is sending the outbox right now; \
                 try again in a moment.",
            )),
            Err(std::fs::TryLockError::Error(source)) => Err(DeskError::DataDir {
                path: lock_path,
                source,
            }),
        }
    }

    /// The connections named (all when `systems` is empty), each with a real-time client.
    fn connectors(&self, systems: &[System]) -> Result<Vec<(Connector, Connection)>> {
        let connections = self.connections()?;
        for &system in systems {
            if !connections.iter().any(|c| c.system == system) {
                return Err(DeskError::NotConnected(
                    system.display_name(),
                    system.as_str(),
                ));
            }
        }
        if connections.is_empty() {
            // A lean build has no demo district to offer.
            let demo = if cfg!(feature = "demo") {
                ", or try the demo district with `schooldesk demo`"
            } else {
                ""
            };
            return Err(DeskError::InvalidInput(format!(
                "No school system is connected yet. Connect one with `schooldesk connect`{demo}."
            )));
        }
        connections
            .into_iter()
            .filter(|c| systems.is_empty() || systems.contains(&c.system))
            .map(|c| Ok((self.connector(c.system)?, c)))
            .collect()
    }

    /// What a sync of `systems` (all when empty) will cost: requests, and the least time the
    /// rate limits impose.
    pub fn estimate(&self, systems: &[System], mode: SyncMode) -> Result<Vec<Estimate>> {
        self.connectors(systems)?
            .iter()
            .map(|(_, c)| Ok(crate::estimate::for_connection(&self.cache, c, mode, None)?))
            .collect()
    }

    /// Syncs `systems` (all connected ones when empty) into the cache, each within its own
    /// rate limits, reporting progress as pages are stored. An interrupted sync resumes
    /// where it stopped next time.
    pub async fn sync(
        &self,
        systems: &[System],
        mode: SyncMode,
        on_progress: impl Fn(&Progress) + Send + Sync + 'static,
    ) -> Result<SyncReport> {
        let ctx = SyncContext {
            cancel: CancellationToken::new(),
            progress: Some(Arc::new(on_progress)),
        };
        self.sync_with(systems, mode, &ctx).await
    }

    /// [`Desk::sync`] with a context of the caller's (the engine's cancellation token).
    pub async fn sync_with(
        &self,
        systems: &[System],
        mode: SyncMode,
        ctx: &SyncContext,
    ) -> Result<SyncReport> {
        let desk = self.clone();
        let systems_owned = systems.to_vec();
        let pairs = blocking(move || desk.connectors(&systems_owned)).await?;
        let report = crate::pull::sync_all(&self.cache, &pairs, mode, ctx).await;
        // How each system's sync ended, for `status` and the Today screen (the sync is done
        // whatever happens here, so a failure to note it is only logged).
        let (desk, kept) = (self.clone(), report.clone());
        if let Err(e) = blocking(move || desk.remember_sync(&kept, Utc::now())).await {
            tracing::warn!(error = %e.user_message(), "could not keep the sync outcome");
        }
        Ok(report)
    }

    /// Removes the rows held back by the removal guardrail for `systems` (all when empty)
    /// that are still missing from their system: a person has checked and confirms. Returns
    /// the rows removed per system.
    pub fn confirm_removals(&self, systems: &[System]) -> Result<BTreeMap<System, u64>> {
        let mut removed = BTreeMap::new();
        for c in self.connections()? {
            if systems.is_empty() || systems.contains(&c.system) {
                removed.insert(c.system, self.cache.confirm_held_removals(c.system)?);
            }
        }
        Ok(removed)
    }

    /// The saved connections, in system order.
    pub fn connections(&self) -> Result<Vec<Connection>> {
        self.cache
            .connections()?
            .into_iter()
            .map(|c| connection_from_row(&c))
            .collect()
    }

    /// One saved connection and its secret.
    pub fn connection(&self, system: System) -> Result<(Connection, zeroize::Zeroizing<String>)> {
        let row = self
            .cache
            .connection(system)?
            .ok_or(DeskError::NotConnected(
                system.display_name(),
                system.as_str(),
            ))?;
        let secret = self
            .keychain
            .get_secret(system.as_str())?
            .ok_or(DeskError::SecretMissing(system.display_name()))?;
        Ok((connection_from_row(&row)?, secret))
    }

    /// Students from the cache; `search` matches the start of name words or the external id.
    ///
    /// Systems name a student's homeroom by its section id; people know it by its name, so
    /// `homeroom` comes back as the section's name where the cache has that section.
    pub fn students(&self, search: Option<&str>, limit: Option<usize>) -> Result<Vec<Student>> {
        let mut students = self.cache.students(&StudentQuery {
            search: search.map(str::to_string).filter(|s| !s.trim().is_empty()),
            limit,
            ..StudentQuery::default()
        })?;
        let mut names: BTreeMap<(System, String), Option<String>> = BTreeMap::new();
        for s in &mut students {
            let Some(id) = s.homeroom.clone() else {
                continue;
            };
            let key = (s.source.system, id);
            if !names.contains_key(&key) {
                let name = self.cache.section(key.0, &key.1)?.map(|sec| sec.name);
                names.insert(key.clone(), name);
            }
            if let Some(Some(name)) = names.get(&key) {
                s.homeroom = Some(name.clone());
            }
        }
        Ok(students)
    }

    pub fn status(&self) -> Result<Status> {
        let connections = self
            .connections()?
            .into_iter()
            .map(|c| ConnectionInfo {
                system: c.system,
                base_url: c.base_url,
                realm: c.realm,
                client_id: c.client_id,
                requests_per_minute: c.settings.requests_per_minute,
                learning_support_enabled: c.learning_support_enabled,
            })
            .collect();
        Ok(Status {
            data_dir: self.data_dir.clone(),
            schema_version: self.cache.schema_version()?,
            connections,
            counts: self.cache.counts()?,
            outbox: self.cache.outbox_counts()?,
        })
    }

    /// Every mark of `date` (optionally one section's, in any system), synced or not: the
    /// register as the desk knows it.
    pub fn register(&self, date: NaiveDate, section: Option<&str>) -> Result<Vec<AttendanceMark>> {
        let marks = self.cache.attendance_marks(date, None)?;
        Ok(match section {
            Some(section) => marks
                .into_iter()
                .filter(|m| m.section_source_id.as_deref() == Some(section))
                .collect(),
            None => marks,
        })
    }

    pub fn outbox(&self, state: Option<OutboxState>) -> Result<Vec<OutboxEntry>> {
        Ok(self.cache.outbox_list(state)?)
    }

    /// Finds the student a person means: `system:id`; an id in a system that takes
    /// attendance writes first (OmniForge), else any system; then the external id.
    pub fn find_student(&self, id: &str) -> Result<Student> {
        let id = id.trim();
        // `system:id`, as the read commands print it.
        if let Some((system, rest)) = id.split_once(':') {
            if let Ok(system) = system.parse::<System>() {
                return self.cache.student(system, rest)?.ok_or_else(|| {
                    DeskError::InvalidInput(format!(
                        "There is no student '{rest}' in {} in the cache. Find the id with \
                         `schooldesk students --search NAME`, or sync first. Nothing was saved.",
                        system.display_name()
                    ))
                });
            }
        }
        let order = [
            System::OmniForge,
            System::Hubmis,
            System::Matrix,
            System::PowerSchool,
        ];
        for system in order {
            if let Some(s) = self.cache.student(system, id)? {
                return Ok(s);
            }
        }
        let by_external: Vec<Student> = self
            .cache
            .students(&StudentQuery {
                search: Some(id.to_string()),
                ..StudentQuery::default()
            })?
            .into_iter()
            .filter(|s| s.external_id.as_deref() == Some(id))
            .collect();
        order
            .into_iter()
            .find_map(|sys| by_external.iter().find(|s| s.source.system == sys).cloned())
            .ok_or_else(|| {
                DeskError::InvalidInput(format!(
                    "There is no student '{id}' in the cache. Find the id with \
                     `schooldesk students --search NAME`, or sync first. Nothing was saved."
                ))
            })
    }

    /// Takes one mark: saved at once (pending), and queued for the system when it takes
    /// writes. HUBmis marks are kept here only and exported as a register.
    pub fn mark_attendance(
        &self,
        req: &MarkRequest,
        now: DateTime<Utc>,
        idempotency_key: Uuid,
    ) -> Result<(AttendanceMark, Option<OutboxEntry>)> {
        let student = self.find_student(&req.student)?;
        let new = NewAttendance {
            system: student.source.system,
            student_source_id: student.source.source_id.clone(),
            section_source_id: req.section.clone(),
            period: req.period.clone(),
            date: req.date,
            status: req.status,
            code: self.checked_code(student.source.system, req.code.as_deref())?,
            note: req.note.clone(),
            minutes_late: req.minutes_late,
        };
        Ok(self.cache.record_attendance(&new, now, idempotency_key)?)
    }
}

/// Runs blocking cache and keychain work off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DeskError::Internal(format!("a background task stopped: {e}")))?
}

/// Where the demo profile of a data folder lives.
pub fn demo_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("demo")
}

fn is_loopback_url(base_url: &str) -> bool {
    url::Url::parse(base_url).is_ok_and(|u| schooldesk_connectors::http::is_loopback(&u))
}

/// What a connection needs before anything is saved.
fn validate(connection: &Connection) -> Result<()> {
    schooldesk_connectors::http::check_base_url(connection.system, &connection.base_url)?;
    if let Some(zone) = &connection.settings.time_zone {
        crate::pull::school_zone(zone)
            .map_err(|e| DeskError::InvalidInput(format!("{e} Nothing was saved.")))?;
    }
    if connection.system == System::Hubmis {
        let missing = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if missing(&connection.realm) || missing(&connection.client_id) {
            return Err(DeskError::InvalidInput(
                "HUBmis needs the school's realm and the client id: add --realm R --client-id ID \
                 (your HUBmis administrator has both). Nothing was saved."
                    .into(),
            ));
        }
    }
    Ok(())
}

fn connection_from_row(row: &schooldesk_cache::ConnectionSettings) -> Result<Connection> {
    let settings: ConnectionSettings = if row.settings.is_null() {
        ConnectionSettings::default()
    } else {
        serde_json::from_value(row.settings.clone()).map_err(CacheError::from)?
    };
    Ok(Connection {
        system: row.system,
        base_url: row.base_url.clone(),
        realm: row.realm.clone(),
        client_id: row.client_id.clone(),
        settings,
        learning_support_enabled: row.learning_support_enabled,
        medical_alerts_enabled: row.medical_alerts_enabled,
    })
}

/// The cache is encrypted, but its folder is nobody else's business either.
fn restrict_to_owner(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    }
    #[cfg(not(unix))]
    let _ = dir;
}
