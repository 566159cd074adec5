// The IPC surface's commands, declared once: `module::command(arguments the UI passes) -> answer;`.
// Read by `app_commands!` in lib.rs (handler, names, generated `ui/src/bindings/commands.ts`)
// and by build.rs (the app manifest). A command added here must be added to
// capabilities/default.json too: the bindings test says so, and rewrites it with UPDATE_BINDINGS=1.
app_commands! {
    commands::list_outbox() -> Vec<OutboxRow>;
    commands::app_status() -> AppStatus;
    commands::first_screen_shown() -> ();
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
    // learning support and the access log
    support::support_status() -> support::SupportStatus;
    support::support_unlock() -> support::SupportStatus;
    support::support_lock() -> support::SupportStatus;
    support::support_touch() -> support::SupportStatus;
    support::support_year_groups() -> Vec<support::YearGroupOption>;
    support::support_student(person: String) -> support::SupportView;
    support::support_year_group(group: String) -> support::SupportView;
    support::support_export(student: Option<String>, year_group: Option<String>, format: DocumentFormat, paper: PaperSize) -> ExportedDocument;
    support::access_log(limit: u32) -> support::AccessLogView;
    support::export_access_log() -> ExportedDocument;
    // emergency roll
    emergency::emergency_roll(section: Option<String>) -> emergency::EmergencyRoll;
    // register
    register::register_sections() -> Vec<SectionOption>;
    register::register_sheet(section: String, date: Option<String>, session: Option<String>) -> register::RegisterSheet;
    register::take_mark(mark: register::MarkInput) -> register::RegisterRow;
    register::mark_rest_present(section: String, date: String, session: Option<String>) -> register::RestPresent;
    // enrollment
    enrollment::enrollment_overview() -> enrollment::EnrollmentOverview;
    enrollment::refresh_delivery_targets() -> Vec<enrollment::DeliveryTargetView>;
    enrollment::enrollment_checklist(checklist: String) -> enrollment::ChecklistGridView;
    enrollment::enrollment_document_owners() -> Vec<enrollment::DocumentOwnerView>;
    enrollment::enrollment_documents(person: String) -> enrollment::PersonDocumentsView;
    enrollment::open_enrollment_document(document: String) -> enrollment::OpenedDocumentView;
    enrollment::save_enrollment_document(document: String) -> ExportedDocument;
    enrollment::enrollment_records() -> Vec<enrollment::EnrollmentRecordView>;
    enrollment::queue_roster_import(action: String, schema: String, fields: Vec<enrollment::FieldValue>) -> OutboxRow;
    enrollment::queue_enrollment_submission(action: String, fields: Vec<enrollment::FieldValue>) -> OutboxRow;
    enrollment::queue_batch_fetch(target: String) -> OutboxRow;
    enrollment::enrollment_batches() -> Vec<enrollment::BatchView>;
    // classes (Matrix class work)
    classes::list_classes() -> Vec<classes::ClassOption>;
    classes::class_page(class_id: String) -> classes::ClassPageView;
    classes::class_change(class_id: String, action: classes::RosterChangeKind, students: Vec<String>) -> OutboxRow;
    classes::set_grade(class_id: String, assignment: String, student: String, grade: String) -> OutboxRow;
}
