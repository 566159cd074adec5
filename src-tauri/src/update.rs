//! Signed self-update, on top of `tauri-plugin-updater`.
//!
//! The app checks its update server at start and then daily. A newer version is downloaded
//! and its minisign signature verified against the public key in `tauri.conf.json` before it
//! is kept ("staged"); the person then chooses "Restart to update". Installing waits for the
//! outbox to stop (the write in flight finishes, nothing new starts), so an update never cuts
//! a replay in half. Anything that fails leaves the installed version as it was and says why.
//!
//! The update server is a setting: `SCHOOLDESK_UPDATE_ENDPOINT` (IT deployment; wins), else
//! `update_endpoint` in `<data dir>/settings.json` (the `set_update_endpoint` command), else
//! the endpoint in `tauri.conf.json`. The value `off` turns checking off.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tauri::{AppHandle, Emitter, Manager, Runtime, Url};
use tauri_plugin_updater::{Update, UpdaterExt};

use crate::error::AppError;
use crate::ipc::{events, ErrorPayload, UpdateStatus};
use crate::Shell;

/// The update server for this computer, set by IT; wins over the settings file.
pub const ENDPOINT_ENV: &str = "SCHOOLDESK_UPDATE_ENDPOINT";
/// Debug builds only: the public key updates must be signed with (throwaway keys in tests).
/// A release build never reads it, so nothing in the environment can make it trust a key.
pub const PUBKEY_ENV: &str = "SCHOOLDESK_UPDATE_PUBKEY";
/// The small settings file in the data folder.
pub const SETTINGS_FILE: &str = "settings.json";
/// The endpoint value that turns update checks off (districts that deploy centrally).
pub const OFF: &str = "off";

const CHECK_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
/// Only the check; a download over a slow school line may take much longer.
const CHECK_TIMEOUT: Duration = Duration::from_secs(60);

/// Where updates come from, once the settings are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Channel {
    /// No update server: checks are off, or only the placeholder endpoint is configured.
    Off,
    Endpoint(Url),
}

/// A verified update waiting for "Restart to update".
struct Staged {
    update: Update,
    bytes: Vec<u8>,
}

/// The updater's state, managed by the app.
pub struct Updates {
    settings_path: PathBuf,
    status: Mutex<UpdateStatus>,
    staged: Mutex<Option<Arc<Staged>>>,
    /// One check at a time: the daily check and a changed endpoint must not interleave.
    checking: tokio::sync::Mutex<()>,
}

impl Updates {
    pub fn new(data_dir: &Path) -> Self {
        Updates {
            settings_path: data_dir.join(SETTINGS_FILE),
            status: Mutex::new(UpdateStatus::None),
            staged: Mutex::new(None),
            checking: tokio::sync::Mutex::new(()),
        }
    }

    pub fn status(&self) -> UpdateStatus {
        self.status.lock().expect("update lock poisoned").clone()
    }

    fn staged(&self) -> Option<Arc<Staged>> {
        self.staged.lock().expect("update lock poisoned").clone()
    }

    fn set_staged(&self, staged: Option<Arc<Staged>>) {
        *self.staged.lock().expect("update lock poisoned") = staged;
    }
}

fn set_status<R: Runtime>(app: &AppHandle<R>, status: UpdateStatus) {
    *app.state::<Updates>()
        .status
        .lock()
        .expect("update lock poisoned") = status.clone();
    let _ = app.emit(events::UPDATE_STATUS, status);
}

fn failed(code: &str, message: impl Into<String>) -> UpdateStatus {
    UpdateStatus::Failed {
        code: code.into(),
        message: message.into(),
    }
}

/// The endpoint the settings file holds, if any.
pub fn saved_endpoint(settings_path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(settings_path).ok()?;
    let value: Value = serde_json::from_str(&text).ok()?;
    value.get("update_endpoint")?.as_str().map(str::to_string)
}

/// Checks one endpoint value: `off`, https anywhere, or plain http to this computer in a
/// debug build (the tests' local server). The error is a sentence for the person at the desk.
pub fn parse_endpoint(value: &str) -> Result<Channel, String> {
    let value = value.trim();
    if value.eq_ignore_ascii_case(OFF) {
        return Ok(Channel::Off);
    }
    let url = Url::parse(value).map_err(|_| {
        format!("“{value}” is not a web address. Ask your IT support for the address of the Schooldesk update server (it starts with https://).")
    })?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => Ok(Channel::Endpoint(url)),
        // Plain http only where nobody else can answer, and only in test builds: a release
        // trusts signatures, but also refuses to announce its checks in the clear.
        "http" if cfg!(debug_assertions) && loopback => Ok(Channel::Endpoint(url)),
        _ => Err(format!(
            "The update server address must start with https:// (got “{value}”). Ask your IT support for the right address."
        )),
    }
}

/// The channel from the settings, in order: the environment (IT), the settings file, then
/// the app's configured default. An endpoint on `.invalid` (reserved, never resolves) is the
/// placeholder of a build with no update server of its own.
pub fn resolve_channel(
    env: Option<String>,
    saved: Option<String>,
    default: Option<String>,
) -> Result<Channel, String> {
    let value = env
        .filter(|v| !v.trim().is_empty())
        .or(saved.filter(|v| !v.trim().is_empty()));
    if let Some(value) = value {
        return parse_endpoint(&value);
    }
    match default {
        None => Ok(Channel::Off),
        Some(value) => match parse_endpoint(&value)? {
            Channel::Endpoint(url)
                if url
                    .host_str()
                    .is_some_and(|h| h == "invalid" || h.ends_with(".invalid")) =>
            {
                Ok(Channel::Off)
            }
            channel => Ok(channel),
        },
    }
}

fn env_endpoint() -> Option<String> {
    std::env::var(ENDPOINT_ENV).ok()
}

/// The first endpoint of `plugins.updater` in tauri.conf.json.
fn configured_endpoint<R: Runtime>(app: &AppHandle<R>) -> Option<String> {
    app.config()
        .plugins
        .0
        .get("updater")?
        .get("endpoints")?
        .get(0)?
        .as_str()
        .map(str::to_string)
}

fn channel<R: Runtime>(app: &AppHandle<R>) -> Result<Channel, String> {
    let saved = saved_endpoint(&app.state::<Updates>().settings_path);
    resolve_channel(env_endpoint(), saved, configured_endpoint(app))
}

/// The plugin's error in the words of someone at the desk, with a stable code.
fn describe(error: &tauri_plugin_updater::Error, version: Option<&str>) -> UpdateStatus {
    use tauri_plugin_updater::Error as E;
    let which = version
        .map(|v| format!("Schooldesk {v}"))
        .unwrap_or_else(|| "The update".into());
    let keeps = "Nothing was installed; this version keeps working.";
    match error {
        E::Minisign(e) if format!("{e:?}") == "UnexpectedKeyId" => failed(
            "update.refused",
            format!("{which} was refused: it is signed with a different key than Schooldesk's, so it may not come from your Schooldesk provider. {keeps} If it happens again, tell your IT support."),
        ),
        E::Minisign(_) | E::Base64(_) | E::SignatureUtf8(_) | E::SignedVersionMismatch { .. } | E::MissingSignedVersion => failed(
            "update.refused",
            format!("{which} was refused: the downloaded file does not match its signature, so it was damaged or altered on the way. {keeps} If it happens again, tell your IT support."),
        ),
        E::TargetNotFound(_) | E::TargetsNotFound(_) => failed(
            "update.no_build",
            format!("{which} is offered, but not for this kind of computer. {keeps}"),
        ),
        E::Serialization(_) | E::ReleaseNotFound | E::Semver(_) => failed(
            "update.bad_answer",
            format!("The update server's answer could not be read, so no update was checked. {keeps} Schooldesk tries again tomorrow; if it keeps happening, tell your IT support."),
        ),
        E::Reqwest(_) | E::Network(_) | E::Io(_) => failed(
            "update.unreachable",
            format!("Could not reach the update server ({error}). {keeps} Schooldesk tries again tomorrow."),
        ),
        E::InvalidUpdaterFormat
        | E::BinaryNotFoundInArchive
        | E::DebInstallFailed
        | E::PackageInstallFailed
        | E::AuthenticationFailed
        | E::TempDirNotFound
        | E::TempDirNotOnSameMountPoint => failed(
            "update.install_failed",
            format!("the system did not accept the update ({error}). {keeps} If it happens again, tell your IT support."),
        ),
        E::InsecureTransportProtocol | E::EmptyEndpoints | E::UrlParse(_) => failed(
            "update.endpoint",
            format!("The update server address is not usable ({error}). Ask your IT support to check it."),
        ),
        _ => failed(
            "update.failed",
            format!("The update could not be checked or installed ({error}). {keeps}"),
        ),
    }
}

/// Checks the update server once and stages a verified update. Never fails: the outcome is
/// the status (and its event).
pub async fn check<R: Runtime>(app: &AppHandle<R>) {
    let updates = app.state::<Updates>();
    let _one = updates.checking.lock().await;
    let url = match channel(app) {
        Ok(Channel::Off) => {
            updates.set_staged(None);
            set_status(app, UpdateStatus::None);
            return;
        }
        Ok(Channel::Endpoint(url)) => url,
        Err(message) => {
            set_status(app, failed("update.endpoint", message));
            return;
        }
    };
    let staged = updates.staged();
    if staged.is_none() {
        set_status(app, UpdateStatus::Checking);
    }
    let outcome = find(app, url).await;
    match outcome {
        Ok(None) => {
            // The server no longer offers it (a release withdrawn): do not install it.
            updates.set_staged(None);
            set_status(app, UpdateStatus::None);
        }
        Ok(Some(update)) => {
            if let Some(staged) = staged.filter(|s| s.update.version == update.version) {
                tracing::info!(version = %staged.update.version, "update already staged");
                return;
            }
            set_status(
                app,
                UpdateStatus::Available {
                    version: update.version.clone(),
                },
            );
            match update.download(|_, _| {}, || {}).await {
                Ok(bytes) => {
                    tracing::info!(version = %update.version, bytes = bytes.len(), "update verified and staged");
                    let status = UpdateStatus::Staged {
                        version: update.version.clone(),
                        notes: update.body.clone().filter(|n| !n.trim().is_empty()),
                    };
                    updates.set_staged(Some(Arc::new(Staged { update, bytes })));
                    set_status(app, status);
                }
                Err(e) => {
                    tracing::warn!(version = %update.version, error = %e, "update refused");
                    updates.set_staged(None);
                    set_status(app, describe(&e, Some(&update.version)));
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "update check failed");
            // A check that fails (offline for a day) keeps a verified update already staged.
            if staged.is_none() {
                set_status(app, describe(&e, None));
            }
        }
    }
}

async fn find<R: Runtime>(
    app: &AppHandle<R>,
    url: Url,
) -> Result<Option<Update>, tauri_plugin_updater::Error> {
    #[allow(unused_mut)]
    let mut builder = app.updater_builder().timeout(CHECK_TIMEOUT);
    #[cfg(debug_assertions)]
    if let Some(key) = std::env::var(PUBKEY_ENV)
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        builder = builder.pubkey(key.trim());
    }
    builder.endpoints(vec![url])?.build()?.check().await
}

/// Checks at start, then once a day, for as long as the app runs.
pub fn start<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        let mut daily = tokio::time::interval(CHECK_EVERY);
        daily.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // The first tick is immediate: the check at start.
            daily.tick().await;
            check(&app).await;
        }
    });
}

/// Saves the update server (`None` or empty: back to the default) and checks it at once.
pub async fn set_endpoint<R: Runtime>(
    app: &AppHandle<R>,
    endpoint: Option<String>,
) -> Result<UpdateStatus, AppError> {
    let refuse = |code: &str, message: String| {
        AppError::Update(ErrorPayload {
            code: code.into(),
            message,
            retryable: false,
        })
    };
    if env_endpoint().is_some_and(|v| !v.trim().is_empty()) {
        return Err(refuse(
            "update.endpoint_managed",
            format!("The update server on this computer is set by your IT department ({ENDPOINT_ENV}), so it cannot be changed here."),
        ));
    }
    let endpoint = endpoint
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    if let Some(value) = &endpoint {
        parse_endpoint(value).map_err(|m| refuse("update.endpoint", m))?;
    }
    let path = app.state::<Updates>().settings_path.clone();
    let mut settings: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .filter(Value::is_object)
        .unwrap_or_else(|| Value::Object(Default::default()));
    let map = settings.as_object_mut().expect("an object");
    match &endpoint {
        Some(value) => map.insert("update_endpoint".into(), Value::String(value.clone())),
        None => map.remove("update_endpoint"),
    };
    let text = serde_json::to_string_pretty(&settings).expect("JSON");
    std::fs::write(&path, text).map_err(|e| {
        refuse(
            "update.settings",
            format!(
                "The setting could not be saved in {} ({e}). Check that the folder is writable.",
                path.display()
            ),
        )
    })?;
    // What the old server offered is not what the new one offers.
    let updates = app.state::<Updates>();
    {
        let _wait = updates.checking.lock().await;
        updates.set_staged(None);
    }
    check(app).await;
    Ok(app.state::<Updates>().status())
}

/// "Restart to update": stops the outbox (the write in flight finishes), installs the staged
/// update and restarts. If installing fails, sending resumes and the reason is returned.
pub async fn restart_to_update<R: Runtime>(app: &AppHandle<R>) -> Result<(), AppError> {
    let updates = app.state::<Updates>();
    let Some(staged) = updates.staged() else {
        return Err(AppError::Update(ErrorPayload {
            code: "update.none_staged".into(),
            message: "No update is ready to install. Schooldesk checks for updates every day and shows “Restart to update” when one is ready.".into(),
            retryable: false,
        }));
    };
    // Still starting (or no cache): nothing is being sent, so there is nothing to wait for.
    let engine = app.state::<Shell>().engine().ok();
    if let Some(engine) = &engine {
        engine.pause_sending().await;
    }
    let installing = staged.clone();
    let installed =
        tauri::async_runtime::spawn_blocking(move || installing.update.install(&installing.bytes))
            .await;
    let error = match installed {
        Ok(Ok(())) => {
            tracing::info!(version = %staged.update.version, "update installed; restarting");
            app.restart();
        }
        Ok(Err(e)) => describe(&e, Some(&staged.update.version)),
        Err(e) => failed("update.install_failed", format!("Installing the update stopped unexpectedly ({e}). Nothing was changed; this version keeps working.")),
    };
    if let Some(engine) = &engine {
        engine.resume_sending();
    }
    let (code, message) = match &error {
        UpdateStatus::Failed { code, message } => (code.clone(), message.clone()),
        _ => unreachable!("describe always fails"),
    };
    let code = if code == "update.failed" {
        "update.install_failed".to_string()
    } else {
        code
    };
    let message = format!(
        "Schooldesk {} could not be installed: {message}",
        staged.update.version
    );
    tracing::warn!(%message, "update not installed");
    set_status(app, failed(&code, message.clone()));
    updates.set_staged(None);
    Err(AppError::Update(ErrorPayload {
        code,
        message,
        retryable: true,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_wins_over_the_settings_file_which_wins_over_the_default() {
        let env = Some("https://it.example.org/latest.json".to_string());
        let saved = Some("https://saved.example.org/latest.json".to_string());
        let default = Some("https://default.example.org/latest.json".to_string());
        let host = |c: Channel| match c {
            Channel::Endpoint(u) => u.host_str().unwrap().to_string(),
            Channel::Off => "off".into(),
        };
        assert_eq!(
            host(resolve_channel(env.clone(), saved.clone(), default.clone()).unwrap()),
            "it.example.org"
        );
        assert_eq!(
            host(resolve_channel(None, saved.clone(), default.clone()).unwrap()),
            "saved.example.org"
        );
        assert_eq!(
            host(resolve_channel(Some(" ".into()), None, default.clone()).unwrap()),
            "default.example.org"
        );
        assert_eq!(
            resolve_channel(Some("OFF".into()), saved, default).unwrap(),
            Channel::Off
        );
    }

    #[test]
    fn the_placeholder_endpoint_means_no_update_server() {
        let placeholder = "https://updates.schooldesk.invalid/{{target}}/{{arch}}/{{current_version}}/latest.json";
        assert_eq!(
            resolve_channel(None, None, Some(placeholder.into())).unwrap(),
            Channel::Off
        );
        assert_eq!(resolve_channel(None, None, None).unwrap(), Channel::Off);
    }

    #[test]
    fn plain_http_is_refused_except_to_this_computer_in_a_debug_build() {
        let err = parse_endpoint("http://updates.example.org/latest.json").unwrap_err();
        assert!(err.contains("https://"), "{err}");
        assert!(parse_endpoint("ftp://127.0.0.1/latest.json").is_err());
        assert!(parse_endpoint("not a url")
            .unwrap_err()
            .contains("not a web address"));
        let local = parse_endpoint("http://127.0.0.1:8080/latest.json");
        assert_eq!(local.is_ok(), cfg!(debug_assertions), "{local:?}");
    }
}
