//! Documents from the cache, for printing and sending, with no network: class rosters,
//! attendance registers (and the UK AM/PM register), emergency lists, checklist status,
//! learning-support summaries and enrollment submission records — each built once as a
//! [`model::Document`] and written as CSV, XLSX or PDF. The CLI and the app share this crate.

pub mod build;
pub mod csv;
pub mod error;
pub mod files;
pub mod model;
pub mod render;
pub mod xlsx;

pub use error::ExportError;
pub use files::write_atomically;
pub use model::Paper;
pub use model::{Cell, Column, ColumnKind, Document, DocumentKind, Table};
pub use render::{render, Format};
pub mod audit;
pub mod pdf;
