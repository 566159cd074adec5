//! XLSX workbooks read back with calamine (an XLSX reader independent of the writer):
//! sheet names, the header row, typed numbers and dates, formula-like names kept as text,
//! a 2,000-row list, and a register built from the cache.

mod support;

use std::io::Cursor;

use calamine::{open_workbook_from_rs, Data, DataType, Reader, Xlsx};
use chrono::{NaiveDate, TimeZone, Utc};
use schooldesk_domain::System;
use schooldesk_export::build;
use schooldesk_export::{
    render, Cell, Column, ColumnKind, Document, DocumentKind, Format, Paper, Table,
};

type Book = Xlsx<Cursor<Vec<u8>>>;

fn open(bytes: Vec<u8>) -> Book {
    open_workbook_from_rs(Cursor::new(bytes)).expect("a workbook calamine can read")
}

fn doc(tables: Vec<Table>) -> Document {
    Document {
        kind: DocumentKind::Emergency,
        title: "Emergency list".into(),
        school: "Riverside & Co Middle".into(),
        subtitle: None,
        data_as_of: Some(Utc.with_ymd_and_hms(2026, 10, 8, 9, 0, 0).unwrap()),
        generated_at: Utc.with_ymd_and_hms(2026, 10, 8, 15, 0, 0).unwrap(),
        tables,
        students: vec![],
    }
}

fn table(name: &str, rows: Vec<Vec<Cell>>) -> Table {
    Table {
        name: name.into(),
        columns: vec![
            Column::new("Name", ColumnKind::Text),
            Column::new("Minutes late", ColumnKind::Number),
            Column::new("Date of birth", ColumnKind::Date),
            Column::new("Mark", ColumnKind::Code),
        ],
        rows,
        totals: vec![vec![
            Cell::text("Total"),
            Cell::Number(-4.5),
            Cell::Empty,
            Cell::Empty,
        ]],
    }
}

fn dob() -> NaiveDate {
    NaiveDate::from_ymd_opt(2014, 2, 3).unwrap()
}

#[test]
fn sheets_headers_and_typed_cells_read_back() {
    let rows = vec![
        vec![
            Cell::text("Zoë Ångström"),
            Cell::Number(12.0),
            Cell::Date(dob()),
            Cell::text("/"),
        ],
        vec![
            Cell::text("فاطمة"),
            Cell::Number(-3.0),
            Cell::Empty,
            Cell::text("L"),
        ],
    ];
    let long = "Homeroom 10A: Kingsbury Community School [north site]";
    let bytes = render(
        &doc(vec![
            table(long, rows.clone()),
            table(long, rows.clone()),
            table("History", vec![]),
        ]),
        Format::Xlsx,
        Paper::A4,
    )
    .expect("xlsx");
    let mut book = open(bytes);
    let names = book.sheet_names();
    assert_eq!(
        names,
        [
            "Homeroom 10A Kingsbury Communit",
            "Homeroom 10A Kingsbury Comm (2)",
            "Sheet 3"
        ]
    );
    assert!(names.iter().all(|n| n.chars().count() <= 31));

    let range = book.worksheet_range(&names[0]).expect("sheet");
    assert_eq!(range.get_size(), (4, 4), "header, two rows, totals");
    let header: Vec<String> = (0..4)
        .map(|c| range.get((0, c)).unwrap().to_string())
        .collect();
    assert_eq!(header, ["Name", "Minutes late", "Date of birth", "Mark"]);
    assert_eq!(
        range.get((1, 0)),
        Some(&Data::String("Zoë Ångström".into()))
    );
    assert_eq!(range.get((2, 0)), Some(&Data::String("فاطمة".into())));
    assert_eq!(range.get((1, 1)), Some(&Data::Float(12.0)), "a number cell");
    assert_eq!(
        range.get((2, 1)),
        Some(&Data::Float(-3.0)),
        "a negative number stays a number"
    );
    let date = range.get((1, 2)).expect("date cell");
    assert!(date.is_datetime(), "a date cell, not text: {date:?}");
    assert_eq!(date.as_datetime().map(|d| d.date()), Some(dob()));
    assert_eq!(range.get((2, 3)), Some(&Data::String("L".into())));
    assert_eq!(range.get((3, 0)), Some(&Data::String("Total".into())));
    assert_eq!(range.get((3, 1)), Some(&Data::Float(-4.5)));

    let empty = book.worksheet_range("Sheet 3").expect("sheet");
    assert_eq!(empty.get_size().0, 2, "header and totals of an empty table");
}

#[test]
fn formula_like_names_are_stored_as_text_never_as_formulas() {
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"Click\")",
        "+1",
        "@SUM(A1:A9)",
        "-2+3",
        "=1+1",
    ];
    let rows = names
        .iter()
        .map(|n| vec![Cell::text(*n), Cell::Number(1.0), Cell::Empty, Cell::Empty])
        .collect();
    let mut book = open(render(&doc(vec![table("7B", rows)]), Format::Xlsx, Paper::A4).unwrap());
    let range = book.worksheet_range("7B").unwrap();
    for (i, name) in names.iter().enumerate() {
        assert_eq!(
            range.get((i + 1, 0)),
            Some(&Data::String(name.to_string())),
            "read back as the text itself"
        );
    }
    let formulas = book.worksheet_formula("7B").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "no cell holds a formula: {:?}",
        formulas.used_cells().collect::<Vec<_>>()
    );
}

#[test]
fn a_2000_row_list_fits_one_sheet() {
    let rows: Vec<Vec<Cell>> = (0..2000)
        .map(|i| {
            vec![
                Cell::text(format!("Student {i}")),
                Cell::Number(i as f64),
                Cell::Date(dob()),
                Cell::text("P"),
            ]
        })
        .collect();
    let mut book =
        open(render(&doc(vec![table("All", rows)]), Format::Xlsx, Paper::Letter).unwrap());
    let range = book.worksheet_range("All").unwrap();
    assert_eq!(range.get_size(), (1 + 2000 + 1, 4));
    assert_eq!(
        range.get((2000, 0)),
        Some(&Data::String("Student 1999".into()))
    );
    assert_eq!(range.get((2000, 1)), Some(&Data::Float(1999.0)));
}

#[test]
fn a_register_and_a_roster_from_the_cache_read_back() {
    let f = support::district();
    let section = support::homeroom(System::Hubmis);
    let doc = build::register(
        &f.desk,
        &section,
        support::date("2026-09-28"),
        support::date("2026-10-07"),
        support::now(),
    )
    .expect("register");
    let mut book = open(render(&doc, Format::Xlsx, Paper::A4).unwrap());
    let names = book.sheet_names();
    assert_eq!(names.len(), 1);
    let range = book.worksheet_range(&names[0]).unwrap();
    let table = &doc.tables[0];
    assert_eq!(
        range.get_size(),
        (1 + table.rows.len() + 1, table.columns.len())
    );
    assert_eq!(
        range.get((0, 2)),
        Some(&Data::String("Mon 28 Sep AM".into()))
    );
    let present = table
        .columns
        .iter()
        .position(|c| c.title == "Present")
        .unwrap();
    for (i, row) in table.rows.iter().enumerate() {
        let Cell::Number(n) = row[present] else {
            panic!("totals are numbers")
        };
        assert_eq!(range.get((i + 1, present)), Some(&Data::Float(n)));
    }

    let roster = build::roster(
        &f.desk,
        &support::homeroom(System::OmniForge),
        support::now(),
    )
    .expect("roster");
    let mut book = open(render(&roster, Format::Xlsx, Paper::A4).unwrap());
    let range = book.worksheet_range(&book.sheet_names()[0]).unwrap();
    let dob = roster.tables[0]
        .columns
        .iter()
        .position(|c| c.title == "Date of birth")
        .unwrap();
    for (i, row) in roster.tables[0].rows.iter().enumerate() {
        let Cell::Date(d) = row[dob] else { continue };
        let cell = range.get((i + 1, dob)).unwrap();
        assert_eq!(cell.as_datetime().map(|t| t.date()), Some(d), "{cell:?}");
    }
}

#[test]
fn the_same_document_gives_the_same_workbook() {
    let rows = vec![vec![
        Cell::text("Ann"),
        Cell::Number(1.0),
        Cell::Date(dob()),
        Cell::Empty,
    ]];
    let d = doc(vec![table("7B", rows)]);
    let first = render(&d, Format::Xlsx, Paper::A4).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert_eq!(first, render(&d, Format::Xlsx, Paper::A4).unwrap());
}
