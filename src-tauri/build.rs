fn main() {
    // Hide every symbol of the statically linked libraries (SQLCipher above all) from the
    // binary's dynamic symbol table. Otherwise WebKit, libsoup and the system libsqlite3,
    // loaded at run time, bind to our `sqlite3_*` instead of their own and can crash.
    // Guarded by the `nm -D` check in scripts/e2e.sh.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,--exclude-libs,ALL");
    }

    // Declaring the app's commands makes them deny-by-default: a window may call only what
    // its capability (capabilities/default.json) grants.
    tauri_build::try_build(tauri_build::Attributes::new().app_manifest(
        tauri_build::AppManifest::new().commands(&[
            "list_students",
            "list_outbox",
            "app_status",
            "desk_activity",
            "sync_now",
            "send_now",
            "update_status",
            "restart_to_update",
            "set_update_endpoint",
            "list_sections",
            "export_document",
            "print_document",
            "open_export_folder",
            "list_people",
            "roster_tree",
            "section_members",
            "student_page",
            "outbox_receipt",
            "outbox_retry",
            "outbox_discard",
            "outbox_resolve",
            "list_connections",
            "test_connection",
            "save_connection",
            "remove_connection",
            "data_location",
            "wipe_cache",
            "choose_demo",
        ]),
    ))
    .expect("failed to prepare the Tauri build (tauri.conf.json, capabilities, icons)");
}
