//! A page that cannot be read (malformed, truncated, not JSON) stops the sync with a clear
//! error and stores nothing of that page; once the server is mended, the sync resumes at it.

mod pull_support;

use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use pull_support::*;
use schooldesk_connectors::{Connection, Connector, Secret};
use schooldesk_domain::System;
use schooldesk_sync::pull::{sync_system, SyncContext, SyncMode};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

const GOOD: u8 = 0;
const MALFORMED: u8 = 1;
const TRUNCATED: u8 = 2;
const HTML: u8 = 3;

/// A small OmniForge: one school, 300 students in two pages, nothing else. The second page
/// of students is served broken while `mode` says so.
async fn fake_omniforge(mode: Arc<AtomicU8>) -> String {
    fn json_reply(v: Value) -> Response {
        ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
    }
    fn empty() -> Response {
        json_reply(json!({"data": [], "page": {"nextCursor": null}}))
    }
    async fn persons(
        State(mode): State<Arc<AtomicU8>>,
        Query(q): Query<HashMap<String, String>>,
    ) -> Response {
        if q.get("personType").map(String::as_str) != Some("STUDENT") {
            return empty();
        }
        let second = q.get("cursor").map(String::as_str) == Some("page-2");
        let range = if second { 200..300 } else { 0..200 };
        let data: Vec<Value> = range
            .map(|i| {
                json!({"id": format!("p{i}"), "personType": "STUDENT", "externalId": format!("ST{i:06}"),
                       "firstName": "Kim", "lastName": format!("Family{i}"), "dateOfBirth": "2015-01-02",
                       "gradeLevel": "4", "organizationId": "org-1", "status": "active"})
            })
            .collect();
        let next = if second { Value::Null } else { json!("page-2") };
        let body = json!({"data": data, "page": {"nextCursor": next}}).to_string();
        match (second, mode.load(Ordering::SeqCst)) {
            (true, MALFORMED) => {
                json_reply(json!({"data": [{"personType": "STUDENT"}], "page": {}}))
            }
            (true, TRUNCATED) => (
                [(header::CONTENT_TYPE, "application/json")],
                body[..body.len() / 2].to_string(),
            )
                .into_response(),
            (true, HTML) => (
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                "<html><body>Maintenance</body></html>",
            )
                .into_response(),
            _ => ([(header::CONTENT_TYPE, "application/json")], body).into_response(),
        }
    }
    let router = Router::new()
        .route(
            "/__api/v1/organizations",
            get(|| async {
                json_reply(
                    json!({"data": [{"id": "org-1", "name": "Oak School", "code": "OAK"}],
                                  "page": {"nextCursor": null}}),
                )
            }),
        )
        .route("/__api/v1/persons", get(persons))
        .route(
            "/__api/v1/persons/{id}/guardians",
            get(|| async { json_reply(json!({"data": []})) }),
        )
        .route("/__api/v1/sections", get(|| async { empty() }))
        .route("/__api/v1/enrollments", get(|| async { empty() }))
        .route("/__api/v1/attendance", get(|| async { empty() }))
        .with_state(mode);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_page_changes_nothing_and_the_sync_resumes_at_it() {
    for (broken, kind) in [(TRUNCATED, "Truncated"), (HTML, "WrongContentType")] {
        let mode = Arc::new(AtomicU8::new(broken));
        let base = fake_omniforge(mode.clone()).await;
        let t = cache();
        let connection = Connection::new(System::OmniForge, &base);
        let clock = schooldesk_sim::SimClock::frozen(morning());
        let connector = Connector::new(
            &connection,
            Secret::new("fsis_secret_00ff"),
            Arc::new(SimPace(clock)),
        )
        .unwrap();
        let s = sync_system(
            &t.cache,
            &connector,
            &connection,
            SyncMode::Full,
            &SyncContext::default(),
        )
        .await;
        assert!(!s.completed);
        let e = s.error.expect("an error");
        assert_eq!(e.code, "connector.bad_reply", "{e:?}");
        assert!(e.detail.contains(kind), "{kind}: {}", e.detail);
        assert!(e.message.contains("nothing was changed"), "{}", e.message);
        // The first page is stored; nothing of the broken one.
        assert_eq!(
            count(&t.cache, "students", System::OmniForge),
            200,
            "{kind}"
        );
        assert!(t
            .cache
            .student(System::OmniForge, "p250")
            .unwrap()
            .is_none());

        mode.store(GOOD, Ordering::SeqCst);
        let s = sync_system(
            &t.cache,
            &connector,
            &connection,
            SyncMode::Full,
            &SyncContext::default(),
        )
        .await;
        assert!(s.completed && s.resumed, "{s:?}");
        assert_eq!(count(&t.cache, "students", System::OmniForge), 300);
        // Resumed at the broken page: one student page asked, not two.
        assert_eq!(s.rows.get("students"), Some(&100));
    }
}

// REGRESSION: one record a system sent without its id failed the whole page, so every other
// record of that page (and of the pages after it) never reached the desk.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_record_is_reported_and_the_others_still_sync() {
    let mode = Arc::new(AtomicU8::new(MALFORMED));
    let base = fake_omniforge(mode.clone()).await;
    let t = cache();
    let connection = Connection::new(System::OmniForge, &base);
    let clock = schooldesk_sim::SimClock::frozen(morning());
    let connector = Connector::new(
        &connection,
        Secret::new("fsis_secret_00ff"),
        Arc::new(SimPace(clock)),
    )
    .unwrap();
    let s = sync_system(
        &t.cache,
        &connector,
        &connection,
        SyncMode::Full,
        &SyncContext::default(),
    )
    .await;
    assert!(s.completed, "{s:?}");
    assert_eq!(s.malformed.len(), 1, "{s:?}");
    let m = &s.malformed[0];
    assert_eq!(m.system, System::OmniForge);
    assert!(m.field.contains("id") || m.problem.contains("id"), "{m:?}");
    assert!(
        s.describe().contains("could not be read"),
        "the summary says so: {}",
        s.describe()
    );
    // The good page is stored, and nothing is removed on the strength of a list with a hole.
    assert_eq!(count(&t.cache, "students", System::OmniForge), 200);
    assert!(s.removed.is_empty() && s.held_removals.is_empty(), "{s:?}");
}
