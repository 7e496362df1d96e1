//! Versioned schema migrations. Each table's module owns the steps that create and change it;
//! this module only orders them and records progress in `PRAGMA user_version`.

use crate::error::{Result, StoreError};
use crate::table;
use rusqlite::{Connection, Transaction};

/// One schema step: applied exactly once, in one transaction with every other pending step.
pub struct Migration {
    pub version: i64,
    pub step: Step,
}

pub enum Step {
    Sql(&'static str),
    /// For changes SQL cannot express, such as re-encoding data.
    Rust(fn(&Transaction<'_>) -> Result<()>),
}

impl Migration {
    pub const fn sql(version: i64, sql: &'static str) -> Self {
        Self {
            version,
            step: Step::Sql(sql),
        }
    }
    pub const fn rust(version: i64, f: fn(&Transaction<'_>) -> Result<()>) -> Self {
        Self {
            version,
            step: Step::Rust(f),
        }
    }
    fn apply(&self, tx: &Transaction<'_>) -> Result<()> {
        match &self.step {
            Step::Sql(sql) => Ok(tx.execute_batch(sql)?),
            Step::Rust(f) => f(tx),
        }
    }
}

/// All steps of all tables, in version order. A new step gets the next free version number.
fn all() -> Vec<&'static Migration> {
    let mut steps: Vec<&'static Migration> = table::devices::MIGRATIONS
        .iter()
        .chain(table::series::MIGRATIONS)
        .chain(table::readings::MIGRATIONS)
        .chain(table::chunks::MIGRATIONS)
        .chain(table::rollups::MIGRATIONS)
        .chain(table::source_configs::MIGRATIONS)
        .chain(table::alerts::MIGRATIONS)
        .chain(table::service_plans::MIGRATIONS)
        .chain(table::replay_counters::MIGRATIONS)
        .chain(table::presence::MIGRATIONS)
        .chain(table::meta::MIGRATIONS)
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
    run_to(conn, supported_version())
}

fn run_to(conn: &mut Connection, target: i64) -> Result<()> {
    // The version is read inside a write transaction: two processes opening a new database at
    // once (a collector and an export) must not both try to create it.
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let supported = supported_version();
    if found > supported {
        return Err(StoreError::NewerSchema { found, supported });
    }
    if found >= target {
        return Ok(());
    }
    for step in all()
        .into_iter()
        .filter(|m| m.version > found && m.version <= target)
    {
        step.apply(&tx)?;
        tracing::info!(version = step.version, "applied schema migration");
    }
    tx.pragma_update(None, "user_version", target)?;
    tx.commit()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::params;

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
            run_to(&mut conn, start).unwrap();
            run(&mut conn).unwrap();
            let v: i64 = conn
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap();
            assert_eq!(v, supported_version());
            run(&mut conn).expect("running again is a no-op");
        }
    }

    /// Schema 3 kept a row per reading; schema 7 moved them into chunks and rollups. Readings
    /// written by the old layout must come back unchanged from the new one.
    #[test]
    fn row_per_reading_history_moves_into_chunks_and_rollups() {
        let mut conn = Connection::open_in_memory().unwrap();
        run_to(&mut conn, 3).unwrap();
        conn.execute_batch(
            "INSERT INTO devices VALUES ('ble:A', 'A', 'thermometer', 'ble', 'Home', 1000);
             INSERT INTO series (id, device, metric, unit, last_ts, last_value) VALUES (1, 'ble:A', 't', '°C', 7200500, 3.5);",
        )
        .unwrap();
        let old: Vec<(i64, f64)> = (0..7201)
            .map(|i| (i * 1000, (i % 97) as f64 * 0.25))
            .collect();
        for (ts, v) in &old {
            conn.execute("INSERT INTO readings VALUES (1, ?1, ?2, 0)", params![ts, v])
                .unwrap();
        }
        run(&mut conn).unwrap();
        let gone: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'readings'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(gone, 0, "the old table is dropped");
        let back = table::chunks::range(&conn, 1, 0, i64::MAX / 2).unwrap();
        let back: Vec<(i64, f64)> = back.iter().map(|s| (s.ts, s.value)).collect();
        assert_eq!(back, old);
        let hours = table::rollups::range(&conn, 1, 3_600_000, 0, i64::MAX / 2).unwrap();
        assert_eq!(
            hours.iter().map(|(_, a)| a.count).sum::<i64>(),
            old.len() as i64
        );
        assert_eq!(hours.len(), 3);
    }

    /// Schema 14 kept alert history by device name; schema 15 moved each record of a name that
    /// names exactly one device to that device's id, its name kept beside it.
    #[test]
    fn alert_history_kept_by_name_moves_to_the_device_id() {
        let mut conn = Connection::open_in_memory().unwrap();
        run_to(&mut conn, 14).unwrap();
        for (id, name) in [
            ("ble:A", "Freezer"),
            ("ble:B", "Fridge"),
            ("ble:C", "Fridge"),
        ] {
            conn.execute(
                "INSERT INTO devices (id, name, kind, transport, site, expected_interval_ms)
                 VALUES (?1, ?2, 'thermometer', 'ble', 'Home', 10000)",
                params![id, name],
            )
            .unwrap();
        }
        for (ts, device) in [(1, "Freezer"), (2, "Fridge"), (3, "ble:A")] {
            let record = format!(
                r#"{{"ts_ms":{ts},"id":{{"rule":"r","device":"{device}","metric":"t"}},"event":"raised"}}"#
            );
            conn.execute(
                "INSERT INTO alert_transitions (ts_ms, device, record) VALUES (?1, ?2, ?3)",
                params![ts, device, record],
            )
            .unwrap();
        }
        run(&mut conn).unwrap();
        let of = |device: &str| {
            table::alerts::transitions(&conn, 0, 10, Some(device), 10)
                .unwrap()
                .into_iter()
                .map(|r| (r.ts_ms, r.id.device, r.device_name))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            of("ble:A"),
            [
                (3, "ble:A".into(), None),
                (1, "ble:A".into(), Some("Freezer".into()))
            ],
            "the freezer's, by id and by name"
        );
        assert_eq!(of("Fridge").len(), 1, "a name of two devices stays");
        assert!(of("Freezer").is_empty());
    }

    /// Schema 15 kept each alert transition as the UI's record, a JSON document; schema 17
    /// keeps it in typed columns. Every record the old reader showed comes back the same.
    #[test]
    fn alert_history_moves_from_json_documents_into_columns() {
        let mut conn = Connection::open_in_memory().unwrap();
        run_to(&mut conn, 15).unwrap();
        // As the engine wrote them: every event, with and without the optional fields (a
        // record from before alerts were kept by id has no device_name, one from before
        // anomaly rules no note), and two the old reader skipped.
        let shown = [
            r#"{"ts_ms":1,"id":{"rule":"hot","device":"ble:A","metric":"t"},"device_name":"Freezer","event":"raised","from":"inactive","to":"active_unacked","value":-12.5,"by":null,"severity":"critical","shelved_until_ms":null,"note":"5.2 × its usual spread"}"#,
            r#"{"ts_ms":2,"id":{"rule":"hot","device":"ble:A","metric":"t"},"device_name":"Freezer","event":"acknowledged","from":"active_unacked","to":"active_acked","value":null,"by":"ann","severity":"critical","shelved_until_ms":null}"#,
            r#"{"ts_ms":3,"id":{"rule":"hot","device":"ble:A","metric":"t"},"event":"shelved","from":null,"to":null,"value":null,"by":"ann","severity":null,"shelved_until_ms":3600003}"#,
            r#"{"ts_ms":4,"id":{"rule":"hot","device":"ble:A","metric":"t"},"event":"unshelved","from":null,"to":null,"value":null,"by":null,"severity":null,"shelved_until_ms":null}"#,
            r#"{"ts_ms":5,"id":{"rule":"silent","device":"Kitchen","metric":"*"},"event":"cleared","from":"active_unacked","to":"cleared_unacked","value":null,"by":null,"severity":"warning","shelved_until_ms":null}"#,
            r#"{"ts_ms":6,"id":{"rule":"silent","device":"Kitchen","metric":"*"},"device_name":"Kitchen","event":"cleared_unacked → inactive","from":"cleared_unacked","to":"inactive","value":null,"by":null,"severity":"info","shelved_until_ms":null}"#,
        ];
        let skipped = ["not json", r#"{"ts_ms":7}"#];
        for (i, record) in shown.iter().chain(&skipped).enumerate() {
            let device = if i < 4 { "ble:A" } else { "Kitchen" };
            conn.execute(
                "INSERT INTO alert_transitions (ts_ms, device, record) VALUES (?1, ?2, ?3)",
                params![i as i64 + 1, device, record],
            )
            .unwrap();
        }
        run(&mut conn).unwrap();
        let mut back = table::alerts::transitions(&conn, 0, 100, None, 100).unwrap();
        back.reverse();
        let expected: Vec<telltale_model::alert::AlertRecord> = shown
            .iter()
            .map(|json| serde_json::from_str(json).unwrap())
            .collect();
        assert_eq!(back, expected);
        let json: Vec<String> = back
            .iter()
            .map(|r| serde_json::to_string(r).unwrap())
            .collect();
        assert_eq!(json, shown, "the UI gets the same text");
        let columns: i64 = conn
            .query_row(
                "SELECT count(*) FROM pragma_table_info('alert_transitions') WHERE name = 'record'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(columns, 0, "no JSON document is left");
        assert_eq!(
            table::alerts::transitions(&conn, 0, 100, Some("Kitchen"), 100)
                .unwrap()
                .len(),
            2,
            "still found by device"
        );
    }

    /// Schema 17's rollups kept no first and last values; schema 18 fills them from the raw
    /// readings still kept, and from the bucket's mean where retention pruned them.
    #[test]
    fn rollups_gain_first_and_last_from_the_raw_readings() {
        use crate::chunk::Sample;
        use crate::rollup::{bucket_start, Agg, LEVELS};
        use std::collections::BTreeMap;
        use telltale_model::{DeviceId, Quality, Transport};

        let mut conn = Connection::open_in_memory().unwrap();
        run_to(&mut conn, 17).unwrap();
        let device = DeviceId::new("ble:A");
        table::devices::ensure(&conn, &device, Transport::Ble).unwrap();
        let id = table::series::resolve(&conn, &device, "t", Some("°C")).unwrap();
        let hour = 3_600_000;
        // Three hours of a reading every 7 s, values all different; as schema 17 stored them.
        let t0 = 20 * 86_400_000 + 22 * hour;
        let samples: Vec<Sample> = (0..3 * hour / 7_000)
            .map(|i| Sample {
                ts: t0 + i * 7_000,
                value: (i * 37 % 101) as f64 + i as f64 / 1e4,
                quality: Quality::Good,
            })
            .collect();
        let mut aggs: BTreeMap<(i64, i64), Agg> = BTreeMap::new();
        for s in &samples {
            // The levels schema 17 kept.
            for level in [LEVELS[0], LEVELS[2], LEVELS[3]] {
                aggs.entry((level, bucket_start(s.ts, level)))
                    .and_modify(|a| a.merge(&Agg::of(s)))
                    .or_insert(Agg::of(s));
            }
        }
        for ((level, t), a) in &aggs {
            conn.execute(
                "INSERT INTO rollups (series, level, t, lo, hi, total, n, first_ts, last_ts)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![id, level, t, a.min, a.max, a.sum, a.count, a.first_ts, a.last_ts],
            )
            .unwrap();
        }
        // Retention pruned the first hour's raw readings, not the rest.
        for start in [t0 + hour, t0 + 2 * hour] {
            let inside: Vec<Sample> = samples
                .iter()
                .copied()
                .filter(|s| (start..start + hour).contains(&s.ts))
                .collect();
            table::chunks::save(&conn, id, start, &inside).unwrap();
        }
        run(&mut conn).unwrap();

        let stored: Vec<(i64, i64, f64, f64)> = conn
            .prepare(
                "SELECT level, t, first, last FROM rollups WHERE level != ?1 ORDER BY level, t",
            )
            .unwrap()
            .query_map([LEVELS[1]], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(stored.len(), aggs.len());
        let kept = |ts: i64| ts >= t0 + hour;
        for (level, t, first, last) in stored {
            let a = aggs[&(level, t)];
            let mean = a.sum / a.count as f64;
            let want_first = if kept(a.first_ts) { a.first } else { mean };
            let want_last = if kept(a.last_ts) { a.last } else { mean };
            assert_eq!(
                (first, last),
                (want_first, want_last),
                "level {level} at {t}"
            );
        }
        // The days: the first starts in the pruned hour (its mean), the second in a kept one.
        let day = |t| aggs[&(86_400_000, t)];
        assert!(!kept(day(20 * 86_400_000).first_ts) && kept(day(21 * 86_400_000).first_ts));
    }

    /// Schema 19 adds ten-minute rollups, folded from the minutes already stored; any there
    /// already (a store migration 7 filled with today's ingest) are built afresh.
    #[test]
    fn ten_minute_rollups_are_folded_from_the_minutes() {
        use crate::chunk::Sample;
        use crate::rollup::{bucket_start, Agg, LEVELS};
        use std::collections::BTreeMap;
        use telltale_model::{DeviceId, Quality, Transport};

        let mut conn = Connection::open_in_memory().unwrap();
        run_to(&mut conn, 18).unwrap();
        let mut want: BTreeMap<(i64, i64), Agg> = BTreeMap::new();
        for (name, step) in [("ble:A", 7_000), ("ble:B", 45_000)] {
            let device = DeviceId::new(name);
            table::devices::ensure(&conn, &device, Transport::Ble).unwrap();
            let id = table::series::resolve(&conn, &device, "t", Some("°C")).unwrap();
            // Two and a half hours from 5 minutes before an hour, every `step` ms.
            let t0 = 20 * 86_400_000 - 300_000;
            let mut minutes: BTreeMap<i64, Agg> = BTreeMap::new();
            for i in 0..9_000_000 / step {
                let s = Sample {
                    ts: t0 + i * step,
                    value: (i * 37 % 101) as f64 - 50.0,
                    quality: Quality::Good,
                };
                let a = Agg::of(&s);
                minutes
                    .entry(bucket_start(s.ts, LEVELS[0]))
                    .and_modify(|m| m.merge(&a))
                    .or_insert(a);
                want.entry((id, bucket_start(s.ts, LEVELS[1])))
                    .and_modify(|m| m.merge(&a))
                    .or_insert(a);
            }
            for (t, a) in &minutes {
                table::rollups::add(&conn, id, LEVELS[0], *t, a).unwrap();
            }
            // A wrong ten-minute bucket, as if left by an older build: replaced.
            let mut wrong = Agg::of(&Sample {
                ts: t0 + 1,
                value: 1e9,
                quality: Quality::Good,
            });
            wrong.count = 1_000;
            table::rollups::add(&conn, id, LEVELS[1], bucket_start(t0, LEVELS[1]), &wrong).unwrap();
        }
        run(&mut conn).unwrap();
        let got: Vec<(i64, i64, Agg)> = [1, 2]
            .into_iter()
            .flat_map(|id| {
                table::rollups::range(&conn, id, LEVELS[1], 0, i64::MAX / 2)
                    .unwrap()
                    .into_iter()
                    .map(move |(t, a)| (id, t, a))
            })
            .collect();
        assert_eq!(
            got.len(),
            want.len(),
            "one bucket per ten minutes with readings"
        );
        for (id, t, a) in got {
            let w = want[&(id, t)];
            // The sums are added in another order (minutes first): equal but for rounding.
            assert!((a.sum - w.sum).abs() < 1e-6, "series {id} at {t}");
            assert_eq!(
                (a.min, a.max, a.count, a.first_ts, a.last_ts, a.first, a.last),
                (w.min, w.max, w.count, w.first_ts, w.last_ts, w.first, w.last),
                "series {id} at {t}"
            );
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
