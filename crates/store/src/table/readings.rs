//! The first layout kept one row per reading. It survives only as history: migration 7 moves
//! its rows into chunks and rollups and drops it.

use crate::chunk::Sample;
use crate::error::Result;
use crate::ingest;
use crate::migrate::Migration;
use crate::table;
use rusqlite::Transaction;
use telltale_model::Quality;

pub static MIGRATIONS: &[Migration] = &[
    Migration::sql(
        3,
        "CREATE TABLE readings (
            series INTEGER NOT NULL REFERENCES series(id) ON DELETE CASCADE,
            ts INTEGER NOT NULL,
            value REAL NOT NULL,
            quality INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (series, ts)
        ) WITHOUT ROWID;",
    ),
    Migration::rust(7, move_into_chunks),
];

fn move_into_chunks(tx: &Transaction<'_>) -> Result<()> {
    let series: Vec<i64> = tx
        .prepare("SELECT DISTINCT series FROM readings")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for id in series {
        let mut samples: Vec<(Sample, usize)> = tx
            .prepare("SELECT ts, value, quality FROM readings WHERE series = ?1 ORDER BY ts")?
            .query_map([id], |r| {
                Ok(Sample {
                    ts: r.get(0)?,
                    value: r.get(1)?,
                    quality: Quality::from_i64(r.get(2)?),
                })
            })?
            .enumerate()
            .map(|(i, s)| s.map(|s| (s, i)))
            .collect::<rusqlite::Result<_>>()?;
        // Today's ingest writes today's rollup rows, with the columns migration 18 adds.
        table::rollups::add_first_and_last_columns(tx)?;
        ingest::store_series(tx, id, &mut samples)?;
    }
    tx.execute_batch("DROP TABLE readings;")?;
    Ok(())
}
