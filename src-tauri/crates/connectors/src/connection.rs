//! A stored connection (the cache's `connections` row) and the settings that tune a client.

use schooldesk_domain::System;
use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::error::ConnectorError;
use crate::pace::{Bucket, HeaderMeaning, Limits};

/// Settings kept as JSON beside each connection. Every field is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "snake_case")]
pub struct ConnectionSettings {
    /// Overrides the documented per-minute limit (OmniForge keys are issued with their own
    /// ceiling). Matrix is never paced above 115 a minute whatever this says (at 120 the key
    /// is disabled), except a simulator on this computer, which is taken at its word.
    pub requests_per_minute: Option<u32>,
    /// Per-request timeout in seconds (default 30).
    pub timeout_secs: Option<u64>,
    /// HUBmis `academic-year-id` header, when not the active year.
    pub academic_year_id: Option<String>,
    /// Days of attendance to pull, counting back from today (default 1: today only).
    pub attendance_days: Option<u32>,
}

/// Everything needed to build a client, except the secret (which lives in the keychain).
#[derive(Debug, Clone, PartialEq)]
pub struct Connection {
    pub system: System,
    /// e.g. `https://sis.district.org` — each system's own prefix is added by its client.
    pub base_url: String,
    /// HUBmis realm (the school).
    pub realm: Option<String>,
    /// HUBmis client id.
    pub client_id: Option<String>,
    pub settings: ConnectionSettings,
    /// Learning-support (SEN) data is synced only when this is on.
    pub learning_support_enabled: bool,
}

impl Connection {
    pub fn new(system: System, base_url: impl Into<String>) -> Self {
        Connection {
            system,
            base_url: base_url.into(),
            realm: None,
            client_id: None,
            settings: ConnectionSettings::default(),
            learning_support_enabled: false,
        }
    }

    /// Reads the settings column; an empty string means defaults.
    pub fn parse_settings(
        system: System,
        json: &str,
    ) -> Result<ConnectionSettings, ConnectorError> {
        if json.trim().is_empty() {
            return Ok(ConnectionSettings::default());
        }
        serde_json::from_str(json).map_err(|e| ConnectorError::Config {
            system,
            detail: format!("the saved settings could not be read ({e})"),
        })
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_secs.unwrap_or(30).clamp(1, 600))
    }

    /// The limits this connection's client keeps to.
    pub fn limits(&self) -> Limits {
        let mut limits = default_limits(self.system, self.settings.requests_per_minute);
        if self.system == System::Matrix && self.is_loopback() {
            // A server on this computer is a simulator (tests, demo mode), never the hosted
            // Matrix: its lockout is whatever it was configured with, so the setting stands.
            limits.per_window = self.settings.requests_per_minute.or(limits.per_window);
        }
        limits
    }

    fn is_loopback(&self) -> bool {
        url::Url::parse(self.base_url.trim()).is_ok_and(|u| match u.host() {
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        })
    }
}

/// Matrix disables a key for a minute above 120 calls a minute; never pace above this.
pub const MATRIX_CEILING: u32 = 115;

/// The documented limits of each system, with a per-minute override.
pub fn default_limits(system: System, requests_per_minute: Option<u32>) -> Limits {
    let minute = Duration::from_secs(60);
    // Network latency can bunch requests up at the server; a second's margin absorbs it.
    let margin = Duration::from_secs(1);
    match system {
        System::OmniForge => Limits {
            per_window: Some(requests_per_minute.unwrap_or(60).max(1)),
            window: minute,
            margin,
            bucket: None,
            headers: HeaderMeaning::Window,
            default_backoff: minute,
        },
        // The document states no limit; requests go one at a time.
        System::PowerSchool => Limits {
            per_window: requests_per_minute.map(|n| n.max(1)),
            window: minute,
            margin,
            bucket: None,
            headers: HeaderMeaning::Window,
            default_backoff: Duration::from_secs(30),
        },
        System::Matrix => Limits {
            per_window: Some(requests_per_minute.unwrap_or(100).clamp(1, MATRIX_CEILING)),
            window: minute,
            margin,
            bucket: None,
            headers: HeaderMeaning::Window,
            // A lockout lasts a minute.
            default_backoff: minute + margin,
        },
        System::Hubmis => Limits {
            per_window: Some(requests_per_minute.unwrap_or(12).max(1)),
            window: minute,
            margin,
            bucket: Some(Bucket {
                capacity: 500,
                refill_every: Duration::from_secs(5),
            }),
            headers: HeaderMeaning::Bucket,
            default_backoff: Duration::from_secs(5),
        },
    }
}
