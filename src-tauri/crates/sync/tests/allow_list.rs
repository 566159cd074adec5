//! Data minimisation, end to end: HUBmis synced into a real encrypted cache (its key in the
//! keychain, as the app keeps it), then every text of every table of the decrypted file
//! searched for what must not be there. Run under `scripts/with-keyring.sh`.

mod pull_support;

use std::path::Path;

use pull_support::*;
use schooldesk_cache::allow_list::{medical_alerts, MEDICAL_ALERTS_KEY};
use schooldesk_cache::{Cache, CacheKey, Keychain, StudentQuery};
use schooldesk_connectors::hubmis::{ListQuery, MAX_PAGE};
use schooldesk_connectors::Connector;
use schooldesk_domain::System;
use schooldesk_sync::pull::{sync_system, SyncContext, SyncMode};
use serde_json::Value;
use std::sync::Arc;

const STUDENTS: usize = 150;

/// Every value of every column of every table (shadow tables of the name search included),
/// as text, one per line.
fn everything_in(db: &Path, key: &CacheKey) -> String {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.to_hex().as_str()))
        .unwrap();
    conn.execute_batch("PRAGMA cipher_compatibility = 4;")
        .unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(tables.iter().any(|t| t == "students"), "{tables:?}");
    let mut out = String::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let width = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for i in 0..width {
                match row.get_ref(i).unwrap() {
                    rusqlite::types::ValueRef::Text(t) | rusqlite::types::ValueRef::Blob(t) => {
                        out.push_str(&String::from_utf8_lossy(t));
                        out.push('\n');
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

/// The string leaves of `v` long enough not to be found by chance.
fn leaves(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() >= 4 => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| leaves(i, out)),
        Value::Object(m) => m.values().for_each(|i| leaves(i, out)),
        _ => {}
    }
}

struct Pupils {
    /// What the simulator sends of faith, religion and ethnicity: keys and values.
    never: Vec<String>,
    /// The learning-support summaries and EHCP flags sent on pupils.
    learning_support: Vec<String>,
    /// The medical conditions sent on pupils.
    medical: Vec<String>,
    /// A first name, to prove the search sees the students table.
    a_first_name: String,
}

/// Reads the pupils as HUBmis sends them, to know what to search for.
async fn pupils_as_sent(connector: &Connector) -> Pupils {
    let Connector::Hubmis(h) = connector else {
        unreachable!("a HUBmis connector")
    };
    let q = ListQuery::page(1, MAX_PAGE).filter("enrolmentStatus", "current");
    let list = h.students(&q).await.expect("students");
    assert_eq!(list.len(), STUDENTS);
    let mut p = Pupils {
        never: vec![
            "\"faith\"".into(),
            "\"religion\"".into(),
            "\"ethnicity\"".into(),
        ],
        learning_support: vec![
            "\"learning_support_record_summary\"".into(),
            "\"ehcp\"".into(),
        ],
        medical: vec![format!("\"{MEDICAL_ALERTS_KEY}\"")],
        a_first_name: String::new(),
    };
    for item in &list {
        let raw = &item.raw;
        // The premise: HUBmis does send these on every pupil.
        for key in [
            "faith",
            "ethnicity",
            "learning_support_record_summary",
            MEDICAL_ALERTS_KEY,
        ] {
            assert!(
                raw.get(key).is_some(),
                "the simulator no longer sends {key}"
            );
        }
        for key in ["faith", "religion", "ethnicity"] {
            leaves(raw.get(key).unwrap_or(&Value::Null), &mut p.never);
        }
        // The type names ("Dyslexia", …): words found nowhere else in a school's data.
        for s in raw["learning_support_record_summary"]
            .as_array()
            .into_iter()
            .flatten()
        {
            leaves(&s["learning_support_type"]["name"], &mut p.learning_support);
        }
        leaves(&raw[MEDICAL_ALERTS_KEY], &mut p.medical);
        if let Some(name) = raw["first_name"].as_str().filter(|n| n.len() >= 4) {
            p.a_first_name = name.to_string();
        }
    }
    // Some pupils have learning support: their summaries name its type ("Dyslexia", …).
    assert!(p.learning_support.len() > 2, "{:?}", p.learning_support);
    assert!(!p.a_first_name.is_empty());
    p
}

fn found<'a>(text: &str, needles: &'a [String]) -> Vec<&'a String> {
    needles
        .iter()
        .filter(|n| text.contains(n.as_str()))
        .collect()
}

struct Desk {
    dir: tempfile::TempDir,
    keychain: Keychain,
    cache: Arc<Cache>,
}

impl Desk {
    fn open() -> Desk {
        let dir = tempfile::tempdir().unwrap();
        let keychain = Keychain::for_data_dir(dir.path());
        let cache = Cache::open(dir.path(), &keychain).unwrap_or_else(|e| {
            panic!("run under scripts/with-keyring.sh (a keychain is needed): {e}")
        });
        Desk {
            dir,
            keychain,
            cache: Arc::new(cache),
        }
    }

    fn everything(&self) -> String {
        let key = self.keychain.get_cache_key().unwrap().expect("the key");
        everything_in(&Cache::db_path(self.dir.path()), &key)
    }
}

impl Drop for Desk {
    fn drop(&mut self) {
        let _ = schooldesk_cache::reset(self.dir.path(), &self.keychain);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_decrypted_cache_holds_sensitive_data_only_while_the_school_chose_it() {
    let sims = start(STUDENTS).await;
    let desk = Desk::open();
    let (mut c, secret) = connection(&sims, System::Hubmis);
    let connector = connector(&sims, &c, secret);
    let pupils = pupils_as_sent(&connector).await;
    let sync = |c: schooldesk_connectors::Connection| {
        let cache = desk.cache.clone();
        let connector = &connector;
        async move {
            remember(&cache, &c);
            let s = sync_system(
                &cache,
                connector,
                &c,
                SyncMode::Full,
                &SyncContext::default(),
            )
            .await;
            assert!(s.completed, "{s:?}");
        }
    };

    // A new school: both options off.
    c.learning_support_enabled = false;
    c.medical_alerts_enabled = false;
    sync(c.clone()).await;
    let all = desk.everything();
    assert!(
        all.contains(&pupils.a_first_name),
        "the search reads the students"
    );
    assert_eq!(found(&all, &pupils.never), Vec::<&String>::new());
    assert_eq!(found(&all, &pupils.learning_support), Vec::<&String>::new());
    assert_eq!(found(&all, &pupils.medical), Vec::<&String>::new());
    assert_eq!(
        count(&desk.cache, "learning_support_records", System::Hubmis),
        0
    );

    // Both on: summaries, EHCP flags and medical conditions are kept; faith never.
    c.learning_support_enabled = true;
    c.medical_alerts_enabled = true;
    sync(c.clone()).await;
    let all = desk.everything();
    assert_eq!(
        found(&all, &pupils.learning_support).len(),
        pupils.learning_support.len(),
        "every summary kept: {:?}",
        pupils.learning_support
    );
    assert_eq!(
        found(&all, &pupils.medical).len(),
        pupils.medical.len(),
        "medical conditions kept"
    );
    assert_eq!(found(&all, &pupils.never), Vec::<&String>::new());
    assert!(count(&desk.cache, "learning_support_records", System::Hubmis) > 0);
    assert!(count(&desk.cache, "learning_support_reviews", System::Hubmis) > 0);
    let students = desk
        .cache
        .students(&StudentQuery {
            system: Some(System::Hubmis),
            ..StudentQuery::default()
        })
        .unwrap();
    assert_eq!(students.len(), STUDENTS);
    assert!(
        students.iter().all(|s| medical_alerts(s).is_some()),
        "each student carries its medical alerts for the student page"
    );

    // Medical alerts off (learning support still on): only the medical conditions go.
    c.medical_alerts_enabled = false;
    remember(&desk.cache, &c);
    let all = desk.everything();
    assert_eq!(found(&all, &pupils.medical), Vec::<&String>::new());
    assert_eq!(
        found(&all, &pupils.learning_support).len(),
        pupils.learning_support.len()
    );

    // Learning support off: records, reviews, summaries and EHCP flags are deleted at once,
    // without waiting for a sync.
    c.learning_support_enabled = false;
    remember(&desk.cache, &c);
    let all = desk.everything();
    assert_eq!(found(&all, &pupils.learning_support), Vec::<&String>::new());
    assert_eq!(found(&all, &pupils.medical), Vec::<&String>::new());
    assert_eq!(found(&all, &pupils.never), Vec::<&String>::new());
    assert_eq!(
        count(&desk.cache, "learning_support_records", System::Hubmis),
        0
    );
    assert_eq!(
        count(&desk.cache, "learning_support_reviews", System::Hubmis),
        0
    );
    assert_eq!(
        count(&desk.cache, "students", System::Hubmis),
        STUDENTS as u64
    );
}
