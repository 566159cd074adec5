//! PowerSchool Enrollment (formerly InfoSnap) API v1: HTTP Basic with the key as user name,
//! bad credentials answered with a 500, paged record lists wrapped in a one-element array.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use schooldesk_domain::{
    Checklist, ChecklistEntry, ChecklistItem, EnrollmentRecord, EnrollmentRecordKind, Source,
    System, Write,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;

use crate::error::{AuthProblem, ConnectorError, ReplyProblem};
use crate::http::{from_value, items, kind_of, Auth, Call, Http, Item, Reply, Retry};
use crate::redact::Secret;
use crate::routes::Route;
use crate::wire::{normalise_grade, opt_string, parse_date, string};
use crate::{SendOutcome, SettleContext, Settled, CLOCK_SLACK_SECS};

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

    /// The request for a write.
    pub(crate) fn write_call(&self, write: &Write) -> Result<Call, ConnectorError> {
        Ok(match write {
            Write::ImportRosterRecord {
                action_id,
                schema_id,
                record,
            } => {
                let r = &ROUTES.import_roster_record;
                Call::new(r, r.fill(&[("id", action_id), ("schemaId", schema_id)]))
                    .json(string_map(record))
            }
            Write::SubmitForm {
                action_id,
                data_items,
            } => {
                let r = &ROUTES.submit;
                let items: Vec<Value> = data_items
                    .iter()
                    .map(|(k, v)| serde_json::json!({"fieldName": k, "value": v}))
                    .collect();
                // The document shows the action id as a number.
                let action = action_id
                    .trim()
                    .parse::<u64>()
                    .map_or_else(|_| Value::from(action_id.as_str()), Value::from);
                Call::new(r, r.path.into()).json(serde_json::json!({
                    "publishedActionId": action,
                    "submission": {"dataItems": items},
                }))
            }
            Write::CreateBatch { target_id } => {
                let r = &ROUTES.create_batch;
                Call::new(r, r.fill(&[("id", target_id)]))
            }
            Write::ResetBatch {
                target_id,
                batch_id,
            } => {
                let r = &ROUTES.reset_batch;
                Call::new(r, r.fill(&[("id", target_id), ("batchId", batch_id)]))
            }
            other => return Err(not_ours(other)),
        }
        // Each of these changes state each time (or cannot be told apart from doing so):
        // only a 429, refused before anything was done, is retried here.
        .retry(Retry::OnlyRateLimited))
    }

    /// Sends a write. `createbatch`'s batch comes back in `Applied` and must be stored
    /// before the entry is marked done (it is never fetched twice).
    pub(crate) async fn send_write(&self, write: &Write) -> Result<SendOutcome, ConnectorError> {
        let call = self.write_call(write)?;
        match write {
            Write::ImportRosterRecord { .. } => {
                let v = self.get_json(call).await?;
                let result: ImportResult = from_value(SYSTEM, v.clone())?;
                refused_unless_success(&result, "import")?;
                Ok(SendOutcome::Applied(v))
            }
            Write::SubmitForm { .. } => {
                let v = reply_value(&self.call(call).await?)?;
                if let Ok(result) = serde_json::from_value::<ImportResult>(v.clone()) {
                    refused_unless_success(&result, "submission")?;
                }
                Ok(SendOutcome::Applied(v))
            }
            Write::CreateBatch { .. } => {
                let raw = self.get_json(call).await?;
                let _: Batch = from_value(SYSTEM, raw.clone())?;
                Ok(SendOutcome::Applied(raw))
            }
            Write::ResetBatch { .. } => {
                self.call(call).await?;
                Ok(SendOutcome::Applied(Value::Null))
            }
            other => Err(not_ours(other)),
        }
    }

    /// After an uncertain outcome: was the write applied? (See the crate's table.)
    pub(crate) async fn settle(
        &self,
        write: &Write,
        ctx: &SettleContext,
    ) -> Result<Settled, ConnectorError> {
        match write {
            Write::ImportRosterRecord {
                action_id, record, ..
            } => {
                let Some((key, external)) = external_id(record) else {
                    // Without an external id the import cannot have matched or created a
                    // record (the server requires one), so nothing can have been applied.
                    return Ok(Settled::NotApplied);
                };
                let found = self
                    .find_record(&ROUTES.roster_records, action_id, |raw| {
                        item_of(raw, &key).is_some_and(|v| same_text(&v, &external))
                    })
                    .await?;
                Ok(match found {
                    Some(raw) if holds_all(&raw, record) => Settled::Applied(raw),
                    _ => Settled::NotApplied,
                })
            }
            Write::SubmitForm {
                action_id,
                data_items,
            } => {
                let since = ctx.started_at - chrono::Duration::seconds(CLOCK_SLACK_SECS);
                let found = self
                    .find_record(&ROUTES.submission_records, action_id, |raw| {
                        holds_all(raw, data_items)
                            && raw
                                .get("submitted")
                                .and_then(Value::as_str)
                                .and_then(parse_utc)
                                .is_some_and(|at| at >= since)
                    })
                    .await?;
                Ok(found.map_or(Settled::NotApplied, Settled::Applied))
            }
            Write::CreateBatch { target_id } => {
                self.reset_lost_batches(target_id, ctx).await?;
                Ok(Settled::NotApplied)
            }
            // Resetting again is harmless, and writes to one target go out in order.
            Write::ResetBatch { .. } => Ok(Settled::NotApplied),
            other => Err(not_ours(other)),
        }
    }

    /// Pages through a published action's records (as large pages as the server serves)
    /// until `wanted` matches one.
    async fn find_record(
        &self,
        route: &Route,
        action_id: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Result<Option<Value>, ConnectorError> {
        let mut page = 1;
        loop {
            let p = self.records(route, action_id, page, MAX_PAGE).await?;
            if let Some(found) = p.records.into_iter().find(|r| wanted(&r.raw)) {
                return Ok(Some(found.raw));
            }
            if page >= p.meta.page_count || p.meta.page_count == 0 {
                return Ok(None);
            }
            page += 1;
        }
    }

    /// A `createbatch` whose answer was lost took records out of the pool, and
    /// `getbatches` cannot give them back: every batch the desk does not know, created since
    /// the lost request began, is reset so its records return to the pool. Returns the ids
    /// reset.
    pub async fn reset_lost_batches(
        &self,
        target_id: &str,
        ctx: &SettleContext,
    ) -> Result<Vec<String>, ConnectorError> {
        let since = ctx.started_at - chrono::Duration::seconds(CLOCK_SLACK_SECS);
        let batches = self
            .batches(target_id, Some(since.date_naive()), false)
            .await?;
        let mut reset = Vec::new();
        for b in batches {
            let id = b.wire.id.trim();
            if ctx
                .known_batches
                .iter()
                .any(|k| k.trim().eq_ignore_ascii_case(id))
            {
                continue;
            }
            let created = b.wire.date.as_deref().and_then(parse_utc);
            // A batch without a readable date is reset too: leaving the lost batch's
            // records out of delivery would be worse than delivering some twice.
            if created.is_some_and(|at| at < since) {
                continue;
            }
            let r = &ROUTES.reset_batch;
            let call = Call::new(r, r.fill(&[("id", target_id), ("batchId", id)]))
                .retry(Retry::OnlyRateLimited);
            match self.call(call).await {
                Ok(_) | Err(ConnectorError::NotFound { .. }) => reset.push(id.to_string()),
                Err(e) => return Err(e),
            }
        }
        if !reset.is_empty() {
            tracing::info!(
                system = %SYSTEM,
                target = target_id,
                batches = ?reset,
                "reset delivery batches left by a createbatch whose answer was lost"
            );
        }
        Ok(reset)
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
}

fn not_ours(write: &Write) -> ConnectorError {
    ConnectorError::Unsupported {
        system: SYSTEM,
        operation: write.operation().as_str().to_string(),
    }
}

fn refused_unless_success(result: &ImportResult, what: &str) -> Result<(), ConnectorError> {
    if result.status.eq_ignore_ascii_case("success") {
        return Ok(());
    }
    Err(ConnectorError::Validation {
        system: SYSTEM,
        messages: if result.errors.is_empty() {
            vec![format!("the {what} answered status '{}'", result.status)]
        } else {
            result.errors.clone()
        },
    })
}

fn string_map(map: &BTreeMap<String, String>) -> Value {
    Value::Object(
        map.iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect(),
    )
}

/// The record's external id field (`stu_ExternalID` first, else any `…ExternalID`) and value.
fn external_id(record: &BTreeMap<String, String>) -> Option<(String, String)> {
    record
        .get_key_value("stu_ExternalID")
        .or_else(|| record.iter().find(|(k, _)| k.ends_with("ExternalID")))
        .filter(|(_, v)| !v.trim().is_empty())
        .map(|(k, v)| (k.clone(), v.clone()))
}

/// One data item of a record: `dataItems` as an object (`{field: value}`), or as the list
/// form submissions use (`[{fieldName, value}]`).
fn item_of(raw: &Value, field: &str) -> Option<Value> {
    match raw.get("dataItems")? {
        Value::Object(m) => m.get(field).cloned(),
        Value::Array(list) => list
            .iter()
            .find(|i| i.get("fieldName").and_then(Value::as_str) == Some(field))
            .and_then(|i| i.get("value").cloned()),
        _ => None,
    }
}

/// The server trims what it stores and may answer numbers: compare as trimmed text.
fn same_text(server: &Value, ours: &str) -> bool {
    let text = match server {
        Value::String(s) => s.trim().to_string(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    text == ours.trim()
}

fn holds_all(raw: &Value, fields: &BTreeMap<String, String>) -> bool {
    fields.iter().all(|(k, v)| match item_of(raw, k) {
        Some(server) => same_text(&server, v),
        None => v.trim().is_empty(),
    })
}

/// PowerSchool's UTC times, with or without the `Z`.
fn parse_utc(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(s.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
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
