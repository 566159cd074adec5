//! The emergency roll through Tauri's IPC (mock runtime, real config and capabilities) over a
//! real encrypted cache synced from the simulators (OmniForge and HUBmis), which are then
//! stopped: the roll is read with no network, as in a fire drill. Checks who is listed (a
//! child marked absent is not, everyone else on roll is, each once), their contacts and
//! may-collect against the cache, medical alerts shown only while the HUBmis option is on and
//! each showing recorded in the access log, and bad input refused with a sentence.
//! Run under `scripts/with-keyring.sh`.

// The simulators' demo configuration is left out of a lean build (`--no-default-features`).
#![cfg(feature = "demo")]

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use chrono::Utc;
use schooldesk_app::emergency::MEDICAL_ACCESS_WHAT;
use schooldesk_cache::allow_list::MEDICAL_ALERTS_KEY;
use schooldesk_cache::AccessAction;
use schooldesk_connectors::Connection;
use schooldesk_domain::{AttendanceStatus, System};
use schooldesk_sim::Simulators;
use schooldesk_sync::demo::{demo_sim_config, DemoOptions};
use schooldesk_sync::desk::MarkRequest;
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::Desk;
use serde_json::{json, Value};

mod common;
use common::{invoke, start};

/// A district synced into `data` and left with no network: what the test then looks for.
struct District {
    /// The OmniForge student marked absent today (`omniforge:<id>`) and their homeroom.
    absent: String,
    absent_homeroom: String,
    /// HUBmis records given a medical condition (`hubmis:<id>`).
    with_alerts: Vec<String>,
}

fn sync_district(data: &Path) -> District {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let desk = Desk::open(data).expect("open desk (run under scripts/with-keyring.sh)");
        let config = demo_sim_config(&DemoOptions {
            seed: 11,
            students: 120,
        });
        let sims = Simulators::start(config.clone()).await.expect("simulators");
        let now = Utc::now();
        for system in [System::OmniForge, System::Hubmis] {
            let (base, secret) = match system {
                System::OmniForge => (&sims.omniforge.base_url, config.omniforge.key().to_string()),
                _ => (&sims.hubmis.base_url, config.hubmis.client_secret.clone()),
            };
            let mut c = Connection::new(system, base.clone());
            c.settings.requests_per_minute = Some(60_000);
            c.settings.time_zone = Some("UTC".into());
            if system == System::Hubmis {
                c.realm = Some(config.hubmis.realm.clone());
                c.client_id = Some(config.hubmis.client_id.clone());
                c.medical_alerts_enabled = true;
            }
            desk.connect(&c, &secret, now).expect("connect");
        }
        let report = desk.sync(&[], SyncMode::Full, |_| {}).await.expect("sync");
        assert!(
            report.systems.iter().all(|s| s.completed),
            "the sync did not finish: {report:?}"
        );
        // The network goes: everything below is read from the cache alone.
        sims.shutdown();

        let cache = desk.cache();
        let today = now.date_naive();
        let pupils = cache.students(&Default::default()).expect("students");
        let child = pupils
            .iter()
            .find(|s| s.source.system == System::OmniForge && s.active && s.homeroom.is_some())
            .expect("an OmniForge student with a homeroom");
        desk.mark_attendance(
            &MarkRequest {
                student: format!("omniforge:{}", child.source.source_id),
                date: today,
                status: AttendanceStatus::Absent,
                section: child.homeroom.clone(),
                period: None,
                note: None,
                code: None,
                minutes_late: None,
            },
            now,
            uuid::Uuid::new_v4(),
        )
        .expect("mark absent");

        // The simulator sends every pupil's conditions empty: give three of them one, as
        // HUBmis would send it (kept because the option is on).
        let mut with_alerts = Vec::new();
        let mut changed = Vec::new();
        for s in pupils
            .iter()
            .filter(|s| s.source.system == System::Hubmis && s.active)
            .take(3)
        {
            let mut s = s.clone();
            s.source.raw[MEDICAL_ALERTS_KEY] =
                json!([{"condition": "Epilepsy", "note": "rescue medication in office"}]);
            with_alerts.push(format!("hubmis:{}", s.source.source_id));
            changed.push(s);
        }
        assert_eq!(changed.len(), 3, "the district has HUBmis pupils");
        cache
            .upsert_students(&changed)
            .expect("store the conditions");
        District {
            absent: format!("omniforge:{}", child.source.source_id),
            absent_homeroom: format!("omniforge:{}", child.homeroom.clone().unwrap()),
            with_alerts,
        }
    })
}

fn access_log(data: &Path) -> Vec<(AccessAction, String, Vec<String>)> {
    let desk = Desk::open(data).expect("a second handle on the cache");
    desk.cache()
        .access_log(None)
        .expect("the access log")
        .into_iter()
        .map(|e| (e.access.action, e.access.what, e.access.students))
        .collect()
}

fn people(roll: &Value) -> &Vec<Value> {
    roll["people"].as_array().expect("people")
}

fn records(p: &Value) -> Vec<String> {
    p["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn medical_views(data: &Path) -> Vec<Vec<String>> {
    access_log(data)
        .into_iter()
        .filter(|(action, what, _)| *action == AccessAction::View && what == MEDICAL_ACCESS_WHAT)
        .map(|(_, _, students)| students)
        .collect()
}

#[test]
fn the_roll_lists_who_is_on_site_from_the_cache_with_contacts_and_medical_alerts() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data: PathBuf = dir.path().join("data");
    let d = sync_district(&data);
    let (_app, window) = start(&data);

    let roll = invoke(&window, "emergency_roll", json!({"section": null})).expect("the roll");
    assert_eq!(
        roll["date"],
        Utc::now().date_naive().format("%Y-%m-%d").to_string()
    );
    assert!(roll["data_as_of"].is_string(), "{}", roll["data_as_of"]);
    assert!(roll["summary"].as_str().unwrap().contains("students"));
    let listed = people(&roll);
    assert!(listed.len() > 50, "{} listed", listed.len());

    // The child marked absent is left out and counted; everyone else on roll is there, once.
    assert!(
        listed.iter().all(|p| !records(p).contains(&d.absent)),
        "{} is marked absent but listed",
        d.absent
    );
    assert!(roll["absent"].as_u64().unwrap() >= 1, "{}", roll["absent"]);
    let ids: HashSet<&str> = listed.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), listed.len(), "a child listed twice");
    let all_records: Vec<String> = listed.iter().flat_map(records).collect();
    let unique: HashSet<&String> = all_records.iter().collect();
    assert_eq!(unique.len(), all_records.len(), "a record in two rows");
    for p in listed {
        let state = p["state"].as_str().unwrap();
        assert!(
            ["present", "late", "not_marked", "no_register"].contains(&state),
            "{p}"
        );
    }
    // In the absent child's homeroom the register counts as taken: the others there, with
    // no mark of their own, are "not marked" (listed: they may be on site).
    let classmates: Vec<&Value> = listed
        .iter()
        .filter(|p| p["group_id"] == d.absent_homeroom.as_str())
        .collect();
    assert!(
        !classmates.is_empty(),
        "nobody else in {}",
        d.absent_homeroom
    );
    assert!(
        classmates.iter().all(|p| p["state"] != "no_register"),
        "{classmates:?}"
    );

    // Contacts and may-collect are the cache's, one "may not" anywhere winning.
    let desk = Desk::open(&data).expect("a second handle");
    let mut phones = 0;
    let mut may_not = 0;
    for p in listed {
        let contacts = p["contacts"].as_array().unwrap();
        let by_name: HashMap<&str, &Value> = contacts
            .iter()
            .map(|c| (c["name"].as_str().unwrap(), c))
            .collect();
        phones += contacts.iter().filter(|c| c["phone"].is_string()).count();
        for r in records(p) {
            let (system, id) = r.split_once(':').unwrap();
            let system: System = system.parse().unwrap();
            for (g, link) in desk.cache().guardians_of(system, id).unwrap() {
                let name = format!("{} {}", g.given_name, g.family_name);
                let shown = by_name
                    .get(name.trim())
                    .unwrap_or_else(|| panic!("{name} missing from {p}"));
                if link.can_pick_up == Some(false) {
                    may_not += 1;
                    assert_eq!(shown["may_collect"], json!(false), "{name} of {p}");
                }
            }
        }
    }
    assert!(phones > 0, "no contact with a phone on the whole roll");
    eprintln!(
        "{} listed, {phones} phones, {may_not} may-not-collect links",
        listed.len()
    );

    // Medical alerts: beside the name of each listed pupil who has one, and the view logged.
    assert_eq!(roll["medical_alerts_on"], json!(true));
    let shown: Vec<&Value> = listed
        .iter()
        .filter(|p| !p["medical"].as_array().unwrap().is_empty())
        .collect();
    assert!(!shown.is_empty(), "no medical alert shown");
    for p in &shown {
        assert_eq!(
            p["medical"],
            json!(["Epilepsy — rescue medication in office"]),
            "{p}"
        );
        assert!(
            records(p).iter().any(|r| d.with_alerts.contains(r)),
            "an alert on someone who has none: {p}"
        );
    }
    let views = medical_views(&data);
    assert_eq!(views.len(), 1, "one read, one entry: {views:?}");
    for r in d.with_alerts.iter().filter(|r| all_records.contains(r)) {
        assert!(views[0].contains(r), "{r} not in the log entry {views:?}");
    }

    // One section: only its children, the absent one still left out.
    let one = invoke(
        &window,
        "emergency_roll",
        json!({"section": d.absent_homeroom}),
    )
    .expect("one section's roll");
    assert_eq!(one["section"], json!(d.absent_homeroom));
    assert!(!people(&one).is_empty());
    assert!(people(&one).iter().all(|p| !records(p).contains(&d.absent)));
    assert!(people(&one).len() < listed.len());

    // Bad input: refused with a sentence, and nothing logged for it.
    let before = access_log(&data).len();
    for bad in [
        json!("omniforge:no-such-section"),
        json!("a\u{7}b"),
        json!("x".repeat(400)),
    ] {
        let err = invoke(&window, "emergency_roll", json!({"section": bad}))
            .expect_err("a bad section is refused");
        let message = err["message"].as_str().unwrap();
        assert!(message.ends_with('.'), "{message}");
        assert!(message.len() > 30, "{message}");
        assert!(err["code"].is_string(), "{err}");
    }
    let err = invoke(&window, "emergency_roll", json!({"section": 7})).expect_err("not text");
    assert!(!err.to_string().is_empty());
    assert_eq!(access_log(&data).len(), before, "a refused read was logged");

    // The school turns medical alerts off: the conditions leave the cache, the roll shows
    // none, and nothing more is logged.
    let mut hubmis = desk
        .cache()
        .connection(System::Hubmis)
        .unwrap()
        .expect("the HUBmis connection");
    hubmis.medical_alerts_enabled = false;
    desk.cache()
        .save_connection(&hubmis)
        .expect("switch it off");
    let off = invoke(&window, "emergency_roll", json!({})).expect("the roll");
    assert_eq!(off["medical_alerts_on"], json!(false));
    assert!(people(&off)
        .iter()
        .all(|p| p["medical"].as_array().unwrap().is_empty()));
    assert_eq!(people(&off).len(), listed.len());
    assert_eq!(
        medical_views(&data).len(),
        1,
        "a roll without alerts was logged"
    );
}
