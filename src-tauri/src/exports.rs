//! The Documents panel's commands: list the sections to pick from, save a document into
//! the person's Documents folder, and print one by opening its PDF in the system's own
//! viewer (a webview's print is unreliable on macOS). The documents themselves, the safe
//! writing and the access log are the export crate's, shared with the CLI.

use std::fs::OpenOptions;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, NaiveDate, Utc};
use schooldesk_export::build::{self, SupportScope};
use schooldesk_export::{audit, render, write_atomically, Document, ExportError, Format, Paper};
use schooldesk_sync::Desk;
use tauri::{AppHandle, Manager, Runtime, State};
use tauri_plugin_opener::OpenerExt;

use crate::error::AppError;
use crate::ipc::{
    DocumentFormat, DocumentRequest, ErrorPayload, ExportedDocument, PaperSize, SectionOption,
};
use crate::Shell;

/// The folder inside Documents that saved documents go to.
pub const FOLDER_NAME: &str = "Schooldesk";

/// Printed PDFs older than this are removed from the private print folder: a viewer has
/// long since read them, and they name children.
const PRINT_KEEP: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Longest id or year group accepted: anything longer is not an id a person typed or picked.
const MAX_ID_LEN: usize = 200;

/// What opens a PDF for printing. The app uses the system's default viewer; tests put a
/// recorder here so no viewer is launched.
pub trait Viewer: Send + Sync {
    /// Opens `path`; the error is a short reason for the person.
    fn open(&self, path: &Path) -> Result<(), String>;
}

/// Where documents go and what opens them. Managed as app state; every setting can be
/// replaced (tests keep files out of the real Documents folder and open no viewer).
#[derive(Default)]
pub struct Exports {
    documents_folder: Mutex<Option<PathBuf>>,
    print_folder: Mutex<Option<PathBuf>>,
    viewer: Mutex<Option<Arc<dyn Viewer>>>,
}

impl Exports {
    /// Saves into `folder` instead of `Documents/Schooldesk`.
    pub fn set_documents_folder(&self, folder: PathBuf) {
        *self.documents_folder.lock().expect("exports lock poisoned") = Some(folder);
    }

    /// Writes PDFs for printing into `folder` instead of the app's cache folder.
    pub fn set_print_folder(&self, folder: PathBuf) {
        *self.print_folder.lock().expect("exports lock poisoned") = Some(folder);
    }

    /// Opens printed PDFs with `viewer` instead of the system's default viewer.
    pub fn set_viewer(&self, viewer: Arc<dyn Viewer>) {
        *self.viewer.lock().expect("exports lock poisoned") = Some(viewer);
    }

    /// `Documents/Schooldesk`, or `<data dir>/documents` where the system names no Documents
    /// folder.
    pub(crate) fn documents_folder(&self, data_dir: &Path) -> PathBuf {
        if let Some(folder) = self
            .documents_folder
            .lock()
            .expect("exports lock poisoned")
            .clone()
        {
            return folder;
        }
        directories::UserDirs::new()
            .and_then(|d| d.document_dir().map(|p| p.join(FOLDER_NAME)))
            .unwrap_or_else(|| data_dir.join("documents"))
    }

    fn print_folder<R: Runtime>(&self, app: &AppHandle<R>, data_dir: &Path) -> PathBuf {
        if let Some(folder) = self
            .print_folder
            .lock()
            .expect("exports lock poisoned")
            .clone()
        {
            return folder;
        }
        app.path()
            .app_cache_dir()
            .map(|d| d.join("print"))
            .unwrap_or_else(|_| data_dir.join("print"))
    }

    fn viewer(&self) -> Option<Arc<dyn Viewer>> {
        self.viewer.lock().expect("exports lock poisoned").clone()
    }
}

impl From<ExportError> for AppError {
    fn from(e: ExportError) -> Self {
        AppError::Document(ErrorPayload {
            code: e.code().to_string(),
            message: e.user_message(),
            retryable: e.is_retryable(),
        })
    }
}

fn invalid(message: impl Into<String>) -> ExportError {
    ExportError::InvalidInput(message.into())
}

/// A required id: trimmed, present, of a sensible length.
fn required(value: &str, what: &str) -> Result<String, ExportError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(invalid(format!("Choose the {what} first.")));
    }
    if v.len() > MAX_ID_LEN || v.chars().any(char::is_control) {
        return Err(invalid(format!(
            "That {what} is not one Schooldesk knows. Pick it from the list, or copy its id \
             from the student or section screen."
        )));
    }
    Ok(v.to_string())
}

fn optional(value: &Option<String>, what: &str) -> Result<Option<String>, ExportError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => required(v, what).map(Some),
    }
}

fn date(value: &str, which: &str) -> Result<NaiveDate, ExportError> {
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d").map_err(|_| {
        invalid(format!(
            "'{}' is not a date Schooldesk understands for the register's {which} day. Give it \
             as year-month-day, for example 2025-09-01.",
            value.trim()
        ))
    })
}

/// A learning-support summary is refused here while that screen is locked.
async fn support_gate(
    shell: &Shell,
    support: &Arc<crate::support::SupportLock>,
    request: &DocumentRequest,
) -> Result<(), AppError> {
    if !matches!(request, DocumentRequest::LearningSupport { .. }) {
        return Ok(());
    }
    let lock = support.clone();
    shell
        .read(move |desk| Ok(crate::support::export_allowed(desk, &lock)))
        .await?
}

/// The school's today for a document (the emergency list's section decides whose school;
/// the connection's time zone, not this computer's, as on the Emergency roll screen).
fn school_today(desk: &Desk, request: &DocumentRequest, now: DateTime<Utc>) -> NaiveDate {
    let section = match request {
        DocumentRequest::Emergency { section } => section.as_deref().map(str::trim),
        _ => None,
    };
    crate::emergency::school_today(desk, section.filter(|s| !s.is_empty()), now)
}

/// The document `request` asks for, built from the cache, and what its file is about (the
/// section, student or list) for the file name.
fn build_document(
    desk: &Desk,
    request: &DocumentRequest,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(Document, String), ExportError> {
    let doc = match request {
        DocumentRequest::Roster { section } => {
            build::roster(desk, &required(section, "section")?, now)?
        }
        DocumentRequest::Register { section, from, to } => {
            let section = required(section, "section")?;
            build::register(desk, &section, date(from, "first")?, date(to, "last")?, now)?
        }
        DocumentRequest::Emergency { section } => {
            let section = optional(section, "section")?;
            let doc = build::emergency(desk, section.as_deref(), today, now)?;
            let subject = match &section {
                // The title carries the date; the file is named after the section.
                Some(id) => desk.roster(id)?.section.name,
                None => "all".to_string(),
            };
            return Ok((doc, subject));
        }
        DocumentRequest::Checklist { checklist } => {
            build::checklist(desk, &required(checklist, "checklist")?, now)?
        }
        DocumentRequest::LearningSupport {
            student,
            year_group,
        } => {
            let scope = match (
                optional(student, "student")?,
                optional(year_group, "year group")?,
            ) {
                (Some(_), Some(_)) => {
                    return Err(invalid(
                        "Choose a student or a year group for the learning-support summary, \
                         not both.",
                    ))
                }
                (Some(s), None) => SupportScope::Student(s),
                (None, Some(g)) => SupportScope::YearGroup(g),
                (None, None) => SupportScope::All,
            };
            build::learning_support(desk, &scope, now)?
        }
        DocumentRequest::Submission { record } => {
            build::submission(desk, &required(record, "record")?, now)?
        }
    };
    // Every other title is "What — whom" ("Class roster — Homeroom 7B").
    let subject = doc
        .title
        .split_once(" — ")
        .map_or("all", |(_, s)| s)
        .to_string();
    Ok((doc, subject))
}

/// `<kind>-<subject>-<date>`, safe as a file name on every system: letters and digits of
/// any script are kept, everything else becomes `-`, and the length is bounded.
pub fn file_stem(kind: &str, subject: &str, date: NaiveDate) -> String {
    let clean = |s: &str, max: usize| -> String {
        let mut out = String::new();
        for c in s.chars() {
            if c.is_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') {
                out.push('-');
            }
            if out.chars().count() >= max {
                break;
            }
        }
        out.trim_matches('-').to_string()
    };
    let kind = clean(kind, 30);
    let subject = clean(subject, 60);
    let mut stem = if kind.is_empty() {
        "document".to_string()
    } else {
        kind
    };
    if !subject.is_empty() {
        stem.push('-');
        stem.push_str(&subject);
    }
    stem.push('-');
    stem.push_str(&date.format("%Y-%m-%d").to_string());
    stem
}

/// Claims the first free name `stem.ext`, `stem-2.ext`, … in `folder` by creating it empty
/// (never replacing a file that is there). The writer then renames the finished file over
/// the claim, so two exports at once cannot pick the same name.
pub(crate) fn claim_name(folder: &Path, stem: &str, ext: &str) -> Result<PathBuf, ExportError> {
    for n in 1..=999u32 {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{n}.{ext}")
        };
        let path = folder.join(name);
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(folder_error(folder, e)),
        }
    }
    Err(invalid(format!(
        "The folder {} already holds 999 files named {stem}. Move some of them elsewhere, then \
         try again.",
        folder.display()
    )))
}

fn folder_error(folder: &Path, e: std::io::Error) -> ExportError {
    match e.kind() {
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            ExportError::NotWritable(folder.to_path_buf())
        }
        _ => ExportError::Write {
            path: folder.to_path_buf(),
            source: e,
        },
    }
}

/// Creates `folder` (and its parents) when missing; `private` makes it the owner's only.
pub(crate) fn ensure_folder(folder: &Path, private: bool) -> Result<(), ExportError> {
    std::fs::create_dir_all(folder).map_err(|e| folder_error(folder, e))?;
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(folder, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| folder_error(folder, e))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    Ok(())
}

/// Removes PDFs printed more than a day ago (best effort: a file a viewer still holds open
/// on Windows simply stays until next time).
fn sweep_old_prints(folder: &Path) {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .ok()
            .filter(|m| m.is_file())
            .and_then(|m| m.modified().ok())
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > PRINT_KEEP);
        if old && path.extension().is_some_and(|e| e == "pdf") {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn format_of(format: DocumentFormat) -> Format {
    match format {
        DocumentFormat::Pdf => Format::Pdf,
        DocumentFormat::Xlsx => Format::Xlsx,
        DocumentFormat::Csv => Format::Csv,
        DocumentFormat::CsvExcel => Format::CsvExcel,
    }
}

fn paper_of(paper: PaperSize) -> Paper {
    match paper {
        PaperSize::A4 => Paper::A4,
        PaperSize::Letter => Paper::Letter,
    }
}

pub(crate) fn result(path: &Path, doc: &Document, bytes: usize) -> ExportedDocument {
    ExportedDocument {
        path: path.display().to_string(),
        file_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        title: doc.title.clone(),
        bytes: bytes as u64,
        students: doc.students.len() as u64,
    }
}

/// Runs a blocking export off the async runtime.
async fn blocking<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, ExportError> + Send + 'static,
) -> Result<T, AppError> {
    Ok(tauri::async_runtime::spawn_blocking(job).await??)
}

/// Every cached section, with its school and roster size, for the section picker.
#[tauri::command]
pub async fn list_sections(shell: State<'_, Shell>) -> Result<Vec<SectionOption>, AppError> {
    shell
        .read(|desk| desk.sections(None))
        .await
        .map(|s| s.into_iter().map(SectionOption::from).collect())
}

/// Saves a document into `Documents/Schooldesk` under a new name (never over another file)
/// and records the export in the access log.
#[tauri::command]
pub async fn export_document(
    shell: State<'_, Shell>,
    exports: State<'_, Exports>,
    support: State<'_, Arc<crate::support::SupportLock>>,
    request: DocumentRequest,
    format: DocumentFormat,
    paper: PaperSize,
) -> Result<ExportedDocument, AppError> {
    let desk = shell.desk()?;
    let folder = exports.documents_folder(&shell.data_dir);
    support_gate(&shell, &support, &request).await?;
    blocking(move || {
        let now = Utc::now();
        let today = school_today(&desk, &request, now);
        let (doc, subject) = build_document(&desk, &request, today, now)?;
        let format = format_of(format);
        ensure_folder(&folder, false)?;
        let stem = file_stem(audit::kind_name(doc.kind), &subject, today);
        let path = claim_name(&folder, &stem, format.extension())?;
        match audit::export_to_file(&desk, &doc, format, paper_of(paper), &path, now) {
            Ok(receipt) => Ok(result(&receipt.path, &doc, receipt.bytes)),
            Err(e) => {
                // Only the empty claim can be left here; a written file is removed by the
                // export itself when the access log refuses it.
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    })
    .await
}

/// Makes the document's PDF in a private folder, records it in the access log as printed,
/// and opens it in the system's PDF viewer, whose Print the person then uses.
#[tauri::command]
pub async fn print_document<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    exports: State<'_, Exports>,
    support: State<'_, Arc<crate::support::SupportLock>>,
    request: DocumentRequest,
    paper: PaperSize,
) -> Result<ExportedDocument, AppError> {
    let desk = shell.desk()?;
    let folder = exports.print_folder(&app, &shell.data_dir);
    support_gate(&shell, &support, &request).await?;
    let printed = blocking(move || {
        let now = Utc::now();
        let today = school_today(&desk, &request, now);
        let (doc, subject) = build_document(&desk, &request, today, now)?;
        ensure_folder(&folder, true)?;
        sweep_old_prints(&folder);
        let stem = file_stem(audit::kind_name(doc.kind), &subject, today);
        let path = claim_name(&folder, &stem, "pdf")?;
        let written = render(&doc, Format::Pdf, paper_of(paper))
            .and_then(|bytes| write_atomically(&path, &bytes).map(|()| bytes.len()));
        let bytes = match written {
            Ok(bytes) => bytes,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        let destination = format!("printed: {}", path.display());
        if let Err(e) = audit::record_export(&desk, &doc, Format::Pdf, destination, now) {
            // A print that is not in the log must not happen.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        Ok(result(&path, &doc, bytes))
    })
    .await?;
    let path = PathBuf::from(&printed.path);
    let opened = match exports.viewer() {
        Some(viewer) => viewer.open(&path),
        None => app
            .opener()
            .open_path(printed.path.clone(), None::<&str>)
            .map_err(|e| e.to_string()),
    };
    opened.map_err(|reason| {
        AppError::Document(ErrorPayload {
            code: "export.open_failed".into(),
            message: format!(
                "The PDF is ready, but Schooldesk could not open it in your PDF viewer \
                 ({reason}). Open {} yourself to print it, or install a PDF viewer.",
                printed.path
            ),
            retryable: true,
        })
    })?;
    Ok(printed)
}

/// Opens the folder saved documents go to (creating it), in the system's file manager.
#[tauri::command]
pub async fn open_export_folder<R: Runtime>(
    app: AppHandle<R>,
    shell: State<'_, Shell>,
    exports: State<'_, Exports>,
) -> Result<String, AppError> {
    let folder = exports.documents_folder(&shell.data_dir);
    ensure_folder(&folder, false)?;
    let shown = folder.display().to_string();
    let opened = match exports.viewer() {
        Some(viewer) => viewer.open(&folder),
        None => app
            .opener()
            .open_path(shown.clone(), None::<&str>)
            .map_err(|e| e.to_string()),
    };
    opened.map_err(|reason| {
        AppError::Document(ErrorPayload {
            code: "export.open_failed".into(),
            message: format!(
                "Schooldesk could not open the folder {shown} ({reason}). Open it from your \
                 file manager instead."
            ),
            retryable: true,
        })
    })?;
    Ok(shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_letters_of_any_script_and_nothing_a_file_system_refuses() {
        let day = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
        assert_eq!(
            file_stem("register", "Homeroom 7B", day),
            "register-Homeroom-7B-2025-09-01"
        );
        assert_eq!(
            file_stem("learning_support", "Zoë / Ørsted: \"Y7\"?", day),
            "learning-support-Zoë-Ørsted-Y7-2025-09-01"
        );
        assert_eq!(
            file_stem("roster", "../../etc/passwd", day),
            "roster-etc-passwd-2025-09-01"
        );
        assert_eq!(file_stem("emergency", "", day), "emergency-2025-09-01");
        let long = file_stem("roster", &"x".repeat(500), day);
        assert!(long.len() < 120, "{long}");
    }

    #[test]
    fn a_taken_name_gets_the_next_number_and_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("roster-7B-2025-09-01.pdf"), b"kept").unwrap();
        let second = claim_name(dir.path(), "roster-7B-2025-09-01", "pdf").unwrap();
        assert_eq!(second, dir.path().join("roster-7B-2025-09-01-2.pdf"));
        let third = claim_name(dir.path(), "roster-7B-2025-09-01", "pdf").unwrap();
        assert_eq!(third, dir.path().join("roster-7B-2025-09-01-3.pdf"));
        assert_eq!(
            std::fs::read(dir.path().join("roster-7B-2025-09-01.pdf")).unwrap(),
            b"kept"
        );
    }
}
