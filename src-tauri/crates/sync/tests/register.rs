//! The register over a real encrypted cache filled by real syncs of the simulators (OmniForge
//! and HUBmis): the sheet in roster order with the synced marks, a mark saved and queued
//! exactly once (HUBmis's kept here, never queued), a re-mark replacing the first, "mark the
//! rest present", and every bad input refused with nothing changed. The desk's cache key is
//! in the keychain: run under `scripts/with-keyring.sh`.

mod pull_support;
use pull_support::*;

use chrono::Duration;
use schooldesk_domain::{AttendanceStatus, System};
use schooldesk_sim::Simulators;
use schooldesk_sync::pull::{sync_system, SyncContext, SyncMode};
use schooldesk_sync::register::{LineState, RegisterMark, RegisterSheet};
use schooldesk_sync::Desk;
use uuid::Uuid;

struct Setup {
    sims: Simulators,
    desk: Desk,
    _dir: tempfile::TempDir,
}

async fn setup(systems: &[System]) -> Setup {
    let sims = start(60).await;
    let dir = tempfile::tempdir().unwrap();
    let desk = Desk::open(dir.path()).expect("desk");
    for s in systems {
        // Three days of registers, so past marks and the school's codes are cached.
        let (mut c, secret) = connection(&sims, *s);
        c.settings.attendance_days = Some(3);
        remember(desk.cache(), &c);
        let summary = sync_system(
            desk.cache(),
            &connector(&sims, &c, secret),
            &c,
            SyncMode::Full,
            &SyncContext::default(),
        )
        .await;
        assert!(summary.completed, "{summary:?}");
    }
    Setup {
        sims,
        desk,
        _dir: dir,
    }
}

/// The first section of `system` with at least three pupils on its roster.
fn section_of(desk: &Desk, system: System) -> String {
    desk.register_sections()
        .unwrap()
        .into_iter()
        .find(|s| s.system == system && s.students >= 3)
        .unwrap_or_else(|| panic!("a {system:?} section with pupils"))
        .id
}

fn today(desk: &Desk, system: System) -> String {
    desk.school_today(system, morning()).unwrap().to_string()
}

fn mark(sheet: &RegisterSheet, i: usize, status: &str) -> RegisterMark {
    RegisterMark {
        section: sheet.section.id.clone(),
        date: sheet.date.to_string(),
        session: sheet.session.clone(),
        student: sheet.lines[i].student.clone(),
        status: status.into(),
        code: None,
        minutes_late: None,
        note: None,
    }
}

fn entries_for(desk: &Desk, student: &str) -> usize {
    let bare = student.split_once(':').unwrap().1;
    desk.outbox(None)
        .unwrap()
        .iter()
        .filter(|e| e.entity_key.starts_with(&format!("attendance:{bare}:")))
        .count()
}

#[tokio::test]
async fn a_synced_section_lists_its_roster_with_the_days_marks() {
    let s = setup(&[System::OmniForge]).await;
    // Yesterday is in the simulator's history: homerooms have the system's marks.
    let yesterday = (morning().date_naive() - Duration::days(1)).to_string();
    let section = s
        .desk
        .register_sections()
        .unwrap()
        .into_iter()
        .find(|x| {
            s.desk
                .register_sheet(&x.id, Some(&yesterday), None, morning())
                .unwrap()
                .lines
                .iter()
                .any(|l| l.mark.is_some())
        })
        .expect("a homeroom with yesterday's register")
        .id;
    let roster = s.desk.roster(&section).unwrap();
    let sheet = s
        .desk
        .register_sheet(&section, Some(&yesterday), None, morning())
        .unwrap();
    let order: Vec<&str> = sheet.lines.iter().map(|l| l.student.as_str()).collect();
    let want: Vec<&str> = roster.students.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(order, want, "roster order, one line per pupil");
    assert!(sheet.takes_writes);
    assert!(sheet.sessions.is_empty());
    assert!(sheet.can_mark, "a past register can be marked");
    let marked: Vec<_> = sheet.lines.iter().filter_map(|l| l.mark.as_ref()).collect();
    assert!(!marked.is_empty(), "{sheet:#?}");
    for l in &sheet.lines {
        if let Some(m) = &l.mark {
            assert_eq!(l.state, LineState::Synced, "{l:?}");
            assert!(!m.marked_here);
            assert!(m.marked_at.is_some(), "OmniForge says when: {m:?}");
        }
    }
    // The school's codes come from the synced marks, with their meaning.
    assert!(sheet
        .codes
        .iter()
        .any(|c| c.code == "P" && c.status == Some(AttendanceStatus::Present)));
    assert_eq!(sheet.quick.present.as_deref(), Some("P"));

    // Today is not taken yet.
    let now = s
        .desk
        .register_sheet(&section, None, None, morning())
        .unwrap();
    assert_eq!(now.date.to_string(), today(&s.desk, System::OmniForge));
    assert!(now.lines.iter().all(|l| l.state == LineState::Unmarked));
    drop(s.sims);
}

#[tokio::test]
async fn a_mark_is_saved_and_queued_once_and_a_re_mark_replaces_it() {
    let s = setup(&[System::OmniForge]).await;
    let section = section_of(&s.desk, System::OmniForge);
    let sheet = s
        .desk
        .register_sheet(&section, None, None, morning())
        .unwrap();
    let pupil = sheet.lines[0].student.clone();

    let line = s
        .desk
        .take_register_mark(&mark(&sheet, 0, "absent"), morning(), Uuid::new_v4())
        .unwrap();
    assert_eq!(line.student, pupil);
    assert_eq!(line.state, LineState::Pending);
    let m = line.mark.as_ref().unwrap();
    assert_eq!(m.status, AttendanceStatus::Absent);
    assert_eq!(m.code.as_deref(), Some("A"), "the school's code for absent");
    assert!(m.marked_here);
    assert_eq!(m.marked_at, Some(morning()));
    assert!(m.outbox_id.is_some());
    assert_eq!(entries_for(&s.desk, &pupil), 1, "queued exactly once");

    // Late, with minutes and a note: the same mark, updated, and its write queued after.
    let mut late = mark(&sheet, 0, "late");
    late.minutes_late = Some(12);
    late.note = Some("  Bus was late  ".into());
    let line = s
        .desk
        .take_register_mark(&late, morning(), Uuid::new_v4())
        .unwrap();
    let m = line.mark.as_ref().unwrap();
    assert_eq!(m.status, AttendanceStatus::Tardy);
    assert_eq!(m.code.as_deref(), Some("T"));
    assert_eq!(m.minutes_late, Some(12));
    assert_eq!(m.note.as_deref(), Some("Bus was late"));
    let marks = s
        .desk
        .cache()
        .attendance_marks(sheet.date, None)
        .unwrap()
        .into_iter()
        .filter(|x| pupil.ends_with(&x.student_source_id))
        .count();
    assert_eq!(marks, 1, "a re-mark replaces the mark, never adds one");
    assert_eq!(entries_for(&s.desk, &pupil), 2);

    // Mark the rest present: everyone else, once each; the marked pupil is left alone.
    let before = s.desk.outbox(None).unwrap().len();
    let (after, n) = s
        .desk
        .mark_rest_present(&section, &sheet.date.to_string(), None, morning())
        .unwrap();
    assert_eq!(n, sheet.lines.len() - 1);
    assert_eq!(s.desk.outbox(None).unwrap().len(), before + n);
    assert!(after.lines.iter().all(|l| l.state == LineState::Pending));
    assert_eq!(
        after.lines[0].mark.as_ref().unwrap().status,
        AttendanceStatus::Tardy
    );
    assert!(after.lines[1..]
        .iter()
        .all(|l| l.mark.as_ref().unwrap().code.as_deref() == Some("P")));
    let (_, again) = s
        .desk
        .mark_rest_present(&section, &sheet.date.to_string(), None, morning())
        .unwrap();
    assert_eq!(again, 0, "nothing left to mark");
}

#[tokio::test]
async fn a_hubmis_session_mark_is_kept_here_and_never_queued() {
    let s = setup(&[System::Hubmis]).await;
    let group = section_of(&s.desk, System::Hubmis);
    let sheet = s
        .desk
        .register_sheet(&group, None, Some("PM"), morning())
        .unwrap();
    assert_eq!(sheet.session.as_deref(), Some("pm"));
    assert_eq!(sheet.sessions, ["am", "pm"]);
    assert!(!sheet.takes_writes);
    assert!(
        sheet.codes.iter().any(|c| c.code == "/") && sheet.codes.iter().any(|c| c.code == "N"),
        "the school's DfE codes: {:?}",
        sheet.codes
    );
    assert_eq!(sheet.quick.present.as_deref(), Some("\\"), "PM present");
    let am = s
        .desk
        .register_sheet(&group, None, None, morning())
        .unwrap();
    assert_eq!(am.session.as_deref(), Some("am"), "AM unless told");
    assert_eq!(am.quick.present.as_deref(), Some("/"));

    let mut m = mark(&sheet, 1, "absent");
    m.code = Some("I".into());
    m.status = "excused".into();
    let line = s
        .desk
        .take_register_mark(&m, morning(), Uuid::new_v4())
        .unwrap();
    assert_eq!(line.state, LineState::Local);
    assert_eq!(line.mark.as_ref().unwrap().code.as_deref(), Some("I"));
    assert!(
        s.desk.outbox(None).unwrap().is_empty(),
        "HUBmis is read-only"
    );

    // The AM register of the same day is another register.
    let am = s
        .desk
        .register_sheet(&group, None, Some("am"), morning())
        .unwrap();
    assert_ne!(am.lines[1].state, LineState::Local);
    assert_ne!(
        am.lines[1].mark.as_ref().and_then(|m| m.code.as_deref()),
        Some("I")
    );
}

#[tokio::test]
async fn bad_input_is_refused_with_a_sentence_and_nothing_changes() {
    let s = setup(&[System::OmniForge]).await;
    let section = section_of(&s.desk, System::OmniForge);
    let sheet = s
        .desk
        .register_sheet(&section, None, None, morning())
        .unwrap();
    let marks_before = s.desk.cache().attendance_marks(sheet.date, None).unwrap();

    let refused = |m: RegisterMark, words: &str| {
        let e = s
            .desk
            .take_register_mark(&m, morning(), Uuid::new_v4())
            .expect_err(words);
        let said = e.user_message();
        assert!(said.contains(words), "{said}");
        assert!(
            said.contains("Nothing was saved") || said.contains("sync first"),
            "{said}"
        );
    };
    let mut m = mark(&sheet, 0, "present");
    m.section = "omniforge:no-such-section".into();
    let e = s
        .desk
        .take_register_mark(&m, morning(), Uuid::new_v4())
        .unwrap_err();
    assert!(e.user_message().contains("no section"), "{e}");

    let mut m = mark(&sheet, 0, "present");
    m.date = "06/10/2026".into();
    refused(m, "year-month-day");
    let mut m = mark(&sheet, 0, "present");
    m.date = (sheet.today + Duration::days(1)).to_string();
    refused(m, "has not come yet");
    let mut m = mark(&sheet, 0, "present");
    m.session = Some("am".into());
    refused(m, "without an AM/PM session");
    refused(mark(&sheet, 0, "sleeping"), "not a mark Schooldesk knows");
    let mut m = mark(&sheet, 0, "present");
    m.code = Some("ZZ".into());
    let e = s
        .desk
        .take_register_mark(&m, morning(), Uuid::new_v4())
        .unwrap_err();
    assert!(e.user_message().contains("Codes in use"), "{e}");
    let mut m = mark(&sheet, 0, "present");
    m.code = Some("A".into());
    refused(m, "records absent, not present");
    let mut m = mark(&sheet, 0, "late");
    m.minutes_late = Some(481);
    refused(m, "from 1 to 480");
    let mut m = mark(&sheet, 0, "late");
    m.minutes_late = Some(0);
    refused(m, "from 1 to 480");
    let mut m = mark(&sheet, 0, "present");
    m.minutes_late = Some(5);
    refused(m, "late mark only");
    let mut m = mark(&sheet, 0, "present");
    m.note = Some("x".repeat(1001));
    refused(m, "up to 1000");
    let mut m = mark(&sheet, 0, "present");
    // A pupil of the district who is not on this section's roster.
    let other = s
        .desk
        .register_sections()
        .unwrap()
        .into_iter()
        .filter(|x| x.system == System::OmniForge && x.id != section)
        .flat_map(|x| s.desk.roster(&x.id).unwrap().students)
        .find(|p| sheet.lines.iter().all(|l| l.student != p.id))
        .expect("a pupil elsewhere");
    m.student = other.id;
    refused(m, "is not on the roster");
    let e = s
        .desk
        .mark_rest_present(
            &section,
            &(sheet.today + Duration::days(3)).to_string(),
            None,
            morning(),
        )
        .unwrap_err();
    assert!(e.user_message().contains("has not come yet"), "{e}");

    assert!(s.desk.outbox(None).unwrap().is_empty(), "nothing queued");
    assert_eq!(
        s.desk.cache().attendance_marks(sheet.date, None).unwrap(),
        marks_before,
        "nothing saved"
    );
}
