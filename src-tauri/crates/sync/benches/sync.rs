//! How close a full sync of a 2,000-student district comes to the best any client could do,
//! per system, from one run each against the simulators:
//!
//! - requests used ÷ the fewest the data needs (every list at its largest page, plus the
//!   per-item calls that have no list: OmniForge guardian links, Matrix rosters, grades and
//!   registers per class, HUBmis learning-support reviews per student, HUBmis tokens);
//! - sync time ÷ the floor the documented rate limits set for that many requests (OmniForge
//!   60 a minute per key, Matrix 120 a minute, HUBmis 12 a minute and a 500-request bucket).
//!
//! Pacing waits advance the simulators' clock instead of sleeping; the time reported is that
//! simulated time plus the real time the run took, so work done between waits counts too.
//!
//! `cargo bench -p schooldesk-sync --bench sync` (set `SCHOOLDESK_BENCH_STUDENTS` to change
//! the district size).

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use schooldesk_cache::{Cache, CacheKey};
use schooldesk_connectors::pace::{Bucket, HeaderMeaning, Limits};
use schooldesk_connectors::{Connection, Connector, Pace, Secret};
use schooldesk_domain::System;
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use schooldesk_sync::estimate::human_duration;
use schooldesk_sync::pull::{sync_system, Progress, SyncContext, SyncMode};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

fn kind(system: System) -> SystemKind {
    match system {
        System::OmniForge => SystemKind::OmniForge,
        System::PowerSchool => SystemKind::PowerSchool,
        System::Matrix => SystemKind::Matrix,
        System::Hubmis => SystemKind::Hubmis,
    }
}

fn pages(n: usize, size: usize) -> u64 {
    n.div_ceil(size).max(1) as u64
}

/// Lists that end with a short page need one more request when the last page is full.
fn pages_to_short(n: usize, size: usize) -> u64 {
    (n / size + 1) as u64
}

/// The documented limits, without Schooldesk's safety margins.
fn documented(system: System) -> Option<Limits> {
    let window = |n| Limits {
        per_window: Some(n),
        window: Duration::from_secs(60),
        margin: Duration::ZERO,
        bucket: None,
        headers: HeaderMeaning::Window,
        default_backoff: Duration::from_secs(60),
    };
    match system {
        System::OmniForge => Some(window(60)),
        System::PowerSchool => None,
        System::Matrix => Some(window(120)),
        System::Hubmis => Some(Limits {
            bucket: Some(Bucket {
                capacity: 500,
                refill_every: Duration::from_secs(5),
            }),
            headers: HeaderMeaning::Bucket,
            ..window(12)
        }),
    }
}

/// The fewest requests the district's data needs from `system`, as the sync is asked for it
/// (today's register, grades, learning support on).
fn minimum(sims: &Simulators, system: System) -> u64 {
    let d = &sims.district;
    match system {
        System::OmniForge => {
            let roster: usize = d.sections.iter().map(|s| s.students.len()).sum();
            // One register page per school for today; one guardian call per student.
            pages(d.schools.len(), 200)
                + pages(d.students.len(), 200)
                + pages(d.guardians.len(), 200)
                + pages(d.sections.len(), 200)
                + pages(roster, 200)
                + d.schools.len() as u64
                + d.students.len() as u64
        }
        System::PowerSchool => {
            let a = &sims.powerschool_admin;
            let roster_101 = d.students.len();
            let subs_101 = a.submission_ids(101).len();
            1 + pages(roster_101, 500) + pages(subs_101, 500) + 2 + 1 + 2 * 2
        }
        System::Matrix => {
            let classes = d.sections.iter().filter(|s| !s.is_homeroom).count();
            let users = 1 + d.staff.len() + d.students.len() + d.guardians.len();
            pages_to_short(d.schools.len(), 100)
                + pages_to_short(users, 100)
                + pages_to_short(classes, 100)
                + 3 * classes as u64
        }
        System::Hubmis => {
            let a = &sims.hubmis_admin;
            let with_ls = a.students_with_learning_support();
            let records: usize = with_ls
                .iter()
                .map(|s| a.learning_support_record_ids(*s).len())
                .sum();
            let tutor_groups = d.sections.iter().filter(|s| s.is_homeroom).count() as u64;
            // Registers and phones have no list: one call per pupil each (the documented
            // routes), and each tutor group's membership one call.
            let work = 2
                + pages_to_short(d.students.len(), 1000)
                + pages_to_short(d.guardians.len(), 1000)
                + pages_to_short(records, 1000)
                + with_ls.len() as u64
                + tutor_groups
                + 2 * d.students.len() as u64;
            // A token to start, and a new one each time 15 minutes run out.
            let floor = documented(system).map_or(Duration::ZERO, |l| l.floor(work + 1));
            work + 1 + floor.as_secs() / (15 * 60)
        }
    }
}

struct Row {
    system: System,
    /// Simulated time from the start of the full sync to "register ready".
    register_ready: Option<Duration>,
    /// Requests of an incremental sync of the unchanged district, right after.
    incremental_requests: u64,
    requests: u64,
    minimum: u64,
    time: Duration,
    floor: Option<Duration>,
    rows: u64,
    throttled: usize,
}

async fn run(students: usize, system: System) -> Row {
    let clock = SimClock::frozen(Utc.with_ymd_and_hms(2026, 10, 6, 9, 30, 0).unwrap());
    let sims = Simulators::start(SimConfig {
        students,
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await
    .expect("simulators");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = CacheKey::generate(&mut rand::rngs::OsRng);
    let cache =
        Arc::new(Cache::open_with_key(&dir.path().join("schooldesk.db"), &key).expect("cache"));
    let base = match system {
        System::OmniForge => &sims.omniforge.base_url,
        System::PowerSchool => &sims.powerschool.base_url,
        System::Matrix => &sims.matrix.base_url,
        System::Hubmis => &sims.hubmis.base_url,
    };
    let mut connection = Connection::new(system, base.clone());
    let secret = match system {
        System::OmniForge => sims.omniforge_admin.key(),
        System::PowerSchool => sims.powerschool_admin.key(),
        System::Matrix => sims.matrix_admin.api_key(),
        System::Hubmis => {
            connection.client_id = Some(sims.hubmis_admin.client_id());
            connection.realm = Some(sims.hubmis_admin.realm());
            connection.learning_support_enabled = true;
            sims.hubmis_admin.client_secret()
        }
    };
    let connector = Connector::new(
        &connection,
        Secret::new(secret),
        Arc::new(SimPace(clock.clone())),
    )
    .expect("connector");
    let wall = Instant::now();
    let t0 = clock.now();
    let ready: Arc<std::sync::Mutex<Option<Duration>>> = Arc::default();
    let seen = ready.clone();
    let ctx = SyncContext {
        progress: Some(Arc::new(move |p: &Progress| {
            let mut r = seen.lock().unwrap();
            if p.register_ready && r.is_none() {
                *r = Some(p.elapsed);
            }
        })),
        ..SyncContext::default()
    };
    let summary = sync_system(&cache, &connector, &connection, SyncMode::Full, &ctx).await;
    assert!(summary.completed, "{system}: {summary:?}");
    let simulated = (clock.now() - t0).to_std().unwrap_or_default();
    let served = sims.shared.recorder.requests_for(kind(system));
    let minimum = minimum(&sims, system);
    // The same district, unchanged, ten minutes later: what an incremental sync costs.
    clock.advance(Duration::from_secs(600));
    let incremental = sync_system(
        &cache,
        &connector,
        &connection,
        SyncMode::Incremental,
        &SyncContext::default(),
    )
    .await;
    assert!(incremental.completed, "{system}: {incremental:?}");
    let incremental_requests =
        sims.shared.recorder.requests_for(kind(system)).len() as u64 - served.len() as u64;
    let register_ready = *ready.lock().unwrap();
    Row {
        system,
        register_ready,
        incremental_requests,
        requests: served.len() as u64,
        minimum,
        time: simulated + wall.elapsed(),
        floor: documented(system).map(|l| l.floor(minimum)),
        rows: summary.rows.values().sum(),
        throttled: served.iter().filter(|r| r.status == 429).count(),
    }
}

fn secs(d: Duration) -> String {
    if d.as_secs() >= 60 {
        human_duration(d)
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn main() {
    let students: usize = std::env::var("SCHOOLDESK_BENCH_STUDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!("Full sync of a {students}-student district, one run per system\n");
    println!(
        "{:<24} {:>9} {:>9} {:>8} {:>8} {:>13} {:>13} {:>8} {:>14} {:>14}",
        "system",
        "rows",
        "requests",
        "minimum",
        "ratio",
        "sync time",
        "limit floor",
        "ratio",
        "register ready",
        "incr ÷ full"
    );
    for system in System::ALL {
        let r = rt.block_on(run(students, system));
        let time_ratio = match r.floor {
            Some(f) if !f.is_zero() => format!("{:.2}", r.time.as_secs_f64() / f.as_secs_f64()),
            _ => "n/a".to_string(),
        };
        let ready = match r.register_ready {
            Some(t) if !r.time.is_zero() => format!(
                "{} ({:.2})",
                secs(t),
                t.as_secs_f64() / r.time.as_secs_f64()
            ),
            Some(t) => secs(t),
            None => "—".to_string(),
        };
        println!(
            "{:<24} {:>9} {:>9} {:>8} {:>8.2} {:>13} {:>13} {:>8} {:>14} {:>14}{}",
            r.system.display_name(),
            r.rows,
            r.requests,
            r.minimum,
            r.requests as f64 / r.minimum as f64,
            secs(r.time),
            r.floor.map_or("no limit".to_string(), secs),
            time_ratio,
            ready,
            format!(
                "{} ({:.3})",
                r.incremental_requests,
                r.incremental_requests as f64 / r.requests as f64
            ),
            if r.throttled > 0 {
                format!("  ({} x 429)", r.throttled)
            } else {
                String::new()
            }
        );
    }
    println!(
        "\nrequests ratio: requests served ÷ the fewest the data needs (1.00 is the best possible)."
    );
    println!(
        "time ratio: simulated pacing time + real run time ÷ the floor of the documented limits \
         for the minimum requests (Matrix is paced right up to its 120 a minute with an exact \
         sliding window and a 2 s margin, never above: over 120 the key is locked)."
    );
    println!(
        "register ready: time from the start of the full sync until today's registers were \
         stored, and its share of the whole sync. incr ÷ full: requests of an incremental sync \
         of the unchanged district ÷ those of the full sync."
    );
}
