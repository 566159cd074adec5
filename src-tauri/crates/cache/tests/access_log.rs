//! The access log keeps every export and learning-support view, newest first, in the
//! encrypted cache.

mod common;

use chrono::{TimeZone, Utc};
use common::*;
use schooldesk_cache::{AccessAction, Cache, CacheError, NewAccess};

fn access(minute: u32, what: &str) -> NewAccess {
    NewAccess {
        at: Utc.with_ymd_and_hms(2025, 9, 1, 8, minute, 0).unwrap(),
        action: AccessAction::Export,
        what: what.into(),
        detail: "omniforge:sec-1, pdf".into(),
        students: vec!["omniforge:s-1".into(), "omniforge:s-2".into()],
        destination: Some("/home/office/register.pdf".into()),
        by_whom: Some("office".into()),
    }
}

#[test]
fn accesses_are_kept_newest_first_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = db_path(dir.path());
    let cache = Cache::open_with_key(&db, &key(5)).unwrap();
    let first = cache.record_access(&access(1, "register")).unwrap();
    let mut view = access(2, "learning_support");
    view.action = AccessAction::View;
    view.destination = None;
    let second = cache.record_access(&view).unwrap();
    drop(cache);

    let cache = Cache::open_with_key(&db, &key(5)).unwrap();
    let log = cache.access_log(None).unwrap();
    assert_eq!(
        log.iter().map(|e| e.id).collect::<Vec<_>>(),
        [second, first]
    );
    assert_eq!(log[0].access, view);
    assert_eq!(log[1].access, access(1, "register"));
    assert_eq!(cache.access_log(Some(1)).unwrap().len(), 1);
}

#[test]
fn an_access_that_says_nothing_is_refused_and_nothing_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let cache = Cache::open_with_key(&db_path(dir.path()), &key(6)).unwrap();
    assert!(matches!(
        cache.record_access(&access(1, "  ")).unwrap_err(),
        CacheError::InvalidInput(_)
    ));
    assert!(cache.access_log(None).unwrap().is_empty());
}
