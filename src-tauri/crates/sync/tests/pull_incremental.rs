//! Incremental syncs fetch only what changed: asserted on the requests the simulators served.

mod pull_support;

use pull_support::*;
use schooldesk_domain::System;
use schooldesk_sim::omniforge::PersonChange;
use schooldesk_sim::SystemKind;
use schooldesk_sync::pull::SyncMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn omniforge_incremental_asks_for_changes_since_the_last_sync() {
    let sims = start(500).await;
    let t = cache();
    let full = sync(&t.cache, &sims, System::OmniForge, SyncMode::Full).await;
    assert!(full.completed, "{full:?}");

    // Someone edits three students in the SIS; a student leaves a class.
    let d = &sims.district;
    let changed: Vec<&str> = [10, 20, 30]
        .iter()
        .map(|i| d.students[*i].uuid.as_str())
        .collect();
    for id in &changed {
        sims.omniforge_admin.update_person(
            id,
            PersonChange {
                family_name: Some("Renamed".into()),
                ..Default::default()
            },
        );
    }
    let leaver = &d.students[40];
    let class = &d.sections[leaver.sections[1]];
    let today = sims.shared.clock.now().date_naive();
    assert!(sims
        .omniforge_admin
        .end_enrollment(&leaver.uuid, &class.uuid, today));
    let before = t.cache.enrollments(System::OmniForge, &class.uuid).unwrap();
    assert!(before.iter().any(|e| e.student_source_id == leaver.uuid));
    sims.shared.recorder.clear();

    let inc = sync(&t.cache, &sims, System::OmniForge, SyncMode::Incremental).await;
    assert!(inc.completed, "{inc:?}");
    assert_eq!(inc.mode, SyncMode::Incremental);
    let reqs = sims.shared.recorder.requests_for(SystemKind::OmniForge);
    let lists: Vec<_> = reqs
        .iter()
        .filter(|r| !r.path.contains("/guardians"))
        .collect();
    assert!(
        lists
            .iter()
            .filter(|r| r.path.ends_with("/persons") || r.path.ends_with("/enrollments"))
            .all(|r| r.query.contains("updatedSince=")),
        "{:?}",
        lists.iter().map(|r| &r.query).collect::<Vec<_>>()
    );
    // Guardian links only for the three changed students.
    assert_eq!(requests_to(&sims, System::OmniForge, "/guardians"), 3);
    assert!(
        inc.requests <= 12,
        "{} requests: {:?}",
        inc.requests,
        reqs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(full.requests > 500);

    for id in &changed {
        let s = t.cache.student(System::OmniForge, id).unwrap().unwrap();
        assert_eq!(s.family_name, "Renamed");
    }
    let after = t.cache.enrollments(System::OmniForge, &class.uuid).unwrap();
    assert!(!after.iter().any(|e| e.student_source_id == leaver.uuid));
    assert_eq!(after.len(), before.len() - 1);
    assert_eq!(count(&t.cache, "students", System::OmniForge), 500);
}

// Matrix has no change filter and a class record does not change with its roster, marks or
// grades: every class is asked once for each (see incremental_registers.rs), never more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_incremental_asks_each_class_once_and_no_more_than_a_full_sync() {
    let sims = start(300).await;
    let t = cache();
    let full = sync(&t.cache, &sims, System::Matrix, SyncMode::Full).await;
    assert!(full.completed, "{full:?}");
    // Each sync here has its own connector, whose pacing knows nothing of the other's calls
    // (the desk shares it through a file): the next sync comes a minute later, as scheduled.
    sims.shared
        .clock
        .advance(std::time::Duration::from_secs(60));
    sims.shared.recorder.clear();
    let inc = sync(&t.cache, &sims, System::Matrix, SyncMode::Incremental).await;
    assert!(inc.completed, "{inc:?}");
    let classes = sims.matrix_admin.class_ids().len();
    assert_eq!(
        requests_to(&sims, System::Matrix, "get_students_for_class"),
        classes
    );
    assert_eq!(
        requests_to(&sims, System::Matrix, "get_grades_for_class"),
        classes
    );
    assert!(
        inc.requests <= full.requests,
        "{} vs {}",
        inc.requests,
        full.requests
    );
    assert_eq!(count(&t.cache, "students", System::Matrix), 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hubmis_incremental_skips_reviews_of_unchanged_records() {
    let sims = start(300).await;
    let t = cache();
    let full = sync(&t.cache, &sims, System::Hubmis, SyncMode::Full).await;
    assert!(full.completed, "{full:?}");
    assert!(requests_to(&sims, System::Hubmis, "/learning-support/reviews") > 10);
    sims.shared.recorder.clear();
    let inc = sync(&t.cache, &sims, System::Hubmis, SyncMode::Incremental).await;
    assert!(inc.completed, "{inc:?}");
    assert_eq!(
        requests_to(&sims, System::Hubmis, "/learning-support/reviews"),
        0
    );
    // Lists, plus what HUBmis has no list for: each tutor group's members and each pupil's
    // register (per pupil is its only attendance route). No pupil's contacts are read again.
    let groups = count(&t.cache, "sections", System::Hubmis);
    assert!(inc.requests <= 8 + groups + 300, "{}", inc.requests);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incremental_sync_before_any_full_one_reads_everything() {
    let sims = start(100).await;
    let t = cache();
    let inc = sync(&t.cache, &sims, System::OmniForge, SyncMode::Incremental).await;
    assert!(inc.completed, "{inc:?}");
    assert_eq!(count(&t.cache, "students", System::OmniForge), 100);
    assert_eq!(requests_to(&sims, System::OmniForge, "/guardians"), 100);
}
