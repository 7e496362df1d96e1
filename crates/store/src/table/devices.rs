use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::{params, Connection, OptionalExtension, Row};
use telltale_model::{Device, DeviceId, Transport};

pub static MIGRATIONS: &[Migration] = &[
    Migration::sql(
        1,
        "CREATE TABLE devices (
        id TEXT PRIMARY KEY NOT NULL,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        transport TEXT NOT NULL,
        site TEXT NOT NULL,
        expected_interval_ms INTEGER NOT NULL
    ) WITHOUT ROWID;",
    ),
    // People's labels, comma-separated (tags never contain commas).
    Migration::sql(
        10,
        "ALTER TABLE devices ADD COLUMN tags TEXT NOT NULL DEFAULT '';",
    ),
];

const COLUMNS: &str = "id, name, kind, transport, site, expected_interval_ms, tags";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Device> {
    let transport: String = row.get(3)?;
    Ok(Device {
        id: DeviceId(row.get(0)?),
        name: row.get(1)?,
        kind: row.get(2)?,
        // Only this crate writes the column, but an unknown value must not poison every read.
        transport: Transport::parse(&transport).unwrap_or(Transport::Mqtt),
        site: row.get(4)?,
        expected_interval_ms: row.get(5)?,
        tags: row
            .get::<_, String>(6)?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
    })
}

/// Inserts or refreshes a device's description. A source re-announces its devices on every
/// start; the newest description wins.
pub fn upsert(conn: &Connection, d: &Device) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO devices (id, name, kind, transport, site, expected_interval_ms, tags)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
            transport = excluded.transport, site = excluded.site,
            expected_interval_ms = excluded.expected_interval_ms",
    )?
    .execute(params![
        d.id.0,
        d.name,
        d.kind,
        d.transport.as_str(),
        d.site,
        d.expected_interval_ms,
        d.tags.join(",")
    ])?;
    Ok(())
}

/// Makes sure a device row exists for a reading from a device no source described (an MQTT topic
/// that appeared on its own): it gets its id as name until someone renames it.
pub fn ensure(conn: &Connection, id: &DeviceId, transport: Transport) -> Result<()> {
    conn.prepare_cached(
        "INSERT OR IGNORE INTO devices (id, name, kind, transport, site, expected_interval_ms)
         VALUES (?1, ?1, 'unknown', ?2, '', 60000)",
    )?
    .execute(params![id.0, transport.as_str()])?;
    Ok(())
}

/// Replaces a device's tags; returns whether the device exists.
pub fn set_tags(conn: &Connection, id: &DeviceId, tags: &[String]) -> Result<bool> {
    let n = conn
        .prepare_cached("UPDATE devices SET tags = ?2 WHERE id = ?1")?
        .execute(params![id.0, tags.join(",")])?;
    Ok(n > 0)
}

/// Deletes a device; its series, chunks, readings and rollups go with it (ON DELETE CASCADE).
/// Returns whether the device existed.
pub fn delete(conn: &Connection, id: &DeviceId) -> Result<bool> {
    let n = conn
        .prepare_cached("DELETE FROM devices WHERE id = ?1")?
        .execute([&id.0])?;
    Ok(n > 0)
}

pub fn all(conn: &Connection) -> Result<Vec<Device>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM devices ORDER BY site, name, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn get(conn: &Connection, id: &DeviceId) -> Result<Option<Device>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM devices WHERE id = ?1"))?;
    Ok(stmt.query_row([&id.0], from_row).optional()?)
}
