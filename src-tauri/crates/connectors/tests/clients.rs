//! Each client against its simulator over real HTTP: requests pinned on method, path, query
//! and headers; credentials problems turned into typed errors an office worker can act on.

mod support;

use base64::Engine as _;
use schooldesk_connectors::{
    hubmis, matrix, omniforge, powerschool, AuthProblem, Connection, Connector, ConnectorError,
    Secret,
};
use schooldesk_domain::{EnrollmentRecordKind, System};
use schooldesk_sim::SystemKind;
use support::*;

fn omni(c: &Connector) -> &omniforge::OmniForge {
    match c {
        Connector::OmniForge(x) => x,
        _ => unreachable!(),
    }
}
fn ps(c: &Connector) -> &powerschool::PowerSchool {
    match c {
        Connector::PowerSchool(x) => x,
        _ => unreachable!(),
    }
}
fn mx(c: &Connector) -> &matrix::Matrix {
    match c {
        Connector::Matrix(x) => x,
        _ => unreachable!(),
    }
}
fn hub(c: &Connector) -> &hubmis::Hubmis {
    match c {
        Connector::Hubmis(x) => x,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn omniforge_lists_are_cursor_paged_at_200_with_a_bearer_key() {
    let sims = start(450).await;
    let c = connector(&sims, System::OmniForge);
    let mut q = omniforge::ListQuery::default();
    let mut seen = 0;
    loop {
        let page = omni(&c)
            .persons(omniforge::PersonType::Student, &q)
            .await
            .unwrap();
        seen += page.items.len();
        match page.next_cursor {
            Some(next) => q.cursor = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, 450);
    let reqs = sims.shared.recorder.requests_for(SystemKind::OmniForge);
    assert_eq!(reqs.len(), 3, "450 students in pages of 200");
    let first = &reqs[0];
    assert_eq!(first.method, "GET");
    assert_eq!(first.path, "/__api/v1/persons");
    assert_eq!(first.query, "personType=STUDENT&limit=200");
    assert_eq!(
        first.headers.get("authorization").map(String::as_str),
        Some(format!("Bearer {}", sims.omniforge_admin.key()).as_str())
    );
    assert!(reqs[1].query.contains("cursor="));

    // The wire decodes into the domain model, with the shared external id.
    let page = omni(&c)
        .persons(
            omniforge::PersonType::Student,
            &omniforge::ListQuery::default(),
        )
        .await
        .unwrap();
    let s = omniforge::to_student(&page.items[0], sims.shared.clock.now());
    let d = &sims.district.students[0];
    assert_eq!(s.external_id.as_deref(), Some(d.external_id.as_str()));
    assert_eq!(s.given_name, d.given_name);
    assert_eq!(s.source.source_id, d.uuid);
}

#[tokio::test]
async fn omniforge_key_problems_are_typed_and_explained() {
    let sims = start(60).await;
    let key = sims.omniforge_admin.key();
    sims.omniforge_admin.revoke_key(&key);
    let c = connector(&sims, System::OmniForge);
    let err = c.verify().await.unwrap_err();
    match &err {
        ConnectorError::Auth { problem, .. } => assert_eq!(*problem, AuthProblem::Revoked),
        other => panic!("{other:?}"),
    }
    assert!(err.is_permanent());
    assert!(
        err.user_message().contains("revoked"),
        "{}",
        err.user_message()
    );
    assert!(err.user_message().contains("district administrator"));
    assert!(!err.to_string().contains(&key), "the key leaked: {err}");

    // A key without the scope of a route: forbidden, not an auth failure.
    let other = schooldesk_sim::omniforge::ApiKey::generate("clerk");
    sims.omniforge_admin.add_key(other.clone());
    sims.omniforge_admin
        .set_scopes(&other.key, &["student.read"]);
    let (conn, _) = connection(&sims, System::OmniForge);
    let c = connector_for(&sims, &conn, Secret::new(other.key.clone()));
    let err = omni(&c)
        .sections(None, &omniforge::ListQuery::default())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "connector.forbidden", "{err:?}");
    assert!(err.user_message().contains("permission"));

    // A malformed key.
    let c = connector_for(&sims, &conn, Secret::new("not-a-key"));
    match c.verify().await.unwrap_err() {
        ConnectorError::Auth { problem, .. } => assert_eq!(problem, AuthProblem::Malformed),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn powerschool_uses_basic_auth_and_its_500_for_bad_credentials_is_an_auth_error() {
    let sims = start(120).await;
    let c = connector(&sims, System::PowerSchool);
    c.verify().await.unwrap();
    let actions = ps(&c).published_actions().await.unwrap();
    assert!(!actions.is_empty());
    let action = &actions[0].wire.id;
    let page = ps(&c).roster_records(action, 1, 500).await.unwrap();
    assert_eq!(page.meta.record_count, 120);
    assert_eq!(page.records.len(), 120);
    let rec = powerschool::to_enrollment_record(
        EnrollmentRecordKind::Roster,
        action,
        &page.records[0],
        sims.shared.clock.now(),
    );
    assert_eq!(
        rec.external_student_id.as_deref(),
        Some(sims.district.students[0].external_id.as_str())
    );
    assert!(rec.date_of_birth.is_some());

    let reqs = sims.shared.recorder.requests_for(SystemKind::PowerSchool);
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:", sims.powerschool_admin.key()))
    );
    assert_eq!(reqs[0].path, "/api/v1/connection/test");
    assert_eq!(reqs[0].headers.get("authorization"), Some(&basic));
    let last = reqs.last().unwrap();
    assert_eq!(
        last.path,
        format!("/api/v1/publishedactions/{action}/rosterrecords")
    );
    assert_eq!(last.query, "page=1&pagesize=500");

    let (conn, _) = connection(&sims, System::PowerSchool);
    let bad = connector_for(&sims, &conn, Secret::new("wrong-key"));
    let err = bad.verify().await.unwrap_err();
    assert_eq!(err.code(), "connector.auth", "{err:?}");
    assert!(err.is_permanent());
    assert!(!err.to_string().contains("wrong-key"));
    // A credentials error is not retried: one request, not four.
    let after = sims
        .shared
        .recorder
        .requests_for(SystemKind::PowerSchool)
        .len();
    assert_eq!(after, reqs.len() + 1);
}

#[tokio::test]
async fn matrix_key_goes_in_the_query_and_password_and_ssn_never_leave_the_decoder() {
    let sims = start(80).await;
    let c = connector(&sims, System::Matrix);
    let users = mx(&c).users(1).await.unwrap();
    assert_eq!(users.len(), 100);
    for u in &users {
        assert!(u.raw.get("password").is_none(), "{}", u.raw);
        assert!(u.raw.get("ssn").is_none());
    }
    let student = users.iter().find(|u| u.wire.student).expect("a student");
    let s = matrix::to_student(student, sims.shared.clock.now(), 2026);
    assert!(s.external_id.as_deref().unwrap().starts_with("ST"));
    assert!(s.source.raw.get("ssn").is_none());
    let req = &sims.shared.recorder.requests_for(SystemKind::Matrix)[0];
    assert_eq!(req.method, "GET");
    assert_eq!(req.path, "/api/get_all_users");
    assert_eq!(
        req.query,
        format!("page=1&api_key={}", sims.matrix_admin.api_key())
    );

    let (conn, _) = connection(&sims, System::Matrix);
    let bad = connector_for(&sims, &conn, Secret::new("99-99-badbadbad"));
    let err = bad.verify().await.unwrap_err();
    assert_eq!(err.code(), "connector.auth");
    assert!(!format!("{err} {err:?}").contains("badbadbad"));
}

#[tokio::test]
async fn hubmis_sends_token_and_realm_and_renews_a_dead_token_once() {
    let sims = start(60).await;
    let c = connector(&sims, System::Hubmis);
    let codes = hub(&c).attendance_codes().await.unwrap();
    assert!(codes.iter().any(|c| c.wire.code == "/"));
    assert_eq!(hub(&c).tokens_fetched(), 1);

    let reqs = sims.shared.recorder.requests_for(SystemKind::Hubmis);
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(reqs[0].path, "/api/v1/token");
    assert_eq!(reqs[1].path, "/api/v1/attendance/codes");
    assert_eq!(
        reqs[1].headers.get("realm"),
        Some(&sims.hubmis_admin.realm())
    );
    assert!(reqs[1].headers["authorization"].starts_with("Bearer "));

    // The server forgets the token: one 401, one new token, the request again, success.
    sims.hubmis_admin.expire_tokens();
    let page = hub(&c)
        .students(&hubmis::ListQuery::page(1, 1000).filter("enrolmentStatus", "current"))
        .await
        .unwrap();
    assert_eq!(page.len(), 60);
    assert_eq!(hub(&c).tokens_fetched(), 2);
    let seen = statuses(&sims, System::Hubmis);
    assert_eq!(&seen[2..], &[401, 200, 200], "{seen:?}");
    let q = &sims.shared.recorder.requests_for(SystemKind::Hubmis)[4].query;
    assert_eq!(
        q,
        "filter%5BenrolmentStatus%5D=current&page%5Bnumber%5D=1&page%5Bsize%5D=1000"
    );

    // Tokens die after 15 minutes whatever expires_in says: renewed before, not after, a 401.
    sims.shared
        .clock
        .advance(std::time::Duration::from_secs(16 * 60));
    hub(&c).attendance_codes().await.unwrap();
    assert_eq!(hub(&c).tokens_fetched(), 3);
    assert!(!statuses(&sims, System::Hubmis)[5..].contains(&401));

    // Wrong client secret: refused at the token, typed, secret not shown.
    let (conn, _) = connection(&sims, System::Hubmis);
    let bad = connector_for(&sims, &conn, Secret::new("wrong-secret-123"));
    let err = bad.verify().await.unwrap_err();
    assert_eq!(err.code(), "connector.auth", "{err:?}");
    assert!(!format!("{err:?}").contains("wrong-secret-123"));
}

#[tokio::test]
async fn plain_http_is_refused_except_to_this_computer() {
    let mut c = Connection::new(System::OmniForge, "http://sis.district.example.org");
    let err = Connector::with_real_time(&c, Secret::new("fsis_secret_00")).unwrap_err();
    assert_eq!(err.code(), "connector.insecure_url");
    assert!(err.user_message().contains("https://"));
    c.base_url = "https://sis.district.example.org".into();
    assert!(Connector::with_real_time(&c, Secret::new("fsis_secret_00")).is_ok());
    c.base_url = "http://127.0.0.1:9".into();
    assert!(Connector::with_real_time(&c, Secret::new("fsis_secret_00")).is_ok());

    let mut h = Connection::new(System::Hubmis, "https://api.hubmis.example");
    h.client_id = Some("id".into());
    let err = Connector::with_real_time(&h, Secret::new("secret")).unwrap_err();
    assert_eq!(err.code(), "connector.config");
    assert!(err.user_message().contains("realm"));
}
