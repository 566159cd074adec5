//! OmniForge SIS simulator over real HTTP: every route of CONTRACT.md, every quirk, and the
//! shared fault injection and request record.

use chrono::{DateTime, Duration as ChronoDuration, NaiveDate, Utc};
use reqwest::{Client, StatusCode};
use schooldesk_sim::omniforge::{ApiKey, PersonChange, DEFAULT_KEY};
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

fn t0() -> DateTime<Utc> {
    // A Wednesday in term.
    DateTime::parse_from_rfc3339("2026-10-14T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn start(students: usize) -> Simulators {
    Simulators::start(SimConfig {
        seed: 7,
        students,
        clock: SimClock::frozen(t0()),
        ..SimConfig::default()
    })
    .await
    .expect("simulators start")
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn url(sims: &Simulators, path: &str) -> String {
    format!("{}/__api/v1{path}", sims.omniforge.base_url)
}

async fn get(sims: &Simulators, key: &str, path: &str) -> (StatusCode, Value) {
    let r = client()
        .get(url(sims, path))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn post_mark(sims: &Simulators, key: &str, idem: &str, body: &Value) -> (StatusCode, Value) {
    let r = client()
        .post(url(sims, "/attendance"))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .json(body)
        .send()
        .await
        .expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("")
}

/// Walks a list to its end, returning every item.
async fn walk(sims: &Simulators, key: &str, path: &str, limit: usize) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    let sep = if path.contains('?') { '&' } else { '?' };
    for _ in 0..10_000 {
        let mut p = format!("{path}{sep}limit={limit}");
        if let Some(c) = &cursor {
            p.push_str(&format!("&cursor={c}"));
        }
        let (s, v) = get(sims, key, &p).await;
        assert_eq!(s, StatusCode::OK, "{p}: {v}");
        let data = v["data"].as_array().unwrap();
        assert!(data.len() <= limit);
        out.extend(data.iter().cloned());
        match v["page"]["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => {
                assert!(v["page"]["nextCursor"].is_null());
                return out;
            }
        }
    }
    panic!("list never ended");
}

#[tokio::test]
async fn default_key_is_well_formed_and_exposed() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    assert_eq!(key, DEFAULT_KEY);
    assert_eq!(sims.config.omniforge.key(), DEFAULT_KEY);
    let hex = key.strip_prefix("fsis_secret_").unwrap();
    assert_eq!(hex.len(), 64);
    assert!(hex.chars().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn authentication_errors_use_the_documented_codes() {
    let sims = start(60).await;
    let c = client();
    let key = sims.omniforge_admin.key();

    // Either header works.
    let r = c
        .get(url(&sims, "/organizations"))
        .header("X-API-Key", &key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, _) = get(&sims, &key, "/organizations").await;
    assert_eq!(s, 200);

    // No key, a malformed key, an unknown key.
    let r = c.get(url(&sims, "/organizations")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "auth.api_key_malformed");
    assert!(v["error"]["traceId"].as_str().unwrap().starts_with("cor_"));
    assert!(!v["error"]["message"].as_str().unwrap().is_empty());
    for bad in ["hello", "fsis_secret_xyz", "fsis__abcd", "FSIS_secret_abcd"] {
        let (s, v) = get(&sims, bad, "/organizations").await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, "auth.api_key_malformed"),
            "{bad}"
        );
    }
    let unknown = format!("fsis_secret_{}", "ab".repeat(32));
    let (s, v) = get(&sims, &unknown, "/organizations").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "auth.api_key_unknown")
    );

    // Revoked and expired keys.
    let revoked = ApiKey::generate("revoked");
    let expired = ApiKey::generate("expired");
    sims.omniforge_admin.add_key(revoked.clone());
    sims.omniforge_admin.add_key(expired.clone());
    assert_eq!(get(&sims, &revoked.key, "/organizations").await.0, 200);
    assert!(sims.omniforge_admin.revoke_key(&revoked.key));
    let (s, v) = get(&sims, &revoked.key, "/organizations").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "auth.api_key_revoked")
    );

    sims.omniforge_admin
        .set_expiry(&expired.key, Some(t0() + ChronoDuration::hours(1)));
    assert_eq!(get(&sims, &expired.key, "/organizations").await.0, 200);
    sims.shared.clock.advance(Duration::from_secs(3600));
    let (s, v) = get(&sims, &expired.key, "/organizations").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, "auth.api_key_expired")
    );

    // IP allowlist.
    let fenced = ApiKey::generate("fenced");
    sims.omniforge_admin.add_key(fenced.clone());
    sims.omniforge_admin
        .set_ip_allowlist(&fenced.key, Some(vec!["10.1.2.3".parse().unwrap()]));
    let (s, v) = get(&sims, &fenced.key, "/organizations").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, "auth.api_key_ip_not_allowed")
    );
    sims.omniforge_admin
        .set_ip_allowlist(&fenced.key, Some(vec!["127.0.0.1".parse().unwrap()]));
    assert_eq!(get(&sims, &fenced.key, "/organizations").await.0, 200);
}

#[tokio::test]
async fn scopes_guard_each_route() {
    let sims = start(60).await;
    let narrow = ApiKey::generate("students-only");
    sims.omniforge_admin.add_key(narrow.clone());
    sims.omniforge_admin
        .set_scopes(&narrow.key, &["student.read"]);
    let k = &narrow.key;
    assert_eq!(get(&sims, k, "/persons?personType=STUDENT").await.0, 200);
    assert_eq!(get(&sims, k, "/persons?personType=STAFF").await.0, 200);
    let student = &sims.district.students[0].uuid;
    assert_eq!(get(&sims, k, &format!("/persons/{student}")).await.0, 200);
    for path in [
        "/persons?personType=GUARDIAN".to_string(),
        "/persons".to_string(),
        format!("/persons/{student}/guardians"),
        format!("/persons/{}", sims.district.guardians[0].uuid),
        "/organizations".to_string(),
        "/sections".to_string(),
        "/enrollments".to_string(),
        "/attendance?date=2026-10-13&organizationId=x".to_string(),
    ] {
        let (s, v) = get(&sims, k, &path).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, "auth.forbidden"),
            "{path}"
        );
    }
    let (s, v) = post_mark(&sims, k, "k1", &json!({})).await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, "auth.forbidden"));
}

#[tokio::test]
async fn rate_limit_is_a_fixed_minute_window_on_the_sim_clock() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    assert!(sims.omniforge_admin.set_rate_limit(&key, Some(3)));
    for _ in 0..3 {
        assert_eq!(get(&sims, &key, "/organizations").await.0, 200);
    }
    let r = client()
        .get(url(&sims, "/organizations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    // t0 is on a minute boundary: the whole window is left.
    assert_eq!(r.headers()["retry-after"], "60");
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "auth.api_key_rate_limited");
    assert_eq!(v["error"]["message"], "API key exceeded 3 requests/minute.");

    sims.shared.clock.advance(Duration::from_secs(45));
    let r = client()
        .get(url(&sims, "/organizations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "15");

    sims.shared.clock.advance(Duration::from_secs(15));
    assert_eq!(get(&sims, &key, "/organizations").await.0, 200);

    // The default ceiling is 60 a minute.
    sims.shared.clock.advance(Duration::from_secs(60));
    sims.omniforge_admin.set_rate_limit(&key, Some(60));
    for i in 0..60 {
        assert_eq!(get(&sims, &key, "/organizations").await.0, 200, "call {i}");
    }
    assert_eq!(get(&sims, &key, "/organizations").await.0, 429);
}

#[tokio::test]
async fn persons_page_to_the_end_with_opaque_cursors() {
    let sims = start(150).await;
    let key = sims.omniforge_admin.key();
    sims.omniforge_admin.set_rate_limit(&key, None);
    let d = &sims.district;

    let students = walk(&sims, &key, "/persons?personType=STUDENT", 37).await;
    assert_eq!(students.len(), d.students.len());
    let ids: HashSet<&str> = students.iter().map(|p| p["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), d.students.len());
    let first = &students[0];
    let s = &d.students[0];
    assert_eq!(first["personType"], "STUDENT");
    assert_eq!(first["id"], s.uuid.as_str());
    assert_eq!(first["externalId"], s.external_id.as_str());
    assert_eq!(first["firstName"], s.given_name.as_str());
    assert_eq!(
        first["dateOfBirth"],
        s.date_of_birth_in(SystemKind::OmniForge)
            .format("%Y-%m-%d")
            .to_string()
    );
    assert_eq!(first["organizationId"], d.schools[s.school].uuid.as_str());
    assert_eq!(
        first["homeroomSectionId"],
        d.sections[s.homeroom].uuid.as_str()
    );
    assert!(first["updatedAt"].as_str().unwrap().ends_with('Z'));

    let guardians = walk(&sims, &key, "/persons?personType=GUARDIAN", 200).await;
    assert_eq!(guardians.len(), d.guardians.len());
    let staff = walk(&sims, &key, "/persons?personType=STAFF", 200).await;
    assert_eq!(staff.len(), d.staff.len());
    let everyone = walk(&sims, &key, "/persons", 200).await;
    assert_eq!(
        everyone.len(),
        d.students.len() + d.guardians.len() + d.staff.len()
    );

    // Exactly one page when it all fits.
    let (_, v) = get(&sims, &key, "/persons?personType=STAFF&limit=200").await;
    assert!(v["page"]["nextCursor"].is_null());
    // Default page size.
    let (_, v) = get(&sims, &key, "/persons?personType=STUDENT").await;
    assert_eq!(v["data"].as_array().unwrap().len(), 50);

    for bad in [
        "/persons?personType=STUDENT&limit=0",
        "/persons?personType=STUDENT&limit=201",
        "/persons?personType=STUDENT&limit=ten",
        "/persons?personType=STUDENT&cursor=not-a-cursor",
        "/persons?personType=TEACHER",
        "/persons?personType=STUDENT&updatedSince=yesterday",
    ] {
        let (s, v) = get(&sims, &key, bad).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(code(&v), "request.invalid_parameter");
    }
    // A cursor from another list is refused.
    let (_, v) = get(&sims, &key, "/persons?personType=STUDENT&limit=2").await;
    let c = v["page"]["nextCursor"].as_str().unwrap().to_string();
    let (s, _) = get(
        &sims,
        &key,
        &format!("/persons?personType=GUARDIAN&cursor={c}"),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn updated_since_returns_only_changed_people() {
    let sims = start(80).await;
    let key = sims.omniforge_admin.key();
    let base = sims.omniforge_admin.base_updated_at();
    assert!(base < t0());
    let since = t0().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let path = format!("/persons?personType=STUDENT&updatedSince={since}");
    let (_, v) = get(&sims, &key, &path).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 0);

    sims.shared.clock.advance(Duration::from_secs(90));
    let s = &sims.district.students[5];
    assert!(sims.omniforge_admin.update_person(
        &s.uuid,
        PersonChange {
            family_name: Some("Renamed".into()),
            ..PersonChange::default()
        }
    ));
    let g = &sims.district.guardians[3];
    assert!(sims.omniforge_admin.touch_person(&g.uuid));
    assert!(!sims.omniforge_admin.touch_person("nobody"));

    let (_, v) = get(&sims, &key, &path).await;
    let data = v["data"].as_array().unwrap();
    assert_eq!(data.len(), 1);
    assert_eq!(data[0]["id"], s.uuid.as_str());
    assert_eq!(data[0]["lastName"], "Renamed");
    assert_eq!(data[0]["updatedAt"], "2026-10-14T08:01:30.000Z");
    let (_, v) = get(&sims, &key, &format!("/persons?updatedSince={since}")).await;
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    let (_, v) = get(&sims, &key, &format!("/persons/{}", s.uuid)).await;
    assert_eq!(v["data"]["lastName"], "Renamed");
}

#[tokio::test]
async fn one_person_and_their_guardians() {
    let sims = start(80).await;
    let key = sims.omniforge_admin.key();
    let d = &sims.district;
    let s = d.students.iter().find(|s| s.guardians.len() >= 2).unwrap();
    let (st, v) = get(&sims, &key, &format!("/persons/{}", s.uuid)).await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["externalId"], s.external_id.as_str());

    let (st, v) = get(&sims, &key, &format!("/persons/{}/guardians", s.uuid)).await;
    assert_eq!(st, 200);
    let links = v["data"].as_array().unwrap();
    assert_eq!(links.len(), s.guardians.len());
    for (link, &g) in links.iter().zip(&s.guardians) {
        let g = &d.guardians[g];
        assert_eq!(link["guardianPersonId"], g.uuid.as_str());
        assert_eq!(link["relationship"], g.relationship.as_str());
        assert_eq!(link["isPrimary"], g.is_primary);
        assert_eq!(link["canPickUp"], g.can_pick_up);
    }
    // The guardian is a person too.
    let (st, v) = get(
        &sims,
        &key,
        &format!("/persons/{}", d.guardians[s.guardians[0]].uuid),
    )
    .await;
    assert_eq!(st, 200);
    assert_eq!(v["data"]["personType"], "GUARDIAN");

    let (st, v) = get(&sims, &key, "/persons/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::NOT_FOUND, "resource.not_found")
    );
    let guardian = &d.guardians[0].uuid;
    let (st, _) = get(&sims, &key, &format!("/persons/{guardian}/guardians")).await;
    assert_eq!(st, 404);
}

#[tokio::test]
async fn organizations_sections_and_enrollments() {
    let sims = start(200).await;
    let key = sims.omniforge_admin.key();
    sims.omniforge_admin.set_rate_limit(&key, None);
    let d = &sims.district;

    let orgs = walk(&sims, &key, "/organizations", 200).await;
    assert_eq!(orgs.len(), d.schools.len());
    let school = &d.schools[1];
    let sections = walk(
        &sims,
        &key,
        &format!("/sections?organizationId={}", school.uuid),
        25,
    )
    .await;
    let expected: Vec<&str> = d
        .sections
        .iter()
        .filter(|s| s.school == 1)
        .map(|s| s.uuid.as_str())
        .collect();
    let got: Vec<&str> = sections.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(got, expected);
    assert!(sections
        .iter()
        .all(|s| s["organizationId"] == school.uuid.as_str()));
    assert!(sections.iter().any(|s| s["isHomeroom"] == true));
    let (st, _) = get(&sims, &key, "/sections?organizationId=nowhere").await;
    assert_eq!(st, 404);

    let section = d.sections.iter().find(|s| s.students.len() >= 3).unwrap();
    let rows = walk(
        &sims,
        &key,
        &format!("/enrollments?sectionId={}&active=true", section.uuid),
        2,
    )
    .await;
    assert_eq!(rows.len(), section.students.len());
    for (row, &s) in rows.iter().zip(&section.students) {
        let s = &d.students[s];
        assert_eq!(row["personId"], s.uuid.as_str());
        assert_eq!(row["sectionId"], section.uuid.as_str());
        assert_eq!(
            row["organizationId"],
            d.schools[section.school].uuid.as_str()
        );
        assert!(row["gradeLevel"].is_string());
        assert!(row["startDate"].is_string());
        assert!(row["endDate"].is_null());
    }
    let leaver = &d.students[section.students[0]];
    let on = NaiveDate::from_ymd_opt(2026, 10, 10).unwrap();
    assert!(sims
        .omniforge_admin
        .end_enrollment(&leaver.uuid, &section.uuid, on));
    let active = walk(
        &sims,
        &key,
        &format!("/enrollments?sectionId={}&active=true", section.uuid),
        200,
    )
    .await;
    assert_eq!(active.len(), section.students.len() - 1);
    let ended = walk(
        &sims,
        &key,
        &format!("/enrollments?sectionId={}&active=false", section.uuid),
        200,
    )
    .await;
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0]["endDate"], "2026-10-10");
    assert_eq!(ended[0]["personId"], leaver.uuid.as_str());

    // All enrollments of the district, paged.
    let all = walk(&sims, &key, "/enrollments", 200).await;
    let total: usize = d.sections.iter().map(|s| s.students.len()).sum();
    assert_eq!(all.len(), total);
    // Incremental: only the ended one changed since t0.
    let since = t0().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let changed = walk(
        &sims,
        &key,
        &format!("/enrollments?updatedSince={since}"),
        200,
    )
    .await;
    assert_eq!(changed.len(), 1);
}

#[tokio::test]
async fn attendance_history_is_deterministic_and_scoped() {
    let sims = start(120).await;
    let key = sims.omniforge_admin.key();
    sims.omniforge_admin.set_rate_limit(&key, None);
    let d = &sims.district;
    let (first, last) = sims.omniforge_admin.attendance_history();
    assert_eq!(last, NaiveDate::from_ymd_opt(2026, 10, 13).unwrap());
    assert_eq!(first, NaiveDate::from_ymd_opt(2026, 9, 23).unwrap());

    let homeroom = d
        .sections
        .iter()
        .find(|s| s.is_homeroom && s.students.len() > 2)
        .unwrap();
    let path = format!("/attendance?date=2026-10-13&sectionId={}", homeroom.uuid);
    let marks = walk(&sims, &key, &path, 200).await;
    assert_eq!(marks.len(), homeroom.students.len());
    for m in &marks {
        assert_eq!(m["date"], "2026-10-13");
        assert_eq!(m["sectionId"], homeroom.uuid.as_str());
        assert!(["present", "absent", "tardy", "excused"].contains(&m["status"].as_str().unwrap()));
        assert_eq!(m["version"], 1);
        assert!(m["id"].is_string() && m["updatedAt"].is_string());
    }
    // Same again: nothing random per request.
    assert_eq!(walk(&sims, &key, &path, 3).await, marks);

    // Over a few weeks, some children are absent.
    let mut statuses = HashSet::new();
    for day in 0..14 {
        let date = last - ChronoDuration::days(day);
        let p = format!(
            "/attendance?date={date}&organizationId={}",
            d.schools[0].uuid
        );
        for m in walk(&sims, &key, &p, 200).await {
            statuses.insert(m["status"].as_str().unwrap().to_string());
        }
    }
    assert!(
        statuses.contains("present") && statuses.contains("absent"),
        "{statuses:?}"
    );

    // Weekends, today and the future have no history; no scope is a 400.
    let sat = format!("/attendance?date=2026-10-10&sectionId={}", homeroom.uuid);
    assert_eq!(walk(&sims, &key, &sat, 200).await.len(), 0);
    let today = format!("/attendance?date=2026-10-14&sectionId={}", homeroom.uuid);
    assert_eq!(walk(&sims, &key, &today, 200).await.len(), 0);
    let (s, v) = get(&sims, &key, "/attendance?date=2026-10-13").await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, "request.invalid_parameter")
    );
    let (s, _) = get(
        &sims,
        &key,
        &format!("/attendance?sectionId={}", homeroom.uuid),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn submitting_marks_idempotency_conflicts_and_validation() {
    let sims = start(80).await;
    let key = sims.omniforge_admin.key();
    let d = &sims.district;
    let s = &d.students[0];
    let homeroom = &d.sections[s.homeroom];

    // A new mark for today.
    let body = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-14",
                      "status": "tardy", "note": "Bus late"});
    let (st, v) = post_mark(&sims, &key, "idem-1", &body).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    let mark = v["data"].clone();
    assert_eq!(mark["status"], "tardy");
    assert_eq!(mark["code"], "T");
    assert_eq!(mark["version"], 1);
    assert_eq!(mark["note"], "Bus late");
    assert_eq!(mark["updatedAt"], "2026-10-14T08:00:00.000Z");

    // The same key again: 200, the same mark, nothing changed or recorded.
    sims.shared.clock.advance(Duration::from_secs(30));
    let (st, v) = post_mark(&sims, &key, "idem-1", &body).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"], mark);
    let writes = sims.shared.recorder.writes_for(SystemKind::OmniForge);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].kind, "attendance.create");
    assert_eq!(writes[0].key.as_deref(), Some("idem-1"));
    assert_eq!(sims.omniforge_admin.stored_marks().len(), 1);

    // The same key with another body is refused.
    let other = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-14", "status": "absent"});
    let (st, v) = post_mark(&sims, &key, "idem-1", &other).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, "idempotency.key_reused")
    );

    // The mark is served by GET.
    let list = format!("/attendance?date=2026-10-14&sectionId={}", homeroom.uuid);
    let (_, v) = get(&sims, &key, &list).await;
    assert_eq!(v["data"].as_array().unwrap(), &vec![mark.clone()]);

    // Optimistic versions: based on 1 → version 2; based on 1 again → 409 with the current.
    let update = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-14",
                        "status": "present", "baseVersion": 1});
    let (st, v) = post_mark(&sims, &key, "idem-2", &update).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["version"], 2);
    assert_eq!(v["data"]["id"], mark["id"]);
    let stale = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-14",
                       "status": "absent", "baseVersion": 1});
    let (st, v) = post_mark(&sims, &key, "idem-3", &stale).await;
    assert_eq!(
        (st, code(&v)),
        (StatusCode::CONFLICT, "attendance.conflict")
    );
    assert_eq!(v["error"]["details"]["current"]["version"], 2);
    assert_eq!(v["error"]["details"]["current"]["status"], "present");
    // A conflict is not remembered under its key: the same key may be resent once fixed.
    let fixed = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-14",
                       "status": "absent", "baseVersion": 2});
    let (st, v) = post_mark(&sims, &key, "idem-3", &fixed).await;
    assert_eq!(st, StatusCode::CREATED, "{v}");
    assert_eq!(v["data"]["version"], 3);

    // A generated history mark has version 1; another clerk changes it; a stale write conflicts.
    let day = NaiveDate::from_ymd_opt(2026, 10, 13).unwrap();
    let before = sims
        .omniforge_admin
        .mark(&s.uuid, Some(&homeroom.uuid), None, day)
        .expect("history mark");
    assert_eq!(before.version, 1);
    let changed =
        sims.omniforge_admin
            .change_mark(&s.uuid, Some(&homeroom.uuid), None, day, "excused");
    assert_eq!(changed.version, 2);
    let stale = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-13",
                       "status": "absent", "baseVersion": 1});
    let (st, v) = post_mark(&sims, &key, "idem-4", &stale).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(v["error"]["details"]["current"]["status"], "excused");

    // Bad bodies: 422 validation.failed naming the fields.
    for (bad, field) in [
        (
            json!({"studentId": s.uuid, "date": "2026-10-14", "status": "late"}),
            "status",
        ),
        (
            json!({"studentId": s.uuid, "date": "14/10/2026", "status": "present"}),
            "date",
        ),
        (
            json!({"studentId": "nobody", "date": "2026-10-14", "status": "present"}),
            "studentId",
        ),
        (
            json!({"date": "2026-10-14", "status": "present"}),
            "studentId",
        ),
        (
            json!({"studentId": s.uuid, "date": "2026-10-14", "status": "present", "baseVersion": "x"}),
            "baseVersion",
        ),
        (
            json!({"studentId": s.uuid, "sectionId": "nowhere", "date": "2026-10-14", "status": "present"}),
            "sectionId",
        ),
    ] {
        let (st, v) = post_mark(&sims, &key, "idem-bad", &bad).await;
        assert_eq!(
            (st, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, "validation.failed"),
            "{bad}"
        );
        let fields: Vec<&str> = v["error"]["details"]["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&field), "{bad}: {fields:?}");
    }
    let r = client()
        .post(url(&sims, "/attendance"))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let v: Value = r.json().await.unwrap();
    assert_eq!(code(&v), "validation.failed");

    // A student outside the section is refused.
    let elsewhere = d
        .sections
        .iter()
        .find(|x| !x.students.contains(&s.index))
        .unwrap();
    let body = json!({"studentId": s.uuid, "sectionId": elsewhere.uuid, "date": "2026-10-14", "status": "present"});
    let (st, _) = post_mark(&sims, &key, "idem-5", &body).await;
    assert_eq!(st, StatusCode::UNPROCESSABLE_ENTITY);

    // Marks with a period are separate marks; written ones are listed by organization too.
    let body = json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "period": "3", "date": "2026-10-14", "status": "absent"});
    let (st, v) = post_mark(&sims, &key, "idem-6", &body).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(v["data"]["version"], 1);
    let org = &d.schools[s.school].uuid;
    let (_, v) = get(
        &sims,
        &key,
        &format!("/attendance?date=2026-10-14&organizationId={org}"),
    )
    .await;
    assert_eq!(v["data"].as_array().unwrap().len(), 2);

    let kinds: Vec<String> = sims
        .shared
        .recorder
        .writes_for(SystemKind::OmniForge)
        .into_iter()
        .map(|w| w.kind)
        .collect();
    assert_eq!(
        kinds,
        [
            "attendance.create",
            "attendance.update",
            "attendance.update",
            "attendance.create"
        ]
    );
}

#[tokio::test]
async fn unknown_routes_answer_the_error_envelope() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    let (s, v) = get(&sims, &key, "/webhooks").await;
    assert_eq!((s, code(&v)), (StatusCode::NOT_FOUND, "resource.not_found"));
}

// ---------------------------------------------------------------- fault injection

async fn error_pattern(sims: &Simulators, key: &str, seed: u64) -> Vec<u16> {
    sims.shared.faults.seed(seed);
    sims.shared.faults.set_error_rate(0.5);
    let mut pattern = Vec::new();
    for _ in 0..40 {
        pattern.push(get(sims, key, "/organizations").await.0.as_u16());
    }
    pattern
}

#[tokio::test]
async fn error_rate_answers_503_repeatably() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    sims.omniforge_admin.set_rate_limit(&key, None);
    let faults = &sims.shared.faults;

    faults.set_error_rate(1.0);
    let (s, v) = get(&sims, &key, "/organizations").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(code(&v), "service.unavailable");

    let a = error_pattern(&sims, &key, 11).await;
    let b = error_pattern(&sims, &key, 11).await;
    assert_eq!(a, b);
    let failures = a.iter().filter(|s| **s == 503).count();
    assert!((8..=32).contains(&failures), "{failures} of 40");
    assert!(a.iter().all(|s| *s == 200 || *s == 503));

    faults.set_error_rate(0.0);
    assert_eq!(get(&sims, &key, "/organizations").await.0, 200);
}

#[tokio::test]
async fn offline_is_a_transport_error_not_a_status() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    let c = client();
    // Open a keep-alive connection first, so both new and pooled connections are tested.
    let r = c
        .get(url(&sims, "/organizations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap();

    sims.shared.faults.set_offline(true);
    for _ in 0..3 {
        let err = c
            .get(url(&sims, "/organizations"))
            .bearer_auth(&key)
            .send()
            .await
            .expect_err("offline must not answer");
        assert!(err.status().is_none());
        assert!(err.is_connect() || err.is_request(), "{err:?}");
    }
    let err = client()
        .get(url(&sims, "/organizations"))
        .bearer_auth(&key)
        .send()
        .await
        .expect_err("a fresh client too");
    assert!(err.status().is_none());

    sims.shared.faults.set_offline(false);
    let r = c
        .get(url(&sims, "/organizations"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn one_shot_failures_and_latency() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    let faults = &sims.shared.faults;
    faults.fail_next(
        Some(SystemKind::OmniForge),
        Some("/__api/v1/sections".into()),
        500,
    );
    // Another system's one-shot does not fire here.
    faults.fail_next(Some(SystemKind::PowerSchool), None, 502);
    assert_eq!(get(&sims, &key, "/organizations").await.0, 200);
    let (s, v) = get(&sims, &key, "/sections").await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(v["error"]["code"].is_string());
    assert_eq!(get(&sims, &key, "/sections").await.0, 200);
    assert_eq!(faults.pending_one_shots().len(), 1);

    faults.fail_next(None, None, 429);
    assert_eq!(get(&sims, &key, "/organizations").await.0, 429);
    assert_eq!(get(&sims, &key, "/organizations").await.0, 200);

    faults.set_latency(Duration::from_millis(150));
    let started = std::time::Instant::now();
    assert_eq!(get(&sims, &key, "/organizations").await.0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));
    faults.clear();
    assert!(faults.pending_one_shots().is_empty());
}

#[tokio::test]
async fn every_request_is_recorded() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    sims.shared.recorder.clear();
    let r = client()
        .get(url(&sims, "/persons?personType=STUDENT&limit=5"))
        .header("X-API-Key", &key)
        .header("X-Trace-Me", "yes")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    get(&sims, "bad", "/organizations").await;
    sims.shared.faults.set_offline(true);
    let _ = client().get(url(&sims, "/organizations")).send().await;
    sims.shared.faults.set_offline(false);

    let reqs = sims.shared.recorder.requests_for(SystemKind::OmniForge);
    assert_eq!(
        reqs.len(),
        2,
        "a connection dropped on accept reaches no handler"
    );
    let first = &reqs[0];
    assert_eq!(first.system, SystemKind::OmniForge);
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/__api/v1/persons");
    assert_eq!(first.query, "personType=STUDENT&limit=5");
    assert_eq!(first.headers["x-api-key"], key);
    assert_eq!(first.headers["x-trace-me"], "yes");
    assert_eq!(first.status, 200);
    assert_eq!(first.at, t0());
    assert_eq!(reqs[1].status, 401);
    assert_eq!(reqs[1].headers["authorization"], "Bearer bad");
}
