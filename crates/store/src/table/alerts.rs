//! Alert state and history. The alert engine owns their shape (JSON documents); the store keeps
//! them in the same single-writer, crash-safe way as readings, so an alert's running on-delay,
//! acknowledgement or shelving survives a restart, and every transition is on record.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection};
use telltale_model::TimestampMs;

pub static MIGRATIONS: &[Migration] = &[
    Migration::sql(
    9,
    "CREATE TABLE alert_states (
        key TEXT PRIMARY KEY NOT NULL,
        state TEXT NOT NULL,
        updated_ms INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE alert_transitions (
        id INTEGER PRIMARY KEY,
        ts_ms INTEGER NOT NULL,
        device TEXT NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX alert_transitions_by_time ON alert_transitions (ts_ms);
    CREATE INDEX alert_transitions_by_device ON alert_transitions (device, ts_ms);",
    ),
    // Alerts are kept by device id since this version (they were kept by device name): each
    // recorded transition of a name that names exactly one device becomes that device's, its
    // name kept beside it. (In an UPDATE, every expression sees the row as it was.)
    Migration::sql(
        15,
        "UPDATE alert_transitions
         SET device = (SELECT d.id FROM devices d WHERE d.name = alert_transitions.device),
             record = json_set(
                 record,
                 '$.id.device', (SELECT d.id FROM devices d WHERE d.name = alert_transitions.device),
                 '$.device_name', alert_transitions.device)
         WHERE (SELECT count(*) FROM devices d WHERE d.name = alert_transitions.device) = 1
           AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = alert_transitions.device);",
    ),
];

/// One transition to record: when, which device (for filtering), and the engine's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionRow {
    pub ts_ms: TimestampMs,
    pub device: String,
    pub record: String,
}

/// What one evaluation step changed: transitions to append, states to save (`Some`) or drop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlertWrite {
    pub transitions: Vec<TransitionRow>,
    pub states: Vec<(String, Option<String>)>,
    pub now_ms: TimestampMs,
}

pub fn apply(conn: &Connection, w: &AlertWrite) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO alert_transitions (ts_ms, device, record) VALUES (?1, ?2, ?3)",
    )?;
    for t in &w.transitions {
        insert.execute(params![t.ts_ms, t.device, t.record])?;
    }
    let mut put = conn.prepare_cached(
        "INSERT INTO alert_states (key, state, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT(key) DO UPDATE SET state = excluded.state, updated_ms = excluded.updated_ms",
    )?;
    let mut drop = conn.prepare_cached("DELETE FROM alert_states WHERE key = ?1")?;
    for (key, state) in &w.states {
        match state {
            Some(json) => put.execute(params![key, json, w.now_ms])?,
            None => drop.execute([key])?,
        };
    }
    Ok(())
}

/// Every saved alert state, by key.
pub fn states(conn: &Connection) -> Result<Vec<(String, String)>> {
    let mut stmt = conn.prepare_cached("SELECT key, state FROM alert_states ORDER BY key")?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Transitions in [from, to], newest first, at most `limit`, optionally of one device.
pub fn transitions(
    conn: &Connection,
    from_ms: TimestampMs,
    to_ms: TimestampMs,
    device: Option<&str>,
    limit: u32,
) -> Result<Vec<(TimestampMs, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts_ms, record FROM alert_transitions
         WHERE ts_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR device = ?3)
         ORDER BY ts_ms DESC, id DESC LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(params![from_ms, to_ms, device, limit], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// Deletes transitions older than `before_ms`, at most `limit` rows; returns how many.
pub fn prune(conn: &Connection, before_ms: TimestampMs, limit: i64) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "DELETE FROM alert_transitions WHERE id IN
             (SELECT id FROM alert_transitions WHERE ts_ms < ?1 ORDER BY ts_ms LIMIT ?2)",
        )?
        .execute(params![before_ms, limit])?)
}
