//! One way to put a document in a file, shared by the CLI and the app: render it, write it
//! safely, and record the export in the access log. An export that is not in the log must
//! not exist on disk, so the file is written first (a failed write logs nothing) and
//! removed again if the log cannot take the entry.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use schooldesk_cache::{AccessAction, NewAccess};
use schooldesk_sync::Desk;
use serde::Serialize;

use crate::error::{ExportError, Result};
use crate::files::write_atomically;
use crate::model::{Document, DocumentKind, Paper};
use crate::render::{render, Format};

/// What an export wrote, for the line the person reads and the app's "Open" button.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportReceipt {
    /// The file, as an absolute path (what the access log records).
    pub path: PathBuf,
    pub kind: DocumentKind,
    pub title: String,
    pub format: Format,
    /// Rows of data across every table (totals rows not counted).
    pub rows: usize,
    pub tables: usize,
    /// How many students the document names.
    pub students: usize,
    /// PDF pages, when the file is a PDF and its page count could be read back.
    pub pages: Option<usize>,
    pub bytes: usize,
    /// The access log entry that records this export.
    pub access_id: i64,
}

/// Renders `doc` as `format` (on `paper`, for a PDF), writes it to `out` atomically
/// (owner-only, never through a link) and records the export at `now` in the access log:
/// what, which students, where to and by whom. If the log cannot record it, the file just
/// written is removed and the error returned.
pub fn export_to_file(
    desk: &Desk,
    doc: &Document,
    format: Format,
    paper: Paper,
    out: &Path,
    now: DateTime<Utc>,
) -> Result<ExportReceipt> {
    let bytes = render(doc, format, paper)?;
    let path = absolute(out);
    write_atomically(&path, &bytes)?;
    let access_id = match record_export(desk, doc, format, path.display().to_string(), now) {
        Ok(id) => id,
        Err(e) => {
            // The file is already complete at `path`; unrecorded, it must not stay.
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
    };
    Ok(ExportReceipt {
        kind: doc.kind,
        title: doc.title.clone(),
        format,
        rows: doc.tables.iter().map(|t| t.rows.len()).sum(),
        tables: doc.tables.len(),
        students: doc.students.len(),
        pages: match format {
            Format::Pdf => pdf_page_count(&bytes),
            _ => None,
        },
        bytes: bytes.len(),
        access_id,
        path,
    })
}

/// Records in the access log that `doc` left the desk as `format`, to `destination` (the file
/// written, or e.g. "printed: <file>"), by the person signed in to this computer.
pub fn record_export(
    desk: &Desk,
    doc: &Document,
    format: Format,
    destination: String,
    now: DateTime<Utc>,
) -> Result<i64> {
    let access = NewAccess {
        at: now,
        action: AccessAction::Export,
        what: kind_name(doc.kind).to_string(),
        detail: detail(doc, format),
        students: doc.students.clone(),
        destination: Some(destination),
        by_whom: signed_in_user(),
    };
    desk.cache()
        .record_access(&access)
        .map_err(ExportError::Cache)
}

/// The name the access log files a document under (the same words the JSON uses).
pub fn kind_name(kind: DocumentKind) -> &'static str {
    match kind {
        DocumentKind::Roster => "roster",
        DocumentKind::Register => "register",
        DocumentKind::SessionRegister => "session_register",
        DocumentKind::Emergency => "emergency",
        DocumentKind::Checklist => "checklist",
        DocumentKind::LearningSupport => "learning_support",
        DocumentKind::Submission => "submission",
    }
}

fn format_name(format: Format) -> &'static str {
    match format {
        Format::Csv => "CSV",
        Format::CsvExcel => "CSV for Excel",
        Format::Xlsx => "XLSX",
        Format::Pdf => "PDF",
    }
}

/// "Title — subtitle (PDF)": enough to tell two exports of the same kind apart.
fn detail(doc: &Document, format: Format) -> String {
    let mut s = doc.title.clone();
    if let Some(sub) = doc.subtitle.as_deref().filter(|s| !s.trim().is_empty()) {
        s.push_str(" — ");
        s.push_str(sub);
    }
    s.push_str(&format!(" ({})", format_name(format)));
    s
}

/// The path the log records: absolute, with the folder's links resolved when it exists, so
/// "where did it go" has one answer whatever the working directory was. The file name itself
/// is kept as given (a link there is refused by the writer, not followed here).
fn absolute(out: &Path) -> PathBuf {
    let path = std::path::absolute(out).unwrap_or_else(|_| out.to_path_buf());
    match (path.parent(), path.file_name()) {
        (Some(folder), Some(name)) => match folder.canonicalize() {
            Ok(folder) => folder.join(name),
            Err(_) => path,
        },
        _ => path,
    }
}

/// The person signed in to this computer, as the OS names them (the log's "by whom"): the
/// session's variables first, else the account the process runs as (a program started
/// without them — a service, a test harness — still names who it acts for).
pub fn signed_in_user() -> Option<String> {
    ["USER", "USERNAME", "LOGNAME"]
        .into_iter()
        .filter_map(|var| std::env::var(var).ok())
        .chain(whoami::fallible::username().ok())
        .map(|v| v.trim().to_string())
        .find(|v| !v.is_empty())
}

/// The page count of a PDF from its page tree's `/Count` (the root `/Pages` has the largest).
fn pdf_page_count(bytes: &[u8]) -> Option<usize> {
    let needle = b"/Count ";
    let mut best: Option<usize> = None;
    let mut i = 0;
    while let Some(at) = find(&bytes[i..], needle) {
        let start = i + at + needle.len();
        let digits: Vec<u8> = bytes[start..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .copied()
            .collect();
        if let Some(n) = std::str::from_utf8(&digits)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
        {
            best = Some(best.map_or(n, |b| b.max(n)));
        }
        i = start;
    }
    best
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
