//! Starting the four simulators: the district is deterministic, and the same child is the
//! same child in every system (shared external ids).

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::Client;
use schooldesk_sim::data::{generate, grade_label};
use schooldesk_sim::{SimClock, SimConfig, SimError, Simulators, SystemKind};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-14T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

async fn start(seed: u64, students: usize) -> Simulators {
    Simulators::start(SimConfig {
        seed,
        students,
        clock: SimClock::frozen(t0()),
        ..SimConfig::default()
    })
    .await
    .expect("simulators start")
}

#[test]
fn same_seed_same_district_other_seed_other_district() {
    let a = generate(99, 700);
    let b = generate(99, 700);
    assert_eq!(format!("{a:?}"), format!("{b:?}"));
    let c = generate(100, 700);
    assert_ne!(format!("{a:?}"), format!("{c:?}"));
    assert_eq!(c.students.len(), 700);
    // Roughly the promised shape.
    assert!(a.schools.len() >= 2);
    assert!(a.guardians.iter().any(|g| g.students.len() > 1), "siblings");
    let avg_sections = a.students.iter().map(|s| s.sections.len()).sum::<usize>() as f64 / 700.0;
    assert!((5.0..=7.0).contains(&avg_sections), "{avg_sections}");
}

#[tokio::test]
async fn size_limits_are_enforced() {
    for n in [0, 49, 50_001] {
        let r = Simulators::start(SimConfig {
            students: n,
            ..SimConfig::default()
        })
        .await;
        assert!(matches!(r, Err(SimError::Size(m)) if m == n));
    }
}

#[tokio::test]
async fn all_four_answer_http_on_loopback() {
    let sims = start(3, 50).await;
    for running in [
        &sims.omniforge,
        &sims.powerschool,
        &sims.matrix,
        &sims.hubmis,
    ] {
        assert!(running.addr.ip().is_loopback());
        assert_eq!(running.base_url, format!("http://{}", running.addr));
        let r = client()
            .get(format!("{}/", running.base_url))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{:?} does not answer: {e}", running.system));
        assert!(r.status().as_u16() >= 200);
    }
    let systems: Vec<SystemKind> = sims
        .shared
        .recorder
        .requests()
        .iter()
        .map(|r| r.system)
        .collect();
    assert_eq!(
        systems,
        [
            SystemKind::OmniForge,
            SystemKind::PowerSchool,
            SystemKind::Matrix,
            SystemKind::Hubmis
        ]
    );
    // Stopping closes the listeners.
    let addr = sims.omniforge.addr;
    sims.shutdown();
    drop(sims);
    let mut refused = false;
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "listener still open after shutdown");
}

#[tokio::test]
async fn the_same_child_in_omniforge_and_powerschool() {
    let sims = start(5, 300).await;
    let d = &sims.district;
    let c = client();

    // Every PowerSchool roster record, by external id.
    let mut roster: HashMap<String, Value> = HashMap::new();
    for page in 1..=3 {
        let v: Value = c
            .get(format!(
                "{}/api/v1/publishedactions/101/rosterrecords?page={page}&pagesize=100",
                sims.powerschool.base_url
            ))
            .basic_auth(sims.powerschool_admin.key(), None::<&str>)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for r in v[0]["records"].as_array().unwrap() {
            roster.insert(
                r["externalStudentID"].as_str().unwrap().to_string(),
                r.clone(),
            );
        }
    }
    assert_eq!(roster.len(), d.students.len());

    // Every OmniForge student, walked by cursor.
    let key = sims.omniforge_admin.key();
    let mut persons = Vec::new();
    let mut cursor = String::new();
    loop {
        let v: Value = c
            .get(format!(
                "{}/__api/v1/persons?personType=STUDENT&limit=200{cursor}",
                sims.omniforge.base_url
            ))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        persons.extend(v["data"].as_array().unwrap().iter().cloned());
        match v["page"]["nextCursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(persons.len(), d.students.len());

    let mut agreeing = 0;
    for p in &persons {
        let ext = p["externalId"].as_str().unwrap();
        let r = roster.get(ext).expect("the same child in PowerSchool");
        let s = d.student_by_external_id(ext).unwrap();
        assert_eq!(p["id"], s.uuid.as_str());
        assert_eq!(p["firstName"], r["firstName"]);
        // Each system shows its own view; where no disagreement is planted they agree.
        assert_eq!(p["lastName"], s.family_name_in(SystemKind::OmniForge));
        assert_eq!(r["lastName"], s.family_name_in(SystemKind::PowerSchool));
        assert_eq!(
            p["gradeLevel"],
            grade_label(s.grade_in(SystemKind::OmniForge))
        );
        assert_eq!(r["grade"], grade_label(s.grade_in(SystemKind::PowerSchool)));
        let of_dob =
            NaiveDate::parse_from_str(p["dateOfBirth"].as_str().unwrap(), "%Y-%m-%d").unwrap();
        let ps_dob = r["dateOfBirth"].as_str().unwrap();
        assert_eq!(
            ps_dob,
            format!("{}T00:00:00", s.date_of_birth_in(SystemKind::PowerSchool))
        );
        if s.disagreements.is_empty() {
            assert_eq!(p["lastName"], r["lastName"]);
            assert_eq!(p["gradeLevel"], r["grade"]);
            assert_eq!(ps_dob, format!("{of_dob}T00:00:00"));
            agreeing += 1;
        }
    }
    assert!(agreeing >= 280, "{agreeing}");
}

#[tokio::test]
async fn two_starts_with_one_seed_serve_identical_data() {
    let a = start(11, 120).await;
    let b = start(11, 120).await;
    let fetch = |sims: &Simulators| {
        let url = format!(
            "{}/__api/v1/persons?personType=GUARDIAN&limit=200",
            sims.omniforge.base_url
        );
        let key = sims.omniforge_admin.key();
        async move {
            client()
                .get(url)
                .bearer_auth(key)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    assert_eq!(fetch(&a).await, fetch(&b).await);
}
