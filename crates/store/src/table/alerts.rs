//! Alert state and history. The saved state is the alert engine's own document (JSON), kept in
//! the same single-writer, crash-safe way as readings, so an alert's running on-delay,
//! acknowledgement or shelving survives a restart. Every transition is on record, one typed
//! column per field of an [`AlertRecord`].

use crate::error::Result;
use crate::migrate::Migration;
use rusqlite::types::Type;
use rusqlite::{params, Connection, Row};
use telltale_model::alert::{AlertEvent, AlertId, AlertRecord, AlertState, Severity};
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
    // Transitions in typed columns (they were the UI's record as a JSON document). Every row
    // moves; the few the previous reader could not read (not JSON, or without a rule, metric
    // or event) were never shown and are left behind. An event other than the five words
    // (`from → to`) is `changed`, its states beside it.
    Migration::sql(
        17,
        "CREATE TABLE alert_history (
            id INTEGER PRIMARY KEY,
            ts_ms INTEGER NOT NULL,
            rule TEXT NOT NULL,
            device TEXT NOT NULL,
            metric TEXT NOT NULL,
            device_name TEXT,
            event TEXT NOT NULL CHECK (event IN
                ('raised', 'cleared', 'acknowledged', 'shelved', 'unshelved', 'changed')),
            from_state TEXT CHECK (from_state IN
                ('inactive', 'active_unacked', 'active_acked', 'cleared_unacked')),
            to_state TEXT CHECK (to_state IN
                ('inactive', 'active_unacked', 'active_acked', 'cleared_unacked')),
            value REAL,
            by_person TEXT,
            severity TEXT CHECK (severity IN ('info', 'warning', 'critical')),
            shelved_until_ms INTEGER,
            note TEXT,
            CHECK (event <> 'changed' OR (from_state IS NOT NULL AND to_state IS NOT NULL))
        );
        INSERT INTO alert_history (id, ts_ms, rule, device, metric, device_name, event,
            from_state, to_state, value, by_person, severity, shelved_until_ms, note)
        SELECT id, ts_ms, rule, device, metric, device_name,
            CASE WHEN instr(event, ' → ') > 0 THEN 'changed' ELSE event END,
            from_state, to_state, value, by_person, severity, shelved_until_ms, note
        FROM (SELECT id, ts_ms, device,
                  record ->> '$.id.rule' AS rule,
                  record ->> '$.id.metric' AS metric,
                  record ->> '$.device_name' AS device_name,
                  record ->> '$.event' AS event,
                  record ->> '$.from' AS from_state,
                  record ->> '$.to' AS to_state,
                  record ->> '$.value' AS value,
                  record ->> '$.by' AS by_person,
                  record ->> '$.severity' AS severity,
                  record ->> '$.shelved_until_ms' AS shelved_until_ms,
                  record ->> '$.note' AS note
              FROM alert_transitions WHERE json_valid(record))
        WHERE rule IS NOT NULL AND metric IS NOT NULL AND event IS NOT NULL;
        DROP TABLE alert_transitions;
        ALTER TABLE alert_history RENAME TO alert_transitions;
        CREATE INDEX alert_transitions_by_time ON alert_transitions (ts_ms);
        CREATE INDEX alert_transitions_by_device ON alert_transitions (device, ts_ms);",
    ),
];

/// What one evaluation step changed: transitions to append, states to save (`Some`) or drop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlertWrite {
    pub transitions: Vec<AlertRecord>,
    pub states: Vec<(String, Option<String>)>,
    pub now_ms: TimestampMs,
}

pub fn apply(conn: &Connection, w: &AlertWrite) -> Result<()> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO alert_transitions (ts_ms, rule, device, metric, device_name, event,
             from_state, to_state, value, by_person, severity, shelved_until_ms, note)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for r in &w.transitions {
        insert.execute(params![
            r.ts_ms,
            r.id.rule,
            r.id.device,
            r.id.metric,
            r.device_name,
            r.event.word(),
            r.from.map(AlertState::as_str),
            r.to.map(AlertState::as_str),
            r.value,
            r.by,
            r.severity.map(Severity::as_str),
            r.shelved_until_ms,
            r.note,
        ])?;
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
) -> Result<Vec<AlertRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT ts_ms, rule, device, metric, device_name, event, from_state, to_state, value,
             by_person, severity, shelved_until_ms, note
         FROM alert_transitions
         WHERE ts_ms BETWEEN ?1 AND ?2 AND (?3 IS NULL OR device = ?3)
         ORDER BY ts_ms DESC, id DESC LIMIT ?4",
    )?;
    let rows = stmt
        .query_map(params![from_ms, to_ms, device, limit], record)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

fn record(r: &Row<'_>) -> rusqlite::Result<AlertRecord> {
    let from = word(r, 6, AlertState::parse)?;
    let to = word(r, 7, AlertState::parse)?;
    let event = word(r, 5, |w| AlertEvent::from_word(w, from, to))?
        .ok_or_else(|| rusqlite::Error::InvalidColumnType(5, "event".into(), Type::Null))?;
    Ok(AlertRecord {
        ts_ms: r.get(0)?,
        id: AlertId {
            rule: r.get(1)?,
            device: r.get(2)?,
            metric: r.get(3)?,
        },
        device_name: r.get(4)?,
        event,
        from,
        to,
        value: r.get(8)?,
        by: r.get(9)?,
        severity: word(r, 10, Severity::parse)?,
        shelved_until_ms: r.get(11)?,
        note: r.get(12)?,
    })
}

/// Column `i`: NULL, or one of the words `parse` knows.
fn word<T>(
    r: &Row<'_>,
    i: usize,
    parse: impl FnOnce(&str) -> Option<T>,
) -> rusqlite::Result<Option<T>> {
    let Some(text) = r.get::<_, Option<String>>(i)? else {
        return Ok(None);
    };
    parse(&text).map(Some).ok_or_else(|| {
        let why = format!("not a word of this column: {text:?}");
        rusqlite::Error::FromSqlConversionFailure(i, Type::Text, why.into())
    })
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
