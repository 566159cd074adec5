//! Settings and first run: the connections (list, test, save, remove), where the data
//! lives, wiping the cache and its key, and first run's "Try with demo data".
//!
//! Connections are always the real profile's: while the demo runs, Settings still shows
//! and changes the school's own connections, and saving the first one leaves the demo.
//! The learning-support choice and the school's time zone are options of each connection
//! (kept with it in the cache), so there is no separate preferences store.

use std::path::Path;
use std::time::Duration;

use chrono::Utc;
use schooldesk_cache::{Cache, Keychain, KEYCHAIN_SERVICE};
use schooldesk_connectors::Connection;
use schooldesk_domain::System;
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::{Desk, DeskError, PendingWrites};
use tauri::{AppHandle, Manager, Runtime, State};
use zeroize::Zeroizing;

use crate::error::AppError;
use crate::ipc::{
    AppStatus, ConnectionInput, ConnectionTest, ConnectionView, DataLocation, ErrorPayload,
    EstimateView, SyncPhase, SystemId, WIPE_PHRASE,
};
use crate::{set_phase, start_engine, Profile, Shell, DEMO_CHOSEN_FILE};

/// The longest secret accepted: real keys are far shorter; anything longer is a paste gone wrong.
const MAX_SECRET_CHARS: usize = 4096;

fn refused(code: &str, message: String) -> AppError {
    AppError::Refused(ErrorPayload {
        code: code.into(),
        message,
        retryable: false,
    })
}

fn invalid(message: String) -> AppError {
    AppError::Desk(DeskError::InvalidInput(message))
}

/// Blocking cache and keychain work, off the async runtime.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tauri::async_runtime::spawn_blocking(f).await?
}

fn secret_label(system: System) -> &'static str {
    match system {
        System::Hubmis => "client secret",
        System::OmniForge | System::PowerSchool | System::Matrix => "API key",
    }
}

fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// The pace the connector keeps to for `system`, in words, from its own limits.
fn rate_limit_in_words(system: System, per_minute: Option<u32>) -> String {
    let limits = schooldesk_connectors::connection::default_limits(system, per_minute);
    let mut words = match limits.per_window {
        Some(n) => format!(
            "At most {n} requests every {}",
            schooldesk_sync::estimate::human_duration(limits.window)
        )
        .replace("every 60 s", "a minute"),
        None => "No published limit: Schooldesk sends one request at a time".to_string(),
    };
    if let Some(bucket) = limits.bucket {
        words.push_str(&format!(
            ", and no more than {} in a burst (one more every {})",
            bucket.capacity,
            schooldesk_sync::estimate::human_duration(bucket.refill_every)
        ));
    }
    if system == System::Matrix {
        words.push_str("; above that Matrix locks the key out for a minute");
    }
    words.push('.');
    words
}

/// Settings and first run's view of `system` (connected or not).
fn view(
    system: System,
    saved: Option<&Connection>,
    has_secret: bool,
    updated_at: Option<String>,
) -> ConnectionView {
    ConnectionView {
        system: system.into(),
        system_name: system.display_name().to_string(),
        connected: saved.is_some(),
        base_url: saved.map(|c| c.base_url.clone()),
        account: saved.and_then(|c| c.client_id.clone()),
        realm: saved.and_then(|c| c.realm.clone()),
        has_secret,
        secret_label: capitalised(secret_label(system)),
        uses_account: system == System::Hubmis,
        uses_realm: system == System::Hubmis,
        rate_limit: Some(rate_limit_in_words(
            system,
            saved.and_then(|c| c.settings.requests_per_minute),
        )),
        requests_per_minute: saved.and_then(|c| c.settings.requests_per_minute),
        learning_support: saved.is_some_and(|c| c.learning_support_enabled),
        medical_alerts: saved.is_some_and(|c| c.medical_alerts_enabled),
        time_zone: saved.and_then(|c| c.settings.time_zone.clone()),
        updated_at,
    }
}

/// Every system, in order, as `desk` holds it (none connected without a desk).
fn views(desk: Option<&Desk>) -> Result<Vec<ConnectionView>, AppError> {
    let mut out = Vec::new();
    for system in System::ALL {
        let Some(desk) = desk else {
            out.push(view(system, None, false, None));
            continue;
        };
        out.push(one_view(desk, system)?);
    }
    Ok(out)
}

fn one_view(desk: &Desk, system: System) -> Result<ConnectionView, AppError> {
    let row = desk.cache().connection(system).map_err(DeskError::from)?;
    let saved = desk.connections()?.into_iter().find(|c| c.system == system);
    let has_secret = match &saved {
        Some(_) => desk
            .keychain()
            .get_secret(system.as_str())
            .map_err(DeskError::from)?
            .is_some(),
        None => false,
    };
    Ok(view(
        system,
        saved.as_ref(),
        has_secret,
        row.map(|r| r.updated_at.to_rfc3339()),
    ))
}

/// The words of an optional field, trimmed; blank is none.
fn given(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// The fastest pace a person may ask for: above every documented limit, so a number this
/// high only means "the system's own"; anything above is a typing slip.
const MAX_REQUESTS_PER_MINUTE: u32 = 600;

/// The connection `input` describes, on top of what is saved for its system: what the form
/// does not show (pacing, timeouts, the academic year, medical alerts) is kept.
fn connection_from(
    input: &ConnectionInput,
    saved: Option<Connection>,
) -> Result<Connection, AppError> {
    let system: System = input.system.into();
    let name = system.display_name();
    let base_url = input.base_url.trim();
    if base_url.is_empty() {
        return Err(invalid(format!(
            "Type the address of {name} (for example https://sis.your-district.org); your \
             district's IT staff have it. Nothing was saved."
        )));
    }
    schooldesk_connectors::http::check_base_url(system, base_url).map_err(DeskError::from)?;
    let account = given(&input.account);
    let realm = given(&input.realm);
    if system == System::Hubmis {
        if account.is_none() || realm.is_none() {
            return Err(invalid(
                "HUBmis needs the school's realm and the client id as well as the client \
                 secret; your HUBmis administrator has all three. Nothing was saved."
                    .into(),
            ));
        }
    } else if account.is_some() || realm.is_some() {
        return Err(invalid(format!(
            "{name} signs in with its {} alone: leave the account and realm empty. Nothing \
             was saved.",
            secret_label(system)
        )));
    }
    let time_zone = match &input.time_zone {
        None => None,
        Some(zone) if zone.trim().is_empty() => Some(None),
        Some(zone) => {
            let zone = zone.trim();
            zone.parse::<chrono_tz::Tz>().map_err(|_| {
                invalid(format!(
                    "'{zone}' is not a time zone name. Use the IANA name of the school's zone, \
                     such as America/Chicago or Europe/London. Nothing was saved."
                ))
            })?;
            Some(Some(zone.to_string()))
        }
    };
    let pace = match input.requests_per_minute {
        None => None,
        Some(0) => Some(None),
        Some(n) if n <= MAX_REQUESTS_PER_MINUTE => Some(Some(n)),
        Some(n) => {
            return Err(invalid(format!(
                "{n} requests a minute is more than any school system here allows. Leave the \
                 pace empty to use {name}'s own limit, or give a smaller number. Nothing was \
                 saved."
            )))
        }
    };
    let mut connection = saved.unwrap_or_else(|| Connection::new(system, base_url));
    connection.base_url = base_url.trim_end_matches('/').to_string();
    connection.client_id = account;
    connection.realm = realm;
    if let Some(on) = input.learning_support {
        connection.learning_support_enabled = on;
    }
    if let Some(zone) = time_zone {
        connection.settings.time_zone = zone;
    }
    if let Some(pace) = pace {
        connection.settings.requests_per_minute = pace;
    }
    Ok(connection)
}

/// The connection and secret to test or save: the typed secret, or (left empty, for a
/// connected system) the one in the keychain. Reads the cache and keychain: run off the
/// async runtime.
fn prepare(
    desk: &Desk,
    input: &ConnectionInput,
) -> Result<(Connection, Zeroizing<String>), AppError> {
    let system: System = input.system.into();
    let saved = desk.connections()?.into_iter().find(|c| c.system == system);
    let was_connected = saved.is_some();
    let connection = connection_from(input, saved)?;
    let typed = input.secret.trim();
    let secret = if typed.is_empty() {
        let stored = if was_connected {
            desk.keychain()
                .get_secret(system.as_str())
                .map_err(DeskError::from)?
        } else {
            None
        };
        stored.ok_or_else(|| {
            invalid(format!(
                "Type the {} of {}; Schooldesk keeps it in this computer's keychain. Nothing \
                 was saved.",
                secret_label(system),
                system.display_name()
            ))
        })?
    } else {
        if typed.chars().count() > MAX_SECRET_CHARS || typed.chars().any(char::is_control) {
            return Err(invalid(format!(
                "The {} of {} has a line break or other invisible character in it (or is far \
                 too long): copy it again from where it was issued and paste it alone. \
                 Nothing was saved.",
                secret_label(system),
                system.display_name()
            )));
        }
        Zeroizing::new(typed.to_string())
    };
    Ok((connection, secret))
}

impl Shell {
    /// The real profile's desk, opened again (a new, empty cache) after a wipe.
    async fn real_desk(&self) -> Result<Desk, AppError> {
        if let Some(desk) = self.real.lock().expect("real lock poisoned").clone() {
            return Ok(desk);
        }
        let dir = self.data_dir.clone();
        let desk = blocking(move || Ok(Desk::open(&dir)?)).await?;
        *self.real.lock().expect("real lock poisoned") = Some(desk.clone());
        Ok(desk)
    }

    /// The real profile's desk when it is open or its cache exists; `None` rather than
    /// creating a cache (and key) just to show that nothing is connected.
    async fn existing_real_desk(&self) -> Result<Option<Desk>, AppError> {
        let open = self.real.lock().expect("real lock poisoned").is_some();
        if open || Cache::db_path(&self.data_dir).exists() {
            return self.real_desk().await.map(Some);
        }
        Ok(None)
    }

    fn set_profile(&self, profile: Profile) {
        *self.profile.lock().expect("profile lock poisoned") = profile;
    }

    /// Stops the engine (syncs stop at their next request, the write in flight is
    /// finished) and the demo district, if they run.
    async fn stop(&self) {
        let engine = self.engine.lock().expect("engine lock poisoned").take();
        if let Some(engine) = engine {
            engine.shutdown().await;
        }
        #[cfg(feature = "demo")]
        {
            let district = self
                .demo_district
                .lock()
                .expect("demo lock poisoned")
                .take();
            if let Some(district) = district {
                district.sims.shutdown();
            }
        }
    }
}

/// Moves the window to the school's own desk (its first connection was just saved, or the
/// app was in the demo or wiped): the demo stops, the engine starts and syncs at once.
async fn activate_real<R: Runtime>(app: &AppHandle<R>, desk: Desk) {
    let shell = app.state::<Shell>();
    shell.stop().await;
    shell.set_profile(Profile {
        desk: Ok(desk.clone()),
        demo: false,
        first_run: false,
    });
    start_engine(app, desk, true).await;
    set_phase(app, SyncPhase::Ready);
}

fn app_status_now<R: Runtime>(app: &AppHandle<R>) {
    use tauri::Emitter;
    let _ = app.emit(
        crate::ipc::events::APP_STATUS,
        app.state::<Shell>().status(),
    );
}

/// Every system, connected or not, as Settings and first run list them (never a secret).
#[tauri::command]
pub async fn list_connections(shell: State<'_, Shell>) -> Result<Vec<ConnectionView>, AppError> {
    let desk = shell.existing_real_desk().await?;
    blocking(move || views(desk.as_ref())).await
}

/// "Test": runs the system's cheapest call with the connection as typed (not saved), and
/// says what the first sync will take. Nothing is saved, whatever the answer.
#[tauri::command]
pub async fn test_connection(
    shell: State<'_, Shell>,
    connection: ConnectionInput,
) -> Result<ConnectionTest, AppError> {
    let desk = shell.real_desk().await?;
    let d = desk.clone();
    let (connection, secret) = blocking(move || prepare(&d, &connection)).await?;
    let system = connection.system;
    match desk.verify(&connection, &secret).await {
        Ok(()) => {
            let d = desk.clone();
            let estimate = blocking(move || {
                Ok(schooldesk_sync::estimate::for_connection(
                    d.cache(),
                    &connection,
                    SyncMode::Full,
                    None,
                )
                .map_err(DeskError::from)?)
            })
            .await
            .ok()
            .map(EstimateView::from);
            Ok(ConnectionTest {
                ok: true,
                message: format!(
                    "{} answered and accepted the {}. Save to connect it.",
                    system.display_name(),
                    secret_label(system)
                ),
                error: None,
                estimate,
            })
        }
        Err(e @ DeskError::Connector(_)) => {
            let payload = AppError::from(e).payload();
            Ok(ConnectionTest {
                ok: false,
                message: payload.message.clone(),
                error: Some(payload),
                estimate: None,
            })
        }
        Err(other) => Err(other.into()),
    }
}

/// "Save": checks the connection with the system first, then keeps it (the secret in the
/// keychain, never in the cache), releases writes held for its sake, and syncs it at once.
/// From first run or the demo, this moves the window to the school's own desk. Refused,
/// with nothing saved, when the system does not accept it or when writes wait for an old
/// address.
#[tauri::command]
pub async fn save_connection<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    connection: ConnectionInput,
) -> Result<ConnectionView, AppError> {
    let _one_at_a_time = shell.switching.lock().await;
    let desk = shell.real_desk().await?;
    let d = desk.clone();
    let (connection, secret) = blocking(move || prepare(&d, &connection)).await?;
    desk.verify(&connection, &secret).await?;
    let system = connection.system;
    let (d, data_dir) = (desk.clone(), shell.data_dir.clone());
    let saved = blocking(move || {
        d.connect_with(&connection, &secret, Utc::now(), PendingWrites::Refuse)
            .map_err(|e| match e {
                DeskError::PendingWritesOnAddressChange {
                    system,
                    pending,
                    old,
                } => refused(
                    "desk.pending_writes",
                    format!(
                        "{system} has {pending} write(s) waiting to be sent to {old}. Send or \
                         discard them in the Outbox first, or keep the old address. Nothing \
                         was changed."
                    ),
                ),
                other => other.into(),
            })?;
        // A school is connected now: the next start opens its desk, not the demo.
        let _ = std::fs::remove_file(data_dir.join(DEMO_CHOSEN_FILE));
        one_view(&d, system)
    })
    .await?;
    let profile = shell.profile();
    let engine = shell.engine().ok();
    match engine {
        Some(engine) if !profile.demo && profile.desk.is_ok() => {
            // A new system joins the engine's schedule when it sees the connection; a
            // changed one is synced now.
            engine.sync_now(vec![system], SyncMode::Incremental);
            if profile.first_run {
                shell.set_profile(Profile {
                    first_run: false,
                    ..profile
                });
                app_status_now(&app);
            }
        }
        _ => activate_real(&app, desk).await,
    }
    Ok(saved)
}

/// "Remove": forgets how to reach a system and deletes its secret from the keychain. What
/// the cache holds from it stays (shown as before, no longer synced) until the cache is
/// wiped, except learning-support records and medical conditions, which only the
/// connection's choice kept. Refused while writes for it wait to be sent.
#[tauri::command]
pub async fn remove_connection<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    system: SystemId,
) -> Result<(), AppError> {
    let _one_at_a_time = shell.switching.lock().await;
    let system: System = system.into();
    let Some(desk) = shell.existing_real_desk().await? else {
        return Err(not_connected(system));
    };
    let none_left = blocking(move || {
        let cache = desk.cache();
        if cache.connection(system).map_err(DeskError::from)?.is_none() {
            return Err(not_connected(system));
        }
        let waiting = cache.open_writes(system).map_err(DeskError::from)?;
        if waiting > 0 {
            return Err(refused(
                "shell.writes_waiting",
                format!(
                    "{} has {waiting} write(s) not yet sent or waiting for a decision. Send or \
                     discard them in the Outbox first. Nothing was removed.",
                    system.display_name()
                ),
            ));
        }
        cache.remove_connection(system).map_err(DeskError::from)?;
        desk.keychain()
            .delete_secret(system.as_str())
            .map_err(DeskError::from)?;
        Ok(desk.connections()?.is_empty())
    })
    .await?;
    let profile = shell.profile();
    if none_left && !profile.demo && !profile.first_run {
        shell.set_profile(Profile {
            first_run: true,
            ..profile
        });
        app_status_now(&app);
    }
    Ok(())
}

fn not_connected(system: System) -> AppError {
    refused(
        "shell.not_connected",
        format!(
            "{} is not connected, so there is nothing to remove.",
            system.display_name()
        ),
    )
}

/// The cache file and its write-ahead log, in bytes (0 when not created yet).
fn cache_bytes(data_dir: &Path) -> u64 {
    let db = Cache::db_path(data_dir);
    ["", "-wal", "-shm"]
        .iter()
        .map(|suffix| {
            let mut name = db.clone().into_os_string();
            name.push(suffix);
            std::fs::metadata(&name).map_or(0, |m| m.len())
        })
        .sum()
}

/// Where the data of the desk in use lives: folder, cache file and size, and the keychain
/// entry holding its key.
#[tauri::command]
pub async fn data_location(shell: State<'_, Shell>) -> Result<DataLocation, AppError> {
    let demo = shell.profile().demo;
    let dir = if demo {
        schooldesk_sync::desk::demo_dir(&shell.data_dir)
    } else {
        shell.data_dir.clone()
    };
    blocking(move || {
        let keychain = Keychain::for_data_dir(&dir);
        Ok(DataLocation {
            data_dir: dir.display().to_string(),
            cache_file: Cache::db_path(&dir).display().to_string(),
            bytes: cache_bytes(&dir),
            keychain_entry: format!("{KEYCHAIN_SERVICE}/{}", keychain.cache_key_account()),
            demo,
        })
    })
    .await
}

/// Writes in the school's cache not yet sent (queued, failed, held or in conflict); `None`
/// when the cache cannot be read (a lost key: then nothing can be sent anyway).
async fn unsent_writes(shell: &Shell) -> Option<u64> {
    let desk = shell.existing_real_desk().await.ok().flatten()?;
    blocking(move || {
        let counts = desk.cache().outbox_counts().map_err(DeskError::from)?;
        Ok(counts
            .iter()
            .filter(|(state, _)| !matches!(**state, "done" | "discarded"))
            .map(|(_, n)| n)
            .sum())
    })
    .await
    .ok()
}

/// "Wipe": deletes the school's cache and its key (and the demo's), with every write not
/// yet sent, then shows first run. Refused unless `confirm` is [`WIPE_PHRASE`]; the refusal
/// says how many writes would be lost.
#[tauri::command]
pub async fn wipe_cache<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    confirm: String,
) -> Result<(), AppError> {
    let _one_at_a_time = shell.switching.lock().await;
    if confirm.trim() != WIPE_PHRASE {
        let lost = match unsent_writes(&shell).await {
            Some(0) | None => String::new(),
            Some(n) => format!(
                "{n} write(s) not yet sent would be lost with it: send them first (Send now) \
                 if they matter. "
            ),
        };
        return Err(refused(
            "shell.wipe_unconfirmed",
            format!(
                "{lost}Nothing was deleted. To delete the cache, its key and everything in \
                 them, type \"{WIPE_PHRASE}\" exactly."
            ),
        ));
    }
    shell.stop().await;
    let held: Vec<Desk> = [
        shell.profile().desk.ok(),
        shell.real.lock().expect("real lock poisoned").take(),
    ]
    .into_iter()
    .flatten()
    .collect();
    shell.set_profile(Profile {
        desk: Err(first_run_payload()),
        demo: false,
        first_run: true,
    });
    let data_dir = shell.data_dir.clone();
    blocking(move || {
        // A command still reading holds the cache open a moment longer; on Windows an open
        // file cannot be deleted.
        for _ in 0..100 {
            if held
                .iter()
                .all(|d| std::sync::Arc::strong_count(d.cache()) <= 1)
            {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(held);
        Desk::reset(&data_dir)?;
        let demo = schooldesk_sync::desk::demo_dir(&data_dir);
        if demo.exists() {
            Desk::reset(&demo)?;
        }
        let _ = std::fs::remove_file(data_dir.join(DEMO_CHOSEN_FILE));
        Ok(())
    })
    .await?;
    set_phase(&app, SyncPhase::Ready);
    Ok(())
}

/// What the screens' reads answer between a wipe and the next connection or demo.
fn first_run_payload() -> ErrorPayload {
    ErrorPayload {
        code: "shell.first_run".into(),
        message: "Nothing is connected yet. Connect a school system in Settings, or try the \
                  demo data."
            .into(),
        retryable: false,
    }
}

/// First run's "Try with demo data": runs the demo district in its own profile, and
/// remembers the choice so the next start goes straight to it. Refused once a school system
/// is connected (the demo is for trying Schooldesk first).
#[tauri::command]
pub async fn choose_demo<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
) -> Result<AppStatus, AppError> {
    #[cfg(not(feature = "demo"))]
    {
        let _ = (&app, &shell);
        Err(refused(
            "shell.no_demo",
            "This build of Schooldesk has no demo district. Connect a school system instead."
                .into(),
        ))
    }
    #[cfg(feature = "demo")]
    {
        let _one_at_a_time = shell.switching.lock().await;
        if shell.profile().demo {
            return Ok(shell.status());
        }
        if let Some(real) = shell.existing_real_desk().await.ok().flatten() {
            let connected = blocking(move || Ok(real.connections()?)).await?;
            if !connected.is_empty() {
                let names: Vec<&str> = connected.iter().map(|c| c.system.display_name()).collect();
                return Err(refused(
                    "shell.connected",
                    format!(
                        "The demo is for trying Schooldesk before connecting a school system, \
                         and {} is connected already. Nothing was changed.",
                        names.join(" and ")
                    ),
                ));
            }
        }
        let data_dir = shell.data_dir.clone();
        let demo = blocking(move || {
            let _ = std::fs::create_dir_all(&data_dir);
            std::fs::write(data_dir.join(DEMO_CHOSEN_FILE), b"").map_err(|source| {
                DeskError::DataDir {
                    path: data_dir.clone(),
                    source,
                }
            })?;
            Ok(Desk::open_demo(&data_dir)?)
        })
        .await?;
        shell.stop().await;
        shell.set_profile(Profile {
            desk: Ok(demo.clone()),
            demo: true,
            first_run: false,
        });
        set_phase(&app, SyncPhase::Starting { detail: None });
        crate::start_demo(&app, demo);
        Ok(shell.status())
    }
}
