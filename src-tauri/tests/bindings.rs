//! The TypeScript the UI compiles against must be what `src/ipc.rs` declares.

use std::path::Path;

use schooldesk_app::ipc::{typescript_bindings, BINDINGS_PATH};

#[test]
fn committed_bindings_match_the_ipc_declarations() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
    let generated = typescript_bindings();
    if std::env::var_os("UPDATE_BINDINGS").is_some() {
        std::fs::write(&path, &generated).expect("write the bindings");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} is stale. Regenerate it with `UPDATE_BINDINGS=1 cargo test -p schooldesk-app --test bindings` and commit it.",
        path.display()
    );
}
