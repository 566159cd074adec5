//! What the export tests share: a district synced ONCE per test binary from the four
//! simulators (fixed seed, frozen clock) into a real SQLCipher cache opened through the
//! keychain (run under scripts/with-keyring.sh). The simulators are stopped before any
//! test reads the cache: every document is built with no network.
#![allow(dead_code)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use schooldesk_connectors::{Connection, Connector, Pace, Secret};
use schooldesk_domain::System;
use schooldesk_sim::data::District;
use schooldesk_sim::{SimClock, Simulators};
use schooldesk_sync::demo::{demo_sim_config, DemoOptions};
use schooldesk_sync::pull::{sync_system, SyncContext, SyncMode};
use schooldesk_sync::Desk;

pub const SEED: u64 = 11;
pub const STUDENTS: usize = 200;

/// Thursday afternoon in the simulated school year, after both UK sessions.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 8, 15, 0, 0).unwrap()
}

pub fn today() -> NaiveDate {
    now().date_naive()
}

pub fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

/// A pace that moves the simulators' frozen clock instead of sleeping.
#[derive(Debug, Clone)]
struct SimPace(SimClock);

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

pub struct Fixture {
    pub desk: Desk,
    pub district: Arc<District>,
    _dir: tempfile::TempDir,
}

/// The synced district, made on first use.
pub fn district() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Its own runtime on its own thread: the simulators live and die inside it.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(sync_district())
        })
        .join()
        .expect("sync thread")
    })
}

async fn sync_district() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let desk = Desk::open(dir.path()).expect("open desk (run under scripts/with-keyring.sh)");
    let mut config = demo_sim_config(&DemoOptions {
        seed: SEED,
        students: STUDENTS,
    });
    config.clock = SimClock::frozen(now());
    let sims = Simulators::start(config).await.expect("simulators");
    for system in System::ALL {
        let (connection, secret) = connection(&sims, system);
        desk.connect(&connection, &secret, now()).expect("connect");
        let connector = Connector::new(
            &connection,
            Secret::new(secret),
            Arc::new(SimPace(sims.shared.clock.clone())),
        )
        .expect("connector");
        // One system at a time, so the frozen clock moves the same way on every run.
        let summary = sync_system(
            desk.cache(),
            &connector,
            &connection,
            SyncMode::Full,
            &SyncContext::default(),
        )
        .await;
        assert!(summary.completed, "{system}: {summary:?}");
    }
    let district = sims.district.clone();
    sims.shutdown();
    Fixture {
        desk,
        district,
        _dir: dir,
    }
}

fn connection(sims: &Simulators, system: System) -> (Connection, String) {
    let base = match system {
        System::OmniForge => &sims.omniforge.base_url,
        System::PowerSchool => &sims.powerschool.base_url,
        System::Matrix => &sims.matrix.base_url,
        System::Hubmis => &sims.hubmis.base_url,
    };
    let mut c = Connection::new(system, base.clone());
    c.settings.requests_per_minute = Some(60_000);
    c.settings.attendance_days = Some(10);
    c.settings.time_zone = Some("UTC".into());
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
    (c, secret)
}

/// The first section of `system`, in the order `schooldesk sections` lists them.
pub fn first_section(system: System) -> String {
    district()
        .desk
        .sections(None)
        .expect("sections")
        .into_iter()
        .find(|s| s.system == system && s.students > 0)
        .unwrap_or_else(|| panic!("a {system} section with students"))
        .id
}

/// The fullest homeroom (tutor group) of `system`: the first of the largest, in the order
/// `schooldesk sections` lists them, so the same one on every run.
pub fn homeroom(system: System) -> String {
    let sections = district().desk.sections(None).expect("sections");
    let mut best: Option<&schooldesk_sync::reads::SectionInfo> = None;
    for s in sections
        .iter()
        .filter(|s| s.system == system && s.name.starts_with("Homeroom"))
    {
        if best.is_none_or(|b| s.students > b.students) {
            best = Some(s);
        }
    }
    best.unwrap_or_else(|| panic!("a {system} homeroom"))
        .id
        .clone()
}

/// Compares `actual` with `tests/golden/<name>`; `UPDATE_GOLDEN=1` rewrites the file.
pub fn golden(name: &str, actual: &[u8]) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write golden file");
        return;
    }
    let expected = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    assert_eq!(
        String::from_utf8_lossy(actual),
        String::from_utf8_lossy(&expected),
        "{name} differs from the golden file (UPDATE_GOLDEN=1 to accept a deliberate change)"
    );
}
