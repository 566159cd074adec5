//! What the documents an office prints every day cost to make, per format: a 2,000-student
//! emergency list (one row per contact, one table per homeroom) and a 30-day register for a
//! 30-pupil class. Prints time and size per format; run with
//! `cargo bench -p schooldesk-export --bench export`.

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use schooldesk_export::{
    render, Cell, Column, ColumnKind, Document, DocumentKind, Format, Paper, Table,
};
use std::time::Instant;

const GIVEN: &[&str] = &[
    "Zoë", "Łukasz", "Amélie", "Mohammed", "Siobhán", "José", "Nguyễn", "Olivia", "محمد", "דוד",
];
const FAMILY: &[&str] = &[
    "Brontë",
    "Żółć",
    "Dupont",
    "Al-Rashid",
    "Ó Briain",
    "García",
    "Thị Ánh",
    "Smith",
    "عبد الله",
    "כהן",
];

fn name(i: usize) -> (String, String) {
    (
        GIVEN[i % GIVEN.len()].to_string(),
        format!("{}-{}", FAMILY[(i / 7) % FAMILY.len()], i),
    )
}

fn emergency(students: usize) -> Document {
    let columns = vec![
        Column::new("Student", ColumnKind::Text),
        Column::new("Status", ColumnKind::Code),
        Column::new("Contact", ColumnKind::Text),
        Column::new("Relationship", ColumnKind::Text),
        Column::new("Phone", ColumnKind::Text),
        Column::new("May collect", ColumnKind::Code),
    ];
    let per_room = 30;
    let tables = (0..students.div_ceil(per_room))
        .map(|room| Table {
            name: format!(
                "Homeroom {}{}",
                7 + room / 26,
                (b'A' + (room % 26) as u8) as char
            ),
            columns: columns.clone(),
            rows: (room * per_room..((room + 1) * per_room).min(students))
                .flat_map(|i| {
                    let (g, f) = name(i);
                    (0..2).map(move |c| {
                        vec![
                            Cell::text(format!("{f}, {g}")),
                            Cell::text("present"),
                            Cell::text(format!("{} {f}", if c == 0 { "Anna" } else { "Piotr" })),
                            Cell::text(if c == 0 { "Mother" } else { "Father" }),
                            Cell::text(format!("+1-555-{:04}", (i * 2 + c) % 10_000)),
                            Cell::text(if (i + c) % 17 == 0 {
                                "NO — may not collect"
                            } else {
                                "yes"
                            }),
                        ]
                    })
                })
                .collect(),
            totals: Vec::new(),
        })
        .collect();
    document(DocumentKind::Emergency, "Emergency list", tables)
}

fn register(pupils: usize, days: i64) -> Document {
    let start = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap();
    let dates: Vec<NaiveDate> = (0..days).map(|d| start + Duration::days(d)).collect();
    let mut columns = vec![Column::new("Student", ColumnKind::Text)];
    columns.extend(
        dates
            .iter()
            .map(|d| Column::new(d.format("%d %b").to_string(), ColumnKind::Code)),
    );
    for t in ["Present", "Absent", "Late", "Excused", "Minutes late"] {
        columns.push(Column::new(t, ColumnKind::Number));
    }
    let rows = (0..pupils)
        .map(|i| {
            let (g, f) = name(i);
            let mut row = vec![Cell::text(format!("{f}, {g}"))];
            row.extend((0..days).map(|d| {
                Cell::text(match (i as i64 * 7 + d) % 23 {
                    0 => "A",
                    1 => "L",
                    2 => "E",
                    _ => "P",
                })
            }));
            row.extend([26.0, 1.0, 2.0, 1.0, 14.0].map(Cell::Number));
            row
        })
        .collect();
    let table = Table {
        name: "Homeroom 7B".into(),
        columns,
        rows,
        totals: vec![],
    };
    document(DocumentKind::Register, "Attendance register", vec![table])
}

fn document(kind: DocumentKind, title: &str, tables: Vec<Table>) -> Document {
    let at = Utc.with_ymd_and_hms(2025, 9, 30, 7, 45, 0).unwrap();
    Document {
        kind,
        title: title.into(),
        school: "Cedar Park Middle School".into(),
        subtitle: None,
        data_as_of: Some(at),
        generated_at: at,
        tables,
        students: Vec::new(),
    }
}

fn main() {
    let cases = [
        (
            "emergency list, 2,000 students (4,000 contact rows)",
            emergency(2_000),
        ),
        ("register, 30 pupils × 30 days", register(30, 30)),
    ];
    for (what, doc) in &cases {
        println!("{what}:");
        let mut csv_ms = None;
        for format in [Format::Csv, Format::CsvExcel, Format::Xlsx, Format::Pdf] {
            // One warm-up (font discovery, allocations), then the best of three.
            let _ = render(doc, format, Paper::A4).expect("renders");
            let mut best = f64::MAX;
            let mut size = 0;
            for _ in 0..3 {
                let t = Instant::now();
                let bytes = render(doc, format, Paper::A4).expect("renders");
                best = best.min(t.elapsed().as_secs_f64() * 1000.0);
                size = bytes.len();
            }
            let base = *csv_ms.get_or_insert(best);
            println!(
                "  {:<10} {:>9.1} ms ({:>6.1} × CSV)  {:>9} bytes",
                format!("{format:?}"),
                best,
                best / base,
                size
            );
        }
    }
}
