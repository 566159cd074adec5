//! Full syncs of a 2,000-student district into a real encrypted cache, per system and all
//! four together, against the simulators over HTTP on their frozen clock: every row arrives
//! once, no request draws a 429, and the children the systems disagree about are listed.

mod pull_support;

use pull_support::*;
use schooldesk_domain::{EnrollmentRecordKind, System};
use schooldesk_sim::data::DisagreementField;
use schooldesk_sync::pull::{sync_all, sync_system_with, PullOptions, SyncContext, SyncMode};
use std::collections::BTreeSet;

const STUDENTS: usize = 2000;

fn no_429(sims: &schooldesk_sim::Simulators, system: System) {
    let s = statuses(sims, system);
    assert!(!s.contains(&429), "{system}: a 429 was drawn");
    assert!(s.iter().all(|x| *x == 200), "{system}: {:?}", {
        let mut bad: Vec<_> = s.iter().filter(|x| **x != 200).collect();
        bad.dedup();
        bad
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omniforge_full_sync() {
    let sims = start(STUDENTS).await;
    let t = cache();
    let (connector, connection) = pair(&sims, System::OmniForge);
    let mut options = PullOptions::for_connection(&connection);
    // Yesterday's register (today's has not been taken yet at 9:30).
    options.attendance_days = 2;
    let s = sync_system_with(
        &t.cache,
        &connector,
        &connection,
        SyncMode::Full,
        options,
        &SyncContext::default(),
    )
    .await;
    assert!(s.completed, "{s:?}");
    let d = &sims.district;
    let c = &t.cache;
    assert_eq!(count(c, "students", System::OmniForge), STUDENTS as u64);
    assert_eq!(
        count(c, "guardians", System::OmniForge),
        d.guardians.len() as u64
    );
    assert_eq!(
        count(c, "schools", System::OmniForge),
        d.schools.len() as u64
    );
    assert_eq!(
        count(c, "sections", System::OmniForge),
        d.sections.len() as u64
    );
    let roster_rows: usize = d.sections.iter().map(|s| s.students.len()).sum();
    assert_eq!(
        count(c, "enrollments", System::OmniForge),
        roster_rows as u64
    );
    let links: usize = d.students.iter().map(|s| s.guardians.len()).sum();
    assert_eq!(
        count(c, "student_guardians", System::OmniForge),
        links as u64
    );
    let yesterday_marks = count(c, "attendance_marks", System::OmniForge);
    let enrolled = d
        .students
        .iter()
        .filter(|s| s.enrolled_on < morning().date_naive())
        .count() as u64;
    assert_eq!(yesterday_marks, enrolled);
    no_429(&sims, System::OmniForge);
    let sent = sims
        .shared
        .recorder
        .requests_for(schooldesk_sim::SystemKind::OmniForge);
    assert_eq!(s.requests, sent.len() as u64);
    // Lists at 200 a page, then one call per student for guardian links.
    assert_eq!(
        requests_to(&sims, System::OmniForge, "/guardians"),
        STUDENTS
    );
    assert!(s.requests < STUDENTS as u64 + 120, "{}", s.requests);
    assert_eq!(s.rows["students"], STUDENTS as u64);
    // At 60 a minute, about 2,100 requests take at least 35 minutes of (simulated) time.
    assert!(s.duration.as_secs() >= 34 * 60, "{:?}", s.duration);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerschool_full_sync() {
    let sims = start(STUDENTS).await;
    let t = cache();
    let s = sync(&t.cache, &sims, System::PowerSchool, SyncMode::Full).await;
    assert!(s.completed, "{s:?}");
    let c = &t.cache;
    let submissions = sims.powerschool_admin.submission_ids(101).len();
    assert_eq!(
        count(c, "enrollment_records", System::PowerSchool),
        (STUDENTS + submissions) as u64
    );
    let roster = c
        .enrollment_records(System::PowerSchool, Some(EnrollmentRecordKind::Roster))
        .unwrap();
    assert_eq!(roster.len(), STUDENTS);
    assert!(roster.iter().all(|r| r.external_student_id.is_some()));
    assert_eq!(count(c, "checklists", System::PowerSchool), 2);
    assert!(count(c, "checklist_entries", System::PowerSchool) > 0);
    assert_eq!(
        count(c, "documents", System::PowerSchool),
        sims.powerschool_admin.document_ids().len() as u64
    );
    no_429(&sims, System::PowerSchool);
    // 1 + an import-schema list per action (2) + 4 roster pages + 3 submission pages + 1
    // empty action x2 lists... + checklists.
    assert!(s.requests <= 17, "{}", s.requests);
    // The import schemas are kept, so roster records can be checked before they are queued.
    let schema = c.import_schema("101", "1").unwrap();
    assert!(
        schema.is_some_and(|s| s.fields.iter().any(|f| f == "stu_ExternalID")),
        "import schema 1 of action 101 is stored with its fields"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_full_sync_drops_password_and_ssn() {
    let sims = start(STUDENTS).await;
    let t = cache();
    let s = sync(&t.cache, &sims, System::Matrix, SyncMode::Full).await;
    assert!(s.completed, "{s:?}");
    let d = &sims.district;
    let c = &t.cache;
    let classes: Vec<_> = d.sections.iter().filter(|s| !s.is_homeroom).collect();
    assert_eq!(count(c, "students", System::Matrix), STUDENTS as u64);
    assert_eq!(
        count(c, "guardians", System::Matrix),
        d.guardians.len() as u64
    );
    assert_eq!(count(c, "sections", System::Matrix), classes.len() as u64);
    let roster_rows: usize = classes.iter().map(|s| s.students.len()).sum();
    assert_eq!(count(c, "enrollments", System::Matrix), roster_rows as u64);
    assert!(count(c, "grades", System::Matrix) > 0);
    assert!(count(c, "attendance_marks", System::Matrix) > 0);
    no_429(&sims, System::Matrix);
    assert!(sims.matrix_admin.disabled_until().is_none());
    // Never stored: not in any student's or guardian's source JSON.
    for st in c.students(&Default::default()).unwrap() {
        if st.source.system == System::Matrix {
            assert!(st.source.raw.get("password").is_none());
            assert!(st.source.raw.get("ssn").is_none());
        }
    }
    let guardians = c
        .guardians_of(
            System::Matrix,
            &sims.matrix_admin.user_id_of_student(0).to_string(),
        )
        .unwrap();
    assert!(!guardians.is_empty());
    for (g, _) in guardians {
        assert!(g.source.raw.get("ssn").is_none() && g.source.raw.get("password").is_none());
    }
    // 100 a page for lists, then roster, grades and today's register per class.
    let minimum = 3 * classes.len() as u64;
    assert!(
        s.requests >= minimum && s.requests < minimum + 60,
        "{}",
        s.requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubmis_full_sync_with_learning_support() {
    let sims = start(STUDENTS).await;
    let t = cache();
    let s = sync(&t.cache, &sims, System::Hubmis, SyncMode::Full).await;
    assert!(s.completed, "{s:?}");
    let d = &sims.district;
    let c = &t.cache;
    assert_eq!(count(c, "students", System::Hubmis), STUDENTS as u64);
    assert_eq!(
        count(c, "guardians", System::Hubmis),
        d.guardians.len() as u64
    );
    let links: usize = d.students.iter().map(|s| s.guardians.len()).sum();
    assert_eq!(count(c, "student_guardians", System::Hubmis), links as u64);
    let homerooms = d.sections.iter().filter(|s| s.is_homeroom).count();
    assert_eq!(count(c, "sections", System::Hubmis), homerooms as u64);
    assert_eq!(count(c, "enrollments", System::Hubmis), STUDENTS as u64);
    assert_eq!(count(c, "schools", System::Hubmis), d.schools.len() as u64);
    let with_ls = sims.hubmis_admin.students_with_learning_support();
    let records: usize = with_ls
        .iter()
        .map(|s| sims.hubmis_admin.learning_support_record_ids(*s).len())
        .sum();
    let reviews: usize = with_ls
        .iter()
        .map(|s| sims.hubmis_admin.learning_support_review_ids(*s).len())
        .sum();
    assert_eq!(
        count(c, "learning_support_records", System::Hubmis),
        records as u64
    );
    assert_eq!(
        count(c, "learning_support_reviews", System::Hubmis),
        reviews as u64
    );
    assert_eq!(count(c, "attendance_codes", System::Hubmis), 17);
    no_429(&sims, System::Hubmis);
    // Lists at 1,000 a page; per student only the review lists of students with records.
    assert_eq!(
        requests_to(&sims, System::Hubmis, "/learning-support/reviews"),
        with_ls.len()
    );
    assert!(
        // Also per tutor group its members, per pupil today's register and contacts (phones),
        // and a token every quarter hour of those hours.
        s.requests
            <= with_ls.len() as u64
                + homerooms as u64
                + 2 * STUDENTS as u64
                + sims.hubmis_admin.tokens_issued() as u64
                + 15,
        "{} requests for {} students with learning support",
        s.requests,
        with_ls.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn learning_support_is_synced_only_when_turned_on() {
    let sims = start(200).await;
    let t = cache();
    let (mut c, secret) = connection(&sims, System::Hubmis);
    c.learning_support_enabled = false;
    let connector = connector(&sims, &c, secret);
    let s = schooldesk_sync::pull::sync_system(
        &t.cache,
        &connector,
        &c,
        SyncMode::Full,
        &SyncContext::default(),
    )
    .await;
    assert!(s.completed);
    assert_eq!(
        count(&t.cache, "learning_support_records", System::Hubmis),
        0
    );
    assert_eq!(requests_to(&sims, System::Hubmis, "learning-support"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_four_together_and_disagreements_listed_for_review() {
    let sims = start(STUDENTS).await;
    let t = cache();
    let pairs: Vec<_> = System::ALL.iter().map(|s| pair(&sims, *s)).collect();
    let report = sync_all(&t.cache, &pairs, SyncMode::Full, &SyncContext::default()).await;
    for s in &report.systems {
        assert!(s.completed, "{s:?}");
        no_429(&sims, s.system);
    }
    for system in [System::OmniForge, System::Matrix, System::Hubmis] {
        assert_eq!(count(&t.cache, "students", system), STUDENTS as u64);
    }
    // Every difference the district was generated with, and nothing else.
    let field = |f: DisagreementField| match f {
        DisagreementField::FamilyName => "family_name",
        DisagreementField::Grade => "grade",
        DisagreementField::DateOfBirth => "date_of_birth",
    };
    let expected: BTreeSet<(String, String)> = sims
        .district
        .students
        .iter()
        .flat_map(|s| {
            s.disagreements
                .iter()
                .map(|d| (s.external_id.clone(), field(d.field).to_string()))
        })
        .collect();
    let listed = t.cache.disagreements().unwrap();
    let found: BTreeSet<(String, String)> = listed
        .iter()
        .map(|d| (d.external_id.clone(), d.field.clone()))
        .collect();
    assert_eq!(found, expected);
    assert_eq!(report.disagreements, expected.len());
    // Each lists the differing value and the system it came from; nothing was merged.
    let d = listed.first().unwrap();
    assert!(d.values.len() >= 2, "{d:?}");
}
