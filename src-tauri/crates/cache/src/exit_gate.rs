//! Keeps SQLCipher's exit from pulling its state out from under a running call.
//!
//! When the process exits, SQLCipher tears down its global state (its private heap, mutexes
//! and crypto provider) from an `atexit` handler and a destructor, while other threads may
//! still be inside a cache call: CI saw a test binary end in a segfault as it exited while the
//! demo district's sync was still writing (OpenSSL's own exit handler had freed its locks under
//! a page being encrypted). Every use of a connection goes through this gate. An exit handler
//! registered after SQLCipher's and OpenSSL's, so it runs before them, shuts the gate and waits
//! for the calls in flight, so nothing is inside SQLCipher while they shut down.

#![allow(unsafe_code)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Once;
use std::time::{Duration, Instant};

/// Set when the process starts exiting: from then on nobody enters.
static CLOSING: AtomicBool = AtomicBool::new(false);
/// Calls in flight.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static HOOK: Once = Once::new();

/// How long the exit waits for calls in flight; a thread that exits from inside a cache call
/// must not hang the exit.
const EXIT_WAIT: Duration = Duration::from_secs(2);

/// A call in flight; it ends when this is dropped.
pub(crate) struct Entered(());

impl Drop for Entered {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, SeqCst);
    }
}

/// Held for as long as a connection is in use. Once the process is exiting it never returns:
/// the thread waits for the exit instead of entering SQLCipher.
pub(crate) fn enter() -> Entered {
    loop {
        if CLOSING.load(SeqCst) {
            loop {
                std::thread::park();
            }
        }
        ACTIVE.fetch_add(1, SeqCst);
        if !CLOSING.load(SeqCst) {
            return Entered(());
        }
        ACTIVE.fetch_sub(1, SeqCst);
    }
}

/// Registers the exit handler once. Call it once a cache is open and keyed: SQLCipher registers
/// its handler when SQLite first initialises and OpenSSL its own when a key is first used, and
/// handlers run last-in first.
pub(crate) fn install() {
    HOOK.call_once(|| {
        // SAFETY: `shut` is an `extern "C"` function with no arguments, as `atexit` expects,
        // and lives for the whole program.
        unsafe {
            libc::atexit(shut);
        }
    });
}

/// Shuts the gate, then waits (boundedly) for the calls in flight. Readers keep coming while
/// a lock is merely tried, so the gate is a flag rather than a lock.
extern "C" fn shut() {
    CLOSING.store(true, SeqCst);
    let deadline = Instant::now() + EXIT_WAIT;
    while ACTIVE.load(SeqCst) > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}
