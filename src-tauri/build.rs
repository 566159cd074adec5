// Collects the command names of src/command_table.rs, ignoring its types (which mean
// nothing to the build script); lib.rs expands the same table into the invoke handler.
macro_rules! app_commands {
    ($($module:ident :: $name:ident ( $($arg:ident : $ty:ty),* $(,)? ) -> $ok:ty;)*) => {
        const COMMAND_NAMES: &[&str] = &[$(stringify!($name)),*];
    };
}

include!("src/command_table.rs");

fn main() {
    // Hide every symbol of the statically linked libraries (SQLCipher above all) from the
    // binary's dynamic symbol table. Otherwise WebKit, libsoup and the system libsqlite3,
    // loaded at run time, bind to our `sqlite3_*` instead of their own and can crash.
    // Guarded by the `nm -D` check in scripts/e2e.sh.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-Wl,--exclude-libs,ALL");
    }

    // Declaring the app's commands makes them deny-by-default: a window may call only what
    // its capability (capabilities/default.json) grants. The names come from the one table
    // the shell registers (src/command_table.rs); the types there are only read by lib.rs.
    println!("cargo:rerun-if-changed=src/command_table.rs");
    tauri_build::try_build(
        tauri_build::Attributes::new()
            .app_manifest(tauri_build::AppManifest::new().commands(COMMAND_NAMES)),
    )
    .expect("failed to prepare the Tauri build (tauri.conf.json, capabilities, icons)");
}
