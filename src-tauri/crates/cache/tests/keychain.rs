//! The REAL keychain backend. On Linux run under `scripts/with-keyring.sh`, which starts a
//! throwaway, unlocked gnome-keyring in a private D-Bus session.

mod common;

use common::keychain_for;
use schooldesk_cache::{CacheError, KeychainProblem};

#[test]
fn secrets_round_trip_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let kc = keychain_for(dir.path());
    assert!(kc.get_secret("omniforge.api_key").unwrap().is_none());

    let secret = format!("fsis_secret_{}", "ab12".repeat(16));
    kc.set_secret("omniforge.api_key", &secret).unwrap();
    assert_eq!(
        kc.get_secret("omniforge.api_key")
            .unwrap()
            .as_deref()
            .map(String::as_str),
        Some(secret.as_str())
    );
    // Replacing keeps one entry.
    kc.set_secret("omniforge.api_key", "pässwörd ✓").unwrap();
    assert_eq!(
        kc.get_secret("omniforge.api_key")
            .unwrap()
            .unwrap()
            .as_str(),
        "pässwörd ✓"
    );

    kc.delete_secret("omniforge.api_key").unwrap();
    assert!(kc.get_secret("omniforge.api_key").unwrap().is_none());
    // Deleting what is not there is fine.
    kc.delete_secret("omniforge.api_key").unwrap();

    let err = kc.set_secret(" ", "x").unwrap_err();
    assert!(matches!(err, CacheError::InvalidInput(_)), "{err:?}");
}

#[test]
fn entries_of_two_data_directories_never_mix() {
    let a_dir = tempfile::tempdir().unwrap();
    let b_dir = tempfile::tempdir().unwrap();
    let a = keychain_for(a_dir.path());
    let b = keychain_for(b_dir.path());
    assert_ne!(a.scope(), b.scope());

    a.set_secret("hubmis.client_secret", "for-a").unwrap();
    b.set_secret("hubmis.client_secret", "for-b").unwrap();
    assert_eq!(
        a.get_secret("hubmis.client_secret")
            .unwrap()
            .unwrap()
            .as_str(),
        "for-a"
    );
    assert_eq!(
        b.get_secret("hubmis.client_secret")
            .unwrap()
            .unwrap()
            .as_str(),
        "for-b"
    );

    let key_a = a.create_cache_key(&mut rand::rngs::OsRng).unwrap();
    assert!(b.get_cache_key().unwrap().is_none());
    b.delete_cache_key().unwrap();
    assert_eq!(a.get_cache_key().unwrap(), Some(key_a));

    a.delete_secret("hubmis.client_secret").unwrap();
    assert_eq!(
        b.get_secret("hubmis.client_secret")
            .unwrap()
            .unwrap()
            .as_str(),
        "for-b"
    );
    a.delete_cache_key().unwrap();
    b.delete_secret("hubmis.client_secret").unwrap();
    assert!(a.get_cache_key().unwrap().is_none());
}

#[test]
fn a_cache_key_is_created_once_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let kc = keychain_for(dir.path());
    assert!(kc.get_cache_key().unwrap().is_none());
    let key = kc.create_cache_key(&mut rand::rngs::OsRng).unwrap();
    assert_eq!(kc.get_cache_key().unwrap(), Some(key.clone()));
    assert!(!format!("{key:?}").contains(key.to_hex().as_str()));
    // The keychain stores the hex form under the scoped account.
    assert_eq!(kc.cache_key_account(), format!("cache-key@{}", kc.scope()));
    kc.delete_cache_key().unwrap();
    assert!(kc.get_cache_key().unwrap().is_none());
}

#[test]
fn a_cache_key_entry_that_is_not_a_key_is_reported_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let kc = keychain_for(dir.path());
    // Forge the entry the way another program could.
    keyring::Entry::new("schooldesk", &kc.cache_key_account())
        .unwrap()
        .set_password("not-a-key")
        .unwrap();
    let err = kc.get_cache_key().unwrap_err();
    match &err {
        CacheError::Keychain { problem, .. } => assert_eq!(*problem, KeychainProblem::Unreadable),
        other => panic!("expected a keychain error, got {other:?}"),
    }
    assert!(!err.to_string().contains("not-a-key"), "{err}");
    kc.delete_cache_key().unwrap();
}

/// With no keychain service at all, every call fails with a typed error whose message is a
/// sentence for the office and the technical detail after it. Runs itself again in a child
/// process pointed at a D-Bus address where nothing listens.
#[cfg(target_os = "linux")]
#[test]
fn no_keychain_service_is_a_typed_error_with_a_sentence() {
    const TEST: &str = "no_keychain_service_is_a_typed_error_with_a_sentence";
    if std::env::var_os("SCHOOLDESK_TEST_NO_KEYCHAIN").is_some() {
        let dir = tempfile::tempdir().unwrap();
        let kc = schooldesk_cache::Keychain::for_data_dir(dir.path());
        let err = schooldesk_cache::Cache::open(dir.path(), &kc).unwrap_err();
        let CacheError::Keychain { problem, detail } = &err else {
            panic!("expected a keychain error, got {err:?}");
        };
        assert!(
            matches!(
                problem,
                KeychainProblem::Unavailable | KeychainProblem::Locked
            ),
            "{problem:?}"
        );
        let message = err.to_string();
        assert!(message.contains("keychain"), "{message}");
        assert!(message.contains("technical detail"), "{message}");
        assert!(!detail.is_empty());
        assert_eq!(err.code(), "cache.keychain");
        // Nothing was created without a key.
        assert!(!schooldesk_cache::Cache::db_path(dir.path()).exists());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", TEST, "--nocapture", "--test-threads=1"])
        .env("SCHOOLDESK_TEST_NO_KEYCHAIN", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/schooldesk-test-bus",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
