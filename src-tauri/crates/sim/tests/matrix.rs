//! The Matrix LMS simulator over real HTTP: key, paging, the 120-calls rule, user info with
//! its secrets, rosters (all-or-nothing), grades, attendance and the write record.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use schooldesk_sim::{SimClock, SimConfig, Simulators, SystemKind};
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

/// The first day of the district's school year (the simulators' data is laid out from it).
fn school_year_start() -> NaiveDate {
    schooldesk_sim::data::generate(SimConfig::default().seed, 60).school_year_start
}

/// Noon on the first Wednesday at least six weeks into the school year.
fn t0() -> DateTime<Utc> {
    let mut day = school_year_start() + chrono::Duration::days(42);
    while day.weekday() != Weekday::Wed {
        day = day.succ_opt().unwrap();
    }
    day.and_hms_opt(12, 0, 0).unwrap().and_utc()
}

async fn start() -> Simulators {
    Simulators::start(SimConfig {
        students: 60,
        clock: SimClock::frozen(t0()),
        ..Default::default()
    })
    .await
    .expect("simulators start")
}

struct Lms {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Lms {
    fn new(sims: &Simulators) -> Lms {
        Lms {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: sims.matrix.base_url.clone(),
            key: sims.matrix_admin.api_key(),
        }
    }

    /// Calls `function` with the key and `args`; returns the status and the JSON body.
    async fn call(&self, function: &str, args: &[(&str, String)]) -> (u16, Value) {
        let mut query: Vec<(&str, String)> = vec![("api_key", self.key.clone())];
        query.extend(args.iter().cloned());
        self.raw(function, &query).await
    }

    async fn raw(&self, function: &str, query: &[(&str, String)]) -> (u16, Value) {
        let r = self
            .http
            .get(format!("{}/api/{function}", self.base))
            .query(query)
            .send()
            .await
            .expect("request");
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        assert!(ct.starts_with("application/json"), "content type {ct}");
        (status, r.json().await.expect("json body"))
    }

    async fn ok(&self, function: &str, args: &[(&str, String)]) -> Value {
        let (status, body) = self.call(function, args).await;
        assert_eq!(status, 200, "{function}: {body}");
        body
    }
}

fn ids(v: &Value) -> Vec<u64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|u| u["id"].as_u64().expect("id"))
        .collect()
}

#[tokio::test]
async fn a_bad_or_misplaced_key_is_401_and_the_key_goes_in_the_query() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    assert_eq!(
        lms.ok("get_version", &[]).await,
        serde_json::json!({"version": 1})
    );

    let (status, body) = lms
        .raw("get_version", &[("api_key", "23-34-d31dae3671".into())])
        .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Invalid API key"))
    );

    let (status, _) = lms.raw("get_version", &[]).await;
    assert_eq!(status, 401, "no key at all");

    // A key sent as a header instead of in the query is no key.
    let r = lms
        .http
        .get(format!("{}/api/get_version", lms.base))
        .header("api_key", lms.key.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    let (status, body) = lms.call("get_nothing_at_all", &[]).await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("get_nothing_at_all"));

    let (status, _) = lms
        .call("get_version", &[("api_version", "2".into())])
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn users_come_100_a_page_then_an_empty_page_with_password_and_ssn() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let d = &sims.district;
    let total = 1 + d.staff.len() + d.students.len() + d.guardians.len();
    assert!(total > 100 && total <= 200, "fixture size {total}");

    let page1 = lms.ok("get_all_users", &[]).await;
    let page1_explicit = lms.ok("get_all_users", &[("page", "1".into())]).await;
    assert_eq!(page1, page1_explicit, "page defaults to 1");
    let page2 = lms.ok("get_all_users", &[("page", "2".into())]).await;
    let page3 = lms.ok("get_all_users", &[("page", "3".into())]).await;
    assert_eq!(page1.as_array().unwrap().len(), 100);
    assert_eq!(page2.as_array().unwrap().len(), total - 100);
    assert_eq!(
        page3,
        serde_json::json!([]),
        "past the last page: an empty array"
    );

    let all: BTreeSet<u64> = ids(&page1).into_iter().chain(ids(&page2)).collect();
    assert_eq!(all.len(), total, "no user twice");

    // Every user carries the secrets the app must drop.
    for u in page1
        .as_array()
        .unwrap()
        .iter()
        .chain(page2.as_array().unwrap())
    {
        let o = u.as_object().unwrap();
        assert!(o.contains_key("password") && o.contains_key("ssn"), "{u}");
    }

    // Students carry the district's student number and Matrix's view of their names.
    let s = &d.students[7];
    let uid = admin.user_id_of_student(7);
    let got = lms
        .ok(
            "get_users_with_ids",
            &[
                ("user_ids[]", uid.to_string()),
                ("user_ids[]", admin.user_id_of_guardian(0).to_string()),
            ],
        )
        .await;
    let got = got.as_array().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0]["id"], uid);
    assert_eq!(got[0]["student_id"], s.external_id.as_str());
    assert_eq!(got[0]["student"], true);
    assert_eq!(got[0]["last_name"], s.family_name_in(SystemKind::Matrix));
    assert_eq!(
        got[0]["birthdate"],
        s.date_of_birth_in(SystemKind::Matrix)
            .format("%Y-%m-%d")
            .to_string()
    );
    assert!(got[0]["password"].as_str().is_some_and(|p| !p.is_empty()));
    assert!(got[0]["ssn"].as_str().is_some_and(|p| p.len() == 11));
    assert_eq!(got[1]["parent"], true);
    assert!(got[1]["children_ids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_u64() == Some(admin.user_id_of_student(d.guardians[0].students[0]))));

    let (status, _) = lms.call("get_all_users", &[("page", "0".into())]).await;
    assert_eq!(status, 400);
    let (status, body) = lms.call("get_users_with_ids", &[]).await;
    assert_eq!(status, 400, "{body}");
}

#[tokio::test]
async fn organizations_classes_and_rosters_follow_the_district() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let d = &sims.district;

    let orgs = lms.ok("get_all_organizations", &[]).await;
    assert_eq!(orgs.as_array().unwrap().len(), d.schools.len());
    assert_eq!(orgs[0]["name"], d.schools[0].name.as_str());
    assert_eq!(
        lms.ok("get_all_organizations", &[("page", "2".into())])
            .await,
        serde_json::json!([])
    );

    let taught: Vec<usize> = d
        .sections
        .iter()
        .filter(|s| !s.is_homeroom)
        .map(|s| s.index)
        .collect();
    let mut classes = Vec::new();
    for page in 1.. {
        let p = lms
            .ok("get_all_classes", &[("page", page.to_string())])
            .await;
        let n = p.as_array().unwrap().len();
        assert!(n <= 100);
        classes.extend(p.as_array().unwrap().iter().cloned());
        if n == 0 {
            break;
        }
    }
    assert_eq!(
        classes.len(),
        taught.len(),
        "every taught section is a class"
    );
    assert_eq!(
        lms.ok("get_all_classes", &[("archived", "true".into())])
            .await,
        serde_json::json!([])
    );

    let section = &d.sections[taught[0]];
    let class_id = admin.class_id_of_section(section.index).unwrap();
    assert_eq!(admin.class_id_of_section(d.students[0].homeroom), None);
    let class = classes.iter().find(|c| c["id"] == class_id).unwrap();
    assert_eq!(class["name"], section.name.as_str());
    assert_eq!(class["section_code"], section.code.as_str());

    let roster = lms
        .ok(
            "get_students_for_class",
            &[("class_id", class_id.to_string())],
        )
        .await;
    let got: BTreeSet<u64> = ids(&roster).into_iter().collect();
    let want: BTreeSet<u64> = section
        .students
        .iter()
        .map(|&i| admin.user_id_of_student(i))
        .collect();
    assert_eq!(got, want);
    assert_eq!(roster[0]["enroll_type"], "SIS");
    assert!(
        roster[0].get("password").is_some(),
        "student info is user info"
    );

    let teachers = lms
        .ok(
            "get_teachers_for_class",
            &[("class_id", class_id.to_string())],
        )
        .await;
    assert_eq!(
        ids(&teachers),
        vec![admin.user_id_of_staff(section.teacher)]
    );
    assert_eq!(teachers[0]["coteacher"], false);
    assert_eq!(
        teachers[0]["teacher_id"],
        d.staff[section.teacher].external_id.as_str()
    );

    let (status, body) = lms
        .call("get_students_for_class", &[("class_id", "999".into())])
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = lms.call("get_students_for_class", &[]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn class_attendance_uses_the_documented_statuses() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let class_id = admin.class_ids()[0];

    let all = lms
        .ok("get_all_attendance", &[("class_id", class_id.to_string())])
        .await;
    let sessions = all.as_array().unwrap();
    // Every school day since the year started; today's only if the class has met by noon.
    let days = schooldesk_sim::District::school_days(school_year_start(), t0().date_naive()).len();
    assert!(
        (days - 1..=days).contains(&sessions.len()),
        "{} of {days}",
        sessions.len()
    );
    let roster: BTreeSet<u64> = admin.roster(class_id).into_iter().collect();
    let mut statuses = BTreeSet::new();
    for s in sessions {
        let started = s["started_at"].as_str().unwrap();
        assert_eq!(started.len(), "2026-09-01T09:25Z".len(), "{started}");
        for r in s["records"].as_array().unwrap() {
            // In attendance, student_id is the Matrix user id.
            assert!(roster.contains(&r["student_id"].as_u64().unwrap()));
            let status = r["status"].as_str().unwrap().to_string();
            if status == "Late" || status == "Early" {
                assert!(r["details"].as_u64().is_some_and(|m| m > 0), "{r}");
            }
            assert_eq!(r["excused"], status == "Excuse");
            statuses.insert(status);
        }
    }
    let allowed: BTreeSet<String> = ["OnTime", "Late", "Early", "Absent", "Excuse", "NoExcuse"]
        .map(String::from)
        .into();
    assert!(statuses.is_subset(&allowed), "{statuses:?}");
    // Small classes see few kinds of mark; a handful of classes see most of them.
    for other in admin.class_ids().into_iter().skip(1).take(10) {
        let all = lms
            .ok("get_all_attendance", &[("class_id", other.to_string())])
            .await;
        for s in all.as_array().unwrap() {
            for r in s["records"].as_array().unwrap() {
                statuses.insert(r["status"].as_str().unwrap().to_string());
            }
        }
    }
    assert!(statuses.is_subset(&allowed), "{statuses:?}");
    assert!(
        statuses.contains("OnTime") && statuses.len() >= 4,
        "{statuses:?}"
    );

    let first = &sessions[0];
    let one = lms
        .ok(
            "get_attendance",
            &[
                ("class_id", class_id.to_string()),
                (
                    "date_and_time",
                    first["started_at"].as_str().unwrap().to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(&one, first);
    let by_date = lms
        .ok(
            "get_attendance",
            &[
                ("class_id", class_id.to_string()),
                (
                    "date",
                    first["started_at"].as_str().unwrap()[..10].to_string(),
                ),
            ],
        )
        .await;
    assert_eq!(&by_date, first);
    let mut saturday = school_year_start();
    while saturday.weekday() != Weekday::Sat {
        saturday = saturday.succ_opt().unwrap();
    }
    let weekend = lms
        .ok(
            "get_attendance",
            &[
                ("class_id", class_id.to_string()),
                ("date", saturday.format("%Y-%m-%d").to_string()),
            ],
        )
        .await;
    assert_eq!(weekend["records"], serde_json::json!([]));
    let (status, _) = lms
        .call(
            "get_attendance",
            &[
                ("class_id", class_id.to_string()),
                ("date", saturday.format("%d/%m/%Y").to_string()),
            ],
        )
        .await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn enrolment_is_all_or_nothing_and_removal_counts() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let d = &sims.district;
    let class_id = admin.class_ids()[0];
    let section = d
        .sections
        .iter()
        .find(|s| admin.class_id_of_section(s.index) == Some(class_id))
        .unwrap();
    let outsiders: Vec<u64> = d
        .students
        .iter()
        .filter(|s| !section.students.contains(&s.index))
        .take(2)
        .map(|s| admin.user_id_of_student(s.index))
        .collect();
    let before = admin.roster(class_id);
    let writes = || sims.shared.recorder.writes_for(SystemKind::Matrix).len();

    // One unknown id: nothing is enrolled.
    let (status, body) = lms
        .call(
            "add_students_to_class",
            &[
                ("class_id", class_id.to_string()),
                ("user_ids[]", outsiders[0].to_string()),
                ("user_ids[]", "9999999".into()),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(admin.roster(class_id), before);
    assert_eq!(writes(), 0);

    // A teacher is not a student either.
    let (status, _) = lms
        .call(
            "add_students_to_class",
            &[
                ("class_id", class_id.to_string()),
                ("user_ids[]", outsiders[0].to_string()),
                ("user_ids[]", admin.user_id_of_staff(0).to_string()),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(admin.roster(class_id), before);

    let added = lms
        .ok(
            "add_students_to_class",
            &[
                ("class_id", class_id.to_string()),
                ("user_ids[]", outsiders[0].to_string()),
                ("user_ids[]", outsiders[1].to_string()),
            ],
        )
        .await;
    assert_eq!(added, 2);
    let roster = lms
        .ok(
            "get_students_for_class",
            &[("class_id", class_id.to_string())],
        )
        .await;
    let added_row = roster
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == outsiders[0])
        .expect("enrolled student listed");
    assert_eq!(added_row["enroll_type"], "API");
    assert_eq!(writes(), 1);
    let w = &sims.shared.recorder.writes_for(SystemKind::Matrix)[0];
    assert_eq!(w.kind, "class.add_students");
    assert_eq!(w.at, t0());

    // Again: already enrolled is an error, unless told to ignore it.
    let again = [
        ("class_id", class_id.to_string()),
        ("user_ids[]", outsiders[0].to_string()),
    ];
    let (status, _) = lms.call("add_students_to_class", &again).await;
    assert_eq!(status, 400);
    let mut ignoring = again.to_vec();
    ignoring.push(("ignore_already_enrolled", "true".into()));
    assert_eq!(lms.ok("add_students_to_class", &ignoring).await, 0);
    assert_eq!(writes(), 1, "a replay that changes nothing is not a write");

    let removed = lms
        .ok(
            "remove_students_from_class",
            &[
                ("class_id", class_id.to_string()),
                ("user_ids[]", outsiders[0].to_string()),
                ("user_ids[]", outsiders[1].to_string()),
            ],
        )
        .await;
    assert_eq!(removed, 2);
    assert_eq!(admin.roster(class_id), before);
    let removed = lms
        .ok(
            "remove_students_from_class",
            &[
                ("class_id", class_id.to_string()),
                ("user_ids[]", outsiders[0].to_string()),
            ],
        )
        .await;
    assert_eq!(removed, 0, "not enrolled any more");
    assert_eq!(writes(), 2);
}

#[tokio::test]
async fn update_user_matches_on_student_id_and_shows_afterwards() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let s = &sims.district.students[3];
    let uid = admin.user_id_of_student(3);

    let reply = lms
        .ok(
            "update_user",
            &[
                ("student_id", s.external_id.clone()),
                ("last_name", "Okonkwo-Smith".into()),
                ("phone", "+1-555-010-2030".into()),
            ],
        )
        .await;
    assert_eq!(reply["id"], uid);
    assert_eq!(reply["userid"], s.email.as_str());

    let u = lms
        .ok("get_users_with_ids", &[("user_ids[]", uid.to_string())])
        .await;
    assert_eq!(u[0]["last_name"], "Okonkwo-Smith");
    assert_eq!(u[0]["phone"], "+1-555-010-2030");
    assert_eq!(u[0]["student_id"], s.external_id.as_str());
    assert_eq!(admin.user(uid).unwrap()["last_name"], "Okonkwo-Smith");

    let writes = sims.shared.recorder.writes_for(SystemKind::Matrix);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].kind, "user.update");
    assert_eq!(writes[0].key.as_deref(), Some(uid.to_string().as_str()));
    assert_eq!(writes[0].body["changes"]["last_name"], "Okonkwo-Smith");

    // The same update again changes nothing and records nothing.
    lms.ok(
        "update_user",
        &[
            ("student_id", s.external_id.clone()),
            ("last_name", "Okonkwo-Smith".into()),
        ],
    )
    .await;
    assert_eq!(sims.shared.recorder.writes_for(SystemKind::Matrix).len(), 1);

    // Matching by name and birth date works too.
    let birthdate = u[0]["birthdate"].as_str().unwrap().to_string();
    let reply = lms
        .ok(
            "update_user",
            &[
                ("first_name", s.given_name.clone()),
                ("last_name", "Okonkwo-Smith".into()),
                ("birthdate", birthdate),
                ("city", "Lakeside".into()),
            ],
        )
        .await;
    assert_eq!(reply["id"], uid);
    assert_eq!(admin.user(uid).unwrap()["city"], "Lakeside");

    let (status, body) = lms
        .call(
            "update_user",
            &[("student_id", "ST999999".into()), ("city", "X".into())],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = lms
        .call(
            "update_user",
            &[
                ("student_id", s.external_id.clone()),
                ("favourite_colour", "teal".into()),
            ],
        )
        .await;
    assert_eq!(status, 400);
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("favourite_colour"));
    let (status, _) = lms.call("update_user", &[("city", "X".into())]).await;
    assert_eq!(status, 400, "nothing to match on");
}

#[tokio::test]
async fn grades_set_are_visible_and_a_bad_grade_applies_nothing() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let class_id = admin.class_ids()[0];
    let roster = admin.roster(class_id);
    assert!(roster.len() >= 2);
    let assignments = lms
        .ok(
            "get_assignments_for_class",
            &[("class_id", class_id.to_string())],
        )
        .await;
    let aids = admin.assignment_ids(class_id);
    assert_eq!(ids(&assignments), aids);
    let final_exam = aids[3];
    assert_eq!(admin.grade(final_exam, roster[0]), None, "not graded yet");

    let grades = lms
        .ok(
            "get_grades_for_class",
            &[("class_id", class_id.to_string())],
        )
        .await;
    assert_eq!(grades.as_array().unwrap().len(), roster.len());
    let g0 = &grades[0];
    assert_eq!(g0["grading_periods"].as_array().unwrap().len(), 2);
    assert!(g0["percent"].as_f64().is_some(), "{g0}");

    // One bad grade: nothing stored.
    let (status, body) = lms
        .call(
            "set_grades_for_assignment",
            &[
                ("assignment_id", final_exam.to_string()),
                ("grades[][user_id]", roster[0].to_string()),
                ("grades[][grade]", "B+".into()),
                ("grades[][user_id]", roster[1].to_string()),
                ("grades[][grade]", "excellent".into()),
            ],
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(admin.grade(final_exam, roster[0]), None);

    let set = lms
        .ok(
            "set_grades_for_assignment",
            &[
                ("assignment_id", final_exam.to_string()),
                ("grades[][user_id]", roster[0].to_string()),
                ("grades[][grade]", "B+".into()),
                ("grades[][user_id]", roster[1].to_string()),
                ("grades[][grade]", "72%".into()),
            ],
        )
        .await;
    assert_eq!(set, 2);
    assert_eq!(admin.grade(final_exam, roster[0]).as_deref(), Some("B+"));

    let grades = lms
        .ok(
            "get_grades_for_class",
            &[("class_id", class_id.to_string())],
        )
        .await;
    let row = grades
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["user_id"] == roster[1])
        .unwrap();
    let exam = row["grading_periods"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["assignments"].as_array().unwrap().iter())
        .find(|a| a["id"] == final_exam)
        .expect("the grade set is in the gradebook");
    assert_eq!(exam["grade"], "72%");
    assert_eq!(exam["percent"], 72.0);

    let writes = sims.shared.recorder.writes_for(SystemKind::Matrix);
    assert_eq!(writes.len(), 1);
    assert_eq!(writes[0].kind, "grades.set");
    assert_eq!(writes[0].body["grades"].as_array().unwrap().len(), 2);

    // A student outside the class cannot be graded.
    let outsider = (0..sims.district.students.len())
        .map(|i| admin.user_id_of_student(i))
        .find(|u| !roster.contains(u))
        .unwrap();
    let (status, _) = lms
        .call(
            "set_grades_for_assignment",
            &[
                ("assignment_id", final_exam.to_string()),
                ("grades[][user_id]", outsider.to_string()),
                ("grades[][grade]", "A".into()),
            ],
        )
        .await;
    assert_eq!(status, 400);
    // A blank clears a grade.
    lms.ok(
        "set_grades_for_assignment",
        &[
            ("assignment_id", final_exam.to_string()),
            ("grades[0][user_id]", roster[0].to_string()),
            ("grades[0][grade]", String::new()),
        ],
    )
    .await;
    assert_eq!(admin.grade(final_exam, roster[0]), None);
}

#[tokio::test]
async fn the_121st_call_in_a_minute_disables_the_key_for_a_minute() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let clock = &sims.shared.clock;

    for i in 0..60 {
        let (status, _) = lms.call("get_version", &[]).await;
        assert_eq!(status, 200, "call {i}");
    }
    // Calls with a wrong key are not the key's calls.
    for _ in 0..5 {
        let (status, _) = lms.raw("get_version", &[("api_key", "wrong".into())]).await;
        assert_eq!(status, 401);
    }
    clock.advance(Duration::from_secs(30));
    for i in 60..120 {
        let (status, _) = lms.call("get_version", &[]).await;
        assert_eq!(status, 200, "call {i}");
    }
    assert_eq!(admin.calls_in_last_minute(), 120);

    let (status, body) = lms.call("get_version", &[]).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("Rate limit"),
        "{body}"
    );
    assert_eq!(
        admin.disabled_until(),
        Some(clock.now() + chrono::Duration::minutes(1))
    );

    // Disabled for a whole minute, even though the first calls have left the window.
    clock.advance(Duration::from_secs(59));
    let (status, _) = lms.call("get_version", &[]).await;
    assert_eq!(status, 400);
    clock.advance(Duration::from_secs(1));
    let (status, body) = lms.call("get_version", &[]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(admin.disabled_until(), None);
    assert_eq!(admin.calls_in_last_minute(), 1);
}

#[tokio::test]
async fn calls_spread_over_more_than_a_minute_are_never_refused() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let clock = &sims.shared.clock;
    // 100 calls a minute for three minutes: always under the ceiling.
    for minute in 0..3 {
        for i in 0..100 {
            let (status, _) = lms.call("get_version", &[]).await;
            assert_eq!(status, 200, "minute {minute} call {i}");
        }
        clock.advance(Duration::from_secs(61));
    }
}

#[tokio::test]
async fn teachers_change_rosters_marks_and_grades_without_the_api() {
    let sims = start().await;
    let lms = Lms::new(&sims);
    let admin = &sims.matrix_admin;
    let class_id = admin.class_ids()[1];
    let class = [("class_id", class_id.to_string())];
    let roster = admin.roster(class_id);
    let (leaver, stayer) = (roster[0], roster[1]);
    let joiner = (0..sims.district.students.len())
        .map(|i| admin.user_id_of_student(i))
        .find(|u| !roster.contains(u))
        .unwrap();

    assert!(admin.unenrol(class_id, leaver));
    assert!(!admin.unenrol(class_id, leaver), "already gone");
    assert!(admin.enrol(class_id, joiner));
    assert!(!admin.enrol(class_id, joiner), "already enrolled");
    assert!(
        !admin.enrol(class_id, admin.admin_user_id()),
        "not a student"
    );
    let listed = ids(&lms.ok("get_students_for_class", &class).await);
    assert!(!listed.contains(&leaver) && listed.contains(&joiner));

    // Today's meeting (t0 is a Wednesday noon, after every class has met).
    let today = t0().date_naive();
    assert!(admin.set_attendance(class_id, today, stayer, "Late"));
    assert!(!admin.set_attendance(class_id, today, stayer, "Asleep"));
    assert!(
        !admin.set_attendance(class_id, today, leaver, "Absent"),
        "not on the roster"
    );
    let saturday = today + chrono::Duration::days(3);
    assert!(
        !admin.set_attendance(class_id, saturday, stayer, "Absent"),
        "no meeting"
    );
    let day = lms
        .ok(
            "get_attendance",
            &[
                ("class_id", class_id.to_string()),
                ("date", today.format("%Y-%m-%d").to_string()),
            ],
        )
        .await;
    let record = day["records"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["student_id"].as_u64() == Some(stayer))
        .unwrap()
        .clone();
    assert_eq!(record["status"], "Late");
    assert_eq!(record["details"], 10);

    let assignment = admin.assignment_ids(class_id)[0];
    assert!(admin.set_grade(assignment, stayer, "B+"));
    assert!(!admin.set_grade(assignment, stayer, "excellent"));
    assert!(
        !admin.set_grade(assignment, leaver, "A"),
        "not on the roster"
    );
    assert_eq!(admin.grade(assignment, stayer).as_deref(), Some("B+"));
    let grades = lms.ok("get_grades_for_class", &class).await;
    let mine = grades
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["user_id"].as_u64() == Some(stayer))
        .unwrap();
    assert!(mine.to_string().contains("\"grade\":\"B+\""), "{mine}");

    // Someone else's changes: nothing is recorded as a write the app made.
    assert!(sims
        .shared
        .recorder
        .writes_for(SystemKind::Matrix)
        .is_empty());
}
