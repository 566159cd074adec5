//! CSV: the header row holds the column titles and nothing else comes before it (title,
//! school and "data as of" belong to the file name and the PDF, not to the data, so the file
//! sorts and imports cleanly). Totals rows follow the rows.
//!
//! Text that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage return
//! at the start) gets a leading `'`, so a name like `=HYPERLINK(…)` stays a name. Numbers
//! are written as numbers, so `-3` stays `-3`.

use crate::error::{ExportError, Result};
use crate::model::{Cell, Document, Table};

/// The title of the column that says which table a row came from, when a document of
/// several tables with the same columns (one per section) becomes one CSV file.
pub const SECTION_COLUMN: &str = "Section";

/// Which CSV dialect to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// UTF-8, `\n` line ends: for other programs.
    Plain,
    /// UTF-8 with a byte-order mark and `\r\n` line ends: Excel then reads accented names
    /// correctly when the file is double-clicked.
    Excel,
}

/// The document as CSV bytes.
///
/// One table: its header, rows and totals. Several tables with the same columns: one header
/// with a leading [`SECTION_COLUMN`], every table's rows (each followed by its totals).
/// Several tables with different columns (a submission record and its checklist): each
/// table's header and rows in turn, separated by an empty line.
pub fn render(doc: &Document, dialect: Dialect) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    if dialect == Dialect::Excel {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let same_columns = doc.tables.len() > 1
        && doc
            .tables
            .windows(2)
            .all(|p| titles(&p[0]) == titles(&p[1]));
    if same_columns {
        let mut header = vec![SECTION_COLUMN.to_string()];
        header.extend(titles(&doc.tables[0]).iter().map(|t| inert(t)));
        let mut records = vec![header];
        for table in &doc.tables {
            for row in table.rows.iter().chain(&table.totals) {
                let mut record = vec![inert(&table.name)];
                record.extend(row.iter().map(field));
                records.push(record);
            }
        }
        write_records(&mut out, dialect, &records)?;
    } else {
        for (i, table) in doc.tables.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(line_end(dialect));
            }
            let mut records = vec![titles(table).iter().map(|t| inert(t)).collect()];
            records.extend(
                table
                    .rows
                    .iter()
                    .chain(&table.totals)
                    .map(|row| row.iter().map(field).collect()),
            );
            write_records(&mut out, dialect, &records)?;
        }
    }
    Ok(out)
}

fn line_end(dialect: Dialect) -> &'static [u8] {
    match dialect {
        Dialect::Plain => b"\n",
        Dialect::Excel => b"\r\n",
    }
}

fn write_records(out: &mut Vec<u8>, dialect: Dialect, records: &[Vec<String>]) -> Result<()> {
    let terminator = match dialect {
        Dialect::Plain => ::csv::Terminator::Any(b'\n'),
        Dialect::Excel => ::csv::Terminator::CRLF,
    };
    let mut w = ::csv::WriterBuilder::new()
        .terminator(terminator)
        .flexible(true)
        .from_writer(out);
    for record in records {
        w.write_record(record).map_err(csv_error)?;
    }
    w.flush().map_err(|e| ExportError::Render {
        format: "CSV",
        detail: e.to_string(),
    })
}

fn titles(table: &Table) -> Vec<String> {
    table.columns.iter().map(|c| c.title.clone()).collect()
}

fn field(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => inert(s),
        other => other.display(),
    }
}

/// Whether a spreadsheet could take this text for a formula (or a DDE command).
pub fn looks_like_formula(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `s`, with a leading `'` when a spreadsheet could run it as a formula.
pub fn inert(s: &str) -> String {
    if looks_like_formula(s) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn csv_error(e: ::csv::Error) -> ExportError {
    ExportError::Render {
        format: "CSV",
        detail: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_like_text_is_prefixed_and_the_rest_is_not() {
        for s in ["=1+1", "+44 20", "-x", "@SUM(A1)", "\tcmd", "\rx"] {
            assert_eq!(inert(s), format!("'{s}"));
        }
        for s in ["Zoë O'Brien", "", "1-2", "a=b"] {
            assert_eq!(inert(s), s);
        }
        assert_eq!(field(&Cell::Number(-3.0)), "-3");
    }
}
