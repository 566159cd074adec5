//! How close outbox replay comes to the most each system's rate limit allows, and what
//! "reading before resending" costs, from one run per system against the simulators:
//!
//! - a normal run: N writes queued in a real SQLCipher cache and replayed; writes confirmed,
//!   requests served, 429s and Matrix lockouts seen at the simulator, and
//!   throughput ÷ limit = the least time the documented limit needs for N requests (fixed
//!   one-minute windows, no margin) ÷ the time the replay took. On this path requests must
//!   equal writes: nothing is read first (OmniForge marks carry the `baseVersion` the desk
//!   holds, so there is no pre-read either).
//! - a run with a share of replies lost after the server applied the write: the extra
//!   requests, split into reads (settling an uncertain outcome) and writes sent again, next
//!   to the number of replies lost.
//!
//! Pacing waits advance the simulators' clock instead of sleeping; the time reported is that
//! simulated time plus the real time the run took (cache transactions, HTTP on loopback), as
//! in the sync bench, so work done between waits counts too.
//!
//! `cargo bench -p schooldesk-sync --bench replay` (set `SCHOOLDESK_BENCH_LOST` to change the
//! share of lost replies, default 0.05).

use async_trait::async_trait;
use axum::http::Method;
use chrono::{DateTime, Datelike, Duration as ChronoDuration, TimeZone, Utc};
use schooldesk_cache::{Cache, CacheKey, NewOutboxEntry};
use schooldesk_connectors::pace::{HeaderMeaning, Limits};
use schooldesk_connectors::{Connection, Connector, Pace, Secret};
use schooldesk_domain::{AttendanceStatus, MarkWrite, System, Write};
use schooldesk_sim::faults::is_write;
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use schooldesk_sync::estimate::human_duration;
use schooldesk_sync::replay::replay_with;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const STUDENTS: usize = 600;

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

/// One benchmarked case: a system, how many writes, and the limit it is held to.
#[derive(Debug, Clone, Copy)]
struct Case {
    system: System,
    label: &'static str,
    writes: usize,
    /// The per-minute ceiling the client is configured with and the ratio is measured
    /// against; `None` where the system documents none (PowerSchool).
    per_minute: Option<u32>,
}

fn kind(system: System) -> SystemKind {
    match system {
        System::OmniForge => SystemKind::OmniForge,
        System::PowerSchool => SystemKind::PowerSchool,
        System::Matrix => SystemKind::Matrix,
        System::Hubmis => SystemKind::Hubmis,
    }
}

/// The documented limit as the server counts it, without Schooldesk's safety margins.
fn documented(per_minute: u32) -> Limits {
    Limits {
        per_window: Some(per_minute),
        window: Duration::from_secs(60),
        margin: Duration::ZERO,
        bucket: None,
        headers: HeaderMeaning::Window,
        default_backoff: Duration::from_secs(60),
    }
}

/// OmniForge marks for marks the server holds and the desk has a copy of (its version), so
/// each goes out with `baseVersion` and no read first: daily homeroom marks from the
/// simulator's history, each changed to another status.
fn omniforge_writes(sims: &Simulators, n: usize) -> Vec<Write> {
    let d = &sims.district;
    let (first, last) = sims.omniforge_admin.attendance_history();
    let mut out = Vec::new();
    let mut date = last;
    while out.len() < n && date >= first {
        if date.weekday().number_from_monday() <= 5 {
            for s in &d.students {
                if out.len() == n {
                    break;
                }
                let section = &d.sections[s.homeroom].uuid;
                let Some(server) = sims
                    .omniforge_admin
                    .mark(&s.uuid, Some(section), None, date)
                else {
                    continue;
                };
                let status = if server.status == "present" {
                    AttendanceStatus::Tardy
                } else {
                    AttendanceStatus::Present
                };
                out.push(Write::Mark(MarkWrite {
                    student_id: s.uuid.clone(),
                    section_id: Some(section.clone()),
                    period: None,
                    date,
                    status,
                    code: None,
                    note: None,
                    minutes_late: None,
                    base_version: Some(server.version),
                }));
            }
        }
        date -= ChronoDuration::days(1);
    }
    assert_eq!(out.len(), n, "not enough history marks for {n} writes");
    out
}

/// PowerSchool roster imports (schema 2, primary contact update) giving each of N returning
/// students' first contact a new phone number.
fn powerschool_writes(sims: &Simulators, n: usize) -> Vec<Write> {
    let students = &sims.district.students;
    assert!(students.len() >= n, "not enough students for {n} imports");
    students
        .iter()
        .take(n)
        .enumerate()
        .map(|(i, s)| Write::ImportRosterRecord {
            action_id: "101".into(),
            schema_id: "2".into(),
            record: BTreeMap::from([
                ("stu_ExternalID".to_string(), s.external_id.clone()),
                ("par1_Phone".to_string(), format!("555-01{i:04}")),
            ]),
        })
        .collect()
}

/// Matrix grades set for N (assignment, student) pairs, each with the grade the desk saw.
fn matrix_writes(sims: &Simulators, n: usize) -> Vec<Write> {
    let admin = &sims.matrix_admin;
    let mut out = Vec::new();
    'classes: for class in admin.class_ids() {
        for assignment in admin.assignment_ids(class) {
            for student in admin.roster(class) {
                if out.len() == n {
                    break 'classes;
                }
                let seen = admin.grade(assignment, student);
                let grade = if seen.as_deref() == Some("87%") {
                    "88%"
                } else {
                    "87%"
                };
                out.push(Write::SetGrade {
                    class_id: class.to_string(),
                    assignment_id: assignment.to_string(),
                    student_id: student.to_string(),
                    grade: grade.to_string(),
                    seen,
                });
            }
        }
    }
    assert_eq!(out.len(), n, "not enough grades for {n} writes");
    out
}

struct Row {
    writes: usize,
    confirmed: u64,
    other_states: BTreeMap<&'static str, u64>,
    requests: u64,
    /// Requests that change nothing (reads): on the normal path there are none.
    reads: u64,
    /// Write requests beyond one per write.
    resent: u64,
    /// Writes the simulator applied (one per write when each landed exactly once).
    applied_at_server: usize,
    throttled: u64,
    lockouts: u64,
    lost_replies: u64,
    /// Entries that were settled (read before resending) after an uncertain outcome.
    settled_entries: usize,
    simulated: Duration,
    wall: Duration,
    replay_runs: u32,
}

async fn run(case: Case, lost_rate: f64) -> Row {
    let clock = SimClock::frozen(Utc.with_ymd_and_hms(2026, 10, 6, 9, 30, 0).unwrap());
    let sims = Simulators::start(SimConfig {
        students: STUDENTS,
        clock: clock.clone(),
        ..SimConfig::default()
    })
    .await
    .expect("simulators");
    let dir = tempfile::tempdir().expect("temp dir");
    let key = CacheKey::generate(&mut rand::rngs::OsRng);
    let cache =
        Arc::new(Cache::open_with_key(&dir.path().join("schooldesk.db"), &key).expect("cache"));
    let (base, secret) = match case.system {
        System::OmniForge => (&sims.omniforge.base_url, sims.omniforge_admin.key()),
        System::PowerSchool => (&sims.powerschool.base_url, sims.powerschool_admin.key()),
        System::Matrix => (&sims.matrix.base_url, sims.matrix_admin.api_key()),
        System::Hubmis => unreachable!("HUBmis takes no writes"),
    };
    let mut connection = Connection::new(case.system, base.clone());
    connection.settings.requests_per_minute = case.per_minute;
    if case.system == System::OmniForge {
        // The key's own ceiling, as OmniForge issues it.
        sims.omniforge_admin
            .set_rate_limit(&secret, case.per_minute);
    }
    let connector = Connector::new(
        &connection,
        Secret::new(secret),
        Arc::new(SimPace(clock.clone())),
    )
    .expect("connector");
    let senders = BTreeMap::from([(case.system, connector)]);

    let writes = match case.system {
        System::OmniForge => omniforge_writes(&sims, case.writes),
        System::PowerSchool => powerschool_writes(&sims, case.writes),
        System::Matrix => matrix_writes(&sims, case.writes),
        System::Hubmis => unreachable!(),
    };
    for write in writes {
        cache
            .enqueue(NewOutboxEntry {
                idempotency_key: Uuid::new_v4(),
                write,
                created_at: clock.now(),
            })
            .expect("queue a write");
    }
    sims.shared.recorder.clear();
    sims.shared.faults.seed(8);
    sims.shared.faults.set_lost_reply_rate(lost_rate);

    let cancel = CancellationToken::new();
    let wall = Instant::now();
    let t0 = clock.now();
    let mut replay_runs = 0;
    loop {
        let now = {
            let c = clock.clone();
            move || c.now()
        };
        replay_with(&cache, &senders, &cancel, now, || 0.5)
            .await
            .expect("replay");
        replay_runs += 1;
        // Entries whose outcome was uncertain wait for their backoff; the engine would
        // replay again then, so the bench moves the clock there.
        match cache.next_due().expect("next due") {
            None => break,
            Some(at) => {
                assert!(replay_runs < 100, "replay does not finish");
                if let Ok(wait) = (at - clock.now()).to_std() {
                    clock.advance(wait);
                }
            }
        }
    }
    let wall = wall.elapsed();
    let simulated = (clock.now() - t0).to_std().unwrap_or_default();
    sims.shared.faults.clear();

    let served = sims.shared.recorder.requests_for(kind(case.system));
    let write_requests = served
        .iter()
        .filter(|r| {
            let method = Method::from_bytes(r.method.as_bytes()).unwrap_or(Method::GET);
            is_write(kind(case.system), &method, &r.path)
        })
        .count() as u64;
    let mut counts = cache.outbox_counts().expect("outbox counts");
    let confirmed = counts.remove("done").unwrap_or(0);
    let mut settled_entries = 0;
    for entry in cache.outbox_list(None).expect("outbox") {
        let receipt = cache.receipt(entry.id).expect("receipt");
        // Replay records a settling read as an attempt whose request is the check it made.
        if receipt
            .attempts
            .iter()
            .any(|a| a.request.get("check").is_some())
        {
            settled_entries += 1;
        }
    }
    let row = Row {
        writes: case.writes,
        confirmed,
        other_states: counts,
        requests: served.len() as u64,
        reads: served.len() as u64 - write_requests,
        resent: write_requests.saturating_sub(case.writes as u64),
        applied_at_server: sims.shared.recorder.writes_for(kind(case.system)).len(),
        throttled: served.iter().filter(|r| r.status == 429).count() as u64,
        // Matrix answers its lockout with a 400; none of these writes is otherwise refused.
        lockouts: if case.system == System::Matrix {
            served.iter().filter(|r| r.status == 400).count() as u64
                + u64::from(sims.matrix_admin.disabled_until().is_some())
        } else {
            0
        },
        lost_replies: sims
            .shared
            .faults
            .counts_for(kind(case.system))
            .lost_replies,
        settled_entries,
        simulated,
        wall,
        replay_runs,
    };
    sims.shutdown();
    row
}

fn secs(d: Duration) -> String {
    if d.as_secs() >= 60 {
        format!("{} ({:.1} s)", human_duration(d), d.as_secs_f64())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

fn main() {
    let lost_rate: f64 = std::env::var("SCHOOLDESK_BENCH_LOST")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.05);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let cases = [
        Case {
            system: System::OmniForge,
            label: "omniforge",
            writes: 300,
            per_minute: Some(60),
        },
        Case {
            system: System::PowerSchool,
            label: "powerschool",
            writes: 150,
            per_minute: None,
        },
        Case {
            system: System::PowerSchool,
            label: "powerschool @ 60/min",
            writes: 150,
            per_minute: Some(60),
        },
        Case {
            system: System::Matrix,
            label: "matrix",
            writes: 300,
            per_minute: Some(120),
        },
    ];

    println!(
        "Outbox replay, one run per system ({STUDENTS}-student district, real SQLCipher cache)\n"
    );
    for case in cases {
        let r = rt.block_on(run(case, 0.0));
        let time = r.simulated + r.wall;
        let ratio = match case.per_minute {
            Some(n) => {
                let ratio = documented(n).floor(r.confirmed).as_secs_f64() / time.as_secs_f64();
                let below = if ratio < 0.9 {
                    " (BELOW the 0.9 target)"
                } else {
                    ""
                };
                format!("throughput ÷ limit {ratio:.2}{below}")
            }
            None => "no documented limit".to_string(),
        };
        let leftover = if r.other_states.is_empty() {
            String::new()
        } else {
            format!(" (not done: {:?})", r.other_states)
        };
        println!(
            "replay {}: {} writes, {} requests ({:.2} per write), {} × 429, {} lockouts, {ratio}{leftover}",
            case.label,
            r.confirmed,
            r.requests,
            r.requests as f64 / r.writes as f64,
            r.throttled,
            r.lockouts,
        );
        println!(
            "    {} simulated + {} real = {}; {} applied at the server; {} reads; {:.0} writes/s of real work{}",
            secs(r.simulated),
            secs(r.wall),
            secs(time),
            r.applied_at_server,
            r.reads,
            r.writes as f64 / r.wall.as_secs_f64(),
            match case.per_minute {
                Some(n) => format!(" (the limit allows {:.1}/s)", f64::from(n) / 60.0),
                None => String::new(),
            }
        );
        // Figures first, then what the issue requires of them.
        assert_eq!(
            r.confirmed, r.writes as u64,
            "{}: every write confirmed",
            case.label
        );
        assert_eq!(
            r.applied_at_server, r.writes,
            "{}: each applied once",
            case.label
        );
        assert_eq!(
            r.requests, r.writes as u64,
            "{}: one request per write",
            case.label
        );
        assert_eq!(
            (r.throttled, r.lockouts),
            (0, 0),
            "{}: no 429, no lockout",
            case.label
        );
    }

    println!(
        "\nWith {:.0} % of replies lost after the server applied the write:\n",
        lost_rate * 100.0
    );
    for case in cases.iter().filter(|c| c.per_minute.is_some()) {
        let r = rt.block_on(run(*case, lost_rate));
        let leftover = if r.other_states.is_empty() {
            String::new()
        } else {
            format!(" (not done: {:?})", r.other_states)
        };
        println!(
            "replay {}: {} writes, {} requests ({:+} over the normal path): {} replies lost → {} entries settled by reading, {} reads, {} writes sent again; {} applied at the server, {} × 429, {} lockouts, {} replay runs{leftover}",
            case.label,
            r.confirmed,
            r.requests,
            r.requests as i64 - r.writes as i64,
            r.lost_replies,
            r.settled_entries,
            r.reads,
            r.resent,
            r.applied_at_server,
            r.throttled,
            r.lockouts,
            r.replay_runs,
        );
        assert_eq!(
            r.confirmed, r.writes as u64,
            "{}: every write confirmed",
            case.label
        );
        assert_eq!(
            r.applied_at_server, r.writes,
            "{}: each applied once",
            case.label
        );
        assert_eq!(
            (r.throttled, r.lockouts),
            (0, 0),
            "{}: no 429, no lockout",
            case.label
        );
    }
    println!(
        "\nthroughput ÷ limit: the least time the documented limit needs for that many requests \
         (fixed one-minute windows, no margin) ÷ simulated pacing time + real run time; 1.00 is \
         the most the limit allows. OmniForge marks carry the baseVersion the desk holds, so \
         nothing is read before them."
    );
    println!(
        "lost replies: OmniForge resends with the same Idempotency-Key (no read; the server \
         answers the first result); PowerSchool and Matrix read the system once per uncertain \
         entry and send again only if the write is absent."
    );
}
