//! What every document is before it becomes a file: a title, where the data comes from and
//! how fresh it is, and one or more tables. Builders fill it from the cache; writers (CSV,
//! XLSX, PDF) only lay it out.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

/// Which document this is (for file names, the access log and the UI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    Roster,
    Register,
    /// The UK AM/PM register (HUBmis schools).
    SessionRegister,
    Emergency,
    Checklist,
    LearningSupport,
    Submission,
}

/// One document.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Document {
    pub kind: DocumentKind,
    /// e.g. "Attendance register — Homeroom 7B".
    pub title: String,
    /// The school (or schools) the data belongs to, printed at the top of every page.
    pub school: String,
    /// A line under the title, e.g. "1–30 September 2025".
    pub subtitle: Option<String>,
    /// When the newest data in it was fetched from its system ("data as of").
    pub data_as_of: Option<DateTime<Utc>>,
    /// When the document was made.
    pub generated_at: DateTime<Utc>,
    /// One table per section (an XLSX sheet each; in a PDF each starts on a new page).
    pub tables: Vec<Table>,
    /// Every student the document names (`system:id`), for the access log.
    pub students: Vec<String>,
}

/// One table: a header row, rows, and optional totals rows after them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Table {
    /// The section it covers (sheet name, page heading), e.g. "Homeroom 7B".
    pub name: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
    /// Totals and the like, set apart from the rows.
    pub totals: Vec<Vec<Cell>>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Column {
    pub title: String,
    pub kind: ColumnKind,
}

/// What a column holds: decides alignment, number formats and XLSX cell types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Text,
    Number,
    Date,
    /// An attendance code or a short mark (centred, narrow).
    Code,
}

/// One cell. Text is written as text in every format (never evaluated as a formula).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
}

impl Cell {
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        if s.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(s)
        }
    }

    /// The cell as plain text (CSV, PDF).
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
            Cell::Number(n) => format!("{n}"),
            Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        }
    }
}

impl Column {
    pub fn new(title: impl Into<String>, kind: ColumnKind) -> Column {
        Column {
            title: title.into(),
            kind,
        }
    }
}

/// The paper a PDF is laid out on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Paper {
    /// 210 × 297 mm, used almost everywhere.
    #[default]
    A4,
    /// 8.5 × 11 in, used in the US and Canada.
    Letter,
}
