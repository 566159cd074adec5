//! PowerSchool Enrollment: published actions, then each action's roster and submission
//! records at the largest page size, then each checklist with its items and entries (and the
//! documents the entries point to, as metadata: files are downloaded when opened).
//! No change filter exists: an incremental sync reads the same pages (there are few).

use schooldesk_cache::ImportSchema;
use schooldesk_connectors::powerschool::{self, MAX_PAGE};
use schooldesk_connectors::Connector;
use schooldesk_domain::{Document, EnrollmentRecordKind, Source, System};
use serde_json::Value;
use std::collections::HashMap;

use super::state::add_todo;
use super::{PullError, Run, Step};

const SYSTEM: System = System::PowerSchool;
const RECORDS: &str = "powerschool.records";
const CHECKLISTS: &str = "powerschool.checklists";

pub(super) async fn pull(run: &Run<'_>) -> Result<(), PullError> {
    let Connector::PowerSchool(c) = run.connector else {
        return Err(PullError::Internal("not a PowerSchool connector".into()));
    };

    run.phase(
        "powerschool.published_actions",
        "published actions",
        vec!["all".into()],
        |_, _, _| async move {
            let actions = run.call(c.published_actions()).await?;
            // Import schemas, so a roster record can be checked before it is queued (offline
            // too).
            let mut schemas = Vec::new();
            for a in &actions {
                let list = run.call(c.import_schemas(&a.wire.id)).await?;
                let list: Vec<ImportSchema> = list
                    .into_iter()
                    .map(|s| ImportSchema {
                        action_id: a.wire.id.clone(),
                        schema_id: s.wire.id,
                        title: s.wire.title.unwrap_or_default(),
                        fields: s.wire.fields,
                    })
                    .collect();
                schemas.push((a.wire.id.clone(), list));
            }
            let items: Vec<String> = actions
                .iter()
                .flat_map(|a| {
                    [
                        format!("roster:{}", a.wire.id),
                        format!("submission:{}", a.wire.id),
                    ]
                })
                .collect();
            let (id, now) = (run.id, run.connector.now());
            Ok(Step::new(Vec::new(), None, move |tx| {
                for (action, list) in &schemas {
                    tx.replace_import_schemas(action, list, now)?;
                }
                add_todo(tx, SYSTEM, RECORDS, id, items, now)
            }))
        },
    )
    .await?;

    let record_lists = run.todo(RECORDS).await?;
    run.phase(
        RECORDS,
        "enrollment records",
        record_lists,
        |item, next, _| async move {
            let (kind, action) = item
                .split_once(':')
                .ok_or_else(|| PullError::Internal(format!("bad record list {item}")))?;
            let kind = match kind {
                "roster" => EnrollmentRecordKind::Roster,
                _ => EnrollmentRecordKind::Submission,
            };
            let page_no = next.as_u64().unwrap_or(1).max(1) as u32;
            let page = match kind {
                EnrollmentRecordKind::Roster => {
                    run.call(c.roster_records(action, page_no, MAX_PAGE))
                        .await?
                }
                EnrollmentRecordKind::Submission => {
                    run.call(c.submission_records(action, page_no, MAX_PAGE))
                        .await?
                }
            };
            let now = run.connector.now();
            let rows: Vec<_> = page
                .records
                .iter()
                .map(|r| powerschool::to_enrollment_record(kind, action, r, now))
                .collect();
            let more = page_no < page.meta.page_count && !page.records.is_empty();
            Ok(Step::new(
                vec![("enrollment records", rows.len() as u64)],
                more.then(|| Value::from(page_no + 1)),
                move |tx| tx.upsert_enrollment_records(&rows).map(|_| ()),
            ))
        },
    )
    .await?;

    run.phase(
        "powerschool.checklist_list",
        "checklists",
        vec!["all".into()],
        |_, _, _| async move {
            let lists = run.call(c.checklists()).await?;
            let ids: Vec<String> = lists.iter().map(|l| l.wire.id.clone()).collect();
            let (id, now) = (run.id, run.connector.now());
            Ok(Step::new(Vec::new(), None, move |tx| {
                add_todo(tx, SYSTEM, CHECKLISTS, id, ids, now)
            }))
        },
    )
    .await?;

    let checklists = run.todo(CHECKLISTS).await?;
    run.phase(
        CHECKLISTS,
        "checklists",
        checklists,
        |id, _, _| async move {
            let details = run.call(c.checklist(&id)).await?;
            let entries = run.call(c.checklist_entries(&id)).await?;
            let now = run.connector.now();
            let checklist = powerschool::to_checklist(&details, now);
            let item_names: HashMap<String, String> = checklist
                .items
                .iter()
                .map(|i| (i.source_id.clone(), i.name.clone()))
                .collect();
            let rows: Vec<_> = entries
                .iter()
                .flat_map(|e| powerschool::to_checklist_entries(&id, e, now))
                .collect();
            let documents: Vec<Document> = entries
                .iter()
                .flat_map(|e| documents_of(e, &item_names, now))
                .collect();
            Ok(Step::new(
                vec![
                    ("checklists", 1),
                    ("checklist entries", rows.len() as u64),
                    ("documents", documents.len() as u64),
                ],
                None,
                move |tx| {
                    tx.upsert_checklists(&[checklist])?;
                    tx.upsert_checklist_entries(&rows)?;
                    tx.upsert_documents(&documents).map(|_| ())
                },
            ))
        },
    )
    .await?;
    Ok(())
}

/// The documents a family uploaded for an entry's items (`documentObjectId`), as metadata.
fn documents_of(
    entry: &schooldesk_connectors::Item<powerschool::ChecklistEntryWire>,
    item_names: &HashMap<String, String>,
    fetched_at: chrono::DateTime<chrono::Utc>,
) -> Vec<Document> {
    let Some(items) = entry.raw.get("checklistItems").and_then(Value::as_array) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|i| {
            let object = i.get("documentObjectId")?.as_str()?.to_string();
            let item_id = match i.get("checklistItemID")? {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            Some(Document {
                source: Source::new(
                    SYSTEM,
                    &object,
                    fetched_at,
                    serde_json::json!({
                        "documentObjectId": object,
                        "checklistItemID": item_id,
                        "entry": entry.wire.id,
                        "externalStudentID": entry.wire.external_student_id,
                    }),
                ),
                record_source_id: Some(entry.wire.id.clone()),
                name: item_names.get(&item_id).cloned().unwrap_or(item_id),
                content_type: None,
                content: None,
            })
        })
        .collect()
}
