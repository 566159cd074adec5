//! OmniForge SIS, as its developer page and `CONTRACT.md` describe it: REST under
//! `/__api/v1`, district API keys (`fsis_secret_<64 hex>`) sent as `Authorization: Bearer`
//! or `X-API-Key`, scopes per route, per-key fixed one-minute rate windows read from the
//! [`SimClock`](crate::SimClock), cursor-paged lists with `updatedSince`, and attendance
//! marks with idempotency keys and optimistic versions.
//!
//! Choices where the documents are silent (clients must not depend on more than the
//! contract, but tests may):
//! - Person shape: `id, personType, externalId, firstName, lastName, preferredName,
//!   dateOfBirth (YYYY-MM-DD), gender, gradeLevel ("K", "1".."12"), organizationId,
//!   homeroomSectionId, email, phone, status, updatedAt`. `GET /persons/{id}` and
//!   `GET /persons/{id}/guardians` wrap their answer in `{"data": …}`.
//! - Scopes: STAFF persons need `student.read`; listing persons without `personType`
//!   needs both `student.read` and `guardian.read`.
//! - Bad query parameters (limit outside 1..=200, a cursor from elsewhere, a date that is
//!   not a date) answer 400 `request.invalid_parameter`; bad attendance bodies 422
//!   `validation.failed` with `error.details.fields`.
//! - Lists default to 50 items. `updatedSince` keeps records with `updatedAt >= since`.
//! - Daily homeroom marks (`period: null`) exist for every school day of the history window
//!   (by default the 21 days before the clock's date when the simulator was built); they
//!   are derived from the seed, never stored, until a write replaces one.
//! - Reusing an `Idempotency-Key` with a different body answers 422 `idempotency.key_reused`.

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, SecondsFormat, Utc};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::data::{derived_uuid, grade_label, mix, District};
use crate::{Shared, SystemKind, WriteRecord};

const SYSTEM: SystemKind = SystemKind::OmniForge;

/// The key of [`Config::default`]: all scopes, 60 requests a minute.
pub const DEFAULT_KEY: &str =
    "fsis_secret_49b438c004d16b3b135e497d5b656bcca149a8d6c905d15e5ff983a431f5e7ec";

/// Every scope a route of this simulator checks.
pub const ALL_SCOPES: [&str; 5] = [
    "student.read",
    "guardian.read",
    "enrollment.read",
    "attendance.read",
    "attendance.write",
];

/// Most items one list page holds.
pub const MAX_LIMIT: usize = 200;
/// Items a page holds when the request names no `limit`.
pub const DEFAULT_LIMIT: usize = 50;

/// One district API key as issued in the admin panel.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKey {
    /// The plaintext key, `fsis_secret_<64 hex>`.
    pub key: String,
    pub scopes: Vec<String>,
    /// `rateLimit.requestsPerMinute`; `None` = no ceiling.
    pub requests_per_minute: Option<u32>,
    /// `None` = any address.
    pub ip_allowlist: Option<Vec<IpAddr>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

impl ApiKey {
    /// A key with every scope and the documented example ceiling of 60 a minute.
    pub fn new(key: impl Into<String>) -> ApiKey {
        ApiKey {
            key: key.into(),
            scopes: ALL_SCOPES.iter().map(|s| s.to_string()).collect(),
            requests_per_minute: Some(60),
            ip_allowlist: None,
            expires_at: None,
            revoked: false,
        }
    }

    /// A well-formed key derived from `label` (tests issue several without clashes).
    pub fn generate(label: &str) -> ApiKey {
        use sha2::{Digest, Sha256};
        ApiKey::new(format!(
            "fsis_secret_{}",
            hex::encode(Sha256::digest(label.as_bytes()))
        ))
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Issued keys; the first is the one [`Admin::key`] hands out.
    pub keys: Vec<ApiKey>,
    /// Calendar days of generated attendance history, ending the day before the clock's
    /// date when the simulator is built.
    pub attendance_history_days: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            keys: vec![ApiKey::new(DEFAULT_KEY)],
            attendance_history_days: 21,
        }
    }
}

impl Config {
    /// The first issued key.
    pub fn key(&self) -> &str {
        self.keys.first().map_or("", |k| k.key.as_str())
    }
}

/// One attendance mark as OmniForge stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Mark {
    pub id: String,
    pub student_id: String,
    pub section_id: Option<String>,
    pub period: Option<String>,
    pub date: NaiveDate,
    /// `present|absent|tardy|excused`.
    pub status: String,
    pub code: Option<String>,
    pub note: Option<String>,
    pub version: i64,
    pub updated_at: DateTime<Utc>,
}

impl Mark {
    /// The wire shape.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "studentId": self.student_id,
            "sectionId": self.section_id,
            "period": self.period,
            "date": self.date.format("%Y-%m-%d").to_string(),
            "status": self.status,
            "code": self.code,
            "note": self.note,
            "version": self.version,
            "updatedAt": ts(self.updated_at),
        })
    }

    fn key(&self) -> MarkKey {
        (
            self.student_id.clone(),
            self.section_id.clone(),
            self.period.clone(),
            self.date,
        )
    }
}

/// (student, section, period, date): one mark per key.
type MarkKey = (String, Option<String>, Option<String>, NaiveDate);

/// A change made "in the SIS" by someone else, for incremental-sync tests.
#[derive(Clone, Debug, Default)]
pub struct PersonChange {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// `Some(None)` clears the preferred name.
    pub preferred_name: Option<Option<String>>,
    pub grade: Option<u8>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PersonRef {
    Student(usize),
    Guardian(usize),
    Staff(usize),
}

#[derive(Clone, Debug)]
struct PersonState {
    change: PersonChange,
    updated_at: DateTime<Utc>,
}

#[derive(Debug)]
struct Live {
    keys: Vec<ApiKey>,
    /// key → (window number, requests counted in it).
    windows: HashMap<String, (i64, u32)>,
    persons: HashMap<PersonRef, PersonState>,
    /// (student, section) → (end date, when it was changed).
    ended: HashMap<(usize, usize), (NaiveDate, DateTime<Utc>)>,
    marks: HashMap<MarkKey, Mark>,
    mark_order: Vec<MarkKey>,
    /// Idempotency key → (request body as sent, the mark answered).
    idempotency: HashMap<String, (String, Mark)>,
    traces: u64,
}

struct Sim {
    shared: Shared,
    district: Arc<District>,
    by_id: HashMap<String, PersonRef>,
    section_by_id: HashMap<String, usize>,
    school_by_id: HashMap<String, usize>,
    history: (NaiveDate, NaiveDate),
    /// When every generated record was last "changed", before any test touches it.
    base_updated: DateTime<Utc>,
    live: Mutex<Live>,
}

/// Test controls. Cloning shares the simulator.
#[derive(Clone)]
pub struct Admin {
    sim: Arc<Sim>,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("omniforge::Admin").finish_non_exhaustive()
    }
}

impl Admin {
    /// The first issued key (by default [`DEFAULT_KEY`]).
    pub fn key(&self) -> String {
        self.sim
            .live()
            .keys
            .first()
            .map(|k| k.key.clone())
            .unwrap_or_default()
    }

    /// Issues another key.
    pub fn add_key(&self, key: ApiKey) {
        self.sim.live().keys.push(key);
    }

    fn with_key(&self, key: &str, f: impl FnOnce(&mut ApiKey)) -> bool {
        let mut live = self.sim.live();
        match live.keys.iter_mut().find(|k| k.key == key) {
            Some(k) => {
                f(k);
                true
            }
            None => false,
        }
    }

    pub fn revoke_key(&self, key: &str) -> bool {
        self.with_key(key, |k| k.revoked = true)
    }

    /// Makes the key expire now (by the simulator clock).
    pub fn expire_key(&self, key: &str) -> bool {
        let now = self.sim.shared.clock.now();
        self.with_key(key, |k| k.expires_at = Some(now))
    }

    pub fn set_expiry(&self, key: &str, at: Option<DateTime<Utc>>) -> bool {
        self.with_key(key, |k| k.expires_at = at)
    }

    pub fn set_rate_limit(&self, key: &str, requests_per_minute: Option<u32>) -> bool {
        self.with_key(key, |k| k.requests_per_minute = requests_per_minute)
    }

    pub fn set_scopes(&self, key: &str, scopes: &[&str]) -> bool {
        self.with_key(key, |k| {
            k.scopes = scopes.iter().map(|s| s.to_string()).collect()
        })
    }

    pub fn set_ip_allowlist(&self, key: &str, allow: Option<Vec<IpAddr>>) -> bool {
        self.with_key(key, |k| k.ip_allowlist = allow)
    }

    /// Changes a person as if edited in the SIS: `updatedAt` becomes the clock's now.
    /// False if no person has that id.
    pub fn update_person(&self, person_id: &str, change: PersonChange) -> bool {
        let Some(&p) = self.sim.by_id.get(person_id) else {
            return false;
        };
        let now = self.sim.shared.clock.now();
        let mut live = self.sim.live();
        let state = live.persons.entry(p).or_insert(PersonState {
            change: PersonChange::default(),
            updated_at: now,
        });
        let c = &mut state.change;
        macro_rules! take {
            ($f:ident) => {
                if change.$f.is_some() {
                    c.$f = change.$f;
                }
            };
        }
        take!(given_name);
        take!(family_name);
        take!(preferred_name);
        take!(grade);
        take!(email);
        take!(phone);
        state.updated_at = now;
        true
    }

    /// Bumps a person's `updatedAt` to now without changing anything else.
    pub fn touch_person(&self, person_id: &str) -> bool {
        self.update_person(person_id, PersonChange::default())
    }

    /// Ends a student's enrollment in a section on `on` (ids as OmniForge shows them).
    pub fn end_enrollment(&self, student_id: &str, section_id: &str, on: NaiveDate) -> bool {
        let (Some(&PersonRef::Student(s)), Some(&sec)) = (
            self.sim.by_id.get(student_id),
            self.sim.section_by_id.get(section_id),
        ) else {
            return false;
        };
        if !self.sim.district.sections[sec].students.contains(&s) {
            return false;
        }
        let now = self.sim.shared.clock.now();
        self.sim.live().ended.insert((s, sec), (on, now));
        true
    }

    /// Marks written through the API (or [`Admin::change_mark`]), oldest first.
    pub fn stored_marks(&self) -> Vec<Mark> {
        let live = self.sim.live();
        live.mark_order
            .iter()
            .filter_map(|k| live.marks.get(k).cloned())
            .collect()
    }

    /// The mark the server holds now for that key, stored or generated.
    pub fn mark(
        &self,
        student_id: &str,
        section_id: Option<&str>,
        period: Option<&str>,
        date: NaiveDate,
    ) -> Option<Mark> {
        let key = (
            student_id.to_string(),
            section_id.map(str::to_string),
            period.map(str::to_string),
            date,
        );
        let live = self.sim.live();
        self.sim.current_mark(&live, &key)
    }

    /// Another clerk changes (or creates) a mark: its version goes up, so a write based on
    /// the old version conflicts.
    pub fn change_mark(
        &self,
        student_id: &str,
        section_id: Option<&str>,
        period: Option<&str>,
        date: NaiveDate,
        status: &str,
    ) -> Mark {
        let key = (
            student_id.to_string(),
            section_id.map(str::to_string),
            period.map(str::to_string),
            date,
        );
        let now = self.sim.shared.clock.now();
        let mut live = self.sim.live();
        let mark = match self.sim.current_mark(&live, &key) {
            Some(mut m) => {
                m.status = status.to_string();
                m.code = Some(status_code(status).to_string());
                m.version += 1;
                m.updated_at = now;
                m
            }
            None => Mark {
                id: mark_id(&key),
                student_id: key.0.clone(),
                section_id: key.1.clone(),
                period: key.2.clone(),
                date,
                status: status.to_string(),
                code: Some(status_code(status).to_string()),
                note: None,
                version: 1,
                updated_at: now,
            },
        };
        Sim::store(&mut live, mark.clone());
        mark
    }

    /// First and last day of the generated attendance history.
    pub fn attendance_history(&self) -> (NaiveDate, NaiveDate) {
        self.sim.history
    }

    /// The `updatedAt` every record has until something changes it.
    pub fn base_updated_at(&self) -> DateTime<Utc> {
        self.sim.base_updated
    }
}

/// Builds the OmniForge router (full paths under `/__api/v1`) and its test controls.
pub fn build(shared: Shared, district: Arc<District>, config: Config) -> (Router, Admin) {
    let mut by_id = HashMap::with_capacity(
        district.students.len() + district.guardians.len() + district.staff.len(),
    );
    for s in &district.students {
        by_id.insert(s.uuid.clone(), PersonRef::Student(s.index));
    }
    for g in &district.guardians {
        by_id.insert(g.uuid.clone(), PersonRef::Guardian(g.index));
    }
    for s in &district.staff {
        by_id.insert(s.uuid.clone(), PersonRef::Staff(s.index));
    }
    let section_by_id = district
        .sections
        .iter()
        .map(|s| (s.uuid.clone(), s.index))
        .collect();
    let school_by_id = district
        .schools
        .iter()
        .map(|s| (s.uuid.clone(), s.index))
        .collect();
    let today = shared.clock.now().date_naive();
    let last = today.pred_opt().unwrap_or(today);
    let first = last - Duration::days(i64::from(config.attendance_history_days.max(1)) - 1);
    let base_updated = (district.school_year_start - Duration::days(7))
        .and_time(NaiveTime::from_hms_opt(6, 0, 0).expect("valid time"))
        .and_utc();
    let sim = Arc::new(Sim {
        shared,
        district,
        by_id,
        section_by_id,
        school_by_id,
        history: (first, last),
        base_updated,
        live: Mutex::new(Live {
            keys: config.keys,
            windows: HashMap::new(),
            persons: HashMap::new(),
            ended: HashMap::new(),
            marks: HashMap::new(),
            mark_order: Vec::new(),
            idempotency: HashMap::new(),
            traces: 0,
        }),
    });
    let api = Router::new()
        .route("/persons", get(list_persons))
        .route("/persons/{id}", get(get_person))
        .route("/persons/{id}/guardians", get(person_guardians))
        .route("/organizations", get(list_organizations))
        .route("/sections", get(list_sections))
        .route("/enrollments", get(list_enrollments))
        .route("/attendance", get(list_attendance).post(post_attendance))
        .fallback(not_found)
        .with_state(sim.clone());
    let router = Router::new()
        .nest("/__api/v1", api)
        .fallback(not_found_plain);
    (router, Admin { sim })
}

// ---------------------------------------------------------------- errors and auth

struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    details: Option<Value>,
    retry_after: Option<i64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    fn bad_param(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "request.invalid_parameter",
            message,
        )
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "resource.not_found", message)
    }
}

type ApiResult = Result<Response, ApiError>;

/// Answers carry a trace id; errors need the simulator for it, so they are rendered here.
struct Answer<'a> {
    sim: &'a Sim,
    result: ApiResult,
}

impl IntoResponse for Answer<'_> {
    fn into_response(self) -> Response {
        match self.result {
            Ok(r) => r,
            Err(e) => {
                let trace = self.sim.trace();
                let mut error = json!({"code": e.code, "message": e.message, "traceId": trace});
                if let Some(d) = e.details {
                    error["details"] = d;
                }
                let mut r = (e.status, Json(json!({ "error": error }))).into_response();
                if let Some(s) = e.retry_after {
                    r.headers_mut()
                        .insert("retry-after", HeaderValue::from(s.max(1)));
                }
                r
            }
        }
    }
}

/// The key and address a request came with.
struct Caller {
    key: Option<String>,
    ip: Option<IpAddr>,
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Caller {
            key: api_key(&parts.headers),
            ip: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        })
    }
}

fn api_key(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| rest.trim().to_string())
        });
    bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
    })
}

/// `fsis_<type>_<hex>`, as the error table puts it.
fn well_formed(key: &str) -> bool {
    let mut parts = key.splitn(3, '_');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some("fsis"), Some(kind), Some(hex))
            if !kind.is_empty()
                && kind.chars().all(|c| c.is_ascii_lowercase())
                && !hex.is_empty()
                && hex.chars().all(|c| c.is_ascii_hexdigit())
    )
}

impl Sim {
    fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn trace(&self) -> String {
        let n = {
            let mut live = self.live();
            live.traces += 1;
            live.traces
        };
        format!("cor_{:016x}", mix(n ^ self.district.seed.rotate_left(17)))
    }

    /// Checks the key (shape, registry, revoked, expired), the caller's address and the
    /// key's rate window; returns the key's scopes. Each accepted call counts.
    fn authenticate(&self, caller: &Caller) -> Result<Vec<String>, ApiError> {
        let unauthorized = |code, msg: &str| ApiError::new(StatusCode::UNAUTHORIZED, code, msg);
        let Some(key) = caller.key.as_deref() else {
            return Err(unauthorized(
                "auth.api_key_malformed",
                "No API key: send Authorization: Bearer fsis_secret_<key> or X-API-Key.",
            ));
        };
        if !well_formed(key) {
            return Err(unauthorized(
                "auth.api_key_malformed",
                "API key doesn't match the fsis_<type>_<hex> shape.",
            ));
        }
        let now = self.shared.clock.now();
        let mut live = self.live();
        let Some(k) = live.keys.iter().find(|k| k.key == key).cloned() else {
            return Err(unauthorized(
                "auth.api_key_unknown",
                "API key not found in the platform registry.",
            ));
        };
        if k.revoked {
            return Err(unauthorized(
                "auth.api_key_revoked",
                "API key has been revoked from the district admin panel.",
            ));
        }
        if k.expires_at.is_some_and(|at| at <= now) {
            return Err(unauthorized(
                "auth.api_key_expired",
                "API key passed its expiresAt timestamp.",
            ));
        }
        if let Some(allow) = &k.ip_allowlist {
            if !caller.ip.is_some_and(|ip| allow.contains(&ip)) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "auth.api_key_ip_not_allowed",
                    "Caller IP not in the key's ipAllowlist.",
                ));
            }
        }
        if let Some(ceiling) = k.requests_per_minute {
            let window = now.timestamp().div_euclid(60);
            let entry = live.windows.entry(k.key.clone()).or_insert((window, 0));
            if entry.0 != window {
                *entry = (window, 0);
            }
            if entry.1 >= ceiling {
                let mut e = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "auth.api_key_rate_limited",
                    format!("API key exceeded {ceiling} requests/minute."),
                );
                e.retry_after = Some((window + 1) * 60 - now.timestamp());
                return Err(e);
            }
            entry.1 += 1;
        }
        Ok(k.scopes)
    }

    fn authorize(&self, caller: &Caller, needs: &[&str]) -> Result<(), ApiError> {
        let scopes = self.authenticate(caller)?;
        require(&scopes, needs)
    }

    fn person_updated(&self, live: &Live, p: PersonRef) -> DateTime<Utc> {
        live.persons.get(&p).map_or_else(
            || {
                let i = match p {
                    PersonRef::Student(i) | PersonRef::Guardian(i) | PersonRef::Staff(i) => i,
                };
                self.base_updated + Duration::seconds(i as i64)
            },
            |s| s.updated_at,
        )
    }

    fn person_json(&self, live: &Live, p: PersonRef) -> Value {
        let d = &self.district;
        let change = live.persons.get(&p).map(|s| &s.change);
        let pick = |over: Option<&String>, base: &str| over.map_or(base.to_string(), Clone::clone);
        let updated = ts(self.person_updated(live, p));
        match p {
            PersonRef::Student(i) => {
                let s = &d.students[i];
                let preferred = match change.and_then(|c| c.preferred_name.clone()) {
                    Some(v) => v,
                    None => s.preferred_name.clone(),
                };
                let grade = change.and_then(|c| c.grade).unwrap_or(s.grade_in(SYSTEM));
                json!({
                    "id": s.uuid,
                    "personType": "STUDENT",
                    "externalId": s.external_id,
                    "firstName": pick(change.and_then(|c| c.given_name.as_ref()), &s.given_name),
                    "lastName": pick(change.and_then(|c| c.family_name.as_ref()), s.family_name_in(SYSTEM)),
                    "preferredName": preferred,
                    "dateOfBirth": s.date_of_birth_in(SYSTEM).format("%Y-%m-%d").to_string(),
                    "gender": s.gender,
                    "gradeLevel": grade_label(grade),
                    "organizationId": d.schools[s.school].uuid,
                    "homeroomSectionId": d.sections[s.homeroom].uuid,
                    "email": pick(change.and_then(|c| c.email.as_ref()), &s.email),
                    "phone": change.and_then(|c| c.phone.clone()),
                    "address": {
                        "line1": s.address.line1,
                        "city": s.address.city,
                        "postalCode": s.address.postcode,
                    },
                    "enrollmentDate": s.enrolled_on.format("%Y-%m-%d").to_string(),
                    "status": "active",
                    "updatedAt": updated,
                })
            }
            PersonRef::Guardian(i) => {
                let g = &d.guardians[i];
                json!({
                    "id": g.uuid,
                    "personType": "GUARDIAN",
                    "externalId": null,
                    "firstName": pick(change.and_then(|c| c.given_name.as_ref()), &g.given_name),
                    "lastName": pick(change.and_then(|c| c.family_name.as_ref()), &g.family_name),
                    "email": pick(change.and_then(|c| c.email.as_ref()), &g.email),
                    "phone": pick(change.and_then(|c| c.phone.as_ref()), &g.phone),
                    "status": "active",
                    "updatedAt": updated,
                })
            }
            PersonRef::Staff(i) => {
                let s = &d.staff[i];
                json!({
                    "id": s.uuid,
                    "personType": "STAFF",
                    "externalId": s.external_id,
                    "firstName": pick(change.and_then(|c| c.given_name.as_ref()), &s.given_name),
                    "lastName": pick(change.and_then(|c| c.family_name.as_ref()), &s.family_name),
                    "email": pick(change.and_then(|c| c.email.as_ref()), &s.email),
                    "organizationId": d.schools[s.school].uuid,
                    "title": "Teacher",
                    "status": "active",
                    "updatedAt": updated,
                })
            }
        }
    }

    fn current_mark(&self, live: &Live, key: &MarkKey) -> Option<Mark> {
        live.marks
            .get(key)
            .cloned()
            .or_else(|| self.generated_mark(key))
    }

    /// The history mark for a key, if the key is a daily homeroom mark inside the window.
    fn generated_mark(&self, key: &MarkKey) -> Option<Mark> {
        let (student_id, section_id, period, date) = key;
        if period.is_some() {
            return None;
        }
        let Some(&PersonRef::Student(s)) = self.by_id.get(student_id) else {
            return None;
        };
        let sec = *self.section_by_id.get(section_id.as_deref()?)?;
        (self.district.students[s].homeroom == sec)
            .then(|| self.history_mark(s, *date))
            .flatten()
    }

    fn history_mark(&self, s: usize, date: NaiveDate) -> Option<Mark> {
        let (first, last) = self.history;
        let student = &self.district.students[s];
        if date < first
            || date > last
            || date.weekday().number_from_monday() > 5
            || date < student.enrolled_on
        {
            return None;
        }
        let days = date.num_days_from_ce() as u64;
        let h = mix(self.district.seed ^ mix((s as u64) << 20 ^ days));
        let (status, note) = match h % 1000 {
            0..=919 => ("present", None),
            920..=959 => (
                "absent",
                (h >> 20)
                    .is_multiple_of(3)
                    .then_some("Parent phoned: unwell"),
            ),
            960..=989 => ("tardy", None),
            _ => ("excused", Some("Medical appointment")),
        };
        let section = &self.district.sections[student.homeroom];
        let key = (student.uuid.clone(), Some(section.uuid.clone()), None, date);
        Some(Mark {
            id: mark_id(&key),
            student_id: student.uuid.clone(),
            section_id: Some(section.uuid.clone()),
            period: None,
            date,
            status: status.to_string(),
            code: Some(status_code(status).to_string()),
            note: note.map(str::to_string),
            version: 1,
            updated_at: date
                .and_time(NaiveTime::from_hms_opt(9, 5, 0).expect("valid time"))
                .and_utc(),
        })
    }

    fn store(live: &mut Live, mark: Mark) {
        let key = mark.key();
        if live.marks.insert(key.clone(), mark).is_none() {
            live.mark_order.push(key);
        }
    }
}

fn require(scopes: &[String], needs: &[&str]) -> Result<(), ApiError> {
    match needs.iter().find(|n| !scopes.iter().any(|s| s == *n)) {
        None => Ok(()),
        Some(missing) => Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "auth.forbidden",
            format!("API key's scopes don't cover the route's required permission ({missing})."),
        )),
    }
}

fn status_code(status: &str) -> &'static str {
    match status {
        "present" => "P",
        "absent" => "A",
        "tardy" => "T",
        _ => "E",
    }
}

fn mark_id(key: &MarkKey) -> String {
    let date = key.3.format("%Y-%m-%d").to_string();
    derived_uuid(&[
        "mark",
        &key.0,
        key.1.as_deref().unwrap_or(""),
        key.2.as_deref().unwrap_or(""),
        &date,
    ])
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

async fn not_found(State(sim): State<Arc<Sim>>) -> Response {
    Answer {
        sim: &sim,
        result: Err(ApiError::not_found("No such route.")),
    }
    .into_response()
}

async fn not_found_plain() -> Response {
    (StatusCode::NOT_FOUND, "Not Found").into_response()
}

// ---------------------------------------------------------------- paging

type Params = HashMap<String, String>;

struct ListQuery {
    after: Option<u64>,
    limit: usize,
    since: Option<DateTime<Utc>>,
}

fn list_query(params: &Params, kind: &str) -> Result<ListQuery, ApiError> {
    let limit = match params.get("limit") {
        None => DEFAULT_LIMIT,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_param(format!(
                    "limit must be a whole number from 1 to {MAX_LIMIT}; got {v:?}."
                )))
            }
        },
    };
    let after = match params.get("cursor").filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(decode_cursor(c, kind).ok_or_else(|| {
            ApiError::bad_param("cursor is not one this list handed out; start again without it.")
        })?),
    };
    let since = match params.get("updatedSince") {
        None => None,
        Some(v) => Some(
            DateTime::parse_from_rfc3339(v)
                .map_err(|_| {
                    ApiError::bad_param(format!(
                        "updatedSince must be an RFC 3339 timestamp; got {v:?}."
                    ))
                })?
                .with_timezone(&Utc),
        ),
    };
    Ok(ListQuery {
        after,
        limit,
        since,
    })
}

fn encode_cursor(kind: &str, pos: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{pos}"))
}

fn decode_cursor(cursor: &str, kind: &str) -> Option<u64> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (k, pos) = raw.split_once(':')?;
    (k == kind).then(|| pos.parse().ok()).flatten()
}

/// One page from `items` (positions strictly increasing), and the cursor of the next.
fn page<T>(
    items: impl Iterator<Item = (u64, T)>,
    q: &ListQuery,
    kind: &str,
) -> (Vec<T>, Option<String>) {
    let mut rest = items.skip_while(|(p, _)| q.after.is_some_and(|a| *p <= a));
    let mut out = Vec::with_capacity(q.limit.min(64));
    let mut last = 0;
    for (p, t) in rest.by_ref() {
        out.push(t);
        last = p;
        if out.len() == q.limit {
            break;
        }
    }
    let next = (out.len() == q.limit && rest.next().is_some()).then(|| encode_cursor(kind, last));
    (out, next)
}

fn list_answer(data: Vec<Value>, next: Option<String>) -> Response {
    Json(json!({"data": data, "page": {"nextCursor": next}})).into_response()
}

fn params(
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Result<Params, ApiError> {
    q.map(|Query(p)| p)
        .map_err(|e| ApiError::bad_param(format!("query string could not be read: {e}")))
}

// ---------------------------------------------------------------- persons

async fn list_persons(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        let scopes = sim.authenticate(&caller)?;
        let p = params(q)?;
        let kind = p.get("personType").map(String::as_str);
        let needs: &[&str] = match kind {
            Some("STUDENT") | Some("STAFF") => &["student.read"],
            Some("GUARDIAN") => &["guardian.read"],
            None => &["student.read", "guardian.read"],
            Some(other) => {
                return Err(ApiError::bad_param(format!(
                    "personType must be STUDENT, GUARDIAN or STAFF; got {other:?}."
                )))
            }
        };
        require(&scopes, needs)?;
        let cursor_kind = format!("persons.{}", kind.unwrap_or("ALL"));
        let lq = list_query(&p, &cursor_kind)?;
        let d = &sim.district;
        let (ns, ng) = (d.students.len() as u64, d.guardians.len() as u64);
        // Start each segment at the cursor rather than skipping from the top: a 50,000
        // student walk would otherwise be quadratic.
        let from = lq.after.map_or(0, |a| a + 1);
        let seg = |base: u64, len: usize| (from.saturating_sub(base) as usize).min(len)..len;
        let students = seg(0, d.students.len()).map(|i| (i as u64, PersonRef::Student(i)));
        let guardians =
            seg(ns, d.guardians.len()).map(move |i| (ns + i as u64, PersonRef::Guardian(i)));
        let staff =
            seg(ns + ng, d.staff.len()).map(move |i| (ns + ng + i as u64, PersonRef::Staff(i)));
        let all: Box<dyn Iterator<Item = (u64, PersonRef)>> = match kind {
            Some("STUDENT") => Box::new(students),
            Some("GUARDIAN") => Box::new(guardians),
            Some("STAFF") => Box::new(staff),
            _ => Box::new(students.chain(guardians).chain(staff)),
        };
        let live = sim.live();
        let filtered =
            all.filter(|(_, p)| lq.since.is_none_or(|s| sim.person_updated(&live, *p) >= s));
        let (refs, next) = page(filtered, &lq, &cursor_kind);
        let data = refs
            .into_iter()
            .map(|p| sim.person_json(&live, p))
            .collect();
        Ok(list_answer(data, next))
    })();
    Answer { sim: &sim, result }.into_response()
}

async fn get_person(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let result = (|| {
        let scopes = sim.authenticate(&caller)?;
        let p = *sim
            .by_id
            .get(&id)
            .ok_or_else(|| ApiError::not_found(format!("No person with id {id}.")))?;
        require(
            &scopes,
            match p {
                PersonRef::Guardian(_) => &["guardian.read"],
                _ => &["student.read"],
            },
        )?;
        let live = sim.live();
        Ok(Json(json!({ "data": sim.person_json(&live, p) })).into_response())
    })();
    Answer { sim: &sim, result }.into_response()
}

async fn person_guardians(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    let result = (|| {
        sim.authorize(&caller, &["guardian.read"])?;
        let Some(&PersonRef::Student(i)) = sim.by_id.get(&id) else {
            return Err(ApiError::not_found(format!("No student with id {id}.")));
        };
        let d = &sim.district;
        let data: Vec<Value> = d.students[i]
            .guardians
            .iter()
            .map(|&g| {
                let g = &d.guardians[g];
                json!({
                    "guardianPersonId": g.uuid,
                    "relationship": g.relationship,
                    "isPrimary": g.is_primary,
                    "canPickUp": g.can_pick_up,
                    "emergencyContact": g.emergency_contact,
                })
            })
            .collect();
        Ok(Json(json!({ "data": data })).into_response())
    })();
    Answer { sim: &sim, result }.into_response()
}

// ---------------------------------------------------------------- organizations, sections, rosters

async fn list_organizations(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        sim.authorize(&caller, &["enrollment.read"])?;
        let p = params(q)?;
        let lq = list_query(&p, "organizations")?;
        let updated = sim.base_updated;
        let items = sim
            .district
            .schools
            .iter()
            .filter(|_| lq.since.is_none_or(|s| updated >= s))
            .map(|s| (s.index as u64, s));
        let (schools, next) = page(items, &lq, "organizations");
        let data = schools
            .into_iter()
            .map(|s| {
                json!({
                    "id": s.uuid,
                    "name": s.name,
                    "code": s.code,
                    "type": "SCHOOL",
                    "updatedAt": ts(updated),
                })
            })
            .collect();
        Ok(list_answer(data, next))
    })();
    Answer { sim: &sim, result }.into_response()
}

async fn list_sections(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        sim.authorize(&caller, &["enrollment.read"])?;
        let p = params(q)?;
        let lq = list_query(&p, "sections")?;
        let org =
            match p.get("organizationId") {
                None => None,
                Some(id) => Some(*sim.school_by_id.get(id).ok_or_else(|| {
                    ApiError::not_found(format!("No organization with id {id}."))
                })?),
            };
        let d = &sim.district;
        let updated = sim.base_updated;
        let items = d
            .sections
            .iter()
            .filter(|s| org.is_none_or(|o| s.school == o))
            .filter(|_| lq.since.is_none_or(|s| updated >= s))
            .map(|s| (s.index as u64, s));
        let year = d.school_year_start.year();
        let (sections, next) = page(items, &lq, "sections");
        let data = sections
            .into_iter()
            .map(|s| {
                json!({
                    "id": s.uuid,
                    "organizationId": d.schools[s.school].uuid,
                    "name": s.name,
                    "code": s.code,
                    "isHomeroom": s.is_homeroom,
                    "subject": s.subject,
                    "gradeLevel": grade_label(s.grade),
                    "teacherPersonId": d.staff[s.teacher].uuid,
                    "schoolYear": format!("{}-{}", year, year + 1),
                    "updatedAt": ts(updated),
                })
            })
            .collect();
        Ok(list_answer(data, next))
    })();
    Answer { sim: &sim, result }.into_response()
}

async fn list_enrollments(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        sim.authorize(&caller, &["enrollment.read"])?;
        let p = params(q)?;
        let lq = list_query(&p, "enrollments")?;
        let d = &sim.district;
        let section = match p.get("sectionId") {
            None => None,
            Some(id) => Some(
                *sim.section_by_id
                    .get(id)
                    .ok_or_else(|| ApiError::not_found(format!("No section with id {id}.")))?,
            ),
        };
        let person = match p.get("personId") {
            None => None,
            Some(id) => match sim.by_id.get(id) {
                Some(&PersonRef::Student(i)) => Some(i),
                _ => return Err(ApiError::not_found(format!("No student with id {id}."))),
            },
        };
        let active = match p.get("active").map(String::as_str) {
            None => None,
            Some("true") => Some(true),
            Some("false") => Some(false),
            Some(v) => {
                return Err(ApiError::bad_param(format!(
                    "active must be true or false; got {v:?}."
                )))
            }
        };
        let today = sim.shared.clock.now().date_naive();
        let live = sim.live();
        // Position: section index in the high bits, place in the section's roster below.
        let first_section = lq
            .after
            .map_or(0, |a| (a >> 24) as usize)
            .min(d.sections.len());
        let rows: Box<dyn Iterator<Item = (u64, (usize, usize))>> = match (section, person) {
            (Some(sec), _) => Box::new(
                d.sections[sec]
                    .students
                    .iter()
                    .enumerate()
                    .map(move |(k, &s)| (((sec as u64) << 24) | k as u64, (sec, s))),
            ),
            (None, Some(s)) => {
                let mut secs: Vec<usize> = d.students[s].sections.clone();
                secs.sort_unstable();
                Box::new(secs.into_iter().map(move |sec| {
                    let k = d.sections[sec]
                        .students
                        .iter()
                        .position(|&x| x == s)
                        .unwrap_or(0);
                    (((sec as u64) << 24) | k as u64, (sec, s))
                }))
            }
            (None, None) => Box::new(d.sections[first_section..].iter().flat_map(|sec| {
                sec.students
                    .iter()
                    .enumerate()
                    .map(move |(k, &s)| (((sec.index as u64) << 24) | k as u64, (sec.index, s)))
            })),
        };
        let filtered = rows
            .filter(|(_, (sec, s))| {
                person.is_none_or(|p| p == *s) && section.is_none_or(|x| x == *sec)
            })
            .filter(|(_, (sec, s))| {
                let ended = live.ended.get(&(*s, *sec));
                let is_active = ended.is_none_or(|(on, _)| *on > today);
                active.is_none_or(|a| a == is_active)
                    && lq
                        .since
                        .is_none_or(|since| ended.map_or(sim.base_updated, |(_, at)| *at) >= since)
            });
        let (rows, next) = page(filtered, &lq, "enrollments");
        let data = rows
            .into_iter()
            .map(|(sec, s)| {
                let student = &d.students[s];
                let section = &d.sections[sec];
                let ended = live.ended.get(&(s, sec));
                let start = student.enrolled_on.max(d.school_year_start);
                json!({
                    "id": derived_uuid(&["enrollment", &student.uuid, &section.uuid]),
                    "personId": student.uuid,
                    "sectionId": section.uuid,
                    "organizationId": d.schools[section.school].uuid,
                    "gradeLevel": grade_label(student.grade_in(SYSTEM)),
                    "startDate": start.format("%Y-%m-%d").to_string(),
                    "endDate": ended.map(|(on, _)| on.format("%Y-%m-%d").to_string()),
                    "active": ended.is_none_or(|(on, _)| *on > today),
                    "updatedAt": ts(ended.map_or(sim.base_updated, |(_, at)| *at)),
                })
            })
            .collect();
        Ok(list_answer(data, next))
    })();
    Answer { sim: &sim, result }.into_response()
}

// ---------------------------------------------------------------- attendance

async fn list_attendance(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    q: Result<Query<Params>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let result = (|| {
        sim.authorize(&caller, &["attendance.read"])?;
        let p = params(q)?;
        let lq = list_query(&p, "attendance")?;
        let date = p
            .get("date")
            .and_then(|v| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok())
            .ok_or_else(|| ApiError::bad_param("date=YYYY-MM-DD is required."))?;
        let d = &sim.district;
        let section = p.get("sectionId").map(|id| {
            sim.section_by_id
                .get(id)
                .copied()
                .ok_or_else(|| ApiError::not_found(format!("No section with id {id}.")))
        });
        let org = p.get("organizationId").map(|id| {
            sim.school_by_id
                .get(id)
                .copied()
                .ok_or_else(|| ApiError::not_found(format!("No organization with id {id}.")))
        });
        let (section, org) = match (section, org) {
            (None, None) => {
                return Err(ApiError::bad_param(
                    "sectionId or organizationId is required with date.",
                ))
            }
            (s, o) => (s.transpose()?, o.transpose()?),
        };
        let in_scope = |sec: Option<&String>, student: &String| -> bool {
            let sec_index = sec.and_then(|s| sim.section_by_id.get(s)).copied();
            if let Some(want) = section {
                if sec_index != Some(want) {
                    return false;
                }
            }
            if let Some(o) = org {
                let school = sec_index.map(|s| d.sections[s].school).or_else(|| {
                    match sim.by_id.get(student) {
                        Some(&PersonRef::Student(i)) => Some(d.students[i].school),
                        _ => None,
                    }
                });
                if school != Some(o) {
                    return false;
                }
            }
            true
        };
        let live = sim.live();
        let homerooms: Vec<usize> = match (section, org) {
            (Some(s), _) => vec![s],
            (None, Some(o)) => d
                .sections
                .iter()
                .filter(|s| s.school == o)
                .map(|s| s.index)
                .collect(),
            (None, None) => Vec::new(),
        };
        let mut marks: Vec<Mark> = Vec::new();
        let mut seen: std::collections::HashSet<MarkKey> = std::collections::HashSet::new();
        for sec in homerooms {
            let sec = &d.sections[sec];
            if !sec.is_homeroom {
                continue;
            }
            for &s in &sec.students {
                if let Some(m) = sim.history_mark(s, date) {
                    let key = m.key();
                    let m = live.marks.get(&key).cloned().unwrap_or(m);
                    seen.insert(key);
                    marks.push(m);
                }
            }
        }
        for key in &live.mark_order {
            if key.3 != date || seen.contains(key) || !in_scope(key.1.as_ref(), &key.0) {
                continue;
            }
            if let Some(m) = live.marks.get(key) {
                marks.push(m.clone());
            }
        }
        let items = marks
            .into_iter()
            .filter(|m| lq.since.is_none_or(|s| m.updated_at >= s))
            .enumerate()
            .map(|(i, m)| (i as u64, m));
        let (marks, next) = page(items, &lq, "attendance");
        Ok(list_answer(marks.iter().map(Mark::to_json).collect(), next))
    })();
    Answer { sim: &sim, result }.into_response()
}

struct FieldProblems(Vec<Value>);

impl FieldProblems {
    fn add(&mut self, field: &str, problem: &str) {
        self.0.push(json!({"field": field, "problem": problem}));
    }
}

fn opt_str<'a>(
    body: &'a Map<String, Value>,
    field: &str,
    max: usize,
    problems: &mut FieldProblems,
) -> Option<&'a str> {
    match body.get(field) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.chars().count() <= max => Some(s.as_str()),
        Some(Value::String(_)) => {
            problems.add(field, &format!("must be at most {max} characters"));
            None
        }
        Some(_) => {
            problems.add(field, "must be a string");
            None
        }
    }
}

async fn post_attendance(
    State(sim): State<Arc<Sim>>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let result = submit(&sim, &caller, &headers, &body);
    Answer { sim: &sim, result }.into_response()
}

fn submit(sim: &Sim, caller: &Caller, headers: &HeaderMap, body: &[u8]) -> ApiResult {
    sim.authorize(caller, &["attendance.write"])?;
    let idem = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let invalid = |problems: Vec<Value>, msg: &str| {
        let mut e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation.failed", msg);
        e.details = Some(json!({ "fields": problems }));
        e
    };
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|e| invalid(vec![], &format!("Request body is not JSON: {e}.")))?;
    let Value::Object(obj) = &parsed else {
        return Err(invalid(vec![], "Request body must be a JSON object."));
    };
    let fingerprint = parsed.to_string();

    if let Some(k) = &idem {
        let live = sim.live();
        if let Some((seen_body, mark)) = live.idempotency.get(k) {
            if *seen_body == fingerprint {
                return Ok(
                    (StatusCode::OK, Json(json!({ "data": mark.to_json() }))).into_response()
                );
            }
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency.key_reused",
                "This Idempotency-Key was used with a different body; send a new key.",
            ));
        }
    }

    let mut problems = FieldProblems(Vec::new());
    let d = &sim.district;
    let student = match obj.get("studentId") {
        Some(Value::String(id)) => match sim.by_id.get(id) {
            Some(&PersonRef::Student(i)) => Some(i),
            _ => {
                problems.add("studentId", "is not a student of this district");
                None
            }
        },
        _ => {
            problems.add("studentId", "is required (a student person id)");
            None
        }
    };
    let section = match opt_str(obj, "sectionId", 64, &mut problems) {
        None => None,
        Some(id) => match sim.section_by_id.get(id) {
            Some(&sec) => Some(sec),
            None => {
                problems.add("sectionId", "is not a section of this district");
                None
            }
        },
    };
    if let (Some(s), Some(sec)) = (student, section) {
        if !d.sections[sec].students.contains(&s) {
            problems.add("sectionId", "the student is not enrolled in this section");
        }
    }
    let period = opt_str(obj, "period", 32, &mut problems);
    let date = match obj.get("date") {
        Some(Value::String(v)) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                problems.add("date", "must be YYYY-MM-DD");
                None
            }
        },
        _ => {
            problems.add("date", "is required (YYYY-MM-DD)");
            None
        }
    };
    let status = match obj.get("status") {
        Some(Value::String(s))
            if ["present", "absent", "tardy", "excused"].contains(&s.as_str()) =>
        {
            Some(s.clone())
        }
        _ => {
            problems.add("status", "must be one of present, absent, tardy, excused");
            None
        }
    };
    let code = opt_str(obj, "code", 16, &mut problems);
    let note = opt_str(obj, "note", 1000, &mut problems);
    let base_version = match obj.get("baseVersion") {
        None | Some(Value::Null) => None,
        Some(v) => match v.as_i64().filter(|n| *n >= 0) {
            Some(n) => Some(n),
            None => {
                problems.add("baseVersion", "must be a whole number");
                None
            }
        },
    };
    let (Some(s), Some(date), Some(status)) = (student, date, status) else {
        return Err(invalid(problems.0, "The attendance mark is not valid."));
    };
    if !problems.0.is_empty() {
        return Err(invalid(problems.0, "The attendance mark is not valid."));
    }

    let key: MarkKey = (
        d.students[s].uuid.clone(),
        section.map(|sec| d.sections[sec].uuid.clone()),
        period.map(str::to_string),
        date,
    );
    let now = sim.shared.clock.now();
    let mut live = sim.live();
    let current = sim.current_mark(&live, &key);
    if let (Some(base), Some(cur)) = (base_version, &current) {
        if cur.version != base {
            let mut e = ApiError::new(
                StatusCode::CONFLICT,
                "attendance.conflict",
                format!(
                    "The mark changed on the server (version {}, yours was based on {base}).",
                    cur.version
                ),
            );
            e.details = Some(json!({ "current": cur.to_json() }));
            drop(live);
            return Err(e);
        }
    }
    let kind = if current.is_some() {
        "attendance.update"
    } else {
        "attendance.create"
    };
    let mark = Mark {
        id: mark_id(&key),
        student_id: key.0.clone(),
        section_id: key.1.clone(),
        period: key.2.clone(),
        date,
        code: Some(code.map_or_else(|| status_code(&status).to_string(), str::to_string)),
        status,
        note: note.map(str::to_string),
        version: current.as_ref().map_or(1, |c| c.version + 1),
        updated_at: now,
    };
    Sim::store(&mut live, mark.clone());
    if let Some(k) = &idem {
        live.idempotency
            .insert(k.clone(), (fingerprint, mark.clone()));
    }
    drop(live);
    sim.shared.recorder.write(WriteRecord {
        system: SYSTEM,
        kind: kind.to_string(),
        key: idem,
        body: mark.to_json(),
        at: now,
    });
    Ok((StatusCode::CREATED, Json(json!({ "data": mark.to_json() }))).into_response())
}
