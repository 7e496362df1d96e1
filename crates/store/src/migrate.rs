//! Versioned schema migrations. Each table's module owns the steps that create and change it;
//! this module only orders them and records progress in `PRAGMA user_version`.

use crate::error::{Result, StoreError};
use crate::table;
use rusqlite::Connection;

/// One schema step: applied exactly once, in one transaction with every other pending step.
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// All steps of all tables, in version order. A new step gets the next free version number.
fn all() -> Vec<&'static Migration> {
    let mut steps: Vec<&'static Migration> = table::devices::MIGRATIONS
        .iter()
        .chain(table::series::MIGRATIONS)
        .chain(table::readings::MIGRATIONS)
        .collect();
    steps.sort_by_key(|m| m.version);
    steps
}

/// The schema version this build writes.
pub fn supported_version() -> i64 {
    all().last().map_or(0, |m| m.version)
}

/// Brings the database up to this build's schema, or refuses one written by a newer build.
pub fn run(conn: &mut Connection) -> Result<()> {
    let found: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = supported_version();
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported });
    }
    let tx = conn.transaction()?;
    for step in all().into_iter().filter(|m| m.version > found) {
        tx.execute_batch(step.sql)?;
        tracing::info!(version = step.version, "applied schema migration");
    }
    tx.pragma_update(None, "user_version", supported)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_unique_and_dense() {
        let versions: Vec<i64> = all().iter().map(|m| m.version).collect();
        let expected: Vec<i64> = (1..=versions.len() as i64).collect();
        assert_eq!(
            versions, expected,
            "every migration needs its own next version"
        );
    }

    #[test]
    fn each_prefix_of_the_history_upgrades_to_the_latest() {
        // A user may hold a database from any earlier release: replay every starting point.
        for start in 0..=supported_version() {
            let mut conn = Connection::open_in_memory().unwrap();
            let tx = conn.transaction().unwrap();
            for step in all().into_iter().filter(|m| m.version <= start) {
                tx.execute_batch(step.sql).unwrap();
            }
            tx.pragma_update(None, "user_version", start).unwrap();
            tx.commit().unwrap();
            run(&mut conn).unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, supported_version());
            run(&mut conn).expect("running again is a no-op");
        }
    }

    #[test]
    fn refuses_a_newer_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", supported_version() + 1)
            .unwrap();
        match run(&mut conn) {
            Err(StoreError::NewerSchema { found, supported }) => {
                assert_eq!(found, supported_version() + 1);
                assert_eq!(supported, supported_version());
            }
            other => panic!("expected NewerSchema, got {other:?}"),
        }
    }
}
