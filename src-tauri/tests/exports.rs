//! The Documents panel's commands through Tauri's IPC (mock runtime, real config and
//! capabilities) over the demo district's real encrypted cache: saving writes a complete
//! file under a fresh name and logs it, printing writes a private PDF, logs it as printed and
//! hands it to the viewer (a recorder here, so no viewer is launched), and a bad request is
//! refused with a sentence and leaves no file behind. Run under `scripts/with-keyring.sh`.

// The demo tests are left out of a lean build (`--no-default-features`).
#![cfg(feature = "demo")]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::{invoke, start};
use schooldesk_app::exports::{Exports, Viewer};
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::{Manager, WebviewWindow};

/// Stands in for the system's PDF viewer: remembers what it was asked to open.
#[derive(Default)]
struct Recorder(Mutex<Vec<PathBuf>>);

impl Viewer for Recorder {
    fn open(&self, path: &Path) -> Result<(), String> {
        self.0.lock().unwrap().push(path.to_path_buf());
        Ok(())
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    data: PathBuf,
    documents: PathBuf,
    print: PathBuf,
    viewer: Arc<Recorder>,
    _app: tauri::App<MockRuntime>,
    window: WebviewWindow<MockRuntime>,
}

/// The app on the demo district, its first sync done, saving and printing into temp folders.
fn demo() -> Setup {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let documents = dir.path().join("Documents").join("Schooldesk");
    let print = dir.path().join("cache").join("print");
    let (app, window) = start(&data);
    let viewer = Arc::new(Recorder::default());
    {
        let exports = app.state::<Exports>();
        exports.set_documents_folder(documents.clone());
        exports.set_print_folder(print.clone());
        exports.set_viewer(viewer.clone());
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        let status = invoke(&window, "app_status", json!({})).expect("app_status");
        if status["sync"]["state"] == "ready" {
            break;
        }
        assert_ne!(status["sync"]["state"], "failed", "{status}");
        assert!(Instant::now() < deadline, "the demo never synced: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    Setup {
        _dir: dir,
        data,
        documents,
        print,
        viewer,
        _app: app,
        window,
    }
}

fn files_in(folder: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    out.sort();
    out
}

fn access_log(data: &Path) -> Vec<Value> {
    let desk = Desk::open_demo(data).expect("a second handle on the demo cache");
    desk.cache()
        .access_log(None)
        .expect("the access log")
        .into_iter()
        .map(|e| serde_json::to_value(e).expect("json"))
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn saving_and_printing_write_complete_files_and_log_them() {
    let s = demo();

    let sections = invoke(&s.window, "list_sections", json!({})).expect("sections");
    let sections = sections.as_array().expect("an array");
    assert!(!sections.is_empty(), "the demo has sections");
    for sec in sections {
        for key in ["id", "name", "system", "system_name"] {
            assert!(sec[key].is_string(), "section without {key}: {sec}");
        }
        assert!(sec["students"].is_u64(), "{sec}");
        assert!(
            sec["id"].as_str().unwrap().contains(':'),
            "ids are system:id: {sec}"
        );
    }
    let section = sections
        .iter()
        .find(|sec| sec["students"].as_u64() > Some(0))
        .expect("a section with students");

    // Save: a PDF roster, under <kind>-<section>-<date>.pdf in the documents folder.
    let request = json!({"kind": "roster", "section": section["id"]});
    let saved = invoke(
        &s.window,
        "export_document",
        json!({"request": request, "format": "pdf", "paper": "letter"}),
    )
    .expect("the roster is saved");
    let path = PathBuf::from(saved["path"].as_str().unwrap());
    assert_eq!(path.parent(), Some(s.documents.as_path()), "{saved}");
    let name = saved["file_name"].as_str().unwrap();
    assert!(
        name.starts_with("roster-") && name.ends_with(".pdf"),
        "{name}"
    );
    assert!(!name.contains(' ') && !name.contains('/'), "{name}");
    let bytes = std::fs::read(&path).expect("the file is there");
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    assert_eq!(saved["bytes"].as_u64(), Some(bytes.len() as u64));
    assert_eq!(
        saved["students"], section["students"],
        "{saved} vs {section}"
    );
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600, "a roster is for its owner only");

    // Saving the same again never replaces the first file: it gets the next number.
    let again = invoke(
        &s.window,
        "export_document",
        json!({"request": request, "format": "pdf", "paper": "a4"}),
    )
    .expect("saved again");
    let name_again = again["file_name"].as_str().unwrap();
    assert_eq!(name_again, name.replace(".pdf", "-2.pdf"), "{again}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the first file changed"
    );
    // Another format: the name's own extension, and the Excel dialect's byte-order mark.
    let csv = invoke(
        &s.window,
        "export_document",
        json!({"request": request, "format": "csv_excel", "paper": "a4"}),
    )
    .expect("saved as CSV for Excel");
    assert_eq!(
        csv["file_name"].as_str().unwrap(),
        name.replace(".pdf", ".csv"),
        "{csv}"
    );
    let csv = std::fs::read(csv["path"].as_str().unwrap()).unwrap();
    assert!(
        csv.starts_with("\u{feff}".as_bytes()),
        "Excel CSV has its BOM"
    );

    // Print: a PDF in the private print folder, handed to the viewer, logged as printed.
    let printed = invoke(
        &s.window,
        "print_document",
        json!({"request": {"kind": "emergency", "section": null}, "paper": "a4"}),
    )
    .expect("the emergency list is printed");
    let print_path = PathBuf::from(printed["path"].as_str().unwrap());
    assert_eq!(print_path.parent(), Some(s.print.as_path()), "{printed}");
    assert!(
        printed["file_name"]
            .as_str()
            .unwrap()
            .starts_with("emergency-all-"),
        "{printed}"
    );
    assert!(std::fs::read(&print_path).unwrap().starts_with(b"%PDF"));
    assert!(printed["students"].as_u64() > Some(0), "{printed}");
    assert_eq!(*s.viewer.0.lock().unwrap(), vec![print_path.clone()]);
    #[cfg(unix)]
    {
        assert_eq!(mode(&s.print), 0o700, "the print folder is private");
        assert_eq!(mode(&print_path), 0o600);
    }
    assert!(
        files_in(&s.documents).iter().all(|p| p != &print_path),
        "printing saved nothing into Documents"
    );

    let log = access_log(&s.data);
    let saved_entry = log
        .iter()
        .find(|e| e["destination"] == saved["path"])
        .unwrap_or_else(|| panic!("no log entry for {}: {log:?}", saved["path"]));
    assert_eq!(saved_entry["action"], "export", "{saved_entry}");
    assert_eq!(saved_entry["what"], "roster", "{saved_entry}");
    assert_eq!(
        saved_entry["students"].as_array().unwrap().len() as u64,
        saved["students"].as_u64().unwrap(),
        "{saved_entry}"
    );
    let printed_entry = log
        .iter()
        .find(|e| e["destination"] == format!("printed: {}", print_path.display()))
        .unwrap_or_else(|| panic!("no 'printed' entry: {log:?}"));
    assert_eq!(printed_entry["what"], "emergency", "{printed_entry}");
    assert_eq!(log.len(), 4, "one entry per file written: {log:?}");
}

#[test]
fn a_bad_request_is_refused_with_a_sentence_and_leaves_no_file() {
    let s = demo();
    let sections = invoke(&s.window, "list_sections", json!({})).expect("sections");
    let section = sections[0]["id"].clone();

    let refused = |request: Value, format: &str| -> Value {
        let err = invoke(
            &s.window,
            "export_document",
            json!({"request": request, "format": format, "paper": "a4"}),
        )
        .expect_err("refused");
        let message = err["message"].as_str().expect("a message");
        assert!(message.ends_with('.'), "not a sentence: {message}");
        assert_eq!(err.as_object().unwrap().len(), 3, "{err}");
        err
    };

    let err = refused(
        json!({"kind": "roster", "section": "omniforge:no-such-class"}),
        "pdf",
    );
    assert!(
        err["message"].as_str().unwrap().contains("no-such-class"),
        "{err}"
    );
    assert_eq!(err["retryable"], false, "{err}");

    let err = refused(
        json!({"kind": "register", "section": section, "from": "2025-09-30", "to": "2025-09-01"}),
        "xlsx",
    );
    assert_eq!(err["code"], "export.invalid_input", "{err}");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("earlier date first"),
        "{err}"
    );

    let err = refused(
        json!({"kind": "register", "section": section, "from": "30/09/2025", "to": "2025-09-01"}),
        "csv",
    );
    assert_eq!(err["code"], "export.invalid_input", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("2025-09-01"),
        "{err}"
    );

    let err = refused(json!({"kind": "roster", "section": "  "}), "pdf");
    assert_eq!(err["code"], "export.invalid_input", "{err}");

    // The demo switches learning support on for HUBmis; an administrator switches it off.
    let desk = Desk::open_demo(&s.data).expect("a second handle on the demo cache");
    let mut switched_off = 0;
    for mut c in desk.cache().connections().expect("connections") {
        if c.learning_support_enabled {
            c.learning_support_enabled = false;
            desk.cache().save_connection(&c).expect("saved");
            switched_off += 1;
        }
    }
    assert!(
        switched_off > 0,
        "the demo had learning support on somewhere"
    );
    let err = refused(
        json!({"kind": "learning_support", "student": null, "year_group": null}),
        "pdf",
    );
    assert_eq!(err["code"], "export.learning_support_disabled", "{err}");
    assert!(
        err["message"].as_str().unwrap().contains("switch it on"),
        "{err}"
    );

    // A request the UI could not have built is refused by the IPC layer, not half-handled.
    invoke(
        &s.window,
        "export_document",
        json!({"request": {"kind": "payroll"}, "format": "pdf", "paper": "a4"}),
    )
    .expect_err("unknown kind");
    invoke(
        &s.window,
        "export_document",
        json!({"request": {"kind": "emergency"}, "format": "docx", "paper": "a4"}),
    )
    .expect_err("unknown format");

    let err = invoke(
        &s.window,
        "print_document",
        json!({"request": {"kind": "checklist", "checklist": "no-such-list"}, "paper": "a4"}),
    )
    .expect_err("unknown checklist");
    assert!(
        err["message"].as_str().unwrap().contains("no-such-list"),
        "{err}"
    );

    assert_eq!(files_in(&s.documents), Vec::<PathBuf>::new());
    assert_eq!(files_in(&s.print), Vec::<PathBuf>::new());
    assert!(s.viewer.0.lock().unwrap().is_empty(), "nothing was opened");
    assert_eq!(
        access_log(&s.data),
        Vec::<Value>::new(),
        "nothing was logged"
    );
}

/// Print opens the viewer from the shell; the page itself is granted none of the opener
/// plugin's commands, so a script in it cannot open arbitrary files or links.
#[test]
fn the_page_cannot_call_the_opener_plugin_itself() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_app, window) = start(dir.path());
    for (cmd, args) in [
        ("plugin:opener|open_path", json!({"path": "/etc/hosts"})),
        (
            "plugin:opener|open_url",
            json!({"url": "https://example.com"}),
        ),
        (
            "plugin:opener|reveal_item_in_dir",
            json!({"paths": ["/etc/hosts"]}),
        ),
    ] {
        let err = invoke(&window, cmd, args).expect_err("refused");
        // Refused by the capability (ACL), not by the plugin's own scope.
        assert!(
            err.to_string()
                .contains("not allowed. Permissions associated"),
            "{cmd}: {err}"
        );
    }
}
