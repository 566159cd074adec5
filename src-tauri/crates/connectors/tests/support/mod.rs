//! What the connector tests share: a pace over the simulators' clock, and connections to the
//! four simulators as a school would configure them.
#![allow(dead_code)]

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use schooldesk_connectors::{Connection, Connector, Pace, Secret};
use schooldesk_domain::System;
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use std::sync::Arc;
use std::time::Duration;

/// Waiting advances the simulators' frozen clock instead of sleeping, so minutes of pacing
/// pass in milliseconds.
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

/// A school-day morning (a Tuesday), inside the simulated school year.
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

pub fn kind(system: System) -> SystemKind {
    match system {
        System::OmniForge => SystemKind::OmniForge,
        System::PowerSchool => SystemKind::PowerSchool,
        System::Matrix => SystemKind::Matrix,
        System::Hubmis => SystemKind::Hubmis,
    }
}

/// The connection settings and secret a school would enter for `system`.
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
            sims.hubmis_admin.client_secret()
        }
    };
    (c, Secret::new(secret))
}

pub fn connector(sims: &Simulators, system: System) -> Connector {
    let (c, secret) = connection(sims, system);
    connector_for(sims, &c, secret)
}

pub fn connector_for(sims: &Simulators, c: &Connection, secret: Secret) -> Connector {
    Connector::new(c, secret, Arc::new(SimPace(sims.shared.clock.clone()))).expect("connector")
}

/// Statuses the simulator answered for `system`, in order.
pub fn statuses(sims: &Simulators, system: System) -> Vec<u16> {
    sims.shared
        .recorder
        .requests_for(kind(system))
        .iter()
        .map(|r| r.status)
        .collect()
}

/// Requests with `method` the simulator of `system` answered.
pub fn count(sims: &Simulators, system: SystemKind, method: &str) -> usize {
    sims.shared
        .recorder
        .requests_for(system)
        .iter()
        .filter(|r| r.method == method)
        .count()
}
