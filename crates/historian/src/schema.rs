//! The historian's tables, created by whoever connects first (`ship` included): the user needs
//! no more than ownership of an empty database.
//!
//! - `telltale_devices`: each device as its collector last described it (`device` is the model's
//!   JSON), so `--device` resolves names as the local store does.
//! - `telltale_series`: (device, metric) and unit; the historian's own series ids.
//! - `telltale_hours`: one row per series and hour: the readings as the local store encodes them
//!   (`readings`), the minute aggregates (`minutes`, see `hour.rs`) and the hour's own aggregate
//!   in columns. `readings` is NULL for an hour a collector had only as a rollup (retention had
//!   already removed its readings).
//! - `telltale_shipped`: per database and chunk, the mark (reading count, encoded length) last
//!   shipped, and `telltale_shipped_series` their sums per series; `telltale_sites`: which database ships under which site label, and when it last did.
//!
//! Schema changes get a new version in `telltale_schema` and a step here, as the local store's
//! migrations do.

use crate::error::Result;

/// The schema version this build writes.
const VERSION: i32 = 1;

const V1: &str = "
CREATE TABLE telltale_schema (version int4 NOT NULL);
CREATE TABLE telltale_devices (
    id text PRIMARY KEY,
    name text NOT NULL,
    device jsonb NOT NULL,
    site text NOT NULL,
    updated_ms int8 NOT NULL
);
CREATE TABLE telltale_series (
    id int4 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device text NOT NULL,
    metric text NOT NULL,
    unit text,
    UNIQUE (device, metric)
);
CREATE TABLE telltale_hours (
    series int4 NOT NULL REFERENCES telltale_series (id),
    start_ms int8 NOT NULL,
    n int4 NOT NULL,
    lo float8 NOT NULL,
    hi float8 NOT NULL,
    total float8 NOT NULL,
    first_ts int8 NOT NULL,
    last_ts int8 NOT NULL,
    minutes bytea,
    readings bytea,
    PRIMARY KEY (series, start_ms)
);
-- The readings are already compact (our codec): compressing them again wastes the server's time.
-- The minute aggregates compress well and are what charts read: kept in the row when they fit.
ALTER TABLE telltale_hours ALTER COLUMN readings SET STORAGE EXTERNAL;
ALTER TABLE telltale_hours ALTER COLUMN minutes SET STORAGE MAIN;
CREATE TABLE telltale_shipped (
    db text NOT NULL,
    series int4 NOT NULL REFERENCES telltale_series (id),
    start_ms int8 NOT NULL,
    n int8 NOT NULL,
    bytes int8 NOT NULL,
    PRIMARY KEY (db, series, start_ms)
);
-- The sums of a database's marks of one series: when they equal the local ones, the series
-- has nothing to ship and its marks are not read at all.
CREATE TABLE telltale_shipped_series (
    db text NOT NULL,
    series int4 NOT NULL REFERENCES telltale_series (id),
    chunks int8 NOT NULL,
    readings int8 NOT NULL,
    bytes int8 NOT NULL,
    first_start int8 NOT NULL,
    last_start int8 NOT NULL,
    PRIMARY KEY (db, series)
);
CREATE TABLE telltale_sites (
    db text PRIMARY KEY,
    site text NOT NULL,
    last_ms int8 NOT NULL
);
INSERT INTO telltale_schema VALUES (1);
";

/// Creates the tables if missing, or refuses a historian written by a newer build.
pub async fn ensure(client: &tokio_postgres::Client) -> Result<()> {
    let found = version(client).await?;
    if found == Some(VERSION) {
        return Ok(());
    }
    if let Some(v) = found.filter(|v| *v > VERSION) {
        return Err(crate::HistorianError::Postgres(format!(
            "the historian's schema is version {v}, newer than this build's {VERSION}: update telltale"
        )));
    }
    // Two collectors starting at once must not both create the tables: the first takes this
    // lock, the second waits and then finds them. A session lock taken before the transaction:
    // a transaction that began before the wait would still see the catalog as it was then.
    client
        .batch_execute("SELECT pg_advisory_lock(7346116765)")
        .await?;
    let result = async {
        client.batch_execute("BEGIN").await?;
        if version(client).await?.is_none() {
            client.batch_execute(V1).await?;
            tracing::info!("created the historian's tables");
        }
        client.batch_execute("COMMIT").await?;
        Ok(())
    }
    .await;
    if result.is_err() {
        let _ = client.batch_execute("ROLLBACK").await;
    }
    let _ = client
        .batch_execute("SELECT pg_advisory_unlock(7346116765)")
        .await;
    result
}

async fn version(client: &tokio_postgres::Client) -> Result<Option<i32>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('telltale_schema') IS NOT NULL", &[])
        .await?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(client
        .query_opt("SELECT max(version) FROM telltale_schema", &[])
        .await?
        .and_then(|r| r.get::<_, Option<i32>>(0)))
}
