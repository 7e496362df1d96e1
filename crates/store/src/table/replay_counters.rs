//! The newest accepted counter of each device that encrypts its advertisements (BTHome,
//! Xiaomi). Kept so that a frame recorded before a restart of the app cannot be played back
//! after it: the counter outlives the process, as the readings it guards do. It goes with its
//! device when the device is forgotten.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection, OptionalExtension};
use telltale_model::{DeviceId, TimestampMs};

pub static MIGRATIONS: &[Migration] = &[
    Migration::sql(
        12,
        "CREATE TABLE replay_counters (
            device TEXT PRIMARY KEY NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
            counter INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL
        ) WITHOUT ROWID;",
    ),
    // Each accepted restart of the count (a reboot, or a replay that looked like one) is
    // counted, so that it stays visible on the device's row after the app restarts.
    Migration::sql(
        14,
        "ALTER TABLE replay_counters ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE replay_counters ADD COLUMN last_restart_ms INTEGER;",
    ),
];

/// A device's counter as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterRecord {
    /// The newest accepted counter.
    pub counter: u32,
    /// How many times its count was accepted as restarted, and when last.
    pub restarts: u32,
    pub last_restart_ms: Option<TimestampMs>,
}

/// Records a device's newest accepted counter (the device row must exist), counting a restart
/// when the count restarted at this frame.
pub fn put(
    conn: &Connection,
    device: &DeviceId,
    counter: u32,
    now_ms: TimestampMs,
    restarted: bool,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO replay_counters (device, counter, updated_ms, restarts, last_restart_ms)
         VALUES (?1, ?2, ?3, ?4, CASE WHEN ?4 = 1 THEN ?3 END)
         ON CONFLICT (device) DO UPDATE SET counter = excluded.counter,
             updated_ms = excluded.updated_ms,
             restarts = replay_counters.restarts + excluded.restarts,
             last_restart_ms = COALESCE(excluded.last_restart_ms, replay_counters.last_restart_ms)",
    )?
    .execute(params![device.0, counter, now_ms, i64::from(restarted)])?;
    Ok(())
}

pub fn get(conn: &Connection, device: &DeviceId) -> Result<Option<CounterRecord>> {
    Ok(conn
        .prepare_cached(
            "SELECT counter, restarts, last_restart_ms FROM replay_counters WHERE device = ?1",
        )?
        .query_row([&device.0], |row| {
            Ok(CounterRecord {
                counter: row.get(0)?,
                restarts: row.get(1)?,
                last_restart_ms: row.get(2)?,
            })
        })
        .optional()?)
}
