//! What can go wrong making a document or writing it to disk, in sentences an office worker
//! can act on, with a stable code for the UI.

use std::path::PathBuf;

use schooldesk_cache::CacheError;
use schooldesk_sync::DeskError;

pub type Result<T, E = ExportError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// Reading the cache (through the desk) failed.
    #[error(transparent)]
    Desk(#[from] DeskError),
    #[error(transparent)]
    Cache(#[from] CacheError),
    /// Something asked for is not in the cache, or the request makes no sense (a date range
    /// the wrong way round). The message says what to do.
    #[error("{0}")]
    InvalidInput(String),
    /// Learning-support data was asked for where it is not switched on.
    #[error(
        "Learning support is not switched on for {0}, so Schooldesk holds no learning-support \
         records to export. An administrator can switch it on in the connection's settings \
         (then sync)."
    )]
    LearningSupportDisabled(String),
    #[error(
        "The folder {} does not exist. Choose an existing folder, or create it first.",
        .0.display()
    )]
    FolderMissing(PathBuf),
    #[error(
        "{} is a link to another file; Schooldesk does not write through links. Choose \
         another file name, or remove the link first.",
        .0.display()
    )]
    SymlinkTarget(PathBuf),
    #[error("{} is a folder, not a file. Choose a file name inside it.", .0.display())]
    IsAFolder(PathBuf),
    #[error(
        "Cannot write in the folder {}: you do not have permission. Choose a folder of your own \
         (such as Documents).",
        .0.display()
    )]
    NotWritable(PathBuf),
    #[error("Could not write {}: {source}. Check there is space on the disk and try again.", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A writer (CSV, XLSX, PDF) could not lay the document out; not the person's doing.
    #[error(
        "Could not make the {format} file: {detail}. Try again; if it keeps happening, report it."
    )]
    Render {
        format: &'static str,
        detail: String,
    },
}

impl ExportError {
    /// A stable identifier for the UI, which never matches on the text.
    pub fn code(&self) -> &'static str {
        match self {
            ExportError::Desk(e) => e.code(),
            ExportError::Cache(e) => e.code(),
            ExportError::InvalidInput(_) => "export.invalid_input",
            ExportError::LearningSupportDisabled(_) => "export.learning_support_disabled",
            ExportError::FolderMissing(_) => "export.folder_missing",
            ExportError::SymlinkTarget(_) => "export.symlink_target",
            ExportError::IsAFolder(_) => "export.is_a_folder",
            ExportError::NotWritable(_) => "export.not_writable",
            ExportError::Write { .. } => "export.write",
            ExportError::Render { .. } => "export.render",
        }
    }

    /// The sentence for the person at the desk.
    pub fn user_message(&self) -> String {
        match self {
            ExportError::Desk(e) => e.user_message(),
            other => other.to_string(),
        }
    }

    /// Whether trying again without changing anything can succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            ExportError::Desk(e) => e.is_retryable(),
            ExportError::Cache(e) => e.retry_may_help(),
            ExportError::Write { .. } | ExportError::Render { .. } => true,
            ExportError::InvalidInput(_)
            | ExportError::LearningSupportDisabled(_)
            | ExportError::FolderMissing(_)
            | ExportError::SymlinkTarget(_)
            | ExportError::IsAFolder(_)
            | ExportError::NotWritable(_) => false,
        }
    }
}
