//! The people list reads every student record of a large district in one query.

mod common;

use std::collections::BTreeMap;

use chrono::Duration;
use common::*;
use schooldesk_cache::Cache;
use schooldesk_domain::System;

const CHILDREN: usize = 50_000;

#[test]
fn fifty_thousand_children_in_three_systems_are_read_in_one_pass_sorted_with_homerooms() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with_key(&db_path(dir.path()), &key(41)).unwrap();
    cache
        .upsert_sections(&[section(System::OmniForge, "hr-1", "Homeroom 7A")])
        .unwrap();
    let systems = [System::OmniForge, System::PowerSchool, System::Matrix];
    for (n, system) in systems.into_iter().enumerate() {
        let rows: Vec<_> = (0..CHILDREN)
            .map(|i| {
                let mut s = student(system, &format!("{system}-{i}"), "Ana", &format!("F{i:05}"));
                s.external_id = Some(format!("E{i}"));
                s.homeroom = Some("hr-1".into());
                // One system fetched later than the others: that is "as of".
                s.source.fetched_at = t0() + Duration::minutes(n as i64);
                s
            })
            .collect();
        cache
            .with_transaction(|tx| tx.upsert_students(&rows))
            .unwrap();
    }
    // A child only HUBmis knows, with no external id and a homeroom not cached.
    let mut lone = student(System::Hubmis, "h-1", "Bo", "A-first");
    lone.external_id = Some("  ".into());
    lone.homeroom = Some("10X".into());
    cache.upsert_students(&[lone]).unwrap();

    let read = cache.person_records().unwrap();
    assert_eq!(read.records.len(), CHILDREN * 3 + 1);
    assert_eq!(read.newest_fetch, Some(t0() + Duration::minutes(2)));
    let first = &read.records[0];
    assert_eq!(
        (first.system, first.source_id.as_str()),
        (System::Hubmis, "h-1")
    );
    assert_eq!(first.external_id, None, "a blank external id is none");
    assert_eq!(first.homeroom.as_deref(), Some("10X"));
    // Sorted by family name: each child's three records are together.
    let mut by_external: BTreeMap<&str, Vec<System>> = BTreeMap::new();
    for r in &read.records[1..] {
        // The section is OmniForge's: another system's "hr-1" is not that section.
        let homeroom = match r.system {
            System::OmniForge => "Homeroom 7A",
            _ => "hr-1",
        };
        assert_eq!(r.homeroom.as_deref(), Some(homeroom), "{r:?}");
        by_external
            .entry(r.external_id.as_deref().unwrap())
            .or_default()
            .push(r.system);
    }
    assert_eq!(by_external.len(), CHILDREN);
    assert!(by_external.values_mut().all(|s| {
        s.sort();
        s == &systems
    }));
    assert!(read.records[1..]
        .windows(2)
        .all(|w| w[0].family_name <= w[1].family_name));
    let homerooms = cache.homeroom_sections().unwrap();
    assert!(homerooms.contains(&(System::OmniForge, "hr-1".to_string())));
    assert!(homerooms.contains(&(System::Hubmis, "10X".to_string())));
}
