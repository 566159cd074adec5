//! The built-in demo district: the four simulators on loopback, a demo profile connected to
//! them, and a first sync — so a new user sees a working district in one command.

use chrono::Utc;
use schooldesk_connectors::{Connection, ConnectionSettings};
use schooldesk_domain::System;
use schooldesk_sim::{SimConfig, Simulators};
use serde::Serialize;

use crate::desk::{Desk, DeskError, PendingWrites, Result};
use crate::pull::{Progress, SyncMode, SyncReport};

/// The demo simulators answer as fast as they are asked: the demo shows the district, not
/// the rate limits (the tests and benchmarks hold those to the documented values).
const DEMO_REQUESTS_PER_MINUTE: u32 = 60_000;

#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    /// 50 to 50,000 students.
    pub students: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            seed: 42,
            students: 200,
        }
    }
}

/// The running demo: the simulators stop when this is dropped.
pub struct Demo {
    pub sims: Simulators,
    pub sync: SyncReport,
}

#[derive(Debug, Serialize)]
pub struct DemoReport<'a> {
    pub systems: Vec<DemoSystem>,
    pub sync: &'a SyncReport,
}

#[derive(Debug, Serialize)]
pub struct DemoSystem {
    pub system: System,
    pub base_url: String,
}

impl Demo {
    pub fn report(&self) -> DemoReport<'_> {
        let systems = [
            (System::OmniForge, &self.sims.omniforge),
            (System::PowerSchool, &self.sims.powerschool),
            (System::Matrix, &self.sims.matrix),
            (System::Hubmis, &self.sims.hubmis),
        ]
        .into_iter()
        .map(|(system, running)| DemoSystem {
            system,
            base_url: running.base_url.clone(),
        })
        .collect();
        DemoReport {
            systems,
            sync: &self.sync,
        }
    }

    pub fn describe(&self) -> String {
        let mut s = format!(
            "Demo district ({} students) running on this computer:\n",
            self.sims.district.students.len()
        );
        for sys in self.report().systems {
            s.push_str(&format!(
                "  {:<24} {}\n",
                sys.system.display_name(),
                sys.base_url
            ));
        }
        s.push_str(&self.sync.describe());
        s
    }
}

/// The simulators' settings for the demo: the documented quirks, generous limits.
pub fn demo_sim_config(options: &DemoOptions) -> SimConfig {
    let mut config = SimConfig {
        seed: options.seed,
        students: options.students,
        ..SimConfig::default()
    };
    for key in &mut config.omniforge.keys {
        key.requests_per_minute = None;
    }
    config.matrix.calls_per_minute = DEMO_REQUESTS_PER_MINUTE as usize;
    config.hubmis.requests_per_minute_per_ip = DEMO_REQUESTS_PER_MINUTE;
    config.hubmis.client_bucket = DEMO_REQUESTS_PER_MINUTE;
    config
}

/// Starts the simulators, connects the demo profile to them (replacing any earlier demo
/// connections) and syncs everything. `desk` must be the demo profile
/// ([`Desk::open_demo`]): demo connections never enter a real school's cache.
pub async fn start(
    desk: &Desk,
    options: &DemoOptions,
    on_progress: impl Fn(&Progress) + Send + Sync + 'static,
) -> Result<Demo> {
    if !desk.is_demo() {
        return Err(DeskError::Demo(
            "the demo district runs only in the demo profile, apart from real data".into(),
        ));
    }
    let config = demo_sim_config(options);
    let sims = Simulators::start(config.clone())
        .await
        .map_err(|e| DeskError::Demo(e.to_string()))?;
    let settings = ConnectionSettings {
        requests_per_minute: Some(DEMO_REQUESTS_PER_MINUTE),
        ..ConnectionSettings::default()
    };
    let connections = [
        (
            System::OmniForge,
            &sims.omniforge,
            config.omniforge.key().to_string(),
        ),
        (
            System::PowerSchool,
            &sims.powerschool,
            config.powerschool.api_key.clone(),
        ),
        (System::Matrix, &sims.matrix, config.matrix.api_key.clone()),
        (
            System::Hubmis,
            &sims.hubmis,
            config.hubmis.client_secret.clone(),
        ),
    ];
    let now = Utc::now();
    let mut demo_connections = Vec::new();
    for (system, running, secret) in connections {
        let mut connection = Connection::new(system, running.base_url.clone());
        connection.settings = settings.clone();
        if system == System::Hubmis {
            connection.realm = Some(config.hubmis.realm.clone());
            connection.client_id = Some(config.hubmis.client_id.clone());
            connection.learning_support_enabled = true;
        }
        demo_connections.push((connection, secret));
    }
    // Keychain and cache work, off the async workers. The simulators listen on new ports
    // each time: demo writes left from last time go to today's demo district (they never
    // leave this computer).
    let d = desk.clone();
    crate::desk::blocking(move || {
        for (connection, secret) in &demo_connections {
            d.connect_with(connection, secret, now, PendingWrites::SendToNew)?;
        }
        Ok(())
    })
    .await?;
    let sync = desk.sync(&[], SyncMode::Incremental, on_progress).await?;
    Ok(Demo { sims, sync })
}

/// Whether the app should start in demo mode: nothing is connected in the real profile.
pub fn wants_demo(desk: &Desk) -> Result<bool> {
    Ok(!desk.is_demo() && desk.connections()?.is_empty())
}
