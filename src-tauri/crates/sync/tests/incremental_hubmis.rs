//! HUBmis incremental syncs that miss nothing: each test syncs in full, changes something on
//! the simulated server the way a school office would, syncs incrementally and checks that the
//! cache now shows the truth.

mod pull_support;

use chrono::NaiveDate;
use pull_support::*;
use schooldesk_cache::Cache;
use schooldesk_connectors::Connection;
use schooldesk_domain::{AttendanceStatus, System};
use schooldesk_sim::{Simulators, SystemKind};
use schooldesk_sync::pull::{sync_system, Progress, SyncContext, SyncMode, SystemSummary};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

const PUPILS: usize = 100;

/// The Tuesday of [`morning`].
fn today() -> NaiveDate {
    morning().date_naive()
}

/// A HUBmis connection without learning support (its requests are not what these tests are
/// about), with `days` of registers when given.
fn hub(sims: &Simulators, days: Option<u32>) -> (schooldesk_connectors::Connector, Connection) {
    let (mut c, secret) = connection(sims, System::Hubmis);
    c.learning_support_enabled = false;
    c.settings.attendance_days = days;
    (connector(sims, &c, secret), c)
}

async fn sync_hub(
    cache: &Arc<Cache>,
    sims: &Simulators,
    days: Option<u32>,
    mode: SyncMode,
    ctx: &SyncContext,
) -> SystemSummary {
    let (connector, connection) = hub(sims, days);
    let s = sync_system(cache, &connector, &connection, mode, ctx).await;
    assert!(s.completed, "{s:?}");
    assert!(
        !statuses(sims, System::Hubmis).contains(&429),
        "paced below the limits"
    );
    s
}

async fn full(cache: &Arc<Cache>, sims: &Simulators) {
    sync_hub(cache, sims, None, SyncMode::Full, &SyncContext::default()).await;
}

/// A few minutes later (as the engine's schedule would run it: each sync's own pacing starts
/// afresh), an incremental sync.
fn later(sims: &Simulators) {
    sims.shared
        .clock
        .advance(std::time::Duration::from_secs(120));
    sims.shared.recorder.clear();
}

async fn incremental(cache: &Arc<Cache>, sims: &Simulators) -> SystemSummary {
    later(sims);
    sync_hub(
        cache,
        sims,
        None,
        SyncMode::Incremental,
        &SyncContext::default(),
    )
    .await
}

fn student_id(sims: &Simulators, i: usize) -> String {
    sims.hubmis_admin.student_id(i).to_string()
}

/// Tutor groups (ids) a pupil is on the roster of, in the cache.
fn groups_of(cache: &Cache, sims: &Simulators, i: usize) -> Vec<String> {
    cache
        .sections_of(System::Hubmis, &student_id(sims, i))
        .unwrap()
        .into_iter()
        .map(|s| s.source.source_id)
        .collect()
}

fn roster_ids(cache: &Cache, group: u64) -> BTreeSet<String> {
    cache
        .roster(System::Hubmis, &group.to_string())
        .unwrap()
        .into_iter()
        .map(|s| s.source.source_id)
        .collect()
}

/// The first pupil whose tutor group has another pupil in it, with that group.
fn pupil_in_a_group(sims: &Simulators) -> (usize, u64) {
    (0..PUPILS)
        .find_map(|i| sims.hubmis_admin.tutor_group_of(i).map(|g| (i, g)))
        .expect("a pupil in a tutor group")
}

/// A tutor group other than `group`.
fn another_group(sims: &Simulators, group: u64) -> u64 {
    (0..PUPILS)
        .filter_map(|i| sims.hubmis_admin.tutor_group_of(i))
        .find(|g| *g != group)
        .expect("two tutor groups")
}

fn mark_code(
    cache: &Cache,
    sims: &Simulators,
    i: usize,
    date: NaiveDate,
    session: &str,
) -> Option<(String, AttendanceStatus)> {
    let id = student_id(sims, i);
    cache
        .attendance_marks(date, None)
        .unwrap()
        .into_iter()
        .find(|m| {
            m.source.system == System::Hubmis
                && m.student_source_id == id
                && m.period.as_deref() == Some(session)
        })
        .map(|m| (m.code.unwrap_or_default(), m.status))
}

/// Per-pupil calls to a route under `/students/{id}/…`.
fn per_pupil(sims: &Simulators, route: &str) -> Vec<String> {
    sims.shared
        .recorder
        .requests_for(SystemKind::Hubmis)
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v1/students/") && r.path.ends_with(route))
        .map(|r| r.path)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todays_register_is_synced_by_default_and_a_changed_mark_is_caught() {
    // REGRESSION: HUBmis pulled no session attendance unless the connection asked for days
    // (default 0), so today's AM/PM register was never in the cache, and a mark a teacher
    // changed after a sync was never seen.
    let sims = start(PUPILS).await;
    let t = cache();
    full(&t.cache, &sims).await;
    let (code, _) = mark_code(&t.cache, &sims, 0, today(), "am").expect("today's AM mark");
    let changed_to = if code == "N" { "/" } else { "N" };
    assert!(sims.hubmis_admin.change_mark(0, today(), "am", changed_to));

    let inc = incremental(&t.cache, &sims).await;
    let (code, status) = mark_code(&t.cache, &sims, 0, today(), "am").unwrap();
    assert_eq!(code, changed_to);
    if changed_to == "N" {
        assert_eq!(status, AttendanceStatus::Absent);
    }
    // One call per pupil covers both sessions (the only documented route is per pupil), and
    // by default only today is read.
    let calls = per_pupil(&sims, "/attendance");
    assert_eq!(calls.len(), PUPILS, "{inc:?}");
    let yesterday = today().pred_opt().unwrap();
    assert!(mark_code(&t.cache, &sims, 0, yesterday, "am").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_school_days_skip_the_weekend_and_their_changes_are_caught() {
    // REGRESSION: registers of past days were read only on request, and a change to one of
    // them (a late mark turned into an absence) was never caught by an incremental sync.
    let sims = start(PUPILS).await;
    let t = cache();
    let days = Some(3);
    sync_hub(
        &t.cache,
        &sims,
        days,
        SyncMode::Full,
        &SyncContext::default(),
    )
    .await;
    // Tuesday, Monday and the Friday before: the weekend is skipped.
    let friday = NaiveDate::from_ymd_opt(2026, 10, 2).unwrap();
    assert!(mark_code(&t.cache, &sims, 0, friday, "pm").is_some());
    assert!(mark_code(&t.cache, &sims, 0, friday.pred_opt().unwrap(), "pm").is_none());
    let queries: Vec<String> = sims
        .shared
        .recorder
        .requests_for(SystemKind::Hubmis)
        .into_iter()
        .filter(|r| r.path.ends_with("/attendance"))
        .map(|r| r.query)
        .collect();
    assert!(
        queries.iter().all(|q| q.contains("2026-10-02")),
        "{queries:?}"
    );

    assert!(sims.hubmis_admin.change_mark(0, friday, "pm", "O"));
    later(&sims);
    sync_hub(
        &t.cache,
        &sims,
        days,
        SyncMode::Incremental,
        &SyncContext::default(),
    )
    .await;
    let (code, status) = mark_code(&t.cache, &sims, 0, friday, "pm").unwrap();
    assert_eq!((code.as_str(), status), ("O", AttendanceStatus::Absent));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leaver_comes_off_registers_and_tutor_groups() {
    // REGRESSION: a pupil who left stayed on their tutor group's roster and on today's
    // register: links were only ever added.
    let sims = start(PUPILS).await;
    let t = cache();
    full(&t.cache, &sims).await;
    let (i, group) = pupil_in_a_group(&sims);
    let id = student_id(&sims, i);
    assert!(roster_ids(&t.cache, group).contains(&id));
    assert!(mark_code(&t.cache, &sims, i, today(), "am").is_some());

    assert!(sims.hubmis_admin.leave(i));
    let inc = incremental(&t.cache, &sims).await;
    assert_eq!(inc.rows.get("leavers"), Some(&1), "{inc:?}");
    assert!(!roster_ids(&t.cache, group).contains(&id));
    assert!(groups_of(&t.cache, &sims, i).is_empty());
    assert!(mark_code(&t.cache, &sims, i, today(), "am").is_none());
    // Gone from the cache (the system stopped returning them), or at least no longer current.
    let cached = t.cache.student(System::Hubmis, &id).unwrap();
    assert!(cached.as_ref().is_none_or(|s| !s.active), "{cached:?}");
    // Everyone else is still where they were.
    let others = count(&t.cache, "enrollments", System::Hubmis);
    assert_eq!(others, PUPILS as u64 - 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_moved_pupil_is_in_one_tutor_group_only() {
    // REGRESSION: a pupil moved to another tutor group was added to the new group's roster
    // and stayed on the old one.
    let sims = start(PUPILS).await;
    let t = cache();
    full(&t.cache, &sims).await;
    let (i, from) = pupil_in_a_group(&sims);
    let to = another_group(&sims, from);
    assert!(sims.hubmis_admin.move_to_tutor_group(i, to));

    incremental(&t.cache, &sims).await;
    assert_eq!(groups_of(&t.cache, &sims, i), vec![to.to_string()]);
    let id = student_id(&sims, i);
    assert!(!roster_ids(&t.cache, from).contains(&id));
    assert!(roster_ids(&t.cache, to).contains(&id));
    let cached = t.cache.student(System::Hubmis, &id).unwrap().unwrap();
    assert_eq!(cached.homeroom, Some(to.to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_contact_no_longer_may_collect() {
    // REGRESSION: contact links were only added: a contact the school removed from a pupil
    // still showed as allowed to collect them.
    let sims = start(PUPILS).await;
    let t = cache();
    full(&t.cache, &sims).await;
    let d = &sims.district;
    let (i, g) = d
        .students
        .iter()
        .find_map(|s| {
            s.guardians
                .iter()
                .find(|g| d.guardians[**g].can_pick_up)
                .map(|g| (s.index, *g))
        })
        .expect("a contact who may collect");
    let id = student_id(&sims, i);
    let contact = sims.hubmis_admin.contact_id(g).to_string();
    let may_collect = |cache: &Cache| {
        cache
            .guardians_of(System::Hubmis, &id)
            .unwrap()
            .into_iter()
            .any(|(g, l)| g.source.source_id == contact && l.can_pick_up == Some(true))
    };
    assert!(may_collect(&t.cache));

    assert!(sims.hubmis_admin.remove_contact(i, g));
    incremental(&t.cache, &sims).await;
    assert!(!may_collect(&t.cache));
    let left = t.cache.guardians_of(System::Hubmis, &id).unwrap();
    assert_eq!(left.len(), d.students[i].guardians.len() - 1);
    // Only the pupil whose links changed had their own contact list read again.
    assert_eq!(
        per_pupil(&sims, "/contacts"),
        vec![format!("/api/v1/students/{id}/contacts")]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phones_come_from_the_per_pupil_route_and_an_unchanged_school_is_not_reread() {
    // REGRESSION: the contact list carries no phones, so every HUBmis contact had none; and
    // reading each pupil's contacts on every sync would take hours at 12 requests a minute.
    let sims = start(PUPILS).await;
    let t = cache();
    full(&t.cache, &sims).await;
    let d = &sims.district;
    let s = &d.students[0];
    let id = student_id(&sims, 0);
    let phones: BTreeSet<Option<String>> = t
        .cache
        .guardians_of(System::Hubmis, &id)
        .unwrap()
        .into_iter()
        .map(|(g, _)| g.phone)
        .collect();
    let expected: BTreeSet<Option<String>> = s
        .guardians
        .iter()
        .map(|g| Some(d.guardians[*g].phone.clone()))
        .collect();
    assert_eq!(phones, expected);

    let inc = incremental(&t.cache, &sims).await;
    assert!(per_pupil(&sims, "/contacts").is_empty(), "{inc:?}");
    // The contact list read again did not wipe the phones.
    let still: usize = t
        .cache
        .guardians_of(System::Hubmis, &id)
        .unwrap()
        .into_iter()
        .filter(|(g, _)| g.phone.is_some())
        .count();
    assert_eq!(still, s.guardians.len());
    // An unchanged school costs its lists, one membership call per tutor group and one
    // register call per pupil: nothing else.
    let groups = t.cache.sections(Some(System::Hubmis)).unwrap().len() as u64;
    let lists = 5; // a token, codes, tutor groups, students, contacts
    assert_eq!(inc.requests, lists + groups + PUPILS as u64, "{inc:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tutor_groups_roster_comes_from_its_own_membership() {
    // REGRESSION: rosters were built from each pupil's `form` reference, which can carry
    // other ids than the tutor group: every tutor group showed empty and pupils were enrolled
    // in sections that do not exist.
    let sims = start(PUPILS).await;
    let t = cache();
    full(&t.cache, &sims).await;
    sims.hubmis_admin.set_form_ids_differ(true);
    let (i, from) = pupil_in_a_group(&sims);
    let to = another_group(&sims, from);
    assert!(sims.hubmis_admin.move_to_tutor_group(i, to));

    incremental(&t.cache, &sims).await;
    for g in t.cache.sections(Some(System::Hubmis)).unwrap() {
        let group: u64 = g.source.source_id.parse().unwrap();
        let expected: BTreeSet<String> = (0..PUPILS)
            .filter(|p| sims.hubmis_admin.tutor_group_of(*p) == Some(group))
            .map(|p| student_id(&sims, p))
            .collect();
        assert_eq!(roster_ids(&t.cache, group), expected, "tutor group {group}");
    }
    assert_eq!(
        count(&t.cache, "enrollments", System::Hubmis),
        PUPILS as u64,
        "no roster rows under form ids"
    );
    assert_eq!(groups_of(&t.cache, &sims, i), vec![to.to_string()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn todays_register_is_ready_before_contacts_and_history() {
    // REGRESSION: HUBmis read contacts and learning support before anything a register needs,
    // and never said when the register was ready.
    let sims = start(PUPILS).await;
    let t = cache();
    let events: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let sink = events.clone();
    let ctx = SyncContext {
        progress: Some(Arc::new(move |p: &Progress| {
            sink.lock().unwrap().push(p.clone())
        })),
        ..SyncContext::default()
    };
    let (mut c, secret) = connection(&sims, System::Hubmis);
    c.learning_support_enabled = true;
    let connector = connector(&sims, &c, secret);
    let s = sync_system(&t.cache, &connector, &c, SyncMode::Full, &ctx).await;
    assert!(s.completed, "{s:?}");
    let events = events.lock().unwrap();
    let ready = events
        .iter()
        .position(|p| p.register_ready)
        .expect("register ready reported");
    let before: BTreeSet<&str> = events[..ready].iter().map(|p| p.phase.as_str()).collect();
    for later in ["contacts", "learning support", "learning support reviews"] {
        assert!(
            !before.contains(later),
            "{later} came before the register: {before:?}"
        );
    }
    assert!(before.contains("registers"), "{before:?}");
    assert!(events[ready..].iter().all(|p| p.register_ready));
    assert!(events[ready..].iter().any(|p| p.phase == "contacts"));
    assert!(events[ready..]
        .iter()
        .any(|p| p.phase == "learning support"));
}
