//! PowerSchool Enrollment at the desk: who has completed which checklist item, a family's
//! documents opened from the encrypted cache (downloaded once, when first opened online), the
//! published actions' import schemas and the delivery targets a batch can be fetched for.
//! Every call checks its input against what the cache knows and says what to do otherwise.

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_cache::ImportSchema;
use schooldesk_connectors::Connector;
use schooldesk_domain::{ChecklistItem, OutboxEntry, System};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use uuid::Uuid;

use crate::desk::{Desk, DeskError, Result};
use crate::replay::blocking;

const SYSTEM: System = System::PowerSchool;

/// Where the delivery targets PowerSchool last listed are kept (a sync-state row of
/// PowerSchool's), so a batch can be checked and queued offline.
pub const TARGETS_RESOURCE: &str = "enrollment.delivery_targets";

/// Longest id accepted from the window: anything longer was not picked from a list.
const MAX_ID_LEN: usize = 200;

fn invalid(msg: impl Into<String>) -> DeskError {
    DeskError::InvalidInput(msg.into())
}

/// A PowerSchool id as given (`powerschool:ID` or `ID`), trimmed and checked for shape.
fn ps_id(id: &str, what: &str) -> Result<String> {
    let id = id.trim();
    let bare = match id.split_once(':') {
        Some((prefix, rest)) if prefix.parse::<System>().is_ok() => {
            if prefix.parse::<System>().ok() != Some(SYSTEM) {
                return Err(invalid(format!(
                    "'{id}' is not a PowerSchool {what}. Pick the {what} from the Enrollment \
                     screen's list."
                )));
            }
            rest.trim()
        }
        _ => id,
    };
    if bare.is_empty() {
        return Err(invalid(format!("Choose a {what} first.")));
    }
    if bare.len() > MAX_ID_LEN || bare.chars().any(char::is_control) {
        return Err(invalid(format!(
            "That {what} is not one Schooldesk knows. Pick it from the Enrollment screen's list."
        )));
    }
    Ok(bare.to_string())
}

/// One student's line of a checklist: each item completed or not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridRow {
    /// The family entry's id in PowerSchool.
    pub record_id: String,
    pub external_id: Option<String>,
    /// The person id (`PersonRow.id`) when the cache knows the child.
    pub person: Option<String>,
    /// The child's name when known, else the external id, else the entry's id.
    pub name: String,
    /// In the checklist's item order.
    pub cells: Vec<GridCell>,
}

/// One item for one student.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GridCell {
    pub item_id: String,
    pub completed: bool,
    /// PowerSchool lists this item for the student at all.
    pub listed: bool,
    pub completed_on: Option<NaiveDate>,
}

/// A checklist as a table: students × items.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChecklistGrid {
    pub id: String,
    pub name: String,
    pub items: Vec<ChecklistItem>,
    /// By name.
    pub rows: Vec<GridRow>,
}

/// A checklist in the picker, with how far its students are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChecklistSummary {
    pub id: String,
    pub name: String,
    pub items: u32,
    pub students: u32,
    /// Students with at least one required item not completed.
    pub incomplete: u32,
}

/// A delivery target a batch can be fetched for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryTarget {
    pub id: String,
    pub title: String,
}

/// What kind of file a document is, from its first bytes (the system's word is not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    Pdf,
    Jpeg,
    Png,
    Other,
}

impl FileKind {
    pub fn of(bytes: &[u8]) -> FileKind {
        if bytes.starts_with(b"%PDF") {
            FileKind::Pdf
        } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            FileKind::Jpeg
        } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            FileKind::Png
        } else {
            FileKind::Other
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            FileKind::Pdf => "pdf",
            FileKind::Jpeg => "jpg",
            FileKind::Png => "png",
            FileKind::Other => "bin",
        }
    }

    pub fn mime(self) -> &'static str {
        match self {
            FileKind::Pdf => "application/pdf",
            FileKind::Jpeg => "image/jpeg",
            FileKind::Png => "image/png",
            FileKind::Other => "application/octet-stream",
        }
    }
}

/// A document's file, from the cache (downloaded into it first if it never was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedDocument {
    pub source_id: String,
    pub name: String,
    /// The family entry it belongs to.
    pub record_id: Option<String>,
    pub external_student_id: Option<String>,
    pub kind: FileKind,
    pub bytes: Vec<u8>,
    /// Fetched from PowerSchool just now (then kept, encrypted, in the cache).
    pub downloaded_now: bool,
}

impl Desk {
    /// Every PowerSchool checklist with its item count and how many of its students still
    /// owe a required item.
    pub fn checklist_summaries(&self) -> Result<Vec<ChecklistSummary>> {
        let lists = self.cache().checklists(Some(SYSTEM))?;
        let missing = self.cache().missing_items(SYSTEM, None)?;
        let mut out = Vec::new();
        for list in lists {
            let id = list.source.source_id.clone();
            let entries = self.cache().entries_of_checklist(SYSTEM, &id)?;
            let students: BTreeSet<&str> = entries
                .iter()
                .filter_map(|e| e.record_source_id.as_deref())
                .collect();
            let incomplete: BTreeSet<&str> = missing
                .iter()
                .filter(|m| m.checklist_source_id == id)
                .map(|m| m.record_source_id.as_str())
                .collect();
            out.push(ChecklistSummary {
                id,
                name: list.name,
                items: list.items.len() as u32,
                students: students.len() as u32,
                incomplete: incomplete.len() as u32,
            });
        }
        Ok(out)
    }

    /// One checklist as students × items (`checklist`: its id, `powerschool:ID` or `ID`).
    pub fn checklist_grid(&self, checklist: &str) -> Result<ChecklistGrid> {
        let id = ps_id(checklist, "checklist")?;
        let list = self
            .cache()
            .checklists(Some(SYSTEM))?
            .into_iter()
            .find(|l| l.source.source_id == id)
            .ok_or_else(|| {
                invalid(format!(
                    "There is no PowerSchool checklist '{id}' in the cache. Pick one from the \
                     Enrollment screen's list; if it is new, sync PowerSchool first."
                ))
            })?;
        let entries = self.cache().entries_of_checklist(SYSTEM, &id)?;
        let people = self.people()?;
        let by_external: HashMap<&str, (&str, &str)> = people
            .people
            .iter()
            .filter_map(|p| {
                p.external_id
                    .as_deref()
                    .map(|e| (e, (p.id.as_str(), p.name.as_str())))
            })
            .collect();
        // A child only PowerSchool knows is named from its roster or submission record.
        let record_names = self.names_from_records()?;
        // record → (external id, item → entry)
        let mut records: BTreeMap<String, (Option<String>, HashMap<String, _>)> = BTreeMap::new();
        for e in entries {
            let Some(record) = e.record_source_id.clone() else {
                continue;
            };
            let slot = records.entry(record).or_insert((None, HashMap::new()));
            if slot.0.is_none() {
                slot.0 = e.external_student_id.clone();
            }
            slot.1.insert(e.item_source_id.clone(), e);
        }
        let mut rows: Vec<GridRow> = records
            .into_iter()
            .map(|(record_id, (external_id, items))| {
                let known = external_id
                    .as_deref()
                    .and_then(|e| by_external.get(e.trim()).copied());
                let cells = list
                    .items
                    .iter()
                    .map(|item| {
                        let entry = items.get(&item.source_id);
                        GridCell {
                            item_id: item.source_id.clone(),
                            completed: entry.is_some_and(|e| e.completed),
                            listed: entry.is_some(),
                            completed_on: entry.and_then(|e| e.date_completed),
                        }
                    })
                    .collect();
                GridRow {
                    name: known
                        .map(|(_, name)| name.to_string())
                        .or_else(|| {
                            external_id
                                .as_deref()
                                .and_then(|e| record_names.get(e.trim()).cloned())
                        })
                        .or_else(|| external_id.clone())
                        .unwrap_or_else(|| record_id.clone()),
                    person: known.map(|(person, _)| person.to_string()),
                    record_id,
                    external_id,
                    cells,
                }
            })
            .collect();
        rows.sort_by(|a, b| {
            a.name
                .to_lowercase()
                .cmp(&b.name.to_lowercase())
                .then_with(|| a.record_id.cmp(&b.record_id))
        });
        Ok(ChecklistGrid {
            id,
            name: list.name,
            items: list.items,
            rows,
        })
    }

    /// A document's file, for showing inside the app: from the cache when it was downloaded
    /// before (no network needed), otherwise downloaded from PowerSchool now and kept in the
    /// cache. Never written to a file.
    pub async fn open_document(&self, document: &str) -> Result<OpenedDocument> {
        let id = ps_id(document, "document")?;
        let cached = {
            let id = id.clone();
            blocking(self.cache(), move |c| c.document(SYSTEM, &id)).await?
        }
        .ok_or_else(|| {
            invalid(format!(
                "There is no PowerSchool document '{id}' in the cache. Open it from the \
                 student's list of documents; if it is new, sync PowerSchool first."
            ))
        })?;
        let external_student_id = cached
            .source
            .raw
            .get("externalStudentID")
            .and_then(Value::as_str)
            .map(str::to_string);
        let (bytes, downloaded_now) = match cached.content {
            Some(bytes) => (bytes, false),
            None => {
                let desk = self.clone();
                let connector =
                    crate::desk::blocking(move || Ok(desk.connector(SYSTEM).ok())).await?;
                let Some(Connector::PowerSchool(ps)) = connector else {
                    return Err(invalid(format!(
                        "'{}' was never downloaded, and PowerSchool is not connected on this \
                         computer. Connect PowerSchool in Settings, then open it again.",
                        cached.name
                    )));
                };
                let (bytes, _type) = ps.download_document(&id).await.map_err(|e| {
                    if e.is_retryable() {
                        invalid(format!(
                            "'{}' has not been downloaded yet, and PowerSchool cannot be reached \
                             now. Open it again when this computer is back online; once opened \
                             it stays available offline.",
                            cached.name
                        ))
                    } else {
                        DeskError::from(e)
                    }
                })?;
                let (sid, stored) = (id.clone(), bytes.clone());
                blocking(self.cache(), move |c| {
                    c.with_transaction(|tx| tx.store_document_content(SYSTEM, &sid, &stored))
                })
                .await?;
                (bytes, true)
            }
        };
        Ok(OpenedDocument {
            source_id: id,
            name: cached.name,
            record_id: cached.record_source_id,
            external_student_id,
            kind: FileKind::of(&bytes),
            bytes,
            downloaded_now,
        })
    }

    /// External student id → "Given Family" from PowerSchool's enrollment records (roster
    /// records first), for children no student record names.
    pub fn names_from_records(&self) -> Result<HashMap<String, String>> {
        let mut names = HashMap::new();
        for r in self.cache().enrollment_records(SYSTEM, None)? {
            let Some(ext) = r.external_student_id.as_deref().map(str::trim) else {
                continue;
            };
            let name = [r.given_name.as_deref(), r.family_name.as_deref()]
                .into_iter()
                .flatten()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            if ext.is_empty() || name.is_empty() {
                continue;
            }
            let roster = r.kind == schooldesk_domain::EnrollmentRecordKind::Roster;
            if roster || !names.contains_key(ext) {
                names.insert(ext.to_string(), name);
            }
        }
        Ok(names)
    }

    /// Every import schema the last PowerSchool sync brought, by action and schema.
    pub fn import_schemas(&self) -> Result<Vec<ImportSchema>> {
        Ok(self.cache().import_schemas()?)
    }

    /// The published actions the cache knows (from import schemas and records), sorted.
    pub fn published_actions(&self) -> Result<Vec<String>> {
        let mut actions: BTreeSet<String> = self
            .import_schemas()?
            .into_iter()
            .map(|s| s.action_id)
            .collect();
        for r in self.cache().enrollment_records(SYSTEM, None)? {
            if let Some(a) = r.published_action_id {
                actions.insert(a);
            }
        }
        Ok(actions.into_iter().collect())
    }

    /// The delivery targets PowerSchool last listed (kept in the cache), with any target a
    /// stored batch names, by id.
    pub fn delivery_targets(&self) -> Result<Vec<DeliveryTarget>> {
        let mut targets: BTreeMap<String, String> = BTreeMap::new();
        if let Some(state) = self.cache().sync_state(SYSTEM, TARGETS_RESOURCE)? {
            let listed: Vec<DeliveryTarget> =
                serde_json::from_value(state.progress).unwrap_or_default();
            for t in listed {
                targets.insert(t.id, t.title);
            }
        }
        for b in self.cache().delivery_batches(None)? {
            targets
                .entry(b.target_id.clone())
                .or_insert_with(|| format!("Target {}", b.target_id));
        }
        Ok(targets
            .into_iter()
            .map(|(id, title)| DeliveryTarget { id, title })
            .collect())
    }

    /// Asks PowerSchool for its delivery targets and keeps them; when it cannot be reached,
    /// answers the ones kept before.
    pub async fn refresh_delivery_targets(
        &self,
        now: DateTime<Utc>,
    ) -> Result<Vec<DeliveryTarget>> {
        let desk = self.clone();
        let connector = crate::desk::blocking(move || Ok(desk.connector(SYSTEM).ok())).await?;
        if let Some(Connector::PowerSchool(ps)) = connector {
            if let Ok(list) = ps.delivery_targets().await {
                let list: Vec<DeliveryTarget> = list
                    .into_iter()
                    .map(|t| DeliveryTarget {
                        title: t
                            .wire
                            .title
                            .clone()
                            .filter(|s| !s.trim().is_empty())
                            .unwrap_or_else(|| format!("Target {}", t.wire.id)),
                        id: t.wire.id,
                    })
                    .collect();
                let value =
                    serde_json::to_value(&list).map_err(|e| DeskError::Internal(e.to_string()))?;
                blocking(self.cache(), move |c| {
                    c.with_transaction(|tx| {
                        tx.set_sync_state(SYSTEM, TARGETS_RESOURCE, &value, now)
                    })
                })
                .await?;
            }
        }
        let desk = self.clone();
        crate::desk::blocking(move || desk.delivery_targets()).await
    }

    /// Queues fetching the next delivery batch of a target PowerSchool listed.
    pub fn fetch_batch_for(
        &self,
        target: &str,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let id = ps_id(target, "delivery target")?;
        let known = self.delivery_targets()?;
        if known.is_empty() {
            return Err(invalid(
                "Schooldesk does not know PowerSchool's delivery targets yet. Open Enrollment \
                 work while this computer is online (it asks PowerSchool for them), then try \
                 again. Nothing was queued.",
            ));
        }
        if !known.iter().any(|t| t.id == id) {
            let names: Vec<String> = known
                .iter()
                .map(|t| format!("{} ({})", t.title, t.id))
                .collect();
            return Err(invalid(format!(
                "PowerSchool has no delivery target '{id}'. Its targets are: {}. Nothing was \
                 queued.",
                names.join(", ")
            )));
        }
        self.fetch_batch(&id, now, key)
    }

    /// Queues one family's form for a published action the cache knows, its fields checked
    /// against that action's import schemas (when it has any).
    pub fn submit_form_checked(
        &self,
        action: &str,
        fields: &BTreeMap<String, String>,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let action = ps_id(action, "published action")?;
        if !self.published_actions()?.contains(&action) {
            return Err(invalid(format!(
                "PowerSchool has no published action '{action}' in the cache. Pick one from \
                 the list; if it is new, sync PowerSchool first. Nothing was queued."
            )));
        }
        let allowed: BTreeSet<String> = self
            .import_schemas()?
            .into_iter()
            .filter(|s| s.action_id == action)
            .flat_map(|s| s.fields)
            .collect();
        let given = given_fields(fields);
        if !allowed.is_empty() {
            let unknown: Vec<&str> = given
                .keys()
                .filter(|k| !allowed.contains(*k))
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "Not fields of published action {action}: {}. Its fields are: {}. Nothing \
                     was queued.",
                    unknown.join(", "),
                    allowed.into_iter().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let form = Value::Object(
            given
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        );
        self.submit_form(&action, &form, now, key)
    }

    /// Queues a roster record import through one import schema, fields as typed (blank ones
    /// left out), checked by [`Desk::roster_record_write`].
    pub fn import_record_checked(
        &self,
        action: &str,
        schema: &str,
        fields: &BTreeMap<String, String>,
        now: DateTime<Utc>,
        key: Uuid,
    ) -> Result<OutboxEntry> {
        let action = ps_id(action, "published action")?;
        let schema = ps_id(schema, "import schema")?;
        let record = Value::Object(
            given_fields(fields)
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        );
        self.import_roster_record(&action, &schema, &record, now, key)
    }
}

/// The fields a person filled in: names and values trimmed, blank ones left out.
fn given_fields(fields: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    fields
        .iter()
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .filter(|(k, v)| !k.is_empty() && !v.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_take_the_system_prefix_and_refuse_other_systems_and_junk() {
        assert_eq!(ps_id(" powerschool:435 ", "checklist").unwrap(), "435");
        assert_eq!(ps_id("435", "checklist").unwrap(), "435");
        assert!(ps_id("matrix:435", "checklist").is_err());
        assert!(ps_id("  ", "checklist").is_err());
        assert!(ps_id(&"9".repeat(500), "checklist").is_err());
        assert!(ps_id("4\n35", "checklist").is_err());
    }

    #[test]
    fn file_kinds_come_from_the_first_bytes() {
        assert_eq!(FileKind::of(b"%PDF-1.7 ..."), FileKind::Pdf);
        assert_eq!(FileKind::of(&[0xFF, 0xD8, 0xFF, 0xE0]), FileKind::Jpeg);
        assert_eq!(FileKind::of(b"\x89PNG\r\n\x1a\n...."), FileKind::Png);
        assert_eq!(FileKind::of(b"<html>"), FileKind::Other);
        assert_eq!(FileKind::Jpeg.extension(), "jpg");
    }

    #[test]
    fn blank_fields_are_left_out() {
        let mut f = BTreeMap::new();
        f.insert(" stu_FirstName ".into(), " Ana ".into());
        f.insert("stu_MiddleName".into(), "  ".into());
        let given = given_fields(&f);
        assert_eq!(given.len(), 1);
        assert_eq!(given["stu_FirstName"], "Ana");
    }
}
