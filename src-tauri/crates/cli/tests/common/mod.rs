//! Runs the real `schooldesk` binary on a temporary data directory.
//! These tests need a real keychain: run them under `scripts/with-keyring.sh` (CI does).

#![allow(dead_code)]

use schooldesk_sim::{SimConfig, Simulators};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub struct Sd {
    pub dir: tempfile::TempDir,
}

impl Sd {
    pub fn new() -> Sd {
        Sd {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_schooldesk"));
        c.arg("--data-dir").arg(self.data_dir());
        c.env_remove("SCHOOLDESK_DATA_DIR");
        // Log lines only where a test asks for them: an error is one line otherwise.
        c.env_remove("RUST_LOG").env_remove("SCHOOLDESK_LOG");
        c.stdin(Stdio::null());
        c
    }

    /// Runs with `args`, standard input `stdin` (none when `None`).
    pub fn run(&self, args: &[&str], stdin: Option<&str>) -> Output {
        let mut c = self.command();
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        if stdin.is_some() {
            c.stdin(Stdio::piped());
        }
        let mut child = c.spawn().expect("start schooldesk");
        if let Some(input) = stdin {
            // A command that refuses its arguments exits before reading: a broken pipe is fine.
            let _ = child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes());
        }
        child.wait_with_output().expect("schooldesk output")
    }

    /// Runs and expects success; returns standard output.
    pub fn ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "schooldesk {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stdout).expect("utf-8 output")
    }

    /// Runs with `--json` and parses standard output.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.ok(&all, None)).expect("JSON output")
    }

    /// Runs, expects failure with one clear line on standard error; returns that line.
    pub fn fails(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.run(args, stdin);
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            !out.status.success(),
            "schooldesk {args:?} should have failed; stdout: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected one error line for {args:?}, got: {err}"
        );
        lines[0].to_string()
    }

    /// Everything the cache holds that a person could see: students, outbox, connections.
    pub fn snapshot(&self) -> serde_json::Value {
        let mut status = self.json(&["status"]);
        // The data directory path is the same; drop nothing else.
        status.as_object_mut().map(|o| o.remove("data_dir"));
        serde_json::json!({
            "status": status,
            "students": self.json(&["students", "--limit", "100000"]),
            "outbox": self.json(&["outbox", "list"]),
        })
    }
}

/// Every file under `dir`, read whole.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The simulators, with the OmniForge key issued without a rate ceiling, so tests that send
/// many writes measure Schooldesk rather than the documented 60 a minute.
pub async fn omniforge_without_ceiling(students: usize) -> (Simulators, SimConfig) {
    let mut config = SimConfig {
        students,
        ..SimConfig::default()
    };
    for key in &mut config.omniforge.keys {
        key.requests_per_minute = None;
    }
    let sims = Simulators::start(config.clone()).await.expect("simulators");
    (sims, config)
}
