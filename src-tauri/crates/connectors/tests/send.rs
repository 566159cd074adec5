//! Writes from the outbox, per system: applied once whatever the retries, conflicts returned
//! with the server's version, refusals typed as permanent, HUBmis declined.

mod support;

use chrono::{Datelike, Utc};
use schooldesk_connectors::{Connector, ConnectorError, SendOutcome};
use schooldesk_domain::{Operation, OutboxEntry, OutboxState, System};
use schooldesk_sim::SystemKind;
use serde_json::{json, Value};
use support::*;
use uuid::Uuid;

fn entry(op: Operation, payload: Value) -> OutboxEntry {
    let now = Utc::now();
    OutboxEntry {
        id: 1,
        idempotency_key: Uuid::new_v4(),
        system: op.system(),
        operation: op,
        entity_key: "test".into(),
        payload,
        state: OutboxState::Sending,
        attempts: 0,
        next_attempt_at: now,
        last_error: None,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test]
async fn omniforge_attendance_is_applied_once_and_conflicts_come_back_with_the_server_mark() {
    let sims = start(60).await;
    let c = connector(&sims, System::OmniForge);
    let s = &sims.district.students[3];
    let homeroom = &sims.district.sections[s.homeroom];
    let today = sims.shared.clock.now().date_naive();
    let e = entry(
        Operation::SubmitAttendance,
        json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": today.to_string(),
               "status": "absent", "note": "Parent phoned"}),
    );
    let SendOutcome::Applied(mark) = c.send(&e).await.unwrap() else {
        panic!("not applied")
    };
    assert_eq!(mark["status"], "absent");
    // The same entry again (a retry after a lost reply): same mark, nothing new stored.
    let SendOutcome::Applied(again) = c.send(&e).await.unwrap() else {
        panic!("not applied")
    };
    assert_eq!(again["id"], mark["id"]);
    assert_eq!(
        sims.shared.recorder.writes_for(SystemKind::OmniForge).len(),
        1
    );
    let req = sims.shared.recorder.requests_for(SystemKind::OmniForge)[0].clone();
    assert_eq!(req.method, "POST");
    assert_eq!(req.path, "/__api/v1/attendance");
    assert_eq!(
        req.headers.get("idempotency-key"),
        Some(&e.idempotency_key.to_string())
    );

    // Another clerk changed yesterday's mark: a write based on version 1 conflicts.
    let mut day = today.pred_opt().unwrap();
    while day.weekday().number_from_monday() > 5 {
        day = day.pred_opt().unwrap();
    }
    sims.omniforge_admin
        .change_mark(&s.uuid, Some(&homeroom.uuid), None, day, "tardy");
    let stale = entry(
        Operation::SubmitAttendance,
        json!({"studentId": s.uuid, "sectionId": homeroom.uuid, "date": day.to_string(),
               "status": "present", "baseVersion": 1}),
    );
    match c.send(&stale).await.unwrap() {
        SendOutcome::Conflict(current) => {
            assert_eq!(current["status"], "tardy");
            assert_eq!(current["version"], 2);
        }
        other => panic!("{other:?}"),
    }

    // A bad body is refused for good, with the field named.
    let bad = entry(
        Operation::SubmitAttendance,
        json!({"studentId": s.uuid, "date": today.to_string(), "status": "on holiday"}),
    );
    let err = c.send(&bad).await.unwrap_err();
    assert_eq!(err.code(), "connector.validation", "{err:?}");
    assert!(err.is_permanent());
    assert!(
        err.user_message().contains("status"),
        "{}",
        err.user_message()
    );
}

#[tokio::test]
async fn powerschool_imports_submissions_and_batches() {
    let sims = start(60).await;
    let c = connector(&sims, System::PowerSchool);
    let ok = entry(
        Operation::ImportRosterRecord,
        json!({"publishedActionId": 102, "schemaId": 3, "record": {
            "stu_FirstName": "Ada", "stu_LastName": "Okafor", "stu_ExternalID": "ST900001",
            "stu_DateOfBirth": "04/20/2019", "stu_Grade": "K"}}),
    );
    assert!(matches!(
        c.send(&ok).await.unwrap(),
        SendOutcome::Applied(_)
    ));
    assert!(sims
        .powerschool_admin
        .roster_record(102, "ST900001")
        .is_some());

    let refused = entry(
        Operation::ImportRosterRecord,
        json!({"publishedActionId": 102, "schemaId": 3, "record": {"stu_FirstName": "Ada"}}),
    );
    match c.send(&refused).await.unwrap_err() {
        ConnectorError::Validation { messages, .. } => {
            assert!(
                messages.iter().any(|m| m.contains("stu_LastName")),
                "{messages:?}"
            )
        }
        other => panic!("{other:?}"),
    }

    let form = entry(
        Operation::SubmitForm,
        json!({"publishedActionId": 102, "submission": {"dataItems": [
            {"fieldName": "stu_FirstName", "value": "Jane"},
            {"fieldName": "stu_LastName", "value": "Doe"},
            {"fieldName": "stu_DateOfBirth", "value": "01/01/2019"}]}}),
    );
    let SendOutcome::Applied(v) = c.send(&form).await.unwrap() else {
        panic!()
    };
    assert_eq!(v["status"], "Success", "{v}");

    let pool = sims.powerschool_admin.pool_len(301);
    assert!(pool > 0);
    let create = entry(Operation::CreateBatch, json!({"deliveryTargetId": 301}));
    let SendOutcome::Applied(batch) = c.send(&create).await.unwrap() else {
        panic!()
    };
    let n = batch["records"].as_array().unwrap().len();
    assert!(n > 0);
    assert_eq!(sims.powerschool_admin.pool_len(301), pool - n.min(pool));
    let batch_id = batch["id"].as_str().unwrap().to_string();
    let reset = entry(
        Operation::ResetBatch,
        json!({"deliveryTargetId": 301, "batchId": batch_id}),
    );
    assert!(matches!(
        c.send(&reset).await.unwrap(),
        SendOutcome::Applied(Value::Null)
    ));
    assert_eq!(sims.powerschool_admin.pool_len(301), pool);
    let missing = entry(
        Operation::ResetBatch,
        json!({"deliveryTargetId": 301, "batchId": "00000000-0000-0000-0000-000000000000"}),
    );
    assert_eq!(
        c.send(&missing).await.unwrap_err().code(),
        "connector.not_found"
    );
    let Connector::PowerSchool(p) = &c else {
        unreachable!()
    };
    let batches = p.batches("301", None, false).await.unwrap();
    assert!(batches.iter().any(|b| b.wire.id == batch_id));

    // A family's document: a fresh signed link, then the file, without credentials.
    let object = sims.powerschool_admin.document_ids()[0].clone();
    let (bytes, content_type) = p.download_document(&object).await.unwrap();
    let (want, want_type) = sims.powerschool_admin.document_bytes(&object).unwrap();
    assert_eq!(bytes, want);
    assert_eq!(content_type.as_deref(), Some(want_type));
    let blob = sims
        .shared
        .recorder
        .requests_for(SystemKind::PowerSchool)
        .into_iter()
        .find(|r| r.path.starts_with("/blobs/"))
        .unwrap();
    assert!(!blob.headers.contains_key("authorization"));
    // Links die after two minutes; an old one is reported as gone, not as a fault.
    let url = p.document_url(&object).await.unwrap();
    sims.shared
        .clock
        .advance(std::time::Duration::from_secs(600));
    let err = p.http().download(&url).await.unwrap_err();
    assert_eq!(err.code(), "connector.not_found", "{err:?}");
    assert!(!err.to_string().contains("sig="), "{err}");
}

#[tokio::test]
async fn matrix_user_updates_rosters_and_grades() {
    let sims = start(60).await;
    let c = connector(&sims, System::Matrix);
    let student = &sims.district.students[5];
    let update = entry(
        Operation::UpdateUser,
        json!({"student_id": student.external_id, "nick_name": "Sunny", "password": "never-sent"}),
    );
    assert!(matches!(
        c.send(&update).await.unwrap(),
        SendOutcome::Applied(_)
    ));
    let uid = sims.matrix_admin.user_id_of_student(5);
    assert_eq!(sims.matrix_admin.user(uid).unwrap()["nick_name"], "Sunny");
    let sent = &sims.shared.recorder.requests_for(SystemKind::Matrix)[0].query;
    assert!(!sent.contains("never-sent"), "{sent}");

    let class = sims.matrix_admin.class_ids()[0];
    let other = sims
        .district
        .students
        .iter()
        .map(|s| sims.matrix_admin.user_id_of_student(s.index))
        .find(|u| !sims.matrix_admin.roster(class).contains(u))
        .unwrap();
    let add = entry(
        Operation::AddStudentsToClass,
        json!({"class_id": class, "user_ids": [other]}),
    );
    c.send(&add).await.unwrap();
    // Sent twice: harmless.
    c.send(&add).await.unwrap();
    assert!(sims.matrix_admin.roster(class).contains(&other));
    let remove = entry(
        Operation::RemoveStudentsFromClass,
        json!({"class_id": class, "user_ids": [other]}),
    );
    c.send(&remove).await.unwrap();
    assert!(!sims.matrix_admin.roster(class).contains(&other));

    let assignment = sims.matrix_admin.assignment_ids(class)[3];
    let member = sims.matrix_admin.roster(class)[0];
    let grades = entry(
        Operation::SetGrades,
        json!({"assignment_id": assignment, "grades": [{"user_id": member, "grade": "B+"}]}),
    );
    c.send(&grades).await.unwrap();
    assert_eq!(
        sims.matrix_admin.grade(assignment, member).as_deref(),
        Some("B+")
    );
    let bad = entry(
        Operation::SetGrades,
        json!({"assignment_id": assignment, "grades": [{"user_id": member, "grade": "excellent"}]}),
    );
    let err = c.send(&bad).await.unwrap_err();
    assert_eq!(err.code(), "connector.validation", "{err:?}");
}

#[tokio::test]
async fn hubmis_takes_no_writes_and_operations_go_to_their_own_system() {
    let sims = start(60).await;
    let h = connector(&sims, System::Hubmis);
    let e = entry(Operation::SubmitAttendance, json!({}));
    let err = h.send(&e).await.unwrap_err();
    assert_eq!(err.code(), "connector.unsupported");
    assert!(err.user_message().contains("export"));
    assert!(sims
        .shared
        .recorder
        .requests_for(SystemKind::Hubmis)
        .is_empty());

    let o = connector(&sims, System::OmniForge);
    let err = o
        .send(&entry(Operation::SetGrades, json!({})))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "connector.unsupported");
}
