//! What the pull tests share: simulators on a frozen clock, a pace that advances that clock
//! instead of sleeping, connectors as a school would configure them, and a real encrypted
//! cache in a temporary directory (a random key, so no keychain is needed).
#![allow(dead_code)]

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use schooldesk_cache::{Cache, CacheKey};
use schooldesk_connectors::{Connection, Connector, Pace, Secret};
use schooldesk_domain::System;
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use schooldesk_sync::pull::{sync_system, SyncContext, SyncMode, SystemSummary};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct SimPace(pub SimClock);

#[async_trait]
impl Pace for SimPace {
    fn now(&self) -> DateTime<Utc> {
        self.0.now()
    }
    async fn sleep(&self, d: Duration) {
        self.0.advance(d);
        tokio::task::yield_now().await;
    }
}

/// A Tuesday morning in the simulated school year.
pub fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 6, 9, 30, 0).unwrap()
}

pub async fn start(students: usize) -> Simulators {
    start_with(SimConfig {
        students,
        clock: SimClock::frozen(morning()),
        ..SimConfig::default()
    })
    .await
}

pub async fn start_with(config: SimConfig) -> Simulators {
    Simulators::start(config).await.expect("simulators start")
}

pub struct TempCache {
    pub cache: Arc<Cache>,
    _dir: tempfile::TempDir,
}

pub fn cache() -> TempCache {
    let dir = tempfile::tempdir().unwrap();
    let key = CacheKey::generate(&mut rand::rngs::OsRng);
    let cache = Cache::open_with_key(&dir.path().join("schooldesk.db"), &key).unwrap();
    TempCache {
        cache: Arc::new(cache),
        _dir: dir,
    }
}

pub fn kind(system: System) -> SystemKind {
    match system {
        System::OmniForge => SystemKind::OmniForge,
        System::PowerSchool => SystemKind::PowerSchool,
        System::Matrix => SystemKind::Matrix,
        System::Hubmis => SystemKind::Hubmis,
    }
}

pub fn connection(sims: &Simulators, system: System) -> (Connection, Secret) {
    let base = match system {
        System::OmniForge => &sims.omniforge.base_url,
        System::PowerSchool => &sims.powerschool.base_url,
        System::Matrix => &sims.matrix.base_url,
        System::Hubmis => &sims.hubmis.base_url,
    };
    let mut c = Connection::new(system, base.clone());
    let secret = match system {
        System::OmniForge => sims.omniforge_admin.key(),
        System::PowerSchool => sims.powerschool_admin.key(),
        System::Matrix => sims.matrix_admin.api_key(),
        System::Hubmis => {
            c.client_id = Some(sims.hubmis_admin.client_id());
            c.realm = Some(sims.hubmis_admin.realm());
            c.learning_support_enabled = true;
            sims.hubmis_admin.client_secret()
        }
    };
    (c, Secret::new(secret))
}

pub fn connector(sims: &Simulators, c: &Connection, secret: Secret) -> Connector {
    Connector::new(c, secret, Arc::new(SimPace(sims.shared.clock.clone()))).expect("connector")
}

pub fn pair(sims: &Simulators, system: System) -> (Connector, Connection) {
    let (c, s) = connection(sims, system);
    (connector(sims, &c, s), c)
}

pub async fn sync(
    cache: &Arc<Cache>,
    sims: &Simulators,
    system: System,
    mode: SyncMode,
) -> SystemSummary {
    let (connector, connection) = pair(sims, system);
    remember(cache, &connection);
    sync_system(
        cache,
        &connector,
        &connection,
        mode,
        &SyncContext::default(),
    )
    .await
}

/// Saves `c` in the cache as `connect` does: what the cache keeps of sensitive data follows
/// the saved connection's options, not the one a pull is handed.
pub fn remember(cache: &Cache, c: &Connection) {
    cache
        .save_connection(&schooldesk_cache::ConnectionSettings {
            system: c.system,
            base_url: c.base_url.clone(),
            realm: c.realm.clone(),
            client_id: c.client_id.clone(),
            settings: serde_json::to_value(&c.settings).unwrap(),
            learning_support_enabled: c.learning_support_enabled,
            medical_alerts_enabled: c.medical_alerts_enabled,
            updated_at: morning(),
        })
        .unwrap();
}

/// Rows of `table` the cache holds for `system`.
pub fn count(cache: &Cache, table: &str, system: System) -> u64 {
    cache
        .counts()
        .unwrap()
        .get(table)
        .and_then(|m| m.get(&system))
        .copied()
        .unwrap_or(0)
}

pub fn statuses(sims: &Simulators, system: System) -> Vec<u16> {
    sims.shared
        .recorder
        .requests_for(kind(system))
        .iter()
        .map(|r| r.status)
        .collect()
}

/// Requests to paths that end with `suffix` (or contain it).
pub fn requests_to(sims: &Simulators, system: System, fragment: &str) -> usize {
    sims.shared
        .recorder
        .requests_for(kind(system))
        .iter()
        .filter(|r| r.path.contains(fragment))
        .count()
}
