//! The newest accepted counter of each device that encrypts its advertisements (BTHome,
//! Xiaomi). Kept so that a frame recorded before a restart of the app cannot be played back
//! after it: the counter outlives the process, as the readings it guards do. It goes with its
//! device when the device is forgotten.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection, OptionalExtension};
use telltale_model::{DeviceId, TimestampMs};

pub static MIGRATIONS: &[Migration] = &[Migration::sql(
    12,
    "CREATE TABLE replay_counters (
        device TEXT PRIMARY KEY NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        counter INTEGER NOT NULL,
        updated_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
)];

/// Records a device's newest accepted counter (the device row must exist).
pub fn put(conn: &Connection, device: &DeviceId, counter: u32, now_ms: TimestampMs) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO replay_counters (device, counter, updated_ms) VALUES (?1, ?2, ?3)
         ON CONFLICT (device) DO UPDATE SET counter = excluded.counter,
             updated_ms = excluded.updated_ms",
    )?
    .execute(params![device.0, counter, now_ms])?;
    Ok(())
}

pub fn get(conn: &Connection, device: &DeviceId) -> Result<Option<u32>> {
    Ok(conn
        .prepare_cached("SELECT counter FROM replay_counters WHERE device = ?1")?
        .query_row([&device.0], |row| row.get(0))
        .optional()?)
}
