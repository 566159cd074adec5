//! The IPC surface is declared once in Rust (`src/ipc.rs` for types, events and error codes,
//! `src/command_table.rs` for commands); everything the UI compiles against, and the
//! capability that grants the commands, must be what those declare.
//!
//! `UPDATE_BINDINGS=1 cargo test -p schooldesk-app --test bindings` rewrites the generated
//! files and the capability's command permissions; without it these tests fail while any
//! of them is stale.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use schooldesk_app::ipc::{
    typescript_bindings, typescript_commands, CommandSignature, TsType, BINDINGS_PATH,
    CAPABILITY_PATH, COMMANDS_BINDINGS_PATH, ERROR_CODES,
};
use schooldesk_app::{command_signatures, COMMAND_NAMES};
use serde_json::{json, Value};

mod common;

const REGENERATE: &str =
    "Regenerate it with `UPDATE_BINDINGS=1 cargo test -p schooldesk-app --test bindings` and commit it.";

fn crate_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn updating() -> bool {
    std::env::var_os("UPDATE_BINDINGS").is_some()
}

/// Writes `generated` under UPDATE_BINDINGS, otherwise fails unless the file holds it.
fn check_generated(relative: &str, generated: &str) {
    let path = crate_path(relative);
    if updating() {
        std::fs::write(&path, generated).expect("write the bindings");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale. {REGENERATE}",
        path.display()
    );
}

#[test]
fn committed_bindings_match_the_ipc_declarations() {
    check_generated(BINDINGS_PATH, &typescript_bindings());
}

#[test]
fn committed_command_wrappers_match_the_command_table() {
    check_generated(
        COMMANDS_BINDINGS_PATH,
        &typescript_commands(&command_signatures()),
    );
}

#[test]
fn the_command_wrappers_are_typed_from_ts_rs() {
    let signatures = command_signatures();
    let names: Vec<&str> = signatures.iter().map(|c| c.name).collect();
    assert_eq!(names, COMMAND_NAMES, "one signature per registered command");
    let by_name = |name: &str| {
        signatures
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{name} is not in the table"))
    };
    let ts = typescript_commands(&signatures);
    // Named types are imported from ipc.ts; Vec, Option, (), i64 are written as the JSON
    // that crosses.
    assert!(ts.contains("    listPeople: (): Promise<PeopleIndex> => invoke(\"list_people\"),\n"));
    assert!(ts.contains(
        "    sectionMembers: (section: string): Promise<Array<string>> => invoke(\"section_members\", { section }),\n"
    ));
    assert!(ts.contains(
        "    setUpdateEndpoint: (endpoint: string | null): Promise<UpdateStatus> => invoke(\"set_update_endpoint\", { endpoint }),\n"
    ));
    assert!(ts.contains(
        "    outboxResolve: (id: number, choice: ResolveChoice): Promise<OutboxRow> => invoke(\"outbox_resolve\", { id, choice }),\n"
    ));
    assert!(ts.contains(
        "    wipeCache: (confirm: string): Promise<void> => invoke(\"wipe_cache\", { confirm }),\n"
    ));
    assert_eq!(by_name("roster_tree").ok.imports, vec!["SchoolNode"]);
    assert_eq!(
        TsType::of::<Option<Vec<schooldesk_app::ipc::SystemId>>>(),
        TsType {
            text: "Array<SystemId> | null".into(),
            imports: vec!["SystemId".into()],
        }
    );
    assert_eq!(
        schooldesk_app::ipc::camel_case("entity_key_2"),
        "entityKey2"
    );
}

/// Every type commands.ts imports must be one ipc.ts exports, or the UI does not compile.
#[test]
fn every_type_the_command_wrappers_name_is_declared_in_ipc_ts() {
    let ipc = typescript_bindings();
    let missing: BTreeSet<String> = command_signatures()
        .iter()
        .flat_map(|c| {
            c.args
                .iter()
                .map(|(_, t)| t.clone())
                .chain([c.ok.clone()])
                .collect::<Vec<_>>()
        })
        .flat_map(|t| t.imports)
        .filter(|name| !ipc.contains(&format!("export type {name} =")))
        .collect();
    assert!(
        missing.is_empty(),
        "commands.ts imports types that ipc.ts does not declare: {missing:?}. Push them in \
         `typescript_bindings` (src/ipc.rs)."
    );
}

// ---- the capability ----------------------------------------------------------------------

/// The app's own permissions a capability grants (`allow-…`, not `core:`/plugin ones).
fn app_permissions(capability: &Value) -> Vec<String> {
    capability["permissions"]
        .as_array()
        .expect("the capability lists permissions")
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| p.starts_with("allow-"))
        .map(str::to_string)
        .collect()
}

fn permission_of(command: &str) -> String {
    format!("allow-{}", command.replace('_', "-"))
}

/// Why the capability does not grant exactly `commands`, in order; `None` when it does.
fn capability_mismatch(commands: &[&str], capability: &Value) -> Option<String> {
    let wanted: Vec<String> = commands.iter().map(|c| permission_of(c)).collect();
    let granted = app_permissions(capability);
    if granted == wanted {
        return None;
    }
    let missing: Vec<&String> = wanted.iter().filter(|p| !granted.contains(p)).collect();
    let extra: Vec<&String> = granted.iter().filter(|p| !wanted.contains(p)).collect();
    Some(format!(
        "{CAPABILITY_PATH} does not grant exactly the commands of src/command_table.rs \
         (missing: {missing:?}; not in the table: {extra:?}; or in another order)"
    ))
}

/// The capability with its app permissions replaced by the table's, everything else (the
/// description, the `core:` permissions, the layout) kept as written.
fn rewritten_capability(text: &str, commands: &[&str]) -> String {
    let start = text
        .find("\"permissions\": [")
        .expect("the capability lists permissions");
    let end = start + text[start..].find(']').expect("the list ends");
    let capability: Value = serde_json::from_str(text).expect("the capability is JSON");
    let kept = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| !p.starts_with("allow-"))
        .map(str::to_string);
    let all: Vec<String> = kept
        .chain(commands.iter().map(|c| permission_of(c)))
        .map(|p| format!("    \"{p}\""))
        .collect();
    format!(
        "{}\"permissions\": [\n{}\n  {}",
        &text[..start],
        all.join(",\n"),
        &text[end..]
    )
}

#[test]
fn the_capability_grants_exactly_the_commands_of_the_table() {
    let path = crate_path(CAPABILITY_PATH);
    let text = std::fs::read_to_string(&path).expect("read the capability");
    let capability: Value = serde_json::from_str(&text).expect("the capability is JSON");
    if updating() {
        if capability_mismatch(COMMAND_NAMES, &capability).is_some() {
            std::fs::write(&path, rewritten_capability(&text, COMMAND_NAMES))
                .expect("write the capability");
        }
        return;
    }
    if let Some(why) = capability_mismatch(COMMAND_NAMES, &capability) {
        panic!("{why}. {REGENERATE}");
    }
    // Of Tauri's core, the window only follows the shell's events.
    let core: Vec<&str> = capability["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .filter(|p| !p.starts_with("allow-"))
        .collect();
    assert_eq!(
        core,
        ["core:event:allow-listen", "core:event:allow-unlisten"]
    );
}

#[test]
fn a_capability_out_of_step_with_the_table_is_reported_and_rewritten() {
    let text = std::fs::read_to_string(crate_path(CAPABILITY_PATH)).unwrap();
    let capability: Value = serde_json::from_str(&text).unwrap();
    // A command added to the table but not granted, and one granted but no longer there.
    let mut more = COMMAND_NAMES.to_vec();
    more.push("new_command");
    let why = capability_mismatch(&more, &capability).expect("a missing grant is reported");
    assert!(why.contains("missing: [\"allow-new-command\"]"), "{why}");
    let fewer = &COMMAND_NAMES[1..];
    let why = capability_mismatch(fewer, &capability).expect("an extra grant is reported");
    assert!(
        why.contains(&format!(
            "not in the table: [\"{}\"]",
            permission_of(COMMAND_NAMES[0])
        )),
        "{why}"
    );
    // The rewrite grants exactly the new list and keeps the rest.
    let rewritten = rewritten_capability(&text, &more);
    let parsed: Value = serde_json::from_str(&rewritten).expect("still JSON");
    assert_eq!(capability_mismatch(&more, &parsed), None);
    assert_eq!(parsed["description"], capability["description"]);
    assert_eq!(parsed["windows"], capability["windows"]);
    assert!(parsed["permissions"]
        .as_array()
        .unwrap()
        .contains(&json!("core:event:allow-listen")));
    // Rewriting an up-to-date capability changes nothing, layout included.
    if capability_mismatch(COMMAND_NAMES, &capability).is_none() {
        assert_eq!(rewritten_capability(&text, COMMAND_NAMES), text);
    }
}

#[test]
fn generated_command_wrappers_go_stale_when_the_table_changes() {
    let all = command_signatures();
    let committed_shape = typescript_commands(&all);
    let without_one: Vec<CommandSignature> = all[1..].to_vec();
    let stale = typescript_commands(&without_one);
    assert_ne!(committed_shape, stale);
    assert!(!stale.contains(&format!("\"{}\"", all[0].name)));
}

// ---- error codes -------------------------------------------------------------------------

/// The `shell.…`, `update.…` and `export.…` string literals written in `source`.
fn codes_in(source: &str) -> BTreeSet<String> {
    let mut codes = BTreeSet::new();
    for (i, _) in source.match_indices('"') {
        let rest = &source[i + 1..];
        if !["shell.", "update.", "export."]
            .iter()
            .any(|p| rest.starts_with(p))
        {
            continue;
        }
        let Some(end) = rest.find('"') else { continue };
        let code = &rest[..end];
        if code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.')
        {
            codes.insert(code.to_string());
        }
    }
    codes
}

#[test]
fn every_error_code_the_shell_writes_is_declared_once() {
    // ipc.rs holds the declaration itself.
    let mut written = BTreeSet::new();
    for entry in std::fs::read_dir(crate_path("src")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("ipc.rs") {
            written.extend(codes_in(&std::fs::read_to_string(&path).unwrap()));
        }
    }
    let declared: BTreeSet<String> = ERROR_CODES.iter().map(|c| c.to_string()).collect();
    assert_eq!(declared.len(), ERROR_CODES.len(), "a code is listed twice");
    let undeclared: Vec<&String> = written.difference(&declared).collect();
    let unused: Vec<&String> = declared.difference(&written).collect();
    assert!(
        undeclared.is_empty() && unused.is_empty(),
        "ERROR_CODES (src/ipc.rs) is out of step with the codes written in src/: add \
         {undeclared:?}, remove {unused:?}"
    );
}

#[test]
fn the_code_scan_finds_codes_and_nothing_else() {
    let source = r#"refused("shell.wipe_unconfirmed", m); code: "update.none_staged".into(); "shell x"; "export.{}"; "cache.key""#;
    let found: Vec<String> = codes_in(source).into_iter().collect();
    assert_eq!(found, ["shell.wipe_unconfirmed", "update.none_staged"]);
}

// ---- the table against the commands' real parameters ---------------------------------------

/// A value of the TypeScript type that the command's Rust parameter accepts.
fn sample(ts: &str) -> Value {
    match ts {
        "string" => json!("not-an-id"),
        // `set_update_endpoint`: refused before anything is saved or fetched.
        "string | null" => json!("not an address"),
        "number" => json!(1),
        "ResolveChoice" => json!("keep_mine"),
        "DocumentRequest" => json!({"kind": "roster", "section": "omniforge:none"}),
        "DocumentFormat" => json!("pdf"),
        "PaperSize" => json!("a4"),
        "SystemId" => json!("omniforge"),
        "ConnectionInput" => json!({"system": "omniforge", "base_url": "https://example.invalid"}),
        // enrollment: a form's fields (`queue_roster_import`, `queue_enrollment_submission`).
        "Array<FieldValue>" => json!([{"name": "stu_FirstName", "value": "Ana"}]),
        // classes
        "RosterChangeKind" => json!("add"),
        "Array<string>" => json!(["not-an-id"]),
        // register
        "MarkInput" => {
            json!({"section": "omniforge:none", "date": "2025-09-01", "student": "omniforge:none", "status": "present"})
        }
        other => panic!("add a sample value of `{other}` to `sample` in tests/bindings.rs"),
    }
}

/// The table's arguments are the commands' real ones, by name, in order and of a type that
/// accepts what the generated TypeScript sends. Commands are invoked through the IPC with a
/// cache that cannot open, so no command gets far enough to change anything.
#[test]
fn the_tables_arguments_are_the_ones_each_command_reads() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"").unwrap();
    let (_app, window) = common::start(&blocker.join("data"));

    let wrong = json!({"not": "what the command takes"});
    for command in command_signatures() {
        for (k, (arg, _)) in command.args.iter().enumerate() {
            // The arguments before `arg` right, `arg` wrong, the rest left out: Tauri reads
            // parameters in order, so it must stop at `arg`, by its JS name.
            let mut args = serde_json::Map::new();
            for (name, ty) in &command.args[..k] {
                args.insert(schooldesk_app::ipc::camel_case(name), sample(&ty.text));
            }
            args.insert(schooldesk_app::ipc::camel_case(arg), wrong.clone());
            let err = common::invoke(&window, command.name, Value::Object(args))
                .expect_err("a wrong argument is refused");
            let err = err.as_str().unwrap_or_default();
            assert!(
                !err.contains("missing required key")
                    && err.starts_with(&format!(
                        "invalid args `{}` for command `{}`",
                        schooldesk_app::ipc::camel_case(arg),
                        command.name
                    )),
                "src/command_table.rs does not match the parameters of `{}` at `{arg}`, its \
                 argument {} (name, order or type; Tauri said: {err})",
                command.name,
                k + 1
            );
        }
        // Every argument right: the command itself answers (mostly with the cache's error),
        // so it reads no argument the table leaves out. Opening the documents folder would
        // open the person's real one in the file manager: its table line has no arguments
        // to get wrong.
        if command.name == "open_export_folder" {
            continue;
        }
        let args: serde_json::Map<String, Value> = command
            .args
            .iter()
            .map(|(name, ty)| (schooldesk_app::ipc::camel_case(name), sample(&ty.text)))
            .collect();
        let answer = common::invoke(&window, command.name, Value::Object(args));
        if let Err(err) = &answer {
            assert!(
                err["code"].is_string(),
                "src/command_table.rs: `{}` refused the arguments the table declares: {err}",
                command.name
            );
        }
    }
}
