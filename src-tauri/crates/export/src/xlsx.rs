//! XLSX workbooks: one sheet per table, the header row frozen and filterable, numbers as
//! numbers and dates as dates, columns wide enough to read. The sheet itself holds only the
//! header and the data (it sorts and filters cleanly); the title, school and "data as of"
//! are in the workbook's properties and in the printed page header.
//!
//! Text is always stored as a text cell: a name that looks like a formula is never a
//! formula (and carries Excel's quote prefix, so editing the cell does not turn it into one).

use std::collections::HashSet;

use chrono::Datelike;
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
    XlsxError,
};

use crate::csv::looks_like_formula;
use crate::error::{ExportError, Result};
use crate::model::{Cell, ColumnKind, Document, Table};

/// Excel's limit on a sheet name.
pub const MAX_SHEET_NAME: usize = 31;
/// Excel's limit on the text of one cell.
const MAX_CELL_TEXT: usize = 32_767;

struct Formats {
    header: Format,
    text: Format,
    inert_text: Format,
    code: Format,
    number: Format,
    date: Format,
    total_text: Format,
    total_number: Format,
}

impl Formats {
    fn new() -> Formats {
        let date = Format::new().set_num_format("yyyy-mm-dd");
        Formats {
            header: Format::new()
                .set_bold()
                .set_text_wrap()
                .set_background_color(Color::RGB(0xE8_EE_F4))
                .set_border_bottom(FormatBorder::Thin),
            text: Format::new(),
            inert_text: Format::new().set_quote_prefix(),
            code: Format::new().set_align(FormatAlign::Center),
            number: Format::new(),
            date,
            total_text: Format::new().set_bold().set_border_top(FormatBorder::Thin),
            total_number: Format::new().set_bold().set_border_top(FormatBorder::Thin),
        }
    }
}

/// The document as an XLSX workbook.
pub fn render(doc: &Document) -> Result<Vec<u8>> {
    build(doc).map_err(|e| ExportError::Render {
        format: "XLSX",
        detail: e.to_string(),
    })
}

fn build(doc: &Document) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let as_of = doc
        .data_as_of
        .map(|t| format!("Data as of {}", t.format("%Y-%m-%d %H:%M UTC")));
    let mut comment = vec![format!(
        "Made {}",
        doc.generated_at.format("%Y-%m-%d %H:%M UTC")
    )];
    comment.extend(as_of.clone());
    let mut properties = DocProperties::new()
        .set_title(&doc.title)
        .set_company(&doc.school)
        .set_author("Schooldesk")
        .set_comment(comment.join(". "));
    // The document's own time, not the clock's: the same document gives the same workbook.
    if let Ok(made) = ExcelDateTime::from_timestamp(doc.generated_at.timestamp()) {
        properties = properties.set_creation_datetime(&made);
    }
    if let Some(subtitle) = &doc.subtitle {
        properties = properties.set_subject(subtitle);
    }
    workbook.set_properties(&properties);

    let formats = Formats::new();
    let names = sheet_names(&doc.tables);
    for (table, name) in doc.tables.iter().zip(names) {
        let sheet = workbook.add_worksheet();
        sheet.set_name(name)?;
        write_table(sheet, table, &formats)?;
        sheet.set_header(page_header(doc, as_of.as_deref()));
        sheet.set_footer("&CPage &P of &N");
        if table.columns.len() > 8 {
            sheet.set_landscape();
        }
    }
    if doc.tables.is_empty() {
        // A workbook needs a sheet; an empty one says there was nothing rather than failing.
        let sheet = workbook.add_worksheet();
        sheet.write_string(0, 0, "Nothing to list.")?;
    }
    workbook.save_to_buffer()
}

fn write_table(sheet: &mut Worksheet, table: &Table, f: &Formats) -> Result<(), XlsxError> {
    let ncols = table.columns.len();
    let mut widths: Vec<usize> = table
        .columns
        .iter()
        .map(|c| c.title.chars().count().min(24))
        .collect();
    for (col, column) in table.columns.iter().enumerate() {
        sheet.write_string_with_format(0, col as u16, clip(&column.title), &f.header)?;
    }
    let mut row_num: u32 = 1;
    for row in &table.rows {
        for (col, cell) in row.iter().enumerate().take(ncols) {
            let kind = table.columns[col].kind;
            let width = write_cell(sheet, row_num, col as u16, cell, kind, f, false)?;
            widths[col] = widths[col].max(width);
        }
        row_num += 1;
    }
    for row in &table.totals {
        for (col, cell) in row.iter().enumerate().take(ncols) {
            let kind = table.columns[col].kind;
            let width = write_cell(sheet, row_num, col as u16, cell, kind, f, true)?;
            widths[col] = widths[col].max(width);
        }
        row_num += 1;
    }
    if ncols > 0 {
        sheet.set_freeze_panes(1, 0)?;
        sheet.set_repeat_rows(0, 0)?;
        let last_data_row = table.rows.len() as u32;
        sheet.autofilter(0, 0, last_data_row.max(1), (ncols - 1) as u16)?;
    }
    for (col, column) in table.columns.iter().enumerate() {
        let (least, most) = match column.kind {
            ColumnKind::Code => (4, 12),
            ColumnKind::Date => (11, 12),
            ColumnKind::Number => (6, 14),
            ColumnKind::Text => (8, 50),
        };
        let width = (widths[col] + 2).clamp(least, most);
        sheet.set_column_width(col as u16, width as f64)?;
    }
    Ok(())
}

/// Writes one cell; returns how many characters wide it reads.
fn write_cell(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    cell: &Cell,
    kind: ColumnKind,
    f: &Formats,
    total: bool,
) -> Result<usize, XlsxError> {
    match cell {
        Cell::Empty => {
            if total {
                sheet.write_blank(row, col, &f.total_text)?;
            }
            Ok(0)
        }
        Cell::Text(s) => {
            let format = if total {
                &f.total_text
            } else if looks_like_formula(s) {
                &f.inert_text
            } else if kind == ColumnKind::Code {
                &f.code
            } else {
                &f.text
            };
            sheet.write_string_with_format(row, col, clip(s), format)?;
            Ok(s.lines().map(|l| l.chars().count()).max().unwrap_or(0))
        }
        Cell::Number(n) => {
            let format = if total { &f.total_number } else { &f.number };
            sheet.write_number_with_format(row, col, *n, format)?;
            Ok(cell.display().chars().count())
        }
        Cell::Date(d) => {
            let date = ExcelDateTime::from_ymd(
                u16::try_from(d.year()).unwrap_or(1900),
                d.month() as u8,
                d.day() as u8,
            );
            match date {
                Ok(date) => {
                    sheet.write_datetime_with_format(row, col, &date, &f.date)?;
                }
                // Excel has no dates before 1900: keep the date, as text.
                Err(_) => {
                    sheet.write_string_with_format(row, col, cell.display(), &f.text)?;
                }
            }
            Ok(10)
        }
    }
}

fn clip(s: &str) -> String {
    if s.chars().count() <= MAX_CELL_TEXT {
        s.to_string()
    } else {
        s.chars().take(MAX_CELL_TEXT - 1).chain(['…']).collect()
    }
}

/// The printed page header: school on the left, title in the middle, data as of on the right.
fn page_header(doc: &Document, as_of: Option<&str>) -> String {
    // `&` starts a header code; Excel allows 255 characters in all.
    let part = |s: &str, max: usize| -> String {
        s.chars().take(max).collect::<String>().replace('&', "&&")
    };
    format!(
        "&L{}&C{}&R{}",
        part(&doc.school, 70),
        part(&doc.title, 80),
        part(as_of.unwrap_or(""), 40)
    )
}

/// A valid, unique sheet name for every table: no `[]:*?/\`, no leading or trailing `'`,
/// at most 31 characters, never "History" (Excel keeps that name), unique ignoring case.
pub fn sheet_names(tables: &[Table]) -> Vec<String> {
    let mut taken: HashSet<String> = HashSet::new();
    let mut out = Vec::with_capacity(tables.len());
    for (i, table) in tables.iter().enumerate() {
        let cleaned: String = table
            .name
            .chars()
            .map(|c| {
                if matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') || c.is_control() {
                    ' '
                } else {
                    c
                }
            })
            .collect();
        let mut base = cleaned
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .trim_matches('\'')
            .trim()
            .to_string();
        if base.is_empty() || base.eq_ignore_ascii_case("history") {
            base = format!("Sheet {}", i + 1);
        }
        let mut n = 1;
        loop {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!(" ({n})")
            };
            let room = MAX_SHEET_NAME - suffix.chars().count();
            let stem: String = base.chars().take(room).collect();
            let name = format!("{}{suffix}", stem.trim_end().trim_end_matches('\''));
            if taken.insert(name.to_lowercase()) {
                out.push(name);
                break;
            }
            n += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str) -> Table {
        Table {
            name: name.into(),
            columns: vec![],
            rows: vec![],
            totals: vec![],
        }
    }

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let long = "A very long section name that goes on and on";
        let names = sheet_names(&[
            table("7B: Maths [set 1]"),
            table(long),
            table(long),
            table("'quoted'"),
            table("History"),
            table(""),
            table("7b  maths  set 1"),
        ]);
        assert_eq!(names[0], "7B Maths set 1");
        assert_eq!(names[1].chars().count(), 31);
        assert!(names[2].ends_with(" (2)") && names[2].chars().count() <= 31);
        assert_eq!(names[3], "quoted");
        assert_eq!(names[4], "Sheet 5");
        assert_eq!(names[5], "Sheet 6");
        assert_eq!(names[6], "7b maths set 1 (2)");
    }
}
