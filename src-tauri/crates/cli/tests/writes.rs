//! Every write command through the real binary against the simulators on loopback: each
//! queues what it should (pending, with an outbox id) and `outbox replay` delivers it, as the
//! simulator's own state shows; bad input is one line and queues nothing; a conflict is shown
//! side by side and resolved each way; a permanent failure shows the system's reason and is
//! retried or discarded; a revoked key holds writes until a new key is connected.

mod common;
use common::*;

use chrono::Utc;
use schooldesk_sim::omniforge::ApiKey;
use schooldesk_sim::{SimConfig, Simulators, SystemKind};
use serde_json::Value;

/// The simulators (OmniForge without a rate ceiling) and `sd` connected to `systems` and
/// synced.
async fn connected(sd: &Sd, systems: &[&str]) -> (Simulators, SimConfig) {
    let mut config = SimConfig {
        students: 60,
        ..SimConfig::default()
    };
    for key in &mut config.omniforge.keys {
        key.requests_per_minute = None;
    }
    let sims = Simulators::start(config.clone()).await.expect("simulators");
    tokio::task::block_in_place(|| {
        for system in systems {
            let (base, secret) = match *system {
                "omniforge" => (&sims.omniforge.base_url, config.omniforge.key().to_string()),
                "powerschool" => (
                    &sims.powerschool.base_url,
                    config.powerschool.api_key.clone(),
                ),
                "matrix" => (&sims.matrix.base_url, config.matrix.api_key.clone()),
                other => panic!("no simulator set up for {other}"),
            };
            sd.ok(
                &[
                    "connect",
                    system,
                    "--base-url",
                    base,
                    "--requests-per-minute",
                    "60000",
                ],
                Some(&secret),
            );
        }
        let mut sync = vec!["--json", "sync"];
        sync.extend_from_slice(systems);
        sd.ok(&sync, None);
    });
    (sims, config)
}

fn outbox_id(queued: &Value) -> String {
    queued["outbox"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no outbox id in {queued}"))
        .to_string()
}

/// Runs a write command with `--json`, expects it queued as pending; returns its outbox id.
fn queue(sd: &Sd, args: &[&str]) -> String {
    let v = sd.json(args);
    assert_eq!(v["outbox"]["state"], "pending", "{v}");
    outbox_id(&v)
}

/// The command fails with one line and the outbox is exactly as it was; returns the line.
fn refused(sd: &Sd, args: &[&str]) -> String {
    let before = sd.json(&["outbox", "list"]);
    let line = sd.fails(args, None);
    assert!(line.starts_with("error:"), "{line}");
    assert_eq!(
        sd.json(&["outbox", "list"]),
        before,
        "{args:?} queued something"
    );
    line
}

fn state_of(sd: &Sd, id: &str) -> String {
    let shown = sd.json(&["outbox", "show", id]);
    shown["entry"]["state"]
        .as_str()
        .unwrap_or_else(|| panic!("no state in {shown}"))
        .to_string()
}

fn write_file(sd: &Sd, name: &str, body: &str) -> String {
    let path = sd.dir.path().join(name);
    std::fs::write(&path, body).expect("write record file");
    path.to_str().expect("path").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn powerschool_writes_are_checked_queued_sent_and_their_failures_shown() {
    let sd = Sd::new();
    let (sims, _config) = connected(&sd, &["powerschool"]).await;
    let admin = sims.powerschool_admin.clone();
    tokio::task::block_in_place(|| {
        // Import: saved at once, pending, and said how it goes out.
        let record = write_file(
            &sd,
            "new.json",
            r#"{"stu_ExternalID": "NEW-0001", "stu_FirstName": "Ada", "stu_LastName": "Byron",
                "stu_Grade": "3"}"#,
        );
        let out = sd.ok(
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "1",
                "--file",
                &record,
            ],
            None,
        );
        assert!(
            out.contains("pending") && out.contains("outbox replay") && out.contains("NEW-0001"),
            "{out}"
        );
        assert!(
            admin.roster_record(101, "NEW-0001").is_none(),
            "sent before replay"
        );
        let listed = sd.json(&["outbox", "list", "--state", "pending"]);
        let import_id = listed[0]["id"].as_i64().expect("id").to_string();
        assert!(
            listed[0]["description"]
                .as_str()
                .is_some_and(|d| d.contains("NEW-0001")),
            "{listed}"
        );

        // Refused before anything is queued.
        let unknown = write_file(
            &sd,
            "unknown.json",
            r#"{"stu_ExternalID": "NEW-0002", "stu_FirstName": "A", "stu_LastName": "B",
                "stu_ShoeSize": "9"}"#,
        );
        let line = refused(
            &sd,
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "1",
                "--file",
                &unknown,
            ],
        );
        assert!(line.contains("stu_ShoeSize"), "{line}");
        let no_key = write_file(
            &sd,
            "nokey.json",
            r#"{"stu_FirstName": "A", "stu_LastName": "B"}"#,
        );
        let line = refused(
            &sd,
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "1",
                "--file",
                &no_key,
            ],
        );
        assert!(line.contains("stu_ExternalID"), "{line}");
        let missing = sd.dir.path().join("absent.json");
        let line = refused(
            &sd,
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "1",
                "--file",
                missing.to_str().expect("path"),
            ],
        );
        assert!(line.contains("no file"), "{line}");
        let bad = write_file(&sd, "bad.json", "{\"stu_ExternalID\": ");
        let line = refused(
            &sd,
            &["enrollment", "submit", "--action", "102", "--file", &bad],
        );
        assert!(line.contains("not valid JSON"), "{line}");
        let line = refused(
            &sd,
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "99",
                "--file",
                &record,
            ],
        );
        assert!(line.contains("99"), "{line}");

        // A form for a new family, and one the system will refuse (a date it cannot read).
        let form = write_file(
            &sd,
            "form.json",
            r#"{"dataItems": [{"fieldName": "stu_FirstName", "value": "Grace"},
                              {"fieldName": "stu_LastName", "value": "Hopper"},
                              {"fieldName": "stu_Grade", "value": "K"}]}"#,
        );
        queue(
            &sd,
            &["enrollment", "submit", "--action", "102", "--file", &form],
        );
        let wrong_date = write_file(
            &sd,
            "wrong-date.json",
            r#"{"stu_ExternalID": "NEW-0003", "stu_FirstName": "Alan", "stu_LastName": "Turing",
                "stu_DateOfBirth": "2015-06-23"}"#,
        );
        let failing = queue(
            &sd,
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "1",
                "--file",
                &wrong_date,
            ],
        );
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 2, "{report}");
        assert_eq!(report["failed"], 1, "{report}");

        let applied = admin
            .roster_record(101, "NEW-0001")
            .expect("imported at the server");
        assert!(applied.to_string().contains("Ada"), "{applied}");
        assert_eq!(state_of(&sd, &import_id), "done");
        let submissions = admin.submission_ids(102);
        assert_eq!(submissions.len(), 1, "one submission, once");
        let submitted = admin.submission_record(submissions[0]).expect("submission");
        assert!(submitted.to_string().contains("Hopper"), "{submitted}");

        // The refusal, in the system's words, with what was sent.
        assert_eq!(state_of(&sd, &failing), "failed");
        let shown = sd.ok(&["outbox", "show", &failing], None);
        assert!(shown.contains("MM/DD/YYYY"), "{shown}");
        assert!(shown.contains("2015-06-23"), "what was sent: {shown}");
        assert!(
            shown.contains("retry") && shown.contains("discard"),
            "{shown}"
        );
        let receipt = sd.json(&["outbox", "show", &failing]);
        assert_eq!(
            receipt["attempts"].as_array().map(Vec::len),
            Some(1),
            "{receipt}"
        );
        assert_eq!(receipt["attempts"][0]["outcome"], "refused", "{receipt}");

        // A correction must be about the same record: another student is refused.
        let other = write_file(
            &sd,
            "other.json",
            r#"{"stu_ExternalID": "NEW-0009", "stu_FirstName": "Alan", "stu_LastName": "Turing"}"#,
        );
        refused(&sd, &["outbox", "retry", &failing, "--file", &other]);
        assert_eq!(state_of(&sd, &failing), "failed");
        let corrected = write_file(
            &sd,
            "corrected.json",
            r#"{"stu_ExternalID": "NEW-0003", "stu_FirstName": "Alan", "stu_LastName": "Turing",
                "stu_DateOfBirth": "06/23/2015"}"#,
        );
        let out = sd.ok(&["outbox", "retry", &failing, "--file", &corrected], None);
        assert!(out.contains("pending"), "{out}");
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 1, "{report}");
        let fixed = admin
            .roster_record(101, "NEW-0003")
            .expect("imported after the retry");
        assert!(fixed.to_string().contains("06/23/2015"), "{fixed}");
        assert_eq!(state_of(&sd, &failing), "done");

        // Another refusal, discarded: not without --yes, then kept as a receipt.
        let bad_grade = write_file(
            &sd,
            "bad-grade.json",
            r#"{"stu_ExternalID": "NEW-0004", "stu_FirstName": "Kurt", "stu_LastName": "Godel",
                "stu_Grade": "14"}"#,
        );
        let doomed = queue(
            &sd,
            &[
                "enrollment",
                "import",
                "--action",
                "101",
                "--schema",
                "1",
                "--file",
                &bad_grade,
            ],
        );
        sd.ok(&["outbox", "replay"], None);
        assert_eq!(state_of(&sd, &doomed), "failed");
        let line = sd.fails(&["outbox", "discard", &doomed], None);
        assert!(line.contains("--yes"), "{line}");
        assert_eq!(state_of(&sd, &doomed), "failed");
        sd.ok(&["outbox", "discard", &doomed, "--yes"], None);
        assert_eq!(state_of(&sd, &doomed), "discarded");
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(
            report["applied"], 0,
            "a discarded write is never sent: {report}"
        );
        assert!(admin.roster_record(101, "NEW-0004").is_none());
        let discarded = sd.json(&["outbox", "list", "--state", "discarded"]);
        assert_eq!(discarded.as_array().map(Vec::len), Some(1), "{discarded}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_batch_is_fetched_listed_with_its_records_and_reset() {
    let sd = Sd::new();
    let (sims, _config) = connected(&sd, &["powerschool"]).await;
    let admin = sims.powerschool_admin.clone();
    let in_pool = admin.pool_len(301);
    assert!(
        in_pool > 0,
        "the simulated district has approved submissions"
    );
    tokio::task::block_in_place(|| {
        let out = sd.ok(&["enrollment", "batch", "--target", "301"], None);
        let batches = admin.batches(301);
        assert_eq!(batches.len(), 1, "one user action, one batch");
        let batch = &batches[0];
        assert!(out.contains(&batch.id), "{out}");
        assert_eq!(admin.pool_len(301), in_pool - batch.records.len());

        let listed = sd.json(&["enrollment", "batches", "--target", "301"]);
        let listed = listed.as_array().expect("batches");
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0]["id"], batch.id.as_str());
        let records = listed[0]["records"].as_array().expect("records");
        assert_eq!(records.len(), batch.records.len());
        let ids: Vec<u64> = records.iter().filter_map(|r| r["id"].as_u64()).collect();
        assert_eq!(
            ids, batch.records,
            "the records PowerSchool delivered, all of them"
        );
        assert!(sd
            .json(&["enrollment", "batches", "--target", "302"])
            .as_array()
            .is_some_and(Vec::is_empty));

        // Reset: queued, then the records go back to the pool.
        let id = queue(
            &sd,
            &[
                "enrollment",
                "reset-batch",
                "--target",
                "301",
                "--batch",
                &batch.id,
            ],
        );
        assert_eq!(
            admin.batches(301)[0].status,
            "AutoOpen",
            "sent before replay"
        );
        sd.ok(&["outbox", "replay"], None);
        assert_eq!(state_of(&sd, &id), "done");
        assert_eq!(admin.batches(301)[0].status, "Reset");
        assert_eq!(admin.pool_len(301), in_pool);
        let listed = sd.json(&["enrollment", "batches"]);
        assert!(listed[0]["reset_at"].is_string(), "{listed}");

        // PowerSchool out of reach: the fetch is kept, and the person is told so and why.
        sims.shared.faults.set_offline(true);
        let out = sd.ok(&["enrollment", "batch", "--target", "302"], None);
        sims.shared.faults.set_offline(false);
        assert!(
            out.contains("Queued") && out.contains("pending") && out.contains("outbox replay"),
            "{out}"
        );
        assert!(admin.batches(302).is_empty(), "nothing fetched");
        let waiting = sd.json(&["outbox", "list", "--state", "pending"]);
        let waiting = waiting.as_array().expect("entries");
        assert_eq!(waiting.len(), 1, "{waiting:?}");
        assert_eq!(waiting[0]["write"]["target_id"], "302", "{waiting:?}");
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matrix_writes_are_checked_queued_and_sent() {
    let sd = Sd::new();
    let (sims, config) = connected(&sd, &["matrix"]).await;
    let admin = sims.matrix_admin.clone();
    let class = admin.class_ids()[0];
    let roster = admin.roster(class);
    let outsider = (0..config.students)
        .map(|s| admin.user_id_of_student(s))
        .find(|u| !roster.contains(u))
        .expect("a student not in the class");
    let member = roster[0];
    let assignment = admin.assignment_ids(class)[0];
    let (class, outsider, member, assignment) = (
        class.to_string(),
        outsider.to_string(),
        member.to_string(),
        assignment.to_string(),
    );
    let class_arg = format!("matrix:{class}");
    tokio::task::block_in_place(|| {
        let add = queue(
            &sd,
            &[
                "class",
                "add-students",
                "--class",
                &class_arg,
                "--student",
                &outsider,
            ],
        );
        let grade = queue(
            &sd,
            &[
                "grades",
                "set",
                "--class",
                &class,
                "--assignment",
                &assignment,
                "--student",
                &member,
                "--grade",
                "B+",
            ],
        );
        let user = queue(
            &sd,
            &[
                "user",
                "update",
                "--user",
                &member,
                "--set",
                "phone=555-0100",
                "--set",
                "city=Springfield",
            ],
        );
        // Nothing reached Matrix before the replay.
        assert!(!admin
            .roster(class.parse().expect("id"))
            .contains(&outsider.parse().expect("id")));

        // Refused, nothing queued.
        for (args, says) in [
            (
                vec![
                    "user",
                    "update",
                    "--user",
                    &member,
                    "--set",
                    "password=hunter2",
                ],
                "password",
            ),
            (
                vec![
                    "user",
                    "update",
                    "--user",
                    &member,
                    "--set",
                    "ssn=123-45-6789",
                ],
                "ssn",
            ),
            (
                vec!["user", "update", "--user", &member, "--set", "shoe_size=9"],
                "shoe_size",
            ),
            (
                vec!["user", "update", "--user", &member, "--set", "phone"],
                "FIELD=VALUE",
            ),
            (
                vec!["user", "update", "--user", "999999", "--set", "phone=1"],
                "999999",
            ),
            (
                vec![
                    "class",
                    "add-students",
                    "--class",
                    "424242",
                    "--student",
                    &outsider,
                ],
                "424242",
            ),
            (
                vec![
                    "class",
                    "remove-students",
                    "--class",
                    &class,
                    "--student",
                    "nobody",
                ],
                "nobody",
            ),
        ] {
            let line = refused(&sd, &args);
            assert!(line.contains(says), "{args:?}: {line}");
        }

        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 3, "{report}");
        for id in [&add, &grade, &user] {
            assert_eq!(state_of(&sd, id), "done", "entry {id}");
        }
        let (class_n, outsider_n, member_n, assignment_n): (u64, u64, u64, u64) = (
            class.parse().expect("id"),
            outsider.parse().expect("id"),
            member.parse().expect("id"),
            assignment.parse().expect("id"),
        );
        assert!(admin.roster(class_n).contains(&outsider_n));
        assert_eq!(admin.grade(assignment_n, member_n).as_deref(), Some("B+"));
        let info = admin.user(member_n).expect("user");
        assert_eq!(info["phone"], "555-0100", "{info}");
        assert_eq!(info["city"], "Springfield", "{info}");
        let recorded = sims.shared.recorder.writes_for(SystemKind::Matrix);
        assert_eq!(recorded.len(), 3, "each write applied once: {recorded:?}");

        let remove = queue(
            &sd,
            &[
                "class",
                "remove-students",
                "--class",
                &class,
                "--student",
                &outsider,
            ],
        );
        sd.ok(&["outbox", "replay"], None);
        assert_eq!(state_of(&sd, &remove), "done");
        assert!(!admin.roster(class_n).contains(&outsider_n));

        // Matrix refuses a grade it cannot read (400): the reason is shown, a retry sends it
        // again (and it is refused again), a discard ends it.
        let wrong = queue(
            &sd,
            &[
                "grades",
                "set",
                "--class",
                &class,
                "--assignment",
                &assignment,
                "--student",
                &member,
                "--grade",
                "ZZZ",
            ],
        );
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["failed"], 1, "{report}");
        assert_eq!(state_of(&sd, &wrong), "failed");
        let shown = sd.ok(&["outbox", "show", &wrong], None);
        assert!(shown.contains("Invalid grade 'ZZZ'"), "{shown}");
        assert!(
            shown.contains("set_grades_for_assignment"),
            "what was sent: {shown}"
        );
        assert!(
            !shown.contains(&config.matrix.api_key),
            "the key stays out: {shown}"
        );
        sd.ok(&["outbox", "retry", &wrong], None);
        assert_eq!(state_of(&sd, &wrong), "pending");
        sd.ok(&["outbox", "replay"], None);
        let receipt = sd.json(&["outbox", "show", &wrong]);
        assert_eq!(receipt["entry"]["state"], "failed", "{receipt}");
        assert_eq!(
            receipt["attempts"].as_array().map(Vec::len),
            Some(2),
            "{receipt}"
        );
        let line = sd.fails(&["outbox", "retry", &wrong, "--file", "x.json"], None);
        assert!(line.contains("--file"), "{line}");
        sd.ok(&["outbox", "discard", &wrong, "--yes"], None);
        assert_eq!(state_of(&sd, &wrong), "discarded");
        assert_eq!(admin.grade(assignment_n, member_n).as_deref(), Some("B+"));
    });
}

/// Marks `student` for today with `status` (and any `extra` options); returns the outbox id.
fn mark(sd: &Sd, student: &str, status: &str, extra: &[&str]) -> String {
    let date = Utc::now().date_naive().to_string();
    let mut args = vec![
        "attendance",
        "mark",
        "--student",
        student,
        "--date",
        &date,
        "--status",
        status,
    ];
    args.extend_from_slice(extra);
    queue(sd, &args)
}

fn omniforge_students(sd: &Sd, n: usize) -> Vec<String> {
    let students = sd.json(&["students", "--limit", "100"]);
    let ids: Vec<String> = students
        .as_array()
        .expect("students")
        .iter()
        .filter(|s| s["source"]["system"] == "omniforge")
        .filter_map(|s| s["source"]["source_id"].as_str().map(str::to_string))
        .take(n)
        .collect();
    assert_eq!(ids.len(), n, "too few students synced");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conflict_is_shown_side_by_side_and_resolved_each_way() {
    let sd = Sd::new();
    let (sims, _config) = connected(&sd, &["omniforge"]).await;
    let admin = sims.omniforge_admin.clone();
    let day = Utc::now().date_naive();
    let date = day.to_string();
    let ids = tokio::task::block_in_place(|| {
        let ids = omniforge_students(&sd, 3);
        // A code and minutes late go with the mark.
        mark(
            &sd,
            &ids[2],
            "tardy",
            &["--code", "T", "--minutes-late", "12"],
        );
        for id in &ids[..2] {
            mark(&sd, id, "absent", &[]);
        }
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 3, "{report}");
        ids
    });
    let late = admin.mark(&ids[2], None, None, day).expect("the late mark");
    assert_eq!(
        (late.status.as_str(), late.code.as_deref()),
        ("tardy", Some("T"))
    );
    assert!(
        late.note.as_deref().is_some_and(|n| n.contains("12")),
        "minutes late travel in the note: {late:?}"
    );

    // A teacher changes both marks on the server after the desk synced them.
    for id in &ids[..2] {
        admin.change_mark(id, None, None, day, "present");
    }
    let teacher_at = admin
        .mark(&ids[0], None, None, day)
        .expect("server mark")
        .updated_at;
    let (mine, theirs) = tokio::task::block_in_place(|| {
        let mine = mark(&sd, &ids[0], "excused", &[]);
        let theirs = mark(&sd, &ids[1], "excused", &[]);
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["conflicts"], 2, "{report}");
        (mine, theirs)
    });
    // Nothing overwritten without a choice.
    for id in &ids[..2] {
        assert_eq!(
            admin.mark(id, None, None, day).expect("mark").status,
            "present"
        );
    }
    let writes_before = sims.shared.recorder.writes_for(SystemKind::OmniForge).len();
    tokio::task::block_in_place(|| {
        let shown = sd.ok(&["outbox", "show", &mine], None);
        assert!(
            shown.contains("Yours") && shown.contains("The system's"),
            "{shown}"
        );
        let status_row = shown
            .lines()
            .find(|l| l.trim_start().starts_with("status"))
            .unwrap_or_else(|| panic!("no status row: {shown}"));
        assert!(
            status_row.contains("excused") && status_row.contains("present"),
            "{status_row}"
        );
        let when = teacher_at.format("%Y-%m-%dT%H:%M").to_string();
        assert!(
            shown.contains(&when),
            "when the system's value changed: {shown}"
        );
        assert!(
            shown.contains("--keep-mine") && shown.contains("--take-theirs"),
            "{shown}"
        );
        let receipt = sd.json(&["outbox", "show", &mine]);
        assert_eq!(
            receipt["conflict"]["fields"][0]["yours"], "excused",
            "{receipt}"
        );
        assert_eq!(
            receipt["conflict"]["fields"][0]["theirs"], "present",
            "{receipt}"
        );
        assert!(
            receipt["answer"].is_object(),
            "the system's record: {receipt}"
        );

        let line = sd.fails(&["outbox", "resolve", &mine], None);
        assert!(line.contains("--keep-mine"), "{line}");
        assert_eq!(state_of(&sd, &mine), "conflict");
        let out = sd.run(
            &["outbox", "resolve", &mine, "--keep-mine", "--take-theirs"],
            None,
        );
        assert!(!out.status.success(), "both choices at once are refused");
        assert_eq!(state_of(&sd, &mine), "conflict");

        sd.ok(&["outbox", "resolve", &mine, "--keep-mine"], None);
        let out = sd.ok(&["outbox", "resolve", &theirs, "--take-theirs"], None);
        assert!(out.contains("nothing was sent"), "{out}");
        assert_eq!(state_of(&sd, &theirs), "done");
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 1, "only the kept one goes out: {report}");
        assert_eq!(state_of(&sd, &mine), "done");

        let marks = sd.json(&["attendance", "list", "--date", &date]);
        let local = |id: &str| {
            marks
                .as_array()
                .expect("marks")
                .iter()
                .find(|m| m["student_source_id"] == id)
                .cloned()
                .unwrap_or_else(|| panic!("no mark for {id}: {marks}"))
        };
        assert_eq!(local(&ids[0])["status"], "excused");
        assert_eq!(
            local(&ids[1])["status"],
            "present",
            "the system's value, taken"
        );
        assert_eq!(local(&ids[1])["state"], "synced");
    });
    assert_eq!(
        admin.mark(&ids[0], None, None, day).expect("mark").status,
        "excused"
    );
    assert_eq!(
        admin.mark(&ids[1], None, None, day).expect("mark").status,
        "present"
    );
    let writes = sims.shared.recorder.writes_for(SystemKind::OmniForge);
    assert_eq!(writes.len(), writes_before + 1, "one write, the kept one");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_holds_writes_and_a_new_key_delivers_them() {
    let sd = Sd::new();
    let (sims, config) = connected(&sd, &["omniforge", "powerschool"]).await;
    let admin = sims.omniforge_admin.clone();
    let old_key = config.omniforge.key().to_string();
    let mut new_key = ApiKey::generate("reissued after the leak");
    new_key.requests_per_minute = None;
    admin.add_key(new_key.clone());
    let day = Utc::now().date_naive();
    let base = sims.omniforge.base_url.clone();
    let (ids, entries) = tokio::task::block_in_place(|| {
        let ids = omniforge_students(&sd, 2);
        let entries: Vec<String> = ids.iter().map(|id| mark(&sd, id, "absent", &[])).collect();
        let form = write_file(
            &sd,
            "form.json",
            r#"{"stu_FirstName": "Grace", "stu_LastName": "Hopper"}"#,
        );
        queue(
            &sd,
            &["enrollment", "submit", "--action", "102", "--file", &form],
        );
        (ids, entries)
    });
    assert!(admin.revoke_key(&old_key));
    tokio::task::block_in_place(|| {
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["held"], 2, "{report}");
        assert_eq!(report["failed"], 0, "held, not failed: {report}");
        assert_eq!(report["applied"], 1, "PowerSchool is not blocked: {report}");
        for id in &entries {
            assert_eq!(state_of(&sd, id), "held");
        }
        let shown = sd.ok(&["outbox", "show", &entries[0]], None);
        assert!(shown.contains("connect"), "says what to do: {shown}");
        // Still held on the next replay: nothing is sent with the revoked key.
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 0, "{report}");
        assert_eq!(state_of(&sd, &entries[1]), "held");

        sd.ok(
            &[
                "connect",
                "omniforge",
                "--base-url",
                &base,
                "--requests-per-minute",
                "60000",
            ],
            Some(&new_key.key),
        );
        for id in &entries {
            assert_eq!(state_of(&sd, id), "pending", "released by connect");
        }
        let report = sd.json(&["outbox", "replay"]);
        assert_eq!(report["applied"], 2, "{report}");
        for id in &entries {
            assert_eq!(state_of(&sd, id), "done");
        }
    });
    assert_eq!(sims.powerschool_admin.submission_ids(102).len(), 1);
    for id in &ids {
        assert_eq!(
            admin.mark(id, None, None, day).expect("mark").status,
            "absent"
        );
    }
}
