//! The HUBmis simulator over real HTTP: the token flow and its 15-minute death, the realm,
//! both rate limits and their headers, bare-array paging, filters, every route's shape, and
//! the read-only refusal.

use chrono::{DateTime, Datelike, NaiveDate, Utc, Weekday};
use schooldesk_sim::{hubmis, SimClock, SimConfig, Simulators, SystemKind};
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

/// Limits raised out of the way, for tests about something else.
fn roomy() -> hubmis::Config {
    hubmis::Config {
        requests_per_minute_per_ip: 100_000,
        client_bucket: 100_000,
        ..Default::default()
    }
}

async fn start(config: hubmis::Config) -> Simulators {
    Simulators::start(SimConfig {
        students: 60,
        clock: SimClock::frozen(t0()),
        hubmis: config,
        ..Default::default()
    })
    .await
    .expect("simulators start")
}

struct Reply {
    status: u16,
    limit: Option<u64>,
    remaining: Option<u64>,
    retry_after: Option<i64>,
    body: Value,
}

struct Hub {
    http: reqwest::Client,
    base: String,
    admin: hubmis::Admin,
    token: String,
}

fn header<T: std::str::FromStr>(r: &reqwest::Response, name: &str) -> Option<T> {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

async fn reply(r: reqwest::Response) -> Reply {
    let status = r.status().as_u16();
    let limit = header(&r, "x-ratelimit-limit");
    let remaining = header(&r, "x-ratelimit-remaining");
    let retry_after = header(&r, "x-ratelimit-retry-after");
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Reply {
        status,
        limit,
        remaining,
        retry_after,
        body,
    }
}

impl Hub {
    async fn connect(sims: &Simulators) -> Hub {
        let mut hub = Hub {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .unwrap(),
            base: format!("{}/api/v1", sims.hubmis.base_url),
            admin: sims.hubmis_admin.clone(),
            token: String::new(),
        };
        let r = hub.token_with(&hub.admin.client_secret()).await;
        assert_eq!(r.status, 200, "{}", r.body);
        hub.token = r.body["access_token"].as_str().unwrap().to_string();
        hub
    }

    async fn token_with(&self, secret: &str) -> Reply {
        reply(
            self.http
                .post(format!("{}/token", self.base))
                .form(&[
                    ("grant_type", "client_credentials"),
                    ("client_id", &self.admin.client_id()),
                    ("client_secret", secret),
                ])
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Reply {
        reply(
            self.http
                .get(format!("{}{path}", self.base))
                .query(query)
                .bearer_auth(&self.token)
                .header("Realm", self.admin.realm())
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn ok(&self, path: &str, query: &[(&str, &str)]) -> Value {
        let r = self.get(path, query).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        r.body
    }

    async fn list(&self, path: &str, query: &[(&str, &str)]) -> Vec<Value> {
        self.ok(path, query)
            .await
            .as_array()
            .unwrap_or_else(|| panic!("{path} answers a bare array"))
            .clone()
    }

    /// Follows pages of `size` until one is shorter than `size`.
    async fn all_pages(&self, path: &str, filters: &[(&str, &str)], size: usize) -> Vec<Value> {
        let mut out = Vec::new();
        let size_s = size.to_string();
        for page in 1.. {
            let number = page.to_string();
            let mut q = vec![
                ("page[number]", number.as_str()),
                ("page[size]", size_s.as_str()),
            ];
            q.extend_from_slice(filters);
            let items = self.list(path, &q).await;
            let n = items.len();
            assert!(n <= size);
            out.extend(items);
            if n < size {
                break;
            }
        }
        out
    }
}

fn ids(items: &[Value]) -> Vec<u64> {
    items
        .iter()
        .map(|v| v["id"].as_u64().expect("id"))
        .collect()
}

fn has_keys(v: &Value, keys: &[&str]) {
    let o = v.as_object().unwrap_or_else(|| panic!("object: {v}"));
    for k in keys {
        assert!(o.contains_key(*k), "missing {k} in {v}");
    }
}

#[tokio::test]
async fn the_token_flow_and_its_refusals() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;

    let r = hub.token_with(&hub.admin.client_secret()).await;
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 86_400, "it claims a day");
    assert!(r.body["access_token"]
        .as_str()
        .is_some_and(|t| t.len() > 20));
    assert_ne!(r.body["access_token"].as_str().unwrap(), hub.token);
    assert_eq!(hub.admin.tokens_issued(), 2);

    let r = hub.token_with("not-the-secret").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.body["error"], "invalid_client");

    // A JSON body is accepted as well (the document shows both).
    let r = reply(
        hub.http
            .post(format!("{}/token", hub.base))
            .json(&serde_json::json!({"grant_type": "client_credentials",
                "client_id": hub.admin.client_id(), "client_secret": hub.admin.client_secret()}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = reply(
        hub.http
            .post(format!("{}/token", hub.base))
            .form(&[
                ("grant_type", "password"),
                ("client_id", "x"),
                ("client_secret", "y"),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );

    let r = reply(
        hub.http
            .get(format!("{}/token", hub.base))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn calls_need_a_live_token_and_the_right_realm() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let url = format!("{}/year-groups", hub.base);

    let r = reply(
        hub.http
            .get(&url)
            .header("Realm", hub.admin.realm())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (401, Some("Unauthenticated."))
    );
    let r = reply(
        hub.http
            .get(&url)
            .bearer_auth("made.up.token")
            .header("Realm", hub.admin.realm())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 401);

    let r = reply(
        hub.http
            .get(&url)
            .bearer_auth(&hub.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 400, "missing realm: {}", r.body);
    assert!(r.body["message"].as_str().unwrap().contains("Realm"));
    let r = reply(
        hub.http
            .get(&url)
            .bearer_auth(&hub.token)
            .header("Realm", "S999")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, 403, "someone else's realm: {}", r.body);

    let year = hub.admin.academic_year_id().to_string();
    for (value, status) in [(year.as_str(), 200), ("1", 404), ("last", 400)] {
        let r = reply(
            hub.http
                .get(&url)
                .bearer_auth(&hub.token)
                .header("Realm", hub.admin.realm())
                .header("academic-year-id", value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, status, "academic-year-id {value}: {}", r.body);
    }
}

#[tokio::test]
async fn tokens_die_after_15_minutes_whatever_expires_in_says() {
    let sims = start(roomy()).await;
    let clock = &sims.shared.clock;
    let mut hub = Hub::connect(&sims).await;
    hub.ok("/attendance/codes", &[]).await;

    clock.advance(Duration::from_secs(14 * 60 + 59));
    hub.ok("/attendance/codes", &[]).await;

    clock.advance(Duration::from_secs(1));
    let r = hub.get("/attendance/codes", &[]).await;
    assert_eq!(
        (r.status, r.body["message"].as_str()),
        (401, Some("Unauthenticated."))
    );

    // The cure the contract prescribes: a new token, then the same call again.
    let fresh = hub.token_with(&hub.admin.client_secret()).await;
    assert_eq!(fresh.body["expires_in"], 86_400);
    hub.token = fresh.body["access_token"].as_str().unwrap().to_string();
    hub.ok("/attendance/codes", &[]).await;

    hub.admin.expire_tokens();
    assert_eq!(hub.get("/attendance/codes", &[]).await.status, 401);
}

#[tokio::test]
async fn twelve_requests_a_minute_per_ip_then_429_with_headers() {
    let sims = start(hubmis::Config::default()).await;
    let clock = &sims.shared.clock;
    // The token request is the first of the twelve.
    let hub = Hub::connect(&sims).await;
    for i in 0..11u64 {
        let r = hub.get("/learning-support/statuses", &[]).await;
        assert_eq!(r.status, 200, "request {}", i + 2);
        assert_eq!(r.limit, Some(12), "the IP limit binds first");
        assert_eq!(r.remaining, Some(12 - (i + 2)));
        assert_eq!(r.retry_after, None);
    }
    let r = hub.get("/learning-support/statuses", &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!((r.limit, r.remaining), (Some(12), Some(0)));
    assert_eq!(r.retry_after, Some(t0().timestamp() + 60));

    clock.advance(Duration::from_secs(59));
    assert_eq!(hub.get("/learning-support/statuses", &[]).await.status, 429);
    clock.advance(Duration::from_secs(1));
    let r = hub.get("/learning-support/statuses", &[]).await;
    assert_eq!(r.status, 200);
    // The minute has passed for the IP; the client's bucket was never near empty.
    assert_eq!((r.limit, r.remaining), (Some(12), Some(11)));
}

#[tokio::test]
async fn the_client_bucket_empties_and_refills_one_request_every_5_seconds() {
    let sims = start(hubmis::Config {
        requests_per_minute_per_ip: 100_000,
        client_bucket: 5,
        ..Default::default()
    })
    .await;
    let clock = &sims.shared.clock;
    let hub = Hub::connect(&sims).await;
    for left in (0..5u64).rev() {
        let r = hub.get("/learning-support/severities", &[]).await;
        assert_eq!(r.status, 200);
        assert_eq!((r.limit, r.remaining), (Some(5), Some(left)));
    }
    let r = hub.get("/learning-support/severities", &[]).await;
    assert_eq!(r.status, 429);
    assert_eq!((r.limit, r.remaining), (Some(5), Some(0)));
    assert_eq!(r.retry_after, Some(t0().timestamp() + 5));

    clock.advance(Duration::from_secs(4));
    assert_eq!(
        hub.get("/learning-support/severities", &[]).await.status,
        429
    );
    clock.advance(Duration::from_secs(1));
    let r = hub.get("/learning-support/severities", &[]).await;
    assert_eq!(
        (r.status, r.remaining),
        (200, Some(0)),
        "one request came back"
    );
    assert_eq!(
        hub.get("/learning-support/severities", &[]).await.status,
        429
    );

    clock.advance(Duration::from_secs(60));
    assert_eq!(hub.admin.bucket_remaining(), 5, "full again, never above");
    let r = hub.get("/learning-support/severities", &[]).await;
    assert_eq!((r.status, r.remaining), (200, Some(4)));
}

#[tokio::test]
async fn every_reply_carries_the_rate_limit_headers() {
    let sims = start(hubmis::Config::default()).await;
    let hub = Hub::connect(&sims).await;
    let mut replies = Vec::new();
    replies.push(
        reply(
            hub.http
                .get(format!("{}/students", hub.base))
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    replies.push(
        reply(
            hub.http
                .delete(format!("{}/students/1001", hub.base))
                .bearer_auth(&hub.token)
                .header("Realm", hub.admin.realm())
                .send()
                .await
                .unwrap(),
        )
        .await,
    );
    replies.push(hub.token_with(&hub.admin.client_secret()).await);
    replies.push(hub.token_with("wrong").await);
    replies.push(hub.get("/students", &[("page[size]", "5")]).await);
    replies.push(hub.get("/students/1", &[]).await);
    replies.push(hub.get("/no-such-route", &[]).await);
    replies.push(hub.get("/students", &[("filter[colour]", "red")]).await);
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [401, 405, 200, 401, 200, 404, 404, 400]);
    for r in &replies {
        assert!(
            r.limit.is_some() && r.remaining.is_some(),
            "{} {}",
            r.status,
            r.body
        );
    }
    let remaining: Vec<u64> = replies.iter().map(|r| r.remaining.unwrap()).collect();
    assert!(remaining.windows(2).all(|w| w[0] >= w[1]), "{remaining:?}");
}

#[tokio::test]
async fn the_api_is_read_only() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let url = format!("{}/students/{}", hub.base, hub.admin.student_id(0));
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let r = hub
            .http
            .request(method.parse().unwrap(), &url)
            .bearer_auth(&hub.token)
            .header("Realm", hub.admin.realm())
            .json(&serde_json::json!({"first_name": "Changed"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 405, "{method}");
        assert_eq!(header::<String>(&r, "allow").as_deref(), Some("GET, HEAD"));
    }
    let s = hub
        .ok(&format!("/students/{}", hub.admin.student_id(0)), &[])
        .await;
    assert_eq!(
        s["first_name"],
        sims.district.students[0].given_name.as_str()
    );
    assert!(sims
        .shared
        .recorder
        .writes_for(SystemKind::Hubmis)
        .is_empty());
}

#[tokio::test]
async fn students_are_bare_arrays_paged_filtered_and_sorted() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let d = &sims.district;

    let pages: Vec<usize> = {
        let mut v = Vec::new();
        for n in ["1", "2", "3", "4"] {
            v.push(
                hub.list("/students", &[("page[number]", n), ("page[size]", "25")])
                    .await
                    .len(),
            );
        }
        v
    };
    assert_eq!(pages, [25, 25, 10, 0], "the short page is the last");
    let all = hub
        .all_pages("/students", &[("filter[enrolmentStatus]", "current")], 25)
        .await;
    assert_eq!(all.len(), 60);
    let unique: BTreeSet<u64> = ids(&all).into_iter().collect();
    assert_eq!(unique.len(), 60);
    let default_size = hub.list("/students", &[]).await.len();
    assert_eq!(default_size, 25);

    for s in &all {
        let i = d
            .students
            .iter()
            .position(|x| x.external_id == s["external_id"].as_str().unwrap())
            .expect("external_id is the district's");
        let st = &d.students[i];
        assert_eq!(s["id"], hub.admin.student_id(i));
        assert_eq!(s["last_name"], st.family_name_in(SystemKind::Hubmis));
        assert_eq!(
            s["date_of_birth"],
            st.date_of_birth_in(SystemKind::Hubmis)
                .format("%Y-%m-%d")
                .to_string()
        );
    }

    let grade = d.students[0].grade_in(SystemKind::Hubmis);
    let yg = hub.admin.year_group_id(grade).to_string();
    let in_year = hub
        .list(
            "/students",
            &[("filter[yearGroup]", &yg), ("page[size]", "100")],
        )
        .await;
    let want = d
        .students
        .iter()
        .filter(|s| s.grade_in(SystemKind::Hubmis) == grade)
        .count();
    assert_eq!(in_year.len(), want);
    assert!(in_year
        .iter()
        .all(|s| s["year_group"]["id"] == hub.admin.year_group_id(grade)));

    let tg = hub
        .admin
        .tutor_group_id(d.students[0].homeroom)
        .unwrap()
        .to_string();
    let in_group = hub
        .list(
            "/students",
            &[("filter[tutorGroup]", &tg), ("page[size]", "100")],
        )
        .await;
    assert_eq!(
        in_group.len(),
        d.sections[d.students[0].homeroom].students.len()
    );

    assert!(hub
        .list("/students", &[("filter[enrolmentStatus]", "past")])
        .await
        .is_empty());
    let girls = hub
        .list(
            "/students",
            &[("filter[gender]", "2"), ("page[size]", "100")],
        )
        .await;
    assert_eq!(
        girls.len(),
        d.students.iter().filter(|s| s.gender == "F").count()
    );

    let sorted = hub
        .list(
            "/students",
            &[("sort[lastName]", "desc"), ("page[size]", "100")],
        )
        .await;
    let names: Vec<String> = sorted
        .iter()
        .map(|s| s["last_name"].as_str().unwrap().to_lowercase())
        .collect();
    assert!(names.windows(2).all(|w| w[0] >= w[1]), "{names:?}");

    let who = &d.students[5];
    let found = hub.list("/students", &[("search", &who.external_id)]).await;
    assert_eq!(ids(&found), vec![hub.admin.student_id(5)]);

    for (q, status) in [
        (("filter[colour]", "red"), 400),
        (("sort[shoeSize]", "asc"), 400),
        (("sort[lastName]", "up"), 400),
        (("page[size]", "0"), 422),
        (("page[number]", "0"), 422),
        (("filter[yearGroup]", "nine"), 422),
        (("filter[enrolmentStatus]", "sometimes"), 422),
    ] {
        let r = hub.get("/students", &[q]).await;
        assert_eq!(r.status, status, "{q:?}: {}", r.body);
        assert!(r.body["message"].is_string());
    }
}

#[tokio::test]
async fn one_student_has_the_documented_shape() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let d = &sims.district;
    let s = hub
        .ok(&format!("/students/{}", hub.admin.student_id(2)), &[])
        .await;
    has_keys(
        &s,
        &[
            "id",
            "access_status",
            "multi_realm",
            "academic_house",
            "boarding_type",
            "boarding_house",
            "country_of_birth",
            "date_of_birth",
            "deleted_at",
            "ethnicity",
            "enrolment_status",
            "external_id",
            "faith",
            "first_name",
            "gender",
            "has_global_note",
            "form",
            "language_first",
            "language_second",
            "last_login",
            "last_name",
            "learning_support_record_summary",
            "middle_name",
            "name_in_local_language",
            "national_identity",
            "nationalities",
            "person_type",
            "preferred_name",
            "primary_email",
            "profile_image",
            "tags",
            "medical_condition_severity",
        ],
    );
    assert_eq!(s["external_id"], d.students[2].external_id.as_str());
    assert_eq!(s["enrolment_status"], "current");
    assert_eq!(
        s["form"]["id"],
        hub.admin.tutor_group_id(d.students[2].homeroom).unwrap()
    );
    assert_eq!(hub.get("/students/1", &[]).await.status, 404);
    assert_eq!(hub.get("/students/abc", &[]).await.status, 404);
}

#[tokio::test]
async fn contacts_come_from_guardians() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let d = &sims.district;
    let s = &d.students[0];

    let relations = hub
        .list(
            &format!("/students/{}/contacts", hub.admin.student_id(0)),
            &[],
        )
        .await;
    assert_eq!(relations.len(), s.guardians.len());
    for (k, rel) in relations.iter().enumerate() {
        let g = &d.guardians[s.guardians[k]];
        assert_eq!(rel["contact"]["id"], hub.admin.contact_id(g.index));
        assert_eq!(rel["contact"]["last_name"], g.family_name.as_str());
        assert_eq!(rel["relationship"]["name"], g.relationship.as_str());
        assert_eq!(rel["can_collect"], g.can_pick_up);
        assert_eq!(rel["emergency_contact"], g.emergency_contact);
        assert_eq!(rel["priority"], k + 1);
        assert_eq!(rel["contact"]["phones"][0]["number"], g.phone.as_str());
    }

    let g = &d.guardians[s.guardians[0]];
    let c = hub
        .ok(&format!("/contacts/{}", hub.admin.contact_id(g.index)), &[])
        .await;
    has_keys(
        &c,
        &[
            "access_status",
            "multi_realm",
            "students_access",
            "deleted_at",
            "external_id",
            "first_name",
            "gender",
            "id",
            "last_name",
            "middle_name",
            "primary_email",
            "profile_image",
            "status",
            "students",
            "title",
        ],
    );
    let children: Vec<String> = c["students"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["external_id"].as_str().unwrap().to_string())
        .collect();
    assert!(children.contains(&s.external_id));
    let phones = hub
        .list(
            &format!("/contacts/{}/phones", hub.admin.contact_id(g.index)),
            &[],
        )
        .await;
    assert_eq!(phones[0]["number"], g.phone.as_str());

    let all = hub.all_pages("/contacts", &[], 30).await;
    assert_eq!(all.len(), d.guardians.len());
    assert_eq!(hub.get("/contacts/5", &[]).await.status, 404);
}

#[tokio::test]
async fn session_attendance_uses_uk_codes_and_its_filters() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let codes = hub.list("/attendance/codes", &[]).await;
    let known: BTreeSet<String> = codes
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect();
    for c in ["/", "\\", "L", "N", "I", "M", "O", "U"] {
        assert!(known.contains(c), "code {c}");
    }
    let shown = hub
        .list("/attendance/codes", &[("filter[display]", "true")])
        .await;
    assert!(shown.len() < codes.len());

    let path = format!("/students/{}/attendance", hub.admin.student_id(0));
    let all = hub.list(&path, &[]).await;
    // Two sessions every school day since the year started; at noon today's PM register is
    // not taken yet.
    let enrolled = sims.district.students[0].enrolled_on;
    if enrolled <= school_year_start() {
        let days =
            schooldesk_sim::District::school_days(school_year_start(), t0().date_naive()).len();
        assert_eq!(all.len(), days * 2 - 1, "{} of {days} days", all.len());
    }
    for m in &all {
        has_keys(m, &["id", "date", "attendance_session", "attendance_code"]);
        assert!(known.contains(m["attendance_code"]["code"].as_str().unwrap()));
    }
    let am = hub
        .list(&path, &[("filter[attendanceSession]", "am")])
        .await;
    assert_eq!(am.len() * 2, all.len() + 1);
    assert!(am.iter().all(|m| m["attendance_session"] == "am"));
    assert!(am.iter().all(|m| m["attendance_code"]["code"] != "\\"));

    // The whole week before this one, PM only.
    let last_monday = t0().date_naive() - chrono::Duration::days(9);
    let last_friday = last_monday + chrono::Duration::days(4);
    let week = hub
        .list(
            &path,
            &[
                (
                    "filter[dateTime][from]",
                    &format!("{}T00:00:00Z", last_monday),
                ),
                (
                    "filter[dateTime][to]",
                    &format!("{}T23:59:59Z", last_friday),
                ),
                ("filter[attendanceSession]", "pm"),
            ],
        )
        .await;
    assert_eq!(week.len(), 5, "one PM session each weekday");
    let sorted = hub.list(&path, &[("sort[date]", "desc")]).await;
    assert_eq!(
        sorted.first().unwrap()["date"],
        t0().format("%Y-%m-%d").to_string()
    );

    let r = hub
        .get(&path, &[("filter[attendanceSession]", "evening")])
        .await;
    assert_eq!(r.status, 422);
    let r = hub
        .get(&path, &[("filter[dateTime][from]", "last week")])
        .await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn learning_support_records_reviews_and_lookups() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let d = &sims.district;

    for path in [
        "/learning-support/types",
        "/learning-support/severities",
        "/learning-support/statuses",
        "/learning-support/review-types",
    ] {
        let items = hub.list(path, &[]).await;
        assert!(!items.is_empty(), "{path}");
        has_keys(&items[0], &["id", "name"]);
    }
    let two = hub
        .list(
            "/learning-support/types",
            &[("page[size]", "2"), ("page[number]", "2")],
        )
        .await;
    assert_eq!(ids(&two), vec![3, 4]);

    let with = hub.admin.students_with_learning_support();
    assert!(!with.is_empty(), "some students have learning support");
    let all = hub.all_pages("/learning-support/records", &[], 4).await;
    let total: usize = (0..d.students.len())
        .map(|i| hub.admin.learning_support_record_ids(i).len())
        .sum();
    assert_eq!(all.len(), total);

    let i = with[0];
    let rid = hub.admin.learning_support_record_ids(i)[0];
    let record = hub
        .ok(&format!("/learning-support/records/{rid}"), &[])
        .await;
    has_keys(
        &record,
        &[
            "id",
            "description",
            "ehcp",
            "ehcp_date",
            "files",
            "learning_support_date",
            "learning_support_type",
            "severity",
            "status",
            "student",
            "inactive_date",
        ],
    );
    assert_eq!(
        record["student"]["external_id"],
        d.students[i].external_id.as_str()
    );

    let yg = hub
        .admin
        .year_group_id(d.students[i].grade_in(SystemKind::Hubmis))
        .to_string();
    let in_year = hub
        .list(
            "/learning-support/records",
            &[("filter[yearGroup]", &yg), ("page[size]", "100")],
        )
        .await;
    assert!(ids(&in_year).contains(&rid));
    for r in &in_year {
        let s = d
            .student_by_external_id(r["student"]["external_id"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            hub.admin
                .year_group_id(s.grade_in(SystemKind::Hubmis))
                .to_string(),
            yg
        );
    }

    let mine = hub
        .list(
            &format!(
                "/students/{}/learning-support/records",
                hub.admin.student_id(i)
            ),
            &[],
        )
        .await;
    assert_eq!(ids(&mine), hub.admin.learning_support_record_ids(i));
    let student = hub
        .ok(&format!("/students/{}", hub.admin.student_id(i)), &[])
        .await;
    assert_eq!(
        student["learning_support_record_summary"]
            .as_array()
            .unwrap()
            .len(),
        mine.len()
    );

    let fields = hub
        .ok(
            &format!("/students/{}/learning-support", hub.admin.student_id(i)),
            &[],
        )
        .await;
    has_keys(
        &fields,
        &[
            "authority",
            "authority_type",
            "disability",
            "disability_description",
            "placement_date",
        ],
    );

    let reviewed = (0..d.students.len())
        .find(|s| !hub.admin.learning_support_review_ids(*s).is_empty())
        .expect("some student has a review");
    let reviews = hub
        .list(
            &format!(
                "/students/{}/learning-support/reviews",
                hub.admin.student_id(reviewed)
            ),
            &[("sort[reviewDateTime]", "asc")],
        )
        .await;
    let mut want = hub.admin.learning_support_review_ids(reviewed);
    want.sort();
    let mut got = ids(&reviews);
    got.sort();
    assert_eq!(got, want);
    let review = hub
        .ok(
            &format!("/learning-support/reviews/{}", reviews[0]["id"]),
            &[],
        )
        .await;
    has_keys(
        &review,
        &[
            "id",
            "agreed_actions",
            "attending_contacts",
            "attending_contact_text",
            "attending_staff",
            "is_student_attending",
            "description",
            "ehcp_notes",
            "files",
            "meeting_aims",
            "next_review",
            "review_type",
            "review_date_time",
            "special_needs_coordinators",
            "review_status",
        ],
    );
    assert_eq!(review, reviews[0]);
    assert_eq!(
        hub.get("/learning-support/records/999999", &[])
            .await
            .status,
        404
    );
    assert_eq!(
        hub.get("/learning-support/reviews/0", &[]).await.status,
        404
    );
}

#[tokio::test]
async fn year_groups_and_tutor_groups_are_the_registration_groups() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let d = &sims.district;

    let years = hub.list("/year-groups", &[]).await;
    assert_eq!(years.len(), d.year_groups.len());
    has_keys(
        &years[8],
        &[
            "id",
            "code",
            "name",
            "key_stage",
            "total_student_count",
            "uuid",
        ],
    );
    assert_eq!(years[8]["name"], "Year 9");
    let counted: u64 = years
        .iter()
        .map(|y| y["total_student_count"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, 60);
    let one = hub
        .ok(&format!("/year-groups/{}", years[8]["id"]), &[])
        .await;
    assert_eq!(one, years[8]);

    let homerooms: Vec<usize> = d
        .sections
        .iter()
        .filter(|s| s.is_homeroom)
        .map(|s| s.index)
        .collect();
    let groups = hub.list("/tutor-groups", &[]).await;
    assert_eq!(groups.len(), homerooms.len());
    // An unpaged list ignores paging parameters: the whole list again.
    let again = hub
        .list(
            "/tutor-groups",
            &[("page[size]", "2"), ("page[number]", "2")],
        )
        .await;
    assert_eq!(again.len(), groups.len());

    let sec = &d.sections[homerooms[0]];
    let id = hub.admin.tutor_group_id(sec.index).unwrap();
    let group = hub.ok(&format!("/tutor-groups/{id}"), &[]).await;
    assert_eq!(group["name"], sec.name.as_str());
    assert_eq!(
        group["staff"][0]["external_id"],
        d.staff[sec.teacher].external_id.as_str()
    );
    let members = hub.list(&format!("/tutor-groups/{id}/students"), &[]).await;
    let got: BTreeSet<String> = members
        .iter()
        .map(|m| m["external_id"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = sec
        .students
        .iter()
        .map(|&i| d.students[i].external_id.clone())
        .collect();
    assert_eq!(got, want);

    let school_one = hub.list("/tutor-groups", &[("filter[section]", "1")]).await;
    assert_eq!(
        school_one.len(),
        homerooms
            .iter()
            .filter(|h| d.sections[**h].school == 0)
            .count()
    );
    assert_eq!(hub.get("/tutor-groups/1", &[]).await.status, 404);
}

#[tokio::test]
async fn office_changes_reach_every_route_that_shows_them() {
    let sims = start(roomy()).await;
    let hub = Hub::connect(&sims).await;
    let admin = &hub.admin;
    let d = &sims.district;
    let current = |v: &[Value]| ids(v).into_iter().collect::<BTreeSet<u64>>();

    // A leaver: off the current list and their tutor group, on the past list.
    let group = admin.tutor_group_of(0).expect("a tutor group");
    let members = |g: u64| format!("/tutor-groups/{g}/students");
    assert!(current(&hub.list(&members(group), &[]).await).contains(&admin.student_id(0)));
    assert!(admin.leave(0));
    assert_eq!(admin.tutor_group_of(0), None);
    let now = hub
        .list("/students", &[("filter[enrolmentStatus]", "current")])
        .await;
    assert!(!current(&now).contains(&admin.student_id(0)));
    let past = hub
        .list("/students", &[("filter[enrolmentStatus]", "past")])
        .await;
    assert_eq!(ids(&past), vec![admin.student_id(0)]);
    assert_eq!(past[0]["enrolment_status"], "past");
    assert!(!current(&hub.list(&members(group), &[]).await).contains(&admin.student_id(0)));

    // A move: in the new group only, and the record says so.
    let from = admin.tutor_group_of(1).unwrap();
    let to = (2..d.students.len())
        .filter_map(|i| admin.tutor_group_of(i))
        .find(|g| *g != from)
        .unwrap();
    assert!(admin.move_to_tutor_group(1, to));
    assert!(!admin.move_to_tutor_group(1, 9_999));
    assert!(!current(&hub.list(&members(from), &[]).await).contains(&admin.student_id(1)));
    assert!(current(&hub.list(&members(to), &[]).await).contains(&admin.student_id(1)));
    let one = hub
        .ok(&format!("/students/{}", admin.student_id(1)), &[])
        .await;
    assert_eq!(one["tutor_group"]["id"], to);
    assert_eq!(one["form"]["id"], to);

    // Form ids that differ from the tutor group's; membership still by tutor group.
    admin.set_form_ids_differ(true);
    let one = hub
        .ok(&format!("/students/{}", admin.student_id(1)), &[])
        .await;
    assert_eq!(one["form"]["id"], admin.form_id_of_tutor_group(to));
    assert!(one.get("tutor_group").is_none());
    assert!(current(&hub.list(&members(to), &[]).await).contains(&admin.student_id(1)));
    admin.set_form_ids_differ(false);

    // A removed contact: gone from the pupil's contacts and from the contact's pupils.
    let s = d
        .students
        .iter()
        .find(|s| s.index > 1 && !s.guardians.is_empty())
        .unwrap();
    let g = s.guardians[0];
    assert!(admin.remove_contact(s.index, g));
    let rel = hub
        .list(
            &format!("/students/{}/contacts", admin.student_id(s.index)),
            &[],
        )
        .await;
    assert_eq!(rel.len(), s.guardians.len() - 1);
    assert!(rel
        .iter()
        .all(|r| r["contact"]["id"] != admin.contact_id(g)));
    let contact = hub
        .ok(&format!("/contacts/{}", admin.contact_id(g)), &[])
        .await;
    assert!(ids(contact["students"].as_array().unwrap())
        .iter()
        .all(|id| *id != admin.student_id(s.index)));

    // A changed mark: the same record, the new code.
    let path = format!("/students/{}/attendance", admin.student_id(2));
    let today = t0().date_naive();
    let q = [("filter[attendanceSession]", "am")];
    let before = hub.list(&path, &q).await;
    let mark = before
        .iter()
        .find(|m| m["date"] == today.to_string())
        .unwrap();
    assert!(admin.change_mark(2, today, "am", "M"));
    assert!(!admin.change_mark(2, today, "am", "?"));
    let after = hub.list(&path, &q).await;
    let changed = after
        .iter()
        .find(|m| m["date"] == today.to_string())
        .unwrap();
    assert_eq!(changed["id"], mark["id"]);
    assert_eq!(changed["attendance_code"]["code"], "M");
}
