//! The writes a person makes at the desk, each checked against the cache and queued as a
//! typed [`Write`] in one transaction (saved at once, sent when the network allows), and what
//! a person does with a queued write afterwards: read its receipt, resolve a conflict, retry a
//! failure, or discard it.

use chrono::{DateTime, Utc};
use schooldesk_cache::{DeliveryBatch, NewOutboxEntry, Receipt, Resolution};
use schooldesk_domain::{OutboxEntry, System, Write, MATRIX_USER_FIELDS};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use uuid::Uuid;

use crate::desk::{Desk, DeskError, Result};

fn invalid(msg: impl Into<String>) -> DeskError {
    DeskError::InvalidInput(msg.into())
}

/// `system:id` or a bare id, as the read commands print them, for `system`.
fn local_id(system: System, id: &str) -> Result<String> {
    let id = id.trim();
    let bare = match id.split_once(':') {
        Some((prefix, rest)) if prefix.parse::<System>().is_ok() => {
            if prefix.parse::<System>().ok() != Some(system) {
                return Err(invalid(format!(
                    "'{id}' is an id in another system; this change is for {}. Nothing was saved.",
                    system.display_name()
                )));
            }
            rest
        }
        _ => id,
    };
    if bare.is_empty() {
        return Err(invalid("An id is empty. Nothing was saved."));
    }
    Ok(bare.to_string())
}

/// A record file's fields as text: strings as they are, numbers written out; anything else
/// is refused.
fn text_fields(record: &Map<String, Value>, what: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (k, v) in record {
        let value = match v {
            Value::String(s) => s.trim().to_string(),
            Value::Number(n) => n.to_string(),
            Value::Null => continue,
            _ => {
                return Err(invalid(format!(
                    "In the {what}, '{k}' must be text or a number. Nothing was queued."
                )))
            }
        };
        out.insert(k.clone(), value);
    }
    Ok(out)
}

/// The field of an import schema that identifies a roster record (its external id): the
/// record must carry it, or PowerSchool cannot tell which record to create or update.
fn key_field(fields: &[String]) -> Option<&String> {
    fields
        .iter()
        .find(|f| f.to_ascii_lowercase().ends_with("externalid"))
}

impl Desk {
    /// What a queued write does, in words, with its students named from the cache (their
    /// system ids where the cache does not know them): the app's outbox and the CLI's.
    pub fn describe_write(&self, entry: &OutboxEntry) -> String {
        let system = entry.system;
        entry.write.describe_with(|id| {
            self.cache()
                .student(system, id)
                .ok()
                .flatten()
                .map(|s| s.display_name())
        })
    }

    /// Queues any typed write as it is (callers check it first).
    fn queue(&self, write: Write, now: DateTime<Utc>, key: Uuid) -> Result<OutboxEntry> {
        if write.system() == System::Hubmis {
            return Err(invalid(
                "HUBmis is read-only: Schooldesk cannot send changes to it.",
            ));
        }
        if self.cache().connection(write.system())?.is_none() {
            return Err(DeskError::NotConnected(
                write.system().display_name(),
                write.system().as_str(),
            ));
        }
        Ok(self.cache().enqueue(NewOutboxEntry {
            idempotency_key: key,
            write,
            created_at: now,
        })?)
    }

    /// A school's attendance code, checked against the codes it uses (when the desk knows
    /// any).
    pub(crate) fn checked_code(
        &self,
        system: System,
        code: Option<&str>,
    ) -> Result<Option<String>> {
        let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
            return Ok(None);
        };
        let known = self.cache().codes_in_use(system)?;
        if !known.is_empty() && !known.iter().any(|k| k == code) {
            return Err(invalid(format!(
                "'{code}' is not an attendance code {} uses here. Codes in use: {}. Nothing was saved.",
                system.display_name(),
                known.join(", ")
            )));
        }
        Ok(Some(code.to_string()))
    }

    /// PowerSchool: queues a roster record import, checked against the import schema's fields
    /// first (from the last sync): unknown fields, or no external id, and nothing is queued.
    pub fn import_roster_record(
        &self,
        action_id: &str,
        schema_id: &str,
        record: &Value,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let write = self.roster_record_write(action_id, schema_id, record)?;
        self.queue(write, now, key)
    }

    /// The checked write [`Desk::import_roster_record`] queues, also used to correct a failed
    /// import before `retry`.
    pub fn roster_record_write(
        &self,
        action_id: &str,
        schema_id: &str,
        record: &Value,
    ) -> Result<Write> {
        let (action_id, schema_id) = (action_id.trim(), schema_id.trim());
        let Value::Object(record) = record else {
            return Err(invalid(
                "The record file must hold one JSON object of field names and values. Nothing was queued.",
            ));
        };
        let schema = self
            .cache()
            .import_schema(action_id, schema_id)?
            .ok_or_else(|| {
                invalid(format!(
                    "Schooldesk does not know import schema {schema_id} of published action \
                 {action_id}. Sync PowerSchool (`schooldesk sync powerschool`) and check the ids. \
                 Nothing was queued."
                ))
            })?;
        let fields = text_fields(record, "record")?;
        let unknown: Vec<&str> = fields
            .keys()
            .filter(|k| !schema.fields.contains(k))
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(invalid(format!(
                "Not fields of import schema {schema_id} ('{}'): {}. Its fields are: {}. Nothing was queued.",
                schema.title,
                unknown.join(", "),
                schema.fields.join(", ")
            )));
        }
        let key_name = key_field(&schema.fields).ok_or_else(|| {
            invalid(format!(
                "Import schema {schema_id} has no external-id field, so a record sent through \
                 it could not be matched. Nothing was queued."
            ))
        })?;
        if fields.get(key_name).is_none_or(String::is_empty) {
            return Err(invalid(format!(
                "The record has no '{key_name}', the field PowerSchool matches roster records \
                 on (it is required). Nothing was queued."
            )));
        }
        Ok(Write::ImportRosterRecord {
            action_id: action_id.into(),
            schema_id: schema_id.into(),
            record: fields,
        })
    }

    /// PowerSchool: queues one family's form. The file is either `{"dataItems": [{fieldName,
    /// value}…]}` (also inside `"submission"`) or a plain object of field → value.
    pub fn submit_form(
        &self,
        action_id: &str,
        form: &Value,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let write = self.form_write(action_id, form)?;
        self.queue(write, now, key)
    }

    /// The checked write [`Desk::submit_form`] queues, also used to correct a failed
    /// submission before `retry`.
    pub fn form_write(&self, action_id: &str, form: &Value) -> Result<Write> {
        let action_id = action_id.trim();
        if action_id.is_empty() {
            return Err(invalid(
                "Say which published action the form is for (--action).",
            ));
        }
        let items = form
            .get("submission")
            .and_then(|s| s.get("dataItems"))
            .or_else(|| form.get("dataItems"));
        let data_items = match (items, form) {
            (Some(Value::Array(items)), _) => {
                let mut map = Map::new();
                for (i, item) in items.iter().enumerate() {
                    let name = item.get("fieldName").and_then(Value::as_str).unwrap_or("");
                    if name.trim().is_empty() {
                        return Err(invalid(format!(
                            "dataItems[{i}] has no fieldName. Nothing was queued."
                        )));
                    }
                    map.insert(
                        name.trim().to_string(),
                        item.get("value").cloned().unwrap_or(Value::Null),
                    );
                }
                text_fields(&map, "form")?
            }
            (None, Value::Object(map)) => text_fields(map, "form")?,
            _ => {
                return Err(invalid(
                    "The form file must be a JSON object of field names and values, or \
                     {\"dataItems\": [{\"fieldName\": …, \"value\": …}]}. Nothing was queued.",
                ))
            }
        };
        for required in ["stu_FirstName", "stu_LastName"] {
            if data_items.get(required).is_none_or(String::is_empty) {
                return Err(invalid(format!(
                    "The form has no '{required}'; PowerSchool needs the student's first and \
                     last name. Nothing was queued."
                )));
            }
        }
        Ok(Write::SubmitForm {
            action_id: action_id.into(),
            data_items,
        })
    }

    /// PowerSchool: queues fetching the next delivery batch of a target.
    pub fn fetch_batch(
        &self,
        target_id: &str,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let target_id = target_id.trim();
        if target_id.is_empty() {
            return Err(invalid("Say which delivery target (--target)."));
        }
        self.queue(
            Write::CreateBatch {
                target_id: target_id.into(),
            },
            now,
            key,
        )
    }

    /// PowerSchool: queues putting a delivered batch's records back in the pool.
    pub fn reset_batch(
        &self,
        target_id: &str,
        batch_id: &str,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let (target_id, batch_id) = (target_id.trim(), batch_id.trim());
        if target_id.is_empty() || batch_id.is_empty() {
            return Err(invalid(
                "Say which delivery target and batch (--target, --batch).",
            ));
        }
        self.queue(
            Write::ResetBatch {
                target_id: target_id.into(),
                batch_id: batch_id.into(),
            },
            now,
            key,
        )
    }

    /// Delivery batches fetched, with their records.
    pub fn delivery_batches(&self, target_id: Option<&str>) -> Result<Vec<DeliveryBatch>> {
        Ok(self.cache().delivery_batches(target_id.map(str::trim))?)
    }

    fn matrix_class(&self, class: &str) -> Result<String> {
        let class = local_id(System::Matrix, class)?;
        if self.cache().section(System::Matrix, &class)?.is_none() {
            return Err(invalid(format!(
                "There is no Matrix class '{class}' in the cache. Find it with `schooldesk \
                 sections`, or sync first. Nothing was queued."
            )));
        }
        Ok(class)
    }

    fn matrix_user(&self, user: &str) -> Result<(String, Map<String, Value>)> {
        let user = local_id(System::Matrix, user)?;
        let student = self
            .cache()
            .student(System::Matrix, &user)?
            .ok_or_else(|| {
                invalid(format!(
                    "There is no Matrix user '{user}' in the cache. Find the id with `schooldesk \
                 students --search NAME`, or sync first. Nothing was queued."
                ))
            })?;
        let source = match student.source.raw {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        Ok((user, source))
    }

    /// Matrix: queues enrolling (`add`) or unenrolling students in a class.
    pub fn change_class(
        &self,
        add: bool,
        class: &str,
        students: &[String],
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let class_id = self.matrix_class(class)?;
        if students.is_empty() {
            return Err(invalid(
                "Name at least one student (--student ID). Nothing was queued.",
            ));
        }
        let mut student_ids = Vec::new();
        for s in students {
            let (id, _) = self.matrix_user(s)?;
            if !student_ids.contains(&id) {
                student_ids.push(id);
            }
        }
        let write = if add {
            Write::AddStudents {
                class_id,
                student_ids,
            }
        } else {
            Write::RemoveStudents {
                class_id,
                student_ids,
            }
        };
        self.queue(write, now, key)
    }

    /// Matrix: queues one student's grade for an assignment ("set to"), remembering the
    /// grade the desk held so a doubtful resend can tell a teacher's change from its own.
    pub fn set_grade(
        &self,
        class: &str,
        assignment: &str,
        student: &str,
        grade: &str,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let class_id = self.matrix_class(class)?;
        let (student_id, _) = self.matrix_user(student)?;
        let (assignment, grade) = (assignment.trim(), grade.trim());
        if assignment.is_empty() {
            return Err(invalid(
                "Say which assignment (--assignment ID). Nothing was queued.",
            ));
        }
        if grade.is_empty() {
            return Err(invalid("The grade is empty. Nothing was queued."));
        }
        let seen = self
            .cache()
            .grades(System::Matrix, &class_id)?
            .into_iter()
            .find(|g| g.student_source_id == student_id && g.assignment == assignment)
            // Matrix's `grade` (what `set_grades_for_assignment` sets), not the points score.
            .and_then(|g| {
                g.source
                    .raw
                    .get("grade")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            });
        self.queue(
            Write::SetGrade {
                class_id,
                assignment_id: assignment.into(),
                student_id,
                grade: grade.into(),
                seen,
            },
            now,
            key,
        )
    }

    /// Matrix: queues changing a user's attributes (documented fields only; never a
    /// password or a social security number). Matrix finds the user by their student ID.
    pub fn update_user(
        &self,
        user: &str,
        changes: &[(String, String)],
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        if changes.is_empty() {
            return Err(invalid(
                "Say what to change (--set FIELD=VALUE). Nothing was queued.",
            ));
        }
        let (user_id, source) = self.matrix_user(user)?;
        let mut set = BTreeMap::new();
        for (field, value) in changes {
            let field = field.trim();
            if ["password", "ssn"]
                .iter()
                .any(|f| field.eq_ignore_ascii_case(f))
            {
                return Err(invalid(format!(
                    "Schooldesk never handles '{field}': change it in Matrix itself. Nothing was queued."
                )));
            }
            if !MATRIX_USER_FIELDS.contains(&field) {
                return Err(invalid(format!(
                    "'{field}' is not a Matrix user field Schooldesk can change. Fields: {}. \
                     Nothing was queued.",
                    MATRIX_USER_FIELDS.join(", ")
                )));
            }
            set.insert(field.to_string(), value.trim().to_string());
        }
        let match_value = source
            .get("student_id")
            .and_then(|v| match v {
                Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .ok_or_else(|| {
                invalid(format!(
                    "Matrix finds a user by their student ID and user {user_id} has none in the \
                     cache; change this user in Matrix itself. Nothing was queued."
                ))
            })?;
        if set.contains_key("student_id") {
            return Err(invalid(
                "Matrix finds the user by their student ID, so the student ID itself cannot be \
                 changed from Schooldesk; change it in Matrix. Nothing was queued.",
            ));
        }
        let seen = set
            .keys()
            .filter_map(|f| {
                let v = source.get(f)?;
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Null => return None,
                    other => other.to_string(),
                };
                Some((f.clone(), v))
            })
            .collect();
        self.queue(
            Write::UpdateUser {
                user_id,
                match_field: "student_id".into(),
                match_value,
                set,
                seen,
            },
            now,
            key,
        )
    }

    /// One entry with every request it made and what the system answered.
    pub fn receipt(&self, id: i64) -> Result<Receipt> {
        Ok(self.cache().receipt(id)?)
    }

    /// A person resolves a conflict (see [`schooldesk_cache::CacheTx::resolve`]).
    pub fn resolve(
        &self,
        id: i64,
        resolution: Resolution,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        Ok(self.cache().resolve(id, resolution, Uuid::new_v4(), now)?)
    }

    /// A person sends a failed or held write again, optionally corrected.
    pub fn retry(
        &self,
        id: i64,
        corrected: Option<Write>,
        now: DateTime<Utc>,
    ) -> Result<OutboxEntry> {
        Ok(self.cache().retry(id, corrected, now)?)
    }

    /// A person decides a write is not to be sent (kept as a receipt).
    pub fn discard(&self, id: i64, now: DateTime<Utc>) -> Result<OutboxEntry> {
        Ok(self.cache().discard(id, now)?)
    }
}
