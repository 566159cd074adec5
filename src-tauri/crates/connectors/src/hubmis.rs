//! WCBS HUBmis JSON API 1.2.0: a client-credentials token (dead after 15 minutes whatever
//! `expires_in` says) and a `Realm` header on every call; 12 requests a minute per IP and a
//! 500-request bucket refilling one every 5 s. Read-only.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_domain::{
    AttendanceCode, AttendanceMark, AttendanceStatus, Guardian, LearningSupportRecord,
    LearningSupportReview, MarkState, School, Section, Source, Student, StudentGuardian, System,
};
use serde::Deserialize;
use serde_json::Value;
use std::time::Duration;

use crate::error::{AuthProblem, ConnectorError, ReplyProblem};
use crate::http::{from_value, items, Auth, Call, Http, Item, Reply};
use crate::redact::Secret;
use crate::routes::Route;
use crate::wire::{normalise_grade, opt_string, parse_date, string};

const SYSTEM: System = System::Hubmis;

/// Every HUBmis route Schooldesk uses.
pub struct Routes {
    pub prefix: &'static str,
    pub token: Route,
    pub students: Route,
    pub student: Route,
    pub student_contacts: Route,
    pub contacts: Route,
    pub contact: Route,
    pub attendance_codes: Route,
    pub student_attendance: Route,
    pub learning_support_records: Route,
    pub learning_support_record: Route,
    pub learning_support_review: Route,
    pub student_learning_support: Route,
    pub student_learning_support_reviews: Route,
    pub learning_support_types: Route,
    pub learning_support_severities: Route,
    pub learning_support_statuses: Route,
    pub learning_support_review_types: Route,
    pub year_groups: Route,
    pub tutor_groups: Route,
    pub tutor_group_students: Route,
}

pub const ROUTES: Routes = Routes {
    prefix: "/api/v1",
    token: Route::post("token", "/token"),
    students: Route::get("students", "/students"),
    student: Route::get("student", "/students/{id}"),
    student_contacts: Route::get("student_contacts", "/students/{id}/contacts"),
    // "Contacts: Get List" in the document: each contact with its students and relations,
    // so guardians and their links come in a few pages instead of a call per student.
    contacts: Route::get("contacts", "/contacts"),
    contact: Route::get("contact", "/contacts/{id}"),
    attendance_codes: Route::get("attendance_codes", "/attendance/codes"),
    student_attendance: Route::get("student_attendance", "/students/{id}/attendance"),
    learning_support_records: Route::get("learning_support_records", "/learning-support/records"),
    learning_support_record: Route::get(
        "learning_support_record",
        "/learning-support/records/{id}",
    ),
    learning_support_review: Route::get(
        "learning_support_review",
        "/learning-support/reviews/{id}",
    ),
    student_learning_support: Route::get(
        "student_learning_support",
        "/students/{id}/learning-support",
    ),
    student_learning_support_reviews: Route::get(
        "student_learning_support_reviews",
        "/students/{id}/learning-support/reviews",
    ),
    learning_support_types: Route::get("learning_support_types", "/learning-support/types"),
    learning_support_severities: Route::get(
        "learning_support_severities",
        "/learning-support/severities",
    ),
    learning_support_statuses: Route::get(
        "learning_support_statuses",
        "/learning-support/statuses",
    ),
    learning_support_review_types: Route::get(
        "learning_support_review_types",
        "/learning-support/review-types",
    ),
    year_groups: Route::get("year_groups", "/year-groups"),
    tutor_groups: Route::get("tutor_groups", "/tutor-groups"),
    tutor_group_students: Route::get("tutor_group_students", "/tutor-groups/{id}/students"),
};

/// The largest `page[size]` Schooldesk asks for; a shorter page is the last.
pub const MAX_PAGE: u32 = 1000;

/// Tokens die after 15 minutes whatever `expires_in` says; renew a minute early.
const TOKEN_LIFE: Duration = Duration::from_secs(15 * 60);
const RENEW_BEFORE: Duration = Duration::from_secs(60);

// ---- wire types ----

/// `{id, name}` look-ups embedded in records (form, year group, type, severity, …).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Named {
    #[serde(default, deserialize_with = "opt_string")]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

impl Named {
    pub fn label(&self) -> Option<String> {
        self.name
            .clone()
            .or_else(|| self.description.clone())
            .or_else(|| self.title.clone())
            .or_else(|| self.code.clone())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct StudentWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub preferred_name: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub enrolment_status: Option<String>,
    #[serde(default)]
    pub form: Option<Named>,
    #[serde(default)]
    pub year_group: Option<Named>,
    #[serde(default)]
    pub tutor_group: Option<Named>,
    /// The school (HUBmis calls a school of a realm a "section").
    #[serde(default)]
    pub section: Option<Named>,
}

/// How a contact stands towards one student (in both the student's contact list and the
/// contact's student list).
#[derive(Debug, Clone, Deserialize, PartialEq, Default)]
pub struct Relation {
    #[serde(default, alias = "relation_type", alias = "relationship_type")]
    pub relationship: Option<Value>,
    /// 1 is the first contact.
    #[serde(default)]
    pub priority: Option<u32>,
    #[serde(default)]
    pub emergency_contact: Option<bool>,
    #[serde(default, alias = "can_pick_up")]
    pub can_collect: Option<bool>,
    #[serde(default)]
    pub parental_responsibility: Option<bool>,
}

impl Relation {
    pub fn relationship_label(&self) -> Option<String> {
        match &self.relationship {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Object(m)) => m
                .get("name")
                .or_else(|| m.get("description"))
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => None,
        }
    }
}

/// A student–contact relation, from `/students/{id}/contacts`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ContactRelation {
    #[serde(default, deserialize_with = "opt_string")]
    pub contact_id: Option<String>,
    #[serde(default)]
    pub contact: Option<ContactWire>,
    #[serde(flatten)]
    pub relation: Relation,
}

impl ContactRelation {
    pub fn contact_id(&self) -> Option<String> {
        self.contact_id
            .clone()
            .or_else(|| self.contact.as_ref().map(|c| c.id.clone()))
    }
}

/// A phone number of a contact.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Phone {
    #[serde(default)]
    pub number: Option<String>,
    #[serde(default)]
    pub is_primary: bool,
}

/// One of a contact's students, with the relation.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ContactStudent {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(flatten)]
    pub relation: Relation,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ContactWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default, alias = "email")]
    pub primary_email: Option<String>,
    #[serde(default)]
    pub phones: Vec<Phone>,
    #[serde(default)]
    pub students: Vec<ContactStudent>,
}

impl ContactWire {
    pub fn phone(&self) -> Option<String> {
        self.phones
            .iter()
            .find(|p| p.is_primary)
            .or_else(|| self.phones.first())
            .and_then(|p| p.number.clone())
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct AttendanceCodeWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    pub code: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// The DfE statistical meaning: `present`, `authorised_absence`,
    /// `unauthorised_absence`, `approved_educational_activity`, `attendance_not_required`.
    #[serde(default)]
    pub statistical_meaning: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct SessionMark {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub date_time: Option<String>,
    #[serde(default)]
    pub attendance_session: Option<String>,
    #[serde(default)]
    pub attendance_code: Option<Value>,
    /// The note on the mark ("Unwell, parent phoned").
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub minutes_late: Option<i64>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LearningSupportRecordWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub learning_support_type: Option<Named>,
    #[serde(default)]
    pub severity: Option<Named>,
    #[serde(default)]
    pub status: Option<Named>,
    #[serde(default)]
    pub student: Option<Named>,
    #[serde(default, deserialize_with = "opt_string")]
    pub student_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct LearningSupportReviewWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub review_type: Option<Named>,
    #[serde(default)]
    pub review_date_time: Option<String>,
    #[serde(default)]
    pub agreed_actions: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub learning_support_record_id: Option<String>,
    #[serde(default)]
    pub student: Option<Named>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Group {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Deserialize)]
struct TokenReply {
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<u64>,
    access_token: String,
}

fn message_of(reply: &Reply) -> String {
    serde_json::from_slice::<Value>(&reply.body)
        .ok()
        .and_then(|v| {
            ["message", "error_description", "error", "title", "detail"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| reply.text_snippet())
}

pub fn classify(system: System, reply: &Reply) -> Option<ConnectorError> {
    let status = reply.status.as_u16();
    if reply.status.is_success() {
        return None;
    }
    let message = message_of(reply);
    let detail = format!("HTTP {status}: {message}");
    Some(match status {
        401 => ConnectorError::Auth {
            system,
            problem: AuthProblem::Unknown,
            detail,
        },
        403 => ConnectorError::Forbidden {
            system,
            ip_not_allowed: false,
            detail,
        },
        404 => ConnectorError::NotFound { system, detail },
        429 => ConnectorError::RateLimited {
            system,
            retry_after: None,
            detail,
        },
        400 | 422 => ConnectorError::Validation {
            system,
            messages: vec![message],
        },
        _ => ConnectorError::Server {
            system,
            status,
            detail,
        },
    })
}

/// The token endpoint refuses bad client credentials with 400 or 401.
fn classify_token(system: System, reply: &Reply) -> Option<ConnectorError> {
    match reply.status.as_u16() {
        400 | 401 => Some(ConnectorError::Auth {
            system,
            problem: AuthProblem::Unknown,
            detail: format!(
                "token request refused: HTTP {}: {}",
                reply.status.as_u16(),
                message_of(reply)
            ),
        }),
        _ => classify(system, reply),
    }
}

#[derive(Debug, Clone)]
struct Token {
    value: Secret,
    obtained_at: DateTime<Utc>,
    life: Duration,
    serial: u64,
}

/// Filters and paging for a list call.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub filters: Vec<(String, String)>,
    pub page: u32,
    pub page_size: u32,
}

impl ListQuery {
    pub fn page(page: u32, page_size: u32) -> Self {
        ListQuery {
            filters: Vec::new(),
            page,
            page_size,
        }
    }

    pub fn filter(self, name: &str, value: impl ToString) -> Self {
        self.param(&format!("filter[{name}]"), value)
    }

    /// Any other query parameter (`filter[dateTime][from]`, `sort[name]`, …).
    pub fn param(mut self, name: &str, value: impl ToString) -> Self {
        self.filters.push((name.to_string(), value.to_string()));
        self
    }
}

/// The HUBmis client.
#[derive(Debug)]
pub struct Hubmis {
    http: Http,
    client_id: String,
    client_secret: Secret,
    realm: String,
    academic_year_id: Option<String>,
    token: tokio::sync::Mutex<Option<Token>>,
    tokens_fetched: std::sync::atomic::AtomicU64,
}

impl Hubmis {
    pub(crate) fn new(
        http: Http,
        client_id: String,
        client_secret: Secret,
        realm: String,
        academic_year_id: Option<String>,
    ) -> Self {
        Hubmis {
            http,
            client_id,
            client_secret,
            realm,
            academic_year_id,
            token: tokio::sync::Mutex::new(None),
            tokens_fetched: std::sync::atomic::AtomicU64::new(0),
        }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    /// Tokens fetched so far (tests check that an expired token is renewed once).
    pub fn tokens_fetched(&self) -> u64 {
        self.tokens_fetched
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// A usable token: the held one, unless it is about to die or `stale_serial` says the
    /// server just refused it.
    async fn token(&self, stale_serial: Option<u64>) -> Result<Token, ConnectorError> {
        let mut held = self.token.lock().await;
        let now = self.http.pace().now();
        if let Some(t) = held.as_ref() {
            let age = (now - t.obtained_at).to_std().unwrap_or(Duration::ZERO);
            let fresh = age + RENEW_BEFORE < t.life;
            if fresh && stale_serial != Some(t.serial) {
                return Ok(t.clone());
            }
        }
        let r = &ROUTES.token;
        let call = Call::new(r, r.path.into()).form(vec![
            ("grant_type".into(), "client_credentials".into()),
            ("client_id".into(), self.client_id.clone()),
            (
                "client_secret".into(),
                self.client_secret.expose().to_string(),
            ),
        ]);
        let reply = self.http.send(&call, Auth::None, classify_token).await?;
        let tr: TokenReply = from_value(SYSTEM, reply.json(SYSTEM)?)?;
        if tr
            .token_type
            .as_deref()
            .is_some_and(|t| !t.eq_ignore_ascii_case("bearer"))
        {
            return Err(ConnectorError::BadReply {
                system: SYSTEM,
                kind: ReplyProblem::Malformed,
                detail: format!(
                    "token type '{}' is not Bearer",
                    tr.token_type.unwrap_or_default()
                ),
            });
        }
        let life = tr
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(TOKEN_LIFE)
            .min(TOKEN_LIFE);
        let serial = self
            .tokens_fetched
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1;
        let token = Token {
            value: Secret::new(tr.access_token),
            obtained_at: self.http.pace().now(),
            life,
            serial,
        };
        tracing::debug!(system = %SYSTEM, serial, "new access token");
        *held = Some(token.clone());
        Ok(token)
    }

    fn with_realm(&self, mut call: Call) -> Call {
        call = call.header("realm", &self.realm);
        if let Some(y) = &self.academic_year_id {
            call = call.header("academic-year-id", y);
        }
        call
    }

    /// Sends with the current token; on a 401, fetches a new token once and retries once.
    async fn get(&self, call: Call) -> Result<Value, ConnectorError> {
        let call = self.with_realm(call);
        let token = self.token(None).await?;
        match self
            .http
            .send(&call, Auth::Bearer(&token.value), classify)
            .await
        {
            Err(ConnectorError::Auth { .. }) => {
                tracing::info!(system = %SYSTEM, "token refused; fetching a new one");
                let token = self.token(Some(token.serial)).await?;
                match self
                    .http
                    .send(&call, Auth::Bearer(&token.value), classify)
                    .await
                {
                    Err(ConnectorError::Auth { detail, .. }) => Err(ConnectorError::Auth {
                        system: SYSTEM,
                        problem: AuthProblem::TokenRejected,
                        detail,
                    }),
                    other => other?.json(SYSTEM),
                }
            }
            other => other?.json(SYSTEM),
        }
    }

    async fn list<T: serde::de::DeserializeOwned>(
        &self,
        route: &Route,
        path: String,
        q: &ListQuery,
    ) -> Result<Vec<Item<T>>, ConnectorError> {
        let mut call = Call::new(route, path);
        for (k, v) in &q.filters {
            call = call.query(k, v);
        }
        if q.page > 0 {
            call = call
                .query("page[number]", q.page)
                .query("page[size]", q.page_size.clamp(1, MAX_PAGE));
        }
        items(SYSTEM, self.get(call).await?)
    }

    async fn one<T: serde::de::DeserializeOwned>(
        &self,
        route: &Route,
        id: &str,
    ) -> Result<Item<T>, ConnectorError> {
        let raw = self
            .get(Call::new(route, route.fill(&[("id", id)])))
            .await?;
        Ok(Item {
            wire: from_value(SYSTEM, raw.clone())?,
            raw,
        })
    }

    /// Fetches a token and reads the attendance codes: the credentials and realm work.
    pub async fn verify(&self) -> Result<(), ConnectorError> {
        self.attendance_codes().await.map(|_| ())
    }

    /// Current students, one page.
    pub async fn students(&self, q: &ListQuery) -> Result<Vec<Item<StudentWire>>, ConnectorError> {
        self.list(&ROUTES.students, ROUTES.students.path.into(), q)
            .await
    }

    pub async fn student(&self, id: &str) -> Result<Item<StudentWire>, ConnectorError> {
        self.one(&ROUTES.student, id).await
    }

    pub async fn student_contacts(
        &self,
        id: &str,
    ) -> Result<Vec<Item<ContactRelation>>, ConnectorError> {
        let r = &ROUTES.student_contacts;
        self.list(r, r.fill(&[("id", id)]), &ListQuery::default())
            .await
    }

    /// Contacts, one page, each with its students and relations.
    pub async fn contacts(&self, q: &ListQuery) -> Result<Vec<Item<ContactWire>>, ConnectorError> {
        self.list(&ROUTES.contacts, ROUTES.contacts.path.into(), q)
            .await
    }

    pub async fn contact(&self, id: &str) -> Result<Item<ContactWire>, ConnectorError> {
        self.one(&ROUTES.contact, id).await
    }

    pub async fn attendance_codes(&self) -> Result<Vec<Item<AttendanceCodeWire>>, ConnectorError> {
        let r = &ROUTES.attendance_codes;
        self.list(r, r.path.into(), &ListQuery::default()).await
    }

    /// A student's session marks between two dates (inclusive), optionally one session.
    pub async fn student_attendance(
        &self,
        student_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        session: Option<&str>,
    ) -> Result<Vec<Item<SessionMark>>, ConnectorError> {
        let r = &ROUTES.student_attendance;
        let mut q = ListQuery::default()
            .param("filter[dateTime][from]", format!("{from}T00:00:00Z"))
            .param("filter[dateTime][to]", format!("{to}T23:59:59Z"));
        if let Some(s) = session {
            q = q.filter("attendanceSession", s);
        }
        self.list(r, r.fill(&[("id", student_id)]), &q).await
    }

    pub async fn learning_support_records(
        &self,
        q: &ListQuery,
    ) -> Result<Vec<Item<LearningSupportRecordWire>>, ConnectorError> {
        let r = &ROUTES.learning_support_records;
        self.list(r, r.path.into(), q).await
    }

    pub async fn learning_support_record(
        &self,
        id: &str,
    ) -> Result<Item<LearningSupportRecordWire>, ConnectorError> {
        self.one(&ROUTES.learning_support_record, id).await
    }

    pub async fn learning_support_review(
        &self,
        id: &str,
    ) -> Result<Item<LearningSupportReviewWire>, ConnectorError> {
        self.one(&ROUTES.learning_support_review, id).await
    }

    pub async fn student_learning_support(
        &self,
        student_id: &str,
    ) -> Result<Value, ConnectorError> {
        let r = &ROUTES.student_learning_support;
        self.get(Call::new(r, r.fill(&[("id", student_id)]))).await
    }

    pub async fn student_learning_support_reviews(
        &self,
        student_id: &str,
        q: &ListQuery,
    ) -> Result<Vec<Item<LearningSupportReviewWire>>, ConnectorError> {
        let r = &ROUTES.student_learning_support_reviews;
        self.list(r, r.fill(&[("id", student_id)]), q).await
    }

    /// A look-up list: types, severities, statuses or review types.
    pub async fn lookup(&self, route: &Route) -> Result<Vec<Item<Named>>, ConnectorError> {
        self.list(route, route.path.into(), &ListQuery::default())
            .await
    }

    pub async fn year_groups(&self) -> Result<Vec<Item<Group>>, ConnectorError> {
        let r = &ROUTES.year_groups;
        self.list(r, r.path.into(), &ListQuery::default()).await
    }

    pub async fn tutor_groups(&self) -> Result<Vec<Item<Group>>, ConnectorError> {
        let r = &ROUTES.tutor_groups;
        self.list(r, r.path.into(), &ListQuery::default()).await
    }

    pub async fn tutor_group_students(
        &self,
        id: &str,
    ) -> Result<Vec<Item<StudentWire>>, ConnectorError> {
        let r = &ROUTES.tutor_group_students;
        self.list(r, r.fill(&[("id", id)]), &ListQuery::default())
            .await
    }
}

// ---- mapping to the domain model ----

/// HUBmis speaks year groups ("Year 5"); the US systems grades: Year N is grade N-1, and
/// Year 1 is kindergarten (`"K"`).
pub fn grade_from_year_group(label: &str) -> Option<String> {
    let n: i32 = label
        .trim()
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()?;
    (1..=13)
        .contains(&n)
        .then(|| normalise_grade(&(n - 1).to_string()))?
}

pub fn to_student(item: &Item<StudentWire>, fetched_at: DateTime<Utc>) -> Student {
    let s = &item.wire;
    Student {
        source: Source::new(SYSTEM, &s.id, fetched_at, item.raw.clone()),
        external_id: s.external_id.clone().filter(|x| !x.is_empty()),
        given_name: s.first_name.clone().unwrap_or_default(),
        family_name: s.last_name.clone().unwrap_or_default(),
        preferred_name: s.preferred_name.clone().filter(|x| !x.is_empty()),
        date_of_birth: s.date_of_birth.as_deref().and_then(parse_date),
        grade: s
            .year_group
            .as_ref()
            .and_then(Named::label)
            .and_then(|y| grade_from_year_group(&y)),
        school_source_id: s.section.as_ref().and_then(|x| x.id.clone()),
        homeroom: s
            .tutor_group
            .as_ref()
            .or(s.form.as_ref())
            .and_then(|g| g.id.clone().or_else(|| g.label())),
        active: is_current(s),
    }
}

/// The school a student's record names (HUBmis "section").
pub fn to_school(section: &Named, fetched_at: DateTime<Utc>) -> Option<School> {
    let id = section.id.clone()?;
    Some(School {
        source: Source::new(
            SYSTEM,
            &id,
            fetched_at,
            serde_json::json!({"id": id, "name": section.name, "code": section.code}),
        ),
        name: section.label().unwrap_or_default(),
        code: section.code.clone(),
    })
}

/// A contact as a guardian. The raw JSON keeps the contact's own fields, not its student list
/// (the links are stored as links).
pub fn to_guardian(item: &Item<ContactWire>, fetched_at: DateTime<Utc>) -> Guardian {
    let c = &item.wire;
    let mut raw = item.raw.clone();
    if let Value::Object(m) = &mut raw {
        m.remove("students");
    }
    Guardian {
        source: Source::new(SYSTEM, &c.id, fetched_at, raw),
        given_name: c.first_name.clone().unwrap_or_default(),
        family_name: c.last_name.clone().unwrap_or_default(),
        phone: c.phone(),
        email: c.primary_email.clone(),
    }
}

/// The contact a pupil's own contact list embeds: the only documented read that carries a
/// contact's phones (the contact list has none).
pub fn to_guardian_of_relation(
    rel: &Item<ContactRelation>,
    fetched_at: DateTime<Utc>,
) -> Option<Guardian> {
    let contact = rel.wire.contact.clone()?;
    let raw = rel.raw.get("contact").cloned().unwrap_or(Value::Null);
    Some(to_guardian(&Item { wire: contact, raw }, fetched_at))
}

/// Whether a pupil's record says they are on the school's roll (a list filtered on current
/// pupils can still carry one marked as left).
pub fn is_current(s: &StudentWire) -> bool {
    s.enrolment_status
        .as_deref()
        .is_none_or(|x| x.eq_ignore_ascii_case("current"))
}

fn link(student_id: &str, contact_id: &str, r: &Relation) -> StudentGuardian {
    StudentGuardian {
        system: SYSTEM,
        student_source_id: student_id.to_string(),
        guardian_source_id: contact_id.to_string(),
        relationship: r.relationship_label(),
        is_primary: r.priority == Some(1),
        can_pick_up: r.can_collect,
        emergency_contact: r.emergency_contact,
    }
}

/// The links a contact's student list carries.
pub fn to_student_guardians(item: &Item<ContactWire>) -> Vec<StudentGuardian> {
    let c = &item.wire;
    c.students
        .iter()
        .map(|s| link(&s.id, &c.id, &s.relation))
        .collect()
}

/// A link from a student's own contact list.
pub fn to_student_guardian(
    student_id: &str,
    rel: &Item<ContactRelation>,
) -> Option<StudentGuardian> {
    let r = &rel.wire;
    Some(link(student_id, &r.contact_id()?, &r.relation))
}

pub fn to_section(item: &Item<Group>, fetched_at: DateTime<Utc>) -> Section {
    let g = &item.wire;
    Section {
        source: Source::new(SYSTEM, &g.id, fetched_at, item.raw.clone()),
        school_source_id: None,
        name: g
            .name
            .clone()
            .or_else(|| g.code.clone())
            .unwrap_or_default(),
        code: g.code.clone(),
    }
}

/// A UK register code in Schooldesk's terms: lateness by its code (`L` before registers
/// closed, `U` after), everything else by its DfE statistical meaning, else the codes every
/// school uses.
pub fn status_of_code(code: &str, meaning: Option<&str>) -> Option<AttendanceStatus> {
    if matches!(code, "L" | "U") {
        return Some(AttendanceStatus::Tardy);
    }
    if let Some(m) = meaning {
        match m.to_ascii_lowercase().as_str() {
            "present" | "approved_educational_activity" => return Some(AttendanceStatus::Present),
            "authorised_absence" | "authorized_absence" => return Some(AttendanceStatus::Excused),
            "unauthorised_absence" | "unauthorized_absence" => {
                return Some(AttendanceStatus::Absent)
            }
            // School closed, not required: not an absence.
            "attendance_not_required" => return Some(AttendanceStatus::Excused),
            _ => {}
        }
    }
    Some(match code {
        "/" | "\\" | "B" | "D" | "J" | "P" | "V" | "W" | "K" => AttendanceStatus::Present,
        "C" | "E" | "H" | "I" | "M" | "R" | "S" | "T" | "Y" | "Q" | "#" | "X" | "Z" => {
            AttendanceStatus::Excused
        }
        "G" | "N" | "O" => AttendanceStatus::Absent,
        _ => return None,
    })
}

pub fn to_attendance_code(
    item: &Item<AttendanceCodeWire>,
    fetched_at: DateTime<Utc>,
) -> AttendanceCode {
    let c = &item.wire;
    AttendanceCode {
        source: Source::new(SYSTEM, &c.id, fetched_at, item.raw.clone()),
        code: c.code.clone(),
        description: c
            .name
            .clone()
            .or_else(|| c.description.clone())
            .unwrap_or_default(),
        status: status_of_code(&c.code, c.statistical_meaning.as_deref()),
    }
}

pub fn to_mark(
    student_id: &str,
    item: &Item<SessionMark>,
    codes: &[AttendanceCode],
    fetched_at: DateTime<Utc>,
) -> Option<AttendanceMark> {
    let m = &item.wire;
    let date = m
        .date
        .as_deref()
        .or(m.date_time.as_deref())
        .and_then(parse_date)?;
    let code = match &m.attendance_code {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.get("code").and_then(Value::as_str).map(str::to_string)?,
        _ => return None,
    };
    let status = codes
        .iter()
        .find(|c| c.code == code)
        .and_then(|c| c.status)
        .or_else(|| status_of_code(&code, None))?;
    Some(AttendanceMark {
        source: Source::new(SYSTEM, &m.id, fetched_at, item.raw.clone()),
        student_source_id: student_id.to_string(),
        section_source_id: None,
        period: m.attendance_session.clone(),
        date,
        status,
        code: Some(code),
        note: m.description.clone().filter(|n| !n.is_empty()),
        minutes: m.minutes_late,
        version: None,
        state: MarkState::Synced,
    })
}

pub fn to_learning_support_record(
    item: &Item<LearningSupportRecordWire>,
    fetched_at: DateTime<Utc>,
) -> Option<LearningSupportRecord> {
    let r = &item.wire;
    let student = r
        .student_id
        .clone()
        .or_else(|| r.student.as_ref().and_then(|s| s.id.clone()))?;
    Some(LearningSupportRecord {
        source: Source::new(SYSTEM, &r.id, fetched_at, item.raw.clone()),
        student_source_id: student,
        support_type: r.learning_support_type.as_ref().and_then(Named::label),
        severity: r.severity.as_ref().and_then(Named::label),
        status: r.status.as_ref().and_then(Named::label),
        notes: r.description.clone(),
    })
}

pub fn to_learning_support_review(
    item: &Item<LearningSupportReviewWire>,
    student_id: Option<&str>,
    fetched_at: DateTime<Utc>,
) -> LearningSupportReview {
    let r = &item.wire;
    LearningSupportReview {
        source: Source::new(SYSTEM, &r.id, fetched_at, item.raw.clone()),
        record_source_id: r.learning_support_record_id.clone(),
        student_source_id: student_id
            .map(str::to_string)
            .or_else(|| r.student.as_ref().and_then(|s| s.id.clone())),
        review_type: r.review_type.as_ref().and_then(Named::label),
        review_date: r.review_date_time.as_deref().and_then(parse_date),
        outcome: r.agreed_actions.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn year_groups_map_to_grades() {
        assert_eq!(grade_from_year_group("Year 1").as_deref(), Some("K"));
        assert_eq!(grade_from_year_group("Year 13").as_deref(), Some("12"));
        assert_eq!(grade_from_year_group("Reception"), None);
    }
}
