//! Safe files: complete or absent, never through a link, owner-only, with errors a person
//! can act on.

use std::path::Path;

use schooldesk_export::{write_atomically, ExportError};

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn writes_the_whole_file_and_leaves_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("register.csv");
    write_atomically(&path, b"Name\nZo\xc3\xab\n").expect("write");
    assert_eq!(std::fs::read(&path).unwrap(), b"Name\nZo\xc3\xab\n");
    // Over an existing file too: replaced whole.
    std::fs::write(&path, vec![b'x'; 10_000]).unwrap();
    write_atomically(&path, b"short").expect("replace");
    assert_eq!(std::fs::read(&path).unwrap(), b"short");
    assert_eq!(
        names_in(dir.path()),
        ["register.csv"],
        "no temporary file left"
    );
}

#[cfg(unix)]
#[test]
fn the_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emergency.pdf");
    write_atomically(&path, b"%PDF").expect("write");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
    // A file that was readable by everyone becomes the owner's only when replaced.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    write_atomically(&path, b"%PDF-2").expect("replace");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{mode:o}");
}

#[cfg(unix)]
#[test]
fn a_link_at_the_target_is_refused_and_what_it_points_to_is_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = dir.path().join("important.txt");
    std::fs::write(&elsewhere, "keep me").unwrap();
    let link = dir.path().join("roster.csv");
    std::os::unix::fs::symlink(&elsewhere, &link).unwrap();
    let err = write_atomically(&link, b"Name\n").expect_err("refused");
    assert!(matches!(err, ExportError::SymlinkTarget(_)), "{err}");
    assert_eq!(err.code(), "export.symlink_target");
    assert!(err.to_string().contains("is a link"), "{err}");
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());

    // A link to nowhere would create the file it names: refused as well.
    let dangling = dir.path().join("dangling.csv");
    std::os::unix::fs::symlink(dir.path().join("nowhere.csv"), &dangling).unwrap();
    assert!(matches!(
        write_atomically(&dangling, b"x"),
        Err(ExportError::SymlinkTarget(_))
    ));
    assert!(!dir.path().join("nowhere.csv").exists());
}

#[test]
fn a_missing_folder_or_a_folder_as_target_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = write_atomically(&dir.path().join("no/such/folder/list.csv"), b"x")
        .expect_err("missing folder");
    assert!(matches!(err, ExportError::FolderMissing(_)), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert!(!err.is_retryable());
    assert!(!dir.path().join("no").exists(), "the folder is not created");

    let err = write_atomically(dir.path(), b"x").expect_err("a folder");
    assert!(matches!(err, ExportError::IsAFolder(_)), "{err}");
}

#[cfg(unix)]
#[test]
fn a_folder_that_cannot_be_written_is_named_and_nothing_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o500)).unwrap();
    // Root writes anywhere: then there is nothing to refuse.
    if std::fs::write(locked.join("probe"), b"").is_ok() {
        std::fs::remove_file(locked.join("probe")).unwrap();
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
        eprintln!("skipped: this user can write in a read-only folder");
        return;
    }
    let err = write_atomically(&locked.join("list.csv"), b"x").expect_err("not writable");
    assert!(matches!(err, ExportError::NotWritable(_)), "{err}");
    assert!(err.to_string().contains("permission"), "{err}");
    assert!(names_in(&locked).is_empty());
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
}

/// A reader sees the old file or the new one, never a mixture or a short one, however the
/// reads and writes interleave.
#[test]
fn a_reader_never_sees_a_half_written_file() {
    const SIZE: usize = 2 * 1024 * 1024;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    write_atomically(&path, &vec![b'a'; SIZE]).unwrap();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (path, done) = (path.clone(), done.clone());
        std::thread::spawn(move || {
            let mut reads = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) || reads < 5 {
                let bytes = std::fs::read(&path).expect("the file is always there");
                assert_eq!(bytes.len(), SIZE, "a complete file");
                let first = bytes[0];
                assert!(
                    bytes.iter().all(|b| *b == first),
                    "one version, not a mixture"
                );
                reads += 1;
            }
            reads
        })
    };
    for i in 0..30 {
        let fill = if i % 2 == 0 { b'b' } else { b'a' };
        write_atomically(&path, &vec![fill; SIZE]).unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(reader.join().expect("reader") >= 5);
}
