//! Bad input to every command: one clear line, a non-zero exit, and nothing changed.

mod common;
use common::*;

#[test]
fn bad_input_to_every_command_changes_nothing() {
    let sd = Sd::new();
    let before = sd.snapshot();

    // (arguments, standard input, words the one error line must contain)
    let cases: &[(&[&str], Option<&str>, &str)] = &[
        (
            &["connect", "sims", "--base-url", "https://x.example"],
            Some("k"),
            "unknown system",
        ),
        (
            &[
                "connect",
                "omniforge",
                "--base-url",
                "http://sis.example.org",
            ],
            Some("k"),
            "HTTPS",
        ),
        (
            &["connect", "omniforge", "--base-url", "not a url"],
            Some("k"),
            "omniforge",
        ),
        (
            &[
                "connect",
                "omniforge",
                "--base-url",
                "https://sis.example.org",
            ],
            Some("   \n"),
            "no secret",
        ),
        (
            &["connect", "hubmis", "--base-url", "https://hub.example.org"],
            Some("s"),
            "realm",
        ),
        (
            &[
                "connect",
                "matrix",
                "--base-url",
                "https://m.example.org",
                "--requests-per-minute",
                "0",
            ],
            Some("k"),
            "requests-per-minute",
        ),
        (
            &[
                "connect",
                "omniforge",
                "--base-url",
                "https://sis.example.org",
                "--api-key",
                "k",
            ],
            None,
            "--api-key",
        ),
        (&["sync", "sims"], None, "unknown system"),
        (&["sync", "omniforge"], None, "not connected"),
        (&["students", "--limit", "lots"], None, "lots"),
        (
            &[
                "attendance",
                "mark",
                "--student",
                "x",
                "--date",
                "2026-13-01",
                "--status",
                "present",
            ],
            None,
            "YYYY-MM-DD",
        ),
        (
            &[
                "attendance",
                "mark",
                "--student",
                "x",
                "--date",
                "2026-09-14",
                "--status",
                "sick",
            ],
            None,
            "sick",
        ),
        (
            &[
                "attendance",
                "mark",
                "--student",
                "nobody",
                "--date",
                "2026-09-14",
                "--status",
                "absent",
            ],
            None,
            "nobody",
        ),
        (
            &["attendance", "list", "--date", "yesterday"],
            None,
            "YYYY-MM-DD",
        ),
        (&["outbox", "list", "--state", "lost"], None, "lost"),
        (&["outbox", "resend"], None, "resend"),
        (&["outbox", "discard", "1"], None, "--yes"),
        (&["outbox", "resolve", "1"], None, "--keep-mine"),
        (&["outbox", "show", "first"], None, "first"),
        (
            &["user", "update", "--user", "1", "--set", "=555-0100"],
            None,
            "FIELD=VALUE",
        ),
        (
            &[
                "attendance",
                "mark",
                "--student",
                "s",
                "--date",
                "2026-09-14",
                "--status",
                "tardy",
                "--minutes-late",
                "ten",
            ],
            None,
            "ten",
        ),
        (
            &[
                "export",
                "students",
                "--out",
                "/nonexistent-dir/students.csv",
            ],
            None,
            "/nonexistent-dir",
        ),
        (
            &[
                "export",
                "register",
                "--date",
                "14/09/2026",
                "--out",
                "r.csv",
            ],
            None,
            "YYYY-MM-DD",
        ),
        (&["demo", "--students", "10"], None, "10"),
        (&["reset"], None, "--yes"),
    ];
    for (args, stdin, expect) in cases {
        let line = sd.fails(args, *stdin);
        assert!(
            line.to_lowercase().contains(&expect.to_lowercase()),
            "error for {args:?} should mention '{expect}': {line}"
        );
    }

    // A file where the documents folder should be.
    let file = sd.dir.path().join("not-a-folder");
    std::fs::write(&file, b"x").expect("file");
    let line = sd.fails(
        &["export", "documents", "--out", file.to_str().expect("path")],
        None,
    );
    assert!(line.contains("not-a-folder"), "{line}");

    assert_eq!(before, sd.snapshot(), "a refused command changed the cache");
    assert!(
        sd.data_dir().join("schooldesk.db").exists(),
        "a refused reset deleted the cache"
    );
}

#[test]
fn the_secret_goes_to_the_keychain_never_to_disk_or_output() {
    let sd = Sd::new();
    let key = format!("fsis_secret_{}", "ab12".repeat(16));
    let out = sd.run(
        &[
            "connect",
            "omniforge",
            "--base-url",
            "http://127.0.0.1:9",
            "--no-verify",
        ],
        Some(&format!("{key}\n")),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = [out.stdout, out.stderr].concat();
    assert!(!contains(&printed, key.as_bytes()), "the key was printed");

    let status = sd.json(&["status"]);
    assert_eq!(status["connections"][0]["system"], "omniforge");
    assert_eq!(status["connections"][0]["base_url"], "http://127.0.0.1:9");
    assert!(!status.to_string().contains(&key));

    for (path, bytes) in files_under(&sd.data_dir()) {
        assert!(
            !contains(&bytes, key.as_bytes()),
            "the key is in {}",
            path.display()
        );
    }
}

#[test]
fn reset_deletes_the_cache_and_its_key_only_when_confirmed() {
    let sd = Sd::new();
    sd.ok(&["students"], None);
    let db = sd.data_dir().join("schooldesk.db");
    assert!(db.exists());
    sd.fails(&["reset"], None);
    assert!(db.exists());
    sd.ok(&["reset", "--yes"], None);
    assert!(!db.exists(), "reset left the cache file");
    // A new cache (and key) is made on next use.
    sd.ok(&["students"], None);
    assert!(db.exists());
}
