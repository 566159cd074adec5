//! Rows a system stops returning leave the cache after a complete pass — unless there are
//! more than the guardrail allows, when they wait for a person to confirm.

mod pull_support;
use pull_support::*;

use schooldesk_domain::System;
use schooldesk_sync::pull::SyncMode;

fn later(sims: &schooldesk_sim::Simulators) {
    sims.shared
        .clock
        .advance(std::time::Duration::from_secs(300));
}

fn withdrawn(sims: &schooldesk_sim::Simulators, n: usize, skip: usize) -> Vec<String> {
    let ids: Vec<String> = sims
        .district
        .students
        .iter()
        .skip(skip)
        .take(n)
        .map(|s| s.external_id.clone())
        .collect();
    assert_eq!(
        sims.powerschool_admin.withdraw(&ids),
        n,
        "the simulator withdrew them"
    );
    // Syncs are minutes apart; the frozen test clock must say so, as pass times order rows.
    later(sims);
    ids
}

// REGRESSION: a record PowerSchool stopped returning (a family withdrew) stayed in the cache
// for good, so the desk kept listing a child who had left.
#[tokio::test]
async fn a_withdrawn_record_leaves_the_cache_after_the_next_sync() {
    let sims = start(200).await;
    let c = cache();
    let first = sync(&c.cache, &sims, System::PowerSchool, SyncMode::Full).await;
    assert!(first.completed, "{first:?}");
    let before = count(&c.cache, "enrollment_records", System::PowerSchool);
    assert!(before > 100, "{before}");

    withdrawn(&sims, 2, 0);
    let second = sync(&c.cache, &sims, System::PowerSchool, SyncMode::Incremental).await;
    assert!(second.completed, "{second:?}");
    assert_eq!(
        second.removed.get("enrollment_records"),
        Some(&2),
        "{second:?}"
    );
    assert!(second.held_removals.is_empty(), "{second:?}");
    assert_eq!(
        count(&c.cache, "enrollment_records", System::PowerSchool),
        before - 2
    );

    // Nothing else gone: a third sync of the same data removes nothing.
    later(&sims);
    let third = sync(&c.cache, &sims, System::PowerSchool, SyncMode::Incremental).await;
    assert!(third.removed.is_empty(), "{third:?}");
    assert_eq!(
        count(&c.cache, "enrollment_records", System::PowerSchool),
        before - 2
    );
}

#[tokio::test]
async fn more_removals_than_the_guardrail_wait_for_a_person_to_confirm() {
    let sims = start(200).await;
    let c = cache();
    sync(&c.cache, &sims, System::PowerSchool, SyncMode::Full).await;
    let before = count(&c.cache, "enrollment_records", System::PowerSchool);

    withdrawn(&sims, 60, 10);
    let held = sync(&c.cache, &sims, System::PowerSchool, SyncMode::Incremental).await;
    assert!(held.completed, "{held:?}");
    assert_eq!(
        held.held_removals.get("enrollment_records"),
        Some(&60),
        "{held:?}"
    );
    assert!(held.removed.is_empty(), "{held:?}");
    assert!(
        held.describe().contains("--confirm-removals"),
        "the summary says how to confirm: {}",
        held.describe()
    );
    // Held, not removed.
    assert_eq!(
        count(&c.cache, "enrollment_records", System::PowerSchool),
        before
    );
    assert_eq!(
        c.cache.held_removals(System::PowerSchool).unwrap(),
        vec![("enrollment_records".to_string(), 60)]
    );

    // A person confirms: the 60 go, nothing else does.
    assert_eq!(
        c.cache.confirm_held_removals(System::PowerSchool).unwrap(),
        60
    );
    assert_eq!(
        count(&c.cache, "enrollment_records", System::PowerSchool),
        before - 60
    );
    assert!(c
        .cache
        .held_removals(System::PowerSchool)
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn a_held_row_that_comes_back_is_not_removed_on_confirmation() {
    let sims = start(200).await;
    let c = cache();
    sync(&c.cache, &sims, System::PowerSchool, SyncMode::Full).await;
    let before = count(&c.cache, "enrollment_records", System::PowerSchool);
    withdrawn(&sims, 60, 0);
    let held = sync(&c.cache, &sims, System::PowerSchool, SyncMode::Incremental).await;
    assert_eq!(held.held_removals.get("enrollment_records"), Some(&60));

    // The next sync sees the same 60 missing: still held (replaced, not doubled).
    later(&sims);
    let again = sync(&c.cache, &sims, System::PowerSchool, SyncMode::Incremental).await;
    assert_eq!(again.held_removals.get("enrollment_records"), Some(&60));
    assert_eq!(
        c.cache.held_removals(System::PowerSchool).unwrap(),
        vec![("enrollment_records".to_string(), 60)]
    );
    assert_eq!(
        count(&c.cache, "enrollment_records", System::PowerSchool),
        before
    );
}
