//! CSV output, read back with the `csv` crate: the header row first, totals after the rows,
//! formula-like text made inert, UTF-8 (with the BOM and CRLF Excel wants in that variant),
//! and a 2,000-row list that survives the round trip.

use chrono::{NaiveDate, TimeZone, Utc};
use schooldesk_export::csv::{render, Dialect, SECTION_COLUMN};
use schooldesk_export::{Cell, Column, ColumnKind, Document, DocumentKind, Table};

fn doc(tables: Vec<Table>) -> Document {
    Document {
        kind: DocumentKind::Roster,
        title: "Class roster — 7B".into(),
        school: "Riverside Middle".into(),
        subtitle: Some("3 students".into()),
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
            Column::new("Balance", ColumnKind::Number),
            Column::new("Born", ColumnKind::Date),
        ],
        rows,
        totals: vec![vec![Cell::text("Total"), Cell::Number(-1.5), Cell::Empty]],
    }
}

fn read(bytes: &[u8]) -> Vec<Vec<String>> {
    let text = std::str::from_utf8(bytes).expect("UTF-8");
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("record").iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn formula_like_names_are_inert_and_numbers_stay_numbers() {
    let names = [
        "=HYPERLINK(\"http://evil.example\",\"Click\")",
        "+1",
        "@SUM(A1:A9)",
        "-2+3",
        "\t=cmd",
        "\r=cmd",
    ];
    let rows = names
        .iter()
        .map(|n| vec![Cell::text(*n), Cell::Number(-3.0), Cell::Empty])
        .collect();
    let bytes = render(&doc(vec![table("7B", rows)]), Dialect::Plain).expect("csv");
    let records = read(&bytes);
    for (record, name) in records[1..].iter().zip(names) {
        assert_eq!(record[0], format!("'{name}"), "{name:?} is prefixed");
        assert_eq!(record[1], "-3", "a negative number is written as a number");
    }
    assert_eq!(records.last().unwrap()[1], "-1.5");
}

#[test]
fn the_header_row_comes_first_and_totals_after_the_rows() {
    let rows = vec![
        vec![
            Cell::text("Zoë Ångström"),
            Cell::Number(2.0),
            Cell::Date(NaiveDate::from_ymd_opt(2014, 2, 3).unwrap()),
        ],
        vec![Cell::text("فاطمة الزهراء"), Cell::Number(0.25), Cell::Empty],
    ];
    let bytes = render(&doc(vec![table("7B", rows)]), Dialect::Plain).expect("csv");
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.starts_with('\u{feff}'), "plain CSV has no BOM");
    assert!(!text.contains('\r'), "plain CSV ends lines with \\n");
    assert!(
        !text.contains("Riverside") && !text.contains("Class roster"),
        "title and school are not mixed into the data"
    );
    let records = read(&bytes);
    assert_eq!(records[0], ["Name", "Balance", "Born"]);
    assert_eq!(records[1], ["Zoë Ångström", "2", "2014-02-03"]);
    assert_eq!(records[2], ["فاطمة الزهراء", "0.25", ""]);
    assert_eq!(records[3], ["Total", "-1.5", ""]);
    assert_eq!(records.len(), 4);
}

#[test]
fn the_excel_variant_has_a_bom_and_crlf() {
    let rows = vec![vec![Cell::text("Zoë"), Cell::Number(1.0), Cell::Empty]];
    let bytes = render(&doc(vec![table("7B", rows)]), Dialect::Excel).expect("csv");
    assert!(
        bytes.starts_with(&[0xEF, 0xBB, 0xBF]),
        "UTF-8 byte-order mark"
    );
    let text = std::str::from_utf8(&bytes[3..]).unwrap();
    assert_eq!(text, "Name,Balance,Born\r\nZoë,1,\r\nTotal,-1.5,\r\n");
}

#[test]
fn sections_with_the_same_columns_share_one_header() {
    let a = table(
        "7B",
        vec![vec![Cell::text("Ann"), Cell::Number(1.0), Cell::Empty]],
    );
    let b = table(
        "=7C",
        vec![vec![Cell::text("Bo"), Cell::Number(2.0), Cell::Empty]],
    );
    let records = read(&render(&doc(vec![a, b]), Dialect::Plain).unwrap());
    assert_eq!(records[0], [SECTION_COLUMN, "Name", "Balance", "Born"]);
    assert_eq!(records[1], ["7B", "Ann", "1", ""]);
    assert_eq!(records[2], ["7B", "Total", "-1.5", ""]);
    assert_eq!(
        records[3],
        ["'=7C", "Bo", "2", ""],
        "a section name is neutralised too"
    );
    assert_eq!(records.len(), 5);

    // Tables of different shapes (a record and its checklist) follow one another.
    let mut other = table("Checklist", vec![vec![Cell::text("x")]]);
    other.columns = vec![Column::new("Item", ColumnKind::Text)];
    other.totals.clear();
    let a = table("Record", vec![]);
    let text = String::from_utf8(render(&doc(vec![a, other]), Dialect::Plain).unwrap()).unwrap();
    assert_eq!(text, "Name,Balance,Born\nTotal,-1.5,\n\nItem\nx\n");
}

#[test]
fn a_2000_row_list_survives_the_round_trip() {
    let tricky = [
        "O'Brien, Seán",
        "Nguyễn \"Ngọc\" Ánh",
        "line\nbreak",
        "دانيال",
        "=1+1",
        "",
    ];
    let rows: Vec<Vec<Cell>> = (0..2000)
        .map(|i| {
            vec![
                Cell::text(format!("{} {i}", tricky[i % tricky.len()])),
                Cell::Number(i as f64 - 1000.0),
                Cell::Date(
                    NaiveDate::from_ymd_opt(2010, 1, 1).unwrap() + chrono::Days::new(i as u64),
                ),
            ]
        })
        .collect();
    let bytes = render(&doc(vec![table("Everyone", rows.clone())]), Dialect::Excel).unwrap();
    let records = read(&bytes);
    assert_eq!(records.len(), 1 + 2000 + 1);
    for (record, row) in records[1..2001].iter().zip(&rows) {
        let name = row[0].display();
        let expected = if name.starts_with('=') {
            format!("'{name}")
        } else {
            name
        };
        assert_eq!(record[0], expected);
        assert_eq!(record[1], row[1].display());
        assert_eq!(record[2], row[2].display());
    }
}
