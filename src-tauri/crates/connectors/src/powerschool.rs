//! PowerSchool Enrollment (formerly InfoSnap) API v1: HTTP Basic with the key as user name,
//! bad credentials answered with a 500, paged record lists wrapped in a one-element array.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_domain::{
    Checklist, ChecklistEntry, ChecklistItem, EnrollmentRecord, EnrollmentRecordKind, Source,
    System,
};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{AuthProblem, ConnectorError, ReplyProblem};
use crate::http::{from_value, items, kind_of, Auth, Call, Http, Item, Reply};
use crate::redact::Secret;
use crate::routes::Route;
use crate::wire::{normalise_grade, opt_string, parse_date, string};
use crate::SendOutcome;

const SYSTEM: System = System::PowerSchool;

/// Every PowerSchool Enrollment route Schooldesk uses (relative to `{base}/api`: the health
/// check sits outside `/v1`).
pub struct Routes {
    pub prefix: &'static str,
    pub health: Route,
    pub connection_test: Route,
    pub published_actions: Route,
    pub import_schemas: Route,
    pub import_roster_record: Route,
    pub roster_records: Route,
    pub submission_records: Route,
    pub roster_record: Route,
    pub submission_record: Route,
    pub submit: Route,
    pub checklists: Route,
    pub checklist: Route,
    pub checklist_entries: Route,
    pub delivery_targets: Route,
    pub create_batch: Route,
    pub get_batches: Route,
    pub reset_batch: Route,
    pub document: Route,
}

pub const ROUTES: Routes = Routes {
    prefix: "/api",
    health: Route::get("health", "/healthz"),
    connection_test: Route::get("connection_test", "/v1/connection/test"),
    published_actions: Route::get("published_actions", "/v1/publishedactions"),
    import_schemas: Route::get("import_schemas", "/v1/publishedactions/{id}/importschemas"),
    import_roster_record: Route::post(
        "import_roster_record",
        "/v1/publishedactions/{id}/importschemas/{schemaId}",
    ),
    roster_records: Route::get("roster_records", "/v1/publishedactions/{id}/rosterrecords"),
    submission_records: Route::get(
        "submission_records",
        "/v1/publishedactions/{id}/submissionrecords",
    ),
    roster_record: Route::get("roster_record", "/v1/rosterrecords/{id}"),
    submission_record: Route::get("submission_record", "/v1/submissionrecords/{id}"),
    submit: Route::post("submit", "/v1/submission"),
    checklists: Route::get("checklists", "/v1/checklists"),
    checklist: Route::get("checklist", "/v1/checklists/{id}"),
    checklist_entries: Route::get("checklist_entries", "/v1/checklists/{id}/checklistentries"),
    delivery_targets: Route::get("delivery_targets", "/v1/deliverytargets"),
    create_batch: Route::post("create_batch", "/v1/deliverytargets/{id}/createbatch"),
    get_batches: Route::get("get_batches", "/v1/deliverytargets/{id}/getbatches/{date}"),
    reset_batch: Route::post(
        "reset_batch",
        "/v1/deliverytargets/{id}/resetbatch/{batchId}",
    ),
    document: Route::get("document", "/v1/documents/{objectId}"),
};

/// The largest `pagesize` Schooldesk asks for; the reply's metadata says what was served.
pub const MAX_PAGE: u32 = 1000;

/// The text PowerSchool sends (with a 500) for bad credentials.
const NOT_AUTHORIZED: &str = "not authorized to access this resource";

// ---- wire types ----

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PublishedAction {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub academic_year: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ImportSchema {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub fields: Vec<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "camelCase")]
pub struct PageMeta {
    #[serde(default)]
    pub page: u32,
    #[serde(default)]
    pub page_size: u32,
    #[serde(default)]
    pub page_count: u32,
    #[serde(default)]
    pub record_count: u64,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub date_of_birth: Option<String>,
    #[serde(default, rename = "externalStudentID", deserialize_with = "opt_string")]
    pub external_student_id: Option<String>,
    #[serde(default, deserialize_with = "opt_string")]
    pub grade: Option<String>,
    #[serde(default)]
    pub school: Option<String>,
    #[serde(default)]
    pub enroll_status: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RecordsPage {
    pub meta: PageMeta,
    pub records: Vec<Item<Record>>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub academic_year: Option<String>,
    #[serde(default)]
    pub items: Vec<ChecklistItemWire>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistItemWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub item_type: Option<String>,
    #[serde(default)]
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ChecklistEntryWire {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default, rename = "externalStudentID", deserialize_with = "opt_string")]
    pub external_student_id: Option<String>,
    #[serde(default)]
    pub checklist_items: Vec<EntryItemWire>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct EntryItemWire {
    #[serde(rename = "checklistItemID", deserialize_with = "string")]
    pub checklist_item_id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default, rename = "dateCompleted")]
    pub date_completed: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct DeliveryTarget {
    #[serde(deserialize_with = "string")]
    pub id: String,
    #[serde(default)]
    pub title: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Batch {
    pub id: String,
    #[serde(default)]
    pub date: Option<String>,
    #[serde(default)]
    pub records: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct Message {
    #[serde(default, alias = "Message")]
    message: String,
}

#[derive(Debug, Deserialize)]
struct ImportResult {
    status: String,
    #[serde(default)]
    errors: Vec<String>,
}

/// PowerSchool's errors: `{"message": …}`; a 500 saying "not authorized" is a credentials
/// problem, not a server fault.
pub fn classify(system: System, reply: &Reply) -> Option<ConnectorError> {
    let status = reply.status.as_u16();
    if reply.status.is_success() {
        return None;
    }
    let message = serde_json::from_slice::<Message>(&reply.body)
        .map(|m| m.message)
        .unwrap_or_else(|_| reply.text_snippet());
    let detail = format!("HTTP {status}: {message}");
    if message.to_ascii_lowercase().contains(NOT_AUTHORIZED) || status == 401 {
        return Some(ConnectorError::Auth {
            system,
            problem: AuthProblem::Unknown,
            detail,
        });
    }
    Some(match status {
        403 => ConnectorError::Forbidden {
            system,
            ip_not_allowed: false,
            detail,
        },
        404 => ConnectorError::NotFound { system, detail },
        409 => ConnectorError::Conflict { system, detail },
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

/// The PowerSchool Enrollment client.
#[derive(Debug)]
pub struct PowerSchool {
    http: Http,
    key: Secret,
}

/// Unwraps the one-element array PowerSchool puts around single objects.
fn single(value: Value) -> Result<Value, ConnectorError> {
    match value {
        Value::Array(mut list) if list.len() == 1 => Ok(list.remove(0)),
        Value::Object(_) => Ok(value),
        other => Err(ConnectorError::BadReply {
            system: SYSTEM,
            kind: ReplyProblem::Malformed,
            detail: format!(
                "expected an array holding one object, got {}",
                kind_of(&other)
            ),
        }),
    }
}

impl PowerSchool {
    pub(crate) fn new(http: Http, key: Secret) -> Self {
        PowerSchool { http, key }
    }

    pub fn http(&self) -> &Http {
        &self.http
    }

    async fn call(&self, call: Call) -> Result<Reply, ConnectorError> {
        self.http
            .send(&call, Auth::BasicKey(&self.key), classify)
            .await
    }

    async fn get_json(&self, call: Call) -> Result<Value, ConnectorError> {
        self.call(call).await?.json(SYSTEM)
    }

    /// `connection/test`: the credentials work.
    pub async fn verify(&self) -> Result<(), ConnectorError> {
        let r = &ROUTES.connection_test;
        self.call(Call::new(r, r.path.into())).await.map(|_| ())
    }

    pub async fn published_actions(&self) -> Result<Vec<Item<PublishedAction>>, ConnectorError> {
        let r = &ROUTES.published_actions;
        items(SYSTEM, self.get_json(Call::new(r, r.path.into())).await?)
    }

    pub async fn import_schemas(
        &self,
        action_id: &str,
    ) -> Result<Vec<Item<ImportSchema>>, ConnectorError> {
        let r = &ROUTES.import_schemas;
        items(
            SYSTEM,
            self.get_json(Call::new(r, r.fill(&[("id", action_id)])))
                .await?,
        )
    }

    async fn records(
        &self,
        route: &Route,
        action_id: &str,
        page: u32,
        page_size: u32,
    ) -> Result<RecordsPage, ConnectorError> {
        let call = Call::new(route, route.fill(&[("id", action_id)]))
            .query("page", page.max(1))
            .query("pagesize", page_size.clamp(1, MAX_PAGE));
        let v = single(self.get_json(call).await?)?;
        let Value::Object(mut obj) = v else {
            unreachable!("single returns objects")
        };
        let meta: PageMeta = from_value(SYSTEM, obj.remove("metadata").unwrap_or(Value::Null))?;
        let records = items(
            SYSTEM,
            obj.remove("records").unwrap_or(Value::Array(vec![])),
        )?;
        Ok(RecordsPage { meta, records })
    }

    pub async fn roster_records(
        &self,
        action_id: &str,
        page: u32,
        page_size: u32,
    ) -> Result<RecordsPage, ConnectorError> {
        self.records(&ROUTES.roster_records, action_id, page, page_size)
            .await
    }

    pub async fn submission_records(
        &self,
        action_id: &str,
        page: u32,
        page_size: u32,
    ) -> Result<RecordsPage, ConnectorError> {
        self.records(&ROUTES.submission_records, action_id, page, page_size)
            .await
    }

    pub async fn record(
        &self,
        kind: EnrollmentRecordKind,
        id: &str,
    ) -> Result<Item<Record>, ConnectorError> {
        let r = match kind {
            EnrollmentRecordKind::Roster => &ROUTES.roster_record,
            EnrollmentRecordKind::Submission => &ROUTES.submission_record,
        };
        let raw = single(self.get_json(Call::new(r, r.fill(&[("id", id)]))).await?)?;
        Ok(Item {
            wire: from_value(SYSTEM, raw.clone())?,
            raw,
        })
    }

    pub async fn checklists(&self) -> Result<Vec<Item<ChecklistWire>>, ConnectorError> {
        let r = &ROUTES.checklists;
        items(SYSTEM, self.get_json(Call::new(r, r.path.into())).await?)
    }

    pub async fn checklist(&self, id: &str) -> Result<Item<ChecklistWire>, ConnectorError> {
        let r = &ROUTES.checklist;
        let raw = single(self.get_json(Call::new(r, r.fill(&[("id", id)]))).await?)?;
        Ok(Item {
            wire: from_value(SYSTEM, raw.clone())?,
            raw,
        })
    }

    pub async fn checklist_entries(
        &self,
        id: &str,
    ) -> Result<Vec<Item<ChecklistEntryWire>>, ConnectorError> {
        let r = &ROUTES.checklist_entries;
        items(
            SYSTEM,
            self.get_json(Call::new(r, r.fill(&[("id", id)]))).await?,
        )
    }

    pub async fn delivery_targets(&self) -> Result<Vec<Item<DeliveryTarget>>, ConnectorError> {
        let r = &ROUTES.delivery_targets;
        items(SYSTEM, self.get_json(Call::new(r, r.path.into())).await?)
    }

    pub async fn batches(
        &self,
        target_id: &str,
        date: Option<NaiveDate>,
        auto_open_only: bool,
    ) -> Result<Vec<Item<Batch>>, ConnectorError> {
        let r = &ROUTES.get_batches;
        let date = date
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        // Without a date the route ends at `getbatches` (no trailing slash).
        let path = r
            .fill(&[("id", target_id), ("date", &date)])
            .trim_end_matches('/')
            .to_string();
        let call = Call::new(r, path).query_opt("getAutoOpen", auto_open_only.then_some("true"));
        items(SYSTEM, self.get_json(call).await?)
    }

    /// `documents/{objectId}`: a short-lived URL to download the file from.
    pub async fn document_url(&self, object_id: &str) -> Result<String, ConnectorError> {
        let r = &ROUTES.document;
        match self
            .get_json(Call::new(r, r.fill(&[("objectId", object_id)])))
            .await?
        {
            Value::String(url) => Ok(url),
            other => Err(ConnectorError::BadReply {
                system: SYSTEM,
                kind: ReplyProblem::Malformed,
                detail: format!("expected a JSON string (a URL), got {}", kind_of(&other)),
            }),
        }
    }

    /// Downloads a family's document: asks for a fresh signed link, then fetches the file
    /// from it (without credentials). Returns the bytes and the content type.
    pub async fn download_document(
        &self,
        object_id: &str,
    ) -> Result<(Vec<u8>, Option<String>), ConnectorError> {
        let url = self.document_url(object_id).await?;
        self.http.download(url.trim()).await
    }

    /// Imports (creates or updates) one roster record. PowerSchool answers 200 either way;
    /// `"status": "Error"` is a refusal of the data.
    pub async fn import_roster_record(
        &self,
        action_id: &str,
        schema_id: &str,
        record: &Value,
    ) -> Result<SendOutcome, ConnectorError> {
        let r = &ROUTES.import_roster_record;
        let call = Call::new(r, r.fill(&[("id", action_id), ("schemaId", schema_id)]))
            .json(record.clone());
        let v = self.get_json(call).await?;
        let result: ImportResult = from_value(SYSTEM, v.clone())?;
        if result.status.eq_ignore_ascii_case("success") {
            Ok(SendOutcome::Applied(v))
        } else {
            Err(ConnectorError::Validation {
                system: SYSTEM,
                messages: if result.errors.is_empty() {
                    vec![format!("import answered status '{}'", result.status)]
                } else {
                    result.errors
                },
            })
        }
    }

    /// `POST submission`: one family's form, submitted on their behalf. Like an import, a
    /// refusal may come as `"status": "Error"` with a 200.
    pub async fn submit(&self, body: &Value) -> Result<SendOutcome, ConnectorError> {
        let r = &ROUTES.submit;
        let reply = self
            .call(Call::new(r, r.path.into()).json(body.clone()))
            .await?;
        let v = reply_value(&reply)?;
        if let Ok(result) = serde_json::from_value::<ImportResult>(v.clone()) {
            if !result.status.eq_ignore_ascii_case("success") {
                return Err(ConnectorError::Validation {
                    system: SYSTEM,
                    messages: if result.errors.is_empty() {
                        vec![format!("submission answered status '{}'", result.status)]
                    } else {
                        result.errors
                    },
                });
            }
        }
        Ok(SendOutcome::Applied(v))
    }

    /// `createbatch` takes records out of the delivery pool: it is never retried after it may
    /// have reached the server, and the batch it returns must be stored before it is shown.
    pub async fn create_batch(&self, target_id: &str) -> Result<Item<Batch>, ConnectorError> {
        let r = &ROUTES.create_batch;
        let raw = self
            .get_json(Call::new(r, r.fill(&[("id", target_id)])))
            .await?;
        Ok(Item {
            wire: from_value(SYSTEM, raw.clone())?,
            raw,
        })
    }

    /// `resetbatch`: 204 when done, 404 when the batch does not exist.
    pub async fn reset_batch(
        &self,
        target_id: &str,
        batch_id: &str,
    ) -> Result<SendOutcome, ConnectorError> {
        let r = &ROUTES.reset_batch;
        self.call(Call::new(
            r,
            r.fill(&[("id", target_id), ("batchId", batch_id)]),
        ))
        .await?;
        Ok(SendOutcome::Applied(Value::Null))
    }
}

fn reply_value(reply: &Reply) -> Result<Value, ConnectorError> {
    if reply.body.iter().all(u8::is_ascii_whitespace) {
        Ok(Value::Null)
    } else {
        reply.json(SYSTEM)
    }
}

// ---- mapping to the domain model ----

pub fn to_enrollment_record(
    kind: EnrollmentRecordKind,
    action_id: &str,
    item: &Item<Record>,
    fetched_at: DateTime<Utc>,
) -> EnrollmentRecord {
    let r = &item.wire;
    EnrollmentRecord {
        source: Source::new(SYSTEM, &r.id, fetched_at, item.raw.clone()),
        kind,
        published_action_id: Some(action_id.to_string()),
        external_student_id: r.external_student_id.clone().filter(|s| !s.is_empty()),
        given_name: r.first_name.clone(),
        family_name: r.last_name.clone(),
        date_of_birth: r.date_of_birth.as_deref().and_then(parse_date),
        grade: r.grade.as_deref().and_then(normalise_grade),
        status: r.status.clone(),
    }
}

pub fn to_checklist(item: &Item<ChecklistWire>, fetched_at: DateTime<Utc>) -> Checklist {
    let c = &item.wire;
    Checklist {
        source: Source::new(SYSTEM, &c.id, fetched_at, item.raw.clone()),
        name: c.title.clone().unwrap_or_default(),
        items: c
            .items
            .iter()
            .map(|i| ChecklistItem {
                source_id: i.id.clone(),
                name: i.name.clone().unwrap_or_default(),
                required: i.required.unwrap_or(true),
            })
            .collect(),
    }
}

/// One domain entry per (family entry, checklist item).
pub fn to_checklist_entries(
    checklist_id: &str,
    item: &Item<ChecklistEntryWire>,
    fetched_at: DateTime<Utc>,
) -> Vec<ChecklistEntry> {
    let e = &item.wire;
    e.checklist_items
        .iter()
        .map(|ci| ChecklistEntry {
            source: Source::new(
                SYSTEM,
                format!("{}:{}", e.id, ci.checklist_item_id),
                fetched_at,
                serde_json::json!({
                    "entry": item.raw.get("id").cloned().unwrap_or(Value::Null),
                    "externalStudentID": e.external_student_id,
                    "item": serde_json::to_value(ci_raw(item, &ci.checklist_item_id)).unwrap_or(Value::Null),
                }),
            ),
            checklist_source_id: checklist_id.to_string(),
            item_source_id: ci.checklist_item_id.clone(),
            record_source_id: Some(e.id.clone()),
            external_student_id: e.external_student_id.clone(),
            completed: ci
                .status
                .as_deref()
                .is_some_and(|s| s.eq_ignore_ascii_case("completed")),
            date_completed: ci.date_completed.as_deref().and_then(parse_date),
        })
        .collect()
}

fn ci_raw(item: &Item<ChecklistEntryWire>, item_id: &str) -> Value {
    item.raw
        .get("checklistItems")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter().find(|v| {
                let id = match v.get("checklistItemID") {
                    Some(Value::String(s)) => s.clone(),
                    Some(other) => other.to_string(),
                    None => return false,
                };
                id == item_id
            })
        })
        .cloned()
        .unwrap_or(Value::Null)
}
