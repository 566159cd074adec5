//! Opening, keying, migrating and resetting the cache file; transactions.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

use rusqlite::{Connection, ErrorCode, TransactionBehavior};
use zeroize::Zeroizing;

use crate::error::{CacheError, Result};
use crate::exit_gate;
use crate::keychain::{CacheKey, Keychain};
use crate::schema;

/// SQLite's first initialisation in a process marks itself done before it runs SQLCipher's
/// part (`sqlcipher_extra_init`, outside its mutex), so a second thread opening a connection
/// meanwhile finds SQLCipher not yet set up and its `PRAGMA key` fails with "An error occurred
/// with PRAGMA key or rekey" (seen in CI: two tests opening their caches at once). The first
/// initialisation therefore happens here, once, while every other opener waits.
static SQLITE_READY: Once = Once::new();

fn initialise_sqlite() -> Result<()> {
    let mut failed = None;
    SQLITE_READY.call_once(|| failed = Connection::open_in_memory().err());
    failed.map_or(Ok(()), |e| Err(e.into()))
}

/// Keys a fresh connection; the key must come before anything reads the file.
fn apply_key(conn: &Connection, key: &CacheKey) -> rusqlite::Result<()> {
    // SQLCipher logs a wrong key to stderr by itself; the error returned says it better,
    // and a CLI's output should not carry library noise.
    conn.execute_batch("PRAGMA cipher_log_level = NONE;")?;
    let pragma = Zeroizing::new(format!("PRAGMA key = \"x'{}'\";", key.to_hex().as_str()));
    conn.execute_batch(&pragma)?;
    // Pin the file format, so a future SQLCipher with other defaults still reads it.
    conn.execute_batch("PRAGMA cipher_compatibility = 4;")
}

/// The cache file's name inside the data directory.
pub const DB_FILE: &str = "schooldesk.db";

/// How long a write waits for another process (the CLI beside the app) to finish its own.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page cache size in KiB (negative = KiB in SQLite's terms). SQLCipher decrypts a page each
/// time it is read from the file; 64 MiB holds the working set of a large school, which
/// brings encrypted reads to the speed of plain ones (measured: see PLATFORM.md and the
/// `cache` benchmark).
const CACHE_SIZE_KIB: i64 = 65_536;

/// The encrypted local cache: one SQLCipher file holding everything copied from the school
/// systems, the connection settings, sync progress and the outbox.
///
/// `Cache` owns one SQLite connection behind a [`std::sync::Mutex`]; every method takes
/// `&self`, so one `Arc<Cache>` is shared by the CLI, the sync engine and the Tauri shell.
/// Calls are short and serialised; run them from blocking threads (`spawn_blocking`), not on
/// an async executor's worker.
pub struct Cache {
    /// Taken and closed in `Drop`, inside the exit gate; `Some` until then.
    conn: Mutex<Option<Connection>>,
    path: PathBuf,
    encrypted: bool,
    changes: std::sync::Arc<crate::changes::Tracker>,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("path", &self.path)
            .field("encrypted", &self.encrypted)
            .finish_non_exhaustive()
    }
}

impl Cache {
    /// Where the cache of `data_dir` lives.
    pub fn db_path(data_dir: &Path) -> PathBuf {
        data_dir.join(DB_FILE)
    }

    /// Opens (or creates) `<data_dir>/schooldesk.db` with its key from the keychain.
    ///
    /// - no file and no key: a new key (from the operating system's random source) is stored
    ///   in the keychain first, then the file is created;
    /// - no file but a key: the key is reused;
    /// - a file but no key: [`CacheError::KeyMissing`]; a fresh cache is never written over
    ///   the old one;
    /// - a key that does not open the file: [`CacheError::WrongKey`], file untouched;
    /// - a file from a newer Schooldesk: [`CacheError::NewerSchema`], file untouched.
    ///
    /// All of this runs under an OS lock on `<data_dir>/open.lock`, so processes opening a
    /// new data folder at the same moment end up with one key, the one that opens the file.
    pub fn open(data_dir: &Path, keychain: &Keychain) -> Result<Cache> {
        if Keychain::for_data_dir(data_dir) != *keychain {
            return Err(CacheError::InvalidInput(format!(
                "The keychain entries given belong to the data folder {}, not to {}.",
                keychain.data_dir().display(),
                data_dir.display()
            )));
        }
        std::fs::create_dir_all(data_dir).map_err(|e| CacheError::io(data_dir, e))?;
        let path = Self::db_path(data_dir);
        // Two processes opening a new data folder at once (the app starting while a script
        // runs) would each see no key, each store their own, and one would create the file
        // with a key the keychain no longer holds. The lock makes "read the key, create it if
        // missing, create and migrate the file" one step across processes; everything is
        // read again once it is held. The OS drops it if its holder dies.
        let _open = OpenLock::acquire(data_dir)?;
        let key = match (keychain.get_cache_key()?, holds_data(&path)?) {
            (Some(key), _) => key,
            (None, false) => keychain.create_cache_key(&mut rand::rngs::OsRng)?,
            (None, true) => return Err(CacheError::KeyMissing { db_path: path }),
        };
        Self::open_with_key(&path, &key)
    }

    /// Opens (or creates) an encrypted cache file at `path` with `key`, bringing its layout
    /// up to date.
    pub fn open_with_key(path: &Path, key: &CacheKey) -> Result<Cache> {
        Self::open_at(path, Some(key), schema::SCHEMA_VERSION)
    }

    /// Opens (or creates) an UNENCRYPTED cache file. Only for the benchmark, which measures
    /// what encryption costs against it; Schooldesk itself never stores data this way.
    pub fn open_plain(path: &Path) -> Result<Cache> {
        Self::open_at(path, None, schema::SCHEMA_VERSION)
    }

    /// Opens an encrypted file but migrates it only up to `version`, to build the files of
    /// earlier Schooldesk versions in migration tests.
    #[doc(hidden)]
    pub fn open_with_key_at_version(path: &Path, key: &CacheKey, version: u32) -> Result<Cache> {
        Self::open_at(path, Some(key), version.min(schema::SCHEMA_VERSION))
    }

    fn open_at(path: &Path, key: Option<&CacheKey>, target: u32) -> Result<Cache> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| CacheError::io(dir, e))?;
        }
        let _gate = exit_gate::enter();
        initialise_sqlite()?;
        let mut conn = Connection::open(path)?;
        // Before anything creates the -wal and -shm files, which SQLite gives the same mode.
        restrict_permissions(path)?;
        if let Some(key) = key {
            apply_key(&conn, key)?;
        }
        // Reading page 1 proves the key before anything is written.
        let verified = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        });
        match verified {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => {
                return Err(CacheError::WrongKey {
                    db_path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(e.into()),
        }
        schema::check_not_newer(&conn, path)?;

        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Every query of the crate stays prepared (the default keeps 16).
        conn.set_prepared_statement_cache_capacity(64);
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(CacheError::corrupt(format!(
                "the file refused write-ahead logging (journal mode {mode})"
            )));
        }
        // FULL: a write the person saw as saved survives a power cut (WAL + NORMAL may lose
        // the last commits).
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "cache_size", -CACHE_SIZE_KIB)?;
        conn.pragma_update(None, "temp_store", "MEMORY")?;
        // Deleted or shrunk rows are overwritten, not left in free space: turning learning
        // support off must delete the records from the (decrypted) file too.
        conn.pragma_update(None, "secure_delete", "ON")?;

        schema::migrate(&mut conn, target)?;
        let changes = crate::changes::Tracker::install(&mut conn)?;
        // Now that SQLite, SQLCipher and OpenSSL have each registered their own exit handlers.
        exit_gate::install();
        Ok(Cache {
            conn: Mutex::new(Some(conn)),
            path: path.to_path_buf(),
            encrypted: key.is_some(),
            changes,
        })
    }

    /// Deletes the cache of `data_dir` (with its `-wal` and `-shm` files) and its key. See
    /// [`reset`].
    pub fn reset(data_dir: &Path, keychain: &Keychain) -> Result<()> {
        reset(data_dir, keychain)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// False only for a cache opened with [`Cache::open_plain`].
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// Calls `listener` with every transaction committed through this `Cache`, on the thread
    /// that committed it and while the cache is locked: it must be quick and must not call
    /// the cache (send the batch on).
    pub fn on_change(&self, listener: impl Fn(&crate::ChangeBatch) + Send + Sync + 'static) {
        self.changes.subscribe(Box::new(listener));
    }

    /// SQLite's `data_version`: it moves when ANOTHER connection (another process on the same
    /// file) commits, never for our own writes — the cheap way to notice the CLI's changes
    /// while the app is open.
    pub fn data_version(&self) -> Result<i64> {
        Ok(self
            .lock()
            .query_row("PRAGMA data_version", [], |r| r.get(0))?)
    }

    /// The file's layout version (equal to [`crate::SCHEMA_VERSION`] once opened normally).
    pub fn schema_version(&self) -> Result<u32> {
        schema::user_version(&self.lock())
    }

    /// Runs `f` in one IMMEDIATE transaction: committed if `f` returns `Ok`, rolled back
    /// otherwise (and on panic). Use it for writes that must land together, such as a page of
    /// rows and the cursor after it.
    ///
    /// Inside `f`, use only the [`CacheTx`] handed in: calling a `Cache` method there would
    /// wait forever for the lock `f` is running under.
    pub fn with_transaction<T>(&self, f: impl FnOnce(&CacheTx<'_>) -> Result<T>) -> Result<T> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&CacheTx { conn: &tx })?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs read-only `f` with the reads of [`CacheTx`], outside any transaction.
    pub(crate) fn read_tx<T>(&self, f: impl FnOnce(&CacheTx<'_>) -> Result<T>) -> Result<T> {
        let conn = self.lock();
        f(&CacheTx { conn: &conn })
    }

    /// Runs read-only `f` on the connection.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        f(&self.lock())
    }

    fn lock(&self) -> InUse<'_> {
        let gate = exit_gate::enter();
        // A panic inside `with_transaction` rolled its transaction back while unwinding, so
        // the connection is still sound.
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        InUse { conn, _gate: gate }
    }
}

impl Drop for Cache {
    fn drop(&mut self) {
        let _gate = exit_gate::enter();
        let conn = self
            .conn
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        drop(conn);
    }
}

/// The connection, locked, and the exit gate held while it is used.
struct InUse<'a> {
    // Fields drop in order: the connection's lock before the gate.
    conn: MutexGuard<'a, Option<Connection>>,
    _gate: exit_gate::Entered,
}

impl std::ops::Deref for InUse<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the connection is closed only when the cache is dropped")
    }
}

impl std::ops::DerefMut for InUse<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("the connection is closed only when the cache is dropped")
    }
}

/// The writes (and the reads writers need) of one open transaction; see
/// [`Cache::with_transaction`].
pub struct CacheTx<'a> {
    pub(crate) conn: &'a Connection,
}

/// Deletes the cache of `data_dir` (`schooldesk.db` with its `-wal`, `-shm` and `-journal`
/// files) and then its key in the keychain, together: a key without its file is harmless and
/// is reused, a file without its key could never be read again. Asking the person first is the
/// caller's job; every `Cache` on the directory must be dropped before. Secrets stored with
/// [`Keychain::set_secret`] are kept.
pub fn reset(data_dir: &Path, keychain: &Keychain) -> Result<()> {
    let db = Cache::db_path(data_dir);
    // Not between another process's reading of the key and its creating of the file, which
    // would leave a file whose key was just deleted. The lock file itself stays: deleting it
    // could let two openers lock two different files.
    let _open = if data_dir.is_dir() {
        Some(OpenLock::acquire(data_dir)?)
    } else {
        None
    };
    for suffix in ["-wal", "-shm", "-journal", ""] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        let file = PathBuf::from(name);
        match std::fs::remove_file(&file) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CacheError::io(file, e)),
        }
    }
    keychain.delete_cache_key()
}

/// The lock file beside the cache that serialises opening it across processes.
const OPEN_LOCK_FILE: &str = "open.lock";

/// An exclusive OS lock on `<data dir>/open.lock`, released when dropped (or when the
/// process dies). Held only while the cache is being opened, never while it is in use.
struct OpenLock(std::fs::File);

impl OpenLock {
    fn acquire(data_dir: &Path) -> Result<OpenLock> {
        let path = data_dir.join(OPEN_LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| CacheError::io(&path, e))?;
        // Blocking: the holder is only reading the keychain and creating or migrating the
        // file, and a second opener must wait for that key rather than make its own.
        file.lock().map_err(|e| CacheError::io(&path, e))?;
        Ok(OpenLock(file))
    }
}

impl Drop for OpenLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

/// Whether the cache file (or its write-ahead log) holds anything: an empty file left by a
/// crash during creation holds nothing that a new key could lose.
fn holds_data(db: &Path) -> Result<bool> {
    let mut wal = db.to_path_buf().into_os_string();
    wal.push("-wal");
    for file in [db.to_path_buf(), PathBuf::from(wal)] {
        match std::fs::metadata(&file) {
            Ok(meta) if meta.len() > 0 => return Ok(true),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(CacheError::io(file, e)),
        }
    }
    Ok(false)
}

#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // Encrypted anyway; still, nobody else on the machine needs to read it.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| CacheError::io(path, e))
}

#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<()> {
    Ok(())
}
