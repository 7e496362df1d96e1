//! Sources the user configured in the app (MQTT brokers), as JSON documents keyed by kind and id.
//! The engine owns their shape; the store only keeps them. Secrets are never in them: the OS
//! keyring holds those.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection};

pub static MIGRATIONS: &[Migration] = &[Migration::sql(
    8,
    "CREATE TABLE source_configs (
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        config TEXT NOT NULL,
        updated_ms INTEGER NOT NULL,
        PRIMARY KEY (kind, id)
    ) WITHOUT ROWID;",
)];

pub fn put(conn: &Connection, kind: &str, id: &str, config: &str, now_ms: i64) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO source_configs (kind, id, config, updated_ms) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(kind, id) DO UPDATE SET config = excluded.config,
            updated_ms = excluded.updated_ms",
    )?
    .execute(params![kind, id, config, now_ms])?;
    Ok(())
}

/// Returns whether there was one to delete.
pub fn delete(conn: &Connection, kind: &str, id: &str) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM source_configs WHERE kind = ?1 AND id = ?2")?
        .execute(params![kind, id])?;
    Ok(n > 0)
}

/// (id, config) of every source of one kind, by id.
pub fn all(conn: &Connection, kind: &str) -> Result<Vec<(String, String)>> {
    let mut stmt =
        conn.prepare_cached("SELECT id, config FROM source_configs WHERE kind = ?1 ORDER BY id")?;
    let rows = stmt
        .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}
