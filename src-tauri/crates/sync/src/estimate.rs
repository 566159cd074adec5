//! Before a sync: how many requests it will take and the least time the systems' rate limits
//! allow for them ("WCBS HUBmis: about 640 requests, at least 53 min at 12 a minute").
//!
//! The sizes come from the cache (what the last sync stored) or, before the first sync, from
//! a number of students the person gives (or a typical district). The same arithmetic, fed
//! with a district's true sizes, is the least number of requests the data needs: the
//! benchmark divides what a sync really used by it.

use schooldesk_cache::{Cache, CacheError};
use schooldesk_connectors::Connection;
use schooldesk_domain::System;
use serde::Serialize;
use std::fmt;
use std::time::Duration;

use crate::pull::{PullOptions, SyncMode};

/// Students assumed before the first sync when nobody says.
pub const ASSUMED_STUDENTS: u64 = 1_000;

/// How big a system's data is, in the units its requests are counted in.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sizes {
    pub schools: u64,
    pub students: u64,
    pub guardians: u64,
    /// Staff and other accounts that come in user lists (Matrix).
    pub other_users: u64,
    /// Sections (OmniForge), classes (Matrix), tutor groups (HUBmis).
    pub sections: u64,
    pub enrollments: u64,
    pub published_actions: u64,
    pub roster_records: u64,
    pub submission_records: u64,
    pub checklists: u64,
    pub learning_support_records: u64,
    /// Students with at least one learning-support record.
    pub learning_support_students: u64,
    /// Of the per-item work, how much an incremental sync redoes (0.0 to 1.0).
    pub changed_share: f64,
}

impl Sizes {
    /// A typical district of `students` (ratios of the districts Schooldesk was built for).
    pub fn assumed(students: u64) -> Sizes {
        Sizes {
            schools: (students / 500).max(1),
            students,
            guardians: students * 6 / 5,
            other_users: students / 18 + 1,
            sections: students * 6 / 25,
            enrollments: students * 6,
            published_actions: 2,
            roster_records: students,
            submission_records: students * 3 / 5,
            checklists: 2,
            learning_support_records: students / 5,
            learning_support_students: students * 3 / 20,
            changed_share: 0.02,
        }
    }
}

/// Where the sizes came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// What the cache holds from the last sync.
    Cache,
    /// A district of this many students was assumed.
    Assumed(u64),
}

/// What a sync of one system will take.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Estimate {
    pub system: System,
    pub requests: u64,
    /// The least time the rate limits allow for those requests.
    pub floor: Duration,
    /// Requests a minute the client keeps to (none when the system publishes no limit).
    pub per_minute: Option<f64>,
    pub basis: Basis,
    /// Requests per part of the sync, for the curious.
    pub parts: Vec<(String, u64)>,
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: about {} requests",
            self.system.display_name(),
            self.requests
        )?;
        match self.per_minute {
            Some(rate) if !self.floor.is_zero() => write!(
                f,
                ", at least {} at {} a minute",
                human_duration(self.floor),
                (rate.floor() as u64).max(1)
            ),
            Some(_) => write!(f, ", under a minute"),
            None => write!(f, " (no published rate limit)"),
        }?;
        if let Basis::Assumed(n) = self.basis {
            write!(f, " (assuming about {n} students)")?;
        }
        Ok(())
    }
}

/// "45 s", "53 min", "2 h 05 min".
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", (s + 30) / 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600 + 30) / 60)
    }
}

fn pages(n: u64, size: u64) -> u64 {
    n.div_ceil(size).max(1)
}

/// Pages of a list whose end is seen as a short page (Matrix, HUBmis): a full last page
/// needs one more, empty, request.
fn pages_to_short(n: u64, size: u64) -> u64 {
    n / size + 1
}

fn share(n: u64, mode: SyncMode, sizes: &Sizes) -> u64 {
    match mode {
        SyncMode::Full => n,
        SyncMode::Incremental => (n as f64 * sizes.changed_share).ceil() as u64,
    }
}

/// Requests a sync of `system` needs for data of `sizes`, part by part.
pub fn parts(
    system: System,
    sizes: &Sizes,
    options: &PullOptions,
    learning_support: bool,
    mode: SyncMode,
) -> Vec<(String, u64)> {
    let days = u64::from(options.attendance_days);
    let mut p: Vec<(String, u64)> = Vec::new();
    let mut add = |name: &str, n: u64| p.push((name.to_string(), n));
    match system {
        System::OmniForge => {
            let list = |n: u64| match mode {
                SyncMode::Full => pages(n, 200),
                SyncMode::Incremental => pages(share(n, mode, sizes), 200),
            };
            add("schools", list(sizes.schools));
            add("students", list(sizes.students));
            add("guardians", list(sizes.guardians));
            add("sections", list(sizes.sections));
            add("rosters", list(sizes.enrollments));
            // Every school's register of every day, on every sync: in full the first time,
            // then only the marks changed since (one short page).
            let per_school = sizes.students.div_ceil(sizes.schools.max(1));
            let register_pages = match mode {
                SyncMode::Full => pages(per_school, 200),
                SyncMode::Incremental => 1,
            };
            add("registers", sizes.schools.max(1) * days * register_pages);
            if options.guardian_links {
                add("guardian links", share(sizes.students, mode, sizes));
            }
        }
        System::PowerSchool => {
            add("published actions", 1);
            let actions = sizes.published_actions.max(1);
            // Records usually sit in one action; the others answer one (short) page each.
            add(
                "enrollment records",
                pages(sizes.roster_records, 500)
                    + pages(sizes.submission_records, 500)
                    + 2 * (actions - 1),
            );
            add("checklists", 1 + 2 * sizes.checklists);
        }
        System::Matrix => {
            add("schools", pages_to_short(sizes.schools, 100));
            add(
                "users",
                pages_to_short(sizes.students + sizes.guardians + sizes.other_users, 100),
            );
            add("classes", pages_to_short(sizes.sections, 100));
            // No change filter, and a class's record does not change with its roster, marks
            // or grades: every sync asks every class for its roster, grades and each day's
            // register, incremental or not.
            let per_class = 1 + u64::from(options.grades) + days;
            add("per class", per_class * sizes.sections);
        }
        System::Hubmis => {
            add("register codes and tutor groups", 2);
            add("students", pages_to_short(sizes.students, 1000));
            add("contacts", pages_to_short(sizes.guardians, 1000));
            // Each tutor group's own membership, on every sync (moves and leavers).
            add("tutor group members", sizes.sections);
            // Phones come only per pupil: all of them in full, new or changed ones otherwise.
            add("pupil contacts", share(sizes.students, mode, sizes));
            if learning_support {
                add(
                    "learning support",
                    pages_to_short(sizes.learning_support_records, 1000)
                        + share(sizes.learning_support_students, mode, sizes),
                );
            }
            if days > 0 {
                add("registers", sizes.students);
            }
        }
    }
    p
}

/// The estimate for a connection and data of `sizes`.
pub fn estimate(
    connection: &Connection,
    sizes: &Sizes,
    options: &PullOptions,
    mode: SyncMode,
    basis: Basis,
) -> Estimate {
    let limits = connection.limits();
    let mut parts = parts(
        connection.system,
        sizes,
        options,
        connection.learning_support_enabled,
        mode,
    );
    let mut requests: u64 = parts.iter().map(|(_, n)| n).sum();
    if connection.system == System::Hubmis {
        // A token at the start and another every 14 minutes (they die at 15).
        let tokens = 1 + limits.floor(requests).as_secs() / (14 * 60);
        parts.push(("access tokens".into(), tokens));
        requests += tokens;
    }
    // Said as the person set it ("12 a minute"), not with the latency margin taken off.
    let per_minute = match limits.per_window {
        Some(n) if limits.window == Duration::from_secs(60) => {
            Some(f64::from(n).min(limits.steady_per_minute().ceil()))
        }
        _ if limits.per_window.is_some() || limits.bucket.is_some() => {
            Some(limits.steady_per_minute())
        }
        _ => None,
    };
    Estimate {
        system: connection.system,
        requests,
        floor: limits.floor(requests),
        per_minute,
        basis,
        parts,
    }
}

/// The sizes the cache holds for `system`, if a sync has stored anything.
pub fn sizes_from_cache(cache: &Cache, system: System) -> Result<Option<Sizes>, CacheError> {
    let counts = cache.counts()?;
    let n = |table: &str| {
        counts
            .get(table)
            .and_then(|m| m.get(&system))
            .copied()
            .unwrap_or(0)
    };
    if n("students") == 0 && n("enrollment_records") == 0 {
        return Ok(None);
    }
    let students = n("students").max(n("enrollment_records"));
    let ls_students = if system == System::Hubmis && n("learning_support_records") > 0 {
        let records = cache.learning_support_records(system, None)?;
        let mut ids: Vec<&str> = records
            .iter()
            .map(|r| r.student_source_id.as_str())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len() as u64
    } else {
        0
    };
    let assumed = Sizes::assumed(students);
    Ok(Some(Sizes {
        schools: n("schools").max(1),
        students,
        guardians: n("guardians"),
        other_users: assumed.other_users,
        sections: n("sections"),
        enrollments: n("enrollments"),
        published_actions: assumed.published_actions,
        roster_records: n("enrollment_records"),
        submission_records: 0,
        checklists: n("checklists").max(1),
        learning_support_records: n("learning_support_records"),
        learning_support_students: ls_students,
        changed_share: assumed.changed_share,
    }))
}

/// The estimate for a stored connection, from what the cache holds (or a typical district
/// of `students_hint` students, else [`ASSUMED_STUDENTS`], before the first sync).
pub fn for_connection(
    cache: &Cache,
    connection: &Connection,
    mode: SyncMode,
    students_hint: Option<u64>,
) -> Result<Estimate, CacheError> {
    for_cache_with(
        cache,
        connection,
        &PullOptions::for_connection(connection),
        mode,
        students_hint,
    )
}

pub(crate) fn for_cache(
    cache: &Cache,
    connection: &Connection,
    options: &PullOptions,
    mode: SyncMode,
) -> Result<Estimate, CacheError> {
    for_cache_with(cache, connection, options, mode, None)
}

fn for_cache_with(
    cache: &Cache,
    connection: &Connection,
    options: &PullOptions,
    mode: SyncMode,
    students_hint: Option<u64>,
) -> Result<Estimate, CacheError> {
    let (sizes, basis, mode) = match sizes_from_cache(cache, connection.system)? {
        Some(s) => (s, Basis::Cache, mode),
        None => {
            let n = students_hint.unwrap_or(ASSUMED_STUDENTS);
            // Nothing cached yet: whatever was asked, the first sync reads everything.
            (Sizes::assumed(n), Basis::Assumed(n), SyncMode::Full)
        }
    };
    Ok(estimate(connection, &sizes, options, mode, basis))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(system: System) -> Connection {
        let mut c = Connection::new(system, "https://example.org");
        c.learning_support_enabled = true;
        c
    }

    #[test]
    fn hubmis_reads_like_the_brief() {
        let c = conn(System::Hubmis);
        let mut options = PullOptions::for_connection(&c);
        options.attendance_days = 1;
        let e = estimate(
            &c,
            &Sizes::assumed(600),
            &options,
            SyncMode::Full,
            Basis::Assumed(600),
        );
        let text = e.to_string();
        assert!(text.starts_with("WCBS HUBmis: about "), "{text}");
        assert!(text.contains(" a minute"), "{text}");
        assert!(
            text.contains("at 11 a minute") || text.contains("at 12 a minute"),
            "{text}"
        );
        // 600 registers + 600 pupils' contacts + tutor groups + 90 review lists + a few
        // pages: about two hours at 12 a minute.
        assert!((1350..=1500).contains(&e.requests), "{}", e.requests);
        assert!(e.floor >= Duration::from_secs(55 * 60), "{:?}", e.floor);
    }

    #[test]
    fn incremental_is_far_cheaper_where_per_item_calls_dominate() {
        let c = conn(System::OmniForge);
        let options = PullOptions::for_connection(&c);
        let sizes = Sizes::assumed(2000);
        let full = estimate(&c, &sizes, &options, SyncMode::Full, Basis::Cache);
        let inc = estimate(&c, &sizes, &options, SyncMode::Incremental, Basis::Cache);
        assert!(full.requests > 2000);
        assert!(
            inc.requests * 10 < full.requests,
            "{} vs {}",
            inc.requests,
            full.requests
        );
        assert_eq!(human_duration(Duration::from_secs(3725)), "1 h 02 min");
        assert_eq!(human_duration(Duration::from_secs(59)), "59 s");
    }

    #[test]
    fn a_system_without_limits_says_so() {
        let c = conn(System::PowerSchool);
        let e = estimate(
            &c,
            &Sizes::assumed(2000),
            &PullOptions::for_connection(&c),
            SyncMode::Full,
            Basis::Cache,
        );
        assert!(e.to_string().contains("no published rate limit"), "{e}");
        assert_eq!(e.floor, Duration::ZERO);
    }
}
