//! The faults a chaos suite needs, over real HTTP on 127.0.0.1: replies lost after the write
//! was applied, connections dropped before it, the 503 rate restricted to writes, captive
//! portal and proxy answers, and counts a test can check "exactly once" against.

use axum::http::Method;
use chrono::{DateTime, Utc};
use reqwest::{redirect, Client, StatusCode};
use schooldesk_sim::faults::is_write;
use schooldesk_sim::{
    Fault, FaultScope, Portal, RequestRecord, SimClock, SimConfig, Simulators, SystemKind,
};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::time::Duration;

const OF: SystemKind = SystemKind::OmniForge;
const PS: SystemKind = SystemKind::PowerSchool;
const MX: SystemKind = SystemKind::Matrix;

fn t0() -> DateTime<Utc> {
    // A Wednesday in term.
    DateTime::parse_from_rfc3339("2026-10-14T08:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

async fn start() -> Simulators {
    let sims = Simulators::start(SimConfig {
        seed: 7,
        students: 80,
        clock: SimClock::frozen(t0()),
        ..SimConfig::default()
    })
    .await
    .expect("simulators start");
    let key = sims.omniforge_admin.key();
    sims.omniforge_admin.set_rate_limit(&key, None);
    sims
}

fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// A client that shows redirects instead of following them.
fn no_redirects() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(60))
        .redirect(redirect::Policy::none())
        .build()
        .unwrap()
}

/// What the client saw: a status and body, or a transport error.
#[derive(Debug, Clone, PartialEq)]
enum Seen {
    Answer(u16, Value),
    Transport,
}

async fn seen(r: reqwest::Result<reqwest::Response>) -> Seen {
    match r {
        Ok(r) => {
            let s = r.status().as_u16();
            Seen::Answer(s, r.json().await.unwrap_or(Value::Null))
        }
        Err(e) => {
            // A closed connection, never a status and never our own timeout.
            assert!(e.status().is_none(), "{e:?}");
            assert!(!e.is_timeout(), "{e:?}");
            Seen::Transport
        }
    }
}

fn of_url(sims: &Simulators, path: &str) -> String {
    format!("{}/__api/v1{path}", sims.omniforge.base_url)
}

fn mark_body(sims: &Simulators, student: usize) -> Value {
    let s = &sims.district.students[student];
    let homeroom = &sims.district.sections[s.homeroom];
    json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": "2026-10-14",
           "status": "tardy"})
}

async fn post_mark(c: &Client, sims: &Simulators, student: usize, idem: &str) -> Seen {
    seen(
        c.post(of_url(sims, "/attendance"))
            .bearer_auth(sims.omniforge_admin.key())
            .header("Idempotency-Key", idem)
            .json(&mark_body(sims, student))
            .send()
            .await,
    )
    .await
}

async fn of_get(c: &Client, sims: &Simulators, path: &str) -> Seen {
    seen(
        c.get(of_url(sims, path))
            .bearer_auth(sims.omniforge_admin.key())
            .send()
            .await,
    )
    .await
}

async fn ps_post(c: &Client, sims: &Simulators, path: &str, body: Option<&Value>) -> Seen {
    let mut req = c
        .post(format!("{}/api/v1{path}", sims.powerschool.base_url))
        .basic_auth(sims.powerschool_admin.key(), None::<&str>);
    if let Some(b) = body {
        req = req.json(b);
    }
    seen(req.send().await).await
}

async fn ps_get(c: &Client, sims: &Simulators, path: &str) -> Seen {
    seen(
        c.get(format!("{}/api/v1{path}", sims.powerschool.base_url))
            .basic_auth(sims.powerschool_admin.key(), None::<&str>)
            .send()
            .await,
    )
    .await
}

async fn matrix(c: &Client, sims: &Simulators, function: &str, args: &[(&str, String)]) -> Seen {
    let mut query: Vec<(&str, String)> = vec![("api_key", sims.matrix_admin.api_key())];
    query.extend(args.iter().cloned());
    seen(
        c.get(format!("{}/api/{function}", sims.matrix.base_url))
            .query(&query)
            .send()
            .await,
    )
    .await
}

fn submission() -> Value {
    json!({"publishedActionId": 102, "submission": {"dataItems": [
        {"fieldName": "stu_FirstName", "value": "Jane"},
        {"fieldName": "stu_LastName", "value": "Doe"},
        {"fieldName": "stu_DateOfBirth", "value": "01/01/2016"}]}})
}

fn last_request(sims: &Simulators, system: SystemKind) -> RequestRecord {
    sims.shared
        .recorder
        .requests_for(system)
        .pop()
        .expect("a request was recorded")
}

fn status(s: &Seen) -> u16 {
    match s {
        Seen::Answer(code, _) => *code,
        Seen::Transport => 0,
    }
}

#[test]
fn writes_are_non_get_requests_and_matrix_write_functions() {
    assert!(is_write(OF, &Method::POST, "/__api/v1/attendance"));
    assert!(!is_write(OF, &Method::GET, "/__api/v1/attendance"));
    assert!(is_write(
        PS,
        &Method::POST,
        "/api/v1/deliverytargets/1/createbatch"
    ));
    assert!(!is_write(PS, &Method::HEAD, "/api/v1/deliverytargets"));
    for f in [
        "update_user",
        "add_students_to_class",
        "remove_students_from_class",
        "set_grades_for_assignment",
    ] {
        assert!(is_write(MX, &Method::GET, &format!("/api/{f}")), "{f}");
    }
    assert!(!is_write(MX, &Method::GET, "/api/get_all_users"));
    assert!(!is_write(MX, &Method::GET, "/api/update_user_not"));
    // HUBmis is read-only; asking for a token changes nothing.
    assert!(!is_write(
        SystemKind::Hubmis,
        &Method::POST,
        "/api/v1/token"
    ));
}

#[tokio::test]
async fn a_lost_reply_still_applies_the_write_exactly_once() {
    let sims = start().await;
    let faults = &sims.shared.faults;
    let rec = &sims.shared.recorder;
    let c = client();

    // OmniForge: the one-shot waits for a write; a read on the same path passes it by.
    faults.lose_next_reply(Some(OF), Some("/__api/v1/attendance".into()));
    let homeroom = &sims.district.sections[sims.district.students[0].homeroom];
    let list = format!("/attendance?date=2026-10-14&sectionId={}", homeroom.uuid);
    let read = of_get(&c, &sims, &list).await;
    assert_eq!(status(&read), 200);
    assert_eq!(faults.pending_write_one_shots().len(), 1);

    assert_eq!(post_mark(&c, &sims, 0, "idem-lost").await, Seen::Transport);
    assert!(faults.pending_write_one_shots().is_empty());
    assert_eq!(sims.omniforge_admin.stored_marks().len(), 1, "applied");
    assert_eq!(rec.writes_of(OF, "attendance.create").len(), 1);
    let r = last_request(&sims, OF);
    assert_eq!(r.status, 0);
    assert_eq!(r.fault, Some(Fault::LostReply { unsent: 201 }));

    // Resent under its key, the desk learns the outcome and nothing is applied twice.
    assert_eq!(status(&post_mark(&c, &sims, 0, "idem-lost").await), 200);
    let counts = rec.write_counts(OF, "attendance.create");
    assert_eq!(counts.get(&Some("idem-lost".to_string())), Some(&1));
    assert_eq!(counts.len(), 1);

    // Matrix: its writes are GETs and lose their reply all the same.
    let class_id = sims.matrix_admin.class_ids()[0];
    let roster = sims.matrix_admin.roster(class_id);
    let exam = sims.matrix_admin.assignment_ids(class_id)[3];
    faults.lose_next_reply(Some(MX), Some("/api/set_grades_for_assignment".into()));
    let grades = matrix(
        &c,
        &sims,
        "get_grades_for_class",
        &[("class_id", class_id.to_string())],
    )
    .await;
    assert_eq!(status(&grades), 200, "a read is not a write");
    let set = matrix(
        &c,
        &sims,
        "set_grades_for_assignment",
        &[
            ("assignment_id", exam.to_string()),
            ("grades[][user_id]", roster[0].to_string()),
            ("grades[][grade]", "B+".into()),
        ],
    )
    .await;
    assert_eq!(set, Seen::Transport);
    assert_eq!(
        sims.matrix_admin.grade(exam, roster[0]).as_deref(),
        Some("B+")
    );
    assert_eq!(rec.writes_of(MX, "grades.set").len(), 1);

    // PowerSchool: a submission and a delivery batch, applied though unanswered.
    faults.lose_next_reply(Some(PS), Some("/api/v1/submission".into()));
    assert_eq!(
        ps_post(&c, &sims, "/submission", Some(&submission())).await,
        Seen::Transport
    );
    assert_eq!(rec.writes_of(PS, "submission.create").len(), 1);

    let Seen::Answer(200, targets) = ps_get(&c, &sims, "/deliverytargets").await else {
        panic!("delivery targets");
    };
    let target = targets[0]["id"].as_u64().unwrap();
    let pool = sims.powerschool_admin.pool_len(target);
    faults.lose_next_reply(Some(PS), None);
    let path = format!("/deliverytargets/{target}/createbatch");
    assert_eq!(ps_post(&c, &sims, &path, None).await, Seen::Transport);
    assert!(
        sims.powerschool_admin.pool_len(target) < pool,
        "the pool was drawn"
    );
    assert_eq!(sims.powerschool_admin.batches(target).len(), 1);
    assert_eq!(rec.writes_of(PS, "batch.create").len(), 1);

    assert_eq!(faults.lost_replies(), 4);
    assert_eq!(faults.counts_for(PS).lost_replies, 2);
    assert_eq!(faults.dropped_connections(), 0);
    assert_eq!(
        rec.faulted_requests().len(),
        4,
        "only the four writes were touched"
    );
}

#[tokio::test]
async fn a_dropped_connection_applies_nothing() {
    let sims = start().await;
    let faults = &sims.shared.faults;
    let rec = &sims.shared.recorder;
    let c = client();

    faults.drop_next(Some(OF), None);
    assert_eq!(post_mark(&c, &sims, 1, "idem-drop").await, Seen::Transport);
    assert!(sims.omniforge_admin.stored_marks().is_empty());
    assert!(rec.writes_for(OF).is_empty());
    let r = last_request(&sims, OF);
    assert_eq!((r.status, r.fault), (0, Some(Fault::Dropped)));
    // Sent again, it lands once.
    assert_eq!(status(&post_mark(&c, &sims, 1, "idem-drop").await), 201);
    assert_eq!(rec.writes_of(OF, "attendance.create").len(), 1);

    let uid = sims.matrix_admin.user_id_of_student(3);
    let before = sims.matrix_admin.user(uid).unwrap()["last_name"].clone();
    faults.drop_next(Some(MX), Some("/api/update_user".into()));
    let update = matrix(
        &c,
        &sims,
        "update_user",
        &[
            ("student_id", sims.district.students[3].external_id.clone()),
            ("last_name", "Okonkwo-Smith".into()),
        ],
    )
    .await;
    assert_eq!(update, Seen::Transport);
    assert_eq!(sims.matrix_admin.user(uid).unwrap()["last_name"], before);
    assert!(rec.writes_for(MX).is_empty());

    let Seen::Answer(200, targets) = ps_get(&c, &sims, "/deliverytargets").await else {
        panic!("delivery targets");
    };
    let target = targets[0]["id"].as_u64().unwrap();
    let pool = sims.powerschool_admin.pool_len(target);
    faults.drop_next(Some(PS), Some("/api/v1/deliverytargets".into()));
    let path = format!("/deliverytargets/{target}/createbatch");
    assert_eq!(ps_post(&c, &sims, &path, None).await, Seen::Transport);
    assert_eq!(sims.powerschool_admin.pool_len(target), pool);
    assert!(sims.powerschool_admin.batches(target).is_empty());
    assert!(rec.writes_for(PS).is_empty());

    assert_eq!(faults.dropped_connections(), 3);
    assert_eq!(faults.counts_for(MX).dropped, 1);
    assert_eq!(faults.lost_replies(), 0);
}

/// One run of 60 marks under every rate at once, on fresh simulators.
async fn chaos_run(seed: u64) -> (Vec<(u16, Option<Fault>)>, BTreeSet<String>, u64, u64) {
    let sims = start().await;
    let faults = &sims.shared.faults;
    faults.seed(seed);
    faults.set_error_rate(0.2);
    faults.set_drop_rate(0.2);
    faults.set_lost_reply_rate(0.2);
    let c = client();
    for i in 0..60 {
        post_mark(&c, &sims, i, &format!("idem-{i}")).await;
    }
    let requests = sims.shared.recorder.requests_for(OF);
    let pattern: Vec<(u16, Option<Fault>)> = requests.iter().map(|r| (r.status, r.fault)).collect();

    // Applied: exactly the writes the handler ran for, whether or not the reply arrived.
    let ran: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.status == 201 || r.fault == Some(Fault::LostReply { unsent: 201 }))
        .map(|r| r.headers["idempotency-key"].clone())
        .collect();
    let counts = sims.shared.recorder.write_counts(OF, "attendance.create");
    assert!(counts.values().all(|n| *n == 1), "{counts:?}");
    let applied: BTreeSet<String> = counts.into_keys().map(|k| k.unwrap()).collect();
    assert_eq!(applied, ran);
    assert_eq!(sims.omniforge_admin.stored_marks().len(), applied.len());

    let c = faults.counts_for(OF);
    let by_kind = |f: fn(&Option<Fault>) -> bool| pattern.iter().filter(|p| f(&p.1)).count() as u64;
    assert_eq!(c.failed, by_kind(|f| *f == Some(Fault::Failed)));
    assert_eq!(c.dropped, by_kind(|f| *f == Some(Fault::Dropped)));
    assert_eq!(
        c.lost_replies,
        by_kind(|f| matches!(f, Some(Fault::LostReply { .. })))
    );
    (pattern, applied, c.dropped, c.lost_replies)
}

#[tokio::test]
async fn rates_repeat_for_a_seed() {
    let (a, applied_a, dropped, lost) = chaos_run(2024).await;
    let (b, applied_b, _, _) = chaos_run(2024).await;
    assert_eq!(a, b, "same seed, same faults");
    assert_eq!(applied_a, applied_b);

    let failed = a.iter().filter(|p| p.0 == 503).count();
    // Each rate is a fifth of 60 writes; the seed fixes the draw, these bounds only catch a
    // rate that is ignored or applied to everything.
    for (what, n) in [
        ("503s", failed as u64),
        ("dropped", dropped),
        ("lost", lost),
    ] {
        assert!((4..=24).contains(&n), "{what}: {n} of 60");
    }
    assert!(
        !applied_a.is_empty() && applied_a.len() < 60,
        "{}",
        applied_a.len()
    );

    let (c, _, _, _) = chaos_run(2025).await;
    assert_ne!(a, c, "another seed, other faults");
}

#[tokio::test]
async fn portal_modes_answer_as_described() {
    let sims = start().await;
    let faults = &sims.shared.faults;
    let rec = &sims.shared.recorder;
    let nr = no_redirects();

    faults.set_portal(Some(Portal::Redirect));
    let login = format!("http://127.0.0.1:{}/login", sims.omniforge.addr.port());
    for r in [
        nr.get(of_url(&sims, "/organizations"))
            .bearer_auth(sims.omniforge_admin.key()),
        nr.post(of_url(&sims, "/attendance"))
            .bearer_auth(sims.omniforge_admin.key())
            .header("Idempotency-Key", "idem-portal")
            .json(&mark_body(&sims, 2)),
    ] {
        let r = r.send().await.unwrap();
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()["location"].to_str().unwrap(), login);
    }
    let r = nr
        .get(format!("{}/api/update_user", sims.matrix.base_url))
        .query(&[("api_key", sims.matrix_admin.api_key())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FOUND);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("http://127.0.0.1:{}/login", sims.matrix.addr.port())
    );
    // A client that follows the redirect lands on the portal's HTML page.
    let r = client()
        .post(of_url(&sims, "/attendance"))
        .bearer_auth(sims.omniforge_admin.key())
        .header("Idempotency-Key", "idem-portal")
        .json(&mark_body(&sims, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.url().as_str(), login);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<form"));

    faults.set_portal(Some(Portal::LoginPage));
    let r = nr
        .post(of_url(&sims, "/attendance"))
        .bearer_auth(sims.omniforge_admin.key())
        .header("Idempotency-Key", "idem-portal")
        .json(&mark_body(&sims, 2))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert!(r.text().await.unwrap().contains("<form"));
    let r = nr
        .get(format!(
            "{}/api/v1/deliverytargets",
            sims.powerschool.base_url
        ))
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    // Nothing behind the portal was reached.
    assert!(rec.writes().is_empty());
    assert!(sims.omniforge_admin.stored_marks().is_empty());
    assert_eq!(faults.counts().portal, 7);
    assert!(rec
        .requests()
        .iter()
        .all(|r| r.fault == Some(Fault::Portal)));

    // In front of one system only: the others answer as themselves.
    faults.set_portal(None);
    faults.set_portal_for(MX, Some(Portal::LoginPage));
    assert_eq!(faults.portal(MX), Some(Portal::LoginPage));
    assert_eq!(faults.portal(OF), None);
    let c = client();
    assert_eq!(status(&post_mark(&c, &sims, 2, "idem-portal").await), 201);
    let r = c
        .get(format!("{}/api/get_all_classes", sims.matrix.base_url))
        .query(&[("api_key", sims.matrix_admin.api_key())])
        .send()
        .await
        .unwrap();
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));

    faults.clear();
    assert_eq!(faults.portal(MX), None);
    let classes = matrix(&c, &sims, "get_all_classes", &[]).await;
    assert_eq!(status(&classes), 200);
}

#[tokio::test]
async fn reads_are_untouched_when_faults_are_restricted_to_writes() {
    let sims = start().await;
    let faults = &sims.shared.faults;
    let rec = &sims.shared.recorder;
    let c = client();

    // The default keeps today's behaviour: the 503 rate hits reads too.
    faults.set_error_rate(1.0);
    assert_eq!(status(&of_get(&c, &sims, "/organizations").await), 503);

    // Every write is faulted one way or another; no read is.
    faults.set_error_scope(FaultScope::Writes);
    faults.set_error_rate(0.4);
    faults.set_drop_rate(0.3);
    faults.set_lost_reply_rate(0.3);
    rec.clear();
    faults.reset_counts();
    for i in 0..20 {
        assert_eq!(status(&of_get(&c, &sims, "/organizations").await), 200);
        assert_eq!(status(&ps_get(&c, &sims, "/deliverytargets").await), 200);
        assert_eq!(
            status(&matrix(&c, &sims, "get_all_classes", &[]).await),
            200
        );
        let w = post_mark(&c, &sims, i, &format!("idem-{i}")).await;
        assert!(matches!(status(&w), 503 | 0), "{w:?}");
    }
    let reads = rec.requests().into_iter().filter(|r| r.method == "GET");
    for r in reads {
        assert_eq!((r.status, r.fault), (200, None), "{} {}", r.method, r.path);
    }
    let counts = faults.counts();
    assert_eq!(counts.failed + counts.dropped + counts.lost_replies, 20);
    assert!(counts.failed > 0 && counts.dropped > 0 && counts.lost_replies > 0);

    // Drops and lost replies never touch reads, whatever the error scope.
    faults.set_error_scope(FaultScope::All);
    faults.set_error_rate(0.0);
    faults.set_drop_rate(1.0);
    assert_eq!(status(&of_get(&c, &sims, "/organizations").await), 200);
    faults.set_drop_rate(0.0);
    faults.set_lost_reply_rate(1.0);
    assert_eq!(status(&of_get(&c, &sims, "/organizations").await), 200);
}
