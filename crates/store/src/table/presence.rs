//! What a device's source last declared about it: gone (a Sparkplug NDEATH/DDEATH, an MQTT last
//! will or availability topic) or back. Kept so that a reader of the database (`telltale
//! devices`, the app after a restart) sees what the collector's status board saw. A device that
//! no source ever declared has no row: whether it is current is judged from its last reading.
//! The row goes with its device when the device is forgotten.

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection};
use telltale_model::{DeviceId, TimestampMs};

pub static MIGRATIONS: &[Migration] = &[Migration::sql(
    13,
    // offline_since_ms NULL = declared back online, at changed_ms.
    "CREATE TABLE presence (
        device TEXT PRIMARY KEY NOT NULL REFERENCES devices (id) ON DELETE CASCADE,
        offline_since_ms INTEGER,
        changed_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
)];

/// A device's declared presence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceRow {
    pub device: DeviceId,
    /// When its source declared it gone; None once declared back online.
    pub offline_since_ms: Option<TimestampMs>,
    /// When the declaration now standing was made (for an offline device, `offline_since_ms`).
    pub changed_ms: TimestampMs,
}

/// Records that a device was declared offline since `offline_since` (Some) or back online
/// (None) at `at_ms`; the device row must exist. Saying the same again changes nothing, so a
/// retained last will received at every reconnect keeps the time the device first went away.
/// Returns whether the declared state changed.
pub fn set(
    conn: &Connection,
    device: &DeviceId,
    offline_since: Option<TimestampMs>,
    at_ms: TimestampMs,
) -> Result<bool> {
    let changed_ms = offline_since.unwrap_or(at_ms);
    let n = conn
        .prepare_cached(
            "INSERT INTO presence (device, offline_since_ms, changed_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (device) DO UPDATE SET offline_since_ms = excluded.offline_since_ms,
                 changed_ms = excluded.changed_ms
             WHERE (presence.offline_since_ms IS NULL) <> (excluded.offline_since_ms IS NULL)",
        )?
        .execute(params![device.0, offline_since, changed_ms])?;
    Ok(n > 0)
}

/// Every declared presence, by device id.
pub fn all(conn: &Connection) -> Result<Vec<PresenceRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT device, offline_since_ms, changed_ms FROM presence ORDER BY device",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(PresenceRow {
            device: DeviceId(r.get(0)?),
            offline_since_ms: r.get(1)?,
            changed_ms: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
