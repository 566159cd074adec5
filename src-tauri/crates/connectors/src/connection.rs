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
    /// ceiling). Matrix is never paced above its documented 120 a minute whatever this says
    /// (above that the key is disabled), at any address.
    pub requests_per_minute: Option<u32>,
    /// Per-request timeout in seconds (default 30).
    pub timeout_secs: Option<u64>,
    /// HUBmis `academic-year-id` header, when not the active year.
    pub academic_year_id: Option<String>,
    /// Days of attendance to pull, counting back from today (default 1: today only).
    pub attendance_days: Option<u32>,
    /// The school's time zone (IANA name, e.g. `America/Chicago`): "today" for registers
    /// and date filters is the school's day, not this computer's. Default: this computer's.
    pub time_zone: Option<String>,
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
    /// HUBmis medical conditions are kept only when this is on (the cache enforces it).
    pub medical_alerts_enabled: bool,
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
            medical_alerts_enabled: false,
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

    /// The limits this connection's client keeps to: the same for every address, a server
    /// on this computer included (a simulator is configured with the documented limits).
    pub fn limits(&self) -> Limits {
        default_limits(self.system, self.settings.requests_per_minute)
    }
}

/// Matrix disables a key for a minute above 120 calls a minute. With the exact sliding
/// window and [`MATRIX_MARGIN`] the client goes right up to it, never above: a higher
/// `requests_per_minute` is lowered to this.
pub const MATRIX_CEILING: u32 = 120;

/// Matrix counts calls as they arrive; a slot is held this much longer than the minute so
/// that a call delayed on the way, or one still in flight from another process, cannot land
/// inside a minute the server already counts as full (about 3 % slower than the ceiling).
pub const MATRIX_MARGIN: Duration = Duration::from_secs(2);

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
            per_window: Some(
                requests_per_minute
                    .unwrap_or(MATRIX_CEILING)
                    .clamp(1, MATRIX_CEILING),
            ),
            window: minute,
            margin: MATRIX_MARGIN,
            bucket: None,
            headers: HeaderMeaning::Window,
            // A lockout lasts a minute.
            default_backoff: minute + MATRIX_MARGIN,
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
