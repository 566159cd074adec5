//! The Enrollment screen's commands through Tauri's IPC on the mock runtime, over a real
//! encrypted cache filled by a real sync of the PowerSchool simulator on loopback (run under
//! `scripts/with-keyring.sh` on Linux): the checklist table and its "missing" rule, a
//! document opened from the cache with the simulator stopped, "Save a copy" logged, an
//! import queued once and refused when bad, a delivery batch fetched.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use chrono::Utc;
use common::{invoke, start};
use schooldesk_app::exports::Exports;
use schooldesk_connectors::Connection;
use schooldesk_domain::{OutboxState, System};
use schooldesk_sim::{SimConfig, Simulators};
use schooldesk_sync::pull::SyncMode;
use schooldesk_sync::Desk;
use serde_json::{json, Value};
use tauri::test::MockRuntime;
use tauri::{Manager, WebviewWindow};

/// A 50-student district with PowerSchool connected and synced into `dir`'s cache.
struct District {
    runtime: tokio::runtime::Runtime,
    sims: Simulators,
}

impl District {
    fn synced(dir: &Path) -> District {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let config = SimConfig {
            students: 50,
            ..SimConfig::default()
        };
        let key = config.powerschool.api_key.clone();
        let sims = runtime
            .block_on(Simulators::start(config))
            .expect("the simulators start");
        let desk = Desk::open(dir).expect("open the cache");
        desk.connect(
            &Connection::new(System::PowerSchool, sims.powerschool.base_url.clone()),
            &key,
            Utc::now(),
        )
        .expect("connect PowerSchool");
        let report = runtime
            .block_on(desk.sync(&[System::PowerSchool], SyncMode::Full, |_| {}))
            .expect("sync");
        assert!(
            report.describe().contains("PowerSchool"),
            "{}",
            report.describe()
        );
        District { runtime, sims }
    }
}

/// A form's boxes as the window sends them.
fn form(fields: Value) -> Value {
    Value::Array(
        fields
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| json!({"name": k, "value": v}))
            .collect(),
    )
}

fn call(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Value {
    invoke(window, cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
}

fn refused(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> String {
    let err = invoke(window, cmd, args.clone()).expect_err("refused");
    assert_eq!(err["code"], "desk.invalid_input", "{cmd} {args}: {err}");
    err["message"].as_str().expect("a sentence").to_string()
}

/// Waits (boundedly) for `check` to hold; the engine sends on its own schedule.
fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + Duration::from_secs(90);
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < until, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_checklist_is_students_by_items_and_a_document_opens_from_the_cache_offline() {
    let dir = tempfile::tempdir().expect("temp dir");
    let district = District::synced(dir.path());
    let (app, window) = start(dir.path());
    let saved_to = tempfile::tempdir().expect("documents dir");
    app.state::<Exports>()
        .set_documents_folder(saved_to.path().to_path_buf());

    // The overview lists both simulated checklists with their counts.
    let overview = call(&window, "enrollment_overview", json!({}));
    assert_eq!(overview["connected"], true);
    let lists = overview["checklists"].as_array().unwrap();
    let docs_list = lists
        .iter()
        .find(|c| c["id"] == "435")
        .unwrap_or_else(|| panic!("checklist 435 listed: {overview}"));
    assert_eq!(docs_list["items"], 3, "{docs_list}");
    assert!(docs_list["students"].as_u64().unwrap() > 0);

    // The grid: one row per family entry, one cell per item, in the checklist's order.
    let grid = call(
        &window,
        "enrollment_checklist",
        json!({"checklist": "powerschool:435"}),
    );
    let items: Vec<&str> = grid["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(items.len(), 3);
    let rows = grid["rows"].as_array().unwrap();
    assert_eq!(rows.len() as u64, docs_list["students"].as_u64().unwrap());
    for row in rows {
        let cells: Vec<&str> = row["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["item_id"].as_str().unwrap())
            .collect();
        assert_eq!(cells, items, "{row}");
    }
    // REGRESSION: with only PowerSchool connected no student record names the children, and
    // the table showed bare ids; their roster records name them.
    assert!(
        rows.iter()
            .all(|r| r["name"].as_str() != r["external_id"].as_str()),
        "{grid}"
    );

    // "Missing anything": the rows owing a required item are exactly the records the core's
    // missing-items rule names for this checklist, and their count is the overview's.
    let desk = Desk::open(dir.path()).expect("open");
    let required: BTreeSet<&str> = grid["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["required"] == true)
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    let owing: BTreeSet<String> = rows
        .iter()
        .filter(|r| {
            r["cells"].as_array().unwrap().iter().any(|c| {
                c["listed"] == true
                    && c["completed"] == false
                    && required.contains(c["item_id"].as_str().unwrap())
            })
        })
        .map(|r| r["record_id"].as_str().unwrap().to_string())
        .collect();
    let core: BTreeSet<String> = desk
        .cache()
        .missing_items(System::PowerSchool, None)
        .unwrap()
        .into_iter()
        .filter(|m| m.checklist_source_id == "435")
        .map(|m| m.record_source_id)
        .collect();
    assert_eq!(owing, core);
    assert!(
        !owing.is_empty(),
        "the simulated district has families still owing items"
    );
    assert_eq!(
        docs_list["incomplete"].as_u64().unwrap(),
        owing.len() as u64
    );
    // "Missing <item>": each item's missing rows are a subset of the rows owing anything.
    let first = items[0];
    let missing_first: Vec<&Value> =
        rows.iter()
            .filter(|r| {
                r["cells"].as_array().unwrap().iter().any(|c| {
                    c["item_id"] == first && c["listed"] == true && c["completed"] == false
                })
            })
            .collect();
    assert!(missing_first
        .iter()
        .all(|r| owing.contains(r["record_id"].as_str().unwrap())));

    // Unknown or malformed checklists: a sentence with what to do next.
    assert!(
        refused(&window, "enrollment_checklist", json!({"checklist": "999"}))
            .contains("sync PowerSchool first")
    );
    refused(
        &window,
        "enrollment_checklist",
        json!({"checklist": "matrix:435"}),
    );
    refused(&window, "enrollment_checklist", json!({"checklist": "  "}));

    // Documents: someone has some; open one online (downloaded and kept in the cache).
    let owners = call(&window, "enrollment_document_owners", json!({}));
    let owner = owners[0]["person"].as_str().expect("an owner").to_string();
    let list = call(&window, "enrollment_documents", json!({"person": owner}));
    let docs = list["documents"].as_array().unwrap();
    assert!(!docs.is_empty(), "{list}");
    let doc_id = docs[0]["id"].as_str().unwrap().to_string();
    let object = doc_id.trim_start_matches("powerschool:").to_string();
    let (sim_bytes, _) = district
        .sims
        .powerschool_admin
        .document_bytes(&object)
        .expect("the simulator holds the file");
    let first_open = call(
        &window,
        "open_enrollment_document",
        json!({"document": doc_id}),
    );
    assert_eq!(first_open["downloaded_now"], true, "{first_open}");
    assert_eq!(first_open["bytes"], sim_bytes.len() as u64);
    match first_open["kind"].as_str().unwrap() {
        "pdf" => {
            assert_eq!(first_open["pages"].as_array().unwrap().len(), 1);
            assert!(first_open["pages"][0]["data_url"]
                .as_str()
                .unwrap()
                .starts_with("data:image/png;base64,"));
        }
        "jpeg" => assert!(first_open["image"]
            .as_str()
            .unwrap()
            .starts_with("data:image/jpeg;base64,")),
        other => panic!("the simulator serves PDFs and JPEGs, not {other}"),
    }
    // Nothing was written to a loose file by opening it.
    assert_eq!(std::fs::read_dir(saved_to.path()).unwrap().count(), 0);

    // The simulator stops: the same document still opens, from the encrypted cache.
    district.sims.shutdown();
    district.runtime.block_on(async {
        tokio::time::sleep(Duration::from_millis(200)).await;
    });
    let offline = call(
        &window,
        "open_enrollment_document",
        json!({"document": doc_id}),
    );
    assert_eq!(offline["downloaded_now"], false, "{offline}");
    assert_eq!(offline["bytes"], first_open["bytes"]);
    assert_eq!(offline["pages"], first_open["pages"]);
    assert_eq!(offline["image"], first_open["image"]);
    let cached = desk
        .cache()
        .document(System::PowerSchool, &object)
        .unwrap()
        .unwrap();
    assert_eq!(cached.content.as_deref(), Some(sim_bytes.as_slice()));

    // "Save a copy": the file as it is, in the documents folder, and in the access log.
    let before = desk.cache().access_log(None).unwrap().len();
    let saved = call(
        &window,
        "save_enrollment_document",
        json!({"document": doc_id}),
    );
    let path = saved["path"].as_str().unwrap();
    assert!(
        path.starts_with(saved_to.path().to_str().unwrap()),
        "{saved}"
    );
    assert_eq!(std::fs::read(path).unwrap(), sim_bytes);
    let log = desk.cache().access_log(None).unwrap();
    assert_eq!(log.len(), before + 1);
    assert!(log
        .iter()
        .any(|e| e.access.what == "enrollment_document"
            && e.access.destination.as_deref() == Some(path)));

    // An unknown child: a sentence.
    assert!(refused(
        &window,
        "enrollment_documents",
        json!({"person": "ext:NOPE"})
    )
    .contains("no student 'NOPE'"));
    refused(
        &window,
        "enrollment_documents",
        json!({"person": "omniforge:1"}),
    );
    // An unknown document: a sentence, nothing written.
    assert!(refused(
        &window,
        "open_enrollment_document",
        json!({"document": "powerschool:not-a-document"})
    )
    .contains("no PowerSchool document"));
    refused(&window, "save_enrollment_document", json!({"document": ""}));
    assert_eq!(std::fs::read_dir(saved_to.path()).unwrap().count(), 1);
}

#[test]
fn an_import_is_queued_once_and_refused_when_bad_and_a_batch_is_fetched() {
    let dir = tempfile::tempdir().expect("temp dir");
    let district = District::synced(dir.path());
    let (_app, window) = start(dir.path());
    let desk = Desk::open(dir.path()).expect("open");
    let imports = || {
        desk.outbox(None)
            .unwrap()
            .into_iter()
            .filter(|e| e.write.operation().as_str() == "import_roster_record")
            .count()
    };

    // The import form is built from the cached schemas.
    let overview = call(&window, "enrollment_overview", json!({}));
    let action = overview["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == "101")
        .unwrap_or_else(|| panic!("action 101: {overview}"));
    let schema = action["schemas"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["schema_id"] == "1")
        .unwrap();
    assert_eq!(schema["key_field"], "stu_ExternalID");
    assert!(action["roster_records"].as_u64().unwrap() > 0);

    // Bad imports: refused with a sentence, nothing queued.
    let bad = [
        (
            json!({"action": "101", "schema": "1", "fields": form(json!({"stu_FirstName": "Ana", "stu_LastName": "Zeta", "stu_ExternalID": "N-1", "shoe_size": "5"}))}),
            "shoe_size",
        ),
        (
            json!({"action": "101", "schema": "1", "fields": form(json!({"stu_FirstName": "Ana", "stu_LastName": "Zeta", "stu_ExternalID": "  "}))}),
            "stu_ExternalID",
        ),
        (
            json!({"action": "101", "schema": "99", "fields": form(json!({"stu_ExternalID": "N-1"}))}),
            "does not know import schema 99",
        ),
        (
            json!({"action": "", "schema": "1", "fields": form(json!({"stu_ExternalID": "N-1"}))}),
            "Choose a published action",
        ),
    ];
    for (args, says) in bad {
        let message = refused(&window, "queue_roster_import", args);
        assert!(message.contains(says), "{message}");
    }
    let message = refused(
        &window,
        "queue_roster_import",
        json!({"action": "101", "schema": "1", "fields": [
            {"name": "stu_ExternalID", "value": "N-1"}, {"name": " stu_ExternalID", "value": "N-2"}]}),
    );
    assert!(message.contains("twice"), "{message}");
    assert_eq!(imports(), 0);

    // A good one: queued once, shown as an outbox row the screen links to.
    let row = call(
        &window,
        "queue_roster_import",
        json!({"action": "101", "schema": "1", "fields": form(json!({
            "stu_FirstName": "Nia", "stu_LastName": "Obi", "stu_ExternalID": "N-100", "stu_MiddleName": ""}))}),
    );
    assert_eq!(row["operation"], "import_roster_record", "{row}");
    assert_eq!(row["system"], "powerschool");
    assert_eq!(imports(), 1);

    // Submissions are checked the same way.
    assert!(refused(
        &window,
        "queue_enrollment_submission",
        json!({"action": "555", "fields": form(json!({"stu_FirstName": "A", "stu_LastName": "B"}))})
    )
    .contains("no published action '555'"));
    assert!(refused(
        &window,
        "queue_enrollment_submission",
        json!({"action": "101", "fields": form(json!({"stu_FirstName": "A", "stu_LastName": "B", "favourite_colour": "red"}))})
    )
    .contains("favourite_colour"));
    refused(
        &window,
        "queue_enrollment_submission",
        json!({"action": "101", "fields": form(json!({"stu_FirstName": "A"}))}),
    );

    // Delivery targets come from PowerSchool; an unknown one is refused.
    let targets = call(&window, "refresh_delivery_targets", json!({}));
    let ids: Vec<&str> = targets
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["301", "302"]);
    assert!(
        refused(&window, "queue_batch_fetch", json!({"target": "999"}))
            .contains("Health Office (302)")
    );

    // Fetch a batch: the engine sends it, and its records can be read.
    let fetch = call(&window, "queue_batch_fetch", json!({"target": "301"}));
    assert_eq!(fetch["operation"], "create_batch");
    let pool = district.sims.powerschool_admin.pool_len(301);
    assert!(pool > 0, "the simulated pool has approved submissions");
    call(&window, "send_now", json!({}));
    let batches = eventually("the batch", || {
        let b = call(&window, "enrollment_batches", json!({}));
        (!b.as_array().unwrap().is_empty()).then_some(b)
    });
    let batch = &batches[0];
    assert_eq!(batch["target_id"], "301");
    assert_eq!(batch["outbox_id"], fetch["id"]);
    let records = batch["records"].as_array().unwrap();
    assert_eq!(records.len(), pool.min(200));
    assert!(records
        .iter()
        .all(|r| !r["name"].as_str().unwrap().is_empty()));
    assert_eq!(district.sims.powerschool_admin.batches(301).len(), 1);
    let sent = desk.receipt(fetch["id"].as_i64().unwrap()).unwrap();
    assert_eq!(sent.entry.state, OutboxState::Done);
}
