// The IPC surface's commands, declared once: `module::command(arguments the UI passes) -> answer;`.
// Read by `app_commands!` in lib.rs (handler, names, generated `ui/src/bindings/commands.ts`)
// and by build.rs (the app manifest). A command added here must be added to
// capabilities/default.json too: the bindings test says so, and rewrites it with UPDATE_BINDINGS=1.
app_commands! {
    commands::list_outbox() -> Vec<OutboxRow>;
    commands::app_status() -> AppStatus;
    commands::desk_activity() -> ActivityView;
    commands::sync_now() -> ();
    commands::send_now() -> ();
    commands::update_status() -> UpdateStatus;
    commands::restart_to_update() -> ();
    commands::set_update_endpoint(endpoint: Option<String>) -> UpdateStatus;
    exports::list_sections() -> Vec<SectionOption>;
    exports::export_document(request: DocumentRequest, format: DocumentFormat, paper: PaperSize) -> ExportedDocument;
    exports::print_document(request: DocumentRequest, paper: PaperSize) -> ExportedDocument;
    exports::open_export_folder() -> String;
    commands::list_people() -> PeopleIndex;
    commands::roster_tree() -> Vec<SchoolNode>;
    commands::section_members(section: String) -> Vec<String>;
    commands::student_page(person: String) -> StudentPage;
    commands::outbox_receipt(id: i64) -> ReceiptView;
    commands::outbox_retry(id: i64) -> OutboxRow;
    commands::outbox_discard(id: i64) -> OutboxRow;
    commands::outbox_resolve(id: i64, choice: ResolveChoice) -> OutboxRow;
    settings::list_connections() -> Vec<ConnectionView>;
    settings::test_connection(connection: ConnectionInput) -> ConnectionTest;
    settings::save_connection(connection: ConnectionInput) -> ConnectionView;
    settings::remove_connection(system: SystemId) -> ();
    settings::data_location() -> DataLocation;
    settings::wipe_cache(confirm: String) -> ();
    settings::choose_demo() -> AppStatus;
}
