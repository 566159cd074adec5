//! Exactly once: a mark never overwrites a server mark the desk has not seen, conflicts come
//! back with the server's version, failures are sorted by how the outbox must treat them,
//! and after an uncertain outcome `settle` reads the system before anything is resent.

mod support;

use chrono::{Datelike, NaiveDate};
use schooldesk_connectors::{
    Connection, Connector, ConnectorError, Disposition, SendOutcome, SettleContext, Settled,
};
use schooldesk_domain::{AttendanceStatus, MarkWrite, System, Write};
use schooldesk_sim::{Simulators, SystemKind};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use uuid::Uuid;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn mark(student: &str, section: &str, date: NaiveDate, status: AttendanceStatus) -> MarkWrite {
    MarkWrite {
        student_id: student.into(),
        section_id: Some(section.into()),
        period: None,
        date,
        status,
        code: None,
        note: None,
        minutes_late: None,
        base_version: None,
    }
}

/// The last school day before the simulators' today: inside OmniForge's history window.
fn last_school_day(sims: &Simulators) -> NaiveDate {
    let mut day = sims.shared.clock.now().date_naive().pred_opt().unwrap();
    while day.weekday().number_from_monday() > 5 {
        day = day.pred_opt().unwrap();
    }
    day
}

fn ctx(sims: &Simulators) -> SettleContext {
    SettleContext {
        started_at: sims.shared.clock.now(),
        known_batches: Vec::new(),
    }
}

fn posts(sims: &Simulators, system: SystemKind) -> usize {
    count(sims, system, "POST")
}

#[tokio::test]
async fn a_mark_made_without_the_servers_copy_never_overwrites_a_different_server_mark() {
    let sims = start(60).await;
    let c = connector(&sims, System::OmniForge);
    let s = &sims.district.students[4];
    let homeroom = &sims.district.sections[s.homeroom].uuid;
    let day = last_school_day(&sims);
    // A teacher marked the student late in OmniForge; the desk never saw it.
    let teacher = sims
        .omniforge_admin
        .change_mark(&s.uuid, Some(homeroom), None, day, "tardy");

    let ours = Write::Mark(mark(&s.uuid, homeroom, day, AttendanceStatus::Absent));
    match c.send_write(&ours, Uuid::new_v4()).await.unwrap() {
        SendOutcome::Conflict(server) => {
            assert_eq!(server["status"], "tardy");
            assert_eq!(server["version"], teacher.version);
        }
        other => panic!("{other:?}"),
    }
    // Nothing was written at the server: no POST, no write recorded, the teacher's mark kept.
    assert_eq!(posts(&sims, SystemKind::OmniForge), 0);
    assert!(sims
        .shared
        .recorder
        .writes_for(SystemKind::OmniForge)
        .is_empty());
    let kept = sims
        .omniforge_admin
        .mark(&s.uuid, Some(homeroom), None, day)
        .unwrap();
    assert_eq!(
        (kept.status.as_str(), kept.version),
        ("tardy", teacher.version)
    );

    // The same mark as the server's: already there, nothing sent.
    let same = Write::Mark(mark(&s.uuid, homeroom, day, AttendanceStatus::Tardy));
    match c.send_write(&same, Uuid::new_v4()).await.unwrap() {
        SendOutcome::Applied(server) => assert_eq!(server["version"], teacher.version),
        other => panic!("{other:?}"),
    }
    assert_eq!(posts(&sims, SystemKind::OmniForge), 0);

    // The same status with minutes late to add: sent against the version just read.
    let late = Write::Mark(MarkWrite {
        minutes_late: Some(7),
        ..mark(&s.uuid, homeroom, day, AttendanceStatus::Tardy)
    });
    let key = Uuid::new_v4();
    let SendOutcome::Applied(done) = c.send_write(&late, key).await.unwrap() else {
        panic!("not applied")
    };
    assert_eq!(done["note"], "arrived 7 min late");
    assert_eq!(done["version"], teacher.version + 1);
    assert_eq!(posts(&sims, SystemKind::OmniForge), 1);
    // The uncertain-outcome path for marks: nothing to read, the same key goes out again.
    let requests = sims
        .shared
        .recorder
        .requests_for(SystemKind::OmniForge)
        .len();
    assert_eq!(
        c.settle(&late, &ctx(&sims)).await.unwrap(),
        Settled::NotApplied
    );
    assert_eq!(
        sims.shared
            .recorder
            .requests_for(SystemKind::OmniForge)
            .len(),
        requests
    );
    assert!(matches!(
        c.send_write(&late, key).await.unwrap(),
        SendOutcome::Applied(_)
    ));
    assert_eq!(
        sims.shared.recorder.writes_for(SystemKind::OmniForge).len(),
        1
    );
}

#[tokio::test]
async fn a_mark_based_on_an_old_version_comes_back_as_a_conflict_with_the_server_mark() {
    let sims = start(60).await;
    let c = connector(&sims, System::OmniForge);
    let s = &sims.district.students[3];
    let homeroom = &sims.district.sections[s.homeroom].uuid;
    let day = last_school_day(&sims);
    let seen = sims
        .omniforge_admin
        .mark(&s.uuid, Some(homeroom), None, day)
        .unwrap();
    sims.omniforge_admin
        .change_mark(&s.uuid, Some(homeroom), None, day, "excused");
    let stale = Write::Mark(MarkWrite {
        base_version: Some(seen.version),
        ..mark(&s.uuid, homeroom, day, AttendanceStatus::Present)
    });
    match c.send_write(&stale, Uuid::new_v4()).await.unwrap() {
        SendOutcome::Conflict(current) => {
            assert_eq!(current["status"], "excused");
            assert_eq!(current["version"], seen.version + 1);
        }
        other => panic!("{other:?}"),
    }
    assert!(sims
        .shared
        .recorder
        .writes_for(SystemKind::OmniForge)
        .is_empty());
}

#[tokio::test]
async fn permanent_refusals_carry_the_servers_reasons() {
    let sims = start(60).await;

    // OmniForge 422, with the field named.
    let o = connector(&sims, System::OmniForge);
    let s = &sims.district.students[3];
    let homeroom = &sims.district.sections[s.homeroom].uuid;
    let today = sims.shared.clock.now().date_naive();
    let bad = Write::Mark(MarkWrite {
        code: Some("A-VERY-LONG-CODE-INDEED".into()),
        base_version: Some(0),
        ..mark(&s.uuid, homeroom, today, AttendanceStatus::Absent)
    });
    let err = o.send_write(&bad, Uuid::new_v4()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Refused, "{err:?}");
    assert!(
        err.user_message().contains("code"),
        "{}",
        err.user_message()
    );

    // PowerSchool `{"status":"Error"}` with a 200.
    let p = connector(&sims, System::PowerSchool);
    let incomplete = Write::ImportRosterRecord {
        action_id: "102".into(),
        schema_id: "3".into(),
        record: map(&[("stu_FirstName", "Ada"), ("stu_ExternalID", "ST900009")]),
    };
    let err = p.send_write(&incomplete, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Refused, "{err:?}");
    assert!(
        err.user_message()
            .contains("Field 'stu_LastName' is required"),
        "{}",
        err.user_message()
    );
    let form = Write::SubmitForm {
        action_id: "102".into(),
        data_items: map(&[
            ("stu_FirstName", "Jo"),
            ("stu_LastName", "Li"),
            ("stu_Grade", "13"),
        ]),
    };
    let err = p.send_write(&form, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Refused);
    assert!(
        err.user_message().contains("stu_Grade '13'"),
        "{}",
        err.user_message()
    );
    // A reset of a batch the server does not have.
    let err = p
        .send_write(
            &Write::ResetBatch {
                target_id: "301".into(),
                batch_id: Uuid::nil().to_string(),
            },
            Uuid::nil(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), "connector.not_found");
    assert_eq!(err.disposition(), Disposition::Refused);

    // Matrix 400.
    let m = connector(&sims, System::Matrix);
    let class = sims.matrix_admin.class_ids()[0];
    let member = sims.matrix_admin.roster(class)[0];
    let grade = Write::SetGrade {
        class_id: class.to_string(),
        assignment_id: sims.matrix_admin.assignment_ids(class)[0].to_string(),
        student_id: member.to_string(),
        grade: "excellent".into(),
        seen: None,
    };
    let err = m.send_write(&grade, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Refused, "{err:?}");
    assert!(
        err.user_message().contains("Invalid grade 'excellent'"),
        "{}",
        err.user_message()
    );
}

#[tokio::test]
async fn a_revoked_key_means_the_system_needs_attention() {
    let sims = start(60).await;
    let o = connector(&sims, System::OmniForge);
    sims.omniforge_admin.revoke_key(&sims.omniforge_admin.key());
    let s = &sims.district.students[3];
    let today = sims.shared.clock.now().date_naive();
    let w = Write::Mark(MarkWrite {
        base_version: Some(1),
        ..mark(
            &s.uuid,
            &sims.district.sections[s.homeroom].uuid,
            today,
            AttendanceStatus::Present,
        )
    });
    let err = o.send_write(&w, Uuid::new_v4()).await.unwrap_err();
    assert_eq!(err.code(), "connector.auth");
    assert_eq!(err.disposition(), Disposition::NeedsAttention);

    // PowerSchool answers bad credentials with a 500: still the system's problem, not a retry.
    let p = connector(&sims, System::PowerSchool);
    sims.powerschool_admin.set_key("reissued-key");
    let err = p
        .send_write(
            &Write::CreateBatch {
                target_id: "301".into(),
            },
            Uuid::nil(),
        )
        .await
        .unwrap_err();
    assert_eq!(err.disposition(), Disposition::NeedsAttention, "{err:?}");
}

#[tokio::test]
async fn a_503_is_retried_later_and_a_write_is_not_resent_inside_the_client() {
    let sims = start(60).await;
    let p = connector(&sims, System::PowerSchool);
    sims.shared.faults.fail_next(
        Some(SystemKind::PowerSchool),
        Some("/api/v1/submission".into()),
        503,
    );
    let form = Write::SubmitForm {
        action_id: "102".into(),
        data_items: map(&[("stu_FirstName", "Jo"), ("stu_LastName", "Li")]),
    };
    let err = p.send_write(&form, Uuid::nil()).await.unwrap_err();
    assert_eq!(
        err.disposition(),
        Disposition::Retry { uncertain: false },
        "{err:?}"
    );
    assert_eq!(posts(&sims, SystemKind::PowerSchool), 1);
    assert!(sims.powerschool_admin.submission_ids(102).is_empty());

    // A 500 can come after the work was done: uncertain.
    sims.shared.faults.fail_next(
        Some(SystemKind::PowerSchool),
        Some("/api/v1/submission".into()),
        500,
    );
    let err = p.send_write(&form, Uuid::nil()).await.unwrap_err();
    assert_eq!(
        err.disposition(),
        Disposition::Retry { uncertain: true },
        "{err:?}"
    );
}

// ---- servers that are not the system: raw TCP on 127.0.0.1 ----

/// Answers each connection with the next of `answers` (`None`: read the request, then hang
/// up without a word). Returns the base URL and the number of connections accepted.
async fn serve_raw(answers: Vec<Option<String>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        for answer in answers {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            seen.fetch_add(1, Ordering::SeqCst);
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            if let Some(text) = answer {
                let _ = sock.write_all(text.as_bytes()).await;
            }
            let _ = sock.shutdown().await;
        }
    });
    (format!("http://{addr}"), accepted)
}

fn raw_reply(status: &str, headers: &str, body: &str) -> Option<String> {
    Some(format!(
        "HTTP/1.1 {status}\r\n{headers}content-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn at(sims: &Simulators, system: System, base: &str) -> Connector {
    let (_, secret) = connection(sims, system);
    connector_for(sims, &Connection::new(system, base.to_string()), secret)
}

fn a_mark(sims: &Simulators) -> Write {
    let s = &sims.district.students[3];
    Write::Mark(MarkWrite {
        base_version: Some(1),
        ..mark(
            &s.uuid,
            &sims.district.sections[s.homeroom].uuid,
            sims.shared.clock.now().date_naive(),
            AttendanceStatus::Present,
        )
    })
}

#[tokio::test]
async fn a_proxy_page_and_a_sign_in_redirect_mean_the_system_needs_attention() {
    let sims = start(60).await;
    let (base, accepted) = serve_raw(vec![
        raw_reply(
            "200 OK",
            "content-type: text/html\r\n",
            "<html><body>Welcome to Hotel Wifi</body></html>",
        ),
        raw_reply(
            "302 Found",
            "location: http://wifi.hotel.example/login?sig=s3cr3t\r\n",
            "",
        ),
    ])
    .await;
    let c = at(&sims, System::OmniForge, &base);
    let w = a_mark(&sims);

    let err = c.send_write(&w, Uuid::new_v4()).await.unwrap_err();
    assert_eq!(err.code(), "connector.bad_reply", "{err:?}");
    assert_eq!(err.disposition(), Disposition::NeedsAttention);

    let err = c.send_write(&w, Uuid::new_v4()).await.unwrap_err();
    assert_eq!(err.code(), "connector.redirect", "{err:?}");
    assert_eq!(err.disposition(), Disposition::NeedsAttention);
    let said = err.user_message();
    assert!(
        said.contains("wifi.hotel.example") && said.contains("sign-in"),
        "{said}"
    );
    assert!(!format!("{said} {err}").contains("s3cr3t"), "{err}");
    // Neither was retried, and the redirect was not followed.
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_refused_connection_is_a_clean_retry_and_a_dropped_one_is_uncertain() {
    let sims = start(60).await;
    // Nothing listens on this port any more: refused while connecting, nothing was sent.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let c = at(&sims, System::Matrix, &format!("http://127.0.0.1:{port}"));
    let grade = Write::SetGrade {
        class_id: "1".into(),
        assignment_id: "2".into(),
        student_id: "3".into(),
        grade: "A".into(),
        seen: None,
    };
    let err = c.send_write(&grade, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.code(), "connector.offline", "{err:?}");
    assert_eq!(err.disposition(), Disposition::Retry { uncertain: false });

    // The request went out and the connection died before an answer: maybe applied, and
    // a Matrix write is not resent by the client (one connection only).
    let (base, accepted) = serve_raw(vec![None, None, None, None]).await;
    let c = at(&sims, System::Matrix, &base);
    let err = c.send_write(&grade, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.code(), "connector.offline", "{err:?}");
    assert_eq!(err.disposition(), Disposition::Retry { uncertain: true });
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

// ---- settling uncertain outcomes ----

fn record_ids(batch: &Value) -> BTreeSet<String> {
    batch["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].to_string())
        .collect()
}

#[tokio::test]
async fn a_lost_createbatch_is_reset_so_the_fresh_one_delivers_the_same_records() {
    let sims = start(60).await;
    let c = connector(&sims, System::PowerSchool);
    let pool = sims.powerschool_admin.pool_len(301);
    let create = Write::CreateBatch {
        target_id: "301".into(),
    };
    let started = ctx(&sims);
    // The server made the batch; its answer is "lost" (never stored by the desk).
    let SendOutcome::Applied(lost) = c.send_write(&create, Uuid::nil()).await.unwrap() else {
        panic!()
    };
    let lost_id = lost["id"].as_str().unwrap().to_string();
    assert!(sims.powerschool_admin.pool_len(301) < pool);

    assert_eq!(
        c.settle(&create, &started).await.unwrap(),
        Settled::NotApplied
    );
    let server = sims.powerschool_admin.batches(301);
    assert_eq!(server.len(), 1);
    assert_eq!(server[0].status, "Reset");
    assert_eq!(sims.powerschool_admin.pool_len(301), pool);

    let SendOutcome::Applied(fresh) = c.send_write(&create, Uuid::nil()).await.unwrap() else {
        panic!()
    };
    assert_ne!(fresh["id"], lost["id"]);
    assert_eq!(record_ids(&fresh), record_ids(&lost));

    // A batch the desk stores is never reset, nor one made before the attempt began.
    let fresh_id = fresh["id"].as_str().unwrap().to_string();
    let known = SettleContext {
        known_batches: vec![lost_id, fresh_id.clone()],
        ..started.clone()
    };
    c.settle(&create, &known).await.unwrap();
    sims.shared.clock.advance(Duration::from_secs(600));
    c.settle(&create, &ctx(&sims)).await.unwrap();
    let server = sims.powerschool_admin.batches(301);
    assert_eq!(server[1].id, fresh_id);
    assert_eq!(server[1].status, "AutoOpen");
    assert_eq!(
        sims.powerschool_admin.pool_len(301),
        pool - record_ids(&fresh).len()
    );

    // Resetting settles as "send it again": harmless.
    let reset = Write::ResetBatch {
        target_id: "301".into(),
        batch_id: fresh_id,
    };
    assert_eq!(
        c.settle(&reset, &started).await.unwrap(),
        Settled::NotApplied
    );
}

#[tokio::test]
async fn imports_and_submissions_are_looked_up_before_they_are_resent() {
    let sims = start(60).await;
    let c = connector(&sims, System::PowerSchool);
    let import = Write::ImportRosterRecord {
        action_id: "102".into(),
        schema_id: "3".into(),
        record: map(&[
            ("stu_FirstName", "Ada"),
            ("stu_LastName", "Okafor"),
            ("stu_ExternalID", "ST900001"),
            ("stu_Grade", "K"),
        ]),
    };
    let started = ctx(&sims);
    assert_eq!(
        c.settle(&import, &started).await.unwrap(),
        Settled::NotApplied
    );
    c.send_write(&import, Uuid::nil()).await.unwrap();
    match c.settle(&import, &started).await.unwrap() {
        Settled::Applied(r) => assert_eq!(r["externalStudentID"], "ST900001"),
        other => panic!("{other:?}"),
    }
    // The record is there but not as we set it: send again.
    let changed = Write::ImportRosterRecord {
        action_id: "102".into(),
        schema_id: "3".into(),
        record: map(&[
            ("stu_FirstName", "Ada"),
            ("stu_LastName", "Okafor-Reid"),
            ("stu_ExternalID", "ST900001"),
        ]),
    };
    assert_eq!(
        c.settle(&changed, &started).await.unwrap(),
        Settled::NotApplied
    );

    let form = Write::SubmitForm {
        action_id: "102".into(),
        data_items: map(&[
            ("stu_FirstName", "Jane"),
            ("stu_LastName", "Doe"),
            ("stu_DateOfBirth", "01/01/2019"),
        ]),
    };
    assert_eq!(
        c.settle(&form, &started).await.unwrap(),
        Settled::NotApplied
    );
    c.send_write(&form, Uuid::nil()).await.unwrap();
    let id = sims.powerschool_admin.submission_ids(102)[0];
    match c.settle(&form, &started).await.unwrap() {
        Settled::Applied(r) => assert_eq!(r["id"], id),
        other => panic!("{other:?}"),
    }
    // The same family's form submitted long before this attempt is not this write.
    sims.shared.clock.advance(Duration::from_secs(3600));
    assert_eq!(
        c.settle(&form, &ctx(&sims)).await.unwrap(),
        Settled::NotApplied
    );
    assert_eq!(sims.powerschool_admin.submission_ids(102).len(), 1);
}

#[tokio::test]
async fn a_grade_settles_as_applied_not_applied_or_a_conflict_with_who_and_when() {
    let sims = start(60).await;
    let c = connector(&sims, System::Matrix);
    let class = sims.matrix_admin.class_ids()[0];
    let assignment = sims.matrix_admin.assignment_ids(class)[1];
    let member = sims.matrix_admin.roster(class)[0];
    let before = sims.matrix_admin.grade(assignment, member);
    let ours = if before.as_deref() == Some("A-") {
        "C-"
    } else {
        "A-"
    };
    let write = Write::SetGrade {
        class_id: class.to_string(),
        assignment_id: assignment.to_string(),
        student_id: member.to_string(),
        grade: ours.into(),
        seen: before.clone(),
    };
    // The server still holds what the desk saw: not applied.
    assert_eq!(
        c.settle(&write, &ctx(&sims)).await.unwrap(),
        Settled::NotApplied
    );
    c.send_write(&write, Uuid::nil()).await.unwrap();
    match c.settle(&write, &ctx(&sims)).await.unwrap() {
        Settled::Applied(a) => assert_eq!(a["grade"], ours),
        other => panic!("{other:?}"),
    }
    // A teacher set another grade since: a person must choose.
    sims.matrix_admin.set_grade(assignment, member, "D");
    match c.settle(&write, &ctx(&sims)).await.unwrap() {
        Settled::Conflict(server) => {
            assert_eq!(server["grade"], "D");
            assert!(
                server.get("at").is_some() && server.get("by").is_some(),
                "{server}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_user_update_settles_as_applied_not_applied_or_a_conflict() {
    let sims = start(60).await;
    let c = connector(&sims, System::Matrix);
    let uid = sims.matrix_admin.user_id_of_student(7);
    let student = &sims.district.students[7];
    let was = sims.matrix_admin.user(uid).unwrap()["email"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let update = |email: &str| Write::UpdateUser {
        user_id: uid.to_string(),
        match_field: "student_id".into(),
        match_value: student.external_id.clone(),
        set: map(&[("email", email)]),
        seen: map(&[("email", &was)]),
    };
    let ours = update("family@example.org");
    assert_eq!(
        c.settle(&ours, &ctx(&sims)).await.unwrap(),
        Settled::NotApplied
    );
    c.send_write(&ours, Uuid::nil()).await.unwrap();
    match c.settle(&ours, &ctx(&sims)).await.unwrap() {
        Settled::Applied(user) => {
            assert_eq!(user["email"], "family@example.org");
            assert!(
                user.get("password").is_none() && user.get("ssn").is_none(),
                "{user}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Someone else changed it since the write was made.
    c.send_write(&update("someone.else@example.org"), Uuid::nil())
        .await
        .unwrap();
    match c.settle(&ours, &ctx(&sims)).await.unwrap() {
        Settled::Conflict(server) => {
            assert_eq!(
                server,
                serde_json::json!({"email": "someone.else@example.org"})
            )
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn class_changes_settle_by_the_roster() {
    let sims = start(60).await;
    let c = connector(&sims, System::Matrix);
    let class = sims.matrix_admin.class_ids()[0];
    let outsider = sims
        .district
        .students
        .iter()
        .map(|s| sims.matrix_admin.user_id_of_student(s.index))
        .find(|u| !sims.matrix_admin.roster(class).contains(u))
        .unwrap();
    let add = Write::AddStudents {
        class_id: class.to_string(),
        student_ids: vec![outsider.to_string()],
    };
    let remove = Write::RemoveStudents {
        class_id: class.to_string(),
        student_ids: vec![outsider.to_string()],
    };
    assert_eq!(
        c.settle(&add, &ctx(&sims)).await.unwrap(),
        Settled::NotApplied
    );
    assert!(matches!(
        c.settle(&remove, &ctx(&sims)).await.unwrap(),
        Settled::Applied(_)
    ));
    c.send_write(&add, Uuid::nil()).await.unwrap();
    assert!(matches!(
        c.settle(&add, &ctx(&sims)).await.unwrap(),
        Settled::Applied(_)
    ));
    assert_eq!(
        c.settle(&remove, &ctx(&sims)).await.unwrap(),
        Settled::NotApplied
    );
}

#[test]
fn every_error_has_one_disposition_and_only_connect_failures_are_certain() {
    let s = System::Matrix;
    let offline = |sent| ConnectorError::Offline {
        system: s,
        detail: String::new(),
        sent,
    };
    assert_eq!(
        offline(false).disposition(),
        Disposition::Retry { uncertain: false }
    );
    assert_eq!(
        offline(true).disposition(),
        Disposition::Retry { uncertain: true }
    );
    let timeout = ConnectorError::Timeout {
        system: s,
        detail: String::new(),
        sent: true,
    };
    assert_eq!(
        timeout.disposition(),
        Disposition::Retry { uncertain: true }
    );
    // Codes the UI keys on stay as they were.
    assert_eq!(offline(true).code(), "connector.offline");
    assert_eq!(timeout.code(), "connector.timeout");
    let rate = ConnectorError::RateLimited {
        system: s,
        retry_after: None,
        detail: String::new(),
    };
    assert_eq!(rate.disposition(), Disposition::Retry { uncertain: false });
    let forbidden = ConnectorError::Forbidden {
        system: s,
        ip_not_allowed: true,
        detail: String::new(),
    };
    assert_eq!(forbidden.disposition(), Disposition::NeedsAttention);
}

#[tokio::test]
async fn replies_lost_after_the_server_applied_them_settle_without_a_second_write() {
    let sims = start(60).await;
    let faults = &sims.shared.faults;

    // A submission: applied, reply lost, found by the read, never sent twice.
    let p = connector(&sims, System::PowerSchool);
    let form = Write::SubmitForm {
        action_id: "102".into(),
        data_items: map(&[("stu_FirstName", "Jo"), ("stu_LastName", "Li")]),
    };
    let started = ctx(&sims);
    faults.lose_next_reply(
        Some(SystemKind::PowerSchool),
        Some("/api/v1/submission".into()),
    );
    let err = p.send_write(&form, Uuid::nil()).await.unwrap_err();
    assert_eq!(
        err.disposition(),
        Disposition::Retry { uncertain: true },
        "{err:?}"
    );
    assert_eq!(sims.powerschool_admin.submission_ids(102).len(), 1);
    assert!(matches!(
        p.settle(&form, &started).await.unwrap(),
        Settled::Applied(_)
    ));

    // A batch: taken from the pool, reply lost; settling puts the records back.
    let pool = sims.powerschool_admin.pool_len(301);
    let create = Write::CreateBatch {
        target_id: "301".into(),
    };
    faults.lose_next_reply(
        Some(SystemKind::PowerSchool),
        Some("/api/v1/deliverytargets/301/createbatch".into()),
    );
    let err = p.send_write(&create, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Retry { uncertain: true });
    assert!(sims.powerschool_admin.pool_len(301) < pool);
    assert_eq!(
        p.settle(&create, &started).await.unwrap(),
        Settled::NotApplied
    );
    assert_eq!(sims.powerschool_admin.pool_len(301), pool);
    let SendOutcome::Applied(batch) = p.send_write(&create, Uuid::nil()).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        sims.powerschool_admin.pool_len(301),
        pool - record_ids(&batch).len()
    );

    // A grade: set, reply lost, the read finds it.
    let m = connector(&sims, System::Matrix);
    let class = sims.matrix_admin.class_ids()[0];
    let assignment = sims.matrix_admin.assignment_ids(class)[2];
    let member = sims.matrix_admin.roster(class)[1];
    let grade = Write::SetGrade {
        class_id: class.to_string(),
        assignment_id: assignment.to_string(),
        student_id: member.to_string(),
        grade: "87%".into(),
        seen: sims.matrix_admin.grade(assignment, member),
    };
    faults.lose_next_reply(
        Some(SystemKind::Matrix),
        Some("/api/set_grades_for_assignment".into()),
    );
    let err = m.send_write(&grade, Uuid::nil()).await.unwrap_err();
    assert_eq!(err.disposition(), Disposition::Retry { uncertain: true });
    assert!(matches!(
        m.settle(&grade, &ctx(&sims)).await.unwrap(),
        Settled::Applied(_)
    ));

    // A mark: the client itself sends it again with the same key, and it is applied once.
    let o = connector(&sims, System::OmniForge);
    faults.lose_next_reply(
        Some(SystemKind::OmniForge),
        Some("/__api/v1/attendance".into()),
    );
    assert!(matches!(
        o.send_write(&a_mark(&sims), Uuid::new_v4()).await.unwrap(),
        SendOutcome::Applied(_)
    ));
    assert_eq!(posts(&sims, SystemKind::OmniForge), 2);
    assert_eq!(
        sims.shared.recorder.writes_for(SystemKind::OmniForge).len(),
        1
    );
}

#[tokio::test]
async fn the_simulated_hotel_wifi_holds_writes_instead_of_failing_them() {
    use schooldesk_sim::faults::Portal;
    let sims = start(60).await;
    let o = connector(&sims, System::OmniForge);
    for portal in [Portal::Redirect, Portal::LoginPage] {
        sims.shared
            .faults
            .set_portal_for(SystemKind::OmniForge, Some(portal));
        let err = o
            .send_write(&a_mark(&sims), Uuid::new_v4())
            .await
            .unwrap_err();
        assert_eq!(
            err.disposition(),
            Disposition::NeedsAttention,
            "{portal:?}: {err:?}"
        );
    }
    assert!(sims
        .shared
        .recorder
        .writes_for(SystemKind::OmniForge)
        .is_empty());
}
