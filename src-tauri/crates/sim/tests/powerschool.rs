//! PowerSchool Enrollment simulator over real HTTP: every route of CONTRACT.md with the
//! document's shapes and quirks.

use chrono::{DateTime, NaiveDate, Utc};
use reqwest::{Client, StatusCode};
use schooldesk_sim::data::{grade_label, DisagreementField};
use schooldesk_sim::powerschool::{self, DEFAULT_KEY, NOT_AUTHORIZED};
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-10-14T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn start_with(students: usize, seed: u64, config: powerschool::Config) -> Simulators {
    Simulators::start(SimConfig {
        seed,
        students,
        clock: SimClock::frozen(t0()),
        powerschool: config,
        ..SimConfig::default()
    })
    .await
    .expect("simulators start")
}

async fn start(students: usize) -> Simulators {
    start_with(students, 7, powerschool::Config::default()).await
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

fn url(sims: &Simulators, path: &str) -> String {
    format!("{}/api/v1{path}", sims.powerschool.base_url)
}

async fn get(sims: &Simulators, path: &str) -> (StatusCode, Value) {
    let r = client()
        .get(url(sims, path))
        .basic_auth(sims.powerschool_admin.key(), None::<&str>)
        .send()
        .await
        .expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

async fn post(sims: &Simulators, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
    let mut req = client()
        .post(url(sims, path))
        .basic_auth(sims.powerschool_admin.key(), None::<&str>);
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.expect("request");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

/// The one object of an array-wrapped page.
fn page(v: &Value) -> &Value {
    let arr = v.as_array().expect("a page is an array");
    assert_eq!(arr.len(), 1, "holding one object");
    &arr[0]
}

fn is_iso_midnight(s: &str) -> bool {
    s.len() == 19
        && s.ends_with("T00:00:00")
        && NaiveDate::parse_from_str(&s[..10], "%Y-%m-%d").is_ok()
}

#[tokio::test]
async fn health_needs_no_auth_and_bad_credentials_answer_500() {
    let sims = start(60).await;
    let c = client();
    let r = c
        .get(format!("{}/api/healthz", sims.powerschool.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["Status"], "Healthy");
    assert_eq!(v["SoftwareVersion"], "19.5.1.0");
    assert_eq!(
        v["DateTimeNow"],
        "10/14/2026 8:00:00 AM (Coordinated Universal Time)"
    );

    assert_eq!(sims.powerschool_admin.key(), DEFAULT_KEY);
    let (s, v) = get(&sims, "/connection/test").await;
    assert_eq!(s, 200);
    assert_eq!(v["Status"], "Healthy");

    let bad = [
        c.get(url(&sims, "/connection/test")),
        c.get(url(&sims, "/connection/test"))
            .basic_auth("wrong-key", None::<&str>),
        c.get(url(&sims, "/connection/test"))
            .basic_auth(DEFAULT_KEY, Some("a-password")),
        c.get(url(&sims, "/connection/test"))
            .bearer_auth(DEFAULT_KEY),
        c.get(url(&sims, "/publishedactions")),
    ];
    for req in bad {
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v, json!({ "message": NOT_AUTHORIZED }));
    }

    // A reissued key: the old one stops working.
    sims.powerschool_admin.set_key("new-key-123");
    let r = c
        .get(url(&sims, "/connection/test"))
        .basic_auth(DEFAULT_KEY, None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 500);
    assert_eq!(get(&sims, "/connection/test").await.0, 200);

    let (s, v) = get(&sims, "/no/such/route").await;
    assert_eq!(s, 404);
    assert!(v["message"].as_str().unwrap().contains("No HTTP resource"));
}

#[tokio::test]
async fn published_actions_and_import_schemas() {
    let sims = start(60).await;
    let (s, v) = get(&sims, "/publishedactions").await;
    assert_eq!(s, 200);
    let actions = v.as_array().unwrap();
    assert_eq!(actions.len(), 2);
    assert_eq!(actions[0]["id"], powerschool::RETURNING_ACTION);
    assert_eq!(actions[0]["academicYear"], "2026-2027");

    let (s, v) = get(&sims, "/publishedactions/101/importschemas").await;
    assert_eq!(s, 200);
    let schemas = v.as_array().unwrap();
    assert_eq!(schemas.len(), 2);
    assert!(schemas[0]["fields"]
        .as_array()
        .unwrap()
        .contains(&json!("stu_ExternalID")));
    let (s, v) = get(&sims, "/publishedactions/999/importschemas").await;
    assert_eq!(s, 404);
    assert!(v["message"].is_string());
}

#[tokio::test]
async fn roster_records_page_as_an_array_of_one() {
    let sims = start(130).await;
    let d = &sims.district;

    // Defaults: page 1, pagesize 50.
    let (s, v) = get(&sims, "/publishedactions/101/rosterrecords").await;
    assert_eq!(s, 200);
    let p = page(&v);
    assert_eq!(
        p["metadata"],
        json!({"page": 1, "pageSize": 50, "pageCount": 3, "recordCount": 130})
    );
    assert_eq!(p["records"].as_array().unwrap().len(), 50);

    // Walk every page.
    let mut seen = Vec::new();
    for n in 1..=4 {
        let (_, v) = get(
            &sims,
            &format!("/publishedactions/101/rosterrecords?page={n}&pagesize=37"),
        )
        .await;
        let p = page(&v);
        assert_eq!(p["metadata"]["pageCount"], 4);
        for r in p["records"].as_array().unwrap() {
            seen.push(r["externalStudentID"].as_str().unwrap().to_string());
        }
    }
    let expected: Vec<String> = d.students.iter().map(|s| s.external_id.clone()).collect();
    assert_eq!(seen, expected);
    // Past the end: no records, same metadata.
    let (_, v) = get(
        &sims,
        "/publishedactions/101/rosterrecords?page=9&pagesize=37",
    )
    .await;
    assert_eq!(page(&v)["records"].as_array().unwrap().len(), 0);
    assert_eq!(page(&v)["metadata"]["recordCount"], 130);
    // Larger than served: the metadata says what was served.
    let (_, v) = get(&sims, "/publishedactions/101/rosterrecords?pagesize=5000").await;
    assert_eq!(page(&v)["metadata"]["pageSize"], 500);
    for bad in ["page=0", "pagesize=0", "page=x", "pagesize=-1"] {
        let (s, v) = get(&sims, &format!("/publishedactions/101/rosterrecords?{bad}")).await;
        assert_eq!(s, 400, "{bad}");
        assert!(v["message"].is_string());
    }
    // The new-student action starts empty.
    let (_, v) = get(&sims, "/publishedactions/102/rosterrecords").await;
    assert_eq!(page(&v)["metadata"]["recordCount"], 0);
    let (s, _) = get(&sims, "/publishedactions/5/rosterrecords").await;
    assert_eq!(s, 404);

    // Shapes.
    let (_, v) = get(&sims, "/publishedactions/101/rosterrecords?pagesize=1").await;
    let r = &page(&v)["records"][0];
    let s0 = &d.students[0];
    assert_eq!(r["externalStudentID"], s0.external_id.as_str());
    assert_eq!(r["firstName"], s0.given_name.as_str());
    assert!(is_iso_midnight(r["dateOfBirth"].as_str().unwrap()));
    assert_eq!(r["school"], d.schools[s0.school].name.as_str());
    assert!(r["dataItems"]["stu_FirstName"].is_string());

    // One record: an array of one.
    let id = r["id"].as_u64().unwrap();
    let (s, v) = get(&sims, &format!("/rosterrecords/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(&v[0], r);
    let (s, v) = get(&sims, "/rosterrecords/1").await;
    assert_eq!(s, 404);
    assert!(v["message"].is_string());
}

#[tokio::test]
async fn records_show_the_powerschool_view_of_disagreements() {
    // Big enough that some student disagrees in PowerSchool.
    let sims = start(3000).await;
    let d = &sims.district;
    let mut checked = 0;
    for s in d.students.iter().filter(|s| {
        s.disagreements
            .iter()
            .any(|x| x.system == SystemKind::PowerSchool)
    }) {
        let v = sims
            .powerschool_admin
            .roster_record(101, &s.external_id)
            .unwrap();
        let dis = s
            .disagreements
            .iter()
            .find(|x| x.system == SystemKind::PowerSchool)
            .unwrap();
        match dis.field {
            DisagreementField::FamilyName => {
                assert_eq!(v["lastName"], dis.value.as_str());
                assert_ne!(v["lastName"], s.family_name.as_str());
            }
            DisagreementField::Grade => {
                assert_eq!(v["grade"], grade_label(s.grade_in(SystemKind::PowerSchool)));
                assert_ne!(v["grade"], grade_label(s.grade));
            }
            DisagreementField::DateOfBirth => {
                assert_eq!(v["dateOfBirth"], format!("{}T00:00:00", dis.value));
            }
        }
        checked += 1;
    }
    assert!(checked > 0, "no PowerSchool disagreement in 3000 students");
}

#[tokio::test]
async fn importing_roster_records() {
    let sims = start(60).await;
    let s = &sims.district.students[3];

    // Update an existing student's roster record.
    let body = json!({"stu_FirstName": s.given_name, "stu_LastName": "Newname",
                      "stu_ExternalID": s.external_id, "stu_DateOfBirth": "04/20/2016", "stu_Grade": "4"});
    let (st, v) = post(&sims, "/publishedactions/101/importschemas/1", Some(&body)).await;
    assert_eq!(st, 200);
    assert_eq!(v, json!({"status": "Success", "errors": []}));
    let r = sims
        .powerschool_admin
        .roster_record(101, &s.external_id)
        .unwrap();
    assert_eq!(r["lastName"], "Newname");
    assert_eq!(r["dateOfBirth"], "2016-04-20T00:00:00");
    assert_eq!(r["grade"], "4");
    let writes = sims.shared.recorder.writes_for(SystemKind::PowerSchool);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].kind, "rosterrecord.import");
    assert_eq!(writes[0].key.as_deref(), Some(s.external_id.as_str()));

    // The same import again changes nothing and records nothing.
    let (_, v) = post(&sims, "/publishedactions/101/importschemas/1", Some(&body)).await;
    assert_eq!(v["status"], "Success");
    assert_eq!(
        sims.shared
            .recorder
            .writes_for(SystemKind::PowerSchool)
            .len(),
        1
    );

    // A new student into the new-student action.
    let new = json!({"stu_FirstName": "Zed", "stu_LastName": "Quill", "stu_ExternalID": "NEW0001"});
    let (_, v) = post(&sims, "/publishedactions/102/importschemas/3", Some(&new)).await;
    assert_eq!(v["status"], "Success");
    let (_, v) = get(&sims, "/publishedactions/102/rosterrecords").await;
    let p = page(&v);
    assert_eq!(p["metadata"]["recordCount"], 1);
    assert_eq!(p["records"][0]["externalStudentID"], "NEW0001");
    assert_eq!(p["records"][0]["lastName"], "Quill");

    // Errors answer 200 with status Error and the problems.
    let cases = [
        (
            json!({"stu_FirstName": "A", "stu_LastName": "B", "stu_ExternalID": "X1", "Shoe": "9"}),
            "Shoe",
        ),
        (
            json!({"stu_FirstName": "A", "stu_ExternalID": "X1"}),
            "stu_LastName",
        ),
        (
            json!({"stu_FirstName": "A", "stu_LastName": "B", "stu_ExternalID": "X1", "stu_DateOfBirth": "2016-04-20"}),
            "MM/DD/YYYY",
        ),
        (
            json!({"stu_FirstName": "A", "stu_LastName": "B", "stu_ExternalID": "X1", "stu_Grade": "13"}),
            "grade",
        ),
        (json!(["not", "an", "object"]), "object"),
    ];
    for (body, needle) in cases {
        let (st, v) = post(&sims, "/publishedactions/101/importschemas/1", Some(&body)).await;
        assert_eq!(st, 200);
        assert_eq!(v["status"], "Error", "{body}");
        let errors: Vec<&str> = v["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .collect();
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{needle}: {errors:?}"
        );
    }
    // The contact schema only updates.
    let (_, v) = post(
        &sims,
        "/publishedactions/101/importschemas/2",
        Some(&json!({"stu_ExternalID": "NOPE", "par1_Email": "a@b.c"})),
    )
    .await;
    assert_eq!(v["status"], "Error");
    // A schema of another action, an unknown action.
    let (st, _) = post(&sims, "/publishedactions/101/importschemas/3", Some(&new)).await;
    assert_eq!(st, 404);
    let (st, _) = post(&sims, "/publishedactions/7/importschemas/1", Some(&new)).await;
    assert_eq!(st, 404);
    assert_eq!(
        sims.shared
            .recorder
            .writes_for(SystemKind::PowerSchool)
            .len(),
        2
    );
}

#[tokio::test]
async fn submissions_list_single_and_create() {
    let sims = start(100).await;
    let (_, v) = get(&sims, "/publishedactions/101/submissionrecords?pagesize=10").await;
    let p = page(&v);
    let total = p["metadata"]["recordCount"].as_u64().unwrap();
    assert!(total > 20 && total < 100, "{total}");
    let first = &p["records"][0];
    assert!(["Approved", "PendingApproval"].contains(&first["status"].as_str().unwrap()));
    assert!(first["submitted"].is_string());
    let id = first["id"].as_u64().unwrap();
    let (s, v) = get(&sims, &format!("/submissionrecords/{id}")).await;
    assert_eq!(s, 200);
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(&v[0], first);
    assert_eq!(get(&sims, "/submissionrecords/42").await.0, 404);

    let body = json!({"publishedActionId": 102, "submission": {"dataItems": [
        {"fieldName": "stu_FirstName", "value": "Jane"},
        {"fieldName": "stu_LastName", "value": "Doe"},
        {"fieldName": "stu_DateOfBirth", "value": "01/01/2016"}]}});
    let (s, v) = post(&sims, "/submission", Some(&body)).await;
    assert_eq!(s, 200);
    assert_eq!(v["status"], "Success", "{v}");
    let new_id = v["submissionRecordId"].as_u64().unwrap();
    let (_, v) = get(&sims, &format!("/submissionrecords/{new_id}")).await;
    assert_eq!(v[0]["status"], "PendingApproval");
    assert_eq!(v[0]["firstName"], "Jane");
    assert_eq!(v[0]["dateOfBirth"], "2016-01-01T00:00:00");
    assert_eq!(v[0]["submitted"], "2026-10-14T08:00:00");
    let (_, v) = get(&sims, "/publishedactions/102/submissionrecords").await;
    assert_eq!(page(&v)["metadata"]["recordCount"], 1);
    let w = sims.shared.recorder.writes_for(SystemKind::PowerSchool);
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].kind, "submission.create");

    for bad in [
        json!({"publishedActionId": 999, "submission": {"dataItems": []}}),
        json!({"submission": {"dataItems": []}}),
        json!({"publishedActionId": 102, "submission": {"dataItems": [{"fieldName": "stu_FirstName", "value": "J"}]}}),
        json!({"publishedActionId": 102, "submission": {}}),
    ] {
        let (s, v) = post(&sims, "/submission", Some(&bad)).await;
        assert_eq!(s, 200);
        assert_eq!(v["status"], "Error", "{bad}");
        assert!(!v["errors"].as_array().unwrap().is_empty());
    }
    assert_eq!(
        sims.shared
            .recorder
            .writes_for(SystemKind::PowerSchool)
            .len(),
        1
    );
}

#[tokio::test]
async fn checklists_entries_and_documents() {
    let sims = start_with(
        300,
        7,
        powerschool::Config {
            document_url_ttl: Duration::from_secs(120),
            ..powerschool::Config::default()
        },
    )
    .await;
    let (_, v) = get(&sims, "/checklists").await;
    let lists = v.as_array().unwrap();
    assert_eq!(lists.len(), 2);
    for l in lists {
        let id = l["id"].as_u64().unwrap();
        let (s, v) = get(&sims, &format!("/checklists/{id}")).await;
        assert_eq!(s, 200);
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 1);
        assert!(!arr[0]["items"].as_array().unwrap().is_empty());
        assert!(arr[0]["items"][0]["itemType"].is_string());
    }
    assert_eq!(get(&sims, "/checklists/1").await.0, 404);

    let (s, v) = get(
        &sims,
        &format!(
            "/checklists/{}/checklistentries",
            powerschool::DOCUMENTS_CHECKLIST
        ),
    )
    .await;
    assert_eq!(s, 200);
    let entries = v.as_array().unwrap();
    assert!(!entries.is_empty());
    let mut doc_ids = Vec::new();
    for e in entries {
        assert!(sims
            .district
            .student_by_external_id(e["externalStudentID"].as_str().unwrap())
            .is_some());
        for item in e["checklistItems"].as_array().unwrap() {
            match item["status"].as_str().unwrap() {
                "Completed" => {
                    let d = item["dateCompleted"].as_str().unwrap();
                    assert!(NaiveDate::parse_from_str(d, "%m/%d/%Y").is_ok(), "{d}");
                    assert_eq!(d.len(), 10);
                }
                _ => assert!(item["dateCompleted"].is_null()),
            }
            if let Some(id) = item["documentObjectId"].as_str() {
                doc_ids.push((
                    id.to_string(),
                    item["checklistItemID"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    let photo = doc_ids
        .iter()
        .find(|(_, item)| item == "83838")
        .expect("a photo")
        .0
        .clone();
    let paper = doc_ids
        .iter()
        .find(|(_, item)| item != "83838")
        .expect("a document")
        .0
        .clone();

    // A document id answers a JSON string: a short-lived URL on the blob store.
    let (s, v) = get(&sims, &format!("/documents/{paper}")).await;
    assert_eq!(s, 200);
    let link = v.as_str().expect("a JSON string").to_string();
    assert!(link.starts_with(&sims.powerschool.base_url), "{link}");
    assert!(link.contains("&se=") && link.contains("&sig="));
    let r = client().get(&link).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    assert!(pdf.windows(5).any(|w| w == b"%%EOF"));
    // The cross-reference table points at real objects.
    let at = pdf
        .windows(9)
        .rposition(|w| w == b"startxref")
        .expect("startxref");
    let tail = String::from_utf8_lossy(&pdf[at + 9..]).to_string();
    let startxref: usize = tail.split_whitespace().next().unwrap().parse().unwrap();
    assert!(pdf[startxref..].starts_with(b"xref"));

    let (_, v) = get(&sims, &format!("/documents/{photo}")).await;
    let r = client().get(v.as_str().unwrap()).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let jpg = r.bytes().await.unwrap();
    let mut decoder = jpeg_decoder::Decoder::new(&jpg[..]);
    let pixels = decoder.decode().expect("a valid JPEG");
    let info = decoder.info().unwrap();
    assert_eq!((info.width, info.height), (64, 48));
    assert_eq!(pixels.len(), 64 * 48 * 3);

    // The URL expires by the simulator clock.
    sims.shared.clock.advance(Duration::from_secs(119));
    assert_eq!(client().get(&link).send().await.unwrap().status(), 200);
    sims.shared.clock.advance(Duration::from_secs(1));
    let r = client().get(&link).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("AuthenticationFailed"));
    // A fresh URL works again; a forged one never does.
    let (_, v) = get(&sims, &format!("/documents/{paper}")).await;
    assert_eq!(
        client()
            .get(v.as_str().unwrap())
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let forged = format!("{}/blobs/{paper}?sig=abc", sims.powerschool.base_url);
    assert_eq!(client().get(&forged).send().await.unwrap().status(), 403);

    let (s, v) = get(&sims, "/documents/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(s, 404);
    assert!(v["message"].is_string());
    assert!(sims.powerschool_admin.document_ids().contains(&paper));
}

#[tokio::test]
async fn delivery_batches_change_server_state() {
    let sims = start_with(
        200,
        7,
        powerschool::Config {
            batch_size: 10,
            ..powerschool::Config::default()
        },
    )
    .await;
    let admin = &sims.powerschool_admin;
    let (_, v) = get(&sims, "/deliverytargets").await;
    let targets = v.as_array().unwrap();
    assert_eq!(targets.len(), 2);
    let target = targets[0]["id"].as_u64().unwrap();
    let pool = admin.pool_len(target);
    assert!(pool > 20, "{pool}");

    let (s, b1) = post(
        &sims,
        &format!("/deliverytargets/{target}/createbatch"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    let records = b1["records"].as_array().unwrap();
    assert_eq!(records.len(), 10);
    assert_eq!(b1["date"], "2026-10-14T08:00:00Z");
    let r = &records[0];
    let sid = r["data"]["student"]["studentID"].as_str().unwrap();
    assert!(sims.district.student_by_external_id(sid).is_some());
    assert!(r["data"]["parent1"]["relationship"].is_string());
    assert!(r["submitted"].as_str().unwrap().ends_with('Z'));
    assert_eq!(admin.pool_len(target), pool - 10);
    // The other target's pool is its own.
    assert_eq!(admin.pool_len(targets[1]["id"].as_u64().unwrap()), pool);

    sims.shared.clock.advance(Duration::from_secs(86_400));
    let (_, b2) = post(
        &sims,
        &format!("/deliverytargets/{target}/createbatch"),
        None,
    )
    .await;
    let ids = |b: &Value| -> HashSet<u64> {
        b["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_u64().unwrap())
            .collect()
    };
    assert!(ids(&b1).is_disjoint(&ids(&b2)));
    assert_ne!(b1["id"], b2["id"]);

    // Drain the pool: then an empty batch.
    let mut guard = 0;
    loop {
        let (_, b) = post(
            &sims,
            &format!("/deliverytargets/{target}/createbatch"),
            None,
        )
        .await;
        if b["records"].as_array().unwrap().is_empty() {
            assert!(b["id"].is_string());
            break;
        }
        guard += 1;
        assert!(guard < 100);
    }
    assert_eq!(admin.pool_len(target), 0);
    let created = admin.batches(target).len();

    // getbatches: by date, and only the open one.
    let (s, v) = get(
        &sims,
        &format!("/deliverytargets/{target}/getbatches/2026-10-14"),
    )
    .await;
    assert_eq!(s, 200);
    let listed = v.as_array().unwrap();
    assert_eq!(listed.len(), created);
    assert!(listed
        .iter()
        .all(|b| b["records"].as_array().unwrap().is_empty()));
    let (_, v) = get(
        &sims,
        &format!("/deliverytargets/{target}/getbatches/2026-10-15"),
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), created - 1);
    for form in [
        "2026-10-14true",
        "2026-10-14/true",
        "2026-10-14?getAutoOpen=true",
    ] {
        let (s, v) = get(
            &sims,
            &format!("/deliverytargets/{target}/getbatches/{form}"),
        )
        .await;
        assert_eq!(s, 200, "{form}");
        assert_eq!(v.as_array().unwrap().len(), 1, "{form}");
    }
    let (_, v) = get(
        &sims,
        &format!("/deliverytargets/{target}/getbatches/2030-01-01"),
    )
    .await;
    assert_eq!(v, json!([]));
    let (s, _) = get(
        &sims,
        &format!("/deliverytargets/{target}/getbatches/14-10-2026"),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        get(&sims, "/deliverytargets/9/getbatches/2026-10-14")
            .await
            .0,
        404
    );

    // Reset: 204, the records return to the pool and are delivered again.
    let first_id = b1["id"].as_str().unwrap();
    let r = client()
        .post(url(
            &sims,
            &format!("/deliverytargets/{target}/resetbatch/{first_id}"),
        ))
        .basic_auth(admin.key(), None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(admin.pool_len(target), 10);
    let (_, again) = post(
        &sims,
        &format!("/deliverytargets/{target}/createbatch"),
        None,
    )
    .await;
    assert_eq!(ids(&again), ids(&b1));
    let r = client()
        .post(url(
            &sims,
            &format!("/deliverytargets/{target}/resetbatch/00000000-0000-0000-0000-000000000000"),
        ))
        .basic_auth(admin.key(), None::<&str>)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);

    let kinds: Vec<String> = sims
        .shared
        .recorder
        .writes_for(SystemKind::PowerSchool)
        .into_iter()
        .map(|w| w.kind)
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "batch.create").count(),
        created + 1
    );
    assert_eq!(kinds.iter().filter(|k| *k == "batch.reset").count(), 1);
}

#[tokio::test]
async fn faults_apply_to_powerschool_too() {
    let sims = start(60).await;
    sims.shared.faults.fail_next(
        Some(SystemKind::PowerSchool),
        Some("/api/v1/checklists".into()),
        503,
    );
    let (s, v) = get(&sims, "/checklists").await;
    assert_eq!(s, 503);
    assert!(v["message"].is_string());
    assert_eq!(get(&sims, "/checklists").await.0, 200);

    sims.shared.faults.set_offline(true);
    let err = client()
        .get(format!("{}/api/healthz", sims.powerschool.base_url))
        .send()
        .await
        .expect_err("offline");
    assert!(err.status().is_none());
    sims.shared.faults.set_offline(false);

    let reqs = sims.shared.recorder.requests_for(SystemKind::PowerSchool);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].status, 503);
    assert!(reqs[0].headers["authorization"].starts_with("Basic "));
}
