//! The document builders over a real synced cache (see `support`): what each document holds,
//! golden CSV files for a roster and registers, and the errors a person sees. The simulators
//! are stopped before any document is built, so every one here is made with no network.

mod support;

use chrono::Utc;
use schooldesk_domain::{AttendanceStatus, EnrollmentRecordKind, System};
use schooldesk_export::build::{self, SupportScope};
use schooldesk_export::csv::{render, Dialect};
use schooldesk_export::{Cell, Document, DocumentKind, ExportError};
use schooldesk_sync::desk::MarkRequest;
use support::*;

fn csv(doc: &Document) -> Vec<u8> {
    render(doc, Dialect::Plain).expect("csv")
}

fn column(doc: &Document, title: &str) -> usize {
    doc.tables[0]
        .columns
        .iter()
        .position(|c| c.title == title)
        .unwrap_or_else(|| panic!("no column {title}"))
}

fn num(cell: &Cell) -> f64 {
    match cell {
        Cell::Number(n) => *n,
        other => panic!("not a number: {other:?}"),
    }
}

/// What every builder fills, whatever the document.
fn assert_filled(doc: &Document) {
    assert!(!doc.school.is_empty(), "{}: no school", doc.title);
    let as_of = doc.data_as_of.expect("data as of");
    assert!(as_of <= now() + chrono::Duration::hours(1), "{as_of}");
    assert!(as_of >= now() - chrono::Duration::days(1), "{as_of}");
    assert!(!doc.students.is_empty(), "{}: names no student", doc.title);
    assert!(
        doc.students.iter().all(|s| s.contains(':')),
        "students are system:id: {:?}",
        doc.students
    );
}

#[test]
fn class_roster_matches_its_golden_file() {
    let f = district();
    let section = homeroom(System::OmniForge);
    let doc = build::roster(&f.desk, &section, now()).expect("roster");
    assert_eq!(doc.kind, DocumentKind::Roster);
    assert_filled(&doc);
    assert_eq!(doc.generated_at, now());
    let roster = f.desk.roster(&section).expect("desk roster");
    assert_eq!(doc.tables[0].rows.len(), roster.students.len());
    assert_eq!(doc.students.len(), roster.students.len());
    assert_eq!(Some(doc.school.clone()), roster.section.school);
    // A date of birth is a date (typed in XLSX, ISO in CSV), not text.
    let dob = column(&doc, "Date of birth");
    assert!(doc.tables[0]
        .rows
        .iter()
        .all(|r| matches!(r[dob], Cell::Date(_))));
    golden("roster.csv", &csv(&doc));
}

#[test]
fn attendance_register_matches_its_golden_file_and_adds_up() {
    let f = district();
    let section = homeroom(System::OmniForge);
    let (from, to) = (date("2026-09-28"), date("2026-10-07"));
    let doc = build::register(&f.desk, &section, from, to, now()).expect("register");
    assert_eq!(doc.kind, DocumentKind::Register);
    assert_filled(&doc);
    let table = &doc.tables[0];
    // Eight school days: the weekend in between has no column.
    let days: Vec<&str> = table.columns[2..table.columns.len() - 5]
        .iter()
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(days.len(), 8, "{days:?}");
    assert!(!days
        .iter()
        .any(|d| d.starts_with("Sat") || d.starts_with("Sun")));
    // Each student's totals count the marks in their row.
    let (p, a, l, e) = (
        column(&doc, "Present"),
        column(&doc, "Absent"),
        column(&doc, "Late"),
        column(&doc, "Excused"),
    );
    for row in &table.rows {
        let marks: Vec<String> = row[2..2 + days.len()]
            .iter()
            .flat_map(|c| {
                c.display()
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        let count = |letter: &str| marks.iter().filter(|m| *m == letter).count() as f64;
        assert_eq!(num(&row[p]), count("P"), "{row:?}");
        assert_eq!(num(&row[a]), count("A"), "{row:?}");
        assert_eq!(num(&row[l]), count("L"), "{row:?}");
        assert_eq!(num(&row[e]), count("E"), "{row:?}");
    }
    let marked: usize = table.rows.iter().map(|r| num(&r[p]) as usize).sum();
    assert!(marked > 0, "the register has marks");
    assert_eq!(num(&table.totals[0][p]) as usize, marked);
    golden("register.csv", &csv(&doc));
}

#[test]
fn uk_session_register_has_am_and_pm_columns_and_matches_its_golden_file() {
    let f = district();
    let section = homeroom(System::Hubmis);
    let (from, to) = (date("2026-09-28"), date("2026-10-07"));
    let doc = build::register(&f.desk, &section, from, to, now()).expect("register");
    assert_eq!(doc.kind, DocumentKind::SessionRegister);
    assert_filled(&doc);
    let titles: Vec<&str> = doc.tables[0]
        .columns
        .iter()
        .map(|c| c.title.as_str())
        .collect();
    assert_eq!(titles[2], "Mon 28 Sep AM");
    assert_eq!(titles[3], "Mon 28 Sep PM");
    assert_eq!(titles.len(), 2 + 8 * 2 + 5, "{titles:?}");
    // The school's own codes, as the cache holds them for that session.
    let student = &f.desk.roster(&section).expect("roster").students[0];
    let am = f
        .desk
        .cache()
        .attendance_marks(from, None)
        .expect("marks")
        .into_iter()
        .find(|m| {
            m.source.system == System::Hubmis
                && m.student_source_id == student.source_id
                && m.period.as_deref() == Some("am")
        })
        .expect("an AM mark");
    let row = doc.tables[0]
        .rows
        .iter()
        .find(|r| r[1] == Cell::text(&student.source_id))
        .expect("the student's row");
    assert_eq!(Some(row[2].display()), am.code);
    golden("session_register.csv", &csv(&doc));
}

#[test]
fn register_errors_say_what_to_do() {
    let f = district();
    let err = build::register(
        &f.desk,
        "nope",
        date("2026-09-28"),
        date("2026-10-02"),
        now(),
    )
    .expect_err("unknown section");
    assert!(
        err.user_message()
            .starts_with("There is no section 'nope' in the cache."),
        "{}",
        err.user_message()
    );
    assert!(!err.is_retryable());
    let section = homeroom(System::OmniForge);
    let err = build::register(
        &f.desk,
        &section,
        date("2026-10-02"),
        date("2026-09-28"),
        now(),
    )
    .expect_err("dates the wrong way round");
    assert!(matches!(err, ExportError::InvalidInput(_)), "{err}");
    assert!(
        err.to_string().contains("Give the earlier date first"),
        "{err}"
    );
    let err = build::roster(&f.desk, "omniforge:does-not-exist", now()).expect_err("unknown");
    assert!(err.to_string().contains("schooldesk sections"), "{err}");
}

#[test]
fn emergency_list_shows_who_is_in_with_contacts_and_who_may_not_collect() {
    let f = district();
    let doc = build::emergency(&f.desk, None, today(), now()).expect("emergency list");
    assert_eq!(doc.kind, DocumentKind::Emergency);
    assert_filled(&doc);
    assert!(doc.tables.len() > 1, "one table per homeroom");
    let names: std::collections::HashSet<&str> =
        doc.tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names.len(), doc.tables.len(), "table names are distinct");
    let statuses: Vec<String> = doc
        .tables
        .iter()
        .flat_map(|t| t.rows.iter().map(|r| r[2].display()))
        .collect();
    assert!(statuses
        .iter()
        .all(|s| ["present", "late", "not marked"].contains(&s.as_str())));
    // Everyone the cache knows as may-not-collect is shown as such.
    let all_rows: Vec<&Vec<Cell>> = doc.tables.iter().flat_map(|t| &t.rows).collect();
    let may_not = all_rows
        .iter()
        .filter(|r| r[6].display().starts_with("NO"))
        .count();
    assert!(may_not > 0, "the district has contacts who may not collect");
    assert!(all_rows.iter().all(|r| !r[5].display().is_empty()
        || r[3].display() == "(none recorded)"
        || r[3] != Cell::Empty));
    assert!(doc
        .subtitle
        .as_deref()
        .unwrap()
        .contains("marked present or late today"));

    // A day no register is taken: everyone on roll, and the subtitle says so.
    let tomorrow = today().succ_opt().unwrap();
    let doc = build::emergency(&f.desk, None, tomorrow, now()).expect("emergency list");
    assert!(doc
        .tables
        .iter()
        .flat_map(|t| &t.rows)
        .all(|r| r[2].display() == "on roll (no register yet)"));
    assert!(
        doc.subtitle.as_deref().unwrap().contains("no register yet"),
        "{:?}",
        doc.subtitle
    );
}

#[test]
fn emergency_list_of_one_section_leaves_out_a_child_marked_absent() {
    let f = district();
    // A section of its own in this test (other tests read today's marks of other sections).
    let sections = f.desk.sections(None).expect("sections");
    let section = sections
        .iter()
        .rfind(|s| {
            s.system == System::OmniForge && s.name.starts_with("Homeroom") && s.students >= 2
        })
        .expect("a homeroom of two or more");
    let before = build::emergency(&f.desk, Some(&section.id), today(), now()).expect("list");
    assert_eq!(before.tables.len(), 1);
    let roster = f.desk.roster(&section.id).expect("roster");
    let child = &roster.students[0];
    f.desk
        .mark_attendance(
            &MarkRequest {
                student: child.id.clone(),
                date: today(),
                status: AttendanceStatus::Absent,
                section: Some(section.source_id.clone()),
                period: None,
                note: None,
                code: None,
                minutes_late: None,
            },
            Utc::now(),
            uuid_like(),
        )
        .expect("mark absent");
    let after = build::emergency(&f.desk, Some(&section.id), today(), now()).expect("list");
    let listed = |d: &Document| -> Vec<String> {
        d.tables
            .iter()
            .flat_map(|t| t.rows.iter().map(|r| r[1].display()))
            .collect()
    };
    assert!(listed(&before).contains(&child.source_id));
    assert!(!listed(&after).contains(&child.source_id));
    assert!(!after.students.contains(&child.id));
    assert!(
        after
            .subtitle
            .as_deref()
            .unwrap()
            .contains("marked absent or excused not listed"),
        "{:?}",
        after.subtitle
    );
}

fn uuid_like() -> uuid::Uuid {
    uuid::Uuid::new_v4()
}

#[test]
fn checklist_status_shows_who_is_missing_which_item() {
    let f = district();
    let cache = f.desk.cache();
    // A checklist some family is held to and missing something of.
    let missing = cache
        .missing_items(System::PowerSchool, None)
        .expect("missing items");
    let held = &missing
        .first()
        .expect("someone is missing something")
        .checklist_source_id;
    let list = cache
        .checklists(Some(System::PowerSchool))
        .expect("checklists")
        .into_iter()
        .find(|c| &c.source.source_id == held)
        .expect("the checklist");
    let id = format!("powerschool:{}", list.source.source_id);
    let doc = build::checklist(&f.desk, &id, now()).expect("checklist");
    assert_eq!(doc.kind, DocumentKind::Checklist);
    assert_filled(&doc);
    let table = &doc.tables[0];
    let missing_col = column(&doc, "Missing");
    let mut total = 0;
    let ours: Vec<_> = missing
        .iter()
        .filter(|m| m.checklist_source_id == list.source.source_id)
        .collect();
    let families: std::collections::BTreeSet<&str> =
        ours.iter().map(|m| m.record_source_id.as_str()).collect();
    assert_eq!(
        table.rows.len(),
        families.len(),
        "one row per family missing something"
    );
    for (row, family) in table.rows.iter().zip(&families) {
        let expected = ours
            .iter()
            .filter(|m| m.record_source_id == *family)
            .count();
        assert_eq!(num(&row[missing_col]) as usize, expected, "{row:?}");
        assert_eq!(
            row.iter().filter(|c| c.display() == "MISSING").count(),
            expected
        );
        total += expected;
    }
    assert!(total > 0, "someone is missing something");
    assert_eq!(num(&table.totals[0][missing_col]) as usize, total);

    let err = build::checklist(&f.desk, "no-such-list", now()).expect_err("unknown");
    assert!(
        err.to_string()
            .starts_with("There is no checklist 'no-such-list' in the cache."),
        "{err}"
    );
}

#[test]
fn learning_support_summaries_per_student_and_year_group() {
    let f = district();
    let cache = f.desk.cache();
    let records = cache
        .learning_support_records(System::Hubmis, None)
        .expect("records");
    let first = records
        .first()
        .expect("the district has learning-support records");
    let student = cache
        .student(System::Hubmis, &first.student_source_id)
        .expect("student")
        .expect("cached");

    let doc = build::learning_support(
        &f.desk,
        &SupportScope::Student(format!("hubmis:{}", student.source.source_id)),
        now(),
    )
    .expect("one student");
    assert_eq!(doc.kind, DocumentKind::LearningSupport);
    assert_filled(&doc);
    let theirs = records
        .iter()
        .filter(|r| r.student_source_id == student.source.source_id)
        .count();
    assert_eq!(doc.tables[0].rows.len(), theirs);
    assert_eq!(
        doc.students,
        vec![format!("hubmis:{}", student.source.source_id)]
    );

    let group = student.source.raw["year_group"]["name"]
        .as_str()
        .expect("year group name")
        .to_string();
    let doc = build::learning_support(&f.desk, &SupportScope::YearGroup(group.clone()), now())
        .expect("year group");
    assert_eq!(doc.tables.len(), 1);
    assert!(doc.tables[0].rows.iter().all(|r| r[2].display() == group));
    assert!(doc
        .students
        .contains(&format!("hubmis:{}", student.source.source_id)));

    let all = build::learning_support(&f.desk, &SupportScope::All, now()).expect("all");
    let rows: usize = all.tables.iter().map(|t| t.rows.len()).sum();
    assert_eq!(rows, records.len(), "every record, once");

    let err = build::learning_support(&f.desk, &SupportScope::YearGroup("Year 99".into()), now())
        .expect_err("unknown year group");
    assert!(err.to_string().contains("The year groups are:"), "{err}");

    // OmniForge holds no learning support: a clear refusal, not an empty document.
    let omni = f
        .desk
        .students(None, Some(1))
        .expect("students")
        .into_iter()
        .find(|s| s.source.system == System::OmniForge)
        .or_else(|| {
            f.desk
                .students(None, None)
                .unwrap()
                .into_iter()
                .find(|s| s.source.system == System::OmniForge)
        })
        .expect("an OmniForge student");
    let err = build::learning_support(
        &f.desk,
        &SupportScope::Student(format!("omniforge:{}", omni.source.source_id)),
        now(),
    )
    .expect_err("not switched on");
    assert!(
        matches!(err, ExportError::LearningSupportDisabled(_)),
        "{err}"
    );
    assert_eq!(err.code(), "export.learning_support_disabled");
    assert!(err.to_string().contains("OmniForge SIS"), "{err}");
}

#[test]
fn learning_support_is_refused_where_nothing_has_it_switched_on() {
    let dir = tempfile::tempdir().expect("temp dir");
    let desk = schooldesk_sync::Desk::open(dir.path()).expect("empty desk");
    let err = build::learning_support(&desk, &SupportScope::All, now()).expect_err("refused");
    assert!(
        matches!(err, ExportError::LearningSupportDisabled(_)),
        "{err}"
    );
    assert!(err.to_string().contains("switch it on"), "{err}");
}

#[test]
fn submission_record_is_a_field_value_table() {
    let f = district();
    let record = f
        .desk
        .cache()
        .enrollment_records(System::PowerSchool, Some(EnrollmentRecordKind::Submission))
        .expect("records")
        .into_iter()
        .next()
        .expect("a submission");
    let id = record.source.source_id.clone();
    let doc = build::submission(&f.desk, &id, now()).expect("submission");
    assert_eq!(doc.kind, DocumentKind::Submission);
    assert_filled(&doc);
    let fields = &doc.tables[0];
    assert_eq!(fields.columns[0].title, "Field");
    let value = |field: &str| {
        fields
            .rows
            .iter()
            .find(|r| r[0].display() == field)
            .map(|r| r[1].clone())
            .unwrap_or_else(|| panic!("no field {field}"))
    };
    assert_eq!(value("Record ID"), Cell::text(&id));
    assert_eq!(value("Kind"), Cell::text("submission"));
    assert_eq!(
        value("Given name"),
        record.given_name.clone().map_or(Cell::Empty, Cell::text)
    );
    if let Some(dob) = record.date_of_birth {
        assert_eq!(value("Date of birth"), Cell::Date(dob));
    }
    assert!(
        fields
            .rows
            .iter()
            .any(|r| r[0].display().starts_with("Form: ")),
        "the form's own fields are listed"
    );
    assert_eq!(doc.students, vec![format!("powerschool:{id}")]);

    let err = build::submission(&f.desk, "powerschool:0", now()).expect_err("unknown");
    assert!(
        err.to_string()
            .starts_with("There is no enrollment record 'powerschool:0'"),
        "{err}"
    );
}
