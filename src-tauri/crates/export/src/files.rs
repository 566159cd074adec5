//! Writing a finished document to disk so that it is either complete or absent: a
//! temporary file beside the target, flushed to the disk, then renamed over it. Never
//! through a link at the target, and readable by the owner only (a register or an emergency
//! list names children and their families).

use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};

use crate::error::{ExportError, Result};

/// Writes `bytes` to `path` atomically: another program (or a crash) sees the old file or
/// the whole new one, never part of it. Refuses a target that is a symbolic link or a
/// folder, and a folder that does not exist (it is not created: a mistyped folder should be
/// noticed, not made). On Unix the file is `0600`.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    if path.as_os_str().is_empty() {
        return Err(ExportError::InvalidInput(
            "No file name was given. Choose where to save the file.".into(),
        ));
    }
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            return Err(ExportError::SymlinkTarget(path.to_path_buf()))
        }
        Ok(meta) if meta.is_dir() => return Err(ExportError::IsAFolder(path.to_path_buf())),
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(path, e)),
    }
    let folder = folder_of(path);
    if !folder.is_dir() {
        return Err(ExportError::FolderMissing(folder));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "export".into());
    // Hidden and clearly temporary, so a person browsing the folder mid-write does not open
    // it; tempfile creates it with owner-only permissions and removes it if we fail.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".part")
        .tempfile_in(&folder)
        .map_err(|e| match e.kind() {
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
                ExportError::NotWritable(folder.clone())
            }
            _ => io_error(path, e),
        })?;
    restrict_to_owner(temp.path()).map_err(|e| io_error(path, e))?;
    temp.write_all(bytes).map_err(|e| io_error(path, e))?;
    // On the disk before the rename, or a power cut could leave a complete name over an
    // empty file.
    temp.as_file().sync_all().map_err(|e| io_error(path, e))?;
    // `rename` replaces a link placed at the target after the check above instead of
    // following it, so the check cannot be raced into writing elsewhere.
    temp.persist(path).map_err(|e| match e.error.kind() {
        ErrorKind::PermissionDenied => ExportError::NotWritable(folder.clone()),
        _ => io_error(path, e.error),
    })?;
    sync_folder(&folder);
    Ok(())
}

fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ExportError {
    ExportError::Write {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> std::io::Result<()> {
    // Windows files inherit the folder's access list: a user's own folders are theirs.
    Ok(())
}

/// Makes the rename itself durable (best effort: not every file system allows it).
fn sync_folder(folder: &Path) {
    #[cfg(unix)]
    if let Ok(dir) = std::fs::File::open(folder) {
        let _ = dir.sync_all();
    }
    #[cfg(not(unix))]
    let _ = folder;
}
