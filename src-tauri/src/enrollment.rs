//! The Enrollment screen's commands (PowerSchool Enrollment, for a registrar): checklists as
//! students × items, a family's documents opened inside the app from the encrypted cache
//! (PDF pages drawn to images here, since the webview has no PDF viewer), "Save a copy"
//! through the same safe writer and access log as every export, and the enrollment work:
//! records, imports, submissions and delivery batches. Each command is a thin adapter over
//! `schooldesk_sync::enrollment`, which checks the input.

use std::collections::{BTreeMap, HashMap};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use chrono::{Local, Utc};
use schooldesk_cache::{AccessAction, NewAccess};
use schooldesk_domain::{EnrollmentRecordKind, System};
use schooldesk_export::{audit, write_atomically};
use schooldesk_sync::enrollment::{FileKind, OpenedDocument};
use schooldesk_sync::reads::qualified_id;
use schooldesk_sync::{Desk, DeskError};
use serde::Serialize;
use serde_json::Value;
use tauri::State;
use ts_rs::TS;
use uuid::Uuid;

use crate::error::AppError;
use crate::exports::Exports;
use crate::ipc::{DocumentView, ExportedDocument, OutboxRow};
use crate::Shell;

const SYSTEM: System = System::PowerSchool;

/// Most pages of a PDF drawn for the viewer; the rest are saved with "Save a copy".
pub const MAX_PAGES: usize = 20;

/// How much larger than the PDF's points a page is drawn (legible at a desk's zoom).
const PAGE_SCALE: f32 = 1.5;

// ---- IPC types ----------------------------------------------------------------------------

/// A checklist in the picker, with how far its students are.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ChecklistSummaryView {
    pub id: String,
    pub name: String,
    pub items: u32,
    pub students: u32,
    /// Students with at least one required item not completed.
    pub incomplete: u32,
}

/// An import schema of a published action: the fields a roster record may carry.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ImportSchemaView {
    pub action_id: String,
    pub schema_id: String,
    pub title: String,
    pub fields: Vec<String>,
    /// The field PowerSchool matches records on (required), when the schema has one.
    pub key_field: Option<String>,
}

/// A published action, with its import schemas and the fields a form may carry.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PublishedActionView {
    pub id: String,
    pub schemas: Vec<ImportSchemaView>,
    /// Every field of its schemas, for a submission form (empty: not checked).
    pub form_fields: Vec<String>,
    pub roster_records: u32,
    pub submission_records: u32,
}

/// A delivery target a batch can be fetched for.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DeliveryTargetView {
    pub id: String,
    pub title: String,
}

/// What the Enrollment screen opens with (`enrollment_overview`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EnrollmentOverview {
    /// PowerSchool is connected on this computer.
    pub connected: bool,
    pub checklists: Vec<ChecklistSummaryView>,
    pub actions: Vec<PublishedActionView>,
    pub targets: Vec<DeliveryTargetView>,
    pub documents: u32,
}

/// An item (a column) of a checklist.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct GridItemView {
    pub id: String,
    pub name: String,
    pub required: bool,
}

/// One item for one student.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct GridCellView {
    pub item_id: String,
    pub completed: bool,
    /// PowerSchool lists this item for the student at all.
    pub listed: bool,
    /// YYYY-MM-DD.
    pub completed_on: Option<String>,
}

/// One student's line of a checklist.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct GridRowView {
    pub record_id: String,
    pub external_id: Option<String>,
    /// The person id (`PersonRow.id`) when the cache knows the child.
    pub person: Option<String>,
    pub name: String,
    pub cells: Vec<GridCellView>,
}

/// A checklist as students × items (`enrollment_checklist`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct ChecklistGridView {
    pub id: String,
    pub name: String,
    pub items: Vec<GridItemView>,
    pub rows: Vec<GridRowView>,
}

/// A child with enrollment documents (`enrollment_document_owners`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct DocumentOwnerView {
    /// The person id (`PersonRow.id`): `ext:<external id>`.
    pub person: String,
    pub name: String,
    pub documents: u32,
}

/// One child's enrollment documents (`enrollment_documents`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PersonDocumentsView {
    pub person: String,
    pub name: String,
    pub documents: Vec<DocumentView>,
}

/// One page of a PDF, drawn as a PNG.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct PageImage {
    /// `data:image/png;base64,…`.
    pub data_url: String,
    pub width: u32,
    pub height: u32,
}

/// A document's file, ready to show (`open_enrollment_document`). Nothing is written to disk.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct OpenedDocumentView {
    /// `powerschool:<id>`.
    pub id: String,
    pub name: String,
    /// `pdf`, `jpeg`, `png` or `other`.
    pub kind: String,
    #[ts(type = "number")]
    pub bytes: u64,
    /// A photo or scan: `data:image/…;base64,…`.
    pub image: Option<String>,
    /// A PDF: its pages drawn as images (at most `MAX_PAGES`).
    pub pages: Vec<PageImage>,
    /// How many pages the PDF has.
    pub page_count: u32,
    /// What cannot be shown, and what to do instead.
    pub note: Option<String>,
    /// Fetched from PowerSchool just now (it is now kept in the cache for offline use).
    pub downloaded_now: bool,
}

/// A roster or submission record (`enrollment_records`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct EnrollmentRecordView {
    pub id: String,
    /// `roster` or `submission`.
    pub kind: String,
    pub action_id: Option<String>,
    pub external_id: Option<String>,
    pub name: String,
    pub date_of_birth: Option<String>,
    pub grade: Option<String>,
    pub status: Option<String>,
    pub person: Option<String>,
}

/// One record a delivery batch brought.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct BatchRecordView {
    pub id: String,
    pub submitted: Option<String>,
    pub name: String,
    pub external_id: Option<String>,
    pub grade: Option<String>,
}

/// A delivery batch as fetched (`enrollment_batches`).
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct BatchView {
    pub target_id: String,
    pub batch_id: String,
    pub created_at: String,
    /// RFC 3339, UTC.
    pub fetched_at: String,
    #[ts(type = "number | null")]
    pub outbox_id: Option<i64>,
    pub records: Vec<BatchRecordView>,
    pub reset_at: Option<String>,
}

/// One filled-in box of an import or submission form (`queue_roster_import`,
/// `queue_enrollment_submission`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, TS)]
pub struct FieldValue {
    pub name: String,
    pub value: String,
}

/// The form's boxes by field name; a field given twice is refused (nothing queued).
fn form_fields(fields: Vec<FieldValue>) -> Result<BTreeMap<String, String>, DeskError> {
    let mut out = BTreeMap::new();
    for f in fields {
        let name = f.name.trim().to_string();
        if out.insert(name.clone(), f.value).is_some() {
            return Err(DeskError::InvalidInput(format!(
                "The form gives '{name}' twice. Give each field once. Nothing was queued."
            )));
        }
    }
    Ok(out)
}

// ---- conversions --------------------------------------------------------------------------

fn key_field(fields: &[String]) -> Option<String> {
    fields
        .iter()
        .find(|f| f.to_ascii_lowercase().ends_with("externalid"))
        .cloned()
}

fn overview(desk: &Desk) -> Result<EnrollmentOverview, DeskError> {
    let schemas = desk.import_schemas()?;
    let records = desk.cache().enrollment_records(SYSTEM, None)?;
    let actions = desk
        .published_actions()?
        .into_iter()
        .map(|id| {
            let schemas: Vec<ImportSchemaView> = schemas
                .iter()
                .filter(|s| s.action_id == id)
                .map(|s| ImportSchemaView {
                    action_id: s.action_id.clone(),
                    schema_id: s.schema_id.clone(),
                    title: s.title.clone(),
                    key_field: key_field(&s.fields),
                    fields: s.fields.clone(),
                })
                .collect();
            let mut form_fields: Vec<String> = Vec::new();
            for f in schemas.iter().flat_map(|s| s.fields.iter()) {
                if !form_fields.contains(f) {
                    form_fields.push(f.clone());
                }
            }
            let count = |kind: EnrollmentRecordKind| {
                records
                    .iter()
                    .filter(|r| r.kind == kind && r.published_action_id.as_deref() == Some(&id))
                    .count() as u32
            };
            PublishedActionView {
                roster_records: count(EnrollmentRecordKind::Roster),
                submission_records: count(EnrollmentRecordKind::Submission),
                id,
                schemas,
                form_fields,
            }
        })
        .collect();
    Ok(EnrollmentOverview {
        connected: desk.cache().connection(SYSTEM)?.is_some(),
        checklists: desk
            .checklist_summaries()?
            .into_iter()
            .map(|c| ChecklistSummaryView {
                id: c.id,
                name: c.name,
                items: c.items,
                students: c.students,
                incomplete: c.incomplete,
            })
            .collect(),
        actions,
        targets: desk
            .delivery_targets()?
            .into_iter()
            .map(|t| DeliveryTargetView {
                id: t.id,
                title: t.title,
            })
            .collect(),
        documents: desk.cache().documents(Some(SYSTEM))?.len() as u32,
    })
}

fn grid_view(grid: schooldesk_sync::enrollment::ChecklistGrid) -> ChecklistGridView {
    ChecklistGridView {
        id: grid.id,
        name: grid.name,
        items: grid
            .items
            .into_iter()
            .map(|i| GridItemView {
                id: i.source_id,
                name: i.name,
                required: i.required,
            })
            .collect(),
        rows: grid
            .rows
            .into_iter()
            .map(|r| GridRowView {
                record_id: r.record_id,
                external_id: r.external_id,
                person: r.person,
                name: r.name,
                cells: r
                    .cells
                    .into_iter()
                    .map(|c| GridCellView {
                        item_id: c.item_id,
                        completed: c.completed,
                        listed: c.listed,
                        completed_on: c.completed_on.map(|d| d.format("%Y-%m-%d").to_string()),
                    })
                    .collect(),
            })
            .collect(),
    }
}

fn document_owners(desk: &Desk) -> Result<Vec<DocumentOwnerView>, DeskError> {
    let mut counts: BTreeMap<String, u32> = BTreeMap::new();
    for d in desk.cache().documents(Some(SYSTEM))? {
        if let Some(ext) = d
            .source
            .raw
            .get("externalStudentID")
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            *counts.entry(ext.to_string()).or_default() += 1;
        }
    }
    let people = desk.people()?;
    let names: HashMap<&str, &str> = people
        .people
        .iter()
        .filter_map(|p| p.external_id.as_deref().map(|e| (e, p.name.as_str())))
        .collect();
    let mut out: Vec<DocumentOwnerView> = counts
        .into_iter()
        .map(|(ext, documents)| DocumentOwnerView {
            person: schooldesk_sync::persons::person_id(SYSTEM, &ext, Some(&ext)),
            name: names
                .get(ext.as_str())
                .map_or_else(|| ext.clone(), |n| n.to_string()),
            documents,
        })
        .collect();
    out.sort_by_key(|o| o.name.to_lowercase());
    Ok(out)
}

fn person_documents(desk: &Desk, person: &str) -> Result<PersonDocumentsView, DeskError> {
    let person = person.trim();
    // Documents are filed by the child's external student id; a child only PowerSchool
    // knows has no student record, so the person id itself carries it (`ext:<id>`).
    let external = match person.strip_prefix("ext:").map(str::trim) {
        Some(ext) if !ext.is_empty() => ext.to_string(),
        _ => {
            return Err(DeskError::InvalidInput(format!(
                "'{person}' is not a student Schooldesk files enrollment documents under. \
                 Choose the student from the Documents list."
            )))
        }
    };
    let mut documents = Vec::new();
    for d in desk.cache().documents(Some(SYSTEM))? {
        let owner = d
            .source
            .raw
            .get("externalStudentID")
            .and_then(Value::as_str);
        if owner.map(str::trim) != Some(external.as_str()) {
            continue;
        }
        let downloaded = desk
            .cache()
            .document(SYSTEM, &d.source.source_id)?
            .is_some_and(|full| full.content.is_some());
        documents.push(DocumentView {
            id: qualified_id(SYSTEM, &d.source.source_id),
            name: d.name,
            kind: d.content_type,
            downloaded,
        });
    }
    let name = desk
        .people()?
        .people
        .into_iter()
        .find(|p| p.external_id.as_deref() == Some(external.as_str()))
        .map(|p| p.name)
        .or_else(|| desk.names_from_records().ok()?.remove(&external));
    let Some(name) = name.or_else(|| (!documents.is_empty()).then(|| external.clone())) else {
        return Err(DeskError::InvalidInput(format!(
            "There is no student '{external}' in the cache. Choose the student from the \
             Documents list; if they were added today, sync PowerSchool first."
        )));
    };
    documents.sort_by_key(|d| d.name.to_lowercase());
    Ok(PersonDocumentsView {
        person: format!("ext:{external}"),
        name,
        documents,
    })
}

/// Draws a PDF's first pages as PNGs; says what could not be drawn.
fn pdf_pages(bytes: &[u8]) -> (Vec<PageImage>, u32, Option<String>) {
    use hayro::hayro_interpret::InterpreterSettings;
    use hayro::hayro_syntax::Pdf;
    use hayro::vello_cpu::color::palette::css::WHITE;
    let unreadable = || {
        Some(
            "Schooldesk cannot draw this PDF (it may be damaged or password-protected). Use \
             \"Save a copy\" and open the copy in a PDF reader."
                .to_string(),
        )
    };
    let Ok(pdf) = Pdf::new(bytes.to_vec()) else {
        return (Vec::new(), 0, unreadable());
    };
    let pages = pdf.pages();
    let count = pages.len() as u32;
    let cache = hayro::RenderCache::new();
    let interpreter = InterpreterSettings::default();
    let render = hayro::RenderSettings::default();
    let pixmap = hayro::PixmapSettings {
        x_scale: PAGE_SCALE,
        y_scale: PAGE_SCALE,
        bg_color: WHITE,
    };
    let mut out = Vec::new();
    for page in pages.iter().take(MAX_PAGES) {
        let drawn = hayro::render(page, &cache, &interpreter, &render, &pixmap);
        let (width, height) = (u32::from(drawn.width()), u32::from(drawn.height()));
        match drawn.into_png() {
            Ok(png) => out.push(PageImage {
                data_url: format!("data:image/png;base64,{}", STANDARD.encode(png)),
                width,
                height,
            }),
            Err(_) => return (out, count, unreadable()),
        }
    }
    let note = (count as usize > MAX_PAGES).then(|| {
        format!(
            "Only the first {MAX_PAGES} of {count} pages are shown here. Use \"Save a copy\" to \
             read the rest in a PDF reader."
        )
    });
    (out, count, note)
}

fn opened_view(doc: OpenedDocument) -> OpenedDocumentView {
    let mut view = OpenedDocumentView {
        id: qualified_id(SYSTEM, &doc.source_id),
        name: doc.name,
        kind: match doc.kind {
            FileKind::Pdf => "pdf",
            FileKind::Jpeg => "jpeg",
            FileKind::Png => "png",
            FileKind::Other => "other",
        }
        .into(),
        bytes: doc.bytes.len() as u64,
        image: None,
        pages: Vec::new(),
        page_count: 0,
        note: None,
        downloaded_now: doc.downloaded_now,
    };
    match doc.kind {
        FileKind::Jpeg | FileKind::Png => {
            view.image = Some(format!(
                "data:{};base64,{}",
                doc.kind.mime(),
                STANDARD.encode(&doc.bytes)
            ));
            view.page_count = 1;
        }
        FileKind::Pdf => {
            let (pages, count, note) = pdf_pages(&doc.bytes);
            view.pages = pages;
            view.page_count = count;
            view.note = note;
        }
        FileKind::Other => {
            view.note = Some(
                "Schooldesk cannot show this kind of file. Use \"Save a copy\" and open the copy \
                 with the program that made it."
                    .into(),
            );
        }
    }
    view
}

fn record_view(
    r: schooldesk_domain::EnrollmentRecord,
    people: &HashMap<String, String>,
) -> EnrollmentRecordView {
    let name = [r.given_name.as_deref(), r.family_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let person = r
        .external_student_id
        .as_deref()
        .map(str::trim)
        .filter(|e| people.contains_key(*e))
        .map(|e| format!("ext:{e}"));
    EnrollmentRecordView {
        id: r.source.source_id.clone(),
        kind: r.kind.as_str().into(),
        action_id: r.published_action_id,
        name: if name.is_empty() {
            r.external_student_id
                .clone()
                .unwrap_or_else(|| r.source.source_id.clone())
        } else {
            name
        },
        external_id: r.external_student_id,
        date_of_birth: r.date_of_birth.map(|d| d.format("%Y-%m-%d").to_string()),
        grade: r.grade,
        status: r.status,
        person,
    }
}

fn text_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut at = v;
    for p in path {
        at = at.get(*p)?;
    }
    match at {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn batch_view(b: schooldesk_cache::DeliveryBatch) -> BatchView {
    BatchView {
        records: b
            .records
            .iter()
            .map(|r| {
                let name = [
                    text_at(r, &["data", "student", "firstName"]),
                    text_at(r, &["data", "student", "lastName"]),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ");
                let id = text_at(r, &["id"]).unwrap_or_default();
                BatchRecordView {
                    name: if name.is_empty() { id.clone() } else { name },
                    id,
                    submitted: text_at(r, &["submitted"]),
                    external_id: text_at(r, &["data", "student", "studentID"]),
                    grade: text_at(r, &["data", "student", "grade"]),
                }
            })
            .collect(),
        target_id: b.target_id,
        batch_id: b.batch_id,
        created_at: b.created_at,
        fetched_at: b.fetched_at.to_rfc3339(),
        outbox_id: b.outbox_id,
        reset_at: b.reset_at.map(|t| t.to_rfc3339()),
    }
}

// ---- commands -----------------------------------------------------------------------------

/// Checklists with counts, published actions with their import schemas, delivery targets.
#[tauri::command]
pub async fn enrollment_overview(shell: State<'_, Shell>) -> Result<EnrollmentOverview, AppError> {
    shell.read(overview).await
}

/// Asks PowerSchool for its delivery targets now (kept for offline use); offline, answers
/// the ones kept before.
#[tauri::command]
pub async fn refresh_delivery_targets(
    shell: State<'_, Shell>,
) -> Result<Vec<DeliveryTargetView>, AppError> {
    let desk = shell.desk()?;
    let targets = desk.refresh_delivery_targets(Utc::now()).await?;
    Ok(targets
        .into_iter()
        .map(|t| DeliveryTargetView {
            id: t.id,
            title: t.title,
        })
        .collect())
}

/// One checklist as students × items.
#[tauri::command]
pub async fn enrollment_checklist(
    shell: State<'_, Shell>,
    checklist: String,
) -> Result<ChecklistGridView, AppError> {
    shell
        .read(move |desk| desk.checklist_grid(&checklist))
        .await
        .map(grid_view)
}

/// The children who have enrollment documents, by name.
#[tauri::command]
pub async fn enrollment_document_owners(
    shell: State<'_, Shell>,
) -> Result<Vec<DocumentOwnerView>, AppError> {
    shell.read(document_owners).await
}

/// One child's enrollment documents (`person`: a `PersonRow.id`).
#[tauri::command]
pub async fn enrollment_documents(
    shell: State<'_, Shell>,
    person: String,
) -> Result<PersonDocumentsView, AppError> {
    shell
        .read(move |desk| person_documents(desk, &person))
        .await
}

/// A document's file to show inside the app, from the encrypted cache (downloaded into it
/// first when it never was). Nothing is written to a file.
#[tauri::command]
pub async fn open_enrollment_document(
    shell: State<'_, Shell>,
    document: String,
) -> Result<OpenedDocumentView, AppError> {
    let desk = shell.desk()?;
    let opened = desk.open_document(&document).await?;
    Ok(tauri::async_runtime::spawn_blocking(move || opened_view(opened)).await?)
}

/// "Save a copy": the document's file, as it is, into `Documents/Schooldesk` under a new
/// name (never over another file), recorded in the access log.
#[tauri::command]
pub async fn save_enrollment_document(
    shell: State<'_, Shell>,
    exports: State<'_, Exports>,
    document: String,
) -> Result<ExportedDocument, AppError> {
    let desk = shell.desk()?;
    let doc = desk.open_document(&document).await?;
    let folder = exports.documents_folder(&shell.data_dir);
    tauri::async_runtime::spawn_blocking(move || -> Result<ExportedDocument, AppError> {
        let now = Utc::now();
        let today = Local::now().date_naive();
        crate::exports::ensure_folder(&folder, false)?;
        let owner = doc
            .external_student_id
            .clone()
            .unwrap_or_else(|| doc.record_id.clone().unwrap_or_default());
        let stem = crate::exports::file_stem(&doc.name, &owner, today);
        let path = crate::exports::claim_name(&folder, &stem, doc.kind.extension())?;
        if let Err(e) = write_atomically(&path, &doc.bytes) {
            let _ = std::fs::remove_file(&path);
            return Err(e.into());
        }
        let access = NewAccess {
            at: now,
            action: AccessAction::Export,
            what: "enrollment_document".into(),
            detail: format!("{} ({})", doc.name, doc.kind.extension().to_uppercase()),
            students: doc
                .record_id
                .iter()
                .map(|r| qualified_id(SYSTEM, r))
                .collect(),
            destination: Some(path.display().to_string()),
            by_whom: audit::signed_in_user(),
        };
        if let Err(e) = desk.cache().record_access(&access) {
            // A copy that is not in the log must not stay.
            let _ = std::fs::remove_file(&path);
            return Err(DeskError::from(e).into());
        }
        Ok(ExportedDocument {
            file_name: path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path: path.display().to_string(),
            title: doc.name.clone(),
            bytes: doc.bytes.len() as u64,
            students: u64::from(doc.record_id.is_some()),
        })
    })
    .await?
}

/// Roster and submission records, by name.
#[tauri::command]
pub async fn enrollment_records(
    shell: State<'_, Shell>,
) -> Result<Vec<EnrollmentRecordView>, AppError> {
    shell
        .read(|desk| {
            let known: HashMap<String, String> = desk
                .people()?
                .people
                .into_iter()
                .filter_map(|p| p.external_id.map(|e| (e, p.id)))
                .collect();
            Ok(desk
                .cache()
                .enrollment_records(SYSTEM, None)?
                .into_iter()
                .map(|r| record_view(r, &known))
                .collect())
        })
        .await
}

/// Queues a roster record import through one import schema (fields checked against it).
#[tauri::command]
pub async fn queue_roster_import(
    shell: State<'_, Shell>,
    action: String,
    schema: String,
    fields: Vec<FieldValue>,
) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| {
            let fields = form_fields(fields)?;
            let entry =
                desk.import_record_checked(&action, &schema, &fields, Utc::now(), Uuid::new_v4())?;
            Ok(OutboxRow::named(desk, entry))
        })
        .await
}

/// Queues one family's form for a published action (fields checked against its schemas).
#[tauri::command]
pub async fn queue_enrollment_submission(
    shell: State<'_, Shell>,
    action: String,
    fields: Vec<FieldValue>,
) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| {
            let fields = form_fields(fields)?;
            let entry = desk.submit_form_checked(&action, &fields, Utc::now(), Uuid::new_v4())?;
            Ok(OutboxRow::named(desk, entry))
        })
        .await
}

/// Queues fetching the next delivery batch of a target PowerSchool listed.
#[tauri::command]
pub async fn queue_batch_fetch(
    shell: State<'_, Shell>,
    target: String,
) -> Result<OutboxRow, AppError> {
    shell
        .read(move |desk| {
            let entry = desk.fetch_batch_for(&target, Utc::now(), Uuid::new_v4())?;
            Ok(OutboxRow::named(desk, entry))
        })
        .await
}

/// Delivery batches fetched, newest first, with their records.
#[tauri::command]
pub async fn enrollment_batches(shell: State<'_, Shell>) -> Result<Vec<BatchView>, AppError> {
    shell
        .read(|desk| desk.delivery_batches(None))
        .await
        .map(|b| b.into_iter().map(batch_view).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pdf_is_drawn_as_png_pages_and_junk_is_explained() {
        let pdf = schooldesk_sim::blobs::pdf("Birth certificate", &["Ana Zeta".into()]);
        let (pages, count, note) = pdf_pages(&pdf);
        assert_eq!(count, 1);
        assert_eq!(pages.len(), 1, "{note:?}");
        assert!(pages[0].data_url.starts_with("data:image/png;base64,"));
        // A4 at 1.5×: 595 × 842 points.
        assert_eq!((pages[0].width, pages[0].height), (892, 1263));
        assert!(note.is_none());
        let (pages, _, note) = pdf_pages(b"%PDF-1.7 not really");
        assert!(pages.is_empty());
        assert!(note.unwrap().contains("Save a copy"));
    }
}
