//! OmniForge SIS: REST under `/__api/v1`, a bearer API key, cursor-paged lists with
//! `updatedSince`, per-key fixed one-minute rate windows.

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use schooldesk_domain::{
    AttendanceMark, AttendanceStatus, Enrollment, Guardian, MarkState, MarkWrite, School, Section,
    Source, Student, StudentGuardian, System, Write,
};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use crate::error::{AuthProblem, ConnectorError};
use crate::http::{from_value, items, Auth, Call, Http, Item, Reply, Retry};
use crate::redact::Secret;
use crate::routes::Route;
use crate::wire::{normalise_grade, opt_string, parse_date};
use crate::SendOutcome;

const SYSTEM: System = System::OmniForge;

/// Every OmniForge route Schooldesk uses.
pub struct Routes {
    pub prefix: &'static str,
    pub persons: Route,
    pub person: Route,
    pub guardians: Route,
    pub organizations: Route,
    pub sections: Route,
    pub enrollments: Route,
    pub attendance: Route,
    pub submit_attendance: Route,
}

pub const ROUTES: Routes = Routes {
    prefix: "/__api/v1",
    persons: Route::get("persons", "/persons"),
    person: Route::get("person", "/persons/{id}"),
    guardians: Route::get("guardians", "/persons/{id}/guardians"),
    organizations: Route::get("organizations", "/organizations"),
    sections: Route::get("sections", "/sections"),
    enrollments: Route::get("enrollments", "/enrollments"),
    attendance: Route::get("attendance", "/attendance"),
    submit_attendance: Route::post("submit_attendance", "/attendance"),
};

/// The largest page the API serves.
pub const MAX_PAGE: u32 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonType {
    Student,
    Guardian,
    Staff,
}

impl PersonType {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonType::Student => "STUDENT",
            PersonType::Guardian => "GUARDIAN",
            PersonType::Staff => "STAFF",
        }
    }
}

/// Paging and change filters common to every list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListQuery {
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    pub updated_since: Option<DateTime<Utc>>,
}

impl ListQuery {
    fn apply(&self, call: Call) -> Call {
        call.query("limit", self.limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE))
            .query_opt("cursor", self.cursor.as_deref())
            .query_opt(
                "updatedSince",
                self.updated_since
                    .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<Item<T>>,
    pub next_cursor: Option<String>,
}

// ---- wire types (only the fields Schooldesk reads; the rest stays in the raw JSON) ----

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Person {
    pub id: String,
    #[serde(default)]
    pub person_type: Option<String>,
    #[serde(default, alias = "givenName")]
    pub first_name: Option<String>,
    #[serde(default, alias = "familyName")]
    pub last_name: Option<String>,
    #[serde(default)]
    pub preferred_name: Option<String>,
    #[serde(default, alias = "birthDate")]
    pub date_of_birth: Option<String>,
    #[serde(
        default,
        alias = "externalStudentId",
        alias = "studentNumber",
        deserialize_with = "opt_string"
    )]
    pub external_id: Option<String>,
    #[serde(default, alias = "grade", deserialize_with = "opt_string")]
    pub grade_level: Option<String>,
    #[serde(default, alias = "schoolId")]
    pub organization_id: Option<String>,
    #[serde(default, alias = "homeroomSectionId")]
    pub homeroom_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GuardianLink {
    pub guardian_person_id: String,
    #[serde(default)]
    pub relationship: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
    #[serde(default)]
    pub can_pick_up: Option<bool>,
    #[serde(default, alias = "emergencyContact")]
    pub is_emergency_contact: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SectionWire {
    pub id: String,
    #[serde(default)]
    pub organization_id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnrollmentWire {
    pub person_id: String,
    pub section_id: String,
    #[serde(default)]
    pub organization_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub grade_level: Option<String>,
    #[serde(default)]
    pub start_date: Option<String>,
    #[serde(default)]
    pub end_date: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Mark {
    pub id: String,
    pub student_id: String,
    #[serde(default)]
    pub section_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub period: Option<String>,
    pub date: String,
    pub status: String,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub version: Option<i64>,
    #[serde(default)]
    pub updated_at: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ListEnvelope {
    data: Value,
    #[serde(default)]
    page: Option<PageInfo>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    #[serde(default)]
    next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    details: Option<Value>,
}

fn error_body(reply: &Reply) -> Option<ErrorBody> {
    serde_json::from_slice::<ErrorEnvelope>(&reply.body)
        .ok()
        .map(|e| e.error)
}

/// Turns OmniForge's error envelope into a typed error (see the document's code table).
pub fn classify(system: System, reply: &Reply) -> Option<ConnectorError> {
    let status = reply.status.as_u16();
    if reply.status.is_success() {
        return None;
    }
    let body = error_body(reply);
    let code = body.as_ref().map(|b| b.code.as_str()).unwrap_or("");
    let detail = match &body {
        Some(b) => format!(
            "HTTP {status} {}: {}{}",
            b.code,
            b.message,
            b.trace_id
                .as_deref()
                .map(|t| format!(" (trace {t})"))
                .unwrap_or_default()
        ),
        None => format!("HTTP {status}: {}", reply.text_snippet()),
    };
    Some(match (status, code) {
        (401, _) => ConnectorError::Auth {
            system,
            problem: match code {
                "auth.api_key_revoked" => AuthProblem::Revoked,
                "auth.api_key_expired" => AuthProblem::Expired,
                "auth.api_key_malformed" => AuthProblem::Malformed,
                _ => AuthProblem::Unknown,
            },
            detail,
        },
        (403, _) => ConnectorError::Forbidden {
            system,
            ip_not_allowed: code == "auth.api_key_ip_not_allowed",
            detail,
        },
        (429, _) => ConnectorError::RateLimited {
            system,
            retry_after: None,
            detail,
        },
        (404, _) => ConnectorError::NotFound { system, detail },
        (409, _) => ConnectorError::Conflict { system, detail },
        (400 | 422, _) => ConnectorError::Validation {
            system,
            messages: vec![body.map_or(detail, |b| validation_text(&b))],
        },
        (500..=599, _) => ConnectorError::Server {
            system,
            status,
            detail,
        },
        _ => ConnectorError::Server {
            system,
            status,
            detail,
        },
    })
}

/// The message, and each field's problem when the server lists them
/// (`details.fields: [{field, problem}]`).
fn validation_text(b: &ErrorBody) -> String {
    let fields: Vec<String> = b
        .details
        .as_ref()
        .and_then(|d| d.get("fields"))
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|f| {
                    Some(format!(
                        "{} {}",
                        f.get("field")?.as_str()?,
                        f.get("problem")?.as_str()?
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    if fields.is_empty() {
        b.message.clone()
    } else {
        format!(
            "{} ({})",
            b.message.trim_end_matches('.'),
            fields.join("; ")
        )
    }
}

/// Like [`classify`], but lets a 409 through: the caller reads the server's current mark.
fn classify_write(system: System, reply: &Reply) -> Option<ConnectorError> {
    if reply.status.as_u16() == 409 {
        return None;
    }
    classify(system, reply)
}

/// The OmniForge client.
#[derive(Debug)]
pub struct OmniForge {
    http: Http,
    key: Secret,
}

impl OmniForge {
    pub(crate) fn new(http: Http, key: Secret) -> Self {
        OmniForge { http, key }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    async fn get(&self, call: Call) -> Result<Reply, ConnectorError> {
        self.http
            .send(&call, Auth::Bearer(&self.key), classify)
            .await
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        call: Call,
    ) -> Result<Page<T>, ConnectorError> {
        let reply = self.get(call).await?;
        let env: ListEnvelope = from_value(SYSTEM, reply.json(SYSTEM)?)?;
        Ok(Page {
            items: items(SYSTEM, env.data)?,
            next_cursor: env
                .page
                .and_then(|p| p.next_cursor)
                .filter(|c| !c.is_empty()),
        })
    }

    /// Checks the key with the smallest read there is.
    pub async fn verify(&self) -> Result<(), ConnectorError> {
        let call =
            Call::new(&ROUTES.organizations, ROUTES.organizations.path.into()).query("limit", 1);
        self.get(call).await.map(|_| ())
    }

    pub async fn persons(
        &self,
        kind: PersonType,
        q: &ListQuery,
    ) -> Result<Page<Person>, ConnectorError> {
        let call = Call::new(&ROUTES.persons, ROUTES.persons.path.into())
            .query("personType", kind.as_str());
        self.list(q.apply(call)).await
    }

    pub async fn person(&self, id: &str) -> Result<Item<Person>, ConnectorError> {
        let call = Call::new(&ROUTES.person, ROUTES.person.fill(&[("id", id)]));
        let reply = self.get(call).await?;
        let v = reply.json(SYSTEM)?;
        let raw = match v {
            Value::Object(mut m) if m.contains_key("data") => m.remove("data").unwrap_or_default(),
            other => other,
        };
        Ok(Item {
            wire: from_value(SYSTEM, raw.clone())?,
            raw,
        })
    }

    pub async fn guardians_of(
        &self,
        person_id: &str,
    ) -> Result<Vec<Item<GuardianLink>>, ConnectorError> {
        let call = Call::new(
            &ROUTES.guardians,
            ROUTES.guardians.fill(&[("id", person_id)]),
        );
        let reply = self.get(call).await?;
        let v = reply.json(SYSTEM)?;
        let list = match v {
            Value::Object(mut m) if m.contains_key("data") => m.remove("data").unwrap_or_default(),
            other => other,
        };
        items(SYSTEM, list)
    }

    pub async fn organizations(&self, q: &ListQuery) -> Result<Page<Organization>, ConnectorError> {
        let call = Call::new(&ROUTES.organizations, ROUTES.organizations.path.into());
        self.list(q.apply(call)).await
    }

    pub async fn sections(
        &self,
        organization_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<SectionWire>, ConnectorError> {
        let call = Call::new(&ROUTES.sections, ROUTES.sections.path.into())
            .query_opt("organizationId", organization_id);
        self.list(q.apply(call)).await
    }

    pub async fn enrollments(
        &self,
        section_id: Option<&str>,
        active_only: bool,
        q: &ListQuery,
    ) -> Result<Page<EnrollmentWire>, ConnectorError> {
        let call = Call::new(&ROUTES.enrollments, ROUTES.enrollments.path.into())
            .query_opt("sectionId", section_id)
            .query_opt("active", active_only.then_some("true"));
        self.list(q.apply(call)).await
    }

    pub async fn attendance(
        &self,
        date: NaiveDate,
        section_id: Option<&str>,
        organization_id: Option<&str>,
        q: &ListQuery,
    ) -> Result<Page<Mark>, ConnectorError> {
        let call = Call::new(&ROUTES.attendance, ROUTES.attendance.path.into())
            .query("date", date.format("%Y-%m-%d"))
            .query_opt("sectionId", section_id)
            .query_opt("organizationId", organization_id);
        self.list(q.apply(call)).await
    }

    /// The request for a write (only marks go to OmniForge).
    pub(crate) fn write_call(&self, write: &Write, key: Uuid) -> Result<Call, ConnectorError> {
        match write {
            Write::Mark(m) => Ok(mark_call(key, mark_body(m, m.base_version))),
            other => Err(not_ours(other)),
        }
    }

    /// Sends a mark. With no `base_version` (the desk never saw the server's mark) the
    /// server's mark is read first, so a teacher's mark is never overwritten unseen.
    pub(crate) async fn send_write(
        &self,
        write: &Write,
        key: Uuid,
    ) -> Result<SendOutcome, ConnectorError> {
        let Write::Mark(m) = write else {
            return Err(not_ours(write));
        };
        let mut base = m.base_version;
        if base.is_none() {
            if let Some(server) = self.server_mark(m).await? {
                match compare(m, &server.wire) {
                    Compared::Same => return Ok(SendOutcome::Applied(server.raw)),
                    Compared::Differs => return Ok(SendOutcome::Conflict(server.raw)),
                    // Same status and code, another note: the note is added against the
                    // version just read, so a change in between still conflicts.
                    Compared::NoteDiffers => match server.wire.version {
                        Some(v) => base = Some(v),
                        None => return Ok(SendOutcome::Conflict(server.raw)),
                    },
                }
            }
        }
        self.submit_attendance(key, mark_body(m, base)).await
    }

    /// The server's mark for the same student, section, period and day, if it has one.
    pub async fn server_mark(&self, m: &MarkWrite) -> Result<Option<Item<Mark>>, ConnectorError> {
        let organization = match &m.section_id {
            Some(_) => None,
            // Marks without a section are listed by school only.
            None => {
                let person = self.person(&m.student_id).await?;
                match person.wire.organization_id {
                    Some(org) => Some(org),
                    None => {
                        return Err(ConnectorError::Validation {
                            system: SYSTEM,
                            messages: vec![format!(
                                "student {} has no school in OmniForge, so Schooldesk cannot check the mark already there before sending; give the mark a class or sync again",
                                m.student_id
                            )],
                        })
                    }
                }
            }
        };
        let mut q = ListQuery::default();
        loop {
            let page = self
                .attendance(m.date, m.section_id.as_deref(), organization.as_deref(), &q)
                .await?;
            if let Some(found) = page.items.into_iter().find(|i| same_slot(m, &i.wire)) {
                return Ok(Some(found));
            }
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => return Ok(None),
            }
        }
    }

    /// `POST /attendance` with the outbox entry's idempotency key: the same key again returns
    /// the same mark and changes nothing, so a retry after a lost reply is safe.
    pub async fn submit_attendance(
        &self,
        idempotency_key: Uuid,
        body: Value,
    ) -> Result<SendOutcome, ConnectorError> {
        let call = mark_call(idempotency_key, body);
        let reply = self
            .http
            .send(&call, Auth::Bearer(&self.key), classify_write)
            .await?;
        let v = reply.json(SYSTEM)?;
        if reply.status.as_u16() == 409 {
            let current = v
                .pointer("/error/details/current")
                .cloned()
                .unwrap_or(Value::Null);
            return Ok(SendOutcome::Conflict(current));
        }
        Ok(SendOutcome::Applied(v.get("data").cloned().unwrap_or(v)))
    }
}

fn not_ours(write: &Write) -> ConnectorError {
    ConnectorError::Unsupported {
        system: SYSTEM,
        operation: write.operation().as_str().to_string(),
    }
}

fn mark_call(key: Uuid, body: Value) -> Call {
    Call::new(
        &ROUTES.submit_attendance,
        ROUTES.submit_attendance.path.into(),
    )
    .header("idempotency-key", &key.to_string())
    .json(body)
    // Idempotent by its key: network trouble may be retried.
    .retry(Retry::Safe)
}

/// The note OmniForge receives: the mark's note with the minutes late appended, since the
/// body has no field for them.
pub fn note_for(m: &MarkWrite) -> Option<String> {
    let note = m.note.as_deref().map(str::trim).filter(|n| !n.is_empty());
    match (note, m.minutes_late) {
        (Some(t), Some(n)) if t.contains(&late_text(n)) => Some(t.to_string()),
        (Some(t), Some(n)) => Some(format!("{t}; {}", late_text(n))),
        (None, Some(n)) => Some(late_text(n)),
        (note, None) => note.map(str::to_string),
    }
}

fn late_text(minutes: u32) -> String {
    format!("arrived {minutes} min late")
}

/// `POST /attendance`'s body for a mark.
pub fn mark_body(m: &MarkWrite, base_version: Option<i64>) -> Value {
    let mut b = serde_json::Map::new();
    b.insert("studentId".into(), Value::from(m.student_id.as_str()));
    if let Some(s) = &m.section_id {
        b.insert("sectionId".into(), Value::from(s.as_str()));
    }
    if let Some(p) = &m.period {
        b.insert("period".into(), Value::from(p.as_str()));
    }
    b.insert(
        "date".into(),
        Value::from(m.date.format("%Y-%m-%d").to_string()),
    );
    b.insert("status".into(), Value::from(m.status.as_str()));
    if let Some(c) = &m.code {
        b.insert("code".into(), Value::from(c.as_str()));
    }
    if let Some(n) = note_for(m) {
        b.insert("note".into(), Value::from(n));
    }
    if let Some(v) = base_version {
        b.insert("baseVersion".into(), Value::from(v));
    }
    Value::Object(b)
}

fn blank(v: Option<&str>) -> Option<&str> {
    v.map(str::trim).filter(|s| !s.is_empty())
}

/// Whether a server mark is for the same student, section, period and day.
fn same_slot(m: &MarkWrite, server: &Mark) -> bool {
    server.student_id == m.student_id
        && blank(server.section_id.as_deref()) == blank(m.section_id.as_deref())
        && blank(server.period.as_deref()) == blank(m.period.as_deref())
        && parse_date(&server.date) == Some(m.date)
}

enum Compared {
    Same,
    NoteDiffers,
    Differs,
}

/// Our mark against the server's: status and code decide (a code we do not set is the
/// server's to choose); a note we add that the server lacks is sent, one we lack is kept.
fn compare(m: &MarkWrite, server: &Mark) -> Compared {
    let status_same = server.status.trim().eq_ignore_ascii_case(m.status.as_str());
    let code_same = match blank(m.code.as_deref()) {
        None => true,
        Some(c) => blank(server.code.as_deref()).is_some_and(|s| s.eq_ignore_ascii_case(c)),
    };
    if !(status_same && code_same) {
        return Compared::Differs;
    }
    match note_for(m) {
        Some(n) if blank(server.note.as_deref()) != Some(n.trim()) => Compared::NoteDiffers,
        _ => Compared::Same,
    }
}

// ---- mapping to the domain model ----

pub fn to_school(item: &Item<Organization>, fetched_at: DateTime<Utc>) -> School {
    School {
        source: Source::new(SYSTEM, &item.wire.id, fetched_at, item.raw.clone()),
        name: item.wire.name.clone(),
        code: item.wire.code.clone(),
    }
}

pub fn to_student(item: &Item<Person>, fetched_at: DateTime<Utc>) -> Student {
    let p = &item.wire;
    Student {
        source: Source::new(SYSTEM, &p.id, fetched_at, item.raw.clone()),
        external_id: p.external_id.clone(),
        given_name: p.first_name.clone().unwrap_or_default(),
        family_name: p.last_name.clone().unwrap_or_default(),
        preferred_name: p.preferred_name.clone().filter(|s| !s.is_empty()),
        date_of_birth: p.date_of_birth.as_deref().and_then(parse_date),
        grade: p.grade_level.as_deref().and_then(normalise_grade),
        school_source_id: p.organization_id.clone(),
        homeroom: p.homeroom_id.clone(),
        active: p.active.unwrap_or_else(|| {
            p.status
                .as_deref()
                .is_none_or(|s| s.eq_ignore_ascii_case("active"))
        }),
    }
}

pub fn to_guardian(item: &Item<Person>, fetched_at: DateTime<Utc>) -> Guardian {
    let p = &item.wire;
    Guardian {
        source: Source::new(SYSTEM, &p.id, fetched_at, item.raw.clone()),
        given_name: p.first_name.clone().unwrap_or_default(),
        family_name: p.last_name.clone().unwrap_or_default(),
        phone: p.phone.clone(),
        email: p.email.clone(),
    }
}

pub fn to_student_guardian(student_id: &str, link: &Item<GuardianLink>) -> StudentGuardian {
    let l = &link.wire;
    StudentGuardian {
        system: SYSTEM,
        student_source_id: student_id.to_string(),
        guardian_source_id: l.guardian_person_id.clone(),
        relationship: l.relationship.clone(),
        is_primary: l.is_primary,
        can_pick_up: l.can_pick_up,
        emergency_contact: l.is_emergency_contact,
    }
}

pub fn to_section(item: &Item<SectionWire>, fetched_at: DateTime<Utc>) -> Section {
    Section {
        source: Source::new(SYSTEM, &item.wire.id, fetched_at, item.raw.clone()),
        school_source_id: item.wire.organization_id.clone(),
        name: item.wire.name.clone(),
        code: item.wire.code.clone(),
    }
}

pub fn to_enrollment(item: &Item<EnrollmentWire>, fetched_at: DateTime<Utc>) -> Enrollment {
    let e = &item.wire;
    Enrollment {
        system: SYSTEM,
        student_source_id: e.person_id.clone(),
        section_source_id: e.section_id.clone(),
        grade_level: e.grade_level.as_deref().and_then(normalise_grade),
        start_date: e.start_date.as_deref().and_then(parse_date),
        end_date: e.end_date.as_deref().and_then(parse_date),
        fetched_at,
    }
}

pub fn to_mark(
    item: &Item<Mark>,
    fetched_at: DateTime<Utc>,
) -> Result<AttendanceMark, ConnectorError> {
    let m = &item.wire;
    let bad = |what: &str| ConnectorError::BadReply {
        system: SYSTEM,
        kind: crate::error::ReplyProblem::Malformed,
        detail: format!("attendance mark {}: {what}", m.id),
    };
    Ok(AttendanceMark {
        source: Source::new(SYSTEM, &m.id, fetched_at, item.raw.clone()),
        student_source_id: m.student_id.clone(),
        section_source_id: m.section_id.clone(),
        period: m.period.clone(),
        date: parse_date(&m.date).ok_or_else(|| bad("date is not YYYY-MM-DD"))?,
        status: m
            .status
            .parse::<AttendanceStatus>()
            .map_err(|e| bad(&e.to_string()))?,
        code: m.code.clone(),
        note: m.note.clone(),
        minutes: None,
        version: m.version,
        state: MarkState::Synced,
    })
}
