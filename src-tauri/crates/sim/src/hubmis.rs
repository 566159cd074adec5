//! WCBS HUBmis JSON API 1.2.0, read-only, under `/api/v1`.
//!
//! `POST /api/v1/token` (client credentials, form or JSON body) gives a bearer token; every
//! other call needs `Authorization: Bearer <token>` and `Realm: <realm id>`, and may send
//! `academic-year-id`. Lists are bare JSON arrays; the lists the document gives paging
//! parameters take `page[number]` (from 1) and `page[size]`, and a page shorter than
//! `page[size]` is the last. Lists without paging in the document answer everything and
//! ignore `page[…]`. Filters are `filter[…]` and sorting `sort[field]=asc|desc`; a filter or
//! sort the route does not know is refused with 400 (as the query builder HUBmis uses does).
//!
//! Quirks kept on purpose:
//! - tokens die 15 minutes after they were issued (by the [`SimClock`]) whatever
//!   `expires_in` says (it says a day): then 401 `{"message":"Unauthenticated."}`;
//! - 12 requests a minute per IP address, and a bucket of 500 requests per client that
//!   refills one every 5 seconds. A refused request is a 429 carrying `X-RateLimit-Limit`,
//!   `X-RateLimit-Remaining` and `X-RateLimit-Retry-After` (Unix time); every reply carries
//!   the first two, for whichever of the two limits is closer to refusing;
//! - any method other than GET (POST on `/token`) is refused with 405: the API is read-only;
//! - a missing `Realm` header is a 400, a realm the client has no access to a 403.
//!
//! The realm is the whole district; its schools are HUBmis "sections". Tutor groups are the
//! district's homerooms. Session attendance (AM/PM, UK register codes) and learning-support
//! records and reviews exist only here and are derived from the district seed.
//!
//! [`SimClock`]: crate::SimClock

use axum::extract::rejection::QueryRejection;
use axum::extract::{ConnectInfo, FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::data::{District, Guardian, Student};
use crate::{Shared, SystemKind};

/// How the simulated HUBmis tenant is set up. Both rate limits can be raised for tests and
/// demo mode; the defaults are the documented ones.
#[derive(Clone, Debug)]
pub struct Config {
    pub client_id: String,
    pub client_secret: String,
    /// The realm id (school) the client may access, sent in the `Realm` header.
    pub realm: String,
    /// How long a token really lives.
    pub token_lifetime: std::time::Duration,
    /// What the token reply claims in `expires_in` (seconds).
    pub advertised_expires_in: u64,
    /// Requests a minute per client IP address.
    pub requests_per_minute_per_ip: u32,
    /// Size of each client's request bucket.
    pub client_bucket: u32,
    /// One request returns to the bucket every this long.
    pub bucket_refill_every: std::time::Duration,
    /// `page[size]` when a paged list is asked without one.
    pub default_page_size: usize,
    /// The largest `page[size]` accepted (400 above).
    pub max_page_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            client_id: "schooldesk-client".to_string(),
            client_secret: "hubmis-secret-7f3a9c".to_string(),
            realm: "S1042".to_string(),
            token_lifetime: std::time::Duration::from_secs(15 * 60),
            advertised_expires_in: 86_400,
            requests_per_minute_per_ip: 12,
            client_bucket: 500,
            bucket_refill_every: std::time::Duration::from_secs(5),
            default_page_size: 25,
            max_page_size: 1000,
        }
    }
}

const PREFIX: &str = "/api/v1";
const STUDENT_BASE: u64 = 1001;
const CONTACT_BASE: u64 = 200_001;
const STAFF_BASE: u64 = 5001;
const TUTOR_GROUP_BASE: u64 = 301;
/// Form groups, when a test makes a pupil's form reference differ from their tutor group's id.
const FORM_BASE: u64 = 701;

const LS_TYPES: [&str; 10] = [
    "Dyslexia",
    "Dyspraxia",
    "Dyscalculia",
    "ADHD",
    "Autism Spectrum Condition",
    "Speech, Language and Communication Needs",
    "Hearing Impairment",
    "Visual Impairment",
    "Social, Emotional and Mental Health",
    "Moderate Learning Difficulty",
];
const LS_SEVERITIES: [&str; 3] = ["Mild", "Moderate", "Severe"];
const LS_STATUSES: [&str; 3] = ["Active", "Monitoring", "Inactive"];
const LS_REVIEW_TYPES: [&str; 4] = [
    "Initial Assessment",
    "Termly Review",
    "Annual Review",
    "EHCP Annual Review",
];
const LS_REVIEW_STATUSES: [&str; 3] = ["Scheduled", "Completed", "Cancelled"];
const RELATIONSHIPS: [&str; 8] = [
    "Mother",
    "Father",
    "Stepmother",
    "Grandmother",
    "Grandfather",
    "Aunt",
    "Guardian",
    "Other",
];
const HOUSES: [(&str, &str); 4] = [
    ("Austen", "AUS"),
    ("Brunel", "BRU"),
    ("Curie", "CUR"),
    ("Darwin", "DAR"),
];

/// The school's register codes: id, code, name, statistical meaning, shown on registers.
const CODES: [(u64, &str, &str, &str, bool); 17] = [
    (1, "/", "Present (AM)", "present", true),
    (2, "\\", "Present (PM)", "present", true),
    (3, "L", "Late (before registers closed)", "present", true),
    (
        4,
        "U",
        "Late (after registers closed)",
        "unauthorised_absence",
        true,
    ),
    (
        5,
        "B",
        "Educated off site",
        "approved_educational_activity",
        true,
    ),
    (
        6,
        "C",
        "Other authorised circumstances",
        "authorised_absence",
        true,
    ),
    (7, "E", "Excluded", "authorised_absence", true),
    (8, "H", "Authorised holiday", "authorised_absence", true),
    (9, "I", "Illness", "authorised_absence", true),
    (
        10,
        "M",
        "Medical or dental appointment",
        "authorised_absence",
        true,
    ),
    (
        11,
        "N",
        "No reason yet provided",
        "unauthorised_absence",
        true,
    ),
    (
        12,
        "O",
        "Unauthorised absence",
        "unauthorised_absence",
        true,
    ),
    (
        13,
        "P",
        "Approved sporting activity",
        "approved_educational_activity",
        true,
    ),
    (
        14,
        "V",
        "Educational visit or trip",
        "approved_educational_activity",
        true,
    ),
    (
        15,
        "G",
        "Holiday not authorised",
        "unauthorised_absence",
        true,
    ),
    (
        16,
        "#",
        "School closed to pupils",
        "attendance_not_required",
        false,
    ),
    (
        17,
        "X",
        "Not required to attend",
        "attendance_not_required",
        false,
    ),
];

/// One refusal or failure: a status and a `{"message": …}` body (OAuth errors add more).
#[derive(Debug)]
struct HubError {
    status: StatusCode,
    body: Value,
}

impl HubError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        HubError {
            status,
            body: json!({"message": message.into()}),
        }
    }
    fn bad(message: impl Into<String>) -> Self {
        HubError::new(StatusCode::BAD_REQUEST, message)
    }
    fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        HubError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            body: json!({"message": message, "errors": {field: [message]}}),
        }
    }
    fn not_found() -> Self {
        HubError::new(StatusCode::NOT_FOUND, "Not Found")
    }
    fn oauth(status: StatusCode, error: &str, description: &str) -> Self {
        HubError {
            status,
            body: json!({"error": error, "error_description": description, "message": description}),
        }
    }
}

impl IntoResponse for HubError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

type HubResult = Result<Json<Value>, HubError>;

/// A stable pseudo-random number for a tuple of ids.
fn mix(seed: u64, parts: &[u64]) -> u64 {
    let mut h = seed ^ 0x4855_424d_4953_4150; // "HUBMISAP"
    for p in parts {
        h = splitmix(h ^ p.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    }
    h
}

fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

fn datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn at(d: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let t = NaiveTime::from_hms_opt(hour, minute, 0).expect("valid time");
    Utc.from_utc_datetime(&d.and_time(t))
}

fn named(id: u64, name: &str) -> Value {
    json!({"id": id, "name": name})
}

#[derive(Debug, Clone)]
struct LsRecord {
    student: usize,
    kind: usize,
    severity: usize,
    status: usize,
    ehcp: bool,
    ehcp_date: Option<NaiveDate>,
    date: NaiveDate,
    inactive_date: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
struct LsReview {
    kind: usize,
    status: usize,
    at: DateTime<Utc>,
    next: Option<DateTime<Utc>>,
    student_attending: bool,
    contact: Option<usize>,
    staff: usize,
    senco: usize,
    text: usize,
}

const REVIEW_TEXTS: [(&str, &str, &str); 3] = [
    (
        "Review of progress against the targets in the learning support plan.",
        "Check whether the adjustments in class are helping and agree new targets.",
        "Continue the current adjustments; review again next term.",
    ),
    (
        "Review of the use of a reader and extra time in assessments.",
        "Record observations from subject teachers on access arrangements.",
        "Extra time of 25% to continue; SENCO to brief new staff.",
    ),
    (
        "Review of the student's use of tinted overlays to address reading fatigue.",
        "Record any change in the student's behaviour and learning outcomes.",
        "It was decided to monitor the situation and meet again in six months.",
    ),
];

#[derive(Debug)]
struct IssuedToken {
    client_id: String,
    issued_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Bucket {
    tokens: u32,
    /// When the last request came back into the bucket (or it was last full).
    refilled_at: DateTime<Utc>,
}

/// What the limits say about one request.
#[derive(Debug, Clone, Copy)]
struct Quota {
    limit: u32,
    remaining: u32,
    /// When refused: the Unix time after which to retry.
    retry_after: Option<i64>,
}

#[derive(Debug)]
struct Limits {
    tokens: HashMap<String, IssuedToken>,
    tokens_issued: usize,
    per_ip: HashMap<IpAddr, VecDeque<DateTime<Utc>>>,
    buckets: HashMap<String, Bucket>,
    rng: ChaCha8Rng,
}

/// What tests changed on the server after it started, on top of the district seed: the
/// changes a school office makes during the day.
#[derive(Debug, Default)]
struct Changes {
    /// Students who left (enrolment status `past`): off the current list and their tutor group.
    left: HashSet<usize>,
    /// Student → tutor group position, for students moved out of their seed tutor group.
    moved: HashMap<usize, usize>,
    /// (student, guardian) relations removed.
    removed_links: HashSet<(usize, usize)>,
    /// (student, date, session) → register code id, for marks changed after they were taken.
    marks: HashMap<(usize, NaiveDate, &'static str), u64>,
    /// A pupil's `form` names a form group (its own ids) instead of the tutor group, and the
    /// record carries no `tutor_group`: only the tutor group's own student list says who is in it.
    form_ids_differ: bool,
}

struct Hub {
    shared: Shared,
    district: Arc<District>,
    config: Config,
    academic_year_id: u64,
    /// Tutor group position → homeroom section index.
    tutor_groups: Vec<usize>,
    /// Section index → tutor group position.
    tutor_group_of_section: Vec<Option<usize>>,
    /// Per year group (grade): students and tutor groups.
    year_group_counts: Vec<(usize, usize)>,
    records: Vec<LsRecord>,
    reviews: Vec<LsReview>,
    /// Per student: positions in `records` and `reviews`.
    student_records: Vec<Vec<usize>>,
    student_reviews: Vec<Vec<usize>>,
    limits: Mutex<Limits>,
    changes: Mutex<Changes>,
}

/// Test controls and a view of the simulated tenant.
#[derive(Clone)]
pub struct Admin {
    hub: Arc<Hub>,
}

impl fmt::Debug for Admin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("hubmis::Admin")
            .field("realm", &self.hub.config.realm)
            .field("tokens_issued", &self.tokens_issued())
            .finish()
    }
}

impl Admin {
    pub fn client_id(&self) -> String {
        self.hub.config.client_id.clone()
    }

    pub fn client_secret(&self) -> String {
        self.hub.config.client_secret.clone()
    }

    pub fn realm(&self) -> String {
        self.hub.config.realm.clone()
    }

    /// The id the `academic-year-id` header may name (the current year).
    pub fn academic_year_id(&self) -> u64 {
        self.hub.academic_year_id
    }

    pub fn student_id(&self, student: usize) -> u64 {
        STUDENT_BASE + student as u64
    }

    pub fn contact_id(&self, guardian: usize) -> u64 {
        CONTACT_BASE + guardian as u64
    }

    pub fn staff_id(&self, staff: usize) -> u64 {
        STAFF_BASE + staff as u64
    }

    /// The tutor group of a homeroom section; `None` for other sections.
    pub fn tutor_group_id(&self, section: usize) -> Option<u64> {
        self.hub
            .tutor_group_of_section
            .get(section)
            .copied()
            .flatten()
            .map(|p| TUTOR_GROUP_BASE + p as u64)
    }

    /// Year group ids follow the district's grades: grade 0 is "Year 1", id 1.
    pub fn year_group_id(&self, grade: u8) -> u64 {
        u64::from(grade) + 1
    }

    pub fn learning_support_record_ids(&self, student: usize) -> Vec<u64> {
        self.hub
            .student_records
            .get(student)
            .map(|v| v.iter().map(|p| *p as u64 + 1).collect())
            .unwrap_or_default()
    }

    pub fn learning_support_review_ids(&self, student: usize) -> Vec<u64> {
        self.hub
            .student_reviews
            .get(student)
            .map(|v| v.iter().map(|p| *p as u64 + 1).collect())
            .unwrap_or_default()
    }

    /// Students (district indexes) with at least one learning-support record.
    pub fn students_with_learning_support(&self) -> Vec<usize> {
        (0..self.hub.student_records.len())
            .filter(|s| !self.hub.student_records[*s].is_empty())
            .collect()
    }

    pub fn tokens_issued(&self) -> usize {
        self.hub.lock().tokens_issued
    }

    /// Kills every token issued so far, as if 15 minutes had passed for them.
    pub fn expire_tokens(&self) {
        self.hub.lock().tokens.clear();
    }

    /// What is left in the configured client's bucket now.
    pub fn bucket_remaining(&self) -> u32 {
        let now = self.hub.shared.clock.now();
        let mut l = self.hub.lock();
        let id = self.hub.config.client_id.clone();
        self.hub.refill(&mut l, &id, now).tokens
    }

    /// The student leaves: enrolment status `past`, gone from the current list and from
    /// their tutor group. Contacts keep the relation (HUBmis keeps past pupils' contacts).
    pub fn leave(&self, student: usize) -> bool {
        if student >= self.hub.district.students.len() {
            return false;
        }
        self.hub.changes().left.insert(student)
    }

    /// Moves a student to another tutor group (by its id); false for an unknown one.
    pub fn move_to_tutor_group(&self, student: usize, tutor_group_id: u64) -> bool {
        let Some(pos) = tutor_group_id
            .checked_sub(TUTOR_GROUP_BASE)
            .map(|p| p as usize)
            .filter(|p| *p < self.hub.tutor_groups.len())
        else {
            return false;
        };
        if student >= self.hub.district.students.len() {
            return false;
        }
        self.hub.changes().moved.insert(student, pos);
        true
    }

    /// The tutor group a student is in now (after moves; `None` once they left).
    pub fn tutor_group_of(&self, student: usize) -> Option<u64> {
        let s = self.hub.district.students.get(student)?;
        let c = self.hub.changes();
        if c.left.contains(&student) {
            return None;
        }
        self.hub
            .tutor_pos(s, &c)
            .map(|p| TUTOR_GROUP_BASE + p as u64)
    }

    /// Removes the relation between a student and one of their contacts (the contact stays).
    pub fn remove_contact(&self, student: usize, guardian: usize) -> bool {
        let linked = self
            .hub
            .district
            .students
            .get(student)
            .is_some_and(|s| s.guardians.contains(&guardian));
        linked && self.hub.changes().removed_links.insert((student, guardian))
    }

    /// A teacher changes a session mark already taken: `code` is a register code (`"N"`, `"L"`,
    /// …). False for an unknown code or session.
    pub fn change_mark(&self, student: usize, date: NaiveDate, session: &str, code: &str) -> bool {
        let session = match session {
            "am" => "am",
            "pm" => "pm",
            _ => return false,
        };
        let Some(c) = CODES.iter().find(|c| c.1 == code) else {
            return false;
        };
        if student >= self.hub.district.students.len() {
            return false;
        }
        self.hub
            .changes()
            .marks
            .insert((student, date, session), c.0);
        true
    }

    /// From now on a pupil's record names a form group (ids from 701) rather than the tutor
    /// group (ids from 301), and carries no `tutor_group`.
    pub fn set_form_ids_differ(&self, on: bool) {
        self.hub.changes().form_ids_differ = on;
    }

    /// The form group id a pupil's record names for a tutor group once form ids differ.
    pub fn form_id_of_tutor_group(&self, tutor_group_id: u64) -> u64 {
        tutor_group_id - TUTOR_GROUP_BASE + FORM_BASE
    }

    /// Forgets every request counted against IPs and clients (tokens stay valid).
    pub fn reset_limits(&self) {
        let mut l = self.hub.lock();
        l.per_ip.clear();
        l.buckets.clear();
    }
}

/// Builds the HUBmis simulator: its router (serving `/api/v1/…`) and its controls.
pub fn build(shared: Shared, district: Arc<District>, config: Config) -> (Router, Admin) {
    let hub = Arc::new(Hub::new(shared, district, config));
    let api = Router::new()
        .route("/token", post(token))
        .route("/students", get(students))
        .route("/students/{id}", get(student))
        .route("/students/{id}/contacts", get(student_contacts))
        .route("/students/{id}/attendance", get(student_attendance))
        .route("/students/{id}/learning-support", get(student_ls_fields))
        .route(
            "/students/{id}/learning-support/records",
            get(student_ls_records),
        )
        .route(
            "/students/{id}/learning-support/reviews",
            get(student_ls_reviews),
        )
        .route("/contacts", get(contacts))
        .route("/contacts/{id}", get(contact))
        .route("/contacts/{id}/phones", get(contact_phones))
        .route("/attendance/codes", get(attendance_codes))
        .route("/learning-support/records", get(ls_records))
        .route("/learning-support/records/{id}", get(ls_record))
        .route("/learning-support/reviews/{id}", get(ls_review))
        .route("/learning-support/types", get(ls_types))
        .route("/learning-support/severities", get(ls_severities))
        .route("/learning-support/statuses", get(ls_statuses))
        .route("/learning-support/review-types", get(ls_review_types))
        .route("/year-groups", get(year_groups))
        .route("/year-groups/{id}", get(year_group))
        .route("/tutor-groups", get(tutor_groups))
        .route("/tutor-groups/{id}", get(tutor_group))
        .route("/tutor-groups/{id}/students", get(tutor_group_students));
    let router = Router::new()
        .nest(PREFIX, api)
        .fallback(|| async { HubError::not_found() })
        .layer(middleware::from_fn_with_state(hub.clone(), gate))
        .with_state(hub.clone());
    (router, Admin { hub })
}

impl Hub {
    fn new(shared: Shared, district: Arc<District>, config: Config) -> Hub {
        let d = &district;
        let mut tutor_groups = Vec::new();
        let mut tutor_group_of_section = vec![None; d.sections.len()];
        for s in d.sections.iter().filter(|s| s.is_homeroom) {
            tutor_group_of_section[s.index] = Some(tutor_groups.len());
            tutor_groups.push(s.index);
        }
        let mut year_group_counts = vec![(0usize, 0usize); d.year_groups.len()];
        for s in &d.students {
            if let Some(c) = year_group_counts.get_mut(usize::from(s.grade_in(SystemKind::Hubmis)))
            {
                c.0 += 1;
            }
        }
        for &sec in &tutor_groups {
            if let Some(c) = year_group_counts.get_mut(usize::from(d.sections[sec].grade)) {
                c.1 += 1;
            }
        }
        // The first teacher of each school coordinates its learning support.
        let sencos: Vec<usize> = d
            .schools
            .iter()
            .map(|sc| {
                d.staff
                    .iter()
                    .find(|st| st.school == sc.index)
                    .map(|st| st.index)
                    .unwrap_or(0)
            })
            .collect();
        let mut rng = ChaCha8Rng::seed_from_u64(d.seed ^ 0x4855_424d_4953);
        let mut records = Vec::new();
        let mut reviews = Vec::new();
        let mut student_records = vec![Vec::new(); d.students.len()];
        let mut student_reviews = vec![Vec::new(); d.students.len()];
        let year = d.school_year_start;
        for s in &d.students {
            if !rng.gen_bool(0.15) {
                continue;
            }
            let n = if rng.gen_bool(0.3) { 2 } else { 1 };
            for _ in 0..n {
                let status = match rng.gen_range(0..100) {
                    0..=74 => 0,
                    75..=89 => 1,
                    _ => 2,
                };
                let since = s.enrolled_on.min(year) + Duration::days(rng.gen_range(10..400));
                let ehcp = rng.gen_bool(0.12);
                let record = LsRecord {
                    student: s.index,
                    kind: rng.gen_range(0..LS_TYPES.len()),
                    severity: rng.gen_range(0..LS_SEVERITIES.len()),
                    status,
                    ehcp,
                    ehcp_date: ehcp.then(|| since + Duration::days(rng.gen_range(30..200))),
                    date: since,
                    inactive_date: (status == 2)
                        .then(|| since + Duration::days(rng.gen_range(60..300))),
                };
                student_records[s.index].push(records.len());
                records.push(record);
                for r in 0..rng.gen_range(0..=3) {
                    let day = year + Duration::days(rng.gen_range(-200..250));
                    let when = at(
                        day,
                        9 + rng.gen_range(0..7),
                        [0, 15, 30, 45][rng.gen_range(0..4)],
                    );
                    let done = day < year + Duration::days(60);
                    let status = if done {
                        1
                    } else if rng.gen_bool(0.05) {
                        2
                    } else {
                        0
                    };
                    student_reviews[s.index].push(reviews.len());
                    reviews.push(LsReview {
                        kind: if r == 0 && rng.gen_bool(0.5) {
                            0
                        } else if ehcp {
                            3
                        } else {
                            rng.gen_range(1..3)
                        },
                        status,
                        at: when,
                        next: done.then(|| when + Duration::days(rng.gen_range(90..200))),
                        student_attending: rng.gen_bool(0.6),
                        contact: s.guardians.first().copied().filter(|_| rng.gen_bool(0.8)),
                        staff: d.sections[s.homeroom].teacher,
                        senco: sencos.get(s.school).copied().unwrap_or(0),
                        text: rng.gen_range(0..REVIEW_TEXTS.len()),
                    });
                }
            }
        }
        let rng = ChaCha8Rng::seed_from_u64(d.seed ^ 0x544f_4b45_4e53);
        Hub {
            academic_year_id: (d.school_year_start.year() - 2018).max(1) as u64,
            shared,
            config,
            tutor_groups,
            tutor_group_of_section,
            year_group_counts,
            records,
            reviews,
            student_records,
            student_reviews,
            changes: Mutex::new(Changes::default()),
            limits: Mutex::new(Limits {
                tokens: HashMap::new(),
                tokens_issued: 0,
                per_ip: HashMap::new(),
                buckets: HashMap::new(),
                rng,
            }),
            district,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Limits> {
        self.limits.lock().expect("hubmis limits lock")
    }

    fn changes(&self) -> MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A student's tutor group position now (moves applied; leavers keep theirs here).
    fn tutor_pos(&self, s: &Student, c: &Changes) -> Option<usize> {
        c.moved
            .get(&s.index)
            .copied()
            .or(self.tutor_group_of_section[s.homeroom])
    }

    /// The current members of a tutor group, in district order.
    fn members(&self, pos: usize, c: &Changes) -> Vec<&Student> {
        self.district
            .students
            .iter()
            .filter(|s| !c.left.contains(&s.index) && self.tutor_pos(s, c) == Some(pos))
            .collect()
    }

    // ---- limits -------------------------------------------------------------------------

    fn ip_take(&self, l: &mut Limits, ip: IpAddr, now: DateTime<Utc>) -> Quota {
        let limit = self.config.requests_per_minute_per_ip;
        let log = l.per_ip.entry(ip).or_default();
        while log
            .front()
            .is_some_and(|t| now - *t >= Duration::minutes(1))
        {
            log.pop_front();
        }
        if log.len() >= limit as usize {
            let retry = log
                .front()
                .map(|t| *t + Duration::minutes(1))
                .unwrap_or(now + Duration::minutes(1));
            return Quota {
                limit,
                remaining: 0,
                retry_after: Some(ceil_unix(retry)),
            };
        }
        log.push_back(now);
        Quota {
            limit,
            remaining: limit - log.len() as u32,
            retry_after: None,
        }
    }

    fn refill<'a>(&self, l: &'a mut Limits, client: &str, now: DateTime<Utc>) -> &'a mut Bucket {
        let cap = self.config.client_bucket;
        let every = Duration::from_std(self.config.bucket_refill_every)
            .unwrap_or(Duration::seconds(5))
            .max(Duration::milliseconds(1));
        let b = l.buckets.entry(client.to_string()).or_insert(Bucket {
            tokens: cap,
            refilled_at: now,
        });
        if b.tokens >= cap {
            b.refilled_at = now;
        } else if now > b.refilled_at {
            let elapsed = (now - b.refilled_at).num_milliseconds();
            let n = elapsed / every.num_milliseconds();
            if n > 0 {
                b.tokens = (u64::from(b.tokens) + n as u64).min(u64::from(cap)) as u32;
                b.refilled_at += every * n as i32;
                if b.tokens >= cap {
                    b.refilled_at = now;
                }
            }
        }
        b
    }

    fn bucket_take(&self, l: &mut Limits, client: &str, now: DateTime<Utc>) -> Quota {
        let limit = self.config.client_bucket;
        let every =
            Duration::from_std(self.config.bucket_refill_every).unwrap_or(Duration::seconds(5));
        let b = self.refill(l, client, now);
        if b.tokens == 0 {
            return Quota {
                limit,
                remaining: 0,
                retry_after: Some(ceil_unix(b.refilled_at + every)),
            };
        }
        b.tokens -= 1;
        Quota {
            limit,
            remaining: b.tokens,
            retry_after: None,
        }
    }

    fn issue_token(&self, client_id: &str, now: DateTime<Utc>) -> String {
        let mut l = self.lock();
        let a: [u8; 12] = l.rng.gen();
        let b: [u8; 24] = l.rng.gen();
        l.tokens_issued += 1;
        let token = format!("{}.{}.{}", l.tokens_issued, hex::encode(a), hex::encode(b));
        // Tokens long dead are forgotten now and then, so the map stays small.
        let lifetime = self.lifetime();
        l.tokens.retain(|_, t| now - t.issued_at < lifetime * 2);
        l.tokens.insert(
            token.clone(),
            IssuedToken {
                client_id: client_id.to_string(),
                issued_at: now,
            },
        );
        token
    }

    fn lifetime(&self) -> Duration {
        Duration::from_std(self.config.token_lifetime).unwrap_or(Duration::minutes(15))
    }

    // ---- shapes -------------------------------------------------------------------------

    fn student_by_id(&self, id: &str) -> Result<&Student, HubError> {
        let n: u64 = id.parse().map_err(|_| HubError::not_found())?;
        n.checked_sub(STUDENT_BASE)
            .and_then(|i| self.district.students.get(i as usize))
            .ok_or_else(HubError::not_found)
    }

    fn contact_by_id(&self, id: &str) -> Result<&Guardian, HubError> {
        let n: u64 = id.parse().map_err(|_| HubError::not_found())?;
        n.checked_sub(CONTACT_BASE)
            .and_then(|i| self.district.guardians.get(i as usize))
            .ok_or_else(HubError::not_found)
    }

    fn academic_year(&self) -> Value {
        let y = self.district.school_year_start.year();
        json!({"id": self.academic_year_id, "name": format!("{y}/{}", (y + 1) % 100),
               "start_date": date(self.district.school_year_start),
               "end_date": date(NaiveDate::from_ymd_opt(y + 1, 7, 17).expect("valid date"))})
    }

    fn section(&self, school: usize) -> Value {
        let s = &self.district.schools[school];
        json!({"id": school as u64 + 1, "code": s.code, "name": s.name})
    }

    fn staff_ref(&self, staff: usize) -> Value {
        let s = &self.district.staff[staff];
        json!({"id": STAFF_BASE + staff as u64, "external_id": s.external_id,
               "first_name": s.given_name, "last_name": s.family_name})
    }

    fn hub_grade(s: &Student) -> u8 {
        s.grade_in(SystemKind::Hubmis)
    }

    fn year_group_ref(&self, grade: u8) -> Value {
        let name = self
            .district
            .year_groups
            .get(usize::from(grade))
            .cloned()
            .unwrap_or_else(|| format!("Year {}", grade + 1));
        json!({"id": u64::from(grade) + 1, "code": format!("Y{}", grade + 1), "name": name})
    }

    fn tutor_group_ref(&self, pos: usize) -> Value {
        let s = &self.district.sections[self.tutor_groups[pos]];
        json!({"id": TUTOR_GROUP_BASE + pos as u64, "code": s.code, "name": s.name})
    }

    fn gender(code: &str) -> Value {
        match code {
            "M" => json!({"id": 1, "name": "Male", "code": "M"}),
            "F" => json!({"id": 2, "name": "Female", "code": "F"}),
            _ => Value::Null,
        }
    }

    fn student_ref(&self, s: &Student) -> Value {
        json!({"id": STUDENT_BASE + s.index as u64, "external_id": s.external_id,
               "first_name": s.given_name, "last_name": s.family_name_in(SystemKind::Hubmis),
               "preferred_name": s.preferred_name})
    }

    fn student_json(&self, s: &Student, c: &Changes) -> Value {
        let d = &self.district;
        let id = STUDENT_BASE + s.index as u64;
        let h = mix(d.seed, &[id]);
        let house = HOUSES[(h % 4) as usize];
        let pos = self.tutor_pos(s, c);
        let tutor = pos.map(|p| self.tutor_group_ref(p));
        let form = match (pos, c.form_ids_differ) {
            (Some(p), true) => {
                let mut v = self.tutor_group_ref(p);
                v["id"] = json!(FORM_BASE + p as u64);
                Some(v)
            }
            _ => tutor.clone(),
        };
        let status = if c.left.contains(&s.index) {
            "past"
        } else {
            "current"
        };
        let summary: Vec<Value> = self.student_records[s.index]
            .iter()
            .map(|&p| {
                let r = &self.records[p];
                json!({"id": p as u64 + 1,
                       "learning_support_type": named(r.kind as u64 + 1, LS_TYPES[r.kind]),
                       "severity": named(r.severity as u64 + 1, LS_SEVERITIES[r.severity]),
                       "status": named(r.status as u64 + 1, LS_STATUSES[r.status]),
                       "ehcp": r.ehcp})
            })
            .collect();
        let access = ["invited", "active", "no_access"][(h >> 8) as usize % 3];
        let last_login = (access == "active").then(|| {
            datetime(at(
                d.school_year_start + Duration::days(((h >> 16) % 60) as i64),
                8 + ((h >> 24) % 9) as u32,
                ((h >> 32) % 60) as u32,
            ))
        });
        let mut v = json!({
            "id": id,
            "access_status": access,
            "multi_realm": false,
            "academic_house": {"id": (h % 4) + 1, "name": house.0, "code": house.1},
            "boarding_type": {"id": 1, "name": "Day"},
            "boarding_house": null,
            "country_of_birth": null,
            "date_of_birth": date(s.date_of_birth_in(SystemKind::Hubmis)),
            "deleted_at": null,
            "ethnicity": null,
            "enrolment_status": status,
            "external_id": s.external_id,
            "faith": null,
            "first_name": s.given_name,
            "gender": Hub::gender(&s.gender),
            "has_global_note": false,
            "form": form,
            "language_first": {"id": 1, "name": "English"},
            "language_second": null,
            "last_login": last_login,
            "last_name": s.family_name_in(SystemKind::Hubmis),
            "learning_support_record_summary": summary,
            "middle_name": null,
            "name_in_local_language": null,
            "national_identity": null,
            "nationalities": [],
            "person_type": "student",
            "preferred_name": s.preferred_name,
            "primary_email": s.email,
            "profile_image": null,
            "tags": [],
            "medical_condition_severity": [],
            // Beyond the documented sample: the registration groups, so a list is enough.
            "year_group": self.year_group_ref(Hub::hub_grade(s)),
            "tutor_group": tutor,
            "section": self.section(s.school),
        });
        if c.form_ids_differ {
            if let Some(m) = v.as_object_mut() {
                m.remove("tutor_group");
            }
        }
        v
    }

    fn relationship(g: &Guardian) -> Value {
        let pos = RELATIONSHIPS
            .iter()
            .position(|r| *r == g.relationship)
            .unwrap_or(RELATIONSHIPS.len() - 1);
        named(pos as u64 + 1, RELATIONSHIPS[pos])
    }

    fn parental_responsibility(g: &Guardian) -> bool {
        matches!(g.relationship.as_str(), "Mother" | "Father" | "Guardian")
    }

    fn title(&self, g: &Guardian) -> Value {
        match g.relationship.as_str() {
            "Father" | "Grandfather" => named(1, "Mr"),
            "Mother" | "Stepmother" | "Grandmother" | "Aunt" => {
                if mix(self.district.seed, &[g.index as u64]).is_multiple_of(3) {
                    named(3, "Ms")
                } else {
                    named(2, "Mrs")
                }
            }
            _ => named(4, "Mx"),
        }
    }

    fn contact_gender(g: &Guardian) -> Value {
        match g.relationship.as_str() {
            "Father" | "Grandfather" => Hub::gender("M"),
            "Mother" | "Stepmother" | "Grandmother" | "Aunt" => Hub::gender("F"),
            _ => Value::Null,
        }
    }

    /// How a guardian stands towards one child: position in the child's list, permissions.
    fn relation_fields(&self, g: &Guardian, s: &Student) -> serde_json::Map<String, Value> {
        let priority = s.guardians.iter().position(|x| *x == g.index).unwrap_or(0) + 1;
        let mut m = serde_json::Map::new();
        m.insert("relationship".into(), Hub::relationship(g));
        m.insert("priority".into(), json!(priority));
        m.insert(
            "parental_responsibility".into(),
            json!(Hub::parental_responsibility(g)),
        );
        m.insert("lives_with_student".into(), json!(priority <= 2));
        m.insert("emergency_contact".into(), json!(g.emergency_contact));
        m.insert("can_collect".into(), json!(g.can_pick_up));
        m.insert(
            "receives_correspondence".into(),
            json!(g.is_primary || priority <= 2),
        );
        m.insert(
            "receives_reports".into(),
            json!(Hub::parental_responsibility(g)),
        );
        m
    }

    fn phones(g: &Guardian) -> Value {
        json!([{"id": CONTACT_BASE + g.index as u64, "number": g.phone,
                "type": {"id": 1, "name": "Mobile"}, "is_primary": true}])
    }

    fn contact_json(&self, g: &Guardian, c: &Changes) -> Value {
        let d = &self.district;
        let students: Vec<Value> = g
            .students
            .iter()
            .filter(|&&i| !c.removed_links.contains(&(i, g.index)))
            .map(|&i| {
                let s = &d.students[i];
                let mut m = match self.student_ref(s) {
                    Value::Object(m) => m,
                    _ => unreachable!("student_ref is an object"),
                };
                m.extend(self.relation_fields(g, s));
                Value::Object(m)
            })
            .collect();
        let access = if g.is_primary { "invited" } else { "no_access" };
        json!({
            "access_status": access,
            "multi_realm": false,
            "students_access": [],
            "deleted_at": null,
            "external_id": null,
            "first_name": g.given_name,
            "gender": Hub::contact_gender(g),
            "id": CONTACT_BASE + g.index as u64,
            "last_name": g.family_name,
            "middle_name": null,
            "primary_email": g.email,
            "profile_image": null,
            "status": "active",
            "students": students,
            "title": self.title(g),
        })
    }

    fn student_contact_relation(&self, s: &Student, k: usize, g: &Guardian) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("id".into(), json!((s.index as u64 + 1) * 10 + k as u64));
        m.insert(
            "contact".into(),
            json!({"id": CONTACT_BASE + g.index as u64, "title": self.title(g),
                   "first_name": g.given_name, "last_name": g.family_name,
                   "primary_email": g.email, "phones": Hub::phones(g)}),
        );
        m.extend(self.relation_fields(g, s));
        Value::Object(m)
    }

    fn ls_record_json(&self, pos: usize) -> Value {
        let r = &self.records[pos];
        let s = &self.district.students[r.student];
        json!({
            "id": pos as u64 + 1,
            "description": format!("{} {}", LS_SEVERITIES[r.severity], LS_TYPES[r.kind]),
            "ehcp": r.ehcp,
            "ehcp_date": r.ehcp_date.map(date),
            "files": [],
            "learning_support_date": date(r.date),
            "learning_support_type": named(r.kind as u64 + 1, LS_TYPES[r.kind]),
            "severity": named(r.severity as u64 + 1, LS_SEVERITIES[r.severity]),
            "status": named(r.status as u64 + 1, LS_STATUSES[r.status]),
            "student": self.student_ref(s),
            "inactive_date": r.inactive_date.map(date),
        })
    }

    fn ls_review_json(&self, pos: usize) -> Value {
        let r = &self.reviews[pos];
        let d = &self.district;
        let (description, aims, actions) = REVIEW_TEXTS[r.text];
        let contacts: Vec<Value> = r
            .contact
            .map(|g| {
                let g = &d.guardians[g];
                json!({"id": CONTACT_BASE + g.index as u64, "first_name": g.given_name,
                       "last_name": g.family_name})
            })
            .into_iter()
            .collect();
        json!({
            "id": pos as u64 + 1,
            "agreed_actions": if r.status == 1 { json!(actions) } else { Value::Null },
            "attending_contacts": contacts,
            "attending_contact_text": null,
            "attending_staff": [self.staff_ref(r.staff)],
            "is_student_attending": r.student_attending,
            "description": description,
            "ehcp_notes": if r.kind == 3 { json!("EHCP targets reviewed") } else { json!("None") },
            "files": [],
            "meeting_aims": aims,
            "next_review": r.next.map(datetime),
            "review_type": named(r.kind as u64 + 1, LS_REVIEW_TYPES[r.kind]),
            "review_date_time": datetime(r.at),
            "special_needs_coordinators": [self.staff_ref(r.senco)],
            "review_status": named(r.status as u64 + 1, LS_REVIEW_STATUSES[r.status]),
        })
    }

    fn year_group_json(&self, grade: u8) -> Value {
        let d = &self.district;
        let n = u64::from(grade) + 1;
        let key_stage = match n {
            1..=2 => "KS1",
            3..=6 => "KS2",
            7..=9 => "KS3",
            10..=11 => "KS4",
            _ => "KS5",
        };
        let (students, groups) = self.year_group_counts[usize::from(grade)];
        let h = mix(d.seed, &[0x5947, n]);
        let h2 = splitmix(h);
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&h.to_le_bytes());
        bytes[8..].copy_from_slice(&h2.to_le_bytes());
        let section = d
            .students
            .iter()
            .find(|s| Hub::hub_grade(s) == grade)
            .map(|s| self.section(s.school));
        let mut v = self.year_group_ref(grade);
        let m = v.as_object_mut().expect("object");
        m.insert("academic_year".into(), self.academic_year());
        m.insert("dfe_year".into(), json!(n.to_string()));
        m.insert(
            "final_year".into(),
            json!(n as usize == d.year_groups.len()),
        );
        m.insert("form_count".into(), json!(groups));
        m.insert("key_stage".into(), json!(key_stage));
        m.insert("max_students".into(), json!(500));
        m.insert("position".into(), json!(n));
        m.insert("section".into(), json!(section));
        m.insert("status".into(), json!("active"));
        m.insert("total_student_count".into(), json!(students));
        m.insert(
            "uuid".into(),
            json!(uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string()),
        );
        m.insert("year_group_heads".into(), json!([]));
        v
    }

    fn tutor_group_json(&self, pos: usize) -> Value {
        let s = &self.district.sections[self.tutor_groups[pos]];
        let mut v = self.tutor_group_ref(pos);
        let m = v.as_object_mut().expect("object");
        m.insert("academic_year".into(), self.academic_year());
        m.insert("max_students".into(), json!(30));
        m.insert("rooms".into(), json!([]));
        m.insert("short_description".into(), json!(s.name));
        m.insert("staff".into(), json!([self.staff_ref(s.teacher)]));
        m.insert("staff_report_writers".into(), json!([]));
        let members = self.members(pos, &self.changes()).len();
        m.insert("student_count".into(), json!(members));
        m.insert("timetable_code".into(), json!(s.code.replace('-', "")));
        m.insert("section".into(), self.section(s.school));
        m.insert("year_group".into(), self.year_group_ref(s.grade));
        v
    }

    // ---- attendance ---------------------------------------------------------------------

    /// A student's session marks up to `now`, school days of the current school year.
    fn attendance(&self, s: &Student, now: DateTime<Utc>, c: &Changes) -> Vec<Mark> {
        let d = &self.district;
        let start = d.school_year_start.max(s.enrolled_on);
        let end =
            NaiveDate::from_ymd_opt(d.school_year_start.year() + 1, 7, 17).expect("valid date");
        let days = District::school_days(start, end.min(now.date_naive()));
        let sid = STUDENT_BASE + s.index as u64;
        let mut out = Vec::with_capacity(days.len() * 2);
        for day in days {
            let offset = (day - d.school_year_start).num_days().max(0) as u64;
            let day_roll = mix(d.seed, &[sid, offset]) % 1000;
            // Whole-day absences carry the same code in both sessions.
            let whole_day: Option<(u64, Option<&str>)> = match day_roll {
                0..=19 => Some((9, Some("Unwell, parent phoned"))),
                20..=25 => Some((11, None)),
                26..=29 => Some((12, None)),
                30..=32 => Some((6, Some("Family circumstances"))),
                33..=34 => Some((8, Some("Family holiday agreed by the head"))),
                35..=37 => Some((14, Some("Year group trip"))),
                _ => None,
            };
            for (session, hour, minute) in [("am", 8u32, 45u32), ("pm", 13, 30)] {
                let when = at(day, hour, minute);
                if when > now {
                    continue;
                }
                let roll = mix(d.seed, &[sid, offset, hour as u64]) % 1000;
                let (code, note, late) = match (whole_day, session, roll) {
                    (Some((c, n)), _, _) => (c, n, None),
                    (None, "am", 0..=29) => (3, None, Some(3 + roll % 20)),
                    (None, "am", 30..=34) => (
                        4,
                        Some("Arrived after registers closed"),
                        Some(35 + roll % 20),
                    ),
                    (None, "am", 35..=44) => (10, Some("Dentist appointment"), None),
                    (None, "am", _) => (1, None, None),
                    (None, _, 0..=4) => (13, Some("County athletics"), None),
                    (None, _, _) => (2, None, None),
                };
                let (code, note, late) = match c.marks.get(&(s.index, day, session)) {
                    Some(&changed) => (changed, None, None),
                    None => (code, note, late),
                };
                out.push(Mark {
                    id: (s.index as u64 + 1) * 1000 + offset * 2 + u64::from(session == "pm"),
                    student: sid,
                    date: day,
                    at: when,
                    session,
                    code,
                    note,
                    minutes_late: late,
                });
            }
        }
        out
    }
}

#[derive(Debug, Clone)]
struct Mark {
    id: u64,
    student: u64,
    date: NaiveDate,
    at: DateTime<Utc>,
    session: &'static str,
    code: u64,
    note: Option<&'static str>,
    minutes_late: Option<u64>,
}

impl Mark {
    fn json(&self) -> Value {
        let c = &CODES[(self.code - 1) as usize];
        json!({
            "id": self.id,
            "date": date(self.date),
            "date_time": datetime(self.at),
            "attendance_session": self.session,
            "attendance_code": {"id": c.0, "code": c.1, "name": c.2},
            "description": self.note,
            "minutes_late": self.minutes_late,
            "student": {"id": self.student},
        })
    }
}

fn code_json(c: &(u64, &str, &str, &str, bool)) -> Value {
    json!({"id": c.0, "code": c.1, "name": c.2, "description": c.2,
           "statistical_meaning": c.3, "display": c.4,
           "is_present": c.3 == "present" || c.3 == "approved_educational_activity"})
}

fn ceil_unix(t: DateTime<Utc>) -> i64 {
    let s = t.timestamp();
    if t.timestamp_subsec_nanos() > 0 {
        s + 1
    } else {
        s
    }
}

// ---- the gate: limits, method, token, realm ----------------------------------------------

fn rate_headers(response: &mut Response, q: Quota) {
    let h = response.headers_mut();
    h.insert("X-RateLimit-Limit", HeaderValue::from(q.limit));
    h.insert("X-RateLimit-Remaining", HeaderValue::from(q.remaining));
    if let Some(at) = q.retry_after {
        h.insert("X-RateLimit-Retry-After", HeaderValue::from(at));
    }
}

fn refused(q: Quota) -> Response {
    let mut r = HubError::new(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.").into_response();
    rate_headers(&mut r, q);
    r
}

fn with_headers(e: HubError, q: Quota) -> Response {
    let mut r = e.into_response();
    rate_headers(&mut r, q);
    r
}

/// The quota closer to refusing is the one reported.
fn binding(a: Quota, b: Quota) -> Quota {
    if b.remaining < a.remaining {
        b
    } else {
        a
    }
}

async fn gate(State(hub): State<Arc<Hub>>, req: Request, next: Next) -> Response {
    match admit(&hub, &req) {
        Ok(quota) => {
            let mut r = next.run(req).await;
            rate_headers(&mut r, quota);
            r
        }
        Err(refusal) => *refusal,
    }
}

/// Everything checked before a request reaches its route, in this order: the IP limit, the
/// method (read-only API), the token, the client's bucket, the realm, the academic year.
/// `Ok` carries the quota to report on the reply.
fn admit(hub: &Hub, req: &Request) -> Result<Quota, Box<Response>> {
    let now = hub.shared.clock.now();
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let is_token = req.uri().path() == format!("{PREFIX}/token");
    let mut l = hub.lock();
    let ip_quota = hub.ip_take(&mut l, ip, now);
    if ip_quota.retry_after.is_some() {
        return Err(Box::new(refused(ip_quota)));
    }
    let method_ok = if is_token {
        req.method() == Method::POST
    } else {
        req.method() == Method::GET || req.method() == Method::HEAD
    };
    if !method_ok {
        let allowed = if is_token { "POST" } else { "GET, HEAD" };
        let mut r = with_headers(
            HubError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!(
                    "The {} method is not supported for this route. Supported methods: {allowed}.",
                    req.method()
                ),
            ),
            ip_quota,
        );
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allowed));
        return Err(Box::new(r));
    }
    if is_token {
        return Ok(ip_quota);
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let lifetime = hub.lifetime();
    let client = bearer
        .and_then(|t| l.tokens.get(t))
        .filter(|t| now - t.issued_at < lifetime)
        .map(|t| t.client_id.clone());
    let Some(client) = client else {
        let mut r = with_headers(
            HubError::new(StatusCode::UNAUTHORIZED, "Unauthenticated."),
            ip_quota,
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return Err(Box::new(r));
    };
    let bucket_quota = hub.bucket_take(&mut l, &client, now);
    drop(l);
    if bucket_quota.retry_after.is_some() {
        return Err(Box::new(refused(bucket_quota)));
    }
    let quota = binding(ip_quota, bucket_quota);
    match req.headers().get("realm").map(|v| v.to_str().unwrap_or("")) {
        None | Some("") => {
            return Err(Box::new(with_headers(
                HubError::bad("The Realm header is required."),
                quota,
            )));
        }
        Some(r) if r != hub.config.realm => {
            return Err(Box::new(with_headers(
                HubError::new(
                    StatusCode::FORBIDDEN,
                    format!("This client does not have access to realm '{r}'."),
                ),
                quota,
            )));
        }
        Some(_) => {}
    }
    if let Some(v) = req.headers().get("academic-year-id") {
        match v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) {
            None => {
                return Err(Box::new(with_headers(
                    HubError::bad("The academic-year-id header must be an integer."),
                    quota,
                )))
            }
            Some(y) if y != hub.academic_year_id => {
                return Err(Box::new(with_headers(
                    HubError::new(
                        StatusCode::NOT_FOUND,
                        format!("Academic year {y} not found."),
                    ),
                    quota,
                )))
            }
            Some(_) => {}
        }
    }
    Ok(quota)
}

// ---- token --------------------------------------------------------------------------------

async fn token(State(hub): State<Arc<Hub>>, req: Request) -> Response {
    let is_json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let fields: Vec<(String, String)> = if is_json {
        match Json::<Value>::from_request(req, &()).await {
            Ok(Json(Value::Object(m))) => m
                .into_iter()
                .map(|(k, v)| {
                    (
                        k,
                        v.as_str()
                            .map(str::to_string)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect(),
            _ => Vec::new(),
        }
    } else {
        match Form::<Vec<(String, String)>>::from_request(req, &()).await {
            Ok(Form(f)) => f,
            Err(_) => Vec::new(),
        }
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let Some(grant) = field("grant_type") else {
        return HubError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter: grant_type.",
        )
        .into_response();
    };
    if grant != "client_credentials" {
        return HubError::oauth(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )
        .into_response();
    }
    let (Some(id), Some(secret)) = (field("client_id"), field("client_secret")) else {
        return HubError::oauth(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "The request is missing a required parameter: client_id and client_secret.",
        )
        .into_response();
    };
    if id != hub.config.client_id || secret != hub.config.client_secret {
        return HubError::oauth(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed",
        )
        .into_response();
    }
    let now = hub.shared.clock.now();
    let token = hub.issue_token(id, now);
    Json(json!({
        "token_type": "Bearer",
        "expires_in": hub.config.advertised_expires_in,
        "access_token": token,
    }))
    .into_response()
}

// ---- list queries -------------------------------------------------------------------------

/// What a list route accepts.
struct ListSpec {
    filters: &'static [&'static str],
    sorts: &'static [&'static str],
    paged: bool,
}

struct ListQuery {
    filters: BTreeMap<String, String>,
    sorts: Vec<(&'static str, bool)>,
    search: Option<String>,
    page: Option<(usize, usize)>,
}

fn norm(key: &str) -> String {
    key.chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect()
}

impl ListQuery {
    fn parse(
        query: Result<Query<Vec<(String, String)>>, QueryRejection>,
        spec: &ListSpec,
        config: &Config,
    ) -> Result<ListQuery, HubError> {
        let pairs = query
            .map_err(|e| HubError::bad(format!("Cannot read the query string: {e}")))?
            .0;
        let mut q = ListQuery {
            filters: BTreeMap::new(),
            sorts: Vec::new(),
            search: None,
            page: None,
        };
        let mut unknown_filters = Vec::new();
        let mut unknown_sorts = Vec::new();
        let mut number = None;
        let mut size = None;
        for (k, v) in pairs {
            if let Some(rest) = k.strip_prefix("filter[") {
                let name = rest.replace("][", ".").trim_end_matches(']').to_string();
                if spec.filters.contains(&name.as_str()) {
                    q.filters.insert(name, v);
                } else {
                    unknown_filters.push(name);
                }
            } else if let Some(rest) = k.strip_prefix("sort[") {
                let field = rest.trim_end_matches(']');
                let Some(known) = spec.sorts.iter().find(|s| norm(s) == norm(field)) else {
                    unknown_sorts.push(field.to_string());
                    continue;
                };
                let desc = match v.to_ascii_lowercase().as_str() {
                    "asc" => false,
                    "desc" => true,
                    _ => {
                        return Err(HubError::bad(format!(
                            "Sort direction for `{field}` must be asc or desc."
                        )))
                    }
                };
                q.sorts.push((known, desc));
            } else if k == "search" {
                q.search = Some(v.to_lowercase()).filter(|s| !s.is_empty());
            } else if k == "page[number]" {
                number = Some(v);
            } else if k == "page[size]" {
                size = Some(v);
            }
        }
        if !unknown_filters.is_empty() {
            return Err(HubError::bad(format!(
                "Requested filter(s) `{}` are not allowed. Allowed filter(s) are `{}`.",
                unknown_filters.join(", "),
                spec.filters.join(", ")
            )));
        }
        if !unknown_sorts.is_empty() {
            return Err(HubError::bad(format!(
                "Requested sort(s) `{}` is not allowed. Allowed sort(s) are `{}`.",
                unknown_sorts.join(", "),
                spec.sorts.join(", ")
            )));
        }
        if spec.paged {
            let number = match number {
                None => 1,
                Some(v) => v.parse::<usize>().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    HubError::invalid(
                        "page.number",
                        "The page.number must be an integer of at least 1.",
                    )
                })?,
            };
            let max = config.max_page_size.max(1);
            let size = match size {
                None => config.default_page_size.clamp(1, max),
                Some(v) => v
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        HubError::invalid(
                            "page.size",
                            format!("The page.size must be an integer between 1 and {max}."),
                        )
                    })?,
            };
            q.page = Some((number, size));
        }
        Ok(q)
    }

    fn int(&self, name: &str) -> Result<Option<u64>, HubError> {
        match self.filters.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                HubError::invalid(
                    &format!("filter.{name}"),
                    format!("The filter.{name} must be an integer."),
                )
            }),
        }
    }

    fn boolean(&self, name: &str) -> Result<Option<bool>, HubError> {
        match self.filters.get(name).map(|v| v.to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) => match v.as_str() {
                "true" | "1" => Ok(Some(true)),
                "false" | "0" => Ok(Some(false)),
                _ => Err(HubError::invalid(
                    &format!("filter.{name}"),
                    format!("The filter.{name} field must be true or false."),
                )),
            },
        }
    }

    fn matches_search(&self, fields: &[&str]) -> bool {
        match &self.search {
            None => true,
            Some(s) => fields.iter().any(|f| f.to_lowercase().contains(s.as_str())),
        }
    }

    /// Sorts (stable, so the default id order breaks ties), then cuts the page.
    fn finish<T>(&self, mut items: Vec<T>, key: impl Fn(&T, &str) -> SortKey) -> Vec<T> {
        if !self.sorts.is_empty() {
            items.sort_by(|a, b| {
                self.sorts
                    .iter()
                    .map(|(field, desc)| {
                        let o = key(a, field).cmp(&key(b, field));
                        if *desc {
                            o.reverse()
                        } else {
                            o
                        }
                    })
                    .find(|o| *o != Ordering::Equal)
                    .unwrap_or(Ordering::Equal)
            });
        }
        match self.page {
            None => items,
            Some((number, size)) => items
                .into_iter()
                .skip((number - 1).saturating_mul(size))
                .take(size)
                .collect(),
        }
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Missing,
    Num(i64),
    Text(String),
}

fn text(s: &str) -> SortKey {
    SortKey::Text(s.to_lowercase())
}

fn list(items: Vec<Value>) -> HubResult {
    Ok(Json(Value::Array(items)))
}

type Q = Result<Query<Vec<(String, String)>>, QueryRejection>;

// ---- students -----------------------------------------------------------------------------

const STUDENT_LIST: ListSpec = ListSpec {
    filters: &[
        "enrolmentStatus",
        "yearGroup",
        "tutorGroup",
        "form",
        "gender",
        "academicYear",
        "house",
        "boardingType",
    ],
    sorts: &[
        "id",
        "firstName",
        "lastName",
        "preferredName",
        "dateOfBirth",
        "externalId",
        "yearGroup",
        "form",
    ],
    paged: true,
};

fn student_sort(hub: &Hub, s: &Student, field: &str) -> SortKey {
    match field {
        "id" => SortKey::Num(s.index as i64),
        "firstName" => text(&s.given_name),
        "lastName" => text(s.family_name_in(SystemKind::Hubmis)),
        "preferredName" => s.preferred_name.as_deref().map_or(SortKey::Missing, text),
        "dateOfBirth" => text(&date(s.date_of_birth_in(SystemKind::Hubmis))),
        "externalId" => text(&s.external_id),
        "yearGroup" => SortKey::Num(i64::from(Hub::hub_grade(s))),
        "form" => hub.tutor_group_of_section[s.homeroom]
            .map_or(SortKey::Missing, |p| SortKey::Num(p as i64)),
        _ => SortKey::Missing,
    }
}

async fn students(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    let q = ListQuery::parse(query, &STUDENT_LIST, &hub.config)?;
    if let Some(v) = q.filters.get("enrolmentStatus") {
        if !["current", "past", "applicant"].contains(&v.as_str()) {
            return Err(HubError::invalid(
                "filter.enrolmentStatus",
                "The filter.enrolmentStatus must be one of current, past or applicant.",
            ));
        }
    }
    // Applicants are never listed; past pupils are the ones who left.
    let only_current = q
        .filters
        .get("enrolmentStatus")
        .is_none_or(|v| v == "current");
    if q.filters.get("enrolmentStatus").map(String::as_str) == Some("applicant") {
        return list(Vec::new());
    }
    let changes = hub.changes();
    let year_group = q.int("yearGroup")?;
    let tutor = q.int("tutorGroup")?;
    let form = q.int("form")?;
    let gender = q.int("gender")?;
    let academic_year = q.filters.get("academicYear").map(|v| v.trim().to_string());
    let house = q.filters.get("house").map(|v| v.trim().to_string());
    let boarding = q.int("boardingType")?;
    let d = &hub.district;
    let ay_ok = academic_year.is_none_or(|y| y == hub.academic_year_id.to_string());
    let picked: Vec<&Student> = d
        .students
        .iter()
        .filter(|s| ay_ok && only_current != changes.left.contains(&s.index))
        .filter(|s| year_group.is_none_or(|y| u64::from(Hub::hub_grade(s)) + 1 == y))
        .filter(|s| {
            let pos = hub.tutor_pos(s, &changes).map(|p| p as u64);
            let tg = pos.map(|p| TUTOR_GROUP_BASE + p);
            let fg = if changes.form_ids_differ {
                pos.map(|p| FORM_BASE + p)
            } else {
                tg
            };
            tutor.is_none_or(|t| tg == Some(t)) && form.is_none_or(|f| fg == Some(f))
        })
        .filter(|s| gender.is_none_or(|g| matches!((g, s.gender.as_str()), (1, "M") | (2, "F"))))
        .filter(|s| {
            house.as_deref().is_none_or(|h| {
                (mix(d.seed, &[STUDENT_BASE + s.index as u64]) % 4 + 1).to_string() == h
            })
        })
        .filter(|_| boarding.is_none_or(|b| b == 1))
        .filter(|s| {
            q.matches_search(&[
                &s.given_name,
                s.family_name_in(SystemKind::Hubmis),
                s.preferred_name.as_deref().unwrap_or(""),
                &s.external_id,
                &s.email,
            ])
        })
        .collect();
    let page = q.finish(picked, |s, f| student_sort(&hub, s, f));
    list(
        page.into_iter()
            .map(|s| hub.student_json(s, &changes))
            .collect(),
    )
}

async fn student(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let s = hub.student_by_id(&id)?;
    Ok(Json(hub.student_json(s, &hub.changes())))
}

async fn student_contacts(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let s = hub.student_by_id(&id)?;
    let changes = hub.changes();
    list(
        s.guardians
            .iter()
            .enumerate()
            .filter(|(_, &g)| !changes.removed_links.contains(&(s.index, g)))
            .map(|(k, &g)| hub.student_contact_relation(s, k, &hub.district.guardians[g]))
            .collect(),
    )
}

const ATTENDANCE_LIST: ListSpec = ListSpec {
    filters: &[
        "attendanceCode",
        "attendanceSession",
        "dateTime.from",
        "dateTime.to",
    ],
    sorts: &["description", "date", "attendanceCode", "attendanceSession"],
    paged: false,
};

/// A `filter[dateTime][…]` bound: a date-time, or a plain date (the whole day).
fn time_bound(
    q: &ListQuery,
    name: &str,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, HubError> {
    let Some(v) = q.filters.get(name) else {
        return Ok(None);
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(v.trim()) {
        return Ok(Some(t.with_timezone(&Utc)));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(v.trim(), f) {
            return Ok(Some(Utc.from_utc_datetime(&t)));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") {
        return Ok(Some(if end_of_day {
            at(d, 23, 59) + Duration::seconds(59)
        } else {
            at(d, 0, 0)
        }));
    }
    let field = format!("filter.{name}");
    Err(HubError::invalid(
        &field,
        format!("The {field} must be a valid date-time (e.g. 2025-09-01T00:00:00Z)."),
    ))
}

async fn student_attendance(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    query: Q,
) -> HubResult {
    let s = hub.student_by_id(&id)?;
    let q = ListQuery::parse(query, &ATTENDANCE_LIST, &hub.config)?;
    let code = q.int("attendanceCode")?;
    let session = q
        .filters
        .get("attendanceSession")
        .map(|v| v.to_ascii_lowercase());
    if let Some(v) = &session {
        if v != "am" && v != "pm" {
            return Err(HubError::invalid(
                "filter.attendanceSession",
                "The filter.attendanceSession must be am or pm.",
            ));
        }
    }
    let from = time_bound(&q, "dateTime.from", false)?;
    let to = time_bound(&q, "dateTime.to", true)?;
    let now = hub.shared.clock.now();
    let marks: Vec<Mark> = hub
        .attendance(s, now, &hub.changes())
        .into_iter()
        .filter(|m| code.is_none_or(|c| m.code == c))
        .filter(|m| session.as_deref().is_none_or(|v| m.session == v))
        .filter(|m| from.is_none_or(|f| m.at >= f))
        .filter(|m| to.is_none_or(|t| m.at <= t))
        .collect();
    let marks = q.finish(marks, |m, f| match f {
        "description" => m.note.map_or(SortKey::Missing, text),
        "date" => SortKey::Num(m.at.timestamp()),
        "attendanceCode" => text(CODES[(m.code - 1) as usize].1),
        "attendanceSession" => text(m.session),
        _ => SortKey::Missing,
    });
    list(marks.iter().map(Mark::json).collect())
}

// ---- learning support ---------------------------------------------------------------------

const RECORD_SORTS: &[&str] = &[
    "id",
    "description",
    "learningSupportDate",
    "ehcpDate",
    "learningSupportType",
    "severity",
    "status",
];

fn record_sort(hub: &Hub, pos: &usize, field: &str) -> SortKey {
    let r = &hub.records[*pos];
    match field {
        "id" => SortKey::Num(*pos as i64),
        "description" => text(&format!(
            "{} {}",
            LS_SEVERITIES[r.severity], LS_TYPES[r.kind]
        )),
        "learningSupportDate" => text(&date(r.date)),
        "ehcpDate" => r.ehcp_date.map_or(SortKey::Missing, |d| text(&date(d))),
        "learningSupportType" => text(LS_TYPES[r.kind]),
        "severity" => SortKey::Num(r.severity as i64),
        "status" => SortKey::Num(r.status as i64),
        _ => SortKey::Missing,
    }
}

const LS_RECORD_LIST: ListSpec = ListSpec {
    filters: &["yearGroup"],
    sorts: RECORD_SORTS,
    paged: true,
};

async fn ls_records(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    let q = ListQuery::parse(query, &LS_RECORD_LIST, &hub.config)?;
    let year_group = q.int("yearGroup")?;
    let d = &hub.district;
    let picked: Vec<usize> = (0..hub.records.len())
        .filter(|p| {
            let s = &d.students[hub.records[*p].student];
            year_group.is_none_or(|y| u64::from(Hub::hub_grade(s)) + 1 == y)
                && q.matches_search(&[
                    &s.given_name,
                    s.family_name_in(SystemKind::Hubmis),
                    &s.external_id,
                    LS_TYPES[hub.records[*p].kind],
                ])
        })
        .collect();
    let page = q.finish(picked, |p, f| record_sort(&hub, p, f));
    list(page.into_iter().map(|p| hub.ls_record_json(p)).collect())
}

const STUDENT_RECORD_LIST: ListSpec = ListSpec {
    filters: &["status", "ehcp", "severity", "learningSupportType"],
    sorts: RECORD_SORTS,
    paged: true,
};

async fn student_ls_records(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    query: Q,
) -> HubResult {
    let s = hub.student_by_id(&id)?;
    let q = ListQuery::parse(query, &STUDENT_RECORD_LIST, &hub.config)?;
    let status = q.int("status")?;
    let ehcp = q.boolean("ehcp")?;
    let severity = q.int("severity")?;
    let kind = q.int("learningSupportType")?;
    let picked: Vec<usize> = hub.student_records[s.index]
        .iter()
        .copied()
        .filter(|p| {
            let r = &hub.records[*p];
            status.is_none_or(|v| r.status as u64 + 1 == v)
                && ehcp.is_none_or(|v| r.ehcp == v)
                && severity.is_none_or(|v| r.severity as u64 + 1 == v)
                && kind.is_none_or(|v| r.kind as u64 + 1 == v)
                && q.matches_search(&[LS_TYPES[r.kind], LS_SEVERITIES[r.severity]])
        })
        .collect();
    let page = q.finish(picked, |p, f| record_sort(&hub, p, f));
    list(page.into_iter().map(|p| hub.ls_record_json(p)).collect())
}

const STUDENT_REVIEW_LIST: ListSpec = ListSpec {
    filters: &["status", "reviewType", "isStudentAttending"],
    sorts: &[
        "id",
        "description",
        "reviewDateTime",
        "nextReview",
        "reviewType",
        "reviewStatus",
    ],
    paged: true,
};

async fn student_ls_reviews(
    State(hub): State<Arc<Hub>>,
    Path(id): Path<String>,
    query: Q,
) -> HubResult {
    let s = hub.student_by_id(&id)?;
    let q = ListQuery::parse(query, &STUDENT_REVIEW_LIST, &hub.config)?;
    let status = q.int("status")?;
    let kind = q.int("reviewType")?;
    let attending = q.boolean("isStudentAttending")?;
    let picked: Vec<usize> = hub.student_reviews[s.index]
        .iter()
        .copied()
        .filter(|p| {
            let r = &hub.reviews[*p];
            status.is_none_or(|v| r.status as u64 + 1 == v)
                && kind.is_none_or(|v| r.kind as u64 + 1 == v)
                && attending.is_none_or(|v| r.student_attending == v)
                && q.matches_search(&[REVIEW_TEXTS[r.text].0, LS_REVIEW_TYPES[r.kind]])
        })
        .collect();
    let page = q.finish(picked, |p, f| {
        let r = &hub.reviews[*p];
        match f {
            "id" => SortKey::Num(*p as i64),
            "description" => text(REVIEW_TEXTS[r.text].0),
            "reviewDateTime" => SortKey::Num(r.at.timestamp()),
            "nextReview" => r
                .next
                .map_or(SortKey::Missing, |t| SortKey::Num(t.timestamp())),
            "reviewType" => SortKey::Num(r.kind as i64),
            "reviewStatus" => SortKey::Num(r.status as i64),
            _ => SortKey::Missing,
        }
    });
    list(page.into_iter().map(|p| hub.ls_review_json(p)).collect())
}

async fn student_ls_fields(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let s = hub.student_by_id(&id)?;
    let d = &hub.district;
    let records: Vec<&LsRecord> = hub.student_records[s.index]
        .iter()
        .map(|p| &hub.records[*p])
        .collect();
    let disability = records
        .iter()
        .find(|r| matches!(LS_TYPES[r.kind], "Hearing Impairment" | "Visual Impairment"));
    let placement = records.iter().map(|r| r.date).min();
    let school = &d.schools[s.school];
    Ok(Json(json!({
        "authority": if records.is_empty() { Value::Null } else {
            json!({"id": s.school as u64 + 1, "name": format!("{} Local Authority", school.name.split(' ').next().unwrap_or("County"))})
        },
        "authority_type": if records.is_empty() { Value::Null } else { named(1, "Local Authority") },
        "disability": disability.is_some(),
        "disability_description": disability.map(|r| LS_TYPES[r.kind]),
        "placement_date": placement.map(date),
    })))
}

async fn ls_record(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let pos = id
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|p| *p < hub.records.len())
        .ok_or_else(HubError::not_found)?;
    Ok(Json(hub.ls_record_json(pos)))
}

async fn ls_review(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let pos = id
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|p| *p < hub.reviews.len())
        .ok_or_else(HubError::not_found)?;
    Ok(Json(hub.ls_review_json(pos)))
}

const LOOKUP_LIST: ListSpec = ListSpec {
    filters: &[],
    sorts: &[],
    paged: true,
};

fn lookup(hub: &Hub, query: Q, names: &[&str], paged: bool) -> HubResult {
    let spec = ListSpec {
        paged,
        ..LOOKUP_LIST
    };
    let q = ListQuery::parse(query, &spec, &hub.config)?;
    let items: Vec<Value> = names
        .iter()
        .enumerate()
        .map(|(i, n)| json!({"id": i as u64 + 1, "name": n, "position": i + 1}))
        .collect();
    list(q.finish(items, |_, _| SortKey::Missing))
}

async fn ls_types(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    lookup(&hub, query, &LS_TYPES, true)
}

async fn ls_severities(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    lookup(&hub, query, &LS_SEVERITIES, true)
}

async fn ls_statuses(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    lookup(&hub, query, &LS_STATUSES, false)
}

async fn ls_review_types(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    lookup(&hub, query, &LS_REVIEW_TYPES, true)
}

// ---- contacts, codes, groups --------------------------------------------------------------

const CONTACT_LIST: ListSpec = ListSpec {
    filters: &["status"],
    sorts: &[],
    paged: true,
};

async fn contacts(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    let q = ListQuery::parse(query, &CONTACT_LIST, &hub.config)?;
    let status = q.int("status")?;
    let picked: Vec<&Guardian> = hub
        .district
        .guardians
        .iter()
        .filter(|_| status.is_none_or(|s| s == 1))
        .filter(|g| q.matches_search(&[&g.given_name, &g.family_name, &g.email]))
        .collect();
    let page = q.finish(picked, |_, _| SortKey::Missing);
    let changes = hub.changes();
    list(
        page.into_iter()
            .map(|g| hub.contact_json(g, &changes))
            .collect(),
    )
}

async fn contact(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let g = hub.contact_by_id(&id)?;
    Ok(Json(hub.contact_json(g, &hub.changes())))
}

async fn contact_phones(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let g = hub.contact_by_id(&id)?;
    Ok(Json(Hub::phones(g)))
}

const CODE_LIST: ListSpec = ListSpec {
    filters: &["display"],
    sorts: &[],
    paged: false,
};

async fn attendance_codes(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    let q = ListQuery::parse(query, &CODE_LIST, &hub.config)?;
    let display = q.boolean("display")?;
    list(
        CODES
            .iter()
            .filter(|c| display.is_none_or(|d| c.4 == d))
            .map(code_json)
            .collect(),
    )
}

const YEAR_GROUP_LIST: ListSpec = ListSpec {
    filters: &["section"],
    sorts: &["name", "position"],
    paged: false,
};

async fn year_groups(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    let q = ListQuery::parse(query, &YEAR_GROUP_LIST, &hub.config)?;
    let section = q.int("section")?;
    let d = &hub.district;
    let grades: Vec<u8> = (0..d.year_groups.len() as u8)
        .filter(|g| {
            section.is_none_or(|sec| {
                d.students
                    .iter()
                    .any(|s| Hub::hub_grade(s) == *g && s.school as u64 + 1 == sec)
            })
        })
        .collect();
    let grades = q.finish(grades, |g, f| match f {
        "name" => text(&d.year_groups[usize::from(*g)]),
        _ => SortKey::Num(i64::from(*g)),
    });
    list(grades.into_iter().map(|g| hub.year_group_json(g)).collect())
}

async fn year_group(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let grade = id
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_sub(1))
        .filter(|g| *g < hub.district.year_groups.len())
        .ok_or_else(HubError::not_found)?;
    Ok(Json(hub.year_group_json(grade as u8)))
}

const TUTOR_GROUP_LIST: ListSpec = ListSpec {
    filters: &["section", "yearGroup"],
    sorts: &["name", "code"],
    paged: false,
};

async fn tutor_groups(State(hub): State<Arc<Hub>>, query: Q) -> HubResult {
    let q = ListQuery::parse(query, &TUTOR_GROUP_LIST, &hub.config)?;
    let section = q.int("section")?;
    let year_group = q.int("yearGroup")?;
    let d = &hub.district;
    let picked: Vec<usize> = (0..hub.tutor_groups.len())
        .filter(|p| {
            let s = &d.sections[hub.tutor_groups[*p]];
            section.is_none_or(|v| s.school as u64 + 1 == v)
                && year_group.is_none_or(|v| u64::from(s.grade) + 1 == v)
                && q.matches_search(&[&s.name, &s.code])
        })
        .collect();
    let picked = q.finish(picked, |p, f| {
        let s = &d.sections[hub.tutor_groups[*p]];
        match f {
            "code" => text(&s.code),
            _ => text(&s.name),
        }
    });
    list(
        picked
            .into_iter()
            .map(|p| hub.tutor_group_json(p))
            .collect(),
    )
}

fn tutor_group_pos(hub: &Hub, id: &str) -> Result<usize, HubError> {
    id.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_sub(TUTOR_GROUP_BASE))
        .map(|p| p as usize)
        .filter(|p| *p < hub.tutor_groups.len())
        .ok_or_else(HubError::not_found)
}

async fn tutor_group(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let pos = tutor_group_pos(&hub, &id)?;
    Ok(Json(hub.tutor_group_json(pos)))
}

async fn tutor_group_students(State(hub): State<Arc<Hub>>, Path(id): Path<String>) -> HubResult {
    let pos = tutor_group_pos(&hub, &id)?;
    let changes = hub.changes();
    list(
        hub.members(pos, &changes)
            .into_iter()
            .map(|s| hub.student_json(s, &changes))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_refills_one_request_per_interval() {
        let config = Config {
            client_bucket: 3,
            ..Config::default()
        };
        let d = Arc::new(crate::data::generate(1, 50));
        let hub = Hub::new(Shared::default(), d, config);
        let t0 = Utc.with_ymd_and_hms(2025, 10, 1, 9, 0, 0).unwrap();
        let mut l = hub.lock();
        for left in [2, 1, 0] {
            assert_eq!(hub.bucket_take(&mut l, "c", t0).remaining, left);
        }
        let refused = hub.bucket_take(&mut l, "c", t0 + Duration::seconds(4));
        assert_eq!(refused.retry_after, Some(t0.timestamp() + 5));
        let q = hub.bucket_take(&mut l, "c", t0 + Duration::seconds(5));
        assert_eq!((q.remaining, q.retry_after), (0, None));
        let q = hub.bucket_take(&mut l, "c", t0 + Duration::seconds(60));
        assert_eq!(q.remaining, 2);
    }

    #[test]
    fn filters_nest_and_unknown_ones_are_refused() {
        let config = Config::default();
        let q = ListQuery::parse(
            Ok(Query(vec![
                ("filter[dateTime][from]".into(), "2025-09-01".into()),
                ("sort[date]".into(), "desc".into()),
            ])),
            &ATTENDANCE_LIST,
            &config,
        )
        .unwrap();
        assert_eq!(
            q.filters.get("dateTime.from").map(String::as_str),
            Some("2025-09-01")
        );
        assert_eq!(q.sorts, vec![("date", true)]);
        let err = ListQuery::parse(
            Ok(Query(vec![("filter[colour]".into(), "red".into())])),
            &ATTENDANCE_LIST,
            &config,
        )
        .err()
        .unwrap();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
    }
}
