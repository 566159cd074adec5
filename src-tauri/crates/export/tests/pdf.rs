//! The PDF writer, checked with independent tools: poppler's `pdfinfo` for page sizes and
//! counts, `pdftotext` (page by page) for what a reader, a printer driver or a screen reader
//! gets back. `scripts/install-deps.sh` installs poppler-utils and fonts-dejavu-core.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{TimeZone, Utc};
use schooldesk_export::model::{Cell, Column, ColumnKind, Document, DocumentKind, Paper, Table};
use schooldesk_export::pdf;

fn doc(tables: Vec<Table>) -> Document {
    Document {
        kind: DocumentKind::Emergency,
        title: "Emergency list".into(),
        school: "Riverside Academy".into(),
        subtitle: Some("Everyone present on 30 September 2025".into()),
        data_as_of: Some(Utc.with_ymd_and_hms(2025, 9, 30, 7, 45, 0).unwrap()),
        generated_at: Utc.with_ymd_and_hms(2025, 9, 30, 8, 5, 0).unwrap(),
        tables,
        students: vec![],
    }
}

fn roster(name: &str, names: &[&str]) -> Table {
    Table {
        name: name.into(),
        columns: vec![
            Column::new("Student", ColumnKind::Text),
            Column::new("Guardian phone", ColumnKind::Text),
            Column::new("Days present", ColumnKind::Number),
        ],
        rows: names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                vec![
                    Cell::text(*n),
                    Cell::text(format!("+44 7700 900{:03}", i % 1000)),
                    Cell::Number(i as f64),
                ]
            })
            .collect(),
        totals: vec![],
    }
}

/// The PDF written to a temporary file the poppler tools can open.
struct Written {
    _dir: tempfile::TempDir,
    path: PathBuf,
    bytes: Vec<u8>,
}

fn write(doc: &Document, paper: Paper) -> Written {
    let bytes = pdf::render(doc, paper).expect("render");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.pdf");
    std::fs::write(&path, &bytes).unwrap();
    Written {
        _dir: dir,
        path,
        bytes,
    }
}

fn tool(name: &str, args: &[&str], file: &Path) -> String {
    let out = Command::new(name)
        .args(args)
        .arg(file)
        .args(if name == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| {
            panic!("could not run {name} ({e}); install poppler-utils (scripts/install-deps.sh)")
        });
    assert!(
        out.status.success(),
        "{name} rejected the PDF: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 from poppler")
}

fn info(w: &Written) -> String {
    tool("pdfinfo", &[], &w.path)
}

fn pages(w: &Written) -> usize {
    info(w)
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .expect("Pages: line")
        .trim()
        .parse()
        .unwrap()
}

/// Page `n`'s size in points, as pdfinfo reports it.
fn page_size(w: &Written, n: usize) -> (f64, f64) {
    let n = n.to_string();
    let out = tool("pdfinfo", &["-f", &n, "-l", &n], &w.path);
    let line = out
        .lines()
        .find(|l| l.starts_with(&format!("Page {n:>4} size:")) || l.starts_with("Page size:"))
        .unwrap_or_else(|| panic!("no size line for page {n} in:\n{out}"));
    let dims: Vec<f64> = line
        .split(':')
        .nth(1)
        .unwrap()
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    (dims[0], dims[1])
}

fn page_text(w: &Written, n: usize) -> String {
    let n = n.to_string();
    tool("pdftotext", &["-f", &n, "-l", &n, "-enc", "UTF-8"], &w.path)
}

fn all_text(w: &Written) -> String {
    tool("pdftotext", &["-enc", "UTF-8"], &w.path)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 0.5
}

#[test]
fn a4_and_letter_pages_have_their_sizes() {
    let d = doc(vec![roster(
        "Homeroom 7B",
        &["Ada Lovelace", "Alan Turing"],
    )]);

    let a4 = write(&d, Paper::A4);
    let (w, h) = page_size(&a4, 1);
    assert!(
        close(w, 595.276) && close(h, 841.89),
        "A4 page is {w} x {h}"
    );

    let letter = write(&d, Paper::Letter);
    let (w, h) = page_size(&letter, 1);
    assert!(
        close(w, 612.0) && close(h, 792.0),
        "Letter page is {w} x {h}"
    );
    assert_eq!(pages(&a4), 1);
}

#[test]
fn a_long_list_splits_across_pages_with_the_header_and_page_furniture_on_every_page() {
    let names: Vec<String> = (0..2000).map(|i| format!("Pupil{i:04} Example")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut table = roster("Whole school", &refs);
    table.totals = vec![vec![
        Cell::text("Total students"),
        Cell::Empty,
        Cell::Number(2000.0),
    ]];
    let w = write(&doc(vec![table]), Paper::A4);
    let n = pages(&w);
    assert!(n > 20, "2,000 rows on only {n} pages");

    let mut seen = vec![false; 2000];
    for p in 1..=n {
        let text = page_text(&w, p);
        for needle in [
            "Student",
            "Guardian phone",
            "Days present",
            "Riverside Academy",
            "Emergency list",
            "Data as of 30 Sep 2025, 07:45 UTC",
            "Generated 30 Sep 2025, 08:05 UTC",
        ] {
            assert!(text.contains(needle), "page {p} lacks {needle:?}:\n{text}");
        }
        assert!(
            text.contains(&format!("Page {p} of {n}")),
            "page {p} lacks its number:\n{text}"
        );
        if p > 1 {
            assert!(text.contains("Whole school (continued)"), "page {p}");
        }
        for (i, name) in names.iter().enumerate() {
            if text.contains(name.as_str()) {
                assert!(!seen[i], "{name} printed twice");
                seen[i] = true;
            }
        }
    }
    // Every row whole on exactly one page (a split row would lose its name).
    assert!(seen.iter().all(|s| *s), "rows missing from the PDF");
    let last = page_text(&w, n);
    assert!(
        last.contains("Total students") && last.contains("2000"),
        "{last}"
    );
    assert!(!page_text(&w, 1).contains("Total students"));
}

#[test]
fn accented_and_right_to_left_names_come_back_as_text() {
    let names = [
        "Zoë Brontë",
        "Łukasz Żółć",
        "Nguyễn Thị Ánh",
        "François Müller-Ødegård",
        "محمد عبد الله",
        "דוד כהן",
    ];
    let w = write(&doc(vec![roster("Homeroom 7B", &names)]), Paper::A4);
    let text = all_text(&w);
    for latin in &names[..4] {
        assert!(text.contains(latin), "{latin:?} not extracted:\n{text}");
    }
    // pdftotext prints right-to-left words in logical order, word by word; the words are
    // checked rather than the whole name so the test does not depend on how it orders words
    // inside one right-to-left run.
    for word in ["محمد", "عبد", "الله", "דוד", "כהן"] {
        assert!(text.contains(word), "{word:?} not extracted:\n{text}");
    }
}

/// Every word pdftotext finds on page 1 with its left edge, as (text, xMin, yMin). In this
/// mode poppler prints a word's characters in the order they sit on the page, left to right.
fn words(w: &Written) -> Vec<(String, f64, f64)> {
    let out = tool(
        "pdftotext",
        &["-bbox", "-f", "1", "-l", "1", "-enc", "UTF-8"],
        &w.path,
    );
    let attr = |line: &str, name: &str| -> f64 {
        let start = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        line[start..].split('"').next().unwrap().parse().unwrap()
    };
    out.lines()
        .filter(|l| l.trim_start().starts_with("<word "))
        .map(|l| {
            let text = l.split('>').nth(1).unwrap().split('<').next().unwrap();
            (text.to_string(), attr(l, "xMin"), attr(l, "yMin"))
        })
        .collect()
}

fn reversed(s: &str) -> String {
    s.chars().rev().collect()
}

#[test]
fn right_to_left_names_are_laid_out_right_to_left() {
    let w = write(
        &doc(vec![roster("Homeroom 7B", &["محمد عبد الله", "דוד כהן"])]),
        Paper::A4,
    );
    let words = words(&w);
    let x_of = |logical: &str| -> (f64, f64) {
        let visual = reversed(logical);
        words
            .iter()
            .find(|(t, _, _)| *t == visual)
            .map(|(_, x, y)| (*x, *y))
            .unwrap_or_else(|| panic!("{logical:?} not on the page as {visual:?}: {words:?}"))
    };
    // The first name of a right-to-left name is read first, so it sits furthest right.
    let (muhammad, y1) = x_of("محمد");
    let (abd, _) = x_of("عبد");
    let (allah, y2) = x_of("الله");
    assert!(muhammad > abd && abd > allah, "{muhammad} {abd} {allah}");
    assert!((y1 - y2).abs() < 0.1, "one name, one line");
    let (david, _) = x_of("דוד");
    let (cohen, _) = x_of("כהן");
    assert!(david > cohen, "{david} {cohen}");
}

#[test]
fn a_character_no_installed_font_has_does_not_stop_the_rest_printing() {
    // U+F0000 is private-use: no ordinary font draws it.
    let w = write(
        &doc(vec![roster("Homeroom 7B", &["Amélie \u{F0000} Dupont"])]),
        Paper::A4,
    );
    let text = page_text(&w, 1);
    assert!(text.contains("Amélie") && text.contains("Dupont"), "{text}");
}

#[test]
fn an_empty_table_and_an_empty_document_still_make_a_page() {
    let empty = Table {
        name: "Homeroom 9C".into(),
        columns: vec![Column::new("Student", ColumnKind::Text)],
        rows: vec![],
        totals: vec![],
    };
    let w = write(&doc(vec![empty]), Paper::Letter);
    assert_eq!(pages(&w), 1);
    let text = page_text(&w, 1);
    assert!(
        text.contains("Homeroom 9C") && text.contains("Nothing to list."),
        "{text}"
    );
    assert!(text.contains("Page 1 of 1"));

    let w = write(&doc(vec![]), Paper::A4);
    assert_eq!(pages(&w), 1);
    assert!(page_text(&w, 1).contains("This document has no tables."));

    let mut no_time = doc(vec![]);
    no_time.data_as_of = None;
    let w = write(&no_time, Paper::A4);
    assert!(page_text(&w, 1).contains("Data as of: not yet synced"));
}

#[test]
fn each_table_starts_on_a_new_page_and_wide_registers_turn_landscape() {
    let mut columns = vec![Column::new("Student", ColumnKind::Text)];
    for day in 1..=30 {
        columns.push(Column::new(format!("{day:02}"), ColumnKind::Code));
    }
    columns.push(Column::new("Minutes late", ColumnKind::Number));
    let row = |name: &str| {
        let mut r = vec![Cell::text(name)];
        r.extend((1..=30).map(|d| Cell::text(if d % 7 == 0 { "L" } else { "/" })));
        r.push(Cell::Number(35.0));
        r
    };
    let register = Table {
        name: "Register 7B".into(),
        columns,
        rows: vec![row("Zoë Brontë"), row("محمد عبد الله")],
        totals: vec![{
            let mut t = vec![Cell::text("Total")];
            t.extend((1..=30).map(|_| Cell::Number(2.0)));
            t.push(Cell::Number(70.0));
            t
        }],
    };
    let d = doc(vec![roster("Homeroom 7B", &["Ada Lovelace"]), register]);
    let w = write(&d, Paper::Letter);
    assert_eq!(pages(&w), 2);
    let (w1, h1) = page_size(&w, 1);
    assert!(w1 < h1, "the short roster stays portrait");
    let (w2, h2) = page_size(&w, 2);
    assert!(
        close(w2, 792.0) && close(h2, 612.0),
        "register page is {w2} x {h2}"
    );

    let p1 = page_text(&w, 1);
    let p2 = page_text(&w, 2);
    assert!(p1.contains("Homeroom 7B") && !p1.contains("Register 7B"));
    assert!(p2.contains("Register 7B") && p2.contains("Minutes late") && p2.contains("Zoë"));
}

#[test]
fn too_wide_tables_shrink_then_cut_cells_short_without_losing_pages() {
    // Sixty wide text columns cannot fit even in landscape at the smallest type size.
    let columns: Vec<Column> = (0..60)
        .map(|i| Column::new(format!("Column {i}"), ColumnKind::Text))
        .collect();
    let rows = vec![(0..60)
        .map(|i| Cell::text(format!("A rather long value number {i}")))
        .collect()];
    let d = doc(vec![Table {
        name: "Wide".into(),
        columns,
        rows,
        totals: vec![],
    }]);
    let w = write(&d, Paper::A4);
    assert_eq!(pages(&w), 1);
    let text = page_text(&w, 1);
    assert!(text.contains('…'), "cut cells carry an ellipsis:\n{text}");
    assert!(!text.contains("A rather long value number 59"));
}

#[test]
fn the_same_document_gives_the_same_bytes() {
    let d = doc(vec![roster("Homeroom 7B", &["Zoë Brontë", "דוד כהן"])]);
    let a = write(&d, Paper::A4);
    let b = write(&d, Paper::A4);
    assert_eq!(a.bytes.len(), b.bytes.len());
    assert!(a.bytes == b.bytes, "two renders of one document differ");
    // The only time in the file is the document's own.
    assert!(info(&a).contains("2025"), "{}", info(&a));
}
