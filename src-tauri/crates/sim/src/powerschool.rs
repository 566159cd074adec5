//! PowerSchool Enrollment (formerly InfoSnap) API v1, as its document and `CONTRACT.md`
//! describe it: routes under `/api/v1` behind HTTP Basic (the API key as user name, an
//! empty password), a health check at `/api/healthz`, bad credentials answered with **500**,
//! list pages wrapped in an array of one object, single records as an array of one, and
//! delivery batches that change server state.
//!
//! The district's students are the roster of published action 101 ("Returning Student
//! Registration"); about 60% have submitted their form, and three in four submissions are
//! approved, which puts them in the delivery pool of both delivery targets. Published
//! action 102 ("New Student Enrollment") starts empty and receives `POST /submission`.
//!
//! Choices where the document is silent:
//! - `pagesize` above [`Config::max_page_size`] is served as that size (the metadata says so);
//!   a `page` or `pagesize` that is not a positive number answers 400.
//! - `createbatch` takes at most [`Config::batch_size`] records; an empty pool answers an
//!   empty batch that is not stored. A new batch is `AutoOpen` and closes the previous one.
//! - `getbatches/{date}` lists batches created on or after that date (UTC); the
//!   `getAutoOpen` flag may follow the date directly (`2026-09-01true`), as a path segment
//!   (`2026-09-01/true`) or as a query (`?getAutoOpen=true`).
//! - Checklist items with a file carry `documentObjectId`, the id `documents/{objectId}`
//!   takes. The URL it answers points at `/blobs/…` on this simulator, signed like an Azure
//!   SAS URL and refused (403, Azure's XML error) once [`Config::document_url_ttl`] has
//!   passed on the simulator clock.
//! - `POST /submission` answers 200 `{"status","errors","submissionRecordId"}`.

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::data::{derived_uuid, grade_label, mix, District, Student};
use crate::{blobs, Shared, SystemKind, WriteRecord};

const SYSTEM: SystemKind = SystemKind::PowerSchool;

/// The key of [`Config::default`].
pub const DEFAULT_KEY: &str = "7d3f6a2e-5b1c-4e8a-9f0d-2c6b8e4a1f37";
/// What every failed Basic authentication answers, with status 500.
pub const NOT_AUTHORIZED: &str = "You are not authorized to access this resource.";
pub const SOFTWARE_VERSION: &str = "19.5.1.0";

/// The published action whose roster is the district's students.
pub const RETURNING_ACTION: u64 = 101;
/// The published action for new families; starts with no records.
pub const NEW_ACTION: u64 = 102;
/// Delivery targets.
pub const TARGETS: [(u64, &str); 2] = [
    (301, "SIS Export - Student Demographics"),
    (302, "Health Office"),
];
/// Checklists: new-student documents and health forms.
pub const DOCUMENTS_CHECKLIST: u64 = 435;
pub const HEALTH_CHECKLIST: u64 = 477;

#[derive(Clone, Debug)]
pub struct Config {
    /// The API key (Basic user name).
    pub api_key: String,
    /// Most records one `createbatch` delivers.
    pub batch_size: usize,
    /// How long a document URL stays valid (simulator clock).
    pub document_url_ttl: std::time::Duration,
    /// Largest `pagesize` served.
    pub max_page_size: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            api_key: DEFAULT_KEY.to_string(),
            batch_size: 200,
            document_url_ttl: std::time::Duration::from_secs(120),
            max_page_size: 500,
        }
    }
}

/// A delivery batch as the server keeps it.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchInfo {
    pub id: String,
    pub target: u64,
    pub date: DateTime<Utc>,
    /// Submission record ids delivered in it.
    pub records: Vec<u64>,
    /// `AutoOpen`, `Closed` or `Reset`.
    pub status: String,
}

struct Schema {
    id: u64,
    action: u64,
    title: &'static str,
    fields: &'static [&'static str],
    required: &'static [&'static str],
}

const STUDENT_FIELDS: &[&str] = &[
    "stu_FirstName",
    "stu_MiddleName",
    "stu_LastName",
    "stu_ExternalID",
    "stu_DateOfBirth",
    "stu_Grade",
    "stu_Gender",
    "stu_Email",
    "fam_ExternalID",
];

const SCHEMAS: [Schema; 3] = [
    Schema {
        id: 1,
        action: RETURNING_ACTION,
        title: "Returning students",
        fields: STUDENT_FIELDS,
        required: &["stu_FirstName", "stu_LastName", "stu_ExternalID"],
    },
    Schema {
        id: 2,
        action: RETURNING_ACTION,
        title: "Primary contact update",
        fields: &[
            "stu_ExternalID",
            "par1_FirstName",
            "par1_LastName",
            "par1_Email",
            "par1_Phone",
        ],
        required: &["stu_ExternalID"],
    },
    Schema {
        id: 3,
        action: NEW_ACTION,
        title: "Pre-registered new students",
        fields: STUDENT_FIELDS,
        required: &["stu_FirstName", "stu_LastName", "stu_ExternalID"],
    },
];

struct ChecklistItemDef {
    id: &'static str,
    item_type: &'static str,
    external_id: &'static str,
    name: &'static str,
    description: &'static str,
}

const DOCUMENT_ITEMS: [ChecklistItemDef; 3] = [
    ChecklistItemDef {
        id: "83838",
        item_type: "Photo",
        external_id: "PHOTO",
        name: "Photo",
        description: "School photo.",
    },
    ChecklistItemDef {
        id: "83839",
        item_type: "Document",
        external_id: "BIRTHCERT",
        name: "Birth certificate",
        description: "A copy of the birth certificate or passport.",
    },
    ChecklistItemDef {
        id: "83840",
        item_type: "Document",
        external_id: "ADDRESS",
        name: "Proof of address",
        description: "A utility bill or lease from the last three months.",
    },
];

const HEALTH_ITEMS: [ChecklistItemDef; 2] = [
    ChecklistItemDef {
        id: "83901",
        item_type: "Document",
        external_id: "IMMUN",
        name: "Immunization record",
        description: "Up-to-date immunization record signed by a clinician.",
    },
    ChecklistItemDef {
        id: "83902",
        item_type: "Form",
        external_id: "MEDCONSENT",
        name: "Medical consent form",
        description: "Signed consent for emergency treatment.",
    },
];

/// A roster record: one of the district's students, or one created by an import.
#[derive(Clone, Debug)]
struct Roster {
    id: u64,
    action: u64,
    student: Option<usize>,
    /// Fields set by imports (schema field name → value), over the student's own.
    data: BTreeMap<String, String>,
}

#[derive(Clone, Debug)]
struct Submission {
    id: u64,
    action: u64,
    student: Option<usize>,
    /// Data items of a submission made through `POST /submission`.
    data: BTreeMap<String, String>,
    approved: bool,
    submitted: DateTime<Utc>,
}

#[derive(Clone, Copy, Debug)]
enum DocKind {
    Pdf,
    Jpeg,
}

#[derive(Clone, Debug)]
struct DocumentRef {
    student: usize,
    item_name: &'static str,
    kind: DocKind,
}

struct Live {
    api_key: String,
    roster: Vec<Roster>,
    /// (action, external id) → position in `roster`.
    roster_by_external: HashMap<(u64, String), usize>,
    next_roster_id: u64,
    submissions: Vec<Submission>,
    next_submission_id: u64,
    /// target → submission ids delivered and not reset.
    delivered: HashMap<u64, HashSet<u64>>,
    batches: Vec<BatchInfo>,
    /// signature → (object id, expires at).
    signed: HashMap<String, (String, DateTime<Utc>)>,
    counter: u64,
}

struct Sim {
    shared: Shared,
    district: Arc<District>,
    config: Config,
    /// Roster status by student (generated: NotStarted / Started / Submitted).
    documents: HashMap<String, DocumentRef>,
    live: Mutex<Live>,
}

/// Test controls. Cloning shares the simulator.
#[derive(Clone)]
pub struct Admin {
    sim: Arc<Sim>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("powerschool::Admin").finish_non_exhaustive()
    }
}

impl Admin {
    pub fn key(&self) -> String {
        self.sim.live().api_key.clone()
    }

    /// Replaces the key: the old one stops working (as when the specialist reissues it).
    pub fn set_key(&self, key: &str) {
        self.sim.live().api_key = key.to_string();
    }

    /// Submission records waiting in `target`'s delivery pool.
    pub fn pool_len(&self, target: u64) -> usize {
        let live = self.sim.live();
        Sim::pool(&live, target).count()
    }

    /// Every batch created for `target`, oldest first.
    pub fn batches(&self, target: u64) -> Vec<BatchInfo> {
        self.sim
            .live()
            .batches
            .iter()
            .filter(|b| b.target == target)
            .cloned()
            .collect()
    }

    /// Approves a submission (it enters the delivery pools). False if unknown.
    pub fn approve(&self, submission_id: u64) -> bool {
        let mut live = self.sim.live();
        match live.submissions.iter_mut().find(|s| s.id == submission_id) {
            Some(s) => {
                s.approved = true;
                true
            }
            None => false,
        }
    }

    /// Takes students' records out of the returning-students roster (their families
    /// withdrew): the roster list stops returning them. Returns how many went.
    pub fn withdraw(&self, external_ids: &[String]) -> usize {
        let mut live = self.sim.live();
        let keyed: Vec<((u64, String), usize)> = live.roster_by_external.drain().collect();
        let gone: std::collections::HashSet<usize> = keyed
            .iter()
            .filter(|((action, external), _)| {
                *action == RETURNING_ACTION && external_ids.contains(external)
            })
            .map(|(_, i)| *i)
            .collect();
        let mut moved_to = Vec::with_capacity(live.roster.len());
        let mut kept = 0;
        for i in 0..live.roster.len() {
            moved_to.push((!gone.contains(&i)).then(|| {
                kept += 1;
                kept - 1
            }));
        }
        let roster = std::mem::take(&mut live.roster);
        live.roster = roster
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !gone.contains(i))
            .map(|(_, r)| r)
            .collect();
        live.roster_by_external = keyed
            .into_iter()
            .filter_map(|(k, i)| moved_to[i].map(|j| (k, j)))
            .collect();
        gone.len()
    }

    /// A roster record as `rosterrecords/{id}` shows it, found by its external student id.
    pub fn roster_record(&self, action: u64, external_id: &str) -> Option<Value> {
        let live = self.sim.live();
        let i = *live
            .roster_by_external
            .get(&(action, external_id.to_string()))?;
        Some(self.sim.roster_json(&live.roster[i]))
    }

    /// A submission record as `submissionrecords/{id}` shows it.
    pub fn submission_record(&self, id: u64) -> Option<Value> {
        let live = self.sim.live();
        live.submissions
            .iter()
            .find(|s| s.id == id)
            .map(|s| self.sim.submission_json(s))
    }

    /// Submission record ids of `action`, in order.
    pub fn submission_ids(&self, action: u64) -> Vec<u64> {
        self.sim
            .live()
            .submissions
            .iter()
            .filter(|s| s.action == action)
            .map(|s| s.id)
            .collect()
    }

    /// Every document object id, sorted.
    pub fn document_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.sim.documents.keys().cloned().collect();
        ids.sort();
        ids
    }

    /// The bytes `documents/{objectId}` leads to, and their content type.
    pub fn document_bytes(&self, object_id: &str) -> Option<(Vec<u8>, &'static str)> {
        self.sim.document(object_id).map(|(b, t, _)| (b, t))
    }
}

/// Builds the PowerSchool router (`/api/healthz`, `/api/v1/…`, `/blobs/…`) and its controls.
pub fn build(shared: Shared, district: Arc<District>, config: Config) -> (Router, Admin) {
    let d = &district;
    let seed = d.seed;
    let mut roster = Vec::with_capacity(d.students.len());
    let mut roster_by_external = HashMap::with_capacity(d.students.len());
    let mut submissions = Vec::new();
    let mut next_submission_id = 500_001;
    for s in &d.students {
        roster_by_external.insert((RETURNING_ACTION, s.external_id.clone()), roster.len());
        roster.push(Roster {
            id: 100_001 + s.index as u64,
            action: RETURNING_ACTION,
            student: Some(s.index),
            data: BTreeMap::new(),
        });
        if roster_status(seed, s.index) == "Submitted" {
            let h = mix(seed ^ 0xA5A5 ^ s.index as u64);
            submissions.push(Submission {
                id: next_submission_id,
                action: RETURNING_ACTION,
                student: Some(s.index),
                data: BTreeMap::new(),
                approved: !h.is_multiple_of(4),
                submitted: roster_times(d, s.index).2.and_utc(),
            });
            next_submission_id += 1;
        }
    }
    let mut documents = HashMap::new();
    for (checklist, items) in checklists() {
        for s in d.students.iter().filter(|s| on_checklist(d, checklist, s)) {
            for item in items {
                if let ItemState::Completed(_) = item_state(d, checklist, s.index, item.id) {
                    if item.item_type == "Form" && checklist == HEALTH_CHECKLIST {
                        // Forms signed on paper have no scan.
                        continue;
                    }
                    documents.insert(
                        document_id(checklist, s, item.id),
                        DocumentRef {
                            student: s.index,
                            item_name: item.name,
                            kind: if item.item_type == "Photo" {
                                DocKind::Jpeg
                            } else {
                                DocKind::Pdf
                            },
                        },
                    );
                }
            }
        }
    }
    let sim = Arc::new(Sim {
        shared,
        district: district.clone(),
        config: config.clone(),
        documents,
        live: Mutex::new(Live {
            api_key: config.api_key,
            next_roster_id: 100_001 + district.students.len() as u64,
            roster,
            roster_by_external,
            submissions,
            next_submission_id,
            delivered: HashMap::new(),
            batches: Vec::new(),
            signed: HashMap::new(),
            counter: 0,
        }),
    });

    let v1 = Router::new()
        .route("/connection/test", get(connection_test))
        .route("/publishedactions", get(published_actions))
        .route("/publishedactions/{id}/importschemas", get(import_schemas))
        .route(
            "/publishedactions/{id}/importschemas/{schema}",
            post(import_roster_record),
        )
        .route("/publishedactions/{id}/rosterrecords", get(roster_records))
        .route(
            "/publishedactions/{id}/submissionrecords",
            get(submission_records),
        )
        .route("/rosterrecords/{id}", get(roster_record))
        .route("/submissionrecords/{id}", get(submission_record))
        .route("/submission", post(create_submission))
        .route("/checklists", get(list_checklists))
        .route("/checklists/{id}", get(checklist_details))
        .route("/checklists/{id}/checklistentries", get(checklist_entries))
        .route("/deliverytargets", get(delivery_targets))
        .route("/deliverytargets/{id}/createbatch", post(create_batch))
        .route("/deliverytargets/{id}/getbatches", get(get_batches_all))
        .route("/deliverytargets/{id}/getbatches/{tail}", get(get_batches))
        .route(
            "/deliverytargets/{id}/getbatches/{date}/{auto}",
            get(get_batches_split),
        )
        .route(
            "/deliverytargets/{id}/resetbatch/{batch}",
            post(reset_batch),
        )
        .route("/documents/{object}", get(document_url))
        .route_layer(axum::middleware::from_fn_with_state(
            sim.clone(),
            basic_auth,
        ))
        .fallback(no_resource)
        .with_state(sim.clone());
    let router = Router::new()
        .route("/api/healthz", get(health))
        .route("/blobs/{object}", get(blob))
        .nest("/api/v1", v1)
        .fallback(no_resource)
        .with_state(sim.clone());
    (router, Admin { sim })
}

// ---------------------------------------------------------------- generated facts

fn roster_status(seed: u64, student: usize) -> &'static str {
    match mix(seed ^ 0x5EED_0001 ^ (student as u64) << 8) % 10 {
        0..=2 => "NotStarted",
        3 => "Started",
        _ => "Submitted",
    }
}

/// (imported, started, submitted) times of a student's roster record.
fn roster_times(d: &District, student: usize) -> (NaiveDateTime, NaiveDateTime, NaiveDateTime) {
    let h = mix(d.seed ^ 0x7133 ^ student as u64);
    let imported = (d.school_year_start - Duration::days(200))
        .and_time(NaiveTime::from_hms_opt(8, 40, 19).expect("valid time"))
        + Duration::seconds((student % 3600) as i64);
    let started =
        imported + Duration::days(3 + (h % 40) as i64) + Duration::minutes((h >> 8) as i64 % 600);
    let submitted = started + Duration::minutes(5 + (h >> 20) as i64 % 90);
    (imported, started, submitted)
}

fn checklists() -> [(u64, &'static [ChecklistItemDef]); 2] {
    [
        (DOCUMENTS_CHECKLIST, &DOCUMENT_ITEMS[..]),
        (HEALTH_CHECKLIST, &HEALTH_ITEMS[..]),
    ]
}

/// New students owe the documents checklist; grades K, 6 and 9 the health one.
fn on_checklist(d: &District, checklist: u64, s: &Student) -> bool {
    match checklist {
        DOCUMENTS_CHECKLIST => s.enrolled_on >= d.school_year_start - Duration::days(365),
        HEALTH_CHECKLIST => matches!(s.grade, 0 | 6 | 9),
        _ => false,
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum ItemState {
    Completed(NaiveDate),
    Incomplete,
    Waived,
}

fn item_state(d: &District, checklist: u64, student: usize, item: &str) -> ItemState {
    let (seed, school_year_start) = (d.seed, d.school_year_start);
    let item_n: u64 = item.parse().unwrap_or(0);
    let h = mix(seed ^ mix(checklist << 32 ^ item_n) ^ student as u64);
    match h % 20 {
        0..=13 => {
            let base = school_year_start - Duration::days(92);
            ItemState::Completed(base + Duration::days(((h >> 16) % 120) as i64))
        }
        14..=18 => ItemState::Incomplete,
        _ => ItemState::Waived,
    }
}

fn document_id(checklist: u64, s: &Student, item: &str) -> String {
    derived_uuid(&["document", &checklist.to_string(), &s.uuid, item])
}

fn iso(t: NaiveDateTime) -> String {
    t.format("%Y-%m-%dT%H:%M:%S").to_string()
}

fn iso_z(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn valid_grade(g: &str) -> bool {
    g == "K" || g.parse::<u8>().is_ok_and(|n| (1..=12).contains(&n))
}

// ---------------------------------------------------------------- state helpers

impl Sim {
    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn pool(live: &Live, target: u64) -> impl Iterator<Item = &Submission> {
        let delivered = live.delivered.get(&target);
        live.submissions
            .iter()
            .filter(move |s| s.approved && delivered.is_none_or(|d| !d.contains(&s.id)))
    }

    fn student_items(&self, s: &Student) -> BTreeMap<String, String> {
        let d = &self.district;
        let mut m = BTreeMap::new();
        let mut put = |k: &str, v: String| {
            m.insert(k.to_string(), v);
        };
        put("stu_FirstName", s.given_name.clone());
        put("stu_MiddleName", String::new());
        put("stu_LastName", s.family_name_in(SYSTEM).to_string());
        put("stu_ExternalID", s.external_id.clone());
        put(
            "stu_DateOfBirth",
            s.date_of_birth_in(SYSTEM).format("%m/%d/%Y").to_string(),
        );
        put("stu_Grade", grade_label(s.grade_in(SYSTEM)));
        put("stu_Gender", s.gender.clone());
        put("stu_Email", s.email.clone());
        put("fam_ExternalID", family_id(s));
        if let Some(&g) = s.guardians.first() {
            let g = &d.guardians[g];
            put("par1_FirstName", g.given_name.clone());
            put("par1_LastName", g.family_name.clone());
            put("par1_Email", g.email.clone());
            put("par1_Phone", g.phone.clone());
        }
        m
    }

    /// The common record shape of roster and submission records.
    fn record_json(
        &self,
        id: u64,
        status: &str,
        student: Option<usize>,
        data: &BTreeMap<String, String>,
        times: (
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        ),
    ) -> Value {
        let d = &self.district;
        let mut items = student.map_or_else(BTreeMap::new, |s| self.student_items(&d.students[s]));
        for (k, v) in data {
            items.insert(k.clone(), v.clone());
        }
        let get = |k: &str| items.get(k).cloned().unwrap_or_default();
        let dob = NaiveDate::parse_from_str(&get("stu_DateOfBirth"), "%m/%d/%Y")
            .ok()
            .map(|d| format!("{}T00:00:00", d.format("%Y-%m-%d")));
        let s = student.map(|s| &d.students[s]);
        json!({
            "id": id,
            "status": status,
            "firstName": get("stu_FirstName"),
            "lastName": get("stu_LastName"),
            "dateOfBirth": dob,
            "externalStudentID": items.get("stu_ExternalID"),
            "externalFamilyID": items.get("fam_ExternalID"),
            "household": "Primary",
            "school": s.map(|s| d.schools[s.school].name.clone()),
            "grade": items.get("stu_Grade"),
            "enrollStatus": if s.is_some() { "Enrolled" } else { "New" },
            "imported": times.0.map(iso),
            "started": times.1.map(iso),
            "submitted": times.2.map(iso),
            "tags": s.map_or_else(Vec::new, |s| {
                let mut t = vec![format!("Grade {}", grade_label(s.grade))];
                if !s.disagreements.is_empty() { t.push("Needs review".to_string()) }
                t
            }),
            "dataItems": items,
        })
    }

    fn roster_json(&self, r: &Roster) -> Value {
        let (status, times) = match r.student {
            Some(s) => {
                let (imp, started, submitted) = roster_times(&self.district, s);
                match roster_status(self.district.seed, s) {
                    "NotStarted" => ("NotStarted", (Some(imp), None, None)),
                    "Started" => ("Started", (Some(imp), Some(started), None)),
                    _ => ("Submitted", (Some(imp), Some(started), Some(submitted))),
                }
            }
            None => (
                "NotStarted",
                (
                    r.data
                        .get("__imported")
                        .and_then(|t| NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S").ok()),
                    None,
                    None,
                ),
            ),
        };
        let data: BTreeMap<String, String> = r
            .data
            .iter()
            .filter(|(k, _)| !k.starts_with("__"))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.record_json(r.id, status, r.student, &data, times)
    }

    fn submission_json(&self, s: &Submission) -> Value {
        let times = match s.student {
            Some(st) => {
                let (imp, started, _) = roster_times(&self.district, st);
                (Some(imp), Some(started), Some(s.submitted.naive_utc()))
            }
            None => (
                None,
                Some(s.submitted.naive_utc()),
                Some(s.submitted.naive_utc()),
            ),
        };
        let status = if s.approved {
            "Approved"
        } else {
            "PendingApproval"
        };
        self.record_json(s.id, status, s.student, &s.data, times)
    }

    /// A submission as a delivery batch carries it.
    fn batch_record_json(&self, s: &Submission) -> Value {
        let d = &self.district;
        let mut items = s
            .student
            .map_or_else(BTreeMap::new, |st| self.student_items(&d.students[st]));
        items.extend(s.data.clone());
        let get = |k: &str| items.get(k).cloned().unwrap_or_default();
        let student_id = get("stu_ExternalID");
        let mut data = Map::new();
        data.insert(
            "student".into(),
            json!({
                "studentID": student_id,
                "firstName": get("stu_FirstName"),
                "lastName": get("stu_LastName"),
                "grade": get("stu_Grade"),
                "gender": get("stu_Gender"),
                "dateOfBirth": get("stu_DateOfBirth"),
            }),
        );
        let guardians: Vec<Value> = match s.student {
            Some(st) => d.students[st]
                .guardians
                .iter()
                .take(2)
                .map(|&g| {
                    let g = &d.guardians[g];
                    json!({
                        "studentID": student_id,
                        "relationship": g.relationship,
                        "firstName": g.given_name,
                        "lastName": g.family_name,
                        "homePhone": g.phone,
                        "email": g.email,
                    })
                })
                .collect(),
            None if items.contains_key("par1_FirstName") => vec![json!({
                "studentID": student_id,
                "relationship": get("par1_Relationship"),
                "firstName": get("par1_FirstName"),
                "lastName": get("par1_LastName"),
                "homePhone": get("par1_Phone"),
                "email": get("par1_Email"),
            })],
            None => Vec::new(),
        };
        for (i, g) in guardians.into_iter().enumerate() {
            data.insert(format!("parent{}", i + 1), g);
        }
        json!({
            "id": s.id,
            "submitted": iso_z(s.submitted),
            "data": data,
        })
    }

    fn document(&self, object_id: &str) -> Option<(Vec<u8>, &'static str, String)> {
        let doc = self.documents.get(object_id)?;
        let s = &self.district.students[doc.student];
        let slug: String = doc
            .item_name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .collect();
        Some(match doc.kind {
            DocKind::Jpeg => (
                blobs::jpeg(mix(object_id.len() as u64 ^ doc.student as u64), 64, 48),
                "image/jpeg",
                format!("{}-{}.jpg", s.external_id, slug),
            ),
            DocKind::Pdf => (
                blobs::pdf(
                    doc.item_name,
                    &[
                        format!("Student: {} {}", s.given_name, s.family_name_in(SYSTEM)),
                        format!("Student ID: {}", s.external_id),
                        format!(
                            "Date of birth: {}",
                            s.date_of_birth_in(SYSTEM).format("%m/%d/%Y")
                        ),
                        format!(
                            "Address: {}, {} {}",
                            s.address.line1, s.address.city, s.address.postcode
                        ),
                    ],
                ),
                "application/pdf",
                format!("{}-{}.pdf", s.external_id, slug),
            ),
        })
    }
}

fn family_id(s: &Student) -> String {
    format!("F{:06}", s.guardians.first().map_or(0, |g| g + 1))
}

// ---------------------------------------------------------------- answers

fn message(status: StatusCode, text: impl Into<String>) -> Response {
    (status, Json(json!({ "message": text.into() }))).into_response()
}

fn not_found(what: &str) -> Response {
    message(StatusCode::NOT_FOUND, format!("{what} not found."))
}

async fn no_resource(req: Request) -> Response {
    message(
        StatusCode::NOT_FOUND,
        format!(
            "No HTTP resource was found that matches the request URI '{}'.",
            req.uri().path()
        ),
    )
}

/// Basic with the key as user name and an empty password; anything else is a 500.
async fn basic_auth(State(sim): State<Arc<Sim>>, req: Request, next: Next) -> Response {
    let ok = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("basic").then_some(rest.trim())
        })
        .and_then(|b64| STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok())
        .is_some_and(|pair| {
            let key = sim.live().api_key.clone();
            pair.split_once(':')
                .is_some_and(|(user, password)| user == key && password.is_empty())
        });
    if ok {
        next.run(req).await
    } else {
        message(StatusCode::INTERNAL_SERVER_ERROR, NOT_AUTHORIZED)
    }
}

fn health_body(now: DateTime<Utc>) -> Value {
    let (pm, hour) = now.hour12();
    json!({
        "Status": "Healthy",
        "SoftwareVersion": SOFTWARE_VERSION,
        "DateTimeNow": format!(
            "{}/{}/{} {}:{:02}:{:02} {} (Coordinated Universal Time)",
            now.month(), now.day(), now.year(), hour, now.minute(), now.second(),
            if pm { "PM" } else { "AM" }
        ),
    })
}

async fn health(State(sim): State<Arc<Sim>>) -> Response {
    Json(health_body(sim.shared.clock.now())).into_response()
}

async fn connection_test(State(sim): State<Arc<Sim>>) -> Response {
    Json(health_body(sim.shared.clock.now())).into_response()
}

fn academic_year(d: &District, ahead: i32) -> String {
    let y = d.school_year_start.year() + ahead;
    format!("{}-{}", y, y + 1)
}

async fn published_actions(State(sim): State<Arc<Sim>>) -> Response {
    let d = &sim.district;
    Json(json!([
        {"id": RETURNING_ACTION, "title": "Returning Student Registration", "academicYear": academic_year(d, 0)},
        {"id": NEW_ACTION, "title": "New Student Enrollment", "academicYear": academic_year(d, 0)},
    ]))
    .into_response()
}

fn action_id(raw: &str) -> Option<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| *id == RETURNING_ACTION || *id == NEW_ACTION)
}

async fn import_schemas(Path(id): Path<String>) -> Response {
    let Some(action) = action_id(&id) else {
        return not_found("Published action");
    };
    let list: Vec<Value> = SCHEMAS
        .iter()
        .filter(|s| s.action == action)
        .map(|s| json!({"id": s.id, "title": s.title, "fields": s.fields}))
        .collect();
    Json(list).into_response()
}

async fn import_roster_record(
    State(sim): State<Arc<Sim>>,
    Path((id, schema)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(action) = action_id(&id) else {
        return not_found("Published action");
    };
    let Some(schema) = SCHEMAS
        .iter()
        .find(|s| s.action == action && schema.parse() == Ok(s.id))
    else {
        return not_found("Import schema");
    };
    let result = |errors: Vec<String>| {
        let status = if errors.is_empty() {
            "Success"
        } else {
            "Error"
        };
        Json(json!({"status": status, "errors": errors})).into_response()
    };
    let obj = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return result(vec!["The request body must be a JSON object.".into()]),
        Err(e) => return result(vec![format!("The request body is not valid JSON: {e}.")]),
    };
    let mut errors = Vec::new();
    let mut fields = BTreeMap::new();
    for (k, v) in &obj {
        if !schema.fields.contains(&k.as_str()) {
            errors.push(format!(
                "Field '{k}' is not part of import schema {}.",
                schema.id
            ));
            continue;
        }
        match v {
            Value::String(s) => {
                fields.insert(k.clone(), s.trim().to_string());
            }
            Value::Number(n) => {
                fields.insert(k.clone(), n.to_string());
            }
            Value::Null => {}
            _ => errors.push(format!("Field '{k}' must be text.")),
        }
    }
    for r in schema.required {
        if fields.get(*r).is_none_or(|v| v.is_empty()) {
            errors.push(format!("Field '{r}' is required."));
        }
    }
    if let Some(dob) = fields.get("stu_DateOfBirth").filter(|v| !v.is_empty()) {
        if NaiveDate::parse_from_str(dob, "%m/%d/%Y").is_err() {
            errors.push("stu_DateOfBirth must be a date in MM/DD/YYYY format.".into());
        }
    }
    if let Some(g) = fields.get("stu_Grade").filter(|v| !v.is_empty()) {
        if !valid_grade(g) {
            errors.push(format!("stu_Grade '{g}' is not a grade (K, 1-12)."));
        }
    }
    if !errors.is_empty() {
        return result(errors);
    }
    let external = fields["stu_ExternalID"].clone();
    let now = sim.shared.clock.now();
    let mut live = sim.live();
    let changed = match live
        .roster_by_external
        .get(&(action, external.clone()))
        .copied()
    {
        Some(i) => {
            let current = sim.roster_json(&live.roster[i]);
            let items = &current["dataItems"];
            let differs = fields
                .iter()
                .any(|(k, v)| items.get(k).and_then(Value::as_str) != Some(v.as_str()));
            if differs {
                live.roster[i].data.extend(fields.clone());
            }
            differs
        }
        None if schema.required.contains(&"stu_FirstName") => {
            let id = live.next_roster_id;
            live.next_roster_id += 1;
            let mut data = fields.clone();
            data.insert("__imported".into(), iso(now.naive_utc()));
            let at = live.roster.len();
            live.roster.push(Roster {
                id,
                action,
                student: None,
                data,
            });
            live.roster_by_external
                .insert((action, external.clone()), at);
            true
        }
        None => {
            return result(vec![format!(
                "No roster record with stu_ExternalID '{external}' to update."
            )])
        }
    };
    drop(live);
    if changed {
        sim.shared.recorder.write(WriteRecord {
            system: SYSTEM,
            kind: "rosterrecord.import".into(),
            key: Some(external),
            body: json!({"publishedActionId": action, "schemaId": schema.id, "fields": fields}),
            at: now,
        });
    }
    result(Vec::new())
}

type Params = HashMap<String, String>;

struct Paging {
    page: usize,
    size: usize,
}

/// Reads `page` and `pagesize`; the error is the message a 400 carries.
fn paging(sim: &Sim, q: &Params) -> Result<Paging, String> {
    let read = |names: &[&str], default: usize| -> Result<usize, String> {
        match names.iter().find_map(|n| {
            q.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v)
        }) {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| {
                    format!("page and pagesize must be whole numbers from 1; got '{v}'.")
                }),
        }
    };
    Ok(Paging {
        page: read(&["page"], 1)?,
        size: read(&["pagesize"], 50)?.min(sim.config.max_page_size),
    })
}

fn paged(records: Vec<Value>, total: usize, p: &Paging) -> Response {
    Json(json!([{
        "metadata": {
            "page": p.page,
            "pageSize": p.size,
            "pageCount": total.div_ceil(p.size),
            "recordCount": total,
        },
        "records": records,
    }]))
    .into_response()
}

async fn roster_records(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let Some(action) = action_id(&id) else {
        return not_found("Published action");
    };
    let p = match paging(&sim, &q) {
        Ok(p) => p,
        Err(m) => return message(StatusCode::BAD_REQUEST, m),
    };
    let live = sim.live();
    let total = live.roster.iter().filter(|r| r.action == action).count();
    let records = live
        .roster
        .iter()
        .filter(|r| r.action == action)
        .skip((p.page - 1).saturating_mul(p.size))
        .take(p.size)
        .map(|r| sim.roster_json(r))
        .collect();
    paged(records, total, &p)
}

async fn submission_records(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let Some(action) = action_id(&id) else {
        return not_found("Published action");
    };
    let p = match paging(&sim, &q) {
        Ok(p) => p,
        Err(m) => return message(StatusCode::BAD_REQUEST, m),
    };
    let live = sim.live();
    let total = live
        .submissions
        .iter()
        .filter(|s| s.action == action)
        .count();
    let records = live
        .submissions
        .iter()
        .filter(|s| s.action == action)
        .skip((p.page - 1).saturating_mul(p.size))
        .take(p.size)
        .map(|s| sim.submission_json(s))
        .collect();
    paged(records, total, &p)
}

async fn roster_record(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let live = sim.live();
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| live.roster.iter().find(|r| r.id == id))
    {
        Some(r) => Json(json!([sim.roster_json(r)])).into_response(),
        None => not_found("Roster record"),
    }
}

async fn submission_record(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let live = sim.live();
    match id
        .parse::<u64>()
        .ok()
        .and_then(|id| live.submissions.iter().find(|s| s.id == id))
    {
        Some(s) => Json(json!([sim.submission_json(s)])).into_response(),
        None => not_found("Submission record"),
    }
}

async fn create_submission(State(sim): State<Arc<Sim>>, body: Bytes) -> Response {
    let answer = |errors: Vec<String>, id: Option<u64>| {
        let status = if errors.is_empty() {
            "Success"
        } else {
            "Error"
        };
        Json(json!({"status": status, "errors": errors, "submissionRecordId": id})).into_response()
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return message(
                StatusCode::BAD_REQUEST,
                format!("The request body is not valid JSON: {e}."),
            )
        }
    };
    let mut errors = Vec::new();
    let action = v.get("publishedActionId").and_then(|a| {
        a.as_u64()
            .or_else(|| a.as_str().and_then(|s| s.parse().ok()))
    });
    let action = match action {
        Some(a) if a == RETURNING_ACTION || a == NEW_ACTION => Some(a),
        Some(a) => {
            errors.push(format!("Published action {a} does not exist."));
            None
        }
        None => {
            errors.push("publishedActionId is required.".into());
            None
        }
    };
    let mut data = BTreeMap::new();
    match v.pointer("/submission/dataItems") {
        Some(Value::Array(items)) => {
            for (i, item) in items.iter().enumerate() {
                match (
                    item.get("fieldName").and_then(Value::as_str),
                    item.get("value"),
                ) {
                    (Some(name), Some(Value::String(value))) if !name.is_empty() => {
                        data.insert(name.to_string(), value.trim().to_string());
                    }
                    (Some(name), Some(Value::Number(n))) if !name.is_empty() => {
                        data.insert(name.to_string(), n.to_string());
                    }
                    _ => errors.push(format!(
                        "dataItems[{i}] must be {{\"fieldName\": text, \"value\": text}}."
                    )),
                }
            }
        }
        _ => errors.push("submission.dataItems must be an array.".into()),
    }
    for r in ["stu_FirstName", "stu_LastName"] {
        if data.get(r).is_none_or(|v| v.is_empty())
            && errors.iter().all(|e| !e.contains("dataItems must"))
        {
            errors.push(format!("Field '{r}' is required."));
        }
    }
    if let Some(dob) = data.get("stu_DateOfBirth") {
        if NaiveDate::parse_from_str(dob, "%m/%d/%Y").is_err() {
            errors.push("stu_DateOfBirth must be a date in MM/DD/YYYY format.".into());
        }
    }
    if let Some(g) = data.get("stu_Grade") {
        if !valid_grade(g) {
            errors.push(format!("stu_Grade '{g}' is not a grade (K, 1-12)."));
        }
    }
    let Some(action) = action.filter(|_| errors.is_empty()) else {
        return answer(errors, None);
    };
    let student = data
        .get("stu_ExternalID")
        .and_then(|x| sim.district.student_by_external_id(x))
        .map(|s| s.index);
    let now = sim.shared.clock.now();
    let mut live = sim.live();
    let id = live.next_submission_id;
    live.next_submission_id += 1;
    live.submissions.push(Submission {
        id,
        action,
        student,
        data: data.clone(),
        approved: false,
        submitted: now,
    });
    drop(live);
    sim.shared.recorder.write(WriteRecord {
        system: SYSTEM,
        kind: "submission.create".into(),
        key: Some(id.to_string()),
        body: json!({"publishedActionId": action, "dataItems": data}),
        at: now,
    });
    answer(Vec::new(), Some(id))
}

async fn list_checklists(State(sim): State<Arc<Sim>>) -> Response {
    let d = &sim.district;
    Json(json!([
        {"id": DOCUMENTS_CHECKLIST, "title": "New Student Documents", "academicYear": academic_year(d, 0)},
        {"id": HEALTH_CHECKLIST, "title": "Health & Immunizations", "academicYear": academic_year(d, 0)},
    ]))
    .into_response()
}

fn checklist_items(id: &str) -> Option<(u64, &'static [ChecklistItemDef])> {
    let id: u64 = id.parse().ok()?;
    checklists().into_iter().find(|(c, _)| *c == id)
}

async fn checklist_details(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let Some((id, items)) = checklist_items(&id) else {
        return not_found("Checklist");
    };
    let title = if id == DOCUMENTS_CHECKLIST {
        "New Student Documents"
    } else {
        "Health & Immunizations"
    };
    let items: Vec<Value> = items
        .iter()
        .map(|i| {
            json!({
                "id": i.id,
                "itemType": i.item_type,
                "externalID": i.external_id,
                "name": i.name,
                "description": i.description,
            })
        })
        .collect();
    Json(json!([{
        "id": id,
        "title": title,
        "academicYear": academic_year(&sim.district, 0),
        "items": items,
    }]))
    .into_response()
}

async fn checklist_entries(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let Some((checklist, items)) = checklist_items(&id) else {
        return not_found("Checklist");
    };
    let d = &sim.district;
    let entries: Vec<Value> = d
        .students
        .iter()
        .filter(|s| on_checklist(d, checklist, s))
        .map(|s| {
            let g = s.guardians.first().map(|&g| &d.guardians[g]);
            let checklist_items: Vec<Value> = items
                .iter()
                .map(|item| {
                    let state = item_state(d, checklist, s.index, item.id);
                    let doc = document_id(checklist, s, item.id);
                    let (status, date) = match state {
                        ItemState::Completed(on) => {
                            ("Completed", Some(on.format("%m/%d/%Y").to_string()))
                        }
                        ItemState::Incomplete => ("Incomplete", None),
                        ItemState::Waived => ("Waived", None),
                    };
                    json!({
                        "checklistItemID": item.id,
                        "status": status,
                        "dateCompleted": date,
                        "adminNote": if state == ItemState::Waived { "Waived by registrar" } else { "" },
                        "publicNote": "",
                        "documentObjectId": sim.documents.contains_key(&doc).then_some(doc),
                    })
                })
                .collect();
            json!({
                "id": checklist * 1_000_000 + s.index as u64 + 1,
                "externalStudentID": s.external_id,
                "familyMemberFirstName": g.map(|g| g.given_name.clone()),
                "familyMemberLastName": g.map(|g| g.family_name.clone()),
                "grade": grade_label(s.grade_in(SYSTEM)),
                "familyEmailAddress": g.map(|g| g.email.clone()),
                "checklistItems": checklist_items,
            })
        })
        .collect();
    Json(entries).into_response()
}

async fn delivery_targets() -> Response {
    let list: Vec<Value> = TARGETS
        .iter()
        .map(|(id, title)| json!({"id": id, "title": title}))
        .collect();
    Json(list).into_response()
}

fn target_id(raw: &str) -> Option<u64> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| TARGETS.iter().any(|(t, _)| t == id))
}

async fn create_batch(State(sim): State<Arc<Sim>>, Path(id): Path<String>) -> Response {
    let Some(target) = target_id(&id) else {
        return not_found("Delivery target");
    };
    let now = sim.shared.clock.now();
    let mut live = sim.live();
    live.counter += 1;
    let batch_id = derived_uuid(&[
        "batch",
        &sim.district.seed.to_string(),
        &live.counter.to_string(),
    ]);
    let picked: Vec<Submission> = Sim::pool(&live, target)
        .take(sim.config.batch_size)
        .cloned()
        .collect();
    let records: Vec<Value> = picked.iter().map(|s| sim.batch_record_json(s)).collect();
    if !picked.is_empty() {
        let ids: Vec<u64> = picked.iter().map(|s| s.id).collect();
        live.delivered
            .entry(target)
            .or_default()
            .extend(ids.iter().copied());
        for b in live.batches.iter_mut().filter(|b| b.target == target) {
            if b.status == "AutoOpen" {
                b.status = "Closed".into();
            }
        }
        live.batches.push(BatchInfo {
            id: batch_id.clone(),
            target,
            date: now,
            records: ids.clone(),
            status: "AutoOpen".into(),
        });
        drop(live);
        sim.shared.recorder.write(WriteRecord {
            system: SYSTEM,
            kind: "batch.create".into(),
            key: Some(batch_id.clone()),
            body: json!({"target": target, "records": ids}),
            at: now,
        });
    }
    Json(json!({"id": batch_id, "date": iso_z(now), "records": records})).into_response()
}

async fn get_batches_all(
    State(sim): State<Arc<Sim>>,
    Path(id): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    batches_answer(&sim, &id, "", &q)
}

async fn get_batches(
    State(sim): State<Arc<Sim>>,
    Path((id, tail)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> Response {
    batches_answer(&sim, &id, &tail, &q)
}

async fn get_batches_split(
    State(sim): State<Arc<Sim>>,
    Path((id, date, auto)): Path<(String, String, String)>,
    Query(q): Query<Params>,
) -> Response {
    batches_answer(&sim, &id, &format!("{date}{auto}"), &q)
}

fn batches_answer(sim: &Sim, id: &str, tail: &str, q: &Params) -> Response {
    let Some(target) = target_id(id) else {
        return not_found("Delivery target");
    };
    let bad_date = || {
        message(
            StatusCode::BAD_REQUEST,
            "The date must be in yyyy-mm-dd format (e.g. 2012-10-03).",
        )
    };
    let bad_flag = || {
        message(
            StatusCode::BAD_REQUEST,
            "getAutoOpen must be true or false.",
        )
    };
    let (date_part, flag_part) = if tail.len() >= 10 && tail.is_char_boundary(10) {
        tail.split_at(10)
    } else {
        ("", tail)
    };
    let raw_date = match (date_part, q.get("date")) {
        ("", None) => None,
        ("", Some(v)) => Some(v.as_str()),
        (v, _) => Some(v),
    };
    let date = match raw_date.map(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d")) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => return bad_date(),
    };
    let flag = flag_part.trim_start_matches(['/', '&', '?', '=', '-', '_']);
    let flag = flag.strip_prefix("getAutoOpen=").unwrap_or(flag);
    let auto = match (flag.to_ascii_lowercase().as_str(), q.get("getAutoOpen")) {
        ("", None) => false,
        ("", Some(v)) => match v.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => return bad_flag(),
        },
        ("true", _) => true,
        ("false", _) => false,
        _ => return bad_flag(),
    };
    let live = sim.live();
    let list: Vec<Value> = live
        .batches
        .iter()
        .filter(|b| b.target == target)
        .filter(|b| date.is_none_or(|d| b.date.date_naive() >= d))
        .filter(|b| !auto || b.status == "AutoOpen")
        .map(|b| json!({"id": b.id, "date": iso_z(b.date), "records": []}))
        .collect();
    Json(list).into_response()
}

async fn reset_batch(
    State(sim): State<Arc<Sim>>,
    Path((id, batch)): Path<(String, String)>,
) -> Response {
    let Some(target) = target_id(&id) else {
        return not_found("Delivery target");
    };
    let now = sim.shared.clock.now();
    let mut live = sim.live();
    let Some(i) = live
        .batches
        .iter()
        .position(|b| b.target == target && b.id.eq_ignore_ascii_case(&batch))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if live.batches[i].status == "Reset" {
        return StatusCode::NO_CONTENT.into_response();
    }
    live.batches[i].status = "Reset".into();
    let records = live.batches[i].records.clone();
    if let Some(d) = live.delivered.get_mut(&target) {
        for r in &records {
            d.remove(r);
        }
    }
    let batch_id = live.batches[i].id.clone();
    drop(live);
    sim.shared.recorder.write(WriteRecord {
        system: SYSTEM,
        kind: "batch.reset".into(),
        key: Some(batch_id),
        body: json!({"target": target, "records": records}),
        at: now,
    });
    StatusCode::NO_CONTENT.into_response()
}

async fn document_url(
    State(sim): State<Arc<Sim>>,
    Path(object): Path<String>,
    headers: HeaderMap,
) -> Response {
    if !sim.documents.contains_key(&object) {
        return not_found("Document");
    }
    let now = sim.shared.clock.now();
    let ttl = Duration::from_std(sim.config.document_url_ttl).unwrap_or(Duration::minutes(2));
    let expires = now + ttl;
    let mut live = sim.live();
    live.counter += 1;
    let sig = {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(format!(
            "sas|{}|{}|{object}",
            sim.district.seed, live.counter
        ));
        STANDARD.encode(h.finalize())
    };
    live.signed.insert(sig.clone(), (object.clone(), expires));
    drop(live);
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let url = format!(
        "http://{host}/blobs/{object}?sv=2019-02-02&st={}&se={}&sr=b&sp=r&sig={}",
        pct(&iso_z(now)),
        pct(&iso_z(expires)),
        pct(&sig)
    );
    Json(Value::String(url)).into_response()
}

fn pct(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn azure_error(code: &str, text: &str) -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{text}</Message></Error>"
        ),
    )
        .into_response()
}

/// The blob store behind document URLs: no Basic auth, only the signature and its expiry.
async fn blob(
    State(sim): State<Arc<Sim>>,
    Path(object): Path<String>,
    Query(q): Query<Params>,
) -> Response {
    let now = sim.shared.clock.now();
    let signed = q
        .get("sig")
        .and_then(|sig| sim.live().signed.get(sig).cloned());
    let Some((signed_object, expires)) = signed.filter(|(o, _)| *o == object) else {
        return azure_error(
            "AuthenticationFailed",
            "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.",
        );
    };
    if now >= expires {
        return azure_error(
            "AuthenticationFailed",
            &format!(
                "Signed expiry time [{}] must be after signed start time [{}]",
                expires.to_rfc2822(),
                now.to_rfc2822()
            ),
        );
    }
    let Some((bytes, content_type, file)) = sim.document(&signed_object) else {
        return (StatusCode::NOT_FOUND, "BlobNotFound").into_response();
    };
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
            (
                header::HeaderName::from_static("x-ms-blob-type"),
                "BlockBlob".to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}
