// Without a console window on Windows release builds; debug builds keep it for the log.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() {
    schooldesk_app::run();
}
