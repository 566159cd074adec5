//! Embedded, append-only migrations over `PRAGMA user_version`.
//!
//! `rusqlite_migration` would do this, but its newest release (2.6) is built for rusqlite
//! 0.40 and cannot share a build with the 0.41 this workspace uses; the runner below is the
//! few lines of it we need.

use std::path::Path;

use rusqlite::Connection;

use crate::error::{CacheError, Result};

/// One migration: `migrations/NNNN_name.sql`, applied in one transaction with the version bump.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

/// Every migration, oldest first. Append only: a released file is never edited.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../migrations/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "engine",
        sql: include_str!("../migrations/0002_engine.sql"),
    },
    Migration {
        version: 3,
        name: "minimisation",
        sql: include_str!("../migrations/0003_minimisation.sql"),
    },
    Migration {
        version: 4,
        name: "writes",
        sql: include_str!("../migrations/0004_writes.sql"),
    },
    Migration {
        version: 5,
        name: "access_log",
        sql: include_str!("../migrations/0005_access_log.sql"),
    },
];

/// The layout version this build writes and understands.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub(crate) fn user_version(conn: &Connection) -> Result<u32> {
    let v: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    u32::try_from(v).map_err(|_| CacheError::corrupt(format!("layout version {v}")))
}

/// Refuses a file written by a newer Schooldesk before anything touches it.
pub(crate) fn check_not_newer(conn: &Connection, db_path: &Path) -> Result<u32> {
    let found = user_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(CacheError::NewerSchema {
            db_path: db_path.to_path_buf(),
            found,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Applies the migrations after the file's version, up to `target`.
pub(crate) fn migrate(conn: &mut Connection, target: u32) -> Result<u32> {
    let start = user_version(conn)?;
    let mut current = start;
    for migration in MIGRATIONS
        .iter()
        .filter(|m| m.version > start && m.version <= target)
    {
        let tx = conn.transaction()?;
        tx.execute_batch(migration.sql)?;
        tx.pragma_update(None, "user_version", migration.version)?;
        tx.commit()?;
        current = migration.version;
    }
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_one_by_one_from_one() {
        for (i, m) in MIGRATIONS.iter().enumerate() {
            assert_eq!(m.version as usize, i + 1, "{}", m.name);
            assert!(!m.sql.trim().is_empty(), "{}", m.name);
        }
        let mut files: Vec<String> =
            std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
        files.sort();
        let expected: Vec<String> = MIGRATIONS
            .iter()
            .map(|m| format!("{:04}_{}.sql", m.version, m.name))
            .collect();
        assert_eq!(
            files, expected,
            "every migrations/*.sql file must be listed, in order"
        );
    }
}
