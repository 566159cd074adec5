//! One entry point from a document to the bytes of a file, whatever the format.

use serde::Serialize;

use crate::error::{ExportError, Result};
use crate::model::{Document, Paper};

/// The file formats a document can be written as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// UTF-8 CSV with `\n` line ends, for other programs.
    Csv,
    /// UTF-8 CSV with a byte-order mark and `\r\n`: opens correctly in Excel.
    CsvExcel,
    Xlsx,
    Pdf,
}

impl Format {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv | Format::CsvExcel => "csv",
            Format::Xlsx => "xlsx",
            Format::Pdf => "pdf",
        }
    }

    /// The media type, for a "save as" dialog or an email attachment.
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Csv | Format::CsvExcel => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Format::Pdf => "application/pdf",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = ExportError;

    fn from_str(s: &str) -> Result<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "csv-excel" | "excel-csv" | "csv_excel" => Ok(Format::CsvExcel),
            "xlsx" => Ok(Format::Xlsx),
            "pdf" => Ok(Format::Pdf),
            other => Err(ExportError::InvalidInput(format!(
                "'{other}' is not a format Schooldesk writes: choose csv, csv-excel, xlsx or pdf."
            ))),
        }
    }
}

/// `doc` as a file of `format`; `paper` matters only for PDF.
pub fn render(doc: &Document, format: Format, paper: Paper) -> Result<Vec<u8>> {
    match format {
        Format::Csv => crate::csv::render(doc, crate::csv::Dialect::Plain),
        Format::CsvExcel => crate::csv::render(doc, crate::csv::Dialect::Excel),
        Format::Xlsx => crate::xlsx::render(doc),
        Format::Pdf => crate::pdf::render(doc, paper),
    }
}
