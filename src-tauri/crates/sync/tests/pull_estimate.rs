//! The estimate made before a sync against what the sync then did.

mod pull_support;

use pull_support::*;
use schooldesk_domain::System;
use schooldesk_sync::estimate::{for_connection, Basis};
use schooldesk_sync::pull::SyncMode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn estimates_from_the_cache_match_the_next_sync() {
    let sims = start(600).await;
    let t = cache();
    for system in System::ALL {
        let (_, connection) = pair(&sims, system);
        let before = for_connection(&t.cache, &connection, SyncMode::Full, Some(600)).unwrap();
        assert_eq!(before.basis, Basis::Assumed(600));

        let first = sync(&t.cache, &sims, system, SyncMode::Full).await;
        assert!(first.completed, "{first:?}");
        let guess = for_connection(&t.cache, &connection, SyncMode::Full, None).unwrap();
        assert_eq!(guess.basis, Basis::Cache);
        let again = sync(&t.cache, &sims, system, SyncMode::Full).await;
        assert!(again.completed);
        let (est, real) = (guess.requests as f64, again.requests as f64);
        assert!(
            (est - real).abs() <= (real * 0.1).max(3.0),
            "{system}: estimated {est}, used {real}: {:?}",
            guess.parts
        );
        // The time floor is one the sync really had to respect.
        assert!(
            again.duration >= guess.floor.mul_f64(0.9),
            "{system}: {:?} < {:?}",
            again.duration,
            guess.floor
        );
        // Even before the first sync, the guess for a district of the right size is close.
        let ratio = before.requests as f64 / first.requests as f64;
        assert!(
            (0.6..1.6).contains(&ratio),
            "{system}: {} vs {}",
            before.requests,
            first.requests
        );
    }
    let (_, hub) = pair(&sims, System::Hubmis);
    let text = for_connection(&t.cache, &hub, SyncMode::Full, None)
        .unwrap()
        .to_string();
    assert!(text.starts_with("WCBS HUBmis: about "), "{text}");
    assert!(text.contains(" requests, at least "), "{text}");
    assert!(text.ends_with(" a minute"), "{text}");
}
