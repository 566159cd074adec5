//! The system keychain (macOS Keychain, Windows Credential Manager, the Secret Service on
//! Linux), holding the cache key and the school systems' secrets — never the data folder.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{CacheError, KeychainProblem, Result};

/// The service name every Schooldesk keychain entry is filed under.
pub const SERVICE: &str = "schooldesk";

/// The Secret Service (D-Bus) and Windows' credential store misbehave when called from several
/// threads at once (see the keyring crate's caveats); keychain calls are rare, so one lock for
/// the whole process costs nothing and removes that failure.
static KEYCHAIN_CALLS: Mutex<()> = Mutex::new(());

/// The 256-bit key of the SQLCipher cache. Wiped from memory when dropped; `Debug` never
/// shows it.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CacheKey([u8; CacheKey::LEN]);

impl CacheKey {
    pub const LEN: usize = 32;

    /// A fresh random key. Pass a cryptographic generator (`rand::rngs::OsRng`).
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> CacheKey {
        let mut key = CacheKey([0; Self::LEN]);
        rng.fill_bytes(&mut key.0);
        key
    }

    /// Reads the 64-hex-digit form the keychain stores.
    pub fn from_hex(hex_key: &str) -> Option<CacheKey> {
        let mut key = CacheKey([0; Self::LEN]);
        hex::decode_to_slice(hex_key.trim(), &mut key.0).ok()?;
        Some(key)
    }

    /// The 64-hex-digit form, wiped when dropped.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0))
    }

    pub fn as_bytes(&self) -> &[u8; Self::LEN] {
        &self.0
    }
}

impl fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CacheKey(<hidden>)")
    }
}

impl PartialEq for CacheKey {
    fn eq(&self, other: &Self) -> bool {
        // Not secret-timing sensitive here (both sides are ours), but avoid early exit anyway.
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl Eq for CacheKey {}

/// Keychain entries for one data directory.
///
/// Every account name ends in `@<hash of the canonical data directory>`, so two data
/// directories (two test runs, a demo folder beside the real one) never read or delete each
/// other's entries. Moving the data directory therefore orphans its key: the cache then
/// reports [`CacheError::KeyMissing`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keychain {
    data_dir: PathBuf,
    scope: String,
}

impl Keychain {
    /// Entries for `data_dir`. The directory need not exist yet: the part that exists is
    /// resolved (symlinks, `..`) and the rest appended, so the scope stays the same once the
    /// directory is created.
    pub fn for_data_dir(data_dir: &Path) -> Keychain {
        let canonical = canonical_path(data_dir);
        let digest = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
        Keychain {
            scope: hex::encode(&digest[..8]),
            data_dir: canonical,
        }
    }

    /// The data directory these entries belong to, as resolved.
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The short hash that ends every account name.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// The keychain account name of the cache key.
    pub fn cache_key_account(&self) -> String {
        format!("cache-key@{}", self.scope)
    }

    /// The keychain account name of the secret `name`.
    pub fn secret_account(&self, name: &str) -> String {
        format!("secret:{name}@{}", self.scope)
    }

    /// The cache key, if one was created for this data directory.
    pub fn get_cache_key(&self) -> Result<Option<CacheKey>> {
        let Some(stored) = self.get(&self.cache_key_account())? else {
            return Ok(None);
        };
        CacheKey::from_hex(&stored)
            .map(Some)
            .ok_or_else(|| CacheError::Keychain {
                problem: KeychainProblem::Unreadable,
                detail: format!(
                    "the entry '{}' of service '{SERVICE}' is not a 64-hex-digit key",
                    self.cache_key_account()
                ),
            })
    }

    /// Creates a random 256-bit key, stores it (as hex) and reads it back: a keychain that
    /// silently drops writes would otherwise leave a cache nobody can open next time.
    pub fn create_cache_key<R: RngCore + CryptoRng>(&self, rng: &mut R) -> Result<CacheKey> {
        let key = CacheKey::generate(rng);
        self.set(&self.cache_key_account(), &key.to_hex())?;
        match self.get_cache_key()? {
            Some(stored) if stored == key => Ok(key),
            _ => Err(CacheError::Keychain {
                problem: KeychainProblem::Rejected,
                detail: "the keychain accepted the new cache key but did not return it".into(),
            }),
        }
    }

    /// Removes the cache key; succeeds if there was none.
    pub fn delete_cache_key(&self) -> Result<()> {
        self.delete(&self.cache_key_account())
    }

    /// Stores a secret (an API key, a client secret) under `name`, replacing any earlier one.
    pub fn set_secret(&self, name: &str, value: &str) -> Result<()> {
        check_name(name)?;
        self.set(&self.secret_account(name), value)
    }

    /// The secret stored under `name`, wiped from memory when dropped.
    pub fn get_secret(&self, name: &str) -> Result<Option<Zeroizing<String>>> {
        check_name(name)?;
        self.get(&self.secret_account(name))
    }

    /// Removes the secret `name`; succeeds if there was none.
    pub fn delete_secret(&self, name: &str) -> Result<()> {
        check_name(name)?;
        self.delete(&self.secret_account(name))
    }

    fn entry(account: &str) -> Result<keyring::Entry> {
        Ok(keyring::Entry::new(SERVICE, account)?)
    }

    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>> {
        let _serial = lock();
        let entry = Self::entry(account)?;
        match with_retry(|| entry.get_password()) {
            Ok(value) => Ok(Some(Zeroizing::new(value))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn set(&self, account: &str, value: &str) -> Result<()> {
        let _serial = lock();
        let entry = Self::entry(account)?;
        Ok(with_retry(|| entry.set_password(value))?)
    }

    fn delete(&self, account: &str) -> Result<()> {
        let _serial = lock();
        let entry = Self::entry(account)?;
        match with_retry(|| entry.delete_credential()) {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// How often a keychain call is tried when the keychain service drops it, and the first
/// pause between tries (doubled each time).
const KEYCHAIN_TRIES: u32 = 3;
const KEYCHAIN_PAUSE: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs a keychain call again when the service dropped it mid-call. gnome-keyring aborts
/// when another client leaves while it answers, and the session bus starts it again on the
/// next call; reading, storing and deleting an entry are safe to repeat. Other errors (no
/// entry, a locked keychain) are answers, returned at once.
fn with_retry<T>(mut call: impl FnMut() -> keyring::Result<T>) -> keyring::Result<T> {
    let mut tried = 1;
    loop {
        match call() {
            Err(keyring::Error::PlatformFailure(_)) if tried < KEYCHAIN_TRIES => {
                std::thread::sleep(KEYCHAIN_PAUSE * 2u32.pow(tried - 1));
                tried += 1;
            }
            answer => return answer,
        }
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    KEYCHAIN_CALLS.lock().unwrap_or_else(|e| e.into_inner())
}

fn check_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(CacheError::InvalidInput(
            "A keychain secret needs a name.".into(),
        ));
    }
    Ok(())
}

/// Resolves the longest existing ancestor of `path` and appends the rest, normalised.
fn canonical_path(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(resolved) = std::fs::canonicalize(existing) {
            let mut out = resolved;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::CurDir => {}
                    other => out.push(other.as_os_str()),
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dropped() -> keyring::Error {
        keyring::Error::PlatformFailure("Message recipient disconnected from message bus".into())
    }

    #[test]
    fn a_call_the_keychain_service_dropped_is_tried_again() {
        // REGRESSION: gnome-keyring aborting mid-reply failed a CI run's keychain call even
        // though the restarted service answered the next one.
        let mut calls = 0;
        let answer = with_retry(|| {
            calls += 1;
            if calls < 3 {
                Err(dropped())
            } else {
                Ok("key")
            }
        });
        assert_eq!(answer.unwrap(), "key");
        assert_eq!(calls, 3);
    }

    #[test]
    fn answers_are_not_retried_and_a_service_that_stays_away_is_reported() {
        let mut calls = 0;
        let answer: keyring::Result<()> = with_retry(|| {
            calls += 1;
            Err(keyring::Error::NoEntry)
        });
        assert!(matches!(answer, Err(keyring::Error::NoEntry)));
        assert_eq!(calls, 1);

        let mut calls = 0;
        let answer: keyring::Result<()> = with_retry(|| {
            calls += 1;
            Err(dropped())
        });
        assert!(matches!(answer, Err(keyring::Error::PlatformFailure(_))));
        assert_eq!(calls, KEYCHAIN_TRIES);
    }

    #[test]
    fn key_debug_hides_the_key_and_hex_round_trips() {
        let key = CacheKey([0xAB; CacheKey::LEN]);
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("abab"), "{shown}");
        assert_eq!(CacheKey::from_hex(&key.to_hex()), Some(key));
        assert_eq!(CacheKey::from_hex("abcd"), None);
        assert_eq!(CacheKey::from_hex(&"zz".repeat(32)), None);
    }

    #[test]
    fn scope_is_stable_before_and_after_the_directory_exists() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("data").join("nested");
        let before = Keychain::for_data_dir(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let after = Keychain::for_data_dir(&dir);
        assert_eq!(before, after);
        let via_dots = Keychain::for_data_dir(&tmp.path().join("data/other/../nested"));
        assert_eq!(after.scope(), via_dots.scope());
        let other = Keychain::for_data_dir(&tmp.path().join("data"));
        assert_ne!(after.scope(), other.scope());
        assert_eq!(after.scope().len(), 16);
        assert!(after.cache_key_account().starts_with("cache-key@"));
        assert_eq!(
            after.secret_account("omniforge.api_key"),
            format!("secret:omniforge.api_key@{}", after.scope())
        );
    }
}
